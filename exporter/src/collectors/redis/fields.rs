//! Which `INFO` field becomes which metric: the plain one-field-one-sample
//! mappings, as tables.
//!
//! Names and types are redis_exporter's (see `anchors/contract.tsv`), so its
//! dashboards and alert rules work unchanged. Help texts say what the value
//! is and which INFO field it comes from, because redis_exporter's
//! `<field> metric` texts say neither.

/// A field copied as is, or multiplied by `scale` to reach a base unit.
pub struct Mapped {
    pub field: &'static str,
    pub metric: &'static str,
    pub help: &'static str,
    pub scale: f64,
}

const fn m(field: &'static str, metric: &'static str, help: &'static str) -> Mapped {
    Mapped {
        field,
        metric,
        help,
        scale: 1.0,
    }
}

const fn scaled(
    field: &'static str,
    metric: &'static str,
    help: &'static str,
    scale: f64,
) -> Mapped {
    Mapped {
        field,
        metric,
        help,
        scale,
    }
}

/// Fields whose value is `ok` or an error word: 1 when `ok`, else 0.
#[rustfmt::skip]
pub const STATUS: &[Mapped] = &[
    m("rdb_last_bgsave_status", "redis_rdb_last_bgsave_status", "1 if the last RDB save succeeded (rdb_last_bgsave_status)"),
    m("aof_last_bgrewrite_status", "redis_aof_last_bgrewrite_status", "1 if the last AOF rewrite succeeded (aof_last_bgrewrite_status)"),
    m("aof_last_write_status", "redis_aof_last_write_status", "1 if the last write to the AOF succeeded (aof_last_write_status)"),
];

/// Numeric fields exposed as gauges.
#[rustfmt::skip]
pub const GAUGES: &[Mapped] = &[
    // server
    m("uptime_in_seconds", "redis_uptime_in_seconds", "Seconds since the server started (uptime_in_seconds)"),
    m("process_id", "redis_process_id", "Process id of the server (process_id)"),
    m("io_threads_active", "redis_io_threads_active", "1 if I/O threads are active (io_threads_active)"),
    // clients
    m("connected_clients", "redis_connected_clients", "Client connections, replicas excluded (connected_clients)"),
    m("blocked_clients", "redis_blocked_clients", "Clients waiting in a blocking call (blocked_clients)"),
    m("tracking_clients", "redis_tracking_clients", "Clients being tracked (tracking_clients)"),
    m("clients_in_timeout_table", "redis_clients_in_timeout_table", "Clients in the timeout table (clients_in_timeout_table)"),
    m("cluster_connections", "redis_cluster_connections", "Cluster bus connections (cluster_connections)"),
    m("client_recent_max_input_buffer", "redis_client_recent_max_input_buffer_bytes", "Largest recent client input buffer in bytes (client_recent_max_input_buffer)"),
    m("client_recent_max_output_buffer", "redis_client_recent_max_output_buffer_bytes", "Largest recent client output buffer in bytes (client_recent_max_output_buffer)"),
    // memory
    m("used_memory", "redis_memory_used_bytes", "Bytes allocated by Redis (used_memory)"),
    m("used_memory_rss", "redis_memory_used_rss_bytes", "Resident set size of the server in bytes (used_memory_rss)"),
    m("used_memory_peak", "redis_memory_used_peak_bytes", "Peak of used_memory in bytes (used_memory_peak)"),
    m("used_memory_overhead", "redis_memory_used_overhead_bytes", "Bytes used for internal structures (used_memory_overhead)"),
    m("used_memory_startup", "redis_memory_used_startup_bytes", "Bytes used at startup (used_memory_startup)"),
    m("used_memory_dataset", "redis_memory_used_dataset_bytes", "Bytes used by the dataset (used_memory_dataset)"),
    m("used_memory_lua", "redis_memory_used_lua_bytes", "Bytes used by the Lua engine (used_memory_lua)"),
    m("used_memory_scripts", "redis_memory_used_scripts_bytes", "Bytes used by cached scripts (used_memory_scripts)"),
    m("maxmemory", "redis_memory_max_bytes", "The maxmemory setting in bytes, 0 for no limit (maxmemory)"),
    m("number_of_cached_scripts", "redis_number_of_cached_scripts", "Scripts in the script cache (number_of_cached_scripts)"),
    m("allocator_allocated", "redis_allocator_allocated_bytes", "Bytes allocated by the allocator (allocator_allocated)"),
    m("allocator_active", "redis_allocator_active_bytes", "Bytes in the allocator's active pages (allocator_active)"),
    m("allocator_resident", "redis_allocator_resident_bytes", "Bytes resident in the allocator (allocator_resident)"),
    m("allocator_frag_ratio", "redis_allocator_frag_ratio", "allocator_active / allocator_allocated (allocator_frag_ratio)"),
    m("allocator_frag_bytes", "redis_allocator_frag_bytes", "allocator_active - allocator_allocated in bytes (allocator_frag_bytes)"),
    m("allocator_rss_ratio", "redis_allocator_rss_ratio", "allocator_resident / allocator_active (allocator_rss_ratio)"),
    m("allocator_rss_bytes", "redis_allocator_rss_bytes", "allocator_resident - allocator_active in bytes (allocator_rss_bytes)"),
    m("mem_fragmentation_ratio", "redis_mem_fragmentation_ratio", "used_memory_rss / used_memory (mem_fragmentation_ratio)"),
    m("mem_fragmentation_bytes", "redis_mem_fragmentation_bytes", "used_memory_rss - used_memory in bytes (mem_fragmentation_bytes)"),
    m("mem_not_counted_for_evict", "redis_mem_not_counted_for_eviction_bytes", "Bytes not counted for eviction (mem_not_counted_for_evict)"),
    m("mem_clients_slaves", "redis_mem_clients_slaves", "Bytes used by replica clients (mem_clients_slaves)"),
    m("mem_clients_normal", "redis_mem_clients_normal", "Bytes used by normal clients (mem_clients_normal)"),
    m("lazyfree_pending_objects", "redis_lazyfree_pending_objects", "Objects waiting to be freed lazily (lazyfree_pending_objects)"),
    m("active_defrag_running", "redis_active_defrag_running", "CPU percent used by active defragmentation (active_defrag_running)"),
    // persistence
    m("loading", "redis_loading_dump_file", "1 while a dump file is being loaded (loading)"),
    m("rdb_changes_since_last_save", "redis_rdb_changes_since_last_save", "Changes since the last RDB save (rdb_changes_since_last_save)"),
    m("rdb_bgsave_in_progress", "redis_rdb_bgsave_in_progress", "1 while an RDB save runs (rdb_bgsave_in_progress)"),
    m("rdb_last_save_time", "redis_rdb_last_save_timestamp_seconds", "Unix time of the last successful RDB save (rdb_last_save_time)"),
    m("rdb_last_bgsave_time_sec", "redis_rdb_last_bgsave_duration_sec", "Duration of the last RDB save in seconds, -1 if none (rdb_last_bgsave_time_sec)"),
    m("rdb_current_bgsave_time_sec", "redis_rdb_current_bgsave_duration_sec", "Duration of the running RDB save in seconds, -1 if none (rdb_current_bgsave_time_sec)"),
    m("rdb_last_cow_size", "redis_rdb_last_cow_size_bytes", "Copy-on-write bytes of the last RDB save (rdb_last_cow_size)"),
    m("aof_enabled", "redis_aof_enabled", "1 if AOF is enabled (aof_enabled)"),
    m("aof_rewrite_in_progress", "redis_aof_rewrite_in_progress", "1 while an AOF rewrite runs (aof_rewrite_in_progress)"),
    m("aof_rewrite_scheduled", "redis_aof_rewrite_scheduled", "1 if an AOF rewrite is scheduled (aof_rewrite_scheduled)"),
    m("aof_last_rewrite_time_sec", "redis_aof_last_rewrite_duration_sec", "Duration of the last AOF rewrite in seconds, -1 if none (aof_last_rewrite_time_sec)"),
    m("aof_current_rewrite_time_sec", "redis_aof_current_rewrite_duration_sec", "Duration of the running AOF rewrite in seconds, -1 if none (aof_current_rewrite_time_sec)"),
    m("aof_last_cow_size", "redis_aof_last_cow_size_bytes", "Copy-on-write bytes of the last AOF rewrite (aof_last_cow_size)"),
    m("module_fork_in_progress", "redis_module_fork_in_progress", "1 while a module fork runs (module_fork_in_progress)"),
    m("module_fork_last_cow_size", "redis_module_fork_last_cow_size", "Copy-on-write bytes of the last module fork (module_fork_last_cow_size)"),
    // stats
    m("pubsub_channels", "redis_pubsub_channels", "Pub/sub channels with subscribers (pubsub_channels)"),
    m("pubsub_patterns", "redis_pubsub_patterns", "Pub/sub patterns with subscribers (pubsub_patterns)"),
    scaled("latest_fork_usec", "redis_latest_fork_seconds", "Duration of the latest fork in seconds (latest_fork_usec)", 1e-6),
    m("migrate_cached_sockets", "redis_migrate_cached_sockets_total", "Sockets open for MIGRATE (migrate_cached_sockets)"),
    m("expired_stale_perc", "redis_expired_stale_percentage", "Estimated percent of keys already expired (expired_stale_perc)"),
    m("slave_expires_tracked_keys", "redis_slave_expires_tracked_keys", "Keys tracked for expiry on a writable replica (slave_expires_tracked_keys)"),
    m("active_defrag_hits", "redis_defrag_hits", "Values reallocated by active defragmentation (active_defrag_hits)"),
    m("active_defrag_misses", "redis_defrag_misses", "Aborted value reallocations of active defragmentation (active_defrag_misses)"),
    m("active_defrag_key_hits", "redis_defrag_key_hits", "Keys actively defragmented (active_defrag_key_hits)"),
    m("active_defrag_key_misses", "redis_defrag_key_misses", "Keys skipped by active defragmentation (active_defrag_key_misses)"),
    m("tracking_total_keys", "redis_tracking_total_keys", "Keys tracked for client-side caching (tracking_total_keys)"),
    m("tracking_total_items", "redis_tracking_total_items", "Items tracked for client-side caching (tracking_total_items)"),
    m("tracking_total_prefixes", "redis_tracking_total_prefixes", "Prefixes tracked for client-side caching (tracking_total_prefixes)"),
    m("sync_full", "redis_replica_resyncs_full", "Full resynchronisations with replicas (sync_full)"),
    m("sync_partial_ok", "redis_replica_partial_resync_accepted", "Accepted partial resynchronisation requests (sync_partial_ok)"),
    m("sync_partial_err", "redis_replica_partial_resync_denied", "Denied partial resynchronisation requests (sync_partial_err)"),
    // replication
    m("connected_slaves", "redis_connected_slaves", "Connected replicas (connected_slaves)"),
    m("master_repl_offset", "redis_master_repl_offset", "Replication offset of this server (master_repl_offset)"),
    m("second_repl_offset", "redis_second_repl_offset", "Offset up to which the previous replication id is accepted (second_repl_offset)"),
    m("repl_backlog_active", "redis_repl_backlog_is_active", "1 if the replication backlog is active (repl_backlog_active)"),
    m("repl_backlog_size", "redis_replication_backlog_bytes", "Size of the replication backlog in bytes (repl_backlog_size)"),
    m("repl_backlog_first_byte_offset", "redis_repl_backlog_first_byte_offset", "Master offset of the backlog's first byte (repl_backlog_first_byte_offset)"),
    m("repl_backlog_histlen", "redis_repl_backlog_history_bytes", "Bytes of data in the replication backlog (repl_backlog_histlen)"),
    m("slave_priority", "redis_slave_priority", "Replica priority for failover (slave_priority)"),
    // cluster
    m("cluster_enabled", "redis_cluster_enabled", "1 if cluster mode is enabled (cluster_enabled)"),
    // redis_exporter 1.88's additions (anchors/current)
    m("total_system_memory", "redis_total_system_memory_bytes", "Memory of the host in bytes (total_system_memory); redis_exporter needs --include-system-metrics, here always, for the out-of-memory alert"),
    m("hz", "redis_hz", "Current frequency of background tasks (hz)"),
    m("configured_hz", "redis_configured_hz", "Configured frequency of background tasks (configured_hz)"),
    m("maxclients", "redis_max_clients", "INFO field maxclients"),
    m("pubsub_clients", "redis_pubsub_clients", "INFO field pubsub_clients, Redis>=7.4"),
    m("watching_clients", "redis_watching_clients", "INFO field watching_clients, Redis>=7.4"),
    m("total_watched_keys", "redis_total_watched_keys", "INFO field total_watched_keys, Redis>=7.4"),
    m("total_blocking_keys", "redis_total_blocking_keys", "INFO field total_blocking_keys, Redis>=7.2"),
    m("total_blocking_keys_on_nokey", "redis_total_blocking_keys_on_nokey", "INFO field total_blocking_keys_on_nokey, Redis>=7.2"),
    m("client_longest_output_list", "redis_client_longest_output_list", "INFO field client_longest_output_list"),
    m("client_biggest_input_buf", "redis_client_biggest_input_buf", "INFO field client_biggest_input_buf"),
    m("allocator_muzzy", "redis_allocator_muzzy_bytes", "INFO field allocator_muzzy"),
    m("used_memory_vm_eval", "redis_memory_used_vm_eval_bytes", "INFO field used_memory_vm_eval, Redis>=7.0"),
    m("used_memory_scripts_eval", "redis_memory_used_scripts_eval_bytes", "INFO field used_memory_scripts_eval, Redis>=7.0"),
    m("number_of_functions", "redis_number_of_functions", "INFO field number_of_functions, Redis>=7.0"),
    m("number_of_libraries", "redis_number_of_libraries", "INFO field number_of_libraries, Redis>=7.4"),
    m("used_memory_vm_functions", "redis_memory_used_vm_functions_bytes", "INFO field used_memory_vm_functions, Redis>=7.0"),
    m("used_memory_functions", "redis_memory_used_functions_bytes", "INFO field used_memory_functions, Redis>=7.0"),
    m("used_memory_vm_total", "redis_memory_used_vm_total", "INFO field used_memory_vm_total, Redis>=7.0"),
    m("maxmemory_reservation", "redis_memory_max_reservation_bytes", "INFO field maxmemory_reservation"),
    m("maxmemory_desired_reservation", "redis_memory_max_reservation_desired_bytes", "INFO field maxmemory_desired_reservation"),
    m("maxfragmentationmemory_reservation", "redis_memory_max_fragmentation_reservation_bytes", "INFO field maxfragmentationmemory_reservation"),
    m("maxfragmentationmemory_desired_reservation", "redis_memory_max_fragmentation_reservation_desired_bytes", "INFO field maxfragmentationmemory_desired_reservation"),
    m("mem_cluster_links", "redis_mem_cluster_links_bytes", "INFO field mem_cluster_links"),
    m("mem_aof_buffer", "redis_mem_aof_buffer_bytes", "INFO field mem_aof_buffer"),
    m("mem_replication_backlog", "redis_mem_replication_backlog_bytes", "INFO field mem_replication_backlog"),
    m("mem_total_replication_buffers", "redis_mem_total_replication_buffers_bytes", "INFO field mem_total_replication_buffers, Redis>=7.0"),
    m("mem_overhead_db_hashtable_rehashing", "redis_mem_overhead_db_hashtable_rehashing_bytes", "INFO field mem_overhead_db_hashtable_rehashing, Redis>=7.4"),
    m("lazyfreed_objects", "redis_lazyfreed_objects", "INFO field lazyfreed_objects"),
    m("async_loading", "redis_async_loading", "INFO field async_loading, Redis>=7.0"),
    m("rdb_saves", "redis_rdb_saves_total", "INFO field rdb_saves"),
    m("rdb_last_load_keys_expired", "redis_rdb_last_load_expired_keys", "INFO field rdb_last_load_keys_expired, Redis>=7.0"),
    m("rdb_last_load_keys_loaded", "redis_rdb_last_load_loaded_keys", "INFO field rdb_last_load_keys_loaded, Redis>=7.0"),
    m("aof_current_size", "redis_aof_current_size_bytes", "INFO field aof_current_size"),
    m("aof_base_size", "redis_aof_base_size_bytes", "INFO field aof_base_size"),
    m("aof_pending_rewrite", "redis_aof_pending_rewrite", "INFO field aof_pending_rewrite"),
    m("aof_buffer_length", "redis_aof_buffer_length", "INFO field aof_buffer_length"),
    m("aof_rewrite_buffer_length", "redis_aof_rewrite_buffer_length", "INFO field aof_rewrite_buffer_length, Redis>=7.0"),
    m("aof_pending_bio_fsync", "redis_aof_pending_bio_fsync", "INFO field aof_pending_bio_fsync"),
    m("aof_delayed_fsync", "redis_aof_delayed_fsync", "INFO field aof_delayed_fsync"),
    m("current_eviction_exceeded_time", "redis_current_eviction_exceeded_time_ms", "INFO field current_eviction_exceeded_time"),
    m("pubsubshard_channels", "redis_pubsubshard_channels", "INFO field pubsubshard_channels, Redis>=7.0.3"),
    m("instantaneous_eventloop_cycles_per_sec", "redis_instantaneous_eventloop_cycles_per_sec", "INFO field instantaneous_eventloop_cycles_per_sec, Redis>=7.0"),
    m("instantaneous_eventloop_duration_usec", "redis_instantaneous_eventloop_duration_usec", "INFO field instantaneous_eventloop_duration_usec, Redis>=7.0"),
];

/// Numeric fields that only grow while the server runs, exposed as counters.
#[rustfmt::skip]
pub const COUNTERS: &[Mapped] = &[
    m("total_connections_received", "redis_connections_received_total", "Connections accepted (total_connections_received)"),
    m("total_commands_processed", "redis_commands_processed_total", "Commands processed (total_commands_processed)"),
    m("rejected_connections", "redis_rejected_connections_total", "Connections rejected because of maxclients (rejected_connections)"),
    m("total_net_input_bytes", "redis_net_input_bytes_total", "Bytes read from the network (total_net_input_bytes)"),
    m("total_net_output_bytes", "redis_net_output_bytes_total", "Bytes written to the network (total_net_output_bytes)"),
    m("expired_keys", "redis_expired_keys_total", "Keys expired (expired_keys)"),
    m("evicted_keys", "redis_evicted_keys_total", "Keys evicted because of maxmemory (evicted_keys)"),
    m("keyspace_hits", "redis_keyspace_hits_total", "Successful key lookups (keyspace_hits)"),
    m("keyspace_misses", "redis_keyspace_misses_total", "Failed key lookups (keyspace_misses)"),
    m("used_cpu_sys", "redis_cpu_sys_seconds_total", "System CPU seconds of the server (used_cpu_sys)"),
    m("used_cpu_user", "redis_cpu_user_seconds_total", "User CPU seconds of the server (used_cpu_user)"),
    m("used_cpu_sys_children", "redis_cpu_sys_children_seconds_total", "System CPU seconds of background processes (used_cpu_sys_children)"),
    m("used_cpu_user_children", "redis_cpu_user_children_seconds_total", "User CPU seconds of background processes (used_cpu_user_children)"),
    m("used_cpu_sys_main_thread", "redis_cpu_sys_main_thread_seconds_total", "System CPU seconds of the main thread (used_cpu_sys_main_thread)"),
    m("used_cpu_user_main_thread", "redis_cpu_user_main_thread_seconds_total", "User CPU seconds of the main thread (used_cpu_user_main_thread)"),
    m("unexpected_error_replies", "redis_unexpected_error_replies", "Unexpected error replies, such as from AOF loading or replication (unexpected_error_replies)"),
    m("total_error_replies", "redis_total_error_replies", "Error replies sent (total_error_replies)"),
    m("dump_payload_sanitizations", "redis_dump_payload_sanitizations", "Deep integrity validations of RESTORE payloads (dump_payload_sanitizations)"),
    m("total_reads_processed", "redis_total_reads_processed", "Read events processed (total_reads_processed)"),
    m("total_writes_processed", "redis_total_writes_processed", "Write events processed (total_writes_processed)"),
    m("io_threaded_reads_processed", "redis_io_threaded_reads_processed", "Read events processed by I/O threads (io_threaded_reads_processed)"),
    m("io_threaded_writes_processed", "redis_io_threaded_writes_processed", "Write events processed by I/O threads (io_threaded_writes_processed)"),
    // redis_exporter 1.88's additions (anchors/current)
    m("total_net_repl_input_bytes", "redis_net_repl_input_bytes_total", "INFO field total_net_repl_input_bytes"),
    m("total_net_repl_output_bytes", "redis_net_repl_output_bytes_total", "INFO field total_net_repl_output_bytes"),
    m("expired_subkeys", "redis_expired_subkeys_total", "INFO field expired_subkeys"),
    m("expire_cycle_cpu_milliseconds", "redis_expire_cycle_cpu_time_ms_total", "INFO field expire_cycle_cpu_milliseconds"),
    m("evicted_clients", "redis_evicted_clients_total", "INFO field evicted_clients, Redis>=7.0"),
    m("evicted_scripts", "redis_evicted_scripts_total", "INFO field evicted_scripts, Redis>=7.4"),
    m("total_eviction_exceeded_time", "redis_eviction_exceeded_time_ms_total", "INFO field total_eviction_exceeded_time"),
    m("eventloop_cycles", "redis_eventloop_cycles_total", "INFO field eventloop_cycles, Redis>=7.0"),
    m("eventloop_duration_sum", "redis_eventloop_duration_sum_usec_total", "INFO field eventloop_duration_sum, Redis>=7.0"),
    m("eventloop_duration_cmd_sum", "redis_eventloop_duration_cmd_sum_usec_total", "INFO field eventloop_duration_cmd_sum, Redis>=7.0"),
    m("client_query_buffer_limit_disconnections", "redis_client_query_buffer_limit_disconnections_total", "INFO field client_query_buffer_limit_disconnections"),
    m("client_output_buffer_limit_disconnections", "redis_client_output_buffer_limit_disconnections_total", "INFO field client_output_buffer_limit_disconnections"),
    m("reply_buffer_shrinks", "redis_reply_buffer_shrinks_total", "INFO field reply_buffer_shrinks"),
    m("reply_buffer_expands", "redis_reply_buffer_expands_total", "INFO field reply_buffer_expands"),
    m("acl_access_denied_auth", "redis_acl_access_denied_auth_total", "INFO field acl_access_denied_auth"),
    m("acl_access_denied_cmd", "redis_acl_access_denied_cmd_total", "INFO field acl_access_denied_cmd"),
    m("acl_access_denied_key", "redis_acl_access_denied_key_total", "INFO field acl_access_denied_key"),
    m("acl_access_denied_channel", "redis_acl_access_denied_channel_total", "INFO field acl_access_denied_channel"),
    m("used_active_time_main_thread", "redis_active_time_main_thread_seconds_total", "INFO field used_active_time_main_thread"),
    m("expired_time_cap_reached_count", "redis_expired_time_cap_reached_total", "Times an active expire cycle stopped early (expired_time_cap_reached_count); a gauge in redis_exporter 1.45, a counter in 1.88"),
];
