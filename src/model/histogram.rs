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

    /// The `q`-quantile (0 ≤ q ≤ 1) estimated as Prometheus' `histogram_quantile` does: by
    /// linear interpolation inside the bucket that holds the rank `q × count`, the first
    /// bucket starting at 0 (unless its bound is at or below 0: then that bound). A rank in the
    /// bucket above every bound gives the highest bound, the most the buckets can say. `None`
    /// when there are no observations, no bounds, or `q` is outside 0..=1.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let highest = *self.bounds.last()?;
        let rank = q * self.count as f64;
        let mut below = 0u64;
        for (i, (&bound, &n)) in self.bounds.iter().zip(&self.counts).enumerate() {
            let through = below + n;
            if n > 0 && through as f64 >= rank {
                if i == 0 && bound <= 0.0 {
                    return Some(bound);
                }
                let start = match i {
                    0 => 0.0,
                    _ => self.bounds.get(i - 1).copied().unwrap_or(0.0),
                };
                let within = (rank - below as f64).max(0.0) / n as f64;
                return Some(start + (bound - start) * within);
            }
            below = through;
        }
        Some(highest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(bounds: &'static [f64], values: &[f64]) -> Histogram {
        let mut h = Histogram::new(bounds);
        for v in values {
            h.observe(*v);
        }
        h
    }

    const SECONDS: [f64; 4] = [1.0, 2.0, 5.0, 10.0];

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        // Ten observations in (2, 5]: the median is halfway through it, the 95th
        // percentile 95 % of the way, not the bound 5.
        let h = histogram(&SECONDS, &[2.5; 10]);
        assert_eq!(h.quantile(0.5), Some(3.5));
        assert_eq!(h.quantile(0.95), Some(2.0 + 3.0 * 0.95));
        // Ranks spread over buckets: 2 in (0, 1], 2 in (1, 2]; the median is the end of the
        // first bucket, the 75th percentile halfway through the second.
        let h = histogram(&SECONDS, &[0.5, 0.5, 1.5, 1.5]);
        assert_eq!(h.quantile(0.5), Some(1.0));
        assert_eq!(h.quantile(0.75), Some(1.5));
        assert_eq!(h.quantile(1.0), Some(2.0));
    }

    #[test]
    fn the_first_bucket_interpolates_from_zero() {
        let h = histogram(&SECONDS, &[0.3; 4]);
        assert_eq!(h.quantile(0.5), Some(0.5));
        assert_eq!(h.quantile(0.0), Some(0.0));
    }

    #[test]
    fn a_first_bound_at_or_below_zero_is_returned_as_is() {
        const DBM: [f64; 3] = [-90.0, -70.0, -50.0];
        let h = histogram(&DBM, &[-95.0, -95.0]);
        assert_eq!(h.quantile(0.5), Some(-90.0));
        let h = histogram(&DBM, &[-80.0, -80.0]);
        assert_eq!(h.quantile(0.5), Some(-80.0));
    }

    #[test]
    fn a_rank_above_every_bound_gives_the_highest_bound() {
        let h = histogram(&SECONDS, &[0.5, 60.0, 60.0, 60.0]);
        assert_eq!(h.quantile(0.95), Some(10.0));
        assert_eq!(h.quantile(0.25), Some(1.0));
    }

    #[test]
    fn empty_or_meaningless_asks_have_no_quantile() {
        assert_eq!(Histogram::new(&SECONDS).quantile(0.5), None);
        let h = histogram(&SECONDS, &[1.0]);
        assert_eq!(h.quantile(-0.1), None);
        assert_eq!(h.quantile(1.5), None);
        assert_eq!(h.quantile(f64::NAN), None);
        assert_eq!(histogram(&[], &[1.0]).quantile(0.5), None);
    }

    #[test]
    fn empty_buckets_before_the_rank_are_skipped() {
        // Nothing in (0, 1] or (1, 2]: the lowest quantile starts where observations are.
        let h = histogram(&SECONDS, &[3.0, 4.0]);
        assert_eq!(h.quantile(0.0), Some(2.0));
        assert_eq!(h.quantile(0.5), Some(3.5));
    }
}
