//! Cluster DNS for tether, per the Kubernetes DNS-Based Service Discovery specification
//! (kubernetes/dns `docs/specification.md`) and as CoreDNS's `kubernetes` plugin answers.
//!
//! - [`index`]: in-memory index of Services, EndpointSlices and Pods; readers get a cheap
//!   [`Snapshot`] (one atomic `Arc` load).
//! - [`records`]: pure `answer(snapshot, config, qname, qtype)`; the whole spec lives here.
//! - [`forward`]: forwarding of other names to upstream resolvers, with a TTL-respecting cache.
//! - [`server`]: [`DnsServer`], UDP and TCP serving loops on already-bound std sockets.
//! - [`watch`]: `kube` watches that feed the index.

pub mod config;
pub mod forward;
pub mod index;
pub mod metrics;
pub mod records;
pub mod server;
pub mod watch;

pub use config::{Config, PodsMode};
pub use index::{Index, Snapshot};
pub use server::DnsServer;
pub use watch::run_watches;

/// Errors of the DNS component.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket operation failed.
    #[error("dns socket: {0}")]
    Io(#[from] std::io::Error),
    /// A configuration value is invalid.
    #[error("dns config: {0}")]
    Config(String),
}
