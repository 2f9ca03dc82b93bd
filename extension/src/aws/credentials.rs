//! Credentials: the environment first (what Lambda provides), the SDK's whole default chain
//! only when the environment has none.
//!
//! `aws_config`'s default chain tries the environment first too, but building it constructs
//! every other provider (profile files, web identity with its STS client, containers, IMDS,
//! SSO) at start, which a Lambda function never uses. Here that chain is built on the first
//! call the environment cannot answer: containers and SnapStart
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`), EKS, EC2 and
//! profiles work as before.

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials};
use tokio::sync::OnceCell;

#[derive(Debug)]
pub struct EnvironmentFirst {
    environment: EnvironmentVariableCredentialsProvider,
    config: ProviderConfig,
    chain: OnceCell<DefaultCredentialsChain>,
}

impl EnvironmentFirst {
    pub fn new(config: ProviderConfig) -> Self {
        EnvironmentFirst {
            environment: EnvironmentVariableCredentialsProvider::new(),
            config,
            chain: OnceCell::new(),
        }
    }
}

impl ProvideCredentials for EnvironmentFirst {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            match self.environment.provide_credentials().await {
                Err(CredentialsError::CredentialsNotLoaded(_)) => {
                    let chain = self
                        .chain
                        .get_or_init(|| {
                            DefaultCredentialsChain::builder()
                                .configure(self.config.clone())
                                .build()
                        })
                        .await;
                    chain.provide_credentials().await
                }
                found => found,
            }
        })
    }
}
