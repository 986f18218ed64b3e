//! Pods that really run (issue 3): a server and one `tether agent` in a node namespace of
//! their own; pods are processes in their own namespaces. Needs root (skipped loudly
//! otherwise).

use std::collections::BTreeSet;
use std::time::Duration;

use tether_testkit::node::{NodeCluster, PodInfo};
use tether_testkit::{AgentOptions, ServerOptions, wait_for};

use crate::bin;

/// Generous bound for pods to start (2 cores, tests in parallel).
pub(crate) const START: Duration = Duration::from_secs(90);

/// A one-node cluster with default options, or `None` (skipped loudly) when not root.
pub(crate) fn cluster() -> Option<NodeCluster> {
    NodeCluster::start(bin(), ServerOptions::default(), AgentOptions::default())
}

/// A Deployment `name` (label `app: name`) of agnhost netexec on HTTP 8080 and UDP 8081,
/// Ready when /hostname answers.
pub(crate) fn netexec_deployment(name: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: netexec
        image: registry.k8s.io/e2e-test-images/agnhost:2.39
        args: ["netexec", "--http-port=8080", "--udp-port=8081"]
        ports:
        - name: http
          containerPort: 8080
        - name: udp
          containerPort: 8081
          protocol: UDP
        readinessProbe:
          httpGet:
            path: /hostname
            port: 8080
          periodSeconds: 1
"#
    )
}

/// A Pod `name` (label `app: APP`) of agnhost netexec with a named `http` TCP port (and a
/// named `udp` one when `udp` is set), Ready when the HTTP port accepts.
pub(crate) fn netexec_pod(name: &str, app: &str, http: u16, udp: Option<u16>) -> String {
    let udp_flag = udp.map_or(-1, i32::from);
    let udp_port = udp.map_or(String::new(), |p| {
        format!("    - name: udp\n      containerPort: {p}\n      protocol: UDP\n")
    });
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {app}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    args: ["netexec", "--http-port={http}", "--udp-port={udp_flag}"]
    ports:
    - name: http
      containerPort: {http}
{udp_port}    readinessProbe:
      tcpSocket:
        port: http
      periodSeconds: 1
"#
    )
}

/// `kubectl expose deployment NAME --port=80 --target-port=8080 --name NAME EXTRA...`.
pub(crate) fn expose(c: &NodeCluster, name: &str, extra: &[&str]) {
    let mut args = vec![
        "expose",
        "deployment",
        name,
        "--port=80",
        "--target-port=8080",
        "--name",
        name,
    ];
    args.extend(extra);
    c.k(&args);
}

/// Applies [`netexec_deployment`] and waits for its pods.
pub(crate) fn run_netexec(c: &NodeCluster, name: &str, replicas: u32) -> Vec<PodInfo> {
    c.apply(&netexec_deployment(name, replicas));
    c.wait_ready_pods("default", &format!("app={name}"), replicas as usize, START)
}

/// The node's podCIDR prefix, e.g. `10.244.0.`.
fn pod_cidr_prefix(c: &NodeCluster) -> String {
    let cidr = c.k(&[
        "get",
        "node",
        c.agent.node_name(),
        "-o",
        "jsonpath={.spec.podCIDR}",
    ]);
    let cidr = cidr.trim();
    assert!(
        cidr.starts_with("10.244.") && cidr.ends_with(".0/24"),
        "podCIDR {cidr:?} is not a /24 of 10.244.0.0/16"
    );
    cidr.trim_end_matches("0/24").to_owned()
}

fn curl_hostname_from_node(c: &NodeCluster, ip: &str) -> String {
    c.agent
        .curl(&format!("http://{ip}:8080/hostname"))
        .stdout
        .trim()
        .to_owned()
}

#[test]
fn three_replicas_run_and_are_reachable_from_the_node_and_other_pods() {
    let Some(c) = cluster() else { return };
    let pods = run_netexec(&c, "web", 3);
    let prefix = pod_cidr_prefix(&c);
    let ips: BTreeSet<&str> = pods.iter().map(|p| p.ip.as_str()).collect();
    assert_eq!(ips.len(), 3, "distinct pod IPs: {pods:#?}");
    for p in &pods {
        assert!(p.ip.starts_with(&prefix), "{} not in {prefix}0/24", p.ip);
        assert_eq!(curl_hostname_from_node(&c, &p.ip), p.name);
        // From every other pod.
        for q in pods.iter().filter(|q| q.name != p.name) {
            let out = c.agent.pod_exec(
                &c.kubectl,
                &q.name,
                &[
                    "curl",
                    "-sS",
                    "-m",
                    "3",
                    &format!("http://{}:8080/hostname", p.ip),
                ],
            );
            assert_eq!(
                out.stdout.trim(),
                p.name,
                "{} -> {}: {out:?}",
                q.name,
                p.name
            );
        }
    }
    // `kubectl get pods -o wide` shows the node and the IPs.
    let wide = c.k(&["get", "pods", "-o", "wide"]);
    for p in &pods {
        assert!(wide.contains(&p.ip), "{wide}");
    }
    assert!(wide.contains(c.agent.node_name()), "{wide}");
}

/// Upstream's netexec logs `Started HTTP server on port 8080` at start; the built-in one's
/// startup line shows through `kubectl logs` too. (Upstream also logs every request, e.g.
/// `GET /echo?msg=hi&code=`; the built-in one does not, so that is not checked.)
#[test]
fn netexec_logs_show_in_kubectl_logs() {
    let Some(c) = cluster() else { return };
    let pods = run_netexec(&c, "web", 1);
    let echo = c
        .agent
        .curl(&format!("http://{}:8080/echo?msg=hi", pods[0].ip));
    assert_eq!(echo.stdout, "hi", "{echo:?}");
    let mut last = String::new();
    let found = tether_testkit::node::poll(Duration::from_secs(20), || {
        let out = c.kubectl.run(&["logs", &pods[0].name]);
        last = format!("{out:?}");
        out.code == 0 && out.stdout.contains("Started HTTP server")
    });
    assert!(
        found,
        "netexec's startup line is not in `kubectl logs`: {last}"
    );
}

#[test]
fn a_deleted_pod_is_replaced_with_a_new_ip_and_the_endpointslice_follows() {
    let Some(c) = cluster() else { return };
    let pods = run_netexec(&c, "web", 3);
    expose(&c, "web", &[]);
    let ips: Vec<String> = pods.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "web", &ips, Duration::from_secs(30));

    let victim = &pods[0];
    c.k(&["delete", "pod", &victim.name, "--wait=false"]);
    let after = wait_for(START, "a replacement pod", || {
        let now = c.wait_ready_pods("default", "app=web", 3, START);
        now.iter().all(|p| p.name != victim.name).then_some(now)
    });
    let new: Vec<&PodInfo> = after
        .iter()
        .filter(|p| !pods.iter().any(|o| o.name == p.name))
        .collect();
    assert_eq!(new.len(), 1, "one new pod: {after:#?}");
    assert!(
        !ips.contains(&new[0].ip),
        "the replacement has a new IP: {} (old {ips:?})",
        new[0].ip
    );
    let now_ips: Vec<String> = after.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "web", &now_ips, Duration::from_secs(30));
    assert_eq!(curl_hostname_from_node(&c, &new[0].ip), new[0].name);
    // The Endpoints object follows too.
    let ep = c.k(&[
        "get",
        "endpoints",
        "web",
        "-o",
        "jsonpath={.subsets[*].addresses[*].ip}",
    ]);
    let mut got: Vec<&str> = ep.split_whitespace().collect();
    got.sort_unstable();
    let mut want: Vec<&str> = now_ips.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn scaling_up_and_down() {
    let Some(c) = cluster() else { return };
    run_netexec(&c, "web", 2);
    expose(&c, "web", &[]);
    c.k(&["scale", "deployment", "web", "--replicas=5"]);
    let five = c.wait_ready_pods("default", "app=web", 5, START);
    let ips: Vec<String> = five.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "web", &ips, Duration::from_secs(30));
    wait_for(Duration::from_secs(30), "deploy READY 5/5", || {
        let out = c.kubectl.run(&["get", "deploy", "web"]);
        out.stdout.contains("5/5").then_some(())
    });

    c.k(&["scale", "deployment", "web", "--replicas=1"]);
    let one = c.wait_ready_pods("default", "app=web", 1, START);
    c.wait_endpoints(
        "default",
        "web",
        &[one[0].ip.clone()],
        Duration::from_secs(30),
    );
    // The processes of the removed pods are gone and their namespaces deleted.
    let gone: Vec<&PodInfo> = five.iter().filter(|p| p.name != one[0].name).collect();
    wait_for(
        Duration::from_secs(30),
        "removed pods' namespaces deleted",
        || {
            gone.iter()
                .all(|p| !std::path::Path::new("/run/netns").join(p.netns()).exists())
                .then_some(())
        },
    );
}

#[test]
fn rolling_update_creates_a_new_replicaset_and_completes() {
    let Some(c) = cluster() else { return };
    let old = run_netexec(&c, "web", 3);
    c.k(&["set", "env", "deployment/web", "ROLLOUT=two"]);
    let out = c
        .kubectl
        .run(&["rollout", "status", "deployment/web", "--timeout=180s"]);
    assert_eq!(out.code, 0, "rollout status: {out:?}");
    assert!(out.stdout.contains("successfully rolled out"), "{out:?}");
    let rs = c.k(&["get", "rs", "-l", "app=web", "-o", "name"]);
    assert_eq!(rs.lines().count(), 2, "two ReplicaSets: {rs}");
    let new = c.wait_ready_pods("default", "app=web", 3, START);
    for p in &new {
        assert!(
            !old.iter().any(|o| o.name == p.name),
            "{} is from the old ReplicaSet",
            p.name
        );
        let env = c
            .agent
            .curl(&format!("http://{}:8080/shell?cmd=echo%20$ROLLOUT", p.ip));
        assert!(env.stdout.contains("two"), "{env:?}");
    }
    wait_for(Duration::from_secs(30), "deploy 3/3 up to date", || {
        let out = c.kubectl.run(&["get", "deploy", "web"]);
        let row = out.stdout.lines().nth(1).unwrap_or_default().to_owned();
        let cells: Vec<&str> = row.split_whitespace().collect();
        (cells.get(1) == Some(&"3/3") && cells.get(2) == Some(&"3") && cells.get(3) == Some(&"3"))
            .then_some(())
    });
}

#[test]
fn a_readiness_probe_drives_ready_and_the_endpointslice() {
    let Some(c) = cluster() else { return };
    let flag = std::env::temp_dir().join(format!(
        "ready-{}",
        tether_netns::testing::unique_name("tk-")
    ));
    let _ = std::fs::remove_file(&flag);
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _rm = Rm(flag.clone());
    c.apply(&format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: probed
  labels:
    app: probed
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: tether/host
    command: ["sleep", "3600"]
    ports:
    - containerPort: 8080
    readinessProbe:
      exec:
        command: ["test", "-f", "{}"]
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata:
  name: probed
spec:
  selector:
    app: probed
  ports:
  - port: 80
    targetPort: 8080
"#,
        flag.display()
    ));
    let running = wait_for(START, "probed Running (not Ready)", || {
        c.pod("default", "probed")
            .filter(|p| p.phase == "Running" && !p.ip.is_empty())
    });
    assert!(!running.ready, "Ready without the file: {running:?}");
    std::thread::sleep(Duration::from_secs(3));
    assert!(!c.pod("default", "probed").is_some_and(|p| p.ready));
    assert!(c.ready_endpoint_ips("default", "probed").is_empty());

    std::fs::write(&flag, b"").expect("write flag");
    c.wait_ready_pods("default", "app=probed", 1, Duration::from_secs(30));
    c.wait_endpoints(
        "default",
        "probed",
        std::slice::from_ref(&running.ip),
        Duration::from_secs(30),
    );
    let out = c.k(&["get", "pod", "probed"]);
    assert!(out.contains("1/1"), "{out}");

    std::fs::remove_file(&flag).expect("remove flag");
    wait_for(Duration::from_secs(30), "probed NotReady", || {
        c.pod("default", "probed").filter(|p| !p.ready)
    });
    c.wait_endpoints("default", "probed", &[], Duration::from_secs(30));
    let eps = c.slice_endpoints("default", "probed");
    assert!(
        eps.iter().all(|e| !e.ready),
        "a not-ready endpoint is listed as not ready (or not at all): {eps:?}"
    );
    let out = c.k(&["get", "pod", "probed"]);
    assert!(out.contains("0/1"), "{out}");

    // And back.
    std::fs::write(&flag, b"").expect("write flag");
    c.wait_endpoints(
        "default",
        "probed",
        std::slice::from_ref(&running.ip),
        Duration::from_secs(30),
    );
}

#[test]
fn a_pod_with_two_containers() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: two
  labels:
    app: two
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    args: ["netexec", "--http-port=8080", "--udp-port=-1"]
  - name: sidecar
    image: tether/host
    command: ["sh", "-c", "echo sidecar up; exec sleep 3600"]
"#,
    );
    let p = c.wait_ready_pods("default", "app=two", 1, START).remove(0);
    assert_eq!(p.container_ids.len(), 2, "{p:?}");
    let out = c.k(&["get", "pod", "two"]);
    let cells: Vec<&str> = out
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(cells.get(1), Some(&"2/2"), "{out}");
    assert_eq!(cells.get(2), Some(&"Running"), "{out}");
    let states = c.k(&[
        "get",
        "pod",
        "two",
        "-o",
        "jsonpath={range .status.containerStatuses[*]}{.name}={.ready},{.state.running.startedAt}{\"\\n\"}{end}",
    ]);
    for name in ["web", "sidecar"] {
        let line = states
            .lines()
            .find(|l| l.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no status for {name}: {states}"));
        assert!(line.starts_with(&format!("{name}=true,")), "{line}");
        assert!(line.len() > name.len() + 6, "running.startedAt set: {line}");
    }
    // The two containers share the pod's network: the sidecar reaches the web container on
    // localhost.
    assert_eq!(
        c.agent
            .pod_exec(
                &c.kubectl,
                "two",
                &["curl", "-sS", "-m", "3", "http://127.0.0.1:8080/hostname"]
            )
            .stdout
            .trim(),
        "two"
    );
    let logs = wait_for(Duration::from_secs(20), "sidecar logs", || {
        let out = c.kubectl.run(&["logs", "two", "-c", "sidecar"]);
        out.stdout.contains("sidecar up").then_some(out.stdout)
    });
    assert!(logs.contains("sidecar up"));
}

#[test]
fn named_target_port_is_resolved_per_pod() {
    let Some(c) = cluster() else { return };
    c.apply(&netexec_pod("named-a", "named", 8080, None));
    c.apply(&netexec_pod("named-b", "named", 9090, None));
    c.apply(
        r#"apiVersion: v1
kind: Service
metadata:
  name: named
spec:
  selector:
    app: named
  ports:
  - name: web
    port: 80
    targetPort: http
"#,
    );
    let pods = c.wait_ready_pods("default", "app=named", 2, START);
    let ips: Vec<String> = pods.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "named", &ips, Duration::from_secs(30));
    let eps = c.slice_endpoints("default", "named");
    for (p, want) in pods.iter().zip([8080u16, 9090]) {
        let e = eps
            .iter()
            .find(|e| e.ip == p.ip)
            .unwrap_or_else(|| panic!("no endpoint for {}: {eps:?}", p.name));
        assert_eq!(
            e.ports,
            vec![("web".to_owned(), want, "TCP".to_owned())],
            "{}",
            p.name
        );
    }
    // Each pod really serves on its own number.
    for (p, port) in pods.iter().zip([8080u16, 9090]) {
        let out = c.agent.curl(&format!("http://{}:{port}/hostname", p.ip));
        assert_eq!(out.stdout.trim(), p.name);
    }
}

#[test]
fn downward_api_env_and_kubectl_logs() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: downward
  namespace: default
  labels:
    app: downward
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: tether/host
    command: ["sh", "-c", "echo POD_NAME=$POD_NAME; echo POD_NAMESPACE=$POD_NAMESPACE; echo POD_IP=$POD_IP; echo PLAIN=$PLAIN; echo PWD=$(pwd); exec sleep 3600"]
    workingDir: /tmp
    env:
    - name: PLAIN
      value: plain-value
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
"#,
    );
    let p = c
        .wait_ready_pods("default", "app=downward", 1, START)
        .remove(0);
    let logs = wait_for(Duration::from_secs(20), "downward logs", || {
        let out = c.kubectl.run(&["logs", "downward"]);
        out.stdout.contains("PWD=").then_some(out.stdout)
    });
    for want in [
        "POD_NAME=downward".to_owned(),
        "POD_NAMESPACE=default".to_owned(),
        format!("POD_IP={}", p.ip),
        "PLAIN=plain-value".to_owned(),
        "PWD=/tmp".to_owned(),
    ] {
        assert!(
            logs.lines().any(|l| l == want),
            "{want:?} not in logs:\n{logs}"
        );
    }
    // The pod's own resolv.conf and hostname.
    let resolv = c.agent.pod_nsenter(
        &c.kubectl,
        "default",
        "downward",
        &["cat", "/etc/resolv.conf"],
    );
    assert!(
        resolv.stdout.contains("nameserver 10.96.0.10"),
        "{resolv:?}"
    );
    assert!(
        resolv
            .stdout
            .contains("search default.svc.cluster.local svc.cluster.local cluster.local"),
        "{resolv:?}"
    );
    assert!(resolv.stdout.contains("ndots:5"), "{resolv:?}");
    let host = c
        .agent
        .pod_nsenter(&c.kubectl, "default", "downward", &["hostname"]);
    assert_eq!(host.stdout.trim(), "downward", "{host:?}");
}

#[test]
fn an_image_that_cannot_run_waits_with_err_image_pull_and_an_event() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
  - name: main
    image: nginx:stable
"#,
    );
    wait_for(START, "ErrImagePull / ImagePullBackOff", || {
        let out = c.kubectl.run(&["get", "pod", "bad"]);
        (out.stdout.contains("ErrImagePull") || out.stdout.contains("ImagePullBackOff"))
            .then_some(())
    });
    let reason = c.k(&[
        "get",
        "pod",
        "bad",
        "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
    ]);
    assert!(
        reason == "ErrImagePull" || reason == "ImagePullBackOff",
        "{reason}"
    );
    wait_for(Duration::from_secs(30), "a Failed event", || {
        let out = c.kubectl.run(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=bad",
        ]);
        (out.stdout.contains("Failed") && out.stdout.contains("nginx")).then_some(())
    });
    // The agent survives it.
    let p = c.pod("default", "bad").expect("pod bad");
    assert!(!p.ready);
    run_netexec(&c, "web", 1);
}

#[test]
fn an_agent_restart_leaves_pods_running_with_the_same_ips() {
    let Some(mut c) = cluster() else { return };
    let before = run_netexec(&c, "web", 2);
    expose(&c, "web", &[]);
    let ips: Vec<String> = before.iter().map(|p| p.ip.clone()).collect();
    c.wait_endpoints("default", "web", &ips, Duration::from_secs(30));

    c.agent.restart();
    c.agent.wait_ready(&c.kubectl);
    // Give the restarted agent time to re-adopt (and to misbehave, if it would).
    std::thread::sleep(Duration::from_secs(5));
    let after = c.wait_ready_pods("default", "app=web", 2, START);
    assert_eq!(
        before
            .iter()
            .map(|p| (&p.name, &p.ip, &p.container_ids))
            .collect::<Vec<_>>(),
        after
            .iter()
            .map(|p| (&p.name, &p.ip, &p.container_ids))
            .collect::<Vec<_>>(),
        "same pods, IPs and processes"
    );
    for p in &after {
        assert_eq!(p.restarts, 0, "{p:?}");
        let pid = p.container_ids[0].trim_start_matches("tether://");
        assert!(
            std::path::Path::new("/proc").join(pid).exists(),
            "process {pid} of {} still runs",
            p.name
        );
        assert_eq!(curl_hostname_from_node(&c, &p.ip), p.name);
    }
    c.wait_endpoints("default", "web", &ips, Duration::from_secs(30));
    // A pod created after the restart runs too.
    c.k(&["scale", "deployment", "web", "--replicas=3"]);
    c.wait_ready_pods("default", "app=web", 3, START);
}

#[test]
fn a_failing_container_is_restarted() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: crashy
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: tether/host
    command: ["sh", "-c", "echo started; sleep 1; exit 1"]
"#,
    );
    let p = wait_for(Duration::from_secs(90), "RESTARTS >= 1", || {
        c.pod("default", "crashy").filter(|p| p.restarts >= 1)
    });
    assert!(p.restarts >= 1);
    let last = c.k(&[
        "get",
        "pod",
        "crashy",
        "-o",
        "jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}",
    ]);
    assert_eq!(last.trim(), "1");
    let out = c.k(&["get", "pod", "crashy"]);
    let cells: Vec<&str> = out
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let restarts: i64 = cells
        .get(3)
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("RESTARTS column: {out}"));
    assert!(restarts >= 1, "{out}");
    // `--previous` logs of the failed run.
    let prev = c.kubectl.run(&["logs", "crashy", "--previous"]);
    assert!(prev.stdout.contains("started"), "{prev:?}");
}

/// The STATUS cell of `kubectl get pod NAME`.
fn status_cell(c: &NodeCluster, name: &str) -> String {
    let out = c.kubectl.run(&["get", "pod", name, "--no-headers"]);
    out.stdout
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned()
}

/// Init containers run one at a time, in order, to completion before the app container
/// starts; `kubectl get` shows `Init:1/2` meanwhile; their statuses and logs stay.
#[test]
fn init_containers_run_in_order_before_the_app() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: inits
  labels:
    app: inits
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: first
    image: tether/host
    command: ["sh", "-c", "sleep 2; echo first done"]
  - name: second
    image: tether/host
    command: ["sh", "-c", "sleep 3; echo second done"]
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    args: ["netexec", "--http-port=8080", "--udp-port=-1"]
"#,
    );
    // While the second init container sleeps: Init:1/2, Initialized False, app waiting.
    wait_for(Duration::from_secs(60), "Init:1/2", || {
        (status_cell(&c, "inits") == "Init:1/2").then_some(())
    });
    let during = c.k(&["get", "pod", "inits", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&during).expect("pod json");
    assert_eq!(v["status"]["phase"], "Pending", "{during}");
    let init = |i: usize| &v["status"]["initContainerStatuses"][i];
    assert_eq!(
        init(0)["state"]["terminated"]["reason"],
        "Completed",
        "{during}"
    );
    assert_eq!(init(0)["ready"], true, "{during}");
    assert!(init(1)["state"]["running"].is_object(), "{during}");
    // In order: the second started only after the first (which takes 2 s) finished.
    let (finished, started) = (
        init(0)["state"]["terminated"]["finishedAt"]
            .as_str()
            .unwrap_or_default(),
        init(1)["state"]["running"]["startedAt"]
            .as_str()
            .unwrap_or_default(),
    );
    assert!(!finished.is_empty() && started >= finished, "{during}");
    let first_started = init(0)["state"]["terminated"]["startedAt"]
        .as_str()
        .unwrap_or_default();
    assert!(first_started < finished, "{during}");
    assert_eq!(
        v["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing",
        "{during}"
    );
    let cond = v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Initialized").cloned())
        .unwrap_or_default();
    assert_eq!(cond["status"], "False", "{during}");
    assert_eq!(cond["reason"], "ContainersNotInitialized", "{during}");
    assert_eq!(
        cond["message"], "containers with incomplete status: [second]",
        "{during}"
    );

    // Then the app runs; both init containers are Completed; their logs stay readable.
    c.wait_ready_pods("default", "app=inits", 1, START);
    assert_eq!(status_cell(&c, "inits"), "Running");
    let reasons = c.k(&[
        "get",
        "pod",
        "inits",
        "-o",
        "jsonpath={.status.initContainerStatuses[*].state.terminated.reason}",
    ]);
    assert_eq!(reasons.trim(), "Completed Completed");
    for (name, line) in [("first", "first done"), ("second", "second done")] {
        let logs = c.k(&["logs", "inits", "-c", name]);
        assert_eq!(logs.trim(), line);
    }
}

/// A failing init container: with restartPolicy Never the pod fails and the app never runs
/// (`Init:Error`); otherwise it is retried (restartCount grows, still `Init:…`).
#[test]
fn a_failing_init_container_fails_the_pod_or_is_retried() {
    let Some(c) = cluster() else { return };
    for (name, policy) in [("init-never", "Never"), ("init-always", "Always")] {
        c.apply(&format!(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: {policy}
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: tether/host
    command: ["sh", "-c", "echo cannot set up; exit 3"]
  containers:
  - name: app
    image: tether/host
    command: ["sleep", "3600"]
"#
        ));
    }
    wait_for(Duration::from_secs(60), "init-never Failed", || {
        let phase = c.k(&["get", "pod", "init-never", "-o", "jsonpath={.status.phase}"]);
        (phase == "Failed").then_some(())
    });
    assert_eq!(status_cell(&c, "init-never"), "Init:Error");
    let app = c.k(&[
        "get",
        "pod",
        "init-never",
        "-o",
        "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
    ]);
    assert_eq!(app, "PodInitializing", "the app container never ran");
    let code = c.k(&[
        "get",
        "pod",
        "init-never",
        "-o",
        "jsonpath={.status.initContainerStatuses[0].state.terminated.exitCode}",
    ]);
    assert_eq!(code, "3");

    wait_for(Duration::from_secs(60), "init-always retried", || {
        let n = c.k(&[
            "get",
            "pod",
            "init-always",
            "-o",
            "jsonpath={.status.initContainerStatuses[0].restartCount}",
        ]);
        n.parse::<i64>().ok().filter(|n| *n >= 1).map(|_| ())
    });
    let status = status_cell(&c, "init-always");
    assert!(
        status.starts_with("Init:"),
        "a retried init container keeps the pod initializing: {status}"
    );
    assert_eq!(
        c.k(&[
            "get",
            "pod",
            "init-always",
            "-o",
            "jsonpath={.status.phase}"
        ]),
        "Pending"
    );
}

/// A native sidecar (an init container with `restartPolicy: Always`) starts before the app
/// container and keeps running beside it; READY counts it (2/2).
#[test]
fn a_native_sidecar_keeps_running_beside_the_app() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: with-sidecar
  labels:
    app: with-sidecar
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: proxy
    image: tether/host
    restartPolicy: Always
    command: ["sh", "-c", "echo sidecar up; exec sleep 3600"]
  containers:
  - name: web
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    args: ["netexec", "--http-port=8080", "--udp-port=-1"]
"#,
    );
    c.wait_ready_pods("default", "app=with-sidecar", 1, START);
    let out = c.k(&["get", "pod", "with-sidecar", "--no-headers"]);
    let cells: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(cells.get(1), Some(&"2/2"), "{out}");
    assert_eq!(cells.get(2), Some(&"Running"), "{out}");
    let sidecar = c.k(&[
        "get",
        "pod",
        "with-sidecar",
        "-o",
        "jsonpath={.status.initContainerStatuses[0].started} {.status.initContainerStatuses[0].state.running.startedAt} {.status.containerStatuses[0].state.running.startedAt}",
    ]);
    assert!(sidecar.starts_with("true 20"), "sidecar running: {sidecar}");
    // It started first: its start time is not after the app's (RFC 3339 strings compare in
    // time order).
    let times: Vec<&str> = sidecar.split_whitespace().skip(1).collect();
    assert!(
        times.len() == 2 && times[0] <= times[1],
        "sidecar before app: {sidecar}"
    );
}

/// EndpointSlice endpoints carry their Node's `topology.kubernetes.io/zone`, as upstream.
#[test]
fn endpoints_carry_the_nodes_zone() {
    let Some(c) = cluster() else { return };
    let node = c.agent.node_name().to_owned();
    c.k(&["label", "node", &node, "topology.kubernetes.io/zone=zone-a"]);
    run_netexec(&c, "zoned", 1);
    c.apply(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: zoned\nspec:\n  selector:\n    app: zoned\n  ports:\n  - port: 80\n    targetPort: http\n",
    );
    wait_for(Duration::from_secs(30), "the endpoint's zone", || {
        let out = c.kubectl.run(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=zoned",
            "-o",
            "jsonpath={.items[*].endpoints[*].zone}/{.items[*].endpoints[*].nodeName}",
        ]);
        (out.stdout == format!("zone-a/{node}")).then_some(())
    });
}

/// When the app containers of a run-to-completion pod are done, its sidecar is stopped too and
/// the pod Succeeds (the kubelet terminates sidecars of a finished pod).
#[test]
fn a_sidecar_stops_when_the_app_completes() {
    let Some(c) = cluster() else { return };
    c.apply(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: job-like
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: proxy
    image: tether/host
    restartPolicy: Always
    command: ["sleep", "3600"]
  containers:
  - name: work
    image: tether/host
    command: ["sh", "-c", "sleep 1; echo done"]
"#,
    );
    wait_for(START, "job-like Succeeded with its sidecar stopped", || {
        let out = c.k(&[
            "get",
            "pod",
            "job-like",
            "-o",
            "jsonpath={.status.phase} {.status.initContainerStatuses[0].state.terminated.reason}",
        ]);
        let mut f = out.split_whitespace();
        (f.next() == Some("Succeeded") && f.next().is_some()).then_some(())
    });
}
