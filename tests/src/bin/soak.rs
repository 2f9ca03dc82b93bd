//! `soak`: sidecache under mixed load for a long time (docs/reliability.md, "Soak").
//!
//! One sidecache process (the binary `SIDECACHE_BIN` names, as for the e2e tests) reads from
//! moto through the fault proxy and from the fake AppConfig Data, and this program:
//! - drives every interface at a moderate rate: the GET endpoints, the SDK's signed JSON 1.1
//!   calls, S3's REST API with ranges and conditions, the AppConfig Agent's route;
//! - rotates every value upstream all along (straight to moto and the fake, and some writes
//!   through sidecache's SDK pass-through), invalidates entries, and moves through phases of
//!   upstream faults (latency, 500s, throttling, refused connections; AppConfig failures,
//!   latency, expiring tokens);
//! - keeps misbehaving clients going in the background (stalled heads, resets, slow readers);
//! - checks every answer against a model of what upstream held when (`check.rs`), and
//!   explains every error by a fault or reports it;
//! - samples sidecache's RSS, open file descriptors, threads and S3 directory each minute.
//!
//! Usage: `soak [--minutes N] [--report FILE] [--rate R] [--phase-seconds S]
//! [--stalled N] [--slow-readers N] [--sidecache-log FILE]` (`make soak`; `SOAK_MINUTES=2 make soak` for a short run).
//! Exits non-zero when any answer was wrong, any error unexplained, resources grew, or temp
//! files were left.

#[path = "soak/check.rs"]
mod check;
#[path = "soak/content.rs"]
mod content;
#[path = "soak/faults.rs"]
mod faults;
#[path = "soak/load.rs"]
mod load;
#[path = "soak/misbehave.rs"]
mod misbehave;
#[path = "soak/record.rs"]
mod record;
#[path = "soak/report.rs"]
mod report;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_ssm::types::ParameterType;
use aws_smithy_http_client::Builder as HttpClientBuilder;
use serde_json::Value;
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::{enc, free_port};
use sidecache_tests::{moto, FakeAppConfig, FaultProxy, Sidecar};

use crate::check::{Kind, Model, Timing, Upstream};
use crate::content::Rng;
use crate::record::{Iface, Outcome, Recorder};

const TOKEN: &str = "soak-token";
const TTL: u64 = 10;
const S3_TTL: u64 = 10;
const STALE_IF_ERROR: u64 = 45;
const UPSTREAM_TIMEOUT_MS: u64 = 2000;
const AC_INTERVAL: u64 = 2;
const AC_TIMEOUT_MS: u64 = 1000;
const HEADER_TIMEOUT: u64 = 3;
const S3_MAX_BYTES: u64 = 2 << 20;

#[derive(Clone, Debug)]
pub struct Options {
    pub minutes: f64,
    pub report: Option<PathBuf>,
    /// Requests per second of the well-behaved load, all interfaces together.
    pub rate: f64,
    pub phase_seconds: Option<f64>,
    pub stalled: usize,
    pub slow_readers: usize,
    /// Where sidecache's own log goes (default: beside the report).
    pub sidecache_log: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        minutes: 30.0,
        report: None,
        rate: 300.0,
        phase_seconds: None,
        stalled: 3,
        slow_readers: 3,
        sidecache_log: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |v: String, name: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{name}: not a number: {v}"))
        };
        match arg.as_str() {
            "--minutes" => o.minutes = number(value("--minutes")?, "--minutes")?,
            "--report" => o.report = Some(PathBuf::from(value("--report")?)),
            "--sidecache-log" => o.sidecache_log = Some(PathBuf::from(value("--sidecache-log")?)),
            "--rate" => o.rate = number(value("--rate")?, "--rate")?,
            "--phase-seconds" => o.phase_seconds = Some(number(value("--phase-seconds")?, "--phase-seconds")?),
            "--stalled" => o.stalled = number(value("--stalled")?, "--stalled")? as usize,
            "--slow-readers" => o.slow_readers = number(value("--slow-readers")?, "--slow-readers")? as usize,
            "-h" | "--help" => {
                return Err("usage: soak [--minutes N (30)] [--report FILE] [--rate REQ_PER_S (300)] \
                            [--phase-seconds S (minutes*60/20)] [--stalled N (3)] [--slow-readers N (3)] \
                            [--sidecache-log FILE (beside the report)]"
                    .into())
            }
            other => return Err(format!("unknown argument {other}; see --help")),
        }
    }
    if o.minutes <= 0.0 || o.rate <= 0.0 {
        return Err("--minutes and --rate must be positive".into());
    }
    Ok(o)
}

pub struct Param {
    pub name: String,
    pub secure: bool,
}

pub struct Obj {
    pub key: String,
    pub large: bool,
    pub base: u64,
}

#[derive(Clone)]
pub struct Profile {
    pub name: String,
    /// A feature-flag profile (JSON, one flag `feature` whose `tag` is the version label).
    pub flags: bool,
}

#[derive(Clone)]
pub struct Tree {
    pub path: String,
    pub recursive: bool,
    pub decrypt: bool,
    pub names: Vec<String>,
}

pub struct Names {
    pub params: Vec<Param>,
    pub secrets: Vec<String>,
    pub bucket: String,
    pub objects: Vec<Obj>,
    pub app: String,
    pub env: String,
    pub profiles: Vec<Profile>,
    pub trees: Vec<Tree>,
}

/// Everything the tasks share.
pub struct Soak {
    pub t0: Instant,
    pub stop: Arc<AtomicBool>,
    pub model: Model,
    pub rec: Recorder,
    pub names: Names,
    pub http: reqwest::Client,
    pub token: String,
    pub main: String,
    pub agent: String,
    pub main_addr: SocketAddr,
    pub agent_addr: SocketAddr,
    pub header_timeout: Duration,
    pub sdk_ssm: aws_sdk_ssm::Client,
    pub sdk_secrets: aws_sdk_secretsmanager::Client,
    pub sdk_s3: aws_sdk_s3::Client,
    pub moto_ssm: aws_sdk_ssm::Client,
    pub moto_secrets: aws_sdk_secretsmanager::Client,
    pub moto_s3: aws_sdk_s3::Client,
    pub fake: Arc<FakeAppConfig>,
    /// One lock per name: writes of a name are serialized.
    locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

impl Soak {
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

fn names() -> Names {
    let mut params = Vec::new();
    for (group, secure) in [("a", false), ("b", false), ("c", true)] {
        for i in 0..8 {
            params.push(Param {
                name: format!("/soak/p/{group}/{i:02}"),
                secure,
            });
        }
    }
    let under = |prefix: &str| -> Vec<String> {
        params
            .iter()
            .filter(|p| p.name.starts_with(prefix))
            .map(|p| p.name.clone())
            .collect()
    };
    let trees = vec![
        Tree {
            path: "/soak/p/a".into(),
            recursive: false,
            decrypt: false,
            names: under("/soak/p/a/"),
        },
        Tree {
            path: "/soak/p/c".into(),
            recursive: false,
            decrypt: true,
            names: under("/soak/p/c/"),
        },
        Tree {
            path: "/soak/p".into(),
            recursive: true,
            decrypt: true,
            names: under("/soak/p/"),
        },
    ];
    let mut objects: Vec<Obj> = (0..12)
        .map(|i| Obj {
            key: format!("small/{i:02}.bin"),
            large: false,
            base: 1024 * (1 + 5 * i),
        })
        .collect();
    objects.extend((0..3).map(|i| Obj {
        key: format!("large/{i:02}.bin"),
        large: true,
        base: 768 << 10,
    }));
    Names {
        params,
        secrets: (0..12).map(|i| format!("soak/s/{i:02}")).collect(),
        bucket: format!("soak-{}", std::process::id()),
        objects,
        app: "soak-app".into(),
        env: "prod".into(),
        profiles: vec![
            Profile {
                name: "cfg-0".into(),
                flags: false,
            },
            Profile {
                name: "cfg-1".into(),
                flags: false,
            },
            Profile {
                name: "cfg-2".into(),
                flags: false,
            },
            Profile {
                name: "flags".into(),
                flags: true,
            },
        ],
        trees,
    }
}

fn sdk_config_parts() -> (
    aws_sdk_ssm::config::Credentials,
    aws_sdk_ssm::config::SharedHttpClient,
) {
    (
        aws_sdk_ssm::config::Credentials::new("testing", "testing", None, None, "soak"),
        HttpClientBuilder::new().build_http(),
    )
}

/// SDK clients pointed at sidecache: no retries (every error counted), a 20 s limit.
fn sdk_clients(
    endpoint: &str,
) -> (
    aws_sdk_ssm::Client,
    aws_sdk_secretsmanager::Client,
    aws_sdk_s3::Client,
) {
    use aws_sdk_ssm::config::retry::RetryConfig;
    use aws_sdk_ssm::config::timeout::TimeoutConfig;
    use aws_sdk_ssm::config::{BehaviorVersion, Region, StalledStreamProtectionConfig};
    let (credentials, http) = sdk_config_parts();
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(3))
        .build();
    let ssm = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(moto::REGION))
        .credentials_provider(credentials.clone())
        .endpoint_url(endpoint)
        .http_client(http.clone())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts.clone())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    let secrets = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(moto::REGION))
        .credentials_provider(credentials.clone())
        .endpoint_url(endpoint)
        .http_client(http.clone())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts.clone())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(moto::REGION))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .build();
    (
        aws_sdk_ssm::Client::from_conf(ssm),
        aws_sdk_secretsmanager::Client::from_conf(secrets),
        aws_sdk_s3::Client::from_conf(s3),
    )
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run(opts))
}

async fn run(opts: Options) -> ExitCode {
    let t0 = Instant::now();
    let total = Duration::from_secs_f64(opts.minutes * 60.0);
    let phase_len = Duration::from_secs_f64(
        opts.phase_seconds
            .unwrap_or((opts.minutes * 60.0 / 20.0).max(15.0)),
    );
    let phases = ((total.as_secs_f64() / phase_len.as_secs_f64()).ceil() as usize).max(1);
    let binary = sidecache_tests::sidecar::binary();
    eprintln!(
        "soak: {} min against {}, {} phases of {:.0} s, {} req/s",
        opts.minutes,
        binary.display(),
        phases,
        phase_len.as_secs_f64(),
        opts.rate
    );

    // Upstream: moto behind the fault proxy, the fake AppConfig Data.
    let names = names();
    let fault_log = Arc::new(faults::Log::default());
    let timing = Timing {
        ttl: Duration::from_secs(TTL),
        s3_ttl: Duration::from_secs(S3_TTL),
        stale_if_error: Duration::from_secs(STALE_IF_ERROR),
        ac_interval: Duration::from_secs(AC_INTERVAL),
        ac_timeout: Duration::from_millis(AC_TIMEOUT_MS),
        upstream_timeout: Duration::from_millis(UPSTREAM_TIMEOUT_MS),
    };
    let model = Model::new(fault_log.clone(), timing, t0);
    let (moto_ssm, moto_secrets, moto_s3) = (moto::ssm(), moto::secrets(), moto::s3());
    let proxy = Arc::new(FaultProxy::start().await);
    let fake = Arc::new(FakeAppConfig::start().await);
    fake.set_next_poll_interval(Some(1));

    let agent_port = free_port();
    let builder = Sidecar::builder(&proxy)
        .env("SIDECACHE_TOKEN", TOKEN)
        .client_token(Some(TOKEN))
        .env("SSM_PARAMETER_STORE_TTL", TTL.to_string())
        .env("SECRETS_MANAGER_TTL", TTL.to_string())
        .env("SIDECACHE_S3_TTL", S3_TTL.to_string())
        .env("SIDECACHE_STALE_IF_ERROR", STALE_IF_ERROR.to_string())
        .env(
            "SSM_PARAMETER_STORE_TIMEOUT_MILLIS",
            UPSTREAM_TIMEOUT_MS.to_string(),
        )
        .env(
            "SECRETS_MANAGER_TIMEOUT_MILLIS",
            UPSTREAM_TIMEOUT_MS.to_string(),
        )
        .env("SIDECACHE_S3_MAX_BYTES", S3_MAX_BYTES.to_string())
        .env("SIDECACHE_HEADER_TIMEOUT", HEADER_TIMEOUT.to_string())
        .env(fake.endpoint_env().0, fake.url())
        .env("AWS_APPCONFIG_EXTENSION_HTTP_PORT", agent_port.to_string())
        .env(
            "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS",
            AC_INTERVAL.to_string(),
        )
        .env(
            "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS",
            AC_TIMEOUT_MS.to_string(),
        );
    let s3_dir = PathBuf::from(
        builder
            .env_value("SIDECACHE_S3_DIR")
            .expect("the harness sets it"),
    );
    let settings: Vec<(String, String)> = [
        "SSM_PARAMETER_STORE_TTL",
        "SECRETS_MANAGER_TTL",
        "SIDECACHE_S3_TTL",
        "SIDECACHE_STALE_IF_ERROR",
        "SSM_PARAMETER_STORE_TIMEOUT_MILLIS",
        "SECRETS_MANAGER_TIMEOUT_MILLIS",
        "SIDECACHE_S3_MAX_BYTES",
        "SIDECACHE_HEADER_TIMEOUT",
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS",
        "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS",
    ]
    .iter()
    .map(|k| {
        (
            k.to_string(),
            builder.env_value(k).unwrap_or_default().to_owned(),
        )
    })
    .collect();

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("reqwest client");
    let mut locks = HashMap::new();
    for name in names
        .params
        .iter()
        .map(|p| p.name.clone())
        .chain(names.secrets.iter().cloned())
        .chain(names.objects.iter().map(|o| o.key.clone()))
        .chain(names.profiles.iter().map(|p| p.name.clone()))
    {
        locks.insert(name, Arc::new(tokio::sync::Mutex::new(())));
    }
    // The SDK clients need sidecache's address: known before it starts (the builder's port).
    let port = builder.port();
    let main = format!("http://127.0.0.1:{port}");
    let (sdk_ssm, sdk_secrets, sdk_s3) = sdk_clients(&main);
    let soak = Arc::new(Soak {
        t0,
        stop: Arc::new(AtomicBool::new(false)),
        model,
        // A read waits for its own fetch (the timeout) or one it joined (begun at most a timeout
        // earlier): twice the timeout and a second is more than any correct read takes.
        rec: Recorder::new(t0, Duration::from_millis(2 * UPSTREAM_TIMEOUT_MS + 1000)),
        names,
        http,
        token: TOKEN.into(),
        main: main.clone(),
        agent: format!("http://127.0.0.1:{agent_port}"),
        main_addr: ([127, 0, 0, 1], port).into(),
        agent_addr: ([127, 0, 0, 1], agent_port).into(),
        header_timeout: Duration::from_secs(HEADER_TIMEOUT),
        sdk_ssm,
        sdk_secrets,
        sdk_s3,
        moto_ssm,
        moto_secrets,
        moto_s3,
        fake: fake.clone(),
        locks,
    });
    seed(&soak).await;

    let mut sidecar = builder.spawn().await;
    let pid = sidecar.pid();
    eprintln!(
        "soak: sidecache pid {pid} on {main}, agent port {agent_port}, S3 dir {}",
        s3_dir.display()
    );

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(faults::run(
        faults::schedule(phases),
        phase_len,
        proxy.clone(),
        fake.clone(),
        fault_log.clone(),
        soak.stop.clone(),
    )));
    let shares = [
        (Iface::Get, 0.40, 8),
        (Iface::Sdk, 0.20, 4),
        (Iface::S3, 0.15, 4),
        (Iface::AppConfig, 0.25, 4),
    ];
    for (iface, share, workers) in shares {
        for _ in 0..workers {
            tasks.push(tokio::spawn(load::worker(
                soak.clone(),
                iface,
                opts.rate * share / workers as f64,
            )));
        }
    }
    tasks.push(tokio::spawn(writers(soak.clone())));
    tasks.push(tokio::spawn(invalidator(soak.clone())));
    tasks.push(tokio::spawn(misbehave::run(
        soak.clone(),
        opts.stalled,
        opts.slow_readers,
    )));

    // Sample each minute until the end.
    let mut samples = vec![sample(&soak, pid, &s3_dir, 0).await];
    let end = t0 + total;
    let mut minute = 1;
    loop {
        let due = t0 + Duration::from_secs(60 * minute as u64);
        if due > end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let s = sample(&soak, pid, &s3_dir, minute).await;
        progress(&soak, &fault_log, &s, minute);
        samples.push(s);
        minute += 1;
    }
    tokio::time::sleep_until(end.into()).await;

    // Stop the load, lift every fault, let the misbehaving clients finish.
    soak.stop.store(true, Ordering::SeqCst);
    let stopping = Instant::now();
    for task in tasks {
        if tokio::time::timeout(
            Duration::from_secs(90).saturating_sub(stopping.elapsed()),
            task,
        )
        .await
        .is_err()
        {
            eprintln!("soak: a task did not stop within 90 s");
        }
    }
    proxy.set_fault(sidecache_tests::Fault::None);
    fake.fail_next(0, sidecache_tests::fake_appconfig::Failure::Internal);
    fake.set_latency(Duration::ZERO);
    fake.resume_listening().await;
    // Connections the clients dropped are closed by now; idle pooled ones stay until
    // sidecache's idle timeout (60 s) closes them.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let last = sample(&soak, pid, &s3_dir, usize::MAX).await;
    eprintln!("soak: load stopped; waiting 65 s for idle connections to time out");
    tokio::time::sleep(Duration::from_secs(65)).await;
    let idle = sample(&soak, pid, &s3_dir, usize::MAX).await;
    let leftovers = temp_files(&s3_dir);

    let (status, logs) = sidecar.stop().await;
    let log_path = opts.sidecache_log.clone().or_else(|| {
        opts.report
            .as_ref()
            .map(|r| r.with_extension("sidecache.log"))
    });
    if let Some(path) = &log_path {
        match std::fs::write(path, &logs) {
            Ok(()) => eprintln!("soak: sidecache's log written to {}", path.display()),
            Err(e) => eprintln!("soak: cannot write {}: {e}", path.display()),
        }
    }
    let report = report::Report {
        opts: &opts,
        binary: &binary,
        settings: &settings,
        t0,
        elapsed: stopping.saturating_duration_since(t0),
        phase_len,
        phases: fault_log.all(),
        totals: soak.rec.totals(),
        samples: &samples,
        last: &last,
        idle: &idle,
        leftovers: &leftovers,
        exit: status.map(|s| s.to_string()),
        exited_ok: status.is_some_and(|s| s.success()),
        logs: &logs,
        fake_violations: fake.violations(),
        fake_sessions: fake.sessions_started(),
        fake_polls: fake.polls(),
        proxy_calls: proxy.total(),
        proxy_log: proxy.log(),
        soak_cpu_s: cpu_seconds("self"),
    };
    let (text, ok) = report.render();
    println!("{text}");
    if let Some(path) = &opts.report {
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("soak: cannot write {}: {e}", path.display());
        } else {
            eprintln!("soak: report written to {}", path.display());
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

// ----- upstream content ----------------------------------------------------------------------

/// Version 0 of everything, straight to moto and the fake.
async fn seed(soak: &Soak) {
    let n = &soak.names;
    let mut rng = Rng::seeded();
    for p in &n.params {
        soak.model.add(&p.name, Kind::Param, 0);
        let ok = put_param_moto(soak, &p.name, p.secure, &mut rng).await;
        assert!(ok, "seed {}", p.name);
    }
    for id in &n.secrets {
        soak.model.add(id, Kind::Secret, 0);
        let (v, nonce) = begin(soak, id, false, &mut rng);
        soak.moto_secrets
            .create_secret()
            .name(id)
            .secret_string(content::value(id, v, nonce))
            .send()
            .await
            .unwrap_or_else(|e| panic!("seed secret {id}: {e:?}"));
        soak.model.finish_write(id, v, true, None);
    }
    soak.moto_s3
        .create_bucket()
        .bucket(&n.bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {}: {e:?}", n.bucket));
    for o in &n.objects {
        soak.model.add(&o.key, Kind::Object, o.base);
        assert!(
            put_object_moto(soak, &o.key, &mut rng).await,
            "seed {}",
            o.key
        );
    }
    for p in &n.profiles {
        soak.model.add(&p.name, Kind::Config, 0);
        deploy(soak, p, &mut rng);
    }
}

fn begin(soak: &Soak, name: &str, via: bool, rng: &mut Rng) -> (u32, u64) {
    let nonce = rng.next_u64();
    let (n, _) = soak.model.begin_write(name, via, nonce);
    (n, nonce)
}

async fn put_param_moto(soak: &Soak, name: &str, secure: bool, rng: &mut Rng) -> bool {
    let (v, nonce) = begin(soak, name, false, rng);
    let result = soak
        .moto_ssm
        .put_parameter()
        .name(name)
        .value(content::value(name, v, nonce))
        .r#type(if secure {
            ParameterType::SecureString
        } else {
            ParameterType::String
        })
        .overwrite(true)
        .send()
        .await;
    if let Err(e) = &result {
        eprintln!("soak: moto PutParameter {name} failed: {e:?}");
    }
    soak.model.finish_write(name, v, result.is_ok(), None);
    result.is_ok()
}

async fn put_object_moto(soak: &Soak, key: &str, rng: &mut Rng) -> bool {
    let nonce = rng.next_u64();
    let (v, size) = soak.model.begin_write(key, false, nonce);
    let body = content::object(key, v, nonce, size);
    let result = soak
        .moto_s3
        .put_object()
        .bucket(&soak.names.bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await;
    let etag = result
        .as_ref()
        .ok()
        .and_then(|o| o.e_tag().map(str::to_owned));
    if let Err(e) = &result {
        eprintln!("soak: moto PutObject {key} failed: {e:?}");
    }
    soak.model.finish_write(key, v, result.is_ok(), etag);
    result.is_ok()
}

fn deploy(soak: &Soak, p: &Profile, rng: &mut Rng) {
    let (v, nonce) = begin(soak, &p.name, false, rng);
    let label = content::value(&p.name, v, nonce);
    let n = &soak.names;
    if p.flags {
        let doc = serde_json::json!({"feature": {"enabled": true, "tag": label}});
        soak.fake.deploy(
            &n.app,
            &n.env,
            &p.name,
            doc.to_string(),
            "application/json",
            None,
        );
    } else {
        soak.fake.deploy(
            &n.app,
            &n.env,
            &p.name,
            label,
            "text/plain",
            Some(&format!("v{v}")),
        );
    }
    soak.model.finish_write(&p.name, v, true, None);
}

/// Rotates values all along: a parameter every 0.5 s (a third through sidecache), a secret
/// every second (a third through sidecache), an S3 object every 1.5 s, a configuration every
/// 3 s. Writes of one name never overlap; a failed write through sidecache holds its name for
/// 5 s more (a delayed request may still land).
async fn writers(soak: Arc<Soak>) {
    let mut rng = Rng::seeded();
    let mut tick = 0u64;
    let mut pending = Vec::new();
    while !soak.stopping() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        tick += 1;
        let n = &soak.names;
        let p = rng.pick(&n.params);
        pending.push(tokio::spawn(write_param(
            soak.clone(),
            p.name.clone(),
            p.secure,
            rng.chance(0.33),
            rng.next_u64(),
        )));
        if tick.is_multiple_of(2) {
            let id = rng.pick(&n.secrets).clone();
            pending.push(tokio::spawn(write_secret(
                soak.clone(),
                id,
                rng.chance(0.33),
                rng.next_u64(),
            )));
        }
        if tick.is_multiple_of(3) {
            let o = n
                .objects
                .iter()
                .filter(|o| o.large == rng.chance(0.15))
                .collect::<Vec<_>>();
            let key = rng.pick(&o).key.clone();
            pending.push(tokio::spawn(write_object(
                soak.clone(),
                key,
                rng.next_u64(),
            )));
        }
        if tick.is_multiple_of(6) {
            let p = rng.pick(&n.profiles).clone();
            deploy(&soak, &p, &mut rng);
        }
        pending.retain(|t| !t.is_finished());
    }
    for task in pending {
        let _ = task.await;
    }
}

async fn write_param(soak: Arc<Soak>, name: String, secure: bool, via: bool, seed: u64) {
    let Ok(_guard) = soak.locks[&name].clone().try_lock_owned() else {
        return;
    };
    let mut rng = Rng::new(seed);
    if !via {
        put_param_moto(&soak, &name, secure, &mut rng).await;
        return;
    }
    let (v, nonce) = begin(&soak, &name, true, &mut rng);
    let r0 = Instant::now();
    let result = soak
        .sdk_ssm
        .put_parameter()
        .name(&name)
        .value(content::value(&name, v, nonce))
        .r#type(if secure {
            ParameterType::SecureString
        } else {
            ParameterType::String
        })
        .overwrite(true)
        .send()
        .await;
    let r1 = Instant::now();
    soak.model.finish_write(&name, v, result.is_ok(), None);
    let outcome = match &result {
        Ok(_) => Outcome::Ok(check::Cache::Absent),
        Err(e) => load::sdk_failure(&soak, Upstream::ValuesJson, e, r0, r1),
    };
    soak.rec
        .record(Iface::SdkWrite, "PutParameter", r0, r1, outcome);
    if result.is_err() {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn write_secret(soak: Arc<Soak>, id: String, via: bool, seed: u64) {
    let Ok(_guard) = soak.locks[&id].clone().try_lock_owned() else {
        return;
    };
    let mut rng = Rng::new(seed);
    let (v, nonce) = begin(&soak, &id, via, &mut rng);
    let value = content::value(&id, v, nonce);
    let r0 = Instant::now();
    let result = if via {
        soak.sdk_secrets
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value)
            .send()
            .await
    } else {
        soak.moto_secrets
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value)
            .send()
            .await
    };
    let r1 = Instant::now();
    soak.model.finish_write(&id, v, result.is_ok(), None);
    if via {
        let outcome = match &result {
            Ok(_) => Outcome::Ok(check::Cache::Absent),
            Err(e) => load::sdk_failure(&soak, Upstream::ValuesJson, e, r0, r1),
        };
        soak.rec
            .record(Iface::SdkWrite, "PutSecretValue", r0, r1, outcome);
        if result.is_err() {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    } else if let Err(e) = &result {
        eprintln!("soak: moto PutSecretValue {id} failed: {e:?}");
    }
}

async fn write_object(soak: Arc<Soak>, key: String, seed: u64) {
    let Ok(_guard) = soak.locks[&key].clone().try_lock_owned() else {
        return;
    };
    put_object_moto(&soak, &key, &mut Rng::new(seed)).await;
}

/// Which names (and kinds) an invalidation drops.
type Matcher = Box<dyn Fn(&str, Kind) -> bool + Send>;

/// An invalidation every two seconds: one name of each kind, a prefix, now and then all.
async fn invalidator(soak: Arc<Soak>) {
    let mut rng = Rng::seeded();
    while !soak.stopping() {
        tokio::time::sleep(Duration::from_millis(1500 + rng.below(1000) as u64)).await;
        let n = &soak.names;
        let (op, query, all, matches): (&str, String, bool, Matcher) =
            match rng.weighted(&[40, 25, 24, 5, 1]) {
                0 => {
                    let name = rng.pick(&n.params).name.clone();
                    let q = format!("kind=ssm&name={}", enc(&name));
                    (
                        "kind=ssm&name",
                        q,
                        false,
                        Box::new(move |x: &str, _| x == name),
                    )
                }
                1 => {
                    let id = rng.pick(&n.secrets).clone();
                    let q = format!("kind=secret&name={}", enc(&id));
                    (
                        "kind=secret&name",
                        q,
                        false,
                        Box::new(move |x: &str, _| x == id),
                    )
                }
                2 => {
                    let key = rng.pick(&n.objects).key.clone();
                    let q = format!("kind=s3&name={}", enc(&format!("s3://{}/{key}", n.bucket)));
                    (
                        "kind=s3&name",
                        q,
                        false,
                        Box::new(move |x: &str, _| x == key),
                    )
                }
                3 => (
                    "prefix (ssm)",
                    format!("prefix={}&kind=ssm", enc("/soak/p/a/")),
                    false,
                    Box::new(|x: &str, k| k == Kind::Param && x.starts_with("/soak/p/a/")),
                ),
                _ => (
                    "all=true",
                    "all=true".into(),
                    true,
                    Box::new(|_: &str, k| k != Kind::Config),
                ),
            };
        let r0 = Instant::now();
        let result = load::send(
            soak.http
                .post(format!("{}/cache/invalidate?{query}", soak.main))
                .header(TOKEN_HEADER, &soak.token),
        )
        .await;
        let r1 = Instant::now();
        let outcome = match result {
            Ok(a) if a.status == 200 => {
                soak.model
                    .invalidated(r0, r1, all, |x, k| k != Kind::Config && matches(x, k));
                match serde_json::from_slice::<Value>(&a.body) {
                    Ok(doc) if doc["invalidated"].is_u64() => Outcome::Ok(check::Cache::Absent),
                    _ => Outcome::Wrong(format!(
                        "invalidate {query}: {}",
                        String::from_utf8_lossy(&a.body)
                    )),
                }
            }
            Ok(a) => Outcome::Error {
                cause: format!("{} {}", a.status, a.code()),
                explained: None,
                detail: String::from_utf8_lossy(&a.body).into_owned(),
            },
            Err((cause, detail)) => Outcome::Error {
                cause,
                explained: None,
                detail,
            },
        };
        soak.rec.record(Iface::Invalidate, op, r0, r1, outcome);
    }
}

// ----- sampling ------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// usize::MAX: after the load stopped.
    pub minute: usize,
    pub rss_kb: u64,
    pub fds: usize,
    pub threads: usize,
    pub s3_files: usize,
    pub s3_bytes: u64,
    pub s3_temp: usize,
    /// CPU time sidecache has used so far (user + system), in seconds.
    pub cpu_s: f64,
    pub stats: Option<Value>,
}

/// CPU seconds (user + system) process `pid` has used.
fn cpu_seconds(pid: &str) -> f64 {
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|f| f.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 / hz
}

async fn sample(soak: &Soak, pid: u32, dir: &Path, minute: usize) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let count = |sub: &str| {
        std::fs::read_dir(format!("/proc/{pid}/{sub}"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // `/stats` first: it runs the caches' pending maintenance, which deletes the files of
    // entries that expired meanwhile, so the listing below agrees with it.
    let stats = match load::http_get(soak, &format!("{}/stats", soak.main), true).await {
        Ok(a) if a.status == 200 => serde_json::from_slice(&a.body).ok(),
        _ => None,
    };
    let (mut s3_files, mut s3_bytes, mut s3_temp) = (0, 0, 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                s3_temp += 1;
            } else {
                s3_files += 1;
                s3_bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    Sample {
        minute,
        rss_kb,
        fds: count("fd"),
        threads: count("task"),
        s3_files,
        s3_bytes,
        s3_temp,
        cpu_s: cpu_seconds(&pid.to_string()),
        stats,
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

fn progress(soak: &Soak, faults: &faults::Log, s: &Sample, minute: usize) {
    let m = soak.rec.minute(minute - 1);
    let phase = faults
        .at(Instant::now() - Duration::from_secs(30))
        .map(|p| format!("{} / {}", p.up.label(), p.ac.label()))
        .unwrap_or_default();
    eprintln!(
        "soak: minute {minute:>2} [{phase}] {} requests, {} errors ({} unexplained), {} wrong; \
         RSS {:.1} MB, {} fds, {} threads, S3 {} files {} KiB, {} temp",
        m.requests.iter().sum::<u64>(),
        m.errors.iter().sum::<u64>(),
        m.unexplained.iter().sum::<u64>(),
        m.wrong.iter().sum::<u64>(),
        s.rss_kb as f64 / 1024.0,
        s.fds,
        s.threads,
        s.s3_files,
        s.s3_bytes / 1024,
        s.s3_temp
    );
}
