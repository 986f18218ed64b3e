//! Routes to the other nodes' pods, as flannel's `host-gw` backend lays them: for every other
//! Node with a podCIDR and an InternalIP of the same family, `ip route replace <podCIDR> via
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
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use tether_netns::{GatewayRoute, NetNs};
use tokio_util::sync::CancellationToken;

/// The routes this node needs to reach the pods of `nodes` (all Nodes; `self_name` is
/// skipped). A Node without a podCIDR or without an InternalIP of the podCIDR's family gets
/// none; an unparsable field is skipped (another component wrote it; it is not ours to fail on).
pub fn desired_routes<'a>(
    self_name: &str,
    nodes: impl IntoIterator<Item = &'a Node>,
) -> BTreeSet<GatewayRoute> {
    let mut out = BTreeSet::new();
    for n in nodes {
        if n.metadata.name.as_deref() == Some(self_name) {
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
            let Ok(dst) = IpNet::from_str(c) else {
                continue;
            };
            if let Some(gw) = ips.iter().find(|ip| ip.is_ipv4() == dst.addr().is_ipv4()) {
                out.insert(GatewayRoute {
                    dst: dst.trunc(),
                    gw: *gw,
                });
            }
        }
    }
    out
}

/// Makes the namespace's tether routes exactly `want`: deletes the others, replaces these.
pub async fn sync(ns: &NetNs, want: &BTreeSet<GatewayRoute>) -> Result<(), tether_netns::Error> {
    let h = ns.handle().await?;
    let mut have = tether_netns::tether_gateway_routes(&h, true).await?;
    have.extend(tether_netns::tether_gateway_routes(&h, false).await?);
    for r in have.iter().filter(|r| !want.contains(r)) {
        tether_netns::delete_gateway_route(&h, *r).await?;
        tracing::info!(route = %r, "removed the route to a node's pods");
    }
    for r in want {
        if !have.contains(r) {
            tether_netns::replace_gateway_route(&h, *r).await?;
            tracing::info!(route = %r, "added the route to a node's pods");
        }
    }
    Ok(())
}

/// Watches Nodes and keeps the routes to their pods until `shutdown`.
pub async fn run(client: Client, self_name: String, ns: Arc<NetNs>, shutdown: CancellationToken) {
    let api: Api<Node> = Api::all(client);
    let (nodes, writer) = reflector::store();
    let mut events = std::pin::pin!(reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    ));
    let mut applied: Option<BTreeSet<GatewayRoute>> = None;
    loop {
        let ev = tokio::select! {
            () = shutdown.cancelled() => return,
            ev = events.next() => ev,
        };
        match ev {
            None => return,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "node watch failed; retrying");
                continue;
            }
            // Until a (re)list completes the store is partial.
            Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => continue,
            Some(Ok(_)) => {}
        }
        let state = nodes.state();
        let want = desired_routes(&self_name, state.iter().map(AsRef::as_ref));
        // Heartbeats change Nodes every 10 s; only a change of routes costs netlink work.
        if applied.as_ref() == Some(&want) {
            continue;
        }
        match sync(&ns, &want).await {
            Ok(()) => applied = Some(want),
            Err(e) => {
                tracing::warn!(error = %e, "syncing the routes to other nodes failed");
                applied = None;
            }
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
        let got: Vec<String> = desired_routes("a", &nodes)
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
}
