//! One scrape's families, merged by name, with each target's labels kept
//! once rather than copied into every sample.
//!
//! A full stack gives a few thousand samples. Copying the target's labels
//! into each of them (two strings per label, and a grown label list) and
//! freeing it all again was a tenth of the exporter's CPU per scrape
//! (`perf` during `scripts/bench/exporter`), on the one runtime thread,
//! between the last answer and the first byte sent. So a merged family
//! keeps runs of samples with the index of the target they came from, and
//! the encoder writes the target's labels after each sample's own
//! (`encode::write_gathered`). [`Gathered::into_families`] gives the same
//! families with the labels copied in, for callers that inspect samples.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use crate::metrics::{Family, Label, MetricType, Name};

/// A scrape's families in order of first appearance, with target labels by
/// reference.
#[derive(Default)]
pub struct Gathered {
    /// Each collected target's labels, once.
    pub(crate) targets: Vec<Vec<Label>>,
    pub(crate) families: Vec<Merged>,
    index: HashMap<Name, usize, RandomState>,
}

/// One family and which target each run of its samples came from.
pub(crate) struct Merged {
    pub family: Family,
    /// `(first sample, target)` pairs, by first sample: samples from that
    /// index to the next run's get `targets[target]`'s labels (none for
    /// `None`), except a label the sample already has.
    pub runs: Vec<(usize, Option<usize>)>,
}

impl Gathered {
    /// Room for `families` families without growing.
    pub fn with_capacity(families: usize) -> Gathered {
        Gathered {
            targets: Vec::new(),
            families: Vec::with_capacity(families),
            index: HashMap::with_capacity_and_hasher(families, RandomState::default()),
        }
    }

    /// Registers a target's labels for [`add`](Self::add); its index.
    pub fn target(&mut self, labels: &[Label]) -> usize {
        self.targets.push(labels.to_vec());
        self.targets.len() - 1
    }

    /// Merges `family` into the family of the same name, its samples
    /// labelled with `target`'s labels (none for `None`). A second type
    /// under the same name is dropped (the first target's help and type
    /// win; an untyped first family takes any samples).
    pub fn add(&mut self, family: Family, target: Option<usize>) {
        match self.index.get(&family.name) {
            Some(&i) => {
                let existing = &mut self.families[i];
                if existing.family.kind == family.kind
                    || existing.family.kind == MetricType::Untyped
                {
                    let start = existing.family.samples.len();
                    existing.family.samples.extend(family.samples);
                    existing.mark(start, target);
                } else {
                    tracing::debug!(family = %family.name, "dropping samples of a second type");
                }
            }
            None => {
                self.index.insert(family.name.clone(), self.families.len());
                let mut merged = Merged {
                    family,
                    runs: Vec::new(),
                };
                merged.mark(0, target);
                self.families.push(merged);
            }
        }
    }

    /// A family without target labels (self-metrics), not merged.
    pub fn push(&mut self, family: Family) {
        self.families.push(Merged {
            family,
            runs: Vec::new(),
        });
    }

    /// The families with every sample's target labels copied in.
    pub fn into_families(self) -> Vec<Family> {
        let targets = self.targets;
        self.families
            .into_iter()
            .map(|merged| {
                let mut family = merged.family;
                let extras = target_labels(&merged.runs, &targets);
                for (sample, extra) in family.samples.iter_mut().zip(extras) {
                    for (name, value) in extra {
                        if !sample.labels.iter().any(|(n, _)| n == name) {
                            sample.labels.push((name.clone(), value.clone()));
                        }
                    }
                }
                family
            })
            .collect()
    }
}

impl Merged {
    /// Samples from `start` on come from `target`.
    fn mark(&mut self, start: usize, target: Option<usize>) {
        match self.runs.last() {
            Some(&(_, t)) if t == target => {}
            _ => self.runs.push((start, target)),
        }
    }
}

/// The target labels of each sample of a merged family in turn (`runs`,
/// see [`Merged`]), walking the runs once; endless, so it zips with the
/// samples.
pub(crate) fn target_labels<'a>(
    runs: &'a [(usize, Option<usize>)],
    targets: &'a [Vec<Label>],
) -> impl Iterator<Item = &'a [Label]> + 'a {
    let mut run = 0;
    let mut extra: &[Label] = &[];
    (0..).map(move |i| {
        while run < runs.len() && runs[run].0 <= i {
            extra = runs[run]
                .1
                .and_then(|t| targets.get(t))
                .map_or(&[], Vec::as_slice);
            run += 1;
        }
        extra
    })
}
