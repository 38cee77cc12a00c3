//! Where a field of the `sla:` section is written, so a validation problem
//! (`sla.services[1].objective`) is reported at `file:line:column` like
//! every other configuration error.
//!
//! serde forgets positions once the value is built, so this walks the text
//! by indentation: block mappings and block lists as people write them,
//! with flow items (`- { name: app, up: up }`) searched on their line. When
//! a part of the path cannot be found, the deepest part found is used (the
//! item, or the `sla:` key itself): a position close by beats none.

use vigil_common::Located;

use super::validate::SlaConfigError;

/// One significant line: 0-based number, indent, and the text after it.
#[derive(Clone, Copy)]
struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

impl Line<'_> {
    /// Indent and text of the mapping key on this line, past a `- `.
    fn key_part(&self) -> (usize, &str) {
        let mut indent = self.indent;
        let mut text = self.text;
        while let Some(rest) = text.strip_prefix('-').filter(|r| r.starts_with(' ')) {
            let trimmed = rest.trim_start();
            indent += 1 + rest.len() - trimmed.len();
            text = trimmed;
        }
        (indent, text)
    }

    fn is_item(&self) -> bool {
        self.text == "-" || self.text.starts_with("- ")
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(no, raw)| {
            let text = raw.trim_start();
            (!text.is_empty() && !text.starts_with('#')).then(|| Line {
                no,
                indent: raw.len() - text.len(),
                text: text.trim_end(),
            })
        })
        .collect()
}

fn has_key(text: &str, key: &str) -> bool {
    text.strip_prefix(key)
        .is_some_and(|r| r.starts_with(':') || r.trim_start().starts_with(':'))
}

/// Splits `services[1]` into `("services", Some(1))`.
fn segment(s: &str) -> (&str, Option<usize>) {
    match s.split_once('[') {
        Some((k, rest)) => (k, rest.trim_end_matches(']').parse().ok()),
        None => (s, None),
    }
}

/// 1-based line and column of `path` (`sla.services[1].up`) in `text`.
pub fn position(text: &str, path: &str) -> Option<(usize, usize)> {
    let ls = lines(text);
    // The lines of the current region; the first may be an item's line.
    let mut region: &[Line] = &ls;
    let mut found: Option<(usize, usize)> = None;
    for part in path.split('.') {
        let (key, index) = segment(part);
        let Some(first) = region.first() else { break };
        let (level, _) = first.key_part();
        // A flow mapping on one line: search the key in it.
        if region.len() == 1 && first.key_part().1.starts_with('{') {
            let at = [format!("{{{key}:"), format!(" {key}:"), format!(",{key}:")]
                .iter()
                .filter_map(|p| first.text.find(p.as_str()))
                .min();
            if let Some(at) = at {
                found = Some((first.no + 1, first.indent + at + 2));
            }
            break;
        }
        let Some(k) = region.iter().position(|l| {
            let (ind, t) = l.key_part();
            ind == level && has_key(t, key)
        }) else {
            break;
        };
        let kl = region[k];
        let key_indent = kl.key_part().0;
        found = Some((kl.no + 1, key_indent + 1));
        // The key's block: deeper lines, and list items at its own indent.
        let end = region[k + 1..]
            .iter()
            .position(|l| l.indent < key_indent || (l.indent == key_indent && !l.is_item()))
            .map_or(region.len(), |e| k + 1 + e);
        region = &region[k + 1..end];
        if let Some(i) = index {
            let Some(item_indent) = region.iter().find(|l| l.is_item()).map(|l| l.indent) else {
                break;
            };
            let starts: Vec<usize> = (0..region.len())
                .filter(|&j| region[j].indent == item_indent && region[j].is_item())
                .collect();
            let Some(&s) = starts.get(i) else { break };
            let e = starts.get(i + 1).copied().unwrap_or(region.len());
            found = Some((region[s].no + 1, region[s].indent + 1));
            region = &region[s..e];
        }
    }
    found
}

/// Every problem of `err`, located in `file` whose text is `text`.
pub fn locate(err: &SlaConfigError, file: &str, text: &str) -> Vec<Located> {
    err.0
        .iter()
        .map(|p| {
            let (line, column) = position(text, &p.field).unwrap_or((0, 0));
            Located {
                file: file.to_string(),
                line,
                column,
                message: format!("{}: {}", p.field, p.message),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
global:
  scrape_interval: 15s
sla:
  # the contract
  time_zone: Europe/Paris
  services:
    - name: app
      up: up
      objective: 101
    - { name: db, up: pg_up, objective: 0 }
  credits:
    tiers:
    - from: 99.9
      to: 99.99
      credit: 10
    - to: 99.9
      credit: 50
";

    #[test]
    fn finds_nested_fields() {
        assert_eq!(position(YAML, "sla"), Some((3, 1)));
        assert_eq!(position(YAML, "sla.time_zone"), Some((5, 3)));
        assert_eq!(position(YAML, "sla.services[0].objective"), Some((9, 7)));
        assert_eq!(position(YAML, "sla.services[0].name"), Some((7, 7)));
        assert_eq!(position(YAML, "sla.services[1].objective"), Some((10, 30)));
        assert_eq!(position(YAML, "sla.services[1].up"), Some((10, 19)));
        assert_eq!(position(YAML, "sla.credits.tiers[1].to"), Some((16, 7)));
        assert_eq!(position(YAML, "sla.credits.tiers[1]"), Some((16, 5)));
    }

    #[test]
    fn falls_back_to_the_deepest_part_found() {
        assert_eq!(position(YAML, "sla.services[0].rto"), Some((7, 5)));
        assert_eq!(position(YAML, "sla.services[5].up"), Some((6, 3)));
        assert_eq!(position(YAML, "sla.max_gap"), Some((3, 1)));
        assert_eq!(position("global: {}\n", "sla.max_gap"), None);
    }
}
