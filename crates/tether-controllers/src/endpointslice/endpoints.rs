//! The legacy `Endpoints` object of a Service (upstream `pkg/controller/endpoint`): same name as
//! the Service, ready addresses in `addresses`, the others in `notReadyAddresses`, subsets
//! repacked by identical port sets (`RepackSubsets`), at most 1000 addresses.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::reconciler::{
    HEADLESS_LABEL, PodIdentity, TRIGGER_TIME, address_types, find_port, pod_ips, pod_ready,
    should_pod_be_in_endpoints,
};

/// Addresses kept in an Endpoints object (`maxCapacity`).
pub const MAX_CAPACITY: usize = 1000;
/// Label telling the mirroring controller to leave these Endpoints alone.
pub const SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";
/// Annotation set when addresses were truncated.
pub const OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";

/// `podToEndpointAddressForService`: the pod's address in the Service's primary family.
fn address(svc: &Service, pod: &Pod) -> Option<EndpointAddress> {
    let ipv6 = address_types(svc).first() == Some(&"IPv6");
    let ip = pod_ips(pod)
        .into_iter()
        .find(|ip| ip.contains(':') == ipv6)?;
    let PodIdentity {
        hostname,
        node_name,
        target_ref,
    } = PodIdentity::of(svc, pod);
    Some(EndpointAddress {
        ip,
        hostname,
        node_name,
        target_ref: Some(target_ref),
    })
}

type PortKey = (String, i32, String);
/// Ports, ready addresses, not-ready addresses of one subset being built.
type Subset = (
    Vec<EndpointPort>,
    Vec<EndpointAddress>,
    Vec<EndpointAddress>,
);

fn port_key(p: &EndpointPort) -> PortKey {
    (
        p.name.clone().unwrap_or_default(),
        p.port,
        p.protocol.clone().unwrap_or_default(),
    )
}

/// The desired Endpoints for a selector Service and its selected pods.
pub fn desired(svc: &Service, pods: &[&Pod], now: &str) -> Endpoints {
    let spec = svc.spec.clone().unwrap_or_default();
    let tolerate = spec.publish_not_ready_addresses.unwrap_or(false);
    let headless = spec.cluster_ip.as_deref() == Some("None");
    // Group addresses by their port set, as RepackSubsets does.
    let mut by_ports: BTreeMap<Vec<PortKey>, Subset> = BTreeMap::new();
    let mut total = 0usize;
    for pod in pods {
        if !should_pod_be_in_endpoints(pod, tolerate) {
            continue;
        }
        let Some(addr) = address(svc, pod) else {
            continue;
        };
        let mut ports: Vec<EndpointPort> = Vec::new();
        for sp in spec.ports.iter().flatten() {
            let proto = sp.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
            if let Some(n) = find_port(pod, sp.target_port.as_ref(), sp.port, &proto) {
                ports.push(EndpointPort {
                    name: sp.name.clone().filter(|n| !n.is_empty()),
                    port: n,
                    protocol: Some(proto),
                    app_protocol: sp.app_protocol.clone(),
                });
            }
        }
        if ports.is_empty() && !(spec.ports.as_ref().is_none_or(Vec::is_empty) && headless) {
            continue;
        }
        ports.sort_by_key(port_key);
        let key: Vec<_> = ports.iter().map(port_key).collect();
        let entry = by_ports
            .entry(key)
            .or_insert_with(|| (ports, Vec::new(), Vec::new()));
        total += 1;
        if tolerate || pod_ready(pod) {
            entry.1.push(addr);
        } else {
            entry.2.push(addr);
        }
    }
    let mut subsets = Vec::new();
    let mut kept = 0usize;
    for (_, (ports, mut ready, mut not_ready)) in by_ports {
        ready.sort_by(|a, b| a.ip.cmp(&b.ip));
        not_ready.sort_by(|a, b| a.ip.cmp(&b.ip));
        let room = MAX_CAPACITY.saturating_sub(kept);
        ready.truncate(room);
        not_ready.truncate(room.saturating_sub(ready.len()));
        kept += ready.len() + not_ready.len();
        if ready.is_empty() && not_ready.is_empty() {
            continue;
        }
        subsets.push(EndpointSubset {
            addresses: (!ready.is_empty()).then_some(ready),
            not_ready_addresses: (!not_ready.is_empty()).then_some(not_ready),
            ports: (!ports.is_empty()).then_some(ports),
        });
    }
    let mut labels = svc.metadata.labels.clone().unwrap_or_default();
    if headless {
        labels.insert(HEADLESS_LABEL.to_owned(), String::new());
    } else {
        labels.remove(HEADLESS_LABEL);
    }
    labels.insert(SKIP_MIRROR.to_owned(), "true".to_owned());
    let mut annotations = BTreeMap::new();
    annotations.insert(TRIGGER_TIME.to_owned(), now.to_owned());
    if total > MAX_CAPACITY {
        annotations.insert(OVER_CAPACITY.to_owned(), "truncated".to_owned());
    }
    Endpoints {
        metadata: ObjectMeta {
            name: svc.metadata.name.clone(),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            ..Default::default()
        },
        subsets: (!subsets.is_empty()).then_some(subsets),
    }
}

/// Whether two Endpoints differ in anything the controller manages (trigger time aside).
pub fn differs(a: &Endpoints, b: &Endpoints) -> bool {
    let strip = |e: &Endpoints| {
        let mut ann = e.metadata.annotations.clone().unwrap_or_default();
        ann.remove(TRIGGER_TIME);
        (
            e.subsets.clone().unwrap_or_default(),
            e.metadata.labels.clone().unwrap_or_default(),
            ann,
        )
    };
    strip(a) != strip(b)
}
