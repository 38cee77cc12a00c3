//! Reads the log back into the head at start: the newest checkpoint, then
//! every later segment in order. Damage never stops vigil: a torn tail is
//! cut off, a corrupt record ends replay there and what follows is moved
//! aside into `wal/corrupt-<time>/` for inspection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::Scope;
use std::time::Instant;

use super::dir::{last_checkpoint, segments};
use super::fanout::Fanout;
use super::reader::{FrameError, SegmentReader};
use super::record::{self, Record};
use super::stats::WalCounters;
use super::writer::SegmentSpan;
use crate::model::{Label, Labels};
use crate::store::stats::Tally;
use crate::store::{Head, MemSeries};

/// The newest record type Prometheus 2.42 writes (float histograms).
const LAST_KNOWN_TYPE: u8 = 10;

/// What replay read, for the log line and `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct ReplayReport {
    pub segments: u64,
    pub series: u64,
    pub samples: u64,
    /// Samples of a series no record named (its segment was lost).
    pub unknown_refs: u64,
    /// Records of types vigil does not apply.
    pub skipped_records: u64,
    /// Record types newer than this version knows.
    pub newer_types: std::collections::BTreeSet<u8>,
    /// Each problem met, with file and offset.
    pub problems: Vec<String>,
    /// The closed segments with their newest sample time.
    pub spans: Vec<SegmentSpan>,
    /// The segment the writer opens next.
    pub next_segment: u32,
    /// Where damaged data was moved, if anywhere.
    pub moved_aside: Option<PathBuf>,
    pub seconds: f64,
}

/// Applies records to the head, remembering which log reference names
/// which series: series are created here, samples are handed to the
/// appliers of [`Fanout`].
pub struct Replayer<'scope, 'env> {
    head: &'env Head,
    fanout: Fanout<'scope>,
    max_ref: u64,
    pub report: ReplayReport,
}

impl<'scope, 'env> Replayer<'scope, 'env> {
    /// A replayer whose appliers run in `scope`.
    pub fn new(scope: &'scope Scope<'scope, 'env>, head: &'env Head) -> Self {
        Replayer {
            head,
            fanout: Fanout::start(scope, head),
            max_ref: 0,
            report: ReplayReport::default(),
        }
    }

    /// A series the snapshot (or a record) already put in the head.
    pub fn know(&mut self, wal_ref: u64, series: Arc<MemSeries>) {
        self.max_ref = self.max_ref.max(wal_ref);
        self.fanout.series(wal_ref, series);
    }

    /// Applies one decoded record, raising `max_t` to its newest sample.
    pub fn apply(
        &mut self,
        rec: &[u8],
        max_t: &mut Option<i64>,
    ) -> Result<(), record::DecodeError> {
        match record::decode(rec)? {
            Record::Series(entries) => {
                for e in entries {
                    let e = e?;
                    let mut labels: Vec<Label> =
                        e.labels.iter().map(|(n, v)| Label::new(*n, *v)).collect();
                    labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                    let labels = Labels::from_sorted(labels);
                    let (series, _) =
                        self.head
                            .lookup_or_create(labels.fingerprint(), &labels, Some(e.wal_ref));
                    self.know(e.wal_ref, series);
                    self.report.series += 1;
                }
            }
            Record::Samples(entries) => {
                let mut newest = i64::MIN;
                for e in entries {
                    let e = e?;
                    newest = newest.max(e.t);
                    self.report.samples += 1;
                    self.fanout.sample(e);
                }
                if newest != i64::MIN {
                    *max_t = Some(max_t.map_or(newest, |m| m.max(newest)));
                }
            }
            // Tombstones, exemplars, metadata and histograms are not
            // kept by vigil; a type beyond those is from a newer format.
            Record::Other(kind) => {
                self.report.skipped_records += 1;
                if kind > LAST_KNOWN_TYPE && self.report.newer_types.insert(kind) {
                    self.report.problems.push(format!(
                        "record type {kind} is from a newer format; its records are skipped"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Ends replay once every sample is applied: new series get
    /// references beyond every logged one.
    pub fn finish(mut self) -> ReplayReport {
        let applied = self.fanout.finish();
        self.report.unknown_refs = applied.unknown_refs;
        self.head.finish(&Tally {
            max_t: applied.max_t,
            ..Tally::default()
        });
        self.head.reserve_refs_through(self.max_ref);
        self.report
    }
}

/// How reading one file ended.
enum Outcome {
    Clean,
    /// Damage at this offset: everything from it on is bad.
    Damaged(u64, FrameError),
}

/// Replays the records of the file at `path` (mapped, not read) from
/// `offset` on (a record boundary: 0, or where a snapshot left off).
fn replay_file(
    path: &Path,
    offset: u64,
    replayer: &mut Replayer<'_, '_>,
    max_t: &mut Option<i64>,
) -> std::io::Result<Outcome> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(Outcome::Clean);
    }
    // SAFETY: the data directory lock keeps other vigils away, and this
    // process never changes a segment while it is mapped (a damaged one is
    // truncated only after this map is dropped).
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let mut reader = SegmentReader::starting_at(&map, offset);
    let mut last_good = reader.offset();
    while let Some(rec) = reader.next_record() {
        match rec {
            Ok(rec) => {
                if let Err(e) = replayer.apply(rec, max_t) {
                    return Ok(Outcome::Damaged(
                        last_good,
                        FrameError::Corrupt {
                            offset: last_good,
                            reason: e.to_string(),
                        },
                    ));
                }
                last_good = reader.offset();
            }
            Err(e @ FrameError::Unsupported { .. }) => {
                replayer
                    .report
                    .problems
                    .push(format!("{}: {e}; skipped", path.display()));
                last_good = reader.offset();
            }
            Err(e @ (FrameError::Torn { offset } | FrameError::Corrupt { offset, .. })) => {
                return Ok(Outcome::Damaged(offset, e));
            }
        }
    }
    Ok(Outcome::Clean)
}

/// Replays `wal_dir` into the head, from segment `from` on when a
/// snapshot already holds what came before (`None`: from the checkpoint).
pub fn replay(
    wal_dir: &Path,
    replayer: &mut Replayer<'_, '_>,
    from: Option<(u32, u64)>,
    counters: &WalCounters,
) -> std::io::Result<()> {
    let started = Instant::now();
    let checkpoint = last_checkpoint(wal_dir)?;
    let mut first = 0;
    if let Some((n, dir)) = &checkpoint {
        first = n + 1;
        if from.is_none() {
            for (_, seg) in segments(dir)? {
                let mut ignored = None;
                if let Outcome::Damaged(offset, e) = replay_file(&seg, 0, replayer, &mut ignored)? {
                    // A damaged checkpoint loses what it held past the
                    // damage; the segments after it still replay.
                    note_damage(replayer, counters, &seg, &e);
                    move_aside(wal_dir, &seg, offset, &[], replayer)?;
                }
            }
        }
    }
    let segs: Vec<(u32, PathBuf)> = segments(wal_dir)?
        .into_iter()
        .filter(|(i, _)| *i >= first.max(from.map_or(0, |f| f.0)))
        .collect();
    let mut expected = segs.first().map(|(i, _)| *i);
    for (pos, (index, path)) in segs.iter().enumerate() {
        if Some(*index) != expected {
            replayer.report.problems.push(format!(
                "{}: segments {} to {} are missing",
                wal_dir.display(),
                expected.unwrap_or_default(),
                index - 1
            ));
            WalCounters::add(&counters.corruptions, 1);
        }
        expected = Some(index + 1);
        let mut max_t = None;
        let offset = match from {
            Some((seg, offset)) if seg == *index => offset,
            _ => 0,
        };
        let outcome = replay_file(path, offset, replayer, &mut max_t)?;
        replayer.report.segments += 1;
        replayer.report.spans.push(SegmentSpan {
            index: *index,
            max_t,
        });
        if let Outcome::Damaged(offset, e) = outcome {
            let last = pos + 1 == segs.len();
            if last && matches!(e, FrameError::Torn { .. }) {
                // A crash mid-write: cut the partial record off.
                replayer
                    .report
                    .problems
                    .push(format!("{}: {e}; cut off", path.display()));
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)?
                    .set_len(offset)?;
            } else {
                note_damage(replayer, counters, path, &e);
                let later: Vec<PathBuf> = segs[pos + 1..].iter().map(|(_, p)| p.clone()).collect();
                move_aside(wal_dir, path, offset, &later, replayer)?;
                break;
            }
        }
    }
    let last = replayer.report.spans.last().map(|s| s.index);
    replayer.report.next_segment = match (last, &checkpoint) {
        (Some(i), _) => i + 1,
        (None, Some((n, _))) => n + 1,
        (None, None) => 0,
    };
    replayer.report.seconds = started.elapsed().as_secs_f64();
    Ok(())
}

/// Counts and reports damage found in `path`.
fn note_damage(
    replayer: &mut Replayer<'_, '_>,
    counters: &WalCounters,
    path: &Path,
    e: &FrameError,
) {
    WalCounters::add(&counters.corruptions, 1);
    replayer
        .report
        .problems
        .push(format!("{}: {e}; replay stopped there", path.display()));
}

/// Moves the bytes of `damaged` from `offset` on, and every file in
/// `later`, into `wal/corrupt-<unix seconds>/`; cuts `damaged` at
/// `offset`. Nothing is deleted.
fn move_aside(
    wal_dir: &Path,
    damaged: &Path,
    offset: u64,
    later: &[PathBuf],
    replayer: &mut Replayer<'_, '_>,
) -> std::io::Result<()> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = wal_dir.join(format!("corrupt-{secs}"));
    std::fs::create_dir_all(&aside)?;
    let name = |p: &Path| {
        let parent = p
            .parent()
            .and_then(|d| d.file_name())
            .filter(|_| p.parent() != Some(wal_dir));
        let file = p.file_name().unwrap_or_default().to_string_lossy();
        match parent {
            Some(dir) => format!("{}-{file}", dir.to_string_lossy()),
            None => file.into_owned(),
        }
    };
    let bytes = std::fs::read(damaged)?;
    let from = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    std::fs::write(aside.join(name(damaged)), &bytes[from..])?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(damaged)?
        .set_len(offset)?;
    for p in later {
        std::fs::rename(p, aside.join(name(p)))?;
    }
    super::dir::sync_dir(wal_dir)?;
    replayer.report.moved_aside = Some(aside);
    Ok(())
}
