//! UDP frontends: a flow per client address, each with its own connected upstream socket.
//!
//! The frontend socket receives every client datagram; the flow table (owned by the
//! receive loop, so no lock) maps the client address to a socket connected to the chosen
//! backend. A task per flow relays the backend's replies back *from the frontend socket*,
//! so the client sees answers from the address it sent to. A flow ends after
//! `udp_idle_timeout` without traffic, when its backend is removed (like kube-proxy's
//! conntrack cleanup for UDP), or when the backend refuses (ICMP port unreachable surfaces
//! as `ECONNREFUSED` on the connected socket; the backend is then ejected). A flow whose
//! backend refused before ever answering resends its first datagram through a new flow to
//! another backend (up to `max_connect_attempts` flows per datagram), so a dead endpoint
//! costs the client nothing, as a refused TCP connect does.
//!
//! Flows are created in the proxy's own network namespace, like TCP connects.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::endpoint::Endpoint;
use crate::frontend::FrontendState;
use crate::metrics::ConnGuard;

/// Largest datagram relayed: the UDP payload limit over IPv4 (65,535 − 8 − 20).
const MAX_DATAGRAM: usize = 65_507;

/// One client's flow.
#[derive(Debug)]
struct Flow {
    id: u64,
    upstream: Arc<UdpSocket>,
    ep: Arc<Endpoint>,
    last: Arc<Mutex<Instant>>,
    closed: CancellationToken,
    to_backend: prometheus_client::metrics::counter::Counter,
}

fn touch(last: &Mutex<Instant>) {
    *last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
}

/// A flow's end, reported by its relay task to the receive loop.
#[derive(Debug)]
struct Ended {
    client: SocketAddr,
    id: u64,
    /// The flow's first datagram when the backend refused it before ever answering:
    /// resent through a new flow so the client does not notice.
    retry: Option<Vec<u8>>,
    attempt: usize,
}

/// The receive loop's state: the flow table and the flows' relay tasks.
struct Flows {
    fe: Arc<FrontendState>,
    socket: Arc<UdpSocket>,
    table: HashMap<SocketAddr, Flow>,
    tasks: JoinSet<()>,
    ended: mpsc::UnboundedSender<Ended>,
    next_id: u64,
}

/// Receives until `fe.stop` is cancelled, then ends every flow (UDP has no connection to
/// drain: without the frontend socket no reply could reach the client anyway).
pub(crate) async fn serve(fe: Arc<FrontendState>, socket: UdpSocket) {
    let (ended_tx, mut ended_rx) = mpsc::unbounded_channel::<Ended>();
    let mut flows = Flows {
        fe: fe.clone(),
        socket: Arc::new(socket),
        table: HashMap::new(),
        tasks: JoinSet::new(),
        ended: ended_tx,
        next_id: 0,
    };
    let socket = flows.socket.clone();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            biased;
            () = fe.stop.cancelled() => break,
            Some(ended) = ended_rx.recv() => flows.ended(ended),
            Some(_) = flows.tasks.join_next(), if !flows.tasks.is_empty() => {}
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, client)) => flows.forward(client, &buf[..n]),
                Err(e) => tracing::debug!(listen = %fe.listen, error = %e, "recv failed"),
            }
        }
    }
    flows.tasks.shutdown().await;
    tracing::debug!(listen = %fe.listen, "stopped listening");
}

impl Flows {
    /// Sends a client datagram through its flow, opening one when needed.
    fn forward(&mut self, client: SocketAddr, datagram: &[u8]) {
        if let Some(flow) = self.table.get(&client)
            && !flow.closed.is_cancelled()
        {
            touch(&flow.last);
            match send_now(&flow.upstream, datagram) {
                Ok(_) => {
                    flow.to_backend.inc_by(datagram.len() as u64);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // The backend refused an earlier datagram: eject it and open a new
                    // flow for this one.
                    let table = self.fe.table.load_full();
                    self.fe.connect_failed(&table, &flow.ep, &e);
                    flow.closed.cancel();
                }
            }
        }
        self.open(client, datagram, 0);
    }

    fn ended(&mut self, ended: Ended) {
        // A newer flow for the same client replaced this one meanwhile: leave it alone.
        if self
            .table
            .get(&ended.client)
            .is_none_or(|f| f.id != ended.id)
        {
            return;
        }
        self.table.remove(&ended.client);
        if let Some(datagram) = ended.retry {
            let attempt = ended.attempt + 1;
            if attempt < self.fe.shared.cfg.max_connect_attempts {
                self.open(ended.client, &datagram, attempt);
            }
        }
    }

    /// Chooses a backend for `client`, starts the flow's relay task and sends `datagram`.
    fn open(&mut self, client: SocketAddr, datagram: &[u8], attempt: usize) {
        let fe = &self.fe;
        let (table, plan) = fe.plan(client.ip());
        let mut chosen = None;
        for ep in plan {
            match connected_socket(ep.addr) {
                Ok(s) => {
                    chosen = Some((ep, s));
                    break;
                }
                Err(e) => fe.connect_failed(&table, &ep, &e),
            }
        }
        let Some((ep, upstream)) = chosen else {
            tracing::debug!(frontend = %table.name, client = %client, "no backend, dropping datagram");
            fe.shared.metrics.rejected(&table.labels);
            self.table.remove(&client);
            return;
        };
        fe.remember(&table, client.ip(), ep.addr);
        tracing::debug!(frontend = %table.name, client = %client, backend = %ep.addr, attempt, "new flow");
        self.next_id += 1;
        let conn = fe.shared.metrics.open(&table.labels);
        let upstream = Arc::new(upstream);
        let flow = Flow {
            id: self.next_id,
            upstream: upstream.clone(),
            ep: ep.clone(),
            last: Arc::new(Mutex::new(Instant::now())),
            closed: CancellationToken::new(),
            to_backend: conn.0.to_backend.clone(),
        };
        match send_now(&flow.upstream, datagram) {
            Ok(_) => {
                flow.to_backend.inc_by(datagram.len() as u64);
            }
            Err(e) => {
                tracing::debug!(client = %client, error = %e, "send to backend failed");
            }
        }
        let relay = Relay {
            fe: fe.clone(),
            frontend: self.socket.clone(),
            upstream,
            client,
            ep,
            last: flow.last.clone(),
            closed: flow.closed.clone(),
            conn,
            first: Some(datagram.to_vec()),
        };
        let (id, ended) = (flow.id, self.ended.clone());
        self.tasks.spawn(async move {
            let retry = relay.run().await;
            let _ = ended.send(Ended {
                client,
                id,
                retry,
                attempt,
            });
        });
        self.table.insert(client, flow);
    }
}

/// A UDP socket connected to `backend`, in the proxy's own namespace.
fn connected_socket(backend: SocketAddr) -> io::Result<UdpSocket> {
    let local: SocketAddr = if backend.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = std::net::UdpSocket::bind(local)?;
    s.connect(backend)?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s)
}

/// The reply half of a flow: backend → frontend socket → client.
struct Relay {
    fe: Arc<FrontendState>,
    frontend: Arc<UdpSocket>,
    upstream: Arc<UdpSocket>,
    client: SocketAddr,
    ep: Arc<Endpoint>,
    last: Arc<Mutex<Instant>>,
    closed: CancellationToken,
    conn: ConnGuard,
    /// The flow's first datagram, kept until the backend answers (see [`Ended::retry`]).
    first: Option<Vec<u8>>,
}

impl Relay {
    /// Relays replies until the flow ends; returns the first datagram to resend when the
    /// backend refused it without ever answering.
    async fn run(mut self) -> Option<Vec<u8>> {
        let mut retry = None;
        let _in_flight = self.ep.acquire();
        let idle = self.fe.shared.cfg.udp_idle_timeout;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let deadline = *self.last.lock().unwrap_or_else(|e| e.into_inner()) + idle;
            tokio::select! {
                () = self.closed.cancelled() => break,
                () = self.ep.removed.cancelled() => break,
                () = self.fe.kill.cancelled() => break,
                () = tokio::time::sleep_until(deadline) => {
                    let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
                    if last + idle <= Instant::now() {
                        tracing::debug!(client = %self.client, backend = %self.ep.addr, "flow idle, closing");
                        break;
                    }
                }
                r = self.upstream.recv(&mut buf) => match r {
                    Ok(n) => {
                        self.first = None;
                        touch(&self.last);
                        match self.frontend.send_to(&buf[..n], self.client).await {
                            Ok(_) => {
                                self.conn.0.to_client.inc_by(n as u64);
                            }
                            Err(e) => {
                                tracing::debug!(client = %self.client, error = %e, "reply to client failed");
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        let table = self.fe.table.load_full();
                        self.fe.connect_failed(&table, &self.ep, &e);
                        retry = self.first.take();
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(backend = %self.ep.addr, error = %e, "recv from backend failed");
                        break;
                    }
                }
            }
        }
        self.closed.cancel();
        retry
    }
}

/// Sends on the connected upstream socket right away, without waiting: a full socket buffer
/// drops the datagram (`WouldBlock`), as the network would. (tokio's `try_send` reports
/// `WouldBlock` until the reactor has seen the new socket writable, which would drop every
/// flow's first datagram.)
fn send_now(upstream: &UdpSocket, datagram: &[u8]) -> io::Result<usize> {
    socket2::SockRef::from(upstream).send(datagram)
}
