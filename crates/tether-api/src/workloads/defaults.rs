//! Decode-time defaults: `SetObjectDefaults_*` from `pkg/apis/{core,apps,discovery}/v1`
//! (hand-written `SetDefaults_*` plus the generated/declarative ones), the v1 conversion
//! quirks that change what is stored (`serviceAccount` ↔ `serviceAccountName`, `podIP` ↔
//! `podIPs`, `podCIDR` ↔ `podCIDRs`, Secret `stringData` → `data`), and the always-present
//! empty structs Go serialises (`resources: {}`, Node `nodeInfo`, ...).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentStrategy, ReplicaSet, RollingUpdateDeployment,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ContainerPort, DaemonEndpoint, EndpointSubset, Endpoints, EnvVar, Event, EventSource,
    HTTPGetAction, HostIP, Lifecycle, Namespace, NamespaceStatus, Node, NodeDaemonEndpoints,
    NodeSpec, NodeStatus, NodeSystemInfo, ObjectFieldSelector, Pod, PodIP, PodSecurityContext,
    PodSpec, PodStatus, PodTemplateSpec, Probe, ResourceRequirements, Secret, Volume,
};
use k8s_openapi::api::discovery::v1::{EndpointConditions, EndpointSlice};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::util::{Qty, image_tag};

/// Whether an optional string is unset or empty (Go's `== ""`).
pub(super) fn empty(s: Option<&String>) -> bool {
    s.is_none_or(String::is_empty)
}

fn set_if_empty(s: &mut Option<String>, v: &str) {
    if empty(s.as_ref()) {
        *s = Some(v.to_owned());
    }
}

/// Container defaults shared by `Container` and `EphemeralContainer` (same field names).
macro_rules! container_defaults {
    ($c:expr) => {{
        let c = $c;
        if empty(c.image_pull_policy.as_ref()) {
            let tag = image_tag(c.image.as_deref().unwrap_or(""));
            c.image_pull_policy = Some(
                if tag.as_deref() == Some("latest") {
                    "Always"
                } else {
                    "IfNotPresent"
                }
                .to_owned(),
            );
        }
        set_if_empty(&mut c.termination_message_path, "/dev/termination-log");
        set_if_empty(&mut c.termination_message_policy, "File");
        for p in c.ports.iter_mut().flatten() {
            container_port(p);
        }
        for e in c.env.iter_mut().flatten() {
            env_var(e);
        }
        let res = c
            .resources
            .get_or_insert_with(ResourceRequirements::default);
        if let Some(r) = &mut res.limits {
            round_up_milli(r);
        }
        if let Some(r) = &mut res.requests {
            round_up_milli(r);
        }
        for p in [
            &mut c.liveness_probe,
            &mut c.readiness_probe,
            &mut c.startup_probe,
        ]
        .into_iter()
        .flatten()
        {
            probe(p);
        }
        if let Some(l) = &mut c.lifecycle {
            lifecycle(l);
        }
    }};
}

/// `SetObjectDefaults_Pod` plus the v1 ↔ internal status conversions.
pub(super) fn pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(PodSpec::default);
    // SetDefaults_Pod: requests default to limits (regular and init containers).
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        let res = c
            .resources
            .get_or_insert_with(ResourceRequirements::default);
        if let Some(limits) = &res.limits {
            let req = res.requests.get_or_insert_with(BTreeMap::new);
            for (k, v) in limits {
                req.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    if spec.enable_service_links.is_none() {
        spec.enable_service_links = Some(true);
    }
    if spec.host_network == Some(true) {
        for c in spec
            .containers
            .iter_mut()
            .chain(spec.init_containers.iter_mut().flatten())
        {
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.unwrap_or(0) == 0 {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
    pod_spec(spec);
    if let Some(st) = &mut pod.status {
        pod_status_ips(st);
    }
}

/// `Convert_v1_PodStatus_To_core_PodStatus` and back: `podIP`/`podIPs`, `hostIP`/`hostIPs`.
pub(super) fn pod_status_ips(st: &mut PodStatus) {
    if let Some(ip) = st.pod_ip.clone().filter(|s| !s.is_empty()) {
        let first = st.pod_ips.as_ref().and_then(|v| v.first()).map(|p| &p.ip);
        if first != Some(&ip) {
            st.pod_ips = Some(vec![PodIP { ip }]);
        }
    }
    st.pod_ip = st
        .pod_ips
        .as_ref()
        .and_then(|v| v.first())
        .map(|p| p.ip.clone());
    if let Some(ip) = st.host_ip.clone().filter(|s| !s.is_empty()) {
        let first = st.host_ips.as_ref().and_then(|v| v.first()).map(|p| &p.ip);
        if first != Some(&ip) {
            st.host_ips = Some(vec![HostIP { ip }]);
        }
    }
    st.host_ip = st
        .host_ips
        .as_ref()
        .and_then(|v| v.first())
        .map(|p| p.ip.clone());
}

/// `SetObjectDefaults_PodTemplate`-style defaults for an embedded template.
pub(super) fn pod_template(t: &mut PodTemplateSpec) {
    pod_spec(t.spec.get_or_insert_with(PodSpec::default));
}

/// `SetDefaults_PodSpec` and everything nested (volumes, containers, probes).
pub(super) fn pod_spec(spec: &mut PodSpec) {
    set_if_empty(&mut spec.dns_policy, "ClusterFirst");
    set_if_empty(&mut spec.restart_policy, "Always");
    if spec.security_context.is_none() {
        spec.security_context = Some(PodSecurityContext::default());
    }
    if spec.termination_grace_period_seconds.is_none() {
        spec.termination_grace_period_seconds = Some(30);
    }
    set_if_empty(&mut spec.scheduler_name, "default-scheduler");
    // serviceAccount is the deprecated alias of serviceAccountName.
    if empty(spec.service_account_name.as_ref()) {
        spec.service_account_name = spec.service_account.clone().filter(|s| !s.is_empty());
    }
    spec.service_account = spec.service_account_name.clone();

    for v in spec.volumes.iter_mut().flatten() {
        volume(v);
    }
    for c in spec.containers.iter_mut() {
        container_defaults!(c);
    }
    for c in spec.init_containers.iter_mut().flatten() {
        container_defaults!(c);
    }
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        container_defaults!(c);
    }
    if let Some(r) = &mut spec.overhead {
        round_up_milli(r);
    }
}

fn container_port(p: &mut ContainerPort) {
    set_if_empty(&mut p.protocol, "TCP");
}

fn env_var(e: &mut EnvVar) {
    if let Some(fr) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
        field_selector(fr);
    }
}

fn field_selector(fs: &mut ObjectFieldSelector) {
    set_if_empty(&mut fs.api_version, "v1");
}

/// `SetDefaults_ResourceList` (round up to milli precision) and the canonical re-rendering
/// every `Quantity` gets on output (`0.5` → `500m`, `2048Mi` → `2Gi`).
pub(super) fn round_up_milli(r: &mut BTreeMap<String, Quantity>) {
    for q in r.values_mut() {
        if let Some(v) = Qty::parse(&q.0) {
            q.0 = v.round_up_milli().canonical();
        }
    }
}

fn probe(p: &mut Probe) {
    if p.timeout_seconds.unwrap_or(0) == 0 {
        p.timeout_seconds = Some(1);
    }
    if p.period_seconds.unwrap_or(0) == 0 {
        p.period_seconds = Some(10);
    }
    if p.success_threshold.unwrap_or(0) == 0 {
        p.success_threshold = Some(1);
    }
    if p.failure_threshold.unwrap_or(0) == 0 {
        p.failure_threshold = Some(3);
    }
    if let Some(h) = &mut p.http_get {
        http_get(h);
    }
    if let Some(g) = &mut p.grpc
        && g.service.is_none()
    {
        g.service = Some(String::new());
    }
}

fn lifecycle(l: &mut Lifecycle) {
    for h in [&mut l.post_start, &mut l.pre_stop].into_iter().flatten() {
        if let Some(g) = &mut h.http_get {
            http_get(g);
        }
    }
}

fn http_get(h: &mut HTTPGetAction) {
    set_if_empty(&mut h.path, "/");
    set_if_empty(&mut h.scheme, "HTTP");
}

fn volume(v: &mut Volume) {
    let any_source = v.aws_elastic_block_store.is_some()
        || v.azure_disk.is_some()
        || v.azure_file.is_some()
        || v.cephfs.is_some()
        || v.cinder.is_some()
        || v.config_map.is_some()
        || v.csi.is_some()
        || v.downward_api.is_some()
        || v.empty_dir.is_some()
        || v.ephemeral.is_some()
        || v.fc.is_some()
        || v.flex_volume.is_some()
        || v.flocker.is_some()
        || v.gce_persistent_disk.is_some()
        || v.git_repo.is_some()
        || v.glusterfs.is_some()
        || v.host_path.is_some()
        || v.image.is_some()
        || v.iscsi.is_some()
        || v.nfs.is_some()
        || v.persistent_volume_claim.is_some()
        || v.photon_persistent_disk.is_some()
        || v.portworx_volume.is_some()
        || v.projected.is_some()
        || v.quobyte.is_some()
        || v.rbd.is_some()
        || v.scale_io.is_some()
        || v.secret.is_some()
        || v.storageos.is_some()
        || v.vsphere_volume.is_some();
    if !any_source {
        v.empty_dir = Some(Default::default());
    }
    if let Some(q) = v.empty_dir.as_mut().and_then(|e| e.size_limit.as_mut())
        && let Some(parsed) = Qty::parse(&q.0)
    {
        q.0 = parsed.canonical();
    }
    if let Some(h) = &mut v.host_path
        && h.type_.is_none()
    {
        h.type_ = Some(String::new());
    }
    if let Some(s) = &mut v.secret
        && s.default_mode.is_none()
    {
        s.default_mode = Some(0o644);
    }
    if let Some(s) = &mut v.config_map
        && s.default_mode.is_none()
    {
        s.default_mode = Some(0o644);
    }
    if let Some(d) = &mut v.downward_api {
        if d.default_mode.is_none() {
            d.default_mode = Some(0o644);
        }
        for f in d.items.iter_mut().flatten() {
            if let Some(fr) = &mut f.field_ref {
                field_selector(fr);
            }
        }
    }
    if let Some(p) = &mut v.projected {
        if p.default_mode.is_none() {
            p.default_mode = Some(0o644);
        }
        for s in p.sources.iter_mut().flatten() {
            if let Some(d) = &mut s.downward_api {
                for f in d.items.iter_mut().flatten() {
                    if let Some(fr) = &mut f.field_ref {
                        field_selector(fr);
                    }
                }
            }
            if let Some(t) = &mut s.service_account_token
                && t.expiration_seconds.is_none()
            {
                t.expiration_seconds = Some(3600);
            }
        }
    }
    if let Some(i) = &mut v.iscsi {
        set_if_empty(&mut i.iscsi_interface, "default");
    }
    if let Some(r) = &mut v.rbd {
        set_if_empty(&mut r.pool, "rbd");
        set_if_empty(&mut r.user, "admin");
        set_if_empty(&mut r.keyring, "/etc/ceph/keyring");
    }
    if let Some(a) = &mut v.azure_disk {
        set_if_empty(&mut a.caching_mode, "ReadWrite");
        set_if_empty(&mut a.fs_type, "ext4");
        set_if_empty(&mut a.kind, "Shared");
        if a.read_only.is_none() {
            a.read_only = Some(false);
        }
    }
    if let Some(s) = &mut v.scale_io {
        set_if_empty(&mut s.storage_mode, "ThinProvisioned");
        set_if_empty(&mut s.fs_type, "xfs");
    }
    if let Some(t) = v
        .ephemeral
        .as_mut()
        .and_then(|e| e.volume_claim_template.as_mut())
        && t.spec.volume_mode.is_none()
    {
        t.spec.volume_mode = Some("Filesystem".to_owned());
    }
}

/// `SetObjectDefaults_Deployment`.
pub(super) fn deployment(d: &mut Deployment) {
    let spec = d.spec.get_or_insert_with(Default::default);
    if spec.replicas.is_none() {
        spec.replicas = Some(1);
    }
    let strategy = spec
        .strategy
        .get_or_insert_with(DeploymentStrategy::default);
    if empty(strategy.type_.as_ref()) {
        strategy.type_ = Some("RollingUpdate".to_owned());
    }
    if strategy.type_.as_deref() == Some("RollingUpdate") {
        let ru = strategy
            .rolling_update
            .get_or_insert_with(RollingUpdateDeployment::default);
        if ru.max_unavailable.is_none() {
            ru.max_unavailable = Some(IntOrString::String("25%".to_owned()));
        }
        if ru.max_surge.is_none() {
            ru.max_surge = Some(IntOrString::String("25%".to_owned()));
        }
    }
    if spec.revision_history_limit.is_none() {
        spec.revision_history_limit = Some(10);
    }
    if spec.progress_deadline_seconds.is_none() {
        spec.progress_deadline_seconds = Some(600);
    }
    pod_template(&mut spec.template);
}

/// `SetObjectDefaults_ReplicaSet`.
pub(super) fn replica_set(rs: &mut ReplicaSet) {
    let spec = rs.spec.get_or_insert_with(Default::default);
    if spec.replicas.is_none() {
        spec.replicas = Some(1);
    }
    pod_template(spec.template.get_or_insert_with(PodTemplateSpec::default));
}

/// `SetObjectDefaults_Namespace`: the `kubernetes.io/metadata.name` label and phase `Active`.
pub(super) fn namespace(ns: &mut Namespace) {
    namespace_name_label(ns);
    let st = ns.status.get_or_insert_with(NamespaceStatus::default);
    set_if_empty(&mut st.phase, "Active");
}

/// Sets `kubernetes.io/metadata.name` to the name (defaulting and `Canonicalize`).
pub(super) fn namespace_name_label(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone().filter(|n| !n.is_empty()) {
        ns.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert("kubernetes.io/metadata.name".to_owned(), name);
    }
}

/// `SetObjectDefaults_Node`, the `podCIDR` ↔ `podCIDRs` conversion and the always-present
/// `daemonEndpoints`/`nodeInfo` structs.
pub(super) fn node(n: &mut Node) {
    let spec = n.spec.get_or_insert_with(NodeSpec::default);
    if let Some(c) = spec.pod_cidr.clone().filter(|s| !s.is_empty()) {
        let first = spec.pod_cidrs.as_ref().and_then(|v| v.first());
        if first != Some(&c) {
            spec.pod_cidrs = Some(vec![c]);
        }
    }
    spec.pod_cidr = spec.pod_cidrs.as_ref().and_then(|v| v.first()).cloned();
    let st = n.status.get_or_insert_with(NodeStatus::default);
    if st.allocatable.is_none()
        && let Some(c) = &st.capacity
    {
        st.allocatable = Some(c.clone());
    }
    for r in [&mut st.capacity, &mut st.allocatable]
        .into_iter()
        .flatten()
    {
        round_up_milli(r);
    }
    let de = st
        .daemon_endpoints
        .get_or_insert_with(NodeDaemonEndpoints::default);
    if de.kubelet_endpoint.is_none() {
        de.kubelet_endpoint = Some(DaemonEndpoint { port: 0 });
    }
    if st.node_info.is_none() {
        st.node_info = Some(NodeSystemInfo::default());
    }
}

/// `SetObjectDefaults_Secret` (type `Opaque`) and the `stringData` → `data` conversion.
pub(super) fn secret(s: &mut Secret) {
    if empty(s.type_.as_ref()) {
        s.type_ = Some("Opaque".to_owned());
    }
    if let Some(sd) = s.string_data.take() {
        let data = s.data.get_or_insert_with(BTreeMap::new);
        for (k, v) in sd {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
}

/// `SetObjectDefaults_Endpoints`: port protocol `TCP`.
pub(super) fn endpoints(e: &mut Endpoints) {
    for ss in e.subsets.iter_mut().flatten() {
        endpoint_subset(ss);
    }
}

fn endpoint_subset(ss: &mut EndpointSubset) {
    for p in ss.ports.iter_mut().flatten() {
        set_if_empty(&mut p.protocol, "TCP");
    }
}

/// `SetObjectDefaults_EndpointSlice`: port `name` `""` and `protocol` `TCP`; endpoint
/// `conditions` always present.
pub(super) fn endpoint_slice(es: &mut EndpointSlice) {
    for p in es.ports.iter_mut().flatten() {
        if p.name.is_none() {
            p.name = Some(String::new());
        }
        if p.protocol.is_none() {
            p.protocol = Some("TCP".to_owned());
        }
    }
    for e in &mut es.endpoints {
        if e.conditions.is_none() {
            e.conditions = Some(EndpointConditions::default());
        }
    }
}

/// core/v1 Event: the always-serialised `source`, `reportingComponent`, `reportingInstance`.
pub(super) fn event(e: &mut Event) {
    if e.source.is_none() {
        e.source = Some(EventSource::default());
    }
    if e.reporting_component.is_none() {
        e.reporting_component = Some(String::new());
    }
    if e.reporting_instance.is_none() {
        e.reporting_instance = Some(String::new());
    }
}

/// Lease: `spec` is always present.
pub(super) fn lease(l: &mut Lease) {
    if l.spec.is_none() {
        l.spec = Some(Default::default());
    }
}
