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

/// Go's `%v` for a float64: shortest digits, exponent form below 1e-4 and
/// from 1e21 up.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return format!("{v}");
    }
    let sci = format!("{v:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..21).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::go_float;

    /// Expected strings are Go's `fmt.Sprint` of the same values.
    #[test]
    fn floats_print_as_go() {
        for (v, want) in [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
            (1234567.0, "1234567"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.85, "0.85"),
            (-2.5e-7, "-2.5e-07"),
            (0.0, "0"),
        ] {
            assert_eq!(go_float(v), want);
        }
    }
}
