//! Black-box end-to-end tests of the `sidecache` binary.
//!
//! One test binary with one module per area, because every integration-test binary links the
//! whole AWS SDK (see the shared notes). Each test starts its own fault proxy and sidecar
//! process; moto is shared by the whole process, so every test seeds uniquely named values.
//!
//! Prerequisites: the binary (`cargo build -p sidecache`, or `$SIDECACHE_BIN`) and moto
//! (`.venv` with `moto[server]==5.2.5`, or `$MOTO_PYTHON`). `$SIDECACHE_TEST_RUNNER` runs the
//! binary through a prefix: `make test-arm64` runs lifecycle, parameters, secrets, s3, errors and
//! tls against the arm64 layer binary as `SIDECACHE_TEST_RUNNER=qemu-aarch64-static`.

// The crate root behaves like a `mod.rs`: an inline `e2e` module maps to `tests/e2e/*.rs`.
mod e2e {
    mod common;

    mod agent_compat;
    mod appconfig;
    mod appconfig_fake;
    mod by_path;
    mod cache;
    mod clients;
    mod config;
    mod connection_cap;
    mod connections;
    mod decryption_sharing;
    mod errors;
    mod fleet;
    mod freeze_thaw;
    mod get_many;
    mod harness;
    mod hit_path;
    mod invalidate;
    mod lifecycle;
    mod logs;
    mod managed_instances;
    mod metrics;
    mod parameters;
    mod prefetch;
    mod readable_errors;
    mod roles;
    mod runtime_api;
    mod s3;
    mod s3_files;
    mod s3_large;
    mod s3_limits;
    mod s3_support;
    mod sdk_rust;
    mod secrets;
    mod secrets_batch;
    mod shutdown_deadline;
    mod snapstart;
    mod tls;
    mod tls_trust;
}
