//! The well-behaved load: workers per interface, each request checked against the model.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use serde_json::Value;
use sidecache_tests::sidecar::TOKEN_HEADER;
use sidecache_tests::util::enc;

use crate::check::{Cache, Family, Seen, Shape, Upstream};
use crate::content::Rng;
use crate::record::{Iface, Outcome};
use crate::Soak;

/// Runs one worker of `iface` at `per_second` requests until the soak stops.
pub async fn worker(soak: Arc<Soak>, iface: Iface, per_second: f64) {
    let mut rng = Rng::seeded();
    let period = Duration::from_secs_f64(1.0 / per_second);
    // Spread the workers' first requests over one period.
    tokio::time::sleep(period.mul_f64((rng.below(1000) as f64) / 1000.0)).await;
    let mut next = tokio::time::Instant::now();
    while !soak.stopping() {
        match iface {
            Iface::Get => get_endpoints(&soak, &mut rng).await,
            Iface::Sdk => sdk_json(&soak, &mut rng).await,
            Iface::S3 => s3_rest(&soak, &mut rng).await,
            Iface::AppConfig => appconfig(&soak, &mut rng).await,
            _ => unreachable!("not a load interface"),
        }
        next += period;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        tokio::time::sleep_until(next).await;
    }
}

// ----- answers -------------------------------------------------------------------------------

/// An HTTP answer from sidecache, fully read.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn seen(&self, r0: Instant, r1: Instant, shape: Shape) -> Seen {
        Seen {
            r0,
            r1,
            cache: Cache::parse(self.header("x-cache")),
            age: self.header("age").and_then(|a| a.parse().ok()),
            shape,
        }
    }

    /// The error code of an error answer: JSON `__type`, S3 XML `<Code>`, else the text.
    pub fn code(&self) -> String {
        if let Ok(doc) = serde_json::from_slice::<Value>(&self.body) {
            if let Some(t) = doc["__type"].as_str() {
                return t.to_owned();
            }
        }
        let text = String::from_utf8_lossy(&self.body);
        if let Some(code) = text
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
        {
            return code.to_owned();
        }
        text.chars().take(60).collect()
    }
}

/// A GET on sidecache (main port with the token, or the agent's port without).
pub async fn http_get(soak: &Soak, url: &str, token: bool) -> Result<Answer, (String, String)> {
    let mut req = soak.http.get(url);
    if token {
        req = req.header(TOKEN_HEADER, &soak.token);
    }
    send(req).await
}

pub async fn send(req: reqwest::RequestBuilder) -> Result<Answer, (String, String)> {
    let resp = req.send().await.map_err(|e| connection_error(&e))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|e| connection_error(&e))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn connection_error(e: &reqwest::Error) -> (String, String) {
    let cause = if e.is_timeout() {
        "client timeout (20 s)"
    } else if e.is_connect() {
        "connection refused"
    } else if e.is_body() || e.is_decode() {
        "body cut off"
    } else {
        "connection error"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(&format!(": {s}"));
        source = s.source();
    }
    (cause.to_owned(), detail)
}

/// The outcome of an error answer (or none) from sidecache.
pub fn failure(
    soak: &Soak,
    to: Upstream,
    status: Option<u16>,
    code: &str,
    r0: Instant,
    r1: Instant,
    detail: String,
) -> Outcome {
    let family = Family::of(status, code);
    let cause = match status {
        Some(s) => format!("{s} {code}"),
        None => code.to_owned(),
    };
    let explained = status.and_then(|_| soak.model.explain(to, family, r0, r1));
    Outcome::Error {
        cause,
        explained,
        detail,
    }
}

fn answer_failure(soak: &Soak, to: Upstream, a: &Answer, r0: Instant, r1: Instant) -> Outcome {
    let detail = String::from_utf8_lossy(&a.body).chars().take(300).collect();
    failure(soak, to, Some(a.status), &a.code(), r0, r1, detail)
}

/// A checked 200: right, wrong, or right but stale without a fault to explain it.
pub fn checked(soak: &Soak, to: Upstream, result: Result<(), String>, seen: &Seen) -> Outcome {
    match result {
        Err(detail) => Outcome::Wrong(detail),
        Ok(()) if seen.cache == Cache::Stale => {
            let explained = if to == Upstream::AppConfig {
                soak.model.ac_stale_explained(seen.r0, seen.r1)
            } else {
                soak.model.stale_explained(seen.r0, seen.r1).is_some()
            };
            if explained {
                Outcome::Ok(Cache::Stale)
            } else {
                Outcome::UnexplainedStale(format!(
                    "stale answer at {} with no fault injected around it",
                    soak.model.at(seen.r0)
                ))
            }
        }
        Ok(()) => Outcome::Ok(seen.cache),
    }
}

fn json_of(a: &Answer) -> Result<Value, String> {
    serde_json::from_slice(&a.body).map_err(|e| {
        format!(
            "200 body is not JSON ({e}): {}",
            String::from_utf8_lossy(&a.body)
                .chars()
                .take(200)
                .collect::<String>()
        )
    })
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> Result<&'a str, String> {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{pointer} missing in {}", short(doc)))
}

fn short(doc: &Value) -> String {
    doc.to_string().chars().take(300).collect()
}

/// Runs a request, checks it with `check` (on a 200) and records the outcome.
async fn get_checked(
    soak: &Soak,
    op: &str,
    url: String,
    to: Upstream,
    check: impl FnOnce(&Answer, Instant, Instant) -> Outcome,
) {
    let r0 = Instant::now();
    let result = http_get(soak, &url, true).await;
    let r1 = Instant::now();
    let outcome = match result {
        Ok(a) if a.status == 200 => check(&a, r0, r1),
        Ok(a) => answer_failure(soak, to, &a, r0, r1),
        Err((cause, detail)) => failure(soak, to, None, &cause, r0, r1, detail),
    };
    soak.rec.record(Iface::Get, op, r0, r1, outcome);
}

// ----- GET endpoints -------------------------------------------------------------------------

async fn get_endpoints(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let base = &soak.main;
    match rng.weighted(&[24, 8, 1, 8, 5, 12, 4, 4, 5, 10, 6, 1]) {
        0..=2 => {
            let p = rng.pick(&n.params);
            let decrypt = p.secure || rng.chance(0.3);
            let (op, extra) = match rng.weighted(&[24, 8, 1]) {
                0 => ("parameters/get", ""),
                1 => ("parameters/get raw", "&format=raw"),
                _ => ("parameters/get refreshNow", "&refreshNow=true"),
            };
            let url = format!(
                "{base}/systemsmanager/parameters/get?name={}{}{extra}",
                enc(&p.name),
                if decrypt { "&withDecryption=true" } else { "" }
            );
            let name = p.name.clone();
            get_checked(soak, op, url, Upstream::Values, |a, r0, r1| {
                let seen = a.seen(r0, r1, Shape::Single);
                let result = if extra == "&format=raw" {
                    let got = String::from_utf8_lossy(&a.body);
                    soak.model.check_value(&name, &got, &seen).map(drop)
                } else {
                    json_of(a).and_then(|doc| {
                        let asked = str_at(&doc, "/Parameter/Name")?;
                        if asked != name {
                            return Err(format!("[other name] asked {name}, answered {asked}"));
                        }
                        let got = str_at(&doc, "/Parameter/Value")?;
                        soak.model.check_value(&name, got, &seen).map(drop)
                    })
                };
                checked(soak, Upstream::Values, result, &seen)
            })
            .await;
        }
        3 => {
            let names = some_names(
                rng,
                &n.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                2,
                6,
            );
            let url = format!(
                "{base}/systemsmanager/parameters/get-many?names={}&withDecryption=true",
                names.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")
            );
            get_checked(
                soak,
                "parameters/get-many",
                url,
                Upstream::Values,
                |a, r0, r1| {
                    let seen = a.seen(r0, r1, Shape::Batch);
                    let result = json_of(a).and_then(|doc| {
                        if doc["InvalidParameters"]
                            .as_array()
                            .is_some_and(|l| !l.is_empty())
                        {
                            return Err(format!("InvalidParameters not empty: {}", short(&doc)));
                        }
                        check_list(soak, &doc, "Parameters", "Name", "Value", &names, &seen)
                    });
                    checked(soak, Upstream::Values, result, &seen)
                },
            )
            .await;
        }
        4 => {
            let tree = rng.pick(&n.trees).clone();
            let url = format!(
                "{base}/systemsmanager/parameters/by-path?path={}&recursive={}&withDecryption={}",
                enc(&tree.path),
                tree.recursive,
                tree.decrypt
            );
            get_checked(
                soak,
                "parameters/by-path",
                url,
                Upstream::Values,
                |a, r0, r1| {
                    let seen = a.seen(r0, r1, Shape::Tree);
                    let result = json_of(a).and_then(|doc| {
                        check_list(
                            soak,
                            &doc,
                            "Parameters",
                            "Name",
                            "Value",
                            &tree.names,
                            &seen,
                        )
                    });
                    checked(soak, Upstream::Values, result, &seen)
                },
            )
            .await;
        }
        5 | 6 => {
            let id = rng.pick(&n.secrets).clone();
            let (op, url, raw) = match rng.weighted(&[6, 2, 2, 2]) {
                0 => (
                    "secretsmanager/get",
                    format!("{base}/secretsmanager/get?secretId={}", enc(&id)),
                    false,
                ),
                1 => (
                    "secretsmanager/get raw",
                    format!("{base}/secretsmanager/get?secretId={}&format=raw", enc(&id)),
                    true,
                ),
                2 => ("/v1/<id>", format!("{base}/v1/{id}"), false),
                _ => (
                    "/secretsmanager/<id>",
                    format!("{base}/secretsmanager/{id}"),
                    false,
                ),
            };
            get_checked(soak, op, url, Upstream::Values, |a, r0, r1| {
                let seen = a.seen(r0, r1, Shape::Single);
                let result = if raw {
                    soak.model
                        .check_value(&id, &String::from_utf8_lossy(&a.body), &seen)
                        .map(drop)
                } else {
                    json_of(a).and_then(|doc| {
                        let asked = str_at(&doc, "/Name")?;
                        if asked != id {
                            return Err(format!("[other name] asked {id}, answered {asked}"));
                        }
                        soak.model
                            .check_value(&id, str_at(&doc, "/SecretString")?, &seen)
                            .map(drop)
                    })
                };
                checked(soak, Upstream::Values, result, &seen)
            })
            .await;
        }
        7 => {
            let ids = some_names(rng, &n.secrets, 2, 5);
            let url = format!(
                "{base}/secretsmanager/get-many?secretIds={}",
                ids.iter().map(|s| enc(s)).collect::<Vec<_>>().join(",")
            );
            get_checked(
                soak,
                "secretsmanager/get-many",
                url,
                Upstream::Values,
                |a, r0, r1| {
                    let seen = a.seen(r0, r1, Shape::Batch);
                    let result = json_of(a).and_then(|doc| {
                        if doc["Errors"].as_array().is_some_and(|l| !l.is_empty()) {
                            return Err(format!("Errors not empty: {}", short(&doc)));
                        }
                        check_list(
                            soak,
                            &doc,
                            "SecretValues",
                            "Name",
                            "SecretString",
                            &ids,
                            &seen,
                        )
                    });
                    checked(soak, Upstream::Values, result, &seen)
                },
            )
            .await;
        }
        8 => {
            // maxAge bounds the age of what is served.
            let p = rng.pick(&n.params);
            let max_age = 1 + rng.below(5) as u64;
            let url = format!(
                "{base}/systemsmanager/parameters/get?name={}&withDecryption=true&maxAge={max_age}",
                enc(&p.name)
            );
            let name = p.name.clone();
            get_checked(
                soak,
                "parameters/get maxAge",
                url,
                Upstream::Values,
                |a, r0, r1| {
                    let seen = a.seen(r0, r1, Shape::Single);
                    let result = json_of(a).and_then(|doc| {
                        if seen.cache == Cache::Hit && seen.age.is_some_and(|age| age > max_age) {
                            return Err(format!(
                                "maxAge={max_age} answered a hit of Age {:?}",
                                seen.age
                            ));
                        }
                        soak.model
                            .check_value(&name, str_at(&doc, "/Parameter/Value")?, &seen)
                            .map(drop)
                    });
                    checked(soak, Upstream::Values, result, &seen)
                },
            )
            .await;
        }
        9 | 11 => {
            let objects: Vec<_> = n
                .objects
                .iter()
                .filter(|o| o.large == (rng.chance(0.03)))
                .collect();
            let o = *rng.pick(&objects);
            let url = format!(
                "{base}/s3/get?bucket={}&key={}&format=raw",
                enc(&n.bucket),
                enc(&o.key)
            );
            let key = o.key.clone();
            get_checked(soak, "s3/get raw", url, Upstream::S3, |a, r0, r1| {
                let seen = a.seen(r0, r1, Shape::Single);
                let result = soak
                    .model
                    .check_object(
                        &key,
                        Some((0, &a.body)),
                        None,
                        Some(a.body.len() as u64),
                        &seen,
                    )
                    .map(drop);
                checked(soak, Upstream::S3, result, &seen)
            })
            .await;
        }
        _ => s3_json(soak, rng).await,
    }
}

/// `/s3/get` answering where the file is, then the file read as a handler would.
async fn s3_json(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let small: Vec<_> = n.objects.iter().filter(|o| !o.large).collect();
    let o = *rng.pick(&small);
    let url = format!("{}/s3/get?uri=s3://{}/{}", soak.main, n.bucket, o.key);
    let r0 = Instant::now();
    let result = http_get(soak, &url, true).await;
    let r1 = Instant::now();
    let outcome = match result {
        Ok(a) if a.status == 200 => {
            let seen = a.seen(r0, r1, Shape::Single);
            let meta = json_of(&a).and_then(|doc| {
                let path = str_at(&doc, "/path")?.to_owned();
                let etag = str_at(&doc, "/etag")?.to_owned();
                let size = doc["size"].as_u64().ok_or("size missing")?;
                soak.model
                    .check_object_meta(&o.key, Some(&etag), Some(size), &seen)?;
                Ok(path)
            });
            match meta {
                Err(detail) => Outcome::Wrong(detail),
                Ok(path) => match tokio::fs::read(&path).await {
                    Ok(bytes) => {
                        // A refresh may have renamed a newer version over the path since.
                        let after = Seen {
                            r1: Instant::now(),
                            ..seen
                        };
                        let result = soak
                            .model
                            .check_object(
                                &o.key,
                                Some((0, &bytes)),
                                None,
                                Some(bytes.len() as u64),
                                &after,
                            )
                            .map(drop);
                        checked(soak, Upstream::S3, result, &seen)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        // Evicted (budget) or invalidated between the answer and the open: the
                        // contract ("valid while it is cached") allows it.
                        soak.rec
                            .note("s3/get path gone before the handler opened it", 1.0);
                        checked(soak, Upstream::S3, Ok(()), &seen)
                    }
                    Err(e) => Outcome::Error {
                        cause: "file unreadable".into(),
                        explained: None,
                        detail: format!("{path}: {e}"),
                    },
                },
            }
        }
        Ok(a) => answer_failure(soak, Upstream::S3, &a, r0, r1),
        Err((cause, detail)) => failure(soak, Upstream::S3, None, &cause, r0, r1, detail),
    };
    soak.rec
        .record(Iface::Get, "s3/get + open", r0, r1, outcome);
}

/// Distinct names, `min..=max` of them, in random order.
fn some_names(rng: &mut Rng, all: &[String], min: usize, max: usize) -> Vec<String> {
    let want = min + rng.below(max - min + 1);
    let mut picked: Vec<String> = Vec::new();
    while picked.len() < want.min(all.len()) {
        let name = rng.pick(all);
        if !picked.contains(name) {
            picked.push(name.clone());
        }
    }
    picked
}

/// A list answer: exactly the names asked (any order), each value checked.
fn check_list(
    soak: &Soak,
    doc: &Value,
    list: &str,
    name_field: &str,
    value_field: &str,
    asked: &[String],
    seen: &Seen,
) -> Result<(), String> {
    let items = doc[list]
        .as_array()
        .ok_or_else(|| format!("{list} missing in {}", short(doc)))?;
    let mut names = BTreeSet::new();
    for item in items {
        let name = item[name_field]
            .as_str()
            .ok_or_else(|| format!("{name_field} missing in {}", short(item)))?;
        let value = item[value_field]
            .as_str()
            .ok_or_else(|| format!("{value_field} missing in {}", short(item)))?;
        soak.model.check_value(name, value, seen)?;
        names.insert(name.to_owned());
    }
    let wanted: BTreeSet<String> = asked.iter().cloned().collect();
    if names != wanted || items.len() != wanted.len() {
        return Err(format!(
            "{list} named {names:?} ({} items), asked {wanted:?}",
            items.len()
        ));
    }
    Ok(())
}

// ----- SDK: JSON 1.1 -------------------------------------------------------------------------

/// Catches `X-Cache` and `Age` of the SDK's answer (the output types do not carry them).
#[derive(Clone, Debug, Default)]
pub struct Capture(Arc<Mutex<Option<CacheHeaders>>>);

/// `X-Cache` and `Age`, as sent.
type CacheHeaders = (Option<String>, Option<String>);

impl Capture {
    pub fn seen(&self, r0: Instant, r1: Instant, shape: Shape) -> Seen {
        let (cache, age) = self.0.lock().unwrap().take().unwrap_or_default();
        Seen {
            r0,
            r1,
            cache: Cache::parse(cache.as_deref()),
            age: age.and_then(|a| a.parse().ok()),
            shape,
        }
    }
}

impl aws_sdk_ssm::config::Intercept for Capture {
    fn name(&self) -> &'static str {
        "soak-capture"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_ssm::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_ssm::config::RuntimeComponents,
        _: &mut aws_sdk_ssm::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let headers = context.response().headers();
        *self.0.lock().unwrap() = Some((
            headers.get("x-cache").map(str::to_owned),
            headers.get("age").map(str::to_owned),
        ));
        Ok(())
    }
}

/// The outcome of an SDK error.
pub fn sdk_failure<E>(
    soak: &Soak,
    to: Upstream,
    e: &SdkError<E, HttpResponse>,
    r0: Instant,
    r1: Instant,
) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = match (e.code(), e) {
        (Some(code), _) => code.to_owned(),
        (None, SdkError::TimeoutError(_)) => "client timeout (20 s)".into(),
        (None, SdkError::DispatchFailure(_)) => "connection failure".into(),
        (None, SdkError::ResponseError(_)) => "unreadable answer".into(),
        (None, _) => "error".into(),
    };
    let detail: String = DisplayErrorContext(e)
        .to_string()
        .chars()
        .take(400)
        .collect();
    failure(soak, to, status, &code, r0, r1, detail)
}

async fn sdk_json(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let to = Upstream::ValuesJson;
    let cap = Capture::default();
    let r0 = Instant::now();
    let (op, outcome) = match rng.weighted(&[35, 15, 6, 25, 10]) {
        0 => {
            let p = rng.pick(&n.params);
            let result = soak
                .sdk_ssm
                .get_parameter()
                .name(&p.name)
                .with_decryption(p.secure || rng.chance(0.5))
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            let r1 = Instant::now();
            let outcome = match result {
                Ok(out) => {
                    let seen = cap.seen(r0, r1, Shape::Single);
                    let result = match out.parameter() {
                        Some(param) if param.name() == Some(p.name.as_str()) => soak
                            .model
                            .check_value(&p.name, param.value().unwrap_or_default(), &seen)
                            .map(drop),
                        other => Err(format!("[other name] asked {}, answered {other:?}", p.name)),
                    };
                    checked(soak, to, result, &seen)
                }
                Err(e) => sdk_failure(soak, to, &e, r0, r1),
            };
            ("GetParameter", outcome)
        }
        1 => {
            let all: Vec<String> = n.params.iter().map(|p| p.name.clone()).collect();
            let names = some_names(rng, &all, 2, 5);
            let result = soak
                .sdk_ssm
                .get_parameters()
                .set_names(Some(names.clone()))
                .with_decryption(true)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            let r1 = Instant::now();
            let outcome = match result {
                Ok(out) => {
                    let seen = cap.seen(r0, r1, Shape::Batch);
                    let pairs = out
                        .parameters()
                        .iter()
                        .map(|p| (p.name().unwrap_or_default(), p.value().unwrap_or_default()))
                        .collect::<Vec<_>>();
                    let result = if out.invalid_parameters().is_empty() {
                        check_pairs(soak, &pairs, &names, &seen)
                    } else {
                        Err(format!("InvalidParameters {:?}", out.invalid_parameters()))
                    };
                    checked(soak, to, result, &seen)
                }
                Err(e) => sdk_failure(soak, to, &e, r0, r1),
            };
            ("GetParameters", outcome)
        }
        2 => {
            let tree = rng.pick(&n.trees).clone();
            let mut token: Option<String> = None;
            let mut pairs: Vec<(String, String, Seen)> = Vec::new();
            let mut failed = None;
            for _ in 0..10 {
                let cap = Capture::default();
                let p0 = Instant::now();
                let result = soak
                    .sdk_ssm
                    .get_parameters_by_path()
                    .path(&tree.path)
                    .recursive(tree.recursive)
                    .with_decryption(tree.decrypt)
                    .max_results(10)
                    .set_next_token(token.take())
                    .customize()
                    .interceptor(cap.clone())
                    .send()
                    .await;
                let p1 = Instant::now();
                match result {
                    Ok(out) => {
                        let seen = cap.seen(p0, p1, Shape::Tree);
                        for p in out.parameters() {
                            pairs.push((
                                p.name().unwrap_or_default().to_owned(),
                                p.value().unwrap_or_default().to_owned(),
                                seen,
                            ));
                        }
                        token = out.next_token().map(str::to_owned);
                        if token.is_none() {
                            break;
                        }
                    }
                    Err(e) => {
                        failed = Some(sdk_failure(soak, to, &e, p0, p1));
                        break;
                    }
                }
            }
            let outcome = match failed {
                Some(outcome) => outcome,
                None => {
                    let mut result = Ok(());
                    let mut worst = Cache::Hit;
                    for (name, value, seen) in &pairs {
                        if seen.cache == Cache::Stale {
                            worst = Cache::Stale;
                        }
                        if let Err(e) = soak.model.check_value(name, value, seen) {
                            result = Err(e);
                            break;
                        }
                    }
                    let names: BTreeSet<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
                    let wanted: BTreeSet<&str> = tree.names.iter().map(String::as_str).collect();
                    if result.is_ok() && (names != wanted || pairs.len() != wanted.len()) {
                        result = Err(format!(
                            "GetParametersByPath {} pages named {names:?} ({} items), expected {wanted:?}",
                            tree.path,
                            pairs.len()
                        ));
                    }
                    let seen = Seen {
                        r0,
                        r1: Instant::now(),
                        cache: worst,
                        age: None,
                        shape: Shape::Tree,
                    };
                    checked(soak, to, result, &seen)
                }
            };
            ("GetParametersByPath (paged)", outcome)
        }
        3 => {
            let id = rng.pick(&n.secrets).clone();
            let result = soak
                .sdk_secrets
                .get_secret_value()
                .secret_id(&id)
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            let r1 = Instant::now();
            let outcome = match result {
                Ok(out) => {
                    let seen = cap.seen(r0, r1, Shape::Single);
                    let result = if out.name() == Some(id.as_str()) {
                        soak.model
                            .check_value(&id, out.secret_string().unwrap_or_default(), &seen)
                            .map(drop)
                    } else {
                        Err(format!(
                            "[other name] asked {id}, answered {:?}",
                            out.name()
                        ))
                    };
                    checked(soak, to, result, &seen)
                }
                Err(e) => sdk_failure(soak, to, &e, r0, r1),
            };
            ("GetSecretValue", outcome)
        }
        _ => {
            let ids = some_names(rng, &n.secrets, 2, 5);
            let result = soak
                .sdk_secrets
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.clone()))
                .customize()
                .interceptor(cap.clone())
                .send()
                .await;
            let r1 = Instant::now();
            let outcome = match result {
                Ok(out) => {
                    let seen = cap.seen(r0, r1, Shape::Batch);
                    let pairs = out
                        .secret_values()
                        .iter()
                        .map(|s| {
                            (
                                s.name().unwrap_or_default(),
                                s.secret_string().unwrap_or_default(),
                            )
                        })
                        .collect::<Vec<_>>();
                    let result = if out.errors().is_empty() {
                        check_pairs(soak, &pairs, &ids, &seen)
                    } else {
                        Err(format!("Errors {:?}", out.errors()))
                    };
                    checked(soak, to, result, &seen)
                }
                Err(e) => sdk_failure(soak, to, &e, r0, r1),
            };
            ("BatchGetSecretValue", outcome)
        }
    };
    soak.rec.record(Iface::Sdk, op, r0, Instant::now(), outcome);
}

fn check_pairs(
    soak: &Soak,
    pairs: &[(&str, &str)],
    asked: &[String],
    seen: &Seen,
) -> Result<(), String> {
    for (name, value) in pairs {
        soak.model.check_value(name, value, seen)?;
    }
    let names: BTreeSet<&str> = pairs.iter().map(|p| p.0).collect();
    let wanted: BTreeSet<&str> = asked.iter().map(String::as_str).collect();
    if names != wanted || pairs.len() != wanted.len() {
        return Err(format!(
            "answered {names:?} ({} items), asked {wanted:?}",
            pairs.len()
        ));
    }
    Ok(())
}

// ----- SDK: S3 REST --------------------------------------------------------------------------

async fn s3_rest(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let to = Upstream::S3;
    let small: Vec<_> = n.objects.iter().filter(|o| !o.large).collect();
    let large: Vec<_> = n.objects.iter().filter(|o| o.large).collect();
    let cap = Capture::default();
    let pick = rng.weighted(&[25, 25, 20, 10, 10, 8, 2]);
    let o = if matches!(pick, 2 | 6) {
        *rng.pick(&large)
    } else {
        *rng.pick(&small)
    };
    let base = soak
        .model
        .latest(&o.key)
        .map(|v| v.size)
        .unwrap_or(1024)
        .min(
            // every version is at least the base size
            soak.names
                .objects
                .iter()
                .find(|x| x.key == o.key)
                .map(|x| x.base)
                .unwrap_or(1024),
        );
    let r0 = Instant::now();
    let (op, range, if_none_match) = match pick {
        0 => ("GetObject", None, None),
        1 | 2 => {
            let len = if pick == 2 {
                4096 + rng.below(60_000) as u64
            } else {
                1 + rng.below(2000) as u64
            };
            let start = rng.below((base - len.min(base - 1)) as usize) as u64;
            let end = (start + len - 1).min(base - 1);
            (
                if pick == 2 {
                    "GetObject Range (large)"
                } else {
                    "GetObject Range"
                },
                Some(format!("bytes={start}-{end}")),
                None,
            )
        }
        3 => ("HeadObject", None, None),
        4 => {
            let etag = soak.model.latest(&o.key).and_then(|v| v.etag);
            ("GetObject If-None-Match", None, etag)
        }
        5 => (
            "GetObject Range suffix",
            Some(format!("bytes=-{}", 1 + rng.below(3000))),
            None,
        ),
        _ => ("GetObject (large)", None, None),
    };
    let outcome = if op == "HeadObject" {
        let result = soak
            .sdk_s3
            .head_object()
            .bucket(&n.bucket)
            .key(&o.key)
            .customize()
            .interceptor(cap.clone())
            .send()
            .await;
        let r1 = Instant::now();
        match result {
            Ok(out) => {
                let seen = cap.seen(r0, r1, Shape::Single);
                let size = out.content_length().map(|l| l as u64);
                let result = soak
                    .model
                    .check_object_meta(&o.key, out.e_tag(), size, &seen)
                    .map(drop);
                checked(soak, to, result, &seen)
            }
            Err(e) => sdk_failure(soak, to, &e, r0, r1),
        }
    } else {
        let result = soak
            .sdk_s3
            .get_object()
            .bucket(&n.bucket)
            .key(&o.key)
            .set_range(range.clone())
            .set_if_none_match(if_none_match.clone())
            .customize()
            .interceptor(cap.clone())
            .send()
            .await;
        match result {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_owned);
                let content_range = out.content_range().map(str::to_owned);
                let length = out.content_length().map(|l| l as u64);
                let body = tokio::time::timeout(Duration::from_secs(20), out.body.collect()).await;
                let r1 = Instant::now();
                let seen = cap.seen(r0, r1, Shape::Single);
                match body {
                    Ok(Ok(body)) => {
                        let body = body.into_bytes();
                        let result = object_answer(
                            soak,
                            &o.key,
                            &body,
                            etag.as_deref(),
                            content_range.as_deref(),
                            length,
                            range.is_some(),
                            &seen,
                        );
                        checked(soak, to, result, &seen)
                    }
                    Ok(Err(e)) => failure(soak, to, None, "body cut off", r0, r1, e.to_string()),
                    Err(_) => failure(soak, to, None, "body stalled (20 s)", r0, r1, String::new()),
                }
            }
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                let r1 = Instant::now();
                let seen = cap.seen(r0, r1, Shape::Single);
                // Not modified: the cached version is the one whose ETag was sent.
                let result = soak
                    .model
                    .check_object_meta(&o.key, if_none_match.as_deref(), None, &seen)
                    .map(drop);
                checked(soak, to, result, &seen)
            }
            Err(e) => sdk_failure(soak, to, &e, r0, Instant::now()),
        }
    };
    soak.rec.record(Iface::S3, op, r0, Instant::now(), outcome);
}

/// A GetObject answer: the bytes (at the offset `Content-Range` says), ETag and full size of
/// one allowed version.
#[allow(clippy::too_many_arguments)]
fn object_answer(
    soak: &Soak,
    key: &str,
    body: &[u8],
    etag: Option<&str>,
    content_range: Option<&str>,
    length: Option<u64>,
    ranged: bool,
    seen: &Seen,
) -> Result<(), String> {
    if length.is_some_and(|l| l != body.len() as u64) {
        return Err(format!(
            "{key}: Content-Length {length:?} but {} bytes",
            body.len()
        ));
    }
    let (offset, total) = match content_range {
        Some(cr) => {
            let parsed = cr
                .strip_prefix("bytes ")
                .and_then(|r| r.split_once('/'))
                .and_then(|(span, total)| {
                    let (a, b) = span.split_once('-')?;
                    Some((
                        a.parse::<u64>().ok()?,
                        b.parse::<u64>().ok()?,
                        total.parse::<u64>().ok()?,
                    ))
                });
            let Some((a, b, total)) = parsed else {
                return Err(format!("{key}: unreadable Content-Range {cr:?}"));
            };
            if b + 1 - a != body.len() as u64 {
                return Err(format!(
                    "{key}: Content-Range {cr} but {} bytes",
                    body.len()
                ));
            }
            (a, Some(total))
        }
        None if ranged => return Err(format!("{key}: a Range answered without Content-Range")),
        None => (0, Some(body.len() as u64)),
    };
    soak.model
        .check_object(key, Some((offset, body)), etag, total, seen)
        .map(drop)
}

// ----- AppConfig -----------------------------------------------------------------------------

async fn appconfig(soak: &Soak, rng: &mut Rng) {
    let n = &soak.names;
    let profile = rng.pick(&n.profiles).clone();
    let main_port = rng.chance(0.15);
    let flag = profile.flags && rng.chance(0.6);
    let path = format!(
        "/applications/{}/environments/{}/configurations/{}{}",
        enc(&n.app),
        enc(&n.env),
        enc(&profile.name),
        if flag { "?flag=feature" } else { "" }
    );
    let (op, url) = match (main_port, flag) {
        (true, _) => ("configuration (main port)", format!("{}{path}", soak.main)),
        (false, true) => ("flag (agent port)", format!("{}{path}", soak.agent)),
        (false, false) => (
            "configuration (agent port)",
            format!("{}{path}", soak.agent),
        ),
    };
    let to = Upstream::AppConfig;
    let r0 = Instant::now();
    let result = http_get(soak, &url, main_port).await;
    let r1 = Instant::now();
    let outcome = match result {
        Ok(a) if a.status == 200 => {
            let seen = a.seen(r0, r1, Shape::Single);
            let label = if profile.flags {
                json_of(&a).and_then(|doc| {
                    let pointer = if flag { "/tag" } else { "/feature/tag" };
                    str_at(&doc, pointer).map(str::to_owned)
                })
            } else {
                Ok(String::from_utf8_lossy(&a.body).into_owned())
            };
            let result =
                label.and_then(|l| soak.model.check_config(&profile.name, &l, &seen).map(drop));
            checked(soak, to, result, &seen)
        }
        Ok(a) => answer_failure(soak, to, &a, r0, r1),
        Err((cause, detail)) => failure(soak, to, None, &cause, r0, r1, detail),
    };
    soak.rec.record(Iface::AppConfig, op, r0, r1, outcome);
}
