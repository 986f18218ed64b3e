//! Durability and the store backends, through the real server.

use std::collections::HashSet;
use std::time::Duration;

use tether_testkit::{EtcdServer, Kubectl, ServerOptions, TetherServer};

use crate::api::{get_json, http};
use crate::{bin, fixture, row, rows};

fn post_service(addr: &str, name: &str, node_port: bool) -> String {
    let ty = if node_port { "NodePort" } else { "ClusterIP" };
    let body = format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}"}},"spec":{{"type":"{ty}","ports":[{{"port":80}}]}}}}"#
    );
    http(
        addr,
        &format!(
            "POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn list_services(addr: &str) -> serde_json::Value {
    get_json(addr, "/api/v1/services")
}

#[test]
fn restart_keeps_objects_revisions_and_allocations() {
    let mut s = TetherServer::start(bin(), ServerOptions::default());
    let Some(k) = Kubectl::new(&s.kubeconfig()) else {
        return;
    };
    k.run(&["apply", "-f", &fixture("nodeport.yaml")]).ok();
    let before = k.run(&["get", "svc", "my-service", "-o", "json"]);
    let before: serde_json::Value = serde_json::from_str(before.ok()).unwrap();
    let keep = s.keep_data();
    let dir = s.data_dir.clone();
    s.stop();
    drop(s);
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            data_dir: Some(dir),
            ..Default::default()
        },
    );
    let after = k.run(&["get", "svc", "my-service", "-o", "json"]);
    let after: serde_json::Value = serde_json::from_str(after.ok()).unwrap();
    assert_eq!(before["metadata"], after["metadata"]);
    assert_eq!(before["spec"], after["spec"]);
    // The node port and the cluster IP are still taken.
    let e = k.run(&[
        "create",
        "service",
        "nodeport",
        "other",
        "--tcp=80:80",
        "--node-port=30007",
    ]);
    e.fails_with("provided port is already allocated");
    let ip = before["spec"]["clusterIP"].as_str().unwrap();
    let e = k.run(&[
        "create",
        "service",
        "clusterip",
        "other",
        "--tcp=80:80",
        &format!("--clusterip={ip}"),
    ]);
    e.fails_with("provided IP is already allocated");
    // New writes continue the revision sequence.
    k.run(&["label", "svc", "my-service", "a=b"]).ok();
    let rv_after: i64 = serde_json::from_str::<serde_json::Value>(
        k.run(&["get", "svc", "my-service", "-o", "json"]).ok(),
    )
    .unwrap()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rv_before: i64 = before["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv_after > rv_before);
    drop(s);
    drop(keep);
}

#[test]
fn kill_9_loses_no_acknowledged_write() {
    let mut s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            ..Default::default()
        },
    );
    let addr = s.addr.clone();
    let writer = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for i in 0..2000 {
            let name = format!("s{i}");
            let resp = post_service(&addr, &name, false);
            if resp.starts_with("HTTP/1.1 201") {
                acked.push(name);
            } else if resp.is_empty() || !resp.starts_with("HTTP/1.1") {
                break;
            }
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(1500));
    let keep = s.keep_data();
    let dir = s.data_dir.clone();
    s.kill9();
    let acked = writer.join().unwrap();
    assert!(
        !acked.is_empty(),
        "no write was acknowledged before the kill"
    );
    drop(s);
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            data_dir: Some(dir),
            ..Default::default()
        },
    );
    let list = list_services(&s.addr);
    let names: HashSet<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    for a in &acked {
        assert!(
            names.contains(a),
            "acknowledged {a} lost after kill -9 ({} acked)",
            acked.len()
        );
    }
    drop(keep);
}

#[test]
fn etcd_backend_serves_kubectl() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            etcd: Some(etcd.endpoint.clone()),
            ..Default::default()
        },
    );
    let Some(k) = Kubectl::new(&s.kubeconfig()) else {
        return;
    };
    k.run(&["apply", "-f", &fixture("multi-port.yaml")]).ok();
    k.run(&["apply", "-f", &fixture("nodeport.yaml")]).ok();
    let t = rows(k.run(&["get", "svc"]).ok());
    assert_eq!(row(&t, "my-service")[4], "80:30007/TCP");
    assert_eq!(row(&t, "kubernetes")[2], "10.96.0.1");
    k.run(&["delete", "svc", "my-service"]).ok();
    k.run(&["get", "svc", "my-service"])
        .fails_with("(NotFound)");
}

#[test]
fn two_api_servers_on_one_etcd_never_duplicate_allocations() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let opts = ServerOptions {
        etcd: Some(etcd.endpoint.clone()),
        plain_http: true,
        ..Default::default()
    };
    let a = TetherServer::start(bin(), opts.clone());
    let b = TetherServer::start(bin(), opts);
    let mut handles = Vec::new();
    for (srv, tag) in [(a.addr.clone(), "a"), (b.addr.clone(), "b")] {
        for t in 0..3 {
            let srv = srv.clone();
            handles.push(std::thread::spawn(move || {
                for i in 0..40 {
                    let resp = post_service(&srv, &format!("{tag}{t}-{i}"), true);
                    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
                }
            }));
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    let list = list_services(&a.addr);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2 * 3 * 40 + 1);
    let mut ips = HashSet::new();
    let mut ports = HashSet::new();
    for i in items {
        assert!(
            ips.insert(i["spec"]["clusterIP"].as_str().unwrap().to_owned()),
            "duplicate IP {}",
            i["spec"]["clusterIP"]
        );
        if let Some(np) = i["spec"]["ports"][0]["nodePort"].as_i64() {
            assert!(ports.insert(np), "duplicate nodePort {np}");
        }
    }
    // Every Service but `kubernetes` is a NodePort one: each got a port.
    assert_eq!(ports.len(), 2 * 3 * 40, "one nodePort per NodePort Service");
}

/// Every API server on one etcd publishes its address in the `kubernetes` Endpoints and
/// EndpointSlice (upstream's lease reconciler); one that stops takes its address out.
#[test]
fn kubernetes_endpoints_list_every_api_server() {
    let Some(etcd) = EtcdServer::start() else {
        return;
    };
    let opts = |ip: &str| ServerOptions {
        etcd: Some(etcd.endpoint.clone()),
        plain_http: true,
        args: vec!["--advertise-address".into(), ip.into()],
        ..Default::default()
    };
    let a = TetherServer::start(bin(), opts("10.20.0.2"));
    let mut b = TetherServer::start(bin(), opts("10.20.0.1"));
    let addresses = |srv: &TetherServer| {
        let ep = get_json(&srv.addr, "/api/v1/namespaces/default/endpoints/kubernetes");
        let es = get_json(
            &srv.addr,
            "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
        );
        let ep_ips: Vec<String> = ep["subsets"][0]["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["ip"].as_str().map(str::to_owned))
            .collect();
        let es_ips: Vec<String> = es["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["addresses"][0].as_str().map(str::to_owned))
            .collect();
        (ep_ips, es_ips)
    };
    // Both addresses, sorted, in both objects. Eventually: the two servers' first
    // reconciles may interleave (a publishing what it listed before b's lease existed),
    // and the next reconcile (10 s) settles it, as upstream's.
    let both = vec!["10.20.0.1".to_owned(), "10.20.0.2".to_owned()];
    tether_testkit::wait_for(
        Duration::from_secs(30),
        "both API servers' addresses",
        || (addresses(&a) == (both.clone(), both.clone())).then_some(()),
    );
    // A server that stops removes its lease and its address on the way out. Within 4 s:
    // b renewed its 15 s lease at most 10 s before it stopped, so an expiry cannot remove
    // it this soon; only the removal at shutdown can (a's reconcile overlapping b's last
    // write by milliseconds would delay it to a's next reconcile: rare).
    b.stop();
    let one = vec!["10.20.0.2".to_owned()];
    tether_testkit::wait_for(Duration::from_secs(4), "only the running server", || {
        (addresses(&a) == (one.clone(), one.clone())).then_some(())
    });
}
