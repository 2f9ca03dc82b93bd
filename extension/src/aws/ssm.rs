//! SSM Parameter Store: GetParameter into our [`Parameter`].

use super::errors::{empty_answer, upstream_error};
use super::rfc3339;
use crate::model::{Parameter, ParameterRequest, Selector, Service, UpstreamError};

pub async fn get_parameter(
    client: &aws_sdk_ssm::Client,
    request: &ParameterRequest,
) -> Result<Parameter, UpstreamError> {
    let selector = request.selector.as_ref().map(Selector::suffix);
    let name = format!("{}{}", request.name, selector.as_deref().unwrap_or(""));
    let output = client
        .get_parameter()
        .name(name)
        .with_decryption(request.with_decryption)
        .send()
        .await
        .map_err(|e| upstream_error(Service::Ssm, e))?;
    let parameter = output.parameter.ok_or_else(|| empty_answer(Service::Ssm))?;
    Ok(Parameter {
        arn: parameter.arn,
        data_type: parameter.data_type,
        last_modified_date: parameter.last_modified_date.as_ref().and_then(rfc3339),
        name: parameter.name,
        // AWS echoes the selector asked for; some implementations (moto) leave it out.
        selector: parameter.selector.or(selector),
        source_result: parameter.source_result,
        kind: parameter.r#type.map(|t| t.as_str().to_owned()),
        value: parameter.value,
        version: Some(parameter.version),
    })
}
