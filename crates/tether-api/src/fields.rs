//! Field selectors: the `fieldSelector` query grammar and the fields each kind supports
//! (`apimachinery/pkg/fields/selector.go`; per-kind field labels from
//! `pkg/apis/core/v1/conversion.go` and friends).

use serde_json::Value;

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Field label, e.g. `metadata.name`.
    pub field: String,
    /// Value compared.
    pub value: String,
    /// `!=` instead of `=`.
    pub negated: bool,
}

/// A conjunction of terms; empty matches everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<Term>,
}

/// Field selector errors (answered as 400 BadRequest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Bad syntax.
    #[error("invalid selector: '{0}'; can't understand '{1}'")]
    Syntax(String, String),
    /// The kind does not support filtering on this field.
    #[error("field label not supported: {0}")]
    Unsupported(String),
}

impl FieldSelector {
    /// Parses `a=b,c!=d` and checks every field against what `kind` supports.
    pub fn parse(s: &str, kind: &str) -> Result<Self, Error> {
        let mut terms = Vec::new();
        for part in split_unescaped(s, ',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, false)
            } else {
                return Err(Error::Syntax(s.to_owned(), part.to_owned()));
            };
            let field = normalise_field(kind, field.trim());
            if !supported(kind, &field) {
                return Err(Error::Unsupported(field));
            }
            terms.push(Term {
                field,
                value: unescape(value.trim()),
                negated,
            });
        }
        Ok(Self { terms })
    }

    /// The terms.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether the selector is empty.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The value a `metadata.name=` term requires, if any (lets a list read one key).
    pub fn required_name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == "metadata.name" && !t.negated)
            .map(|t| t.value.as_str())
    }

    /// Whether an object of `kind` matches every term.
    pub fn matches(&self, kind: &str, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let v = field_value(kind, obj, &t.field);
            (v == t.value) != t.negated
        })
    }
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            cur.push('\\');
            cur.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        if esc {
            out.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn normalise_field(kind: &str, f: &str) -> String {
    match (kind, f) {
        ("Pod", "spec.host") => "spec.nodeName".to_owned(),
        _ => f.to_owned(),
    }
}

fn supported(kind: &str, field: &str) -> bool {
    if field == "metadata.name" {
        return true;
    }
    if field == "metadata.namespace" {
        return !matches!(kind, "Node" | "Namespace");
    }
    let extra: &[&str] = match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        "Service" => &["spec.clusterIP", "spec.type"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Node" => &["spec.unschedulable"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" => &["status.replicas"],
        _ => &[],
    };
    extra.contains(&field)
}

fn path<'a>(obj: &'a Value, p: &str) -> Option<&'a Value> {
    p.split('.').try_fold(obj, |v, seg| v.get(seg))
}

fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The value of a field label on an object, as upstream's field-label functions compute it.
pub fn field_value(kind: &str, obj: &Value, field: &str) -> String {
    match (kind, field) {
        ("Pod", "spec.hostNetwork") | ("Node", "spec.unschedulable") => path(obj, field)
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .to_string(),
        ("Pod", "status.podIPs") => path(obj, "status.podIPs")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.get("ip").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        ("Event", "source") => scalar(path(obj, "source.component")),
        ("ReplicaSet", "status.replicas") => path(obj, field)
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .to_string(),
        _ => scalar(path(obj, field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_and_match() {
        let pod = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let s = FieldSelector::parse("spec.nodeName=n1,status.phase!=Failed", "Pod").unwrap();
        assert!(s.matches("Pod", &pod));
        let s = FieldSelector::parse("spec.host=n2", "Pod").unwrap();
        assert!(!s.matches("Pod", &pod));
        assert_eq!(
            FieldSelector::parse("spec.foo=x", "Pod")
                .unwrap_err()
                .to_string(),
            "field label not supported: spec.foo"
        );
        assert_eq!(
            FieldSelector::parse("metadata.name=p", "Service")
                .unwrap()
                .required_name(),
            Some("p")
        );
    }
}
