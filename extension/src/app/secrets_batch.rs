//! `GET /secretsmanager/get-many` and the secrets filter prefetch: several secrets with
//! BatchGetSecretValue instead of one GetSecretValue each.
//!
//! Each secret is cached on its own under the same key as a single `/secretsmanager/get`, so the
//! endpoints share values. Ids found fresh in the cache are answered from it; the others are
//! fetched 20 at a time (the API's limit for an id list), the calls concurrently. The answer is
//! BatchGetSecretValue's shape: `SecretValues` in request order (each the single-get body without
//! `ResultMetadata`), `Errors` for ids that could not be read.

use super::{render, secret_entry, secret_key, App, ResultMetadata};
use crate::cache::{Entry, Freshness, Outcome};
use crate::error::AppError;
use crate::model::{
    Secret, SecretError, SecretRequest, SecretsBatchRequest, SecretsManyRequest, SecretsSelection,
    Service, Target,
};
use crate::query::{Format, ReadOptions};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// BatchGetSecretValue takes at most 20 ids.
const CHUNK: usize = 20;
/// The stage BatchGetSecretValue answers with; any other needs GetSecretValue.
const CURRENT: &str = "AWSCURRENT";

/// A cached single-get answer read back field by field, borrowed, not copied; serialised again
/// it is the same object without `ResultMetadata`.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct StoredSecret<'a> {
    #[serde(borrow, rename = "ARN")]
    arn: &'a RawValue,
    #[serde(borrow)]
    created_date: &'a RawValue,
    #[serde(borrow)]
    name: &'a RawValue,
    #[serde(borrow)]
    secret_binary: &'a RawValue,
    #[serde(borrow)]
    secret_string: &'a RawValue,
    #[serde(borrow)]
    version_id: &'a RawValue,
    #[serde(borrow)]
    version_stages: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManyBody<'a> {
    secret_values: Vec<StoredSecret<'a>>,
    errors: Vec<&'a SecretError>,
    result_metadata: ResultMetadata,
}

/// What one requested id got: its cached answer, or why there is none.
type Answer = Option<Result<Arc<Entry>, SecretError>>;

impl App {
    /// The JSON answer and whether it came wholly from the cache (`hit`) or not (`miss`).
    pub async fn secrets_many(
        &self,
        request: &SecretsManyRequest,
        options: ReadOptions,
    ) -> Result<(Bytes, Outcome), AppError> {
        let (answers, outcome) = self.secrets_found(request, options).await?;
        render_answers(&answers)
            .map(|body| (body, outcome))
            .map_err(|e| AppError::Storage(format!("cached secret unreadable: {e}")))
    }

    /// Each requested id's cached entry (or why it has none), in request order, and whether all
    /// came from the cache (`hit`) or not (`miss`). Rendered by `secrets_many` in the agent's
    /// shape and by the AWS API (`awsapi`) in BatchGetSecretValue's own.
    pub async fn secrets_found(
        &self,
        request: &SecretsManyRequest,
        options: ReadOptions,
    ) -> Result<(Vec<Result<Arc<Entry>, SecretError>>, Outcome), AppError> {
        self.on_request();
        let singles: Vec<SecretRequest> = request
            .secret_ids
            .iter()
            .map(|id| SecretRequest {
                secret_id: id.clone(),
                version_id: None,
                version_stage: request.version_stage.clone(),
                target: request.target.clone(),
            })
            .collect();
        let freshness = Freshness {
            ttl: self.secrets_ttl,
            max_age: options.max_age,
        };
        let mut answers: Vec<Answer> = vec![None; singles.len()];
        let (mut missing, mut ageing) = (Vec::new(), Vec::new());
        let current = request
            .version_stage
            .as_deref()
            .is_none_or(|s| s == CURRENT);
        for (i, single) in singles.iter().enumerate() {
            let key = secret_key(single);
            match self.cache.lookup_ageing(&key, freshness) {
                Some((Ok(entry), due)) => {
                    answers[i] = Some(Ok(entry));
                    if due && current {
                        ageing.push((single.secret_id.clone(), key));
                    }
                }
                Some((Err(not_found), _)) => {
                    answers[i] = Some(Err(secret_error(single, &not_found)))
                }
                None => missing.push(i),
            }
        }
        self.refresh_secrets_ahead(&request.target, ageing);
        let outcome = if missing.is_empty() {
            Outcome::Hit
        } else {
            Outcome::Miss
        };
        if current {
            self.cache.count_misses(missing.len() as u64);
            self.fetch_batched(&singles, &missing, &mut answers, &request.target)
                .await?;
        }
        // What the batch did not answer (another stage; an id it names otherwise, such as a
        // partial ARN) is read on its own, through the single-get path.
        let single_options = ReadOptions {
            format: Format::Json,
            max_age: options.max_age,
        };
        let rest = missing.iter().filter(|&&i| answers[i].is_none());
        let reads = rest.map(|&i| {
            let single = &singles[i];
            async move { (i, self.secret(single, single_options).await) }
        });
        for (i, result) in futures_util::future::join_all(reads).await {
            answers[i] = Some(match result {
                Ok((entry, _)) => Ok(entry),
                // Not found, access denied, invalid: about this id only, as the batch reports.
                Err(error @ AppError::Upstream { .. }) if !error.may_serve_stale() => {
                    Err(secret_error(&singles[i], &error))
                }
                Err(error) => return Err(error),
            });
        }
        let answers = answers
            .into_iter()
            .map(|answer| answer.expect("every id is answered or failed the request"))
            .collect();
        Ok((answers, outcome))
    }

    /// BatchGetSecretValue for the `missing` ids, 20 a call, the calls concurrently; caches
    /// every secret found. All or nothing: a failed call fails the request.
    async fn fetch_batched(
        &self,
        singles: &[SecretRequest],
        missing: &[usize],
        answers: &mut [Answer],
        target: &Target,
    ) -> Result<(), AppError> {
        // A write through sidecache while these calls run must not be undone by their answers.
        let epoch = self.cache.epoch();
        let calls = missing.chunks(CHUNK).map(|chunk| async move {
            let batch = SecretsBatchRequest {
                selection: SecretsSelection::Ids(
                    chunk
                        .iter()
                        .map(|&i| singles[i].secret_id.clone())
                        .collect(),
                ),
                target: target.clone(),
            };
            let found = self
                .counted(
                    Service::SecretsManager,
                    self.upstream.batch_get_secrets(&batch),
                )
                .await;
            (chunk, found)
        });
        for (chunk, result) in futures_util::future::join_all(calls).await {
            let found = result?;
            for secret in &found.secrets {
                for &i in chunk {
                    if answers[i].is_none() && names(secret, &singles[i].secret_id) {
                        let key = secret_key(&singles[i]);
                        let entry =
                            self.cache
                                .insert(key, secret_entry(secret), self.secrets_ttl, epoch);
                        answers[i] = Some(Ok(entry));
                    }
                }
            }
            for error in &found.errors {
                for &i in chunk {
                    if answers[i].is_none() && singles[i].secret_id == error.secret_id {
                        answers[i] = Some(Err(error.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every secret matching one BatchGetSecretValue filter (all pages), each cached under the
    /// single-get key of its name. Returns how many were cached.
    pub async fn prefetch_secrets(&self, key: &str, value: &str) -> Result<usize, AppError> {
        let batch = SecretsBatchRequest {
            selection: SecretsSelection::Filter {
                key: key.to_owned(),
                value: value.to_owned(),
            },
            target: Target::default(),
        };
        let epoch = self.cache.epoch();
        let found = self
            .counted(
                Service::SecretsManager,
                self.upstream.batch_get_secrets(&batch),
            )
            .await?;
        let mut cached = 0;
        for secret in &found.secrets {
            let Some(name) = &secret.name else { continue };
            let single = SecretRequest {
                secret_id: name.clone(),
                version_id: None,
                version_stage: None,
                target: Target::default(),
            };
            self.cache.insert(
                secret_key(&single),
                secret_entry(secret),
                self.secrets_ttl,
                epoch,
            );
            cached += 1;
        }
        self.cache.count_misses(cached as u64);
        Ok(cached)
    }
}

/// Whether `secret` is the one asked for as `id` (its name or its full ARN).
pub(super) fn names(secret: &Secret, id: &str) -> bool {
    secret.name.as_deref() == Some(id) || secret.arn.as_deref() == Some(id)
}

fn secret_error(request: &SecretRequest, error: &AppError) -> SecretError {
    SecretError {
        secret_id: request.secret_id.clone(),
        error_code: error.code().to_owned(),
        message: error.to_string(),
    }
}

fn render_answers(answers: &[Result<Arc<Entry>, SecretError>]) -> Result<Bytes, serde_json::Error> {
    let mut body = ManyBody {
        secret_values: Vec::new(),
        errors: Vec::new(),
        result_metadata: ResultMetadata {},
    };
    for answer in answers {
        match answer {
            Ok(entry) => body
                .secret_values
                .push(serde_json::from_slice(&entry.json)?),
            Err(error) => body.errors.push(error),
        }
    }
    Ok(render(&body))
}
