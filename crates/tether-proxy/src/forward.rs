//! Bidirectional TCP forwarding with half-close.
//!
//! On Linux the bytes never enter user space: each direction moves them socket → pipe →
//! socket with `splice(2)` (nix's safe wrapper, so no `unsafe` here), the way HAProxy and
//! Envoy's "splice" mode do. Readiness comes from tokio (`readable()`/`writable()` +
//! `try_io`), so a connection costs two pipes and no buffers. Elsewhere a read/write loop
//! with a 64 KiB buffer per direction does the same job.
//!
//! When one side sends FIN, the other side's write half is shut down and the opposite
//! direction keeps flowing until it ends too (TCP half-close, as a client that
//! `shutdown(SHUT_WR)`s and then reads the response needs).

use std::io;
use std::net::Shutdown;

use prometheus_client::metrics::counter::Counter;
use tokio::net::TcpStream;

/// Moves bytes both ways until both directions have seen EOF; an error in either direction
/// ends both. `to_backend` and `to_client` count the forwarded bytes as they flow.
pub(crate) async fn bidirectional(
    client: &TcpStream,
    backend: &TcpStream,
    to_backend: &Counter,
    to_client: &Counter,
) -> io::Result<()> {
    tokio::try_join!(
        imp::pump(client, backend, to_backend),
        imp::pump(backend, client, to_client)
    )
    .map(|_| ())
}

/// Shuts down `stream`'s write half (sends FIN); a peer that already went away is fine.
fn shutdown_write(stream: &TcpStream) -> io::Result<()> {
    match socket2::SockRef::from(stream).shutdown(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::os::fd::OwnedFd;

    use nix::fcntl::{OFlag, SpliceFFlags, splice};
    use prometheus_client::metrics::counter::Counter;
    use tokio::io::Interest;
    use tokio::net::TcpStream;

    /// Bytes asked for per `splice(2)`: the default pipe capacity (16 pages), so one call
    /// fills the pipe and the next drains it.
    const CHUNK: usize = 64 * 1024;

    fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
        Ok(nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?)
    }

    /// One direction: `src` → pipe → `dst` until EOF on `src`, then FIN on `dst`.
    pub(super) async fn pump(src: &TcpStream, dst: &TcpStream, bytes: &Counter) -> io::Result<()> {
        let (pipe_r, pipe_w) = pipe()?;
        let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
        loop {
            // The pipe is empty here, so EAGAIN can only mean "socket not readable".
            let n = loop {
                src.readable().await?;
                match src.try_io(Interest::READABLE, || {
                    Ok(splice(src, None, &pipe_w, None, CHUNK, flags)?)
                }) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                return super::shutdown_write(dst);
            }
            // The pipe holds `left` bytes, so EAGAIN means "socket not writable".
            let mut left = n;
            while left > 0 {
                dst.writable().await?;
                match dst.try_io(Interest::WRITABLE, || {
                    Ok(splice(&pipe_r, None, dst, None, left, flags)?)
                }) {
                    Ok(m) => left -= m.min(left),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            bytes.inc_by(n as u64);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;

    use prometheus_client::metrics::counter::Counter;
    use tokio::net::TcpStream;

    const BUF: usize = 64 * 1024;

    pub(super) async fn pump(src: &TcpStream, dst: &TcpStream, bytes: &Counter) -> io::Result<()> {
        let mut buf = vec![0u8; BUF];
        loop {
            src.readable().await?;
            let n = match src.try_read(&mut buf) {
                Ok(0) => return super::shutdown_write(dst),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            };
            let mut off = 0;
            while off < n {
                dst.writable().await?;
                match dst.try_write(&buf[off..n]) {
                    Ok(m) => off += m,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            bytes.inc_by(n as u64);
        }
    }
}
