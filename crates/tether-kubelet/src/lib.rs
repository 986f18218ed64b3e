//! Node agent (the kubelet's job): registers its Node with a Lease heartbeat, sets up the
//! pod network in the node's network namespace, and runs the pods bound to it as processes
//! in their own network namespaces. Newcomers start with [`run`]; a pod's life is in
//! [`pods::worker`].

pub mod images;
pub mod ipam;
pub mod logs;
pub mod network;
pub mod node;
pub mod pods;
pub mod probes;
pub mod routes;
pub mod runtime;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;
use kube::Client;
use tether_netns::NetNs;
use tokio_util::sync::CancellationToken;

/// What a node agent needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Node's name.
    pub node_name: String,
    /// The node's InternalIP (its address in the node network namespace).
    pub node_ip: IpAddr,
    /// The node's network namespace (pods, bridge and rules live there).
    pub netns: String,
    /// State: IPAM files, pod files, logs.
    pub data_dir: PathBuf,
    /// The cluster DNS address written into pods' resolv.conf.
    pub cluster_dns: Option<IpAddr>,
    /// The cluster domain.
    pub cluster_domain: String,
    /// The bridge's name.
    pub bridge: String,
    /// The cluster CIDR (traffic leaving it is masqueraded).
    pub cluster_cidr: IpNet,
    /// The tether executable (runs the built-in agnhost).
    pub self_exe: PathBuf,
    /// Where the logs endpoint listens.
    pub logs_listen: SocketAddr,
    /// Extra labels for the Node.
    pub node_labels: Vec<(String, String)>,
    /// Stop the pods when the agent stops (for tests and `tether up`); otherwise they keep
    /// running and a restarted agent re-adopts them.
    pub cleanup_on_exit: bool,
}

/// Agent errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The pod network could not be set up.
    #[error("pod network: {0}")]
    Network(#[from] network::Error),
    /// A namespace operation failed.
    #[error("{0}")]
    Netns(#[from] tether_netns::Error),
    /// The logs endpoint could not listen.
    #[error("logs endpoint {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
}

/// A node agent that registered and set up its network.
#[derive(Debug)]
pub struct Kubelet {
    shared: Arc<pods::Shared>,
    listener: tokio::net::TcpListener,
}

impl Kubelet {
    /// Registers the Node, waits for its podCIDR and builds the pod network.
    pub async fn start(
        client: Client,
        cfg: Config,
        shutdown: &CancellationToken,
    ) -> Result<Option<Self>, Error> {
        let listener = tokio::net::TcpListener::bind(cfg.logs_listen)
            .await
            .map_err(|source| Error::Listen {
                addr: cfg.logs_listen,
                source,
            })?;
        let endpoint = listener.local_addr().map_err(|source| Error::Listen {
            addr: cfg.logs_listen,
            source,
        })?;
        node::register(&client, &cfg, endpoint).await?;
        tokio::spawn(node::heartbeat(
            client.clone(),
            cfg.clone(),
            endpoint,
            shutdown.child_token(),
        ));
        let Some(pod_cidr) = node::wait_pod_cidr(&client, &cfg.node_name, shutdown).await else {
            return Ok(None);
        };
        tracing::info!(node = cfg.node_name, %pod_cidr, "node has its pod CIDR");
        let node_ns = NetNs::open(&cfg.netns)?;
        let network = network::Network::setup(
            node_ns,
            &cfg.bridge,
            pod_cidr,
            cfg.cluster_cidr,
            cfg.data_dir.join("ipam"),
        )
        .await?;
        let shared = Arc::new(pods::Shared {
            client,
            cleanup_on_exit: cfg.cleanup_on_exit,
            cfg,
            network: Arc::new(network),
            pods: Default::default(),
        });
        Ok(Some(Self { shared, listener }))
    }

    /// The pod network.
    pub fn network(&self) -> &Arc<network::Network> {
        &self.shared.network
    }

    /// Runs pods and serves logs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let app = logs::router(self.shared.clone());
        let sd = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(sd.cancelled_owned())
                .await;
        });
        tokio::spawn(routes::run(
            self.shared.client.clone(),
            self.shared.cfg.node_name.clone(),
            vec![self.shared.network.pod_cidr()],
            self.shared.network.node_arc(),
            shutdown.child_token(),
        ));
        pods::run(self.shared, shutdown).await?;
        Ok(())
    }
}
