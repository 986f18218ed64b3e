//! TODO (stub until the real module lands): Service defaulting and validation.
#![allow(missing_docs, clippy::needless_pass_by_value, unused_variables)]
use crate::field::ErrorList;
use k8s_openapi::api::core::v1::Service;
#[derive(Debug, Clone)]
pub struct ClusterIpConfig {
    pub families: Vec<IpFamily>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    V4,
    V6,
}
impl IpFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }
}
pub fn set_defaults(svc: &mut Service) {}
pub fn init_ip_families(svc: &mut Service, old: Option<&Service>, cfg: &ClusterIpConfig) -> ErrorList {
    Vec::new()
}
pub fn prepare_for_create(svc: &mut Service) {}
pub fn prepare_for_update(new: &mut Service, old: &Service) {}
pub fn validate(svc: &Service) -> ErrorList {
    Vec::new()
}
pub fn validate_update(new: &Service, old: &Service) -> ErrorList {
    Vec::new()
}
pub fn validate_status_update(new: &Service, old: &Service) -> ErrorList {
    Vec::new()
}
pub fn is_headless(svc: &Service) -> bool {
    svc.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None")
}
pub fn needs_cluster_ip(svc: &Service) -> bool {
    !is_headless(svc) && svc.spec.as_ref().and_then(|s| s.type_.as_deref()) != Some("ExternalName")
}
pub fn needs_node_ports(svc: &Service) -> bool {
    let t = svc.spec.as_ref().and_then(|s| s.type_.as_deref());
    t == Some("NodePort") || t == Some("LoadBalancer")
}
pub fn needs_health_check_node_port(svc: &Service) -> bool {
    false
}
