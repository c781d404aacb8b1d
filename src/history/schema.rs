//! The history's tables, described once: each table's columns and how each column is
//! aggregated into 1-minute rows. The SQL that creates, fills and downsamples the tables is
//! made from these descriptions, so a column is added in one place.
//!
//! Every value is an integer (ratios in basis points, rates in bits per second, times in
//! milliseconds): SQLite stores small integers in 1 to 3 bytes, a real in 8.

/// How a column's tick values become one value per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A level (clients, utilization): `_max`, `_min` and `_mean` over the minute.
    Gauge,
    /// What happened since the previous tick (events, bytes): summed over the minute.
    Delta,
    /// A property that rarely changes (seats, pool size, zone, band): its highest value.
    Attr,
    /// A set of bits (the zone's reasons): every bit set during the minute.
    Flags,
    /// A zone's devices: as a gauge, plus `_at_peak`, its value at the tick of the minute
    /// when the venue had the most devices, so that the zones of a minute add up to the
    /// venue (a device walking from a room to the foyer is counted once).
    Peak,
}

/// One column: its name and how it is downsampled.
pub(crate) type Column = (&'static str, Kind);

/// One kind of thing recorded each tick.
#[derive(Debug)]
pub(crate) struct Table {
    /// Tables are `<name>_ticks` and `<name>_minutes`.
    pub name: &'static str,
    /// The column naming what the row is about (an id of `names`), if the table has one row
    /// per tick per thing; `None` for the venue's single row per tick.
    pub key: Option<&'static str>,
    /// The values, in insertion order.
    pub columns: &'static [Column],
}

use Kind::{Attr, Delta, Flags, Gauge, Peak};

use crate::hub::snapshot::ReasonKind;

/// The venue as a whole.
pub(crate) const VENUE: Table = Table {
    name: "venue",
    key: None,
    columns: &[
        ("clients", Gauge),
        ("unique_estimate", Gauge),
        ("status", Attr),
    ],
};

/// Each zone. `reasons` holds, for each reason kind `k` (0 DHCP pool, 1 uplink, 2 occupancy,
/// 3 time-to-lease, 4 source down, 5 no source: `ReasonKind::ALL`), bit `2k` when it is at
/// warn (or unknown) and bit `2k + 1` at critical; `reason` rows say which pool, uplink,
/// capture or source each is about.
pub(crate) const ZONE: Table = Table {
    name: "zone",
    key: Some("zone"),
    columns: &[
        ("clients", Peak),
        ("randomized", Peak),
        ("stations", Gauge),
        ("aps", Gauge),
        ("seats", Attr),
        ("status", Attr),
        ("reasons", Flags),
        ("uplink_bp", Gauge),
        ("rx_bps", Gauge),
        ("tx_bps", Gauge),
        ("pool_leases", Gauge),
        ("pool_size", Attr),
        ("ttl_p95_ms", Gauge),
        ("stations_2_4ghz", Gauge),
        ("stations_5ghz", Gauge),
        ("stations_6ghz", Gauge),
    ],
};

/// Clients per zone per source that saw them.
pub(crate) const ZONE_SOURCE: Table = Table {
    name: "zone_source",
    key: Some("zone_source"),
    columns: &[("clients", Gauge)],
};

/// Each access point. `band`: 0 unknown, 1 2.4 GHz, 2 5 GHz, 3 6 GHz.
pub(crate) const AP: Table = Table {
    name: "ap",
    key: Some("ap"),
    columns: &[
        ("zone", Attr),
        ("band", Attr),
        ("present", Gauge),
        ("stations", Gauge),
        ("utilization_bp", Gauge),
        ("connects", Delta),
        ("disconnects", Delta),
        ("auth_failures", Delta),
    ],
};

/// Each monitored interface.
pub(crate) const INTERFACE: Table = Table {
    name: "interface",
    key: Some("interface"),
    columns: &[
        ("zone", Attr),
        ("up", Gauge),
        ("speed_bps", Attr),
        ("utilization_bp", Gauge),
        ("rx_bytes", Delta),
        ("tx_bytes", Delta),
        ("rx_packets", Delta),
        ("tx_packets", Delta),
        ("rx_errors", Delta),
        ("tx_errors", Delta),
        ("rx_drops", Delta),
        ("tx_drops", Delta),
    ],
};

/// Each DHCP pool.
pub(crate) const POOL: Table = Table {
    name: "pool",
    key: Some("pool"),
    columns: &[
        ("zone", Attr),
        ("leases", Gauge),
        ("size", Attr),
        ("allocation_failures", Delta),
    ],
};

/// Each live capture: DHCP messages by type, DISCOVERs left unanswered, the DISCOVER→ACK
/// times as the counts of their histogram's buckets (`ttl0` up to 10 ms ... `ttl10` up to
/// 60 s, `ttl11` above: the bounds are in `meta`), which add up over any range; and (since
/// version 2) the frames and bytes captured and the frames the kernel dropped.
pub(crate) const CAPTURE: Table = Table {
    name: "capture",
    key: Some("capture"),
    columns: &[
        ("zone", Attr),
        ("discover", Delta),
        ("offer", Delta),
        ("request", Delta),
        ("decline", Delta),
        ("ack", Delta),
        ("nak", Delta),
        ("release", Delta),
        ("inform", Delta),
        ("other", Delta),
        ("unanswered", Delta),
        ("ttl0", Delta),
        ("ttl1", Delta),
        ("ttl2", Delta),
        ("ttl3", Delta),
        ("ttl4", Delta),
        ("ttl5", Delta),
        ("ttl6", Delta),
        ("ttl7", Delta),
        ("ttl8", Delta),
        ("ttl9", Delta),
        ("ttl10", Delta),
        ("ttl11", Delta),
        ("frames", Delta),
        ("bytes", Delta),
        ("dropped", Delta),
    ],
};

/// Each reason a zone is not ok (since version 2), a row while it lasts: the zone, the
/// reason's kind (its position in `ReasonKind::ALL`), its subject (a pool, an interface, a
/// capture interface or a source kind: a `subject` of `names`, none for occupancy), its
/// status (as `venuemon_zone_status`) and its value (ratios in basis points, seconds in
/// milliseconds, instances as they are). The key is `zone/kind/subject`.
pub(crate) const REASON: Table = Table {
    name: "reason",
    key: Some("reason"),
    columns: &[
        ("zone", Attr),
        ("kind", Attr),
        ("subject", Attr),
        ("status", Attr),
        ("value", Gauge),
    ],
};

/// Each source instance (`source/instance` in `names`).
pub(crate) const SOURCE: Table = Table {
    name: "source",
    key: Some("source"),
    columns: &[("up", Gauge), ("errors", Delta)],
};

/// Every table, in the order a tick writes them. A column is added at the end of its table
/// (a file of an older version gets it by `ALTER TABLE`, at the end).
pub(crate) const TABLES: [&Table; 9] = [
    &VENUE,
    &ZONE,
    &REASON,
    &ZONE_SOURCE,
    &AP,
    &INTERFACE,
    &POOL,
    &CAPTURE,
    &SOURCE,
];

/// The schema version `meta` records. A file of an older version is brought up to this one
/// when the writer opens it (`upgrade`); a file of any other version is refused with a
/// message.
pub const VERSION: &str = "3";

/// The versions a file can be upgraded from: version 1 lacked the `reason` tables and the
/// captures' `frames`, `bytes` and `dropped`; versions 1 and 2 lacked the zones' stations
/// per band and their devices at the venue's peak, and wrote minute rows only when they
/// downsampled.
pub const UPGRADES_FROM: [&str; 2] = ["1", "2"];

/// The `meta` key holding the end of the minutes rolled up (Unix seconds): every tick row
/// before it is also in a minute row, and the report reads minute rows up to it.
pub const ROLLED_UP_UNTIL: &str = "minutes_until";

/// Everything the history creates in an empty file.
pub(crate) fn create() -> String {
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n\
         CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, \
         name TEXT NOT NULL, UNIQUE (kind, name));\n\
         CREATE TABLE IF NOT EXISTS zone_hours (hour INTEGER NOT NULL, zone INTEGER NOT NULL, \
         sketch BLOB NOT NULL, PRIMARY KEY (hour, zone)) WITHOUT ROWID;\n",
    );
    for table in TABLES {
        for suffix in SUFFIXES {
            let mut all = vec!["at INTEGER NOT NULL".to_string()];
            all.extend(table.key.map(|k| format!("{k} INTEGER NOT NULL")));
            all.extend(values(table, suffix).map(|(name, kind)| format!("{name} {kind}")));
            let key = table.key.map_or("at".to_string(), |k| format!("at, {k}"));
            sql.push_str(&format!(
                "CREATE TABLE IF NOT EXISTS {}_{suffix} ({}, PRIMARY KEY ({key})) WITHOUT ROWID;\n",
                table.name,
                all.join(", ")
            ));
        }
    }
    sql
}

/// The two tables of each kind: `<name>_ticks` and `<name>_minutes`.
pub(crate) const SUFFIXES: [&str; 2] = ["ticks", "minutes"];

/// The value columns of `table`'s `suffix` table (after `at` and the key), with their SQL
/// types: a tick row holds each column; a minute row the ticks it holds, then each gauge's
/// `_max`, `_min` and `_mean` (and a peak's `_at_peak`) and every other column once.
pub(crate) fn values(table: &Table, suffix: &str) -> impl Iterator<Item = (String, &'static str)> {
    let minutes = suffix == "minutes";
    minutes
        .then(|| ("ticks".to_string(), "INTEGER NOT NULL"))
        .into_iter()
        .chain(
            table
                .columns
                .iter()
                .flat_map(move |(name, kind)| match (minutes, kind) {
                    (true, Gauge) => vec![
                        (format!("{name}_max"), "INTEGER"),
                        (format!("{name}_min"), "INTEGER"),
                        (format!("{name}_mean"), "REAL"),
                    ],
                    (true, Peak) => vec![
                        (format!("{name}_max"), "INTEGER"),
                        (format!("{name}_min"), "INTEGER"),
                        (format!("{name}_mean"), "REAL"),
                        (format!("{name}_at_peak"), "INTEGER"),
                    ],
                    _ => vec![(name.to_string(), "INTEGER")],
                }),
        )
}

/// The statements that add to an older file's `<table>_<suffix>` the columns it lacks,
/// given the columns it has (`has`).
pub(crate) fn add_missing(table: &Table, suffix: &str, has: &[String]) -> Vec<String> {
    values(table, suffix)
        .filter(|(name, _)| !has.contains(name))
        .map(|(name, kind)| {
            // ALTER TABLE cannot add a NOT NULL column without a default; only `ticks` is
            // NOT NULL, and every minute table has had it from the start.
            let kind = kind.trim_end_matches(" NOT NULL");
            format!(
                "ALTER TABLE {}_{suffix} ADD COLUMN {name} {kind}",
                table.name
            )
        })
        .collect()
}

/// The columns a row of `table` is written or downsampled into, by name: `at`, the key,
/// then the values of `suffix`.
fn names(table: &Table, suffix: &str) -> String {
    std::iter::once("at".to_string())
        .chain(table.key.map(str::to_string))
        .chain(values(table, suffix).map(|(name, _)| name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statement that writes one row of `table` at one tick.
pub(crate) fn insert(table: &Table) -> String {
    let n = 1 + usize::from(table.key.is_some()) + table.columns.len();
    let marks = vec!["?"; n].join(", ");
    format!(
        "INSERT OR REPLACE INTO {}_ticks ({}) VALUES ({marks})",
        table.name,
        names(table, "ticks")
    )
}

/// The statement that writes (or rewrites) `table`'s minute rows from its tick rows in
/// `[?1, ?2)` (whole minutes). The writer runs it as each minute ends, so that the report
/// reads a row per minute instead of a row per tick.
pub(crate) fn rollup(table: &Table) -> String {
    let t = table.name;
    let minute = format!("{t}_ticks.at - {t}_ticks.at % 60");
    let key = table.key.map(|k| format!(", {k}")).unwrap_or_default();
    let cells: Vec<String> = table
        .columns
        .iter()
        .map(|(name, kind)| match kind {
            Gauge => format!("max({name}), min({name}), avg({name})"),
            // The tick of the minute with the most devices in the venue (the first if
            // several), and this row's value then.
            Peak => format!(
                "max({name}), min({name}), avg({name}), (SELECT p.{name} FROM {t}_ticks p \
                 WHERE p.at = (SELECT v.at FROM venue_ticks v WHERE v.at >= {minute} \
                 AND v.at < {minute} + 60 ORDER BY v.clients DESC, v.at LIMIT 1){same})",
                same = table
                    .key
                    .map(|k| format!(" AND p.{k} = {t}_ticks.{k}"))
                    .unwrap_or_default(),
            ),
            Delta => format!("sum({name})"),
            Attr => format!("max({name})"),
            // SQLite has no bitwise-or aggregate: one max per bit, two bits per reason kind.
            Flags => (0..2 * ReasonKind::ALL.len())
                .map(|bit| format!("max({name} & {})", 1 << bit))
                .collect::<Vec<_>>()
                .join(" | "),
        })
        .collect();
    format!(
        "INSERT OR REPLACE INTO {t}_minutes ({}) SELECT {minute}{key}, count(*), {} \
         FROM {t}_ticks WHERE at >= ?1 AND at < ?2 GROUP BY {minute}{key}",
        names(table, "minutes"),
        cells.join(", "),
    )
}

/// The statement that deletes `table`'s tick rows before `?1` (rolled up already): what
/// is older than `downsample_after` is kept as minute rows only.
pub(crate) fn drop_ticks(table: &Table) -> String {
    format!("DELETE FROM {}_ticks WHERE at < ?1", table.name)
}

/// The statements that delete everything before `?1`.
pub(crate) fn expire() -> Vec<String> {
    let mut sql = vec!["DELETE FROM zone_hours WHERE hour * 3600 < ?1".to_string()];
    for table in TABLES {
        sql.push(format!("DELETE FROM {}_ticks WHERE at < ?1", table.name));
        sql.push(format!("DELETE FROM {}_minutes WHERE at < ?1", table.name));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_creates_rolls_up_downsamples_and_expires_in_sqlite() {
        let db = rusqlite::Connection::open_in_memory().expect("sqlite");
        db.execute_batch(&create()).expect("schema");
        db.execute(
            &insert(&ZONE),
            rusqlite::params_from_iter([
                Some(60_i64),
                Some(1),
                Some(5),
                Some(1),
                None,
                Some(2),
                Some(100),
                Some(1),
                Some(0b0100),
                Some(100),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(4),
                None,
            ]),
        )
        .expect("row");
        db.execute(
            &insert(&ZONE),
            rusqlite::params_from_iter([
                Some(61_i64),
                Some(1),
                Some(9),
                Some(3),
                None,
                Some(2),
                Some(100),
                Some(2),
                Some(0b1000),
                Some(300),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(6),
                None,
            ]),
        )
        .expect("row");
        // The venue is busiest at 61 (the tick of the zone's 9 devices and 3 randomized).
        db.execute_batch("INSERT INTO venue_ticks (at, clients) VALUES (60, 5), (61, 9)")
            .expect("venue");
        db.execute(&rollup(&ZONE), [0, 120]).expect("rolls up");
        db.execute(&drop_ticks(&ZONE), [120]).expect("drops ticks");
        let row: (i64, i64, i64, f64, i64, i64, i64) = db
            .query_row(
                "SELECT ticks, clients_max, clients_min, clients_mean, status, reasons, uplink_bp_max \
                 FROM zone_minutes WHERE at = 60 AND zone = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .expect("minute row");
        assert_eq!(row, (2, 9, 5, 7.0, 2, 0b1100, 300));
        let peak: (i64, i64, i64, Option<i64>) = db
            .query_row(
                "SELECT clients_at_peak, randomized_at_peak, stations_5ghz_max, \
                 stations_6ghz_max FROM zone_minutes WHERE at = 60 AND zone = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("minute row");
        assert_eq!(peak, (9, 3, 6, None));
        let left: i64 = db
            .query_row("SELECT count(*) FROM zone_ticks", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0);
        for sql in expire() {
            db.execute(&sql, [3600]).expect(&sql);
        }
        let left: i64 = db
            .query_row("SELECT count(*) FROM zone_minutes", [], |r| r.get(0))
            .expect("count");
        assert_eq!(left, 0);
    }

    /// Regression: minutes kept only the first 8 bits of a zone's reasons, losing a source
    /// down (bits 8, 9) and no source (bits 10, 11).
    #[test]
    fn a_minute_keeps_every_reason_bit_source_down_and_no_source_included() {
        let db = rusqlite::Connection::open_in_memory().expect("sqlite");
        db.execute_batch(&create()).expect("schema");
        for (at, bits) in [(60_i64, 1 << 8), (61, 1 << 11), (62, 0b1)] {
            db.execute(
                "INSERT INTO zone_ticks (at, zone, reasons) VALUES (?1, 1, ?2)",
                [at, bits],
            )
            .expect("row");
        }
        db.execute(&rollup(&ZONE), [0, 120]).expect("rolls up");
        db.execute(&drop_ticks(&ZONE), [120]).expect("drops ticks");
        let bits: i64 = db
            .query_row("SELECT reasons FROM zone_minutes", [], |r| r.get(0))
            .expect("minute");
        assert_eq!(bits, (1 << 8) | (1 << 11) | 1);
    }
}
