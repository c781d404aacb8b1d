//! The hub owns the venue state: it folds the sources' observations in, keeps source
//! health, judges each zone against its thresholds, and publishes an immutable [`Snapshot`]
//! each tick over a `watch`. It names no source: observations are in the venue's terms.
//!
//! - `ingest`: the venue state in domain parts, observations folded in per owner, and what
//!   a failed source leaves behind.
//! - `health`: each source's health, logged once per change.
//! - `rules`: thresholds to reasons, reasons to a status.
//! - `assemble`: the snapshot of one tick, built from the venue state.
//! - `snapshot`: the snapshot's types, what every view reads.
//! - [`registry`]: the client registry (active clients per zone, unique estimates).
//! - `capture`: capture counts added up since start, and their summary.
//! - `recent`: bit rates, recent time-to-lease and each zone's last hour.

mod assemble;
pub(crate) mod capture;
mod health;
mod ingest;
pub(crate) mod recent;
pub mod registry;
mod rules;
pub(crate) mod snapshot;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Thresholds};
use crate::inventory::Inventory;
use crate::model::Report;
use crate::model::grid::until_round;
pub(crate) use assemble::sessions;
use health::Health;
use ingest::{Owner, Venue};
use recent::History;
pub use snapshot::{Reason, ReasonKind, SessionSnapshot, Snapshot, Status, ZoneSnapshot};

/// Venue state between ticks.
pub struct Hub {
    inventory: Arc<Inventory>,
    /// The venue's name, from the config.
    name: String,
    event: String,
    timezone: String,
    tick: Duration,
    window: Duration,
    thresholds: Thresholds,
    venue: Venue,
    health: Health,
    /// The last hour of each zone, by index.
    history: Vec<History>,
}

impl Hub {
    /// A hub for the venue the config describes.
    pub fn new(config: &Config, inventory: Arc<Inventory>) -> Hub {
        Hub {
            name: config.venue.name.clone(),
            event: config.venue.event.clone(),
            timezone: config.venue.timezone.clone(),
            tick: config.agent.tick,
            window: config.agent.active_window,
            thresholds: config.thresholds.clone(),
            venue: Venue::new(config.agent.active_window, config.agent.max_clients),
            health: Health::default(),
            history: vec![History::default(); inventory.zones.len()],
            inventory,
        }
    }

    /// Applies one source report received at `now`: its observations are folded into the
    /// venue, or, when the sample failed, what the source said of the present is dropped.
    pub fn apply(&mut self, report: Report, now: Instant) {
        let owner = Owner {
            source: report.source,
            instance: report.instance,
        };
        self.health
            .record(&owner, report.duration, report.outcome.as_ref().map(|_| ()));
        match report.outcome {
            Ok(observations) => {
                for observation in observations {
                    self.venue.fold(observation, &owner, now);
                }
            }
            Err(_) => self.venue.forget(&owner),
        }
    }

    /// Folds reports in and publishes a snapshot each tick until `cancel` fires.
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
                    // Between ticks: what the last one's work freed goes back to the system.
                    crate::memory::release_free_pages();
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
    use crate::model::clients::Sighting;
    use crate::model::interfaces::InterfaceSample;
    use crate::model::interfaces::{Counters, Link};
    use crate::model::{ErrorKind, Observation, SourceError};
    use crate::privacy::ClientKey;

    fn hub(toml: &str) -> Hub {
        let (config, _) = crate::config::parse("test.toml", toml, "host").expect("config");
        let inventory = Arc::new(Inventory::new(&config));
        Hub::new(&config, inventory)
    }

    fn report(observation: Observation) -> Report {
        Report {
            source: "test",
            instance: "test".into(),
            duration: Duration::ZERO,
            outcome: Ok(vec![observation]),
        }
    }

    fn interfaces(rx_bytes: u64) -> Observation {
        Observation::Interfaces(vec![InterfaceSample {
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
        hub.apply(report(Observation::Clients(sightings)), t0);
        let snapshot = hub.snapshot(t0 + Duration::from_secs(1), SystemTime::now());
        let zone = &snapshot.zones[0];
        assert_eq!(zone.uplink_utilization, Some(0.8));
        assert_eq!(zone.rx_bps, Some(800_000.0));
        let kinds: Vec<_> = zone.reasons.iter().map(|r| (r.kind, r.status)).collect();
        assert_eq!(
            kinds,
            [
                (ReasonKind::Occupancy, Status::Critical),
                (ReasonKind::Uplink, Status::Warn)
            ]
        );
        assert_eq!(zone.status, Status::Critical);
        assert_eq!(snapshot.status, Status::Critical);
        assert_eq!(zone.history.len(), 1);
        assert_eq!(zone.history[0].clients, 5);
    }

    /// A capture of zone 0 that saw `n` DHCP exchanges of `seconds` each.
    fn leases(n: usize, seconds: f64) -> Observation {
        use crate::model::capture::{CaptureSample, Counts};
        Observation::Capture(Box::new(CaptureSample {
            interface: "cap0".into(),
            zone: Some(0),
            ap_names: Arc::new([]),
            counts: Counts {
                dhcp_times_to_lease: vec![Duration::from_secs_f64(seconds); n],
                ..Counts::default()
            },
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
        // Leases of 2.5 s fall in the (2 s, 5 s] bucket: interpolated, the p95 would be
        // 4.85 s; kept inside the observed range it is 2.5 s (issue 10), past the 2 s warn
        // but not the 5 s critical (the bucket bound, 5 s, would say critical).
        let (status, p95) = time_to_lease_status(zone, 20, 2.5);
        assert_eq!(p95, Some(2.5));
        assert_eq!(status, Status::Warn);
        let (status, _) = time_to_lease_status(zone, 20, 1.5);
        assert_eq!(status, Status::Ok);
        // Above every bucket the buckets say the last bound, 1 min; the observed range says
        // 90 s: past the longest threshold the config allows either way.
        let (status, p95) = time_to_lease_status(zone, 20, 90.0);
        assert_eq!((status, p95), (Status::Critical, Some(90.0)));
        let patient = "[thresholds]\ntime_to_lease_warn = \"50s\"\n\
                       time_to_lease_critical = \"1m\"\n\n[[zone]]\nid = \"hall\"\n";
        let (status, _) = time_to_lease_status(patient, 20, 90.0);
        assert_eq!(status, Status::Critical);
    }

    #[test]
    fn max_clients_caps_the_zone_count_and_the_snapshot_counts_evictions() {
        let mut hub = hub("[agent]\nmax_clients = 3\n\n[[zone]]\nid = \"hall\"\n");
        let t0 = Instant::now();
        // A fixed key: the unique estimate asserted below is exact under it, every run.
        let key = ClientKey::from_bytes([9; 16]);
        let sightings: Vec<Sighting> = (0..5u8)
            .map(|i| Sighting {
                client: key.client(&[0, 1, 2, 3, 4, i]),
                zone: 0,
                age: Duration::ZERO,
            })
            .collect();
        hub.apply(report(Observation::Clients(sightings)), t0);
        let snapshot = hub.snapshot(t0, SystemTime::now());
        assert_eq!(snapshot.zones[0].clients, 3);
        assert_eq!(snapshot.clients_evicted_total, 2);
        assert_eq!(snapshot.unique_clients_estimate, 5.0);
    }

    /// Regression: the first snapshot started its hour afresh, dropping every sighting made
    /// before it from the hour's sketch (the history's unique devices), and the first
    /// snapshot of each hour dropped those sampled for it. A simulated device is seen again
    /// once a minute, so a run stopped after 15 s wrote a quarter of the foyer's devices.
    #[test]
    fn regression_sightings_before_a_snapshot_count_in_its_hour_from_the_first_one_on() {
        let mut hub = hub("[agent]\ntick = \"1s\"\n\n[[zone]]\nid = \"hall\"\n");
        // A fixed key: the estimates below are exact for these 60 ids under it (with a
        // random key two of them could share a register, and the test would fail at times).
        let key = ClientKey::from_bytes([9; 16]);
        let seen = |range: std::ops::Range<u8>| {
            let sightings = range
                .map(|i| Sighting {
                    client: key.client(&[0, 1, 2, 3, 4, i]),
                    zone: 0,
                    age: Duration::ZERO,
                })
                .collect();
            report(Observation::Clients(sightings))
        };
        let at = |seconds: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
        let hour_of = |snapshot: &Snapshot| {
            snapshot.zones[0]
                .unique_this_hour
                .as_ref()
                .map_or(0.0, |s| s.estimate())
                .round()
        };
        let t0 = Instant::now();
        let last_second = 3_600 * 500_000 - 2;
        hub.apply(seen(0..40), t0);
        let first = hub.snapshot(t0, at(last_second));
        assert_eq!(hour_of(&first), 40.0, "seen before the first snapshot");
        hub.apply(seen(40..50), t0);
        let last = hub.snapshot(t0, at(last_second + 1));
        assert_eq!(hour_of(&last), 50.0, "the hour's last snapshot");
        // Sampled for the next tick, the first of the next hour: counted there.
        hub.apply(seen(50..60), t0);
        let next = hub.snapshot(t0, at(last_second + 2));
        assert_eq!(hour_of(&next), 10.0, "the next hour's first snapshot");
        assert_eq!(hour_of(&last), 50.0, "a snapshot keeps its sketch");
        assert_eq!(next.zones[0].unique_clients_estimate, 60.0);
    }

    #[test]
    fn each_zone_shows_its_session_now_and_next() {
        use crate::model::programme::{Session, ZoneSession};
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
        let sessions = Arc::from([
            session(0, "over", -7_200, -3_600),
            session(0, "long", -3_600, 3_600),
            session(0, "short, started later", -600, 600),
            session(0, "after", 900, 1_800),
            session(0, "soon", 600, 1_200),
            session(0, "tomorrow", 90_000, 93_600),
            session(1, "in b", -60, 60),
        ]);
        hub.apply(report(Observation::Programme(sessions)), Instant::now());
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

    fn from(
        source: &'static str,
        instance: &str,
        outcome: Result<Vec<Observation>, SourceError>,
    ) -> Report {
        Report {
            source,
            instance: instance.into(),
            duration: Duration::ZERO,
            outcome,
        }
    }

    /// Issue 10: a zone whose sources were all down showed "ok" with 0 devices.
    #[test]
    fn regression_a_zone_whose_covering_sources_all_fail_is_unknown_not_ok() {
        let mut hub =
            hub("[[zone]]\nid = \"hall\"\ninterfaces = [\"eth1\"]\n\n[[zone]]\nid = \"annex\"\n");
        let t0 = Instant::now();
        let key = ClientKey::ephemeral();
        let guest = vec![Sighting {
            client: key.client(&[0, 1, 2, 3, 4, 5]),
            zone: 0,
            age: Duration::ZERO,
        }];
        hub.apply(from("links", "netlink", Ok(vec![interfaces(0)])), t0);
        hub.apply(
            from("leases", "hall", Ok(vec![Observation::Clients(guest)])),
            t0,
        );
        let snapshot = hub.snapshot(t0, SystemTime::now());
        let (hall, annex) = (&snapshot.zones[0], &snapshot.zones[1]);
        assert_eq!((hall.status, hall.reasons.len()), (Status::Ok, 0));
        // Nothing has placed anything in the annex: no source covers it.
        assert_eq!(annex.status, Status::Unknown);
        assert_eq!(annex.reasons[0].kind, ReasonKind::NoSource);
        assert_eq!(snapshot.status, Status::Unknown, "worse than ok");

        // One of the hall's two sources fails: the hall keeps its status, the reasons say.
        let down = || Err(SourceError::new(ErrorKind::Missing, "gone"));
        hub.apply(from("leases", "hall", down()), t0);
        let snapshot = hub.snapshot(t0, SystemTime::now());
        let hall = &snapshot.zones[0];
        assert_eq!(hall.status, Status::Ok);
        let reasons: Vec<_> = hall
            .reasons
            .iter()
            .map(|r| (r.kind, r.subject.as_str()))
            .collect();
        assert_eq!(reasons, [(ReasonKind::SourceDown, "leases")]);

        // Both fail: the hall is unknown, naming both kinds.
        hub.apply(from("links", "netlink", down()), t0);
        let snapshot = hub.snapshot(t0, SystemTime::now());
        let hall = &snapshot.zones[0];
        assert_eq!(hall.status, Status::Unknown);
        let reasons: Vec<_> = hall.reasons.iter().map(|r| r.subject.as_str()).collect();
        assert_eq!(reasons, ["leases", "links"]);
        assert_eq!(hall.status.value(), -1);

        // A source answers again: judged again.
        hub.apply(from("links", "netlink", Ok(vec![interfaces(0)])), t0);
        let snapshot = hub.snapshot(t0, SystemTime::now());
        assert_eq!(snapshot.zones[0].status, Status::Ok);
    }

    /// A source failing since start has placed nothing anywhere: a zone nothing covers names
    /// it as what may be missing.
    #[test]
    fn a_zone_no_source_covers_names_the_sources_that_never_answered() {
        let mut hub = hub("[[zone]]\nid = \"hall\"\n");
        let t0 = Instant::now();
        hub.apply(
            from(
                "leases",
                "hall",
                Err(SourceError::new(ErrorKind::Missing, "gone")),
            ),
            t0,
        );
        let snapshot = hub.snapshot(t0, SystemTime::now());
        let hall = &snapshot.zones[0];
        assert_eq!(hall.status, Status::Unknown);
        let reasons: Vec<_> = hall
            .reasons
            .iter()
            .map(|r| (r.kind, r.subject.as_str()))
            .collect();
        assert_eq!(reasons, [(ReasonKind::SourceDown, "leases")]);
    }

    #[test]
    fn a_failed_source_loses_what_it_said_of_the_present_and_keeps_its_totals() {
        use crate::model::access_points::{ApEvents, ApSample, Band};
        use crate::model::pools::{PoolLeases, PoolStatistics};
        let mut hub = hub("[[zone]]\nid = \"hall\"\n");
        let now = Instant::now();
        let ap = |name: &str| ApSample {
            ap: name.into(),
            zone: Some(0),
            band: Band::Ghz5,
            frequency_mhz: Some(5180),
            channel: Some(36),
            stations: 3,
            signals_dbm: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
            channel_utilization: None,
        };
        let events = ApEvents {
            connects: 4,
            ..ApEvents::default()
        };
        let radios = |name: &str| {
            Ok(vec![
                Observation::AccessPoints(vec![ap(name)]),
                Observation::ApEvents(vec![(name.into(), Some(0), events)]),
            ])
        };
        hub.apply(from("radios", "one", radios("wlan0")), now);
        hub.apply(from("radios", "two", radios("wlan1")), now);
        let leases = PoolLeases {
            pool: "hall".into(),
            zone: Some(0),
            leases_active: 5,
            pool_size: Some(10),
            skipped: 0,
        };
        hub.apply(
            from("leases", "hall", Ok(vec![Observation::PoolLeases(leases)])),
            now,
        );
        let statistics = PoolStatistics {
            total: 20,
            assigned: 5,
            allocation_failures: 0,
        };
        let pool = "hall".to_string();
        hub.apply(
            from(
                "server",
                "hall",
                Ok(vec![Observation::PoolStatistics { pool, statistics }]),
            ),
            now,
        );
        let down = || Err(SourceError::new(ErrorKind::Missing, "gone"));
        hub.apply(from("radios", "one", down()), now);
        hub.apply(from("leases", "hall", down()), now);

        let snapshot = hub.snapshot(now, SystemTime::now());
        let aps: Vec<_> = snapshot
            .aps
            .iter()
            .map(|a| (a.ap.as_str(), a.present, a.events.connects))
            .collect();
        assert_eq!(aps, [("wlan0", false, 4), ("wlan1", true, 4)]);
        let pool = &snapshot.pools[0];
        assert_eq!(pool.leases_active, None, "the lease file is gone");
        assert_eq!(pool.size, Some(20), "the server still answers");
        let down: Vec<_> = snapshot
            .sources
            .iter()
            .map(|s| (s.source, s.instance.as_str(), s.up))
            .collect();
        assert_eq!(
            down,
            [
                ("leases", "hall", false),
                ("radios", "one", false),
                ("radios", "two", true),
                ("server", "hall", true)
            ]
        );
    }
}
