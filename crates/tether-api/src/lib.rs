//! API types and rules: what a valid object is.
//!
//! Pure (no I/O, no `await`): the served kinds ([`resources`]), upstream's field errors and
//! `Status` errors ([`field`], [`status`]), name and label syntax ([`names`]), selectors
//! ([`labels`], [`fields`]), per-kind defaulting and validation ([`service`], [`workloads`]),
//! patches ([`patch`]), protobuf request decoding ([`protobuf`]) and the server-side printers
//! behind `kubectl get` ([`printers`]). Objects travel as `serde_json::Value` between the
//! generic parts; kind-specific code works on the k8s-openapi types re-exported as [`k8s`].

pub use k8s_openapi as k8s;

pub mod field;
pub mod fields;
pub mod labels;
pub mod meta;
pub mod names;
pub mod patch;
pub mod printers;
pub mod protobuf;
pub mod resources;
pub mod service;
pub mod status;
pub mod workloads;

pub use field::{ErrorList, FieldError, Path};
pub use resources::Resource;
pub use status::ApiError;
