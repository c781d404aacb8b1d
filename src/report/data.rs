//! The report's input: one event's per-minute series, whichever store they come from
//! (Prometheus' HTTP API, or venuemon's own history).
//!
//! Units: times are Unix seconds; series hold one value per step from [`EventData::from`]
//! (`None` where nothing was recorded); device counts are devices, traffic bytes per step,
//! utilization a ratio of the link speed (0..=1, above 1 when the driver under-reports).

use serde::{Deserialize, Serialize};

/// One value per step, `None` where the store holds nothing for that minute.
pub type Series = Vec<Option<f64>>;

/// Everything a report says about one event at one venue (or across venues).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventData {
    /// The venue's name, as people know it.
    pub venue: String,
    /// Start of the first step, Unix seconds.
    pub from: i64,
    /// Seconds between two values of every series (60 for the report).
    pub step: i64,
    /// Number of steps in every series.
    pub steps: usize,
    /// Seconds between two of the agent's ticks when longer than a step (a 5-minute
    /// `[agent] tick`): a value then stands until the next tick, over steps that hold none.
    /// 0 (or up to `step`): each value stands for its step.
    pub tick: i64,
    /// The zones, in config order.
    pub zones: Vec<ZoneData>,
    /// Monitored interfaces.
    pub interfaces: Vec<InterfaceData>,
    /// DHCP pools.
    pub pools: Vec<PoolData>,
    /// Sources (one per source and instance), for their up/down intervals.
    pub sources: Vec<SourceData>,
    /// Capture interfaces timing DHCP (DISCOVER to ACK).
    pub captures: Vec<CaptureData>,
    /// Unique devices over the event, when the store can tell.
    pub unique: Option<UniqueDevices>,
    /// The programme's sessions placed in a zone, by start.
    pub sessions: Vec<SessionData>,
}

impl EventData {
    /// Unix seconds at the start of step `index`.
    pub fn time(&self, index: usize) -> i64 {
        self.from + self.step * index as i64
    }

    /// End of the last step, Unix seconds.
    pub fn to(&self) -> i64 {
        self.time(self.steps)
    }

    /// The steps whose start lies in `[starts, ends)`.
    pub fn steps_within(&self, starts: i64, ends: i64) -> std::ops::Range<usize> {
        let index = |t: i64| {
            let offset = (t - self.from).max(0);
            let step = self.step.max(1);
            usize::try_from((offset + step - 1) / step)
                .unwrap_or(usize::MAX)
                .min(self.steps)
        };
        index(starts)..index(ends).max(index(starts))
    }
}

/// A zone and its per-step series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneData {
    /// The config's id (`hall-a`).
    pub id: String,
    /// Its name for people (`Salle A`).
    pub name: String,
    /// Seats, when the config gives them.
    pub seats: Option<u32>,
    /// Utilization from which an interface of the zone counts as saturated (the zone's
    /// `uplink_critical`, 0..=1).
    pub uplink_critical: f64,
    /// Devices per seat from which the zone is at warn (its `occupancy_warn`, the status
    /// page's threshold): the report recommends more access points from it.
    pub occupancy_warn: f64,
    /// The most devices in the zone at once during each step: its own busiest tick (the
    /// room's peaks and its chart).
    pub devices: Series,
    /// Devices in the zone at the venue's busiest tick of each step (or, from Prometheus,
    /// its last sample), so that the zones of a step add up to the venue's devices then: a
    /// device walking from a room to the foyer within the step counts once.
    pub devices_at_venue_peak: Series,
    /// Of `devices_at_venue_peak`, devices with a randomized (locally administered)
    /// address.
    pub randomized: Series,
    /// Status: 0 ok, 1 warn, 2 critical.
    pub status: Series,
    /// Devices associated per radio band, where access points say (`2.4`, `5`, `6` GHz).
    pub bands: Vec<BandSeries>,
}

/// Devices on one radio band of a zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandSeries {
    /// The band as the metrics name it (`2.4`, `5`, `6`).
    pub band: String,
    /// Associated stations.
    pub devices: Series,
}

/// A monitored interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterfaceData {
    /// Its name on the host.
    pub name: String,
    /// The zone (id) it serves, if any: traffic to attendees counts the zones' interfaces.
    pub zone: Option<String>,
    /// Utilization from which it counts as saturated (its zone's `uplink_critical`).
    pub uplink_critical: f64,
    /// Received bytes over link speed, 0..=1.
    pub utilization_rx: Series,
    /// Transmitted bytes over link speed, 0..=1.
    pub utilization_tx: Series,
    /// Bytes received during each step.
    pub rx_bytes: Series,
    /// Bytes transmitted during each step.
    pub tx_bytes: Series,
    /// 1 up, 0 down.
    pub up: Series,
}

/// A DHCP pool.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolData {
    /// Its name (the config's pool).
    pub name: String,
    /// The zone (id) it serves, if any.
    pub zone: Option<String>,
    /// Active leases.
    pub leases: Series,
    /// Addresses in the pool.
    pub size: Series,
}

/// A source instance's health.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceData {
    /// The kind of source (`dhcp`, `netdev`, ...).
    pub source: String,
    /// Which one (a file, an interface).
    pub instance: String,
    /// 1 when its sample succeeded, 0 when it failed.
    pub up: Series,
}

/// A capture interface's DHCP timing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureData {
    /// The capture interface.
    pub interface: String,
    /// 95th percentile of DISCOVER to ACK, seconds, over the last five minutes.
    pub time_to_lease_p95: Series,
    /// Seconds from which time-to-lease counts as slow (`time_to_lease_warn`).
    pub slow: f64,
}

/// Unique devices over the whole event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UniqueDevices {
    /// Estimated distinct devices (HyperLogLog, ~1.6 % error).
    pub devices: f64,
    /// Share of randomized addresses among the devices seen, 0..=1, when known.
    pub randomized_share: Option<f64>,
}

impl UniqueDevices {
    /// `devices` unique devices, the randomized share taken as the randomized devices'
    /// share of all devices over `zones`' series, both counted at the same tick of each
    /// step (unknown when no zone says).
    pub fn with_share(devices: f64, zones: &[ZoneData]) -> UniqueDevices {
        let sum = |pick: fn(&ZoneData) -> &Series| -> f64 {
            zones.iter().flat_map(|z| pick(z).iter().flatten()).sum()
        };
        let (all, random) = (sum(|z| &z.devices_at_venue_peak), sum(|z| &z.randomized));
        let known = zones
            .iter()
            .any(|z| z.randomized.iter().any(Option::is_some));
        UniqueDevices {
            devices,
            randomized_share: (known && all > 0.0).then(|| random / all),
        }
    }
}

/// A programme session placed in a zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionData {
    /// Its title (text for people, escaped where shown).
    pub title: String,
    /// The zone (id) its room is.
    pub zone: String,
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds.
    pub ends: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_within_take_the_steps_starting_inside() {
        let data = EventData {
            from: 1000,
            step: 60,
            steps: 10,
            ..EventData::default()
        };
        assert_eq!(data.steps_within(1000, 1120), 0..2);
        assert_eq!(data.steps_within(1001, 1120), 1..2);
        assert_eq!(data.steps_within(0, 99_999), 0..10);
        assert_eq!(data.steps_within(1600, 1700), 10..10);
        assert_eq!(data.steps_within(1200, 1100), 4..4);
        assert_eq!(data.to(), 1600);
    }
}
