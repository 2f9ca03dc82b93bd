//! `roleArn=`: reading with a role assumed through STS (moto's STS), cached per role.

use aws_sdk_ssm::types::ParameterType;
use sidecache_tests::check::assert_api_error;
use sidecache_tests::moto;
use sidecache_tests::util::{enc, unique};

use super::common::{param, started};

/// STS speaks the query protocol: the action is in the POST body, so the proxy sees `POST /`.
const ASSUME_ROLE: &str = "POST /";

#[tokio::test]
async fn a_role_in_the_same_account_reads_and_is_cached_apart() {
    let name = format!("/{}/p", unique("role"));
    let other = format!("/{}/q", unique("role"));
    moto::put_parameter(&name, "via role", ParameterType::String).await;
    moto::put_parameter(&other, "also via role", ParameterType::String).await;
    let (proxy, sc) = started().await;
    let role = enc("arn:aws:iam::123456789012:role/reader");

    let first = sc.get(&param(&name, &format!("&roleArn={role}"))).await;
    assert_eq!(first.ok_json()["Parameter"]["Value"], "via role");
    assert_eq!(proxy.count(ASSUME_ROLE), 1, "{:?}", proxy.log());
    let again = sc.get(&param(&name, &format!("&roleArn={role}"))).await;
    assert_eq!(again.x_cache().as_deref(), Some("hit"));
    // Without the role it is another cache key, read with the extension's own identity.
    let own = sc.get(&param(&name, "")).await;
    assert_eq!(own.x_cache().as_deref(), Some("miss"));
    // The assumed credentials are kept: another read with the role assumes nothing again.
    let second = sc.get(&param(&other, &format!("&roleArn={role}"))).await;
    assert_eq!(second.ok_json()["Parameter"]["Value"], "also via role");
    assert_eq!(proxy.count(ASSUME_ROLE), 1, "{:?}", proxy.log());
    assert_eq!(proxy.count("GetParameter"), 3);
}

#[tokio::test]
async fn a_role_in_another_account_sees_that_account() {
    let name = format!("/{}/p", unique("role-cross"));
    moto::put_parameter(&name, "only in 123456789012", ParameterType::String).await;
    let (proxy, sc) = started().await;
    let role = enc("arn:aws:iam::111111111111:role/reader");
    let resp = sc.get(&param(&name, &format!("&roleArn={role}"))).await;
    assert_api_error(&resp, 404, Some("ParameterNotFound"));
    assert_eq!(proxy.count(ASSUME_ROLE), 1, "{:?}", proxy.log());
}

#[tokio::test]
async fn a_malformed_role_is_refused() {
    let (proxy, sc) = started().await;
    let resp = sc.get(&param("/x", "&roleArn=reader")).await;
    assert_api_error(&resp, 400, Some("InvalidParameter"));
    assert_eq!(proxy.total(), 0);
}
