//! Data-plane tests in network namespaces (need root; skipped otherwise).
//!
//! Topology per test: `tether_testkit::netlab` (a client, a node and three pods, all
//! namespaces named `tnf-<hex>`, deleted on drop). Each pod runs a TCP and a UDP server on
//! :8080 answering `"<pod name> <peer ip>"`. Services are programmed from a `ServiceMap` built in the test (no API server).
//!
//! Module map: clusterip (node, pod, hairpin), external (NodePort, LB IP, ETP Local,
//! source ranges), udp (UDP + endpoint removal), affinity, no_endpoints (reject),
//! incremental (incremental ≡ full in the kernel), healthcheck.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_netns::testing::{require_root, unique_name};
use tether_netns::{NetNs, add_route};
use tether_nft::{Config, Nft, Proxier, SyncKind};
use tether_servicemap::{
    Endpoint, Protocol, ServiceInfo, ServiceMap, ServicePortName, ServiceType, TrafficPolicy,
};
use tether_testkit::netlab::{
    CLIENT_IP, LB_IP, NODE_IP, POD_PORT, Topology, all_pods, assert_fast_replies,
    assert_no_conntrack_of, connect, echo, echo_server, forwarded, ok_replies, pod_ip, pods_seen,
    tcp_many, topology, which,
};

fn cfg(t: &Topology) -> Config {
    Config {
        netns: Some(t.node.path().to_path_buf()),
        node_ips: vec![NODE_IP],
        cluster_cidr: Some("10.244.0.0/16".parse().expect("net")),
        service_cidr: Some("10.96.0.0/16".parse().expect("net")),
        health_checks: false,
        ..Config::default()
    }
}

fn info(cluster_ip: [u8; 4], port: u16, protocol: Protocol) -> ServiceInfo {
    ServiceInfo::cluster_ip(IpAddr::from(cluster_ip), port, protocol)
}

/// A TCP LoadBalancer Service port on `cluster_ip:80` with `node_port` and [`LB_IP`].
fn load_balancer(cluster_ip: [u8; 4], node_port: u16) -> ServiceInfo {
    ServiceInfo {
        service_type: ServiceType::LoadBalancer,
        node_port: Some(node_port),
        load_balancer_ips: vec![IpAddr::V4(LB_IP)],
        ..info(cluster_ip, 80, Protocol::Tcp)
    }
}

fn endpoints(which: &[usize]) -> Vec<Endpoint> {
    which
        .iter()
        .map(|i| Endpoint {
            node_name: Some("node".into()),
            is_local: true,
            ..Endpoint::ready(IpAddr::V4(pod_ip(*i)), POD_PORT)
        })
        .collect()
}

/// A proxier for the topology's node, with its namespace prepared.
fn proxier(t: &Topology) -> Proxier {
    tether_nft::prepare_node(&cfg(t)).expect("sysctls");
    Proxier::new(cfg(t))
}

fn name(svc: &str, protocol: Protocol) -> ServicePortName {
    ServicePortName::new("default", svc, "", protocol)
}

fn udp_many(ns: &NetNs, addr: SocketAddr, n: usize) -> Vec<Option<String>> {
    ns.run(move || {
        (0..n)
            .map(|_| {
                let s = UdpSocket::bind("0.0.0.0:0").ok()?;
                s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
                s.connect(addr).ok()?;
                s.send(b"hi").ok()?;
                let mut buf = [0u8; 64];
                let len = s.recv(&mut buf).ok()?;
                Some(String::from_utf8_lossy(&buf[..len]).trim().to_owned())
            })
            .collect()
    })
    .expect("netns")
}

fn sync(p: &mut Proxier, map: &ServiceMap) -> SyncKind {
    p.sync(map).expect("sync")
}

#[tokio::test]
async fn clusterip_from_node_and_pods_with_hairpin() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let mut map = ServiceMap::new();
    map.insert(
        name("web", Protocol::Tcp),
        info([10, 96, 0, 50], 80, Protocol::Tcp),
        endpoints(&[0, 1, 2]),
    );
    let mut p = proxier(&t);
    assert_eq!(sync(&mut p, &map), SyncKind::Full);
    let vip: SocketAddr = "10.96.0.50:80".parse().expect("addr");

    let from_node = ok_replies(&tcp_many(&t.node, vip, 60));
    assert_eq!(pods_seen(&from_node), all_pods(), "{from_node:?}");

    let from_pod = ok_replies(&tcp_many(&t.pods[0], vip, 60));
    assert_eq!(pods_seen(&from_pod), all_pods(), "{from_pod:?}");
    // Pod → other pod keeps the pod's address; pod → itself (hairpin) is masqueraded to
    // the bridge address so the reply comes back through the node.
    for r in &from_pod {
        match r.split_once(' ') {
            Some(("pod0", peer)) => assert_eq!(peer, "10.244.1.1", "hairpin must be SNATed"),
            Some((_, peer)) => assert_eq!(peer, "10.244.1.2"),
            None => panic!("bad reply {r}"),
        }
    }
    // Unknown port on a ClusterIP: rejected, not hanging.
    let bad = tcp_many(&t.pods[1], "10.96.0.50:81".parse().expect("addr"), 1);
    assert_eq!(bad[0], Err(std::io::ErrorKind::ConnectionRefused));
}

#[tokio::test]
async fn nodeport_loadbalancer_and_external_policy_local() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let mut cluster = load_balancer([10, 96, 0, 60], 30080);
    let mut local = info([10, 96, 0, 61], 80, Protocol::Tcp);
    local.service_type = ServiceType::NodePort;
    local.node_port = Some(30081);
    local.external_traffic_policy = TrafficPolicy::Local;
    let mut map = ServiceMap::new();
    map.insert(
        name("cluster", Protocol::Tcp),
        cluster.clone(),
        endpoints(&[0, 1, 2]),
    );
    map.insert(name("local", Protocol::Tcp), local, endpoints(&[1]));
    let mut p = proxier(&t);
    sync(&mut p, &map);

    let np = ok_replies(&tcp_many(
        &t.client,
        SocketAddr::new(NODE_IP.into(), 30080),
        60,
    ));
    assert_eq!(pods_seen(&np), all_pods());
    assert!(
        np.iter().all(|r| r.ends_with(" 10.244.1.1")),
        "ETP Cluster SNATs: {np:?}"
    );

    let lb = ok_replies(&tcp_many(&t.client, SocketAddr::new(LB_IP.into(), 80), 60));
    assert_eq!(pods_seen(&lb), all_pods());

    let l = ok_replies(&tcp_many(
        &t.client,
        SocketAddr::new(NODE_IP.into(), 30081),
        10,
    ));
    assert!(
        l.iter().all(|r| r == &format!("pod1 {CLIENT_IP}")),
        "ETP Local keeps the client IP: {l:?}"
    );

    // loadBalancerSourceRanges that exclude the client: dropped (connect times out).
    cluster.load_balancer_source_ranges = vec!["10.1.0.0/16".parse().expect("net")];
    map.insert(
        name("cluster", Protocol::Tcp),
        cluster.clone(),
        endpoints(&[0, 1, 2]),
    );
    assert!(matches!(sync(&mut p, &map), SyncKind::Incremental(1)));
    let started = Instant::now();
    let blocked = t.client.run(|| {
        TcpStream::connect_timeout(
            &SocketAddr::new(LB_IP.into(), 80),
            Duration::from_millis(500),
        )
    });
    assert!(blocked.expect("netns").is_err());
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "dropped, not rejected"
    );
    // ... and the NodePort is not subject to them (as upstream).
    let np = ok_replies(&tcp_many(
        &t.client,
        SocketAddr::new(NODE_IP.into(), 30080),
        3,
    ));
    assert_eq!(np.len(), 3);
    // A range with the client allows it again.
    cluster.load_balancer_source_ranges = vec!["192.168.77.0/24".parse().expect("net")];
    map.insert(
        name("cluster", Protocol::Tcp),
        cluster,
        endpoints(&[0, 1, 2]),
    );
    sync(&mut p, &map);
    let lb = ok_replies(&tcp_many(&t.client, SocketAddr::new(LB_IP.into(), 80), 5));
    assert_eq!(lb.len(), 5);
}

#[tokio::test]
async fn udp_and_endpoint_removal() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let mut map = ServiceMap::new();
    let dns = info([10, 96, 0, 53], 53, Protocol::Udp);
    map.insert(
        name("dns", Protocol::Udp),
        dns.clone(),
        endpoints(&[0, 1, 2]),
    );
    map.insert(
        name("web", Protocol::Tcp),
        info([10, 96, 0, 50], 80, Protocol::Tcp),
        endpoints(&[0, 1, 2]),
    );
    let mut p = proxier(&t);
    sync(&mut p, &map);
    let vip: SocketAddr = "10.96.0.53:53".parse().expect("addr");
    let replies: Vec<String> = udp_many(&t.pods[0], vip, 60)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(replies.len(), 60);
    assert_eq!(pods_seen(&replies), all_pods());

    // A long-lived UDP flow must move when its endpoint goes away (conntrack cleanup),
    // and new flows reach only the remaining endpoint.
    let sock = t.pods[1]
        .run(|| UdpSocket::bind("0.0.0.0:0"))
        .expect("netns")
        .expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    sock.connect(vip).expect("connect");
    let mut buf = [0u8; 64];
    sock.send(b"x").expect("send");
    let n = sock.recv(&mut buf).expect("recv");
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    let pinned = first.split(' ').next().unwrap_or_default().to_owned();
    let keep: Vec<usize> = (0..3)
        .filter(|i| format!("pod{i}") != pinned)
        .take(1)
        .collect();
    map.insert(name("dns", Protocol::Udp), dns, endpoints(&keep));
    assert!(matches!(sync(&mut p, &map), SyncKind::Incremental(1)));
    let survivor = format!("pod{}", keep[0]);
    let replies: Vec<String> = udp_many(&t.pods[0], vip, 20)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(pods_seen(&replies), BTreeSet::from([survivor.clone()]));
    let tcp = ok_replies(&tcp_many(
        &t.node,
        "10.96.0.50:80".parse().expect("addr"),
        30,
    ));
    assert_eq!(pods_seen(&tcp), all_pods(), "other services untouched");
    if which("conntrack") {
        sock.send(b"x").expect("send");
        let n = sock
            .recv(&mut buf)
            .expect("the old flow moved to a live endpoint");
        let again = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(again.starts_with(&survivor), "{first} then {again}");
    }
}

#[tokio::test]
async fn session_affinity_sticks() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let mut i = info([10, 96, 0, 70], 80, Protocol::Tcp);
    i.session_affinity_timeout = Some(300);
    i.service_type = ServiceType::NodePort;
    i.node_port = Some(30070);
    let mut map = ServiceMap::new();
    map.insert(name("sticky", Protocol::Tcp), i, endpoints(&[0, 1, 2]));
    let mut p = proxier(&t);
    sync(&mut p, &map);
    for (ns, addr) in [
        (&t.pods[2], "10.96.0.70:80"),
        (&t.node, "10.96.0.70:80"),
        (&t.client, "192.168.77.1:30070"),
    ] {
        let r = ok_replies(&tcp_many(ns, addr.parse().expect("addr"), 30));
        assert_eq!(pods_seen(&r).len(), 1, "affinity from {}: {r:?}", ns.name());
    }
}

#[tokio::test]
async fn no_endpoints_rejects_at_once() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let i = load_balancer([10, 96, 0, 80], 30090);
    let mut map = ServiceMap::new();
    map.insert(name("empty", Protocol::Tcp), i.clone(), vec![]);
    let mut p = proxier(&t);
    sync(&mut p, &map);
    for (ns, addr) in [
        (&t.node, "10.96.0.80:80"),
        (&t.pods[0], "10.96.0.80:80"),
        (&t.client, "192.168.77.1:30090"),
        (&t.client, "192.168.100.10:80"),
    ] {
        let started = Instant::now();
        let r = tcp_many(ns, addr.parse().expect("addr"), 1);
        assert_eq!(
            r[0],
            Err(std::io::ErrorKind::ConnectionRefused),
            "{addr} from {}",
            ns.name()
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    // Endpoints appear: traffic flows (incremental sync).
    map.insert(name("empty", Protocol::Tcp), i, endpoints(&[2]));
    assert!(matches!(sync(&mut p, &map), SyncKind::Incremental(1)));
    let r = ok_replies(&tcp_many(
        &t.client,
        "192.168.77.1:30090".parse().expect("addr"),
        3,
    ));
    assert_eq!(pods_seen(&r), BTreeSet::from(["pod2".to_owned()]));
    // Terminating-but-serving endpoints are used only when nothing is ready.
    let mut eps = endpoints(&[0, 1]);
    eps[0].ready = false;
    eps[0].terminating = true;
    let mut map2 = ServiceMap::new();
    map2.insert(
        name("t", Protocol::Tcp),
        info([10, 96, 0, 81], 80, Protocol::Tcp),
        eps.clone(),
    );
    sync(&mut p, &map2);
    let r = ok_replies(&tcp_many(
        &t.node,
        "10.96.0.81:80".parse().expect("addr"),
        20,
    ));
    assert_eq!(pods_seen(&r), BTreeSet::from(["pod1".to_owned()]));
    eps.truncate(1);
    map2.insert(
        name("t", Protocol::Tcp),
        info([10, 96, 0, 81], 80, Protocol::Tcp),
        eps,
    );
    sync(&mut p, &map2);
    let r = ok_replies(&tcp_many(
        &t.node,
        "10.96.0.81:80".parse().expect("addr"),
        5,
    ));
    assert_eq!(pods_seen(&r), BTreeSet::from(["pod0".to_owned()]));
}

/// `nft -j list table` reduced to what matters: chains → rule expressions, sets/maps →
/// (type, flags, timeout, sorted elements). Handles and element order are ignored.
fn normalized(json: &str) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("nft json");
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for obj in v["nftables"].as_array().into_iter().flatten() {
        if let Some(c) = obj.get("chain") {
            let name = c["name"].as_str().unwrap_or_default().to_owned();
            rules.entry(name.clone()).or_default();
            out.insert(
                format!("chain {name}"),
                format!("{} {} {}", c["type"], c["hook"], c["prio"]),
            );
        } else if let Some(r) = obj.get("rule") {
            let chain = r["chain"].as_str().unwrap_or_default().to_owned();
            rules.entry(chain).or_default().push(r["expr"].to_string());
        } else if let Some(s) = obj.get("set").or_else(|| obj.get("map")) {
            let mut elems: Vec<String> = s["elem"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    // Dynamic affinity sets may hold entries with expiry times: key only.
                    let mut e = e.clone();
                    if let Some(inner) = e.get_mut("elem") {
                        inner.as_object_mut().map(|o| {
                            o.remove("expires");
                            o.remove("timeout")
                        });
                    }
                    e.to_string()
                })
                .collect();
            elems.sort();
            out.insert(
                format!("set {}", s["name"].as_str().unwrap_or_default()),
                format!(
                    "{} {} {} {} {:?}",
                    s["type"], s["map"], s["flags"], s["timeout"], elems
                ),
            );
        }
    }
    for (chain, r) in rules {
        out.insert(format!("rules {chain}"), r.join("\n"));
    }
    out
}

#[tokio::test]
async fn incremental_equals_full_in_the_kernel() {
    if !require_root() {
        return;
    }
    let node = NetNs::create(&unique_name("tnf-")).expect("netns");
    let c = Config {
        netns: Some(node.path().to_path_buf()),
        node_ips: vec![NODE_IP],
        cluster_cidr: Some("10.244.0.0/16".parse().expect("net")),
        ..Config::default()
    };
    // A deterministic pseudo-random walk through maps (xorshift), each step synced
    // incrementally and compared with a full sync of the same map.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    // `p` applies through libnftables, `check` by running `nft -f -`: both reach the same
    // kernel state.
    let mut p = Proxier::new(c.clone());
    let mut check = Proxier::new(Config {
        nft_library: false,
        ..c
    });
    let mut map = ServiceMap::new();
    let mut incrementals = 0;
    for step in 0..25 {
        for _ in 0..3 {
            let svc = next(6) as u8;
            let proto = if next(2) == 0 {
                Protocol::Tcp
            } else {
                Protocol::Udp
            };
            let n = name(&format!("s{svc}"), proto);
            if next(5) == 0 {
                map.ports.remove(&n);
                continue;
            }
            let mut i = info([10, 96, 3, svc], 80, proto);
            if next(2) == 0 {
                i.service_type = ServiceType::LoadBalancer;
                i.node_port = Some(30000 + u16::from(svc) * 2 + u16::from(proto == Protocol::Udp));
                i.load_balancer_ips = vec![IpAddr::from([192, 168, 100, svc])];
                if next(2) == 0 {
                    i.load_balancer_source_ranges = vec!["192.168.77.0/24".parse().expect("net")];
                }
                if next(2) == 0 {
                    i.external_traffic_policy = TrafficPolicy::Local;
                }
            }
            if next(3) == 0 {
                i.session_affinity_timeout = Some(10 + next(3) as u32);
            }
            if next(4) == 0 {
                i.internal_traffic_policy = TrafficPolicy::Local;
            }
            let mut eps = Vec::new();
            for k in 0..next(4) {
                let mut e = endpoints(&[k as usize])[0].clone();
                e.ready = next(4) != 0;
                e.terminating = !e.ready;
                e.is_local = next(2) == 0;
                eps.push(e);
            }
            map.insert(n, i, eps);
        }
        let kind = p.sync(&map).expect("sync");
        if matches!(kind, SyncKind::Incremental(_)) {
            incrementals += 1;
        }
        let after_incremental = normalized(&p.nft().list_table_json().expect("list"));
        check.force_full();
        assert_eq!(check.sync(&map).expect("full"), SyncKind::Full);
        let after_full = normalized(&check.nft().list_table_json().expect("list"));
        assert_eq!(after_incremental, after_full, "step {step}: {kind:?}");
        // The full sync replaced the table under `p`: make `p` start over too.
        p.force_full();
        p.sync(&map).expect("resync");
    }
    assert!(incrementals > 0);
    // Other tables are never touched.
    let other = "add table ip keepme\nadd chain ip keepme c\n";
    p.nft().apply(other).expect("other table");
    p.nft().delete_table().expect("delete ours");
    let listed = p.nft().run(&["list", "tables"]).expect("list");
    assert!(
        listed.contains("keepme") && !listed.contains("tether"),
        "{listed}"
    );
}

fn http_get(ns: &NetNs, addr: SocketAddr) -> Option<String> {
    ns.run(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .expect("netns")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_loop_with_health_check_node_port() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let i = ServiceInfo {
        external_traffic_policy: TrafficPolicy::Local,
        health_check_node_port: Some(32100),
        ..load_balancer([10, 96, 0, 90], 30100)
    };
    let mut map = ServiceMap::new();
    map.insert(name("hc", Protocol::Tcp), i.clone(), endpoints(&[0]));

    let (tx, rx) = tokio::sync::watch::channel(Arc::new(ServiceMap::new()));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let c = Config {
        health_checks: true,
        ..cfg(&t)
    };
    let task = tokio::spawn(tether_nft::run(rx, c, None, shutdown.clone()));
    tx.send_replace(Arc::new(map.clone()));
    let hc = SocketAddr::new(NODE_IP.into(), 32100);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut resp = None;
    while Instant::now() < deadline {
        resp = http_get(&t.client, hc);
        if resp.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = resp.expect("health check answered");
    assert!(
        resp.starts_with("HTTP/1.0 200") || resp.starts_with("HTTP/1.1 200"),
        "{resp}"
    );
    assert!(resp.contains(r#""localEndpoints":1"#), "{resp}");
    assert!(
        resp.contains(r#""service":{"namespace":"default","name":"hc"}"#),
        "{resp}"
    );
    let lb = ok_replies(&tcp_many(&t.client, SocketAddr::new(LB_IP.into(), 80), 3));
    assert!(
        lb.iter().all(|r| r == &format!("pod0 {CLIENT_IP}")),
        "{lb:?}"
    );

    // The only endpoint moves to another node: 503.
    let mut eps = endpoints(&[0]);
    eps[0].is_local = false;
    map.insert(name("hc", Protocol::Tcp), i, eps);
    tx.send_replace(Arc::new(map));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = http_get(&t.client, hc).unwrap_or_default();
        if r.contains(" 503 ") {
            assert!(r.contains(r#""localEndpoints":0"#), "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "no 503: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    task.await.expect("join").expect("run");
}

/// A full load into a namespace without the table writes the fast path's elements as a
/// netlink batch: the kernel ends up with exactly what the one-script load gives, and
/// incremental syncs (libnftables) work on top of it.
#[tokio::test]
async fn netlink_element_load_equals_the_script_load() {
    if !require_root() {
        return;
    }
    let a = NetNs::create(&unique_name("tnf-")).expect("netns");
    let b = NetNs::create(&unique_name("tnf-")).expect("netns");
    let c = table_config;
    let mut map = ServiceMap::new();
    for s in 0..40u8 {
        let proto = if s % 3 == 0 {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        let mut i = info([10, 96, 4, s], 80 + u16::from(s), proto);
        if s % 10 == 0 {
            // Not on the fast path: its chains and verdict elements stay in the script.
            i.session_affinity_timeout = Some(30);
        }
        let eps: Vec<usize> = (0..usize::from(s % 7) + 1)
            .map(|k| k + usize::from(s))
            .collect();
        let mut eps = endpoints(&eps);
        for (k, e) in eps.iter_mut().enumerate() {
            e.is_local = k % 2 == 0;
        }
        map.insert(name(&format!("s{s}"), proto), i, eps);
    }
    let mut fast = Proxier::new(c(&a, true));
    let mut script = Proxier::new(c(&b, false));
    assert!(
        !fast.nft().table_exists().expect("GETTABLE"),
        "fresh namespace"
    );
    assert_eq!(fast.sync(&map).expect("netlink load"), SyncKind::Full);
    assert!(fast.nft().table_exists().expect("GETTABLE"), "loaded");
    assert_eq!(fast.netlink_loads(), 1, "the elements went by netlink");
    assert_eq!(script.sync(&map).expect("script load"), SyncKind::Full);
    assert_eq!(script.netlink_loads(), 0);
    let listed = |p: &Proxier| normalized(&p.nft().list_table_json().expect("list"));
    let loaded = listed(&fast);
    for set in [
        "set fast-endpoints-3",
        "set fast-hairpin",
        "set cluster-ips",
    ] {
        assert!(
            loaded.get(set).is_some_and(|s| s.contains("10.")),
            "{set}: {loaded:?}"
        );
    }
    assert_eq!(loaded, listed(&script));
    // Single elements read back by netlink lookups (s2: 3 endpoints on the fast path).
    let want: BTreeSet<Vec<u8>> = endpoints(&[2, 3, 4])
        .iter()
        .map(|e| Nft::encode_value("fast-endpoints-3", &format!("{} . {POD_PORT}", e.ip)))
        .collect::<Option<_>>()
        .expect("encodable");
    let got: BTreeSet<Vec<u8>> = (0..3)
        .map(|i| {
            fast.nft()
                .element("fast-endpoints-3", &format!("10.96.4.2 . tcp . 82 . {i}"))
                .expect("lookup")
        })
        .collect::<Option<_>>()
        .expect("all three present");
    assert_eq!(got, want);
    assert_eq!(
        fast.nft()
            .element("fast-endpoints-3", "10.96.4.2 . tcp . 82 . 3")
            .expect("lookup"),
        None
    );
    assert_eq!(
        fast.nft()
            .element("cluster-ips", "10.96.4.2")
            .expect("lookup"),
        Some(Vec::new())
    );
    // Incremental changes on top of the netlink-loaded maps.
    map.ports.remove(&name("s5", Protocol::Tcp));
    map.insert(
        name("s41", Protocol::Tcp),
        info([10, 96, 4, 41], 80, Protocol::Tcp),
        endpoints(&[1, 2, 3]),
    );
    assert!(matches!(
        fast.sync(&map).expect("incremental"),
        SyncKind::Incremental(_)
    ));
    assert!(matches!(
        script.sync(&map).expect("incremental"),
        SyncKind::Incremental(_)
    ));
    assert_eq!(listed(&fast), listed(&script));
    // With the table present a full sync rebuilds it in place (never deleted or emptied).
    let handle = table_handle(&fast);
    fast.force_full();
    assert_eq!(fast.sync(&map).expect("resync"), SyncKind::Full);
    assert_eq!(fast.netlink_loads(), 2);
    assert_eq!(listed(&fast), listed(&script));
    assert_eq!(table_handle(&fast), handle, "the live table was kept");
    // An agent restarting (no state) on a table that holds an older map: Services gone
    // (with their chains and affinity sets), moved between endpoint counts, new ones.
    assert!(
        listed(&fast).keys().any(|k| k.contains(&hash_part("s10"))),
        "s10 (session affinity) has chains and sets before the restart"
    );
    for s in [10u8, 11, 12] {
        map.ports.remove(&name(&format!("s{s}"), Protocol::Tcp));
        map.ports.remove(&name(&format!("s{s}"), Protocol::Udp));
    }
    for s in 13..20u8 {
        let proto = if s % 3 == 0 {
            Protocol::Udp
        } else {
            Protocol::Tcp
        };
        let eps: Vec<usize> = (0..usize::from(s % 5) + 2).map(|k| k + 100).collect();
        map.insert(
            name(&format!("s{s}"), proto),
            info([10, 96, 4, s], 80 + u16::from(s), proto),
            endpoints(&eps),
        );
    }
    let mut sticky = info([10, 96, 5, 1], 443, Protocol::Tcp);
    sticky.session_affinity_timeout = Some(60);
    map.insert(name("s50", Protocol::Tcp), sticky, endpoints(&[7, 8]));
    let mut restarted = Proxier::new(c(&a, true));
    assert_eq!(restarted.sync(&map).expect("restart"), SyncKind::Full);
    assert_eq!(restarted.netlink_loads(), 1, "rebuilt in place");
    assert_eq!(table_handle(&restarted), handle, "the live table was kept");
    assert!(matches!(
        script.sync(&map).expect("incremental"),
        SyncKind::Incremental(_)
    ));
    let rebuilt = listed(&restarted);
    assert!(
        !rebuilt.keys().any(|k| k.contains(&hash_part("s10"))),
        "s10's chains and sets are gone: {rebuilt:?}"
    );
    assert_eq!(rebuilt, listed(&script));
    drop(a);
    drop(b);
}

/// The configuration of the netlink-load tests: namespace `ns`, the netlink element path on
/// or off.
fn table_config(ns: &NetNs, netlink: bool) -> Config {
    Config {
        netns: Some(ns.path().to_path_buf()),
        node_ips: vec![NODE_IP],
        cluster_cidr: Some("10.244.0.0/16".parse().expect("net")),
        netlink_elements: netlink,
        ..Config::default()
    }
}

/// The handle of the proxier's table (it changes when the table is deleted and created).
fn table_handle(p: &Proxier) -> String {
    let out = p
        .nft()
        .run(&["-a", "list", "table", "ip", "tether"])
        .expect("list");
    out.lines()
        .next()
        .and_then(|l| l.split("# handle ").nth(1))
        .expect("handle")
        .trim()
        .to_owned()
}

/// The readable part of the chain names of Service `svc` in namespace `default`.
fn hash_part(svc: &str) -> String {
    format!("default/{svc}/")
}

/// A live table whose fast-path map is declared smaller than the new map needs: the element
/// batch fails (the kernel's `size` limit) and the sync falls back to replacing the whole
/// table with one script, which declares a big enough map.
#[tokio::test]
async fn live_rebuild_falls_back_to_one_script_when_a_map_is_too_small() {
    if !require_root() {
        return;
    }
    let a = NetNs::create(&unique_name("tnf-")).expect("netns");
    let b = NetNs::create(&unique_name("tnf-")).expect("netns");
    let c = table_config;
    let mut fast = Proxier::new(c(&a, true));
    let mut script = Proxier::new(c(&b, false));
    // The table as a full sync of no Services makes it, but `fast-endpoints-1` limited to 4.
    let (empty, _) = tether_nft::render::full(&c(&a, true), &ServiceMap::new());
    let small = empty.replace(
        "fast-endpoints-1 { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport ; }",
        "fast-endpoints-1 { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport ; size 4 ; }",
    );
    assert_ne!(small, empty, "the map's declaration was found");
    fast.nft().apply(&small).expect("small map");
    let mut map = ServiceMap::new();
    let add = |map: &mut ServiceMap, s: u8| {
        map.insert(
            name(&format!("s{s}"), Protocol::Tcp),
            info([10, 96, 6, s], 80, Protocol::Tcp),
            endpoints(&[usize::from(s)]),
        );
    };
    for s in 0..3 {
        add(&mut map, s);
    }
    assert_eq!(fast.sync(&map).expect("fits"), SyncKind::Full);
    assert_eq!(fast.netlink_loads(), 1, "three elements fit in size 4");
    for s in 3..6 {
        add(&mut map, s);
    }
    fast.force_full();
    assert_eq!(fast.sync(&map).expect("fallback"), SyncKind::Full);
    assert_eq!(
        fast.netlink_loads(),
        1,
        "six did not: one script replaced the table"
    );
    assert_eq!(script.sync(&map).expect("script load"), SyncKind::Full);
    let listed = |p: &Proxier| normalized(&p.nft().list_table_json().expect("list"));
    assert_eq!(listed(&fast), listed(&script));
    drop(a);
    drop(b);
}

/// The netdev fast path's devices in [`topology`]: clients on the node's veth, pods on cni0.
fn netdev_cfg(t: &Topology) -> Config {
    Config {
        netdev: Some(tether_nft::netdev::Devices {
            uplink: "tnfc0".into(),
            bridge: "cni0".into(),
            clients: vec!["192.168.77.0/24".parse().expect("net")],
            pods: vec!["10.244.1.0/24".parse().expect("net")],
        }),
        ..cfg(t)
    }
}

#[tokio::test]
async fn netdev_fast_path_skips_conntrack_and_keeps_flows_across_changes() {
    if !require_root() {
        return;
    }
    let t = topology("tnf-", "tnfc0").await;
    let ch = t.client.handle().await.expect("client handle");
    add_route(
        &ch,
        "10.96.0.0/16".parse().expect("net"),
        Some(NODE_IP.into()),
        None,
    )
    .await
    .expect("route");
    echo_server(&t.pods[1], 9090, Arc::clone(&t.stop));
    let echo_eps = |extra: bool| {
        let mut v = vec![Endpoint {
            node_name: Some("node".into()),
            is_local: true,
            ..Endpoint::ready(IpAddr::V4(pod_ip(1)), 9090)
        }];
        if extra {
            v.push(Endpoint::ready(
                IpAddr::V4(Ipv4Addr::new(10, 244, 2, 9)),
                9090,
            ));
        }
        v
    };
    let mut map = ServiceMap::new();
    map.insert(
        name("web", Protocol::Tcp),
        info([10, 96, 0, 60], 80, Protocol::Tcp),
        endpoints(&[0, 1, 2]),
    );
    map.insert(
        name("echo", Protocol::Tcp),
        info([10, 96, 0, 61], 90, Protocol::Tcp),
        echo_eps(false),
    );
    tether_nft::prepare_node(&netdev_cfg(&t)).expect("sysctls");
    let mut p = Proxier::new(netdev_cfg(&t));
    assert_eq!(sync(&mut p, &map), SyncKind::Full);
    assert_eq!(p.netdev_state().map(|s| s.len()), Some(2));
    let web: SocketAddr = "10.96.0.60:80".parse().expect("addr");
    let echo_vip: SocketAddr = "10.96.0.61:90".parse().expect("addr");

    // From the client: every pod, and the client's own address (the `ip` table would
    // masquerade a source outside the cluster CIDR); no packet of it is forwarded by the
    // node's IP stack, and no conntrack entry.
    // A probe in the IP stack's prerouting hook counts the pods' packets to the client:
    // bridged frames reach it through br_netfilter unless the pods' veths hook them first
    // (which the probe can only tell when br_netfilter runs for this bridge).
    if let Ok(v) = tether_netns::read_sysctl(&t.node, "net.bridge.bridge-nf-call-iptables") {
        assert_eq!(
            v.trim(),
            "1",
            "br_netfilter is off: the probe proves nothing"
        );
    }
    p.nft()
        .apply(
            "table ip tnf-probe {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n  \
             ip daddr 192.168.77.2 tcp sport 8080 counter\n }\n}\n",
        )
        .expect("probe");
    let before = forwarded(&t.node);
    let r = ok_replies(&tcp_many(&t.client, web, 60));
    assert_eq!(
        forwarded(&t.node) - before,
        0,
        "packets went through the IP stack"
    );
    let probe = p
        .nft()
        .run(&["list", "chain", "ip", "tnf-probe", "pre"])
        .expect("list probe");
    assert!(
        probe.contains("counter packets 0 bytes 0"),
        "pods' replies met the IP stack's prerouting hook: {probe}"
    );
    p.nft()
        .apply("delete table ip tnf-probe\n")
        .expect("probe gone");
    assert_fast_replies(&r, &["pod0", "pod1", "pod2"]);
    let mut conn = connect(&t.client, echo_vip);
    assert_eq!(echo(&mut conn, "a"), "a");
    assert_no_conntrack_of(&t.node, CLIENT_IP);
    let flows = p
        .nft()
        .run(&["list", "map", "netdev", "tether", "flows"])
        .expect("list flows");
    assert!(flows.contains(&CLIENT_IP.to_string()), "{flows}");

    // Pods and the node still go through the `ip` table.
    let from_pod = ok_replies(&tcp_many(&t.pods[0], web, 30));
    assert_eq!(pods_seen(&from_pod), all_pods(), "{from_pod:?}");
    let from_node = ok_replies(&tcp_many(&t.node, web, 30));
    assert_eq!(pods_seen(&from_node), all_pods(), "{from_node:?}");

    // An agent restart (a new proxier's full sync) keeps the flows: the established
    // connection goes on.
    let mut p = Proxier::new(netdev_cfg(&t));
    assert_eq!(sync(&mut p, &map), SyncKind::Full);
    assert_eq!(echo(&mut conn, "b"), "b");

    // An endpoint removed: new connections avoid it, still on the fast path. The echo
    // port leaves the fast path (an off-node endpoint): the established connection keeps
    // its flow while the port drains.
    map.insert(
        name("web", Protocol::Tcp),
        info([10, 96, 0, 60], 80, Protocol::Tcp),
        endpoints(&[1, 2]),
    );
    map.insert(
        name("echo", Protocol::Tcp),
        info([10, 96, 0, 61], 90, Protocol::Tcp),
        echo_eps(true),
    );
    assert_eq!(sync(&mut p, &map), SyncKind::Incremental(2));
    assert_eq!(
        p.netdev_state().map(|s| (s.len(), s.draining())),
        Some((1, 1))
    );
    let r = ok_replies(&tcp_many(&t.client, web, 40));
    assert_fast_replies(&r, &["pod1", "pod2"]);
    assert_eq!(echo(&mut conn, "c"), "c");

    // Off: the netdev table goes, the `ip` table serves the client (masqueraded).
    let mut p = Proxier::new(cfg(&t));
    assert_eq!(sync(&mut p, &map), SyncKind::Full);
    assert!(
        p.nft().run(&["list", "table", "netdev", "tether"]).is_err(),
        "the netdev table was left behind"
    );
    let r = ok_replies(&tcp_many(&t.client, web, 20));
    assert_eq!(pods_seen(&r), ["pod1", "pod2"].map(String::from).into());
    assert!(
        r.iter().all(|l| !l.ends_with(&format!(" {CLIENT_IP}"))),
        "{r:?}"
    );
}
