//! Revisioned key-value store with watch, in etcd's model: the seam under the API server.
//!
//! Every committed write gets the next global revision (an `i64`, like etcd's `mod_revision`);
//! the API server uses it as `resourceVersion`. A [`Txn`] is a list of [`Compare`]s and a list
//! of [`Op`]s applied atomically under one revision when every compare holds; this is how a
//! Service and its ClusterIP/NodePort reservations are written together or not at all.
//! [`Backend::watch`] replays history after a revision and then follows new writes.
//!
//! Two backends pass one conformance battery ([`testing`], feature `testing`):
//! [`Embedded`] (a redb file, group-committed with fsync before acknowledging) and [`Etcd`]
//! (a real etcd v3 cluster). Newcomers start with [`Backend`].

mod embedded;
mod etcd;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::fmt;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use embedded::{Embedded, EmbeddedOptions};
pub use etcd::Etcd;

/// A store revision (etcd `revision`/`mod_revision`). Revision 0 means "nothing yet".
pub type Revision = i64;

/// One stored key with its value and revisions.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key, a `/`-separated path.
    pub key: String,
    /// The stored bytes (empty in a delete event's `kv`).
    pub value: Bytes,
    /// Revision of the write that created this key.
    pub create_revision: Revision,
    /// Revision of the last write to this key.
    pub mod_revision: Revision,
}

impl fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyValue")
            .field("key", &self.key)
            .field("value_len", &self.value.len())
            .field("create_revision", &self.create_revision)
            .field("mod_revision", &self.mod_revision)
            .finish()
    }
}

/// A condition a [`Txn`] checks before applying its ops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key does not exist.
    Absent(String),
    /// The key exists and was last written at exactly this revision.
    ModRevision(String, Revision),
}

impl Compare {
    /// The key this compare looks at.
    pub fn key(&self) -> &str {
        match self {
            Self::Absent(k) | Self::ModRevision(k, _) => k,
        }
    }
}

/// A write inside a [`Txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create or replace the key.
    Put(String, Bytes),
    /// Remove the key (no-op if absent).
    Delete(String),
}

/// An atomic compare-and-write: all ops apply under one new revision iff all compares hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Txn {
    /// Conditions, all of which must hold.
    pub compares: Vec<Compare>,
    /// Writes applied when they do.
    pub ops: Vec<Op>,
}

impl Txn {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a compare.
    #[must_use]
    pub fn when(mut self, c: Compare) -> Self {
        self.compares.push(c);
        self
    }
    /// Adds an op.
    #[must_use]
    pub fn then(mut self, op: Op) -> Self {
        self.ops.push(op);
        self
    }
}

/// What became of a [`Txn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnResult {
    /// Every compare held; the ops were applied at this revision.
    Committed(Revision),
    /// The compare at this index (the first that failed) did not hold; nothing was written.
    Failed(usize),
}

/// The kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The key was created or updated.
    Put,
    /// The key was deleted.
    Delete,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after the change; for a delete the value is empty and `mod_revision` is the
    /// revision of the delete.
    pub kv: KeyValue,
    /// The key before the change, when it existed (always present for deletes).
    pub prev: Option<KeyValue>,
}

/// A page of a range read.
#[derive(Debug, Clone, Default)]
pub struct ListResult {
    /// Keys in ascending order.
    pub kvs: Vec<KeyValue>,
    /// The store revision the read was served at.
    pub revision: Revision,
    /// More keys follow the last one returned.
    pub more: bool,
}

/// What a list reads.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Only keys strictly greater than this one (pagination).
    pub start_after: Option<String>,
    /// At most this many keys (0 = no limit).
    pub limit: usize,
    /// Read the keys as they were at this revision (the pages of one paginated list all
    /// read at the first page's revision); `None` reads the latest. A revision older than
    /// the last compaction fails with [`Error::Compacted`].
    pub revision: Option<Revision>,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The requested revision was compacted away.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// What was asked for.
        requested: Revision,
        /// The oldest revision still available minus one.
        compacted: Revision,
    },
    /// A watcher fell too far behind the writes and must restart.
    #[error("watch fell behind and was dropped; restart from the last revision seen")]
    Lagged,
    /// The embedded database failed.
    #[error("embedded store: {0}")]
    Embedded(String),
    /// etcd failed or was unreachable.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// The backend has shut down.
    #[error("store is closed")]
    Closed,
}

/// Store result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stream of watch events, in revision order; ends with an error when the watch breaks.
pub type WatchStream = BoxStream<'static, Result<Event>>;

/// A revisioned key-value store with watch.
pub trait Backend: Send + Sync + fmt::Debug {
    /// Reads one key at the latest revision.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<KeyValue>>>;
    /// Reads the keys starting with `prefix`, in key order, at the latest revision.
    fn list<'a>(&'a self, prefix: &'a str, opts: ListOptions) -> BoxFuture<'a, Result<ListResult>>;
    /// Applies a transaction.
    fn txn(&self, txn: Txn) -> BoxFuture<'_, Result<TxnResult>>;
    /// Streams every change to keys under `prefix` with a revision greater than `after`.
    /// Fails with [`Error::Compacted`] when that history is gone.
    fn watch<'a>(&'a self, prefix: &'a str, after: Revision) -> BoxFuture<'a, Result<WatchStream>>;
    /// Discards history at and before `revision`.
    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>>;
    /// The latest committed revision.
    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>>;
}

/// The smallest key greater than every key with this prefix (etcd's range end).
pub(crate) fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
