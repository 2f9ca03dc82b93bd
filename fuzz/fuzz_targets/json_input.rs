//! AWS JSON 1.1 bodies (awsapi/ssm.rs, awsapi/secrets.rs, awsapi/appconfig.rs): the operation's
//! input struct read with serde and checked as its handler checks it.
//!
//! The input is the `X-Amz-Target` (first line) and the body (the rest).
//!
//! Properties: accepted inputs keep AWS's limits and write back, as the JSON an SDK would send,
//! into the same request; our `NextToken`s read back to the token; every refusal renders as the
//! JSON error its API answers (`__type` and `message`, the type also in `X-Amzn-ErrorType`).

#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use sidecache::fuzzing::*;
use sidecache::model::Service;

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };

    if let Some(operation) = target.strip_prefix("AppConfig.") {
        let get_flag = operation == "GetFlag";
        match appconfig_input(get_flag, body) {
            Ok((application, environment, configuration, flag)) => {
                assert!((1..=64).contains(&application.chars().count()));
                assert!((1..=64).contains(&environment.chars().count()));
                assert!((1..=128).contains(&configuration.chars().count()));
                assert_eq!(flag.is_some(), get_flag);
                let again = json!({
                    "application": application,
                    "environment": environment,
                    "configuration": configuration,
                    "flag": flag,
                });
                let again = serde_json::to_vec(&again).unwrap();
                assert_eq!(
                    appconfig_input(get_flag, &again).ok(),
                    Some((application, environment, configuration, flag))
                );
            }
            Err(failure) => {
                let answer = rendered(appconfig_error(&failure));
                assert!((400..600).contains(&answer.status));
                let body: Value = serde_json::from_slice(&answer.body).expect("JSON error");
                assert!(body["__type"].is_string() && body["message"].is_string());
            }
        }
        return;
    }

    let service = if target.starts_with("AmazonSSM.") {
        Some(Service::Ssm)
    } else if target.starts_with("secretsmanager.") {
        Some(Service::SecretsManager)
    } else {
        None
    };
    match json_input(target, body) {
        Ok(input) => {
            let again = write_back(&input);
            if let Some(again) = again {
                let again = serde_json::to_vec(&again).unwrap();
                assert_eq!(
                    json_input(target, &again).as_ref(),
                    Ok(&input),
                    "{}",
                    String::from_utf8_lossy(&again)
                );
            }
            check_limits(&input);
        }
        Err(error) => {
            let answer = rendered(json_error(service, &error));
            assert!((400..600).contains(&answer.status));
            let body: Value = serde_json::from_slice(&answer.body).expect("JSON error");
            let kind = body["__type"].as_str().expect("__type");
            assert!(body["message"].is_string());
            let header = answer
                .headers
                .iter()
                .find(|(name, _)| name == "x-amzn-errortype")
                .map(|(_, value)| value.as_slice());
            assert!(header.is_none_or(|h| h == kind.as_bytes()));
        }
    }
});

/// The body an SDK would send for `input`.
fn write_back(input: &JsonInput) -> Option<Value> {
    Some(match input {
        JsonInput::GetParameter(r) => json!({
            "Name": format!("{}{}", r.name, r.selector.as_ref().map(Selector::suffix).unwrap_or_default()),
            "WithDecryption": r.with_decryption,
        }),
        JsonInput::GetParameters(r) => json!({
            "Names": r.names,
            "WithDecryption": r.with_decryption,
        }),
        JsonInput::GetParametersByPath {
            request,
            page_size,
            after,
        } => json!({
            "Path": request.path,
            "Recursive": request.recursive,
            "WithDecryption": request.with_decryption,
            "MaxResults": page_size,
            "NextToken": after.as_deref().map(ssm_page_token),
        }),
        JsonInput::GetSecretValue(r) => json!({
            "SecretId": r.secret_id,
            "VersionId": r.version_id,
            "VersionStage": r.version_stage,
        }),
        JsonInput::BatchGetSecretValue(r) => json!({ "SecretIdList": r.secret_ids }),
        JsonInput::Forwarded => return None,
    })
}

fn check_limits(input: &JsonInput) {
    let chars = |s: &str| s.chars().count();
    match input {
        JsonInput::GetParameter(r) => {
            assert!((1..=2048).contains(&chars(&r.name)));
            if let Some(Selector::Version(v)) = r.selector {
                assert!(v > 0);
            }
        }
        JsonInput::GetParameters(r) => {
            assert!((1..=10).contains(&r.names.len()));
            assert!(r.names.iter().all(|n| (1..=2048).contains(&chars(n))));
        }
        JsonInput::GetParametersByPath {
            request,
            page_size,
            after,
        } => {
            assert!((1..=2048).contains(&chars(&request.path)));
            assert!((1..=10).contains(page_size));
            if let Some(after) = after {
                let token = ssm_page_token(after);
                assert_eq!(ssm_page_after(&token).as_deref(), Ok(after.as_str()));
            }
        }
        JsonInput::GetSecretValue(r) => {
            assert!((1..=2048).contains(&chars(&r.secret_id)));
            assert!(r
                .version_id
                .as_deref()
                .is_none_or(|v| (32..=64).contains(&chars(v))));
            assert!(r
                .version_stage
                .as_deref()
                .is_none_or(|v| (1..=256).contains(&chars(v))));
        }
        JsonInput::BatchGetSecretValue(r) => {
            assert!((1..=20).contains(&r.secret_ids.len()));
            assert!(r.secret_ids.iter().all(|n| (1..=2048).contains(&chars(n))));
        }
        JsonInput::Forwarded => {}
    }
}
