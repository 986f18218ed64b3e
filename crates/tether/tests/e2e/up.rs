//! `tether up`: the whole single-node cluster in one process (root: it makes the node
//! namespace `tether-node`, deleted when it stops).

use std::process::Command;
use std::time::{Duration, Instant};

use tether_testkit::{ServerOptions, TetherServer};

use crate::bin;

fn eventually(what: &str, limit: Duration, mut f: impl FnMut() -> Option<String>) -> String {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The `kubernetes` Service has the API server's endpoint, as in any cluster, and it works:
/// traffic to its ClusterIP from the node namespace reaches the API server through the
/// forwarder `tether up` runs on the node address.
#[test]
fn the_kubernetes_service_reaches_the_api_server() {
    if !tether_netns::testing::require_root() {
        return;
    }
    if tether_netns::NetNs::open("tether-node").is_ok() {
        // Someone's own `tether up` is running here: never touch it.
        assert!(
            !tether_testkit::in_ci(),
            "a tether-node namespace already exists"
        );
        eprintln!("SKIPPED: a tether-node namespace already exists");
        return;
    }
    tether_testkit::trace_init();
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            up: true,
            ..ServerOptions::default()
        },
    );
    let Some(k) = crate::kubectl(&s) else { return };
    let ep = eventually("the kubernetes endpoints", Duration::from_secs(30), || {
        let out = k.run(&[
            "get",
            "endpoints",
            "kubernetes",
            "-o",
            "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}",
        ]);
        (out.code == 0 && !out.stdout.is_empty()).then(|| out.stdout.clone())
    });
    assert_eq!(ep, "10.255.0.2:6443");
    let slice = k.run(&[
        "get",
        "endpointslice",
        "kubernetes",
        "-o",
        "jsonpath={.metadata.labels.kubernetes\\.io/service-name} {.endpoints[0].addresses[0]} {.ports[0].name}",
    ]);
    assert_eq!(slice.ok(), "kubernetes 10.255.0.2 https");
    let describe = k.run(&["describe", "svc", "kubernetes"]);
    assert!(
        describe.ok().contains("10.255.0.2:6443"),
        "{}",
        describe.stdout
    );
    // HTTPS through the ClusterIP: the API server answers (any HTTP status is its answer).
    let code = eventually(
        "the API through 10.96.0.1:443",
        Duration::from_secs(60),
        || {
            let out = Command::new("ip")
                .args(["netns", "exec", "tether-node", "curl", "-sk", "-m", "3"])
                .args(["-o", "/dev/null", "-w", "%{http_code}"])
                .arg("https://10.96.0.1:443/version")
                .output()
                .ok()?;
            let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (code != "000" && !code.is_empty()).then_some(code)
        },
    );
    assert!(code == "200" || code == "401", "HTTP {code}");
    // And from a pod, by the Service's DNS name, as in-cluster clients reach it.
    let pod = k.run_stdin(
        &["apply", "-f", "-"],
        r#"apiVersion: v1
kind: Pod
metadata:
  name: api-client
spec:
  restartPolicy: Never
  containers:
  - name: curl
    image: tether/host
    command: ["sh", "-c", "curl -sk -m 5 -o /dev/null -w '%{http_code}' https://kubernetes.default.svc/version"]
"#,
    );
    pod.ok();
    eventually(
        "the api-client pod to finish",
        Duration::from_secs(90),
        || {
            let phase = k.run(&["get", "pod", "api-client", "-o", "jsonpath={.status.phase}"]);
            matches!(phase.stdout.as_str(), "Succeeded" | "Failed").then(|| phase.stdout.clone())
        },
    );
    let logs = k.run(&["logs", "api-client"]);
    let from_pod = logs.ok().trim();
    assert!(
        from_pod == "200" || from_pod == "401",
        "HTTP {from_pod} from the pod"
    );
    k.run(&["delete", "pod", "api-client", "--wait=false"]).ok();
    drop(k);
    let mut s = s;
    s.stop();
    assert!(
        tether_netns::NetNs::open("tether-node").is_err(),
        "tether up left its node namespace behind"
    );
}
