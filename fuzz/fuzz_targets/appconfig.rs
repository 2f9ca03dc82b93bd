//! AppConfig: the agent's path and `?flag=` list (query/appconfig.rs), basic flags read from any
//! configuration (app/appconfig/flags.rs `select_flags`, `flag_value`), and the agent's variable
//! forms (config/appconfig.rs: prefetch items, durations).
//!
//! The input is lines: path, query, content type, flag names (comma-separated), a prefetch item,
//! a duration, then the configuration's content (the rest, newlines included).
//!
//! Properties: an accepted path or flag list encodes back to itself; a selection is the flags'
//! own JSON, refused exactly when the content is not in the flag form; `GetFlag`'s attributes
//! are flag keys in the API's tagged form; accepted prefetch items and durations encode back.

#![no_main]
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use sidecache::fuzzing::*;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.splitn(7, |&b| b == b'\n');
    let mut line = || std::str::from_utf8(lines.next().unwrap_or_default()).ok();
    let (Some(path), Some(query), Some(content_type), Some(names), Some(item), Some(duration)) =
        (line(), line(), line(), line(), line(), line())
    else {
        return;
    };
    let content = lines.next().unwrap_or_default();

    if let Ok(p) = profile_path(path) {
        for part in [&p.application, &p.environment, &p.profile] {
            assert!(!part.is_empty() && part.chars().count() <= 128);
        }
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        let again = format!(
            "/applications/{}/environments/{}/configurations/{}",
            enc(&p.application),
            enc(&p.environment),
            enc(&p.profile)
        );
        assert_eq!(profile_path(&again).as_ref(), Ok(&p), "{again}");
    }

    if let Ok(flags) = appconfig_flags(Some(query)) {
        assert!(flags.iter().all(|f| (1..=64).contains(&f.len())));
        let again: Vec<String> = flags
            .iter()
            .map(|f| format!("flag={}", utf8_percent_encode(f, NON_ALPHANUMERIC)))
            .collect();
        let again = again.join("&");
        assert_eq!(
            appconfig_flags(Some(&again)).as_ref(),
            Ok(&flags),
            "{again}"
        );
    }

    let held = configuration(
        bytes::Bytes::copy_from_slice(content),
        Some(content_type.to_owned()),
    );
    let names: Vec<String> = names.split(',').map(str::to_owned).collect();
    let expected = flag_form(content, &held);
    match (select_flags(&held, &names), &expected) {
        (Ok(json), Some(flags)) => {
            let chosen: Value = serde_json::from_slice(&json).expect("a selection is JSON");
            match names.as_slice() {
                [one] => assert_eq!(Some(&chosen), flags.get(one)),
                several => {
                    let chosen = chosen.as_object().expect("several flags: an object");
                    assert!(several.iter().all(|n| chosen.get(n) == flags.get(n)));
                    assert!(chosen.keys().all(|k| several.contains(k)));
                }
            }
        }
        (Err(_), Some(flags)) => assert!(
            names.iter().any(|n| !flags.contains_key(n)),
            "refused although every flag is there"
        ),
        (Ok(_), None) => panic!("flags selected from content not in the flag form"),
        (Err(_), None) => {}
    }
    let name = names.first().map_or("", String::as_str);
    match (flag_value(&held, name), &expected) {
        (Ok((enabled, attributes)), Some(flags)) => {
            let flag = flags[name].as_object().expect("a flag is an object");
            assert_eq!(Some(&Value::Bool(enabled)), flag.get("enabled"));
            for (key, tagged) in &attributes {
                assert!(is_flag_key(key) && key != "enabled", "{key}");
                let tagged = tagged.as_object().expect("tagged");
                assert_eq!(tagged.len(), 1);
                let (tag, value) = tagged.iter().next().unwrap();
                assert_eq!(Some(value), flag.get(key));
                let fits = match tag.as_str() {
                    "string" => value.is_string(),
                    "number" => value.is_number(),
                    "boolean" => value.is_boolean(),
                    "stringList" => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_string)),
                    "numberList" => value
                        .as_array()
                        .is_some_and(|a| a.iter().all(Value::is_number)),
                    _ => false,
                };
                assert!(fits, "{tag}: {value}");
            }
        }
        (Err(_), Some(flags)) => assert!(!flags.contains_key(name)),
        (Ok(_), None) => panic!("a flag read from content not in the flag form"),
        (Err(_), None) => {}
    }
    let key_reference = {
        let b = name.as_bytes();
        (1..=64).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
    };
    assert_eq!(is_flag_key(name), key_reference, "{name:?}");

    if let Some(id) = appconfig_profile(item) {
        for part in [&id.application, &id.environment, &id.profile] {
            assert!(!part.is_empty() && part.len() <= 128);
        }
        let parts = [&id.application, &id.environment, &id.profile];
        if parts.iter().all(|p| !p.contains(':')) {
            let again = format!("{}:{}:{}", id.application, id.environment, id.profile);
            if !again.starts_with("/applications/") {
                assert_eq!(appconfig_profile(&again).as_ref(), Some(&id), "{again}");
            }
        }
        if parts.iter().all(|p| !p.contains('/')) {
            let again = format!(
                "/applications/{}/environments/{}/configurations/{}",
                id.application, id.environment, id.profile
            );
            assert_eq!(appconfig_profile(&again).as_ref(), Some(&id), "{again}");
        }
    }

    for parse in [poll_interval, poll_timeout] {
        if let Some(d) = parse(duration) {
            let millis = format!("{}ms", d.as_millis());
            assert_eq!(poll_timeout(&millis), Some(d), "{duration:?}");
            assert_eq!(poll_interval(&millis), Some(d), "{duration:?}");
            assert!(d <= Duration::from_millis(u64::MAX));
        }
    }
});

/// The flags of `content` if it is in the basic feature-flag form (a JSON object whose every
/// member is an object with a boolean `enabled`) and not Amazon Ion; else `None`.
fn flag_form(content: &[u8], held: &Configuration) -> Option<Map<String, Value>> {
    let media = held
        .content_type
        .to_str()
        .unwrap_or("")
        .to_ascii_lowercase();
    if media.starts_with("application/ion") {
        return None;
    }
    let Ok(Value::Object(flags)) = serde_json::from_slice::<Value>(content) else {
        return None;
    };
    flags
        .values()
        .all(|f| matches!(f.get("enabled"), Some(Value::Bool(_))))
        .then_some(flags)
}
