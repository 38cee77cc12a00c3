//! The receiver integrations' entries checked as Alertmanager 0.25 checks
//! them: each file below gets the same verdict from Debian's `amtool
//! check-config` and from vigil (the routing file loads, the globals
//! cover every entry, every integration builds), and for a rejected file
//! both name the same problem. Unknown keys are rejected by both.

use std::path::Path;
use std::process::Command;

use vigil::notify::integration::build_receiver;

const ROUTE: &str = "route: {receiver: r}\n";

/// `(name, receiver entry (under `receivers: - name: r`), global block,
/// what a rejection says; empty when valid)`.
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "pagerduty v2",
        "pagerduty_configs: [{routing_key: k, severity: warning, class: c, component: x, group: g, links: [{href: 'http://a', text: a}], images: [{src: 'http://i', alt: i, href: 'http://h'}], details: {a: b}, send_resolved: false}]",
        "",
        "",
    ),
    (
        "pagerduty v1",
        "pagerduty_configs: [{service_key: k, client: c, client_url: 'http://c', description: d, source: s}]",
        "",
        "",
    ),
    (
        "pagerduty global url",
        "pagerduty_configs: [{routing_key: k}]",
        "pagerduty_url: 'http://pd.example/v2/enqueue'",
        "",
    ),
    (
        "pagerduty no key",
        "pagerduty_configs: [{severity: critical}]",
        "",
        "missing service or routing key in PagerDuty config",
    ),
    (
        "pagerduty key and file",
        "pagerduty_configs: [{routing_key: k, routing_key_file: /f}]",
        "",
        "at most one of routing_key & routing_key_file must be configured",
    ),
    (
        "pagerduty unknown key",
        "pagerduty_configs: [{routing_key: k, routingkey: k}]",
        "",
        "routingkey",
    ),
    (
        "opsgenie",
        "opsgenie_configs: [{api_key: k, api_url: 'http://og.example/', message: m, description: d, source: s, details: {a: b}, entity: e, actions: 'a,b', tags: 't1,t2', note: n, priority: P1, update_alerts: true, responders: [{id: '1', type: team}, {name: 'a,b', type: teams}, {username: u, type: user}, {name: e, type: escalation}, {name: s, type: schedule}, {name: x, type: '{{ .CommonLabels.rt }}'}]}]",
        "",
        "",
    ),
    (
        "opsgenie global key",
        "opsgenie_configs: [{message: m}]",
        "opsgenie_api_key: k",
        "",
    ),
    (
        "opsgenie no key",
        "opsgenie_configs: [{message: m}]",
        "",
        "no global OpsGenie API Key set",
    ),
    (
        "opsgenie responder without id",
        "opsgenie_configs: [{api_key: k, responders: [{type: team}]}]",
        "",
        "has to have at least one of id, username or name specified",
    ),
    (
        "opsgenie responder type",
        "opsgenie_configs: [{api_key: k, responders: [{name: a, type: group}]}]",
        "",
        "type does not match valid options",
    ),
    (
        "telegram",
        "telegram_configs: [{bot_token: t, chat_id: -100123, parse_mode: MarkdownV2, disable_notifications: true, message: m, api_url: 'http://tg.example'}]",
        "telegram_api_url: 'http://tg2.example'",
        "",
    ),
    (
        "telegram plain",
        "telegram_configs: [{bot_token: t, chat_id: 5, parse_mode: ''}]",
        "",
        "",
    ),
    (
        "telegram no token",
        "telegram_configs: [{chat_id: 5}]",
        "",
        "missing bot_token on telegram_config",
    ),
    (
        "telegram no chat",
        "telegram_configs: [{bot_token: t}]",
        "",
        "missing chat_id on telegram_config",
    ),
    (
        "telegram parse mode",
        "telegram_configs: [{bot_token: t, chat_id: 5, parse_mode: Text}]",
        "",
        "unknown parse_mode on telegram_config",
    ),
    (
        "discord",
        "discord_configs: [{webhook_url: 'http://d.example/api/webhooks/1/x', title: t, message: m}]",
        "",
        "",
    ),
    (
        "discord no url",
        "discord_configs: [{title: t}]",
        "",
        "no discord webhook URL provided",
    ),
    (
        "victorops",
        "victorops_configs: [{api_key: k, routing_key: r, message_type: '{{ .CommonLabels.sev }}', state_message: s, entity_display_name: e, monitoring_tool: m, custom_fields: {a: b}}]",
        "",
        "",
    ),
    (
        "victorops global key",
        "victorops_configs: [{routing_key: r}]",
        "victorops_api_key: k\n  victorops_api_url: 'http://vo.example/x'",
        "",
    ),
    (
        "victorops no key",
        "victorops_configs: [{routing_key: r}]",
        "",
        "no global VictorOps API Key set",
    ),
    (
        "victorops no routing key",
        "victorops_configs: [{api_key: k}]",
        "",
        "missing Routing key in VictorOps config",
    ),
    (
        "victorops reserved field",
        "victorops_configs: [{api_key: k, routing_key: r, custom_fields: {entity_id: x}}]",
        "",
        "custom field entity_id which cannot be used",
    ),
    (
        "pushover",
        "pushover_configs: [{user_key: u, token: t, title: t, message: m, url: 'http://u', url_title: ut, sound: s, priority: '1', retry: 30s, expire: 1h30m, html: true}]",
        "",
        "",
    ),
    (
        "pushover no token",
        "pushover_configs: [{user_key: u}]",
        "",
        "missing token in Pushover config",
    ),
    (
        "pushover no user",
        "pushover_configs: [{token: t}]",
        "",
        "missing user key in Pushover config",
    ),
    (
        "webex",
        "webex_configs: [{room_id: r, message: m, http_config: {authorization: {credentials: c}}}]",
        "webex_api_url: 'http://webex.example/v1/messages'",
        "",
    ),
    (
        "webex no room",
        "webex_configs: [{http_config: {authorization: {credentials: c}}}]",
        "",
        "missing room_id on webex_config",
    ),
    (
        "webex no authorization",
        "webex_configs: [{room_id: r}]",
        "",
        "missing webex_configs.http_config.authorization",
    ),
    (
        "wechat",
        "wechat_configs: [{api_secret: s, corp_id: c, to_user: u, to_party: p, to_tag: t, agent_id: '1', message: m, message_type: markdown, api_url: 'http://wx.example/'}]",
        "",
        "",
    ),
    (
        "wechat globals",
        "wechat_configs: [{to_user: u}]",
        "wechat_api_secret: s\n  wechat_api_corp_id: c",
        "",
    ),
    (
        "wechat no secret",
        "wechat_configs: [{corp_id: c}]",
        "",
        "no global Wechat ApiSecret set",
    ),
    (
        "wechat no corp",
        "wechat_configs: [{api_secret: s}]",
        "",
        "no global Wechat CorpID set",
    ),
    (
        "wechat message type",
        "wechat_configs: [{api_secret: s, corp_id: c, message_type: news}]",
        "",
        "does not match valid options",
    ),
    (
        "sns topic",
        "sns_configs: [{topic_arn: 'arn:aws:sns:us-east-1:1:t', subject: s, message: m, attributes: {a: b}, api_url: 'http://sns.example', sigv4: {region: us-east-1, access_key: a, secret_key: s}}]",
        "",
        "",
    ),
    (
        "sns phone",
        "sns_configs: [{phone_number: '+15555550100', sigv4: {region: eu-west-1, access_key: a, secret_key: s}}]",
        "",
        "",
    ),
    (
        "sns no target",
        "sns_configs: [{sigv4: {region: us-east-1, access_key: a, secret_key: s}}]",
        "",
        "must provide either a Target ARN, Topic ARN, or Phone Number",
    ),
    (
        "sns two targets",
        "sns_configs: [{topic_arn: a, target_arn: b, sigv4: {region: us-east-1, access_key: a, secret_key: s}}]",
        "",
        "must provide either a Target ARN, Topic ARN, or Phone Number",
    ),
];

fn file(entry: &str, global: &str) -> String {
    let global = if global.is_empty() {
        String::new()
    } else {
        format!("global:\n  {global}\n")
    };
    format!("{global}{ROUTE}receivers:\n  - name: r\n    {entry}\n")
}

/// amtool's verdict and output.
fn amtool(path: &Path) -> (bool, String) {
    let out = Command::new("amtool")
        .arg("check-config")
        .arg(path)
        .output()
        .expect("amtool not found: install Debian's `prometheus-alertmanager`");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// vigil's verdict: the file loads (as `vigil check config` loads it,
/// the globals checked against every entry) and every integration builds
/// (as `vigil run` does at start).
fn vigil(path: &Path) -> Result<(), String> {
    let loaded = vigil::notify::route::load_file(path).map_err(|e| e.to_string())?;
    let c = &loaded.config;
    for r in &c.receivers {
        build_receiver(r, &c.global, path.parent().unwrap()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[test]
fn entries_get_amtools_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (i, (name, entry, global, problem)) in CASES.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.yml"));
        std::fs::write(&path, file(entry, global)).unwrap();
        let (am_ok, am_text) = amtool(&path);
        let ours = vigil(&path);
        let want_ok = problem.is_empty();
        if am_ok != want_ok {
            wrong.push(format!("{name}: amtool accepts={am_ok}: {am_text}"));
        }
        match (&ours, want_ok) {
            (Ok(()), false) => wrong.push(format!("{name}: vigil accepts; amtool: {am_text}")),
            (Err(e), true) => wrong.push(format!("{name}: vigil rejects: {e}")),
            (Err(e), false) if !e.contains(problem) || !am_text.contains(problem) => wrong.push(
                format!("{name}: expected {problem:?}\n  vigil: {e}\n  amtool: {am_text}"),
            ),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
