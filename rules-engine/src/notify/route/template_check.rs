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
use crate::notify::template::{TemplateFileError, Templates, function_names};

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
    let templates = Templates::from_sources(&sources).map_err(|e| vec![place(&e, &files, file)])?;
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

/// Where a template file's parse error points: into the file when it is
/// one of the configured ones (at the line and column when gotmpl gives
/// them), else at the configuration.
fn place(e: &TemplateFileError, files: &[String], config: &str) -> Located {
    if !files.contains(&e.file) {
        return Located {
            file: config.to_string(),
            line: 0,
            column: 0,
            message: format!("templates: {}: {}", e.file, e.source),
        };
    }
    let (line, column, what) = match e.position() {
        Some((line, column, what)) => (line, column, what.to_string()),
        None => (0, 0, e.source.to_string()),
    };
    Located {
        file: e.file.clone(),
        line,
        column,
        message: what,
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

    /// The position and description are gotmpl's own (the error's
    /// fields, not its message read back), whatever the file is called.
    #[test]
    fn parse_errors_point_at_line_and_column() {
        let sources = [
            Templates::default_source(),
            ("dir:2:5/b.tmpl".to_string(), "ok\n  {{ if }}\n".to_string()),
        ];
        let e = Templates::from_sources(&sources).unwrap_err();
        let files = vec!["dir:2:5/b.tmpl".to_string()];
        let l = place(&e, &files, "am.yml");
        // `  {{ if }}`: Go reports the empty command where the action ends.
        assert_eq!(
            (l.file.as_str(), l.line, l.column, l.message.as_str()),
            ("dir:2:5/b.tmpl", 2, 11, "empty command")
        );
        // A file that is not a configured one: the configuration is named.
        let l = place(&e, &[], "am.yml");
        assert_eq!((l.file.as_str(), l.line), ("am.yml", 0));
        assert!(
            l.message
                .starts_with("templates: dir:2:5/b.tmpl: template: "),
            "{l:?}"
        );
    }
}
