use std::time::Duration;

use tether_agnhost::{ServeHostname, ServeHostnameOptions};
use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;

use crate::common::{get, hostname, localhost, udp};

fn opts() -> ServeHostnameOptions {
    ServeHostnameOptions {
        port: 0,
        bind_ip: localhost(),
        sigterm_linger: Duration::from_millis(100),
        ..ServeHostnameOptions::default()
    }
}

#[tokio::test]
async fn http_serves_hostname_and_lingers_after_sigterm() {
    let s = ServeHostname::bind(ServeHostnameOptions {
        close: true,
        ..opts()
    })
    .await
    .expect("bind");
    let addr = s.tcp_addr().expect("addr");
    let sigterm = CancellationToken::new();
    let task = tokio::spawn(s.run(sigterm.clone()));
    let resp = get(addr, "/any/path").await;
    assert_eq!((resp.status, resp.body.clone()), (200, hostname()));
    assert_eq!(resp.header("Connection").as_deref(), Some("close"));
    assert_eq!(
        resp.header("Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    sigterm.cancel();
    // Still serving during the linger.
    assert_eq!(get(addr, "/").await.status, 200);
    let code = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("in time")
        .expect("join")
        .expect("ok");
    assert_eq!(code, 0);
}

#[tokio::test]
async fn raw_tcp_and_udp() {
    let s = ServeHostname::bind(ServeHostnameOptions {
        http: false,
        tcp: true,
        udp: true,
        ..opts()
    })
    .await
    .expect("bind");
    let (t, u) = (s.tcp_addr().expect("tcp"), s.udp_addr().expect("udp"));
    let sigterm = CancellationToken::new();
    let _task = tokio::spawn(s.run(sigterm.clone()));
    let mut c = tokio::net::TcpStream::connect(t).await.expect("connect");
    let mut got = String::new();
    c.read_to_string(&mut got).await.expect("read");
    assert_eq!(got, hostname());
    assert_eq!(udp(u, "anything").await.0, hostname());
}

#[tokio::test]
async fn http_with_tcp_is_refused() {
    let err = ServeHostname::bind(ServeHostnameOptions {
        tcp: true,
        ..opts()
    })
    .await
    .expect_err("conflict");
    assert_eq!(
        err.to_string(),
        "Can't serve TCP/UDP mode and HTTP mode at the same time"
    );
}
