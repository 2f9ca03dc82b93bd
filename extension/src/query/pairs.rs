//! A query string split once (`Pairs`): the first value of each accepted key, and the typed,
//! checked reads the request builders in `query.rs` make of it.

use super::syntax::{decode, split, Accepted, Param};
use super::{Format, ReadOptions, MAX_MANY, MAX_NAME, MAX_REGION};
use crate::error::AppError;
use crate::model::Target;
use std::borrow::Cow;
use std::time::Duration;

/// A query string split once: where the first value of each accepted key stands (as in AWS,
/// the first occurrence wins). Nothing is allocated unless a key needs decoding; values are
/// borrowed from the query unless they need decoding.
pub(super) struct Pairs<'a> {
    query: &'a str,
    /// Bit sets over `Param`: the keys present, and those whose value needs decoding. Bits
    /// rather than an `Option` per key keep the empty state all zeroes, cheap to set up.
    present: u32,
    encoded: u32,
    /// Start and end of each present key's value in `query`: `u32` halves the struct, which is
    /// returned by value; hyper bounds a request head to well under 4 GiB.
    bounds: [(u32, u32); Param::COUNT],
}

impl<'a> Pairs<'a> {
    pub(super) fn parse(query: Option<&'a str>, accepted: Accepted) -> Result<Self, AppError> {
        let query = query.unwrap_or("");
        let mut pairs = Pairs {
            query,
            present: 0,
            encoded: 0,
            bounds: [(0, 0); Param::COUNT],
        };
        split(query, |key, value| {
            let raw = &query[key.start..key.end];
            let key = if key.encoded {
                Cow::Owned(decode(raw))
            } else {
                Cow::Borrowed(raw)
            };
            match Param::from_name(&key) {
                Some(param) if accepted.contains(param) => {
                    let bit = 1 << param as u32;
                    if pairs.present & bit == 0 {
                        pairs.present |= bit;
                        pairs.encoded |= if value.encoded { bit } else { 0 };
                        pairs.bounds[param as usize] = (value.start as u32, value.end as u32);
                    }
                    Ok(())
                }
                _ => Err(AppError::UnknownParameter(key.chars().take(64).collect())),
            }
        })?;
        Ok(pairs)
    }

    #[inline]
    pub(super) fn has(&self, param: Param) -> bool {
        self.present & (1 << param as u32) != 0
    }

    /// Inlined so that the common case, an absent key, costs a bit test.
    #[inline]
    pub(super) fn get(&self, param: Param) -> Option<Cow<'a, str>> {
        if !self.has(param) {
            return None;
        }
        let (start, end) = self.bounds[param as usize];
        let raw = &self.query[start as usize..end as usize];
        Some(if self.encoded & (1 << param as u32) != 0 {
            Cow::Owned(decode(raw))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Where the value stood, to tell which of two keys came first.
    pub(super) fn position(&self, param: Param) -> Option<usize> {
        self.has(param)
            .then(|| self.bounds[param as usize].0 as usize)
    }

    pub(super) fn required(&self, param: Param, max: usize) -> Result<String, AppError> {
        self.required_str(param, max).map(Cow::into_owned)
    }

    /// `required`, checked without a copy: a decoded value is moved out by `into_owned`.
    pub(super) fn required_str(&self, param: Param, max: usize) -> Result<Cow<'a, str>, AppError> {
        match self.get(param) {
            Some(v) if !v.is_empty() => checked(param.name(), &v, max).map(|()| v),
            _ => Err(AppError::MissingParameter(param.name())),
        }
    }

    #[inline]
    pub(super) fn optional(&self, param: Param, max: usize) -> Result<Option<String>, AppError> {
        self.get(param)
            .map(|v| checked(param.name(), &v, max).map(|()| v.into_owned()))
            .transpose()
    }

    /// Like `optional`, with an empty value counting as absent.
    #[inline]
    pub(super) fn nonempty(&self, param: Param, max: usize) -> Result<Option<String>, AppError> {
        Ok(self.optional(param, max)?.filter(|v| !v.is_empty()))
    }

    /// A comma-separated list of names or ids (batch endpoints): trimmed, empty items and
    /// repeats dropped, each checked like a single value, 1 to `MAX_MANY` of them.
    pub(super) fn list(&self, param: Param) -> Result<Vec<String>, AppError> {
        let name = param.name();
        let list = self.required_str(param, MAX_MANY * (MAX_NAME + 1))?;
        let mut items: Vec<String> = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let item = bounded(name, item, MAX_NAME)?;
            if !items.contains(&item) {
                items.push(item);
            }
        }
        match items.len() {
            0 => Err(AppError::MissingParameter(name)),
            n if n > MAX_MANY => Err(AppError::invalid(name, format!("at most {MAX_MANY}"))),
            _ => Ok(items),
        }
    }

    /// Read options of an endpoint that answers a list: JSON only.
    pub(super) fn list_options(&self, endpoint: &str) -> Result<ReadOptions, AppError> {
        let options = self.read_options()?;
        if options.format == Format::Raw {
            return Err(AppError::invalid(
                "format",
                format!("{endpoint} answers a list: json only"),
            ));
        }
        Ok(options)
    }

    #[inline]
    pub(super) fn bool(&self, param: Param) -> Result<bool, AppError> {
        match self.get(param).as_deref() {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(AppError::invalid(param.name(), "expected true or false")),
        }
    }

    pub(super) fn read_options(&self) -> Result<ReadOptions, AppError> {
        let format = match self.get(Param::Format).as_deref() {
            None | Some("json") => Format::Json,
            Some("raw") => Format::Raw,
            Some(_) => return Err(AppError::invalid("format", "expected json or raw")),
        };
        let max_age = match self.get(Param::MaxAge) {
            None => None,
            Some(v) => Some(Duration::from_secs(v.parse().map_err(|_| {
                AppError::invalid("maxAge", "expected a whole number of seconds")
            })?)),
        };
        let max_age = if self.bool(Param::RefreshNow)? {
            Some(Duration::ZERO)
        } else {
            max_age
        };
        Ok(ReadOptions { format, max_age })
    }

    pub(super) fn target(&self) -> Result<Target, AppError> {
        let region = self.optional(Param::Region, MAX_REGION)?;
        if let Some(region) = &region {
            if !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(AppError::invalid(
                    "region",
                    "expected a region name such as eu-west-1",
                ));
            }
        }
        let role_arn = self.optional(Param::RoleArn, MAX_NAME)?;
        if let Some(role) = &role_arn {
            if !(role.starts_with("arn:") && role.contains(":role/")) {
                return Err(AppError::invalid(
                    "roleArn",
                    "expected an IAM role ARN, arn:aws:iam::<account>:role/<name>",
                ));
            }
        }
        Ok(Target { region, role_arn })
    }
}

pub(super) fn bounded(name: &'static str, value: &str, max: usize) -> Result<String, AppError> {
    checked(name, value, max).map(|()| value.to_owned())
}

pub(super) fn checked(name: &'static str, value: &str, max: usize) -> Result<(), AppError> {
    if value.len() > max {
        return Err(AppError::invalid(name, format!("longer than {max} bytes")));
    }
    // Printable ASCII, the common case, has no control character; anything else is decoded.
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !printable && value.chars().any(char::is_control) {
        return Err(AppError::invalid(name, "contains control characters"));
    }
    Ok(())
}
