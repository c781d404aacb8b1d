//! Helpers for the tests of the history and of the page's past: a simulated day written by
//! the real writer, its ground truth, the live agent of the simulated venue, and the schema
//! of version 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::history::schema;
use crate::hub::Snapshot;
use crate::simulate::{Options, Outputs, run};

/// The simulated event of these tests: a day, 4 zones, 8 access points, 1-minute ticks.
pub(crate) fn options() -> Options {
    Options {
        days: 1,
        zones: 4,
        aps: 8,
        tick: Duration::from_secs(60),
        seed: 11,
    }
}

/// A day of the simulated event at 1-minute ticks, written by the real writer, with its
/// ground truth in `truth.json`.
pub(crate) fn simulated(dir: &Path) -> PathBuf {
    let path = dir.join("event.sqlite");
    let out = Outputs {
        history: Some(path.clone()),
        truth: Some(dir.join("truth.json")),
        ..Outputs::default()
    };
    run(&options(), &out).expect("simulates");
    path
}

/// The ground truth [`simulated`] wrote in `dir`.
pub(crate) fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth")).expect("json")
}

/// The live agent of the simulated venue: a real hub fed the simulation's first tick,
/// so its zones, source kinds and programme are the simulated event's.
pub(crate) fn live_simulated() -> Snapshot {
    use crate::simulate::{START, Simulation};
    let mut simulation = Simulation::new(&options(), START);
    let config = simulation.config().expect("config");
    let mut hub = crate::hub::Hub::new(
        &config,
        std::sync::Arc::new(crate::inventory::Inventory::new(&config)),
    );
    let now = tokio::time::Instant::now();
    for report in simulation.reports(START) {
        hub.apply(report, now);
    }
    hub.snapshot(
        now,
        std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(START.unsigned_abs()),
    )
}

/// A session: title, start, end.
pub(crate) type Session = (String, i64, i64);

/// The session on in `zone` at `t` (the latest started) and the next within a day, as
/// the truth's programme has them: (title, starts, ends).
pub(crate) fn truth_sessions(
    truth: &serde_json::Value,
    zone: &str,
    t: i64,
) -> (Option<Session>, Option<Session>) {
    let sessions: Vec<Session> = truth["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .filter(|s| s["zone"] == zone)
        .map(|s| {
            let n = |k: &str| s[k].as_i64().expect("time");
            (
                s["title"].as_str().expect("title").to_string(),
                n("starts"),
                n("ends"),
            )
        })
        .collect();
    let now = sessions
        .iter()
        .filter(|s| s.1 <= t && t < s.2)
        .max_by_key(|s| s.1)
        .cloned();
    let next = sessions
        .iter()
        .filter(|s| s.1 > t && s.1 - t <= 86_400)
        .min_by_key(|s| s.1)
        .cloned();
    (now, next)
}

/// When the truth's event of `kind` began.
pub(crate) fn truth_event(truth: &serde_json::Value, kind: &str) -> (u64, Vec<String>) {
    let event = truth["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == kind)
        .expect("event");
    let zones = event["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| z.as_str().expect("zone").to_string())
        .collect();
    (event["from"].as_u64().expect("from"), zones)
}

/// What schema version 1 created: the same tables but `reason`, and captures without
/// `frames`, `bytes` and `dropped` (git show 9f68eb6:src/history/schema.rs).
pub(crate) fn version_1() -> String {
    let sql: String = schema::create()
        .lines()
        .filter(|l| !l.contains(" reason_"))
        .map(|l| l.replace(", frames INTEGER, bytes INTEGER, dropped INTEGER", "") + "\n")
        .collect();
    assert!(!sql.contains("frames") && !sql.contains("reason_"), "{sql}");
    sql
}

/// Turns every tick row before `before` into minute rows and deletes it, as the writer does
/// with the rows older than `downsample_after`.
pub(crate) fn downsample(db: &rusqlite::Connection, before: i64) {
    for table in schema::TABLES {
        db.execute(&schema::rollup(table), [0, before])
            .expect("rolls up");
        db.execute(&schema::drop_ticks(table), [before])
            .expect("drops ticks");
    }
}

/// A capture on `mon0` in zone `hall` after `frames` frames: 100 bytes each, a tenth of them
/// dropped by the kernel, a fiftieth DHCP DISCOVERs, `unanswered` of those left unanswered.
pub(crate) fn capture(frames: u64, unanswered: u64) -> crate::hub::capture::CaptureSummary {
    let mut totals = crate::hub::capture::Totals::default();
    totals.counts.frames = frames;
    totals.counts.bytes = frames * 100;
    totals.counts.kernel.dropped = frames / 10;
    totals.counts.dhcp_unanswered = unanswered;
    totals.counts.dhcp_messages[1] = frames / 50;
    crate::hub::capture::CaptureSummary::new("mon0", Some("hall".into()), &totals, &[])
}

/// Writes `snapshots` (in time order) into the history at `path` through the real store, in
/// one transaction.
pub(crate) fn write(path: &Path, snapshots: &[Snapshot]) {
    let first = snapshots.first().expect("a snapshot");
    let mut store = crate::history::Store::open(
        path,
        &crate::history::config::HistoryConfig::default(),
        first,
    )
    .expect("opens");
    store.begin().expect("begin");
    for snapshot in snapshots {
        store.add(snapshot).expect("writes");
    }
    store.commit().expect("commit");
}

/// The quick event: a day of 4 zones and 4 access points at 5-minute ticks, seed 1.
fn quick_options() -> Options {
    Options {
        days: 1,
        zones: 4,
        aps: 4,
        tick: Duration::from_secs(300),
        seed: 1,
    }
}

/// A quick simulated event in `dir` (see [`quick_options`]): its history, programme and
/// truth files.
pub(crate) fn quick_event(dir: &Path) -> Outputs {
    let out = Outputs {
        history: Some(dir.join("event.sqlite")),
        programme: Some(dir.join("event.ics")),
        truth: Some(dir.join("truth.json")),
    };
    run(&quick_options(), &out).expect("simulates");
    out
}

/// The quick event again with its day 1 at `start` (Unix seconds), added to the history at
/// `path` (made if missing) through the real store, as an agent that keeps its history from
/// one edition to the next writes it; returns its programme (iCalendar). Write the older
/// edition first.
pub(crate) fn edition(path: &Path, start: i64) -> String {
    let mut simulation = crate::simulate::Simulation::new(&quick_options(), start);
    let config = simulation.config().expect("config");
    let mut hub = crate::hub::Hub::new(
        &config,
        std::sync::Arc::new(crate::inventory::Inventory::new(&config)),
    );
    let base = tokio::time::Instant::now();
    let snapshots: Vec<Snapshot> = simulation
        .ticks()
        .map(|t| {
            let now = base + Duration::from_secs((t - start).unsigned_abs());
            for report in simulation.reports(t) {
                hub.apply(report, now);
            }
            hub.snapshot(
                now,
                std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(t.unsigned_abs()),
            )
        })
        .collect();
    write(path, &snapshots);
    simulation.programme_ics()
}
