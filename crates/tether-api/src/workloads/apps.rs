//! `pkg/apis/apps/validation`: Deployment and ReplicaSet.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentStatus, DeploymentStrategy, ReplicaSet, ReplicaSetStatus,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::podspec::validate_pod_template;
use super::util::{
    IMMUTABLE, go_int_or_string, go_label_selector, go_string_map, nonnegative, sem_eq,
    valid_percent, validate_label_selector,
};
use crate::field::{BadValue, ErrorList, FieldError, Path};
use crate::labels::Selector;
use crate::names;

/// Whether `metav1.LabelSelectorAsSelector` fails for this selector.
fn selector_unparsable(ls: &LabelSelector) -> bool {
    let bad_kv = |k: &str, v: &str| {
        !names::qualified_name(k).is_empty() || !names::label_value(v).is_empty()
    };
    if ls.match_labels.iter().flatten().any(|(k, v)| bad_kv(k, v)) {
        return true;
    }
    ls.match_expressions.iter().flatten().any(|e| {
        let vals = e.values.as_deref().unwrap_or_default();
        let ops_ok = match e.operator.as_str() {
            "In" | "NotIn" => !vals.is_empty(),
            "Exists" | "DoesNotExist" => vals.is_empty(),
            _ => false,
        };
        !ops_ok
            || !names::qualified_name(&e.key).is_empty()
            || vals.iter().any(|v| !names::label_value(v).is_empty())
    })
}

/// The selector part shared by `ValidateDeploymentSpec` and `ValidateReplicaSetSpec`, then
/// `ValidatePodTemplateSpecForReplicaSet`.
fn selector_and_template(
    errs: &mut ErrorList,
    selector: Option<&LabelSelector>,
    template: &PodTemplateSpec,
    spec: &Path,
) {
    let sel_path = spec.child("selector");
    match selector {
        None => errs.push(FieldError::required(&sel_path, "")),
        Some(ls) => {
            validate_label_selector(errs, ls, &sel_path);
            let n = ls.match_labels.as_ref().map_or(0, |m| m.len())
                + ls.match_expressions.as_ref().map_or(0, Vec::len);
            if n == 0 {
                errs.push(FieldError::invalid(
                    &sel_path,
                    BadValue::Raw(go_label_selector(ls)),
                    "empty selector is invalid for deployment",
                ));
            }
        }
    }
    if let Some(ls) = selector
        && selector_unparsable(ls)
    {
        errs.push(FieldError::invalid(
            &sel_path,
            BadValue::Raw(go_label_selector(ls)),
            "invalid label selector",
        ));
        return;
    }
    let tpl_path = spec.child("template");
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    match Selector::from_label_selector(selector) {
        Ok(sel) if sel.is_everything() => {}
        Ok(sel) => {
            let matches = sel.matches(&labels.cloned().unwrap_or_default());
            if !matches {
                errs.push(FieldError::invalid(
                    &tpl_path.child("metadata").child("labels"),
                    BadValue::Raw(go_string_map(labels)),
                    "`selector` does not match template `labels`",
                ));
            }
        }
        Err(_) => {}
    }
    validate_pod_template(errs, template, &tpl_path);
    let tspec = template.spec.clone().unwrap_or_default();
    let restart = tspec.restart_policy.unwrap_or_default();
    if restart != "Always" {
        errs.push(FieldError::not_supported(
            &tpl_path.child("spec").child("restartPolicy"),
            restart,
            &["Always"],
        ));
    }
    if tspec.active_deadline_seconds.is_some() {
        errs.push(FieldError::forbidden(
            &tpl_path.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

/// `getIntOrPercentValue`.
fn int_or_percent_value(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => {
            if valid_percent(s).is_empty() {
                s.trim_end_matches('%').parse().unwrap_or(0)
            } else {
                s.parse().unwrap_or(0)
            }
        }
    }
}

fn positive_int_or_percent(errs: &mut ErrorList, v: &IntOrString, path: &Path) {
    match v {
        IntOrString::String(s) => {
            for m in valid_percent(s) {
                errs.push(FieldError::invalid(
                    path,
                    BadValue::Raw(go_int_or_string(v)),
                    m,
                ));
            }
        }
        IntOrString::Int(i) => nonnegative(errs, i64::from(*i), path),
    }
}

fn validate_strategy(errs: &mut ErrorList, st: Option<&DeploymentStrategy>, path: &Path) {
    let default = DeploymentStrategy::default();
    let st = st.unwrap_or(&default);
    match st.type_.as_deref().unwrap_or("") {
        "Recreate" => {
            if st.rolling_update.is_some() {
                errs.push(FieldError::forbidden(
                    &path.child("rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match &st.rolling_update {
            None => errs.push(FieldError::required(
                &path.child("rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let p = path.child("rollingUpdate");
                // v1 → internal: a nil pointer becomes the zero IntOrString.
                let zero = IntOrString::Int(0);
                let mu = ru.max_unavailable.as_ref().unwrap_or(&zero);
                let ms = ru.max_surge.as_ref().unwrap_or(&zero);
                positive_int_or_percent(errs, mu, &p.child("maxUnavailable"));
                positive_int_or_percent(errs, ms, &p.child("maxSurge"));
                if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                    errs.push(FieldError::invalid(
                        &p.child("maxUnavailable"),
                        BadValue::Raw(go_int_or_string(mu)),
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                if let IntOrString::String(s) = mu
                    && valid_percent(s).is_empty()
                    && int_or_percent_value(mu) > 100
                {
                    errs.push(FieldError::invalid(
                        &p.child("maxUnavailable"),
                        BadValue::Raw(go_int_or_string(mu)),
                        "must not be greater than 100%",
                    ));
                }
            }
        },
        _ => {
            let ru = if st.rolling_update.is_some() {
                "(*apps.RollingUpdateDeployment)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            errs.push(FieldError::not_supported(
                path,
                BadValue::Raw(format!(
                    "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru}}}",
                    BadValue::quote(st.type_.as_deref().unwrap_or(""))
                )),
                &["Recreate", "RollingUpdate"],
            ));
        }
    }
}

/// Whether the raw JSON carries a non-null `spec.selector` (k8s-openapi makes it required and
/// would default a missing one to `{}`).
fn has_selector(raw: &serde_json::Value) -> bool {
    raw.get("spec")
        .and_then(|s| s.get("selector"))
        .is_some_and(|s| !s.is_null())
}

/// `ValidateDeployment` (spec part).
pub(super) fn validate_deployment(d: &Deployment, raw: &serde_json::Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = d.spec.clone().unwrap_or_default();
    let p = Path::new("spec");
    nonnegative(
        &mut errs,
        i64::from(spec.replicas.unwrap_or(0)),
        &p.child("replicas"),
    );
    let selector = has_selector(raw).then_some(&spec.selector);
    selector_and_template(&mut errs, selector, &spec.template, &p);
    validate_strategy(&mut errs, spec.strategy.as_ref(), &p.child("strategy"));
    let mrs = spec.min_ready_seconds.unwrap_or(0);
    nonnegative(&mut errs, i64::from(mrs), &p.child("minReadySeconds"));
    if let Some(r) = spec.revision_history_limit {
        nonnegative(&mut errs, i64::from(r), &p.child("revisionHistoryLimit"));
    }
    if let Some(pds) = spec.progress_deadline_seconds {
        nonnegative(
            &mut errs,
            i64::from(pds),
            &p.child("progressDeadlineSeconds"),
        );
        if pds <= mrs {
            errs.push(FieldError::invalid(
                &p.child("progressDeadlineSeconds"),
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// `ValidateImmutableField(new.Spec.Selector, old.Spec.Selector, "spec.selector")`.
fn selector_immutable(
    errs: &mut ErrorList,
    new: Option<&LabelSelector>,
    new_raw: &serde_json::Value,
    old: Option<&LabelSelector>,
) {
    if sem_eq(&new, &old) && has_selector(new_raw) {
        return;
    }
    let value = match new {
        Some(ls) if has_selector(new_raw) => BadValue::Raw(go_label_selector(ls)),
        // A nil pointer prints as "null".
        _ => BadValue::Str("null".to_owned()),
    };
    errs.push(FieldError::invalid(
        &Path::new("spec").child("selector"),
        value,
        IMMUTABLE,
    ));
}

/// Deployment update: spec validation, then `spec.selector` immutability (apps/v1).
pub(super) fn validate_deployment_update(
    new: &Deployment,
    new_raw: &serde_json::Value,
    old: &Deployment,
) -> ErrorList {
    let mut errs = validate_deployment(new, new_raw);
    selector_immutable(
        &mut errs,
        new.spec.as_ref().map(|s| &s.selector),
        new_raw,
        old.spec.as_ref().map(|s| &s.selector),
    );
    errs
}

/// `ValidateDeploymentStatus` (+ collisionCount may not decrease).
pub(super) fn validate_deployment_status(new: &Deployment, old: &Deployment) -> ErrorList {
    let mut errs = ErrorList::new();
    let p = Path::new("status");
    let st = new.status.clone().unwrap_or_default();
    let DeploymentStatus {
        observed_generation,
        replicas,
        updated_replicas,
        ready_replicas,
        available_replicas,
        unavailable_replicas,
        collision_count,
        ..
    } = st;
    let (r, u, rd, a) = (
        replicas.unwrap_or(0),
        updated_replicas.unwrap_or(0),
        ready_replicas.unwrap_or(0),
        available_replicas.unwrap_or(0),
    );
    nonnegative(
        &mut errs,
        observed_generation.unwrap_or(0),
        &p.child("observedGeneration"),
    );
    nonnegative(&mut errs, i64::from(r), &p.child("replicas"));
    nonnegative(&mut errs, i64::from(u), &p.child("updatedReplicas"));
    nonnegative(&mut errs, i64::from(rd), &p.child("readyReplicas"));
    nonnegative(&mut errs, i64::from(a), &p.child("availableReplicas"));
    nonnegative(
        &mut errs,
        i64::from(unavailable_replicas.unwrap_or(0)),
        &p.child("unavailableReplicas"),
    );
    if let Some(c) = collision_count {
        nonnegative(&mut errs, i64::from(c), &p.child("collisionCount"));
    }
    replica_bounds(&mut errs, &p, r, (u, "updatedReplicas"), rd, a);
    let old_cc = old.status.as_ref().and_then(|s| s.collision_count);
    if let Some(o) = old_cc
        && collision_count.unwrap_or(0) < o
    {
        errs.push(FieldError::invalid(
            &p.child("collisionCount"),
            collision_count.unwrap_or(0),
            "cannot be decremented",
        ));
    }
    errs
}

/// `ValidateReplicaSetSpec`.
pub(super) fn validate_replica_set(rs: &ReplicaSet, raw: &serde_json::Value) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = rs.spec.clone().unwrap_or_default();
    let p = Path::new("spec");
    nonnegative(
        &mut errs,
        i64::from(spec.replicas.unwrap_or(0)),
        &p.child("replicas"),
    );
    nonnegative(
        &mut errs,
        i64::from(spec.min_ready_seconds.unwrap_or(0)),
        &p.child("minReadySeconds"),
    );
    let selector = has_selector(raw).then_some(&spec.selector);
    selector_and_template(
        &mut errs,
        selector,
        &spec.template.clone().unwrap_or_default(),
        &p,
    );
    errs
}

/// ReplicaSet update: upstream runs `ValidateReplicaSet` and `ValidateReplicaSetUpdate`, so
/// spec errors are reported twice; then `spec.selector` immutability (apps/v1).
pub(super) fn validate_replica_set_update(
    new: &ReplicaSet,
    new_raw: &serde_json::Value,
    old: &ReplicaSet,
) -> ErrorList {
    let mut errs = validate_replica_set(new, new_raw);
    errs.extend(validate_replica_set(new, new_raw));
    selector_immutable(
        &mut errs,
        new.spec.as_ref().map(|s| &s.selector),
        new_raw,
        old.spec.as_ref().map(|s| &s.selector),
    );
    errs
}

/// `ValidateReplicaSetStatus`.
pub(super) fn validate_replica_set_status(rs: &ReplicaSet) -> ErrorList {
    let mut errs = ErrorList::new();
    let p = Path::new("status");
    let ReplicaSetStatus {
        replicas: r,
        fully_labeled_replicas,
        ready_replicas,
        available_replicas,
        observed_generation,
        ..
    } = rs.status.clone().unwrap_or_default();
    let (fl, rd, a) = (
        fully_labeled_replicas.unwrap_or(0),
        ready_replicas.unwrap_or(0),
        available_replicas.unwrap_or(0),
    );
    nonnegative(&mut errs, i64::from(r), &p.child("replicas"));
    nonnegative(&mut errs, i64::from(fl), &p.child("fullyLabeledReplicas"));
    nonnegative(&mut errs, i64::from(rd), &p.child("readyReplicas"));
    nonnegative(&mut errs, i64::from(a), &p.child("availableReplicas"));
    nonnegative(
        &mut errs,
        observed_generation.unwrap_or(0),
        &p.child("observedGeneration"),
    );
    replica_bounds(&mut errs, &p, r, (fl, "fullyLabeledReplicas"), rd, a);
    errs
}

/// The bounds Deployment and ReplicaSet status share: `first`, ready and available at most
/// `replicas`, available at most ready.
fn replica_bounds(
    errs: &mut ErrorList,
    p: &Path,
    replicas: i32,
    first: (i32, &str),
    ready: i32,
    available: i32,
) {
    let counts = [
        first,
        (ready, "readyReplicas"),
        (available, "availableReplicas"),
    ];
    for (n, name) in counts {
        if n > replicas {
            errs.push(FieldError::invalid(
                &p.child(name),
                n,
                "cannot be greater than status.replicas",
            ));
        }
    }
    if available > ready {
        errs.push(FieldError::invalid(
            &p.child("availableReplicas"),
            available,
            "cannot be greater than readyReplicas",
        ));
    }
}
