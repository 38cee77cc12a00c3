//! The shared test support holds what its users rely on: the poller
//! returns once the condition holds and otherwise fails naming what it
//! waited for; a guarded child is gone once the guard drops; the recorder
//! keeps each request and answers as documented.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_test_support::{ChildGuard, Recorder, eventually, free_port, wait_until};

#[test]
fn wait_until_returns_once_the_condition_holds() {
    let mut polls = 0;
    wait_until("the third poll", Duration::from_secs(5), || {
        polls += 1;
        polls == 3
    });
    assert_eq!(polls, 3);
}

#[test]
#[should_panic(expected = "waiting for the answer that never comes")]
fn wait_until_names_what_it_waited_for() {
    wait_until(
        "the answer that never comes",
        Duration::from_millis(50),
        || false,
    );
}

#[tokio::test]
#[should_panic(expected = "waiting for the async answer")]
async fn eventually_names_what_it_waited_for() {
    eventually("the async answer", Duration::from_millis(50), || false).await;
}

#[tokio::test]
async fn the_macro_awaits_its_condition_until_it_holds() {
    let polls = AtomicU32::new(0);
    let poll = || async { polls.fetch_add(1, Ordering::SeqCst) + 1 };
    vigil_test_support::eventually!(5, "the third poll", poll().await == 3);
    assert_eq!(polls.load(Ordering::SeqCst), 3);
}

/// Whether a process with `pid` exists (`kill -0`).
fn alive(pid: u32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_guarded_child_is_gone_after_the_guard_drops() {
    let child = Command::new("sleep").arg("60").spawn().unwrap();
    let guard = ChildGuard::new("sleep", child);
    let pid = guard.id();
    assert!(alive(pid));
    drop(guard);
    assert!(!alive(pid), "pid {pid} still runs");
}

/// One HTTP/1.1 request over a plain socket; the status line's code.
async fn post(port: u16, path: &str, body: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[tokio::test]
async fn the_recorder_keeps_each_request_and_fails_fail_paths() {
    let rec = Recorder::start().await;
    assert_eq!(
        post(rec.port, "/hook?a=1", r#"{"status":"firing"}"#).await,
        200
    );
    assert_eq!(post(rec.port, "/x/fail/y", "not json").await, 503);
    let seen = rec.received();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/hook");
    assert_eq!(seen[0].query, [("a".to_string(), "1".to_string())]);
    assert_eq!(seen[0].json()["status"], "firing");
    assert_eq!(seen[1].json(), serde_json::Value::Null);
    assert_eq!(rec.under("/x").len(), 1);
}

#[test]
fn free_port_can_be_bound() {
    let port = free_port();
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

/// Outgoing connections take their local ports from the ephemeral range;
/// a port picked there could be taken before the server binds it.
#[test]
fn free_ports_lie_outside_the_ephemeral_range() {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let range: Vec<u16> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let ports: std::collections::BTreeSet<u16> = (0..20).map(|_| free_port()).collect();
    assert!(ports.len() > 1, "the same port every time: {ports:?}");
    for port in ports {
        assert!(
            port >= 1024 && !(range[0]..=range[1]).contains(&port),
            "{port} is in the ephemeral range {range:?}"
        );
    }
}

#[tokio::test]
async fn the_recorder_leaves_the_first_hang_first_request_unanswered() {
    let rec = Recorder::start().await;
    let first = tokio::spawn(post(rec.port, "/hook/hang-first", "1"));
    rec.wait_for(5, "the first request recorded", |seen| seen.len() == 1)
        .await;
    assert_eq!(post(rec.port, "/hook/hang-first", "2").await, 200);
    // Recorded before the second was sent, so an answer would be out by now.
    assert!(!first.is_finished(), "the first request was answered");
    first.abort();
}
