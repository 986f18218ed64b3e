//! IP ranges: the service CIDR (ClusterIPs) and LoadBalancer pools.

use std::net::IpAddr;

use ipnet::IpNet;
use rand::Rng;

use crate::{Bitmap, Error};

/// Bitmaps larger than this are truncated to their first addresses (a /12 of IPv4 has 2^20;
/// IPv6 service ranges are commonly /108../112).
const MAX_BITS: u64 = 1 << 24;

/// The allocatable addresses of a CIDR: upstream excludes the network address and, for IPv4,
/// the broadcast address (`pkg/registry/core/service/ipallocator`).
#[derive(Debug, Clone)]
pub struct IpRange {
    net: IpNet,
    base: u128,
    map: Bitmap,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl IpRange {
    /// A range over `net` with upstream's static band `min(max(16, size/16), 256)` (KEP-3070).
    pub fn new(net: IpNet) -> Result<Self, Error> {
        let net = net.trunc();
        let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
        let total: u128 = if host_bits >= 127 {
            u128::MAX
        } else {
            1u128 << host_bits
        };
        let excluded = if net.addr().is_ipv4() { 2 } else { 1 };
        if total <= excluded {
            return Err(Error::InvalidRange(format!(
                "{net} has no allocatable addresses"
            )));
        }
        let size = u64::try_from((total - excluded).min(u128::from(MAX_BITS))).unwrap_or(MAX_BITS);
        let band = (size / 16).clamp(16, 256).min(size);
        Ok(Self {
            net,
            base: to_u128(net.network()) + 1,
            map: Bitmap::new(size, band),
        })
    }

    /// A range with no static band (LoadBalancer pools hand out addresses in any order).
    pub fn without_band(net: IpNet) -> Result<Self, Error> {
        let mut r = Self::new(net)?;
        r.map = Bitmap::new(r.map.size(), 0);
        Ok(r)
    }

    /// The CIDR.
    pub fn net(&self) -> IpNet {
        self.net
    }

    /// Whether `ip` is allocatable in this range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.offset(ip).is_some()
    }

    /// The 0-based position of `ip` among the allocatable addresses (the inverse of
    /// [`nth`](Self::nth)).
    pub fn offset(&self, ip: IpAddr) -> Option<u64> {
        if ip.is_ipv4() != self.net.addr().is_ipv4() || !self.net.contains(&ip) {
            return None;
        }
        let v = to_u128(ip).checked_sub(self.base)?;
        let o = u64::try_from(v).ok()?;
        (o < self.map.size()).then_some(o)
    }

    fn ip_at(&self, o: u64) -> IpAddr {
        let v = self.base + u128::from(o);
        if self.net.addr().is_ipv4() {
            IpAddr::from(u32::try_from(v).unwrap_or(u32::MAX).to_be_bytes())
        } else {
            IpAddr::from(v.to_be_bytes())
        }
    }

    /// The first allocatable address (upstream gives it to `default/kubernetes`).
    pub fn first(&self) -> IpAddr {
        self.ip_at(0)
    }

    /// The n-th allocatable address (0-based), if in range (`.10` for kube-dns is `nth(9)`).
    pub fn nth(&self, n: u64) -> Option<IpAddr> {
        (n < self.map.size()).then(|| self.ip_at(n))
    }

    /// How many addresses the range holds.
    pub fn size(&self) -> u64 {
        self.map.size()
    }

    /// Reserves a specific address.
    pub fn allocate(&mut self, ip: IpAddr) -> Result<(), Error> {
        let o = self.offset(ip).ok_or(Error::OutOfRange { what: "IP" })?;
        if self.map.set(o) {
            Ok(())
        } else {
            Err(Error::Allocated { what: "IP" })
        }
    }

    /// Reserves any free address.
    pub fn allocate_next(&mut self, rng: &mut impl Rng) -> Result<IpAddr, Error> {
        self.map
            .allocate_next(rng)
            .map(|o| self.ip_at(o))
            .ok_or(Error::Full)
    }

    /// Frees an address (no-op when not allocated or out of range).
    pub fn release(&mut self, ip: IpAddr) {
        if let Some(o) = self.offset(ip) {
            self.map.clear(o);
        }
    }

    /// Whether `ip` is reserved.
    pub fn has(&self, ip: IpAddr) -> bool {
        self.offset(ip).is_some_and(|o| self.map.has(o))
    }

    /// Addresses still free.
    pub fn free(&self) -> u64 {
        self.map.free()
    }

    /// Addresses reserved.
    pub fn used(&self) -> u64 {
        self.map.used()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_cidr_shape() {
        let r = IpRange::new("10.96.0.0/12".parse().unwrap()).unwrap();
        assert_eq!(r.first().to_string(), "10.96.0.1");
        assert_eq!(r.nth(9).unwrap().to_string(), "10.96.0.10");
        assert!(r.contains("10.111.255.254".parse().unwrap()));
        assert!(!r.contains("10.111.255.255".parse().unwrap()), "broadcast");
        assert!(!r.contains("10.96.0.0".parse().unwrap()), "network");
        assert!(!r.contains("10.112.0.1".parse().unwrap()));
        assert_eq!(r.free(), (1 << 20) - 2);
    }

    #[test]
    fn dynamic_avoids_the_static_band() {
        let mut r = IpRange::new("10.96.0.0/24".parse().unwrap()).unwrap();
        let mut rng = rand::rng();
        // /24: 254 addresses, band max(16, 254/16=15) = 16.
        for _ in 0..(254 - 16) {
            let ip = r.allocate_next(&mut rng).unwrap();
            let IpAddr::V4(v4) = ip else { panic!() };
            assert!(v4.octets()[3] > 16, "{ip} is in the static band");
        }
        let ip = r.allocate_next(&mut rng).unwrap();
        let IpAddr::V4(v4) = ip else { panic!() };
        assert!(v4.octets()[3] <= 16);
        assert_eq!(r.allocate(ip), Err(Error::Allocated { what: "IP" }));
    }

    #[test]
    fn ipv6() {
        let mut r = IpRange::new("fd00:10:96::/112".parse().unwrap()).unwrap();
        assert_eq!(r.first().to_string(), "fd00:10:96::1");
        let ip: IpAddr = "fd00:10:96::ffff".parse().unwrap();
        r.allocate(ip).unwrap();
        assert!(r.has(ip));
    }
}
