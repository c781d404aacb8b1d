//! The immutable picture of the venue that every consumer reads: `/metrics`, `/api/status`,
//! and later the status page, history and report. One is published per tick.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::inventory::LinkKind;
use crate::model::ErrorKind;
use crate::model::access_points::{ApEvents, Band};
use crate::model::interfaces::Counters;
use crate::model::pools::PoolStatistics;

/// The venue at one tick.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Wall-clock time the snapshot was made, in Unix seconds (0 before the first tick).
    pub generated_at: u64,
    /// Venue name from the config.
    pub venue: String,
    /// Event id from the config.
    pub event: String,
    /// The venue's time zone from the config (an IANA name, `UTC` by default), kept in the
    /// history for the report (not in the JSON).
    #[serde(skip)]
    pub timezone: String,
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
    pub captures: Vec<super::capture::CaptureSummary>,
    /// Health of every source.
    pub sources: Vec<SourceSnapshot>,
    /// The programme as last read, zones by index in `zones` (not in the JSON: each zone
    /// has its session now and next; the page's past finds the sessions of a past moment in
    /// it).
    #[serde(skip)]
    pub programme: Option<std::sync::Arc<[crate::model::programme::ZoneSession]>>,
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
    /// Ok, warn or critical: the worst of the thresholds' `reasons`; unknown when no
    /// source that covers the zone answered.
    pub status: Status,
    /// Why the zone is not ok, worst first.
    pub reasons: Vec<Reason>,
    /// Bits per second received on the zone's interfaces, when their rates are known.
    pub rx_bps: Option<f64>,
    /// Bits per second sent on the zone's interfaces, when their rates are known.
    pub tx_bps: Option<f64>,
    /// Utilization (0..=1) of the zone's busiest interface with a known speed.
    pub uplink_utilization: Option<f64>,
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
    /// Devices seen in the zone since the hour of `generated_at` began, as a sketch (not in
    /// the JSON: the history keeps it per hour).
    #[serde(skip)]
    pub unique_this_hour: Option<std::sync::Arc<crate::model::unique::UniqueEstimate>>,
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
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds.
    pub ends: i64,
}

impl SessionSnapshot {
    /// The snapshot of a programme session.
    pub fn of(session: &crate::model::programme::Session) -> SessionSnapshot {
        SessionSnapshot {
            title: session.title.clone(),
            starts: session.starts,
            ends: session.ends,
        }
    }
}

/// How a zone (or the venue) is doing; ordered from best to worst. `Unknown` sits between
/// ok and warn: a zone no answering source covers needs a look more than one known to be
/// fine, and less than one known to be past a threshold (worst first, the page lists
/// critical, warn, unknown, then ok; the venue's status is the worst zone's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Within every threshold.
    #[default]
    Ok,
    /// No source that covers the zone answered: nothing can be judged.
    Unknown,
    /// Past a warn threshold.
    Warn,
    /// Past a critical threshold.
    Critical,
}

impl Status {
    /// The metric value: -1 unknown, 0 ok, 1 warn, 2 critical (so that `max()` over zones
    /// still picks real trouble).
    pub fn value(self) -> i64 {
        match self {
            Status::Unknown => -1,
            Status::Ok => 0,
            Status::Warn => 1,
            Status::Critical => 2,
        }
    }
}

/// One threshold a zone is past, in structured form (pages and reports word it per language).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// What is measured.
    pub kind: ReasonKind,
    /// Which one: a pool, an interface, a capture interface, a source kind (empty for
    /// occupancy and for no source).
    pub subject: String,
    /// The measured value: a ratio for pools, uplinks and occupancy (clients per seat),
    /// seconds for time-to-lease, instances for a source down.
    pub value: f64,
    /// The level it reached.
    pub status: Status,
}

/// What a [`Reason`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// A DHCP pool's usage (a ratio).
    DhcpPool,
    /// An uplink's utilization (a ratio).
    Uplink,
    /// Clients per seat.
    Occupancy,
    /// Recent DHCP time-to-lease p95 (seconds).
    TimeToLease,
    /// A source that covers the zone failed its last sample: `subject` is its kind
    /// (`dhcp`), `value` how many of its instances failed. Its status is `unknown`.
    SourceDown,
    /// No source covers the zone: none has reported anything placed in it (subject empty).
    NoSource,
}

impl ReasonKind {
    /// Every kind. History stores a zone's reasons as bits by position in this list (`2k`
    /// warn or unknown, `2k + 1` critical), so a new kind is appended, never inserted.
    pub const ALL: [ReasonKind; 6] = [
        ReasonKind::DhcpPool,
        ReasonKind::Uplink,
        ReasonKind::Occupancy,
        ReasonKind::TimeToLease,
        ReasonKind::SourceDown,
        ReasonKind::NoSource,
    ];
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
    pub utilization: Option<f64>,
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
    pub errors: BTreeMap<ErrorKind, u64>,
    /// What went wrong last, while down.
    pub last_error: Option<String>,
    /// Duration of the last sample in seconds.
    pub duration_seconds: f64,
}

/// Writes a frequency kept in MHz (as radios and hostapd give it) in hertz, the base unit
/// `/api/status` uses, as `/metrics` does.
pub(crate) fn mhz_as_hertz<T, S>(mhz: &Option<T>, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Copy + Into<u64>,
    S: serde::Serializer,
{
    mhz.map(|f| f.into() * 1_000_000).serialize(serializer)
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
    /// Frequency in MHz, when known (`frequency_hertz` in the JSON).
    #[serde(rename = "frequency_hertz", serialize_with = "mhz_as_hertz")]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON's final names (CHANGELOG.md): base units and one spelling, `utilization`.
    #[test]
    fn json_frequencies_are_in_hertz_and_utilization_has_one_spelling() {
        let ap = ApSnapshot {
            frequency_mhz: Some(2412),
            ..ApSnapshot::silent("wlan0".into(), None, ApEvents::default())
        };
        let json = serde_json::to_value(&ap).expect("json");
        assert_eq!(json["frequency_hertz"], 2_412_000_000_u64, "{json}");
        assert!(json.get("frequency_mhz").is_none(), "{json}");
        let silent = ApSnapshot::silent("wlan1".into(), None, ApEvents::default());
        assert!(serde_json::to_value(&silent).expect("json")["frequency_hertz"].is_null());
        let zone = serde_json::to_value(ZoneSnapshot {
            uplink_utilization: Some(0.5),
            ..ZoneSnapshot::default()
        })
        .expect("json");
        assert_eq!(zone["uplink_utilization"], 0.5, "{zone}");
        assert!(!zone.to_string().contains("utilisation"), "{zone}");
    }
}
