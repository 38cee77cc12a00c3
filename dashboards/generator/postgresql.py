"""PostgreSQL: which server is primary, whether the standby keeps up (also
against the RPO), whether WAL reaches the archive, and whether the primary
has room (connections, cache, locks, disk)."""

from grafana import (UP_DOWN, Layout, bargauge, dashboard, gauge, query_variable,
                     row, stat, steps, table, target, timeline, timeseries)

PG = 'job=~"$job",instance=~"$instance",server=~"$server"'
# The exporter's target label for PostgreSQL is `server` (as postgres_exporter).
BY = "job, instance, server"

ROLE_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "primary", "color": "green", "index": 0},
    "1": {"text": "replica", "color": "blue", "index": 1}}}]


def role(lay):
    lay.add(row("Role and replication"))
    lay.add(
        stat("Up", "Whether the exporter could query each server (pg_up).",
             "none", [target(f"pg_up{{{PG}}}", "{{server}}")], w=4,
             thresholds=steps((1, "green"), base="red"), mappings=UP_DOWN),
        stat("Role", "Primary or streaming replica (pg_replication_is_replica: "
             "pg_is_in_recovery()).",
             "none", [target(f"pg_replication_is_replica{{{PG}}}", "{{server}}")], w=5,
             mappings=ROLE_MAPPINGS),
        stat("Primaries", "Servers not in recovery. One is right; none means no "
             "writes, two means a split brain after a failover.",
             "short", [target(f"count(pg_replication_is_replica{{{PG}}} == 0) or vector(0)",
                              "primaries")],
             w=3, thresholds=steps((1, "green"), (2, "red"), base="red")),
        stat("Role changes (failovers)", "Times each server's role changed during the "
             "time range: a promotion or a demotion.",
             "short", [target(f"sum by (server) (changes(pg_replication_is_replica{{{PG}}}"
                              "[$__range]))", "{{server}}")],
             w=4, thresholds=steps((1, "orange"))),
        stat("Restarts", "Times each server's postmaster start time changed during the "
             "time range.",
             "short", [target(f"sum by (server) (changes(pg_postmaster_start_time_seconds"
                              f"{{{PG}}}[$__range]))", "{{server}}")],
             w=4, thresholds=steps((1, "orange"))),
        stat("Replicas attached", "Standbys streaming from each primary "
             "(rows of pg_stat_replication); 0, not nothing, on a primary without one.",
             "short",
             [target(f"count by ({BY}) (pg_stat_replication_pg_wal_lsn_diff{{{PG}}}) or "
                     f"sum by ({BY}) (0 * (pg_replication_is_replica{{{PG}}} == 0))",
                     "{{server}}")],
             w=4, thresholds=steps((1, "green"), base="red")),
    )
    lay.add(
        timeseries("Replication lag (time)",
                   "Seconds since the standby replayed the last transaction it received, "
                   "on standbys only; 0 when it is caught up. "
                   "PostgresReplicationLagHigh fires above 30 s.",
                   "s",
                   [target(f"pg_replication_lag_seconds{{{PG}}} and on ({BY}) "
                           f"(pg_replication_is_replica{{{PG}}} == 1)", "{{server}}")],
                   w=8, thresholds=steps((30, "red")), threshold_lines=True, minimum=0),
        timeseries("Replication lag (bytes)",
                   "WAL each standby has still to replay, as the primary sees it "
                   "(pg_stat_replication_pg_wal_lsn_diff).",
                   "bytes",
                   [target(f"pg_stat_replication_pg_wal_lsn_diff{{{PG}}}",
                           "{{server}} → {{application_name}}")], w=8, minimum=0),
        timeline("Role over time", "Primary or replica at each moment: a failover shows "
                 "as a change of colour.",
                 [target(f"pg_replication_is_replica{{{PG}}}", "{{server}}")],
                 w=8, h=8, mappings=ROLE_MAPPINGS),
    )


# The failover alerts of rules/failover.rules.yml about PostgreSQL.
PG_FAILOVER_ALERTS = ("PostgreSQL(Failover|SplitBrain|NoPrimary|ReplicaLagAboveRPO|"
                      "ReplicationSlotInactive|WALArchivingFailing|WALArchiveStale)")


def failover(lay):
    lay.add(row("Failover and backups"))
    rpo = target("failover:postgresql_rpo_seconds", "RPO")
    lay.add(
        timeseries("Standby lag against the RPO",
                   "Replay lag of each standby, what a failover to it now would lose, "
                   "against the recovery point objective of rules/failover.rules.yml "
                   "(failover:postgresql_rpo_seconds, 15 min); "
                   "PostgreSQLReplicaLagAboveRPO fires above it.",
                   "s",
                   [target(f"pg_replication_lag_seconds{{{PG}}} and on ({BY}) "
                           f"(pg_replication_is_replica{{{PG}}} == 1)", "{{server}}"), rpo],
                   w=8, minimum=0),
        timeseries("WAL archive age",
                   "Seconds since each server last archived a WAL segment "
                   "(pg_stat_archiver_last_archive_age). With continuous archiving it "
                   "stays under the RPO while the primary writes; "
                   "PostgreSQLWALArchiveStale fires when it does not.",
                   "s", [target(f"pg_stat_archiver_last_archive_age{{{PG}}}", "{{server}}"),
                         rpo], w=8, minimum=0),
        timeseries("WAL archiving",
                   "WAL segments archived and archive_command failures per second "
                   "(pg_stat_archiver); failures without archives is "
                   "PostgreSQLWALArchivingFailing.",
                   "ops",
                   [target(f"rate(pg_stat_archiver_archived_count{{{PG}}}[$__rate_interval])",
                           "{{server}} archived"),
                    target(f"rate(pg_stat_archiver_failed_count{{{PG}}}[$__rate_interval])",
                           "{{server}} failed")],
                   w=8, minimum=0),
    )
    lay.add(
        table("Failover alerts", "The failover and backup alerts of "
              "rules/failover.rules.yml that are pending or firing now.",
              "none", [target(f'ALERTS{{alertname=~"{PG_FAILOVER_ALERTS}"}}', table=True)],
              w=24, h=5, hide=("Value",)),
    )


def connections(lay):
    lay.add(row("Connections"))
    ratio = (f"sum by ({BY}) (pg_stat_database_numbackends{{{PG}}}) / on ({BY}) "
             f"max by ({BY}) (pg_settings_max_connections{{{PG}}})")
    lay.add(
        gauge("Connections against max",
              "Backends of all databases summed per server, then divided by its "
              "max_connections (the per-database series have no match on the right "
              "otherwise). DatabaseConnectionsHigh fires above 80 %.",
              "percentunit", [target(ratio, "{{server}}")], w=6, h=8,
              thresholds=steps((0.7, "orange"), (0.8, "red"))),
        timeseries("Connections by state", "Client backends per state "
                   "(pg_stat_activity_count).",
                   "short", [target(f"sum by (server, state) (pg_stat_activity_count{{{PG}}})",
                                    "{{server}} {{state}}")], w=9, minimum=0),
        timeseries("Connections and limit", "Backends per server with its max_connections.",
                   "short",
                   [target(f"sum by (server) (pg_stat_database_numbackends{{{PG}}})",
                           "{{server}} backends"),
                    target(f"max by (server) (pg_settings_max_connections{{{PG}}})",
                           "{{server}} max_connections")], w=9, minimum=0),
    )


def throughput(lay):
    lay.add(row("Throughput"))
    rate = "[$__rate_interval]"
    lay.add(
        timeseries("Transactions per second",
                   "Commits and rollbacks per second, all databases of each server.",
                   "ops",
                   [target(f"sum by (server) (rate(pg_stat_database_xact_commit{{{PG}}}{rate}))",
                           "{{server}} commit"),
                    target(f"sum by (server) (rate(pg_stat_database_xact_rollback{{{PG}}}{rate}))",
                           "{{server}} rollback")], w=8, minimum=0),
        timeseries("Cache hit ratio",
                   "Share of block reads served from shared buffers; below 99 % the "
                   "working set no longer fits.",
                   "percentunit",
                   [target(f"sum by (server) (rate(pg_stat_database_blks_hit{{{PG}}}{rate})) / "
                           f"((sum by (server) (rate(pg_stat_database_blks_hit{{{PG}}}{rate})) + "
                           f"sum by (server) (rate(pg_stat_database_blks_read{{{PG}}}{rate}))) > 0)",
                           "{{server}}")],
                   w=8, thresholds=steps((0.99, "green"), base="orange"),
                   threshold_lines=True, maximum=1),
        timeseries("Rows per second", "Rows fetched, inserted, updated and deleted.",
                   "ops",
                   [target(f"sum by (server) (rate(pg_stat_database_tup_{op}{{{PG}}}{rate}))",
                           f"{{{{server}}}} {op}")
                    for op in ("fetched", "inserted", "updated", "deleted")], w=8, minimum=0),
    )


def locks_sizes(lay):
    lay.add(row("Locks, deadlocks and sizes"))
    lay.add(
        stat("Deadlocks in range", "Deadlocks detected during the time range, all "
             "databases.",
             "short", [target(f"sum(increase(pg_stat_database_deadlocks{{{PG}}}[$__range]))",
                              "deadlocks")], w=4, h=8, thresholds=steps((1, "red"))),
        timeseries("Deadlocks and conflicts", "Deadlocks and recovery conflicts per "
                   "second.",
                   "ops",
                   [target(f"sum by (server) (rate(pg_stat_database_deadlocks{{{PG}}}"
                           "[$__rate_interval]))", "{{server}} deadlocks"),
                    target(f"sum by (server) (rate(pg_stat_database_conflicts{{{PG}}}"
                           "[$__rate_interval]))", "{{server}} conflicts")], w=6, minimum=0),
        timeseries("Locks by mode", "Locks held or awaited, per lock mode (pg_locks_count).",
                   "short", [target(f"sum by (server, mode) (pg_locks_count{{{PG}}})",
                                    "{{server}} {{mode}}")], w=7, minimum=0),
        timeseries("Longest transaction", "Age of the oldest open transaction per server.",
                   "s", [target(f"max by (server) (pg_stat_activity_max_tx_duration{{{PG}}})",
                                "{{server}}")], w=7, minimum=0),
        bargauge("Database sizes", "On-disk size of each database (pg_database_size_bytes).",
                 "bytes", [target(f"max by (server, datname) (pg_database_size_bytes{{{PG}}})",
                                  "{{server}} {{datname}}", instant=True)], w=24, h=7),
    )


def build():
    lay = Layout()
    role(lay)
    failover(lay)
    connections(lay)
    throughput(lay)
    locks_sizes(lay)
    variables = [
        query_variable("job", "Job", "label_values(pg_up, job)"),
        query_variable("instance", "Instance", 'label_values(pg_up{job=~"$job"}, instance)'),
        query_variable("server", "Server",
                       'label_values(pg_up{job=~"$job",instance=~"$instance"}, server)'),
    ]
    return dashboard("vigil-postgresql", "Vigil / PostgreSQL",
                     "Role and failovers, replication, lag against the RPO, WAL archiving, "
                     "connections, throughput, cache, "
                     "locks and sizes of the PostgreSQL primary and its standby.",
                     ["postgresql"], variables, lay)
