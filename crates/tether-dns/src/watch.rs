//! Watches of Services, EndpointSlices, Pods and Namespaces (all namespaces) feeding the index.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::serde::de::DeserializeOwned;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use tokio_util::sync::CancellationToken;

use crate::index::{Index, Kind, Update};

/// How one watched kind updates the index.
trait Indexed:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static
{
    const KIND: Option<Kind>;
    fn apply(tx: &mut Update<'_>, obj: &Self);
    fn remove(tx: &mut Update<'_>, obj: &Self);
    fn replace(tx: &mut Update<'_>, all: &[Self]);
}

impl Indexed for Service {
    const KIND: Option<Kind> = Some(Kind::Service);
    fn apply(tx: &mut Update<'_>, obj: &Self) {
        tx.apply_service(obj);
    }
    fn remove(tx: &mut Update<'_>, obj: &Self) {
        tx.remove_service(obj);
    }
    fn replace(tx: &mut Update<'_>, all: &[Self]) {
        tx.replace_services(all);
    }
}

impl Indexed for EndpointSlice {
    const KIND: Option<Kind> = Some(Kind::EndpointSlice);
    fn apply(tx: &mut Update<'_>, obj: &Self) {
        tx.apply_slice(obj);
    }
    fn remove(tx: &mut Update<'_>, obj: &Self) {
        tx.remove_slice(obj);
    }
    fn replace(tx: &mut Update<'_>, all: &[Self]) {
        tx.replace_slices(all);
    }
}

impl Indexed for Pod {
    const KIND: Option<Kind> = Some(Kind::Pod);
    fn apply(tx: &mut Update<'_>, obj: &Self) {
        tx.apply_pod(obj);
    }
    fn remove(tx: &mut Update<'_>, obj: &Self) {
        tx.remove_pod(obj);
    }
    fn replace(tx: &mut Update<'_>, all: &[Self]) {
        tx.replace_pods(all);
    }
}

impl Indexed for Namespace {
    const KIND: Option<Kind> = None;
    fn apply(tx: &mut Update<'_>, obj: &Self) {
        tx.apply_namespace(obj);
    }
    fn remove(tx: &mut Update<'_>, obj: &Self) {
        tx.remove_namespace(obj);
    }
    fn replace(tx: &mut Update<'_>, all: &[Self]) {
        tx.replace_namespaces(all);
    }
}

/// Watches Services, EndpointSlices, Pods and Namespaces in all namespaces and keeps `index`
/// current until `shutdown` is cancelled. The index reports synced once the first three have
/// been listed. Watch errors are logged and retried with backoff; they never stop serving.
pub async fn run_watches(client: Client, index: Arc<Index>, shutdown: CancellationToken) {
    let w1 = watch_kind::<Service>(client.clone(), Arc::clone(&index));
    let w2 = watch_kind::<EndpointSlice>(client.clone(), Arc::clone(&index));
    let w3 = watch_kind::<Pod>(client.clone(), Arc::clone(&index));
    let w4 = watch_kind::<Namespace>(client, index);
    tokio::select! {
        () = shutdown.cancelled() => {}
        _ = futures::future::join4(w1, w2, w3, w4) => {}
    }
}

async fn watch_kind<K: Indexed>(client: Client, index: Arc<Index>) {
    let api: Api<K> = Api::all(client);
    let kind = std::any::type_name::<K>();
    loop {
        let mut stream = watcher::watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            // managedFields are never read here: not kept in memory (None, not [], which
            // would reset them if the object were written back).
            .modify(|o| o.meta_mut().managed_fields = None)
            .boxed();
        let mut buffer: Vec<K> = Vec::new();
        let mut relisting = false;
        loop {
            match stream.try_next().await {
                Ok(Some(Event::Init)) => {
                    relisting = true;
                    buffer.clear();
                }
                Ok(Some(Event::InitApply(obj))) => {
                    if relisting {
                        buffer.push(obj);
                    } else {
                        index.update(|tx| K::apply(tx, &obj));
                    }
                }
                Ok(Some(Event::InitDone)) => {
                    relisting = false;
                    let all = std::mem::take(&mut buffer);
                    index.update(|tx| {
                        K::replace(tx, &all);
                        if let Some(k) = K::KIND {
                            tx.mark_synced(k);
                        }
                    });
                    tracing::debug!(kind, count = all.len(), "dns: watch listed");
                }
                Ok(Some(Event::Apply(obj))) => index.update(|tx| K::apply(tx, &obj)),
                Ok(Some(Event::Delete(obj))) => index.update(|tx| K::remove(tx, &obj)),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(kind, error = %e, "dns: watch error; retrying");
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
