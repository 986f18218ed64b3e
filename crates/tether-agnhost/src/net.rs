//! Sockets bound like Go's `net.Listen("tcp", ":port")`: one dual-stack `[::]` socket when the
//! namespace has IPv6, else `0.0.0.0`; or one given address (tests use 127.0.0.1).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, UdpSocket};

use crate::{Error, Result};

/// The kernel hostname, as Go's `os.Hostname()`; empty if it cannot be read.
pub(crate) fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// An address as Go prints a peer: IPv4-mapped IPv6 shown as plain IPv4.
pub(crate) fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn socket(addr: SocketAddr, ty: Type, proto: Protocol) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(addr), ty, Some(proto))?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    Ok(sock)
}

fn tcp_at(addr: SocketAddr) -> io::Result<TcpListener> {
    let sock = socket(addr, Type::STREAM, Protocol::TCP)?;
    sock.listen(1024)?;
    TcpListener::from_std(sock.into())
}

fn udp_at(addr: SocketAddr) -> io::Result<UdpSocket> {
    let sock = socket(addr, Type::DGRAM, Protocol::UDP)?;
    UdpSocket::from_std(sock.into())
}

/// Tries `[::]:port` (dual stack) and falls back to `0.0.0.0:port` when IPv6 is unavailable;
/// with `ip` set, binds exactly there.
fn bind_any<T>(
    ip: Option<IpAddr>,
    port: u16,
    f: impl Fn(SocketAddr) -> io::Result<T>,
) -> Result<T> {
    let bind_err = |addr: SocketAddr, source| Error::Bind {
        addr: addr.to_string(),
        source,
    };
    if let Some(ip) = ip {
        let addr = SocketAddr::new(ip, port);
        return f(addr).map_err(|e| bind_err(addr, e));
    }
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match f(v6) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(bind_err(v6, e)),
        Err(e) => {
            tracing::debug!("no dual-stack socket ({e}); using 0.0.0.0");
            let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
            f(v4).map_err(|e| bind_err(v4, e))
        }
    }
}

/// A TCP listener on all addresses (or `ip`) at `port`. Needs a tokio runtime.
pub(crate) fn listen_tcp(ip: Option<IpAddr>, port: u16) -> Result<TcpListener> {
    bind_any(ip, port, tcp_at)
}

/// A UDP socket on all addresses (or `ip`) at `port`. Needs a tokio runtime.
pub(crate) fn listen_udp(ip: Option<IpAddr>, port: u16) -> Result<UdpSocket> {
    bind_any(ip, port, udp_at)
}

/// A lower-case errno text, as Go prints syscall errors ("connection refused").
pub(crate) fn go_errno(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut chars = desc.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        }
        None => e.to_string(),
    }
}
