//! The conformance battery every [`Backend`] passes (hickory's `basic_battery!` pattern).
//!
//! Each property is a plain `async fn(&dyn Backend, prefix)`; [`battery!`](crate::battery)
//! stamps one `#[tokio::test]` per property for a backend constructor. Every test works under
//! its own key prefix so a shared etcd can serve them all.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::{
    Backend, Compare, Error, EventKind, ListOptions, Op, Revision, Txn, TxnResult, WatchStream,
};

fn put(k: &str, v: &str) -> Op {
    Op::Put(k.to_owned(), Bytes::copy_from_slice(v.as_bytes()))
}

async fn committed(s: &dyn Backend, t: Txn) -> Revision {
    match s.txn(t).await.unwrap() {
        TxnResult::Committed(r) => r,
        TxnResult::Failed(i) => panic!("txn failed at compare {i}"),
    }
}

pub async fn create_get_and_revisions(s: &dyn Backend, p: &str) {
    let k = format!("{p}a");
    let r1 = committed(
        s,
        Txn::new()
            .when(Compare::Absent(k.clone()))
            .then(put(&k, "1")),
    )
    .await;
    assert!(r1 > 0);
    let kv = s.get(&k).await.unwrap().unwrap();
    assert_eq!(kv.value, Bytes::from_static(b"1"));
    assert_eq!(kv.create_revision, r1);
    assert_eq!(kv.mod_revision, r1);
    assert!(s.current_revision().await.unwrap() >= r1);
    let r2 = committed(
        s,
        Txn::new()
            .when(Compare::ModRevision(k.clone(), r1))
            .then(put(&k, "2")),
    )
    .await;
    assert!(r2 > r1, "every write gets a greater revision");
    let kv = s.get(&k).await.unwrap().unwrap();
    assert_eq!((kv.create_revision, kv.mod_revision), (r1, r2));
    assert!(s.get(&format!("{p}missing")).await.unwrap().is_none());
}

pub async fn compares_fail_without_writing(s: &dyn Backend, p: &str) {
    let a = format!("{p}a");
    let b = format!("{p}b");
    let r = committed(s, Txn::new().then(put(&a, "x"))).await;
    // Second compare fails: neither op may be applied.
    let res = s
        .txn(
            Txn::new()
                .when(Compare::Absent(b.clone()))
                .when(Compare::Absent(a.clone()))
                .then(put(&b, "y"))
                .then(put(&a, "y")),
        )
        .await
        .unwrap();
    assert_eq!(res, TxnResult::Failed(1));
    assert!(s.get(&b).await.unwrap().is_none());
    assert_eq!(s.get(&a).await.unwrap().unwrap().mod_revision, r);
    // Stale mod revision.
    let res = s
        .txn(
            Txn::new()
                .when(Compare::ModRevision(a.clone(), r - 1))
                .then(put(&a, "z")),
        )
        .await
        .unwrap();
    assert_eq!(res, TxnResult::Failed(0));
    // ModRevision on a missing key fails.
    let res = s
        .txn(
            Txn::new()
                .when(Compare::ModRevision(b.clone(), r))
                .then(put(&b, "z")),
        )
        .await
        .unwrap();
    assert_eq!(res, TxnResult::Failed(0));
}

pub async fn multi_op_txn_is_one_revision(s: &dyn Backend, p: &str) {
    let keys: Vec<String> = (0..3).map(|i| format!("{p}k{i}")).collect();
    let mut t = Txn::new();
    for k in &keys {
        t = t.when(Compare::Absent(k.clone())).then(put(k, "v"));
    }
    let r = committed(s, t).await;
    for k in &keys {
        assert_eq!(s.get(k).await.unwrap().unwrap().mod_revision, r);
    }
    let r2 = committed(
        s,
        Txn::new()
            .then(Op::Delete(keys[0].clone()))
            .then(put(&keys[1], "w")),
    )
    .await;
    assert!(r2 > r);
    assert!(s.get(&keys[0]).await.unwrap().is_none());
    assert_eq!(s.get(&keys[1]).await.unwrap().unwrap().mod_revision, r2);
}

pub async fn list_prefix_and_pages(s: &dyn Backend, p: &str) {
    for i in 0..7 {
        committed(s, Txn::new().then(put(&format!("{p}items/{i}"), "v"))).await;
    }
    committed(s, Txn::new().then(put(&format!("{p}itemsx"), "other"))).await;
    let prefix = format!("{p}items/");
    let all = s.list(&prefix, ListOptions::default()).await.unwrap();
    assert_eq!(all.kvs.len(), 7);
    assert!(!all.more);
    assert!(all.revision >= all.kvs.iter().map(|k| k.mod_revision).max().unwrap());
    let keys: Vec<_> = all.kvs.iter().map(|k| k.key.clone()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = s
            .list(
                &prefix,
                ListOptions {
                    start_after: start.clone(),
                    limit: 3,
                    revision: None,
                },
            )
            .await
            .unwrap();
        assert!(page.kvs.len() <= 3);
        seen.extend(page.kvs.iter().map(|k| k.key.clone()));
        if !page.more {
            break;
        }
        start = page.kvs.last().map(|k| k.key.clone());
    }
    assert_eq!(seen, keys);
}

/// The pages of one list read at one revision: keys created, changed and deleted after it
/// do not show (etcd's ranged read at a revision; the API server's continue tokens).
pub async fn list_at_a_revision(s: &dyn Backend, p: &str) {
    let prefix = format!("{p}snap/");
    for i in 0..6 {
        committed(s, Txn::new().then(put(&format!("{prefix}{i}"), "old"))).await;
    }
    let first = s
        .list(
            &prefix,
            ListOptions {
                limit: 2,
                ..ListOptions::default()
            },
        )
        .await
        .unwrap();
    let at = first.revision;
    // After the first page: one key changes, one goes, two are new (one sorts early).
    committed(s, Txn::new().then(put(&format!("{prefix}3"), "new"))).await;
    committed(s, Txn::new().then(Op::Delete(format!("{prefix}4")))).await;
    committed(s, Txn::new().then(put(&format!("{prefix}2a"), "new"))).await;
    committed(s, Txn::new().then(put(&format!("{prefix}9"), "new"))).await;
    committed(s, Txn::new().then(put(&format!("{p}snapx"), "other"))).await;
    let mut seen: Vec<(String, Bytes)> = first
        .kvs
        .iter()
        .map(|k| (k.key.clone(), k.value.clone()))
        .collect();
    let mut start = first.kvs.last().map(|k| k.key.clone());
    let mut more = first.more;
    while more {
        let page = s
            .list(
                &prefix,
                ListOptions {
                    start_after: start.clone(),
                    limit: 2,
                    revision: Some(at),
                },
            )
            .await
            .unwrap();
        assert_eq!(page.revision, at);
        assert!(page.kvs.len() <= 2);
        seen.extend(page.kvs.iter().map(|k| (k.key.clone(), k.value.clone())));
        start = page.kvs.last().map(|k| k.key.clone());
        more = page.more;
    }
    let want: Vec<(String, Bytes)> = (0..6)
        .map(|i| (format!("{prefix}{i}"), Bytes::from_static(b"old")))
        .collect();
    assert_eq!(seen, want);
    // The same revision whole, and the latest.
    let at_rev = || {
        s.list(
            &prefix,
            ListOptions {
                revision: Some(at),
                ..ListOptions::default()
            },
        )
    };
    let whole = at_rev().await.unwrap();
    assert_eq!(whole.kvs.len(), 6);
    assert!(whole.kvs.iter().all(|k| k.mod_revision <= at));
    let now = s.list(&prefix, ListOptions::default()).await.unwrap();
    let keys: Vec<&str> = now.kvs.iter().map(|k| &k.key[prefix.len()..]).collect();
    assert_eq!(keys, ["0", "1", "2", "2a", "3", "5", "9"]);
    // Once compacted past it, the revision is gone.
    s.compact(now.revision).await.unwrap();
    match at_rev().await {
        Err(Error::Compacted { .. }) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
}

/// An unpaginated list larger than a gRPC client's default 4 MiB message limit comes back
/// whole (kube-apiserver lists without a limit; etcd answers in one range response).
pub async fn large_unpaginated_list(s: &dyn Backend, p: &str) {
    // 1 MiB values stay under etcd's default 1.5 MiB request limit; 6 of them make > 4 MiB.
    let value = Bytes::from(vec![b'x'; 1 << 20]);
    for i in 0..6 {
        let op = Op::Put(format!("{p}big/{i}"), value.clone());
        committed(s, Txn::new().then(op)).await;
    }
    let all = s
        .list(&format!("{p}big/"), ListOptions::default())
        .await
        .unwrap();
    assert_eq!(all.kvs.len(), 6);
    assert!(!all.more);
    assert!(all.kvs.iter().all(|kv| kv.value == value));
}

async fn next_event(w: &mut WatchStream) -> crate::Event {
    tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("watch event in time")
        .expect("stream open")
        .expect("no error")
}

pub async fn watch_replays_then_follows(s: &dyn Backend, p: &str) {
    let a = format!("{p}w/a");
    let r0 = s.current_revision().await.unwrap();
    let r1 = committed(s, Txn::new().then(put(&a, "1"))).await;
    committed(s, Txn::new().then(put(&format!("{p}other"), "x"))).await;
    let r2 = committed(s, Txn::new().then(put(&a, "2"))).await;
    let prefix = format!("{p}w/");
    let mut w = s.watch(&prefix, r0).await.unwrap();
    let e1 = next_event(&mut w).await;
    assert_eq!((e1.kind, e1.kv.mod_revision), (EventKind::Put, r1));
    assert!(e1.prev.is_none());
    let e2 = next_event(&mut w).await;
    assert_eq!((e2.kind, e2.kv.mod_revision), (EventKind::Put, r2));
    assert_eq!(e2.prev.unwrap().value, Bytes::from_static(b"1"));
    let r3 = committed(s, Txn::new().then(Op::Delete(a.clone()))).await;
    let e3 = next_event(&mut w).await;
    assert_eq!((e3.kind, e3.kv.mod_revision), (EventKind::Delete, r3));
    assert_eq!(e3.prev.unwrap().value, Bytes::from_static(b"2"));
    // Watching from r1 starts after r1.
    let mut w2 = s.watch(&prefix, r1).await.unwrap();
    assert_eq!(next_event(&mut w2).await.kv.mod_revision, r2);
    assert_eq!(next_event(&mut w2).await.kv.mod_revision, r3);
}

pub async fn watch_sees_concurrent_writes_in_order(s: &dyn Backend, p: &str) {
    let r0 = s.current_revision().await.unwrap();
    let prefix = format!("{p}c/");
    let mut w = s.watch(&prefix, r0).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let k = format!("{prefix}{i}");
        tasks.push(
            Txn::new()
                .when(Compare::Absent(k.clone()))
                .then(put(&k, "v")),
        );
    }
    let results = futures::future::join_all(tasks.into_iter().map(|t| s.txn(t))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(TxnResult::Committed(_))))
    );
    let mut last = r0;
    for _ in 0..20 {
        let e = next_event(&mut w).await;
        assert!(e.kv.mod_revision > last, "revisions strictly increase");
        last = e.kv.mod_revision;
    }
}

pub async fn concurrent_creates_one_winner(s: Arc<dyn Backend>, p: &str) {
    let k = format!("{p}race");
    let mut handles = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let k = k.clone();
        handles.push(tokio::spawn(async move {
            s.txn(
                Txn::new()
                    .when(Compare::Absent(k.clone()))
                    .then(put(&k, &i.to_string())),
            )
            .await
            .unwrap()
        }));
    }
    let mut wins = 0;
    for h in handles {
        if matches!(h.await.unwrap(), TxnResult::Committed(_)) {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

pub async fn compacted_history_is_gone(s: &dyn Backend, p: &str) {
    let k = format!("{p}old");
    let r1 = committed(s, Txn::new().then(put(&k, "1"))).await;
    let r2 = committed(s, Txn::new().then(put(&k, "2"))).await;
    s.compact(r2).await.unwrap();
    match s.watch(p, r1 - 1).await {
        Err(Error::Compacted { .. }) => {}
        Err(e) => panic!("expected Compacted, got {e}"),
        Ok(mut w) => match w.next().await {
            Some(Err(Error::Compacted { .. })) => {}
            other => panic!("expected Compacted, got {other:?}"),
        },
    }
    // The current value is still there, and watching from the compaction point works.
    assert_eq!(s.get(&k).await.unwrap().unwrap().mod_revision, r2);
    let mut w = s.watch(p, r2).await.unwrap();
    let r3 = committed(s, Txn::new().then(put(&k, "3"))).await;
    assert_eq!(next_event(&mut w).await.kv.mod_revision, r3);
}

/// Stamps one test per battery property for a backend.
///
/// `$make` is an expression evaluating to `Option<(Arc<dyn Backend>, guard)>`; the guard keeps
/// whatever the backend needs (a temp dir, an etcd process) alive for the test, and `None`
/// skips the test (the backend reported why, loudly).
#[macro_export]
macro_rules! battery {
    ($make:expr) => {
        $crate::battery!(@one $make, create_get_and_revisions);
        $crate::battery!(@one $make, compares_fail_without_writing);
        $crate::battery!(@one $make, multi_op_txn_is_one_revision);
        $crate::battery!(@one $make, list_prefix_and_pages);
        $crate::battery!(@one $make, large_unpaginated_list);
        $crate::battery!(@one $make, list_at_a_revision);
        $crate::battery!(@one $make, watch_replays_then_follows);
        $crate::battery!(@one $make, watch_sees_concurrent_writes_in_order);
        $crate::battery!(@one $make, compacted_history_is_gone);
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_creates_one_winner() {
            let Some((store, _guard)) = $make else { return };
            $crate::testing::concurrent_creates_one_winner(store, "/battery/concurrent_creates_one_winner/").await;
        }
    };
    (@one $make:expr, $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some((store, _guard)) = $make else { return };
            $crate::testing::$name(&*store, concat!("/battery/", stringify!($name), "/")).await;
        }
    };
}
