//! What exists from the first start: the system namespaces, `default/kubernetes`, and where
//! Pods reach the API server (its Endpoints and EndpointSlice).

use std::net::SocketAddr;

use serde_json::{Value, json};
use tether_api::ApiError;
use tether_api::resources;

use crate::registry::{Registry, WriteOptions};

/// Namespaces created at start (`default`, `kube-system`, `kube-public`, `kube-node-lease`).
pub(crate) const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces and the `kubernetes` Service if they are missing, and
/// publishes `endpoint` (when known) as the Service's Endpoints and EndpointSlice.
pub(crate) async fn ensure(
    reg: &Registry,
    api_port: u16,
    endpoint: Option<SocketAddr>,
) -> Result<(), ApiError> {
    let nsr = resources::namespaces();
    for ns in SYSTEM_NAMESPACES {
        if reg.get(nsr, "", ns).await.is_ok() {
            continue;
        }
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        match reg.create(nsr, "", obj, &WriteOptions::default()).await {
            Ok(_) => tracing::info!(namespace = ns, "created system namespace"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    let svc = resources::find("", "v1", "services")
        .ok_or_else(|| ApiError::internal("services resource missing"))?;
    let ip = reg
        .allocators()
        .first_ip()
        .ok_or_else(|| ApiError::internal("no service CIDR"))?;
    let obj = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip.to_string(),
            "clusterIPs": [ip.to_string()],
            "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                       "targetPort": endpoint.map_or(api_port, |e| e.port())}],
            "sessionAffinity": "None",
        },
    });
    if reg.get(svc, "default", "kubernetes").await.is_err() {
        match reg
            .create(svc, "default", obj, &WriteOptions::default())
            .await
        {
            Ok(_) => tracing::info!(%ip, "created the kubernetes service"),
            Err(e) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    match endpoint {
        // Not fatal: a server whose advertised address the Endpoints refuse (a loopback
        // `--advertise-address`) still serves; only in-cluster clients lack the endpoint.
        Some(ep) => {
            if let Err(e) = publish_endpoint(reg, ep).await {
                tracing::warn!(endpoint = %ep, error = %e.message, "could not publish the API server's endpoint for the kubernetes service");
            }
        }
        None => tracing::info!(
            "no address for Pods to reach the API server (it listens on loopback or on every \
             address); the kubernetes Service gets no endpoints"
        ),
    }
    Ok(())
}

/// The Endpoints and EndpointSlice `default/kubernetes` for `ep`, as upstream's control
/// plane endpoint reconciler writes them (`pkg/controlplane/reconcilers`): one address,
/// port `https`; the Endpoints carry `endpointslice.kubernetes.io/skip-mirror` because the
/// API server writes the slice itself.
fn endpoint_objects(ep: SocketAddr) -> (Value, Value) {
    let ip = ep.ip().to_string();
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{
            "addresses": [{"ip": ip}],
            "ports": [{"name": "https", "port": ep.port(), "protocol": "TCP"}],
        }],
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": if ep.is_ipv6() { "IPv6" } else { "IPv4" },
        "endpoints": [{"addresses": [ip], "conditions": {"ready": true}}],
        "ports": [{"name": "https", "port": ep.port(), "protocol": "TCP"}],
    });
    (endpoints, slice)
}

/// Writes [`endpoint_objects`] unless they are already there.
async fn publish_endpoint(reg: &Registry, ep: SocketAddr) -> Result<(), ApiError> {
    let (endpoints, slice) = endpoint_objects(ep);
    for (resource, want, fields) in [
        ("endpoints", endpoints, &["subsets"][..]),
        (
            "endpointslices",
            slice,
            &["addressType", "endpoints", "ports"][..],
        ),
    ] {
        let group = if resource == "endpoints" {
            ""
        } else {
            "discovery.k8s.io"
        };
        let r = resources::find(group, "v1", resource)
            .ok_or_else(|| ApiError::internal(format!("{resource} resource missing")))?;
        let f = |cur: &Value| -> Result<Value, ApiError> {
            if cur.is_null() {
                return Ok(want.clone());
            }
            let mut next = cur.clone();
            for field in fields {
                next[*field] = want[*field].clone();
            }
            next["metadata"]["labels"] = want["metadata"]["labels"].clone();
            Ok(next)
        };
        let (_, _) = reg
            .guaranteed_update(
                r,
                "default",
                "kubernetes",
                None,
                None,
                &WriteOptions {
                    user_agent_manager: "kube-apiserver".to_owned(),
                    ..WriteOptions::default()
                },
                true,
                &f,
            )
            .await?;
    }
    tracing::info!(endpoint = %ep, "published the API server's endpoint for the kubernetes service");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_objects_as_upstreams_reconciler() {
        let (ep, slice) = endpoint_objects("10.255.0.2:6443".parse().expect("addr"));
        assert_eq!(
            ep["subsets"],
            json!([{"addresses": [{"ip": "10.255.0.2"}],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}])
        );
        assert_eq!(
            ep["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"],
            "true"
        );
        assert_eq!(slice["addressType"], "IPv4");
        assert_eq!(
            slice["endpoints"],
            json!([{"addresses": ["10.255.0.2"], "conditions": {"ready": true}}])
        );
        let (_, v6) = endpoint_objects("[fd00::2]:6443".parse().expect("addr"));
        assert_eq!(v6["addressType"], "IPv6");
    }
}
