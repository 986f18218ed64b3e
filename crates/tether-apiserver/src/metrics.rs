//! `/metrics`: request counts and latencies in the Prometheus text format.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of one API request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) verb: String,
    pub(crate) resource: String,
    pub(crate) code: String,
}

/// Labels of a latency observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VerbLabels {
    pub(crate) verb: String,
}

/// The API server's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    /// `apiserver_request_total` (as upstream names it).
    pub(crate) requests: Family<RequestLabels, Counter>,
    /// `apiserver_request_duration_seconds`.
    pub(crate) latency: Family<VerbLabels, Histogram>,
}

impl Metrics {
    pub(crate) fn new() -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<VerbLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.0005, 2.0, 16,
            ))
        });
        registry.register(
            "apiserver_request",
            "Counter of API requests by verb, resource and HTTP code",
            requests.clone(),
        );
        registry.register(
            "apiserver_request_duration_seconds",
            "Response latency of API requests by verb (watches: until the stream starts)",
            latency.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            latency,
        })
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
