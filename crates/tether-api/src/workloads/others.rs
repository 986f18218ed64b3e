//! Validation of the non-workload kinds: Namespace, Node, Endpoints, ConfigMap, Secret, Event
//! (`pkg/apis/core/validation`), EndpointSlice (`pkg/apis/discovery/validation`) and Lease
//! (`pkg/apis/coordination/validation`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, EndpointAddress, EndpointSubset, Endpoints, Event, Namespace, Node, Secret, Taint,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::podspec::{protocol, resource_quantity, taint_effect};
use super::util::{
    IMMUTABLE, config_map_key, dns_label, dns_subdomain, fqdn, go_string_slice, legacy_ip,
    non_special_ip, parse_ip_sloppy, push_invalid, qualified_name, sem_eq, validate_labels,
};
use crate::field::{BadValue, ErrorList, FieldError, Path};
use crate::names;

fn s(o: Option<&String>) -> &str {
    o.map_or("", String::as_str)
}

// ----------------------------------------------------------------------------------------------
// Namespace

/// `ValidateNamespace` (spec part): finalizer names.
pub(super) fn validate_namespace(ns: &Namespace) -> ErrorList {
    let mut errs = ErrorList::new();
    let p = Path::new("spec").child("finalizers");
    for f in ns.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
        qualified_name(&mut errs, f, &p);
        if !f.contains('/') && !matches!(f.as_str(), "kubernetes" | "orphan" | "foregroundDeletion")
        {
            errs.push(FieldError::invalid(
                &p,
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

/// `ValidateNamespaceStatusUpdate`.
pub(super) fn validate_namespace_status(ns: &Namespace) -> ErrorList {
    let mut errs = ErrorList::new();
    let phase = ns
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let p = Path::new("status").child("Phase");
    if ns.metadata.deletion_timestamp.is_none() {
        if phase != "Active" {
            errs.push(FieldError::invalid(
                &p,
                phase,
                "may only be 'Active' if `deletionTimestamp` is empty",
            ));
        }
    } else if phase != "Terminating" {
        errs.push(FieldError::invalid(
            &p,
            phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        ));
    }
    errs
}

// ----------------------------------------------------------------------------------------------
// Node

fn go_taint(t: &Taint) -> String {
    format!(
        "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{}}}",
        BadValue::quote(&t.key),
        BadValue::quote(s(t.value.as_ref())),
        BadValue::quote(&t.effect),
        if t.time_added.is_some() {
            "(*v1.Time)(0xc000000000)"
        } else {
            "(*v1.Time)(nil)"
        }
    )
}

/// `validateNodeTaints` (upstream reports them under `metadata.taints`).
fn node_taints(errs: &mut ErrorList, taints: &[Taint]) {
    let path = Path::new("metadata").child("taints");
    let mut unique: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, t) in taints.iter().enumerate() {
        let idx = path.index(i);
        qualified_name(errs, &t.key, &idx.child("key"));
        let v = s(t.value.as_ref());
        let e = names::label_value(v);
        if !e.is_empty() {
            errs.push(FieldError::invalid(&idx.child("value"), v, e.join(";")));
        }
        if t.effect.is_empty() {
            errs.push(FieldError::required(&idx.child("effect"), ""));
        } else {
            taint_effect(errs, &t.effect, &idx.child("effect"));
        }
        if !unique.insert((t.effect.clone(), t.key.clone())) {
            let mut d = FieldError::duplicate(&idx, BadValue::Raw(go_taint(t)));
            d.detail = "taints must be unique by key and effect pair".to_owned();
            errs.push(d);
        }
    }
}

fn node_resources(errs: &mut ErrorList, n: &Node) {
    let st = n.status.clone().unwrap_or_default();
    for (field, list) in [("capacity", &st.capacity), ("allocatable", &st.allocatable)] {
        for (k, v) in list.iter().flatten() {
            let p = Path::new("status").child(field).child(k);
            resource_quantity(errs, k, &v.0, &p);
        }
    }
}

fn parse_cidr_sloppy(v: &str) -> Option<IpAddr> {
    let (ip, len) = v.split_once('/')?;
    let ip = parse_ip_sloppy(ip)?;
    if len.is_empty() || !len.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let len: u32 = len.parse().ok()?;
    let max = if ip.is_ipv4() && !v.contains(':') {
        32
    } else {
        128
    };
    (len <= max).then_some(ip)
}

/// `ValidateNode` (spec/status part).
pub(super) fn validate_node(n: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = n.spec.clone().unwrap_or_default();
    node_taints(&mut errs, spec.taints.as_deref().unwrap_or_default());
    node_resources(&mut errs, n);
    let cidrs = spec.pod_cidrs.clone().unwrap_or_default();
    let p = Path::new("spec").child("podCIDRs");
    let mut families = Vec::new();
    for (i, c) in cidrs.iter().enumerate() {
        match parse_cidr_sloppy(c) {
            Some(ip) => families.push(ip.is_ipv4()),
            None => errs.push(FieldError::invalid(
                &p.index(i),
                c,
                "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            )),
        }
    }
    if cidrs.len() > 1 {
        let dual = families.len() == cidrs.len()
            && families.iter().any(|f| *f)
            && families.iter().any(|f| !*f);
        if !dual || cidrs.len() > 2 {
            errs.push(FieldError::invalid(
                &p,
                BadValue::Raw(go_string_slice(Some(&cidrs))),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, c) in cidrs.iter().enumerate() {
            if !seen.insert(c) {
                errs.push(FieldError::duplicate(&p.index(i), c));
            }
        }
    }
    errs
}

/// Node update: `ValidateNode` then `ValidateNodeUpdate` (which re-checks resources and taints,
/// as upstream does).
pub(super) fn validate_node_update(n: &Node, old: &Node) -> ErrorList {
    let mut errs = validate_node(n);
    errs.extend(node_update_only(n, old));
    errs
}

/// `ValidateNodeUpdate`.
pub(super) fn node_update_only(n: &Node, old: &Node) -> ErrorList {
    let mut errs = ErrorList::new();
    node_resources(&mut errs, n);
    let st = n.status.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for (i, a) in st.addresses.iter().flatten().enumerate() {
        if !seen.insert((a.type_.clone(), a.address.clone())) {
            errs.push(FieldError::duplicate(
                &Path::new("status").child("addresses").index(i),
                BadValue::Raw(format!(
                    "core.NodeAddress{{Type:{}, Address:{}}}",
                    BadValue::quote(&a.type_),
                    BadValue::quote(&a.address)
                )),
            ));
        }
    }
    let spec = n.spec.clone().unwrap_or_default();
    let ospec = old.spec.clone().unwrap_or_default();
    let ocidrs = ospec.pod_cidrs.clone().unwrap_or_default();
    let ncidrs = spec.pod_cidrs.clone().unwrap_or_default();
    let cidr_msg = "node updates may not change podCIDR except from \"\" to valid";
    let cp = Path::new("spec").child("podCIDRs");
    if !ocidrs.is_empty() {
        if ocidrs.len() != ncidrs.len() {
            errs.push(FieldError::forbidden(&cp, cidr_msg));
        } else {
            for (o, n) in ocidrs.iter().zip(&ncidrs) {
                if o != n {
                    errs.push(FieldError::forbidden(&cp, cidr_msg));
                }
            }
        }
    }
    let opid = s(ospec.provider_id.as_ref());
    if !opid.is_empty() && opid != s(spec.provider_id.as_ref()) {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("providerID"),
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    node_taints(&mut errs, spec.taints.as_deref().unwrap_or_default());
    if spec.external_id != ospec.external_id {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("externalID"),
            "may not be updated",
        ));
    }
    errs
}

// ----------------------------------------------------------------------------------------------
// Endpoints

fn endpoint_address(errs: &mut ErrorList, a: &EndpointAddress, path: &Path, valid_old: &[String]) {
    if valid_old.contains(&a.ip) {
        // Unchanged object: pre-existing addresses are not re-validated.
    } else {
        legacy_ip(errs, &path.child("ip"), &a.ip, &[]);
    }
    let h = s(a.hostname.as_ref());
    if !h.is_empty() {
        dns_label(errs, h, &path.child("hostname"));
    }
    if let Some(nn) = &a.node_name {
        dns_subdomain(errs, nn, &path.child("nodeName"));
    }
    if !valid_old.contains(&a.ip) {
        non_special_ip(errs, &a.ip, &path.child("ip"));
    }
}

fn endpoint_subsets(errs: &mut ErrorList, subsets: &[EndpointSubset], valid_old: &[String]) {
    let path = Path::new("subsets");
    for (i, ss) in subsets.iter().enumerate() {
        let idx = path.index(i);
        let addrs = ss.addresses.as_deref().unwrap_or_default();
        let nr = ss.not_ready_addresses.as_deref().unwrap_or_default();
        if addrs.is_empty() && nr.is_empty() {
            errs.push(FieldError::required(
                &idx,
                "must specify `addresses` or `notReadyAddresses`",
            ));
        }
        for (j, a) in addrs.iter().enumerate() {
            endpoint_address(errs, a, &idx.child("addresses").index(j), valid_old);
        }
        for (j, a) in nr.iter().enumerate() {
            endpoint_address(errs, a, &idx.child("notReadyAddresses").index(j), valid_old);
        }
        let ports = ss.ports.as_deref().unwrap_or_default();
        for (j, p) in ports.iter().enumerate() {
            let pp = idx.child("ports").index(j);
            let name = s(p.name.as_ref());
            if ports.len() > 1 && name.is_empty() {
                errs.push(FieldError::required(&pp.child("name"), ""));
            } else if !name.is_empty() {
                dns_label(errs, name, &pp.child("name"));
            }
            push_invalid(
                errs,
                &pp.child("port"),
                p.port,
                names::port_num(i64::from(p.port)),
            );
            protocol(errs, p.protocol.as_ref(), &pp.child("protocol"));
            if let Some(ap) = &p.app_protocol {
                qualified_name(errs, ap, &pp.child("appProtocol"));
            }
        }
    }
}

/// `ValidateEndpoints` on create.
pub(super) fn validate_endpoints(e: &Endpoints) -> ErrorList {
    let mut errs = ErrorList::new();
    endpoint_subsets(&mut errs, e.subsets.as_deref().unwrap_or_default(), &[]);
    errs
}

/// `ValidateEndpointsUpdate`: addresses of an unchanged subset list are not re-validated.
pub(super) fn validate_endpoints_update(e: &Endpoints, old: &Endpoints) -> ErrorList {
    let mut errs = ErrorList::new();
    let valid_old: Vec<String> = if sem_eq(&e.subsets, &old.subsets) {
        old.subsets
            .iter()
            .flatten()
            .flat_map(|ss| {
                ss.addresses
                    .iter()
                    .flatten()
                    .chain(ss.not_ready_addresses.iter().flatten())
            })
            .map(|a| a.ip.clone())
            .collect()
    } else {
        Vec::new()
    };
    endpoint_subsets(
        &mut errs,
        e.subsets.as_deref().unwrap_or_default(),
        &valid_old,
    );
    errs
}

// ----------------------------------------------------------------------------------------------
// ConfigMap / Secret

const MAX_SECRET_SIZE: usize = 1024 * 1024;

/// `ValidateConfigMap` (data part).
pub(super) fn validate_config_map(cm: &ConfigMap) -> ErrorList {
    let mut errs = ErrorList::new();
    let mut total = 0usize;
    let binary = cm.binary_data.clone().unwrap_or_default();
    for (k, v) in cm.data.iter().flatten() {
        let p = Path::new("data").key(k);
        push_invalid(&mut errs, &p, k, config_map_key(k));
        if binary.contains_key(k) {
            errs.push(FieldError::invalid(
                &p,
                k,
                "duplicate of key present in binaryData",
            ));
        }
        total += v.len();
    }
    for (k, v) in &binary {
        push_invalid(
            &mut errs,
            &Path::new("binaryData").key(k),
            k,
            config_map_key(k),
        );
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&Path::new(""), MAX_SECRET_SIZE));
    }
    errs
}

/// `ValidateConfigMapUpdate` (immutability) followed by `ValidateConfigMap`.
pub(super) fn validate_config_map_update(cm: &ConfigMap, old: &ConfigMap) -> ErrorList {
    let mut errs = ErrorList::new();
    if old.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if cm.immutable != Some(true) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), msg));
        }
        if !sem_eq(&cm.data, &old.data) {
            errs.push(FieldError::forbidden(&Path::new("data"), msg));
        }
        if !sem_eq(&cm.binary_data, &old.binary_data) {
            errs.push(FieldError::forbidden(&Path::new("binaryData"), msg));
        }
    }
    errs.extend(validate_config_map(cm));
    errs
}

/// The error Go's `json.Unmarshal(b, &map[string]interface{}{})` reports, approximately.
fn go_json_map_error(b: &[u8]) -> Option<String> {
    match serde_json::from_slice::<serde_json::Value>(b) {
        Ok(serde_json::Value::Object(_) | serde_json::Value::Null) => None,
        Ok(v) => {
            let kind = match v {
                serde_json::Value::Array(_) => "array",
                serde_json::Value::String(_) => "string",
                serde_json::Value::Number(_) => "number",
                _ => "bool",
            };
            Some(format!(
                "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
            ))
        }
        Err(e) if e.is_eof() => Some("unexpected end of JSON input".to_owned()),
        Err(e) => {
            // Best effort at the offending character.
            let text = String::from_utf8_lossy(b);
            let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
            let c = line
                .chars()
                .nth(e.column().saturating_sub(1))
                .unwrap_or(' ');
            Some(format!(
                "invalid character '{c}' looking for beginning of value"
            ))
        }
    }
}

/// `ValidateSecret` (data and type-specific keys).
pub(super) fn validate_secret(sec: &Secret) -> ErrorList {
    let mut errs = ErrorList::new();
    let data_path = Path::new("data");
    let data = sec.data.clone().unwrap_or_default();
    let mut total = 0usize;
    for (k, v) in &data {
        push_invalid(&mut errs, &data_path.key(k), k, config_map_key(k));
        total += v.0.len();
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
    }
    let json_key = |errs: &mut ErrorList, key: &str| match data.get(key) {
        None => errs.push(FieldError::required(&data_path.key(key), "")),
        Some(b) => {
            if let Some(m) = go_json_map_error(&b.0) {
                errs.push(FieldError::invalid(
                    &data_path.key(key),
                    "<secret contents redacted>",
                    m,
                ));
            }
        }
    };
    match s(sec.type_.as_ref()) {
        "kubernetes.io/service-account-token" => {
            let has = sec
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/service-account.name"))
                .is_some_and(|v| !v.is_empty());
            if !has {
                errs.push(FieldError::required(
                    &Path::new("metadata")
                        .child("annotations")
                        .key("kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" => json_key(&mut errs, ".dockercfg"),
        "kubernetes.io/dockerconfigjson" => json_key(&mut errs, ".dockerconfigjson"),
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            errs.push(FieldError::required(&data_path.key("username"), ""));
            errs.push(FieldError::required(&data_path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if data.get("ssh-privatekey").is_none_or(|b| b.0.is_empty()) => {
            errs.push(FieldError::required(&data_path.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            if !data.contains_key("tls.crt") {
                errs.push(FieldError::required(&data_path.key("tls.crt"), ""));
            }
            if !data.contains_key("tls.key") {
                errs.push(FieldError::required(&data_path.key("tls.key"), ""));
            }
        }
        _ => {}
    }
    errs
}

/// `ValidateSecretUpdate`: type immutable, `immutable` rules, then `ValidateSecret`.
pub(super) fn validate_secret_update(sec: &Secret, old: &Secret) -> ErrorList {
    let mut errs = ErrorList::new();
    let nt = s(sec.type_.as_ref());
    if nt != s(old.type_.as_ref()) {
        errs.push(FieldError::invalid(&Path::new("type"), nt, IMMUTABLE));
    }
    if old.immutable == Some(true) {
        let msg = "field is immutable when `immutable` is set";
        if sec.immutable != Some(true) {
            errs.push(FieldError::forbidden(&Path::new("immutable"), msg));
        }
        if !sem_eq(&sec.data, &old.data) {
            errs.push(FieldError::forbidden(&Path::new("data"), msg));
        }
    }
    errs.extend(validate_secret(sec));
    errs
}

// ----------------------------------------------------------------------------------------------
// Event

/// `legacyValidateEvent` (core/v1 events get only this on create and update).
pub(super) fn validate_event(ev: &Event) -> ErrorList {
    let mut errs = ErrorList::new();
    let ns = s(ev.metadata.namespace.as_ref());
    let ins = s(ev.involved_object.namespace.as_ref());
    let mismatch = |errs: &mut ErrorList| {
        errs.push(FieldError::invalid(
            &Path::new("involvedObject").child("namespace"),
            ins,
            "does not match event.namespace",
        ));
    };
    if ev.event_time.is_none() {
        if ins.is_empty() {
            if !ns.is_empty() && ns != "default" {
                mismatch(&mut errs);
            }
        } else if ns != ins {
            mismatch(&mut errs);
        }
    } else {
        if ins.is_empty() && ns != "default" && ns != "kube-system" {
            mismatch(&mut errs);
        }
        let rc = s(ev.reporting_component.as_ref());
        if rc.is_empty() {
            errs.push(FieldError::required(&Path::new("reportingController"), ""));
        }
        push_invalid(
            &mut errs,
            &Path::new("reportingController"),
            rc,
            names::qualified_name(rc),
        );
        // ReportingInstanceLengthLimit, ActionLengthLimit, ReasonLengthLimit.
        let limited = [
            (&ev.reporting_instance, "reportingInstance"),
            (&ev.action, "action"),
            (&ev.reason, "reason"),
        ];
        for (v, name) in limited {
            let v = s(v.as_ref());
            if v.is_empty() {
                errs.push(FieldError::required(&Path::new(name), ""));
            }
            if v.len() > 128 {
                errs.push(FieldError::invalid(
                    &Path::new(name),
                    "",
                    "can have at most 128 characters",
                ));
            }
        }
        if s(ev.message.as_ref()).len() > 1024 {
            errs.push(FieldError::invalid(
                &Path::new("message"),
                "",
                "can have at most 1024 characters",
            ));
        }
    }
    push_invalid(
        &mut errs,
        &Path::new("namespace"),
        ns,
        names::dns1123_subdomain(ns),
    );
    errs
}

// ----------------------------------------------------------------------------------------------
// EndpointSlice

const MAX_ENDPOINTS: usize = 1000;
const MAX_ADDRESSES: usize = 100;
const MAX_PORTS: usize = 20000;
const MAX_TOPOLOGY_LABELS: usize = 16;
const MAX_ZONE_HINTS: usize = 8;

fn slice_ip(errs: &mut ErrorList, path: &Path, addr: &str, v4: bool, valid_old: &[String]) {
    if valid_old.iter().any(|o| o == addr) {
        return;
    }
    let before = errs.len();
    legacy_ip(errs, path, addr, &[]);
    if errs.len() > before {
        return;
    }
    if let Some(ip) = parse_ip_sloppy(addr) {
        if v4 && !ip.is_ipv4() {
            errs.push(FieldError::invalid(path, addr, "must be an IPv4 address"));
        }
        if !v4 && ip.is_ipv4() {
            errs.push(FieldError::invalid(path, addr, "must be an IPv6 address"));
        }
    }
    non_special_ip(errs, addr, path);
}

fn validate_slice(es: &EndpointSlice, valid_old: &[String]) -> ErrorList {
    let mut errs = ErrorList::new();
    let at_path = Path::new("addressType");
    match es.address_type.as_str() {
        "" => errs.push(FieldError::required(&at_path, "")),
        "IPv4" | "IPv6" | "FQDN" => {}
        other => errs.push(FieldError::not_supported(
            &at_path,
            other,
            &["FQDN", "IPv4", "IPv6"],
        )),
    }
    let ep_path = Path::new("endpoints");
    if es.endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(
            &ep_path,
            es.endpoints.len(),
            MAX_ENDPOINTS,
        ));
    } else {
        for (i, e) in es.endpoints.iter().enumerate() {
            let idx = ep_path.index(i);
            let ap = idx.child("addresses");
            if e.addresses.is_empty() {
                errs.push(FieldError::required(&ap, "must contain at least 1 address"));
            } else if e.addresses.len() > MAX_ADDRESSES {
                errs.push(FieldError::too_many(&ap, e.addresses.len(), MAX_ADDRESSES));
            }
            for (j, a) in e.addresses.iter().enumerate() {
                match es.address_type.as_str() {
                    "IPv4" => slice_ip(&mut errs, &ap.index(j), a, true, valid_old),
                    "IPv6" => slice_ip(&mut errs, &ap.index(j), a, false, valid_old),
                    "FQDN" => fqdn(&mut errs, &ap.index(j), a),
                    _ => {}
                }
            }
            if let Some(nn) = &e.node_name {
                dns_subdomain(&mut errs, nn, &idx.child("nodeName"));
            }
            let tp = idx.child("deprecatedTopology");
            let topo = e.deprecated_topology.clone().unwrap_or_default();
            if topo.len() > MAX_TOPOLOGY_LABELS {
                errs.push(FieldError::too_many(&tp, topo.len(), MAX_TOPOLOGY_LABELS));
            }
            validate_labels(&mut errs, e.deprecated_topology.as_ref(), &tp);
            if let Some(h) = &e.hostname {
                dns_label(&mut errs, h, &idx.child("hostname"));
            }
            if let Some(h) = &e.hints {
                let fz = idx.child("hints").child("forZones");
                let zones = h.for_zones.as_deref().unwrap_or_default();
                if zones.len() > MAX_ZONE_HINTS {
                    errs.push(FieldError::too_many(&fz, zones.len(), MAX_ZONE_HINTS));
                } else {
                    let mut seen = BTreeSet::new();
                    for (j, z) in zones.iter().enumerate() {
                        let zp = fz.index(j).child("name");
                        if !seen.insert(z.name.clone()) {
                            errs.push(FieldError::duplicate(&zp, &z.name));
                        }
                        push_invalid(&mut errs, &zp, &z.name, names::label_value(&z.name));
                    }
                }
            }
        }
    }
    let pp = Path::new("ports");
    let ports = es.ports.as_deref().unwrap_or_default();
    if ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many(&pp, ports.len(), MAX_PORTS));
        return errs;
    }
    let mut names_seen = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let idx = pp.index(i);
        let name = s(p.name.as_ref());
        if !name.is_empty() {
            dns_label(&mut errs, name, &idx.child("name"));
        }
        if !names_seen.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(&idx.child("name"), name));
        }
        match p.protocol.as_deref() {
            None => errs.push(FieldError::required(&idx.child("protocol"), "")),
            Some("TCP" | "UDP" | "SCTP") => {}
            Some(other) => errs.push(FieldError::not_supported(
                &idx.child("protocol"),
                other,
                &["SCTP", "TCP", "UDP"],
            )),
        }
        if let Some(ap) = &p.app_protocol {
            qualified_name(&mut errs, ap, &idx.child("appProtocol"));
        }
    }
    errs
}

/// `ValidateEndpointSliceCreate`.
pub(super) fn validate_endpoint_slice(es: &EndpointSlice) -> ErrorList {
    validate_slice(es, &[])
}

/// `ValidateEndpointSliceUpdate`: addresses are re-validated only when some changed;
/// `addressType` is immutable.
pub(super) fn validate_endpoint_slice_update(es: &EndpointSlice, old: &EndpointSlice) -> ErrorList {
    let old_ips: Vec<String> = old
        .endpoints
        .iter()
        .flat_map(|e| e.addresses.iter().cloned())
        .collect();
    let new_ips: Vec<String> = es
        .endpoints
        .iter()
        .flat_map(|e| e.addresses.iter().cloned())
        .collect();
    let valid_old = if old_ips == new_ips {
        old_ips
    } else {
        Vec::new()
    };
    let mut errs = validate_slice(es, &valid_old);
    if es.address_type != old.address_type {
        errs.push(FieldError::invalid(
            &Path::new("addressType"),
            &es.address_type,
            IMMUTABLE,
        ));
    }
    errs
}

// ----------------------------------------------------------------------------------------------
// Lease

/// `ValidateLeaseSpec`.
pub(super) fn validate_lease(l: &Lease) -> ErrorList {
    let mut errs = ErrorList::new();
    let p = Path::new("spec");
    let spec = l.spec.clone().unwrap_or_default();
    if let Some(d) = spec.lease_duration_seconds
        && d <= 0
    {
        errs.push(FieldError::invalid(
            &p.child("leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = spec.lease_transitions
        && t < 0
    {
        errs.push(FieldError::invalid(
            &p.child("leaseTransitions"),
            t,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(st) = &spec.strategy {
        let sp = p.child("strategy").child("strategy");
        if st.contains('/') {
            push_invalid(&mut errs, &sp, st, names::qualified_name(st));
        } else if st != "OldestEmulationVersion" {
            errs.push(FieldError::not_supported(
                &sp,
                st,
                &["OldestEmulationVersion"],
            ));
        }
    }
    if spec
        .preferred_holder
        .as_deref()
        .is_some_and(|h| !h.is_empty())
        && spec.strategy.as_deref().is_none_or(str::is_empty)
    {
        errs.push(FieldError::forbidden(
            &p.child("preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}
