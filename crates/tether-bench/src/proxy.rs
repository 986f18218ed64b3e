//! The tether userspace proxy as a standalone process, for the data-plane benchmark.
//!
//! The script starts it with `ip netns exec <node>`, so listeners and backend connects are
//! both in the node namespace (what `NetNs::spawn` gives the agent).

use std::net::SocketAddr;

/// Arguments of `proxy`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProxyArgs {
    /// Frontend address (must exist on an interface of this namespace).
    #[arg(long)]
    listen: SocketAddr,
    /// Backend addresses.
    #[arg(long, num_args = 1.., required = true)]
    backends: Vec<SocketAddr>,
    /// Also proxy UDP on the same address.
    #[arg(long)]
    udp: bool,
    /// An extra port `PORT=BACKEND` on the same address with a single backend (iperf3).
    #[arg(long)]
    extra: Option<String>,
    /// Tokio worker threads (0: one per core); with `--runtime per-core`, the number of
    /// threads.
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// How the proxy is run: `multi` (one multi-thread runtime), `current` (one
    /// current-thread runtime), `per-core` (as the agent does: a current-thread runtime per
    /// thread, each accepting every TCP frontend from its own `SO_REUSEPORT` listener, one
    /// proxy state shared by all, as HAProxy's threads do, and the sync on one more
    /// runtime).
    #[arg(long, default_value = "per-core")]
    runtime: Runtime,
}

/// See [`ProxyArgs::runtime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Runtime {
    Multi,
    Current,
    PerCore,
}

/// Runs the proxy until SIGTERM/SIGINT.
pub(crate) fn run(a: &ProxyArgs) -> anyhow::Result<()> {
    match a.runtime {
        Runtime::Multi => {
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            if a.workers > 0 {
                rt.worker_threads(a.workers);
            }
            let rt = rt.enable_all().build()?;
            rt.block_on(serve(a, tether_proxy::Config::default()))
        }
        Runtime::Current => current_thread()?.block_on(serve(a, tether_proxy::Config::default())),
        Runtime::PerCore => {
            let threads = if a.workers > 0 {
                a.workers
            } else {
                std::thread::available_parallelism().map_or(2, usize::from)
            };
            // As the agent runs it: `threads` accepting runtimes, the sync on one more.
            let runtimes = tether_proxy::RuntimeThreads::start(threads, |job| {
                std::thread::Builder::new().spawn(job).map(drop)
            })?;
            let cfg = tether_proxy::Config {
                tcp_runtimes: runtimes.handles(),
                ..tether_proxy::Config::default()
            };
            current_thread()?.block_on(serve(a, cfg))
        }
    }
}

fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// One proxy with the benchmark's frontends until a signal.
async fn serve(a: &ProxyArgs, cfg: tether_proxy::Config) -> anyhow::Result<()> {
    let proxy = tether_proxy::Proxy::new(tether_proxy::Config {
        drain_timeout: std::time::Duration::from_secs(1),
        ..cfg
    });
    let backends: Vec<_> = a
        .backends
        .iter()
        .map(|b| tether_proxy::Backend::new(*b))
        .collect();
    let mut fes = vec![tether_proxy::Frontend {
        listen: a.listen,
        protocol: tether_proxy::Protocol::Tcp,
        backends: backends.clone(),
        affinity: None,
        name: "bench/svc:tcp".into(),
    }];
    if a.udp {
        fes.push(tether_proxy::Frontend {
            listen: a.listen,
            protocol: tether_proxy::Protocol::Udp,
            backends,
            affinity: None,
            name: "bench/svc:udp".into(),
        });
    }
    if let Some(extra) = &a.extra {
        let (port, backend) = crate::nft::parse_extra(extra)?;
        fes.push(tether_proxy::Frontend {
            listen: SocketAddr::new(a.listen.ip(), port),
            protocol: tether_proxy::Protocol::Tcp,
            backends: vec![tether_proxy::Backend::new(backend)],
            affinity: None,
            name: "bench/svc:extra".into(),
        });
    }
    proxy.sync(fes).await?;
    println!("proxy_ready listen={}", a.listen);
    crate::wait_signal().await;
    proxy.shutdown().await;
    anyhow::Ok(())
}
