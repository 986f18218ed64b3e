//! One container's lifecycle inside a pod worker: start, exit, restart with back-off, and the
//! `containerStatuses` entry it shows.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Container;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::probes::ProbeState;

/// Upstream's container restart back-off: 10 s doubling to 5 min, reset after 10 min of running.
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Back-off cap.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// A finished run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Terminated {
    /// Exit code (128 + signal for a signalled process).
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled`...
    pub reason: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
}

impl Terminated {
    fn to_json(&self, id: &str) -> Value {
        json!({"terminated": {
            "exitCode": self.exit_code,
            "reason": self.reason,
            "startedAt": fmt(self.started_at),
            "finishedAt": fmt(self.finished_at),
            "containerID": id,
        }})
    }
}

/// A running process.
#[derive(Debug)]
pub struct Proc {
    /// Its PID.
    pub pid: u32,
    /// Its start time in clock ticks (tells a reused PID apart).
    pub ticks: Option<u64>,
    /// The child handle when the agent started it (not after re-adoption).
    pub child: Option<tokio::process::Child>,
    /// When it started.
    pub started_at: Timestamp,
    /// Monotonic start.
    pub started: Instant,
}

/// What is persisted per container so that a restarted agent re-adopts it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// Container name.
    pub name: String,
    /// PID of the running process, if any.
    pub pid: Option<u32>,
    /// Its start ticks.
    pub ticks: Option<u64>,
    /// Its start time.
    pub started_at: Option<Timestamp>,
    /// Restarts so far.
    pub restart_count: i32,
    /// The last finished run.
    pub last: Option<Terminated>,
}

/// A container and its state.
#[derive(Debug)]
pub struct Ctr {
    /// The spec.
    pub spec: Container,
    /// Running process.
    pub proc: Option<Proc>,
    /// Restarts so far.
    pub restart_count: i32,
    /// The last finished run.
    pub last: Option<Terminated>,
    /// Why it is waiting (reason, message).
    pub waiting: Option<(String, String)>,
    /// Not before this instant may it start again.
    pub next_start: Instant,
    /// Current back-off.
    pub backoff: Duration,
    /// Done for good (restart policy says no more runs).
    pub done: bool,
    /// Readiness probe.
    pub readiness: Option<ProbeState>,
    /// Liveness probe.
    pub liveness: Option<ProbeState>,
    /// Startup probe.
    pub startup: Option<ProbeState>,
    /// Log directory.
    pub log_dir: PathBuf,
    /// The environment of the running process (exec probes run with it too).
    pub env: Vec<(String, String)>,
    /// An init container (`spec.initContainers`).
    pub init: bool,
}

/// RFC 3339 with seconds, as the API shows times.
pub fn fmt(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Ctr {
    /// A container not started yet. In a pod with init containers every container waits as
    /// `PodInitializing` (the kubelet's default waiting state then), else `ContainerCreating`.
    pub fn new(spec: Container, log_dir: PathBuf, init: bool, pod_has_inits: bool) -> Self {
        let waiting = if pod_has_inits {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        Self {
            spec,
            proc: None,
            restart_count: 0,
            last: None,
            waiting: Some((waiting.into(), String::new())),
            next_start: Instant::now(),
            backoff: BACKOFF_INITIAL,
            done: false,
            readiness: None,
            liveness: None,
            startup: None,
            log_dir,
            env: Vec::new(),
            init,
        }
    }

    /// A sidecar: an init container with `restartPolicy: Always`, which keeps running beside
    /// the app containers once started.
    pub fn sidecar(&self) -> bool {
        self.init && self.spec.restart_policy.as_deref() == Some("Always")
    }

    /// An init container that ran to success (a sidecar never completes).
    pub fn completed(&self) -> bool {
        self.init
            && !self.sidecar()
            && self.proc.is_none()
            && self.last.as_ref().is_some_and(|t| t.exit_code == 0)
    }

    /// An init container that failed for good (its restart policy allows no more runs).
    pub fn init_failed(&self) -> bool {
        self.init
            && !self.sidecar()
            && self.done
            && self.last.as_ref().is_some_and(|t| t.exit_code != 0)
    }

    /// The restart policy this container follows: the pod's for app containers and `Always`
    /// for sidecars; other init containers are retried on failure unless the pod's is `Never`.
    pub fn policy<'a>(&self, pod_policy: &'a str) -> &'a str {
        match (self.init, self.sidecar(), pod_policy) {
            (false, _, p) => p,
            (true, true, _) => "Always",
            (true, false, "Never") => "Never",
            (true, false, _) => "OnFailure",
        }
    }

    /// The container name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The log file of run `n`.
    pub fn log_file(&self, n: i32) -> PathBuf {
        self.log_dir.join(format!("{n}.log"))
    }

    /// The ID shown in the status.
    pub fn id(&self) -> String {
        match &self.proc {
            Some(p) => format!("tether://{}", p.pid),
            None => String::new(),
        }
    }

    /// Ready: running, started (startup probe passed) and readiness passed (or no probe).
    pub fn ready(&self) -> bool {
        self.proc.is_some()
            && self
                .startup
                .as_ref()
                .is_none_or(|s| s.verdict == Some(true))
            && self
                .readiness
                .as_ref()
                .is_none_or(|r| r.verdict == Some(true))
    }

    /// Started: running and the startup probe (if any) passed.
    pub fn started(&self) -> bool {
        self.proc.is_some()
            && self
                .startup
                .as_ref()
                .is_none_or(|s| s.verdict == Some(true))
    }

    /// Records a process exit and schedules the next start per the restart policy.
    pub fn exited(&mut self, code: i32, policy: &str, pod: &str) {
        let Some(p) = self.proc.take() else { return };
        let now = Timestamp::now();
        let ran = p.started.elapsed();
        let reason = if code == 0 { "Completed" } else { "Error" };
        self.last = Some(Terminated {
            exit_code: code,
            reason: reason.into(),
            started_at: p.started_at,
            finished_at: now,
        });
        self.readiness = None;
        self.liveness = None;
        self.startup = None;
        let restart = match policy {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => true,
        };
        if !restart {
            self.done = true;
            self.waiting = None;
            return;
        }
        if ran > Duration::from_secs(600) {
            self.backoff = BACKOFF_INITIAL;
        }
        // The first restart is immediate: the kubelet's back-off entry only exists from the
        // first failure on (`doBackOff`), so CrashLoopBackOff starts with the second.
        if self.restart_count == 0 {
            self.next_start = Instant::now();
            self.waiting = None;
            return;
        }
        self.next_start = Instant::now() + self.backoff;
        self.waiting = Some((
            "CrashLoopBackOff".into(),
            format!(
                "back-off {}s restarting failed container={} pod={pod}",
                self.backoff.as_secs(),
                self.spec.name
            ),
        ));
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// The `containerStatuses` entry.
    pub fn status(&self) -> Value {
        let image = self.spec.image.clone().unwrap_or_default();
        let state = if let Some(p) = &self.proc {
            json!({"running": {"startedAt": fmt(p.started_at)}})
        } else if self.done {
            match (&self.last, &self.waiting) {
                (Some(t), _) => t.to_json(""),
                // Never ran (an init container failed for good before it, or the pod ended).
                (None, Some((reason, _))) => json!({"waiting": {"reason": reason}}),
                (None, None) => json!({"waiting": {"reason": "ContainerCreating"}}),
            }
        } else if let (None, Some(t)) = (&self.waiting, &self.last) {
            // Exited, restarting at once.
            t.to_json("")
        } else if let Some((reason, message)) = &self.waiting {
            if message.is_empty() {
                json!({"waiting": {"reason": reason}})
            } else {
                json!({"waiting": {"reason": reason, "message": message}})
            }
        } else {
            json!({"waiting": {"reason": "ContainerCreating"}})
        };

        let last = match (&self.last, self.done) {
            (Some(t), false) => t.to_json(""),
            _ => json!({}),
        };
        let mut v = json!({
            "name": self.spec.name,
            "image": image,
            "imageID": format!("tether://{}", crate::images::repository(&image)),
            // An init container that completed counts as ready (the prober manager's rule).
            "ready": self.ready() || self.completed(),
            "started": self.started(),
            "restartCount": self.restart_count,
            "state": state,
            "lastState": last,
        });
        let id = self.id();
        if !id.is_empty() {
            v["containerID"] = json!(id);
        }
        v
    }

    /// What to persist.
    pub fn saved(&self) -> Saved {
        Saved {
            name: self.spec.name.clone(),
            pid: self.proc.as_ref().map(|p| p.pid),
            ticks: self.proc.as_ref().and_then(|p| p.ticks),
            started_at: self.proc.as_ref().map(|p| p.started_at),
            restart_count: self.restart_count,
            last: self.last.clone(),
        }
    }
}
