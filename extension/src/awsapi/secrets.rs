//! Secrets Manager's reads in the JSON protocol, answered from the cache: GetSecretValue, and
//! BatchGetSecretValue by a list of ids (by `Filters` it is forwarded: what a filter matches is
//! the service's to say).

use super::json::{length, null, raw, Call, READ};
use super::{json_reply, shapes};
use crate::cache::Outcome;
use crate::error::AppError;
use crate::model::{SecretError, SecretRequest, SecretsManyRequest};
use crate::routes::Reply;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// AWS's limits on each input member.
pub(crate) const MAX_SECRET_ID: usize = 2048;
pub(crate) const VERSION_ID: (usize, usize) = (32, 64);
pub(crate) const MAX_STAGE: usize = 256;
/// BatchGetSecretValue takes at most 20 ids.
pub(crate) const MAX_IDS: usize = 20;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetSecretValueInput {
    pub(crate) secret_id: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) version_stage: Option<String>,
}

pub async fn get_secret_value(call: Call<'_>) -> Result<Reply, AppError> {
    let input: GetSecretValueInput = call.input()?;
    let secret_id = input.secret_id.ok_or_else(|| null("secretId"))?;
    length(secret_id.chars().count(), "secretId", 1, MAX_SECRET_ID)?;
    if let Some(id) = &input.version_id {
        length(id.chars().count(), "versionId", VERSION_ID.0, VERSION_ID.1)?;
    }
    if let Some(stage) = &input.version_stage {
        length(stage.chars().count(), "versionStage", 1, MAX_STAGE)?;
    }
    let request = SecretRequest {
        secret_id,
        version_id: input.version_id,
        version_stage: input.version_stage,
        target: call.target,
    };
    let (entry, outcome, age) = match call.app.cached_secret(&request, READ) {
        Some((entry, age)) => (entry, Outcome::Hit, age),
        None => {
            let (entry, outcome) = call.app.secret(&request, READ).await?;
            let age = entry.age();
            (entry, outcome, age)
        }
    };
    Ok(json_reply(shapes::secret_body(&entry)?, outcome, Some(age)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BatchGetSecretValueInput {
    pub(crate) secret_id_list: Option<Vec<String>>,
    pub(crate) filters: Option<serde_json::Value>,
    pub(crate) next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetSecretValueOutput<'a> {
    secret_values: Vec<&'a RawValue>,
    errors: Vec<&'a SecretError>,
}

pub async fn batch_get_secret_value(call: Call<'_>) -> Result<Reply, AppError> {
    let input: BatchGetSecretValueInput = call.input()?;
    let by_filter = input.filters.as_ref().is_some_and(|f| !f.is_null());
    let Some(ids) = input
        .secret_id_list
        .filter(|_| !by_filter && input.next_token.is_none())
    else {
        // Filters, paging, or neither (AWS says what is wrong with that): the service's to answer.
        return call.forward().await;
    };
    length(ids.len(), "secretIdList", 1, MAX_IDS)?;
    for id in &ids {
        length(id.chars().count(), "secretIdList.member", 1, MAX_SECRET_ID)?;
    }
    let request = SecretsManyRequest {
        secret_ids: ids,
        version_stage: None,
        target: call.target,
    };
    let (answers, outcome) = call.app.secrets_found(&request, READ).await?;
    let bodies = answers
        .iter()
        .map(|answer| match answer {
            Ok(entry) => shapes::secret_body(entry).map(Ok),
            Err(error) => Ok(Err(error)),
        })
        .collect::<Result<Vec<Result<Bytes, &SecretError>>, AppError>>()?;
    let mut output = BatchGetSecretValueOutput {
        secret_values: Vec::new(),
        errors: Vec::new(),
    };
    for body in &bodies {
        match body {
            Ok(json) => output.secret_values.push(raw(json)?),
            Err(error) => output.errors.push(error),
        }
    }
    let json = serde_json::to_vec(&output).expect("answer serialises");
    Ok(json_reply(Bytes::from(json), outcome, None))
}
