//! Secrets Manager: GetSecretValue and BatchGetSecretValue into our [`Secret`].

use super::errors::upstream_error;
use super::rfc3339;
use crate::model::{
    Secret, SecretError, SecretRequest, SecretsBatchRequest, SecretsFound, SecretsSelection,
    Service, UpstreamError,
};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use base64::Engine;

/// BatchGetSecretValue's page size with filters (its maximum).
const FILTER_PAGE: i32 = 20;

pub async fn get_secret(
    client: &aws_sdk_secretsmanager::Client,
    request: &SecretRequest,
) -> Result<Secret, UpstreamError> {
    let output = client
        .get_secret_value()
        .secret_id(&request.secret_id)
        .set_version_id(request.version_id.clone())
        .set_version_stage(request.version_stage.clone())
        .send()
        .await
        .map_err(|e| upstream_error(Service::SecretsManager, "GetSecretValue", e))?;
    Ok(Secret {
        arn: output.arn,
        created_date: output.created_date.as_ref().and_then(rfc3339),
        name: output.name,
        secret_binary: output.secret_binary.map(|blob| base64_of(blob.as_ref())),
        secret_string: output.secret_string,
        version_id: output.version_id,
        version_stages: output.version_stages,
    })
}

/// Every page of BatchGetSecretValue. With an id list the caller keeps to 20 ids; `MaxResults`
/// is only allowed with filters (AWS and moto refuse it otherwise).
pub async fn batch_get_secrets(
    client: &aws_sdk_secretsmanager::Client,
    request: &SecretsBatchRequest,
) -> Result<SecretsFound, UpstreamError> {
    let mut found = SecretsFound::default();
    let mut next_token = None;
    loop {
        let call = client.batch_get_secret_value().set_next_token(next_token);
        let call = match &request.selection {
            SecretsSelection::Ids(ids) => call.set_secret_id_list(Some(ids.clone())),
            SecretsSelection::Filter { key, value } => call
                .filters(
                    Filter::builder()
                        .key(FilterNameStringType::from(key.as_str()))
                        .values(value)
                        .build(),
                )
                .max_results(FILTER_PAGE),
        };
        let output = call
            .send()
            .await
            .map_err(|e| upstream_error(Service::SecretsManager, "BatchGetSecretValue", e))?;
        found.secrets.extend(
            output
                .secret_values
                .unwrap_or_default()
                .into_iter()
                .map(|v| Secret {
                    arn: v.arn,
                    created_date: v.created_date.as_ref().and_then(rfc3339),
                    name: v.name,
                    secret_binary: v.secret_binary.map(|blob| base64_of(blob.as_ref())),
                    secret_string: v.secret_string,
                    version_id: v.version_id,
                    version_stages: v.version_stages,
                }),
        );
        found.errors.extend(
            output
                .errors
                .unwrap_or_default()
                .into_iter()
                .map(|e| SecretError {
                    secret_id: e.secret_id.unwrap_or_default(),
                    error_code: e.error_code.unwrap_or_default(),
                    message: e.message.unwrap_or_default(),
                }),
        );
        next_token = output.next_token.filter(|t| !t.is_empty());
        if next_token.is_none() {
            return Ok(found);
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
