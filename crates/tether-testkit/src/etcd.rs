//! A real etcd (Debian's `etcd-server`) on 127.0.0.1 with a temporary data dir.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running etcd, stopped (by its PID) and its data removed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    /// The client URL, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    _dir: tempfile::TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it answers; `None` when the `etcd` binary is missing
    /// (after [`crate::require`] decided whether that is a skip or a failure).
    pub fn start() -> Option<Self> {
        if !crate::require(
            crate::have_program("etcd"),
            "etcd (Debian package etcd-server)",
        ) {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let client = free_port();
        let peer = free_port();
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new("etcd")
            .arg("--name=tether-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=tether-test={peer_url}"))
            .arg("--log-level=error")
            .arg("--logger=zap")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn etcd");
        let server = Self {
            child,
            endpoint,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", client)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("etcd did not start listening on {}", server.endpoint);
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
