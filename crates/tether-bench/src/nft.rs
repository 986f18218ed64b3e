//! nftables data plane: program one Service for the traffic benchmark, and measure the
//! programming cost of N Services. Both act on the current network namespace: the scripts
//! run them under `ip netns exec` in a namespace they created.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use tether_nft::{Config, Proxier};
use tether_servicemap::{Endpoint, Protocol, ServiceInfo, ServiceMap, ServicePortName};

use crate::stats::{summarize, us};

fn info(ip: Ipv4Addr, port: u16) -> ServiceInfo {
    ServiceInfo::cluster_ip(IpAddr::V4(ip), port, Protocol::Tcp)
}

/// A ready endpoint on this node.
fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint {
        node_name: Some("bench".into()),
        is_local: true,
        ..Endpoint::ready(addr.ip(), addr.port())
    }
}

fn config(cluster_cidr: Option<ipnet::Ipv4Net>) -> Config {
    Config {
        cluster_cidr,
        service_cidr: None,
        health_checks: false,
        ..Config::default()
    }
}

/// Arguments of `nft-service`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServiceArgs {
    /// ClusterIP.
    #[arg(long)]
    cluster_ip: Ipv4Addr,
    /// Service port.
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Endpoints.
    #[arg(long, num_args = 1.., required = true)]
    backends: Vec<SocketAddr>,
    /// Cluster (pod) CIDR: ClusterIP traffic from outside it is masqueraded, as in the agent.
    #[arg(long)]
    cluster_cidr: Option<ipnet::Ipv4Net>,
    /// Also program a UDP port with the same endpoints.
    #[arg(long)]
    udp: bool,
    /// Masquerade with `fully-random` source ports (kube-proxy's rule).
    #[arg(long)]
    fully_random: bool,
    /// An extra port `PORT=BACKEND` with a single endpoint (for iperf3, whose control and
    /// data connections must reach the same server).
    #[arg(long)]
    extra: Option<String>,
    /// Program the netdev fast path (`table netdev tether`) with this uplink device.
    #[arg(long, requires_all = ["netdev_bridge", "netdev_clients", "netdev_pods"])]
    netdev_uplink: Option<String>,
    /// Program the eBPF fast path (tether_ebpf, as `tether agent --ebpf-fast-path` does) on
    /// the `--netdev-*` devices instead of the netdev one. Its programs stay attached when
    /// this exits (`ebpf-remove` detaches them).
    #[arg(long, requires = "netdev_uplink")]
    ebpf: bool,
    /// The fast path's pod bridge.
    #[arg(long)]
    netdev_bridge: Option<String>,
    /// The fast path's client subnets (the uplink's own).
    #[arg(long, num_args = 1..)]
    netdev_clients: Vec<ipnet::Ipv4Net>,
    /// The fast path's pod subnets (the bridge's own).
    #[arg(long, num_args = 1..)]
    netdev_pods: Vec<ipnet::Ipv4Net>,
}

/// Parses `PORT=IP:PORT`.
pub(crate) fn parse_extra(s: &str) -> anyhow::Result<(u16, SocketAddr)> {
    let (p, b) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("expected PORT=IP:PORT"))?;
    Ok((p.parse()?, b.parse()?))
}

/// Programs the Service and exits (the rules stay in the namespace).
pub(crate) fn service(a: &ServiceArgs) -> anyhow::Result<()> {
    let mut map = ServiceMap::new();
    let eps: Vec<_> = a.backends.iter().map(|b| endpoint(*b)).collect();
    map.insert(
        ServicePortName::new("bench", "svc", "tcp", Protocol::Tcp),
        info(a.cluster_ip, a.port),
        eps.clone(),
    );
    if a.udp {
        let mut i = info(a.cluster_ip, a.port);
        i.protocol = Protocol::Udp;
        map.insert(
            ServicePortName::new("bench", "svc", "udp", Protocol::Udp),
            i,
            eps,
        );
    }
    if let Some(extra) = &a.extra {
        let (port, backend) = parse_extra(extra)?;
        map.insert(
            ServicePortName::new("bench", "svc", "extra", Protocol::Tcp),
            info(a.cluster_ip, port),
            vec![endpoint(backend)],
        );
    }
    let netdev = match (&a.netdev_uplink, &a.netdev_bridge) {
        (Some(uplink), Some(bridge)) => Some(tether_nft::netdev::Devices {
            uplink: uplink.clone(),
            bridge: bridge.clone(),
            clients: a.netdev_clients.clone(),
            pods: a.netdev_pods.clone(),
        }),
        _ => None,
    };
    let (netdev, ebpf) = if a.ebpf {
        (None, netdev)
    } else {
        (netdev, None)
    };
    let mut p = Proxier::new(Config {
        masquerade_fully_random: a.fully_random,
        netdev,
        ..config(a.cluster_cidr)
    });
    let t = Instant::now();
    let kind = p.sync(&map)?;
    println!(
        "nft_service_synced kind={kind:?} ms={}",
        t.elapsed().as_millis()
    );
    if let Some(devices) = ebpf {
        let t = Instant::now();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let picking = rt.block_on(async {
            let mut dp = tether_ebpf::Dataplane::open(&tether_ebpf::Config {
                netns: None,
                devices,
            })
            .await?;
            dp.sync(&std::sync::Arc::new(map.clone())).await?;
            Ok::<_, tether_ebpf::Error>(dp.state().picking())
        })?;
        println!(
            "ebpf_attached picking={picking} ms={}",
            t.elapsed().as_millis()
        );
    }
    Ok(())
}

/// Arguments of `ebpf-remove`.
#[derive(Debug, clap::Args)]
pub(crate) struct EbpfRemoveArgs {
    /// The uplink device.
    #[arg(long)]
    uplink: String,
    /// The pods' bridge.
    #[arg(long)]
    bridge: String,
}

/// Detaches the eBPF fast path's programs from the devices in this namespace.
pub(crate) fn ebpf_remove(a: &EbpfRemoveArgs) -> anyhow::Result<()> {
    let devices = tether_nft::netdev::Devices {
        uplink: a.uplink.clone(),
        bridge: a.bridge.clone(),
        clients: Vec::new(),
        pods: Vec::new(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tether_ebpf::remove(None, &devices))?;
    Ok(())
}

/// Arguments of `nft-cost`.
#[derive(Debug, clap::Args)]
pub(crate) struct CostArgs {
    /// Number of Services (one TCP port each).
    #[arg(long)]
    services: usize,
    /// Endpoints per Service.
    #[arg(long, default_value_t = 5)]
    endpoints: usize,
    /// How many single changes of each kind to time.
    #[arg(long, default_value_t = 5)]
    changes: usize,
    /// Skip the full re-sync step (it is the slow one).
    #[arg(long)]
    skip_resync: bool,
    /// Only time the full render (`render::full_split`, 3 times, no kernel): the
    /// userspace part of a full sync.
    #[arg(long)]
    render_only: bool,
    /// Program every port in kube-proxy's layout (no fast path): the baseline.
    #[arg(long)]
    kube_proxy_layout: bool,
    /// Apply each sync by running `nft -f -` (as kube-proxy does) instead of through the
    /// in-process libnftables context.
    #[arg(long)]
    nft_program: bool,
    /// Load the whole table as one script even into an empty namespace (no netlink batch
    /// for the fast path's elements).
    #[arg(long)]
    no_netlink_elements: bool,
    /// How many endpoints (of all Services) run on this node; the rest are on other nodes.
    #[arg(long, default_value_t = 110)]
    local_endpoints: usize,
    /// Write the full sync's script to this file and stop (to study `nft` by hand).
    #[arg(long)]
    dump_script: Option<std::path::PathBuf>,
}

fn service_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 96, 0, 0)) + 1 + u32::try_from(i).unwrap_or(0))
}

/// Endpoint `e` of Service `i`: the first `local` endpoints of the whole map are on this node
/// (kubelet's default `--max-pods` is 110), the others on other nodes.
fn endpoints_of(i: usize, n: usize, local: usize) -> Vec<Endpoint> {
    (0..n)
        .map(|e| {
            let k = i * n + e;
            let ip = Ipv4Addr::from(
                u32::from(Ipv4Addr::new(10, 128, 0, 0)) + 2 + u32::try_from(k).unwrap_or(0),
            );
            let mut ep = endpoint(SocketAddr::new(IpAddr::V4(ip), 8080));
            if k >= local {
                ep.is_local = false;
                ep.node_name = Some("elsewhere".into());
            }
            ep
        })
        .collect()
}

fn name(i: usize) -> ServicePortName {
    ServicePortName::new(
        &format!("ns-{}", i % 100),
        &format!("svc-{i}"),
        "http",
        Protocol::Tcp,
    )
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn p_config(a: &CostArgs) -> anyhow::Result<Config> {
    Ok(Config {
        fast_path: !a.kube_proxy_layout,
        nft_library: !a.nft_program,
        netlink_elements: !a.no_netlink_elements,
        ..config(Some("10.128.0.0/9".parse()?))
    })
}

/// Full load, full re-sync, then single add / endpoint change / delete, each timed.
pub(crate) fn cost(a: &CostArgs) -> anyhow::Result<()> {
    let mut map = ServiceMap::new();
    for i in 0..a.services {
        map.insert(
            name(i),
            info(service_ip(i), 80),
            endpoints_of(i, a.endpoints, a.local_endpoints),
        );
    }
    let n = a.services;
    let cfg = p_config(a)?;
    if let Some(path) = &a.dump_script {
        let (script, _) = tether_nft::render::full(&cfg, &map);
        std::fs::write(path, script)?;
        return Ok(());
    }
    if a.render_only {
        for _ in 0..3 {
            let t = Instant::now();
            let (script, bulk, _) = tether_nft::render::full_split(&cfg, &map);
            let render = t.elapsed();
            println!(
                "nft_cost services={n} render_ms={:.1} script_bytes={} bulk_elements={}",
                ms(render),
                script.len(),
                bulk.len()
            );
        }
        return Ok(());
    }
    let mut p = Proxier::new(cfg);
    let layout = match (a.kube_proxy_layout, a.nft_program, a.no_netlink_elements) {
        (true, false, _) => "kube-proxy",
        (true, true, _) => "kube-proxy+nft-program",
        (false, false, false) => "tether",
        (false, false, true) => "tether-script-load",
        (false, true, _) => "tether+nft-program",
    };
    let t = Instant::now();
    let kind = p.sync(&map)?;
    println!(
        "nft_cost layout={layout} services={n} endpoints={} local_endpoints={} full_load_ms={:.1} kind={kind:?}",
        a.endpoints,
        a.local_endpoints.min(n * a.endpoints),
        ms(t.elapsed())
    );
    if !a.skip_resync {
        p.force_full();
        let t = Instant::now();
        let kind = p.sync(&map)?;
        println!(
            "nft_cost layout={layout} services={n} full_resync_ms={:.1} kind={kind:?} netlink_loads={}",
            ms(t.elapsed()),
            p.netlink_loads()
        );
    }
    let mut add = Vec::new();
    let mut change = Vec::new();
    let mut del = Vec::new();
    for c in 0..a.changes {
        // Add one Service.
        let j = n + c;
        map.insert(
            name(j),
            info(service_ip(j), 80),
            endpoints_of(j, a.endpoints, a.local_endpoints),
        );
        let t = Instant::now();
        let k1 = p.sync(&map)?;
        add.push(us(t.elapsed()));
        // Replace one endpoint of an existing Service.
        let victim = (c * 7919) % n.max(1);
        let mut eps = endpoints_of(victim, a.endpoints, a.local_endpoints);
        if let Some(e) = eps.first_mut() {
            e.ip = IpAddr::V4(Ipv4Addr::new(
                10,
                255,
                0,
                u8::try_from(c % 250).unwrap_or(0) + 2,
            ));
        }
        map.insert(name(victim), info(service_ip(victim), 80), eps);
        let t = Instant::now();
        let k2 = p.sync(&map)?;
        change.push(us(t.elapsed()));
        // Delete the added Service.
        map.ports.remove(&name(j));
        let t = Instant::now();
        let k3 = p.sync(&map)?;
        del.push(us(t.elapsed()));
        if c == 0 {
            println!("nft_cost change_kinds add={k1:?} endpoint={k2:?} delete={k3:?}");
        }
    }
    let (a_s, c_s, d_s) = (
        summarize(&mut add),
        summarize(&mut change),
        summarize(&mut del),
    );
    println!(
        "nft_cost layout={layout} services={n} add_one_ms_median={:.1} add_one_ms_max={:.1} endpoint_change_ms_median={:.1} endpoint_change_ms_max={:.1} delete_one_ms_median={:.1} delete_one_ms_max={:.1}",
        a_s.p50 / 1e3,
        a_s.max / 1e3,
        c_s.p50 / 1e3,
        c_s.max / 1e3,
        d_s.p50 / 1e3,
        d_s.max / 1e3
    );
    let (rss, hwm) = crate::rss_kib();
    println!("nft_cost bench_rss_kib={rss} bench_hwm_kib={hwm}");
    Ok(())
}
