//! The session rules with AppConfig Data stubbed at the `Upstream` seam: what each answer of
//! `GetLatestConfiguration` does to the profile (the e2e tests drive the same against the fake
//! service).

use super::*;
use crate::model::{
    ForwardAnswer, ForwardRequest, LatestConfiguration, ObjectFetch, ObjectRequest, Parameter,
    ParameterRequest, ParametersFound, ParametersRequest, PathRequest, Secret, SecretRequest,
    SecretsBatchRequest, SecretsFound, UpstreamError, UpstreamErrorKind,
};
use crate::stats::ClientsReport;
use async_trait::async_trait;
use std::collections::VecDeque;

/// Scripted AppConfig Data: each poll takes the next answer; sessions are counted.
#[derive(Default)]
struct Scripted {
    polls: Mutex<VecDeque<Result<LatestConfiguration, PollError>>>,
    sessions: Mutex<Vec<Option<i32>>>,
    tokens_polled: Mutex<Vec<String>>,
}

#[async_trait]
impl Upstream for Scripted {
    async fn start_configuration_session(
        &self,
        _: &ProfileRequest,
        min_poll_interval_seconds: Option<i32>,
    ) -> Result<String, UpstreamError> {
        let mut sessions = self.sessions.lock().unwrap();
        sessions.push(min_poll_interval_seconds);
        Ok(format!("session-{}", sessions.len()))
    }

    async fn get_latest_configuration(
        &self,
        _: &ProfileRequest,
        token: &str,
    ) -> Result<LatestConfiguration, PollError> {
        self.tokens_polled.lock().unwrap().push(token.to_owned());
        self.polls
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted answer for every poll")
    }

    async fn get_parameter(&self, _: &ParameterRequest) -> Result<Parameter, UpstreamError> {
        unimplemented!()
    }
    async fn get_parameters(
        &self,
        _: &ParametersRequest,
    ) -> Result<ParametersFound, UpstreamError> {
        unimplemented!()
    }
    async fn get_parameters_by_path(
        &self,
        _: &PathRequest,
    ) -> Result<Vec<Parameter>, UpstreamError> {
        unimplemented!()
    }
    async fn get_secret(&self, _: &SecretRequest) -> Result<Secret, UpstreamError> {
        unimplemented!()
    }
    async fn batch_get_secrets(
        &self,
        _: &SecretsBatchRequest,
    ) -> Result<SecretsFound, UpstreamError> {
        unimplemented!()
    }
    async fn get_object(
        &self,
        _: &ObjectRequest,
        _: Option<&str>,
    ) -> Result<ObjectFetch, UpstreamError> {
        unimplemented!()
    }
    async fn forward(&self, _: &ForwardRequest) -> Result<ForwardAnswer, UpstreamError> {
        unimplemented!()
    }
    fn restored(&self) {}
    fn clients_report(&self) -> ClientsReport {
        unimplemented!()
    }
}

fn latest(token: &str, content: &str) -> Result<LatestConfiguration, PollError> {
    Ok(LatestConfiguration {
        next_token: token.into(),
        next_poll_interval: Some(Duration::from_secs(1)),
        content_type: Some("text/plain".into()),
        version_label: None,
        content: Bytes::from(content.to_owned()),
    })
}

fn service(upstream: Arc<Scripted>, poll_interval: Duration) -> Arc<AppConfigService> {
    let settings = AppConfigSettings {
        poll_interval,
        ..AppConfigSettings::default()
    };
    Arc::new(AppConfigService::new(
        settings,
        upstream,
        Arc::new(Stats::default()),
    ))
}

const PROFILE: ProfileRef = ProfileRef {
    application: "app",
    environment: "env",
    profile: "p",
};

/// Makes the profile's last poll older than any interval, as if the interval had passed.
fn interval_passed(service: &AppConfigService) {
    let profile = service.find(PROFILE).unwrap();
    profile.state.lock().unwrap().polled_at = None;
}

async fn read(service: &Arc<AppConfigService>) -> (String, Outcome, u64) {
    let (configuration, outcome, _) = service.get(PROFILE).await.unwrap();
    (
        String::from_utf8(configuration.content.to_vec()).unwrap(),
        outcome,
        configuration.version,
    )
}

#[tokio::test]
async fn the_chain_is_followed_and_an_empty_answer_keeps_the_version() {
    let upstream = Arc::new(Scripted::default());
    upstream.polls.lock().unwrap().extend([
        latest("t2", "one"),
        latest("t3", ""),
        latest("t4", "two"),
    ]);
    let service = service(upstream.clone(), Duration::from_secs(45));
    assert_eq!(read(&service).await, ("one".into(), Outcome::Miss, 1));
    assert_eq!(read(&service).await.1, Outcome::Hit);
    interval_passed(&service);
    assert_eq!(
        read(&service).await,
        ("one".into(), Outcome::Refresh, 1),
        "unchanged"
    );
    interval_passed(&service);
    assert_eq!(read(&service).await, ("two".into(), Outcome::Refresh, 2));
    assert_eq!(
        *upstream.tokens_polled.lock().unwrap(),
        ["session-1", "t2", "t3"]
    );
    // 45 s is at least AWS's 15 s floor: asked of the session.
    assert_eq!(*upstream.sessions.lock().unwrap(), [Some(45)]);
}

#[tokio::test]
async fn an_expired_or_corrupted_token_starts_one_new_session_and_polls_again() {
    for problem in [TokenProblem::Expired, TokenProblem::Corrupted] {
        let upstream = Arc::new(Scripted::default());
        upstream.polls.lock().unwrap().extend([
            latest("t2", "one"),
            Err(PollError::Token(problem)),
            latest("t3", "two"),
        ]);
        let service = service(upstream.clone(), Duration::from_secs(5));
        read(&service).await;
        interval_passed(&service);
        assert_eq!(
            read(&service).await.0,
            "two",
            "{problem:?}: the reader never sees it"
        );
        assert_eq!(upstream.sessions.lock().unwrap().len(), 2);
        assert_eq!(
            *upstream.tokens_polled.lock().unwrap(),
            ["session-1", "t2", "session-2"]
        );
        // Under 15 s nothing is asked of AppConfig.
        assert_eq!(upstream.sessions.lock().unwrap()[0], None);
    }
}

#[tokio::test]
async fn a_poll_too_soon_keeps_the_last_configuration_and_its_token() {
    let upstream = Arc::new(Scripted::default());
    upstream.polls.lock().unwrap().extend([
        latest("t2", "one"),
        Err(PollError::Token(TokenProblem::PollIntervalNotSatisfied)),
        latest("t3", "two"),
    ]);
    let service = service(upstream.clone(), Duration::from_secs(5));
    read(&service).await;
    interval_passed(&service);
    let (content, outcome, _) = read(&service).await;
    assert_eq!((content.as_str(), outcome), ("one", Outcome::Refresh));
    // It waits a whole interval again before the next poll, with the same token.
    assert_eq!(read(&service).await.1, Outcome::Hit);
    interval_passed(&service);
    assert_eq!(read(&service).await.0, "two");
    assert_eq!(
        *upstream.tokens_polled.lock().unwrap(),
        ["session-1", "t2", "t2"]
    );
    assert_eq!(upstream.sessions.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_poll_serves_the_last_configuration_stale() {
    let upstream = Arc::new(Scripted::default());
    let unreachable = UpstreamError {
        service: Service::AppConfig,
        kind: UpstreamErrorKind::Unreachable,
        message: "m".into(),
    };
    upstream.polls.lock().unwrap().extend([
        latest("t2", "one"),
        Err(PollError::Upstream(unreachable.clone())),
        latest("t3", "two"),
    ]);
    let service = service(upstream.clone(), Duration::from_secs(5));
    read(&service).await;
    interval_passed(&service);
    assert_eq!(read(&service).await.1, Outcome::Stale);
    // The token was kept for the next try.
    assert_eq!(read(&service).await.0, "two");
    assert_eq!(
        *upstream.tokens_polled.lock().unwrap(),
        ["session-1", "t2", "t2"]
    );
}

#[tokio::test]
async fn a_restore_starts_a_new_session_and_nothing_held_is_fresh() {
    let upstream = Arc::new(Scripted::default());
    upstream
        .polls
        .lock()
        .unwrap()
        .extend([latest("t2", "one"), latest("t3", "one")]);
    let service = service(upstream.clone(), Duration::from_secs(45));
    read(&service).await;
    service.restored();
    let (content, outcome, version) = read(&service).await;
    assert_eq!(
        (content.as_str(), outcome, version),
        ("one", Outcome::Refresh, 1)
    );
    assert_eq!(
        *upstream.tokens_polled.lock().unwrap(),
        ["session-1", "session-2"]
    );
}

#[tokio::test]
async fn an_empty_configuration_is_served_and_a_new_session_may_empty_it() {
    // A session's first poll carries the whole configuration: empty there is the
    // configuration (a profile deployed from an empty object), not "unchanged".
    let upstream = Arc::new(Scripted::default());
    upstream.polls.lock().unwrap().extend([
        latest("t2", ""),
        latest("t3", "one"),
        Err(PollError::Token(TokenProblem::Expired)),
        latest("t4", ""),
    ]);
    let service = service(upstream.clone(), Duration::from_secs(5));
    assert_eq!(read(&service).await, ("".into(), Outcome::Miss, 1));
    interval_passed(&service);
    assert_eq!(read(&service).await, ("one".into(), Outcome::Refresh, 2));
    interval_passed(&service);
    assert_eq!(
        read(&service).await,
        ("".into(), Outcome::Refresh, 3),
        "the new session's empty first answer replaces the last configuration"
    );
    assert_eq!(
        *upstream.tokens_polled.lock().unwrap(),
        ["session-1", "t2", "t3", "session-2"]
    );
}
