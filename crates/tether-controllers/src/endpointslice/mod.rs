//! The EndpointSlice and Endpoints controllers (upstream `pkg/controller/endpointslice` and
//! `pkg/controller/endpoint`), driven by one index of Services, Pods and the slices we manage.
//!
//! Watch events mark Services dirty: a Service change marks itself; a Pod change marks the
//! Services in its namespace whose selector matches its labels now, plus those that counted it
//! last time (so a pod that loses a label leaves its Services); a change to a managed slice or
//! Endpoints marks its Service (repairs drift). A worker reconciles dirty Services with the
//! pure planners in [`reconciler`] and [`endpoints`].

pub mod endpoints;
pub mod mirroring;
pub mod reconciler;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::Error;
use reconciler::{MANAGED_BY, MANAGED_BY_LABEL, Op, SERVICE_NAME_LABEL};

type Key = (String, String);

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

#[derive(Default)]
struct Index {
    services: HashMap<Key, Arc<Service>>,
    pods: HashMap<String, HashMap<String, Arc<Pod>>>,
    slices: HashMap<Key, BTreeMap<String, EndpointSlice>>,
    endpoints: HashMap<Key, Endpoints>,
    /// Services that counted each pod at their last reconcile.
    members: HashMap<Key, BTreeSet<Key>>,
    dirty: BTreeSet<Key>,
    /// The known Nodes → zone label (pods on other Nodes are left out); shared with the
    /// workers by pointer, copied only when a Node changes while they hold it.
    zones: Arc<reconciler::Zones>,
    /// A Node relist in progress: the Nodes seen so far (replaces `zones` when complete,
    /// so Nodes deleted while the watch was down go too).
    nodes_relisting: Option<reconciler::Zones>,
    /// Deleted Services whose Endpoints must go (upstream's syncService on NotFound).
    gone: BTreeSet<Key>,
    /// Service keys known when a relist began.
    before_relist: BTreeSet<Key>,
    /// Leftover controller-written Endpoints were looked for after the first full sync.
    leftovers_checked: bool,
    synced: u8,
}

impl Index {
    fn mark_pod(&mut self, pod: &Pod) {
        let pk = key_of(&pod.metadata);
        let ns = pk.0.clone();
        let mut marks: Vec<Key> = self
            .members
            .get(&pk)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for (k, svc) in &self.services {
            if k.0 == ns
                && let Some(sel) = reconciler::service_selector(svc)
                && reconciler::selects(&sel, pod)
            {
                marks.push(k.clone());
            }
        }
        self.dirty.extend(marks);
    }
}

/// Controller state shared by the watch tasks and the worker.
#[derive(Clone)]
struct Shared {
    index: Arc<Mutex<Index>>,
    wake: Arc<Notify>,
}

const SYNCED_ALL: u8 = 0b1_1111;

/// Runs the controllers until `shutdown`.
pub async fn run(client: Client, shutdown: CancellationToken) -> Result<(), Error> {
    let shared = Shared {
        index: Arc::new(Mutex::new(Index::default())),
        wake: Arc::new(Notify::new()),
    };
    let mut tasks = tokio::task::JoinSet::new();
    let all = watcher::Config::default;
    let slices = all().labels(&format!(
        "{MANAGED_BY_LABEL} in ({MANAGED_BY},{})",
        mirroring::MIRROR_MANAGED_BY
    ));
    tasks.spawn(watch_loop(&client, all(), &shared, &shutdown, on_service));
    tasks.spawn(watch_loop(&client, all(), &shared, &shutdown, on_pod));
    tasks.spawn(watch_loop(&client, slices, &shared, &shutdown, on_slice));
    tasks.spawn(watch_loop(&client, all(), &shared, &shutdown, on_endpoints));
    tasks.spawn(watch_loop(&client, all(), &shared, &shutdown, on_node));
    tasks.spawn(worker(client, shared, shutdown.clone()));
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r {
            shutdown.cancel();
            return Err(e);
        }
    }
    Ok(())
}

/// Watches every `K` matching `cfg`, applies each event to the index with `handle` and wakes
/// the worker.
fn watch_loop<K>(
    client: &Client,
    cfg: watcher::Config,
    shared: &Shared,
    shutdown: &CancellationToken,
    handle: fn(&mut Index, Event<K>),
) -> impl Future<Output = Result<(), Error>> + Send + 'static
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::all(client.clone());
    let (shared, shutdown) = (shared.clone(), shutdown.clone());
    async move {
        let stream = watcher::watcher(api, cfg)
            .default_backoff()
            // managedFields are never read here: not kept in memory (None, not [], which
            // would reset them if the object were written back).
            .modify(|o| o.meta_mut().managed_fields = None);
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                ev = stream.next() => match ev {
                    Some(Ok(ev)) => {
                        handle(&mut *shared.index.lock().await, ev);
                        shared.wake.notify_one();
                    }
                    Some(Err(e)) => tracing::debug!(error = %e, "watch error (retrying)"),
                    None => return Ok(()),
                }
            }
        }
    }
}

fn on_service(ix: &mut Index, ev: Event<Service>) {
    match ev {
        Event::Apply(svc) | Event::InitApply(svc) => {
            let k = key_of(&svc.metadata);
            ix.services.insert(k.clone(), Arc::new(svc));
            ix.dirty.insert(k);
        }
        Event::Delete(svc) => {
            let k = key_of(&svc.metadata);
            ix.services.remove(&k);
            // Owned slices go with the Service through garbage collection; the Endpoints
            // (no owner reference, as upstream) are deleted by the worker.
            ix.dirty.remove(&k);
            ix.gone.insert(k);
        }
        Event::Init => {
            // Services deleted while the watch was down never send a Delete: remember what was
            // known, and count what the relist lacks as deleted (their Endpoints go). A relist
            // that restarts (a list error halfway) adds to what was known, never replaces it.
            ix.before_relist.extend(ix.services.keys().cloned());
            ix.services.clear();
        }
        Event::InitDone => {
            let lost: Vec<Key> = std::mem::take(&mut ix.before_relist)
                .into_iter()
                .filter(|k| !ix.services.contains_key(k))
                .collect();
            ix.gone.extend(lost);
            ix.synced |= 0b0001;
        }
    }
}

/// Nodes matter for existing (pods on a missing Node are left out) and for their zone
/// label: a Node appearing, going or changing zone re-plans every Service (once per
/// change; a relist is compared whole when it completes).
fn on_node(ix: &mut Index, ev: Event<k8s_openapi::api::core::v1::Node>) {
    let zone_of = |n: &k8s_openapi::api::core::v1::Node| {
        n.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(reconciler::ZONE_LABEL))
            .cloned()
    };
    let changed = match ev {
        Event::Init => {
            ix.nodes_relisting = Some(reconciler::Zones::new());
            false
        }
        Event::InitApply(n) => {
            let zone = zone_of(&n);
            ix.nodes_relisting
                .get_or_insert_with(reconciler::Zones::new)
                .insert(n.metadata.name.unwrap_or_default(), zone);
            false
        }
        Event::InitDone => {
            ix.synced |= 0b1_0000;
            let listed = ix.nodes_relisting.take().unwrap_or_default();
            let changed = *ix.zones != listed;
            ix.zones = Arc::new(listed);
            changed
        }
        Event::Apply(n) => {
            let zone = zone_of(&n);
            let name = n.metadata.name.unwrap_or_default();
            if ix.zones.get(&name) == Some(&zone) {
                false
            } else {
                Arc::make_mut(&mut ix.zones).insert(name, zone);
                true
            }
        }
        Event::Delete(n) => {
            let name = n.metadata.name.unwrap_or_default();
            ix.zones.contains_key(&name) && Arc::make_mut(&mut ix.zones).remove(&name).is_some()
        }
    };
    if changed {
        let keys: Vec<Key> = ix.services.keys().cloned().collect();
        ix.dirty.extend(keys);
    }
}

fn on_pod(ix: &mut Index, ev: Event<Pod>) {
    match ev {
        Event::Apply(pod) | Event::InitApply(pod) => {
            let (ns, name) = key_of(&pod.metadata);
            ix.mark_pod(&pod);
            ix.pods.entry(ns).or_default().insert(name, Arc::new(pod));
        }
        Event::Delete(pod) => {
            let (ns, name) = key_of(&pod.metadata);
            ix.mark_pod(&pod);
            if let Some(m) = ix.pods.get_mut(&ns) {
                m.remove(&name);
            }
        }
        Event::Init => ix.pods.clear(),
        Event::InitDone => ix.synced |= 0b0010,
    }
}

fn slice_service(sl: &EndpointSlice) -> Option<Key> {
    let svc = sl.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some((
        sl.metadata.namespace.clone().unwrap_or_default(),
        svc.clone(),
    ))
}

fn on_slice(ix: &mut Index, ev: Event<EndpointSlice>) {
    match ev {
        Event::Apply(sl) | Event::InitApply(sl) => {
            if let Some(k) = slice_service(&sl) {
                let name = sl.metadata.name.clone().unwrap_or_default();
                let stale = ix
                    .slices
                    .get(&k)
                    .and_then(|m| m.get(&name))
                    .is_some_and(|cur| rv(&cur.metadata) > rv(&sl.metadata));
                if !stale {
                    ix.slices.entry(k.clone()).or_default().insert(name, sl);
                }
                ix.dirty.insert(k);
            }
        }
        Event::Delete(sl) => {
            if let Some(k) = slice_service(&sl) {
                let name = sl.metadata.name.clone().unwrap_or_default();
                if let Some(m) = ix.slices.get_mut(&k) {
                    m.remove(&name);
                }
                ix.dirty.insert(k);
            }
        }
        Event::Init => ix.slices.clear(),
        Event::InitDone => ix.synced |= 0b0100,
    }
}

fn on_endpoints(ix: &mut Index, ev: Event<Endpoints>) {
    match ev {
        Event::Apply(ep) | Event::InitApply(ep) => {
            let k = key_of(&ep.metadata);
            let stale = ix
                .endpoints
                .get(&k)
                .is_some_and(|cur| rv(&cur.metadata) > rv(&ep.metadata));
            if !stale {
                ix.endpoints.insert(k.clone(), ep);
            }
            ix.dirty.insert(k);
        }
        Event::Delete(ep) => {
            let k = key_of(&ep.metadata);
            ix.endpoints.remove(&k);
            ix.dirty.insert(k);
        }
        Event::Init => ix.endpoints.clear(),
        Event::InitDone => ix.synced |= 0b1000,
    }
}

fn rv(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> i64 {
    m.resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

struct Mirror {
    key: Key,
    svc: Arc<Service>,
    endpoints: Option<Endpoints>,
    slices: Vec<EndpointSlice>,
}

fn managed_by(s: &EndpointSlice) -> &str {
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .map_or("", String::as_str)
}

async fn apply_ops(client: &Client, ns: &str, ops: Vec<Op>) -> Result<(), kube::Error> {
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    for op in ops {
        match op {
            Op::Create(sl) => {
                slices.create(&PostParams::default(), &sl).await?;
            }
            Op::Update(sl) => {
                let n = sl.metadata.name.clone().unwrap_or_default();
                slices.replace(&n, &PostParams::default(), &sl).await?;
            }
            Op::Delete(n) => match slices.delete(&n, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.is_not_found() => {}
                Err(e) => return Err(e),
            },
        }
    }
    Ok(())
}

struct Work {
    key: Key,
    svc: Arc<Service>,
    pods: Vec<Arc<Pod>>,
    slices: Vec<EndpointSlice>,
    endpoints: Option<Endpoints>,
    zones: Arc<reconciler::Zones>,
}

async fn worker(client: Client, s: Shared, shutdown: CancellationToken) -> Result<(), Error> {
    loop {
        let mut mirror: Vec<Mirror> = Vec::new();
        let mut delete_endpoints: Vec<Key> = Vec::new();
        let batch: Vec<Work> = {
            let mut ix = s.index.lock().await;
            if ix.synced != SYNCED_ALL {
                tracing::debug!(synced = ix.synced, "waiting for the initial lists");
                Vec::new()
            } else {
                if !ix.leftovers_checked {
                    // Upstream's checkLeftoverEndpoints: Endpoints this controller wrote (they
                    // carry the trigger-time annotation) whose Service is gone.
                    ix.leftovers_checked = true;
                    let leftovers: Vec<Key> = ix
                        .endpoints
                        .iter()
                        .filter(|(k, ep)| {
                            !ix.services.contains_key(*k)
                                && ep
                                    .metadata
                                    .annotations
                                    .as_ref()
                                    .is_some_and(|a| a.contains_key(reconciler::TRIGGER_TIME))
                        })
                        .map(|(k, _)| k.clone())
                        .collect();
                    ix.gone.extend(leftovers);
                }
                let gone: Vec<Key> = std::mem::take(&mut ix.gone)
                    .into_iter()
                    .filter(|k| !ix.services.contains_key(k) && ix.endpoints.contains_key(k))
                    .collect();
                delete_endpoints.extend(gone);
                let keys: Vec<Key> = std::mem::take(&mut ix.dirty).into_iter().collect();
                let zones = Arc::clone(&ix.zones);
                let mut out = Vec::new();
                for k in keys {
                    let Some(svc) = ix.services.get(&k).cloned() else {
                        continue;
                    };
                    let Some(sel) = reconciler::service_selector(&svc) else {
                        // Selectorless: mirror user-written Endpoints.
                        mirror.push(Mirror {
                            key: k.clone(),
                            svc,
                            endpoints: ix.endpoints.get(&k).cloned(),
                            slices: ix
                                .slices
                                .get(&k)
                                .map(|m| {
                                    m.values()
                                        .filter(|s| managed_by(s) == mirroring::MIRROR_MANAGED_BY)
                                        .cloned()
                                        .collect()
                                })
                                .unwrap_or_default(),
                        });
                        continue;
                    };
                    let pods: Vec<Arc<Pod>> = ix
                        .pods
                        .get(&k.0)
                        .into_iter()
                        .flat_map(|m| m.values())
                        .filter(|p| reconciler::selects(&sel, p))
                        .cloned()
                        .collect();
                    for p in &pods {
                        ix.members
                            .entry(key_of(&p.metadata))
                            .or_default()
                            .insert(k.clone());
                    }
                    out.push(Work {
                        key: k.clone(),
                        svc,
                        pods,
                        zones: Arc::clone(&zones),
                        slices: ix
                            .slices
                            .get(&k)
                            .map(|m| {
                                m.values()
                                    .filter(|s| managed_by(s) == MANAGED_BY)
                                    .cloned()
                                    .collect()
                            })
                            .unwrap_or_default(),
                        endpoints: ix.endpoints.get(&k).cloned(),
                    });
                }
                out
            }
        };
        for (ns, name) in delete_endpoints {
            let eps: Api<Endpoints> = Api::namespaced(client.clone(), &ns);
            match eps.delete(&name, &Default::default()).await {
                Ok(_) => tracing::debug!(
                    namespace = ns,
                    name,
                    "deleted the Endpoints of a deleted Service"
                ),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    tracing::debug!(namespace = ns, name, error = %e, "deleting Endpoints failed; will retry");
                    s.index.lock().await.gone.insert((ns, name));
                }
            }
        }
        let mut retry = Vec::new();
        if !batch.is_empty() {
            tracing::debug!(services = batch.len(), "reconciling endpoints");
        }
        for m in mirror {
            if let Err(e) = apply_ops(
                &client,
                &m.key.0,
                mirroring::plan(&m.svc, m.endpoints.as_ref(), &m.slices),
            )
            .await
            {
                tracing::debug!(namespace = m.key.0, service = m.key.1, error = %e, "mirroring failed; will retry");
                retry.push(m.key);
            }
        }
        for w in batch {
            if let Err(e) = reconcile(&client, &w).await {
                tracing::debug!(namespace = w.key.0, service = w.key.1, error = %e, "endpoint reconcile failed; will retry");
                retry.push(w.key);
            }
        }
        if !retry.is_empty() {
            let s2 = s.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                s2.index.lock().await.dirty.extend(retry);
                s2.wake.notify_one();
            });
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = s.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
    }
}

async fn reconcile(client: &Client, w: &Work) -> Result<(), kube::Error> {
    let now = tether_api::meta::now_rfc3339();
    let pods: Vec<&Pod> = w.pods.iter().map(AsRef::as_ref).collect();
    let (ns, name) = &w.key;
    apply_ops(
        client,
        ns,
        reconciler::plan_in_zones(&w.svc, &pods, &w.slices, &now, &w.zones),
    )
    .await?;
    let eps: Api<Endpoints> = Api::namespaced(client.clone(), ns);
    let want = endpoints::desired(&w.svc, &pods, &now);
    match &w.endpoints {
        None => match eps.create(&PostParams::default(), &want).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {
                // Exists but not yet in our cache: read and retry through the normal path.
                let _ = eps
                    .list(&ListParams::default().fields(&format!("metadata.name={name}")))
                    .await?;
                return Err(kube::Error::Api(e));
            }
            Err(e) => return Err(e),
        },
        Some(cur) if endpoints::differs(cur, &want) => {
            let mut next = want;
            next.metadata.resource_version = cur.metadata.resource_version.clone();
            eps.replace(name, &PostParams::default(), &next).await?;
        }
        Some(_) => {}
    }
    Ok(())
}
