//! Snapshot assembly: the venue state turned into the immutable [`Snapshot`] of one tick,
//! venue-wide parts first (pools, interfaces, access points, captures), then each zone
//! summarised from them, judged by the status rules, and recorded in its last hour.

use std::collections::BTreeMap;
use std::time::SystemTime;

use tokio::time::Instant;

use super::Hub;
use super::capture::CaptureSummary;
use super::recent::{LEASE_WINDOW, Point};
use super::registry::ZoneCounts;
use super::rules::{self, Measures};
use super::snapshot::{
    ApSnapshot, InterfaceSnapshot, PoolSnapshot, SessionSnapshot, Snapshot, Status, ZoneSnapshot,
};
use crate::config::Thresholds;
use crate::inventory::ZoneIdx;
use crate::model::access_points::ApEvents;
use crate::model::grid::unix_seconds;
use crate::model::programme::ZoneSession;

/// The venue-wide parts of a snapshot that zones are summarised from.
struct Parts<'a> {
    pools: Vec<PoolSnapshot>,
    interfaces: Vec<InterfaceSnapshot>,
    aps: Vec<ApSnapshot>,
    captures: Vec<CaptureSummary>,
    /// Recent DHCP time-to-lease p95 per capture interface.
    recent_ttl: BTreeMap<&'a str, Option<f64>>,
    /// The snapshot's time, Unix seconds.
    at: i64,
}

impl Hub {
    /// The venue now, as an immutable snapshot.
    pub fn snapshot(&mut self, now: Instant, wall: SystemTime) -> Snapshot {
        self.venue.registry.expire(now);
        let generated_at = unix_seconds(wall);
        self.venue.registry.start_hour(generated_at / 3600);
        let counts = self.venue.registry.counts(self.inventory.zones.len(), now);
        let mut recent_ttl = BTreeMap::new();
        for (interface, c) in &mut self.venue.captures {
            let recent = c
                .recent_leases
                .push(now, &c.totals.time_to_lease, LEASE_WINDOW);
            recent_ttl.insert(interface.clone(), recent.quantile(0.95));
        }
        let captures: Vec<CaptureSummary> = self
            .venue
            .captures
            .iter()
            .map(|(interface, c)| {
                CaptureSummary::new(interface, self.zone_id(c.zone), &c.totals, &c.ap_names)
            })
            .collect();
        let parts = Parts {
            pools: self.pool_snapshots(),
            interfaces: self.interface_snapshots(),
            aps: self.ap_snapshots(),
            captures,
            recent_ttl: recent_ttl.iter().map(|(k, v)| (k.as_str(), *v)).collect(),
            at: i64::try_from(generated_at).unwrap_or(i64::MAX),
        };
        let mut zones: Vec<ZoneSnapshot> = counts
            .into_iter()
            .enumerate()
            .map(|(index, c)| self.zone_snapshot(index, c, &parts))
            .collect();
        for (zone, history) in zones.iter_mut().zip(&mut self.history) {
            history.record(Point {
                at: generated_at,
                clients: zone.clients,
                uplink: zone.uplink_utilization,
                pool: zone
                    .pool_leases
                    .zip(zone.pool_size)
                    .filter(|(_, s)| *s > 0)
                    .map(|(a, s)| a as f64 / s as f64),
            });
            zone.history = history.points();
        }
        let snapshot = Snapshot {
            generated_at,
            venue: self.name.clone(),
            event: self.event.clone(),
            timezone: self.timezone.clone(),
            tick_seconds: self.tick.as_secs_f64(),
            active_window_seconds: self.window.as_secs_f64(),
            status: zones.iter().map(|z| z.status).max().unwrap_or_default(),
            unique_clients_estimate: self.venue.registry.unique_in_venue().round(),
            clients_evicted_total: self.venue.registry.evicted(),
            zones,
            pools: parts.pools,
            interfaces: parts.interfaces,
            aps: parts.aps,
            captures: parts.captures,
            sources: self.health.snapshots(),
            programme: self.venue.programme.clone(),
        };
        // What the sources sample from now on is for the next tick: when that tick is in the
        // next hour, so are its sightings (this snapshot holds the last sketch of this hour).
        let next = unix_seconds(wall + self.tick);
        self.venue.registry.start_hour(next / 3600);
        snapshot
    }

    /// The zone's thresholds, or the venue's for what belongs to no zone.
    fn thresholds_of(&self, zone: Option<ZoneIdx>) -> &Thresholds {
        zone.and_then(|z| self.inventory.zones.get(z))
            .map_or(&self.thresholds, |z| &z.thresholds)
    }

    fn zone_id(&self, zone: Option<ZoneIdx>) -> Option<String> {
        zone.and_then(|z| self.inventory.zones.get(z))
            .map(|z| z.id.clone())
    }

    /// The pools now, with their use and status against the thresholds.
    fn pool_snapshots(&self) -> Vec<PoolSnapshot> {
        self.venue
            .pools
            .iter()
            .map(|(name, state)| {
                let leases = state.leases.as_ref().map(|(_, l)| l);
                let statistics = state.statistics.as_ref().map(|(_, s)| *s);
                let size = leases
                    .and_then(|l| l.pool_size)
                    .or(statistics.map(|s| s.total));
                let leases_active = leases.map(|l| l.leases_active);
                let usage = match (leases_active, size) {
                    (Some(active), Some(size)) if size > 0 => Some(active as f64 / size as f64),
                    _ => None,
                };
                let zone = leases.and_then(|l| l.zone);
                PoolSnapshot {
                    name: name.clone(),
                    zone: self.zone_id(zone),
                    leases_active,
                    size,
                    usage,
                    status: rules::pool_status(usage, self.thresholds_of(zone)),
                    records_skipped: leases.map_or(0, |l| l.skipped),
                    statistics,
                }
            })
            .collect()
    }

    fn interface_snapshots(&self) -> Vec<InterfaceSnapshot> {
        let mut interfaces: Vec<InterfaceSnapshot> = self
            .venue
            .interfaces
            .values()
            .flatten()
            .map(|known| {
                let (s, rate) = (&known.sample, &known.rate);
                InterfaceSnapshot {
                    name: s.link.name.clone(),
                    zone: self.zone_id(s.zone),
                    kind: s.link.kind,
                    up: s.link.up,
                    carrier: s.link.carrier,
                    mtu: s.link.mtu,
                    speed_bps: s.link.speed_bps,
                    counters: s.link.counters,
                    rx_bps: rate.rx_bps,
                    tx_bps: rate.tx_bps,
                    utilization: rate.utilization(s.link.speed_bps),
                }
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        interfaces
    }

    fn ap_snapshots(&self) -> Vec<ApSnapshot> {
        let mut aps: Vec<ApSnapshot> = self
            .venue
            .aps
            .values()
            .flatten()
            .map(|a| ApSnapshot {
                ap: a.ap.clone(),
                zone: self.zone_id(a.zone),
                band: a.band,
                frequency_mhz: a.frequency_mhz,
                channel: a.channel,
                present: true,
                stations: a.stations,
                signals_dbm: a.signals_dbm.clone(),
                rx_bytes: a.rx_bytes,
                tx_bytes: a.tx_bytes,
                channel_utilization: a.channel_utilization,
                events: ApEvents::default(),
            })
            .collect();
        // Event totals also for APs not answering now, so counters never go backwards.
        for ((ap, zone), events) in &self.venue.ap_events {
            let zone = self.zone_id(*zone);
            match aps.iter_mut().find(|a| &a.ap == ap && a.zone == zone) {
                Some(a) => a.events = *events,
                None => aps.push(ApSnapshot::silent(ap.clone(), zone, *events)),
            }
        }
        aps.sort_by(|a, b| (&a.zone, &a.ap).cmp(&(&b.zone, &b.ap)));
        aps
    }

    /// Which of the sources covering `zone` answered (see [`rules::judge`]).
    fn coverage(&self, zone: ZoneIdx) -> rules::Coverage<'_> {
        let mut coverage = rules::Coverage::default();
        for owner in self.venue.covering(zone) {
            if self.health.is_up(owner) {
                coverage.up += 1;
            } else {
                *coverage.down.entry(owner.source).or_default() += 1;
            }
        }
        for owner in self.health.down() {
            if !self.venue.coverage.contains_key(owner) {
                *coverage.never_answered.entry(owner.source).or_default() += 1;
            }
        }
        coverage
    }

    /// One zone from the venue-wide parts of the snapshot.
    fn zone_snapshot(&self, index: usize, counts: ZoneCounts, parts: &Parts<'_>) -> ZoneSnapshot {
        let zone = &self.inventory.zones[index];
        let t = &zone.thresholds;
        let mine = |z: &Option<String>| z.as_deref() == Some(zone.id.as_str());
        let (session_now, session_next) = self
            .venue
            .programme
            .as_deref()
            .map_or((None, None), |p| sessions(p, index, parts.at));

        let pools: Vec<&PoolSnapshot> = parts.pools.iter().filter(|p| mine(&p.zone)).collect();
        let sized: Vec<_> = pools
            .iter()
            .filter_map(|p| p.leases_active.zip(p.size))
            .collect();
        let interfaces: Vec<&InterfaceSnapshot> =
            parts.interfaces.iter().filter(|i| mine(&i.zone)).collect();
        let busiest = interfaces
            .iter()
            .filter_map(|i| Some((i, i.utilization?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let captures: Vec<_> = parts.captures.iter().filter(|c| mine(&c.zone)).collect();
        let time_to_lease: Vec<(&str, f64)> = captures
            .iter()
            .filter_map(|c| {
                let p95 = parts
                    .recent_ttl
                    .get(c.interface.as_str())
                    .copied()
                    .flatten()?;
                Some((c.interface.as_str(), p95))
            })
            .collect();
        let measures = Measures {
            pools_past: pools
                .iter()
                .filter(|p| p.status != Status::Ok)
                .map(|p| (p.name.as_str(), p.usage.unwrap_or(0.0)))
                .collect(),
            busiest_uplink: busiest.map(|(i, u)| (i.name.as_str(), u)),
            per_seat: zone
                .seats
                .filter(|s| *s > 0)
                .map(|seats| counts.clients as f64 / f64::from(seats)),
            time_to_lease,
        };
        let (status, reasons) = rules::judge(rules::reasons(&measures, t), &self.coverage(index));

        let sum = |values: Vec<f64>| (!values.is_empty()).then(|| values.iter().sum::<f64>());
        let aps: Vec<_> = parts
            .aps
            .iter()
            .filter(|a| a.present && mine(&a.zone))
            .collect();
        let pool_usage = sized
            .iter()
            .map(|(a, s)| (*a, *s))
            .reduce(|x, y| (x.0 + y.0, x.1 + y.1));
        ZoneSnapshot {
            id: zone.id.clone(),
            name: zone.name.clone(),
            seats: zone.seats,
            clients: counts.clients,
            clients_randomized: counts.randomized,
            clients_by_source: counts.by_source,
            unique_clients_estimate: self.venue.registry.unique_in_zone(index).round(),
            unique_this_hour: self.venue.registry.unique_this_hour(index),
            status,
            rx_bps: sum(interfaces.iter().filter_map(|i| i.rx_bps).collect()),
            tx_bps: sum(interfaces.iter().filter_map(|i| i.tx_bps).collect()),
            uplink_utilization: busiest.map(|(_, u)| u),
            stations: (!aps.is_empty()).then(|| aps.iter().map(|a| a.stations).sum()),
            aps: aps.len() as u64,
            pool_leases: pool_usage.map(|(a, _)| a),
            pool_size: pool_usage.map(|(_, s)| s),
            time_to_lease_p95: measures
                .time_to_lease
                .iter()
                .map(|(_, p95)| *p95)
                .reduce(f64::max),
            probing_devices: sum(captures
                .iter()
                .map(|c| c.probing_devices_estimate)
                .collect())
            .filter(|_| captures.iter().any(|c| !c.channels.is_empty())),
            session_now,
            session_next,
            reasons,
            history: Vec::new(),
            thresholds: t.clone(),
        }
    }
}

/// The zone's session on at `at` (the latest started, when sessions overlap) and the next
/// one to start, within a day, in `programme`: the live snapshot's, and the page's past.
pub(crate) fn sessions(
    programme: &[ZoneSession],
    zone: ZoneIdx,
    at: i64,
) -> (Option<SessionSnapshot>, Option<SessionSnapshot>) {
    let mine = programme
        .iter()
        .filter(|s| s.zone == zone)
        .map(|s| &s.session);
    let now = mine
        .clone()
        .filter(|s| s.starts <= at && at < s.ends)
        .max_by_key(|s| s.starts);
    let next = mine
        .filter(|s| s.starts > at && s.starts - at <= 86_400)
        .min_by_key(|s| s.starts);
    (now.map(SessionSnapshot::of), next.map(SessionSnapshot::of))
}
