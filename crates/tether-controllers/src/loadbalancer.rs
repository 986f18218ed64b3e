//! LoadBalancer addresses on machines with no cloud (the service controller's job, done as
//! MetalLB's layer-2 mode or Docker Desktop would): every LoadBalancer Service without a
//! `loadBalancerClass` gets `status.loadBalancer.ingress`
//!
//! - from the configured pool (`--lb-pool`), honouring `spec.loadBalancerIP` and the
//!   `tether.dev/load-balancer-ips` / `metallb.universe.tf/loadBalancerIPs` annotations;
//!   addresses return to the pool when the Service goes or changes type;
//! - or, with no pool, the InternalIPs of the Ready nodes (each node's data plane answers on
//!   its own address);
//! - or `localhost` (`tether up`, like Docker Desktop): the agent serves the ports on the
//!   machine's 127.0.0.1.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::{LoadBalancerIngress, Node, Service};
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::Store;
use serde_json::{Value, json};
use tether_ipam::IpRange;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// Annotations that request addresses (comma-separated).
pub const REQUEST_ANNOTATIONS: &[&str] = &[
    "tether.dev/load-balancer-ips",
    "metallb.universe.tf/loadBalancerIPs",
];

/// Where LoadBalancer addresses come from.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// The Ready nodes' InternalIPs.
    #[default]
    NodeIps,
    /// The hostname `localhost`.
    Localhost,
    /// Addresses from a pool (tether-ipam's range: no network or IPv4 broadcast address).
    Pool(IpRange),
}

impl Mode {
    /// Addresses from the pool `net`.
    pub fn pool(net: IpNet) -> Result<Self, tether_ipam::Error> {
        IpRange::without_band(net).map(Self::Pool)
    }
}

fn is_ours(s: &Service) -> bool {
    s.spec.as_ref().is_some_and(|sp| {
        sp.type_.as_deref() == Some("LoadBalancer")
            && sp.load_balancer_class.as_deref().is_none_or(str::is_empty)
    })
}

/// `status.loadBalancer.ingress`.
fn ingress(s: &Service) -> &[LoadBalancerIngress] {
    s.status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or_default()
}

fn has_ingress(s: &Service) -> bool {
    !ingress(s).is_empty()
}

fn current(s: &Service) -> Vec<Value> {
    ingress(s)
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

fn ips_of(ingress: &[Value]) -> Vec<IpAddr> {
    ingress
        .iter()
        .filter_map(|i| i.get("ip")?.as_str()?.parse().ok())
        .collect()
}

fn requested(s: &Service) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    if let Some(ip) = s
        .spec
        .as_ref()
        .and_then(|sp| sp.load_balancer_ip.as_deref())
        .and_then(|ip| ip.parse().ok())
    {
        out.push(ip);
    }
    for a in REQUEST_ANNOTATIONS {
        if let Some(v) = s.metadata.annotations.as_ref().and_then(|m| m.get(*a)) {
            out.extend(v.split(',').filter_map(|p| p.trim().parse::<IpAddr>().ok()));
        }
    }
    out
}

/// The ingress a Service should show; `None` while it waits (pool exhausted, bad request).
pub fn desired(
    mode: &Mode,
    svc: &Service,
    nodes: &[IpAddr],
    used: &BTreeSet<IpAddr>,
) -> Option<Vec<Value>> {
    match mode {
        Mode::Localhost => Some(vec![json!({"hostname": "localhost"})]),
        Mode::NodeIps => {
            if nodes.is_empty() {
                return None;
            }
            Some(
                nodes
                    .iter()
                    .map(|ip| json!({"ip": ip.to_string(), "ipMode": "VIP"}))
                    .collect(),
            )
        }
        Mode::Pool(pool) => {
            let have = ips_of(&current(svc));
            let want = requested(svc);
            if !want.is_empty() {
                let ok = want
                    .iter()
                    .all(|ip| pool.contains(*ip) && (have.contains(ip) || !used.contains(ip)));
                return ok.then(|| {
                    want.iter()
                        .map(|ip| json!({"ip": ip.to_string(), "ipMode": "VIP"}))
                        .collect()
                });
            }
            if let Some(ip) = have.iter().find(|ip| pool.contains(**ip)) {
                return Some(vec![json!({"ip": ip.to_string(), "ipMode": "VIP"})]);
            }
            let free = (0..pool.size())
                .filter_map(|n| pool.nth(n))
                .find(|ip| !used.contains(ip))?;
            Some(vec![json!({"ip": free.to_string(), "ipMode": "VIP"})])
        }
    }
}

fn node_ips(nodes: &Store<Node>) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = nodes
        .state()
        .iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        })
        .flat_map(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.addresses.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a.type_ == "InternalIP")
                .filter_map(|a| a.address.parse().ok())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Runs the controller until `shutdown`.
pub async fn run(client: Client, mode: Mode, shutdown: CancellationToken) -> Result<(), Error> {
    let changed = Arc::new(Notify::new());
    let services: Store<Service> =
        crate::workloads::start(&client, changed.clone(), shutdown.clone());
    // Only the NodeIps mode reads Nodes: the others need no Node watch, and no pass over
    // every Service at each Node heartbeat.
    let nodes: Option<Store<Node>> = matches!(mode, Mode::NodeIps)
        .then(|| crate::workloads::start(&client, changed.clone(), shutdown.clone()));
    let nodes_ready = async {
        match &nodes {
            Some(n) => n.wait_until_ready().await.map(drop),
            None => Ok(()),
        }
    };
    tokio::select! {
        r = async { tokio::try_join!(services.wait_until_ready(), nodes_ready) } => {
            if r.is_err() { return Ok(()); }
        }
        () = shutdown.cancelled() => return Ok(()),
    }
    tracing::info!(?mode, "load balancer controller started");
    loop {
        let all = services.state();
        let node_list = nodes.as_ref().map(node_ips).unwrap_or_default();
        let mut used: BTreeSet<IpAddr> = all
            .iter()
            .filter(|s| is_ours(s))
            .flat_map(|s| ips_of(&current(s)))
            .collect();
        for svc in &all {
            // Most Services are not LoadBalancers and hold no address: skip them before any
            // allocation (this loop runs over every Service on every change).
            let ours = is_ours(svc);
            if !ours && !has_ingress(svc) {
                continue;
            }
            let want = if ours {
                desired(&mode, svc, &node_list, &used)
            } else if svc
                .spec
                .as_ref()
                .is_some_and(|sp| sp.type_.as_deref() != Some("LoadBalancer"))
            {
                // No longer a LoadBalancer: its addresses go back.
                Some(Vec::new())
            } else {
                continue;
            };
            let name = svc.metadata.name.clone().unwrap_or_default();
            let ns = svc.metadata.namespace.clone().unwrap_or_default();
            let have = current(svc);
            let want = want.unwrap_or_default();
            if want == have {
                continue;
            }
            used.extend(ips_of(&want));
            let api: Api<Service> = Api::namespaced(client.clone(), &ns);
            let patch = json!({"status": {"loadBalancer": {"ingress": want}}});
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    tracing::info!(service = %format!("{ns}/{name}"), ingress = %json!(want), "load balancer status")
                }
                Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                Err(e) => {
                    tracing::warn!(service = %format!("{ns}/{name}"), error = %e, "load balancer status update failed")
                }
            }
        }
        tokio::select! {
            () = changed.notified() => {}
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(v: Value) -> Service {
        serde_json::from_value(v).expect("service")
    }

    #[test]
    fn pool_assigns_free_addresses_and_honours_requests() {
        let pool = Mode::pool("192.168.200.0/29".parse().expect("net")).expect("pool");
        let s = svc(json!({"metadata": {"name": "a"}, "spec": {"type": "LoadBalancer"}}));
        let used: BTreeSet<IpAddr> = ["192.168.200.1".parse().expect("ip")].into();
        let got = desired(&pool, &s, &[], &used).expect("assigned");
        assert_eq!(got, vec![json!({"ip": "192.168.200.2", "ipMode": "VIP"})]);
        let r = svc(
            json!({"metadata": {"name": "b"}, "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.168.200.5"}}),
        );
        assert_eq!(
            desired(&pool, &r, &[], &used).expect("requested")[0]["ip"],
            "192.168.200.5"
        );
        let taken = svc(
            json!({"metadata": {"name": "c"}, "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.168.200.1"}}),
        );
        assert_eq!(desired(&pool, &taken, &[], &used), None);
        let outside = svc(
            json!({"metadata": {"name": "d", "annotations": {"tether.dev/load-balancer-ips": "10.0.0.1"}}, "spec": {"type": "LoadBalancer"}}),
        );
        assert_eq!(desired(&pool, &outside, &[], &used), None);
        // The pool's network address is not an address to hand out.
        let network = svc(
            json!({"metadata": {"name": "e"}, "spec": {"type": "LoadBalancer", "loadBalancerIP": "192.168.200.0"}}),
        );
        assert_eq!(desired(&pool, &network, &[], &used), None);
    }

    #[test]
    fn localhost_and_node_modes() {
        let s = svc(json!({"metadata": {"name": "a"}, "spec": {"type": "LoadBalancer"}}));
        assert_eq!(
            desired(&Mode::Localhost, &s, &[], &BTreeSet::new()).expect("lh")[0]["hostname"],
            "localhost"
        );
        let n: IpAddr = "10.255.0.2".parse().expect("ip");
        assert_eq!(
            desired(&Mode::NodeIps, &s, &[n], &BTreeSet::new()).expect("n")[0]["ip"],
            "10.255.0.2"
        );
        assert_eq!(desired(&Mode::NodeIps, &s, &[], &BTreeSet::new()), None);
    }
}
