//! Pod IPs from the node's podCIDR, stored like CNI `host-local`: one file per reserved
//! address under the state dir holding the owner's id, and `last_reserved_ip` so allocation
//! rotates (a replaced pod gets a new address) and survives agent restarts.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use tether_ipam::IpRange;

/// IPAM errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The subnet is full.
    #[error("no free address in {0}")]
    Full(IpNet),
    /// The subnet has no room for a gateway and pods.
    #[error("pod subnet {0}: {1}")]
    Subnet(IpNet, tether_ipam::Error),
    /// State files could not be read or written.
    #[error("IPAM state {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// The allocator of one node's pod subnet. Address arithmetic is tether-ipam's [`IpRange`]
/// (network and IPv4 broadcast excluded); the first address is the gateway, pods get the rest.
#[derive(Debug)]
pub struct Ipam {
    dir: PathBuf,
    subnet: IpNet,
    range: IpRange,
}

impl Ipam {
    /// An allocator over `subnet` keeping its state in `dir`.
    pub fn new(dir: PathBuf, subnet: IpNet) -> Result<Self, Error> {
        let range = IpRange::without_band(subnet).map_err(|e| Error::Subnet(subnet, e))?;
        if range.size() < 2 {
            return Err(Error::Full(subnet));
        }
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir, subnet, range })
    }

    /// The subnet.
    pub fn subnet(&self) -> IpNet {
        self.subnet
    }

    /// The gateway: the subnet's first address (host-local's default).
    pub fn gateway(&self) -> IpAddr {
        self.range.first()
    }

    /// `ip` with the subnet's prefix length (an interface address).
    pub fn with_prefix(&self, ip: IpAddr) -> IpNet {
        IpNet::new(ip, self.subnet.prefix_len()).unwrap_or(self.subnet)
    }

    /// Addresses reserved and their owners.
    pub fn reserved(&self) -> Vec<(IpAddr, String)> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        rd.filter_map(Result::ok)
            .filter_map(|e| {
                let ip: IpAddr = e.file_name().to_str()?.parse().ok()?;
                let owner = std::fs::read_to_string(e.path()).ok()?;
                Some((ip, owner.trim().to_owned()))
            })
            .collect()
    }

    /// The address reserved for `owner`, if any.
    pub fn lookup(&self, owner: &str) -> Option<IpAddr> {
        self.reserved()
            .into_iter()
            .find(|(_, o)| o == owner)
            .map(|(ip, _)| ip)
    }

    /// Reserves an address for `owner` (the same one again if it already has one). The scan
    /// starts after the last reserved address, so a replaced pod gets a new one.
    pub fn allocate(&self, owner: &str) -> Result<IpAddr, Error> {
        if let Some(ip) = self.lookup(owner) {
            return Ok(ip);
        }
        // Pods take offsets 1..size (offset 0 is the gateway).
        let pods = self.range.size() - 1;
        let last_file = self.dir.join("last_reserved_ip.0");
        let start = std::fs::read_to_string(&last_file)
            .ok()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
            .and_then(|ip| self.range.offset(ip))
            .filter(|o| *o >= 1)
            .map_or(0, |o| o % pods);
        for i in 0..pods {
            let Some(ip) = self.range.nth(1 + (start + i) % pods) else {
                break;
            };
            let path = self.dir.join(ip.to_string());
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(owner.as_bytes()).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?;
                    std::fs::write(&last_file, ip.to_string()).map_err(|source| Error::Io {
                        path: last_file.clone(),
                        source,
                    })?;
                    return Ok(ip);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
        Err(Error::Full(self.subnet))
    }

    /// Releases whatever `owner` holds.
    pub fn release(&self, owner: &str) {
        for (ip, o) in self.reserved() {
            if o == owner {
                let _ = std::fs::remove_file(self.dir.join(ip.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(dir.path().into(), "10.244.1.0/24".parse().unwrap()).unwrap();
        assert_eq!(ipam.gateway().to_string(), "10.244.1.1");
        let a = ipam.allocate("a").unwrap();
        assert_eq!(a.to_string(), "10.244.1.2");
        assert_eq!(ipam.allocate("a").unwrap(), a);
        ipam.release("a");
        let b = ipam.allocate("b").unwrap();
        assert_eq!(
            b.to_string(),
            "10.244.1.3",
            "a replaced pod gets a new address"
        );
        let again = Ipam::new(dir.path().into(), "10.244.1.0/24".parse().unwrap()).unwrap();
        assert_eq!(again.lookup("b"), Some(b));
        assert_eq!(again.allocate("c").unwrap().to_string(), "10.244.1.4");
    }
}
