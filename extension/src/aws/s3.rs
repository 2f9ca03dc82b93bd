//! S3: GetObject (conditional when revalidating) into a metadata record and a chunked body.

use super::errors::upstream_error;
use super::rfc3339;
use crate::model::{
    ObjectBody, ObjectFetch, ObjectMeta, ObjectPresentation, ObjectRequest, Service, UpstreamError,
    UpstreamErrorKind,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::result::SdkError;

pub async fn get_object(
    client: &aws_sdk_s3::Client,
    request: &ObjectRequest,
    if_none_match: Option<&str>,
) -> Result<ObjectFetch, UpstreamError> {
    let result = client
        .get_object()
        .bucket(&request.bucket)
        .key(&request.key)
        .set_version_id(request.version_id.clone())
        .set_if_none_match(if_none_match.map(str::to_owned))
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        // A 304 has no error code; the SDK reports it as a service error (shared notes).
        Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 304 => {
            return Ok(ObjectFetch::NotModified)
        }
        Err(e) => return Err(upstream_error(Service::S3, "GetObject", e)),
    };
    let meta = ObjectMeta {
        version_id: output.version_id,
        etag: output.e_tag,
        content_length: output.content_length.and_then(|n| u64::try_from(n).ok()),
        last_modified: output.last_modified.as_ref().and_then(rfc3339),
        content_type: output.content_type,
        presentation: ObjectPresentation {
            metadata: output.metadata.unwrap_or_default().into_iter().collect(),
            cache_control: output.cache_control,
            content_disposition: output.content_disposition,
            content_encoding: output.content_encoding,
            content_language: output.content_language,
        },
    };
    Ok(ObjectFetch::Body(
        Box::new(meta),
        Box::new(Body(output.body)),
    ))
}

struct Body(ByteStream);

#[async_trait::async_trait]
impl ObjectBody for Body {
    async fn next_chunk(&mut self) -> Result<Option<bytes::Bytes>, UpstreamError> {
        self.0.try_next().await.map_err(|e| UpstreamError {
            service: Service::S3,
            kind: UpstreamErrorKind::Unreachable,
            message: format!("S3 GetObject failed: reading the object was cut off ({e})"),
        })
    }
}
