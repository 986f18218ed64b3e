//! Loading and attaching in the kernel (needs root; skipped loudly otherwise, and a failure
//! under `CI=true`, see `tether_netns::testing::require_root`).

use tether_bpf::asm::{Asm, Cond, Size, helper};
use tether_bpf::{
    Error, Link, Map, MapType, NO_COMMON_LRU, PROG_TYPE_SCHED_CLS, Program, TcxHook, tcx_attach,
    tcx_detach, tcx_query,
};
use tether_netns::NetNs;
use tether_netns::testing::{require_root, unique_name};

/// A program that counts packets in slot 0 of an array map and passes them on.
fn counter(map: &Map) -> Vec<u8> {
    let mut a = Asm::new();
    a.st(Size::W, 10, -4, 0)
        .ld_map(1, map.fd())
        .mov(2, 10)
        .add_imm(2, -4)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "out")
        .mov_imm(1, 1)
        .atomic_add32(0, 0, 1)
        .label("out")
        .mov_imm(0, -1)
        .exit();
    a.finish().expect("assembles")
}

/// A test namespace with a veth pair `tb0`/`tb1`.
async fn veth_ns() -> (NetNs, tether_netns::Handle) {
    let ns = NetNs::create(&unique_name("tbpf-")).expect("netns");
    let h = ns.handle().await.expect("handle");
    tether_netns::create_veth(&h, "tb0", "tb1")
        .await
        .expect("veth");
    (ns, h)
}

#[tokio::test]
async fn a_program_loads_attaches_to_a_veth_and_sees_its_packets() {
    if !require_root() {
        return;
    }
    let (ns, h) = veth_ns().await;
    for l in ["tb0", "tb1", "lo"] {
        tether_netns::set_up(&h, l).await.expect("up");
    }
    let index = tether_netns::link_index(&h, "tb0").await.expect("index");
    let map = Map::create(MapType::Array, 4, 4, 1).expect("map");
    map.update(&0u32.to_ne_bytes(), &0u32.to_ne_bytes())
        .expect("update");
    assert!(matches!(
        map.update(&[0u8; 3], &[0u8; 4]),
        Err(Error::Size { what: "key", .. })
    ));
    let prog = Program::load(PROG_TYPE_SCHED_CLS, "count", &counter(&map)).expect("loads");
    // Attach inside the namespace (the index is the namespace's), send a few frames out of
    // tb1 so that they enter tb0.
    let link = ns
        .run(|| Link::tcx(&prog, index, TcxHook::Ingress))
        .expect("netns")
        .expect("attach");
    tether_netns::add_address(&h, "tb1", "10.99.0.1/24".parse().expect("net"))
        .await
        .expect("addr");
    ns.run(|| {
        let s = std::net::UdpSocket::bind("10.99.0.1:0").expect("bind");
        s.set_broadcast(true).expect("broadcast");
        for _ in 0..5 {
            let _ = s.send_to(b"x", "10.99.0.255:9");
        }
    })
    .expect("netns");
    let seen = map
        .lookup(&0u32.to_ne_bytes())
        .expect("lookup")
        .and_then(|v| v.try_into().ok())
        .map_or(0, u32::from_ne_bytes);
    assert!(seen >= 5, "the program saw {seen} packets");
    drop(link);
    ns.delete().expect("delete netns");
}

#[test]
fn the_verifier_log_comes_back() {
    if !require_root() {
        return;
    }
    // Returns without setting r0: rejected.
    let mut a = Asm::new();
    a.exit();
    match Program::load(PROG_TYPE_SCHED_CLS, "bad", &a.finish().expect("assembles")) {
        Err(Error::Verifier { log, .. }) => assert!(log.contains("R0"), "{log}"),
        other => panic!("expected a verifier error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_attachment_without_a_link_is_found_again_with_its_maps_and_replaced_in_place() {
    if !require_root() {
        return;
    }
    let (ns, h) = veth_ns().await;
    let index = tether_netns::link_index(&h, "tb0").await.expect("index");
    let map = Map::create_named(MapType::Array, 4, 4, 1, 0, "tether_counter").expect("map");
    assert_eq!(map.info().expect("info").name, "tether_counter");
    let first = Program::load(PROG_TYPE_SCHED_CLS, "tether_first", &counter(&map)).expect("load");
    ns.run(|| tcx_attach(&first, index, TcxHook::Ingress, None))
        .expect("netns")
        .expect("attach");
    // Nothing holds the attachment: the descriptors go, the program stays.
    drop((first, map));
    let ids = ns
        .run(|| tcx_query(index, TcxHook::Ingress))
        .expect("netns")
        .expect("query");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let found = Program::from_id(ids[0]).expect("by id");
    let info = found.info().expect("info");
    assert_eq!((info.id, info.name.as_str()), (ids[0], "tether_first"));
    assert_eq!(info.map_ids.len(), 1, "{info:?}");
    let map = Map::from_id(info.map_ids[0]).expect("map by id");
    assert_eq!(map.info().expect("info").name, "tether_counter");
    map.update(&0u32.to_ne_bytes(), &7u32.to_ne_bytes())
        .expect("update through the recovered map");
    assert_eq!(
        map.next_key(None).expect("first key"),
        Some(0u32.to_ne_bytes().to_vec())
    );
    assert_eq!(map.next_key(Some(&0u32.to_ne_bytes())).expect("next"), None);
    // Replaced in place, then detached.
    let second = Program::load(PROG_TYPE_SCHED_CLS, "tether_second", &counter(&map)).expect("load");
    ns.run(|| tcx_attach(&second, index, TcxHook::Ingress, Some(&found)))
        .expect("netns")
        .expect("replace");
    let ids = ns
        .run(|| tcx_query(index, TcxHook::Ingress))
        .expect("netns")
        .expect("query");
    assert_eq!(ids, vec![second.info().expect("info").id]);
    ns.run(|| tcx_detach(&second, index, TcxHook::Ingress))
        .expect("netns")
        .expect("detach");
    assert!(
        ns.run(|| tcx_query(index, TcxHook::Ingress))
            .expect("netns")
            .expect("query")
            .is_empty()
    );
    let lru = Map::create_named(MapType::LruHash, 4, 4, 64, NO_COMMON_LRU, "tether_lru")
        .expect("per-CPU LRU");
    assert_eq!(lru.info().expect("info").flags, NO_COMMON_LRU);
    let hash = Map::create(MapType::Hash, 4, 4, 4).expect("hash");
    hash.update(&1u32.to_ne_bytes(), &2u32.to_ne_bytes())
        .expect("update");
    assert!(hash.delete(&1u32.to_ne_bytes()).expect("delete"));
    assert!(!hash.delete(&1u32.to_ne_bytes()).expect("delete again"));
    ns.delete().expect("delete netns");
}
