//! EndpointSlice mirroring (upstream `pkg/controller/endpointslicemirroring`): a selectorless
//! Service whose Endpoints a user wrote gets EndpointSlices mirroring them, one per subset and
//! address family, managed by `endpointslicemirroring-controller.k8s.io`. Endpoints carrying
//! `endpointslice.kubernetes.io/skip-mirror: "true"` (those our own controller writes) are
//! not mirrored.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::endpoints::SKIP_MIRROR;
use super::reconciler::{MANAGED_BY_LABEL, Op, SERVICE_NAME_LABEL};

/// `endpointslice.kubernetes.io/managed-by` value of the mirroring controller.
pub const MIRROR_MANAGED_BY: &str = "endpointslicemirroring-controller.k8s.io";
/// Addresses mirrored per subset (upstream `maxEndpointsPerSubset`).
pub const MAX_PER_SUBSET: usize = 1000;

/// Whether these Endpoints should be mirrored for this Service.
pub fn should_mirror(svc: &Service, ep: &Endpoints) -> bool {
    let selectorless = svc.spec.as_ref().is_some_and(|s| {
        s.selector.as_ref().is_none_or(BTreeMap::is_empty)
            && s.type_.as_deref() != Some("ExternalName")
    });
    let skip = ep
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SKIP_MIRROR))
        .is_some_and(|v| v == "true");
    selectorless && !skip
}

fn desired(svc: &Service, ep: &Endpoints) -> Vec<EndpointSlice> {
    let name = svc.metadata.name.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = ep.metadata.labels.clone().unwrap_or_default();
    labels.insert(SERVICE_NAME_LABEL.to_owned(), name.clone());
    labels.insert(MANAGED_BY_LABEL.to_owned(), MIRROR_MANAGED_BY.to_owned());
    let owner = OwnerReference {
        api_version: "v1".into(),
        kind: "Endpoints".into(),
        name: name.clone(),
        uid: ep.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let mut out = Vec::new();
    for subset in ep.subsets.iter().flatten() {
        let ports: Vec<EndpointPort> = subset
            .ports
            .iter()
            .flatten()
            .map(|p| EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                port: Some(p.port),
                protocol: Some(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: p.app_protocol.clone(),
            })
            .collect();
        for (family, v6) in [("IPv4", false), ("IPv6", true)] {
            let mut eps = Vec::new();
            let ready = subset.addresses.iter().flatten().map(|a| (a, true));
            let not_ready = subset
                .not_ready_addresses
                .iter()
                .flatten()
                .map(|a| (a, false));
            for (a, is_ready) in ready.chain(not_ready) {
                if a.ip.contains(':') != v6 || eps.len() >= MAX_PER_SUBSET {
                    continue;
                }
                eps.push(Endpoint {
                    addresses: vec![a.ip.clone()],
                    conditions: Some(EndpointConditions {
                        ready: Some(is_ready),
                        serving: Some(is_ready),
                        terminating: Some(false),
                    }),
                    hostname: a.hostname.clone(),
                    node_name: a.node_name.clone(),
                    target_ref: a.target_ref.clone(),
                    ..Default::default()
                });
            }
            if eps.is_empty() {
                continue;
            }
            out.push(EndpointSlice {
                metadata: ObjectMeta {
                    generate_name: Some(format!("{name}-")),
                    namespace: svc.metadata.namespace.clone(),
                    labels: Some(labels.clone()),
                    owner_references: Some(vec![owner.clone()]),
                    ..Default::default()
                },
                address_type: family.to_owned(),
                endpoints: eps,
                ports: Some(ports.clone()),
            });
        }
    }
    out
}

fn content(
    s: &EndpointSlice,
) -> (
    String,
    Vec<Endpoint>,
    Vec<EndpointPort>,
    BTreeMap<String, String>,
) {
    (
        s.address_type.clone(),
        s.endpoints.clone(),
        s.ports.clone().unwrap_or_default(),
        s.metadata.labels.clone().unwrap_or_default(),
    )
}

/// Plans the mirrored slices: matching ones are kept, others replaced in place or
/// created/deleted. `ep` is `None` when the Endpoints are gone (all mirrors go).
pub fn plan(svc: &Service, ep: Option<&Endpoints>, existing: &[EndpointSlice]) -> Vec<Op> {
    let want = match ep {
        Some(ep) if should_mirror(svc, ep) => desired(svc, ep),
        _ => Vec::new(),
    };
    let mut ops = Vec::new();
    let mut spare: Vec<EndpointSlice> = Vec::new();
    let mut todo: Vec<EndpointSlice> = Vec::new();
    let mut unmatched: Vec<&EndpointSlice> = existing.iter().collect();
    for w in want {
        if let Some(i) = unmatched.iter().position(|e| content(e) == content(&w)) {
            unmatched.remove(i);
        } else {
            todo.push(w);
        }
    }
    spare.extend(unmatched.into_iter().cloned());
    for w in todo {
        if let Some(mut s) = spare.pop() {
            if s.address_type == w.address_type {
                s.endpoints = w.endpoints;
                s.ports = w.ports;
                s.metadata.labels = w.metadata.labels;
                s.metadata.owner_references = w.metadata.owner_references;
                ops.push(Op::Update(s));
                continue;
            }
            if let Some(n) = s.metadata.name.clone() {
                ops.push(Op::Delete(n));
            }
        }
        ops.push(Op::Create(w));
    }
    for s in spare {
        if let Some(n) = s.metadata.name {
            ops.push(Op::Delete(n));
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mirrors_user_endpoints_of_selectorless_services() {
        let svc: Service =
            serde_json::from_value(json!({"metadata": {"name": "ext", "namespace": "default"},
            "spec": {"ports": [{"port": 80}]}}))
            .unwrap();
        let ep: Endpoints = serde_json::from_value(json!({"metadata": {"name": "ext", "namespace": "default", "uid": "e"},
            "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "notReadyAddresses": [{"ip": "192.0.2.11"}], "ports": [{"port": 8080}]}]})).unwrap();
        let ops = plan(&svc, Some(&ep), &[]);
        assert_eq!(ops.len(), 1);
        let Op::Create(s) = &ops[0] else { panic!() };
        assert_eq!(s.endpoints.len(), 2);
        assert_eq!(
            s.metadata.labels.as_ref().unwrap()[MANAGED_BY_LABEL],
            MIRROR_MANAGED_BY
        );
        assert_eq!(s.ports.as_ref().unwrap()[0].name.as_deref(), Some(""));
        let mut existing = s.clone();
        existing.metadata.name = Some("ext-1".into());
        assert!(plan(&svc, Some(&ep), std::slice::from_ref(&existing)).is_empty());
        assert_eq!(
            plan(&svc, None, &[existing]),
            vec![Op::Delete("ext-1".into())]
        );
        // Our own Endpoints are never mirrored.
        let mut own = ep;
        own.metadata.labels = Some([(SKIP_MIRROR.to_owned(), "true".to_owned())].into());
        assert!(plan(&svc, Some(&own), &[]).is_empty());
    }
}
