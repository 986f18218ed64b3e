//! `agnhost serve-hostname`: the hostname over HTTP (default), raw TCP or UDP.
//! As upstream test/images/agnhost/serve-hostname/serve_hostname.go.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::header::CONNECTION;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::flags::{self, Kind, Spec, flag};
use crate::http::{HttpServer, Response, ServerConfig, handler};
use crate::net::{hostname, listen_tcp, listen_udp};
use crate::{Error, Result};

/// The flags `serve-hostname` accepts.
pub(crate) const SPECS: &[Spec] = &[
    flag("tcp", Kind::Bool, "Serve raw over TCP."),
    flag("udp", Kind::Bool, "Serve raw over UDP."),
    flag("http", Kind::Bool, "Serve HTTP. (default true)"),
    flag(
        "close",
        Kind::Bool,
        "Close connection per each HTTP request.",
    ),
    flag("port", Kind::Value, "Port number. (default 9376)"),
];

/// How long upstream keeps serving after SIGTERM ("Awaiting pod deletion", 60 s).
pub const SIGTERM_LINGER: Duration = Duration::from_secs(60);

/// Options of `serve-hostname`.
#[derive(Debug, Clone)]
pub struct ServeHostnameOptions {
    /// `--tcp`: write the hostname on each TCP connection and close it.
    pub tcp: bool,
    /// `--udp`: answer each datagram with the hostname.
    pub udp: bool,
    /// `--http` (default true): answer every HTTP request with the hostname.
    pub http: bool,
    /// `--close`: `Connection: close` on every HTTP response.
    pub close: bool,
    /// `--port` (default 9376).
    pub port: u16,
    /// Where to listen: `None` = all addresses. Not an upstream flag.
    pub bind_ip: Option<IpAddr>,
    /// How long to keep serving after SIGTERM before exiting 0 (upstream: 60 s).
    pub sigterm_linger: Duration,
}

impl Default for ServeHostnameOptions {
    fn default() -> Self {
        Self {
            tcp: false,
            udp: false,
            http: true,
            close: false,
            port: 9376,
            bind_ip: None,
            sigterm_linger: SIGTERM_LINGER,
        }
    }
}

impl ServeHostnameOptions {
    /// Parses upstream's flags (`--port=9376 --http=false --udp`).
    pub fn from_args(args: &[String]) -> Result<Self> {
        let f = flags::parse("serve-hostname", args, SPECS)?;
        Ok(Self {
            tcp: f.bool("tcp", false),
            udp: f.bool("udp", false),
            http: f.bool("http", true),
            close: f.bool("close", false),
            port: f.port("port", 9376)?,
            ..Self::default()
        })
    }
}

/// A bound serve-hostname, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct ServeHostname {
    opts: ServeHostnameOptions,
    hostname: String,
    tcp: Option<TcpListener>,
    udp: Option<UdpSocket>,
    http: Option<TcpListener>,
}

/// Binds and runs serve-hostname until SIGTERM plus the linger time; returns the exit code.
pub async fn serve_hostname(opts: ServeHostnameOptions, sigterm: CancellationToken) -> Result<u8> {
    ServeHostname::bind(opts).await?.run(sigterm).await
}

impl ServeHostname {
    /// Opens the sockets the options ask for. HTTP together with TCP or UDP is refused, as
    /// upstream ("Can't serve TCP/UDP mode and HTTP mode at the same time").
    pub async fn bind(opts: ServeHostnameOptions) -> Result<Self> {
        if opts.http && (opts.tcp || opts.udp) {
            return Err(Error::Fatal(
                "Can't serve TCP/UDP mode and HTTP mode at the same time".to_string(),
            ));
        }
        let tcp = if opts.tcp {
            Some(listen_tcp(opts.bind_ip, opts.port)?)
        } else {
            None
        };
        let udp = if opts.udp {
            Some(listen_udp(opts.bind_ip, opts.port)?)
        } else {
            None
        };
        let http = if opts.http {
            Some(listen_tcp(opts.bind_ip, opts.port)?)
        } else {
            None
        };
        Ok(Self {
            opts,
            hostname: hostname(),
            tcp,
            udp,
            http,
        })
    }

    /// The local address of the TCP or HTTP listener.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
            .as_ref()
            .or(self.http.as_ref())
            .and_then(|l| l.local_addr().ok())
    }

    /// The local address of the UDP socket.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|s| s.local_addr().ok())
    }

    /// Serves until `sigterm`, keeps serving for `sigterm_linger`, then returns 0.
    pub async fn run(self, sigterm: CancellationToken) -> Result<u8> {
        let mut tasks = JoinSet::new();
        if let Some(l) = self.tcp {
            tasks.spawn(tcp_server(l, self.hostname.clone()));
        }
        if let Some(s) = self.udp {
            tasks.spawn(udp_server(s, self.hostname.clone()));
        }
        let _server = self.http.map(|l| {
            let name = self.hostname.clone();
            let close = self.opts.close;
            let h = handler(move |_req| {
                let name = name.clone();
                async move {
                    let mut r = Response::text(name);
                    if close {
                        r = r.with_header(CONNECTION, "close");
                    }
                    r.into()
                }
            });
            HttpServer::spawn(
                vec![(l, h)],
                ServerConfig {
                    mux_redirects: true,
                },
            )
        });
        tracing::info!("Serving on port {}.", self.opts.port);
        sigterm.cancelled().await;
        tracing::info!("Shutting down after receiving signal: terminated.");
        tracing::info!("Awaiting pod deletion.");
        tokio::time::sleep(self.opts.sigterm_linger).await;
        Ok(0)
    }
}

async fn tcp_server(listener: TcpListener, hostname: String) {
    loop {
        match listener.accept().await {
            Ok((mut stream, peer)) => {
                tracing::info!("TCP request from {peer}");
                let name = hostname.clone();
                tokio::spawn(async move {
                    let _ = stream.write_all(name.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn udp_server(sock: UdpSocket, hostname: String) {
    // Upstream reads into a 16-byte buffer; the content is ignored.
    let mut buf = [0u8; 16];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((_, from)) => {
                tracing::info!("UDP request from {from}");
                let _ = sock.send_to(hostname.as_bytes(), from).await;
            }
            Err(e) => {
                tracing::warn!("udp receive: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_like_upstream() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = ServeHostnameOptions::from_args(&[]).expect("parse");
        assert!(o.http && !o.tcp && !o.udp && o.port == 9376);
        let o = ServeHostnameOptions::from_args(&a(&["--http=false", "--udp", "--port", "53"]))
            .expect("parse");
        assert!(!o.http && o.udp && o.port == 53);
    }
}
