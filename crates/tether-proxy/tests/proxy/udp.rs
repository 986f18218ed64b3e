//! UDP frontends.

use std::collections::BTreeMap;
use std::time::Duration;

use tether_proxy::{Algorithm, Config, Protocol};
use tokio::net::UdpSocket;

use crate::support::*;

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind client")
}

#[tokio::test]
async fn round_trip_and_balancing_over_client_sockets() {
    let (_b, addrs) = udp_backends(3).await;
    let listen = free_port(Protocol::Udp);
    let proxy = proxy_with(config(), frontend(listen, Protocol::Udp, &addrs)).await;
    let mut counts = BTreeMap::<String, usize>::new();
    let mut clients = Vec::new();
    for _ in 0..60 {
        let c = client().await;
        let name = udp_ask(listen, &c, "hi").await;
        // The flow is sticky: the same client socket keeps its backend.
        assert_eq!(udp_ask(listen, &c, "again").await, name);
        *counts.entry(name).or_insert(0) += 1;
        clients.push(c);
    }
    // Flows stay open (idle timeout 30 s), so P2C sees them as in-flight load and spreads
    // the 60 flows close to evenly.
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.values().all(|&n| (12..=28).contains(&n)),
        "{counts:?}"
    );
    let text = metrics_text(&proxy);
    assert_eq!(
        frontend_sample(&text, "connections_total", Protocol::Udp),
        Some(60.0)
    );
    assert_eq!(
        frontend_sample(&text, "connections_active", Protocol::Udp),
        Some(60.0)
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn round_robin_over_client_sockets() {
    let (_b, addrs) = udp_backends(2).await;
    let listen = free_port(Protocol::Udp);
    let cfg = Config {
        algorithm: Algorithm::RoundRobin,
        ..config()
    };
    let proxy = proxy_with(cfg, frontend(listen, Protocol::Udp, &addrs)).await;
    let mut names = Vec::new();
    for _ in 0..4 {
        names.push(udp_ask(listen, &client().await, "hi").await);
    }
    assert_eq!(names, ["b0", "b1", "b0", "b1"]);
    proxy.shutdown().await;
}

#[tokio::test]
async fn affinity_sticks_across_client_sockets() {
    let (_b, addrs) = udp_backends(3).await;
    let listen = free_port(Protocol::Udp);
    let mut fe = frontend(listen, Protocol::Udp, &addrs);
    fe.affinity = Some(Duration::from_secs(60));
    let proxy = proxy_with(config(), fe).await;
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..10 {
        names.insert(udp_ask(listen, &client().await, "hi").await);
    }
    assert_eq!(names.len(), 1, "{names:?}");
    proxy.shutdown().await;
}

#[tokio::test]
async fn flows_expire_when_idle() {
    let b0 = udp_backend("b0").await;
    let listen = free_port(Protocol::Udp);
    let cfg = Config {
        udp_idle_timeout: Duration::from_millis(200),
        ..config()
    };
    let proxy = proxy_with(cfg, frontend(listen, Protocol::Udp, &[b0.addr])).await;
    let c = client().await;
    assert_eq!(udp_ask(listen, &c, "hi").await, "b0");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = metrics_text(&proxy);
    assert_eq!(
        frontend_sample(&text, "connections_active", Protocol::Udp),
        Some(0.0)
    );
    // A new datagram opens a new flow.
    assert_eq!(udp_ask(listen, &c, "again").await, "b0");
    let text = metrics_text(&proxy);
    assert_eq!(
        frontend_sample(&text, "connections_total", Protocol::Udp),
        Some(2.0)
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn removed_backend_flows_move_at_once() {
    let b0 = udp_backend("b0").await;
    let b1 = udp_backend("b1").await;
    let listen = free_port(Protocol::Udp);
    let proxy = proxy_with(
        config(),
        frontend(listen, Protocol::Udp, &[b0.addr, b1.addr]),
    )
    .await;
    let c = client().await;
    let first = udp_ask(listen, &c, "hi").await;
    let keep = if first == "b0" { b1.addr } else { b0.addr };
    proxy
        .sync(vec![frontend(listen, Protocol::Udp, &[keep])])
        .await
        .expect("sync");
    // Give the flow task a moment to see the removal.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let next = udp_ask(listen, &c, "again").await;
    assert_ne!(
        next, first,
        "the same client moved to the remaining backend"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn refusing_backend_is_ejected() {
    let b0 = udp_backend("b0").await;
    let dead = free_port(Protocol::Udp);
    let listen = free_port(Protocol::Udp);
    let cfg = Config {
        algorithm: Algorithm::RoundRobin,
        ..config()
    };
    let proxy = proxy_with(cfg, frontend(listen, Protocol::Udp, &[dead, b0.addr])).await;
    // The first flow goes to the dead backend (round robin turn 0); the ICMP port
    // unreachable ejects it and the proxy resends the flow's first datagram through a new
    // flow to the live backend: the client gets its answer without retrying.
    let c = client().await;
    assert_eq!(udp_ask(listen, &c, "hi").await, "b0");
    let text = metrics_text(&proxy);
    assert_eq!(
        frontend_sample(&text, "connect_failures_total", Protocol::Udp),
        Some(1.0)
    );
    // While ejected, new clients go straight to the live backend.
    for _ in 0..5 {
        assert_eq!(udp_ask(listen, &client().await, "hi").await, "b0");
    }
    proxy.shutdown().await;
}

#[tokio::test]
async fn all_backends_refusing_gives_up_after_the_attempt_limit() {
    let dead = [free_port(Protocol::Udp), free_port(Protocol::Udp)];
    let listen = free_port(Protocol::Udp);
    let proxy = proxy_with(config(), frontend(listen, Protocol::Udp, &dead)).await;
    let c = client().await;
    c.send_to(b"hi", listen).await.expect("send");
    let mut buf = [0u8; 64];
    let r = tokio::time::timeout(Duration::from_millis(300), c.recv_from(&mut buf)).await;
    assert!(r.is_err(), "no answer: {r:?}");
    let text = metrics_text(&proxy);
    // max_connect_attempts = 3 flows for one datagram, then it is dropped.
    assert_eq!(
        frontend_sample(&text, "connections_total", Protocol::Udp),
        Some(3.0),
        "{text}"
    );
    proxy.shutdown().await;
}

#[tokio::test]
async fn removed_frontend_stops_receiving() {
    let b0 = udp_backend("b0").await;
    let listen = free_port(Protocol::Udp);
    let proxy = proxy_with(config(), frontend(listen, Protocol::Udp, &[b0.addr])).await;
    let c = client().await;
    assert_eq!(udp_ask(listen, &c, "hi").await, "b0");
    proxy.sync(vec![]).await.expect("sync");
    // The port is free again: we can bind it ourselves.
    UdpSocket::bind(listen)
        .await
        .expect("frontend socket closed");
    proxy.shutdown().await;
}
