//! Links: bridges, veth pairs, bridge ports, up/down, moving between namespaces.
//!
//! Every function takes an rtnetlink [`Handle`] and acts in the namespace that handle's
//! socket was opened in (see [`NetNs::handle`]). Links are named like `ip link` names them.

use std::os::fd::{AsFd, AsRawFd};

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoVeth, LinkAttribute, LinkInfo,
    LinkMessage,
};
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};

use crate::{Error, NetNs, Result};

/// The interface index of link `name` ([`Error::NotFound`] when there is none).
pub async fn link_index(h: &Handle, name: &str) -> Result<u32> {
    Ok(link_message(h, name).await?.header.index)
}

/// Whether link `name` carries Ethernet frames (`ARPHRD_ETHER`: NICs, veths, bridges, not
/// layer-3 devices such as WireGuard or tun).
pub async fn link_is_ethernet(h: &Handle, name: &str) -> Result<bool> {
    Ok(link_message(h, name).await?.header.link_layer_type
        == rtnetlink::packet_route::link::LinkLayerType::Ether)
}

/// The full `RTM_NEWLINK` message for `name`.
pub(crate) async fn link_message(h: &Handle, name: &str) -> Result<LinkMessage> {
    validate_ifname(name)?;
    let mut links = h.link().get().match_name(name).execute();
    match links.try_next().await {
        Ok(Some(msg)) => Ok(msg),
        Ok(None) => Err(Error::NotFound(format!("link {name:?}"))),
        Err(e) => Err(Error::netlink(format!("link {name:?}"), e)),
    }
}

/// The `IFLA_INFO_KIND` of a link (`None` for kinds without one, like physical NICs).
pub(crate) fn link_kind(msg: &LinkMessage) -> Option<&InfoKind> {
    msg.attributes.iter().find_map(|attr| match attr {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|info| match info {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        }),
        _ => None,
    })
}

/// Creates a Linux bridge (`ip link add NAME type bridge`), left down, and returns its
/// interface index. STP stays off, so ports forward as soon as they are up.
pub async fn create_bridge(h: &Handle, name: &str) -> Result<u32> {
    validate_ifname(name)?;
    h.link()
        .add(LinkMessageBuilder::<LinkBridge>::new(name).build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("create bridge {name:?}"), e))?;
    link_index(h, name).await
}

/// Creates a veth pair with both ends in the handle's namespace
/// (`ip link add NAME type veth peer name PEER`).
pub async fn create_veth(h: &Handle, name: &str, peer: &str) -> Result<()> {
    validate_ifname(name)?;
    validate_ifname(peer)?;
    h.link()
        .add(LinkVeth::new(name, peer).build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("create veth {name:?}/{peer:?}"), e))
}

/// Creates a veth pair whose end `name` is in the handle's namespace and whose end `peer`
/// is created directly in `peer_ns` (`ip link add NAME type veth peer name PEER netns NS`).
///
/// The peer never exists in the handle's namespace, so a peer named `eth0` cannot clash
/// with a host interface of that name, and a failure leaves nothing half-moved behind.
pub async fn create_veth_into(h: &Handle, name: &str, peer: &str, peer_ns: &NetNs) -> Result<()> {
    validate_ifname(name)?;
    validate_ifname(peer)?;
    let peer_fd = peer_ns.as_fd();
    let peer_msg = LinkUnspec::new_with_name(peer)
        .setns_by_fd(peer_fd.as_raw_fd())
        .build();
    let msg = LinkVeth::new(name, peer)
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer_msg)))
        .build();
    h.link().add(msg).execute().await.map_err(|e| {
        Error::netlink(
            format!(
                "create veth {name:?} with peer {peer:?} in netns {:?}",
                peer_ns.name()
            ),
            e,
        )
    })
}

/// Moves link `name` into namespace `ns` (`ip link set NAME netns NS`). The link goes down
/// and loses its addresses, as with `ip`.
pub async fn move_link(h: &Handle, name: &str, ns: &NetNs) -> Result<()> {
    let index = link_index(h, name).await?;
    let fd = ns.as_fd();
    h.link()
        .set(
            LinkUnspec::new_with_index(index)
                .setns_by_fd(fd.as_raw_fd())
                .build(),
        )
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("move {name:?} to netns {:?}", ns.name()), e))
}

/// Enslaves `link` to `bridge` (`ip link set LINK master BRIDGE`).
pub async fn set_master(h: &Handle, link: &str, bridge: &str) -> Result<()> {
    let index = link_index(h, link).await?;
    let bridge_index = link_index(h, bridge).await?;
    h.link()
        .set(
            LinkUnspec::new_with_index(index)
                .controller(bridge_index)
                .build(),
        )
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set {link:?} master {bridge:?}"), e))
}

/// Brings a link up (`ip link set NAME up`).
pub async fn set_up(h: &Handle, name: &str) -> Result<()> {
    let index = link_index(h, name).await?;
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set {name:?} up"), e))
}

/// Takes a link down (`ip link set NAME down`).
pub async fn set_down(h: &Handle, name: &str) -> Result<()> {
    let index = link_index(h, name).await?;
    h.link()
        .set(LinkUnspec::new_with_index(index).down().build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set {name:?} down"), e))
}

/// Deletes a link (`ip link del NAME`); deleting either end of a veth pair deletes both.
pub async fn delete_link(h: &Handle, name: &str) -> Result<()> {
    let index = link_index(h, name).await?;
    h.link()
        .del(index)
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("delete link {name:?}"), e))
}

/// Sets hairpin mode on bridge port `port` (`ip link set PORT type bridge_slave hairpin
/// on`, the same flag as `bridge link set dev PORT hairpin on` and
/// `/sys/class/net/PORT/brport/hairpin_mode`): frames may leave through the port they came
/// in on, which a pod reaching itself through a Service needs.
pub async fn set_hairpin(h: &Handle, port: &str, on: bool) -> Result<()> {
    let index = link_index(h, port).await?;
    h.link()
        .set_port(LinkBridgePort::new(index).hairpin(on).build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set hairpin {on} on {port:?}"), e))
}

/// Whether hairpin mode is on for bridge port `port` ([`Error::Invalid`] when `port` is
/// not enslaved to a bridge).
pub async fn hairpin(h: &Handle, port: &str) -> Result<bool> {
    let msg = link_message(h, port).await?;
    msg.attributes
        .iter()
        .filter_map(|attr| match attr {
            LinkAttribute::LinkInfo(infos) => Some(infos),
            _ => None,
        })
        .flatten()
        .filter_map(|info| match info {
            LinkInfo::PortData(InfoPortData::BridgePort(port_infos)) => Some(port_infos),
            _ => None,
        })
        .flatten()
        .find_map(|info| match info {
            InfoBridgePort::HairpinMode(on) => Some(*on),
            _ => None,
        })
        .ok_or_else(|| Error::Invalid(format!("{port:?} is not a bridge port")))
}

/// Interface names: 1–15 bytes (`IFNAMSIZ` − 1), no `/`, `:`, whitespace or NUL, not
/// `.`/`..` (the kernel's `dev_valid_name`).
pub(crate) fn validate_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("interface name {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifnames() {
        for good in [
            "eth0",
            "cni0",
            "veth0123abcd",
            "a.b",
            "x-y_z",
            "123456789012345",
        ] {
            assert!(validate_ifname(good).is_ok(), "{good:?}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "1234567890123456"] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
    }
}
