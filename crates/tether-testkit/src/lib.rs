//! Test harness: starts the real things tests need (etcd, the `tether` binary, kubectl) and
//! stops them, also when a test fails. Used only as a dev-dependency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster;
mod etcd;
mod kubectl;
mod multinode;
pub mod netlab;
pub mod node;

pub use cluster::{ServerOptions, TetherServer};
pub use etcd::EtcdServer;
pub use kubectl::{Kubectl, Run, VERSIONED_DIR};
pub use multinode::{Fabric, MultiNodeCluster};
pub use node::{AgentOptions, ClientNs, NodeCluster, TetherAgent, exec_in, udp_exchange, wait_for};

use std::net::TcpListener;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// Whether the tests run under CI, where a skipped test is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `false`) with a loud message when `what` is unavailable, or panics under CI.
pub fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    let msg = format!("SKIPPED: {what} is not available on this machine");
    if in_ci() {
        panic!("{msg} (CI=true: a skip is a failure)");
    }
    eprintln!("\n!!!!!!!!!! {msg} !!!!!!!!!!\n");
    false
}

/// Whether a program is on the PATH.
pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
}

/// Installs a tracing subscriber for test output once (RUST_LOG filters it).
pub fn trace_init() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Stops `child` with SIGTERM, waiting up to 10 s before SIGKILL; reaps it either way.
pub(crate) fn terminate(mut child: Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
