//! Entry point: read configuration, set up logging, run. Everything else is in the library.

use sidecache::config::{self, Config, ProcessEnv};

#[global_allocator]
static GLOBAL: sidecache::allocator::Mimalloc = sidecache::allocator::Mimalloc;

fn main() {
    if std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--version" || a == "-V")
    {
        println!("sidecache {}", sidecache::app::VERSION);
        return;
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
