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
    base: SdkConfig,
    provider: OnceCell<AssumeRoleProvider>,
}

impl RoleCredentials {
    pub fn new(role_arn: &str, base: &SdkConfig) -> Self {
        RoleCredentials {
            role_arn: role_arn.to_owned(),
            base: base.clone(),
            provider: OnceCell::new(),
        }
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
                    AssumeRoleProvider::builder(&self.role_arn)
                        .session_name(SESSION_NAME)
                        .configure(&self.base)
                        .build()
                })
                .await;
            provider.provide_credentials().await
        })
    }
}
