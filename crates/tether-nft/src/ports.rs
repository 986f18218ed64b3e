//! The ports of a bridge (`ip -o link show master BRIDGE`), read with one `RTM_GETLINK`
//! dump: the netdev fast path hooks the pods' veths directly (see [`crate::netdev`]), and so
//! does the eBPF one (`tether-ebpf`).

use std::collections::BTreeMap;
use std::path::Path;

use netlink_sys::{SocketAddr, protocols::NETLINK_ROUTE};

use crate::Error;
use crate::netlink::{
    NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, attr_str, io, open_protocol, parse_attrs,
};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_LINK_NETNSID: u16 = 37;
/// nlmsghdr and ifinfomsg.
const HEADERS: usize = 16 + 16;

/// A bridge port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// Its interface index.
    pub index: u32,
    /// Whether it is a veth whose peer is in another namespace (a pod's), which
    /// `bpf_redirect_peer` can hand packets to.
    pub veth_to_other_netns: bool,
}

/// The links whose master is `bridge`, name → [`Port`], in `netns` (the caller's
/// namespace when `None`); empty when there is no such bridge.
pub fn bridge_ports(netns: Option<&Path>, bridge: &str) -> Result<BTreeMap<String, Port>, Error> {
    let socket = open_protocol(netns, NETLINK_ROUTE)?;
    let mut req = Vec::with_capacity(HEADERS);
    let len = u32::try_from(HEADERS).unwrap_or(32);
    req.extend_from_slice(&len.to_ne_bytes());
    req.extend_from_slice(&RTM_GETLINK.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id
    req.extend_from_slice(&[0u8; 16]); // ifinfomsg: AF_UNSPEC, all links
    socket
        .send_to(&req, &SocketAddr::new(0, 0), 0)
        .map_err(|e| io("link dump request", e))?;
    let mut links: Vec<(Port, String, Option<u32>)> = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    'recv: loop {
        let n = socket
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| io("link dump", e))?;
        let mut off = 0;
        while off + 16 <= n {
            let word = |at: usize| {
                buf.get(at..at + 4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_ne_bytes)
            };
            let half = |at: usize| {
                buf.get(at..at + 2)
                    .and_then(|b| b.try_into().ok())
                    .map(u16::from_ne_bytes)
            };
            let (Some(len), Some(ty)) = (word(off), half(off + 4)) else {
                break;
            };
            let len = len as usize;
            if len < 16 || off + len > n {
                return Err(Error::Netlink("malformed link dump".to_owned()));
            }
            match ty {
                NLMSG_DONE => break 'recv,
                NLMSG_ERROR => {
                    let code = if len >= 20 {
                        word(off + 16).map_or(0, u32::cast_signed)
                    } else {
                        0
                    };
                    if code != 0 {
                        let errno = code.checked_neg().unwrap_or(i32::MAX);
                        return Err(Error::Netlink(format!(
                            "link dump: {}",
                            std::io::Error::from_raw_os_error(errno)
                        )));
                    }
                }
                RTM_NEWLINK if len >= HEADERS => {
                    let index = word(off + 16 + 4).unwrap_or(0);
                    let attrs = parse_attrs(&buf[off + HEADERS..off + len]);
                    let payload = |ty: u16| attrs.iter().find(|(t, _)| *t == ty).map(|(_, v)| v);
                    if let Some(name) = payload(IFLA_IFNAME) {
                        let name = name.split(|b| *b == 0).next().unwrap_or_default();
                        let port = Port {
                            index,
                            veth_to_other_netns: payload(IFLA_LINKINFO)
                                .is_some_and(|info| kind_is_veth(info))
                                && payload(IFLA_LINK_NETNSID).is_some(),
                        };
                        let master = payload(IFLA_MASTER)
                            .and_then(|v| v.first_chunk::<4>())
                            .map(|b| u32::from_ne_bytes(*b));
                        links.push((port, String::from_utf8_lossy(name).into_owned(), master));
                    }
                }
                _ => {}
            }
            off += (len + 3) & !3;
        }
    }
    let Some(bridge_index) = links.iter().find(|l| l.1 == bridge).map(|l| l.0.index) else {
        return Ok(BTreeMap::new());
    };
    Ok(links
        .into_iter()
        .filter(|l| l.2 == Some(bridge_index))
        .map(|l| (l.1, l.0))
        .collect())
}

/// Whether the nested `IFLA_LINKINFO` attributes name the kind `veth`.
fn kind_is_veth(info: &[u8]) -> bool {
    attr_str(&parse_attrs(info), IFLA_INFO_KIND) == Some("veth")
}

#[cfg(test)]
mod tests {
    use super::kind_is_veth;

    #[test]
    fn the_link_kind_is_read_from_the_nested_attributes() {
        // IFLA_INFO_KIND "veth\0" (4 + 5 bytes, padded to 12), then IFLA_INFO_DATA.
        let mut info = vec![9, 0, 1, 0, b'v', b'e', b't', b'h', 0, 0, 0, 0];
        info.extend_from_slice(&[4, 0, 2, 0]);
        assert!(kind_is_veth(&info));
        let bridge = [11, 0, 1, 0, b'b', b'r', b'i', b'd', b'g', b'e', 0, 0];
        assert!(!kind_is_veth(&bridge));
        // Truncated or garbage attributes are no veth (and no panic).
        assert!(!kind_is_veth(&[9, 0, 1, 0, b'v']));
        assert!(!kind_is_veth(&[0, 0, 1, 0]));
        assert!(!kind_is_veth(&[2]));
    }
}
