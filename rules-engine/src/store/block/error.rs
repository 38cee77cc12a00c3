//! The one error type of the block layer: every variant names the file or
//! directory it is about, so a log line or the corrupt-blocks report says
//! where to look.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// The file system refused: missing file, permissions, full disk.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The bytes on disk are not a valid block: bad magic, checksum
    /// mismatch, truncation, references out of range.
    #[error("{}: corrupt at byte {offset}: {what}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    /// `meta.json` is missing fields, not JSON, or of another version.
    #[error("{}: invalid block meta: {what}", path.display())]
    Meta { path: PathBuf, what: String },
    /// The caller handed the writer something a block cannot hold (series
    /// out of order, samples outside the block's range, ...).
    #[error("{}: {what}", path.display())]
    Invalid { path: PathBuf, what: String },
}

impl BlockError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        BlockError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn corrupt(path: &Path, offset: u64, what: impl Into<String>) -> Self {
        BlockError::Corrupt {
            path: path.to_path_buf(),
            offset,
            what: what.into(),
        }
    }

    pub fn invalid(path: &Path, what: impl Into<String>) -> Self {
        BlockError::Invalid {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }

    /// The file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            BlockError::Io { path, .. }
            | BlockError::Corrupt { path, .. }
            | BlockError::Meta { path, .. }
            | BlockError::Invalid { path, .. } => path,
        }
    }
}

/// Adds the path to an I/O result.
pub(crate) trait IoContext<T> {
    fn at(self, path: &Path) -> Result<T, BlockError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, BlockError> {
        self.map_err(|e| BlockError::io(path, e))
    }
}
