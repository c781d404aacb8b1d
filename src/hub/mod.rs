//! The hub owns the venue state: it applies the sources' reports, keeps the client registry
//! and source health, and publishes an immutable [`Snapshot`] each tick over a `watch`.

pub mod registry;
pub mod snapshot;
pub mod unique;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Thresholds};
use crate::inventory::Inventory;
use crate::sources::Source;
use crate::sources::capture::summary::{CaptureSummary, Totals};
use crate::sources::dhcp::{DhcpSample, DhcpSource, KeaStatisticsSource, PoolStatistics};
use crate::sources::hostapd::HostapdSource;
use crate::sources::hostapd::{ApEvents, ApSample};
use crate::sources::netdev::InterfaceSample;
use crate::sources::{Payload, Report};
use registry::Registry;
pub use snapshot::{
    ApSnapshot, InterfaceSnapshot, PoolSnapshot, Reason, Snapshot, SourceSnapshot, Status,
    ZoneSnapshot,
};

/// What the hub knows of one DHCP pool.
#[derive(Default)]
struct PoolState {
    /// The last sample of its lease file (without clients), while the file is readable.
    leases: Option<DhcpSample>,
    /// The server's statistics, while they answer.
    statistics: Option<PoolStatistics>,
}

/// What the hub knows of one live capture.
struct CaptureState {
    zone: Option<usize>,
    ap_names: std::sync::Arc<[String]>,
    totals: Totals,
}

/// Venue state between ticks.
pub struct Hub {
    inventory: Arc<Inventory>,
    venue: String,
    event: String,
    tick: Duration,
    window: Duration,
    interfaces: Vec<InterfaceSample>,
    /// Access points by the source instance that reported them.
    aps: BTreeMap<String, Vec<ApSample>>,
    /// Event totals since start, by access point and zone.
    ap_events: BTreeMap<(String, Option<usize>), ApEvents>,
    /// DHCP pools by name: the last lease count and the server's statistics.
    pools: BTreeMap<String, PoolState>,
    /// Live captures by interface: counts since start.
    captures: BTreeMap<String, CaptureState>,
    thresholds: Thresholds,
    registry: Registry,
    sources: BTreeMap<(&'static str, String), SourceSnapshot>,
}

impl Hub {
    /// A hub for the venue the config describes.
    pub fn new(config: &Config, inventory: Arc<Inventory>) -> Hub {
        Hub {
            inventory,
            venue: config.venue.name.clone(),
            event: config.venue.event.clone(),
            tick: config.agent.tick,
            window: config.agent.active_window,
            interfaces: Vec::new(),
            aps: BTreeMap::new(),
            ap_events: BTreeMap::new(),
            pools: BTreeMap::new(),
            captures: BTreeMap::new(),
            thresholds: config.thresholds.clone(),
            registry: Registry::new(config.agent.active_window),
            sources: BTreeMap::new(),
        }
    }

    /// Applies one source report received at `now`; logs once per change of a source's health.
    pub fn apply(&mut self, report: Report, now: Instant) {
        let health = self
            .sources
            .entry((report.source, report.instance.clone()))
            .or_insert_with(|| SourceSnapshot {
                source: report.source,
                instance: report.instance.clone(),
                up: false,
                errors: BTreeMap::new(),
                last_error: None,
                duration_seconds: 0.0,
            });
        health.duration_seconds = report.duration.as_secs_f64();
        let payload = match report.outcome {
            Ok(payload) => {
                if health.last_error.is_some() {
                    tracing::info!(source = report.source, instance = %report.instance, "source recovered");
                }
                health.up = true;
                health.last_error = None;
                payload
            }
            Err(error) => {
                if health.last_error.as_deref() != Some(error.message.as_str()) {
                    tracing::warn!(
                        source = report.source,
                        instance = %report.instance,
                        kind = error.kind,
                        error = %error.message,
                        "source failed"
                    );
                }
                health.up = false;
                *health.errors.entry(error.kind).or_default() += 1;
                health.last_error = Some(error.message);
                self.forget(report.source, &report.instance);
                return;
            }
        };
        match payload {
            Payload::Interfaces(samples) => self.interfaces = samples,
            Payload::Clients(sightings) => self.registry.observe(report.source, &sightings, now),
            Payload::Hostapd(sample) => {
                self.registry.observe(report.source, &sample.clients, now);
                for (ap, zone, events) in sample.events {
                    let total = self.ap_events.entry((ap, zone)).or_default();
                    total.connects += events.connects;
                    total.disconnects += events.disconnects;
                    total.auth_failures += events.auth_failures;
                }
                self.aps.insert(report.instance, sample.aps);
            }
            Payload::Dhcp(mut sample) => {
                self.registry.observe(report.source, &sample.clients, now);
                sample.clients = Vec::new();
                let name = sample.pool.clone();
                self.pools.entry(name).or_default().leases = Some(sample);
            }
            Payload::DhcpStatistics(pool, statistics) => {
                self.pools.entry(pool).or_default().statistics = Some(statistics);
            }
            Payload::Capture(sample) => {
                self.registry.observe(report.source, &sample.clients, now);
                let state = self
                    .captures
                    .entry(sample.interface.clone())
                    .or_insert_with(|| CaptureState {
                        zone: sample.zone,
                        ap_names: sample.ap_names.clone(),
                        totals: Totals::default(),
                    });
                state.totals.add(&sample.counts);
            }
        }
    }

    /// Drops what a failed source reported last: it is no longer true (an AP that is down
    /// serves nobody, a pool whose file is gone has unknown leases). Totals stay.
    fn forget(&mut self, source: &str, instance: &str) {
        if source == HostapdSource::NAME {
            self.aps.remove(instance);
        } else if let Some(pool) = self.pools.get_mut(instance) {
            if source == DhcpSource::NAME {
                pool.leases = None;
            } else if source == KeaStatisticsSource::NAME {
                pool.statistics = None;
            }
        }
    }

    /// The pools now, with their use and status against the thresholds.
    fn pool_snapshots(&self) -> Vec<PoolSnapshot> {
        self.pools
            .iter()
            .map(|(name, state)| {
                let leases = state.leases.as_ref();
                let size = leases
                    .and_then(|l| l.pool_size)
                    .or(state.statistics.map(|s| s.total));
                let leases_active = leases.map(|l| l.leases_active);
                let usage = match (leases_active, size) {
                    (Some(active), Some(size)) if size > 0 => Some(active as f64 / size as f64),
                    _ => None,
                };
                let t = &self.thresholds;
                let status = match usage {
                    Some(u) if u >= t.dhcp_pool_critical => Status::Critical,
                    Some(u) if u >= t.dhcp_pool_warn => Status::Warn,
                    _ => Status::Ok,
                };
                PoolSnapshot {
                    name: name.clone(),
                    zone: leases
                        .and_then(|l| l.zone)
                        .and_then(|z| self.inventory.zones.get(z))
                        .map(|z| z.id.clone()),
                    leases_active,
                    size,
                    usage,
                    status,
                    records_skipped: leases.map_or(0, |l| l.skipped),
                    statistics: state.statistics,
                }
            })
            .collect()
    }

    /// The venue now, as an immutable snapshot.
    pub fn snapshot(&mut self, now: Instant, wall: SystemTime) -> Snapshot {
        self.registry.expire(now);
        let counts = self.registry.counts(self.inventory.zones.len(), now);
        let pools = self.pool_snapshots();
        let zones: Vec<ZoneSnapshot> = self
            .inventory
            .zones
            .iter()
            .zip(counts)
            .enumerate()
            .map(|(index, (zone, c))| {
                let mut reasons: Vec<Reason> = pools
                    .iter()
                    .filter(|p| {
                        p.status != Status::Ok && p.zone.as_deref() == Some(zone.id.as_str())
                    })
                    .map(|p| Reason {
                        kind: "dhcp_pool",
                        subject: p.name.clone(),
                        value: p.usage.unwrap_or(0.0),
                        status: p.status,
                    })
                    .collect();
                reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
                ZoneSnapshot {
                    id: zone.id.clone(),
                    name: zone.name.clone(),
                    seats: zone.seats,
                    clients: c.clients,
                    clients_randomized: c.randomized,
                    clients_by_source: c.by_source,
                    unique_clients_estimate: self.registry.unique_in_zone(index).round(),
                    status: reasons.first().map_or(Status::Ok, |r| r.status),
                    reasons,
                }
            })
            .collect();
        let mut interfaces: Vec<InterfaceSnapshot> = self
            .interfaces
            .iter()
            .map(|s| InterfaceSnapshot {
                name: s.link.name.clone(),
                zone: s
                    .zone
                    .and_then(|z| self.inventory.zones.get(z))
                    .map(|z| z.id.clone()),
                kind: s.link.kind,
                up: s.link.up,
                carrier: s.link.carrier,
                mtu: s.link.mtu,
                speed_bps: s.link.speed_bps,
                counters: s.link.counters,
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        let zone_id = |z: Option<usize>| {
            z.and_then(|z| self.inventory.zones.get(z))
                .map(|z| z.id.clone())
        };
        let mut aps: Vec<ApSnapshot> = self
            .aps
            .values()
            .flatten()
            .map(|a| ApSnapshot {
                ap: a.ap.clone(),
                zone: zone_id(a.zone),
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
        for ((ap, zone), events) in &self.ap_events {
            let zone = zone_id(*zone);
            match aps.iter_mut().find(|a| &a.ap == ap && a.zone == zone) {
                Some(a) => a.events = *events,
                None => aps.push(ApSnapshot::silent(ap.clone(), zone, *events)),
            }
        }
        aps.sort_by(|a, b| (&a.zone, &a.ap).cmp(&(&b.zone, &b.ap)));
        Snapshot {
            generated_at: wall
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            venue: self.venue.clone(),
            event: self.event.clone(),
            tick_seconds: self.tick.as_secs_f64(),
            active_window_seconds: self.window.as_secs_f64(),
            status: zones.iter().map(|z| z.status).max().unwrap_or_default(),
            unique_clients_estimate: self.registry.unique_in_venue().round(),
            zones,
            pools,
            interfaces,
            aps,
            captures: self
                .captures
                .iter()
                .map(|(interface, c)| {
                    CaptureSummary::new(interface, zone_id(c.zone), &c.totals, &c.ap_names)
                })
                .collect(),
            sources: self.sources.values().cloned().collect(),
        }
    }

    /// Applies reports as they come and publishes a snapshot every tick until `cancel` fires.
    /// Ticks fall a tenth of a tick after the sources sample (they start together and sample
    /// on the tick by default), so what a sample saw is published within one tick.
    pub async fn run(
        mut self,
        mut reports: mpsc::Receiver<Report>,
        publish: watch::Sender<Arc<Snapshot>>,
        cancel: CancellationToken,
    ) {
        let first = Instant::now() + (self.tick / 10).min(Duration::from_millis(500));
        let mut ticks = tokio::time::interval_at(first, self.tick);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                Some(report) = reports.recv() => self.apply(report, Instant::now()),
                _ = ticks.tick() => {
                    let snapshot = self.snapshot(Instant::now(), SystemTime::now());
                    publish.send_replace(Arc::new(snapshot));
                }
            }
        }
    }
}
