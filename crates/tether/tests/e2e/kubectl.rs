//! kubectl workflows against `tether server` (TLS, token auth, embedded store).

use std::time::Duration;

use tether_testkit::{ServerOptions, TetherServer};

use crate::{SVC_HEADER, bin, fixture, kubectl, row, rows, server};

#[test]
fn seeds_and_docs_manifests_apply_unchanged() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&["create", "namespace", "prod"]).ok();
    for f in [
        "multi-port.yaml",
        "headless.yaml",
        "nodeport.yaml",
        "loadbalancer.yaml",
        "externalname.yaml",
        "named-port.yaml",
    ] {
        let out = k.run(&["apply", "-f", &fixture(f)]);
        assert!(out.ok().contains("created"), "{f}: {}", out.stdout);
    }
    // Applying again changes nothing.
    let again = k.run(&["apply", "-f", &fixture("multi-port.yaml")]);
    assert!(again.ok().contains("unchanged"), "{}", again.stdout);

    let out = k.run(&["get", "services"]);
    let t = rows(out.ok());
    assert_eq!(t[0], SVC_HEADER);
    let r = row(&t, "kubernetes");
    assert_eq!(&r[1..5], ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]);
    let r = row(&t, "microservice-demo");
    assert_eq!(r[1], "ClusterIP");
    assert!(r[2].starts_with("10."), "{r:?}");
    assert_eq!(r[4], "3000/TCP,4000/TCP");
    let r = row(&t, "microservices-demo");
    assert_eq!(&r[1..5], ["ClusterIP", "None", "<none>", "3000/TCP"]);
    let r = row(&t, "my-service");
    assert_eq!(r[1], "NodePort");
    assert_eq!(r[4], "80:30007/TCP");
    let r = row(&t, "my-lb-service");
    assert_eq!(&r[1..4], ["LoadBalancer", "10.96.0.123", "<pending>"]);
    assert!(r[4].starts_with("80:3") && r[4].ends_with("/TCP"), "{r:?}");
    let out = k.run(&["get", "svc", "-n", "prod"]);
    let t = rows(out.ok());
    let r = row(&t, "my-database-svc");
    assert_eq!(
        &r[1..5],
        [
            "ExternalName",
            "<none>",
            "my.database.example.com",
            "<none>"
        ]
    );

    // -o wide adds SELECTOR.
    let out = k.run(&["get", "svc", "-o", "wide"]);
    let t = rows(out.ok());
    assert_eq!(t[0].last().map(String::as_str), Some("SELECTOR"));
    assert_eq!(
        row(&t, "microservice-demo").last().map(String::as_str),
        Some("app=my-microservice")
    );

    // Defaults are set server-side.
    let y = k.run(&["get", "svc", "microservice-demo", "-o", "yaml"]);
    let y = y.ok();
    for want in [
        "sessionAffinity: None",
        "ipFamilyPolicy: SingleStack",
        "internalTrafficPolicy: Cluster",
        "- IPv4",
        "type: ClusterIP",
        "resourceVersion:",
        "uid:",
        "creationTimestamp:",
    ] {
        assert!(y.contains(want), "missing {want} in\n{y}");
    }
    let j = k.run(&["get", "svc", "my-lb-service", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(j.ok()).unwrap();
    assert_eq!(v["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(v["spec"]["allocateLoadBalancerNodePorts"], true);
    assert_eq!(v["spec"]["clusterIP"], "10.96.0.123");
}

#[test]
fn create_service_generators() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&[
        "create",
        "service",
        "clusterip",
        "my-svc",
        "--tcp=5678:8080",
    ])
    .ok();
    k.run(&[
        "create",
        "service",
        "nodeport",
        "np",
        "--tcp=80:8080",
        "--node-port=30080",
    ])
    .ok();
    k.run(&["create", "service", "loadbalancer", "lb", "--tcp=80:8080"])
        .ok();
    k.run(&[
        "create",
        "service",
        "externalname",
        "en",
        "--external-name=example.com",
    ])
    .ok();
    k.run(&["create", "service", "clusterip", "hl", "--clusterip=None"])
        .ok();
    let t = rows(k.run(&["get", "svc"]).ok());
    assert_eq!(row(&t, "my-svc")[4], "5678/TCP");
    assert_eq!(row(&t, "np")[4], "80:30080/TCP");
    assert_eq!(row(&t, "lb")[3], "<pending>");
    assert_eq!(row(&t, "en")[3], "example.com");
    assert_eq!(row(&t, "hl")[2], "None");
    // A taken nodePort is refused with upstream's message, and nothing is stored.
    let e = k.run(&[
        "create",
        "service",
        "nodeport",
        "np2",
        "--tcp=81:8080",
        "--node-port=30080",
    ]);
    e.fails_with(
        "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated",
    );
    k.run(&["get", "svc", "np2"]).fails_with("(NotFound)");
    let e = k.run(&[
        "create",
        "service",
        "nodeport",
        "np3",
        "--tcp=80:8080",
        "--node-port=80",
    ]);
    e.fails_with("spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767");
    let e = k.run(&[
        "create",
        "service",
        "clusterip",
        "my-svc",
        "--tcp=5678:8080",
    ]);
    e.fails_with(r#"services "my-svc" already exists"#);
}

#[test]
fn deployment_expose_as_in_the_seeds() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&[
        "create",
        "deployment",
        "mydeploy",
        "--image=registry.k8s.io/e2e-test-images/agnhost:2.39",
        "--replicas=3",
        "--port=8888",
        "--",
        "/agnhost",
        "netexec",
        "--http-port=8888",
    ])
    .ok();
    assert_eq!(
        k.run(&["expose", "deployment/mydeploy", "--port", "8888"])
            .ok()
            .trim(),
        "service/mydeploy exposed"
    );
    assert_eq!(
        k.run(&[
            "expose",
            "deployment/mydeploy",
            "--port",
            "8888",
            "--name",
            "mydeploy-np",
            "--type",
            "NodePort"
        ])
        .ok()
        .trim(),
        "service/mydeploy-np exposed"
    );
    k.run(&[
        "expose",
        "deployment/mydeploy",
        "--port",
        "8888",
        "--name",
        "mydeploy-lb",
        "--type",
        "LoadBalancer",
    ])
    .ok();
    let t = rows(k.run(&["get", "services"]).ok());
    let r = row(&t, "mydeploy");
    assert_eq!((r[1].as_str(), r[4].as_str()), ("ClusterIP", "8888/TCP"));
    let r = row(&t, "mydeploy-np");
    assert_eq!(r[1], "NodePort");
    let np: u16 = r[4]
        .strip_prefix("8888:")
        .and_then(|x| x.strip_suffix("/TCP"))
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!((30000..=32767).contains(&np));
    let r = row(&t, "mydeploy-lb");
    assert_eq!(r[1], "LoadBalancer");
    let y = k.run(&["get", "svc", "mydeploy", "-o", "yaml"]);
    assert!(y.ok().contains("app: mydeploy"));
    let d = k.run(&["get", "deploy", "mydeploy", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(d.ok()).unwrap();
    assert_eq!(v["spec"]["replicas"], 3);
    assert_eq!(v["metadata"]["generation"], 1);
}

#[test]
fn describe_edit_patch_label_delete() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&["apply", "-f", &fixture("nodeport.yaml")]).ok();
    let d = k.run(&["describe", "svc", "my-service"]);
    let d = d.ok();
    for want in [
        "Name:",
        "my-service",
        "Type:",
        "NodePort",
        "NodePort:",
        "30007/TCP",
        "Endpoints:",
        "Selector:",
        "app.kubernetes.io/name=MyApp",
    ] {
        assert!(d.contains(want), "missing {want} in\n{d}");
    }
    // edit with a scripted editor: port 80 -> 81.
    let dir = tempfile::tempdir().unwrap();
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/ port: 80$/ port: 81/' \"$1\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let ed = k.run_env(
        &["edit", "svc", "my-service"],
        &[("KUBE_EDITOR", editor.to_str().unwrap())],
    );
    assert!(ed.ok().contains("edited"), "{}", ed.stdout);
    let t = rows(k.run(&["get", "svc", "my-service"]).ok());
    assert_eq!(row(&t, "my-service")[4], "81:30007/TCP");

    // patch: strategic, merge, json.
    k.run(&[
        "patch",
        "svc",
        "my-service",
        "-p",
        r#"{"spec":{"sessionAffinity":"ClientIP"}}"#,
    ])
    .ok();
    k.run(&[
        "patch",
        "svc",
        "my-service",
        "--type=merge",
        "-p",
        r#"{"metadata":{"annotations":{"a":"b"}}}"#,
    ])
    .ok();
    k.run(&[
        "patch",
        "svc",
        "my-service",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/selector","value":{"app":"x"}}]"#,
    ])
    .ok();
    let v: serde_json::Value =
        serde_json::from_str(k.run(&["get", "svc", "my-service", "-o", "json"]).ok()).unwrap();
    assert_eq!(v["spec"]["sessionAffinity"], "ClientIP");
    assert_eq!(
        v["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
        10800
    );
    assert_eq!(v["metadata"]["annotations"]["a"], "b");
    assert_eq!(v["spec"]["selector"]["app"], "x");

    // NodePort -> ClusterIP releases the node port; it can be taken again.
    k.run(&[
        "patch",
        "svc",
        "my-service",
        "--type=merge",
        "-p",
        r#"{"spec":{"type":"ClusterIP","ports":[{"port":81,"targetPort":80,"protocol":"TCP"}]}}"#,
    ])
    .ok();
    k.run(&[
        "create",
        "service",
        "nodeport",
        "again",
        "--tcp=80:80",
        "--node-port=30007",
    ])
    .ok();

    // label add, overwrite refusal, removal.
    k.run(&["label", "svc", "my-service", "tier=fe"]).ok();
    k.run(&["label", "svc", "my-service", "tier=be"])
        .fails_with("already has a value");
    k.run(&["label", "svc", "my-service", "tier=be", "--overwrite"])
        .ok();
    let t = rows(k.run(&["get", "svc", "my-service", "--show-labels"]).ok());
    assert_eq!(row(&t, "my-service").last().unwrap(), "tier=be");
    k.run(&["label", "svc", "my-service", "tier-"]).ok();
    let t = rows(k.run(&["get", "svc", "-l", "tier=be"]).ok());
    assert!(t.is_empty(), "{t:?}");

    // delete, then NotFound.
    assert!(
        k.run(&["delete", "svc", "my-service"])
            .ok()
            .contains(r#"service "my-service" deleted"#)
    );
    let e = k.run(&["get", "svc", "my-service"]);
    e.fails_with(r#"Error from server (NotFound): services "my-service" not found"#);
    let e = k.run(&["delete", "svc", "my-service"]);
    e.fails_with(r#"services "my-service" not found"#);
}

#[test]
fn get_watch_sees_added_modified_deleted() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    let mut child = k.spawn(&["get", "svc", "-w", "--output-watch-events"]);
    std::thread::sleep(Duration::from_millis(1500));
    k.run(&["create", "service", "clusterip", "watched", "--tcp=80:80"])
        .ok();
    k.run(&["label", "svc", "watched", "x=y"]).ok();
    k.run(&["delete", "svc", "watched"]).ok();
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let t = rows(&text);
    let events: Vec<(&str, &str)> = t
        .iter()
        .skip(1)
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert!(events.contains(&("ADDED", "kubernetes")), "{text}");
    let watched: Vec<&str> = events
        .iter()
        .filter(|e| e.1 == "watched")
        .map(|e| e.0)
        .collect();
    assert_eq!(watched, ["ADDED", "MODIFIED", "DELETED"], "{text}");
}

#[test]
fn invalid_manifests_get_upstream_messages() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    let e = k.run(&["apply", "-f", &fixture("invalid.yaml")]);
    let msg = e.fails();
    assert!(msg.contains(r#"The Service "bad" is invalid"#), "{msg}");
    assert!(
        msg.contains(
            "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ),
        "{msg}"
    );
    assert!(
        msg.contains(
            "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"
        ),
        "{msg}"
    );
    k.run(&["get", "svc", "bad"]).fails_with("(NotFound)");
    // Unknown fields are refused under kubectl's default strict validation.
    let e = k.run_stdin(
        &["apply", "-f", "-"],
        r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":{"ports":[{"port":1}],"foo":1}}"#,
    );
    e.fails_with(r#"unknown field "spec.foo""#);
    // A bad name.
    let e = k.run_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 80\n",
    );
    e.fails_with(r#"metadata.name: Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character"#);
    // nodePort on a ClusterIP Service.
    let e = k.run_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: cip\nspec:\n  ports:\n  - port: 80\n    nodePort: 30001\n",
    );
    e.fails_with("spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'");
    // Missing namespace.
    let e = k.run(&[
        "create",
        "service",
        "clusterip",
        "x",
        "--tcp=80:80",
        "-n",
        "nope",
    ]);
    e.fails_with(r#"namespaces "nope" not found"#);
}

#[test]
fn dry_run_server_persists_nothing() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    let out = k.run(&["apply", "-f", &fixture("nodeport.yaml"), "--dry-run=server"]);
    assert!(out.ok().contains("(server dry run)"), "{}", out.stdout);
    k.run(&["get", "svc", "my-service"])
        .fails_with("(NotFound)");
    // The node port was not kept either.
    k.run(&["apply", "-f", &fixture("nodeport.yaml")]).ok();
}

#[test]
fn server_side_apply_creates_and_updates() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    let out = k.run(&["apply", "--server-side", "-f", &fixture("multi-port.yaml")]);
    assert!(out.ok().contains("serverside-applied"), "{}", out.stdout);
    let rv = |k: &tether_testkit::Kubectl| {
        k.jsonpath(
            "default",
            "svc",
            "microservice-demo",
            "{.metadata.resourceVersion}",
        )
        .ok()
        .to_owned()
    };
    let before = rv(&k);
    let out = k.run(&["apply", "--server-side", "-f", &fixture("multi-port.yaml")]);
    out.ok();
    // Applying the same configuration again changes nothing, not even managedFields' time.
    assert_eq!(rv(&k), before, "a no-op apply wrote the object");
    let t = rows(k.run(&["get", "svc", "microservice-demo"]).ok());
    assert_eq!(row(&t, "microservice-demo")[4], "3000/TCP,4000/TCP");
}

/// Server-side apply owns what it applies: managedFields record it, a field the manager stops
/// applying is removed, another manager changing an owned field conflicts (409, upstream's
/// message) unless it forces, and then takes the field over.
#[test]
fn server_side_apply_tracks_ownership_and_conflicts() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    let svc = |labels: &str, ports: &str, selector: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: owned\n  labels:\n{labels}\nspec:\n  selector:\n    app: {selector}\n  ports:\n{ports}"
        )
    };
    let two_ports = "  - name: http\n    port: 80\n  - name: admin\n    port: 81\n";
    let one_port = "  - name: http\n    port: 80\n";
    k.run_stdin(
        &["apply", "--server-side", "-f", "-"],
        &svc("    app: web\n    tier: front\n", two_ports, "web"),
    )
    .ok();
    let mf = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}/{.metadata.managedFields[*].operation}",
    ]);
    assert_eq!(mf.ok(), "kubectl/Apply");
    let fields = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={.metadata.managedFields[0].fieldsV1}",
    ]);
    assert!(
        fields
            .ok()
            .contains(r#""k:{\"port\":81,\"protocol\":\"TCP\"}""#),
        "{}",
        fields.stdout
    );
    // The same manager drops a label and a port: both go.
    k.run_stdin(
        &["apply", "--server-side", "-f", "-"],
        &svc("    app: web\n", one_port, "web"),
    )
    .ok();
    let got = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={.metadata.labels}|{.spec.ports[*].port}",
    ]);
    assert_eq!(got.ok(), r#"{"app":"web"}|80"#);
    // Another manager changing the selector conflicts, as upstream words it.
    let out = k.run_stdin(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        &svc("    app: web\n", one_port, "changed"),
    );
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.selector.app"#
        ),
        "{}",
        out.stderr
    );
    let sel = k.run(&["get", "svc", "owned", "-o", "jsonpath={.spec.selector.app}"]);
    assert_eq!(sel.ok(), "web", "nothing written on conflict");
    // Forced, it takes the field over.
    k.run_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &svc("    app: web\n", one_port, "changed"),
    )
    .ok();
    let sel = k.run(&["get", "svc", "owned", "-o", "jsonpath={.spec.selector.app}"]);
    assert_eq!(sel.ok(), "changed");
    let managers = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert_eq!(managers.ok(), "kubectl other");
    // Other writes are Update operations: `kubectl label` owns the label it added, and the
    // appliers keep theirs.
    k.run(&["label", "svc", "owned", "extra=1"]).ok();
    let managers = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}",
    ]);
    assert_eq!(
        managers.ok().trim(),
        "kubectl/Apply other/Apply kubectl-label/Update"
    );
    let label = k.run(&[
        "get",
        "svc",
        "owned",
        "-o",
        "jsonpath={.metadata.managedFields[2].fieldsV1}",
    ]);
    assert_eq!(label.ok(), r#"{"f:metadata":{"f:labels":{"f:extra":{}}}}"#);
}

/// Dual-stack Services from the Kubernetes docs ("IPv4/IPv6 dual-stack") on a server with an
/// IPv4 and an IPv6 service CIDR; single-stack refusals on a server with only IPv4.
#[test]
fn dual_stack_services_get_an_address_per_family() {
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            args: vec![
                "--service-cluster-ip-range".into(),
                "10.96.0.0/12,fd00:10:96::/112".into(),
            ],
            ..Default::default()
        },
    );
    let Some(k) = kubectl(&s) else { return };
    let svc = |name: &str, extra: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: MyApp\nspec:\n{extra}  selector:\n    app.kubernetes.io/name: MyApp\n  ports:\n    - protocol: TCP\n      port: 80\n"
        )
    };
    k.run_stdin(
        &["apply", "-f", "-"],
        &svc("prefer-dual", "  ipFamilyPolicy: PreferDualStack\n"),
    )
    .ok();
    k.run_stdin(
        &["apply", "-f", "-"],
        &svc(
            "require-dual-v6-first",
            "  ipFamilyPolicy: RequireDualStack\n  ipFamilies:\n  - IPv6\n  - IPv4\n",
        ),
    )
    .ok();
    k.run_stdin(
        &["apply", "-f", "-"],
        &svc("v6-only", "  ipFamilies:\n  - IPv6\n"),
    )
    .ok();
    k.run_stdin(&["apply", "-f", "-"], &svc("default-family", ""))
        .ok();
    let fields = |name: &str| {
        let out = k.run(&["get", "svc", name, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(out.ok()).expect("service json");
        let strs = |p: &str| -> Vec<String> {
            v.pointer(p)
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        (
            v["spec"]["ipFamilyPolicy"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            strs("/spec/ipFamilies"),
            strs("/spec/clusterIPs"),
        )
    };
    let v4 = |ip: &str| {
        ip.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.octets()[0] == 10)
    };
    let v6 = |ip: &str| ip.starts_with("fd00:10:96::");
    let (policy, families, ips) = fields("prefer-dual");
    assert_eq!(policy, "PreferDualStack");
    assert_eq!(families, ["IPv4", "IPv6"]);
    assert!(ips.len() == 2 && v4(&ips[0]) && v6(&ips[1]), "{ips:?}");
    let (policy, families, ips) = fields("require-dual-v6-first");
    assert_eq!(policy, "RequireDualStack");
    assert_eq!(families, ["IPv6", "IPv4"]);
    assert!(ips.len() == 2 && v6(&ips[0]) && v4(&ips[1]), "{ips:?}");
    let (policy, families, ips) = fields("v6-only");
    assert_eq!(policy, "SingleStack");
    assert_eq!(families, ["IPv6"]);
    assert!(ips.len() == 1 && v6(&ips[0]), "{ips:?}");
    let (policy, families, ips) = fields("default-family");
    assert_eq!(policy, "SingleStack");
    assert_eq!(families, ["IPv4"]);
    assert!(ips.len() == 1 && v4(&ips[0]), "{ips:?}");
    // The CLUSTER-IP column shows the primary address; describe lists both.
    let t = rows(k.run(&["get", "svc"]).ok());
    assert!(v6(&row(&t, "require-dual-v6-first")[2]), "{t:?}");
    let d = k.run(&["describe", "svc", "prefer-dual"]);
    assert!(
        d.ok()
            .lines()
            .any(|l| l.starts_with("IP Families:") && l.ends_with("IPv4,IPv6")),
        "{}",
        d.stdout
    );
    // Upgrading a single-stack Service to PreferDualStack adds the second address.
    k.run(&[
        "patch",
        "svc",
        "default-family",
        "-p",
        r#"{"spec":{"ipFamilyPolicy":"PreferDualStack"}}"#,
    ])
    .ok();
    let (_, families, ips) = fields("default-family");
    assert_eq!(families, ["IPv4", "IPv6"]);
    assert!(ips.len() == 2 && v6(&ips[1]), "{ips:?}");
    // Deleting frees both addresses: a Service asking for the same ones gets them (both
    // fields: clusterIPs alone is refused, as upstream).
    let want = ips;
    k.run(&["delete", "svc", "default-family"]).ok();
    k.run_stdin(
        &["apply", "-f", "-"],
        &svc(
            "same-ips",
            &format!(
                "  ipFamilyPolicy: RequireDualStack\n  clusterIP: {}\n  clusterIPs:\n  - {}\n  - {}\n",
                want[0], want[0], want[1]
            ),
        ),
    )
    .ok();
    assert_eq!(fields("same-ips").2, want);

    // A cluster with only IPv4 refuses what it cannot give, with upstream's messages.
    let single = server();
    let Some(k4) = kubectl(&single) else { return };
    k4.run_stdin(
        &["apply", "-f", "-"],
        &svc("needs-dual", "  ipFamilyPolicy: RequireDualStack\n"),
    )
    .fails_with(
        r#"The Service "needs-dual" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services"#,
    );
    k4.run_stdin(
        &["apply", "-f", "-"],
        &svc("needs-v6", "  ipFamilies:\n  - IPv6\n"),
    )
    .fails_with(
        r#"The Service "needs-v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster"#,
    );
    k4.run(&["get", "svc", "needs-dual"])
        .fails_with("(NotFound)");
}
