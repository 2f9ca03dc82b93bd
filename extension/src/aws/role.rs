//! Credentials for `roleArn=`: a role assumed with STS, with the extension's own credentials.
//!
//! aws-config's `AssumeRoleProvider` is built by an `async fn`, but SDK clients are created
//! inside the client cache's synchronous single-flight; so the provider is built lazily, on the
//! first request for credentials, which is async. The client's identity cache then keeps the
//! assumed credentials and refreshes them before they expire.

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use aws_credential_types::provider::{future, ProvideCredentials};
use tokio::sync::OnceCell;

/// Shows in CloudTrail of the role's account as the session that read the value.
const SESSION_NAME: &str = "sidecache";

#[derive(Debug)]
pub struct RoleCredentials {
    role_arn: String,
    /// The AppConfig Agent's `_ROLE_EXTERNAL_ID` and `_ROLE_SESSION_NAME`, for its role.
    external_id: Option<String>,
    session_name: Option<String>,
    base: SdkConfig,
    provider: OnceCell<AssumeRoleProvider>,
}

impl RoleCredentials {
    pub fn new(role_arn: &str, base: &SdkConfig) -> Self {
        RoleCredentials {
            role_arn: role_arn.to_owned(),
            external_id: None,
            session_name: None,
            base: base.clone(),
            provider: OnceCell::new(),
        }
    }

    /// As the AppConfig Agent assumes its role: with an external id and a session name.
    pub fn with(mut self, external_id: Option<&str>, session_name: Option<&str>) -> Self {
        self.external_id = external_id.map(str::to_owned);
        self.session_name = session_name.map(str::to_owned);
        self
    }
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let provider = self
                .provider
                .get_or_init(|| {
                    let mut builder = AssumeRoleProvider::builder(&self.role_arn)
                        .session_name(self.session_name.as_deref().unwrap_or(SESSION_NAME))
                        .configure(&self.base);
                    if let Some(external_id) = &self.external_id {
                        builder = builder.external_id(external_id);
                    }
                    builder.build()
                })
                .await;
            provider.provide_credentials().await
        })
    }
}
