//! One pass over a PEM bundle of CA certificates that decodes each certificate only as far as
//! its subject name, and wholly only the certificates a caller asks for by subject.
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
}

/// How much of a bundle file is read at a time: a few dozen certificates.
const CHUNK: usize = 32 * 1024;

/// Scans the bundle at `path` as `scan` does, reading it `CHUNK` bytes at a time into one
/// buffer. Why not the whole file at once: a fresh 220 KB buffer is ~54 pages the kernel
/// faults in as it copies the file (each ~2 us on a Lambda-like VM), on the first value's
/// path; the same 32 KB pages serve the whole file.
pub(super) fn scan_file(path: &Path, wanted: impl FnMut(&[u8]) -> bool) -> io::Result<Scan> {
    scan_reader(File::open(path)?, CHUNK, wanted)
}

/// `scan` over what `reader` yields, `chunk` bytes at a time. Each piece scanned ends just
/// after an END marker, so every block that starts in it also ends in it (a block ends at the
/// first marker line after its BEGIN) and the pieces' scans add up to the scan of the whole.
fn scan_reader(
    mut reader: impl Read,
    chunk: usize,
    mut wanted: impl FnMut(&[u8]) -> bool,
) -> io::Result<Scan> {
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
        let piece = scan(&buffer[..whole], &mut wanted);
        found.certificates += piece.certificates;
        found.decoded_whole += piece.decoded_whole;
        found.matches.extend(piece.matches);
        if read == 0 {
            return Ok(found);
        }
        buffer.copy_within(whole..filled, 0);
        kept = filled - whole;
    }
}

/// Scans `pem`, asking `wanted` of each certificate's subject (the contents of its `Name`, as
/// webpki compares names).
fn scan(pem: &[u8], mut wanted: impl FnMut(&[u8]) -> bool) -> Scan {
    let mut found = Scan::default();
    let begin = memchr::memmem::Finder::new(BEGIN);
    let marker = memchr::memmem::Finder::new(MARKER);
    let mut head = [0u8; HEAD];
    let mut rest = pem;
    while let Some(start) = begin.find(rest) {
        rest = &rest[start + BEGIN.len()..];
        let Some(block) = Block::read(rest, &marker, &mut head) else {
            // No END line: the next search starts at whatever marker cut the block short.
            match marker.find(rest) {
                Some(at) => rest = &rest[at..],
                None => break,
            }
            continue;
        };
        rest = block.after;
        match block.subject.clone().map(|range| &head[range]) {
            Some(subject) => {
                found.certificates += 1;
                if wanted(subject) {
                    if let Some(der) = block.decode_whole() {
                        found.decoded_whole += 1;
                        found.matches.push(der);
                    }
                }
            }
            // Past the head, or not in the usual form: the whole certificate decides.
            None => {
                let Some(der) = block.decode_whole() else {
                    continue;
                };
                found.decoded_whole += 1;
                let Some(subject) = whole_subject(&der) else {
                    continue;
                };
                found.certificates += 1;
                if wanted(&subject) {
                    found.matches.push(der);
                }
            }
        }
    }
    found
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

    /// The DER of the whole block, `None` if it is not base64.
    fn decode_whole(&self) -> Option<CertificateDer<'static>> {
        let mut base64 = Vec::with_capacity(self.body.len());
        for line in self.body.split(|b| *b == b'\n') {
            base64.extend_from_slice(line.trim_ascii());
        }
        base64::engine::general_purpose::STANDARD
            .decode(&base64)
            .ok()
            .map(CertificateDer::from)
    }
}

/// Standard base64 of whole 4-character groups without padding, into `out`; `None` for
/// anything else or when `out` is too small. Written out rather than the `base64` crate's
/// (~7.5 instructions a character under callgrind) because the scan decodes ~70 KB of heads.
fn decode_groups(text: &[u8], out: &mut [u8]) -> Option<usize> {
    if !text.len().is_multiple_of(4) || text.len() / 4 * 3 > out.len() {
        return None;
    }
    for (group, bytes) in text.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let a = SEXTETS[usize::from(group[0])];
        let b = SEXTETS[usize::from(group[1])];
        let c = SEXTETS[usize::from(group[2])];
        let d = SEXTETS[usize::from(group[3])];
        if (a | b | c | d) & INVALID != 0 {
            return None;
        }
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        bytes[0] = (n >> 16) as u8;
        bytes[1] = (n >> 8) as u8;
        bytes[2] = n as u8;
    }
    Some(text.len() / 4 * 3)
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
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    /// A self-signed P-256 CA, valid to 2126 (public test data, testdata/README.md).
    const TEST_CA: &str = include_str!("testdata/root.pem");

    fn subject_of(pem: &str) -> Vec<u8> {
        let der = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(der).unwrap();
        roots.roots[0].subject.as_ref().to_vec()
    }

    fn all(pem: &[u8]) -> Scan {
        scan(pem, |_| true)
    }

    #[test]
    fn finds_each_certificate_block_and_skips_the_rest() {
        let text = format!(
            "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n# a comment\n\
             {TEST_CA}\n{TEST_CA}\
             -----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
        let found = all(text.as_bytes());
        assert_eq!(found.certificates, 2);
        // The same DER as the SDK's (constant-time) PEM reader produces.
        let reference = CertificateDer::from_pem_slice(TEST_CA.as_bytes()).unwrap();
        assert_eq!(found.matches, vec![reference.clone(), reference.clone()]);
        assert_eq!(all(b"").certificates, 0);
        assert_eq!(all(b"-----BEGIN CERTIFICATE-----\nAAAA").certificates, 0);
        // A block cut short does not swallow the next one.
        let cut = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}");
        assert_eq!(all(cut.as_bytes()).matches, vec![reference]);
    }

    /// A reader that yields at most `step` bytes a call, as a pipe or a slow disk may.
    struct Trickle<'a> {
        text: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.text.len());
            out[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_bundle_read_in_pieces_scans_as_the_whole() {
        let odd = |s: &[u8]| s.len() % 2 == 1;
        let small = format!(
            "# lead\n-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}-----BEGIN PRIVATE KEY-----\n\
             AAAA\n-----END PRIVATE KEY-----\n{TEST_CA}\n-----BEGIN CERTIFICATE-----\n!!\n\
             -----END CERTIFICATE-----\n{TEST_CA}-----BEGIN CERTIFICATE-----\nAAAA"
        );
        let system = super::super::trust::SYSTEM_BUNDLES
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let large = format!("{small}\n{system}{small}");
        // Pieces smaller than one certificate, cutting markers and lines anywhere, and larger;
        // reads of a byte at a time and of whatever fits.
        let cases: [(&str, &[usize], &[usize]); 2] = [
            (&small, &[7, 64, 1000], &[1, 13, usize::MAX]),
            (&large, &[64, 4093, CHUNK, 1 << 20], &[4096, usize::MAX]),
        ];
        for (text, chunks, steps) in cases {
            let whole = scan(text.as_bytes(), odd);
            assert!(whole.certificates >= 3);
            for (&chunk, &step) in chunks
                .iter()
                .flat_map(|c| steps.iter().map(move |s| (c, s)))
            {
                let reader = Trickle {
                    text: text.as_bytes(),
                    step,
                };
                let pieces = scan_reader(reader, chunk, odd).unwrap();
                assert_eq!(
                    (pieces.certificates, pieces.decoded_whole, &pieces.matches),
                    (whole.certificates, whole.decoded_whole, &whole.matches),
                    "{} bytes, chunk {chunk}, step {step}",
                    text.len()
                );
            }
        }
    }

    #[test]
    fn a_bundle_file_is_scanned_and_a_missing_one_is_an_error() {
        let dir = std::env::temp_dir().join(format!("sidecache-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bundle.pem");
        std::fs::write(&path, format!("{TEST_CA}{TEST_CA}")).unwrap();
        let found = scan_file(&path, |_| true).unwrap();
        assert_eq!(found.certificates, 2);
        assert_eq!(found.matches.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(scan_file(&path, |_| true).is_err());
    }

    #[test]
    fn groups_decode_as_the_base64_crate_does() {
        let bytes: Vec<u8> = (0..255).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let mut out = [0u8; 255];
        assert_eq!(decode_groups(text.as_bytes(), &mut out), Some(255));
        assert_eq!(&out[..], &bytes[..]);
        for bad in ["QUJD=", "QUJ=", "QU-D", "QUJ", "QU\nD"] {
            assert_eq!(decode_groups(bad.as_bytes(), &mut out), None, "{bad}");
        }
        assert_eq!(decode_groups(b"QUJD", &mut [0u8; 2]), None, "no room");
    }

    #[test]
    fn only_the_wanted_subjects_are_decoded_whole() {
        let subject = subject_of(TEST_CA);
        let mut asked = 0;
        let found = scan(format!("{TEST_CA}{TEST_CA}").as_bytes(), |s| {
            asked += 1;
            s != subject.as_slice()
        });
        assert_eq!((asked, found.certificates), (2, 2));
        assert!(found.matches.is_empty());
        assert_eq!(
            found.decoded_whole, 0,
            "a small certificate fits the prefix"
        );
    }

    #[test]
    fn the_system_bundle_of_this_machine_reads_like_the_sdk_reader_and_webpki() {
        // Whatever bundle this machine has: every certificate's subject is webpki's, the matches
        // are the reference reader's DER, and few are decoded whole.
        let Some(path) = super::super::trust::SYSTEM_BUNDLES
            .iter()
            .map(std::path::Path::new)
            .find(|p| p.is_file())
        else {
            return;
        };
        let pem = std::fs::read(path).unwrap();
        let reference: Vec<_> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(reference.iter().cloned());
        let expected: Vec<Vec<u8>> = store
            .roots
            .iter()
            .map(|a| a.subject.as_ref().to_vec())
            .collect();
        let mut seen = Vec::new();
        let found = scan(&pem, |s| {
            seen.push(s.to_vec());
            false
        });
        assert_eq!(seen, expected, "{}", path.display());
        assert!(
            found.decoded_whole * 5 < found.certificates,
            "{} of {} decoded whole",
            found.decoded_whole,
            found.certificates
        );
        let wanted = &expected[expected.len() / 2];
        let found = scan(&pem, |s| s == wanted.as_slice());
        let want: Vec<_> = reference
            .iter()
            .filter(|der| whole_subject(der).as_ref() == Some(wanted))
            .cloned()
            .collect();
        assert_eq!(found.matches, want);
    }
}
