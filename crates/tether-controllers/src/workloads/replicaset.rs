//! The ReplicaSet controller's decisions (upstream `pkg/controller/replicaset`), pure.
//!
//! Given a ReplicaSet and the pods of its namespace: which orphans to adopt, which owned pods to
//! release, how many pods to create or which to delete (upstream's ranking: unscheduled before
//! scheduled, pending before running, not-ready before ready, newest first), and the status.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use tether_api::labels::Selector;

/// Pods created per pass at most (upstream `BurstReplicas`).
pub const BURST: usize = 500;

/// What to do for one ReplicaSet.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Pod names to adopt (add our controller reference).
    pub adopt: Vec<String>,
    /// Pod names to release (remove our reference: labels no longer match).
    pub release: Vec<String>,
    /// Pods to create.
    pub create: usize,
    /// Pod names to delete.
    pub delete: Vec<String>,
    /// The status to write when it differs.
    pub status: ReplicaSetStatus,
}

/// Whether a pod is terminal (Succeeded or Failed).
pub fn terminal(p: &Pod) -> bool {
    matches!(
        p.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

/// The pod's Ready condition and when it last changed.
pub fn ready_since(p: &Pod) -> Option<jiff::Timestamp> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == "True")?;
    Some(
        c.last_transition_time
            .as_ref()
            .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0),
    )
}

/// Ready for at least `min_ready` seconds (`podutil.IsPodAvailable`).
pub fn available(p: &Pod, min_ready: i32, now: jiff::Timestamp) -> bool {
    ready_since(p).is_some_and(|since| {
        min_ready <= 0 || now.duration_since(since).as_secs() >= i64::from(min_ready)
    })
}

/// The controller reference of a pod, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
}

/// A controller reference to `rs`.
pub fn owner_ref(kind: &str, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: kind.to_owned(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn rank(p: &Pod) -> (u8, u8, u8, std::cmp::Reverse<String>) {
    let scheduled = p
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    let phase = match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Pending") | None => 0,
        Some("Unknown") => 1,
        _ => 2,
    };
    let ready = u8::from(ready_since(p).is_some());
    let created = p
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    (
        u8::from(scheduled),
        phase,
        ready,
        std::cmp::Reverse(created),
    )
}

/// Decides for `rs` given every pod of its namespace.
pub fn plan(rs: &ReplicaSet, pods: &[&Pod], now: jiff::Timestamp) -> Plan {
    let mut out = Plan::default();
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let spec = rs.spec.clone().unwrap_or_default();
    let Ok(selector) = Selector::from_label_selector(Some(&spec.selector)) else {
        return out;
    };
    let labels =
        |p: &Pod| -> BTreeMap<String, String> { p.metadata.labels.clone().unwrap_or_default() };
    let mut owned: Vec<&Pod> = Vec::new();
    for p in pods {
        let matches = !selector.is_everything() && selector.matches(&labels(p));
        match controller_of(&p.metadata) {
            Some(o) if o.uid == uid => {
                if matches {
                    owned.push(p);
                } else if p.metadata.deletion_timestamp.is_none() {
                    out.release
                        .push(p.metadata.name.clone().unwrap_or_default());
                }
            }
            Some(_) => {}
            None => {
                if matches
                    && p.metadata.deletion_timestamp.is_none()
                    && rs.metadata.deletion_timestamp.is_none()
                {
                    out.adopt.push(p.metadata.name.clone().unwrap_or_default());
                    owned.push(p);
                }
            }
        }
    }
    let mut active: Vec<&Pod> = owned
        .iter()
        .copied()
        .filter(|p| !terminal(p) && p.metadata.deletion_timestamp.is_none())
        .collect();
    let want = usize::try_from(spec.replicas.unwrap_or(1).max(0)).unwrap_or(0);
    if rs.metadata.deletion_timestamp.is_none() {
        if active.len() < want {
            out.create = (want - active.len()).min(BURST);
        } else if active.len() > want {
            active.sort_by_key(|p| rank(p));
            out.delete = active[..active.len() - want]
                .iter()
                .map(|p| p.metadata.name.clone().unwrap_or_default())
                .collect();
        }
    }
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let counted: Vec<&Pod> = owned
        .iter()
        .copied()
        .filter(|p| !terminal(p) && p.metadata.deletion_timestamp.is_none())
        .collect();
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    out.status = ReplicaSetStatus {
        replicas: n(counted.len()),
        fully_labeled_replicas: Some(n(counted
            .iter()
            .filter(|p| {
                template_labels
                    .iter()
                    .all(|(k, v)| labels(p).get(k) == Some(v))
            })
            .count())),
        ready_replicas: Some(n(counted
            .iter()
            .filter(|p| ready_since(p).is_some())
            .count())),
        available_replicas: Some(n(counted
            .iter()
            .filter(|p| available(p, min_ready, now))
            .count())),
        observed_generation: rs.metadata.generation,
        conditions: None,
        terminating_replicas: None,
    };
    out
}

/// The pod a ReplicaSet creates from its template.
pub fn new_pod(rs: &ReplicaSet) -> Pod {
    let template: PodTemplateSpec = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tm = template.metadata.unwrap_or_default();
    let name = rs.metadata.name.clone().unwrap_or_default();
    let prefix = if name.len() > 57 {
        format!("{}-", &name[..57])
    } else {
        format!("{name}-")
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(prefix),
            namespace: rs.metadata.namespace.clone(),
            labels: tm.labels,
            annotations: tm.annotations,
            finalizers: tm.finalizers,
            owner_references: Some(vec![owner_ref("ReplicaSet", &rs.metadata)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web-abc", "namespace": "default", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        }))
        .unwrap()
    }
    fn pod(name: &str, owner: Option<&str>, ready: bool, node: bool) -> Pod {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "creationTimestamp": format!("2026-01-01T00:00:0{}Z", name.len() % 10)},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready {"True"} else {"False"}}]}
        });
        if node {
            v["spec"]["nodeName"] = json!("n1");
        }
        if let Some(o) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": o, "controller": true}]);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn creates_adopts_and_deletes_worst_first() {
        let now = jiff::Timestamp::now();
        let p = plan(&rs(3), &[], now);
        assert_eq!(p.create, 3);
        let orphan = pod("orphan", None, true, true);
        let other = pod("other", Some("someone-else"), true, true);
        let p = plan(&rs(3), &[&orphan, &other], now);
        assert_eq!(p.adopt, vec!["orphan"]);
        assert_eq!(p.create, 2);
        let a = pod("a", Some("rs-uid"), true, true);
        let b = pod("b", Some("rs-uid"), false, true);
        let c = pod("c", Some("rs-uid"), true, false);
        let p = plan(&rs(1), &[&a, &b, &c], now);
        assert_eq!(p.delete.len(), 2);
        assert!(p.delete.contains(&"c".to_owned()), "unscheduled goes first");
        assert!(p.delete.contains(&"b".to_owned()), "then not ready");
        assert_eq!(p.status.replicas, 3);
        assert_eq!(p.status.ready_replicas, Some(2));
        assert_eq!(p.status.observed_generation, Some(2));
    }

    #[test]
    fn releases_pods_whose_labels_changed() {
        let mut moved = pod("m", Some("rs-uid"), true, true);
        moved.metadata.labels = Some([("app".to_owned(), "other".to_owned())].into());
        let p = plan(&rs(1), &[&moved], jiff::Timestamp::now());
        assert_eq!(p.release, vec!["m"]);
        assert_eq!(p.create, 1);
    }
}
