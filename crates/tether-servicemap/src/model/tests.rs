use super::*;
use proptest::prelude::*;
use serde_json::json;

fn svc(v: serde_json::Value) -> Service {
    serde_json::from_value(v).expect("service")
}

fn slice(v: serde_json::Value) -> EndpointSlice {
    serde_json::from_value(v).expect("slice")
}

fn web() -> Service {
    svc(json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.50", "clusterIPs": ["10.96.0.50"],
            "ports": [
                {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
                {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053}
            ],
            "externalIPs": ["192.168.50.5"],
            "sessionAffinity": "ClientIP",
            "externalTrafficPolicy": "Local",
            "healthCheckNodePort": 32000,
            "internalTrafficPolicy": "Cluster",
            "loadBalancerSourceRanges": [" 192.168.77.0/24 ", "bogus"]
        },
        "status": {"loadBalancer": {"ingress": [
            {"ip": "192.168.100.10"},
            {"ip": "192.168.100.11", "ipMode": "Proxy"},
            {"hostname": "lb.example"}
        ]}}
    }))
}

fn web_slice() -> EndpointSlice {
    slice(json!({
        "metadata": {"name": "web-abc", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                  {"name": "dns", "port": 5353, "protocol": "UDP"}],
        "endpoints": [
            {"addresses": ["10.244.1.3"], "nodeName": "node-a",
             "conditions": {"ready": true}},
            {"addresses": ["10.244.1.2"], "nodeName": "node-b"},
            {"addresses": ["10.244.1.4"], "nodeName": "node-a",
             "conditions": {"ready": false, "serving": true, "terminating": true}},
            {"addresses": ["not-an-ip"]}
        ]
    }))
}

#[test]
fn builds_ports_and_endpoints() {
    let map = ServiceMap::from_objects(&[web()], &[web_slice()], "node-a");
    assert_eq!(map.len(), 2);
    let http = map
        .get(&ServicePortName::new(
            "default",
            "web",
            "http",
            Protocol::Tcp,
        ))
        .expect("http port");
    let i = &http.info;
    assert_eq!(
        i.cluster_ips,
        vec!["10.96.0.50".parse::<IpAddr>().expect("ip")]
    );
    assert_eq!(i.port, 80);
    assert_eq!(i.node_port, Some(30080));
    assert_eq!(i.service_type, ServiceType::LoadBalancer);
    assert_eq!(i.external_ips.len(), 1);
    assert_eq!(
        i.load_balancer_ips,
        vec!["192.168.100.10".parse::<IpAddr>().expect("ip")]
    );
    assert_eq!(
        i.session_affinity_timeout,
        Some(DEFAULT_AFFINITY_TIMEOUT_SECONDS)
    );
    assert_eq!(i.external_traffic_policy, TrafficPolicy::Local);
    assert_eq!(i.health_check_node_port, Some(32000));
    assert_eq!(
        i.load_balancer_source_ranges,
        vec!["192.168.77.0/24".parse::<IpNet>().expect("net")]
    );
    let ips: Vec<String> = http.endpoints.iter().map(|e| e.ip.to_string()).collect();
    assert_eq!(ips, ["10.244.1.2", "10.244.1.3", "10.244.1.4"]);
    assert!(http.endpoints.iter().all(|e| e.port == 8080));
    let e2 = &http.endpoints[0];
    assert!(e2.ready && e2.serving && !e2.terminating && !e2.is_local);
    let e3 = &http.endpoints[1];
    assert!(e3.is_local && e3.ready);
    let e4 = &http.endpoints[2];
    assert!(!e4.ready && e4.serving && e4.terminating && e4.is_local);

    let dns = map
        .get(&ServicePortName::new(
            "default",
            "web",
            "dns",
            Protocol::Udp,
        ))
        .expect("dns port");
    assert_eq!(dns.info.protocol, Protocol::Udp);
    assert!(dns.endpoints.iter().all(|e| e.port == 5353));
}

#[test]
fn skips_external_name_headless_and_foreign_proxies() {
    let services = [
        svc(json!({"metadata": {"name": "ext", "namespace": "a"},
                   "spec": {"type": "ExternalName", "externalName": "example.com"}})),
        svc(json!({"metadata": {"name": "hl", "namespace": "a"},
                   "spec": {"clusterIP": "None", "ports": [{"port": 80}]}})),
        svc(json!({"metadata": {"name": "other", "namespace": "a",
                                "labels": {"service.kubernetes.io/service-proxy-name": "x"}},
                   "spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}})),
        svc(json!({"metadata": {"name": "pending", "namespace": "a"},
                   "spec": {"ports": [{"port": 80}]}})),
        svc(json!({"metadata": {"name": "nospec", "namespace": "a"}})),
    ];
    assert!(ServiceMap::from_objects(&services, &[], "n").is_empty());
}

#[test]
fn clusterip_defaults_and_port_matching() {
    let s = svc(json!({
        "metadata": {"name": "api", "namespace": "ns"},
        "spec": {"clusterIP": "10.96.0.7", "ports": [{"port": 443, "nodePort": 30001}],
                 "externalTrafficPolicy": "Local", "sessionAffinity": "ClientIP",
                 "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}
    }));
    let slices = [
        // Wrong port name: ignored.
        slice(json!({"metadata": {"name": "s1", "namespace": "ns",
                                  "labels": {"kubernetes.io/service-name": "api"}},
                     "addressType": "IPv4",
                     "ports": [{"name": "x", "port": 1}],
                     "endpoints": [{"addresses": ["10.0.0.1"]}]})),
        // Other namespace: ignored.
        slice(json!({"metadata": {"name": "s2", "namespace": "other",
                                  "labels": {"kubernetes.io/service-name": "api"}},
                     "addressType": "IPv4",
                     "ports": [{"port": 6443}],
                     "endpoints": [{"addresses": ["10.0.0.2"]}]})),
        // FQDN: ignored.
        slice(json!({"metadata": {"name": "s3", "namespace": "ns",
                                  "labels": {"kubernetes.io/service-name": "api"}},
                     "addressType": "FQDN",
                     "ports": [{"port": 6443}],
                     "endpoints": [{"addresses": ["example.com"]}]})),
        // Two slices with the same endpoint: deduplicated.
        slice(json!({"metadata": {"name": "s4", "namespace": "ns",
                                  "labels": {"kubernetes.io/service-name": "api"}},
                     "addressType": "IPv4",
                     "ports": [{"port": 6443}],
                     "endpoints": [{"addresses": ["10.0.0.3"]}]})),
        slice(json!({"metadata": {"name": "s5", "namespace": "ns",
                                  "labels": {"kubernetes.io/service-name": "api"}},
                     "addressType": "IPv4",
                     "ports": [{"port": 6443, "protocol": "TCP"}],
                     "endpoints": [{"addresses": ["10.0.0.3"]}]})),
    ];
    let map = ServiceMap::from_objects(&[s], &slices, "n");
    let p = map
        .get(&ServicePortName::new("ns", "api", "", Protocol::Tcp))
        .expect("port");
    // ClusterIP services have no nodePort and no external policy.
    assert_eq!(p.info.node_port, None);
    assert_eq!(p.info.external_traffic_policy, TrafficPolicy::Cluster);
    assert_eq!(p.info.session_affinity_timeout, Some(60));
    assert_eq!(p.endpoints.len(), 1);
    assert_eq!(p.endpoints[0].port, 6443);
}

fn arb_map() -> impl Strategy<Value = ServiceMap> {
    let ep = (0u8..4, any::<bool>()).prop_map(|(i, ready)| Endpoint {
        ready,
        terminating: !ready,
        ..Endpoint::ready(IpAddr::from([10, 244, 1, i]), 80)
    });
    let entry = (0u8..6, 0u16..3, proptest::collection::vec(ep, 0..4));
    proptest::collection::vec(entry, 0..6).prop_map(|entries| {
        let mut map = ServiceMap::new();
        for (svc, port, eps) in entries {
            let info =
                ServiceInfo::cluster_ip(IpAddr::from([10, 96, 0, svc]), 80 + port, Protocol::Tcp);
            map.insert(
                ServicePortName::new("ns", &format!("s{svc}"), &format!("p{port}"), Protocol::Tcp),
                info,
                eps,
            );
        }
        map
    })
}

proptest! {
    #[test]
    fn applying_changes_reaches_the_new_map(a in arb_map(), b in arb_map()) {
        let mut m = a.clone();
        apply(&mut m, &changes(&a, &b));
        prop_assert_eq!(&m, &b);
        prop_assert!(changes(&b, &b).is_empty());
    }
}

/// The ports of Service `ns/s<svc>` in `m`, as a map of their own.
fn only(m: &ServiceMap, svc: &str) -> ServiceMap {
    ServiceMap {
        ports: m
            .ports
            .iter()
            .filter(|(k, _)| k.name == svc)
            .map(|(k, v)| (Arc::clone(k), Arc::clone(v)))
            .collect(),
    }
}

proptest! {
    /// Replacing Service by Service reaches the new map; the names and entries that did
    /// not change keep their `Arc`s.
    #[test]
    fn replacing_services_one_by_one_reaches_the_new_map(a in arb_map(), b in arb_map()) {
        let mut m = a.clone();
        let mut any = false;
        for i in 0..6 {
            let s = format!("s{i}");
            // A fresh build of the Service: new allocations, equal values.
            let fresh = ServiceMap {
                ports: only(&b, &s).ports.iter()
                    .map(|(k, v)| (Arc::new((**k).clone()), Arc::new((**v).clone())))
                    .collect(),
            };
            any |= m.replace_service("ns", &s, fresh);
        }
        prop_assert_eq!(&m, &b);
        prop_assert_eq!(any, a != b);
        for (k, v) in &m.ports {
            if let Some((ak, av)) = a.ports.get_key_value(&**k) {
                prop_assert!(Arc::ptr_eq(k, ak));
                if av == v {
                    prop_assert!(Arc::ptr_eq(v, av));
                }
            }
        }
        // A full rebuild adopting the previous map's Arcs reports the same.
        let mut rebuilt = b.clone();
        rebuilt.ports = rebuilt.ports.iter()
            .map(|(k, v)| (Arc::new((**k).clone()), Arc::new((**v).clone())))
            .collect();
        prop_assert_eq!(rebuilt.adopt_unchanged(&a), a != b);
        prop_assert_eq!(&rebuilt, &b);
        let only_real = changes(&a, &rebuilt).iter().all(|u| match u {
            Update::Upsert(n, v) => a.get(n) != Some(&**v),
            Update::Remove(_) => true,
        });
        prop_assert!(only_real);
        // And unchanged entries are shared by pointer (what `changes` relies on to skip).
        for (k, v) in &rebuilt.ports {
            if let Some((ak, av)) = a.ports.get_key_value(&**k) {
                prop_assert!(Arc::ptr_eq(k, ak));
                if av == v {
                    prop_assert!(Arc::ptr_eq(v, av));
                }
            }
        }
    }
}
