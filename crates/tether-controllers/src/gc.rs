//! The garbage collector: dependents follow their owners (upstream
//! `pkg/controller/garbagecollector`).
//!
//! - An object whose every owner is gone is deleted (in the background; in the foreground when
//!   an owner waits for its dependents).
//! - An object that lists both live and vanished owners loses the dangling references.
//! - An owner being deleted with the `foregroundDeletion` finalizer has its dependents deleted
//!   first; the finalizer goes when none remain.
//! - An owner being deleted with the `orphan` finalizer has itself removed from its dependents'
//!   owner references, then the finalizer goes.
//!
//! The cache may lag behind the store, so "owner gone" is always confirmed with a live read
//! before anything is deleted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use serde_json::json;
use tether_api::resources::{self, Resource};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::{Error, api_resource};

/// How often a full pass runs even without changes (catches anything missed).
const RESYNC: Duration = Duration::from_secs(10);

fn api(client: &Client, r: &Resource, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(r);
    match ns {
        Some(ns) if r.namespaced => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

fn ignore_not_found<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_not_found() || s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs the collector until `shutdown`.
pub async fn run(client: Client, cache: Cache, shutdown: CancellationToken) -> Result<(), Error> {
    tracing::info!("garbage collector started");
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        if let Err(e) = pass(&client, &cache).await {
            tracing::warn!(error = %e, "garbage collection pass failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = cache.changed(RESYNC) => {}
        }
        // Let bursts settle into one pass.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether an owner (by reference) still exists with the same uid, read live.
async fn owner_exists(
    client: &Client,
    ns: &str,
    o: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
) -> Result<bool, kube::Error> {
    let Some(r) = resources::by_kind(&o.api_version, &o.kind) else {
        // An owner of a kind we do not serve cannot exist here.
        return Ok(false);
    };
    match api(client, r, Some(ns)).get_opt(&o.name).await? {
        Some(obj) => Ok(obj.metadata.uid.as_deref() == Some(o.uid.as_str())),
        None => Ok(false),
    }
}

async fn pass(client: &Client, cache: &Cache) -> Result<(), kube::Error> {
    let all = cache.all();
    let by_uid: HashMap<String, (&'static Resource, Arc<DynamicObject>)> = all
        .iter()
        .filter_map(|(r, o)| o.metadata.uid.clone().map(|u| (u, (*r, o.clone()))))
        .collect();
    let mut dependents: HashMap<String, Vec<(&'static Resource, Arc<DynamicObject>)>> =
        HashMap::new();
    for (r, o) in &all {
        for owner in o.metadata.owner_references.iter().flatten() {
            dependents
                .entry(owner.uid.clone())
                .or_default()
                .push((*r, o.clone()));
        }
    }
    // Owners being deleted with a finalizer of ours.
    for (r, o) in &all {
        if o.metadata.deletion_timestamp.is_none() {
            continue;
        }
        let fins: Vec<String> = o.metadata.finalizers.clone().unwrap_or_default();
        let uid = o.metadata.uid.clone().unwrap_or_default();
        let ns = o.metadata.namespace.as_deref();
        let name = o.metadata.name.clone().unwrap_or_default();
        let deps = dependents.get(&uid).cloned().unwrap_or_default();
        if fins.iter().any(|f| f == "orphan") {
            for (dr, d) in &deps {
                let refs: Vec<_> = d
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .filter(|x| x.uid != uid)
                    .cloned()
                    .collect();
                let patch = json!({"metadata": {"ownerReferences": refs, "resourceVersion": d.metadata.resource_version}});
                let dname = d.metadata.name.clone().unwrap_or_default();
                ignore_not_found(
                    api(client, dr, d.metadata.namespace.as_deref())
                        .patch(&dname, &PatchParams::default(), &Patch::Merge(&patch))
                        .await,
                )?;
            }
            remove_finalizer(client, r, ns, &name, o, "orphan").await?;
            tracing::info!(
                kind = r.kind,
                name,
                orphaned = deps.len(),
                "orphaned dependents"
            );
        } else if fins.iter().any(|f| f == "foregroundDeletion") {
            if deps.is_empty() {
                remove_finalizer(client, r, ns, &name, o, "foregroundDeletion").await?;
                tracing::info!(kind = r.kind, name, "foreground deletion complete");
            } else {
                for (dr, d) in &deps {
                    if d.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    let dname = d.metadata.name.clone().unwrap_or_default();
                    ignore_not_found(
                        api(client, dr, d.metadata.namespace.as_deref())
                            .delete(
                                &dname,
                                &DeleteParams {
                                    propagation_policy: Some(PropagationPolicy::Foreground),
                                    ..Default::default()
                                },
                            )
                            .await,
                    )?;
                }
            }
        }
    }
    // Dependents whose owners are gone.
    let mut done: HashSet<String> = HashSet::new();
    for (r, o) in &all {
        let Some(owners) = o
            .metadata
            .owner_references
            .as_ref()
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        let uid = o.metadata.uid.clone().unwrap_or_default();
        if o.metadata.deletion_timestamp.is_some() || !done.insert(uid) {
            continue;
        }
        let ns = o.metadata.namespace.clone().unwrap_or_default();
        let name = o.metadata.name.clone().unwrap_or_default();
        let mut alive = Vec::new();
        let mut dangling = Vec::new();
        let mut waiting = false;
        for owner in owners {
            let cached = by_uid.get(&owner.uid);
            if let Some((_, oo)) = cached {
                if oo.metadata.deletion_timestamp.is_some()
                    && oo
                        .metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == "foregroundDeletion")
                {
                    waiting = true;
                }
                alive.push(owner.clone());
            } else if owner_exists(client, &ns, owner).await? {
                alive.push(owner.clone());
            } else {
                dangling.push(owner.clone());
            }
        }
        if dangling.is_empty() {
            continue;
        }
        let dapi = api(client, r, Some(&ns));
        if alive.is_empty() {
            let policy = if waiting {
                PropagationPolicy::Foreground
            } else {
                PropagationPolicy::Background
            };
            tracing::info!(
                kind = r.kind,
                namespace = ns,
                name,
                "deleting object whose owners are gone"
            );
            ignore_not_found(
                dapi.delete(
                    &name,
                    &DeleteParams {
                        propagation_policy: Some(policy),
                        preconditions: Some(kube::api::Preconditions {
                            uid: o.metadata.uid.clone(),
                            resource_version: None,
                        }),
                        ..Default::default()
                    },
                )
                .await,
            )?;
        } else {
            let patch = json!({"metadata": {"ownerReferences": alive, "resourceVersion": o.metadata.resource_version}});
            ignore_not_found(
                dapi.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await,
            )?;
        }
    }
    Ok(())
}

async fn remove_finalizer(
    client: &Client,
    r: &Resource,
    ns: Option<&str>,
    name: &str,
    o: &DynamicObject,
    finalizer: &str,
) -> Result<(), kube::Error> {
    let fins: Vec<String> = o
        .metadata
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect();
    let patch =
        json!({"metadata": {"finalizers": fins, "resourceVersion": o.metadata.resource_version}});
    ignore_not_found(
        api(client, r, ns)
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    )
}
