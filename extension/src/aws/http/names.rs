//! The issuer and subject names of an X.509 certificate, read from its DER without parsing the
//! rest: what it takes to tell which trust anchors a chain can use (`roots.rs`).
//!
//! A name is returned as webpki holds it: the contents of the `Name` SEQUENCE, without its tag
//! and length, so the bytes compare equal exactly when webpki's path building would match them.
//! The prefix of a certificate is enough: a name is read as soon as its bytes are there
//! (`Problem::Short` asks for more).

/// Why no name was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Problem {
    /// The input ends before the name does: a longer prefix may have it.
    Short,
    /// Not DER of a certificate as far as it was read.
    Malformed,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// `[0] EXPLICIT Version`, absent in a v1 certificate.
const VERSION: u8 = 0xa0;

/// `(issuer, subject)` of the certificate whose DER starts `der`.
///
/// ```text
/// Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, ... }
/// TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber INTEGER,
///     signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name, ... }
/// ```
pub(super) fn issuer_and_subject(der: &[u8]) -> Result<(&[u8], &[u8]), Problem> {
    // The two outer SEQUENCEs: only their headers, their ends may lie beyond the prefix.
    let rest = enter(der, SEQUENCE)?;
    let mut rest = enter(rest, SEQUENCE)?;
    if rest.first() == Some(&VERSION) {
        rest = element(rest, VERSION)?.1;
    }
    let (_, rest) = element(rest, INTEGER)?;
    let (_, rest) = element(rest, SEQUENCE)?;
    let (issuer, rest) = element(rest, SEQUENCE)?;
    let (_, rest) = element(rest, SEQUENCE)?;
    let (subject, _) = element(rest, SEQUENCE)?;
    Ok((issuer, subject))
}

/// The most bytes an element's header takes: its tag, the length's form, four length bytes.
pub(super) const MAX_HEADER: usize = 6;

/// Where the parts of a certificate's DER lie, for a reader that decodes only what it is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outline {
    /// The whole DER's length, its outer header included.
    pub(super) length: usize,
    /// The subject name's contents, as `issuer_and_subject` returns them.
    pub(super) subject: std::ops::Range<usize>,
}

/// The outline of a certificate whose DER `header_at(at, buf)` reads: it fills `buf` with the
/// `MAX_HEADER` bytes from offset `at` (`None`: it cannot). The walk of `issuer_and_subject`,
/// reading only the headers and stepping over the contents between them; `None` for what it
/// would not read.
pub(super) fn outline(
    mut header_at: impl FnMut(usize, &mut [u8; MAX_HEADER]) -> Option<()>,
) -> Option<Outline> {
    let mut buf = [0u8; MAX_HEADER];
    // (header length, contents length) of the element at `at`, whose tag must be `tag`.
    let mut element = |at: usize, tag: u8| -> Option<(usize, usize)> {
        header_at(at, &mut buf)?;
        let (length, rest) = header(&buf, tag).ok()?;
        Some((MAX_HEADER - rest.len(), length))
    };
    let (outer, length) = element(0, SEQUENCE)?;
    let (tbs, _) = element(outer, SEQUENCE)?;
    let mut at = outer + tbs;
    if let Some((header, contents)) = element(at, VERSION) {
        at += header + contents;
    }
    for tag in [INTEGER, SEQUENCE, SEQUENCE, SEQUENCE] {
        let (header, contents) = element(at, tag)?;
        at += header + contents;
    }
    let (header, contents) = element(at, SEQUENCE)?;
    let subject = at + header..at + header + contents;
    (subject.end <= outer + length).then_some(Outline {
        length: outer + length,
        subject,
    })
}

/// The issuer name alone (of a certificate received whole).
pub(super) fn issuer(der: &[u8]) -> Result<&[u8], Problem> {
    issuer_and_subject(der).map(|(issuer, _)| issuer)
}

/// The contents of an element with tag `tag` at the start of `input`, and what follows it.
fn element(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), Problem> {
    let (length, body) = header(input, tag)?;
    if body.len() < length {
        return Err(Problem::Short);
    }
    Ok(body.split_at(length))
}

/// Past the header of an element with tag `tag`: its contents onward, however much is there.
fn enter(input: &[u8], tag: u8) -> Result<&[u8], Problem> {
    header(input, tag).map(|(_, body)| body)
}

/// `(length, bytes after the header)`: DER's definite lengths, short or long form (up to four
/// length bytes, minimal, as DER requires).
fn header(input: &[u8], tag: u8) -> Result<(usize, &[u8]), Problem> {
    let [first, form, rest @ ..] = input else {
        return Err(Problem::Short);
    };
    if *first != tag {
        return Err(Problem::Malformed);
    }
    if form & 0x80 == 0 {
        return Ok((usize::from(*form), rest));
    }
    let count = usize::from(form & 0x7f);
    if count == 0 || count > 4 {
        return Err(Problem::Malformed);
    }
    if rest.len() < count {
        return Err(Problem::Short);
    }
    let (bytes, rest) = rest.split_at(count);
    if bytes[0] == 0 {
        return Err(Problem::Malformed);
    }
    let length = bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
    if length < 0x80 {
        return Err(Problem::Malformed);
    }
    Ok((length, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate's names, built by hand: a v3 header, serial 5, an algorithm, the names.
    fn certificate(version: bool, issuer: &[u8], subject: &[u8]) -> Vec<u8> {
        let mut tbs = Vec::new();
        if version {
            tbs.extend([0xa0, 0x03, 0x02, 0x01, 0x02]);
        }
        tbs.extend([0x02, 0x01, 0x05]);
        tbs.extend([0x30, 0x03, 0x06, 0x01, 0x2a]);
        tbs.extend(wrap(SEQUENCE, issuer));
        tbs.extend(wrap(SEQUENCE, &[0x17, 0x00]));
        tbs.extend(wrap(SEQUENCE, subject));
        tbs.extend(wrap(SEQUENCE, &[0x05, 0x00]));
        wrap(SEQUENCE, &wrap(SEQUENCE, &tbs))
    }

    fn wrap(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match contents.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend(contents);
        out
    }

    #[test]
    fn names_of_v3_and_v1_certificates_short_and_long_lengths() {
        let long = vec![0x31; 300];
        for version in [true, false] {
            let der = certificate(version, b"\x31\x00issuer", &long);
            assert_eq!(
                issuer_and_subject(&der),
                Ok((&b"\x31\x00issuer"[..], &long[..]))
            );
        }
    }

    #[test]
    fn a_prefix_is_enough_once_the_subject_is_in_it_and_short_before() {
        let der = certificate(true, b"iss", b"sub");
        let end = der.windows(3).position(|w| w == b"sub").unwrap() + 3;
        assert_eq!(
            issuer_and_subject(&der[..end]),
            Ok((&b"iss"[..], &b"sub"[..]))
        );
        for cut in 0..end {
            assert_eq!(
                issuer_and_subject(&der[..cut]),
                Err(Problem::Short),
                "{cut}"
            );
        }
    }

    /// `outline` reading `der` through its callback, as the PEM reader does.
    fn outline_of(der: &[u8]) -> Option<Outline> {
        outline(|at, buf| {
            buf.copy_from_slice(der.get(at..at + MAX_HEADER)?);
            Some(())
        })
    }

    #[test]
    fn the_outline_finds_the_subject_issuer_and_subject_read() {
        let long = vec![0x31; 300];
        for version in [true, false] {
            for subject in [&b"sub"[..], &long] {
                let der = certificate(version, b"\x31\x00issuer", subject);
                let (_, read) = issuer_and_subject(&der).unwrap();
                let outline = outline_of(&der).unwrap();
                assert_eq!(outline.length, der.len());
                assert_eq!(&der[outline.subject], read);
            }
        }
        let mut der = certificate(true, b"iss", b"sub");
        der[9] = 0x04; // the serial's INTEGER tag
        assert_eq!(outline_of(&der), None);
        assert_eq!(outline_of(&der[..12]), None, "cut short");
    }

    #[test]
    fn what_is_not_a_certificate_is_malformed() {
        assert_eq!(issuer(b"\x04\x00"), Err(Problem::Malformed));
        // Indefinite, non-minimal and over-long lengths are not DER.
        for bad in [
            &b"\x30\x80"[..],
            b"\x30\x81\x05",
            b"\x30\x82\x00\x90",
            b"\x30\x85",
        ] {
            assert_eq!(issuer(bad), Err(Problem::Malformed), "{bad:?}");
        }
        let mut der = certificate(true, b"iss", b"sub");
        der[9] = 0x04; // the serial's INTEGER tag
        assert_eq!(issuer(&der), Err(Problem::Malformed));
    }
}
