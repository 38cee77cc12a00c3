//! Where a value sits in a YAML text, by its path (`receivers[2]
//! .webhook_configs[0].http_config.bearer_token`), for checks that run
//! after parsing and must still say `line:column`.
//!
//! The text is walked with serde, following the path; at the target the
//! walk fails on purpose, and yaml_serde stamps that failure with the mark
//! of the YAML event being read: the key's, or the value's. So block and
//! flow styles, quoting and comments are all handled by the YAML parser
//! itself rather than by searching lines.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A path from the document's root, built with [`Path::key`] and
/// [`Path::index`]; shown as `a.b[0].c` in messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    /// This path followed by a key.
    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Key(k.to_string()));
        p
    }

    /// This path followed by a list index.
    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(Step::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Step::Key(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A check's finding: what is wrong, and the path of the value at fault
/// (turned into `line:column` by the loader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Path,
    pub message: String,
    /// Whether the key or its value is at fault (a block that conflicts
    /// with another is shown at its key, a bad scalar at the scalar).
    pub want: Want,
}

impl Problem {
    /// A problem with the value at `path`.
    pub fn new(path: Path, message: impl Into<String>) -> Problem {
        Problem {
            path,
            message: message.into(),
            want: Want::Value,
        }
    }

    /// A problem with the key `path` ends with (its whole block).
    pub fn at_key(path: Path, message: impl Into<String>) -> Problem {
        Problem {
            want: Want::Key,
            ..Problem::new(path, message)
        }
    }
}

/// Which mark a path's last key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The key itself (`bearer_token:`).
    Key,
    /// What follows it (the scalar, or the start of the map or list).
    Value,
}

/// The message the walk fails with at its target; nothing in a document
/// can produce it.
const FOUND: &str = "\u{0}vigil-locate-found\u{0}";

/// `(line, column)`, both from 1, of `path` in `text`; `None` when the
/// path is not written there (a default, or an unparsable text).
pub fn locate(text: &str, path: &Path, want: Want) -> Option<(usize, usize)> {
    let walk = Walk {
        path: &path.0,
        want,
    };
    let de = yaml_serde::Deserializer::from_str(text);
    match walk.deserialize(de) {
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

/// The value's position when written, else its key's, else the nearest
/// enclosing item's that is written (so an error always points somewhere
/// useful).
pub fn locate_best(text: &str, path: &Path) -> Option<(usize, usize)> {
    locate_problem(text, &Problem::new(path.clone(), ""))
}

/// Where `p` is: its key or value as it asks, else the other, else the
/// nearest enclosing item that is written.
pub fn locate_problem(text: &str, p: &Problem) -> Option<(usize, usize)> {
    let other = match p.want {
        Want::Key => Want::Value,
        Want::Value => Want::Key,
    };
    let mut path = p.path.clone();
    loop {
        let found = locate(text, &path, p.want).or_else(|| locate(text, &path, other));
        if found.is_some() {
            return found;
        }
        path.0.pop()?;
    }
}

struct Walk<'p> {
    path: &'p [Step],
    want: Want,
}

impl Walk<'_> {
    fn here<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.here()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.here()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.here()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.here()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.here()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.here()?;
        let Step::Key(want_key) = &self.path[0] else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let last = self.path.len() == 1;
        let seed = KeySeed {
            key: want_key,
            fail_here: last && self.want == Want::Key,
        };
        while let Some(hit) = map.next_key_seed(seed.clone())? {
            if hit {
                map.next_value_seed(Walk {
                    path: &self.path[1..],
                    want: self.want,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.here()?;
        let want_index = match &self.path[0] {
            Step::Index(i) => Some(*i),
            Step::Key(_) => None,
        };
        let mut i = 0;
        loop {
            let more = if Some(i) == want_index {
                seq.next_element_seed(Walk {
                    path: &self.path[1..],
                    want: self.want,
                })?
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if more.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// Reads one mapping key: whether it is the one wanted, or the walk's
/// failure when the key itself is the target.
#[derive(Clone)]
struct KeySeed<'k> {
    key: &'k str,
    fail_here: bool,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match (v == self.key, self.fail_here) {
            (true, true) => Err(E::custom(FOUND)),
            (hit, _) => Ok(hit),
        }
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(steps: &[&str]) -> Path {
        let mut out = Path::root();
        for s in steps {
            out = match s.parse::<usize>() {
                Ok(i) => out.index(i),
                Err(_) => out.key(s),
            };
        }
        out
    }

    const BLOCK: &str = "global:\n  smtp_from: a@b  # comment\nreceivers:\n  - name: x\n  - name: y\n    webhook_configs:\n      - url: 'http://h/'\n        http_config:\n          bearer_token: t\n";

    #[test]
    fn finds_keys_and_values_in_block_style() {
        let at = |s: &[&str], w| locate(BLOCK, &p(s), w);
        assert_eq!(at(&["global", "smtp_from"], Want::Key), Some((2, 3)));
        assert_eq!(at(&["global", "smtp_from"], Want::Value), Some((2, 14)));
        assert_eq!(at(&["receivers", "1"], Want::Value), Some((5, 5)));
        let token = [
            "receivers",
            "1",
            "webhook_configs",
            "0",
            "http_config",
            "bearer_token",
        ];
        assert_eq!(at(&token, Want::Key), Some((9, 11)));
        assert_eq!(at(&token, Want::Value), Some((9, 25)));
        assert_eq!(at(&["receivers", "2"], Want::Value), None);
        assert_eq!(at(&["global", "smtp_hello"], Want::Key), None);
        assert_eq!(at(&["receivers", "name"], Want::Key), None);
    }

    #[test]
    fn finds_them_in_flow_style_and_falls_back_outwards() {
        let text = "route: {receiver: r, routes: [{receiver: x}]}\n";
        let recv = p(&["route", "routes", "0", "receiver"]);
        assert_eq!(locate(text, &recv, Want::Value), Some((1, 42)));
        let missing = p(&["route", "routes", "0", "group_by"]);
        assert_eq!(locate_best(text, &missing), Some((1, 31)));
        assert_eq!(locate("a: [", &recv, Want::Key), None);
        assert_eq!(recv.to_string(), "route.routes[0].receiver");
    }
}
