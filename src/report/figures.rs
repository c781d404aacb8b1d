//! Figures: pure functions from [`EventData`] to what the report says. No wording here
//! (see `words`), only values, each named so that a recommendation can point at it.

use serde::{Deserialize, Serialize};

use super::data::{EventData, InterfaceData, PoolData, Series, UniqueDevices, ZoneData};

/// Share of a pool's addresses left free under which the report recommends widening it.
pub const LOW_HEADROOM: f64 = 0.05;

/// Everything the report states about one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// The venue.
    pub venue: String,
    /// Start of the period, Unix seconds.
    pub from: i64,
    /// End of the period, Unix seconds.
    pub to: i64,
    /// The event in a few numbers.
    pub headline: Headline,
    /// Per zone.
    pub zones: Vec<ZoneFigures>,
    /// Per programme session, by start.
    pub sessions: Vec<SessionFigures>,
    /// What went wrong, by start.
    pub incidents: Vec<Incident>,
    /// What to change next time, each tied to a figure.
    pub recommendations: Vec<Recommendation>,
}

/// A maximum (or minimum) and the start of the minute it happened.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// The value.
    pub value: f64,
    /// Unix seconds.
    pub at: i64,
}

/// A peak held or reached again: the minutes within [`PLATEAU`] of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plateau {
    /// End (Unix seconds) of the stretch of minutes, from the peak's first minute on, that
    /// stayed within [`PLATEAU`] of it.
    pub held_until: i64,
    /// Separate stretches of minutes within [`PLATEAU`] of the peak over the period.
    pub times_reached: usize,
}

/// A value within this share of a peak counts as the peak held or reached again.
pub const PLATEAU: f64 = 0.01;

/// A peak held this long (seconds) or longer is said to be held.
pub const HELD: i64 = 5 * 60;

/// The fewest free addresses a pool had, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headroom {
    /// The pool.
    pub pool: String,
    /// Free addresses (size minus active leases).
    pub free: f64,
    /// The pool's size then.
    pub size: f64,
    /// Unix seconds.
    pub at: i64,
}

/// Share of its recorded minutes a zone spent at warn and at critical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusShare {
    /// Zone id.
    pub zone: String,
    /// 0..=1.
    pub warn: f64,
    /// 0..=1.
    pub critical: f64,
}

/// The event in a few numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Most devices connected at once across the zones (the zones added up at the venue's
    /// busiest tick of each minute).
    pub peak_devices: Option<Peak>,
    /// How long `peak_devices` was held and how often it was reached, when it is a plateau
    /// rather than a moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_devices_held: Option<Plateau>,
    /// Unique devices over the event.
    pub unique: Option<UniqueDevices>,
    /// Bytes to and from attendees: received plus transmitted on the zones' interfaces.
    pub traffic_bytes: f64,
    /// `traffic_bytes` over `--attendees`.
    pub traffic_per_attendee_bytes: Option<f64>,
    /// Highest utilization of any interface in either direction, 0..=1.
    pub uplink_peak: Option<Peak>,
    /// The interface that reached `uplink_peak`.
    #[serde(default)]
    pub uplink_peak_interface: Option<String>,
    /// 95th percentile (nearest rank) over the minutes of the busiest interface's utilization.
    pub uplink_p95: Option<f64>,
    /// Minutes in which an interface was at or above its zone's `uplink_critical`.
    pub uplink_saturated_minutes: u64,
    /// The fewest free addresses any pool had.
    pub min_headroom: Option<Headroom>,
    /// Time each zone spent at warn and critical.
    pub status_share: Vec<StatusShare>,
}

/// One zone's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneFigures {
    /// Zone id.
    pub id: String,
    /// Zone name.
    pub name: String,
    /// Seats, if known.
    pub seats: Option<u32>,
    /// Most devices at once in the zone (its own busiest tick), and its minute.
    pub peak: Option<Peak>,
    /// `peak` over seats.
    pub peak_seat_ratio: Option<f64>,
    /// Share of associated stations per band over the event (`band`, 0..=1), when known.
    pub bands: Vec<(String, f64)>,
    /// Minutes an interface of the zone was at or above `uplink_critical`.
    pub saturated_minutes: u64,
    /// The fewest free addresses among the zone's pools.
    pub min_headroom: Option<Headroom>,
}

/// One session's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionFigures {
    /// Title.
    pub title: String,
    /// Zone id.
    pub zone: String,
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds.
    pub ends: i64,
    /// Most devices at once in its room during it (the room's own busiest tick).
    pub peak: Option<Peak>,
    /// `peak` over the room's seats.
    pub seats_filled: Option<f64>,
    /// Titles of the other sessions in the same room at overlapping times.
    pub overlaps: Vec<String>,
    /// It was running in its room at the minute of the event's peak, with devices in the
    /// room then.
    pub drove_event_peak: bool,
    /// It was running at its room's peak.
    pub drove_zone_peak: bool,
}

/// What an incident is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IncidentKind {
    /// A source failed its samples.
    SourceDown {
        /// Kind of source.
        source: String,
        /// Which one.
        instance: String,
    },
    /// An interface was down.
    InterfaceDown {
        /// Its name.
        interface: String,
    },
    /// A pool had no free address.
    PoolFull {
        /// Its name.
        pool: String,
    },
    /// DHCP took longer than `time_to_lease_warn` (95th percentile).
    TimeToLeaseSlow {
        /// The capture interface.
        interface: String,
    },
}

/// A run of consecutive minutes with one problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// What.
    #[serde(flatten)]
    pub kind: IncidentKind,
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds.
    pub ends: i64,
}

impl Incident {
    /// Its duration, seconds.
    pub fn seconds(&self) -> i64 {
        self.ends - self.starts
    }
}

/// Something to change next time, with the figure it follows from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recommendation {
    /// A zone reached its warn threshold of devices per seat (`zones[].peak_seat_ratio`
    /// against the zone's `occupancy_warn`, as on the status page): more access points.
    MoreAccessPoints {
        /// Zone id.
        zone: String,
        /// Devices per seat at its peak.
        ratio: f64,
        /// The zone's `occupancy_warn`, devices per seat, that `ratio` reached.
        #[serde(default)]
        threshold: f64,
        /// The session running then, if any.
        session: Option<String>,
    },
    /// A pool fell under [`LOW_HEADROOM`] free (`zones[].min_headroom`, `headline.min_headroom`):
    /// widen it.
    WidenPool {
        /// Pool name.
        pool: String,
        /// Free addresses at its lowest.
        free: f64,
    },
    /// Interfaces were saturated (`zones[].saturated_minutes`): more uplink or shaping.
    MoreUplink {
        /// Zone id.
        zone: String,
        /// Minutes saturated.
        minutes: u64,
        /// The zone's interfaces that were saturated, by name.
        #[serde(default)]
        interfaces: Vec<String>,
    },
    /// A link that serves no zone (the venue's uplink) was saturated
    /// (`headline.uplink_saturated_minutes`): more capacity on it, or shaping.
    MoreSharedUplink {
        /// The interface.
        interface: String,
        /// Minutes it was saturated.
        minutes: u64,
    },
    /// Two sessions shared a room (`sessions[].overlaps`): schedule them apart.
    SeparateSessions {
        /// One session.
        first: String,
        /// The other.
        second: String,
        /// Zone id.
        zone: String,
        /// Minutes both were running.
        #[serde(default)]
        minutes: u64,
        /// They started and ended at the same times.
        #[serde(default)]
        same_times: bool,
    },
    /// A source instance was down (`incidents`): monitor it, or fix what failed.
    FixSource {
        /// Kind of source.
        source: String,
        /// Which one (a pool, an interface, a file), as the incidents name it.
        #[serde(default)]
        instance: String,
        /// Minutes down over the event.
        minutes: u64,
        /// When it was down: (start, end), Unix seconds, by start.
        #[serde(default)]
        periods: Vec<(i64, i64)>,
    },
}

impl Recommendation {
    /// The figure of the report it comes from, as its JSON path.
    pub fn figure(&self) -> &'static str {
        match self {
            Recommendation::MoreAccessPoints { .. } => "zones[].peak_seat_ratio",
            Recommendation::WidenPool { .. } => "headline.min_headroom",
            Recommendation::MoreUplink { .. } => "zones[].saturated_minutes",
            Recommendation::MoreSharedUplink { .. } => "headline.uplink_saturated_minutes",
            Recommendation::SeparateSessions { .. } => "sessions[].overlaps",
            Recommendation::FixSource { .. } => "incidents[source_down]",
        }
    }
}

/// The report's figures for `data`; `attendees` is the attendance when known.
pub fn figures(data: &EventData, attendees: Option<u64>) -> Figures {
    let totals = total_devices(data);
    let peak_devices = max_of(data, &totals);
    let zones: Vec<ZoneFigures> = data.zones.iter().map(|z| zone(data, z)).collect();
    let sessions = sessions(data, peak_devices, &zones);
    let incidents = incidents(data);
    let traffic_bytes: f64 = data
        .interfaces
        .iter()
        .filter(|i| i.zone.is_some())
        .map(|i| sum(&i.rx_bytes) + sum(&i.tx_bytes))
        .sum();
    let busiest = busiest_utilization(data);
    let uplink_peak = max_of(data, &busiest);
    let headline = Headline {
        peak_devices,
        peak_devices_held: peak_devices
            .filter(|p| p.value > 0.0)
            .and_then(|p| plateau(data, &totals, p)),
        // Never fewer different devices than were there at once: the sketch's ~1.6 % error
        // can put its estimate under the peak.
        unique: data.unique.map(|u| UniqueDevices {
            devices: u.devices.max(peak_devices.map_or(0.0, |p| p.value)),
            ..u
        }),
        traffic_bytes,
        traffic_per_attendee_bytes: attendees
            .filter(|n| *n > 0)
            .map(|n| traffic_bytes / n as f64),
        uplink_peak,
        uplink_peak_interface: uplink_peak.and_then(|p| busiest_interface(data, p)),
        uplink_p95: percentile(&busiest, 0.95),
        uplink_saturated_minutes: saturated_minutes(data, |_| true),
        min_headroom: min_headroom(data, |_| true),
        status_share: data
            .zones
            .iter()
            .map(|z| {
                let known = z.status.iter().flatten().count().max(1) as f64;
                let share = |level: f64| {
                    z.status.iter().flatten().filter(|s| **s == level).count() as f64 / known
                };
                StatusShare {
                    zone: z.id.clone(),
                    warn: share(1.0),
                    critical: share(2.0),
                }
            })
            .collect(),
    };
    let recommendations = recommendations(data, &zones, &sessions, &incidents);
    Figures {
        venue: data.venue.clone(),
        from: data.from,
        to: data.to(),
        headline,
        zones,
        sessions,
        incidents,
        recommendations,
    }
}

fn sum(series: &Series) -> f64 {
    series.iter().flatten().sum()
}

/// Devices across zones per step, each zone's at the venue's busiest tick (`None` where no
/// zone has a value).
fn total_devices(data: &EventData) -> Series {
    (0..data.steps)
        .map(|i| {
            let values: Vec<f64> = data
                .zones
                .iter()
                .filter_map(|z| z.devices_at_venue_peak.get(i).copied().flatten())
                .collect();
            (!values.is_empty()).then(|| values.iter().sum())
        })
        .collect()
}

/// Highest utilization of any interface in either direction per step.
fn busiest_utilization(data: &EventData) -> Series {
    (0..data.steps)
        .map(|i| {
            data.interfaces
                .iter()
                .flat_map(|f| [&f.utilization_rx, &f.utilization_tx])
                .filter_map(|s| s.get(i).copied().flatten())
                .reduce(f64::max)
        })
        .collect()
}

/// The largest value and its step's time; the first one on a tie.
fn max_of(data: &EventData, series: &Series) -> Option<Peak> {
    series
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
        .fold(None, |best: Option<(usize, f64)>, (i, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, value)| Peak {
            value,
            at: data.time(i),
        })
}

/// How `peak` of `series` was held and reached again, when held at least [`HELD`] from its
/// first minute or reached in several separate stretches; `None` for a peak of a moment.
/// Stretches are [`runs`]: at a tick longer than a minute, one over consecutive ticks.
fn plateau(data: &EventData, series: &Series, peak: Peak) -> Option<Plateau> {
    let stretches = runs(data, |i| {
        value(series, i).map(|v| v >= peak.value * (1.0 - PLATEAU))
    });
    let times_reached = stretches.len();
    let held_until = stretches
        .iter()
        .find(|(starts, ends)| (*starts..*ends).contains(&peak.at))
        .map_or(peak.at + data.step, |(_, ends)| *ends);
    (held_until - peak.at >= HELD || times_reached > 1).then_some(Plateau {
        held_until,
        times_reached,
    })
}

/// Nearest-rank percentile of the values present.
fn percentile(series: &Series, p: f64) -> Option<f64> {
    let mut values: Vec<f64> = series.iter().flatten().copied().collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank - 1).copied()
}

/// The interface whose utilization was `peak` at its minute.
fn busiest_interface(data: &EventData, peak: Peak) -> Option<String> {
    let i = data.steps_within(peak.at, peak.at + 1).start;
    data.interfaces
        .iter()
        .find(|f| {
            [&f.utilization_rx, &f.utilization_tx]
                .iter()
                .any(|s| value(s, i) == Some(peak.value))
        })
        .map(|f| f.name.clone())
}

/// Minutes in which an interface that `pick` takes was at or above its critical
/// utilization: the [`runs`] of such steps, so that at a tick longer than a minute a
/// saturated tick counts until the next.
fn saturated_minutes(data: &EventData, pick: impl Fn(&InterfaceData) -> bool) -> u64 {
    let interfaces: Vec<_> = data.interfaces.iter().filter(|f| pick(f)).collect();
    let seconds: i64 = runs(data, |i| {
        interfaces
            .iter()
            .flat_map(|f| {
                [&f.utilization_rx, &f.utilization_tx]
                    .into_iter()
                    .filter_map(|s| value(s, i).map(|u| u >= f.uplink_critical))
            })
            .reduce(|a, b| a || b)
    })
    .iter()
    .map(|(starts, ends)| ends - starts)
    .sum();
    (seconds / 60).max(0) as u64
}

/// The fewest free addresses among the pools `pick` takes, first minute on a tie.
fn min_headroom(data: &EventData, pick: impl Fn(&PoolData) -> bool) -> Option<Headroom> {
    let mut best: Option<Headroom> = None;
    for pool in data.pools.iter().filter(|p| pick(p)) {
        for (i, (leases, size)) in pool.leases.iter().zip(&pool.size).enumerate() {
            let (Some(leases), Some(size)) = (leases, size) else {
                continue;
            };
            let free = (size - leases).max(0.0);
            if best.as_ref().is_none_or(|b| free < b.free) {
                best = Some(Headroom {
                    pool: pool.name.clone(),
                    free,
                    size: *size,
                    at: data.time(i),
                });
            }
        }
    }
    best
}

fn zone(data: &EventData, z: &ZoneData) -> ZoneFigures {
    let peak = max_of(data, &z.devices);
    let band_totals: Vec<(String, f64)> = z
        .bands
        .iter()
        .map(|b| (b.band.clone(), sum(&b.devices)))
        .collect();
    let all: f64 = band_totals.iter().map(|(_, n)| n).sum();
    ZoneFigures {
        id: z.id.clone(),
        name: z.name.clone(),
        seats: z.seats,
        peak,
        peak_seat_ratio: peak
            .zip(z.seats.filter(|s| *s > 0))
            .map(|(p, s)| p.value / f64::from(s)),
        bands: if all > 0.0 {
            band_totals.into_iter().map(|(b, n)| (b, n / all)).collect()
        } else {
            Vec::new()
        },
        saturated_minutes: saturated_minutes(data, |f| f.zone.as_deref() == Some(&z.id)),
        min_headroom: min_headroom(data, |p| p.zone.as_deref() == Some(&z.id)),
    }
}

fn sessions(
    data: &EventData,
    event_peak: Option<Peak>,
    zones: &[ZoneFigures],
) -> Vec<SessionFigures> {
    let mut out: Vec<SessionFigures> = data
        .sessions
        .iter()
        .map(|s| {
            let room = data.zones.iter().find(|z| z.id == s.zone);
            let range = data.steps_within(s.starts, s.ends);
            let peak = room.and_then(|z| {
                let within: Series = (0..data.steps)
                    .map(|i| {
                        if range.contains(&i) {
                            z.devices.get(i).copied().flatten()
                        } else {
                            None
                        }
                    })
                    .collect();
                max_of(data, &within)
            });
            let running = |at: i64| s.starts <= at && at < s.ends;
            let zone_peak = zones.iter().find(|z| z.id == s.zone).and_then(|z| z.peak);
            SessionFigures {
                title: s.title.clone(),
                zone: s.zone.clone(),
                starts: s.starts,
                ends: s.ends,
                peak,
                seats_filled: peak
                    .zip(room.and_then(|z| z.seats).filter(|n| *n > 0))
                    .map(|(p, n)| p.value / f64::from(n)),
                overlaps: data
                    .sessions
                    .iter()
                    .filter(|o| {
                        !std::ptr::eq(*o, s)
                            && o.zone == s.zone
                            && o.starts < s.ends
                            && s.starts < o.ends
                    })
                    .map(|o| o.title.clone())
                    .collect(),
                drove_event_peak: event_peak.is_some_and(|p| {
                    running(p.at)
                        && room.is_some_and(|z| {
                            z.devices_at_venue_peak
                                .get(data.steps_within(p.at, p.at + 1).start)
                                .copied()
                                .flatten()
                                .is_some_and(|v| v > 0.0)
                        })
                }),
                drove_zone_peak: zone_peak.is_some_and(|p| running(p.at)),
            }
        })
        .collect();
    out.sort_by_key(|s| s.starts);
    out
}

/// Seconds two stretches of time `(starts, ends)` have in common (0 when apart).
pub(crate) fn overlap_seconds(a: (i64, i64), b: (i64, i64)) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0)
}

/// Runs of consecutive ticks where `state` is bad (`Some(true)`; `None` where a step holds
/// no value), as (start, end) times. A value stands for its step, or until the agent's next
/// tick when that is longer ([`EventData::tick`]): steps with no value before then continue
/// a run, so a source down for 20 minutes at a 5-minute tick is one run, not four one-minute
/// ones. A run ends at the next value that is not bad, where its last bad value stops
/// standing (the agent stopped: a missing minute is not a bad one), or at the period's end.
fn runs(data: &EventData, state: impl Fn(usize) -> Option<bool>) -> Vec<(i64, i64)> {
    // Counted from the start of its row, a tick stands to the end of the row its length
    // reaches into: a 90 s tick at 10:01:30 (row 10:01) is followed by one at 10:03:00.
    let stands = if data.step > 0 {
        (data.tick + data.step - 1) / data.step * data.step
    } else {
        data.tick
    }
    .max(data.step);
    let mut out = Vec::new();
    let mut open: Option<(i64, i64)> = None;
    for i in 0..data.steps {
        let at = data.time(i);
        match (state(i), open) {
            (Some(true), Some((starts, ends))) if at <= ends => {
                open = Some((starts, (at + stands).min(data.to())));
            }
            (Some(true), _) => {
                out.extend(open);
                open = Some((at, (at + stands).min(data.to())));
            }
            (Some(false), Some((starts, ends))) => {
                out.push((starts, ends.min(at)));
                open = None;
            }
            (None, Some(run)) if at >= run.1 => {
                out.push(run);
                open = None;
            }
            _ => {}
        }
    }
    out.extend(open);
    out
}

fn value(series: &Series, i: usize) -> Option<f64> {
    series.get(i).copied().flatten()
}

fn incidents(data: &EventData) -> Vec<Incident> {
    let mut out = Vec::new();
    let mut add = |kind: IncidentKind, found: Vec<(i64, i64)>| {
        out.extend(found.into_iter().map(|(starts, ends)| Incident {
            kind: kind.clone(),
            starts,
            ends,
        }));
    };
    for s in &data.sources {
        add(
            IncidentKind::SourceDown {
                source: s.source.clone(),
                instance: s.instance.clone(),
            },
            runs(data, |i| value(&s.up, i).map(|up| up == 0.0)),
        );
    }
    for f in &data.interfaces {
        add(
            IncidentKind::InterfaceDown {
                interface: f.name.clone(),
            },
            runs(data, |i| value(&f.up, i).map(|up| up == 0.0)),
        );
    }
    for p in &data.pools {
        add(
            IncidentKind::PoolFull {
                pool: p.name.clone(),
            },
            runs(data, |i| {
                value(&p.leases, i)
                    .zip(value(&p.size, i))
                    .map(|(l, s)| s > 0.0 && l >= s)
            }),
        );
    }
    for c in &data.captures {
        add(
            IncidentKind::TimeToLeaseSlow {
                interface: c.interface.clone(),
            },
            runs(data, |i| value(&c.time_to_lease_p95, i).map(|t| t > c.slow)),
        );
    }
    out.sort_by_key(|i| i.starts);
    out
}

fn recommendations(
    data: &EventData,
    zones: &[ZoneFigures],
    sessions: &[SessionFigures],
    incidents: &[Incident],
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    for (z, zd) in zones.iter().zip(&data.zones) {
        let threshold = zd.occupancy_warn;
        if let Some(ratio) = z.peak_seat_ratio.filter(|r| *r >= threshold) {
            let session = sessions
                .iter()
                .find(|s| s.zone == z.id && s.drove_zone_peak)
                .map(|s| s.title.clone());
            out.push(Recommendation::MoreAccessPoints {
                zone: z.id.clone(),
                ratio,
                threshold,
                session,
            });
        }
        if z.saturated_minutes > 0 {
            out.push(Recommendation::MoreUplink {
                zone: z.id.clone(),
                minutes: z.saturated_minutes,
                interfaces: data
                    .interfaces
                    .iter()
                    .filter(|f| {
                        f.zone.as_deref() == Some(&z.id)
                            && saturated_minutes(data, |g| std::ptr::eq(g, *f)) > 0
                    })
                    .map(|f| f.name.clone())
                    .collect(),
            });
        }
    }
    for f in data.interfaces.iter().filter(|f| f.zone.is_none()) {
        let minutes = saturated_minutes(data, |g| std::ptr::eq(g, f));
        if minutes > 0 {
            out.push(Recommendation::MoreSharedUplink {
                interface: f.name.clone(),
                minutes,
            });
        }
    }
    for pool in &data.pools {
        if let Some(h) = min_headroom(data, |p| p.name == pool.name)
            .filter(|h| h.size > 0.0 && h.free / h.size < LOW_HEADROOM)
        {
            out.push(Recommendation::WidenPool {
                pool: h.pool,
                free: h.free,
            });
        }
    }
    for (i, s) in sessions.iter().enumerate() {
        for o in sessions.iter().skip(i + 1) {
            if s.zone == o.zone && s.overlaps.contains(&o.title) {
                out.push(Recommendation::SeparateSessions {
                    first: s.title.clone(),
                    second: o.title.clone(),
                    zone: s.zone.clone(),
                    minutes: (overlap_seconds((s.starts, s.ends), (o.starts, o.ends)) / 60).max(0)
                        as u64,
                    same_times: (s.starts, s.ends) == (o.starts, o.ends),
                });
            }
        }
    }
    let mut down: Vec<Recommendation> = Vec::new();
    for i in incidents {
        let IncidentKind::SourceDown { source, instance } = &i.kind else {
            continue;
        };
        let (added, period) = ((i.seconds() / 60).max(0) as u64, (i.starts, i.ends));
        let same = |r: &&mut Recommendation| {
            matches!(r, Recommendation::FixSource { source: s, instance: n, .. }
                if s == source && n == instance)
        };
        match down.iter_mut().find(same) {
            Some(Recommendation::FixSource {
                minutes, periods, ..
            }) => {
                *minutes += added;
                periods.push(period);
            }
            _ => down.push(Recommendation::FixSource {
                source: source.clone(),
                instance: instance.clone(),
                minutes: added,
                periods: vec![period],
            }),
        }
    }
    out.extend(
        down.into_iter()
            .filter(|r| matches!(r, Recommendation::FixSource { minutes, .. } if *minutes > 0)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::{
        BandSeries, CaptureData, InterfaceData, SessionData, SourceData, ZoneData,
    };

    fn s(values: &[f64]) -> Series {
        values.iter().map(|v| (!v.is_nan()).then_some(*v)).collect()
    }

    const T0: i64 = 1_700_000_000 - 1_700_000_000 % 60;

    /// Each incident's start and end, seconds from [`T0`].
    fn incident_times(f: &Figures) -> Vec<(i64, i64)> {
        f.incidents
            .iter()
            .map(|i| (i.starts - T0, i.ends - T0))
            .collect()
    }

    /// Two rooms over six minutes; the keynote packs hall A at minute 2.
    fn event() -> EventData {
        let n = f64::NAN;
        EventData {
            venue: "Centre".into(),
            from: T0,
            step: 60,
            steps: 6,
            tick: 60,
            zones: vec![
                ZoneData {
                    id: "hall-a".into(),
                    name: "Salle A".into(),
                    seats: Some(100),
                    uplink_critical: 0.9,
                    occupancy_warn: 1.0,
                    devices: s(&[10.0, 60.0, 104.0, 90.0, n, 20.0]),
                    // People walk between the rooms: at the venue's busiest tick of minutes
                    // 2 and 3, hall A was under its own highest of the minute.
                    devices_at_venue_peak: s(&[10.0, 60.0, 100.0, 88.0, n, 20.0]),
                    randomized: s(&[5.0, 30.0, 50.0, 45.0, n, 10.0]),
                    status: s(&[0.0, 1.0, 2.0, 2.0, n, 0.0]),
                    bands: vec![
                        BandSeries {
                            band: "2.4".into(),
                            devices: s(&[1.0, 2.0, 3.0, 4.0, n, 0.0]),
                        },
                        BandSeries {
                            band: "5".into(),
                            devices: s(&[9.0, 8.0, 7.0, 6.0, n, 0.0]),
                        },
                    ],
                },
                ZoneData {
                    id: "hall-b".into(),
                    name: "Salle B".into(),
                    seats: None,
                    uplink_critical: 0.5,
                    occupancy_warn: 1.5,
                    devices: s(&[0.0, 5.0, 6.0, 30.0, 40.0, n]),
                    devices_at_venue_peak: s(&[0.0, 5.0, 6.0, 30.0, 40.0, n]),
                    randomized: s(&[0.0; 6]),
                    status: s(&[0.0; 6]),
                    bands: vec![],
                },
            ],
            interfaces: vec![
                InterfaceData {
                    name: "wlan0".into(),
                    zone: Some("hall-a".into()),
                    uplink_critical: 0.9,
                    utilization_rx: s(&[0.1, 0.2, 0.95, 0.3, 0.4, 0.5]),
                    utilization_tx: s(&[0.1, 0.92, 0.1, 0.1, n, 0.1]),
                    rx_bytes: s(&[100.0, 200.0, 300.0, n, 0.0, 0.0]),
                    tx_bytes: s(&[1000.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
                    up: s(&[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]),
                },
                InterfaceData {
                    name: "wan".into(),
                    zone: None,
                    uplink_critical: 0.9,
                    utilization_rx: s(&[0.5; 6]),
                    utilization_tx: s(&[0.5; 6]),
                    rx_bytes: s(&[1e9; 6]),
                    tx_bytes: s(&[1e9; 6]),
                    up: s(&[1.0; 6]),
                },
            ],
            pools: vec![PoolData {
                name: "pool-a".into(),
                zone: Some("hall-a".into()),
                leases: s(&[10.0, 90.0, 97.0, 100.0, 100.0, 50.0]),
                size: s(&[100.0; 6]),
            }],
            sources: vec![SourceData {
                source: "dhcp".into(),
                instance: "leases".into(),
                up: s(&[1.0, 0.0, 0.0, 1.0, n, 0.0]),
            }],
            captures: vec![CaptureData {
                interface: "eth1".into(),
                time_to_lease_p95: s(&[0.1, 3.0, n, 2.5, 0.5, 0.5]),
                slow: 2.0,
            }],
            unique: Some(UniqueDevices {
                devices: 321.0,
                randomized_share: Some(0.5),
            }),
            sessions: vec![
                SessionData {
                    title: "Keynote".into(),
                    zone: "hall-a".into(),
                    starts: T0 + 60,
                    ends: T0 + 240,
                },
                SessionData {
                    title: "Workshop".into(),
                    zone: "hall-a".into(),
                    starts: T0 + 180,
                    ends: T0 + 300,
                },
                SessionData {
                    title: "Panel".into(),
                    zone: "hall-b".into(),
                    starts: T0 + 120,
                    ends: T0 + 360,
                },
            ],
        }
    }

    #[test]
    fn headline_figures_match_the_hand_computed_values() {
        let f = figures(&event(), Some(4));
        let h = &f.headline;
        // Totals per minute, the rooms at the venue's busiest tick: 10, 65, 106, 118, 40,
        // 20 (the rooms' own highest would add up to 120 at minute 3).
        assert_eq!(
            h.peak_devices,
            Some(Peak {
                value: 118.0,
                at: T0 + 180
            })
        );
        // Zone interfaces only: wlan0 rx 600 + tx 1000.
        assert_eq!(h.traffic_bytes, 1600.0);
        assert_eq!(h.traffic_per_attendee_bytes, Some(400.0));
        // Busiest per minute: 0.5, 0.92, 0.95, 0.5, 0.5, 0.5; nearest rank 95 % of 6 = 6th.
        assert_eq!(
            h.uplink_peak,
            Some(Peak {
                value: 0.95,
                at: T0 + 120
            })
        );
        assert_eq!(h.uplink_peak_interface.as_deref(), Some("wlan0"));
        assert_eq!(h.uplink_p95, Some(0.95));
        assert_eq!(h.uplink_saturated_minutes, 2);
        let headroom = h.min_headroom.as_ref().expect("a pool");
        assert_eq!((headroom.free, headroom.at), (0.0, T0 + 180));
        // Hall A: statuses known in 5 minutes, 1 warn and 2 critical.
        assert_eq!(h.status_share[0].warn, 1.0 / 5.0);
        assert_eq!(h.status_share[0].critical, 2.0 / 5.0);
        assert_eq!(h.status_share[1].critical, 0.0);
        assert_eq!(h.unique.map(|u| u.devices), Some(321.0));
    }

    /// Regression: "Most devices at once 360 at 09:00" while the count held 360 until 17:00.
    #[test]
    fn regression_a_peak_held_or_reached_again_is_a_plateau_not_a_moment() {
        let n = f64::NAN;
        let data = |steps: usize| EventData {
            from: T0,
            step: 60,
            steps,
            ..EventData::default()
        };
        let peak = |series: &Series| max_of(&data(series.len()), series).expect("a peak");
        // Reached at minute 2 and held (within 1 %) to the end of minute 8.
        let held = s(&[
            100.0, 300.0, 360.0, 358.0, 360.0, 357.0, 359.0, 360.0, 360.0, 200.0,
        ]);
        let p = peak(&held);
        assert_eq!(p.at, T0 + 120, "first reached");
        assert_eq!(
            plateau(&data(held.len()), &held, p),
            Some(Plateau {
                held_until: T0 + 9 * 60,
                times_reached: 1
            })
        );
        // A moment: no plateau.
        let moment = s(&[100.0, 360.0, 300.0, 200.0]);
        assert_eq!(plateau(&data(4), &moment, peak(&moment)), None);
        // Reached three times, a gap in the data splitting two of them.
        let again = s(&[360.0, 200.0, 359.0, n, 360.0, 100.0]);
        let p = peak(&again);
        assert_eq!(
            plateau(&data(6), &again, p),
            Some(Plateau {
                held_until: T0 + 60,
                times_reached: 3
            })
        );
    }

    /// Regression: an estimate under the peak (the sketch's error, or sketches lost to a
    /// kill) showed fewer different devices than were there at once.
    #[test]
    fn unique_devices_are_never_fewer_than_the_peak_at_once() {
        let mut data = event();
        let peak = figures(&data, None).headline.peak_devices.expect("a peak");
        data.unique = Some(UniqueDevices {
            devices: peak.value - 7.0,
            randomized_share: Some(0.5),
        });
        let unique = figures(&data, None).headline.unique.expect("unique");
        assert_eq!(
            (unique.devices, unique.randomized_share),
            (peak.value, Some(0.5))
        );
    }

    #[test]
    fn zone_figures_match_the_hand_computed_values() {
        let f = figures(&event(), None);
        let a = &f.zones[0];
        assert_eq!(
            a.peak,
            Some(Peak {
                value: 104.0,
                at: T0 + 120
            })
        );
        assert_eq!(a.peak_seat_ratio, Some(1.04));
        // 2.4 GHz: 10 of 40 station-minutes.
        assert_eq!(a.bands, vec![("2.4".into(), 0.25), ("5".into(), 0.75)]);
        assert_eq!(a.saturated_minutes, 2);
        let b = &f.zones[1];
        assert_eq!(b.peak_seat_ratio, None);
        assert!(b.bands.is_empty());
        // Hall B has no interface: nothing saturated (the wan is in no zone).
        assert_eq!(b.saturated_minutes, 0);
        assert_eq!(b.min_headroom, None);
    }

    #[test]
    fn sessions_get_their_room_peak_overlaps_and_the_peaks_they_drove() {
        let f = figures(&event(), None);
        let titles: Vec<&str> = f.sessions.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(titles, ["Keynote", "Panel", "Workshop"]);
        let keynote = &f.sessions[0];
        // Minutes 1..4 of hall A, its own highest: 60, 104, 90.
        assert_eq!(
            keynote.peak,
            Some(Peak {
                value: 104.0,
                at: T0 + 120
            })
        );
        assert_eq!(keynote.seats_filled, Some(1.04));
        assert_eq!(keynote.overlaps, ["Workshop"]);
        assert!(keynote.drove_zone_peak);
        // The event's peak is minute 3: keynote, workshop and panel all running.
        assert!(keynote.drove_event_peak);
        let panel = &f.sessions[1];
        assert_eq!(
            panel.peak,
            Some(Peak {
                value: 40.0,
                at: T0 + 240
            })
        );
        assert_eq!(panel.seats_filled, None);
        assert!(panel.overlaps.is_empty(), "another room is not an overlap");
        let workshop = &f.sessions[2];
        assert_eq!(
            workshop.peak,
            Some(Peak {
                value: 90.0,
                at: T0 + 180
            })
        );
        assert!(!workshop.drove_zone_peak);
    }

    /// Regression: a room's and a session's peak were the room's devices at the venue's
    /// busiest tick of each minute, under the room's own highest when people were walking
    /// between rooms (73 for a session whose room held 74).
    #[test]
    fn room_and_session_peaks_are_the_rooms_own_highest_and_the_venue_adds_one_tick() {
        // One minute: the hall's busiest tick had 74 devices, the venue's busiest (85) came
        // when one of them had walked to the foyer.
        let zone = |id: &str, seats, own: f64, at_venue_peak: f64| ZoneData {
            id: id.into(),
            seats,
            devices: s(&[own]),
            devices_at_venue_peak: s(&[at_venue_peak]),
            ..ZoneData::default()
        };
        let data = EventData {
            from: T0,
            step: 60,
            steps: 1,
            zones: vec![
                zone("hall", Some(80), 74.0, 73.0),
                zone("foyer", None, 12.0, 12.0),
            ],
            sessions: vec![SessionData {
                title: "Keynote".into(),
                zone: "hall".into(),
                starts: T0,
                ends: T0 + 60,
            }],
            ..EventData::default()
        };
        let f = figures(&data, None);
        let at = |value| Some(Peak { value, at: T0 });
        assert_eq!(
            f.headline.peak_devices,
            at(85.0),
            "not 86: one device, once"
        );
        assert_eq!(f.zones[0].peak, at(74.0));
        assert_eq!(f.zones[0].peak_seat_ratio, Some(74.0 / 80.0));
        assert_eq!(f.sessions[0].peak, at(74.0));
        assert_eq!(f.sessions[0].seats_filled, Some(74.0 / 80.0));
        assert!(f.sessions[0].drove_event_peak && f.sessions[0].drove_zone_peak);
    }

    /// Regression: at a 5-minute tick (one row in five minutes) a source down for 20
    /// minutes was four one-minute incidents, its recommendation "4 times", the uplink
    /// saturated for an hour 12 minutes, and a peak held all day "reached 100 times".
    /// Regression: at a 90 s tick, a tick at 10:01:30 (row 10:01) stood until 10:02:30 only,
    /// the next (10:03:00, row 10:03) came after it, and a 20-minute outage was 7 incidents
    /// of 2.5 minutes; saturated minutes were undercounted the same way.
    #[test]
    fn regression_a_ninety_second_tick_keeps_an_outage_whole() {
        let n = f64::NAN;
        // 30 minutes of rows at 10:00; ticks every 90 s: rows 0, 1, 3, 4, 6, 7, …
        let ticks = |state: &dyn Fn(usize) -> f64| -> Series {
            s(&(0..30)
                .map(|m| if m % 3 != 2 { state(m) } else { n })
                .collect::<Vec<_>>())
        };
        // Down from row 3 (10:03:00) through row 18; up again at row 19 (10:19:30).
        let data = EventData {
            from: T0,
            step: 60,
            steps: 30,
            tick: 90,
            sources: vec![SourceData {
                source: "dhcp".into(),
                instance: "room-01".into(),
                up: ticks(&|m| if (3..19).contains(&m) { 0.0 } else { 1.0 }),
            }],
            interfaces: vec![InterfaceData {
                name: "uplink0".into(),
                uplink_critical: 0.9,
                utilization_rx: ticks(&|m| if (3..19).contains(&m) { 0.95 } else { 0.5 }),
                utilization_tx: ticks(&|_| 0.1),
                up: ticks(&|_| 1.0),
                ..InterfaceData::default()
            }],
            ..EventData::default()
        };
        let f = figures(&data, None);
        assert_eq!(incident_times(&f), [(180, 1140)]);
        assert_eq!(f.headline.uplink_saturated_minutes, 16);
    }

    #[test]
    fn regression_an_outage_under_a_five_minute_tick_is_one_incident_not_four() {
        let n = f64::NAN;
        // 40 minutes, a row every 5: at 10:00, 10:05, …, 10:35.
        let every_five = |rows: [f64; 8]| -> Series {
            s(&(0..40)
                .map(|i| if i % 5 == 0 { rows[i / 5] } else { n })
                .collect::<Vec<_>>())
        };
        let data = EventData {
            from: T0,
            step: 60,
            steps: 40,
            tick: 300,
            sources: vec![SourceData {
                source: "dhcp".into(),
                instance: "room-01".into(),
                // Down at the ticks of 10:05 to 10:20, up at 10:25; down again at the last
                // tick, 10:35, which stands until the period's end.
                up: every_five([1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
            }],
            interfaces: vec![InterfaceData {
                name: "uplink0".into(),
                uplink_critical: 0.9,
                utilization_rx: every_five([0.5, 0.95, 0.97, 0.5, 0.5, 0.5, 0.5, 0.5]),
                utilization_tx: every_five([0.1; 8]),
                up: every_five([1.0; 8]),
                ..InterfaceData::default()
            }],
            zones: vec![ZoneData {
                id: "hall".into(),
                devices_at_venue_peak: every_five([
                    10.0, 300.0, 300.0, 299.0, 300.0, 100.0, 300.0, 50.0,
                ]),
                ..ZoneData::default()
            }],
            ..EventData::default()
        };
        let f = figures(&data, None);
        assert_eq!(incident_times(&f), [(300, 1500), (2100, 2400)]);
        assert_eq!(f.headline.uplink_saturated_minutes, 10);
        assert!(f.recommendations.iter().any(|r| matches!(
            r,
            Recommendation::FixSource { minutes: 25, periods, .. } if periods.len() == 2
        )));
        // The peak from 10:05, held through the tick of 10:20 until the next (10:25), and
        // reached again at 10:30.
        assert_eq!(
            f.headline.peak_devices_held,
            Some(Plateau {
                held_until: T0 + 1500,
                times_reached: 2
            })
        );
        // A stop of the agent is no outage: a value stands until the next tick, not longer.
        let stopped = EventData {
            steps: 60,
            sources: vec![SourceData {
                up: s(&(0..60)
                    .map(|i| {
                        // Down at 10:05, then stopped until 10:40; down at each tick from then.
                        if i == 5 || (i >= 40 && i % 5 == 0) {
                            0.0
                        } else {
                            n
                        }
                    })
                    .collect::<Vec<_>>()),
                ..SourceData::default()
            }],
            ..data
        };
        assert_eq!(
            incident_times(&figures(&stopped, None)),
            [(300, 600), (2400, 3600)]
        );
    }

    #[test]
    fn incidents_merge_consecutive_minutes() {
        let f = figures(&event(), None);
        let of = |pick: fn(&IncidentKind) -> bool| -> Vec<(i64, i64)> {
            f.incidents
                .iter()
                .filter(|i| pick(&i.kind))
                .map(|i| (i.starts - T0, i.ends - T0))
                .collect()
        };
        // A missing minute is not a down minute.
        assert_eq!(
            of(|k| matches!(k, IncidentKind::SourceDown { .. })),
            [(60, 180), (300, 360)]
        );
        assert_eq!(
            of(|k| matches!(k, IncidentKind::InterfaceDown { .. })),
            [(120, 240), (300, 360)]
        );
        assert_eq!(
            of(|k| matches!(k, IncidentKind::PoolFull { .. })),
            [(180, 300)]
        );
        assert_eq!(
            of(|k| matches!(k, IncidentKind::TimeToLeaseSlow { .. })),
            [(60, 120), (180, 240)]
        );
        assert_eq!(f.incidents[0].seconds(), 120);
    }

    #[test]
    fn recommendations_name_their_figure() {
        let f = figures(&event(), None);
        let r = &f.recommendations;
        assert_eq!(
            r[0],
            Recommendation::MoreAccessPoints {
                zone: "hall-a".into(),
                ratio: 1.04,
                threshold: 1.0,
                session: Some("Keynote".into()),
            }
        );
        assert!(r.contains(&Recommendation::MoreUplink {
            zone: "hall-a".into(),
            minutes: 2,
            interfaces: vec!["wlan0".into()],
        }));
        assert!(r.contains(&Recommendation::WidenPool {
            pool: "pool-a".into(),
            free: 0.0
        }));
        // Keynote until minute 4, workshop from minute 3: one minute together.
        assert!(r.contains(&Recommendation::SeparateSessions {
            first: "Keynote".into(),
            second: "Workshop".into(),
            zone: "hall-a".into(),
            minutes: 1,
            same_times: false,
        }));
        // Down 2 + 1 minutes.
        assert!(r.contains(&Recommendation::FixSource {
            source: "dhcp".into(),
            instance: "leases".into(),
            minutes: 3,
            periods: vec![(T0 + 60, T0 + 180), (T0 + 300, T0 + 360)],
        }));
        assert_eq!(r.len(), 5);
        assert!(r.iter().all(|r| !r.figure().is_empty()));
    }

    /// Regression: a link serving no zone (the venue's uplink) saturated at lunch, and the
    /// report recommended nothing for it; nor did it say which link was the busiest.
    #[test]
    fn a_saturated_link_outside_the_zones_gets_a_recommendation() {
        let mut data = event();
        data.interfaces[1].utilization_tx = s(&[0.5, 0.97, 0.99, 0.95, 0.5, 0.5]);
        let f = figures(&data, None);
        assert!(
            f.recommendations
                .contains(&Recommendation::MoreSharedUplink {
                    interface: "wan".into(),
                    minutes: 3
                })
        );
        assert_eq!(
            f.headline.uplink_peak,
            Some(Peak {
                value: 0.99,
                at: T0 + 120
            })
        );
        assert_eq!(f.headline.uplink_peak_interface.as_deref(), Some("wan"));
        // wlan0 (hall A) at minutes 1 and 2, the wan at 1, 2 and 3.
        assert_eq!(f.headline.uplink_saturated_minutes, 3);
        assert_eq!(
            Recommendation::MoreSharedUplink {
                interface: "wan".into(),
                minutes: 3
            }
            .figure(),
            "headline.uplink_saturated_minutes"
        );
    }

    #[test]
    fn sessions_over_the_same_times_are_told_apart_from_a_short_overlap() {
        let mut data = event();
        data.sessions[1].starts = data.sessions[0].starts;
        data.sessions[1].ends = data.sessions[0].ends;
        let f = figures(&data, None);
        assert!(
            f.recommendations
                .contains(&Recommendation::SeparateSessions {
                    first: "Keynote".into(),
                    second: "Workshop".into(),
                    zone: "hall-a".into(),
                    minutes: 3,
                    same_times: true,
                })
        );
        assert_eq!(overlap_seconds((0, 600), (540, 900)), 60);
        assert_eq!(overlap_seconds((0, 600), (600, 900)), 0);
        assert_eq!(overlap_seconds((0, 600), (700, 900)), 0);
    }

    #[test]
    fn an_empty_event_has_no_figures_and_no_panic() {
        let f = figures(&EventData::default(), Some(0));
        assert_eq!(f.headline.peak_devices, None);
        assert_eq!(f.headline.uplink_p95, None);
        assert_eq!(f.headline.traffic_per_attendee_bytes, None);
        assert!(f.incidents.is_empty() && f.recommendations.is_empty());
    }

    /// Regression: every room at 100 % of its seats in devices was told to add an access
    /// point, though 1.5 devices per seat is normal (the status page warns from the zone's
    /// `occupancy_warn`).
    #[test]
    fn more_access_points_from_the_zones_own_warn_threshold_of_devices_per_seat() {
        let zone = |id: &str, devices: f64, occupancy_warn: f64| ZoneData {
            id: id.into(),
            seats: Some(100),
            occupancy_warn,
            devices: s(&[devices]),
            devices_at_venue_peak: s(&[devices]),
            ..ZoneData::default()
        };
        let data = EventData {
            from: T0,
            step: 60,
            steps: 1,
            zones: vec![
                zone("normal", 147.0, 1.5),
                zone("full", 150.0, 1.5),
                zone("strict", 120.0, 1.2),
            ],
            ..EventData::default()
        };
        let more: Vec<(String, f64)> = figures(&data, None)
            .recommendations
            .into_iter()
            .filter_map(|r| match r {
                Recommendation::MoreAccessPoints {
                    zone, threshold, ..
                } => Some((zone, threshold)),
                _ => None,
            })
            .collect();
        assert_eq!(more, [("full".into(), 1.5), ("strict".into(), 1.2)]);
    }
}
