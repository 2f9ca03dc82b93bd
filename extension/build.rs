//! Link options of the `sidecache` executable.
//!
//! The executable is position-independent (PIE), rustc's default, in every build: release,
//! both layer zips, tests. sidecache is the one process of a function that holds every secret
//! it serves, so its own code and data get address-space randomisation like everything else,
//! and image scanners (`checksec`, Amazon Inspector) find nothing to flag.
//! What PIE costs at start-up, measured beside a non-PIE build: docs/performance-history.md,
//! "PIE".
//!
//! `SIDECACHE_NO_PIE=1` at build time links `-no-pie` instead (a fixed load address for the
//! executable; ~0.2-0.3 ms less CPU before the first request, the copy-on-write faults of
//! ~22,700 relocations): an explicit opt-in for comparisons, never the default.
//!
//! The unwinder is linked in (libgcc_eh.a) rather than loaded (libgcc_s.so.1), as the layer's
//! zig-linked binaries have it (zig links its own libunwind for `-lgcc_s`): one shared
//! library less to open, map and relocate at every exec, ~0.1 ms of CPU on the machine of
//! docs/performance.md, and `make bench` measures the binary a function gets. Not under zig,
//! which has no libgcc_eh and needs none.

fn main() {
    println!("cargo:rerun-if-env-changed=SIDECACHE_NO_PIE");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    let zig = std::env::var("RUSTC_LINKER").is_ok_and(|linker| linker.contains("zig"));
    if linux && gnu && !zig {
        // Named before std's `-lgcc_s`, it resolves the unwinder's symbols first, and
        // `--as-needed` then leaves libgcc_s.so.1 out.
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
    let no_pie = std::env::var_os("SIDECACHE_NO_PIE").is_some_and(|v| v == "1");
    if linux && no_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
