//! Watch streams: newline-delimited JSON `WatchEvent`s, chunked and flushed per event.
//!
//! Semantics as the apiserver's cacher (`apiserver/pkg/storage/cacher`): an unset or "0"
//! resourceVersion first sends a synthetic `ADDED` per current object; `N` sends every change
//! after N or one `ERROR` event with 410 `Expired` when that history is compacted. Events are
//! filtered by the selectors before they are sent, and an object that stops matching is sent
//! as `DELETED` (its previous state at the new revision).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, header};
use rand::Rng;
use serde_json::{Value, json};
use tether_api::ApiError;
use tether_api::resources::Resource;
use tether_store::{EventKind, Revision};

use crate::registry::{self, Registry};
use crate::table::{self, IncludeObject};

/// A predicate over objects (label and field selectors).
pub(crate) type Filter = Arc<dyn Fn(&Value) -> bool + Send + Sync>;

/// Whether `v` passes `filter` (no filter: everything passes).
pub(crate) fn matches(filter: Option<&Filter>, v: &Value) -> bool {
    filter.is_none_or(|f| f(v))
}

/// Everything a watch request asked for.
pub(crate) struct WatchRequest {
    pub(crate) resource: &'static Resource,
    pub(crate) namespace: Option<String>,
    /// `None`: no selectors (the watcher need not look at an object's previous state to
    /// tell `ADDED` from `MODIFIED`).
    pub(crate) filter: Option<Filter>,
    pub(crate) resource_version: Option<String>,
    pub(crate) send_initial_events: bool,
    pub(crate) bookmarks: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) table: Option<IncludeObject>,
}

/// Interval between bookmarks when the client allows them.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

fn line(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

struct Encoder {
    r: &'static Resource,
    table: Option<IncludeObject>,
    columns_sent: bool,
}

impl Encoder {
    fn event(&mut self, ty: &str, obj: Value) -> Bytes {
        let object = match self.table {
            Some(include) => {
                let rv = obj
                    .pointer("/metadata/resourceVersion")
                    .cloned()
                    .unwrap_or(Value::Null);
                let t = table::table(
                    self.r,
                    std::slice::from_ref(&obj),
                    include,
                    !self.columns_sent,
                    json!({"resourceVersion": rv}),
                );
                self.columns_sent = true;
                t
            }
            None => obj,
        };
        line(&json!({"type": ty, "object": object}))
    }

    fn bookmark(&self, rev: Revision, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rev.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(&json!({"type": "BOOKMARK", "object": {
            "kind": self.r.kind,
            "apiVersion": self.r.api_version(),
            "metadata": meta,
        }}))
    }
}

fn error_event(e: &ApiError) -> Bytes {
    line(&json!({"type": "ERROR", "object": e.to_status()}))
}

fn streaming(body: Body) -> Response {
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// Serves a watch.
pub(crate) async fn serve(reg: Arc<Registry>, w: WatchRequest) -> Result<Response, ApiError> {
    let r = w.resource;
    let rv = w.resource_version.clone().unwrap_or_default();
    let legacy_initial = rv.is_empty() || rv == "0";
    let (initial, start) = if legacy_initial || w.send_initial_events {
        let filter = w.filter.clone();
        let page = reg
            .list(r, w.namespace.as_deref(), None, None, 0, &|v| {
                matches(filter.as_ref(), v)
            })
            .await?;
        (page.items, page.revision)
    } else {
        let n: Revision = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
        (Vec::new(), n)
    };
    let prefix = registry::prefix(r, w.namespace.as_deref());
    let mut enc = Encoder {
        r,
        table: w.table,
        columns_sent: false,
    };
    let mut events = match reg.store().watch(&prefix, start).await {
        Ok(s) => s,
        Err(tether_store::Error::Compacted { compacted, .. }) => {
            let e = ApiError::expired(format!("too old resource version: {start} ({compacted})"));
            let body = Body::from(error_event(&e));
            return Ok(streaming(body));
        }
        Err(e) => return Err(crate::error::store_error(e)),
    };
    let timeout = w
        .timeout
        .unwrap_or_else(|| Duration::from_secs(rand::rng().random_range(1800..3600)));
    let filter = w.filter.clone();
    let send_initial_end = w.send_initial_events;
    let bookmarks = w.bookmarks;
    let stream = async_stream::stream! {
        let mut last = start;
        for obj in initial {
            yield Ok::<Bytes, Infallible>(enc.event("ADDED", obj));
        }
        if send_initial_end {
            yield Ok(enc.bookmark(last, true));
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_EVERY);
        tick.tick().await;
        loop {
            tokio::select! {
                () = &mut deadline => break,
                _ = tick.tick(), if bookmarks => {
                    yield Ok(enc.bookmark(last, false));
                }
                ev = events.next() => {
                    let Some(ev) = ev else { break };
                    let ev = match ev {
                        Ok(ev) => ev,
                        Err(tether_store::Error::Compacted { compacted, .. }) => {
                            let e = ApiError::expired(format!("too old resource version: {last} ({compacted})"));
                            yield Ok(error_event(&e));
                            break;
                        }
                        // A lagging or broken store watch ends the stream; clients re-watch
                        // from the last resourceVersion they saw.
                        Err(_) => break,
                    };
                    let rev = ev.kv.mod_revision;
                    last = rev;
                    let cur = match ev.kind {
                        EventKind::Put => registry::decode(&ev.kv).ok(),
                        EventKind::Delete => None,
                    };
                    let cur_pass = cur.as_ref().is_some_and(|c| matches(filter.as_ref(), c));
                    // The previous state is decoded only when it decides the event: a selector
                    // to test it against, or a DELETED to send.
                    let prev = if cur_pass && filter.is_none() {
                        None
                    } else {
                        ev.prev.as_ref().and_then(|p| registry::decode(p).ok())
                    };
                    let prev_pass = match &filter {
                        None if cur_pass => ev.prev.is_some(),
                        _ => prev.as_ref().is_some_and(|p| matches(filter.as_ref(), p)),
                    };
                    match (cur, cur_pass, prev_pass) {
                        (Some(c), true, false) => yield Ok(enc.event("ADDED", c)),
                        (Some(c), true, true) => yield Ok(enc.event("MODIFIED", c)),
                        (_, false, true) => {
                            if let Some(mut p) = prev {
                                registry::set_rv(&mut p, rev);
                                yield Ok(enc.event("DELETED", p));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    };
    Ok(streaming(Body::from_stream(stream)))
}
