//! The store conformance battery, run against both backends.
#![allow(clippy::unwrap_used)]

mod embedded {
    use std::sync::Arc;

    use tether_store::{Backend, Embedded, EmbeddedOptions};

    fn make() -> Option<(Arc<dyn Backend>, tempfile::TempDir)> {
        let dir = tempfile::tempdir().unwrap();
        let s = Embedded::open(dir.path().join("store.redb"), EmbeddedOptions::default()).unwrap();
        Some((Arc::new(s), dir))
    }

    tether_store::battery!(make());
}

mod etcd {
    use std::sync::Arc;

    use tether_store::{Backend, Etcd};
    use tether_testkit::EtcdServer;

    async fn make() -> Option<(Arc<dyn Backend>, EtcdServer)> {
        let server = EtcdServer::start()?;
        let mut tries = 0;
        loop {
            match Etcd::connect(std::slice::from_ref(&server.endpoint)).await {
                Ok(s) if s.current_revision().await.is_ok() => return Some((Arc::new(s), server)),
                _ if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Ok(_) => panic!("etcd at {} does not answer", server.endpoint),
                Err(e) => panic!("etcd at {}: {e}", server.endpoint),
            }
        }
    }

    tether_store::battery!(make().await);
}

/// The embedded store keeps keys and revisions across a reopen.
#[tokio::test]
async fn embedded_reopen_keeps_data_and_revision() {
    use bytes::Bytes;
    use tether_store::{Backend, Embedded, EmbeddedOptions, Op, Txn, TxnResult};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let rev = {
        let s = Embedded::open(&path, EmbeddedOptions::default()).unwrap();
        let TxnResult::Committed(r) = s
            .txn(Txn::new().then(Op::Put("/k".into(), Bytes::from_static(b"v"))))
            .await
            .unwrap()
        else {
            panic!("txn failed")
        };
        r
    };
    // The writer thread of the first handle exits once its channel closes; redb allows one
    // open handle per file, so give it a moment.
    let mut opened = None;
    for _ in 0..50 {
        match Embedded::open(&path, EmbeddedOptions::default()) {
            Ok(s) => {
                opened = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    let s = opened.expect("reopen");
    assert_eq!(s.current_revision().await.unwrap(), rev);
    let kv = s.get("/k").await.unwrap().unwrap();
    assert_eq!(kv.mod_revision, rev);
    let TxnResult::Committed(r2) = s
        .txn(Txn::new().then(Op::Put("/k".into(), Bytes::from_static(b"w"))))
        .await
        .unwrap()
    else {
        panic!("txn failed")
    };
    assert_eq!(r2, rev + 1);
}
