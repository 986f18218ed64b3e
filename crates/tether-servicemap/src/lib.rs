//! The node's view of Services and their endpoints: [`ServiceMap`], keyed by
//! [`ServicePortName`], as kube-proxy's `ServicePortMap` + `EndpointsMap` (pkg/proxy).
//!
//! [`model`] is pure: it builds a map from Service and EndpointSlice objects
//! ([`ServiceMap::from_objects`]) and diffs two maps ([`changes`]). [`watch::run`] is the
//! only I/O: reflectors over Services and EndpointSlices that publish a fresh
//! `Arc<ServiceMap>` on a `tokio::sync::watch` channel after each (coalesced) burst of
//! changes. Data planes (`tether-nft`, `tether-proxy`) and DNS read those snapshots and
//! never call the API server.

pub mod model;
pub mod watch;

pub use model::{
    Endpoint, Protocol, ServiceInfo, ServiceMap, ServicePort, ServicePortName, ServiceType,
    TrafficPolicy, Update, apply, changes,
};
