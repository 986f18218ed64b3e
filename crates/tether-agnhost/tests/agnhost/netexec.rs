use std::net::SocketAddr;
use std::time::Duration;

use tether_agnhost::{Netexec, NetexecOptions, Result};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::common::{get, hostname, localhost, request, udp};

struct Running {
    http: SocketAddr,
    udp: Option<SocketAddr>,
    sigterm: CancellationToken,
    task: JoinHandle<Result<u8>>,
}

async fn start(tweak: impl FnOnce(&mut NetexecOptions)) -> Running {
    let mut opts = NetexecOptions {
        http_port: 0,
        udp_port: Some(0),
        bind_ip: localhost(),
        ..NetexecOptions::default()
    };
    tweak(&mut opts);
    let n = Netexec::bind(opts).await.expect("bind");
    let http = n.http_addr().expect("http addr");
    let udp = n.udp_addrs().first().copied();
    let sigterm = CancellationToken::new();
    let task = tokio::spawn(n.run(sigterm.clone()));
    Running {
        http,
        udp,
        sigterm,
        task,
    }
}

async fn exit_code(task: JoinHandle<Result<u8>>) -> u8 {
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("exits in time")
        .expect("join")
        .expect("run ok")
}

#[tokio::test]
async fn root_hostname_and_headers_look_like_go() {
    let r = start(|_| {}).await;
    let resp = get(r.http, "/").await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.starts_with("NOW: "), "{}", resp.body);
    assert!(resp.body.contains(" m=+"), "{}", resp.body);
    assert!(
        resp.head
            .contains("\r\nContent-Type: text/plain; charset=utf-8"),
        "{}",
        resp.head
    );
    assert!(resp.head.contains("\r\nContent-Length: "), "{}", resp.head);
    assert!(resp.head.contains("\r\nDate: "), "{}", resp.head);
    // Unknown paths fall through to "/" as in a Go ServeMux.
    assert!(get(r.http, "/nope").await.body.starts_with("NOW: "));
    for path in ["/hostname", "/hostName"] {
        let resp = get(r.http, path).await;
        assert_eq!((resp.status, resp.body), (200, hostname()));
    }
    // ServeMux redirects unclean paths.
    let resp = get(r.http, "//hostname?a=1").await;
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("Location").as_deref(), Some("/hostname?a=1"));
}

#[tokio::test]
async fn echo_clientip_header_redirect() {
    let r = start(|_| {}).await;
    let resp = get(r.http, "/echo?msg=hello%20world").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "hello world"));
    let resp = get(r.http, "/echo?msg=gone&code=404").await;
    assert_eq!((resp.status, resp.body.as_str()), (404, "gone"));
    let resp = get(r.http, "/echo?msg=x&code=abc").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body,
        "argument 'code' must be an integer or empty, got \"abc\"\n"
    );
    let resp = get(r.http, "/echo").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, ""));
    assert_eq!(resp.header("Content-Type"), None);
    // Out-of-range codes make Go's handler panic: the connection closes unanswered.
    assert!(
        request(r.http, "GET", "/echo?code=42", &[], "")
            .await
            .is_none()
    );
    // FormValue reads url-encoded POST bodies too.
    let resp = request(
        r.http,
        "POST",
        "/echo?msg=query",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "msg=body",
    )
    .await
    .expect("response");
    assert_eq!(resp.body, "body");

    let resp = get(r.http, "/clientip").await;
    assert_eq!(resp.body, resp.local.to_string());

    let resp = request(r.http, "GET", "/header?key=x-test", &[("X-Test", "v1")], "")
        .await
        .expect("response");
    assert_eq!(resp.body, "v1");
    let resp = request(r.http, "GET", "/header", &[("x-test", "v<1>")], "")
        .await
        .expect("response");
    let v: serde_json::Value = serde_json::from_str(&resp.body).expect("json");
    assert_eq!(v["X-Test"], serde_json::json!(["v<1>"]));
    assert!(v.get("Host").is_none(), "{v}");
    assert!(resp.body.contains("\\u003c"), "Go escapes <: {}", resp.body);

    let resp = get(r.http, "/redirect?location=/echo%3Fmsg%3Dx&code=307").await;
    assert_eq!(resp.status, 307);
    assert_eq!(resp.header("Location").as_deref(), Some("/echo?msg=x"));
    let resp = get(r.http, "/redirect?location=/hostname").await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.body, "<a href=\"/hostname\">Found</a>.\n\n");
}

#[tokio::test]
async fn health_and_readiness_follow_udp_and_sigterm() {
    let r = start(|o| o.delay_shutdown = Duration::from_secs(1)).await;
    let resp = get(r.http, "/healthz").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, ""));
    let resp = get(r.http, "/readyz").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "ok"));
    r.sigterm.cancel();
    let resp = get(r.http, "/readyz").await;
    assert_eq!((resp.status, resp.body.as_str()), (503, "shutting down"));
    assert_eq!(get(r.http, "/healthz").await.status, 200);
    assert_eq!(exit_code(r.task).await, 0);

    // Without a UDP server upstream never becomes ready.
    let r = start(|o| o.udp_port = None).await;
    assert_eq!(get(r.http, "/healthz").await.status, 412);
    assert_eq!(get(r.http, "/readyz").await.status, 412);
    r.sigterm.cancel();
    assert_eq!(exit_code(r.task).await, 0);
}

#[tokio::test]
async fn shell_runs_sh_and_returns_json() {
    let r = start(|_| {}).await;
    let resp = get(r.http, "/shell?cmd=echo%20hi").await;
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (200, r#"{"output":"hi\n"}"#)
    );
    let resp = get(r.http, "/shell?shellCommand=echo%20oops%3B%20exit%203").await;
    assert_eq!(resp.body, r#"{"error":"exit status 3","output":"oops\n"}"#);
    assert_eq!(
        resp.header("Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn udp_commands() {
    let r = start(|_| {}).await;
    let u = r.udp.expect("udp");
    assert_eq!(udp(u, "hostname").await.0, hostname());
    assert_eq!(udp(u, "echo Hello There\n").await.0, "hello there");
    let (answer, me) = udp(u, "clientip").await;
    assert_eq!(answer, me.to_string());
}

#[tokio::test]
async fn dial_http_and_udp() {
    let r = start(|_| {}).await;
    let (hp, up) = (r.http.port(), r.udp.expect("udp").port());
    let resp = get(
        r.http,
        &format!("/dial?request=hostname&host=127.0.0.1&port={hp}&protocol=http&tries=2"),
    )
    .await;
    assert_eq!(resp.status, 200);
    let h = hostname();
    assert_eq!(resp.body, format!(r#"{{"responses":["{h}","{h}"]}}"#));

    // "/echo?…" makes a "//echo" request; the ServeMux redirect is followed, as Go's client does.
    let resp = get(
        r.http,
        &format!("/dial?request=%2Fecho%3Fmsg%3Dviadial&host=localhost&port={hp}"),
    )
    .await;
    assert_eq!(resp.body, r#"{"responses":["viadial"]}"#);

    let resp = get(
        r.http,
        &format!("/dial?request=hostname&host=127.0.0.1&port={up}&protocol=udp"),
    )
    .await;
    assert_eq!(resp.body, format!(r#"{{"responses":["{h}"]}}"#));

    // A closed port: only errors.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let cp = closed.local_addr().expect("addr").port();
    drop(closed);
    let resp = get(
        r.http,
        &format!("/dial?request=hostname&host=127.0.0.1&port={cp}"),
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&resp.body).expect("json");
    assert!(v.get("responses").is_none(), "{v}");
    let err = v["errors"][0].as_str().expect("error string");
    assert!(err.contains("connection refused"), "{err}");

    let resp = get(r.http, &format!("/dial?host=127.0.0.1&port={hp}")).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.body, "request parameter not specified. <nil>\n");
    assert_eq!(
        resp.header("X-Content-Type-Options").as_deref(),
        Some("nosniff")
    );
    let resp = get(
        r.http,
        &format!("/dial?request=x&host=127.0.0.1&port={hp}&protocol=icmp"),
    )
    .await;
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (400, "unsupported protocol. icmp\n")
    );
    let resp = get(
        r.http,
        &format!("/dial?request=x&host=127.0.0.1&port={hp}&tries=x"),
    )
    .await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn exit_and_shutdown_end_the_run_with_their_codes() {
    let r = start(|_| {}).await;
    let resp = get(r.http, "/exit?code=3&timeout=1s").await;
    assert_eq!(resp.status, 200);
    assert_eq!(exit_code(r.task).await, 3);

    let r = start(|_| {}).await;
    assert!(
        request(r.http, "GET", "/exit?code=5", &[], "")
            .await
            .is_none()
    );
    assert_eq!(exit_code(r.task).await, 5);

    let r = start(|_| {}).await;
    let resp = get(r.http, "/exit?timeout=nope").await;
    assert!(
        resp.body
            .starts_with("argument 'timeout' must be a valid golang duration")
    );
    assert!(request(r.http, "GET", "/shutdown", &[], "").await.is_none());
    assert_eq!(exit_code(r.task).await, 0);
}

#[tokio::test]
async fn http_override_serves_one_path() {
    let r = start(|o| o.http_override = Some("/echo?msg=overridden".to_string())).await;
    let resp = get(r.http, "/anything?msg=ignored").await;
    assert_eq!(resp.body, "overridden");
    let r = start(|o| o.http_override = Some("/clientip".to_string())).await;
    assert_eq!(get(r.http, "/").await.body, "");
}

#[tokio::test]
async fn all_addresses_are_dual_stack_and_peers_print_as_ipv4() {
    // bind_ip None: one [::] socket (or 0.0.0.0 without IPv6); reached here over 127.0.0.1.
    let r = start(|o| o.bind_ip = None).await;
    let v4 = SocketAddr::from(([127, 0, 0, 1], r.http.port()));
    let resp = get(v4, "/clientip").await;
    assert_eq!(
        resp.body,
        resp.local.to_string(),
        "IPv4-mapped peers print as IPv4"
    );
    let u = SocketAddr::from(([127, 0, 0, 1], r.udp.expect("udp").port()));
    let (answer, me) = udp(u, "clientip").await;
    assert_eq!(answer, me.to_string());
}
