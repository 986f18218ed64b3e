//! Pins the defaults kubectl shows and the messages of the common user errors.

use serde_json::{Value, json};

use super::util::{Qty, image_tag, parse_ip_sloppy, semantic};
use super::*;

fn create(kind: &str, mut obj: Value) -> Value {
    set_defaults(kind, &mut obj).unwrap();
    prepare_for_create(kind, &mut obj).unwrap();
    obj
}

fn msgs(kind: &str, obj: &Value) -> Vec<String> {
    validate(kind, obj)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn update_msgs(kind: &str, new: &Value, old: &Value) -> Vec<String> {
    validate_update(kind, new, old)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn create_msgs(kind: &str, obj: Value) -> Vec<String> {
    msgs(kind, &create(kind, obj))
}

/// What `kubectl create deployment nginx --image=nginx` sends.
fn kubectl_deployment() -> Value {
    json!({
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "nginx", "creationTimestamp": null, "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}
            },
            "strategy": {}
        },
        "status": {}
    })
}

fn pod(containers: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": containers}
    })
}

#[test]
fn kubectl_create_deployment_gets_the_upstream_shape() {
    let got = create("Deployment", kubectl_deployment());
    let want = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}, "generation": 1},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "nginx"}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate"
            },
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{
                        "image": "nginx",
                        "imagePullPolicy": "Always",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        },
        "status": {}
    });
    assert_eq!(got, want);
    // Empty structs are emitted as upstream does.
    assert_eq!(got["status"], json!({}));
    assert_eq!(
        got["spec"]["template"]["spec"]["securityContext"],
        json!({})
    );
    assert!(msgs("Deployment", &got).is_empty());
}

#[test]
fn deployment_selector_mismatch() {
    let mut d = kubectl_deployment();
    d["spec"]["template"]["metadata"]["labels"] = json!({"app": "web"});
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"
        ]
    );
}

#[test]
fn deployment_missing_and_empty_selector() {
    let mut d = kubectl_deployment();
    d["spec"].as_object_mut().unwrap().remove("selector");
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"nginx\"}: `selector` does not match template `labels`",
        ]
    );
    let mut d = kubectl_deployment();
    d["spec"]["selector"] = json!({});
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
        ]
    );
}

#[test]
fn deployment_negative_replicas_and_strategy() {
    let mut d = kubectl_deployment();
    d["spec"]["replicas"] = json!(-1);
    assert_eq!(
        create_msgs("Deployment", d),
        vec!["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]
    );
    let mut d = kubectl_deployment();
    d["spec"]["strategy"] = json!({"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"
        ]
    );
    let mut d = kubectl_deployment();
    d["spec"]["strategy"] = json!({"rollingUpdate": {"maxUnavailable": "50"}});
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"50\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
        ]
    );
    let mut d = kubectl_deployment();
    d["spec"]["strategy"] = json!({"type": "Canary"});
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Canary\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""
        ]
    );
    let mut d = kubectl_deployment();
    d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        create_msgs("Deployment", d),
        vec![
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
        ]
    );
}

#[test]
fn deployment_selector_is_immutable() {
    let old = create("Deployment", kubectl_deployment());
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    new["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    prepare_for_update("Deployment", &mut new, &old, None).unwrap();
    let errs = update_msgs("Deployment", &new, &old);
    assert_eq!(
        errs,
        vec![
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        ]
    );
}

#[test]
fn deployment_generation_rules() {
    let mut old = create("Deployment", kubectl_deployment());
    old["status"] = json!({"replicas": 1, "observedGeneration": 1});
    // Status-only change through the main resource: status kept, no bump.
    let mut new = old.clone();
    new["status"] = json!({"replicas": 5});
    new["metadata"]["generation"] = json!(42);
    prepare_for_update("Deployment", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(1));
    assert_eq!(new["status"], old["status"]);
    // Spec change bumps.
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    prepare_for_update("Deployment", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(2));
    // Annotation change bumps too.
    let mut new = old.clone();
    new["metadata"]["annotations"] = json!({"a": "b"});
    prepare_for_update("Deployment", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(2));
    // Status subresource keeps spec and labels, takes status, no bump.
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(7);
    new["metadata"]["labels"] = json!({"x": "y"});
    new["status"] = json!({"replicas": 7});
    prepare_for_update("Deployment", &mut new, &old, Some("status")).unwrap();
    assert_eq!(new["spec"]["replicas"], json!(1));
    assert_eq!(new["metadata"]["labels"], json!({"app": "nginx"}));
    assert_eq!(new["status"], json!({"replicas": 7}));
    assert_eq!(new["metadata"]["generation"], json!(1));
}

#[test]
fn replica_set_defaults_and_status() {
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "rs"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}},
                         "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
        }
    });
    let got = create("ReplicaSet", rs);
    assert_eq!(got["spec"]["replicas"], json!(1));
    assert_eq!(got["status"], json!({"replicas": 0}));
    assert_eq!(got["metadata"]["generation"], json!(1));
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        json!("IfNotPresent")
    );
    assert!(msgs("ReplicaSet", &got).is_empty());
    let mut new = got.clone();
    new["spec"]["replicas"] = json!(2);
    prepare_for_update("ReplicaSet", &mut new, &got, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(2));
}

#[test]
fn pod_defaults_and_create_status() {
    let got = create(
        "Pod",
        pod(json!([
            {"name": "a", "image": "nginx", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "nginx:1.25",
             "readinessProbe": {"httpGet": {"port": 80}},
             "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}}},
            {"name": "c", "image": "registry.local:5000/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
        ])),
    );
    let spec = &got["spec"];
    assert_eq!(spec["enableServiceLinks"], json!(true));
    assert_eq!(spec["dnsPolicy"], json!("ClusterFirst"));
    assert_eq!(spec["restartPolicy"], json!("Always"));
    assert_eq!(spec["schedulerName"], json!("default-scheduler"));
    assert_eq!(spec["terminationGracePeriodSeconds"], json!(30));
    assert_eq!(spec["securityContext"], json!({}));
    let c = &spec["containers"];
    assert_eq!(c[0]["imagePullPolicy"], json!("Always"));
    assert_eq!(c[0]["ports"][0]["protocol"], json!("TCP"));
    assert_eq!(c[0]["resources"], json!({}));
    assert_eq!(c[1]["imagePullPolicy"], json!("IfNotPresent"));
    assert_eq!(c[2]["imagePullPolicy"], json!("IfNotPresent"));
    assert_eq!(
        c[1]["readinessProbe"],
        json!({"failureThreshold": 3, "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
               "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1})
    );
    // Requests default to limits; quantities are canonical.
    assert_eq!(
        c[1]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "128Mi"},
               "requests": {"cpu": "500m", "memory": "128Mi"}})
    );
    assert_eq!(
        got["status"],
        json!({"phase": "Pending", "qosClass": "Burstable"})
    );
    assert_eq!(got["metadata"]["generation"], json!(1));
    assert!(msgs("Pod", &got).is_empty());
}

#[test]
fn pod_qos_classes() {
    let g = create(
        "Pod",
        pod(json!([{"name": "a", "image": "x",
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}])),
    );
    assert_eq!(g["status"]["qosClass"], json!("Guaranteed"));
    let b = create("Pod", pod(json!([{"name": "a", "image": "x"}])));
    assert_eq!(b["status"]["qosClass"], json!("BestEffort"));
}

#[test]
fn pod_common_errors() {
    assert_eq!(
        create_msgs("Pod", pod(json!([]))),
        vec!["spec.containers: Required value"]
    );
    assert_eq!(
        create_msgs("Pod", pod(json!([{"name": "web"}]))),
        vec!["spec.containers[0].image: Required value"]
    );
    assert_eq!(
        create_msgs("Pod", pod(json!([{"name": "Web", "image": "nginx"}]))),
        vec![
            "spec.containers[0].name: Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "web", "image": "nginx", "ports": [
                {"name": "http", "containerPort": 80},
                {"name": "http", "containerPort": 8080}
            ]}]))
        ),
        vec!["spec.containers[0].ports[1].name: Duplicate value: \"http\""]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]))
        ),
        vec!["spec.containers[1].name: Duplicate value: \"a\""]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]))
        ),
        vec![
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x", "env": [{"name": "A=B", "value": "1"}]}]))
        ),
        vec![
            "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"
        ]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x", "livenessProbe": {"periodSeconds": 5}}]))
        ),
        vec!["spec.containers[0].livenessProbe: Required value: must specify a handler type"]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x",
                        "livenessProbe": {"tcpSocket": {"port": "web"}, "successThreshold": 2}}]))
        ),
        vec!["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]))
        ),
        vec!["spec.containers[0].volumeMounts[0].name: Not found: \"data\""]
    );
    assert_eq!(
        create_msgs(
            "Pod",
            pod(json!([{"name": "a", "image": "x",
                        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]))
        ),
        vec![
            "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1"
        ]
    );
}

#[test]
fn host_port_conflicts_use_upstream_paths() {
    // checkHostPortConflicts: across all regular containers, but each init container alone,
    // passed as a one-element list, so its errors name `initContainers[0]`.
    let ports =
        json!([{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8080}]);
    let mut p = pod(json!([
        {"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]},
        {"name": "b", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]}
    ]));
    p["spec"]["initContainers"] = json!([
        {"name": "i0", "image": "x"},
        {"name": "i1", "image": "x", "ports": ports}
    ]);
    assert_eq!(
        create_msgs("Pod", p),
        vec![
            "spec.containers[1].ports[0].hostPort: Duplicate value: \"TCP//8080\"",
            "spec.initContainers[0].ports[1].hostPort: Duplicate value: \"TCP//8080\"",
        ]
    );
}

#[test]
fn pod_update_is_mostly_immutable() {
    let old = create("Pod", pod(json!([{"name": "a", "image": "nginx"}])));
    // Image changes are allowed and bump the generation.
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    prepare_for_update("Pod", &mut new, &old, None).unwrap();
    assert!(validate_update("Pod", &new, &old).unwrap().is_empty());
    assert_eq!(new["metadata"]["generation"], json!(2));
    assert_eq!(new["status"], old["status"]);
    // Anything else is forbidden.
    let mut new = old.clone();
    new["spec"]["restartPolicy"] = json!("Never");
    prepare_for_update("Pod", &mut new, &old, None).unwrap();
    let errs = validate_update("Pod", &new, &old).unwrap();
    assert_eq!(errs.len(), 1);
    let m = errs[0].to_string();
    assert!(
        m.starts_with(
            "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
        ),
        "{m}"
    );
    assert!(m.contains("restartPolicy"), "{m}");
    // Adding a container.
    let mut new = old.clone();
    new["spec"]["containers"].as_array_mut().unwrap().push(
        json!({"name": "b", "image": "x", "imagePullPolicy": "IfNotPresent",
                     "terminationMessagePolicy": "File"}),
    );
    let errs = update_msgs("Pod", &new, &old);
    assert_eq!(
        errs,
        vec!["spec.containers: Forbidden: pod updates may not add or remove containers"]
    );
    // The status subresource keeps the spec.
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("evil");
    new["status"] = json!({"phase": "Running", "podIP": "10.0.0.5"});
    set_defaults("Pod", &mut new).unwrap();
    prepare_for_update("Pod", &mut new, &old, Some("status")).unwrap();
    assert_eq!(new["spec"], old["spec"]);
    assert_eq!(new["status"]["qosClass"], json!("BestEffort"));
    assert_eq!(new["status"]["podIPs"], json!([{"ip": "10.0.0.5"}]));
    assert_eq!(new["metadata"]["generation"], json!(1));
    assert!(
        validate_status_update("Pod", &new, &old)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn pod_scheduling_gates_condition() {
    let mut p = pod(json!([{"name": "a", "image": "x"}]));
    p["spec"]["schedulingGates"] = json!([{"name": "example.com/gate"}]);
    let got = create("Pod", p);
    let c = &got["status"]["conditions"][0];
    assert_eq!(c["type"], json!("PodScheduled"));
    assert_eq!(c["reason"], json!("SchedulingGated"));
    assert_eq!(c["status"], json!("False"));
}

#[test]
fn namespace_create() {
    let got = create(
        "Namespace",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    );
    assert_eq!(
        got,
        json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        })
    );
    assert!(msgs("Namespace", &got).is_empty());
    // Updates cannot touch finalizers or status.
    let mut new = got.clone();
    new["spec"]["finalizers"] = json!([]);
    new["status"]["phase"] = json!("Terminating");
    prepare_for_update("Namespace", &mut new, &got, None).unwrap();
    assert_eq!(new["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(new["status"]["phase"], json!("Active"));
}

#[test]
fn name_rules() {
    assert_eq!(name_rule("Namespace"), NameRule::Dns1123Label);
    assert_eq!(
        name_rule("Namespace").validate("a.b", false),
        vec!["must not contain dots"]
    );
    assert_eq!(name_rule("Pod"), NameRule::Dns1123Subdomain);
    assert!(name_rule("Pod").validate("a.b", false).is_empty());
    assert!(name_rule("Pod").validate("web-", true).is_empty());
    assert!(!name_rule("Pod").validate("web-", false).is_empty());
    assert_eq!(name_rule("Service"), NameRule::Dns1035Label);
    assert_eq!(name_rule("Event"), NameRule::PathSegment);
    assert_eq!(
        name_rule("Event").validate("a/b%c", false),
        vec!["may not contain '/'", "may not contain '%'"]
    );
    assert_eq!(
        name_rule("Event").validate("..", false),
        vec!["may not be '..'"]
    );
}

fn slice(address_type: &str, endpoints: Value) -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "s", "namespace": "default"},
        "addressType": address_type,
        "endpoints": endpoints,
        "ports": [{"port": 80}]
    })
}

#[test]
fn endpoint_slice_defaults_and_errors() {
    let got = create(
        "EndpointSlice",
        slice("IPv4", json!([{"addresses": ["10.0.0.1"]}])),
    );
    assert_eq!(
        got["ports"],
        json!([{"name": "", "port": 80, "protocol": "TCP"}])
    );
    assert_eq!(got["endpoints"][0]["conditions"], json!({}));
    assert_eq!(got["metadata"]["generation"], json!(1));
    assert!(msgs("EndpointSlice", &got).is_empty());

    assert_eq!(
        create_msgs("EndpointSlice", slice("IP", json!([]))),
        vec![
            "addressType: Unsupported value: \"IP\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""
        ]
    );
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"addresses": ["10.0.0.1"]}))
        .collect();
    assert_eq!(
        create_msgs("EndpointSlice", slice("IPv4", Value::Array(many))),
        vec!["endpoints: Too many: 1001: must have at most 1000 items"]
    );
    assert_eq!(
        create_msgs(
            "EndpointSlice",
            slice(
                "IPv4",
                json!([{"addresses": ["fd00::1", "127.0.0.1", "nope"]}])
            )
        ),
        vec![
            "endpoints[0].addresses[0]: Invalid value: \"fd00::1\": must be an IPv4 address",
            "endpoints[0].addresses[1]: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
            "endpoints[0].addresses[2]: Invalid value: \"nope\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ]
    );
    assert_eq!(
        create_msgs("EndpointSlice", slice("IPv4", json!([{"addresses": []}]))),
        vec!["endpoints[0].addresses: Required value: must contain at least 1 address"]
    );
    let mut s = slice("IPv4", json!([]));
    s["ports"] = json!([{"port": 80}, {"port": 81}]);
    assert_eq!(
        create_msgs("EndpointSlice", s),
        vec!["ports[1].name: Duplicate value: \"\""]
    );
}

#[test]
fn endpoint_slice_update_rules() {
    let old = create(
        "EndpointSlice",
        slice("IPv4", json!([{"addresses": ["10.0.0.1"]}])),
    );
    let mut new = old.clone();
    new["addressType"] = json!("IPv6");
    new["endpoints"] = json!([]);
    prepare_for_update("EndpointSlice", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(2));
    let errs = update_msgs("EndpointSlice", &new, &old);
    assert_eq!(
        errs,
        vec!["addressType: Invalid value: \"IPv6\": field is immutable"]
    );
    // Metadata-only changes (other than labels) do not bump the generation.
    let mut new = old.clone();
    new["metadata"]["annotations"] = json!({"a": "b"});
    prepare_for_update("EndpointSlice", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(1));
    let mut new = old.clone();
    new["metadata"]["labels"] = json!({"a": "b"});
    prepare_for_update("EndpointSlice", &mut new, &old, None).unwrap();
    assert_eq!(new["metadata"]["generation"], json!(2));
}

#[test]
fn endpoints_defaults_and_errors() {
    let e = json!({
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
        "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]
    });
    let got = create("Endpoints", e);
    assert_eq!(got["subsets"][0]["ports"][0]["protocol"], json!("TCP"));
    assert!(msgs("Endpoints", &got).is_empty());
    let bad = json!({
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
        "subsets": [{"addresses": [{"ip": "169.254.1.1"}],
                     "ports": [{"port": 80}, {"port": 81, "name": "b"}]}]
    });
    assert_eq!(
        create_msgs("Endpoints", bad),
        vec![
            "subsets[0].addresses[0].ip: Invalid value: \"169.254.1.1\": may not be in the link-local range (169.254.0.0/16, fe80::/10)",
            "subsets[0].ports[0].name: Required value",
        ]
    );
}

#[test]
fn secret_and_config_map() {
    let got = create(
        "Secret",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "stringData": {"user": "admin"}, "data": {"pw": "c2VjcmV0"}}),
    );
    assert_eq!(got["type"], json!("Opaque"));
    assert_eq!(got["data"], json!({"pw": "c2VjcmV0", "user": "YWRtaW4="}));
    assert!(got.get("stringData").is_none());
    assert_eq!(
        create_msgs(
            "Secret",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                   "type": "kubernetes.io/tls", "data": {"tls.crt": ""}})
        ),
        vec!["data[tls.key]: Required value"]
    );
    let mut new = got.clone();
    new["type"] = json!("kubernetes.io/tls");
    new["data"] = json!({"tls.crt": "", "tls.key": ""});
    let errs = update_msgs("Secret", &new, &got);
    assert_eq!(
        errs,
        vec!["type: Invalid value: \"kubernetes.io/tls\": field is immutable"]
    );
    assert_eq!(
        create_msgs(
            "ConfigMap",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                   "data": {"a b": "x"}})
        ),
        vec![
            "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
        ]
    );
    let old = create(
        "ConfigMap",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
               "immutable": true, "data": {"a": "1"}}),
    );
    let mut new = old.clone();
    new["data"]["a"] = json!("2");
    let errs = update_msgs("ConfigMap", &new, &old);
    assert_eq!(
        errs,
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
}

#[test]
fn node_shape_and_taints() {
    let got = create(
        "Node",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
               "spec": {"podCIDR": "10.244.1.0/24",
                        "taints": [{"key": "a", "effect": "NoSchedule"},
                                   {"key": "a", "effect": "NoSchedule"}]},
               "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}}),
    );
    assert_eq!(got["spec"]["podCIDRs"], json!(["10.244.1.0/24"]));
    assert_eq!(
        got["status"]["allocatable"],
        json!({"cpu": "4", "memory": "8Gi"})
    );
    assert_eq!(
        got["status"]["daemonEndpoints"],
        json!({"kubeletEndpoint": {"Port": 0}})
    );
    assert_eq!(got["status"]["nodeInfo"]["kubeletVersion"], json!(""));
    assert_eq!(
        msgs("Node", &got),
        vec![
            "metadata.taints[1]: Duplicate value: core.Taint{Key:\"a\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair"
        ]
    );
}

#[test]
fn lease_event_service_account() {
    let got = create(
        "Lease",
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
               "metadata": {"name": "l"},
               "spec": {"leaseDurationSeconds": 0, "strategy": "OldestEmulationVersion"}}),
    );
    assert!(got["spec"].get("strategy").is_none());
    assert_eq!(
        msgs("Lease", &got),
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
    let ev = create(
        "Event",
        json!({"apiVersion": "v1", "kind": "Event",
               "metadata": {"name": "e.1", "namespace": "default"},
               "involvedObject": {"kind": "Pod", "namespace": "other", "name": "p"}}),
    );
    assert_eq!(ev["source"], json!({}));
    assert_eq!(ev["reportingComponent"], json!(""));
    assert_eq!(
        msgs("Event", &ev),
        vec!["involvedObject.namespace: Invalid value: \"other\": does not match event.namespace"]
    );
    let sa = create(
        "ServiceAccount",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"},
               "secrets": [{"name": "tok", "namespace": "x", "uid": "u"}]}),
    );
    assert_eq!(sa["secrets"], json!([{"name": "tok"}]));
}

#[test]
fn decode_errors_are_err() {
    let mut p = pod(json!([]));
    p["spec"]["containers"] = json!("nope");
    assert!(validate("Pod", &p).is_err());
    let mut d = kubectl_deployment();
    assert!(set_defaults("Deployment", &mut d).is_ok());
    d["kind"] = json!("Pod");
    assert!(set_defaults("Deployment", &mut d).is_err());
    // Unknown kinds are untouched.
    let mut x = json!({"kind": "Widget", "spec": {"a": 1}});
    set_defaults("Widget", &mut x).unwrap();
    prepare_for_create("Widget", &mut x).unwrap();
    assert_eq!(x, json!({"kind": "Widget", "spec": {"a": 1}}));
    assert!(validate("Widget", &x).unwrap().is_empty());
}

#[test]
fn quantities() {
    let c = |s: &str| Qty::parse(s).unwrap().canonical();
    assert_eq!(c("0.5"), "500m");
    assert_eq!(c("1000m"), "1");
    assert_eq!(c("2048Mi"), "2Gi");
    assert_eq!(c("1.5Gi"), "1536Mi");
    assert_eq!(c("100Mi"), "100Mi");
    assert_eq!(c("512"), "512");
    assert_eq!(c("1e3"), "1e3");
    assert_eq!(c("1.5k"), "1500");
    assert_eq!(c("0"), "0");
    assert_eq!(
        Qty::parse("0.0001").unwrap().round_up_milli().canonical(),
        "1m"
    );
    assert!(Qty::parse("abc").is_none());
    assert!(Qty::parse("1Qi").is_none());
}

#[test]
fn image_tags() {
    assert_eq!(image_tag("nginx").as_deref(), Some("latest"));
    assert_eq!(image_tag("nginx:latest").as_deref(), Some("latest"));
    assert_eq!(image_tag("nginx:1.25").as_deref(), Some("1.25"));
    assert_eq!(image_tag("localhost:5000/app").as_deref(), Some("latest"));
    assert_eq!(image_tag("localhost:5000/app:v1").as_deref(), Some("v1"));
    assert_eq!(
        image_tag("docker.io/library/nginx:latest").as_deref(),
        Some("latest")
    );
    assert_eq!(
        image_tag("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        None
    );
    assert_eq!(image_tag("Nginx"), None);
    assert_eq!(image_tag(""), None);
}

#[test]
fn sloppy_ips() {
    assert!(parse_ip_sloppy("010.001.002.003").is_some());
    assert!(parse_ip_sloppy("::ffff:1.2.3.4").is_some_and(|i| i.is_ipv4()));
    assert!(parse_ip_sloppy("fe80::1").is_some_and(|i| i.is_ipv6()));
    assert!(parse_ip_sloppy("1.2.3").is_none());
    assert!(parse_ip_sloppy("256.1.1.1").is_none());
}

#[test]
fn semantic_equality_ignores_empty() {
    assert_eq!(
        semantic(&json!({"a": [], "b": {}, "c": null, "d": 1})),
        json!({"d": 1})
    );
}
