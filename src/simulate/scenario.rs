//! The simulated event, drawn once from the seed: its zones, access points, programme,
//! devices and where each device is in each part of each day, and the incidents written in
//! (a pool sized short, lunch on the uplink, a source failing for twenty minutes).

use serde::Serialize;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Devices per zone.
const DEVICES_PER_ZONE: usize = 60;
/// Share of the present devices the keynote draws into the main hall.
const KEYNOTE_SHARE: f64 = 0.9;
/// Share of the present devices in a session during a slot.
const SESSION_SHARE: f64 = 0.85;
/// Share of the present devices in the restaurant at lunch.
const LUNCH_SHARE: f64 = 0.7;
/// How long a device keeps its lease after leaving a zone.
pub(crate) const LEASE_SECONDS: i64 = 20 * 60;
/// Devices move between parts of the day over this many seconds (sessions let out).
pub(crate) const MOVE_SPREAD: i64 = 180;

/// The fixed zones: the main hall, the foyer, the restaurant; rooms follow.
pub(crate) const MAIN_HALL: usize = 0;
pub(crate) const FOYER: usize = 1;
pub(crate) const RESTAURANT: usize = 2;
/// The first room; its pool's source fails on day 1 (`SOURCE_DOWN`).
pub(crate) const FIRST_ROOM: usize = 3;

/// Day 1, from 15:00 for 20 minutes: the first room's DHCP source fails.
pub(crate) const SOURCE_DOWN: (i64, i64) = (15 * 3600, 15 * 3600 + 20 * 60);
/// Every day, the uplink saturates at lunch.
pub(crate) const UPLINK_SATURATED: (i64, i64) = (12 * 3600 + 15 * 60, 13 * 3600 + 15 * 60);

/// What a part of a day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Before the doors open or after they close.
    Closed,
    /// Between sessions: the foyer.
    Break,
    /// The keynote, in the main hall.
    Keynote,
    /// Session slot `n` in the rooms.
    Slot(usize),
    /// Lunch: the restaurant.
    Lunch,
}

/// The day's parts, by second of the day (start, part); each lasts until the next.
pub(crate) const DAY_PARTS: [(i64, Part); 12] = [
    (0, Part::Closed),
    (8 * 3600, Part::Break),
    (9 * 3600, Part::Keynote),
    (10 * 3600, Part::Break),
    (10 * 3600 + 15 * 60, Part::Slot(0)),
    (11 * 3600, Part::Break),
    (11 * 3600 + 15 * 60, Part::Slot(1)),
    (12 * 3600, Part::Lunch),
    (13 * 3600 + 30 * 60, Part::Slot(2)),
    (14 * 3600 + 30 * 60, Part::Slot(3)),
    (15 * 3600 + 30 * 60, Part::Slot(4)),
    (16 * 3600 + 30 * 60, Part::Break),
];
/// Session slots a day.
pub(crate) const SLOTS: usize = 5;
/// Slot 2 on day 1 runs 15 minutes over, into slot 3 (an overlap of two sessions).
pub(crate) const OVERRUN: i64 = 15 * 60;
/// The doors open at 08:00 (arrivals over the first hour) and close by 18:30.
const ARRIVALS: (i64, i64) = (8 * 3600, 9 * 3600);
const DEPARTURES: (i64, i64) = (17 * 3600, 18 * 3600 + 30 * 60);

/// The part of the day at second `sod`.
pub(crate) fn part_at(sod: i64) -> (usize, Part) {
    let index = DAY_PARTS
        .iter()
        .rposition(|(start, _)| *start <= sod)
        .unwrap_or(0);
    (index, DAY_PARTS[index].1)
}

/// A zone.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Zone {
    pub id: String,
    pub name: String,
    pub seats: Option<u32>,
    pub pool_size: u64,
}

/// A session of the programme.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Session {
    pub zone: String,
    pub title: String,
    pub starts: i64,
    pub ends: i64,
}

/// Something the scenario makes happen, for the truth file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Event {
    pub kind: &'static str,
    pub zones: Vec<String>,
    /// The kind of source that fails, for `source_down`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    pub from: i64,
    pub to: i64,
}

/// The event, drawn from the seed.
pub(crate) struct Scenario {
    pub start: i64,
    pub days: u32,
    pub zones: Vec<Zone>,
    /// Access points: (name, zone, band code 1 2.4 GHz, 2 5 GHz, 3 6 GHz).
    pub aps: Vec<(String, usize, u32)>,
    /// Each zone's access points, by index in `aps`.
    pub aps_of: Vec<Vec<usize>>,
    pub sessions: Vec<Session>,
    pub events: Vec<Event>,
    /// Each device's MAC (made up, never written anywhere).
    pub macs: Vec<[u8; 6]>,
    /// Each device's arrival and departure, second of the day, per day.
    pub presence: Vec<Vec<(i64, i64)>>,
    /// Each device's lag moving between parts (0 to `MOVE_SPREAD`).
    pub lag: Vec<i64>,
    /// Each device's zone in each part of each day (`None` outside the venue).
    pub places: Vec<Vec<[Option<u16>; DAY_PARTS.len()]>>,
    /// Key bytes of the simulated event's client key.
    pub key: [u8; 16],
}

impl Scenario {
    /// Draws the event: `zones` zones (at least 4), `aps` access points (at least one per
    /// zone), `days` days from `start` (Unix seconds, midnight UTC).
    pub(crate) fn new(seed: u64, days: u32, zones: usize, aps: usize, start: i64) -> Scenario {
        let mut rng = fastrand::Rng::with_seed(seed);
        let devices = zones * DEVICES_PER_ZONE;
        let rooms = zones - FIRST_ROOM;
        let seats = |n: f64| Some(n.round().max(1.0) as u32);
        let mut all = vec![
            Zone {
                id: "main-hall".into(),
                name: "Main hall".into(),
                seats: seats(devices as f64 * 0.75),
                // The keynote's devices, plus those that just left a session: short.
                pool_size: (devices as f64 * 0.93).round() as u64,
            },
            Zone {
                id: "foyer".into(),
                name: "Foyer".into(),
                seats: None,
                pool_size: devices as u64 * 2,
            },
            Zone {
                id: "restaurant".into(),
                name: "Restaurant".into(),
                seats: seats(devices as f64 * 0.6),
                pool_size: devices as u64 * 2,
            },
        ];
        let room_seats = devices as f64 * SESSION_SHARE / rooms as f64 * 1.3;
        for r in 0..rooms {
            all.push(Zone {
                id: format!("room-{:02}", r + 1),
                name: format!("Room {}", r + 1),
                seats: seats(room_seats),
                pool_size: (room_seats * 3.0).round() as u64,
            });
        }
        let mut ap_list = Vec::new();
        let mut aps_of = vec![Vec::new(); zones];
        for k in 0..aps {
            let zone = k % zones;
            let band = [2, 1, 3][(k / zones) % 3];
            aps_of[zone].push(ap_list.len());
            ap_list.push((format!("ap{:03}", k + 1), zone, band));
        }

        // The programme, and each slot's popularity per room.
        let mut sessions = Vec::new();
        let mut popularity = vec![vec![vec![0.0; rooms]; SLOTS]; days as usize];
        #[allow(clippy::needless_range_loop)] // day and slot name the sessions too
        for day in 0..days as usize {
            let midnight = start + day as i64 * DAY;
            sessions.push(Session {
                zone: all[MAIN_HALL].id.clone(),
                title: format!("Keynote, day {}", day + 1),
                starts: midnight + 9 * 3600,
                ends: midnight + 10 * 3600,
            });
            sessions.push(Session {
                zone: all[RESTAURANT].id.clone(),
                title: "Lunch".into(),
                starts: midnight + 12 * 3600,
                ends: midnight + 13 * 3600 + 30 * 60,
            });
            for slot in 0..SLOTS {
                let (start_part, end_part) = slot_bounds(slot);
                for r in 0..rooms {
                    let mut weight = 0.3 + rng.f64() * 1.7;
                    let mut ends = midnight + end_part;
                    if day == 0 && slot == 3 && r < 2 {
                        weight *= 4.0;
                    }
                    if day == 0 && slot == 2 && r == 1 {
                        ends += OVERRUN;
                    }
                    popularity[day][slot][r] = weight;
                    sessions.push(Session {
                        zone: all[FIRST_ROOM + r].id.clone(),
                        title: format!("Session {}.{}.{}", day + 1, slot + 1, r + 1),
                        starts: midnight + start_part,
                        ends,
                    });
                }
            }
        }
        sessions.sort_by(|a, b| (a.starts, &a.zone).cmp(&(b.starts, &b.zone)));

        let mut macs = Vec::with_capacity(devices);
        let mut presence = Vec::with_capacity(devices);
        let mut lag = Vec::with_capacity(devices);
        let mut places = Vec::with_capacity(devices);
        for d in 0..devices {
            let mut mac = [0u8; 6];
            rng.fill(&mut mac);
            // Most phones randomize (locally administered bit); none is multicast.
            mac[0] &= 0xfc;
            if rng.f64() < 0.7 {
                mac[0] |= 0x02;
            }
            // Unique whatever the draw: the device number in the last three bytes.
            let n = u32::try_from(d).unwrap_or(u32::MAX).to_be_bytes();
            mac[3..].copy_from_slice(&n[1..]);
            macs.push(mac);
            lag.push(rng.i64(0..MOVE_SPREAD));
            let mut days_present = Vec::new();
            let mut days_places = Vec::new();
            for popularity in &popularity {
                days_present.push((
                    rng.i64(ARRIVALS.0..ARRIVALS.1),
                    rng.i64(DEPARTURES.0..DEPARTURES.1),
                ));
                let mut parts = [None; DAY_PARTS.len()];
                for (i, (_, part)) in DAY_PARTS.iter().enumerate() {
                    let u = rng.f64();
                    let zone = match part {
                        Part::Closed => None,
                        Part::Break => Some(FOYER),
                        Part::Keynote if u < KEYNOTE_SHARE => Some(MAIN_HALL),
                        Part::Lunch if u < LUNCH_SHARE => Some(RESTAURANT),
                        Part::Keynote | Part::Lunch => Some(FOYER),
                        Part::Slot(slot) if u < SESSION_SHARE => {
                            Some(FIRST_ROOM + pick(&popularity[*slot], rng.f64()))
                        }
                        Part::Slot(_) => Some(FOYER),
                    };
                    parts[i] = zone.map(|z| u16::try_from(z).unwrap_or(u16::MAX));
                }
                days_places.push(parts);
            }
            presence.push(days_present);
            places.push(days_places);
        }

        let day1 = start;
        let mut events = Vec::new();
        for day in 0..i64::from(days) {
            let midnight = start + day * DAY;
            events.push(Event {
                kind: "doors_open",
                zones: Vec::new(),
                source: None,
                from: midnight + ARRIVALS.0,
                to: midnight + ARRIVALS.1,
            });
            events.push(Event {
                kind: "keynote",
                zones: vec![all[MAIN_HALL].id.clone()],
                source: None,
                from: midnight + 9 * 3600,
                to: midnight + 10 * 3600,
            });
            for slot in 0..SLOTS {
                let ends = midnight + slot_bounds(slot).1;
                events.push(Event {
                    kind: "sessions_let_out",
                    zones: all[FIRST_ROOM..].iter().map(|z| z.id.clone()).collect(),
                    source: None,
                    from: ends,
                    to: ends + MOVE_SPREAD,
                });
            }
            events.push(Event {
                kind: "uplink_saturated",
                zones: Vec::new(),
                source: None,
                from: midnight + UPLINK_SATURATED.0,
                to: midnight + UPLINK_SATURATED.1,
            });
        }
        // The second room's overrunning session and its next one, then the first room, whose
        // (popular) next session waits for the audience the overrun holds. With one room
        // nothing overruns: no overlap.
        if rooms > 1 {
            events.push(Event {
                kind: "sessions_overlap",
                zones: vec![all[FIRST_ROOM + 1].id.clone(), all[FIRST_ROOM].id.clone()],
                source: None,
                from: day1 + slot_bounds(3).0,
                to: day1 + slot_bounds(2).1 + OVERRUN,
            });
        }
        events.push(Event {
            kind: "pool_short",
            zones: vec![all[MAIN_HALL].id.clone()],
            source: None,
            from: day1 + 9 * 3600,
            to: day1 + 10 * 3600,
        });
        events.push(Event {
            kind: "source_down",
            zones: vec![all[FIRST_ROOM].id.clone()],
            source: Some("dhcp"),
            from: day1 + SOURCE_DOWN.0,
            to: day1 + SOURCE_DOWN.1,
        });
        events.sort_by_key(|e| (e.from, e.kind));
        let mut key = [0u8; 16];
        rng.fill(&mut key);
        Scenario {
            start,
            days,
            zones: all,
            aps: ap_list,
            aps_of,
            sessions,
            events,
            macs,
            presence,
            lag,
            places,
            key,
        }
    }

    /// Where device `d` is at `t`: its zone, or `None` outside the venue.
    pub(crate) fn place(&self, d: usize, t: i64) -> Option<usize> {
        let since = t - self.start;
        let day = usize::try_from(since.div_euclid(DAY)).ok()?;
        let (arrives, leaves) = *self.presence.get(d)?.get(day)?;
        let sod = since.rem_euclid(DAY);
        if sod < arrives || sod >= leaves {
            return None;
        }
        // Devices move a little after each part starts: a session lets out over minutes.
        let moved = (sod - self.lag[d]).max(arrives);
        let (mut index, _) = part_at(moved);
        // Day 1's overrunning session keeps its audience past the slot's end.
        if day == 0 && DAY_PARTS[index].1 == Part::Slot(3) {
            let previous = self.places[d][day][index - 1];
            if previous == u16::try_from(FIRST_ROOM + 1).ok()
                && moved < DAY_PARTS[index].0 + OVERRUN
            {
                index -= 1;
            }
        }
        self.places[d][day][index].map(usize::from)
    }
}

/// A slot's start and end, second of the day.
fn slot_bounds(slot: usize) -> (i64, i64) {
    let index = DAY_PARTS
        .iter()
        .position(|(_, p)| *p == Part::Slot(slot))
        .unwrap_or(0);
    let start = DAY_PARTS[index].0;
    (start, DAY_PARTS.get(index + 1).map_or(DAY, |(s, _)| *s))
}

/// The index whose weight covers `u` (0..1) of the total.
fn pick(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut left = u * total;
    for (i, w) in weights.iter().enumerate() {
        if left < *w {
            return i;
        }
        left -= w;
    }
    weights.len().saturating_sub(1)
}
