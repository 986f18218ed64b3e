//! Keeps a [`ServiceMap`] in step with the API server: reflectors over Services and
//! EndpointSlices in all namespaces, and a fresh snapshot published after each burst of
//! changes. The only I/O in this crate.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ServiceMap;
use crate::model::LABEL_SERVICE_NAME;

/// How long changes are coalesced after the first one before a snapshot is published:
/// kube-proxy's `minSyncPeriod` idea (its default is 1 s; a few ms already folds the
/// Service + EndpointSlice pair a `kubectl apply` produces into one snapshot).
pub const COALESCE: Duration = Duration::from_millis(10);

/// Why [`run`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A watch stream ended (it never does while the client lives).
    #[error("the {0} watch stream ended")]
    StreamEnded(&'static str),
}

/// What one watch event touched.
#[derive(Debug)]
enum Touch {
    /// A Service was added, changed or deleted.
    Service { namespace: String, name: String },
    /// An EndpointSlice was added, changed (`service`: its `kubernetes.io/service-name`)
    /// or deleted.
    Slice {
        namespace: String,
        slice: String,
        service: Option<String>,
        deleted: bool,
    },
    /// A (re)list of Services completed.
    ServicesListed,
    /// A (re)list of EndpointSlices completed.
    SlicesListed,
    /// Part of a list still in progress (applied to the store at its end).
    Nothing,
}

fn service_touch(ev: &watcher::Event<Service>) -> Touch {
    match ev {
        watcher::Event::Apply(s) | watcher::Event::Delete(s) => Touch::Service {
            namespace: s.metadata.namespace.clone().unwrap_or_default(),
            name: s.metadata.name.clone().unwrap_or_default(),
        },
        watcher::Event::InitDone => Touch::ServicesListed,
        watcher::Event::Init | watcher::Event::InitApply(_) => Touch::Nothing,
    }
}

fn slice_touch(ev: &watcher::Event<EndpointSlice>) -> Touch {
    match ev {
        watcher::Event::Apply(s) | watcher::Event::Delete(s) => Touch::Slice {
            namespace: s.metadata.namespace.clone().unwrap_or_default(),
            slice: s.metadata.name.clone().unwrap_or_default(),
            service: service_label(s),
            deleted: matches!(ev, watcher::Event::Delete(_)),
        },
        watcher::Event::InitDone => Touch::SlicesListed,
        watcher::Event::Init | watcher::Event::InitApply(_) => Touch::Nothing,
    }
}

fn service_label(s: &EndpointSlice) -> Option<String> {
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_SERVICE_NAME))
        .cloned()
}

/// `(namespace, name)`.
type Key = (String, String);

/// Which EndpointSlices belong to which Service, kept from the slice events so that a
/// changed Service finds its slices without a scan of the store.
#[derive(Debug, Default)]
struct SliceIndex {
    /// (namespace, slice) → the Service it was labelled for.
    owner: HashMap<Key, String>,
    /// (namespace, Service) → its slices.
    by_service: HashMap<Key, BTreeSet<String>>,
}

impl SliceIndex {
    /// Records `slice`'s owner (`None`: deleted or unlabelled); returns the Services
    /// whose slices changed (the old owner and the new).
    fn set(&mut self, namespace: &str, slice: &str, service: Option<String>) -> Vec<Key> {
        let mut touched = Vec::new();
        let key = (namespace.to_owned(), slice.to_owned());
        if let Some(old) = self.owner.remove(&key) {
            let svc = (namespace.to_owned(), old);
            if let Some(set) = self.by_service.get_mut(&svc) {
                set.remove(slice);
                if set.is_empty() {
                    self.by_service.remove(&svc);
                }
            }
            touched.push(svc);
        }
        if let Some(service) = service {
            let svc = (namespace.to_owned(), service.clone());
            self.by_service
                .entry(svc.clone())
                .or_default()
                .insert(slice.to_owned());
            self.owner.insert(key, service);
            if !touched.contains(&svc) {
                touched.push(svc);
            }
        }
        touched
    }

    /// Rebuilds the index from a complete list.
    fn rebuild<'a>(&mut self, slices: impl IntoIterator<Item = &'a EndpointSlice>) {
        *self = Self::default();
        for s in slices {
            let ns = s.metadata.namespace.as_deref().unwrap_or_default();
            let name = s.metadata.name.as_deref().unwrap_or_default();
            self.set(ns, name, service_label(s));
        }
    }
}

/// Watches Services and EndpointSlices in all namespaces and publishes the map as node
/// `node_name` sees it on `tx`, until `shutdown` is cancelled or every receiver is gone.
///
/// The first snapshot is sent (with `send_replace`, so receivers see a change even when
/// it equals the placeholder the channel was created with) only once both initial lists
/// are complete, like kube-proxy waiting for `servicesSynced && endpointSlicesSynced`:
/// consumers should wait for the first `changed()` before acting. Later snapshots are
/// sent only when the map actually changed, at most once per [`COALESCE`] window. Watch
/// errors are logged and retried with back-off.
///
/// After the first snapshot, a burst recomputes only the Services its events touched
/// (a Service event, or an event of one of its EndpointSlices), so one change costs work
/// proportional to that Service plus one copy of the map's pointers; a relist rebuilds
/// everything. Unchanged entries keep their `Arc`s across snapshots, so consumers'
/// [`changes`](crate::changes) skip them by pointer.
pub async fn run(
    client: kube::Client,
    node_name: String,
    tx: watch::Sender<Arc<ServiceMap>>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (services, svc_stream) = reflect::<Service>(&client, service_touch);
    let (slices, slice_stream) = reflect::<EndpointSlice>(&client, slice_touch);
    let mut events = std::pin::pin!(futures::stream::select(svc_stream, slice_stream));

    let (mut svc_synced, mut slices_synced, mut published) = (false, false, false);
    let mut index = SliceIndex::default();
    let mut current = ServiceMap::new();
    let mut dirty: BTreeSet<Key> = BTreeSet::new();
    let mut full = true;
    loop {
        // Wait for the first event of a burst, then fold in everything within COALESCE.
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tx.closed() => return Ok(()),
                () = sleep => break,
                ev = events.next() => match ev {
                    Some(Ok(touch)) => {
                        match touch {
                            Touch::Service { namespace, name } => {
                                dirty.insert((namespace, name));
                            }
                            Touch::Slice { namespace, slice, service, deleted } => {
                                let owner = if deleted { None } else { service };
                                dirty.extend(index.set(&namespace, &slice, owner));
                            }
                            Touch::ServicesListed => {
                                svc_synced = true;
                                full = true;
                            }
                            Touch::SlicesListed => {
                                slices_synced = true;
                                index.rebuild(slices.state().iter().map(AsRef::as_ref));
                                full = true;
                            }
                            Touch::Nothing => continue,
                        }
                        deadline.get_or_insert_with(|| tokio::time::Instant::now() + COALESCE);
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "service map watch error (retrying)"),
                    None => return Err(Error::StreamEnded("Service/EndpointSlice")),
                },
            }
        }
        if !svc_synced || !slices_synced || (!full && dirty.is_empty()) {
            continue;
        }
        let changed = if full {
            let svcs = services.state();
            let eps = slices.state();
            let mut map = ServiceMap::from_object_refs(
                svcs.iter().map(AsRef::as_ref),
                eps.iter().map(AsRef::as_ref),
                &node_name,
            );
            let changed = map.adopt_unchanged(&current);
            current = map;
            changed
        } else {
            let mut changed = false;
            for (ns, name) in &dirty {
                let svc = services.get(&ObjectRef::new(name).within(ns));
                let svc_slices: Vec<Arc<EndpointSlice>> = index
                    .by_service
                    .get(&(ns.clone(), name.clone()))
                    .into_iter()
                    .flatten()
                    .filter_map(|s| slices.get(&ObjectRef::new(s).within(ns)))
                    .collect();
                let fresh = ServiceMap::from_object_refs(
                    svc.iter().map(AsRef::as_ref),
                    svc_slices.iter().map(AsRef::as_ref),
                    &node_name,
                );
                changed |= current.replace_service(ns, name, fresh);
            }
            changed
        };
        full = false;
        dirty.clear();
        if !published {
            tracing::info!(ports = current.len(), "service map initially synced");
            tx.send_replace(Arc::new(current.clone()));
            published = true;
        } else if changed {
            tracing::debug!(ports = current.len(), "service map changed");
            tx.send_replace(Arc::new(current.clone()));
        }
    }
}

/// A reflector over all objects of kind `K`: the store and a stream of what each event,
/// once applied to the store, touched.
fn reflect<K>(
    client: &kube::Client,
    touch: fn(&watcher::Event<K>) -> Touch,
) -> (
    Store<K>,
    impl Stream<Item = Result<Touch, watcher::Error>> + Send + use<K>,
)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde_like::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::all(client.clone());
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher(api, watcher::Config::default())
            .default_backoff()
            // managedFields are never read here: not kept in memory (None, not [], which
            // would reset them if the object were written back).
            .modify(|o| o.meta_mut().managed_fields = None),
    )
    .map_ok(move |ev| touch(&ev));
    (reader, stream)
}

/// `serde::de::DeserializeOwned` without a direct serde dependency.
mod serde_like {
    pub(super) use k8s_openapi::serde::de::DeserializeOwned;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ns: &str, svc: &str) -> Key {
        (ns.to_owned(), svc.to_owned())
    }

    #[test]
    fn slice_index_follows_relabels_and_deletes() {
        let mut ix = SliceIndex::default();
        assert_eq!(
            ix.set("a", "web-1", Some("web".into())),
            vec![key("a", "web")]
        );
        ix.set("a", "web-2", Some("web".into()));
        // Relabelled to another Service: both are touched.
        assert_eq!(
            ix.set("a", "web-2", Some("api".into())),
            vec![key("a", "web"), key("a", "api")]
        );
        assert_eq!(ix.by_service[&key("a", "web")].len(), 1);
        // Deleted: its Service is touched and forgets it.
        assert_eq!(ix.set("a", "web-1", None), vec![key("a", "web")]);
        assert!(!ix.by_service.contains_key(&key("a", "web")));
        // Same names in another namespace are other slices.
        ix.set("b", "web-2", Some("api".into()));
        assert_eq!(ix.by_service[&key("a", "api")].len(), 1);
        assert_eq!(ix.owner.len(), 2);
    }
}
