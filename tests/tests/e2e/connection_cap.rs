//! The connection cap (`SIDECACHE_MAX_CLIENT_CONNECTIONS`): at the cap, the connection idle
//! longest (kept alive after a request, or never having sent one) gives way to a new one; new
//! connections wait only while every slot is busy with a request.
//!
//! The timeouts are set far beyond every bound here, so a connection can only be served in time
//! because an idle one gave way, never because a timeout freed its slot.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::util::unique;
use sidecache_tests::{moto, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::{param, started_with};
use super::connections::{connect, read_until_closed, request, timeouts, CLOSE_BOUND, PING};

/// Far shorter than the timeouts (600 s) and far longer than giving way takes (about 1 s).
const SERVED_BOUND: Duration = Duration::from_secs(15);

#[tokio::test]
async fn at_the_cap_silent_and_idle_connections_give_way() {
    let (_proxy, sc) =
        started_with(|b| timeouts(600, 600)(b).env("SIDECACHE_MAX_CLIENT_CONNECTIONS", "3")).await;
    // With the harness's kept-alive probe connection: three slots taken, none busy.
    let mut silent = connect(&sc).await;
    let mut idle = connect(&sc).await;
    assert!(request(&mut idle, PING).await.starts_with("HTTP/1.1 200"));

    // A reader beyond the cap is served, several times over, long before any timeout.
    for _ in 0..3 {
        let mut reader = connect(&sc).await;
        let answer = tokio::time::timeout(SERVED_BOUND, request(&mut reader, PING)).await;
        assert!(
            matches!(&answer, Ok(a) if a.starts_with("HTTP/1.1 200")),
            "a reader at the cap was not served: {answer:?}"
        );
    }
    // The silent connection, idle since it was accepted, went first; closed without a word.
    let sent = tokio::time::timeout(SERVED_BOUND, read_until_closed(&mut silent)).await;
    assert_eq!(sent.map(|s| s.is_empty()), Ok(true));
}

#[tokio::test]
async fn at_the_cap_busy_connections_keep_their_slots() {
    let base = format!("/{}", unique("cap-busy"));
    for i in 0..2 {
        moto::put_parameter(&format!("{base}/{i}"), "busy-value", ParameterType::String).await;
    }
    let (proxy, sc) =
        started_with(|b| timeouts(600, 600)(b).env("SIDECACHE_MAX_CLIENT_CONNECTIONS", "2")).await;
    proxy.set_fault(Fault::Latency(Duration::from_secs(4)));
    // Two requests held by the slow upstream (the probe's idle connection gives way to one).
    let busy: Vec<_> = (0..2)
        .map(|i| {
            let port = sc.port();
            let get = format!(
                "GET {} HTTP/1.1\r\nHost: localhost\r\nX-Aws-Parameters-Secrets-Token: test-token\r\n\r\n",
                param(&format!("{base}/{i}"), "")
            );
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                request(&mut stream, get.as_bytes()).await
            })
        })
        .collect();
    assert!(proxy.wait_count("GetParameter", 2, SERVED_BOUND).await);

    // Every slot is busy with a request: a new connection waits, however long it has waited.
    let mut waiting = connect(&sc).await;
    waiting.write_all(PING).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(1500), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a busy connection was closed for a new one: {early:?}"
    );

    // Both busy requests are answered in full, then the waiting one is served.
    for answer in busy {
        let answer = answer.await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("busy-value"), "{answer}");
    }
    let served = tokio::time::timeout(CLOSE_BOUND, waiting.read(&mut buf)).await;
    assert!(
        matches!(served, Ok(Ok(n)) if buf[..n].starts_with(b"HTTP/1.1 200")),
        "{served:?}"
    );
}

/// Raises this process's open-file limit to its hard limit (1,000 client sockets and the
/// sidecar's own 900 connections, which it inherits).
fn raise_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct given, nothing else.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(8192);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
}

#[tokio::test]
async fn a_thousand_keep_alive_clients_at_the_default_cap_are_all_served() {
    raise_file_limit();
    let (_proxy, sc) = started_with(timeouts(600, 600)).await;
    // 1,000 clients each read once and stay connected; the default cap is 900.
    let clients: Vec<_> = (0..1000)
        .map(|_| {
            let port = sc.port();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
                let answer = tokio::time::timeout(SERVED_BOUND, request(&mut stream, PING))
                    .await
                    .ok()?;
                // Kept open (idle) until every client has its answer.
                Some((answer.starts_with("HTTP/1.1 200"), stream))
            })
        })
        .collect();
    let mut served = 0;
    let mut streams = Vec::new();
    for client in clients {
        if let Some((ok, stream)) = client.await.unwrap() {
            served += usize::from(ok);
            streams.push(stream);
        }
    }
    assert_eq!(served, 1000, "readers were starved by idle connections");
    // And a new reader is still served while the survivors idle.
    let mut late = connect(&sc).await;
    let answer = tokio::time::timeout(SERVED_BOUND, request(&mut late, PING)).await;
    assert!(
        matches!(&answer, Ok(a) if a.starts_with("HTTP/1.1 200")),
        "{answer:?}"
    );
    drop(streams);
}
