//! The AWS JSON 1.1 inputs as the handlers read them (awsapi/ssm.rs, awsapi/secrets.rs,
//! awsapi/appconfig.rs), repeated in the handlers' order: keep in step with them.

use crate::awsapi;
use crate::error::AppError;
use crate::model::{
    ParameterRequest, ParametersRequest, PathRequest, SecretRequest, SecretsManyRequest, Service,
    Target,
};

/// What a JSON 1.1 read's body asks for once parsed and checked, as its handler reads it before
/// it asks `App`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonInput {
    GetParameter(ParameterRequest),
    GetParameters(ParametersRequest),
    GetParametersByPath {
        request: PathRequest,
        page_size: usize,
        /// The name the page starts after (our `NextToken`).
        after: Option<String>,
    },
    GetSecretValue(SecretRequest),
    BatchGetSecretValue(SecretsManyRequest),
    /// Handed to the service as it is (filters, paging, or another operation).
    Forwarded,
}

/// The body of `AmazonSSM.*` or `secretsmanager.*` (`target`) parsed with the handler's input
/// struct and checked in the handler's order (`Call::input`, then the handler's checks).
pub fn json_input(target: &str, body: &[u8]) -> Result<JsonInput, AppError> {
    use awsapi::json::{length, null, operation_name};
    use awsapi::{secrets, ssm};
    let service = awsapi::json::service_of(target).ok_or_else(|| {
        AppError::UnknownOperation(format!(
            "unknown operation `{}`",
            target.chars().take(200).collect::<String>()
        ))
    })?;
    let body: &[u8] = if body.is_empty() { b"{}" } else { body };
    fn input<'b, T: serde::Deserialize<'b>>(body: &'b [u8], target: &str) -> Result<T, AppError> {
        serde_json::from_slice(body).map_err(|e| {
            AppError::Serialization(format!(
                "the request body is not {}'s input: {e}",
                operation_name(target)
            ))
        })
    }
    let target_of = Target::default;
    Ok(match (service, operation_name(target)) {
        (Service::Ssm, "GetParameter") => {
            let input: ssm::GetParameterInput = input(body, target)?;
            let full = ssm::checked_name(input.name, "name")?;
            let (name, selector) = ssm::selected(&full)?;
            JsonInput::GetParameter(ParameterRequest {
                name: name.to_owned(),
                selector,
                with_decryption: input.with_decryption.unwrap_or(false),
                target: target_of(),
            })
        }
        (Service::Ssm, "GetParameters") => {
            let input: ssm::GetParametersInput = input(body, target)?;
            let names = input.names.ok_or_else(|| null("names"))?;
            length(names.len(), "names", 1, ssm::MAX_NAMES)?;
            for name in &names {
                length(name.chars().count(), "names.member", 1, 2048)?;
                ssm::selected(name)?;
            }
            JsonInput::GetParameters(ParametersRequest {
                names,
                with_decryption: input.with_decryption.unwrap_or(false),
                target: target_of(),
            })
        }
        (Service::Ssm, "GetParametersByPath") => {
            let input: ssm::GetParametersByPathInput = input(body, target)?;
            if input
                .parameter_filters
                .as_ref()
                .is_some_and(|f| !f.is_null() && f.as_array().is_none_or(|a| !a.is_empty()))
            {
                return Ok(JsonInput::Forwarded);
            }
            let path = ssm::checked_name(input.path, "path")?;
            let page_size = match input.max_results {
                None => ssm::MAX_PAGE,
                Some(n) if (1..=ssm::MAX_PAGE as i64).contains(&n) => n as usize,
                Some(_) => {
                    return Err(AppError::Validation(
                        "1 validation error detected: Value at 'maxResults' failed".into(),
                    ))
                }
            };
            let after = input
                .next_token
                .as_deref()
                .map(ssm::read_token)
                .transpose()?;
            JsonInput::GetParametersByPath {
                request: PathRequest {
                    path,
                    recursive: input.recursive.unwrap_or(false),
                    with_decryption: input.with_decryption.unwrap_or(false),
                    target: target_of(),
                },
                page_size,
                after,
            }
        }
        (Service::SecretsManager, "GetSecretValue") => {
            let input: secrets::GetSecretValueInput = input(body, target)?;
            let secret_id = input.secret_id.ok_or_else(|| null("secretId"))?;
            length(
                secret_id.chars().count(),
                "secretId",
                1,
                secrets::MAX_SECRET_ID,
            )?;
            if let Some(id) = &input.version_id {
                let (min, max) = secrets::VERSION_ID;
                length(id.chars().count(), "versionId", min, max)?;
            }
            if let Some(stage) = &input.version_stage {
                length(stage.chars().count(), "versionStage", 1, secrets::MAX_STAGE)?;
            }
            JsonInput::GetSecretValue(SecretRequest {
                secret_id,
                version_id: input.version_id,
                version_stage: input.version_stage,
                target: target_of(),
            })
        }
        (Service::SecretsManager, "BatchGetSecretValue") => {
            let input: secrets::BatchGetSecretValueInput = input(body, target)?;
            let by_filter = input.filters.as_ref().is_some_and(|f| !f.is_null());
            let Some(ids) = input
                .secret_id_list
                .filter(|_| !by_filter && input.next_token.is_none())
            else {
                return Ok(JsonInput::Forwarded);
            };
            length(ids.len(), "secretIdList", 1, secrets::MAX_IDS)?;
            for id in &ids {
                length(
                    id.chars().count(),
                    "secretIdList.member",
                    1,
                    secrets::MAX_SECRET_ID,
                )?;
            }
            JsonInput::BatchGetSecretValue(SecretsManyRequest {
                secret_ids: ids,
                version_stage: None,
                target: target_of(),
            })
        }
        _ => JsonInput::Forwarded,
    })
}

/// `GetParametersByPath`'s `NextToken` for a page that ended at `last_name`, and back.
pub fn ssm_page_token(last_name: &str) -> String {
    awsapi::ssm::write_token(last_name)
}

pub fn ssm_page_after(token: &str) -> Result<String, AppError> {
    awsapi::ssm::read_token(token)
}

pub use crate::awsapi::appconfig::Failure as AppConfigFailure;

/// What Cloud Extensions' `AppConfig.GetConfiguration` (`flag: false`) or `AppConfig.GetFlag`
/// (`flag: true`) asks for: application, environment, configuration and the flag, as
/// `awsapi::appconfig::answer` reads and checks its input.
pub fn appconfig_input(
    get_flag: bool,
    body: &[u8],
) -> Result<(String, String, String, Option<String>), AppConfigFailure> {
    use crate::awsapi::appconfig::{read_input, Operation};
    let operation = if get_flag {
        Operation::GetFlag
    } else {
        Operation::GetConfiguration
    };
    let asked = read_input(&operation, body)?;
    Ok((
        asked.application,
        asked.environment,
        asked.configuration,
        asked.flag,
    ))
}
