//! The conntrack-free eBPF fast path (`tether agent --ebpf-fast-path`): plain ClusterIP
//! ports served by two tcx programs before the IP stack, next to the nftables table that
//! serves everything else.
//!
//! Newcomers start with [`run`], which feeds [`tether_servicemap`] snapshots to a
//! [`Dataplane`]. The programs ([`programs`]) are assembled at start with the node's devices
//! and the maps ([`maps`]) baked in:
//!
//! - **forward**, on the uplink's ingress: a packet from a client on the uplink's subnets
//!   whose flow is recorded (one LRU lookup) goes to the endpoint it recorded, as long as
//!   that endpoint still holds its slot (one array lookup); a SYN to a listed Service port
//!   picks an endpoint at random and records both directions. The destination address and
//!   port are rewritten (checksums by the kernel's helpers). Every SYN goes to the bridge
//!   with `bpf_redirect_neigh` (and records its flow afresh, keeping a valid flow's
//!   endpoint); once the pod's SYN-ACK has taught the flow the pod's veth and MACs, its
//!   packets get those MACs and go straight into the pod's namespace with
//!   `bpf_redirect_peer` (as Cilium's host routing does): no routing, no conntrack, no
//!   nftables, no bridge, no neighbour lookup, no second backlog queue.
//! - **reply**, on each pod veth's ingress: a reply of a recorded flow gets the ClusterIP
//!   and port back, and the MACs the SYN brought (its source, the client's or its
//!   router's, and the uplink's), and leaves by `bpf_redirect` out of the uplink (which
//!   must be an Ethernet device). On a pod veth (a veth whose peer is in another
//!   namespace) a SYN-ACK also records the veth and MACs in its flow, once per SYN.
//!
//! Anything else passes to the stack untouched (`TCX_NEXT`), where the `ip` table and
//! conntrack serve it: pods and the node as clients, NodePorts, load balancer addresses,
//! UDP, affinity, `Local` policies, endpoints off the bridge, IP options and fragments.
//!
//! **Scope** is the netdev path's ([`tether_nft::netdev::FastPort`]) with up to
//! [`state::MAX_ENDPOINTS`] endpoints. **Changes** are map writes in work proportional to
//! the change ([`state`]): an endpoint keeps its slot while it is a member, so flows to it
//! go on; a removed endpoint's flows fall back to the stack while it is out (when it, or a
//! pod with its address, comes back to the same slot, they go on through the bridge: each
//! assignment has its own generation, and the veth a flow learned may be gone); a port that leaves the scope
//! stops taking new flows and serves its recorded ones for [`state::DRAIN`] (its members
//! still follow its endpoints). A deleted Service port (or one whose ClusterIP changed, or
//! one a restarted agent finds and no Service claims) keeps its last members for that
//! time, as conntrack keeps a deleted Service's DNAT for established connections; a
//! client's packets on such a flow reach whatever holds that pod address then (dropped
//! when the flow learned the old pod's veth and that veth is gone). **Restarts**
//! keep established flows: the programs are attached without links (they stay when the
//! process exits), and a new process finds them on the uplink, takes over their maps,
//! recovers the block assignment from the block headers, and replaces the programs in
//! place. A process whose maps have another layout (an upgrade that changed it) does
//! not take them over: it detaches the old forward program first (new connections take
//! the `ip` table meanwhile) and starts afresh, so the old fast flows fall to the stack.
//! Turned off, [`remove`] detaches them.
//!
//! **Limits.** TTL is not decremented (the node is not a routing hop for these flows,
//! as with kube-proxy's IPVS `DR`); a frame whose headers are not in its linear part
//! passes to the stack; the two LRU maps evict independently (under a flood of more than
//! [`maps::FLOW_CAPACITY`] flows a connection can lose one direction's entry); entries
//! outlive their connection, so a client port reused for the same pod and target port
//! through another way within that time has its replies rewritten (as in the netdev path);
//! flows that learned their pod link skip the bridge and the host veth's egress (bridge
//! netfilter, qdiscs, counters); the programs write packets, so a cloned frame (say,
//! with a packet socket open on the uplink) is copied before they run; VLAN-tagged frames
//! pass to the stack. A pod able to forge a SYN-ACK for another endpoint's address in the
//! moment between a client's SYN and the real answer could have that flow delivered to
//! its veth; the learning takes the first SYN-ACK only.

pub mod maps;
pub mod metrics;
pub mod programs;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_bpf::{PROG_TYPE_SCHED_CLS, Program, TcxHook, tcx_attach, tcx_detach, tcx_query};
use tether_netns::{Handle, NetNs};
use tether_nft::netdev::Devices;
use tether_servicemap::{ServiceMap, changes};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::maps::Maps;
pub use crate::metrics::Metrics;
use crate::state::State;

/// Errors of the eBPF data plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `bpf(2)` call failed (or the verifier refused a program).
    #[error(transparent)]
    Bpf(#[from] tether_bpf::Error),
    /// A program did not assemble (a bug).
    #[error("assembling a program: {0}")]
    Asm(#[from] tether_bpf::asm::AsmError),
    /// The namespace or a device could not be reached.
    #[error(transparent)]
    Netns(#[from] tether_netns::Error),
    /// The bridge's ports could not be read.
    #[error(transparent)]
    Ports(#[from] tether_nft::Error),
    /// The programs parse Ethernet frames.
    #[error("uplink {0:?} is not an Ethernet device: the eBPF fast path needs one")]
    NotEthernet(String),
}

/// The data plane's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The node's network namespace (a file such as `/run/netns/NAME`); `None` for the
    /// caller's own.
    pub netns: Option<PathBuf>,
    /// Uplink, bridge and the subnets of clients and pods.
    pub devices: Devices,
}

fn open_netns(netns: Option<&PathBuf>) -> Result<NetNs, Error> {
    Ok(match netns {
        Some(p) => NetNs::from_path(p)?,
        None => NetNs::from_path("/proc/self/ns/net")?,
    })
}

/// The attached program named `name` at `ifindex`'s ingress, if any (call in the
/// namespace).
fn attached(ifindex: u32, name: &str) -> Result<Option<Program>, Error> {
    for id in tcx_query(ifindex, TcxHook::Ingress)? {
        let Ok(p) = Program::from_id(id) else {
            continue; // detached meanwhile
        };
        if p.info()?.name == name {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Attaches `prog` at `ifindex`'s ingress in place of the program of the same name there,
/// or afresh when there is none (or it went meanwhile) (call in the namespace).
fn attach(prog: &Program, ifindex: u32, name: &str) -> Result<(), Error> {
    if let Some(old) = attached(ifindex, name)? {
        match tcx_attach(prog, ifindex, TcxHook::Ingress, Some(&old)) {
            Ok(()) => return Ok(()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(tcx_attach(prog, ifindex, TcxHook::Ingress, None)?)
}

/// Detaches every program named `name` at `ifindex`'s ingress (call in the namespace).
fn detach_all(ifindex: u32, name: &str) -> Result<(), Error> {
    while let Some(p) = attached(ifindex, name)? {
        tcx_detach(&p, ifindex, TcxHook::Ingress)?;
    }
    Ok(())
}

/// The programs on the node and what they serve.
#[derive(Debug)]
pub struct Dataplane {
    ns: NetNs,
    handle: Handle,
    devices: Devices,
    maps: Maps,
    /// The reply program for pod veths (it teaches flows their pod link).
    reply: Program,
    /// The reply program for other bridge ports (their flows stay on the bridge).
    reply_plain: Program,
    /// Bridge ports with the reply program: index → whether it is the learning one.
    hooked: BTreeMap<u32, bool>,
    state: State,
    /// The map last synced (`None` before the first sync, which takes every port).
    last: Option<Arc<ServiceMap>>,
    /// Whether the maps were taken over from a previous process.
    recovered: bool,
}

impl Dataplane {
    /// Loads the programs and attaches them (in place of a previous process's, whose maps
    /// and flows it takes over when they have this layout). Nothing is listed until
    /// [`sync`](Self::sync).
    pub async fn open(cfg: &Config) -> Result<Self, Error> {
        let ns = open_netns(cfg.netns.as_ref())?;
        let handle = ns.handle().await?;
        let d = &cfg.devices;
        let uplink = tether_netns::link_index(&handle, &d.uplink).await?;
        if !tether_netns::link_is_ethernet(&handle, &d.uplink).await? {
            return Err(Error::NotEthernet(d.uplink.clone()));
        }
        let bridge = tether_netns::link_index(&handle, &d.bridge).await?;
        let old = ns.run(|| attached(uplink, programs::FORWARD))??;
        let taken = match &old {
            Some(p) => Maps::of(p)?,
            None => None,
        };
        let recovered = taken.is_some();
        if let (Some(old), None) = (&old, &taken) {
            // Another layout's program: its flows cannot be served with new maps, and its
            // SYNs must not be recorded in maps the new reply programs do not read.
            ns.run(|| tcx_detach(old, uplink, TcxHook::Ingress))??;
            tracing::info!(uplink = %d.uplink, "eBPF fast path of another map layout detached");
        }
        let (maps, state) = match taken {
            Some(maps) => {
                let (blocks, listed) = maps.recovered()?;
                let state = State::recover(d.pods.clone(), blocks, &listed, Instant::now());
                (maps, state)
            }
            None => (Maps::create()?, State::new(d.pods.clone())),
        };
        let forward = Program::load(
            PROG_TYPE_SCHED_CLS,
            programs::FORWARD,
            &programs::forward(&maps, &d.clients, bridge)?,
        )?;
        let load_reply = |learn| -> Result<Program, Error> {
            let code = programs::reply(&maps, &d.clients, uplink, learn)?;
            Ok(Program::load(PROG_TYPE_SCHED_CLS, programs::REPLY, &code)?)
        };
        let (reply, reply_plain) = (load_reply(true)?, load_reply(false)?);
        let mut dp = Self {
            ns,
            handle,
            devices: d.clone(),
            maps,
            reply,
            reply_plain,
            hooked: BTreeMap::new(),
            state,
            last: None,
            recovered,
        };
        // Replies first: a flow must never be forwarded without its way back.
        dp.hook_ports()?;
        dp.ns
            .run(|| attach(&forward, uplink, programs::FORWARD))??;
        tracing::info!(
            uplink = %d.uplink,
            bridge = %d.bridge,
            ports = dp.hooked.len(),
            recovered,
            "eBPF fast path attached"
        );
        Ok(dp)
    }

    /// Whether the maps (and their flows) were taken over from a previous process.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// The block assignment.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The maps.
    pub fn maps(&self) -> &Maps {
        &self.maps
    }

    /// The bridge ports (veth indexes) the reply program is on, each with whether it is
    /// the program that learns pod links.
    pub fn hooked(&self) -> &BTreeMap<u32, bool> {
        &self.hooked
    }

    /// Puts the reply program on bridge ports that do not have it yet.
    fn hook_ports(&mut self) -> Result<(), Error> {
        let ports = tether_nft::ports::bridge_ports(Some(self.ns.path()), &self.devices.bridge)?;
        let present: BTreeSet<u32> = ports.values().map(|p| p.index).collect();
        self.hooked.retain(|i, _| present.contains(i));
        // New ports, and ports whose kind changed (a veth whose peer moved to a pod's
        // namespace after it was first seen).
        let new: Vec<(String, tether_nft::ports::Port)> = ports
            .into_iter()
            .filter(|(_, p)| self.hooked.get(&p.index) != Some(&p.veth_to_other_netns))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let (reply, plain) = (&self.reply, &self.reply_plain);
        let (done, failed) = self.ns.run(|| {
            let mut done = Vec::new();
            let mut failed = None;
            for (name, p) in &new {
                let prog = if p.veth_to_other_netns { reply } else { plain };
                match attach(prog, p.index, programs::REPLY) {
                    Ok(()) => done.push((p.index, p.veth_to_other_netns)),
                    Err(e) => {
                        tracing::warn!(port = %name, error = %e, "attaching the reply program");
                        failed.get_or_insert(e);
                    }
                }
            }
            (done, failed)
        })?;
        self.hooked.extend(done);
        // A pod whose replies would not be rewritten must not get fast flows: the sync
        // fails (nothing is listed) and is retried; a veth that went meanwhile is gone
        // from the next dump.
        failed.map_or(Ok(()), Err)
    }

    /// Brings the maps in line with `map`: every port the first time (recovered ports no
    /// longer in scope drain), afterwards only the ports that changed. New pod veths get
    /// the reply program first. On an error the caller opens a new [`Dataplane`] (which
    /// recovers from the maps).
    pub async fn sync(&mut self, map: &Arc<ServiceMap>) -> Result<usize, Error> {
        self.hook_ports()?;
        let now = Instant::now();
        let mut ops = Vec::new();
        let first = self.last.is_none();
        let empty = ServiceMap::default();
        for u in &changes(self.last.as_deref().unwrap_or(&empty), map) {
            self.state.update(u, now, &mut ops);
        }
        if first {
            self.state.finish_full(&mut ops);
        }
        self.state.expire(now, &mut ops);
        self.maps.apply(&ops)?;
        self.last = Some(Arc::clone(map));
        Ok(ops.len())
    }

    /// Detaches the programs (their maps, and so every fast flow, go with them).
    pub async fn detach(self) -> Result<(), Error> {
        remove_in(&self.ns, &self.handle, &self.devices).await?;
        tracing::debug!(bridge = %self.devices.bridge, "eBPF fast path detached");
        Ok(())
    }
}

/// Detaches the programs a previous process left on `devices` (the fast path turned off),
/// if any.
pub async fn remove(netns: Option<PathBuf>, devices: &Devices) -> Result<(), Error> {
    let ns = open_netns(netns.as_ref())?;
    let h = ns.handle().await?;
    remove_in(&ns, &h, devices).await
}

/// Detaches every program of ours from the uplink and the bridge's ports, going on past
/// failures (a veth that goes meanwhile takes its program along); the first error, if any.
async fn remove_in(ns: &NetNs, h: &Handle, devices: &Devices) -> Result<(), Error> {
    let mut targets = vec![(
        tether_netns::link_index(h, &devices.uplink).await?,
        programs::FORWARD,
    )];
    for p in tether_nft::ports::bridge_ports(Some(ns.path()), &devices.bridge)?.into_values() {
        targets.push((p.index, programs::REPLY));
    }
    ns.run(|| {
        let mut first = None;
        for (i, name) in &targets {
            if let Err(e) = detach_all(*i, name) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    })?
}

/// Runs the data plane: waits for the first snapshot on `map_rx` (the channel's
/// placeholder is not applied), opens the [`Dataplane`] and syncs every new snapshot (and
/// once a minute, for drains that expired). After a failure it opens the data plane again,
/// recovering from its maps, backing off from 5 s to 5 min while it keeps failing (the
/// nftables table serves every connection meanwhile). Returns on `shutdown` or when the
/// sender is gone, leaving the programs attached (as the `ip` table stays), and when the
/// uplink is no Ethernet device, detaching whatever an earlier open left.
pub async fn run(
    mut map_rx: watch::Receiver<Arc<ServiceMap>>,
    cfg: Config,
    metrics: Option<Metrics>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        r = map_rx.changed() => if r.is_err() { return Ok(()) },
    }
    let mut dp: Option<Dataplane> = None;
    let mut failures = 0u32;
    loop {
        let map = map_rx.borrow_and_update().clone();
        if dp.is_none() {
            match Dataplane::open(&cfg).await {
                Ok(d) => dp = Some(d),
                // Not worth retrying: the uplink will not become an Ethernet device.
                Err(e @ Error::NotEthernet(_)) => {
                    tracing::warn!(error = %e, "eBPF fast path off; the nftables table serves everything");
                    if let Err(e) = remove(cfg.netns.clone(), &cfg.devices).await {
                        tracing::warn!(error = %e, "detaching the eBPF fast path");
                    }
                    return Ok(());
                }
                Err(e) => tracing::error!(error = %e, "eBPF fast path: attaching failed; retrying"),
            }
        }
        let ok = match dp.as_mut() {
            Some(d) => match d.sync(&map).await {
                Ok(ops) => {
                    tracing::debug!(
                        ops,
                        picking = d.state().picking(),
                        draining = d.state().draining(),
                        "eBPF fast path synced"
                    );
                    true
                }
                Err(e) => {
                    tracing::error!(error = %e, "eBPF fast path sync failed; reopening");
                    dp = None;
                    false
                }
            },
            None => false,
        };
        if let Some(m) = &metrics {
            m.observe(ok, dp.as_ref());
        }
        // Failures back off (5 s doubling to 5 min: a kernel without tcx fails every time).
        failures = if ok { 0 } else { failures.saturating_add(1) };
        let wait = if ok {
            Duration::from_secs(60)
        } else {
            Duration::from_secs(5u64 << failures.min(6)).min(Duration::from_secs(300))
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            r = map_rx.changed() => if r.is_err() { return Ok(()) },
            () = tokio::time::sleep(wait) => {}
        }
    }
}
