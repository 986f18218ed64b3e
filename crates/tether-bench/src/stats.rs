//! Latency summaries.

use std::time::Duration;

/// Percentiles of a set of latencies (in microseconds).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
    pub(crate) mean: f64,
}

/// Sorts `us` and summarises it.
pub(crate) fn summarize(us: &mut [u64]) -> Summary {
    if us.is_empty() {
        return Summary::default();
    }
    us.sort_unstable();
    let pick = |q: f64| {
        let i = ((us.len() as f64) * q).ceil() as usize;
        us[i.clamp(1, us.len()) - 1] as f64
    };
    let sum: u128 = us.iter().map(|&v| u128::from(v)).sum();
    Summary {
        n: us.len(),
        p50: pick(0.50),
        p90: pick(0.90),
        p99: pick(0.99),
        p999: pick(0.999),
        max: us[us.len() - 1] as f64,
        mean: sum as f64 / us.len() as f64,
    }
}

impl Summary {
    /// `prefix_p50_us=... prefix_p99_us=...` lines.
    pub(crate) fn print(&self, prefix: &str) {
        println!("{prefix}_n={}", self.n);
        println!("{prefix}_mean_us={:.1}", self.mean);
        println!("{prefix}_p50_us={:.0}", self.p50);
        println!("{prefix}_p90_us={:.0}", self.p90);
        println!("{prefix}_p99_us={:.0}", self.p99);
        println!("{prefix}_p999_us={:.0}", self.p999);
        println!("{prefix}_max_us={:.0}", self.max);
    }
}

/// Microseconds of `d`, saturating.
pub(crate) fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
