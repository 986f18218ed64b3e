//! Pure rendering of a [`ServiceMap`] into `nft -f` scripts for `table ip tether`.
//!
//! The layout is kube-proxy's (`pkg/proxy/nftables/proxier.go`): base chains per hook,
//! dispatch through the verdict maps `service-ips` and `service-nodeports`, one chain per
//! Service port and policy (`service-*`, `local-*`, `external-*`, `firewall-*`), one chain
//! per endpoint (`endpoint-*`) chosen by a `numgen random` cascade (upstream's
//! `numgen random mod N vmap` above [`CASCADE_MAX_ENDPOINTS`]), ClientIP affinity in
//! per-endpoint sets with a timeout, `no-endpoint-services` / `no-endpoint-nodeports`
//! rejecting in the filter hooks, `firewall-ips` for `loadBalancerSourceRanges`, the
//! `cluster-ips` set for rejecting unknown ports of ClusterIPs, and masquerading through a
//! packet mark.
//!
//! **Fast path** (tether's own, [`Config::fast_path`]): a plain ClusterIP port (no session
//! affinity, Cluster internal policy, no NodePort/external/LoadBalancer address, 1 to
//! [`FAST_MAX_ENDPOINTS`] endpoints) gets no chain at all. Its endpoints are elements of the
//! map `fast-endpoints-<n>` (n = its endpoint count) keyed `vip . proto . port . i`, and one
//! fixed rule per n picks one with `dnat ip to ip daddr . meta l4proto . th dport . numgen
//! random mod n map @fast-endpoints-<n>` (a miss falls through to the next n). A verdict
//! element per port (`service-ips` → `goto fast-<n>`, one lookup instead of up to 16) was
//! tried and reverted: every added jump/goto element makes the kernel re-validate the
//! table's chains through every element of the map at commit, so adding one Service took
//! 26.5 ms instead of ~2 ms at 50k Services (`bench/nft-cost.sh`). Hairpin
//! masquerading is one rule on the `fast-hairpin` set of `ip . ip` pairs (source equals the
//! DNATed destination; pairs only for endpoints on this node, the only pods whose own
//! connections this node DNATs), and off-cluster sources are marked for masquerading by one rule.
//! Every `nft` transaction reads all chains of the table first (nftables 1.0.6), so with
//! kube-proxy's layout one change costs O(chains): ~0.5 s at 10k Services × 5 endpoints
//! (60k chains) and ~17 s at 50k. With the fast path a change is a few element updates in
//! a table of a few dozen chains.
//!
//! Only IPv4 is rendered (`table ip`); IPv6 addresses in the map are ignored.
//!
//! [`full`] renders everything and replaces the table in one transaction (`add table` +
//! `delete table` + definition: no other table is ever touched). [`incremental`] turns a
//! list of [`Update`]s into element adds/deletes and per-port chain rebuilds, so a change
//! costs work proportional to the changed ports, and keeps the [`Rendered`] bookkeeping
//! that the next incremental render diffs against.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use tether_servicemap::{Endpoint, ServiceInfo, ServiceMap, ServicePort, ServicePortName, Update};

use crate::Config;

// Chain, set and map names, as upstream.
const SERVICES: &str = "services";
const SERVICE_IPS: &str = "service-ips";
const SERVICE_NODEPORTS: &str = "service-nodeports";
const NODEPORT_IPS: &str = "nodeport-ips";
const CLUSTER_IPS: &str = "cluster-ips";
const SERVICE_ENDPOINTS_CHECK: &str = "service-endpoints-check";
const NODEPORT_ENDPOINTS_CHECK: &str = "nodeport-endpoints-check";
const NO_ENDPOINT_SERVICES: &str = "no-endpoint-services";
const NO_ENDPOINT_NODEPORTS: &str = "no-endpoint-nodeports";
const REJECT_CHAIN: &str = "reject-chain";
const FIREWALL_IPS: &str = "firewall-ips";
const FIREWALL_CHECK: &str = "firewall-check";
const CLUSTER_IPS_CHECK: &str = "cluster-ips-check";
const MARK_MASQ: &str = "mark-for-masquerade";
const MASQUERADING: &str = "masquerading";
const FAST_DISPATCH: &str = "fast-dispatch";
const FAST_MARK: &str = "fast-mark";
const FAST_HAIRPIN: &str = "fast-hairpin";

/// Most endpoints a fast-path port may have (one `fast-endpoints-<n>` map per count).
pub const FAST_MAX_ENDPOINTS: usize = 16;

/// `fast-endpoints-1` … `fast-endpoints-16`.
pub(crate) const FAST_MAPS: [&str; FAST_MAX_ENDPOINTS] = [
    "fast-endpoints-1",
    "fast-endpoints-2",
    "fast-endpoints-3",
    "fast-endpoints-4",
    "fast-endpoints-5",
    "fast-endpoints-6",
    "fast-endpoints-7",
    "fast-endpoints-8",
    "fast-endpoints-9",
    "fast-endpoints-10",
    "fast-endpoints-11",
    "fast-endpoints-12",
    "fast-endpoints-13",
    "fast-endpoints-14",
    "fast-endpoints-15",
    "fast-endpoints-16",
];

/// Up to this many endpoints a port picks one with a cascade of `numgen random mod k 0 goto`
/// rules (iptables mode's `statistic` cascade); above it with upstream's one
/// `numgen random mod n vmap { … }` rule. The vmap is an anonymous set, and the kernel scans
/// every set of the table to name and bind each new one (`__map%d`), so a full load of N
/// such rules costs O(N²): 41.5 s at 10k Services × 5 endpoints against 4.9 s with the
/// cascade (nft 1.0.6), and every `nft` run dumps the sets too. The cascade costs at most
/// this many rule evaluations per new connection (only the first packet meets the nat hook).
pub const CASCADE_MAX_ENDPOINTS: usize = 16;

/// Elements per `add element` statement in a full render.
pub(crate) const ELEMENTS_PER_STATEMENT: usize = 1000;

/// nftables' name limit is 256 bytes (`NFT_NAME_MAXLEN`); upstream keeps 16 for prefixes.
const NAME_BASE_MAX: usize = 240;

/// One element of a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Element {
    /// The map (`service-ips`, `service-nodeports`, `no-endpoint-services`,
    /// `fast-endpoints-3`, …).
    pub map: &'static str,
    /// The key in nft syntax, e.g. `10.96.0.50 . tcp . 80`.
    pub key: String,
    /// The value: a verdict such as `goto service-…` or `drop`, or (fast path) an
    /// `ip . port` DNAT target.
    pub value: String,
}

/// Everything one Service port contributes to the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortRules {
    /// Regular chains owned by the port, name → rules in order.
    pub chains: BTreeMap<String, Vec<String>>,
    /// Affinity sets owned by the port, name → timeout in seconds.
    pub sets: BTreeMap<String, u32>,
    /// Map elements the port wants.
    pub elements: BTreeSet<Element>,
    /// The port's IPv4 ClusterIP, for the shared `cluster-ips` set.
    pub cluster_ip: Option<Ipv4Addr>,
    /// Fast path: its endpoints' addresses, for the shared `fast-hairpin` set.
    pub hairpin: BTreeSet<Ipv4Addr>,
}

/// What is in the kernel after a successful [`full`] or [`incremental`] render was
/// applied: the per-port objects, which port owns each map key, and ClusterIP reference
/// counts for the shared `cluster-ips` set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    ports: BTreeMap<ServicePortName, PortRules>,
    /// (A hash map with a fast hasher: with 300k elements at 50k Services, a B-tree's string
    /// comparisons were a quarter of a full render, SipHash a tenth.)
    owners: HashMap<(&'static str, String), ServicePortName, foldhash::fast::RandomState>,
    /// Keys wanted by more than one port (the first in name order wins, like a full
    /// render); touching one forces a full render.
    contested: BTreeSet<(&'static str, String)>,
    cluster_ip_refs: RefCounts,
    hairpin_refs: RefCounts,
}

/// How many rendered ports want each address in a shared set (`cluster-ips`,
/// `fast-hairpin`): the element exists while the count is above zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RefCounts(BTreeMap<Ipv4Addr, usize>);

impl RefCounts {
    fn add(&mut self, ip: Ipv4Addr) {
        *self.0.entry(ip).or_default() += 1;
    }

    fn remove(&mut self, ip: Ipv4Addr) {
        if let Some(n) = self.0.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&ip);
            }
        }
    }

    /// The addresses whose element appears (0 → n) and disappears (n → 0) when `delta`
    /// is applied.
    fn edges(&self, delta: &BTreeMap<Ipv4Addr, isize>) -> (Vec<Ipv4Addr>, Vec<Ipv4Addr>) {
        let (mut appear, mut vanish) = (Vec::new(), Vec::new());
        for (ip, d) in delta {
            let before = self.0.get(ip).copied().unwrap_or(0);
            let after = before.saturating_add_signed(*d);
            if before == 0 && after > 0 {
                appear.push(*ip);
            } else if before > 0 && after == 0 {
                vanish.push(*ip);
            }
        }
        (appear, vanish)
    }
}

impl Rendered {
    /// The rendered objects of one Service port.
    pub fn port(&self, name: &ServicePortName) -> Option<&PortRules> {
        self.ports.get(name)
    }

    /// Number of Service ports rendered.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether no Service port is rendered.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    fn insert_port(&mut self, name: &ServicePortName, rules: PortRules) {
        self.insert_port_with(name, rules, |_| {});
    }

    /// [`insert_port`](Self::insert_port), showing `won` every element whose key the port
    /// takes (not those another port already holds).
    fn insert_port_with(
        &mut self,
        name: &ServicePortName,
        rules: PortRules,
        mut won: impl FnMut(&Element),
    ) {
        for e in &rules.elements {
            // One search per element (the entry), not a lookup and then an insert.
            match self.owners.entry((e.map, e.key.clone())) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    if o.get() != name {
                        tracing::warn!(
                            service = %name, owner = %o.get(), map = e.map, key = %e.key,
                            "two service ports claim the same address and port; the first wins"
                        );
                        self.contested.insert(o.key().clone());
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(name.clone());
                    won(e);
                }
            }
        }
        if let Some(ip) = rules.cluster_ip {
            self.cluster_ip_refs.add(ip);
        }
        for ip in &rules.hairpin {
            self.hairpin_refs.add(*ip);
        }
        self.ports.insert(name.clone(), rules);
    }
}

/// Why an incremental render could not be made; the caller does a full one instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incremental render impossible: {0}")]
pub struct NeedsFull(pub String);

/// A short hash like upstream's `hashAndTruncate` prefix (there: SHA-256 → base32, 8
/// chars): 40 bits of FNV-1a in base32, enough to keep truncated names unique and to
/// tell near-identical names apart.
fn hash8(s: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..8)
        .map(|i| char::from(ALPHABET[((h >> (i * 5)) & 31) as usize]))
        .collect()
}

/// Keeps only characters nft accepts in an unquoted identifier (`[A-Za-z0-9_./-]`);
/// API validation already guarantees this for real names, this guards the script.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn hash_and_truncate(raw: &str, readable: String) -> String {
    let mut name = format!("{}-{readable}", hash8(raw));
    if name.len() > NAME_BASE_MAX {
        name.truncate(NAME_BASE_MAX - 3);
        name.push_str("...");
    }
    name
}

/// `HASH-namespace/name/protocol/port` (upstream `servicePortChainNameBase`).
pub fn port_chain_base(name: &ServicePortName) -> String {
    let raw = format!(
        "{}/{}/{}/{}",
        name.namespace, name.name, name.protocol, name.port_name
    );
    let readable = format!(
        "{}/{}/{}/{}",
        sanitize(&name.namespace),
        sanitize(&name.name),
        name.protocol,
        sanitize(&name.port_name)
    );
    hash_and_truncate(&raw, readable)
}

/// `HASH-namespace/name/protocol/port__ip/port` (upstream
/// `servicePortEndpointChainNameBase`).
pub fn endpoint_chain_base(name: &ServicePortName, ip: Ipv4Addr, port: u16) -> String {
    let raw = format!(
        "{}/{}/{}/{}__{ip}/{port}",
        name.namespace, name.name, name.protocol, name.port_name
    );
    let readable = format!(
        "{}/{}/{}/{}__{ip}/{port}",
        sanitize(&name.namespace),
        sanitize(&name.name),
        name.protocol,
        sanitize(&name.port_name)
    );
    hash_and_truncate(&raw, readable)
}

pub(crate) fn v4(ip: &IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v) => Some(*v),
        IpAddr::V6(_) => None,
    }
}

fn v4_net(net: &IpNet) -> Option<Ipv4Net> {
    match net {
        IpNet::V4(v) => Some(*v),
        IpNet::V6(_) => None,
    }
}

/// The endpoints a port uses, as upstream `CategorizeEndpoints` (without topology hints):
/// ready endpoints, or serving-and-terminating ones when none is ready.
#[derive(Debug, Default)]
pub(crate) struct Categorized<'a> {
    pub(crate) cluster: Vec<&'a Endpoint>,
    local: Vec<&'a Endpoint>,
    all_reachable: Vec<&'a Endpoint>,
    has_any: bool,
}

pub(crate) fn categorize<'a>(info: &ServiceInfo, eps: &'a [Endpoint]) -> Categorized<'a> {
    let eps: Vec<&Endpoint> = eps.iter().filter(|e| e.ip.is_ipv4()).collect();
    let mut c = Categorized::default();
    if info.uses_cluster_endpoints() {
        c.cluster = eps.iter().copied().filter(|e| e.ready).collect();
        if c.cluster.is_empty() {
            c.cluster = eps
                .iter()
                .copied()
                .filter(|e| e.serving && e.terminating)
                .collect();
        }
        c.has_any = !c.cluster.is_empty();
    }
    if !info.uses_local_endpoints() {
        c.all_reachable = c.cluster.clone();
        return c;
    }
    let (mut local_ready, mut local_serving_terminating) = (false, false);
    for e in &eps {
        if e.ready {
            c.has_any = true;
            local_ready |= e.is_local;
        } else if e.serving && e.terminating {
            c.has_any = true;
            local_serving_terminating |= e.is_local;
        }
    }
    if local_ready {
        c.local = eps
            .iter()
            .copied()
            .filter(|e| e.ready && e.is_local)
            .collect();
    } else if local_serving_terminating {
        c.local = eps
            .iter()
            .copied()
            .filter(|e| e.serving && e.terminating && e.is_local)
            .collect();
    }
    if !info.uses_cluster_endpoints() {
        c.all_reachable = c.local.clone();
        return c;
    }
    let mut all = c.cluster.clone();
    for e in &c.local {
        if !all.iter().any(|a| a.ip == e.ip && a.port == e.port) {
            all.push(e);
        }
    }
    c.all_reachable = all;
    c
}

/// Renders one Service port's chains, affinity sets and map elements. Pure.
pub fn render_port(cfg: &Config, name: &ServicePortName, sp: &ServicePort) -> PortRules {
    let info = &sp.info;
    let mut out = PortRules::default();
    let Some(cluster_ip) = info.cluster_ips.iter().find_map(v4) else {
        return out;
    };
    out.cluster_ip = Some(cluster_ip);
    let proto = info.protocol.as_str();
    let port = info.port;
    let external_ips: Vec<Ipv4Addr> = info.external_ips.iter().filter_map(v4).collect();
    let lb_ips: Vec<Ipv4Addr> = info.load_balancer_ips.iter().filter_map(v4).collect();
    let externally_accessible =
        info.node_port.is_some() || !external_ips.is_empty() || !lb_ips.is_empty();

    let cat = categorize(info, &sp.endpoints);
    let ep_base = |e: &Endpoint| match e.ip {
        IpAddr::V4(ip) => endpoint_chain_base(name, ip, e.port),
        IpAddr::V6(_) => String::new(), // filtered out by categorize
    };
    let affinity = info.session_affinity_timeout;

    let uses_cluster_chain = !cat.cluster.is_empty() && info.uses_cluster_endpoints();
    let uses_local_chain = !cat.local.is_empty() && info.uses_local_endpoints();
    let has_endpoints = cat.has_any;
    let has_internal = if info.internal_policy_local() {
        has_endpoints && !cat.local.is_empty()
    } else {
        has_endpoints
    };
    let etp_local = info.external_policy_local();
    let has_external = if etp_local {
        has_endpoints && !cat.local.is_empty()
    } else {
        has_endpoints
    };
    let uses_ext_chain = has_endpoints && externally_accessible;
    let key = |ip: Ipv4Addr| format!("{ip} . {proto} . {port}");
    let fast = cfg.fast_path
        && affinity.is_none()
        && !externally_accessible
        && !info.internal_policy_local()
        && uses_cluster_chain
        && cat.cluster.len() <= FAST_MAX_ENDPOINTS;
    if fast {
        let map = FAST_MAPS[cat.cluster.len() - 1];
        // `categorize` keeps IPv4 endpoints only, so the indices have no holes.
        let eps = cat
            .cluster
            .iter()
            .filter_map(|e| Some((v4(&e.ip)?, e.port, e)));
        let prefix = key(cluster_ip);
        for (i, (ip, port, e)) in eps.enumerate() {
            let mut k = String::with_capacity(prefix.len() + 6);
            let _ = write!(k, "{prefix} . {i}");
            let mut value = String::with_capacity(24);
            push_ipv4(&mut value, ip);
            let _ = write!(value, " . {port}");
            out.elements.insert(Element { map, key: k, value });
            // Only a pod on this node can reach itself through this node's DNAT, so only
            // local endpoints (and those whose node is unknown) need the hairpin pair.
            if e.is_local || e.node_name.is_none() {
                out.hairpin.insert(ip);
            }
        }
        return out;
    }
    // Chain names only for ports that get chains (hashing a name is most of a fast
    // port's render).
    let base = port_chain_base(name);
    let cluster_chain = format!("service-{base}");
    let local_chain = format!("local-{base}");
    let ext_chain = format!("external-{base}");
    let fw_chain = format!("firewall-{base}");
    let (internal_chain, external_policy_chain) = (
        if info.internal_policy_local() {
            &local_chain
        } else {
            &cluster_chain
        },
        if etp_local {
            &local_chain
        } else {
            &cluster_chain
        },
    );
    let reject = format!("goto {REJECT_CHAIN}");
    let (internal_verdict, external_verdict) = if has_endpoints {
        ("drop".to_owned(), "drop".to_owned())
    } else {
        (reject.clone(), reject)
    };
    let mut elem = |map: &'static str, key: String, value: String| {
        out.elements.insert(Element { map, key, value });
    };

    // ClusterIP.
    if has_internal {
        elem(
            SERVICE_IPS,
            key(cluster_ip),
            format!("goto {internal_chain}"),
        );
    } else {
        elem(NO_ENDPOINT_SERVICES, key(cluster_ip), internal_verdict);
    }
    // externalIPs.
    for ip in &external_ips {
        if has_endpoints {
            elem(SERVICE_IPS, key(*ip), format!("goto {ext_chain}"));
        }
        if !has_external {
            elem(NO_ENDPOINT_SERVICES, key(*ip), external_verdict.clone());
        }
    }
    // LoadBalancer ingress, with loadBalancerSourceRanges.
    let ranges: Vec<Ipv4Net> = info
        .load_balancer_source_ranges
        .iter()
        .filter_map(v4_net)
        .collect();
    let uses_fw = !lb_ips.is_empty() && !ranges.is_empty();
    if uses_fw {
        let mut sources: Vec<String> = ranges.iter().map(ToString::to_string).collect();
        // A request from the node to a VIP that is also a local address loops back with the
        // VIP as source: allow it when the node itself is allowed (as upstream).
        if cfg
            .node_ips
            .iter()
            .any(|n| ranges.iter().any(|r| r.contains(n)))
        {
            sources.extend(lb_ips.iter().map(ToString::to_string));
        }
        out.chains.insert(
            fw_chain.clone(),
            vec![format!("ip saddr != {{ {} }} drop", sources.join(", "))],
        );
    }
    for ip in &lb_ips {
        if has_endpoints {
            elem(SERVICE_IPS, key(*ip), format!("goto {ext_chain}"));
        }
        if uses_fw {
            elem(FIREWALL_IPS, key(*ip), format!("goto {fw_chain}"));
        }
        if !has_external {
            elem(NO_ENDPOINT_SERVICES, key(*ip), external_verdict.clone());
        }
    }
    // NodePort. Not subject to loadBalancerSourceRanges (as upstream).
    if let Some(np) = info.node_port {
        if has_endpoints {
            elem(
                SERVICE_NODEPORTS,
                format!("{proto} . {np}"),
                format!("goto {ext_chain}"),
            );
        }
        if !has_external {
            elem(
                NO_ENDPOINT_NODEPORTS,
                format!("{proto} . {np}"),
                external_verdict,
            );
        }
    }

    let mut cluster_rules = Vec::new();
    let mut local_rules = Vec::new();
    // Masquerade ClusterIP traffic from outside the cluster CIDR (it may be routed to us
    // from off-cluster and bounce to another node), or everything with masquerade_all.
    if has_internal {
        let rule = if cfg.masquerade_all {
            Some(format!(
                "ip daddr {cluster_ip} {proto} dport {port} jump {MARK_MASQ}"
            ))
        } else {
            cfg.cluster_cidr.map(|cidr| {
                format!(
                    "ip daddr {cluster_ip} {proto} dport {port} ip saddr != {cidr} jump {MARK_MASQ}"
                )
            })
        };
        if let Some(rule) = rule {
            if info.internal_policy_local() {
                local_rules.push(rule);
            } else {
                cluster_rules.push(rule);
            }
        }
    }
    if uses_ext_chain {
        let mut rules = Vec::new();
        if !etp_local {
            // Endpoints may be on other nodes: masquerade so replies come back through us.
            rules.push(format!("jump {MARK_MASQ}"));
        } else {
            if let Some(cidr) = cfg.cluster_cidr {
                // Pod traffic to an external address acts as if it went out to the load
                // balancer and came back: Cluster policy, no SNAT.
                rules.push(format!("ip saddr {cidr} goto {cluster_chain}"));
            }
            // Host-originated traffic has a local source (possibly the VIP itself).
            rules.push(format!("fib saddr type local jump {MARK_MASQ}"));
            rules.push(format!("fib saddr type local goto {cluster_chain}"));
        }
        if has_external {
            rules.push(format!("goto {external_policy_chain}"));
        }
        out.chains.insert(ext_chain, rules);
    }
    if let Some(timeout) = affinity {
        for e in &cat.all_reachable {
            out.sets.insert(format!("affinity-{}", ep_base(e)), timeout);
        }
    }
    let dispatch = |rules: &mut Vec<String>, eps: &[&Endpoint]| {
        if affinity.is_some() {
            for e in eps {
                let b = ep_base(e);
                rules.push(format!("ip saddr @affinity-{b} goto endpoint-{b}"));
            }
        }
        if eps.len() <= CASCADE_MAX_ENDPOINTS {
            // Endpoint i of n is taken with probability 1/(n-i) once 0..i were passed over:
            // uniform, and no anonymous set (see CASCADE_MAX_ENDPOINTS).
            for (i, e) in eps.iter().enumerate() {
                let left = eps.len() - i;
                let b = ep_base(e);
                if left == 1 {
                    rules.push(format!("goto endpoint-{b}"));
                } else {
                    rules.push(format!("numgen random mod {left} 0 goto endpoint-{b}"));
                }
            }
        } else {
            let targets: Vec<String> = eps
                .iter()
                .enumerate()
                .map(|(i, e)| format!("{i} : goto endpoint-{}", ep_base(e)))
                .collect();
            rules.push(format!(
                "numgen random mod {} vmap {{ {} }}",
                eps.len(),
                targets.join(", ")
            ));
        }
    };
    if uses_cluster_chain {
        dispatch(&mut cluster_rules, &cat.cluster);
        out.chains.insert(cluster_chain.clone(), cluster_rules);
    }
    if uses_local_chain {
        dispatch(&mut local_rules, &cat.local);
        out.chains.insert(local_chain.clone(), local_rules);
    }
    for e in &cat.all_reachable {
        let b = ep_base(e);
        let mut rules = vec![format!("ip saddr {} jump {MARK_MASQ}", e.ip)];
        if affinity.is_some() {
            rules.push(format!("update @affinity-{b} {{ ip saddr }}"));
        }
        rules.push(format!("meta l4proto {proto} dnat to {}:{}", e.ip, e.port));
        out.chains.insert(format!("endpoint-{b}"), rules);
    }
    out
}

/// Appends `ip` in dotted-quad form (what `Display` writes, without its padding
/// machinery: a fast-path element's address is written once per endpoint at every full
/// render).
fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
}

/// The fixed part: table, base chains, top-level chains, sets and maps, and their rules.
fn render_base(cfg: &Config, s: &mut String, sizes: &BTreeMap<&str, usize>) {
    let t = format!("ip {}", cfg.table);
    let _ = writeln!(s, "add table {t} {{ comment \"rules for tether\" ; }}");
    // Filter chains run on pre-DNAT addresses, so they sit just before DNAT (-100).
    let base_chains = [
        ("filter-prerouting", "filter", "prerouting", "-110"),
        ("filter-input", "filter", "input", "-110"),
        ("filter-forward", "filter", "forward", "-110"),
        ("filter-output", "filter", "output", "-110"),
        ("filter-output-post-dnat", "filter", "output", "-90"),
        ("nat-prerouting", "nat", "prerouting", "-100"),
        ("nat-output", "nat", "output", "-100"),
        ("nat-postrouting", "nat", "postrouting", "100"),
    ];
    for (name, ty, hook, prio) in base_chains {
        let _ = writeln!(
            s,
            "add chain {t} {name} {{ type {ty} hook {hook} priority {prio} ; policy accept ; }}"
        );
    }
    for name in [
        SERVICES,
        MASQUERADING,
        MARK_MASQ,
        REJECT_CHAIN,
        SERVICE_ENDPOINTS_CHECK,
        NODEPORT_ENDPOINTS_CHECK,
        FIREWALL_CHECK,
        CLUSTER_IPS_CHECK,
    ] {
        let _ = writeln!(s, "add chain {t} {name}");
    }
    let _ = writeln!(
        s,
        "add set {t} {CLUSTER_IPS} {{ type ipv4_addr ;{} comment \"Active ClusterIPs\" ; }}",
        size_hint(sizes, CLUSTER_IPS)
    );
    let _ = writeln!(
        s,
        "add set {t} {NODEPORT_IPS} {{ type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }}"
    );
    for (map, ty) in [
        (SERVICE_IPS, "ipv4_addr . inet_proto . inet_service"),
        (SERVICE_NODEPORTS, "inet_proto . inet_service"),
        (
            NO_ENDPOINT_SERVICES,
            "ipv4_addr . inet_proto . inet_service",
        ),
        (NO_ENDPOINT_NODEPORTS, "inet_proto . inet_service"),
        (FIREWALL_IPS, "ipv4_addr . inet_proto . inet_service"),
    ] {
        let _ = writeln!(s, "add map {t} {map} {{ type {ty} : verdict ; }}");
    }
    let mark = format!("{:#010x}", 1u32 << cfg.masquerade_bit.min(31));
    let nodeport_match = if cfg.node_ips.is_empty() {
        if cfg.localhost_nodeports {
            "fib daddr type local".to_owned()
        } else {
            "fib daddr type local ip daddr != 127.0.0.0/8".to_owned()
        }
    } else {
        format!("ip daddr @{NODEPORT_IPS}")
    };
    let rules: Vec<(&str, String)> = vec![
        (
            "filter-prerouting",
            format!("ct state new jump {FIREWALL_CHECK}"),
        ),
        (
            "filter-input",
            format!("ct state new jump {NODEPORT_ENDPOINTS_CHECK}"),
        ),
        (
            "filter-input",
            format!("ct state new jump {SERVICE_ENDPOINTS_CHECK}"),
        ),
        (
            "filter-forward",
            format!("ct state new jump {SERVICE_ENDPOINTS_CHECK}"),
        ),
        (
            "filter-forward",
            format!("ct state new jump {CLUSTER_IPS_CHECK}"),
        ),
        (
            "filter-output",
            format!("ct state new jump {SERVICE_ENDPOINTS_CHECK}"),
        ),
        (
            "filter-output",
            format!("ct state new jump {FIREWALL_CHECK}"),
        ),
        (
            "filter-output-post-dnat",
            format!("ct state new jump {CLUSTER_IPS_CHECK}"),
        ),
        ("nat-prerouting", format!("jump {SERVICES}")),
        ("nat-output", format!("jump {SERVICES}")),
        ("nat-postrouting", format!("jump {MASQUERADING}")),
        (
            SERVICES,
            format!("ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}"),
        ),
        (
            SERVICES,
            format!("{nodeport_match} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"),
        ),
        (
            SERVICE_ENDPOINTS_CHECK,
            format!("ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}"),
        ),
        (
            NODEPORT_ENDPOINTS_CHECK,
            format!("{nodeport_match} meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}"),
        ),
        (
            FIREWALL_CHECK,
            format!("ip daddr . meta l4proto . th dport vmap @{FIREWALL_IPS}"),
        ),
        (MARK_MASQ, format!("meta mark set meta mark | {mark}")),
        (MASQUERADING, format!("meta mark & {mark} == 0 return")),
        (MASQUERADING, format!("meta mark set meta mark ^ {mark}")),
        (
            MASQUERADING,
            if cfg.masquerade_fully_random {
                "masquerade fully-random".to_owned()
            } else {
                "masquerade".to_owned()
            },
        ),
        (
            REJECT_CHAIN,
            "meta l4proto tcp reject with tcp reset".to_owned(),
        ),
        (REJECT_CHAIN, "reject".to_owned()),
        (CLUSTER_IPS_CHECK, format!("ip daddr @{CLUSTER_IPS} reject")),
    ];
    let mut rules = rules;
    if cfg.fast_path {
        render_fast_objects(cfg, s, sizes);
        // The fast path's two entry rules, in place: its jump right after the service-ips
        // vmap (ahead of the NodePort match, whose `fib` lookup a ClusterIP connection
        // should not pay), its hairpin mark ahead of `jump masquerading`.
        let after_vmap = rules
            .iter()
            .position(|(c, r)| *c == SERVICES && r.ends_with(&format!("vmap @{SERVICE_IPS}")))
            .map_or(rules.len(), |i| i + 1);
        rules.insert(
            after_vmap,
            (
                SERVICES,
                format!("ip daddr @{CLUSTER_IPS} jump {FAST_DISPATCH}"),
            ),
        );
        let before_masq = rules
            .iter()
            .position(|(c, _)| *c == "nat-postrouting")
            .unwrap_or(rules.len());
        rules.insert(
            before_masq,
            (
                "nat-postrouting",
                format!("ct status dnat ip saddr . ip daddr @{FAST_HAIRPIN} jump {MARK_MASQ}"),
            ),
        );
    }
    for (chain, rule) in rules {
        let _ = writeln!(s, "add rule {t} {chain} {rule}");
    }
    if cfg.fast_path {
        render_fast_dispatch(cfg, s);
    }
    if let Some(cidr) = cfg.service_cidr {
        let _ = writeln!(s, "add rule {t} {CLUSTER_IPS_CHECK} ip daddr {cidr} drop");
    }
    let mut node_ips: Vec<Ipv4Addr> = cfg.node_ips.clone();
    if cfg.localhost_nodeports && !node_ips.is_empty() {
        node_ips.push(Ipv4Addr::LOCALHOST);
    }
    node_ips.sort();
    node_ips.dedup();
    if !node_ips.is_empty() {
        let list: Vec<String> = node_ips.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            s,
            "add element {t} {NODEPORT_IPS} {{ {} }}",
            list.join(", ")
        );
    }
}

/// The fast path's objects: the `fast-endpoints-<n>` maps, the `fast-hairpin` set and the
/// `fast-dispatch` chain (entered for ClusterIP destinations after the `service-ips` vmap
/// missed; the entry rules are placed among the base rules).
fn render_fast_objects(cfg: &Config, s: &mut String, sizes: &BTreeMap<&str, usize>) {
    let t = format!("ip {}", cfg.table);
    let _ = writeln!(s, "add chain {t} {FAST_DISPATCH}");
    let _ = writeln!(s, "add chain {t} {FAST_MARK}");
    let _ = writeln!(
        s,
        "add set {t} {FAST_HAIRPIN} {{ type ipv4_addr . ipv4_addr ;{} comment \"fast-path endpoints, for hairpin masquerading\" ; }}",
        size_hint(sizes, FAST_HAIRPIN)
    );
    for (i, map) in FAST_MAPS.iter().enumerate() {
        let _ = writeln!(
            s,
            "add map {t} {map} {{ typeof ip daddr . meta l4proto . th dport . numgen random mod {} : ip daddr . th dport ;{} }}",
            i + 1,
            size_hint(sizes, map)
        );
    }
}

/// The `fast-dispatch` chain's rules, and `fast-mark`'s.
///
/// `fast-dispatch` is the same for every configuration: nftables 1.0.6 cannot add a rule
/// that refers to a `typeof … th dport` map it did not create in the same transaction
/// ("conflicting protocols specified: tcp vs. th"), so a live table keeps this chain as it
/// is ([`live_script`]). What depends on the configuration (which sources are masqueraded)
/// sits in `fast-mark`, which is rebuilt like every other chain.
fn render_fast_dispatch(cfg: &Config, s: &mut String) {
    let t = format!("ip {}", cfg.table);
    // Off-cluster sources are marked first (as a service chain does; a packet that then
    // matches no map is not DNATed and the filter checks reject it), then one lookup per
    // endpoint count: a port is in exactly one map, so at most one matches.
    let _ = writeln!(s, "add rule {t} {FAST_DISPATCH} jump {FAST_MARK}");
    if cfg.masquerade_all {
        let _ = writeln!(s, "add rule {t} {FAST_MARK} jump {MARK_MASQ}");
    } else if let Some(cidr) = cfg.cluster_cidr {
        let _ = writeln!(
            s,
            "add rule {t} {FAST_MARK} ip saddr != {cidr} jump {MARK_MASQ}"
        );
    }
    for (i, map) in FAST_MAPS.iter().enumerate() {
        let _ = writeln!(
            s,
            "add rule {t} {FAST_DISPATCH} meta l4proto {{ tcp, udp, sctp }} dnat ip to ip daddr . meta l4proto . th dport . numgen random mod {} map @{map}",
            i + 1
        );
    }
}

/// Sets and maps holding at least this many elements at a full render are declared with a
/// `size`.
const SIZE_HINT_FROM: usize = 16 * 1024;

/// ` size N ;` for a set or map holding `sizes[name]` ≥ [`SIZE_HINT_FROM`] elements, else
/// nothing. The kernel sizes its hash table from it up front instead of growing it while
/// a load inserts (half the kernel time of a 250k-element load: 0.63–0.75 s against
/// 1.23–1.31 s system time by hand). It is also the most the set may hold: N is 4× the
/// count rounded up to a power of two; an add beyond it fails, and the full sync that
/// follows declares a bigger N.
fn size_hint(sizes: &BTreeMap<&str, usize>, name: &str) -> String {
    match sizes.get(name) {
        Some(&n) if n >= SIZE_HINT_FROM => {
            format!(" size {} ;", n.saturating_mul(4).next_power_of_two())
        }
        _ => String::new(),
    }
}

fn add_set(s: &mut String, t: &str, name: &str, timeout: u32) {
    let _ = writeln!(
        s,
        "add set {t} {name} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {timeout}s ; }}"
    );
}

fn add_rules(s: &mut String, t: &str, chain: &str, rules: &[String]) {
    for r in rules {
        let _ = writeln!(s, "add rule {t} {chain} {r}");
    }
}

/// Renders the whole map: one script that replaces `table ip <cfg.table>` atomically
/// (`add table` + `delete table` make it work whether or not the table exists), and the
/// bookkeeping of what it contains. Pure.
pub fn full(cfg: &Config, map: &ServiceMap) -> (String, Rendered) {
    let (script, _, state) = full_inner(cfg, map, false);
    (script, state)
}

/// Elements of the maps [`crate::netlink`] writes, as `(map, key, value)` script text.
pub type BulkElements = Vec<(&'static str, String, String)>;

/// [`full`] with the elements of the maps that [`crate::netlink::fields_of`] knows left
/// out of the script and returned apart (to be written as one netlink batch after the
/// script). The script is the table's definition only: the caller puts `add table` +
/// `delete table` before it (a namespace without the table) or makes a [`live_script`] of
/// it (a live table, rebuilt in place).
pub fn full_split(cfg: &Config, map: &ServiceMap) -> (String, BulkElements, Rendered) {
    full_inner(cfg, map, true)
}

/// The chains and named sets/maps of a live table, as the kernel lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveObjects {
    /// Chain names, base chains included.
    pub chains: Vec<String>,
    /// Named sets and maps (anonymous ones left out), and whether each is a map.
    pub sets: Vec<(String, bool)>,
}

/// The chains and sets/maps `script` (a [`full_split`] definition for `table ip <table>`)
/// declares.
fn declared<'s>(script: &'s str, table: &str) -> (BTreeSet<&'s str>, BTreeSet<&'s str>) {
    let (mut chains, mut sets) = (BTreeSet::new(), BTreeSet::new());
    let t = format!(" ip {table} ");
    for line in script.lines() {
        let (kind, rest) = if let Some(r) = line.strip_prefix("add chain") {
            (&mut chains, r)
        } else if let Some(r) = line
            .strip_prefix("add set")
            .or_else(|| line.strip_prefix("add map"))
        {
            (&mut sets, r)
        } else {
            continue;
        };
        if let Some(name) = rest
            .strip_prefix(&t)
            .and_then(|r| r.split_whitespace().next())
        {
            kind.insert(name);
        }
    }
    (chains, sets)
}

/// The script that rebuilds the live table `ip <table>` (holding `live`) in place as
/// `definition` (a [`full_split`] one) defines it, in one transaction, instead of deleting
/// it: every chain and every set or map that is not written by netlink is flushed and
/// defined again, and those the definition no longer declares are deleted. The netlink maps
/// keep their elements (the old rules' data serves until the element batch flushes and
/// refills them in a transaction of its own): at no moment is a Service missing from the
/// kernel. Returns the script and the netlink-written sets and maps the element batch must
/// flush before refilling them. `None` when the live table's layout is too old for that
/// (no `fast-mark` chain next to `fast-dispatch`, which is kept as it is, see
/// [`render_fast_dispatch`]).
pub fn live_script<'d>(
    table: &str,
    live: &LiveObjects,
    definition: &'d str,
) -> Option<(String, Vec<&'d str>)> {
    let t = format!("ip {table}");
    let (chains, sets) = declared(definition, table);
    let has = |name: &str| live.chains.iter().any(|c| c == name);
    let keep_dispatch = chains.contains(FAST_DISPATCH) && has(FAST_DISPATCH);
    if keep_dispatch && !has(FAST_MARK) {
        return None;
    }
    let mut s = String::new();
    for chain in &live.chains {
        if !(keep_dispatch && chain == FAST_DISPATCH) {
            let _ = writeln!(s, "flush chain {t} {chain}");
        }
    }
    let kind = |is_map: bool| if is_map { "map" } else { "set" };
    for (set, is_map) in &live.sets {
        if crate::netlink::fields_of(set).is_none() {
            let _ = writeln!(s, "flush {} {t} {set}", kind(*is_map));
        }
    }
    // Chains only after every rule and verdict element that could jump to them is gone.
    for chain in live.chains.iter().filter(|c| !chains.contains(c.as_str())) {
        let _ = writeln!(s, "delete chain {t} {chain}");
    }
    for (set, is_map) in live.sets.iter().filter(|(n, _)| !sets.contains(n.as_str())) {
        let _ = writeln!(s, "delete {} {t} {set}", kind(*is_map));
    }
    let dispatch_rule = format!("add rule {t} {FAST_DISPATCH} ");
    for line in definition.lines() {
        if !(keep_dispatch && line.starts_with(&dispatch_rule)) {
            s.push_str(line);
            s.push('\n');
        }
    }
    let refill = sets
        .into_iter()
        .filter(|set| crate::netlink::fields_of(set).is_some())
        .collect();
    Some((s, refill))
}

fn full_inner(cfg: &Config, map: &ServiceMap, split: bool) -> (String, BulkElements, Rendered) {
    let mut bulk: BulkElements = Vec::new();
    let is_bulk = |m: &str| split && crate::netlink::fields_of(m).is_some();
    let t = format!("ip {}", cfg.table);
    let mut state = Rendered::default();
    // ~6 elements per port at 5 endpoints: no rehash of 300k entries on the way.
    state.owners.reserve(map.ports.len().saturating_mul(6));
    // The elements each map gets (a key wanted twice goes to the first port in name order).
    let mut won: BTreeMap<&'static str, Vec<(String, String)>> = BTreeMap::new();
    for (name, sp) in &map.ports {
        state.insert_port_with(name, render_port(cfg, name, sp), |e| {
            won.entry(e.map)
                .or_default()
                .push((e.key.clone(), e.value.clone()));
        });
    }
    let mut s = String::new();
    if !split {
        let _ = writeln!(s, "add table {t}");
        let _ = writeln!(s, "delete table {t}");
    }
    let mut sizes: BTreeMap<&str, usize> = won.iter().map(|(m, e)| (*m, e.len())).collect();
    sizes.insert(CLUSTER_IPS, state.cluster_ip_refs.0.len());
    sizes.insert(FAST_HAIRPIN, state.hairpin_refs.0.len());
    render_base(cfg, &mut s, &sizes);
    for rules in state.ports.values() {
        for chain in rules.chains.keys() {
            let _ = writeln!(s, "add chain {t} {chain}");
        }
        for (set, timeout) in &rules.sets {
            add_set(&mut s, &t, set, *timeout);
        }
    }
    for rules in state.ports.values() {
        for (chain, r) in &rules.chains {
            add_rules(&mut s, &t, chain, r);
        }
    }
    // Elements go in statements of up to ELEMENTS_PER_STATEMENT per map: nft parses and
    // evaluates one big statement much faster than as many one-element ones.
    for (map, elements) in won {
        if is_bulk(map) {
            bulk.extend(elements.into_iter().map(|(k, v)| (map, k, v)));
            continue;
        }
        for chunk in elements.chunks(ELEMENTS_PER_STATEMENT) {
            let _ = write!(s, "add element {t} {map} {{ ");
            for (i, (key, value)) in chunk.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(s, "{sep}{key} : {value}");
            }
            let _ = writeln!(s, " }}");
        }
    }
    if is_bulk(CLUSTER_IPS) {
        for ip in state.cluster_ip_refs.0.keys() {
            bulk.push((CLUSTER_IPS, ip.to_string(), String::new()));
        }
    } else if !state.cluster_ip_refs.0.is_empty() {
        let ips: Vec<String> = state
            .cluster_ip_refs
            .0
            .keys()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(s, "add element {t} {CLUSTER_IPS} {{ {} }}", ips.join(", "));
    }
    if is_bulk(FAST_HAIRPIN) {
        for ip in state.hairpin_refs.0.keys() {
            bulk.push((FAST_HAIRPIN, format!("{ip} . {ip}"), String::new()));
        }
    } else if !state.hairpin_refs.0.is_empty() {
        let pairs: Vec<String> = state
            .hairpin_refs
            .0
            .keys()
            .map(|ip| format!("{ip} . {ip}"))
            .collect();
        let _ = writeln!(
            s,
            "add element {t} {FAST_HAIRPIN} {{ {} }}",
            pairs.join(", ")
        );
    }
    (s, bulk, state)
}

/// Renders `updates` (from [`tether_servicemap::changes`]) against `state`, the
/// bookkeeping of what is in the kernel, and advances `state` to match. The script
/// deletes and adds only the changed ports' elements, rebuilds their chains (flush +
/// re-add) and adds/deletes their chains and affinity sets, all in one transaction.
///
/// On `Err` nothing was rendered and `state` is unchanged; do a [`full`] render. After
/// `Ok`, if applying the script fails, `state` no longer matches the kernel: do a full
/// render then too.
pub fn incremental(
    cfg: &Config,
    state: &mut Rendered,
    updates: &[Update],
) -> Result<String, NeedsFull> {
    let t = format!("ip {}", cfg.table);
    // Render first, then check that no map key ends up wanted by two ports: keys already
    // shared (contested) and keys taken from a port that is not being updated need the
    // first-wins rule of a full render. A key moving between two updated ports is fine:
    // all deletes precede all adds in the script.
    let updated: BTreeSet<&ServicePortName> = updates.iter().map(Update::name).collect();
    if updated.len() != updates.len() {
        return Err(NeedsFull("a port is updated twice".into()));
    }
    let planned: Vec<(&ServicePortName, Option<PortRules>)> = updates
        .iter()
        .map(|u| match u {
            Update::Upsert(name, sp) => (&**name, Some(render_port(cfg, name, sp))),
            Update::Remove(name) => (&**name, None),
        })
        .collect();
    let mut claimed = BTreeSet::new();
    for (name, new) in &planned {
        let old = state.ports.get(*name);
        for e in old.iter().flat_map(|p| &p.elements) {
            if state.contested.contains(&(e.map, e.key.clone())) {
                return Err(NeedsFull(format!("{} {} is contested", e.map, e.key)));
            }
        }
        for e in new.iter().flat_map(|p| &p.elements) {
            let k = (e.map, e.key.clone());
            if state.contested.contains(&k) {
                return Err(NeedsFull(format!("{} {} is contested", e.map, e.key)));
            }
            if let Some(owner) = state.owners.get(&k)
                && owner != *name
                && !updated.contains(owner)
            {
                return Err(NeedsFull(format!(
                    "{} {} is wanted by {name} and {owner}",
                    e.map, e.key
                )));
            }
            if !claimed.insert(k) {
                return Err(NeedsFull(format!("{} {} claimed twice", e.map, e.key)));
            }
        }
    }

    let empty = PortRules::default();
    let mut del_elements = String::new();
    let mut flush = String::new();
    let mut del_objects = String::new();
    let mut add_objects = String::new();
    let mut rules = String::new();
    let mut add_elements = String::new();
    let mut cluster_ip_delta: BTreeMap<Ipv4Addr, isize> = BTreeMap::new();
    let mut hairpin_delta: BTreeMap<Ipv4Addr, isize> = BTreeMap::new();

    for (name, new) in &planned {
        let old = state.ports.get(*name).unwrap_or(&empty);
        let new_ref = new.as_ref().unwrap_or(&empty);
        // Elements: delete the ones that went away or changed value, add the new ones.
        for e in old.elements.difference(&new_ref.elements) {
            let _ = writeln!(del_elements, "delete element {t} {} {{ {} }}", e.map, e.key);
        }
        for e in new_ref.elements.difference(&old.elements) {
            let _ = writeln!(
                add_elements,
                "add element {t} {} {{ {} : {} }}",
                e.map, e.key, e.value
            );
        }
        // Chains: when anything about the port's sets changed, rebuild every chain (rules
        // may name the sets); otherwise only chains whose rules changed.
        let sets_changed = old.sets != new_ref.sets;
        for (chain, old_rules) in &old.chains {
            match new_ref.chains.get(chain) {
                Some(new_rules) if new_rules == old_rules && !sets_changed => {}
                _ => {
                    let _ = writeln!(flush, "flush chain {t} {chain}");
                }
            }
            if !new_ref.chains.contains_key(chain) {
                let _ = writeln!(del_objects, "delete chain {t} {chain}");
            }
        }
        for (set, timeout) in &old.sets {
            if new_ref.sets.get(set) != Some(timeout) {
                let _ = writeln!(del_objects, "delete set {t} {set}");
            }
        }
        for (set, timeout) in &new_ref.sets {
            if old.sets.get(set) != Some(timeout) {
                add_set(&mut add_objects, &t, set, *timeout);
            }
        }
        for (chain, new_rules) in &new_ref.chains {
            match old.chains.get(chain) {
                None => {
                    let _ = writeln!(add_objects, "add chain {t} {chain}");
                    add_rules(&mut rules, &t, chain, new_rules);
                }
                Some(old_rules) if old_rules != new_rules || sets_changed => {
                    add_rules(&mut rules, &t, chain, new_rules);
                }
                Some(_) => {}
            }
        }
        if let Some(ip) = old.cluster_ip {
            *cluster_ip_delta.entry(ip).or_default() -= 1;
        }
        if let Some(ip) = new_ref.cluster_ip {
            *cluster_ip_delta.entry(ip).or_default() += 1;
        }
        for ip in &old.hairpin {
            *hairpin_delta.entry(*ip).or_default() -= 1;
        }
        for ip in &new_ref.hairpin {
            *hairpin_delta.entry(*ip).or_default() += 1;
        }
    }
    // The shared sets: an element is added on 0 → n references, deleted on n → 0.
    let (appear, vanish) = state.cluster_ip_refs.edges(&cluster_ip_delta);
    for ip in appear {
        let _ = writeln!(add_elements, "add element {t} {CLUSTER_IPS} {{ {ip} }}");
    }
    for ip in vanish {
        let _ = writeln!(del_elements, "delete element {t} {CLUSTER_IPS} {{ {ip} }}");
    }
    let (appear, vanish) = state.hairpin_refs.edges(&hairpin_delta);
    for ip in appear {
        let _ = writeln!(
            add_elements,
            "add element {t} {FAST_HAIRPIN} {{ {ip} . {ip} }}"
        );
    }
    for ip in vanish {
        let _ = writeln!(
            del_elements,
            "delete element {t} {FAST_HAIRPIN} {{ {ip} . {ip} }}"
        );
    }

    // Advance the bookkeeping: drop every old claim first, then add the new ones.
    let mut news = Vec::with_capacity(planned.len());
    for (name, new) in planned {
        if let Some(old) = state.ports.remove(name) {
            for e in &old.elements {
                state.owners.remove(&(e.map, e.key.clone()));
            }
            if let Some(ip) = old.cluster_ip {
                state.cluster_ip_refs.remove(ip);
            }
            for ip in &old.hairpin {
                state.hairpin_refs.remove(*ip);
            }
        }
        news.push((name, new));
    }
    for (name, new) in news {
        if let Some(new) = new {
            state.insert_port(name, new);
        }
    }

    let mut s = String::with_capacity(
        del_elements.len()
            + flush.len()
            + del_objects.len()
            + add_objects.len()
            + rules.len()
            + add_elements.len(),
    );
    for part in [
        del_elements,
        flush,
        del_objects,
        add_objects,
        rules,
        add_elements,
    ] {
        s.push_str(&part);
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
