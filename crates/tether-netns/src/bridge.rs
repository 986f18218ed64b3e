//! A pod network like the CNI `bridge` plugin with `host-local` IPAM builds it.
//!
//! The effective commands (CNI `plugins/main/bridge/bridge.go`, `cmdAdd`), with `isGateway`,
//! `isDefaultGateway` and `hairpinMode` on, as flannel configures it:
//!
//! ```sh
//! # ensure_bridge                          # attach_pod
//! ip link add cni0 type bridge             ip -n POD link add eth0 type veth peer name vethXXXXXXXX netns NODE
//! sysctl net.ipv6.conf.cni0.accept_ra=0    ip link set vethXXXXXXXX master cni0
//! ip link set cni0 up                      ip link set vethXXXXXXXX type bridge_slave hairpin on
//! ip addr add 10.244.1.1/24 dev cni0       ip link set vethXXXXXXXX up
//! sysctl net.ipv4.ip_forward=1             ip netns exec POD sysctl net.ipv4.conf.eth0.arp_notify=1
//!                                          ip -n POD addr add 10.244.1.5/24 dev eth0
//!                                          ip -n POD link set eth0 up
//!                                          ip -n POD route add default via 10.244.1.1 dev eth0
//! ```
//!
//! Masquerade is not done here: the data plane owns nftables.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use rtnetlink::packet_route::link::InfoKind;

use crate::addr::add_address_with;
use crate::link::{link_kind, link_message, validate_ifname};
use crate::testing::unique_name;
use crate::{
    Error, NetNs, Result, add_route, addresses, create_bridge, create_veth_into, delete_link,
    link_index, set_hairpin, set_master, set_up, sysctl,
};

/// A bridge that acts as the pod subnet's gateway, made by [`ensure_bridge`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    name: String,
    index: u32,
    gateway: IpNet,
}

impl Bridge {
    /// The bridge's interface name, e.g. `cni0`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bridge's interface index in the node namespace.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The gateway address on the bridge with the pod subnet's prefix, e.g. `10.244.1.1/24`.
    pub fn gateway(&self) -> IpNet {
        self.gateway
    }
}

/// Makes sure bridge `name` exists in `node`, is up, carries `gateway` (the pod subnet's
/// gateway address with the subnet's prefix, e.g. `10.244.1.1/24`; an IPv6 gateway is added
/// without DAD so it is usable at once), ignores router advertisements, and that `node`
/// forwards packets of the gateway's family. Idempotent.
///
/// Fails with [`Error::Invalid`] if `name` exists but is not a bridge, or already carries a
/// different address that overlaps `gateway` (like CNI's `ensureAddr` without
/// `forceAddress`).
pub async fn ensure_bridge(node: &NetNs, name: &str, gateway: IpNet) -> Result<Bridge> {
    validate_ifname(name)?;
    let h = node.handle().await?;
    let index = match link_message(&h, name).await {
        Ok(msg) if link_kind(&msg) == Some(&InfoKind::Bridge) => msg.header.index,
        Ok(_) => {
            return Err(Error::Invalid(format!(
                "{name:?} exists and is not a bridge"
            )));
        }
        Err(e) if e.is_not_found() => match create_bridge(&h, name).await {
            Ok(index) => index,
            Err(e) if e.is_exists() => link_index(&h, name).await?,
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    // "We want to own the routes" (bridge.go). The key is absent when IPv6 is disabled.
    ignore_not_found(sysctl(
        node,
        &format!("net/ipv6/conf/{name}/accept_ra"),
        "0",
    ))?;
    set_up(&h, name).await?;

    let existing = addresses(&h, name).await?;
    if !existing.contains(&gateway) {
        if let Some(other) = existing.iter().find(|a| overlaps(a, &gateway)) {
            return Err(Error::Invalid(format!(
                "bridge {name:?} already has {other}, which overlaps {gateway}"
            )));
        }
        // No DAD for the gateway: a tentative gateway address cannot be a source address,
        // so the node could not reach its pods for about a second after the bridge gets
        // carrier.
        match add_address_with(&h, name, gateway, true).await {
            Err(e) if e.is_exists() => {}
            other => other?,
        }
    }
    match gateway {
        IpNet::V4(_) => sysctl(node, "net.ipv4.ip_forward", "1")?,
        IpNet::V6(_) => sysctl(node, "net.ipv6.conf.all.forwarding", "1")?,
    }
    Ok(Bridge {
        name: name.to_owned(),
        index,
        gateway,
    })
}

/// Connects `pod` to `bridge` in `node`, like CNI `bridge` ADD: a veth pair created inside
/// the pod namespace as `ifname` (usually `eth0`) whose host end `veth` + 8 random hex
/// digits is created directly in `node`, enslaved to the bridge with hairpin mode on and
/// brought up; then `ip` on `ifname`, `ifname` up and a default route via `gateway`.
/// Returns the host-side interface name.
///
/// `ip` is the pod's address with the subnet prefix (`10.244.1.5/24`). With a host prefix
/// (`10.244.1.5/32`, so every packet crosses the node's IP stack) or any prefix that does
/// not contain `gateway`, an on-link route to the gateway is added first. On failure the
/// pair is deleted again. Undo with [`detach_pod`] or by deleting the pod namespace.
pub async fn attach_pod(
    node: &NetNs,
    bridge: &str,
    pod: &NetNs,
    ifname: &str,
    ip: IpNet,
    gateway: IpAddr,
) -> Result<String> {
    validate_ifname(ifname)?;
    if ip.addr().is_ipv4() != gateway.is_ipv4() {
        return Err(Error::Invalid(format!(
            "pod address {ip} and gateway {gateway} differ in family"
        )));
    }
    let node_h = node.handle().await?;
    let pod_h = pod.handle().await?;
    link_index(&node_h, bridge).await?;
    match link_index(&pod_h, ifname).await {
        Ok(_) => {
            return Err(Error::Exists(format!(
                "link {ifname:?} in netns {:?}",
                pod.name()
            )));
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }

    let mut attempts = 0;
    let host = loop {
        let candidate = unique_name("veth");
        match create_veth_into(&pod_h, ifname, &candidate, node).await {
            Ok(()) => break candidate,
            // A host-side name collision: draw another name.
            Err(e) if e.is_exists() && attempts < 3 => attempts += 1,
            Err(e) => return Err(e),
        }
    };

    let configured = async {
        set_master(&node_h, &host, bridge).await?;
        set_hairpin(&node_h, &host, true).await?;
        set_up(&node_h, &host).await?;

        match ip {
            IpNet::V4(_) => sysctl(pod, &format!("net/ipv4/conf/{ifname}/arp_notify"), "1")?,
            // Without DAD the address is usable at once (CNI's default, `enabledad: false`).
            IpNet::V6(_) => ignore_not_found(sysctl(
                pod,
                &format!("net/ipv6/conf/{ifname}/accept_dad"),
                "0",
            ))?,
        }
        // `nodad` as well: DAD still runs when the namespace's `all.accept_dad` is set (the
        // kernel skips it only when both are 0), and a tentative address cannot be bound.
        add_address_with(&pod_h, ifname, ip, true).await?;
        set_up(&pod_h, ifname).await?;
        if !ip.contains(&gateway) {
            add_route(&pod_h, IpNet::from(gateway), None, Some(ifname)).await?;
        }
        let default = match gateway {
            IpAddr::V4(_) => IpNet::new(Ipv4Addr::UNSPECIFIED.into(), 0),
            IpAddr::V6(_) => IpNet::new(Ipv6Addr::UNSPECIFIED.into(), 0),
        }
        .map_err(|e| Error::Invalid(e.to_string()))?;
        add_route(&pod_h, default, Some(gateway), Some(ifname)).await
    };
    if let Err(e) = configured.await {
        if let Err(cleanup) = delete_link(&pod_h, ifname).await {
            tracing::warn!(error = %cleanup, "removing half-attached veth failed");
        }
        return Err(e);
    }
    tracing::debug!(pod = pod.name(), %ip, host_veth = %host, "attached pod");
    Ok(host)
}

/// Removes the pod's interface `ifname` (and with it the host end), like CNI `bridge` DEL.
/// Succeeds when it is already gone.
pub async fn detach_pod(pod: &NetNs, ifname: &str) -> Result<()> {
    let h = pod.handle().await?;
    ignore_not_found(delete_link(&h, ifname).await)
}

fn ignore_not_found(result: Result<()>) -> Result<()> {
    match result {
        Err(e) if e.is_not_found() => Ok(()),
        other => other,
    }
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.addr().is_ipv4() == b.addr().is_ipv4() && (a.contains(&b.addr()) || b.contains(&a.addr()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().expect("test net")
    }

    #[test]
    fn overlap() {
        assert!(overlaps(&net("10.244.1.1/24"), &net("10.244.1.7/24")));
        assert!(overlaps(&net("10.244.0.1/16"), &net("10.244.1.1/24")));
        assert!(!overlaps(&net("10.244.1.1/24"), &net("10.244.2.1/24")));
        assert!(!overlaps(&net("fe80::1/64"), &net("10.244.1.1/24")));
    }
}
