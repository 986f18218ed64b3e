//! `meta.k8s.io/v1 Table` responses for `kubectl get` (server-side printing).

use serde_json::{Value, json};
use tether_api::printers;
use tether_api::resources::Resource;

/// `includeObject` of a Table request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    /// No object in rows.
    None,
    /// `PartialObjectMetadata` (the default).
    Metadata,
    /// The full object.
    Object,
}

impl IncludeObject {
    pub(crate) fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Whether the Accept header asks for a Table.
pub(crate) fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .any(|p| p.contains("as=Table") && p.contains("g=meta.k8s.io"))
}

/// The Content-Type of a Table response.
pub(crate) const CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

fn columns(kind: &str) -> Value {
    Value::Array(
        printers::columns(kind)
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.ty,
                    "format": c.format,
                    "description": c.description,
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

fn row(r: &Resource, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let printed = printers::row(r.kind, obj, now);
    let mut row = json!({"cells": printed.cells});
    if !printed.conditions.is_empty() {
        row["conditions"] = Value::Array(printed.conditions);
    }
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            row["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
            });
        }
        IncludeObject::Object => row["object"] = obj.clone(),
    }
    row
}

/// A Table of `items`; `list_meta` becomes the Table's metadata (resourceVersion, continue).
pub(crate) fn table(
    r: &Resource,
    items: &[Value],
    include: IncludeObject,
    with_columns: bool,
    list_meta: Value,
) -> Value {
    let now = jiff::Timestamp::now();
    let rows: Vec<Value> = items.iter().map(|o| row(r, o, include, now)).collect();
    let mut t = json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
    });
    if with_columns {
        t["columnDefinitions"] = columns(r.kind);
    }
    t["rows"] = Value::Array(rows);
    t
}
