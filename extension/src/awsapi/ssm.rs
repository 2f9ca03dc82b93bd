//! SSM's reads in the JSON protocol, answered from the cache: GetParameter, GetParameters and
//! GetParametersByPath (the cached tree, paged as AWS pages it). Input is checked as AWS checks
//! it, so an SDK gets the `ValidationException` it would get from AWS.

use super::json::{length, null, raw, Call, READ};
use super::{json_reply, shapes};
use crate::cache::Outcome;
use crate::error::AppError;
use crate::model::{ParameterRequest, ParametersRequest, PathRequest, Selector};
use crate::query::split_selector;
use crate::routes::Reply;
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

const MAX_NAME: usize = 2048;
/// GetParameters takes at most 10 names; GetParametersByPath pages at most 10 parameters.
pub(crate) const MAX_NAMES: usize = 10;
pub(crate) const MAX_PAGE: usize = 10;
/// Our page tokens: this, then the last name of the page before, base64url.
const TOKEN_PREFIX: &str = "sc1.";
const BASE64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetParameterInput {
    pub(crate) name: Option<String>,
    pub(crate) with_decryption: Option<bool>,
}

pub async fn get_parameter(call: Call<'_>) -> Result<Reply, AppError> {
    let input: GetParameterInput = call.input()?;
    let full = checked_name(input.name, "name")?;
    let (name, selector) = selected(&full)?;
    let request = ParameterRequest {
        name: name.to_owned(),
        selector,
        with_decryption: input.with_decryption.unwrap_or(false),
        target: call.target,
    };
    // A fresh hit is answered without the read's future, as the GET endpoints' hits are.
    let (entry, outcome, age) = match call.app.cached_parameter(&request, READ) {
        Some((entry, age)) => (entry, Outcome::Hit, age),
        None => {
            let (entry, outcome) = call.app.parameter(&request, READ).await?;
            let age = entry.age();
            (entry, outcome, age)
        }
    };
    Ok(json_reply(
        shapes::parameter_body(&entry)?,
        outcome,
        Some(age),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetParametersInput {
    pub(crate) names: Option<Vec<String>>,
    pub(crate) with_decryption: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersOutput<'a> {
    parameters: Vec<&'a RawValue>,
    invalid_parameters: Vec<&'a str>,
}

pub async fn get_parameters(call: Call<'_>) -> Result<Reply, AppError> {
    let input: GetParametersInput = call.input()?;
    let names = input.names.ok_or_else(|| null("names"))?;
    length(names.len(), "names", 1, MAX_NAMES)?;
    for name in &names {
        length(name.chars().count(), "names.member", 1, MAX_NAME)?;
        selected(name)?;
    }
    let request = ParametersRequest {
        names,
        with_decryption: input.with_decryption.unwrap_or(false),
        target: call.target,
    };
    let (found, outcome) = call.app.parameters_found(&request, READ).await?;
    let items = found
        .iter()
        .map(|entry| entry.as_deref().map(shapes::parameter_item).transpose())
        .collect::<Result<Vec<Option<Bytes>>, AppError>>()?;
    let mut output = GetParametersOutput {
        parameters: Vec::with_capacity(items.len()),
        invalid_parameters: Vec::new(),
    };
    // A name asked twice is answered once, as AWS answers it.
    let mut seen = std::collections::HashSet::new();
    for (name, item) in request.names.iter().zip(&items) {
        if !seen.insert(name) {
            continue;
        }
        match item {
            Some(item) => output.parameters.push(raw(item)?),
            None => output.invalid_parameters.push(name),
        }
    }
    Ok(json_reply(render(&output), outcome, None))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct GetParametersByPathInput {
    pub(crate) path: Option<String>,
    pub(crate) recursive: Option<bool>,
    pub(crate) with_decryption: Option<bool>,
    pub(crate) max_results: Option<i64>,
    pub(crate) next_token: Option<String>,
    /// Filters select within the tree: such calls are forwarded, not served from it.
    pub(crate) parameter_filters: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersByPathOutput<'a> {
    parameters: Vec<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn get_parameters_by_path(call: Call<'_>) -> Result<Reply, AppError> {
    let input: GetParametersByPathInput = call.input()?;
    if input
        .parameter_filters
        .as_ref()
        .is_some_and(|f| !f.is_null() && f.as_array().is_none_or(|a| !a.is_empty()))
    {
        return call.forward().await;
    }
    let path = checked_name(input.path, "path")?;
    let page_size = match input.max_results {
        None => MAX_PAGE,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(AppError::Validation(format!(
                "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: \
                 Member must have value less than or equal to {MAX_PAGE} and greater than or equal to 1"
            )))
        }
    };
    let after = input.next_token.as_deref().map(read_token).transpose()?;
    let request = PathRequest {
        path,
        recursive: input.recursive.unwrap_or(false),
        with_decryption: input.with_decryption.unwrap_or(false),
        target: call.target,
    };
    // Later pages come from the same cached tree: a page's token names where it ended, so a
    // tree refreshed between pages still continues in order.
    let (entry, outcome) = call.app.parameters_by_path(&request, READ).await?;
    let items = shapes::tree_items(&entry)?;
    let start = after.map_or(0, |after| {
        items.partition_point(|(name, _)| **name <= *after)
    });
    let page = &items[start..items.len().min(start + page_size)];
    let next_token = (start + page.len() < items.len())
        .then(|| page.last().map(|(name, _)| write_token(name)))
        .flatten();
    let output = GetParametersByPathOutput {
        parameters: page
            .iter()
            .map(|(_, json)| raw(json))
            .collect::<Result<_, _>>()?,
        next_token,
    };
    Ok(json_reply(render(&output), outcome, Some(entry.age())))
}

pub(crate) fn write_token(last_name: &str) -> String {
    format!("{TOKEN_PREFIX}{}", BASE64URL.encode(last_name))
}

pub(crate) fn read_token(token: &str) -> Result<String, AppError> {
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|t| BASE64URL.decode(t).ok())
        .and_then(|name| String::from_utf8(name).ok())
        .ok_or(AppError::InvalidNextToken)
}

/// A name and its `:version` or `:label` selector, refused in AWS's words.
pub(crate) fn selected(full: &str) -> Result<(&str, Option<Selector>), AppError> {
    split_selector(full).map_err(|_| {
        AppError::Validation(
            "1 validation error detected: Value at 'name' failed to satisfy constraint: \
             Member must be a parameter name, optionally followed by :<version> (a positive \
             whole number) or :<label>"
                .into(),
        )
    })
}

/// A required name: present, 1 to 2048 characters.
pub(crate) fn checked_name(name: Option<String>, member: &str) -> Result<String, AppError> {
    let name = name.ok_or_else(|| null(member))?;
    length(name.chars().count(), member, 1, MAX_NAME)?;
    Ok(name)
}

fn render<T: Serialize>(output: &T) -> Bytes {
    // Plain structs of strings and already-valid JSON cannot fail to serialise.
    Bytes::from(serde_json::to_vec(output).expect("answer serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_and_refuse_others() {
        for name in ["/a/b", "/weird name/ü/+=", ""] {
            assert_eq!(read_token(&write_token(name)).unwrap(), name);
        }
        for bad in ["", "abc", "sc1.***", "sc2.L2E"] {
            assert_eq!(read_token(bad), Err(AppError::InvalidNextToken), "{bad}");
        }
    }

    #[test]
    fn names_are_checked_as_aws_checks_them() {
        assert!(checked_name(Some("/a".into()), "name").is_ok());
        assert!(
            matches!(checked_name(None, "name"), Err(AppError::Validation(m)) if m.contains("must not be null"))
        );
        assert!(checked_name(Some(String::new()), "name").is_err());
        assert!(checked_name(Some("x".repeat(2049)), "name").is_err());
        assert!(checked_name(Some("x".repeat(2048)), "name").is_ok());
    }

    /// Found by fuzzing (fuzz/, json_input target): `{"Name":":p)od"}` was read as the label
    /// `p)od` of a parameter with no name.
    #[test]
    fn a_selector_needs_a_name() {
        for bad in [":p)od", ":3", ":"] {
            assert!(
                matches!(selected(bad), Err(AppError::Validation(_))),
                "{bad}"
            );
        }
        assert!(selected("a:3").is_ok());
    }
}
