//! Object metadata rules shared by every kind (upstream `ValidateObjectMeta`,
//! `ValidateObjectMetaUpdate`, `rest.FillObjectMetaSystemFields`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::field::{ErrorList, FieldError, Path};
use crate::names;
use crate::resources::Resource;
use crate::workloads::{NameRule, name_rule};

/// Total size limit of annotations (`TotalAnnotationSizeLimitB`, 256 KiB).
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

/// `metadata` of a JSON object, created if absent; `None` when `obj` is not an object.
pub fn meta_mut(obj: &mut Value) -> Option<&mut serde_json::Map<String, Value>> {
    let m = obj
        .as_object_mut()?
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if !m.is_object() {
        *m = json!({});
    }
    m.as_object_mut()
}

/// Drops empty `labels`, `annotations`, `ownerReferences`, `finalizers` and `managedFields`,
/// as Go's `omitempty` does when upstream stores an object: an empty list written by a client
/// reads back as absent.
pub fn normalize(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in [
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ] {
            let empty = match m.get(f) {
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Object(o)) => o.is_empty(),
                Some(Value::Null) => true,
                _ => false,
            };
            if empty {
                m.remove(f);
            }
        }
    }
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name` or "".
pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

/// `metadata.namespace` or "".
pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

/// `metadata.labels` as a map (non-string values ignored).
pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    string_map(obj.get("metadata").and_then(|m| m.get("labels")))
}

/// A JSON object of strings as a map.
pub fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 UTC with second precision, as upstream `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    format_time(jiff::Timestamp::now())
}

/// Formats a timestamp as `metav1.Time` does.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Validates `metadata.name` against a rule, upstream style (one error per message).
pub fn validate_name(rule: NameRule, name: &str, path: &Path) -> ErrorList {
    let msgs = match rule {
        NameRule::Dns1123Subdomain => names::dns1123_subdomain(name),
        NameRule::Dns1123Label => names::dns1123_label(name),
        NameRule::Dns1035Label => names::dns1035_label(name),
        NameRule::PathSegment => path_segment(name),
    };
    msgs.into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect()
}

fn path_segment(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if name == "." || name == ".." {
        out.push(format!("may not be '{name}'"));
    }
    for bad in ["/", "%"] {
        if name.contains(bad) {
            out.push(format!("may not contain '{bad}'"));
        }
    }
    out
}

/// `ValidateObjectMeta` for an object of resource `r` (the name rule comes from the kind).
pub fn validate(r: &Resource, obj: &Value) -> ErrorList {
    let mut errs = Vec::new();
    let mp = Path::new("metadata");
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let rule = name_rule(r.kind);
    if !generate.is_empty() {
        // The generated suffix is valid, so only the prefix (minus a trailing '-') is checked
        // with the kind's rule, as upstream's `ValidateNameFunc(prefix=true)` does.
        let prefix = generate.trim_end_matches('-');
        if !prefix.is_empty() {
            errs.extend(
                validate_name(rule, prefix, &mp.child("generateName"))
                    .into_iter()
                    .map(|mut e| {
                        e.bad_value = generate.into();
                        e
                    }),
            );
        }
    }
    if name.is_empty() {
        errs.push(FieldError::required(
            &mp.child("name"),
            "name or generateName is required",
        ));
    } else {
        errs.extend(validate_name(rule, name, &mp.child("name")));
    }
    let ns = meta.get("namespace").and_then(Value::as_str).unwrap_or("");
    if r.namespaced {
        if ns.is_empty() {
            errs.push(FieldError::required(&mp.child("namespace"), ""));
        } else {
            errs.extend(
                names::dns1123_label(ns)
                    .into_iter()
                    .map(|m| FieldError::invalid(&mp.child("namespace"), ns, m)),
            );
        }
    } else if !ns.is_empty() {
        errs.push(FieldError::forbidden(
            &mp.child("namespace"),
            "not allowed on this type",
        ));
    }
    // Labels.
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        let lp = mp.child("labels");
        for (k, v) in labels {
            for m in names::qualified_name(k) {
                errs.push(FieldError::invalid(&lp, k.as_str(), m));
            }
            match v.as_str() {
                Some(v) => {
                    for m in names::label_value(v) {
                        errs.push(FieldError::invalid(&lp.key(k), v, m));
                    }
                }
                None => errs.push(FieldError::invalid(
                    &lp.key(k),
                    v.to_string(),
                    "must be a string",
                )),
            }
        }
    }
    // Annotations.
    if let Some(ann) = meta.get("annotations").and_then(Value::as_object) {
        let ap = mp.child("annotations");
        let mut total = 0;
        for (k, v) in ann {
            for m in names::qualified_name(&k.to_lowercase()) {
                errs.push(FieldError::invalid(&ap, k.as_str(), m));
            }
            total += k.len() + v.as_str().map_or(0, str::len);
        }
        if total > ANNOTATIONS_MAX_BYTES {
            errs.push(FieldError {
                kind: crate::field::ErrorType::TooLong,
                field: ap.to_string(),
                bad_value: crate::field::BadValue::Omit,
                detail: format!("must have at most {ANNOTATIONS_MAX_BYTES} bytes"),
            });
        }
    }
    // Finalizers.
    if let Some(fins) = meta.get("finalizers").and_then(Value::as_array) {
        let fp = mp.child("finalizers");
        for (i, f) in fins.iter().enumerate() {
            let f = f.as_str().unwrap_or("");
            for m in names::qualified_name(f) {
                errs.push(FieldError::invalid(&fp.index(i), f, m));
            }
        }
    }
    // Owner references.
    if let Some(owners) = meta.get("ownerReferences").and_then(Value::as_array) {
        let op = mp.child("ownerReferences");
        let mut controllers = 0;
        for o in owners {
            for f in ["apiVersion", "kind", "name", "uid"] {
                if o.get(f).and_then(Value::as_str).unwrap_or("").is_empty() {
                    let detail = match f {
                        "uid" => "uid must not be empty".to_owned(),
                        "name" => "name must not be empty".to_owned(),
                        "kind" => "kind must not be empty".to_owned(),
                        _ => "version must not be empty".to_owned(),
                    };
                    errs.push(FieldError::invalid(&op.child(f), "", detail));
                }
            }
            if o.get("controller").and_then(Value::as_bool) == Some(true) {
                controllers += 1;
            }
        }
        if controllers > 1 {
            errs.push(FieldError::invalid(
                &op,
                crate::field::BadValue::Raw(format!("{owners:?}")),
                "Only one reference can have Controller set to true",
            ));
        }
    }
    errs
}

/// `ValidateObjectMetaUpdate`: identity fields may not change.
pub fn validate_update(new: &Value, old: &Value) -> ErrorList {
    let mut errs = Vec::new();
    let mp = Path::new("metadata");
    for f in ["name", "namespace", "uid", "creationTimestamp"] {
        let (n, o) = (
            new.get("metadata").and_then(|m| m.get(f)),
            old.get("metadata").and_then(|m| m.get(f)),
        );
        if n != o {
            let shown = n.and_then(Value::as_str).unwrap_or("").to_owned();
            errs.push(FieldError::invalid(
                &mp.child(f),
                shown,
                "field is immutable",
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn service_name_rule_and_labels() {
        let svc = resources::find("", "v1", "services").unwrap();
        let obj =
            json!({"metadata": {"name": "Web", "namespace": "default", "labels": {"a": "-x"}}});
        let errs: Vec<String> = validate(svc, &obj)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(errs[0].starts_with("metadata.name: Invalid value: \"Web\": a DNS-1035 label"));
        assert!(errs[1].starts_with("metadata.labels[a]: Invalid value: \"-x\": a valid label"));
        let ok = json!({"metadata": {"generateName": "web-", "namespace": "default"}});
        assert_eq!(
            validate(svc, &ok)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec!["metadata.name: Required value: name or generateName is required"]
        );
    }
}
