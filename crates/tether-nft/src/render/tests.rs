use super::*;
use proptest::prelude::*;
use tether_servicemap::{Protocol, ServiceType, TrafficPolicy, changes};

fn cfg() -> Config {
    Config {
        node_ips: vec![Ipv4Addr::new(192, 168, 77, 1)],
        cluster_cidr: Some("10.244.0.0/16".parse().expect("cidr")),
        ..Config::default()
    }
}

/// kube-proxy's layout for every port (no fast path).
fn kp_cfg() -> Config {
    Config {
        fast_path: false,
        ..cfg()
    }
}

fn info(ip: [u8; 4], port: u16) -> ServiceInfo {
    ServiceInfo::cluster_ip(IpAddr::from(ip), port, Protocol::Tcp)
}

fn ep(last: u8, port: u16) -> Endpoint {
    Endpoint {
        node_name: Some("node-a".into()),
        is_local: true,
        ..Endpoint::ready(IpAddr::from([10, 244, 1, last]), port)
    }
}

fn name(svc: &str, port: &str) -> ServicePortName {
    ServicePortName::new("default", svc, port, Protocol::Tcp)
}

fn lines(script: &str) -> Vec<&str> {
    script.lines().collect()
}

#[test]
fn chain_names_like_upstream() {
    let n = name("web", "http");
    let base = port_chain_base(&n);
    assert!(base.ends_with("-default/web/tcp/http"), "{base}");
    assert_eq!(base.len(), 8 + 1 + "default/web/tcp/http".len());
    let e = endpoint_chain_base(&n, Ipv4Addr::new(10, 244, 1, 2), 8080);
    assert!(e.ends_with("-default/web/tcp/http__10.244.1.2/8080"), "{e}");
    // Hostile input cannot break out of the identifier.
    let evil = ServicePortName::new("a b", "x;flush ruleset", "p\n", Protocol::Udp);
    let b = port_chain_base(&evil);
    assert!(
        b.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)),
        "{b}"
    );
}

#[test]
fn clusterip_golden() {
    let mut map = ServiceMap::new();
    map.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(2, 8080), ep(3, 8080)],
    );
    let (script, state) = full(&kp_cfg(), &map);
    let l = lines(&script);
    assert_eq!(l[0], "add table ip tether");
    assert_eq!(l[1], "delete table ip tether");
    let svc = format!("service-{}", port_chain_base(&name("web", "http")));
    let e2 = format!(
        "endpoint-{}",
        endpoint_chain_base(&name("web", "http"), Ipv4Addr::new(10, 244, 1, 2), 8080)
    );
    let e3 = format!(
        "endpoint-{}",
        endpoint_chain_base(&name("web", "http"), Ipv4Addr::new(10, 244, 1, 3), 8080)
    );
    for want in [
        "add chain ip tether nat-prerouting { type nat hook prerouting priority -100 ; policy accept ; }".to_owned(),
        "add rule ip tether services ip daddr . meta l4proto . th dport vmap @service-ips".to_owned(),
        "add rule ip tether services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports".to_owned(),
        "add rule ip tether mark-for-masquerade meta mark set meta mark | 0x00004000".to_owned(),
        "add element ip tether nodeport-ips { 192.168.77.1 }".to_owned(),
        format!("add chain ip tether {svc}"),
        format!("add rule ip tether {svc} ip daddr 10.96.0.50 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade"),
        format!("add rule ip tether {svc} numgen random mod 2 0 goto {e2}"),
        format!("add rule ip tether {svc} goto {e3}"),
        format!("add rule ip tether {e2} ip saddr 10.244.1.2 jump mark-for-masquerade"),
        format!("add rule ip tether {e2} meta l4proto tcp dnat to 10.244.1.2:8080"),
        format!("add element ip tether service-ips {{ 10.96.0.50 . tcp . 80 : goto {svc} }}"),
        "add element ip tether cluster-ips { 10.96.0.50 }".to_owned(),
    ] {
        assert!(l.contains(&want.as_str()), "missing {want:?} in\n{script}");
    }
    assert_eq!(state.len(), 1);
    // No external chain for a ClusterIP service.
    assert!(!script.contains("external-"));
}

#[test]
fn endpoint_choice_cascade_then_vmap() {
    let n = name("web", "http");
    let dispatch = |count: usize| {
        let eps: Vec<Endpoint> = (0..count)
            .map(|i| ep(u8::try_from(i).expect("small") + 2, 8080))
            .collect();
        let sp = ServicePort {
            info: info([10, 96, 0, 50], 80),
            endpoints: eps,
        };
        let rules = render_port(&kp_cfg(), &n, &sp);
        let chain = rules
            .chains
            .get(&format!("service-{}", port_chain_base(&n)))
            .expect("service chain")
            .clone();
        // The masquerade rule comes first; the rest picks an endpoint.
        chain[1..].to_vec()
    };
    let three = dispatch(3);
    assert!(
        three[0].starts_with("numgen random mod 3 0 goto endpoint-"),
        "{three:?}"
    );
    assert!(
        three[1].starts_with("numgen random mod 2 0 goto endpoint-"),
        "{three:?}"
    );
    assert!(three[2].starts_with("goto endpoint-"), "{three:?}");
    assert_eq!(three.len(), 3);
    let max = dispatch(CASCADE_MAX_ENDPOINTS);
    assert_eq!(max.len(), CASCADE_MAX_ENDPOINTS);
    assert!(max.iter().all(|r| !r.contains("vmap")), "{max:?}");
    let big = dispatch(CASCADE_MAX_ENDPOINTS + 1);
    assert_eq!(big.len(), 1, "{big:?}");
    assert!(big[0].starts_with(&format!(
        "numgen random mod {} vmap {{ 0 : goto endpoint-",
        CASCADE_MAX_ENDPOINTS + 1
    )));
}

#[test]
fn no_endpoints_rejects_and_nodeport() {
    let mut i = info([10, 96, 0, 51], 80);
    i.node_port = Some(30080);
    i.service_type = ServiceType::NodePort;
    let mut map = ServiceMap::new();
    map.insert(name("empty", ""), i, vec![]);
    let (script, _) = full(&cfg(), &map);
    assert!(script.contains(
        "add element ip tether no-endpoint-services { 10.96.0.51 . tcp . 80 : goto reject-chain }"
    ));
    assert!(script.contains(
        "add element ip tether no-endpoint-nodeports { tcp . 30080 : goto reject-chain }"
    ));
    assert!(!script.contains("add element ip tether service-ips"));
    assert!(
        script.contains("add rule ip tether reject-chain meta l4proto tcp reject with tcp reset")
    );
}

#[test]
fn terminating_fallback_and_affinity() {
    let mut i = info([10, 96, 0, 52], 80);
    i.session_affinity_timeout = Some(60);
    let mut t = ep(4, 80);
    t.ready = false;
    t.terminating = true;
    let mut gone = ep(5, 80);
    gone.ready = false;
    gone.serving = false;
    gone.terminating = true;
    let mut map = ServiceMap::new();
    map.insert(name("t", ""), i, vec![t, gone]);
    let (script, state) = full(&cfg(), &map);
    let rules = state.port(&name("t", "")).expect("port");
    assert_eq!(rules.sets.len(), 1, "only the serving terminating endpoint");
    let b = endpoint_chain_base(&name("t", ""), Ipv4Addr::new(10, 244, 1, 4), 80);
    assert!(script.contains(&format!(
        "add set ip tether affinity-{b} {{ type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }}"
    )));
    assert!(script.contains(&format!("ip saddr @affinity-{b} goto endpoint-{b}")));
    assert!(script.contains(&format!(
        "add rule ip tether endpoint-{b} update @affinity-{b} {{ ip saddr }}"
    )));
    assert!(!script.contains("10.244.1.5"));
}

#[test]
fn external_policy_local_and_firewall() {
    let mut i = info([10, 96, 0, 53], 80);
    i.service_type = ServiceType::LoadBalancer;
    i.node_port = Some(30053);
    i.load_balancer_ips = vec![IpAddr::from([192, 168, 100, 10])];
    i.external_traffic_policy = TrafficPolicy::Local;
    i.load_balancer_source_ranges = vec!["192.168.77.0/24".parse().expect("net")];
    let mut remote = ep(9, 80);
    remote.is_local = false;
    let mut map = ServiceMap::new();
    map.insert(name("lb", ""), i.clone(), vec![ep(2, 80), remote.clone()]);
    let (script, state) = full(&cfg(), &map);
    let base = port_chain_base(&name("lb", ""));
    let rules = state.port(&name("lb", "")).expect("port");
    assert_eq!(
        rules.chains.get(&format!("external-{base}")).expect("ext"),
        &vec![
            format!("ip saddr 10.244.0.0/16 goto service-{base}"),
            "fib saddr type local jump mark-for-masquerade".to_owned(),
            format!("fib saddr type local goto service-{base}"),
            format!("goto local-{base}"),
        ]
    );
    // Node IP 192.168.77.1 is inside the range: the VIP itself is allowed too.
    assert_eq!(
        rules.chains.get(&format!("firewall-{base}")).expect("fw"),
        &vec!["ip saddr != { 192.168.77.0/24, 192.168.100.10 } drop".to_owned()]
    );
    assert!(script.contains(&format!(
        "add element ip tether firewall-ips {{ 192.168.100.10 . tcp . 80 : goto firewall-{base} }}"
    )));
    // The local chain only has the local endpoint.
    let local = rules.chains.get(&format!("local-{base}")).expect("local");
    assert_eq!(local.len(), 1);
    assert!(local[0].starts_with("goto endpoint-"), "{local:?}");

    // Without local endpoints, external traffic is dropped (not rejected).
    let mut map = ServiceMap::new();
    map.insert(name("lb", ""), i, vec![remote]);
    let (script, _) = full(&cfg(), &map);
    assert!(script.contains("add element ip tether no-endpoint-nodeports { tcp . 30053 : drop }"));
    assert!(script.contains(
        "add element ip tether no-endpoint-services { 192.168.100.10 . tcp . 80 : drop }"
    ));
}

#[test]
fn internal_policy_local_without_local_endpoints_drops() {
    let mut i = info([10, 96, 0, 54], 80);
    i.internal_traffic_policy = TrafficPolicy::Local;
    let mut remote = ep(9, 80);
    remote.is_local = false;
    let mut map = ServiceMap::new();
    map.insert(name("itp", ""), i, vec![remote]);
    let (script, _) = full(&cfg(), &map);
    assert!(
        script.contains(
            "add element ip tether no-endpoint-services { 10.96.0.54 . tcp . 80 : drop }"
        )
    );
    assert!(!script.contains("add chain ip tether endpoint-"));
}

#[test]
fn shared_keys_first_wins_and_force_full() {
    let mut a = info([10, 96, 0, 60], 80);
    a.external_ips = vec![IpAddr::from([192, 168, 50, 5])];
    let mut b = info([10, 96, 0, 61], 80);
    b.external_ips = vec![IpAddr::from([192, 168, 50, 5])];
    let mut map = ServiceMap::new();
    map.insert(name("a", ""), a, vec![ep(2, 80)]);
    map.insert(name("b", ""), b.clone(), vec![ep(3, 80)]);
    let (script, mut state) = full(&cfg(), &map);
    assert_eq!(script.matches("192.168.50.5 . tcp . 80").count(), 1);
    let mut map2 = map.clone();
    map2.insert(name("b", ""), b, vec![ep(4, 80)]);
    assert!(incremental(&cfg(), &mut state, &changes(&map, &map2)).is_err());
}

#[test]
fn incremental_touches_only_the_change() {
    let mut map = ServiceMap::new();
    for i in 0..50u8 {
        map.insert(
            name(&format!("s{i}"), ""),
            info([10, 96, 1, i], 80),
            vec![ep(2, 80)],
        );
    }
    let (_, mut state) = full(&kp_cfg(), &map);
    let mut map2 = map.clone();
    map2.insert(
        name("s7", ""),
        info([10, 96, 1, 7], 80),
        vec![ep(2, 80), ep(3, 80)],
    );
    let script = incremental(&kp_cfg(), &mut state, &changes(&map, &map2)).expect("incremental");
    assert!(!script.contains("s8"), "{script}");
    assert!(script.contains("flush chain ip tether service-"));
    assert!(script.contains("add chain ip tether endpoint-"));
    assert!(!script.contains("delete table"));
    assert_eq!(state, full(&kp_cfg(), &map2).1);
}

#[test]
fn fast_path_clusterip_is_map_elements_only() {
    let mut map = ServiceMap::new();
    map.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(2, 8080), ep(3, 8080)],
    );
    let (script, state) = full(&cfg(), &map);
    let l = lines(&script);
    for want in [
        "add rule ip tether services ip daddr @cluster-ips jump fast-dispatch",
        "add rule ip tether fast-dispatch jump fast-mark",
        "add rule ip tether fast-mark ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
        "add rule ip tether fast-dispatch meta l4proto { tcp, udp, sctp } dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 2 map @fast-endpoints-2",
        "add rule ip tether nat-postrouting ct status dnat ip saddr . ip daddr @fast-hairpin jump mark-for-masquerade",
        "add element ip tether fast-endpoints-2 { 10.96.0.50 . tcp . 80 . 0 : 10.244.1.2 . 8080, 10.96.0.50 . tcp . 80 . 1 : 10.244.1.3 . 8080 }",
        "add element ip tether fast-hairpin { 10.244.1.2 . 10.244.1.2, 10.244.1.3 . 10.244.1.3 }",
        "add element ip tether cluster-ips { 10.96.0.50 }",
    ] {
        assert!(l.contains(&want), "missing {want:?} in\n{script}");
    }
    // No per-service or per-endpoint chain, no verdict element.
    let base = port_chain_base(&name("web", "http"));
    assert!(!script.contains(&base), "{script}");
    assert!(!script.contains("chain ip tether endpoint-"), "{script}");
    assert!(
        !script.contains("add element ip tether service-ips"),
        "{script}"
    );
    // The rule order matters: the service-ips vmap (chains of the other ports) first, then
    // the fast path, ahead of the NodePort match (a `fib` lookup per new connection); the
    // hairpin mark before masquerading (rules run in the order added).
    let pos = |needle: &str| l.iter().position(|x| x.contains(needle)).expect(needle);
    assert!(pos("vmap @service-ips") < pos("jump fast-dispatch"));
    assert!(pos("jump fast-dispatch") < pos("vmap @service-nodeports"));
    assert!(
        pos("@fast-hairpin jump mark-for-masquerade") < pos("nat-postrouting jump masquerading")
    );

    // An endpoint change is element updates only: the count moves the port between maps, and
    // the hairpin set follows with reference counts.
    let mut map2 = map.clone();
    map2.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(3, 8080), ep(4, 8080), ep(5, 8080)],
    );
    map2.insert(
        name("other", ""),
        info([10, 96, 0, 51], 80),
        vec![ep(3, 80)],
    );
    let mut st = state;
    let script = incremental(&cfg(), &mut st, &changes(&map, &map2)).expect("incremental");
    for l in script.lines() {
        assert!(
            l.starts_with("add element ") || l.starts_with("delete element "),
            "{l}\n{script}"
        );
    }
    assert!(
        script.contains("delete element ip tether fast-endpoints-2 { 10.96.0.50 . tcp . 80 . 0 }")
    );
    assert!(script.contains(
        "add element ip tether fast-endpoints-3 { 10.96.0.50 . tcp . 80 . 2 : 10.244.1.5 . 8080 }"
    ));
    assert!(script.contains("delete element ip tether fast-hairpin { 10.244.1.2 . 10.244.1.2 }"));
    // 10.244.1.3 stays (still used, now by two ports): neither deleted nor added again.
    assert!(!script.contains("10.244.1.3 . 10.244.1.3"), "{script}");
    assert_eq!(st, full(&cfg(), &map2).1);
}

#[test]
fn without_the_fast_path_no_fast_objects() {
    let mut map = ServiceMap::new();
    map.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(2, 8080)],
    );
    let (script, _) = full(&kp_cfg(), &map);
    assert!(!script.contains("fast-"), "{script}");
}

#[test]
fn fast_path_only_for_plain_clusterip_ports() {
    let n = name("web", "http");
    let port = |f: &dyn Fn(&mut ServiceInfo), count: u8| {
        let mut i = info([10, 96, 0, 50], 80);
        f(&mut i);
        let sp = ServicePort {
            info: i,
            endpoints: (0..count).map(|k| ep(k + 2, 8080)).collect(),
        };
        render_port(&cfg(), &n, &sp)
    };
    let fast = |r: &PortRules| r.chains.is_empty() && !r.hairpin.is_empty();
    assert!(fast(&port(&|_| {}, 1)));
    assert!(fast(&port(&|_| {}, 16)));
    assert!(!fast(&port(&|_| {}, 17)), "above 16 endpoints: chains");
    assert!(!fast(&port(&|_| {}, 0)), "no endpoints: reject, no hairpin");
    assert!(!fast(&port(&|i| i.session_affinity_timeout = Some(30), 2)));
    assert!(!fast(&port(&|i| i.node_port = Some(30080), 2)));
    assert!(!fast(&port(
        &|i| i.internal_traffic_policy = TrafficPolicy::Local,
        2
    )));
    assert!(!fast(&port(
        &|i| i.external_ips = vec![IpAddr::from([192, 168, 100, 1])],
        2
    )));
}

fn arb_map() -> impl Strategy<Value = ServiceMap> {
    let endpoint = (2u8..6, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(last, ready, terminating, local)| {
            let mut e = ep(last, 8080);
            e.ready = ready;
            e.terminating = terminating;
            e.is_local = local;
            e
        },
    );
    let port = (
        0u8..4,
        0u8..2,
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp)],
        proptest::option::of(30000u16..30004),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(endpoint, 0..4),
    );
    proptest::collection::vec(port, 0..6).prop_map(|ports| {
        let mut map = ServiceMap::new();
        for (svc, p, proto, np, affinity, etp_local, itp_local, lb, eps) in ports {
            let mut i = info([10, 96, 2, svc], 80 + u16::from(p));
            i.protocol = proto;
            i.node_port = np.map(|n| n + 10 * u16::from(svc) + u16::from(p) * 100);
            i.session_affinity_timeout = affinity.then_some(30);
            if etp_local {
                i.external_traffic_policy = TrafficPolicy::Local;
            }
            if itp_local {
                i.internal_traffic_policy = TrafficPolicy::Local;
            }
            if lb {
                i.load_balancer_ips = vec![IpAddr::from([192, 168, 100, svc])];
                i.load_balancer_source_ranges = vec!["192.168.77.0/24".parse().expect("net")];
            }
            map.insert(
                ServicePortName::new("ns", &format!("s{svc}"), &format!("p{p}"), proto),
                i,
                eps,
            );
        }
        map
    })
}

proptest! {
    /// Bookkeeping after an incremental render equals that of a full render of the target.
    #[test]
    fn incremental_state_equals_full(a in arb_map(), b in arb_map(), fast in any::<bool>()) {
        let cfg = Config { fast_path: fast, ..cfg() };
        let (_, mut state) = full(&cfg, &a);
        if incremental(&cfg, &mut state, &changes(&a, &b)).is_ok() {
            prop_assert_eq!(&state, &full(&cfg, &b).1);
        }
    }
}

#[test]
fn fast_path_hairpin_pairs_only_for_endpoints_on_this_node() {
    let remote = Endpoint {
        node_name: Some("node-b".into()),
        is_local: false,
        ..Endpoint::ready(IpAddr::from([10, 244, 2, 7]), 8080)
    };
    let unknown = Endpoint {
        node_name: None,
        is_local: false,
        ..Endpoint::ready(IpAddr::from([10, 244, 3, 7]), 8080)
    };
    let mut map = ServiceMap::new();
    map.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(2, 8080), remote, unknown],
    );
    let (script, _) = full(&cfg(), &map);
    let l = lines(&script);
    let want =
        "add element ip tether fast-hairpin { 10.244.1.2 . 10.244.1.2, 10.244.3.7 . 10.244.3.7 }";
    assert!(l.contains(&want), "missing {want:?} in\n{script}");
    // The remote endpoint is still balanced to, without a hairpin pair.
    assert!(
        script.contains("10.96.0.50 . tcp . 80 . 1 : 10.244.2.7 . 8080"),
        "{script}"
    );
    assert!(!script.contains("10.244.2.7 . 10.244.2.7"), "{script}");
}

#[test]
fn big_sets_are_declared_with_a_size() {
    let mut sizes = BTreeMap::new();
    sizes.insert("fast-endpoints-5", 250_000usize);
    sizes.insert("cluster-ips", 16_384);
    sizes.insert("fast-hairpin", 110);
    assert_eq!(size_hint(&sizes, "fast-endpoints-5"), " size 1048576 ;");
    assert_eq!(size_hint(&sizes, "cluster-ips"), " size 65536 ;");
    assert_eq!(size_hint(&sizes, "fast-hairpin"), "");
    assert_eq!(size_hint(&sizes, "fast-endpoints-1"), "");
}

#[test]
fn live_script_rebuilds_in_place_and_keeps_the_netlink_maps() {
    let mut map = ServiceMap::new();
    map.insert(
        name("web", "http"),
        info([10, 96, 0, 50], 80),
        vec![ep(2, 8080)],
    );
    let (definition, bulk, _) = full_split(&cfg(), &map);
    assert!(!definition.contains("delete table"), "{definition}");
    assert!(bulk.iter().any(|(m, _, _)| *m == "fast-endpoints-1"));
    let live = LiveObjects {
        chains: vec![
            "nat-prerouting".into(),
            "services".into(),
            "fast-dispatch".into(),
            "fast-mark".into(),
            "service-OLD".into(),
        ],
        sets: vec![
            ("service-ips".into(), true),
            ("cluster-ips".into(), false),
            ("fast-endpoints-1".into(), true),
            ("affinity-OLD".into(), false),
        ],
    };
    let (script, refill) = live_script("tether", &live, &definition).expect("current layout");
    assert!(refill.contains(&"fast-endpoints-1") && refill.contains(&"cluster-ips"));
    assert!(!refill.contains(&"service-ips"), "{refill:?}");
    let l = lines(&script);
    let pos = |needle: &str| l.iter().position(|x| *x == needle).expect(needle);
    // Everything is flushed (the verdict map too) before a stale chain is deleted.
    assert!(pos("flush chain ip tether service-OLD") < pos("delete chain ip tether service-OLD"));
    assert!(pos("flush map ip tether service-ips") < pos("delete chain ip tether service-OLD"));
    assert!(l.contains(&"delete set ip tether affinity-OLD"));
    assert!(l.contains(&"flush chain ip tether fast-mark"));
    // The netlink maps keep their elements; fast-dispatch keeps its rules (nft 1.0.6 cannot
    // add rules on a `typeof … th dport` map it did not create in the same transaction).
    for kept in ["cluster-ips", "fast-endpoints-1", "fast-dispatch"] {
        assert!(
            !l.iter()
                .any(|x| x.starts_with("flush") && x.ends_with(kept)),
            "{kept}"
        );
        assert!(
            !l.iter()
                .any(|x| x.starts_with("delete") && x.ends_with(kept)),
            "{kept}"
        );
    }
    assert!(
        !script.contains("add rule ip tether fast-dispatch"),
        "{script}"
    );
    assert!(l.contains(
        &"add rule ip tether fast-mark ip saddr != 10.244.0.0/16 jump mark-for-masquerade"
    ));
    assert!(!script.contains("delete table"));
    // A table from before fast-mark existed is not rebuilt in place.
    let old = LiveObjects {
        chains: vec!["fast-dispatch".into()],
        sets: Vec::new(),
    };
    assert_eq!(live_script("tether", &old, &definition), None);
}

proptest! {
    #[test]
    fn push_ipv4_writes_what_display_writes(a: u8, b: u8, c: u8, d: u8) {
        let ip = Ipv4Addr::new(a, b, c, d);
        let mut s = String::new();
        push_ipv4(&mut s, ip);
        prop_assert_eq!(s, ip.to_string());
    }
}
