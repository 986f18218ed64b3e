//! Configuration of the cluster DNS server.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::Error;

/// How `<dashed-ip>.<ns>.pod.<zone>` names are answered (CoreDNS `pods` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodsMode {
    /// Pod names are NXDOMAIN.
    Disabled,
    /// Any well-formed dashed IP in an existing namespace is answered (kubeadm's default).
    #[default]
    Insecure,
    /// Only IPs of pods that exist in that namespace are answered.
    Verified,
}

/// Configuration of the DNS server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cluster domain, e.g. `cluster.local` (no trailing dot needed).
    pub zone: String,
    /// TTL of every record in the cluster zone and of negative answers (SOA minimum).
    pub ttl: u32,
    /// Upstream resolvers for names outside the cluster zone. Empty ⇒ SERVFAIL for those.
    pub upstreams: Vec<SocketAddr>,
    /// Pod record mode.
    pub pods: PodsMode,
    /// Addresses the DNS server is reached at (the DNS Service's cluster IP); used for the apex
    /// NS record and `ns.dns.<zone>`.
    pub nameserver_ips: Vec<IpAddr>,
    /// Reverse names (`in-addr.arpa`, `ip6.arpa`) not found in the index are forwarded upstream
    /// (CoreDNS/kubeadm `fallthrough in-addr.arpa ip6.arpa`); when false they are NXDOMAIN.
    pub reverse_fallthrough: bool,
    /// Total time allowed for an upstream answer before SERVFAIL.
    pub upstream_timeout: Duration,
    /// Maximum number of entries of the forwarding cache.
    pub cache_size: usize,
    /// Upper bound on how long a forwarded answer is cached, whatever its TTL.
    pub cache_max_ttl: Duration,
    /// Take UDP datagrams in batches (`recvmmsg`/`sendmmsg`); `false` receives and answers
    /// one datagram per system call (benchmarks compare the two).
    pub udp_batch: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            zone: "cluster.local".to_owned(),
            ttl: 5,
            upstreams: Vec::new(),
            pods: PodsMode::Insecure,
            nameserver_ips: Vec::new(),
            reverse_fallthrough: true,
            upstream_timeout: Duration::from_millis(1500),
            cache_size: 10_000,
            cache_max_ttl: Duration::from_secs(3600),
            udp_batch: true,
        }
    }
}

/// A validated [`Config`] with its zone pre-parsed, as used on the hot path.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub(crate) cfg: Config,
    /// Lower-case zone labels, leftmost first.
    pub(crate) zone_labels: Vec<String>,
    /// The zone as a fully qualified name.
    pub(crate) zone_name: Name,
}

impl Compiled {
    /// Validates `cfg`.
    pub fn new(cfg: Config) -> Result<Self, Error> {
        let zone = cfg.zone.trim_end_matches('.').to_ascii_lowercase();
        if zone.is_empty() {
            return Err(Error::Config("zone must not be empty".into()));
        }
        let mut zone_name =
            Name::from_ascii(&zone).map_err(|e| Error::Config(format!("zone {zone:?}: {e}")))?;
        zone_name.set_fqdn(true);
        let zone_labels = zone.split('.').map(str::to_owned).collect::<Vec<_>>();
        if zone_labels.iter().any(String::is_empty) {
            return Err(Error::Config(format!("zone {zone:?} has an empty label")));
        }
        if cfg.ttl > 3600 {
            return Err(Error::Config("ttl must be within 0..=3600".into()));
        }
        Ok(Self {
            cfg,
            zone_labels,
            zone_name,
        })
    }
}
