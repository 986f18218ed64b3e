//! The pods bound to this node: a watch on `spec.nodeName`, one worker per pod UID, and
//! clean-up of what the agent held for pods that no longer exist.

pub mod container;
pub mod env;
pub mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Config;
use crate::network::Network;
use worker::{Msg, State};

/// What every pod worker shares.
pub struct Shared {
    /// API client.
    pub client: Client,
    /// Agent configuration.
    pub cfg: Config,
    /// The pod network.
    pub network: Arc<Network>,
    /// Stop pods when the agent stops.
    pub cleanup_on_exit: bool,
    /// `namespace/name` → UID of pods running here (for the logs endpoint).
    pub pods: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("node", &self.cfg.node_name)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Records an Event about a pod (fire and forget).
    pub fn event(&self, pod: &Pod, ty: &str, reason: &str, message: &str) {
        let ns = pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = pod.metadata.name.clone().unwrap_or_default();
        let now = Time(jiff::Timestamp::now());
        let ev = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{name}.")),
                namespace: Some(ns.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(name),
                namespace: Some(ns.clone()),
                uid: pod.metadata.uid.clone(),
                resource_version: pod.metadata.resource_version.clone(),
                ..ObjectReference::default()
            },
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            type_: Some(ty.to_owned()),
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: Some(self.cfg.node_name.clone()),
            }),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.cfg.node_name.clone()),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &ev).await {
                tracing::debug!(error = %e, "event not recorded");
            }
        });
    }
}

/// Removes what the agent holds for pods that are gone (state, sandbox, processes).
fn cleanup_orphans(shared: &Shared, live: &std::collections::HashSet<String>) {
    let dir = shared.cfg.data_dir.join("pods");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in rd.flatten() {
        let uid = e.file_name().to_string_lossy().into_owned();
        if live.contains(&uid) {
            continue;
        }
        if let Some(st) = State::load(&e.path()) {
            for c in &st.containers {
                if let Some(pid) = c.pid
                    && crate::runtime::alive(pid)
                    && crate::runtime::start_ticks(pid) == c.ticks
                {
                    crate::runtime::signal(pid, nix::sys::signal::Signal::SIGKILL);
                }
            }
            tracing::info!(pod = %format!("{}/{}", st.namespace, st.name), uid, "cleaning up a pod that no longer exists");
        }
        shared.network.destroy_sandbox(&uid);
        let _ = std::fs::remove_dir_all(e.path());
    }
}

/// Runs the pods bound to this node until `shutdown`.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) -> Result<(), kube::Error> {
    let api: Api<Pod> = Api::all(shared.client.clone());
    let wc = watcher::Config::default().fields(&format!("spec.nodeName={}", shared.cfg.node_name));
    let mut stream = Box::pin(watcher(api, wc));
    let mut workers: HashMap<String, (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>)> =
        HashMap::new();
    let mut init: Option<std::collections::HashSet<String>> = None;
    let mut first_sync = true;
    loop {
        let ev = tokio::select! {
            () = shutdown.cancelled() => break,
            ev = stream.try_next() => ev,
        };
        let ev = match ev {
            Ok(Some(ev)) => ev,
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "pod watch failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        match ev {
            watcher::Event::Init => init = Some(Default::default()),
            watcher::Event::InitApply(p) | watcher::Event::Apply(p) => {
                let Some(uid) = p.metadata.uid.clone() else {
                    continue;
                };
                if let Some(seen) = init.as_mut() {
                    seen.insert(uid.clone());
                }
                deliver(&shared, &mut workers, p, &uid, &shutdown).await;
            }
            watcher::Event::Delete(p) => {
                let Some(uid) = p.metadata.uid.clone() else {
                    continue;
                };
                if let Some((tx, _)) = workers.get(&uid) {
                    let _ = tx.send(Msg::Gone).await;
                }
            }
            watcher::Event::InitDone => {
                let seen = init.take().unwrap_or_default();
                for (uid, (tx, _)) in &workers {
                    if !seen.contains(uid) {
                        let _ = tx.send(Msg::Gone).await;
                    }
                }
                if first_sync {
                    cleanup_orphans(&shared, &seen);
                    first_sync = false;
                }
            }
        }
        workers.retain(|_, (_, h)| !h.is_finished());
    }
    for (_, (_, h)) in workers.drain() {
        let _ = h.await;
    }
    Ok(())
}

async fn deliver(
    shared: &Arc<Shared>,
    workers: &mut HashMap<String, (mpsc::Sender<Msg>, tokio::task::JoinHandle<()>)>,
    p: Pod,
    uid: &str,
    shutdown: &CancellationToken,
) {
    let key = format!(
        "{}/{}",
        p.metadata.namespace.as_deref().unwrap_or("default"),
        p.metadata.name.as_deref().unwrap_or_default()
    );
    if let Some((tx, h)) = workers.get(uid)
        && !h.is_finished()
    {
        let _ = tx.send(Msg::Update(Box::new(p))).await;
        return;
    }
    if let Ok(mut m) = shared.pods.lock() {
        m.insert(key, uid.to_owned());
    }
    let (tx, rx) = mpsc::channel(16);
    let h = tokio::spawn(worker::run(shared.clone(), p, rx, shutdown.child_token()));
    workers.insert(uid.to_owned(), (tx, h));
}
