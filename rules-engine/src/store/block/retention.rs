//! Retention: which blocks are past the time or size limit, and deleting a
//! block so that a crash mid-way leaves no half block (Prometheus's
//! `deletableBlocks` and `deleteBlocks`, `tsdb/db.go`).

use std::fs;
use std::path::Path;

use ulid::Ulid;

use super::error::{BlockError, IoContext};
use super::writer::sync_dir;

/// Suffix a block directory takes while it is being deleted.
pub const TMP_FOR_DELETION: &str = ".tmp-for-deletion";

/// The limits; `None` disables one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep blocks whose end is within this many milliseconds of the
    /// newest sample.
    pub max_age_ms: Option<i64>,
    /// Keep the newest blocks whose sizes (plus the head's and the WAL's)
    /// add up to at most this many bytes.
    pub max_bytes: Option<u64>,
}

/// What retention needs to know of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSummary {
    pub ulid: Ulid,
    pub min_time: i64,
    /// Exclusive.
    pub max_time: i64,
    /// Bytes on disk.
    pub size: u64,
}

/// The blocks to delete, oldest first. `newest` is the time of the newest
/// sample kept anywhere (the head's max time, or the newest block's end);
/// `other_bytes` is what the head and WAL take on disk, counted first
/// against `max_bytes` as Prometheus does.
pub fn expired(
    blocks: &[BlockSummary],
    policy: Retention,
    newest: i64,
    other_bytes: u64,
) -> Vec<Ulid> {
    let mut by_age: Vec<&BlockSummary> = blocks.iter().collect();
    // Newest first, so that both limits cut off a tail of old blocks.
    by_age.sort_by(|a, b| {
        b.max_time
            .cmp(&a.max_time)
            .then(b.min_time.cmp(&a.min_time))
    });
    let mut cut = by_age.len();
    if let Some(age) = policy.max_age_ms
        && let Some(i) = by_age
            .iter()
            .position(|b| newest.saturating_sub(b.max_time) > age)
    {
        cut = cut.min(i);
    }
    if let Some(limit) = policy.max_bytes {
        let mut total = other_bytes;
        for (i, b) in by_age.iter().enumerate() {
            total = total.saturating_add(b.size);
            if total > limit {
                cut = cut.min(i);
                break;
            }
        }
    }
    by_age[cut..].iter().rev().map(|b| b.ulid).collect()
}

/// Deletes block `ulid` of `data_dir`: renamed to `<ULID>.tmp-for-deletion`
/// first (a crash after that leaves a directory the next scan removes, not
/// a half block), then removed. A missing block is not an error.
pub fn delete_block(data_dir: &Path, ulid: Ulid) -> Result<(), BlockError> {
    let dir = data_dir.join(ulid.to_string());
    if !dir.exists() {
        return Ok(());
    }
    let tmp = data_dir.join(format!("{ulid}{TMP_FOR_DELETION}"));
    fs::rename(&dir, &tmp).at(&dir)?;
    sync_dir(data_dir)?;
    fs::remove_dir_all(&tmp).at(&tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn blocks() -> Vec<BlockSummary> {
        // Five 2 h blocks, the oldest first, 100 bytes each.
        (0..5)
            .map(|i| BlockSummary {
                ulid: Ulid::from_parts(i as u64, 0),
                min_time: i * 2 * H,
                max_time: (i + 1) * 2 * H,
                size: 100,
            })
            .collect()
    }

    fn ids(v: &[Ulid]) -> Vec<u64> {
        v.iter().map(|u| u.timestamp_ms()).collect()
    }

    #[test]
    fn by_time_removes_blocks_ending_before_the_window() {
        let b = blocks();
        let newest = 10 * H;
        let p = Retention {
            max_age_ms: Some(5 * H),
            max_bytes: None,
        };
        // Blocks ending at 2 h and 4 h are more than 5 h behind 10 h.
        assert_eq!(ids(&expired(&b, p, newest, 0)), [0, 1]);
        assert!(expired(&b, Retention::default(), newest, 0).is_empty());
    }

    #[test]
    fn by_size_removes_the_oldest_first() {
        let b = blocks();
        let p = Retention {
            max_age_ms: None,
            max_bytes: Some(250),
        };
        assert_eq!(ids(&expired(&b, p, 10 * H, 0)), [0, 1, 2]);
        // The head's bytes count first.
        assert_eq!(ids(&expired(&b, p, 10 * H, 60)), [0, 1, 2, 3]);
        let p = Retention {
            max_age_ms: None,
            max_bytes: Some(500),
        };
        assert!(expired(&b, p, 10 * H, 0).is_empty());
    }

    #[test]
    fn delete_goes_through_a_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let u = Ulid::new();
        fs::create_dir_all(dir.path().join(u.to_string()).join("chunks")).unwrap();
        delete_block(dir.path(), u).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        delete_block(dir.path(), u).unwrap();
    }
}
