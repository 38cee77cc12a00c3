//! Stats rows to metric families, under the built-in exporter's names and
//! labels (`proxy`, `server`, `state`, `code`), plus two plain 1/0 gauges
//! for alerting that the built-in exporter lacks: `haproxy_backend_up{proxy}`
//! and `haproxy_server_up{proxy,server}` (a `state` label set is awkward to
//! alert on: `haproxy_server_up == 0` is not).

use std::collections::HashMap;

use super::fields::{
    B, CHECK_STATES, COLUMNS, Column, F, HTTP_CODES, PROXY_STATES, S, SERVER_STATES,
};
use super::stats::{Kind, Row};
use crate::metrics::{Family, Label, MetricType, labels};

/// Families in first-seen order of the table, found by name.
#[derive(Default)]
struct Out {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// Each column's family `haproxy_{scope}_{suffix}`, by scope and
    /// suffix: its name is made once per reply, not once per row and
    /// column.
    by_column: HashMap<(&'static str, &'static str), usize>,
}

impl Out {
    fn family(&mut self, name: &str, help: &'static str, kind: MetricType) -> &mut Family {
        let at = self.position(name, help, kind);
        &mut self.families[at]
    }

    /// The family `haproxy_{scope}_{suffix}`.
    fn scoped(
        &mut self,
        (scope, suffix): (&'static str, &'static str),
        help: &'static str,
        kind: MetricType,
    ) -> &mut Family {
        let at = match self.by_column.get(&(scope, suffix)) {
            Some(&at) => at,
            None => {
                let at = self.position(&format!("haproxy_{scope}_{suffix}"), help, kind);
                self.by_column.insert((scope, suffix), at);
                at
            }
        };
        &mut self.families[at]
    }

    /// Where the family `name` is, added if new.
    fn position(&mut self, name: &str, help: &'static str, kind: MetricType) -> usize {
        if let Some(&at) = self.by_name.get(name) {
            return at;
        }
        self.families
            .push(Family::new(name.to_string(), help, kind));
        self.by_name
            .insert(name.to_string(), self.families.len() - 1);
        self.families.len() - 1
    }

    fn into_vec(self) -> Vec<Family> {
        self.families
    }
}

/// The families of one stats reply.
pub fn families(rows: &[Row]) -> Vec<Family> {
    let mut out = Out::default();
    for row in rows {
        let Some((scope, bit, ids)) = scope(row) else {
            continue;
        };
        for column in COLUMNS.iter().filter(|c| c.on & bit != 0) {
            numeric(&mut out, scope, column, row, &ids);
        }
        http_codes(&mut out, scope, row, &ids);
        status(&mut out, scope, row, &ids);
        if row.kind == Kind::Server {
            check_status(&mut out, row, &ids);
        }
    }
    aggregates(&mut out, rows);
    out.into_vec()
}

/// The metric prefix, table bit and identifying labels of a row.
fn scope(row: &Row) -> Option<(&'static str, u8, Vec<Label>)> {
    let proxy = row.proxy.as_str();
    match row.kind {
        Kind::Frontend => Some(("frontend", F, labels(&[("proxy", proxy)]))),
        Kind::Backend => Some(("backend", B, labels(&[("proxy", proxy)]))),
        Kind::Server => Some((
            "server",
            S,
            labels(&[("proxy", proxy), ("server", &row.name)]),
        )),
        Kind::Listener => None,
    }
}

/// One numeric column. An empty cell is NaN, as in the built-in exporter
/// (it means "not applicable" or "no limit"); a column this HAProxy
/// version lacks yields nothing.
fn numeric(out: &mut Out, scope: &'static str, column: &Column, row: &Row, ids: &[Label]) {
    let Some(cell) = row.number(column.column) else {
        return;
    };
    let value = match cell {
        Some(v) => v * column.scale,
        // No check ran yet or no check configured: the built-in exporter
        // reports code 0, not NaN.
        None if column.column == "check_code" => 0.0,
        None => f64::NAN,
    };
    let kind = if column.counter {
        MetricType::Counter
    } else {
        MetricType::Gauge
    };
    out.scoped((scope, column.suffix), column.help, kind)
        .push(ids.to_vec(), value);
}

fn http_codes(out: &mut Out, scope: &str, row: &Row, ids: &[Label]) {
    let name = format!("haproxy_{scope}_http_responses_total");
    for (column, code) in HTTP_CODES {
        let Some(Some(value)) = row.number(column) else {
            continue;
        };
        let mut l = ids.to_vec();
        l.push(("code".into(), (*code).into()));
        out.family(
            &name,
            "HTTP responses since start, by status class",
            MetricType::Counter,
        )
        .push(l, value);
    }
}

/// The `state` a row's `status` column is in, among `SERVER_STATES` or
/// `PROXY_STATES`. HAProxy appends transition details (`UP 1/3`, `DOWN 1/2`,
/// `MAINT (via app/s1)`); a frontend says `OPEN`, or `FULL` at its maxconn
/// (still up, as the built-in exporter counts it); `no check` is up.
pub fn state(status: &str) -> &'static str {
    let word = status.split_whitespace().next().unwrap_or("");
    match word {
        "UP" | "OPEN" | "FULL" | "no" => "UP",
        "MAINT" => "MAINT",
        "DRAIN" => "DRAIN",
        "NOLB" => "NOLB",
        _ => "DOWN",
    }
}

fn status(out: &mut Out, scope: &str, row: &Row, ids: &[Label]) {
    let current = state(&row.status);
    let states = if row.kind == Kind::Server {
        SERVER_STATES
    } else {
        PROXY_STATES
    };
    let family = out.family(
        &format!("haproxy_{scope}_status"),
        "Current status, one series per state with value 1 for the current one",
        MetricType::Gauge,
    );
    for s in states {
        let mut l = ids.to_vec();
        l.push(("state".into(), (*s).into()));
        family.push(l, f64::from(*s == current));
    }
    let (name, help) = match row.kind {
        Kind::Backend => (
            "haproxy_backend_up",
            "1 if the backend is UP (has a usable server), else 0",
        ),
        Kind::Server => (
            "haproxy_server_up",
            "1 if the server is UP (including `no check` and going down), else 0",
        ),
        _ => return,
    };
    out.family(name, help, MetricType::Gauge)
        .push(ids.to_vec(), f64::from(current == "UP"));
}

/// The check result without the `* ` HAProxy puts before a running check;
/// `None` when the server has no check or none finished yet.
fn check_state(check_status: &str) -> Option<&str> {
    let s = check_status.trim().trim_start_matches("* ");
    CHECK_STATES.iter().find(|c| **c == s).copied()
}

fn check_status(out: &mut Out, row: &Row, ids: &[Label]) {
    let Some(current) = check_state(&row.check_status) else {
        return;
    };
    let family = out.family(
        "haproxy_server_check_status",
        "Result of the last health check, one series per result with value 1 for the current one",
        MetricType::Gauge,
    );
    for s in CHECK_STATES {
        let mut l = ids.to_vec();
        l.push(("state".into(), (*s).into()));
        family.push(l, f64::from(*s == current));
    }
}

/// Per backend, how many of its servers are in each state and each check
/// result, counted from the server rows (the CSV's own `agg_*` columns are
/// a single code, not a count per state).
fn aggregates(out: &mut Out, rows: &[Row]) {
    let backends = rows.iter().filter(|r| r.kind == Kind::Backend);
    for backend in backends {
        let servers: Vec<&Row> = rows
            .iter()
            .filter(|r| r.kind == Kind::Server && r.proxy == backend.proxy)
            .collect();
        let ids = labels(&[("proxy", &backend.proxy)]);
        let count = |states: &[&str], f: &dyn Fn(&Row) -> Option<&str>| {
            states
                .iter()
                .map(|s| {
                    let n = servers.iter().filter(|r| f(r) == Some(*s)).count();
                    let mut l = ids.clone();
                    l.push(("state".into(), (*s).into()));
                    (l, n as f64)
                })
                .collect::<Vec<_>>()
        };
        let by_state = count(SERVER_STATES, &|r: &Row| Some(state(&r.status)));
        let by_check = count(CHECK_STATES, &|r: &Row| check_state(&r.check_status));
        for (name, help, samples) in [
            (
                "haproxy_backend_agg_server_status",
                "Servers of the backend in each state",
                by_state.clone(),
            ),
            (
                "haproxy_backend_agg_server_check_status",
                "Servers of the backend in each state (older name of agg_server_status)",
                by_state,
            ),
            (
                "haproxy_backend_agg_check_status",
                "Servers of the backend with each health-check result",
                by_check,
            ),
        ] {
            let family = out.family(name, help, MetricType::Gauge);
            for (l, v) in samples {
                family.push(l, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::haproxy::stats;

    fn captured() -> Vec<Family> {
        families(&stats::parse(include_str!("testdata/stats_2.6.csv")).unwrap())
    }

    fn value(f: &[Family], name: &str, want: &[(&'static str, &str)]) -> Option<f64> {
        let want = labels(want);
        f.iter()
            .find(|f| f.name == name)?
            .samples
            .iter()
            .find(|s| s.labels == want)
            .map(|s| s.value)
    }

    #[test]
    fn down_server_is_zero_and_up_ones_one() {
        let f = captured();
        let up = |s| value(&f, "haproxy_server_up", &[("proxy", "app"), ("server", s)]);
        assert_eq!(
            (up("s1"), up("s2"), up("s3")),
            (Some(1.0), Some(1.0), Some(0.0))
        );
        assert_eq!(
            value(&f, "haproxy_backend_up", &[("proxy", "app")]),
            Some(1.0)
        );
        let status = |state| {
            value(
                &f,
                "haproxy_server_status",
                &[("proxy", "app"), ("server", "s3"), ("state", state)],
            )
        };
        assert_eq!((status("DOWN"), status("UP")), (Some(1.0), Some(0.0)));
    }

    #[test]
    fn aggregates_count_servers_per_state_and_check() {
        let f = captured();
        let agg = |name, state| value(&f, name, &[("proxy", "app"), ("state", state)]);
        assert_eq!(agg("haproxy_backend_agg_server_status", "UP"), Some(2.0));
        assert_eq!(agg("haproxy_backend_agg_server_status", "DOWN"), Some(1.0));
        assert_eq!(agg("haproxy_backend_agg_check_status", "L7OK"), Some(2.0));
        assert_eq!(agg("haproxy_backend_agg_check_status", "L4CON"), Some(1.0));
    }

    #[test]
    fn frontend_open_is_up_and_codes_are_labelled() {
        let f = captured();
        let up = value(
            &f,
            "haproxy_frontend_status",
            &[("proxy", "web"), ("state", "UP")],
        );
        assert_eq!(up, Some(1.0));
        let ok = value(
            &f,
            "haproxy_frontend_http_responses_total",
            &[("proxy", "web"), ("code", "2xx")],
        );
        assert_eq!(ok, Some(5.0));
    }

    #[test]
    fn milliseconds_become_seconds_and_empty_limits_nan() {
        let text = "# pxname,svname,type,status,rtime,slim,check_code\napp,s1,2,UP,250,,\n";
        let f = families(&stats::parse(text).unwrap());
        let ids = [("proxy", "app"), ("server", "s1")];
        assert_eq!(
            value(&f, "haproxy_server_response_time_average_seconds", &ids),
            Some(0.25)
        );
        assert!(
            value(&f, "haproxy_server_limit_sessions", &ids)
                .unwrap()
                .is_nan()
        );
        assert_eq!(value(&f, "haproxy_server_check_code", &ids), Some(0.0));
    }

    #[test]
    fn states_from_status_text() {
        assert_eq!(state("UP 1/3"), "UP");
        assert_eq!(state("DOWN 1/2"), "DOWN");
        assert_eq!(state("MAINT (via app/s1)"), "MAINT");
        assert_eq!(state("no check"), "UP");
        assert_eq!(state("OPEN"), "UP");
        assert_eq!(state("FULL"), "UP");
        assert_eq!(state("STOP"), "DOWN");
        assert_eq!(check_state("* L7OK"), Some("L7OK"));
        assert_eq!(check_state("INI"), None);
    }

    #[test]
    fn families_follow_the_builtin_object_scopes() {
        let f = captured();
        let has = |n: &str| f.iter().any(|f| f.name == n);
        assert!(has("haproxy_frontend_request_errors_total"));
        assert!(!has("haproxy_server_request_errors_total"));
        assert!(has("haproxy_server_check_failures_total"));
        assert!(!has("haproxy_backend_check_failures_total"));
    }

    proptest::proptest! {
        /// Whatever rows a stats reply holds, turning them into families
        /// never panics.
        #[test]
        fn arbitrary_rows_never_panic(
            rows in proptest::collection::vec(
                ("[a-z]{1,3}", "(FRONTEND|BACKEND|[a-z]{1,3})", 0u8..4, "(UP|DOWN 1/2|MAINT|no check|OPEN|FULL|x)", "(\\* )?(L7OK|L4CON|INI|)", 0u32..5),
                0..20,
            )
        ) {
            let mut text = String::from("# pxname,svname,type,status,check_status,scur,rtime,check_code,hrsp_2xx\n");
            for (px, sv, ty, status, check, n) in rows {
                text.push_str(&format!("{px},{sv},{ty},{status},{check},{n},{n},,{n}\n"));
            }
            let rows = stats::parse(&text).unwrap();
            let _ = families(&rows);
        }
    }
}
