//! Read-only memory maps of block files, so reading a block costs page
//! cache, not heap: memory grows with what queries touch, not with the
//! amount of history kept.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::{Mmap, UncheckedAdvice};

use super::error::{BlockError, IoContext};

/// A mapped file with its path, for error messages.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    map: Option<Mmap>,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<Self, BlockError> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        let map = if len == 0 {
            None
        } else {
            // SAFETY: block files are immutable once their directory is
            // renamed into place; nothing in vigil writes to a mapped file.
            // A file truncated underneath us by another process would fault,
            // as it would for Prometheus, which maps the same files.
            Some(unsafe { Mmap::map(&file) }.at(path)?)
        };
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the file.
    pub fn size(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Unmaps the pages read so far from this process (`MADV_DONTNEED`);
    /// they stay in the kernel's page cache, and the next read maps them
    /// again from there. Without this, every page a check or query ever
    /// touched would count in vigil's resident memory for as long as the
    /// block is open, so memory would grow with retention, the more so
    /// the more history queries read. Failure only costs memory, so it
    /// is ignored.
    pub fn release(&self) {
        if let Some(map) = &self.map {
            // SAFETY: the mapping is read-only and shared, of a file that
            // never changes while open (see `open`): dropping its pages
            // loses nothing, a later read faults the same bytes back in.
            // References into the map stay valid across the call.
            let _ = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) };
        }
    }
}
