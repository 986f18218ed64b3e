//! The agent's cluster DNS: the `kube-dns` Service (created if missing, like kubeadm's
//! CoreDNS add-on), an EndpointSlice per node pointing at that node's DNS listener, and the
//! tether-dns server on the node address inside the node namespace.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tether_netns::NetNs;
use tokio_util::sync::CancellationToken;

/// Who writes the per-node DNS slices.
const MANAGER: &str = "tether-agent";

/// Creates `kube-system/kube-dns` (selectorless, DNS ports) when missing.
async fn ensure_service(client: &Client, ip: IpAddr) -> anyhow::Result<()> {
    let api: Api<Service> = Api::namespaced(client.clone(), "kube-system");
    if api.get_opt("kube-dns").await?.is_some() {
        return Ok(());
    }
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
        "spec": {
            "clusterIP": ip.to_string(),
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }))?;
    match api.create(&PostParams::default(), &svc).await {
        Ok(_) => tracing::info!(%ip, "created the kube-dns service"),
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        // Another agent created it meanwhile. The API server allocates a requested
        // ClusterIP before it checks the name (upstream too: the Service REST's
        // `beginCreate` allocates before the store's create), so that race can be answered
        // 422 "provided IP is already allocated" instead of 409 (seen in CI with two
        // agents): look again.
        Err(e) => {
            if api.get_opt("kube-dns").await?.is_none() {
                return Err(e).context("creating kube-system/kube-dns");
            }
        }
    }
    Ok(())
}

/// Publishes this node's DNS listener as an endpoint of `kube-dns`.
async fn publish_endpoint(client: &Client, node: &str, node_ip: IpAddr) -> anyhow::Result<()> {
    let api: Api<EndpointSlice> = Api::namespaced(client.clone(), "kube-system");
    let name = format!("kube-dns-{node}");
    let family = if node_ip.is_ipv4() { "IPv4" } else { "IPv6" };
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "kube-system",
            "labels": {"kubernetes.io/service-name": "kube-dns", "endpointslice.kubernetes.io/managed-by": MANAGER}},
        "addressType": family,
        "endpoints": [{"addresses": [node_ip.to_string()], "nodeName": node,
            "conditions": {"ready": true, "serving": true, "terminating": false}}],
        "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        ],
    });
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&slice),
    )
    .await
    .with_context(|| format!("publishing kube-system/{name}"))?;
    Ok(())
}

/// The upstream resolvers of this machine (its `/etc/resolv.conf`).
pub(crate) fn host_upstreams() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// What the agent's DNS needs.
#[derive(Debug, Clone)]
pub(crate) struct DnsSettings {
    pub(crate) service_ip: IpAddr,
    pub(crate) zone: String,
    pub(crate) upstreams: Vec<SocketAddr>,
    pub(crate) node_name: String,
    pub(crate) node_ip: IpAddr,
    pub(crate) netns: String,
}

/// Starts the DNS server; returns once it is listening.
pub(crate) async fn start(
    client: Client,
    s: DnsSettings,
    registry: &mut prometheus_client::registry::Registry,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ns = NetNs::open(&s.netns)?;
    let addr = SocketAddr::new(s.node_ip, 53);
    let (udp, tcp) = ns
        .run(|| -> std::io::Result<_> {
            Ok((
                std::net::UdpSocket::bind(addr)?,
                std::net::TcpListener::bind(addr)?,
            ))
        })?
        .with_context(|| format!("binding DNS on {addr} in netns {}", s.netns))?;
    let index = Arc::new(tether_dns::Index::new());
    tokio::spawn(tether_dns::run_watches(
        client.clone(),
        index.clone(),
        shutdown.clone(),
    ));
    let cfg = tether_dns::Config {
        zone: s.zone.clone(),
        upstreams: s.upstreams.clone(),
        nameserver_ips: vec![s.service_ip],
        ..tether_dns::Config::default()
    };
    let server = Arc::new(tether_dns::DnsServer::new(cfg, index)?);
    server.register_metrics(registry);
    tokio::spawn(server.clone().serve_udp(udp, shutdown.clone()));
    tokio::spawn(server.serve_tcp(tcp, shutdown.clone()));
    ensure_service(&client, s.service_ip).await?;
    publish_endpoint(&client, &s.node_name, s.node_ip).await?;
    tracing::info!(%addr, service = %s.service_ip, zone = s.zone, upstreams = ?s.upstreams, "cluster DNS serving");
    Ok(())
}
