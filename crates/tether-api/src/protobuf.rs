//! TODO (stub until the real module lands): protobuf request bodies.
#![allow(missing_docs, unused_variables)]
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ProtoError(pub String);
pub fn decode(body: &[u8]) -> Result<serde_json::Value, ProtoError> {
    Err(ProtoError("protobuf decoding not implemented yet".into()))
}
