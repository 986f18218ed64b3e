//! The etcd v3 backend: the same model, served by a real etcd cluster.
//!
//! Revisions are etcd's; a [`Txn`] maps to one etcd `Txn` whose failure branch reads back every
//! compared key, so the caller learns which compare failed (etcd itself does not say).

use bytes::Bytes;
use etcd_client::{
    Client, Compare as ECompare, CompareOp, EventType, GetOptions, KvClient, Txn as ETxn, TxnOp,
    TxnOpResponse, WatchClient, WatchOptions,
};
use futures::StreamExt;
use futures::future::BoxFuture;

use crate::{
    Backend, Compare, Error, Event, EventKind, KeyValue, ListOptions, ListResult, Op, Result,
    Revision, Txn, TxnResult, WatchStream, prefix_end,
};

/// The largest response the client decodes: etcd's Go client (`clientv3`, used by
/// kube-apiserver) defaults `MaxCallRecvMsgSize` to `math.MaxInt32` because a range response
/// easily exceeds the request limit; tonic's default of 4 MiB would fail any unpaginated list
/// over 4 MiB ("decoded message length too large").
const MAX_RECV_MSG_SIZE: usize = i32::MAX as usize;

/// A store on an etcd v3 cluster.
#[derive(Clone)]
pub struct Etcd {
    kv: KvClient,
    watch: WatchClient,
    endpoints: Vec<String>,
}

impl std::fmt::Debug for Etcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Etcd")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

fn to_kv(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    }
}

fn is_compacted(e: &etcd_client::Error) -> bool {
    e.to_string()
        .contains("required revision has been compacted")
}

impl Etcd {
    /// Connects to the given endpoints (`http://127.0.0.1:2379`, ...).
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let client = Client::connect(endpoints, None).await?;
        Ok(Self {
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_RECV_MSG_SIZE),
            watch: client
                .watch_client()
                .max_decoding_message_size(MAX_RECV_MSG_SIZE),
            endpoints: endpoints.to_vec(),
        })
    }
}

impl Backend for Etcd {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<KeyValue>>> {
        Box::pin(async move {
            let resp = self.kv.clone().get(key, None).await?;
            Ok(resp.kvs().first().map(to_kv))
        })
    }

    fn list<'a>(&'a self, prefix: &'a str, opts: ListOptions) -> BoxFuture<'a, Result<ListResult>> {
        Box::pin(async move {
            let start = match &opts.start_after {
                Some(s) if s.as_str() >= prefix => {
                    let mut k = s.clone().into_bytes();
                    k.push(0);
                    k
                }
                _ => prefix.as_bytes().to_vec(),
            };
            let mut o = GetOptions::new().with_range(prefix_end(prefix));
            if opts.limit > 0 {
                o = o.with_limit(i64::try_from(opts.limit).unwrap_or(i64::MAX));
            }
            if let Some(rev) = opts.revision {
                o = o.with_revision(rev);
            }
            let resp = match self.kv.clone().get(start, Some(o)).await {
                Ok(r) => r,
                Err(e) if is_compacted(&e) => {
                    // etcd does not say up to which revision; 0 reads as unknown.
                    return Err(Error::Compacted {
                        requested: opts.revision.unwrap_or_default(),
                        compacted: 0,
                    });
                }
                Err(e) => return Err(e.into()),
            };
            // The header carries the store's current revision; a read at a revision is a
            // snapshot of that one.
            let revision = opts
                .revision
                .unwrap_or_else(|| resp.header().map_or(0, |h| h.revision()));
            Ok(ListResult {
                kvs: resp.kvs().iter().map(to_kv).collect(),
                revision,
                more: resp.more(),
            })
        })
    }

    fn txn(&self, txn: Txn) -> BoxFuture<'_, Result<TxnResult>> {
        Box::pin(async move {
            let compares: Vec<ECompare> = txn
                .compares
                .iter()
                .map(|c| match c {
                    Compare::Absent(k) => {
                        ECompare::create_revision(k.as_str(), CompareOp::Equal, 0)
                    }
                    Compare::ModRevision(k, r) => {
                        ECompare::mod_revision(k.as_str(), CompareOp::Equal, *r)
                    }
                })
                .collect();
            let ops: Vec<TxnOp> = txn
                .ops
                .iter()
                .map(|op| match op {
                    Op::Put(k, v) => TxnOp::put(k.as_str(), v.to_vec(), None),
                    Op::Delete(k) => TxnOp::delete(k.as_str(), None),
                })
                .collect();
            let reads: Vec<TxnOp> = txn
                .compares
                .iter()
                .map(|c| TxnOp::get(c.key(), None))
                .collect();
            let resp = self
                .kv
                .clone()
                .txn(ETxn::new().when(compares).and_then(ops).or_else(reads))
                .await?;
            if resp.succeeded() {
                return Ok(TxnResult::Committed(
                    resp.header().map_or(0, |h| h.revision()),
                ));
            }
            let responses = resp.op_responses();
            let failed = txn
                .compares
                .iter()
                .zip(responses.iter())
                .position(|(c, r)| {
                    let cur = match r {
                        TxnOpResponse::Get(g) => g.kvs().first().map(to_kv),
                        _ => None,
                    };
                    match c {
                        Compare::Absent(_) => cur.is_some(),
                        Compare::ModRevision(_, rev) => {
                            cur.is_none_or(|kv| kv.mod_revision != *rev)
                        }
                    }
                })
                .unwrap_or(0);
            Ok(TxnResult::Failed(failed))
        })
    }

    fn watch<'a>(&'a self, prefix: &'a str, after: Revision) -> BoxFuture<'a, Result<WatchStream>> {
        Box::pin(async move {
            let opts = WatchOptions::new()
                .with_prefix()
                .with_prev_key()
                .with_start_revision(after + 1);
            let mut client = self.watch.clone();
            let mut stream = client.watch(prefix, Some(opts)).await?;
            // The first response confirms creation or reports a compacted start.
            let first = stream.message().await?;
            let mut pending = Vec::new();
            if let Some(resp) = first {
                if resp.compact_revision() > 0 || resp.canceled() {
                    return Err(Error::Compacted {
                        requested: after + 1,
                        compacted: resp.compact_revision(),
                    });
                }
                pending.extend(resp.events().iter().filter_map(convert_event));
            }
            let s = async_stream::stream! {
                // Keep the client alive with the stream.
                let _client = client;
                for ev in pending {
                    yield Ok(ev);
                }
                loop {
                    match stream.message().await {
                        Ok(Some(resp)) => {
                            if resp.canceled() {
                                if resp.compact_revision() > 0 {
                                    yield Err(Error::Compacted { requested: after + 1, compacted: resp.compact_revision() });
                                } else {
                                    yield Err(Error::Closed);
                                }
                                break;
                            }
                            for ev in resp.events().iter().filter_map(convert_event) {
                                yield Ok(ev);
                            }
                        }
                        Ok(None) => {
                            yield Err(Error::Closed);
                            break;
                        }
                        Err(e) => {
                            yield Err(Error::Etcd(e));
                            break;
                        }
                    }
                }
            };
            Ok(s.boxed())
        })
    }

    fn compact(&self, revision: Revision) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            match self.kv.clone().compact(revision, None).await {
                Ok(_) => Ok(()),
                Err(e) if is_compacted(&e) => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn current_revision(&self) -> BoxFuture<'_, Result<Revision>> {
        Box::pin(async move {
            let resp = self
                .kv
                .clone()
                .get("\0", Some(GetOptions::new().with_limit(1)))
                .await?;
            Ok(resp.header().map_or(0, |h| h.revision()))
        })
    }
}

fn convert_event(ev: &etcd_client::Event) -> Option<Event> {
    let kv = ev.kv().map(to_kv)?;
    let prev = ev.prev_kv().map(to_kv);
    Some(match ev.event_type() {
        EventType::Put => Event {
            kind: EventKind::Put,
            kv,
            prev,
        },
        EventType::Delete => Event {
            kind: EventKind::Delete,
            kv: KeyValue {
                value: Bytes::new(),
                ..kv
            },
            prev,
        },
    })
}
