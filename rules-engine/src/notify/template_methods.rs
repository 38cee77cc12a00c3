//! Go method calls in Alertmanager templates, as gotmpl function calls.
//!
//! Alertmanager's data types have methods that its templates call like
//! fields: `.Alerts.Firing`, `.CommonLabels.SortedPairs`, `.Labels.Names`,
//! `.GroupLabels.SortedPairs.Values`, and one with an argument,
//! `.CommonLabels.Remove .GroupLabels.Names`. gotmpl evaluates data, not
//! methods (a field that holds a function is not called, and a field given
//! arguments is an error), so this pass rewrites the parse tree before it
//! runs: a method step in a field chain becomes a call of the function of
//! the same meaning on the chain up to it.
//!
//! ```text
//! .GroupLabels.SortedPairs.Values      ->  (values (sortedPairs .GroupLabels))
//! $a.Labels.Names                      ->  (names $a.Labels)
//! .CommonLabels.Remove .GroupLabels.Names
//!                                      ->  remove .CommonLabels (names .GroupLabels)
//! ```
//!
//! Go resolves a method before a map key of the same name, so these names
//! are methods wherever they appear, as in Alertmanager. `Remove` takes its
//! arguments from the rest of the command, so, as in Go, it must start one.

use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, SmolStr};

/// Alertmanager's methods and the functions that stand for them.
/// `Remove` (the one taking an argument) is handled apart.
const NILADIC: [(&str, &str); 5] = [
    ("Firing", "firing"),
    ("Resolved", "resolved"),
    ("SortedPairs", "sortedPairs"),
    ("Names", "names"),
    ("Values", "values"),
];

/// The function that stands for `.X.Remove names`.
pub const REMOVE_FN: &str = "remove";

/// Rewrites every method call under `list`.
pub fn rewrite(list: &mut ListNode) {
    for node in &mut list.nodes {
        match node {
            Node::Action(a) => pipe(&mut a.pipe),
            Node::List(l) => rewrite(l),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                pipe(&mut b.pipe);
                rewrite(&mut b.body);
                if let Some(e) = b.else_body.as_mut() {
                    rewrite(e);
                }
            }
            Node::Template(t) => {
                if let Some(p) = t.pipe.as_mut() {
                    pipe(p);
                }
            }
            Node::Define(d) => rewrite(&mut d.body),
            Node::Text(_) | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn pipe(p: &mut PipeNode) {
    for c in &mut p.commands {
        command(c);
    }
}

fn command(c: &mut CommandNode) {
    // `.X.Remove args...` at the head: `remove .X args...`.
    if let Some((receiver, "Remove")) = c.args.first().and_then(split_last) {
        let pos = c.args[0].pos();
        c.args[0] = receiver;
        c.args
            .insert(0, Expr::Identifier(pos, SmolStr::new(REMOVE_FN)));
    }
    for e in &mut c.args {
        expr(e);
    }
}

/// `(receiver, last step)` when `e` is a chain ending in a step.
fn split_last(e: &Expr) -> Option<(Expr, &str)> {
    let (steps, rebuild) = steps(e)?;
    let (last, init) = steps.split_last()?;
    Some((rebuild(init.to_vec()), last.as_str()))
}

type Rebuild = Box<dyn Fn(Vec<SmolStr>) -> Expr>;

/// The field steps of a chain and how to rebuild it with other steps.
fn steps(e: &Expr) -> Option<(&[SmolStr], Rebuild)> {
    match e {
        Expr::Field(pos, f) => {
            let pos = *pos;
            Some((
                f,
                Box::new(move |s| {
                    if s.is_empty() {
                        Expr::Dot(pos)
                    } else {
                        Expr::Field(pos, s)
                    }
                }),
            ))
        }
        Expr::Variable(pos, name, f) => {
            let (pos, name) = (*pos, name.clone());
            Some((f, Box::new(move |s| Expr::Variable(pos, name.clone(), s))))
        }
        Expr::Chain(pos, inner, f) => {
            let (pos, inner) = (*pos, inner.clone());
            Some((
                f,
                Box::new(move |s| {
                    if s.is_empty() {
                        (*inner).clone()
                    } else {
                        Expr::Chain(pos, inner.clone(), s)
                    }
                }),
            ))
        }
        _ => None,
    }
}

/// Rewrites the niladic methods in `e` (and in the pipelines inside it).
fn expr(e: &mut Expr) {
    match e {
        Expr::Pipe(_, p) => pipe(p),
        Expr::Chain(_, inner, _) => expr(inner),
        _ => {}
    }
    let Some((f, rebuild)) = steps(e) else {
        return;
    };
    let Some(i) = f.iter().position(|s| method(s).is_some()) else {
        return;
    };
    let pos = e.pos();
    let func = method(&f[i]).expect("found above");
    let rest = f[i + 1..].to_vec();
    let call = Expr::Pipe(
        pos,
        PipeNode {
            pos,
            decl: Vec::new(),
            commands: vec![CommandNode {
                pos,
                args: vec![
                    Expr::Identifier(pos, SmolStr::new(func)),
                    rebuild(f[..i].to_vec()),
                ],
            }],
            is_assign: false,
        },
    );
    *e = if rest.is_empty() {
        call
    } else {
        Expr::Chain(pos, Box::new(call), rest)
    };
    // Later steps may be methods too (`.SortedPairs.Values`).
    if let Expr::Chain(..) = e {
        expr(e);
    }
}

fn method(step: &str) -> Option<&'static str> {
    NILADIC.iter().find(|(m, _)| *m == step).map(|(_, f)| *f)
}
