//! ClusterIP and NodePort allocation for Services (upstream
//! `pkg/registry/core/service/storage/alloc.go`).
//!
//! Every value a Service holds is also a store key (`/registry/ranges/serviceips/<ip>`,
//! `/registry/ranges/servicenodeports/<port>`) written in the same transaction as the Service
//! with a "key absent" compare: that is what makes duplicates impossible across concurrent
//! requests, restarts and several API servers on one etcd. The bitmaps here are only the
//! local view used to pick candidates quickly; a lost race marks the value taken and retries.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Service;
use serde_json::Value;
use tether_api::field::BadValue;
use tether_api::resources::Resource;
use tether_api::{ApiError, FieldError, Path, service};
use tether_ipam::{IpRange, PortRange};

/// Store prefix of reserved service IPs.
pub(crate) const IP_PREFIX: &str = "/registry/ranges/serviceips/";
/// Store prefix of reserved node ports (NodePorts and healthCheckNodePorts).
pub(crate) const PORT_PREFIX: &str = "/registry/ranges/servicenodeports/";

/// One reserved value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Reservation {
    /// A ClusterIP.
    Ip(IpAddr),
    /// A node port.
    Port(i32),
}

impl Reservation {
    pub(crate) fn key(&self) -> String {
        match self {
            Self::Ip(ip) => format!("{IP_PREFIX}{ip}"),
            Self::Port(p) => format!("{PORT_PREFIX}{p}"),
        }
    }

    pub(crate) fn from_key(k: &str) -> Option<Self> {
        if let Some(ip) = k.strip_prefix(IP_PREFIX) {
            return ip.parse().ok().map(Self::Ip);
        }
        k.strip_prefix(PORT_PREFIX)?.parse().ok().map(Self::Port)
    }
}

/// What an allocation changed.
#[derive(Debug, Default)]
pub(crate) struct Reserved {
    /// Values newly taken (must be absent in the store).
    pub(crate) taken: Vec<Reservation>,
    /// Those of `taken` the client asked for by value.
    pub(crate) requested: Vec<Reservation>,
    /// Values the update gives back.
    pub(crate) freed: Vec<Reservation>,
}

#[derive(Debug)]
struct Inner {
    ips: Vec<IpRange>,
    ports: PortRange,
}

/// The local view of the service IP ranges and the node port range.
#[derive(Debug)]
pub(crate) struct Allocators {
    inner: Mutex<Inner>,
}

fn go_strings(v: &[String]) -> String {
    let q: Vec<String> = v.iter().map(|s| BadValue::quote(s)).collect();
    format!("[]string{{{}}}", q.join(", "))
}

/// Every value a stored Service holds.
pub(crate) fn reservations_of(r: &Resource, obj: &Value) -> Vec<Reservation> {
    if r.kind != "Service" {
        return Vec::new();
    }
    let Ok(svc) = serde_json::from_value::<Service>(obj.clone()) else {
        return Vec::new();
    };
    held(&svc).into_iter().collect()
}

fn held(svc: &Service) -> BTreeSet<Reservation> {
    let mut out = BTreeSet::new();
    let Some(spec) = &svc.spec else {
        return out;
    };
    for ip in spec.cluster_ips.iter().flatten() {
        if let Ok(ip) = ip.parse() {
            out.insert(Reservation::Ip(ip));
        }
    }
    for p in spec.ports.iter().flatten() {
        if let Some(np) = p.node_port.filter(|n| *n > 0) {
            out.insert(Reservation::Port(np));
        }
    }
    if let Some(h) = spec.health_check_node_port.filter(|n| *n > 0) {
        out.insert(Reservation::Port(h));
    }
    out
}

/// The 422 for a requested value another server took first.
pub(crate) fn already_allocated(
    r: &Resource,
    name: &str,
    obj: &Value,
    lost: &Reservation,
) -> ApiError {
    let err = match lost {
        Reservation::Ip(ip) => {
            let ips: Vec<String> = obj
                .pointer("/spec/clusterIPs")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            FieldError::invalid(
                &Path::new("spec").child("clusterIPs"),
                BadValue::Raw(go_strings(&ips)),
                format!("failed to allocate IP {ip}: provided IP is already allocated"),
            )
        }
        Reservation::Port(p) => {
            let idx = obj
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter().position(|x| {
                        x.get("nodePort").and_then(Value::as_i64) == Some(i64::from(*p))
                    })
                });
            match idx {
                Some(i) => FieldError::invalid(
                    &Path::new("spec").child("ports").index(i).child("nodePort"),
                    *p,
                    "provided port is already allocated",
                ),
                None => FieldError::invalid(
                    &Path::new("spec").child("healthCheckNodePort"),
                    *p,
                    format!(
                        "failed to allocate requested HealthCheck NodePort {p}: provided port is already allocated"
                    ),
                ),
            }
        }
    };
    ApiError::invalid(r, name, &[err])
}

impl Allocators {
    pub(crate) fn new(
        cidrs: &[ipnet::IpNet],
        node_ports: &str,
    ) -> Result<Self, tether_ipam::Error> {
        let ips = cidrs
            .iter()
            .map(|c| IpRange::new(*c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            inner: Mutex::new(Inner {
                ips,
                ports: PortRange::parse(node_ports)?,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the bitmaps half-updated in a way that
        // matters (they are a cache of the store), so recover from poisoning.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first address of the primary range (`default/kubernetes`).
    pub(crate) fn first_ip(&self) -> Option<IpAddr> {
        self.lock().ips.first().map(IpRange::first)
    }

    /// Marks a value as used (loaded from the store).
    pub(crate) fn mark(&self, r: &Reservation) {
        let mut g = self.lock();
        match r {
            Reservation::Ip(ip) => {
                for range in &mut g.ips {
                    if range.contains(*ip) {
                        let _ = range.allocate(*ip);
                    }
                }
            }
            Reservation::Port(p) => {
                let _ = g.ports.allocate(*p);
            }
        }
    }

    /// Frees values locally.
    pub(crate) fn release_all(&self, rs: &[Reservation]) {
        let mut g = self.lock();
        for r in rs {
            match r {
                Reservation::Ip(ip) => {
                    for range in &mut g.ips {
                        range.release(*ip);
                    }
                }
                Reservation::Port(p) => g.ports.release(*p),
            }
        }
    }

    /// Allocates what `svc` needs and fills it in (clusterIPs, nodePorts, healthCheckNodePort),
    /// keeping what `old` already holds. Upstream `allocateCreate` / `allocateUpdate`.
    pub(crate) fn allocate_service(
        &self,
        r: &Resource,
        name: &str,
        svc: &mut Service,
        old: Option<&Service>,
    ) -> Result<Reserved, ApiError> {
        let kept: BTreeSet<Reservation> = old.map(held).unwrap_or_default();
        let mut g = self.lock();
        let mut out = Reserved::default();
        let result = allocate(&mut g, r, name, svc, &kept, &mut out);
        if let Err(e) = result {
            drop(g);
            self.release_all(&out.taken);
            return Err(e);
        }
        let now = held(svc);
        out.freed = kept.difference(&now).cloned().collect();
        Ok(out)
    }
}

fn allocate(
    g: &mut Inner,
    r: &Resource,
    name: &str,
    svc: &mut Service,
    kept: &BTreeSet<Reservation>,
    out: &mut Reserved,
) -> Result<(), ApiError> {
    let needs_ip = service::needs_cluster_ip(svc);
    let needs_np = service::needs_node_ports(svc);
    let needs_hc = service::needs_health_check_node_port(svc);
    let Some(spec) = svc.spec.as_mut() else {
        return Ok(());
    };
    let mut rng = rand::rng();
    // ClusterIPs, one per family.
    if needs_ip {
        let families = spec.ip_families.clone().unwrap_or_default();
        let mut ips = spec.cluster_ips.clone().unwrap_or_default();
        let requested_ips = ips.clone();
        for (i, fam) in families.iter().enumerate() {
            let want_v4 = fam == "IPv4";
            let Some(range) = g
                .ips
                .iter_mut()
                .find(|x| x.net().addr().is_ipv4() == want_v4)
            else {
                continue;
            };
            match ips.get(i).filter(|s| !s.is_empty()) {
                Some(s) => {
                    let Ok(ip) = s.parse::<IpAddr>() else {
                        continue;
                    };
                    let res = Reservation::Ip(ip);
                    if kept.contains(&res) {
                        continue;
                    }
                    let fail = |why: String| {
                        ApiError::invalid(
                            r,
                            name,
                            &[FieldError::invalid(
                                &Path::new("spec").child("clusterIPs"),
                                BadValue::Raw(go_strings(&requested_ips)),
                                format!("failed to allocate IP {ip}: {why}"),
                            )],
                        )
                    };
                    match range.allocate(ip) {
                        Ok(()) => {
                            out.taken.push(res.clone());
                            out.requested.push(res);
                        }
                        Err(tether_ipam::Error::OutOfRange { .. }) => {
                            return Err(fail(format!(
                                "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                                range.net()
                            )));
                        }
                        Err(_) => return Err(fail("provided IP is already allocated".into())),
                    }
                }
                None => {
                    let ip = range.allocate_next(&mut rng).map_err(|e| {
                        ApiError::internal(format!("failed to allocate a serviceIP: {e}"))
                    })?;
                    out.taken.push(Reservation::Ip(ip));
                    if ips.len() > i {
                        ips[i] = ip.to_string();
                    } else {
                        ips.push(ip.to_string());
                    }
                }
            }
        }
        if !ips.is_empty() {
            spec.cluster_ip = ips.first().cloned();
            spec.cluster_ips = Some(ips);
        }
    }
    // NodePorts: one per distinct service port number, explicit values honoured even when
    // allocateLoadBalancerNodePorts is false.
    let mut by_port: BTreeMap<i32, i32> = BTreeMap::new();
    let ports_snapshot = spec.ports.clone().unwrap_or_default();
    let range_desc = g.ports.to_string();
    for (i, p) in spec.ports.iter_mut().flatten().enumerate() {
        let requested = p.node_port.unwrap_or(0);
        if requested == 0 && !needs_np {
            continue;
        }
        let path = Path::new("spec").child("ports").index(i).child("nodePort");
        let take = |g: &mut Inner, out: &mut Reserved, np: i32| -> Result<(), ApiError> {
            let res = Reservation::Port(np);
            if kept.contains(&res) || out.taken.contains(&res) {
                return Ok(());
            }
            match g.ports.allocate(np) {
                Ok(()) => {
                    out.taken.push(res.clone());
                    out.requested.push(res);
                    Ok(())
                }
                Err(tether_ipam::Error::OutOfRange { .. }) => Err(ApiError::invalid(
                    r,
                    name,
                    &[FieldError::invalid(
                        &path,
                        np,
                        format!(
                            "provided port is not in the valid range. The range of valid ports is {range_desc}"
                        ),
                    )],
                )),
                Err(_) => Err(ApiError::invalid(
                    r,
                    name,
                    &[FieldError::invalid(
                        &path,
                        np,
                        "provided port is already allocated",
                    )],
                )),
            }
        };
        match by_port.get(&p.port).copied() {
            None => {
                let explicit = if requested != 0 {
                    requested
                } else {
                    ports_snapshot
                        .iter()
                        .skip(i)
                        .find(|q| q.port == p.port && q.node_port.unwrap_or(0) != 0)
                        .and_then(|q| q.node_port)
                        .unwrap_or(0)
                };
                let np = if explicit != 0 {
                    take(g, out, explicit)?;
                    explicit
                } else {
                    let np = g.ports.allocate_next(&mut rng).map_err(|e| {
                        ApiError::internal(format!("failed to allocate a nodePort: {e}"))
                    })?;
                    out.taken.push(Reservation::Port(np));
                    np
                };
                p.node_port = Some(np);
                by_port.insert(p.port, np);
            }
            Some(shared) => {
                if requested == 0 {
                    p.node_port = Some(shared);
                } else if requested != shared {
                    take(g, out, requested)?;
                }
            }
        }
    }
    if needs_hc {
        let requested = spec.health_check_node_port.unwrap_or(0);
        if requested != 0 {
            let res = Reservation::Port(requested);
            if !kept.contains(&res) && !out.taken.contains(&res) {
                match g.ports.allocate(requested) {
                    Ok(()) => {
                        out.taken.push(res.clone());
                        out.requested.push(res);
                    }
                    Err(e) => {
                        return Err(ApiError::invalid(
                            r,
                            name,
                            &[FieldError::invalid(
                                &Path::new("spec").child("healthCheckNodePort"),
                                requested,
                                format!(
                                    "failed to allocate requested HealthCheck NodePort {requested}: {}",
                                    match e {
                                        tether_ipam::Error::OutOfRange { .. } => format!(
                                            "provided port is not in the valid range. The range of valid ports is {range_desc}"
                                        ),
                                        _ => "provided port is already allocated".to_owned(),
                                    }
                                ),
                            )],
                        ));
                    }
                }
            }
        } else {
            let np = g
                .ports
                .allocate_next(&mut rng)
                .map_err(|e| ApiError::internal(format!("failed to allocate a nodePort: {e}")))?;
            out.taken.push(Reservation::Port(np));
            spec.health_check_node_port = Some(np);
        }
    }
    Ok(())
}
