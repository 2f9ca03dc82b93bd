//! The bundle scan against the reference PEM reader and webpki, in every layout it meets.

use super::*;
use rustls_pki_types::pem::PemObject;

/// A self-signed P-256 CA, valid to 2126 (public test data, testdata/README.md).
const TEST_CA: &str = include_str!("../testdata/root.pem");
/// A chain under another test CA (RSA), for a second and third subject.
const INTERMEDIATE: &str = include_str!("../testdata/intermediate.pem");
const LEAF: &str = include_str!("../testdata/leaf.pem");

fn der_of(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

fn subject_of(pem: &str) -> Vec<u8> {
    whole_subject(&der_of(pem)).unwrap()
}

/// The machine's system bundle, if it has one.
fn system_bundle() -> Option<Vec<u8>> {
    super::super::trust::SYSTEM_BUNDLES
        .iter()
        .find_map(|p| std::fs::read(p).ok())
}

/// `pem` with every certificate's base64 written again: `width` characters a line, lines
/// ending in `newline`.
fn relaid(pem: &[u8], width: usize, newline: &str) -> String {
    CertificateDer::pem_slice_iter(pem)
        .map(|der| {
            let text = base64::engine::general_purpose::STANDARD.encode(der.unwrap());
            let lines: Vec<&str> = text
                .as_bytes()
                .chunks(width)
                .map(|l| std::str::from_utf8(l).unwrap())
                .collect();
            format!(
                "-----BEGIN CERTIFICATE-----{newline}{}{newline}-----END CERTIFICATE-----{newline}",
                lines.join(newline)
            )
        })
        .collect()
}

/// The reference reader's certificates of `pem` whose subject is one of `subjects`.
fn reference_matches(pem: &[u8], subjects: &[&[u8]]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem)
        .map(Result::unwrap)
        .filter(|der| whole_subject(der).is_some_and(|s| subjects.contains(&s.as_slice())))
        .collect()
}

#[test]
fn finds_each_certificate_block_and_skips_the_rest() {
    let subject = subject_of(TEST_CA);
    let all = |pem: &[u8]| scan(pem, &[&subject]);
    let text = format!(
        "junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n# a comment\n\
         {TEST_CA}\n{TEST_CA}\
         -----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n\
         -----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    );
    let found = all(text.as_bytes());
    assert_eq!(found.certificates, 2);
    // The same DER as the SDK's (constant-time) PEM reader produces.
    let reference = der_of(TEST_CA);
    assert_eq!(found.matches, vec![reference.clone(), reference.clone()]);
    assert_eq!(all(b"").certificates, 0);
    assert_eq!(all(b"-----BEGIN CERTIFICATE-----\nAAAA").certificates, 0);
    // A block cut short does not swallow the next one.
    let cut = format!("-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}");
    assert_eq!(all(cut.as_bytes()).matches, vec![reference]);
}

#[test]
fn only_the_wanted_subjects_are_decoded_whole() {
    let text = format!("{TEST_CA}{INTERMEDIATE}{TEST_CA}");
    let found = scan(text.as_bytes(), &[b"no such name"]);
    assert_eq!((found.certificates, found.laid_out), (3, 3));
    assert!(found.matches.is_empty());
    assert_eq!(found.decoded_whole, 0);
    let intermediate = subject_of(INTERMEDIATE);
    let found = scan(text.as_bytes(), &[&intermediate]);
    assert_eq!(found.matches, vec![der_of(INTERMEDIATE)]);
    assert_eq!(found.decoded_whole, 1);
}

#[test]
fn every_layout_reads_the_same_and_the_usual_one_without_decoding_heads() {
    let mut pem = format!("{TEST_CA}{INTERMEDIATE}{LEAF}").into_bytes();
    pem.extend(system_bundle().unwrap_or_default());
    let usual = relaid(&pem, 64, "\n");
    let subjects = [
        subject_of(TEST_CA),
        subject_of(INTERMEDIATE),
        subject_of(LEAF),
    ];
    let subjects: Vec<&[u8]> = subjects.iter().map(Vec::as_slice).collect();
    let want = reference_matches(&pem, &subjects);
    assert_eq!(want.len(), 3);
    let found = scan(usual.as_bytes(), &subjects);
    assert_eq!(found.matches, want);
    assert_eq!(
        found.laid_out, found.certificates,
        "the usual layout is read as laid out"
    );
    // Other line lengths and CRLF: read the slow way, to the same certificates.
    for (width, newline) in [(76, "\n"), (64, "\r\n"), (60, "\n"), (4, "\n")] {
        let text = relaid(&pem, width, newline);
        let found = scan(text.as_bytes(), &subjects);
        assert_eq!(found.matches, want, "{width} {newline:?}");
        assert_eq!(found.laid_out, 0, "{width} {newline:?}");
        assert_eq!(found.certificates, scan(usual.as_bytes(), &[]).certificates);
    }
    // One line a character short and the next one longer: the subject's place is not where
    // the layout puts it, so that certificate is read the slow way, to the same answer.
    let mut lines: Vec<String> = relaid(INTERMEDIATE.as_bytes(), 64, "\n")
        .lines()
        .map(str::to_owned)
        .collect();
    let moved = lines[1].pop().unwrap();
    lines[2].insert(0, moved);
    let uneven = lines.join("\n") + "\n";
    let intermediate = subject_of(INTERMEDIATE);
    let found = scan(uneven.as_bytes(), &[&intermediate]);
    assert_eq!(found.matches, vec![der_of(INTERMEDIATE)]);
    assert_eq!(found.laid_out, 0);
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
    let small = format!(
        "# lead\n-----BEGIN CERTIFICATE-----\nAAAA\n{TEST_CA}-----BEGIN PRIVATE KEY-----\n\
         AAAA\n-----END PRIVATE KEY-----\n{TEST_CA}\n-----BEGIN CERTIFICATE-----\n!!\n\
         -----END CERTIFICATE-----\n{INTERMEDIATE}{TEST_CA}-----BEGIN CERTIFICATE-----\nAAAA"
    );
    let system = String::from_utf8(system_bundle().unwrap_or_default()).unwrap();
    let large = format!("{small}\n{system}{small}");
    // Every other subject of the bundle, and the test CA's.
    let mut subjects: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(large.as_bytes())
        .filter_map(|der| whole_subject(&der.ok()?))
        .step_by(2)
        .collect();
    subjects.push(subject_of(TEST_CA));
    let subjects: Vec<&[u8]> = subjects.iter().map(Vec::as_slice).collect();
    // Pieces smaller than one certificate, cutting markers and lines anywhere, and larger;
    // reads of a byte at a time and of whatever fits.
    let cases: [(&str, &[usize], &[usize]); 2] = [
        (&small, &[7, 64, 1000], &[1, 13, usize::MAX]),
        (&large, &[64, 4093, CHUNK, 1 << 20], &[4096, usize::MAX]),
    ];
    for (text, chunks, steps) in cases {
        let whole = scan(text.as_bytes(), &subjects);
        assert!(whole.certificates >= 4 && whole.matches.len() >= 3);
        for (&chunk, &step) in chunks
            .iter()
            .flat_map(|c| steps.iter().map(move |s| (c, s)))
        {
            let reader = Trickle {
                text: text.as_bytes(),
                step,
            };
            let pieces = scan_reader(reader, chunk, &subjects).unwrap();
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
    let subject = subject_of(TEST_CA);
    let found = scan_file(&path, &[&subject]).unwrap();
    assert_eq!(found.certificates, 2);
    assert_eq!(found.matches.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(scan_file(&path, &[&subject]).is_err());
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
fn the_system_bundle_of_this_machine_reads_like_the_sdk_reader_and_webpki() {
    // Whatever bundle this machine has, as it is: each subject webpki reads finds exactly the
    // reference reader's certificates with that subject, nearly all read as laid out.
    let Some(pem) = system_bundle() else {
        return;
    };
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
    let none = scan(&pem, &[]);
    assert_eq!(none.certificates, expected.len());
    assert_eq!(none.decoded_whole, 0);
    assert!(none.laid_out * 10 >= none.certificates * 9, "{none:?}");
    for subject in &expected {
        let found = scan(&pem, &[subject]);
        assert_eq!(found.matches, reference_matches(&pem, &[subject]));
        assert!(!found.matches.is_empty());
    }
}
