//! sidecache: a local cache for SSM parameters, Secrets Manager secrets and S3 objects, run as
//! an AWS Lambda extension or as a standalone sidecar. See docs/architecture.md for the map.

pub mod allocator;
pub mod app;
pub mod auth;
pub mod aws;
pub mod awsapi;
pub mod cache;
pub mod config;
pub mod error;
pub mod extensions_api;
/// The pure parsers and checks, reached by the fuzz targets (fuzz/); not an API.
#[doc(hidden)]
pub mod fuzzing;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod model;
#[cfg(test)]
mod module_graph;
pub mod object_files;
pub mod prefetch;
pub mod query;
pub mod restore;
pub mod routes;
pub mod server;
pub mod stats;
pub mod timeline;
pub mod upstream;
