//! Names and listings of the log's files: segments `wal/00000042` and
//! checkpoints `wal/checkpoint.00000041/`, as Prometheus names them.

use std::io;
use std::path::{Path, PathBuf};

/// A segment's path: its index in eight decimal digits.
pub fn segment_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// A checkpoint folder covering segments up to `index`.
pub fn checkpoint_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("checkpoint.{index:08}"))
}

/// The segments in `dir`, by index. Other files are ignored.
pub fn segments(dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = name.parse::<u32>()
            && entry.file_type()?.is_file()
        {
            out.push((i, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok(out)
}

/// The newest complete checkpoint in `dir`, if any.
pub fn last_checkpoint(dir: &Path) -> io::Result<Option<(u32, PathBuf)>> {
    Ok(checkpoints(dir)?.pop())
}

/// Every complete checkpoint, oldest first (`.tmp` ones are left out).
pub fn checkpoints(dir: &Path) -> io::Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("checkpoint.")) else {
            continue;
        };
        if let Ok(i) = rest.parse::<u32>()
            && entry.file_type()?.is_dir()
        {
            out.push((i, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(i, _)| *i);
    Ok(out)
}

/// Flushes a directory's entries (a rename or a new file) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Bytes of every file under `dir`.
pub fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_of(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
