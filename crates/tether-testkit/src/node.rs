//! A `tether agent` process for tests, in a node network namespace of its own, plus a client
//! namespace wired to it ("outside" the node) and helpers to run commands inside the node's
//! and the pods' namespaces.
//!
//! Everything is named with the `tk-` prefix and removed on drop, also when a test panics:
//! the agent is stopped by PID (SIGTERM, then SIGKILL), processes left in its namespaces are
//! killed, and the namespaces are deleted.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tether_kubelet::network::netns_name as pod_netns_name;
use tether_netns::NetNs;

use crate::{Kubectl, Run, ServerOptions, TetherServer};

/// The prefix of every namespace this module creates.
pub const NETNS_PREFIX: &str = "tk-";

/// How to start an agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The Node's name.
    pub node_name: String,
    /// The node's InternalIP (on `lo` of the node namespace).
    pub node_ip: String,
    /// `--proxy-mode` (`None`: the agent's default, nftables).
    pub proxy_mode: Option<String>,
    /// `--dns-upstream` (e.g. `127.0.0.1:5353`).
    pub dns_upstream: Option<String>,
    /// Extra arguments.
    pub extra_args: Vec<String>,
    /// An existing node namespace holding `node_ip` (see [`crate::Fabric`]); `None`: the agent
    /// creates one of its own (`--create-netns`, the address on `lo`).
    pub netns: Option<String>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            node_name: "node-1".into(),
            node_ip: "10.255.0.2".into(),
            proxy_mode: None,
            dns_upstream: None,
            extra_args: Vec::new(),
            netns: None,
        }
    }
}

/// Runs `cmd` and collects its exit code and output.
pub fn run_command(mut cmd: Command) -> Run {
    match cmd.stdin(Stdio::null()).output() {
        Ok(o) => crate::kubectl::from_output(o),
        Err(e) => Run {
            code: -1,
            stdout: String::new(),
            stderr: format!("spawning {cmd:?}: {e}"),
        },
    }
}

/// Runs `args` inside the named network namespace (`ip netns exec NETNS args...`).
pub fn exec_in(netns: &str, args: &[&str]) -> Run {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", netns]).args(args);
    run_command(c)
}

/// Sends one UDP datagram from a socket created inside `netns` and waits up to `timeout` for
/// one reply. `None` on any failure or timeout.
pub fn udp_exchange(
    netns: &str,
    target: SocketAddr,
    msg: &[u8],
    timeout: Duration,
) -> Option<Vec<u8>> {
    let ns = NetNs::open(netns).ok()?;
    let sock = ns
        .run(|| {
            UdpSocket::bind(if target.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            })
        })
        .ok()?
        .ok()?;
    sock.set_read_timeout(Some(timeout)).ok()?;
    sock.send_to(msg, target).ok()?;
    let mut buf = vec![0u8; 65536];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout` naming `what`.
#[track_caller]
pub fn wait_for<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    match poll_value(timeout, f) {
        Some(v) => v,
        None => panic!("timed out after {timeout:?} waiting for {what}"),
    }
}

/// Polls `f` every 200 ms until it returns `Some` (→ that) or `timeout` passes (→ `None`).
pub fn poll_value<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Polls `f` every 200 ms until it returns `true` (→ `true`) or `timeout` passes (→ `false`).
pub fn poll(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `(st_dev, st_ino)` identifying a network namespace file.
fn ns_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// SIGKILLs every process (other than this one) whose network namespace is one of `ids`.
fn kill_processes_in(ids: &[(u64, u64)]) {
    if ids.is_empty() {
        return;
    }
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid as u32 == me {
            continue;
        }
        if let Some(id) = ns_id(&e.path().join("ns/net"))
            && ids.contains(&id)
        {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Kills what runs in the named namespaces and deletes them (errors ignored: best effort).
pub(crate) fn destroy_netns(names: &[String]) {
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|n| Path::new(tether_netns::NETNS_RUN_DIR).join(n))
        .collect();
    let ids: Vec<(u64, u64)> = paths.iter().filter_map(|p| ns_id(p)).collect();
    kill_processes_in(&ids);
    for n in names {
        if let Ok(ns) = NetNs::open(n) {
            let _ = ns.delete();
        }
    }
}

/// A running `tether agent` in its own node namespace `tk-<hex8>`.
#[derive(Debug)]
pub struct TetherAgent {
    bin: PathBuf,
    kubeconfig: PathBuf,
    opts: AgentOptions,
    netns: String,
    data: tempfile::TempDir,
    log: PathBuf,
    child: Option<Child>,
}

impl TetherAgent {
    /// Starts `bin agent` against `kubeconfig` in a new node namespace (it does not wait for
    /// the Node to be Ready: see [`wait_ready`](Self::wait_ready)).
    pub fn start(bin: &Path, kubeconfig: &Path, opts: AgentOptions) -> Self {
        let data = tempfile::tempdir().expect("agent temp dir");
        let log = data.path().join("agent.log");
        let mut a = Self {
            bin: bin.to_path_buf(),
            kubeconfig: kubeconfig.to_path_buf(),
            netns: opts
                .netns
                .clone()
                .unwrap_or_else(|| tether_netns::testing::unique_name(NETNS_PREFIX)),
            opts,
            data,
            log,
            child: None,
        };
        a.spawn();
        a
    }

    fn data_dir(&self) -> PathBuf {
        self.data.path().join("state")
    }

    fn spawn(&mut self) {
        let logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("agent log file");
        let mut cmd = Command::new(&self.bin);
        cmd.arg("agent")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--node-name", &self.opts.node_name])
            .args(["--node-ip", &self.opts.node_ip])
            .args(["--netns", &self.netns])
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--cleanup-on-exit");
        if self.opts.netns.is_none() {
            cmd.arg("--create-netns");
        }
        if let Some(m) = &self.opts.proxy_mode {
            cmd.args(["--proxy-mode", m]);
        }
        if let Some(u) = &self.opts.dns_upstream {
            cmd.args(["--dns-upstream", u]);
        }
        cmd.args(&self.opts.extra_args);
        let child = cmd
            .env(
                "RUST_LOG",
                std::env::var("TETHER_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawn tether agent");
        self.child = Some(child);
    }

    /// The node namespace's name (under /run/netns).
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The Node's name.
    pub fn node_name(&self) -> &str {
        &self.opts.node_name
    }

    /// The node's address.
    pub fn node_ip(&self) -> &str {
        &self.opts.node_ip
    }

    /// The agent's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The agent's log so far (all its runs).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log when the agent process has exited.
    #[track_caller]
    fn check_alive(&mut self) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!(
                "tether agent exited ({status}); log:\n{}",
                tail(&self.log_text(), 200)
            );
        }
    }

    /// Waits until the Node is Ready with a podCIDR and the pod bridge exists (60 s), panicking
    /// with the agent's log when it does not get there or exits.
    #[track_caller]
    pub fn wait_ready(&mut self, k: &Kubectl) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.check_alive();
            let out = k.run(&[
                "get",
                "node",
                &self.opts.node_name,
                "-o",
                r#"jsonpath={.spec.podCIDR} {.status.conditions[?(@.type=="Ready")].status}"#,
            ]);
            let ready = out.code == 0 && {
                let mut f = out.stdout.split_whitespace();
                f.next().is_some_and(|c| c.contains('/')) && f.next() == Some("True")
            };
            if ready && self.exec(&["ip", "link", "show", "cni0"]).code == 0 {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "node {} not Ready in 60s ({}); agent log:\n{}",
                    self.opts.node_name,
                    out.stdout,
                    tail(&self.log_text(), 200)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Runs `args` inside the node namespace.
    pub fn exec(&self, args: &[&str]) -> Run {
        exec_in(&self.netns, args)
    }

    /// `curl -sS -m 3 URL` from the node namespace.
    pub fn curl(&self, url: &str) -> Run {
        self.exec(&["curl", "-sS", "-m", "3", url])
    }

    /// The uid of pod `name` in namespace `ns`.
    #[track_caller]
    pub fn pod_uid(k: &Kubectl, ns: &str, name: &str) -> String {
        k.jsonpath(ns, "pod", name, "{.metadata.uid}")
            .ok()
            .trim()
            .to_owned()
    }

    /// The network namespace of pod `name` in namespace `ns`.
    #[track_caller]
    pub fn pod_netns(k: &Kubectl, ns: &str, name: &str) -> String {
        pod_netns_name(&Self::pod_uid(k, ns, name))
    }

    /// Runs `args` inside the network namespace of pod `name` (namespace `default`).
    #[track_caller]
    pub fn pod_exec(&self, k: &Kubectl, name: &str, args: &[&str]) -> Run {
        self.pod_exec_in(k, "default", name, args)
    }

    /// Runs `args` inside the network namespace of pod `name` in namespace `ns`.
    #[track_caller]
    pub fn pod_exec_in(&self, k: &Kubectl, ns: &str, name: &str, args: &[&str]) -> Run {
        exec_in(&Self::pod_netns(k, ns, name), args)
    }

    /// The PID of a pod's first container (from its `tether://<pid>` containerID).
    #[track_caller]
    pub fn container_pid(k: &Kubectl, ns: &str, name: &str) -> Option<u32> {
        let out = k.jsonpath(
            ns,
            "pod",
            name,
            "{.status.containerStatuses[0].containerID}",
        );
        out.stdout.trim().strip_prefix("tether://")?.parse().ok()
    }

    /// Runs `args` in the network, mount and UTS namespaces of the first container of pod
    /// `name` in namespace `ns` (so it sees the pod's resolv.conf and hosts file).
    #[track_caller]
    pub fn pod_nsenter(&self, k: &Kubectl, ns: &str, name: &str, args: &[&str]) -> Run {
        let Some(pid) = Self::container_pid(k, ns, name) else {
            return Run {
                code: -1,
                stdout: String::new(),
                stderr: format!("pod {ns}/{name} has no running container"),
            };
        };
        let mut c = Command::new("nsenter");
        c.args(["-t", &pid.to_string(), "-n", "-m", "-u", "--"])
            .args(args);
        run_command(c)
    }

    /// Kills the agent with SIGKILL (its pods keep running) and starts it again on the same
    /// data dir and node namespace. Call [`wait_ready`](Self::wait_ready) afterwards.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn();
    }

    /// Stops the agent with SIGTERM (it stops its pods), then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            crate::terminate(c);
        }
    }

    /// The namespaces of the pods this agent has run (from its data dir).
    fn pod_namespaces(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.data_dir().join("pods")) else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| e.file_name().to_str().map(pod_netns_name))
            .collect()
    }
}

impl Drop for TetherAgent {
    fn drop(&mut self) {
        self.stop();
        let mut names = self.pod_namespaces();
        names.push(self.netns.clone());
        destroy_netns(&names);
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A client namespace `tk-<hex8>` "outside" a node: a veth pair between it and the node
/// namespace, `node_side_ip/24` on the node end, `client_ip/24` on the client end and the
/// client's default route via the node end. Deleted on drop.
#[derive(Debug)]
pub struct ClientNs {
    ns: Option<NetNs>,
    node_netns: String,
    node_link: String,
    client_ip: String,
    node_side_ip: String,
}

impl ClientNs {
    /// Creates the client namespace and wires it to `agent`'s node namespace, e.g.
    /// `ClientNs::connect(&agent, "192.168.77.2", "192.168.77.1")`.
    #[track_caller]
    pub fn connect(agent: &TetherAgent, client_ip: &str, node_side_ip: &str) -> Self {
        let name = tether_netns::testing::unique_name(NETNS_PREFIX);
        let ns = NetNs::create(&name).expect("create the client namespace");
        let hex = name.trim_start_matches(NETNS_PREFIX);
        let (node_link, client_link) = (format!("tkn{hex}"), format!("tkc{hex}"));
        let c = Self {
            ns: Some(ns),
            node_netns: agent.netns().to_owned(),
            node_link: node_link.clone(),
            client_ip: client_ip.to_owned(),
            node_side_ip: node_side_ip.to_owned(),
        };
        let node = agent.netns();
        // The pair is created inside the client namespace, then one end moves to the node:
        // nothing is ever created in the root namespace.
        let (client_cidr, node_cidr) = (format!("{client_ip}/24"), format!("{node_side_ip}/24"));
        let steps: [(&str, &[&str]); 7] = [
            (
                &name,
                &[
                    "link",
                    "add",
                    &client_link,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &node_link,
                ],
            ),
            (&name, &["link", "set", &node_link, "netns", node]),
            (&name, &["link", "set", &client_link, "up"]),
            (&name, &["addr", "add", &client_cidr, "dev", &client_link]),
            (&name, &["route", "add", "default", "via", node_side_ip]),
            (node, &["addr", "add", &node_cidr, "dev", &node_link]),
            (node, &["link", "set", &node_link, "up"]),
        ];
        for (netns, args) in steps {
            let mut cmd = Command::new("ip");
            cmd.args(["-n", netns]).args(args);
            run_command(cmd).ok();
        }
        c
    }

    /// The client namespace's name.
    pub fn netns(&self) -> &str {
        self.ns.as_ref().map(NetNs::name).unwrap_or_default()
    }

    /// The client's address.
    pub fn ip(&self) -> &str {
        &self.client_ip
    }

    /// The node end's address.
    pub fn node_side_ip(&self) -> &str {
        &self.node_side_ip
    }

    /// Runs `args` inside the client namespace.
    pub fn exec(&self, args: &[&str]) -> Run {
        exec_in(self.netns(), args)
    }

    /// `curl -sS -m 3 URL` from the client namespace.
    pub fn curl(&self, url: &str) -> Run {
        self.exec(&["curl", "-sS", "-m", "3", url])
    }

    /// One UDP exchange from the client namespace (see [`udp_exchange`]).
    pub fn udp(&self, target: SocketAddr, msg: &[u8], timeout: Duration) -> Option<Vec<u8>> {
        udp_exchange(self.netns(), target, msg, timeout)
    }
}

impl Drop for ClientNs {
    fn drop(&mut self) {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.node_netns, "link", "del", &self.node_link]);
        let _ = cmd.stderr(Stdio::null()).status();
        if let Some(ns) = self.ns.take() {
            destroy_netns(&[ns.name().to_owned()]);
            drop(ns);
        }
    }
}

/// A server, one agent and a kubectl: a one-node cluster in its own namespaces. On drop
/// during a panic, prints the tails of the agent's and the server's logs.
#[derive(Debug)]
pub struct NodeCluster {
    /// kubectl bound to the server.
    pub kubectl: Kubectl,
    /// The agent (dropped before the server).
    pub agent: TetherAgent,
    /// The server.
    pub server: TetherServer,
}

impl NodeCluster {
    /// Starts a server and an agent and waits for the Node to be Ready; `None` (skipped
    /// loudly) when not root or kubectl is missing.
    pub fn start(bin: &Path, server: ServerOptions, agent: AgentOptions) -> Option<Self> {
        let (server, kubectl) = start_server(bin, server)?;
        let agent = TetherAgent::start(bin, &server.kubeconfig(), agent);
        let mut c = Self {
            kubectl,
            agent,
            server,
        };
        c.agent.wait_ready(&c.kubectl);
        Some(c)
    }

    /// Both logs' tails, for failure messages.
    pub fn logs(&self) -> String {
        log_tails(std::slice::from_ref(&self.agent), 300, &self.server, 150)
    }
}

/// The server of a test cluster and a kubectl bound to it; `None` (skipped loudly) when not
/// root or kubectl is missing.
pub(crate) fn start_server(bin: &Path, opts: ServerOptions) -> Option<(TetherServer, Kubectl)> {
    if !tether_netns::testing::require_root() {
        return None;
    }
    crate::trace_init();
    let server = TetherServer::start(bin, opts);
    let kubectl = Kubectl::new(&server.kubeconfig())?;
    Some((server, kubectl))
}

/// The last `agent_lines` of each agent's log and `server_lines` of the server's.
pub(crate) fn log_tails(
    agents: &[TetherAgent],
    agent_lines: usize,
    server: &TetherServer,
    server_lines: usize,
) -> String {
    let mut s = String::new();
    for a in agents {
        s.push_str(&format!(
            "===== agent {} log (tail) =====\n{}\n",
            a.node_name(),
            tail(&a.log_text(), agent_lines)
        ));
    }
    s.push_str(&format!(
        "===== server log (tail) =====\n{}\n",
        tail(&server.log_text(), server_lines)
    ));
    s
}

impl Drop for NodeCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// The pods in `ns` matching `selector` (empty: all), as `kubectl get pods -o json` shows them.
pub fn list_pods(k: &Kubectl, ns: &str, selector: &str) -> Vec<PodInfo> {
    let mut args = vec!["-n", ns, "get", "pods", "-o", "json"];
    if !selector.is_empty() {
        args.extend(["-l", selector]);
    }
    let out = k.run(&args);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    v["items"]
        .as_array()
        .map(|items| items.iter().map(PodInfo::from_json).collect())
        .unwrap_or_default()
}

/// A pod as the tests see it (from `kubectl get pods -o json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    /// metadata.name.
    pub name: String,
    /// metadata.uid.
    pub uid: String,
    /// status.podIP (empty when none).
    pub ip: String,
    /// spec.nodeName (empty when not bound).
    pub node: String,
    /// status.phase.
    pub phase: String,
    /// The Ready condition is True.
    pub ready: bool,
    /// metadata.deletionTimestamp is set.
    pub terminating: bool,
    /// Sum of the containers' restartCount.
    pub restarts: i64,
    /// The containers' containerIDs (`tether://<pid>`), in status order.
    pub container_ids: Vec<String>,
}

impl PodInfo {
    fn from_json(p: &serde_json::Value) -> Self {
        let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let statuses = p["status"]["containerStatuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Self {
            name: s(&p["metadata"]["name"]),
            uid: s(&p["metadata"]["uid"]),
            ip: s(&p["status"]["podIP"]),
            node: s(&p["spec"]["nodeName"]),
            phase: s(&p["status"]["phase"]),
            ready: p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            }),
            terminating: !p["metadata"]["deletionTimestamp"].is_null(),
            restarts: statuses
                .iter()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum(),
            container_ids: statuses.iter().map(|c| s(&c["containerID"])).collect(),
        }
    }

    /// The pod's network namespace name.
    pub fn netns(&self) -> String {
        pod_netns_name(&self.uid)
    }
}

/// One endpoint of a Service's EndpointSlices, with its slice's ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceEndpoint {
    /// The first address.
    pub ip: String,
    /// conditions.ready (absent counts as ready, as upstream).
    pub ready: bool,
    /// conditions.terminating.
    pub terminating: bool,
    /// targetRef.name.
    pub pod: String,
    /// The slice's ports: (name, port, protocol).
    pub ports: Vec<(String, u16, String)>,
}

impl NodeCluster {
    /// `kubectl apply -f -` with `yaml`, panicking (with logs) when it fails.
    #[track_caller]
    pub fn apply(&self, yaml: &str) {
        let out = self.kubectl.run_stdin(&["apply", "-f", "-"], yaml);
        assert_eq!(out.code, 0, "apply failed: {}\n{yaml}", out.stderr);
    }

    /// Runs kubectl, panicking unless it succeeds; returns stdout.
    #[track_caller]
    pub fn k(&self, args: &[&str]) -> String {
        self.kubectl.run(args).ok().to_owned()
    }

    /// The pods in `ns` matching `selector` (e.g. `app=web`; empty = all).
    pub fn pods(&self, ns: &str, selector: &str) -> Vec<PodInfo> {
        list_pods(&self.kubectl, ns, selector)
    }

    /// One pod, if it exists.
    pub fn pod(&self, ns: &str, name: &str) -> Option<PodInfo> {
        let out = self
            .kubectl
            .run(&["-n", ns, "get", "pod", name, "-o", "json"]);
        if out.code != 0 {
            return None;
        }
        serde_json::from_str(&out.stdout)
            .ok()
            .map(|v: serde_json::Value| PodInfo::from_json(&v))
    }

    /// Waits until exactly `n` pods match `selector`, none terminating, all Running and Ready
    /// with an IP; returns them sorted by name.
    #[track_caller]
    pub fn wait_ready_pods(
        &self,
        ns: &str,
        selector: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<PodInfo> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut pods = self.pods(ns, selector);
            pods.sort_by(|a, b| a.name.cmp(&b.name));
            if pods.len() == n
                && pods
                    .iter()
                    .all(|p| p.ready && !p.terminating && p.phase == "Running" && !p.ip.is_empty())
            {
                return pods;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {n} Ready pods {selector:?} in {ns}; last: {pods:#?}\n{}",
                    self.kubectl
                        .run(&["-n", ns, "get", "pods", "-o", "wide"])
                        .stdout
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// `-n NS get RESOURCE NAME -o jsonpath=PATH`, trimmed; panics unless kubectl succeeds.
    #[track_caller]
    pub fn jsonpath(&self, ns: &str, resource: &str, name: &str, path: &str) -> String {
        self.kubectl
            .jsonpath(ns, resource, name, path)
            .ok()
            .trim()
            .to_owned()
    }

    /// A Service's clusterIP.
    #[track_caller]
    pub fn cluster_ip(&self, ns: &str, svc: &str) -> String {
        self.jsonpath(ns, "svc", svc, "{.spec.clusterIP}")
    }

    /// The nodePort of a Service's port number `index`.
    #[track_caller]
    pub fn node_port(&self, ns: &str, svc: &str, index: usize) -> u16 {
        let out = self.jsonpath(
            ns,
            "svc",
            svc,
            &format!("{{.spec.ports[{index}].nodePort}}"),
        );
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("no nodePort for {ns}/{svc}[{index}]: {out:?}"))
    }

    /// The endpoints of all EndpointSlices of Service `svc`.
    pub fn slice_endpoints(&self, ns: &str, svc: &str) -> Vec<SliceEndpoint> {
        let out = self.kubectl.run(&[
            "-n",
            ns,
            "get",
            "endpointslices",
            "-l",
            &format!("kubernetes.io/service-name={svc}"),
            "-o",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        let mut eps = Vec::new();
        for slice in v["items"].as_array().cloned().unwrap_or_default() {
            let ports: Vec<(String, u16, String)> = slice["ports"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["port"]
                            .as_u64()
                            .and_then(|n| u16::try_from(n).ok())
                            .unwrap_or(0),
                        p["protocol"].as_str().unwrap_or("TCP").to_owned(),
                    )
                })
                .collect();
            for e in slice["endpoints"].as_array().cloned().unwrap_or_default() {
                eps.push(SliceEndpoint {
                    ip: e["addresses"][0].as_str().unwrap_or_default().to_owned(),
                    ready: e["conditions"]["ready"].as_bool() != Some(false),
                    terminating: e["conditions"]["terminating"].as_bool() == Some(true),
                    pod: e["targetRef"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    ports: ports.clone(),
                });
            }
        }
        eps
    }

    /// The sorted, de-duplicated addresses of a Service's ready endpoints.
    pub fn ready_endpoint_ips(&self, ns: &str, svc: &str) -> Vec<String> {
        let mut ips: Vec<String> = self
            .slice_endpoints(ns, svc)
            .into_iter()
            .filter(|e| e.ready)
            .map(|e| e.ip)
            .collect();
        ips.sort();
        ips.dedup();
        ips
    }

    /// Waits until the Service's ready endpoint addresses are exactly `ips` (any order).
    #[track_caller]
    pub fn wait_endpoints(&self, ns: &str, svc: &str, ips: &[String], timeout: Duration) {
        let mut want = ips.to_vec();
        want.sort();
        want.dedup();
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.ready_endpoint_ips(ns, svc);
            if got == want {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?}: endpoints of {ns}/{svc} are {got:?}, want {want:?}"
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
