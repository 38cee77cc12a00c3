//! A minimal in-memory store for the conformance runner: series keyed by
//! labels, samples kept sorted by time (a later load at the same timestamp
//! replaces the value, as the reference test storage does).

use std::collections::BTreeMap;

use vigil::model::{Labels, Matcher, Sample};
use vigil::store::{Querier, SeriesSamples};

#[derive(Default)]
pub struct MemStore {
    /// When set (VIGIL_PROMQL_STORE=head), samples also go to the real head
    /// and queries read from it.
    head: Option<vigil::store::Head>,
    series: BTreeMap<Labels, Vec<Sample>>,
    /// Label sets of native-histogram series (not stored: out of scope),
    /// so evals that select them can be skipped.
    native: Vec<Labels>,
}

impl MemStore {
    pub fn new() -> Self {
        let use_head = std::env::var("VIGIL_PROMQL_STORE").is_ok_and(|v| v == "head");
        MemStore {
            head: use_head.then(|| vigil::store::Head::new(vigil::store::HeadOptions::unlimited())),
            ..MemStore::default()
        }
    }

    pub fn clear(&mut self) {
        *self = MemStore::new();
        self.native.clear();
    }

    pub fn add_native(&mut self, labels: &Labels) {
        self.native.push(labels.clone());
    }

    pub fn native_names(&self) -> Vec<String> {
        self.native
            .iter()
            .filter_map(|l| l.metric_name().map(str::to_string))
            .collect()
    }

    /// Whether any native-histogram series satisfies all `matchers`.
    pub fn selects_native(&self, matchers: &[Matcher]) -> bool {
        self.native.iter().any(|l| {
            matchers
                .iter()
                .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
        })
    }

    pub fn add(&mut self, labels: &Labels, t: i64, v: f64) {
        if let Some(h) = &self.head {
            use vigil::store::Appender;
            if let Err(e) = h.append(labels, t, v) {
                eprintln!("head rejected {labels} @{t}: {e}");
            }
        }
        let samples = self.series.entry(labels.clone()).or_default();
        match samples.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => samples[i].v = v,
            Err(i) => samples.insert(i, Sample { t, v }),
        }
    }

    fn matching<'a>(
        &'a self,
        matchers: &'a [Matcher],
    ) -> impl Iterator<Item = (&'a Labels, &'a Vec<Sample>)> {
        self.series.iter().filter(move |(l, _)| {
            matchers
                .iter()
                .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
        })
    }
}

fn window(samples: &[Sample], mint: i64, maxt: i64) -> &[Sample] {
    let lo = samples.partition_point(|s| s.t < mint);
    let hi = samples.partition_point(|s| s.t <= maxt);
    &samples[lo..hi.max(lo)]
}

impl Querier for MemStore {
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        if let Some(h) = &self.head {
            return h.select(matchers, mint, maxt);
        }
        self.matching(matchers)
            .filter_map(|(l, s)| {
                let w = window(s, mint, maxt);
                (!w.is_empty()).then(|| SeriesSamples {
                    labels: l.clone(),
                    samples: w.to_vec(),
                })
            })
            .collect()
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.select(matchers, mint, maxt)
            .into_iter()
            .map(|s| s.labels)
            .collect()
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let mut names: Vec<String> = self
            .series(matchers, mint, maxt)
            .iter()
            .flat_map(|l| l.iter().map(|l| l.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        let mut values: Vec<String> = self
            .series(matchers, mint, maxt)
            .iter()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        values
    }
}
