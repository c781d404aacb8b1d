//! The read side of the history for the status page's past (`/?at=`): the snapshot the
//! agent published at a past tick, rebuilt from the rows the writer stored, and the range of
//! time the file covers.
//!
//! Rows kept at tick resolution give that tick back; rows already downsampled give the
//! minute, with each level at its highest during the minute (as the status of the minute is
//! its worst). Names for people, thresholds and the source kinds come from the live
//! snapshot (the history stores ids only), and so does the programme: each zone's session
//! then and next are the live programme's at that moment. Each zone's reasons come with
//! their subject (the pool, uplink, capture or source kind) and value; its clients per
//! source, from `zone_source`; its unique devices, those of the hour holding the moment
//! (its hourly sketch: the history keeps no zone's since the agent started, which the live
//! snapshot gives; the venue's it keeps). Captures give their frames, bytes, kernel drops, DHCP
//! messages and unanswered DISCOVERs added up over the history up to the moment (the live
//! page counts since the agent started); their per-channel figures, frame kinds, device
//! estimates and time-to-lease histogram are not kept.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use std::collections::{BTreeMap, HashMap};

use crate::hub::capture::{CaptureSummary, TIME_TO_LEASE_BUCKETS};
use crate::hub::recent::{BUCKET_SECONDS, Point};
use crate::hub::snapshot::{
    ApSnapshot, InterfaceSnapshot, PoolSnapshot, Reason, ReasonKind, Snapshot, SourceSnapshot,
    Status, ZoneSnapshot,
};
use crate::inventory::LinkKind;
use crate::model::access_points::{ApEvents, Band};
use crate::model::capture::DHCP_TYPES;
use crate::model::histogram::Histogram;

/// The time a history covers, Unix seconds, first and last tick (or minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Covered {
    /// The first stored tick.
    pub from: u64,
    /// The last stored tick (the end of its minute when it is downsampled).
    pub to: u64,
}

/// What the history holds at a moment.
#[derive(Debug)]
pub(crate) enum Past {
    /// The snapshot of the tick at or just before the moment.
    At(Box<Snapshot>),
    /// No tick within a tick (or a minute) before the moment: what the file covers, if
    /// anything.
    Outside(Option<Covered>),
}

/// Opens the history at `path` for reading only (the writer keeps writing it alongside:
/// WAL lets both). Where SQLite cannot make the `-shm` file a WAL file is read through (a
/// read-only filesystem, a backup stick), no writer is at work, since a writer makes it: the
/// file is then opened as immutable.
///
/// # Errors
/// The file is absent or not an SQLite file.
pub(crate) fn open(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(path, flags)?;
    db.busy_timeout(std::time::Duration::from_secs(1))?;
    match db.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())) {
        // `CannotOpen` where the `-shm` cannot be opened, `ReadOnly` where it would have to
        // be made in a folder the reader cannot write (`SQLITE_READONLY_DIRECTORY`, 1544).
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
            ) =>
        {
            Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)
        }
        _ => Ok(db),
    }
}

/// `path` as an SQLite URI that opens the file immutable: read as it is, no `-wal` or `-shm`
/// beside it read or made. The path is percent-encoded but for its unreserved characters and
/// `/`, byte by byte (a file name need not be UTF-8).
pub(crate) fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for byte in path.as_os_str().as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(*byte));
            }
            _ => uri.push_str(&format!("%{byte:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// The first and last moments the history holds, or `None` when it holds no tick. A minute
/// whose ticks are kept is covered from its first tick to its last (a minute row is at the
/// minute's start, before its first tick); one downsampled to its minute row alone, from the
/// minute's start to its end.
///
/// # Errors
/// The file cannot be read, or is not a history.
pub(crate) fn covered(db: &Connection) -> rusqlite::Result<Option<Covered>> {
    let (first_tick, last_tick, first_minute, last_minute): (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    ) = db.query_row(
        "SELECT (SELECT min(at) FROM venue_ticks), (SELECT max(at) FROM venue_ticks), \
         (SELECT min(at) FROM venue_minutes), (SELECT max(at) FROM venue_minutes)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let minute_of = |at: i64| at - at.rem_euclid(60);
    // Tick rows are dropped oldest first: the minutes before the first tick's are downsampled.
    let from = match (first_tick, first_minute) {
        (Some(tick), Some(minute)) if minute < minute_of(tick) => Some(minute),
        (Some(tick), _) => Some(tick),
        (None, minute) => minute,
    };
    let to = match (last_tick, last_minute) {
        (Some(tick), Some(minute)) if minute > minute_of(tick) => Some(minute + 59),
        (Some(tick), _) => Some(tick),
        (None, minute) => minute.map(|m| m + 59),
    };
    Ok(from.zip(to).map(|(from, to)| Covered {
        from: unsigned(from),
        to: unsigned(to),
    }))
}

/// Which table a moment was found in.
#[derive(Clone, Copy)]
enum Resolution {
    /// `<table>_ticks`: values as they were.
    Ticks,
    /// `<table>_minutes`: levels at their highest of the minute.
    Minutes,
}

impl Resolution {
    fn table(self, name: &str) -> String {
        match self {
            Resolution::Ticks => format!("{name}_ticks"),
            Resolution::Minutes => format!("{name}_minutes"),
        }
    }

    /// A gauge column: the value, or its highest over the minute.
    fn gauge(self, name: &str) -> String {
        match self {
            Resolution::Ticks => name.to_string(),
            Resolution::Minutes => format!("{name}_max"),
        }
    }
}

/// The snapshot the agent published at the tick at or before `at` (Unix seconds), if one is
/// no more than a tick (and at least a minute) before it. `live` gives the names, thresholds
/// and order of zones and the kinds of sources.
///
/// # Errors
/// The file cannot be read, or is not a history.
pub(crate) fn snapshot_at(db: &Connection, at: u64, live: &Snapshot) -> rusqlite::Result<Past> {
    let meta = |key: &str| -> rusqlite::Result<Option<String>> {
        db.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
    };
    // A file of an older schema the writer has not upgraded (one it could not write, say)
    // has no reason rows nor capture frames: its zones' reasons come from their bits.
    let current = meta("schema_version")?.as_deref() == Some(super::schema::VERSION);
    let tick_seconds: f64 = meta("tick_seconds")?
        .and_then(|t| t.parse().ok())
        .filter(|t: &f64| t.is_finite() && *t > 0.0)
        .unwrap_or(live.tick_seconds);
    let latest = |table: &str| -> rusqlite::Result<Option<i64>> {
        db.query_row(
            &format!("SELECT max(at) FROM {table} WHERE at <= ?1"),
            [signed(at)],
            |r| r.get(0),
        )
    };
    // A minute's row is at its start: before the first tick of the history's first minute,
    // it would give a moment before the agent started.
    let range = covered(db)?;
    if range.is_none_or(|c| at < c.from) {
        return Ok(Past::Outside(range));
    }
    let found = match (latest("venue_ticks")?, latest("venue_minutes")?) {
        (Some(t), m) if m.is_none_or(|m| t >= m) => Some((unsigned(t), Resolution::Ticks)),
        (_, Some(m)) => Some((unsigned(m), Resolution::Minutes)),
        _ => None,
    };
    let tolerance = tick_seconds.ceil().max(60.0) as u64;
    let Some((tick, resolution)) = found.filter(|(t, _)| at - t <= tolerance) else {
        return Ok(Past::Outside(range));
    };
    let seconds = match resolution {
        Resolution::Ticks => tick_seconds,
        Resolution::Minutes => 60.0,
    };
    let (status, unique): (i64, Option<f64>) = db.query_row(
        &format!(
            "SELECT status, {} FROM {} WHERE at = ?1",
            resolution.gauge("unique_estimate"),
            resolution.table("venue")
        ),
        [signed(tick)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut snapshot = Snapshot {
        generated_at: tick,
        venue: meta("venue")?.unwrap_or_else(|| live.venue.clone()),
        event: meta("event")?.unwrap_or_else(|| live.event.clone()),
        tick_seconds,
        active_window_seconds: live.active_window_seconds,
        status: status_of(status),
        unique_clients_estimate: unique.unwrap_or_default(),
        ..Snapshot::default()
    };
    snapshot.zones = zones(db, resolution, tick, tick_seconds.max(60.0), live, current)?;
    snapshot.pools = pools(db, resolution, tick, &snapshot.zones)?;
    snapshot.aps = aps(db, resolution, tick)?;
    snapshot.interfaces = interfaces(db, resolution, tick, seconds)?;
    if current {
        snapshot.captures = captures(db, resolution, tick)?;
    }
    snapshot.sources = sources(db, resolution, tick, live)?;
    Ok(Past::At(Box::new(snapshot)))
}

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A status from its metric value (as stored).
fn status_of(value: i64) -> Status {
    match value {
        2 => Status::Critical,
        1 => Status::Warn,
        -1 => Status::Unknown,
        _ => Status::Ok,
    }
}

/// A band from its stored code.
fn band_of(code: Option<i64>) -> Band {
    match code {
        Some(1) => Band::Ghz2_4,
        Some(2) => Band::Ghz5,
        Some(3) => Band::Ghz6,
        _ => Band::Unknown,
    }
}

/// The zone's reasons from their stored bits (see `schema::ZONE`), with the values the row
/// holds: for rows written before the history kept each reason (schema version 1), which
/// did not store the subject (which pool, which uplink).
fn reasons_of(bits: i64, zone: &ZoneSnapshot) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = ReasonKind::ALL
        .into_iter()
        .enumerate()
        .filter_map(|(k, kind)| {
            let status = if bits & (1 << (2 * k + 1)) != 0 {
                Status::Critical
            } else if bits & (1 << (2 * k)) != 0 {
                Status::Warn
            } else {
                return None;
            };
            let value = match kind {
                ReasonKind::DhcpPool => zone
                    .pool_leases
                    .zip(zone.pool_size.filter(|s| *s > 0))
                    .map_or(0.0, |(l, s)| l as f64 / s as f64),
                ReasonKind::Uplink => zone.uplink_utilization.unwrap_or(0.0),
                ReasonKind::Occupancy => zone
                    .seats
                    .filter(|s| *s > 0)
                    .map_or(0.0, |s| zone.clients as f64 / f64::from(s)),
                ReasonKind::TimeToLease => zone.time_to_lease_p95.unwrap_or(0.0),
                ReasonKind::SourceDown | ReasonKind::NoSource => 0.0,
            };
            let status = match kind {
                ReasonKind::SourceDown | ReasonKind::NoSource => Status::Unknown,
                _ => status,
            };
            Some(Reason {
                kind,
                subject: String::new(),
                value,
                status,
            })
        })
        .collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    reasons
}

/// The reasons stored for each zone (by id) at `tick`, worst first, each with its subject
/// and value; a zone with none is absent.
fn reasons(
    db: &Connection,
    r: Resolution,
    tick: u64,
) -> rusqlite::Result<HashMap<String, Vec<Reason>>> {
    let sql = format!(
        "SELECT z.name, x.kind, s.name, x.status, x.{} FROM {} x JOIN names z ON z.id = x.zone \
         LEFT JOIN names s ON s.id = x.subject WHERE x.at = ?1 ORDER BY x.kind, s.name",
        r.gauge("value"),
        r.table("reason"),
    );
    let mut statement = db.prepare(&sql)?;
    let mut rows = statement.query([signed(tick)])?;
    let mut reasons: HashMap<String, Vec<Reason>> = HashMap::new();
    while let Some(row) = rows.next()? {
        let code: Option<i64> = row.get(1)?;
        let Some(kind) = code
            .and_then(|k| usize::try_from(k).ok())
            .and_then(|k| ReasonKind::ALL.get(k).copied())
        else {
            continue;
        };
        let value = row.get::<_, Option<i64>>(4)?.unwrap_or(0) as f64;
        reasons.entry(row.get(0)?).or_default().push(Reason {
            kind,
            subject: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
            value: match kind {
                ReasonKind::DhcpPool | ReasonKind::Uplink | ReasonKind::Occupancy => {
                    value / 10_000.0
                }
                ReasonKind::TimeToLease => value / 1_000.0,
                ReasonKind::SourceDown | ReasonKind::NoSource => value,
            },
            status: status_of(row.get::<_, Option<i64>>(3)?.unwrap_or(0)),
        });
    }
    for list in reasons.values_mut() {
        list.sort_by_key(|r| std::cmp::Reverse(r.status));
    }
    Ok(reasons)
}

/// Each zone's (by id) clients per source at `tick` (`zone/source` in `names`), for the
/// source kinds the live agent runs (a kind is a name of the agent's own).
fn clients_by_source(
    db: &Connection,
    r: Resolution,
    tick: u64,
    live: &Snapshot,
) -> rusqlite::Result<HashMap<String, BTreeMap<&'static str, u64>>> {
    let sql = format!(
        "SELECT n.name, {} FROM {} x JOIN names n ON n.id = x.zone_source WHERE at = ?1",
        r.gauge("clients"),
        r.table("zone_source"),
    );
    let mut statement = db.prepare(&sql)?;
    let rows: Vec<(String, Option<i64>)> = statement
        .query_map([signed(tick)], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let kinds = live.sources.iter().map(|s| s.source).chain(
        live.zones
            .iter()
            .flat_map(|z| z.clients_by_source.keys().copied()),
    );
    let kinds: Vec<&'static str> = kinds.collect();
    let mut counts: HashMap<String, BTreeMap<&'static str, u64>> = HashMap::new();
    for (name, clients) in rows {
        let Some((zone, source)) = name.rsplit_once('/') else {
            continue;
        };
        let Some(kind) = kinds.iter().find(|k| **k == source) else {
            continue;
        };
        counts
            .entry(zone.to_string())
            .or_default()
            .insert(kind, unsigned(clients.unwrap_or(0)));
    }
    Ok(counts)
}

/// The zones at `tick`; rows of their last hour are `spacing` seconds apart (a tick or a
/// minute); their reasons from the `reason` rows when the file is of this schema
/// (`current`), else from their bits.
fn zones(
    db: &Connection,
    r: Resolution,
    tick: u64,
    spacing: f64,
    live: &Snapshot,
    current: bool,
) -> rusqlite::Result<Vec<ZoneSnapshot>> {
    let sql = format!(
        "SELECT n.name, {}, {}, {}, {}, seats, status, reasons, {}, {}, {}, {}, pool_size, {} \
         FROM {} z JOIN names n ON n.id = z.zone WHERE at = ?1",
        r.gauge("clients"),
        r.gauge("randomized"),
        r.gauge("stations"),
        r.gauge("aps"),
        r.gauge("uplink_bp"),
        r.gauge("rx_bps"),
        r.gauge("tx_bps"),
        r.gauge("pool_leases"),
        r.gauge("ttl_p95_ms"),
        r.table("zone"),
    );
    let mut stored = if current {
        reasons(db, r, tick)?
    } else {
        HashMap::new()
    };
    let mut by_source = clients_by_source(db, r, tick, live)?;
    let mut statement = db.prepare(&sql)?;
    let mut rows = statement.query([signed(tick)])?;
    let mut zones = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let count = |i| -> rusqlite::Result<Option<u64>> {
            Ok(row.get::<_, Option<i64>>(i)?.map(unsigned))
        };
        let known = live.zones.iter().find(|z| z.id == id);
        let mut zone = ZoneSnapshot {
            name: known.map_or_else(|| id.clone(), |z| z.name.clone()),
            thresholds: known.map(|z| z.thresholds.clone()).unwrap_or_default(),
            clients: count(1)?.unwrap_or(0),
            clients_randomized: count(2)?.unwrap_or(0),
            stations: count(3)?,
            aps: count(4)?.unwrap_or(0),
            seats: count(5)?.and_then(|s| u32::try_from(s).ok()),
            status: status_of(row.get::<_, Option<i64>>(6)?.unwrap_or(0)),
            uplink_utilization: row.get::<_, Option<i64>>(8)?.map(|b| b as f64 / 10_000.0),
            rx_bps: row.get::<_, Option<i64>>(9)?.map(|b| b as f64),
            tx_bps: row.get::<_, Option<i64>>(10)?.map(|b| b as f64),
            pool_leases: count(11)?,
            pool_size: count(12)?,
            time_to_lease_p95: row.get::<_, Option<i64>>(13)?.map(|ms| ms as f64 / 1_000.0),
            id,
            ..ZoneSnapshot::default()
        };
        zone.reasons = match stored.remove(&zone.id) {
            Some(reasons) => reasons,
            None => reasons_of(row.get::<_, Option<i64>>(7)?.unwrap_or(0), &zone),
        };
        zone.clients_by_source = by_source.remove(&zone.id).unwrap_or_default();
        // The history keeps unique devices per zone and hour, not since the agent started.
        zone.unique_clients_estimate =
            crate::history::store::unique_devices(db, &[zone.id.as_str()], tick, tick)?.round();
        let index = live.zones.iter().position(|z| z.id == zone.id);
        if let Some((programme, index)) = live.programme.as_deref().zip(index) {
            (zone.session_now, zone.session_next) =
                crate::hub::sessions(programme, index, i64::try_from(tick).unwrap_or(i64::MAX));
        }
        zones.push(zone);
    }
    drop(rows);
    // Config order: the live zones' order, then zones the config no longer has.
    zones.sort_by_key(|z| {
        live.zones
            .iter()
            .position(|l| l.id == z.id)
            .unwrap_or(usize::MAX)
    });
    for zone in &mut zones {
        zone.history = last_hour(db, &zone.id, tick, spacing)?;
    }
    Ok(zones)
}

/// The zone's hour up to `tick`, in the 30-second buckets of the live page's sparklines; a
/// row's values fill the buckets until the next row `spacing` seconds later (ticks longer
/// than a bucket would otherwise draw dots), a longer gap stays a gap.
fn last_hour(db: &Connection, zone: &str, tick: u64, spacing: f64) -> rusqlite::Result<Vec<Point>> {
    let part = |r: Resolution| {
        format!(
            "SELECT at, {c} AS c, {u} AS u, 1.0 * {l} / nullif(pool_size, 0) AS p FROM {t} \
             JOIN names n ON n.id = zone WHERE n.kind = 'zone' AND n.name = ?1 AND at > ?2 AND at <= ?3",
            c = r.gauge("clients"),
            u = r.gauge("uplink_bp"),
            l = r.gauge("pool_leases"),
            t = r.table("zone"),
        )
    };
    let sql = format!(
        "SELECT at - at % {BUCKET_SECONDS} b, max(c), max(u), max(p) FROM ({} UNION ALL {}) \
         GROUP BY b ORDER BY b",
        part(Resolution::Ticks),
        part(Resolution::Minutes),
    );
    let mut statement = db.prepare(&sql)?;
    let rows: Vec<Point> = statement
        .query_map(
            params![zone, signed(tick.saturating_sub(3_600)), signed(tick)],
            |row| {
                Ok(Point {
                    at: unsigned(row.get(0)?),
                    clients: unsigned(row.get::<_, Option<i64>>(1)?.unwrap_or(0)),
                    uplink: row.get::<_, Option<i64>>(2)?.map(|b| b as f64 / 10_000.0),
                    pool: row.get(3)?,
                })
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    let held = spacing.ceil() as u64;
    let mut points: Vec<Point> = Vec::with_capacity(rows.len());
    for point in rows {
        if let Some(&last) = points.last()
            && point.at - last.at <= held
        {
            let mut at = last.at + BUCKET_SECONDS;
            while at < point.at {
                points.push(Point { at, ..last });
                at += BUCKET_SECONDS;
            }
        }
        points.push(point);
    }
    Ok(points)
}

fn pools(
    db: &Connection,
    r: Resolution,
    tick: u64,
    zones: &[ZoneSnapshot],
) -> rusqlite::Result<Vec<PoolSnapshot>> {
    let sql = format!(
        "SELECT n.name, z.name, {}, size FROM {} p JOIN names n ON n.id = p.pool \
         LEFT JOIN names z ON z.id = p.zone WHERE at = ?1 ORDER BY n.name",
        r.gauge("leases"),
        r.table("pool"),
    );
    let mut statement = db.prepare(&sql)?;
    statement
        .query_map([signed(tick)], |row| {
            let zone: Option<String> = row.get(1)?;
            let leases_active = row.get::<_, Option<i64>>(2)?.map(unsigned);
            let size = row.get::<_, Option<i64>>(3)?.map(unsigned);
            let usage = leases_active
                .zip(size.filter(|s| *s > 0))
                .map(|(l, s)| l as f64 / s as f64);
            let thresholds = zones
                .iter()
                .find(|z| Some(&z.id) == zone.as_ref())
                .map(|z| z.thresholds.clone())
                .unwrap_or_default();
            Ok(PoolSnapshot {
                name: row.get(0)?,
                zone,
                leases_active,
                size,
                usage,
                status: usage.map_or(Status::Ok, |u| {
                    Status::of(u, thresholds.dhcp_pool_warn, thresholds.dhcp_pool_critical)
                }),
                records_skipped: 0,
                statistics: None,
            })
        })?
        .collect()
}

fn aps(db: &Connection, r: Resolution, tick: u64) -> rusqlite::Result<Vec<ApSnapshot>> {
    let sql = format!(
        "SELECT n.name, z.name, band, {}, {}, {} FROM {} a JOIN names n ON n.id = a.ap \
         LEFT JOIN names z ON z.id = a.zone WHERE at = ?1 ORDER BY z.name, n.name",
        r.gauge("present"),
        r.gauge("stations"),
        r.gauge("utilization_bp"),
        r.table("ap"),
    );
    let mut statement = db.prepare(&sql)?;
    statement
        .query_map([signed(tick)], |row| {
            let mut ap = ApSnapshot::silent(row.get(0)?, row.get(1)?, ApEvents::default());
            ap.band = band_of(row.get(2)?);
            ap.present = row.get::<_, Option<i64>>(3)?.unwrap_or(0) > 0;
            ap.stations = unsigned(row.get::<_, Option<i64>>(4)?.unwrap_or(0));
            ap.channel_utilization = row.get::<_, Option<i64>>(5)?.map(|b| b as f64 / 10_000.0);
            Ok(ap)
        })?
        .collect()
}

/// Interfaces, their rates from the bytes counted over the tick (or minute) of `seconds`.
fn interfaces(
    db: &Connection,
    r: Resolution,
    tick: u64,
    seconds: f64,
) -> rusqlite::Result<Vec<InterfaceSnapshot>> {
    let sql = format!(
        "SELECT n.name, z.name, {}, speed_bps, {}, rx_bytes, tx_bytes FROM {} i \
         JOIN names n ON n.id = i.interface LEFT JOIN names z ON z.id = i.zone \
         WHERE at = ?1 ORDER BY n.name",
        r.gauge("up"),
        r.gauge("utilization_bp"),
        r.table("interface"),
    );
    let rate = |bytes: Option<i64>| bytes.map(|b| b as f64 * 8.0 / seconds);
    let mut statement = db.prepare(&sql)?;
    statement
        .query_map([signed(tick)], |row| {
            Ok(InterfaceSnapshot {
                name: row.get(0)?,
                zone: row.get(1)?,
                kind: LinkKind::Physical,
                up: row.get::<_, Option<i64>>(2)?.unwrap_or(0) > 0,
                carrier: None,
                mtu: None,
                speed_bps: row.get::<_, Option<i64>>(3)?.map(unsigned),
                counters: crate::model::interfaces::Counters::default(),
                utilization: row.get::<_, Option<i64>>(4)?.map(|b| b as f64 / 10_000.0),
                rx_bps: rate(row.get(5)?),
                tx_bps: rate(row.get(6)?),
            })
        })?
        .collect()
}

/// The captures at `tick`, their counts added up over every row up to it.
fn captures(db: &Connection, r: Resolution, tick: u64) -> rusqlite::Result<Vec<CaptureSummary>> {
    // The stored order of the DHCP types (`schema::CAPTURE`): `other` last.
    let types: Vec<&'static str> = DHCP_TYPES
        .iter()
        .skip(1)
        .chain(DHCP_TYPES.first())
        .copied()
        .collect();
    let counted: Vec<&str> = types
        .iter()
        .copied()
        .chain(["unanswered", "frames", "bytes", "dropped"])
        .collect();
    let columns = counted.join(", ");
    let part = |table: &str| format!("SELECT capture, {columns} FROM {table} WHERE at <= ?1");
    let sql = format!(
        "SELECT n.name, z.name, {} FROM {} c JOIN names n ON n.id = c.capture \
         LEFT JOIN names z ON z.id = c.zone \
         JOIN (SELECT capture, {} FROM ({} UNION ALL {}) GROUP BY capture) t \
         ON t.capture = c.capture WHERE c.at = ?1 ORDER BY n.name",
        counted
            .iter()
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        r.table("capture"),
        counted
            .iter()
            .map(|c| format!("sum({c}) AS {c}"))
            .collect::<Vec<_>>()
            .join(", "),
        part("capture_ticks"),
        part("capture_minutes"),
    );
    let mut statement = db.prepare(&sql)?;
    statement
        .query_map([signed(tick)], |row| {
            let n = |i: usize| -> rusqlite::Result<u64> {
                Ok(unsigned(row.get::<_, Option<i64>>(i)?.unwrap_or(0)))
            };
            let mut dhcp_messages = BTreeMap::new();
            for (i, name) in types.iter().enumerate() {
                let count = n(2 + i)?;
                if count > 0 {
                    dhcp_messages.insert(*name, count);
                }
            }
            let after = 2 + types.len();
            Ok(CaptureSummary {
                interface: row.get(0)?,
                zone: row.get(1)?,
                frames: n(after + 1)?,
                bytes: n(after + 2)?,
                kinds: BTreeMap::new(),
                kernel_received: 0,
                kernel_dropped: n(after + 3)?,
                dhcp_messages,
                dhcp_unanswered_discovers: n(after)?,
                dhcp_time_to_lease_seconds: Histogram::new(&TIME_TO_LEASE_BUCKETS),
                devices_estimate: 0.0,
                probing_devices_estimate: 0.0,
                channels: Vec::new(),
                own_ap_data_frames: BTreeMap::new(),
            })
        })?
        .collect()
}

/// Sources (`kind/instance` in `names`) whose kind the live agent still runs: a source kind
/// is a name of the agent's own.
fn sources(
    db: &Connection,
    r: Resolution,
    tick: u64,
    live: &Snapshot,
) -> rusqlite::Result<Vec<SourceSnapshot>> {
    let sql = format!(
        "SELECT n.name, {} FROM {} s JOIN names n ON n.id = s.source WHERE at = ?1 \
         ORDER BY n.name",
        r.gauge("up"),
        r.table("source"),
    );
    let mut statement = db.prepare(&sql)?;
    let rows: Vec<(String, Option<i64>)> = statement
        .query_map([signed(tick)], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, up)| {
            let (kind, instance) = name.split_once('/')?;
            let source = live.sources.iter().find(|s| s.source == kind)?.source;
            Some(SourceSnapshot {
                source,
                instance: instance.to_string(),
                up: up.unwrap_or(0) > 0,
                errors: std::collections::BTreeMap::new(),
                last_error: None,
                duration_seconds: 0.0,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::history::testing::{live_simulated, truth, truth_event, truth_sessions};

    /// The simulated day (`history::testing::simulated`), open for reading.
    fn simulated(dir: &Path) -> Connection {
        open(&crate::history::testing::simulated(dir)).expect("opens")
    }

    /// The live agent: it runs a DHCP source, and names the main hall for people.
    fn live() -> Snapshot {
        Snapshot {
            tick_seconds: 60.0,
            zones: vec![ZoneSnapshot {
                id: "main-hall".into(),
                name: "Main hall".into(),
                ..ZoneSnapshot::default()
            }],
            sources: vec![SourceSnapshot {
                source: "dhcp",
                instance: "live".into(),
                up: true,
                errors: BTreeMap::new(),
                last_error: None,
                duration_seconds: 0.0,
            }],
            ..Snapshot::default()
        }
    }

    /// The main hall's busiest tick and its figures, straight from the rows.
    fn keynote_peak(db: &Connection) -> (u64, u64, u32, u64, u64) {
        db.query_row(
            "SELECT at, clients, seats, pool_leases, pool_size FROM zone_ticks z JOIN names n \
             ON n.id = z.zone WHERE n.kind = 'zone' AND n.name = 'main-hall' \
             ORDER BY clients DESC, at LIMIT 1",
            [],
            |r| {
                let n = |i| -> rusqlite::Result<u64> { Ok(unsigned(r.get(i)?)) };
                Ok((n(0)?, n(1)?, r.get(2)?, n(3)?, n(4)?))
            },
        )
        .expect("peak")
    }

    fn at(db: &Connection, moment: u64) -> Snapshot {
        at_with(db, moment, &live())
    }

    fn at_with(db: &Connection, moment: u64, live: &Snapshot) -> Snapshot {
        match snapshot_at(db, moment, live).expect("reads") {
            Past::At(snapshot) => *snapshot,
            Past::Outside(covered) => panic!("nothing at {moment}: {covered:?}"),
        }
    }

    #[test]
    fn the_keynote_peak_comes_back_as_the_snapshot_of_its_minute() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = simulated(dir.path());
        let (peak_at, peak, seats, leases, size) = keynote_peak(&db);
        // Half a minute later is still that tick.
        let s = at(&db, peak_at + 30);
        assert_eq!(s.generated_at, peak_at);
        // Regression: the venue's unique estimate read 0.
        let stored: f64 = db
            .query_row(
                "SELECT unique_estimate FROM venue_ticks WHERE at = ?1",
                [peak_at as i64],
                |r| r.get(0),
            )
            .expect("stored");
        assert!(stored > 0.0);
        assert_eq!(s.unique_clients_estimate, stored);
        assert_eq!(s.zones.len(), 4);
        let hall = &s.zones[0];
        // Regression: every zone's read 0. A zone's is its devices in the hour holding the
        // moment, from the hour's sketch.
        let hour = crate::history::store::unique_devices(&db, &["main-hall"], peak_at, peak_at)
            .expect("sketch");
        assert!(
            hour >= peak as f64,
            "{hour} devices in the hour, {peak} at once"
        );
        assert_eq!(hall.unique_clients_estimate, hour.round());
        assert_eq!(
            (hall.id.as_str(), hall.name.as_str()),
            ("main-hall", "Main hall")
        );
        assert_eq!(hall.clients, peak);
        assert_eq!(hall.seats, Some(seats));
        assert_eq!(
            (hall.pool_leases, hall.pool_size),
            (Some(leases), Some(size))
        );
        assert_eq!(hall.status, Status::Critical);
        // The pool ran short (past the 95 % critical threshold); the hall is past its seats,
        // not at 1.5 devices a seat (occupancy's warn threshold).
        let pool = &hall.reasons[0];
        assert_eq!(
            (pool.kind, pool.status),
            (ReasonKind::DhcpPool, Status::Critical)
        );
        // The pool's own usage, stored in basis points.
        assert!((pool.value - leases as f64 / size as f64).abs() <= 0.5e-4);
        assert_eq!(pool.subject, "main-hall");
        assert!(peak > u64::from(seats));
        assert!(hall.reasons.iter().all(|r| r.kind != ReasonKind::Occupancy));
        assert!(hall.uplink_utilization.is_some());
        // Zones the live config does not name keep their id, after the live ones.
        assert!(s.zones[1..].iter().all(|z| z.name == z.id));
        // The hour before, in the sparklines' buckets, ending at the peak.
        let last = hall.history.last().expect("last hour");
        assert_eq!((last.at, last.clients), (peak_at - peak_at % 30, peak));
        assert!(hall.history.len() >= 110, "{}", hall.history.len());
        // Regression: minute ticks in 30-second buckets drew the line as dots.
        assert!(
            hall.history
                .windows(2)
                .all(|w| w[1].at - w[0].at == BUCKET_SECONDS),
            "a gap in the hour"
        );
        assert!(!s.pools.is_empty() && !s.aps.is_empty() && !s.interfaces.is_empty());
        assert!(s.aps.iter().all(|a| a.present));
        let hall_rate = s
            .interfaces
            .iter()
            .filter(|i| i.zone.as_deref() == Some("main-hall"))
            .filter_map(|i| i.rx_bps)
            .sum::<f64>();
        assert!(hall_rate > 0.0, "the hall's traffic");
    }

    #[test]
    fn a_past_moment_has_the_sessions_the_programme_had_then_and_clients_per_source() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = simulated(dir.path());
        let truth = truth(dir.path());
        let live = live_simulated();
        let (keynote, _) = truth_event(&truth, "keynote");
        // Day 1's fourth slot in the first room.
        let slot = truth["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["title"] == "Session 1.4.1")
            .expect("a session");
        let (starts, room) = (
            slot["starts"].as_u64().expect("starts"),
            slot["zone"].as_str().expect("zone"),
        );
        let mut shown = 0;
        for moment in [keynote + 600, starts + 300, keynote - 1_800] {
            let s = match snapshot_at(&db, moment, &live).expect("reads") {
                Past::At(s) => *s,
                Past::Outside(c) => panic!("nothing at {moment}: {c:?}"),
            };
            assert!(s.programme.is_none());
            assert_eq!(s.zones.len(), 4);
            for zone in &s.zones {
                let (now, next) = truth_sessions(&truth, &zone.id, signed(s.generated_at));
                let got = |s: &Option<crate::hub::SessionSnapshot>| {
                    s.as_ref().map(|s| (s.title.clone(), s.starts, s.ends))
                };
                assert_eq!(got(&zone.session_now), now, "{} at {moment}", zone.id);
                assert_eq!(got(&zone.session_next), next, "{} at {moment}", zone.id);
                shown += usize::from(now.is_some()) + usize::from(next.is_some());
                // Only the simulated access points see clients.
                let stored: Option<i64> = db
                    .query_row(
                        "SELECT clients FROM zone_source_ticks x JOIN names n \
                         ON n.id = x.zone_source WHERE at = ?1 AND n.name = ?2",
                        params![signed(s.generated_at), format!("{}/hostapd", zone.id)],
                        |r| r.get(0),
                    )
                    .optional()
                    .expect("reads");
                let expected: BTreeMap<&str, u64> = stored
                    .map(|n| ("hostapd", unsigned(n)))
                    .into_iter()
                    .collect();
                assert_eq!(zone.clients_by_source, expected, "{} at {moment}", zone.id);
            }
        }
        assert!(shown >= 4, "sessions shown: {shown}");
        // During a session, its room has it on.
        let s = at_with(&db, starts + 300, &live);
        let room = s.zones.iter().find(|z| z.id == room).expect("room");
        assert!(room.session_now.is_some(), "{room:?}");
        let hall = &at_with(&db, keynote + 600, &live).zones[0];
        assert!(
            hall.clients_by_source
                .get("hostapd")
                .is_some_and(|n| *n == hall.clients)
        );
    }

    #[test]
    fn reasons_name_their_pool_and_source_and_keep_them_downsampled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = simulated(dir.path());
        let truth = truth(dir.path());
        let live = live_simulated();
        // The main hall's pool (named after its zone in the simulation) ran short.
        let (peak_at, _, _, leases, size) = keynote_peak(&db);
        let hall = &at_with(&db, peak_at, &live).zones[0];
        let pool = &hall.reasons[0];
        assert_eq!(
            (pool.kind, pool.subject.as_str(), pool.status),
            (ReasonKind::DhcpPool, "main-hall", Status::Critical)
        );
        assert!(
            (pool.value - leases as f64 / size as f64).abs() <= 0.5e-4,
            "{pool:?}"
        );
        // The first room's DHCP source was down.
        let (down, zones) = truth_event(&truth, "source_down");
        let room = at_with(&db, down + 60, &live);
        let room = room.zones.iter().find(|z| z.id == zones[0]).expect("room");
        assert!(
            room.reasons.contains(&Reason {
                kind: ReasonKind::SourceDown,
                subject: "dhcp".into(),
                value: 1.0,
                status: Status::Unknown,
            }),
            "{:?}",
            room.reasons
        );
        let ticks = at_with(&db, down + 60, &live);
        drop(db);
        let db = Connection::open(dir.path().join("event.sqlite")).expect("opens");
        crate::history::testing::downsample(&db, i64::MAX);
        let minutes = at_with(&db, down + 60, &live);
        for (minute, tick) in minutes.zones.iter().zip(&ticks.zones) {
            assert_eq!(minute.reasons, tick.reasons, "{}", tick.id);
            assert_eq!(
                minute.clients_by_source, tick.clients_by_source,
                "{}",
                tick.id
            );
        }
    }

    #[test]
    fn captures_come_back_with_their_counts_up_to_the_moment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("captures.sqlite");
        let snapshots: Vec<Snapshot> = [(120, 1_000), (125, 1_500), (130, 2_500)]
            .into_iter()
            .map(|(at, frames)| Snapshot {
                generated_at: at,
                tick_seconds: 5.0,
                captures: vec![crate::history::testing::capture(frames, frames / 100)],
                ..Snapshot::default()
            })
            .collect();
        crate::history::testing::write(&path, &snapshots);
        let db = Connection::open(&path).expect("opens");
        let live = Snapshot::default();
        // Counted from the second tick: the first has no previous totals to count from.
        for (moment, frames) in [(125, 500), (133, 1_500)] {
            let s = at_with(&db, moment, &live);
            assert_eq!(s.captures.len(), 1);
            let c = &s.captures[0];
            assert_eq!(
                (c.interface.as_str(), c.zone.as_deref()),
                ("mon0", Some("hall"))
            );
            assert_eq!(
                (
                    c.frames,
                    c.bytes,
                    c.kernel_dropped,
                    c.dhcp_unanswered_discovers
                ),
                (frames, frames * 100, frames / 10, frames / 100),
                "at {moment}"
            );
            assert_eq!(
                c.dhcp_messages,
                [("discover", frames / 50)].into_iter().collect(),
                "at {moment}"
            );
        }
        crate::history::testing::downsample(&db, i64::MAX);
        let c = &at_with(&db, 130, &live).captures[0];
        assert_eq!((c.frames, c.kernel_dropped), (1_500, 150));
    }

    #[test]
    fn a_version_1_file_not_yet_upgraded_is_read_with_reasons_from_their_bits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.sqlite");
        let db = Connection::open(&path).expect("creates");
        db.execute_batch(&crate::history::testing::version_1())
            .expect("version 1 schema");
        db.execute_batch(
            "INSERT INTO meta VALUES ('schema_version', '1'), ('tick_seconds', '60');
             INSERT INTO names VALUES (1, 'zone', 'main-hall'), (2, 'capture', 'mon0');
             INSERT INTO venue_ticks VALUES (600, 10, 10, 2);
             INSERT INTO zone_ticks (at, zone, clients, status, reasons, pool_leases, pool_size)
               VALUES (600, 1, 10, 2, 2, 98, 100);
             INSERT INTO capture_ticks (at, capture, unanswered) VALUES (600, 2, 1);",
        )
        .expect("version 1 rows");
        let s = at(&open(&path).expect("opens"), 630);
        let hall = &s.zones[0];
        assert_eq!(hall.clients, 10);
        assert_eq!(
            hall.reasons,
            vec![Reason {
                kind: ReasonKind::DhcpPool,
                subject: String::new(),
                value: 0.98,
                status: Status::Critical,
            }]
        );
        assert!(s.captures.is_empty());
    }

    #[test]
    fn the_twenty_minutes_a_source_was_down_show_it_down() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = simulated(dir.path());
        let down: i64 = db
            .query_row(
                "SELECT min(at) FROM source_ticks s JOIN names n ON n.id = s.source \
                 WHERE n.name = 'dhcp/room-01' AND up = 0",
                [],
                |r| r.get(0),
            )
            .expect("down");
        let down = unsigned(down);
        let s = at(&db, down);
        let room = s
            .sources
            .iter()
            .find(|s| s.instance == "room-01")
            .expect("the room's source");
        assert!(!room.up);
        assert_eq!(room.source, "dhcp");
        assert!(at(&db, down - 60).sources.iter().all(|s| s.up));
    }

    /// Regression: the zone page's slider started at the start of the first tick's minute
    /// (where the first minute row is), a moment the history has no tick for.
    #[test]
    fn the_history_covers_from_its_first_tick_to_its_last_and_downsampled_minutes_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.sqlite");
        let tick = |at| Snapshot {
            generated_at: at,
            tick_seconds: 5.0,
            ..Snapshot::default()
        };
        let ticks: Vec<Snapshot> = (0..30).map(|i| tick(600 + 17 + 5 * i)).collect();
        crate::history::testing::write(&path, &ticks);
        let db = open(&path).expect("opens");
        let first_minute: i64 = db
            .query_row("SELECT min(at) FROM venue_minutes", [], |r| r.get(0))
            .expect("a minute row");
        assert_eq!(first_minute, 600, "rolled up as the minute ended");
        let ends = covered(&db).expect("reads").expect("ticks");
        assert_eq!(ends, Covered { from: 617, to: 762 });
        for end in [ends.from, ends.to] {
            assert_eq!(at_with(&db, end, &live()).generated_at, end);
        }
        // Its first minute downsampled to its minute row: covered from the minute's start.
        crate::history::testing::downsample(&Connection::open(&path).expect("opens"), 660);
        assert_eq!(
            covered(&db).expect("reads"),
            Some(Covered { from: 600, to: 762 })
        );
    }

    #[test]
    fn outside_the_history_says_what_it_covers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = simulated(dir.path());
        let covered = covered(&db).expect("reads").expect("ticks");
        assert!(covered.to - covered.from >= 23 * 3_600, "{covered:?}");
        for moment in [0, covered.from - 1, covered.to + 61] {
            match snapshot_at(&db, moment, &live()).expect("reads") {
                Past::Outside(c) => assert_eq!(c, Some(covered), "{moment}"),
                Past::At(s) => panic!("{moment} gave {}", s.generated_at),
            }
        }
        assert_eq!(at(&db, covered.to + 60).generated_at, covered.to);
    }

    #[test]
    fn downsampled_minutes_give_the_minute_with_its_highest_levels() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = {
            simulated(dir.path());
            dir.path().join("event.sqlite")
        };
        let db = Connection::open(&path).expect("opens");
        let (peak_at, peak, ..) = keynote_peak(&db);
        let ticks = at(&db, peak_at);
        crate::history::testing::downsample(&db, i64::MAX);
        let minutes = at(&db, peak_at + 59);
        assert_eq!(minutes.generated_at, peak_at - peak_at % 60);
        assert_eq!(minutes.zones[0].clients, peak);
        assert_eq!(minutes.zones[0].status, ticks.zones[0].status);
        assert_eq!(minutes.zones[0].reasons, ticks.zones[0].reasons);
        assert_eq!(minutes.pools.len(), ticks.pools.len());
        assert_eq!(minutes.aps.len(), ticks.aps.len());
        assert!(!minutes.zones[0].history.is_empty());
    }
}
