//! A small HTTP/1.1 server on hyper that answers like Go's `net/http`: title-case header names,
//! `Content-Type` sniffed from the body when the handler sets none, `http.Error` and
//! `http.Redirect` bodies, and `ServeMux`'s 301 to the cleaned path.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::net::canonical;

/// Go's ParseForm limit for url-encoded bodies (10 MiB, net/http request.go).
const MAX_FORM_BODY: usize = 10 << 20;

/// `text/plain; charset=utf-8`, Go's type for `http.Error` and sniffed text.
pub(crate) const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// `text/html; charset=utf-8`.
pub(crate) const TEXT_HTML: &str = "text/html; charset=utf-8";

/// A boxed, sendable future.
pub(crate) type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// A request handler.
pub(crate) type Handler = Arc<dyn Fn(Request) -> BoxFut<Reply> + Send + Sync>;

/// An incoming request with its body read.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    /// The peer; `None` for synthesized requests (netexec `--http-override`).
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) body: Bytes,
}

impl Request {
    /// The raw path (`/` when empty).
    pub(crate) fn path(&self) -> &str {
        match self.uri.path() {
            "" => "/",
            p => p,
        }
    }

    /// The query's pairs, decoded.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The first query value for `key`, or "" (Go's `URL.Query().Get`).
    pub(crate) fn query_value(&self, key: &str) -> String {
        first(self.query(), key)
    }

    /// Go's `Request.FormValue`: url-encoded POST/PUT/PATCH body first, then the query.
    pub(crate) fn form_value(&self, key: &str) -> String {
        let is_form = matches!(self.method, Method::POST | Method::PUT | Method::PATCH)
            && self
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            let body: Vec<(String, String)> = form_urlencoded::parse(&self.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if body.iter().any(|(k, _)| k == key) {
                return first(body, key);
            }
        }
        self.query_value(key)
    }

    /// Go's `r.RemoteAddr`: `ip:port`, `[v6]:port`, or "" when synthesized.
    pub(crate) fn remote_string(&self) -> String {
        self.remote.map(|a| a.to_string()).unwrap_or_default()
    }
}

fn first(pairs: Vec<(String, String)>, key: &str) -> String {
    pairs
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// What a handler does with a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Answer.
    Respond(Response),
    /// Close the connection without answering (Go's `os.Exit` or a panic in a handler).
    Abort,
}

impl From<Response> for Reply {
    fn from(r: Response) -> Self {
        Self::Respond(r)
    }
}

/// A response being built.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Response {
    /// 200 with `body`; its type is sniffed unless set.
    pub(crate) fn text(body: impl Into<Bytes>) -> Self {
        Self {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// `status` with an empty body.
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self::text(Bytes::new()).with_status(status)
    }

    /// Sets the status.
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets a header; values that are not valid header values are dropped.
    pub(crate) fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    /// Go's `http.Error(w, msg, code)`.
    pub(crate) fn go_error(msg: &str, status: StatusCode) -> Self {
        Self::text(format!("{msg}\n"))
            .with_status(status)
            .with_header(CONTENT_TYPE, TEXT_PLAIN)
            .with_header(HeaderName::from_static("x-content-type-options"), "nosniff")
    }

    /// Go's `http.NotFound`.
    pub(crate) fn not_found() -> Self {
        Self::go_error("404 page not found", StatusCode::NOT_FOUND)
    }

    /// Go's `http.Redirect(w, r, url, code)`.
    pub(crate) fn go_redirect(req: &Request, url: &str, status: StatusCode) -> Self {
        let mut url = url.to_string();
        if !has_scheme_or_host(&url) {
            let old = req.path();
            if !url.starts_with('/') {
                let dir = &old[..old.rfind('/').map_or(0, |i| i + 1)];
                url = format!("{dir}{url}");
            }
            let (p, query) = match url.find('?') {
                Some(i) => (url[..i].to_string(), url[i..].to_string()),
                None => (url.clone(), String::new()),
            };
            let mut cleaned = clean(&p);
            if p.ends_with('/') && !cleaned.ends_with('/') {
                cleaned.push('/');
            }
            url = cleaned + &query;
        }
        let mut resp = Self::empty(status).with_header(LOCATION, &hex_escape_non_ascii(&url));
        if req.method == Method::GET || req.method == Method::HEAD {
            resp = resp.with_header(CONTENT_TYPE, TEXT_HTML);
        }
        if req.method == Method::GET {
            let reason = status.canonical_reason().unwrap_or("");
            resp.body = Bytes::from(format!(
                "<a href=\"{}\">{reason}</a>.\n\n",
                html_escape(&url)
            ));
        }
        resp
    }
}

fn has_scheme_or_host(url: &str) -> bool {
    if url.starts_with("//") {
        return true;
    }
    match url.find(':') {
        Some(i) if i > 0 => {
            let scheme = &url[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

/// Go's `htmlEscape` in net/http.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex_escape_non_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b >= 0x80 {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Go's `path.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// ServeMux's `cleanPath`: rooted, cleaned, trailing slash kept.
pub(crate) fn mux_clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".to_string();
    }
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    let mut np = clean(&p);
    if p.ends_with('/') && np != "/" {
        if p.len() == np.len() + 1 && p.starts_with(&np) {
            return p;
        }
        np.push('/');
    }
    np
}

/// Go's `http.DetectContentType`, for the types a text server meets.
pub(crate) fn sniff(body: &[u8]) -> &'static str {
    const HTML: &[&[u8]] = &[
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    let data = &body[..body.len().min(512)];
    let ws = data
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' '))
        .unwrap_or(data.len());
    let rest = &data[ws..];
    for tag in HTML {
        if rest.len() > tag.len()
            && rest[..tag.len()].eq_ignore_ascii_case(tag)
            && matches!(rest[tag.len()], b' ' | b'>')
        {
            return TEXT_HTML;
        }
    }
    if rest.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if data.starts_with(b"%PDF-") {
        return "application/pdf";
    }
    if data.starts_with(b"\x89PNG\x0D\x0A\x1A\x0A") {
        return "image/png";
    }
    if data.starts_with(b"\x1f\x8b\x08") {
        return "application/x-gzip";
    }
    let binary = data.iter().any(|&b| {
        b <= 0x08 || b == 0x0b || (0x0e..=0x1a).contains(&b) || (0x1c..=0x1f).contains(&b)
    });
    if binary {
        "application/octet-stream"
    } else {
        TEXT_PLAIN
    }
}

/// Go's JSON encoding of a string-keyed value: sorted keys (callers use BTreeMap), compact,
/// and `<`, `>`, `&`, U+2028, U+2029 escaped as `\u…` (encoding/json's HTML-safe default).
pub(crate) fn go_json(v: &serde_json::Value) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// How the server treats requests before the handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerConfig {
    /// Redirect unclean paths (`//x`, `/a/../b`) with 301, as a Go ServeMux does.
    pub(crate) mux_redirects: bool,
}

/// The handler failed on purpose; hyper closes the connection without a response.
#[derive(Debug)]
struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("handler aborted the connection")
    }
}

impl std::error::Error for Aborted {}

/// Running HTTP accept loops; dropping it stops them and their connections.
#[derive(Debug)]
pub(crate) struct HttpServer {
    loops: JoinSet<()>,
    drain: CancellationToken,
}

impl HttpServer {
    /// Serves each listener with its handler.
    pub(crate) fn spawn(listeners: Vec<(TcpListener, Handler)>, cfg: ServerConfig) -> Self {
        let drain = CancellationToken::new();
        let mut loops = JoinSet::new();
        for (listener, handler) in listeners {
            loops.spawn(accept_loop(listener, handler, cfg, drain.clone()));
        }
        Self { loops, drain }
    }

    /// Go's `Server.Shutdown` with a deadline: stop accepting, let requests in flight finish
    /// for at most `timeout`, then drop whatever is left.
    pub(crate) async fn shutdown(mut self, timeout: Duration) {
        self.drain.cancel();
        let _ = tokio::time::timeout(timeout, async {
            while self.loops.join_next().await.is_some() {}
        })
        .await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    handler: Handler,
    cfg: ServerConfig,
    drain: CancellationToken,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            () = drain.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    conns.spawn(serve_conn(stream, peer, handler.clone(), cfg, drain.clone()));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning (as Go's Serve does).
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

async fn serve_conn(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Handler,
    cfg: ServerConfig,
    drain: CancellationToken,
) {
    let peer = canonical(peer);
    let svc = service_fn(move |req: hyper::Request<Incoming>| {
        let handler = handler.clone();
        async move { dispatch(req, peer, handler, cfg).await }
    });
    let conn = http1::Builder::new()
        .title_case_headers(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => {
            if let Err(e) = res {
                tracing::debug!(%peer, "http connection: {e}");
            }
        }
        () = drain.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn dispatch(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    handler: Handler,
    cfg: ServerConfig,
) -> Result<hyper::Response<Full<Bytes>>, Aborted> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_FORM_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let req = Request {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        remote: Some(peer),
        body,
    };
    tracing::debug!(%peer, method = %req.method, uri = %req.uri, "http request");
    if cfg.mux_redirects && req.method != Method::CONNECT {
        let cleaned = mux_clean_path(req.path());
        if cleaned != req.path() {
            let target = match req.uri.query() {
                Some(q) => format!("{cleaned}?{q}"),
                None => cleaned,
            };
            return Ok(finish(Response::go_redirect(
                &req,
                &target,
                StatusCode::MOVED_PERMANENTLY,
            )));
        }
    }
    match handler(req).await {
        Reply::Respond(resp) => Ok(finish(resp)),
        Reply::Abort => Err(Aborted),
    }
}

/// Go's last touches: sniff `Content-Type`, no body where the status forbids one.
fn finish(resp: Response) -> hyper::Response<Full<Bytes>> {
    let Response {
        status,
        mut headers,
        body,
    } = resp;
    let body_allowed = !(status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED);
    let body = if body_allowed { body } else { Bytes::new() };
    if !headers.contains_key(CONTENT_TYPE) && !body.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(sniff(&body)));
    }
    let mut out = hyper::Response::new(Full::new(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

/// Wraps an async fn into a [`Handler`].
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/"), "/");
        assert_eq!(clean("//echo"), "/echo");
        assert_eq!(clean("/a/../b/./c/"), "/b/c");
        assert_eq!(clean("/.."), "/");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(mux_clean_path("//hostname"), "/hostname");
        assert_eq!(mux_clean_path("/dir/"), "/dir/");
        assert_eq!(mux_clean_path("/a//b/"), "/a/b/");
        assert_eq!(mux_clean_path("x"), "/x");
    }

    #[test]
    fn sniff_like_go() {
        assert_eq!(sniff(b"NOW: 2024"), TEXT_PLAIN);
        assert_eq!(sniff(b"{\"a\":1}"), TEXT_PLAIN);
        assert_eq!(sniff(b"  <html><body>"), TEXT_HTML);
        assert_eq!(sniff(b"<a href=x>"), TEXT_HTML);
        assert_eq!(sniff(b"<abc>"), TEXT_PLAIN);
        assert_eq!(sniff(b"\x00\x01"), "application/octet-stream");
    }

    #[test]
    fn json_is_html_safe() {
        let v = serde_json::json!({"output": "<a&b>"});
        assert_eq!(go_json(&v), r#"{"output":"\u003ca\u0026b\u003e"}"#);
    }

    #[test]
    fn redirect_resolves_relative_paths() {
        let req = Request {
            method: Method::GET,
            uri: Uri::from_static("/a/b?x=1"),
            headers: HeaderMap::new(),
            remote: None,
            body: Bytes::new(),
        };
        let r = Response::go_redirect(&req, "c?d=1", StatusCode::FOUND);
        assert_eq!(r.headers[LOCATION], "/a/c?d=1");
        assert_eq!(&r.body[..], b"<a href=\"/a/c?d=1\">Found</a>.\n\n");
        let r = Response::go_redirect(&req, "http://x/y", StatusCode::TEMPORARY_REDIRECT);
        assert_eq!(r.headers[LOCATION], "http://x/y");
    }
}
