//! Prometheus metrics of the proxy, registered by [`crate::Proxy::register_metrics`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::model::Protocol;

/// Labels of every per-frontend metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FrontendLabels {
    frontend: String,
    protocol: String,
}

impl FrontendLabels {
    pub(crate) fn new(frontend: &str, protocol: Protocol) -> Self {
        Self {
            frontend: frontend.to_owned(),
            protocol: protocol.as_str().to_owned(),
        }
    }
}

/// Labels of the byte counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BytesLabels {
    frontend: String,
    protocol: String,
    /// `to_backend` or `to_client`.
    direction: &'static str,
}

/// The proxy's metric families (cheap to clone: families are reference-counted).
#[derive(Clone, Debug, Default)]
pub(crate) struct Metrics {
    connections: Family<FrontendLabels, Counter>,
    active: Family<FrontendLabels, Gauge>,
    connect_failures: Family<FrontendLabels, Counter>,
    rejected: Family<FrontendLabels, Counter>,
    bytes: Family<BytesLabels, Counter>,
}

/// Handles of one connection's metrics, resolved once so the data path never hashes labels.
#[derive(Clone, Debug)]
pub(crate) struct ConnMetrics {
    pub(crate) to_backend: Counter,
    pub(crate) to_client: Counter,
    active: Gauge,
}

impl Metrics {
    pub(crate) fn register(&self, r: &mut Registry) {
        r.register(
            "connections",
            "Client connections accepted (TCP) or flows created (UDP) per frontend",
            self.connections.clone(),
        );
        r.register(
            "connections_active",
            "Client connections (TCP) or flows (UDP) currently forwarded per frontend",
            self.active.clone(),
        );
        r.register(
            "connect_failures",
            "Backend connects that were refused or timed out (the backend is then ejected)",
            self.connect_failures.clone(),
        );
        r.register(
            "rejected",
            "Client connections reset (TCP) or datagrams dropped (UDP) because no backend could be reached",
            self.rejected.clone(),
        );
        r.register(
            "bytes",
            "Payload bytes forwarded, by direction",
            self.bytes.clone(),
        );
    }

    /// Counts a new connection or flow and returns its handles; `active` stays raised until
    /// the returned guard is dropped.
    pub(crate) fn open(&self, labels: &FrontendLabels) -> ConnGuard {
        self.connections.get_or_create(labels).inc();
        let bytes = |direction| {
            self.bytes
                .get_or_create(&BytesLabels {
                    frontend: labels.frontend.clone(),
                    protocol: labels.protocol.clone(),
                    direction,
                })
                .clone()
        };
        let m = ConnMetrics {
            to_backend: bytes("to_backend"),
            to_client: bytes("to_client"),
            active: self.active.get_or_create(labels).clone(),
        };
        m.active.inc();
        ConnGuard(m)
    }

    pub(crate) fn connect_failed(&self, labels: &FrontendLabels) {
        self.connect_failures.get_or_create(labels).inc();
    }

    pub(crate) fn rejected(&self, labels: &FrontendLabels) {
        self.rejected.get_or_create(labels).inc();
    }
}

/// Keeps `connections_active` raised for one connection.
#[derive(Debug)]
pub(crate) struct ConnGuard(pub(crate) ConnMetrics);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.active.dec();
    }
}
