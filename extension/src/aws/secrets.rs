//! Secrets Manager: GetSecretValue into our [`Secret`].

use super::errors::upstream_error;
use super::rfc3339;
use crate::model::{Secret, SecretRequest, Service, UpstreamError};
use base64::Engine;

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
        secret_binary: output
            .secret_binary
            .map(|blob| base64::engine::general_purpose::STANDARD.encode(blob.as_ref())),
        secret_string: output.secret_string,
        version_id: output.version_id,
        version_stages: output.version_stages,
    })
}
