//! Helpers shared by the test modules: starting a default proxy + sidecar pair and building
//! request paths for the two value endpoints.

use sidecache_tests::util::enc;
use sidecache_tests::{FaultProxy, Sidecar, SidecarBuilder};

/// A fresh fault proxy in front of moto and a sidecar using it, with default settings.
pub async fn started() -> (FaultProxy, Sidecar) {
    started_with(|b| b).await
}

/// Like `started`, with the builder adjusted by `configure` (env overrides, token...).
pub async fn started_with(
    configure: impl FnOnce(SidecarBuilder) -> SidecarBuilder,
) -> (FaultProxy, Sidecar) {
    let proxy = FaultProxy::start().await;
    let sidecar = configure(Sidecar::builder(&proxy)).spawn().await;
    (proxy, sidecar)
}

/// `GET /systemsmanager/parameters/get?name=<encoded name><extra>`; `extra` starts with `&`.
pub fn param(name: &str, extra: &str) -> String {
    format!("/systemsmanager/parameters/get?name={}{extra}", enc(name))
}

/// `GET /secretsmanager/get?secretId=<encoded id><extra>`; `extra` starts with `&`.
pub fn secret(id: &str, extra: &str) -> String {
    format!("/secretsmanager/get?secretId={}{extra}", enc(id))
}

/// The `Value` of a 200 parameter answer.
pub fn value_of(resp: &sidecache_tests::Resp) -> String {
    let body = resp.ok_json();
    body["Parameter"]["Value"]
        .as_str()
        .unwrap_or_else(|| panic!("Parameter.Value should be a string in {body}"))
        .to_owned()
}

/// (Name, Value) of each parameter in a list answer (`get-many`, `by-path`), in order.
pub fn listed(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["Parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("Parameters should be a list: {doc}"))
        .iter()
        .map(|p| {
            let field = |f: &str| {
                p[f].as_str()
                    .unwrap_or_else(|| panic!("{f} in {p}"))
                    .to_owned()
            };
            (field("Name"), field("Value"))
        })
        .collect()
}
