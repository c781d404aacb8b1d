//! `venuemon simulate` and `venuemon run --simulate`: a deterministic event (doors opening,
//! a keynote packing the main hall, sessions letting out, two sessions overlapping, a DHCP
//! pool running short, the uplink saturating at lunch, a source failing for twenty minutes)
//! turned into the same `Report`s of `Observation`s the sources send, so that it goes
//! through the real hub, snapshot and history writer.
//!
//! - `scenario`: the event drawn from the seed.
//! - [`Simulation`]: the reports of each tick, the programme as iCalendar, the ground truth.
//! - [`run`]: a whole event as fast as it goes, into a history file.

mod scenario;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::history::{Batching, Metrics, Writer};
use crate::hub::Hub;
use crate::inventory::Inventory;
use crate::model::access_points::{ApEvents, ApSample, Band};
use crate::model::clients::Sighting;
use crate::model::interfaces::{Counters, InterfaceSample, Link};
use crate::model::pools::PoolLeases;
use crate::model::programme::{Session, ZoneSession};
use crate::model::{ErrorKind, Observation, Report, SourceError};
use crate::privacy::{Client, ClientKey};
use scenario::{DAY, FIRST_ROOM, LEASE_SECONDS, SOURCE_DOWN, Scenario, UPLINK_SATURATED};

/// Day 1 of a simulated event starts at midnight UTC, 2 June 2026.
pub const START: i64 = 1_780_358_400;

/// The most days a simulated event runs: the longest events at one venue (trade fairs,
/// festivals) run under two weeks.
pub const MAX_DAYS: u32 = 14;

/// The most zones: a large convention centre has a few hundred halls and meeting rooms.
pub const MAX_ZONES: usize = 500;

/// The most access points: the largest conference networks run a few thousand.
pub const MAX_APS: usize = 5_000;

/// Ticks written to the history in one transaction by [`run`].
const BATCH: usize = 720;

/// Interface speeds: the uplink and each zone's bridge, bits per second.
const SPEED: u64 = 1_000_000_000;

/// The simulated interface source's instance.
const NETDEV_INSTANCE: &str = "sim";

/// The simulated programme source's instance.
const PROGRAMME_INSTANCE: &str = "programme.ics";

/// The simulated interface `i`: the uplink (0), then each zone's bridge, with its zone.
fn interface(i: usize) -> (String, Option<usize>) {
    match i {
        0 => ("uplink0".to_string(), None),
        _ => (format!("br{i:03}"), Some(i - 1)),
    }
}

/// What the agent's start line says of a simulated venue, in place of the host's
/// interfaces and sources, which it does not watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// The venue in a few words: zones, access points, tick, seed.
    pub venue: String,
    /// The simulated interfaces, comma-separated, the first 20 then how many more.
    pub interfaces: String,
    /// The simulated sources as `kind:instance`, comma-separated, in the order they report.
    pub sources: String,
}

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Days of the event.
    pub days: u32,
    /// Zones: the main hall, the foyer, the restaurant, and rooms (at least 4 in all).
    pub zones: usize,
    /// Access points, spread over the zones (at least one per zone).
    pub aps: usize,
    /// Seconds between snapshots (1 s to 5 min, as `[agent] tick`).
    pub tick: Duration,
    /// The seed: the same seed gives the same event, history and truth.
    pub seed: u64,
}

impl Options {
    /// Checks the options make an event, no larger than a real venue's ([`MAX_DAYS`],
    /// [`MAX_ZONES`], [`MAX_APS`]): beyond, a simulation runs for hours.
    ///
    /// # Errors
    /// A message naming the option and its range.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=MAX_DAYS).contains(&self.days),
            "--days must be from 1 to {MAX_DAYS} (the longest events at one venue run under two \
             weeks)"
        );
        anyhow::ensure!(
            (4..=MAX_ZONES).contains(&self.zones),
            "--zones must be from 4 to {MAX_ZONES} (the main hall, the foyer, the restaurant and \
             rooms: a large convention centre has a few hundred)"
        );
        anyhow::ensure!(
            self.aps >= self.zones && self.aps <= MAX_APS,
            "--aps must be at least --zones (one access point per zone) and at most {MAX_APS} \
             (the largest conference networks run a few thousand)"
        );
        let tick = self.tick.as_secs();
        anyhow::ensure!(
            (1..=300).contains(&tick) && self.tick.subsec_nanos() == 0,
            "--tick must be whole seconds from 1s to 5m"
        );
        Ok(())
    }
}

/// Reads `--tick` as the configuration writes durations (`5s`, `1m`).
///
/// # Errors
/// The text is not such a duration.
pub fn parse_tick(text: &str) -> Result<Duration, String> {
    crate::config::toml::parse_duration(text)
}

/// One minute of ground truth: the highest values of its ticks.
#[derive(Debug, Clone, Default, Serialize)]
struct Minute {
    /// Start of the minute, Unix seconds.
    at: i64,
    /// Devices in the venue.
    devices: u64,
    /// Devices in each zone (zones in order).
    zones: Vec<u64>,
    /// Leases held in each zone's pool.
    leases: Vec<u64>,
    /// The uplink's utilization, basis points.
    uplink_bp: u64,
    /// Ticks in the minute.
    ticks: u64,
    /// Bytes each interface received in the minute's ticks (interfaces in order).
    rx_bytes: Vec<u64>,
    /// Bytes each interface transmitted in the minute's ticks.
    tx_bytes: Vec<u64>,
}

/// A simulated interface, for the truth file.
#[derive(Debug, Clone, Serialize)]
struct TruthInterface {
    name: String,
    /// The zone (id) it serves; `None` for the uplink.
    zone: Option<String>,
    speed_bps: u64,
}

/// The simulation's own account of what happened, for tests that check the history and the
/// report against it.
#[derive(Serialize)]
struct Truth<'a> {
    seed: u64,
    start: i64,
    days: u32,
    tick_seconds: u64,
    zones: &'a [scenario::Zone],
    interfaces: Vec<TruthInterface>,
    aps: usize,
    devices: usize,
    /// Devices in the venue at least once.
    unique_devices: usize,
    /// Devices in each zone at least once.
    unique_devices_by_zone: Vec<usize>,
    randomized_devices: usize,
    sessions: &'a [scenario::Session],
    events: &'a [scenario::Event],
    minutes: &'a [Minute],
}

/// A running simulation: each call to [`Simulation::reports`] gives one tick's reports.
pub struct Simulation {
    scenario: Scenario,
    tick: i64,
    seed: u64,
    clients: Vec<Client>,
    /// Each device's zone at the previous tick.
    last: Vec<Option<usize>>,
    /// Each device's last lease: its zone and when it left the zone.
    lease: Vec<Option<(usize, i64)>>,
    /// Which zones each device was ever in (bit per zone, by device).
    visited: Vec<Vec<bool>>,
    ticks: u64,
    /// Interface counters: the uplink, then each zone's bridge.
    counters: Vec<Counters>,
    programme_sent: bool,
    jitter: fastrand::Rng,
    minutes: Vec<Minute>,
}

impl Simulation {
    /// The event `options` describe, its day 1 starting at `start` (Unix seconds).
    pub fn new(options: &Options, start: i64) -> Simulation {
        let scenario = Scenario::new(
            options.seed,
            options.days,
            options.zones,
            options.aps,
            start,
        );
        let key = ClientKey::from_bytes(scenario.key);
        let clients = scenario.macs.iter().map(|m| key.client(m)).collect();
        let devices = scenario.macs.len();
        let zones = scenario.zones.len();
        Simulation {
            tick: i64::try_from(options.tick.as_secs()).unwrap_or(1).max(1),
            seed: options.seed,
            clients,
            last: vec![None; devices],
            lease: vec![None; devices],
            visited: vec![vec![false; zones]; devices],
            ticks: 0,
            counters: vec![Counters::default(); zones + 1],
            programme_sent: false,
            jitter: fastrand::Rng::with_seed(options.seed ^ 0x5eed),
            minutes: Vec::new(),
            scenario,
        }
    }

    /// The first and last tick times of the event.
    pub fn ticks(&self) -> impl Iterator<Item = i64> + use<> {
        let start = self.scenario.start;
        let end = start + i64::from(self.scenario.days) * DAY;
        (start..end).step_by(usize::try_from(self.tick).unwrap_or(1))
    }

    /// The configuration of the simulated venue: its zones and their seats, the tick,
    /// clients counted for two minutes after their last sighting (the simulated access
    /// points report each station once a minute), and no history (the caller sets it).
    ///
    /// # Errors
    /// None in practice: the text is made here; a failure is a bug, reported.
    pub fn config(&self) -> anyhow::Result<Config> {
        use std::fmt::Write;
        let window = (self.tick * 3).max(120);
        let mut toml = format!(
            "[venue]\nname = \"Simulated venue\"\nevent = \"simulated\"\n\n\
             [agent]\ntick = \"{}s\"\nactive_window = \"{window}s\"\nstate_dir = \"{}\"\n\n\
             [history]\nenabled = false\n",
            self.tick,
            std::env::temp_dir().join("venuemon-simulated").display(),
        );
        for zone in &self.scenario.zones {
            let _ = write!(
                toml,
                "\n[[zone]]\nid = \"{}\"\nname = \"{}\"\n",
                zone.id, zone.name
            );
            if let Some(seats) = zone.seats {
                let _ = writeln!(toml, "seats = {seats}");
            }
        }
        let (config, _) = crate::config::parse("simulated.toml", &toml, "simulated")
            .map_err(|e| anyhow::anyhow!("the simulated configuration is invalid: {e}"))?;
        Ok(config)
    }

    /// The simulated venue for the start line: its zones and access points, its interfaces
    /// and the sources that report (`kind:instance`, as [`Simulation::reports`] names them).
    pub fn describe(&self) -> Described {
        let s = &self.scenario;
        let interfaces: Vec<String> = (0..=s.zones.len()).map(|i| interface(i).0).collect();
        let interfaces: Vec<&str> = interfaces.iter().map(String::as_str).collect();
        let mut sources = vec![
            format!("schedule:{PROGRAMME_INSTANCE}"),
            format!("netdev:{NETDEV_INSTANCE}"),
        ];
        for zone in &s.zones {
            sources.push(format!("hostapd:{}", zone.id));
            sources.push(format!("dhcp:{}", zone.id));
        }
        Described {
            venue: format!(
                "{} zones, {} access points, {} devices, a {}s tick, seed {}",
                s.zones.len(),
                s.aps.len(),
                s.macs.len(),
                self.tick,
                self.seed
            ),
            interfaces: crate::sources::links::capped_names(&interfaces),
            sources: sources.join(","),
        }
    }

    /// The reports the sources of the venue would send at `t` (Unix seconds).
    pub fn reports(&mut self, t: i64) -> Vec<Report> {
        let s = &self.scenario;
        let zones = s.zones.len();
        let mut present = vec![0u64; zones];
        let mut leases = vec![0u64; zones];
        let mut stations = vec![0u64; s.aps.len()];
        let mut events = vec![ApEvents::default(); s.aps.len()];
        let mut sightings: Vec<Vec<Sighting>> = vec![Vec::new(); zones];
        let refresh = u64::try_from((60 / self.tick).max(1)).unwrap_or(1);
        let ap_of = |d: usize, z: usize| s.aps_of[z][d % s.aps_of[z].len()];
        for d in 0..s.macs.len() {
            let now = s.place(d, t);
            let was = self.last[d];
            if now != was {
                if let Some(w) = was {
                    events[ap_of(d, w)].disconnects += 1;
                    self.lease[d] = Some((w, t));
                }
                if let Some(n) = now {
                    let ap = ap_of(d, n);
                    events[ap].connects += 1;
                    // One join in fifty fails its first authentication.
                    if (d + self.ticks as usize).is_multiple_of(50) {
                        events[ap].auth_failures += 1;
                    }
                }
                self.last[d] = now;
            }
            if let Some(n) = now {
                present[n] += 1;
                leases[n] += 1;
                stations[ap_of(d, n)] += 1;
                self.visited[d][n] = true;
                if now != was || (d as u64 + self.ticks).is_multiple_of(refresh) {
                    sightings[n].push(Sighting {
                        client: self.clients[d],
                        zone: n,
                        age: Duration::ZERO,
                    });
                }
            }
            if let Some((zone, left)) = self.lease[d]
                && Some(zone) != now
                && t - left < LEASE_SECONDS
            {
                leases[zone] += 1;
            }
        }
        self.ticks += 1;

        let sod = (t - s.start).rem_euclid(DAY);
        let day = (t - s.start).div_euclid(DAY);
        let devices: u64 = present.iter().sum();
        let lunch = (UPLINK_SATURATED.0..UPLINK_SATURATED.1).contains(&sod);
        let uplink = if lunch {
            0.97 + self.jitter.f64() * 0.02
        } else {
            0.05 + 0.5 * devices as f64 / s.macs.len() as f64 + self.jitter.f64() * 0.02
        };
        let tick = self.tick as f64;
        // Each interface's bytes of this tick, received and transmitted, into its counters.
        let add = |c: &mut Counters, bits_per_second: f64| {
            let bytes = (bits_per_second * tick / 8.0) as u64;
            c.rx_bytes += bytes;
            c.tx_bytes += bytes / 5;
            c.rx_packets += bytes / 1_000;
            c.tx_packets += bytes / 5_000;
            (bytes, bytes / 5)
        };
        let mut sent = Vec::with_capacity(zones + 1);
        sent.push(add(&mut self.counters[0], uplink * SPEED as f64));
        for (z, count) in present.iter().enumerate() {
            sent.push(add(&mut self.counters[z + 1], *count as f64 * 200_000.0));
        }
        self.record(t, devices, &present, &leases, uplink, &sent);

        let s = &self.scenario;
        let mut reports = Vec::with_capacity(2 * zones + 2);
        let report = |source, instance: &str, outcome| Report {
            source,
            instance: instance.to_string(),
            duration: Duration::ZERO,
            outcome,
        };
        if !self.programme_sent {
            self.programme_sent = true;
            let programme: Vec<ZoneSession> = s
                .sessions
                .iter()
                .filter_map(|session| {
                    let zone = s.zones.iter().position(|z| z.id == session.zone)?;
                    Some(ZoneSession {
                        zone,
                        session: Session {
                            title: session.title.clone(),
                            location: session.zone.clone(),
                            starts: session.starts,
                            ends: session.ends,
                        },
                    })
                })
                .collect();
            reports.push(report(
                "schedule",
                PROGRAMME_INSTANCE,
                Ok(vec![Observation::Programme(programme.into())]),
            ));
        }
        let mut links = Vec::with_capacity(zones + 1);
        for (i, counters) in self.counters.iter().enumerate() {
            let (name, zone) = interface(i);
            links.push(InterfaceSample {
                link: Link {
                    index: u32::try_from(i + 2).unwrap_or(u32::MAX),
                    name,
                    kind: crate::inventory::LinkKind::Physical,
                    counters: *counters,
                    up: true,
                    carrier: Some(true),
                    mtu: Some(1500),
                    speed_bps: Some(SPEED),
                },
                zone,
            });
        }
        reports.push(report(
            "netdev",
            NETDEV_INSTANCE,
            Ok(vec![Observation::Interfaces(links)]),
        ));
        for (z, zone) in s.zones.iter().enumerate() {
            let aps: Vec<ApSample> = s.aps_of[z]
                .iter()
                .map(|a| {
                    let (name, _, band) = &s.aps[*a];
                    let (band, mhz, channel) = match band {
                        1 => (Band::Ghz2_4, 2412, 1),
                        3 => (Band::Ghz6, 5955, 1),
                        _ => (Band::Ghz5, 5180, 36),
                    };
                    ApSample {
                        ap: name.clone(),
                        zone: Some(z),
                        band,
                        frequency_mhz: Some(mhz),
                        channel: Some(channel),
                        stations: stations[*a],
                        signals_dbm: Vec::new(),
                        rx_bytes: 0,
                        tx_bytes: 0,
                        channel_utilization: Some((0.05 + stations[*a] as f64 * 0.004).min(0.95)),
                    }
                })
                .collect();
            let ap_events = s.aps_of[z]
                .iter()
                .map(|a| (s.aps[*a].0.clone(), Some(z), events[*a]))
                .collect();
            let seen = std::mem::take(&mut sightings[z]);
            reports.push(report(
                "hostapd",
                &zone.id,
                Ok(vec![
                    Observation::AccessPoints(aps),
                    Observation::ApEvents(ap_events),
                    Observation::Clients(seen),
                ]),
            ));
            let down = day == 0 && z == FIRST_ROOM && (SOURCE_DOWN.0..SOURCE_DOWN.1).contains(&sod);
            let outcome = if down {
                Err(SourceError::new(
                    ErrorKind::Io,
                    "simulated: the lease file cannot be read",
                ))
            } else {
                Ok(vec![Observation::PoolLeases(PoolLeases {
                    pool: zone.id.clone(),
                    zone: Some(z),
                    leases_active: leases[z],
                    pool_size: Some(zone.pool_size),
                    skipped: 0,
                })])
            };
            reports.push(report("dhcp", &zone.id, outcome));
        }
        reports
    }

    /// Adds tick `t` to its minute of ground truth; `sent` is each interface's bytes of the
    /// tick, received and transmitted.
    fn record(
        &mut self,
        t: i64,
        devices: u64,
        present: &[u64],
        leases: &[u64],
        uplink: f64,
        sent: &[(u64, u64)],
    ) {
        let at = t - t.rem_euclid(60);
        if self.minutes.last().is_none_or(|m| m.at != at) {
            self.minutes.push(Minute {
                at,
                zones: vec![0; present.len()],
                leases: vec![0; present.len()],
                rx_bytes: vec![0; sent.len()],
                tx_bytes: vec![0; sent.len()],
                ..Minute::default()
            });
        }
        if let Some(m) = self.minutes.last_mut() {
            m.ticks += 1;
            for ((rx, tx), (r, t)) in m.rx_bytes.iter_mut().zip(&mut m.tx_bytes).zip(sent) {
                *rx += r;
                *tx += t;
            }
            m.devices = m.devices.max(devices);
            for (mine, now) in m.zones.iter_mut().zip(present) {
                *mine = (*mine).max(*now);
            }
            for (mine, now) in m.leases.iter_mut().zip(leases) {
                *mine = (*mine).max(*now);
            }
            m.uplink_bp = m.uplink_bp.max((uplink * 10_000.0).round() as u64);
        }
    }

    /// The programme as an iCalendar file, each session's room its zone id.
    pub fn programme_ics(&self) -> String {
        let stamp = |t: i64| {
            jiff::Timestamp::from_second(t)
                .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
                .unwrap_or_default()
        };
        let mut ics =
            String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//venuemon//simulate//EN\r\n");
        for (i, session) in self.scenario.sessions.iter().enumerate() {
            ics.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:session-{i}@simulated.venuemon.invalid\r\n\
                 DTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:{}\r\nLOCATION:{}\r\n\
                 END:VEVENT\r\n",
                stamp(self.scenario.start),
                stamp(session.starts),
                stamp(session.ends),
                session.title.replace(',', "\\,"),
                session.zone,
            ));
        }
        ics.push_str("END:VCALENDAR\r\n");
        ics
    }

    /// The ground truth so far as JSON: the scenario, its events, and each minute's peaks.
    pub fn truth_json(&self) -> String {
        let s = &self.scenario;
        let zones = s.zones.len();
        let truth = Truth {
            seed: self.seed,
            start: s.start,
            days: s.days,
            tick_seconds: self.tick.unsigned_abs(),
            zones: &s.zones,
            interfaces: (0..=zones)
                .map(|i| {
                    let (name, zone) = interface(i);
                    TruthInterface {
                        name,
                        zone: zone.map(|z| s.zones[z].id.clone()),
                        speed_bps: SPEED,
                    }
                })
                .collect(),
            aps: s.aps.len(),
            devices: s.macs.len(),
            unique_devices: self.visited.iter().filter(|v| v.iter().any(|b| *b)).count(),
            unique_devices_by_zone: (0..zones)
                .map(|z| self.visited.iter().filter(|v| v[z]).count())
                .collect(),
            randomized_devices: self.clients.iter().filter(|c| c.randomized).count(),
            sessions: &s.sessions,
            events: &s.events,
            minutes: &self.minutes,
        };
        serde_json::to_string(&truth).unwrap_or_default()
    }

    /// Sends each tick's reports to the agent's hub in real time, until `cancel`: the live
    /// agent's way in (`venuemon run --simulate`), where the event's day 1 began at `start`.
    pub async fn feed(mut self, reports: mpsc::Sender<Report>, cancel: CancellationToken) {
        let tick = Duration::from_secs(self.tick.unsigned_abs());
        let mut interval = tokio::time::interval(tick);
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = interval.tick() => {
                    let now = crate::model::grid::unix_seconds(SystemTime::now());
                    for report in self.reports(i64::try_from(now).unwrap_or(i64::MAX)) {
                        if reports.send(report).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Where [`run`] writes.
#[derive(Debug, Default)]
pub struct Outputs {
    /// The history file (must not exist yet).
    pub history: Option<PathBuf>,
    /// The programme, as an iCalendar file.
    pub programme: Option<PathBuf>,
    /// The ground truth, as JSON.
    pub truth: Option<PathBuf>,
}

impl Outputs {
    /// Refuses a simulation that would write nothing: its event is gone when it ends.
    ///
    /// # Errors
    /// None of the files is given: the message names them.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.history.is_some() || self.programme.is_some() || self.truth.is_some(),
            "nothing to write: give --history FILE to keep the simulated event (for `venuemon \
             report --history FILE` and `venuemon run --simulate --history FILE`), and \
             --programme FILE or --truth FILE for its programme or its ground truth"
        );
        Ok(())
    }
}

/// How far [`run`] has got: reported at each tenth of the event, for a progress line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The simulated time reached, Unix seconds.
    pub at: i64,
    /// Ticks simulated so far (each snapshot handed to the history writer, with a history).
    pub ticks: u64,
    /// Ticks in the whole event.
    pub total: u64,
    /// Wall-clock time since the start.
    pub elapsed: Duration,
}

impl Progress {
    /// The simulated time reached, RFC 3339 in UTC (as the logs' `simulated_time`).
    pub fn simulated_time(&self) -> String {
        utc(self.at)
    }

    /// Percent of the event simulated.
    pub fn percent(&self) -> u64 {
        (self.ticks * 100).checked_div(self.total).unwrap_or(100)
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "simulated {} ({} %, {} of {} ticks) in {:.1} s",
            self.simulated_time(),
            self.percent(),
            self.ticks,
            self.total,
            self.elapsed.as_secs_f64()
        )
    }
}

/// A simulated time as people and logs read it: RFC 3339 in UTC, to the second.
fn utc(at: i64) -> String {
    jiff::Timestamp::from_second(at).map_or_else(|_| at.to_string(), |t| t.to_string())
}

/// What [`run`] did.
#[derive(Debug)]
pub struct Summary {
    /// Snapshots made (and written, with a history).
    pub ticks: u64,
    /// Simulated devices.
    pub devices: usize,
    /// Wall-clock time it took.
    pub took: Duration,
}

/// Simulates the whole event as fast as it goes: each tick's reports applied to a real hub,
/// its snapshot written by the history writer on its own thread. What the hub logs of a
/// tick (a source failing, recovering) is inside a span `simulated` whose field
/// `simulated_time` is the tick's simulated time, as the log's own timestamp is the wall
/// clock's.
///
/// # Errors
/// The options are out of range, a file exists or cannot be written, or the history cannot
/// be written.
pub fn run(options: &Options, out: &Outputs) -> anyhow::Result<Summary> {
    run_showing(options, out, &mut |_| {})
}

/// [`run`], calling `progress` at each tenth of the event (10 % to 90 %).
///
/// # Errors
/// As [`run`].
pub fn run_showing(
    options: &Options,
    out: &Outputs,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<Summary> {
    options.check()?;
    let began = std::time::Instant::now();
    let mut simulation = Simulation::new(options, START);
    let mut config = simulation.config()?;
    if let Some(path) = &out.programme {
        write(path, simulation.programme_ics().as_bytes())?;
    }
    let writer = match &out.history {
        Some(path) => {
            if let Err(e) = crate::files::open_regular(path)
                && let Some(what) = crate::files::not_regular(&e)
            {
                let example = if path.is_dir() {
                    format!(" (a new one, like {})", path.join("event.sqlite").display())
                } else {
                    String::new()
                };
                anyhow::bail!("--history {} {what}{example}", path.display());
            }
            anyhow::ensure!(
                !path.exists(),
                "{} exists: remove it or choose another --history file (a simulation writes a \
                 new history)",
                path.display()
            );
            // A missing folder is a typo far more often than a wish: refused, not made.
            if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
                && !folder.exists()
            {
                anyhow::bail!(
                    "cannot create the history {}: the folder {} does not exist; create it \
                     or choose a --history file in an existing folder",
                    path.display(),
                    folder.display()
                );
            }
            // Made now (empty: SQLite takes an empty file for an empty database), so that a
            // folder that cannot hold it fails before the simulation, not after.
            let made = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path);
            made.with_context(|| {
                format!(
                    "cannot create the history {}: choose a --history file in a folder you can \
                     write",
                    path.display()
                )
            })?;
            config.history.enabled = true;
            let (send, ticks) = sync_channel(64);
            let writer = Writer::new(
                path.clone(),
                config.history.clone(),
                Metrics::new(&prometheus::Registry::new()),
            );
            let thread = std::thread::Builder::new()
                .name("history".into())
                .spawn(move || writer.run(ticks, Batching::Exactly(BATCH)))
                .context("cannot start the history writer's thread")?;
            Some((send, thread))
        }
        None => None,
    };
    let inventory = Arc::new(Inventory::new(&config));
    let mut hub = Hub::new(&config, inventory);
    let base = tokio::time::Instant::now();
    let total = simulation.ticks().count() as u64;
    let mut ticks = 0;
    let mut tenth = 1;
    for t in simulation.ticks() {
        let now = base + Duration::from_secs((t - START).unsigned_abs());
        let span = tracing::info_span!("simulated", simulated_time = %utc(t));
        let snapshot = span.in_scope(|| {
            for report in simulation.reports(t) {
                hub.apply(report, now);
            }
            let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(t.unsigned_abs());
            Arc::new(hub.snapshot(now, wall))
        });
        ticks += 1;
        if let Some((send, _)) = &writer {
            send.send(snapshot)
                .map_err(|_| anyhow::anyhow!("the history writer stopped"))?;
        }
        if tenth < 10 && ticks * 10 >= total * tenth {
            tenth += 1;
            progress(&Progress {
                at: t,
                ticks,
                total,
                elapsed: began.elapsed(),
            });
        }
    }
    if let Some((send, thread)) = writer {
        drop(send);
        let failed = thread
            .join()
            .map_err(|_| anyhow::anyhow!("the history writer panicked"))?;
        if let Some(e) = failed {
            return Err(anyhow::Error::new(e).context("cannot write the history"));
        }
    }
    if let Some(path) = &out.truth {
        write(path, simulation.truth_json().as_bytes())?;
    }
    Ok(Summary {
        ticks,
        devices: simulation.clients.len(),
        took: began.elapsed(),
    })
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// The live simulation for `venuemon run --simulate`: day 1 began 8 h 50 min ago, so the
/// keynote starts in ten minutes.
pub fn live(options: &Options) -> anyhow::Result<Simulation> {
    options.check()?;
    let now = crate::model::grid::unix_seconds(SystemTime::now());
    let start = i64::try_from(now).unwrap_or(START) - (8 * 3600 + 50 * 60);
    Ok(Simulation::new(options, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(seed: u64) -> Options {
        Options {
            days: 1,
            zones: 4,
            aps: 8,
            tick: Duration::from_secs(60),
            seed,
        }
    }

    fn simulate(dir: &Path, name: &str, seed: u64) -> (Vec<u8>, Vec<u8>, PathBuf) {
        let out = Outputs {
            history: Some(dir.join(format!("{name}.sqlite"))),
            programme: Some(dir.join(format!("{name}.ics"))),
            truth: Some(dir.join(format!("{name}.json"))),
        };
        run(&options(seed), &out).expect("simulates");
        let read = |p: &Option<PathBuf>| std::fs::read(p.as_ref().expect("path")).expect("read");
        (
            read(&out.history),
            read(&out.truth),
            out.history.expect("path"),
        )
    }

    /// Regression: `--aps 100000` was taken, and ran for hours.
    #[test]
    fn regression_options_beyond_a_real_venue_are_refused_naming_the_bound() {
        let at_bounds = Options {
            days: MAX_DAYS,
            zones: MAX_ZONES,
            aps: MAX_APS,
            ..options(1)
        };
        at_bounds.check().expect("the largest venue");
        for (over, says) in [
            (
                Options {
                    days: MAX_DAYS + 1,
                    ..options(1)
                },
                "--days must be from 1 to 14",
            ),
            (
                Options {
                    zones: MAX_ZONES + 1,
                    aps: MAX_ZONES + 1,
                    ..options(1)
                },
                "--zones must be from 4 to 500",
            ),
            (
                Options {
                    aps: 100_000,
                    ..options(1)
                },
                "--aps must be at least --zones (one access point per zone) and at most 5000",
            ),
        ] {
            let e = over.check().expect_err("refused");
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn regression_the_start_line_describes_the_simulated_venue_and_the_sources_that_report() {
        let mut simulation = Simulation::new(&options(1), START);
        let described = simulation.describe();
        assert_eq!(described.interfaces, "uplink0,br001,br002,br003,br004");
        assert_eq!(
            described.venue,
            format!(
                "4 zones, 8 access points, {} devices, a 60s tick, seed 1",
                simulation.clients.len()
            )
        );
        // Exactly the sources that report, in their order.
        let reported: Vec<String> = simulation
            .reports(START)
            .iter()
            .map(|r| format!("{}:{}", r.source, r.instance))
            .collect();
        assert_eq!(described.sources, reported.join(","));
        assert!(
            described
                .sources
                .starts_with("schedule:programme.ics,netdev:sim,hostapd:main-hall,dhcp:main-hall,"),
            "{}",
            described.sources
        );
    }

    /// Regression: a history in a folder that cannot hold it failed only once the whole
    /// event was simulated.
    #[test]
    fn a_history_that_cannot_be_made_fails_before_simulating() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("file");
        let out = Outputs {
            history: Some(file.join("event.sqlite")),
            ..Outputs::default()
        };
        let mut progressed = false;
        let e = run_showing(&options(1), &out, &mut |_| progressed = true).expect_err("refused");
        assert!(
            format!("{e:#}").contains("cannot create the history"),
            "{e:#}"
        );
        assert!(!progressed, "refused before the first tick");
    }

    /// Regression: `--history /nonexist/x.sqlite` made the missing folders, where `report
    /// --out` refuses a missing folder.
    #[test]
    fn regression_a_history_in_a_missing_folder_is_refused_not_made() {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("typo");
        let out = Outputs {
            history: Some(folder.join("event.sqlite")),
            ..Outputs::default()
        };
        let e = run(&options(1), &out).expect_err("refused");
        assert_eq!(
            e.to_string(),
            format!(
                "cannot create the history {}/event.sqlite: the folder {} does not exist; \
                 create it or choose a --history file in an existing folder",
                folder.display(),
                folder.display()
            )
        );
        assert!(!folder.exists(), "the folder is not made");
    }

    /// Regression: `venuemon simulate` with no file to write ran a whole event silently, and
    /// `--history /tmp` said "/tmp exists: remove it".
    #[test]
    fn regression_nothing_to_write_is_refused_and_a_directory_is_named() {
        let e = Outputs::default().check().expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("nothing to write: give --history FILE to keep the simulated event"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        for out in [
            Outputs {
                truth: Some(dir.path().join("truth.json")),
                ..Outputs::default()
            },
            Outputs {
                programme: Some(dir.path().join("programme.ics")),
                ..Outputs::default()
            },
        ] {
            out.check().expect("something to write");
        }
        let out = Outputs {
            history: Some(dir.path().to_path_buf()),
            ..Outputs::default()
        };
        let e = run(&options(2), &out).expect_err("refused");
        assert_eq!(
            e.to_string(),
            format!(
                "--history {0} is a directory, not a regular file: give the path of the file \
                 itself (a new one, like {0}/event.sqlite)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn regression_simulate_reports_progress_at_each_tenth() {
        let mut seen = Vec::new();
        let summary = run_showing(&options(2), &Outputs::default(), &mut |p| seen.push(*p))
            .expect("simulates");
        // A day of 60 s ticks: 1 440, reported at each tenth.
        assert_eq!(summary.ticks, 1_440);
        let percents: Vec<u64> = seen.iter().map(Progress::percent).collect();
        assert_eq!(percents, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(seen[0].ticks, 144);
        assert_eq!(seen[0].at, START + 143 * 60);
        assert!(seen.iter().all(|p| p.total == 1_440));
        let line = seen[2].to_string();
        assert!(
            line.starts_with("simulated 2026-06-02T07:11:00Z (30 %, 432 of 1440 ticks) in "),
            "{line}"
        );
    }

    #[test]
    fn the_same_seed_gives_byte_identical_history_and_truth_and_another_seed_does_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (history, truth, _) = simulate(dir.path(), "a", 3);
        let (again, truth_again, _) = simulate(dir.path(), "b", 3);
        assert!(history == again, "the histories differ");
        assert!(truth == truth_again, "the truths differ");
        let (_, other, _) = simulate(dir.path(), "c", 4);
        assert!(truth != other);
        assert!(
            run(
                &options(3),
                &Outputs {
                    history: Some(dir.path().join("a.sqlite")),
                    ..Outputs::default()
                }
            )
            .is_err_and(|e| e.to_string().contains("exists"))
        );
    }

    #[test]
    fn the_scenario_is_in_the_history_keynote_peak_pool_short_source_down_twenty_minutes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_, truth, path) = simulate(dir.path(), "event", 11);
        let db = rusqlite::Connection::open(path).expect("history");
        let zone = |name: &str, column: &str| -> (i64, i64) {
            db.query_row(
                &format!(
                    "SELECT max({column}), (SELECT at FROM zone_ticks z2 WHERE z2.zone = z.zone \
                     ORDER BY {column} DESC, at LIMIT 1) FROM zone_ticks z JOIN names n \
                     ON n.id = z.zone AND n.kind = 'zone' WHERE n.name = ?1"
                ),
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("zone query")
        };
        // The keynote (09:00–10:00) packs the main hall past its seats, and its pool runs
        // short (past the 95 % critical threshold).
        let (peak, at) = zone("main-hall", "clients");
        let sod = (at - START).rem_euclid(DAY);
        assert!((9 * 3600..10 * 3600).contains(&sod), "peak at {sod}");
        let seats: i64 = db
            .query_row("SELECT max(seats) FROM zone_ticks z JOIN names n ON n.id = z.zone WHERE n.name = 'main-hall'", [], |r| r.get(0))
            .expect("seats");
        assert!(peak > seats, "{peak} devices, {seats} seats");
        let (usage, size): (i64, i64) = db
            .query_row("SELECT max(pool_leases), max(pool_size) FROM zone_ticks z JOIN names n ON n.id = z.zone WHERE n.name = 'main-hall'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("pool");
        assert!(usage * 100 >= size * 95, "{usage} of {size}");
        // The first room's DHCP source is down for twenty minutes.
        let down: i64 = db
            .query_row("SELECT count(*) FROM source_ticks s JOIN names n ON n.id = s.source WHERE n.name = 'dhcp/room-01' AND up = 0", [], |r| r.get(0))
            .expect("source");
        assert_eq!(down * 60, 20 * 60);
        // Unique devices over the event, merged from the hourly sketches, match the truth.
        let truth: serde_json::Value = serde_json::from_slice(&truth).expect("truth");
        let unique =
            crate::history::store::unique_devices(&db, &[], 0, u64::MAX / 2).expect("sketches");
        let expected = truth["unique_devices"].as_f64().expect("unique");
        assert!(
            (unique - expected).abs() / expected < 0.03,
            "{unique} vs {expected}"
        );
        // Regression: with 4 zones (one room) nothing overruns, yet the truth had an overlap
        // in the only room.
        assert!(
            !truth["events"]
                .as_array()
                .expect("events")
                .iter()
                .any(|e| e["kind"] == "sessions_overlap")
        );
    }
}
