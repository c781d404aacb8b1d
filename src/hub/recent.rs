//! What the hub remembers between ticks to say how things are moving: interface bit rates
//! (from successive counter samples), recent DHCP time-to-lease (a sliding window over a
//! capture's cumulative histogram), and the last hour of each zone for the status page's
//! sparklines (fixed buckets, so the memory is bounded whatever the tick).

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::model::histogram::{Histogram, Range};
use crate::model::interfaces::Counters;

/// Bit rates of one interface, from its last two counter samples.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkRate {
    at: Instant,
    counters: Counters,
    /// Received bits per second, once two samples are known.
    pub rx_bps: Option<f64>,
    /// Sent bits per second, once two samples are known.
    pub tx_bps: Option<f64>,
}

impl LinkRate {
    /// The first sample: no rate yet.
    pub(crate) fn first(counters: Counters, at: Instant) -> LinkRate {
        LinkRate {
            at,
            counters,
            rx_bps: None,
            tx_bps: None,
        }
    }

    /// The rate since the previous sample. A counter that went backwards (a reset, or an
    /// interface recreated under the same name) gives no rate for this interval.
    pub(crate) fn next(&self, counters: Counters, at: Instant) -> LinkRate {
        let seconds = at.saturating_duration_since(self.at).as_secs_f64();
        let rate = |now: u64, before: u64| {
            (seconds > 0.0 && now >= before).then(|| (now - before) as f64 * 8.0 / seconds)
        };
        LinkRate {
            at,
            counters,
            rx_bps: rate(counters.rx_bytes, self.counters.rx_bytes),
            tx_bps: rate(counters.tx_bytes, self.counters.tx_bytes),
        }
    }

    /// The busier direction's share of `speed_bps`.
    pub(crate) fn utilization(&self, speed_bps: Option<u64>) -> Option<f64> {
        let speed = speed_bps.filter(|s| *s > 0)? as f64;
        let busiest = self.rx_bps?.max(self.tx_bps?);
        Some(busiest / speed)
    }
}

/// How far back "recent" DHCP time-to-lease looks.
pub(crate) const LEASE_WINDOW: Duration = Duration::from_secs(300);

/// A cumulative histogram's values over a sliding window: the totals now minus the totals
/// at the oldest sample still inside the window, with the range of the observations made
/// inside it (which no subtraction of totals can give), so its quantiles stay inside what
/// was observed.
#[derive(Debug, Default)]
pub(crate) struct Window {
    samples: VecDeque<Sample>,
    /// The range of the observations noted since the last push.
    pending: Option<Range>,
}

/// The totals at one push, and the range of the observations noted since the one before.
#[derive(Debug)]
struct Sample {
    at: Instant,
    totals: Histogram,
    added: Option<Range>,
}

impl Window {
    /// Notes observations that are also being added to the totals pushed next.
    pub(crate) fn note(&mut self, values: impl IntoIterator<Item = f64>) {
        for v in values.into_iter().filter(|v| !v.is_nan()) {
            self.pending = Range::union(self.pending, Some(Range::of(v)));
        }
    }

    /// Records the cumulative `totals` at `now` and returns what was added within `span`.
    pub(crate) fn push(&mut self, now: Instant, totals: &Histogram, span: Duration) -> Histogram {
        while self
            .samples
            .get(1)
            .is_some_and(|s| now.saturating_duration_since(s.at) >= span)
        {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            at: now,
            totals: totals.clone(),
            added: self.pending.take(),
        });
        let mut recent = totals.clone();
        if let Some(oldest) = self.samples.front() {
            for (r, o) in recent.counts.iter_mut().zip(&oldest.totals.counts) {
                *r = r.saturating_sub(*o);
            }
            recent.count = recent.count.saturating_sub(oldest.totals.count);
            recent.sum = (recent.sum - oldest.totals.sum).max(0.0);
            // What the oldest sample added is before the window's start (its baseline).
            recent.range = self
                .samples
                .iter()
                .skip(1)
                .fold(None, |range, s| Range::union(range, s.added));
        }
        recent
    }
}

/// One sparkline bucket of a zone: the worst values seen in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    /// Start of the bucket, Unix seconds.
    pub at: u64,
    /// Most active clients.
    pub clients: u64,
    /// Highest uplink utilization (0..=1), when known.
    pub uplink: Option<f64>,
    /// Highest DHCP pool use (0..=1), when known.
    pub pool: Option<f64>,
}

impl Point {
    fn merge(&mut self, other: &Point) {
        let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.clients = self.clients.max(other.clients);
        self.uplink = max(self.uplink, other.uplink);
        self.pool = max(self.pool, other.pool);
    }
}

/// Width of a sparkline bucket in seconds.
pub(crate) const BUCKET_SECONDS: u64 = 30;
/// Buckets kept: one hour.
pub(crate) const BUCKETS: usize = 120;

/// The last hour of one zone, one point per 30-second bucket.
#[derive(Debug, Default, Clone)]
pub(crate) struct History {
    points: VecDeque<Point>,
}

impl History {
    /// Adds a tick's values, merging them into the bucket of `value.at`.
    pub(crate) fn record(&mut self, mut value: Point) {
        value.at -= value.at % BUCKET_SECONDS;
        match self.points.back_mut() {
            Some(last) if last.at == value.at => last.merge(&value),
            _ => {
                self.points.push_back(value);
                while self.points.len() > BUCKETS
                    || self
                        .points
                        .front()
                        .is_some_and(|p| p.at + BUCKET_SECONDS * BUCKETS as u64 <= value.at)
                {
                    self.points.pop_front();
                }
            }
        }
    }

    /// The points, oldest first.
    pub(crate) fn points(&self) -> Vec<Point> {
        self.points.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(rx: u64, tx: u64) -> Counters {
        Counters {
            rx_bytes: rx,
            tx_bytes: tx,
            ..Counters::default()
        }
    }

    #[test]
    fn rates_come_from_two_samples_and_skip_resets() {
        let t0 = Instant::now();
        let first = LinkRate::first(counters(1_000, 0), t0);
        assert_eq!(first.rx_bps, None);
        assert_eq!(first.utilization(Some(1_000)), None);
        let second = first.next(counters(126_000, 12_500), t0 + Duration::from_secs(2));
        assert_eq!(second.rx_bps, Some(500_000.0));
        assert_eq!(second.tx_bps, Some(50_000.0));
        assert_eq!(second.utilization(Some(1_000_000)), Some(0.5));
        assert_eq!(second.utilization(None), None);
        assert_eq!(second.utilization(Some(0)), None);
        let reset = second.next(counters(10, 20_000), t0 + Duration::from_secs(3));
        assert_eq!(reset.rx_bps, None);
        assert_eq!(reset.tx_bps, Some(60_000.0));
    }

    #[test]
    fn window_keeps_only_recent_observations() {
        let bounds: &'static [f64] = &[1.0, 5.0];
        let mut totals = Histogram::new(bounds);
        let mut window = Window::default();
        let t0 = Instant::now();
        let span = Duration::from_secs(300);
        totals.observe(0.5);
        let recent = window.push(t0, &totals, span);
        assert_eq!(recent.count, 0, "the first sample is the baseline");
        totals.observe(3.0);
        let recent = window.push(t0 + Duration::from_secs(100), &totals, span);
        assert_eq!((recent.count, recent.counts.clone()), (1, vec![0, 1, 0]));
        totals.observe(9.0);
        let recent = window.push(t0 + Duration::from_secs(450), &totals, span);
        assert_eq!(
            recent.counts,
            vec![0, 0, 1],
            "the 3 s lease left the window"
        );
    }

    #[test]
    fn window_quantiles_stay_inside_the_observations_of_the_window() {
        let bounds: &'static [f64] = &[1.0, 5.0];
        let mut totals = Histogram::new(bounds);
        let mut window = Window::default();
        let t0 = Instant::now();
        let span = Duration::from_secs(300);
        let observe = |totals: &mut Histogram, window: &mut Window, v: f64| {
            totals.observe(v);
            window.note([v]);
        };
        observe(&mut totals, &mut window, 4.5);
        window.push(t0, &totals, span);
        // One 2.5 s lease in the window: its p95 is 2.5 s, not 4.8 s inside (1, 5].
        observe(&mut totals, &mut window, 2.5);
        let recent = window.push(t0 + Duration::from_secs(100), &totals, span);
        assert_eq!(recent.range, Some(Range::of(2.5)), "4.5 s was the baseline");
        assert_eq!(recent.quantile(0.95), Some(2.5));
        observe(&mut totals, &mut window, 3.0);
        let recent = window.push(t0 + Duration::from_secs(200), &totals, span);
        assert_eq!(recent.range, Some(Range { min: 2.5, max: 3.0 }));
        // The 2.5 s lease leaves the window; 3 s alone is left.
        let recent = window.push(t0 + Duration::from_secs(450), &totals, span);
        assert_eq!(recent.count, 1);
        assert_eq!(recent.quantile(0.95), Some(3.0));
    }

    #[test]
    fn history_merges_buckets_and_keeps_one_hour() {
        let mut history = History::default();
        let point = |at, clients| Point {
            at,
            clients,
            uplink: None,
            pool: Some(0.1),
        };
        history.record(point(1_000_000, 5));
        history.record(Point {
            uplink: Some(0.4),
            ..point(1_000_010, 3)
        });
        let points = history.points();
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].at, 1_000_000 - 1_000_000 % 30);
        assert_eq!((points[0].clients, points[0].uplink), (5, Some(0.4)));
        for i in 0..300 {
            history.record(point(1_000_000 + i * 30, i));
        }
        let points = history.points();
        assert_eq!(points.len(), BUCKETS);
        assert_eq!(points.last().map(|p| p.clients), Some(299));
        // A gap longer than an hour forgets everything before it.
        history.record(point(1_000_000 + 300 * 30 + 7200, 1));
        assert_eq!(history.points().len(), 1);
    }
}
