//! File discovery, classification of evals, per-file counts and the verdict.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use vigil::promql::{Engine, EngineOptions};

use super::blocks::parse_file;
use super::mem_store::MemStore;
use super::native::{record_native, touches_native};
use super::run::run_eval;
use super::script::{Cmd, EvalCmd};

#[derive(Default)]
struct Counts {
    passed: usize,
    failed: usize,
    skipped: usize,
    /// Failures of experimental evals not on the must-pass list.
    tolerated: usize,
    /// Failures that fail the run.
    required: usize,
}

/// Settings the suite's expected values assume (README section 5).
fn engine() -> Engine {
    Engine::new(EngineOptions {
        lookback_delta: Duration::from_secs(300),
        max_samples: 50_000_000,
        timeout: Duration::from_secs(100),
        subquery_step: Duration::from_secs(60),
    })
}

fn test_files() -> Vec<PathBuf> {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/promql-testdata")];
    if let Ok(extra) = std::env::var("VIGIL_PROMQL_TESTDATA") {
        dirs.push(PathBuf::from(extra));
    }
    let only = std::env::var("VIGIL_PROMQL_ONLY").unwrap_or_default();
    let mut files = Vec::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(&d) else {
            eprintln!("cannot read test data folder {}", d.display());
            continue;
        };
        let mut fs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "test"))
            .filter(|p| p.to_string_lossy().contains(&only))
            .collect();
        fs.sort();
        files.extend(fs);
    }
    files
}

fn must_pass_list() -> HashSet<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promql_must_pass.txt");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Whether the expression uses syntax behind a feature flag upstream
/// (README section 6).
fn experimental(expr: &str) -> bool {
    static RES: std::sync::OnceLock<[Regex; 3]> = std::sync::OnceLock::new();
    let [words, offset_expr, bracket_expr] = RES.get_or_init(|| {
        [
            Regex::new(
                r"(?i)\b(anchored|smoothed|info|histogram_quantiles|limitk|limit_ratio|fill|fill_left|fill_right|sort_by_label|sort_by_label_desc|mad_over_time|ts_of_min_over_time|ts_of_max_over_time|ts_of_last_over_time|ts_of_first_over_time|double_exponential_smoothing|start_timestamp|step|range|min_of|max_of)\b",
            )
            .unwrap(),
            Regex::new(r"offset\s*-?\s*\(").unwrap(),
            Regex::new(r"\[[^\]]*[-+*/%^()][^\]]*\]").unwrap(),
        ]
    });
    words.is_match(expr) || offset_expr.is_match(expr) || bracket_expr.is_match(expr)
}

fn run_file(
    engine: &Engine,
    path: &Path,
    must: &HashSet<String>,
    verbose: bool,
) -> Result<Counts, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let cmds = parse_file(&text)?;
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let mut store = MemStore::new();
    let mut start_ts = false;
    let mut c = Counts::default();
    for cmd in cmds {
        match cmd {
            Cmd::Clear => {
                store.clear();
                start_ts = false;
            }
            Cmd::Load {
                interval,
                series,
                nhcb,
                start_ts: s,
            } => {
                start_ts |= s;
                record_native(&mut store, &series, nhcb);
                for line in series {
                    for (i, v) in line.values.iter().enumerate() {
                        if let Some(v) = v {
                            store.add(&line.labels, i as i64 * interval, *v);
                        }
                    }
                }
            }
            Cmd::Eval(e) => {
                let native = e.native || touches_native(&store, &e.expr);
                judge_one(
                    engine, &store, &e, native, start_ts, &name, must, verbose, &mut c,
                )
            }
        }
    }
    Ok(c)
}

#[allow(clippy::too_many_arguments)]
fn judge_one(
    engine: &Engine,
    store: &MemStore,
    e: &EvalCmd,
    native: bool,
    start_ts: bool,
    file: &str,
    must: &HashSet<String>,
    verbose: bool,
    c: &mut Counts,
) {
    // VIGIL_PROMQL_RUN_NATIVE=1 runs them anyway, without the histogram
    // series, as a diagnostic of the float parts (never required).
    let run_native = std::env::var("VIGIL_PROMQL_RUN_NATIVE").is_ok();
    if native && !run_native {
        c.skipped += 1;
        if std::env::var("VIGIL_PROMQL_LIST_SKIPPED").is_ok() {
            println!("  skip {file}:{}: {}", e.line, e.expr);
        }
        return;
    }
    let id = format!("{file}:{}", e.line);
    let exp = experimental(&e.expr) || start_ts || native;
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_eval(engine, store, e)))
        .unwrap_or_else(|_| Err("panicked".into()));
    match res {
        Ok(()) => {
            c.passed += 1;
            if exp && std::env::var("VIGIL_PROMQL_LIST_PASSING").is_ok() && !must.contains(&id) {
                println!("PASSING-EXPERIMENTAL {id}");
            }
        }
        Err(msg) => {
            c.failed += 1;
            let required = !exp || must.contains(&id);
            if required {
                c.required += 1;
            } else {
                c.tolerated += 1;
            }
            if verbose || (required && std::env::var("VIGIL_PROMQL_QUIET").is_err()) {
                let tag = if required {
                    "FAIL"
                } else {
                    "fail (experimental)"
                };
                println!("  {tag} {id}: {}\n      {msg}", e.expr);
            }
        }
    }
}

/// Runs every file; returns the process exit code.
pub fn main() -> i32 {
    let engine = engine();
    let must = must_pass_list();
    let verbose = std::env::var("VIGIL_PROMQL_VERBOSE").is_ok();
    let mut total = Counts::default();
    let mut broken = false;
    for path in test_files() {
        match run_file(&engine, &path, &must, verbose) {
            Ok(c) => {
                println!(
                    "{}: {} passed, {} failed, {} skipped ({} failures are experimental, not required)",
                    path.display(),
                    c.passed,
                    c.failed,
                    c.skipped,
                    c.tolerated
                );
                total.passed += c.passed;
                total.failed += c.failed;
                total.skipped += c.skipped;
                total.tolerated += c.tolerated;
                total.required += c.required;
            }
            Err(e) => {
                println!("{}: cannot run: {e}", path.display());
                broken = true;
            }
        }
    }
    println!(
        "total: {} passed, {} failed, {} skipped ({} required failures, {} experimental failures)",
        total.passed, total.failed, total.skipped, total.required, total.tolerated
    );
    i32::from(broken || total.required > 0)
}
