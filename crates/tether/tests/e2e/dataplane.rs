//! The Service data plane (issue 4): traffic to ClusterIPs, NodePorts and LoadBalancer
//! addresses reaches ready pods. Every test runs twice, with the kernel data plane
//! (`dataplane::nftables::*`) and with the userspace proxy (`dataplane::userspace::*`), each
//! in a cluster of its own: a server, one agent in a node namespace and, where traffic comes
//! "from outside", a client namespace wired to the node (192.168.77.2 → 192.168.77.1).
//! Needs root (skipped loudly otherwise).

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use tether_testkit::node::{NodeCluster, poll};
use tether_testkit::{AgentOptions, ClientNs, ServerOptions, exec_in, udp_exchange, wait_for};

use crate::bin;
use crate::pods::{START, expose, netexec_pod, run_netexec};

const CLIENT_IP: &str = "192.168.77.2";
const NODE_SIDE_IP: &str = "192.168.77.1";

fn cluster(mode: Option<&str>, server_args: &[&str]) -> Option<NodeCluster> {
    NodeCluster::start(
        bin(),
        ServerOptions {
            args: server_args.iter().map(|s| (*s).to_owned()).collect(),
            ..ServerOptions::default()
        },
        AgentOptions {
            proxy_mode: mode.map(str::to_owned),
            ..AgentOptions::default()
        },
    )
}

/// `n` HTTP GETs of `url` from inside `netns`, one connection each: replies counted by body
/// (a failed request counts under `""`).
fn hits(netns: &str, url: &str, n: usize) -> BTreeMap<String, usize> {
    let script = format!("for i in $(seq {n}); do curl -s -m 2 '{url}'; echo; done");
    let out = exec_in(netns, &["sh", "-c", &script]);
    let mut m = BTreeMap::new();
    for line in out.stdout.lines().take(n) {
        *m.entry(line.trim().to_owned()).or_insert(0) += 1;
    }
    let missing = n.saturating_sub(out.stdout.lines().count());
    if missing > 0 {
        *m.entry(String::new()).or_insert(0) += missing;
    }
    m
}

/// Polls rounds of 30 requests until every name in `want` answered and none failed (30 s).
#[track_caller]
fn reaches_all(netns: &str, url: &str, want: &[String]) {
    let mut last = BTreeMap::new();
    let ok = poll(Duration::from_secs(30), || {
        last = hits(netns, url, 30);
        !last.contains_key("") && want.iter().all(|w| last.contains_key(w))
    });
    assert!(
        ok,
        "{url} from {netns}: want replies from all of {want:?} and no failures; last round: {last:?}"
    );
    let extra: Vec<&String> = last.keys().filter(|k| !want.contains(k)).collect();
    assert!(extra.is_empty(), "replies from unexpected pods: {extra:?}");
}

/// `n` UDP `hostname` exchanges with `target` from `netns`, one socket each.
fn udp_hits(netns: &str, target: SocketAddr, n: usize) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for _ in 0..n {
        let reply = udp_exchange(netns, target, b"hostname", Duration::from_secs(1))
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        *m.entry(reply).or_insert(0) += 1;
    }
    m
}

fn names(pods: &[tether_testkit::node::PodInfo]) -> Vec<String> {
    pods.iter().map(|p| p.name.clone()).collect()
}

/// Asserts that every one of `h`'s requests was answered by the same pod of `pods`.
#[track_caller]
fn assert_one_pod(h: &BTreeMap<String, usize>, pods: &[tether_testkit::node::PodInfo], from: &str) {
    assert_eq!(h.len(), 1, "one pod for one client ({from}): {h:?}");
    let answered = h.keys().next().expect("a reply");
    assert!(
        names(pods).contains(answered),
        "answered by a pod ({from}), not failed: {h:?}"
    );
}

/// `web`'s first LoadBalancer ingress IP ("" while there is none).
fn lb_ingress(c: &NodeCluster) -> String {
    c.jsonpath(
        "default",
        "svc",
        "web",
        "{.status.loadBalancer.ingress[0].ip}",
    )
}

/// `externalTrafficPolicy: Local` on `web`.
fn traffic_policy_local(c: &NodeCluster) {
    c.k(&[
        "patch",
        "svc",
        "web",
        "-p",
        r#"{"spec":{"externalTrafficPolicy":"Local"}}"#,
    ]);
}

fn clusterip_reaches_every_endpoint_from_pods_and_the_node(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 3);
    expose(&c, "web", &[]);
    let ip = c.cluster_ip("default", "web");
    let want = names(&pods);
    reaches_all(c.agent.netns(), &format!("http://{ip}/hostname"), &want);
    // From a pod, through the Service back to itself as well (hairpin).
    reaches_all(&pods[0].netns(), &format!("http://{ip}/hostname"), &want);
    // By name, through the cluster DNS and the pod's resolv.conf.
    let by_name = c.agent.pod_nsenter(
        &c.kubectl,
        "default",
        &pods[1].name,
        &["curl", "-sS", "-m", "3", "http://web/hostname"],
    );
    assert!(
        want.contains(&by_name.stdout.trim().to_owned()),
        "{by_name:?}"
    );
}

fn nodeport_from_the_client_via_the_node_address(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 3);
    expose(&c, "web", &["--type=NodePort"]);
    let np = c.node_port("default", "web", 0);
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    let node_ip = c.agent.node_ip().to_owned();
    reaches_all(
        client.netns(),
        &format!("http://{node_ip}:{np}/hostname"),
        &names(&pods),
    );
    // The ClusterIP port still works, and the node port is not served on the ClusterIP.
    let ip = c.cluster_ip("default", "web");
    reaches_all(
        c.agent.netns(),
        &format!("http://{ip}/hostname"),
        &names(&pods),
    );
    let out = c.agent.curl(&format!("http://{ip}:{np}/hostname"));
    assert_ne!(
        out.code, 0,
        "node port {np} answered on the ClusterIP: {out:?}"
    );
}

fn multi_port_and_named_target_ports_tcp_and_udp(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    c.apply(&netexec_pod("multi-a", "multi", 8080, Some(8081)));
    c.apply(&netexec_pod("multi-b", "multi", 9090, Some(9091)));
    c.apply(
        r#"apiVersion: v1
kind: Service
metadata:
  name: multi
spec:
  type: NodePort
  selector:
    app: multi
  ports:
  - name: web
    port: 80
    targetPort: http
  - name: alt
    port: 8000
    targetPort: http
  - name: udp
    port: 53
    protocol: UDP
    targetPort: udp
"#,
    );
    let pods = c.wait_ready_pods("default", "app=multi", 2, START);
    let want = names(&pods);
    let ip = c.cluster_ip("default", "multi");
    reaches_all(c.agent.netns(), &format!("http://{ip}:80/hostname"), &want);
    reaches_all(
        c.agent.netns(),
        &format!("http://{ip}:8000/hostname"),
        &want,
    );
    let target: SocketAddr = format!("{ip}:53").parse().expect("udp target");
    let mut last = BTreeMap::new();
    let ok = poll(Duration::from_secs(30), || {
        last = udp_hits(c.agent.netns(), target, 20);
        want.iter().all(|w| last.contains_key(w))
    });
    assert!(ok, "UDP {target}: want {want:?}; last round {last:?}");
    // The UDP node port from the client.
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    let np = c.node_port("default", "multi", 2);
    let target: SocketAddr = format!("{}:{np}", c.agent.node_ip())
        .parse()
        .expect("udp node port");
    let ok = poll(Duration::from_secs(30), || {
        last = udp_hits(client.netns(), target, 20);
        want.iter().all(|w| last.contains_key(w))
    });
    assert!(
        ok,
        "UDP node port {target}: want {want:?}; last round {last:?}"
    );
}

fn session_affinity_client_ip_sticks(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 3);
    expose(
        &c,
        "web",
        &["--type=NodePort", "--session-affinity=ClientIP"],
    );
    let ip = c.cluster_ip("default", "web");
    let url = format!("http://{ip}/hostname");
    // Wait until the service answers at all, then every answer is the same pod.
    wait_for(Duration::from_secs(30), "service answers", || {
        let h = hits(c.agent.netns(), &url, 1);
        (!h.contains_key("")).then_some(())
    });
    let h = hits(c.agent.netns(), &url, 20);
    assert_one_pod(&h, &pods, "the node");
    // Another client (a pod) sticks too, and the node port from outside.
    let h = hits(&pods[0].netns(), &url, 20);
    assert_one_pod(&h, &pods, "a pod");
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    let np = c.node_port("default", "web", 0);
    let url = format!("http://{}:{np}/hostname", c.agent.node_ip());
    wait_for(Duration::from_secs(30), "node port answers", || {
        let h = hits(client.netns(), &url, 1);
        (!h.contains_key("")).then_some(())
    });
    let h = hits(client.netns(), &url, 20);
    assert_one_pod(&h, &pods, "the client");
}

fn deleting_a_pod_moves_traffic_within_bounds(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 3);
    expose(&c, "web", &[]);
    let ip = c.cluster_ip("default", "web");
    let url = format!("http://{ip}/hostname");
    reaches_all(c.agent.netns(), &url, &names(&pods));
    let victim = pods[0].name.clone();
    let t0 = Instant::now();
    c.k(&["delete", "pod", &victim, "--wait=false"]);
    let mut last = BTreeMap::new();
    let moved = poll(Duration::from_secs(10), || {
        last = hits(c.agent.netns(), &url, 15);
        !last.contains_key(&victim) && !last.contains_key("")
    });
    assert!(
        moved,
        "traffic still reaches {victim} (or fails) 10 s after its deletion: {last:?}"
    );
    eprintln!("traffic moved off {victim} in {:?}", t0.elapsed());
    // The replacement gets traffic too.
    let now = wait_for(START, "the replacement", || {
        let p = c.wait_ready_pods("default", "app=web", 3, START);
        p.iter().all(|p| p.name != victim).then_some(p)
    });
    reaches_all(c.agent.netns(), &url, &names(&now));
}

/// Whether a UDP datagram to `target` from `netns` is refused (ICMP port unreachable) within
/// `within`.
fn udp_refused(netns: &str, target: SocketAddr, within: Duration) -> Result<(), String> {
    let ns = tether_netns::NetNs::open(netns).map_err(|e| e.to_string())?;
    let sock = ns
        .run(|| UdpSocket::bind("0.0.0.0:0"))
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    sock.connect(target).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(within))
        .map_err(|e| e.to_string())?;
    match sock.send(b"hostname") {
        Ok(_) => {}
        // Rejected in the output hook of the sender's own namespace: the kernel fails the
        // send itself (EPERM), as it does for kube-proxy's reject rules.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(()),
        Err(e) => return Err(e.to_string()),
    }
    let mut buf = [0u8; 512];
    match sock.recv(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

fn no_endpoints_refuses_at_once(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    c.k(&["create", "service", "clusterip", "empty", "--tcp=80:8080"]);
    c.apply(
        r#"apiVersion: v1
kind: Service
metadata:
  name: empty-udp
spec:
  selector:
    app: nothing
  ports:
  - port: 53
    protocol: UDP
"#,
    );
    let ip = c.cluster_ip("default", "empty");
    // Let the data plane see the Service first.
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    let out = exec_in(
        c.agent.netns(),
        &["curl", "-sS", "-m", "10", &format!("http://{ip}/")],
    );
    let took = t0.elapsed();
    assert_eq!(
        out.code, 7,
        "connection refused (curl exit 7), not a timeout (28): {out:?}"
    );
    assert!(took < Duration::from_secs(2), "refused after {took:?}");
    // From a pod too.
    let pods = run_netexec(&c, "client", 1);
    let t0 = Instant::now();
    let out = exec_in(
        &pods[0].netns(),
        &["curl", "-sS", "-m", "10", &format!("http://{ip}/")],
    );
    assert_eq!(out.code, 7, "from a pod: {out:?}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    // UDP: ICMP port unreachable.
    let uip = c.cluster_ip("default", "empty-udp");
    let target: SocketAddr = format!("{uip}:53").parse().expect("udp target");
    udp_refused(c.agent.netns(), target, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("UDP to a Service without endpoints not refused: {e}"));
    udp_refused(&pods[0].netns(), target, Duration::from_secs(2)).unwrap_or_else(|e| {
        panic!("UDP from a pod to a Service without endpoints not refused: {e}")
    });
}

fn external_traffic_policy_local_keeps_the_client_ip(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 2);
    expose(&c, "web", &["--type=NodePort"]);
    traffic_policy_local(&c);
    let np = c.node_port("default", "web", 0);
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    let url = format!("http://{}:{np}/clientip", c.agent.node_ip());
    let mut last = BTreeMap::new();
    let ok = poll(Duration::from_secs(30), || {
        last = hits(client.netns(), &url, 10);
        !last.contains_key("") && last.keys().all(|k| k.starts_with(&format!("{CLIENT_IP}:")))
    });
    assert!(ok, "client IP not preserved: {last:?}");
    // And every local endpoint is used.
    reaches_all(
        client.netns(),
        &format!("http://{}:{np}/hostname", c.agent.node_ip()),
        &names(&pods),
    );
}

fn loadbalancer_from_a_pool_is_reachable_from_the_client(mode: Option<&str>) {
    let Some(c) = cluster(mode, &["--lb-pool", "192.168.200.0/29"]) else {
        return;
    };
    let pods = run_netexec(&c, "web", 2);
    expose(&c, "web", &["--type=LoadBalancer"]);
    let ingress = wait_for(Duration::from_secs(30), "an EXTERNAL-IP", || {
        Some(lb_ingress(&c)).filter(|ip| !ip.is_empty())
    });
    let addr: std::net::Ipv4Addr = ingress.parse().expect("ingress IP");
    let pool: ipnet::Ipv4Net = "192.168.200.0/29".parse().expect("pool");
    assert!(pool.contains(&addr), "{addr} not from {pool}");
    let table = c.k(&["get", "svc", "web"]);
    assert!(table.contains(&ingress), "EXTERNAL-IP column: {table}");
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    reaches_all(
        client.netns(),
        &format!("http://{ingress}:80/hostname"),
        &names(&pods),
    );
    // Released on delete: a new LoadBalancer gets an address from the pool again.
    c.k(&["delete", "svc", "web"]);
    expose(&c, "web", &["--type=LoadBalancer"]);
    wait_for(Duration::from_secs(30), "a pool address again", || {
        lb_ingress(&c)
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .filter(|a| pool.contains(a))
    });
}

fn loadbalancer_without_a_pool_uses_the_node_address(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    let pods = run_netexec(&c, "web", 2);
    expose(&c, "web", &["--type=LoadBalancer"]);
    let node_ip = c.agent.node_ip().to_owned();
    wait_for(
        Duration::from_secs(30),
        "EXTERNAL-IP = the node address",
        || {
            let out = c.k(&["get", "svc", "web"]);
            out.contains(&node_ip).then_some(())
        },
    );
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    // The service port (not the node port) works on the node's address.
    reaches_all(
        client.netns(),
        &format!("http://{node_ip}:80/hostname"),
        &names(&pods),
    );
}

fn health_check_node_port_counts_local_endpoints(mode: Option<&str>) {
    let Some(c) = cluster(mode, &[]) else { return };
    run_netexec(&c, "web", 2);
    expose(&c, "web", &["--type=LoadBalancer"]);
    traffic_policy_local(&c);
    let hc = wait_for(Duration::from_secs(10), "healthCheckNodePort", || {
        c.jsonpath("default", "svc", "web", "{.spec.healthCheckNodePort}")
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
    });
    let client = ClientNs::connect(&c.agent, CLIENT_IP, NODE_SIDE_IP);
    let url = format!("http://{}:{hc}/healthz", c.agent.node_ip());
    let mut last = String::new();
    let ok = poll(Duration::from_secs(30), || {
        let out = client.exec(&["curl", "-s", "-m", "2", "-w", "\n%{http_code}", &url]);
        last = out.stdout;
        last.contains("\"localEndpoints\": 2") || last.contains("\"localEndpoints\":2")
    });
    assert!(ok, "health check {url}: {last:?}");
    assert!(last.trim_end().ends_with("200"), "{last}");
}

macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        /// The kernel data plane (the default).
        mod nftables {
            $(
                #[test]
                fn $name() {
                    super::$name(None)
                }
            )*
        }
        /// The userspace L4 proxy.
        mod userspace {
            $(
                #[test]
                fn $name() {
                    super::$name(Some("userspace"))
                }
            )*
        }
    };
}

both_modes!(
    clusterip_reaches_every_endpoint_from_pods_and_the_node,
    nodeport_from_the_client_via_the_node_address,
    multi_port_and_named_target_ports_tcp_and_udp,
    session_affinity_client_ip_sticks,
    deleting_a_pod_moves_traffic_within_bounds,
    no_endpoints_refuses_at_once,
    loadbalancer_from_a_pool_is_reachable_from_the_client,
    loadbalancer_without_a_pool_uses_the_node_address,
    health_check_node_port_counts_local_endpoints,
);

/// The userspace proxy's per-frontend metrics are on the agent's `/metrics` (one proxy
/// state for the listeners of every runtime, so one count).
#[test]
fn userspace_proxy_metrics_are_served_by_the_agent() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let Some(c) = NodeCluster::start(
        bin(),
        ServerOptions::default(),
        AgentOptions {
            proxy_mode: Some("userspace".into()),
            extra_args: vec!["--metrics-listen".into(), format!("127.0.0.1:{port}")],
            ..AgentOptions::default()
        },
    ) else {
        return;
    };
    let pods = run_netexec(&c, "web", 2);
    expose(&c, "web", &[]);
    let ip = c.cluster_ip("default", "web");
    reaches_all(
        c.agent.netns(),
        &format!("http://{ip}/hostname"),
        &names(&pods),
    );
    let got = hits(c.agent.netns(), &format!("http://{ip}/hostname"), 20);
    assert_eq!(got.get(""), None, "every request answered: {got:?}");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let out = std::process::Command::new("curl")
        .args(["-sS", "-m", "5", &url])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout);
    let total: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("tether_proxy_connections_total{")
                && l.contains("default/web")
                && l.contains("tcp")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        total >= 20.0,
        "at least this test's 20 connections: {total}\n{text}"
    );
}

// Kernel-only: an L4 proxy cannot keep the client's source address (documented in README's
// userspace-mode limits).
#[test]
fn nftables_external_traffic_policy_local_keeps_the_client_ip() {
    external_traffic_policy_local_keeps_the_client_ip(None)
}
