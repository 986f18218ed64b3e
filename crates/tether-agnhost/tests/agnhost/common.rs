use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    /// The raw header block, to check exact spelling.
    pub(crate) head: String,
    pub(crate) body: String,
    /// The client's own address, for `/clientip`.
    pub(crate) local: SocketAddr,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends one request with `Connection: close`; `None` when the server closed without answering.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    body: &str,
) -> Option<Resp> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let local = s.local_addr().expect("local addr");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut buf))
        .await
        .expect("response in time");
    if read.is_err() || buf.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Some(Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
        local,
    })
}

pub(crate) async fn get(addr: SocketAddr, target: &str) -> Resp {
    request(addr, "GET", target, &[], "")
        .await
        .unwrap_or_else(|| panic!("no response for {target}"))
}

/// Sends a datagram and waits for one answer; returns (answer, our address).
pub(crate) async fn udp(addr: SocketAddr, msg: &str) -> (String, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    s.connect(addr).await.expect("connect");
    s.send(msg.as_bytes()).await.expect("send");
    let mut buf = [0u8; 2048];
    let n = tokio::time::timeout(Duration::from_secs(5), s.recv(&mut buf))
        .await
        .expect("udp answer in time")
        .expect("recv");
    (
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        s.local_addr().expect("local"),
    )
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string()
}

pub(crate) fn localhost() -> Option<std::net::IpAddr> {
    Some(std::net::Ipv4Addr::LOCALHOST.into())
}
