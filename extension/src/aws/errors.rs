//! SDK errors into [`UpstreamError`]: only what classification needs, no SDK types past here.

use crate::model::{Service, UpstreamError, UpstreamErrorKind};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Long SDK error chains are trimmed: enough to diagnose, not a wall of text in a response.
const MAX_MESSAGE: usize = 300;

pub fn upstream_error<E>(service: Service, error: SdkError<E, Response>) -> UpstreamError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = match &error {
        SdkError::TimeoutError(_) => UpstreamErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => UpstreamErrorKind::Timeout,
        SdkError::DispatchFailure(_) => UpstreamErrorKind::Unreachable,
        // An answer the SDK could not parse (moto answers some JSON APIs in XML): the status
        // is all there is to go on.
        SdkError::ResponseError(response) => UpstreamErrorKind::Service {
            code: None,
            status: response.raw().status().as_u16(),
        },
        SdkError::ServiceError(service_error) => UpstreamErrorKind::Service {
            code: service_error.err().code().map(str::to_owned),
            status: service_error.raw().status().as_u16(),
        },
        SdkError::ConstructionFailure(_) => UpstreamErrorKind::Invalid,
        _ => UpstreamErrorKind::Unreachable,
    };
    let message = match &error {
        SdkError::ServiceError(e) => e.err().message().map(str::to_owned),
        _ => None,
    }
    .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
    UpstreamError {
        service,
        kind,
        message: message.chars().take(MAX_MESSAGE).collect(),
    }
}

/// A successful call whose answer lacked the value (never seen from AWS; guards the unwrap).
pub fn empty_answer(service: Service) -> UpstreamError {
    UpstreamError {
        service,
        kind: UpstreamErrorKind::Service {
            code: None,
            status: 502,
        },
        message: "the answer held no value".to_owned(),
    }
}
