//! The agent's data-plane path end to end: from an API write to the element in the node's
//! nftables table. Against a running `tether server --insecure-plain-http` and a `tether
//! agent` programming netns `--netns`: creates N selector-less Services with an
//! EndpointSlice of E endpoints each (the slices are written directly, as for Services
//! without selectors), waits until the kernel holds them all, then times single changes
//! (a Service + slice added, one endpoint replaced, a Service deleted) from the request's
//! send to the moment a netlink lookup finds the change in the kernel (polled every
//! millisecond over one netlink socket, `tether_nft::ElementReader`: a poll costs two
//! syscalls, not a thread per namespace switch).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tether_nft::{ElementReader, Nft};

use crate::api::{call, connect, ensure_namespace};
use crate::stats::{summarize, us};

/// Arguments of `agent-sync`.
#[derive(Debug, clap::Args)]
pub(crate) struct AgentSyncArgs {
    /// API server address (plain HTTP).
    #[arg(long)]
    server: SocketAddr,
    /// The node namespace the agent programs (a file such as `/run/netns/NAME`).
    #[arg(long)]
    netns: PathBuf,
    /// Services to create before timing changes.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Endpoints per Service.
    #[arg(long, default_value_t = 5)]
    endpoints: usize,
    /// Changes of each kind to time.
    #[arg(long, default_value_t = 20)]
    changes: usize,
    /// Parallel clients for the initial creates.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Give up waiting for one change after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

const NS: &str = "agent-sync";

fn service_json(name: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}
    })
    .to_string()
}

/// Endpoint address `k` of Service `i`: distinct for every (i, k), inside 10.128.0.0/9.
fn endpoint_ip(i: usize, k: usize, per: usize) -> Ipv4Addr {
    let n = u32::try_from(i * per + k).unwrap_or(u32::MAX) & 0x007f_ffff;
    Ipv4Addr::from(0x0a80_0000 | n)
}

fn slice_json(service: &str, ips: &[Ipv4Addr], resource_version: Option<&str>) -> String {
    let endpoints: Vec<_> = ips
        .iter()
        .map(|ip| {
            serde_json::json!({
                "addresses": [ip.to_string()],
                "conditions": {"ready": true},
                "nodeName": "elsewhere"
            })
        })
        .collect();
    let mut meta = serde_json::json!({
        "name": format!("{service}-1"),
        "labels": {"kubernetes.io/service-name": service}
    });
    if let Some(rv) = resource_version {
        meta["resourceVersion"] = rv.into();
    }
    serde_json::json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta,
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]
    })
    .to_string()
}

/// Creates Service `name` and its slice; returns the ClusterIP and the slice's
/// resourceVersion.
async fn create_pair(
    s: &mut crate::api::Sender,
    name: &str,
    ips: &[Ipv4Addr],
) -> anyhow::Result<(Ipv4Addr, String)> {
    let svc = expect(
        s,
        "POST",
        &format!("/api/v1/namespaces/{NS}/services"),
        Some(service_json(name)),
        201,
    )
    .await?;
    let ip: Ipv4Addr = svc["spec"]["clusterIP"]
        .as_str()
        .context("no clusterIP")?
        .parse()?;
    let slice = expect(
        s,
        "POST",
        &format!("/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"),
        Some(slice_json(name, ips, None)),
        201,
    )
    .await?;
    let rv = slice["metadata"]["resourceVersion"]
        .as_str()
        .context("no resourceVersion")?
        .to_owned();
    Ok((ip, rv))
}

/// [`call`] that fails unless the status is `status`; the body as JSON.
async fn expect(
    s: &mut crate::api::Sender,
    method: &str,
    path: &str,
    body: Option<String>,
    status: u16,
) -> anyhow::Result<serde_json::Value> {
    let (st, b) = call(s, method, path, body).await?;
    anyhow::ensure!(
        st == status,
        "{method} {path}: {st} {}",
        String::from_utf8_lossy(&b)
    );
    Ok(serde_json::from_slice(&b)?)
}

/// One Service as created: its ClusterIP, endpoint addresses and slice resourceVersion.
#[derive(Debug, Clone)]
struct Created {
    ip: Ipv4Addr,
    ips: Vec<Ipv4Addr>,
    rv: String,
}

/// The fast-path map of a port with `n` endpoints.
fn fast_map(n: usize) -> String {
    format!("fast-endpoints-{n}")
}

/// Polls (every millisecond) until `done` holds, at most `timeout`; returns the time from `since`.
fn wait_until(
    since: Instant,
    timeout: Duration,
    mut done: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<Duration> {
    loop {
        if done()? {
            return Ok(since.elapsed());
        }
        anyhow::ensure!(
            since.elapsed() < timeout,
            "not in the kernel after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether some index of Service `ip`'s fast-path map element holds `want` (script syntax).
fn holds(
    nft: &ElementReader,
    map: &str,
    ip: Ipv4Addr,
    n: usize,
    want: &str,
) -> anyhow::Result<bool> {
    let want = Nft::encode_value(map, want).context("encode")?;
    for i in 0..n {
        if nft.get(map, &format!("{ip} . tcp . 80 . {i}"))? == Some(want.clone()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs the benchmark, printing `key=value` figures.
pub(crate) fn run(a: &AgentSyncArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let nft = Nft::new(Some(a.netns.clone()), "tether").element_reader()?;
    let timeout = Duration::from_secs(a.timeout_s);
    let per = a.endpoints;
    let map = fast_map(per);
    rt.block_on(ensure_namespace(a.server, NS))?;

    // Initial state: N Services with their slices, created in parallel.
    let start = Instant::now();
    let created: Vec<Created> = rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..a.clients.max(1) {
            let next = Arc::clone(&next);
            let (server, count) = (a.server, a.count);
            set.spawn(async move {
                let mut s = connect(server).await?;
                let mut out = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let ips: Vec<Ipv4Addr> = (0..per).map(|k| endpoint_ip(i, k, per)).collect();
                    let (ip, rv) = create_pair(&mut s, &format!("s{i}"), &ips).await?;
                    out.push((i, Created { ip, ips, rv }));
                }
                anyhow::Ok(out)
            });
        }
        let mut all = Vec::with_capacity(a.count);
        while let Some(r) = set.join_next().await {
            all.extend(r??);
        }
        all.sort_by_key(|(i, _)| *i);
        anyhow::Ok(all.into_iter().map(|(_, c)| c).collect())
    })?;
    let created_in = start.elapsed();
    println!(
        "agent_sync services={} endpoints={per} create_s={:.1} create_rps={:.0}",
        a.count,
        created_in.as_secs_f64(),
        (2 * a.count) as f64 / created_in.as_secs_f64()
    );
    // Until every Service's first endpoint is in the kernel (checked in creation order: the
    // agent sees the events in about that order, so most checks pass at once).
    for (i, c) in created.iter().enumerate() {
        let first = format!("{} . 8080", c.ips[0]);
        wait_until(start, timeout, || holds(&nft, &map, c.ip, per, &first))
            .with_context(|| format!("service s{i}"))?;
    }
    println!(
        "agent_sync services={} all_in_kernel_s={:.1} (from the first create)",
        a.count,
        start.elapsed().as_secs_f64()
    );

    let (mut add, mut change, mut delete) = (Vec::new(), Vec::new(), Vec::new());
    // How long the API requests themselves took (until their responses), per kind.
    let (mut add_api, mut change_api, mut delete_api) = (Vec::new(), Vec::new(), Vec::new());
    let mut created = created;
    rt.block_on(async {
        let mut s = connect(a.server).await?;
        for c in 0..a.changes {
            // Add one Service with its slice: until its first endpoint is in the kernel.
            let name = format!("added{c}");
            let ips: Vec<Ipv4Addr> = (0..per).map(|k| endpoint_ip(a.count + c, k, per)).collect();
            let t = Instant::now();
            let (ip, _) = create_pair(&mut s, &name, &ips).await?;
            add_api.push(us(t.elapsed()));
            let first = format!("{} . 8080", ips[0]);
            add.push(us(wait_until(t, timeout, || {
                holds(&nft, &map, ip, per, &first)
            })?));

            // Replace one endpoint of an existing Service: until the new address is in.
            let victim = (c * 7919) % created.len().max(1);
            let Some(v) = created.get_mut(victim) else {
                break;
            };
            let fresh = endpoint_ip(a.count + a.changes + c, 0, per);
            let mut ips = v.ips.clone();
            ips[0] = fresh;
            let t = Instant::now();
            let updated = expect(
                &mut s,
                "PUT",
                &format!("/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices/s{victim}-1"),
                Some(slice_json(&format!("s{victim}"), &ips, Some(&v.rv))),
                200,
            )
            .await?;
            change_api.push(us(t.elapsed()));
            let want = format!("{fresh} . 8080");
            change.push(us(wait_until(t, timeout, || {
                holds(&nft, &map, v.ip, per, &want)
            })?));
            v.rv = updated["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            v.ips = ips;

            // Delete the added Service: until its ClusterIP leaves the kernel.
            let t = Instant::now();
            expect(
                &mut s,
                "DELETE",
                &format!("/api/v1/namespaces/{NS}/services/{name}"),
                None,
                200,
            )
            .await?;
            delete_api.push(us(t.elapsed()));
            delete.push(us(wait_until(t, timeout, || {
                Ok(nft.get("cluster-ips", &ip.to_string())?.is_none())
            })?));
            expect(
                &mut s,
                "DELETE",
                &format!("/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices/{name}-1"),
                None,
                200,
            )
            .await?;
        }
        anyhow::Ok(())
    })?;
    for (label, v) in [
        ("add", &mut add),
        ("endpoint_change", &mut change),
        ("delete", &mut delete),
        ("add_api", &mut add_api),
        ("endpoint_change_api", &mut change_api),
        ("delete_api", &mut delete_api),
    ] {
        let s = summarize(v);
        println!(
            "agent_sync services={} {label}_ms_median={:.1} {label}_ms_p90={:.1} {label}_ms_max={:.1} n={}",
            a.count,
            s.p50 / 1000.0,
            s.p90 / 1000.0,
            s.max / 1000.0,
            s.n
        );
    }
    Ok(())
}
