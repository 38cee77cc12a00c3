"""Redis: who is master (and when that changed), whether the replica
follows, whether snapshots and the AOF are written, and memory against
`maxmemory` without dividing by Redis's default of 0 (no limit)."""

from grafana import (UP_DOWN, Layout, bargauge, dashboard, gauge, query_variable,
                     row, stat, steps, table, target, timeline, timeseries)

R = 'job=~"$job",instance=~"$instance",target=~"$target"'
# Sentinels are Redis targets too (redis_mode="sentinel"); panels about the
# data servers leave them out.
SERVERS = f'{R},redis_mode!="sentinel"'
# The exporter's target label for Redis is `target`.
BY = "job, instance, target"
RATE = "[$__rate_interval]"


def role(lay):
    lay.add(row("Role and replication"))
    lay.add(
        stat("Up", "Whether the exporter could talk to each Redis (redis_up).",
             "none", [target(f"redis_up{{{R}}}", "{{target}}")], w=4, h=5,
             thresholds=steps((1, "green"), base="red"), mappings=UP_DOWN),
        table("Role", "Each server's role (master or slave) and version "
              "(redis_instance_info).",
              "none", [target(f"max by (target, role, redis_version) "
                              f"(redis_instance_info{{{SERVERS}}})", table=True)],
              w=8, h=5, hide=("Value",)),
        stat("Masters", "Servers that say they are master: one is right, two is a "
             "split brain.",
             "short", [target(f'count(redis_instance_info{{{SERVERS},role="master"}}) or vector(0)',
                              "masters")], w=4, h=5,
             thresholds=steps((1, "green"), (2, "red"), base="red")),
        stat("Replicas connected", "Replicas attached to each master "
             "(redis_connected_slaves).",
             "short", [target(f"redis_connected_slaves{{{R}}} and on ({BY}) "
                              f'redis_instance_info{{{R},role="master"}}', "{{target}}")],
             w=4, h=5, thresholds=steps((1, "green"), base="red")),
        stat("Roles seen in range", "Distinct roles each server had during the time "
             "range: 2 means it was promoted or demoted (a failover).",
             "short", [target("count by (target) (count by (target, role) "
                              f"(count_over_time(redis_instance_info{{{SERVERS}}}[$__range])))",
                              "{{target}}")], w=4, h=5,
             thresholds=steps((2, "orange"))),
    )
    lay.add(
        timeline("Master link", "On each replica, whether its link to the master is up "
                 "(redis_master_link_up); RedisReplicationBroken fires at 0.",
                 [target(f"redis_master_link_up{{{R}}}",
                         "{{target}} → {{master_host}}:{{master_port}}")], w=8, h=7),
        timeseries("Replica lag (bytes)",
                   "Replication stream each replica has not acknowledged: the master's "
                   "offset minus the replica's, as the master sees it.",
                   "bytes",
                   [target(f"redis_master_repl_offset{{{R}}} - on ({BY}) group_right () "
                           f"redis_connected_slave_offset_bytes{{{R}}}",
                           "{{target}} → {{slave_ip}}:{{slave_port}}")], w=8, h=7, minimum=0),
        timeseries("Replica lag (seconds)",
                   "Seconds since each replica last acknowledged (master's view), and since "
                   "each replica last heard from its master.",
                   "s",
                   [target(f"redis_connected_slave_lag_seconds{{{R}}}",
                           "ack {{target}} → {{slave_ip}}:{{slave_port}}"),
                    target(f"redis_master_last_io_seconds_ago{{{R}}}",
                           "last io {{target}}")], w=8, h=7, minimum=0),
    )


# The failover alerts of rules/failover.rules.yml about Redis and Sentinel.
REDIS_FAILOVER_ALERTS = ("Redis(Failover|SplitBrain|SentinelQuorumLost|SentinelMasterDown|"
                         "ReplicaLinkDown|SnapshotStale|AOFWriteFailing)")
ROLE_MAPPINGS = [{"type": "value", "options": {
    "1": {"text": "master", "color": "green", "index": 0},
    "0": {"text": "replica", "color": "blue", "index": 1}}}]
SENTINEL_VIEW = [{"type": "value", "options": {
    "0": {"text": "down", "color": "red", "index": 0},
    "1": {"text": "ok", "color": "green", "index": 1}}}]
OK_FAILED = [{"type": "value", "options": {
    "0": {"text": "failed", "color": "red", "index": 0},
    "1": {"text": "ok", "color": "green", "index": 1}}}]


def failover(lay):
    lay.add(row("Failover and persistence"))
    master = f'redis_instance_info{{{SERVERS},role="master"}}'
    replica = f'redis_instance_info{{{R},role="slave"}}'
    lay.add(
        timeline("Role over time", "Master or replica at each moment: a Sentinel "
                 "failover shows as a change of colour (RedisFailover).",
                 [target(f"max by (target) ({master}) or max by (target) (0 * {replica})",
                         "{{target}}")],
                 w=12, h=6, mappings=ROLE_MAPPINGS),
        timeseries("Last snapshot age",
                   "Seconds since each server's last successful RDB save, against "
                   "the hourly schedule of rules/failover.rules.yml "
                   "(failover:redis_snapshot_interval_seconds); RedisSnapshotStale "
                   "fires on masters 15 min past it.",
                   "s", [target(f"time() - redis_rdb_last_save_timestamp_seconds{{{R}}}",
                                "{{target}}"),
                         target("failover:redis_snapshot_interval_seconds", "schedule")],
                   w=8, h=6, minimum=0),
        stat("Last save and AOF write", "Whether the last RDB save "
             "(redis_rdb_last_bgsave_status) and the last append-only-file write "
             "(redis_aof_last_write_status) succeeded; RedisAOFWriteFailing fires on "
             "a failed write.",
             "none", [target(f"redis_rdb_last_bgsave_status{{{R}}}", "{{target}} RDB"),
                      target(f"redis_aof_last_write_status{{{R}}}", "{{target}} AOF")],
             w=4, h=6, thresholds=steps((1, "green"), base="red"), mappings=OK_FAILED),
    )
    lay.add(
        timeline("Sentinel's view of the master",
                 "What each Sentinel thinks of the master it watches "
                 "(redis_sentinel_master_status): ok, or down (subjectively or, "
                 "with the quorum agreeing, objectively: RedisSentinelMasterDown).",
                 [target(f"max by (target, master_name) "
                         f"(redis_sentinel_master_status{{{R}}})",
                         "{{target}} {{master_name}}")],
                 w=8, h=6, mappings=SENTINEL_VIEW),
        timeseries("Sentinel quorum",
                   "Sentinels each Sentinel can reach for the master, itself included "
                   "(redis_sentinel_master_ok_sentinels), against the quorum a "
                   "failover needs (redis_sentinel_master_setting_ckquorum); "
                   "RedisSentinelQuorumLost fires below it.",
                   "short",
                   [target(f"redis_sentinel_master_ok_sentinels{{{R}}}",
                           "{{target}} reachable"),
                    target(f"max by (master_name) "
                           f"(redis_sentinel_master_setting_ckquorum{{{R}}})",
                           "quorum {{master_name}}")],
                   w=8, h=6, minimum=0),
        stat("CKQUORUM and failovers",
             "Whether each Sentinel's SENTINEL CKQUORUM passes (it can authorize a "
             "failover), and how many times the master changed during the time "
             "range as each Sentinel saw it (redis_sentinel_master_changes_total).",
             "short",
             [target(f"redis_sentinel_master_ckquorum_status{{{R}}}",
                     "{{target}} ckquorum"),
              target(f"increase(redis_sentinel_master_changes_total{{{R}}}[$__range])",
                     "{{target}} failovers")],
             w=8, h=6),
    )
    lay.add(
        table("Failover alerts", "The failover, Sentinel and persistence alerts of "
              "rules/failover.rules.yml that are pending or firing now (Sentinel's "
              "quorum and o_down included).",
              "none", [target(f'ALERTS{{alertname=~"{REDIS_FAILOVER_ALERTS}"}}', table=True)],
              w=24, h=5, hide=("Value",)),
    )


def memory(lay):
    lay.add(row("Memory"))
    lay.add(
        gauge("Memory against maxmemory",
              "Used memory over maxmemory, only where a limit is set: Redis's default "
              "maxmemory 0 means no limit, and dividing by it would read +Inf. "
              "RedisMemoryHigh fires above 90 %.",
              "percentunit",
              [target(f"redis_memory_used_bytes{{{R}}} / (redis_config_maxmemory{{{R}}} > 0)",
                      "{{target}}")], w=6, h=8,
              thresholds=steps((0.8, "orange"), (0.9, "red"))),
        timeseries("Memory used and limit", "Used and resident memory, with maxmemory "
                   "where one is set.",
                   "bytes",
                   [target(f"redis_memory_used_bytes{{{R}}}", "{{target}} used"),
                    target(f"redis_memory_used_rss_bytes{{{R}}}", "{{target}} rss"),
                    target(f"redis_config_maxmemory{{{R}}} > 0", "{{target}} maxmemory")],
                   w=10, minimum=0),
        timeseries("Evictions and expirations", "Keys evicted for memory and keys "
                   "expired, per second. Evictions mean maxmemory is reached.",
                   "ops",
                   [target(f"rate(redis_evicted_keys_total{{{R}}}{RATE})", "{{target}} evicted"),
                    target(f"rate(redis_expired_keys_total{{{R}}}{RATE})", "{{target}} expired")],
                   w=8, minimum=0),
    )


def clients(lay):
    lay.add(row("Clients and commands"))
    hits = f"sum by (target) (rate(redis_keyspace_hits_total{{{R}}}{RATE}))"
    misses = f"sum by (target) (rate(redis_keyspace_misses_total{{{R}}}{RATE}))"
    lay.add(
        timeseries("Hit ratio", "Share of key lookups that found the key; no value "
                   "while there are no lookups.",
                   "percentunit", [target(f"{hits} / (({hits} + {misses}) > 0)", "{{target}}")],
                   w=6, minimum=0, maximum=1),
        timeseries("Clients", "Connected and blocked clients.",
                   "short",
                   [target(f"redis_connected_clients{{{R}}}", "{{target}} connected"),
                    target(f"redis_blocked_clients{{{R}}}", "{{target}} blocked")],
                   w=6, minimum=0),
        timeseries("Commands per second", "Commands processed per second.",
                   "ops", [target(f"rate(redis_commands_processed_total{{{R}}}{RATE})",
                                  "{{target}}")], w=6, minimum=0),
        bargauge("Keys per database", "Keys in each logical database.",
                 "short", [target(f"sum by (target, db) (redis_db_keys{{{R}}})",
                                  "{{target}} {{db}}", instant=True)], w=6, h=8),
    )


def build():
    lay = Layout()
    role(lay)
    failover(lay)
    memory(lay)
    clients(lay)
    variables = [
        query_variable("job", "Job", "label_values(redis_up, job)"),
        query_variable("instance", "Instance", 'label_values(redis_up{job=~"$job"}, instance)'),
        query_variable("target", "Redis",
                       'label_values(redis_up{job=~"$job",instance=~"$instance"}, target)'),
    ]
    return dashboard("vigil-redis", "Vigil / Redis",
                     "Role, replication, failover and persistence, memory against "
                     "maxmemory, evictions, hit ratio "
                     "and clients of the Redis master and replica.",
                     ["redis"], variables, lay)
