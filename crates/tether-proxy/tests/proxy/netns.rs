//! The pluggable bind: a frontend listening inside a network namespace (needs root).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tether_netns::testing::{require_root, unique_name};
use tether_netns::{IpNet, NetNs};
use tether_proxy::{Config, Protocol, Proxy, bind};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::*;

#[tokio::test]
async fn listener_bound_inside_a_namespace() {
    if !require_root() {
        return;
    }
    let ns = Arc::new(NetNs::create(&unique_name("tpx-")).expect("create netns"));
    let handle = ns.handle().await.expect("rtnetlink in netns");
    let vip: IpNet = "127.96.0.1/32".parse().expect("net");
    tether_netns::add_address(&handle, "lo", vip)
        .await
        .expect("address on the namespace's lo");

    // The backend lives in our own namespace; the proxy connects to it from there.
    let b0 = tcp_backend("b0").await;
    let bind_ns = ns.clone();
    let cfg = Config {
        bind: Arc::new(move |addr, proto, reuse| {
            bind_ns
                .run(|| bind(addr, proto, reuse))
                .map_err(io::Error::other)?
        }),
        ..config()
    };
    let listen: SocketAddr = "127.96.0.1:80".parse().expect("addr");
    let proxy = Proxy::new(cfg);
    let mut tcp = frontend(listen, Protocol::Tcp, &[b0.addr]);
    tcp.name = "netns/web:http".into();
    let udp_b0 = udp_backend("u0").await;
    let udp = frontend(listen, Protocol::Udp, &[udp_b0.addr]);
    proxy
        .sync(vec![tcp, udp])
        .await
        .expect("sync binds in the namespace");

    // Not reachable from our namespace, which has no 127.96.0.1 listener...
    assert!(tokio::net::TcpStream::connect(listen).await.is_err());

    // ...but from inside the namespace.
    let std_stream = ns
        .run(|| std::net::TcpStream::connect(listen))
        .expect("enter netns")
        .expect("connect inside the namespace");
    std_stream.set_nonblocking(true).expect("nonblocking");
    let stream = tokio::net::TcpStream::from_std(std_stream).expect("tokio stream");
    let (r, mut w) = stream.into_split();
    w.write_all(b"hello\n").await.expect("write");
    let line = BufReader::new(r)
        .lines()
        .next_line()
        .await
        .expect("read")
        .expect("line");
    assert_eq!(line, "b0:hello");
    drop(w);

    let std_udp = ns
        .run(|| std::net::UdpSocket::bind("127.0.0.1:0"))
        .expect("enter netns")
        .expect("bind udp inside the namespace");
    std_udp.set_nonblocking(true).expect("nonblocking");
    let udp = tokio::net::UdpSocket::from_std(std_udp).expect("tokio socket");
    assert_eq!(udp_ask(listen, &udp, "ping").await, "u0");

    proxy.shutdown().await;
    drop(handle);
}
