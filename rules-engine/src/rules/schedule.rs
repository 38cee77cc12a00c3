//! When a group evaluates. As in Prometheus, each group gets a fixed offset
//! within its interval (from a hash of its file and name), so many groups
//! with the same interval spread out instead of all running at once, and a
//! group's evaluation times stay on the same grid across restarts.

/// The group's offset within its interval, in ms.
pub fn offset(file: &str, group: &str, interval_ms: i64) -> i64 {
    if interval_ms <= 0 {
        return 0;
    }
    // FNV-1a: stable across processes and versions (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in file.bytes().chain([0xff]).chain(group.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % interval_ms as u64) as i64
}

/// The first slot at or after `now`: `offset + k * interval`.
pub fn next_slot(now: i64, interval_ms: i64, offset: i64) -> i64 {
    let k = (now - offset).div_euclid(interval_ms);
    let slot = offset + k * interval_ms;
    if slot < now { slot + interval_ms } else { slot }
}

/// Slots skipped between the previous evaluation at `prev` and the next at
/// `next` (both slots): 0 when the group kept up.
pub fn missed(prev: Option<i64>, next: i64, interval_ms: i64) -> u64 {
    match prev {
        Some(p) if next > p => ((next - p) / interval_ms - 1).max(0) as u64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_on_the_group_grid() {
        let off = offset("r.yml", "g", 60_000);
        assert!((0..60_000).contains(&off));
        assert_eq!(off, offset("r.yml", "g", 60_000), "stable");
        assert_ne!(off, offset("r.yml", "h", 60_000));
        let s = next_slot(1_000_000, 60_000, off);
        assert!((1_000_000..1_060_000).contains(&s));
        assert_eq!((s - off) % 60_000, 0);
        assert_eq!(next_slot(s, 60_000, off), s, "a slot is its own next slot");
    }

    #[test]
    fn missed_iterations() {
        assert_eq!(missed(None, 120_000, 60_000), 0);
        assert_eq!(missed(Some(60_000), 120_000, 60_000), 0);
        assert_eq!(missed(Some(60_000), 300_000, 60_000), 3);
    }
}
