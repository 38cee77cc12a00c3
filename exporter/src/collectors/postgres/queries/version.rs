//! `runonserver` version ranges, in the syntax postgres_exporter parses
//! them with (blang/semver): clauses of `<op>major.minor.patch` joined by
//! spaces (all must hold) and `||` (either side), for example
//! `">=10.0.0 <14.0.0 || >=16.0.0"`. Upstream reads the range but never
//! applies it; here a query runs only on servers inside it.

/// A parsed range: any of the alternatives, each all of its comparisons.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Range(Vec<Vec<(Op, [u32; 3])>>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Range {
    pub(crate) fn parse(text: &str) -> Result<Range, String> {
        let mut any = Vec::new();
        for alternative in text.split("||") {
            let mut all = Vec::new();
            for clause in alternative.split_whitespace() {
                let (op, rest) = [
                    (">=", Op::Ge),
                    ("<=", Op::Le),
                    ("!=", Op::Ne),
                    ("==", Op::Eq),
                    (">", Op::Gt),
                    ("<", Op::Lt),
                    ("=", Op::Eq),
                ]
                .into_iter()
                .find_map(|(s, op)| clause.strip_prefix(s).map(|r| (op, r)))
                .unwrap_or((Op::Eq, clause));
                all.push((
                    op,
                    version(rest).ok_or_else(|| {
                        format!("{clause:?} is not a comparison with a version such as >=10.0.0")
                    })?,
                ));
            }
            if all.is_empty() {
                return Err(format!("{text:?} has an empty alternative"));
            }
            any.push(all);
        }
        Ok(Range(any))
    }

    /// Whether `server_version_num` (such as 150004) is inside.
    pub(crate) fn contains(&self, server_version_num: u32) -> bool {
        let v = from_num(server_version_num);
        self.0.iter().any(|all| {
            all.iter().all(|(op, w)| match op {
                Op::Eq => v == *w,
                Op::Ne => v != *w,
                Op::Lt => v < *w,
                Op::Le => v <= *w,
                Op::Gt => v > *w,
                Op::Ge => v >= *w,
            })
        })
    }
}

/// `major.minor.patch`, minor and patch optional (0).
fn version(text: &str) -> Option<[u32; 3]> {
    let mut parts = text.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    parts.next().is_none().then_some([major, minor, patch])
}

/// `server_version_num` as PostgreSQL writes it: 150004 is 15.4, 90624 is
/// 9.6.24 (before 10 the minor had two digits of its own).
fn from_num(n: u32) -> [u32; 3] {
    if n >= 100000 {
        [n / 10000, n % 10000, 0]
    } else {
        [n / 10000, (n / 100) % 100, n % 100]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_alternatives() {
        let r = Range::parse(">=10.0.0 <14.0.0 || >=16.0.0").unwrap();
        assert!(r.contains(130011));
        assert!(!r.contains(150004));
        assert!(r.contains(160001));
        assert!(!r.contains(90624));
        assert!(Range::parse("9.6.24").unwrap().contains(90624));
        assert!(Range::parse(">9.6").unwrap().contains(100000));
    }

    #[test]
    fn bad_ranges_are_refused() {
        assert!(Range::parse(">=ten").is_err());
        assert!(Range::parse(">=10 || ").is_err());
        assert!(Range::parse("~1.2.3").is_err());
    }
}
