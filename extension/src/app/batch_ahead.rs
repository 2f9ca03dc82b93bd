//! Refresh-ahead for the batch reads: the ageing values a `get-many` found in the cache are
//! refreshed together in the background, with the same batched calls a miss would make
//! (GetParameters 10 names a call, BatchGetSecretValue 20 ids a call), so a fleet reading in
//! batches also never waits for a refresh and still makes one call per batch.

use super::batch::Wanted;
use super::secrets_batch::names;
use super::{parameter_entry, secret_entry, App};
use crate::cache::CacheKey;
use crate::model::{
    ParametersRequest, SecretsBatchRequest, SecretsSelection, Selector, Service, Target,
};
use crate::query::split_selector;

/// GetParameters takes at most 10 names, BatchGetSecretValue 20 ids.
const PARAMETERS_CHUNK: usize = 10;
const SECRETS_CHUNK: usize = 20;

impl App {
    /// `due`: each ageing parameter as asked (`name[:selector]`) and its cache key.
    pub(super) fn refresh_parameters_ahead(
        &self,
        request: &ParametersRequest,
        due: Vec<(String, CacheKey)>,
    ) {
        if due.is_empty() {
            return;
        }
        let (reader, with_decryption, target) = (
            self.reader(),
            request.with_decryption,
            request.target.clone(),
        );
        let keys = due.iter().map(|(_, key)| key.clone()).collect();
        self.cache
            .refresh_many_ahead(keys, self.ssm_ttl, move |positions| async move {
                let mut found = Vec::new();
                for chunk in positions.chunks(PARAMETERS_CHUNK) {
                    let request = ParametersRequest {
                        names: chunk.iter().map(|&p| due[p].0.clone()).collect(),
                        with_decryption,
                        target: target.clone(),
                    };
                    let answer = reader
                        .counted(Service::Ssm, reader.upstream.get_parameters(&request))
                        .await?;
                    for mut parameter in answer.parameters {
                        for &p in chunk {
                            let (full, key) = &due[p];
                            let (name, selector) = split_selector(full)?;
                            let wanted = Wanted {
                                full,
                                name,
                                selector,
                                key: key.clone(),
                            };
                            if wanted.answered_by(&parameter) {
                                parameter.selector = parameter
                                    .selector
                                    .or(wanted.selector.as_ref().map(Selector::suffix));
                                found.push((p, parameter_entry(parameter)));
                                break;
                            }
                        }
                    }
                }
                Ok(found)
            });
    }

    /// `due`: each ageing secret's id as asked and its cache key (AWSCURRENT only).
    pub(super) fn refresh_secrets_ahead(&self, target: &Target, due: Vec<(String, CacheKey)>) {
        if due.is_empty() {
            return;
        }
        let (reader, target) = (self.reader(), target.clone());
        let keys = due.iter().map(|(_, key)| key.clone()).collect();
        self.cache
            .refresh_many_ahead(keys, self.secrets_ttl, move |positions| async move {
                let mut found = Vec::new();
                for chunk in positions.chunks(SECRETS_CHUNK) {
                    let batch = SecretsBatchRequest {
                        selection: SecretsSelection::Ids(
                            chunk.iter().map(|&p| due[p].0.clone()).collect(),
                        ),
                        target: target.clone(),
                    };
                    let answer = reader
                        .counted(
                            Service::SecretsManager,
                            reader.upstream.batch_get_secrets(&batch),
                        )
                        .await?;
                    for secret in &answer.secrets {
                        for &p in chunk.iter().filter(|&&p| names(secret, &due[p].0)) {
                            found.push((p, secret_entry(secret)));
                        }
                    }
                }
                Ok(found)
            });
    }
}
