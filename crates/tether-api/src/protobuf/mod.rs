//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`) decoded into the JSON
//! the JSON path would get.
//!
//! kubectl's generator commands (`kubectl create deployment|service|namespace|configmap|
//! secret|serviceaccount ...`) and client-go's typed clients send protobuf. A body is the
//! magic `k8s\0` followed by a `runtime.Unknown` envelope (`apimachinery/pkg/runtime`,
//! `serializer/protobuf`): `{1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3:
//! contentEncoding, 4: contentType}`, where `raw` is the object message (proto2, from the
//! group's `generated.proto`).
//!
//! Decoding is generic over a hand-maintained schema table (`tables.rs`): for every message,
//! field number to JSON name, type and emission rule. The special messages become what their
//! Go JSON marshallers produce: `IntOrString` a number or string, `Quantity` its string,
//! `Time` RFC 3339 seconds (`null` when zero, so a fresh object carries
//! `"creationTimestamp": null` just as kubectl's JSON does), `MicroTime` six fractional
//! digits, `Duration` a Go duration string, `RawExtension`/`FieldsV1` the embedded JSON,
//! `bytes` base64. Go's protobuf marshaller writes every non-pointer field, even when empty;
//! the table knows which of those are `omitempty` in JSON and leaves their zero values out.
//! Unknown field numbers are skipped (after being checked on the wire), as upstream does.
//!
//! Differences from the JSON path that protobuf cannot express: an empty list or map is
//! absent rather than `[]`/`{}`/`null`; `Quantity` strings are passed through unparsed.
//! Stricter than upstream: the envelope must name its `apiVersion` and `kind` (upstream
//! could default them from the URL; kubectl and client-go always set them), and a
//! `contentEncoding` or a non-protobuf `contentType` is rejected rather than ignored.

mod json;
mod schema;
#[rustfmt::skip]
mod tables;
mod wire;

use serde_json::{Map, Value};

use wire::Reader;

/// The `Content-Type` kubectl uses.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The body does not start with `k8s\0`.
    #[error("body does not start with the protobuf magic k8s\\0")]
    BadMagic,
    /// The input ended inside a value, or a length runs past the end of its message.
    #[error("truncated: a value or length runs past the end of its message")]
    Truncated,
    /// A varint longer than 10 bytes.
    #[error("varint longer than 10 bytes")]
    VarintOverflow,
    /// Field number 0 or above 2^29 - 1.
    #[error("invalid field number {0}")]
    InvalidFieldNumber(u64),
    /// Wire types 3 and 4 (groups) do not occur in Kubernetes messages.
    #[error("groups (wire types 3 and 4) are not supported")]
    Group,
    /// Wire types 6 and 7.
    #[error("invalid wire type {0}")]
    InvalidWireType(u8),
    /// A known field with the wrong wire type.
    #[error("field {message}.{field} has wire type {found}, expected {expected}")]
    WrongWireType {
        /// The message (upstream Go type name).
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// The wire type found.
        found: u8,
        /// The wire type the field has.
        expected: u8,
    },
    /// A well-formed value that has no JSON form (an `IntOrString` of unknown type, a time
    /// outside years 0-9999, raw bytes that are not JSON, ...).
    #[error("invalid value for {message}.{field}: {reason}")]
    InvalidValue {
        /// The message (upstream Go type name).
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The envelope carries no `apiVersion` or no `kind`.
    #[error("runtime.Unknown envelope has no apiVersion or kind")]
    MissingTypeMeta,
    /// The envelope's `contentEncoding` is set (upstream never sets it).
    #[error("unsupported contentEncoding {0:?}")]
    UnsupportedEncoding(String),
    /// The envelope's `contentType` is neither empty nor protobuf.
    #[error("unsupported contentType {0:?}")]
    UnsupportedContentType(String),
    /// No schema for this `apiVersion` and `kind`.
    #[error("no protobuf schema for apiVersion {api_version:?}, kind {kind:?}; send JSON instead")]
    UnknownKind {
        /// The envelope's `apiVersion`.
        api_version: String,
        /// The envelope's `kind`.
        kind: String,
    },
    /// Messages nested too deeply.
    #[error("messages nested deeper than {0}")]
    TooDeep(usize),
}

/// The parts of a `runtime.Unknown` envelope.
#[derive(Debug, Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

const UNKNOWN: &str = "runtime.Unknown";
const TYPE_META: &str = "runtime.TypeMeta";

/// A length-delimited value of the envelope.
fn bytes<'a>(
    message: &'static str,
    field: &'static str,
    wire: wire::Wire<'a>,
) -> Result<&'a [u8], ProtoError> {
    match wire {
        wire::Wire::Len(b) => Ok(b),
        other => Err(ProtoError::WrongWireType {
            message,
            field,
            found: other.wire_type(),
            expected: 2,
        }),
    }
}

/// A string of the envelope.
fn string(
    message: &'static str,
    field: &'static str,
    wire: wire::Wire<'_>,
) -> Result<String, ProtoError> {
    Ok(String::from_utf8_lossy(bytes(message, field, wire)?).into_owned())
}

impl<'a> Envelope<'a> {
    fn parse(buf: &'a [u8]) -> Result<Self, ProtoError> {
        let mut env = Self::default();
        let mut r = Reader::new(buf);
        while let Some((num, wire)) = r.next_field()? {
            match num {
                1 => {
                    let mut tm = Reader::new(bytes(UNKNOWN, "typeMeta", wire)?);
                    while let Some((num, wire)) = tm.next_field()? {
                        match num {
                            1 => env.api_version = string(TYPE_META, "apiVersion", wire)?,
                            2 => env.kind = string(TYPE_META, "kind", wire)?,
                            _ => {}
                        }
                    }
                }
                2 => env.raw = bytes(UNKNOWN, "raw", wire)?,
                3 => env.content_encoding = string(UNKNOWN, "contentEncoding", wire)?,
                4 => env.content_type = string(UNKNOWN, "contentType", wire)?,
                _ => {}
            }
        }
        Ok(env)
    }
}

/// Decodes a `k8s\0`-prefixed `runtime.Unknown` envelope into a JSON object carrying
/// `apiVersion` and `kind` followed by the object's fields in field-number order.
///
/// # Errors
///
/// [`ProtoError::BadMagic`] without the prefix, [`ProtoError::UnknownKind`] for an
/// `apiVersion`/`kind` without a schema, and the other variants for malformed input.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ProtoError::BadMagic)?;
    let env = Envelope::parse(rest)?;
    if env.api_version.is_empty() || env.kind.is_empty() {
        return Err(ProtoError::MissingTypeMeta);
    }
    if !env.content_encoding.is_empty() {
        return Err(ProtoError::UnsupportedEncoding(env.content_encoding));
    }
    if !env.content_type.is_empty() && env.content_type != CONTENT_TYPE {
        return Err(ProtoError::UnsupportedContentType(env.content_type));
    }
    let Some(root) = schema::root(&env.api_version, &env.kind) else {
        return Err(ProtoError::UnknownKind {
            api_version: env.api_version,
            kind: env.kind,
        });
    };
    let fields = json::message(root, env.raw, 0)?;
    let mut out = Map::new();
    out.insert("apiVersion".to_owned(), Value::String(env.api_version));
    out.insert("kind".to_owned(), Value::String(env.kind));
    out.extend(fields);
    Ok(Value::Object(out))
}

/// Whether [`decode`] knows the schema of `apiVersion` + `kind`.
pub fn supports(api_version: &str, kind: &str) -> bool {
    schema::root(api_version, kind).is_some()
}
