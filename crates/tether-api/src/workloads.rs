//! TODO (stub until the real module lands): defaults and validation of the other kinds.
#![allow(missing_docs, unused_variables)]
use crate::field::ErrorList;
use serde_json::Value;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Dns1123Subdomain,
    Dns1123Label,
    Dns1035Label,
    PathSegment,
}
pub fn name_rule(kind: &str) -> NameRule {
    match kind {
        "Namespace" => NameRule::Dns1123Label,
        "Service" => NameRule::Dns1035Label,
        _ => NameRule::Dns1123Subdomain,
    }
}
pub fn set_defaults(kind: &str, obj: &mut Value) -> Result<(), serde_json::Error> {
    Ok(())
}
pub fn prepare_for_create(kind: &str, obj: &mut Value) -> Result<(), serde_json::Error> {
    Ok(())
}
pub fn prepare_for_update(
    kind: &str,
    new: &mut Value,
    old: &Value,
    subresource: Option<&str>,
) -> Result<(), serde_json::Error> {
    Ok(())
}
pub fn validate(kind: &str, obj: &Value) -> Result<ErrorList, serde_json::Error> {
    Ok(Vec::new())
}
pub fn validate_update(
    kind: &str,
    new: &Value,
    old: &Value,
) -> Result<ErrorList, serde_json::Error> {
    Ok(Vec::new())
}
