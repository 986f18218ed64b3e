//! Protobuf request bodies: kubectl captures against its own JSON, hand-encoded messages,
//! malformed input.
//!
//! The fixtures under `fixtures/protobuf/` were captured from kubectl 1.33 (kubectl 1.32
//! sends byte-identical bodies and JSON) talking to a stub server: `NAME.pb` is the body of
//! `kubectl create ...`, `NAME.json` the output of the same command with
//! `--dry-run=client -o json`, `quota.pb` a kind without a schema, `debug-node*.pb` the
//! Pods of `kubectl debug node/worker-1 --image=busybox:1.36 --profile=general|sysadmin`.

use serde_json::{Value, json};
use tether_api::protobuf::{self, ProtoError};

// ---------------------------------------------------------------- a tiny encoder

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A field key.
fn key(num: u32, wire_type: u8) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(num) << 3) | u64::from(wire_type), &mut out);
    out
}

/// A varint field.
fn v(num: u32, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(num) << 3, &mut out);
    varint(value, &mut out);
    out
}

/// A length-delimited field.
fn b(num: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(num) << 3) | 2, &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A string field.
fn s(num: u32, text: &str) -> Vec<u8> {
    b(num, text.as_bytes())
}

/// A message field made of `parts`.
fn m<const N: usize>(num: u32, parts: [Vec<u8>; N]) -> Vec<u8> {
    b(num, &parts.concat())
}

/// A map entry field.
fn entry(num: u32, key: &str, value: &str) -> Vec<u8> {
    m(num, [s(1, key), s(2, value)])
}

/// A `runtime.Unknown` envelope as Go writes it.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut out = b"k8s\0".to_vec();
    out.extend(m(1, [s(1, api_version), s(2, kind)]));
    out.extend(b(2, raw));
    out.extend(s(3, ""));
    out.extend(s(4, ""));
    out
}

fn decode(api_version: &str, kind: &str, raw: &[u8]) -> Result<Value, ProtoError> {
    protobuf::decode(&envelope(api_version, kind, raw))
}

/// `ObjectMeta` as Go's marshaller writes it for a fresh object: every value field,
/// `creationTimestamp` as an empty `Time`.
fn fresh_meta(name: &str) -> Vec<u8> {
    m(
        1,
        [
            s(1, name),
            s(2, ""),
            s(3, ""),
            s(4, ""),
            s(5, ""),
            s(6, ""),
            v(7, 0),
            b(8, b""),
        ],
    )
}

// ---------------------------------------------------------------- kubectl captures

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("fixtures/protobuf/", $name, ".pb")).as_slice(),
            include_str!(concat!("fixtures/protobuf/", $name, ".json")),
        )
    };
}

const FIXTURES: &[(&str, &[u8], &str)] = &[
    // kubectl create deployment mydeploy --image=registry.k8s.io/e2e-test-images/agnhost:2.39
    //   --replicas=3 --port=8888 -- /agnhost netexec --http-port=8888
    fixture!("deployment"),
    // kubectl create deployment multi --image=nginx:1.27 --image=busybox:1.36 --port=80
    fixture!("deployment-multi"),
    // kubectl create service clusterip my-svc --tcp=5678:8080
    fixture!("service-clusterip"),
    // kubectl create service clusterip multi --tcp=80:8080 --tcp=443:https --clusterip=None
    fixture!("service-multi"),
    // kubectl create service nodeport np --tcp=80:8080 --node-port=30080
    fixture!("service-nodeport"),
    // kubectl create service loadbalancer lb --tcp=80:8080
    fixture!("service-loadbalancer"),
    // kubectl create service externalname en --external-name=example.com
    fixture!("service-externalname"),
    // kubectl create namespace foo
    fixture!("namespace"),
    // kubectl create configmap cm --from-literal=a=b
    fixture!("configmap"),
    // kubectl create configmap cm2 --from-file=bin.dat --from-literal=x=y (bin.dat is not
    // UTF-8, so it lands in binaryData)
    fixture!("configmap-files"),
    // kubectl create secret generic s --from-literal=a=b
    fixture!("secret-generic"),
    // kubectl create secret docker-registry reg --docker-server=r.example.com
    //   --docker-username=u --docker-password=p --docker-email=e@x
    fixture!("secret-docker"),
    // kubectl create serviceaccount sa
    fixture!("serviceaccount"),
];

#[test]
fn kubectl_bodies_decode_to_kubectl_json() {
    for (name, body, json) in FIXTURES {
        assert!(body.starts_with(b"k8s\0"), "{name}: not a protobuf capture");
        let got = protobuf::decode(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        // No field is set in one form only: the bodies carry every Go value field (empty
        // strings, zero ints, `false`), and the table drops exactly the `omitempty` ones;
        // value structs (`status: {}`, `strategy: {}`, `resources: {}`) are present in both,
        // and the empty `creationTimestamp` decodes to the `null` kubectl's JSON carries.
        assert_eq!(got, want, "{name}");
    }
}

/// `kubectl debug node/NAME` creates its Pod with protobuf but has no `--dry-run`; the
/// expected JSON is the Pod its profiles build upstream (host root as a `hostPath` volume
/// mounted at `/host`, host namespaces, an `Exists` toleration; `sysadmin` adds
/// `privileged: true`), checked by hand. Value fields kubectl leaves empty (`hostPort`,
/// `stdin`, `dnsPolicy`, ...) are on the wire and must not show up.
#[test]
fn kubectl_debug_node_pods() {
    let cases = [
        (
            include_bytes!("fixtures/protobuf/debug-node.pb").as_slice(),
            include_str!("fixtures/protobuf/debug-node.expected.json"),
        ),
        (
            include_bytes!("fixtures/protobuf/debug-node-sysadmin.pb").as_slice(),
            include_str!("fixtures/protobuf/debug-node-sysadmin.expected.json"),
        ),
    ];
    for (body, json) in cases {
        let got = protobuf::decode(body).unwrap_or_else(|e| panic!("{e}"));
        let want: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want);
    }
}

#[test]
fn key_order_follows_field_numbers() {
    let body = include_bytes!("fixtures/protobuf/service-multi.pb");
    let got = protobuf::decode(body).unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = got
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec", "status"]);
    let spec: Vec<&str> = got["spec"]
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(spec, ["ports", "selector", "clusterIP", "type"]);
}

#[test]
fn unknown_kind_names_api_version_and_kind() {
    // kubectl create quota q --hard=pods=2
    let body = include_bytes!("fixtures/protobuf/quota.pb");
    let err = protobuf::decode(body).err();
    assert_eq!(
        err,
        Some(ProtoError::UnknownKind {
            api_version: "v1".to_owned(),
            kind: "ResourceQuota".to_owned(),
        })
    );
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("\"v1\"") && text.contains("\"ResourceQuota\""),
        "{text}"
    );
    assert!(!protobuf::supports("v1", "ResourceQuota"));
    assert!(protobuf::supports("apps/v1", "Deployment"));
    // The same kind in another group version is another schema.
    assert!(!protobuf::supports("apps/v1beta1", "Deployment"));
}

// ---------------------------------------------------------------- hand-encoded messages

#[test]
fn pod_spec_reachable_types() {
    let container = m(
        2,
        [
            s(1, "app"),
            s(2, "nginx:1.27"),
            s(4, "--flag"),
            // ContainerPort: hostPort 0 is omitempty, containerPort is not.
            m(
                6,
                [s(1, "http"), v(2, 0), v(3, 8080), s(4, "TCP"), s(5, "")],
            ),
            m(6, [s(1, ""), v(2, 0), v(3, 0), s(4, ""), s(5, "")]),
            // env: value, configMapKeyRef (inline name), secretKeyRef with optional=false,
            // fieldRef, resourceFieldRef with a divisor.
            m(7, [s(1, "PLAIN"), s(2, "x")]),
            m(
                7,
                [
                    s(1, "FROM_CM"),
                    s(2, ""),
                    m(3, [m(3, [m(1, [s(1, "cm")]), s(2, "k")])]),
                ],
            ),
            m(
                7,
                [
                    s(1, "FROM_SECRET"),
                    m(3, [m(4, [m(1, [s(1, "sec")]), s(2, "k"), v(3, 0)])]),
                ],
            ),
            m(
                7,
                [
                    s(1, "NODE"),
                    m(3, [m(1, [s(1, "v1"), s(2, "spec.nodeName")])]),
                ],
            ),
            m(
                7,
                [
                    s(1, "MEM"),
                    m(
                        3,
                        [m(2, [s(1, ""), s(2, "limits.memory"), m(3, [s(1, "1Mi")])])],
                    ),
                ],
            ),
            // resources: limits/requests maps of Quantity, a claim.
            m(
                8,
                [
                    m(1, [s(1, "cpu"), m(2, [s(1, "500m")])]),
                    m(1, [s(1, "memory"), m(2, [s(1, "128Mi")])]),
                    m(2, [s(1, "cpu"), m(2, [s(1, "100m")])]),
                    m(3, [s(1, "gpu"), s(2, "")]),
                ],
            ),
            m(
                9,
                [s(1, "data"), v(2, 1), s(3, "/data"), s(4, ""), s(6, "")],
            ),
            // liveness: inline httpGet with a named port and a header; zero thresholds dropped.
            m(
                10,
                [
                    m(
                        1,
                        [m(
                            2,
                            [
                                s(1, "/healthz"),
                                m(2, [v(1, 1), v(2, 0), s(3, "http")]),
                                s(3, ""),
                                s(4, "HTTP"),
                                m(5, [s(1, "X-A"), s(2, "b")]),
                            ],
                        )],
                    ),
                    v(2, 3),
                    v(3, 0),
                    v(4, 10),
                    v(5, 0),
                    v(6, 0),
                ],
            ),
            // readiness: tcpSocket on a numbered port; startup: exec and a grpc probe.
            m(
                11,
                [m(
                    1,
                    [m(3, [m(1, [v(1, 0), v(2, 8080), s(3, "")]), s(2, "")])],
                )],
            ),
            m(
                22,
                [m(
                    1,
                    [
                        m(1, [s(1, "cat"), s(1, "/tmp/ok")]),
                        m(4, [v(1, 9000), s(2, "svc")]),
                    ],
                )],
            ),
            // lifecycle: preStop sleep, postStart exec.
            m(12, [m(1, [m(1, [s(1, "true")])]), m(2, [m(4, [v(1, 5)])])]),
            // securityContext: pointer fields keep their zero values.
            m(
                15,
                [
                    m(1, [s(1, "NET_ADMIN"), s(2, "ALL")]),
                    v(2, 0),
                    v(4, 0),
                    v(5, 1),
                    v(7, 0),
                    m(11, [s(1, "RuntimeDefault")]),
                ],
            ),
            v(16, 0),
            v(17, 0),
            v(18, 0),
            m(19, [s(1, "P_"), m(2, [m(1, [s(1, "cm")]), v(2, 1)])]),
            m(19, [m(3, [m(1, [s(1, "sec")])])]),
        ],
    );
    let spec = m(
        2,
        [
            // volumes: inline volume sources.
            m(
                1,
                [
                    s(1, "cache"),
                    m(2, [m(2, [s(1, "Memory"), m(2, [s(1, "64Mi")])])]),
                ],
            ),
            m(
                1,
                [
                    s(1, "cfg"),
                    m(
                        2,
                        [m(
                            19,
                            [
                                m(1, [s(1, "cm")]),
                                m(2, [s(1, "a"), s(2, "a.txt"), v(3, 0o400)]),
                                v(3, 0o644),
                            ],
                        )],
                    ),
                ],
            ),
            m(
                1,
                [
                    s(1, "sec"),
                    m(2, [m(6, [s(1, "sec"), v(3, 0o600), v(4, 1)])]),
                ],
            ),
            m(
                1,
                [
                    s(1, "host"),
                    m(2, [m(1, [s(1, "/var/log"), s(2, "Directory")])]),
                ],
            ),
            m(1, [s(1, "claim"), m(2, [m(10, [s(1, "pvc"), v(2, 1)])])]),
            m(
                1,
                [
                    s(1, "down"),
                    m(
                        2,
                        [m(
                            16,
                            [m(
                                1,
                                [s(1, "labels"), m(2, [s(1, "v1"), s(2, "metadata.labels")])],
                            )],
                        )],
                    ),
                ],
            ),
            m(
                1,
                [
                    s(1, "proj"),
                    m(
                        2,
                        [m(
                            26,
                            [
                                m(1, [m(4, [s(1, "vault"), v(2, 3600), s(3, "token")])]),
                                m(1, [m(1, [m(1, [s(1, "sec")])])]),
                            ],
                        )],
                    ),
                ],
            ),
            container,
            s(3, "Always"),
            v(4, 30),
            s(6, "ClusterFirst"),
            entry(7, "disk", "ssd"),
            s(8, "sa"),
            s(9, "sa"),
            s(10, ""),
            v(11, 0),
            v(12, 0),
            v(13, 0),
            m(
                14,
                [
                    v(2, 1000),
                    v(3, 1),
                    v(4, 1),
                    v(4, 2),
                    b(4, &[3, 4]),
                    v(5, 2000),
                    m(7, [s(1, "net.core.somaxconn"), s(2, "1024")]),
                ],
            ),
            m(15, [s(1, "regcred")]),
            s(16, ""),
            s(17, ""),
            m(
                18,
                [
                    m(
                        1,
                        [m(
                            1,
                            [m(
                                1,
                                [m(1, [s(1, "zone"), s(2, "In"), s(3, "a"), s(3, "b")])],
                            )],
                        )],
                    ),
                    m(
                        2,
                        [m(
                            1,
                            [
                                m(1, [m(2, [s(1, "app"), s(2, "Exists")])]),
                                s(3, "kubernetes.io/hostname"),
                            ],
                        )],
                    ),
                    m(
                        3,
                        [m(
                            2,
                            [
                                v(1, 100),
                                m(2, [m(1, [m(1, [s(1, "app"), s(2, "web")])]), s(3, "zone")]),
                            ],
                        )],
                    ),
                ],
            ),
            s(19, "default-scheduler"),
            v(21, 0),
            m(
                22,
                [
                    s(1, "node.kubernetes.io/not-ready"),
                    s(2, "Exists"),
                    s(3, ""),
                    s(4, "NoExecute"),
                    v(5, 300),
                ],
            ),
            m(23, [s(1, "10.0.0.1"), s(2, "a.example"), s(2, "b.example")]),
            m(
                26,
                [
                    s(1, "1.1.1.1"),
                    s(2, "cluster.local"),
                    m(3, [s(1, "ndots"), s(2, "2")]),
                ],
            ),
            m(28, [s(1, "example.com/ready")]),
            m(
                33,
                [
                    v(1, 1),
                    s(2, "zone"),
                    s(3, "DoNotSchedule"),
                    m(4, [m(1, [s(1, "app"), s(2, "web")])]),
                ],
            ),
        ],
    );
    let status = m(
        3,
        [
            s(1, "Running"),
            m(
                2,
                [
                    s(1, "Ready"),
                    s(2, "True"),
                    b(3, b""),
                    m(4, [v(1, 1_735_787_045)]),
                    s(5, ""),
                    s(6, ""),
                ],
            ),
            s(5, "10.0.0.5"),
            s(6, "10.244.0.7"),
            m(7, [v(1, 1_795_518_134), v(2, 999_999_999)]),
            m(
                8,
                [
                    s(1, "app"),
                    m(
                        2,
                        [m(
                            3,
                            [
                                v(1, u64::MAX),
                                v(2, 0),
                                s(3, "Error"),
                                s(4, ""),
                                b(5, b""),
                                b(6, b""),
                                s(7, ""),
                            ],
                        )],
                    ),
                    m(3, []),
                    v(4, 0),
                    v(5, 2),
                    s(6, "nginx:1.27"),
                    s(7, "sha256:abc"),
                    s(8, ""),
                ],
            ),
            s(9, "Burstable"),
            m(12, [s(1, "10.244.0.7")]),
            v(17, 0),
        ],
    );
    let raw = [fresh_meta("web"), spec, status].concat();
    let got = decode("v1", "Pod", &raw).unwrap_or_else(|e| panic!("{e}"));
    let want = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "creationTimestamp": null},
        "spec": {
            "volumes": [
                {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                {"name": "cfg", "configMap": {"name": "cm", "items": [{"key": "a", "path": "a.txt", "mode": 256}], "defaultMode": 420}},
                {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 384, "optional": true}},
                {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
                {"name": "claim", "persistentVolumeClaim": {"claimName": "pvc", "readOnly": true}},
                {"name": "down", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}]}},
                {"name": "proj", "projected": {"sources": [
                    {"serviceAccountToken": {"audience": "vault", "expirationSeconds": 3600, "path": "token"}},
                    {"secret": {"name": "sec"}}
                ]}}
            ],
            "containers": [{
                "name": "app",
                "image": "nginx:1.27",
                "args": ["--flag"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"containerPort": 0}],
                "env": [
                    {"name": "PLAIN", "value": "x"},
                    {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}},
                    {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k", "optional": false}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                    {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}
                ],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "100m"},
                    "claims": [{"name": "gpu"}]
                },
                "volumeMounts": [{"name": "data", "readOnly": true, "mountPath": "/data"}],
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP", "httpHeaders": [{"name": "X-A", "value": "b"}]},
                    "initialDelaySeconds": 3,
                    "periodSeconds": 10
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}},
                "lifecycle": {"postStart": {"exec": {"command": ["true"]}}, "preStop": {"sleep": {"seconds": 5}}},
                "securityContext": {
                    "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                    "privileged": false,
                    "runAsUser": 0,
                    "runAsNonRoot": true,
                    "allowPrivilegeEscalation": false,
                    "seccompProfile": {"type": "RuntimeDefault"}
                },
                "envFrom": [{"prefix": "P_", "configMapRef": {"name": "cm", "optional": true}}, {"secretRef": {"name": "sec"}}],
                "startupProbe": {"exec": {"command": ["cat", "/tmp/ok"]}, "grpc": {"port": 9000, "service": "svc"}}
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "nodeSelector": {"disk": "ssd"},
            "serviceAccountName": "sa",
            "serviceAccount": "sa",
            "securityContext": {
                "runAsUser": 1000,
                "runAsNonRoot": true,
                "supplementalGroups": [1, 2, 3, 4],
                "fsGroup": 2000,
                "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]
            },
            "imagePullSecrets": [{"name": "regcred"}],
            "affinity": {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
                ]}},
                "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}, "topologyKey": "kubernetes.io/hostname"}
                ]},
                "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}}
                ]}
            },
            "schedulerName": "default-scheduler",
            "automountServiceAccountToken": false,
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a.example", "b.example"]}],
            "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["cluster.local"], "options": [{"name": "ndots", "value": "2"}]},
            "readinessGates": [{"conditionType": "example.com/ready"}],
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}}]
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2025-01-02T03:04:05Z"}],
            "hostIP": "10.0.0.5",
            "podIP": "10.244.0.7",
            // metav1.Time drops the nanoseconds.
            "startTime": "2026-11-24T11:02:14Z",
            "containerStatuses": [{
                "name": "app",
                "state": {"terminated": {"exitCode": -1, "reason": "Error", "startedAt": null, "finishedAt": null}},
                "lastState": {},
                "ready": false,
                "restartCount": 2,
                "image": "nginx:1.27",
                "imageID": "sha256:abc"
            }],
            "qosClass": "Burstable",
            "podIPs": [{"ip": "10.244.0.7"}]
        }
    });
    assert_eq!(got, want);
}

#[test]
fn object_meta_every_field() {
    let meta = m(
        1,
        [
            s(1, "rs-1"),
            s(2, "rs-"),
            s(3, "ns"),
            s(4, ""),
            s(5, "8b4c7d1e-0000-4000-8000-000000000001"),
            s(6, "42"),
            v(7, 1 << 40),
            m(8, [v(1, 1_735_787_045)]),
            m(9, [v(1, 1_795_518_134)]),
            v(10, 0),
            entry(11, "app", "web"),
            entry(11, "tier", "fe"),
            entry(12, "note", ""),
            m(
                13,
                [
                    s(1, "Deployment"),
                    s(3, "web"),
                    s(4, "uid-1"),
                    s(5, "apps/v1"),
                    v(6, 1),
                    v(7, 1),
                ],
            ),
            s(14, "example.com/f"),
            m(
                17,
                [
                    s(1, "kubectl-create"),
                    s(2, "Update"),
                    s(3, "apps/v1"),
                    m(4, [v(1, 1_735_787_045)]),
                    s(6, "FieldsV1"),
                    m(
                        7,
                        [s(1, r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}"#)],
                    ),
                    s(8, ""),
                ],
            ),
        ],
    );
    let got = decode("apps/v1", "ReplicaSet", &meta).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "rs-1",
                "generateName": "rs-",
                "namespace": "ns",
                "uid": "8b4c7d1e-0000-4000-8000-000000000001",
                "resourceVersion": "42",
                "generation": 1_099_511_627_776_i64,
                "creationTimestamp": "2025-01-02T03:04:05Z",
                "deletionTimestamp": "2026-11-24T11:02:14Z",
                "deletionGracePeriodSeconds": 0,
                "labels": {"app": "web", "tier": "fe"},
                "annotations": {"note": ""},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "uid-1", "controller": true, "blockOwnerDeletion": true}],
                "finalizers": ["example.com/f"],
                "managedFields": [{
                    "manager": "kubectl-create",
                    "operation": "Update",
                    "apiVersion": "apps/v1",
                    "time": "2025-01-02T03:04:05Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}
                }]
            }
        })
    );
}

#[test]
fn deployment_pointer_zero_and_omitempty_zero() {
    let spec = m(
        2,
        [
            v(1, 0),                     // replicas: *int32, kept
            m(2, []),                    // selector: present, empty
            m(3, [b(1, &[]), m(2, [])]), // template
            m(
                4,
                [
                    s(1, "RollingUpdate"),
                    m(
                        2,
                        [
                            m(1, [v(1, 1), v(2, 0), s(3, "25%")]),
                            m(2, [v(1, 0), v(2, 1), s(3, "")]),
                        ],
                    ),
                ],
            ),
            v(5, 0),   // minReadySeconds: omitempty
            v(6, 10),  // revisionHistoryLimit
            v(7, 0),   // paused: omitempty
            v(9, 600), // progressDeadlineSeconds
        ],
    );
    let status = m(
        3,
        [
            v(1, 7),
            v(2, 3),
            v(3, 0),
            v(4, 0),
            v(5, 0),
            m(
                6,
                [
                    s(1, "Available"),
                    s(2, "True"),
                    m(6, [v(1, 1_735_787_045)]),
                    m(7, [v(1, 1_735_787_045)]),
                    s(4, "MinimumReplicasAvailable"),
                    s(5, "ok"),
                ],
            ),
            v(7, 0),
            v(8, 0),
        ],
    );
    let got =
        decode("apps/v1", "Deployment", &[spec, status].concat()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {
                "replicas": 0,
                "selector": {},
                "template": {"metadata": {}, "spec": {}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": {
                "observedGeneration": 7,
                "replicas": 3,
                "collisionCount": 0,
                "conditions": [{
                    "type": "Available",
                    "status": "True",
                    "lastUpdateTime": "2025-01-02T03:04:05Z",
                    "lastTransitionTime": "2025-01-02T03:04:05Z",
                    "reason": "MinimumReplicasAvailable",
                    "message": "ok"
                }]
            }
        })
    );
}

#[test]
fn service_status_and_session_affinity() {
    let spec = m(
        2,
        [
            m(
                1,
                [
                    s(1, "dns"),
                    s(2, "UDP"),
                    v(3, 53),
                    m(4, [v(1, 0), v(2, 53), s(3, "")]),
                    v(5, 0),
                    s(6, "dns"),
                ],
            ),
            s(3, "10.96.0.10"),
            s(4, "ClusterIP"),
            s(7, "ClientIP"),
            v(13, 1),
            m(14, [m(1, [v(1, 10800)])]),
            s(17, "SingleStack"),
            s(18, "10.96.0.10"),
            s(19, "IPv4"),
            s(22, "Cluster"),
        ],
    );
    let status = m(
        3,
        [
            m(
                1,
                [m(
                    1,
                    [
                        s(1, "1.2.3.4"),
                        s(2, ""),
                        m(4, [v(1, 80), s(2, "TCP"), s(3, "Pending")]),
                        s(3, "VIP"),
                    ],
                )],
            ),
            m(
                2,
                [
                    s(1, "Ready"),
                    s(2, "True"),
                    v(3, 2),
                    m(4, [v(1, 1_735_787_045)]),
                    s(5, "Ok"),
                    s(6, ""),
                ],
            ),
        ],
    );
    let got = decode("v1", "Service", &[spec, status].concat()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "spec": {
                "ports": [{"name": "dns", "protocol": "UDP", "appProtocol": "dns", "port": 53, "targetPort": 53}],
                "clusterIP": "10.96.0.10",
                "clusterIPs": ["10.96.0.10"],
                "type": "ClusterIP",
                "sessionAffinity": "ClientIP",
                "publishNotReadyAddresses": true,
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster"
            },
            "status": {
                "loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP", "error": "Pending"}]}]},
                "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2, "lastTransitionTime": "2025-01-02T03:04:05Z", "reason": "Ok", "message": ""}]
            }
        })
    );
}

#[test]
fn lease_micro_time() {
    let spec = m(
        2,
        [
            s(1, "node-a"),
            v(2, 40),
            m(3, [v(1, 1_795_518_134), v(2, 123_456_789)]),
            m(4, [v(1, 1_795_518_134)]),
            v(5, 0),
        ],
    );
    let got = decode("coordination.k8s.io/v1", "Lease", &spec).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        got,
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "spec": {
                "holderIdentity": "node-a",
                "leaseDurationSeconds": 40,
                "acquireTime": "2026-11-24T11:02:14.123456Z",
                "renewTime": "2026-11-24T11:02:14.000000Z",
                "leaseTransitions": 0
            }
        })
    );
}

#[test]
fn times_zero_and_edges() {
    // Event.firstTimestamp / lastTimestamp are Time, eventTime MicroTime.
    let raw = |first: Vec<u8>, event: Vec<u8>| [m(6, [first]), m(10, [event])].concat();
    let got = |raw: Vec<u8>| decode("v1", "Event", &raw);
    // Go's zero time written explicitly is null as well; so is an empty MicroTime.
    let zero = (-62_135_596_800_i64) as u64;
    assert_eq!(
        got(raw(v(1, zero), Vec::new())).ok(),
        Some(
            json!({"apiVersion": "v1", "kind": "Event", "firstTimestamp": null, "eventTime": null})
        )
    );
    // The epoch is not zero; negative seconds before it are fine; MicroTime nanos normalize.
    assert_eq!(
        got(raw(
            v(2, 5),
            [v(1, (-1_i64) as u64), v(2, 1_500_000_000)].concat()
        ))
        .ok(),
        Some(
            json!({"apiVersion": "v1", "kind": "Event", "firstTimestamp": "1970-01-01T00:00:00Z", "eventTime": "1970-01-01T00:00:00.500000Z"})
        )
    );
    // MicroTime truncates negative nanoseconds toward zero before normalizing, as Go does.
    assert_eq!(
        got(raw(v(1, 0), v(2, (-1500_i64) as u64))).ok(),
        Some(
            json!({"apiVersion": "v1", "kind": "Event", "firstTimestamp": "1970-01-01T00:00:00Z", "eventTime": "1969-12-31T23:59:59.999999Z"})
        )
    );
    assert_eq!(
        got(raw(v(1, 253_402_300_799), Vec::new())).ok(),
        Some(
            json!({"apiVersion": "v1", "kind": "Event", "firstTimestamp": "9999-12-31T23:59:59Z", "eventTime": null})
        )
    );
    // Outside years 0..=9999: an error, not a panic.
    for secs in [253_402_300_800_i64, i64::MAX, i64::MIN, -62_167_219_201] {
        let err = got(raw(v(1, secs as u64), Vec::new())).err();
        assert!(
            matches!(
                err,
                Some(ProtoError::InvalidValue {
                    field: "firstTimestamp",
                    ..
                })
            ),
            "{secs}: {err:?}"
        );
    }
}

#[test]
fn raw_extension_and_bytes() {
    let raw = [m(2, [s(1, r#"{"spec":{"template":{"x":1}}}"#)]), v(3, 4)].concat();
    assert_eq!(
        decode("apps/v1", "ControllerRevision", &raw).ok(),
        Some(
            json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "data": {"spec": {"template": {"x": 1}}}, "revision": 4})
        )
    );
    assert_eq!(
        decode("apps/v1", "ControllerRevision", &m(2, [])).ok(),
        Some(json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "data": null}))
    );
    let err = decode("apps/v1", "ControllerRevision", &m(2, [s(1, "{not json")])).err();
    assert!(
        matches!(
            err,
            Some(ProtoError::InvalidValue {
                message: "ControllerRevision",
                field: "data",
                ..
            })
        ),
        "{err:?}"
    );

    // Secret data: bytes map values, a missing value is empty; stringData is plain text;
    // immutable is a pointer (false kept); invalid UTF-8 in strings is replaced.
    let raw = [
        m(2, [s(1, "bin"), b(2, &[0, 255, 1])]),
        m(2, [s(1, "empty")]),
        m(4, [s(1, "k"), b(2, &[b'a', 0xff, b'b'])]),
        v(5, 0),
        s(3, "Opaque"),
    ]
    .concat();
    assert_eq!(
        decode("v1", "Secret", &raw).ok(),
        Some(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "data": {"bin": "AP8B", "empty": ""},
            "type": "Opaque",
            "stringData": {"k": "a\u{fffd}b"},
            "immutable": false
        }))
    );
}

#[test]
fn wire_details() {
    // Unknown fields of every wire type are skipped, at the top level and nested; a
    // singular message seen twice is merged; the last scalar wins; a map key seen twice
    // keeps the last value.
    let raw = [
        v(99, 1),
        [key(98, 1), vec![1, 2, 3, 4, 5, 6, 7, 8]].concat(),
        [key(97, 5), vec![1, 2, 3, 4]].concat(),
        [
            key(1_000_000, 0),
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ]
        .concat(),
        s(96, "ignored"),
        m(1, [s(1, "first"), v(100, 7), entry(11, "a", "1")]),
        m(
            1,
            [s(1, "second"), entry(11, "a", "2"), entry(11, "b", "3")],
        ),
        m(2, [s(1, "kubernetes")]),
    ]
    .concat();
    assert_eq!(
        decode("v1", "Namespace", &raw).ok(),
        Some(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "second", "labels": {"a": "2", "b": "3"}},
            "spec": {"finalizers": ["kubernetes"]}
        }))
    );
    // Fields of the envelope other than the four known ones are skipped too, and the
    // envelope may name the protobuf content type.
    let mut body = envelope("v1", "Namespace", &[]);
    body.extend(v(9, 1));
    body.extend(s(4, protobuf::CONTENT_TYPE));
    assert_eq!(
        protobuf::decode(&body).ok(),
        Some(json!({"apiVersion": "v1", "kind": "Namespace"}))
    );
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_envelopes() {
    let cases: Vec<(Vec<u8>, ProtoError)> = vec![
        (Vec::new(), ProtoError::BadMagic),
        (b"k8s".to_vec(), ProtoError::BadMagic),
        (b"k8s\x01\x0a\x00".to_vec(), ProtoError::BadMagic),
        (
            br#"{"kind":"Namespace","apiVersion":"v1"}"#.to_vec(),
            ProtoError::BadMagic,
        ),
        (b"k8s\0".to_vec(), ProtoError::MissingTypeMeta),
        (
            [b"k8s\0".as_slice(), &m(1, [s(1, "v1")])].concat(),
            ProtoError::MissingTypeMeta,
        ),
        // A bad varint: eleven continuation bytes.
        (
            [b"k8s\0".as_slice(), &[0x08], &[0xff; 11]].concat(),
            ProtoError::VarintOverflow,
        ),
        // A length of 2^62 claimed for `raw`.
        (
            [
                b"k8s\0".as_slice(),
                &[0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40],
            ]
            .concat(),
            ProtoError::Truncated,
        ),
        // A length just one past the end.
        (
            [b"k8s\0".as_slice(), &[0x12, 0x03, 0, 0]].concat(),
            ProtoError::Truncated,
        ),
        // Start group, end group, wire type 7.
        ([b"k8s\0".as_slice(), &[0x0b]].concat(), ProtoError::Group),
        ([b"k8s\0".as_slice(), &[0x0c]].concat(), ProtoError::Group),
        (
            [b"k8s\0".as_slice(), &[0x0f]].concat(),
            ProtoError::InvalidWireType(7),
        ),
        // TypeMeta sent as a varint.
        (
            [b"k8s\0".as_slice(), &v(1, 3)].concat(),
            ProtoError::WrongWireType {
                message: "runtime.Unknown",
                field: "typeMeta",
                found: 0,
                expected: 2,
            },
        ),
    ];
    for (body, want) in cases {
        assert_eq!(protobuf::decode(&body).err(), Some(want), "{body:02x?}");
    }
    let mut gz = envelope("v1", "Namespace", &[]);
    gz.extend(s(3, "gzip"));
    assert_eq!(
        protobuf::decode(&gz).err(),
        Some(ProtoError::UnsupportedEncoding("gzip".to_owned()))
    );
    let mut json_ct = envelope("v1", "Namespace", &[]);
    json_ct.extend(s(4, "application/json"));
    assert_eq!(
        protobuf::decode(&json_ct).err(),
        Some(ProtoError::UnsupportedContentType(
            "application/json".to_owned()
        ))
    );
}

#[test]
fn malformed_objects() {
    let cases: Vec<(&str, &str, Vec<u8>, ProtoError)> = vec![
        // metadata as a varint.
        (
            "v1",
            "Pod",
            v(1, 1),
            ProtoError::WrongWireType {
                message: "Pod",
                field: "metadata",
                found: 0,
                expected: 2,
            },
        ),
        // replicas as a string.
        (
            "apps/v1",
            "Deployment",
            m(2, [s(1, "3")]),
            ProtoError::WrongWireType {
                message: "DeploymentSpec",
                field: "replicas",
                found: 2,
                expected: 0,
            },
        ),
        // a string field as fixed32.
        (
            "v1",
            "Namespace",
            m(1, [vec![0x0d, 1, 2, 3, 4]]),
            ProtoError::WrongWireType {
                message: "ObjectMeta",
                field: "name",
                found: 5,
                expected: 2,
            },
        ),
        // a nested length running past its parent.
        (
            "v1",
            "Namespace",
            b(1, &[0x0a, 0x05, b'a']),
            ProtoError::Truncated,
        ),
        // a truncated varint inside a packed list.
        (
            "v1",
            "Pod",
            m(2, [m(14, [b(4, &[0x80])])]),
            ProtoError::Truncated,
        ),
        // IntOrString of type 2.
        (
            "v1",
            "Service",
            m(2, [m(1, [m(4, [v(1, 2)])])]),
            ProtoError::InvalidValue {
                message: "ServicePort",
                field: "targetPort",
                reason: "IntOrString type 2".to_owned(),
            },
        ),
        // An empty Quantity string does not parse upstream either.
        (
            "v1",
            "Pod",
            m(2, [m(2, [m(8, [m(1, [s(1, "cpu"), m(2, [s(1, "")])])])])]),
            ProtoError::InvalidValue {
                message: "ResourceRequirements",
                field: "limits",
                reason: "empty quantity".to_owned(),
            },
        ),
        // A group inside a nested message.
        ("v1", "ConfigMap", m(1, [vec![0x1b]]), ProtoError::Group),
    ];
    for (api_version, kind, raw, want) in cases {
        assert_eq!(
            decode(api_version, kind, &raw).err(),
            Some(want),
            "{kind} {raw:02x?}"
        );
    }
}

#[test]
fn every_truncation_of_a_capture_fails_cleanly() {
    for (name, body, _) in FIXTURES {
        // The envelope ends with the two empty fields contentEncoding and contentType
        // (4 bytes); cutting inside a field leaves a length running past the end.
        let end = body.len() - 4;
        assert_eq!(&body[end..], &[0x1a, 0x00, 0x22, 0x00], "{name}");
        // The one other clean cut is right after TypeMeta: an object without fields.
        let mut clean = 0;
        for n in 0..end {
            if let Ok(v) = protobuf::decode(&body[..n]) {
                assert_eq!(
                    v.as_object().map(serde_json::Map::len),
                    Some(2),
                    "{name}: {n}: {v}"
                );
                clean += 1;
            }
        }
        assert_eq!(clean, 1, "{name}");
        assert!(protobuf::decode(&body[..end]).is_ok(), "{name}");
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = protobuf::decode(&bytes);
            let _ = protobuf::decode(&[b"k8s\0".as_slice(), &bytes].concat());
        }

        #[test]
        fn random_objects_never_panic(
            kind in proptest::sample::select(vec![
                ("v1", "Pod"), ("v1", "Service"), ("v1", "Node"), ("v1", "Event"),
                ("apps/v1", "Deployment"), ("coordination.k8s.io/v1", "Lease"),
            ]),
            raw in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let _ = decode(kind.0, kind.1, &raw);
        }

        #[test]
        fn mutated_captures_never_panic(
            idx in 0..FIXTURES.len(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let mut body = FIXTURES[idx].1.to_vec();
            for (pos, byte) in edits {
                let pos = pos % body.len();
                body[pos] = byte;
            }
            let _ = protobuf::decode(&body);
        }
    }
}
