//! API benchmark against a running `tether server --insecure-plain-http`: parallel creates,
//! list, and watch fan-out (watchers × changes, delivery latency from just before each
//! change's request is sent to the watch event's arrival).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::stats::{summarize, us};

/// Arguments of `api`.
#[derive(Debug, clap::Args)]
pub(crate) struct ApiArgs {
    /// API server address (plain HTTP).
    #[arg(long)]
    server: SocketAddr,
    /// Services to create.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Parallel clients (one HTTP/1.1 connection each).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Number of list requests to time.
    #[arg(long, default_value_t = 3)]
    lists: usize,
    /// Watchers for the fan-out test (0 skips it).
    #[arg(long, default_value_t = 100)]
    watchers: usize,
    /// Changes (Service creates) delivered to the watchers.
    #[arg(long, default_value_t = 1000)]
    changes: usize,
    /// Label printed in front of the figures.
    #[arg(long, default_value = "api")]
    label: String,
}

pub(crate) type Sender = SendRequest<Full<Bytes>>;

pub(crate) async fn connect(server: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

pub(crate) fn request(
    method: &str,
    path: &str,
    body: Option<String>,
) -> anyhow::Result<http::Request<Full<Bytes>>> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "tether")
        .header("accept", "application/json");
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    Ok(b.body(Full::new(Bytes::from(body.unwrap_or_default())))?)
}

pub(crate) async fn call(
    s: &mut Sender,
    method: &str,
    path: &str,
    body: Option<String>,
) -> anyhow::Result<(u16, Bytes)> {
    s.ready().await?;
    let resp = s.send_request(request(method, path, body)?).await?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((status, bytes))
}

/// A watch response read as newline-delimited JSON events, each stamped with the arrival
/// of the frame that completed it.
pub(crate) struct WatchLines {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
    ready: std::collections::VecDeque<(Instant, serde_json::Value)>,
}

impl WatchLines {
    /// Sends the watch request (`path` with `watch=1`) and checks for 200.
    pub(crate) async fn open(server: SocketAddr, path: &str) -> anyhow::Result<Self> {
        let mut s = connect(server).await?;
        s.ready().await?;
        let resp = s.send_request(request("GET", path, None)?).await?;
        anyhow::ensure!(
            resp.status().as_u16() == 200,
            "watch {path}: {}",
            resp.status()
        );
        Ok(Self {
            body: resp.into_body(),
            buf: Vec::new(),
            ready: std::collections::VecDeque::new(),
        })
    }

    /// The next event, or `None` when the stream ends.
    pub(crate) async fn next(&mut self) -> Option<(Instant, serde_json::Value)> {
        loop {
            if let Some(ev) = self.ready.pop_front() {
                return Some(ev);
            }
            let frame = self.body.frame().await?.ok()?;
            let now = Instant::now();
            let Ok(data) = frame.into_data() else {
                continue;
            };
            self.buf.extend_from_slice(&data);
            while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                if let Ok(ev) = serde_json::from_slice(&line) {
                    self.ready.push_back((now, ev));
                }
            }
        }
    }
}

fn service_json(name: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"bench": "tether"}},
        "spec": {
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
        }
    })
    .to_string()
}

pub(crate) async fn ensure_namespace(server: SocketAddr, ns: &str) -> anyhow::Result<()> {
    let mut s = connect(server).await?;
    let body = serde_json::json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":ns}});
    let (st, b) = call(&mut s, "POST", "/api/v1/namespaces", Some(body.to_string())).await?;
    anyhow::ensure!(
        st == 201 || st == 409,
        "create namespace {ns}: {st} {}",
        String::from_utf8_lossy(&b)
    );
    Ok(())
}

/// Creates `names` with `clients` parallel connections; returns per-request latencies (µs),
/// the wall time and the number of failures. `sent[i]` gets the send instant of name i.
async fn create_all(
    server: SocketAddr,
    ns: &str,
    names: Arc<Vec<String>>,
    clients: usize,
    sent: Option<Arc<Vec<OnceLock<Instant>>>>,
) -> anyhow::Result<(Vec<u64>, Duration, usize)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let names = Arc::clone(&names);
        let next = Arc::clone(&next);
        let sent = sent.clone();
        let path = format!("/api/v1/namespaces/{ns}/services");
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut failed = 0usize;
            let mut s = connect(server).await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                let body = service_json(name);
                let t = Instant::now();
                if let Some(sent) = &sent {
                    let _ = sent[i].set(t);
                }
                match call(&mut s, "POST", &path, Some(body)).await {
                    Ok((201, _)) => lat.push(us(t.elapsed())),
                    Ok((st, b)) => {
                        failed += 1;
                        if failed < 3 {
                            eprintln!("create {name}: {st} {}", String::from_utf8_lossy(&b));
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("create {name}: {e}");
                        s = connect(server).await?;
                    }
                }
            }
            anyhow::Ok((lat, failed))
        });
    }
    let mut lat = Vec::new();
    let mut failed = 0;
    while let Some(r) = set.join_next().await {
        let (l, f) = r??;
        lat.extend(l);
        failed += f;
    }
    Ok((lat, start.elapsed(), failed))
}

/// Runs create, list and watch fan-out, printing `key=value` figures.
pub(crate) fn run(a: &ApiArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run_async(a))
}

async fn run_async(a: &ApiArgs) -> anyhow::Result<()> {
    let l = &a.label;
    let server = a.server;
    // 1. Creates.
    let ns = "bench";
    ensure_namespace(server, ns).await?;
    let names: Arc<Vec<String>> = Arc::new((0..a.count).map(|i| format!("s-{i}")).collect());
    let (mut lat, wall, failed) = create_all(server, ns, names, a.clients, None).await?;
    println!(
        "{l}_create_count={} {l}_create_failed={failed} {l}_create_wall_s={:.2} {l}_create_rps={:.0}",
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64()
    );
    summarize(&mut lat).print(&format!("{l}_create"));

    // 2. List: one unpaginated request, and kubectl's way (limit=500 pages with continue).
    let mut s = connect(server).await?;
    for paged in [false, true] {
        let kind = if paged { "paged500" } else { "full" };
        let mut times = Vec::new();
        for _ in 0..a.lists {
            let t = Instant::now();
            let mut items = 0usize;
            let mut bytes = 0usize;
            let mut pages = 0usize;
            let mut cont: Option<String> = None;
            let mut error = None;
            loop {
                let mut path = format!("/api/v1/namespaces/{ns}/services");
                if paged {
                    path.push_str("?limit=500");
                    if let Some(c) = &cont {
                        path.push_str("&continue=");
                        let enc = c
                            .replace('%', "%25")
                            .replace('+', "%2B")
                            .replace('/', "%2F")
                            .replace('=', "%3D");
                        path.push_str(&enc);
                    }
                }
                let (st, body) = call(&mut s, "GET", &path, None).await?;
                pages += 1;
                bytes += body.len();
                if st != 200 {
                    let msg = String::from_utf8_lossy(&body);
                    error = Some(format!(
                        "{st} {}",
                        msg.chars().take(300).collect::<String>()
                    ));
                    break;
                }
                let v: serde_json::Value = serde_json::from_slice(&body).context("list json")?;
                items += v
                    .get("items")
                    .and_then(|i| i.as_array())
                    .map_or(0, Vec::len);
                cont = v
                    .pointer("/metadata/continue")
                    .and_then(|c| c.as_str())
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned);
                if !paged || cont.is_none() {
                    break;
                }
            }
            let d = t.elapsed();
            if let Some(e) = error {
                println!("{l}_list_{kind} error={e:?}");
                break;
            }
            times.push(d.as_secs_f64() * 1e3);
            println!(
                "{l}_list_{kind} items={items} pages={pages} bytes={bytes} ms={:.1}",
                d.as_secs_f64() * 1e3
            );
        }
        times.sort_by(f64::total_cmp);
        if let Some(m) = times.get(times.len() / 2) {
            println!("{l}_list_{kind}_median_ms={m:.1}");
        }
    }

    // 3. Watch fan-out.
    if a.watchers == 0 {
        return Ok(());
    }
    let wns = "bench-watch";
    ensure_namespace(server, wns).await?;
    let (st, body) = call(
        &mut s,
        "GET",
        &format!("/api/v1/namespaces/{wns}/services?limit=1"),
        None,
    )
    .await?;
    anyhow::ensure!(st == 200, "list for rv: {st}");
    let v: serde_json::Value = serde_json::from_slice(&body)?;
    let rv = v
        .pointer("/metadata/resourceVersion")
        .and_then(|r| r.as_str())
        .unwrap_or("0")
        .to_owned();
    let n = a.changes;
    let sent: Arc<Vec<OnceLock<Instant>>> = Arc::new((0..n).map(|_| OnceLock::new()).collect());
    let mut watchers = tokio::task::JoinSet::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(a.watchers);
    for _ in 0..a.watchers {
        let path = format!(
            "/api/v1/namespaces/{wns}/services?watch=1&resourceVersion={rv}&allowWatchBookmarks=false"
        );
        let ready_tx = ready_tx.clone();
        watchers.spawn(async move {
            let mut w = WatchLines::open(server, &path).await?;
            let _ = ready_tx.send(()).await;
            let mut got: Vec<(usize, Instant)> = Vec::with_capacity(n);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while got.len() < n {
                let Ok(Some((now, ev))) = tokio::time::timeout_at(deadline, w.next()).await else {
                    break;
                };
                if ev.get("type").and_then(|t| t.as_str()) != Some("ADDED") {
                    continue;
                }
                let idx = ev
                    .pointer("/object/metadata/name")
                    .and_then(|n| n.as_str())
                    .and_then(|n| n.strip_prefix("w-"))
                    .and_then(|n| n.parse::<usize>().ok());
                if let Some(i) = idx {
                    got.push((i, now));
                }
            }
            anyhow::Ok(got)
        });
    }
    drop(ready_tx);
    for _ in 0..a.watchers {
        if ready_rx.recv().await.is_none() {
            break;
        }
    }
    // Let the watch streams settle before the burst.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let wnames: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("w-{i}")).collect());
    let burst_start = Instant::now();
    let (_, burst_wall, burst_failed) =
        create_all(server, wns, wnames, a.clients, Some(Arc::clone(&sent))).await?;
    let mut deliveries = Vec::new();
    let mut complete = 0usize;
    let mut last = burst_start;
    while let Some(r) = watchers.join_next().await {
        let got = r??;
        if got.len() >= n {
            complete += 1;
        }
        for (i, at) in got {
            if let Some(t) = sent.get(i).and_then(OnceLock::get) {
                deliveries.push(us(at.saturating_duration_since(*t)));
            }
            last = last.max(at);
        }
    }
    println!(
        "{l}_watch watchers={} changes={n} burst_failed={burst_failed} burst_wall_s={:.2} watchers_complete={complete} deliveries={} all_delivered_after_s={:.2}",
        a.watchers,
        burst_wall.as_secs_f64(),
        deliveries.len(),
        last.saturating_duration_since(burst_start).as_secs_f64()
    );
    summarize(&mut deliveries).print(&format!("{l}_watch_delivery"));
    Ok(())
}
