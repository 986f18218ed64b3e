//! One running frontend: its swappable backend table, affinity map and lifecycle tokens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::balance;
use crate::endpoint::Endpoint;
use crate::metrics::FrontendLabels;
use crate::model::{Frontend, Protocol};
use crate::proxy::Shared;

/// A backend as the balancer sees it: shared state plus the conditions of the last sync.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) ep: Arc<Endpoint>,
    ready: bool,
    serving: bool,
    terminating: bool,
}

/// Everything a new connection reads, swapped whole on every sync (read without locks).
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) members: Vec<Member>,
    pub(crate) affinity: Option<Duration>,
    pub(crate) labels: FrontendLabels,
    pub(crate) name: String,
}

impl Table {
    /// Ready members, or when there are none the terminating-but-serving ones (as
    /// kube-proxy's `CategorizeEndpoints` falls back to serving terminating endpoints).
    fn eligible(&self) -> Vec<&Member> {
        let ready: Vec<&Member> = self.members.iter().filter(|m| m.ready).collect();
        if !ready.is_empty() {
            return ready;
        }
        self.members
            .iter()
            .filter(|m| m.serving && m.terminating)
            .collect()
    }
}

/// The ClientIP affinity map: client address → last backend and when it was last used.
#[derive(Debug, Default)]
struct Affinity {
    entries: HashMap<IpAddr, (SocketAddr, Instant)>,
    last_sweep: Option<Instant>,
}

/// Affinity maps at most this big are never swept; above it, expired entries are dropped
/// at most once per timeout. Keeps memory bounded by the client count within one timeout.
const AFFINITY_SWEEP_THRESHOLD: usize = 1024;

/// A running frontend.
#[derive(Debug)]
pub(crate) struct FrontendState {
    pub(crate) listen: SocketAddr,
    pub(crate) protocol: Protocol,
    pub(crate) table: ArcSwap<Table>,
    turn: AtomicUsize,
    affinity: Mutex<Affinity>,
    /// Stop accepting (TCP) or receiving (UDP); the socket is closed right after.
    pub(crate) stop: CancellationToken,
    /// End every connection and flow of this frontend (drain deadline passed).
    pub(crate) kill: CancellationToken,
    pub(crate) shared: Arc<Shared>,
}

impl FrontendState {
    pub(crate) fn new(fe: &Frontend, shared: Arc<Shared>, stop: CancellationToken) -> Self {
        let table = build_table(fe, None);
        Self {
            listen: fe.listen,
            protocol: fe.protocol,
            table: ArcSwap::from_pointee(table),
            turn: AtomicUsize::new(0),
            affinity: Mutex::new(Affinity::default()),
            stop,
            kill: shared.shutdown_kill.child_token(),
            shared,
        }
    }

    /// Swaps in `fe`'s backends. Endpoints that stay keep their state (in-flight counts,
    /// health); removed ones are drained: UDP flows move at once, TCP connections get
    /// `drain_timeout` to finish.
    pub(crate) fn update(self: &Arc<Self>, fe: &Frontend) {
        let old = self.table.load_full();
        let new = build_table(fe, Some(&old));
        if new.affinity.is_none() {
            self.affinity_map().entries.clear();
        }
        let removed: Vec<Arc<Endpoint>> = old
            .members
            .iter()
            .filter(|m| !new.members.iter().any(|n| Arc::ptr_eq(&n.ep, &m.ep)))
            .map(|m| m.ep.clone())
            .collect();
        self.table.store(Arc::new(new));
        for ep in removed {
            tracing::debug!(frontend = %fe.name, backend = %ep.addr, "backend removed, draining");
            ep.removed.cancel();
            let this = self.clone();
            let drain = self.shared.cfg.drain_timeout;
            tokio::spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(drain) => {}
                    // The whole frontend ends: its connections go with it anyway.
                    () = this.kill.cancelled() => return,
                }
                // Came back meanwhile (as a new Endpoint): its old connections are fine.
                let back = this
                    .table
                    .load()
                    .members
                    .iter()
                    .any(|m| m.ep.addr == ep.addr);
                if !back {
                    ep.gone.cancel();
                }
            });
        }
    }

    /// Backends to try for a new connection from `client`, best first, at most
    /// `max_connect_attempts`: the affinity backend if still eligible and healthy, then
    /// healthy eligible backends in the balancer's order, then ejected ones (soonest
    /// ejection end first — a panic mode that beats failing outright when every backend
    /// was ejected, e.g. all pods restarted at once).
    pub(crate) fn plan(&self, client: IpAddr) -> (Arc<Table>, Vec<Arc<Endpoint>>) {
        let table = self.table.load_full();
        let now = Instant::now();
        let eligible = table.eligible();
        let (healthy, mut ejected): (Vec<&Member>, Vec<&Member>) = eligible
            .into_iter()
            .partition(|m| !m.ep.health().is_ejected(now));
        let loads: Vec<usize> = healthy.iter().map(|m| m.ep.active()).collect();
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        let order = balance::order(self.shared.cfg.algorithm, &loads, turn, &mut rand::rng());
        let mut plan: Vec<Arc<Endpoint>> = order.iter().map(|&i| healthy[i].ep.clone()).collect();
        if let Some(timeout) = table.affinity
            && let Some(sticky) = self.sticky(client, timeout, now)
            && let Some(pos) = plan.iter().position(|ep| ep.addr == sticky)
        {
            let ep = plan.remove(pos);
            plan.insert(0, ep);
        }
        ejected.sort_by_key(|m| m.ep.health().ejected_until());
        plan.extend(ejected.into_iter().map(|m| m.ep.clone()));
        plan.truncate(self.shared.cfg.max_connect_attempts.max(1));
        (table, plan)
    }

    /// Remembers that `client` was sent to `backend` (ClientIP affinity).
    pub(crate) fn remember(&self, table: &Table, client: IpAddr, backend: SocketAddr) {
        let Some(timeout) = table.affinity else {
            return;
        };
        let now = Instant::now();
        let mut aff = self.affinity_map();
        aff.entries.insert(client, (backend, now));
        if aff.entries.len() > AFFINITY_SWEEP_THRESHOLD
            && aff
                .last_sweep
                .is_none_or(|t| now.duration_since(t) >= timeout)
        {
            aff.entries
                .retain(|_, (_, used)| now.duration_since(*used) < timeout);
            aff.last_sweep = Some(now);
        }
    }

    fn sticky(&self, client: IpAddr, timeout: Duration, now: Instant) -> Option<SocketAddr> {
        let mut aff = self.affinity_map();
        match aff.entries.get(&client) {
            Some(&(backend, used)) if now.duration_since(used) < timeout => Some(backend),
            Some(_) => {
                aff.entries.remove(&client);
                None
            }
            None => None,
        }
    }

    fn affinity_map(&self) -> std::sync::MutexGuard<'_, Affinity> {
        self.affinity.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failed connect to `ep` (ejects it) and counts it.
    pub(crate) fn connect_failed(&self, table: &Table, ep: &Endpoint, err: &dyn std::fmt::Display) {
        let cfg = &self.shared.cfg;
        let backoff = ep.fail(Instant::now(), cfg.ejection_base, cfg.ejection_max);
        self.shared.metrics.connect_failed(&table.labels);
        tracing::info!(
            frontend = %table.name, backend = %ep.addr, error = %err,
            ejected_for = ?backoff, "backend connect failed, ejecting"
        );
    }
}

fn build_table(fe: &Frontend, old: Option<&Table>) -> Table {
    let mut members: Vec<Member> = Vec::with_capacity(fe.backends.len());
    for b in &fe.backends {
        // Duplicate addresses: the first entry wins.
        if members.iter().any(|m| m.ep.addr == b.addr) {
            continue;
        }
        let ep = old
            .and_then(|t| t.members.iter().find(|m| m.ep.addr == b.addr))
            .map(|m| m.ep.clone())
            .unwrap_or_else(|| Arc::new(Endpoint::new(b.addr)));
        members.push(Member {
            ep,
            ready: b.ready,
            serving: b.serving,
            terminating: b.terminating,
        });
    }
    Table {
        members,
        affinity: fe.affinity.filter(|d| !d.is_zero()),
        labels: FrontendLabels::new(&fe.name, fe.protocol),
        name: fe.name.clone(),
    }
}
