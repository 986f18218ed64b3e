//! One pod on this node: its sandbox, its containers' processes, probes, status and graceful
//! termination. A worker is a loop that ticks every [`TICK`] and on every update of the pod;
//! everything it decides it writes to `pods/<uid>/state.json` first, so that a restarted
//! agent re-adopts the pod's processes instead of starting them again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::container::{Ctr, Proc, Saved, fmt};
use super::{Shared, env};
use crate::network::Sandbox;
use crate::probes::{self, ExecContext, Outcome, ProbeState};
use crate::{images, runtime};

/// How often a worker looks at its processes and probes.
pub const TICK: Duration = Duration::from_millis(200);

/// What the manager tells a worker.
#[derive(Debug)]
pub enum Msg {
    /// The pod as the API server has it now.
    Update(Box<Pod>),
    /// The pod is gone from the API server.
    Gone,
}

/// What survives an agent restart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The sandbox.
    pub sandbox: Option<Sandbox>,
    /// Containers.
    pub containers: Vec<Saved>,
    /// Pod start time.
    pub start_time: Option<Timestamp>,
    /// The init containers have all completed (once true, stays true, as upstream).
    #[serde(default)]
    pub initialized: bool,
}

impl State {
    /// Reads a pod's state file.
    pub fn load(dir: &std::path::Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join("state.json")).ok()?;
        serde_json::from_str(&text).ok()
    }
}

struct Worker {
    shared: Arc<Shared>,
    pod: Pod,
    uid: String,
    dir: PathBuf,
    sandbox: Option<Sandbox>,
    ctrs: Vec<Ctr>,
    start_time: Timestamp,
    bind_files: Vec<(PathBuf, PathBuf)>,
    hostname: String,
    sent: Option<Value>,
    saved: Option<String>,
    conditions: BTreeMap<String, (bool, Timestamp)>,
    sandbox_error: Option<String>,
    next_sandbox_try: Instant,
    initialized: bool,
}

fn ns_of(p: &Pod) -> String {
    p.metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into())
}

fn name_of(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

/// The pod's containers, init containers first (in order), then the app containers.
fn containers(spec: &k8s_openapi::api::core::v1::PodSpec, dir: &std::path::Path) -> Vec<Ctr> {
    let inits = spec.init_containers.as_deref().unwrap_or_default();
    let has_inits = !inits.is_empty();
    let new =
        |c: &Container, init| Ctr::new(c.clone(), dir.join("logs").join(&c.name), init, has_inits);
    inits
        .iter()
        .map(|c| new(c, true))
        .chain(spec.containers.iter().map(|c| new(c, false)))
        .collect()
}

/// Runs a pod until it is deleted (or the agent stops).
pub async fn run(
    shared: Arc<Shared>,
    pod: Pod,
    mut rx: mpsc::Receiver<Msg>,
    shutdown: CancellationToken,
) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let dir = shared.cfg.data_dir.join("pods").join(&uid);
    let state = State::load(&dir);
    let spec = pod.spec.clone().unwrap_or_default();
    let hostname = spec
        .hostname
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| {
            name_of(&pod)
                .chars()
                .take(63)
                .collect::<String>()
                .trim_end_matches(['-', '.'])
                .to_owned()
        });
    let mut w = Worker {
        uid: uid.clone(),
        dir: dir.clone(),
        sandbox: None,
        ctrs: containers(&spec, &dir),
        start_time: Timestamp::now(),
        bind_files: Vec::new(),
        hostname,
        sent: None,
        saved: None,
        conditions: BTreeMap::new(),
        sandbox_error: None,
        next_sandbox_try: Instant::now(),
        initialized: spec.init_containers.as_ref().is_none_or(Vec::is_empty),
        pod,
        shared,
    };
    let terminal = matches!(
        w.pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    if let Some(st) = state {
        w.adopt(st);
    } else if terminal {
        // A finished pod this agent holds nothing for: only its deletion is left to do.
        w.ctrs.iter_mut().for_each(|c| c.done = true);
    }
    let mut deadline: Option<Instant> = None;
    let mut gone = false;
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                w.save();
                if w.shared.cleanup_on_exit {
                    w.kill_all(Signal::SIGKILL);
                    w.reap_all(Duration::from_secs(2)).await;
                    w.teardown();
                }
                return;
            }
            msg = rx.recv() => match msg {
                Some(Msg::Update(p)) => w.pod = *p,
                Some(Msg::Gone) | None => gone = true,
            },
            _ = ticker.tick() => {}
        }
        let deleting = gone || w.pod.metadata.deletion_timestamp.is_some();
        if deleting {
            let first = deadline.is_none();
            let grace = w.grace();
            let d = *deadline.get_or_insert_with(|| Instant::now() + grace);
            if first {
                tracing::info!(pod = %w.key(), grace = grace.as_secs(), "stopping pod");
                for c in &w.ctrs {
                    if c.proc.is_some() {
                        w.shared.event(
                            &w.pod,
                            "Normal",
                            "Killing",
                            &format!("Stopping container {}", c.name()),
                        );
                    }
                }
                w.kill_all(Signal::SIGTERM);
            }
            w.check_exits();
            if w.ctrs.iter().all(|c| c.proc.is_none()) || Instant::now() >= d {
                w.kill_all(Signal::SIGKILL);
                w.reap_all(Duration::from_secs(5)).await;
                w.ctrs.iter_mut().for_each(|c| c.done = true);
                if !gone {
                    w.push_status().await;
                }
                w.teardown();
                if !gone {
                    w.finish_delete().await;
                }
                return;
            }
            continue;
        }
        w.tick().await;
    }
}

impl Worker {
    fn key(&self) -> String {
        format!("{}/{}", ns_of(&self.pod), name_of(&self.pod))
    }

    fn policy(&self) -> String {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".into())
    }

    /// The kill grace period: the deletion's, else the pod spec's (also for a pod removed
    /// from the API server, as the kubelet's `killPod` picks it).
    fn grace(&self) -> Duration {
        let g = self
            .pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| self.pod.spec.as_ref()?.termination_grace_period_seconds)
            .unwrap_or(30);
        Duration::from_secs(u64::try_from(g.max(0)).unwrap_or(0))
    }

    fn adopt(&mut self, st: State) {
        if let Some(t) = st.start_time {
            self.start_time = t;
        }
        self.initialized |= st.initialized;
        if let Some(sb) = st.sandbox
            && sb.path().exists()
        {
            self.sandbox = Some(sb);
        }
        for saved in st.containers {
            let Some(c) = self.ctrs.iter_mut().find(|c| c.spec.name == saved.name) else {
                continue;
            };
            c.restart_count = saved.restart_count;
            c.last = saved.last;
            if c.init && !c.sidecar() && saved.pid.is_none() && c.last.is_some() {
                // An init container that finished: done unless it failed and may retry.
                let policy = self
                    .pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.restart_policy.clone());
                c.done =
                    c.completed() || c.policy(policy.as_deref().unwrap_or("Always")) == "Never";
                if c.done {
                    c.waiting = None;
                }
            }
            if let (Some(pid), Some(_)) = (saved.pid, &self.sandbox)
                && runtime::alive(pid)
                && runtime::start_ticks(pid) == saved.ticks
            {
                tracing::info!(pod = %format!("{}/{}", st.namespace, st.name), container = c.spec.name, pid, "re-adopted running container");
                c.waiting = None;
                let started = Instant::now();
                c.proc = Some(Proc {
                    pid,
                    ticks: saved.ticks,
                    child: None,
                    started_at: saved.started_at.unwrap_or_else(Timestamp::now),
                    started,
                });
                // Probes start over; a ready container stays ready until its probe says otherwise.
                c.readiness = c.spec.readiness_probe.clone().map(|p| {
                    let mut s = ProbeState::new(p, started);
                    s.next = started;
                    s
                });
                c.liveness = c
                    .spec
                    .liveness_probe
                    .clone()
                    .map(|p| ProbeState::new(p, started));
                c.startup = None;
            }
        }
        if let Some(sb) = &self.sandbox {
            for c in self.ctrs.iter_mut().filter(|c| c.proc.is_some()) {
                c.env = env::build(
                    &self.pod,
                    &c.spec,
                    sb.ip,
                    self.shared.cfg.node_ip,
                    &self.hostname,
                );
            }
            self.write_files();
        }
    }

    fn save(&mut self) {
        let st = State {
            namespace: ns_of(&self.pod),
            name: name_of(&self.pod),
            sandbox: self.sandbox.clone(),
            containers: self.ctrs.iter().map(Ctr::saved).collect(),
            start_time: Some(self.start_time),
            initialized: self.initialized,
        };
        let Ok(text) = serde_json::to_string_pretty(&st) else {
            return;
        };
        if self.saved.as_deref() == Some(text.as_str()) {
            return;
        }
        let _ = std::fs::create_dir_all(&self.dir);
        let tmp = self.dir.join("state.json.tmp");
        if std::fs::write(&tmp, &text)
            .and_then(|()| std::fs::rename(&tmp, self.dir.join("state.json")))
            .is_ok()
        {
            self.saved = Some(text);
        }
    }

    fn write_files(&mut self) {
        let Some(sb) = &self.sandbox else { return };
        let ns = ns_of(&self.pod);
        let cfg = &self.shared.cfg;
        let spec = self.pod.spec.clone().unwrap_or_default();
        let policy = spec.dns_policy.as_deref().unwrap_or("ClusterFirst");
        let dns = match (policy, cfg.cluster_dns) {
            ("ClusterFirst" | "ClusterFirstWithHostNet", Some(ip)) => {
                Some((ip, cfg.cluster_domain.as_str()))
            }
            _ => None,
        };
        let fqdn = spec
            .subdomain
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|sub| format!("{}.{sub}.{ns}.svc.{}", self.hostname, cfg.cluster_domain));
        match runtime::write_pod_files(
            &self.dir.join("etc"),
            &ns,
            &self.hostname,
            sb.ip,
            dns,
            fqdn.as_deref(),
        ) {
            Ok((resolv, hosts)) => {
                self.bind_files = vec![
                    (resolv, "/etc/resolv.conf".into()),
                    (hosts, "/etc/hosts".into()),
                ];
            }
            Err(e) => tracing::warn!(pod = %self.key(), error = %e, "writing pod files failed"),
        }
    }

    async fn ensure_sandbox(&mut self) -> bool {
        if self.sandbox.is_some() {
            return true;
        }
        if Instant::now() < self.next_sandbox_try {
            return false;
        }
        match self.shared.network.create_sandbox(&self.uid).await {
            Ok(sb) => {
                self.sandbox = Some(sb);
                self.sandbox_error = None;
                self.write_files();
                self.save();
                true
            }
            Err(e) => {
                let msg = format!("Failed to create pod sandbox: {e}");
                tracing::warn!(pod = %self.key(), error = %e, "sandbox");
                if self.sandbox_error.as_deref() != Some(msg.as_str()) {
                    self.shared
                        .event(&self.pod, "Warning", "FailedCreatePodSandBox", &msg);
                }
                self.sandbox_error = Some(msg);
                self.next_sandbox_try = Instant::now() + Duration::from_secs(2);
                false
            }
        }
    }

    fn check_exits(&mut self) {
        let policy = self.policy();
        // Upstream's `format.Pod`: name_namespace(uid).
        let pod_label = format!("{}_{}({})", name_of(&self.pod), ns_of(&self.pod), self.uid);
        let key = self.key();
        for c in &mut self.ctrs {
            let Some(p) = c.proc.as_mut() else { continue };
            let code = match p.child.as_mut() {
                Some(child) => match child.try_wait() {
                    Ok(Some(st)) => {
                        use std::os::unix::process::ExitStatusExt;
                        Some(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(9)))
                    }
                    Ok(None) => None,
                    Err(_) => Some(1),
                },
                None => {
                    (!runtime::alive(p.pid) || runtime::start_ticks(p.pid) != p.ticks).then_some(0)
                }
            };
            if let Some(code) = code {
                tracing::info!(pod = %key, container = c.spec.name, code, "container exited");
                let policy = c.policy(&policy).to_owned();
                c.exited(code, &policy, &pod_label);
            }
        }
    }

    async fn tick(&mut self) {
        if !self.ensure_sandbox().await {
            self.push_status().await;
            return;
        }
        self.check_exits();
        self.advance_init();
        self.stop_sidecars_when_done();
        let now = Instant::now();
        let n = self.ctrs.len();
        let step = self.init_step();
        for i in 0..n {
            let due = {
                let c = &self.ctrs[i];
                let eligible = match (c.init, c.sidecar()) {
                    // Init containers run one at a time, in order; a sidecar, once its turn
                    // came, is restarted whenever it exits.
                    (true, false) => step == Some(i),
                    (true, true) => self.initialized || step.is_some_and(|s| i <= s),
                    (false, _) => self.initialized,
                };
                eligible && c.proc.is_none() && !c.done && now >= c.next_start
            };
            if due {
                self.start(i);
            }
        }
        self.probe_all().await;
        self.push_status().await;
        self.save();
    }

    /// The init container whose turn it is: the first one neither completed nor (for a
    /// sidecar) started. `None` once initialized, or when one failed for good.
    fn init_step(&self) -> Option<usize> {
        if self.initialized {
            return None;
        }
        for (i, c) in self.ctrs.iter().enumerate().filter(|(_, c)| c.init) {
            if c.init_failed() {
                return None;
            }
            let through = if c.sidecar() {
                c.started()
            } else {
                c.completed()
            };
            if !through {
                return Some(i);
            }
        }
        None
    }

    /// Latches `initialized` when every init container is through; when one failed for good
    /// (restartPolicy Never), the app containers will never run.
    fn advance_init(&mut self) {
        if self.initialized {
            return;
        }
        if self.ctrs.iter().any(Ctr::init_failed) {
            for c in self.ctrs.iter_mut().filter(|c| !c.init && !c.done) {
                c.done = true;
            }
            return;
        }
        if self.init_step().is_none() {
            self.initialized = true;
            tracing::info!(pod = %self.key(), "init containers done");
        }
    }

    /// Sidecars serve the app containers: once those are all done for good (or an init
    /// container failed for good, so they never run), sidecars are stopped and not
    /// restarted, as the kubelet does for a pod that has finished.
    fn stop_sidecars_when_done(&mut self) {
        let apps_done = self.initialized && self.ctrs.iter().filter(|c| !c.init).all(|c| c.done);
        if !apps_done && !self.ctrs.iter().any(Ctr::init_failed) {
            return;
        }
        for c in self.ctrs.iter_mut().filter(|c| c.sidecar() && !c.done) {
            c.done = true;
            if let Some(p) = &c.proc {
                runtime::signal(p.pid, Signal::SIGTERM);
            }
        }
    }

    fn start(&mut self, i: usize) {
        let Some(sb) = self.sandbox.clone() else {
            return;
        };
        let pod = self.pod.clone();
        let spec = self.ctrs[i].spec.clone();
        let image = spec.image.clone().unwrap_or_default();
        let env = env::build(&pod, &spec, sb.ip, self.shared.cfg.node_ip, &self.hostname);
        let expand = |v: &Vec<String>| v.iter().map(|s| env::expand(s, &env)).collect::<Vec<_>>();
        let command = expand(&spec.command.clone().unwrap_or_default());
        let args = expand(&spec.args.clone().unwrap_or_default());
        let first_pull = self.ctrs[i].restart_count == 0 && self.ctrs[i].last.is_none();
        let program = match images::resolve(&image, &command, &args) {
            Ok(p) => p,
            Err(e) => {
                let c = &mut self.ctrs[i];
                let already = c
                    .waiting
                    .as_ref()
                    .is_some_and(|(r, _)| r == "ErrImagePull" || r == "ImagePullBackOff");
                let reason = if e.reason == "ErrImagePull" && already {
                    "ImagePullBackOff"
                } else {
                    e.reason
                };
                let msg = if reason == "ImagePullBackOff" {
                    format!("Back-off pulling image {image:?}")
                } else {
                    e.message.clone()
                };
                c.waiting = Some((reason.to_owned(), msg.clone()));
                c.next_start = Instant::now() + c.backoff;
                c.backoff = (c.backoff * 2).min(super::container::BACKOFF_MAX);
                if reason == "ImagePullBackOff" {
                    self.shared.event(&pod, "Normal", "BackOff", &msg);
                } else {
                    self.shared.event(
                        &pod,
                        "Normal",
                        "Pulling",
                        &format!("Pulling image {image:?}"),
                    );
                    self.shared.event(&pod, "Warning", "Failed", &msg);
                    self.shared
                        .event(&pod, "Warning", "Failed", &format!("Error: {reason}"));
                }
                return;
            }
        };
        let run_no = self.ctrs[i].restart_count + i32::from(self.ctrs[i].last.is_some());
        let launch = runtime::Launch {
            exe: self.shared.cfg.self_exe.clone(),
            program,
            env,
            working_dir: spec.working_dir.clone(),
            netns: sb.path(),
            hostname: self.hostname.clone(),
            bind_files: self.bind_files.clone(),
            log: self.ctrs[i].log_file(run_no),
        };
        match runtime::start(&launch) {
            Ok(child) => {
                let pid = child.id().unwrap_or(0);
                let started = Instant::now();
                let c = &mut self.ctrs[i];
                // A container that ran before starts its next run: one more restart.
                c.restart_count = run_no;
                c.env = launch.env;
                c.proc = Some(Proc {
                    pid,
                    ticks: runtime::start_ticks(pid),
                    child: Some(child),
                    started_at: Timestamp::now(),
                    started,
                });
                c.waiting = None;
                c.readiness = spec
                    .readiness_probe
                    .clone()
                    .map(|p| ProbeState::new(p, started));
                c.liveness = spec
                    .liveness_probe
                    .clone()
                    .map(|p| ProbeState::new(p, started));
                c.startup = spec
                    .startup_probe
                    .clone()
                    .map(|p| ProbeState::new(p, started));
                tracing::info!(pod = %self.key(), container = spec.name, pid, "container started");
                if first_pull {
                    self.shared.event(
                        &pod,
                        "Normal",
                        "Pulled",
                        &format!("Container image {image:?} already present on machine"),
                    );
                }
                self.shared.event(
                    &pod,
                    "Normal",
                    "Created",
                    &format!("Created container: {}", spec.name),
                );
                self.shared.event(
                    &pod,
                    "Normal",
                    "Started",
                    &format!("Started container {}", spec.name),
                );
                self.save();
            }
            Err(e) => {
                let c = &mut self.ctrs[i];
                let msg = format!("failed to start container {:?}: {e}", spec.name);
                c.waiting = Some(("RunContainerError".into(), msg.clone()));
                c.next_start = Instant::now() + c.backoff;
                c.backoff = (c.backoff * 2).min(super::container::BACKOFF_MAX);
                self.shared.event(&pod, "Warning", "Failed", &msg);
            }
        }
    }

    async fn probe_all(&mut self) {
        let Some(sb) = self.sandbox.clone() else {
            return;
        };
        let dialer = self.shared.network.dialer();
        let now = Instant::now();
        for i in 0..self.ctrs.len() {
            // Startup first; liveness and readiness wait for it (upstream's prober order).
            for kind in [Kind::Startup, Kind::Liveness, Kind::Readiness] {
                let c = &self.ctrs[i];
                let gated = match kind {
                    Kind::Startup => c.proc.is_none(),
                    Kind::Liveness | Kind::Readiness => !c.started(),
                };
                let Some(st) = kind.slot(c).filter(|s| {
                    !gated && now >= s.next && !(kind == Kind::Startup && s.verdict == Some(true))
                }) else {
                    continue;
                };
                let (probe, timeout) = (st.probe.clone(), st.timeout());
                let exec = ExecContext {
                    netns: sb.path(),
                    bind_files: self.bind_files.clone(),
                    env: c.env.clone(),
                };
                let out = probes::run(&probe, timeout, &c.spec, sb.ip, &dialer, &exec).await;
                if let Outcome::Failure(msg) = &out {
                    let text = format!("{} probe failed: {msg}", kind.name());
                    self.shared.event(&self.pod, "Warning", "Unhealthy", &text);
                }
                let verdict = kind
                    .slot_mut(&mut self.ctrs[i])
                    .and_then(|s| s.record(out == Outcome::Success, Instant::now()));
                if verdict == Some(false) && kind != Kind::Readiness {
                    let why = format!("failed {} probe", kind.name().to_lowercase());
                    self.restart_unhealthy(i, &why);
                    break;
                }
            }
        }
    }

    fn restart_unhealthy(&mut self, i: usize, why: &str) {
        let name = self.ctrs[i].spec.name.clone();
        self.shared.event(
            &self.pod,
            "Normal",
            "Killing",
            &format!("Container {name} {why}, will be restarted"),
        );
        if let Some(p) = &self.ctrs[i].proc {
            runtime::signal(p.pid, Signal::SIGKILL);
        }
    }

    fn kill_all(&self, sig: Signal) {
        for c in &self.ctrs {
            if let Some(p) = &c.proc {
                runtime::signal(p.pid, sig);
            }
        }
    }

    async fn reap_all(&mut self, max: Duration) {
        let until = Instant::now() + max;
        loop {
            self.check_exits();
            if self.ctrs.iter().all(|c| c.proc.is_none()) || Instant::now() >= until {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn teardown(&mut self) {
        if let Ok(mut m) = self.shared.pods.lock()
            && m.get(&self.key()).is_some_and(|u| *u == self.uid)
        {
            m.remove(&self.key());
        }
        self.shared.network.destroy_sandbox(&self.uid);
        self.sandbox = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn finish_delete(&self) {
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &ns_of(&self.pod));
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name_of(&self.pod), &dp).await {
            Ok(_) => tracing::info!(pod = %self.key(), "pod deleted"),
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => tracing::warn!(pod = %self.key(), error = %e, "final pod deletion failed"),
        }
    }

    fn phase(&self) -> &'static str {
        if self.sandbox.is_none() {
            return "Pending";
        }
        if self.ctrs.iter().any(Ctr::init_failed) {
            return "Failed";
        }
        if !self.initialized {
            return "Pending";
        }
        let policy = self.policy();
        let apps = || self.ctrs.iter().filter(|c| !c.init);
        let running = apps().filter(|c| c.proc.is_some()).count();
        let never_ran = apps()
            .filter(|c| c.proc.is_none() && c.last.is_none())
            .count();
        if never_ran > 0 {
            return "Pending";
        }
        if running > 0 {
            return "Running";
        }
        let failed = apps().any(|c| c.last.as_ref().is_some_and(|t| t.exit_code != 0));
        let all_done = apps().all(|c| c.done);
        match policy.as_str() {
            "Always" => "Running",
            "OnFailure" if all_done && !failed => "Succeeded",
            "OnFailure" => "Running",
            _ if all_done && failed => "Failed",
            _ if all_done => "Succeeded",
            _ => "Running",
        }
    }

    fn condition(&mut self, ty: &str, ok: bool) -> Value {
        let now = Timestamp::now();
        let entry = self.conditions.entry(ty.to_owned()).or_insert((ok, now));
        if entry.0 != ok {
            *entry = (ok, now);
        }
        let mut v = json!({
            "type": ty,
            "status": if ok { "True" } else { "False" },
            "lastProbeTime": null,
            "lastTransitionTime": fmt(entry.1),
        });
        if !ok && ty == "Initialized" {
            let incomplete: Vec<&str> = self
                .ctrs
                .iter()
                .filter(|c| c.init && !(c.completed() || c.sidecar() && c.started()))
                .map(|c| c.name())
                .collect();
            v["reason"] = json!("ContainersNotInitialized");
            v["message"] = json!(format!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            ));
        }
        if !ok && (ty == "Ready" || ty == "ContainersReady") {
            let unready: Vec<&str> = self
                .ctrs
                .iter()
                .filter(|c| (!c.init || c.sidecar()) && !c.ready())
                .map(|c| c.name())
                .collect();
            v["reason"] = json!("ContainersNotReady");
            v["message"] = json!(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            ));
        }
        v
    }

    fn status(&mut self) -> Value {
        let phase = self.phase();
        let ready = self.sandbox.is_some()
            && self.initialized
            && self.ctrs.iter().any(|c| !c.init)
            && self
                .ctrs
                .iter()
                .filter(|c| !c.init || c.sidecar())
                .all(Ctr::ready);
        let terminal = matches!(phase, "Succeeded" | "Failed");
        let sandbox_ok = self.sandbox.is_some() && !terminal;
        let conds = vec![
            self.condition("PodReadyToStartContainers", sandbox_ok),
            self.condition("Initialized", self.initialized),
            self.condition("Ready", ready),
            self.condition("ContainersReady", ready),
            self.condition("PodScheduled", true),
        ];
        let host = self.shared.cfg.node_ip.to_string();
        let mut st = json!({
            "phase": phase,
            "conditions": conds,
            "hostIP": host,
            "hostIPs": [{"ip": host}],
            "startTime": fmt(self.start_time),
            "containerStatuses": self.ctrs.iter().filter(|c| !c.init).map(Ctr::status).collect::<Vec<_>>(),
            "qosClass": "BestEffort",
        });
        if self.ctrs.iter().any(|c| c.init) {
            st["initContainerStatuses"] = json!(
                self.ctrs
                    .iter()
                    .filter(|c| c.init)
                    .map(Ctr::status)
                    .collect::<Vec<_>>()
            );
        }
        if let Some(sb) = &self.sandbox {
            st["podIP"] = json!(sb.ip.to_string());
            st["podIPs"] = json!([{"ip": sb.ip.to_string()}]);
        }
        if let Some(e) = &self.sandbox_error {
            st["message"] = json!(e);
        }
        st
    }

    async fn push_status(&mut self) {
        let st = self.status();
        // Compare without timestamps that do not change what a reader sees.
        if self.sent.as_ref() == Some(&st) {
            return;
        }
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), &ns_of(&self.pod));
        match api
            .patch_status(
                &name_of(&self.pod),
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": st})),
            )
            .await
        {
            Ok(p) => {
                self.sent = Some(st);
                if p.metadata.uid.as_deref() == Some(self.uid.as_str()) {
                    self.pod.status = p.status;
                }
            }
            Err(e) => {
                tracing::debug!(pod = %self.key(), error = %e, "status update failed; will retry")
            }
        }
    }
}

/// The three probes of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Startup,
    Liveness,
    Readiness,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Startup => "Startup",
            Self::Liveness => "Liveness",
            Self::Readiness => "Readiness",
        }
    }

    fn slot(self, c: &Ctr) -> Option<&ProbeState> {
        match self {
            Self::Startup => c.startup.as_ref(),
            Self::Liveness => c.liveness.as_ref(),
            Self::Readiness => c.readiness.as_ref(),
        }
    }

    fn slot_mut(self, c: &mut Ctr) -> Option<&mut ProbeState> {
        match self {
            Self::Startup => c.startup.as_mut(),
            Self::Liveness => c.liveness.as_mut(),
            Self::Readiness => c.readiness.as_mut(),
        }
    }
}
