//! The syntax of a query string: the parameters sidecache knows (`Param`), splitting a query
//! into key and value spans in one pass, and decoding a span as `form_urlencoded` does.

/// Every query parameter any endpoint accepts. A key is identified once, when the query is
/// split, so the handlers look values up by array index instead of comparing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Param {
    Format,
    MaxAge,
    RefreshNow,
    Region,
    RoleArn,
    Name,
    Version,
    Label,
    WithDecryption,
    SecretId,
    VersionId,
    VersionStage,
    Bucket,
    Key,
    Uri,
    Path,
    Recursive,
    Names,
    SecretIds,
    Kind,
    Prefix,
    All,
}

impl Param {
    pub(super) const COUNT: usize = Param::All as usize + 1;
    /// Indexed by `Param as usize`; `from_name` must stay its inverse (a unit test checks).
    pub(super) const NAMES: [&'static str; Param::COUNT] = [
        "format",
        "maxAge",
        "refreshNow",
        "region",
        "roleArn",
        "name",
        "version",
        "label",
        "withDecryption",
        "secretId",
        "versionId",
        "versionStage",
        "bucket",
        "key",
        "uri",
        "path",
        "recursive",
        "names",
        "secretIds",
        "kind",
        "prefix",
        "all",
    ];

    pub(super) fn name(self) -> &'static str {
        Param::NAMES[self as usize]
    }

    /// A `match` rather than a search of `NAMES`: the compiler dispatches on the length first,
    /// so a key costs about one comparison.
    pub(super) fn from_name(name: &str) -> Option<Param> {
        Some(match name {
            "format" => Param::Format,
            "maxAge" => Param::MaxAge,
            "refreshNow" => Param::RefreshNow,
            "region" => Param::Region,
            "roleArn" => Param::RoleArn,
            "name" => Param::Name,
            "version" => Param::Version,
            "label" => Param::Label,
            "withDecryption" => Param::WithDecryption,
            "secretId" => Param::SecretId,
            "versionId" => Param::VersionId,
            "versionStage" => Param::VersionStage,
            "bucket" => Param::Bucket,
            "key" => Param::Key,
            "uri" => Param::Uri,
            "path" => Param::Path,
            "recursive" => Param::Recursive,
            "names" => Param::Names,
            "secretIds" => Param::SecretIds,
            "kind" => Param::Kind,
            "prefix" => Param::Prefix,
            "all" => Param::All,
            _ => return None,
        })
    }
}

/// The keys one endpoint accepts, as a bit set over `Param`.
#[derive(Clone, Copy)]
pub(super) struct Accepted(u32);

impl Accepted {
    pub(super) const fn of(params: &[Param]) -> Accepted {
        let mut bits = 0;
        let mut i = 0;
        while i < params.len() {
            bits |= 1 << params[i] as u32;
            i += 1;
        }
        Accepted(bits)
    }

    pub(super) fn contains(self, param: Param) -> bool {
        self.0 & (1 << param as u32) != 0
    }

    pub(super) const fn and(self, other: Accepted) -> Accepted {
        Accepted(self.0 | other.0)
    }
}
const _: () = assert!(Param::COUNT <= u32::BITS as usize);

/// Where a value stands in the query string, and whether it needs decoding (holds a `%` or
/// `+`). Values are decoded only when read: most are read once, and most need no decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) encoded: bool,
}

/// Splits a query string the way `form_urlencoded::parse` does (which it replaced on the hot
/// path: its per-pair `Cow` decoding cost more than the rest of a cache hit's parsing): pieces
/// separated by `&`, empty pieces skipped, the key up to the first `=`, the value after it
/// (empty when there is no `=`). Calls `each` with the key's and the value's spans, in order.
pub(crate) fn split<E>(
    query: &str,
    mut each: impl FnMut(Span, Span) -> Result<(), E>,
) -> Result<(), E> {
    let bytes = query.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        // One pass per piece finds its end, its first `=` and whether each side is encoded.
        let mut end = start;
        let mut equals = None;
        let mut encoded = false;
        let mut key_encoded = false;
        while end < bytes.len() {
            match bytes[end] {
                b'&' => break,
                b'=' if equals.is_none() => {
                    equals = Some(end);
                    key_encoded = encoded;
                    encoded = false;
                }
                b'%' | b'+' => encoded = true,
                _ => {}
            }
            end += 1;
        }
        if end > start {
            let (key, value) = match equals {
                Some(equals) => (
                    Span {
                        start,
                        end: equals,
                        encoded: key_encoded,
                    },
                    Span {
                        start: equals + 1,
                        end,
                        encoded,
                    },
                ),
                None => (
                    Span {
                        start,
                        end,
                        encoded,
                    },
                    Span {
                        start: end,
                        end,
                        encoded: false,
                    },
                ),
            };
            each(key, value)?;
        }
        start = end + 1;
    }
    Ok(())
}

/// A piece of the query as `form_urlencoded` decodes it: `+` is a space, then `%XX` escapes
/// (either case of hex) are bytes and a `%` not followed by two hex digits stays as it is,
/// then bytes that are not UTF-8 become U+FFFD.
pub(crate) fn decode(raw: &str) -> String {
    // Built as a `String` while every escape decodes to ASCII (the usual `%2F`): the runs
    // between escapes are slices of a `str` cut at ASCII bytes, so no UTF-8 check is needed.
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    // A byte search: `%` and `+` are ASCII, so their positions are character boundaries (and
    // `str::find` with a set of chars decodes every character first, ~25 instructions a byte).
    while let Some(special) = rest.bytes().position(|b| b == b'%' || b == b'+') {
        out.push_str(&rest[..special]);
        rest = &rest[special..];
        let (byte, used) = escape(rest.as_bytes());
        if !byte.is_ascii() {
            return decode_bytes(raw);
        }
        out.push(char::from(byte));
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// `decode` for values with escapes of non-ASCII bytes: decoded as bytes, then checked.
fn decode_bytes(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some(special) = rest.iter().position(|&b| b == b'%' || b == b'+') {
        out.extend_from_slice(&rest[..special]);
        let (byte, used) = escape(&rest[special..]);
        out.push(byte);
        rest = &rest[special + used..];
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(decoded) => decoded,
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
    }
}

/// The byte that `%XX`, a lone `%` or a `+` at the start of `at` stands for, and its length.
fn escape(at: &[u8]) -> (u8, usize) {
    match at {
        [b'%', high, low, ..] => match hex(high).zip(hex(low)) {
            Some((high, low)) => (high << 4 | low, 3),
            None => (b'%', 1),
        },
        [b'%', ..] => (b'%', 1),
        _ => (b' ', 1), // a `+`
    }
}

fn hex(digit: &u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}
