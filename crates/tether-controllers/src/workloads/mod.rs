//! Workload controllers: ReplicaSet, Deployment, the scheduler (binds pending pods to ready
//! nodes, spreading them) and node IPAM (a podCIDR per node), over typed reflectors.
//!
//! Reflector caches lag behind writes, so the controller remembers what it just created or
//! deleted ("expectations", as upstream's `controller.ControllerExpectations`) and counts those
//! until the cache shows them, instead of creating a second batch of pods.

pub mod deployment;
pub mod replicaset;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipnet::IpNet;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use serde_json::json;
use tether_api::labels::Selector;
use tether_ipam::SubnetRange;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// Configuration of the workload controllers.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cluster CIDR node podCIDRs are carved from.
    pub cluster_cidr: IpNet,
    /// Prefix length of each node's podCIDR.
    pub node_mask: u8,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cluster_cidr: IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
            ),
            node_mask: 24,
        }
    }
}

/// How long an expectation holds before the cache is trusted again.
const EXPECTATION_TTL: Duration = Duration::from_secs(30);

pub(crate) fn start<K>(
    client: &Client,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) -> Store<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
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
    );
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                ev = stream.next() => match ev {
                    Some(Ok(_)) => changed.notify_one(),
                    Some(Err(e)) => tracing::debug!(error = %e, "watch error (retrying)"),
                    None => return,
                }
            }
        }
    });
    reader
}

#[derive(Default)]
struct Expectations {
    /// Pods created per ReplicaSet uid, not yet seen in the cache.
    created: HashMap<String, Vec<(Pod, Instant)>>,
    /// Pods deleted per ReplicaSet uid, possibly still in the cache.
    deleted: HashMap<String, HashMap<String, Instant>>,
    /// ReplicaSets created per Deployment uid.
    rs_created: HashMap<String, Vec<(ReplicaSet, Instant)>>,
}

fn name_of<K: Resource>(o: &K) -> String {
    o.meta().name.clone().unwrap_or_default()
}

fn ns_of<K: Resource>(o: &K) -> String {
    o.meta().namespace.clone().unwrap_or_default()
}

fn ignore_gone<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.is_not_found() || e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs the workload controllers until `shutdown`.
pub async fn run(client: Client, cfg: Config, shutdown: CancellationToken) -> Result<(), Error> {
    let changed = Arc::new(Notify::new());
    let pods: Store<Pod> = start(&client, changed.clone(), shutdown.clone());
    let rss: Store<ReplicaSet> = start(&client, changed.clone(), shutdown.clone());
    let deploys: Store<Deployment> = start(&client, changed.clone(), shutdown.clone());
    let nodes: Store<Node> = start(&client, changed.clone(), shutdown.clone());
    for ready in [
        pods.wait_until_ready().await.is_ok(),
        rss.wait_until_ready().await.is_ok(),
        deploys.wait_until_ready().await.is_ok(),
        nodes.wait_until_ready().await.is_ok(),
    ] {
        if !ready {
            return Ok(());
        }
    }
    tracing::info!("workload controllers started");
    let mut exp = Expectations::default();
    loop {
        let now = jiff::Timestamp::now();
        if let Err(e) = node_ipam(&client, &cfg, &nodes).await {
            tracing::warn!(error = %e, "node IPAM pass failed");
        }
        if let Err(e) = schedule(&client, &pods, &nodes).await {
            tracing::warn!(error = %e, "scheduling pass failed");
        }
        if let Err(e) = replicasets(&client, &pods, &rss, &mut exp, now).await {
            tracing::debug!(error = %e, "replicaset pass failed (will retry)");
        }
        if let Err(e) = deployments(&client, &rss, &deploys, &mut exp, now).await {
            tracing::debug!(error = %e, "deployment pass failed (will retry)");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = changed.notified() => {}
            // Availability (minReadySeconds) changes with time alone.
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn node_ready(n: &Node) -> bool {
    let unschedulable = n
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    ready && !unschedulable
}

async fn node_ipam(client: &Client, cfg: &Config, nodes: &Store<Node>) -> Result<(), kube::Error> {
    let all = nodes.state();
    if all
        .iter()
        .all(|n| n.spec.as_ref().and_then(|s| s.pod_cidr.as_ref()).is_some())
    {
        return Ok(());
    }
    let Ok(mut range) = SubnetRange::new(cfg.cluster_cidr, cfg.node_mask) else {
        return Ok(());
    };
    for n in &all {
        if let Some(c) = n
            .spec
            .as_ref()
            .and_then(|s| s.pod_cidr.as_ref())
            .and_then(|c| c.parse::<IpNet>().ok())
        {
            let _ = range.allocate(&c);
        }
    }
    let api: Api<Node> = Api::all(client.clone());
    for n in all
        .iter()
        .filter(|n| n.spec.as_ref().and_then(|s| s.pod_cidr.as_ref()).is_none())
    {
        let Ok(cidr) = range.allocate_next() else {
            tracing::warn!(
                node = name_of(n.as_ref()),
                "no podCIDR left in {}",
                cfg.cluster_cidr
            );
            break;
        };
        let patch = json!({"spec": {"podCIDR": cidr.to_string(), "podCIDRs": [cidr.to_string()]}});
        ignore_gone(
            api.patch(
                &name_of(n.as_ref()),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await,
        )?;
        tracing::info!(node = name_of(n.as_ref()), %cidr, "allocated podCIDR");
    }
    Ok(())
}

async fn schedule(
    client: &Client,
    pods: &Store<Pod>,
    nodes: &Store<Node>,
) -> Result<(), kube::Error> {
    let ready: Vec<String> = nodes
        .state()
        .iter()
        .filter(|n| node_ready(n))
        .map(|n| name_of(n.as_ref()))
        .collect();
    if ready.is_empty() {
        return Ok(());
    }
    let all = pods.state();
    let mut load: BTreeMap<String, usize> = ready.iter().map(|n| (n.clone(), 0)).collect();
    for p in &all {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_ref())
            && let Some(c) = load.get_mut(n)
        {
            *c += 1;
        }
    }
    for p in all.iter().filter(|p| {
        p.metadata.deletion_timestamp.is_none()
            && p.spec
                .as_ref()
                .is_some_and(|s| s.node_name.as_deref().is_none_or(str::is_empty))
            && p.spec
                .as_ref()
                .and_then(|s| s.scheduler_name.as_deref())
                .is_none_or(|s| s == "default-scheduler")
            // Gated pods wait (the scheduler's SchedulingGates PreEnqueue; binding rejects them).
            && p.spec
                .as_ref()
                .and_then(|s| s.scheduling_gates.as_ref())
                .is_none_or(Vec::is_empty)
    }) {
        // Honour nodeSelector; spread by pod count.
        let selector = p
            .spec
            .as_ref()
            .and_then(|s| s.node_selector.clone())
            .unwrap_or_default();
        let fits = |n: &str| {
            nodes.state().iter().any(|node| {
                name_of(node.as_ref()) == n
                    && selector.iter().all(|(k, v)| {
                        node.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v)
                    })
            })
        };
        let Some(node) = load
            .iter()
            .filter(|(n, _)| fits(n))
            .min_by_key(|(_, c)| **c)
            .map(|(n, _)| n.clone())
        else {
            continue;
        };
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns_of(p.as_ref()));
        let binding = json!({
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": name_of(p.as_ref())},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        });
        let res: Result<serde_json::Value, kube::Error> = api
            .create_subresource(
                "binding",
                &name_of(p.as_ref()),
                &PostParams::default(),
                &binding,
            )
            .await;
        ignore_gone(res)?;
        if let Some(c) = load.get_mut(&node) {
            *c += 1;
        }
    }
    Ok(())
}

async fn replicasets(
    client: &Client,
    pods: &Store<Pod>,
    rss: &Store<ReplicaSet>,
    exp: &mut Expectations,
    now: jiff::Timestamp,
) -> Result<(), kube::Error> {
    let all_pods = pods.state();
    let mut by_ns: HashMap<String, Vec<Arc<Pod>>> = HashMap::new();
    for p in &all_pods {
        by_ns.entry(ns_of(p.as_ref())).or_default().push(p.clone());
    }
    let seen: HashSet<(String, String)> = all_pods
        .iter()
        .map(|p| (ns_of(p.as_ref()), name_of(p.as_ref())))
        .collect();
    for rs in rss.state() {
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let ns = ns_of(rs.as_ref());
        // Fold in expectations.
        let created = exp.created.entry(uid.clone()).or_default();
        created.retain(|(p, at)| {
            !seen.contains(&(ns.clone(), name_of(p))) && at.elapsed() < EXPECTATION_TTL
        });
        let deleted = exp.deleted.entry(uid.clone()).or_default();
        deleted.retain(|n, at| {
            seen.contains(&(ns.clone(), n.clone())) && at.elapsed() < EXPECTATION_TTL
        });
        let mut view: Vec<&Pod> = by_ns
            .get(&ns)
            .into_iter()
            .flatten()
            .map(AsRef::as_ref)
            .filter(|p| !deleted.contains_key(&name_of(*p)))
            .collect();
        view.extend(created.iter().map(|(p, _)| p));
        let plan = replicaset::plan(&rs, &view, now);
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let rs_ref = replicaset::owner_ref("ReplicaSet", &rs.metadata);
        for name in &plan.adopt {
            let patch = json!({"metadata": {"ownerReferences": [rs_ref]}});
            ignore_gone(
                api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await,
            )?;
        }
        for name in &plan.release {
            let patch = json!({"metadata": {"ownerReferences": null}});
            ignore_gone(
                api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await,
            )?;
        }
        for _ in 0..plan.create {
            let pod = replicaset::new_pod(&rs);
            let made = api.create(&PostParams::default(), &pod).await?;
            exp.created
                .entry(uid.clone())
                .or_default()
                .push((made, Instant::now()));
        }
        for name in &plan.delete {
            ignore_gone(api.delete(name, &DeleteParams::default()).await)?;
            exp.deleted
                .entry(uid.clone())
                .or_default()
                .insert(name.clone(), Instant::now());
        }
        let cur = rs.status.clone().unwrap_or_default();
        if cur != plan.status {
            let rsapi: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
            let patch = json!({"status": plan.status});
            ignore_gone(
                rsapi
                    .patch_status(
                        &name_of(rs.as_ref()),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await,
            )?;
        }
    }
    Ok(())
}

async fn deployments(
    client: &Client,
    rss: &Store<ReplicaSet>,
    deploys: &Store<Deployment>,
    exp: &mut Expectations,
    now: jiff::Timestamp,
) -> Result<(), kube::Error> {
    let all_rs = rss.state();
    for d in deploys.state() {
        if d.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let ns = ns_of(d.as_ref());
        let selector = d
            .spec
            .as_ref()
            .map(|s| Selector::from_label_selector(Some(&s.selector)));
        let mut owned: Vec<&ReplicaSet> = all_rs
            .iter()
            .filter(|r| ns_of(r.as_ref()) == ns)
            .filter(|r| replicaset::controller_of(&r.metadata).is_some_and(|o| o.uid == uid))
            .map(AsRef::as_ref)
            .collect();
        let rsapi: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
        // Adopt matching orphan ReplicaSets.
        if let Some(Ok(sel)) = &selector {
            for r in all_rs.iter().filter(|r| {
                ns_of(r.as_ref()) == ns
                    && replicaset::controller_of(&r.metadata).is_none()
                    && r.metadata.deletion_timestamp.is_none()
                    && sel.matches(&r.metadata.labels.clone().unwrap_or_default())
                    && !sel.is_everything()
            }) {
                let patch = json!({"metadata": {"ownerReferences": [replicaset::owner_ref("Deployment", &d.metadata)]}});
                ignore_gone(
                    rsapi
                        .patch(
                            &name_of(r.as_ref()),
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await,
                )?;
                owned.push(r.as_ref());
            }
        }
        let created = exp.rs_created.entry(uid.clone()).or_default();
        created.retain(|(r, at)| {
            !owned.iter().any(|o| o.metadata.name == r.metadata.name)
                && at.elapsed() < EXPECTATION_TTL
        });
        owned.extend(created.iter().map(|(r, _)| r));
        let plan = deployment::plan(&d, &owned, now);
        for op in plan.ops {
            match op {
                deployment::Op::Create(rs) => match rsapi.create(&PostParams::default(), &rs).await
                {
                    Ok(made) => exp
                        .rs_created
                        .entry(uid.clone())
                        .or_default()
                        .push((made, Instant::now())),
                    Err(kube::Error::Api(e)) if e.code == 409 => {}
                    Err(e) => return Err(e),
                },
                deployment::Op::Scale {
                    name,
                    replicas,
                    annotations,
                } => {
                    let mut patch = json!({"spec": {"replicas": replicas}});
                    if !annotations.is_empty() {
                        patch["metadata"] = json!({"annotations": annotations});
                    }
                    ignore_gone(
                        rsapi
                            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await,
                    )?;
                }
                deployment::Op::Delete(name) => {
                    ignore_gone(rsapi.delete(&name, &DeleteParams::background()).await)?;
                }
            }
        }
        let dapi: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        let cur_rev = d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(deployment::REVISION))
            .cloned();
        // Like upstream's controller, the revision annotation goes in through the status
        // subresource (whose strategy keeps spec and labels but not annotations), so it does
        // not bump the generation.
        let new_rev = plan.revision.filter(|r| Some(r) != cur_rev.as_ref());
        if new_rev.is_some() || deployment::status_differs(d.status.as_ref(), &plan.status) {
            let mut patch = json!({"status": plan.status});
            if let Some(rev) = new_rev {
                patch["metadata"] = json!({"annotations": {deployment::REVISION: rev}});
            }
            ignore_gone(
                dapi.patch_status(
                    &name_of(d.as_ref()),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await,
            )?;
        }
    }
    Ok(())
}
