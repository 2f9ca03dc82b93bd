//! Pass-through: an SSM or Secrets Manager call that sidecache does not answer from its cache
//! (PutParameter, DescribeSecret, ListSecrets, ...) goes on to the service as the caller sent
//! it, signed again with the extension's own credentials (the function's role), and the
//! service's answer comes back unchanged.
//!
//! It goes where the SDK's own client for that service and region would go (an endpoint
//! variable that does not name sidecache, else the SDK's endpoint rules), on the one shared HTTP
//! client, holding one of that client's connection permits.

use super::clients::{configured_endpoint, ClientCache};
use crate::model::{ForwardAnswer, ForwardRequest, Service, UpstreamError, UpstreamErrorKind};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;
use std::time::{Duration, SystemTime};

/// An answer larger than this is not relayed (AWS's answers to these APIs are far smaller).
const MAX_ANSWER: usize = 16 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);
/// The answer's headers worth relaying; the rest (connection, length) are hyper's to write.
const RELAYED: [&str; 4] = [
    "content-type",
    "x-amzn-requestid",
    "x-amzn-errortype",
    "x-amzn-query-error",
];

pub async fn forward(
    clients: &ClientCache,
    request: &ForwardRequest,
) -> Result<ForwardAnswer, UpstreamError> {
    let failed = |kind, message: String| UpstreamError {
        service: request.service,
        kind,
        message: format!(
            "{} {} could not be forwarded: {message}",
            request.service.label(),
            operation_name(&request.operation)
        ),
    };
    let (service_id, signing_name) = match request.service {
        Service::Ssm => ("SSM", "ssm"),
        Service::SecretsManager => ("Secrets Manager", "secretsmanager"),
        Service::S3 | Service::AppConfig => {
            return Err(failed(UpstreamErrorKind::Invalid, "not forwarded".into()))
        }
    };
    let base = clients.base().await;
    // The permit caps concurrent calls per client, forwarded ones included.
    let client = clients.get(request.service, &request.target).await;
    let _permit = client.permit().await;
    let region = request
        .target
        .region
        .clone()
        .or_else(|| base.region().map(|r| r.to_string()))
        .ok_or_else(|| failed(UpstreamErrorKind::Invalid, "no region is configured".into()))?;
    let endpoint = match configured_endpoint(&base, service_id) {
        Some(url) => url,
        None => default_endpoint(request.service, &region, &base)
            .await
            .map_err(|e| failed(UpstreamErrorKind::Invalid, format!("no endpoint ({e})")))?,
    };
    let uri = if endpoint.ends_with('/') {
        endpoint
    } else {
        format!("{endpoint}/")
    };
    let credentials = match base.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.map_err(|e| {
            failed(
                UpstreamErrorKind::Unreachable,
                format!("no credentials ({e})"),
            )
        })?,
        None => return Err(failed(UpstreamErrorKind::Invalid, "no credentials".into())),
    };

    let authority = uri
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| failed(UpstreamErrorKind::Invalid, format!("bad endpoint {uri}")))?;
    let user_agent = format!("sidecache/{}", crate::app::VERSION);
    let headers = [
        ("host", authority.as_str()),
        ("content-type", request.content_type.as_str()),
        ("x-amz-target", request.operation.as_str()),
        ("user-agent", user_agent.as_str()),
    ];
    let identity = credentials.into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name(signing_name)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(UpstreamErrorKind::Invalid, e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(&request.body),
    )
    .map_err(|e| failed(UpstreamErrorKind::Invalid, e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| failed(UpstreamErrorKind::Invalid, e.to_string()))?
        .into_parts();
    let mut outgoing = http::Request::builder().method("POST").uri(&uri);
    for (name, value) in headers {
        outgoing = outgoing.header(name, value);
    }
    let mut outgoing = outgoing
        .body(SdkBody::from(request.body.clone()))
        .map_err(|e| failed(UpstreamErrorKind::Invalid, e.to_string()))?;
    instructions.apply_to_request_http1x(&mut outgoing);
    let outgoing = HttpRequest::try_from(outgoing)
        .map_err(|e| failed(UpstreamErrorKind::Invalid, e.to_string()))?;

    let response = clients
        .http()
        .send(outgoing, Some(CONNECT_TIMEOUT), None)
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() {
                UpstreamErrorKind::Timeout
            } else {
                UpstreamErrorKind::Unreachable
            };
            failed(kind, "no answer".into())
        })?;
    let status = response.status().as_u16();
    let mut relayed = HeaderMap::new();
    for (name, value) in response.headers() {
        let name = name.to_ascii_lowercase();
        if RELAYED.contains(&name.as_str()) {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                relayed.append(name, value);
            }
        }
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|_| {
            failed(
                UpstreamErrorKind::Unreachable,
                "the answer broke off or exceeded 16 MiB".into(),
            )
        })?
        .to_bytes();
    Ok(ForwardAnswer {
        status,
        headers: relayed,
        body,
    })
}

/// `AmazonSSM.PutParameter` -> `PutParameter`, for messages.
fn operation_name(target: &str) -> &str {
    target.rsplit_once('.').map_or(target, |(_, op)| op)
}

/// The endpoint the SDK's rules give a service in `region` (partition, FIPS, dual-stack).
async fn default_endpoint(
    service: Service,
    region: &str,
    base: &SdkConfig,
) -> Result<String, String> {
    let fips = base.use_fips().unwrap_or(false);
    let dual_stack = base.use_dual_stack().unwrap_or(false);
    let endpoint = match service {
        Service::Ssm => {
            use aws_sdk_ssm::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            let params = Params::builder()
                .region(region)
                .use_fips(fips)
                .use_dual_stack(dual_stack)
                .build()
                .map_err(|e| e.to_string())?;
            DefaultResolver::new().resolve_endpoint(&params).await
        }
        Service::SecretsManager => {
            use aws_sdk_secretsmanager::config::endpoint::{
                DefaultResolver, Params, ResolveEndpoint,
            };
            let params = Params::builder()
                .region(region)
                .use_fips(fips)
                .use_dual_stack(dual_stack)
                .build()
                .map_err(|e| e.to_string())?;
            DefaultResolver::new().resolve_endpoint(&params).await
        }
        Service::S3 | Service::AppConfig => return Err("not forwarded".into()),
    };
    endpoint
        .map(|e| e.url().to_owned())
        .map_err(|e| e.to_string())
}
