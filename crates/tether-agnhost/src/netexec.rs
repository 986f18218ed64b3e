//! `agnhost netexec`: HTTP and UDP servers with the endpoints e2e tests probe.
//! As upstream test/images/agnhost/netexec/netexec.go.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::flags::{self, Kind, Spec, flag};
use crate::gotime;
use crate::http::{HttpServer, Reply, Request, Response, ServerConfig, go_json, handler};
use crate::net::{canonical, go_errno, hostname, listen_tcp, listen_udp};
use crate::{Error, Result};

/// The flags `netexec` accepts (upstream's `init()`).
pub(crate) const SPECS: &[Spec] = &[
    flag("http-port", Kind::Value, "HTTP Listen Port (default 8080)"),
    flag(
        "udp-port",
        Kind::Value,
        "UDP Listen Port (default 8081; -1 disables)",
    ),
    flag(
        "sctp-port",
        Kind::Value,
        "SCTP Listen Port (not served here)",
    ),
    flag(
        "udp-listen-addresses",
        Kind::Value,
        "A comma separated list of ip addresses the udp servers listen from",
    ),
    flag(
        "http-override",
        Kind::Value,
        "Override the HTTP handler to always respond as if it were a GET with this path & params",
    ),
    flag(
        "delay-shutdown",
        Kind::Value,
        "Number of seconds to delay shutdown when receiving SIGTERM.",
    ),
    flag(
        "tls-cert-file",
        Kind::Value,
        "HTTPS certificate (not supported here)",
    ),
    flag(
        "tls-private-key-file",
        Kind::Value,
        "HTTPS key (not supported here)",
    ),
];

/// Per-try timeout of `/dial` (upstream's http.Client Timeout and UDP read deadline).
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// Go's http.Client follows at most 10 redirects.
const MAX_REDIRECTS: usize = 10;
/// UDP read buffer of the server and of `/dial?protocol=udp` (upstream: 2048).
const UDP_BUF: usize = 2048;

/// Options of `netexec`.
#[derive(Debug, Clone)]
pub struct NetexecOptions {
    /// `--http-port` (default 8080).
    pub http_port: u16,
    /// `--udp-port` (default 8081); `None` for `-1`.
    pub udp_port: Option<u16>,
    /// `--sctp-port`: accepted, not served (SCTP is not implemented).
    pub sctp_port: Option<u16>,
    /// `--udp-listen-addresses`; empty = all addresses.
    pub udp_listen_addresses: Vec<IpAddr>,
    /// `--http-override`: serve every request as a GET of this path and query.
    pub http_override: Option<String>,
    /// `--delay-shutdown`: keep serving this long after SIGTERM (with `/readyz` at 503).
    pub delay_shutdown: Duration,
    /// Where to listen: `None` = all addresses (`[::]` dual stack, else `0.0.0.0`).
    /// Not an upstream flag; tests use 127.0.0.1 with port 0.
    pub bind_ip: Option<IpAddr>,
    /// The shell for `/shell` (upstream: `/bin/sh`).
    pub shell: PathBuf,
}

impl Default for NetexecOptions {
    fn default() -> Self {
        Self {
            http_port: 8080,
            udp_port: Some(8081),
            sctp_port: None,
            udp_listen_addresses: Vec::new(),
            http_override: None,
            delay_shutdown: Duration::ZERO,
            bind_ip: None,
            shell: PathBuf::from("/bin/sh"),
        }
    }
}

impl NetexecOptions {
    /// Parses upstream's flags (`--http-port=8888 --udp-port=-1 …`).
    pub fn from_args(args: &[String]) -> Result<Self> {
        let f = flags::parse("netexec", args, SPECS)?;
        if !f.string("tls-cert-file", "").is_empty() {
            return Err(Error::Usage(
                "--tls-cert-file: HTTPS is not supported by tether's agnhost".to_string(),
            ));
        }
        let mut udp_listen_addresses = Vec::new();
        let list = f.string("udp-listen-addresses", "");
        if !list.is_empty() {
            for a in list.split(',') {
                let ip: IpAddr = a
                    .trim()
                    .parse()
                    .map_err(|_| Error::Usage(format!("parseAddress: invalid address {a}")))?;
                if !udp_listen_addresses.contains(&ip) {
                    udp_listen_addresses.push(ip);
                }
            }
        }
        let http_override = Some(f.string("http-override", "")).filter(|s| !s.is_empty());
        let delay = f.int("delay-shutdown", 0)?;
        let sctp_port = f.optional_port("sctp-port", -1)?;
        if sctp_port.is_some() {
            tracing::warn!("--sctp-port: SCTP is not supported; not serving it");
        }
        Ok(Self {
            http_port: f.port("http-port", 8080)?,
            udp_port: f.optional_port("udp-port", 8081)?,
            sctp_port,
            udp_listen_addresses,
            http_override,
            delay_shutdown: Duration::from_secs(u64::try_from(delay).unwrap_or(0)),
            bind_ip: None,
            shell: PathBuf::from("/bin/sh"),
        })
    }
}

/// A bound netexec, ready to [`run`](Self::run).
#[derive(Debug)]
pub struct Netexec {
    opts: NetexecOptions,
    http: TcpListener,
    udp: Vec<UdpSocket>,
}

/// Binds and runs netexec until SIGTERM (`sigterm` cancelled) or `/exit`; returns the exit code.
pub async fn netexec(opts: NetexecOptions, sigterm: CancellationToken) -> Result<u8> {
    Netexec::bind(opts).await?.run(sigterm).await
}

impl Netexec {
    /// Opens the HTTP listener and the UDP sockets.
    pub async fn bind(opts: NetexecOptions) -> Result<Self> {
        gotime::mark_start();
        let http = listen_tcp(opts.bind_ip, opts.http_port)?;
        let mut udp = Vec::new();
        if let Some(port) = opts.udp_port {
            if opts.udp_listen_addresses.is_empty() {
                udp.push(listen_udp(opts.bind_ip, port)?);
            } else {
                for ip in &opts.udp_listen_addresses {
                    udp.push(listen_udp(Some(*ip), port)?);
                }
            }
        }
        Ok(Self { opts, http, udp })
    }

    /// The HTTP listener's address.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.local_addr().ok()
    }

    /// The UDP sockets' addresses.
    pub fn udp_addrs(&self) -> Vec<SocketAddr> {
        self.udp
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Serves until `sigterm` is cancelled (then waits `--delay-shutdown` and returns 0) or a
    /// request to `/exit` or `/shutdown` (returns its code). `/readyz` answers 503 after SIGTERM.
    pub async fn run(self, sigterm: CancellationToken) -> Result<u8> {
        let (exit_tx, mut exit_rx) = mpsc::channel(4);
        let state = Arc::new(State {
            ready: AtomicBool::new(false),
            sigterm: sigterm.clone(),
            exit_tx,
            shell: self.opts.shell.clone(),
            http_override: self.opts.http_override.clone(),
        });
        let mut udp_tasks = JoinSet::new();
        for sock in self.udp {
            if let Ok(a) = sock.local_addr() {
                tracing::info!("Started UDP server on {a}");
            }
            udp_tasks.spawn(udp_server(sock));
            // Upstream sets serverReady once a UDP (or SCTP) server listens.
            state.ready.store(true, Ordering::SeqCst);
        }
        let st = state.clone();
        let h = handler(move |req| {
            let st = st.clone();
            async move { st.handle(req).await }
        });
        if let Ok(a) = self.http.local_addr() {
            tracing::info!("Started HTTP server on {a}");
        }
        let server = HttpServer::spawn(
            vec![(self.http, h)],
            ServerConfig {
                mux_redirects: true,
            },
        );
        tokio::select! {
            () = sigterm.cancelled() => {
                if !self.opts.delay_shutdown.is_zero() {
                    tracing::info!(
                        "Sleeping {} seconds before terminating...",
                        self.opts.delay_shutdown.as_secs()
                    );
                    tokio::time::sleep(self.opts.delay_shutdown).await;
                }
                Ok(0)
            }
            Some(req) = exit_rx.recv() => {
                if let Some(timeout) = req.graceful {
                    server.shutdown(timeout).await;
                    tracing::info!("Graceful shutdown completed");
                }
                Ok(req.code)
            }
        }
    }
}

/// A request to end the process.
#[derive(Debug)]
struct ExitRequest {
    code: u8,
    /// `None`: exit now (Go's `os.Exit`); `Some(t)`: `Server.Shutdown` with deadline `t`.
    graceful: Option<Duration>,
}

#[derive(Debug)]
struct State {
    ready: AtomicBool,
    sigterm: CancellationToken,
    exit_tx: mpsc::Sender<ExitRequest>,
    shell: PathBuf,
    http_override: Option<String>,
}

impl State {
    async fn handle(&self, req: Request) -> Reply {
        let req = match &self.http_override {
            None => req,
            Some(o) => match o.parse::<Uri>() {
                // Upstream builds a fresh request: GET, no headers, no RemoteAddr.
                Ok(uri) => Request {
                    method: Method::GET,
                    uri,
                    headers: http::HeaderMap::new(),
                    remote: None,
                    body: Bytes::new(),
                },
                Err(e) => {
                    return Response::go_error(
                        &format!("override request failed: {e}"),
                        StatusCode::INTERNAL_SERVER_ERROR,
                    )
                    .into();
                }
            },
        };
        match req.path() {
            "/clientip" => Response::text(req.remote_string()).into(),
            "/header" => header(&req).into(),
            "/dial" => dial(&req).await.into(),
            "/echo" => echo(&req),
            "/exit" => self.exit(&req).await,
            "/healthz" => {
                if self.ready.load(Ordering::SeqCst) {
                    Response::empty(StatusCode::OK).into()
                } else {
                    Response::empty(StatusCode::PRECONDITION_FAILED).into()
                }
            }
            "/readyz" => self.readyz().into(),
            "/hostname" | "/hostName" => Response::text(hostname()).into(),
            "/redirect" => redirect(&req),
            "/shell" => shell(&req, &self.shell).await.into(),
            "/upload" => {
                // Not implemented: answer as upstream does when no file arrives.
                Response::text(go_json(&json!({"error": "Unable to upload file."}))).into()
            }
            "/shutdown" => {
                let _ = self.exit_tx.try_send(ExitRequest {
                    code: 0,
                    graceful: None,
                });
                Reply::Abort
            }
            _ => Response::text(format!("NOW: {}", gotime::now_string())).into(),
        }
    }

    fn readyz(&self) -> Response {
        if self.sigterm.is_cancelled() {
            Response::text("shutting down").with_status(StatusCode::SERVICE_UNAVAILABLE)
        } else if self.ready.load(Ordering::SeqCst) {
            Response::text("ok")
        } else {
            Response::empty(StatusCode::PRECONDITION_FAILED)
        }
    }

    async fn exit(&self, req: &Request) -> Reply {
        let wait_s = req.form_value("wait");
        let timeout_s = req.form_value("timeout");
        let code_s = req.form_value("code");
        let timeout = match gotime::parse_duration(&timeout_s) {
            Ok(t) => t,
            Err(_) if timeout_s.is_empty() => 0,
            Err(_) => {
                return Response::text(format!(
                    "argument 'timeout' must be a valid golang duration or empty, got {timeout_s:?}\n"
                ))
                .into();
            }
        };
        let wait = match gotime::parse_duration(&wait_s) {
            Ok(t) => t,
            Err(_) if wait_s.is_empty() => 0,
            Err(_) => {
                return Response::text(format!(
                    "argument 'wait' must be a valid golang duration or empty, got {wait_s:?}\n"
                ))
                .into();
            }
        };
        let code = match code_s.parse::<i64>() {
            Ok(c) => c,
            Err(_) if code_s.is_empty() => 0,
            Err(_) => {
                return Response::text(format!(
                    "argument 'code' must be an integer [0-127] or empty, got {code_s:?}\n"
                ))
                .into();
            }
        };
        // os.Exit(code) keeps the low byte.
        let code = u8::try_from(code.rem_euclid(256)).unwrap_or(u8::MAX);
        tracing::info!(
            "Will begin shutdown in {wait_s:?}, allowing {timeout_s:?} for connections to close, then will exit with {code}"
        );
        tokio::time::sleep(gotime::to_std(wait)).await;
        if timeout == 0 {
            let _ = self.exit_tx.try_send(ExitRequest {
                code,
                graceful: None,
            });
            return Reply::Abort;
        }
        let _ = self.exit_tx.try_send(ExitRequest {
            code,
            graceful: Some(gotime::to_std(timeout)),
        });
        Response::empty(StatusCode::OK).into()
    }
}

fn echo(req: &Request) -> Reply {
    let msg = req.form_value("msg");
    let code_s = req.form_value("code");
    let mut resp = Response::text(msg);
    if !code_s.is_empty() {
        let Ok(code) = code_s.parse::<i64>() else {
            return Response::text(format!(
                "argument 'code' must be an integer or empty, got {code_s:?}\n"
            ))
            .into();
        };
        match status_for_write_header(code) {
            Some(s) => resp = resp.with_status(s),
            None => return Reply::Abort,
        }
    }
    resp.into()
}

/// What Go's `WriteHeader(code)` ends up sending: codes outside 100..=999 panic (the
/// connection is dropped); 1xx are informational, so the final status is still 200.
fn status_for_write_header(code: i64) -> Option<StatusCode> {
    let code = u16::try_from(code)
        .ok()
        .filter(|c| (100..=999).contains(c))?;
    if code < 200 {
        return Some(StatusCode::OK);
    }
    StatusCode::from_u16(code).ok()
}

fn redirect(req: &Request) -> Reply {
    let location = req.form_value("location");
    let code_s = req.form_value("code");
    let mut code = StatusCode::FOUND;
    if !code_s.is_empty() {
        let Ok(c) = code_s.parse::<i64>() else {
            return Response::text(format!(
                "argument 'code' must be an integer or empty, got {code_s:?}\n"
            ))
            .into();
        };
        match status_for_write_header(c) {
            Some(s) => code = s,
            None => return Reply::Abort,
        }
    }
    Response::go_redirect(req, &location, code).into()
}

/// Go's `textproto.CanonicalMIMEHeaderKey`.
fn canonical_header_key(k: &str) -> String {
    let mut upper = true;
    k.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

fn header(req: &Request) -> Response {
    let key = req.form_value("key");
    if !key.is_empty() {
        let v = req
            .headers
            .get(key.as_str())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        return Response::text(v);
    }
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &req.headers {
        if name == http::header::HOST {
            continue;
        }
        map.entry(canonical_header_key(name.as_str()))
            .or_default()
            .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    Response::text(go_json(&json!(map)))
}

async fn dial(req: &Request) -> Response {
    let host = req.query_value("host");
    let port = req.query_value("port");
    let request = req.query_value("request");
    let protocol = req.query_value("protocol");
    let tries_s = req.query_value("tries");
    tracing::info!(
        "GET /dial?host={host}&protocol={protocol}&port={port}&request={request}&tries={tries_s}"
    );
    let tries = if tries_s.is_empty() {
        1
    } else {
        match tries_s.parse::<i64>() {
            Ok(t) => t,
            Err(_) => {
                return Response::go_error(
                    &format!(
                        "tries parameter is invalid. strconv.Atoi: parsing {tries_s:?}: invalid syntax"
                    ),
                    StatusCode::BAD_REQUEST,
                );
            }
        }
    };
    if request.is_empty() {
        return Response::go_error(
            "request parameter not specified. <nil>",
            StatusCode::BAD_REQUEST,
        );
    }
    let proto = protocol.to_ascii_lowercase();
    let net = match proto.as_str() {
        "" | "http" => "tcp",
        "udp" => "udp",
        "sctp" => "sctp",
        _ => {
            return Response::go_error(
                &format!("unsupported protocol. {protocol}"),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let addr = match resolve(net, &host, &port).await {
        Ok(a) => a,
        Err(e) => {
            return Response::go_error(
                &format!("host and/or port param are invalid. {e}"),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let mut responses = Vec::new();
    let mut errors = Vec::new();
    let mut last = String::new();
    for _ in 0..tries.max(0) {
        let result = match net {
            "tcp" => dial_http(&request, addr).await,
            "udp" => dial_udp(&request, addr).await,
            _ => Err("sctp dial failed. err:protocol not supported".to_string()),
        };
        match result {
            Ok(r) => {
                last.clone_from(&r);
                responses.push(r);
            }
            Err(e) => {
                last.clear();
                errors.push(e);
            }
        }
    }
    let mut out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Upstream keys "responses" on the last try's response being non-empty.
    if !last.is_empty() {
        out.insert("responses", responses);
    }
    if !errors.is_empty() {
        out.insert("errors", errors);
    }
    Response::text(go_json(&json!(out)))
}

/// Go's `net.ResolveTCPAddr`/`ResolveUDPAddr`: first IPv4 address if any, else the first.
async fn resolve(net: &str, host: &str, port: &str) -> Result<SocketAddr, String> {
    let port_num: u16 = match port {
        "" => 0,
        p => match p.parse() {
            Ok(n) => n,
            Err(_) => match p {
                "http" => 80,
                "https" => 443,
                _ => return Err(format!("lookup {net}/{p}: unknown port")),
            },
        },
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port_num));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port_num));
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port_num))
        .await
        .map_err(|e| format!("lookup {host}: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("lookup {host}: no such host"))
}

/// Escapes what may not appear raw in a request target, as Go's URL.RequestURI would.
fn escape_target(s: &str) -> String {
    let s = s.split('#').next().unwrap_or("");
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b <= 0x20
            || b >= 0x7f
            || matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}'
            )
        {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// One `/dial` HTTP try: `GET http://addr/<request>`, following redirects, 5 s in all.
async fn dial_http(request: &str, addr: SocketAddr) -> Result<String, String> {
    let url = format!("http://{addr}/{request}");
    match tokio::time::timeout(DIAL_TIMEOUT, http_get(addr, format!("/{request}"), &url)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "Get {url:?}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        )),
    }
}

async fn http_get(mut addr: SocketAddr, mut target: String, url: &str) -> Result<String, String> {
    for _ in 0..=MAX_REDIRECTS {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("Get {url:?}: dial tcp {addr}: connect: {}", go_errno(&e)))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("Get {url:?}: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::builder()
            .method(Method::GET)
            .uri(escape_target(&target))
            .header(http::header::HOST, addr.to_string())
            .header(http::header::USER_AGENT, "Go-http-client/1.1")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("Get {url:?}: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("Get {url:?}: {e}"))?;
        let status = resp.status();
        let location = resp
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
            && let Some(loc) = location
        {
            if let Some(rest) = loc.strip_prefix("http://") {
                let (authority, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                let (h, p) = match authority.rsplit_once(':') {
                    Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p),
                    _ => (authority, "80"),
                };
                addr = resolve("tcp", h, p)
                    .await
                    .map_err(|e| format!("Get {loc:?}: {e}"))?;
                target = path.to_string();
            } else if loc.starts_with('/') {
                target = loc;
            } else {
                let base = target.split('?').next().unwrap_or("/");
                let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
                target = format!("{dir}{loc}");
            }
            continue;
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("Get {url:?}: {e}"))?
            .to_bytes();
        return Ok(String::from_utf8_lossy(&body).into_owned());
    }
    Err(format!(
        "Get {url:?}: stopped after {MAX_REDIRECTS} redirects"
    ))
}

/// One `/dial` UDP try: send `request`, wait 5 s for one datagram.
async fn dial_udp(request: &str, addr: SocketAddr) -> Result<String, String> {
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("udp dial failed. err:{e}"))?;
    sock.connect(addr)
        .await
        .map_err(|e| format!("udp dial failed. err:dial udp {addr}: {}", go_errno(&e)))?;
    let local = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    sock.send(request.as_bytes()).await.map_err(|e| {
        format!(
            "udp connection write failed. err:write udp {local}->{addr}: write: {}",
            go_errno(&e)
        )
    })?;
    let mut buf = vec![0u8; UDP_BUF];
    match tokio::time::timeout(DIAL_TIMEOUT, sock.recv(&mut buf)).await {
        Err(_) => Err(format!(
            "reading from udp connection failed. err:'read udp {local}->{addr}: i/o timeout'"
        )),
        Ok(Err(e)) => Err(format!(
            "reading from udp connection failed. err:'read udp {local}->{addr}: read: {}'",
            go_errno(&e)
        )),
        Ok(Ok(0)) => Err("reading from udp connection failed. err:'<nil>'".to_string()),
        Ok(Ok(n)) => Ok(String::from_utf8_lossy(&buf[..n]).into_owned()),
    }
}

/// Go's names for the signals a shell child usually dies of (`syscall.Signal.String`).
fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "hangup",
        2 => "interrupt",
        3 => "quit",
        4 => "illegal instruction",
        5 => "trace/breakpoint trap",
        6 => "aborted",
        7 => "bus error",
        8 => "floating point exception",
        9 => "killed",
        10 => "user defined signal 1",
        11 => "segmentation fault",
        12 => "user defined signal 2",
        13 => "broken pipe",
        14 => "alarm clock",
        15 => "terminated",
        n => return format!("signal {n}"),
    };
    name.to_string()
}

/// Runs `sh -c cmd` with stdout and stderr on one pipe (Go's `CombinedOutput`).
fn run_shell(shell: &std::path::Path, cmd: &str) -> (Vec<u8>, Option<String>) {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::{Command, Stdio};
    let spawn_err = |e: std::io::Error| format!("fork/exec {}: {}", shell.display(), go_errno(&e));
    let (mut reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return (Vec::new(), Some(spawn_err(e))),
    };
    let child = {
        let writer2 = match writer.try_clone() {
            Ok(w) => w,
            Err(e) => return (Vec::new(), Some(spawn_err(e))),
        };
        let mut c = Command::new(shell);
        c.arg("-c")
            .arg(cmd)
            .stdin(Stdio::null())
            .stdout(writer2)
            .stderr(writer);
        c.spawn()
        // `c` (holding our copies of the write end) drops here, so EOF comes when the child ends.
    };
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (Vec::new(), Some(spawn_err(e))),
    };
    let mut out = Vec::new();
    let _ = reader.read_to_end(&mut out);
    let err = match child.wait() {
        Ok(st) if st.success() => None,
        Ok(st) => Some(match (st.code(), st.signal()) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("signal: {}", signal_name(s)),
            (None, None) => st.to_string(),
        }),
        Err(e) => Some(format!("wait: {e}")),
    };
    (out, err)
}

async fn shell(req: &Request, sh: &std::path::Path) -> Response {
    let mut cmd = req.form_value("shellCommand");
    if cmd.is_empty() {
        cmd = req.form_value("cmd");
    }
    tracing::info!("GET /shell?cmd={cmd}");
    let sh = sh.to_path_buf();
    let (out, err) = match tokio::task::spawn_blocking(move || run_shell(&sh, &cmd)).await {
        Ok(r) => r,
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut map: BTreeMap<&str, String> = BTreeMap::new();
    if !out.is_empty() {
        map.insert("output", String::from_utf8_lossy(&out).into_owned());
    }
    if let Some(e) = err {
        map.insert("error", e);
    }
    Response::text(go_json(&json!(map)))
}

/// The UDP server: `hostname`, `echo <msg>`, `clientip` (lower-cased, trimmed, as upstream).
async fn udp_server(sock: UdpSocket) {
    let mut buf = vec![0u8; UDP_BUF];
    loop {
        let (n, from) = match sock.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("udp receive: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let text = String::from_utf8_lossy(&buf[..n]).trim().to_lowercase();
        let reply = if text == "hostname" {
            Some(hostname())
        } else if let Some(msg) = text.strip_prefix("echo ") {
            Some(msg.to_string())
        } else if text == "clientip" {
            Some(canonical(from).to_string())
        } else {
            if !text.is_empty() {
                tracing::info!("Unknown UDP command received from {from}: {text}");
            }
            None
        };
        if let Some(r) = reply
            && let Err(e) = sock.send_to(r.as_bytes(), from).await
        {
            tracing::warn!("udp reply to {from}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_from_upstream_flags() {
        let args: Vec<String> = ["--http-port=8888", "--udp-port", "-1", "--delay-shutdown=5"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = NetexecOptions::from_args(&args).expect("parse");
        assert_eq!(o.http_port, 8888);
        assert_eq!(o.udp_port, None);
        assert_eq!(o.delay_shutdown, Duration::from_secs(5));
        let o = NetexecOptions::from_args(&[]).expect("parse");
        assert_eq!((o.http_port, o.udp_port), (8080, Some(8081)));
        let bad = ["--udp-listen-addresses=1.2.3.4,nope".to_string()];
        assert!(NetexecOptions::from_args(&bad).is_err());
    }

    #[test]
    fn header_keys_are_canonical() {
        assert_eq!(canonical_header_key("x-forwarded-for"), "X-Forwarded-For");
        assert_eq!(canonical_header_key("user-agent"), "User-Agent");
    }

    #[test]
    fn write_header_codes() {
        assert_eq!(status_for_write_header(404), Some(StatusCode::NOT_FOUND));
        assert_eq!(status_for_write_header(102), Some(StatusCode::OK));
        assert_eq!(status_for_write_header(42), None);
        assert_eq!(status_for_write_header(1000), None);
    }

    #[test]
    fn shell_combines_output_and_reports_exit() {
        let (out, err) = run_shell(
            std::path::Path::new("/bin/sh"),
            "echo a; echo b >&2; exit 3",
        );
        assert_eq!(String::from_utf8_lossy(&out), "a\nb\n");
        assert_eq!(err.as_deref(), Some("exit status 3"));
        let (_, err) = run_shell(std::path::Path::new("/nonexistent/sh"), "true");
        assert_eq!(
            err.as_deref(),
            Some("fork/exec /nonexistent/sh: no such file or directory")
        );
    }
}
