//! Support library for the black-box end-to-end tests of the `sidecache` binary.
//!
//! Nothing here links the product: the tests drive the built executable over HTTP, against a
//! real moto server (`moto`), through a fault-injecting reverse proxy (`fault_proxy`), and, for
//! Lambda mode, against a fake of the Lambda Extensions API (`fake_lambda`).

pub mod check;
pub mod fake_appconfig;
pub mod fake_clock;
pub mod fake_lambda;
pub mod fault_proxy;
pub mod moto;
pub mod resp;
pub mod sidecar;
pub mod tls;
pub mod util;

pub use fake_appconfig::FakeAppConfig;
pub use fake_clock::FakeClock;
pub use fake_lambda::FakeLambda;
pub use fault_proxy::{Fault, FaultProxy};
pub use resp::Resp;
pub use sidecar::{Sidecar, SidecarBuilder};
pub use tls::TlsProxy;
