//! Query strings (query.rs, query/syntax.rs, query/pairs.rs): the input is one query string (and,
//! before a `?` in it, a `/v1/<secretId>` path id).
//!
//! Properties: the hand-written split and decode yield what `form_urlencoded::parse` yields; every
//! request a builder accepts encodes back into a query that the same builder parses into the same
//! request and options; accepted values hold no control characters and keep their limits.

#![no_main]
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use sidecache::fuzzing::*;
use sidecache::model::{Service, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = query_pairs(text);
    let reference: Vec<(String, String)> = form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(ours, reference, "split/decode differ from form_urlencoded");

    let query = Some(text);
    if let Ok((request, options)) = parameter_request(query) {
        assert!(!request.name.is_empty() && request.name.len() <= 2048);
        no_controls(&request.name);
        let again = encode_parameter(&request, &options);
        assert_eq!(
            parameter_request(Some(&again)),
            Ok((request, options)),
            "parameter: {again}"
        );
    }
    if let Ok((request, options)) = secret_request(query) {
        no_controls(&request.secret_id);
        let mut q = Query::default();
        q.add("secretId", &request.secret_id);
        secret_options(&mut q, &request);
        shared(&mut q, &options, &request.target);
        assert_eq!(
            secret_request(Some(&q.0)),
            Ok((request, options)),
            "{}",
            q.0
        );
    }
    let (id, rest) = text.split_once('?').unwrap_or(("x", text));
    if let Ok((request, options)) = secret_path_request(id, Some(rest)) {
        assert!(!request.secret_id.is_empty());
        // Each `+`-separated piece percent-encoded whole; `+` stays the separator.
        let id: Vec<String> = request
            .secret_id
            .split('+')
            .map(|piece| utf8_percent_encode(piece, NON_ALPHANUMERIC).to_string())
            .collect();
        let mut q = Query::default();
        secret_options(&mut q, &request);
        shared(&mut q, &options, &request.target);
        assert_eq!(
            secret_path_request(&id.join("+"), Some(&q.0)),
            Ok((request, options)),
            "{}?{}",
            id.join("+"),
            q.0
        );
    }
    if let Ok((request, options)) = object_request(query) {
        assert!(!request.bucket.is_empty() && !request.bucket.contains('/'));
        assert!(!request.key.is_empty() && request.key.len() <= 1024);
        let mut q = Query::default();
        q.add("bucket", &request.bucket);
        q.add("key", &request.key);
        if let Some(v) = &request.version_id {
            q.add("versionId", v);
        }
        shared(&mut q, &options, &request.target);
        assert_eq!(
            object_request(Some(&q.0)),
            Ok((request, options)),
            "{}",
            q.0
        );
    }
    if let Ok((request, options)) = many_request(query) {
        assert!((1..=100).contains(&request.names.len()));
        let mut q = Query::default();
        q.add("names", &request.names.join(","));
        if request.with_decryption {
            q.add("withDecryption", "true");
        }
        shared(&mut q, &options, &request.target);
        assert_eq!(many_request(Some(&q.0)), Ok((request, options)), "{}", q.0);
    }
    if let Ok((request, options)) = secrets_many_request(query) {
        assert!((1..=100).contains(&request.secret_ids.len()));
        let mut q = Query::default();
        q.add("secretIds", &request.secret_ids.join(","));
        if let Some(stage) = &request.version_stage {
            q.add("versionStage", stage);
        }
        shared(&mut q, &options, &request.target);
        assert_eq!(
            secrets_many_request(Some(&q.0)),
            Ok((request, options)),
            "{}",
            q.0
        );
    }
    if let Ok((request, options)) = path_request(query) {
        assert!(request.path.starts_with('/'));
        let mut q = Query::default();
        q.add("path", &request.path);
        if request.recursive {
            q.add("recursive", "true");
        }
        if request.with_decryption {
            q.add("withDecryption", "true");
        }
        shared(&mut q, &options, &request.target);
        assert_eq!(path_request(Some(&q.0)), Ok((request, options)), "{}", q.0);
    }
    if let Ok(what) = invalidate_request(query) {
        let mut q = Query::default();
        let kind = |q: &mut Query, kind: &Option<Service>| {
            if let Some(kind) = kind {
                q.add(
                    "kind",
                    match kind {
                        Service::Ssm => "ssm",
                        Service::SecretsManager => "secret",
                        Service::S3 => "s3",
                        Service::AppConfig => unreachable!("not a kind= value"),
                    },
                );
            }
        };
        // One `s3://` is taken off a name: put it back when the name starts with another.
        let prefixed = |name: &str| match name.starts_with("s3://") {
            true => format!("s3://{name}"),
            false => name.to_owned(),
        };
        match &what {
            Invalidation::All => q.add("all", "true"),
            Invalidation::Name { kind: k, name } => {
                kind(&mut q, k);
                q.add("name", &prefixed(name));
            }
            Invalidation::Prefix { kind: k, prefix } => {
                kind(&mut q, k);
                q.add("prefix", &prefixed(prefix));
            }
        }
        assert_eq!(invalidate_request(Some(&q.0)), Ok(what), "{}", q.0);
    }
});

/// A query built pair by pair, each side form-encoded.
#[derive(Default)]
struct Query(String);

impl Query {
    fn add(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0
            .extend(form_urlencoded::byte_serialize(key.as_bytes()));
        self.0.push('=');
        self.0
            .extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
}

fn shared(q: &mut Query, options: &ReadOptions, target: &Target) {
    if options.format == Format::Raw {
        q.add("format", "raw");
    }
    if let Some(age) = options.max_age {
        q.add("maxAge", &age.as_secs().to_string());
    }
    if let Some(region) = &target.region {
        q.add("region", region);
    }
    if let Some(role) = &target.role_arn {
        q.add("roleArn", role);
    }
}

fn secret_options(q: &mut Query, request: &SecretRequest) {
    if let Some(v) = &request.version_id {
        q.add("versionId", v);
    }
    if let Some(v) = &request.version_stage {
        q.add("versionStage", v);
    }
}

/// A name with its selector: in `version=`/`label=` when the bare name does not itself split
/// off a selector, else as the `:selector` suffix the name was read with.
fn encode_parameter(request: &ParameterRequest, options: &ReadOptions) -> String {
    let mut q = Query::default();
    let bare = matches!(split_selector(&request.name), Ok((_, None)));
    match &request.selector {
        None => q.add("name", &request.name),
        Some(Selector::Version(v)) if bare => {
            q.add("name", &request.name);
            q.add("version", &v.to_string());
        }
        Some(Selector::Label(l)) if bare => {
            q.add("name", &request.name);
            q.add("label", l);
        }
        Some(selector) => q.add("name", &format!("{}{}", request.name, selector.suffix())),
    }
    if request.with_decryption {
        q.add("withDecryption", "true");
    }
    shared(&mut q, options, &request.target);
    q.0
}

fn no_controls(value: &str) {
    assert!(!value.chars().any(char::is_control), "{value:?}");
}
