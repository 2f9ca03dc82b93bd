//! Client connections: the header timeout (`SIDECACHE_HEADER_TIMEOUT`) and the idle timeout
//! (`SIDECACHE_IDLE_TIMEOUT`); the connection cap is in `connection_cap.rs`.
//!
//! Every wait is for a condition (the server closing a socket, an answer arriving) with a
//! generous upper bound; none of them measures how fast it happens.

use std::time::Duration;

use sidecache_tests::{Sidecar, SidecarBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::started_with;

pub(super) const PING: &[u8] = b"GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n";
/// Far above any timeout configured here: only a server that never closes reaches it.
pub(super) const CLOSE_BOUND: Duration = Duration::from_secs(30);

pub(super) async fn connect(sc: &Sidecar) -> TcpStream {
    TcpStream::connect(("127.0.0.1", sc.port()))
        .await
        .expect("connect to the sidecar")
}

/// Reads until the server closes the connection; returns what it sent. Panics when it stays
/// open for `CLOSE_BOUND`.
pub(super) async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(CLOSE_BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the connection was still open after {CLOSE_BOUND:?}; received {:?}",
        String::from_utf8_lossy(&received)
    );
    received
}

/// Sends one request and reads exactly one answer (headers and `Content-Length` body).
pub(super) async fn request(stream: &mut TcpStream, raw: &[u8]) -> String {
    stream.write_all(raw).await.expect("send the request");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(CLOSE_BOUND, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read the answer");
        assert!(
            n > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&received)
        );
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

pub(super) fn timeouts(header: u64, idle: u64) -> impl FnOnce(SidecarBuilder) -> SidecarBuilder {
    move |b| {
        b.env("SIDECACHE_HEADER_TIMEOUT", header.to_string())
            .env("SIDECACHE_IDLE_TIMEOUT", idle.to_string())
    }
}

#[tokio::test]
async fn silent_half_line_and_half_header_connections_are_closed() {
    let (_proxy, sc) = started_with(timeouts(1, 600)).await;
    let partials: [&[u8]; 3] = [
        b"",
        b"GET /systemsmanager/para",
        b"GET /ping HTTP/1.1\r\nHost: localhost\r\nX-Aws-Parame",
    ];
    let mut streams = Vec::new();
    for partial in partials {
        let mut stream = connect(&sc).await;
        stream.write_all(partial).await.unwrap();
        streams.push(stream);
    }
    for (stream, partial) in streams.iter_mut().zip(partials) {
        let received = read_until_closed(stream).await;
        assert!(
            !received.starts_with(b"HTTP/1.1 200"),
            "{:?} was answered: {:?}",
            String::from_utf8_lossy(partial),
            String::from_utf8_lossy(&received)
        );
    }
    // The server itself is fine.
    let mut fresh = connect(&sc).await;
    assert!(request(&mut fresh, PING).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn headers_trickling_in_do_not_extend_the_header_timeout() {
    let (_proxy, sc) = started_with(timeouts(1, 600)).await;
    let mut stream = connect(&sc).await;
    // One header byte every 100 ms never completes within the timeout; a server that restarted
    // its clock on every byte would keep this connection for the whole 60 s loop.
    let closed = tokio::time::timeout(CLOSE_BOUND, async {
        stream.write_all(b"GET /ping HTTP/1.1\r\n").await.ok()?;
        for _ in 0..600 {
            stream.write_all(b"X").await.ok()?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(())
    })
    .await;
    assert_eq!(
        closed,
        Ok(None),
        "the server kept a trickling connection open"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    let (_proxy, sc) = started_with(timeouts(1, 3)).await;
    let mut stream = connect(&sc).await;
    assert!(request(&mut stream, PING).await.starts_with("HTTP/1.1 200"));
    // Idle for longer than the header timeout: a keep-alive connection is still usable (hyper's
    // own header timeout would have closed it here).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(request(&mut stream, PING).await.starts_with("HTTP/1.1 200"));
    // And closed once idle past the idle timeout, without a word.
    let received = read_until_closed(&mut stream).await;
    assert!(
        received.is_empty(),
        "sent {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn a_pooled_connection_closed_by_the_server_is_replaced_by_the_client() {
    let (_proxy, sc) = started_with(timeouts(1, 1)).await;
    let client = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let ping = sc.url("/ping");
    assert_eq!(client.get(&ping).send().await.unwrap().status(), 200);
    // A connection that went idle at the same moment: once the server has closed it, it has
    // closed the client's pooled one too (both timers run the same length).
    let mut witness = connect(&sc).await;
    assert!(request(&mut witness, PING)
        .await
        .starts_with("HTTP/1.1 200"));
    read_until_closed(&mut witness).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..3 {
        let response = client
            .get(&ping)
            .send()
            .await
            .expect("the client retries on a new connection");
        assert_eq!(response.status(), 200);
    }
}
