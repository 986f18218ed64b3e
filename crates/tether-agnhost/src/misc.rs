//! The small subcommands: `pause`, `liveness`, `test-webserver`, `porter`, `fake-gitserver`.
//! Each as its upstream file under test/images/agnhost/.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, LOCATION};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::flags::{self, Kind, Spec, flag};
use crate::http::{
    Handler, HttpServer, Reply, Request, Response, ServerConfig, TEXT_HTML, TEXT_PLAIN, clean,
    go_json, handler, html_escape, sniff,
};
use crate::net::listen_tcp;
use crate::{Result, gotime, print_stdout, runtime};

/// `agnhost pause`: prints "Paused", waits for SIGINT (exit 1) or SIGTERM (exit 2), as
/// upstream pause/pause.go.
pub(crate) fn pause() -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    print_stdout("Paused");
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let code = rt.block_on(async {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            eprintln!("Error: cannot watch signals");
            return 1;
        };
        tokio::select! {
            _ = int.recv() => 1,
            _ = term.recv() => 2,
        }
    });
    print_stdout(&format!("exiting {code}"));
    ExitCode::from(code)
}

/// Bound HTTP listeners of one of the small servers, ready to [`run`](Self::run).
pub struct HttpApp {
    listeners: Vec<(TcpListener, Handler)>,
    mux_redirects: bool,
}

impl std::fmt::Debug for HttpApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApp")
            .field("addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl HttpApp {
    /// The listeners' addresses.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// Serves until `sigterm` is cancelled, then returns exit code 0.
    pub async fn run(self, sigterm: CancellationToken) -> Result<u8> {
        let _server = HttpServer::spawn(
            self.listeners,
            ServerConfig {
                mux_redirects: self.mux_redirects,
            },
        );
        sigterm.cancelled().await;
        Ok(0)
    }
}

/// Options of `liveness` (upstream has no flags: port 8080, healthy for 10 s).
#[derive(Debug, Clone)]
pub struct LivenessOptions {
    /// Listen port (upstream: 8080).
    pub port: u16,
    /// How long `/healthz` answers 200 (upstream: 10 s).
    pub healthy_for: Duration,
    /// Where to listen: `None` = all addresses.
    pub bind_ip: Option<IpAddr>,
}

impl Default for LivenessOptions {
    fn default() -> Self {
        Self {
            port: 8080,
            healthy_for: Duration::from_secs(10),
            bind_ip: None,
        }
    }
}

/// `agnhost liveness`: `/healthz` is 200 "ok" for 10 s, then 500 "error: <secs>";
/// `/started` gives the time since start; `/redirect?loc=` redirects with 302.
pub async fn liveness(opts: LivenessOptions) -> Result<HttpApp> {
    let listener = listen_tcp(opts.bind_ip, opts.port)?;
    let started = Instant::now();
    let healthy_for = opts.healthy_for;
    let h = handler(move |req: Request| async move {
        match req.path() {
            "/started" => Response::text(gotime::format_duration(started.elapsed())).into(),
            "/healthz" => {
                let d = started.elapsed();
                if d > healthy_for {
                    Response::text(format!("error: {}", d.as_secs_f64()))
                        .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                        .into()
                } else {
                    Response::text("ok").into()
                }
            }
            "/redirect" => {
                let loc = req.query_value("loc");
                Response::go_redirect(&req, &loc, StatusCode::FOUND).into()
            }
            _ => Response::not_found().into(),
        }
    });
    Ok(HttpApp {
        listeners: vec![(listener, h)],
        mux_redirects: true,
    })
}

/// The flags `test-webserver` accepts.
pub(crate) const TEST_WEBSERVER_SPECS: &[Spec] =
    &[flag("port", Kind::Value, "Port number. (default 80)")];

/// Options of `test-webserver`.
#[derive(Debug, Clone)]
pub struct TestWebserverOptions {
    /// `--port` (default 80).
    pub port: u16,
    /// The directory served (upstream: `/`).
    pub root: PathBuf,
    /// Where to listen: `None` = all addresses.
    pub bind_ip: Option<IpAddr>,
}

impl Default for TestWebserverOptions {
    fn default() -> Self {
        Self {
            port: 80,
            root: PathBuf::from("/"),
            bind_ip: None,
        }
    }
}

impl TestWebserverOptions {
    /// Parses upstream's flags (`--port=80`).
    pub fn from_args(args: &[String]) -> Result<Self> {
        let f = flags::parse("test-webserver", args, TEST_WEBSERVER_SPECS)?;
        Ok(Self {
            port: f.port("port", 80)?,
            ..Self::default()
        })
    }
}

/// `agnhost test-webserver`: a file server over `root` (Go's `http.FileServer`), with
/// upstream's CORS and `Cache-Control: private` headers.
pub async fn test_webserver(opts: TestWebserverOptions) -> Result<HttpApp> {
    let listener = listen_tcp(opts.bind_ip, opts.port)?;
    let root = opts.root;
    let h = handler(move |req: Request| {
        let root = root.clone();
        async move {
            let resp = serve_file(&root, &req).await;
            let cors = [
                ("cache-control", "private"),
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "GET, POST, OPTIONS"),
                (
                    "access-control-allow-headers",
                    "DNT,X-Mx-ReqToken,Keep-Alive,User-Agent,X-Requested-With,Cache-Control,Content-Type",
                ),
            ];
            cors.into_iter()
                .fold(resp, |r, (k, v)| {
                    r.with_header(HeaderName::from_static(k), v)
                })
                .into()
        }
    });
    Ok(HttpApp {
        listeners: vec![(listener, h)],
        mux_redirects: true,
    })
}

/// Files larger than this are refused rather than read into memory (not in upstream).
const MAX_FILE: u64 = 256 << 20;

async fn serve_file(root: &Path, req: &Request) -> Response {
    let decoded = percent_decode_str(req.path())
        .decode_utf8_lossy()
        .into_owned();
    let rel = clean(&format!("/{decoded}"));
    let path = root.join(rel.trim_start_matches('/'));
    let meta = match tokio::fs::metadata(&path).await {
        Ok(m) => m,
        Err(e) => return fs_error(&e),
    };
    if meta.is_dir() {
        if !req.path().ends_with('/') {
            let base = rel.rsplit('/').next().unwrap_or("");
            return Response::empty(StatusCode::MOVED_PERMANENTLY)
                .with_header(LOCATION, &format!("{base}/"));
        }
        let index = path.join("index.html");
        if let Ok(body) = tokio::fs::read(&index).await {
            return Response::text(body).with_header(CONTENT_TYPE, TEXT_HTML);
        }
        return dir_list(&path).await;
    }
    if meta.len() > MAX_FILE {
        return Response::go_error(
            "500 Internal Server Error",
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    match tokio::fs::read(&path).await {
        Ok(body) => {
            let ct = content_type_for(&path).unwrap_or_else(|| sniff(&body));
            Response::text(body).with_header(CONTENT_TYPE, ct)
        }
        Err(e) => fs_error(&e),
    }
}

/// Go's `toHTTPError`.
fn fs_error(e: &std::io::Error) -> Response {
    match e.kind() {
        std::io::ErrorKind::NotFound => Response::not_found(),
        std::io::ErrorKind::PermissionDenied => {
            Response::go_error("403 Forbidden", StatusCode::FORBIDDEN)
        }
        _ => Response::go_error(
            "500 Internal Server Error",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

/// Go's `dirList`.
async fn dir_list(dir: &Path) -> Response {
    let mut names = Vec::new();
    match tokio::fs::read_dir(dir).await {
        Ok(mut rd) => {
            while let Ok(Some(e)) = rd.next_entry().await {
                let mut name = e.file_name().to_string_lossy().into_owned();
                if e.file_type().await.is_ok_and(|t| t.is_dir()) {
                    name.push('/');
                }
                names.push(name);
            }
        }
        Err(_) => {
            return Response::go_error(
                "Error reading directory",
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    }
    names.sort();
    let mut body = String::from(
        "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n",
    );
    for n in names {
        let href = utf8_percent_encode(&n, NON_ALPHANUMERIC)
            .to_string()
            .replace("%2F", "/")
            .replace("%2E", ".")
            .replace("%2D", "-")
            .replace("%5F", "_");
        body.push_str(&format!("<a href=\"{href}\">{}</a>\n", html_escape(&n)));
    }
    body.push_str("</pre>\n");
    Response::text(body).with_header(CONTENT_TYPE, TEXT_HTML)
}

/// Go's `mime.TypeByExtension` for common extensions.
fn content_type_for(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => TEXT_HTML,
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => TEXT_PLAIN,
        "xml" => "text/xml; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

/// The flags `porter` accepts.
pub(crate) const PORTER_SPECS: &[Spec] = &[flag(
    "json-response",
    Kind::Bool,
    "Responds to requests with a json response that includes the default value with the http.Request Method",
)];

/// Options of `porter`.
#[derive(Debug, Clone, Default)]
pub struct PorterOptions {
    /// `--json-response`: answer `{"Method":…,"Body":…}` as application/json.
    pub json_response: bool,
    /// The environment to read `SERVE_PORT_<n>=<value>` from (the process's by default).
    pub env: Vec<(String, String)>,
    /// Where to listen: `None` = `0.0.0.0` as upstream.
    pub bind_ip: Option<IpAddr>,
}

impl PorterOptions {
    /// Parses upstream's flags and takes the process environment.
    pub fn from_args(args: &[String]) -> Result<Self> {
        let f = flags::parse("porter", args, PORTER_SPECS)?;
        Ok(Self {
            json_response: f.bool("json-response", false),
            env: std::env::vars().collect(),
            bind_ip: None,
        })
    }
}

/// `agnhost porter`: for each `SERVE_PORT_<n>=<value>`, an HTTP server on port n answering
/// every request with value. `SERVE_TLS_PORT_*` and `SERVE_SCTP_PORT_*` are not supported.
pub async fn porter(opts: PorterOptions) -> Result<HttpApp> {
    let mut listeners = Vec::new();
    let ip = opts
        .bind_ip
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    for (key, value) in opts.env {
        if let Some(port) = key.strip_prefix("SERVE_PORT_") {
            let Ok(port) = port.parse::<u16>() else {
                tracing::warn!("server on port {port:?} failed: invalid port");
                continue;
            };
            let listener = listen_tcp(Some(ip), port)?;
            let json = opts.json_response;
            let h = handler(move |req: Request| {
                let value = value.clone();
                async move {
                    if json {
                        let body = go_json(&serde_json::json!({
                            "Method": req.method.as_str(),
                            "Body": value,
                        }));
                        Reply::from(
                            Response::text(body).with_header(CONTENT_TYPE, "application/json"),
                        )
                    } else {
                        Response::text(value).into()
                    }
                }
            });
            listeners.push((listener, h));
        } else if key.starts_with("SERVE_TLS_PORT_") || key.starts_with("SERVE_SCTP_PORT_") {
            tracing::warn!("{key}: TLS and SCTP ports are not supported by tether's agnhost");
        }
    }
    Ok(HttpApp {
        listeners,
        mux_redirects: false,
    })
}

/// Options of `fake-gitserver` (upstream has no flags: port 8000).
#[derive(Debug, Clone)]
pub struct FakeGitServerOptions {
    /// Listen port (upstream: 8000).
    pub port: u16,
    /// Where to listen: `None` = all addresses.
    pub bind_ip: Option<IpAddr>,
}

impl Default for FakeGitServerOptions {
    fn default() -> Self {
        Self {
            port: 8000,
            bind_ip: None,
        }
    }
}

/// `agnhost fake-gitserver`: answers "I am a fake git server" to everything.
pub async fn fake_gitserver(opts: FakeGitServerOptions) -> Result<HttpApp> {
    let listener = listen_tcp(opts.bind_ip, opts.port)?;
    let h = handler(|_req: Request| async { Response::text("I am a fake git server").into() });
    Ok(HttpApp {
        listeners: vec![(listener, h)],
        mux_redirects: true,
    })
}
