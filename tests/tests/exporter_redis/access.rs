//! How the Redis test binary's collectors reach their servers: ACL users,
//! wrong passwords, TLS with a private CA, disabled commands.

use std::collections::BTreeMap;
use std::time::Duration;

use libtest_mimic::Failed;
use vigil_exporter::collectors::redis::{RedisTarget, build};
use vigil_tests::redis::{RedisOptions, RedisServer};

use super::{Env, PASSWORD, WRONG_PASSWORD, check, collector, family, value};

pub fn acl_user_can_collect(env: &Env) -> Result<(), Failed> {
    let user_password = "Pm4-acl-user-pw-6610";
    let rule = format!(">{user_password}");
    env.master().cli(&[
        "ACL",
        "SETUSER",
        "vigil",
        "on",
        &rule,
        "+info",
        "+config|get",
        "+slowlog",
        "+ping",
    ])?;
    let url = env.master().url();
    let ok = env.collect(&collector(&url, Some("vigil"), Some(user_password)))?;
    check(
        value(&ok, "redis_connected_slaves", &[])? == 1.0,
        "collected",
    )?;
    let err = env
        .collect(&collector(&url, Some("vigil"), Some(WRONG_PASSWORD)))
        .err()
        .ok_or("a wrong ACL password must fail")?;
    check(err.kind == "auth", format!("kind {}: {err}", err.kind))
}

pub fn wrong_password_fails_without_showing_it(env: &Env) -> Result<(), Failed> {
    let url = env.master().url();
    for password in [Some(WRONG_PASSWORD), None] {
        let err = env
            .collect(&collector(&url, None, password))
            .err()
            .ok_or("a wrong password must fail")?;
        check(err.kind == "auth", format!("kind {}: {err}", err.kind))?;
        let shown = format!("{err} {err:?}");
        check(
            !shown.contains(WRONG_PASSWORD) && !shown.contains(PASSWORD),
            format!("password in {shown}"),
        )?;
    }
    Ok(())
}

/// `rediss://` with a private CA: collected with `tls_ca_file`, refused
/// without it (the system's roots do not know the test CA).
pub fn tls_server_is_collected_with_its_ca(env: &Env) -> Result<(), Failed> {
    let server = RedisServer::start_with(RedisOptions {
        tls: true,
        ..RedisOptions::default()
    })?;
    let target = |ca: Option<std::path::PathBuf>| {
        build(&RedisTarget {
            name: Some("tls".to_string()),
            address: server.url(),
            username: None,
            password: None,
            password_file: None,
            tls_ca_file: ca,
            timeout: Some(Duration::from_secs(5)),
            labels: BTreeMap::new(),
        })
    };
    let fams = env.collect(&target(Some(server.ca_file()))?)?;
    check(
        value(&fams, "redis_instance_info", &[("role", "master")])? == 1.0,
        "collected over TLS",
    )?;
    let err = env
        .collect(&target(None)?)
        .err()
        .ok_or("an unknown CA must be refused")?;
    check(err.kind != "auth", format!("kind {}: {err}", err.kind))
}

/// Managed services often disable CONFIG and SLOWLOG: the scrape still
/// succeeds, without the families those commands give.
pub fn disabled_config_command_leaves_only_its_families_out(env: &Env) -> Result<(), Failed> {
    let server = RedisServer::start_with(RedisOptions {
        extra: vec![
            "rename-command CONFIG \"\"".to_string(),
            "rename-command SLOWLOG \"\"".to_string(),
        ],
        ..RedisOptions::default()
    })?;
    let fams = env.collect(&collector(&server.url(), None, None))?;
    check(
        family(&fams, "redis_config_maxmemory").is_err(),
        "no CONFIG",
    )?;
    check(family(&fams, "redis_slowlog_length").is_err(), "no SLOWLOG")?;
    check(
        value(&fams, "redis_memory_max_bytes", &[])? == 0.0,
        "INFO still read",
    )?;
    // Without CONFIG GET databases, redis_exporter's fallback: 16, all 0.
    let keys = family(&fams, "redis_db_keys")?;
    check(
        keys.samples.len() == 16 && keys.samples.iter().all(|s| s.value == 0.0),
        "16 empty databases",
    )
}

/// A one-node cluster with every slot assigned: CLUSTER INFO's families,
/// which the redis-mixin alerts read (`redis_cluster_state`,
/// `redis_cluster_slots_fail`), and one logical database, as upstream.
pub fn cluster_mode_gives_cluster_info_families(env: &Env) -> Result<(), Failed> {
    let server = RedisServer::start_with(RedisOptions {
        extra: vec![
            "cluster-enabled yes".to_string(),
            "cluster-config-file nodes.conf".to_string(),
            // The bus port defaults to the port + 10000, which is past
            // 65535 for a high port and may be taken for any other.
            format!("cluster-port {}", vigil_test_support::free_port()),
        ],
        ..RedisOptions::default()
    })?;
    server.cli(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"])?;
    vigil_test_support::wait_until("the cluster state ok", Duration::from_secs(30), || {
        server
            .cli(&["CLUSTER", "INFO"])
            .is_ok_and(|i| i.contains("cluster_state:ok"))
    });
    let fams = env.collect(&collector(&server.url(), None, None))?;
    check(value(&fams, "redis_cluster_state", &[])? == 1.0, "state ok")?;
    check(
        value(&fams, "redis_cluster_slots_assigned", &[])? == 16384.0,
        "every slot assigned",
    )?;
    check(
        value(&fams, "redis_cluster_slots_fail", &[])? == 0.0,
        "no slot failing",
    )?;
    check(
        value(&fams, "redis_cluster_known_nodes", &[])? == 1.0,
        "one node",
    )?;
    check(
        family(&fams, "redis_cluster_messages_sent_total").is_ok(),
        "message totals",
    )?;
    let keys = family(&fams, "redis_db_keys")?;
    check(keys.samples.len() == 1, "cluster mode has one database")?;
    // Outside cluster mode there is none of them.
    let plain = env.collect(&env.master_collector)?;
    check(
        family(&plain, "redis_cluster_state").is_err(),
        "not on a plain master",
    )
}
