//! Which Service port holds which block of the `backends` array, and the map writes that
//! follow from a change. Pure: no syscalls, so every rule is unit-tested here.
//!
//! Each fast Service port (a [`Frontend`]: ClusterIP and port) owns one block of
//! [`BLOCK_SIZE`] slots in `backends`. Slot 0 of a block is its header (the frontend,
//! marked so that no flow ever matches it), which lets a restarted agent tell which block
//! was whose ([`State::recover`]). An endpoint keeps its slot for as long as it is a member
//! of the port, so a flow, which records its slot, stays valid while its endpoint does;
//! the `picks` list, which new connections draw from, is rewritten freely.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use tether_nft::netdev::FastPort;
use tether_servicemap::{ServicePort, ServicePortName, Update};

/// Slots per block; slot 0 is the header, so a port has at most [`MAX_ENDPOINTS`].
pub const BLOCK_SIZE: u32 = 64;
/// Endpoints (ready and terminating) a fast port may have.
pub const MAX_ENDPOINTS: usize = BLOCK_SIZE as usize - 1;
/// Blocks, that is Service ports on the fast path at once (draining ones included).
pub const BLOCKS: u32 = 4096;
/// Size of the `backends` and `picks` arrays.
pub const SLOTS: u32 = BLOCKS * BLOCK_SIZE;
/// How long a port that left the fast path keeps serving its recorded flows.
pub const DRAIN: Duration = Duration::from_secs(24 * 3600);

/// A Service's address and port, as new connections name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frontend {
    /// The ClusterIP.
    pub vip: Ipv4Addr,
    /// The Service port.
    pub port: u16,
}

/// An endpoint: pod address and target port.
pub type Backend = (Ipv4Addr, u16);

/// One write to the maps, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `backends[slot] = value` (a backend, a header, or zeros for a free slot).
    Backend {
        /// The slot.
        slot: u32,
        /// Its 8 bytes (see [`backend_value`], [`header_value`]).
        value: [u8; 8],
    },
    /// `picks[index] = slot`: the `index - base`-th endpoint new connections may pick.
    Pick {
        /// Block base plus the pick's number.
        index: u32,
        /// The slot it names.
        slot: u32,
    },
    /// `services[frontend] = (count, base)`, or removed (no new connections).
    Service {
        /// The Service port.
        frontend: Frontend,
        /// Number of picks and the block's first slot; `None` removes the entry.
        entry: Option<(u32, u32)>,
    },
}

/// A backend's value: address and port in network order, then the assignment's
/// generation (see [`Generation`]; never `0xffff`, a header's mark).
pub fn backend_value((ip, port): Backend, generation: u16) -> [u8; 8] {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&ip.octets());
    v[4..6].copy_from_slice(&port.to_be_bytes());
    v[6..].copy_from_slice(&generation.to_ne_bytes());
    v
}

/// A block header: the frontend, and `0xffff` where a backend has its generation (so that
/// no flow, whose recorded value is a backend's, can match it).
pub fn header_value(f: Frontend) -> [u8; 8] {
    backend_value((f.vip, f.port), HEADER_MARK)
}

/// What a header has where a backend has its generation.
const HEADER_MARK: u16 = 0xffff;

/// Numbers each slot assignment: a flow records its backend's whole value, and when its
/// slot holds the same address and port under another generation (the endpoint left and
/// came back, or a pod with the same address took the slot in a later change), the flow
/// goes on through the bridge, never to the veth it learned (perhaps the old pod's, gone).
/// Starts from the clock, so that a restarted process is unlikely to repeat a number a
/// freed slot had.
#[derive(Debug, Clone)]
pub struct Generation(u16);

impl Generation {
    fn from_clock() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self((nanos % u32::from(HEADER_MARK)) as u16)
    }

    fn next(&mut self) -> u16 {
        self.0 = (self.0 + 1) % HEADER_MARK;
        self.0
    }
}

/// Reads a header written by [`header_value`].
pub fn parse_header(v: &[u8]) -> Option<Frontend> {
    let (ip, rest) = v.split_first_chunk::<4>()?;
    let (port, mark) = rest.split_first_chunk::<2>()?;
    (mark == [0xff, 0xff] && *ip != [0; 4]).then(|| Frontend {
        vip: Ipv4Addr::from(*ip),
        port: u16::from_be_bytes(*port),
    })
}

/// Reads a backend written by [`backend_value`] (`None` for a free slot or a header).
pub fn parse_backend(v: &[u8]) -> Option<Backend> {
    let (ip, rest) = v.split_first_chunk::<4>()?;
    let (port, mark) = rest.split_first_chunk::<2>()?;
    let mark = mark.first_chunk::<2>()?;
    (u16::from_ne_bytes(*mark) != HEADER_MARK && *ip != [0; 4])
        .then(|| (Ipv4Addr::from(*ip), u16::from_be_bytes(*port)))
}

/// A block: its members by slot, and whether new connections may pick from it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block {
    index: u32,
    members: BTreeMap<Backend, u32>,
    /// `services` has the frontend's entry.
    listed: bool,
    /// Since when the port is out of the fast path (its flows still served).
    draining: Option<Instant>,
}

impl Block {
    fn base(&self) -> u32 {
        self.index * BLOCK_SIZE
    }

    /// Makes the members exactly `want`: new ones get free slots (written first, never-used
    /// slots before ones just freed), gone ones that no new member took are zeroed last (in
    /// `tail`, after the picks that no longer name them). Reusing a slot in the same change
    /// is safe: a flow goes on only while the slot holds the very value (address, port,
    /// generation) it recorded. `false` (nothing changed) when `want` does not fit.
    fn set_members(
        &mut self,
        want: &BTreeSet<Backend>,
        generation: &mut Generation,
        ops: &mut Vec<Op>,
        tail: &mut Vec<Op>,
    ) -> bool {
        if want.len() > MAX_ENDPOINTS {
            return false;
        }
        let mut freed = Vec::new();
        self.members.retain(|b, slot| {
            let keep = want.contains(b);
            if !keep {
                freed.push(*slot);
            }
            keep
        });
        let taken: BTreeSet<u32> = self.members.values().copied().collect();
        let mut free = (self.base() + 1..self.base() + BLOCK_SIZE)
            .filter(|s| !taken.contains(s) && !freed.contains(s))
            .chain(freed.iter().copied());
        let mut reused = BTreeSet::new();
        for b in want {
            if self.members.contains_key(b) {
                continue;
            }
            // Cannot run out: `want` fits and every slot not kept is free.
            let Some(slot) = free.next() else {
                return false;
            };
            self.members.insert(*b, slot);
            reused.insert(slot);
            ops.push(Op::Backend {
                slot,
                value: backend_value(*b, generation.next()),
            });
        }
        for slot in freed.into_iter().filter(|s| !reused.contains(s)) {
            tail.push(Op::Backend {
                slot,
                value: [0; 8],
            });
        }
        true
    }
}

/// The block assignment, and what the maps hold because of it.
#[derive(Debug, Clone)]
pub struct State {
    /// The Service ports that hold a block (picking or draining), by name.
    names: HashMap<ServicePortName, Frontend>,
    /// How many names hold each frontend (so that a removal costs no scan of `names`).
    holders: HashMap<Frontend, usize>,
    blocks: HashMap<Frontend, Block>,
    free: BTreeSet<u32>,
    pods: Vec<Ipv4Net>,
    generation: Generation,
}

/// A recovered block: index, frontend, members with their slots.
pub type Recovered = (u32, Frontend, Vec<(u32, Backend)>);

impl State {
    /// Nothing assigned; ports whose endpoints are in `pods` (behind the bridge) qualify.
    pub fn new(pods: Vec<Ipv4Net>) -> Self {
        Self {
            names: HashMap::new(),
            holders: HashMap::new(),
            blocks: HashMap::new(),
            free: (0..BLOCKS).collect(),
            pods,
            generation: Generation::from_clock(),
        }
    }

    /// The state a previous process left in the maps: its blocks (from their headers and
    /// backends) and which frontends `services` lists. All of them drain from `now` until
    /// a sync claims them again ([`State::finish_full`] unlists the others).
    pub fn recover(
        pods: Vec<Ipv4Net>,
        blocks: impl IntoIterator<Item = Recovered>,
        listed: &BTreeSet<Frontend>,
        now: Instant,
    ) -> Self {
        let mut s = Self::new(pods);
        for (index, frontend, members) in blocks {
            if index >= BLOCKS || s.blocks.contains_key(&frontend) || !s.free.remove(&index) {
                continue;
            }
            let members = members.into_iter().map(|(slot, b)| (b, slot)).collect();
            s.blocks.insert(
                frontend,
                Block {
                    index,
                    members,
                    listed: listed.contains(&frontend),
                    draining: Some(now),
                },
            );
        }
        s
    }

    /// Number of Service ports new connections take the fast path on.
    pub fn picking(&self) -> usize {
        self.blocks
            .values()
            .filter(|b| b.draining.is_none())
            .count()
    }

    /// Number of ports draining.
    pub fn draining(&self) -> usize {
        self.blocks
            .values()
            .filter(|b| b.draining.is_some())
            .count()
    }

    /// The block's first slot and members of a frontend, if it holds one.
    pub fn block(&self, f: Frontend) -> Option<(u32, &BTreeMap<Backend, u32>)> {
        self.blocks.get(&f).map(|b| (b.base(), &b.members))
    }

    /// The map writes for one change, appended to `ops`.
    pub fn update(&mut self, u: &Update, now: Instant, ops: &mut Vec<Op>) {
        match u {
            Update::Upsert(name, sp) => self.upsert(name, sp, now, ops),
            Update::Remove(name) => {
                if let Some(f) = self.unname(name) {
                    self.release(f, now, ops);
                }
            }
        }
    }

    fn upsert(
        &mut self,
        name: &ServicePortName,
        sp: &ServicePort,
        now: Instant,
        ops: &mut Vec<Op>,
    ) {
        let fast = FastPort::of_at_most(sp, &self.pods, MAX_ENDPOINTS)
            .filter(|f| f.members.len() <= MAX_ENDPOINTS);
        let old = self.names.get(name).copied();
        let Some(fast) = fast else {
            if let Some(f) = old
                && !self.held_by_other(f, name)
            {
                self.drain(f, now, ops);
                self.follow(f, sp, ops);
            }
            return;
        };
        let f = Frontend {
            vip: fast.vip,
            port: fast.port,
        };
        if let Some(o) = old
            && o != f
        {
            self.unname(name);
            self.release(o, now, ops);
        }
        if !self.blocks.contains_key(&f) {
            let Some(index) = self.free.pop_first() else {
                tracing::debug!(service = %name, "no free eBPF block; the port stays on nftables");
                self.unname(name);
                return;
            };
            let block = Block {
                index,
                members: BTreeMap::new(),
                listed: false,
                draining: None,
            };
            ops.push(Op::Backend {
                slot: block.base(),
                value: header_value(f),
            });
            self.blocks.insert(f, block);
        }
        let Some(block) = self.blocks.get_mut(&f) else {
            return;
        };
        let tp = fast.target_port;
        let want: BTreeSet<Backend> = fast.members.iter().map(|ip| (*ip, tp)).collect();
        let mut tail = Vec::new();
        if !block.set_members(&want, &mut self.generation, ops, &mut tail) {
            ops.append(&mut tail);
            self.name(name, f);
            self.drain(f, now, ops);
            return;
        }
        let base = block.base();
        let mut count = 0u32;
        for ip in &fast.picks {
            if let Some(slot) = block.members.get(&(*ip, tp)) {
                ops.push(Op::Pick {
                    index: base + count,
                    slot: *slot,
                });
                count += 1;
            }
        }
        ops.push(Op::Service {
            frontend: f,
            entry: Some((count, base)),
        });
        block.listed = true;
        block.draining = None;
        ops.append(&mut tail);
        self.name(name, f);
    }

    /// Whether a Service port other than `name` holds `f` (a port renamed, or a ClusterIP
    /// passed from one Service to another, within one change).
    fn held_by_other(&self, f: Frontend, name: &ServicePortName) -> bool {
        let own = usize::from(self.names.get(name) == Some(&f));
        self.holders.get(&f).copied().unwrap_or(0) > own
    }

    /// `f` lost a name: it drains unless another Service port holds it.
    fn release(&mut self, f: Frontend, now: Instant, ops: &mut Vec<Op>) {
        if !self.holders.contains_key(&f) {
            self.drain(f, now, ops);
        }
    }

    /// `name` holds `f` (in place of what it held).
    fn name(&mut self, name: &ServicePortName, f: Frontend) {
        if let Some(old) = self.names.insert(name.clone(), f) {
            self.drop_holder(old);
        }
        *self.holders.entry(f).or_default() += 1;
    }

    /// `name` holds nothing: what it held, if anything.
    fn unname(&mut self, name: &ServicePortName) -> Option<Frontend> {
        let f = self.names.remove(name)?;
        self.drop_holder(f);
        Some(f)
    }

    fn drop_holder(&mut self, f: Frontend) {
        if let Some(n) = self.holders.get_mut(&f) {
            *n -= 1;
            if *n == 0 {
                self.holders.remove(&f);
            }
        }
    }

    /// Stops new connections to `f` (its recorded flows go on).
    fn drain(&mut self, f: Frontend, now: Instant, ops: &mut Vec<Op>) {
        if let Some(b) = self.blocks.get_mut(&f) {
            b.draining.get_or_insert(now);
            if b.listed {
                b.listed = false;
                ops.push(Op::Service {
                    frontend: f,
                    entry: None,
                });
            }
        }
    }

    /// A draining port's members follow its endpoints while the Service port exists: gone
    /// ones are freed, so their flows fall back to the stack rather than reach an address
    /// that is no longer the pod. (A deleted port keeps its last members until it expires.)
    fn follow(&mut self, f: Frontend, sp: &ServicePort, ops: &mut Vec<Op>) {
        let Some(b) = self.blocks.get_mut(&f) else {
            return;
        };
        let present: BTreeSet<Backend> = sp
            .endpoints
            .iter()
            .filter(|e| e.is_local)
            .filter_map(|e| match e.ip {
                std::net::IpAddr::V4(ip) => Some((ip, e.port)),
                std::net::IpAddr::V6(_) => None,
            })
            .collect();
        let keep: BTreeSet<Backend> = b
            .members
            .keys()
            .filter(|m| present.contains(m))
            .copied()
            .collect();
        let mut tail = Vec::new();
        b.set_members(&keep, &mut self.generation, ops, &mut tail);
        ops.append(&mut tail);
    }

    /// After a full sync over a recovered state: recovered ports no sync claimed stop
    /// taking new connections (they drain).
    pub fn finish_full(&mut self, ops: &mut Vec<Op>) {
        for (f, b) in &mut self.blocks {
            if b.draining.is_some() && b.listed {
                b.listed = false;
                ops.push(Op::Service {
                    frontend: *f,
                    entry: None,
                });
            }
        }
    }

    /// Frees the blocks that drained for [`DRAIN`] (their flows then fall back to the
    /// stack).
    pub fn expire(&mut self, now: Instant, ops: &mut Vec<Op>) {
        let done: Vec<Frontend> = self
            .blocks
            .iter()
            .filter(|(_, b)| b.draining.is_some_and(|t| now.duration_since(t) >= DRAIN))
            .map(|(f, _)| *f)
            .collect();
        for f in done {
            let Some(b) = self.blocks.remove(&f) else {
                continue;
            };
            if b.listed {
                ops.push(Op::Service {
                    frontend: f,
                    entry: None,
                });
            }
            for slot in b.members.values().copied().chain([b.base()]) {
                ops.push(Op::Backend {
                    slot,
                    value: [0; 8],
                });
            }
            if self.holders.remove(&f).is_some() {
                self.names.retain(|_, v| *v != f);
            }
            self.free.insert(b.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use tether_servicemap::{Endpoint, Protocol, ServiceInfo};

    use super::*;

    fn pods() -> Vec<Ipv4Net> {
        vec!["10.244.1.0/24".parse().expect("net")]
    }

    fn name(n: &str) -> Arc<ServicePortName> {
        Arc::new(ServicePortName::new("default", n, "", Protocol::Tcp))
    }

    fn port(vip: &str, eps: &[&str]) -> Arc<ServicePort> {
        let ip: IpAddr = vip.parse().expect("ip");
        Arc::new(ServicePort {
            info: ServiceInfo::cluster_ip(ip, 80, Protocol::Tcp),
            endpoints: eps
                .iter()
                .map(|e| {
                    let mut ep = Endpoint::ready(e.parse().expect("ip"), 8080);
                    ep.is_local = true;
                    ep
                })
                .collect(),
        })
    }

    /// Endpoint `ip`:8080's value, generation 0 (see [`plain`]).
    fn ep(ip: &str) -> [u8; 8] {
        backend_value((ip.parse().expect("ip"), 8080), 0)
    }

    /// `ops` with the backends' generations zeroed (they start from the clock).
    fn plain(mut ops: Vec<Op>) -> Vec<Op> {
        for op in &mut ops {
            if let Op::Backend { value, .. } = op
                && parse_backend(value).is_some()
            {
                value[6..].fill(0);
            }
        }
        ops
    }

    fn frontend(vip: &str) -> Frontend {
        Frontend {
            vip: vip.parse().expect("ip"),
            port: 80,
        }
    }

    fn upsert(s: &mut State, n: &str, p: Arc<ServicePort>) -> Vec<Op> {
        let mut ops = Vec::new();
        s.update(&Update::Upsert(name(n), p), Instant::now(), &mut ops);
        plain(ops)
    }

    fn service_entry(ops: &[Op]) -> Option<Option<(u32, u32)>> {
        ops.iter().rev().find_map(|o| match o {
            Op::Service { entry, .. } => Some(*entry),
            _ => None,
        })
    }

    #[test]
    fn a_new_port_gets_a_header_its_backends_picks_then_its_entry() {
        let mut s = State::new(pods());
        let ops = upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.2", "10.244.1.3"]),
        );
        let f = frontend("10.96.0.10");
        assert_eq!(
            ops,
            vec![
                Op::Backend {
                    slot: 0,
                    value: header_value(f)
                },
                Op::Backend {
                    slot: 1,
                    value: ep("10.244.1.2")
                },
                Op::Backend {
                    slot: 2,
                    value: ep("10.244.1.3")
                },
                Op::Pick { index: 0, slot: 1 },
                Op::Pick { index: 1, slot: 2 },
                Op::Service {
                    frontend: f,
                    entry: Some((2, 0))
                },
            ]
        );
        assert_eq!(parse_header(&header_value(f)), Some(f));
        assert_eq!(parse_backend(&header_value(f)), None);
        assert_eq!(s.picking(), 1);
    }

    #[test]
    fn endpoints_keep_their_slots_and_a_freed_slot_is_zeroed_after_the_picks() {
        let mut s = State::new(pods());
        upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.2", "10.244.1.3"]),
        );
        let ops = upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.3", "10.244.1.4"]),
        );
        let f = frontend("10.96.0.10");
        assert_eq!(
            ops,
            vec![
                // .4 takes slot 3, not the slot .2 just left.
                Op::Backend {
                    slot: 3,
                    value: ep("10.244.1.4")
                },
                Op::Pick { index: 0, slot: 2 },
                Op::Pick { index: 1, slot: 3 },
                Op::Service {
                    frontend: f,
                    entry: Some((2, 0))
                },
                Op::Backend {
                    slot: 1,
                    value: [0; 8]
                },
            ]
        );
        let (_, members) = s.block(f).expect("block");
        assert_eq!(
            members.get(&("10.244.1.3".parse().expect("ip"), 8080)),
            Some(&2)
        );
    }

    #[test]
    fn out_of_scope_ports_drain_and_their_members_follow_the_endpoints() {
        let mut s = State::new(pods());
        upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.2", "10.244.1.3"]),
        );
        // An endpoint off the bridge takes the port out of scope: the entry goes, the
        // members stay.
        let ops = upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.2", "10.244.1.3", "192.168.0.9"]),
        );
        assert_eq!(service_entry(&ops), Some(None));
        assert!(
            !ops.iter().any(|o| matches!(o, Op::Backend { .. })),
            "{ops:?}"
        );
        assert_eq!((s.picking(), s.draining()), (0, 1));
        // Still out of scope, one member gone: its slot is freed.
        let ops = upsert(
            &mut s,
            "web",
            port("10.96.0.10", &["10.244.1.3", "192.168.0.9"]),
        );
        assert_eq!(
            ops,
            vec![Op::Backend {
                slot: 1,
                value: [0; 8]
            }]
        );
        // Back in scope: the same block, listed again.
        let ops = upsert(&mut s, "web", port("10.96.0.10", &["10.244.1.3"]));
        assert_eq!(service_entry(&ops), Some(Some((1, 0))));
        assert_eq!((s.picking(), s.draining()), (1, 0));
    }

    #[test]
    fn a_removed_port_drains_and_expires_after_the_drain_time() {
        let mut s = State::new(pods());
        upsert(&mut s, "web", port("10.96.0.10", &["10.244.1.2"]));
        let t = Instant::now();
        let mut ops = Vec::new();
        s.update(&Update::Remove(name("web")), t, &mut ops);
        assert_eq!(service_entry(&ops), Some(None));
        let mut ops = Vec::new();
        s.expire(t + DRAIN / 2, &mut ops);
        assert!(ops.is_empty());
        s.expire(t + DRAIN, &mut ops);
        assert_eq!(
            ops,
            vec![
                Op::Backend {
                    slot: 1,
                    value: [0; 8]
                },
                Op::Backend {
                    slot: 0,
                    value: [0; 8]
                },
            ]
        );
        assert_eq!((s.picking(), s.draining()), (0, 0));
        // The block is free again.
        let ops = upsert(&mut s, "other", port("10.96.0.11", &["10.244.1.2"]));
        assert_eq!(service_entry(&ops), Some(Some((1, 0))));
    }

    #[test]
    fn a_changed_cluster_ip_drains_the_old_frontend_and_takes_a_new_block() {
        let mut s = State::new(pods());
        upsert(&mut s, "web", port("10.96.0.10", &["10.244.1.2"]));
        let ops = upsert(&mut s, "web", port("10.96.0.20", &["10.244.1.2"]));
        assert!(ops.contains(&Op::Service {
            frontend: frontend("10.96.0.10"),
            entry: None
        }));
        assert_eq!(service_entry(&ops), Some(Some((1, BLOCK_SIZE))));
        assert_eq!((s.picking(), s.draining()), (1, 1));
    }

    #[test]
    fn a_recovered_block_keeps_its_slots_and_unclaimed_ones_are_unlisted() {
        let (a, b) = (frontend("10.96.0.10"), frontend("10.96.0.11"));
        let ip = |s: &str| -> Ipv4Addr { s.parse().expect("ip") };
        let blocks = vec![
            (3, a, vec![(3 * BLOCK_SIZE + 5, (ip("10.244.1.2"), 8080))]),
            (7, b, vec![(7 * BLOCK_SIZE + 1, (ip("10.244.1.9"), 8080))]),
        ];
        let listed = [a, b].into_iter().collect();
        let mut s = State::recover(pods(), blocks, &listed, Instant::now());
        let mut ops = upsert(&mut s, "web", port("10.96.0.10", &["10.244.1.2"]));
        assert_eq!(
            ops,
            vec![
                Op::Pick {
                    index: 3 * BLOCK_SIZE,
                    slot: 3 * BLOCK_SIZE + 5
                },
                Op::Service {
                    frontend: a,
                    entry: Some((1, 3 * BLOCK_SIZE))
                },
            ]
        );
        ops.clear();
        s.finish_full(&mut ops);
        assert_eq!(
            ops,
            vec![Op::Service {
                frontend: b,
                entry: None
            }]
        );
        assert_eq!((s.picking(), s.draining()), (1, 1));
        // A new port does not take a recovered block.
        let ops = upsert(&mut s, "new", port("10.96.0.12", &["10.244.1.2"]));
        assert_eq!(service_entry(&ops), Some(Some((1, 0))));
    }

    #[test]
    fn a_full_block_swaps_an_endpoint_into_the_slot_just_freed() {
        let mut s = State::new(pods());
        let eps: Vec<String> = (1..=64).map(|i| format!("10.244.1.{i}")).collect();
        let eps: Vec<&str> = eps.iter().map(String::as_str).collect();
        upsert(&mut s, "big", port("10.96.0.10", &eps[..63]));
        let ops = upsert(&mut s, "big", port("10.96.0.10", &eps[1..]));
        assert_eq!(service_entry(&ops), Some(Some((63, 0))));
        // .64 took .1's slot, which is therefore not zeroed.
        assert!(ops.contains(&Op::Backend {
            slot: 1,
            value: ep("10.244.1.64")
        }));
        assert!(
            !ops.contains(&Op::Backend {
                slot: 1,
                value: [0; 8]
            }),
            "{ops:?}"
        );
        assert_eq!((s.picking(), s.draining()), (1, 0));
    }

    #[test]
    fn a_renamed_port_keeps_its_frontend_listed() {
        let mut s = State::new(pods());
        upsert(&mut s, "web", port("10.96.0.10", &["10.244.1.2"]));
        // One change, in name order: the new name first, then the old one's removal.
        let ops = upsert(&mut s, "http", port("10.96.0.10", &["10.244.1.2"]));
        assert_eq!(service_entry(&ops), Some(Some((1, 0))));
        let mut ops = Vec::new();
        s.update(&Update::Remove(name("web")), Instant::now(), &mut ops);
        assert!(ops.is_empty(), "{ops:?}");
        assert_eq!((s.picking(), s.draining()), (1, 0));
        // Its last name gone, it drains.
        s.update(&Update::Remove(name("http")), Instant::now(), &mut ops);
        assert_eq!(service_entry(&ops), Some(None));
    }

    #[test]
    fn too_many_endpoints_stay_off_the_fast_path() {
        let mut s = State::new(pods());
        let eps: Vec<String> = (1..=64).map(|i| format!("10.244.1.{i}")).collect();
        let eps: Vec<&str> = eps.iter().map(String::as_str).collect();
        let ops = upsert(&mut s, "big", port("10.96.0.10", &eps));
        assert!(ops.is_empty());
        let ops = upsert(&mut s, "big", port("10.96.0.10", &eps[..63]));
        assert_eq!(service_entry(&ops), Some(Some((63, 0))));
    }

    #[test]
    fn an_endpoint_given_a_slot_again_gets_a_new_generation() {
        let mut s = State::new(pods());
        let gen_of = |ops: &[Op]| {
            ops.iter().find_map(|o| match o {
                Op::Backend { slot: 1, value } if parse_backend(value).is_some() => {
                    Some(u16::from_ne_bytes([value[6], value[7]]))
                }
                _ => None,
            })
        };
        let mut ops = Vec::new();
        let web = |eps: &[&str]| Update::Upsert(name("web"), port("10.96.0.10", eps));
        s.update(&web(&["10.244.1.2"]), Instant::now(), &mut ops);
        let first = gen_of(&ops).expect("slot 1 assigned");
        // The pod goes (its slot is zeroed), then one with the same address comes back and
        // takes the same slot, with another generation.
        ops.clear();
        s.update(&web(&[]), Instant::now(), &mut ops);
        assert!(ops.contains(&Op::Backend {
            slot: 1,
            value: [0; 8]
        }));
        ops.clear();
        s.update(&web(&["10.244.1.2"]), Instant::now(), &mut ops);
        let second = gen_of(&ops).expect("slot 1 assigned again");
        assert_ne!(first, second);
        assert_ne!(second, HEADER_MARK);
        // A generation never makes a backend read as a header, or the reverse.
        let mut g = Generation(HEADER_MARK - 2);
        for _ in 0..4 {
            let v = backend_value(("10.244.1.2".parse().expect("ip"), 1), g.next());
            assert!(parse_backend(&v).is_some() && parse_header(&v).is_none());
        }
    }
}
