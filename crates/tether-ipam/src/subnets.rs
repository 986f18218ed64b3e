//! Per-node pod subnets carved from the cluster CIDR (node IPAM).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::{Bitmap, Error};

/// Subnets of `mask` bits inside a cluster CIDR, handed out lowest first (as upstream's
/// `nodeipam` range allocator does): 10.244.0.0/16 with /24 gives 10.244.0.0/24, 10.244.1.0/24…
#[derive(Debug, Clone)]
pub struct SubnetRange {
    net: IpNet,
    mask: u8,
    map: Bitmap,
}

impl SubnetRange {
    /// Subnets of prefix length `mask` inside `net`.
    pub fn new(net: IpNet, mask: u8) -> Result<Self, Error> {
        let net = net.trunc();
        if mask < net.prefix_len() || mask > net.max_prefix_len() || mask - net.prefix_len() > 24 {
            return Err(Error::InvalidRange(format!("{net} with /{mask} subnets")));
        }
        let count = 1u64 << (mask - net.prefix_len());
        Ok(Self {
            net,
            mask,
            map: Bitmap::new(count, 0),
        })
    }

    fn at(&self, i: u64) -> IpNet {
        let shift = u32::from(self.net.max_prefix_len() - self.mask);
        match self.net {
            IpNet::V4(n) => {
                let base = u32::from(n.network());
                let i = u32::try_from(i).unwrap_or(0);
                let a = base | i.checked_shl(shift).unwrap_or(0);
                IpNet::V4(Ipv4Net::new(a.into(), self.mask).unwrap_or(n))
            }
            IpNet::V6(n) => {
                let base = u128::from(n.network());
                let a = base | u128::from(i).checked_shl(shift).unwrap_or(0);
                IpNet::V6(Ipv6Net::new(a.into(), self.mask).unwrap_or(n))
            }
        }
    }

    fn index(&self, sub: &IpNet) -> Option<u64> {
        if sub.prefix_len() != self.mask || !self.net.contains(sub) {
            return None;
        }
        let shift = u32::from(self.net.max_prefix_len() - self.mask);
        let off = match (sub, &self.net) {
            (IpNet::V4(s), IpNet::V4(n)) => {
                u128::from(u32::from(s.network()) - u32::from(n.network()))
            }
            (IpNet::V6(s), IpNet::V6(n)) => u128::from(s.network()) - u128::from(n.network()),
            _ => return None,
        };
        u64::try_from(off >> shift).ok()
    }

    /// Reserves the lowest free subnet.
    pub fn allocate_next(&mut self) -> Result<IpNet, Error> {
        let i = self.map.allocate_first().ok_or(Error::Full)?;
        Ok(self.at(i))
    }

    /// Reserves a specific subnet (e.g. one already recorded on a Node).
    pub fn allocate(&mut self, sub: &IpNet) -> Result<(), Error> {
        let i = self
            .index(sub)
            .ok_or(Error::OutOfRange { what: "subnet" })?;
        if self.map.set(i) {
            Ok(())
        } else {
            Err(Error::Allocated { what: "subnet" })
        }
    }

    /// Frees a subnet.
    pub fn release(&mut self, sub: &IpNet) {
        if let Some(i) = self.index(sub) {
            self.map.clear(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_subnets() {
        let mut r = SubnetRange::new("10.244.0.0/16".parse().unwrap(), 24).unwrap();
        assert_eq!(r.allocate_next().unwrap().to_string(), "10.244.0.0/24");
        assert_eq!(r.allocate_next().unwrap().to_string(), "10.244.1.0/24");
        let s: IpNet = "10.244.0.0/24".parse().unwrap();
        r.release(&s);
        assert_eq!(r.allocate_next().unwrap(), s);
        assert!(r.allocate(&"10.244.7.0/24".parse().unwrap()).is_ok());
        assert!(r.allocate(&"10.245.7.0/24".parse().unwrap()).is_err());
    }
}
