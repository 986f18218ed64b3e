//! TODO (stub until the real module lands): server-side printers.
#![allow(missing_docs, unused_variables)]
use serde_json::{Value, json};
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub ty: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: i32,
}
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Value>,
    pub conditions: Vec<Value>,
}
static DEFAULT: &[Column] = &[
    Column { name: "Name", ty: "string", format: "name", description: "Name", priority: 0 },
    Column { name: "Created At", ty: "date", format: "", description: "Created", priority: 0 },
];
pub fn columns(kind: &str) -> &'static [Column] {
    DEFAULT
}
pub fn row(kind: &str, obj: &Value, now: jiff::Timestamp) -> Row {
    Row {
        cells: vec![obj["metadata"]["name"].clone(), obj["metadata"]["creationTimestamp"].clone()],
        conditions: vec![],
    }
}
pub fn age(ts: Option<&str>, now: jiff::Timestamp) -> String {
    json!(ts).to_string()
}
