//! One pass over a PEM bundle of CA certificates that decodes each certificate only as far as
//! its subject name, and wholly only the certificates a caller asks for by subject. In the
//! layout every bundle writer uses (`Laid`) not even that: only the DER headers up to the
//! subject are decoded; any other layout is decoded a line at a time until the subject
//! (`Block`).
//!
//! Why: a system bundle is ~140 certificates in ~220 KB of PEM, and a TLS handshake with AWS
//! needs one or two of them. Decoding and parsing all of them was ~40 % of the CPU of the first
//! value (docs/performance.md, issue 24); the subject ends within the first 384 bytes of almost
//! every certificate (median 255 bytes, of ~1,060). Certificates are public: an ordinary base64
//! decoder, not a constant-time one.
//!
//! The rules are OpenSSL's: text outside `CERTIFICATE` blocks (comments, other PEM types) is
//! skipped, a block that is not base64 or not a certificate is skipped, a block cut short (no
//! END line) does not swallow the next one.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use base64::Engine;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use super::names;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";
/// Any PEM marker line starts so (base64 has no `-`).
const MARKER: &[u8] = b"-----";
/// At most this much of a certificate is decoded line by line looking for its subject: past
/// the subject of every root of the system bundles measured (the latest ends at byte 489).
const HEAD: usize = 768;
/// No subject ends this early (the earliest measured ends at byte 150): lines are decoded
/// without trying to read the names until there is this much (three lines of 64 characters).
const NO_SUBJECT_BEFORE: usize = 144;

/// What one pass found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// Certificates whose subject could be read: the bundle is usable when there is one.
    pub(super) certificates: usize,
    /// The DER of each certificate whose subject was asked for, in bundle order.
    pub(super) matches: Vec<CertificateDer<'static>>,
    /// Certificates decoded whole (the matches, and those whose head was not enough).
    pub(super) decoded_whole: usize,
    /// Certificates read through the usual layout (`Laid`), without decoding their head.
    pub(super) laid_out: usize,
}

/// How much of a bundle file is read at a time: a few dozen certificates.
const CHUNK: usize = 32 * 1024;

/// Scans the bundle at `path` as `scan` does, reading it `CHUNK` bytes at a time into one
/// buffer. Why not the whole file at once: a fresh 220 KB buffer is ~54 pages the kernel
/// faults in as it copies the file (each ~2 us on a Lambda-like VM), on the first value's
/// path; the same 32 KB pages serve the whole file.
pub(super) fn scan_file(path: &Path, subjects: &[&[u8]]) -> io::Result<Scan> {
    scan_reader(File::open(path)?, CHUNK, subjects)
}

/// `scan` over what `reader` yields, `chunk` bytes at a time. Each piece scanned ends just
/// after an END marker, so every block that starts in it also ends in it (a block ends at the
/// first marker line after its BEGIN) and the pieces' scans add up to the scan of the whole.
fn scan_reader(mut reader: impl Read, chunk: usize, subjects: &[&[u8]]) -> io::Result<Scan> {
    let end = memchr::memmem::FinderRev::new(END);
    let mut found = Scan::default();
    // Zeroed once: `kept` bytes at its start are text not scanned yet.
    let mut buffer = vec![0; chunk];
    let mut kept = 0;
    loop {
        if kept == buffer.len() {
            // No END marker in a whole buffer (a block longer than a chunk): make room.
            buffer.resize(kept + chunk, 0);
        }
        let read = loop {
            match reader.read(&mut buffer[kept..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        let filled = kept + read;
        let whole = if read == 0 {
            filled
        } else {
            // Past the last END marker, which can only be in what was just read (or end in
            // it): what was kept holds none.
            let from = kept.saturating_sub(END.len() - 1);
            end.rfind(&buffer[from..filled])
                .map_or(0, |at| from + at + END.len())
        };
        let piece = scan(&buffer[..whole], subjects);
        found.certificates += piece.certificates;
        found.laid_out += piece.laid_out;
        found.decoded_whole += piece.decoded_whole;
        found.matches.extend(piece.matches);
        if read == 0 {
            return Ok(found);
        }
        buffer.copy_within(whole..filled, 0);
        kept = filled - whole;
    }
}

/// Scans `pem` for the certificates whose subject (the contents of its `Name`, as webpki
/// compares names) is one of `subjects`.
fn scan(pem: &[u8], subjects: &[&[u8]]) -> Scan {
    let mut found = Scan::default();
    let begin = memchr::memmem::Finder::new(BEGIN);
    let marker = memchr::memmem::Finder::new(MARKER);
    let mut head = [0u8; HEAD];
    let mut rest = pem;
    while let Some(start) = begin.find(rest) {
        rest = &rest[start + BEGIN.len()..];
        // Whether the subject is wanted, and the body to decode if it is.
        let (wanted, body) = if let Some(laid) = Laid::read(rest, subjects, &mut head) {
            rest = laid.after;
            found.laid_out += 1;
            (laid.matches, laid.body)
        } else {
            let Some(block) = Block::read(rest, &marker, &mut head) else {
                // No END line: the next search starts at whatever marker cut the block short.
                match marker.find(rest) {
                    Some(at) => rest = &rest[at..],
                    None => break,
                }
                continue;
            };
            rest = block.after;
            match block.subject.clone() {
                Some(range) => (subjects.contains(&&head[range]), block.body),
                // Past the head, or not in the usual form: the whole certificate decides.
                None => {
                    let Some(der) = decode_whole(block.body) else {
                        continue;
                    };
                    found.decoded_whole += 1;
                    let Some(subject) = whole_subject(&der) else {
                        continue;
                    };
                    found.certificates += 1;
                    if subjects.contains(&subject.as_slice()) {
                        found.matches.push(der);
                    }
                    continue;
                }
            }
        };
        found.certificates += 1;
        if wanted {
            if let Some(der) = decode_whole(body) {
                found.decoded_whole += 1;
                found.matches.push(der);
            }
        }
    }
    found
}

/// Base64 characters per line in the layout every bundle writer uses (OpenSSL, p11-kit,
/// Mozilla's tools): "\n" after BEGIN, lines of 64 characters and a newline, the last one
/// shorter, then the END marker.
const LINE: usize = 64;

/// A `CERTIFICATE` block in that layout, read without decoding its head. There, byte `k` of
/// the DER is in the 4-character group `k / 3` at a place known in advance: the headers up to
/// the subject are decoded (a few groups each) and what lies between them skipped; a subject
/// whose length no wanted subject has is not decoded either. Why: decoding each certificate's
/// head up to its subject (~255 bytes) was most of the bundle scan (issue 24).
struct Laid<'a> {
    matches: bool,
    body: &'a [u8],
    after: &'a [u8],
}

impl<'a> Laid<'a> {
    /// The block whose body starts `text` (just after its BEGIN marker), or `None` when it is
    /// not in that layout as far as it is read (then `Block::read` decides).
    fn read(text: &'a [u8], subjects: &[&[u8]], name: &mut [u8; HEAD]) -> Option<Laid<'a>> {
        let mut lines = Lines { text, checked: 0 };
        if text.first() != Some(&b'\n') {
            return None;
        }
        let outline = names::outline(|at, out| lines.decode(at, out))?;
        // END exactly where the length puts it, and no other marker before it.
        let characters = outline.length.div_ceil(3) * 4;
        let end = 1 + characters / LINE * (LINE + 1) + characters % LINE;
        let end = end + usize::from(characters % LINE != 0);
        if !text.get(end..)?.starts_with(END) || memchr::memchr(b'-', &text[..end]).is_some() {
            return None;
        }
        let length = outline.subject.len();
        let matches = if !subjects.iter().any(|s| s.len() == length) {
            false
        } else {
            let name = name.get_mut(..length)?;
            lines.decode(outline.subject.start, name)?;
            subjects.contains(&&name[..])
        };
        Some(Laid {
            matches,
            body: &text[..end],
            after: &text[end + END.len()..],
        })
    }
}

/// The lines of a block body (`text` starts with the newline after BEGIN) decoded at random.
struct Lines<'a> {
    text: &'a [u8],
    /// Lines known to hold 64 characters and a newline.
    checked: usize,
}

impl Lines<'_> {
    /// DER bytes `from..from + out.len()` into `out`, `None` where the text is not in the
    /// layout (a line of another length, a marker, a character that is not base64).
    fn decode(&mut self, from: usize, out: &mut [u8]) -> Option<()> {
        let mut filled = 0;
        for g in from / 3..(from + out.len()).div_ceil(3) {
            let line = g * 4 / LINE;
            self.check_through(line)?;
            let at = 1 + line * (LINE + 1) + g * 4 % LINE;
            let bytes = decode_group(self.text[at..at + 4].try_into().ok()?)?;
            // Byte by byte: at most three, fewer than a call to memcpy costs.
            for &byte in &bytes[if filled == 0 { from % 3 } else { 0 }..] {
                if filled == out.len() {
                    break;
                }
                out[filled] = byte;
                filled += 1;
            }
        }
        Some(())
    }

    /// Every line through `line` holds 64 characters and then a newline: only then is each
    /// character where the layout puts it.
    fn check_through(&mut self, line: usize) -> Option<()> {
        while self.checked <= line {
            let start = 1 + self.checked * (LINE + 1);
            let text = self.text.get(start..start + LINE + 1)?;
            if text[LINE] != b'\n' || memchr::memchr3(b'\n', b'\r', b'-', &text[..LINE]).is_some() {
                return None;
            }
            self.checked += 1;
        }
        Some(())
    }
}

/// The subject of a whole certificate: the names reader, else webpki's own parse as a trust
/// anchor (which also reads v1 certificates in forms the reader refuses).
fn whole_subject(der: &CertificateDer<'_>) -> Option<Vec<u8>> {
    if let Ok((_, subject)) = names::issuer_and_subject(der) {
        return Some(subject.to_vec());
    }
    let mut roots = RootCertStore::empty();
    roots.add(der.clone()).ok()?;
    roots
        .roots
        .pop()
        .map(|anchor| anchor.subject.as_ref().to_vec())
}

/// One `CERTIFICATE` block: where its subject name lies in the head of its DER (decoded a
/// line at a time until the name is in it), and the text of its body for a whole decode.
struct Block<'a> {
    subject: Option<std::ops::Range<usize>>,
    body: &'a [u8],
    after: &'a [u8],
}

impl<'a> Block<'a> {
    /// The block whose body starts `text` (just after its BEGIN marker), its head decoded into
    /// `head`; `None` when another marker than END (or the end of the text) comes first.
    fn read(
        text: &'a [u8],
        marker: &memchr::memmem::Finder<'_>,
        head: &mut [u8; HEAD],
    ) -> Option<Block<'a>> {
        let mut subject = None;
        // The first lines, one by one, until the subject is read...
        let mut decoded = 0;
        let mut at = 0;
        while at < text.len() {
            let end_of_line = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i + 1);
            let line = text[at..end_of_line].trim_ascii();
            if line.starts_with(MARKER) {
                break;
            }
            at = end_of_line;
            // A last line with padding, a line not of whole groups, a head without the subject:
            // the whole decode decides.
            let Some(n) = decode_groups(line, &mut head[decoded..]) else {
                break;
            };
            decoded += n;
            if decoded < NO_SUBJECT_BEFORE {
                continue;
            }
            match names::issuer_and_subject(&head[..decoded]) {
                Ok((_, name)) => {
                    let start = name.as_ptr() as usize - head.as_ptr() as usize;
                    subject = Some(start..start + name.len());
                    break;
                }
                Err(names::Problem::Short) => {}
                Err(names::Problem::Malformed) => break,
            }
        }
        // ...then straight to the next marker, which must be END.
        let end = at + marker.find(&text[at..])?;
        if !text[end..].starts_with(END) {
            return None;
        }
        Some(Block {
            subject,
            body: &text[..end],
            after: &text[end + END.len()..],
        })
    }
}

/// The DER of a whole block body, `None` if it is not base64.
fn decode_whole(body: &[u8]) -> Option<CertificateDer<'static>> {
    let mut base64 = Vec::with_capacity(body.len());
    for line in body.split(|b| *b == b'\n') {
        base64.extend_from_slice(line.trim_ascii());
    }
    base64::engine::general_purpose::STANDARD
        .decode(&base64)
        .ok()
        .map(CertificateDer::from)
}

/// Standard base64 of whole 4-character groups without padding, into `out`; `None` for
/// anything else or when `out` is too small. Written out rather than the `base64` crate's
/// (~7.5 instructions a character under callgrind) because the scan decodes ~70 KB of heads.
fn decode_groups(text: &[u8], out: &mut [u8]) -> Option<usize> {
    if !text.len().is_multiple_of(4) || text.len() / 4 * 3 > out.len() {
        return None;
    }
    for (group, bytes) in text.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        bytes.copy_from_slice(&decode_group(group.try_into().ok()?)?);
    }
    Some(text.len() / 4 * 3)
}

/// One group of four base64 characters, `None` if one is not base64 (padding included).
#[inline]
fn decode_group(group: &[u8; 4]) -> Option<[u8; 3]> {
    let [a, b, c, d] = group.map(|char| SEXTETS[usize::from(char)]);
    if (a | b | c | d) & INVALID != 0 {
        return None;
    }
    let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
    Some([(n >> 16) as u8, (n >> 8) as u8, n as u8])
}

const INVALID: u8 = 0x80;

/// The value of each base64 character, `INVALID` for the rest (padding included).
const SEXTETS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests;
