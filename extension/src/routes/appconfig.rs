//! The AppConfig Agent's route, `GET /applications/{app}/environments/{env}/configurations/
//! {profile}[?flag=a&flag=b]`: on the agent's port without a token (its errors in the agent's
//! plain-text form), and on the main port with the token (errors in the JSON form of the rest of
//! that API). The answer is the configuration's bytes with its `Content-Type`, `Version-Label`
//! and sidecache's version number (`ConfigurationVersion`, `Configuration-Version`).

use super::{body, Door, Reply, ReplyBody, X_CACHE};
use crate::app::appconfig::{select_flags, Configuration, ProfileRef};
use crate::app::App;
use crate::cache::Outcome;
use crate::error::AppError;
use crate::query::appconfig::{flags, profile_path, ProfilePath};
use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use std::time::Duration;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A fresh configuration answered on the spot, without a future (no flags asked).
pub fn hit(app: &App, path: &str, query: Option<&str>) -> Option<Reply> {
    if query.is_some_and(|q| !q.is_empty()) {
        return None;
    }
    let id = profile_path(path).ok()?;
    let (configuration, age) = app.appconfig.cached(reference(&id))?;
    Some(answer(&configuration, Outcome::Hit, age, None))
}

/// The configuration (or the flags asked), fetched when due; errors in the door's form.
pub async fn get(app: &App, door: Door, path: &str, query: Option<&str>) -> Reply {
    match read(app, path, query).await {
        Ok(reply) => reply,
        Err(error) if door == Door::Agent => agent_error(&error),
        Err(error) => body::from_axum(error.into_response()),
    }
}

async fn read(app: &App, path: &str, query: Option<&str>) -> Result<Reply, AppError> {
    let id = profile_path(path)?;
    let flags = flags(query)?;
    let (configuration, outcome, age) = app.appconfig.get(reference(&id)).await?;
    let selected = if flags.is_empty() {
        None
    } else {
        Some(select_flags(&configuration, &flags)?)
    };
    Ok(answer(&configuration, outcome, age, selected))
}

fn reference<'a>(id: &'a ProfilePath) -> ProfileRef<'a> {
    ProfileRef {
        application: &id.application,
        environment: &id.environment,
        profile: &id.profile,
    }
}

/// The configuration's bytes with its made headers (a clone), `X-Cache` and `Age` set in
/// place; or the flags asked, as JSON.
fn answer(
    configuration: &Configuration,
    outcome: Outcome,
    age: Duration,
    flags: Option<bytes::Bytes>,
) -> Reply {
    let body = flags
        .clone()
        .unwrap_or_else(|| configuration.content.clone());
    let mut reply = Reply::new(ReplyBody::full(body));
    let headers = reply.headers_mut();
    *headers = configuration.headers.clone();
    for (name, value) in headers.iter_mut() {
        if *name == X_CACHE {
            if outcome != Outcome::Hit {
                *value = HeaderValue::from_static(outcome.as_str());
            }
        } else if *name == header::AGE {
            *value = super::age_header(age.as_secs());
        } else if *name == header::CONTENT_TYPE && flags.is_some() {
            *value = JSON;
        }
    }
    reply
}

/// The agent's error form: the status and a plain-text message.
pub fn agent_error(error: &AppError) -> Reply {
    let mut reply = Reply::new(ReplyBody::full(bytes::Bytes::from(error.to_string())));
    *reply.status_mut() = error.status();
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    reply
}
