//! The proxy's input: frontends (what to listen on) and their backends, plus [`Config`].
//!
//! These types are deliberately independent of the service model; the binary maps each
//! Service port (ClusterIP, NodePort, LoadBalancer address) onto one [`Frontend`].

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::balance::Algorithm;

/// L4 protocol of a frontend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP: one upstream connection per accepted client connection.
    Tcp,
    /// UDP: one upstream flow per client address.
    Udp,
}

impl Protocol {
    /// Lower-case name, as used in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One listening address and the backends its traffic is spread over.
///
/// Frontends are identified by `(listen, protocol)`: a [`crate::Proxy::sync`] with the same
/// key updates the backends in place; a different key is a different listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontend {
    /// Address the proxy binds (through [`Config::bind`]).
    pub listen: SocketAddr,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Candidate endpoints; the eligible ones are chosen per [`Backend`]'s conditions.
    pub backends: Vec<Backend>,
    /// `sessionAffinity: ClientIP` with this timeout (`None`: no affinity).
    pub affinity: Option<Duration>,
    /// Name for logs and metrics, e.g. `default/web:http`.
    pub name: String,
}

/// One endpoint of a frontend, with the EndpointSlice conditions that select it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backend {
    /// Address connections are forwarded to.
    pub addr: SocketAddr,
    /// `conditions.ready`: receives new traffic.
    pub ready: bool,
    /// `conditions.serving`: can answer even while terminating.
    pub serving: bool,
    /// `conditions.terminating`: the pod is shutting down.
    pub terminating: bool,
}

impl Backend {
    /// A ready, serving, non-terminating backend at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            ready: true,
            serving: true,
            terminating: false,
        }
    }

    /// A terminating backend that still serves (used only when no backend is ready).
    pub fn terminating(addr: SocketAddr) -> Self {
        Self {
            addr,
            ready: false,
            serving: true,
            terminating: true,
        }
    }
}

/// A socket bound by [`Config::bind`]: a TCP listener (already listening) or a UDP socket.
#[derive(Debug)]
pub enum BoundSocket {
    /// A listening TCP socket.
    Tcp(std::net::TcpListener),
    /// A bound UDP socket.
    Udp(std::net::UdpSocket),
}

/// The function that binds a frontend's socket; see [`Config::bind`]. Its third argument
/// asks for `SO_REUSEPORT` (the proxy binds one socket per runtime in
/// [`Config::tcp_runtimes`] on the same address).
pub type BindFn = Arc<dyn Fn(SocketAddr, Protocol, bool) -> io::Result<BoundSocket> + Send + Sync>;

/// TCP listen backlog of [`bind`]: the kernel caps it at `net.core.somaxconn`
/// (4096 since Linux 5.4), so asking for the same lets the sysctl decide.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds `addr` in the calling thread's network namespace with `SO_REUSEADDR` (so a
/// frontend can be re-added while connections of its previous incarnation sit in
/// `TIME_WAIT`), `SO_REUSEPORT` when `reuse_port` (several sockets, one per thread or
/// process, listen on the same address and the kernel spreads connections among them) and,
/// for IPv6, `IPV6_V6ONLY`. No `IP_FREEBIND`/`IP_TRANSPARENT`: the address must exist on an
/// interface. The default [`Config::bind`].
pub fn bind(addr: SocketAddr, protocol: Protocol, reuse_port: bool) -> io::Result<BoundSocket> {
    use socket2::{Domain, Socket, Type};
    let domain = Domain::for_address(addr);
    let (ty, proto) = match protocol {
        Protocol::Tcp => (Type::STREAM, socket2::Protocol::TCP),
        Protocol::Udp => (Type::DGRAM, socket2::Protocol::UDP),
    };
    let socket = Socket::new(domain, ty, Some(proto))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(match protocol {
        Protocol::Tcp => {
            socket.listen(LISTEN_BACKLOG)?;
            BoundSocket::Tcp(socket.into())
        }
        Protocol::Udp => BoundSocket::Udp(socket.into()),
    })
}

/// How the proxy binds, balances, ejects and drains.
///
/// Build with struct update syntax: `Config { bind, ..Config::default() }`.
#[derive(Clone)]
pub struct Config {
    /// Binds a frontend's socket. Replace it to bind inside another network namespace,
    /// e.g. with `tether_netns::NetNs::run(|| bind(addr, proto, reuse_port))`. Outgoing
    /// connections to backends are made from the proxy's own namespace.
    pub bind: BindFn,
    /// The runtimes that accept a TCP frontend's connections, each from its own
    /// `SO_REUSEPORT` listener on the frontend's address, and run them: one current-thread
    /// runtime per core serves more connections than one runtime, at the CPU per request
    /// of a single current-thread runtime (no work stealing, no cross-thread wake-up per
    /// packet; BENCHMARKS § 8), as HAProxy's threads do. Balancing, affinity, ejections
    /// and metrics stay shared by the frontend. Each runtime must be driven (a
    /// current-thread runtime only runs inside `block_on`; an idle one leaves its share of
    /// the connections unaccepted) until [`crate::Proxy::shutdown`] has returned:
    /// [`crate::RuntimeThreads`] makes such runtimes. With
    /// several, any process of the same user can join the listeners' `SO_REUSEPORT` group:
    /// use it for addresses the proxy owns. Empty (the default): one listener on the
    /// runtime that calls [`crate::Proxy::sync`]. UDP frontends always use that runtime.
    pub tcp_runtimes: Vec<tokio::runtime::Handle>,
    /// Balancing algorithm; see [`Algorithm`] for why P2C is the default.
    pub algorithm: Algorithm,
    /// How long a TCP connect to a backend may take before the next backend is tried.
    /// 1 s: a backend on the same node or cluster network answers a SYN in well under a
    /// millisecond, so a second is already a dead one.
    pub connect_timeout: Duration,
    /// Backends tried per client connection before it is reset. 3 bounds a client's wait
    /// to 3 × `connect_timeout` when backends black-hole SYNs; refused connects cost
    /// microseconds each.
    pub max_connect_attempts: usize,
    /// First ejection after a failed connect; doubles per consecutive failure.
    pub ejection_base: Duration,
    /// Cap of the ejection back-off.
    pub ejection_max: Duration,
    /// How long established connections may continue after their backend or frontend is
    /// removed (and on [`crate::Proxy::shutdown`]). 30 s: the default
    /// `terminationGracePeriodSeconds`, after which the backend pod is gone anyway.
    pub drain_timeout: Duration,
    /// A UDP flow with no datagram in either direction for this long is forgotten.
    /// 30 s: the kernel's conntrack timeout for UDP (`nf_conntrack_udp_timeout`), which is
    /// what the nftables data plane gives the same traffic.
    pub udp_idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: Arc::new(bind),
            tcp_runtimes: Vec::new(),
            algorithm: Algorithm::default(),
            connect_timeout: Duration::from_secs(1),
            max_connect_attempts: 3,
            ejection_base: Duration::from_secs(1),
            ejection_max: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            udp_idle_timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &"<fn>")
            .field("tcp_runtimes", &self.tcp_runtimes.len())
            .field("algorithm", &self.algorithm)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_connect_attempts", &self.max_connect_attempts)
            .field("ejection_base", &self.ejection_base)
            .field("ejection_max", &self.ejection_max)
            .field("drain_timeout", &self.drain_timeout)
            .field("udp_idle_timeout", &self.udp_idle_timeout)
            .finish()
    }
}
