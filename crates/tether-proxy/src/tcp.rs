//! TCP frontends: accept, connect to a backend (with retry and ejection), forward.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tracing::Instrument as _;

use crate::endpoint::{Endpoint, InFlight};
use crate::forward;
use crate::frontend::{FrontendState, Table};

/// Pause after an `accept` error that is not about one connection (EMFILE, ENFILE,
/// ENOBUFS): retrying at once would spin; 10 ms lets other connections close meanwhile
/// (hyper's `AddrIncoming` sleeps 1 s, which stalls a busy proxy for too long).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Accepts until `fe.stop` is cancelled; every connection runs on the proxy's task tracker
/// so it outlives this loop (drain) and [`crate::Proxy::shutdown`] can wait for it.
pub(crate) async fn serve(fe: Arc<FrontendState>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            biased;
            () = fe.stop.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((client, peer)) => {
                let span = tracing::debug_span!(
                    "conn", frontend = %fe.table.load().name, client = %peer
                );
                fe.shared
                    .tracker
                    .spawn(handle(fe.clone(), client, peer).instrument(span));
            }
            Err(e) if is_per_connection(&e) => {
                tracing::debug!(listen = %fe.listen, error = %e, "accept failed");
            }
            Err(e) => {
                tracing::warn!(listen = %fe.listen, error = %e, "accept failed, pausing");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    tracing::debug!(listen = %fe.listen, "stopped listening");
}

/// Errors that concern only the connection being accepted (it died in the queue).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

async fn handle(fe: Arc<FrontendState>, client: TcpStream, peer: SocketAddr) {
    let (table, plan) = fe.plan(peer.ip());
    let conn = fe.shared.metrics.open(&table.labels);
    let Some((ep, backend, _in_flight)) = connect(&fe, &table, &plan).await else {
        tracing::info!(frontend = %table.name, client = %peer, "no backend reachable, resetting client");
        fe.shared.metrics.rejected(&table.labels);
        reset(&client);
        return;
    };
    fe.remember(&table, peer.ip(), ep.addr);
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    tracing::debug!(backend = %ep.addr, "forwarding");
    let m = &conn.0;
    tokio::select! {
        r = forward::bidirectional(&client, &backend, &m.to_backend, &m.to_client) => {
            if let Err(e) = r {
                // One side reset or failed: pass the abort on to both.
                tracing::debug!(backend = %ep.addr, error = %e, "connection aborted");
                reset(&client);
                reset(&backend);
            }
        }
        () = ep.gone.cancelled() => {
            tracing::debug!(backend = %ep.addr, "backend removed and drain deadline passed, resetting");
            reset(&client);
            reset(&backend);
        }
        () = fe.kill.cancelled() => {
            tracing::debug!(backend = %ep.addr, "frontend drain deadline passed, resetting");
            reset(&client);
            reset(&backend);
        }
    }
}

/// Tries `plan` in order; a refused or timed-out connect ejects the endpoint and moves on.
/// A connect in progress already counts as in flight, so a burst of simultaneous clients
/// is spread by P2C / least connections instead of all seeing the same idle backend.
async fn connect(
    fe: &FrontendState,
    table: &Table,
    plan: &[Arc<Endpoint>],
) -> Option<(Arc<Endpoint>, TcpStream, InFlight)> {
    for ep in plan {
        let in_flight = ep.acquire();
        let attempt =
            tokio::time::timeout(fe.shared.cfg.connect_timeout, TcpStream::connect(ep.addr));
        let result = tokio::select! {
            r = attempt => r,
            () = fe.kill.cancelled() => return None,
        };
        match result {
            Ok(Ok(stream)) => {
                ep.succeed();
                return Some((ep.clone(), stream, in_flight));
            }
            Ok(Err(e)) => fe.connect_failed(table, ep, &e),
            Err(_elapsed) => fe.connect_failed(table, ep, &"connect timed out"),
        }
    }
    None
}

/// Closes with RST instead of FIN (`SO_LINGER` 0) once the last handle is dropped, so the
/// peer learns at once that the connection is gone instead of waiting on a half-open one.
pub(crate) fn reset(stream: &TcpStream) {
    if let Err(e) = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO)) {
        tracing::debug!(error = %e, "SO_LINGER 0 failed");
    }
}
