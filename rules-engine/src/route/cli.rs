//! `vigil route test` and `vigil route show`, written as functions
//! returning the text to print and the exit code, with amtool's output
//! (`amtool config routes test` / `show`, Alertmanager 0.25), so scripts
//! written for amtool read vigil's the same way.

use super::matchers::{Display, is_label_name};
use super::{Loaded, Route};
use crate::model::Labels;

/// The receivers `label=value...` reaches, comma-separated in tree order
/// (as amtool prints them). With `verify`, exit 1 unless they equal it.
pub fn route_test(loaded: &Loaded, args: &[String], verify: Option<&str>) -> (String, i32) {
    let mut pairs = Vec::new();
    for a in args {
        let Some((name, value)) = a.split_once('=') else {
            return (format!("bad label {a:?}: want name=value\n"), 2);
        };
        let value = value.trim_matches('"');
        if !is_label_name(name) {
            return (format!("bad label name {name:?}\n"), 2);
        }
        pairs.push((name.to_string(), value.to_string()));
    }
    let root = Route::build(loaded.route());
    let labels = Labels::from_pairs(pairs);
    let receivers: Vec<String> = root
        .matching(&labels)
        .iter()
        .map(|r| r.opts.receiver.clone())
        .collect();
    let got = receivers.join(",");
    match verify {
        Some(want) if want != got => (
            format!("{got}\nWARNING: Expected receivers did not match resolved receivers.\n"),
            1,
        ),
        _ => (format!("{got}\n"), 0),
    }
}

/// The routing tree as amtool draws it.
pub fn route_show(loaded: &Loaded) -> (String, i32) {
    let root = Route::build(loaded.route());
    let mut out = String::from("Routing tree:\n.\n");
    draw(&root, "", true, &mut out);
    // amtool prints the tree with Println, hence the blank line.
    out.push('\n');
    (out, 0)
}

fn slug(r: &Route) -> String {
    let mut s = if r.matchers.is_empty() {
        "default-route".to_string()
    } else {
        Display(&r.matchers).to_string()
    };
    if r.continue_matching {
        s.push_str("  continue: true");
    }
    s.push_str("  receiver: ");
    s.push_str(&r.opts.receiver);
    s
}

fn draw(r: &Route, prefix: &str, last: bool, out: &mut String) {
    out.push_str(prefix);
    out.push_str(if last { "└── " } else { "├── " });
    out.push_str(&slug(r));
    out.push('\n');
    // treeprint (amtool's tree drawer) pads the bar with two no-break
    // spaces.
    let child_prefix = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
    for (i, c) in r.routes.iter().enumerate() {
        draw(c, &child_prefix, i + 1 == r.routes.len(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> Loaded {
        let text = "route:\n  receiver: default\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db\n      continue: true\n      routes:\n        - match: {severity: page}\n          receiver: pager\n    - matchers: [severity=~\"page|critical\"]\n      receiver: pager\nreceivers: [{name: default}, {name: db}, {name: pager}]\n";
        crate::route::parse_str("t.yml", text, &|_| None).unwrap()
    }

    #[test]
    fn test_prints_receivers_and_verifies() {
        let l = loaded();
        let args = vec!["team=db".to_string(), "severity=page".to_string()];
        assert_eq!(route_test(&l, &args, None), ("pager,pager\n".into(), 0));
        assert_eq!(route_test(&l, &args, Some("pager,pager")).1, 0);
        assert_eq!(route_test(&l, &args, Some("db")).1, 1);
        assert_eq!(route_test(&l, &["oops".into()], None).1, 2);
    }

    #[test]
    fn show_draws_like_amtool() {
        let (text, code) = route_show(&loaded());
        assert_eq!(code, 0);
        assert_eq!(
            text,
            "Routing tree:\n.\n└── default-route  receiver: default\n    ├── {team=\"db\"}  continue: true  receiver: db\n    │\u{a0}\u{a0} └── {severity=\"page\"}  receiver: pager\n    └── {severity=~\"page|critical\"}  receiver: pager\n\n"
        );
    }
}
