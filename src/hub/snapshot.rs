//! The immutable picture of the venue that every consumer reads: `/metrics`, `/api/status`,
//! and later the status page, history and report. One is published per tick.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::inventory::LinkKind;
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
    /// Zones in config order.
    pub zones: Vec<ZoneSnapshot>,
    /// Monitored interfaces, by name.
    pub interfaces: Vec<InterfaceSnapshot>,
    /// Access points (hostapd BSSs), by zone and name.
    pub aps: Vec<ApSnapshot>,
    /// Health of every source.
    pub sources: Vec<SourceSnapshot>,
}

/// One zone.
#[derive(Debug, Clone, Serialize)]
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
            stations: 0,
            signals_dbm: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
            channel_utilization: None,
            events,
        }
    }
}
