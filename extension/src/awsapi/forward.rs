//! Every JSON 1.1 operation the cache does not answer goes on to the service (signed again with
//! the extension's credentials, `aws/forward.rs`) and its answer comes back unchanged. After a
//! successful write, the cached values of the names it touched are dropped, so a read through
//! sidecache after a write through sidecache sees the write.

use super::json::{operation_name, Call};
use super::REQUEST_ID_JSON;
use crate::error::AppError;
use crate::model::{ForwardRequest, Service};
use crate::routes::{Reply, ReplyBody};
use serde::Deserialize;

/// Operations that only read: everything else counts as a write (dropping a cached value
/// needlessly costs one upstream read; keeping a stale one would break read-your-writes).
const READ_PREFIXES: [&str; 4] = ["Get", "Describe", "List", "BatchGet"];

pub async fn forward(call: Call<'_>) -> Result<Reply, AppError> {
    let request = ForwardRequest {
        service: call.service,
        operation: call.operation.to_owned(),
        content_type: call.content_type.to_owned(),
        body: call.body.clone(),
        target: call.target.clone(),
    };
    let answer = call.app.forward(&request).await?;
    let name = operation_name(call.operation);
    let write = !READ_PREFIXES.iter().any(|p| name.starts_with(p));
    if write && (200..300).contains(&answer.status) {
        let names = touched(call.service, &call.body, &answer.body);
        call.app.invalidate_written(call.service, &names);
    }
    let mut reply = Reply::new(ReplyBody::full(answer.body));
    *reply.status_mut() =
        http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *reply.headers_mut() = answer.headers;
    if !reply.headers().contains_key(REQUEST_ID_JSON) {
        reply
            .headers_mut()
            .insert(REQUEST_ID_JSON, super::request_id());
    }
    Ok(reply)
}

/// The members of requests and answers that name a parameter or a secret.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Names {
    name: Option<String>,
    names: Option<Vec<String>>,
    secret_id: Option<String>,
    #[serde(rename = "ARN")]
    arn: Option<String>,
}

/// Every name a write touched: from its input (`Name`, `Names`, `SecretId`) and, for secrets,
/// from its answer (`Name` and `ARN`: a secret cached under its name and written by its ARN
/// is the same secret).
fn touched(service: Service, request: &[u8], answer: &[u8]) -> Vec<String> {
    let read = |json: &[u8]| serde_json::from_slice::<Names>(json).unwrap_or_default();
    let mut names = Vec::new();
    let asked = read(request);
    names.extend(asked.name);
    names.extend(asked.names.into_iter().flatten());
    names.extend(asked.secret_id);
    if service == Service::SecretsManager {
        let answered = read(answer);
        names.extend(answered.name);
        names.extend(answered.arn);
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_name_what_they_touched() {
        assert_eq!(
            touched(
                Service::Ssm,
                br#"{"Name":"/a/b","Value":"v","Overwrite":true}"#,
                b"{}"
            ),
            ["/a/b"]
        );
        assert_eq!(
            touched(
                Service::Ssm,
                br#"{"Names":["/x","/y"]}"#,
                br#"{"DeletedParameters":["/x"]}"#
            ),
            ["/x", "/y"]
        );
        assert_eq!(
            touched(
                Service::SecretsManager,
                br#"{"SecretId":"arn:aws:secretsmanager:r:1:secret:db-AbCdEf","SecretString":"s"}"#,
                br#"{"ARN":"arn:aws:secretsmanager:r:1:secret:db-AbCdEf","Name":"db","VersionId":"v"}"#
            ),
            ["arn:aws:secretsmanager:r:1:secret:db-AbCdEf", "db"]
        );
        // Not JSON, or members of other types: nothing named, nothing dropped.
        assert!(touched(Service::Ssm, b"not json", b"").is_empty());
        assert!(touched(Service::Ssm, br#"{"Name":5}"#, b"").is_empty());
    }
}
