//! The proxy's error type.

use std::io;
use std::net::SocketAddr;

use crate::model::Protocol;

/// Errors of [`crate::Proxy::sync`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frontend's socket could not be bound; the other frontends were still applied.
    #[error("bind {protocol} {listen}: {source}")]
    Bind {
        /// The frontend's listen address.
        listen: SocketAddr,
        /// The frontend's protocol.
        protocol: Protocol,
        /// Why binding (or registering the socket with tokio) failed.
        #[source]
        source: io::Error,
    },
    /// More than one frontend failed; each error is listed.
    #[error("{} frontends failed: {}", .0.len(), join(.0))]
    Several(Vec<Self>),
    /// [`crate::Proxy::shutdown`] was called; the proxy accepts no more changes.
    #[error("proxy is shut down")]
    Shutdown,
}

fn join(errors: &[Error]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
