//! Request bodies in (JSON, YAML, protobuf) with strict field validation, and the
//! content-type rules of upstream's negotiation.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tether_api::ApiError;
use tether_api::resources::Resource;

/// Largest request body accepted (`MaxRequestBodyBytes`, 3 MiB upstream).
pub(crate) const MAX_BODY: usize = 3 * 1024 * 1024;

/// `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    /// Drop unknown fields silently.
    Ignore,
    /// Drop them and warn.
    Warn,
    /// Reject with 400.
    Strict,
}

impl FieldValidation {
    pub(crate) fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// The media type without parameters, lowercased.
pub(crate) fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decodes a create/update body to JSON.
pub(crate) fn decode_body(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let mt = media_type(content_type);
    match mt.as_str() {
        "" | "application/json" | "*/*" => {
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("json: {e}")))
        }
        "application/yaml" | "application/apply-patch+yaml" => decode_yaml(body),
        tether_api::protobuf::CONTENT_TYPE => tether_api::protobuf::decode(body)
            .map_err(|e| ApiError::bad_request(format!("protobuf: {e}"))),
        _ => Err(ApiError::unsupported_media_type(content_type)),
    }
}

/// Decodes YAML (a superset of JSON) to JSON.
pub(crate) fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    serde_norway::from_slice::<Value>(body).map_err(|e| ApiError::bad_request(format!("yaml: {e}")))
}

fn unknown_fields<T: DeserializeOwned>(v: &Value) -> Result<Vec<String>, String> {
    let mut unknown = Vec::new();
    let r: Result<T, _> = serde_ignored::deserialize(v.clone(), |path| {
        unknown.push(render_path(&path.to_string()));
    });
    r.map_err(|e| e.to_string())?;
    Ok(unknown)
}

/// `spec.ports.0.foo` → `spec.ports[0].foo`, as upstream prints field paths.
fn render_path(p: &str) -> String {
    let mut out = String::new();
    // serde_ignored prints `?` for an Option layer and `?` again for newtypes: not fields.
    for seg in p.split('.').filter(|s| *s != "?") {
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// Checks a body against its kind's schema: type errors are 400; unknown fields are 400 under
/// `Strict`, warnings under `Warn`. Returns the warnings.
pub(crate) fn check_fields(
    r: &Resource,
    v: &Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    use k8s_openapi::api::{apps, coordination, core, discovery};
    let res = match r.kind {
        "Namespace" => unknown_fields::<core::v1::Namespace>(v),
        "Service" => unknown_fields::<core::v1::Service>(v),
        "Endpoints" => unknown_fields::<core::v1::Endpoints>(v),
        "Pod" => unknown_fields::<core::v1::Pod>(v),
        "Node" => unknown_fields::<core::v1::Node>(v),
        "Event" => unknown_fields::<core::v1::Event>(v),
        "ConfigMap" => unknown_fields::<core::v1::ConfigMap>(v),
        "Secret" => unknown_fields::<core::v1::Secret>(v),
        "ServiceAccount" => unknown_fields::<core::v1::ServiceAccount>(v),
        "Deployment" => unknown_fields::<apps::v1::Deployment>(v),
        "ReplicaSet" => unknown_fields::<apps::v1::ReplicaSet>(v),
        "EndpointSlice" => unknown_fields::<discovery::v1::EndpointSlice>(v),
        "Lease" => unknown_fields::<coordination::v1::Lease>(v),
        _ => Ok(Vec::new()),
    };
    let unknown = res.map_err(|e| {
        ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: {e}",
            r.kind, r.version, r.kind
        ))
    })?;
    if unknown.is_empty() || mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let msgs: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    if mode == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            msgs.join(", ")
        )));
    }
    Ok(msgs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_unknown_fields() {
        let svc = tether_api::resources::find("", "v1", "services").unwrap();
        let v = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                        "spec": {"foo": 1, "ports": [{"port": 80, "bar": true}]}});
        let err = check_fields(svc, &v, FieldValidation::Strict).unwrap_err();
        assert_eq!(
            err.message,
            r#"strict decoding error: unknown field "spec.foo", unknown field "spec.ports[0].bar""#
        );
        let warn = check_fields(svc, &v, FieldValidation::Warn).unwrap();
        assert_eq!(warn.len(), 2);
        let bad = json!({"spec": {"ports": [{"port": "eighty"}]}});
        assert_eq!(
            check_fields(svc, &bad, FieldValidation::Ignore)
                .unwrap_err()
                .code,
            400
        );
    }
}
