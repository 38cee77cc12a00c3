//! Quoted booleans, as Go's yaml.v2 (Alertmanager's YAML library) treats
//! them: a plain `yes` where a boolean goes is true, a quoted `'yes'` is a
//! string and refused (`cannot unmarshal !!str ...`). Serde cannot tell
//! the two apart once parsed ([`super::config::yaml11_bool`] sees the
//! same string), so after a successful parse each quoted boolean word in
//! the text is tried: the file is parsed again with that one value
//! replaced by a non-boolean word of the same length. If that parse then
//! fails with a boolean error, the value sits where a boolean goes, and
//! the quoted form is refused at its place. Files without a quoted
//! boolean word (nearly all) are parsed once.

use serde::de::DeserializeOwned;

use super::config::yaml11_word;

/// `(line, column, message)` of each quoted boolean word where `T` wants
/// a boolean; 1-based, in text order.
pub fn quoted_bool_problems<T: DeserializeOwned>(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    for (offset, len) in candidates(text) {
        let word = &text[offset + 1..offset + 1 + len];
        let mut probe = text.to_string();
        let filler = "x".repeat(len);
        probe.replace_range(offset + 1..offset + 1 + len, &filler);
        let Err(e) = yaml_serde::from_str::<T>(&probe) else {
            continue;
        };
        if !e
            .to_string()
            .contains(&format!("{filler:?} is not a boolean"))
        {
            continue;
        }
        let line = text[..offset].matches('\n').count() + 1;
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        out.push((
            line,
            column,
            format!("cannot unmarshal !!str `{word}` into bool (a quoted value is a string)"),
        ));
    }
    out
}

/// Byte offsets of the opening quote and content lengths of every
/// `'word'` or `"word"` on one line whose word is a YAML 1.1 boolean
/// (outside comments, roughly: a `#` after a blank ends the line).
fn candidates(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
                break;
            }
            if c == b'\'' || c == b'"' {
                let Some(end) = line[i + 1..].find(c as char) else {
                    break;
                };
                let content = &line[i + 1..i + 1 + end];
                if yaml11_word(content).is_some() {
                    out.push((line_start + i, end));
                }
                i += end + 2;
                continue;
            }
            i += 1;
        }
        line_start += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct T {
        #[serde(
            default,
            deserialize_with = "crate::notify::route::config::yaml11_bool"
        )]
        flag: bool,
        #[serde(default)]
        text: String,
        #[serde(default)]
        list: Vec<T>,
    }

    fn problems(text: &str) -> Vec<(usize, usize)> {
        quoted_bool_problems::<T>(text)
            .into_iter()
            .map(|(l, c, _)| (l, c))
            .collect()
    }

    #[test]
    fn only_quoted_words_in_boolean_places() {
        assert_eq!(problems("flag: yes\ntext: 'yes'\n"), vec![]);
        assert_eq!(problems("text: \"on\"\nflag: 'on'\n"), vec![(2, 7)]);
        assert_eq!(
            problems("list:\n  - {text: 'no', flag: \"No\"}\n"),
            vec![(2, 24)]
        );
        // A comment and a block scalar are not values.
        assert_eq!(problems("flag: y # 'y'\ntext: |\n  'yes'\n"), vec![]);
    }
}
