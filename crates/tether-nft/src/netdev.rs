//! The conntrack-free fast path: `table netdev <table>`, next to `table ip <table>`.
//!
//! Conntrack costs 12–26 % of a direct connection's rate on new connections
//! (BENCHMARKS.md § 8b), and this kernel has no flowtables. nftables' netdev family runs
//! at the ingress of a device, before the IP stack and conntrack. (Measured, BENCHMARKS.md
//! § 8c: its per-packet rule evaluation, three or four map lookups per packet, costs about
//! what conntrack and NAT cost, so the agent programs it only with `--netdev-fast-path`.)
//! For the
//! Service ports where stateless rewriting is exact, it balances, rewrites and forwards
//! the packets itself, remembering each flow in a dynamic map:
//!
//! - **Scope.** TCP to an IPv4 ClusterIP port with no session affinity, `Cluster`
//!   internal policy, 1 to [`FAST_MAX_ENDPOINTS`] endpoints, all on this node's bridge (in
//!   [`Devices::pods`]) and all on one target port; from clients on the uplink's own subnets ([`Devices`]), which
//!   `fwd` reaches without routing. Everything else (pods, the node itself, hairpin,
//!   NodePorts, UDP, off-link clients) meets the `ip` table and conntrack as before.
//! - **Ids.** Each fast port has a 32-bit id, a hash of its address and port (stable
//!   across restarts, so a restarted agent's full sync keeps established flows valid; a
//!   colliding port stays on conntrack). The packet mark carries it between rules (reset
//!   to 0 before a packet leaves this table).
//! - **Forward** (ingress of the uplink): `fast-ids` gives the id; a SYN picks an endpoint
//!   (`numgen random mod n` in `fast-endpoints-<n>`, a cascade of at most 16 lookups) and
//!   records `client . port . id → endpoint` in `flows`; every packet of a recorded flow
//!   whose endpoint is still a member of the port is rewritten (destination address and
//!   target port) and `fwd`ed to the bridge. A packet of an unrecorded flow (one that
//!   started on conntrack, or whose recording failed) gets its address back and goes on to
//!   the IP stack untouched.
//! - **Reply** (ingress of the pods' veths, `from-pod-ports`, hooked on the bridge's ports
//!   as each sync finds them): `reply-flows` (`client . port . endpoint . target port →
//!   id`, recorded with the SYN) gives the id, and the source is rewritten back to the
//!   ClusterIP and port and `fwd`ed to the uplink. Hooking the veths rather than the
//!   bridge matters: a frame entering a bridge port goes through `br_netfilter`, which
//!   runs the IP stack's prerouting hooks (a conntrack entry allocated and dropped for
//!   every reply packet, and the `ip` table's NAT chains) before the bridge hands it up.
//!   `from-pods`, on the bridge itself, still catches replies of a pod whose veth appeared
//!   after the last sync.
//! - **Lifetime.** A flow lives [`FLOW_TIMEOUT`] from its SYN and from every data segment
//!   (PSH) in either direction, and [`CLOSED_TIMEOUT`] after a FIN or RST. A client port
//!   reused while its entry lives keeps its endpoint (if still a member). The packet path
//!   cannot delete map elements (nftables refuses `delete` on a map from a rule), so there
//!   is no exact close. Connections without data for a whole day lose their entry, as a
//!   conntrack entry does under kube-proxy's 24 h established timeout.
//! - **Changes.** A port that leaves the fast path (more endpoints, an off-node endpoint,
//!   affinity, deletion) stops taking new flows at once and keeps serving its recorded
//!   ones for [`DRAIN`] (its id, addresses and members stay; only its endpoint picks go),
//!   until the next full sync (a restart, or a failure), which keeps only the ports in
//!   scope. Removed endpoints leave `fast-members` (also while a port drains), so their
//!   flows fall back to the stack instead of being forwarded to an address that is gone.
//!   The dynamic maps are never flushed.
//! - **Limits** (why the agent programs it only on request): entries outlive their
//!   connection ([`CLOSED_TIMEOUT`] after a close, a day after one that was never seen to
//!   close), and the packet path can neither delete nor overwrite them. A new connection
//!   from the same client address and port to the same pod and target port within that
//!   time, through another Service or straight to the pod's address, has its replies
//!   rewritten by the old `reply-flows` entry. The per-packet cost is measured in
//!   BENCHMARKS.md § 8c.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use tether_servicemap::{Protocol, ServiceMap, ServicePort, ServicePortName, Update};

// The endpoint maps have the `ip` table's fast-path names and chunking.
use crate::render::{
    ELEMENTS_PER_STATEMENT, FAST_MAPS as ENDPOINT_MAPS, FAST_MAX_ENDPOINTS, categorize, v4,
};

/// The devices of the fast path, in the node's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    /// The device clients come in on (the one holding the node's address).
    pub uplink: String,
    /// The pods' bridge.
    pub bridge: String,
    /// The uplink's on-link subnets: only clients in them take the fast path (`fwd ip to`
    /// resolves the client's address as a neighbour of the uplink).
    pub clients: Vec<Ipv4Net>,
    /// The bridge's subnets (this node's pod CIDR): only ports whose endpoints are all in
    /// them take the fast path (an endpoint elsewhere, such as the node's own address for
    /// the cluster DNS, is not behind the bridge).
    pub pods: Vec<Ipv4Net>,
}

/// How long a flow's entry lives after its SYN or its last data segment.
pub const FLOW_TIMEOUT: &str = "1d";
/// How long a flow's entry lives after a FIN or RST.
/// (The last ACK and retransmitted FINs come within a few round trips; a new SYN on the
/// same client port picks afresh once it is gone.)
pub const CLOSED_TIMEOUT: &str = "10s";
/// Most flows remembered at once; beyond it new connections take the conntrack path.
pub const FLOW_CAPACITY: u32 = 262_144;
/// How long a port that left the fast path keeps serving its recorded flows.
pub const DRAIN: Duration = Duration::from_secs(24 * 3600);

const IDS: &str = "fast-ids";
const TARGET_PORTS: &str = "fast-target-ports";
const VIPS: &str = "fast-vips";
const VPORTS: &str = "fast-vports";
const MEMBERS: &str = "fast-members";
const FLOWS: &str = "flows";
const REPLY_FLOWS: &str = "reply-flows";
const FROM_UPLINK: &str = "from-uplink";
const FROM_PODS: &str = "from-pods";
const FROM_POD_PORTS: &str = "from-pod-ports";
const FORWARD: &str = "forward";
const PICK: &str = "pick";
const FORWARD_FLOW: &str = "forward-flow";
const REPLY: &str = "reply";
const REGULAR_CHAINS: [&str; 4] = [FORWARD, PICK, FORWARD_FLOW, REPLY];

/// A Service port on the fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastPort {
    /// The ClusterIP.
    pub vip: Ipv4Addr,
    /// The Service port.
    pub port: u16,
    /// The endpoints' (common) target port.
    pub target_port: u16,
    /// The endpoints new connections are balanced over.
    pub picks: Vec<Ipv4Addr>,
    /// Every endpoint address of the port on this node (ready or terminating): recorded
    /// flows to them keep the fast path.
    pub members: BTreeSet<Ipv4Addr>,
}

/// Whether `ip` is behind the bridge (in one of the subnets `pods`).
fn behind_bridge(pods: &[Ipv4Net], ip: Ipv4Addr) -> bool {
    pods.iter().any(|n| n.contains(&ip))
}

/// The endpoint addresses of `sp` on this node behind the bridge (ready or terminating)
/// with target port `target_port`.
pub fn members_of(sp: &ServicePort, target_port: u16, pods: &[Ipv4Net]) -> BTreeSet<Ipv4Addr> {
    sp.endpoints
        .iter()
        .filter(|e| e.is_local && e.port == target_port)
        .filter_map(|e| v4(&e.ip))
        .filter(|ip| behind_bridge(pods, *ip))
        .collect()
}

impl FastPort {
    /// The port's fast-path form, when it is in scope (see the module doc) with pods on
    /// the subnets `pods`.
    pub fn of(sp: &ServicePort, pods: &[Ipv4Net]) -> Option<Self> {
        Self::of_at_most(sp, pods, FAST_MAX_ENDPOINTS)
    }

    /// [`of`](Self::of) with up to `max_endpoints` endpoints (another fast path's bound).
    pub fn of_at_most(sp: &ServicePort, pods: &[Ipv4Net], max_endpoints: usize) -> Option<Self> {
        let info = &sp.info;
        if info.protocol != Protocol::Tcp
            || info.session_affinity_timeout.is_some()
            || info.internal_policy_local()
            || !info.uses_cluster_endpoints()
        {
            return None;
        }
        let vip = info.cluster_ips.iter().find_map(v4)?;
        let cat = categorize(info, &sp.endpoints);
        if cat.cluster.is_empty() || cat.cluster.len() > max_endpoints {
            return None;
        }
        let target_port = cat.cluster[0].port;
        let mut picks = Vec::with_capacity(cat.cluster.len());
        for e in &cat.cluster {
            match v4(&e.ip) {
                Some(ip) if e.is_local && e.port == target_port && behind_bridge(pods, ip) => {
                    picks.push(ip);
                }
                _ => return None,
            }
        }
        let mut members = members_of(sp, target_port, pods);
        members.extend(picks.iter().copied());
        Some(Self {
            vip,
            port: info.port,
            target_port,
            picks,
            members,
        })
    }

    /// The port's id: FNV-1a of its address and port, never 0 (0 is "no id").
    pub fn id(&self) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for b in self.vip.octets().into_iter().chain(self.port.to_be_bytes()) {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
        h.max(1)
    }

    /// The elements the port has while on the fast path (`picking`) or draining.
    fn elements(&self, id: u32, picking: bool, out: &mut BTreeSet<Element>) {
        let mark = format!("0x{id:08x}");
        let el =
            |map: &'static str, key: String, value: Option<String>| Element { map, key, value };
        out.insert(el(
            IDS,
            format!("{} . {}", self.vip, self.port),
            Some(mark.clone()),
        ));
        out.insert(el(
            TARGET_PORTS,
            mark.clone(),
            Some(self.target_port.to_string()),
        ));
        out.insert(el(VIPS, mark.clone(), Some(self.vip.to_string())));
        out.insert(el(VPORTS, mark.clone(), Some(self.port.to_string())));
        for ip in &self.members {
            out.insert(el(MEMBERS, format!("{mark} . {ip}"), None));
        }
        if picking && let Some(map) = ENDPOINT_MAPS.get(self.picks.len().wrapping_sub(1)) {
            for (i, ip) in self.picks.iter().enumerate() {
                out.insert(el(map, format!("{mark} . {i}"), Some(ip.to_string())));
            }
        }
    }
}

/// One element of a static map or set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Element {
    map: &'static str,
    key: String,
    value: Option<String>,
}

/// A port that left the fast path, still serving its recorded flows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Draining {
    /// The Service port it was.
    name: ServicePortName,
    port: FastPort,
    since: Instant,
}

/// What the kernel's netdev table holds (after a successful [`full`] or [`incremental`]).
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Fast ports by name, with their ids.
    ports: HashMap<ServicePortName, (u32, FastPort)>,
    /// Which id is taken (by a fast port's name, or `None` for a draining one).
    ids: HashMap<u32, Option<ServicePortName>>,
    /// Ports that left the fast path, by id.
    draining: HashMap<u32, Draining>,
    /// The bridge ports `from-pod-ports` is hooked on.
    hooked: BTreeSet<String>,
}

impl State {
    /// Number of Service ports on the fast path.
    pub fn len(&self) -> usize {
        self.ports.len()
    }

    /// Whether no Service port is on the fast path.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty()
    }

    /// The id of a fast port.
    pub fn id(&self, name: &ServicePortName) -> Option<u32> {
        self.ports.get(name).map(|(id, _)| *id)
    }

    /// Number of ports draining.
    pub fn draining(&self) -> usize {
        self.draining.len()
    }

    /// The bridge ports `from-pod-ports` is hooked on.
    pub fn hooked(&self) -> &BTreeSet<String> {
        &self.hooked
    }

    /// The elements id `id` has in the kernel now (none when free).
    fn id_elements(&self, id: u32, out: &mut BTreeSet<Element>) {
        match self.ids.get(&id) {
            Some(Some(name)) => {
                if let Some((pid, port)) = self.ports.get(name)
                    && *pid == id
                {
                    port.elements(id, true, out);
                }
            }
            Some(None) => {
                if let Some(d) = self.draining.get(&id) {
                    d.port.elements(id, false, out);
                }
            }
            None => {}
        }
    }

    /// Takes `id` for `name` if free or held by a draining port of the same address and
    /// port (which it then stops being). `false` on a collision.
    fn claim(&mut self, name: &ServicePortName, id: u32, port: &FastPort) -> bool {
        match self.ids.get(&id) {
            None => {}
            Some(Some(owner)) if owner == name => {}
            Some(None)
                if self
                    .draining
                    .get(&id)
                    .is_some_and(|d| d.port.vip == port.vip && d.port.port == port.port) => {}
            Some(_) => return false,
        }
        self.ids.insert(id, Some(name.clone()));
        true
    }
}

/// The script that (re)defines the table for `map`, keeping the dynamic flow maps (and so
/// established fast flows) of a live table, and the new state. With no `devices`, the
/// script removes the table if present.
pub fn full(
    table: &str,
    devices: Option<&Devices>,
    map: &ServiceMap,
    bridge_ports: BTreeSet<String>,
) -> (String, State) {
    let t = format!("netdev {table}");
    let mut s = String::new();
    let mut state = State::default();
    let Some(d) = devices else {
        let _ = writeln!(s, "add table {t}\ndelete table {t}");
        return (s, state);
    };
    let _ = writeln!(s, "add table {t}");
    let static_maps: [(&str, &str); 4] = [
        (IDS, "ip daddr . tcp dport : meta mark"),
        (TARGET_PORTS, "meta mark : tcp dport"),
        (VIPS, "meta mark : ip saddr"),
        (VPORTS, "meta mark : tcp sport"),
    ];
    for (name, typeof_) in static_maps {
        let _ = writeln!(s, "add map {t} {name} {{ typeof {typeof_} ; }}");
        let _ = writeln!(s, "flush map {t} {name}");
    }
    let _ = writeln!(
        s,
        "add set {t} {MEMBERS} {{ typeof meta mark . ip daddr ; }}\nflush set {t} {MEMBERS}"
    );
    for (i, name) in ENDPOINT_MAPS.iter().enumerate() {
        let _ = writeln!(
            s,
            "add map {t} {name} {{ typeof meta mark . numgen random mod {} : ip daddr ; }}\nflush map {t} {name}",
            i + 1
        );
    }
    let _ = writeln!(
        s,
        "add map {t} {FLOWS} {{ typeof ip saddr . tcp sport . meta mark : ip daddr ; flags dynamic,timeout ; timeout {FLOW_TIMEOUT} ; size {FLOW_CAPACITY} ; }}"
    );
    // Twice the room: it must never fill before `flows` (an unrecorded reply would leave
    // with the endpoint's address).
    let _ = writeln!(
        s,
        "add map {t} {REPLY_FLOWS} {{ typeof ip saddr . tcp sport . ip daddr . tcp dport : meta mark ; flags dynamic,timeout ; timeout {FLOW_TIMEOUT} ; size {} ; }}",
        FLOW_CAPACITY * 2
    );
    for chain in REGULAR_CHAINS {
        let _ = writeln!(s, "add chain {t} {chain}\nflush chain {t} {chain}");
    }
    // Base chains are re-created (in the same transaction) so that their device is
    // exactly the configured one: adding an existing netdev chain with another device
    // adds the device to it.
    for (chain, dev) in [
        (FROM_UPLINK, &d.uplink),
        (FROM_PODS, &d.bridge),
        (FROM_POD_PORTS, &d.bridge),
    ] {
        let def = hook([dev]);
        let _ = writeln!(
            s,
            "add chain {t} {chain} {def}\nflush chain {t} {chain}\ndelete chain {t} {chain}"
        );
        if chain != FROM_POD_PORTS {
            let _ = writeln!(s, "add chain {t} {chain} {def}");
        }
    }
    render_rules(&t, d, &mut s);
    state.hooked = bridge_ports;
    hook_pod_ports(&t, d, &state.hooked, &mut s);

    let mut elements = BTreeSet::new();
    for (name, sp) in &map.ports {
        if let Some(port) = FastPort::of(sp, &d.pods) {
            let id = port.id();
            if state.claim(name, id, &port) {
                port.elements(id, true, &mut elements);
                state.ports.insert((**name).clone(), (id, port));
            } else {
                tracing::debug!(port = %name, id, "fast-path id taken; the port stays on conntrack");
            }
        }
    }
    write_elements(&mut s, &t, "add", &elements);
    (s, state)
}

/// A netdev ingress hook spec on `devices`.
fn hook<S: AsRef<str>>(devices: impl IntoIterator<Item = S>) -> String {
    let list = devices
        .into_iter()
        .map(|d| format!("\"{}\"", d.as_ref()))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{{ type filter hook ingress devices = {{ {list} }} priority -500 ; policy accept ; }}")
}

/// One subnet is a mask-and-compare; several an interval set.
fn client_match(d: &Devices) -> String {
    match d.clients.as_slice() {
        [one] => one.to_string(),
        many => format!(
            "{{ {} }}",
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The rule that sends a pod's packet of a recorded flow to `reply`.
fn reply_entry(d: &Devices) -> String {
    format!(
        "ip daddr {} meta mark set ip daddr . tcp dport . ip saddr . tcp sport map @{REPLY_FLOWS} jump {REPLY}",
        client_match(d)
    )
}

/// `from-pod-ports`, hooked on the pods' veths (the bridge's ports): their packets meet
/// it before the bridge, and so before `br_netfilter` would run the IP stack's
/// prerouting hooks (conntrack, NAT) on them. `from-pods`, on the bridge itself, catches
/// the packets of ports hooked too late. No chain without ports.
fn hook_pod_ports(t: &str, d: &Devices, ports: &BTreeSet<String>, s: &mut String) {
    if ports.is_empty() || d.clients.is_empty() {
        return;
    }
    let _ = writeln!(s, "add chain {t} {FROM_POD_PORTS} {}", hook(ports));
    let _ = writeln!(s, "add rule {t} {FROM_POD_PORTS} {}", reply_entry(d));
}

fn render_rules(t: &str, d: &Devices, s: &mut String) {
    let nets = client_match(d);
    let (uplink, bridge) = (&d.uplink, &d.bridge);
    let flow_key = "ip saddr . tcp sport . meta mark";
    let reply_key = "ip saddr . tcp sport . ip daddr . tcp dport";
    // The same two entries, seen from a reply (addresses and ports swapped).
    let flow_key_r = "ip daddr . tcp dport . meta mark";
    let reply_key_r = "ip daddr . tcp dport . ip saddr . tcp sport";
    let mut rule = |chain: &str, r: String| {
        let _ = writeln!(s, "add rule {t} {chain} {r}");
    };
    if !d.clients.is_empty() {
        rule(
            FROM_UPLINK,
            format!("ip saddr {nets} meta mark set ip daddr . tcp dport map @{IDS} jump {FORWARD}"),
        );
        rule(FROM_PODS, reply_entry(d));
    }
    rule(
        FORWARD,
        format!("tcp flags & (syn | ack) == syn jump {PICK}"),
    );
    rule(
        FORWARD,
        format!(
            "ip daddr set {flow_key} map @{FLOWS} meta mark . ip daddr @{MEMBERS} tcp dport set meta mark map @{TARGET_PORTS} goto {FORWARD_FLOW}"
        ),
    );
    // Not a recorded flow (or one whose endpoint is gone): the ClusterIP back, on to the
    // stack (a pick may have rewritten it).
    rule(
        FORWARD,
        format!("ip daddr set meta mark map @{VIPS} meta mark set 0 accept"),
    );
    for (i, map) in ENDPOINT_MAPS.iter().enumerate() {
        rule(
            PICK,
            format!(
                "ip daddr set meta mark . numgen random mod {} map @{map} update @{FLOWS} {{ {flow_key} : ip daddr }} return",
                i + 1
            ),
        );
    }
    rule(
        FORWARD_FLOW,
        format!(
            "tcp flags & (syn | ack) == syn update @{FLOWS} {{ {flow_key} timeout {FLOW_TIMEOUT} : ip daddr }} update @{REPLY_FLOWS} {{ {reply_key} timeout {FLOW_TIMEOUT} : meta mark }}"
        ),
    );
    rule(
        FORWARD_FLOW,
        format!(
            "tcp flags & (fin | rst) != 0 update @{FLOWS} {{ {flow_key} timeout {CLOSED_TIMEOUT} : ip daddr }} update @{REPLY_FLOWS} {{ {reply_key} timeout {CLOSED_TIMEOUT} : meta mark }}"
        ),
    );
    rule(
        FORWARD_FLOW,
        format!(
            "tcp flags & (psh | fin | rst) == psh update @{FLOWS} {{ {flow_key} timeout {FLOW_TIMEOUT} : ip daddr }} update @{REPLY_FLOWS} {{ {reply_key} timeout {FLOW_TIMEOUT} : meta mark }}"
        ),
    );
    rule(
        FORWARD_FLOW,
        format!("meta mark set 0 fwd ip to ip daddr device \"{bridge}\""),
    );
    rule(
        REPLY,
        format!(
            "tcp flags & (fin | rst) != 0 update @{REPLY_FLOWS} {{ {reply_key_r} timeout {CLOSED_TIMEOUT} : meta mark }} update @{FLOWS} {{ {flow_key_r} timeout {CLOSED_TIMEOUT} : ip saddr }}"
        ),
    );
    rule(
        REPLY,
        format!(
            "tcp flags & (psh | fin | rst) == psh update @{REPLY_FLOWS} {{ {reply_key_r} timeout {FLOW_TIMEOUT} : meta mark }} update @{FLOWS} {{ {flow_key_r} timeout {FLOW_TIMEOUT} : ip saddr }}"
        ),
    );
    rule(
        REPLY,
        format!(
            "ip saddr set meta mark map @{VIPS} tcp sport set meta mark map @{VPORTS} meta mark set 0 fwd ip to ip daddr device \"{uplink}\""
        ),
    );
    rule(REPLY, "meta mark set 0".to_owned());
}

/// `add element` / `delete element` statements for `elements` (sorted by map), up to
/// [`ELEMENTS_PER_STATEMENT`] per statement.
fn write_elements<'a>(
    s: &mut String,
    t: &str,
    verb: &str,
    elements: impl IntoIterator<Item = &'a Element>,
) {
    let elements: Vec<&Element> = elements.into_iter().collect();
    for same_map in elements.chunk_by(|a, b| a.map == b.map) {
        for chunk in same_map.chunks(ELEMENTS_PER_STATEMENT) {
            let items: Vec<String> = chunk
                .iter()
                .map(|e| match (&e.value, verb) {
                    (Some(v), "add") => format!("{} : {v}", e.key),
                    _ => e.key.clone(),
                })
                .collect();
            let _ = writeln!(
                s,
                "{verb} element {t} {} {{ {} }}",
                chunk[0].map,
                items.join(", ")
            );
        }
    }
}

/// The script applying `updates` to the table `state` describes, advancing `state`
/// (apply the script; on failure do a [`full`] sync). Ports whose drain ended by `now`
/// are removed too. Empty when nothing changes.
pub fn incremental(
    table: &str,
    devices: &Devices,
    state: &mut State,
    updates: &[Update],
    ports: BTreeSet<String>,
    now: Instant,
) -> String {
    let t = format!("netdev {table}");
    let mut s = String::new();
    if ports != state.hooked {
        if !state.hooked.is_empty() && !devices.clients.is_empty() {
            let _ = writeln!(
                s,
                "flush chain {t} {FROM_POD_PORTS}\ndelete chain {t} {FROM_POD_PORTS}"
            );
        }
        hook_pod_ports(&t, devices, &ports, &mut s);
        state.hooked = ports;
    }
    // Every id the change touches, and its elements before; then the change; then the
    // elements after. One diff over all of them orders every delete before every add and
    // does not depend on the order of the updates (a port renamed, or two ports swapping
    // numbers, releases its old id before any new one is claimed).
    let ended: Vec<u32> = state
        .draining
        .iter()
        .filter(|(_, d)| now.saturating_duration_since(d.since) >= DRAIN)
        .map(|(id, _)| *id)
        .collect();
    let planned: Vec<(&ServicePortName, Option<FastPort>, Option<&ServicePort>)> = updates
        .iter()
        .map(|u| match u {
            Update::Upsert(name, sp) => (&**name, FastPort::of(sp, &devices.pods), Some(&**sp)),
            Update::Remove(name) => (&**name, None, None),
        })
        .collect();
    let mut touched: BTreeSet<u32> = ended.iter().copied().collect();
    for (name, new, _) in &planned {
        touched.extend(state.ports.get(*name).map(|(id, _)| *id));
        touched.extend(new.as_ref().map(FastPort::id));
        touched.extend(
            state
                .draining
                .iter()
                .filter(|(_, d)| d.name == **name)
                .map(|(id, _)| *id),
        );
    }
    let mut before = BTreeSet::new();
    for id in &touched {
        state.id_elements(*id, &mut before);
    }
    for id in ended {
        state.draining.remove(&id);
        state.ids.remove(&id);
    }
    // Old forms drain first (keeping their ids); a draining port's members follow its
    // endpoints, so flows to an endpoint that is gone fall back to the stack.
    for (name, _, sp) in &planned {
        if let Some((id, port)) = state.ports.remove(*name) {
            state.ids.insert(id, None);
            state.draining.insert(
                id,
                Draining {
                    name: (*name).clone(),
                    port,
                    since: now,
                },
            );
        }
        if let Some(sp) = sp {
            for d in state.draining.values_mut().filter(|d| d.name == **name) {
                d.port.members = members_of(sp, d.port.target_port, &devices.pods);
            }
        }
    }
    // New forms claim their ids (taking over a drain of the same address and port).
    for (name, new, _) in planned {
        let Some(port) = new else { continue };
        let id = port.id();
        if state.claim(name, id, &port) {
            state.draining.remove(&id);
            state.ports.insert(name.clone(), (id, port));
        } else {
            tracing::debug!(port = %name, id, "fast-path id taken; the port stays on conntrack");
        }
    }
    let mut after = BTreeSet::new();
    for id in &touched {
        state.id_elements(*id, &mut after);
    }
    write_elements(&mut s, &t, "delete", before.difference(&after));
    write_elements(&mut s, &t, "add", after.difference(&before));
    s
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use tether_servicemap::{Endpoint, ServiceInfo};

    use super::*;

    fn sp(ip: [u8; 4], port: u16, eps: &[(u8, bool)]) -> Arc<ServicePort> {
        Arc::new(ServicePort {
            info: ServiceInfo::cluster_ip(IpAddr::from(ip), port, Protocol::Tcp),
            endpoints: eps
                .iter()
                .map(|(last, local)| Endpoint {
                    is_local: *local,
                    node_name: Some("n".into()),
                    ..Endpoint::ready(IpAddr::from([10, 244, 0, *last]), 8080)
                })
                .collect(),
        })
    }

    fn pods() -> Vec<Ipv4Net> {
        vec!["10.244.0.0/24".parse().expect("net")]
    }

    fn devices() -> Devices {
        Devices {
            uplink: "eth1".into(),
            bridge: "cni0".into(),
            clients: vec!["192.168.1.0/24".parse().expect("net")],
            pods: pods(),
        }
    }

    fn ports(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    fn name(s: &str) -> Arc<ServicePortName> {
        Arc::new(ServicePortName::new("default", s, "", Protocol::Tcp))
    }

    #[test]
    fn scope() {
        assert!(FastPort::of(&sp([10, 96, 0, 1], 80, &[(2, true), (3, true)]), &pods()).is_some());
        assert!(
            FastPort::of(&sp([10, 96, 0, 1], 80, &[(2, true), (3, false)]), &pods()).is_none(),
            "an off-node endpoint"
        );
        assert!(FastPort::of(&sp([10, 96, 0, 1], 80, &[]), &pods()).is_none());
        let mut udp = (*sp([10, 96, 0, 1], 80, &[(2, true)])).clone();
        udp.info.protocol = Protocol::Udp;
        assert!(FastPort::of(&udp, &pods()).is_none());
        let mut aff = (*sp([10, 96, 0, 1], 80, &[(2, true)])).clone();
        aff.info.session_affinity_timeout = Some(10);
        assert!(FastPort::of(&aff, &pods()).is_none());
        let mut node = (*sp([10, 96, 0, 1], 80, &[(2, true)])).clone();
        node.endpoints[0].ip = IpAddr::from([10, 255, 0, 2]);
        assert!(
            FastPort::of(&node, &pods()).is_none(),
            "a local endpoint not behind the bridge (the node's own address)"
        );
        let many: Vec<(u8, bool)> = (2..19).map(|i| (i, true)).collect();
        assert!(FastPort::of(&sp([10, 96, 0, 1], 80, &many), &pods()).is_none());
    }

    #[test]
    fn a_renamed_port_keeps_its_id_whatever_the_update_order() {
        let d = devices();
        let mut map = ServiceMap::new();
        map.ports
            .insert(name("web"), sp([10, 96, 0, 1], 80, &[(2, true)]));
        let (_, mut st) = full("tether", Some(&d), &map, BTreeSet::new());
        let id = st.id(&name("web")).expect("fast");
        // "http" sorts before "web": its upsert comes before web's removal.
        let s = incremental(
            "tether",
            &d,
            &mut st,
            &[
                Update::Upsert(name("http"), sp([10, 96, 0, 1], 80, &[(2, true)])),
                Update::Remove(name("web")),
            ],
            BTreeSet::new(),
            Instant::now(),
        );
        assert_eq!(s, "", "nothing changes in the kernel");
        assert_eq!(st.id(&name("http")), Some(id));
        assert_eq!((st.len(), st.draining()), (1, 0));
    }

    #[test]
    fn full_without_devices_removes_the_table() {
        let (s, st) = full("tether", None, &ServiceMap::new(), BTreeSet::new());
        assert_eq!(s, "add table netdev tether\ndelete table netdev tether\n");
        assert!(st.is_empty());
    }

    #[test]
    fn changes_touch_only_their_elements_and_a_leaving_port_drains() {
        let d = devices();
        let mut map = ServiceMap::new();
        map.ports
            .insert(name("a"), sp([10, 96, 0, 1], 80, &[(2, true), (3, true)]));
        let veth1 = ports(&["veth1"]);
        let (s, mut st) = full("tether", Some(&d), &map, veth1.clone());
        assert!(
            s.contains("add chain netdev tether from-pod-ports { type filter hook ingress devices = { \"veth1\" }"),
            "{s}"
        );
        let id = st.id(&name("a")).expect("fast");
        let mark = format!("0x{id:08x}");
        assert!(s.contains(&format!("add element netdev tether fast-endpoints-2 {{ {mark} . 0 : 10.244.0.2, {mark} . 1 : 10.244.0.3 }}")), "{s}");
        assert!(!s.contains("flush map netdev tether flows"), "{s}");
        assert!(s.contains("device \"eth1\"") && s.contains("device \"cni0\""));

        // One endpoint more: the picks move from the 2-map to the 3-map, the new member
        // is added, nothing else is touched.
        let t0 = Instant::now();
        let up = Update::Upsert(
            name("a"),
            sp([10, 96, 0, 1], 80, &[(2, true), (3, true), (4, true)]),
        );
        let s = incremental("tether", &d, &mut st, &[up], veth1.clone(), t0);
        assert_eq!(
            s,
            format!(
                "delete element netdev tether fast-endpoints-2 {{ {mark} . 0, {mark} . 1 }}\n\
                 add element netdev tether fast-endpoints-3 {{ {mark} . 0 : 10.244.0.2, {mark} . 1 : 10.244.0.3, {mark} . 2 : 10.244.0.4 }}\n\
                 add element netdev tether fast-members {{ {mark} . 10.244.0.4 }}\n"
            )
        );
        // .4 goes and an off-node endpoint comes: the port drains (picks go, id stays, and
        // the members follow the endpoints).
        let up = Update::Upsert(
            name("a"),
            sp([10, 96, 0, 1], 80, &[(2, true), (3, true), (9, false)]),
        );
        let s = incremental("tether", &d, &mut st, &[up], veth1.clone(), t0);
        assert_eq!(
            s,
            format!(
                "delete element netdev tether fast-endpoints-3 {{ {mark} . 0, {mark} . 1, {mark} . 2 }}\n\
                 delete element netdev tether fast-members {{ {mark} . 10.244.0.4 }}\n"
            )
        );
        assert_eq!((st.len(), st.draining()), (0, 1));
        // While it drains, an endpoint removed leaves the members too.
        let up = Update::Upsert(name("a"), sp([10, 96, 0, 1], 80, &[(2, true), (9, false)]));
        let s = incremental("tether", &d, &mut st, &[up], veth1.clone(), t0);
        assert_eq!(
            s,
            format!("delete element netdev tether fast-members {{ {mark} . 10.244.0.3 }}\n")
        );
        // Back in scope: it takes its id back from the drain.
        let up = Update::Upsert(name("a"), sp([10, 96, 0, 1], 80, &[(2, true)]));
        let s = incremental("tether", &d, &mut st, &[up], veth1.clone(), t0);
        assert_eq!(
            s,
            format!("add element netdev tether fast-endpoints-1 {{ {mark} . 0 : 10.244.0.2 }}\n")
        );
        assert_eq!((st.len(), st.draining()), (1, 0));
        // Removed: drains, and the drain ends after DRAIN (at the next sync).
        let s = incremental(
            "tether",
            &d,
            &mut st,
            &[Update::Remove(name("a"))],
            veth1.clone(),
            t0,
        );
        assert_eq!(
            s,
            format!("delete element netdev tether fast-endpoints-1 {{ {mark} . 0 }}\n")
        );
        assert_eq!(
            incremental("tether", &d, &mut st, &[], veth1.clone(), t0),
            ""
        );
        let s = incremental("tether", &d, &mut st, &[], veth1, t0 + DRAIN);
        assert_eq!(
            s,
            format!(
                "delete element netdev tether fast-ids {{ 10.96.0.1 . 80 }}\n\
                 delete element netdev tether fast-members {{ {mark} . 10.244.0.2 }}\n\
                 delete element netdev tether fast-target-ports {{ {mark} }}\n\
                 delete element netdev tether fast-vips {{ {mark} }}\n\
                 delete element netdev tether fast-vports {{ {mark} }}\n"
            )
        );
        assert_eq!((st.len(), st.draining()), (0, 0));
        // A new pod's veth: the port chain is re-created on both.
        let more = ports(&["veth1", "veth2"]);
        let s = incremental("tether", &d, &mut st, &[], more.clone(), t0 + DRAIN);
        assert!(
            s.starts_with("flush chain netdev tether from-pod-ports\ndelete chain netdev tether from-pod-ports\nadd chain netdev tether from-pod-ports { type filter hook ingress devices = { \"veth1\", \"veth2\" }"),
            "{s}"
        );
        assert_eq!(
            incremental("tether", &d, &mut st, &[], more, t0 + DRAIN),
            ""
        );
    }
}
