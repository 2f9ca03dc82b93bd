//! Basic feature flags in a configuration: `?flag=` subsets (the agent's) and one flag's value
//! (Cloud Extensions' `GetFlag`).
//!
//! A feature-flag profile in AppConfig's retrieval form is JSON whose every top-level value is
//! an object with a boolean `enabled` (`{"ui_refresh":{"enabled":true,"colors":3}}`). Profiles
//! with multi-variant flags are served as Amazon Ion with rules instead; evaluating those is out
//! of scope (SPEC): a flag asked of such a profile is a clear 501 naming it, never a guessed
//! variant. The whole configuration is still served as bytes.

use super::Configuration;
use crate::error::AppError;
use bytes::Bytes;
use serde_json::{Map, Value};

/// The flags of a configuration, read once.
#[derive(Debug)]
pub(super) struct Flags(Map<String, Value>);

/// Why a configuration has no flags to select.
#[derive(Debug, Clone)]
pub(super) enum FlagsError {
    /// Amazon Ion (multi-variant flags with rules).
    MultiVariant,
    NotFlagForm(String),
}

impl Configuration {
    fn flags(&self) -> Result<&Flags, FlagsError> {
        self.flags
            .get_or_init(|| read_flags(&self.content, &self.content_type))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn read_flags(content: &[u8], content_type: &axum::http::HeaderValue) -> Result<Flags, FlagsError> {
    let media = content_type.to_str().unwrap_or("").to_ascii_lowercase();
    if media.starts_with("application/ion") {
        return Err(FlagsError::MultiVariant);
    }
    let value: Value = serde_json::from_slice(content)
        .map_err(|_| FlagsError::NotFlagForm("it is not JSON".into()))?;
    let Value::Object(flags) = value else {
        return Err(FlagsError::NotFlagForm("it is not a JSON object".into()));
    };
    for (name, flag) in &flags {
        let enabled = flag.as_object().and_then(|f| f.get("enabled"));
        if !matches!(enabled, Some(Value::Bool(_))) {
            return Err(FlagsError::NotFlagForm(format!(
                "its member `{}` is not an object with a boolean `enabled`",
                name.chars().take(64).collect::<String>()
            )));
        }
    }
    Ok(Flags(flags))
}

fn refusal(error: FlagsError, flag: &str) -> AppError {
    match error {
        FlagsError::MultiVariant => AppError::NotImplemented(format!(
            "flag `{flag}`: this profile has multi-variant flags (Amazon Ion with rules), which \
             sidecache does not evaluate; read the whole configuration instead"
        )),
        FlagsError::NotFlagForm(why) => AppError::invalid(
            "flag",
            format!("the configuration is not in the feature-flag form: {why}"),
        ),
    }
}

/// The agent's `?flag=a&flag=b`: one flag's object, or several keyed by name.
pub fn select_flags(configuration: &Configuration, names: &[String]) -> Result<Bytes, AppError> {
    let first = names.first().map_or("", String::as_str);
    let flags = configuration.flags().map_err(|e| refusal(e, first))?;
    let find = |name: &str| {
        flags
            .0
            .get(name)
            .ok_or_else(|| AppError::UnknownFlag(name.chars().take(64).collect()))
    };
    let json = match names {
        [one] => serde_json::to_vec(find(one)?),
        several => {
            let mut chosen = Map::new();
            for name in several {
                chosen.insert(name.clone(), find(name)?.clone());
            }
            serde_json::to_vec(&chosen)
        }
    };
    Ok(Bytes::from(json.expect("JSON values serialise")))
}

/// One flag for Cloud Extensions' `GetFlag`: whether it is enabled, and its attributes in
/// that API's tagged form (`{"string": ...}`, `{"number": ...}`, `{"boolean": ...}`,
/// `{"stringList": [...]}`, `{"numberList": [...]}`); attributes of other shapes, or whose name
/// is not a flag key, are left out, as there.
pub fn flag_value(
    configuration: &Configuration,
    name: &str,
) -> Result<(bool, Map<String, Value>), AppError> {
    let flags = configuration.flags().map_err(|e| refusal(e, name))?;
    let flag = flags
        .0
        .get(name)
        .and_then(Value::as_object)
        .ok_or_else(|| AppError::UnknownFlag(name.chars().take(64).collect()))?;
    let enabled = flag
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut attributes = Map::new();
    for (key, value) in flag {
        if key == "enabled" || !is_flag_key(key) {
            continue;
        }
        let tagged = match value {
            Value::String(_) => ("string", value.clone()),
            Value::Number(_) => ("number", value.clone()),
            Value::Bool(_) => ("boolean", value.clone()),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                ("stringList", value.clone())
            }
            Value::Array(items) if items.iter().all(Value::is_number) => {
                ("numberList", value.clone())
            }
            _ => continue,
        };
        let mut one = Map::new();
        one.insert(tagged.0.to_owned(), tagged.1);
        attributes.insert(key.clone(), Value::Object(one));
    }
    Ok((enabled, attributes))
}

/// AppConfig's flag and attribute keys: `[a-z][a-zA-Z\d_-]{0,63}`.
pub fn is_flag_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configuration(content: &str, content_type: &str) -> Configuration {
        Configuration::new(
            Bytes::from(content.to_owned()),
            Some(content_type.to_owned()),
            None,
            1,
        )
    }

    const FLAGS: &str = r#"{"ui_refresh":{"enabled":true,"colors":3,"theme":"dark","regions":["eu","us"],"Bad Key":1},"shutoff":{"enabled":false}}"#;

    #[test]
    fn one_flag_or_several_keyed_by_name() {
        let c = configuration(FLAGS, "application/json");
        let one: Value =
            serde_json::from_slice(&select_flags(&c, &["shutoff".into()]).unwrap()).unwrap();
        assert_eq!(one, serde_json::json!({"enabled": false}));
        let two: Value = serde_json::from_slice(
            &select_flags(&c, &["shutoff".into(), "ui_refresh".into()]).unwrap(),
        )
        .unwrap();
        assert_eq!(two["shutoff"]["enabled"], false);
        assert_eq!(two["ui_refresh"]["colors"], 3);
        assert!(matches!(
            select_flags(&c, &["shutoff".into(), "nope".into()]),
            Err(AppError::UnknownFlag(name)) if name == "nope"
        ));
    }

    #[test]
    fn a_configuration_not_in_flag_form_or_in_ion_is_refused_clearly() {
        for (content, why) in [
            ("[1,2]", "not a JSON object"),
            ("{\"a\":{\"on\":true}}", "`a`"),
            ("not json", "not JSON"),
        ] {
            let error = select_flags(&configuration(content, "application/json"), &["a".into()])
                .unwrap_err();
            assert_eq!(
                error.status(),
                axum::http::StatusCode::BAD_REQUEST,
                "{content}"
            );
            assert!(error.to_string().contains(why), "{error}");
        }
        let ion = configuration(
            "{ui:\"x\"}",
            "application/ion; type=AWS.AppConfig.FeatureFlags",
        );
        let error = select_flags(&ion, &["ui_refresh".into()]).unwrap_err();
        assert_eq!(error.status(), axum::http::StatusCode::NOT_IMPLEMENTED);
        assert!(error.to_string().contains("ui_refresh"), "{error}");
    }

    #[test]
    fn get_flag_tags_each_attribute() {
        let c = configuration(FLAGS, "application/json");
        let (enabled, attributes) = flag_value(&c, "ui_refresh").unwrap();
        assert!(enabled);
        assert_eq!(
            Value::Object(attributes),
            serde_json::json!({
                "colors": {"number": 3},
                "theme": {"string": "dark"},
                "regions": {"stringList": ["eu", "us"]}
            })
        );
        assert!(matches!(
            flag_value(&c, "nope"),
            Err(AppError::UnknownFlag(_))
        ));
    }

    /// Found by fuzzing (fuzz/, appconfig target): serde_json's default float parsing is not
    /// always the nearest f64, so a selected flag's number could differ from the configuration's
    /// (`9007199254740993.0` came back as `9007199254740994.0`).
    #[test]
    fn numbers_keep_their_value() {
        let big = "1222222222222222222222222222222222222222222222222222222222222222222222222222";
        let content = format!(r#"{{"f":{{"enabled":true,"n":9007199254740993.0,"big":{big}}}}}"#);
        let c = configuration(&content, "application/json");
        let one: Value = serde_json::from_slice(&select_flags(&c, &["f".into()]).unwrap()).unwrap();
        assert_eq!(one["n"].as_f64(), "9007199254740993.0".parse().ok());
        assert_eq!(one["big"].as_f64(), big.parse().ok());
        let (_, attributes) = flag_value(&c, "f").unwrap();
        assert_eq!(
            attributes["n"]["number"].as_f64(),
            "9007199254740993.0".parse().ok()
        );
    }

    #[test]
    fn flag_keys() {
        assert!(is_flag_key("ui_refresh-2"));
        assert!(!is_flag_key("Ui"));
        assert!(!is_flag_key(""));
        assert!(!is_flag_key("a b"));
        assert!(!is_flag_key(&"a".repeat(65)));
    }
}
