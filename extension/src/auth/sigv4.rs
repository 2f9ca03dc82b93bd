//! AWS Signature Version 4, checked rather than made: a stock AWS SDK signs every request it
//! sends to sidecache with the function's own credentials, and sidecache recomputes the
//! signature with the same credentials to decide whether to answer.
//!
//! Everything here is a pure function of the request's bytes (no clock, no credentials lookup),
//! so that it can be fuzzed and checked against the SDK's own signer (`aws-sigv4`, in the tests).
//! The steps are AWS's (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>):
//! the canonical request, the string to sign over its hash, and an HMAC chain from the secret key
//! through the credential scope. A signing key depends only on (secret, date, region, service),
//! so `SigningKey` is derived once a day per scope and kept by the caller.

use percent_encoding::{percent_decode, AsciiSet, NON_ALPHANUMERIC};
use ring::{digest, hmac};
use std::time::Duration;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `X-Amz-Date` may be from our clock either way, as AWS allows.
pub const CLOCK_WINDOW: Duration = Duration::from_secs(300);
/// The payload "hash" S3 clients may send instead of a hash.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// The characters SigV4's `UriEncode` leaves alone: unreserved ones (RFC 3986).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The same for a path, whose `/` separators stay.
const ENCODE_PATH: &AsciiSet = &ENCODE.remove(b'/');

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access_key_id: &'a str,
    pub scope: Scope<'a>,
    /// Lower-case header names separated by `;`, in the order they were signed.
    pub signed_headers: &'a str,
    /// 64 lower-case hex digits.
    pub signature: &'a str,
}

/// The credential scope: which day, region and service the signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `YYYYMMDD`.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Why a signature could not be checked, or did not verify. Messages never hold a signature, a
/// key or a token, only what the caller may see of its own request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    #[error("the Authorization header is not AWS Signature Version 4: {0}")]
    Malformed(&'static str),
    #[error("only AWS4-HMAC-SHA256 signatures are accepted")]
    UnsupportedAlgorithm,
    #[error("the request has no valid X-Amz-Date header")]
    MissingDate,
    #[error("the signature's date is not the date of X-Amz-Date")]
    ScopeDateMismatch,
    #[error("signature expired: X-Amz-Date is {0} s away from sidecache's clock (at most 300 s allowed)")]
    Expired(i64),
    #[error("header `{0}` is signed but absent")]
    SignedHeaderMissing(String),
}

/// Reads an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, SigV4Error> {
    let rest = match value.split_once(' ') {
        Some((ALGORITHM, rest)) => rest,
        Some((algorithm, _)) if algorithm.starts_with("AWS4-") => {
            return Err(SigV4Error::UnsupportedAlgorithm)
        }
        _ => {
            return Err(SigV4Error::Malformed(
                "expected `AWS4-HMAC-SHA256 Credential=...`",
            ))
        }
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim_matches(' ');
        let (name, value) = part
            .split_once('=')
            .ok_or(SigV4Error::Malformed("a component without `=`"))?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(SigV4Error::Malformed("an unknown component")),
        };
        if slot.replace(value).is_some() {
            return Err(SigV4Error::Malformed("a component given twice"));
        }
    }
    let credential = credential.ok_or(SigV4Error::Malformed("no Credential"))?;
    let signed_headers = signed_headers.ok_or(SigV4Error::Malformed("no SignedHeaders"))?;
    let signature = signature.ok_or(SigV4Error::Malformed("no Signature"))?;

    let mut parts = credential.split('/');
    let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminal), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SigV4Error::Malformed(
            "Credential is not <key>/<date>/<region>/<service>/aws4_request",
        ));
    };
    if terminal != "aws4_request" {
        return Err(SigV4Error::Malformed(
            "Credential does not end in aws4_request",
        ));
    }
    if access_key_id.is_empty() || region.is_empty() || service.is_empty() {
        return Err(SigV4Error::Malformed("an empty part in Credential"));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SigV4Error::Malformed("the Credential date is not YYYYMMDD"));
    }
    let names_ok = !signed_headers.is_empty()
        && signed_headers.split(';').all(|name| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
        });
    if !names_ok {
        return Err(SigV4Error::Malformed(
            "SignedHeaders is not a list of lower-case header names",
        ));
    }
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(SigV4Error::Malformed(
            "Signature is not 64 lower-case hex digits",
        ));
    }
    Ok(Authorization {
        access_key_id,
        scope: Scope {
            date,
            region,
            service,
        },
        signed_headers,
        signature,
    })
}

/// A request as received, the parts a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent, percent-escapes and all.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    /// Hex SHA-256 of the body, or what `x-amz-content-sha256` says instead (S3).
    pub payload_hash: &'a str,
}

/// The canonical request the client hashed and signed, as bytes (header values need not be
/// UTF-8). S3 signs its path as sent; every other service escapes it once more ("double
/// encoding", as the SDKs do for them).
pub fn canonical_request(
    request: &SignedRequest,
    authorization: &Authorization,
) -> Result<Vec<u8>, SigV4Error> {
    // Headers dominate: a Lambda session token alone is ~1 KB.
    let mut canonical = Vec::with_capacity(256 + request.headers.len() * 64);
    canonical.extend_from_slice(request.method.as_bytes());
    canonical.push(b'\n');
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    if authorization.scope.service == "s3" {
        canonical.extend_from_slice(path.as_bytes());
    } else {
        for piece in percent_encoding::utf8_percent_encode(path, ENCODE_PATH) {
            canonical.extend_from_slice(piece.as_bytes());
        }
    }
    canonical.push(b'\n');
    canonical_query(request.query.unwrap_or(""), &mut canonical);
    canonical.push(b'\n');
    for name in authorization.signed_headers.split(';') {
        canonical.extend_from_slice(name.as_bytes());
        canonical.push(b':');
        // Compared, not looked up: a request has a few headers, and a look-up by a `&str`
        // parses and hashes the name first. Values of one name come in the order received.
        let mut values = request
            .headers
            .iter()
            .filter(|(header, _)| header.as_str() == name)
            .map(|(_, value)| value);
        let Some(first) = values.next() else {
            return Err(SigV4Error::SignedHeaderMissing(name.to_owned()));
        };
        push_trimmed(&mut canonical, first.as_bytes());
        for value in values {
            canonical.push(b',');
            push_trimmed(&mut canonical, value.as_bytes());
        }
        canonical.push(b'\n');
    }
    canonical.push(b'\n');
    canonical.extend_from_slice(authorization.signed_headers.as_bytes());
    canonical.push(b'\n');
    canonical.extend_from_slice(request.payload_hash.as_bytes());
    Ok(canonical)
}

/// Every `name=value` pair decoded and encoded again with SigV4's `UriEncode`, sorted by name
/// then value; a name without `=` has an empty value.
fn canonical_query(query: &str, out: &mut Vec<u8>) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort_unstable();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
}

fn reencode(raw: &str) -> String {
    let bytes: Vec<u8> = percent_decode(raw.as_bytes()).collect();
    percent_encoding::percent_encode(&bytes, ENCODE).to_string()
}

/// A header value with leading and trailing blanks removed and inner runs of blanks made one
/// space, as the SDKs' signers do. A value without blanks (a token, a date) is copied whole.
fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let value = value.trim_ascii();
    if memchr::memchr2(b' ', b'\t', value).is_none() {
        out.extend_from_slice(value);
        return;
    }
    let mut blank = false;
    for &byte in value {
        if byte == b' ' || byte == b'\t' {
            if !blank {
                out.push(b' ');
            }
            blank = true;
        } else {
            out.push(byte);
            blank = false;
        }
    }
}

/// The key a day's signatures for one region and service are made with.
pub struct SigningKey(hmac::Key);

impl SigningKey {
    pub fn derive(secret_access_key: &str, scope: &Scope) -> SigningKey {
        let secret = format!("AWS4{secret_access_key}");
        let date = hmac_sign(secret.as_bytes(), scope.date.as_bytes());
        let region = hmac_sign(date.as_ref(), scope.region.as_bytes());
        let service = hmac_sign(region.as_ref(), scope.service.as_bytes());
        let signing = hmac_sign(service.as_ref(), b"aws4_request");
        SigningKey(hmac::Key::new(hmac::HMAC_SHA256, signing.as_ref()))
    }
}

fn hmac_sign(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// The signature (hex) of a canonical request made at `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub fn signature(key: &SigningKey, amz_date: &str, scope: &Scope, canonical: &[u8]) -> String {
    let mut to_sign = String::with_capacity(160);
    for part in [
        ALGORITHM,
        "\n",
        amz_date,
        "\n",
        scope.date,
        "/",
        scope.region,
        "/",
        scope.service,
        "/aws4_request\n",
    ] {
        to_sign.push_str(part);
    }
    to_sign.push_str(&sha256_hex(canonical));
    hex(hmac::sign(&key.0, to_sign.as_bytes()).as_ref())
}

/// Whether `presented` (hex) is the signature computed, compared in constant time.
pub fn same_signature(computed: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    computed.len() == presented.len() && bool::from(computed.as_bytes().ct_eq(presented.as_bytes()))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) as seconds since the epoch.
pub fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Checks `X-Amz-Date` against the scope's date and the clock (`now`, seconds since the epoch).
pub fn check_date(amz_date: &str, scope: &Scope, now: i64) -> Result<(), SigV4Error> {
    let at = parse_amz_date(amz_date).ok_or(SigV4Error::MissingDate)?;
    if amz_date[..8] != *scope.date {
        return Err(SigV4Error::ScopeDateMismatch);
    }
    let skew = at - now;
    if skew.unsigned_abs() > CLOCK_WINDOW.as_secs() {
        return Err(SigV4Error::Expired(skew));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
