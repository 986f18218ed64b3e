//! Integration tests: real namespaces, links and traffic. They need root; every namespace
//! is named `tk-<random>` and removed by `NetNs`'s drop, also when a test fails. Nothing in
//! the root network namespace is changed (checked by `root_namespace_untouched`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tether_netns::testing::{require_root, unique_name};
use tether_netns::{
    Error, IpNet, NETNS_RUN_DIR, NetNs, SpawnOptions, add_address, add_route, addresses,
    attach_pod, command_in, create_veth_into, detach_pod, ensure_bridge, hairpin, link_index,
    link_with_address, read_sysctl, set_up, sysctl,
};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The prefix of every namespace these tests create.
const PREFIX: &str = "tk-";

const TIMEOUT: Duration = Duration::from_secs(5);

fn net(s: &str) -> IpNet {
    s.parse().expect("test network")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn new_ns() -> TestResult<NetNs> {
    Ok(NetNs::create(&unique_name(PREFIX))?)
}

/// The inode of the network namespace the calling thread is in.
fn current_netns_inode() -> TestResult<u64> {
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

/// What a test may not change in the root namespace.
fn root_snapshot() -> TestResult<String> {
    let mut s = String::new();
    for key in ["ipv4/ip_forward", "ipv4/conf/all/route_localnet"] {
        s += &std::fs::read_to_string(Path::new("/proc/sys/net").join(key))?;
    }
    let links = Command::new("ip").args(["-o", "link", "show"]).output()?;
    s += &String::from_utf8_lossy(&links.stdout);
    let addrs = Command::new("ip").args(["-o", "addr", "show"]).output()?;
    s += &String::from_utf8_lossy(&addrs.stdout);
    let routes = Command::new("ip")
        .args(["route", "show", "table", "all"])
        .output()?;
    s += &String::from_utf8_lossy(&routes.stdout);
    Ok(s)
}

/// A TCP round trip: listen on `listen` inside `server`, connect from inside `client`.
/// Returns the source address the server saw.
fn tcp_roundtrip(server: &NetNs, listen: SocketAddr, client: &NetNs) -> TestResult<SocketAddr> {
    let listener = server.run(|| TcpListener::bind(listen))??;
    let target = listener.local_addr()?;
    let accepted = std::thread::spawn(move || -> std::io::Result<SocketAddr> {
        let (mut stream, peer) = listener.accept()?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf)?;
        stream.write_all(peer.to_string().as_bytes())?;
        Ok(peer)
    });
    let answer = client.run(move || -> std::io::Result<String> {
        let mut stream = TcpStream::connect_timeout(&target, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.write_all(b"ping")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    })??;
    let peer = accepted.join().map_err(|_| "server thread panicked")??;
    assert_eq!(answer, peer.to_string());
    Ok(peer)
}

/// A UDP round trip, like [`tcp_roundtrip`].
fn udp_roundtrip(server: &NetNs, listen: SocketAddr, client: &NetNs) -> TestResult<SocketAddr> {
    let socket = server.run(|| UdpSocket::bind(listen))??;
    socket.set_read_timeout(Some(TIMEOUT))?;
    let target = socket.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<SocketAddr> {
        let mut buf = [0u8; 64];
        let (n, peer) = socket.recv_from(&mut buf)?;
        socket.send_to(&buf[..n], peer)?;
        Ok(peer)
    });
    let wildcard: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()?;
    client.run(move || -> std::io::Result<()> {
        let socket = UdpSocket::bind(wildcard)?;
        socket.set_read_timeout(Some(TIMEOUT))?;
        socket.send_to(b"hello", target)?;
        let mut buf = [0u8; 64];
        let (n, from) = socket.recv_from(&mut buf)?;
        assert_eq!((&buf[..n], from), (&b"hello"[..], target));
        Ok(())
    })??;
    Ok(echo.join().map_err(|_| "echo thread panicked")??)
}

#[test]
fn create_run_and_drop() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let before = root_snapshot()?;
    let caller_ns = current_netns_inode()?;
    let ns = new_ns()?;
    let path = ns.path().to_path_buf();
    assert_eq!(path, Path::new(NETNS_RUN_DIR).join(ns.name()));
    assert!(path.exists());

    // `ip netns` sees it (same /run/netns bind mount as iproute2).
    let listed = Command::new("ip").args(["netns", "list"]).output()?;
    assert!(String::from_utf8_lossy(&listed.stdout).contains(ns.name()));

    // A second create with the same name fails and leaves the first alone.
    assert!(matches!(NetNs::create(ns.name()), Err(Error::Exists(_))));
    assert!(path.exists());

    // `run` executes on a thread inside the namespace; the caller's thread never moves.
    let inside = ns.run(current_netns_inode)??;
    assert_eq!(inside, std::fs::metadata(&path)?.ino());
    assert_ne!(inside, caller_ns);
    assert_eq!(current_netns_inode()?, caller_ns);

    // `spawn` too.
    let spawned = ns
        .spawn(current_netns_inode)?
        .join()
        .map_err(|_| "panicked")???;
    assert_eq!(spawned, inside);

    // Loopback is up: a TCP round trip over 127.0.0.1 inside the namespace.
    let peer = tcp_roundtrip(&ns, "127.0.0.1:0".parse()?, &ns)?;
    assert_eq!(peer.ip(), ip("127.0.0.1"));

    // `open` gets the same namespace and does not delete it on drop.
    let opened = NetNs::open(ns.name())?;
    assert_eq!(opened.run(current_netns_inode)??, inside);
    drop(opened);
    assert!(path.exists());

    drop(ns);
    assert!(!path.exists(), "drop removes {}", path.display());
    assert_eq!(current_netns_inode()?, caller_ns);
    assert_eq!(root_snapshot()?, before);
    Ok(())
}

#[test]
fn persist_open_delete() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let name = unique_name(PREFIX);
    let path = Path::new(NETNS_RUN_DIR).join(&name);
    drop(NetNs::create(&name)?.persist());
    assert!(path.exists(), "persisted namespace survives drop");
    NetNs::open(&name)?.delete()?;
    assert!(!path.exists());
    assert!(NetNs::open(&name).is_err_and(|e| e.is_not_found()));

    // Namespaces that are not ours by name are never deleted.
    let own = NetNs::from_path("/proc/self/ns/net")?;
    assert!(matches!(own.delete(), Err(Error::Invalid(_))));
    assert!(Path::new("/proc/self/ns/net").exists());

    assert!(matches!(NetNs::create("a/b"), Err(Error::Invalid(_))));
    Ok(())
}

#[test]
fn drop_cleans_up_after_panic() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let name = unique_name(PREFIX);
    let path = Path::new(NETNS_RUN_DIR).join(&name);
    let outcome = std::panic::catch_unwind(|| {
        let ns = NetNs::create(&name).expect("create");
        assert!(Path::new(NETNS_RUN_DIR).join(&name).exists());
        let _ = ns.run(|| panic!("boom inside the namespace"));
    });
    assert!(outcome.is_err(), "the panic reaches the caller");
    assert!(!path.exists(), "the namespace was removed during unwinding");
    Ok(())
}

#[tokio::test]
async fn veth_pair_between_namespaces() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let before = root_snapshot()?;
    let a = new_ns()?;
    let b = new_ns()?;
    let ha = a.handle().await?;
    let hb = b.handle().await?;

    create_veth_into(&ha, "va", "vb", &b).await?;
    assert!(link_index(&ha, "vb").await.is_err_and(|e| e.is_not_found()));
    link_index(&hb, "vb").await?;

    add_address(&ha, "va", net("198.51.100.1/24")).await?;
    add_address(&hb, "vb", net("198.51.100.2/24")).await?;
    assert!(
        add_address(&ha, "va", net("198.51.100.1/24"))
            .await
            .is_err_and(|e| e.is_exists())
    );
    set_up(&ha, "va").await?;
    set_up(&hb, "vb").await?;
    assert!(
        addresses(&ha, "va")
            .await?
            .contains(&net("198.51.100.1/24"))
    );
    assert_eq!(
        link_with_address(&ha, ip("198.51.100.1")).await?,
        Some(("va".to_owned(), net("198.51.100.1/24")))
    );
    assert_eq!(link_with_address(&ha, ip("198.51.100.2")).await?, None);

    let peer = tcp_roundtrip(&b, "198.51.100.2:0".parse()?, &a)?;
    assert_eq!(peer.ip(), ip("198.51.100.1"));
    let peer = udp_roundtrip(&a, "198.51.100.1:0".parse()?, &b)?;
    assert_eq!(peer.ip(), ip("198.51.100.2"));

    // A routed destination behind b: a reaches b's second address through the route.
    add_address(&hb, "lo", net("192.0.2.10/32")).await?;
    add_route(&ha, net("192.0.2.0/24"), Some(ip("198.51.100.2")), None).await?;
    assert!(
        add_route(&ha, net("192.0.2.0/24"), Some(ip("198.51.100.2")), None)
            .await
            .is_err_and(|e| e.is_exists())
    );
    let peer = tcp_roundtrip(&b, "192.0.2.10:0".parse()?, &a)?;
    assert_eq!(peer.ip(), ip("198.51.100.1"));
    assert!(add_route(&ha, net("10.0.0.0/8"), None, None).await.is_err());

    // ICMP too, when the image has ping (not required).
    if Path::new("/usr/bin/ping").exists() || Path::new("/bin/ping").exists() {
        let mut ping = Command::new("ping");
        ping.args(["-c", "1", "-W", "5", "198.51.100.2"]);
        command_in(&SpawnOptions::new(&a), &mut ping)?;
        assert!(ping.status()?.success());
    }

    drop((ha, hb));
    drop((a, b));
    assert_eq!(root_snapshot()?, before);
    Ok(())
}

#[tokio::test]
async fn bridge_with_pods() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let before = root_snapshot()?;
    let node = new_ns()?;
    let bridge = ensure_bridge(&node, "cni0", net("10.244.1.1/24")).await?;
    assert_eq!(bridge.name(), "cni0");
    assert_eq!(bridge.gateway(), net("10.244.1.1/24"));
    // Idempotent.
    assert_eq!(
        ensure_bridge(&node, "cni0", net("10.244.1.1/24")).await?,
        bridge
    );
    assert!(matches!(
        ensure_bridge(&node, "cni0", net("10.244.1.254/24")).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        ensure_bridge(&node, "lo", net("10.244.9.1/24")).await,
        Err(Error::Invalid(_))
    ));
    assert_eq!(read_sysctl(&node, "net.ipv4.ip_forward")?, "1");
    assert_eq!(read_sysctl(&node, "net/ipv6/conf/cni0/accept_ra")?, "0");

    let gateway = bridge.gateway().addr();
    let pod_ips = ["10.244.1.2", "10.244.1.3", "10.244.1.4"];
    let mut pods = Vec::new();
    let node_h = node.handle().await?;
    for pod_ip in pod_ips {
        let pod = new_ns()?;
        let host = attach_pod(
            &node,
            "cni0",
            &pod,
            "eth0",
            net(&format!("{pod_ip}/24")),
            gateway,
        )
        .await?;
        assert!(host.starts_with("veth") && host.len() == 12, "{host}");
        assert!(hairpin(&node_h, &host).await?, "hairpin on {host}");
        assert_eq!(read_sysctl(&pod, "net.ipv4.conf.eth0.arp_notify")?, "1");
        pods.push((pod, ip(pod_ip), host));
    }
    // The pod's eth0 never existed in the node namespace.
    assert!(
        link_index(&node_h, "eth0")
            .await
            .is_err_and(|e| e.is_not_found())
    );

    // pod ↔ pod over the bridge, without address translation.
    for (server, server_ip, _) in &pods {
        for (client, client_ip, _) in &pods {
            if server_ip != client_ip {
                let peer = tcp_roundtrip(server, SocketAddr::new(*server_ip, 0), client)?;
                assert_eq!(peer.ip(), *client_ip);
            }
        }
    }
    // node ↔ pod.
    for (pod, pod_ip, _) in &pods {
        assert_eq!(
            tcp_roundtrip(pod, SocketAddr::new(*pod_ip, 0), &node)?.ip(),
            gateway
        );
        assert_eq!(
            tcp_roundtrip(&node, SocketAddr::new(gateway, 0), pod)?.ip(),
            *pod_ip
        );
    }
    let peer = udp_roundtrip(&pods[0].0, SocketAddr::new(pods[0].1, 0), &pods[2].0)?;
    assert_eq!(peer.ip(), pods[2].1);

    // A second bridge: pods in another subnet are reached through the gateway
    // (default route + ip_forward in the node).
    ensure_bridge(&node, "cni1", net("10.244.2.1/24")).await?;
    let far = new_ns()?;
    attach_pod(
        &node,
        "cni1",
        &far,
        "eth0",
        net("10.244.2.2/24"),
        ip("10.244.2.1"),
    )
    .await?;
    assert_eq!(
        tcp_roundtrip(&far, "10.244.2.2:0".parse()?, &pods[0].0)?.ip(),
        pods[0].1
    );

    // A /32 pod (every packet crosses the node's IP stack): on-link route to the gateway.
    let host32 = new_ns()?;
    attach_pod(
        &node,
        "cni0",
        &host32,
        "eth0",
        net("10.244.1.10/32"),
        gateway,
    )
    .await?;
    assert_eq!(
        tcp_roundtrip(&host32, "10.244.1.10:0".parse()?, &pods[1].0)?.ip(),
        pods[1].1
    );
    assert_eq!(
        tcp_roundtrip(&pods[1].0, SocketAddr::new(pods[1].1, 0), &host32)?.ip(),
        ip("10.244.1.10")
    );

    // Errors leave nothing behind.
    let pod0 = &pods[0].0;
    assert!(
        attach_pod(&node, "cni0", pod0, "eth0", net("10.244.1.20/24"), gateway)
            .await
            .is_err_and(|e| e.is_exists())
    );
    assert!(
        attach_pod(&node, "nope0", &far, "eth1", net("10.244.1.21/24"), gateway)
            .await
            .is_err_and(|e| e.is_not_found())
    );
    let far_h = far.handle().await?;
    assert!(
        link_index(&far_h, "eth1")
            .await
            .is_err_and(|e| e.is_not_found())
    );

    // detach removes both ends; twice is fine.
    let (pod, _, host) = &pods[0];
    detach_pod(pod, "eth0").await?;
    detach_pod(pod, "eth0").await?;
    assert!(
        link_index(&node_h, host)
            .await
            .is_err_and(|e| e.is_not_found())
    );

    let names: Vec<String> = pods.iter().map(|(p, _, _)| p.name().to_owned()).collect();
    drop((node_h, far_h));
    drop((pods, far, host32, node));
    for name in names {
        assert!(!Path::new(NETNS_RUN_DIR).join(name).exists());
    }
    assert_eq!(root_snapshot()?, before);
    Ok(())
}

#[tokio::test]
async fn command_in_pod_namespace() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf")?;
    let host_name = nix_hostname()?;

    let node = new_ns()?;
    let pod = new_ns()?;
    let bridge = ensure_bridge(&node, "cni0", net("10.244.1.1/24")).await?;
    attach_pod(
        &node,
        bridge.name(),
        &pod,
        "eth0",
        net("10.244.1.5/24"),
        bridge.gateway().addr(),
    )
    .await?;

    let dir = tempfile::tempdir()?;
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
    )?;
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1\tlocalhost\n10.244.1.5\tweb-0\n")?;

    let opts = SpawnOptions::new(&pod)
        .hostname("web-0")
        .bind_file(&resolv, "/etc/resolv.conf")
        .bind_file(&hosts, "/etc/hosts");
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "cat /etc/resolv.conf; hostname; cat /etc/hosts; ip -o addr",
    ]);
    command_in(&opts, &mut cmd)?;
    let out = cmd.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("nameserver 10.96.0.10\n"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "web-0"), "{stdout}");
    assert!(stdout.contains("10.244.1.5\tweb-0"), "{stdout}");
    assert!(stdout.contains("eth0    inet 10.244.1.5/24"), "{stdout}");
    assert!(
        !stdout.contains("192.0.2.2"),
        "the host's addresses are not visible: {stdout}"
    );

    // Only joining the netns: the host's files and hostname.
    let mut plain = Command::new("/bin/sh");
    plain.args(["-c", "hostname; ip -o link"]);
    command_in(&SpawnOptions::new(&pod), &mut plain)?;
    let plain = String::from_utf8_lossy(&plain.output()?.stdout).into_owned();
    assert!(plain.lines().any(|l| l == host_name), "{plain}");
    assert!(plain.contains("eth0@"), "{plain}");

    // Nothing leaked to the host.
    assert_eq!(std::fs::read_to_string("/etc/resolv.conf")?, host_resolv);
    assert_eq!(nix_hostname()?, host_name);
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    assert!(
        !mountinfo.contains(&*dir.path().to_string_lossy()),
        "{mountinfo}"
    );

    // Bad options are rejected before spawning.
    let missing = SpawnOptions::new(&pod).bind_file(dir.path().join("nope"), "/etc/hosts");
    assert!(command_in(&missing, &mut Command::new("true")).is_err_and(|e| e.is_not_found()));
    let long = SpawnOptions::new(&pod).hostname("x".repeat(65));
    assert!(matches!(
        command_in(&long, &mut Command::new("true")),
        Err(Error::Invalid(_))
    ));
    Ok(())
}

fn nix_hostname() -> TestResult<String> {
    Ok(std::fs::read_to_string("/proc/sys/kernel/hostname")?
        .trim()
        .to_owned())
}

#[test]
fn sysctls_stay_in_the_namespace() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let root = std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/route_localnet")?;
    let ns = new_ns()?;
    assert_eq!(read_sysctl(&ns, "net.ipv4.conf.all.route_localnet")?, "0");
    sysctl(&ns, "net.ipv4.conf.all.route_localnet", "1")?;
    assert_eq!(read_sysctl(&ns, "net.ipv4.conf.all.route_localnet")?, "1");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/route_localnet")?,
        root
    );
    assert!(matches!(
        sysctl(&ns, "kernel.hostname", "x"),
        Err(Error::Invalid(_))
    ));
    assert!(sysctl(&ns, "net.ipv4.no_such_key", "1").is_err_and(|e| e.is_not_found()));
    Ok(())
}

#[tokio::test]
async fn ipv6_pods() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let node = new_ns()?;
    let bridge = ensure_bridge(&node, "cni0", net("2001:db8:1::1/64")).await?;
    assert_eq!(read_sysctl(&node, "net.ipv6.conf.all.forwarding")?, "1");
    let gateway = bridge.gateway().addr();
    let a = new_ns()?;
    let b = new_ns()?;
    // Some machines run DAD on every interface (`all.accept_dad` is 1; the kernel skips DAD
    // only when it and the interface's are both 0): pod addresses must be usable at once anyway.
    for pod in [&a, &b] {
        sysctl(pod, "net.ipv6.conf.all.accept_dad", "1")?;
    }
    attach_pod(&node, "cni0", &a, "eth0", net("2001:db8:1::2/64"), gateway).await?;
    attach_pod(&node, "cni0", &b, "eth0", net("2001:db8:1::3/64"), gateway).await?;
    assert_eq!(read_sysctl(&a, "net.ipv6.conf.eth0.accept_dad")?, "0");
    let peer = tcp_roundtrip(&b, "[2001:db8:1::3]:0".parse()?, &a)?;
    assert_eq!(peer.ip(), ip("2001:db8:1::2"));
    let peer = tcp_roundtrip(&a, "[2001:db8:1::2]:0".parse()?, &node)?;
    assert_eq!(peer.ip(), gateway);
    assert!(matches!(
        attach_pod(
            &node,
            "cni0",
            &a,
            "eth1",
            net("2001:db8:1::4/64"),
            ip("10.244.1.1")
        )
        .await,
        Err(Error::Invalid(_))
    ));
    Ok(())
}

#[test]
fn many_namespaces_in_parallel() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let workers: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(|| -> TestResult<Vec<String>> {
                let mut names = Vec::new();
                for _ in 0..5 {
                    let ns = new_ns()?;
                    ns.run(|| TcpListener::bind("127.0.0.1:0"))??;
                    names.push(ns.name().to_owned());
                }
                Ok(names)
            })
        })
        .collect();
    for worker in workers {
        for name in worker.join().map_err(|_| "worker panicked")?? {
            assert!(!Path::new(NETNS_RUN_DIR).join(name).exists());
        }
    }
    Ok(())
}

#[test]
fn handle_needs_a_runtime() -> TestResult {
    if !require_root() {
        return Ok(());
    }
    let ns = new_ns()?;
    let result = futures::executor::block_on(ns.handle());
    assert!(matches!(result, Err(Error::Invalid(_))));
    Ok(())
}
