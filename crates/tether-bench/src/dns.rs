//! DNS benchmark: a tether-dns server over N synthetic ClusterIP Services, the same names as
//! unbound `local-data`, and a closed-loop UDP load generator with percentiles.
//!
//! Service `i` is `svc-<i>` in namespace `ns-<i % 100>` with cluster IP `10.96.0.0 + 1 + i`.
//! A query mix is 90 % such names (A) and 10 % `nx-<j>.ns-<k>.svc.<zone>` (NXDOMAIN in both).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tokio_util::sync::CancellationToken;

use crate::stats::{summarize, us};

const NAMESPACES: usize = 100;
const ZONE: &str = "cluster.local";

fn cluster_ip(i: usize) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(10, 96, 0, 0));
    Ipv4Addr::from(base + 1 + u32::try_from(i).unwrap_or(0))
}

fn svc_name(i: usize) -> (String, String) {
    (format!("svc-{i}"), format!("ns-{}", i % NAMESPACES))
}

/// Small deterministic PRNG (xorshift64*), so both servers get the same query files.
pub(crate) struct Rng(u64);
impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

/// Arguments of `dns-gen`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenArgs {
    /// Number of Services.
    #[arg(long, default_value_t = 10_000)]
    services: usize,
    /// Number of queries in the query files.
    #[arg(long, default_value_t = 200_000)]
    queries: usize,
    /// Percentage of queries that are hits (the rest are NXDOMAIN).
    #[arg(long, default_value_t = 90)]
    hit_percent: usize,
    /// Output directory: writes queries.dnsperf, queries.txt, unbound-local.conf.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// Writes the query files and unbound's local-data include.
pub(crate) fn gen_files(a: &GenArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.out)?;
    let mut unbound =
        std::io::BufWriter::new(std::fs::File::create(a.out.join("unbound-local.conf"))?);
    writeln!(unbound, "server:")?;
    writeln!(unbound, "  local-zone: \"{ZONE}.\" static")?;
    for i in 0..a.services {
        let (n, ns) = svc_name(i);
        writeln!(
            unbound,
            "  local-data: \"{n}.{ns}.svc.{ZONE}. 5 IN A {}\"",
            cluster_ip(i)
        )?;
    }
    unbound.flush()?;
    let mut perf = std::io::BufWriter::new(std::fs::File::create(a.out.join("queries.dnsperf"))?);
    let mut plain = std::io::BufWriter::new(std::fs::File::create(a.out.join("queries.txt"))?);
    let mut rng = Rng::new(0x7e7e_2026);
    for j in 0..a.queries {
        let name = if rng.below(100) < a.hit_percent {
            let (n, ns) = svc_name(rng.below(a.services));
            format!("{n}.{ns}.svc.{ZONE}")
        } else {
            format!("nx-{j}.ns-{}.svc.{ZONE}", rng.below(NAMESPACES))
        };
        writeln!(perf, "{name} A")?;
        writeln!(plain, "{name}")?;
    }
    perf.flush()?;
    plain.flush()?;
    println!("services={} queries={}", a.services, a.queries);
    Ok(())
}

/// Arguments of `dns-serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Number of Services in the index.
    #[arg(long, default_value_t = 10_000)]
    services: usize,
    /// UDP and TCP address to serve on.
    #[arg(long, default_value = "127.0.0.1:5300")]
    addr: SocketAddr,
    /// Tokio worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// One datagram per system call instead of batches (the earlier server loop).
    #[arg(long)]
    udp_single: bool,
}

fn services(n: usize) -> Vec<Service> {
    (0..n)
        .map(|i| {
            let (name, ns) = svc_name(i);
            let ip = cluster_ip(i).to_string();
            Service {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: Some(ns),
                    ..ObjectMeta::default()
                },
                spec: Some(ServiceSpec {
                    cluster_ip: Some(ip.clone()),
                    cluster_ips: Some(vec![ip]),
                    ports: Some(vec![ServicePort {
                        name: Some("http".into()),
                        protocol: Some("TCP".into()),
                        port: 80,
                        ..ServicePort::default()
                    }]),
                    ..ServiceSpec::default()
                }),
                ..Service::default()
            }
        })
        .collect()
}

/// Builds the index, serves it, prints RSS once ready, runs until a signal.
pub(crate) fn serve(a: &ServeArgs) -> anyhow::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if a.workers > 0 {
        rt.worker_threads(a.workers);
    }
    let rt = rt.enable_all().build()?;
    let (rss0, _) = crate::rss_kib();
    let start = Instant::now();
    let svcs = services(a.services);
    let index = Arc::new(tether_dns::Index::from_objects(&svcs, &[], &[]));
    drop(svcs);
    let build = start.elapsed();
    let server = Arc::new(tether_dns::DnsServer::new(
        tether_dns::Config {
            udp_batch: !a.udp_single,
            ..tether_dns::Config::default()
        },
        index,
    )?);
    let udp = UdpSocket::bind(a.addr).context("bind udp")?;
    let tcp = std::net::TcpListener::bind(a.addr).context("bind tcp")?;
    let (rss, hwm) = crate::rss_kib();
    println!(
        "dns_ready services={} index_build_ms={} rss_kib={rss} hwm_kib={hwm} rss_before_kib={rss0}",
        a.services,
        build.as_millis()
    );
    let _ = std::io::stdout().flush();
    rt.block_on(async move {
        let stop = CancellationToken::new();
        let u = tokio::spawn(Arc::clone(&server).serve_udp(udp, stop.clone()));
        let t = tokio::spawn(Arc::clone(&server).serve_tcp(tcp, stop.clone()));
        crate::wait_signal().await;
        stop.cancel();
        let _ = u.await;
        let _ = t.await;
        let (rss, hwm) = crate::rss_kib();
        println!("dns_exit rss_kib={rss} hwm_kib={hwm}");
    });
    Ok(())
}

/// Arguments of `dns-load`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoadArgs {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:5300")]
    server: SocketAddr,
    /// File with one query name per line.
    #[arg(long)]
    names: std::path::PathBuf,
    /// Concurrent clients (each one query outstanding, own socket).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Threads of the load generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Label printed in front of the figures.
    #[arg(long, default_value = "dns")]
    label: String,
}

fn encode_query(id: u16, name: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        let len = u8::try_from(label.len()).unwrap_or(63).min(63);
        out.push(len);
        out.extend_from_slice(&label.as_bytes()[..usize::from(len)]);
    }
    out.extend_from_slice(&[0, 0, 1, 0, 1]);
}

#[derive(Default)]
struct ClientResult {
    lat: Vec<u64>,
    noerror: u64,
    nxdomain: u64,
    other: u64,
    timeouts: u64,
    noanswer_hits: u64,
}

/// Closed-loop load: `clients` tasks each send one query and wait for its answer.
pub(crate) fn load(a: &LoadArgs) -> anyhow::Result<()> {
    let names: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&a.names)?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    );
    anyhow::ensure!(!names.is_empty(), "no names");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let duration = Duration::from_secs(a.duration);
    let server = a.server;
    let results = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for c in 0..a.clients {
            let names = Arc::clone(&names);
            let stop = Arc::clone(&stop);
            set.spawn(async move {
                let mut r = ClientResult::default();
                let Ok(sock) = tokio::net::UdpSocket::bind("127.0.0.1:0").await else {
                    return r;
                };
                if sock.connect(server).await.is_err() {
                    return r;
                }
                let mut q = Vec::with_capacity(128);
                let mut buf = vec![0u8; 4096];
                let mut i = c * 7919 % names.len();
                let mut id: u16 = u16::try_from(c % 65536).unwrap_or(0);
                while !stop.load(Ordering::Relaxed) {
                    let name = &names[i];
                    i = (i + 1) % names.len();
                    id = id.wrapping_add(1);
                    encode_query(id, name, &mut q);
                    let t0 = Instant::now();
                    if sock.send(&q).await.is_err() {
                        r.other += 1;
                        continue;
                    }
                    loop {
                        match tokio::time::timeout(Duration::from_secs(1), sock.recv(&mut buf))
                            .await
                        {
                            Ok(Ok(n)) if n >= 12 => {
                                if u16::from_be_bytes([buf[0], buf[1]]) != id {
                                    continue; // a late answer to a timed-out query
                                }
                                r.lat.push(us(t0.elapsed()));
                                let ancount = u16::from_be_bytes([buf[6], buf[7]]);
                                match buf[3] & 0x0f {
                                    0 => {
                                        r.noerror += 1;
                                        if ancount == 0 {
                                            r.noanswer_hits += 1;
                                        }
                                    }
                                    3 => r.nxdomain += 1,
                                    _ => r.other += 1,
                                }
                            }
                            Ok(_) => r.other += 1,
                            Err(_) => r.timeouts += 1,
                        }
                        break;
                    }
                }
                r
            });
        }
        let start = Instant::now();
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let elapsed = start.elapsed();
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            if let Ok(r) = r {
                all.push(r);
            }
        }
        (all, elapsed)
    });
    let (all, elapsed) = results;
    let mut lat = Vec::new();
    let (mut ok, mut nx, mut other, mut to, mut empty) = (0, 0, 0, 0, 0);
    for r in all {
        lat.extend(r.lat);
        ok += r.noerror;
        nx += r.nxdomain;
        other += r.other;
        to += r.timeouts;
        empty += r.noanswer_hits;
    }
    let answered = lat.len();
    let s = summarize(&mut lat);
    let l = &a.label;
    println!("{l}_qps={:.0}", answered as f64 / elapsed.as_secs_f64());
    println!(
        "{l}_noerror={ok} {l}_nxdomain={nx} {l}_other={other} {l}_timeouts={to} {l}_noerror_without_answer={empty}"
    );
    s.print(l);
    Ok(())
}
