//! Reconcilers that drive objects toward their spec, talking to the API server through the
//! `kube` client exactly as kube-controller-manager does.
//!
//! Newcomers start with [`run`], which starts every controller: [`gc`] (owner references:
//! background, foreground and orphan deletion) and [`namespace`] (emptying and finalizing
//! namespaces being deleted).

pub mod cache;
pub mod endpointslice;
pub mod gc;
pub mod loadbalancer;
pub mod namespace;
pub mod workloads;

use kube::Client;
use kube::discovery::ApiResource;
use tether_api::resources::Resource;
use tokio_util::sync::CancellationToken;

/// Controller errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("API request failed: {0}")]
    Kube(#[from] kube::Error),
    /// A controller task ended unexpectedly.
    #[error("controller {0} stopped: {1}")]
    Stopped(&'static str, String),
}

/// The `kube` dynamic type of one of our served resources.
pub fn api_resource(r: &Resource) -> ApiResource {
    ApiResource {
        group: r.group.to_owned(),
        version: r.version.to_owned(),
        api_version: r.api_version(),
        kind: r.kind.to_owned(),
        plural: r.plural.to_owned(),
    }
}

/// Runs every controller until `shutdown`.
pub async fn run(
    client: Client,
    cfg: workloads::Config,
    lb: loadbalancer::Mode,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let cache = cache::Cache::start(client.clone(), shutdown.clone());
    // Wait here, once: kube's store readiness wakes only one waiter per store.
    tokio::select! {
        () = cache.ready() => {}
        () = shutdown.cancelled() => return Ok(()),
    }
    let mut set = tokio::task::JoinSet::new();
    set.spawn(gc::run(client.clone(), cache.clone(), shutdown.clone()));
    set.spawn(namespace::run(
        client.clone(),
        cache.clone(),
        shutdown.clone(),
    ));
    set.spawn(endpointslice::run(client.clone(), shutdown.clone()));
    set.spawn(workloads::run(client.clone(), cfg, shutdown.clone()));
    set.spawn(loadbalancer::run(client.clone(), lb, shutdown.clone()));
    let mut result = Ok(());
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                result = Err(e);
                shutdown.cancel();
            }
            Err(e) => {
                result = Err(Error::Stopped("task", e.to_string()));
                shutdown.cancel();
            }
        }
    }
    result
}
