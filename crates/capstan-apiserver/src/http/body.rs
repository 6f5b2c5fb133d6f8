//! Request body decoding by Content-Type.

use axum::body::Bytes;
use serde_json::Value;

use super::MAX_BODY;
use crate::error::{ApiError, ApiResult};
use crate::ops::PatchType;

/// The media type without parameters, lower-cased.
pub fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn check_size(body: &Bytes) -> ApiResult<()> {
    if body.len() > MAX_BODY {
        return Err(ApiError::too_large());
    }
    Ok(())
}

pub fn parse_json(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding JSON body: {e}")))
}

pub fn parse_yaml(body: &Bytes) -> ApiResult<Value> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the YAML body is not valid UTF-8"))?;
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML body: {e}")))
}

/// Decode an object body (create / update).
pub fn decode_object(ct: &str, body: &Bytes) -> ApiResult<Value> {
    check_size(body)?;
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    match media_type(ct).as_str() {
        "" | "application/json" | "*/*" => parse_json(body),
        "application/yaml" | "application/x-yaml" | "text/yaml" => parse_yaml(body),
        "application/vnd.kubernetes.protobuf" => super::protobuf::decode(body),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

/// Decode a PATCH body and its type.
pub fn decode_patch(ct: &str, body: &Bytes, force: bool) -> ApiResult<(PatchType, Value)> {
    check_size(body)?;
    let pt = match media_type(ct).as_str() {
        "application/json-patch+json" => PatchType::Json,
        "application/merge-patch+json" => PatchType::Merge,
        "application/strategic-merge-patch+json" => PatchType::Strategic,
        "application/apply-patch+yaml"
        | "application/apply-patch+json"
        | "application/apply-patch+cbor" => PatchType::Apply { force },
        other => {
            return Err(ApiError::unsupported_media_type(if other.is_empty() {
                "(none)"
            } else {
                other
            }));
        }
    };
    let v = match pt {
        PatchType::Apply { .. } => parse_yaml(body)?,
        _ => parse_json(body)?,
    };
    Ok((pt, v))
}
