//! AppConfig Data: StartConfigurationSession and GetLatestConfiguration into `model` types. SDK
//! types stop here; a token AppConfig refuses comes back as the `TokenProblem` it names.

use super::errors::upstream_error;
use crate::model::{
    LatestConfiguration, PollError, ProfileRequest, Service, TokenProblem, UpstreamError,
};
use aws_sdk_appconfigdata::operation::get_latest_configuration::GetLatestConfigurationError;
use aws_sdk_appconfigdata::types::{BadRequestDetails, InvalidParameterProblem};
use aws_sdk_appconfigdata::Client;
use std::time::Duration;

pub async fn start_session(
    client: &Client,
    profile: &ProfileRequest,
    min_poll_interval_seconds: Option<i32>,
) -> Result<String, UpstreamError> {
    let output = client
        .start_configuration_session()
        .application_identifier(&profile.application)
        .environment_identifier(&profile.environment)
        .configuration_profile_identifier(&profile.profile)
        .set_required_minimum_poll_interval_in_seconds(min_poll_interval_seconds)
        .send()
        .await
        .map_err(|e| upstream_error(Service::AppConfig, "StartConfigurationSession", e))?;
    output
        .initial_configuration_token
        .ok_or_else(|| super::errors::empty_answer(Service::AppConfig, "StartConfigurationSession"))
}

pub async fn latest(client: &Client, token: &str) -> Result<LatestConfiguration, PollError> {
    let output = match client
        .get_latest_configuration()
        .configuration_token(token)
        .send()
        .await
    {
        Ok(output) => output,
        Err(error) => {
            if let Some(problem) = token_problem(error.as_service_error()) {
                return Err(PollError::Token(problem));
            }
            return Err(PollError::Upstream(upstream_error(
                Service::AppConfig,
                "GetLatestConfiguration",
                error,
            )));
        }
    };
    let next_token = output.next_poll_configuration_token.ok_or_else(|| {
        PollError::Upstream(super::errors::empty_answer(
            Service::AppConfig,
            "GetLatestConfiguration",
        ))
    })?;
    let interval = output.next_poll_interval_in_seconds;
    Ok(LatestConfiguration {
        next_token,
        next_poll_interval: (interval > 0).then(|| Duration::from_secs(interval as u64)),
        content_type: output.content_type,
        version_label: output.version_label,
        content: output
            .configuration
            .map(|blob| bytes::Bytes::from(blob.into_inner()))
            .unwrap_or_default(),
    })
}

/// The problem AppConfig found with the token, when that is what it refused.
fn token_problem(error: Option<&GetLatestConfigurationError>) -> Option<TokenProblem> {
    let GetLatestConfigurationError::BadRequestException(refusal) = error? else {
        return None;
    };
    let Some(BadRequestDetails::InvalidParameters(parameters)) = refusal.details() else {
        return None;
    };
    match parameters.get("ConfigurationToken")?.problem()? {
        InvalidParameterProblem::Expired => Some(TokenProblem::Expired),
        InvalidParameterProblem::Corrupted => Some(TokenProblem::Corrupted),
        InvalidParameterProblem::PollIntervalNotSatisfied => {
            Some(TokenProblem::PollIntervalNotSatisfied)
        }
        _ => None,
    }
}
