//! Cluster DNS (issue 5), asked the way pods ask it: `dig @10.96.0.10` run inside a pod's
//! network namespace, and `getent hosts` inside a pod's network and mount namespaces (its own
//! resolv.conf and search list). Expected answers follow the Kubernetes DNS specification
//! (kubernetes/dns docs/specification.md) and CoreDNS's kubernetes plugin. Needs root and
//! `dig` (Debian's dnsutils); skipped loudly otherwise.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tether_testkit::node::{NodeCluster, PodInfo, poll};
use tether_testkit::{AgentOptions, Run, ServerOptions, exec_in, have_program, require, wait_for};

use crate::bin;
use crate::pods::START;

const DNS: &str = "10.96.0.10";
const ZONE: &str = "cluster.local";

fn cluster(agent: AgentOptions) -> Option<NodeCluster> {
    if !require(have_program("dig"), "dig (dnsutils)") {
        return None;
    }
    NodeCluster::start(bin(), ServerOptions::default(), agent)
}

/// One resource record of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rr {
    name: String,
    ttl: u32,
    rtype: String,
    data: String,
}

/// What `dig` printed.
#[derive(Debug, Clone)]
struct Dig {
    status: String,
    flags: String,
    answers: Vec<Rr>,
    authority: Vec<Rr>,
    raw: String,
}

impl Dig {
    fn data(&self, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .answers
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.data.clone())
            .collect();
        v.sort();
        v
    }
}

fn parse_section(raw: &str, header: &str) -> Vec<Rr> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in raw.lines() {
        if line.starts_with(header) {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || line.starts_with(";;") {
                break;
            }
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 5 {
                out.push(Rr {
                    name: f[0].to_owned(),
                    ttl: f[1].parse().unwrap_or(0),
                    rtype: f[3].to_owned(),
                    data: f[4..].join(" "),
                });
            }
        }
    }
    out
}

/// `dig @10.96.0.10 +time=2 +tries=1 ARGS` inside `netns`.
fn dig(netns: &str, args: &[&str]) -> Dig {
    let server = format!("@{DNS}");
    let mut full = vec!["dig", server.as_str(), "+time=2", "+tries=1"];
    full.extend(args);
    let out = exec_in(netns, &full);
    let raw = format!("{}{}", out.stdout, out.stderr);
    let status = raw
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("NO-REPLY")
        .to_owned();
    let flags = raw
        .split(";; flags: ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or_default()
        .to_owned();
    Dig {
        status,
        flags,
        answers: parse_section(&raw, ";; ANSWER SECTION:"),
        authority: parse_section(&raw, ";; AUTHORITY SECTION:"),
        raw,
    }
}

/// A pod to ask from: agnhost netexec `asker` in `default`.
fn asker(c: &NodeCluster) -> PodInfo {
    c.apply(&crate::pods::netexec_deployment("asker", 1));
    let p = c
        .wait_ready_pods("default", "app=asker", 1, START)
        .remove(0);
    // The DNS answers at all (the agent may still be starting its server).
    wait_for(Duration::from_secs(30), "cluster DNS answers", || {
        let d = dig(&p.netns(), &[&format!("kubernetes.default.svc.{ZONE}")]);
        (d.status == "NOERROR").then_some(())
    });
    p
}

/// `mydeploy` (2 × netexec, containerPort `http` 8080) behind a ClusterIP Service with a named
/// port and a headless one.
fn services(c: &NodeCluster) -> Vec<PodInfo> {
    c.apply(&crate::pods::netexec_deployment("mydeploy", 2));
    c.apply(
        r#"apiVersion: v1
kind: Service
metadata:
  name: mydeploy
spec:
  selector:
    app: mydeploy
  ports:
  - name: http
    port: 8888
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: myheadless
spec:
  clusterIP: None
  selector:
    app: mydeploy
  ports:
  - name: http
    port: 8888
    targetPort: http
---
apiVersion: v1
kind: Service
metadata:
  name: myext
spec:
  type: ExternalName
  externalName: my.database.example.com
"#,
    );
    let pods = c.wait_ready_pods("default", "app=mydeploy", 2, START);
    let ips: Vec<String> = pods.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "myheadless", &ips, Duration::from_secs(30));
    pods
}

/// Waits until `dig` answers `want` for `rtype` (sorted), up to 15 s.
#[track_caller]
fn wait_answer(netns: &str, name: &str, rtype: &str, want: &[String]) -> Dig {
    let mut want = want.to_vec();
    want.sort();
    let mut last = None;
    let ok = poll(Duration::from_secs(15), || {
        let d = dig(netns, &[name, rtype]);
        let hit = d.status == "NOERROR" && d.data(rtype) == want;
        last = Some(d);
        hit
    });
    let last = last.expect("one dig");
    assert!(ok, "{name} {rtype}: want {want:?}; dig said:\n{}", last.raw);
    last
}

/// Waits until `dig NAME A` answers NXDOMAIN, up to 10 s; returns how long that took.
#[track_caller]
fn wait_nxdomain(netns: &str, name: &str) -> Duration {
    let t0 = Instant::now();
    let mut last = None;
    let gone = poll(Duration::from_secs(10), || {
        let d = dig(netns, &[name, "A"]);
        let hit = d.status == "NXDOMAIN";
        last = Some(d);
        hit
    });
    assert!(
        gone,
        "{name} still answers 10 s after deletion: {}",
        last.map(|d| d.raw).unwrap_or_default()
    );
    t0.elapsed()
}

/// `getent hosts NAME` in pod `pod` of `default` (its resolv.conf and search list).
fn getent(c: &NodeCluster, pod: &str, name: &str) -> Run {
    c.agent
        .pod_nsenter(&c.kubectl, "default", pod, &["getent", "hosts", name])
}

/// Waits (15 s) until `getent hosts NAME` in `pod` resolves to `ip`.
#[track_caller]
fn wait_getent(c: &NodeCluster, pod: &str, name: &str, ip: &str) {
    let mut last = None;
    let ok = poll(Duration::from_secs(15), || {
        let out = getent(c, pod, name);
        let hit = out.stdout.split_whitespace().next() == Some(ip);
        last = Some(out);
        hit
    });
    assert!(ok, "getent hosts {name} in the pod: {last:?}; want {ip}");
}

#[test]
fn service_records_a_headless_srv_cname_ptr() {
    let Some(c) = cluster(AgentOptions::default()) else {
        return;
    };
    let pods = services(&c);
    let ns = asker(&c).netns();
    let ip = c.cluster_ip("default", "mydeploy");
    let svc = format!("mydeploy.default.svc.{ZONE}.");

    // ClusterIP → A, authoritative, TTL 5.
    let d = wait_answer(&ns, &svc, "A", std::slice::from_ref(&ip));
    assert!(d.flags.contains("aa"), "authoritative: {}", d.raw);
    assert_eq!(d.answers[0].ttl, 5, "{}", d.raw);
    // Over TCP too.
    let d = dig(&ns, &["+tcp", &svc, "A"]);
    assert_eq!(d.data("A"), vec![ip.clone()], "{}", d.raw);

    // Headless → one A per ready endpoint.
    let ips: Vec<String> = pods.iter().map(|p| p.ip.clone()).collect();
    wait_answer(&ns, &format!("myheadless.default.svc.{ZONE}."), "A", &ips);

    // SRV for the named port: ClusterIP → the service name and the service port.
    let d = dig(&ns, &[&format!("_http._tcp.{svc}"), "SRV"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    let srv = d.data("SRV");
    assert_eq!(srv.len(), 1, "{}", d.raw);
    let f: Vec<&str> = srv[0].split_whitespace().collect();
    assert_eq!(f.get(2), Some(&"8888"), "port: {}", d.raw);
    assert_eq!(f.get(3), Some(&svc.as_str()), "target: {}", d.raw);
    // Headless → one SRV per endpoint, the endpoint's port, targets under the service that
    // resolve to the pods.
    let hl = format!("myheadless.default.svc.{ZONE}.");
    let d = dig(&ns, &[&format!("_http._tcp.{hl}"), "SRV"]);
    let srv = d.data("SRV");
    assert_eq!(srv.len(), 2, "{}", d.raw);
    let mut target_ips = Vec::new();
    for r in &srv {
        let f: Vec<&str> = r.split_whitespace().collect();
        assert_eq!(f.get(2), Some(&"8080"), "endpoint port: {}", d.raw);
        let target = f.get(3).copied().unwrap_or_default();
        assert!(target.ends_with(&format!(".{hl}")), "{target}: {}", d.raw);
        target_ips.extend(dig(&ns, &[target, "A"]).data("A"));
    }
    target_ips.sort();
    let mut want = ips;
    want.sort();
    assert_eq!(target_ips, want, "SRV targets resolve to the pods");
    // A port name that does not exist: NXDOMAIN, as CoreDNS.
    let d = dig(&ns, &[&format!("_nope._tcp.{svc}"), "SRV"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);

    // ExternalName → CNAME.
    let d = dig(&ns, &[&format!("myext.default.svc.{ZONE}."), "CNAME"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(
        d.data("CNAME"),
        vec!["my.database.example.com.".to_owned()],
        "{}",
        d.raw
    );

    // PTR of the ClusterIP.
    let d = dig(&ns, &["-x", &ip]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.data("PTR"), vec![svc], "{}", d.raw);
}

#[test]
fn pod_records_version_and_negative_answers() {
    let Some(c) = cluster(AgentOptions::default()) else {
        return;
    };
    let pods = services(&c);
    let ns = asker(&c).netns();
    let svc = format!("mydeploy.default.svc.{ZONE}.");
    wait_answer(&ns, &svc, "A", &[c.cluster_ip("default", "mydeploy")]);

    // Pod A record: a-b-c-d.ns.pod.zone.
    let pod_ip = pods[0].ip.clone();
    let dashed = pod_ip.replace('.', "-");
    let d = dig(&ns, &[&format!("{dashed}.default.pod.{ZONE}."), "A"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.data("A"), vec![pod_ip], "{}", d.raw);

    // dns-version.
    let d = dig(&ns, &[&format!("dns-version.{ZONE}."), "TXT"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert_eq!(d.data("TXT"), vec!["\"1.1.0\"".to_owned()], "{}", d.raw);

    // A missing Service: NXDOMAIN with the zone's SOA.
    let d = dig(&ns, &[&format!("nosuch.default.svc.{ZONE}."), "A"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);
    assert!(d.answers.is_empty(), "{}", d.raw);
    assert!(
        d.authority.iter().any(|r| r.rtype == "SOA"),
        "SOA in authority: {}",
        d.raw
    );
    // A missing namespace too.
    let d = dig(&ns, &[&format!("mydeploy.nosuchns.svc.{ZONE}."), "A"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);

    // An existing Service asked for AAAA: NODATA (NOERROR, no answer, SOA).
    let d = dig(&ns, &[&svc, "AAAA"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert!(d.answers.is_empty(), "{}", d.raw);
    assert!(d.authority.iter().any(|r| r.rtype == "SOA"), "{}", d.raw);
    // An empty non-terminal (the namespace): NOERROR too, no answer.
    let d = dig(&ns, &[&format!("default.svc.{ZONE}."), "A"]);
    assert_eq!(d.status, "NOERROR", "{}", d.raw);
    assert!(d.answers.is_empty(), "{}", d.raw);
}

#[test]
fn search_path_resolution_inside_a_pod() {
    let Some(c) = cluster(AgentOptions::default()) else {
        return;
    };
    services(&c);
    let p = asker(&c);
    let ip = c.cluster_ip("default", "mydeploy");
    for name in ["mydeploy", "mydeploy.default", "mydeploy.default.svc"] {
        wait_getent(&c, &p.name, name, &ip);
    }
    // A fully qualified name with the pod's search list does not get lost either.
    let out = getent(&c, &p.name, &format!("mydeploy.default.svc.{ZONE}"));
    assert_eq!(
        out.stdout.split_whitespace().next(),
        Some(ip.as_str()),
        "{out:?}"
    );
    // A name in another namespace needs the namespace.
    c.k(&["create", "namespace", "other"]);
    c.k(&[
        "-n",
        "other",
        "create",
        "service",
        "clusterip",
        "elsewhere",
        "--tcp=80:80",
    ]);
    let other_ip = c.cluster_ip("other", "elsewhere");
    wait_getent(&c, &p.name, "elsewhere.other", &other_ip);
    // Exit 2 is getent's "key not found" (not a failure to enter the pod or to run).
    let out = getent(&c, &p.name, "elsewhere");
    assert_eq!(
        out.code, 2,
        "elsewhere is not in the pod's namespace: {out:?}"
    );
}

/// A tiny upstream resolver on 127.0.0.1: `example.test.` A → 192.0.2.1, everything else
/// NXDOMAIN. Stops on drop.
struct FakeUpstream {
    port: u16,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeUpstream {
    fn start() -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind fake upstream");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let (s2, q2) = (stop.clone(), queries.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s2.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                q2.fetch_add(1, Ordering::Relaxed);
                if let Some(reply) = Self::answer(&buf[..n]) {
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        Self {
            port,
            stop,
            queries,
            thread: Some(thread),
        }
    }

    /// The reply to one query (`None` for garbage).
    fn answer(q: &[u8]) -> Option<Vec<u8>> {
        if q.len() < 12 {
            return None;
        }
        // The question: labels up to the root, then type and class.
        let mut i = 12;
        let mut labels = Vec::new();
        loop {
            let len = *q.get(i)? as usize;
            i += 1;
            if len == 0 {
                break;
            }
            labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_lowercase());
            i += len;
        }
        let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
        let question = q.get(12..i + 4)?;
        let hit = labels == ["example", "test"];
        let mut r = Vec::new();
        r.extend_from_slice(&q[0..2]);
        // QR, RD copied, RA; rcode NXDOMAIN for anything but example.test.
        let rd = q[2] & 0x01;
        r.push(0x80 | rd);
        r.push(if hit { 0x80 } else { 0x83 });
        let answers: u16 = if hit && qtype == 1 { 1 } else { 0 };
        r.extend_from_slice(&[0, 1]);
        r.extend_from_slice(&answers.to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        r.extend_from_slice(question);
        if answers == 1 {
            r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
        }
        Some(r)
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn other_names_are_forwarded_upstream_and_failures_are_quick() {
    let upstream = FakeUpstream::start();
    let Some(c) = cluster(AgentOptions {
        dns_upstream: Some(format!("127.0.0.1:{}", upstream.port)),
        ..AgentOptions::default()
    }) else {
        return;
    };
    let ns = asker(&c).netns();
    let d = wait_answer(&ns, "example.test.", "A", &["192.0.2.1".to_owned()]);
    assert!(
        !d.flags.contains("aa"),
        "a forwarded answer is not authoritative: {}",
        d.raw
    );
    assert!(upstream.queries.load(Ordering::Relaxed) >= 1);
    // The upstream's NXDOMAIN comes through.
    let d = dig(&ns, &["nosuch.test.", "A"]);
    assert_eq!(d.status, "NXDOMAIN", "{}", d.raw);
    // Cached: asking again does not reach the upstream.
    let before = upstream.queries.load(Ordering::Relaxed);
    let d = dig(&ns, &["example.test.", "A"]);
    assert_eq!(d.data("A"), vec!["192.0.2.1".to_owned()], "{}", d.raw);
    assert_eq!(
        upstream.queries.load(Ordering::Relaxed),
        before,
        "a repeated question is answered from the cache"
    );
    // By a short name through the pod's search list (ndots:5 tries the cluster suffixes first,
    // which are NXDOMAIN, then the name itself).
    let p = c
        .wait_ready_pods("default", "app=asker", 1, START)
        .remove(0);
    let out = getent(&c, &p.name, "example.test");
    assert_eq!(
        out.stdout.split_whitespace().next(),
        Some("192.0.2.1"),
        "{out:?}"
    );

    // The upstream goes away: SERVFAIL, quickly.
    drop(upstream);
    let t0 = Instant::now();
    let out = exec_in(
        &ns,
        &[
            "dig",
            &format!("@{DNS}"),
            "+time=8",
            "+tries=1",
            "other.test.",
            "A",
        ],
    );
    let took = t0.elapsed();
    assert!(out.stdout.contains("status: SERVFAIL"), "{out:?}");
    assert!(took < Duration::from_secs(6), "SERVFAIL after {took:?}");
    // Cluster names still answer.
    let d = dig(&ns, &[&format!("kubernetes.default.svc.{ZONE}."), "A"]);
    assert_eq!(d.data("A"), vec!["10.96.0.1".to_owned()], "{}", d.raw);
}

#[test]
fn answers_follow_pod_replacement_and_service_deletion() {
    let Some(c) = cluster(AgentOptions::default()) else {
        return;
    };
    let pods = services(&c);
    let ns = asker(&c).netns();
    let hl = format!("myheadless.default.svc.{ZONE}.");
    let ips: Vec<String> = pods.iter().map(|p| p.ip.clone()).collect();
    wait_answer(&ns, &hl, "A", &ips);

    // Replace a pod: the headless answer follows.
    c.k(&["delete", "pod", &pods[0].name, "--wait=false"]);
    let now = wait_for(START, "the replacement pod", || {
        let p = c.wait_ready_pods("default", "app=mydeploy", 2, START);
        p.iter().all(|p| p.name != pods[0].name).then_some(p)
    });
    let new_ips: Vec<String> = now.iter().map(|p| p.ip.clone()).collect();
    assert_ne!(new_ips, ips);
    wait_answer(&ns, &hl, "A", &new_ips);
    // The old IP is gone from the service.
    let d = dig(&ns, &[&hl, "A"]);
    assert!(!d.data("A").contains(&pods[0].ip), "{}", d.raw);

    // Delete the ClusterIP Service: NXDOMAIN within a few seconds.
    let svc = format!("mydeploy.default.svc.{ZONE}.");
    wait_answer(&ns, &svc, "A", &[c.cluster_ip("default", "mydeploy")]);
    c.k(&["delete", "svc", "mydeploy"]);
    let took = wait_nxdomain(&ns, &svc);
    eprintln!("NXDOMAIN {took:?} after deletion");
    // And the headless Service too.
    c.k(&["delete", "svc", "myheadless"]);
    wait_nxdomain(&ns, &hl);
}
