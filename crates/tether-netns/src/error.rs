//! The crate's error type.

use std::io;

use nix::errno::Errno;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while building or entering network namespaces.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything was changed.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The namespace, link, address or route already exists (`EEXIST`).
    #[error("{0}: already exists")]
    Exists(String),
    /// The namespace or link does not exist (`ENOENT`, `ENODEV`).
    #[error("{0}: not found")]
    NotFound(String),
    /// A system call failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A netlink request failed.
    #[error("{context}: {source}")]
    Netlink {
        /// What was being done.
        context: String,
        /// The rtnetlink error (carries the kernel's errno for NACKs).
        #[source]
        source: rtnetlink::Error,
    },
}

impl Error {
    /// True for [`Error::Exists`].
    pub fn is_exists(&self) -> bool {
        matches!(self, Self::Exists(_))
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }

    /// Wraps an OS error, mapping `EEXIST` / `ENOENT` / `ENODEV` to the typed variants.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        let context = context.into();
        match source.raw_os_error().map(Errno::from_raw) {
            Some(Errno::EEXIST) => Self::Exists(context),
            Some(Errno::ENOENT | Errno::ENODEV) => Self::NotFound(context),
            _ => Self::Io { context, source },
        }
    }

    /// Wraps a netlink error, mapping `EEXIST` / `ENODEV` / `ENOENT` NACKs to the typed
    /// variants.
    pub(crate) fn netlink(context: impl Into<String>, source: rtnetlink::Error) -> Self {
        let context = context.into();
        if let rtnetlink::Error::NetlinkError(msg) = &source {
            match Errno::from_raw(-msg.raw_code()) {
                Errno::EEXIST => return Self::Exists(context),
                Errno::ENODEV | Errno::ENOENT | Errno::ESRCH => return Self::NotFound(context),
                _ => {}
            }
        }
        Self::Netlink { context, source }
    }

    /// Wraps a nix errno.
    pub(crate) fn errno(context: impl Into<String>, errno: Errno) -> Self {
        Self::io(context, io::Error::from(errno))
    }
}
