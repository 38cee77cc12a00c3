//! Support for the HA pair trials: one PostgreSQL for the binary (a
//! database per trial), two `vigil run` processes and their metrics, a
//! webhook receiver that can hang its first request, and a scrape target
//! each instance reaches by its own path (so one can be cut off).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use vigil_test_support::Recorder;
use vigil_tests::exporter::samples;
use vigil_tests::postgres::{PgServer, SUPERUSER_PASSWORD};
use vigil_tests::vigil::VigilProcess;

pub struct Env {
    pub pg: PgServer,
    pub rt: tokio::runtime::Runtime,
}

/// One trial's database.
pub struct TrialDb {
    pub name: String,
    pub dsn: String,
}

impl Env {
    pub fn start() -> Env {
        let pg = PgServer::start_primary().expect(
            "PostgreSQL could not start: install Debian's postgresql package (scripts/test does)",
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Env { pg, rt }
    }

    pub fn database(&self, name: &str) -> TrialDb {
        self.pg
            .query(&format!("CREATE DATABASE {name}"))
            .expect("create the trial's database");
        TrialDb {
            name: name.to_string(),
            dsn: self.pg.dsn_with(SUPERUSER_PASSWORD, name),
        }
    }

    /// One value or `a|b` rows, as psql prints them; empty when nothing.
    pub fn query(&self, db: &TrialDb, sql: &str) -> String {
        self.pg.query_db(&db.name, sql).unwrap_or_default()
    }

    /// The ledger rows of `service`: (start ms, end ms, state), by start.
    pub fn ledger(&self, db: &TrialDb, service: &str) -> Vec<(i64, i64, String)> {
        let out = self.query(
            db,
            &format!(
                "SELECT start_ms, end_ms, state FROM sla_ledger WHERE service = '{service}' ORDER BY start_ms"
            ),
        );
        out.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                Some((
                    f.first()?.parse().ok()?,
                    f.get(1)?.parse().ok()?,
                    f.get(2)?.to_string(),
                ))
            })
            .collect()
    }
}

/// Instances `a` and `b`, each in its own folder with its own config.
pub struct Pair {
    procs: Vec<(String, VigilProcess)>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Pair {
    pub fn start(_env: &Env, db: &TrialDb, config: impl Fn(&str) -> String, rules: &str) -> Pair {
        let mut procs = Vec::new();
        let mut dirs = Vec::new();
        for name in ["a", "b"] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("db-url"), format!("{}\n", db.dsn)).unwrap();
            std::fs::write(dir.path().join("rules.yml"), rules).unwrap();
            let cfg: PathBuf = dir.path().join("vigil.yml");
            std::fs::write(&cfg, config(name)).unwrap();
            let log = dir.path().join("vigil.log");
            let p =
                std::panic::catch_unwind(|| VigilProcess::start(&cfg, &log)).unwrap_or_else(|_| {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("vigil {name} did not start:\n{text}")
                });
            procs.push((name.to_string(), p));
            dirs.push(dir);
        }
        Pair { procs, _dirs: dirs }
    }

    fn get(&mut self, name: &str) -> &mut VigilProcess {
        &mut self
            .procs
            .iter_mut()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no instance {name}"))
            .1
    }

    pub fn kill(&mut self, name: &str) {
        self.get(name).kill();
    }

    pub fn terminate(&mut self) {
        for (_, p) in &mut self.procs {
            p.terminate();
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.procs.iter().map(|(_, p)| p.logs()).collect()
    }

    /// The sum of instance `name`'s samples of `metric` on its /metrics.
    pub fn metric(&mut self, name: &str, rt: &tokio::runtime::Runtime, metric: &str) -> f64 {
        let url = self.get(name).url("/metrics");
        let text = rt.block_on(vigil_tests::api::get_text(&url));
        samples(&text, metric).iter().map(|(_, v)| v).sum()
    }

    /// Whether instance `name`'s rules hold `alertname` firing.
    pub fn firing(&mut self, name: &str, rt: &tokio::runtime::Runtime, alertname: &str) -> bool {
        let url = self.get(name).url("/api/v1/alerts");
        let body = rt.block_on(vigil_tests::api::get_json(&url));
        body["data"]["alerts"].as_array().is_some_and(|a| {
            a.iter()
                .any(|a| a["labels"]["alertname"] == alertname && a["state"] == "firing")
        })
    }
}

/// The shared recorder as the pair's webhook receiver; with `hang_first`,
/// its first request is never answered (a send that hangs).
pub struct Hook {
    rec: Recorder,
    hang_first: bool,
}

impl Hook {
    pub fn start(rt: &tokio::runtime::Runtime, hang_first: bool) -> Hook {
        Hook {
            rec: rt.block_on(Recorder::start()),
            hang_first,
        }
    }

    pub fn url(&self) -> String {
        let path = if self.hang_first {
            "/hook/hang-first"
        } else {
            "/hook"
        };
        format!("{}{path}", self.rec.base())
    }

    /// Requests received, answered or not.
    pub fn requests(&self) -> usize {
        self.rec.received().len()
    }

    /// The `status` of each answered notification, in arrival order.
    pub fn statuses(&self) -> Vec<String> {
        let answered = self
            .rec
            .received()
            .into_iter()
            .skip(usize::from(self.hang_first));
        answered
            .map(|r| r.json()["status"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// A scrape target serving the same body on `/{instance}`; a cut path
/// answers 500 (that instance has lost its path to the target).
pub struct Target {
    pub addr: std::net::SocketAddr,
    body: Arc<Mutex<String>>,
    cut: Arc<Mutex<BTreeSet<String>>>,
}

type TargetState = (Arc<Mutex<String>>, Arc<Mutex<BTreeSet<String>>>);

async fn scrape(
    State((body, cut)): State<TargetState>,
    Path(p): Path<String>,
) -> (StatusCode, String) {
    if cut.lock().unwrap().contains(&p) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cut off\n".into());
    }
    (StatusCode::OK, body.lock().unwrap().clone())
}

impl Target {
    pub fn start(rt: &tokio::runtime::Runtime, body: &str) -> Target {
        let body = Arc::new(Mutex::new(body.to_string()));
        let cut: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let app = Router::new()
            .route("/{path}", get(scrape))
            .with_state((body.clone(), cut.clone()));
        let l = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = l.local_addr().unwrap();
        rt.spawn(async move { axum::serve(l, app).await });
        Target { addr, body, cut }
    }

    pub fn set_body(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_string();
    }

    pub fn cut(&self, instance: &str, cut: bool) {
        let mut c = self.cut.lock().unwrap();
        if cut {
            c.insert(instance.to_string());
        } else {
            c.remove(instance);
        }
    }
}
