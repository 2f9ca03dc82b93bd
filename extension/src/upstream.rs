//! The seam between sidecache and AWS. Production uses `aws::AwsUpstream`; unit tests pass a
//! stub to `App::new`. Nothing outside the `aws` module sees an SDK type.

use crate::model::{
    ForwardAnswer, ForwardRequest, LatestConfiguration, ObjectFetch, ObjectRequest, Parameter,
    ParameterRequest, ParametersFound, ParametersRequest, PathRequest, PollError, ProfileRequest,
    Secret, SecretRequest, SecretsBatchRequest, SecretsFound, UpstreamError,
};
use crate::stats::ClientsReport;
use async_trait::async_trait;

#[async_trait]
pub trait Upstream: Send + Sync {
    async fn get_parameter(&self, request: &ParameterRequest) -> Result<Parameter, UpstreamError>;
    /// GetParameters for at most 10 names.
    async fn get_parameters(
        &self,
        request: &ParametersRequest,
    ) -> Result<ParametersFound, UpstreamError>;
    /// GetParametersByPath, following every page.
    async fn get_parameters_by_path(
        &self,
        request: &PathRequest,
    ) -> Result<Vec<Parameter>, UpstreamError>;
    async fn get_secret(&self, request: &SecretRequest) -> Result<Secret, UpstreamError>;
    /// BatchGetSecretValue (AWSCURRENT only), following every page.
    async fn batch_get_secrets(
        &self,
        request: &SecretsBatchRequest,
    ) -> Result<SecretsFound, UpstreamError>;
    /// GetObject; with `if_none_match` a conditional one that may answer `NotModified`.
    async fn get_object(
        &self,
        request: &ObjectRequest,
        if_none_match: Option<&str>,
    ) -> Result<ObjectFetch, UpstreamError>;
    /// An AWS JSON 1.1 call passed through to its service, signed with the extension's
    /// credentials; the service's answer, whatever its status.
    async fn forward(&self, request: &ForwardRequest) -> Result<ForwardAnswer, UpstreamError>;
    /// AppConfig Data's StartConfigurationSession: the session's first token. The minimum poll
    /// interval is asked for only when given (AWS's floor is 15 s).
    async fn start_configuration_session(
        &self,
        profile: &ProfileRequest,
        min_poll_interval_seconds: Option<i32>,
    ) -> Result<String, UpstreamError>;
    /// AppConfig Data's GetLatestConfiguration with `token`.
    async fn get_latest_configuration(
        &self,
        profile: &ProfileRequest,
        token: &str,
    ) -> Result<LatestConfiguration, PollError>;
    /// After a SnapStart restore: clients, credentials and pooled connections made anew.
    fn restored(&self);
    /// Figures of the SDK client cache, for `/stats`.
    fn clients_report(&self) -> ClientsReport;
}
