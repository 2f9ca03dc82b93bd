use super::*;
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_match_the_aws_extension() {
    let config = Config::from_env(&env(&[("SIDECACHE_TOKEN", "t")])).unwrap();
    assert_eq!(config.port, 2773);
    assert!(config.cache_enabled);
    assert_eq!(config.cache_size, 1000);
    assert_eq!(config.max_connections, 3);
    assert_eq!(config.ssm_ttl, Duration::from_secs(300));
    assert_eq!(config.secrets_ttl, Duration::from_secs(300));
    assert_eq!(config.ssm_timeout, None);
    assert_eq!(config.log_level, LogLevel::Info);
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.client_cache_policy, ClientCachePolicy::Lru);
    assert_eq!(config.cache_max_bytes, 64 << 20);
    assert_eq!(config.listen.len(), 2);
    assert!(config.listen.iter().all(|a| a.is_loopback()));
    assert!(!config.s3_path_style);
    assert_eq!(runtime_api(&env(&[("AWS_LAMBDA_RUNTIME_API", " ")])), None);
}

#[test]
fn ttl_has_no_300_second_ceiling() {
    let config = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("SSM_PARAMETER_STORE_TTL", "3600"),
        ("SECRETS_MANAGER_TTL", "0"),
    ]))
    .unwrap();
    assert_eq!(config.ssm_ttl, Duration::from_secs(3600));
    assert!(config.secrets_ttl.is_zero());
}

#[test]
fn every_bad_variable_is_reported_with_its_value() {
    let err = Config::from_env(&env(&[
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "abc"),
        ("SSM_PARAMETER_STORE_TTL", "-5"),
        ("SIDECACHE_CLIENT_CACHE_POLICY", "fifo"),
        ("SIDECACHE_CACHE_MAX_BYTES", "lots"),
    ]))
    .unwrap_err();
    let names: Vec<_> = err.0.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            ENV_PORT,
            ENV_CACHE_MAX_BYTES,
            ENV_SSM_TTL,
            ENV_CLIENT_CACHE_POLICY
        ]
    );
    let message = err.to_string();
    assert!(message.contains("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=\"abc\""));
    assert!(message.contains("from 1 to 65535"));
    assert!(message.contains("\"-5\""));
}

#[test]
fn token_sources_in_order_of_precedence() {
    let token = |vars: &[(&str, &str)]| Config::from_env(&env(vars)).unwrap().token;
    assert_eq!(
        token(&[("SIDECACHE_TOKEN", "a"), ("AWS_SESSION_TOKEN", "b")]),
        TokenConfig::Value("a".into())
    );
    assert_eq!(
        token(&[("AWS_SESSION_TOKEN", "b")]),
        TokenConfig::SessionToken("b".into())
    );
    assert_eq!(
        token(&[]),
        TokenConfig::CredentialChain {
            container_token: None
        }
    );
    let missing = Config::from_env(&env(&[("SIDECACHE_TOKEN_FILE", "/nonexistent/x")]));
    assert_eq!(missing.unwrap_err().0[0].name, ENV_TOKEN_FILE);
}

#[test]
fn the_agents_aws_token_and_snapstarts_container_token() {
    let token = |vars: &[(&str, &str)]| Config::from_env(&env(vars)).unwrap().token;
    // AWS_TOKEN (Secrets Manager Agent): after our own variables, before the session token.
    assert_eq!(
        token(&[("AWS_TOKEN", "t"), ("AWS_SESSION_TOKEN", "b")]),
        TokenConfig::Value("t".into())
    );
    assert_eq!(
        token(&[("SIDECACHE_TOKEN", "a"), ("AWS_TOKEN", "t")]),
        TokenConfig::Value("a".into())
    );
    let file = std::env::temp_dir().join(format!("sidecache-aws-token-{}", std::process::id()));
    std::fs::write(&file, "from-file\n").unwrap();
    assert_eq!(
        token(&[("AWS_TOKEN", &format!("file://{}", file.display()))]),
        TokenConfig::File(file.clone())
    );
    std::fs::remove_file(&file).unwrap();
    let missing = Config::from_env(&env(&[("AWS_TOKEN", "file:///nonexistent/t")]));
    assert_eq!(missing.unwrap_err().0[0].name, ENV_AWS_TOKEN);
    // SnapStart: container credentials and their authorization token, no session token.
    let snapstart = [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://127.0.0.1:9001/2021-04-23/credentials",
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "uuid"),
    ];
    assert_eq!(
        token(&snapstart),
        TokenConfig::CredentialChain {
            container_token: Some("uuid".into())
        }
    );
    // The authorization token alone is not a credentials source.
    assert_eq!(
        token(&snapstart[1..]),
        TokenConfig::CredentialChain {
            container_token: None
        }
    );
}

#[test]
fn prefetch_waits_for_the_restore_under_snapstart_unless_asked() {
    let at_init = |vars: &[(&str, &str)]| Config::from_env(&env(vars)).unwrap().prefetch_at_init;
    assert!(at_init(&[]));
    assert!(at_init(&[("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")]));
    assert!(!at_init(&[(
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "snap-start"
    )]));
    assert!(at_init(&[
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start"),
        ("SIDECACHE_PREFETCH_AT_INIT", "true")
    ]));
    assert!(!at_init(&[("SIDECACHE_PREFETCH_AT_INIT", "false")]));
}

#[test]
fn lambda_log_settings_apply_when_ours_are_unset() {
    let (level, format) = logging_from_env(&env(&[
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
    ]));
    assert_eq!((level, format), (LogLevel::Debug, LogFormat::Json));
    let (level, format) = logging_from_env(&env(&[
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ("PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL", "none"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("SIDECACHE_LOG_FORMAT", "text"),
    ]));
    assert_eq!((level, format), (LogLevel::None, LogFormat::Text));
}

#[test]
fn non_loopback_listen_only_outside_lambda() {
    let standalone = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("SIDECACHE_LISTEN", "0.0.0.0"),
    ]));
    assert_eq!(standalone.unwrap().listen, vec![IpAddr::from([0, 0, 0, 0])]);
    let lambda = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("SIDECACHE_LISTEN", "0.0.0.0"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
    ]));
    assert_eq!(lambda.unwrap_err().0[0].name, ENV_LISTEN);
}

#[test]
fn endpoint_override_turns_on_path_style_s3() {
    let config = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
    ]))
    .unwrap();
    assert!(config.s3_path_style);
}

#[test]
fn misspelt_variables_get_the_closest_name() {
    let unknown = unknown_vars(&env(&[
        ("SIDECACHE_TOKN", "x"),
        ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZ", "5"),
        ("SIDECACHE_TOKEN", "ok"),
        ("HOME", "/root"),
    ]));
    assert_eq!(
        unknown,
        vec![
            (
                "PARAMETERS_SECRETS_EXTENSION_CACHE_SIZ".to_owned(),
                ENV_CACHE_SIZE
            ),
            ("SIDECACHE_TOKN".to_owned(), ENV_TOKEN),
        ]
    );
}

/// Variable names as string literals in the source: what the code can read.
fn variables_in_source() -> std::collections::BTreeSet<String> {
    let prefixes = [
        "SIDECACHE_",
        "PARAMETERS_SECRETS_EXTENSION_",
        "SSM_PARAMETER_STORE_",
        "SECRETS_MANAGER_",
        "AWS_",
        "SSL_CERT_",
    ];
    let mut found = std::collections::BTreeSet::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                // Unit tests at the end of a file use made-up names.
                let code = source.split("#[cfg(test)]").next().unwrap();
                for literal in code.split('"').skip(1).step_by(2) {
                    let is_name = literal.len() > 6
                        && !literal.ends_with('_')
                        && literal
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if is_name && prefixes.iter().any(|p| literal.starts_with(p)) {
                        found.insert(literal.to_owned());
                    }
                }
            }
        }
    }
    found
}

/// Variable names in the first column of a markdown table.
fn table_variables(markdown: &str) -> std::collections::BTreeSet<String> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|name| {
            name.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn configuration_doc_lists_exactly_the_variables_read() {
    let source = variables_in_source();
    let docs = include_str!("../../../docs/configuration.md");
    // What follows the marker is read by the SDK alone.
    let docs = table_variables(docs.split("<!-- sdk-variables").next().unwrap());
    assert!(
        source.contains(ENV_PORT) && source.contains(ENV_RUNTIME_API),
        "scan found {source:?}"
    );
    let undocumented: Vec<_> = source.difference(&docs).collect();
    let unread: Vec<_> = docs.difference(&source).collect();
    assert!(
        undocumented.is_empty(),
        "read but not in docs/configuration.md: {undocumented:?}"
    );
    assert!(
        unread.is_empty(),
        "in docs/configuration.md but never read: {unread:?}"
    );
}

#[test]
fn readme_configuration_table_names_real_variables() {
    let source = variables_in_source();
    let readme = table_variables(include_str!("../../../README.md"));
    assert!(readme.len() > 15, "README table not found: {readme:?}");
    let unread: Vec<_> = readme.difference(&source).collect();
    assert!(unread.is_empty(), "in README.md but never read: {unread:?}");
}

#[test]
fn fleet_settings_default_and_validate() {
    let standalone = Config::from_env(&env(&[("SIDECACHE_TOKEN", "t")])).unwrap();
    assert_eq!(standalone.refresh_ahead, DEFAULT_REFRESH_AHEAD);
    assert_eq!(standalone.ttl_jitter_percent, 10);
    assert_eq!(standalone.metrics, MetricsMode::Off);
    assert_eq!(standalone.metrics_namespace, "sidecache");
    let lambda = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
    ]))
    .unwrap();
    // Opt-in inside Lambda too: custom metrics are billed per function.
    assert_eq!(lambda.metrics, MetricsMode::Off);
    assert_eq!(lambda.function_name.as_deref(), Some("orders"));
    let set = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("SIDECACHE_REFRESH_AHEAD", "0"),
        ("SIDECACHE_TTL_JITTER", "50"),
        ("SIDECACHE_METRICS", "EMF"),
    ]))
    .unwrap();
    assert_eq!(
        (set.refresh_ahead, set.ttl_jitter_percent, set.metrics),
        (0.0, 50, MetricsMode::Emf)
    );
    let bad = Config::from_env(&env(&[
        ("SIDECACHE_TOKEN", "t"),
        ("SIDECACHE_REFRESH_AHEAD", "-0.1"),
        ("SIDECACHE_TTL_JITTER", "51"),
        ("SIDECACHE_METRICS", "prometheus"),
        ("SIDECACHE_METRICS_NAMESPACE", ":x"),
    ]))
    .unwrap_err();
    let names: Vec<_> = bad.0.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            ENV_REFRESH_AHEAD,
            ENV_TTL_JITTER,
            ENV_METRICS,
            ENV_METRICS_NAMESPACE
        ]
    );
}
