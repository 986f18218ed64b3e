//! `tether agent`: the node agent (kubelet's job; data plane and DNS join it later), and the
//! node network namespace that `tether up` makes for it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use tether_netns::NetNs;
use tokio_util::sync::CancellationToken;

use crate::cli::AgentArgs;

/// Creates the node's network namespace if it does not exist: `lo` up, the node address on
/// `lo` (a /32: reachable from the node's pods and the node itself), forwarding on. Nothing
/// outside the namespace changes.
pub(crate) async fn ensure_node_netns(name: &str, node_ip: IpAddr) -> anyhow::Result<()> {
    let ns = match NetNs::open(name) {
        Ok(ns) => ns,
        Err(_) => {
            tracing::info!(netns = name, "creating the node network namespace");
            NetNs::create(name)?.persist()
        }
    };
    let h = ns.handle().await?;
    tether_netns::set_up(&h, "lo").await?;
    let prefix = if node_ip.is_ipv4() { 32 } else { 128 };
    let addr = tether_netns::IpNet::new(node_ip, prefix)?;
    match tether_netns::add_address(&h, "lo", addr).await {
        Ok(()) => {}
        Err(e) if e.is_exists() => {}
        Err(e) => return Err(e.into()),
    }
    tether_netns::sysctl(&ns, "net/ipv4/ip_forward", "1")?;
    let _ = ns.persist();
    Ok(())
}

/// Deletes a node namespace made by [`ensure_node_netns`].
pub(crate) fn delete_node_netns(name: &str) {
    if let Ok(ns) = NetNs::open(name)
        && let Err(e) = ns.delete()
    {
        tracing::warn!(netns = name, error = %e, "deleting the node namespace failed");
    }
}

/// Settings of one agent, from flags or from `tether up`.
#[derive(Debug, Clone)]
pub(crate) struct AgentSettings {
    pub(crate) kubeconfig: PathBuf,
    pub(crate) node_name: String,
    pub(crate) node_ip: IpAddr,
    pub(crate) netns: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) cluster_cidr: ipnet::IpNet,
    pub(crate) cluster_dns: Option<IpAddr>,
    pub(crate) cluster_domain: String,
    pub(crate) logs_listen: SocketAddr,
    pub(crate) cleanup_on_exit: bool,
}

impl From<AgentArgs> for AgentSettings {
    fn from(a: AgentArgs) -> Self {
        Self {
            kubeconfig: a.kubeconfig,
            node_name: a.node_name.unwrap_or_else(hostname),
            node_ip: a.node_ip,
            netns: a.netns,
            data_dir: a.data_dir,
            cluster_cidr: a.cluster_cidr,
            cluster_dns: Some(a.cluster_dns),
            cluster_domain: a.cluster_domain,
            logs_listen: a.logs_listen,
            cleanup_on_exit: a.cleanup_on_exit,
        }
    }
}

/// The machine's hostname, lower-cased (a valid Node name).
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .map(|h| h.to_lowercase())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "tether-node".into())
}

/// `tether agent` on its own.
pub(crate) async fn main(args: AgentArgs) -> anyhow::Result<()> {
    let create = args.create_netns;
    let s = AgentSettings::from(args);
    if create {
        ensure_node_netns(&s.netns, s.node_ip).await?;
    }
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        crate::server::wait_for_signal().await;
        stop.cancel();
    });
    let client = crate::server::kube_client(&s.kubeconfig).await?;
    run(client, s, shutdown).await
}

/// Runs an agent until `shutdown`.
pub(crate) async fn run(
    client: kube::Client,
    s: AgentSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&s.data_dir)
        .with_context(|| format!("creating {}", s.data_dir.display()))?;
    let cfg = tether_kubelet::Config {
        node_name: s.node_name.clone(),
        node_ip: s.node_ip,
        netns: s.netns.clone(),
        data_dir: s.data_dir.clone(),
        cluster_dns: s.cluster_dns,
        cluster_domain: s.cluster_domain.clone(),
        bridge: "cni0".into(),
        cluster_cidr: s.cluster_cidr,
        self_exe: std::env::current_exe().context("locating the tether executable")?,
        logs_listen: s.logs_listen,
        node_labels: Vec::new(),
        cleanup_on_exit: s.cleanup_on_exit,
    };
    let Some(kubelet) = tether_kubelet::Kubelet::start(client, cfg, &shutdown).await? else {
        return Ok(());
    };
    tracing::info!(node = s.node_name, netns = s.netns, "node agent running");
    kubelet.run(shutdown).await?;
    Ok(())
}
