//! Links the `sidecache` executable as position-dependent (`-no-pie`) on Linux.
//!
//! A position-independent executable is relocated by the dynamic loader at every start: for
//! this binary ~0.6 M instructions and ~120 copy-on-write page faults, about 0.4 ms of CPU
//! before the first request, which a 128 MB Lambda function (7 % of a core) pays as ~5 ms of
//! cold start (docs/performance.md, "Start-up"). The price is that the executable's own code
//! and data load at a fixed address (libraries, heap and stack stay randomised).
//! `SIDECACHE_PIE=1` at build time keeps the default PIE link.

fn main() {
    println!("cargo:rerun-if-env-changed=SIDECACHE_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux && std::env::var_os("SIDECACHE_PIE").is_none() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
