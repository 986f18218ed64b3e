//! Sync metrics, named after kube-proxy's (`sync_proxy_rules_duration_seconds`, …).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::{Error, SyncKind};

/// Labels of the sync counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    /// `full`, `incremental`, `unchanged` or `error`.
    pub kind: &'static str,
}

/// Handles to the data plane's metrics; clones share the same series.
#[derive(Debug, Clone)]
pub struct Metrics {
    duration: Histogram,
    syncs: Family<SyncLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            // 0.5 ms … ~16 s, like upstream's exponential 1 ms-based buckets.
            duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            syncs: Family::default(),
        }
    }
}

impl Metrics {
    /// Creates the metrics and registers them in `registry` (prefix it, e.g. `tether_nft`).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "sync_proxy_rules_duration_seconds",
            "Time to render and apply one nftables sync",
            m.duration.clone(),
        );
        registry.register(
            "sync_proxy_rules",
            "nftables syncs by kind (full, incremental, unchanged, error)",
            m.syncs.clone(),
        );
        m
    }

    pub(crate) fn observe(&self, result: &Result<SyncKind, Error>, elapsed: Duration) {
        let kind = match result {
            Ok(SyncKind::Full) => "full",
            Ok(SyncKind::Incremental(_)) => "incremental",
            Ok(SyncKind::Unchanged) => "unchanged",
            Err(_) => "error",
        };
        self.syncs.get_or_create(&SyncLabels { kind }).inc();
        if !matches!(result, Ok(SyncKind::Unchanged)) {
            self.duration.observe(elapsed.as_secs_f64());
        }
    }
}
