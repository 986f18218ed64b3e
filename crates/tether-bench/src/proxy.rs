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
    /// Tokio worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

/// Runs the proxy until SIGTERM/SIGINT.
pub(crate) fn run(a: &ProxyArgs) -> anyhow::Result<()> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if a.workers > 0 {
        rt.worker_threads(a.workers);
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async {
        let proxy = tether_proxy::Proxy::new(tether_proxy::Config {
            drain_timeout: std::time::Duration::from_secs(1),
            ..tether_proxy::Config::default()
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
    })
}
