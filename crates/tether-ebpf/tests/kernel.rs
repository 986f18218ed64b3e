//! The eBPF fast path in the kernel, in namespaces (needs root; skipped loudly otherwise,
//! and a failure under `CI=true`): `tether_testkit::netlab`'s client, node and three pods,
//! with the nftables data plane serving what the programs pass on.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use tether_bpf::TcxHook;
use tether_ebpf::{Config, Dataplane};
use tether_netns::testing::require_root;
use tether_nft::netdev::Devices;
use tether_servicemap::{Endpoint, Protocol, ServiceInfo, ServiceMap, ServicePortName};
use tether_testkit::netlab::{
    CLIENT_IP, NODE_IP, POD_PORT, Topology, all_pods, assert_fast_replies, assert_no_conntrack_of,
    connect, echo, echo_server, forwarded, ok_replies, pod_ip, pods_seen, tcp_many, topology,
    tx_packets,
};

const UPLINK: &str = "tebc0";

fn ebpf_cfg(t: &Topology) -> Config {
    Config {
        netns: Some(t.node.path().to_path_buf()),
        devices: Devices {
            uplink: UPLINK.into(),
            bridge: "cni0".into(),
            clients: vec!["192.168.77.0/24".parse().expect("net")],
            pods: vec!["10.244.1.0/24".parse().expect("net")],
        },
    }
}

fn nft_cfg(t: &Topology) -> tether_nft::Config {
    tether_nft::Config {
        netns: Some(t.node.path().to_path_buf()),
        node_ips: vec![NODE_IP],
        cluster_cidr: Some("10.244.0.0/16".parse().expect("net")),
        service_cidr: Some("10.96.0.0/16".parse().expect("net")),
        health_checks: false,
        ..tether_nft::Config::default()
    }
}

fn name(svc: &str) -> ServicePortName {
    ServicePortName::new("default", svc, "", Protocol::Tcp)
}

fn info(vip: [u8; 4], port: u16) -> ServiceInfo {
    ServiceInfo::cluster_ip(IpAddr::from(vip), port, Protocol::Tcp)
}

fn local(ip: Ipv4Addr, port: u16) -> Endpoint {
    Endpoint {
        node_name: Some("node".into()),
        is_local: true,
        ..Endpoint::ready(IpAddr::V4(ip), port)
    }
}

/// One connection to `addr` from `ns`, from client port `port`: the reply.
fn from_port(ns: &tether_netns::NetNs, port: u16, addr: SocketAddr) -> String {
    ns.run(move || {
        use std::io::Read as _;
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        s.set_reuse_address(true).expect("reuse");
        s.bind(&SocketAddr::from((CLIENT_IP, port)).into())
            .expect("bind");
        s.connect_timeout(&addr.into(), Duration::from_secs(2))
            .expect("connect");
        let mut s = TcpStream::from(s);
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out.trim().to_owned()
    })
    .expect("netns")
}

fn web_endpoints(which: &[usize]) -> Vec<Endpoint> {
    which.iter().map(|i| local(pod_ip(*i), POD_PORT)).collect()
}

/// Programs attached at the uplink's ingress.
fn uplink_programs(t: &Topology, index: u32) -> usize {
    t.node
        .run(|| tether_bpf::tcx_query(index, TcxHook::Ingress))
        .expect("netns")
        .expect("query")
        .len()
}

/// The pod link the flow of `conn` (to `vip`) learned: the bridge port's name and index,
/// checked to be a pod veth on the bridge, with both MACs learned (that it is the veth of
/// the pod that answers shows in the echoes that then go through it).
fn learned_link(t: &Topology, dp: &Dataplane, conn: &TcpStream, vip: SocketAddr) -> (String, u32) {
    let SocketAddr::V4(vip) = vip else {
        panic!("IPv4")
    };
    let mut key = CLIENT_IP.octets().to_vec();
    key.extend_from_slice(&conn.local_addr().expect("addr").port().to_be_bytes());
    key.extend_from_slice(&vip.port().to_be_bytes());
    key.extend_from_slice(&vip.ip().octets());
    let value = dp
        .maps()
        .flows
        .lookup(&key)
        .expect("lookup")
        .expect("the flow");
    let link = u32::from_ne_bytes(value[12..16].try_into().expect("link"));
    assert!(
        value[16..22].iter().any(|b| *b != 0) && value[22..28].iter().any(|b| *b != 0),
        "MACs not learned: {value:?}"
    );
    tether_nft::ports::bridge_ports(Some(t.node.path()), "cni0")
        .expect("ports")
        .into_iter()
        .find(|(_, p)| p.index == link && p.veth_to_other_netns)
        .map(|(name, p)| (name, p.index))
        .unwrap_or_else(|| panic!("learned link {link} is not a pod veth on the bridge"))
}

/// Makes `pod` drop the first SYN-ACK its server sends from now on (`on`), or nothing
/// (`!on`), with an nftables table in the pod's own namespace.
fn drop_first_syn_ack(pod: &tether_netns::NetNs, on: bool) {
    let name = pod
        .path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut script = String::from("table inet tebpf_drop\ndelete table inet tebpf_drop\n");
    if on {
        script.push_str(&format!(
            "table inet tebpf_drop {{\n chain out {{\n  type filter hook output priority 0;\n  \
             tcp sport {POD_PORT} tcp flags & (syn | ack) == syn | ack \
             numgen inc mod 1000 == 0 drop\n }}\n}}\n"
        ));
    }
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &name, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("nft");
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("script");
    }
    assert!(child.wait().expect("nft").success(), "nft: {script}");
}

#[tokio::test]
async fn the_fast_path_serves_clients_without_conntrack_and_keeps_flows_across_restarts() {
    if !require_root() {
        return;
    }
    let t = topology("tebpf-", UPLINK).await;
    let ch = t.client.handle().await.expect("client handle");
    tether_netns::add_route(
        &ch,
        "10.96.0.0/16".parse().expect("net"),
        Some(NODE_IP.into()),
        None,
    )
    .await
    .expect("route");
    let uplink = tether_netns::link_index(&t.node.handle().await.expect("handle"), UPLINK)
        .await
        .expect("uplink");
    echo_server(&t.pods[1], 9090, Arc::clone(&t.stop));
    let echo_eps = |off_node: bool| {
        let mut v = vec![local(pod_ip(1), 9090)];
        if off_node {
            v.push(Endpoint::ready(
                IpAddr::V4(Ipv4Addr::new(10, 244, 2, 9)),
                9090,
            ));
        }
        v
    };
    let mut map = ServiceMap::new();
    map.insert(
        name("web"),
        info([10, 96, 0, 60], 80),
        web_endpoints(&[0, 1, 2]),
    );
    map.insert(name("echo"), info([10, 96, 0, 61], 90), echo_eps(false));
    tether_nft::prepare_node(&nft_cfg(&t)).expect("sysctls");
    let mut nft = tether_nft::Proxier::new(nft_cfg(&t));
    nft.sync(&map).expect("nft sync");
    // A bridge port that is no pod veth (a veth whose peer stays in the node's namespace):
    // its flows cannot be handed to a peer, so it gets the reply program that does not
    // learn links.
    let node_name = t.node.path().file_name().expect("name").to_string_lossy();
    for args in [
        "link add tebd0 type veth peer name tebd1",
        "link set tebd0 master cni0",
        "link set tebd0 up",
    ] {
        let st = std::process::Command::new("ip")
            .args(["-n", &node_name])
            .args(args.split(' '))
            .status()
            .expect("ip");
        assert!(st.success(), "ip {args}");
    }
    let ports = tether_nft::ports::bridge_ports(Some(t.node.path()), "cni0").expect("ports");
    assert_eq!(ports.len(), 4, "{ports:?}");
    assert!(!ports["tebd0"].veth_to_other_netns);
    let mut dp = Dataplane::open(&ebpf_cfg(&t)).await.expect("open");
    assert!(!dp.recovered());
    dp.sync(&Arc::new(map.clone())).await.expect("sync");
    assert_eq!(dp.state().picking(), 2);
    assert_eq!(dp.hooked().len(), 4, "one reply program per bridge port");
    assert_eq!(
        dp.hooked().values().filter(|learns| **learns).count(),
        3,
        "the pod veths learn links, the node-local one does not"
    );
    let attached_id = |index: u32| {
        t.node
            .run(|| tether_bpf::tcx_query(index, TcxHook::Ingress))
            .expect("netns")
            .expect("query")
    };
    let veth_ids: std::collections::BTreeSet<_> = ports
        .values()
        .filter(|p| p.veth_to_other_netns)
        .map(|p| attached_id(p.index))
        .collect();
    assert_eq!(veth_ids.len(), 1, "the pod veths share one program");
    assert!(
        !veth_ids.contains(&attached_id(ports["tebd0"].index)),
        "the node-local veth got the learning program"
    );
    let web: SocketAddr = "10.96.0.60:80".parse().expect("addr");
    let echo_vip: SocketAddr = "10.96.0.61:90".parse().expect("addr");

    // From the client: every pod, each seeing the client's own address (the `ip` table
    // would masquerade it), nothing forwarded by the node's IP stack, no conntrack entry.
    let before = forwarded(&t.node);
    let r = ok_replies(&tcp_many(&t.client, web, 60));
    assert_eq!(
        forwarded(&t.node) - before,
        0,
        "packets went through the IP stack"
    );
    assert_fast_replies(&r, &["pod0", "pod1", "pod2"]);
    let mut conn = connect(&t.client, echo_vip);
    assert_eq!(echo(&mut conn, "a"), "a");
    assert_no_conntrack_of(&t.node, CLIENT_IP);
    assert!(
        dp.maps().flows.next_key(None).expect("flows").is_some(),
        "no flow recorded"
    );
    // The SYN-ACK taught the echo flow its pod's veth and MACs: from then on the client's
    // packets go straight into the pod's namespace (`bpf_redirect_peer`), not out of the
    // bridge port.
    let (veth, _) = learned_link(&t, &dp, &conn, echo_vip);
    let sent = tx_packets(&t.node, &veth);
    for i in 0..20 {
        assert_eq!(echo(&mut conn, &format!("m{i}")), format!("m{i}"));
    }
    let through_bridge = tx_packets(&t.node, &veth) - sent;
    assert!(
        through_bridge < 5,
        "{through_bridge} packets went through the bridge port"
    );

    // The echo pod leaves the endpoints and comes back (a readiness flap; the same
    // address could also be a new pod's): its slot gets a new generation, and the idle
    // connection goes on, through the bridge rather than to the veth the flow learned.
    for eps in [vec![], echo_eps(false)] {
        map.insert(name("echo"), info([10, 96, 0, 61], 90), eps);
        nft.sync(&map).expect("nft sync");
        dp.sync(&Arc::new(map.clone())).await.expect("sync");
    }
    let sent = tx_packets(&t.node, &veth);
    for i in 0..5 {
        assert_eq!(echo(&mut conn, &format!("f{i}")), format!("f{i}"));
    }
    assert!(
        tx_packets(&t.node, &veth) - sent >= 5,
        "after the flap the flow still went to the veth it had learned"
    );

    // A client port reused: each new connection (a SYN with another sequence number)
    // picks afresh, as conntrack opens a new entry for it, on the fast path.
    let port0 = 40_000;
    let reused: Vec<String> = (0..12).map(|_| from_port(&t.client, port0, web)).collect();
    assert!(pods_seen(&reused).len() > 1, "{reused:?}");
    assert!(
        reused.iter().all(|l| l.ends_with(&format!(" {CLIENT_IP}"))),
        "not the fast path: {reused:?}"
    );
    // A retransmitted SYN (the same sequence number) keeps its endpoint: each pod drops
    // its first SYN-ACK, so the client's SYN goes again after a second; were it to pick
    // afresh, another pod would get the connection the first one answers, and reset it.
    for port in 41_000..41_003 {
        for pod in &t.pods {
            drop_first_syn_ack(pod, true);
        }
        let r = from_port(&t.client, port, web);
        assert!(r.ends_with(&format!(" {CLIENT_IP}")), "{r}");
    }
    for pod in &t.pods {
        drop_first_syn_ack(pod, false);
    }
    // Its last flow led to pod0 (for the stale flow below).
    (0..50)
        .find(|_| from_port(&t.client, port0, web).starts_with("pod0 "))
        .expect("a flow to pod0");

    // Pods and the node still go through the `ip` table.
    let from_pod = ok_replies(&tcp_many(&t.pods[0], web, 30));
    assert_eq!(pods_seen(&from_pod), all_pods(), "{from_pod:?}");
    let from_node = ok_replies(&tcp_many(&t.node, web, 30));
    assert_eq!(pods_seen(&from_node), all_pods(), "{from_node:?}");

    // A restart: a new process finds the programs, takes over their maps and replaces them
    // in place; the established connection goes on.
    drop(dp);
    let mut dp = Dataplane::open(&ebpf_cfg(&t)).await.expect("reopen");
    assert!(dp.recovered(), "the maps were not taken over");
    assert_eq!(
        uplink_programs(&t, uplink),
        1,
        "the forward program was not replaced"
    );
    dp.sync(&Arc::new(map.clone())).await.expect("sync");
    assert_eq!((dp.state().picking(), dp.state().draining()), (2, 0));
    assert_eq!(echo(&mut conn, "b"), "b");

    // An endpoint removed: new connections avoid it, still on the fast path. The echo
    // port leaves the fast path (an off-node endpoint): its established connection keeps
    // its flow while the port drains, and new ones take the `ip` table.
    map.insert(
        name("web"),
        info([10, 96, 0, 60], 80),
        web_endpoints(&[1, 2]),
    );
    map.insert(name("echo"), info([10, 96, 0, 61], 90), echo_eps(true));
    nft.sync(&map).expect("nft sync");
    dp.sync(&Arc::new(map.clone())).await.expect("sync");
    assert_eq!((dp.state().picking(), dp.state().draining()), (1, 1));
    let r = ok_replies(&tcp_many(&t.client, web, 40));
    assert_fast_replies(&r, &["pod1", "pod2"]);
    assert_eq!(echo(&mut conn, "c"), "c");
    // The client port whose recorded flow led to pod0 picks afresh with its next SYN, on
    // the fast path (not masqueraded by the stack).
    let again = from_port(&t.client, port0, web);
    assert!(
        !again.starts_with("pod0 ") && again.ends_with(&format!(" {CLIENT_IP}")),
        "{again}"
    );

    // Detached: the `ip` table serves the client (masqueraded).
    dp.detach().await.expect("detach");
    assert_eq!(uplink_programs(&t, uplink), 0);
    let r = ok_replies(&tcp_many(&t.client, web, 20));
    assert_eq!(pods_seen(&r), ["pod1", "pod2"].map(String::from).into());
    assert!(
        r.iter().all(|l| !l.ends_with(&format!(" {CLIENT_IP}"))),
        "{r:?}"
    );
}

#[tokio::test]
async fn an_uplink_that_is_no_ethernet_device_leaves_the_fast_path_off() {
    if !require_root() {
        return;
    }
    let ns =
        tether_netns::NetNs::create(&tether_netns::testing::unique_name("tebpf-")).expect("netns");
    let name = ns
        .path()
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    // A layer-3 device (a tun: no Ethernet header) as the uplink.
    let st = std::process::Command::new("ip")
        .args(["-n", &name, "tuntap", "add", "dev", "tebt0", "mode", "tun"])
        .status()
        .expect("ip");
    assert!(st.success(), "ip tuntap");
    let cfg = Config {
        netns: Some(ns.path().to_path_buf()),
        devices: Devices {
            uplink: "tebt0".into(),
            bridge: "cni0".into(),
            clients: vec!["192.168.77.0/24".parse().expect("net")],
            pods: vec!["10.244.1.0/24".parse().expect("net")],
        },
    };
    let e = Dataplane::open(&cfg).await.expect_err("a tun uplink");
    assert!(matches!(e, tether_ebpf::Error::NotEthernet(_)), "{e}");
    assert!(e.to_string().contains("not an Ethernet device"), "{e}");
    // The agent's loop gives up at once rather than retrying every few minutes.
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(ServiceMap::new()));
    tx.send_modify(|_| {});
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        tether_ebpf::run(rx, cfg, None, tokio_util::sync::CancellationToken::new()),
    )
    .await
    .expect("run returned");
    assert!(done.is_ok(), "{done:?}");
}
