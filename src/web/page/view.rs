//! What the page shows, worded and formatted in one language: built from a snapshot, then
//! rendered by the templates in `templates/` (askama escapes every value).

use askama::Template;

use super::i18n::Text;
use super::sparkline;
use crate::config::DEFAULT_EVENT;
use crate::hub::{SessionSnapshot, Snapshot, Status, ZoneSnapshot};

/// The CSS class of a status (paired with its word and icon, never alone).
pub(super) fn class(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Unknown => "unknown",
        Status::Warn => "warn",
        Status::Critical => "crit",
    }
}

/// A bar under a fact: a ratio and how bad it is.
pub(super) struct Bar {
    /// Filled width out of 100.
    pub width: u32,
    /// `ok`, `warn` or `crit`.
    pub class: &'static str,
}

impl Bar {
    fn new(ratio: f64, warn: f64, critical: f64) -> Bar {
        Bar {
            width: (ratio.clamp(0.0, 1.0) * 100.0).round() as u32,
            class: class(Status::of(ratio, warn, critical)),
        }
    }
}

/// One line of a tile.
pub(super) struct Fact {
    pub label: &'static str,
    /// The figure, shown large on the wall.
    pub value: String,
    /// What the figure counts, right after it.
    pub unit: Option<String>,
    pub note: Option<String>,
    pub bar: Option<Bar>,
}

/// One zone's tile.
#[derive(Template)]
#[template(path = "tile.html")]
pub(super) struct Tile<'a> {
    pub root: &'a str,
    pub id: &'a str,
    /// After the zone's link: `?at=` on a past page, else nothing.
    pub query: &'a str,
    pub name: &'a str,
    /// Status class and word.
    pub class: &'static str,
    pub word: &'static str,
    pub reasons: Vec<String>,
    pub facts: Vec<Fact>,
}

impl<'a> Tile<'a> {
    /// The tile of `zone`: only the facts the snapshot has; times of day in `timezone`; its
    /// link to the zone's page followed by `query`.
    pub(super) fn new(
        text: &'a Text,
        root: &'a str,
        query: &'a str,
        zone: &'a ZoneSnapshot,
        timezone: &jiff::tz::TimeZone,
    ) -> Tile<'a> {
        let t = &zone.thresholds;
        let mut facts = Vec::new();
        let seats = zone
            .seats
            .map(|s| format!(" / {}", text.counted(u64::from(s), text.seats)));
        facts.push(Fact {
            label: text.connected,
            value: text.count(zone.clients),
            unit: Some(format!(
                "{}{}",
                text.noun(zone.clients, text.devices),
                seats.unwrap_or_default()
            )),
            note: (zone.clients_randomized > 0).then(|| {
                text.randomized
                    .replace("{}", &text.count(zone.clients_randomized))
            }),
            bar: None,
        });
        let rates = zone
            .rx_bps
            .zip(zone.tx_bps)
            .map(|(rx, tx)| format!("↓ {} · ↑ {}", text.rate(rx), text.rate(tx)));
        match zone.uplink_utilization {
            Some(u) => facts.push(Fact {
                label: text.uplink,
                value: text.percent(u),
                unit: None,
                note: rates,
                bar: Some(Bar::new(u, t.uplink_warn, t.uplink_critical)),
            }),
            None => facts.extend(rates.map(|r| Fact {
                label: text.traffic,
                value: r,
                unit: None,
                note: None,
                bar: None,
            })),
        }
        if let (Some(leases), Some(size)) = (zone.pool_leases, zone.pool_size.filter(|s| *s > 0)) {
            let used = leases as f64 / size as f64;
            facts.push(Fact {
                label: text.dhcp_pool,
                value: format!(
                    "{} {} {}",
                    text.counted(size.saturating_sub(leases), text.free),
                    text.of,
                    text.count(size)
                ),
                unit: None,
                note: Some(text.percent(used)),
                bar: Some(Bar::new(used, t.dhcp_pool_warn, t.dhcp_pool_critical)),
            });
        }
        if let Some(stations) = zone.stations {
            facts.push(Fact {
                label: text.stations,
                value: text.count(stations),
                unit: None,
                note: Some(text.counted(zone.aps, text.ap_count)),
                bar: None,
            });
        }
        if let Some(p95) = zone.time_to_lease_p95 {
            facts.push(Fact {
                label: text.time_to_lease,
                value: text.seconds(p95),
                unit: None,
                note: None,
                bar: None,
            });
        }
        if let Some(probing) = zone.probing_devices {
            facts.push(Fact {
                label: text.probing,
                value: text.count(probing as u64),
                unit: None,
                note: Some(text.since_start.to_string()),
                bar: None,
            });
        }
        let session = |label, session: &SessionSnapshot, note: &str, time| Fact {
            label,
            value: session.title.clone(),
            unit: None,
            note: Some(note.replace("{}", &local(time, timezone, "%H:%M"))),
            bar: None,
        };
        if let Some(s) = &zone.session_now {
            facts.push(session(text.session_now, s, text.until, s.ends));
        }
        if let Some(s) = &zone.session_next {
            facts.push(session(text.session_next, s, text.at, s.starts));
        }
        Tile {
            root,
            id: &zone.id,
            query,
            name: &zone.name,
            class: class(zone.status),
            word: text.status(zone.status),
            reasons: zone.reasons.iter().map(|r| text.reason(r)).collect(),
            facts,
        }
    }
}

/// A source as the header lists it.
pub(super) struct SourceLine {
    pub name: String,
    pub error: Option<String>,
}

/// The venue header: overall status, names, time, what the agent sees.
#[derive(Template)]
#[template(path = "header.html")]
pub(super) struct Header<'a> {
    pub text: &'a Text,
    pub venue: &'a str,
    /// The event id, when the config names one (zero-config's placeholder is not shown).
    pub event: Option<&'a str>,
    /// Overall status class and word.
    pub class: &'static str,
    pub word: &'static str,
    pub updated: String,
    pub up: Vec<String>,
    pub down: Vec<SourceLine>,
}

impl<'a> Header<'a> {
    /// The header of `snapshot`, with its time shown in `timezone`.
    pub(super) fn new(
        text: &'a Text,
        snapshot: &'a Snapshot,
        timezone: &jiff::tz::TimeZone,
    ) -> Header<'a> {
        let mut up: Vec<(&str, usize)> = Vec::new();
        let mut down = Vec::new();
        for s in &snapshot.sources {
            if s.up {
                match up.iter_mut().find(|(name, _)| *name == s.source) {
                    Some((_, n)) => *n += 1,
                    None => up.push((s.source, 1)),
                }
            } else {
                down.push(SourceLine {
                    name: format!("{} ({})", s.source, s.instance),
                    error: s.last_error.clone(),
                });
            }
        }
        Header {
            text,
            venue: &snapshot.venue,
            event: Some(snapshot.event.as_str()).filter(|e| *e != DEFAULT_EVENT),
            class: class(snapshot.status),
            word: text.status(snapshot.status),
            updated: local_time(snapshot.generated_at, timezone),
            up: up
                .into_iter()
                .map(|(name, n)| {
                    if n > 1 {
                        format!("{name} ×{n}")
                    } else {
                        name.to_string()
                    }
                })
                .collect(),
            down,
        }
    }
}

/// `HH:MM:SS` and the zone's abbreviation, or a dash before the first snapshot.
pub(super) fn local_time(unix: u64, timezone: &jiff::tz::TimeZone) -> String {
    local(i64::try_from(unix).unwrap_or(0), timezone, "%H:%M:%S %Z")
}

/// `unix` seconds in `timezone`, formatted by `strftime`; a dash for none (zero or less).
pub(super) fn local(unix: i64, timezone: &jiff::tz::TimeZone, format: &str) -> String {
    Some(unix)
        .filter(|s| *s > 0)
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || "–".to_string(),
            |t| {
                t.to_zoned_datetime(timezone.clone())
                    .strftime(format)
                    .to_string()
            },
        )
}

/// A sparkline with its label and latest value.
pub(super) struct Spark {
    pub label: &'static str,
    pub last: String,
    /// The line's path, or none while less than five minutes of points are collected.
    pub d: Option<String>,
}

/// A table: headers and rows of cells.
pub(super) struct Table {
    pub title: &'static str,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// One zone in detail.
pub(super) struct Detail {
    pub sparks: Vec<Spark>,
    pub tables: Vec<Table>,
}

impl Detail {
    /// The detail of `zone` from `snapshot`.
    pub(super) fn new(text: &Text, snapshot: &Snapshot, zone: &ZoneSnapshot) -> Detail {
        let now = snapshot.generated_at;
        let history = &zone.history;
        let series =
            |f: &dyn Fn(&crate::hub::recent::Point) -> Option<f64>| -> Vec<(u64, Option<f64>)> {
                history.iter().map(|p| (p.at, f(p))).collect()
            };
        let mut sparks = vec![Spark {
            label: text.clients,
            last: text.count(zone.clients),
            d: sparkline::path(&series(&|p| Some(p.clients as f64)), now, 1.0),
        }];
        if history.iter().any(|p| p.uplink.is_some()) {
            sparks.push(Spark {
                label: text.uplink,
                last: zone
                    .uplink_utilization
                    .map(|u| text.percent(u))
                    .unwrap_or_default(),
                d: sparkline::path(&series(&|p| p.uplink), now, 1.0),
            });
        }
        if history.iter().any(|p| p.pool.is_some()) {
            sparks.push(Spark {
                label: text.dhcp_pool,
                last: zone
                    .pool_leases
                    .zip(zone.pool_size)
                    .filter(|(_, s)| *s > 0)
                    .map(|(a, s)| text.percent(a as f64 / s as f64))
                    .unwrap_or_default(),
                d: sparkline::path(&series(&|p| p.pool), now, 1.0),
            });
        }
        let mine = |z: &Option<String>| z.as_deref() == Some(zone.id.as_str());
        let opt = |v: Option<String>| v.unwrap_or_else(|| "–".to_string());
        let mut tables = Vec::new();
        let aps: Vec<Vec<String>> = snapshot
            .aps
            .iter()
            .filter(|a| a.present && mine(&a.zone))
            .map(|a| {
                vec![
                    a.ap.clone(),
                    a.band.label().to_string(),
                    opt(a.channel.map(|c| c.to_string())),
                    text.count(a.stations),
                    opt(a.channel_utilization.map(|u| text.percent(u))),
                ]
            })
            .collect();
        if !aps.is_empty() {
            tables.push(Table {
                title: text.aps,
                head: vec![
                    text.ap,
                    text.band,
                    text.channel,
                    text.stations,
                    text.utilization,
                ],
                rows: aps,
            });
        }
        let interfaces: Vec<Vec<String>> = snapshot
            .interfaces
            .iter()
            .filter(|i| mine(&i.zone))
            .map(|i| {
                vec![
                    i.name.clone(),
                    (if i.up { text.up } else { text.down }).to_string(),
                    opt(i.rx_bps.map(|r| text.rate(r))),
                    opt(i.tx_bps.map(|r| text.rate(r))),
                    opt(i.speed_bps.map(|s| text.rate(s as f64))),
                    opt(i.utilization.map(|u| text.percent(u))),
                ]
            })
            .collect();
        if !interfaces.is_empty() {
            tables.push(Table {
                title: text.interfaces,
                head: vec![
                    text.interface,
                    text.state,
                    text.received,
                    text.sent,
                    text.speed,
                    text.utilization,
                ],
                rows: interfaces,
            });
        }
        let pools: Vec<Vec<String>> = snapshot
            .pools
            .iter()
            .filter(|p| mine(&p.zone))
            .map(|p| {
                vec![
                    p.name.clone(),
                    opt(p.leases_active.map(|n| text.count(n))),
                    opt(p.size.map(|n| text.count(n))),
                    opt(p.usage.map(|u| text.percent(u))),
                ]
            })
            .collect();
        if !pools.is_empty() {
            tables.push(Table {
                title: text.pools,
                head: vec![text.pool, text.leases, text.size, text.utilization],
                rows: pools,
            });
        }
        let captures: Vec<Vec<String>> = snapshot
            .captures
            .iter()
            .filter(|c| mine(&c.zone))
            .map(|c| {
                vec![
                    c.interface.clone(),
                    text.count(c.frames),
                    text.count(c.kernel_dropped),
                    text.count(c.dhcp_unanswered_discovers),
                ]
            })
            .collect();
        if !captures.is_empty() {
            tables.push(Table {
                title: text.captures,
                head: vec![text.interface, text.frames, text.dropped, text.unanswered],
                rows: captures,
            });
        }
        Detail { sparks, tables }
    }
}
