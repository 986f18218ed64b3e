//! `tether agent`: the node agent (kubelet's job; data plane and DNS join it later), and the
//! node network namespace that `tether up` makes for it.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use tether_netns::NetNs;
use tokio_util::sync::CancellationToken;

use crate::cli::AgentArgs;

/// The default node network namespace (`tether up`'s node).
pub(crate) const NODE_NETNS: &str = "tether-node";
/// The default node address inside it.
pub(crate) const NODE_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 255, 0, 2));

/// Where `tether up` lets Pods reach the API server: the node address, port 6443, in the
/// node namespace (the `kubernetes` Service's endpoint).
pub(crate) const API_FORWARD: SocketAddr = SocketAddr::new(NODE_IP, 6443);

/// Relays TCP connections accepted on `listen` inside namespace `netns` to the API server
/// at `upstream` (reached from this process's namespace), until `shutdown`: one frontend of
/// the userspace proxy (`tether-proxy`, the same forwarding the `userspace` mode uses),
/// whose listener is bound inside the node namespace. TLS passes through untouched: Pods
/// talk to the API server itself, whose certificate names the `kubernetes` Service's
/// ClusterIP and DNS names.
pub(crate) async fn forward_api(
    netns: &str,
    listen: SocketAddr,
    upstream: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ns = std::sync::Arc::new(NetNs::open(netns)?);
    let bind: tether_proxy::BindFn =
        std::sync::Arc::new(move |addr: SocketAddr, p: tether_proxy::Protocol, reuse| {
            ns.run(|| tether_proxy::bind(addr, p, reuse))
                .map_err(std::io::Error::other)?
        });
    let proxy = tether_proxy::Proxy::new(tether_proxy::Config {
        bind,
        ..tether_proxy::Config::default()
    });
    proxy
        .sync(vec![tether_proxy::Frontend {
            listen,
            protocol: tether_proxy::Protocol::Tcp,
            backends: vec![tether_proxy::Backend::new(upstream)],
            affinity: None,
            name: "default/kubernetes:https".to_owned(),
        }])
        .await
        .with_context(|| format!("serving {listen} in {netns}"))?;
    tracing::info!(%listen, netns, %upstream, "forwarding the kubernetes Service's endpoint to the API server");
    shutdown.cancelled().await;
    proxy.shutdown().await;
    Ok(())
}

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
    pub(crate) service_cidr: ipnet::IpNet,
    pub(crate) proxy_mode: crate::cli::ProxyMode,
    pub(crate) localhost_lb: bool,
    pub(crate) netdev_fast_path: bool,
    pub(crate) ebpf_fast_path: bool,
    pub(crate) dns: bool,
    pub(crate) dns_upstreams: Vec<SocketAddr>,
    pub(crate) metrics_listen: Option<SocketAddr>,
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
            service_cidr: a.service_cidr,
            proxy_mode: a.proxy_mode,
            localhost_lb: a.localhost_lb,
            netdev_fast_path: a.netdev_fast_path,
            ebpf_fast_path: !a.no_ebpf_fast_path && !a.netdev_fast_path,
            dns: !a.no_dns,
            dns_upstreams: if a.dns_upstream.is_empty() {
                crate::dns::host_upstreams()
            } else {
                a.dns_upstream
            },
            metrics_listen: a.metrics_listen,
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
    let Some(kubelet) = tether_kubelet::Kubelet::start(client.clone(), cfg, &shutdown).await?
    else {
        return Ok(());
    };
    let mut registry = prometheus_client::registry::Registry::with_prefix("tether");
    start_dataplane(&client, &s, kubelet.network(), &mut registry, &shutdown).await?;
    if let (true, Some(service_ip)) = (s.dns, s.cluster_dns) {
        let d = crate::dns::DnsSettings {
            service_ip,
            zone: s.cluster_domain.clone(),
            upstreams: s.dns_upstreams.clone(),
            node_name: s.node_name.clone(),
            node_ip: s.node_ip,
            netns: s.netns.clone(),
        };
        crate::dns::start(client.clone(), d, &mut registry, shutdown.clone()).await?;
    }
    if let Some(addr) = s.metrics_listen {
        serve_metrics(addr, registry, shutdown.clone()).await?;
    }
    tracing::info!(node = s.node_name, netns = s.netns, "node agent running");
    kubelet.run(shutdown).await?;
    Ok(())
}

/// Serves `/metrics` (Prometheus text format) until `shutdown`.
async fn serve_metrics(
    addr: SocketAddr,
    registry: prometheus_client::registry::Registry,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let registry = std::sync::Arc::new(registry);
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                let mut out = String::new();
                if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
                    out.clear();
                }
                (
                    [(
                        "content-type",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    out,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("metrics listener {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "agent metrics on /metrics");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(())
}

/// The fast paths' devices (netdev or eBPF): the link holding the node's (IPv4) address,
/// unless it is a host route on `lo` (`tether up`'s single node has no uplink), and its
/// subnet.
async fn fast_path_devices(
    h: &tether_netns::Handle,
    node_ip: IpAddr,
    network: &tether_kubelet::network::Network,
) -> Option<tether_nft::netdev::Devices> {
    let bridge = network.bridge();
    let ipnet::IpNet::V4(pods) = network.pod_cidr() else {
        return None;
    };
    let found = match tether_netns::link_with_address(h, node_ip).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "looking for the node address's link; no fast path");
            return None;
        }
    };
    match found {
        Some((uplink, ipnet::IpNet::V4(net))) if uplink != "lo" && net.prefix_len() < 32 => {
            tracing::debug!(uplink, clients = %net.trunc(), bridge, "fast path devices: clients on the node's subnet");
            Some(tether_nft::netdev::Devices {
                uplink,
                bridge: bridge.to_owned(),
                clients: vec![net.trunc()],
                pods: vec![pods.trunc()],
            })
        }
        other => {
            tracing::debug!(node_ip = %node_ip, link = ?other, "no uplink subnet for a fast path");
            None
        }
    }
}

/// Detaches the eBPF fast path an earlier run with `--ebpf-fast-path` left on the node
/// (its programs outlive the process, and would go on serving the old maps).
async fn remove_ebpf(
    h: &tether_netns::Handle,
    node_ip: IpAddr,
    network: &tether_kubelet::network::Network,
) {
    let Some(devices) = fast_path_devices(h, node_ip, network).await else {
        return;
    };
    let netns = Some(network.node().path().to_path_buf());
    if let Err(e) = tether_ebpf::remove(netns, &devices).await {
        tracing::warn!(error = %e, "removing an earlier eBPF fast path");
    }
}

/// The node's view of Services and endpoints, feeding the chosen data plane.
async fn start_dataplane(
    client: &kube::Client,
    s: &AgentSettings,
    network: &tether_kubelet::network::Network,
    registry: &mut prometheus_client::registry::Registry,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    // Locally originated Service traffic needs a route before the output hook rewrites it.
    let h = network.node().handle().await?;
    if s.proxy_mode == crate::cli::ProxyMode::Nftables {
        match tether_netns::add_route(&h, s.service_cidr, None, Some("cni0")).await {
            Ok(()) => {}
            Err(e) if e.is_exists() => {}
            Err(e) => return Err(e).context("route for the service CIDR in the node namespace"),
        }
    }
    // Service traffic is routed back out of the interface it came in on (cni0): redirects
    // would teach pods wrong next hops and eat the ICMP rate limit that rejects need.
    for key in [
        "net/ipv4/conf/all/send_redirects",
        "net/ipv4/conf/cni0/send_redirects",
    ] {
        if let Err(e) = tether_netns::sysctl(network.node(), key, "0") {
            tracing::warn!(key, error = %e, "sysctl in the node namespace failed");
        }
    }
    let (tx, rx) =
        tokio::sync::watch::channel(std::sync::Arc::new(tether_servicemap::ServiceMap::default()));
    let (c, node, sd) = (client.clone(), s.node_name.clone(), shutdown.clone());
    tokio::spawn(async move {
        if let Err(e) = tether_servicemap::watch::run(c, node, tx, sd).await {
            tracing::error!(error = %e, "service map watch stopped");
        }
    });
    match s.proxy_mode {
        crate::cli::ProxyMode::Nftables => {
            let to_v4 = |n: ipnet::IpNet| match n {
                ipnet::IpNet::V4(v) => Some(v),
                ipnet::IpNet::V6(_) => None,
            };
            let node_ips = match s.node_ip {
                IpAddr::V4(v) => vec![v],
                IpAddr::V6(_) => Vec::new(),
            };
            let devices = if s.netdev_fast_path || s.ebpf_fast_path {
                fast_path_devices(&h, s.node_ip, network).await
            } else {
                None
            };
            let netdev = devices.clone().filter(|_| s.netdev_fast_path);
            let cfg = tether_nft::Config {
                netns: Some(network.node().path().to_path_buf()),
                node_ips,
                cluster_cidr: to_v4(s.cluster_cidr),
                service_cidr: to_v4(s.service_cidr),
                netdev,
                ..tether_nft::Config::default()
            };
            tether_nft::prepare_node(&cfg)?;
            let metrics = tether_nft::Metrics::register(registry.sub_registry_with_prefix("nft"));
            let (sd, nft_rx) = (shutdown.clone(), rx.clone());
            tokio::spawn(async move {
                if let Err(e) = tether_nft::run(nft_rx, cfg, Some(metrics), sd).await {
                    tracing::error!(error = %e, "nftables data plane stopped");
                }
            });
            tracing::info!("nftables data plane running");
            match devices.filter(|_| s.ebpf_fast_path) {
                Some(devices) => {
                    let cfg = tether_ebpf::Config {
                        netns: Some(network.node().path().to_path_buf()),
                        devices,
                    };
                    let metrics =
                        tether_ebpf::Metrics::register(registry.sub_registry_with_prefix("ebpf"));
                    let (sd, ebpf_rx) = (shutdown.clone(), rx.clone());
                    tokio::spawn(async move {
                        if let Err(e) = tether_ebpf::run(ebpf_rx, cfg, Some(metrics), sd).await {
                            tracing::error!(error = %e, "eBPF fast path stopped");
                        }
                    });
                }
                None => remove_ebpf(&h, s.node_ip, network).await,
            }
        }
        crate::cli::ProxyMode::Userspace => {
            // A kernel table left by an earlier run in nftables mode would steal the traffic.
            let _ = tether_nft::Nft::new(Some(network.node().path().to_path_buf()), "tether")
                .delete_table();
            remove_ebpf(&h, s.node_ip, network).await;
            crate::userspace::route_services_locally(network.node(), s.service_cidr).await?;
            tracing::info!("userspace data plane running");
        }
    }
    let services = s.proxy_mode == crate::cli::ProxyMode::Userspace;
    if services || s.localhost_lb {
        let o = crate::userspace::Options {
            services,
            localhost_lb: s.localhost_lb,
            node_ips: vec![s.node_ip],
        };
        crate::userspace::start(rx, network.node(), o, registry, shutdown.clone())?;
    }
    Ok(())
}
