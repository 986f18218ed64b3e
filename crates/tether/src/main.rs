//! `tether`: Kubernetes Services, for real, in one binary.

use clap::Parser;

/// mimalloc instead of glibc's malloc: a full nftables sync of 50k Services frees and
/// allocates ~2M small strings, and glibc's free path (`malloc_consolidate`,
/// `unlink_chunk`) was a third of its render time (850 → 530–650 ms, BENCHMARKS § 7).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod agent;
mod cli;
mod dns;
mod server;
mod userspace;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    if let cli::Command::Agnhost { args } = cli.command {
        // The built-in test image: its own runtime and signals; its log lines go to stderr
        // (the container log) plainly, as upstream's agnhost prints them.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(std::io::stderr)
            .try_init();
        return tether_agnhost::main(args);
    }
    telemetry(cli.log.as_deref());
    // One process-wide TLS provider for the server and the kube client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tether: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            cli::Command::Server(args) => server::run(args, false).await,
            cli::Command::Up(args) => server::run(args, true).await,
            cli::Command::Agent(args) => agent::main(args).await,
            cli::Command::Agnhost { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tether: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn telemetry(filter: Option<&str>) {
    let filter = filter
        .map(tracing_subscriber::EnvFilter::new)
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
