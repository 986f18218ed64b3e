//! Several nodes on one machine: a "fabric" namespace holding a bridge (the L2 segment the
//! nodes share, like a rack switch) and one node namespace per agent joined to it by a veth,
//! with the node's InternalIP on its `eth0`. Nothing is created in the root namespace: each
//! veth pair is created inside the fabric namespace with its far end placed straight into the
//! node namespace. Everything is named `tk-…` and removed on drop.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tether_netns::NetNs;

use crate::node::{NETNS_PREFIX, run_command};
use crate::{AgentOptions, Kubectl, ServerOptions, TetherAgent, TetherServer};

/// The shared segment: namespace `tk-<hex>` with bridge `br0`.
#[derive(Debug)]
pub struct Fabric {
    ns: Option<NetNs>,
    nodes: Vec<String>,
}

#[track_caller]
fn ip(netns: &str, args: &[&str]) {
    let mut cmd = Command::new("ip");
    cmd.args(["-n", netns]).args(args);
    let r = run_command(cmd);
    assert_eq!(r.code, 0, "ip -n {netns} {args:?}: {}", r.stderr);
}

impl Fabric {
    /// Creates the fabric namespace and its bridge.
    #[track_caller]
    pub fn new() -> Self {
        let name = tether_netns::testing::unique_name(NETNS_PREFIX);
        let ns = NetNs::create(&name).expect("create the fabric namespace");
        let f = Self {
            ns: Some(ns),
            nodes: Vec::new(),
        };
        ip(&name, &["link", "set", "lo", "up"]);
        ip(&name, &["link", "add", "br0", "type", "bridge"]);
        ip(&name, &["link", "set", "br0", "up"]);
        f
    }

    fn name(&self) -> &str {
        self.ns.as_ref().map(NetNs::name).unwrap_or_default()
    }

    /// Creates a node namespace `tk-<hex>` joined to the bridge, `node_ip/24` on its `eth0`,
    /// and returns its name (for [`AgentOptions::netns`]).
    #[track_caller]
    pub fn add_node(&mut self, node_ip: &str) -> String {
        let node = tether_netns::testing::unique_name(NETNS_PREFIX);
        let ns = NetNs::create(&node)
            .expect("create a node namespace")
            .persist();
        drop(ns);
        self.nodes.push(node.clone());
        let port = format!("p{}", node.trim_start_matches(NETNS_PREFIX));
        let fabric = self.name().to_owned();
        ip(
            &fabric,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &node,
            ],
        );
        ip(&fabric, &["link", "set", &port, "master", "br0"]);
        ip(&fabric, &["link", "set", &port, "up"]);
        ip(&node, &["link", "set", "lo", "up"]);
        ip(
            &node,
            &["addr", "add", &format!("{node_ip}/24"), "dev", "eth0"],
        );
        ip(&node, &["link", "set", "eth0", "up"]);
        node
    }
}

impl Default for Fabric {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        let mut names = std::mem::take(&mut self.nodes);
        if let Some(ns) = self.ns.take() {
            names.push(ns.name().to_owned());
            drop(ns);
        }
        crate::node::destroy_netns(&names);
    }
}

/// A server and several agents on one fabric. Agents are dropped before the fabric.
#[derive(Debug)]
pub struct MultiNodeCluster {
    /// kubectl bound to the server.
    pub kubectl: Kubectl,
    /// The agents, `node-1`, `node-2`, … with InternalIPs 10.255.0.2, 10.255.0.3, …
    pub agents: Vec<TetherAgent>,
    /// The shared segment.
    pub fabric: Fabric,
    /// The server.
    pub server: TetherServer,
}

impl MultiNodeCluster {
    /// Starts a server and `n` agents, each in a node namespace on one fabric, and waits for
    /// every Node to be Ready; `None` (skipped loudly) when not root or kubectl is missing.
    pub fn start(bin: &Path, server: ServerOptions, n: usize, agent: AgentOptions) -> Option<Self> {
        let (server, kubectl) = crate::node::start_server(bin, server)?;
        let mut fabric = Fabric::new();
        let mut agents = Vec::new();
        for i in 0..n {
            let node_ip = format!("10.255.0.{}", i + 2);
            let netns = fabric.add_node(&node_ip);
            let opts = AgentOptions {
                node_name: format!("node-{}", i + 1),
                node_ip,
                netns: Some(netns),
                ..agent.clone()
            };
            agents.push(TetherAgent::start(bin, &server.kubeconfig(), opts));
        }
        let mut c = Self {
            kubectl,
            agents,
            fabric,
            server,
        };
        for a in &mut c.agents {
            a.wait_ready(&c.kubectl);
        }
        Some(c)
    }

    /// Every log's tail, for failure messages.
    pub fn logs(&self) -> String {
        crate::node::log_tails(&self.agents, 150, &self.server, 100)
    }

    /// Waits up to `timeout` for `f` (polled every 200 ms), panicking with the logs.
    #[track_caller]
    pub fn wait<T>(&self, timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
        if let Some(v) = crate::node::poll_value(timeout, f) {
            return v;
        }
        panic!(
            "timed out after {timeout:?} waiting for {what}\n{}",
            self.logs()
        );
    }
}

impl Drop for MultiNodeCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        // Agents first (they stop their pods), then the fabric, then the server.
        self.agents.clear();
    }
}
