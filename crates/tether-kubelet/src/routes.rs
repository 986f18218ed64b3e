//! Routes to the other nodes' pods, as flannel's `host-gw` backend lays them: for every other
//! Node with a podCIDR and an InternalIP of the same family, `ip route add <podCIDR> via
//! <InternalIP>` in this node's namespace. The routes carry tether's routing protocol number
//! ([`tether_netns::TETHER_ROUTE_PROTO`]), so a sync removes exactly the routes it made for
//! Nodes that went away or moved, and nothing else. The nodes must share a link (an L2
//! segment): that is what host-gw asks of the network underneath.

use futures::StreamExt;
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tether_netns::{GatewayRoute, NetNs};
use tokio_util::sync::CancellationToken;

/// The routes this node needs to reach the pods of `nodes` (all Nodes; `self_name` is
/// skipped). A Node without a podCIDR or without an InternalIP of the podCIDR's family gets
/// none; an unparsable field is skipped (another component wrote it; it is not ours to fail
/// on). A podCIDR overlapping one of `own` (this node's pods are on its bridge) gets no route,
/// and when two Nodes claim one podCIDR the first by name gets it: both are someone's
/// mistake, reported in [`Desired::conflicts`] (for the caller to log when the routes change,
/// not at every Node heartbeat) rather than letting routes flip.
pub fn desired_routes<'a>(
    self_name: &str,
    own: &[IpNet],
    nodes: impl IntoIterator<Item = &'a Node>,
) -> Desired {
    let mut conflicts = Vec::new();
    let mut nodes: Vec<&Node> = nodes.into_iter().collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut by_dst: BTreeMap<IpNet, (&str, IpAddr)> = BTreeMap::new();
    for n in nodes {
        let name = n.metadata.name.as_deref().unwrap_or_default();
        if name == self_name {
            continue;
        }
        let Some(spec) = &n.spec else { continue };
        let mut cidrs: Vec<&String> = spec.pod_cidrs.iter().flatten().collect();
        if cidrs.is_empty()
            && let Some(c) = &spec.pod_cidr
        {
            cidrs.push(c);
        }
        let ips: Vec<IpAddr> = n
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter(|a| a.type_ == "InternalIP")
            .filter_map(|a| IpAddr::from_str(&a.address).ok())
            .collect();
        for c in cidrs {
            let Ok(dst) = IpNet::from_str(c).map(|d| d.trunc()) else {
                continue;
            };
            let Some(gw) = ips.iter().find(|ip| ip.is_ipv4() == dst.addr().is_ipv4()) else {
                continue;
            };
            if own.iter().any(|o| o.contains(&dst) || dst.contains(o)) {
                conflicts.push(format!(
                    "Node {name}'s podCIDR {dst} overlaps this node's: no route"
                ));
                continue;
            }
            match by_dst.get(&dst) {
                Some((first, _)) => {
                    conflicts.push(format!(
                        "Nodes {first} and {name} both claim podCIDR {dst}: the route goes to {first}"
                    ));
                }
                None => {
                    by_dst.insert(dst, (name, *gw));
                }
            }
        }
    }
    Desired {
        routes: by_dst
            .into_iter()
            .map(|(dst, (_, gw))| GatewayRoute { dst, gw })
            .collect(),
        conflicts,
    }
}

/// What [`desired_routes`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The routes this node needs.
    pub routes: BTreeSet<GatewayRoute>,
    /// The Nodes' podCIDR mistakes that got no route, in words.
    pub conflicts: Vec<String>,
}

/// Makes the namespace's tether routes exactly `want`: deletes the others, adds these. Each
/// route is tried on its own (a gateway the kernel refuses does not hold up the rest);
/// returns how many failed.
pub async fn sync(ns: &NetNs, want: &BTreeSet<GatewayRoute>) -> Result<usize, tether_netns::Error> {
    let h = ns.handle().await?;
    let have = tether_netns::tether_gateway_routes(&h).await?;
    let mut failed = 0;
    for r in have.iter().filter(|r| !want.contains(r)) {
        match tether_netns::delete_gateway_route(&h, *r).await {
            Ok(()) => tracing::info!(route = %r, "removed the route to a node's pods"),
            Err(e) => {
                tracing::warn!(route = %r, error = %e, "removing a route failed");
                failed += 1;
            }
        }
    }
    for r in want.iter().filter(|r| !have.contains(r)) {
        match tether_netns::add_gateway_route(&h, *r).await {
            Ok(()) => tracing::info!(route = %r, "added the route to a node's pods"),
            Err(e) => {
                tracing::warn!(route = %r, error = %e, "adding a route failed");
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// How often a sync that failed is retried.
const RETRY: Duration = Duration::from_secs(10);

/// Watches Nodes and keeps the routes to their pods until `shutdown`; `own` are this node's
/// podCIDRs.
pub async fn run(
    client: Client,
    self_name: String,
    own: Vec<IpNet>,
    ns: Arc<NetNs>,
    shutdown: CancellationToken,
) {
    let api: Api<Node> = Api::all(client);
    let (nodes, writer) = reflector::store();
    let mut events = std::pin::pin!(reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    ));
    let mut synced = false;
    let mut applied: Option<BTreeSet<GatewayRoute>> = None;
    let mut retry = tokio::time::interval(RETRY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = retry.tick(), if synced && applied.is_none() => {}
            ev = events.next() => match ev {
                None => return,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "node watch failed; retrying");
                    continue;
                }
                // Until a (re)list completes the store is partial.
                Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => continue,
                Some(Ok(_)) => synced = true,
            },
        }
        let state = nodes.state();
        let Desired {
            routes: want,
            conflicts,
        } = desired_routes(&self_name, &own, state.iter().map(AsRef::as_ref));
        // Heartbeats change Nodes every 10 s; only a change of routes costs netlink work
        // (and is worth a log line).
        if applied.as_ref() == Some(&want) {
            continue;
        }
        for c in &conflicts {
            tracing::warn!("{c}");
        }
        applied = match sync(&ns, &want).await {
            Ok(0) => Some(want),
            Ok(n) => {
                tracing::warn!(failed = n, "some routes to other nodes failed; retrying");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "syncing the routes to other nodes failed");
                None
            }
        };
        if applied.is_none() {
            // The next try a full period from now, not at the interval's next tick.
            retry.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeAddress, NodeSpec, NodeStatus};

    fn node(name: &str, cidr: Option<&str>, ips: &[&str]) -> Node {
        Node {
            metadata: kube::api::ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                pod_cidr: cidr.map(Into::into),
                pod_cidrs: cidr.map(|c| vec![c.into()]),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                addresses: Some(
                    ips.iter()
                        .map(|ip| NodeAddress {
                            type_: "InternalIP".into(),
                            address: (*ip).into(),
                        })
                        .chain(std::iter::once(NodeAddress {
                            type_: "Hostname".into(),
                            address: name.into(),
                        }))
                        .collect(),
                ),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn routes_to_every_other_node_with_a_cidr_and_an_address_of_its_family() {
        let nodes = [
            node("a", Some("10.244.0.0/24"), &["10.255.0.2"]),
            node("b", Some("10.244.1.0/24"), &["fd00::3", "10.255.0.3"]),
            node("c", None, &["10.255.0.4"]),
            node("d", Some("10.244.3.0/24"), &["fd00::5"]),
            node("e", Some("garbage"), &["10.255.0.6"]),
            node("f", Some("10.244.5.7/24"), &["not-an-ip", "10.255.0.7"]),
        ];
        let got: Vec<String> =
            desired_routes("a", &["10.244.0.0/24".parse().expect("net")], &nodes)
                .routes
                .iter()
                .map(ToString::to_string)
                .collect();
        assert_eq!(
            got,
            [
                "10.244.1.0/24 via 10.255.0.3",
                "10.244.5.0/24 via 10.255.0.7"
            ]
        );
    }

    #[test]
    fn no_route_over_our_own_pods_and_one_route_per_podcidr() {
        let own: Vec<IpNet> = vec!["10.244.0.0/24".parse().expect("net")];
        let nodes = [
            // A stale Node holding our podCIDR, and one holding a supernet of it.
            node("stale", Some("10.244.0.0/24"), &["10.255.0.9"]),
            node("wide", Some("10.244.0.0/16"), &["10.255.0.8"]),
            // Two Nodes with one podCIDR: the first by name wins, whatever the order.
            node("z", Some("10.244.2.0/24"), &["10.255.0.5"]),
            node("y", Some("10.244.2.0/24"), &["10.255.0.4"]),
        ];
        let desired = desired_routes("self", &own, &nodes);
        let got: Vec<String> = desired.routes.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["10.244.2.0/24 via 10.255.0.4"]);
        assert_eq!(
            desired.conflicts,
            [
                "Node stale's podCIDR 10.244.0.0/24 overlaps this node's: no route",
                "Node wide's podCIDR 10.244.0.0/16 overlaps this node's: no route",
                "Nodes y and z both claim podCIDR 10.244.2.0/24: the route goes to y",
            ]
        );
    }
}
