//! [`Proxy`]: the set of running frontends, reconciled by [`Proxy::sync`].

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus_client::registry::Registry;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{Error, Result};
use crate::frontend::FrontendState;
use crate::metrics::Metrics;
use crate::model::{BoundSocket, Config, Frontend, Protocol};
use crate::{tcp, udp};

type Key = (SocketAddr, Protocol);

/// What every frontend shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) cfg: Config,
    pub(crate) metrics: Metrics,
    /// Every TCP connection task, so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,
    /// Parent of every frontend's `stop`: cancelled on shutdown and on drop.
    stop_all: CancellationToken,
    /// Parent of every frontend's `kill`: cancelled when shutdown's drain deadline passes.
    pub(crate) shutdown_kill: CancellationToken,
}

#[derive(Debug)]
struct Running {
    state: Arc<FrontendState>,
    /// The accept loops (one per runtime of [`Config::tcp_runtimes`]) or the UDP loop.
    tasks: Vec<JoinHandle<()>>,
}

/// The userspace L4 data plane: TCP and UDP frontends forwarding to balanced backends.
///
/// Create with [`Proxy::new`], call [`Proxy::sync`] with the full desired set of frontends
/// whenever it changes, and [`Proxy::shutdown`] at the end. Dropping the proxy stops its
/// listeners and ends its connections without draining.
#[derive(Debug)]
pub struct Proxy {
    shared: Arc<Shared>,
    frontends: tokio::sync::Mutex<HashMap<Key, Running>>,
    closed: AtomicBool,
}

impl Proxy {
    /// A proxy with no frontends.
    pub fn new(cfg: Config) -> Self {
        Self {
            shared: Arc::new(Shared {
                cfg,
                metrics: Metrics::default(),
                tracker: TaskTracker::new(),
                stop_all: CancellationToken::new(),
                shutdown_kill: CancellationToken::new(),
            }),
            frontends: tokio::sync::Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    /// Registers the proxy's metrics (`connections_total`, `connections_active`,
    /// `connect_failures_total`, `rejected_total`, `bytes_total`, labelled by frontend) in
    /// `registry`, without a prefix of their own: give it a sub-registry such as
    /// `registry.sub_registry_with_prefix("proxy")` (one per proxy: two proxies in one
    /// registry would repeat the metric families).
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.shared.metrics.register(registry);
    }

    /// Reconciles the running frontends with `frontends` (the complete desired set,
    /// identified by `(listen, protocol)`; a later duplicate replaces an earlier one).
    ///
    /// New frontends are bound and start serving; removed ones stop listening before this
    /// returns, and their established TCP connections get `drain_timeout` to finish (UDP
    /// flows end at once). Frontends that stay get their backend table swapped atomically:
    /// established connections are untouched, connections to removed backends drain.
    ///
    /// A frontend that fails to bind is reported in the error but does not stop the others
    /// from being applied; it is retried on the next sync.
    pub async fn sync(&self, frontends: Vec<Frontend>) -> Result<()> {
        let mut running = self.frontends.lock().await;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let mut desired: BTreeMap<Key, Frontend> = BTreeMap::new();
        for fe in frontends {
            if let Some(prev) = desired.insert((fe.listen, fe.protocol), fe) {
                tracing::warn!(
                    listen = %prev.listen, protocol = %prev.protocol, name = %prev.name,
                    "duplicate frontend, the later one wins"
                );
            }
        }
        let removed: Vec<Key> = running
            .keys()
            .filter(|k| !desired.contains_key(k))
            .copied()
            .collect();
        for key in removed {
            if let Some(r) = running.remove(&key) {
                self.retire(r).await;
            }
        }
        let mut errors = Vec::new();
        for (key, fe) in desired {
            if let Some(r) = running.get(&key) {
                r.state.update(&fe);
                continue;
            }
            match self.start(&fe) {
                Ok(r) => {
                    tracing::info!(
                        listen = %fe.listen, protocol = %fe.protocol, name = %fe.name,
                        backends = fe.backends.len(), "frontend started"
                    );
                    running.insert(key, r);
                }
                Err(e) => {
                    tracing::warn!(error = %e, name = %fe.name, "frontend failed to start");
                    errors.push(e);
                }
            }
        }
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Several(errors)),
        }
    }

    /// The `(listen, protocol)` of every running frontend, sorted.
    pub async fn frontends(&self) -> Vec<(SocketAddr, Protocol)> {
        let mut keys: Vec<Key> = self.frontends.lock().await.keys().copied().collect();
        keys.sort();
        keys
    }

    /// Stops every listener, waits up to `drain_timeout` for established connections to
    /// finish, then resets the rest. Later [`Proxy::sync`] calls fail with
    /// [`Error::Shutdown`].
    pub async fn shutdown(&self) {
        let mut running = self.frontends.lock().await;
        self.closed.store(true, Ordering::Release);
        self.shared.stop_all.cancel();
        for (_, r) in running.drain() {
            for t in r.tasks {
                let _ = t.await;
            }
        }
        let tracker = &self.shared.tracker;
        tracker.close();
        let drain = self.shared.cfg.drain_timeout;
        if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
            tracing::info!(
                connections = tracker.len(),
                "drain deadline passed, resetting remaining connections"
            );
        }
        // Ends leftover connections and every pending drain timer.
        self.shared.shutdown_kill.cancel();
        tracker.wait().await;
    }

    fn start(&self, fe: &Frontend) -> Result<Running> {
        let bind_err = |source: io::Error| Error::Bind {
            listen: fe.listen,
            protocol: fe.protocol,
            source,
        };
        let wrong_kind = |other: &BoundSocket| {
            bind_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bind function returned {other:?} for a {} frontend",
                    fe.protocol
                ),
            ))
        };
        let cfg = &self.shared.cfg;
        // Every socket is bound and registered before any task starts, so a failure
        // leaves nothing listening (connections queued meanwhile on the sockets already
        // bound are reset when they close).
        match fe.protocol {
            Protocol::Tcp => {
                let current = [tokio::runtime::Handle::current()];
                let runtimes = match cfg.tcp_runtimes.as_slice() {
                    [] => &current[..],
                    some => some,
                };
                let reuse_port = runtimes.len() > 1;
                let mut listeners = Vec::with_capacity(runtimes.len());
                for rt in runtimes {
                    let l = match (cfg.bind)(fe.listen, fe.protocol, reuse_port) {
                        Ok(BoundSocket::Tcp(l)) => l,
                        Ok(other) => return Err(wrong_kind(&other)),
                        Err(e) => return Err(bind_err(e)),
                    };
                    l.set_nonblocking(true).map_err(bind_err)?;
                    // Registered with the reactor of the runtime that will poll it.
                    let _entered = rt.enter();
                    let l = tokio::net::TcpListener::from_std(l).map_err(bind_err)?;
                    listeners.push((rt, l));
                }
                let state = self.state(fe);
                let tasks = listeners
                    .into_iter()
                    .map(|(rt, l)| rt.spawn(tcp::serve(state.clone(), l)))
                    .collect();
                Ok(Running { state, tasks })
            }
            Protocol::Udp => {
                let s = match (cfg.bind)(fe.listen, fe.protocol, false) {
                    Ok(BoundSocket::Udp(s)) => s,
                    Ok(other) => return Err(wrong_kind(&other)),
                    Err(e) => return Err(bind_err(e)),
                };
                s.set_nonblocking(true).map_err(bind_err)?;
                let s = tokio::net::UdpSocket::from_std(s).map_err(bind_err)?;
                let state = self.state(fe);
                let tasks = vec![tokio::spawn(udp::serve(state.clone(), s))];
                Ok(Running { state, tasks })
            }
        }
    }

    fn state(&self, fe: &Frontend) -> Arc<FrontendState> {
        Arc::new(FrontendState::new(
            fe,
            self.shared.clone(),
            self.shared.stop_all.child_token(),
        ))
    }

    /// Stops `r` listening (closed when this returns) and lets its connections drain.
    async fn retire(&self, r: Running) {
        let state = r.state;
        tracing::info!(listen = %state.listen, protocol = %state.protocol, "frontend removed");
        state.stop.cancel();
        for t in r.tasks {
            let _ = t.await;
        }
        let drain = self.shared.cfg.drain_timeout;
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(drain) => state.kill.cancel(),
                () = state.kill.cancelled() => {}
            }
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop_all.cancel();
        self.shared.shutdown_kill.cancel();
    }
}
