//! What Slack's incoming webhooks accept, checked on a received payload:
//! a top-level `text` (the notification fallback, required with blocks),
//! Block Kit blocks at the top level or inside `attachments`, each of a
//! known type and within Slack's documented limits
//! (api.slack.com/reference/block-kit/blocks). Slack answers 400 to a
//! message that breaks them, so a real workspace would drop it.

use serde_json::Value;

const HEADER_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELDS_MAX: usize = 10;
const FIELD_TEXT_MAX: usize = 2000;
const BUTTON_TEXT_MAX: usize = 75;

/// `Ok` when Slack would accept `msg`; else what is wrong with it.
pub fn check(msg: &Value) -> Result<(), String> {
    msg["text"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or("no top-level `text` fallback")?;
    let mut blocks: Vec<&Value> = Vec::new();
    if let Some(b) = msg.get("blocks") {
        blocks.extend(b.as_array().ok_or("`blocks` is not a list")?);
    }
    if let Some(atts) = msg.get("attachments") {
        for a in atts.as_array().ok_or("`attachments` is not a list")? {
            if let Some(b) = a.get("blocks") {
                blocks.extend(b.as_array().ok_or("attachment `blocks` is not a list")?);
            } else if a["fallback"].as_str().is_none() && a["text"].as_str().is_none() {
                return Err(format!("attachment without blocks, text or fallback: {a}"));
            }
        }
    }
    if blocks.is_empty() {
        return Err("no Block Kit blocks".into());
    }
    blocks.into_iter().try_for_each(check_block)
}

/// Every block, top-level ones first, then those of each attachment.
pub fn blocks(msg: &Value) -> Vec<&Value> {
    let top = msg["blocks"].as_array().into_iter().flatten();
    let inner = msg["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|a| a["blocks"].as_array().into_iter().flatten());
    top.chain(inner).collect()
}

/// The text of the first `header` block (Slack's title), if any.
pub fn header(msg: &Value) -> Option<String> {
    blocks(msg)
        .into_iter()
        .find(|b| b["type"] == "header")
        .and_then(|b| b["text"]["text"].as_str().map(str::to_string))
}

/// The texts of the `section` blocks (the message body), in order.
pub fn section_texts(msg: &Value) -> Vec<String> {
    blocks(msg)
        .into_iter()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
        .collect()
}

fn check_block(b: &Value) -> Result<(), String> {
    match b["type"].as_str() {
        Some("header") => text_obj(&b["text"], &["plain_text"], HEADER_MAX),
        Some("section") => {
            let has_text = !b["text"].is_null();
            if has_text {
                text_obj(&b["text"], &["plain_text", "mrkdwn"], SECTION_TEXT_MAX)?;
            }
            match b["fields"].as_array() {
                Some(f) if f.len() > FIELDS_MAX => Err(format!("{} fields", f.len())),
                Some(f) => f
                    .iter()
                    .try_for_each(|f| text_obj(f, &["plain_text", "mrkdwn"], FIELD_TEXT_MAX)),
                None if has_text => Ok(()),
                None => Err(format!("section without text or fields: {b}")),
            }
        }
        Some("actions") => {
            let elements = b["elements"].as_array().ok_or("actions without elements")?;
            elements.iter().try_for_each(|e| {
                if e["type"] != "button" || e["url"].as_str().is_none() {
                    return Err(format!("not a link button: {e}"));
                }
                text_obj(&e["text"], &["plain_text"], BUTTON_TEXT_MAX)
            })
        }
        Some("divider") | Some("context") => Ok(()),
        _ => Err(format!("unknown block type: {b}")),
    }
}

fn text_obj(t: &Value, kinds: &[&str], max: usize) -> Result<(), String> {
    let kind = t["type"].as_str().unwrap_or("");
    if !kinds.contains(&kind) {
        return Err(format!(
            "text object of type {kind:?}, want one of {kinds:?}: {t}"
        ));
    }
    let n = t["text"]
        .as_str()
        .ok_or("text object without text")?
        .chars()
        .count();
    if n == 0 || n > max {
        return Err(format!("text of {n} characters (1..={max} allowed): {t}"));
    }
    Ok(())
}
