//! Opening a data directory at start: every block directory is opened (and
//! checked), sound blocks are returned sorted by time, damaged ones are
//! reported and left on disk for an operator to look at, and temporary
//! directories a crash left behind are removed.

use std::fs;
use std::path::{Path, PathBuf};

use ulid::Ulid;

use super::error::{BlockError, IoContext};
use super::reader::Block;
use super::retention::TMP_FOR_DELETION;
use super::writer::TMP_FOR_CREATION;

/// A block directory that could not be opened.
#[derive(Debug)]
pub struct CorruptBlock {
    pub dir: PathBuf,
    pub error: BlockError,
}

#[derive(Debug, Default)]
pub struct Scan {
    /// Sound blocks, by min time.
    pub blocks: Vec<Block>,
    /// Never deleted automatically.
    pub corrupt: Vec<CorruptBlock>,
    /// Temporary directories that were removed.
    pub removed: Vec<PathBuf>,
}

/// `<ULID>.tmp-for-creation`, `<ULID>.tmp-for-deletion` or the pre-2.21
/// `<ULID>.tmp`, as Prometheus's `isTmpDir` recognises them.
fn is_tmp_block_dir(name: &str) -> bool {
    [TMP_FOR_CREATION, TMP_FOR_DELETION, ".tmp"]
        .iter()
        .any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|u| Ulid::from_string(u).is_ok())
        })
}

/// Scans `data_dir` (which must exist). With `verify_chunks` every chunk
/// of every block is read and checked too, which costs a full read of the
/// data; without it, chunks are checked when queries read them.
pub fn open_dir(data_dir: &Path, verify_chunks: bool) -> Result<Scan, BlockError> {
    let mut scan = Scan::default();
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for e in fs::read_dir(data_dir).at(data_dir)? {
        let e = e.at(data_dir)?;
        if e.file_type().at(&e.path())?.is_dir() {
            entries.push((e.file_name().to_string_lossy().into_owned(), e.path()));
        }
    }
    entries.sort();
    for (name, path) in entries {
        if is_tmp_block_dir(&name) {
            fs::remove_dir_all(&path).at(&path)?;
            scan.removed.push(path);
            continue;
        }
        if Ulid::from_string(&name).is_err() {
            continue; // wal/, snapshots/, anything of vigil's own
        }
        let opened = Block::open(&path).and_then(|b| {
            if verify_chunks {
                b.verify()?;
            }
            Ok(b)
        });
        match opened {
            Ok(b) => scan.blocks.push(b),
            Err(error) => {
                tracing::error!(block = %path.display(), %error, "corrupt block left out");
                scan.corrupt.push(CorruptBlock { dir: path, error });
            }
        }
    }
    scan.blocks
        .sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_sound_blocks_reports_bad_ones_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let (good, _) = super::super::tests::write_sample_block(dir.path());
        let (bad, _) = super::super::tests::write_sample_block(dir.path());
        let (bad_chunk, _) = super::super::tests::write_sample_block(dir.path());
        fs::remove_file(bad.join("meta.json")).unwrap();
        let seg = bad_chunk.join("chunks/000001");
        let mut b = fs::read(&seg).unwrap();
        b[100] ^= 4;
        fs::write(&seg, b).unwrap();
        let leftover = dir
            .path()
            .join(format!("{}{TMP_FOR_CREATION}", Ulid::new()));
        fs::create_dir_all(leftover.join("chunks")).unwrap();
        let deleting = dir
            .path()
            .join(format!("{}{TMP_FOR_DELETION}", Ulid::new()));
        fs::create_dir(&deleting).unwrap();
        fs::create_dir(dir.path().join("wal")).unwrap();

        let scan = open_dir(dir.path(), false).unwrap();
        assert_eq!(
            scan.blocks.len(),
            2,
            "the chunk damage is found only when read"
        );
        assert_eq!(scan.corrupt.len(), 1);
        assert_eq!(scan.corrupt[0].dir, bad);
        assert!(bad.exists(), "corrupt blocks are never deleted");
        assert_eq!(scan.removed.len(), 2);
        assert!(!leftover.exists() && !deleting.exists());
        assert!(dir.path().join("wal").exists());

        let scan = open_dir(dir.path(), true).unwrap();
        assert_eq!(scan.blocks.len(), 1);
        assert_eq!(scan.blocks[0].dir(), good);
        assert_eq!(scan.corrupt.len(), 2);
    }

    /// A writer killed at any step (between any two files) leaves only a
    /// temporary directory, which the next scan removes; blocks already in
    /// place are untouched.
    #[test]
    fn interrupted_writes_leave_no_half_block() {
        let dir = tempfile::tempdir().unwrap();
        let (done, series) = super::super::tests::write_sample_block(dir.path());
        // Killed before and after adding series: the process dies, Drop never runs.
        let w = super::super::BlockWriter::create(dir.path(), 0, 10_000_000).unwrap();
        std::mem::forget(w);
        let mut w = super::super::BlockWriter::create(dir.path(), 0, 10_000_000).unwrap();
        w.add_series(&series[0].0, &series[0].1).unwrap();
        std::mem::forget(w);
        // Killed after each file of the commit, before the rename.
        let files = ["chunks", "index", "tombstones", "meta.json"];
        for n in 0..=files.len() {
            let tmp = dir
                .path()
                .join(format!("{}{TMP_FOR_CREATION}", Ulid::new()));
            fs::create_dir(&tmp).unwrap();
            for f in &files[..n] {
                let from = done.join(f);
                if from.is_dir() {
                    fs::create_dir(tmp.join(f)).unwrap();
                    for e in fs::read_dir(&from).unwrap() {
                        let e = e.unwrap();
                        fs::copy(e.path(), tmp.join(f).join(e.file_name())).unwrap();
                    }
                } else {
                    fs::copy(&from, tmp.join(f)).unwrap();
                }
            }
        }
        let scan = open_dir(dir.path(), true).unwrap();
        assert_eq!(scan.blocks.len(), 1);
        assert_eq!(scan.blocks[0].dir(), done);
        assert!(scan.corrupt.is_empty());
        assert_eq!(scan.removed.len(), 2 + files.len() + 1);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
