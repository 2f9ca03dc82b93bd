//! Where configuration comes from, and the small typed parsers every variable goes through.
//!
//! Configuration is read through the [`Env`] trait so that tests hand in a map instead of
//! mutating the process environment (which is shared by every test thread).

use std::collections::HashMap;
use std::time::Duration;

/// A source of environment variables.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
    /// Every variable name present, used to warn about misspelt ones.
    fn names(&self) -> Vec<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect()
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }

    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// One rejected variable: enough for the user to fix it without reading the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidVar {
    pub name: &'static str,
    pub value: String,
    pub expected: String,
}

impl std::fmt::Display for InvalidVar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={:?} is invalid: expected {}",
            self.name, self.value, self.expected
        )
    }
}

/// Reads variables and collects every error instead of stopping at the first, so one start-up
/// reports all bad variables at once.
pub struct Reader<'a> {
    env: &'a dyn Env,
    pub errors: Vec<InvalidVar>,
}

impl<'a> Reader<'a> {
    pub fn new(env: &'a dyn Env) -> Self {
        Self {
            env,
            errors: Vec::new(),
        }
    }

    /// The trimmed value; an empty value counts as unset, as Lambda's console makes it easy to
    /// leave a variable with no value.
    pub fn raw(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Parses `name` with `parse`; on failure records the error and returns `default`.
    pub fn parse<T>(
        &mut self,
        name: &'static str,
        default: T,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> T {
        match self.raw(name) {
            None => default,
            Some(value) => match parse(&value) {
                Some(parsed) => parsed,
                None => {
                    self.errors.push(InvalidVar {
                        name,
                        value,
                        expected: expected.to_owned(),
                    });
                    default
                }
            },
        }
    }

    pub fn bool(&mut self, name: &'static str, default: bool) -> bool {
        self.parse(name, default, "true or false", parse_bool)
    }

    pub fn u64_in(&mut self, name: &'static str, default: u64, min: u64, max: u64) -> u64 {
        let expected = format!("a whole number from {min} to {max}");
        self.parse(name, default, &expected, |v| {
            v.parse::<u64>().ok().filter(|n| (min..=max).contains(n))
        })
    }

    pub fn seconds(&mut self, name: &'static str, default: u64) -> Duration {
        Duration::from_secs(self.u64_in(name, default, 0, MAX_SECONDS))
    }

    pub fn millis(&mut self, name: &'static str, default: u64) -> Duration {
        Duration::from_millis(self.u64_in(name, default, 0, MAX_SECONDS * 1000))
    }

    pub fn bytes(&mut self, name: &'static str, default: u64, min: u64) -> u64 {
        let expected =
            format!("a size of at least {min} bytes: plain bytes or a number with KiB, MiB or GiB");
        self.parse(name, default, &expected, |v| {
            parse_size(v).filter(|n| *n >= min)
        })
    }
}

/// One year: a larger TTL is certainly a typo (milliseconds given as seconds).
pub const MAX_SECONDS: u64 = 365 * 24 * 3600;

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// `1048576`, `512KiB`, `64MiB`, `1GiB` (also `KB`/`MB`/`GB` and `K`/`M`/`G`, as binary units).
pub fn parse_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// Levenshtein distance, for "did you mean" hints on misspelt variables.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("10k"), Some(10 << 10));
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("12 parsecs"), None);
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("SIDECACHE_TOKEN", "SIDECACHE_TOKEN"), 0);
        assert_eq!(edit_distance("SIDECACHE_TOKN", "SIDECACHE_TOKEN"), 1);
        assert_eq!(edit_distance("abc", "xyz"), 3);
    }

    #[test]
    fn reader_collects_every_error() {
        let env: HashMap<String, String> = [("A", "x"), ("B", "-3"), ("C", " 7 ")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut reader = Reader::new(&env);
        assert!(reader.bool("A", true));
        assert_eq!(reader.u64_in("B", 1, 0, 10), 1);
        assert_eq!(reader.u64_in("C", 1, 0, 10), 7);
        let names: Vec<_> = reader.errors.iter().map(|e| e.name).collect();
        assert_eq!(names, ["A", "B"]);
        assert!(reader.errors[1].to_string().contains("\"-3\""));
    }
}
