//! TODO (stub until the real module lands): JSON, merge and strategic merge patches.
#![allow(missing_docs, unused_variables)]
use serde_json::Value;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
}
impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<Self> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(Self::Json),
            "application/merge-patch+json" => Some(Self::Merge),
            "application/strategic-merge-patch+json" => Some(Self::StrategicMerge),
            _ => None,
        }
    }
}
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);
pub fn json_patch(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let p: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| PatchError(e.to_string()))?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &p).map_err(|e| PatchError(e.to_string()))?;
    Ok(doc)
}
pub fn merge_patch(original: &Value, patch: &Value) -> Value {
    let mut doc = original.clone();
    json_patch::merge(&mut doc, patch);
    doc
}
pub fn strategic_merge_patch(kind: &str, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    Ok(merge_patch(original, patch))
}
pub fn apply_merge(kind: &str, live: &Value, applied: &Value) -> Result<Value, PatchError> {
    Ok(merge_patch(live, applied))
}
pub fn apply(kind: &str, original: &Value, patch: &[u8], ty: PatchType) -> Result<Value, PatchError> {
    let p: Value = serde_json::from_slice(patch).map_err(|e| PatchError(e.to_string()))?;
    match ty {
        PatchType::Json => json_patch(original, &p),
        PatchType::Merge => Ok(merge_patch(original, &p)),
        PatchType::StrategicMerge => strategic_merge_patch(kind, original, &p),
    }
}
