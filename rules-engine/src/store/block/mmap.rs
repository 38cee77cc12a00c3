//! Read-only memory maps of block files, so reading a block costs page
//! cache, not heap: memory grows with what queries touch, not with the
//! amount of history kept.

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

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
}
