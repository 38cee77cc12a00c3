//! Go prints a float64 in a template with `%v`: `+Inf`, `NaN`, `1e-05`,
//! `1e+21`; gotmpl prints Rust's `inf`, `0.00001`. Alerts print `$value`
//! all the time (`+Inf%` is what Prometheus shows for a division by zero),
//! so every printing action's pipeline gets a last stage that formats floats
//! as Go does and leaves everything else to gotmpl.

use gotmpl::Value;
use gotmpl::parse::{CommandNode, Expr, ListNode, Node, SmolStr};

/// The internal function appended to printing actions.
pub const PRINT_FN: &str = "__vigil_print";

/// Appends `| __vigil_print` to every action that prints.
pub fn rewrite(list: &mut ListNode) {
    for node in &mut list.nodes {
        match node {
            Node::Action(a) if a.pipe.decl.is_empty() => {
                let pos = a.pipe.pos;
                a.pipe.commands.push(CommandNode {
                    pos,
                    args: vec![Expr::Identifier(pos, SmolStr::new(PRINT_FN))],
                });
            }
            Node::List(l) => rewrite(l),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                rewrite(&mut b.body);
                if let Some(e) = b.else_body.as_mut() {
                    rewrite(e);
                }
            }
            Node::Define(d) => rewrite(&mut d.body),
            _ => {}
        }
    }
}

/// The printing stage: floats as Go's `%v`, the rest unchanged.
pub fn print_value(args: &[Value]) -> gotmpl::Result<Value> {
    Ok(match args.last() {
        Some(Value::Float(f)) => Value::String(go_float(*f).into()),
        Some(other) => other.clone(),
        None => Value::Nil,
    })
}

/// Go's `%v` for a float64 ([`crate::promql::go_float`]).
pub fn go_float(v: f64) -> String {
    crate::promql::go_float::go_float(v)
}
