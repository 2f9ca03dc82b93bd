//! A steady background of client misbehaviour, on raw TCP:
//! - stalled heads: connections that send nothing, half a request line, a head without its
//!   blank line, or trickle a head one byte every half second; sidecache must close each within
//!   `SIDECACHE_HEADER_TIMEOUT` (plus the documented quarter, plus a second of slack);
//! - resets: a request answered partly and then reset (RST) by the client, or reset right
//!   after it was sent, or half sent and reset;
//! - slow readers: an S3 object streamed with `format=raw` to a client with a 4 KiB receive
//!   buffer reading a few bytes at a time, so sidecache's writes block; each byte read is
//!   checked, and a large object is abandoned half-read (the connection closed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sidecache_tests::util::enc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::check::{Cache, Seen, Shape, Upstream};
use crate::content::Rng;
use crate::load::{checked, failure};
use crate::record::{Iface, Outcome};
use crate::Soak;

/// Keeps `stalled` stalled connections, one reset a second and `slow` slow readers going until
/// the soak stops.
pub async fn run(soak: Arc<Soak>, stalled: usize, slow: usize) {
    let mut tasks = Vec::new();
    for i in 0..stalled {
        let soak = soak.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::seeded();
            while !soak.stopping() {
                stalled_head(&soak, &mut rng, i).await;
            }
        }));
    }
    for i in 0..slow {
        let soak = soak.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::seeded();
            // One slow reader in three reads a small object to its end; the others abandon a
            // large one half-read.
            tokio::time::sleep(Duration::from_secs(i as u64 * 3)).await;
            while !soak.stopping() {
                slow_reader(&soak, &mut rng, i % 3 != 0).await;
            }
        }));
    }
    let resetter = {
        let soak = soak.clone();
        tokio::spawn(async move {
            let mut rng = Rng::seeded();
            while !soak.stopping() {
                reset(&soak, &mut rng).await;
                tokio::time::sleep(Duration::from_millis(700 + rng.below(600) as u64)).await;
            }
        })
    };
    tasks.push(resetter);
    for task in tasks {
        let _ = task.await;
    }
}

fn request(soak: &Soak, path: &str, token: bool) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Connection: close\r\n\r\n",
        if token {
            format!("X-Aws-Parameters-Secrets-Token: {}\r\n", soak.token)
        } else {
            String::new()
        }
    )
}

fn s3_raw_path(soak: &Soak, key: &str) -> String {
    format!(
        "/s3/get?bucket={}&key={}&format=raw",
        enc(&soak.names.bucket),
        enc(key)
    )
}

/// The head of an answer: status, headers (lower-case names) and the body bytes read with it.
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn code(&self) -> String {
        let text = String::from_utf8_lossy(&self.rest);
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|d| d["__type"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(60).collect())
    }
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Ok(Head {
                status,
                headers,
                rest: buf[end + 4..].to_vec(),
            });
        }
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 20 s")
            })??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn io_failure(soak: &Soak, what: &str, e: &std::io::Error, r0: Instant) -> Outcome {
    failure(
        soak,
        Upstream::Values,
        None,
        &format!("{what}: {:?}", e.kind()),
        r0,
        Instant::now(),
        e.to_string(),
    )
}

/// One stalled head; sidecache must close it within the header timeout.
async fn stalled_head(soak: &Soak, rng: &mut Rng, slot: usize) {
    let agent = slot % 3 == 2;
    let addr = if agent {
        soak.agent_addr
    } else {
        soak.main_addr
    };
    let variant = rng.below(4);
    let op = match variant {
        0 => "stalled: nothing sent",
        1 => "stalled: half a request line",
        2 => "stalled: head without its end",
        _ => "stalled: head trickled 1 byte / 0.5 s",
    };
    let r0 = Instant::now();
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            let outcome = io_failure(soak, "connect", &e, r0);
            soak.rec
                .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
    };
    let full = request(
        soak,
        "/systemsmanager/parameters/get?name=%2Fsoak%2Fstalled",
        true,
    );
    let sent = match variant {
        0 => 0,
        1 => 20,
        2 => full.len() - 2,
        _ => 0,
    };
    let _ = stream.write_all(&full.as_bytes()[..sent]).await;
    let limit = soak.header_timeout + soak.header_timeout / 4 + Duration::from_secs(1);
    let give_up = r0 + limit * 3;
    let mut buf = [0u8; 256];
    let mut trickled = 0;
    let closed_at = loop {
        if Instant::now() >= give_up {
            break None;
        }
        let wait = if variant == 3 {
            Duration::from_millis(500)
        } else {
            give_up - Instant::now()
        };
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break Some(Instant::now()),
            Ok(Ok(_)) => continue, // an answer (408?) before the close: fine
            Err(_) if variant == 3 => {
                // The next byte, never the whole head.
                if trickled + 2 < full.len()
                    && stream
                        .write_all(&full.as_bytes()[trickled..trickled + 1])
                        .await
                        .is_err()
                {
                    break Some(Instant::now());
                }
                trickled += 1;
            }
            Err(_) => break None,
        }
    };
    let r1 = Instant::now();
    let outcome = match closed_at {
        Some(t) if t - r0 <= limit => {
            soak.rec.note(
                if agent {
                    "stalled head closed after, agent port (s)"
                } else {
                    "stalled head closed after (s)"
                },
                (t - r0).as_secs_f64(),
            );
            Outcome::Ok(Cache::Absent)
        }
        Some(t) => Outcome::Error {
            cause: "stalled head closed late".into(),
            explained: None,
            detail: format!(
                "{op} on {addr}: closed after {:.1} s, the limit is {:.1} s",
                (t - r0).as_secs_f64(),
                limit.as_secs_f64()
            ),
        },
        None => Outcome::Error {
            cause: "stalled head never closed".into(),
            explained: None,
            detail: format!(
                "{op} on {addr}: still open after {:.1} s",
                (r1 - r0).as_secs_f64()
            ),
        },
    };
    soak.rec.record(Iface::Misbehave, op, r0, r1, outcome);
}

/// One request the client resets: mid-response, right after sending it, or half sent.
async fn reset(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let variant = rng.weighted(&[5, 2, 2, 1]);
    let (op, addr, path, token) = match variant {
        0 => {
            let o = rng.pick(&n.objects);
            ("reset mid-response (S3 raw)", soak.main_addr, s3_raw_path(soak, &o.key), true)
        }
        1 => (
            "reset mid-response (by-path)",
            soak.main_addr,
            "/systemsmanager/parameters/by-path?path=%2Fsoak%2Fp&recursive=true&withDecryption=true".to_owned(),
            true,
        ),
        2 => {
            let p = rng.pick(&n.params);
            (
                "reset right after the request",
                soak.main_addr,
                format!("/systemsmanager/parameters/get?name={}&withDecryption=true", enc(&p.name)),
                true,
            )
        }
        _ => {
            let profile = rng.pick(&n.profiles);
            (
                "reset half-sent (agent port)",
                soak.agent_addr,
                format!(
                    "/applications/{}/environments/{}/configurations/{}",
                    n.app, n.env, profile.name
                ),
                false,
            )
        }
    };
    let r0 = Instant::now();
    let mut stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            let outcome = io_failure(soak, "connect", &e, r0);
            soak.rec
                .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
            return;
        }
    };
    let req = request(soak, &path, token);
    let bytes = if variant == 3 {
        &req.as_bytes()[..req.len() / 2]
    } else {
        req.as_bytes()
    };
    if let Err(e) = stream.write_all(bytes).await {
        let outcome = io_failure(soak, "send", &e, r0);
        soak.rec
            .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
        return;
    }
    let mut outcome = Outcome::Ok(Cache::Absent);
    if variant <= 1 {
        // Read the head and a part of the body, check what was read, then reset.
        match read_head(&mut stream).await {
            Ok(head) if head.status == 200 => {
                let mut body = head.rest.clone();
                let want = 512 + rng.below(16 << 10);
                let mut chunk = vec![0u8; 4096];
                while body.len() < want {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => body.extend_from_slice(&chunk[..k]),
                    }
                }
                if variant == 0 {
                    let key = path_key(soak, &path);
                    let seen = head_seen(&head, r0, Instant::now());
                    let total = head.header("content-length").and_then(|l| l.parse().ok());
                    let result = soak
                        .model
                        .check_object(&key, Some((0, &body)), None, total, &seen)
                        .map(drop);
                    outcome = checked(soak, Upstream::S3, result, &seen);
                }
            }
            Ok(head) => {
                let to = if variant == 0 {
                    Upstream::S3
                } else {
                    Upstream::Values
                };
                outcome = failure(
                    soak,
                    to,
                    Some(head.status),
                    &head.code(),
                    r0,
                    Instant::now(),
                    String::new(),
                );
            }
            Err(e) => outcome = io_failure(soak, "answer", &e, r0),
        }
    }
    let _ = stream.set_zero_linger();
    drop(stream);
    soak.rec
        .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
}

fn path_key(soak: &Soak, path: &str) -> String {
    soak.names
        .objects
        .iter()
        .find(|o| path.contains(&format!("key={}", enc(&o.key))))
        .map(|o| o.key.clone())
        .unwrap_or_default()
}

fn head_seen(head: &Head, r0: Instant, r1: Instant) -> Seen {
    Seen {
        r0,
        r1,
        cache: Cache::parse(head.header("x-cache")),
        age: head.header("age").and_then(|a| a.parse().ok()),
        shape: Shape::Single,
    }
}

/// A slow reader of an S3 body: a large object abandoned after 20-30 s, or a small one read to
/// its end at 1 KiB/s. Every byte read is checked.
async fn slow_reader(soak: &Soak, rng: &mut Rng, large: bool) {
    let objects: Vec<_> = soak
        .names
        .objects
        .iter()
        .filter(|o| o.large == large && (large || o.base <= 8 << 10))
        .collect();
    let o = *rng.pick(&objects);
    let op = if large {
        "slow reader, abandoned (large S3 raw)"
    } else {
        "slow reader to the end (small S3 raw)"
    };
    let r0 = Instant::now();
    let connected = async {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        socket.connect(soak.main_addr).await
    };
    let mut stream = match connected.await {
        Ok(s) => s,
        Err(e) => {
            let outcome = io_failure(soak, "connect", &e, r0);
            soak.rec
                .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
            tokio::time::sleep(Duration::from_secs(1)).await;
            return;
        }
    };
    if let Err(e) = stream
        .write_all(request(soak, &s3_raw_path(soak, &o.key), true).as_bytes())
        .await
    {
        let outcome = io_failure(soak, "send", &e, r0);
        soak.rec
            .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
        return;
    }
    let head = match read_head(&mut stream).await {
        Ok(h) => h,
        Err(e) => {
            let outcome = io_failure(soak, "answer", &e, r0);
            soak.rec
                .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
            return;
        }
    };
    let r1 = Instant::now();
    if head.status != 200 {
        let outcome = failure(
            soak,
            Upstream::S3,
            Some(head.status),
            &head.code(),
            r0,
            r1,
            String::new(),
        );
        soak.rec.record(Iface::Misbehave, op, r0, r1, outcome);
        tokio::time::sleep(Duration::from_secs(1)).await;
        return;
    }
    let total: Option<u64> = head.header("content-length").and_then(|l| l.parse().ok());
    let seen = head_seen(&head, r0, r1);
    let mut body = head.rest.clone();
    let (step, every, budget) = if large {
        (
            24,
            Duration::from_millis(400),
            Duration::from_secs(20 + rng.below(10) as u64),
        )
    } else {
        (256, Duration::from_millis(250), Duration::from_secs(60))
    };
    let until = Instant::now() + budget;
    let mut chunk = vec![0u8; step];
    let mut ended = false;
    while Instant::now() < until && !soak.stopping() {
        if total.is_some_and(|t| body.len() as u64 >= t) {
            ended = true;
            break;
        }
        tokio::time::sleep(every).await;
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                ended = true;
                break;
            }
            Ok(Ok(k)) => body.extend_from_slice(&chunk[..k]),
            Ok(Err(e)) => {
                let outcome = io_failure(soak, "slow read", &e, r0);
                soak.rec
                    .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
                return;
            }
            Err(_) => break,
        }
    }
    let mut result = soak
        .model
        .check_object(&o.key, Some((0, &body)), None, total, &seen)
        .map(drop);
    if !large && result.is_ok() && !soak.stopping() && (!ended || total != Some(body.len() as u64))
    {
        result = Err(format!(
            "{}: slow read ended after {} of {total:?} bytes",
            o.key,
            body.len()
        ));
    }
    soak.rec.note(
        if large {
            "slow reader bytes read before abandoning"
        } else {
            "slow reader bytes read to the end"
        },
        body.len() as f64,
    );
    let outcome = checked(soak, Upstream::S3, result, &seen);
    drop(stream);
    soak.rec
        .record(Iface::Misbehave, op, r0, Instant::now(), outcome);
}
