//! When to write a head snapshot while running.
//!
//! After a crash, start-up loads the newest snapshot and replays only the
//! log written after it, so the log between snapshots bounds the replay.
//! Loading a snapshot costs about a fifth of replaying the log that holds
//! the same samples (its chunks are already encoded), and writing one costs
//! about a third of what writing the same number of bytes of log does (a
//! copy of chunks that are already compressed). Writing one each time the
//! log has grown by the last snapshot's size keeps the snapshots' cost at
//! about a third of the log's own, and the replay after a crash to loading
//! one snapshot plus at most that much log, however long the head's window.

/// The log grows by at least this much between two snapshots, so a
/// small head is not snapshot every minute (its replay is short anyway).
pub const MIN_LOG_BYTES: u64 = 16 << 20;

/// Log growth between snapshots, in bytes per byte of the last snapshot
/// (see the module's doc).
const LOG_PER_SNAPSHOT_BYTE: f64 = 1.0;

/// The log's size at the last snapshot, and that snapshot's size.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotSchedule {
    log_bytes_at_last: u64,
    last_snapshot_bytes: u64,
}

impl SnapshotSchedule {
    /// Whether a snapshot is due with `log_bytes` written so far.
    pub fn due(&self, log_bytes: u64) -> bool {
        let grown = log_bytes.saturating_sub(self.log_bytes_at_last);
        let wanted = (self.last_snapshot_bytes as f64 * LOG_PER_SNAPSHOT_BYTE) as u64;
        grown >= wanted.max(MIN_LOG_BYTES)
    }

    /// A snapshot of `snapshot_bytes` was written when the log held
    /// `log_bytes`.
    pub fn written(&mut self, log_bytes: u64, snapshot_bytes: u64) {
        *self = SnapshotSchedule {
            log_bytes_at_last: log_bytes,
            last_snapshot_bytes: snapshot_bytes,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_once_the_log_grew_by_the_last_snapshot_and_the_floor() {
        let mut s = SnapshotSchedule::default();
        assert!(!s.due(MIN_LOG_BYTES - 1));
        assert!(s.due(MIN_LOG_BYTES));
        let big = 100 * MIN_LOG_BYTES;
        s.written(MIN_LOG_BYTES, big);
        assert!(!s.due(MIN_LOG_BYTES + big - 1));
        assert!(s.due(MIN_LOG_BYTES + big));
        // A small snapshot still waits for the floor.
        s.written(1000, 10);
        assert!(!s.due(1000 + MIN_LOG_BYTES - 1));
        assert!(s.due(1000 + MIN_LOG_BYTES));
    }
}
