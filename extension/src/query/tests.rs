use super::syntax::{decode, split, Span};
use super::*;

fn parameter(query: &str) -> Result<ParameterRequest, AppError> {
    parameter_request(Some(query)).map(|(r, _)| r)
}

#[test]
fn plain_and_encoded_names() {
    let r = parameter("name=%2Fapp%2Fdb%2Furl&withDecryption=true").unwrap();
    assert_eq!(r.name, "/app/db/url");
    assert!(r.with_decryption);
    assert_eq!(r.selector, None);
    assert!(!parameter("name=x").unwrap().with_decryption);
}

#[test]
fn selectors_in_the_name() {
    assert_eq!(
        parameter("name=/a:3").unwrap().selector,
        Some(Selector::Version(3))
    );
    let r = parameter("name=/a:prod").unwrap();
    assert_eq!(
        (r.name.as_str(), r.selector),
        ("/a", Some(Selector::Label("prod".into())))
    );
    let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/app/x";
    let r = parameter(&format!("name={arn}")).unwrap();
    assert_eq!((r.name.as_str(), r.selector), (arn, None));
    let r = parameter(&format!("name={arn}:7")).unwrap();
    assert_eq!(
        (r.name.as_str(), r.selector),
        (arn, Some(Selector::Version(7)))
    );
    let reference = "/aws/reference/secretsmanager/arn:aws:secretsmanager:us-east-1:1:secret:x";
    assert_eq!(
        parameter(&format!("name={reference}")).unwrap().selector,
        None
    );
}

#[test]
fn first_of_version_and_label_wins() {
    assert_eq!(
        parameter("name=a&version=2&label=x").unwrap().selector,
        Some(Selector::Version(2))
    );
    assert_eq!(
        parameter("name=a&label=x&version=2").unwrap().selector,
        Some(Selector::Label("x".into()))
    );
}

#[test]
fn bad_input_is_rejected_with_the_parameter_named() {
    let code = |q: &str| parameter(q).unwrap_err().code().to_owned();
    assert_eq!(code(""), "MissingParameter");
    assert_eq!(code("name="), "MissingParameter");
    assert_eq!(code("name=a&withdecryption=true"), "UnknownParameter");
    assert_eq!(code("name=a&withDecryption=yes"), "InvalidParameter");
    assert_eq!(code("name=a&version=0"), "InvalidParameter");
    assert_eq!(code("name=a&version=x"), "InvalidParameter");
    assert_eq!(code("name=a:1&version=2"), "InvalidParameter");
    assert_eq!(
        code(&format!("name={}", "a".repeat(2049))),
        "InvalidParameter"
    );
    assert_eq!(code("name=a%00b"), "InvalidParameter");
    assert_eq!(code("name=a&region=EU%20WEST"), "InvalidParameter");
    let long_key = format!("{}=1", "k".repeat(500));
    let error = parameter(&format!("name=a&{long_key}")).unwrap_err();
    assert!(error.to_string().len() < 200);
}

#[test]
fn read_options() {
    let (_, o) = parameter_request(Some("name=a&format=raw&maxAge=30")).unwrap();
    assert_eq!(
        (o.format, o.max_age),
        (Format::Raw, Some(Duration::from_secs(30)))
    );
    let (_, o) = parameter_request(Some("name=a&refreshNow=true")).unwrap();
    assert_eq!(o.max_age, Some(Duration::ZERO));
    assert!(parameter_request(Some("name=a&format=xml")).is_err());
}

#[test]
fn secrets() {
    let (r, _) = secret_request(Some(
        "secretId=db&versionStage=AWSPREVIOUS&region=eu-west-1",
    ))
    .unwrap();
    assert_eq!(r.secret_id, "db");
    assert_eq!(r.version_stage.as_deref(), Some("AWSPREVIOUS"));
    assert_eq!(r.target.region.as_deref(), Some("eu-west-1"));
    assert_eq!(secret_request(None).unwrap_err().code(), "MissingParameter");
    assert_eq!(
        secret_request(Some("secretId=a&name=b"))
            .unwrap_err()
            .code(),
        "UnknownParameter"
    );
}

#[test]
fn objects() {
    let (r, _) = object_request(Some("uri=s3://b/dir/a%20b.json")).unwrap();
    assert_eq!((r.bucket.as_str(), r.key.as_str()), ("b", "dir/a b.json"));
    let (r, _) = object_request(Some("bucket=b&key=%2E%2E%2Fx&versionId=v1")).unwrap();
    assert_eq!(
        (r.key.as_str(), r.version_id.as_deref()),
        ("../x", Some("v1"))
    );
    let code = |q: &str| object_request(Some(q)).unwrap_err().code().to_owned();
    assert_eq!(code("bucket=b"), "MissingParameter");
    assert_eq!(code("uri=http://b/k"), "InvalidParameter");
    assert_eq!(code("uri=s3://b"), "InvalidParameter");
    assert_eq!(code("uri=s3://b/k&bucket=b"), "InvalidParameter");
    assert_eq!(
        code(&format!("bucket=b&key={}", "k".repeat(1025))),
        "InvalidParameter"
    );
}

#[test]
fn many() {
    let (r, _) = many_request(Some("names=%2Fa,%2Fb:2,%2Fa,,&withDecryption=true")).unwrap();
    assert_eq!(r.names, ["/a", "/b:2"]);
    assert!(r.with_decryption);
    let code = |q: &str| many_request(Some(q)).unwrap_err().code().to_owned();
    assert_eq!(code("names=,,"), "MissingParameter");
    assert_eq!(code("withDecryption=true"), "MissingParameter");
    assert_eq!(code("names=a:0"), "InvalidParameter");
    assert_eq!(code("names=a&format=raw"), "InvalidParameter");
    let too_many: Vec<String> = (0..101).map(|i| format!("p{i}")).collect();
    assert_eq!(
        code(&format!("names={}", too_many.join(","))),
        "InvalidParameter"
    );
}

#[test]
fn paths() {
    let (r, _) = path_request(Some("path=%2Fapp%2F&recursive=true&withDecryption=true")).unwrap();
    assert_eq!(
        (r.path.as_str(), r.recursive, r.with_decryption),
        ("/app/", true, true)
    );
    let code = |q: &str| path_request(Some(q)).unwrap_err().code().to_owned();
    assert_eq!(code("recursive=true"), "MissingParameter");
    assert_eq!(code("path=app"), "InvalidParameter");
    assert_eq!(code("path=/app&format=raw"), "InvalidParameter");
}

#[test]
fn invalidations() {
    assert_eq!(
        invalidate_request(Some("all=true")).unwrap(),
        Invalidation::All
    );
    assert_eq!(
        invalidate_request(Some("kind=s3&name=s3://b/k")).unwrap(),
        Invalidation::Name {
            kind: Some(Service::S3),
            name: "b/k".into()
        }
    );
    assert_eq!(
        invalidate_request(Some("prefix=%2Fapp%2F")).unwrap(),
        Invalidation::Prefix {
            kind: None,
            prefix: "/app/".into()
        }
    );
    let code = |q: &str| invalidate_request(Some(q)).unwrap_err().code().to_owned();
    assert_eq!(code(""), "MissingParameter");
    assert_eq!(code("name=/a"), "MissingParameter");
    assert_eq!(code("kind=dynamo&name=a"), "InvalidParameter");
    assert_eq!(code("kind=ssm&name=a&prefix=b"), "InvalidParameter");
    assert_eq!(code("all=true&everything=1"), "UnknownParameter");
}

#[test]
fn secret_ids_decoded_moved_and_checked_for_control_characters() {
    let secret = |q: &str| secret_request(Some(q)).map(|(r, _)| r.secret_id);
    assert_eq!(secret("secretId=bench%2Fsecret").unwrap(), "bench/secret");
    assert_eq!(secret("secretId=a+b&secretId=ignored").unwrap(), "a b");
    assert_eq!(secret("secretId=caf%C3%A9").unwrap(), "café");
    // C0, DEL and C1 (U+0085, two bytes in UTF-8) control characters are all refused.
    for bad in ["a%0Ab", "a%7Fb", "a%C2%85b"] {
        assert!(
            matches!(
                secret(&format!("secretId={bad}")),
                Err(AppError::InvalidParameter { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        secret("secretId="),
        Err(AppError::MissingParameter("secretId"))
    ));
}

#[test]
fn param_names_and_from_name_agree() {
    for (index, name) in Param::NAMES.iter().enumerate() {
        let param = Param::from_name(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!((param as usize, param.name()), (index, *name));
    }
    assert_eq!(Param::from_name("Name"), None);
}

/// Pairs as `split` and `decode` produce them, for comparison with `form_urlencoded::parse`.
fn pairs_of(query: &str) -> Vec<(String, String)> {
    let read = |span: Span| {
        let raw = &query[span.start..span.end];
        if span.encoded {
            decode(raw)
        } else {
            raw.to_owned()
        }
    };
    let mut pairs = Vec::new();
    split(query, |key, value| {
        pairs.push((read(key), read(value)));
        Ok::<(), ()>(())
    })
    .unwrap();
    pairs
}

#[test]
fn splitting_and_decoding_match_form_urlencoded() {
    let mut queries: Vec<String> = [
        "a=1&&b=2",
        "&&",
        "=",
        "a",
        "a=",
        "=1",
        "a==b=c",
        "a=1&a=2",
        "%zz=%zz",
        "a=%",
        "a=%4",
        "a=%%41",
        "a=%2B+%2b",
        "a=%C3%A9",
        "a=%C3",
        "a=%FF%FE",
        "a=%E2%82",
        "a=caf%C3%A9+%F0%9F%98",
        "secret%49d=x",
        "k+1=v+1",
        "é=ü&ü",
    ]
    .map(str::to_owned)
    .to_vec();
    // Every string of up to five characters over an alphabet with each special byte, hex
    // digits of both cases (so escapes that decode to invalid UTF-8 too) and a multi-byte one.
    let alphabet = ['a', '=', '&', '%', '+', '2', 'B', 'C', 'f', 'é'];
    let mut level = vec![String::new()];
    for _ in 0..5 {
        level = level
            .iter()
            .flat_map(|prefix| alphabet.iter().map(move |c| format!("{prefix}{c}")))
            .collect();
        queries.extend(level.iter().cloned());
    }
    for query in &queries {
        let expected: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(pairs_of(query), expected, "{query:?}");
    }
}

#[test]
fn values_decode_like_a_form() {
    let secret = |q: &str| secret_request(Some(q)).map(|(r, _)| r.secret_id);
    assert_eq!(secret("secretId=a%2Bb+c").unwrap(), "a+b c");
    assert_eq!(secret("secretId=%zz%4%").unwrap(), "%zz%4%");
    assert_eq!(secret("secretId=%%41%6a").unwrap(), "%Aj");
    // Bytes that are not UTF-8 after decoding become U+FFFD, which is not a control character.
    assert_eq!(secret("secretId=a%FFb%C3").unwrap(), "a\u{FFFD}b\u{FFFD}");
    assert_eq!(secret("&&secretId=x&&").unwrap(), "x");
    assert_eq!(secret("secret%49d=x").unwrap(), "x");
    assert_eq!(secret("secretId=a=b").unwrap(), "a=b");
    let (r, _) = parameter_request(Some("name=%2Fa%3A3")).unwrap();
    assert_eq!(
        (r.name.as_str(), r.selector),
        ("/a", Some(Selector::Version(3)))
    );
    let (r, _) = parameter_request(Some("name=%2Fa+b:prod")).unwrap();
    assert_eq!(
        (r.name.as_str(), r.selector),
        ("/a b", Some(Selector::Label("prod".into())))
    );
}

#[test]
fn keys_without_values_and_repeated_keys() {
    let code = |q: &str| parameter(q).unwrap_err().code().to_owned();
    // A key without `=` is present with an empty value.
    assert_eq!(code("name"), "MissingParameter");
    assert_eq!(code("name=a&withDecryption"), "InvalidParameter");
    assert_eq!(
        object_request(Some("uri=s3://b/k&bucket"))
            .unwrap_err()
            .code(),
        "InvalidParameter"
    );
    // The first occurrence wins, for the value and for which of version and label came first.
    assert_eq!(
        parameter("name=a&label=x&version=2&label=y")
            .unwrap()
            .selector,
        Some(Selector::Label("x".into()))
    );
    assert_eq!(
        parameter("name=a&version=2&label=x&version=3")
            .unwrap()
            .selector,
        Some(Selector::Version(2))
    );
    assert!(
        parameter("name=a&withDecryption=true&withDecryption=no")
            .unwrap()
            .with_decryption
    );
    assert_eq!(code("name=a&version=x&version=2"), "InvalidParameter");
}

#[test]
fn unknown_keys_are_named_decoded_and_truncated() {
    let unknown = |q: &str| match secret_request(Some(q)) {
        Err(AppError::UnknownParameter(key)) => key,
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(unknown("secretId=a&name=b"), "name");
    assert_eq!(unknown("=x&secretId=a"), "");
    assert_eq!(unknown("secretId=a&secret+Id=b"), "secret Id");
    assert_eq!(unknown("a%FFb=1"), "a\u{FFFD}b");
    assert_eq!(unknown("SecretId=a"), "SecretId");
    // Keys of other endpoints are unknown here.
    assert_eq!(unknown("secretId=a&withDecryption=true"), "withDecryption");
    // The first unknown key is named, before any value is checked.
    assert_eq!(unknown("secretId=&x=1&y=2"), "x");
    let long = format!("{}é{}", "k".repeat(63), "k".repeat(100));
    assert_eq!(
        unknown(&format!("{long}=1")),
        format!("{}é", "k".repeat(63))
    );
}

#[test]
fn the_agents_path_form_takes_the_id_from_the_path() {
    let (request, options) = secret_path_request(
        "prod/db%2Bkey+x",
        Some("versionStage=AWSPREVIOUS&format=raw"),
    )
    .unwrap();
    assert_eq!(request.secret_id, "prod/db+key+x");
    assert_eq!(request.version_stage.as_deref(), Some("AWSPREVIOUS"));
    assert_eq!(options.format, Format::Raw);
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
    assert_eq!(secret_path_request(arn, None).unwrap().0.secret_id, arn);
    assert!(matches!(
        secret_path_request("", None),
        Err(AppError::MissingParameter("secretId"))
    ));
    // secretId belongs in the path; in the query it is an unknown parameter.
    assert!(secret_path_request("a", Some("secretId=b")).is_err());
    assert!(secret_path_request(&"x".repeat(3000), None).is_err());
}

/// Found by fuzzing (fuzz/, query target): `name=:3` was read as version 3 of a parameter with
/// an empty name, and sent to SSM.
#[test]
fn a_selector_needs_a_name() {
    for query in ["name=:3", "name=:prod", "name=%3A1", "names=/a,:2"] {
        let parsed = if query.starts_with("names") {
            many_request(Some(query)).map(|_| ())
        } else {
            parameter(query).map(|_| ())
        };
        assert!(
            matches!(parsed, Err(AppError::InvalidParameter { ref name, .. }) if name == "name"),
            "{query}: {parsed:?}"
        );
    }
    let arn = "arn:aws:ssm:us-east-1:123456789012:parameter/:3";
    assert_eq!(
        parameter(&format!("name={arn}")).unwrap().selector,
        Some(Selector::Version(3)),
        "an ARN's prefix is a name"
    );
}
