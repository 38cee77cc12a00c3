//! The head snapshot written at a clean shutdown, so a graceful restart
//! loads chunks instead of replaying the whole log (Prometheus's
//! `memory-snapshot-on-shutdown`, in vigil's own chunk encoding).
//!
//! ```text
//! <storage.path>/vigil-snapshot.<segment:08>.<offset:010>/00000000
//!   framed like a log segment (pages, CRC32C per fragment), records:
//!   201 series:  { wal_ref(8) n(uvarint) {name value}... chunks }...
//!   202 end:     series count(8)          (absent: the snapshot is torn)
//! ```
//!
//! The name says where in the log the snapshot ends: a restart loads it
//! and replays only the log after that point. A snapshot that fails a
//! checksum or lacks its end record is ignored and the log replayed
//! instead. It stays valid until a checkpoint folds its segment away.

use std::path::{Path, PathBuf};

use super::codec::Cursor;
use super::dir::sync_dir;
use super::page::PageFramer;
use super::reader::SegmentReader;
use super::replay::Replayer;
use crate::model::{Label, Labels};
use crate::store::prefetch::prefetch_all;
use crate::store::series::SeriesData;
use crate::store::{Head, MemSeries};

const SERIES: u8 = 201;
const END: u8 = 202;
const PREFIX: &str = "vigil-snapshot.";
/// Records are cut at about this size (any size would do; smaller
/// records keep the write buffer small).
const RECORD_BYTES: usize = 1 << 20;

/// Where a snapshot ends in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub segment: u32,
    pub offset: u64,
}

/// A snapshot written: where it is and its size.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
}

/// Writes the head as a snapshot ending at `pos`; removes older snapshots
/// once it is in place. Every batch logged before `pos` must be in the
/// head (appends stopped, or `pos` read under [`Head::quiesced`]); a batch
/// after it may be too: its samples are repeated at replay, which skips
/// what the series already holds.
pub fn write(data_dir: &Path, head: &Head, pos: LogPosition) -> std::io::Result<Written> {
    let name = format!("{PREFIX}{:08}.{:010}", pos.segment, pos.offset);
    let dest = data_dir.join(&name);
    if let Ok(meta) = std::fs::metadata(dest.join("00000000")) {
        // Nothing was logged since that snapshot: it holds every batch
        // this one would have to.
        return Ok(Written {
            path: dest,
            bytes: meta.len(),
        });
    }
    let tmp = data_dir.join(format!("{name}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(tmp.join("00000000"))?);
    let mut framer = PageFramer::new(usize::MAX / 2);
    let (mut rec, mut framed) = (vec![SERIES], Vec::new());
    let mut count: u64 = 0;
    // The series are collected first so no shard lock is held while the
    // file is written (scrapes creating series would wait on it).
    let all = head.all_series();
    for (i, s) in all.iter().enumerate() {
        // Each series' memory is a miss of its own: ask for the next ones
        // early, the series first, then (once it is near) its labels.
        if let Some(far) = all.get(i + 16) {
            prefetch_all::<MemSeries>(far);
        }
        if let Some(near) = all.get(i + 8) {
            near.labels.prefetch();
        }
        rec.extend_from_slice(&s.wal_ref.to_be_bytes());
        s.labels.put_wal(&mut rec);
        s.data.lock().persist(&mut rec);
        count += 1;
        if rec.len() >= RECORD_BYTES {
            emit(&mut file, &mut framer, &mut rec, &mut framed)?;
            rec.push(SERIES);
        }
    }
    if rec.len() > 1 {
        emit(&mut file, &mut framer, &mut rec, &mut framed)?;
    }
    rec.push(END);
    rec.extend_from_slice(&count.to_be_bytes());
    emit(&mut file, &mut framer, &mut rec, &mut framed)?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let bytes = file.metadata()?.len();
    std::fs::rename(&tmp, &dest)?;
    sync_dir(data_dir)?;
    for (old, at) in list(data_dir) {
        if at != pos {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok(Written { path: dest, bytes })
}

fn emit(
    file: &mut impl std::io::Write,
    framer: &mut PageFramer,
    rec: &mut Vec<u8>,
    framed: &mut Vec<u8>,
) -> std::io::Result<()> {
    framed.clear();
    framer.frame(rec, 0, framed);
    rec.clear();
    file.write_all(framed)
}

/// Complete snapshots in `data_dir`, oldest first. Half-written (`.tmp`)
/// ones are removed.
pub fn list(data_dir: &Path) -> Vec<(PathBuf, LogPosition)> {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if rest.ends_with(".tmp") {
            let _ = std::fs::remove_dir_all(e.path());
            continue;
        }
        if let Some((seg, off)) = rest.split_once('.')
            && let (Ok(segment), Ok(offset)) = (seg.parse(), off.parse())
        {
            out.push((e.path(), LogPosition { segment, offset }));
        }
    }
    out.sort_by_key(|(_, p)| *p);
    out
}

/// Removes snapshots that end in segment `index` or before (a checkpoint
/// folded those segments away, so the log after them is incomplete).
pub fn remove_through(data_dir: &Path, index: u32) {
    for (path, pos) in list(data_dir) {
        if pos.segment <= index {
            let _ = std::fs::remove_dir_all(path);
        }
    }
}

/// Loads the snapshot at `dir` into the head. The whole file is checked
/// first, so a damaged snapshot changes nothing; `Err` says why it was
/// not used. Returns the series loaded and the file's size.
pub fn load(
    dir: &Path,
    replayer: &mut Replayer<'_, '_>,
    head: &Head,
) -> Result<(u64, u64), String> {
    let path = dir.join("00000000");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut reader = SegmentReader::new(&bytes);
    let mut end = None;
    while let Some(rec) = reader.next_record() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        match rec.split_first() {
            Some((&SERIES, _)) => records.push(rec.to_vec()),
            Some((&END, count)) => {
                end = Some(Cursor::new(count).be64().ok_or("bad end record")?);
                break;
            }
            _ => return Err(format!("{}: unknown record", path.display())),
        }
    }
    let count = end.ok_or_else(|| format!("{}: no end record (torn)", path.display()))?;
    let mut loaded = 0;
    for rec in &records {
        let mut c = Cursor::new(&rec[1..]);
        while !c.is_empty() {
            let (wal_ref, labels, data) = read_series(&mut c)
                .ok_or_else(|| format!("{}: malformed series", path.display()))?;
            let series = head.install(wal_ref, &labels, data);
            replayer.know(wal_ref, series);
            loaded += 1;
        }
    }
    if loaded != count {
        return Err(format!(
            "{}: {loaded} series where the end record says {count}",
            path.display()
        ));
    }
    Ok((loaded, bytes.len() as u64))
}

fn read_series(c: &mut Cursor<'_>) -> Option<(u64, Labels, SeriesData)> {
    let wal_ref = c.be64()?;
    let n = usize::try_from(c.uvarint()?).ok()?;
    if n > c.remaining() {
        return None;
    }
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        labels.push(Label::new(c.str()?, c.str()?));
    }
    Some((
        wal_ref,
        Labels::from_sorted(labels),
        SeriesData::restore(c)?,
    ))
}
