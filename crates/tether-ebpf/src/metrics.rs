//! The fast path's metrics: syncs by result, ports on it, pod veths hooked.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Dataplane;

/// Labels of the sync counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    /// `ok` or `error`.
    pub result: &'static str,
}

/// Labels of the ports gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PortLabels {
    /// `picking` (new connections take the fast path) or `draining`.
    pub state: &'static str,
}

/// Handles to the fast path's metrics; clones share the same series.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    syncs: Family<SyncLabels, Counter>,
    ports: Family<PortLabels, Gauge>,
    hooked: Gauge,
}

impl Metrics {
    /// Creates the metrics and registers them in `registry` (prefix it, e.g. `tether_ebpf`).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "syncs",
            "eBPF fast path syncs by result (ok, error)",
            m.syncs.clone(),
        );
        registry.register(
            "service_ports",
            "Service ports in the eBPF fast path's maps, by state (picking, draining)",
            m.ports.clone(),
        );
        registry.register(
            "hooked_pod_links",
            "Pod veths carrying the reply program that learns links (other bridge ports not counted)",
            m.hooked.clone(),
        );
        m
    }

    pub(crate) fn observe(&self, ok: bool, dp: Option<&Dataplane>) {
        let result = if ok { "ok" } else { "error" };
        self.syncs.get_or_create(&SyncLabels { result }).inc();
        let Some(dp) = dp else {
            return;
        };
        let s = dp.state();
        for (state, n) in [("picking", s.picking()), ("draining", s.draining())] {
            self.ports
                .get_or_create(&PortLabels { state })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let pod_links = dp.hooked().values().filter(|learns| **learns).count();
        self.hooked
            .set(i64::try_from(pod_links).unwrap_or(i64::MAX));
    }
}
