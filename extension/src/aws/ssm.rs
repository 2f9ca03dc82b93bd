//! SSM Parameter Store: GetParameter into our [`Parameter`].

use super::errors::{empty_answer, upstream_error};
use super::rfc3339;
use crate::model::{
    Parameter, ParameterRequest, ParametersFound, ParametersRequest, PathRequest, Selector,
    Service, UpstreamError,
};

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
        .map_err(|e| upstream_error(Service::Ssm, "GetParameter", e))?;
    let parameter = output
        .parameter
        .ok_or_else(|| empty_answer(Service::Ssm, "GetParameter"))?;
    Ok(convert(parameter, selector))
}

/// GetParameters: at most 10 names, as AWS allows (the caller chunks).
pub async fn get_parameters(
    client: &aws_sdk_ssm::Client,
    request: &ParametersRequest,
) -> Result<ParametersFound, UpstreamError> {
    let output = client
        .get_parameters()
        .set_names(Some(request.names.clone()))
        .with_decryption(request.with_decryption)
        .send()
        .await
        .map_err(|e| upstream_error(Service::Ssm, "GetParameters", e))?;
    Ok(ParametersFound {
        parameters: output
            .parameters
            .unwrap_or_default()
            .into_iter()
            .map(|p| convert(p, None))
            .collect(),
        invalid: output.invalid_parameters.unwrap_or_default(),
    })
}

/// All pages of GetParametersByPath (at most 10 parameters a page, as AWS allows).
pub async fn get_parameters_by_path(
    client: &aws_sdk_ssm::Client,
    request: &PathRequest,
) -> Result<Vec<Parameter>, UpstreamError> {
    let mut parameters = Vec::new();
    let mut next_token = None;
    loop {
        let output = client
            .get_parameters_by_path()
            .path(&request.path)
            .recursive(request.recursive)
            .with_decryption(request.with_decryption)
            .max_results(10)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| upstream_error(Service::Ssm, "GetParametersByPath", e))?;
        parameters.extend(
            output
                .parameters
                .unwrap_or_default()
                .into_iter()
                .map(|p| convert(p, None)),
        );
        next_token = output.next_token.filter(|t| !t.is_empty());
        if next_token.is_none() {
            return Ok(parameters);
        }
    }
}

fn convert(parameter: aws_sdk_ssm::types::Parameter, selector: Option<String>) -> Parameter {
    Parameter {
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
    }
}
