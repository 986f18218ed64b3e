//! What exists from the first start: the system namespaces, `default/kubernetes`, and where
//! Pods reach the API server (its Endpoints and EndpointSlice, kept by [`EndpointReconciler`]
//! for every API server on the store).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use tether_api::ApiError;
use tether_api::resources;
use tether_store::{Compare, ListOptions, Op, Txn};

use crate::error::store_error;
use crate::registry::{Registry, WriteOptions};

/// How long an API server's lease on the `kubernetes` endpoints lasts without renewal
/// (upstream's `DefaultEndpointReconcilerTTL`).
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often each API server renews its lease and reconciles the endpoints (upstream's
/// `EndpointReconcilerInterval`).
pub(crate) const RECONCILE_INTERVAL: Duration = Duration::from_secs(10);
/// Where the leases live (upstream keeps them under `/masterleases/` in etcd).
const LEASE_PREFIX: &str = "/registry/masterleases/";

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
    if endpoint.is_none() {
        tracing::info!(
            "no address for Pods to reach the API server (it listens on loopback or on every \
             address); the kubernetes Service gets no endpoints"
        );
    }
    Ok(())
}

/// Upstream's lease endpoint reconciler (`pkg/controlplane/reconcilers/lease.go`): every API
/// server on the store holds a lease on its address, renewed every [`RECONCILE_INTERVAL`]
/// and lasting [`LEASE_TTL`]; each reconcile publishes the addresses of all unexpired leases,
/// sorted, as the `kubernetes` Endpoints and EndpointSlice. A server that stops removes its
/// lease and its address; one that dies drops out when its lease expires.
#[derive(Debug, Clone)]
pub(crate) struct EndpointReconciler {
    reg: Arc<Registry>,
    endpoint: SocketAddr,
}

impl EndpointReconciler {
    pub(crate) fn new(reg: Arc<Registry>, endpoint: SocketAddr) -> Self {
        Self { reg, endpoint }
    }

    fn lease_key(ip: IpAddr) -> String {
        format!("{LEASE_PREFIX}{ip}")
    }

    /// Renews this server's lease, then publishes every live lease's address.
    pub(crate) async fn reconcile(&self) -> Result<(), ApiError> {
        let expires = unix_now() + LEASE_TTL.as_secs_f64();
        let lease = json!({"ip": self.endpoint.ip().to_string(), "expires": expires});
        let txn = Txn::new().then(Op::Put(
            Self::lease_key(self.endpoint.ip()),
            Bytes::from(lease.to_string()),
        ));
        self.reg.store().txn(txn).await.map_err(store_error)?;
        let ips = self.live_ips().await?;
        publish_endpoints(&self.reg, &ips, self.endpoint.port()).await
    }

    /// Removes this server's lease and its address (at shutdown). The last server leaves
    /// the endpoints as they are (upstream refuses to erase them all).
    pub(crate) async fn remove(&self) -> Result<(), ApiError> {
        let txn = Txn::new().then(Op::Delete(Self::lease_key(self.endpoint.ip())));
        self.reg.store().txn(txn).await.map_err(store_error)?;
        let ips = self.live_ips().await?;
        if ips.is_empty() {
            return Ok(());
        }
        publish_endpoints(&self.reg, &ips, self.endpoint.port()).await
    }

    /// The addresses of the unexpired leases, sorted as upstream sorts them (as strings);
    /// expired leases are deleted on the way.
    async fn live_ips(&self) -> Result<Vec<String>, ApiError> {
        let list = self
            .reg
            .store()
            .list(LEASE_PREFIX, ListOptions::default())
            .await
            .map_err(store_error)?;
        let now = unix_now();
        let mut ips = Vec::new();
        for kv in list.kvs {
            let lease: Value = serde_json::from_slice(&kv.value).unwrap_or_default();
            let ip = lease["ip"].as_str().and_then(|s| s.parse::<IpAddr>().ok());
            match (ip, lease["expires"].as_f64()) {
                (Some(ip), Some(exp)) if exp > now => ips.push(ip.to_string()),
                _ => {
                    // Expired (or unreadable): gone, unless renewed meanwhile.
                    let txn = Txn::new()
                        .when(Compare::ModRevision(kv.key.clone(), kv.mod_revision))
                        .then(Op::Delete(kv.key));
                    self.reg.store().txn(txn).await.map_err(store_error)?;
                }
            }
        }
        ips.sort();
        ips.dedup();
        Ok(ips)
    }

    /// Reconciles, logging a failure (not fatal: a server whose advertised address the
    /// Endpoints refuse still serves; only in-cluster clients lack the endpoint).
    pub(crate) async fn reconcile_logged(&self) {
        if let Err(e) = self.reconcile().await {
            tracing::warn!(endpoint = %self.endpoint, error = %e.message, "could not reconcile the kubernetes service's endpoints");
        }
    }

    /// Reconciles every [`RECONCILE_INTERVAL`] until `stop`, then removes the lease.
    pub(crate) async fn run(self, stop: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(RECONCILE_INTERVAL) => {}
            }
            self.reconcile_logged().await;
        }
        if let Err(e) = self.remove().await {
            tracing::warn!(endpoint = %self.endpoint, error = %e.message, "could not remove the API server's endpoint lease");
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The Endpoints and EndpointSlice `default/kubernetes` for the API servers at `ips` (sorted)
/// on `port`, as upstream's control plane endpoint reconciler writes them
/// (`pkg/controlplane/reconcilers`): one subset, port `https`; the Endpoints carry
/// `endpointslice.kubernetes.io/skip-mirror` because the API server writes the slice itself.
fn endpoint_objects(ips: &[String], port: u16) -> (Value, Value) {
    let v6 = ips.first().is_some_and(|ip| ip.contains(':'));
    let endpoints = json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
        "subsets": [{
            "addresses": ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>(),
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }],
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": if v6 { "IPv6" } else { "IPv4" },
        "endpoints": ips
            .iter()
            .map(|ip| json!({"addresses": [ip], "conditions": {"ready": true}}))
            .collect::<Vec<_>>(),
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
    });
    (endpoints, slice)
}

/// Writes [`endpoint_objects`] unless they are already there (an unchanged write is no
/// write: no new revision, no watch event).
async fn publish_endpoints(reg: &Registry, ips: &[String], port: u16) -> Result<(), ApiError> {
    let (endpoints, slice) = endpoint_objects(ips, port);
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn published(reg: &Registry) -> (Vec<String>, Vec<String>) {
        let ep = resources::find("", "v1", "endpoints").expect("endpoints");
        let es = resources::find("discovery.k8s.io", "v1", "endpointslices").expect("slices");
        let e = reg
            .get(ep, "default", "kubernetes")
            .await
            .expect("endpoints");
        let s = reg.get(es, "default", "kubernetes").await.expect("slice");
        let ips = |v: &Value, p: &str, f: &str| -> Vec<String> {
            v.pointer(p)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|a| a.pointer(f).and_then(Value::as_str).map(str::to_owned))
                .collect()
        };
        (
            ips(&e, "/subsets/0/addresses", "/ip"),
            ips(&s, "/endpoints", "/addresses/0"),
        )
    }

    #[tokio::test]
    async fn every_live_server_lease_is_published() {
        let (reg, _dir) = crate::registry::tests::registry().await;
        let reg = Arc::new(reg);
        ensure(&reg, 6443, None).await.expect("bootstrap");
        let a = EndpointReconciler::new(reg.clone(), "10.0.0.2:6443".parse().expect("addr"));
        let b = EndpointReconciler::new(reg.clone(), "10.0.0.1:6443".parse().expect("addr"));
        a.reconcile().await.expect("a");
        b.reconcile().await.expect("b");
        let both = vec!["10.0.0.1".to_owned(), "10.0.0.2".to_owned()];
        assert_eq!(published(&reg).await, (both.clone(), both.clone()));
        // A server that died without removing its lease drops out once the lease expires.
        let dead = json!({"ip": "10.0.0.3", "expires": unix_now() - 1.0});
        let key = EndpointReconciler::lease_key("10.0.0.3".parse().expect("ip"));
        let txn = Txn::new().then(Op::Put(key.clone(), Bytes::from(dead.to_string())));
        reg.store().txn(txn).await.expect("put");
        a.reconcile().await.expect("a again");
        assert_eq!(published(&reg).await, (both.clone(), both));
        assert!(
            reg.store().get(&key).await.expect("get").is_none(),
            "expired lease deleted"
        );
        // A reconcile that changes nothing writes nothing.
        let ep = resources::find("", "v1", "endpoints").expect("endpoints");
        let before = reg
            .get(ep, "default", "kubernetes")
            .await
            .expect("endpoints");
        a.reconcile().await.expect("a, unchanged");
        let after = reg
            .get(ep, "default", "kubernetes")
            .await
            .expect("endpoints");
        assert_eq!(
            before["metadata"]["resourceVersion"],
            after["metadata"]["resourceVersion"]
        );
        // A server that stops removes its address; the last one leaves its own in place.
        b.remove().await.expect("b stops");
        let one = vec!["10.0.0.2".to_owned()];
        assert_eq!(published(&reg).await, (one.clone(), one.clone()));
        a.remove().await.expect("a stops");
        assert_eq!(published(&reg).await, (one.clone(), one));
    }

    #[test]
    fn endpoint_objects_as_upstreams_reconciler() {
        let (ep, slice) = endpoint_objects(&["10.255.0.2".to_owned()], 6443);
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
        let (_, v6) = endpoint_objects(&["fd00::2".to_owned()], 6443);
        assert_eq!(v6["addressType"], "IPv6");
        let (ep, slice) = endpoint_objects(&["10.0.0.1".to_owned(), "10.0.0.2".to_owned()], 443);
        assert_eq!(
            ep["subsets"][0]["addresses"],
            json!([{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}])
        );
        assert_eq!(slice["endpoints"].as_array().map(Vec::len), Some(2));
    }
}
