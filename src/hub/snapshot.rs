//! The immutable picture of the venue that every consumer reads: `/metrics`, `/api/status`,
//! and later the status page, history and report. One is published per tick.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::inventory::LinkKind;
use crate::sources::dhcp::PoolStatistics;
use crate::sources::hostapd::{ApEvents, Band};
use crate::sources::links::Counters;

/// The venue at one tick.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Wall-clock time the snapshot was made, in Unix seconds (0 before the first tick).
    pub generated_at: u64,
    /// Venue name from the config.
    pub venue: String,
    /// Event id from the config.
    pub event: String,
    /// Seconds between snapshots.
    pub tick_seconds: f64,
    /// Seconds a client stays counted after its last sighting.
    pub active_window_seconds: f64,
    /// The worst zone status.
    pub status: Status,
    /// Estimated unique devices seen venue-wide since the agent started.
    pub unique_clients_estimate: f64,
    /// Clients dropped from the registry before their active window ended because it held
    /// `[agent] max_clients`, since start.
    pub clients_evicted_total: u64,
    /// Zones in config order.
    pub zones: Vec<ZoneSnapshot>,
    /// Monitored interfaces, by name.
    pub interfaces: Vec<InterfaceSnapshot>,
    /// Access points (hostapd BSSs), by zone and name.
    pub aps: Vec<ApSnapshot>,
    /// DHCP pools, by name.
    pub pools: Vec<PoolSnapshot>,
    /// Live captures, by interface.
    pub captures: Vec<crate::sources::capture::summary::CaptureSummary>,
    /// Health of every source.
    pub sources: Vec<SourceSnapshot>,
}

/// One zone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ZoneSnapshot {
    /// Stable id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Seat capacity, when configured.
    pub seats: Option<u32>,
    /// Unique active clients.
    pub clients: u64,
    /// Of those, with randomized MACs.
    pub clients_randomized: u64,
    /// Unique active clients per source.
    pub clients_by_source: BTreeMap<&'static str, u64>,
    /// Estimated unique devices seen in the zone since the agent started.
    pub unique_clients_estimate: f64,
    /// Ok, warn or critical: the worst of `reasons`.
    pub status: Status,
    /// Why the zone is not ok, worst first.
    pub reasons: Vec<Reason>,
    /// Bits per second received on the zone's interfaces, when their rates are known.
    pub rx_bps: Option<f64>,
    /// Bits per second sent on the zone's interfaces, when their rates are known.
    pub tx_bps: Option<f64>,
    /// Utilisation (0..=1) of the zone's busiest interface with a known speed.
    pub uplink_utilisation: Option<f64>,
    /// Stations associated with the zone's access points, when hostapd reports them.
    pub stations: Option<u64>,
    /// Access points answering in the zone.
    pub aps: u64,
    /// Active leases in the zone's pools whose size is known.
    pub pool_leases: Option<u64>,
    /// Addresses in those pools.
    pub pool_size: Option<u64>,
    /// 95th percentile of DHCP DISCOVER→ACK in the last five minutes (seconds, estimated
    /// inside its histogram bucket), when the zone's captures saw leases.
    pub time_to_lease_p95: Option<f64>,
    /// Devices sending probe requests, estimated by the zone's captures since start.
    pub probing_devices: Option<f64>,
    /// The programme's session in the zone now, when there is a programme.
    pub session_now: Option<SessionSnapshot>,
    /// The zone's next session, within a day.
    pub session_next: Option<SessionSnapshot>,
    /// The last hour, for sparklines (not in the JSON: the page draws it).
    #[serde(skip)]
    pub history: Vec<super::recent::Point>,
    /// The limits the zone's status was judged by.
    #[serde(skip)]
    pub thresholds: crate::config::Thresholds,
}

/// A session of the programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSnapshot {
    /// Its title (text from the programme file: escaped wherever it is shown).
    pub title: String,
    /// Start and end, Unix seconds.
    pub starts: i64,
    pub ends: i64,
}

impl SessionSnapshot {
    /// The snapshot of a programme session.
    pub fn of(session: &crate::sources::schedule::ics::Session) -> SessionSnapshot {
        SessionSnapshot {
            title: session.title.clone(),
            starts: session.starts,
            ends: session.ends,
        }
    }
}

/// How a zone (or the venue) is doing; ordered from best to worst.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Within every threshold.
    #[default]
    Ok,
    /// Past a warn threshold.
    Warn,
    /// Past a critical threshold.
    Critical,
}

impl Status {
    /// Where `value` stands against a warn and a critical limit.
    pub fn of(value: f64, warn: f64, critical: f64) -> Status {
        if value >= critical {
            Status::Critical
        } else if value >= warn {
            Status::Warn
        } else {
            Status::Ok
        }
    }

    /// The metric value: 0 ok, 1 warn, 2 critical.
    pub fn value(self) -> i64 {
        self as i64
    }
}

/// One threshold a zone is past, in structured form (pages and reports word it per language).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// What is measured: `dhcp_pool`, `uplink`, `occupancy` or `time_to_lease`.
    pub kind: &'static str,
    /// Which one: a pool, an interface, a capture interface (empty for occupancy).
    pub subject: String,
    /// The measured value: a ratio for pools, uplinks and occupancy (clients per seat),
    /// seconds for time-to-lease.
    pub value: f64,
    /// The level it reached.
    pub status: Status,
}

/// One DHCP pool.
#[derive(Debug, Clone, Serialize)]
pub struct PoolSnapshot {
    /// Pool name.
    pub name: String,
    /// Zone id, if the pool has one.
    pub zone: Option<String>,
    /// Active leases, when the lease file could be read.
    pub leases_active: Option<u64>,
    /// Addresses in the pool: from the config, else from the server's statistics.
    pub size: Option<u64>,
    /// `leases_active / size`, when both are known.
    pub usage: Option<f64>,
    /// Status of the pool against the thresholds.
    pub status: Status,
    /// Malformed records in the lease file now.
    pub records_skipped: u64,
    /// The server's own statistics (Kea), when available.
    pub statistics: Option<PoolStatistics>,
}

/// One monitored interface.
#[derive(Debug, Clone, Serialize)]
pub struct InterfaceSnapshot {
    /// Kernel name.
    pub name: String,
    /// Zone id, if a zone claims it.
    pub zone: Option<String>,
    /// Device kind.
    pub kind: LinkKind,
    /// Operationally up.
    pub up: bool,
    /// Carrier present, when known.
    pub carrier: Option<bool>,
    /// MTU in bytes, when known.
    pub mtu: Option<u32>,
    /// Speed in bits per second, when known.
    pub speed_bps: Option<u64>,
    /// Raw traffic counters.
    pub counters: Counters,
    /// Received bits per second, once two samples are known.
    pub rx_bps: Option<f64>,
    /// Sent bits per second, once two samples are known.
    pub tx_bps: Option<f64>,
    /// The busier direction's share of the speed, when both are known.
    pub utilisation: Option<f64>,
}

/// One source's health.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSnapshot {
    /// Source name.
    pub source: &'static str,
    /// Instance (backend or path).
    pub instance: String,
    /// The last sample succeeded.
    pub up: bool,
    /// Failed samples by kind since start.
    pub errors: BTreeMap<&'static str, u64>,
    /// What went wrong last, while down.
    pub last_error: Option<String>,
    /// Duration of the last sample in seconds.
    pub duration_seconds: f64,
}

/// One access point.
#[derive(Debug, Clone, Serialize)]
pub struct ApSnapshot {
    /// BSS interface name.
    pub ap: String,
    /// Zone id, if it serves one.
    pub zone: Option<String>,
    /// Radio band.
    pub band: Band,
    /// Frequency in MHz, when known.
    pub frequency_mhz: Option<u32>,
    /// Channel, when known.
    pub channel: Option<u32>,
    /// The AP answered the last sample (else only its event totals are known).
    pub present: bool,
    /// Associated stations now.
    pub stations: u64,
    /// Each station's signal in dBm.
    #[serde(skip)]
    pub signals_dbm: Vec<i32>,
    /// Bytes received from the stations associated now.
    pub rx_bytes: u64,
    /// Bytes sent to the stations associated now.
    pub tx_bytes: u64,
    /// Channel utilization (0..=1), when hostapd reports it.
    pub channel_utilization: Option<f64>,
    /// Event totals since the agent started.
    #[serde(skip)]
    pub events: ApEvents,
}

impl ApSnapshot {
    /// An AP that does not answer now but whose event totals must stay visible.
    pub fn silent(ap: String, zone: Option<String>, events: ApEvents) -> ApSnapshot {
        ApSnapshot {
            ap,
            zone,
            band: Band::Unknown,
            frequency_mhz: None,
            channel: None,
            present: false,
            stations: 0,
            signals_dbm: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
            channel_utilization: None,
            events,
        }
    }
}

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
