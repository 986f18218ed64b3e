//! The Deployment controller's decisions (upstream `pkg/controller/deployment`), pure:
//! the ReplicaSet for the current template (named `<deployment>-<pod-template-hash>`), rolling
//! updates bounded by maxSurge/maxUnavailable or Recreate, revision annotations, history
//! cleanup, and the status `kubectl rollout status` and `kubectl get deploy` read.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::replicaset::owner_ref;

/// The label and selector key carrying the template hash.
pub const HASH_LABEL: &str = "pod-template-hash";
/// Revision annotation (`kubectl rollout history` reads it).
pub const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";

/// One write.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Create this ReplicaSet.
    Create(Box<ReplicaSet>),
    /// Set replicas (and annotations when given) of a ReplicaSet.
    Scale {
        /// Its name.
        name: String,
        /// New `spec.replicas`.
        replicas: i32,
        /// Annotations to merge in.
        annotations: BTreeMap<String, String>,
    },
    /// Delete an old ReplicaSet (history cleanup).
    Delete(String),
}

/// Everything to do for one Deployment.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Writes to ReplicaSets.
    pub ops: Vec<Op>,
    /// The Deployment's revision annotation, when it must change.
    pub revision: Option<String>,
    /// The status to write when it differs.
    pub status: DeploymentStatus,
}

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `controller.ComputeHash`: FNV-32a of the template (and collision count), encoded with
/// `rand.SafeEncodeString`.
pub fn template_hash(template: &Value, collision_count: Option<i32>) -> String {
    let mut t = template.clone();
    if let Some(l) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        l.remove(HASH_LABEL);
    }
    let bytes = serde_json::to_vec(&canonical(&t)).unwrap_or_default();
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    bytes.iter().copied().for_each(&mut feed);
    if let Some(c) = collision_count {
        c.to_le_bytes().iter().copied().for_each(&mut feed);
    }
    h.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}

/// Keys sorted recursively, so equal templates hash equally.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn template_of_rs(rs: &ReplicaSet) -> Value {
    serde_json::to_value(
        rs.spec
            .as_ref()
            .and_then(|s| s.template.clone())
            .unwrap_or_default(),
    )
    .unwrap_or_default()
}

fn template_of(d: &Deployment) -> Value {
    serde_json::to_value(
        d.spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default(),
    )
    .unwrap_or_default()
}

/// `EqualIgnoreHash`.
fn equal_ignore_hash(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(l) = v
            .pointer_mut("/metadata/labels")
            .and_then(Value::as_object_mut)
        {
            l.remove(HASH_LABEL);
            if l.is_empty()
                && let Some(m) = v.pointer_mut("/metadata").and_then(Value::as_object_mut)
            {
                m.remove("labels");
            }
        }
        canonical(&v)
    };
    strip(a) == strip(b)
}

/// Resolves an int-or-percent against `total` (percent rounded up or down).
pub fn resolve(v: Option<&IntOrString>, total: i32, round_up: bool, default_pct: i32) -> i32 {
    let pct = |p: i32| {
        let x = i64::from(p) * i64::from(total);
        let r = if round_up { (x + 99) / 100 } else { x / 100 };
        i32::try_from(r).unwrap_or(0)
    };
    match v {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => s
            .strip_suffix('%')
            .and_then(|p| p.parse::<i32>().ok())
            .map_or(0, pct),
        None => pct(default_pct),
    }
}

fn revision(rs: &ReplicaSet) -> i64 {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn st(rs: &ReplicaSet) -> (i32, i32, i32) {
    let s = rs.status.clone().unwrap_or_default();
    (
        s.replicas,
        s.ready_replicas.unwrap_or(0),
        s.available_replicas.unwrap_or(0),
    )
}

/// Annotations copied from a Deployment to its ReplicaSets (all but kubectl's and ours).
fn copied_annotations(d: &Deployment) -> BTreeMap<String, String> {
    d.metadata
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| {
            k != "kubectl.kubernetes.io/last-applied-configuration"
                && !k.starts_with("deployment.kubernetes.io/")
        })
        .collect()
}

fn condition(
    old: Option<&DeploymentStatus>,
    ty: &str,
    status: &str,
    reason: &str,
    message: String,
    now: &Time,
) -> DeploymentCondition {
    let prev = old
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == ty));
    let same = prev.is_some_and(|p| p.status == status && p.reason.as_deref() == Some(reason));
    DeploymentCondition {
        type_: ty.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message),
        last_update_time: if same {
            prev.and_then(|p| p.last_update_time.clone())
        } else {
            Some(now.clone())
        },
        last_transition_time: if prev.is_some_and(|p| p.status == status) {
            prev.and_then(|p| p.last_transition_time.clone())
        } else {
            Some(now.clone())
        },
    }
}

/// Decides for `d` given the ReplicaSets it controls.
#[allow(clippy::too_many_lines)]
pub fn plan(d: &Deployment, owned: &[&ReplicaSet], now: jiff::Timestamp) -> Plan {
    let mut out = Plan::default();
    let spec = d.spec.clone().unwrap_or_default();
    let want = spec.replicas.unwrap_or(1).max(0);
    let name = d.metadata.name.clone().unwrap_or_default();
    let template = template_of(d);
    let recreate = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");
    let ru = spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.clone())
        .unwrap_or_default();
    let (max_surge, mut max_unavailable) = if recreate {
        (0, want)
    } else {
        (
            resolve(ru.max_surge.as_ref(), want, true, 25),
            resolve(ru.max_unavailable.as_ref(), want, false, 25),
        )
    };
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let paused = spec.paused.unwrap_or(false);
    let max_rev = owned.iter().map(|r| revision(r)).max().unwrap_or(0);
    let existing_new = owned
        .iter()
        .find(|r| equal_ignore_hash(&template_of_rs(r), &template))
        .copied();
    let mut olds: Vec<&ReplicaSet> = owned
        .iter()
        .copied()
        .filter(|r| existing_new.is_none_or(|n| n.metadata.uid != r.metadata.uid))
        .collect();
    olds.sort_by_key(|r| revision(r));
    let old_total: i32 = olds.iter().map(|r| replicas(r)).sum();
    let annotations_for = |rev: i64| {
        let mut a = copied_annotations(d);
        a.insert(REVISION.to_owned(), rev.to_string());
        a.insert(DESIRED.to_owned(), want.to_string());
        a.insert(MAX_REPLICAS.to_owned(), (want + max_surge).to_string());
        a
    };
    // The new ReplicaSet: existing (maybe an old revision brought back) or to create.
    let (new_name, new_replicas_now, new_status) = match existing_new {
        Some(rs) => {
            let rev = revision(rs);
            let rev = if rev < max_rev || rev == 0 {
                max_rev + 1
            } else {
                rev
            };
            out.revision = Some(rev.to_string());
            (
                rs.metadata.name.clone().unwrap_or_default(),
                replicas(rs),
                st(rs),
            )
        }
        None if paused => return out,
        None => {
            let hash = template_hash(&template, d.status.as_ref().and_then(|s| s.collision_count));
            let rs_name = format!("{name}-{hash}");
            let mut t = spec.template.clone();
            let tm = t.metadata.get_or_insert_with(Default::default);
            tm.labels
                .get_or_insert_with(Default::default)
                .insert(HASH_LABEL.to_owned(), hash.clone());
            let mut selector: LabelSelector = spec.selector.clone();
            selector
                .match_labels
                .get_or_insert_with(Default::default)
                .insert(HASH_LABEL.to_owned(), hash.clone());
            let initial = if recreate {
                if old_total > 0 { 0 } else { want }
            } else if old_total == 0 {
                want
            } else {
                (want + max_surge - old_total).clamp(0, want)
            };
            let rev = max_rev + 1;
            out.revision = Some(rev.to_string());
            let mut labels = tm.labels.clone().unwrap_or_default();
            labels.insert(HASH_LABEL.to_owned(), hash);
            out.ops.push(Op::Create(Box::new(ReplicaSet {
                metadata: ObjectMeta {
                    name: Some(rs_name.clone()),
                    namespace: d.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: Some(annotations_for(rev)),
                    owner_references: Some(vec![owner_ref("Deployment", &d.metadata)]),
                    ..Default::default()
                },
                spec: Some(ReplicaSetSpec {
                    replicas: Some(initial),
                    min_ready_seconds: spec.min_ready_seconds,
                    selector,
                    template: Some(t),
                }),
                status: None,
            })));
            (rs_name, initial, (0, 0, 0))
        }
    };
    let new_rev: i64 = out
        .revision
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let mut new_target = new_replicas_now;
    if !paused {
        if recreate {
            if old_total > 0 {
                for r in &olds {
                    if replicas(r) > 0 {
                        out.ops.push(Op::Scale {
                            name: r.metadata.name.clone().unwrap_or_default(),
                            replicas: 0,
                            annotations: BTreeMap::new(),
                        });
                    }
                }
                new_target = 0;
            } else if olds.iter().any(|r| st(r).0 > 0) {
                new_target = 0;
            } else {
                new_target = want;
            }
        } else {
            // Scale up the new ReplicaSet within maxSurge.
            let total = old_total + new_replicas_now;
            if new_replicas_now > want {
                new_target = want;
            } else if total < want + max_surge {
                new_target = (new_replicas_now + (want + max_surge - total)).min(want);
            }
            // Scale down old ones within maxUnavailable.
            let min_available = want - max_unavailable;
            let new_unavailable = new_target - new_status.2;
            let all = old_total + new_target;
            let mut budget = all - min_available - new_unavailable;
            let mut old_targets: Vec<(String, i32)> = olds
                .iter()
                .map(|r| (r.metadata.name.clone().unwrap_or_default(), replicas(r)))
                .collect();
            // Unhealthy old replicas go first.
            for (i, r) in olds.iter().enumerate() {
                if budget <= 0 {
                    break;
                }
                let unhealthy = (old_targets[i].1 - st(r).2).max(0).min(budget);
                old_targets[i].1 -= unhealthy;
                budget -= unhealthy;
            }
            // Then available ones, keeping minAvailable.
            let available_total: i32 = olds.iter().map(|r| st(r).2).sum::<i32>() + new_status.2;
            let mut can_down = (available_total - min_available).max(0).min(budget.max(0));
            for t in &mut old_targets {
                if can_down <= 0 {
                    break;
                }
                let d = t.1.min(can_down);
                t.1 -= d;
                can_down -= d;
            }
            for ((n, target), r) in old_targets.into_iter().zip(&olds) {
                if target != replicas(r) {
                    out.ops.push(Op::Scale {
                        name: n,
                        replicas: target.max(0),
                        annotations: BTreeMap::new(),
                    });
                }
            }
        }
        if let Some(rs) = existing_new {
            let mut want_ann = annotations_for(new_rev);
            let cur = rs.metadata.annotations.clone().unwrap_or_default();
            want_ann.retain(|k, v| cur.get(k) != Some(v));
            if new_target != new_replicas_now || !want_ann.is_empty() {
                out.ops.push(Op::Scale {
                    name: new_name.clone(),
                    replicas: new_target,
                    annotations: want_ann,
                });
            }
        } else if let Some(Op::Create(rs)) = out.ops.first_mut()
            && let Some(s) = rs.spec.as_mut()
        {
            s.replicas = Some(new_target);
        }
        // History: keep revisionHistoryLimit idle old ReplicaSets.
        let limit = usize::try_from(spec.revision_history_limit.unwrap_or(10).max(0)).unwrap_or(10);
        let idle: Vec<&&ReplicaSet> = olds
            .iter()
            .filter(|r| replicas(r) == 0 && st(r).0 == 0)
            .collect();
        if idle.len() > limit {
            for r in &idle[..idle.len() - limit] {
                out.ops
                    .push(Op::Delete(r.metadata.name.clone().unwrap_or_default()));
            }
        }
    }
    // Status.
    let (mut total, mut ready, mut available) = (0, 0, 0);
    for r in owned {
        let (t, rd, a) = st(r);
        total += t;
        ready += rd;
        available += a;
    }
    let updated = new_status.0;
    let now_t = Time(now);
    let old_status = d.status.as_ref();
    let min_available = want - max_unavailable;
    let avail_cond = if available >= min_available {
        condition(
            old_status,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            &now_t,
        )
    } else {
        condition(
            old_status,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            &now_t,
        )
    };
    let complete = updated == want && total == want && available == want && new_status.2 == want;
    let prog_cond = if complete {
        condition(
            old_status,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet {new_name:?} has successfully progressed."),
            &now_t,
        )
    } else if existing_new.is_none() {
        condition(
            old_status,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set {new_name:?}"),
            &now_t,
        )
    } else {
        condition(
            old_status,
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet {new_name:?} is progressing."),
            &now_t,
        )
    };
    out.status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas: Some(total),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        unavailable_replicas: Some((want - available).max(0)),
        conditions: Some(vec![avail_cond, prog_cond]),
        collision_count: old_status.and_then(|s| s.collision_count),
        terminating_replicas: None,
    };
    out
}

/// Whether two statuses differ beyond condition timestamps.
pub fn status_differs(a: Option<&DeploymentStatus>, b: &DeploymentStatus) -> bool {
    let strip = |s: &DeploymentStatus| {
        let mut s = s.clone();
        for c in s.conditions.iter_mut().flatten() {
            c.last_update_time = None;
            c.last_transition_time = None;
        }
        s
    };
    a.is_none_or(|a| strip(a) != strip(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(replicas: i32, image: &str) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}
        }))
        .unwrap()
    }

    fn as_rs(op: &Op, status: (i32, i32)) -> ReplicaSet {
        let Op::Create(rs) = op else { panic!("{op:?}") };
        let mut rs = (**rs).clone();
        rs.metadata.uid = Some(format!("uid-{}", rs.metadata.name.clone().unwrap()));
        rs.status = Some(k8s_openapi::api::apps::v1::ReplicaSetStatus {
            replicas: status.0,
            ready_replicas: Some(status.1),
            available_replicas: Some(status.1),
            ..Default::default()
        });
        rs
    }

    #[test]
    fn first_rollout_creates_a_full_replicaset_and_completes() {
        let now = jiff::Timestamp::now();
        let d = deploy(3, "nginx:1");
        let p = plan(&d, &[], now);
        assert_eq!(p.revision.as_deref(), Some("1"));
        let Op::Create(rs) = &p.ops[0] else { panic!() };
        assert!(rs.metadata.name.as_ref().unwrap().starts_with("web-"));
        assert_eq!(rs.spec.as_ref().unwrap().replicas, Some(3));
        let hash = rs.metadata.labels.as_ref().unwrap()[HASH_LABEL].clone();
        assert_eq!(
            rs.spec
                .as_ref()
                .unwrap()
                .selector
                .match_labels
                .as_ref()
                .unwrap()[HASH_LABEL],
            hash
        );
        let done = as_rs(&p.ops[0], (3, 3));
        let p2 = plan(&d, &[&done], now);
        assert!(p2.ops.is_empty(), "{:?}", p2.ops);
        assert_eq!(p2.status.updated_replicas, Some(3));
        assert_eq!(p2.status.available_replicas, Some(3));
        let prog = &p2.status.conditions.as_ref().unwrap()[1];
        assert_eq!(prog.reason.as_deref(), Some("NewReplicaSetAvailable"));
    }

    #[test]
    fn rolling_update_respects_surge_and_unavailable() {
        let now = jiff::Timestamp::now();
        let d1 = deploy(4, "nginx:1");
        let old = as_rs(&plan(&d1, &[], now).ops[0], (4, 4));
        let mut old = old;
        old.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(REVISION.into(), "1".into());
        let d2 = deploy(4, "nginx:2");
        let p = plan(&d2, &[&old], now);
        assert_eq!(p.revision.as_deref(), Some("2"));
        // maxSurge 25% of 4 = 1: new starts at 1; maxUnavailable 1: old goes to 3.
        let Op::Create(new) = &p.ops[0] else { panic!() };
        assert_eq!(new.spec.as_ref().unwrap().replicas, Some(1));
        assert!(p.ops.contains(&Op::Scale {
            name: old.metadata.name.clone().unwrap(),
            replicas: 3,
            annotations: BTreeMap::new()
        }));
    }

    #[test]
    fn hash_is_stable_and_ignores_the_hash_label() {
        let t = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let mut t2 = t.clone();
        t2["metadata"]["labels"][HASH_LABEL] = json!("x");
        assert_eq!(template_hash(&t, None), template_hash(&t2, None));
        assert_ne!(template_hash(&t, None), template_hash(&t, Some(1)));
        assert!(
            template_hash(&t, None)
                .bytes()
                .all(|b| ALPHANUMS.contains(&b))
        );
    }
}
