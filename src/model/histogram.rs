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
    /// The smallest and largest observation, when they are known: quantile estimates are
    /// kept inside them (a single 2.5 s observation has every quantile at 2.5 s, not at an
    /// interpolated point of its bucket). `None` for a histogram built from bucket counts
    /// alone.
    #[serde(skip)]
    pub range: Option<Range>,
}

/// The smallest and largest of some observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// The smallest observation.
    pub min: f64,
    /// The largest observation.
    pub max: f64,
}

impl Range {
    /// The range of one observation.
    pub fn of(value: f64) -> Range {
        Range {
            min: value,
            max: value,
        }
    }

    /// The range of `a`'s observations and `b`'s together.
    pub fn union(a: Option<Range>, b: Option<Range>) -> Option<Range> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Range {
                min: a.min.min(b.min),
                max: a.max.max(b.max),
            }),
            (a, b) => a.or(b),
        }
    }
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
            range: None,
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
        if !value.is_nan() {
            self.range = Range::union(self.range, Some(Range::of(value)));
        }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) estimated as Prometheus' `histogram_quantile` does: by
    /// linear interpolation inside the bucket that holds the rank `q × count`, the first
    /// bucket starting at 0 (unless its bound is at or below 0: then that bound). A rank in the
    /// bucket above every bound gives the highest bound, the most the buckets can say. When
    /// the observations' [`Range`] is known the estimate is then kept inside it: no quantile
    /// below the smallest observation or above the largest. `None` when there are no
    /// observations, no bounds, or `q` is outside 0..=1.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let estimate = self.bucket_quantile(q)?;
        Some(match self.range {
            Some(r) if r.min <= r.max => estimate.clamp(r.min, r.max),
            _ => estimate,
        })
    }

    /// The `q`-quantile from the buckets alone (see [`Histogram::quantile`]).
    fn bucket_quantile(&self, q: f64) -> Option<f64> {
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

    /// `h` as if built from bucket counts alone (no observed range), to test interpolation.
    fn buckets_only(mut h: Histogram) -> Histogram {
        h.range = None;
        h
    }

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        // Ten observations in (2, 5]: the median is halfway through it, the 95th
        // percentile 95 % of the way, not the bound 5.
        let h = buckets_only(histogram(&SECONDS, &[2.5; 10]));
        assert_eq!(h.quantile(0.5), Some(3.5));
        assert_eq!(h.quantile(0.95), Some(2.0 + 3.0 * 0.95));
        // Ranks spread over buckets: 2 in (0, 1], 2 in (1, 2]; the median is the end of the
        // first bucket, the 75th percentile halfway through the second.
        let h = buckets_only(histogram(&SECONDS, &[0.5, 0.5, 1.5, 1.5]));
        assert_eq!(h.quantile(0.5), Some(1.0));
        assert_eq!(h.quantile(0.75), Some(1.5));
        assert_eq!(h.quantile(1.0), Some(2.0));
    }

    #[test]
    fn the_first_bucket_interpolates_from_zero() {
        let h = buckets_only(histogram(&SECONDS, &[0.3; 4]));
        assert_eq!(h.quantile(0.5), Some(0.5));
        assert_eq!(h.quantile(0.0), Some(0.0));
    }

    #[test]
    fn a_first_bound_at_or_below_zero_is_returned_as_is() {
        const DBM: [f64; 3] = [-90.0, -70.0, -50.0];
        let h = buckets_only(histogram(&DBM, &[-95.0, -95.0]));
        assert_eq!(h.quantile(0.5), Some(-90.0));
        let h = buckets_only(histogram(&DBM, &[-80.0, -80.0]));
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
    fn a_single_lease_of_2_5_s_has_a_p95_of_2_5_s_not_its_bucket_interpolation() {
        // Issue 10: one 2.5 s observation gave a p95 of 4.85 s (95 % of the way through
        // (2, 5]).
        let h = histogram(&SECONDS, &[2.5]);
        assert_eq!(h.range, Some(Range::of(2.5)));
        assert_eq!(h.quantile(0.95), Some(2.5));
        assert_eq!(h.quantile(0.5), Some(2.5));
        assert_eq!(h.quantile(0.0), Some(2.5));
    }

    #[test]
    fn two_observations_keep_every_quantile_between_them() {
        let h = histogram(&SECONDS, &[2.5, 3.0]);
        assert_eq!(h.range, Some(Range { min: 2.5, max: 3.0 }));
        assert_eq!(h.quantile(0.95), Some(3.0), "bucket estimate 4.85 clamped");
        assert_eq!(h.quantile(0.0), Some(2.5), "bucket estimate 2 clamped");
        // In different buckets: the median is the end of the first one, inside the range.
        let h = histogram(&SECONDS, &[0.5, 1.5]);
        assert_eq!(h.quantile(0.5), Some(1.0));
        assert_eq!(h.quantile(1.0), Some(1.5), "bucket bound 2 clamped");
    }

    #[test]
    fn many_observations_interpolate_inside_the_observed_range() {
        let values: Vec<f64> = (0..100).map(|i| 0.2 + 0.045 * f64::from(i)).collect();
        let h = histogram(&SECONDS, &values);
        let (min, max) = (0.2, 0.2 + 0.045 * 99.0);
        assert_eq!(h.range, Some(Range { min, max }));
        // The median is interpolated in (2, 5] as before: inside the range, untouched.
        assert_eq!(h.quantile(0.5), buckets_only(h.clone()).quantile(0.5));
        assert!(h.quantile(0.5).is_some_and(|m| m > min && m < max));
        // The top: the bucket says up to 5, the largest observation was 4.655.
        assert_eq!(buckets_only(h.clone()).quantile(1.0), Some(5.0));
        assert_eq!(h.quantile(1.0), Some(max));
        // Above every bound: the highest bound was the most the buckets could say; the
        // observed range says less when it can.
        let h = histogram(&SECONDS, &[0.5, 12.0, 12.0, 12.0]);
        assert_eq!(h.quantile(0.95), Some(10.0));
        let h = histogram(&SECONDS, &[0.5, 8.0]);
        assert_eq!(h.quantile(0.95), Some(8.0));
    }

    #[test]
    fn nan_observations_leave_the_range_alone() {
        let h = histogram(&SECONDS, &[f64::NAN, 2.5]);
        assert_eq!(h.range, Some(Range::of(2.5)));
    }

    #[test]
    fn empty_buckets_before_the_rank_are_skipped() {
        // Nothing in (0, 1] or (1, 2]: the lowest quantile starts where observations are.
        let h = buckets_only(histogram(&SECONDS, &[3.0, 4.0]));
        assert_eq!(h.quantile(0.0), Some(2.0));
        assert_eq!(h.quantile(0.5), Some(3.5));
    }
}
