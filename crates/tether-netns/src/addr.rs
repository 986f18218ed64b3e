//! Interface addresses.

use std::net::IpAddr;

use futures::TryStreamExt;
use ipnet::IpNet;
use rtnetlink::Handle;
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};

use crate::link::link_index;
use crate::{Error, Result};

/// Adds `addr` (address and prefix length, e.g. `10.244.1.1/24`) to link `link`
/// (`ip addr add ADDR dev LINK`; IPv4 gets the broadcast address like `brd +`).
/// [`Error::Exists`] when the link already has it.
pub async fn add_address(h: &Handle, link: &str, addr: IpNet) -> Result<()> {
    add_address_with(h, link, addr, false).await
}

/// [`add_address`], optionally without duplicate address detection (`ip addr add … nodad`,
/// IPv6 only): the address is usable at once instead of staying tentative for about a
/// second.
pub(crate) async fn add_address_with(
    h: &Handle,
    link: &str,
    addr: IpNet,
    nodad: bool,
) -> Result<()> {
    let index = link_index(h, link).await?;
    let mut request = h.address().add(index, addr.addr(), addr.prefix_len());
    if nodad && addr.addr().is_ipv6() {
        request.message_mut().header.flags |= AddressHeaderFlags::Nodad;
    }
    request
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("address {addr} on {link:?}"), e))
}

/// The addresses on link `link` (`ip -o addr show dev LINK`), IPv6 link-local ones
/// included.
pub async fn addresses(h: &Handle, link: &str) -> Result<Vec<IpNet>> {
    let index = link_index(h, link).await?;
    let msgs: Vec<_> = h
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| Error::netlink(format!("addresses of {link:?}"), e))?;
    let mut out = Vec::new();
    for msg in msgs.into_iter().filter(|m| m.header.index == index) {
        if let Some(ip) = own_address(&msg) {
            out.push(to_net(ip, msg.header.prefix_len)?);
        }
    }
    Ok(out)
}

/// The interface's own address in an `RTM_NEWADDR` message: IFA_LOCAL, or IFA_ADDRESS
/// (the peer on point-to-point links and equal to IFA_LOCAL otherwise) without it.
fn own_address(msg: &AddressMessage) -> Option<IpAddr> {
    let mut local = None;
    let mut address = None;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            _ => {}
        }
    }
    local.or(address)
}

/// The link holding address `ip` and the address with its prefix (`ip -o addr show to IP`),
/// or `None` when no link has it.
pub async fn link_with_address(h: &Handle, ip: IpAddr) -> Result<Option<(String, IpNet)>> {
    let msgs: Vec<_> = h
        .address()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| Error::netlink(format!("addresses (looking for {ip})"), e))?;
    for msg in msgs {
        if own_address(&msg) != Some(ip) {
            continue;
        }
        let net = to_net(ip, msg.header.prefix_len)?;
        let mut links = h.link().get().match_index(msg.header.index).execute();
        let link = links
            .try_next()
            .await
            .map_err(|e| Error::netlink(format!("link {}", msg.header.index), e))?;
        let name = link.and_then(|l| {
            l.attributes.into_iter().find_map(|a| match a {
                rtnetlink::packet_route::link::LinkAttribute::IfName(n) => Some(n),
                _ => None,
            })
        });
        return Ok(name.map(|n| (n, net)));
    }
    Ok(None)
}

fn to_net(ip: IpAddr, prefix: u8) -> Result<IpNet> {
    IpNet::new(ip, prefix).map_err(|e| Error::Invalid(format!("kernel address {ip}/{prefix}: {e}")))
}
