//! The SQLite file: opened in WAL mode, one transaction per batch of ticks, each snapshot
//! turned into rows of the tables `schema` describes, counters stored as what changed since
//! the previous tick, and hourly unique-device sketches per zone.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, params, params_from_iter};

use super::config::HistoryConfig;
use super::schema::{self, Table};
use crate::hub::capture::TIME_TO_LEASE_BUCKETS;
use crate::hub::snapshot::{ReasonKind, Snapshot, Status};
use crate::model::access_points::Band;
use crate::model::capture::DHCP_TYPES;
use crate::model::unique::UniqueEstimate;

/// The writer's page cache, KiB.
const CACHE_KIB: u32 = 512;

/// Why the history could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite refused: the disk is full, the file is read-only, corrupt, locked...
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The folder the file goes in could not be created.
    #[error("cannot create the history's folder: {0}")]
    Folder(std::io::Error),
    /// Something other than a regular file is at the path (a FIFO, a directory...): what it is.
    #[error("{0}")]
    NotRegular(String),
    /// The file holds another schema.
    #[error(
        "the history file has schema version {found}, this venuemon writes version {}: move \
         the file away or set [history] path to another file",
        schema::VERSION
    )]
    Version {
        /// The version the file holds.
        found: String,
    },
}

/// Every `kind` of [`HistoryError::kind`], for the error counter's rows.
pub const ERROR_KINDS: [&str; 8] = [
    "disk_full",
    "read_only",
    "cannot_open",
    "corrupt",
    "locked",
    "io",
    "version",
    "other",
];

impl HistoryError {
    /// The bounded cause, the `kind` label of `venuemon_history_write_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            HistoryError::Sqlite(e) => match e.sqlite_error_code() {
                Some(ErrorCode::DiskFull) => "disk_full",
                Some(ErrorCode::ReadOnly) => "read_only",
                Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => "cannot_open",
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => "corrupt",
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => "locked",
                Some(ErrorCode::SystemIoFailure) => "io",
                _ => "other",
            },
            HistoryError::Folder(e) => match e.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    "read_only"
                }
                _ => "cannot_open",
            },
            HistoryError::Version { .. } => "version",
            HistoryError::NotRegular(_) => "cannot_open",
        }
    }
}

/// An integer cell, or what a counter totals now (turned into a change since last tick).
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    /// Stored as it is.
    Level(Option<i64>),
    /// A counter's total: the row holds its change since the previous tick.
    Total(Option<u64>),
    /// A name of a kind of `names` (a zone, a reason's subject): the row holds its id.
    Name(&'static str, Option<&'a str>),
}

/// One row: its table, what it is about (a name of the table's key kind), its cells.
struct Row<'a> {
    table: &'static Table,
    key: Option<String>,
    cells: Vec<Cell<'a>>,
}

/// The open history file and what writing the next tick needs to remember.
pub struct Store {
    db: Connection,
    retention: Duration,
    downsample_after: Duration,
    /// `names` ids by kind, then name.
    names: HashMap<&'static str, HashMap<String, i64>>,
    /// Each table's insert statement, by table name.
    inserts: HashMap<&'static str, String>,
    /// Counter totals at the previous tick, by (table, key id), in column order.
    totals: HashMap<(&'static str, i64), Vec<Option<u64>>>,
    /// A hash of the last sketch written per (hour, zone id): 8 bytes where the sketch
    /// takes up to 4 KB.
    written: HashMap<(u64, i64), u64>,
    /// The previous tick's time and sketches, written once its minute is over.
    pending: Option<(u64, Sketches)>,
    /// The hour the last retention and downsampling pass ran in.
    maintained: Option<u64>,
    /// Every tick row before this (Unix seconds, a whole minute) is in a minute row too
    /// (`meta`'s [`schema::ROLLED_UP_UNTIL`]).
    rolled_up_until: i64,
}

/// Each zone's (by `names` id) sketch of the hour.
type Sketches = Vec<(i64, Arc<UniqueEstimate>)>;

/// Seconds in an hour.
const HOUR: u64 = 3_600;

fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A ratio in basis points (1/10 000).
fn basis_points(ratio: Option<f64>) -> Option<i64> {
    ratio.map(|r| (r * 10_000.0).round() as i64)
}

/// The zone's reasons as bits: `2k` warn (or unknown, for a source down or no source),
/// `2k + 1` critical, `k` the reason kind.
fn reason_bits(reasons: &[crate::hub::snapshot::Reason]) -> i64 {
    reasons
        .iter()
        .map(|r| {
            let k = reason_code(r.kind);
            match r.status {
                Status::Ok => 0,
                Status::Warn | Status::Unknown => 1 << (2 * k),
                Status::Critical => 1 << (2 * k + 1),
            }
        })
        .fold(0, |a, b| a | b)
}

/// A reason's kind as stored: its position in `ReasonKind::ALL`.
fn reason_code(kind: ReasonKind) -> usize {
    ReasonKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("ReasonKind::ALL lists every kind")
}

/// A reason's value as stored: ratios in basis points, seconds in milliseconds, a count of
/// instances as it is.
fn reason_value(reason: &crate::hub::snapshot::Reason) -> i64 {
    match reason.kind {
        ReasonKind::DhcpPool | ReasonKind::Uplink | ReasonKind::Occupancy => {
            basis_points(Some(reason.value)).unwrap_or(0)
        }
        ReasonKind::TimeToLease => (reason.value * 1_000.0).round() as i64,
        ReasonKind::SourceDown | ReasonKind::NoSource => reason.value.round() as i64,
    }
}

fn band_code(band: Band) -> i64 {
    match band {
        Band::Unknown => 0,
        Band::Ghz2_4 => 1,
        Band::Ghz5 => 2,
        Band::Ghz6 => 3,
    }
}

/// The rows of one snapshot.
fn rows<'a>(s: &'a Snapshot) -> Vec<Row<'a>> {
    use Cell::{Level, Name, Total};
    let zone = |id: Option<&'a str>| Name("zone", id);
    let level = |v: u64| Level(Some(int(v)));
    let some = |v: Option<u64>| Level(v.map(int));
    let mut rows = vec![Row {
        table: &schema::VENUE,
        key: None,
        cells: vec![
            level(s.zones.iter().map(|z| z.clients).sum()),
            Level(Some(s.unique_clients_estimate.round() as i64)),
            Level(Some(s.status.value())),
        ],
    }];
    // The stations of each zone's access points per band, where it has any: one pass over
    // the access points, not one per zone and band.
    let mut stations: HashMap<(&str, i64), u64> = HashMap::new();
    for a in &s.aps {
        if let Some(zone) = a.zone.as_deref() {
            *stations.entry((zone, band_code(a.band))).or_default() += a.stations;
        }
    }
    for z in &s.zones {
        let on = |band: Band| stations.get(&(z.id.as_str(), band_code(band))).copied();
        rows.push(Row {
            table: &schema::ZONE,
            key: Some(z.id.clone()),
            cells: vec![
                level(z.clients),
                level(z.clients_randomized),
                some(z.stations),
                level(z.aps),
                some(z.seats.map(u64::from)),
                Level(Some(z.status.value())),
                Level(Some(reason_bits(&z.reasons))),
                Level(basis_points(z.uplink_utilization)),
                Level(z.rx_bps.map(|b| b.round() as i64)),
                Level(z.tx_bps.map(|b| b.round() as i64)),
                some(z.pool_leases),
                some(z.pool_size),
                Level(z.time_to_lease_p95.map(|t| (t * 1_000.0).round() as i64)),
                some(on(Band::Ghz2_4)),
                some(on(Band::Ghz5)),
                some(on(Band::Ghz6)),
            ],
        });
        for r in &z.reasons {
            let k = reason_code(r.kind);
            rows.push(Row {
                table: &schema::REASON,
                key: Some(format!("{}/{k}/{}", z.id, r.subject)),
                cells: vec![
                    zone(Some(z.id.as_str())),
                    level(k as u64),
                    Name(
                        "subject",
                        Some(r.subject.as_str()).filter(|s| !s.is_empty()),
                    ),
                    Level(Some(r.status.value())),
                    Level(Some(reason_value(r))),
                ],
            });
        }
        for (source, clients) in &z.clients_by_source {
            rows.push(Row {
                table: &schema::ZONE_SOURCE,
                key: Some(format!("{}/{source}", z.id)),
                cells: vec![level(*clients)],
            });
        }
    }
    for a in &s.aps {
        rows.push(Row {
            table: &schema::AP,
            key: Some(a.ap.clone()),
            cells: vec![
                zone(a.zone.as_deref()),
                Level(Some(band_code(a.band))),
                Level(Some(i64::from(a.present))),
                level(a.stations),
                Level(basis_points(a.channel_utilization)),
                Total(Some(a.events.connects)),
                Total(Some(a.events.disconnects)),
                Total(Some(a.events.auth_failures)),
            ],
        });
    }
    for i in &s.interfaces {
        let c = &i.counters;
        let mut cells = vec![
            zone(i.zone.as_deref()),
            Level(Some(i64::from(i.up))),
            some(i.speed_bps),
            Level(basis_points(i.utilization)),
        ];
        cells.extend(
            [
                c.rx_bytes,
                c.tx_bytes,
                c.rx_packets,
                c.tx_packets,
                c.rx_errors,
                c.tx_errors,
                c.rx_drops,
                c.tx_drops,
            ]
            .map(|v| Total(Some(v))),
        );
        rows.push(Row {
            table: &schema::INTERFACE,
            key: Some(i.name.clone()),
            cells,
        });
    }
    for p in &s.pools {
        rows.push(Row {
            table: &schema::POOL,
            key: Some(p.name.clone()),
            cells: vec![
                zone(p.zone.as_deref()),
                some(p.leases_active),
                some(p.size),
                Total(p.statistics.map(|s| s.allocation_failures)),
            ],
        });
    }
    for c in &s.captures {
        let mut cells = vec![zone(c.zone.as_deref())];
        // The table's order, then `other`.
        for name in DHCP_TYPES.iter().skip(1).chain(DHCP_TYPES.first()) {
            cells.push(Total(Some(c.dhcp_messages.get(name).copied().unwrap_or(0))));
        }
        cells.push(Total(Some(c.dhcp_unanswered_discovers)));
        let counts = &c.dhcp_time_to_lease_seconds.counts;
        for bucket in 0..=TIME_TO_LEASE_BUCKETS.len() {
            cells.push(Total(counts.get(bucket).copied()));
        }
        cells.extend([c.frames, c.bytes, c.kernel_dropped].map(|v| Total(Some(v))));
        rows.push(Row {
            table: &schema::CAPTURE,
            key: Some(c.interface.clone()),
            cells,
        });
    }
    for source in &s.sources {
        rows.push(Row {
            table: &schema::SOURCE,
            key: Some(format!("{}/{}", source.source, source.instance)),
            cells: vec![
                Level(Some(i64::from(source.up))),
                Total(Some(source.errors.values().sum())),
            ],
        });
    }
    rows
}

impl Store {
    /// Opens (creating it and its folder if need be) the history at `path`, in WAL mode
    /// with `synchronous=NORMAL`: a commit is in the WAL, in the kernel's page cache, when
    /// `write` returns, so a killed process loses no committed tick (only a power cut can
    /// lose the last ones, which `NORMAL` does not sync).
    ///
    /// # Errors
    /// The folder or file cannot be created or opened, or the file is not a history of this
    /// version.
    pub fn open(
        path: &Path,
        config: &HistoryConfig,
        snapshot: &Snapshot,
    ) -> Result<Store, HistoryError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(HistoryError::Folder)?;
        }
        // SQLite would say "disk I/O error" for a FIFO and "unable to open" for a directory.
        if let Err(e) = crate::files::open_regular(path)
            && let Some(what) = crate::files::not_regular(&e)
        {
            return Err(HistoryError::NotRegular(what.to_string()));
        }
        let db = Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(1))?;
        // journal_mode answers with the mode it is in (a read-only file cannot leave
        // `delete`): the first write says what is wrong.
        let _: String = db.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // The writer appends at the end of each table's B-tree and rolls up the last minute:
        // a small page cache holds what it touches, where SQLite's default (2 MB) fills up
        // with pages it will not read again (docs/PERFORMANCE.md, "History").
        db.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{CACHE_KIB};"
        ))?;
        db.execute_batch("BEGIN")?;
        let created = db.execute_batch(&schema::create()).and_then(|()| {
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?1)",
                [schema::VERSION],
            )?;
            let bounds: Vec<String> = TIME_TO_LEASE_BUCKETS.iter().map(f64::to_string).collect();
            let zone_names: std::collections::BTreeMap<&str, &str> = snapshot
                .zones
                .iter()
                .map(|z| (z.id.as_str(), z.name.as_str()))
                .collect();
            for (key, value) in [
                ("venue", snapshot.venue.clone()),
                ("event", snapshot.event.clone()),
                ("timezone", snapshot.timezone.clone()),
                (
                    "zone_names",
                    serde_json::to_string(&zone_names).unwrap_or_default(),
                ),
                ("tick_seconds", snapshot.tick_seconds.to_string()),
                ("time_to_lease_bounds_seconds", bounds.join(",")),
            ] {
                db.execute("INSERT OR REPLACE INTO meta VALUES (?1, ?2)", [key, &value])?;
            }
            db.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
        });
        let found = match created {
            Ok(found) => found,
            Err(e) => {
                let _ = db.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        };
        if found != schema::VERSION {
            let upgraded = if schema::UPGRADES_FROM.contains(&found.as_str()) {
                upgrade(&db)
            } else {
                let _ = db.execute_batch("ROLLBACK");
                return Err(HistoryError::Version { found });
            };
            if let Err(e) = upgraded {
                let _ = db.execute_batch("ROLLBACK");
                return Err(e.into());
            }
            tracing::info!(
                from = %found,
                to = schema::VERSION,
                "history file upgraded to this version's schema"
            );
        }
        let rolled_up_until = db
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [schema::ROLLED_UP_UNTIL],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        db.execute_batch("COMMIT")?;
        Ok(Store {
            db,
            retention: config.retention,
            downsample_after: config.downsample_after,
            names: HashMap::new(),
            inserts: schema::TABLES
                .iter()
                .map(|t| (t.name, schema::insert(t)))
                .collect(),
            totals: HashMap::new(),
            written: HashMap::new(),
            pending: None,
            maintained: None,
            rolled_up_until,
        })
    }

    /// Starts a transaction: the ticks [`Store::add`]ed until [`Store::commit`] are written
    /// together, or, after an error, none of them ([`Store::rollback`]).
    ///
    /// # Errors
    /// SQLite cannot start it (the file is locked, or gone bad).
    pub fn begin(&mut self) -> Result<(), HistoryError> {
        Ok(self.db.execute_batch("BEGIN")?)
    }

    /// Writes one tick's snapshot (ticks in time order) into the transaction.
    ///
    /// # Errors
    /// SQLite cannot write (disk full, read-only file, I/O error): roll back, drop the
    /// store and open it again later.
    pub fn add(&mut self, snapshot: &Snapshot) -> Result<(), HistoryError> {
        Ok(self.tick(snapshot)?)
    }

    /// Commits the transaction.
    ///
    /// # Errors
    /// As [`Store::add`].
    pub fn commit(&mut self) -> Result<(), HistoryError> {
        Ok(self.db.execute_batch("COMMIT")?)
    }

    /// Undoes the transaction after an error (which may have undone it already).
    pub fn rollback(&mut self) {
        let _ = self.db.execute_batch("ROLLBACK");
    }

    /// Writes the last sketches and checkpoints the WAL into the file (which SQLite then
    /// removes with the last connection).
    ///
    /// # Errors
    /// As [`Store::write`].
    pub fn close(mut self) -> Result<(), HistoryError> {
        self.db.execute_batch("BEGIN")?;
        if let Some((at, sketches)) = self.pending.take() {
            self.sketches(at, &sketches)?;
        }
        self.db.execute_batch("COMMIT")?;
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    fn name(&mut self, kind: &'static str, name: &str) -> rusqlite::Result<i64> {
        if let Some(id) = self.names.get(kind).and_then(|n| n.get(name)) {
            return Ok(*id);
        }
        let db = &self.db;
        db.prepare_cached("INSERT OR IGNORE INTO names (kind, name) VALUES (?1, ?2)")?
            .execute(params![kind, name])?;
        let id = db
            .prepare_cached("SELECT id FROM names WHERE kind = ?1 AND name = ?2")?
            .query_row(params![kind, name], |r| r.get(0))?;
        self.names
            .entry(kind)
            .or_default()
            .insert(name.to_string(), id);
        Ok(id)
    }

    fn tick(&mut self, s: &Snapshot) -> rusqlite::Result<()> {
        let at = s.generated_at;
        self.roll_up(at)?;
        self.maintain(at)?;
        let at_cell = int(at);
        let mut values: Vec<Option<i64>> = Vec::with_capacity(32);
        for row in rows(s) {
            values.clear();
            values.push(Some(at_cell));
            let mut key_id = 0;
            if let (Some(kind), Some(key)) = (row.table.key, &row.key) {
                key_id = self.name(kind, key)?;
                values.push(Some(key_id));
            }
            let now: Vec<Option<u64>> = row
                .cells
                .iter()
                .filter_map(|c| match c {
                    Cell::Total(t) => Some(*t),
                    _ => None,
                })
                .collect();
            let before = if now.is_empty() {
                None
            } else {
                self.totals.insert((row.table.name, key_id), now.clone())
            };
            let mut total = 0;
            for cell in &row.cells {
                values.push(match cell {
                    Cell::Level(v) => *v,
                    Cell::Name(kind, name) => match name {
                        Some(name) => Some(self.name(kind, name)?),
                        None => None,
                    },
                    Cell::Total(_) => {
                        let then = before
                            .as_ref()
                            .and_then(|b| b.get(total).copied().flatten());
                        let current = now.get(total).copied().flatten();
                        total += 1;
                        match (then, current) {
                            // A total lower than before is a counter that restarted.
                            (Some(then), Some(current)) => {
                                Some(int(current.checked_sub(then).unwrap_or(current)))
                            }
                            _ => None,
                        }
                    }
                });
            }
            let insert = self.inserts.get(row.table.name).map_or("", String::as_str);
            self.db
                .prepare_cached(insert)?
                .execute(params_from_iter(values.iter()))?;
        }
        // Each minute, the sketches as the previous minute ended (an hour's last state
        // included); a kill loses at most a minute of them.
        let mut sketches = Vec::new();
        for z in &s.zones {
            if let Some(sketch) = &z.unique_this_hour {
                sketches.push((self.name("zone", &z.id)?, Arc::clone(sketch)));
            }
        }
        if let Some((then, previous)) = self.pending.take()
            && then / 60 != at / 60
        {
            self.sketches(then, &previous)?;
        }
        self.pending = Some((at, sketches));
        Ok(())
    }

    /// Writes the sketches of tick `at` that changed since they were last written.
    fn sketches(
        &mut self,
        at: u64,
        sketches: &[(i64, Arc<UniqueEstimate>)],
    ) -> rusqlite::Result<()> {
        let hour = at / HOUR;
        for (zone, sketch) in sketches {
            let bytes = sketch.to_bytes();
            let mut hasher = DefaultHasher::new();
            bytes.hash(&mut hasher);
            let hash = hasher.finish();
            if self.written.get(&(hour, *zone)) == Some(&hash) {
                continue;
            }
            self.db
                .prepare_cached("INSERT OR REPLACE INTO zone_hours VALUES (?1, ?2, ?3)")?
                .execute(params![int(hour), zone, bytes])?;
            self.written.insert((hour, *zone), hash);
        }
        self.written.retain(|(h, _), _| *h + 1 >= hour);
        Ok(())
    }

    /// When tick `at` begins a new minute: the minutes before it (since the last it rolled
    /// up) written as minute rows, so that a report over days reads a row per minute.
    /// A clock set back makes the minutes from the new time on read from their ticks
    /// again, and rolled up anew (old ticks and new together) as they end.
    fn roll_up(&mut self, at: u64) -> rusqlite::Result<()> {
        let minute = int(at - at % 60);
        if minute == self.rolled_up_until {
            return Ok(());
        }
        if minute > self.rolled_up_until {
            for table in schema::TABLES {
                self.db
                    .prepare_cached(&schema::rollup(table))?
                    .execute([self.rolled_up_until, minute])?;
            }
        }
        self.db
            .prepare_cached("INSERT OR REPLACE INTO meta VALUES (?1, ?2)")?
            .execute(params![schema::ROLLED_UP_UNTIL, minute.to_string()])?;
        self.rolled_up_until = minute;
        Ok(())
    }

    /// Once an hour (of the snapshots' time): rows past `retention` deleted, tick rows past
    /// `downsample_after` deleted (their minute rows stay).
    fn maintain(&mut self, at: u64) -> rusqlite::Result<()> {
        if self.maintained == Some(at / HOUR) {
            return Ok(());
        }
        self.maintained = Some(at / HOUR);
        let expired = int(at.saturating_sub(self.retention.as_secs()));
        for sql in schema::expire() {
            self.db.prepare_cached(&sql)?.execute([expired])?;
        }
        let cutoff = at.saturating_sub(self.downsample_after.as_secs());
        let cutoff = int(cutoff - cutoff % 60).min(self.rolled_up_until);
        for table in schema::TABLES {
            self.db
                .prepare_cached(&schema::drop_ticks(table))?
                .execute([cutoff])?;
        }
        Ok(())
    }
}

/// Brings a file of an older schema version (its new tables already created) up to this
/// one: the columns its tables lack are added (empty in its older rows), and its version
/// recorded.
fn upgrade(db: &Connection) -> rusqlite::Result<()> {
    for table in schema::TABLES {
        for suffix in schema::SUFFIXES {
            let has: Vec<String> = db
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}_{suffix}')",
                    table.name
                ))?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for sql in schema::add_missing(table, suffix, &has) {
                db.execute_batch(&sql)?;
            }
        }
    }
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [schema::VERSION],
    )?;
    Ok(())
}

/// The unique devices of `zones` (ids; every zone when empty) over the hours from `from` to
/// `to` (Unix seconds, the hours that hold them), merged from the hourly sketches.
///
/// # Errors
/// The file cannot be read, or holds a sketch this venuemon cannot read.
pub fn unique_devices(
    db: &Connection,
    zones: &[&str],
    from: u64,
    to: u64,
) -> rusqlite::Result<f64> {
    let mut merged = UniqueEstimate::default();
    let mut statement = db.prepare(
        "SELECT names.name, sketch FROM zone_hours JOIN names ON names.id = zone_hours.zone \
         WHERE hour BETWEEN ?1 AND ?2",
    )?;
    let mut rows = statement.query(params![int(from / HOUR), int(to / HOUR)])?;
    while let Some(row) = rows.next()? {
        let zone: String = row.get(0)?;
        if !zones.is_empty() && !zones.contains(&zone.as_str()) {
            continue;
        }
        let bytes: Vec<u8> = row.get(1)?;
        let sketch = UniqueEstimate::from_bytes(&bytes).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(1, "sketch".into(), rusqlite::types::Type::Blob)
        })?;
        merged.merge(&sketch);
    }
    Ok(merged.estimate())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testing::capture;

    /// `.cargo/config.toml` leaves out of the bundled SQLite what the history never uses.
    #[test]
    fn the_bundled_sqlite_is_built_without_the_parts_the_history_never_uses() {
        let db = rusqlite::Connection::open_in_memory().expect("sqlite");
        let used = |option: &str| -> bool {
            db.query_row("SELECT sqlite_compileoption_used(?1)", [option], |r| {
                r.get(0)
            })
            .expect("compile option")
        };
        for left_out in [
            "ENABLE_FTS5",
            "ENABLE_FTS3",
            "ENABLE_RTREE",
            "ENABLE_DBSTAT_VTAB",
        ] {
            assert!(!used(left_out), "{left_out} is still built in");
        }
        assert!(used("OMIT_LOAD_EXTENSION"));
        assert!(used("OMIT_JSON"));
    }

    #[test]
    fn each_minute_is_rolled_up_as_it_ends_and_again_after_the_clock_is_set_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.sqlite");
        let snapshot = |at| Snapshot {
            generated_at: at,
            ..Snapshot::default()
        };
        let mut store = Store::open(&path, &HistoryConfig::default(), &snapshot(0)).expect("opens");
        let rolled = |store: &Store| -> (i64, Vec<(i64, i64)>) {
            let until = store.rolled_up_until;
            let minutes = store
                .db
                .prepare("SELECT at, ticks FROM venue_minutes ORDER BY at")
                .expect("minutes")
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            (until, minutes)
        };
        store.begin().expect("begin");
        for at in [120, 125, 185] {
            store.add(&snapshot(at)).expect("writes");
        }
        assert_eq!(
            rolled(&store),
            (180, vec![(120, 2)]),
            "minute 120 ended at 185"
        );
        // The clock goes back into minute 120: it is read from its ticks again, then rolled
        // up with all three of its ticks once the clock leaves it.
        store.add(&snapshot(130)).expect("writes");
        assert_eq!(rolled(&store).0, 120);
        store.add(&snapshot(190)).expect("writes");
        assert_eq!(rolled(&store), (180, vec![(120, 3)]));
        store.commit().expect("commit");
        drop(store);
        let store = Store::open(&path, &HistoryConfig::default(), &snapshot(0)).expect("opens");
        assert_eq!(store.rolled_up_until, 180, "kept in meta");
    }

    #[test]
    fn a_version_1_file_is_upgraded_keeping_its_rows_and_then_takes_the_new_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.sqlite");
        {
            let db = Connection::open(&path).expect("creates");
            db.execute_batch(&crate::history::testing::version_1())
                .expect("version 1 schema");
            db.execute_batch(
                "INSERT INTO meta VALUES ('schema_version', '1');
                 INSERT INTO names VALUES (1, 'capture', 'mon0'), (2, 'zone', 'hall');
                 INSERT INTO capture_ticks VALUES (60, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3,
                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);",
            )
            .expect("a version 1 row");
        }
        let snapshot = |at, frames, unanswered| Snapshot {
            generated_at: at,
            captures: vec![capture(frames, unanswered)],
            ..Snapshot::default()
        };
        let mut store =
            Store::open(&path, &HistoryConfig::default(), &snapshot(0, 0, 0)).expect("upgrades");
        store.begin().expect("begin");
        for (at, frames, unanswered) in [(120, 1_000, 4), (125, 1_500, 5), (130, 2_500, 9)] {
            store
                .add(&snapshot(at, frames, unanswered))
                .expect("writes");
        }
        store.commit().expect("commit");
        store.close().expect("close");
        let db = Connection::open(&path).expect("opens");
        let version: String = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .expect("version");
        assert_eq!(version, schema::VERSION);
        type Row = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
        let rows: Vec<Row> = db
            .prepare("SELECT at, unanswered, frames, bytes, dropped FROM capture_ticks ORDER BY at")
            .expect("columns added")
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        // The old row keeps its counts, without the new ones; the first tick after opening
        // has no previous totals; then what changed.
        assert_eq!(
            rows,
            vec![
                (60, Some(3), None, None, None),
                (120, None, None, None, None),
                (125, Some(1), Some(500), Some(50_000), Some(50)),
                (130, Some(4), Some(1_000), Some(100_000), Some(100)),
            ]
        );
        // Opening it again changes nothing; a file of an unknown version is refused.
        drop(Store::open(&path, &HistoryConfig::default(), &snapshot(0, 0, 0)).expect("opens"));
        db.execute(
            "UPDATE meta SET value = '9' WHERE key = 'schema_version'",
            [],
        )
        .expect("update");
        let refused = Store::open(&path, &HistoryConfig::default(), &snapshot(0, 0, 0));
        assert!(
            matches!(&refused, Err(HistoryError::Version { found }) if found == "9"),
            "{:?}",
            refused.err()
        );
    }
}
