//! PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and the Kubernetes
//! strategic merge patch, plus the merge behind `kubectl apply --server-side`.
//!
//! Pure functions on `serde_json::Value`; no other module of this crate is used. Behaviour and
//! error texts follow kube-apiserver (`k8s.io/apiserver/pkg/endpoints/handlers/patch.go`) and
//! `k8s.io/apimachinery/pkg/util/strategicpatch`:
//!
//! | body | upstream answer | here |
//! |---|---|---|
//! | not JSON (any patch type) | 400 `invalid JSON patch` | [`PatchError::InvalidJson`] |
//! | JSON patch not a list of objects | 400 `json: cannot unmarshal …` | [`PatchError::JsonPatchDecode`] |
//! | JSON patch of more than 10000 operations | 413 | [`PatchError::TooManyOperations`] |
//! | JSON patch operation that fails (unknown op, missing path, failed `test`…) | 422 Invalid, message `the server rejected our request due to an error in our request` (the detail is not sent) | [`PatchError::JsonPatchApply`] |
//! | merge patch not an object | 400 `Invalid JSON Patch` | [`PatchError::InvalidMergePatch`] |
//! | strategic merge patch not an object | 400 `json: cannot unmarshal array into Go value of type map[string]interface {}` | [`PatchError::NotAnObject`] |
//! | malformed `$retainKeys`, `$setElementOrder`, `$deleteFromPrimitiveList` | 400 `invalid patch format of …` | [`PatchError::BadStrategicPatch`] |
//! | list of lists | 422 | [`PatchError::UnprocessableStrategicPatch`] |
//! | any other merge error (`unknown patch type: foo in map: map[…]`, `map: map[name:a] does not contain declared merge key: port`, …) | 500, empty reason, the error text as message (kubectl prints `Error from server: <text>`) | [`PatchError::StrategicMerge`] |
//!
//! [`PatchError::code`], [`PatchError::reason`] and [`PatchError::status_message`] give the
//! `Status` fields to answer with.
//!
//! Custom resources: upstream does not offer strategic merge for them (the content type is not
//! accepted: 415 listing the JSON, merge and apply patch types). [`supports_strategic_merge`]
//! tells which kinds have patch metadata here; for any other kind
//! [`strategic_merge_patch`] still works, with `metadata` merged as `ObjectMeta` and every
//! other list replaced and map merged (what upstream does for untagged fields of a built-in
//! type), so the server can choose between answering 415 and being lenient.

mod gofmt;
pub mod managed;
mod schema;
mod smp;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// Upstream's limit on the operations of one JSON patch (`maxJSONPatchOperations`).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The PATCH content types, in the order upstream lists them in its 415 answer
/// (`application/apply-patch+yaml` is server-side apply, see [`apply_merge`]).
pub const PATCH_CONTENT_TYPES: [&str; 4] = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// A PATCH body's format, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`: RFC 6902 operations.
    Json,
    /// `application/merge-patch+json`: RFC 7386 merge patch.
    Merge,
    /// `application/strategic-merge-patch+json`: Kubernetes strategic merge patch.
    StrategicMerge,
}

impl PatchType {
    /// The patch type of a `Content-Type` header value; parameters (`; charset=utf-8`) are
    /// ignored, and so are case and surrounding blanks. `None` for any other media type
    /// (including `application/apply-patch+yaml`, which is not a patch of these three kinds).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        [Self::Json, Self::Merge, Self::StrategicMerge]
            .into_iter()
            .find(|t| t.content_type().eq_ignore_ascii_case(media))
    }

    /// The media type of this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json-patch+json",
            Self::Merge => "application/merge-patch+json",
            Self::StrategicMerge => "application/strategic-merge-patch+json",
        }
    }
}

/// Why a patch cannot be applied. See the module documentation for the upstream answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The body is not JSON at all.
    #[error("invalid JSON patch")]
    InvalidJson,
    /// A JSON patch body that is not a list of operation objects (Go's decoding error).
    #[error("{0}")]
    JsonPatchDecode(String),
    /// A JSON patch with more operations than [`MAX_JSON_PATCH_OPERATIONS`].
    #[error("The allowed maximum operations in a JSON patch is {max}, got {0}", max = MAX_JSON_PATCH_OPERATIONS)]
    TooManyOperations(usize),
    /// A JSON patch operation that is malformed or cannot be applied; the text is for logs,
    /// upstream does not send it.
    #[error("{0}")]
    JsonPatchApply(String),
    /// A merge patch that is not a JSON object.
    #[error("Invalid JSON Patch")]
    InvalidMergePatch,
    /// A strategic merge patch that is not a JSON object; the JSON type it is instead.
    #[error("json: cannot unmarshal {0} into Go value of type map[string]interface {{}}")]
    NotAnObject(&'static str),
    /// A malformed strategic merge patch directive, or an original that is not an object.
    #[error("{0}")]
    BadStrategicPatch(String),
    /// A strategic merge patch upstream answers with 422 (lists of lists).
    #[error("{0}")]
    UnprocessableStrategicPatch(String),
    /// Any other strategic merge error (unknown `$patch`, missing merge key, mixed list
    /// element types, `$setElementOrder` not matching the list…).
    #[error("{0}")]
    StrategicMerge(String),
    /// A server-side apply configuration that holds a strategic merge directive key.
    #[error("failed to create typed patch object ({object}): {path}: field not declared in schema")]
    InvalidApplyConfiguration {
        /// `namespace/name; group/version, Kind=kind`, as upstream prints the object.
        object: String,
        /// The offending field, `.spec.$patch`.
        path: String,
    },
}

impl PatchError {
    /// The HTTP status code upstream answers with.
    pub fn code(&self) -> u16 {
        match self {
            Self::InvalidJson
            | Self::JsonPatchDecode(_)
            | Self::InvalidMergePatch
            | Self::NotAnObject(_)
            | Self::BadStrategicPatch(_) => 400,
            Self::TooManyOperations(_) => 413,
            Self::JsonPatchApply(_) | Self::UnprocessableStrategicPatch(_) => 422,
            Self::StrategicMerge(_) | Self::InvalidApplyConfiguration { .. } => 500,
        }
    }

    /// The `Status` `reason` upstream answers with (empty: upstream sends none, the error was
    /// not a `Status` error).
    pub fn reason(&self) -> &'static str {
        match self.code() {
            400 => "BadRequest",
            413 => "RequestEntityTooLarge",
            422 => "Invalid",
            _ => "",
        }
    }

    /// The `Status` `message` upstream answers with.
    pub fn status_message(&self) -> String {
        match self {
            Self::TooManyOperations(_) => format!("Request entity too large: {self}"),
            Self::JsonPatchApply(_) | Self::UnprocessableStrategicPatch(_) => {
                "the server rejected our request due to an error in our request".to_owned()
            }
            _ => self.to_string(),
        }
    }
}

/// Whether `kind` is a built-in kind whose patch metadata (merge keys) is known here, i.e. one
/// upstream accepts strategic merge patches for. Upstream answers 415 for other kinds
/// (custom resources).
pub fn supports_strategic_merge(kind: &str) -> bool {
    schema::is_known_kind(kind)
}

/// Applies a PATCH body of type `ty` to `original`, an object of kind `kind`.
pub fn apply(
    kind: &str,
    original: &Value,
    patch: &[u8],
    ty: PatchType,
) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(patch).map_err(|_| PatchError::InvalidJson)?;
    match ty {
        PatchType::Json => json_patch(original, &patch),
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(PatchError::InvalidMergePatch);
            }
            Ok(merge_patch(original, &patch))
        }
        PatchType::StrategicMerge => strategic_merge_patch(kind, original, &patch),
    }
}

/// Applies a JSON patch (RFC 6902). Atomic: on error nothing is returned but the error.
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = match patch {
        Value::Null => return Ok(original.clone()),
        Value::Array(ops) => ops,
        other => {
            return Err(PatchError::JsonPatchDecode(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                json_type(other)
            )));
        }
    };
    if let Some(op) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(PatchError::JsonPatchDecode(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_type(op)
        )));
    }
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations(ops.len()));
    }
    let parsed: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::JsonPatchApply(e.to_string()))?;
    let mut doc = original.clone();
    // patch_unsafe: the copy is discarded on error, so no undo is needed.
    json_patch::patch_unsafe(&mut doc, &parsed)
        .map_err(|e| PatchError::JsonPatchApply(e.to_string()))?;
    Ok(doc)
}

/// Applies a JSON merge patch (RFC 7386): objects merge recursively, `null` deletes, anything
/// else replaces.
pub fn merge_patch(original: &Value, patch: &Value) -> Value {
    let mut doc = original.clone();
    json_patch::merge(&mut doc, patch);
    doc
}

/// Applies a strategic merge patch to `original`, an object of kind `kind`, as kube-apiserver
/// does: maps merge, `null` deletes, lists tagged `patchStrategy:"merge"` merge by their
/// `patchMergeKey` (lists of scalars as sets), other lists are replaced; the directives
/// `$patch: replace|delete` (in maps and list items), `$setElementOrder/<list>`,
/// `$retainKeys` and `$deleteFromPrimitiveList/<list>` are honoured.
pub fn strategic_merge_patch(
    kind: &str,
    original: &Value,
    patch: &Value,
) -> Result<Value, PatchError> {
    let patch = match patch {
        // Go decodes `null` into a nil map: nothing to merge.
        Value::Null => return Ok(original.clone()),
        Value::Object(p) => p,
        other => return Err(PatchError::NotAnObject(json_type(other))),
    };
    let Value::Object(original) = original else {
        return Err(PatchError::BadStrategicPatch(
            "invalid JSON document".to_owned(),
        ));
    };
    smp::strategic_merge(original.clone(), patch.clone(), schema::root(kind))
        .map(Value::Object)
        .map_err(|e| match e.class {
            smp::Class::BadRequest => PatchError::BadStrategicPatch(e.message),
            smp::Class::Unprocessable => PatchError::UnprocessableStrategicPatch(e.message),
            smp::Class::Other => PatchError::StrategicMerge(e.message),
        })
}

/// Server-side-apply merge, used for `kubectl apply --server-side`
/// (`application/apply-patch+yaml`, body already converted to JSON): the applied
/// configuration is merged into the live object with strategic merge list semantics (merge
/// lists by key, others replaced, maps merged). Ownership — removing fields the manager no
/// longer applies, conflicts, `managedFields` — is [`managed::apply_ownership`]'s step,
/// run on the result. Strategic merge directives are not fields of any type: a configuration that
/// holds one is refused as upstream refuses undeclared fields.
pub fn apply_merge(kind: &str, live: &Value, applied: &Value) -> Result<Value, PatchError> {
    if let Some(path) = find_directive(applied, &mut String::new()) {
        return Err(PatchError::InvalidApplyConfiguration {
            object: describe(applied),
            path,
        });
    }
    if live.is_null() {
        return strategic_merge_patch(kind, &Value::Object(serde_json::Map::new()), applied);
    }
    strategic_merge_patch(kind, live, applied)
}

/// The path (`.spec.$patch`) of the first strategic merge directive key in `v`.
fn find_directive(v: &Value, path: &mut String) -> Option<String> {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                if smp::is_directive_key(k) {
                    return Some(path.clone());
                }
                if let Some(found) = find_directive(v, path) {
                    return Some(found);
                }
                path.truncate(len);
            }
            None
        }
        Value::Array(l) => l.iter().find_map(|v| find_directive(v, path)),
        _ => None,
    }
}

/// `namespace/name; group/version, Kind=kind` of an object, as upstream's `objectGVKNN`.
fn describe(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
    let (ns, name) = (s("/metadata/namespace"), s("/metadata/name"));
    let (group, version) = s("/apiVersion")
        .split_once('/')
        .unwrap_or(("", s("/apiVersion")));
    format!("{ns}/{name}; {group}/{version}, Kind={}", s("/kind"))
}

/// The JSON type word Go's decoder uses in its errors.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
