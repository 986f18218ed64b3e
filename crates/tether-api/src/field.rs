//! Field paths and field errors, rendered as upstream's `field.Error` / `field.ErrorList`
//! (`apimachinery/pkg/util/validation/field/errors.go`).

use std::fmt;

/// A path to a field, `spec.ports[0].port`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path(String);

impl Path {
    /// A path starting at a top-level field.
    pub fn new(root: &str) -> Self {
        Self(root.to_owned())
    }
    /// `self.name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Self(name.to_owned())
        } else {
            Self(format!("{}.{name}", self.0))
        }
    }
    /// `self[i]`.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }
    /// `self[key]` (map keys, unquoted as upstream prints them).
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        Self(format!("{}[{k}]", self.0))
    }
    /// The rendered path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of a field error; `as_str` is upstream's `ErrorType.String()` and `cause_type` the
/// `StatusCause.type` sent to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// `FieldValueNotFound`.
    NotFound,
    /// `FieldValueRequired`.
    Required,
    /// `FieldValueDuplicate`.
    Duplicate,
    /// `FieldValueInvalid`.
    Invalid,
    /// `FieldValueNotSupported`.
    NotSupported,
    /// `FieldValueForbidden`.
    Forbidden,
    /// `FieldValueTooLong`.
    TooLong,
    /// `FieldValueTooMany`.
    TooMany,
    /// `InternalError`.
    Internal,
    /// `FieldValueTypeInvalid`.
    TypeInvalid,
}

impl ErrorType {
    /// Upstream's human string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "Not found",
            Self::Required => "Required value",
            Self::Duplicate => "Duplicate value",
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::NotSupported => "Unsupported value",
            Self::Forbidden => "Forbidden",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Internal => "Internal error",
        }
    }
    /// The `StatusCause.type`.
    pub fn cause_type(self) -> &'static str {
        match self {
            Self::NotFound => "FieldValueNotFound",
            Self::Required => "FieldValueRequired",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Invalid => "FieldValueInvalid",
            Self::NotSupported => "FieldValueNotSupported",
            Self::Forbidden => "FieldValueForbidden",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Internal => "InternalError",
            Self::TypeInvalid => "FieldValueTypeInvalid",
        }
    }
}

/// A rejected value, rendered as Go's `%v` would print it in upstream messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadValue {
    /// Not shown.
    Omit,
    /// A string, printed quoted (`"10.96.0.10"`).
    Str(String),
    /// Printed as is (numbers, Go composite literals such as `[]string{"a"}`).
    Raw(String),
}

impl BadValue {
    /// A Go string literal, as `%q` prints it.
    pub fn quote(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
    fn render(&self) -> Option<String> {
        match self {
            Self::Omit => None,
            Self::Str(s) => Some(Self::quote(s)),
            Self::Raw(s) => Some(s.clone()),
        }
    }
}

impl From<&str> for BadValue {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for BadValue {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<&String> for BadValue {
    fn from(s: &String) -> Self {
        Self::Str(s.clone())
    }
}
macro_rules! bad_value_int {
    ($($t:ty),*) => {$(
        impl From<$t> for BadValue {
            fn from(v: $t) -> Self {
                Self::Raw(v.to_string())
            }
        }
    )*};
}
bad_value_int!(i32, i64, u16, u32, u64, usize, bool);

/// One validation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// What went wrong.
    pub kind: ErrorType,
    /// Where.
    pub field: String,
    /// The rejected value.
    pub bad_value: BadValue,
    /// Why.
    pub detail: String,
}

impl FieldError {
    fn new(kind: ErrorType, path: &Path, bad_value: BadValue, detail: impl Into<String>) -> Self {
        Self {
            kind,
            field: path.0.clone(),
            bad_value,
            detail: detail.into(),
        }
    }
    /// `field.Required`.
    pub fn required(path: &Path, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Required, path, BadValue::Omit, detail)
    }
    /// `field.Invalid`.
    pub fn invalid(path: &Path, value: impl Into<BadValue>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, path, value.into(), detail)
    }
    /// `field.Forbidden`.
    pub fn forbidden(path: &Path, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Forbidden, path, BadValue::Omit, detail)
    }
    /// `field.Duplicate`.
    pub fn duplicate(path: &Path, value: impl Into<BadValue>) -> Self {
        Self::new(ErrorType::Duplicate, path, value.into(), "")
    }
    /// `field.NotFound`.
    pub fn not_found(path: &Path, value: impl Into<BadValue>) -> Self {
        Self::new(ErrorType::NotFound, path, value.into(), "")
    }
    /// `field.TooLong`.
    pub fn too_long(path: &Path, max: usize) -> Self {
        Self::new(
            ErrorType::TooLong,
            path,
            BadValue::Omit,
            format!("may not be more than {max} bytes"),
        )
    }
    /// `field.TooMany`.
    pub fn too_many(path: &Path, actual: usize, max: usize) -> Self {
        Self::new(
            ErrorType::TooMany,
            path,
            BadValue::Raw(actual.to_string()),
            format!("must have at most {max} items"),
        )
    }
    /// `field.InternalError`.
    pub fn internal(path: &Path, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, path, BadValue::Omit, detail)
    }
    /// `field.NotSupported`: `Unsupported value: "X": supported values: "a", "b"`.
    pub fn not_supported(path: &Path, value: impl Into<BadValue>, valid: &[&str]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| BadValue::quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, path, value.into(), detail)
    }

    /// Upstream's `ErrorBody()`: the message without the field path.
    pub fn body(&self) -> String {
        let mut s = match self.kind {
            ErrorType::Required
            | ErrorType::Forbidden
            | ErrorType::TooLong
            | ErrorType::Internal => self.kind.as_str().to_owned(),
            _ => match self.bad_value.render() {
                Some(v) => format!("{}: {v}", self.kind.as_str()),
                None => self.kind.as_str().to_owned(),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// A list of field errors (`field.ErrorList`).
pub type ErrorList = Vec<FieldError>;

/// Renders a list like upstream's aggregate error: one error alone, or `[a, b]`.
pub fn aggregate(errs: &[FieldError]) -> String {
    // `ErrorList.ToAggregate` drops repeated messages.
    let mut seen = std::collections::HashSet::new();
    let errs: Vec<&FieldError> = errs.iter().filter(|e| seen.insert(e.to_string())).collect();
    match errs.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(ToString::to_string).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_upstream() {
        let p = Path::new("spec").child("ports").index(0).child("nodePort");
        let e = FieldError::invalid(
            &p,
            80,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        );
        assert_eq!(
            e.to_string(),
            "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"
        );
        let e = FieldError::not_supported(
            &Path::new("spec").child("type"),
            "X",
            &["ClusterIP", "NodePort"],
        );
        assert_eq!(
            e.to_string(),
            r#"spec.type: Unsupported value: "X": supported values: "ClusterIP", "NodePort""#
        );
        assert_eq!(
            FieldError::required(&Path::new("spec").child("ports"), "").to_string(),
            "spec.ports: Required value"
        );
        assert_eq!(
            Path::new("metadata")
                .child("annotations")
                .key("a/b")
                .as_str(),
            "metadata.annotations[a/b]"
        );
    }
}
