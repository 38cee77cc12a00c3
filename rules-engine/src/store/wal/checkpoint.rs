//! Folding old segments into a checkpoint, so the log only covers what
//! the head still holds: `checkpoint.N/` keeps, from the previous
//! checkpoint and segments up to N, the series the head still has and
//! the samples not older than the head's cut; then those segments and
//! the previous checkpoint are deleted (as Prometheus's `Checkpoint`).

use std::path::Path;

use super::dir::{checkpoint_path, checkpoints, segments, sync_dir};
use super::page::{PageFramer, SNAPPY};
use super::reader::{FrameError, SegmentReader};
use super::record::{self, Record, SamplesRecord, put_series, start_series};
use super::stats::WalCounters;
use crate::model::{Label, Labels};
use crate::store::Head;

type RefSet = std::collections::HashSet<u64, foldhash::fast::RandomState>;

/// What a checkpoint kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointStats {
    pub series: u64,
    pub samples: u64,
    pub segments_removed: u64,
}

/// Writes `checkpoint.<through>` from the last checkpoint and segments up
/// to `through`, keeping samples at or after `mint`, then deletes what it
/// replaced.
pub fn create(
    wal_dir: &Path,
    through: u32,
    mint: i64,
    head: &Head,
    counters: &WalCounters,
) -> std::io::Result<CheckpointStats> {
    let mut sources = Vec::new();
    let old = checkpoints(wal_dir)?;
    if let Some((_, dir)) = old.last() {
        sources.extend(segments(dir)?.into_iter().map(|(_, p)| p));
    }
    let folded: Vec<_> = segments(wal_dir)?
        .into_iter()
        .filter(|(i, _)| *i <= through)
        .collect();
    sources.extend(folded.iter().map(|(_, p)| p.clone()));

    let mut out = Out::default();
    let mut alive = RefSet::default();
    for path in &sources {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() == 0 {
            continue;
        }
        // Mapped, not read: a 128 MiB segment costs no heap. SAFETY: the
        // directory lock keeps other processes out, and closed segments
        // are never written again.
        let bytes = unsafe { memmap2::Mmap::map(&file)? };
        let mut reader = SegmentReader::new(&bytes);
        while let Some(rec) = reader.next_record() {
            match rec {
                Ok(rec) => out.keep(rec, mint, head, &mut alive),
                Err(FrameError::Unsupported { .. }) => {}
                Err(e) => {
                    // Replay met this damage too and moved it aside; what
                    // is here is whatever came after.
                    WalCounters::add(&counters.corruptions, 1);
                    tracing::warn!(file = %path.display(), error = %e, "checkpoint: damaged record skipped");
                    break;
                }
            }
        }
    }
    out.flush_samples();

    let final_dir = checkpoint_path(wal_dir, through);
    let tmp = wal_dir.join(format!("checkpoint.{through:08}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let file = std::fs::File::create(tmp.join("00000000"))?;
    std::io::Write::write_all(&mut &file, &out.framed)?;
    file.sync_all()?;
    let _ = std::fs::remove_dir_all(&final_dir);
    std::fs::rename(&tmp, &final_dir)?;
    sync_dir(wal_dir)?;

    for (_, p) in &folded {
        std::fs::remove_file(p)?;
    }
    for (i, dir) in old {
        if i < through {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    WalCounters::add(&counters.checkpoints, 1);
    WalCounters::add(&counters.truncated_segments, folded.len() as u64);
    Ok(CheckpointStats {
        series: out.series,
        samples: out.samples,
        segments_removed: folded.len() as u64,
    })
}

/// The checkpoint being built, framed as a segment.
#[derive(Default)]
struct Out {
    framer: Option<PageFramer>,
    framed: Vec<u8>,
    samples_rec: SamplesRecord,
    series: u64,
    samples: u64,
}

impl Out {
    fn keep(&mut self, rec: &[u8], mint: i64, head: &Head, alive: &mut RefSet) {
        match record::decode(rec) {
            Ok(Record::Series(entries)) => {
                let mut kept = Vec::new();
                for e in entries.map_while(Result::ok) {
                    let mut labels: Vec<Label> =
                        e.labels.iter().map(|(n, v)| Label::new(*n, *v)).collect();
                    labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                    let labels = Labels::from_sorted(labels);
                    // Kept when the head still has a series with these
                    // labels, whatever reference it logged them under.
                    if head.contains(&labels) {
                        if kept.is_empty() {
                            start_series(&mut kept);
                        }
                        put_series(
                            &mut kept,
                            e.wal_ref,
                            e.labels.len(),
                            e.labels.iter().copied(),
                        );
                        alive.insert(e.wal_ref);
                        self.series += 1;
                    }
                }
                if !kept.is_empty() {
                    self.flush_samples();
                    self.write(&kept);
                }
            }
            Ok(Record::Samples(entries)) => {
                for e in entries.map_while(Result::ok) {
                    if e.t >= mint && alive.contains(&e.wal_ref) {
                        self.samples_rec.push(e.wal_ref, e.t, e.v);
                        self.samples += 1;
                    }
                }
                if self.samples_rec.bytes().len() > 1 << 20 {
                    self.flush_samples();
                }
            }
            // Tombstones, exemplars, metadata: vigil applies none of them.
            Ok(Record::Other(_)) | Err(_) => {}
        }
    }

    fn flush_samples(&mut self) {
        if !self.samples_rec.is_empty() {
            let rec = std::mem::take(&mut self.samples_rec);
            self.write(rec.bytes());
        }
    }

    fn write(&mut self, rec: &[u8]) {
        let framer = self
            .framer
            .get_or_insert_with(|| PageFramer::new(usize::MAX / 2));
        let packed = snap::raw::Encoder::new()
            .compress_vec(rec)
            .unwrap_or_default();
        if !packed.is_empty() && packed.len() < rec.len() {
            framer.frame(&packed, SNAPPY, &mut self.framed);
        } else {
            framer.frame(rec, 0, &mut self.framed);
        }
    }
}
