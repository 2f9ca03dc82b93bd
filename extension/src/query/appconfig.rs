//! The AppConfig Agent's path and query: `/applications/{app}/environments/{env}/configurations/
//! {profile}` (names or ids, each percent-decoded: a name holding `/` comes as `%2F`) and
//! `?flag=a&flag=b`.

use crate::error::AppError;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// A profile's three identifiers, borrowed from the path unless they needed decoding.
#[derive(Debug, PartialEq, Eq)]
pub struct ProfilePath<'a> {
    pub application: Cow<'a, str>,
    pub environment: Cow<'a, str>,
    pub profile: Cow<'a, str>,
}

/// The identifiers of `/applications/{app}/environments/{env}/configurations/{profile}`.
pub fn profile_path(path: &str) -> Result<ProfilePath<'_>, AppError> {
    let malformed = || {
        AppError::invalid(
            "path",
            "expected /applications/<application>/environments/<environment>/configurations/<profile>",
        )
    };
    let rest = path.strip_prefix("/applications/").ok_or_else(malformed)?;
    let mut segments = rest.split('/');
    let (
        Some(application),
        Some("environments"),
        Some(environment),
        Some("configurations"),
        Some(profile),
        None,
    ) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    )
    else {
        return Err(malformed());
    };
    Ok(ProfilePath {
        application: decode(application, "application")?,
        environment: decode(environment, "environment")?,
        profile: decode(profile, "configuration")?,
    })
}

/// One identifier, percent-decoded (borrowed unless it held escapes).
fn decode<'a>(segment: &'a str, name: &'static str) -> Result<Cow<'a, str>, AppError> {
    let decoded = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| AppError::invalid(name, "not UTF-8 once decoded"))?;
    if decoded.is_empty() || decoded.chars().count() > 128 {
        return Err(AppError::invalid(name, "expected 1 to 128 characters"));
    }
    Ok(decoded)
}

/// The flags of `?flag=a&flag=b`, in order; no query: none. Any other parameter is refused.
pub fn flags(query: Option<&str>) -> Result<Vec<String>, AppError> {
    let mut flags = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name != "flag" {
            return Err(AppError::UnknownParameter(
                percent_decode_str(name)
                    .decode_utf8_lossy()
                    .chars()
                    .take(64)
                    .collect(),
            ));
        }
        let value = percent_decode_str(&value.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        if value.is_empty() || value.len() > 64 {
            return Err(AppError::invalid(
                "flag",
                "expected a flag key of 1 to 64 characters",
            ));
        }
        flags.push(value);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_path_by_names_or_ids() {
        let p = profile_path("/applications/app/environments/prod/configurations/flags").unwrap();
        assert_eq!(
            (&*p.application, &*p.environment, &*p.profile),
            ("app", "prod", "flags")
        );
        assert!(
            matches!(p.application, Cow::Borrowed(_)),
            "no copy without escapes"
        );
        let p = profile_path("/applications/my%2Fapp/environments/a%20b/configurations/x").unwrap();
        assert_eq!((&*p.application, &*p.environment), ("my/app", "a b"));
        for bad in [
            "/applications/app/environments/prod",
            "/applications/app/environments/prod/configurations/",
            "/applications/app/envs/prod/configurations/x",
            "/applications//environments/prod/configurations/x",
            "/applications/a/environments/b/configurations/c/d",
            "/applications/%FF/environments/b/configurations/c",
        ] {
            let error = profile_path(bad).unwrap_err();
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST, "{bad}");
        }
        let long = format!(
            "/applications/{}/environments/e/configurations/p",
            "a".repeat(129)
        );
        assert!(profile_path(&long).is_err());
    }

    #[test]
    fn flags_repeat_and_nothing_else_is_accepted() {
        assert_eq!(flags(None).unwrap(), Vec::<String>::new());
        assert_eq!(flags(Some("flag=a&flag=b")).unwrap(), ["a", "b"]);
        assert_eq!(flags(Some("flag=ui%5Frefresh")).unwrap(), ["ui_refresh"]);
        assert!(
            matches!(flags(Some("flag=a&maxAge=3")), Err(AppError::UnknownParameter(p)) if p == "maxAge")
        );
        assert!(flags(Some("flag=")).is_err());
    }
}
