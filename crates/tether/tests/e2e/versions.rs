//! Every kubectl from 1.27 to 1.33 drives the same flow (JSON in ≤1.31, protobuf bodies for
//! the `create` generators in 1.32 and 1.33).

use tether_testkit::Kubectl;

use crate::{SVC_HEADER, fixture, row, rows, server};

#[test]
fn kubectl_1_27_to_1_33() {
    let s = server();
    for minor in 27..=33u32 {
        // A missing version is skipped loudly (a failure under CI); the others still run.
        let Some(k) = Kubectl::version(minor, &s.kubeconfig()) else {
            continue;
        };
        let ns = format!("v{minor}");
        k.run(&["create", "namespace", &ns]).ok();
        k.run(&["apply", "-n", &ns, "-f", &fixture("multi-port.yaml")])
            .ok();
        k.run(&[
            "create",
            "-n",
            &ns,
            "service",
            "nodeport",
            "np",
            "--tcp=80:8080",
        ])
        .ok();
        k.run(&[
            "create",
            "-n",
            &ns,
            "deployment",
            "web",
            "--image=nginx",
            "--port=80",
        ])
        .ok();
        k.run(&["expose", "-n", &ns, "deployment", "web", "--port=80"])
            .ok();
        let t = rows(k.run(&["get", "-n", &ns, "svc"]).ok());
        assert_eq!(t[0], SVC_HEADER, "kubectl 1.{minor}");
        assert_eq!(
            row(&t, "microservice-demo")[4],
            "3000/TCP,4000/TCP",
            "kubectl 1.{minor}"
        );
        assert_eq!(row(&t, "np")[1], "NodePort", "kubectl 1.{minor}");
        assert_eq!(row(&t, "web")[4], "80/TCP", "kubectl 1.{minor}");
        let d = k.run(&["describe", "-n", &ns, "svc", "web"]);
        assert!(d.ok().contains("Selector:"), "kubectl 1.{minor}");
        k.run(&["label", "-n", &ns, "svc", "web", "x=y"]).ok();
        k.run(&["delete", "-n", &ns, "svc", "web", "np"]).ok();
        k.run(&["get", "-n", &ns, "svc", "web"])
            .fails_with("(NotFound)");
    }
}
