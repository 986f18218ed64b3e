//! The namespace controller: a namespace being deleted is emptied, then finalized (upstream
//! `pkg/controller/namespace`): every namespaced object in it is deleted, and once none is
//! left the `kubernetes` finalizer is removed through the `finalize` subresource, which lets
//! the API server delete the namespace.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use tether_api::resources::RESOURCES;
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::{Error, api_resource};

/// Re-check interval while a namespace is terminating.
const TERMINATING_POLL: Duration = Duration::from_millis(500);

/// Runs the controller until `shutdown`.
pub async fn run(client: Client, cache: Cache, shutdown: CancellationToken) -> Result<(), Error> {
    tracing::info!("namespace controller started");
    loop {
        let mut terminating = 0;
        let all = cache.of("Namespace");
        tracing::debug!(count = all.len(), "namespace pass");
        for ns in all {
            if ns.metadata.deletion_timestamp.is_none() {
                continue;
            }
            terminating += 1;
            let name = ns.metadata.name.clone().unwrap_or_default();
            if let Err(e) = empty_and_finalize(&client, &name).await {
                tracing::warn!(namespace = name, error = %e, "namespace cleanup failed");
            }
        }
        let wait = if terminating > 0 {
            TERMINATING_POLL
        } else {
            Duration::from_secs(30)
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = cache.changed(wait) => {}
        }
    }
}

async fn empty_and_finalize(client: &Client, ns: &str) -> Result<(), kube::Error> {
    let mut remaining = 0;
    for r in RESOURCES.iter().filter(|r| r.namespaced) {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(r));
        let list = api.list(&ListParams::default()).await?;
        for o in list.items {
            remaining += 1;
            if o.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let name = o.metadata.name.unwrap_or_default();
            match api.delete(&name, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 {
        return Ok(());
    }
    let nsapi: Api<Namespace> = Api::all(client.clone());
    let Some(mut cur) = nsapi.get_opt(ns).await? else {
        return Ok(());
    };
    if let Some(spec) = cur.spec.as_mut() {
        spec.finalizers = Some(Vec::new());
    }
    match nsapi
        .replace_subresource("finalize", ns, &PostParams::default(), &cur)
        .await
    {
        Ok(_) => {
            tracing::info!(namespace = ns, "namespace finalized");
            Ok(())
        }
        Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
