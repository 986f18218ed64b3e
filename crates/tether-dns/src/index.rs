//! In-memory index of the cluster objects DNS answers from.
//!
//! Writers (`apply_*`/`remove_*`) serialize on a mutex and publish a new [`Snapshot`] after each
//! change; readers call [`Index::snapshot`], a single atomic `Arc` load. Snapshots share
//! unchanged parts (per-namespace service maps, reverse-map shards) through `Arc`s, so a change
//! costs O(namespaces + services in the namespace + one shard), not O(cluster).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// Label on an EndpointSlice naming its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// Number of shards of the IP-keyed maps.
const SHARDS: usize = 64;

/// A port of a Service or of an EndpointSlice. `port == None` is CoreDNS's "-1" sentinel used
/// when an object declares no ports: it makes addresses resolvable but yields no SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortEntry {
    /// Port name, lower case (may be empty).
    pub name: Box<str>,
    /// Protocol, lower case (`tcp`, `udp`, `sctp`, or empty).
    pub protocol: Box<str>,
    /// Port number.
    pub port: Option<u16>,
}

/// One address of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointEntry {
    /// The address.
    pub ip: IpAddr,
    /// DNS label of the endpoint: its `hostname`, else the dashed IP (CoreDNS `endpointHostname`).
    pub hostname: Box<str>,
}

/// The served endpoints of one EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEntry {
    /// Ports of the slice (one sentinel entry when it has none).
    pub ports: Vec<PortEntry>,
    /// Ready endpoints (all endpoints when the Service publishes not-ready addresses).
    pub endpoints: Vec<EndpointEntry>,
}

/// What a Service resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKind {
    /// A virtual IP service (ClusterIP, NodePort, LoadBalancer): its cluster IPs.
    ClusterIp(Vec<IpAddr>),
    /// `clusterIP: None`.
    Headless,
    /// `type: ExternalName`: the external name (no trailing dot).
    ExternalName(Box<str>),
}

/// A Service as DNS sees it, with the endpoints of all its slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// Service name (lower case).
    pub name: Box<str>,
    /// Namespace (lower case).
    pub namespace: Box<str>,
    /// Kind and addresses.
    pub kind: ServiceKind,
    /// Service ports (one sentinel entry when it has none).
    pub ports: Vec<PortEntry>,
    /// Served endpoints per slice.
    pub slices: Vec<SliceEntry>,
}

/// A reverse-lookup target for one IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtrEntry {
    /// Namespace of the owning Service.
    pub namespace: Box<str>,
    /// Name of the owning Service.
    pub service: Box<str>,
    /// Endpoint label, or `None` when the IP is a cluster IP of the Service.
    pub endpoint: Option<Box<str>>,
}

type Shards<V> = Vec<Arc<HashMap<IpAddr, Vec<V>>>>;
/// Services of one namespace by name.
type NsServices = Arc<HashMap<Box<str>, Arc<ServiceEntry>>>;

/// An immutable view of the index, cheap to clone and to hold while answering.
#[derive(Debug, Clone)]
pub struct Snapshot {
    synced: bool,
    serial: u32,
    services: HashMap<Box<str>, NsServices>,
    namespaces: Arc<HashSet<Box<str>>>,
    reverse: Shards<PtrEntry>,
    pod_ips: Shards<Box<str>>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            synced: false,
            serial: 0,
            services: HashMap::new(),
            namespaces: Arc::default(),
            reverse: (0..SHARDS).map(|_| Arc::default()).collect(),
            pod_ips: (0..SHARDS).map(|_| Arc::default()).collect(),
        }
    }
}

fn shard_of(ip: &IpAddr) -> usize {
    let last = match ip {
        IpAddr::V4(v4) => v4.octets()[3],
        IpAddr::V6(v6) => v6.octets()[15],
    };
    usize::from(last) % SHARDS
}

impl Snapshot {
    /// Whether the initial lists of all watched kinds have been received.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// SOA serial: unix time of the last change.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The service `name` in `namespace` (both lower case).
    pub fn service(&self, namespace: &str, name: &str) -> Option<&ServiceEntry> {
        self.services
            .get(namespace)
            .and_then(|m| m.get(name))
            .map(|s| &**s)
    }

    /// Whether `namespace` exists (has a Namespace object or any Service, slice or Pod).
    pub fn namespace_exists(&self, namespace: &str) -> bool {
        self.namespaces.contains(namespace)
    }

    /// Reverse entries for `ip`.
    pub fn reverse(&self, ip: &IpAddr) -> &[PtrEntry] {
        self.reverse
            .get(shard_of(ip))
            .and_then(|s| s.get(ip))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether a pod with `ip` exists in `namespace`.
    pub fn pod_ip_in(&self, ip: &IpAddr, namespace: &str) -> bool {
        self.pod_ips
            .get(shard_of(ip))
            .and_then(|s| s.get(ip))
            .is_some_and(|v| v.iter().any(|n| &**n == namespace))
    }

    /// Number of services in the snapshot.
    pub fn service_count(&self) -> usize {
        self.services.values().map(|m| m.len()).sum()
    }
}

type Key = (Box<str>, Box<str>);

#[derive(Debug, Clone)]
struct SvcSpec {
    kind: ServiceKind,
    ports: Vec<PortEntry>,
    publish_not_ready: bool,
}

#[derive(Debug, Clone)]
struct SliceSpec {
    service: Box<str>,
    ports: Vec<PortEntry>,
    /// (address, hostname, ready)
    endpoints: Vec<(IpAddr, Box<str>, bool)>,
}

#[derive(Debug, Default)]
struct State {
    services: HashMap<Key, SvcSpec>,
    slices: HashMap<Key, SliceSpec>,
    slices_by_service: HashMap<Key, HashSet<Box<str>>>,
    pods: HashMap<Key, Vec<IpAddr>>,
    namespace_objects: HashSet<Box<str>>,
    /// Objects (services, slices, pods) per namespace.
    ns_refs: HashMap<Box<str>, usize>,
    synced: [bool; 3],
    snap: Snapshot,
}

/// Which watched kind finished its initial list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Services.
    Service,
    /// EndpointSlices.
    EndpointSlice,
    /// Pods.
    Pod,
}

/// The DNS index: objects in, snapshots out.
#[derive(Debug)]
pub struct Index {
    state: Mutex<State>,
    current: ArcSwap<Snapshot>,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

fn lower(s: &str) -> Box<str> {
    s.to_ascii_lowercase().into_boxed_str()
}

/// CoreDNS `endpointHostname` for an address without a hostname: `10.0.0.1` → `10-0-0-1`,
/// `fd00::1` → `fd00--1`, `fd00::` → `fd00--0`.
pub fn dashed_ip(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => {
            let mut s = v6.to_string().replace(':', "-");
            if s.ends_with('-') {
                s.push('0');
            }
            s
        }
    }
}

fn port_entries<'a>(
    ports: impl Iterator<Item = (Option<&'a str>, Option<&'a str>, Option<i32>)>,
) -> Vec<PortEntry> {
    let mut out: Vec<PortEntry> = ports
        .map(|(name, proto, port)| PortEntry {
            name: lower(name.unwrap_or("")),
            protocol: lower(proto.unwrap_or("TCP")),
            port: port.and_then(|p| u16::try_from(p).ok()),
        })
        .collect();
    if out.is_empty() {
        out.push(PortEntry {
            name: "".into(),
            protocol: "".into(),
            port: None,
        });
    }
    out
}

fn svc_spec(svc: &Service) -> SvcSpec {
    let spec = svc.spec.clone().unwrap_or_default();
    let kind = if spec.type_.as_deref() == Some("ExternalName") {
        let name = spec.external_name.as_deref().unwrap_or("");
        ServiceKind::ExternalName(name.trim_end_matches('.').into())
    } else if spec.cluster_ip.as_deref() == Some("None") {
        ServiceKind::Headless
    } else {
        let ips = match &spec.cluster_ips {
            Some(ips) if !ips.is_empty() => ips.clone(),
            _ => spec.cluster_ip.clone().into_iter().collect(),
        };
        if ips.first().map(String::as_str) == Some("None") {
            ServiceKind::Headless
        } else {
            ServiceKind::ClusterIp(ips.iter().filter_map(|s| s.parse().ok()).collect())
        }
    };
    let ports = port_entries(
        spec.ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref(), p.protocol.as_deref(), Some(p.port))),
    );
    SvcSpec {
        kind,
        ports,
        publish_not_ready: spec.publish_not_ready_addresses.unwrap_or(false),
    }
}

fn slice_spec(slice: &EndpointSlice) -> Option<SliceSpec> {
    let service = slice.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    let ports = port_entries(
        slice
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref(), p.protocol.as_deref(), p.port)),
    );
    let mut endpoints = Vec::new();
    for ep in &slice.endpoints {
        let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
        for addr in &ep.addresses {
            let Ok(ip) = addr.parse::<IpAddr>() else {
                continue;
            };
            let hostname = match ep.hostname.as_deref() {
                Some(h) if !h.is_empty() => lower(h),
                _ => dashed_ip(&ip).into_boxed_str(),
            };
            endpoints.push((ip, hostname, ready));
        }
    }
    Some(SliceSpec {
        service: lower(service),
        ports,
        endpoints,
    })
}

fn pod_ips(pod: &Pod) -> Vec<IpAddr> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = status
        .pod_ips
        .iter()
        .flatten()
        .filter_map(|p| p.ip.parse().ok())
        .collect();
    if ips.is_empty()
        && let Some(ip) = status.pod_ip.as_deref().and_then(|s| s.parse().ok())
    {
        ips.push(ip);
    }
    ips
}

fn meta_key(ns: Option<&str>, name: Option<&str>) -> Option<Key> {
    Some((lower(ns.unwrap_or("default")), lower(name?)))
}

fn now_serial() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs & u64::from(u32::MAX)).unwrap_or(0)
}

impl State {
    fn ns_ref(&mut self, ns: &str, delta: isize) {
        let before = self.ns_exists(ns);
        let count = self.ns_refs.entry(ns.into()).or_insert(0);
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.ns_refs.remove(ns);
        }
        if before != self.ns_exists(ns) {
            self.rebuild_namespaces();
        }
    }

    fn ns_exists(&self, ns: &str) -> bool {
        self.ns_refs.contains_key(ns) || self.namespace_objects.contains(ns)
    }

    fn rebuild_namespaces(&mut self) {
        let set: HashSet<Box<str>> = self
            .ns_refs
            .keys()
            .chain(self.namespace_objects.iter())
            .cloned()
            .collect();
        self.snap.namespaces = Arc::new(set);
    }

    fn build_entry(&self, key: &Key) -> Option<ServiceEntry> {
        let spec = self.services.get(key)?;
        let mut slices = Vec::new();
        if let Some(names) = self.slices_by_service.get(key) {
            let mut names: Vec<&Box<str>> = names.iter().collect();
            names.sort();
            for name in names {
                let Some(slice) = self.slices.get(&(key.0.clone(), name.clone())) else {
                    continue;
                };
                let endpoints: Vec<EndpointEntry> = slice
                    .endpoints
                    .iter()
                    .filter(|(_, _, ready)| *ready || spec.publish_not_ready)
                    .map(|(ip, hostname, _)| EndpointEntry {
                        ip: *ip,
                        hostname: hostname.clone(),
                    })
                    .collect();
                slices.push(SliceEntry {
                    ports: slice.ports.clone(),
                    endpoints,
                });
            }
        }
        Some(ServiceEntry {
            name: key.1.clone(),
            namespace: key.0.clone(),
            kind: spec.kind.clone(),
            ports: spec.ports.clone(),
            slices,
        })
    }

    /// Recomputes the snapshot entry of the service `key` and its reverse records.
    fn refresh(&mut self, key: &Key) {
        let new = self.build_entry(key).map(Arc::new);
        let old = self
            .snap
            .services
            .get(&key.0)
            .and_then(|m| m.get(&key.1))
            .cloned();
        if old.as_deref() == new.as_deref() {
            return;
        }
        if let Some(old) = &old {
            for (ip, _) in ptrs(old) {
                let shard = Arc::make_mut(&mut self.snap.reverse[shard_of(&ip)]);
                if let Some(v) = shard.get_mut(&ip) {
                    v.retain(|p| !(p.namespace == key.0 && p.service == key.1));
                    if v.is_empty() {
                        shard.remove(&ip);
                    }
                }
            }
        }
        if let Some(new) = &new {
            for (ip, ptr) in ptrs(new) {
                let shard = Arc::make_mut(&mut self.snap.reverse[shard_of(&ip)]);
                let v = shard.entry(ip).or_default();
                if !v.contains(&ptr) {
                    v.push(ptr);
                }
            }
        }
        match new {
            Some(new) => {
                let map = self.snap.services.entry(key.0.clone()).or_default();
                Arc::make_mut(map).insert(key.1.clone(), new);
            }
            None => {
                if let Some(map) = self.snap.services.get_mut(&key.0) {
                    Arc::make_mut(map).remove(&key.1);
                    if map.is_empty() {
                        self.snap.services.remove(&key.0);
                    }
                }
            }
        }
        self.snap.serial = now_serial();
    }

    fn set_pod(&mut self, key: &Key, ips: Option<Vec<IpAddr>>) {
        let old = match ips {
            Some(ips) => self.pods.insert(key.clone(), ips),
            None => self.pods.remove(key),
        };
        let new = self.pods.get(key).cloned();
        if old.is_none() && new.is_some() {
            self.ns_ref(&key.0, 1);
        } else if old.is_some() && new.is_none() {
            self.ns_ref(&key.0, -1);
        }
        if old == new {
            return;
        }
        for ip in old.iter().flatten() {
            let shard = Arc::make_mut(&mut self.snap.pod_ips[shard_of(ip)]);
            if let Some(v) = shard.get_mut(ip) {
                if let Some(pos) = v.iter().position(|n| *n == key.0) {
                    v.swap_remove(pos);
                }
                if v.is_empty() {
                    shard.remove(ip);
                }
            }
        }
        for ip in new.iter().flatten() {
            let shard = Arc::make_mut(&mut self.snap.pod_ips[shard_of(ip)]);
            shard.entry(*ip).or_default().push(key.0.clone());
        }
    }

    fn set_service(&mut self, key: Key, spec: Option<SvcSpec>) {
        let had = match spec {
            Some(spec) => self.services.insert(key.clone(), spec).is_some(),
            None => self.services.remove(&key).is_some(),
        };
        let has = self.services.contains_key(&key);
        if !had && has {
            self.ns_ref(&key.0, 1);
        } else if had && !has {
            self.ns_ref(&key.0, -1);
        }
        self.refresh(&key);
    }

    fn set_slice(&mut self, key: Key, spec: Option<SliceSpec>) {
        let old = self.slices.remove(&key);
        if let Some(old) = &old {
            let svc_key = (key.0.clone(), old.service.clone());
            if let Some(set) = self.slices_by_service.get_mut(&svc_key) {
                set.remove(&key.1);
                if set.is_empty() {
                    self.slices_by_service.remove(&svc_key);
                }
            }
        }
        let new_service = spec.as_ref().map(|s| s.service.clone());
        if let Some(spec) = spec {
            self.slices_by_service
                .entry((key.0.clone(), spec.service.clone()))
                .or_default()
                .insert(key.1.clone());
            self.slices.insert(key.clone(), spec);
        }
        match (old.is_some(), new_service.is_some()) {
            (false, true) => self.ns_ref(&key.0, 1),
            (true, false) => self.ns_ref(&key.0, -1),
            _ => {}
        }
        if let Some(old) = old
            && Some(&old.service) != new_service.as_ref()
        {
            self.refresh(&(key.0.clone(), old.service));
        }
        if let Some(svc) = new_service {
            self.refresh(&(key.0, svc));
        }
    }
}

/// Reverse entries contributed by a service.
fn ptrs(svc: &ServiceEntry) -> Vec<(IpAddr, PtrEntry)> {
    let mut out = Vec::new();
    if let ServiceKind::ClusterIp(ips) = &svc.kind {
        for ip in ips {
            out.push((
                *ip,
                PtrEntry {
                    namespace: svc.namespace.clone(),
                    service: svc.name.clone(),
                    endpoint: None,
                },
            ));
        }
    }
    for slice in &svc.slices {
        for ep in &slice.endpoints {
            out.push((
                ep.ip,
                PtrEntry {
                    namespace: svc.namespace.clone(),
                    service: svc.name.clone(),
                    endpoint: Some(ep.hostname.clone()),
                },
            ));
        }
    }
    out
}

impl Index {
    /// An empty, not yet synced index.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                snap: Snapshot::default(),
                ..State::default()
            }),
            current: ArcSwap::from_pointee(Snapshot::default()),
        }
    }

    /// An index holding `services`, `slices` and `pods`, marked synced.
    pub fn from_objects(services: &[Service], slices: &[EndpointSlice], pods: &[Pod]) -> Self {
        let index = Self::new();
        index.update(|tx| {
            for s in services {
                tx.apply_service(s);
            }
            for s in slices {
                tx.apply_slice(s);
            }
            for p in pods {
                tx.apply_pod(p);
            }
            tx.set_synced_all();
        });
        index
    }

    /// The current snapshot (one atomic load; never blocks on writers).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough data; keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies several changes and publishes one snapshot at the end.
    pub fn update(&self, f: impl FnOnce(&mut Update<'_>)) {
        let mut state = self.lock();
        let mut tx = Update { state: &mut state };
        f(&mut tx);
        self.current.store(Arc::new(state.snap.clone()));
    }

    /// Adds or replaces a Service.
    pub fn apply_service(&self, svc: &Service) {
        self.update(|tx| tx.apply_service(svc));
    }

    /// Removes a Service.
    pub fn remove_service(&self, svc: &Service) {
        self.update(|tx| tx.remove_service(svc));
    }

    /// Adds or replaces an EndpointSlice.
    pub fn apply_slice(&self, slice: &EndpointSlice) {
        self.update(|tx| tx.apply_slice(slice));
    }

    /// Removes an EndpointSlice.
    pub fn remove_slice(&self, slice: &EndpointSlice) {
        self.update(|tx| tx.remove_slice(slice));
    }

    /// Adds or replaces a Pod.
    pub fn apply_pod(&self, pod: &Pod) {
        self.update(|tx| tx.apply_pod(pod));
    }

    /// Removes a Pod.
    pub fn remove_pod(&self, pod: &Pod) {
        self.update(|tx| tx.remove_pod(pod));
    }

    /// Adds a Namespace (namespaces also exist implicitly while they hold objects).
    pub fn apply_namespace(&self, ns: &Namespace) {
        self.update(|tx| tx.apply_namespace(ns));
    }

    /// Removes a Namespace.
    pub fn remove_namespace(&self, ns: &Namespace) {
        self.update(|tx| tx.remove_namespace(ns));
    }

    /// Marks the initial list of `kind` as received; the index is synced when all are.
    pub fn mark_synced(&self, kind: Kind) {
        self.update(|tx| tx.mark_synced(kind));
    }
}

/// A batch of changes to the index, published together (see [`Index::update`]).
#[derive(Debug)]
pub struct Update<'a> {
    state: &'a mut State,
}

impl Update<'_> {
    /// Adds or replaces a Service.
    pub fn apply_service(&mut self, svc: &Service) {
        if let Some(key) = meta_key(
            svc.metadata.namespace.as_deref(),
            svc.metadata.name.as_deref(),
        ) {
            self.state.set_service(key, Some(svc_spec(svc)));
        }
    }

    /// Removes a Service.
    pub fn remove_service(&mut self, svc: &Service) {
        if let Some(key) = meta_key(
            svc.metadata.namespace.as_deref(),
            svc.metadata.name.as_deref(),
        ) {
            self.state.set_service(key, None);
        }
    }

    /// Adds or replaces an EndpointSlice (slices without a service-name label are ignored).
    pub fn apply_slice(&mut self, slice: &EndpointSlice) {
        let meta = &slice.metadata;
        if let Some(key) = meta_key(meta.namespace.as_deref(), meta.name.as_deref()) {
            self.state.set_slice(key, slice_spec(slice));
        }
    }

    /// Removes an EndpointSlice.
    pub fn remove_slice(&mut self, slice: &EndpointSlice) {
        let meta = &slice.metadata;
        if let Some(key) = meta_key(meta.namespace.as_deref(), meta.name.as_deref()) {
            self.state.set_slice(key, None);
        }
    }

    /// Adds or replaces a Pod.
    pub fn apply_pod(&mut self, pod: &Pod) {
        let meta = &pod.metadata;
        if let Some(key) = meta_key(meta.namespace.as_deref(), meta.name.as_deref()) {
            self.state.set_pod(&key, Some(pod_ips(pod)));
        }
    }

    /// Removes a Pod.
    pub fn remove_pod(&mut self, pod: &Pod) {
        let meta = &pod.metadata;
        if let Some(key) = meta_key(meta.namespace.as_deref(), meta.name.as_deref()) {
            self.state.set_pod(&key, None);
        }
    }

    /// Adds a Namespace.
    pub fn apply_namespace(&mut self, ns: &Namespace) {
        if let Some(name) = ns.metadata.name.as_deref() {
            let name = lower(name);
            if self.state.namespace_objects.insert(name) {
                self.state.rebuild_namespaces();
            }
        }
    }

    /// Removes a Namespace.
    pub fn remove_namespace(&mut self, ns: &Namespace) {
        if let Some(name) = ns.metadata.name.as_deref()
            && self.state.namespace_objects.remove(&*lower(name))
        {
            self.state.rebuild_namespaces();
        }
    }

    /// Replaces all Services with `services` (a relist).
    pub fn replace_services(&mut self, services: &[Service]) {
        let keep: HashSet<Key> = services
            .iter()
            .filter_map(|s| meta_key(s.metadata.namespace.as_deref(), s.metadata.name.as_deref()))
            .collect();
        let gone: Vec<Key> = self
            .state
            .services
            .keys()
            .filter(|k| !keep.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.state.set_service(key, None);
        }
        for s in services {
            self.apply_service(s);
        }
    }

    /// Replaces all EndpointSlices with `slices` (a relist).
    pub fn replace_slices(&mut self, slices: &[EndpointSlice]) {
        let keep: HashSet<Key> = slices
            .iter()
            .filter_map(|s| meta_key(s.metadata.namespace.as_deref(), s.metadata.name.as_deref()))
            .collect();
        let gone: Vec<Key> = self
            .state
            .slices
            .keys()
            .filter(|k| !keep.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.state.set_slice(key, None);
        }
        for s in slices {
            self.apply_slice(s);
        }
    }

    /// Replaces all Pods with `pods` (a relist).
    pub fn replace_pods(&mut self, pods: &[Pod]) {
        let keep: HashSet<Key> = pods
            .iter()
            .filter_map(|p| meta_key(p.metadata.namespace.as_deref(), p.metadata.name.as_deref()))
            .collect();
        let gone: Vec<Key> = self
            .state
            .pods
            .keys()
            .filter(|k| !keep.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.state.set_pod(&key, None);
        }
        for p in pods {
            self.apply_pod(p);
        }
    }

    /// Replaces all Namespaces with `namespaces` (a relist).
    pub fn replace_namespaces(&mut self, namespaces: &[Namespace]) {
        self.state.namespace_objects = namespaces
            .iter()
            .filter_map(|n| n.metadata.name.as_deref().map(lower))
            .collect();
        self.state.rebuild_namespaces();
    }

    /// Marks the initial list of `kind` as received.
    pub fn mark_synced(&mut self, kind: Kind) {
        let i = match kind {
            Kind::Service => 0,
            Kind::EndpointSlice => 1,
            Kind::Pod => 2,
        };
        self.state.synced[i] = true;
        self.state.snap.synced = self.state.synced.iter().all(|s| *s);
    }

    /// Marks every kind as synced.
    pub fn set_synced_all(&mut self) {
        self.state.synced = [true; 3];
        self.state.snap.synced = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::tests::{headless, slice, svc};

    #[test]
    fn dashed() {
        assert_eq!(dashed_ip(&"172.0.0.2".parse().unwrap()), "172-0-0-2");
        assert_eq!(dashed_ip(&"5678:abcd::1".parse().unwrap()), "5678-abcd--1");
        assert_eq!(dashed_ip(&"fd00::".parse().unwrap()), "fd00--0");
    }

    #[test]
    fn incremental_equals_rebuild() {
        let index = Index::new();
        let s1 = svc("a", "ns1", &["10.0.0.1"], &[("http", "TCP", 80)]);
        let h = headless("h", "ns1", &[("http", "TCP", 80)]);
        let sl = slice(
            "h-1",
            "ns1",
            "h",
            &[("10.1.0.1", None, Some(true))],
            &[("http", "TCP", 8080)],
        );
        index.apply_service(&s1);
        index.apply_slice(&sl);
        index.apply_service(&h);
        let snap = index.snapshot();
        let entry = snap.service("ns1", "h").expect("h");
        assert_eq!(entry.slices.len(), 1);
        assert_eq!(snap.reverse(&"10.1.0.1".parse().unwrap()).len(), 1);
        assert!(snap.namespace_exists("ns1"));
        index.remove_slice(&sl);
        let snap = index.snapshot();
        assert!(snap.service("ns1", "h").expect("h").slices.is_empty());
        assert!(snap.reverse(&"10.1.0.1".parse().unwrap()).is_empty());
        index.remove_service(&h);
        index.remove_service(&s1);
        let snap = index.snapshot();
        assert!(!snap.namespace_exists("ns1"));
        assert_eq!(snap.service_count(), 0);
        assert!(snap.reverse(&"10.0.0.1".parse().unwrap()).is_empty());
    }
}
