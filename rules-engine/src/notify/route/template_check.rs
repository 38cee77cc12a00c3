//! The `templates:` files, parsed as `amtool check-config` parses them:
//! every glob must be a valid pattern (one matching nothing is fine, the
//! files may come later), and every file it matches must parse, with the
//! functions notifications can call. A parse error points into the
//! template file (`file:line:column`), a bad pattern at its entry in the
//! configuration. Each file is read once: the parsed [`Templates`] are
//! what the notifications use.

use std::path::Path;

use vigil_common::Located;

use super::locate::{Path as YamlPath, locate_best};
use super::template_syntax;
use crate::notify::template::{Templates, function_names};

/// The templates of the `globs` written in `text`, which came from `file`
/// (relative globs are taken from its folder, as Alertmanager does),
/// with the defaults first; or their errors.
pub fn check_templates(
    file: &str,
    text: &str,
    globs: &[String],
) -> Result<Templates, Vec<Located>> {
    let base = Path::new(file).parent().unwrap_or(Path::new("."));
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for (i, g) in globs.iter().enumerate() {
        let pattern = base.join(g).display().to_string();
        match glob::glob(&pattern) {
            Ok(paths) => files.extend(paths.flatten().map(|p| p.display().to_string())),
            Err(e) => {
                let at = YamlPath::root().key("templates").index(i);
                let (line, column) = locate_best(text, &at).unwrap_or((0, 0));
                errors.push(Located {
                    file: file.to_string(),
                    line,
                    column,
                    message: format!("{at}: bad pattern {g:?}: {}", e.msg),
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut sources = vec![Templates::default_source()];
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            vec![Located {
                file: f.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }]
        })?;
        sources.push((f.clone(), text));
    }
    let templates =
        Templates::from_sources(&sources).map_err(|e| vec![place(&e.0, &files, file)])?;
    // What Go's parser refuses and gotmpl's accepts.
    let funcs = function_names();
    for (f, text) in &sources[1..] {
        if let Some(e) = template_syntax::check(text, &funcs) {
            return Err(vec![Located {
                file: f.clone(),
                line: e.line,
                column: e.column,
                message: e.message,
            }]);
        }
    }
    Ok(templates)
}

/// `Templates::from_sources`'s message is `FILE: template: [NAME:]LINE:COL:
/// what` for a parse error.
fn place(message: &str, files: &[String], config: &str) -> Located {
    let found = files
        .iter()
        .filter(|f| message.starts_with(&format!("{f}: ")))
        .max_by_key(|f| f.len());
    let Some(file) = found else {
        return Located {
            file: config.to_string(),
            line: 0,
            column: 0,
            message: format!("templates: {message}"),
        };
    };
    let rest = &message[file.len() + 2..];
    let (line, column, what) = rest
        .strip_prefix("template: ")
        .and_then(line_col)
        .unwrap_or((0, 0, rest));
    Located {
        file: file.clone(),
        line,
        column,
        message: what.to_string(),
    }
}

/// `[NAME:]LINE:COL: what` → the numbers and `what`.
fn line_col(s: &str) -> Option<(usize, usize, &str)> {
    let parts: Vec<&str> = s.splitn(4, ':').collect();
    let num = |i: usize| parts.get(i)?.trim().parse::<usize>().ok();
    match (num(0), num(1), num(2)) {
        (Some(l), Some(c), _) => Some((l, c, s.splitn(3, ':').nth(2)?.trim_start())),
        (None, Some(l), Some(c)) => Some((l, c, parts.get(3)?.trim_start())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(dir: &Path, templates: &str) -> Result<(), vigil_common::ConfigErrors> {
        let file = dir.join("am.yml");
        let text =
            format!("route: {{receiver: r}}\nreceivers: [{{name: r}}]\ntemplates: {templates}\n");
        std::fs::write(&file, text).unwrap();
        super::super::load_file(&file).map(|_| ())
    }

    #[test]
    fn files_parse_and_errors_point_into_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("a.tmpl"),
            "{{ define \"a\" }}{{ .Status | toUpper }}{{ end }}\n",
        )
        .unwrap();
        check(d, "['*.tmpl', 'none/*.tmpl', '/nonexistent/*.tmpl']").unwrap();

        std::fs::write(d.join("b.tmpl"), "{{ define \"b\" }}\nok {{ if .X }}\n").unwrap();
        let e = check(d, "['*.tmpl']").unwrap_err().0.remove(0);
        assert!(e.file.ends_with("b.tmpl"), "{e:?}");
        assert!(e.line > 0 && e.column > 0, "{e:?}");
        std::fs::remove_file(d.join("b.tmpl")).unwrap();

        std::fs::write(d.join("c.tmpl"), "{{ nosuchfunc }}\n").unwrap();
        let e = check(d, "['c.tmpl']").unwrap_err().0.remove(0);
        assert!(
            e.file.ends_with("c.tmpl") && e.message.contains("nosuchfunc"),
            "{e:?}"
        );

        let e = check(d, "['ok.tmpl', '[']").unwrap_err().0.remove(0);
        assert_eq!((e.line, e.column), (3, 24), "{e:?}");
        assert!(e.message.starts_with("templates[1]: bad pattern"), "{e:?}");
    }

    #[test]
    fn line_and_column_with_or_without_a_name() {
        assert_eq!(
            line_col("2:5: unexpected EOF"),
            Some((2, 5, "unexpected EOF"))
        );
        assert_eq!(line_col("x.tmpl:2:5: bad: yes"), Some((2, 5, "bad: yes")));
        assert_eq!(line_col("no position"), None);
    }
}
