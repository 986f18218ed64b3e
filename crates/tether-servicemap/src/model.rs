//! The service map as plain data, built from API objects and diffed. Pure: no I/O.
//!
//! Follows kube-proxy's `pkg/proxy/serviceport.go` (`newBaseServiceInfo`) and
//! `endpointslicecache.go` (`addEndpoints`): one entry per Service port, endpoints matched
//! from EndpointSlices labelled `kubernetes.io/service-name` by port name and protocol,
//! the first address of each endpoint, conditions defaulted as upstream (ready/serving
//! `nil` ⇒ true, terminating `nil` ⇒ false).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// Label on EndpointSlices naming their Service (`discovery.k8s.io/v1`).
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// Services carrying this label belong to another proxy (KEP-2447) and are ignored.
pub const LABEL_SERVICE_PROXY_NAME: &str = "service.kubernetes.io/service-proxy-name";
/// EndpointSlices of headless Services carry this label; proxies ignore them.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// Legacy form of `spec.loadBalancerSourceRanges`, used only when the field is empty.
pub const ANNOTATION_LB_SOURCE_RANGES: &str =
    "service.beta.kubernetes.io/load-balancer-source-ranges";
/// Default ClientIP affinity timeout, 3 h (`core/v1` `DefaultClientIPServiceAffinitySeconds`).
pub const DEFAULT_AFFINITY_TIMEOUT_SECONDS: u32 = 10_800;
/// Largest allowed affinity timeout, 1 day (`MaxClientIPServiceAffinitySeconds`).
pub const MAX_AFFINITY_TIMEOUT_SECONDS: u32 = 86_400;

/// L4 protocol of a Service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// Parses the API spelling (`TCP`, `UDP`, `SCTP`); `None`/empty is TCP.
    pub fn from_api(s: Option<&str>) -> Option<Self> {
        match s.unwrap_or("TCP") {
            "" | "TCP" => Some(Self::Tcp),
            "UDP" => Some(Self::Udp),
            "SCTP" => Some(Self::Sctp),
            _ => None,
        }
    }

    /// Lower-case name as nftables and conntrack spell it (`tcp`, `udp`, `sctp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one port of one Service (upstream `proxy.ServicePortName`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServicePortName {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The port's name (`""` for a single unnamed port).
    pub port_name: String,
    /// The port's protocol.
    pub protocol: Protocol,
}

impl ServicePortName {
    /// A name from its parts.
    pub fn new(namespace: &str, name: &str, port_name: &str, protocol: Protocol) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            port_name: port_name.to_owned(),
            protocol,
        }
    }
}

impl fmt::Display for ServicePortName {
    /// `namespace/name:port_name` as upstream prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{}", self.namespace, self.name, self.port_name)
    }
}

/// `spec.type` of a proxied Service (ExternalName is never in the map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceType {
    /// `ClusterIP`.
    ClusterIp,
    /// `NodePort`.
    NodePort,
    /// `LoadBalancer`.
    LoadBalancer,
}

/// `externalTrafficPolicy` / `internalTrafficPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TrafficPolicy {
    /// Any ready endpoint in the cluster.
    #[default]
    Cluster,
    /// Only endpoints on this node.
    Local,
}

/// Everything about one Service port that a data plane needs (upstream
/// `BaseServicePortInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// `spec.clusterIPs` (primary first; one per family).
    pub cluster_ips: Vec<IpAddr>,
    /// `ports[].port`.
    pub port: u16,
    /// `ports[].nodePort`, for NodePort and LoadBalancer Services.
    pub node_port: Option<u16>,
    /// `ports[].protocol`.
    pub protocol: Protocol,
    /// `spec.type`.
    pub service_type: ServiceType,
    /// `spec.externalIPs`.
    pub external_ips: Vec<IpAddr>,
    /// `status.loadBalancer.ingress[].ip` whose `ipMode` is not `Proxy` (KEP-1860).
    pub load_balancer_ips: Vec<IpAddr>,
    /// ClientIP session affinity timeout in seconds; `None` for affinity `None`.
    pub session_affinity_timeout: Option<u32>,
    /// `spec.externalTrafficPolicy` (`Cluster` unless externally accessible and `Local`).
    pub external_traffic_policy: TrafficPolicy,
    /// `spec.healthCheckNodePort` (LoadBalancer with `externalTrafficPolicy: Local`).
    pub health_check_node_port: Option<u16>,
    /// `spec.internalTrafficPolicy`.
    pub internal_traffic_policy: TrafficPolicy,
    /// `spec.loadBalancerSourceRanges` (or the legacy annotation), LoadBalancer only.
    pub load_balancer_source_ranges: Vec<IpNet>,
}

impl ServiceInfo {
    /// A `ClusterIP` Service port on `cluster_ip:port` with every other field at its API
    /// default (no affinity, `Cluster` traffic policies, no external addresses). Tests,
    /// benchmarks and callers that build maps by hand start from this and set what differs.
    pub fn cluster_ip(cluster_ip: IpAddr, port: u16, protocol: Protocol) -> Self {
        Self {
            cluster_ips: vec![cluster_ip],
            port,
            node_port: None,
            protocol,
            service_type: ServiceType::ClusterIp,
            external_ips: Vec::new(),
            load_balancer_ips: Vec::new(),
            session_affinity_timeout: None,
            external_traffic_policy: TrafficPolicy::Cluster,
            health_check_node_port: None,
            internal_traffic_policy: TrafficPolicy::Cluster,
            load_balancer_source_ranges: Vec::new(),
        }
    }

    /// Whether the port accepts traffic from outside (NodePort, externalIPs or LB IPs).
    pub fn externally_accessible(&self) -> bool {
        self.node_port.is_some()
            || !self.external_ips.is_empty()
            || !self.load_balancer_ips.is_empty()
    }

    /// Whether external traffic uses only node-local endpoints.
    pub fn external_policy_local(&self) -> bool {
        self.externally_accessible() && self.external_traffic_policy == TrafficPolicy::Local
    }

    /// Whether ClusterIP traffic uses only node-local endpoints.
    pub fn internal_policy_local(&self) -> bool {
        self.internal_traffic_policy == TrafficPolicy::Local
    }

    /// Whether the port ever sends traffic to endpoints on other nodes (upstream
    /// `UsesClusterEndpoints`: internal policy Cluster, or external traffic at all, since
    /// pod traffic to external addresses short-circuits to all endpoints).
    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local() || self.externally_accessible()
    }

    /// Whether the port has a node-local policy anywhere (upstream `UsesLocalEndpoints`).
    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local() || self.external_policy_local()
    }
}

/// One backend of a Service port (upstream `BaseEndpointInfo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// The endpoint's (first) address.
    pub ip: IpAddr,
    /// The target port.
    pub port: u16,
    /// `conditions.ready` (`nil` ⇒ true).
    pub ready: bool,
    /// `conditions.serving` (`nil` ⇒ true).
    pub serving: bool,
    /// `conditions.terminating` (`nil` ⇒ false).
    pub terminating: bool,
    /// `nodeName`, when known.
    pub node_name: Option<String>,
    /// Whether `node_name` is this node.
    pub is_local: bool,
}

impl Endpoint {
    /// A ready, serving, not terminating endpoint `ip:port` on an unknown node (not local).
    pub fn ready(ip: IpAddr, port: u16) -> Self {
        Self {
            ip,
            port,
            ready: true,
            serving: true,
            terminating: false,
            node_name: None,
            is_local: false,
        }
    }
}

/// A Service port and its endpoints, sorted by (ip, port) and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// The port's service-level facts.
    pub info: ServiceInfo,
    /// The endpoints, sorted by address then port.
    pub endpoints: Vec<Endpoint>,
}

/// Every proxied Service port on this node, with its endpoints. Names and entries are
/// shared (`Arc`): cloning a map copies pointers only, and a map advanced with [`apply`]
/// shares the unchanged names and entries with the map the updates came from, so
/// [`changes`] between the two skips them by pointer without comparing strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceMap {
    /// The entries, ordered by name.
    pub ports: BTreeMap<Arc<ServicePortName>, Arc<ServicePort>>,
}

/// One change between two maps, per Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The port is new or changed; carries its new state.
    Upsert(Arc<ServicePortName>, Arc<ServicePort>),
    /// The port is gone.
    Remove(Arc<ServicePortName>),
}

impl Update {
    /// The port this update concerns.
    pub fn name(&self) -> &ServicePortName {
        match self {
            Self::Upsert(n, _) | Self::Remove(n) => n,
        }
    }
}

/// Entry `k → v` with `prev`'s `Arc`s where they hold the same: `prev`'s name when it has
/// the port, and its entry too when equal (then `false`: nothing changed).
fn adopt(
    prev: &BTreeMap<Arc<ServicePortName>, Arc<ServicePort>>,
    k: Arc<ServicePortName>,
    v: Arc<ServicePort>,
) -> (Arc<ServicePortName>, Arc<ServicePort>, bool) {
    match prev.get_key_value(&*k) {
        Some((pk, pv)) if **pv == *v => (Arc::clone(pk), Arc::clone(pv), false),
        Some((pk, _)) => (Arc::clone(pk), v, true),
        None => (k, v, true),
    }
}

/// The updates that turn `old` into `new`, in name order: one walk over both maps in
/// order, no lookups; entries shared by the two maps are skipped by pointer, others
/// compared by value.
pub fn changes(old: &ServiceMap, new: &ServiceMap) -> Vec<Update> {
    use std::cmp::Ordering;
    let mut out = Vec::new();
    let (mut a, mut b) = (old.ports.iter().peekable(), new.ports.iter().peekable());
    loop {
        // A side that ran out sorts after the other.
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((na, _)), Some((nb, _))) if Arc::ptr_eq(na, nb) => Ordering::Equal,
            (Some((na, _)), Some((nb, _))) => na.cmp(nb),
        };
        match order {
            Ordering::Less => {
                if let Some((name, _)) = a.next() {
                    out.push(Update::Remove(Arc::clone(name)));
                }
            }
            Ordering::Greater => {
                if let Some((name, port)) = b.next() {
                    out.push(Update::Upsert(Arc::clone(name), Arc::clone(port)));
                }
            }
            Ordering::Equal => {
                // `Arc`'s equality compares pointers first (ServicePort is `Eq`).
                if let (Some((_, pa)), Some((name, pb))) = (a.next(), b.next())
                    && pa != pb
                {
                    out.push(Update::Upsert(Arc::clone(name), Arc::clone(pb)));
                }
            }
        }
    }
    out
}

/// Applies `updates` to `map` (so `apply(old, changes(old, new)) == new`).
pub fn apply(map: &mut ServiceMap, updates: &[Update]) {
    for u in updates {
        match u {
            Update::Upsert(name, port) => {
                map.ports.insert(Arc::clone(name), Arc::clone(port));
            }
            Update::Remove(name) => {
                map.ports.remove(name);
            }
        }
    }
}

impl ServiceMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of Service ports.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether there are no Service ports.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// Looks up one Service port.
    pub fn get(&self, name: &ServicePortName) -> Option<&ServicePort> {
        self.ports.get(name).map(|v| &**v)
    }

    /// Replaces every port of Service `namespace/name` with the ports of `fresh` (a map
    /// built from that Service alone; empty when it is gone or not proxied). Names and
    /// entries that did not change keep their `Arc`s, so [`changes`] against an earlier
    /// snapshot skips them by pointer. Returns whether anything changed. Work is
    /// proportional to the Service's ports, not to the map.
    pub fn replace_service(&mut self, namespace: &str, name: &str, fresh: Self) -> bool {
        let start = ServicePortName::new(namespace, name, "", Protocol::Tcp);
        let old: Vec<Arc<ServicePortName>> = self
            .ports
            .range::<ServicePortName, _>(&start..)
            .map(|(k, _)| k)
            .take_while(|k| k.namespace == namespace && k.name == name)
            .cloned()
            .collect();
        let mut changed = false;
        for k in &old {
            if !fresh.ports.contains_key(&**k) {
                self.ports.remove(&**k);
                changed = true;
            }
        }
        for (k, v) in fresh.ports {
            let (k, v, differs) = adopt(&self.ports, k, v);
            if differs {
                self.ports.insert(k, v);
                changed = true;
            }
        }
        changed
    }

    /// Makes the entries of this (freshly built) map that equal `prev`'s share `prev`'s
    /// `Arc`s (names and entries); returns whether the maps differ.
    pub fn adopt_unchanged(&mut self, prev: &Self) -> bool {
        let mut changed = self.len() != prev.len();
        let fresh = std::mem::take(&mut self.ports);
        for (k, v) in fresh {
            let (k, v, differs) = adopt(&prev.ports, k, v);
            changed |= differs;
            self.ports.insert(k, v);
        }
        changed
    }

    /// Inserts or replaces one Service port; endpoints are sorted and deduplicated.
    pub fn insert(&mut self, name: ServicePortName, info: ServiceInfo, endpoints: Vec<Endpoint>) {
        self.ports.insert(
            Arc::new(name),
            Arc::new(ServicePort {
                info,
                endpoints: normalize_endpoints(endpoints),
            }),
        );
    }

    /// Builds the map from Service and EndpointSlice objects, as kube-proxy does on node
    /// `node_name`. ExternalName and headless Services, Services handled by another proxy
    /// and malformed fields are skipped (never a panic); a port without matching slices
    /// gets an empty endpoint list.
    pub fn from_objects(services: &[Service], slices: &[EndpointSlice], node_name: &str) -> Self {
        Self::from_object_refs(services, slices, node_name)
    }

    /// [`from_objects`](Self::from_objects) over borrowed objects (e.g. a reflector store's
    /// `Arc`s), without cloning them.
    pub fn from_object_refs<'a>(
        services: impl IntoIterator<Item = &'a Service>,
        slices: impl IntoIterator<Item = &'a EndpointSlice>,
        node_name: &str,
    ) -> Self {
        // (namespace, service name) → slices.
        let mut by_service: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
        for slice in slices {
            let labels = slice.metadata.labels.as_ref();
            let Some(svc) = labels.and_then(|l| l.get(LABEL_SERVICE_NAME)) else {
                continue;
            };
            if labels.is_some_and(|l| l.contains_key(LABEL_HEADLESS)) {
                continue;
            }
            if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
                continue;
            }
            let ns = slice.metadata.namespace.as_deref().unwrap_or("");
            by_service
                .entry((ns, svc.as_str()))
                .or_default()
                .push(slice);
        }

        let mut map = Self::new();
        for svc in services {
            let ns = svc.metadata.namespace.as_deref().unwrap_or("");
            let Some(name) = svc.metadata.name.as_deref() else {
                continue;
            };
            let Some(ports) = service_ports(svc) else {
                continue;
            };
            let svc_slices = by_service
                .get(&(ns, name))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            for (port_name, info) in ports {
                let endpoints = slice_endpoints(svc_slices, &port_name, info.protocol, node_name);
                map.insert(
                    ServicePortName::new(ns, name, &port_name, info.protocol),
                    info,
                    endpoints,
                );
            }
        }
        map
    }
}

fn normalize_endpoints(mut eps: Vec<Endpoint>) -> Vec<Endpoint> {
    eps.sort();
    eps.dedup_by(|a, b| a.ip == b.ip && a.port == b.port);
    eps
}

/// The proxied ports of `svc` with their info, or `None` when the Service is not proxied.
fn service_ports(svc: &Service) -> Option<Vec<(String, ServiceInfo)>> {
    if svc
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(LABEL_SERVICE_PROXY_NAME))
    {
        return None;
    }
    let spec = svc.spec.as_ref()?;
    let service_type = match spec.type_.as_deref().unwrap_or("ClusterIP") {
        "" | "ClusterIP" => ServiceType::ClusterIp,
        "NodePort" => ServiceType::NodePort,
        "LoadBalancer" => ServiceType::LoadBalancer,
        _ => return None, // ExternalName or unknown.
    };
    let mut cluster_ip_strings: Vec<&str> = spec
        .cluster_ips
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if cluster_ip_strings.is_empty() {
        cluster_ip_strings.extend(spec.cluster_ip.as_deref());
    }
    if cluster_ip_strings
        .first()
        .is_none_or(|ip| ip.is_empty() || *ip == "None")
    {
        return None; // headless or not yet allocated
    }
    let cluster_ips = parse_ips(cluster_ip_strings);
    if cluster_ips.is_empty() {
        return None;
    }
    let external_ips = parse_ips(spec.external_ips.iter().flatten().map(String::as_str));
    let load_balancer_ips = if service_type == ServiceType::LoadBalancer {
        let ingress = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref());
        parse_ips(
            ingress
                .into_iter()
                .flatten()
                .filter(|i| i.ip_mode.as_deref() != Some("Proxy"))
                .filter_map(|i| i.ip.as_deref()),
        )
    } else {
        Vec::new()
    };
    let session_affinity_timeout =
        (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            spec.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .and_then(|t| u32::try_from(t).ok())
                .filter(|t| (1..=MAX_AFFINITY_TIMEOUT_SECONDS).contains(t))
                .unwrap_or(DEFAULT_AFFINITY_TIMEOUT_SECONDS)
        });
    let policy = |p: Option<&str>| {
        if p == Some("Local") {
            TrafficPolicy::Local
        } else {
            TrafficPolicy::Cluster
        }
    };
    let load_balancer_source_ranges = if service_type == ServiceType::LoadBalancer {
        let mut ranges: Vec<String> = spec
            .load_balancer_source_ranges
            .iter()
            .flatten()
            .cloned()
            .collect();
        if ranges.is_empty()
            && let Some(a) = svc
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_LB_SOURCE_RANGES))
        {
            ranges = a.split(',').map(str::to_owned).collect();
        }
        parse_cidrs(&ranges)
    } else {
        Vec::new()
    };
    let internal_traffic_policy = policy(spec.internal_traffic_policy.as_deref());
    let external_traffic_policy = policy(spec.external_traffic_policy.as_deref());
    let health_check_node_port = spec.health_check_node_port.and_then(port_u16);

    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for p in spec.ports.iter().flatten() {
        let Some(protocol) = Protocol::from_api(p.protocol.as_deref()) else {
            continue;
        };
        let Some(port) = port_u16(p.port) else {
            continue;
        };
        let port_name = p.name.clone().unwrap_or_default();
        if !seen.insert((port_name.clone(), protocol)) {
            continue;
        }
        let node_port = if service_type == ServiceType::ClusterIp {
            None
        } else {
            p.node_port.and_then(port_u16)
        };
        let mut info = ServiceInfo {
            cluster_ips: cluster_ips.clone(),
            port,
            node_port,
            protocol,
            service_type,
            external_ips: external_ips.clone(),
            load_balancer_ips: load_balancer_ips.clone(),
            session_affinity_timeout,
            external_traffic_policy: TrafficPolicy::Cluster,
            health_check_node_port: None,
            internal_traffic_policy,
            load_balancer_source_ranges: load_balancer_source_ranges.clone(),
        };
        if info.externally_accessible() {
            info.external_traffic_policy = external_traffic_policy;
        }
        if service_type == ServiceType::LoadBalancer && info.external_policy_local() {
            info.health_check_node_port = health_check_node_port;
        }
        out.push((port_name, info));
    }
    Some(out)
}

fn slice_endpoints(
    slices: &[&EndpointSlice],
    port_name: &str,
    protocol: Protocol,
    node_name: &str,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for slice in slices {
        // As upstream: the slice port with the same name (and protocol) gives the port.
        let Some(port) = slice.ports.iter().flatten().find_map(|p| {
            let name_ok = p.name.as_deref().unwrap_or("") == port_name;
            let proto_ok = Protocol::from_api(p.protocol.as_deref()) == Some(protocol);
            if name_ok && proto_ok {
                p.port.and_then(port_u16)
            } else {
                None
            }
        }) else {
            continue;
        };
        for ep in &slice.endpoints {
            let Some(ip) = ep.addresses.first().and_then(|a| a.parse::<IpAddr>().ok()) else {
                continue;
            };
            let cond = ep.conditions.as_ref();
            let ready = cond.and_then(|c| c.ready).unwrap_or(true);
            let serving = cond.and_then(|c| c.serving).unwrap_or(true);
            let terminating = cond.and_then(|c| c.terminating).unwrap_or(false);
            let node = ep.node_name.clone();
            let is_local = !node_name.is_empty() && node.as_deref() == Some(node_name);
            out.push(Endpoint {
                ip,
                port,
                ready,
                serving,
                terminating,
                node_name: node,
                is_local,
            });
        }
    }
    out
}

fn port_u16(p: i32) -> Option<u16> {
    u16::try_from(p).ok().filter(|p| *p != 0)
}

fn parse_ips<'a>(it: impl IntoIterator<Item = &'a str>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for s in it {
        match s.trim().parse::<IpAddr>() {
            Ok(ip) if !out.contains(&ip) => out.push(ip),
            Ok(_) => {}
            Err(_) => tracing::debug!(ip = s, "ignoring unparsable IP"),
        }
    }
    out
}

fn parse_cidrs(ranges: &[String]) -> Vec<IpNet> {
    let mut out = Vec::new();
    for r in ranges {
        let r = r.trim();
        if r.is_empty() {
            continue;
        }
        let parsed = r
            .parse::<IpNet>()
            .ok()
            .or_else(|| r.parse::<IpAddr>().ok().map(IpNet::from));
        match parsed {
            Some(net) => {
                let net = net.trunc();
                if !out.contains(&net) {
                    out.push(net);
                }
            }
            None => tracing::debug!(range = r, "ignoring unparsable source range"),
        }
    }
    out
}

#[cfg(test)]
mod tests;
