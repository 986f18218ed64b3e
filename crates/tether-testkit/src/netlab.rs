//! A node, a client and three pods in network namespaces, for data-plane tests (needs root).
//!
//! ```text
//!  client 192.168.77.2 ──veth── 192.168.77.1 node ── cni0 10.244.1.1/24 ── pod0 10.244.1.2
//!                                                                      ├── pod1 10.244.1.3
//!                                                                      └── pod2 10.244.1.4
//! ```
//!
//! Each pod runs a TCP and a UDP server on :8080 answering `"<pod name> <peer ip>"`. The
//! namespaces are deleted when dropped.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tether_netns::testing::unique_name;
use tether_netns::{
    NetNs, add_address, add_route, attach_pod, create_veth_into, ensure_bridge, set_up,
};

/// The pods' servers' port.
pub const POD_PORT: u16 = 8080;

/// The node's address on the uplink.
pub const NODE_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 1);

/// The client's address.
pub const CLIENT_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 2);

/// A load balancer address the client routes through the node.
pub const LB_IP: Ipv4Addr = Ipv4Addr::new(192, 168, 100, 10);

/// The namespaces of [`topology`].
#[derive(Debug)]
pub struct Topology {
    /// The node.
    pub node: NetNs,
    /// The client, on the node's uplink.
    pub client: NetNs,
    /// The pods, behind the node's bridge `cni0`.
    pub pods: Vec<NetNs>,
    /// Stops the servers when set (on drop).
    pub stop: Arc<AtomicBool>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Pod `i`'s address.
pub fn pod_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 244, 1, 2 + i as u8)
}

/// Runs the TCP and UDP servers of a pod named `name` until `stop`.
pub fn serve(pod: &NetNs, name: String, stop: Arc<AtomicBool>) {
    let tcp = pod
        .run(|| TcpListener::bind(("0.0.0.0", POD_PORT)))
        .expect("netns")
        .expect("bind tcp");
    tcp.set_nonblocking(true).expect("nonblocking");
    let udp = pod
        .run(|| UdpSocket::bind(("0.0.0.0", POD_PORT)))
        .expect("netns")
        .expect("bind udp");
    udp.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let (n, s) = (name.clone(), Arc::clone(&stop));
    std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            match tcp.accept() {
                Ok((mut c, peer)) => {
                    let _ = c.write_all(format!("{n} {}\n", peer.ip()).as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((_, peer)) = udp.recv_from(&mut buf) {
                let _ = udp.send_to(format!("{name} {}\n", peer.ip()).as_bytes(), peer);
            }
        }
    });
}

/// Creates the namespaces (named `prefix…`), the node's uplink veth `uplink` to the
/// client, the bridge and the pods with their servers. The node's default route points at
/// the client, the client routes [`LB_IP`]'s /24 through the node.
pub async fn topology(prefix: &str, uplink: &str) -> Topology {
    let node = NetNs::create(&unique_name(prefix)).expect("node netns");
    let client = NetNs::create(&unique_name(prefix)).expect("client netns");
    let bridge = ensure_bridge(&node, "cni0", "10.244.1.1/24".parse().expect("net"))
        .await
        .expect("bridge");
    let stop = Arc::new(AtomicBool::new(false));
    let mut pods = Vec::new();
    for i in 0..3 {
        let pod = NetNs::create(&unique_name(prefix)).expect("pod netns");
        attach_pod(
            &node,
            bridge.name(),
            &pod,
            "eth0",
            format!("{}/24", pod_ip(i)).parse().expect("net"),
            bridge.gateway().addr(),
        )
        .await
        .expect("attach pod");
        serve(&pod, format!("pod{i}"), Arc::clone(&stop));
        pods.push(pod);
    }
    let nh = node.handle().await.expect("node handle");
    let ch = client.handle().await.expect("client handle");
    create_veth_into(&nh, uplink, "eth0", &client)
        .await
        .expect("veth");
    add_address(&nh, uplink, "192.168.77.1/24".parse().expect("net"))
        .await
        .expect("addr");
    add_address(&ch, "eth0", "192.168.77.2/24".parse().expect("net"))
        .await
        .expect("addr");
    set_up(&nh, uplink).await.expect("up");
    set_up(&ch, "eth0").await.expect("up");
    // The client reaches LB IPs through the node; the node's default route (needed so
    // node-originated connects to ClusterIPs find a route before DNAT) points at the client.
    add_route(
        &ch,
        "192.168.100.0/24".parse().expect("net"),
        Some(NODE_IP.into()),
        None,
    )
    .await
    .expect("route");
    add_route(
        &nh,
        "0.0.0.0/0".parse().expect("net"),
        Some(CLIENT_IP.into()),
        None,
    )
    .await
    .expect("route");
    Topology {
        node,
        client,
        pods,
        stop,
    }
}

/// `n` fresh TCP connections to `addr` from `ns`: the replies (`"<pod> <peer>"`), or the
/// connect errors.
pub fn tcp_many(ns: &NetNs, addr: SocketAddr, n: usize) -> Vec<Result<String, std::io::ErrorKind>> {
    ns.run(move || {
        (0..n)
            .map(|_| {
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                    .map_err(|e| e.kind())?;
                s.set_read_timeout(Some(Duration::from_secs(2)))
                    .map_err(|e| e.kind())?;
                let mut out = String::new();
                s.read_to_string(&mut out).map_err(|e| e.kind())?;
                Ok(out.trim().to_owned())
            })
            .collect()
    })
    .expect("netns")
}

/// Pod names seen in successful replies.
pub fn pods_seen<'a>(replies: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    replies
        .into_iter()
        .filter_map(|r| r.split(' ').next().map(str::to_owned))
        .collect()
}

/// The successful replies; panics on any connection error.
pub fn ok_replies(r: &[Result<String, std::io::ErrorKind>]) -> Vec<String> {
    let errs: Vec<_> = r.iter().filter_map(|x| x.as_ref().err()).collect();
    assert!(errs.is_empty(), "connection errors: {errs:?}");
    r.iter().filter_map(|x| x.as_ref().ok().cloned()).collect()
}

/// The three pods' names.
pub fn all_pods() -> BTreeSet<String> {
    ["pod0", "pod1", "pod2"].map(String::from).into()
}

/// Whether `program --version` runs.
pub fn which(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A line-echo server on `port` in `pod`.
pub fn echo_server(pod: &NetNs, port: u16, stop: Arc<AtomicBool>) {
    let l = pod
        .run(move || TcpListener::bind(("0.0.0.0", port)))
        .expect("netns")
        .expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match l.accept() {
                Ok((mut c, _)) => {
                    let _ = c.set_nonblocking(false);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 256];
                        while let Ok(n) = c.read(&mut buf) {
                            if n == 0 || c.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    });
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
}

/// Sends `msg` on `s` and returns what comes back in one read.
pub fn echo(s: &mut TcpStream, msg: &str) -> String {
    s.write_all(msg.as_bytes()).expect("write");
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Lines of `conntrack -L` in `ns` that mention `addr` (`None` without the program).
pub fn conntrack_lines(ns: &NetNs, addr: &str) -> Option<Vec<String>> {
    if !which("conntrack") {
        // Under CI a check that cannot run is a failure (scripts/deps.sh installs it).
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "conntrack is missing: the conntrack checks cannot run"
        );
        eprintln!("!!! conntrack is missing: SKIPPING the conntrack check (install conntrack)");
        return None;
    }
    let mut cmd = std::process::Command::new("conntrack");
    cmd.arg("-L");
    let out = tether_netns::output_in(&tether_netns::SpawnOptions::new(ns), cmd, b"")
        .expect("conntrack -L");
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(addr))
            .map(str::to_owned)
            .collect(),
    )
}

/// The IP stack's forwarded datagrams in `ns` (`Ip: ForwDatagrams`).
pub fn forwarded(ns: &NetNs) -> u64 {
    let snmp = ns
        .run(|| std::fs::read_to_string("/proc/thread-self/net/snmp"))
        .expect("netns")
        .expect("snmp");
    let mut ip = snmp.lines().filter(|l| l.starts_with("Ip:"));
    let (Some(names), Some(values)) = (ip.next(), ip.next()) else {
        panic!("no Ip: lines in {snmp}");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "ForwDatagrams")
        .and_then(|(_, v)| v.parse().ok())
        .expect("ForwDatagrams")
}

/// The packets link `dev` in `ns` has sent (`/proc/net/dev`).
pub fn tx_packets(ns: &NetNs, dev: &str) -> u64 {
    let table = ns
        .run(|| std::fs::read_to_string("/proc/thread-self/net/dev"))
        .expect("netns")
        .expect("net/dev");
    table
        .lines()
        .find_map(|l| {
            let (name, counters) = l.split_once(':')?;
            (name.trim() == dev).then(|| counters.split_whitespace().nth(9)?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {dev} in {table}"))
}

/// A TCP connection from `ns` to `addr` (2 s to connect, 2 s read timeout).
pub fn connect(ns: &NetNs, addr: SocketAddr) -> TcpStream {
    let s = ns
        .run(|| TcpStream::connect_timeout(&addr, Duration::from_secs(2)))
        .expect("netns")
        .expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    s
}

/// Asserts that `ns` holds no conntrack entry mentioning `ip` (a fast path's flows must
/// not have any); nothing to check without the `conntrack` program.
pub fn assert_no_conntrack_of(ns: &NetNs, ip: Ipv4Addr) {
    if let Some(lines) = conntrack_lines(ns, &ip.to_string()) {
        assert!(
            lines.is_empty(),
            "fast flows hold conntrack entries: {lines:?}"
        );
    }
}

/// Asserts that the replies `r` came from exactly the pods `pods`, each seeing the
/// client's own address (what a fast path gives; the `ip` table masquerades the client).
pub fn assert_fast_replies(r: &[String], pods: &[&str]) {
    let want: BTreeSet<String> = pods.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(pods_seen(r), want, "{r:?}");
    assert!(
        r.iter().all(|l| l.ends_with(&format!(" {CLIENT_IP}"))),
        "not the fast path: {r:?}"
    );
}
