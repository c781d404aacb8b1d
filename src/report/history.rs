//! The report's data from venuemon's own history (`--source history`): the history file's
//! tick rows aggregated per minute, and its 1-minute rows where ticks were downsampled, put
//! into the source-neutral [`EventData`].
//!
//! Per minute: each zone's devices are its own highest tick (its peaks); its devices and
//! randomized devices at the minute's tick with the most devices in the venue are kept
//! beside them, so that zones add up to the venue (a device walking from a room to the
//! foyer is not counted in both); stations per band and DHCP leases are the minute's
//! highest tick value; status the worst; interfaces and sources count as down when any tick
//! of the minute was; traffic is the bytes of the minute and utilization those bytes over the
//! minute at the link's speed (as Prometheus' `rate(...[1m])`); time-to-lease is the 95th
//! percentile of the capture's DISCOVER→ACK histogram over the last five minutes. Unique
//! devices merge the zones' hourly sketches over the hours the period touches.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, bail};
use fnv::FnvHashMap;
use rusqlite::{Connection, OptionalExtension, params};

use super::data::{
    BandSeries, CaptureData, EventData, InterfaceData, PoolData, Series, SourceData, UniqueDevices,
    ZoneData,
};
use super::prometheus::Limits;
use crate::hub::capture::TIME_TO_LEASE_BUCKETS;
use crate::model::histogram::Histogram;

/// Seconds in a step of the report.
const STEP: i64 = 60;
/// Minutes of DISCOVER→ACK times the 95th percentile of time-to-lease looks back over.
const TIME_TO_LEASE_MINUTES: usize = 5;
/// The first bytes of every SQLite file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Whether `bytes` (a file's start) are a SQLite file's, such as a history.
pub fn is_sqlite(bytes: &[u8]) -> bool {
    bytes.starts_with(SQLITE_MAGIC)
}

/// A history file, open read-only.
pub struct History {
    db: Connection,
    /// `names` by id: (kind, name).
    names: HashMap<i64, (String, String)>,
    /// Minute rows hold every minute before this (Unix seconds); tick rows the rest.
    rolled_up_until: i64,
    /// Seconds between two ticks of the agent that wrote it.
    tick_seconds: f64,
}

/// Rows of one table per minute: by key id, the minute (Unix seconds) and its values.
type Rows = BTreeMap<i64, Vec<(i64, Vec<Option<f64>>)>>;

/// How a column's values over a minute's ticks become the minute's value.
#[derive(Debug, Clone, Copy)]
enum Per {
    /// The highest (a level at its peak).
    Max,
    /// The lowest (down if down at any tick).
    Min,
    /// The total (bytes, counts).
    Sum,
}

impl Per {
    fn of(self, a: Option<f64>, b: Option<f64>) -> Option<f64> {
        match (a, b) {
            (Some(a), Some(b)) => Some(match self {
                Per::Max => a.max(b),
                Per::Min => a.min(b),
                Per::Sum => a + b,
            }),
            (a, b) => a.or(b),
        }
    }
}

impl History {
    /// Opens the history at `path` read-only.
    ///
    /// # Errors
    /// The file is missing, not a regular file, not a SQLite file, or not a venuemon history.
    pub fn open(path: &Path) -> anyhow::Result<History> {
        let hint = "give the agent's history file (--history FILE, or --config with [history])";
        crate::files::open_regular(path)
            .with_context(|| format!("cannot read the history {}: {hint}", path.display()))?;
        let db = crate::history::read::open(path)
            .with_context(|| format!("cannot open the history {}: {hint}", path.display()))?;
        // SQLite's own error (a damaged file, one it cannot read here) is said as it is: only
        // a readable SQLite file without the history's tables is "not a venuemon history".
        let cannot_read = |e: rusqlite::Error| {
            anyhow::anyhow!(
                "cannot read the history {} (SQLite: {e}): {hint}",
                path.display()
            )
        };
        let has_meta: bool = db
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get(0),
            )
            .map_err(cannot_read)?;
        let version: Option<String> = if has_meta {
            db.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(cannot_read)?
        } else {
            None
        };
        match version.as_deref() {
            Some(crate::history::SCHEMA_VERSION) => {}
            Some(other) => bail!(
                "{} is a history of schema version {other}, this venuemon reads version {}: \
                 write the report with the venuemon that wrote it (this version's agent \
                 upgrades an older file when it opens it)",
                path.display(),
                crate::history::SCHEMA_VERSION
            ),
            None => bail!("{} is not a venuemon history: {hint}", path.display()),
        }
        let rolled_up_until = db
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [crate::history::ROLLED_UP_UNTIL],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(cannot_read)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let tick_seconds = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'tick_seconds'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(cannot_read)?
            .and_then(|v| v.parse().ok())
            .filter(|t: &f64| t.is_finite() && *t > 0.0)
            .unwrap_or(STEP as f64);
        let mut names = HashMap::new();
        {
            let mut statement = db.prepare("SELECT id, kind, name FROM names")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                names.insert(row.get(0)?, (row.get(1)?, row.get(2)?));
            }
        }
        Ok(History {
            db,
            names,
            rolled_up_until,
            tick_seconds,
        })
    }

    /// The venue's name as the agent that wrote the history knew it.
    pub fn venue(&self) -> Option<String> {
        self.db
            .query_row("SELECT value FROM meta WHERE key = 'venue'", [], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .filter(|v| !v.is_empty())
    }

    /// The venue's time zone as the agent that wrote the history knew it, when this system
    /// knows it.
    pub fn time_zone(&self) -> Option<jiff::tz::TimeZone> {
        self.db
            .query_row("SELECT value FROM meta WHERE key = 'timezone'", [], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .and_then(|name| jiff::tz::TimeZone::get(&name).ok())
    }

    /// The zones' names for people by id, as the agent that wrote the history last named
    /// them (empty for a file written before it kept them).
    pub fn zone_names(&self) -> BTreeMap<String, String> {
        self.db
            .query_row("SELECT value FROM meta WHERE key = 'zone_names'", [], |r| {
                r.get::<_, String>(0)
            })
            .ok()
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default()
    }

    /// The first minute and the end of the last minute holding zone rows, if any.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn span(&self) -> anyhow::Result<Option<(i64, i64)>> {
        Ok(self
            .within(i64::MIN, i64::MAX)?
            .map(|(f, l)| (f - f.rem_euclid(STEP), l - l.rem_euclid(STEP) + STEP)))
    }

    /// The first time holding zone rows (ticks, or minutes rolled up) in `[from, to)`, and
    /// the last second the last of them stands for within it (a row stands until the next
    /// tick, `tick_seconds` later: at a 5-minute tick, a row at 23:55 holds until 23:59:59),
    /// if any. One `min` or `max` per query, so that SQLite seeks them in the primary key
    /// instead of reading the range.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn within(&self, from: i64, to: i64) -> anyhow::Result<Option<(i64, i64)>> {
        let found = |query: &str| -> rusqlite::Result<Vec<i64>> {
            let mut statement = self.db.prepare_cached(&format!(
                "SELECT {query}(at) FROM zone_ticks WHERE at >= ?1 AND at < ?2 UNION ALL \
                 SELECT {query}(at) FROM zone_minutes WHERE at >= ?1 AND at < ?2"
            ))?;
            let rows = statement.query_map(params![from, to], |r| r.get::<_, Option<i64>>(0))?;
            rows.filter_map(Result::transpose).collect()
        };
        let first = found("min")?.into_iter().min();
        let last = found("max")?.into_iter().max();
        let stands = (self.tick_seconds.round() as i64 - 1).max(0);
        Ok(first
            .zip(last)
            .map(|(first, last)| (first, last.saturating_add(stands).min(to - 1))))
    }

    fn name(&self, id: Option<f64>) -> Option<String> {
        id.and_then(|id| self.names.get(&(id as i64)))
            .map(|(_, name)| name.clone())
    }

    /// One value per minute from `[from, to)`, by key. `minutes` reads the minute rows
    /// (rolled up by the writer as each minute ended) before `rolled_up_until`; `ticks`
    /// the tick rows from there on, in time order, each minute's ticks folded column by
    /// column as `per` says (in one pass over the rows as stored: no sort). Both select the
    /// time (Unix seconds), the key and one value per entry of `per`, with `?1` and `?2` as
    /// bounds.
    fn rows(
        &self,
        minutes: &str,
        ticks: &str,
        per: &[Per],
        from: i64,
        to: i64,
    ) -> anyhow::Result<Rows> {
        let mut found = Rows::new();
        let values = |row: &rusqlite::Row<'_>| {
            (0..per.len())
                .map(|i| row.get::<_, Option<f64>>(i + 2))
                .collect::<rusqlite::Result<Vec<_>>>()
        };
        let rolled = self.rolled_up_until;
        let mut statement = self.db.prepare(minutes)?;
        let mut rows = statement.query(params![from, to.min(rolled)])?;
        while let Some(row) = rows.next()? {
            found
                .entry(row.get(1)?)
                .or_default()
                .push((row.get(0)?, values(row)?));
        }
        let mut statement = self.db.prepare(ticks)?;
        let mut rows = statement.query(params![from.max(rolled), to])?;
        let mut minute = None;
        let mut folded: FnvHashMap<i64, Vec<Option<f64>>> = FnvHashMap::default();
        loop {
            let row = rows.next()?;
            let at = row.map(|r| r.get::<_, i64>(0)).transpose()?;
            let next = at.map(|at| at - at.rem_euclid(STEP));
            if next != minute {
                if let Some(minute) = minute {
                    for (key, values) in folded.drain() {
                        found.entry(key).or_default().push((minute, values));
                    }
                }
                minute = next;
            }
            let Some(row) = row else { break };
            let values = values(row)?;
            match folded.entry(row.get(1)?) {
                Entry::Vacant(entry) => {
                    entry.insert(values);
                }
                Entry::Occupied(mut entry) => {
                    for ((mine, value), per) in entry.get_mut().iter_mut().zip(values).zip(per) {
                        *mine = per.of(*mine, value);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The event's data over `[from, to)` (rounded out to whole minutes). `names` gives the
    /// zones' names for people by id (else the id is shown); `venue` is the venue's name.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn event_data(
        &self,
        from: i64,
        to: i64,
        limits: &Limits,
        names: &BTreeMap<String, String>,
        venue: &str,
    ) -> anyhow::Result<EventData> {
        let from = from - from.rem_euclid(STEP);
        let steps = usize::try_from((to - from + STEP - 1) / STEP)
            .unwrap_or(0)
            .max(1);
        let to = from + steps as i64 * STEP;
        let per_step =
            |rows: &[(i64, Vec<Option<f64>>)], column: usize, worst: fn(f64, f64) -> f64| {
                let mut series: Series = vec![None; steps];
                for (minute, values) in rows {
                    let Some(value) = values.get(column).copied().flatten() else {
                        continue;
                    };
                    let Ok(i) = usize::try_from((minute - from) / STEP) else {
                        continue;
                    };
                    if let Some(cell) = series.get_mut(i) {
                        *cell = Some(cell.map_or(value, |c| worst(c, value)));
                    }
                }
                series
            };
        let last = |rows: &[(i64, Vec<Option<f64>>)], column: usize| {
            rows.iter()
                .filter_map(|(_, v)| v.get(column).copied().flatten())
                .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
        };
        let mut data = EventData {
            venue: venue.to_string(),
            from,
            step: STEP,
            steps,
            tick: self.tick_seconds.round() as i64,
            ..EventData::default()
        };

        // Devices at the tick of the minute with the most devices in the venue, so that the
        // zones add up to the venue (a device moving between zones is counted once).
        let zones = self.rows(
            "SELECT at, zone, clients_at_peak, randomized_at_peak FROM zone_minutes \
             WHERE at >= ?1 AND at < ?2",
            "SELECT z.at, z.zone, z.clients, z.randomized FROM zone_ticks z \
             JOIN (SELECT max(clients), at FROM venue_ticks WHERE at >= ?1 AND at < ?2 \
             GROUP BY at - at % 60) v ON z.at = v.at ORDER BY z.at",
            &[Per::Max, Per::Max],
            from,
            to,
        )?;
        // Status, seats, stations on 2.4, 5 and 6 GHz, and the zone's own devices at their
        // highest.
        let states = self.rows(
            "SELECT at, zone, status, seats, stations_2_4ghz_max, stations_5ghz_max, \
             stations_6ghz_max, clients_max FROM zone_minutes WHERE at >= ?1 AND at < ?2",
            "SELECT at, zone, status, seats, stations_2_4ghz, stations_5ghz, stations_6ghz, \
             clients FROM zone_ticks WHERE at >= ?1 AND at < ?2 ORDER BY at",
            &[Per::Max; 6],
            from,
            to,
        )?;
        for (zone, state) in &states {
            let rows = zones.get(zone).map_or(&[][..], Vec::as_slice);
            let Some(id) = self.name(Some(*zone as f64)) else {
                continue;
            };
            let zone_bands = ["2.4", "5", "6"]
                .iter()
                .enumerate()
                .map(|(i, band)| BandSeries {
                    band: band.to_string(),
                    devices: per_step(state, 2 + i, f64::max),
                })
                .filter(|band| band.devices.iter().any(Option::is_some))
                .collect();
            data.zones.push(ZoneData {
                name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
                seats: last(state, 1).map(|s| s as u32),
                uplink_critical: limits.uplink(Some(&id)),
                occupancy_warn: limits.occupancy(&id),
                devices: per_step(state, 5, f64::max),
                devices_at_venue_peak: per_step(rows, 0, f64::max),
                randomized: per_step(rows, 1, f64::max),
                status: per_step(state, 0, f64::max),
                bands: zone_bands,
                id,
            });
        }

        let interfaces = self.rows(
            "SELECT at, interface, up_min, speed_bps, rx_bytes, tx_bytes, zone, ticks \
             FROM interface_minutes WHERE at >= ?1 AND at < ?2",
            "SELECT at, interface, up, speed_bps, rx_bytes, tx_bytes, zone, 1 \
             FROM interface_ticks WHERE at >= ?1 AND at < ?2 ORDER BY at",
            &[Per::Min, Per::Max, Per::Sum, Per::Sum, Per::Max, Per::Sum],
            from,
            to,
        )?;
        for (interface, rows) in &interfaces {
            let Some(name) = self.name(Some(*interface as f64)) else {
                continue;
            };
            let zone = self.name(last(rows, 4));
            let speed = per_step(rows, 1, f64::max);
            // A minute's bytes are those counted since each of its ticks' previous tick: a
            // minute of 5 s ticks holds 60 s of them, one tick of a 5-minute tick 300 s. Never
            // less than the minute: ticks the agent skipped under load leave their bytes to
            // the next.
            let seconds: Vec<Option<f64>> = per_step(rows, 5, |a, b| a + b)
                .iter()
                .map(|ticks| ticks.map(|t| (t * self.tick_seconds).max(STEP as f64)))
                .collect();
            let utilization = |bytes: &Series| -> Series {
                bytes
                    .iter()
                    .zip(&speed)
                    .zip(&seconds)
                    .map(|((b, s), t)| {
                        let (b, s, t) = (b.as_ref()?, s.filter(|s| *s > 0.0)?, t.as_ref()?);
                        Some(b * 8.0 / (s * t))
                    })
                    .collect()
            };
            let (rx, tx) = (
                per_step(rows, 2, |a, b| a + b),
                per_step(rows, 3, |a, b| a + b),
            );
            data.interfaces.push(InterfaceData {
                name,
                uplink_critical: limits.uplink(zone.as_deref()),
                zone,
                utilization_rx: utilization(&rx),
                utilization_tx: utilization(&tx),
                rx_bytes: rx,
                tx_bytes: tx,
                up: per_step(rows, 0, f64::min),
            });
        }

        let pools = self.rows(
            "SELECT at, pool, leases_max, size, zone FROM pool_minutes \
             WHERE at >= ?1 AND at < ?2",
            "SELECT at, pool, leases, size, zone FROM pool_ticks WHERE at >= ?1 AND at < ?2 \
             ORDER BY at",
            &[Per::Max, Per::Max, Per::Max],
            from,
            to,
        )?;
        for (pool, rows) in &pools {
            let Some(name) = self.name(Some(*pool as f64)) else {
                continue;
            };
            data.pools.push(PoolData {
                name,
                zone: self.name(last(rows, 2)),
                leases: per_step(rows, 0, f64::max),
                size: per_step(rows, 1, f64::max),
            });
        }

        let sources = self.rows(
            "SELECT at, source, up_min FROM source_minutes WHERE at >= ?1 AND at < ?2",
            "SELECT at, source, up FROM source_ticks WHERE at >= ?1 AND at < ?2 ORDER BY at",
            &[Per::Min],
            from,
            to,
        )?;
        for (source, rows) in &sources {
            let Some(name) = self.name(Some(*source as f64)) else {
                continue;
            };
            let (kind, instance) = name.split_once('/').unwrap_or((name.as_str(), ""));
            data.sources.push(SourceData {
                source: kind.to_string(),
                instance: instance.to_string(),
                up: per_step(rows, 0, f64::min),
            });
        }

        let buckets: Vec<String> = (0..=TIME_TO_LEASE_BUCKETS.len())
            .map(|i| format!("ttl{i}"))
            .collect();
        let captures = self.rows(
            &format!(
                "SELECT at, capture, {} FROM capture_minutes WHERE at >= ?1 AND at < ?2",
                buckets.join(", ")
            ),
            &format!(
                "SELECT at, capture, {} FROM capture_ticks WHERE at >= ?1 AND at < ?2 \
                 ORDER BY at",
                buckets.join(", ")
            ),
            &vec![Per::Sum; buckets.len()],
            from - STEP * (TIME_TO_LEASE_MINUTES as i64 - 1),
            to,
        )?;
        for (capture, rows) in &captures {
            let Some(interface) = self.name(Some(*capture as f64)) else {
                continue;
            };
            data.captures.push(CaptureData {
                interface,
                time_to_lease_p95: time_to_lease_p95(rows, from, steps),
                slow: limits.time_to_lease_warn,
            });
        }

        let devices = crate::history::store::unique_devices(
            &self.db,
            &[],
            from.max(0).unsigned_abs(),
            (to - 1).max(0).unsigned_abs(),
        )?;
        if !data.zones.is_empty() {
            data.unique = Some(UniqueDevices::with_share(devices, &data.zones));
        }
        Ok(data)
    }
}

/// Per step, the 95th percentile of the DISCOVER→ACK times counted in the last
/// [`TIME_TO_LEASE_MINUTES`] minutes (`rows`: per minute, the counts of each bucket).
fn time_to_lease_p95(rows: &[(i64, Vec<Option<f64>>)], from: i64, steps: usize) -> Series {
    let mut per_minute: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
    for (minute, counts) in rows {
        let mine = per_minute
            .entry(*minute)
            .or_insert_with(|| vec![0; counts.len()]);
        for (m, c) in mine.iter_mut().zip(counts) {
            *m += c.map_or(0, |c| c.max(0.0) as u64);
        }
    }
    (0..steps)
        .map(|i| {
            let minute = from + STEP * i as i64;
            let window = minute - STEP * (TIME_TO_LEASE_MINUTES as i64 - 1)..=minute;
            let mut histogram = Histogram::new(&TIME_TO_LEASE_BUCKETS);
            for counts in per_minute.range(window).map(|(_, c)| c) {
                for (h, c) in histogram.counts.iter_mut().zip(counts) {
                    *h += c;
                }
            }
            histogram.count = histogram.counts.iter().sum();
            histogram.quantile(0.95)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_to_lease_looks_back_five_minutes() {
        let mut counts = vec![None; TIME_TO_LEASE_BUCKETS.len() + 1];
        counts[0] = Some(10.0);
        let rows = vec![(0, counts.clone()), (60, vec![None; counts.len()])];
        let p95 = time_to_lease_p95(&rows, 0, 7);
        assert!(p95[0].is_some_and(|p| p <= TIME_TO_LEASE_BUCKETS[0]));
        assert!(p95[4].is_some());
        assert_eq!(p95[5], None, "the minute at 0 is out of the window at 300");
    }

    #[test]
    fn minute_rows_until_the_roll_up_then_each_minutes_ticks_folded() {
        let db = Connection::open_in_memory().expect("sqlite");
        db.execute_batch(
            "CREATE TABLE t (at INTEGER, k INTEGER, v INTEGER, PRIMARY KEY (at, k)) \
             WITHOUT ROWID;\
             CREATE TABLE m (at INTEGER, k INTEGER, v INTEGER);\
             INSERT INTO m VALUES (0, 1, 9), (60, 1, 100);\
             INSERT INTO t VALUES (0, 1, 1), (60, 1, 2), (65, 1, 4), (65, 2, 7), \
             (120, 1, NULL);",
        )
        .expect("rows");
        let history = History {
            db,
            names: HashMap::new(),
            rolled_up_until: 60,
            tick_seconds: 5.0,
        };
        let rows = |per| {
            history
                .rows(
                    "SELECT at, k, v FROM m WHERE at >= ?1 AND at < ?2",
                    "SELECT at, k, v FROM t WHERE at >= ?1 AND at < ?2 ORDER BY at",
                    &[per],
                    0,
                    180,
                )
                .expect("read")
        };
        let highest = rows(Per::Max);
        assert_eq!(
            highest[&1],
            [
                (0, vec![Some(9.0)]),
                (60, vec![Some(4.0)]),
                (120, vec![None])
            ],
            "minute 0 from its minute row, the rest from ticks"
        );
        assert_eq!(highest[&2], [(60, vec![Some(7.0)])]);
        assert_eq!(rows(Per::Min)[&1][1], (60, vec![Some(2.0)]));
        assert_eq!(rows(Per::Sum)[&1][1], (60, vec![Some(6.0)]));
    }

    /// Regression: a report from a history alone showed the zones by id (`main-hall`) and
    /// times in UTC, though the agent that wrote it knew their names and the venue's clock.
    #[test]
    fn zones_and_the_clock_are_as_the_agent_that_wrote_the_history_knew_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.sqlite");
        let mut snapshot = crate::history::testing::live_simulated();
        snapshot.timezone = "America/Toronto".into();
        crate::history::testing::write(&path, std::slice::from_ref(&snapshot));
        let history = History::open(&path).expect("opens");
        let names = history.zone_names();
        assert_eq!(
            names.get("main-hall").map(String::as_str),
            Some("Main hall")
        );
        assert_eq!(names.len(), snapshot.zones.len());
        assert_eq!(
            history.time_zone(),
            jiff::tz::TimeZone::get("America/Toronto").ok()
        );
        // The report from that history alone is on Toronto's clock.
        let out = dir.path().join("report.html");
        crate::report::run::run(&crate::report::run::Options {
            out: out.clone(),
            history: Some(path),
            ..crate::report::run::Options::default()
        })
        .expect("report");
        let html = std::fs::read_to_string(out).expect("html");
        assert!(
            html.contains("All times are Toronto time (UTC−4)."),
            "{html}"
        );
        assert!(html.contains("<h3>Main hall</h3>"), "{html}");
    }

    /// Regression: a minute's bytes were divided by 60 s whatever the tick, so at a 5-minute
    /// tick the busiest link showed 495 % of its speed.
    #[test]
    fn link_utilization_holds_at_a_tick_longer_than_a_minute() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = crate::history::testing::quick_event(dir.path());
        let (history, truth) = (out.history.expect("history"), out.truth.expect("truth"));
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(truth).expect("truth")).expect("json");
        let highest = truth["minutes"]
            .as_array()
            .expect("minutes")
            .iter()
            .filter_map(|m| m["uplink_bp"].as_f64())
            .fold(0.0, f64::max)
            / 10_000.0;
        let history = History::open(&history).expect("opens");
        let (from, to) = history.span().expect("span").expect("data");
        let limits = crate::report::run::limits(None);
        let data = history
            .event_data(from, to, &limits, &BTreeMap::new(), "venue")
            .expect("reads");
        let uplink = data
            .interfaces
            .iter()
            .find(|i| i.name == "uplink0")
            .expect("uplink");
        let busiest = uplink
            .utilization_tx
            .iter()
            .chain(&uplink.utilization_rx)
            .flatten()
            .fold(0.0, |a: f64, b| a.max(*b));
        assert!(
            (0.9..=highest + 1e-3).contains(&busiest),
            "busiest {busiest}, the simulation's highest {highest}"
        );
        // Each tick's bytes over its 300 s, exactly, but the first tick's (the agent has no
        // earlier reading to count from).
        let tick = truth["tick_seconds"].as_f64().expect("tick");
        let speed = truth["interfaces"][0]["speed_bps"].as_f64().expect("speed");
        assert_eq!(truth["interfaces"][0]["name"], "uplink0");
        let minutes = truth["minutes"].as_array().expect("minutes");
        for m in minutes.iter().skip(1) {
            let at = m["at"].as_i64().expect("at");
            let step = data.steps_within(at, at + 1).start;
            for (bytes, series) in [
                (&m["rx_bytes"][0], &uplink.utilization_rx),
                (&m["tx_bytes"][0], &uplink.utilization_tx),
            ] {
                let want = bytes.as_f64().expect("bytes") * 8.0 / (speed * tick);
                assert_eq!(series[step], Some(want), "at {at}");
            }
        }
    }

    /// Regression: a room's devices per minute were its count at the venue's busiest tick,
    /// under the room's own highest when people walked between rooms within the minute.
    /// A simulated day at 30 s ticks (two a minute), read from the minute rows and from
    /// ticks not rolled up yet, against the tick rows' own highest per room and minute, and
    /// the venue's.
    #[test]
    fn a_rooms_devices_are_its_own_highest_and_the_rooms_add_up_to_the_venue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("event.sqlite");
        let options = crate::simulate::Options {
            tick: std::time::Duration::from_secs(30),
            ..crate::history::testing::options()
        };
        let out = crate::simulate::Outputs {
            history: Some(path.clone()),
            ..crate::simulate::Outputs::default()
        };
        crate::simulate::run(&options, &out).expect("simulates");
        let db = Connection::open(&path).expect("writable");
        let highest = |sql: &str| -> BTreeMap<(String, i64), f64> {
            let mut statement = db.prepare(sql).expect("query");
            let rows = statement
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                .expect("rows");
            rows.collect::<rusqlite::Result<_>>().expect("read")
        };
        let rooms = highest(
            "SELECT n.name, z.at - z.at % 60, max(z.clients) FROM zone_ticks z \
             JOIN names n ON n.id = z.zone GROUP BY 1, 2",
        );
        let venue =
            highest("SELECT 'venue', at - at % 60, max(clients) FROM venue_ticks GROUP BY 2");
        let limits = crate::report::run::limits(None);
        let check = |what: &str| {
            let history = History::open(&path).expect("opens");
            let (from, to) = history.span().expect("span").expect("data");
            let data = history
                .event_data(from, to, &limits, &BTreeMap::new(), "venue")
                .expect("reads");
            assert_eq!(data.zones.len(), 4);
            let index = |at: i64| usize::try_from((at - from) / STEP).expect("in the period");
            let mut walked = 0;
            for ((room, at), own) in &rooms {
                let zone = data.zones.iter().find(|z| &z.id == room).expect("room");
                let i = index(*at);
                assert_eq!(zone.devices[i], Some(*own), "{what}: {room} at {at}");
                let at_peak = zone.devices_at_venue_peak[i].expect("at the venue's peak");
                walked += usize::from(at_peak < *own);
            }
            assert!(
                walked > 0,
                "{what}: no room was busier than at the venue's peak"
            );
            for ((_, at), devices) in &venue {
                let i = index(*at);
                let rooms: f64 = data
                    .zones
                    .iter()
                    .filter_map(|z| z.devices_at_venue_peak[i])
                    .sum();
                assert_eq!(
                    rooms, *devices,
                    "{what}: the rooms add up to the venue at {at}"
                );
            }
        };
        check("minute rows");
        // The second half as the agent leaves it while it writes: tick rows only.
        let (first, last): (i64, i64) = db
            .query_row("SELECT min(at), max(at) FROM zone_minutes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("minutes");
        let half = (first + last) / 2;
        db.execute(
            "UPDATE meta SET value = ?1 WHERE key = ?2",
            params![
                (half - half.rem_euclid(STEP)).to_string(),
                crate::history::ROLLED_UP_UNTIL
            ],
        )
        .expect("rolled up until half");
        check("ticks");
    }

    #[test]
    fn only_sqlite_files_are_taken_for_histories() {
        assert!(is_sqlite(b"SQLite format 3\0\x10\x00"));
        assert!(!is_sqlite(b"{\"venuemon_report\": 1}"));
    }

    #[test]
    fn a_file_that_is_not_a_history_is_refused_with_what_to_give() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("other.sqlite");
        Connection::open(&path)
            .and_then(|db| db.execute_batch("CREATE TABLE t (x)"))
            .expect("sqlite");
        let error = History::open(&path).err().expect("refused").to_string();
        assert!(error.contains("not a venuemon history"), "{error}");
        let error = History::open(dir.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(error.contains("--history FILE"), "{error}");
    }

    /// Regression: every error SQLite gave was hidden as "not a venuemon history".
    #[test]
    fn regression_sqlites_error_is_said_not_hidden_as_not_a_history() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("damaged.sqlite");
        Connection::open(&path)
            .and_then(|db| db.execute_batch("CREATE TABLE meta (key TEXT, value TEXT)"))
            .expect("sqlite");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[100..512].fill(0xff);
        std::fs::write(&path, bytes).expect("damaged");
        let error = format!("{:#}", History::open(&path).err().expect("refused"));
        assert_eq!(
            error,
            format!(
                "cannot read the history {} (SQLite: database disk image is malformed): give \
                 the agent's history file (--history FILE, or --config with [history])",
                path.display()
            )
        );
    }
}
