//! `PrepareForCreate` / `PrepareForUpdate` of the registry strategies
//! (`pkg/registry/{core,apps,discovery,coordination}/*/strategy.go`) with v1.33 feature gates.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Namespace, NamespaceSpec, NamespaceStatus, Node, ObjectReference, Pod, PodCondition, PodSpec,
    PodStatus, PodTemplateSpec, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, Time,
};

use super::util::{Qty, sem_eq};

/// `qos.GetPodQOS` / `ComputePodQOS` (pod-level resources are alpha, off, in 1.33).
pub(super) fn pod_qos(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    for c in spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
    {
        let res = c.resources.as_ref();
        for (name, q) in res.and_then(|r| r.requests.as_ref()).into_iter().flatten() {
            let Some(key) = qos_resource(name) else {
                continue;
            };
            if let Some(v) = Qty::parse(&q.0).filter(|v| v.nano > 0) {
                *requests.entry(key).or_insert(0) += v.nano;
            }
        }
        let mut found = (false, false);
        for (name, q) in res.and_then(|r| r.limits.as_ref()).into_iter().flatten() {
            let Some(key) = qos_resource(name) else {
                continue;
            };
            if let Some(v) = Qty::parse(&q.0).filter(|v| v.nano > 0) {
                if key == "cpu" {
                    found.0 = true;
                } else {
                    found.1 = true;
                }
                *limits.entry(key).or_insert(0) += v.nano;
            }
        }
        if !(found.0 && found.1) {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    if guaranteed {
        for (name, req) in &requests {
            if limits.get(name) != Some(req) {
                guaranteed = false;
                break;
            }
        }
    }
    if guaranteed && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn qos_resource(name: &str) -> Option<&'static str> {
    match name {
        "cpu" => Some("cpu"),
        "memory" => Some("memory"),
        _ => None,
    }
}

/// `DropDisabledPodFields` for the 1.33 gates that are off and change user input: pod-level
/// resources (`PodLevelResources`, alpha) and resource claims (`DynamicResourceAllocation`,
/// beta but off). Kept when the old object already used them.
pub(super) fn drop_disabled_pod_fields(spec: &mut PodSpec, old: Option<&PodSpec>) {
    if old.is_none_or(|o| o.resources.is_none()) {
        spec.resources = None;
    }
    let old_uses_claims = old.is_some_and(|o| {
        o.resource_claims.as_ref().is_some_and(|c| !c.is_empty())
            || o.containers
                .iter()
                .chain(o.init_containers.iter().flatten())
                .any(|c| {
                    c.resources
                        .as_ref()
                        .and_then(|r| r.claims.as_ref())
                        .is_some_and(|c| !c.is_empty())
                })
    });
    if !old_uses_claims {
        spec.resource_claims = None;
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            if let Some(r) = &mut c.resources {
                r.claims = None;
            }
        }
        for c in spec.ephemeral_containers.iter_mut().flatten() {
            if let Some(r) = &mut c.resources {
                r.claims = None;
            }
        }
    }
}

fn template_spec(t: Option<&PodTemplateSpec>) -> Option<&PodSpec> {
    t.and_then(|t| t.spec.as_ref())
}

/// Pod `PrepareForCreate`.
pub(super) fn pod_create(pod: &mut Pod) {
    pod.metadata.generation = Some(1);
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    drop_disabled_pod_fields(spec, None);
    let qos = pod_qos(spec);
    let mut status = PodStatus {
        phase: Some("Pending".to_owned()),
        qos_class: Some(qos.to_owned()),
        ..Default::default()
    };
    // applySchedulingGatedCondition
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        status.conditions = Some(vec![PodCondition {
            type_: "PodScheduled".to_owned(),
            status: "False".to_owned(),
            reason: Some("SchedulingGated".to_owned()),
            message: Some("Scheduling is blocked due to non-empty scheduling gates".to_owned()),
            last_transition_time: Some(now()),
            ..Default::default()
        }]);
    }
    pod.status = Some(status);
    mutate_pod_affinity(pod);
}

fn now() -> Time {
    // metav1.Time has second precision on the wire.
    let t = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(t.as_second()).unwrap_or(t))
}

/// `mutatePodAffinity` (MatchLabelKeysInPodAffinity is beta, on, in 1.33): `matchLabelKeys`
/// and `mismatchLabelKeys` become `In`/`NotIn` requirements on the pod's own label values.
fn mutate_pod_affinity(pod: &mut Pod) {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let Some(aff) = pod.spec.as_mut().and_then(|s| s.affinity.as_mut()) else {
        return;
    };
    let apply = |term: &mut k8s_openapi::api::core::v1::PodAffinityTerm| {
        let Some(sel) = term.label_selector.as_mut() else {
            return;
        };
        let keys = |ks: &Option<Vec<String>>, op: &str, sel: &mut LabelSelector| {
            for k in ks.iter().flatten() {
                if let Some(v) = labels.get(k) {
                    sel.match_expressions.get_or_insert_with(Vec::new).push(
                        LabelSelectorRequirement {
                            key: k.clone(),
                            operator: op.to_owned(),
                            values: Some(vec![v.clone()]),
                        },
                    );
                }
            }
        };
        keys(&term.match_label_keys, "In", sel);
        keys(&term.mismatch_label_keys, "NotIn", sel);
    };
    let terms = [
        aff.pod_affinity.as_mut().map(|a| {
            (
                &mut a.preferred_during_scheduling_ignored_during_execution,
                &mut a.required_during_scheduling_ignored_during_execution,
            )
        }),
        aff.pod_anti_affinity.as_mut().map(|a| {
            (
                &mut a.preferred_during_scheduling_ignored_during_execution,
                &mut a.required_during_scheduling_ignored_during_execution,
            )
        }),
    ];
    for (preferred, required) in terms.into_iter().flatten() {
        for t in preferred.iter_mut().flatten() {
            apply(&mut t.pod_affinity_term);
        }
        for t in required.iter_mut().flatten() {
            apply(t);
        }
    }
}

/// Pod `PrepareForUpdate` (main resource): status kept, generation bumped on spec changes.
pub(super) fn pod_update(new: &mut Pod, old: &Pod) {
    new.status.clone_from(&old.status);
    if let Some(s) = &mut new.spec {
        drop_disabled_pod_fields(s, old.spec.as_ref());
    }
    if !sem_eq(&new.spec, &old.spec) {
        new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
    }
}

/// Pod `pods/status` `PrepareForUpdate`.
pub(super) fn pod_status_update(new: &mut Pod, old: &Pod) {
    new.spec.clone_from(&old.spec);
    new.metadata
        .deletion_timestamp
        .clone_from(&old.metadata.deletion_timestamp);
    new.metadata
        .owner_references
        .clone_from(&old.metadata.owner_references);
    let old_qos = old.status.as_ref().and_then(|s| s.qos_class.clone());
    if let Some(st) = &mut new.status {
        if st.qos_class.as_deref().is_none_or(str::is_empty) {
            st.qos_class = old_qos;
        }
    } else if old_qos.is_some() {
        new.status = Some(PodStatus {
            qos_class: old_qos,
            ..Default::default()
        });
    }
}

/// Deployment `PrepareForCreate`.
pub(super) fn deployment_create(d: &mut Deployment) {
    d.status = Some(DeploymentStatus::default());
    d.metadata.generation = Some(1);
    if let Some(s) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        drop_disabled_pod_fields(s, None);
    }
}

/// Deployment `PrepareForUpdate`: status kept; spec or annotation changes bump the generation.
pub(super) fn deployment_update(new: &mut Deployment, old: &Deployment) {
    new.status.clone_from(&old.status);
    let old_tpl = old.spec.as_ref().and_then(|s| s.template.spec.as_ref());
    if let Some(s) = new.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        drop_disabled_pod_fields(s, old_tpl);
    }
    if !sem_eq(&new.spec, &old.spec)
        || !sem_eq(&new.metadata.annotations, &old.metadata.annotations)
    {
        new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
    }
}

/// Deployment `deployments/status` `PrepareForUpdate`: spec and labels kept.
pub(super) fn deployment_status_update(new: &mut Deployment, old: &Deployment) {
    new.spec.clone_from(&old.spec);
    new.metadata.labels.clone_from(&old.metadata.labels);
    drop_terminating_replicas_deploy(new, old);
}

/// DeploymentReplicaSetTerminatingReplicas is alpha (off) in 1.33.
fn drop_terminating_replicas_deploy(new: &mut Deployment, old: &Deployment) {
    let old_has = old
        .status
        .as_ref()
        .is_some_and(|s| s.terminating_replicas.is_some());
    if !old_has && let Some(s) = &mut new.status {
        s.terminating_replicas = None;
    }
}

/// ReplicaSet `PrepareForCreate`.
pub(super) fn replica_set_create(rs: &mut ReplicaSet) {
    rs.status = Some(ReplicaSetStatus::default());
    rs.metadata.generation = Some(1);
    if let Some(s) = rs
        .spec
        .as_mut()
        .and_then(|s| s.template.as_mut())
        .and_then(|t| t.spec.as_mut())
    {
        drop_disabled_pod_fields(s, None);
    }
}

/// ReplicaSet `PrepareForUpdate`: status kept; spec changes bump the generation.
pub(super) fn replica_set_update(new: &mut ReplicaSet, old: &ReplicaSet) {
    new.status.clone_from(&old.status);
    let old_tpl = template_spec(old.spec.as_ref().and_then(|s| s.template.as_ref()));
    if let Some(s) = new
        .spec
        .as_mut()
        .and_then(|s| s.template.as_mut())
        .and_then(|t| t.spec.as_mut())
    {
        drop_disabled_pod_fields(s, old_tpl);
    }
    if !sem_eq(&new.spec, &old.spec) {
        new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
    }
}

/// ReplicaSet `replicasets/status` `PrepareForUpdate`: spec kept.
pub(super) fn replica_set_status_update(new: &mut ReplicaSet, old: &ReplicaSet) {
    new.spec.clone_from(&old.spec);
    let old_has = old
        .status
        .as_ref()
        .is_some_and(|s| s.terminating_replicas.is_some());
    if !old_has && let Some(s) = &mut new.status {
        s.terminating_replicas = None;
    }
}

/// Namespace `PrepareForCreate`: phase `Active`, finalizer `kubernetes` added.
pub(super) fn namespace_create(ns: &mut Namespace) {
    ns.status = Some(NamespaceStatus {
        phase: Some("Active".to_owned()),
        ..Default::default()
    });
    let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
    let fin = spec.finalizers.get_or_insert_with(Vec::new);
    if !fin.iter().any(|f| f == "kubernetes") {
        fin.push("kubernetes".to_owned());
    }
    super::defaults::namespace_name_label(ns);
}

/// Namespace `PrepareForUpdate`: finalizers and status kept.
pub(super) fn namespace_update(new: &mut Namespace, old: &Namespace) {
    let old_fin = old.spec.as_ref().and_then(|s| s.finalizers.clone());
    new.spec
        .get_or_insert_with(NamespaceSpec::default)
        .finalizers = old_fin;
    new.status.clone_from(&old.status);
    super::defaults::namespace_name_label(new);
}

/// Node `PrepareForCreate`: the dead `configSource` fields are dropped.
pub(super) fn node_create(n: &mut Node) {
    if let Some(s) = &mut n.spec {
        s.config_source = None;
    }
    if let Some(s) = &mut n.status {
        s.config = None;
    }
}

/// Node `PrepareForUpdate`: status kept; `configSource` only if already set.
pub(super) fn node_update(new: &mut Node, old: &Node) {
    new.status.clone_from(&old.status);
    let old_has = old.spec.as_ref().is_some_and(|s| s.config_source.is_some());
    if !old_has && let Some(s) = &mut new.spec {
        s.config_source = None;
    }
}

/// EndpointSlice `PrepareForCreate`.
pub(super) fn endpoint_slice_create(es: &mut EndpointSlice) {
    es.metadata.generation = Some(1);
    for e in &mut es.endpoints {
        e.deprecated_topology = None;
    }
}

/// EndpointSlice `PrepareForUpdate`: generation bumped when anything but metadata (or the
/// labels) changed; `deprecatedTopology` writes through v1 are dropped.
pub(super) fn endpoint_slice_update(new: &mut EndpointSlice, old: &EndpointSlice) {
    let strip = |e: &EndpointSlice| {
        let mut c = e.clone();
        c.metadata = ObjectMeta::default();
        c
    };
    if !sem_eq(&strip(new), &strip(old)) || !sem_eq(&new.metadata.labels, &old.metadata.labels) {
        new.metadata.generation = Some(old.metadata.generation.unwrap_or(0) + 1);
    }
    if sem_eq(&new.endpoints, &old.endpoints) {
        return;
    }
    let prev_nodes: Vec<&String> = old
        .endpoints
        .iter()
        .filter_map(|e| {
            e.deprecated_topology
                .as_ref()
                .and_then(|t| t.get("kubernetes.io/hostname"))
        })
        .collect();
    for e in &mut new.endpoints {
        if e.node_name.is_none()
            && let Some(n) = e
                .deprecated_topology
                .as_ref()
                .and_then(|t| t.get("kubernetes.io/hostname"))
            && prev_nodes.contains(&n)
            && crate::names::dns1123_subdomain(n).is_empty()
        {
            e.node_name = Some(n.clone());
        }
        e.deprecated_topology = None;
    }
}

/// ServiceAccount `cleanSecretReferences`: only `name` is kept in `secrets[]`.
pub(super) fn service_account_clean(sa: &mut ServiceAccount) {
    for s in sa.secrets.iter_mut().flatten() {
        *s = ObjectReference {
            name: s.name.clone(),
            ..Default::default()
        };
    }
}

/// Lease: `strategy`/`preferredHolder` dropped (CoordinatedLeaderElection is off in 1.33)
/// unless the old object had them.
pub(super) fn lease_drop(new: &mut Lease, old: Option<&Lease>) {
    let old_spec = old.and_then(|o| o.spec.as_ref());
    if let Some(s) = &mut new.spec {
        if old_spec.is_none_or(|o| o.strategy.is_none()) {
            s.strategy = None;
        }
        if old_spec.is_none_or(|o| o.preferred_holder.is_none()) {
            s.preferred_holder = None;
        }
    }
}
