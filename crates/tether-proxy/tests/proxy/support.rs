//! Backends that answer with their own name, clients, and a proxy builder.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tether_proxy::{Backend, Config, Frontend, Protocol, Proxy};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// A TCP backend: for every line received it answers `NAME:LINE\n`; closes after the
/// client's FIN. Aborted on drop.
pub(crate) struct TcpBackend {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TcpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn tcp_backend(name: &str) -> TcpBackend {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind backend");
    let addr = listener.local_addr().expect("addr");
    let name = name.to_owned();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let name = name.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if w.write_all(format!("{name}:{line}\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = w.shutdown().await;
            });
        }
    });
    TcpBackend { addr, task }
}

/// TCP backends named `b0`, `b1`, … and their addresses.
pub(crate) async fn tcp_backends(n: usize) -> (Vec<TcpBackend>, Vec<SocketAddr>) {
    let mut backends = Vec::with_capacity(n);
    for i in 0..n {
        backends.push(tcp_backend(&format!("b{i}")).await);
    }
    let addrs = backends.iter().map(|b| b.addr).collect();
    (backends, addrs)
}

/// A UDP backend answering every datagram with `NAME:PAYLOAD`. Aborted on drop.
pub(crate) struct UdpBackend {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for UdpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn udp_backend(name: &str) -> UdpBackend {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind backend");
    let addr = socket.local_addr().expect("addr");
    let name = name.to_owned();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            let mut reply = format!("{name}:").into_bytes();
            reply.extend_from_slice(&buf[..n]);
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    UdpBackend { addr, task }
}

/// UDP backends named `b0`, `b1`, … and their addresses.
pub(crate) async fn udp_backends(n: usize) -> (Vec<UdpBackend>, Vec<SocketAddr>) {
    let mut backends = Vec::with_capacity(n);
    for i in 0..n {
        backends.push(udp_backend(&format!("b{i}")).await);
    }
    let addrs = backends.iter().map(|b| b.addr).collect();
    (backends, addrs)
}

/// A TCP backend that echoes every byte of each of its next `connections` connections
/// and sends FIN after the client's. The task ends when they all did, and fails (panics)
/// if one of them failed.
pub(crate) async fn echo_backend(connections: usize) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut echoes = Vec::with_capacity(connections);
        for _ in 0..connections {
            let (mut s, _) = listener.accept().await.expect("accept");
            echoes.push(tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                tokio::io::copy(&mut r, &mut w).await.expect("echo");
                w.shutdown().await.expect("fin");
            }));
        }
        for e in echoes {
            e.await.expect("echo connection");
        }
    });
    (addr, task)
}

/// A port on 127.0.0.1 that nothing listens on (for frontends and dead backends).
pub(crate) fn free_port(protocol: Protocol) -> SocketAddr {
    match protocol {
        Protocol::Tcp => std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr"),
        Protocol::Udp => std::net::UdpSocket::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr"),
    }
}

/// The name [`frontend`] gives, as the metrics label it.
pub(crate) const FRONTEND_NAME: &str = "test/svc:p";

pub(crate) fn frontend(
    listen: SocketAddr,
    protocol: Protocol,
    backends: &[SocketAddr],
) -> Frontend {
    Frontend {
        listen,
        protocol,
        backends: backends.iter().copied().map(Backend::new).collect(),
        affinity: None,
        name: FRONTEND_NAME.into(),
    }
}

/// Config with short timers so tests never wait long.
pub(crate) fn config() -> Config {
    Config {
        drain_timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

pub(crate) async fn proxy_with(cfg: Config, fe: Frontend) -> Proxy {
    let proxy = Proxy::new(cfg);
    proxy.sync(vec![fe]).await.expect("sync");
    proxy
}

/// A connection through the proxy that sends lines and reads the answers.
pub(crate) struct Client {
    lines: tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>,
    w: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect to proxy");
        let (r, w) = stream.into_split();
        Self {
            lines: BufReader::new(r).lines(),
            w,
        }
    }

    /// Sends `msg` and returns the answering backend's name.
    pub(crate) async fn ask(&mut self, msg: &str) -> std::io::Result<String> {
        self.w.write_all(format!("{msg}\n").as_bytes()).await?;
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .map_err(std::io::Error::other)??
            .ok_or_else(|| std::io::Error::other("EOF"))?;
        let (name, echoed) = line.split_once(':').expect("NAME:LINE");
        assert_eq!(echoed, msg);
        Ok(name.to_owned())
    }
}

/// One short connection: which backend answered.
pub(crate) async fn ask_once(addr: SocketAddr) -> String {
    Client::connect(addr).await.ask("hi").await.expect("answer")
}

/// Runs `n` sequential short connections and counts answers per backend.
pub(crate) async fn tally(addr: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        *counts.entry(ask_once(addr).await).or_insert(0) += 1;
    }
    counts
}

/// Sends one datagram from a fresh client socket and returns the answering backend.
pub(crate) async fn udp_ask(addr: SocketAddr, socket: &UdpSocket, msg: &str) -> String {
    socket.send_to(msg.as_bytes(), addr).await.expect("send");
    let mut buf = vec![0u8; 65536];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("udp reply in time")
        .expect("recv");
    assert_eq!(from, addr, "reply must come from the frontend address");
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let (name, echoed) = text.split_once(':').expect("NAME:PAYLOAD");
    assert_eq!(echoed, msg);
    name.to_owned()
}

/// The text exposition of the proxy's metrics.
pub(crate) fn metrics_text(proxy: &Proxy) -> String {
    let mut registry = prometheus_client::registry::Registry::with_prefix("tether_proxy");
    proxy.register_metrics(&mut registry);
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).expect("encode");
    out
}

/// The value of the sample whose line starts with `prefix` (name and labels).
pub(crate) fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The value of `tether_proxy_<metric>` for [`frontend`]'s frontend over `protocol`.
pub(crate) fn frontend_sample(text: &str, metric: &str, protocol: Protocol) -> Option<f64> {
    sample(
        text,
        &format!(r#"tether_proxy_{metric}{{frontend="{FRONTEND_NAME}",protocol="{protocol}"}}"#),
    )
}
