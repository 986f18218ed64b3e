//! `tether-bench`: the Rust half of tether's benchmark drivers (the bash half is in `bench/`).
//!
//! Each subcommand does one measurable thing and prints its figures as `key=value` lines, so
//! the scripts in `bench/` can collect them into BENCHMARKS.md. Nothing here is shipped.

/// The allocator the `tether` binary uses, so that in-process figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent_sync;
mod api;
mod dns;
mod nft;
mod pods;
mod proxy;
mod stats;

use clap::{Parser, Subcommand};

/// Benchmark drivers for tether.
#[derive(Debug, Parser)]
#[command(name = "tether-bench")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Writes the DNS query files (dnsperf and plain names) and an unbound local-data file.
    DnsGen(dns::GenArgs),
    /// Serves tether-dns on UDP and TCP with an index of N Services until SIGTERM/SIGINT.
    DnsServe(dns::ServeArgs),
    /// Closed-loop UDP DNS load generator with a latency histogram.
    DnsLoad(dns::LoadArgs),
    /// Runs the tether userspace proxy (tether_proxy::Proxy) in the current namespace.
    Proxy(proxy::ProxyArgs),
    /// Programs one ClusterIP Service with tether_nft::Proxier in the current namespace.
    NftService(nft::ServiceArgs),
    /// Measures nftables programming cost (full sync, one change) in the current namespace.
    NftCost(nft::CostArgs),
    /// API benchmark: create, list, watch fan-out against a running `tether server`.
    Api(api::ApiArgs),
    /// Pod benchmark: start → Ready, Ready → EndpointSlice, churn (agent CPU and RSS).
    Pods(pods::PodsArgs),
    /// The agent end to end: API write → element in the node's nftables table.
    AgentSync(agent_sync::AgentSyncArgs),
    /// Detaches the eBPF fast path (`nft-service --ebpf`) in the current namespace.
    EbpfRemove(nft::EbpfRemoveArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::DnsGen(a) => dns::gen_files(&a),
        Cmd::DnsServe(a) => dns::serve(&a),
        Cmd::DnsLoad(a) => dns::load(&a),
        Cmd::Proxy(a) => proxy::run(&a),
        Cmd::NftService(a) => nft::service(&a),
        Cmd::NftCost(a) => nft::cost(&a),
        Cmd::Api(a) => api::run(&a),
        Cmd::Pods(a) => pods::run(&a),
        Cmd::AgentSync(a) => agent_sync::run(&a),
        Cmd::EbpfRemove(a) => nft::ebpf_remove(&a),
    }
}

/// Resident set size (current, peak) of this process in KiB, from /proc/self/status.
pub(crate) fn rss_kib() -> (u64, u64) {
    rss_kib_in("/proc/self/status")
}

/// (VmRSS, VmHWM) in KiB of process `pid`.
pub(crate) fn rss_kib_of(pid: u32) -> (u64, u64) {
    rss_kib_in(&format!("/proc/{pid}/status"))
}

fn rss_kib_in(status_file: &str) -> (u64, u64) {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn wait_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
