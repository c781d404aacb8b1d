//! The hub owns the venue state: it applies the sources' reports, keeps the client registry
//! and source health, and publishes an immutable [`Snapshot`] each tick over a `watch`.

pub mod recent;
pub mod registry;
pub mod snapshot;
pub mod unique;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Thresholds};
use crate::inventory::Inventory;
use crate::sources::Source;
use crate::sources::capture::summary::{CaptureSummary, Totals};
use crate::sources::dhcp::{DhcpSample, DhcpSource, KeaStatisticsSource, PoolStatistics};
use crate::sources::hostapd::HostapdSource;
use crate::sources::hostapd::{ApEvents, ApSample};
use crate::sources::netdev::InterfaceSample;
use crate::sources::schedule::ScheduleSample;
use crate::sources::{Payload, Report, until_round};
use recent::{History, LEASE_WINDOW, LinkRate, Point, Window};
use registry::{Registry, ZoneCounts};
pub use snapshot::{
    ApSnapshot, InterfaceSnapshot, PoolSnapshot, Reason, SessionSnapshot, Snapshot, SourceSnapshot,
    Status, ZoneSnapshot,
};

/// What the hub knows of one DHCP pool.
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
    /// Time-to-lease over the last few minutes, from the running totals.
    recent_leases: Window,
}

/// Venue state between ticks.
pub struct Hub {
    inventory: Arc<Inventory>,
    venue: String,
    event: String,
    tick: Duration,
    window: Duration,
    interfaces: Vec<InterfaceSample>,
    /// Bit rates by interface name, from the last two samples.
    rates: BTreeMap<String, LinkRate>,
    /// The last hour of each zone, by index.
    history: Vec<History>,
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
    /// The programme as last read; kept while its file cannot be read.
    schedule: Option<Arc<ScheduleSample>>,
}

impl Hub {
    /// A hub for the venue the config describes.
    pub fn new(config: &Config, inventory: Arc<Inventory>) -> Hub {
        Hub {
            venue: config.venue.name.clone(),
            event: config.venue.event.clone(),
            tick: config.agent.tick,
            window: config.agent.active_window,
            interfaces: Vec::new(),
            rates: BTreeMap::new(),
            history: vec![History::default(); inventory.zones.len()],
            aps: BTreeMap::new(),
            ap_events: BTreeMap::new(),
            pools: BTreeMap::new(),
            captures: BTreeMap::new(),
            thresholds: config.thresholds.clone(),
            schedule: None,
            inventory,
            registry: Registry::new(config.agent.active_window, config.agent.max_clients),
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
            Payload::Interfaces(samples) => {
                self.rates = samples
                    .iter()
                    .map(|s| {
                        let name = &s.link.name;
                        let counters = s.link.counters;
                        let rate = match self.rates.get(name) {
                            Some(before) => before.next(counters, now),
                            None => LinkRate::first(counters, now),
                        };
                        (name.clone(), rate)
                    })
                    .collect();
                self.interfaces = samples;
            }
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
                        recent_leases: Window::default(),
                    });
                state.totals.add(&sample.counts);
            }
            Payload::Schedule(sample) => self.schedule = Some(sample),
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
                let zone = leases.and_then(|l| l.zone);
                let t = self.thresholds_of(zone);
                let status = usage.map_or(Status::Ok, |u| {
                    Status::of(u, t.dhcp_pool_warn, t.dhcp_pool_critical)
                });
                PoolSnapshot {
                    name: name.clone(),
                    zone: zone
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
    /// The zone's thresholds, or the venue's for what belongs to no zone.
    fn thresholds_of(&self, zone: Option<usize>) -> &Thresholds {
        zone.and_then(|z| self.inventory.zones.get(z))
            .map_or(&self.thresholds, |z| &z.thresholds)
    }

    fn zone_id(&self, zone: Option<usize>) -> Option<String> {
        zone.and_then(|z| self.inventory.zones.get(z))
            .map(|z| z.id.clone())
    }

    fn interface_snapshots(&self) -> Vec<InterfaceSnapshot> {
        let mut interfaces: Vec<InterfaceSnapshot> = self
            .interfaces
            .iter()
            .map(|s| {
                let rate = self.rates.get(&s.link.name);
                InterfaceSnapshot {
                    name: s.link.name.clone(),
                    zone: self.zone_id(s.zone),
                    kind: s.link.kind,
                    up: s.link.up,
                    carrier: s.link.carrier,
                    mtu: s.link.mtu,
                    speed_bps: s.link.speed_bps,
                    counters: s.link.counters,
                    rx_bps: rate.and_then(|r| r.rx_bps),
                    tx_bps: rate.and_then(|r| r.tx_bps),
                    utilisation: rate.and_then(|r| r.utilisation(s.link.speed_bps)),
                }
            })
            .collect();
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        interfaces
    }

    fn ap_snapshots(&self) -> Vec<ApSnapshot> {
        let mut aps: Vec<ApSnapshot> = self
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
        for ((ap, zone), events) in &self.ap_events {
            let zone = self.zone_id(*zone);
            match aps.iter_mut().find(|a| &a.ap == ap && a.zone == zone) {
                Some(a) => a.events = *events,
                None => aps.push(ApSnapshot::silent(ap.clone(), zone, *events)),
            }
        }
        aps.sort_by(|a, b| (&a.zone, &a.ap).cmp(&(&b.zone, &b.ap)));
        aps
    }

    /// One zone from the venue-wide parts of the snapshot; `ttl` holds each capture's recent
    /// time-to-lease p95 (by interface).
    fn zone_snapshot(&self, index: usize, counts: ZoneCounts, parts: &Parts<'_>) -> ZoneSnapshot {
        let zone = &self.inventory.zones[index];
        let t = &zone.thresholds;
        let mine = |z: &Option<String>| z.as_deref() == Some(zone.id.as_str());
        let (session_now, session_next) = self.sessions(index, parts.at);
        let mut reasons: Vec<Reason> = Vec::new();
        let mut reason = |kind, subject: &str, value: f64, warn, critical| {
            let status = Status::of(value, warn, critical);
            if status != Status::Ok {
                reasons.push(Reason {
                    kind,
                    subject: subject.to_string(),
                    value,
                    status,
                });
            }
        };

        let pools: Vec<&PoolSnapshot> = parts.pools.iter().filter(|p| mine(&p.zone)).collect();
        for p in &pools {
            if p.status != Status::Ok {
                reason(
                    "dhcp_pool",
                    &p.name,
                    p.usage.unwrap_or(0.0),
                    t.dhcp_pool_warn,
                    t.dhcp_pool_critical,
                );
            }
        }
        let sized: Vec<_> = pools
            .iter()
            .filter_map(|p| p.leases_active.zip(p.size))
            .collect();
        let interfaces: Vec<&InterfaceSnapshot> =
            parts.interfaces.iter().filter(|i| mine(&i.zone)).collect();
        let busiest = interfaces
            .iter()
            .filter_map(|i| Some((i, i.utilisation?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, u)) = busiest {
            reason("uplink", &i.name, u, t.uplink_warn, t.uplink_critical);
        }
        if let Some(seats) = zone.seats.filter(|s| *s > 0) {
            let per_seat = counts.clients as f64 / f64::from(seats);
            reason(
                "occupancy",
                "",
                per_seat,
                t.occupancy_warn,
                t.occupancy_critical,
            );
        }
        let captures: Vec<_> = parts.captures.iter().filter(|c| mine(&c.zone)).collect();
        let mut time_to_lease_p95: Option<f64> = None;
        for c in &captures {
            if let Some(p95) = parts
                .recent_ttl
                .get(c.interface.as_str())
                .copied()
                .flatten()
            {
                reason(
                    "time_to_lease",
                    &c.interface,
                    p95,
                    t.time_to_lease_warn,
                    t.time_to_lease_critical,
                );
                time_to_lease_p95 = Some(time_to_lease_p95.map_or(p95, |v| v.max(p95)));
            }
        }
        reasons.sort_by_key(|r| std::cmp::Reverse(r.status));

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
            unique_clients_estimate: self.registry.unique_in_zone(index).round(),
            status: reasons.first().map_or(Status::Ok, |r| r.status),
            reasons,
            rx_bps: sum(interfaces.iter().filter_map(|i| i.rx_bps).collect()),
            tx_bps: sum(interfaces.iter().filter_map(|i| i.tx_bps).collect()),
            uplink_utilisation: busiest.map(|(_, u)| u),
            stations: (!aps.is_empty()).then(|| aps.iter().map(|a| a.stations).sum()),
            aps: aps.len() as u64,
            pool_leases: pool_usage.map(|(a, _)| a),
            pool_size: pool_usage.map(|(_, s)| s),
            time_to_lease_p95,
            probing_devices: sum(captures
                .iter()
                .map(|c| c.probing_devices_estimate)
                .collect())
            .filter(|_| captures.iter().any(|c| !c.channels.is_empty())),
            session_now,
            session_next,
            history: Vec::new(),
            thresholds: t.clone(),
        }
    }

    /// The zone's session on at `at` (the latest started, when sessions overlap) and the
    /// next one to start, within a day.
    fn sessions(&self, zone: usize, at: i64) -> (Option<SessionSnapshot>, Option<SessionSnapshot>) {
        let Some(schedule) = &self.schedule else {
            return (None, None);
        };
        let mine = schedule
            .sessions
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

    pub fn snapshot(&mut self, now: Instant, wall: SystemTime) -> Snapshot {
        self.registry.expire(now);
        let generated_at = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let counts = self.registry.counts(self.inventory.zones.len(), now);
        let mut recent_ttl = BTreeMap::new();
        for (interface, c) in &mut self.captures {
            let recent = c
                .recent_leases
                .push(now, &c.totals.time_to_lease, LEASE_WINDOW);
            recent_ttl.insert(interface.clone(), recent.quantile(0.95));
        }
        let captures: Vec<CaptureSummary> = self
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
                uplink: zone.uplink_utilisation,
                pool: zone
                    .pool_leases
                    .zip(zone.pool_size)
                    .filter(|(_, s)| *s > 0)
                    .map(|(a, s)| a as f64 / s as f64),
            });
            zone.history = history.points();
        }
        Snapshot {
            generated_at,
            venue: self.venue.clone(),
            event: self.event.clone(),
            tick_seconds: self.tick.as_secs_f64(),
            active_window_seconds: self.window.as_secs_f64(),
            status: zones.iter().map(|z| z.status).max().unwrap_or_default(),
            unique_clients_estimate: self.registry.unique_in_venue().round(),
            clients_evicted_total: self.registry.evicted(),
            zones,
            pools: parts.pools,
            interfaces: parts.interfaces,
            aps: parts.aps,
            captures: parts.captures,
            sources: self.sources.values().cloned().collect(),
        }
    }

    pub async fn run(
        mut self,
        mut reports: mpsc::Receiver<Report>,
        publish: watch::Sender<Arc<Snapshot>>,
        cancel: CancellationToken,
    ) {
        // A first snapshot soon after start, then one per tick on the wall clock's round
        // times (`until_round`), each a moment after the sources sampled on the same grid, so
        // it holds their fresh samples. A late snapshot does not move the later ones.
        let tick = self.tick;
        let settle = (tick / 10).min(Duration::from_millis(250));
        let mut next = Instant::now() + settle;
        loop {
            tokio::select! {
                // A stop is seen before the next report, however many are queued.
                biased;
                () = cancel.cancelled() => return,
                Some(report) = reports.recv() => self.apply(report, Instant::now()),
                () = tokio::time::sleep_until(next) => {
                    let wall = SystemTime::now();
                    let snapshot = self.snapshot(Instant::now(), wall);
                    publish.send_replace(Arc::new(snapshot));
                    next = Instant::now() + until_round(wall, tick) + settle;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::LinkKind;
    use crate::privacy::ClientKey;
    use crate::sources::Sighting;
    use crate::sources::links::{Counters, Link};

    fn hub(toml: &str) -> Hub {
        let (config, _) = crate::config::parse("test.toml", toml, "host").expect("config");
        let inventory = Arc::new(Inventory::new(&config));
        Hub::new(&config, inventory)
    }

    fn report(payload: Payload) -> Report {
        Report {
            source: "test",
            instance: "test".into(),
            duration: Duration::ZERO,
            outcome: Ok(payload),
        }
    }

    fn interfaces(rx_bytes: u64) -> Payload {
        Payload::Interfaces(vec![InterfaceSample {
            link: Link {
                index: 2,
                name: "eth1".into(),
                kind: LinkKind::Physical,
                counters: Counters {
                    rx_bytes,
                    ..Counters::default()
                },
                up: true,
                carrier: Some(true),
                mtu: Some(1500),
                speed_bps: Some(1_000_000),
            },
            zone: Some(0),
        }])
    }

    #[test]
    fn zones_turn_warn_and_critical_on_uplink_and_occupancy() {
        let mut hub = hub("[[zone]]\nid = \"hall\"\nseats = 2\ninterfaces = [\"eth1\"]\n");
        let t0 = Instant::now();
        hub.apply(report(interfaces(0)), t0);
        // 100 000 bytes in one second on a 1 Mbit/s link: 80 %, below the venue's 90 % but
        // past this zone's own 70 %.
        hub.apply(report(interfaces(100_000)), t0 + Duration::from_secs(1));
        let key = ClientKey::ephemeral();
        let sightings: Vec<Sighting> = (0..5u8)
            .map(|i| Sighting {
                client: key.client(&[0, 1, 2, 3, 4, i]),
                zone: 0,
                age: Duration::ZERO,
            })
            .collect();
        hub.apply(report(Payload::Clients(sightings)), t0);
        let snapshot = hub.snapshot(t0 + Duration::from_secs(1), SystemTime::now());
        let zone = &snapshot.zones[0];
        assert_eq!(zone.uplink_utilisation, Some(0.8));
        assert_eq!(zone.rx_bps, Some(800_000.0));
        let kinds: Vec<_> = zone.reasons.iter().map(|r| (r.kind, r.status)).collect();
        assert_eq!(
            kinds,
            [("occupancy", Status::Critical), ("uplink", Status::Warn)]
        );
        assert_eq!(zone.status, Status::Critical);
        assert_eq!(snapshot.status, Status::Critical);
        assert_eq!(zone.history.len(), 1);
        assert_eq!(zone.history[0].clients, 5);
    }

    /// A capture of zone 0 that saw `n` DHCP exchanges of `seconds` each.
    fn leases(n: usize, seconds: f64) -> Payload {
        use crate::sources::capture::{CaptureSample, decode::Counts};
        Payload::Capture(Box::new(CaptureSample {
            interface: "cap0".into(),
            zone: Some(0),
            ap_names: Arc::new([]),
            counts: Counts {
                dhcp_times_to_lease: vec![Duration::from_secs_f64(seconds); n],
                ..Counts::default()
            },
            clients: Vec::new(),
        }))
    }

    /// The status a zone gets from `n` leases of `seconds` each, and its p95.
    fn time_to_lease_status(toml: &str, n: usize, seconds: f64) -> (Status, Option<f64>) {
        let mut hub = hub(toml);
        let t0 = Instant::now();
        hub.apply(report(leases(0, 0.0)), t0);
        hub.snapshot(t0, SystemTime::now());
        hub.apply(report(leases(n, seconds)), t0);
        let snapshot = hub.snapshot(t0 + Duration::from_secs(1), SystemTime::now());
        let zone = &snapshot.zones[0];
        (zone.status, zone.time_to_lease_p95)
    }

    #[test]
    fn time_to_lease_status_judges_the_p95_estimated_inside_its_bucket() {
        let zone = "[[zone]]\nid = \"hall\"\n";
        // Leases of 2.5 s fall in the (2 s, 5 s] bucket: the p95 is estimated at 4.85 s, past
        // the 2 s warn but not the 5 s critical (the bucket bound, 5 s, would say critical).
        let (status, p95) = time_to_lease_status(zone, 20, 2.5);
        assert_eq!(p95, Some(2.0 + 3.0 * 0.95));
        assert_eq!(status, Status::Warn);
        let (status, _) = time_to_lease_status(zone, 20, 1.5);
        assert_eq!(status, Status::Ok);
        // Above every bucket the estimate is the last bound, 1 min: still past the longest
        // threshold the config allows.
        let (status, p95) = time_to_lease_status(zone, 20, 90.0);
        assert_eq!((status, p95), (Status::Critical, Some(60.0)));
        let patient = "[thresholds]\ntime_to_lease_warn = \"50s\"\n\
                       time_to_lease_critical = \"1m\"\n\n[[zone]]\nid = \"hall\"\n";
        let (status, _) = time_to_lease_status(patient, 20, 90.0);
        assert_eq!(status, Status::Critical);
    }

    #[test]
    fn max_clients_caps_the_zone_count_and_the_snapshot_counts_evictions() {
        let mut hub = hub("[agent]\nmax_clients = 3\n\n[[zone]]\nid = \"hall\"\n");
        let t0 = Instant::now();
        let key = ClientKey::ephemeral();
        let sightings: Vec<Sighting> = (0..5u8)
            .map(|i| Sighting {
                client: key.client(&[0, 1, 2, 3, 4, i]),
                zone: 0,
                age: Duration::ZERO,
            })
            .collect();
        hub.apply(report(Payload::Clients(sightings)), t0);
        let snapshot = hub.snapshot(t0, SystemTime::now());
        assert_eq!(snapshot.zones[0].clients, 3);
        assert_eq!(snapshot.clients_evicted_total, 2);
        assert_eq!(snapshot.unique_clients_estimate, 5.0);
    }

    #[test]
    fn each_zone_shows_its_session_now_and_next() {
        use crate::sources::schedule::{ScheduleSample, ZoneSession, ics::Session};
        let mut hub = hub("[[zone]]\nid = \"a\"\n[[zone]]\nid = \"b\"\n");
        let at: i64 = 1_800_000_000;
        let session = |zone, title: &str, starts, ends| ZoneSession {
            zone,
            session: Session {
                title: title.into(),
                location: String::new(),
                starts: at + starts,
                ends: at + ends,
            },
        };
        let sample = ScheduleSample {
            sessions: vec![
                session(0, "over", -7_200, -3_600),
                session(0, "long", -3_600, 3_600),
                session(0, "short, started later", -600, 600),
                session(0, "after", 900, 1_800),
                session(0, "soon", 600, 1_200),
                session(0, "tomorrow", 90_000, 93_600),
                session(1, "in b", -60, 60),
            ],
            ..ScheduleSample::default()
        };
        hub.apply(report(Payload::Schedule(Arc::new(sample))), Instant::now());
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(at.unsigned_abs());
        let snapshot = hub.snapshot(Instant::now(), wall);
        let title = |s: &Option<SessionSnapshot>| s.as_ref().map(|s| s.title.clone());
        let a = &snapshot.zones[0];
        assert_eq!(
            title(&a.session_now).as_deref(),
            Some("short, started later")
        );
        assert_eq!(title(&a.session_next).as_deref(), Some("soon"));
        let b = &snapshot.zones[1];
        assert_eq!(title(&b.session_now).as_deref(), Some("in b"));
        assert_eq!(b.session_next, None, "nothing next within a day");
    }
}
