//! Two rules of Go's template parser that the gotmpl crate does not apply
//! at parse time, so that a template file amtool refuses is refused here
//! too: every `if`, `range`, `with`, `define` and `block` is closed by an
//! `{{end}}` (and `{{end}}`/`{{else}}` have something to close), and every
//! function a pipeline calls is defined. The actions are found with Go's
//! lexical rules (quoted and raw strings, character constants, comments,
//! `{{-`/`-}}` trim markers).

/// Go's builtin template functions.
const GO_BUILTINS: [&str; 19] = [
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// Words of an action that are not function names.
const KEYWORDS: [&str; 13] = [
    "if", "else", "end", "range", "with", "define", "block", "template", "true", "false", "nil",
    "continue", "break",
];

/// A problem with its 1-based line and column in the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The first structural or undefined-function error of `text`; `funcs`
/// are the functions defined besides Go's builtins.
pub fn check(text: &str, funcs: &[String]) -> Option<SyntaxError> {
    let mut open: Vec<&str> = Vec::new();
    for action in actions(text) {
        let (first, at) = match action.words.first() {
            Some(w) => (w.text, w.offset),
            None => continue,
        };
        let err = |message: String| Some(error_at(text, at, message));
        match first {
            "if" | "range" | "with" | "define" | "block" => open.push(first),
            "end" if open.pop().is_none() => return err("unexpected {{end}}".into()),
            "else" if !matches!(open.last(), Some(&("if" | "range" | "with"))) => {
                return err("unexpected {{else}}".into());
            }
            _ => {}
        }
        for w in &action.words {
            let known = KEYWORDS.contains(&w.text)
                || GO_BUILTINS.contains(&w.text)
                || funcs.iter().any(|f| f == w.text);
            if !known {
                let msg = format!("function {:?} not defined", w.text);
                return Some(error_at(text, w.offset, msg));
            }
        }
    }
    if let Some(block) = open.last() {
        let msg = format!("unexpected EOF: {{{{{block}}}}} has no {{{{end}}}}");
        return Some(error_at(text, text.len(), msg));
    }
    None
}

fn error_at(text: &str, offset: usize, message: String) -> SyntaxError {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    SyntaxError {
        line,
        column,
        message,
    }
}

/// A bare word of an action (not after `.` or `$`): a keyword or a
/// function name.
struct Word<'a> {
    text: &'a str,
    offset: usize,
}

struct Action<'a> {
    words: Vec<Word<'a>>,
}

/// Every action of `text` with its bare words; scanning stops at an
/// unterminated action (gotmpl reports that one itself).
fn actions(text: &str) -> Vec<Action<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(start) = text[i..].find("{{").map(|p| p + i) {
        i = start + 2;
        if text[i..].starts_with("- ") {
            i += 2;
        }
        let body_start = i;
        // A comment is the whole action.
        if text[i..].trim_start().starts_with("/*") {
            match text[i..].find("*/") {
                Some(p) => i += p + 2,
                None => break,
            }
            match text[i..].find("}}") {
                Some(p) => i += p + 2,
                None => break,
            }
            continue;
        }
        let mut words = Vec::new();
        let mut closed = false;
        while i < b.len() {
            let c = b[i];
            if text[i..].starts_with("}}") {
                i += 2;
                closed = true;
                break;
            }
            match c {
                b'"' | b'\'' => i = skip_quoted(b, i, c),
                b'`' => i = text[i + 1..].find('`').map_or(b.len(), |p| i + p + 2),
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let end = word_end(b, i);
                    let prev = if i > body_start { b[i - 1] } else { b' ' };
                    if prev != b'.' && prev != b'$' && !prev.is_ascii_alphanumeric() {
                        words.push(Word {
                            text: &text[i..end],
                            offset: i,
                        });
                    }
                    i = end;
                }
                c if c.is_ascii_digit() => i = word_end(b, i),
                _ => i += 1,
            }
        }
        if !closed {
            break;
        }
        out.push(Action { words });
    }
    out
}

/// Past a `"…"` or `'…'` with backslash escapes (or to the end of line,
/// where Go's lexer stops too).
fn skip_quoted(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Past a run of letters, digits and `_`: an identifier, or the leading
/// part of a number (whose `.` or sign, scanned next, names nothing).
fn word_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Option<(usize, usize, String)> {
        let funcs = vec!["toUpper".to_string()];
        check(text, &funcs).map(|e| (e.line, e.column, e.message))
    }

    #[test]
    fn sound_templates_pass() {
        for ok in [
            "{{ define \"a\" }}{{ if .X }}{{ .Y | toUpper }}{{ else if .Z }}z{{ else }}w{{ end }}{{ end }}",
            "{{- range $i, $a := .Alerts -}}{{ printf \"%d\" $i }}{{- end -}}",
            "{{/* {{ if }} nosuch */}}{{ \"}} if\" }}{{ `{{end}}` }}{{ 'x' }}",
            "{{ with .A }}{{ .B.if }}{{ $end := 1 }}{{ end }}{{ len .C | eq 2 }}",
            "no actions at all",
        ] {
            assert_eq!(err(ok), None, "{ok}");
        }
    }

    #[test]
    fn go_parse_errors_are_found_with_their_place() {
        let (l, _, m) = err("{{ define \"a\" }}\nok {{ if .X }}\n").unwrap();
        assert!(m.starts_with("unexpected EOF") && l == 3, "{l} {m}");
        let (l, c, _) = err("a\n  {{ end }}").unwrap();
        assert_eq!((l, c), (2, 6));
        assert!(
            err("{{ define \"a\" }}{{ else }}{{ end }}")
                .unwrap()
                .2
                .contains("{{else}}")
        );
        let (l, c, m) = err("x {{ .A | nosuch 1 }}").unwrap();
        assert_eq!(
            (l, c, m.as_str()),
            (1, 11, "function \"nosuch\" not defined")
        );
    }
}
