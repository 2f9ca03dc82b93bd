//! Entry point: read configuration, set up logging, run. Everything else is in the library.
//!
//! The C `main` rather than Rust's: std's start-up code (`lang_start`) asks glibc for the main
//! thread's stack bounds to place a guard, and glibc finds them by reading and `sscanf`-ing
//! `/proc/self/maps`: ~110k instructions plus the kernel rendering that file, about 0.1 ms of
//! CPU on every cold start (docs/performance.md, issue 24). What else it does that matters
//! here is done in `main` below. Without it a stack overflow of the main thread ends the
//! process with SIGSEGV rather than std's message; it ends the process either way.
#![no_main]

use std::ffi::{c_char, c_int};

use sidecache::config::{self, Config, ProcessEnv};

#[global_allocator]
static GLOBAL: sidecache::allocator::Mimalloc = sidecache::allocator::Mimalloc;

/// The process entry: std's runtime set-up that matters here, then `run`. (`std::env::args`
/// needs none: on glibc std reads the arguments from an `.init_array` hook.)
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    standard_fds_open();
    // A write to a socket or pipe whose reader has gone must fail with EPIPE, not kill the
    // extension (std ignores SIGPIPE the same way before its `main`).
    // SAFETY: sets a signal disposition before any thread exists; SIG_IGN runs no code.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // A panic here is reported by the panic hook; the exit code is std's for it.
    std::panic::catch_unwind(run).unwrap_or(101)
}

/// libm's `pow`, the one function of libm.so.6 the executable calls (the SDK's retry backoff):
/// defined here (musl's, through the `libm` crate), the linker leaves libm.so.6 out and no
/// process loads it, ~0.07 ms of CPU less per exec on the machine of docs/performance.md.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// File descriptors 0-2 open, on /dev/null if not, as std makes sure before its `main`: a
/// socket opened later must never become stdout and receive log lines.
fn standard_fds_open() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: polls three entries of a live array, returning at once (timeout 0).
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } < 0 {
        return;
    }
    for fd in fds.iter().filter(|fd| fd.revents & libc::POLLNVAL != 0) {
        // SAFETY: opens a NUL-terminated path; the lowest free descriptor is the closed one.
        let opened = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        if opened != fd.fd {
            std::process::abort();
        }
    }
}

fn run() -> c_int {
    if std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--version" || a == "-V")
    {
        println!("sidecache {}", sidecache::app::VERSION);
        return 0;
    }
    let env = ProcessEnv;
    let (level, format) = config::logging_from_env(&env);
    sidecache::logging::init(level, format);
    for (name, closest) in config::unknown_vars(&env) {
        tracing::warn!("unknown variable {name} is ignored; did you mean {closest}?");
    }
    for (name, why) in config::unread_appconfig_vars(&env) {
        tracing::warn!("{name} is ignored: {why}");
    }
    let config = Config::from_env(&env);
    let runtime_api = config::runtime_api(&env);
    // Lambda requires the registered name to be the file name under /opt/extensions.
    let name = std::env::args()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "sidecache".to_owned());
    // One thread: a Lambda function gets a fraction of one core, so worker threads only add
    // start-up work, scheduling cost per request and a glibc heap arena each (memory kept after
    // bursts). See docs/performance.md.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(sidecache::lifecycle::run(config, &name, runtime_api));
    // Exit at once: Lambda's SHUTDOWN deadline leaves no time to wind down idle pool tasks.
    std::process::exit(code);
}
