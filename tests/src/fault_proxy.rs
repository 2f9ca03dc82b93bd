//! A reverse proxy in front of moto, one per test: it forwards every request unchanged
//! (bodies streamed, so large S3 objects pass through), counts requests per AWS operation, and
//! injects faults on demand. It is how a black-box test observes "how many upstream calls did
//! the sidecar make" and "what does the sidecar do when AWS misbehaves" without mocking AWS.
//!
//! Like AWS, it keeps the sidecar's connections alive between requests (moto closes after every
//! answer; the proxy opens one moto connection per request), counts them, and can kill the idle
//! ones as a NAT or firewall does while a Lambda environment is frozen.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::util::poll_until;

/// What the proxy does with the next requests (until changed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward unchanged.
    None,
    /// Wait this long, then forward.
    Latency(Duration),
    /// Answer 500 InternalFailure.
    Status500,
    /// Answer 400 ThrottlingException (S3 requests: 503 SlowDown, S3's throttling answer).
    Throttle,
    /// Answer `status` with error code `code` (JSON `__type`, or XML `<Code>` for S3).
    Error { status: u16, code: String },
    /// Read the request, then drop the connection without answering.
    Refuse,
    /// Answer exactly this, whatever the protocol expects (an HTML error page, XML to a JSON
    /// API, garbage): what a load balancer or a broken endpoint might send.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// How `FaultProxy::kill_idle_connections` kills: what the sidecar's next request on such a
/// connection meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// A TCP reset (the far side forgot the connection): "connection reset by peer".
    Reset,
    /// The request is read, then the connection closes unanswered: "connection closed before
    /// message completed" (hyper's `IncompleteMessage`, which the SDK does not retry).
    Close,
}

const ALIVE: u8 = 0;
const KILLED_RESET: u8 = 1;
const KILLED_CLOSE: u8 = 2;

type Body = BoxBody<Bytes, hyper::Error>;

/// One accepted connection from the sidecar.
#[derive(Default)]
struct Conn {
    /// ALIVE, or how it was killed.
    killed: AtomicU8,
    /// A request is being answered on it.
    busy: AtomicBool,
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused by fault injection")
    }
}

impl std::error::Error for Refused {}

struct State {
    upstream: SocketAddr,
    fault: Mutex<Fault>,
    /// Operations in arrival order, counted as soon as the request head arrives so a test can
    /// see a request that is still in flight (e.g. held by `Fault::Latency`).
    received: Mutex<Vec<String>>,
    /// (operation, status) once answered; status 0 for a refused connection.
    answered: Mutex<Vec<(String, u16)>>,
    /// Every connection accepted, for `kill_idle_connections`.
    conns: Mutex<Vec<Weak<Conn>>>,
    accepted: AtomicUsize,
    /// Requests that arrived on a killed connection (and met the kill, not an answer).
    killed_hits: AtomicUsize,
}

/// Handle to a running proxy; stops accepting when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy in front of this process's moto server.
    pub async fn start() -> Self {
        let upstream: SocketAddr = ([127, 0, 0, 1], crate::moto::port()).into();
        Self::start_to(upstream).await
    }

    /// A proxy in front of any HTTP/1 server.
    pub async fn start_to(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State {
            upstream,
            fault: Mutex::new(Fault::None),
            received: Mutex::new(Vec::new()),
            answered: Mutex::new(Vec::new()),
            conns: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            killed_hits: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, state.clone()));
        FaultProxy { addr, state, task }
    }

    /// Base URL to give the sidecar as `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.state.fault.lock().unwrap() = fault;
    }

    /// Requests received for `op` (e.g. `GetParameter`, `GetSecretValue`, `GetObject`),
    /// faulted ones included.
    pub fn count(&self, op: &str) -> usize {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|o| *o == op)
            .count()
    }

    /// All requests received.
    pub fn total(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }

    /// (operation, HTTP status) of every answered request, in order.
    pub fn log(&self) -> Vec<(String, u16)> {
        self.state.answered.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Kills every open connection with no request in progress: the next request on one meets
    /// `how` instead of an answer. Returns how many were killed.
    pub fn kill_idle_connections(&self, how: Kill) -> usize {
        let mark = match how {
            Kill::Reset => KILLED_RESET,
            Kill::Close => KILLED_CLOSE,
        };
        let mut conns = self.state.conns.lock().unwrap();
        conns.retain(|c| c.strong_count() > 0);
        conns
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|c| !c.busy.load(Ordering::SeqCst))
            .filter(|c| c.killed.swap(mark, Ordering::SeqCst) == ALIVE)
            .count()
    }

    /// Requests that arrived on a killed connection.
    pub fn killed_hits(&self) -> usize {
        self.state.killed_hits.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests for `op` have arrived; false on timeout.
    pub async fn wait_count(&self, op: &str, n: usize, timeout: Duration) -> bool {
        poll_until(timeout, || async { (self.count(op) >= n).then_some(()) })
            .await
            .is_some()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        let conn = Arc::new(Conn::default());
        state.conns.lock().unwrap().push(Arc::downgrade(&conn));
        state.accepted.fetch_add(1, Ordering::SeqCst);
        let io = Tripwire {
            stream,
            conn: conn.clone(),
            state: state.clone(),
        };
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let (state, conn) = (state.clone(), conn.clone());
                async move {
                    conn.busy.store(true, Ordering::SeqCst);
                    let answer = handle(state, req).await;
                    conn.busy.store(false, Ordering::SeqCst);
                    answer
                }
            });
            // A service error (Fault::Refuse) makes hyper close the connection unanswered.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(io), service)
                .await;
        });
    }
}

/// The accepted socket, which meets the sidecar's next request with its kill once killed.
struct Tripwire {
    stream: TcpStream,
    conn: Arc<Conn>,
    state: Arc<State>,
}

impl AsyncRead for Tripwire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() == before {
            return Poll::Ready(Ok(()));
        }
        let killed = this.conn.killed.load(Ordering::SeqCst);
        if killed == ALIVE {
            return Poll::Ready(Ok(()));
        }
        // The request's bytes are consumed and forgotten: hyper never sees a request.
        buf.set_filled(before);
        this.state.killed_hits.fetch_add(1, Ordering::SeqCst);
        if killed == KILLED_RESET {
            // Closing with a zero linger sends RST, as a host answers for a forgotten connection.
            let _ = this.stream.set_zero_linger();
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        // End of input: hyper closes the connection without answering.
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Tripwire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Refused> {
    let op = operation(&req);
    state.received.lock().unwrap().push(op.clone());
    let fault = state.fault.lock().unwrap().clone();
    let json = req.headers().contains_key("x-amz-target");
    let resp = match fault {
        Fault::None => forward(state.upstream, req).await,
        Fault::Latency(delay) => {
            tokio::time::sleep(delay).await;
            forward(state.upstream, req).await
        }
        Fault::Status500 if json => error(500, "InternalFailure", "injected", true),
        Fault::Status500 => error(500, "InternalError", "injected", false),
        Fault::Throttle if json => error(400, "ThrottlingException", "Rate exceeded", true),
        Fault::Throttle => error(503, "SlowDown", "Rate exceeded", false),
        Fault::Error { status, code } => error(status, &code, "injected", json),
        Fault::Refuse => {
            state.answered.lock().unwrap().push((op, 0));
            return Err(Refused);
        }
        Fault::Raw {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)).map_err(|n| match n {}).boxed())
            .expect("valid raw response"),
    };
    state
        .answered
        .lock()
        .unwrap()
        .push((op, resp.status().as_u16()));
    Ok(resp)
}

/// The AWS operation a request performs: JSON-protocol services name it in `X-Amz-Target`
/// (`AmazonSSM.GetParameter` -> `GetParameter`); the Rust SDK tags S3 REST calls with an
/// `x-id=` query parameter; otherwise S3 is recognised by method and path shape.
fn operation(req: &Request<Incoming>) -> String {
    if let Some(target) = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    let query = req.uri().query().unwrap_or("");
    if let Some((_, id)) = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "x-id") {
        return id.into_owned();
    }
    let path = req.uri().path().trim_matches('/');
    let object = path.contains('/');
    match (req.method().as_str(), object) {
        ("GET", true) => "GetObject".into(),
        ("HEAD", true) => "HeadObject".into(),
        ("PUT", true) => "PutObject".into(),
        ("GET", false) => "ListObjects".into(),
        ("HEAD", false) => "HeadBucket".into(),
        (method, _) => format!("{method} /{path}"),
    }
}

async fn forward(upstream: SocketAddr, req: Request<Incoming>) -> Response<Body> {
    let stream = match TcpStream::connect(upstream).await {
        Ok(stream) => stream,
        Err(e) => return error(502, "ProxyError", &format!("connect upstream: {e}"), true),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return error(502, "ProxyError", &format!("handshake: {e}"), true),
    };
    tokio::spawn(conn);
    match sender.send_request(req).await {
        Ok(mut resp) => {
            // moto closes after every answer; the sidecar's connection to the proxy stays open.
            for hop in ["connection", "keep-alive"] {
                resp.headers_mut().remove(hop);
            }
            resp.map(BodyExt::boxed)
        }
        Err(e) => error(502, "ProxyError", &format!("upstream: {e}"), true),
    }
}

/// An AWS-shaped error answer: awsJson 1.1 for JSON-protocol services, REST-XML for S3.
fn error(status: u16, code: &str, message: &str, json: bool) -> Response<Body> {
    let (content_type, body) = if json {
        let body = serde_json::json!({ "__type": code, "message": message }).to_string();
        ("application/x-amz-json-1.1", body)
    } else {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Error><Code>{code}</Code><Message>{message}</Message><RequestId>e2e</RequestId></Error>"
        );
        ("application/xml", body)
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-errortype", code)
        .header("x-amzn-requestid", "e2e-fault-proxy")
        .body(Full::new(Bytes::from(body)).map_err(|n| match n {}).boxed())
        .expect("valid error response")
}
