//! Pod benchmark (issue 3) against a running `tether server --insecure-plain-http` with one
//! `tether agent`:
//!
//! 1. latency: pods created in batches; from just before each create request to the watch
//!    event showing the pod Ready (start → Ready: upstream's pod startup latency measures from
//!    creation to the watch too), and from that event to the EndpointSlice
//!    event listing the pod's IP as ready (Ready → EndpointSlice);
//! 2. churn: waves of pods created, run until Ready, deleted until gone; the agent's CPU time
//!    (utime + stime from /proc) and its RSS (sampled every 100 ms, and VmHWM) over the churn.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::{WatchLines, call, connect, ensure_namespace};
use crate::stats::{summarize, us};

/// Arguments of `pods`.
#[derive(Debug, clap::Args)]
pub(crate) struct PodsArgs {
    /// API server address (plain HTTP).
    #[arg(long)]
    server: SocketAddr,
    /// The agent's PID (CPU and RSS are read from /proc).
    #[arg(long)]
    agent_pid: u32,
    /// The server's PID (its CPU time is reported too).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Pods for the latency measurement.
    #[arg(long, default_value_t = 100)]
    latency_pods: usize,
    /// Pods created at once in the latency measurement (the next batch waits for this one).
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Pods churned through in all.
    #[arg(long, default_value_t = 500)]
    churn_pods: usize,
    /// Pods per churn wave (a /24 podCIDR holds 253 pods at a time; upstream's default
    /// per-node limit is 110).
    #[arg(long, default_value_t = 100)]
    wave: usize,
    /// Label printed in front of the figures.
    #[arg(long, default_value = "pods")]
    label: String,
}

fn pod_json(name: &str, app: &str) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "netexec",
                "image": "registry.k8s.io/e2e-test-images/agnhost:2.40",
                "args": ["netexec", "--http-port=8080", "--udp-port=-1"],
                "ports": [{"containerPort": 8080, "name": "http"}]
            }]
        }
    })
    .to_string()
}

/// Streams a watch's events (arrival instant, event) until the connection ends.
async fn watch(
    server: SocketAddr,
    path: String,
    tx: mpsc::UnboundedSender<(Instant, Value)>,
) -> anyhow::Result<()> {
    let mut w = WatchLines::open(server, &path).await?;
    while let Some(ev) = w.next().await {
        if tx.send(ev).is_err() {
            break;
        }
    }
    Ok(())
}

/// The list's resourceVersion, to watch from.
async fn list_rv(server: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = connect(server).await?;
    let (st, body) = call(&mut s, "GET", &format!("{path}?limit=1"), None).await?;
    anyhow::ensure!(st == 200, "list {path}: {st}");
    let v: Value = serde_json::from_slice(&body)?;
    Ok(v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("0")
        .to_owned())
}

fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Parallel connections that create pods.
const CREATE_CLIENTS: usize = 8;

/// The next watch event within 5 s (`Ok(None)`: none came), or an error when every watch
/// stream has ended (their tasks log why), so callers never spin on a closed channel.
async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<(Instant, Value)>,
) -> anyhow::Result<Option<(Instant, Value)>> {
    match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        Ok(Some(ev)) => Ok(Some(ev)),
        Ok(None) => anyhow::bail!("the watch streams ended"),
        Err(_) => Ok(None),
    }
}

/// Starts a watch of `path` from its current resourceVersion, feeding `tx`; a failure is
/// printed (and ends the stream, which [`next_event`] reports).
async fn start_watch(
    server: SocketAddr,
    path: &str,
    tx: mpsc::UnboundedSender<(Instant, Value)>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let rv = list_rv(server, path).await?;
    let url = format!("{path}?watch=1&resourceVersion={rv}");
    Ok(tokio::spawn(async move {
        if let Err(e) = watch(server, url.clone(), tx).await {
            eprintln!("watch {url}: {e:#}");
        }
    }))
}

/// Creates `names` (pods labelled `app`) over [`CREATE_CLIENTS`] connections.
async fn create_pods(
    server: SocketAddr,
    ns: &str,
    app: &str,
    names: &[String],
    sent: &mut HashMap<String, Instant>,
) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for chunk in names.chunks(names.len().div_ceil(CREATE_CLIENTS).max(1)) {
        let chunk = chunk.to_vec();
        let (ns, app) = (ns.to_owned(), app.to_owned());
        set.spawn(async move {
            let mut s = connect(server).await?;
            let mut times = Vec::new();
            for name in chunk {
                let t = Instant::now();
                let (st, b) = call(
                    &mut s,
                    "POST",
                    &format!("/api/v1/namespaces/{ns}/pods"),
                    Some(pod_json(&name, &app)),
                )
                .await?;
                anyhow::ensure!(
                    st == 201,
                    "create {name}: {st} {}",
                    String::from_utf8_lossy(&b)
                );
                times.push((name, t));
            }
            anyhow::Ok(times)
        });
    }
    while let Some(r) = set.join_next().await {
        sent.extend(r??);
    }
    Ok(())
}

async fn delete_pods(server: SocketAddr, ns: &str, names: &[String]) -> anyhow::Result<()> {
    let mut s = connect(server).await?;
    for name in names {
        let (st, b) = call(
            &mut s,
            "DELETE",
            &format!("/api/v1/namespaces/{ns}/pods/{name}"),
            None,
        )
        .await?;
        anyhow::ensure!(
            st == 200 || st == 202 || st == 404,
            "delete {name}: {st} {}",
            String::from_utf8_lossy(&b)
        );
    }
    Ok(())
}

/// CPU seconds of a process from /proc/PID/stat: its own (utime + stime) and that of its
/// reaped children (cutime + cstime: for the agent, `nft`/`conntrack` runs and pods).
fn cpu_seconds(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`: state is field 3; utime, stime, cutime, cstime are 14-17.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|h| *h > 0)
        .unwrap_or(100) as f64;
    (
        (ticks(11) + ticks(12)) as f64 / hz,
        (ticks(13) + ticks(14)) as f64 / hz,
    )
}

/// Runs both measurements, printing `key=value` figures.
pub(crate) fn run(a: &PodsArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        latency(a).await?;
        churn(a).await
    })
}

async fn latency(a: &PodsArgs) -> anyhow::Result<()> {
    let (l, server, ns) = (&a.label, a.server, "bench-lat");
    ensure_namespace(server, ns).await?;
    let mut s = connect(server).await?;
    let svc = json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "lat"},
        "spec": {"selector": {"app": "lat"}, "ports": [{"port": 80, "targetPort": "http"}]}
    });
    let (st, b) = call(
        &mut s,
        "POST",
        &format!("/api/v1/namespaces/{ns}/services"),
        Some(svc.to_string()),
    )
    .await?;
    anyhow::ensure!(
        st == 201 || st == 409,
        "service: {st} {}",
        String::from_utf8_lossy(&b)
    );

    let pods_path = format!("/api/v1/namespaces/{ns}/pods");
    let slices_path = format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watches = [
        start_watch(server, &pods_path, tx.clone()).await?,
        start_watch(server, &slices_path, tx).await?,
    ];

    let names: Vec<String> = (0..a.latency_pods).map(|i| format!("lat-{i}")).collect();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut ready: HashMap<String, (Instant, String)> = HashMap::new();
    let mut in_slice: HashMap<String, Instant> = HashMap::new();
    for batch in names.chunks(a.batch.max(1)) {
        create_pods(server, ns, "lat", batch, &mut sent).await?;
        let deadline = Instant::now() + Duration::from_secs(120);
        // Until every pod of the batch is Ready and its IP is ready in a slice.
        loop {
            let done = batch.iter().all(|n| {
                ready
                    .get(n)
                    .is_some_and(|(_, ip)| in_slice.contains_key(ip))
            });
            if done {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "batch not ready in 120 s");
            let Some((at, ev)) = next_event(&mut rx).await? else {
                continue;
            };
            let obj = &ev["object"];
            match obj["kind"].as_str() {
                Some("Pod") => {
                    let name = name_of(obj);
                    if is_ready(obj) && !ready.contains_key(&name) {
                        let ip = obj
                            .pointer("/status/podIP")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        ready.insert(name, (at, ip));
                    }
                }
                Some("EndpointSlice") => {
                    for e in obj["endpoints"].as_array().into_iter().flatten() {
                        if e.pointer("/conditions/ready") != Some(&Value::Bool(true)) {
                            continue;
                        }
                        for ip in e["addresses"].as_array().into_iter().flatten() {
                            if let Some(ip) = ip.as_str() {
                                in_slice.entry(ip.to_owned()).or_insert(at);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut start_ready = Vec::new();
    let mut ready_slice = Vec::new();
    for n in &names {
        let (Some(t0), Some((tr, ip))) = (sent.get(n), ready.get(n)) else {
            continue;
        };
        start_ready.push(us(tr.duration_since(*t0)));
        if let Some(ts) = in_slice.get(ip) {
            // A slice event can arrive before the pod's own event; that counts as 0.
            ready_slice.push(us(ts.saturating_duration_since(*tr)));
        }
    }
    println!("{l}_latency_pods={} {l}_batch={}", names.len(), a.batch);
    summarize(&mut start_ready).print(&format!("{l}_start_to_ready"));
    summarize(&mut ready_slice).print(&format!("{l}_ready_to_slice"));
    // Tear down before the churn measurement starts, so it is not billed for this.
    delete_pods(server, ns, &names).await?;
    let mut gone = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while gone.len() < names.len() {
        anyhow::ensure!(Instant::now() < deadline, "latency pods not gone in 120 s");
        if let Some((_, ev)) = next_event(&mut rx).await?
            && ev["type"] == "DELETED"
            && ev["object"]["kind"] == "Pod"
        {
            gone.insert(name_of(&ev["object"]));
        }
    }
    let (st, b) = call(
        &mut s,
        "DELETE",
        &format!("/api/v1/namespaces/{ns}/services/lat"),
        None,
    )
    .await?;
    anyhow::ensure!(
        st == 200,
        "delete service: {st} {}",
        String::from_utf8_lossy(&b)
    );
    watches.iter().for_each(tokio::task::JoinHandle::abort);
    Ok(())
}

async fn churn(a: &PodsArgs) -> anyhow::Result<()> {
    let (l, server, ns) = (&a.label, a.server, "bench-churn");
    ensure_namespace(server, ns).await?;
    let pods_path = format!("/api/v1/namespaces/{ns}/pods");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watch = start_watch(server, &pods_path, tx).await?;

    // RSS sampler.
    let stop = Arc::new(AtomicBool::new(false));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, max_rss, pid) = (stop.clone(), max_rss.clone(), a.agent_pid);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                max_rss.fetch_max(crate::rss_kib_of(pid).0, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let (rss_before, _) = crate::rss_kib_of(a.agent_pid);
    let cpu0 = cpu_seconds(a.agent_pid);
    let scpu0 = a.server_pid.map(cpu_seconds);
    let t0 = Instant::now();
    let waves = a.churn_pods.div_ceil(a.wave.max(1));
    let mut wave_secs = Vec::new();
    for w in 0..waves {
        let tw = Instant::now();
        let names: Vec<String> = (0..a.wave).map(|i| format!("churn-{w}-{i}")).collect();
        let mut sent = HashMap::new();
        create_pods(server, ns, "churn", &names, &mut sent).await?;
        let mut ready = std::collections::HashSet::new();
        let mut gone = std::collections::HashSet::new();
        let mut deleting = false;
        let deadline = Instant::now() + Duration::from_secs(300);
        while gone.len() < names.len() {
            if !deleting && ready.len() == names.len() {
                delete_pods(server, ns, &names).await?;
                deleting = true;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "wave {w}: {} ready, {} gone after 300 s",
                ready.len(),
                gone.len()
            );
            let Some((_, ev)) = next_event(&mut rx).await? else {
                continue;
            };
            let name = name_of(&ev["object"]);
            if !sent.contains_key(&name) {
                continue;
            }
            if ev["type"] == "DELETED" {
                gone.insert(name);
            } else if is_ready(&ev["object"]) {
                ready.insert(name);
            }
        }
        wave_secs.push(tw.elapsed().as_secs_f64());
        eprintln!(
            "wave {w}: {} pods up and down in {:.1} s",
            names.len(),
            tw.elapsed().as_secs_f64()
        );
    }
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, children1) = cpu_seconds(a.agent_pid);
    let (cpu, children) = (cpu1 - cpu0.0, children1 - cpu0.1);
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    watch.abort();
    let (rss_after, _) = crate::rss_kib_of(a.agent_pid);
    let pods = waves * a.wave;
    println!(
        "{l}_churn_pods={pods} {l}_churn_waves={waves} {l}_churn_wall_s={wall:.1} {l}_churn_pods_per_s={:.1}",
        pods as f64 / wall
    );
    println!(
        "{l}_churn_wave_s={}",
        wave_secs
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    println!(
        "{l}_agent_cpu_s={cpu:.2} {l}_agent_cpu_ms_per_pod={:.1} {l}_agent_cpu_util={:.2}",
        cpu * 1e3 / pods as f64,
        cpu / wall
    );
    // Reaped children: `nft`/`conntrack` runs and the pods' own processes (not the agent's).
    println!("{l}_agent_children_cpu_s={children:.2}");
    if let (Some(pid), Some(s0)) = (a.server_pid, scpu0) {
        println!("{l}_server_cpu_s={:.2}", cpu_seconds(pid).0 - s0.0);
    }
    println!(
        "{l}_agent_rss_kib_before={rss_before} {l}_agent_rss_kib_max={} {l}_agent_rss_kib_after={rss_after}",
        max_rss.load(Ordering::Relaxed)
    );
    Ok(())
}
