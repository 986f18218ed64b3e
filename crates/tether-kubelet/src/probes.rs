//! Probes as the kubelet runs them: `httpGet` (2xx/3xx succeed), `tcpSocket` (a connect
//! succeeds), `exec` (exit status 0, run inside the pod's namespaces), `grpc` (unsupported:
//! counted as failure with a message). Connections go to the pod IP from the node's network
//! namespace, like the kubelet's probes go from the host.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, ContainerPort, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::network::NodeDialer;

/// The outcome of one probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Success,
    /// Failed, with the message the kubelet puts in the `Unhealthy` Event.
    Failure(String),
}

/// A probe's schedule and counters.
#[derive(Debug, Clone)]
pub struct ProbeState {
    /// The probe.
    pub probe: Probe,
    /// When it may run next.
    pub next: Instant,
    successes: i32,
    failures: i32,
    /// The current verdict (`None` until decided).
    pub verdict: Option<bool>,
}

impl ProbeState {
    /// A probe first due after `initialDelaySeconds` from `started`.
    pub fn new(probe: Probe, started: Instant) -> Self {
        let delay = probe.initial_delay_seconds.unwrap_or(0).max(0);
        Self {
            probe,
            next: started + Duration::from_secs(u64::try_from(delay).unwrap_or(0)),
            successes: 0,
            failures: 0,
            verdict: None,
        }
    }

    /// The period between runs.
    pub fn period(&self) -> Duration {
        Duration::from_secs(
            u64::try_from(self.probe.period_seconds.unwrap_or(10).max(1)).unwrap_or(10),
        )
    }

    /// The timeout of one run.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(
            u64::try_from(self.probe.timeout_seconds.unwrap_or(1).max(1)).unwrap_or(1),
        )
    }

    /// Records an outcome; returns the verdict when it changed.
    pub fn record(&mut self, ok: bool, now: Instant) -> Option<bool> {
        self.next = now + self.period();
        if ok {
            self.failures = 0;
            self.successes += 1;
            if self.successes >= self.probe.success_threshold.unwrap_or(1).max(1)
                && self.verdict != Some(true)
            {
                self.verdict = Some(true);
                return Some(true);
            }
        } else {
            self.successes = 0;
            self.failures += 1;
            if self.failures >= self.probe.failure_threshold.unwrap_or(3).max(1)
                && self.verdict != Some(false)
            {
                self.verdict = Some(false);
                return Some(false);
            }
        }
        None
    }
}

/// Resolves a probe's port (a number or a container port name).
fn port(p: &IntOrString, container: &Container) -> Result<u16, String> {
    match p {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port {n}")),
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            container
                .ports
                .iter()
                .flatten()
                .find(|cp: &&ContainerPort| cp.name.as_deref() == Some(name.as_str()))
                .and_then(|cp| u16::try_from(cp.container_port).ok())
                .ok_or_else(|| format!("couldn't find port {name:?} in container"))
        }
    }
}

/// What an exec probe needs to enter the pod.
#[derive(Debug, Clone)]
pub struct ExecContext {
    /// The pod's network namespace file.
    pub netns: PathBuf,
    /// Files bind-mounted into containers.
    pub bind_files: Vec<(PathBuf, PathBuf)>,
    /// The container's environment.
    pub env: Vec<(String, String)>,
}

/// Runs a probe once.
pub async fn run(
    probe: &Probe,
    timeout: Duration,
    container: &Container,
    pod_ip: IpAddr,
    dialer: &NodeDialer,
    exec: &ExecContext,
) -> Outcome {
    let fut = run_inner(probe, container, pod_ip, dialer, exec);
    match tokio::time::timeout(timeout, fut).await {
        Ok(o) => o,
        Err(_) => Outcome::Failure(format!("probe timed out after {}s", timeout.as_secs())),
    }
}

async fn run_inner(
    probe: &Probe,
    container: &Container,
    pod_ip: IpAddr,
    dialer: &NodeDialer,
    exec: &ExecContext,
) -> Outcome {
    if let Some(h) = &probe.http_get {
        let port = match port(&h.port, container) {
            Ok(p) => p,
            Err(e) => return Outcome::Failure(e),
        };
        let host = h
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .and_then(|h| h.parse::<IpAddr>().ok())
            .unwrap_or(pod_ip);
        let path = h.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        let scheme = h.scheme.as_deref().unwrap_or("HTTP");
        if scheme.eq_ignore_ascii_case("HTTPS") {
            return Outcome::Failure("HTTPS probes are not supported by tether".into());
        }
        let addr = SocketAddr::new(host, port);
        let mut s = match dialer.connect(addr).await {
            Ok(s) => s,
            Err(e) => {
                return Outcome::Failure(format!(
                    "Get \"http://{addr}{path}\": dial tcp {addr}: connect: {e}"
                ));
            }
        };
        let mut req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.33\r\nAccept: */*\r\nConnection: close\r\n"
        );
        for hdr in h.http_headers.iter().flatten() {
            req.push_str(&format!("{}: {}\r\n", hdr.name, hdr.value));
        }
        req.push_str("\r\n");
        if let Err(e) = s.write_all(req.as_bytes()).await {
            return Outcome::Failure(format!("Get \"http://{addr}{path}\": {e}"));
        }
        let mut buf = vec![0u8; 256];
        let mut n = 0;
        while n < 12 {
            match s.read(&mut buf[n..]).await {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Outcome::Failure(format!("Get \"http://{addr}{path}\": {e}")),
            }
        }
        let head = String::from_utf8_lossy(&buf[..n]);
        let code: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if (200..400).contains(&code) {
            Outcome::Success
        } else {
            Outcome::Failure(format!("HTTP probe failed with statuscode: {code}"))
        }
    } else if let Some(t) = &probe.tcp_socket {
        let port = match port(&t.port, container) {
            Ok(p) => p,
            Err(e) => return Outcome::Failure(e),
        };
        let host = t
            .host
            .as_deref()
            .and_then(|h| h.parse::<IpAddr>().ok())
            .unwrap_or(pod_ip);
        let addr = SocketAddr::new(host, port);
        match dialer.connect(addr).await {
            Ok(_) => Outcome::Success,
            Err(e) => Outcome::Failure(format!("dial tcp {addr}: connect: {e}")),
        }
    } else if let Some(e) = &probe.exec {
        let argv = e.command.clone().unwrap_or_default();
        let Some((first, rest)) = argv.split_first() else {
            return Outcome::Failure("exec probe has no command".into());
        };
        let mut cmd = std::process::Command::new(first);
        cmd.args(rest).env_clear().envs(exec.env.iter().cloned());
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let opts = tether_netns::SpawnOptions {
            netns: exec.netns.clone(),
            hostname: None,
            bind_files: exec.bind_files.clone(),
        };
        if let Err(e) = tether_netns::command_in(&opts, &mut cmd) {
            return Outcome::Failure(e.to_string());
        }
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        match cmd.output().await {
            Ok(o) if o.status.success() => Outcome::Success,
            Ok(o) => {
                let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
                out.push_str(&String::from_utf8_lossy(&o.stderr));
                Outcome::Failure(out.trim().to_owned())
            }
            Err(e) => Outcome::Failure(format!("exec {first}: {e}")),
        }
    } else {
        Outcome::Failure("probe handler not supported by tether (grpc)".into())
    }
}
