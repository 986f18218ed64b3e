//! Prometheus metrics: queries by response code and a lock-free latency histogram.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// Label set of the request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RcodeLabels {
    /// Response code name (`NOERROR`, `NXDOMAIN`, ...).
    pub rcode: &'static str,
}

const RCODES: [&str; 7] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "OTHER",
];

fn rcode_index(rcode: ResponseCode) -> usize {
    match rcode {
        ResponseCode::NoError => 0,
        ResponseCode::FormErr => 1,
        ResponseCode::ServFail => 2,
        ResponseCode::NXDomain => 3,
        ResponseCode::NotImp => 4,
        ResponseCode::Refused => 5,
        _ => 6,
    }
}

/// Upper bounds (seconds) of the latency histogram buckets; `+Inf` is implicit.
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// A fixed-bucket histogram updated with atomics only (no lock on the hot path).
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    inner: Arc<HistInner>,
}

#[derive(Debug, Default)]
struct HistInner {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Clone for AtomicHistogram {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl AtomicHistogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.inner.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.inner.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut buckets: Vec<(f64, u64)> = Vec::with_capacity(BUCKETS.len() + 1);
        for (i, b) in self.inner.buckets.iter().enumerate() {
            let upper = BUCKETS.get(i).copied().unwrap_or(f64::INFINITY);
            buckets.push((upper, b.load(Ordering::Relaxed)));
        }
        let count = buckets.iter().map(|(_, c)| c).sum();
        #[allow(clippy::cast_precision_loss)]
        let sum = self.inner.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The DNS server's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Family<RcodeLabels, Counter>,
    by_rcode: [Counter; RCODES.len()],
    duration: AtomicHistogram,
    forwarded: Counter,
    cache_hits: Counter,
    dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RcodeLabels, Counter>::default();
        let by_rcode = RCODES.map(|rcode| requests.get_or_create(&RcodeLabels { rcode }).clone());
        Self {
            requests,
            by_rcode,
            duration: AtomicHistogram::default(),
            forwarded: Counter::default(),
            cache_hits: Counter::default(),
            dropped: Counter::default(),
        }
    }
}

impl Metrics {
    /// Registers the metrics under `tether_dns_*`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "tether_dns_requests",
            "DNS requests answered, by response code",
            self.requests.clone(),
        );
        registry.register(
            "tether_dns_request_duration_seconds",
            "Time from receiving a DNS request to having its response ready",
            self.duration.clone(),
        );
        registry.register(
            "tether_dns_forwarded_requests",
            "DNS requests sent to upstream resolvers",
            self.forwarded.clone(),
        );
        registry.register(
            "tether_dns_cache_hits",
            "Forwarded DNS requests answered from the cache",
            self.cache_hits.clone(),
        );
        registry.register(
            "tether_dns_dropped_requests",
            "Packets dropped without a response (unparseable or responses)",
            self.dropped.clone(),
        );
    }

    /// Counts one answered request.
    pub fn observe(&self, rcode: ResponseCode, elapsed: Duration) {
        self.by_rcode[rcode_index(rcode)].inc();
        self.duration.observe(elapsed);
    }

    /// Counts one forwarded request.
    pub fn forwarded(&self) {
        self.forwarded.inc();
    }

    /// Counts one cache hit.
    pub fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    /// Counts one dropped packet.
    pub fn dropped(&self) {
        self.dropped.inc();
    }

    /// Requests answered with `rcode` so far.
    pub fn requests_with(&self, rcode: ResponseCode) -> u64 {
        self.by_rcode[rcode_index(rcode)].get()
    }

    /// Latency histogram.
    pub fn duration(&self) -> &AtomicHistogram {
        &self.duration
    }
}
