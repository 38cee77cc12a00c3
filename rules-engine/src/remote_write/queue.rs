//! The bounded in-memory queue between rule evaluation and one receiver.
//! Pushing never waits: when the queue is full the oldest sample goes (a
//! receiver that is down loses the oldest data first, as Prometheus's
//! shards do once their buffers fill), and the caller counts it.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::model::Labels;

/// `(labels, timestamp ms, value)`.
pub type QueuedSample = (Labels, i64, f64);

pub struct Queue {
    capacity: usize,
    items: Mutex<VecDeque<QueuedSample>>,
    /// Wakes the sender when a push completes a batch.
    pub ready: Notify,
    batch: usize,
}

impl Queue {
    pub fn new(capacity: usize, batch: usize) -> Queue {
        Queue {
            capacity: capacity.max(1),
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            batch: batch.max(1),
        }
    }

    /// Adds a sample; returns how many old samples were dropped for room
    /// and the length after.
    pub fn push(&self, s: QueuedSample) -> (usize, usize) {
        let (dropped, len) = {
            let mut q = self.items.lock();
            let mut dropped = 0;
            while q.len() >= self.capacity {
                q.pop_front();
                dropped += 1;
            }
            q.push_back(s);
            (dropped, q.len())
        };
        if len >= self.batch {
            self.ready.notify_one();
        }
        (dropped, len)
    }

    /// Takes up to one batch, oldest first.
    pub fn take_batch(&self) -> Vec<QueuedSample> {
        let mut q = self.items.lock();
        let n = q.len().min(self.batch);
        q.drain(..n).collect()
    }

    /// Takes everything (a reload hands it to the successor queue).
    pub fn take_all(&self) -> Vec<QueuedSample> {
        self.items.lock().drain(..).collect()
    }

    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a whole batch is waiting.
    pub fn batch_full(&self) -> bool {
        self.len() >= self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: i64) -> QueuedSample {
        (Labels::from_pairs([("__name__", "x")]), t, 1.0)
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let q = Queue::new(3, 2);
        let dropped: usize = (0..5).map(|t| q.push(s(t)).0).sum();
        assert_eq!(dropped, 2);
        let first: Vec<i64> = q.take_batch().iter().map(|x| x.1).collect();
        assert_eq!(first, [2, 3]);
        assert_eq!(q.take_all().len(), 1);
        assert!(q.is_empty());
    }
}
