//! The official client libraries, unchanged, against `tether server` (TLS, token auth, embedded
//! store): the Python `kubernetes` client (a script under `tests/clients/`) and kube-rs.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::runtime::{WatchStreamExt, watcher::Event};
use kube::{Client, Config};
use serde_json::json;

use crate::server;

/// How long the Python script may run before it is killed.
const PYTHON_DEADLINE: Duration = Duration::from_secs(300);

fn python_has_kubernetes() -> bool {
    Command::new("python3")
        .args(["-c", "import kubernetes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn python_official_client() {
    if !tether_testkit::require(
        python_has_kubernetes(),
        "python3 with the official `kubernetes` client (pip install kubernetes; scripts/deps.sh)",
    ) {
        return;
    }
    let s = server();
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "clients",
        "python_client.py",
    ]
    .iter()
    .collect();
    let out_dir = tempfile::tempdir().expect("temp dir");
    let stdout_path = out_dir.path().join("stdout");
    let stderr_path = out_dir.path().join("stderr");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(s.kubeconfig())
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("spawn python3");
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for python3") {
            break Some(st);
        }
        if started.elapsed() > PYTHON_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let report = format!(
        "--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- server log (tail)\n{}",
        tether_testkit::node::tail(&s.log_text(), 60)
    );
    let Some(status) = status else {
        panic!("python_client.py still running after {PYTHON_DEADLINE:?}; killed\n{report}");
    };
    assert!(
        status.success(),
        "python_client.py failed ({status})\n{report}"
    );
    assert!(
        stdout.contains("PASS: the official Python client works against tether"),
        "python_client.py exited 0 without its PASS line\n{report}"
    );
    println!("{stdout}");
}

/// A kube-rs client from the server's admin kubeconfig, as a program would build one.
async fn kube_client(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("read the kubeconfig");
    let cfg = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config from the kubeconfig");
    Client::try_from(cfg).expect("kube client")
}

/// The next item of a stream, with a deadline (`None` when it ends or times out).
async fn next<S>(s: &mut S, within: Duration) -> Option<S::Item>
where
    S: WatchStreamExt + Unpin,
{
    tokio::time::timeout(
        within,
        std::future::poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)),
    )
    .await
    .ok()
    .flatten()
}

fn service(name: &str, labels: serde_json::Value) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"app": name},
            "ports": [
                {"name": "http", "port": 80},
                {"name": "metrics", "port": 9090, "targetPort": 9091},
            ],
        },
    }))
    .expect("a Service")
}

fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("want kube::Error::Api, got {other:?}"),
    }
}

fn names(list: &[Service]) -> Vec<String> {
    let mut v: Vec<String> = list
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_client() {
    let s = server();
    let client = kube_client(&s.kubeconfig()).await;
    let version = client.apiserver_version().await.expect("/version");
    assert!(!version.git_version.is_empty(), "{version:?}");

    // Discovery as kube-rs runs it.
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .expect("API discovery");
    for g in ["", "apps", "discovery.k8s.io"] {
        assert!(discovery.has_group(g), "group {g:?} not discovered");
    }

    let svcs: Api<Service> = Api::default_namespaced(client.clone());
    let pp = PostParams::default();

    // Create and get: a ClusterIP is allocated and upstream's defaults are set.
    let created = svcs
        .create(&pp, &service("web", json!({"suite": "kube-rs"})))
        .await
        .expect("create web");
    let spec = created.spec.clone().expect("spec");
    let ip = spec.cluster_ip.clone().expect("clusterIP allocated");
    assert!(ip.starts_with("10."), "clusterIP {ip}");
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    let got = svcs.get("web").await.expect("get web");
    assert_eq!(got.metadata.uid, created.metadata.uid);
    let gspec = got.spec.expect("spec");
    assert_eq!(gspec.cluster_ips, Some(vec![ip.clone()]));
    let ports = gspec.ports.expect("ports");
    assert_eq!(ports.len(), 2, "{ports:?}");
    for p in &ports {
        assert_eq!(p.protocol.as_deref(), Some("TCP"), "{p:?}");
        assert!(p.node_port.is_none(), "{p:?}");
    }
    assert_eq!(ports[0].target_port, Some(IntOrString::Int(80)));

    // List with a label selector.
    svcs.create(&pp, &service("other", json!({"suite": "elsewhere"})))
        .await
        .expect("create other");
    let listed = svcs
        .list(&ListParams::default().labels("suite=kube-rs"))
        .await
        .expect("list suite=kube-rs");
    assert_eq!(names(&listed.items), ["web"]);
    let listed = svcs
        .list(&ListParams::default().labels("suite in (kube-rs,elsewhere)"))
        .await
        .expect("list suite in (...)");
    assert_eq!(names(&listed.items), ["other", "web"]);

    // JSON merge patch.
    let merged = svcs
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "frontend"}}})),
        )
        .await
        .expect("merge patch");
    let labels = merged.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("tier").map(String::as_str),
        Some("frontend"),
        "{labels:?}"
    );
    assert_eq!(
        labels.get("suite").map(String::as_str),
        Some("kube-rs"),
        "{labels:?}"
    );

    // Server-side apply with a field manager: onto the live object, and creating a missing one.
    let applied = svcs
        .patch(
            "web",
            &PatchParams::apply("tether-e2e"),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "annotations": {"example.com/owner": "e2e"}},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
            })),
        )
        .await
        .expect("server-side apply");
    let ann = applied.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        ann.get("example.com/owner").map(String::as_str),
        Some("e2e")
    );
    let aspec = applied.spec.clone().expect("spec");
    assert_eq!(
        aspec.cluster_ip,
        Some(ip.clone()),
        "apply changed the clusterIP"
    );
    assert_eq!(
        applied
            .metadata
            .labels
            .unwrap_or_default()
            .get("tier")
            .map(String::as_str),
        Some("frontend"),
        "apply dropped a label it does not mention"
    );
    // Another manager changing a field "tether-e2e" applied: 409 with upstream's cause type.
    let conflict = svcs
        .patch(
            "web",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "changed"}},
            })),
        )
        .await;
    match conflict {
        Err(kube::Error::Api(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"), "{e:?}");
            // The creator (an Update by this client) and "tether-e2e" (which applied the same
            // value, so shares it) both own the field.
            assert!(
                e.message.contains(r#"conflicts with "tether-e2e":"#)
                    && e.message.contains(".spec.selector.app"),
                "{e:?}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = svcs
        .patch(
            "web",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "changed"}},
            })),
        )
        .await
        .expect("forced apply");
    assert_eq!(
        forced
            .spec
            .and_then(|s| s.selector)
            .and_then(|s| s.get("app").cloned())
            .as_deref(),
        Some("changed")
    );
    let created_by_apply = svcs
        .patch(
            "applied",
            &PatchParams::apply("tether-e2e"),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "applied", "labels": {"suite": "kube-rs"}},
                "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]},
            })),
        )
        .await
        .expect("server-side apply of a new Service");
    let cspec = created_by_apply.spec.expect("spec");
    assert!(cspec.cluster_ip.is_some_and(|c| c.starts_with("10.")));
    assert_eq!(
        cspec.ports.unwrap_or_default()[0].target_port,
        Some(IntOrString::Int(53))
    );

    // Replace with the current resourceVersion; a stale one conflicts.
    let mut cur = svcs.get("web").await.expect("get web");
    let stale = cur.clone();
    cur.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("example.com/replaced".into(), "yes".into());
    let replaced = svcs.replace("web", &pp, &cur).await.expect("replace");
    assert_eq!(
        replaced
            .metadata
            .annotations
            .unwrap_or_default()
            .get("example.com/replaced")
            .map(String::as_str),
        Some("yes")
    );
    let st = api_status(
        svcs.replace("web", &pp, &stale)
            .await
            .expect_err("stale replace"),
    );
    assert!(st.is_conflict(), "{st:?}");

    // Errors: duplicate create, missing object, invalid port.
    let st = api_status(
        svcs.create(&pp, &service("web", json!({})))
            .await
            .expect_err("duplicate create"),
    );
    assert_eq!(st.code, 409, "{st:?}");
    assert_eq!(st.reason, "AlreadyExists", "{st:?}");
    assert!(st.is_already_exists());
    assert_eq!(st.message, r#"services "web" already exists"#);
    let st = api_status(svcs.get("missing").await.expect_err("get missing"));
    assert!(st.is_not_found(), "{st:?}");
    assert_eq!(st.code, 404);
    let mut bad = service("bad", json!({}));
    if let Some(p) = bad
        .spec
        .as_mut()
        .and_then(|s| s.ports.as_mut())
        .and_then(|p| p.get_mut(1))
    {
        p.port = 0;
    }
    let st = api_status(svcs.create(&pp, &bad).await.expect_err("port 0"));
    assert_eq!((st.code, st.reason.as_str()), (422, "Invalid"), "{st:?}");
    assert_eq!(
        st.message,
        r#"Service "bad" is invalid: spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"#
    );
    assert!(svcs.get_opt("missing").await.expect("get_opt").is_none());

    // Watches: the raw watch API (Added/Modified/Deleted) and kube-runtime's watcher.
    let rv = svcs
        .list(&ListParams::default().labels("watched=yes"))
        .await
        .expect("list before watching")
        .metadata
        .resource_version
        .expect("list resourceVersion");
    let mut raw = Box::pin(
        svcs.watch(
            &WatchParams::default().labels("watched=yes").timeout(60),
            &rv,
        )
        .await
        .expect("watch"),
    );
    let mut rt = Box::pin(watcher(
        svcs.clone(),
        watcher::Config::default().labels("watched=yes"),
    ));
    loop {
        match next(&mut rt, Duration::from_secs(20)).await {
            Some(Ok(Event::InitDone)) => break,
            Some(Ok(Event::Init)) => {}
            other => panic!("watcher before InitDone: {other:?}"),
        }
    }
    svcs.create(&pp, &service("watched", json!({"watched": "yes"})))
        .await
        .expect("create watched");
    svcs.patch(
        "watched",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"step": "two"}}})),
    )
    .await
    .expect("patch watched");
    svcs.delete("watched", &DeleteParams::default())
        .await
        .expect("delete watched");

    let mut seen = Vec::new();
    while seen.len() < 3 {
        match next(&mut raw, Duration::from_secs(20)).await {
            Some(Ok(WatchEvent::Added(o))) => seen.push(("ADDED", o)),
            Some(Ok(WatchEvent::Modified(o))) => seen.push(("MODIFIED", o)),
            Some(Ok(WatchEvent::Deleted(o))) => seen.push(("DELETED", o)),
            Some(Ok(WatchEvent::Bookmark(_))) => {}
            other => panic!("raw watch after {seen:?}: {other:?}"),
        }
    }
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    for (_, o) in &seen {
        assert_eq!(o.metadata.name.as_deref(), Some("watched"));
    }
    assert_eq!(
        seen[1]
            .1
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("step"))
            .map(String::as_str),
        Some("two")
    );

    let mut rt_seen = Vec::new();
    while !rt_seen.contains(&"Delete") {
        match next(&mut rt, Duration::from_secs(20)).await {
            Some(Ok(Event::Apply(o))) => {
                assert_eq!(o.metadata.name.as_deref(), Some("watched"));
                rt_seen.push("Apply");
            }
            Some(Ok(Event::Delete(o))) => {
                assert_eq!(o.metadata.name.as_deref(), Some("watched"));
                rt_seen.push("Delete");
            }
            other => panic!("watcher after {rt_seen:?}: {other:?}"),
        }
    }
    assert_eq!(rt_seen, ["Apply", "Apply", "Delete"]);

    // EndpointSlices from the EndpointSlice controller.
    let slices: Api<EndpointSlice> = Api::default_namespaced(client.clone());
    let lp = ListParams::default().labels("kubernetes.io/service-name=web");
    let deadline = Instant::now() + Duration::from_secs(30);
    let items = loop {
        let l = slices.list(&lp).await.expect("list EndpointSlices");
        if !l.items.is_empty() {
            break l.items;
        }
        assert!(Instant::now() < deadline, "no EndpointSlice for web");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for sl in &items {
        assert_eq!(sl.address_type, "IPv4");
        let owner = sl
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.kind == "Service");
        assert_eq!(owner.map(|o| o.name.as_str()), Some("web"), "{sl:?}");
    }
    let all: Api<EndpointSlice> = Api::all(client.clone());
    assert!(
        !all.list(&ListParams::default())
            .await
            .expect("list all EndpointSlices")
            .items
            .is_empty()
    );

    // Delete everything.
    for n in ["web", "other", "applied"] {
        svcs.delete(n, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete {n}: {e}"));
    }
    let st = api_status(
        svcs.delete("web", &DeleteParams::default())
            .await
            .expect_err("second delete"),
    );
    assert!(st.is_not_found(), "{st:?}");
    let left = svcs.list(&ListParams::default()).await.expect("list");
    assert_eq!(names(&left.items), ["kubernetes"]);
}
