//! Component test: serve an index on 127.0.0.1 (UDP + TCP) and query it with the real `dig`.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use k8s_openapi::api::core::v1::{Pod, PodStatus, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tether_dns::{Config, DnsServer, Index};
use tokio_util::sync::CancellationToken;

fn meta(name: &str, ns: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ns.into()),
        ..ObjectMeta::default()
    }
}

fn service(name: &str, ns: &str, spec: ServiceSpec) -> Service {
    Service {
        metadata: meta(name, ns),
        spec: Some(spec),
        ..Service::default()
    }
}

fn http_ports() -> Option<Vec<ServicePort>> {
    Some(vec![ServicePort {
        name: Some("http".into()),
        protocol: Some("TCP".into()),
        port: 80,
        ..ServicePort::default()
    }])
}

/// A headless Service `name` in `default` with the `http` port.
fn headless(name: &str) -> Service {
    service(
        name,
        "default",
        ServiceSpec {
            cluster_ip: Some("None".into()),
            ports: http_ports(),
            ..ServiceSpec::default()
        },
    )
}

fn slice(
    name: &str,
    ns: &str,
    svc: &str,
    ips: &[String],
    hostnames: &[Option<&str>],
) -> EndpointSlice {
    let mut m = meta(name, ns);
    m.labels = Some(BTreeMap::from([(
        "kubernetes.io/service-name".to_owned(),
        svc.to_owned(),
    )]));
    EndpointSlice {
        metadata: m,
        address_type: "IPv4".into(),
        endpoints: ips
            .iter()
            .enumerate()
            .map(|(i, ip)| Endpoint {
                addresses: vec![ip.clone()],
                hostname: hostnames.get(i).copied().flatten().map(Into::into),
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    ..EndpointConditions::default()
                }),
                ..Endpoint::default()
            })
            .collect(),
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            protocol: Some("TCP".into()),
            port: Some(8080),
            ..EndpointPort::default()
        }]),
    }
}

fn index() -> Arc<Index> {
    let services = vec![
        service(
            "web",
            "default",
            ServiceSpec {
                cluster_ip: Some("10.96.0.20".into()),
                cluster_ips: Some(vec!["10.96.0.20".into()]),
                ports: http_ports(),
                ..ServiceSpec::default()
            },
        ),
        headless("db"),
        headless("big"),
        service(
            "ext",
            "default",
            ServiceSpec {
                type_: Some("ExternalName".into()),
                external_name: Some("example.test".into()),
                ..ServiceSpec::default()
            },
        ),
    ];
    let big: Vec<String> = (1..=100).map(|i| format!("10.244.1.{i}")).collect();
    let slices = vec![
        slice(
            "db-1",
            "default",
            "db",
            &["10.244.0.5".into(), "10.244.0.6".into()],
            &[Some("db-0"), None],
        ),
        slice("big-1", "default", "big", &big, &[]),
    ];
    let pods = vec![Pod {
        metadata: meta("p", "default"),
        status: Some(PodStatus {
            pod_ip: Some("10.244.0.9".into()),
            ..PodStatus::default()
        }),
        ..Pod::default()
    }];
    Arc::new(Index::from_objects(&services, &slices, &pods))
}

/// Binds UDP and TCP on the same free loopback port.
fn bind_pair() -> (UdpSocket, TcpListener, u16) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        let port = udp.local_addr().expect("addr").port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            return (udp, tcp, port);
        }
    }
    panic!("no free port pair");
}

fn start(upstreams: Vec<SocketAddr>, shutdown: &CancellationToken) -> u16 {
    let cfg = Config {
        upstreams,
        nameserver_ips: vec!["127.0.0.1".parse().expect("ip")],
        ..Config::default()
    };
    let server = Arc::new(DnsServer::new(cfg, index()).expect("server"));
    let (udp, tcp, port) = bind_pair();
    tokio::spawn(Arc::clone(&server).serve_udp(udp, shutdown.clone()));
    tokio::spawn(server.serve_tcp(tcp, shutdown.clone()));
    port
}

/// A tiny upstream: `*.example.test` / `example.test` A → 192.0.2.1 (TTL 60), others NXDOMAIN.
async fn fake_upstream(shutdown: CancellationToken) -> SocketAddr {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = sock.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, peer) = tokio::select! {
                () = shutdown.cancelled() => return,
                r = sock.recv_from(&mut buf) => match r { Ok(v) => v, Err(_) => continue },
            };
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut r = Message::response(q.metadata.id, OpCode::Query);
            r.metadata.recursion_available = true;
            r.metadata.recursion_desired = q.metadata.recursion_desired;
            r.queries = q.queries.clone();
            if let Some(query) = q.queries.first() {
                let name = query.name().to_lowercase().to_ascii();
                if name.ends_with("example.test.") && query.query_type() == RecordType::A {
                    r.answers.push(Record::from_rdata(
                        query.name().clone(),
                        60,
                        RData::A(A::new(192, 0, 2, 1)),
                    ));
                } else {
                    r.metadata.response_code = ResponseCode::NXDomain;
                }
            }
            assert_eq!(r.metadata.message_type, MessageType::Response);
            if let Ok(out) = r.to_vec() {
                let _ = sock.send_to(&out, peer).await;
            }
        }
    });
    addr
}

async fn dig(port: u16, args: &[&str]) -> String {
    let out = tokio::process::Command::new("dig")
        .arg("@127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .args(["+tries=1", "+time=5"])
        .args(args)
        .output()
        .await
        .expect("run dig (apt-get install dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

fn status(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or("").to_owned())
        .unwrap_or_default()
}

/// Whether a line of dig's output starts with `rr` (whitespace-normalized).
fn has_rr(out: &str, rr: &str) -> bool {
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .any(|l| l.starts_with(rr))
}

fn has_dig() -> bool {
    std::process::Command::new("dig").arg("-v").output().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dig_against_tether_dns() {
    if !has_dig() {
        assert!(
            std::env::var("CI").is_err(),
            "dig missing (install dnsutils)"
        );
        eprintln!("skipping: dig not installed");
        return;
    }
    let shutdown = CancellationToken::new();
    let upstream = fake_upstream(shutdown.clone()).await;
    let port = start(vec![upstream], &shutdown);

    // A for a ClusterIP service, over UDP and TCP.
    assert_eq!(
        lines(&dig(port, &["+short", "web.default.svc.cluster.local", "A"]).await),
        ["10.96.0.20"]
    );
    assert_eq!(
        lines(
            &dig(
                port,
                &["+short", "+tcp", "web.default.svc.cluster.local", "A"]
            )
            .await
        ),
        ["10.96.0.20"]
    );
    let full = dig(port, &["web.default.svc.cluster.local", "A"]).await;
    assert!(full.contains("flags: qr aa rd"), "{full}");
    assert!(
        has_rr(&full, "web.default.svc.cluster.local. 5 IN A 10.96.0.20"),
        "{full}"
    );

    // Headless A set.
    assert_eq!(
        lines(&dig(port, &["+short", "db.default.svc.cluster.local", "A"]).await),
        ["10.244.0.5", "10.244.0.6"]
    );
    // Endpoint hostname record.
    assert_eq!(
        lines(&dig(port, &["+short", "db-0.db.default.svc.cluster.local", "A"]).await),
        ["10.244.0.5"]
    );

    // SRV for a named port: ClusterIP and headless.
    assert_eq!(
        lines(
            &dig(
                port,
                &["+short", "_http._tcp.web.default.svc.cluster.local", "SRV"]
            )
            .await
        ),
        ["0 100 80 web.default.svc.cluster.local."]
    );
    assert_eq!(
        lines(
            &dig(
                port,
                &["+short", "_http._tcp.db.default.svc.cluster.local", "SRV"]
            )
            .await
        ),
        [
            "0 50 8080 10-244-0-6.db.default.svc.cluster.local.",
            "0 50 8080 db-0.db.default.svc.cluster.local."
        ]
    );

    // ExternalName → CNAME (then the target's A, chased through the upstream).
    assert_eq!(
        lines(&dig(port, &["+short", "ext.default.svc.cluster.local", "CNAME"]).await),
        ["example.test."]
    );
    assert_eq!(
        lines(&dig(port, &["+short", "ext.default.svc.cluster.local", "A"]).await),
        ["192.0.2.1", "example.test."]
    );

    // PTR for a service and an endpoint address.
    assert_eq!(
        lines(&dig(port, &["+short", "-x", "10.96.0.20"]).await),
        ["web.default.svc.cluster.local."]
    );
    assert_eq!(
        lines(&dig(port, &["+short", "-x", "10.244.0.5"]).await),
        ["db-0.db.default.svc.cluster.local."]
    );

    // Pod A record (pods insecure).
    assert_eq!(
        lines(
            &dig(
                port,
                &["+short", "10-244-0-77.default.pod.cluster.local", "A"]
            )
            .await
        ),
        ["10.244.0.77"]
    );

    // dns-version TXT.
    assert_eq!(
        lines(&dig(port, &["+short", "dns-version.cluster.local", "TXT"]).await),
        ["\"1.1.0\""]
    );

    // NXDOMAIN vs NODATA.
    let nx = dig(port, &["nope.default.svc.cluster.local", "A"]).await;
    assert_eq!(status(&nx), "NXDOMAIN", "{nx}");
    assert!(nx.contains("AUTHORITY: 1"), "{nx}");
    let nodata = dig(port, &["web.default.svc.cluster.local", "AAAA"]).await;
    assert_eq!(status(&nodata), "NOERROR", "{nodata}");
    assert!(
        nodata.contains("ANSWER: 0") && nodata.contains("AUTHORITY: 1"),
        "{nodata}"
    );
    assert!(
        has_rr(
            &nodata,
            "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local."
        ),
        "{nodata}"
    );
    assert_eq!(
        status(&dig(port, &["default.svc.cluster.local", "A"]).await),
        "NOERROR"
    );
    assert_eq!(
        status(&dig(port, &["missing-ns.svc.cluster.local", "A"]).await),
        "NXDOMAIN"
    );

    // 100 endpoints: TC over UDP, complete over TCP.
    let udp = dig(
        port,
        &[
            "+ignore",
            "+bufsize=512",
            "big.default.svc.cluster.local",
            "A",
        ],
    )
    .await;
    assert!(udp.contains(" tc"), "expected TC: {udp}");
    let noedns = dig(
        port,
        &["+ignore", "+noedns", "big.default.svc.cluster.local", "A"],
    )
    .await;
    assert!(noedns.contains(" tc"), "expected TC without EDNS: {noedns}");
    let tcp = dig(
        port,
        &["+short", "+tcp", "big.default.svc.cluster.local", "A"],
    )
    .await;
    assert_eq!(lines(&tcp).len(), 100, "{tcp}");
    // dig's own retry over TCP after TC also gets everything.
    let auto = dig(
        port,
        &[
            "+short",
            "+bufsize=512",
            "big.default.svc.cluster.local",
            "A",
        ],
    )
    .await;
    assert_eq!(lines(&auto).len(), 100, "{auto}");

    // Forwarded name via the fake upstream (and again from the cache).
    assert_eq!(
        lines(&dig(port, &["+short", "www.example.test", "A"]).await),
        ["192.0.2.1"]
    );
    assert_eq!(
        lines(&dig(port, &["+short", "www.example.test", "A"]).await),
        ["192.0.2.1"]
    );
    assert_eq!(
        status(&dig(port, &["other.invalid", "A"]).await),
        "NXDOMAIN"
    );

    // SERVFAIL quickly when the upstream is a dead port (closed) or a black hole (no answer).
    let closed = {
        let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.local_addr().expect("addr")
    };
    let blackhole = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for upstream in [closed, blackhole.local_addr().expect("addr")] {
        let dead = start(vec![upstream], &shutdown);
        let t0 = Instant::now();
        let out = dig(dead, &["www.example.test", "A"]).await;
        assert_eq!(status(&out), "SERVFAIL", "{out}");
        assert!(
            t0.elapsed() < Duration::from_millis(2500),
            "took {:?}",
            t0.elapsed()
        );
        // Cluster names are still answered while the upstream is dead.
        assert_eq!(
            lines(&dig(dead, &["+short", "web.default.svc.cluster.local", "A"]).await),
            ["10.96.0.20"]
        );
    }
    shutdown.cancel();
}

/// Bursts of queries from several sockets at once (the server takes them in batches): every
/// query gets exactly its own answer, cluster names and forwarded ones alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_from_many_clients_each_get_their_answer() {
    let shutdown = CancellationToken::new();
    let upstream = fake_upstream(shutdown.clone()).await;
    let port = start(vec![upstream], &shutdown);
    let server: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut clients = Vec::new();
    for c in 0..4u16 {
        clients.push(tokio::spawn(async move {
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let mut want = BTreeMap::new();
            for q in 0..50u16 {
                let id = c * 100 + q;
                // Every fifth one is forwarded upstream; one in seven does not exist.
                let name = match q {
                    q if q % 5 == 0 => format!("h{q}.example.test."),
                    q if q % 7 == 0 => format!("nx{q}.default.svc.cluster.local."),
                    _ => "web.default.svc.cluster.local.".to_owned(),
                };
                let mut m = Message::query();
                m.metadata.id = id;
                m.metadata.recursion_desired = true;
                m.add_query(hickory_proto::op::Query::query(
                    name.parse().expect("name"),
                    RecordType::A,
                ));
                sock.send_to(&m.to_vec().expect("encode"), server)
                    .await
                    .expect("send");
                want.insert(id, name);
            }
            let mut buf = vec![0u8; 4096];
            let deadline = Instant::now() + Duration::from_secs(5);
            while !want.is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                let (n, _) = tokio::time::timeout(left, sock.recv_from(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("unanswered: {want:?}"))
                    .expect("recv");
                let r = Message::from_vec(&buf[..n]).expect("decode");
                let name = want.remove(&r.metadata.id).expect("an answer per query");
                assert_eq!(
                    r.queries[0].name().to_ascii(),
                    name,
                    "answer {} belongs to its query",
                    r.metadata.id
                );
                let expect = if name.starts_with("nx") {
                    ResponseCode::NXDomain
                } else {
                    ResponseCode::NoError
                };
                assert_eq!(r.metadata.response_code, expect, "{name}");
                if expect == ResponseCode::NoError {
                    assert_eq!(r.answers.len(), 1, "{name}");
                }
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    shutdown.cancel();
}
