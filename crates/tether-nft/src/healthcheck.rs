//! `healthCheckNodePort` servers (upstream `pkg/proxy/healthcheck/service_health.go`).
//!
//! For every LoadBalancer Service with `externalTrafficPolicy: Local`, an HTTP server on
//! `0.0.0.0:<healthCheckNodePort>` in the node namespace answers any request with 200
//! when the node has a ready local endpoint for the Service and 503 otherwise, so an
//! external load balancer sends traffic only to nodes that can serve it locally. Body as
//! upstream: `{"service":{"namespace":"ns","name":"svc"},"localEndpoints":N,
//! "serviceProxyHealthy":true}`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tether_netns::NetNs;
use tether_servicemap::ServiceMap;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// The status code and JSON body for a Service with `local_endpoints` ready local
/// endpoints.
pub fn response(namespace: &str, name: &str, local_endpoints: usize) -> (u16, String) {
    let body = serde_json::json!({
        "service": {"namespace": namespace, "name": name},
        "localEndpoints": local_endpoints,
        "serviceProxyHealthy": true,
    });
    let status = if local_endpoints > 0 { 200 } else { 503 };
    (status, body.to_string())
}

/// Health check port → (namespace, name, ready local endpoints), from a map. Pure.
pub fn desired(map: &ServiceMap) -> BTreeMap<u16, (String, String, usize)> {
    let mut out: BTreeMap<u16, (String, String, usize)> = BTreeMap::new();
    for (name, sp) in &map.ports {
        let Some(port) = sp.info.health_check_node_port else {
            continue;
        };
        let local = sp
            .endpoints
            .iter()
            .filter(|e| e.is_local && e.ready)
            .count();
        let entry = out
            .entry(port)
            .or_insert_with(|| (name.namespace.clone(), name.name.clone(), 0));
        if entry.0 == name.namespace && entry.1 == name.name {
            entry.2 = entry.2.max(local);
        }
    }
    out
}

#[derive(Debug)]
struct Running {
    service: (String, String),
    local: Arc<AtomicUsize>,
    stop: CancellationToken,
}

/// The set of running health check servers.
#[derive(Debug)]
pub struct HealthServer {
    netns: Option<PathBuf>,
    running: BTreeMap<u16, Running>,
}

impl HealthServer {
    /// Servers that bind inside namespace file `netns` (`None`: the caller's).
    pub fn new(netns: Option<PathBuf>) -> Self {
        Self {
            netns,
            running: BTreeMap::new(),
        }
    }

    /// Ports currently served.
    pub fn ports(&self) -> Vec<u16> {
        self.running.keys().copied().collect()
    }

    /// Starts, updates and stops servers to match `map`. Must be called inside a tokio
    /// runtime. A port that cannot be bound is reported after the others are handled.
    pub fn sync(&mut self, map: &ServiceMap) -> Result<(), Error> {
        let want = desired(map);
        self.running.retain(|port, r| {
            let keep = want
                .get(port)
                .is_some_and(|(ns, n, _)| r.service.0 == *ns && r.service.1 == *n);
            if !keep {
                r.stop.cancel();
            }
            keep
        });
        let mut first_err = None;
        for (port, (ns, name, local)) in want {
            if let Some(r) = self.running.get(&port) {
                r.local.store(local, Ordering::Relaxed);
                continue;
            }
            match self.start(port, &ns, &name, local) {
                Ok(r) => {
                    self.running.insert(port, r);
                }
                Err(e) => {
                    tracing::warn!(port, error = %e, "health check server not started");
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn start(&self, port: u16, ns: &str, name: &str, local: usize) -> Result<Running, Error> {
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        let bind = move || -> std::io::Result<std::net::TcpListener> {
            let l = std::net::TcpListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        };
        let std_listener = match &self.netns {
            Some(p) => NetNs::from_path(p)?.run(bind)?,
            None => bind(),
        }
        .map_err(|source| Error::HealthCheck { port, source })?;
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|source| Error::HealthCheck { port, source })?;
        let running = Running {
            service: (ns.to_owned(), name.to_owned()),
            local: Arc::new(AtomicUsize::new(local)),
            stop: CancellationToken::new(),
        };
        let (count, stop) = (Arc::clone(&running.local), running.stop.clone());
        let (ns, name) = (ns.to_owned(), name.to_owned());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    () = stop.cancelled() => return,
                    r = listener.accept() => match r {
                        Ok((s, _)) => s,
                        Err(e) => {
                            tracing::debug!(error = %e, "health check accept failed");
                            continue;
                        }
                    },
                };
                let (count, ns, name) = (Arc::clone(&count), ns.clone(), name.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |_req| {
                        let (status, body) = response(&ns, &name, count.load(Ordering::Relaxed));
                        let local = count.load(Ordering::Relaxed);
                        async move {
                            let resp = hyper::Response::builder()
                                .status(status)
                                .header(http::header::CONTENT_TYPE, "application/json")
                                .header("X-Content-Type-Options", "nosniff")
                                .header("X-Load-Balancing-Endpoint-Weight", local.to_string())
                                .body(Full::new(Bytes::from(body)));
                            Ok::<_, Infallible>(
                                resp.unwrap_or_else(|_| {
                                    hyper::Response::new(Full::new(Bytes::new()))
                                }),
                            )
                        }
                    });
                    if let Err(e) = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await
                    {
                        tracing::debug!(error = %e, "health check connection failed");
                    }
                });
            }
        });
        tracing::info!(port, "health check node port serving");
        Ok(running)
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        for r in self.running.values() {
            r.stop.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_like_upstream() {
        let (status, body) = response("default", "web", 2);
        assert_eq!(status, 200);
        let got: serde_json::Value = serde_json::from_str(&body).expect("json");
        let want = serde_json::json!({
            "service": {"namespace": "default", "name": "web"},
            "localEndpoints": 2,
            "serviceProxyHealthy": true
        });
        assert_eq!(got, want);
        assert!(body.starts_with(r#"{"service":{"namespace":"default","name":"web"}"#));
        assert_eq!(response("a", "b", 0).0, 503);
    }
}
