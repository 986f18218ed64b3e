//! A libnftables context inside namespaces this test creates (needs root; skipped
//! otherwise, a failure under `CI=true`).

use tether_libnft::{Error, LibNft};
use tether_netns::NetNs;
use tether_netns::testing::{require_root, unique_name};

#[test]
fn scripts_run_as_transactions_inside_the_namespace() {
    if !require_root() {
        return;
    }
    let a = NetNs::create(&unique_name("tl")).expect("netns a");
    let b = NetNs::create(&unique_name("tl")).expect("netns b");
    let in_a = LibNft::open(Some(a.path())).expect("context in a");
    let in_b = LibNft::open(Some(b.path())).expect("context in b");

    in_a.run("add table ip t\nadd chain ip t c\nadd set ip t s { type ipv4_addr; }\n")
        .expect("create");
    in_a.run("add element ip t s { 10.96.0.1, 10.96.0.2 }\n")
        .expect("elements");
    in_a.run("delete element ip t s { 10.96.0.1 }\n")
        .expect("delete");
    // Output is captured, not printed.
    let listed = in_a.run("list set ip t s\n").expect("list");
    assert!(
        listed.contains("10.96.0.2") && !listed.contains("10.96.0.1"),
        "{listed}"
    );

    // A failing script is one transaction: its valid first line did not happen either,
    // and the error reads as nft's.
    let err = in_a
        .run("add chain ip t d\nadd rule ip t nosuchchain accept\n")
        .expect_err("rejected");
    assert!(
        matches!(&err, Error::Rejected(m) if m.contains("Error:")),
        "{err}"
    );
    let listed = in_a.run("list table ip t\n").expect("list");
    assert!(!listed.contains("chain d"), "{listed}");

    // The socket lives in namespace a: b sees no table t.
    assert!(in_b.run("list table ip t\n").is_err());
    assert_eq!(in_b.run("list tables\n").expect("list b").trim(), "");

    assert!(matches!(in_a.run("list tables\0"), Err(Error::Nul)));
}
