use std::process::ExitCode;
use std::time::Duration;

use tether_agnhost::{
    FakeGitServerOptions, LivenessOptions, PorterOptions, TestWebserverOptions, fake_gitserver,
    liveness, porter, test_webserver,
};
use tokio_util::sync::CancellationToken;

use crate::common::{get, localhost};

#[tokio::test]
async fn liveness_turns_unhealthy() {
    let app = liveness(LivenessOptions {
        port: 0,
        healthy_for: Duration::from_millis(300),
        bind_ip: localhost(),
    })
    .await
    .expect("bind");
    let addr = app.local_addrs()[0];
    let _t = tokio::spawn(app.run(CancellationToken::new()));
    let resp = get(addr, "/healthz").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "ok"));
    assert!(get(addr, "/started").await.body.ends_with('s'));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let resp = get(addr, "/healthz").await;
    assert_eq!(resp.status, 500);
    assert!(resp.body.starts_with("error: 0."), "{}", resp.body);
    let resp = get(addr, "/redirect?loc=%2Fhealthz").await;
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("Location").as_deref(), Some("/healthz"));
}

#[tokio::test]
async fn test_webserver_serves_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello").expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let app = test_webserver(TestWebserverOptions {
        port: 0,
        root: dir.path().to_path_buf(),
        bind_ip: localhost(),
    })
    .await
    .expect("bind");
    let addr = app.local_addrs()[0];
    let _t = tokio::spawn(app.run(CancellationToken::new()));
    let resp = get(addr, "/hello.txt").await;
    assert_eq!((resp.status, resp.body.as_str()), (200, "hello"));
    assert_eq!(
        resp.header("Access-Control-Allow-Origin").as_deref(),
        Some("*")
    );
    assert_eq!(resp.header("Cache-Control").as_deref(), Some("private"));
    let resp = get(addr, "/missing").await;
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (404, "404 page not found\n")
    );
    let resp = get(addr, "/").await;
    assert!(
        resp.body.contains("<a href=\"hello.txt\">hello.txt</a>"),
        "{}",
        resp.body
    );
    assert!(
        resp.body.contains("<a href=\"sub/\">sub/</a>"),
        "{}",
        resp.body
    );
    assert_eq!(get(addr, "/sub").await.status, 301);
}

#[tokio::test]
async fn porter_serves_env_values() {
    let app = porter(PorterOptions {
        json_response: false,
        env: vec![
            ("SERVE_PORT_0".into(), "foo".into()),
            ("OTHER".into(), "x".into()),
        ],
        bind_ip: localhost(),
    })
    .await
    .expect("bind");
    let addr = app.local_addrs()[0];
    let _t = tokio::spawn(app.run(CancellationToken::new()));
    assert_eq!(get(addr, "/whatever").await.body, "foo");

    let app = porter(PorterOptions {
        json_response: true,
        env: vec![("SERVE_PORT_0".into(), "bar".into())],
        bind_ip: localhost(),
    })
    .await
    .expect("bind");
    let addr = app.local_addrs()[0];
    let _t = tokio::spawn(app.run(CancellationToken::new()));
    let resp = get(addr, "/").await;
    assert_eq!(resp.body, r#"{"Method":"GET","Body":"bar"}"#);
    assert_eq!(
        resp.header("Content-Type").as_deref(),
        Some("application/json")
    );
}

#[tokio::test]
async fn fake_gitserver_answers() {
    let app = fake_gitserver(FakeGitServerOptions {
        port: 0,
        bind_ip: localhost(),
    })
    .await
    .expect("bind");
    let addr = app.local_addrs()[0];
    let sigterm = CancellationToken::new();
    let t = tokio::spawn(app.run(sigterm.clone()));
    assert_eq!(get(addr, "/").await.body, "I am a fake git server");
    sigterm.cancel();
    assert_eq!(t.await.expect("join").expect("ok"), 0);
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn main_rejects_bad_input_with_exit_1() {
    assert_eq!(
        tether_agnhost::main(args(&["no-such-command"])),
        ExitCode::from(1)
    );
    assert_eq!(tether_agnhost::main(args(&[])), ExitCode::from(1));
    assert_eq!(tether_agnhost::main(args(&["/agnhost"])), ExitCode::from(1));
    assert_eq!(
        tether_agnhost::main(args(&["agnhost", "netexec", "--bogus=1"])),
        ExitCode::from(1)
    );
    assert_eq!(
        tether_agnhost::main(args(&["netexec", "--http-port=notanint"])),
        ExitCode::from(1)
    );
    assert_eq!(
        tether_agnhost::main(args(&["serve-hostname", "--tcp"])),
        ExitCode::from(1)
    );
    assert_eq!(tether_agnhost::main(args(&["--help"])), ExitCode::SUCCESS);
    assert_eq!(
        tether_agnhost::main(args(&["/agnhost", "netexec", "--help"])),
        ExitCode::SUCCESS
    );
}
