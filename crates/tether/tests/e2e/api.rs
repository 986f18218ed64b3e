//! Raw HTTP behaviour, checked with curl (the real client) and plain sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use tether_testkit::{ServerOptions, TetherServer};

use crate::{bin, server};

fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// A raw HTTP/1.1 request to a plain-HTTP server; returns the whole response text.
pub(crate) fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn unauthenticated_requests_get_401() {
    if !tether_testkit::require(tether_testkit::have_program("curl"), "curl") {
        return;
    }
    let s = server();
    let ca = s.data_dir.join("pki").join("ca.crt");
    let url = format!("https://{}/api/v1/namespaces/default/services", s.addr);
    let (code, body) = curl(&["--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(code, 401, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["kind"], "Status");
    assert_eq!(v["reason"], "Unauthorized");
    let (code, _) = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "-H",
        "Authorization: Bearer wrong",
        &url,
    ]);
    assert_eq!(code, 401);
    // /version and /healthz are public, as upstream's system:public-info-viewer allows.
    let (code, body) = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        &format!("https://{}/version", s.addr),
    ]);
    assert_eq!(code, 200);
    assert!(body.contains(r#""minor":"33""#), "{body}");
    let token = std::fs::read_to_string(s.data_dir.join("pki").join("admin.token")).unwrap();
    let (code, _) = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "-H",
        &format!("Authorization: Bearer {}", token.trim()),
        &url,
    ]);
    assert_eq!(code, 200);
}

#[test]
fn oversized_and_malformed_bodies() {
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            ..Default::default()
        },
    );
    let big = "x".repeat(3 * 1024 * 1024 + 10);
    let body = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{big}"}}}}"#
    );
    let req = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = http(&s.addr, &req);
    assert!(
        resp.starts_with("HTTP/1.1 413"),
        "{}",
        &resp[..resp.len().min(300)]
    );
    let bad = "{\"apiVersion\":\"v1\",";
    let req = format!(
        "POST /api/v1/namespaces/default/services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{bad}",
        bad.len()
    );
    let resp = http(&s.addr, &req);
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains(r#""reason":"BadRequest""#), "{resp}");
    // Nothing was stored by either request.
    let list = http(
        &s.addr,
        "GET /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(list.contains(r#""items":[]"#), "{list}");
}

#[test]
fn aggregated_and_legacy_discovery() {
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            ..Default::default()
        },
    );
    let resp = http(
        &s.addr,
        "GET /apis HTTP/1.1\r\nHost: x\r\nAccept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json\r\nConnection: close\r\n\r\n",
    );
    assert!(
        resp.to_ascii_lowercase().contains(
            "content-type: application/json;g=apidiscovery.k8s.io;v=v2;as=apigroupdiscoverylist"
        ),
        "{resp}"
    );
    assert!(resp.contains(r#""shortNames":["deploy"]"#), "{resp}");
    let resp = http(
        &s.addr,
        "GET /api/v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(resp.contains(r#""shortNames":["svc"]"#), "{resp}");
    assert!(resp.contains(r#""categories":["all"]"#), "{resp}");
}

/// `GET path` over plain HTTP, its JSON body (chunked or not).
pub(crate) fn get_json(addr: &str, path: &str) -> serde_json::Value {
    let resp = http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    let body = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    // Responses may be chunked; the JSON object is between the first '{' and last '}'.
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |e| e + 1);
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The `metadata.name`s of a list's items.
fn item_names(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// Creates ConfigMap `default/<name>` with `data.v = v` over plain HTTP (201 expected).
fn create_configmap(addr: &str, name: &str, v: &str) {
    let body = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"v":"{v}"}}}}"#
    );
    let req = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert!(http(addr, &req).starts_with("HTTP/1.1 201"));
}

#[test]
fn watch_from_a_compacted_revision_is_410() {
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            args: vec!["--compaction-interval-seconds".into(), "1".into()],
            ..Default::default()
        },
    );
    for i in 0..3 {
        create_configmap(&s.addr, &format!("c{i}"), "v");
    }
    // Two compaction periods: history before the writes is gone.
    std::thread::sleep(Duration::from_millis(2600));
    let resp = http(
        &s.addr,
        "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(resp.contains(r#""type":"ERROR""#), "{resp}");
    assert!(resp.contains(r#""code":410"#), "{resp}");
    assert!(resp.contains("too old resource version: 2"), "{resp}");
}

/// The pages of a paginated list are one snapshot: objects created, changed or deleted
/// after the first page do not show on the next ones, every page reports the first page's
/// resourceVersion, and a token whose revision was compacted is upstream's 410 Expired.
#[test]
fn paginated_lists_are_one_snapshot() {
    let s = TetherServer::start(
        bin(),
        ServerOptions {
            plain_http: true,
            args: vec!["--compaction-interval-seconds".into(), "1".into()],
            ..Default::default()
        },
    );
    let post = |name: &str, v: &str| create_configmap(&s.addr, name, v);
    let get = |query: &str| {
        get_json(
            &s.addr,
            &format!("/api/v1/namespaces/default/configmaps?{query}"),
        )
    };
    for i in 0..5 {
        post(&format!("c{i}"), "old");
    }
    let first = get("limit=2");
    let rv = first["metadata"]["resourceVersion"].clone();
    let mut token = first["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_owned();
    // Changes after the first page.
    post("c2a", "new");
    post("c9", "new");
    let del = http(
        &s.addr,
        "DELETE /api/v1/namespaces/default/configmaps/c3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(del.starts_with("HTTP/1.1 200"), "{del}");
    let mut names = item_names(&first);
    loop {
        let page = get(&format!("limit=2&continue={token}"));
        assert_eq!(page["metadata"]["resourceVersion"], rv, "{page}");
        names.extend(item_names(&page));
        match page["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_owned(),
            _ => break,
        }
    }
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
    // A fresh list sees the changes.
    assert_eq!(item_names(&get("")), ["c0", "c1", "c2", "c2a", "c4", "c9"]);
    // After two compaction periods the first token's revision is gone: 410 Expired.
    std::thread::sleep(Duration::from_millis(2600));
    let expired = get(&format!(
        "limit=2&continue={}",
        first["metadata"]["continue"].as_str().unwrap_or_default()
    ));
    assert_eq!(expired["code"], 410, "{expired}");
    assert_eq!(expired["reason"], "Expired", "{expired}");
    assert!(
        expired["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The provided continue parameter is too old")),
        "{expired}"
    );
    // With a token that goes on from the same key at the latest revision, as upstream's:
    // the remainder after c0, c1 as things are now.
    let token = expired["metadata"]["continue"]
        .as_str()
        .expect("inconsistent token");
    let rest = get(&format!("limit=10&continue={token}"));
    assert_eq!(item_names(&rest), ["c2", "c2a", "c4", "c9"], "{rest}");
}
