//! Duration expressions (experimental in Prometheus 3.x): `foo[5m+1m]`,
//! `x[1h:step()*2]`, `offset (2*30s)`, `offset -min_of(step(), 1s)`, with
//! `step()`, `range()`, `min_of`, `max_of`. The parser we use reads only
//! literal durations, so such expressions are computed first, for the
//! query's step and range, and written back as milliseconds.
//!
//! Values are seconds: `90` and `1m30s` are the same. Without parentheses
//! an `offset` takes one term (`offset 2 ^ 2` is `(x offset 2s) ^ 2`).

/// Rewrites every duration expression in `q` to a literal (`1800000ms`).
pub(crate) fn rewrite(q: &str, step_ms: i64, range_ms: i64) -> Result<String, String> {
    let env = Env {
        step: step_ms as f64 / 1e3,
        range: range_ms as f64 / 1e3,
    };
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    while let Some((i, c)) = next_special(rest) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if c == '[' {
            let end = matching_bracket(rest).ok_or("unclosed '['")?;
            out.push('[');
            out.push_str(&rewrite_bracket(&rest[1..end], &env)?);
            out.push(']');
            rest = &rest[end + 1..];
        } else {
            // `offset`: rewrite the term after it; a zero offset is dropped
            // (the parser rejects `offset 0ms`).
            let after = &rest[6..];
            let ws = after.len() - after.trim_start().len();
            let mut p = Parser {
                s: &after.as_bytes()[ws..],
                i: 0,
                env: &env,
            };
            let secs = p.offset_term()?;
            if secs != 0.0 {
                out.push_str(&rest[..6 + ws]);
                out.push_str(&literal(secs));
            }
            rest = &after[ws + p.i..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The next `[` or `offset` keyword outside string literals and label
/// braces (`{offset="x"}` names a label).
fn next_special(s: &str) -> Option<(usize, char)> {
    let b = s.as_bytes();
    let mut quote = None;
    let mut braces = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == b'\\' && q != b'`' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, b'"' | b'\'' | b'`') => quote = Some(c),
            None if c == b'{' => braces += 1,
            None if c == b'}' => braces = braces.saturating_sub(1),
            None if c == b'[' => return Some((i, '[')),
            None if braces == 0 && is_offset_at(b, i) => return Some((i, 'o')),
            None => {}
        }
        i += 1;
    }
    None
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

fn is_offset_at(b: &[u8], i: usize) -> bool {
    b.len() >= i + 6
        && b[i..i + 6].eq_ignore_ascii_case(b"offset")
        && (i == 0 || !is_ident(b[i - 1]))
        && b.get(i + 6).is_none_or(|&c| !is_ident(c))
}

fn matching_bracket(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `range` or `range:step`, each part rewritten unless empty or literal.
fn rewrite_bracket(inner: &str, env: &Env) -> Result<String, String> {
    let mut depth = 0;
    let colon = inner.char_indices().find(|&(_, c)| {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        c == ':' && depth == 0
    });
    let parts: Vec<&str> = match colon {
        Some((i, _)) => vec![&inner[..i], &inner[i + 1..]],
        None => vec![inner],
    };
    let mut out = Vec::new();
    for part in parts {
        let t = part.trim();
        if t.is_empty() || is_plain_duration(t) {
            out.push(part.to_string());
            continue;
        }
        let mut p = Parser {
            s: t.as_bytes(),
            i: 0,
            env,
        };
        let secs = p.expr()?;
        p.skip_ws();
        if p.i != t.len() {
            return Err(format!(
                "unexpected character in duration expression: {t:?}"
            ));
        }
        out.push(literal(secs));
    }
    Ok(out.join(":"))
}

fn is_plain_duration(t: &str) -> bool {
    let mut saw_unit = false;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_ascii_digit() {
            return false;
        }
        while chars.peek().is_some_and(char::is_ascii_digit) {
            chars.next();
        }
        let unit: String =
            std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphabetic())).collect();
        if !matches!(unit.as_str(), "ms" | "s" | "m" | "h" | "d" | "w" | "y") {
            return false;
        }
        saw_unit = true;
    }
    saw_unit
}

/// Seconds as a duration literal the parser accepts.
fn literal(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as i64;
    if ms < 0 {
        format!("-{}ms", -ms)
    } else {
        format!("{ms}ms")
    }
}

struct Env {
    step: f64,
    range: f64,
}

/// Recursive descent over `+ - * / % ^`, parentheses, numbers (seconds),
/// duration literals and the four functions.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    env: &'a Env,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn expr(&mut self) -> Result<f64, String> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let r = self.product()?;
            v = if op == b'+' { v + r } else { v - r };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<f64, String> {
        let mut v = self.term()?;
        while let Some(op @ (b'*' | b'/' | b'%')) = self.peek() {
            self.i += 1;
            let r = self.term()?;
            v = match op {
                b'*' => v * r,
                b'/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    /// The term after `offset`: signs and one atom, no power.
    fn offset_term(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                Ok(-self.offset_term()?)
            }
            Some(b'+') => {
                self.i += 1;
                self.offset_term()
            }
            _ => self.atom(),
        }
    }

    /// A signed power: `-2 ^ 2` is `-(2 ^ 2)`.
    fn term(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(b'-') => {
                self.i += 1;
                Ok(-self.term()?)
            }
            Some(b'+') => {
                self.i += 1;
                self.term()
            }
            _ => {
                let base = self.atom()?;
                if self.peek() == Some(b'^') {
                    self.i += 1;
                    return Ok(base.powf(self.term()?));
                }
                Ok(base)
            }
        }
    }

    fn atom(&mut self) -> Result<f64, String> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let v = self.expr()?;
                self.expect(b')')?;
                Ok(v)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.call(),
            _ => Err("expected a duration expression".into()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' in duration expression", c as char))
        }
    }

    /// A number of seconds, or a duration literal such as `1m30s`.
    fn number(&mut self) -> Result<f64, String> {
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            self.i += 1;
        }
        let tok = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        if let Ok(v) = tok.parse::<f64>() {
            return Ok(v);
        }
        duration_secs(tok).ok_or_else(|| format!("bad duration {tok:?}"))
    }

    fn call(&mut self) -> Result<f64, String> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| is_ident(*c)) {
            self.i += 1;
        }
        let name = std::str::from_utf8(&self.s[start..self.i])
            .unwrap_or("")
            .to_ascii_lowercase();
        self.expect(b'(')?;
        let v = match name.as_str() {
            "step" => self.env.step,
            "range" => self.env.range,
            "min_of" | "max_of" => {
                let a = self.expr()?;
                self.expect(b',')?;
                let b = self.expr()?;
                if name == "min_of" { a.min(b) } else { a.max(b) }
            }
            _ => return Err(format!("unknown function {name:?} in duration expression")),
        };
        self.expect(b')')?;
        Ok(v)
    }
}

fn duration_secs(tok: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = tok;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !c.is_ascii_digit())?;
        let value: f64 = rest[..n].parse().ok()?;
        let unit_len = rest[n..]
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len() - n);
        let unit = match &rest[n..n + unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        total += value * unit;
        rest = &rest[n + unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_ranges_and_offsets() {
        assert_eq!(rewrite("rate(x[5m])", 0, 0).unwrap(), "rate(x[5m])");
        assert_eq!(
            rewrite("changes(x[26m+4m])", 0, 0).unwrap(),
            "changes(x[1800000ms])"
        );
        assert_eq!(
            rewrite("x[29s+1s:5s+5s]", 0, 0).unwrap(),
            "x[30000ms:10000ms]"
        );
        assert_eq!(
            rewrite("x offset 2 ^ 2", 0, 0).unwrap(),
            "x offset 2000ms ^ 2"
        );
        assert_eq!(
            rewrite("x offset (-2 ^ 2)", 0, 0).unwrap(),
            "x offset -4000ms"
        );
        assert_eq!(
            rewrite("x offset -step()*2", 5000, 0).unwrap(),
            "x offset -5000ms*2"
        );
        assert_eq!(
            rewrite("x[max_of(min_of(step()+1,1h),1ms)]", 5000, 0).unwrap(),
            "x[6000ms]"
        );
        assert_eq!(
            rewrite(r#"x{offset="1"} offset 1m"#, 0, 0).unwrap(),
            r#"x{offset="1"} offset 60000ms"#
        );
        assert_eq!(
            rewrite(r#"x{a="[offset 2]"}"#, 0, 0).unwrap(),
            r#"x{a="[offset 2]"}"#
        );
    }
}
