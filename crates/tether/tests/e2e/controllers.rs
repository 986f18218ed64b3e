//! Controllers in `tether server`: garbage collection and namespace deletion.

use std::time::{Duration, Instant};

use crate::{kubectl, server};

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
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
    k.run(&["get", "namespace", "doomed"]).fails();
    let all = k.run(&["get", "svc,cm,deploy", "-A"]);
    assert!(!all.ok().contains("doomed"), "{}", all.stdout);
    // Creating in a deleted namespace is refused.
    let e = k.run(&["-n", "doomed", "create", "configmap", "x"]);
    assert!(
        e.fails().contains(r#"namespaces "doomed" not found"#),
        "{}",
        e.stderr
    );
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
        k.run(&["get", "cm", "dep-bg"]).code != 0
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
    k.run(&["get", "cm", "dep-fg"]).fails();

    owned(&k, "owner-or", "dep-or");
    k.run(&[
        "delete",
        "cm",
        "owner-or",
        "--cascade=orphan",
        "--timeout=30s",
    ])
    .ok();
    k.run(&["get", "cm", "owner-or"]).fails();
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
