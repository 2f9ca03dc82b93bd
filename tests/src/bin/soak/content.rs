//! What the soak writes upstream, so that every answer names what it is: a value is
//! `<name>#v<n>#<nonce>` (the name asked, the soak's own version number, a random nonce), and an
//! S3 object is that line followed by bytes generated from the nonce, addressable by offset so
//! that a range can be checked without keeping any object in memory.

/// The value of version `n` of `name`.
pub fn value(name: &str, n: u32, nonce: u64) -> String {
    format!("{name}#v{n}#{nonce:016x}")
}

/// (name, version, nonce) of a value written by `value`.
pub fn parse(value: &str) -> Option<(&str, u32, u64)> {
    let mut parts = value.rsplitn(3, '#');
    let nonce = u64::from_str_radix(parts.next()?, 16).ok()?;
    let n = parts.next()?.strip_prefix('v')?.parse().ok()?;
    Some((parts.next()?, n, nonce))
}

/// The size of version `n` of an object whose first version has `base` bytes: each version a
/// little different, so that a body of the wrong version is caught by its length too.
pub fn object_size(base: u64, n: u32) -> u64 {
    base + (u64::from(n) * 7919) % 2048
}

/// Bytes `start..start + len` of version `n` of the object `key` (its full size `size`).
pub fn object_bytes(key: &str, n: u32, nonce: u64, size: u64, start: u64, len: u64) -> Vec<u8> {
    let header = format!("{}\n", value(key, n, nonce));
    let end = (start + len).min(size);
    let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
    let mut word_index = u64::MAX;
    let mut word = [0u8; 8];
    for p in start..end {
        if (p as usize) < header.len() {
            out.push(header.as_bytes()[p as usize]);
            continue;
        }
        if p / 8 != word_index {
            word_index = p / 8;
            word = splitmix(nonce ^ word_index.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes();
        }
        out.push(word[(p % 8) as usize]);
    }
    out
}

/// The whole of version `n`.
pub fn object(key: &str, n: u32, nonce: u64, size: u64) -> Vec<u8> {
    object_bytes(key, n, nonce, size, 0, size)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A small, fast PRNG for choices (not for anything secret).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(splitmix(seed ^ 0x5EED))
    }

    /// A seed that differs per process and per call.
    pub fn seeded() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng::new(t ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0xA24B_AED4_963E_E407))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        splitmix(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// An index picked by weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = (self.next_u64() % u64::from(total)) as u32;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
