//! The fault phases: what the fault proxy (in front of moto: SSM, Secrets Manager, S3) and the
//! fake AppConfig Data do during each phase, applied by one controller task and logged with
//! their times, so that the checker can tell whether an error or a stale answer is explained.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sidecache_tests::fake_appconfig::Failure;
use sidecache_tests::{FakeAppConfig, Fault, FaultProxy};

/// What the fault proxy does to SSM, Secrets Manager and S3 calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Up {
    Calm,
    /// Every call delayed this many milliseconds before it is forwarded.
    Latency(u64),
    /// 500 InternalFailure (S3: 500 InternalError).
    Status500,
    /// 400 ThrottlingException (S3: 503 SlowDown).
    Throttle,
    /// The request read, the connection dropped unanswered.
    Refuse,
    /// Calm and 500s alternating every two seconds.
    Flap,
}

/// What the fake AppConfig Data does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ac {
    Calm,
    /// 500 InternalServerException to every call.
    Fail,
    /// 429 ThrottlingException to every call.
    Throttle,
    /// Every answer delayed this many milliseconds (past the poll timeout when > 1000).
    Latency(u64),
    /// Every outstanding token expired every two seconds (sidecache must start new sessions,
    /// unseen by readers: not a fault that excuses anything).
    Expire,
    /// Not listening: connections refused.
    Stop,
}

impl Up {
    pub fn label(self) -> String {
        match self {
            Up::Calm => "calm".into(),
            Up::Latency(ms) => format!("latency {ms} ms"),
            Up::Status500 => "500s".into(),
            Up::Throttle => "throttling".into(),
            Up::Refuse => "refused".into(),
            Up::Flap => "flapping 500s".into(),
        }
    }
}

impl Ac {
    pub fn label(self) -> String {
        match self {
            Ac::Calm => "calm".into(),
            Ac::Fail => "500s".into(),
            Ac::Throttle => "throttling".into(),
            Ac::Latency(ms) => format!("latency {ms} ms"),
            Ac::Expire => "tokens expire".into(),
            Ac::Stop => "refused".into(),
        }
    }

    /// Whether AppConfig answers are allowed to be stale or failed during it.
    pub fn excuses(self) -> bool {
        !matches!(self, Ac::Calm | Ac::Expire)
    }
}

/// The phases between the first and the last, which are calm (for comparable latencies at
/// the start and the end), cycled in this order.
const CYCLE: [(Up, Ac); 8] = [
    (Up::Latency(300), Ac::Calm),
    (Up::Status500, Ac::Expire),
    (Up::Calm, Ac::Fail),
    (Up::Throttle, Ac::Latency(1500)),
    (Up::Latency(3000), Ac::Calm),
    (Up::Refuse, Ac::Throttle),
    (Up::Flap, Ac::Stop),
    (Up::Calm, Ac::Expire),
];

/// The plan: `count` phases of `length`, calm first and last.
pub fn schedule(count: usize) -> Vec<(Up, Ac)> {
    (0..count)
        .map(|i| {
            if i == 0 || i + 1 == count {
                (Up::Calm, Ac::Calm)
            } else {
                CYCLE[(i - 1) % CYCLE.len()]
            }
        })
        .collect()
}

#[derive(Clone, Debug)]
pub struct Phase {
    pub index: usize,
    pub start: Instant,
    /// None while it lasts.
    pub end: Option<Instant>,
    pub up: Up,
    pub ac: Ac,
}

/// Every phase so far, with its times.
#[derive(Default)]
pub struct Log {
    phases: Mutex<Vec<Phase>>,
}

impl Log {
    /// Phases that overlap `[a, b]`.
    pub fn overlapping(&self, a: Instant, b: Instant) -> Vec<Phase> {
        self.phases
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.start <= b && p.end.is_none_or(|e| e >= a))
            .cloned()
            .collect()
    }

    /// The longest upstream latency injected at any time in `[a, b]`.
    pub fn up_latency(&self, a: Instant, b: Instant) -> Duration {
        self.overlapping(a, b)
            .iter()
            .map(|p| match p.up {
                Up::Latency(ms) => Duration::from_millis(ms),
                _ => Duration::ZERO,
            })
            .max()
            .unwrap_or_default()
    }

    /// The longest AppConfig latency injected at any time in `[a, b]`.
    pub fn ac_latency(&self, a: Instant, b: Instant) -> Duration {
        self.overlapping(a, b)
            .iter()
            .map(|p| match p.ac {
                Ac::Latency(ms) => Duration::from_millis(ms),
                _ => Duration::ZERO,
            })
            .max()
            .unwrap_or_default()
    }

    /// The start of the AppConfig fault that excuses stale answers at `[a, b]`: the earliest
    /// excusing phase overlapping it, followed back through the excusing phases right before
    /// it (the last good poll came before all of them).
    pub fn ac_fault_since(&self, a: Instant, b: Instant) -> Option<Instant> {
        let phases = self.phases.lock().unwrap();
        let mut first = phases
            .iter()
            .position(|p| p.ac.excuses() && p.start <= b && p.end.is_none_or(|e| e >= a))?;
        while first > 0 && phases[first - 1].ac.excuses() {
            first -= 1;
        }
        Some(phases[first].start)
    }

    pub fn all(&self) -> Vec<Phase> {
        self.phases.lock().unwrap().clone()
    }

    /// The phase at `t`, if any.
    pub fn at(&self, t: Instant) -> Option<Phase> {
        self.phases
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|p| p.start <= t)
            .cloned()
    }

    fn begin(&self, index: usize, up: Up, ac: Ac) {
        self.phases.lock().unwrap().push(Phase {
            index,
            start: Instant::now(),
            end: None,
            up,
            ac,
        });
    }

    fn finish(&self) {
        if let Some(last) = self.phases.lock().unwrap().last_mut() {
            last.end = Some(Instant::now());
        }
    }
}

/// Runs the plan: each phase applied for `length`, logged before it starts and after it is
/// lifted (so the log's intervals cover the faults' effects), until the plan ends or `stop`.
pub async fn run(
    plan: Vec<(Up, Ac)>,
    length: Duration,
    proxy: Arc<FaultProxy>,
    fake: Arc<FakeAppConfig>,
    log: Arc<Log>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    for (index, (up, ac)) in plan.into_iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        log.begin(index, up, ac);
        apply_up(&proxy, up, false);
        apply_ac(&fake, ac).await;
        let end = Instant::now() + length;
        let mut flap = false;
        while Instant::now() < end && !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_secs(2).min(end - Instant::now())).await;
            if up == Up::Flap {
                flap = !flap;
                apply_up(&proxy, up, flap);
            }
            if ac == Ac::Expire {
                fake.expire_tokens();
            }
        }
        apply_up(&proxy, Up::Calm, false);
        lift_ac(&fake, ac).await;
        log.finish();
    }
}

fn apply_up(proxy: &FaultProxy, up: Up, flap_on: bool) {
    proxy.set_fault(match up {
        Up::Calm => Fault::None,
        Up::Latency(ms) => Fault::Latency(Duration::from_millis(ms)),
        Up::Status500 => Fault::Status500,
        Up::Throttle => Fault::Throttle,
        Up::Refuse => Fault::Refuse,
        Up::Flap if flap_on => Fault::Status500,
        Up::Flap => Fault::None,
    });
}

const FOREVER: usize = 1 << 40;

async fn apply_ac(fake: &FakeAppConfig, ac: Ac) {
    match ac {
        Ac::Calm => {}
        Ac::Fail => fake.fail_next(FOREVER, Failure::Internal),
        Ac::Throttle => fake.fail_next(FOREVER, Failure::Throttle),
        Ac::Latency(ms) => fake.set_latency(Duration::from_millis(ms)),
        Ac::Expire => fake.expire_tokens(),
        Ac::Stop => fake.stop_listening().await,
    }
}

async fn lift_ac(fake: &FakeAppConfig, ac: Ac) {
    match ac {
        Ac::Calm | Ac::Expire => {}
        Ac::Fail | Ac::Throttle => fake.fail_next(0, Failure::Internal),
        Ac::Latency(_) => fake.set_latency(Duration::ZERO),
        Ac::Stop => fake.resume_listening().await,
    }
}
