//! Two nodes (issue 3: "runs on one machine and grows to many"): two agents in node
//! namespaces joined by a fabric bridge, one server. Pods spread over both nodes; each node
//! routes to the other's podCIDR via its InternalIP (host-gw); pod-to-pod, ClusterIP, NodePort
//! and cluster DNS work across nodes; a Node that goes away takes its route with it.
//! Needs root (skipped loudly otherwise).

use std::collections::BTreeSet;
use std::time::Duration;

use tether_testkit::node::{PodInfo, exec_in, list_pods};
use tether_testkit::{AgentOptions, MultiNodeCluster, ServerOptions};

use crate::bin;
use crate::pods::{START, netexec_deployment};

/// `ip route show proto 214` (tether's routes) in a node namespace.
fn tether_routes(netns: &str) -> String {
    exec_in(netns, &["ip", "route", "show", "proto", "214"]).stdout
}

fn pod_cidr(c: &MultiNodeCluster, node: &str) -> String {
    c.kubectl
        .run(&["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"])
        .stdout
        .trim()
        .to_owned()
}

fn curl_hostname(netns: &str, url: &str) -> String {
    exec_in(netns, &["curl", "-sS", "-m", "3", url])
        .stdout
        .trim()
        .to_owned()
}

/// `n` ready `web` pods (a netexec Deployment applied here).
fn ready_web_pods(c: &MultiNodeCluster, n: u32) -> Vec<PodInfo> {
    c.kubectl
        .run_stdin(&["apply", "-f", "-"], &netexec_deployment("web", n))
        .ok();
    c.wait(START, &format!("{n} ready web pods"), || {
        let ps = list_pods(&c.kubectl, "default", "app=web");
        (ps.len() == n as usize && ps.iter().all(|p| p.ready && !p.ip.is_empty())).then_some(ps)
    })
}

/// Applies Service `web` (port 80 → the pods' `http`) of type `kind` and returns its
/// ClusterIP.
fn web_service(c: &MultiNodeCluster, kind: &str) -> String {
    c.kubectl
        .run_stdin(
            &["apply", "-f", "-"],
            &format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: {kind}\n  \
                 selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: http\n"
            ),
        )
        .ok();
    c.wait(Duration::from_secs(20), "web's clusterIP", || {
        let ip = c
            .kubectl
            .run(&["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"])
            .stdout;
        (!ip.trim().is_empty()).then(|| ip.trim().to_owned())
    })
}

#[test]
fn two_nodes_route_pods_services_and_dns_across_nodes() {
    let Some(c) =
        MultiNodeCluster::start(bin(), ServerOptions::default(), 2, AgentOptions::default())
    else {
        return;
    };
    let (n1, n2) = (&c.agents[0], &c.agents[1]);
    let (cidr1, cidr2) = (pod_cidr(&c, "node-1"), pod_cidr(&c, "node-2"));
    assert_ne!(cidr1, cidr2, "each node gets its own podCIDR");

    // Routes to the other node's pods, and only those.
    let want1 = format!("{cidr2} via {} dev eth0", n2.node_ip());
    let want2 = format!("{cidr1} via {} dev eth0", n1.node_ip());
    c.wait(Duration::from_secs(30), "routes between the nodes", || {
        let (r1, r2) = (tether_routes(n1.netns()), tether_routes(n2.netns()));
        (r1.contains(&want1) && r2.contains(&want2) && !r1.contains(&cidr1)).then_some(())
    });

    // Four replicas spread over both nodes.
    let pods = ready_web_pods(&c, 4);
    let nodes: BTreeSet<&str> = pods.iter().map(|p| p.node.as_str()).collect();
    assert_eq!(
        nodes,
        BTreeSet::from(["node-1", "node-2"]),
        "pods spread over both nodes: {pods:?}"
    );

    // Every pod reaches every other pod by its IP, across nodes too.
    for from in &pods {
        for to in &pods {
            let got = curl_hostname(&from.netns(), &format!("http://{}:8080/hostname", to.ip));
            assert_eq!(
                got, to.name,
                "{} ({}) -> {} ({})",
                from.name, from.node, to.name, to.node
            );
        }
    }

    // A ClusterIP Service balances over pods on both nodes, from either node.
    let vip = web_service(&c, "NodePort");
    let node_port = c
        .kubectl
        .run(&[
            "get",
            "svc",
            "web",
            "-o",
            "jsonpath={.spec.ports[0].nodePort}",
        ])
        .stdout
        .trim()
        .to_owned();
    let all: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
    for (agent, url) in [
        (n1, format!("http://{vip}/hostname")),
        (n2, format!("http://{vip}/hostname")),
        // NodePort on the other node's address, through the fabric.
        (n1, format!("http://{}:{node_port}/hostname", n2.node_ip())),
    ] {
        let mut seen = BTreeSet::new();
        c.wait(
            Duration::from_secs(60),
            &format!("{url} from {} reaching all 4 pods", agent.node_name()),
            || {
                seen.insert(curl_hostname(agent.netns(), &url));
                seen.is_superset(&all).then_some(())
            },
        );
    }

    // Cluster DNS from a pod on node-1 (kube-dns has an endpoint on each node).
    let p1 = pods
        .iter()
        .find(|p| p.node == "node-1")
        .expect("a pod on node-1");
    let got = n1.pod_nsenter(&c.kubectl, "default", &p1.name, &["getent", "hosts", "web"]);
    assert!(
        got.stdout.contains(&vip),
        "getent hosts web in {}: {got:?}",
        p1.name
    );

    // A Node that goes away takes its route with it.
    let mut c = c;
    c.agents[1].stop();
    let del = c.kubectl.run(&["delete", "node", "node-2"]);
    assert_eq!(del.code, 0, "{del:?}");
    let n1 = c.agents[0].netns().to_owned();
    c.wait(Duration::from_secs(30), "node-2's route removed", || {
        (!tether_routes(&n1).contains(&cidr2)).then_some(())
    });
}

/// Issue 4's kernel fast paths through the agent (with `flags`): a node whose InternalIP
/// sits on a real uplink (`eth0` on the fabric) serves ClusterIP connections from a client
/// on that subnet without conntrack and without masquerading when `fast`, and through
/// conntrack, masqueraded, otherwise; the node itself always goes through conntrack.
/// `check` looks at the node's namespace once the client reached every pod.
fn client_on_the_node_subnet(flags: &[&str], fast: bool, check: impl Fn(&str)) {
    let agent = AgentOptions {
        extra_args: flags.iter().map(|f| (*f).to_owned()).collect(),
        ..AgentOptions::default()
    };
    let Some(mut c) = MultiNodeCluster::start(bin(), ServerOptions::default(), 1, agent) else {
        return;
    };
    let client = c.fabric.add_node("10.255.0.100");
    let node_ip = c.agents[0].node_ip().to_owned();
    let node = c.agents[0].netns().to_owned();
    let r = exec_in(
        &client,
        &["ip", "route", "add", "10.96.0.0/12", "via", &node_ip],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let pods = ready_web_pods(&c, 3);
    let vip = web_service(&c, "ClusterIP");
    let all: BTreeSet<String> = pods.iter().map(|p| p.name.clone()).collect();
    let mut seen = BTreeSet::new();
    c.wait(
        Duration::from_secs(60),
        "the client reaching all 3 pods",
        || {
            seen.insert(curl_hostname(&client, &format!("http://{vip}/hostname")));
            seen.is_superset(&all).then_some(())
        },
    );
    // On a fast path the pod sees the client's own address: the `ip` table masquerades it.
    let ip = curl_hostname(&client, &format!("http://{vip}/clientip"));
    assert_eq!(ip.starts_with("10.255.0.100:"), fast, "clientip {ip:?}");
    check(&node);
    // No entry in either direction (not only those addressed to the ClusterIP: a reply
    // that met the IP stack would hold one addressed to the client).
    let ct = exec_in(&node, &["conntrack", "-L"]);
    assert_eq!(ct.code, 0, "{ct:?}");
    assert_eq!(
        ct.stdout.contains("10.255.0.100"),
        !fast,
        "conntrack entries of the client: {ct:?}"
    );
    // The node's own connections take the conntrack path.
    let from_node = curl_hostname(&node, &format!("http://{vip}/hostname"));
    assert!(all.contains(&from_node), "from the node: {from_node:?}");
}

/// `--netdev-fast-path`: the flows are recorded in `table netdev tether`.
#[test]
fn netdev_fast_path_serves_clients_on_the_node_subnet() {
    client_on_the_node_subnet(&["--netdev-fast-path"], true, |node| {
        let flows = exec_in(node, &["nft", "list", "map", "netdev", "tether", "flows"]);
        assert!(flows.stdout.contains("10.255.0.100"), "{flows:?}");
    });
}

/// The eBPF fast path, on by default: no netdev table; the programs serve the client.
#[test]
fn ebpf_fast_path_serves_clients_on_the_node_subnet_by_default() {
    client_on_the_node_subnet(&[], true, |node| {
        let t = exec_in(node, &["nft", "list", "table", "netdev", "tether"]);
        assert_ne!(t.code, 0, "a netdev table: {t:?}");
    });
}

/// `--no-ebpf-fast-path`: the `ip` table and conntrack serve the client, masqueraded.
#[test]
fn without_a_fast_path_the_client_is_masqueraded() {
    client_on_the_node_subnet(&["--no-ebpf-fast-path"], false, |_| {});
}
