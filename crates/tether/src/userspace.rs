//! The userspace data plane and the `localhost` relays, both on tether-proxy.
//!
//! The proxy's runtime lives on threads that entered the node's network namespace, so its
//! listeners on Service addresses and its connections to pods are in the node's network.
//! Service ClusterIPs become local addresses there through one `local` route for the whole
//! Service CIDR (the AnyIP trick), so no address per Service is needed. Listeners on
//! `127.0.0.1` are the exception: they are bound in the agent's own namespace (the host's),
//! which is how `tether up` serves a LoadBalancer Service on `localhost:<port>`, as Docker
//! Desktop does.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tether_netns::NetNs;
use tether_proxy::{Backend, BoundSocket, Frontend, Protocol, Proxy, RuntimeThreads};
use tether_servicemap::{ServiceMap, ServiceType, TrafficPolicy};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the proxy serves.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Proxy ClusterIPs, NodePorts, LoadBalancer IPs and externalIPs (userspace mode).
    pub(crate) services: bool,
    /// Serve each LoadBalancer Service's ports on the host's 127.0.0.1.
    pub(crate) localhost_lb: bool,
    /// The node's addresses (NodePorts).
    pub(crate) node_ips: Vec<IpAddr>,
}

fn backends(eps: &[tether_servicemap::Endpoint], local_only: bool) -> Vec<Backend> {
    eps.iter()
        .filter(|e| !local_only || e.is_local)
        .map(|e| Backend {
            addr: SocketAddr::new(e.ip, e.port),
            ready: e.ready,
            serving: e.serving,
            terminating: e.terminating,
        })
        .collect()
}

/// The frontends for a service map.
pub(crate) fn frontends(map: &ServiceMap, o: &Options) -> Vec<Frontend> {
    let mut out = Vec::new();
    for (name, sp) in &map.ports {
        let protocol = match name.protocol {
            tether_servicemap::Protocol::Tcp => Protocol::Tcp,
            tether_servicemap::Protocol::Udp => Protocol::Udp,
            tether_servicemap::Protocol::Sctp => continue,
        };
        let info = &sp.info;
        let affinity = info
            .session_affinity_timeout
            .map(|t| Duration::from_secs(u64::from(t)));
        let internal = backends(
            &sp.endpoints,
            info.internal_traffic_policy == TrafficPolicy::Local,
        );
        let external = backends(
            &sp.endpoints,
            info.external_traffic_policy == TrafficPolicy::Local,
        );
        let mut push = |ip: IpAddr, port: u16, b: &Vec<Backend>| {
            // No usable endpoint: no listener, so the kernel refuses at once (TCP reset,
            // ICMP port unreachable) instead of accepting and then resetting.
            if !b.iter().any(|e| e.ready || e.serving) {
                return;
            }
            out.push(Frontend {
                listen: SocketAddr::new(ip, port),
                protocol,
                backends: b.clone(),
                affinity,
                name: name.to_string(),
            });
        };
        if o.services {
            for ip in &info.cluster_ips {
                push(*ip, info.port, &internal);
            }
            if let Some(np) = info.node_port {
                for ip in &o.node_ips {
                    push(*ip, np, &external);
                }
            }
            for ip in info.load_balancer_ips.iter().chain(&info.external_ips) {
                push(*ip, info.port, &external);
            }
        }
        if o.localhost_lb && info.service_type == ServiceType::LoadBalancer {
            push(IpAddr::from([127, 0, 0, 1]), info.port, &external);
        }
    }
    out
}

/// Makes the Service CIDR local in the node namespace (userspace mode).
pub(crate) async fn route_services_locally(node: &NetNs, cidr: ipnet::IpNet) -> anyhow::Result<()> {
    let h = node.handle().await?;
    tether_netns::replace_local_route(&h, cidr, "lo")
        .await
        .with_context(|| format!("making {cidr} local in {}", node.name()))
}

/// Adds LoadBalancer and external IPs as local addresses of the node namespace.
async fn ensure_local(h: &tether_netns::Handle, map: &ServiceMap) {
    for sp in map.ports.values() {
        for ip in sp
            .info
            .load_balancer_ips
            .iter()
            .chain(&sp.info.external_ips)
        {
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            let Ok(net) = tether_netns::IpNet::new(*ip, prefix) else {
                continue;
            };
            match tether_netns::add_address(h, "lo", net).await {
                Ok(()) => tracing::info!(%ip, "external address added to the node"),
                Err(e) if e.is_exists() => {}
                Err(e) => tracing::warn!(%ip, error = %e, "adding an external address failed"),
            }
        }
    }
}

/// Runs the proxy until `shutdown`, following the service map.
pub(crate) fn start(
    mut rx: watch::Receiver<Arc<ServiceMap>>,
    node: &NetNs,
    o: Options,
    registry: &mut prometheus_client::registry::Registry,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The agent's own namespace, for 127.0.0.1 listeners.
    let host = Arc::new(
        NetNs::from_path("/proc/thread-self/ns/net").context("opening the agent's namespace")?,
    );
    let ns_for_addrs = Arc::new(NetNs::from_path(node.path())?);
    // The 127.0.0.1 relays are a proxy of their own with one listener per frontend: the
    // host's loopback is shared with other processes, and SO_REUSEPORT there would let a
    // root process's `reuseport` listener on the same port share the traffic silently
    // instead of the bind failing.
    let relay_bind: tether_proxy::BindFn = Arc::new(
        move |addr: SocketAddr, p: Protocol, reuse_port: bool| -> std::io::Result<BoundSocket> {
            host.run(|| tether_proxy::bind(addr, p, reuse_port))
                .map_err(std::io::Error::other)?
        },
    );
    // A current-thread runtime per core, each on its own node-namespace thread, each
    // accepting every TCP frontend from its own SO_REUSEPORT listener: no work stealing or
    // cross-thread wake-up per packet (BENCHMARKS § 7d, § 8). They serve until the main
    // proxy thread below ends (it owns them); that thread's runtime runs the sync loop and
    // the UDP frontends (on one core, or for the relays alone, it serves TCP too).
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let accept_runtimes = if o.services && cores > 1 { cores } else { 0 };
    let runtimes = RuntimeThreads::start(accept_runtimes, |job| node.spawn(job).map(drop))?;
    // Sockets are bound by the thread that syncs: the default bind binds in the node's
    // namespace there.
    let proxy = Proxy::new(tether_proxy::Config {
        tcp_runtimes: runtimes.handles(),
        ..tether_proxy::Config::default()
    });
    proxy.register_metrics(registry.sub_registry_with_prefix("proxy"));
    let relays = Proxy::new(tether_proxy::Config {
        bind: relay_bind,
        ..tether_proxy::Config::default()
    });
    relays.register_metrics(registry.sub_registry_with_prefix("localhost_relay"));
    node.spawn(move || {
        let _runtimes = runtimes;
        let rt = match current_thread() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "userspace proxy runtime");
                return;
            }
        };
        rt.block_on(async move {
            let handle = if o.services {
                ns_for_addrs.handle().await.ok()
            } else {
                None
            };
            // healthCheckNodePorts, as in nftables mode (this runtime's threads are in the
            // node's namespace).
            let mut health = o
                .services
                .then(|| tether_nft::healthcheck::HealthServer::new(None));
            loop {
                let map = rx.borrow_and_update().clone();
                if let Some(h) = &handle {
                    ensure_local(h, &map).await;
                }
                if let Some(hs) = health.as_mut()
                    && let Err(e) = hs.sync(&map)
                {
                    tracing::warn!(error = %e, "health check servers");
                }
                let (local, services): (Vec<Frontend>, Vec<Frontend>) = frontends(&map, &o)
                    .into_iter()
                    .partition(|f| f.listen.ip().is_loopback());
                for (p, fes) in [(&proxy, services), (&relays, local)] {
                    if let Err(e) = p.sync(fes).await {
                        tracing::warn!(error = %e, "some proxy listeners failed");
                    }
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    r = rx.changed() => if r.is_err() { break },
                }
            }
            tokio::join!(proxy.shutdown(), relays.shutdown());
        });
    })?;
    Ok(())
}

/// A current-thread runtime for a proxy thread.
fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
