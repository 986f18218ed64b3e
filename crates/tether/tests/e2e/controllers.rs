//! Controllers in `tether server`: garbage collection and namespace deletion.

use std::time::Duration;

use tether_testkit::wait_for;

use crate::{kubectl, server};

/// Waits up to 20 s for `f` to hold.
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    wait_for(Duration::from_secs(20), what, || f().then_some(()));
}

#[test]
fn deleting_a_namespace_deletes_what_is_in_it() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&["create", "namespace", "doomed"]).ok();
    k.run(&[
        "-n",
        "doomed",
        "create",
        "service",
        "clusterip",
        "a",
        "--tcp=80:80",
    ])
    .ok();
    k.run(&[
        "-n",
        "doomed",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ])
    .ok();
    k.run(&["-n", "doomed", "create", "deployment", "d", "--image=nginx"])
        .ok();
    // kubectl waits until the namespace is gone.
    let out = k.run(&["delete", "namespace", "doomed", "--timeout=30s"]);
    assert!(out.ok().contains(r#"namespace "doomed" deleted"#));
    k.run(&["get", "namespace", "doomed"])
        .fails_with("(NotFound)");
    let all = k.run(&["get", "svc,cm,deploy", "-A"]);
    assert!(!all.ok().contains("doomed"), "{}", all.stdout);
    // Creating in a deleted namespace is refused.
    let e = k.run(&["-n", "doomed", "create", "configmap", "x"]);
    e.fails_with(r#"namespaces "doomed" not found"#);
}

fn owned(k: &tether_testkit::Kubectl, owner: &str, dependent: &str) {
    k.run(&["create", "configmap", owner]).ok();
    let uid = k.run(&["get", "cm", owner, "-o", "jsonpath={.metadata.uid}"]);
    let uid = uid.ok().trim().to_owned();
    let manifest = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {dependent}\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: {owner}\n    uid: {uid}\n    blockOwnerDeletion: true\n"
    );
    k.run_stdin(&["apply", "-f", "-"], &manifest).ok();
}

#[test]
fn garbage_collection_background_foreground_orphan() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    owned(&k, "owner-bg", "dep-bg");
    k.run(&["delete", "cm", "owner-bg", "--cascade=background"])
        .ok();
    eventually("background deletion of the dependent", || {
        let out = k.run(&["get", "cm", "dep-bg"]);
        out.code != 0 && out.stderr.contains("(NotFound)")
    });

    owned(&k, "owner-fg", "dep-fg");
    // Foreground: kubectl waits for the owner, which goes only after its dependent.
    k.run(&[
        "delete",
        "cm",
        "owner-fg",
        "--cascade=foreground",
        "--timeout=30s",
    ])
    .ok();
    k.run(&["get", "cm", "dep-fg"]).fails_with("(NotFound)");

    owned(&k, "owner-or", "dep-or");
    k.run(&[
        "delete",
        "cm",
        "owner-or",
        "--cascade=orphan",
        "--timeout=30s",
    ])
    .ok();
    k.run(&["get", "cm", "owner-or"]).fails_with("(NotFound)");
    let refs = k.run(&[
        "get",
        "cm",
        "dep-or",
        "-o",
        "jsonpath={.metadata.ownerReferences}",
    ]);
    assert_eq!(
        refs.ok().trim(),
        "",
        "orphaned dependent keeps no owner reference"
    );
}

/// The managedFields entry of `kind/name` recorded under `subresource` (`Null` when none),
/// and the object's JSON for failure messages.
fn managed_entry(
    k: &tether_testkit::Kubectl,
    kind: &str,
    name: &str,
    subresource: &str,
) -> (serde_json::Value, String) {
    let out = k.run(&["get", kind, name, "--show-managed-fields", "-o", "json"]);
    let obj: serde_json::Value = serde_json::from_str(out.ok()).expect("object json");
    let entry = obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["subresource"] == subresource)
        .cloned()
        .unwrap_or_default();
    (entry, out.stdout)
}

fn set_pod_status(k: &tether_testkit::Kubectl, pod: &str, ip: &str, ready: bool) {
    let patch = format!(
        r#"{{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],"conditions":[{{"type":"Ready","status":"{}"}}]}}}}"#,
        if ready { "True" } else { "False" }
    );
    k.run(&[
        "patch",
        "pod",
        pod,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ])
    .ok();
}

#[test]
fn endpointslices_and_endpoints_follow_pods() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&["apply", "-f", &crate::fixture("named-port.yaml")])
        .ok();
    // A second pod whose named port maps to another number.
    k.run_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nginx2\n  labels:\n    app.kubernetes.io/name: proxy\nspec:\n  containers:\n  - name: nginx\n    image: nginx:stable\n    ports:\n    - containerPort: 8080\n      name: http-web-svc\n",
    )
    .ok();
    set_pod_status(&k, "nginx", "10.244.0.5", true);
    set_pod_status(&k, "nginx2", "10.244.0.6", false);
    // A write through /status is recorded with its subresource and owns status fields only.
    let (status_owner, json) = managed_entry(&k, "pod", "nginx", "status");
    assert_eq!(status_owner["manager"], "kubectl-patch", "{json}");
    assert_eq!(status_owner["operation"], "Update");
    let fields = &status_owner["fieldsV1"];
    assert!(fields["f:status"]["f:podIP"].is_object(), "{fields}");
    assert!(fields.get("f:spec").is_none(), "{fields}");
    eventually("endpoints of both pods", || {
        let out = k.run(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=nginx-service",
            "-o",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        let mut seen = Vec::new();
        for sl in v["items"].as_array().into_iter().flatten() {
            for e in sl["endpoints"].as_array().into_iter().flatten() {
                seen.push((
                    e["addresses"][0].as_str().unwrap_or("").to_owned(),
                    sl["ports"][0]["port"].as_i64().unwrap_or(0),
                    e["conditions"]["ready"].as_bool().unwrap_or(false),
                ));
            }
        }
        seen.sort();
        seen == [
            ("10.244.0.5".to_owned(), 80, true),
            ("10.244.0.6".to_owned(), 8080, false),
        ]
    });
    let ep = k.run(&["get", "endpoints", "nginx-service"]);
    assert!(ep.ok().contains("10.244.0.5:80"), "{}", ep.stdout);
    let d = k.run(&["describe", "svc", "nginx-service"]);
    assert!(d.ok().contains("10.244.0.5:80"), "{}", d.stdout);
    // The pod becomes not ready: it leaves the ready addresses.
    set_pod_status(&k, "nginx", "10.244.0.5", false);
    eventually("no ready endpoint", || {
        let out = k.run(&[
            "get",
            "endpoints",
            "nginx-service",
            "-o",
            "jsonpath={.subsets[*].addresses}",
        ]);
        out.code == 0 && out.stdout.trim().is_empty()
    });
    // The pod loses its label: it leaves the slices.
    k.run(&["label", "pod", "nginx", "app.kubernetes.io/name-"])
        .ok();
    eventually("pod removed from slices", || {
        let out = k.run(&[
            "get",
            "endpointslices",
            "-o",
            "jsonpath={.items[*].endpoints[*].addresses}",
        ]);
        out.code == 0 && !out.stdout.contains("10.244.0.5")
    });
    // The Service goes: its Endpoints go with it (upstream's syncService on NotFound), its
    // slices through their owner references.
    k.run(&["delete", "svc", "nginx-service"]).ok();
    eventually("Endpoints and slices of the deleted Service gone", || {
        let ep = k.run(&["get", "endpoints", "nginx-service"]);
        let sl = k.run(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=nginx-service",
            "-o",
            "name",
        ]);
        ep.code != 0
            && ep.stderr.contains("NotFound")
            && sl.code == 0
            && sl.stdout.trim().is_empty()
    });
}

#[test]
fn selectorless_service_endpoints_are_mirrored() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: my-service\nspec:\n  ports:\n  - name: http\n    protocol: TCP\n    port: 80\n    targetPort: 9376\n---\napiVersion: v1\nkind: Endpoints\nmetadata:\n  name: my-service\nsubsets:\n  - addresses:\n      - ip: 192.0.2.42\n    ports:\n      - port: 9376\n        name: http\n",
    )
    .ok();
    eventually("mirrored slice", || {
        let out = k.run(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=my-service",
            "-o",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        v["items"].as_array().is_some_and(|items| {
            items.len() == 1
                && items[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
                    == "endpointslicemirroring-controller.k8s.io"
                && items[0]["endpoints"][0]["addresses"][0] == "192.0.2.42"
                && items[0]["ports"][0]["port"] == 9376
        })
    });
}

/// Marks every pod of the namespace running and ready (no node agent in these tests).
fn make_pods_ready(k: &tether_testkit::Kubectl) {
    let names = k.run(&[
        "get",
        "pods",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}",
    ]);
    for line in names.stdout.lines() {
        let mut it = line.split_whitespace();
        let (Some(name), phase) = (it.next(), it.next()) else {
            continue;
        };
        if phase == Some("Running") {
            continue;
        }
        let patch = r#"{"status":{"phase":"Running","podIP":"10.244.0.9","podIPs":[{"ip":"10.244.0.9"}],"conditions":[{"type":"Ready","status":"True"}]}}"#;
        let _ = k.run(&[
            "patch",
            "pod",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            patch,
        ]);
    }
}

#[test]
fn deployments_roll_out_scale_and_roll_back() {
    let s = server();
    let Some(k) = kubectl(&s) else { return };
    k.run(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.26",
        "--replicas=3",
    ])
    .ok();
    eventually("3 pods", || {
        k.run(&["get", "pods", "-l", "app=web", "-o", "name"])
            .stdout
            .lines()
            .count()
            == 3
    });
    let drive = |what: &str| {
        eventually(what, || {
            make_pods_ready(&k);
            k.run(&["rollout", "status", "deploy/web", "--timeout=1s"])
                .code
                == 0
        });
    };
    drive("first rollout");
    let t = crate::rows(k.run(&["get", "deploy", "web"]).ok());
    assert_eq!(&crate::row(&t, "web")[1..4], ["3/3", "3", "3"]);
    // Scale.
    k.run(&["scale", "deploy", "web", "--replicas=5"]).ok();
    // The scale's field ownership is recorded under the scale subresource, as upstream.
    let (scale_owner, json) = managed_entry(&k, "deploy", "web", "scale");
    assert_eq!(scale_owner["manager"], "kubectl", "{json}");
    assert_eq!(
        scale_owner["fieldsV1"],
        serde_json::json!({"f:spec": {"f:replicas": {}}})
    );
    drive("scale to 5");
    assert_eq!(
        k.run(&["get", "pods", "-l", "app=web", "-o", "name"])
            .stdout
            .lines()
            .count(),
        5
    );
    // New image: a second ReplicaSet takes over, the first is scaled to 0.
    k.run(&["set", "image", "deploy/web", "nginx=nginx:1.27"])
        .ok();
    drive("rolling update");
    let rs = k.run(&["get", "rs", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.spec.replicas} {.metadata.annotations.deployment\\.kubernetes\\.io/revision}{\"\\n\"}{end}"]);
    let mut lines: Vec<&str> = rs.ok().lines().collect();
    lines.sort();
    assert_eq!(lines, ["0 1", "5 2"], "{}", rs.stdout);
    let hist = k.run(&["rollout", "history", "deploy/web"]);
    assert!(
        hist.ok().contains('1') && hist.stdout.contains('2'),
        "{}",
        hist.stdout
    );
    // Undo brings revision 1's template back as revision 3.
    k.run(&["rollout", "undo", "deploy/web"]).ok();
    drive("undo");
    let img = k.run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert_eq!(img.ok(), "nginx:1.26");
    let rev = k.run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    ]);
    assert_eq!(rev.ok(), "3");
    // `rollout restart` stamps the template: a new ReplicaSet, revision 4.
    k.run(&["rollout", "restart", "deploy/web"]).ok();
    drive("restart");
    let restarted = k.run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    ]);
    let (rev, at) = restarted.ok().split_once(' ').unwrap_or_default();
    assert_eq!(rev, "4", "{}", restarted.stdout);
    assert!(
        at.starts_with("20"),
        "restartedAt set: {}",
        restarted.stdout
    );
    // Deleting the deployment takes its ReplicaSets and pods with it.
    k.run(&["delete", "deploy", "web"]).ok();
    eventually("dependents collected", || {
        let out = k.run(&["get", "rs,pods", "-l", "app=web", "-o", "name"]);
        out.code == 0 && out.stdout.trim().is_empty()
    });
}
