//! What exists from the first start: the system namespaces and `default/kubernetes`.

use serde_json::json;
use tether_api::ApiError;
use tether_api::resources;

use crate::registry::{Registry, WriteOptions};

/// Namespaces created at start (`default`, `kube-system`, `kube-public`, `kube-node-lease`).
pub(crate) const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces and the `kubernetes` Service if they are missing.
pub(crate) async fn ensure(reg: &Registry, api_port: u16) -> Result<(), ApiError> {
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
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": api_port}],
            "sessionAffinity": "None",
        },
    });
    if reg.get(svc, "default", "kubernetes").await.is_ok() {
        return Ok(());
    }
    match reg
        .create(svc, "default", obj, &WriteOptions::default())
        .await
    {
        Ok(_) => tracing::info!(%ip, "created the kubernetes service"),
        Err(e) if e.code == 409 => {}
        Err(e) => return Err(e),
    }
    Ok(())
}
