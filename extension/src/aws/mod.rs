//! Everything that touches the AWS SDK. Other modules see only `model` types and the
//! [`Upstream`] and [`CredentialSource`] traits implemented here.

mod appconfig;
mod clients;
mod credentials;
mod errors;
mod forward;
mod http;
mod role;
mod s3;
mod secrets;
mod ssm;

use crate::auth::{CredentialSource, Identity};
use crate::config::Config;
use crate::model::{
    ForwardAnswer, ForwardRequest, LatestConfiguration, ObjectFetch, ObjectRequest, Parameter,
    ParameterRequest, ParametersFound, ParametersRequest, PathRequest, PollError, ProfileRequest,
    Secret, SecretRequest, SecretsBatchRequest, SecretsFound, Service, Target, UpstreamError,
};
use crate::stats::ClientsReport;
use crate::upstream::Upstream;
use async_trait::async_trait;
use aws_credential_types::provider::ProvideCredentials;
use clients::{ClientCache, SdkClient};
use std::future::Future;
use std::pin::Pin;

pub struct AwsUpstream {
    clients: ClientCache,
}

impl AwsUpstream {
    pub fn new(config: &Config) -> Self {
        AwsUpstream {
            clients: ClientCache::new(config),
        }
    }

    /// Runs `call` with the target's SSM client, holding one of its connection permits (the wait
    /// for it, and each operation, bounded by `SSM_TIMEOUT`: `CachedClient::call`).
    async fn ssm<U>(
        &self,
        target: &Target,
        call: impl AsyncFnOnce(&aws_sdk_ssm::Client) -> Result<U, UpstreamError>,
    ) -> Result<U, UpstreamError> {
        let cached = self.clients.get(Service::Ssm, target).await;
        cached
            .call(Service::Ssm, async |client| {
                let SdkClient::Ssm(client) = client else {
                    unreachable!("the client cache key includes the service")
                };
                call(client).await
            })
            .await
    }

    /// Runs `call` with the target's Secrets Manager client, holding one of its permits (the wait
    /// for it, and each operation, bounded by `SECRETS_MANAGER_TIMEOUT`).
    async fn secrets_manager<U>(
        &self,
        target: &Target,
        call: impl AsyncFnOnce(&aws_sdk_secretsmanager::Client) -> Result<U, UpstreamError>,
    ) -> Result<U, UpstreamError> {
        let cached = self.clients.get(Service::SecretsManager, target).await;
        cached
            .call(Service::SecretsManager, async |client| {
                let SdkClient::SecretsManager(client) = client else {
                    unreachable!("the client cache key includes the service")
                };
                call(client).await
            })
            .await
    }
}

impl AwsUpstream {
    /// Runs `call` with the target's AppConfig Data client, holding one of its permits.
    async fn appconfig<T>(
        &self,
        target: &Target,
        call: impl AsyncFnOnce(&aws_sdk_appconfigdata::Client) -> T,
    ) -> T {
        let cached = self.clients.get(Service::AppConfig, target).await;
        let _permit = cached.permit().await;
        let SdkClient::AppConfig(client) = &cached.client else {
            unreachable!("the client cache key includes the service")
        };
        call(client).await
    }
}

#[async_trait]
impl Upstream for AwsUpstream {
    async fn get_parameter(&self, request: &ParameterRequest) -> Result<Parameter, UpstreamError> {
        self.ssm(&request.target, async |c| {
            ssm::get_parameter(c, request).await
        })
        .await
    }

    async fn get_parameters(
        &self,
        request: &ParametersRequest,
    ) -> Result<ParametersFound, UpstreamError> {
        self.ssm(&request.target, async |c| {
            ssm::get_parameters(c, request).await
        })
        .await
    }

    async fn get_parameters_by_path(
        &self,
        request: &PathRequest,
    ) -> Result<Vec<Parameter>, UpstreamError> {
        self.ssm(&request.target, async |c| {
            ssm::get_parameters_by_path(c, request).await
        })
        .await
    }

    async fn get_secret(&self, request: &SecretRequest) -> Result<Secret, UpstreamError> {
        self.secrets_manager(&request.target, async |c| {
            secrets::get_secret(c, request).await
        })
        .await
    }

    async fn batch_get_secrets(
        &self,
        request: &SecretsBatchRequest,
    ) -> Result<SecretsFound, UpstreamError> {
        self.secrets_manager(&request.target, async |c| {
            secrets::batch_get_secrets(c, request).await
        })
        .await
    }

    async fn get_object(
        &self,
        request: &ObjectRequest,
        if_none_match: Option<&str>,
    ) -> Result<ObjectFetch, UpstreamError> {
        let cached = self.clients.get(Service::S3, &request.target).await;
        let _permit = cached.permit().await;
        let SdkClient::S3(client) = &cached.client else {
            unreachable!("the client cache key includes the service")
        };
        s3::get_object(client, request, if_none_match).await
    }

    async fn start_configuration_session(
        &self,
        profile: &ProfileRequest,
        min_poll_interval_seconds: Option<i32>,
    ) -> Result<String, UpstreamError> {
        self.appconfig(&profile.target, async |c| {
            appconfig::start_session(c, profile, min_poll_interval_seconds).await
        })
        .await
    }

    async fn get_latest_configuration(
        &self,
        profile: &ProfileRequest,
        token: &str,
    ) -> Result<LatestConfiguration, PollError> {
        self.appconfig(&profile.target, async |c| appconfig::latest(c, token).await)
            .await
    }

    async fn forward(&self, request: &ForwardRequest) -> Result<ForwardAnswer, UpstreamError> {
        forward::forward(&self.clients, request).await
    }

    fn restored(&self) {
        self.clients.restored();
    }

    fn clients_report(&self) -> ClientsReport {
        self.clients.report()
    }
}

impl CredentialSource for AwsUpstream {
    fn credentials(&self) -> Pin<Box<dyn Future<Output = Option<Identity>> + Send + '_>> {
        Box::pin(async move {
            let provider = self.clients.base().await.credentials_provider()?;
            match provider.provide_credentials().await {
                Ok(credentials) => Some(Identity {
                    access_key_id: credentials.access_key_id().to_owned(),
                    secret_access_key: credentials.secret_access_key().to_owned(),
                    session_token: credentials.session_token().map(str::to_owned),
                }),
                Err(error) => {
                    tracing::warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&error), "could not resolve credentials");
                    None
                }
            }
        })
    }
}

/// AWS timestamps as RFC 3339 in UTC, the format the AWS extension answers with.
fn rfc3339(time: &aws_smithy_types::DateTime) -> Option<String> {
    time.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}
