//! Defaulting, strategy hooks and validation for every served kind except Service: Pod,
//! Deployment, ReplicaSet, Namespace, Node, Endpoints, EndpointSlice, ConfigMap, Secret,
//! ServiceAccount, Event and Lease — as kube-apiserver v1.33 does them (with its default
//! feature gates), so that kubectl shows the same defaults and error messages.
//!
//! Objects come and go as JSON; each function decodes into the k8s-openapi type, works on it
//! and encodes back (fields unknown to k8s-openapi v1_33 are dropped on the way).
//! Generic ObjectMeta validation (labels, annotations, finalizers, owner references) is done
//! elsewhere; [`name_rule`] tells that code which rule `metadata.name` follows per kind.

mod apps;
mod defaults;
mod others;
mod podspec;
mod strategy;
mod util;

#[cfg(test)]
mod tests;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, Secret, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::field::ErrorList;
use crate::names;

/// Which rule `metadata.name` must satisfy for a kind (upstream's `ValidateXName`; kinds whose
/// strategy validates no name get the generic path-segment rule of `rest.BeforeCreate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSSubdomain` (most kinds).
    Dns1123Subdomain,
    /// `NameIsDNSLabel` (Namespace).
    Dns1123Label,
    /// `NameIsDNS1035Label` (Service).
    Dns1035Label,
    /// `path.ValidatePathSegmentName` only (core/v1 Event, unknown kinds).
    PathSegment,
}

impl NameRule {
    /// The messages upstream's name function returns for `name` (empty when valid). With
    /// `prefix` the name is a `generateName` prefix: a trailing `-` is tolerated.
    pub fn validate(self, name: &str, prefix: bool) -> Vec<String> {
        let masked = if prefix && name.len() > 1 && name.ends_with('-') {
            // maskTrailingDash, as upstream writes it.
            format!("{}a", &name[..name.len() - 2])
        } else {
            name.to_owned()
        };
        match self {
            Self::Dns1123Subdomain => names::dns1123_subdomain(&masked),
            Self::Dns1123Label => names::dns1123_label(&masked),
            Self::Dns1035Label => names::dns1035_label(&masked),
            Self::PathSegment => {
                if !prefix && (name == "." || name == "..") {
                    return vec![format!("may not be '{name}'")];
                }
                ["/", "%"]
                    .iter()
                    .filter(|c| name.contains(**c))
                    .map(|c| format!("may not contain '{c}'"))
                    .collect()
            }
        }
    }
}

/// The name rule of `kind`.
pub fn name_rule(kind: &str) -> NameRule {
    match kind {
        "Namespace" => NameRule::Dns1123Label,
        "Service" => NameRule::Dns1035Label,
        "Pod" | "Deployment" | "ReplicaSet" | "Node" | "Endpoints" | "EndpointSlice"
        | "ConfigMap" | "Secret" | "ServiceAccount" | "Lease" => NameRule::Dns1123Subdomain,
        _ => NameRule::PathSegment,
    }
}

fn decode<T: DeserializeOwned>(v: &Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(v.clone())
}

fn edit<T: DeserializeOwned + Serialize>(
    obj: &mut Value,
    f: impl FnOnce(&mut T),
) -> Result<(), serde_json::Error> {
    let mut t: T = decode(obj)?;
    f(&mut t);
    *obj = serde_json::to_value(&t)?;
    Ok(())
}

fn edit2<T: DeserializeOwned + Serialize>(
    new: &mut Value,
    old: &Value,
    f: impl FnOnce(&mut T, &T),
) -> Result<(), serde_json::Error> {
    let mut n: T = decode(new)?;
    let o: T = decode(old)?;
    f(&mut n, &o);
    *new = serde_json::to_value(&n)?;
    Ok(())
}

/// k8s-openapi makes `spec.selector` of Deployment/ReplicaSet required, so a round trip would
/// turn a missing selector into `{}` (which validates differently); keep it missing.
fn keep_absent_selector(
    obj: &mut Value,
    f: impl FnOnce(&mut Value) -> Result<(), serde_json::Error>,
) -> Result<(), serde_json::Error> {
    let had = obj
        .get("spec")
        .and_then(|s| s.get("selector"))
        .is_some_and(|s| !s.is_null());
    f(obj)?;
    if !had && let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("selector");
    }
    Ok(())
}

/// Decode-time defaults (`SetObjectDefaults_*` and the v1 conversion's effects) for an object
/// of `kind`, in place. Unknown kinds are left unchanged.
pub fn set_defaults(kind: &str, obj: &mut Value) -> Result<(), serde_json::Error> {
    match kind {
        "Pod" => edit(obj, defaults::pod),
        "Deployment" => keep_absent_selector(obj, |o| edit(o, defaults::deployment)),
        "ReplicaSet" => keep_absent_selector(obj, |o| edit(o, defaults::replica_set)),
        "Namespace" => edit(obj, defaults::namespace),
        "Node" => edit(obj, defaults::node),
        "Endpoints" => edit(obj, defaults::endpoints),
        "EndpointSlice" => edit(obj, defaults::endpoint_slice),
        "Secret" => edit(obj, defaults::secret),
        "Event" => edit(obj, defaults::event),
        "Lease" => edit(obj, defaults::lease),
        "ConfigMap" => edit(obj, |_: &mut ConfigMap| {}),
        "ServiceAccount" => edit(obj, |_: &mut ServiceAccount| {}),
        _ => Ok(()),
    }
}

/// Strategy `PrepareForCreate` for `kind`: status reset, `metadata.generation = 1` where the
/// kind tracks generations (Pod, Deployment, ReplicaSet, EndpointSlice), Namespace finalizer
/// and phase, fields of disabled features dropped.
pub fn prepare_for_create(kind: &str, obj: &mut Value) -> Result<(), serde_json::Error> {
    match kind {
        "Pod" => edit(obj, strategy::pod_create),
        "Deployment" => keep_absent_selector(obj, |o| edit(o, strategy::deployment_create)),
        "ReplicaSet" => keep_absent_selector(obj, |o| edit(o, strategy::replica_set_create)),
        "Namespace" => edit(obj, strategy::namespace_create),
        "Node" => edit(obj, strategy::node_create),
        "EndpointSlice" => edit(obj, strategy::endpoint_slice_create),
        "ServiceAccount" => edit(obj, strategy::service_account_clean),
        "Lease" => edit(obj, |l: &mut Lease| strategy::lease_drop(l, None)),
        _ => Ok(()),
    }
}

/// Strategy `PrepareForUpdate`. For the main resource (`subresource` `None`) of kinds with a
/// status subresource the stored status is kept; for `Some("status")` the stored spec is kept
/// (Namespace's `finalize` keeps the status). As `rest.BeforeUpdate` does, the request cannot
/// set `metadata.generation`: it starts from the old value and is bumped by the kinds that
/// track generations (Pod, ReplicaSet and EndpointSlice on spec changes, Deployment also on
/// annotation changes, EndpointSlice also on label changes). Unknown kinds are unchanged.
pub fn prepare_for_update(
    kind: &str,
    new: &mut Value,
    old: &Value,
    subresource: Option<&str>,
) -> Result<(), serde_json::Error> {
    let known = matches!(
        kind,
        "Pod"
            | "Deployment"
            | "ReplicaSet"
            | "Namespace"
            | "Node"
            | "Endpoints"
            | "EndpointSlice"
            | "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "Event"
            | "Lease"
    );
    if !known {
        return Ok(());
    }
    copy_generation(new, old);
    let status = subresource == Some("status");
    match (kind, subresource) {
        ("Pod", _) if status => edit2(new, old, strategy::pod_status_update),
        ("Pod", _) => edit2(new, old, strategy::pod_update),
        ("Deployment", _) if status => edit2(new, old, strategy::deployment_status_update),
        ("Deployment", _) => {
            keep_absent_selector(new, |n| edit2(n, old, strategy::deployment_update))
        }
        ("ReplicaSet", _) if status => edit2(new, old, strategy::replica_set_status_update),
        ("ReplicaSet", _) => {
            keep_absent_selector(new, |n| edit2(n, old, strategy::replica_set_update))
        }
        ("Namespace", Some("finalize")) => edit2(new, old, |n: &mut Namespace, o: &Namespace| {
            n.status.clone_from(&o.status);
        }),
        ("Namespace", _) if status => edit2(new, old, |n: &mut Namespace, o: &Namespace| {
            n.spec.clone_from(&o.spec);
        }),
        ("Namespace", _) => edit2(new, old, strategy::namespace_update),
        ("Node", _) if status => edit2(new, old, |n: &mut Node, o: &Node| {
            n.spec.clone_from(&o.spec);
        }),
        ("Node", _) => edit2(new, old, strategy::node_update),
        ("EndpointSlice", _) => edit2(new, old, strategy::endpoint_slice_update),
        ("ServiceAccount", _) => edit(new, strategy::service_account_clean),
        ("Lease", _) => edit2(new, old, |n: &mut Lease, o: &Lease| {
            strategy::lease_drop(n, Some(o));
        }),
        _ => Ok(()),
    }
}

/// `objectMeta.SetGeneration(oldMeta.GetGeneration())` from `rest.BeforeUpdate`.
fn copy_generation(new: &mut Value, old: &Value) {
    let old_gen = old
        .get("metadata")
        .and_then(|m| m.get("generation"))
        .cloned();
    if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        match old_gen {
            Some(g) if !g.is_null() => {
                meta.insert("generation".to_owned(), g);
            }
            _ => {
                meta.remove("generation");
            }
        }
    }
}

/// Create validation of spec/status (and kind-specific metadata rules such as pod
/// annotations); ObjectMeta itself is validated elsewhere. JSON that does not decode into the
/// kind's type is an `Err`.
pub fn validate(kind: &str, obj: &Value) -> Result<ErrorList, serde_json::Error> {
    Ok(match kind {
        "Pod" => podspec::validate_pod_create(&decode::<Pod>(obj)?),
        "Deployment" => apps::validate_deployment(&decode::<Deployment>(obj)?, obj),
        "ReplicaSet" => apps::validate_replica_set(&decode::<ReplicaSet>(obj)?, obj),
        "Namespace" => others::validate_namespace(&decode::<Namespace>(obj)?),
        "Node" => others::validate_node(&decode::<Node>(obj)?),
        "Endpoints" => others::validate_endpoints(&decode::<Endpoints>(obj)?),
        "EndpointSlice" => others::validate_endpoint_slice(&decode::<EndpointSlice>(obj)?),
        "ConfigMap" => others::validate_config_map(&decode::<ConfigMap>(obj)?),
        "Secret" => others::validate_secret(&decode::<Secret>(obj)?),
        "ServiceAccount" => {
            decode::<ServiceAccount>(obj)?;
            ErrorList::new()
        }
        "Event" => others::validate_event(&decode::<Event>(obj)?),
        "Lease" => others::validate_lease(&decode::<Lease>(obj)?),
        _ => ErrorList::new(),
    })
}

/// Update validation of the main resource: the create rules plus immutability (Deployment and
/// ReplicaSet `spec.selector`, EndpointSlice `addressType`, Secret `type`, `immutable`
/// ConfigMaps/Secrets, Pod spec beyond images/activeDeadlineSeconds/tolerations, Node
/// `podCIDRs`/`providerID`).
pub fn validate_update(
    kind: &str,
    new: &Value,
    old: &Value,
) -> Result<ErrorList, serde_json::Error> {
    Ok(match kind {
        "Pod" => podspec::validate_pod_update(&decode::<Pod>(new)?, &decode::<Pod>(old)?),
        "Deployment" => apps::validate_deployment_update(
            &decode::<Deployment>(new)?,
            new,
            &decode::<Deployment>(old)?,
        ),
        "ReplicaSet" => apps::validate_replica_set_update(
            &decode::<ReplicaSet>(new)?,
            new,
            &decode::<ReplicaSet>(old)?,
        ),
        "Namespace" => others::validate_namespace(&decode::<Namespace>(new)?),
        "Node" => others::validate_node_update(&decode::<Node>(new)?, &decode::<Node>(old)?),
        "Endpoints" => others::validate_endpoints_update(
            &decode::<Endpoints>(new)?,
            &decode::<Endpoints>(old)?,
        ),
        "EndpointSlice" => others::validate_endpoint_slice_update(
            &decode::<EndpointSlice>(new)?,
            &decode::<EndpointSlice>(old)?,
        ),
        "ConfigMap" => others::validate_config_map_update(
            &decode::<ConfigMap>(new)?,
            &decode::<ConfigMap>(old)?,
        ),
        "Secret" => {
            others::validate_secret_update(&decode::<Secret>(new)?, &decode::<Secret>(old)?)
        }
        "ServiceAccount" => {
            decode::<ServiceAccount>(new)?;
            ErrorList::new()
        }
        "Event" => others::validate_event(&decode::<Event>(new)?),
        "Lease" => others::validate_lease(&decode::<Lease>(new)?),
        _ => ErrorList::new(),
    })
}

/// Update validation of the `status` subresource (`ValidateXStatusUpdate`) for the kinds that
/// have one; other kinds get [`validate_update`].
pub fn validate_status_update(
    kind: &str,
    new: &Value,
    old: &Value,
) -> Result<ErrorList, serde_json::Error> {
    Ok(match kind {
        "Pod" => podspec::validate_pod_status_update(&decode::<Pod>(new)?, &decode::<Pod>(old)?),
        "Deployment" => apps::validate_deployment_status(
            &decode::<Deployment>(new)?,
            &decode::<Deployment>(old)?,
        ),
        "ReplicaSet" => apps::validate_replica_set_status(&decode::<ReplicaSet>(new)?),
        "Namespace" => others::validate_namespace_status(&decode::<Namespace>(new)?),
        "Node" => others::node_update_only(&decode::<Node>(new)?, &decode::<Node>(old)?),
        _ => return validate_update(kind, new, old),
    })
}
