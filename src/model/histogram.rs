//! Fixed-bucket histograms: what captures count DHCP times-to-lease and signals into, and
//! what the snapshot, `/metrics` and `venuemon replay` read.

use serde::Serialize;

/// A histogram with fixed buckets: counts per bucket (the last one above every bound), sum
/// and count, as Prometheus and people both read them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// Upper bounds of the buckets.
    pub bounds: &'static [f64],
    /// Observations per bucket (not cumulative); one more than `bounds`.
    pub counts: Vec<u64>,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get_mut(bucket) {
            *c += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// The value below which a fraction `q` of observations lie, as a bucket's upper bound
    /// (`None` when empty, infinity when in the last bucket).
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        let target = (self.count as f64 * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target && self.count > 0 {
                return Some(self.bounds.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        None
    }
}
