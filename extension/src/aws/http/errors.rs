//! What a failed upstream exchange means: the SDK's error kind (which decides its retries and
//! our 502/504), and whether it was a pooled connection that had died (retried at once).

use std::error::Error;
use std::io::ErrorKind as IoKind;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::retry::ErrorKind;

/// A connect or read timeout of ours.
#[derive(Debug)]
pub(super) struct TimedOut(pub(super) &'static str);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} timed out", self.0)
    }
}

impl Error for TimedOut {}

/// Each error of the chain. After an `io::Error` comes its payload (`source()` would skip it).
fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |&error| {
        match error.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
            None => error.source(),
        }
    })
}

fn find<'a, E: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a E> {
    chain(error).find_map(|e| e.downcast_ref::<E>())
}

/// The SDK's classification, as its own hyper connector makes it: timeouts, I/O (retried
/// with backoff), a truncated answer (transient), anything else unknown.
pub(super) fn to_connector_error(error: BoxError) -> ConnectorError {
    if find::<TimedOut>(error.as_ref()).is_some() {
        return ConnectorError::timeout(error);
    }
    if let Some(hyper) = find::<hyper::Error>(error.as_ref()) {
        if hyper.is_timeout() {
            return ConnectorError::timeout(error);
        }
        if hyper.is_user() {
            return ConnectorError::user(error);
        }
        if hyper.is_incomplete_message() {
            return ConnectorError::other(error, Some(ErrorKind::TransientError));
        }
        if hyper.is_closed() || hyper.is_canceled() {
            return ConnectorError::io(error);
        }
    }
    let connect = find::<hyper_util::client::legacy::Error>(error.as_ref())
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    if connect || find::<std::io::Error>(error.as_ref()).is_some() {
        return ConnectorError::io(error);
    }
    ConnectorError::other(error, None)
}

/// Why an established connection gave way under a request (for the log line), or `None` for
/// every other failure. A connection that died while the environment was frozen answers its
/// first reuse with a reset, or closes before the answer; a new connection failing to open is
/// not this (the SDK's retry, with backoff, handles that).
pub(super) fn dead_connection(error: &(dyn Error + 'static)) -> Option<&'static str> {
    if find::<hyper_util::client::legacy::Error>(error).is_some_and(|e| e.is_connect()) {
        return None;
    }
    if find::<TimedOut>(error).is_some() {
        return None;
    }
    if let Some(hyper) = find::<hyper::Error>(error) {
        if hyper.is_incomplete_message() {
            return Some("closed before the answer");
        }
        if hyper.is_canceled() {
            return Some("closed before the request was sent");
        }
    }
    chain(error)
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .find_map(|io| match io.kind() {
            IoKind::ConnectionReset => Some("reset by the peer"),
            IoKind::ConnectionAborted => Some("aborted"),
            IoKind::BrokenPipe => Some("broken pipe"),
            IoKind::UnexpectedEof => Some("closed mid-answer"),
            IoKind::NotConnected => Some("not connected"),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(BoxError);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("request failed")
        }
    }

    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.0.as_ref())
        }
    }

    fn wrapped(kind: IoKind) -> BoxError {
        Box::new(Wrapper(Box::new(std::io::Error::from(kind))))
    }

    #[test]
    fn a_reset_or_broken_pipe_anywhere_in_the_chain_is_a_dead_connection() {
        for kind in [
            IoKind::ConnectionReset,
            IoKind::BrokenPipe,
            IoKind::UnexpectedEof,
        ] {
            assert!(
                dead_connection(wrapped(kind).as_ref()).is_some(),
                "{kind:?}"
            );
        }
        // Inside an io::Error's payload too (as TLS streams wrap them).
        let nested = std::io::Error::other(std::io::Error::from(IoKind::ConnectionReset));
        assert!(dead_connection(&nested).is_some());
    }

    #[test]
    fn other_failures_are_not_retried_at_once() {
        for kind in [
            IoKind::ConnectionRefused,
            IoKind::InvalidData,
            IoKind::TimedOut,
        ] {
            assert_eq!(dead_connection(wrapped(kind).as_ref()), None, "{kind:?}");
        }
        let timeout: BoxError = Box::new(Wrapper(Box::new(TimedOut("read"))));
        assert_eq!(dead_connection(timeout.as_ref()), None);
    }

    #[test]
    fn classification_follows_the_sdk_connector() {
        let timeout: BoxError = Box::new(TimedOut("connect"));
        assert!(to_connector_error(timeout).is_timeout());
        assert!(to_connector_error(wrapped(IoKind::ConnectionReset)).is_io());
        let unknown: BoxError = "something else".into();
        let unknown = to_connector_error(unknown);
        assert!(unknown.is_other() && unknown.as_other().is_none());
    }
}
