//! API errors as upstream `Status` objects (`apimachinery/pkg/api/errors/errors.go`).
//!
//! Every failure the API server returns is an [`ApiError`]; handlers never build a Status by
//! hand. Messages follow upstream's formats byte for byte, because kubectl prints them as is.

use serde_json::{Value, json};

use crate::field::{FieldError, aggregate};
use crate::resources::Resource;

/// A `Status` cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `type` (`FieldValueInvalid`, ...), empty when unset.
    pub reason: String,
    /// Human message.
    pub message: String,
    /// Field path, empty when unset.
    pub field: String,
}

/// `details` of a `Status`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Details {
    /// `details.name`.
    pub name: Option<String>,
    /// `details.group`.
    pub group: Option<String>,
    /// `details.kind` (the resource plural for most errors, the Kind for Invalid).
    pub kind: Option<String>,
    /// `details.causes`.
    pub causes: Vec<Cause>,
    /// `details.retryAfterSeconds`.
    pub retry_after: Option<u32>,
    /// `metadata.continue` of the Status (an expired list's token to go on inconsistently).
    pub list_continue: Option<String>,
}

/// An error answered as a `Status`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `reason` (`NotFound`, `Invalid`, ...).
    pub reason: &'static str,
    /// `message`.
    pub message: String,
    /// `details` (boxed: errors travel in `Result`s on hot paths).
    pub details: Box<Details>,
}

/// A group and resource plural, displayed as upstream's `GroupResource.String()`:
/// `services`, `deployments.apps`.
pub fn group_resource(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_owned()
    } else {
        format!("{plural}.{group}")
    }
}

/// A group and kind, displayed as `GroupKind.String()`: `Service`, `Deployment.apps`.
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    }
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: Box::default(),
        }
    }

    fn with_resource(mut self, r: &Resource, name: &str) -> Self {
        self.details.name = (!name.is_empty()).then(|| name.to_owned());
        self.details.group = (!r.group.is_empty()).then(|| r.group.to_owned());
        self.details.kind = Some(r.plural.to_owned());
        self
    }

    /// 404 `services "nope" not found`.
    pub fn not_found(r: &Resource, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!(
                "{} {} not found",
                group_resource(r.group, r.plural),
                crate::field::BadValue::quote(name)
            ),
        )
        .with_resource(r, name)
    }

    /// 404 for a group/resource we know only by name (e.g. a missing namespace).
    pub fn not_found_named(group: &str, plural: &str, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!(
                "{} {} not found",
                group_resource(group, plural),
                crate::field::BadValue::quote(name)
            ),
        );
        e.details.name = Some(name.to_owned());
        e.details.group = (!group.is_empty()).then(|| group.to_owned());
        e.details.kind = Some(plural.to_owned());
        e
    }

    /// 404 for a path that names no resource.
    pub fn path_not_found() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details.causes.push(Cause {
            reason: "UnexpectedServerResponse".into(),
            message: "404 page not found".into(),
            field: String::new(),
        });
        e
    }

    /// 409 `services "web" already exists`.
    pub fn already_exists(r: &Resource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!(
                "{} {} already exists",
                group_resource(r.group, r.plural),
                crate::field::BadValue::quote(name)
            ),
        )
        .with_resource(r, name)
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn conflict(r: &Resource, name: &str) -> Self {
        Self::conflict_msg(
            r,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict with a custom reason text.
    pub fn conflict_msg(r: &Resource, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {}: {why}",
                group_resource(r.group, r.plural),
                crate::field::BadValue::quote(name)
            ),
        )
        .with_resource(r, name)
    }

    /// 409 Conflict of a server-side apply: `causes` are (message, field) pairs of type
    /// `FieldManagerConflict`.
    pub fn apply_conflict(message: String, causes: Vec<(String, String)>) -> Self {
        let mut e = Self::new(409, "Conflict", message);
        e.details.causes = causes
            .into_iter()
            .map(|(message, field)| Cause {
                reason: "FieldManagerConflict".to_owned(),
                message,
                field,
            })
            .collect();
        e
    }

    /// 422 Invalid with one cause per field error.
    pub fn invalid(r: &Resource, name: &str, errs: &[FieldError]) -> Self {
        let gk = group_kind(r.group, r.kind);
        let q = crate::field::BadValue::quote(name);
        let message = if errs.is_empty() {
            format!("{gk} {q} is invalid")
        } else {
            format!("{gk} {q} is invalid: {}", aggregate(errs))
        };
        let mut e = Self::new(422, "Invalid", message);
        e.details.name = Some(name.to_owned());
        e.details.group = (!r.group.is_empty()).then(|| r.group.to_owned());
        e.details.kind = Some(r.kind.to_owned());
        e.details.causes = errs
            .iter()
            .map(|f| Cause {
                reason: f.kind.cause_type().to_owned(),
                message: f.body(),
                field: f.field.clone(),
            })
            .collect();
        e
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 403 Forbidden: `services "x" is forbidden: <why>`.
    pub fn forbidden(r: &Resource, name: &str, why: &str) -> Self {
        let gr = group_resource(r.group, r.plural);
        let message = if name.is_empty() {
            format!("{gr} is forbidden: {why}")
        } else {
            format!(
                "{gr} {} is forbidden: {why}",
                crate::field::BadValue::quote(name)
            )
        };
        Self::new(403, "Forbidden", message).with_resource(r, name)
    }

    /// 410 Expired (watch or continue from a compacted revision).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413 RequestEntityTooLarge.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type})"
            ),
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_supported(r: &Resource, action: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!(
                "{action} is not supported on resources of kind {}",
                crate::field::BadValue::quote(&group_resource(r.group, r.plural))
            ),
        )
        .with_resource(r, "")
    }

    /// 500 InternalError.
    pub fn internal(why: impl std::fmt::Display) -> Self {
        let why = why.to_string();
        let mut e = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {why}"),
        );
        e.details.causes.push(Cause {
            reason: String::new(),
            message: why,
            field: String::new(),
        });
        e
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 504 Timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// 503 ServiceUnavailable (the store is unreachable).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut st = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        });
        let mut details = serde_json::Map::new();
        if let Some(n) = &self.details.name {
            details.insert("name".into(), json!(n));
        }
        if let Some(g) = &self.details.group {
            details.insert("group".into(), json!(g));
        }
        if let Some(k) = &self.details.kind {
            details.insert("kind".into(), json!(k));
        }
        if !self.details.causes.is_empty() {
            let causes: Vec<Value> = self
                .details
                .causes
                .iter()
                .map(|c| {
                    let mut m = serde_json::Map::new();
                    if !c.reason.is_empty() {
                        m.insert("reason".into(), json!(c.reason));
                    }
                    m.insert("message".into(), json!(c.message));
                    if !c.field.is_empty() {
                        m.insert("field".into(), json!(c.field));
                    }
                    Value::Object(m)
                })
                .collect();
            details.insert("causes".into(), Value::Array(causes));
        }
        if let Some(r) = self.details.retry_after {
            details.insert("retryAfterSeconds".into(), json!(r));
        }
        if !details.is_empty() {
            st["details"] = Value::Object(details);
        }
        if let Some(c) = &self.details.list_continue {
            st["metadata"]["continue"] = json!(c);
        }
        st["code"] = json!(self.code);
        st
    }
}

/// A success `Status` (returned by some deletes).
pub fn success(r: &Resource, name: &str, uid: &str) -> Value {
    let mut details = json!({"name": name, "kind": r.plural, "uid": uid});
    if !r.group.is_empty() {
        details["group"] = json!(r.group);
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    })
}
