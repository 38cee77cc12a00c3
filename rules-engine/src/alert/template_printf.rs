//! `printf` with Go's float formatting. gotmpl's `printf` writes a float's
//! `%v` as Rust does (`2500000`, `inf`) and its `%g`/`%e`/`%f` of NaN and
//! infinities as Rust's `NaN`/`inf`; Go writes `2.5e+06` and `+Inf`.
//! Templates' `printf` calls are renamed to [`PRINTF_FN`], which formats
//! those float arguments itself ([`crate::promql::go_float`]), hands them
//! on as strings under `%s`-like verbs, and leaves the rest to gotmpl's
//! `printf`.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::Value;
use gotmpl::parse::{CommandNode, Expr, ListNode, Node, PipeNode, SmolStr};

use crate::promql::go_float::{go_float, go_g};

/// The internal function standing for `printf`.
pub const PRINTF_FN: &str = "__vigil_printf";

/// Renames every `printf` call of `list` to [`PRINTF_FN`].
pub fn rewrite(list: &mut ListNode) {
    for node in &mut list.nodes {
        match node {
            Node::Action(a) => rewrite_pipe(&mut a.pipe),
            Node::List(l) => rewrite(l),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                rewrite_pipe(&mut b.pipe);
                rewrite(&mut b.body);
                if let Some(e) = b.else_body.as_mut() {
                    rewrite(e);
                }
            }
            Node::Template(t) => {
                if let Some(p) = t.pipe.as_mut() {
                    rewrite_pipe(p);
                }
            }
            Node::Define(d) => rewrite(&mut d.body),
            _ => {}
        }
    }
}

fn rewrite_pipe(pipe: &mut PipeNode) {
    for cmd in &mut pipe.commands {
        rewrite_command(cmd);
    }
}

fn rewrite_command(cmd: &mut CommandNode) {
    if let Some(Expr::Identifier(_, name)) = cmd.args.first_mut()
        && name.as_str() == "printf"
    {
        *name = SmolStr::new(PRINTF_FN);
    }
    for arg in &mut cmd.args {
        rewrite_expr(arg);
    }
}

fn rewrite_expr(e: &mut Expr) {
    match e {
        Expr::Pipe(_, p) => rewrite_pipe(p),
        Expr::Chain(_, inner, _) => rewrite_expr(inner),
        _ => {}
    }
}

/// `printf` itself: Go's formatting for float arguments, gotmpl's for the
/// rest.
pub fn printf(args: &[Value]) -> gotmpl::Result<Value> {
    let Some(Value::String(format)) = args.first() else {
        // gotmpl's own message for a bad first argument.
        return gotmpl_printf(
            args.first().cloned().unwrap_or(Value::Nil),
            &args[1.min(args.len())..],
        );
    };
    let (format, rest) = go_floats(format, &args[1..]);
    gotmpl_printf(Value::String(format.into()), &rest)
}

/// Runs gotmpl's `printf` on `format` and `args`.
fn gotmpl_printf(format: Value, args: &[Value]) -> gotmpl::Result<Value> {
    let call: String = (0..args.len())
        .map(|i| format!(" (index .A {i})"))
        .collect();
    let mut data = BTreeMap::new();
    data.insert(Arc::from("F"), format);
    data.insert(Arc::from("A"), Value::List(Arc::from(args.to_vec())));
    let out = gotmpl::execute(
        &format!("{{{{printf .F{call}}}}}"),
        &Value::Map(Arc::new(data)),
    )?;
    Ok(Value::String(out.into()))
}

/// One `%…` directive: flags, width and precision as written, and verb.
struct Directive<'a> {
    flags: &'a str,
    width: &'a str,
    precision: Option<usize>,
    verb: char,
}

/// Rewrites the directives that take a float Go formats differently: the
/// float becomes the string Go prints, under `%v` with the flags and width
/// kept. Formats with `*` widths or `[n]` argument indexes are left alone.
fn go_floats(format: &str, args: &[Value]) -> (String, Vec<Value>) {
    let untouched = || (format.to_string(), args.to_vec());
    let mut out = String::with_capacity(format.len());
    let mut new_args = args.to_vec();
    let mut next = 0;
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some((d, len)) = directive(rest) else {
            return untouched();
        };
        let text = &rest[..len];
        rest = &rest[len..];
        if d.verb == '%' {
            out.push_str(text);
            continue;
        }
        let replaced = match args.get(next) {
            Some(Value::Float(f)) => go_text(*f, &d),
            _ => None,
        };
        match replaced {
            Some(s) => {
                new_args[next] = Value::String(s.into());
                out.push_str(&format!("%{}{}v", d.flags.replace('+', ""), d.width));
            }
            None => out.push_str(text),
        }
        next += 1;
    }
    out.push_str(rest);
    (out, new_args)
}

/// Go's text for float `f` under directive `d`, where it differs from
/// gotmpl's; `None` to let gotmpl format it.
fn go_text(f: f64, d: &Directive) -> Option<String> {
    let sign = |s: String| {
        if d.flags.contains('+') && !s.starts_with(['-', '+']) {
            format!("+{s}")
        } else {
            s
        }
    };
    match d.verb {
        'v' | 'g' => Some(sign(go_g(f, d.precision))),
        'G' => Some(sign(go_g(f, d.precision).to_uppercase())),
        'e' | 'E' | 'f' | 'F' if !f.is_finite() => Some(sign(go_float(f))),
        _ => None,
    }
}

/// Parses the directive at the start of `s` (which starts with `%`), and
/// its length; `None` for `*` widths, `[n]` indexes or a missing verb.
fn directive(s: &str) -> Option<(Directive<'_>, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let flags_start = i;
    while i < b.len() && matches!(b[i], b'+' | b'-' | b'#' | b' ' | b'0') {
        i += 1;
    }
    let flags = &s[flags_start..i];
    let width_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let width = &s[width_start..i];
    let mut precision = None;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let p_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        precision = Some(s[p_start..i].parse().unwrap_or(0));
    }
    let verb = s[i..].chars().next()?;
    if matches!(verb, '*' | '[') {
        return None;
    }
    let d = Directive {
        flags,
        width,
        precision,
        verb,
    };
    Some((d, i + verb.len_utf8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(format: &str, args: Vec<Value>) -> String {
        let mut all = vec![Value::String(format.into())];
        all.extend(args);
        match printf(&all).unwrap() {
            Value::String(s) => s.to_string(),
            other => panic!("{other:?}"),
        }
    }

    /// Expected strings are Go's `fmt.Sprintf` of the same arguments.
    #[test]
    fn floats_format_as_go() {
        let f = Value::Float;
        assert_eq!(run("%v", vec![f(2.5e6)]), "2.5e+06");
        assert_eq!(run("%v|%g", vec![f(1234567.0), f(0.1)]), "1.234567e+06|0.1");
        assert_eq!(run("%.2f", vec![f(2.5e6)]), "2500000.00");
        assert_eq!(
            run("%f %e", vec![f(f64::INFINITY), f(f64::NAN)]),
            "+Inf NaN"
        );
        assert_eq!(run("%.3g", vec![f(1234.5)]), "1.23e+03");
        assert_eq!(run("%8v|%-8v|", vec![f(0.5), f(0.5)]), "     0.5|0.5     |");
        assert_eq!(run("%+v", vec![f(1e21)]), "+1e+21");
        assert_eq!(run("%G", vec![f(1e-7)]), "1E-07");
        assert_eq!(
            run(
                "100%% %s %d",
                vec![Value::String("x".into()), Value::Int(3)]
            ),
            "100% x 3"
        );
    }

    #[test]
    fn calls_are_renamed_everywhere() {
        let (mut main, _) = gotmpl::parse::Parser::new(
            r#"{{ printf "%v" .V }}{{ if (printf "%v" 1) }}{{ .V | printf "%v" }}{{ end }}"#,
            "{{",
            "}}",
        )
        .and_then(|p| p.parse())
        .unwrap();
        rewrite(&mut main);
        let shown = format!("{main:?}");
        assert!(!shown.contains("\"printf\""), "{shown}");
        assert_eq!(shown.matches(PRINTF_FN).count(), 3, "{shown}");
    }
}
