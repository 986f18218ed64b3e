//! One reflector per served resource: the shared, eventually consistent view of every
//! object's metadata that the garbage collector and the namespace controller read.

use std::sync::Arc;

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tether_api::resources::{RESOURCES, Resource};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api_resource;

/// Stores of every served resource plus a notification on any change.
#[derive(Clone)]
pub struct Cache {
    stores: Arc<Vec<(&'static Resource, Store<DynamicObject>)>>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("kinds", &self.stores.len())
            .finish()
    }
}

/// What the cache keeps of an object: its metadata without annotations and managedFields.
fn strip_to_metadata(o: &mut DynamicObject) {
    o.data = serde_json::Value::Null;
    o.metadata.annotations = None;
    o.metadata.managed_fields = None;
}

impl Cache {
    /// Starts a reflector per resource (Events excluded: they own nothing and churn).
    pub fn start(client: Client, shutdown: CancellationToken) -> Self {
        let changed = Arc::new(Notify::new());
        let mut stores = Vec::new();
        for r in RESOURCES.iter().filter(|r| r.kind != "Event") {
            let ar = api_resource(r);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let writer = reflector::store::Writer::new(ar);
            let reader = writer.as_reader();
            // Only metadata is kept (what the garbage collector and the namespace
            // controller read): bodies, annotations (a `last-applied-configuration` copy)
            // and managedFields would hold the whole cluster in memory several times over.
            let stream = reflector::reflector(
                writer,
                watcher(api, watcher::Config::default())
                    .default_backoff()
                    .modify(strip_to_metadata),
            );
            let notify = changed.clone();
            let stop = shutdown.clone();
            let kind = r.kind;
            tokio::spawn(async move {
                let mut stream = std::pin::pin!(stream);
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        ev = stream.next() => match ev {
                            Some(Ok(_)) => notify.notify_waiters(),
                            Some(Err(e)) => tracing::debug!(kind, error = %e, "watch error (retrying)"),
                            None => return,
                        }
                    }
                }
            });
            stores.push((r, reader));
        }
        Self {
            stores: Arc::new(stores),
            changed,
        }
    }

    /// Waits until every store has its initial list. Call from one task only: kube's store
    /// readiness wakes a single waiter.
    pub async fn ready(&self) {
        for (_, s) in self.stores.iter() {
            let _ = s.wait_until_ready().await;
        }
    }

    /// Every cached object (metadata only) with its resource.
    pub fn all(&self) -> Vec<(&'static Resource, Arc<DynamicObject>)> {
        let mut out = Vec::new();
        for (r, s) in self.stores.iter() {
            out.extend(s.state().into_iter().map(|o| (*r, o)));
        }
        out
    }

    /// The cached objects (metadata only) of one resource.
    pub fn of(&self, kind: &str) -> Vec<Arc<DynamicObject>> {
        self.stores
            .iter()
            .find(|(r, _)| r.kind == kind)
            .map(|(_, s)| s.state())
            .unwrap_or_default()
    }

    /// Resolves when anything changed (or after `max`, whichever is first).
    pub async fn changed(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max, self.changed.notified()).await;
    }
}
