//! Splits a `.test` file into blocks and turns each into a command.

use regex::Regex;

use super::script::*;

/// Reads a whole file; an error names the line.
pub fn parse_file(text: &str) -> Result<Vec<Cmd>, String> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < lines.len() && !lines[end].is_empty() && !lines[end].starts_with('#') {
            end += 1;
        }
        let body = &lines[i + 1..end];
        let cmd = parse_block(line, body, i + 1).map_err(|e| format!("line {}: {e}", i + 1))?;
        cmds.push(cmd);
        i = end;
    }
    Ok(cmds)
}

fn parse_block(head: &str, body: &[&str], line_no: usize) -> Result<Cmd, String> {
    let word = head
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match word.as_str() {
        "clear" => Ok(Cmd::Clear),
        "load" | "load_with_nhcb" => parse_load(head, body, word == "load_with_nhcb"),
        w if w.starts_with("eval") => {
            parse_eval(head, body, line_no).map(|e| Cmd::Eval(Box::new(e)))
        }
        _ => Err(format!("unknown command {head:?}")),
    }
}

fn parse_load(head: &str, body: &[&str], nhcb: bool) -> Result<Cmd, String> {
    let interval = duration_ms(
        head.split_whitespace()
            .nth(1)
            .ok_or("load without interval")?,
    )?;
    let mut series = Vec::new();
    let mut start_ts = false;
    for line in body {
        let (desc, _) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if desc.ends_with("@st") {
            start_ts = true;
            continue;
        }
        let (s, _) = parse_series_line(line)?;
        series.push(s);
    }
    Ok(Cmd::Load {
        interval,
        series,
        nhcb,
        start_ts,
    })
}

fn parse_eval(head: &str, body: &[&str], line: usize) -> Result<EvalCmd, String> {
    let re = Regex::new(
        r"^(?i)(eval(?:_fail|_warn|_info|_ordered)?)\s+(?:instant\s+(?:at\s+(\S+)\s+)?|range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+)(.+)$",
    )
    .unwrap();
    let c = re
        .captures(head)
        .ok_or_else(|| format!("bad eval {head:?}"))?;
    let kind = match c.get(3) {
        Some(start) => Kind::Range {
            start: duration_ms(start.as_str())?,
            end: duration_ms(&c[4])?,
            step: duration_ms(&c[5])?,
        },
        None => Kind::Instant(
            c.get(2)
                .map(|t| duration_ms(t.as_str()))
                .transpose()?
                .unwrap_or(0),
        ),
    };
    let mut e = EvalCmd {
        line,
        expr: c[6].to_string(),
        kind,
        fail: None,
        warn: AnnExpect::default(),
        info: AnnExpect::default(),
        ordered: false,
        range_vector: None,
        expected: Expected::Series(Vec::new()),
        native: false,
    };
    match c[1].to_ascii_lowercase().as_str() {
        "eval_fail" => e.fail = Some(None),
        "eval_warn" => e.warn.some = true,
        "eval_info" => e.info.some = true,
        "eval_ordered" => e.ordered = true,
        _ => {}
    }
    for l in body {
        parse_body_line(&mut e, l)?;
    }
    Ok(e)
}

fn parse_body_line(e: &mut EvalCmd, l: &str) -> Result<(), String> {
    if let Some(rest) = l.strip_prefix("expect ") {
        return parse_expect(e, rest.trim());
    }
    if let Some(rest) = l.strip_prefix("expected_fail_message ") {
        e.fail = Some(Some(TextMatch::Exact(rest.to_string())));
        return Ok(());
    }
    if let Some(rest) = l.strip_prefix("expected_fail_regexp ") {
        e.fail = Some(Some(TextMatch::Regex(
            Regex::new(rest).map_err(|x| x.to_string())?,
        )));
        return Ok(());
    }
    if let Some(v) = parse_number(l) {
        e.expected = Expected::Scalar(v);
        return Ok(());
    }
    let (s, native) = parse_series_line(l)?;
    e.native |= native;
    if let Expected::Series(list) = &mut e.expected {
        list.push(s);
    }
    Ok(())
}

/// `expect <type> [msg: text | regex: re]`.
fn parse_expect(e: &mut EvalCmd, rest: &str) -> Result<(), String> {
    let (ty, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let tail = tail.trim();
    let text = if let Some(m) = tail.strip_prefix("msg:") {
        Some(TextMatch::Exact(m.trim().to_string()))
    } else if let Some(r) = tail.strip_prefix("regex:") {
        Some(TextMatch::Regex(
            Regex::new(r.trim()).map_err(|x| x.to_string())?,
        ))
    } else {
        None
    };
    match ty {
        "fail" => e.fail = Some(text),
        "warn" => add_ann(&mut e.warn, text),
        "info" => add_ann(&mut e.info, text),
        "no_warn" => e.warn.none = true,
        "no_info" => e.info.none = true,
        "ordered" => e.ordered = true,
        "string" => e.expected = Expected::String(unquote(tail)?),
        "range" => {
            let re = Regex::new(r"^vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$").unwrap();
            let c = re
                .captures(tail)
                .ok_or_else(|| format!("bad expect range {tail:?}"))?;
            e.range_vector = Some((
                duration_ms(&c[1])?,
                duration_ms(&c[2])?,
                duration_ms(&c[3])?,
            ));
        }
        _ => return Err(format!("unknown expectation {ty:?}")),
    }
    Ok(())
}

fn add_ann(a: &mut AnnExpect, text: Option<TextMatch>) {
    a.some = true;
    if let Some(t) = text {
        a.texts.push(t);
    }
}

/// Unquotes a `"..."` (with escapes) or `` `...` `` string.
fn unquote(s: &str) -> Result<String, String> {
    if let Some(raw) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        return Ok(raw.to_string());
    }
    match promql_parser::parser::parse(s) {
        Ok(promql_parser::parser::Expr::StringLiteral(l)) => Ok(l.val),
        _ => Err(format!("bad string {s:?}")),
    }
}
