//! The one builder of `/metrics` families: a gauge, counter or histogram family made directly
//! from `(label values, value)` rows read off the snapshot. Nothing is kept between scrapes,
//! so nothing needs resetting: a series is in a family only if the snapshot has its row.

use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};

use crate::model::histogram;

/// A count as a sample value (exact up to 2^53, past any count of a venue).
pub(super) fn count(n: u64) -> f64 {
    n as f64
}

/// One metric family being filled, row by row.
pub(super) struct Family {
    family: MetricFamily,
    labels: &'static [&'static str],
}

impl Family {
    fn new(kind: MetricType, name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        let mut family = MetricFamily::default();
        family.set_name(name.to_string());
        family.set_help(help.to_string());
        family.set_field_type(kind);
        Family { family, labels }
    }

    /// A gauge family with these label names.
    pub(super) fn gauge(name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        Family::new(MetricType::GAUGE, name, help, labels)
    }

    /// A counter family with these label names.
    pub(super) fn counter(name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        Family::new(MetricType::COUNTER, name, help, labels)
    }

    /// A histogram family with these label names.
    pub(super) fn histogram(name: &str, help: &str, labels: &'static [&'static str]) -> Family {
        Family::new(MetricType::HISTOGRAM, name, help, labels)
    }

    /// A new series with `values` for the label names, in their order; a label whose value
    /// is empty (an interface, pool or AP outside every zone) is left out: Prometheus stores
    /// an empty label as no label, and a series reads the same either way.
    fn series(&mut self, values: &[&str]) -> &mut Metric {
        debug_assert_eq!(values.len(), self.labels.len(), "{}", self.family.name());
        let mut pairs: Vec<LabelPair> = self
            .labels
            .iter()
            .zip(values)
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| {
                let mut pair = LabelPair::default();
                pair.set_name((*name).to_string());
                pair.set_value((*value).to_string());
                pair
            })
            .collect();
        pairs.sort_by(|a, b| a.name().cmp(b.name()));
        let mut metric = Metric::default();
        metric.set_label(pairs);
        self.family.mut_metric().push(metric);
        self.family
            .mut_metric()
            .last_mut()
            .expect("a series was just pushed")
    }

    /// Adds the series `values` with `value`: a gauge's value or a counter's total.
    pub(super) fn add(&mut self, values: &[&str], value: f64) {
        let kind = self.family.get_field_type();
        let metric = self.series(values);
        match kind {
            MetricType::COUNTER => {
                let mut counter = Counter::default();
                counter.set_value(value);
                metric.set_counter(counter);
            }
            _ => {
                let mut gauge = Gauge::default();
                gauge.set_value(value);
                metric.set_gauge(gauge);
            }
        }
    }

    /// Adds the series `values` holding `h`'s buckets, count and sum.
    pub(super) fn add_histogram(&mut self, values: &[&str], h: &histogram::Histogram) {
        let mut cumulative = 0;
        let buckets = h
            .bounds
            .iter()
            .zip(&h.counts)
            .map(|(bound, count)| {
                cumulative += count;
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*bound);
                bucket.set_cumulative_count(cumulative);
                bucket
            })
            .collect();
        let mut histogram = Histogram::default();
        histogram.set_bucket(buckets);
        histogram.set_sample_count(h.count);
        histogram.set_sample_sum(h.sum);
        self.series(values).set_histogram(histogram);
    }

    /// The family, or `None` when it has no series (a family with none is not written).
    pub(super) fn finish(self) -> Option<MetricFamily> {
        (!self.family.get_metric().is_empty()).then_some(self.family)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_series_with_sorted_labels_and_empty_values_left_out() {
        let mut f = Family::counter("venuemon_test_total", "Test.", &["zone", "ap"]);
        f.add(&["hall", "wlan0"], 3.0);
        f.add(&["", "wlan1"], 1.0);
        let family = f.finish().expect("two series");
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&[family])
            .expect("encode");
        assert!(
            text.contains("# TYPE venuemon_test_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("venuemon_test_total{ap=\"wlan0\",zone=\"hall\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("venuemon_test_total{ap=\"wlan1\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_family_without_rows_is_not_written() {
        assert!(
            Family::gauge("venuemon_test", "Test.", &[])
                .finish()
                .is_none()
        );
    }
}
