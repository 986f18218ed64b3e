//! The embedded backend: one redb file, a single writer thread with group commit.
//!
//! Layout (kine's model, see `shared/reference/kubectl-and-api.md` §6.1): table `kv` holds the
//! latest value of each key with its create/mod revisions; table `log` holds every change by
//! `(revision, index)` for watch replay until compacted; table `meta` holds the current and
//! compacted revisions. Writes queue to one thread that applies every queued transaction in a
//! single redb write transaction, commits it with fsync (`Durability::Immediate`), and only then
//! answers the callers: an acknowledged write survives `kill -9`, and parallel writers share
//! one fsync.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    Backend, Compare, Error, Event, EventKind, KeyValue, ListOptions, ListResult, Op, Result,
    Revision, Txn, TxnResult, WatchStream,
};

const KV: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("kv");
const LOG: TableDefinition<'_, (i64, u32), &[u8]> = TableDefinition::new("log");
const META: TableDefinition<'_, &str, i64> = TableDefinition::new("meta");

/// Transactions taken into one redb commit at most. Bounds the latency one commit adds to the
/// first caller of a batch while still amortising the fsync across parallel writers.
const MAX_BATCH: usize = 512;

/// Tuning of the embedded store.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Commit batches kept in memory for watchers that are catching up; a watcher further
    /// behind than this is dropped with [`Error::Lagged`] and re-watches from its last revision.
    pub watch_buffer: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self { watch_buffer: 8192 }
    }
}

type Batch = Arc<Vec<Event>>;

struct Request {
    txn: Txn,
    reply: oneshot::Sender<Result<TxnResult>>,
}

/// A store in one redb file.
pub struct Embedded {
    db: Arc<Database>,
    path: PathBuf,
    writer: mpsc::Sender<Request>,
    events: broadcast::Sender<Batch>,
    revision: Arc<AtomicI64>,
    compacted: Arc<AtomicI64>,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("path", &self.path)
            .field("revision", &self.revision.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::Embedded(e.to_string())
}

impl Embedded {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: impl AsRef<Path>, opts: EmbeddedOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let db = Database::create(&path).map_err(db_err)?;
        let (revision, compacted) = {
            let w = db.begin_write().map_err(db_err)?;
            let (rev, comp) = {
                let _ = w.open_table(KV).map_err(db_err)?;
                let _ = w.open_table(LOG).map_err(db_err)?;
                let meta = w.open_table(META).map_err(db_err)?;
                let rev = meta
                    .get("revision")
                    .map_err(db_err)?
                    .map_or(1, |g| g.value());
                let comp = meta
                    .get("compacted")
                    .map_err(db_err)?
                    .map_or(0, |g| g.value());
                (rev, comp)
            };
            w.commit().map_err(db_err)?;
            (rev, comp)
        };
        let db = Arc::new(db);
        let revision = Arc::new(AtomicI64::new(revision));
        let compacted = Arc::new(AtomicI64::new(compacted));
        let (events, _) = broadcast::channel(opts.watch_buffer.max(16));
        let (writer, rx) = mpsc::channel(4 * MAX_BATCH);
        let w = Writer {
            db: db.clone(),
            revision: revision.clone(),
            events: events.clone(),
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || w.run(rx))
            .map_err(db_err)?;
        Ok(Self {
            db,
            path,
            writer,
            events,
            revision,
            compacted,
        })
    }
}

impl Backend for Embedded {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<KeyValue>>> {
        Box::pin(async move {
            let r = self.db.begin_read().map_err(db_err)?;
            let kv = r.open_table(KV).map_err(db_err)?;
            match kv.get(key).map_err(db_err)? {
                Some(v) => Ok(Some(decode_kv(key, v.value())?)),
                None => Ok(None),
            }
        })
    }

    fn list<'a>(&'a self, prefix: &'a str, opts: ListOptions) -> BoxFuture<'a, Result<ListResult>> {
        let db = self.db.clone();
        let prefix = prefix.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let r = db.begin_read().map_err(db_err)?;
                // The revision is read inside the same read transaction as the keys, so the
                // list is a consistent snapshot at that revision.
                let meta = r.open_table(META).map_err(db_err)?;
                let revision = meta
                    .get("revision")
                    .map_err(db_err)?
                    .map_or(1, |g| g.value());
                let kv = r.open_table(KV).map_err(db_err)?;
                if let Some(at) = opts.revision.filter(|at| *at < revision) {
                    let compacted = meta
                        .get("compacted")
                        .map_err(db_err)?
                        .map_or(0, |g| g.value());
                    if at < compacted {
                        return Err(Error::Compacted {
                            requested: at,
                            compacted,
                        });
                    }
                    let log = r.open_table(LOG).map_err(db_err)?;
                    return list_at(&kv, &log, &prefix, &opts, at);
                }
                let start = match &opts.start_after {
                    Some(s) if s.as_str() >= prefix.as_str() => s.clone(),
                    _ => prefix.clone(),
                };
                let mut kvs = Vec::new();
                let mut more = false;
                for item in kv.range(start.as_str()..).map_err(db_err)? {
                    let (k, v) = item.map_err(db_err)?;
                    let k = k.value();
                    if !k.starts_with(prefix.as_str()) {
                        break;
                    }
                    if opts.start_after.as_deref() == Some(k) {
                        continue;
                    }
                    if opts.limit > 0 && kvs.len() == opts.limit {
                        more = true;
                        break;
                    }
                    kvs.push(decode_kv(k, v.value())?);
                }
                Ok(ListResult {
                    kvs,
                    revision,
                    more,
                })
            })
            .await
            .map_err(db_err)?
        })
    }

    fn txn(&self, txn: Txn) -> BoxFuture<'_, Result<TxnResult>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.writer
                .send(Request { txn, reply })
                .await
                .map_err(|_| Error::Closed)?;
            rx.await.map_err(|_| Error::Closed)?
        })
    }

    fn watch<'a>(&'a self, prefix: &'a str, after: Revision) -> BoxFuture<'a, Result<WatchStream>> {
        Box::pin(async move {
            let compacted = self.compacted.load(Ordering::Acquire);
            if after < compacted {
                return Err(Error::Compacted {
                    requested: after + 1,
                    compacted,
                });
            }
            // Subscribe before reading history so nothing committed in between is missed;
            // duplicates are dropped by revision below.
            let mut rx = self.events.subscribe();
            let history = {
                let prefix = prefix.to_owned();
                let db = self.db.clone();
                tokio::task::spawn_blocking(move || read_history(&db, &prefix, after))
                    .await
                    .map_err(db_err)??
            };
            let prefix = prefix.to_owned();
            let stream = async_stream::stream! {
                let mut last = after;
                for ev in history {
                    last = ev.kv.mod_revision;
                    yield Ok(ev);
                }
                loop {
                    match rx.recv().await {
                        Ok(batch) => {
                            for ev in batch.iter() {
                                if ev.kv.mod_revision > last && ev.kv.key.starts_with(prefix.as_str()) {
                                    yield Ok(ev.clone());
                                }
                            }
                            if let Some(ev) = batch.last() {
                                last = last.max(ev.kv.mod_revision);
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            yield Err(Error::Lagged);
                            break;
                        }
                        Err(broadcast::error::RecvError::Closed) => {
                            yield Err(Error::Closed);
                            break;
                        }
                    }
                }
            };
            Ok(stream.boxed())
        })
    }

    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>> {
        let db = self.db.clone();
        let compacted = self.compacted.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || -> Result<()> {
                let w = db.begin_write().map_err(db_err)?;
                {
                    let mut meta = w.open_table(META).map_err(db_err)?;
                    let old = meta
                        .get("compacted")
                        .map_err(db_err)?
                        .map_or(0, |g| g.value());
                    if revision <= old {
                        return Ok(());
                    }
                    let mut log = w.open_table(LOG).map_err(db_err)?;
                    log.retain_in((0, 0)..(revision + 1, 0), |_, _| false)
                        .map_err(db_err)?;
                    meta.insert("compacted", revision).map_err(db_err)?;
                }
                w.commit().map_err(db_err)?;
                compacted.fetch_max(revision, Ordering::AcqRel);
                Ok(())
            })
            .await
            .map_err(db_err)?
        })
    }

    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        Box::pin(async move { Ok(self.revision.load(Ordering::Acquire)) })
    }
}

/// The keys under `prefix` as they were at revision `at` (older than the latest, not
/// compacted): the latest values, with every key changed after `at` put back to the value
/// its first later change replaced (`prev`; absent when that change created it). Work is
/// proportional to the keys listed plus the changes since `at`.
fn list_at(
    kv: &impl ReadableTable<&'static str, &'static [u8]>,
    log: &impl ReadableTable<(i64, u32), &'static [u8]>,
    prefix: &str,
    opts: &ListOptions,
    at: Revision,
) -> Result<ListResult> {
    use std::collections::BTreeMap;
    // Key → its value at `at` (None: absent then), for the keys changed since.
    let mut then: BTreeMap<String, Option<KeyValue>> = BTreeMap::new();
    for item in log.range((at + 1, 0)..).map_err(db_err)? {
        let (_, v) = item.map_err(db_err)?;
        // Only the key first: most logged changes are outside the prefix or not the first
        // change of their key, and need no decoding of their values.
        let key = event_key(v.value())?;
        if key.starts_with(prefix) && !then.contains_key(key) {
            let ev = decode_event(v.value())?;
            then.insert(ev.kv.key, ev.prev);
        }
    }
    let after = |k: &str| match &opts.start_after {
        Some(s) => k > s.as_str(),
        None => true,
    };
    let start = match &opts.start_after {
        Some(s) if s.as_str() >= prefix => s.clone(),
        _ => prefix.to_owned(),
    };
    // Merge the latest keys that did not change with the old values of those that did.
    let mut restored = then
        .range::<str, _>((
            std::ops::Bound::Included(start.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .filter(|(k, _)| after(k))
        .filter_map(|(_, v)| v.clone())
        .peekable();
    let mut kvs = Vec::new();
    let mut more = false;
    let mut latest = kv.range(start.as_str()..).map_err(db_err)?.peekable();
    loop {
        let next_latest = match latest.peek() {
            Some(Ok((k, _))) => {
                let k = k.value();
                if !k.starts_with(prefix) {
                    None
                } else {
                    Some(k.to_owned())
                }
            }
            Some(Err(_)) => {
                if let Some(Err(e)) = latest.next() {
                    return Err(db_err(e));
                }
                None
            }
            None => None,
        };
        let next_restored = restored.peek().map(|kv| kv.key.clone());
        let take_latest = match (&next_latest, &next_restored) {
            (None, None) => break,
            (Some(l), Some(r)) => l < r,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        let item = if take_latest {
            let Some(Ok((k, v))) = latest.next() else {
                break;
            };
            let key = k.value();
            if then.contains_key(key) || !after(key) {
                continue;
            }
            decode_kv(key, v.value())?
        } else {
            let Some(r) = restored.next() else {
                break;
            };
            r
        };
        if opts.limit > 0 && kvs.len() == opts.limit {
            more = true;
            break;
        }
        kvs.push(item);
    }
    Ok(ListResult {
        kvs,
        revision: at,
        more,
    })
}

/// Every logged change under `prefix` after revision `after`, in order.
fn read_history(db: &Database, prefix: &str, after: Revision) -> Result<Vec<Event>> {
    let r = db.begin_read().map_err(db_err)?;
    let log = r.open_table(LOG).map_err(db_err)?;
    let mut out = Vec::new();
    for item in log.range((after + 1, 0)..).map_err(db_err)? {
        let (_, v) = item.map_err(db_err)?;
        if event_key(v.value())?.starts_with(prefix) {
            out.push(decode_event(v.value())?);
        }
    }
    Ok(out)
}

struct Writer {
    db: Arc<Database>,
    revision: Arc<AtomicI64>,
    events: broadcast::Sender<Batch>,
}

impl Writer {
    fn run(self, mut rx: mpsc::Receiver<Request>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            match self.commit(&batch) {
                Ok((results, events)) => {
                    if let Some(last) = events.last() {
                        self.revision.store(last.kv.mod_revision, Ordering::Release);
                    }
                    if !events.is_empty() {
                        // No receivers is fine: nobody is watching.
                        let _ = self.events.send(Arc::new(events));
                    }
                    for (req, res) in batch.into_iter().zip(results) {
                        let _ = req.reply.send(Ok(res));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "store commit failed");
                    for req in batch {
                        let _ = req.reply.send(Err(Error::Embedded(e.to_string())));
                    }
                }
            }
        }
    }

    fn commit(&self, batch: &[Request]) -> Result<(Vec<TxnResult>, Vec<Event>)> {
        let w = self.db.begin_write().map_err(db_err)?;
        let mut results = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        {
            let mut kv = w.open_table(KV).map_err(db_err)?;
            let mut log = w.open_table(LOG).map_err(db_err)?;
            let mut meta = w.open_table(META).map_err(db_err)?;
            let mut rev = meta
                .get("revision")
                .map_err(db_err)?
                .map_or(1, |g| g.value());
            for req in batch {
                let failed = req.txn.compares.iter().position(|c| {
                    let cur = kv
                        .get(c.key())
                        .ok()
                        .flatten()
                        .and_then(|g| decode_kv(c.key(), g.value()).ok());
                    match c {
                        Compare::Absent(_) => cur.is_some(),
                        Compare::ModRevision(_, r) => cur.is_none_or(|kv| kv.mod_revision != *r),
                    }
                });
                if let Some(i) = failed {
                    results.push(TxnResult::Failed(i));
                    continue;
                }
                let mut idx = 0u32;
                let mut changed = false;
                for op in &req.txn.ops {
                    let key = match op {
                        Op::Put(k, _) | Op::Delete(k) => k.as_str(),
                    };
                    let prev = kv
                        .get(key)
                        .map_err(db_err)?
                        .map(|g| decode_kv(key, g.value()))
                        .transpose()?;
                    if !changed {
                        rev += 1;
                        changed = true;
                    }
                    let ev = match op {
                        Op::Put(k, v) => {
                            let create = prev.as_ref().map_or(rev, |p| p.create_revision);
                            let now = KeyValue {
                                key: k.clone(),
                                value: v.clone(),
                                create_revision: create,
                                mod_revision: rev,
                            };
                            kv.insert(k.as_str(), encode_kv(&now).as_slice())
                                .map_err(db_err)?;
                            Event {
                                kind: EventKind::Put,
                                kv: now,
                                prev,
                            }
                        }
                        Op::Delete(k) => {
                            let Some(p) = prev else { continue };
                            kv.remove(k.as_str()).map_err(db_err)?;
                            Event {
                                kind: EventKind::Delete,
                                kv: KeyValue {
                                    key: k.clone(),
                                    value: Bytes::new(),
                                    create_revision: p.create_revision,
                                    mod_revision: rev,
                                },
                                prev: Some(p),
                            }
                        }
                    };
                    log.insert((rev, idx), encode_event(&ev).as_slice())
                        .map_err(db_err)?;
                    idx += 1;
                    events.push(ev);
                }
                // A transaction whose ops changed nothing (deletes of absent keys) still
                // commits, at the current revision, as etcd does.
                results.push(TxnResult::Committed(rev));
            }
            meta.insert("revision", rev).map_err(db_err)?;
        }
        w.commit().map_err(db_err)?;
        Ok((results, events))
    }
}

fn encode_kv(kv: &KeyValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + kv.value.len());
    out.extend_from_slice(&kv.create_revision.to_le_bytes());
    out.extend_from_slice(&kv.mod_revision.to_le_bytes());
    out.extend_from_slice(&kv.value);
    out
}

fn read_i64(b: &[u8], at: usize) -> Result<i64> {
    let s: [u8; 8] = b
        .get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::Embedded("corrupt record".into()))?;
    Ok(i64::from_le_bytes(s))
}

fn read_u32(b: &[u8], at: usize) -> Result<usize> {
    let s: [u8; 4] = b
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| Error::Embedded("corrupt record".into()))?;
    Ok(u32::from_le_bytes(s) as usize)
}

fn decode_kv(key: &str, b: &[u8]) -> Result<KeyValue> {
    Ok(KeyValue {
        key: key.to_owned(),
        create_revision: read_i64(b, 0)?,
        mod_revision: read_i64(b, 8)?,
        value: Bytes::copy_from_slice(b.get(16..).unwrap_or_default()),
    })
}

/// Log record: kind u8, key, kv revisions + value, then an optional previous kv.
fn encode_event(ev: &Event) -> Vec<u8> {
    fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
        out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(b);
    }
    let mut out = Vec::new();
    out.push(match ev.kind {
        EventKind::Put => 0,
        EventKind::Delete => 1,
    });
    put_bytes(&mut out, ev.kv.key.as_bytes());
    out.extend_from_slice(&ev.kv.create_revision.to_le_bytes());
    out.extend_from_slice(&ev.kv.mod_revision.to_le_bytes());
    put_bytes(&mut out, &ev.kv.value);
    if let Some(p) = &ev.prev {
        out.push(1);
        out.extend_from_slice(&p.create_revision.to_le_bytes());
        out.extend_from_slice(&p.mod_revision.to_le_bytes());
        put_bytes(&mut out, &p.value);
    } else {
        out.push(0);
    }
    out
}

/// The key of an encoded event (the layout [`decode_event`] reads), without decoding the rest.
fn event_key(b: &[u8]) -> Result<&str> {
    let klen = read_u32(b, 1)?;
    b.get(5..5 + klen)
        .and_then(|k| std::str::from_utf8(k).ok())
        .ok_or_else(|| Error::Embedded("corrupt log record".into()))
}

fn decode_event(b: &[u8]) -> Result<Event> {
    let corrupt = || Error::Embedded("corrupt log record".into());
    let kind = match b.first() {
        Some(0) => EventKind::Put,
        Some(1) => EventKind::Delete,
        _ => return Err(corrupt()),
    };
    let mut at = 1;
    let klen = read_u32(b, at)?;
    at += 4;
    let key = std::str::from_utf8(b.get(at..at + klen).ok_or_else(corrupt)?)
        .map_err(|_| corrupt())?
        .to_owned();
    at += klen;
    let create_revision = read_i64(b, at)?;
    let mod_revision = read_i64(b, at + 8)?;
    at += 16;
    let vlen = read_u32(b, at)?;
    at += 4;
    let value = Bytes::copy_from_slice(b.get(at..at + vlen).ok_or_else(corrupt)?);
    at += vlen;
    let prev = match b.get(at) {
        Some(1) => {
            at += 1;
            let c = read_i64(b, at)?;
            let m = read_i64(b, at + 8)?;
            at += 16;
            let plen = read_u32(b, at)?;
            at += 4;
            Some(KeyValue {
                key: key.clone(),
                value: Bytes::copy_from_slice(b.get(at..at + plen).ok_or_else(corrupt)?),
                create_revision: c,
                mod_revision: m,
            })
        }
        _ => None,
    };
    Ok(Event {
        kind,
        kv: KeyValue {
            key,
            value,
            create_revision,
            mod_revision,
        },
        prev,
    })
}
