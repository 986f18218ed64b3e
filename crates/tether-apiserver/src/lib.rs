//! The Kubernetes HTTP API over `tether-store`: discovery, CRUD, list and watch, patches,
//! server-side tables, HTTPS with token authentication.
//!
//! Newcomers start with [`ApiServer`]: build it from a store and a [`Config`], then
//! [`ApiServer::serve`] a listener. Requests flow `http` (routing, negotiation) → `registry`
//! (upstream write semantics, allocation) → the store; watches stream from the store directly
//! (`watch`).

mod alloc;
mod bootstrap;
mod codec;
mod discovery;
mod error;
mod http;
mod logs;
mod metrics;
mod openapi;
pub mod pki;
mod registry;
mod table;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tether_api::ApiError;
use tether_store::Backend;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use registry::{Registry, RegistryConfig};

/// API server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Service CIDRs and node port range.
    pub registry: RegistryConfig,
    /// Bearer tokens accepted.
    pub tokens: Vec<String>,
    /// Accept unauthenticated requests (plain-HTTP test mode only).
    pub anonymous: bool,
    /// `host:port` clients reach the server at (discovery's serverAddressByClientCIDRs).
    pub advertise: SocketAddr,
    /// Where Pods reach the API server, published as the `kubernetes` Service's Endpoints
    /// and EndpointSlice (upstream's `--advertise-address` with the secure port). `None`:
    /// `advertise` unless it is a loopback or unspecified address (no endpoints then).
    pub service_endpoint: Option<SocketAddr>,
    /// Compact store history older than this (upstream compacts every 5 minutes).
    pub compaction_interval: Duration,
}

/// A running API server's shared parts.
#[derive(Debug, Clone)]
pub struct ApiServer {
    state: Arc<http::AppState>,
    compaction_interval: Duration,
    /// Keeps this server's address in the `kubernetes` endpoints while it serves.
    reconciler: Option<bootstrap::EndpointReconciler>,
}

impl ApiServer {
    /// Opens the registry over `store`, creates the system namespaces and `default/kubernetes`.
    pub async fn new(store: Arc<dyn Backend>, cfg: Config) -> Result<Self, ApiError> {
        let registry = Arc::new(Registry::new(store, &cfg.registry).await?);
        let endpoint = cfg.service_endpoint.or_else(|| {
            let ip = cfg.advertise.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(cfg.advertise)
        });
        bootstrap::ensure(&registry, cfg.advertise.port(), endpoint).await?;
        let reconciler =
            endpoint.map(|ep| bootstrap::EndpointReconciler::new(registry.clone(), ep));
        if let Some(r) = &reconciler {
            r.reconcile_logged().await;
        }
        let state = Arc::new(http::AppState {
            registry,
            tokens: cfg.tokens,
            anonymous: cfg.anonymous,
            server_address: cfg.advertise.to_string(),
            metrics: metrics::Metrics::new(),
        });
        Ok(Self {
            state,
            compaction_interval: cfg.compaction_interval,
            reconciler,
        })
    }

    /// The registry (for in-process users such as tests).
    pub fn registry(&self) -> Arc<Registry> {
        self.state.registry.clone()
    }

    /// The axum router serving the whole API.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(http::handle)
            .with_state(self.state.clone())
    }

    /// Serves connections from `listener` (TLS when `tls` is given) until `shutdown`.
    pub async fn serve(
        &self,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        let router = self.router();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let compactor = tokio::spawn(compact_loop(
            self.state.registry.clone(),
            self.compaction_interval,
            shutdown.clone(),
        ));
        let reconciler = self
            .reconciler
            .clone()
            .map(|r| tokio::spawn(r.run(shutdown.clone())));
        loop {
            let (sock, peer) = tokio::select! {
                () = shutdown.cancelled() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = sock.set_nodelay(true);
            let svc = TowerToHyperService::new(router.clone());
            let acceptor = acceptor.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let result = match acceptor {
                    Some(a) => match a.accept(sock).await {
                        Ok(tls) => {
                            let conn =
                                builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
                            tokio::select! { r = conn => r, () = stop.cancelled() => Ok(()) }
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                    None => {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(sock), svc);
                        tokio::select! { r = conn => r, () = stop.cancelled() => Ok(()) }
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        compactor.abort();
        // The reconciler removes this server's lease and address on the way out.
        if let Some(r) = reconciler {
            let _ = r.await;
        }
        Ok(())
    }
}

/// Every interval, compacts history up to the revision seen one interval earlier (as
/// kube-apiserver's compactor does), so watches can resume across short disconnects while
/// the embedded log and etcd stay bounded.
async fn compact_loop(reg: Arc<Registry>, every: Duration, stop: CancellationToken) {
    let mut previous: Option<i64> = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Some(rev) = previous
            && let Err(e) = reg.store().compact(rev).await
        {
            tracing::warn!(error = %e, revision = rev, "compaction failed");
        }
        previous = reg.revision().await.ok();
    }
}
