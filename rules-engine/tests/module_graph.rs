//! The top-level folders of `src/` form no cycle: no folder imports one
//! that (directly or through others) imports it back. Each stage owns its
//! types and tables, so the data flow (store → scrape → rules → alerting →
//! notify → sla → API) reads one way.
//!
//! How it checks: every `src/**/*.rs` file is scanned (comments and string
//! literals skipped) for paths that reach another top-level module:
//! `crate::<top>`, `crate::{<top>, ...}`, `$crate::<top>` and `super::`
//! chains that climb out of the file's own top-level module. Inline
//! `mod name { ... }` blocks are followed, so `super::` inside them
//! resolves like the compiler does. Code under `#[cfg(test)]` (inline test
//! modules and test-only files) is left out, as `cargo modules` leaves it
//! out by default: a stage's unit tests may read the whole config file.
//! The edges form a graph; any strongly connected set of two or more
//! modules is a cycle, reported with each edge and the `file:line` that
//! makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One import from a top-level module to another, and where it is.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tops = top_level_modules(&src);
    assert!(
        tops.len() > 10,
        "expected the crate's top-level modules in {}, found {tops:?}",
        src.display()
    );
    let files: Vec<(PathBuf, String)> = rust_files(&src)
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            let rel = file
                .strip_prefix(&src)
                .expect("file under src")
                .to_path_buf();
            (rel, text)
        })
        .collect();
    let test_only: Vec<PathBuf> = files
        .iter()
        .flat_map(|(rel, text)| test_modules(rel, text))
        .collect();
    let mut edges = Vec::new();
    for (rel, text) in &files {
        if test_only
            .iter()
            .any(|t| rel.starts_with(t) || rel.with_extension("") == *t)
        {
            continue;
        }
        edges.extend(file_edges(rel, text, &tops));
    }
    assert!(
        test_only.iter().any(|t| t.ends_with("config_tests")),
        "expected remote_write's test-only config_tests module among {test_only:?}"
    );
    let cycles = cycles(&tops, &edges);
    if !cycles.is_empty() {
        let mut report = String::new();
        for set in &cycles {
            report.push_str(&format!("cycle among {set:?}:\n"));
            for e in edges
                .iter()
                .filter(|e| set.contains(&e.from) && set.contains(&e.to))
            {
                report.push_str(&format!("  {} -> {}  ({})\n", e.from, e.to, e.at));
            }
        }
        panic!("top-level modules of src/ import each other in a cycle:\n{report}");
    }
}

/// The scanner finds what it should: a hand-made crate with one cycle.
#[test]
fn scanner_sees_every_kind_of_path() {
    let tops: BTreeSet<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let a = "use crate::{b::X, c};\n// crate::d in a comment\nlet s = \"crate::d\";\n";
    let b = "fn f() { super::super::a::g() }\nmod tests { use super::Y; }\n\
             #[cfg(test)]\nmod t { use crate::c::Z; }\n#[cfg(test)]\nuse crate::d::W;\n";
    let c = "macro_rules! m { () => { $crate::d::Z } }\n";
    let d = "mod inner { fn f() { super::super::c::h() } }\n";
    let mut edges = file_edges(Path::new("a.rs"), a, &tops);
    edges.extend(file_edges(Path::new("b/x/mod.rs"), b, &tops));
    edges.extend(file_edges(Path::new("c/mod.rs"), c, &tops));
    edges.extend(file_edges(Path::new("d/mod.rs"), d, &tops));
    let pairs: BTreeSet<(String, String)> = edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let want: BTreeSet<(String, String)> =
        [("a", "b"), ("a", "c"), ("b", "a"), ("c", "d"), ("d", "c")]
            .iter()
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .collect();
    assert_eq!(pairs, want);
    let found = cycles(&tops, &edges);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        test_modules(
            Path::new("a/mod.rs"),
            "#[cfg(test)]\n#[allow(x)]\nmod t1;\nmod t2;\n"
        ),
        vec![PathBuf::from("a/t1")]
    );
    assert_eq!(
        test_modules(Path::new("a/b.rs"), "#[cfg(test)]\nmod t;\n"),
        vec![PathBuf::from("a/b/t")]
    );
}

/// `#[cfg(test)] mod name;` in a file: the test-only module's path under
/// `src/`, without extension (`a/b/name`: the file `a/b/name.rs` or the
/// folder `a/b/name/`).
fn test_modules(rel: &Path, text: &str) -> Vec<PathBuf> {
    let code = strip_comments_and_strings(text);
    let dir = match rel.file_stem().and_then(|s| s.to_str()) {
        Some("mod" | "lib" | "main") => rel.parent().map(Path::to_path_buf).unwrap_or_default(),
        _ => rel.with_extension(""),
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("#[cfg(test)]") {
        let chars: Vec<char> = code[at + "#[cfg(test)]".len()..].chars().collect();
        let mut i = skip_ws(&chars, 0);
        // Other attributes between.
        while chars.get(i) == Some(&'#') {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i = skip_ws(&chars, i + 1);
        }
        let (word, end) = ident_at(&chars, i);
        let (word, end) = if word == "pub" {
            ident_at(&chars, skip_ws(&chars, end))
        } else {
            (word, end)
        };
        if word != "mod" {
            continue;
        }
        let (name, after) = ident_at(&chars, skip_ws(&chars, end));
        if !name.is_empty() && chars.get(skip_ws(&chars, after)) == Some(&';') {
            out.push(dir.join(name));
        }
    }
    out
}

/// The folders and files directly under `src/` that are modules.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("read src") {
        let path = entry.expect("dir entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let rust_file = path.extension().is_some_and(|e| e == "rs");
        if path.is_dir() || (rust_file && name != "lib" && name != "main") {
            out.insert(name.to_string());
        }
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a file relative to `src/`: `a/b.rs` is `[a, b]`,
/// `a/mod.rs` is `[a]`, `lib.rs` is `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The edges one file makes.
fn file_edges(rel: &Path, text: &str, tops: &BTreeSet<String>) -> Vec<Edge> {
    let file_mod = module_path(rel);
    let Some(from) = file_mod.first().cloned() else {
        return Vec::new(); // lib.rs, main.rs: the crate root
    };
    let code = strip_comments_and_strings(text);
    let chars: Vec<char> = code.chars().collect();
    let mut edges = Vec::new();
    // Inline modules open at a brace depth (and are test-only or not);
    // `super::` inside climbs from them.
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    // After `#[cfg(test)]`, until the item it marks begins.
    let mut cfg_test = false;
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut i = 0usize;
    let add = |to: &str, line: usize, edges: &mut Vec<Edge>| {
        if to != from && tops.contains(to) {
            edges.push(Edge {
                from: from.clone(),
                to: to.to_string(),
                at: format!("src/{}:{line}", rel.display()),
            });
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => line += 1,
            '{' => {
                depth += 1;
                cfg_test = false;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d, _)| *d > depth) {
                    inline.pop();
                }
            }
            ';' => cfg_test = false,
            '#' if starts_with(&chars, i, "#[cfg(test)]") => {
                cfg_test = true;
                i += "#[cfg(test)]".len();
                continue;
            }
            _ => {}
        }
        if !is_ident_start(c) || (i > 0 && is_ident_char(chars[i - 1])) {
            i += 1;
            continue;
        }
        let (word, end) = ident_at(&chars, i);
        // `mod name {`: an inline module.
        if word == "mod" {
            let (name, after) = ident_at(&chars, skip_ws(&chars, end));
            let brace = skip_ws(&chars, after);
            if !name.is_empty() && chars.get(brace) == Some(&'{') {
                let test = cfg_test || inline.last().is_some_and(|(_, _, t)| *t);
                inline.push((name, depth + 1, test));
            }
            i = end;
            continue;
        }
        let in_test = cfg_test || inline.last().is_some_and(|(_, _, t)| *t);
        if (word == "crate" || word == "super") && starts_with(&chars, end, "::") {
            // `$crate::` resolves like `crate::`.
            let mut path: Vec<String> = if word == "crate" {
                Vec::new()
            } else {
                let mut p = file_mod.clone();
                p.extend(inline.iter().map(|(n, _, _)| n.clone()));
                p.pop();
                p
            };
            let mut j = end + 2;
            // Further `super::` segments.
            while word == "super" && !path.is_empty() {
                let (next, e) = ident_at(&chars, j);
                if next == "super" && starts_with(&chars, e, "::") {
                    path.pop();
                    j = e + 2;
                } else {
                    break;
                }
            }
            if !path.is_empty() || in_test {
                i = j;
                continue; // still inside its own top-level module, or a test
            }
            if chars.get(j) == Some(&'{') {
                for (name, at) in group_heads(&chars, j) {
                    let l = line + chars[i..at].iter().filter(|&&c| c == '\n').count();
                    add(&name, l, &mut edges);
                }
            } else {
                let (next, _) = ident_at(&chars, j);
                add(&next, line, &mut edges);
            }
            i = j;
            continue;
        }
        i = end;
    }
    edges
}

/// The first identifier of each item of the `{ ... }` group at `open`,
/// with its position.
fn group_heads(chars: &[char], open: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut expect = true;
    let mut i = open;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect = true,
            c if depth == 1 && expect && is_ident_start(c) => {
                let (name, end) = ident_at(chars, i);
                out.push((name, i));
                expect = false;
                i = end;
                continue;
            }
            c if !c.is_whitespace() && depth == 1 => expect = false,
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_at(chars: &[char], i: usize) -> (String, usize) {
    let mut end = i;
    while end < chars.len() && is_ident_char(chars[end]) {
        end += 1;
    }
    (chars[i..end].iter().collect(), end)
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

fn starts_with(chars: &[char], i: usize, s: &str) -> bool {
    s.chars()
        .enumerate()
        .all(|(k, c)| chars.get(i + k) == Some(&c))
}

/// The text with comments and the insides of string and char literals
/// replaced by spaces (newlines kept, so line numbers stay right).
fn strip_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !is_ident_char(chars[i - 1]))
            && raw_string_hashes(&chars, i + 1).is_some()
        {
            let hashes = raw_string_hashes(&chars, i + 1).unwrap_or(0);
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let start = i + 2 + hashes;
            out.push('"');
            i = start;
            while i < chars.len() && !starts_with(&chars, i, &close) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push('"');
            i += close.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' && is_char_literal(&chars, i) {
            out.push('\'');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push('\'');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `r"`, `r#"`, `r##"`...: the number of `#`s, when `i` (after the `r`)
/// opens a raw string.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<usize> {
    let mut n = 0;
    while chars.get(i + n) == Some(&'#') {
        n += 1;
    }
    (chars.get(i + n) == Some(&'"')).then_some(n)
}

/// A `'` opening a char literal (`'a'`, `'\n'`, `'\u{1f}'`), not a lifetime.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// The strongly connected sets of two or more modules (Tarjan's algorithm).
fn cycles(tops: &BTreeSet<String>, edges: &[Edge]) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges {
        next.entry(&e.from).or_default().insert(&e.to);
    }
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(v: &'a str, next: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in next.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, next, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut set = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                set.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                s.out.push(set);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for t in tops {
        if !state.index.contains_key(t.as_str()) {
            visit(t, &next, &mut state);
        }
    }
    state.out
}
