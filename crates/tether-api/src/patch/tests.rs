//! Tests: the bodies kubectl sends, upstream's `patch_test.go` cases, the error answers, and
//! a never-panics property.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::schema::Ty;
use super::*;

fn smp(kind: &str, original: &Value, patch: &Value) -> Value {
    match strategic_merge_patch(kind, original, patch) {
        Ok(v) => v,
        Err(e) => panic!("patch {patch} failed: {e}"),
    }
}

fn smp_err(kind: &str, original: &Value, patch: &Value) -> PatchError {
    match strategic_merge_patch(kind, original, patch) {
        Ok(v) => panic!("patch {patch} should fail, gave {v}"),
        Err(e) => e,
    }
}

fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "6d7e6c42-6b8b-4f39-9c43-1f4b6b1f0e1a",
            "resourceVersion": "41",
            "labels": {"app": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"old\":true}\n"}
        },
        "spec": {
            "clusterIP": "10.96.0.10",
            "clusterIPs": ["10.96.0.10"],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}],
            "selector": {"app": "web"},
            "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    })
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 1},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}],
                            "imagePullPolicy": "IfNotPresent"
                        },
                        {"name": "sidecar", "image": "busybox", "args": ["sleep", "1d"]}
                    ],
                    "restartPolicy": "Always",
                    "tolerations": [{"key": "a", "operator": "Exists"}]
                }
            }
        },
        "status": {
            "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
            ]
        }
    })
}

// ---- the bodies kubectl sends (reference §1.5, §1.8, §1.9) ----

#[test]
fn kubectl_apply_service_adds_a_port() {
    let body = br#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}\n"}},"spec":{"$setElementOrder/ports":[{"port":80},{"port":443}],"ports":[{"name":"https","port":443,"targetPort":8443}]}}"#;
    let out = apply("Service", &service(), body, PatchType::StrategicMerge).unwrap();
    let mut want = service();
    want["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] =
        json!("{...}\n");
    want["spec"]["ports"] = json!([
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
        {"name": "https", "port": 443, "targetPort": 8443}
    ]);
    assert_eq!(out, want);
}

#[test]
fn kubectl_apply_service_orders_ports_as_set_element_order_says() {
    let mut svc = service();
    svc["spec"]["ports"] = json!([
        {"name": "http", "port": 80},
        {"name": "https", "port": 443}
    ]);
    let patch = json!({"spec": {
        "$setElementOrder/ports": [{"port": 443}, {"port": 8080}, {"port": 80}],
        "ports": [{"name": "alt", "port": 8080}]
    }});
    let out = smp("Service", &svc, &patch);
    let ports: Vec<i64> = out["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, vec![443, 8080, 80]);
}

#[test]
fn kubectl_apply_deployment_new_image() {
    // The observed body elides the annotation map as `{...}`; a real one is a string map.
    let body = br#"{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}\n"}},"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],"containers":[{"image":"nginx:1.27","name":"nginx"}]}}}}"#;
    let out = apply("Deployment", &deployment(), body, PatchType::StrategicMerge).unwrap();
    let mut want = deployment();
    want["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": "{...}\n"});
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    assert_eq!(out, want);
    // Container fields and the container the patch does not name stay, in place.
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][1]["name"],
        "sidecar"
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
}

#[test]
fn kubectl_set_image_on_the_second_container() {
    let body = br#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"},{"name":"sidecar"}],"containers":[{"image":"busybox:1.36","name":"sidecar"}]}}}}"#;
    let out = apply("Deployment", &deployment(), body, PatchType::StrategicMerge).unwrap();
    let c = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(c[0]["image"], "nginx:1.25");
    assert_eq!(
        c[1],
        json!({"name": "sidecar", "image": "busybox:1.36", "args": ["sleep", "1d"]})
    );
}

#[test]
fn kubectl_edit_changes_port_80_to_81() {
    let body = br#"{"spec":{"$setElementOrder/ports":[{"port":81}],"ports":[{"name":"http","port":81,"protocol":"TCP","targetPort":"http"},{"$patch":"delete","port":80}]}}"#;
    let out = apply("Service", &service(), body, PatchType::StrategicMerge).unwrap();
    assert_eq!(
        out["spec"]["ports"],
        json!([{"name": "http", "port": 81, "protocol": "TCP", "targetPort": "http"}])
    );
    let mut rest = out;
    rest["spec"]["ports"] = service()["spec"]["ports"].clone();
    assert_eq!(rest, service());
}

#[test]
fn kubectl_rollout_restart() {
    let body = br#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-24T11:23:00Z"}}}}}"#;
    let out = apply("Deployment", &deployment(), body, PatchType::StrategicMerge).unwrap();
    assert_eq!(
        out["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"}, "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-24T11:23:00Z"}})
    );
    // A second restart replaces the timestamp and keeps other annotations.
    let mut again = out;
    again["spec"]["template"]["metadata"]["annotations"]["other"] = json!("x");
    let body2 = br#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-25T08:00:00Z"}}}}}"#;
    let out2 = apply("Deployment", &again, body2, PatchType::StrategicMerge).unwrap();
    assert_eq!(
        out2["spec"]["template"]["metadata"]["annotations"],
        json!({"kubectl.kubernetes.io/restartedAt": "2026-11-25T08:00:00Z", "other": "x"})
    );
}

#[test]
fn kubectl_label_and_label_removal() {
    for ty in [PatchType::Merge, PatchType::StrategicMerge] {
        let out = apply(
            "Service",
            &service(),
            br#"{"metadata":{"labels":{"tier":"fe"}}}"#,
            ty,
        )
        .unwrap();
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "web", "tier": "fe"})
        );
        let out = apply(
            "Service",
            &out,
            br#"{"metadata":{"labels":{"app":null}}}"#,
            ty,
        )
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"tier": "fe"}));
        // Removing a label that is not there changes nothing.
        let same = apply(
            "Service",
            &out,
            br#"{"metadata":{"labels":{"nope":null}}}"#,
            ty,
        )
        .unwrap();
        assert_eq!(same, out);
    }
}

#[test]
fn kubectl_annotate_and_scale_merge_patches() {
    let out = apply(
        "Service",
        &service(),
        br#"{"metadata":{"annotations":{"a":"b"}}}"#,
        PatchType::Merge,
    )
    .unwrap();
    assert_eq!(out["metadata"]["annotations"]["a"], "b");
    assert!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );
    let out = apply(
        "Deployment",
        &deployment(),
        br#"{"spec":{"replicas":3}}"#,
        PatchType::Merge,
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
}

#[test]
fn kubectl_rollout_undo_json_patch() {
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]}});
    let body = serde_json::to_vec(&json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "1"}}
    ]))
    .unwrap();
    let mut d = deployment();
    d["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "2"});
    let out = apply("Deployment", &d, &body, PatchType::Json).unwrap();
    assert_eq!(out["spec"]["template"], template);
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "1"})
    );
}

#[test]
fn json_patch_operations() {
    let doc = json!({"a": {"b": [1, 2]}, "c": "x"});
    let p = json!([
        {"op": "add", "path": "/a/b/-", "value": 3},
        {"op": "test", "path": "/c", "value": "x"},
        {"op": "move", "from": "/c", "path": "/d"},
        {"op": "copy", "from": "/a/b/0", "path": "/e"},
        {"op": "remove", "path": "/a/b/1"}
    ]);
    assert_eq!(
        json_patch(&doc, &p).unwrap(),
        json!({"a": {"b": [1, 3]}, "d": "x", "e": 1})
    );
    assert_eq!(json_patch(&doc, &json!(null)).unwrap(), doc);
    assert_eq!(json_patch(&doc, &json!([])).unwrap(), doc);
}

#[test]
fn content_types() {
    use PatchType as T;
    assert_eq!(
        T::from_content_type("application/json-patch+json"),
        Some(T::Json)
    );
    assert_eq!(
        T::from_content_type("application/merge-patch+json; charset=utf-8"),
        Some(T::Merge)
    );
    assert_eq!(
        T::from_content_type("application/strategic-merge-patch+json;charset=UTF-8"),
        Some(T::StrategicMerge)
    );
    assert_eq!(
        T::from_content_type(" Application/Merge-Patch+JSON "),
        Some(T::Merge)
    );
    assert_eq!(T::from_content_type("application/apply-patch+yaml"), None);
    assert_eq!(T::from_content_type("application/json"), None);
    assert_eq!(T::from_content_type(""), None);
    for t in [T::Json, T::Merge, T::StrategicMerge] {
        assert_eq!(T::from_content_type(t.content_type()), Some(t));
        assert!(PATCH_CONTENT_TYPES.contains(&t.content_type()));
    }
}

// ---- per-kind merge keys ----

fn pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "finalizers": ["a.example/x", "b.example/y"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": true}]
        },
        "spec": {
            "containers": [{
                "name": "app",
                "image": "app:1",
                "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "envFrom": [{"configMapRef": {"name": "one"}}]
            }],
            "initContainers": [{"name": "init", "image": "init:1"}],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "imagePullSecrets": [{"name": "reg"}],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "readinessGates": [{"conditionType": "x"}]
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}],
            "podIPs": [{"ip": "10.244.0.5"}]
        }
    })
}

#[test]
fn pod_container_lists_merge_by_their_keys() {
    let patch = json!({"spec": {"containers": [{
        "name": "app",
        "ports": [{"containerPort": 443, "name": "tls"}, {"containerPort": 8080}],
        "env": [{"name": "B", "value": "3"}, {"name": "A", "$patch": "delete"}],
        "volumeMounts": [{"mountPath": "/data", "readOnly": true}],
        "envFrom": [{"secretRef": {"name": "two"}}]
    }]}});
    let out = smp("Pod", &pod(), &patch);
    let c = &out["spec"]["containers"][0];
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "tls"}, {"containerPort": 8080}])
    );
    assert_eq!(c["env"], json!([{"name": "B", "value": "3"}]));
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "data", "mountPath": "/data", "readOnly": true}])
    );
    // envFrom has no patch strategy: replaced.
    assert_eq!(c["envFrom"], json!([{"secretRef": {"name": "two"}}]));
    assert_eq!(c["image"], "app:1");
}

#[test]
fn pod_spec_lists() {
    let patch = json!({"spec": {
        "initContainers": [{"name": "init2", "image": "init:2"}],
        "imagePullSecrets": [{"name": "reg2"}],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
        "tolerations": [{"key": "other", "operator": "Exists"}],
        "readinessGates": [{"conditionType": "y"}]
    }});
    let out = smp("Pod", &pod(), &patch);
    let s = &out["spec"];
    // Without $setElementOrder, items new to the list come first (upstream mergeSortedSlice).
    assert_eq!(
        s["initContainers"],
        json!([{"name": "init2", "image": "init:2"}, {"name": "init", "image": "init:1"}])
    );
    assert_eq!(
        s["imagePullSecrets"],
        json!([{"name": "reg2"}, {"name": "reg"}])
    );
    // hostnames has no strategy inside the merged hostAlias: replaced.
    assert_eq!(
        s["hostAliases"],
        json!([{"ip": "10.0.0.1", "hostnames": ["b"]}])
    );
    assert_eq!(
        s["tolerations"],
        json!([{"key": "other", "operator": "Exists"}])
    );
    assert_eq!(s["readinessGates"], json!([{"conditionType": "y"}]));
}

#[test]
fn volume_source_switch_with_retain_keys() {
    // What kubectl apply sends when a volume changes from emptyDir to configMap.
    let patch = json!({"spec": {
        "$setElementOrder/volumes": [{"name": "data"}],
        "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "name": "data"}]
    }});
    let out = smp("Pod", &pod(), &patch);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cm"}}])
    );
}

#[test]
fn deployment_strategy_switch_with_retain_keys() {
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}});
    let out = smp("Deployment", &deployment(), &patch);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn object_meta_finalizers_and_owner_references() {
    let out = smp(
        "Pod",
        &pod(),
        &json!({"metadata": {"finalizers": ["b.example/y", "c.example/z"]}}),
    );
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["a.example/x", "b.example/y", "c.example/z"])
    );
    let out = smp(
        "Pod",
        &out,
        &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/x", "nope"]}}),
    );
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["b.example/y", "c.example/z"])
    );
    // `null` removes the whole list, as controllers do when dropping the last finalizer.
    let out = smp("Pod", &out, &json!({"metadata": {"finalizers": null}}));
    assert!(out["metadata"].get("finalizers").is_none());

    let out = smp(
        "Pod",
        &pod(),
        &json!({"metadata": {"ownerReferences": [
            {"uid": "u1", "blockOwnerDeletion": true},
            {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u2"}
        ]}}),
    );
    let owners = &out["metadata"]["ownerReferences"];
    assert_eq!(owners[0]["name"], "rs");
    assert_eq!(owners[0]["blockOwnerDeletion"], true);
    assert_eq!(owners[1]["uid"], "u2");
}

#[test]
fn finalizers_merge_in_every_kind_even_unknown_ones() {
    for kind in ["ConfigMap", "Namespace", "Service", "Widget"] {
        let obj = json!({"metadata": {"name": "x", "finalizers": ["a"]}});
        let out = smp(kind, &obj, &json!({"metadata": {"finalizers": ["b"]}}));
        // New items first, as upstream does without $setElementOrder.
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]), "{kind}");
    }
}

#[test]
fn pod_status_conditions_merge_by_type() {
    // What a kubelet-style status patch looks like.
    let patch = json!({"status": {
        "$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}],
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "podIPs": [{"ip": "fd00::5"}]
    }});
    let out = smp("Pod", &pod(), &patch);
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "PodScheduled", "status": "True"}
        ])
    );
    assert_eq!(
        out["status"]["podIPs"],
        json!([{"ip": "fd00::5"}, {"ip": "10.244.0.5"}])
    );
}

#[test]
fn node_status_and_spec() {
    let node = json!({
        "metadata": {"name": "n1"},
        "spec": {"podCIDRs": ["10.244.1.0/24"], "taints": [{"key": "a", "effect": "NoSchedule"}]},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "MemoryPressure", "status": "False"}]
        }
    });
    let patch = json!({
        "spec": {"podCIDRs": ["fd00:10:244:1::/64"], "taints": []},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "192.168.1.11"}],
            "conditions": [{"type": "Ready", "status": "True"}]
        }
    });
    let out = smp("Node", &node, &patch);
    assert_eq!(
        out["spec"]["podCIDRs"],
        json!(["fd00:10:244:1::/64", "10.244.1.0/24"])
    );
    assert_eq!(out["spec"]["taints"], json!([]));
    assert_eq!(
        out["status"]["addresses"],
        json!([{"type": "InternalIP", "address": "192.168.1.11"}, {"type": "Hostname", "address": "n1"}])
    );
    assert_eq!(
        out["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "False"}])
    );
}

#[test]
fn workload_and_namespace_conditions_merge_by_type() {
    let patch = json!({"status": {"conditions": [{"type": "Progressing", "status": "False"}]}});
    for kind in ["Deployment", "ReplicaSet"] {
        let out = smp(kind, &deployment(), &patch);
        assert_eq!(
            out["status"]["conditions"][0]["type"], "Available",
            "{kind}"
        );
        assert_eq!(
            out["status"]["conditions"][1],
            json!({"type": "Progressing", "status": "False", "reason": "NewReplicaSetAvailable"})
        );
    }
    let ns = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Terminating", "conditions": [{"type": "NamespaceDeletionDiscoveryFailure", "status": "False"}]}});
    let out = smp(
        "Namespace",
        &ns,
        &json!({"spec": {"finalizers": []}, "status": {"conditions": [{"type": "NamespaceContentRemaining", "status": "True"}]}}),
    );
    // Namespace spec.finalizers is untagged: replaced.
    assert_eq!(out["spec"]["finalizers"], json!([]));
    assert_eq!(out["status"]["conditions"].as_array().unwrap().len(), 2);
}

#[test]
fn untagged_kinds_replace_lists_and_merge_maps() {
    let eps = json!({"metadata": {"name": "web"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]});
    let out = smp(
        "Endpoints",
        &eps,
        &json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}),
    );
    assert_eq!(out["subsets"], json!([{"addresses": [{"ip": "10.0.0.2"}]}]));

    let slice = json!({"metadata": {"name": "web-abc"}, "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"port": 80}]});
    let out = smp(
        "EndpointSlice",
        &slice,
        &json!({"endpoints": [{"addresses": ["10.0.0.2"]}]}),
    );
    assert_eq!(out["endpoints"], json!([{"addresses": ["10.0.0.2"]}]));
    assert_eq!(out["ports"], json!([{"port": 80}]));

    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    let out = smp("ConfigMap", &cm, &json!({"data": {"b": null, "c": "3"}}));
    assert_eq!(out["data"], json!({"a": "1", "c": "3"}));

    let widget = json!({"metadata": {"name": "w"}, "spec": {"items": [{"name": "a", "x": 1}]}});
    let out = smp(
        "Widget",
        &widget,
        &json!({"spec": {"items": [{"name": "b"}]}}),
    );
    assert_eq!(out["spec"]["items"], json!([{"name": "b"}]));
    assert!(!supports_strategic_merge("Widget"));
    for kind in [
        "Service",
        "Pod",
        "Deployment",
        "ReplicaSet",
        "Endpoints",
        "EndpointSlice",
        "Namespace",
        "Node",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Event",
        "Lease",
    ] {
        assert!(supports_strategic_merge(kind), "{kind}");
    }
}

#[test]
fn service_account_secrets_merge_by_name() {
    let sa = json!({"metadata": {"name": "sa"}, "secrets": [{"name": "s1"}]});
    let out = smp("ServiceAccount", &sa, &json!({"secrets": [{"name": "s2"}]}));
    assert_eq!(out["secrets"], json!([{"name": "s2"}, {"name": "s1"}]));
    // With $setElementOrder (what kubectl apply sends) the order is the client's.
    let out = smp(
        "ServiceAccount",
        &sa,
        &json!({"$setElementOrder/secrets": [{"name": "s1"}, {"name": "s2"}], "secrets": [{"name": "s2"}]}),
    );
    assert_eq!(out["secrets"], json!([{"name": "s1"}, {"name": "s2"}]));
}

#[test]
fn map_and_list_directives() {
    let svc = service();
    // $patch: replace on a map keeps only what the patch says.
    let out = smp(
        "Service",
        &svc,
        &json!({"spec": {"selector": {"$patch": "replace", "app": "v2"}}}),
    );
    assert_eq!(out["spec"]["selector"], json!({"app": "v2"}));
    // $patch: delete on a map empties it.
    let out = smp(
        "Service",
        &svc,
        &json!({"metadata": {"labels": {"$patch": "delete"}}}),
    );
    assert_eq!(out["metadata"]["labels"], json!({}));
    // $patch: replace in a merge list replaces the list.
    let out = smp(
        "Service",
        &svc,
        &json!({"spec": {"ports": [{"$patch": "replace"}, {"port": 8080, "name": "alt"}]}}),
    );
    assert_eq!(out["spec"]["ports"], json!([{"port": 8080, "name": "alt"}]));
    // A whole-object $patch: replace.
    let out = smp(
        "Service",
        &svc,
        &json!({"$patch": "replace", "kind": "Service"}),
    );
    assert_eq!(out, json!({"kind": "Service"}));
    // A directive map for a field the object lacks adds nothing (upstream removeDirectives).
    let out = smp(
        "Service",
        &svc,
        &json!({"spec": {"externalIPs": [{"$patch": "delete"}], "sessionAffinityConfig": {"$patch": "replace", "x": 1}}}),
    );
    assert_eq!(out["spec"]["externalIPs"], json!([]));
    assert!(out["spec"].get("sessionAffinityConfig").is_none());
}

#[test]
fn nulls() {
    let svc = service();
    let out = smp(
        "Service",
        &svc,
        &json!({"spec": {"selector": null, "nope": null}}),
    );
    assert!(out["spec"].get("selector").is_none());
    assert!(out["spec"].get("nope").is_none());
    // Nulls inside new values are dropped (upstream TestUnknownField "add only not nulls").
    let out = smp(
        "Service",
        &svc,
        &json!({"spec": {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": null}, "x": null}}}),
    );
    assert_eq!(
        out["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {}})
    );
    // The empty patch and the null patch change nothing.
    assert_eq!(smp("Service", &svc, &json!({})), svc);
    assert_eq!(smp("Service", &svc, &json!(null)), svc);
}

#[test]
fn key_order_of_the_object_is_kept() {
    let out = smp(
        "Service",
        &service(),
        &json!({"spec": {"type": "NodePort", "allocateLoadBalancerNodePorts": true}}),
    );
    let keys: Vec<&String> = out["spec"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "clusterIP",
            "clusterIPs",
            "ports",
            "selector",
            "type",
            "allocateLoadBalancerNodePorts"
        ]
    );
}

/// Upstream `TestUnknownField` patch applications (fields without schema: maps merge, nulls
/// discarded in new values, nulls in the original kept).
#[test]
fn upstream_unknown_field_cases() {
    let cases = [
        (
            r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}"#,
            r#"{"complex_nullable":{"key":null}}"#,
            r#"{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{},"name":"foo","scalar":true}"#,
        ),
        (
            r#"{"array":[1,2,3],"complex":{"nested":true},"name":"foo","scalar":true}"#,
            r#"{"complex_nullable":{"key":{"keynotnull":"value","keynull":null}}}"#,
            r#"{"array":[1,2,3],"complex":{"nested":true},"complex_nullable":{"key":{"keynotnull":"value"}},"name":"foo","scalar":true}"#,
        ),
        (
            r#"{}"#,
            r#"{"complex":{"nested":null}}"#,
            r#"{"complex":{}}"#,
        ),
        (
            r#"{"thing":null}"#,
            r#"{"nested":{"value":5}}"#,
            r#"{"nested":{"value":5},"thing":null}"#,
        ),
        (
            r#"{"complex":{"key":null},"thing":null}"#,
            r#"{"nested":{"value":5}}"#,
            r#"{"complex":{"key":null},"nested":{"value":5},"thing":null}"#,
        ),
        (
            r#"{}"#,
            r#"{"complex_nullable":[{"inner_one":{"key_one":"foo","key_two":null}}]}"#,
            r#"{"complex_nullable":[{"inner_one":{"key_one":"foo"}}]}"#,
        ),
        (
            r#"{}"#,
            r#"{"complex_nullable":["key1",null,"key2"]}"#,
            r#"{"complex_nullable":["key1",null,"key2"]}"#,
        ),
        (
            r#"{"name":"foo","scalar":true,"complex":{"nested":true}}"#,
            r#"{"complex":null,"scalar":null}"#,
            r#"{"name":"foo"}"#,
        ),
        (
            r#"{"name":"foo","jsonItem":{"nested":{"nested2":{"nested3":{}}}}}"#,
            r#"{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}}}"#,
            r#"{"jsonItem":{"nested":{"nested2":{"nested3":{"a":"b"}}}},"name":"foo"}"#,
        ),
    ];
    for (original, patch, want) in cases {
        let o: Value = serde_json::from_str(original).unwrap();
        let p: Value = serde_json::from_str(patch).unwrap();
        let w: Value = serde_json::from_str(want).unwrap();
        assert_eq!(smp("Widget", &o, &p), w, "{patch}");
    }
}

// ---- errors, as upstream answers them ----

#[test]
fn error_answers() {
    let svc = service();
    let e = apply("Service", &svc, b"{not json", PatchType::StrategicMerge).unwrap_err();
    assert_eq!(
        (e.code(), e.reason(), e.status_message().as_str()),
        (400, "BadRequest", "invalid JSON patch")
    );
    assert_eq!(
        apply("Service", &svc, b"", PatchType::Json).unwrap_err(),
        PatchError::InvalidJson
    );

    let e = apply("Service", &svc, br#"{"op":"add"}"#, PatchType::Json).unwrap_err();
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.to_string(),
        "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
    );
    let e = apply("Service", &svc, b"[1]", PatchType::Json).unwrap_err();
    assert_eq!(
        e.to_string(),
        "json: cannot unmarshal number into Go value of type jsonpatch.Operation"
    );

    for body in [
        &br#"[{"op":"remove","path":"/spec/nope"}]"#[..],
        br#"[{"op":"frobnicate","path":"/spec"}]"#,
        br#"[{"op":"test","path":"/spec/type","value":"NodePort"}]"#,
        br#"[{"op":"add","path":"spec"}]"#,
    ] {
        let e = apply("Service", &svc, body, PatchType::Json).unwrap_err();
        assert!(matches!(e, PatchError::JsonPatchApply(_)), "{e:?}");
        assert_eq!((e.code(), e.reason()), (422, "Invalid"));
        assert_eq!(
            e.status_message(),
            "the server rejected our request due to an error in our request"
        );
    }

    let ops: Vec<Value> = (0..=MAX_JSON_PATCH_OPERATIONS)
        .map(|_| json!({"op": "test", "path": "/kind", "value": "Service"}))
        .collect();
    let e = json_patch(&svc, &Value::Array(ops)).unwrap_err();
    assert_eq!((e.code(), e.reason()), (413, "RequestEntityTooLarge"));
    assert_eq!(
        e.status_message(),
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    );

    for body in [&b"[1]"[..], b"null", b"\"x\"", b"3"] {
        let e = apply("Service", &svc, body, PatchType::Merge).unwrap_err();
        assert_eq!(
            (e.code(), e.status_message().as_str()),
            (400, "Invalid JSON Patch")
        );
    }

    let e = apply("Service", &svc, b"[1]", PatchType::StrategicMerge).unwrap_err();
    assert_eq!(e.code(), 400);
    assert_eq!(
        e.to_string(),
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
}

#[test]
fn strategic_merge_error_texts() {
    let svc = service();
    let case = |patch: Value| smp_err("Service", &svc, &patch);

    let e = case(json!({"spec": {"ports": [{"$patch": "foo", "port": 80}]}}));
    assert_eq!((e.code(), e.reason()), (500, ""));
    assert_eq!(
        e.status_message(),
        "unknown patch type: foo in map: map[$patch:foo port:80]"
    );

    let e = case(json!({"spec": {"ports": [{"name": "a"}]}}));
    assert_eq!(
        e.to_string(),
        "map: map[name:a] does not contain declared merge key: port"
    );

    let e = case(json!({"spec": {"$patch": "merge"}}));
    assert_eq!(
        e.to_string(),
        "unknown patch type: merge in map: map[$patch:merge]"
    );
    let e = case(json!({"spec": {"$patch": true}}));
    assert_eq!(
        e.to_string(),
        "unknown patch type: %!s(bool=true) in map: map[$patch:true]"
    );

    let e = case(json!({"spec": {"ports": [{"$patch": "merge"}]}}));
    assert_eq!(
        e.to_string(),
        "merging lists cannot yet be specified in the patch"
    );

    let e = case(json!({"spec": {"$setElementOrder": [{"port": 80}]}}));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (400, "invalid patch format of setElementOrder list")
    );
    let e = case(json!({"spec": {"$setElementOrder/ports": "x"}}));
    assert_eq!(
        e.to_string(),
        "expected a []interface {}, but received a string"
    );
    let e = case(
        json!({"spec": {"$setElementOrder/ports": [{"port": 81}, {"port": 80}], "ports": [{"port": 80}, {"port": 81}]}}),
    );
    assert!(e.to_string().starts_with("The order in patch list:\n[map[port:80] map[port:81]]\n doesn't match $setElementOrder list:\n"), "{e}");

    let e = case(json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}}));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (400, "invalid patch format of primitive list")
    );

    let e = case(json!({"spec": {"$retainKeys": "type"}}));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (400, "invalid patch format of retainKeys")
    );
    let e = case(json!({"spec": {"$retainKeys": ["type"], "ports": [{"port": 80}]}}));
    assert_eq!(e.code(), 400);

    let e = smp_err(
        "Service",
        &json!({"metadata": {"finalizers": []}}),
        &json!({"metadata": {"finalizers": [["a"]]}}),
    );
    assert_eq!((e.code(), e.reason()), (422, "Invalid"));
    assert_eq!(e.to_string(), "lists of lists are not supported");
    assert_eq!(
        e.status_message(),
        "the server rejected our request due to an error in our request"
    );
    let with_finalizers = json!({"metadata": {"finalizers": ["x"]}});
    let e = smp_err(
        "Service",
        &with_finalizers,
        &json!({"metadata": {"finalizers": ["a", 1]}}),
    );
    assert_eq!(
        e.to_string(),
        "list element types are not identical: [[x] [a 1]]"
    );
    let e = smp_err(
        "Service",
        &with_finalizers,
        &json!({"metadata": {"finalizers": [null]}}),
    );
    assert_eq!(e.code(), 500);

    let e = smp_err("Service", &json!([1]), &json!({}));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (400, "invalid JSON document")
    );
}

// ---- server-side apply merge ----

#[test]
fn apply_merge_merges_the_configuration_into_the_live_object() {
    let applied = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.27"},
                    {"name": "log", "image": "fluent-bit"}
                ]}
            }
        }
    });
    let out = apply_merge("Deployment", &deployment(), &applied).unwrap();
    assert_eq!(
        out["spec"]["replicas"], 2,
        "fields the configuration omits stay"
    );
    assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
    let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nginx", "log", "sidecar"]);
    let nginx = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(nginx["image"], "nginx:1.27");
    assert_eq!(nginx["ports"][0]["containerPort"], 80);

    let out = apply_merge("Deployment", &out, &json!({"spec": {"replicas": null}})).unwrap();
    assert!(out["spec"].get("replicas").is_none());

    let created = apply_merge("Deployment", &Value::Null, &applied).unwrap();
    assert_eq!(created, applied);
}

#[test]
fn apply_merge_refuses_directives() {
    let applied = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 80, "$patch": "delete"}]}});
    let e = apply_merge("Service", &service(), &applied).unwrap_err();
    assert_eq!(
        e.to_string(),
        "failed to create typed patch object (default/web; /v1, Kind=Service): .spec.ports.$patch: field not declared in schema"
    );
    assert_eq!(e.code(), 500);
}

// ---- upstream patch_test.go ----

fn merge_item(original: &Value, patch: &Value) -> Result<Value, String> {
    let o = original.as_object().cloned().unwrap_or_default();
    let p = patch.as_object().cloned().unwrap_or_default();
    smp::strategic_merge(o, p, Ty::MergeItem)
        .map(Value::Object)
        .map_err(|e| e.message)
}

#[test]
fn upstream_patch_test_cases() {
    for (name, original, patch, want) in UPSTREAM_CASES {
        let original: Value = serde_json::from_str(original).unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        let got = merge_item(&original, &patch);
        match want.strip_prefix("error: ") {
            Some(err) => match got {
                Err(e) => assert!(e.contains(err), "{name}: error {e:?} lacks {err:?}"),
                Ok(v) => panic!("{name}: expected an error, got {v}"),
            },
            None => {
                let want: Value = serde_json::from_str(want).unwrap();
                assert_eq!(got.as_ref(), Ok(&want), "{name}");
            }
        }
    }
}

// ---- never panic ----

#[test]
fn deeply_nested_bodies() {
    // serde_json refuses more than 128 levels; just under that must work for every type.
    let depth = 120;
    let nested = |leaf: &str| format!("{}{leaf}{}", r#"{"spec":"#.repeat(depth), "}".repeat(depth));
    let original: Value = serde_json::from_str(&nested("1")).unwrap();
    let patch = nested(r#"{"x":[{"$patch":"delete"}]}"#);
    for ty in [PatchType::Merge, PatchType::StrategicMerge] {
        assert!(apply("Widget", &original, patch.as_bytes(), ty).is_ok());
    }
    let too_deep = nested(&nested("1"));
    assert_eq!(
        apply(
            "Widget",
            &original,
            too_deep.as_bytes(),
            PatchType::StrategicMerge
        ),
        Err(PatchError::InvalidJson)
    );
    let lists = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let body = format!(r#"{{"metadata":{{"finalizers":{lists}}}}}"#);
    let e = apply("Pod", &pod(), body.as_bytes(), PatchType::StrategicMerge).unwrap_err();
    assert_eq!(e.code(), 500);
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$patch".to_owned()),
        Just("$retainKeys".to_owned()),
        Just("$setElementOrder/ports".to_owned()),
        Just("$setElementOrder/containers".to_owned()),
        Just("$setElementOrder/finalizers".to_owned()),
        Just("$setElementOrder".to_owned()),
        Just("$deleteFromPrimitiveList/finalizers".to_owned()),
        Just("$deleteFromPrimitiveList/ports".to_owned()),
        Just("$deleteFromPrimitiveList".to_owned()),
        Just("metadata".to_owned()),
        Just("finalizers".to_owned()),
        Just("ownerReferences".to_owned()),
        Just("uid".to_owned()),
        Just("spec".to_owned()),
        Just("template".to_owned()),
        Just("containers".to_owned()),
        Just("ports".to_owned()),
        Just("port".to_owned()),
        Just("name".to_owned()),
        Just("env".to_owned()),
        Just("type".to_owned()),
        "[a-z]{1,3}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..300).prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        prop_oneof![
            Just("delete"),
            Just("replace"),
            Just("merge"),
            Just("a"),
            Just("ports")
        ]
        .prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Objects without directives, lists or `metadata`.
fn plain_object() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        (-3i64..3).prop_map(Value::from),
        "[a-c]".prop_map(Value::from)
    ];
    let value = leaf.prop_recursive(4, 24, 4, |inner| {
        prop::collection::vec(("[a-z]{1,2}|spec|ports|name", inner), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect()))
    });
    prop::collection::vec(("[a-z]{1,2}|spec|ports|name", value), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

fn kind() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("Service"),
        Just("Pod"),
        Just("Deployment"),
        Just("Node"),
        Just("Widget")
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn patches_never_panic(kind in kind(), original in object(), patch in json_value()) {
        let body = serde_json::to_vec(&patch).unwrap();
        for ty in [PatchType::Json, PatchType::Merge, PatchType::StrategicMerge] {
            let _ = apply(kind, &original, &body, ty);
        }
        let _ = apply_merge(kind, &original, &patch);
        if let Ok(out) = strategic_merge_patch(kind, &original, &patch) {
            prop_assert!(out.is_object());
        }
    }

    #[test]
    fn json_patch_ops_never_panic(
        original in object(),
        ops in prop::collection::vec(
            (prop_oneof![Just("add"), Just("remove"), Just("replace"), Just("move"), Just("copy"), Just("test"), Just("x")],
             prop_oneof![Just(""), Just("/"), Just("/spec"), Just("/spec/ports/0"), Just("/spec/ports/-"), Just("/a/b"), Just("/spec/-1"), Just("x")],
             json_value()),
            0..6,
        ),
    ) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, value)| json!({"op": op, "path": path, "from": path, "value": value}))
            .collect();
        let _ = json_patch(&original, &Value::Array(ops));
    }

    /// Without directives, list values or metadata, a strategic merge patch of an untagged
    /// kind is a JSON merge patch.
    #[test]
    fn smp_without_lists_is_a_merge_patch(original in object(), patch in plain_object()) {
        prop_assert_eq!(smp("Widget", &original, &patch), merge_patch(&original, &patch));
    }

    /// The empty patch is the identity.
    #[test]
    fn empty_patch_is_identity(kind in kind(), original in object()) {
        prop_assert_eq!(smp(kind, &original, &json!({})), original);
    }
}

/// Cases ported from upstream `k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go`
/// (kubernetes/apimachinery eed236ce, July 2026), each named after its table and description:
/// (description, original, patch, expected result or `error: <substring>`). They use
/// upstream's test struct `MergeItem` ([`Ty::MergeItem`]). Lists compare in order.
const UPSTREAM_CASES: &[(&str, &str, &str, &str)] = &[
    (
        r#"customStrategicMergePatchRawTestCases: $setElementOrder contains item that is not present in the list to be merged (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":3},{"name":2},{"name":1}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
        r#"{"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $setElementOrder contains item that is not present in the int list to be merged (TwoWay)"#,
        r#"{"mergingIntList":[1,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,2,1]}"#,
        r#"{"mergingIntList":[3,1]}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: should check if order in $setElementOrder and patch list match (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
        r#"error: doesn't match"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $setElementOrder contains item that is not present in the int list to be merged (TwoWay)"#,
        r#"{"mergingIntList":[1,3,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3,1]}"#,
        r#"error: doesn't match"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: missing merge key should error out (TwoWay)"#,
        r#"{"mergingList":[{"name":1,"value":"a"}]}"#,
        r#"{"mergingList":[{"value":"b"}]}"#,
        r#"error: does not contain declared merge key"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $deleteFromPrimitiveList of nonexistent item in primitive list should not add the item to the list (TwoWay)"#,
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2]}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $deleteFromPrimitiveList on empty primitive list should not add the item to the list (TwoWay)"#,
        r#"{"mergingIntList":null}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":null}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $deleteFromPrimitiveList on nonexistent primitive list should not add the primitive list (TwoWay)"#,
        r#"{"foo":["bar"]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"foo":["bar"]}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $deleteFromPrimitiveList should delete item from a list with merge patch strategy (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$deleteFromPrimitiveList/mergingIntList":[2]}"#,
        r#"{"mergingIntList":[1,3]}"#,
    ),
    (
        r#"customStrategicMergePatchRawTestCases: $deleteFromPrimitiveList should delete item from a list without merge patch strategy (TwoWay)"#,
        r#"{"nonMergingIntList":[1,2,3]}"#,
        r#"{"$deleteFromPrimitiveList/nonMergingIntList":[2]}"#,
        r#"{"nonMergingIntList":[1,3]}"#,
    ),
    (
        r#"customStrategicMergePatchTestCaseData: delete map from nested map (TwoWay)"#,
        r#"{"simpleMap":{"key1":1,"key2":1}}"#,
        r#"{"simpleMap":{"$patch":"delete"}}"#,
        r#"{"simpleMap":{}}"#,
    ),
    (
        r#"customStrategicMergePatchTestCaseData: delete all items from merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"mergingList":[{"$patch":"replace"}]}"#,
        r#"{"mergingList":[]}"#,
    ),
    (
        r#"customStrategicMergePatchTestCaseData: delete all keys from map (TwoWay)"#,
        r#"{"name":1,"value":1}"#,
        r#"{"$patch":"replace"}"#,
        r#"{}"#,
    ),
    (
        r#"customStrategicMergePatchTestCaseData: add key and delete all keys from map (TwoWay)"#,
        r#"{"name":1,"value":1}"#,
        r#"{"other":"a","$patch":"replace"}"#,
        r#"{"other":"a"}"#,
    ),
    (
        r#"customStrategicMergePatchTestCaseData: delete all duplicate entries in a merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":1},{"name":2,"value":"a"},{"name":3},{"name":3}]}"#,
        r#"{"mergingList":[{"name":1,"$patch":"delete"},{"name":3,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"value":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: nested patch merge with empty list (TwoWay)"#,
        r#"{"name":"hi"}"#,
        r#"{"mergingList":[{"name":"hello"},{"$patch":"delete","name":"doesntexist"}]}"#,
        r#"{"name":"hi","mergingList":[{"name":"hello"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: nested patch merge with empty list (ThreeWay)"#,
        r#"{"name":"hi","mergingList":[{"name":"hello2"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":"hello"},{"name":"doesntexist"}],"mergingList":[{"name":"hello"}]}"#,
        r#"{"name":"hi","mergingList":[{"name":"hello"},{"name":"hello2"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete items in lists of scalars (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete items in lists of scalars (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2,4]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete all duplicate items in lists of scalars (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete all duplicate items in lists of scalars (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,3,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2,4]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add and delete items in lists of scalars (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3],"mergingIntList":[4]}"#,
        r#"{"mergingIntList":[1,2,4]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add and delete items in lists of scalars (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,4],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2,4]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: merge lists of maps (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":1},{"name":2,"value":2},{"name":3,"value":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: merge lists of maps (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":4,"value":4},{"name":3,"value":3}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add duplicate field to map in merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":1}]}"#,
        r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add duplicate field to map in merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{}"#,
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add an item that already exists in current object in merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1,"value":"a"},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2},{"name":3}],"mergingList":[{"name":3}]}"#,
        r#"{"mergingList":[{"name":1,"value":"a"},{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add an item that already exists in current object in merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"value":"a","other":"x"},{"name":2},{"name":3}]}"#,
        r#"{}"#,
        r#"{"mergingList":[{"name":1,"value":"a","other":"x"},{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete map from merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete map from merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete missing map from merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete missing map from merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2}],"mergingList":[{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map and delete map from merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map and delete map from merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"other":"b"},{"name":4,"other":"c"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"other":"b"},{"name":4,"other":"c"},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map and delete map from merging list with conflict (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":3},{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map and delete map from merging list with conflict (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":4,"other":"c"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":3}],"mergingList":[{"name":2},{"name":3},{"name":1,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":4,"other":"c"},{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete field from map in merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete field from map in merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"value":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"value":null}]}"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: replace non merging list nested in merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        r#"{"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]},{"name":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: replace non merging list nested in merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"name":1,"nonMergingList":[{"name":1,"value":1}]}]}"#,
        r#"{"mergingList":[{"name":1,"other":"a","nonMergingList":[{"name":1,"value":1}]},{"name":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add field to map in merging list nested in merging list (TwoWay)"#,
        r#"{"mergingList":[{"name":1,"mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        r#"{"mergingList":[{"name":1,"mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},{"name":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add field to map in merging list nested in merging list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"mergingList":[{"$setElementOrder/mergingList":[{"name":1},{"name":2}],"name":1,"mergingList":[{"name":1,"value":1}]}]}"#,
        r#"{"mergingList":[{"name":1,"other":"a","mergingList":[{"name":1,"value":1},{"name":2,"value":2}]},{"name":2,"other":"b"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map to merging list by pointer (TwoWay)"#,
        r#"{"mergeItemPtr":[{"name":1}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}"#,
        r#"{"mergeItemPtr":[{"name":1},{"name":2}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add map to merging list by pointer (ThreeWay)"#,
        r#"{"mergeItemPtr":[{"name":1,"other":"a"},{"name":3}]}"#,
        r#"{"$setElementOrder/mergeItemPtr":[{"name":1},{"name":2}],"mergeItemPtr":[{"name":2}]}"#,
        r#"{"mergeItemPtr":[{"name":1,"other":"a"},{"name":2},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: merge lists of scalars (TwoWay)"#,
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2,3]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: merge lists of scalars (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[1,2,3],"mergingIntList":[3]}"#,
        r#"{"mergingIntList":[1,2,3,4]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add an item in a list of primitives and preserve order (TwoWay)"#,
        r#"{"mergingIntList":[1,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
        r#"{"mergingIntList":[3,1,2]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add an item in a list of primitives and preserve order (ThreeWay)"#,
        r#"{"mergingIntList":[1,4,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[3,1,2],"mergingIntList":[3]}"#,
        r#"{"mergingIntList":[3,1,4,2]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete an item in a list of primitives and preserve order (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[2,1]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete an item in a list of primitives and preserve order (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,3]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1],"$deleteFromPrimitiveList/mergingIntList":[3]}"#,
        r#"{"mergingIntList":[2,1]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete an item in a list and preserve order (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"value":2},{"name":1}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete an item in a list and preserve order (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1}],"mergingList":[{"name":3,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":2,"value":2,"other":"b"},{"name":1,"other":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add and delete an item in a list and preserve order (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":1}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: add and delete an item in a list and preserve order (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":1}],"mergingList":[{"name":4,"value":4},{"name":3,"$patch":"delete"}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2,"other":"b"},{"name":1,"other":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list with server-only items (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list with server-only items (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":3,"value":3},{"name":4,"value":4},{"name":2,"value":2},{"name":9}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":4},{"name":2},{"name":3},{"name":1}]}"#,
        r#"{"mergingList":[{"name":4,"value":4},{"name":2,"value":2},{"name":3,"value":3},{"name":1,"other":"a"},{"name":9}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list with server-only items 3 (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":2},{"name":3,"value":3},{"name":4,"value":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
        r#"{"mergingList":[{"name":2,"value":2},{"name":1},{"name":4,"value":4},{"name":3,"value":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a list with server-only items 3 (ThreeWay)"#,
        r#"{"mergingList":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":7},{"name":9},{"name":8},{"name":3,"value":3},{"name":4,"value":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
        r#"{"mergingList":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":7},{"name":9},{"name":8},{"name":4,"value":4},{"name":3,"value":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a int list (TwoWay)"#,
        r#"{"mergingIntList":[1,3,4,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,3,1]}"#,
        r#"{"mergingIntList":[4,2,3,1]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a int list (ThreeWay)"#,
        r#"{"mergingIntList":[1,3,4,2]}"#,
        r#"{"$setElementOrder/mergingIntList":[4,2,3,1]}"#,
        r#"{"mergingIntList":[4,2,3,1]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a int list with server-only items 3 (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
        r#"{"mergingIntList":[2,1,4,3]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: set elements order in a int list with server-only items 3 (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,7,9,8,3,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3]}"#,
        r#"{"mergingIntList":[2,1,7,9,8,4,3]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: behavior of set element order for a merging list with duplicate (TwoWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
        r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: behavior of set element order for a merging list with duplicate (ThreeWay)"#,
        r#"{"mergingList":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
        r#"{"mergingList":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: behavior of set element order for a merging int list with duplicate (TwoWay)"#,
        r#"{"mergingIntList":[1,2,3,2,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3,2]}"#,
        r#"{"mergingIntList":[2,2,1,4,3]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: behavior of set element order for a merging int list with duplicate (ThreeWay)"#,
        r#"{"mergingIntList":[1,2,3,2,4]}"#,
        r#"{"$setElementOrder/mergingIntList":[2,1,4,3,2]}"#,
        r#"{"mergingIntList":[2,2,1,4,3]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map should clear defaulted field (TwoWay)"#,
        r#"{}"#,
        r#"{"retainKeysMap":{"other":"bar"}}"#,
        r#"{"retainKeysMap":{"other":"bar"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map should clear defaulted field (ThreeWay)"#,
        r#"{"retainKeysMap":{"value":"foo"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["other"],"other":"bar"}}"#,
        r#"{"retainKeysMap":{"other":"bar"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds a field and clear a field (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds a field and clear a field (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","other":"a"}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","value"],"value":"bar"}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds a field in a nested map (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b"}}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds a field in a nested map (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key3":"c"}}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","simpleMap","value"],"simpleMap":{"key2":"b"}}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","simpleMap":{"key1":"a","key2":"b","key3":"c"}}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map replaces non-merging list (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map replaces non-merging list (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","nonMergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name","nonMergingList","value"],"nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","value":"bar","nonMergingList":[{"name":"a"},{"name":"c"},{"name":"b"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds an item in nested merging int list (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2]}}"#,
        r#"{"retainKeysMap":{"$setElementOrder/mergingIntList":[1,2,4],"$retainKeys":["mergingIntList","name"],"mergingIntList":[4]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,4]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds an item in nested merging int list (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$setElementOrder/mergingIntList":[1,2,4],"$retainKeys":["mergingIntList","name"],"mergingIntList":[4]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,4,3]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map deletes nested merging int list (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}}"#,
        r#"{"retainKeysMap":{"name":"foo"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map deletes nested merging int list (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingIntList":[1,2,3]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["name"],"mergingIntList":null}}"#,
        r#"{"retainKeysMap":{"name":"foo"}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds an item in nested merging list (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map adds an item in nested merging list (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"},{"name":"b"},{"name":"c"}],"mergingList":[{"name":"c"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"x"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map deletes an item in nested merging list (TwoWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys map deletes an item in nested merging list (ThreeWay)"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"b"},{"name":"x"}]}}"#,
        r#"{"retainKeysMap":{"$retainKeys":["mergingList","name"],"$setElementOrder/mergingList":[{"name":"a"}],"mergingList":[{"name":"b","$patch":"delete"}]}}"#,
        r#"{"retainKeysMap":{"name":"foo","mergingList":[{"name":"a"},{"name":"x"}]}}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys list of maps clears a field (TwoWay)"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
        r#"{}"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys list of maps clears a field (ThreeWay)"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys list of maps adds a field and clear a field (TwoWay)"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: retainKeys list of maps adds a field and clear a field (ThreeWay)"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","other":"x"}]}"#,
        r#"{"$setElementOrder/retainKeysMergingList":[{"name":"bar"},{"name":"foo"}],"retainKeysMergingList":[{"$retainKeys":["name","value"],"name":"foo","value":"a"}]}"#,
        r#"{"retainKeysMergingList":[{"name":"bar"},{"name":"foo","value":"a"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete and reorder in one list, reorder in another (TwoWay)"#,
        r#"{"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":"b"}],"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"mergingList":[{"$patch":"delete","name":"a"}]}"#,
        r#"{"mergingList":[{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}]}"#,
    ),
    (
        r#"strategicMergePatchRawTestCases: delete and reorder in one list, reorder in another (ThreeWay)"#,
        r#"{"mergingList":[{"name":"a","value":"a"},{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"c","value":"c"},{"name":"d","value":"d"}]}"#,
        r#"{"$setElementOrder/mergingList":[{"name":"b"}],"$setElementOrder/mergeItemPtr":[{"name":"d"},{"name":"c"}],"mergingList":[{"$patch":"delete","name":"a"}]}"#,
        r#"{"mergingList":[{"name":"b","value":"b"}],"mergeItemPtr":[{"name":"d","value":"d"},{"name":"c","value":"c"}]}"#,
    ),
];
