//! Replication trials: roles, the replay lag on a standby (0 when caught
//! up, the real delay while replay is paused) and per-standby statistics
//! from the primary.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use vigil_tests::postgres::PgServer;

use super::support::{Env, family, psql_f64, value};

pub(crate) fn replica_and_primary_roles(env: &Env) -> Result<(), Failed> {
    let on_primary = env.collect(&env.primary_collector)?;
    assert_eq!(value(&on_primary, "pg_replication_is_replica", &[]), 0.0);
    assert_eq!(value(&on_primary, "pg_replication_lag_seconds", &[]), 0.0);
    assert_eq!(value(&on_primary, "pg_replication_lag", &[]), 0.0);
    // Standby-only families have no sample on a primary; the last replay's
    // age is 0 there, as postgres_exporter 0.20 writes it.
    assert!(
        family(&on_primary, "pg_replication_wal_receiver_streaming")
            .samples
            .is_empty()
    );
    assert_eq!(
        value(&on_primary, "pg_replication_last_replay_seconds", &[]),
        0.0
    );
    let on_replica = env.collect(&env.replica_collector)?;
    assert_eq!(value(&on_replica, "pg_replication_is_replica", &[]), 1.0);
    assert_eq!(
        value(&on_replica, "pg_replication_wal_receiver_streaming", &[]),
        1.0
    );
    assert!(
        family(&on_replica, "pg_stat_replication_pg_wal_lsn_diff")
            .samples
            .is_empty()
    );
    Ok(())
}

/// postgres_exporter 0.11 reports an ever-growing lag here; a caught-up idle
/// standby must stay at 0 over several seconds of scrapes.
pub(crate) fn idle_caught_up_standby_has_zero_lag(env: &Env) -> Result<(), Failed> {
    // A replayed commit gives the standby a last-replay timestamp, which is
    // what 0.11's formula counts from; without one both formulas say 0.
    env.primary()
        .query_db("appdb", "INSERT INTO t VALUES (10)")
        .map_err(|e| e.to_string())?;
    env.replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let until = Instant::now() + Duration::from_secs(3);
    let mut scrapes = 0;
    while Instant::now() < until {
        let fams = env.collect(&env.replica_collector)?;
        let lag = value(&fams, "pg_replication_lag_seconds", &[]);
        let received = psql_f64(
            &env.replica,
            "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())",
        );
        // A WAL record may arrive between the two reads; only a standby that
        // had nothing left to replay must show exactly 0.
        if received == 0.0 {
            assert_eq!(lag, 0.0, "caught-up standby reported lag {lag}");
            assert_eq!(value(&fams, "pg_replication_lag", &[]), 0.0);
        }
        scrapes += 1;
        std::thread::sleep(Duration::from_millis(100)); // scrape interval, not a wait
    }
    assert!(scrapes >= 10, "only {scrapes} scrapes in 3 s");
    let stamp = psql_f64(
        &env.replica,
        "SELECT count(*) FROM (SELECT pg_last_xact_replay_timestamp() AS t) x WHERE t IS NOT NULL",
    );
    assert_eq!(stamp, 1.0, "the standby has replayed a transaction");
    Ok(())
}

/// With replay paused, WAL arrives but is not applied: the lag is the real
/// delay (> 0) on the standby, and the primary sees replay bytes behind.
/// After resuming, both come back to 0.
pub(crate) fn paused_replay_shows_real_lag(env: &Env) -> Result<(), Failed> {
    let replica = &env.replica;
    let app = replica.application_name().unwrap();
    replica
        .query("SELECT pg_wal_replay_pause()")
        .map_err(|e| e.to_string())?;
    struct Resume<'a>(&'a PgServer);
    impl Drop for Resume<'_> {
        fn drop(&mut self) {
            let _ = self.0.query("SELECT pg_wal_replay_resume()");
        }
    }
    let _resume = Resume(replica);
    env.primary()
        .query_db("appdb", "INSERT INTO t VALUES (100)")
        .map_err(|e| e.to_string())?;
    vigil_test_support::wait_until(
        "the standby to receive WAL it does not replay",
        Duration::from_secs(30),
        || {
            replica
                .query("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()")
                .is_ok_and(|t| t == "t")
        },
    );
    let fams = env.collect(&env.replica_collector)?;
    let lag = value(&fams, "pg_replication_lag_seconds", &[]);
    assert!(
        lag > 0.0,
        "paused standby with pending WAL reported lag {lag}"
    );
    let on_primary = env.collect(&env.primary_collector)?;
    let behind = value(
        &on_primary,
        "pg_stat_replication_replay_lag_bytes",
        &[("application_name", &app)],
    );
    assert!(behind > 0.0, "replay_lag_bytes {behind}");
    drop(_resume);
    replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.replica_collector)?;
    assert_eq!(value(&fams, "pg_replication_lag_seconds", &[]), 0.0);
    Ok(())
}

pub(crate) fn per_standby_statistics(env: &Env) -> Result<(), Failed> {
    let replica = &env.replica;
    replica
        .wait_caught_up(&env.primary())
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.primary_collector)?;
    let app = replica.application_name().unwrap();
    let slot = replica.slot_name().unwrap();
    let who = [
        ("application_name", app.as_str()),
        ("client_addr", "127.0.0.1"),
        ("slot_name", slot.as_str()),
        ("state", "streaming"),
    ];
    assert_eq!(
        family(&fams, "pg_stat_replication_pg_wal_lsn_diff")
            .samples
            .len(),
        1
    );
    assert!(value(&fams, "pg_stat_replication_pg_current_wal_lsn_bytes", &who) > 0.0);
    assert!(value(&fams, "pg_stat_replication_reply_time", &who) > 1.7e9);
    for stage in ["sent", "write", "flush", "replay"] {
        let bytes = value(
            &fams,
            &format!("pg_stat_replication_{stage}_lag_bytes"),
            &who,
        );
        assert!(bytes >= 0.0, "{stage}: {bytes}");
    }
    for stage in ["write", "flush", "replay"] {
        let secs = value(
            &fams,
            &format!("pg_stat_replication_{stage}_lag_seconds"),
            &who,
        );
        assert!(secs.is_finite() && secs >= 0.0, "{stage}: {secs}");
    }
    Ok(())
}

/// Slots on the primary: the replica's is active; a slot nobody uses is
/// inactive and its retained WAL grows as the primary writes.
pub(crate) fn replication_slots(env: &Env) -> Result<(), Failed> {
    let slot = env.replica.slot_name().unwrap();
    let primary = env.primary();
    primary
        .query("SELECT pg_create_physical_replication_slot('vigil_idle_slot', true)")
        .map_err(|e| e.to_string())?;
    struct DropSlot<'a>(&'a PgServer);
    impl Drop for DropSlot<'_> {
        fn drop(&mut self) {
            let _ = self
                .0
                .query("SELECT pg_drop_replication_slot('vigil_idle_slot')");
        }
    }
    let _drop_slot = DropSlot(&primary);
    primary
        .query_db(
            "appdb",
            "INSERT INTO t SELECT g FROM generate_series(1000, 1100) g",
        )
        .map_err(|e| e.to_string())?;
    primary
        .query("SELECT pg_switch_wal()")
        .map_err(|e| e.to_string())?;
    let fams = env.collect(&env.primary_collector)?;
    let active = |name: &str| {
        value(
            &fams,
            "pg_replication_slots_slot_is_active",
            &[("slot_name", name), ("slot_type", "physical")],
        )
    };
    assert_eq!(active(&slot), 1.0);
    assert_eq!(active("vigil_idle_slot"), 0.0);
    let retained = value(
        &fams,
        "pg_replication_slots_pg_wal_lsn_diff",
        &[("slot_name", "vigil_idle_slot")],
    );
    assert!(retained > 0.0, "an unused slot holds back WAL: {retained}");
    let status = value(
        &fams,
        "pg_replication_slots_wal_status",
        &[("slot_name", "vigil_idle_slot"), ("wal_status", "reserved")],
    );
    assert_eq!(status, 1.0);
    // As postgres_exporter 0.20: confirmed_flush_lsn only for active slots,
    // 0 for a physical one (it has none).
    let flushed = family(&fams, "pg_replication_slots_slot_confirmed_flush_lsn");
    let flushed: Vec<_> = flushed
        .samples
        .iter()
        .map(|s| (s.labels.clone(), s.value))
        .collect();
    assert_eq!(flushed.len(), 1, "{flushed:?}");
    assert!(
        flushed[0]
            .0
            .contains(&("slot_name".into(), slot.as_str().into()))
    );
    assert_eq!(flushed[0].1, 0.0);
    assert_eq!(
        value(
            &fams,
            "pg_replication_slots_active",
            &[("slot_name", "vigil_idle_slot"), ("database", "")],
        ),
        0.0
    );
    let on_replica = env.collect(&env.replica_collector)?;
    assert!(
        family(&on_replica, "pg_replication_slots_slot_is_active")
            .samples
            .is_empty()
    );
    Ok(())
}
