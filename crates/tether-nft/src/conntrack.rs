//! Clearing stale UDP conntrack entries (upstream `pkg/proxy/conntrack/cleanup.go`).
//!
//! UDP has no connection teardown: a flow keeps its DNAT binding to a removed endpoint
//! until the conntrack entry times out, and a flow that hit a Service while it had no
//! endpoints keeps its un-NATed entry after endpoints appear. Both black-hole traffic
//! (services.md pain point 5), so after each sync: entries DNATed to an endpoint that is
//! no longer used are deleted, and entries for a Service port that went from no endpoints
//! to some are deleted. TCP needs none of this (RST / new connections).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use tether_netns::{SpawnOptions, command_in};
use tether_servicemap::{Protocol, ServiceInfo, ServiceMap, ServicePort, Update};

static MISSING_WARNED: AtomicBool = AtomicBool::new(false);

/// A `conntrack -D` invocation's filter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Deletion {
    /// Flows to `service_ip:port` DNATed to `endpoint` (`--orig-dst --dst-nat`).
    ServiceIpEndpoint {
        /// ClusterIP, external IP or LB IP.
        service_ip: IpAddr,
        /// Service port.
        port: u16,
        /// The removed endpoint.
        endpoint: IpAddr,
    },
    /// Flows to NodePort `node_port` DNATed to `endpoint`.
    NodePortEndpoint {
        /// The NodePort.
        node_port: u16,
        /// The removed endpoint.
        endpoint: IpAddr,
    },
    /// All flows to `service_ip:port` (the Service port had no endpoints before).
    ServiceIp {
        /// ClusterIP, external IP or LB IP.
        service_ip: IpAddr,
        /// Service port.
        port: u16,
    },
    /// All flows to NodePort `node_port` (no endpoints before).
    NodePort {
        /// The NodePort.
        node_port: u16,
    },
}

impl Deletion {
    /// The `conntrack` arguments: `-D -p udp`, the family, then the filters in the order
    /// `--orig-dst`, `--orig-port-dst`, `--dst-nat`.
    pub fn args(&self) -> Vec<String> {
        // (address giving the family, original destination, original port, DNAT target)
        let (family, orig_dst, port, dst_nat) = match *self {
            Self::ServiceIpEndpoint {
                service_ip,
                port,
                endpoint,
            } => (Some(service_ip), Some(service_ip), port, Some(endpoint)),
            Self::NodePortEndpoint {
                node_port,
                endpoint,
            } => (Some(endpoint), None, node_port, Some(endpoint)),
            Self::ServiceIp { service_ip, port } => {
                (Some(service_ip), Some(service_ip), port, None)
            }
            Self::NodePort { node_port } => (None, None, node_port, None),
        };
        let mut a: Vec<String> = ["-D", "-p", "udp"].map(String::from).to_vec();
        if let Some(ip) = family {
            let f = if ip.is_ipv6() { "ipv6" } else { "ipv4" };
            a.extend(["-f".into(), f.into()]);
        }
        if let Some(ip) = orig_dst {
            a.extend(["--orig-dst".into(), ip.to_string()]);
        }
        a.extend(["--orig-port-dst".into(), port.to_string()]);
        if let Some(ip) = dst_nat {
            a.extend(["--dst-nat".into(), ip.to_string()]);
        }
        a
    }
}

fn usable(sp: Option<&ServicePort>) -> BTreeSet<IpAddr> {
    sp.into_iter()
        .flat_map(|sp| &sp.endpoints)
        .filter(|e| e.ready || (e.serving && e.terminating))
        .map(|e| e.ip)
        .collect()
}

fn service_ips(info: &ServiceInfo) -> impl Iterator<Item = IpAddr> + '_ {
    info.cluster_ips
        .iter()
        .chain(&info.external_ips)
        .chain(&info.load_balancer_ips)
        .copied()
}

/// The deletions needed after `old` changed by `updates`. Pure.
pub fn plan(old: &ServiceMap, updates: &[Update]) -> Vec<Deletion> {
    let mut out = BTreeSet::new();
    for u in updates {
        let name = u.name();
        if name.protocol != Protocol::Udp {
            continue;
        }
        let before = old.get(name);
        let after = match u {
            Update::Upsert(_, sp) => Some(&**sp),
            Update::Remove(_) => None,
        };
        let (was, now) = (usable(before), usable(after));
        if let Some(b) = before {
            for ep in was.difference(&now) {
                for ip in service_ips(&b.info) {
                    out.insert(Deletion::ServiceIpEndpoint {
                        service_ip: ip,
                        port: b.info.port,
                        endpoint: *ep,
                    });
                }
                if let Some(np) = b.info.node_port {
                    out.insert(Deletion::NodePortEndpoint {
                        node_port: np,
                        endpoint: *ep,
                    });
                }
            }
        }
        if let Some(a) = after
            && was.is_empty()
            && !now.is_empty()
        {
            for ip in service_ips(&a.info) {
                out.insert(Deletion::ServiceIp {
                    service_ip: ip,
                    port: a.info.port,
                });
            }
            if let Some(np) = a.info.node_port {
                out.insert(Deletion::NodePort { node_port: np });
            }
        }
    }
    out.into_iter().collect()
}

/// Runs [`plan`]'s deletions with `conntrack` inside `netns`. Failures are logged, never
/// fatal (`conntrack` exits 1 when nothing matched; a missing binary is warned once).
pub fn clear_stale_udp(netns: Option<&Path>, old: &ServiceMap, updates: &[Update]) {
    for d in plan(old, updates) {
        if let Err(e) = run(netns, &d.args()) {
            if e.kind() == std::io::ErrorKind::NotFound {
                if !MISSING_WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!("conntrack is not installed: stale UDP flows are not cleared");
                }
                return;
            }
            tracing::warn!(error = %e, deletion = ?d, "conntrack cleanup failed");
        }
    }
}

fn run(netns: Option<&Path>, args: &[String]) -> std::io::Result<()> {
    let mut cmd = Command::new("conntrack");
    if let Some(ns) = netns {
        command_in(
            &SpawnOptions {
                netns: ns.to_path_buf(),
                ..SpawnOptions::default()
            },
            &mut cmd,
        )
        .map_err(std::io::Error::other)?;
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    // Exit 1 with "0 flow entries have been deleted" is the normal no-match case.
    if !out.status.success() && out.status.code() != Some(1) {
        return Err(std::io::Error::other(format!(
            "conntrack {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    tracing::debug!(args = %args.join(" "), "conntrack cleanup");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_servicemap::{Endpoint, ServicePortName, ServiceType, changes};

    fn map(eps: &[u8]) -> ServiceMap {
        let mut m = ServiceMap::new();
        let info = ServiceInfo {
            node_port: Some(30053),
            service_type: ServiceType::NodePort,
            ..ServiceInfo::cluster_ip(IpAddr::from([10, 96, 0, 10]), 53, Protocol::Udp)
        };
        let eps = eps
            .iter()
            .map(|i| Endpoint::ready(IpAddr::from([10, 244, 1, *i]), 53))
            .collect();
        m.insert(
            ServicePortName::new("kube-system", "dns", "dns", Protocol::Udp),
            info,
            eps,
        );
        m
    }

    #[test]
    fn removed_endpoint_and_first_endpoint() {
        let (a, b) = (map(&[2, 3]), map(&[3]));
        let args: Vec<String> = plan(&a, &changes(&a, &b))
            .iter()
            .map(|d| d.args().join(" "))
            .collect();
        assert_eq!(
            args,
            [
                "-D -p udp -f ipv4 --orig-dst 10.96.0.10 --orig-port-dst 53 --dst-nat 10.244.1.2",
                "-D -p udp -f ipv4 --orig-port-dst 30053 --dst-nat 10.244.1.2",
            ]
        );
        let empty = map(&[]);
        let args: Vec<String> = plan(&empty, &changes(&empty, &b))
            .iter()
            .map(|d| d.args().join(" "))
            .collect();
        assert_eq!(
            args,
            [
                "-D -p udp -f ipv4 --orig-dst 10.96.0.10 --orig-port-dst 53",
                "-D -p udp --orig-port-dst 30053",
            ]
        );
        // Removing the port clears flows to all its endpoints.
        assert_eq!(plan(&a, &changes(&a, &ServiceMap::new())).len(), 4);
    }
}
