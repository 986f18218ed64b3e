//! The Service data plane in nftables, as kube-proxy's nftables mode
//! (`pkg/proxy/nftables/proxier.go`): ClusterIP, NodePort, LoadBalancer ingress IPs and
//! externalIPs, TCP/UDP/SCTP, random balancing, ClientIP affinity, traffic policies,
//! terminating-endpoint fallback, rejection of Services without endpoints and
//! `loadBalancerSourceRanges`.
//!
//! Newcomers start with [`run`], which feeds [`tether_servicemap`] snapshots to a
//! [`Proxier`]. The rules live in a table of their own (`table ip tether`, see
//! [`render`]); nothing else in the ruleset is ever touched. A [`Proxier`] rewrites the
//! whole table at start and after any failure (a script for the rules, one netlink batch
//! for the fast path's map elements), and afterwards applies only the changed Service ports
//! ([`render::incremental`]). [`conntrack`] clears stale
//! UDP flows, [`healthcheck`] serves `healthCheckNodePort`s.

pub mod apply;
pub mod conntrack;
pub mod healthcheck;
pub mod metrics;
pub mod netdev;
mod netlink;
pub mod ports;
pub mod render;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ipnet::Ipv4Net;
use tether_servicemap::ServiceMap;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use apply::{ElementReader, Nft, Proxier, SyncKind, prepare_node};
pub use metrics::Metrics;

/// The data plane's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The network namespace to program (a file such as `/run/netns/NAME`); `None` for
    /// the caller's own namespace.
    pub netns: Option<PathBuf>,
    /// The nftables table name (in family `ip`). Default `tether`.
    pub table: String,
    /// Addresses that accept NodePort traffic (upstream `--nodeport-addresses`); empty
    /// means every local address except 127.0.0.0/8 (`fib daddr type local`).
    pub node_ips: Vec<Ipv4Addr>,
    /// The cluster's pod CIDR: ClusterIP traffic from outside it is masqueraded, and pod
    /// traffic to an `externalTrafficPolicy: Local` Service's external addresses
    /// short-circuits to all endpoints (upstream's local-traffic detector).
    pub cluster_cidr: Option<Ipv4Net>,
    /// The Service CIDR: traffic to unallocated addresses in it is dropped.
    pub service_cidr: Option<Ipv4Net>,
    /// Masquerade all ClusterIP traffic (upstream `--masquerade-all`).
    pub masquerade_all: bool,
    /// Packet mark bit used to flag connections for masquerading (upstream default 14).
    pub masquerade_bit: u8,
    /// Masquerade with `fully-random` source ports, as kube-proxy does. Off by default:
    /// with random ports a masqueraded client's new connection lands on a 4-tuple whose
    /// previous connection the pod still holds in TIME_WAIT, with an unrelated initial
    /// sequence number, and half of those SYNs are answered with a stale ACK (a 1 s
    /// retransmit for the client). Keeping the client's port when it is free keeps the
    /// client's per-tuple sequence numbers increasing, which TIME_WAIT accepts
    /// (BENCHMARKS.md § 2).
    pub masquerade_fully_random: bool,
    /// Also accept NodePorts on 127.0.0.1 (sets `route_localnet=1`, CVE-2020-8558; off by
    /// default, and upstream's nftables mode never does it).
    pub localhost_nodeports: bool,
    /// Serve `healthCheckNodePort`s (binds `0.0.0.0:<port>` in the namespace).
    pub health_checks: bool,
    /// Retry interval after a failed sync (capped at 5 s; upstream `--sync-period`).
    pub sync_period: Duration,
    /// Program plain ClusterIP ports (no affinity, Cluster policy, not externally reachable,
    /// 1–16 endpoints) as map elements instead of chains (see `render`'s fast path). `false`
    /// gives kube-proxy's layout for every port (benchmarks compare the two).
    pub fast_path: bool,
    /// Apply scripts through libnftables in this process (one long-lived context per
    /// [`Nft`], see `tether-libnft`) instead of running the `nft` program per sync; falls
    /// back to the program when the library cannot be loaded.
    pub nft_library: bool,
    /// Full syncs write the fast path's map elements as one netlink batch after the script
    /// that defines the rest (`netlink.rs`: ~20× cheaper per element than libnftables'
    /// parser); a live table is rebuilt in place, its maps flushed and refilled in one
    /// transaction (see [`Proxier`]). Off, or after a failure of that path, a full sync is
    /// one script (one atomic transaction that replaces the table).
    pub netlink_elements: bool,
    /// The conntrack-free fast path in `table netdev <table>` ([`netdev`]) on these
    /// devices; `None`: off (and a table left by an earlier run is removed).
    pub netdev: Option<netdev::Devices>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            netns: None,
            table: "tether".to_owned(),
            node_ips: Vec::new(),
            cluster_cidr: None,
            service_cidr: None,
            masquerade_all: false,
            masquerade_bit: 14,
            masquerade_fully_random: false,
            localhost_nodeports: false,
            health_checks: true,
            sync_period: Duration::from_secs(30),
            fast_path: true,
            nft_library: true,
            netlink_elements: true,
            netdev: None,
        }
    }
}

/// Errors of the data plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting or talking to a helper program (`nft`, `conntrack`) failed.
    #[error("running {program}: {source}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// `nft` rejected a script or command.
    #[error("nft failed ({status}): {stderr}")]
    Nft {
        /// Exit status.
        status: String,
        /// What nft printed on stderr.
        stderr: String,
    },
    /// The libnftables context failed (not a rejected script: that is [`Error::Nft`]).
    #[error(transparent)]
    Library(tether_libnft::Error),
    /// Writing elements over netlink failed.
    #[error("nftables netlink: {0}")]
    Netlink(String),
    /// Entering the network namespace or a sysctl failed.
    #[error(transparent)]
    Netns(#[from] tether_netns::Error),
    /// Binding a health check port failed.
    #[error("health check port {port}: {source}")]
    HealthCheck {
        /// The port.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// A blocking sync task panicked or was cancelled.
    #[error("sync task failed: {0}")]
    Task(String),
}

/// Runs the data plane: prepares the namespace ([`prepare_node`]), waits for the first
/// snapshot on `map_rx` (the placeholder value the channel was created with is not
/// applied, so a restart never wipes working rules with an empty map), then syncs every
/// new snapshot, retrying (with a full sync) after failures. Also serves health check
/// node ports when enabled. Returns on `shutdown` or when the sender is gone, leaving the
/// rules in place (as kube-proxy does); [`Nft::delete_table`] removes them.
pub async fn run(
    mut map_rx: watch::Receiver<Arc<ServiceMap>>,
    cfg: Config,
    metrics: Option<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    prepare_node(&cfg)?;
    let mut health = cfg
        .health_checks
        .then(|| healthcheck::HealthServer::new(cfg.netns.clone()));
    let mut proxier = Some(Proxier::new(cfg.clone()).with_metrics(metrics));
    tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        r = map_rx.changed() => if r.is_err() { return Ok(()) },
    }
    let retry = cfg.sync_period.min(Duration::from_secs(5));
    loop {
        let map = map_rx.borrow_and_update().clone();
        let Some(mut p) = proxier.take() else {
            return Err(Error::Task("proxier lost".into()));
        };
        let m = Arc::clone(&map);
        let (p, result) = tokio::task::spawn_blocking(move || {
            let r = p.sync(&m);
            (p, r)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
        proxier = Some(p);
        let failing = match result {
            Ok(kind) => {
                tracing::debug!(?kind, ports = map.len(), "nftables synced");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "nftables sync failed; retrying with a full sync");
                true
            }
        };
        if let Some(h) = health.as_mut()
            && let Err(e) = h.sync(&map)
        {
            tracing::warn!(error = %e, "health check server sync failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            r = map_rx.changed() => if r.is_err() { return Ok(()) },
            // After a failure, retry (the proxier does a full sync then). No periodic full
            // sync otherwise: replacing the table would reset the affinity sets.
            () = tokio::time::sleep(retry), if failing => {}
        }
    }
}
