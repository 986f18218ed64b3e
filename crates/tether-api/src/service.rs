//! Services: decode-time defaults, IP-family initialisation, create/update preparation and
//! validation, as upstream kube-apiserver v1.33 does them.
//!
//! Sources followed (kubernetes/kubernetes):
//! - `pkg/apis/core/v1/defaults.go` `SetDefaults_Service` → [`set_defaults`];
//! - `pkg/registry/core/service/storage/alloc.go` `initIPFamilyFields` → [`init_ip_families`];
//! - `pkg/registry/core/service/strategy.go` `PrepareForCreate` / `PrepareForUpdate` /
//!   `dropTypeDependentFields`, and `storage/storage.go` `patchAllocatedValues` /
//!   `normalizeClusterIPs` → [`prepare_for_create`], [`prepare_for_update`];
//! - `pkg/apis/core/validation/validation.go` `ValidateService`, `ValidateServiceUpdate`,
//!   `ValidateServiceStatusUpdate` and helpers → [`validate`], [`validate_update`],
//!   [`validate_status_update`].
//!
//! Upstream validates its internal type; here the v1 type is validated after [`set_defaults`]
//! has run, so an absent optional field stands for the internal type's zero value (`""`, `0`,
//! nil). Values shown in messages are rendered the way upstream's `field.Error` prints them
//! (`%q` for strings, `%#v` for slices and structs, `null` for nil pointers).
//!
//! The order expected of callers, like upstream's registry: on create `set_defaults`,
//! `prepare_for_create`, `init_ip_families`, allocation, `validate`; on update `set_defaults`,
//! `prepare_for_update`, `init_ip_families`, allocation, `validate_update`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::api::core::v1::{
    ClientIPConfig, LoadBalancerStatus, Service, ServicePort, ServiceSpec, ServiceStatus,
    SessionAffinityConfig,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::field::{BadValue, ErrorList, FieldError, Path};
use crate::names;

const TYPE_CLUSTER_IP: &str = "ClusterIP";
const TYPE_NODE_PORT: &str = "NodePort";
const TYPE_LOAD_BALANCER: &str = "LoadBalancer";
const TYPE_EXTERNAL_NAME: &str = "ExternalName";
/// `sets.List(supportedServiceType)` (sorted).
const SUPPORTED_TYPES: &[&str] = &[
    TYPE_CLUSTER_IP,
    TYPE_EXTERNAL_NAME,
    TYPE_LOAD_BALANCER,
    TYPE_NODE_PORT,
];

const CLUSTER_IP_NONE: &str = "None";

const AFFINITY_NONE: &str = "None";
const AFFINITY_CLIENT_IP: &str = "ClientIP";
const SUPPORTED_AFFINITIES: &[&str] = &[AFFINITY_CLIENT_IP, AFFINITY_NONE];
/// `v1.DefaultClientIPServiceAffinitySeconds`.
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS: i32 = 10800;
/// `core.MaxClientIPServiceAffinitySeconds`.
const MAX_CLIENT_IP_AFFINITY_SECONDS: i32 = 86400;

const PROTOCOL_TCP: &str = "TCP";
/// `sets.List(supportedPortProtocols)` (sorted).
const SUPPORTED_PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];

const POLICY_CLUSTER: &str = "Cluster";
const POLICY_LOCAL: &str = "Local";
/// External and internal traffic policies, sorted.
const SUPPORTED_TRAFFIC_POLICIES: &[&str] = &[POLICY_CLUSTER, POLICY_LOCAL];

const IPV4: &str = "IPv4";
const IPV6: &str = "IPv6";
const SUPPORTED_IP_FAMILIES: &[&str] = &[IPV4, IPV6];

const SINGLE_STACK: &str = "SingleStack";
const PREFER_DUAL_STACK: &str = "PreferDualStack";
const REQUIRE_DUAL_STACK: &str = "RequireDualStack";
/// `sets.List(supportedServiceIPFamilyPolicy)` (sorted).
const SUPPORTED_IP_FAMILY_POLICIES: &[&str] =
    &[PREFER_DUAL_STACK, REQUIRE_DUAL_STACK, SINGLE_STACK];

/// `PreferClose` plus the `PreferSameTrafficDistribution` values, in upstream's order.
const SUPPORTED_TRAFFIC_DISTRIBUTIONS: &[&str] =
    &["PreferClose", "PreferSameZone", "PreferSameNode"];

const IP_MODE_VIP: &str = "VIP";
/// `sets.List(supportedLoadBalancerIPMode)` (sorted).
const SUPPORTED_IP_MODES: &[&str] = &["Proxy", IP_MODE_VIP];

const ANNOTATION_TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";
const ANNOTATION_TOPOLOGY_AWARE_HINTS: &str = "service.kubernetes.io/topology-aware-hints";
const ANNOTATION_LB_SOURCE_RANGES: &str = "service.beta.kubernetes.io/load-balancer-source-ranges";

const ONLY_LOAD_BALANCER: &str = "may only be used when `type` is 'LoadBalancer'";
const MAY_NOT_CHANGE: &str = "may not change once set";
const INVALID_IP_MSG: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
const INVALID_CIDR_MSG: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// An IP family of the cluster's service CIDRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    /// `IPv4`.
    V4,
    /// `IPv6`.
    V6,
}

impl IpFamily {
    /// The API spelling: `IPv4` or `IPv6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4 => IPV4,
            Self::V6 => IPV6,
        }
    }
}

/// Cluster IP configuration the registry knows (families of the configured service CIDRs,
/// primary first).
#[derive(Debug, Clone)]
pub struct ClusterIpConfig {
    /// Families of `--service-cluster-ip-range`, primary first.
    pub families: Vec<IpFamily>,
}

impl ClusterIpConfig {
    fn primary(&self) -> IpFamily {
        self.families.first().copied().unwrap_or(IpFamily::V4)
    }
    fn has(&self, family: &str) -> bool {
        self.families.iter().any(|f| f.as_str() == family)
    }
    /// `len(serviceIPAllocatorsByFamily)`: distinct families.
    fn family_count(&self) -> usize {
        let mut distinct: Vec<IpFamily> = Vec::new();
        for f in &self.families {
            if !distinct.contains(f) {
                distinct.push(*f);
            }
        }
        distinct.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Small accessors: the v1 type's options read as the internal type's zero values.

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

fn list(o: &Option<Vec<String>>) -> &[String] {
    o.as_deref().unwrap_or(&[])
}

fn spec_of(svc: &Service) -> Cow<'_, ServiceSpec> {
    match &svc.spec {
        Some(spec) => Cow::Borrowed(spec),
        None => Cow::Owned(ServiceSpec::default()),
    }
}

fn ports_of(spec: &ServiceSpec) -> &[ServicePort] {
    spec.ports.as_deref().unwrap_or(&[])
}

fn type_of(spec: &ServiceSpec) -> &str {
    s(&spec.type_)
}

fn node_port(p: &ServicePort) -> i32 {
    p.node_port.unwrap_or(0)
}

fn hcnp(spec: &ServiceSpec) -> i32 {
    spec.health_check_node_port.unwrap_or(0)
}

/// `apiservice.ExternallyAccessible`.
fn externally_accessible(spec: &ServiceSpec) -> bool {
    let ty = type_of(spec);
    ty == TYPE_LOAD_BALANCER
        || ty == TYPE_NODE_PORT
        || (ty == TYPE_CLUSTER_IP && !list(&spec.external_ips).is_empty())
}

/// `apiservice.NeedsHealthCheck` (= strategy's `needsHCNodePort`).
fn needs_health_check(spec: &ServiceSpec) -> bool {
    type_of(spec) == TYPE_LOAD_BALANCER && s(&spec.external_traffic_policy) == POLICY_LOCAL
}

/// Validation's `isHeadlessService`: exactly `clusterIPs: ["None"]`.
fn is_headless_cluster_ips(spec: &ServiceSpec) -> bool {
    matches!(list(&spec.cluster_ips), [only] if only == CLUSTER_IP_NONE)
}

/// The registry's `needsClusterIP`: anything but ExternalName (headless counts).
fn uses_cluster_ip(spec: &ServiceSpec) -> bool {
    type_of(spec) != TYPE_EXTERNAL_NAME
}

/// The registry's `needsNodePort`.
fn uses_node_port(spec: &ServiceSpec) -> bool {
    matches!(type_of(spec), TYPE_NODE_PORT | TYPE_LOAD_BALANCER)
}

// ---------------------------------------------------------------------------------------------
// Public predicates.

/// Whether the Service is headless (`clusterIP: None`).
pub fn is_headless(svc: &Service) -> bool {
    let spec = spec_of(svc);
    s(&spec.cluster_ip) == CLUSTER_IP_NONE
        || list(&spec.cluster_ips).first().map(String::as_str) == Some(CLUSTER_IP_NONE)
}

/// Whether cluster IPs must be allocated: not ExternalName and not headless.
pub fn needs_cluster_ip(svc: &Service) -> bool {
    let spec = spec_of(svc);
    type_of(&spec) != TYPE_EXTERNAL_NAME && !is_headless(svc)
}

/// Whether node ports must be allocated: NodePort, or LoadBalancer with
/// `allocateLoadBalancerNodePorts` not false (alloc.go `shouldAllocateNodePorts`).
pub fn needs_node_ports(svc: &Service) -> bool {
    let spec = spec_of(svc);
    match type_of(&spec) {
        TYPE_NODE_PORT => true,
        TYPE_LOAD_BALANCER => spec.allocate_load_balancer_node_ports != Some(false),
        _ => false,
    }
}

/// Whether a health-check node port is needed: LoadBalancer with `externalTrafficPolicy: Local`.
pub fn needs_health_check_node_port(svc: &Service) -> bool {
    needs_health_check(&spec_of(svc))
}

// ---------------------------------------------------------------------------------------------
// Defaulting (pkg/apis/core/v1/defaults.go SetDefaults_Service).

/// Decode-time defaults (`SetDefaults_Service`).
pub fn set_defaults(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(ServiceSpec::default);
    if s(&spec.session_affinity).is_empty() {
        spec.session_affinity = Some(AFFINITY_NONE.to_owned());
    }
    if s(&spec.session_affinity) == AFFINITY_NONE {
        spec.session_affinity_config = None;
    }
    if s(&spec.session_affinity) == AFFINITY_CLIENT_IP {
        let has_timeout = spec
            .session_affinity_config
            .as_ref()
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds)
            .is_some();
        if !has_timeout {
            spec.session_affinity_config = Some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(DEFAULT_CLIENT_IP_AFFINITY_SECONDS),
                }),
            });
        }
    }
    if type_of(spec).is_empty() {
        spec.type_ = Some(TYPE_CLUSTER_IP.to_owned());
    }
    for sp in spec.ports.iter_mut().flatten() {
        if s(&sp.protocol).is_empty() {
            sp.protocol = Some(PROTOCOL_TCP.to_owned());
        }
        let unset = match &sp.target_port {
            None => true,
            Some(IntOrString::Int(n)) => *n == 0,
            Some(IntOrString::String(v)) => v.is_empty(),
        };
        if unset {
            sp.target_port = Some(IntOrString::Int(sp.port));
        }
    }
    if externally_accessible(spec) && s(&spec.external_traffic_policy).is_empty() {
        spec.external_traffic_policy = Some(POLICY_CLUSTER.to_owned());
    }
    if spec.internal_traffic_policy.is_none()
        && matches!(
            type_of(spec),
            TYPE_NODE_PORT | TYPE_LOAD_BALANCER | TYPE_CLUSTER_IP
        )
    {
        spec.internal_traffic_policy = Some(POLICY_CLUSTER.to_owned());
    }
    let is_lb = type_of(spec) == TYPE_LOAD_BALANCER;
    if is_lb && spec.allocate_load_balancer_node_ports.is_none() {
        spec.allocate_load_balancer_node_ports = Some(true);
    }
    if is_lb {
        let ingress = svc
            .status
            .as_mut()
            .and_then(|st| st.load_balancer.as_mut())
            .and_then(|lb| lb.ingress.as_mut());
        for ing in ingress.into_iter().flatten() {
            if !s(&ing.ip).is_empty() && ing.ip_mode.is_none() {
                ing.ip_mode = Some(IP_MODE_VIP.to_owned());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IP family initialisation (storage/alloc.go initIPFamilyFields).

/// Defaults `ipFamilyPolicy` and `ipFamilies` from the cluster configuration and checks the
/// requested families are configured (`initIPFamilyFields`). Runs after `prepare_for_*` and
/// before allocation; a non-empty result is a 422 for the whole request.
pub fn init_ip_families(
    svc: &mut Service,
    old: Option<&Service>,
    cfg: &ClusterIpConfig,
) -> ErrorList {
    let old_spec = old.map(spec_of);
    let spec = svc.spec.get_or_insert_with(ServiceSpec::default);

    if type_of(spec) == TYPE_EXTERNAL_NAME {
        return ErrorList::new();
    }
    if is_matching_prefer_dual_stack(spec, old_spec.as_deref()) {
        return ErrorList::new();
    }

    if spec.ip_family_policy.is_none() {
        let old_policy = old_spec.as_ref().and_then(|o| o.ip_family_policy.clone());
        spec.ip_family_policy = Some(match old_policy {
            Some(p) => p,
            None if s(&spec.cluster_ip) == CLUSTER_IP_NONE && selector_is_empty(spec) => {
                REQUIRE_DUAL_STACK.to_owned()
            }
            None => SINGLE_STACK.to_owned(),
        });
    }

    let errs = cluster_ips_related_fields(spec);
    if !errs.is_empty() {
        return errs;
    }

    let mut errs = ErrorList::new();
    let policy_path = Path::new("spec").child("ipFamilyPolicy");

    if let Some(old_spec) = old_spec.as_deref() {
        if s(&spec.ip_family_policy) == SINGLE_STACK {
            if same_cluster_ips_list(old_spec, spec)
                && let Some(ips) = spec.cluster_ips.as_mut()
            {
                ips.truncate(1);
            }
            if same_ip_families_list(old_spec, spec)
                && let Some(fams) = spec.ip_families.as_mut()
            {
                fams.truncate(1);
            }
        } else {
            let new_ips = list(&spec.cluster_ips).len();
            if new_ips != 0 && new_ips < list(&old_spec.cluster_ips).len() {
                errs.push(FieldError::invalid(
                    &policy_path,
                    policy_value(&spec.ip_family_policy),
                    "must be 'SingleStack' to release the secondary cluster IP",
                ));
            }
            let new_fams = list(&spec.ip_families).len();
            if new_fams != 0 && new_fams < list(&old_spec.ip_families).len() {
                errs.push(FieldError::invalid(
                    &policy_path,
                    policy_value(&spec.ip_family_policy),
                    "must be 'SingleStack' to release the secondary IP family",
                ));
            }
        }
    }

    if s(&spec.ip_family_policy) == SINGLE_STACK {
        if list(&spec.cluster_ips).len() == 2 {
            errs.push(FieldError::invalid(
                &policy_path,
                policy_value(&spec.ip_family_policy),
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
            ));
        }
        if list(&spec.ip_families).len() == 2 {
            errs.push(FieldError::invalid(
                &policy_path,
                policy_value(&spec.ip_family_policy),
                "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
            ));
        }
    }

    // Infer ipFamilies[] from clusterIPs[].
    let cluster_ips = list(&spec.cluster_ips).to_vec();
    for (i, ip) in cluster_ips.iter().enumerate() {
        if ip == CLUSTER_IP_NONE {
            break;
        }
        if i >= list(&spec.ip_families).len() {
            let fam = family_of(ip).map_or("unknown", IpFamily::as_str);
            if cfg.has(fam) {
                spec.ip_families
                    .get_or_insert_with(Vec::new)
                    .push(fam.to_owned());
            } else {
                errs.push(FieldError::invalid(
                    &Path::new("spec").child("clusterIPs").index(i),
                    BadValue::Raw(go_slice("string", &spec.cluster_ips)),
                    format!("{fam} is not configured on this cluster"),
                ));
            }
        }
    }
    if !errs.is_empty() {
        return errs;
    }

    // Special case: headless + selectorless.
    if s(&spec.cluster_ip) == CLUSTER_IP_NONE && selector_is_empty(spec) {
        let fams = spec.ip_families.get_or_insert_with(Vec::new);
        if fams.is_empty() {
            fams.push(cfg.primary().as_str().to_owned());
        }
        if fams.len() < 2 && s(&spec.ip_family_policy) != SINGLE_STACK {
            let alt = if fams[0] == IPV4 { IPV6 } else { IPV4 };
            fams.push(alt.to_owned());
        }
        return ErrorList::new();
    }

    if s(&spec.ip_family_policy) == REQUIRE_DUAL_STACK && cfg.family_count() < 2 {
        errs.push(FieldError::invalid(
            &policy_path,
            policy_value(&spec.ip_family_policy),
            "this cluster is not configured for dual-stack services",
        ));
    }
    for (i, fam) in list(&spec.ip_families).iter().enumerate() {
        if !cfg.has(fam) {
            errs.push(FieldError::invalid(
                &Path::new("spec").child("ipFamilies").index(i),
                fam,
                "not configured on this cluster",
            ));
        }
    }
    if !errs.is_empty() {
        return errs;
    }

    let fams = spec.ip_families.get_or_insert_with(Vec::new);
    if fams.is_empty() {
        fams.push(cfg.primary().as_str().to_owned());
    }
    if s(&spec.ip_family_policy) != SINGLE_STACK && fams.len() == 1 && cfg.family_count() == 2 {
        if fams[0] == IPV4 {
            fams.push(IPV6.to_owned());
        } else if fams[0] == IPV6 {
            fams.push(IPV4.to_owned());
        }
    }
    ErrorList::new()
}

fn selector_is_empty(spec: &ServiceSpec) -> bool {
    spec.selector.as_ref().is_none_or(BTreeMap::is_empty)
}

/// alloc.go `isMatchingPreferDualStackClusterIPFields`.
fn is_matching_prefer_dual_stack(spec: &ServiceSpec, old: Option<&ServiceSpec>) -> bool {
    let Some(old) = old else {
        return false;
    };
    let Some(policy) = spec.ip_family_policy.as_deref() else {
        return false;
    };
    if type_of(old) != type_of(spec) {
        return false;
    }
    if !matches!(
        type_of(spec),
        TYPE_CLUSTER_IP | TYPE_NODE_PORT | TYPE_LOAD_BALANCER
    ) {
        return false;
    }
    if policy != PREFER_DUAL_STACK {
        return false;
    }
    if old
        .ip_family_policy
        .as_deref()
        .is_some_and(|p| p != PREFER_DUAL_STACK)
    {
        return false;
    }
    same_cluster_ips_list(old, spec) && same_ip_families_list(old, spec)
}

/// alloc.go `sameClusterIPs`: the plural lists only.
fn same_cluster_ips_list(a: &ServiceSpec, b: &ServiceSpec) -> bool {
    list(&a.cluster_ips) == list(&b.cluster_ips)
}

/// alloc.go `sameIPFamilies`.
fn same_ip_families_list(a: &ServiceSpec, b: &ServiceSpec) -> bool {
    list(&a.ip_families) == list(&b.ip_families)
}

// ---------------------------------------------------------------------------------------------
// Create / update preparation (strategy.go, storage.go).

/// `PrepareForCreate`: clears `status`, then syncs `clusterIPs` with `clusterIP`
/// (`normalizeClusterIPs`, run by upstream's `beginCreate`).
pub fn prepare_for_create(svc: &mut Service) {
    svc.status = Some(empty_status());
    let spec = svc.spec.get_or_insert_with(ServiceSpec::default);
    normalize_cluster_ips(spec, None);
}

/// `PrepareForUpdate`: keeps the old `status`, restores allocated values the client left
/// unset (`patchAllocatedValues`), syncs `clusterIPs` with `clusterIP`
/// (`normalizeClusterIPs`) and wipes fields the new type no longer uses
/// (`dropTypeDependentFields`).
pub fn prepare_for_update(new: &mut Service, old: &Service) {
    new.status.clone_from(&old.status);
    let old_spec = spec_of(old);
    let spec = new.spec.get_or_insert_with(ServiceSpec::default);
    patch_allocated_values(spec, &old_spec);
    normalize_cluster_ips(spec, Some(&old_spec));
    drop_type_dependent_fields(new, &old_spec);
}

fn empty_status() -> ServiceStatus {
    ServiceStatus {
        conditions: None,
        load_balancer: Some(LoadBalancerStatus::default()),
    }
}

/// storage.go `patchAllocatedValues`.
fn patch_allocated_values(spec: &mut ServiceSpec, old: &ServiceSpec) {
    if uses_cluster_ip(old) && uses_cluster_ip(spec) {
        if s(&spec.cluster_ip).is_empty() {
            spec.cluster_ip.clone_from(&old.cluster_ip);
        }
        if list(&spec.cluster_ips).is_empty() && !list(&old.cluster_ips).is_empty() {
            spec.cluster_ips.clone_from(&old.cluster_ips);
        }
    }

    if uses_node_port(old) && uses_node_port(spec) {
        let used_by = |ports: &[ServicePort]| -> BTreeSet<i32> {
            ports.iter().map(node_port).filter(|&n| n != 0).collect()
        };
        let old_used = used_by(ports_of(old));
        let new_used = used_by(ports_of(spec));
        let used: BTreeSet<i32> = old_used.intersection(&new_used).copied().collect();

        let mut by_name: HashMap<&str, i32> = HashMap::new();
        for p in ports_of(old) {
            by_name.insert(s(&p.name), node_port(p));
        }
        for p in spec.ports.iter_mut().flatten() {
            if node_port(p) == 0 {
                let old_val = by_name.get(s(&p.name)).copied().unwrap_or(0);
                if old_val != 0 && !used.contains(&old_val) {
                    p.node_port = Some(old_val);
                }
            }
        }
    }

    if needs_health_check(old) && needs_health_check(spec) && hcnp(spec) == 0 {
        spec.health_check_node_port = old.health_check_node_port;
    }
}

/// storage.go `normalizeClusterIPs`.
fn normalize_cluster_ips(spec: &mut ServiceSpec, old: Option<&ServiceSpec>) {
    let Some(old) = old else {
        if !s(&spec.cluster_ip).is_empty() && list(&spec.cluster_ips).is_empty() {
            spec.cluster_ips = Some(vec![s(&spec.cluster_ip).to_owned()]);
        }
        return;
    };

    if !list(&old.cluster_ips).is_empty()
        && list(&spec.cluster_ips).is_empty()
        && s(&old.cluster_ip) == s(&spec.cluster_ip)
    {
        spec.cluster_ips.clone_from(&old.cluster_ips);
    }

    if s(&old.cluster_ip) != s(&spec.cluster_ip) {
        if !s(&old.cluster_ip).is_empty() && s(&spec.cluster_ip).is_empty() {
            if same_cluster_ips_list(old, spec) {
                spec.cluster_ips = None;
            }
        } else if same_cluster_ips_list(old, spec) {
            spec.cluster_ips = Some(vec![s(&spec.cluster_ip).to_owned()]);
        }
    }
}

/// strategy.go `dropTypeDependentFields`.
fn drop_type_dependent_fields(new: &mut Service, old: &ServiceSpec) {
    let spec = new.spec.get_or_insert_with(ServiceSpec::default);

    if uses_cluster_ip(old) && !uses_cluster_ip(spec) {
        // strategy.go sameClusterIPs: singular and plural.
        if s(&old.cluster_ip) == s(&spec.cluster_ip) && same_cluster_ips_list(old, spec) {
            spec.cluster_ip = None;
            spec.cluster_ips = None;
        }
        // reflect.DeepEqual: nil and empty differ.
        if old.ip_families == spec.ip_families {
            spec.ip_families = None;
        }
        if s(&old.ip_family_policy) == s(&spec.ip_family_policy) {
            spec.ip_family_policy = None;
        }
    }

    if uses_node_port(old) && !uses_node_port(spec) && same_node_ports(old, spec) {
        for p in spec.ports.iter_mut().flatten() {
            p.node_port = None;
        }
    }

    if needs_health_check(old) && !needs_health_check(spec) && hcnp(old) == hcnp(spec) {
        spec.health_check_node_port = None;
    }

    let old_lb = type_of(old) == TYPE_LOAD_BALANCER;
    let new_lb = type_of(spec) == TYPE_LOAD_BALANCER;
    if old_lb && !new_lb {
        if old.allocate_load_balancer_node_ports.is_some()
            && old.allocate_load_balancer_node_ports == spec.allocate_load_balancer_node_ports
        {
            spec.allocate_load_balancer_node_ports = None;
        }
        if old.load_balancer_class == spec.load_balancer_class {
            spec.load_balancer_class = None;
        }
    }

    if externally_accessible(old)
        && !externally_accessible(spec)
        && s(&old.external_traffic_policy) == s(&spec.external_traffic_policy)
    {
        spec.external_traffic_policy = None;
    }

    if !new_lb {
        new.status.get_or_insert_with(empty_status).load_balancer =
            Some(LoadBalancerStatus::default());
    }
}

/// strategy.go `sameNodePorts`: no net-new node port values.
fn same_node_ports(old: &ServiceSpec, new: &ServiceSpec) -> bool {
    let old_ports: HashSet<i32> = ports_of(old)
        .iter()
        .map(node_port)
        .filter(|&n| n != 0)
        .collect();
    ports_of(new)
        .iter()
        .map(node_port)
        .filter(|&n| n != 0)
        .all(|n| old_ports.contains(&n))
}

// ---------------------------------------------------------------------------------------------
// Validation (pkg/apis/core/validation/validation.go).

/// `ValidateService` without `ObjectMeta` (the name is checked elsewhere), but with the
/// Service-specific annotation checks.
pub fn validate(svc: &Service) -> ErrorList {
    let spec = spec_of(svc);
    let spec = spec.as_ref();
    let mut errs = ErrorList::new();

    if let Some(ann) = svc.metadata.annotations.as_ref()
        && let (Some(mode), Some(hints)) = (
            ann.get(ANNOTATION_TOPOLOGY_MODE),
            ann.get(ANNOTATION_TOPOLOGY_AWARE_HINTS),
        )
        && mode != hints
    {
        errs.push(FieldError::invalid(
            &Path::new("metadata")
                .child("annotations")
                .key(ANNOTATION_TOPOLOGY_MODE),
            mode,
            format!(
                "must match annotations[{ANNOTATION_TOPOLOGY_AWARE_HINTS}] when both are specified"
            ),
        ));
    }

    let spec_path = Path::new("spec");
    let ty = type_of(spec);
    let headless = is_headless_cluster_ips(spec);
    let ports = ports_of(spec);
    let cluster_ips = list(&spec.cluster_ips);

    if ports.is_empty() && !headless && ty != TYPE_EXTERNAL_NAME {
        errs.push(FieldError::required(&spec_path.child("ports"), ""));
    }

    match ty {
        TYPE_LOAD_BALANCER | TYPE_NODE_PORT if headless => {
            errs.push(FieldError::invalid(
                &spec_path.child("clusterIPs").index(0),
                &cluster_ips[0],
                format!("may not be set to 'None' for {ty} services"),
            ));
        }
        TYPE_EXTERNAL_NAME => {
            if !cluster_ips.is_empty() {
                errs.push(FieldError::forbidden(
                    &spec_path.child("clusterIPs"),
                    "may not be set for ExternalName services",
                ));
            }
            if !list(&spec.ip_families).is_empty() {
                errs.push(FieldError::forbidden(
                    &spec_path.child("ipFamilies"),
                    "may not be set for ExternalName services",
                ));
            }
            if spec.ip_family_policy.is_some() {
                errs.push(FieldError::forbidden(
                    &spec_path.child("ipFamilyPolicy"),
                    "may not be set for ExternalName services",
                ));
            }
            let name = s(&spec.external_name);
            let cname = name.strip_suffix('.').unwrap_or(name);
            let path = spec_path.child("externalName");
            if cname.is_empty() {
                errs.push(FieldError::required(&path, ""));
            } else {
                for msg in names::dns1123_subdomain(cname) {
                    errs.push(FieldError::invalid(&path, cname, msg));
                }
            }
        }
        _ => {}
    }

    let ports_path = spec_path.child("ports");
    let mut port_names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        validate_service_port(
            port,
            ports.len() > 1,
            &mut port_names,
            &ports_path.index(i),
            &mut errs,
        );
    }

    if let Some(selector) = spec.selector.as_ref() {
        validate_labels(selector, &spec_path.child("selector"), &mut errs);
    }

    let affinity = s(&spec.session_affinity);
    let affinity_path = spec_path.child("sessionAffinity");
    if affinity.is_empty() {
        errs.push(FieldError::required(&affinity_path, ""));
    } else if !SUPPORTED_AFFINITIES.contains(&affinity) {
        errs.push(FieldError::not_supported(
            &affinity_path,
            affinity,
            SUPPORTED_AFFINITIES,
        ));
    }
    let config_path = spec_path.child("sessionAffinityConfig");
    if affinity == AFFINITY_CLIENT_IP {
        validate_client_ip_affinity(
            spec.session_affinity_config.as_ref(),
            &config_path,
            &mut errs,
        );
    } else if affinity == AFFINITY_NONE && spec.session_affinity_config.is_some() {
        errs.push(FieldError::forbidden(
            &config_path,
            format!("must not be set when session affinity is {AFFINITY_NONE}"),
        ));
    }

    errs.extend(cluster_ips_related_fields(spec));

    let external_ips_path = spec_path.child("externalIPs");
    for (i, ip) in list(&spec.external_ips).iter().enumerate() {
        let path = external_ips_path.index(i);
        let ip_errs = is_valid_ip(&path, ip);
        if ip_errs.is_empty() {
            validate_non_special_ip(ip, &path, &mut errs);
        } else {
            errs.extend(ip_errs);
        }
    }

    let type_path = spec_path.child("type");
    if ty.is_empty() {
        errs.push(FieldError::required(&type_path, ""));
    } else if !SUPPORTED_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(&type_path, ty, SUPPORTED_TYPES));
    }

    if ty == TYPE_CLUSTER_IP {
        for (i, port) in ports.iter().enumerate() {
            if node_port(port) != 0 {
                errs.push(FieldError::forbidden(
                    &ports_path.index(i).child("nodePort"),
                    "may not be used when `type` is 'ClusterIP'",
                ));
            }
        }
    }

    // Duplicate node ports, keyed by (protocol, nodePort).
    let mut seen_node_ports = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let np = node_port(port);
        if np == 0 {
            continue;
        }
        if !seen_node_ports.insert((s(&port.protocol), np)) {
            errs.push(FieldError::duplicate(
                &ports_path.index(i).child("nodePort"),
                np,
            ));
        }
    }

    // Duplicate ports, keyed by (protocol, port).
    let mut seen_ports = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let protocol = s(&port.protocol);
        if !seen_ports.insert((protocol, port.port)) {
            errs.push(FieldError::duplicate(
                &ports_path.index(i),
                BadValue::Raw(service_port_key_literal(protocol, port.port)),
            ));
        }
    }

    let source_ranges = list(&spec.load_balancer_source_ranges);
    if !source_ranges.is_empty() {
        // Upstream's path is capitalised (validation.go).
        let path = spec_path.child("LoadBalancerSourceRanges");
        if ty != TYPE_LOAD_BALANCER {
            errs.push(FieldError::forbidden(&path, ONLY_LOAD_BALANCER));
        }
        for (idx, value) in source_ranges.iter().enumerate() {
            // Space padding is tolerated for historical reasons.
            errs.extend(is_valid_cidr(&path.index(idx), value.trim()));
        }
    } else if let Some(val) = svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_LB_SOURCE_RANGES))
    {
        let path = Path::new("metadata")
            .child("annotations")
            .key(ANNOTATION_LB_SOURCE_RANGES);
        if ty != TYPE_LOAD_BALANCER {
            errs.push(FieldError::forbidden(&path, ONLY_LOAD_BALANCER));
        }
        let val = val.trim();
        if !val.is_empty() {
            for value in val.split(',') {
                errs.extend(is_valid_cidr(&path, value.trim()));
            }
        }
    }

    if spec.allocate_load_balancer_node_ports.is_some() && ty != TYPE_LOAD_BALANCER {
        errs.push(FieldError::forbidden(
            &spec_path.child("allocateLoadBalancerNodePorts"),
            ONLY_LOAD_BALANCER,
        ));
    }
    if ty == TYPE_LOAD_BALANCER && spec.allocate_load_balancer_node_ports.is_none() {
        // Upstream's path lacks the `spec.` prefix (validation.go).
        errs.push(FieldError::required(
            &Path::new("allocateLoadBalancerNodePorts"),
            "",
        ));
    }

    validate_load_balancer_class(None, spec, &mut errs);
    validate_external_traffic_policy(spec, &mut errs);
    validate_internal_traffic_policy(spec, &mut errs);

    if let Some(td) = spec.traffic_distribution.as_deref()
        && !SUPPORTED_TRAFFIC_DISTRIBUTIONS.contains(&td)
    {
        errs.push(FieldError::not_supported(
            &spec_path.child("trafficDistribution"),
            td,
            SUPPORTED_TRAFFIC_DISTRIBUTIONS,
        ));
    }

    errs
}

/// `validateServicePort`.
fn validate_service_port(
    sp: &ServicePort,
    require_name: bool,
    all_names: &mut BTreeSet<String>,
    path: &Path,
    errs: &mut ErrorList,
) {
    let name = s(&sp.name);
    let name_path = path.child("name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else if !name.is_empty() {
        for msg in names::dns1123_label(name) {
            errs.push(FieldError::invalid(&name_path, name, msg));
        }
        if !all_names.insert(name.to_owned()) {
            errs.push(FieldError::duplicate(&name_path, name));
        }
    }

    for msg in names::port_num(i64::from(sp.port)) {
        errs.push(FieldError::invalid(&path.child("port"), sp.port, msg));
    }

    let protocol = s(&sp.protocol);
    let protocol_path = path.child("protocol");
    if protocol.is_empty() {
        errs.push(FieldError::required(&protocol_path, ""));
    } else if !SUPPORTED_PROTOCOLS.contains(&protocol) {
        errs.push(FieldError::not_supported(
            &protocol_path,
            protocol,
            SUPPORTED_PROTOCOLS,
        ));
    }

    // ValidatePortNumOrName; an absent targetPort is the internal type's Int 0.
    let target_path = path.child("targetPort");
    match &sp.target_port {
        None => {
            for msg in names::port_num(0) {
                errs.push(FieldError::invalid(&target_path, 0, msg));
            }
        }
        Some(IntOrString::Int(n)) => {
            for msg in names::port_num(i64::from(*n)) {
                errs.push(FieldError::invalid(&target_path, *n, msg));
            }
        }
        Some(IntOrString::String(v)) => {
            for msg in names::port_name(v) {
                errs.push(FieldError::invalid(&target_path, v, msg));
            }
        }
    }

    if let Some(app) = sp.app_protocol.as_deref() {
        for msg in names::qualified_name(app) {
            errs.push(FieldError::invalid(&path.child("appProtocol"), app, msg));
        }
    }
}

/// `unversionedvalidation.ValidateLabels`: every error on the map's own path.
fn validate_labels(labels: &BTreeMap<String, String>, path: &Path, errs: &mut ErrorList) {
    for (k, v) in labels {
        for msg in names::qualified_name(k) {
            errs.push(FieldError::invalid(path, k, msg));
        }
        for msg in names::label_value(v) {
            errs.push(FieldError::invalid(path, v, msg));
        }
    }
}

/// `validateClientIPAffinityConfig` and `validateAffinityTimeout`.
fn validate_client_ip_affinity(
    config: Option<&SessionAffinityConfig>,
    path: &Path,
    errs: &mut ErrorList,
) {
    let detail = format!("when session affinity type is {AFFINITY_CLIENT_IP}");
    let Some(config) = config else {
        errs.push(FieldError::required(path, detail));
        return;
    };
    let client_ip_path = path.child("clientIP");
    let Some(client_ip) = config.client_ip.as_ref() else {
        errs.push(FieldError::required(&client_ip_path, detail));
        return;
    };
    let timeout_path = client_ip_path.child("timeoutSeconds");
    let Some(timeout) = client_ip.timeout_seconds else {
        errs.push(FieldError::required(&timeout_path, detail));
        return;
    };
    if timeout <= 0 || timeout > MAX_CLIENT_IP_AFFINITY_SECONDS {
        errs.push(FieldError::invalid(
            &timeout_path,
            timeout,
            format!("must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"),
        ));
    }
}

/// `ValidateServiceClusterIPsRelatedFields` (also the loose pre-validation of
/// `initIPFamilyFields`).
fn cluster_ips_related_fields(spec: &ServiceSpec) -> ErrorList {
    let mut errs = ErrorList::new();
    if type_of(spec) == TYPE_EXTERNAL_NAME {
        return errs;
    }
    let spec_path = Path::new("spec");
    let cluster_ips_path = spec_path.child("clusterIPs");
    let ip_families_path = spec_path.child("ipFamilies");
    let cluster_ip = s(&spec.cluster_ip);
    let cluster_ips = list(&spec.cluster_ips);
    let cluster_ips_value = || BadValue::Raw(go_slice("string", &spec.cluster_ips));

    if !cluster_ip.is_empty() {
        if cluster_ips.is_empty() {
            errs.push(FieldError::required(&cluster_ips_path, ""));
        } else if cluster_ips[0] != cluster_ip {
            errs.push(FieldError::invalid(
                &cluster_ips_path,
                cluster_ips_value(),
                "first value must match `clusterIP`",
            ));
        }
    } else if !cluster_ips.is_empty() {
        errs.push(FieldError::invalid(
            &cluster_ips_path,
            cluster_ips_value(),
            "must be empty when `clusterIP` is not specified",
        ));
    }

    let mut seen = HashSet::new();
    for (i, family) in list(&spec.ip_families).iter().enumerate() {
        if !SUPPORTED_IP_FAMILIES.contains(&family.as_str()) {
            errs.push(FieldError::not_supported(
                &ip_families_path.index(i),
                family,
                SUPPORTED_IP_FAMILIES,
            ));
        }
        if !seen.insert(family.as_str()) {
            errs.push(FieldError::duplicate(&ip_families_path.index(i), family));
        }
    }

    if let Some(policy) = spec.ip_family_policy.as_deref()
        && !SUPPORTED_IP_FAMILY_POLICIES.contains(&policy)
    {
        errs.push(FieldError::not_supported(
            &spec_path.child("ipFamilyPolicy"),
            policy,
            SUPPORTED_IP_FAMILY_POLICIES,
        ));
    }

    let mut has_invalid_ips = false;
    for (i, ip) in cluster_ips.iter().enumerate() {
        if i == 0 && ip == CLUSTER_IP_NONE {
            if cluster_ips.len() > 1 {
                has_invalid_ips = true;
                errs.push(FieldError::invalid(
                    &cluster_ips_path,
                    cluster_ips_value(),
                    "'None' must be the first and only value",
                ));
            }
            continue;
        }
        let ip_errs = is_valid_ip(&cluster_ips_path.index(i), ip);
        has_invalid_ips |= !ip_errs.is_empty();
        errs.extend(ip_errs);
    }

    if cluster_ips.len() > 2 {
        errs.push(FieldError::invalid(
            &cluster_ips_path,
            cluster_ips_value(),
            "may only hold up to 2 values",
        ));
    }

    if has_invalid_ips {
        return errs;
    }

    if cluster_ips.len() > 1 && !is_dual_stack(cluster_ips) {
        errs.push(FieldError::invalid(
            &cluster_ips_path,
            cluster_ips_value(),
            "may specify no more than one IP for each IP family",
        ));
    }

    let families = list(&spec.ip_families);
    if !is_headless_cluster_ips(spec) && !cluster_ips.is_empty() && !families.is_empty() {
        for (i, ip) in cluster_ips.iter().enumerate() {
            let Some(family) = families.get(i) else {
                break;
            };
            let v6 = is_ipv6_string(ip);
            if family == IPV4 && v6 {
                errs.push(FieldError::invalid(
                    &cluster_ips_path.index(i),
                    ip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if family == IPV6 && !v6 {
                errs.push(FieldError::invalid(
                    &cluster_ips_path.index(i),
                    ip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }

    errs
}

/// `validateLoadBalancerClassField`.
fn validate_load_balancer_class(
    old: Option<&ServiceSpec>,
    spec: &ServiceSpec,
    errs: &mut ErrorList,
) {
    let path = Path::new("spec").child("loadBalancerClass");
    let is_lb = type_of(spec) == TYPE_LOAD_BALANCER;
    if let Some(old) = old
        && type_of(old) == TYPE_LOAD_BALANCER
        && is_lb
        && old.load_balancer_class != spec.load_balancer_class
    {
        errs.push(FieldError::invalid(
            &path,
            ptr_value(&spec.load_balancer_class),
            MAY_NOT_CHANGE,
        ));
    }
    if let Some(class) = spec.load_balancer_class.as_deref() {
        if is_lb {
            for msg in names::qualified_name(class) {
                errs.push(FieldError::invalid(&path, class, msg));
            }
        } else {
            errs.push(FieldError::forbidden(&path, ONLY_LOAD_BALANCER));
        }
    }
}

/// `validateServiceExternalTrafficPolicy`.
fn validate_external_traffic_policy(spec: &ServiceSpec, errs: &mut ErrorList) {
    let spec_path = Path::new("spec");
    let etp_path = spec_path.child("externalTrafficPolicy");
    let etp = s(&spec.external_traffic_policy);
    if !externally_accessible(spec) {
        if !etp.is_empty() {
            errs.push(FieldError::invalid(
                &etp_path,
                etp,
                "may only be set for externally-accessible services",
            ));
        }
    } else if etp.is_empty() {
        errs.push(FieldError::required(&etp_path, ""));
    } else if !SUPPORTED_TRAFFIC_POLICIES.contains(&etp) {
        errs.push(FieldError::not_supported(
            &etp_path,
            etp,
            SUPPORTED_TRAFFIC_POLICIES,
        ));
    }

    let hc_path = spec_path.child("healthCheckNodePort");
    let hc = hcnp(spec);
    if !needs_health_check(spec) {
        if hc != 0 {
            errs.push(FieldError::invalid(
                &hc_path,
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        }
    } else if hc == 0 {
        errs.push(FieldError::required(&hc_path, ""));
    } else {
        for msg in names::port_num(i64::from(hc)) {
            errs.push(FieldError::invalid(&hc_path, hc, msg));
        }
    }
}

/// `validateServiceInternalTrafficFieldsValue`.
fn validate_internal_traffic_policy(spec: &ServiceSpec, errs: &mut ErrorList) {
    let path = Path::new("spec").child("internalTrafficPolicy");
    match spec.internal_traffic_policy.as_deref() {
        None => {
            if matches!(
                type_of(spec),
                TYPE_NODE_PORT | TYPE_LOAD_BALANCER | TYPE_CLUSTER_IP
            ) {
                errs.push(FieldError::required(&path, ""));
            }
        }
        Some(itp) => {
            if !SUPPORTED_TRAFFIC_POLICIES.contains(&itp) {
                errs.push(FieldError::not_supported(
                    &path,
                    itp,
                    SUPPORTED_TRAFFIC_POLICIES,
                ));
            }
        }
    }
}

/// `ValidateServiceUpdate` (without `ObjectMeta`): IP and family upgrade/downgrade rules,
/// `loadBalancerClass` immutability, `healthCheckNodePort` immutability, then [`validate`].
pub fn validate_update(new: &Service, old: &Service) -> ErrorList {
    let new_spec = spec_of(new);
    let old_spec = spec_of(old);
    let mut errs = ErrorList::new();
    upgrade_downgrade_cluster_ips(&old_spec, &new_spec, &mut errs);
    upgrade_downgrade_ip_families(&old_spec, &new_spec, &mut errs);
    validate_load_balancer_class(Some(&old_spec), &new_spec, &mut errs);
    if needs_health_check(&old_spec)
        && needs_health_check(&new_spec)
        && hcnp(&new_spec) != hcnp(&old_spec)
    {
        errs.push(FieldError::forbidden(
            &Path::new("spec").child("healthCheckNodePort"),
            "field is immutable",
        ));
    }
    errs.extend(validate(new));
    errs
}

/// `validateUpgradeDowngradeClusterIPs`.
fn upgrade_downgrade_cluster_ips(old: &ServiceSpec, new: &ServiceSpec, errs: &mut ErrorList) {
    if type_of(new) == TYPE_EXTERNAL_NAME || type_of(old) == TYPE_EXTERNAL_NAME {
        return;
    }
    if is_headless_cluster_ips(old) && is_headless_cluster_ips(new) {
        return;
    }
    let path = Path::new("spec").child("clusterIPs");
    let value = || BadValue::Raw(go_slice("string", &new.cluster_ips));
    let old_ips = list(&old.cluster_ips);
    let new_ips = list(&new.cluster_ips);
    match old_ips.len().cmp(&new_ips.len()) {
        std::cmp::Ordering::Equal => {
            for (i, ip) in old_ips.iter().enumerate() {
                if *ip != new_ips[i] {
                    errs.push(FieldError::invalid(&path.index(i), value(), MAY_NOT_CHANGE));
                }
            }
        }
        std::cmp::Ordering::Greater => {
            if new_ips.is_empty() {
                errs.push(FieldError::invalid(
                    &path.index(0),
                    value(),
                    "primary clusterIP can not be unset",
                ));
            }
            if !old_ips.is_empty() && !new_ips.is_empty() && new_ips[0] != old_ips[0] {
                errs.push(FieldError::invalid(&path.index(0), value(), MAY_NOT_CHANGE));
            }
            if new_ips.len() == 1 && s(&new.ip_family_policy) != SINGLE_STACK {
                errs.push(FieldError::invalid(
                    &Path::new("spec").child("ipFamilyPolicy"),
                    policy_value(&new.ip_family_policy),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        }
        std::cmp::Ordering::Less => {
            if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
                errs.push(FieldError::invalid(&path.index(0), value(), MAY_NOT_CHANGE));
            }
        }
    }
}

/// `validateUpgradeDowngradeIPFamilies`, quirks included (the family error is always on
/// `ipFamilies[0]`, some show `clusterIPs` as the value).
fn upgrade_downgrade_ip_families(old: &ServiceSpec, new: &ServiceSpec, errs: &mut ErrorList) {
    if type_of(new) == TYPE_EXTERNAL_NAME || type_of(old) == TYPE_EXTERNAL_NAME {
        return;
    }
    let old_headless = is_headless_cluster_ips(old);
    let new_headless = is_headless_cluster_ips(new);
    if old_headless != new_headless || new_headless {
        return;
    }
    let path = Path::new("spec").child("ipFamilies").index(0);
    let families_value = || BadValue::Raw(go_slice("core.IPFamily", &new.ip_families));
    let cluster_ips_value = || BadValue::Raw(go_slice("string", &new.cluster_ips));
    let old_fams = list(&old.ip_families);
    let new_fams = list(&new.ip_families);
    match old_fams.len().cmp(&new_fams.len()) {
        std::cmp::Ordering::Equal => {
            for (i, fam) in old_fams.iter().enumerate() {
                if *fam != new_fams[i] {
                    errs.push(FieldError::invalid(&path, families_value(), MAY_NOT_CHANGE));
                }
            }
        }
        std::cmp::Ordering::Greater => {
            if list(&new.cluster_ips).is_empty() {
                errs.push(FieldError::invalid(
                    &path,
                    families_value(),
                    "primary ipFamily can not be unset",
                ));
            }
            if !new_fams.is_empty() && new_fams[0] != old_fams[0] {
                errs.push(FieldError::invalid(
                    &path,
                    cluster_ips_value(),
                    MAY_NOT_CHANGE,
                ));
            }
            if new_fams.len() == 1 && s(&new.ip_family_policy) != SINGLE_STACK {
                errs.push(FieldError::invalid(
                    &Path::new("spec").child("ipFamilyPolicy"),
                    policy_value(&new.ip_family_policy),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                ));
            }
        }
        std::cmp::Ordering::Less => {
            if !old_fams.is_empty() && !new_fams.is_empty() && new_fams[0] != old_fams[0] {
                errs.push(FieldError::invalid(
                    &path,
                    cluster_ips_value(),
                    MAY_NOT_CHANGE,
                ));
            }
        }
    }
}

/// `ValidateServiceStatusUpdate` (without `ObjectMeta`): `ValidateLoadBalancerStatus` with
/// `LoadBalancerIPMode` on and `AllowServiceLBStatusOnNonLB` off. The status strategy keeps
/// the old `spec` (`newService.Spec = oldService.Spec`), so `spec.type` is read from `old`.
pub fn validate_status_update(new: &Service, old: &Service) -> ErrorList {
    let spec = spec_of(old);
    let mut errs = ErrorList::new();
    let ingress_path = Path::new("status").child("loadBalancer").child("ingress");
    let ingress = new
        .status
        .as_ref()
        .and_then(|st| st.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_deref())
        .unwrap_or(&[]);
    if type_of(&spec) != TYPE_LOAD_BALANCER && !ingress.is_empty() {
        errs.push(FieldError::forbidden(
            &ingress_path,
            "may only be used when `spec.type` is 'LoadBalancer'",
        ));
        return errs;
    }
    for (i, ing) in ingress.iter().enumerate() {
        let idx_path = ingress_path.index(i);
        let ip = s(&ing.ip);
        if !ip.is_empty() {
            errs.extend(is_valid_ip(&idx_path.child("ip"), ip));
        }
        let mode_path = idx_path.child("ipMode");
        match ing.ip_mode.as_deref() {
            None => {
                if !ip.is_empty() {
                    errs.push(FieldError::required(
                        &mode_path,
                        "must be specified when `ip` is set",
                    ));
                }
            }
            Some(_) if ip.is_empty() => {
                errs.push(FieldError::forbidden(
                    &mode_path,
                    "may not be specified when `ip` is not set",
                ));
            }
            Some(mode) => {
                if !SUPPORTED_IP_MODES.contains(&mode) {
                    errs.push(FieldError::not_supported(
                        &mode_path,
                        mode,
                        SUPPORTED_IP_MODES,
                    ));
                }
            }
        }
        let hostname = s(&ing.hostname);
        if !hostname.is_empty() {
            let host_path = idx_path.child("hostname");
            for msg in names::dns1123_subdomain(hostname) {
                errs.push(FieldError::invalid(&host_path, hostname, msg));
            }
            if parse_ip_sloppy(hostname).is_some() {
                errs.push(FieldError::invalid(
                    &host_path,
                    hostname,
                    "must be a DNS name, not an IP address",
                ));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------------------------------------
// IP syntax, as `k8s.io/utils/net` (Go 1.16 `net.ParseIP` semantics: IPv4 octets may have
// leading zeros) and `apimachinery/pkg/util/validation/ip.go`.

fn parse_ipv4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut n: u32 = 0;
        for b in part.bytes() {
            n = n * 10 + u32::from(b - b'0');
            if n > 255 {
                return None;
            }
        }
        *octet = u8::try_from(n).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

fn parse_ipv6_sloppy(s: &str) -> Option<Ipv6Addr> {
    if s.contains('.') {
        // An embedded IPv4 tail may itself be sloppy.
        let (head, tail) = s.rsplit_once(':')?;
        let v4 = parse_ipv4_sloppy(tail)?;
        format!("{head}:{v4}").parse().ok()
    } else {
        s.parse().ok()
    }
}

/// `netutils.ParseIPSloppy`, with IPv4-mapped IPv6 seen as IPv4 (Go's `To4()`).
fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    match s.bytes().find(|&b| b == b'.' || b == b':')? {
        b'.' => parse_ipv4_sloppy(s).map(IpAddr::V4),
        _ => {
            let v6 = parse_ipv6_sloppy(s)?;
            Some(match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            })
        }
    }
}

fn family_of(ip: &str) -> Option<IpFamily> {
    parse_ip_sloppy(ip).map(|ip| match ip {
        IpAddr::V4(_) => IpFamily::V4,
        IpAddr::V6(_) => IpFamily::V6,
    })
}

/// `netutils.IsIPv6String`.
fn is_ipv6_string(ip: &str) -> bool {
    family_of(ip) == Some(IpFamily::V6)
}

/// `netutils.IsDualStackIPStrings` for already-valid IPs.
fn is_dual_stack(ips: &[String]) -> bool {
    let fams: Vec<Option<IpFamily>> = ips.iter().map(|ip| family_of(ip)).collect();
    fams.contains(&Some(IpFamily::V4)) && fams.contains(&Some(IpFamily::V6))
}

/// `validation.IsValidIP`.
fn is_valid_ip(path: &Path, value: &str) -> ErrorList {
    if parse_ip_sloppy(value).is_some() {
        ErrorList::new()
    } else {
        vec![FieldError::invalid(path, value, INVALID_IP_MSG)]
    }
}

/// `validation.IsValidCIDR` (`netutils.ParseCIDRSloppy`).
fn is_valid_cidr(path: &Path, value: &str) -> ErrorList {
    if parse_cidr_sloppy(value) {
        ErrorList::new()
    } else {
        vec![FieldError::invalid(path, value, INVALID_CIDR_MSG)]
    }
}

fn parse_cidr_sloppy(s: &str) -> bool {
    let Some((addr, mask)) = s.split_once('/') else {
        return false;
    };
    let bits: u32 = if parse_ipv4_sloppy(addr).is_some() {
        32
    } else if parse_ipv6_sloppy(addr).is_some() {
        128
    } else {
        return false;
    };
    if mask.is_empty() || !mask.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut n: u32 = 0;
    for b in mask.bytes() {
        n = n * 10 + u32::from(b - b'0');
        if n > bits {
            return false;
        }
    }
    true
}

/// `ValidateNonSpecialIP` for an already-valid IP.
fn validate_non_special_ip(value: &str, path: &Path, errs: &mut ErrorList) {
    let Some(ip) = parse_ip_sloppy(value) else {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a valid IP address",
        ));
        return;
    };
    let (unspecified, loopback, link_local, link_local_multicast) = match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            (
                v4.is_unspecified(),
                o[0] == 127,
                o[0] == 169 && o[1] == 254,
                o[0] == 224 && o[1] == 0 && o[2] == 0,
            )
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            (
                v6.is_unspecified(),
                v6.is_loopback(),
                o[0] == 0xfe && (o[1] & 0xc0) == 0x80,
                o[0] == 0xff && (o[1] & 0x0f) == 0x02,
            )
        }
    };
    if unspecified {
        errs.push(FieldError::invalid(
            path,
            value,
            format!("may not be unspecified ({value})"),
        ));
    }
    if loopback {
        errs.push(FieldError::invalid(
            path,
            value,
            "may not be in the loopback range (127.0.0.0/8, ::1/128)",
        ));
    }
    if link_local {
        errs.push(FieldError::invalid(
            path,
            value,
            "may not be in the link-local range (169.254.0.0/16, fe80::/10)",
        ));
    }
    if link_local_multicast {
        errs.push(FieldError::invalid(
            path,
            value,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering of values as Go's `%#v` / `%q` print them in `field.Error`.

/// `strconv.Quote`, close enough for API strings.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 || c == '\x7f' => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `%#v` of a string slice: `[]string(nil)`, `[]string{}`, `[]string{"a", "b"}`.
fn go_slice(elem: &str, values: &Option<Vec<String>>) -> String {
    match values {
        None => format!("[]{elem}(nil)"),
        Some(v) => {
            let items: Vec<String> = v.iter().map(|x| go_quote(x)).collect();
            format!("[]{elem}{{{}}}", items.join(", "))
        }
    }
}

/// A nil pointer prints `null`; a set one prints its (string) value quoted.
fn ptr_value(value: &Option<String>) -> BadValue {
    match value {
        None => BadValue::Raw("null".to_owned()),
        Some(v) => BadValue::Str(v.clone()),
    }
}

fn policy_value(policy: &Option<String>) -> BadValue {
    ptr_value(policy)
}

/// `%#v` of the `(protocol, port)` key used for duplicate-port detection.
fn service_port_key_literal(protocol: &str, port: i32) -> String {
    format!(
        "core.ServicePort{{Name:\"\", Protocol:{}, AppProtocol:(*string)(nil), Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}",
        go_quote(protocol)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use k8s_openapi::api::core::v1::LoadBalancerIngress;

    fn port(name: &str, port: i32) -> ServicePort {
        ServicePort {
            name: (!name.is_empty()).then(|| name.to_owned()),
            port,
            ..ServicePort::default()
        }
    }

    fn svc(ty: &str, ports: Vec<ServicePort>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                type_: Some(ty.to_owned()),
                ports: Some(ports),
                selector: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    fn v4() -> ClusterIpConfig {
        ClusterIpConfig {
            families: vec![IpFamily::V4],
        }
    }

    fn dual() -> ClusterIpConfig {
        ClusterIpConfig {
            families: vec![IpFamily::V4, IpFamily::V6],
        }
    }

    /// Defaults and create-prepares, as the API server does before allocation.
    fn created(mut s: Service) -> Service {
        set_defaults(&mut s);
        prepare_for_create(&mut s);
        s
    }

    /// A created service with IP families initialised on a single-stack IPv4 cluster and the
    /// given cluster IP "allocated".
    fn stored(s: Service, ip: &str) -> Service {
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        if let Some(spec) = s.spec.as_mut()
            && spec.cluster_ip.is_none()
        {
            spec.cluster_ip = Some(ip.to_owned());
            spec.cluster_ips = Some(vec![ip.to_owned()]);
        }
        s
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn spec_mut(s: &mut Service) -> &mut ServiceSpec {
        s.spec.get_or_insert_with(ServiceSpec::default)
    }

    #[test]
    fn valid_cluster_ip_service_has_no_errors() {
        // validation.go ValidateService on a defaulted, allocated ClusterIP service.
        let s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        assert_eq!(msgs(&validate(&s)), Vec::<String>::new());
    }

    #[test]
    fn defaults() {
        // pkg/apis/core/v1/defaults.go SetDefaults_Service
        let mut s = Service::default();
        spec_mut(&mut s).ports = Some(vec![port("", 8080)]);
        set_defaults(&mut s);
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(spec.session_affinity.as_deref(), Some("None"));
        assert_eq!(spec.internal_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(spec.external_traffic_policy, None);
        let p = &ports_of(spec)[0];
        assert_eq!(p.protocol.as_deref(), Some("TCP"));
        assert_eq!(p.target_port, Some(IntOrString::Int(8080)));

        let mut lb = svc("LoadBalancer", vec![port("", 80)]);
        lb.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![LoadBalancerIngress {
                    ip: Some("1.2.3.4".to_owned()),
                    ..LoadBalancerIngress::default()
                }]),
            }),
            conditions: None,
        });
        set_defaults(&mut lb);
        let spec = lb.spec.as_ref().expect("spec");
        assert_eq!(spec.external_traffic_policy.as_deref(), Some("Cluster"));
        assert_eq!(spec.allocate_load_balancer_node_ports, Some(true));
        let ing = &lb
            .status
            .as_ref()
            .expect("status")
            .load_balancer
            .as_ref()
            .expect("lb")
            .ingress
            .as_ref()
            .expect("ingress")[0];
        assert_eq!(ing.ip_mode.as_deref(), Some("VIP"));

        // ExternalName gets no internalTrafficPolicy; ClusterIP with externalIPs gets an ETP.
        let mut en = svc("ExternalName", vec![]);
        set_defaults(&mut en);
        assert_eq!(
            en.spec.as_ref().expect("spec").internal_traffic_policy,
            None
        );
        let mut ext = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut ext).external_ips = Some(vec!["1.2.3.4".to_owned()]);
        set_defaults(&mut ext);
        assert_eq!(
            ext.spec
                .as_ref()
                .expect("spec")
                .external_traffic_policy
                .as_deref(),
            Some("Cluster")
        );
    }

    #[test]
    fn ports_required() {
        // validation.go ValidateService: field.Required(specPath.Child("ports"), "")
        let s = stored(svc("ClusterIP", vec![]), "10.0.0.10");
        assert_eq!(msgs(&validate(&s)), ["spec.ports: Required value"]);
    }

    #[test]
    fn port_out_of_range() {
        // validation.go validateServicePort + IsValidPortNum ("must be between 1 and 65535,
        // inclusive"); targetPort was defaulted to the same number.
        let s = stored(svc("ClusterIP", vec![port("", 0)]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            ]
        );
        let mut p = port("", 70000);
        p.target_port = Some(IntOrString::Int(8080));
        let s = stored(svc("ClusterIP", vec![p]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            ["spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"]
        );
    }

    #[test]
    fn duplicate_ports() {
        // validation.go: field.Duplicate(portPath, core.ServicePort{Protocol, Port}); message as
        // printed by kube-apiserver (`kubectl create svc clusterip two-ports --tcp 80:80,443,443`).
        let s = stored(
            svc("ClusterIP", vec![port("a", 443), port("b", 443)]),
            "10.0.0.10",
        );
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:443, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}"#
            ]
        );
        // Same port, other protocol: fine.
        let mut udp = port("b", 443);
        udp.protocol = Some("UDP".to_owned());
        let s = stored(svc("ClusterIP", vec![port("a", 443), udp]), "10.0.0.10");
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn port_names() {
        // validation.go validateServicePort: Required when more than one port, DNS-1123 label,
        // unique.
        let s = stored(
            svc(
                "ClusterIP",
                vec![
                    port("http", 80),
                    port("", 81),
                    port("Https", 443),
                    port("http", 82),
                ],
            ),
            "10.0.0.10",
        );
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.ports[1].name: Required value",
                "spec.ports[2].name: Invalid value: \"Https\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.ports[3].name: Duplicate value: \"http\"",
            ]
        );
        // A single port needs no name.
        let s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn target_port() {
        // defaults.go: targetPort 0 / "" defaults to port.
        let mut p = port("", 80);
        p.target_port = Some(IntOrString::String(String::new()));
        let s = created(svc("ClusterIP", vec![p]));
        assert_eq!(
            ports_of(s.spec.as_ref().expect("spec"))[0].target_port,
            Some(IntOrString::Int(80))
        );

        // validation.go ValidatePortNumOrName -> IsValidPortName.
        let mut p = port("", 80);
        p.target_port = Some(IntOrString::String("-http".to_owned()));
        let mut long = port("b", 81);
        long.target_port = Some(IntOrString::String("abcdefghijklmnop".to_owned()));
        let mut p0 = p;
        p0.name = Some("a".to_owned());
        let s = stored(svc("ClusterIP", vec![p0, long]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.ports[0].targetPort: Invalid value: \"-http\": must not begin or end with a hyphen",
                "spec.ports[1].targetPort: Invalid value: \"abcdefghijklmnop\": must be no more than 15 characters",
            ]
        );
        let mut named = port("", 80);
        named.target_port = Some(IntOrString::String("http-alt".to_owned()));
        assert!(validate(&stored(svc("ClusterIP", vec![named]), "10.0.0.10")).is_empty());
    }

    #[test]
    fn node_port_on_cluster_ip_is_forbidden() {
        // validation.go: "may not be used when `type` is 'ClusterIP'"
        let mut p = port("", 80);
        p.node_port = Some(30080);
        let s = stored(svc("ClusterIP", vec![p]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]
        );
    }

    #[test]
    fn duplicate_node_ports() {
        // validation.go: field.Duplicate(portPath.Child("nodePort"), port.NodePort)
        let mut a = port("a", 80);
        a.node_port = Some(30080);
        let mut b = port("b", 81);
        b.node_port = Some(30080);
        let s = stored(svc("NodePort", vec![a, b]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            ["spec.ports[1].nodePort: Duplicate value: 30080"]
        );
    }

    #[test]
    fn unsupported_type() {
        // validation.go: field.NotSupported(specPath.Child("type"), ..., sets.List(supportedServiceType))
        let s = stored(svc("Foo", vec![port("", 80)]), "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
            ]
        );
    }

    #[test]
    fn headless_node_port_and_load_balancer() {
        // validation.go: "may not be set to 'None' for NodePort services" / "... LoadBalancer services"
        let mut np = svc("NodePort", vec![port("", 80)]);
        spec_mut(&mut np).cluster_ip = Some("None".to_owned());
        let np = created(np);
        assert_eq!(
            msgs(&validate(&np)),
            [
                r#"spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services"#
            ]
        );
        let mut lb = svc("LoadBalancer", vec![port("", 80)]);
        spec_mut(&mut lb).cluster_ip = Some("None".to_owned());
        let lb = created(lb);
        assert_eq!(
            msgs(&validate(&lb)),
            [
                r#"spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for LoadBalancer services"#
            ]
        );
    }

    #[test]
    fn headless_with_ports_and_no_target_port() {
        // validation.go validateServicePort: target ports of headless services are tolerated;
        // defaults.go gives targetPort = port.
        let mut s = svc("ClusterIP", vec![port("", 5432)]);
        spec_mut(&mut s).cluster_ip = Some("None".to_owned());
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ips, Some(vec!["None".to_owned()]));
        assert_eq!(ports_of(spec)[0].target_port, Some(IntOrString::Int(5432)));
        assert_eq!(msgs(&validate(&s)), Vec::<String>::new());
        // Headless needs no ports at all.
        let mut s = svc("ClusterIP", vec![]);
        spec_mut(&mut s).cluster_ip = Some("None".to_owned());
        let s = created(s);
        assert!(validate(&s).is_empty());
        assert!(is_headless(&s) && !needs_cluster_ip(&s));
    }

    #[test]
    fn external_name() {
        // validation.go ValidateService, case core.ServiceTypeExternalName.
        let s = created(svc("ExternalName", vec![]));
        assert_eq!(msgs(&validate(&s)), ["spec.externalName: Required value"]);

        let mut s = svc("ExternalName", vec![]);
        let spec = spec_mut(&mut s);
        spec.external_name = Some("db.example.com.".to_owned());
        spec.cluster_ip = Some("10.0.0.10".to_owned());
        spec.ip_families = Some(vec!["IPv4".to_owned()]);
        spec.ip_family_policy = Some("SingleStack".to_owned());
        let s = created(s);
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.clusterIPs: Forbidden: may not be set for ExternalName services",
                "spec.ipFamilies: Forbidden: may not be set for ExternalName services",
                "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services",
            ]
        );

        let mut s = svc("ExternalName", vec![]);
        spec_mut(&mut s).external_name = Some("Bad_Name".to_owned());
        let s = created(s);
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.externalName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#
            ]
        );
        // ExternalName is left alone by initIPFamilyFields.
        let mut s = svc("ExternalName", vec![]);
        spec_mut(&mut s).external_name = Some("db.example.com".to_owned());
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        assert_eq!(s.spec.as_ref().expect("spec").ip_family_policy, None);
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn external_traffic_policy_local_on_cluster_ip() {
        // validation.go validateServiceExternalTrafficPolicy.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).external_traffic_policy = Some("Local".to_owned());
        let s = stored(s, "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services"#
            ]
        );
    }

    #[test]
    fn health_check_node_port() {
        // validation.go validateServiceExternalTrafficPolicy / validateServiceExternalTrafficFieldsUpdate.
        let mut s = svc("LoadBalancer", vec![port("", 80)]);
        spec_mut(&mut s).external_traffic_policy = Some("Local".to_owned());
        let s = stored(s, "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            ["spec.healthCheckNodePort: Required value"]
        );
        assert!(needs_health_check_node_port(&s) && needs_node_ports(&s));

        let mut s = svc("NodePort", vec![port("", 80)]);
        spec_mut(&mut s).health_check_node_port = Some(30000);
        let s = stored(s, "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.healthCheckNodePort: Invalid value: 30000: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"
            ]
        );

        let mut old = svc("LoadBalancer", vec![port("", 80)]);
        let spec = spec_mut(&mut old);
        spec.external_traffic_policy = Some("Local".to_owned());
        spec.health_check_node_port = Some(30001);
        let old = stored(old, "10.0.0.10");
        let mut new = old.clone();
        spec_mut(&mut new).health_check_node_port = Some(30002);
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            ["spec.healthCheckNodePort: Forbidden: field is immutable"]
        );
        // Left unset on update: kept from the old object (patchAllocatedValues).
        let mut new = old.clone();
        spec_mut(&mut new).health_check_node_port = None;
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        assert_eq!(
            new.spec.as_ref().expect("spec").health_check_node_port,
            Some(30001)
        );
        assert!(validate_update(&new, &old).is_empty());
    }

    #[test]
    fn session_affinity() {
        // defaults.go: ClientIP gets timeoutSeconds 10800.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).session_affinity = Some("ClientIP".to_owned());
        let s = stored(s, "10.0.0.10");
        let timeout = s
            .spec
            .as_ref()
            .and_then(|sp| sp.session_affinity_config.as_ref())
            .and_then(|c| c.client_ip.as_ref())
            .and_then(|c| c.timeout_seconds);
        assert_eq!(timeout, Some(10800));
        assert!(validate(&s).is_empty());

        // validation.go validateAffinityTimeout: bounds 1..=86400.
        let with_timeout = |t: i32| {
            let mut s = svc("ClusterIP", vec![port("", 80)]);
            let spec = spec_mut(&mut s);
            spec.session_affinity = Some("ClientIP".to_owned());
            spec.session_affinity_config = Some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(t),
                }),
            });
            msgs(&validate(&stored(s, "10.0.0.10")))
        };
        assert_eq!(
            with_timeout(0),
            [
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"
            ]
        );
        assert_eq!(
            with_timeout(86401),
            [
                "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"
            ]
        );
        assert!(with_timeout(86400).is_empty());
        assert!(with_timeout(1).is_empty());

        // validation.go: unsupported affinity; config with None (defaulting drops it, so only
        // a non-defaulted object shows it).
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).session_affinity = Some("Sticky".to_owned());
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None""#
            ]
        );
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).session_affinity_config = Some(SessionAffinityConfig::default());
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"
            ]
        );
    }

    #[test]
    fn load_balancer_source_ranges() {
        // validation.go: the path is capitalised upstream.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).load_balancer_source_ranges =
            Some(vec!["10.0.0.0/8".to_owned(), " foo ".to_owned()]);
        let s = stored(s, "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
                r#"spec.LoadBalancerSourceRanges[1]: Invalid value: "foo": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"#,
            ]
        );
        let mut s = svc("LoadBalancer", vec![port("", 80)]);
        spec_mut(&mut s).load_balancer_source_ranges =
            Some(vec![" 10.0.0.0/8".to_owned(), "2001:db8::/64".to_owned()]);
        assert!(validate(&stored(s, "10.0.0.10")).is_empty());

        let mut s = svc("ClusterIP", vec![port("", 80)]);
        s.metadata.annotations = Some(BTreeMap::from([(
            ANNOTATION_LB_SOURCE_RANGES.to_owned(),
            "1.2.3.0/24, nope".to_owned(),
        )]));
        assert_eq!(
            msgs(&validate(&stored(s, "10.0.0.10"))),
            [
                "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: may only be used when `type` is 'LoadBalancer'",
                r#"metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"#,
            ]
        );
    }

    #[test]
    fn allocate_load_balancer_node_ports() {
        // validation.go: Required on the path "allocateLoadBalancerNodePorts" (no "spec."),
        // Forbidden on other types.
        let mut s = stored(svc("LoadBalancer", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).allocate_load_balancer_node_ports = None;
        assert_eq!(
            msgs(&validate(&s)),
            ["allocateLoadBalancerNodePorts: Required value"]
        );

        let mut s = svc("NodePort", vec![port("", 80)]);
        spec_mut(&mut s).allocate_load_balancer_node_ports = Some(false);
        assert_eq!(
            msgs(&validate(&stored(s, "10.0.0.10"))),
            [
                "spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"
            ]
        );

        let mut s = svc("LoadBalancer", vec![port("", 80)]);
        spec_mut(&mut s).allocate_load_balancer_node_ports = Some(false);
        let s = stored(s, "10.0.0.10");
        assert!(!needs_node_ports(&s));
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn load_balancer_class() {
        // validation.go validateLoadBalancerClassField.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).load_balancer_class = Some("example.com/internal-vip".to_owned());
        assert_eq!(
            msgs(&validate(&stored(s, "10.0.0.10"))),
            ["spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"]
        );
        let mut old = svc("LoadBalancer", vec![port("", 80)]);
        spec_mut(&mut old).load_balancer_class = Some("example.com/a".to_owned());
        let old = stored(old, "10.0.0.10");
        let mut new = old.clone();
        spec_mut(&mut new).load_balancer_class = Some("example.com/b".to_owned());
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            [r#"spec.loadBalancerClass: Invalid value: "example.com/b": may not change once set"#]
        );
        let mut new = old.clone();
        spec_mut(&mut new).load_balancer_class = None;
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            ["spec.loadBalancerClass: Invalid value: null: may not change once set"]
        );
        // Leaving LoadBalancer with the class unchanged drops it (dropTypeDependentFields).
        let mut new = old.clone();
        spec_mut(&mut new).type_ = Some("ClusterIP".to_owned());
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        let spec = new.spec.as_ref().expect("spec");
        assert_eq!(spec.load_balancer_class, None);
        assert_eq!(spec.allocate_load_balancer_node_ports, None);
        assert_eq!(spec.external_traffic_policy, None);
        assert!(validate_update(&new, &old).is_empty());
    }

    #[test]
    fn update_repeats_load_balancer_class_errors_like_upstream() {
        // validation.go: ValidateServiceUpdate runs validateLoadBalancerClassField(old, new) and
        // ValidateService runs it again with nil, so the error is listed twice (upstream's
        // ErrorList.ToAggregate drops the repeat from the message, not from the causes).
        let old = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        let mut new = old.clone();
        spec_mut(&mut new).load_balancer_class = Some("example.com/x".to_owned());
        let forbidden =
            "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'";
        assert_eq!(msgs(&validate_update(&new, &old)), [forbidden, forbidden]);
    }

    #[test]
    fn cluster_ip_is_immutable() {
        // validation.go validateUpgradeDowngradeClusterIPs.
        let old = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        let mut new = old.clone();
        let spec = spec_mut(&mut new);
        spec.cluster_ip = Some("10.0.0.2".to_owned());
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        // normalizeClusterIPs followed clusterIP (clusterIPs were unchanged).
        assert_eq!(
            new.spec.as_ref().expect("spec").cluster_ips,
            Some(vec!["10.0.0.2".to_owned()])
        );
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            [r#"spec.clusterIPs[0]: Invalid value: []string{"10.0.0.2"}: may not change once set"#]
        );

        // Resubmitting the original manifest (no clusterIP) keeps the allocated one.
        let mut new = svc("ClusterIP", vec![port("", 80)]);
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        assert!(init_ip_families(&mut new, Some(&old), &v4()).is_empty());
        let spec = new.spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.0.0.10"));
        assert_eq!(spec.cluster_ips, Some(vec!["10.0.0.10".to_owned()]));
        assert!(validate_update(&new, &old).is_empty());
    }

    #[test]
    fn releasing_secondary_cluster_ip_needs_single_stack() {
        // validation.go validateUpgradeDowngradeClusterIPs / alloc.go initIPFamilyFields.
        let mut old = svc("ClusterIP", vec![port("", 80)]);
        let spec = spec_mut(&mut old);
        spec.ip_family_policy = Some("RequireDualStack".to_owned());
        spec.cluster_ip = Some("10.0.0.10".to_owned());
        spec.cluster_ips = Some(vec!["10.0.0.10".to_owned(), "fd00::10".to_owned()]);
        let mut old = created(old);
        assert!(init_ip_families(&mut old, None, &dual()).is_empty());
        assert_eq!(
            old.spec.as_ref().expect("spec").ip_families,
            Some(vec!["IPv4".to_owned(), "IPv6".to_owned()])
        );

        let mut new = old.clone();
        spec_mut(&mut new).cluster_ips = Some(vec!["10.0.0.10".to_owned()]);
        prepare_for_update(&mut new, &old);
        assert_eq!(
            msgs(&init_ip_families(&mut new.clone(), Some(&old), &dual())),
            [
                r#"spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be 'SingleStack' to release the secondary cluster IP"#
            ]
        );
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            [
                r#"spec.ipFamilyPolicy: Invalid value: "RequireDualStack": must be set to 'SingleStack' when releasing the secondary clusterIP"#
            ]
        );

        // Setting SingleStack alone is enough: the secondary IP and family are dropped.
        let mut new = old.clone();
        spec_mut(&mut new).ip_family_policy = Some("SingleStack".to_owned());
        prepare_for_update(&mut new, &old);
        assert!(init_ip_families(&mut new, Some(&old), &dual()).is_empty());
        let spec = new.spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ips, Some(vec!["10.0.0.10".to_owned()]));
        assert_eq!(spec.ip_families, Some(vec!["IPv4".to_owned()]));
        assert!(validate_update(&new, &old).is_empty());
    }

    #[test]
    fn node_port_to_cluster_ip_drops_unchanged_node_ports() {
        // strategy.go dropTypeDependentFields (needsNodePort / sameNodePorts).
        let mut old = svc("NodePort", vec![port("a", 80), port("b", 81)]);
        if let Some(ports) = spec_mut(&mut old).ports.as_mut() {
            ports[0].node_port = Some(30080);
            ports[1].node_port = Some(30081);
        }
        let old = stored(old, "10.0.0.10");
        assert!(validate(&old).is_empty());

        let mut new = old.clone();
        spec_mut(&mut new).type_ = Some("ClusterIP".to_owned());
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        let spec = new.spec.as_ref().expect("spec");
        assert!(ports_of(spec).iter().all(|p| p.node_port.is_none()));
        assert_eq!(spec.external_traffic_policy, None);
        assert!(validate_update(&new, &old).is_empty());

        // A node port the user changed is kept, and is then Forbidden.
        let mut new = old.clone();
        let spec = spec_mut(&mut new);
        spec.type_ = Some("ClusterIP".to_owned());
        if let Some(ports) = spec.ports.as_mut() {
            ports[1].node_port = Some(30099);
        }
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        assert_eq!(
            msgs(&validate_update(&new, &old)),
            [
                "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
                "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
            ]
        );
    }

    #[test]
    fn node_ports_patched_back_on_resubmit() {
        // storage.go patchAllocatedValues: matched by port name, never a port used elsewhere.
        let mut old = svc("NodePort", vec![port("a", 80), port("b", 81)]);
        if let Some(ports) = spec_mut(&mut old).ports.as_mut() {
            ports[0].node_port = Some(30080);
            ports[1].node_port = Some(30081);
        }
        let old = stored(old, "10.0.0.10");
        let mut new = svc("NodePort", vec![port("a", 80), port("b", 81)]);
        if let Some(ports) = spec_mut(&mut new).ports.as_mut() {
            ports[1].node_port = Some(30080);
        }
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        let ports: Vec<Option<i32>> = ports_of(new.spec.as_ref().expect("spec"))
            .iter()
            .map(|p| p.node_port)
            .collect();
        assert_eq!(ports, [None, Some(30080)]);
    }

    #[test]
    fn ip_families_single_stack_defaulting() {
        // alloc.go initIPFamilyFields: SingleStack and the cluster's family by default.
        let mut s = created(svc("ClusterIP", vec![port("", 80)]));
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.ip_family_policy.as_deref(), Some("SingleStack"));
        assert_eq!(spec.ip_families, Some(vec!["IPv4".to_owned()]));

        let mut s = created(svc("ClusterIP", vec![port("", 80)]));
        let v6 = ClusterIpConfig {
            families: vec![IpFamily::V6],
        };
        assert!(init_ip_families(&mut s, None, &v6).is_empty());
        assert_eq!(
            s.spec.as_ref().expect("spec").ip_families,
            Some(vec!["IPv6".to_owned()])
        );

        // PreferDualStack stays single on a single-stack cluster.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_family_policy = Some("PreferDualStack".to_owned());
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        assert_eq!(
            s.spec.as_ref().expect("spec").ip_families,
            Some(vec!["IPv4".to_owned()])
        );
    }

    #[test]
    fn require_dual_stack_on_single_stack_cluster() {
        // alloc.go initIPFamilyFields: "this cluster is not configured for dual-stack services".
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_family_policy = Some("RequireDualStack".to_owned());
        let mut s = created(s);
        assert_eq!(
            msgs(&init_ip_families(&mut s, None, &v4())),
            [
                r#"spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services"#
            ]
        );
        // ... and on a dual-stack cluster both families are set, primary first.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_family_policy = Some("RequireDualStack".to_owned());
        let mut s = created(s);
        let cfg = ClusterIpConfig {
            families: vec![IpFamily::V6, IpFamily::V4],
        };
        assert!(init_ip_families(&mut s, None, &cfg).is_empty());
        assert_eq!(
            s.spec.as_ref().expect("spec").ip_families,
            Some(vec!["IPv6".to_owned(), "IPv4".to_owned()])
        );
    }

    #[test]
    fn ip_family_checks() {
        // alloc.go initIPFamilyFields: families must be configured; clusterIPs infer families.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_families = Some(vec!["IPv6".to_owned()]);
        let mut s = created(s);
        assert_eq!(
            msgs(&init_ip_families(&mut s, None, &v4())),
            [r#"spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster"#]
        );
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).cluster_ip = Some("fd00::10".to_owned());
        let mut s = created(s);
        assert_eq!(
            msgs(&init_ip_families(&mut s, None, &v4())),
            [
                r#"spec.clusterIPs[0]: Invalid value: []string{"fd00::10"}: IPv6 is not configured on this cluster"#
            ]
        );
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_family_policy = Some("SingleStack".to_owned());
        spec_mut(&mut s).ip_families = Some(vec!["IPv4".to_owned(), "IPv6".to_owned()]);
        let mut s = created(s);
        assert_eq!(
            msgs(&init_ip_families(&mut s, None, &dual())),
            [
                r#"spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"#
            ]
        );

        // validation.go ValidateServiceClusterIPsRelatedFields.
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        let spec = spec_mut(&mut s);
        spec.ip_families = Some(vec![
            "IPv6".to_owned(),
            "IPv6".to_owned(),
            "IPv5".to_owned(),
        ]);
        spec.ip_family_policy = Some("Both".to_owned());
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.ipFamilies[1]: Duplicate value: "IPv6""#,
                r#"spec.ipFamilies[2]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6""#,
                r#"spec.ipFamilyPolicy: Unsupported value: "Both": supported values: "PreferDualStack", "RequireDualStack", "SingleStack""#,
                r#"spec.clusterIPs[0]: Invalid value: "10.0.0.10": expected an IPv6 value as indicated by `ipFamilies[0]`"#,
            ]
        );
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).cluster_ips = Some(vec!["10.0.0.10".to_owned(), "10.0.0.11".to_owned()]);
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.clusterIPs: Invalid value: []string{"10.0.0.10", "10.0.0.11"}: may specify no more than one IP for each IP family"#
            ]
        );
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).cluster_ips = Some(vec!["10.0.0.11".to_owned()]);
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.clusterIPs: Invalid value: []string{"10.0.0.11"}: first value must match `clusterIP`"#
            ]
        );
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        spec_mut(&mut s).cluster_ip = Some("10.0.0.300".to_owned());
        spec_mut(&mut s).cluster_ips = Some(vec!["10.0.0.300".to_owned()]);
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.clusterIPs[0]: Invalid value: "10.0.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#
            ]
        );
    }

    #[test]
    fn headless_selectorless_is_dual_stack() {
        // alloc.go initIPFamilyFields special case: headless + selectorless defaults to
        // RequireDualStack with both families, even on a single-stack cluster.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        let spec = spec_mut(&mut s);
        spec.cluster_ip = Some("None".to_owned());
        spec.selector = None;
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &v4()).is_empty());
        let spec = s.spec.as_ref().expect("spec");
        assert_eq!(spec.ip_family_policy.as_deref(), Some("RequireDualStack"));
        assert_eq!(
            spec.ip_families,
            Some(vec!["IPv4".to_owned(), "IPv6".to_owned()])
        );
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn prefer_dual_stack_upgrades_on_dual_stack_cluster() {
        // alloc.go initIPFamilyFields: a non-SingleStack policy gets the other family appended.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).ip_family_policy = Some("PreferDualStack".to_owned());
        let mut s = created(s);
        assert!(init_ip_families(&mut s, None, &dual()).is_empty());
        assert_eq!(
            s.spec.as_ref().expect("spec").ip_families,
            Some(vec!["IPv4".to_owned(), "IPv6".to_owned()])
        );
    }

    #[test]
    fn external_ips() {
        // validation.go ValidateNonSpecialIP / IsValidIP.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        spec_mut(&mut s).external_ips = Some(vec![
            "127.0.0.1".to_owned(),
            "0.0.0.0".to_owned(),
            "169.254.1.1".to_owned(),
            "ff02::1".to_owned(),
            "nope".to_owned(),
            "203.0.113.7".to_owned(),
        ]);
        let s = stored(s, "10.0.0.10");
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)"#,
                r#"spec.externalIPs[1]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)"#,
                r#"spec.externalIPs[2]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)"#,
                r#"spec.externalIPs[3]: Invalid value: "ff02::1": may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"#,
                r#"spec.externalIPs[4]: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#,
            ]
        );
    }

    #[test]
    fn topology_annotations_must_match() {
        // validation.go ValidateService: topology-mode vs topology-aware-hints.
        let mut s = svc("ClusterIP", vec![port("", 80)]);
        s.metadata.annotations = Some(BTreeMap::from([
            (ANNOTATION_TOPOLOGY_MODE.to_owned(), "Auto".to_owned()),
            (
                ANNOTATION_TOPOLOGY_AWARE_HINTS.to_owned(),
                "Disabled".to_owned(),
            ),
        ]));
        assert_eq!(
            msgs(&validate(&stored(s, "10.0.0.10"))),
            [
                r#"metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Auto": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified"#
            ]
        );
    }

    #[test]
    fn traffic_policies_and_distribution() {
        // validation.go validateServiceInternalTrafficFieldsValue, validateServiceExternalTrafficPolicy,
        // validateServiceTrafficDistribution (PreferSameZone/PreferSameNode accepted as the brief asks).
        let mut s = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        let spec = spec_mut(&mut s);
        spec.internal_traffic_policy = None;
        spec.traffic_distribution = Some("Nearby".to_owned());
        assert_eq!(
            msgs(&validate(&s)),
            [
                "spec.internalTrafficPolicy: Required value",
                r#"spec.trafficDistribution: Unsupported value: "Nearby": supported values: "PreferClose", "PreferSameZone", "PreferSameNode""#,
            ]
        );
        let mut s = stored(svc("NodePort", vec![port("", 80)]), "10.0.0.10");
        let spec = spec_mut(&mut s);
        spec.external_traffic_policy = Some("Global".to_owned());
        spec.internal_traffic_policy = Some("Node".to_owned());
        spec.traffic_distribution = Some("PreferSameNode".to_owned());
        assert_eq!(
            msgs(&validate(&s)),
            [
                r#"spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local""#,
                r#"spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local""#,
            ]
        );
    }

    #[test]
    fn selector_and_protocol() {
        // validation.go validateServicePort (sets.List(supportedPortProtocols)) and
        // unversionedvalidation.ValidateLabels (errors on the selector path itself).
        let mut p = port("", 80);
        p.protocol = Some("ICMP".to_owned());
        let mut s = svc("ClusterIP", vec![p]);
        spec_mut(&mut s).selector = Some(BTreeMap::from([("app".to_owned(), "-bad".to_owned())]));
        assert_eq!(
            msgs(&validate(&stored(s, "10.0.0.10"))),
            [
                r#"spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#,
                r#"spec.selector: Invalid value: "-bad": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#,
            ]
        );
    }

    #[test]
    fn to_external_name_wipes_cluster_ips() {
        // strategy.go dropTypeDependentFields: clusterIP(s), families and policy go when unchanged.
        let old = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        let mut new = old.clone();
        let spec = spec_mut(&mut new);
        spec.type_ = Some("ExternalName".to_owned());
        spec.external_name = Some("db.example.com".to_owned());
        set_defaults(&mut new);
        prepare_for_update(&mut new, &old);
        assert!(init_ip_families(&mut new, Some(&old), &v4()).is_empty());
        let spec = new.spec.as_ref().expect("spec");
        assert_eq!(spec.cluster_ip, None);
        assert_eq!(spec.cluster_ips, None);
        assert_eq!(spec.ip_families, None);
        assert_eq!(spec.ip_family_policy, None);
        assert_eq!(msgs(&validate_update(&new, &old)), Vec::<String>::new());
    }

    #[test]
    fn status() {
        // strategy.go: create clears status, update keeps the old one.
        let mut s = svc("LoadBalancer", vec![port("", 80)]);
        s.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![LoadBalancerIngress::default()]),
            }),
            conditions: None,
        });
        let s = created(s);
        assert_eq!(
            serde_json::to_value(&s.status).expect("json"),
            serde_json::json!({"loadBalancer": {}})
        );

        // validation.go ValidateLoadBalancerStatus.
        let ingress = |ip: &str, mode: Option<&str>, host: &str| LoadBalancerIngress {
            ip: (!ip.is_empty()).then(|| ip.to_owned()),
            ip_mode: mode.map(str::to_owned),
            hostname: (!host.is_empty()).then(|| host.to_owned()),
            ports: None,
        };
        let mut new = stored(svc("LoadBalancer", vec![port("", 80)]), "10.0.0.10");
        new.status = Some(ServiceStatus {
            load_balancer: Some(LoadBalancerStatus {
                ingress: Some(vec![
                    ingress("1.2.3.4", None, ""),
                    ingress("", Some("VIP"), "lb.example.com"),
                    ingress("1.2.3.x", Some("Tunnel"), "1.2.3.4"),
                    ingress("5.6.7.8", Some("Proxy"), ""),
                ]),
            }),
            conditions: None,
        });
        let old = new.clone();
        assert_eq!(
            msgs(&validate_status_update(&new, &old)),
            [
                "status.loadBalancer.ingress[0].ipMode: Required value: must be specified when `ip` is set",
                "status.loadBalancer.ingress[1].ipMode: Forbidden: may not be specified when `ip` is not set",
                r#"status.loadBalancer.ingress[2].ip: Invalid value: "1.2.3.x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#,
                r#"status.loadBalancer.ingress[2].ipMode: Unsupported value: "Tunnel": supported values: "Proxy", "VIP""#,
                r#"status.loadBalancer.ingress[2].hostname: Invalid value: "1.2.3.4": must be a DNS name, not an IP address"#,
            ]
        );
        let mut cip = stored(svc("ClusterIP", vec![port("", 80)]), "10.0.0.10");
        // The type is the stored one: a status update cannot make a ClusterIP an LB.
        assert_eq!(
            msgs(&validate_status_update(&new, &cip)).len(),
            1,
            "forbidden on a ClusterIP"
        );
        cip.status = new.status;
        assert_eq!(
            msgs(&validate_status_update(&cip, &cip)),
            [
                "status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer'"
            ]
        );
    }

    #[test]
    fn ip_parsing_is_sloppy_like_upstream() {
        // k8s.io/utils/net ParseIPSloppy / ParseCIDRSloppy (Go 1.16 net.ParseIP semantics).
        assert!(parse_ip_sloppy("010.001.002.003").is_some());
        assert!(parse_ip_sloppy("::ffff:10.0.0.1").is_some());
        assert_eq!(family_of("::ffff:10.0.0.1"), Some(IpFamily::V4));
        assert!(parse_ip_sloppy("1.2.3").is_none());
        assert!(parse_ip_sloppy("256.1.1.1").is_none());
        assert!(parse_ip_sloppy("fe80::1%eth0").is_none());
        assert!(parse_cidr_sloppy("10.0.0.0/08"));
        assert!(!parse_cidr_sloppy("10.0.0.0/33"));
        assert!(parse_cidr_sloppy("2001:db8::/128"));
        assert!(!parse_cidr_sloppy("10.0.0.0"));
        assert_eq!(go_slice("string", &None), "[]string(nil)");
        assert_eq!(go_slice("string", &Some(vec![])), "[]string{}");
    }
}
