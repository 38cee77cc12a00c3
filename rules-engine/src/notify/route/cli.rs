//! `vigil route test` and `vigil route show`, written as functions
//! returning the text to print and the exit code, with amtool's output
//! (`amtool config routes test` / `show`, Alertmanager 0.25), so scripts
//! written for amtool read vigil's the same way.

use super::matchers::{Display, parse_matcher};
use super::{Loaded, Route};
use crate::model::{Labels, MatchOp};
use crate::rules::cli::Outcome;

/// The receivers `label=value...` reaches, comma-separated in tree order
/// (as amtool prints them). With `verify`, exit 1 unless they equal it
/// (the warning on standard output, as amtool). With `tree`, the matching
/// routes are drawn first (amtool's `--tree`). Labels that do not parse
/// are an error on standard error, exit 1.
pub fn route_test(loaded: &Loaded, args: &[String], verify: Option<&str>, tree: bool) -> Outcome {
    let pairs = match parse_labels(args) {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                stdout: String::new(),
                stderr: format!("Failed to parse labels: {e}\n"),
                code: 1,
            };
        }
    };
    let root = Route::build(loaded.route());
    let labels = Labels::from_pairs(pairs);
    let receivers: Vec<String> = root
        .matching(&labels)
        .iter()
        .map(|r| r.opts.receiver.clone())
        .collect();
    let got = receivers.join(",");
    let mut stdout = String::new();
    if tree {
        stdout.push_str("Matching routes:\n.\n");
        draw_matching(&root, &labels, "", true, &mut stdout);
        // Println of a text ending in a newline, then Print("\n").
        stdout.push_str("\n\n");
    }
    stdout.push_str(&format!("{got}\n"));
    let mut out = Outcome {
        stdout,
        stderr: String::new(),
        code: 0,
    };
    if verify.is_some_and(|want| want != got) {
        out.stdout
            .push_str("WARNING: Expected receivers did not match resolved receivers.\n");
        out.code = 1;
    }
    out
}

/// Label arguments as amtool reads them: each one matcher of the form
/// `name=value` (blanks around the parts allowed, the value bare or
/// double-quoted with `\"`, `\\` and `\n` escapes, names may hold `:`);
/// a later argument for the same name wins.
pub fn parse_labels(args: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for a in args {
        let m = parse_matcher(a).map_err(|e| e.to_string())?;
        if !matches!(m.op, MatchOp::Equal) {
            return Err("labels must be specified as key=value pairs".into());
        }
        pairs.push((m.name, m.value));
    }
    Ok(pairs)
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

/// A route's line: its matchers (or `default-route`), then optionally
/// `continue: true` and the receiver (amtool's `getRouteTreeSlug`).
fn slug(r: &Route, show_continue: bool, show_receiver: bool) -> String {
    let mut s = if r.matchers.is_empty() {
        "default-route".to_string()
    } else {
        Display(&r.matchers).to_string()
    };
    if r.continue_matching && show_continue {
        s.push_str("  continue: true");
    }
    if show_receiver {
        s.push_str("  receiver: ");
        s.push_str(&r.opts.receiver);
    }
    s
}

/// One line of a tree as treeprint (amtool's tree drawer) writes it, and
/// the prefix of its children (the bar padded with two no-break spaces).
fn line(prefix: &str, last: bool, text: &str, out: &mut String) -> String {
    out.push_str(prefix);
    out.push_str(if last { "└── " } else { "├── " });
    out.push_str(text);
    out.push('\n');
    format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " })
}

fn draw(r: &Route, prefix: &str, last: bool, out: &mut String) {
    let child_prefix = line(prefix, last, &slug(r, true, true), out);
    for (i, c) in r.routes.iter().enumerate() {
        draw(c, &child_prefix, i + 1 == r.routes.len(), out);
    }
}

/// The routes `labels` go down, as amtool's `getMatchingTree`: a child
/// is followed when its own matchers match, siblings after it only when
/// it continues; the routes where the walk ends show their receiver.
fn draw_matching(r: &Route, labels: &Labels, prefix: &str, last: bool, out: &mut String) {
    let followed: Vec<&Route> = {
        let mut v = Vec::new();
        for c in &r.routes {
            if super::matchers::matches_all(&c.matchers, labels) {
                v.push(c);
                if !c.continue_matching {
                    break;
                }
            }
        }
        v
    };
    let child_prefix = line(prefix, last, &slug(r, false, followed.is_empty()), out);
    for (i, c) in followed.iter().enumerate() {
        draw_matching(c, labels, &child_prefix, i + 1 == followed.len(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> Loaded {
        let text = "route:\n  receiver: default\n  routes:\n    - matchers: [team=\"db\"]\n      receiver: db\n      continue: true\n      routes:\n        - match: {severity: page}\n          receiver: pager\n    - matchers: [severity=~\"page|critical\"]\n      receiver: pager\nreceivers: [{name: default}, {name: db}, {name: pager}]\n";
        crate::notify::route::parse_str("t.yml", text, &|_| None).unwrap()
    }

    #[test]
    fn test_prints_receivers_and_verifies() {
        let l = loaded();
        let args = vec!["team=db".to_string(), "severity=page".to_string()];
        let ok = route_test(&l, &args, None, false);
        assert_eq!((ok.stdout.as_str(), ok.code), ("pager,pager\n", 0));
        assert_eq!(route_test(&l, &args, Some("pager,pager"), false).code, 0);
        let wrong = route_test(&l, &args, Some("db"), false);
        assert_eq!(wrong.code, 1);
        assert!(
            wrong
                .stdout
                .ends_with("did not match resolved receivers.\n")
        );
        let bad = route_test(&l, &["oops".into()], None, false);
        assert_eq!((bad.code, bad.stdout.as_str()), (1, ""));
        assert!(bad.stderr.contains("bad matcher format"));
        assert_eq!(route_test(&l, &["team!=db".into()], None, false).code, 1);
    }

    #[test]
    fn labels_are_read_as_matchers() {
        let args: Vec<String> = [
            r#"a="x \"y\" z""#,
            "b:c = d ",
            r#"e="1,2""#,
            "f=",
            "a=again",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let got = parse_labels(&args).unwrap();
        let want = [
            ("a", r#"x "y" z"#),
            ("b:c", "d"),
            ("e", "1,2"),
            ("f", ""),
            ("a", "again"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(parse_labels(&["1a=b".into()]).is_err());
        assert!(parse_labels(&[r#"a="b"c""#.into()]).is_err());
    }

    #[test]
    fn tree_draws_the_matching_routes_like_amtool() {
        let args = vec!["team=db".to_string(), "severity=page".to_string()];
        let out = route_test(&loaded(), &args, None, true);
        assert_eq!(
            out.stdout,
            "Matching routes:\n.\n└── default-route\n    ├── {team=\"db\"}\n    │\u{a0}\u{a0} └── {severity=\"page\"}  receiver: pager\n    └── {severity=~\"page|critical\"}  receiver: pager\n\n\npager,pager\n"
        );
        let out = route_test(&loaded(), &["x=y".to_string()], None, true);
        assert_eq!(
            out.stdout,
            "Matching routes:\n.\n└── default-route  receiver: default\n\n\ndefault\n"
        );
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
