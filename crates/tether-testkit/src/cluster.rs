//! A `tether server` process for tests: temp data dir, free port, stopped by PID on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// etcd endpoint instead of the embedded store.
    pub etcd: Option<String>,
    /// Serve plain HTTP without authentication.
    pub plain_http: bool,
    /// Reuse this data dir (e.g. to restart on the same data).
    pub data_dir: Option<PathBuf>,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Run `tether up` (the whole single-node cluster, node namespace `tether-node`)
    /// instead of `tether server`.
    pub up: bool,
}

/// A running `tether server`.
#[derive(Debug)]
pub struct TetherServer {
    child: Option<Child>,
    /// The data dir (kubeconfig at `data_dir/kubeconfig`).
    pub data_dir: PathBuf,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// The binary.
    pub bin: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    log: PathBuf,
    /// Started as `tether up`: stopped with SIGTERM even on drop, so that it removes its
    /// node namespace and pods.
    up: bool,
}

impl TetherServer {
    /// Starts `bin server` (or `bin up`) and waits until it accepts connections.
    pub fn start(bin: &Path, opts: ServerOptions) -> Self {
        let (tmp, data_dir) = match &opts.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().expect("temp dir");
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = data_dir.join(format!("server-{port}.log"));
        let mut cmd = Command::new(bin);
        cmd.arg(if opts.up { "up" } else { "server" })
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--listen")
            .arg(&addr);
        if let Some(e) = &opts.etcd {
            cmd.arg("--etcd-endpoints").arg(e);
        }
        if opts.plain_http {
            cmd.arg("--insecure-plain-http");
        }
        cmd.args(&opts.args);
        let logf = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .env(
                "RUST_LOG",
                std::env::var("TETHER_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .expect("spawn tether server");
        let mut s = Self {
            child: Some(child),
            data_dir,
            addr,
            bin: bin.to_path_buf(),
            _tmp: tmp,
            log,
            up: opts.up,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!(
                    "tether server exited early ({status}); log:\n{}",
                    self.log_text()
                );
            }
            if self.kubeconfig().exists() && std::net::TcpStream::connect(&self.addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tether server not ready in 30s; log:\n{}", self.log_text());
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir.join("kubeconfig")
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL (for crash tests) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops with SIGTERM and waits.
    pub fn stop(&mut self) {
        if let Some(c) = self.child.take() {
            crate::terminate(c);
        }
    }

    /// Keeps the data dir after this server is dropped (for a restart on the same data).
    pub fn keep_data(&mut self) -> Option<tempfile::TempDir> {
        self._tmp.take()
    }
}

impl Drop for TetherServer {
    fn drop(&mut self) {
        if self.up {
            self.stop();
        } else {
            self.kill9();
        }
    }
}
