//! Keeps a [`ServiceMap`] in step with the API server: reflectors over Services and
//! EndpointSlices in all namespaces, and a fresh snapshot published after each burst of
//! changes. The only I/O in this crate.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ServiceMap;

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

/// Which stream an event came from, and whether it completed an initial list.
#[derive(Debug, Clone, Copy)]
enum Tick {
    Services { init_done: bool },
    Slices { init_done: bool },
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
pub async fn run(
    client: kube::Client,
    node_name: String,
    tx: watch::Sender<Arc<ServiceMap>>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let (services, svc_stream) = reflect::<Service>(&client);
    let (slices, slice_stream) = reflect::<EndpointSlice>(&client);
    let svc_stream = svc_stream.map_ok(|init_done| Tick::Services { init_done });
    let slice_stream = slice_stream.map_ok(|init_done| Tick::Slices { init_done });
    let mut events = std::pin::pin!(futures::stream::select(svc_stream, slice_stream));

    let (mut svc_synced, mut slices_synced, mut published) = (false, false, false);
    loop {
        // Wait for the first event of a burst, then fold in everything within COALESCE.
        let mut dirty = false;
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
                    Some(Ok(tick)) => {
                        match tick {
                            Tick::Services { init_done } => svc_synced |= init_done,
                            Tick::Slices { init_done } => slices_synced |= init_done,
                        }
                        dirty = true;
                        deadline.get_or_insert_with(|| tokio::time::Instant::now() + COALESCE);
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "service map watch error (retrying)"),
                    None => return Err(Error::StreamEnded("Service/EndpointSlice")),
                },
            }
        }
        if !dirty || !svc_synced || !slices_synced {
            continue;
        }
        let svcs = services.state();
        let eps = slices.state();
        let map = ServiceMap::from_object_refs(
            svcs.iter().map(AsRef::as_ref),
            eps.iter().map(AsRef::as_ref),
            &node_name,
        );
        if !published {
            tracing::info!(ports = map.len(), "service map initially synced");
            tx.send_replace(Arc::new(map));
            published = true;
        } else {
            let mut map = map;
            tx.send_if_modified(|cur| {
                // Unchanged entries take the previous snapshot's `Arc`s, so consumers'
                // `changes()` skip them by pointer.
                let mut changed = map.len() != cur.len();
                for (name, port) in &mut map.ports {
                    match cur.ports.get(name) {
                        Some(old) if **old == **port => *port = Arc::clone(old),
                        _ => changed = true,
                    }
                }
                if !changed {
                    false
                } else {
                    tracing::debug!(ports = map.len(), "service map changed");
                    *cur = Arc::new(map);
                    true
                }
            });
        }
    }
}

/// A reflector over all objects of kind `K`: the store and a stream of "event applied"
/// ticks, `true` when the tick completed a (re)list.
fn reflect<K>(
    client: &kube::Client,
) -> (
    Store<K>,
    impl Stream<Item = Result<bool, watcher::Error>> + Send + use<K>,
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
        watcher(api, watcher::Config::default()).default_backoff(),
    )
    .map_ok(|ev| matches!(ev, watcher::Event::InitDone));
    (reader, stream)
}

/// `serde::de::DeserializeOwned` without a direct serde dependency.
mod serde_like {
    pub(super) use k8s_openapi::serde::de::DeserializeOwned;
}
