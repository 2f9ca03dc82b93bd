//! `GET /systemsmanager/parameters/get-many`: several parameters in one request.
//!
//! Each name is cached on its own under the same key as a single `get`, so the two endpoints
//! share values. Names found fresh in the cache are answered from it; the others are fetched
//! with GetParameters in chunks of 10 (AWS's limit), the chunks concurrently. The answer is
//! GetParameters' shape: `Parameters` in request order, `InvalidParameters` for names that do
//! not exist.

use super::{parameter_entry, parameter_key, render, App, ResultMetadata};
use crate::cache::{CacheKey, Entry, Freshness, Outcome};
use crate::error::AppError;
use crate::model::{Parameter, ParametersRequest, Selector, Service};
use crate::query::{split_selector, ReadOptions};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// GetParameters takes at most 10 names.
const CHUNK: usize = 10;

/// A cached `get` answer, read back only as far as its `Parameter` object (borrowed, not copied).
#[derive(Deserialize)]
struct StoredParameter<'a> {
    #[serde(borrow, rename = "Parameter")]
    parameter: &'a RawValue,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManyBody<'a> {
    parameters: Vec<&'a RawValue>,
    invalid_parameters: Vec<&'a str>,
    result_metadata: ResultMetadata,
}

/// One requested name: as given, its parts, and its cache key.
pub(super) struct Wanted<'a> {
    pub(super) full: &'a str,
    pub(super) name: &'a str,
    pub(super) selector: Option<Selector>,
    pub(super) key: CacheKey,
}

impl Wanted<'_> {
    /// Whether GetParameters' `parameter` answers this name. AWS names a parameter asked by ARN
    /// by its name, and may leave `Selector` out (moto always does): versions are compared.
    pub(super) fn answered_by(&self, parameter: &Parameter) -> bool {
        let same = parameter.name.as_deref() == Some(self.name)
            || parameter.arn.as_deref() == Some(self.name);
        same && match &self.selector {
            None => true,
            Some(Selector::Version(v)) => parameter.version == Some(*v),
            Some(label @ Selector::Label(_)) => parameter
                .selector
                .as_ref()
                .is_none_or(|s| *s == label.suffix()),
        }
    }
}

impl App {
    /// The JSON answer and whether it came wholly from the cache (`hit`) or not (`miss`).
    pub async fn parameters_many(
        &self,
        request: &ParametersRequest,
        options: ReadOptions,
    ) -> Result<(Bytes, Outcome), AppError> {
        let (found, outcome) = self.parameters_found(request, options).await?;
        let mut parameters = Vec::new();
        let mut invalid_parameters = Vec::new();
        // A name asked twice is answered once, as GetParameters answers it.
        let mut seen = std::collections::HashSet::new();
        for (full, entry) in request.names.iter().zip(&found) {
            if !seen.insert(full) {
                continue;
            }
            match entry {
                Some(entry) => {
                    let stored: StoredParameter =
                        serde_json::from_slice(&entry.json).map_err(|e| {
                            AppError::Storage(format!("cached parameter unreadable: {e}"))
                        })?;
                    parameters.push(stored.parameter);
                }
                None => invalid_parameters.push(full.as_str()),
            }
        }
        let body = ManyBody {
            parameters,
            invalid_parameters,
            result_metadata: ResultMetadata {},
        };
        Ok((render(&body), outcome))
    }

    /// Each requested name's cached entry (`None`: no such parameter or version), in request
    /// order, and whether all came from the cache (`hit`) or not (`miss`). Rendered by
    /// `parameters_many` in the agent's shape and by the AWS API (`awsapi`) in GetParameters'.
    pub async fn parameters_found(
        &self,
        request: &ParametersRequest,
        options: ReadOptions,
    ) -> Result<(Vec<Option<Arc<Entry>>>, Outcome), AppError> {
        self.on_request();
        let mut wanted = request
            .names
            .iter()
            .map(|full| {
                let (name, selector) = split_selector(full)?;
                let key = parameter_key(
                    name,
                    selector.as_ref(),
                    request.with_decryption,
                    &request.target,
                );
                Ok(Wanted {
                    full,
                    name,
                    selector,
                    key,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let freshness = Freshness {
            ttl: self.ssm_ttl,
            max_age: options.max_age,
        };
        let mut found: Vec<Option<Arc<Entry>>> = vec![None; wanted.len()];
        let (mut missing, mut ageing) = (Vec::new(), Vec::new());
        for (i, w) in wanted.iter_mut().enumerate() {
            match self.cache.lookup_ageing(&w.key, freshness) {
                Some((Ok(entry), due)) => {
                    found[i] = Some(entry);
                    if due {
                        ageing.push((w.full.to_owned(), w.key.clone()));
                    }
                }
                Some((Err(_not_found), _)) => {}
                None => missing.push(i),
            }
        }
        self.refresh_parameters_ahead(request, ageing);
        self.cache.count_misses(missing.len() as u64);
        let outcome = if missing.is_empty() {
            Outcome::Hit
        } else {
            Outcome::Miss
        };

        // A write through sidecache while these calls run must not be undone by their answers.
        let epoch = self.cache.epoch();
        let wanted_ref = &wanted;
        let calls = missing.chunks(CHUNK).map(|chunk| async move {
            let request = ParametersRequest {
                names: chunk
                    .iter()
                    .map(|&i| wanted_ref[i].full.to_owned())
                    .collect(),
                with_decryption: request.with_decryption,
                target: request.target.clone(),
            };
            (
                chunk,
                self.counted(Service::Ssm, self.upstream.get_parameters(&request))
                    .await,
            )
        });
        // All or nothing: a failed chunk fails the request, as one GetParameters call would.
        for (chunk, result) in futures_util::future::join_all(calls).await {
            for mut parameter in result?.parameters {
                // Every unanswered name it answers: a name asked twice gets it twice.
                let answered: Vec<usize> = chunk
                    .iter()
                    .copied()
                    .filter(|&i| found[i].is_none() && wanted[i].answered_by(&parameter))
                    .collect();
                let Some(&i) = answered.first() else {
                    continue;
                };
                parameter.selector = parameter
                    .selector
                    .or(wanted[i].selector.as_ref().map(Selector::suffix));
                let entry = self.cache.insert(
                    wanted[i].key.clone(),
                    parameter_entry(parameter),
                    self.ssm_ttl,
                    epoch,
                );
                for &j in &answered {
                    found[j] = Some(entry.clone());
                }
            }
        }

        Ok((found, outcome))
    }
}
