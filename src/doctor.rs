//! `venuemon doctor`: the build-day self-test with the real configuration. Every source the
//! config enables takes one sample exactly as the agent takes it (the sources' own checks:
//! files of the right type, sockets that answer, capabilities), and the rest of what the
//! agent needs is checked beside them: the clock, the state folder, the history file and the
//! space for it, the listen address, zones no source covers, thresholds that cannot be judged.
//! One [`Check`] per line, with the fix.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::OptionalExtension;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Coverage, Warning};
use crate::inventory::Inventory;
use crate::model::interfaces::Link;
use crate::model::{ErrorKind, Observation, Report};
use crate::privacy::{ClientId, ClientKey};
use crate::sources::links::LinkReader;
use crate::sources::{self, Starter};

/// How long the sources' tasks (a capture thread, hostapd's event readers) get to end once
/// every sample is in.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The first year a clock may say: anything earlier is a box that booted without time.
const EARLIEST_YEAR: i16 = 2024;

/// How far ahead of its first session a programme may be before it looks like another
/// event's (build days come a few days before the event).
const PROGRAMME_AHEAD: i64 = 7 * 24 * 3600;

/// How long after its last session a programme may be before it looks like last event's.
const PROGRAMME_AFTER: i64 = 24 * 3600;

/// Bytes of tick rows a zone takes per day at a 5 s tick, with four access points, two
/// interfaces and a pool: a 3-day simulated event of 50 zones and 200 access points made
/// 616 MB of them, 616 MB / 150 zone-days (docs/PERFORMANCE.md, "History"). Rows are per
/// tick, so it scales with the ticks in a day.
const HISTORY_BYTES_PER_ZONE_DAY_AT_5S: u64 = 4_100_000;

/// Bytes of 1-minute rows a zone takes per day, whatever the tick, with the hourly sketches:
/// measured the same way (docs/PERFORMANCE.md, "History"). The agent writes them as each
/// minute ends, beside the tick rows, and keeps them until `retention`.
const HISTORY_MINUTE_BYTES_PER_ZONE_DAY: u64 = 530_000;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// As the agent needs it.
    Ok,
    /// The agent runs, but shows less than it could (the fix says how to get it back).
    Warn,
    /// Something the config asks for will not work.
    Fail,
}

impl Status {
    /// The word printed at the start of the line.
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the doctor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// Whether it is fine.
    pub(crate) status: Status,
    /// What was checked (`listen 0.0.0.0:9842`, `source dhcp hall-a`).
    pub(crate) check: String,
    /// What was found.
    pub(crate) detail: String,
    /// For a problem, what to do: a command or a config key.
    pub(crate) fix: Option<String>,
}

impl Check {
    fn new(status: Status, check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status,
            check: check.into(),
            detail: detail.into(),
            fix: None,
        }
    }

    fn ok(check: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(Status::Ok, check, detail)
    }

    fn problem(
        status: Status,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            fix: Some(fix.into()),
            ..Check::new(status, check, detail)
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4} {}: {}",
            self.status.word(),
            self.check,
            self.detail
        )?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

/// Runs every check for `config` (loaded from `file`, or zero-config, with `warnings`), in
/// the order they are printed.
pub(crate) async fn run(config: &Config, file: Option<&Path>, warnings: &[Warning]) -> Vec<Check> {
    let loaded = match file {
        Some(file) => format!("{} loaded", file.display()),
        None => "zero-config".to_string(),
    };
    let mut checks = vec![Check::ok(
        "config",
        format!(
            "{loaded}: {} zone{}",
            config.zones.len(),
            if config.zones.len() == 1 { "" } else { "s" }
        ),
    )];
    // A warning of the config says itself what to do.
    checks.extend(
        warnings
            .iter()
            .map(|w| Check::new(Status::Warn, "config", w.to_string())),
    );
    let now = jiff::Timestamp::now();
    checks.push(clock(now));
    checks.push(state_dir(config));
    checks.extend(history(config));
    checks.push(listen(config.http.listen));
    let reports = sample_sources(config, &mut checks).await;
    for (started, report) in &reports {
        checks.push(source(started, report, config.agent.active_window));
    }
    checks.extend(programme(&reports, now.as_second()));
    let links = links(config).await;
    checks.extend(coverage(config, &links));
    checks.extend(thresholds(config));
    checks
}

/// Starts every source the config enables as the agent does, each taking one sample, and
/// returns their reports in the order they started (`kind:instance` with each).
async fn sample_sources(config: &Config, checks: &mut Vec<Check>) -> Vec<(String, Report)> {
    let inventory = Arc::new(Inventory::new(config));
    // Never the event's own key: the doctor must not create it (as root, for a service
    // that runs as another user), and client ids are not shown anyway.
    let key = ClientKey::ephemeral();
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (hub, mut inbox) = mpsc::channel(64);
    let mut starter = Starter::new(config, &inventory, &key, &cancel, &tasks, &hub).sampling_once();
    let started_all = sources::start_all(&mut starter);
    let started = starter.started().to_vec();
    drop(starter);
    drop(hub);
    if let Err(e) = started_all {
        checks.push(Check::problem(
            Status::Fail,
            "sources",
            format!("{e:#}"),
            "see the message; the agent would not start",
        ));
    }
    // Every sample reports once (or is past its deadline, which reports too).
    let mut reports = Vec::new();
    while let Some(report) = inbox.recv().await {
        reports.push(report);
    }
    cancel.cancel();
    tasks.close();
    if tokio::time::timeout(STOP_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            tasks = tasks.len(),
            "some source tasks did not stop in time"
        );
    }
    let position = |r: &Report| {
        let name = format!("{}:{}", r.source, r.instance);
        started
            .iter()
            .position(|s| *s == name)
            .unwrap_or(usize::MAX)
    };
    reports.sort_by_key(position);
    reports
        .into_iter()
        .map(|r| (format!("{}:{}", r.source, r.instance), r))
        .collect()
}

/// The check line of one source's sample; its clients are those the agent would count
/// within `active_window`.
fn source(started: &str, report: &Report, active_window: Duration) -> Check {
    let check = format!("source {}", started.replacen(':', " ", 1));
    match &report.outcome {
        Ok(observations) => Check::ok(check, seen(observations, active_window)),
        Err(e) => {
            let status = match e.kind {
                // The file is there and read; some lines are bad: the agent counts the rest.
                ErrorKind::Degraded => Status::Warn,
                _ => Status::Fail,
            };
            Check::problem(status, check, &e.message, fix(report.source, e.kind))
        }
    }
}

/// What a successful sample saw, in a few words. Clients are counted as the agent's
/// registry counts them: once each however many sightings name it (a device with an IPv4
/// and an IPv6 neighbour entry, a lease and a station), and only if seen within
/// `active_window`.
fn seen(observations: &[Observation], active_window: Duration) -> String {
    let mut parts = Vec::new();
    for observation in observations {
        match observation {
            Observation::Interfaces(interfaces) => {
                let names: Vec<&str> = interfaces.iter().map(|i| i.link.name.as_str()).collect();
                parts.push(format!(
                    "{} interfaces ({})",
                    interfaces.len(),
                    if names.is_empty() {
                        "-".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            Observation::Clients(sightings) => {
                let clients: HashSet<ClientId> = sightings
                    .iter()
                    .filter(|s| s.age <= active_window)
                    .map(|s| s.client.id)
                    .collect();
                parts.push(format!("{} clients", clients.len()));
            }
            Observation::AccessPoints(aps) => parts.push(format!("{} access points", aps.len())),
            Observation::PoolLeases(pool) => parts.push(match pool.pool_size {
                Some(size) => format!("{} leases active of {size}", pool.leases_active),
                None => format!("{} leases active", pool.leases_active),
            }),
            Observation::PoolStatistics { .. } => parts.push("server statistics read".into()),
            Observation::Capture(capture) => {
                parts.push(format!("capturing on {}", capture.interface));
            }
            Observation::Programme(sessions) => {
                parts.push(format!("{} sessions in zones", sessions.len()));
            }
            Observation::ApEvents(_) => {}
        }
    }
    if parts.is_empty() {
        "sampled".to_string()
    } else {
        parts.join(", ")
    }
}

/// The config key behind a source's sample, for the fix.
fn key_of(source: &str) -> String {
    match source {
        "dhcp" => "`leases` in [[source.dhcp]]".to_string(),
        "kea_statistics" => "`control_socket` in [[source.dhcp]]".to_string(),
        "hostapd" => "`ctrl_dir` or `sockets` in [[source.hostapd]]".to_string(),
        "capture" => "`interface` in [[source.capture]]".to_string(),
        "schedule" => "`file` in [schedule]".to_string(),
        other => format!("[source.{other}]"),
    }
}

/// What to do about a failed sample of `source`.
fn fix(source: &str, kind: ErrorKind) -> String {
    let key = key_of(source);
    match kind {
        ErrorKind::Missing if source == "capture" => {
            format!("check {key} (`ip link` lists the interfaces)")
        }
        ErrorKind::Missing => format!("check {key}, and that the program behind it runs"),
        ErrorKind::NotRegular => format!("set {key} to the file itself"),
        ErrorKind::Permission if source == "capture" => "give the agent CAP_NET_RAW: \
             deploy/systemd/venuemon.service.d/capture.conf (README, Installing)"
            .to_string(),
        // Files and sockets: the kernel checks the owner, group and mode, not a capability.
        ErrorKind::Permission => format!(
            "let the agent's user open what {key} names: add it to the file's or socket's \
             group with SupplementaryGroups= in a drop-in (as \
             deploy/systemd/venuemon.service.d/hostapd.conf does), or change its group or \
             mode (`ls -l` shows them)"
        ),
        ErrorKind::TooLarge => {
            format!("check {key}; if the file is really this large, raise `max_clients` in [agent]")
        }
        ErrorKind::Degraded => format!("check the file behind {key}: is it the right format?"),
        ErrorKind::Timeout => format!("check the program behind {key} answers"),
        ErrorKind::Parse | ErrorKind::Io | ErrorKind::Netlink => {
            format!("see the message; the key is {key}")
        }
    }
}

/// The clock: a box that booted without time dates every lease, rate and session wrongly.
fn clock(now: jiff::Timestamp) -> Check {
    let shown = now.strftime("%Y-%m-%d %H:%M UTC").to_string();
    if now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year() < EARLIEST_YEAR {
        Check::problem(
            Status::Fail,
            "clock",
            format!(
                "the clock says {shown}: lease expiries, rates and the programme would be wrong"
            ),
            "set the time: `timedatectl set-ntp true`, or `date -s 'YYYY-MM-DD HH:MM'`",
        )
    } else {
        Check::ok("clock", shown)
    }
}

/// The programme's dates against now, from the schedule source's sample.
fn programme(reports: &[(String, Report)], now: i64) -> Option<Check> {
    let sessions = reports.iter().find_map(|(_, r)| match &r.outcome {
        Ok(observations) => observations.iter().find_map(|o| match o {
            Observation::Programme(sessions) => Some(Arc::clone(sessions)),
            _ => None,
        }),
        Err(_) => None,
    })?;
    let first = sessions.iter().map(|s| s.session.starts).min()?;
    let last = sessions.iter().map(|s| s.session.ends).max()?;
    let day = |seconds: i64| {
        jiff::Timestamp::from_second(seconds).map_or_else(
            |_| seconds.to_string(),
            |t| t.strftime("%Y-%m-%d").to_string(),
        )
    };
    let span = format!("sessions from {} to {} (UTC)", day(first), day(last));
    Some(
        if now < first - PROGRAMME_AHEAD || now > last + PROGRAMME_AFTER {
            Check::problem(
                Status::Warn,
                "programme dates",
                format!("{span}, but today is {}", day(now)),
                "check that `file` in [schedule] is this event's programme, and the clock",
            )
        } else {
            Check::ok("programme dates", span)
        },
    )
}

/// Whether the state folder takes the event key: the key is read if it is there, else the
/// folder (or the nearest folder above it, which the agent creates it in) must be writable.
fn state_dir(config: &Config) -> Check {
    let dir = &config.agent.state_dir;
    let check = format!("state dir {}", dir.display());
    let key = dir.join(format!("{}.key", config.venue.event));
    let fix = "set `state_dir` in [agent] to a folder the agent's user can write \
               (the unit's StateDirectory= gives /var/lib/venuemon)";
    if key.exists() {
        return match ClientKey::load_or_create(&key) {
            Ok(_) => Check::ok(check, format!("event key {} readable", key.display())),
            Err(e) => Check::problem(Status::Fail, check, e.to_string(), fix),
        };
    }
    let Some(existing) = dir.ancestors().find(|d| d.exists()) else {
        return Check::problem(Status::Fail, check, "no folder of it exists", fix);
    };
    match writable(existing) {
        Ok(()) if existing == dir => Check::ok(check, "writable; the event key is made at start"),
        Ok(()) => Check::ok(
            check,
            format!(
                "{} writable; the folder is made at start",
                existing.display()
            ),
        ),
        Err(e) => Check::problem(
            Status::Warn,
            check,
            format!(
                "{} is not writable ({e}): the agent would run with a key of its own for each \
                 run, so client ids change at restart",
                existing.display()
            ),
            fix,
        ),
    }
}

/// Whether this process may create files in `dir` (access(2): the real user, as the agent
/// runs it, and a read-only mount says so).
fn writable(dir: &Path) -> std::io::Result<()> {
    access(dir, libc::W_OK | libc::X_OK)
}

/// `path` as a C string, for the calls below.
fn c_path(path: &Path) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
}

/// access(2) of `path` for `mode` (`W_OK`...), as the real user.
fn access(path: &Path, mode: libc::c_int) -> std::io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(path.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Bytes an unprivileged user may still write on the filesystem holding `dir` (statvfs(3):
/// the blocks free to non-root, as the agent runs).
fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let path = c_path(dir)?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a NUL-terminated path that outlives the call, and room for the answer.
    if unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The history the agent would keep: whether it is on; its file, a regular file holding a
/// venuemon history of the schema this binary writes, that the agent can write (or a folder
/// it can make it in), and the time it covers; the space for it on its filesystem.
fn history(config: &Config) -> Vec<Check> {
    let history = &config.history;
    if !history.enabled {
        return vec![Check::problem(
            Status::Warn,
            "history",
            "off ([history] enabled = false): the report and the page's past have nothing \
             from this agent",
            "remove `enabled = false` from [history] (the history is on by default)",
        )];
    }
    let path = history.file(&config.agent.state_dir);
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The agent makes the folder when it is missing: the nearest one above it then counts.
    let existing = folder.ancestors().find(|d| d.exists());
    let need = history_need(
        config.zones.len(),
        config.agent.tick,
        history.downsample_after,
    );
    let format = crate::config::toml::format_duration;
    let size = crate::replay::human_size;
    let minute_days = history.retention.saturating_sub(history.downsample_after);
    let zones = config.zones.len().max(1);
    let why = format!(
        "{zones} zone{} at a {} tick need{} about {} for the {} they keep tick rows \
         (`downsample_after`; {} per zone and day at 5s, and {} of 1-minute rows), then {} per \
         zone and day as 1-minute rows until `retention` ({}: {} more for an agent running \
         all that time)",
        if zones == 1 { "" } else { "s" },
        format(config.agent.tick),
        if zones == 1 { "s" } else { "" },
        size(need),
        format(history.downsample_after),
        size(HISTORY_BYTES_PER_ZONE_DAY_AT_5S),
        size(HISTORY_MINUTE_BYTES_PER_ZONE_DAY),
        size(HISTORY_MINUTE_BYTES_PER_ZONE_DAY),
        format(history.retention),
        size(
            (zones as f64 * HISTORY_MINUTE_BYTES_PER_ZONE_DAY as f64 * minute_days.as_secs_f64()
                / 86_400.0)
                .round() as u64
        ),
    );
    let space = match existing.map(|d| (d, free_bytes(d))) {
        Some((dir, Ok(free))) => history_space(dir, free, need, &why),
        Some((dir, Err(e))) => Check::problem(
            Status::Warn,
            "history space",
            format!("cannot tell the free space of {} ({e})", dir.display()),
            "check the filesystem with `df`",
        ),
        None => Check::problem(
            Status::Warn,
            "history space",
            "no folder of the history's path exists",
            HISTORY_ELSEWHERE,
        ),
    };
    vec![history_file(&path, folder, existing), space]
}

/// The fix for a history file the agent cannot use where it is.
const HISTORY_ELSEWHERE: &str = "set `path` in [history] to a file the agent's user can write \
                                 (by default history.sqlite in [agent] state_dir)";

/// The fix for a history file the agent's user cannot write.
const NOT_WRITABLE: &str = "let the agent's user write the file and its folder (`ls -l` shows \
                            their owner and mode), or set `path` in [history] to another file";

/// The history file at `path` in `folder` (`existing`: the nearest folder of it that exists).
fn history_file(path: &Path, folder: &Path, existing: Option<&Path>) -> Check {
    let check = format!("history {}", path.display());
    let fail = |detail: String, fix: &str| Check::problem(Status::Fail, &check, detail, fix);
    let off = "the agent would keep no history";
    match crate::files::open_regular(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(existing) = existing else {
                return fail(format!("no folder of it exists: {off}"), HISTORY_ELSEWHERE);
            };
            return match writable(existing) {
                Ok(()) if existing == folder => Check::ok(
                    check,
                    "not made yet: the agent makes it at start, its folder is writable",
                ),
                Ok(()) => Check::ok(
                    check,
                    format!(
                        "not made yet: the agent makes it and its folder at start, {} is writable",
                        existing.display()
                    ),
                ),
                Err(e) => fail(
                    format!(
                        "not made yet, and {} is not writable ({e}): {off}",
                        existing.display()
                    ),
                    HISTORY_ELSEWHERE,
                ),
            };
        }
        Err(e) if crate::files::not_regular(&e).is_some() => {
            return fail(e.to_string(), "set `path` in [history] to the file itself");
        }
        Err(e) => return fail(format!("cannot be read ({e}): {off}"), HISTORY_ELSEWHERE),
        // An empty file is an empty SQLite database: the agent makes the history in it.
        Ok(file) if file.metadata().is_ok_and(|m| m.len() == 0) => {
            return match access(path, libc::W_OK).and_then(|()| writable(folder)) {
                Ok(()) => Check::ok(
                    check,
                    "empty: the agent will create the history in it, it and its folder are \
                     writable",
                ),
                Err(e) => fail(
                    format!("empty, and not writable with its folder ({e}): {off}"),
                    NOT_WRITABLE,
                ),
            };
        }
        Ok(_) => {}
    }
    let moved = "move the file away (keep it for that event's report) or set `path` in \
                 [history] to another file";
    let (found, covered) = match history_contents(path) {
        Ok(Contents::History(found, covered)) => (found, covered),
        Ok(Contents::Version(found)) => {
            return fail(
                format!(
                    "a history of schema version {found}, this venuemon writes version {}: {off}",
                    crate::history::SCHEMA_VERSION
                ),
                moved,
            );
        }
        Ok(Contents::Other) => return fail(format!("not a venuemon history: {off}"), moved),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            return fail(format!("not a venuemon history ({e}): {off}"), moved);
        }
        // SQLite's other errors (a damaged file, an I/O error) are said as they are.
        Err(e) => return fail(format!("cannot be read ({e}): {off}"), HISTORY_ELSEWHERE),
    };
    // SQLite writes the file, and makes its `-wal` and `-shm` files beside it.
    if let Err(e) = access(path, libc::W_OK).and_then(|()| writable(folder)) {
        return fail(
            format!("not writable with its folder ({e}): {off}"),
            NOT_WRITABLE,
        );
    }
    let detail = match covered {
        Some(c) => format!(
            "history of schema version {found}, writable, holds {} to {}",
            utc_minute(c.from),
            utc_minute(c.to)
        ),
        None => format!("history of schema version {found}, writable, holds no tick yet"),
    };
    if found == crate::history::SCHEMA_VERSION {
        return Check::ok(check, detail);
    }
    // An older version the agent upgrades: the report reads only this binary's.
    Check::problem(
        Status::Warn,
        check,
        format!(
            "{detail}; the agent upgrades it to version {} when it starts on it, and `venuemon \
             report` reads it only after that",
            crate::history::SCHEMA_VERSION
        ),
        "start this version's agent on it once (`venuemon run` with this config: it upgrades \
         the file as it opens it, a minute is enough), then write the report",
    )
}

/// A Unix time for people, to the minute in UTC.
fn utc_minute(seconds: u64) -> String {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || seconds.to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// What a file found at the history's path holds.
enum Contents {
    /// A venuemon history of this binary's schema or of one its agent upgrades: the version
    /// found, and the time it covers.
    History(String, Option<crate::history::read::Covered>),
    /// A venuemon history of another schema version.
    Version(String),
    /// An SQLite file that is not a venuemon history.
    Other,
}

/// Reads the schema version and the time covered of the SQLite file at `path`, creating
/// nothing: the doctor runs as root, and a `-shm` file it made would be root's, which the
/// agent could not open. With no `-wal` and `-shm` beside it (no agent has it open, and the
/// last one checkpointed on closing) the file holds everything and is opened immutable;
/// otherwise read-only, through the files the writer keeps.
fn history_contents(path: &Path) -> rusqlite::Result<Contents> {
    use rusqlite::OpenFlags;
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name).exists()
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = if beside("-wal") && beside("-shm") {
        rusqlite::Connection::open_with_flags(path, flags)?
    } else {
        rusqlite::Connection::open_with_flags(
            crate::history::read::immutable_uri(path),
            flags | OpenFlags::SQLITE_OPEN_URI,
        )?
    };
    db.busy_timeout(Duration::from_secs(1))?;
    let has_meta: bool = db.query_row(
        "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(Contents::Other);
    }
    let version: Option<String> = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match version {
        // The agent brings an older version up to its own when it opens the file.
        Some(v)
            if v == crate::history::SCHEMA_VERSION
                || crate::history::UPGRADES_FROM.contains(&v.as_str()) =>
        {
            Ok(Contents::History(v, crate::history::read::covered(&db)?))
        }
        Some(v) => Ok(Contents::Version(v)),
        None => Ok(Contents::Other),
    }
}

/// About how many bytes of history `zones` zones take at `tick` over `days_at_tick`, the
/// time tick rows are kept (`downsample_after`): for each day the agent runs, a day of
/// ticks ([`HISTORY_BYTES_PER_ZONE_DAY_AT_5S`] at 5 s) and a day of minute rows.
fn history_need(zones: usize, tick: Duration, days_at_tick: Duration) -> u64 {
    let per_day = HISTORY_BYTES_PER_ZONE_DAY_AT_5S as f64 * 5.0 / tick.as_secs_f64().max(1.0)
        + HISTORY_MINUTE_BYTES_PER_ZONE_DAY as f64;
    let days = days_at_tick.as_secs_f64() / 86_400.0;
    (zones.max(1) as f64 * per_day * days).round() as u64
}

/// Whether `free` bytes where the history goes (`dir`) hold the `need` of its rows at tick
/// resolution; `why` says what the history needs.
fn history_space(dir: &Path, free: u64, need: u64, why: &str) -> Check {
    let detail = format!(
        "{} free on the filesystem of {}; {why}",
        crate::replay::human_size(free),
        dir.display(),
    );
    if free >= need {
        Check::ok("history space", detail)
    } else {
        Check::problem(
            Status::Warn,
            "history space",
            format!("{detail}: the history stops while the disk is full"),
            "free space there, set `path` in [history] on a larger filesystem, or shorten \
             `downsample_after` in [history]",
        )
    }
}

/// Whether the agent could listen on `addr`: bound as the agent binds, then released.
fn listen(addr: SocketAddr) -> Check {
    let check = format!("listen {addr}");
    let other_port = "choose another port with `listen` in [http] or `--listen`";
    match crate::web::server::bind(addr) {
        Ok(listener) => {
            drop(listener);
            Check::ok(check, "free")
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let by = port_owner(addr.port())
                .map(|(program, pid)| format!(" by {program} (pid {pid})"))
                .unwrap_or_default();
            Check::problem(
                Status::Fail,
                check,
                format!("in use{by}"),
                format!(
                    "stop it (`ss -ltnp 'sport = :{}'` shows it), or {other_port}",
                    addr.port()
                ),
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Check::problem(
            Status::Fail,
            check,
            format!("{e}: a port below 1024 needs CAP_NET_BIND_SERVICE"),
            format!("{other_port} (9842 is the default)"),
        ),
        Err(e) => Check::problem(
            Status::Fail,
            check,
            e.to_string(),
            format!("use an address of this host, or {other_port}"),
        ),
    }
}

/// The program (name and pid) listening on TCP `port`, when `/proc` tells (as root it
/// always does; another user sees only its own processes' sockets).
fn port_owner(port: u16) -> Option<(String, u32)> {
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    let processes = std::fs::read_dir("/proc").ok()?;
    for entry in processes.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| {
                let target = target.to_string_lossy();
                inodes
                    .iter()
                    .any(|inode| target == format!("socket:[{inode}]"))
            })
        });
        if holds {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            return Some((crate::terminal::inert(comm.trim()).into_owned(), pid));
        }
    }
    None
}

/// The socket inodes in a `/proc/net/tcp` table listening on `port`.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local = fields.get(1)?;
            let state = fields.get(3)?;
            let inode = fields.get(9)?.parse().ok()?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (*state == LISTEN && local_port == port).then_some(inode)
        })
        .collect()
}

/// The host's interfaces with their kinds, read as the interface source reads them (none
/// when they cannot be listed within a second: its sample above says why).
async fn links(config: &Config) -> Vec<Link> {
    let n = &config.sources.netdev;
    match LinkReader::open(n.backend, &n.proc_root, &n.sys_root) {
        Ok(reader) => tokio::time::timeout(Duration::from_secs(1), reader.links())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// Zones no enabled source can say anything about: not named by a source's `zone`, no
/// subnet for the neighbour table or a DHCP source to place clients by, no interface of
/// theirs present for the interface sources.
fn coverage(config: &Config, links: &[Link]) -> Vec<Check> {
    let inventory = Inventory::new(config);
    config
        .zones
        .iter()
        .enumerate()
        .map(|(index, zone)| {
            let check = format!("zone {}", zone.id);
            let interfaces: Vec<&str> = links
                .iter()
                .filter(|l| inventory.zone_of_interface(&l.name, l.kind) == Some(index))
                .map(|l| l.name.as_str())
                .collect();
            let by: Vec<String> = config
                .sources
                .covers(zone, !interfaces.is_empty())
                .into_iter()
                .map(|way| match way {
                    Coverage::Named => "a source's zone".to_string(),
                    Coverage::Subnets => "its subnets".to_string(),
                    Coverage::Interfaces => format!("interfaces {}", interfaces.join(", ")),
                })
                .collect();
            if by.is_empty() {
                Check::problem(
                    Status::Warn,
                    check,
                    "no source covers it: it will always show 0 clients",
                    format!(
                        "give [[zone]] {} `interfaces` present on this host or `subnets`, or name \
                         it in a source's `zone`",
                        zone.id
                    ),
                )
            } else {
                Check::ok(check, format!("covered by {}", by.join(", ")))
            }
        })
        .collect()
}

/// Thresholds the config sets but the agent cannot judge: occupancy in a zone without seats,
/// pool use of a DHCP source without a pool size.
fn thresholds(config: &Config) -> Vec<Check> {
    let zones = config.zones.iter().filter(|z| z.seats.is_none()).map(|z| {
        Check::problem(
            Status::Warn,
            format!("zone {} thresholds", z.id),
            "no seats: occupancy (occupancy_warn, occupancy_critical) is not judged",
            format!("set `seats` in [[zone]] {}", z.id),
        )
    });
    let pools = config
        .sources
        .dhcp
        .iter()
        .filter(|d| d.pool.is_empty() && d.control_socket.is_none())
        .map(|d| {
            Check::problem(
                Status::Warn,
                format!("dhcp {} thresholds", d.name),
                "pool size unknown: pool use (dhcp_pool_warn, dhcp_pool_critical) is not judged",
                format!(
                    "set `pool` (the server's ranges) in [[source.dhcp]] {}, or its Kea \
                     `control_socket`",
                    d.name
                ),
            )
        });
    zones.chain(pools).collect()
}

/// Whether any check failed (warnings do not fail).
pub(crate) fn failed(checks: &[Check]) -> bool {
    checks.iter().any(|c| c.status == Status::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_socket_is_found_by_port_in_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:2672 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41234 1 0000000000000000 100 0 0 10 0\n\
   1: 0100007F:2672 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 41299 1 0000000000000000 20 4 30 10 -1\n\
   2: 00000000:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1777 1 0000000000000000 100 0 0 10 0\n\
   garbage\n";
        assert_eq!(listening_inodes(table, 9842), vec![41234]);
        assert_eq!(listening_inodes(table, 53), vec![1777]);
        assert!(listening_inodes(table, 80).is_empty());
        assert!(listening_inodes("", 80).is_empty());
    }

    #[tokio::test]
    async fn a_port_taken_by_this_process_names_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("address");
        let check = listen(addr);
        assert_eq!(check.status, Status::Fail, "{check}");
        let pid = std::process::id();
        assert!(check.detail.starts_with("in use by "), "{check}");
        assert!(check.detail.ends_with(&format!(" (pid {pid})")), "{check}");
        assert_eq!(
            check.fix.as_deref(),
            Some(
                format!(
                    "stop it (`ss -ltnp 'sport = :{}'` shows it), or choose another port with \
                     `listen` in [http] or `--listen`",
                    addr.port()
                )
                .as_str()
            )
        );
        drop(taken);
        assert_eq!(listen(addr).status, Status::Ok);
    }

    #[test]
    fn regression_a_file_permission_error_is_not_fixed_with_cap_net_raw() {
        for source in ["dhcp", "hostapd", "schedule", "kea_statistics"] {
            let fix = fix(source, ErrorKind::Permission);
            assert!(fix.contains("SupplementaryGroups="), "{source}: {fix}");
            assert!(fix.contains(&key_of(source)), "{source}: {fix}");
            assert!(!fix.contains("CAP_NET_RAW"), "{source}: {fix}");
        }
        let capture = fix("capture", ErrorKind::Permission);
        assert!(capture.contains("CAP_NET_RAW"), "{capture}");
        assert!(capture.contains("capture.conf"), "{capture}");
        assert!(!capture.contains("SupplementaryGroups="), "{capture}");
    }

    #[test]
    fn a_clock_before_2024_fails() {
        let old = jiff::Timestamp::from_second(0).expect("epoch");
        let check = clock(old);
        assert_eq!(check.status, Status::Fail);
        assert_eq!(
            check.to_string(),
            "FAIL clock: the clock says 1970-01-01 00:00 UTC: lease expiries, rates and the \
             programme would be wrong; fix: set the time: `timedatectl set-ntp true`, or \
             `date -s 'YYYY-MM-DD HH:MM'`"
        );
        let now = jiff::Timestamp::from_second(1_767_225_600).expect("2026");
        assert_eq!(clock(now).to_string(), "ok   clock: 2026-01-01 00:00 UTC");
    }

    #[test]
    fn zones_without_a_source_or_seats_and_pools_without_a_size_are_warnings() {
        let text = "[source.netdev]\nenabled = false\n[source.neighbours]\nenabled = false\n\n\
                    [[zone]]\nid = \"hall-a\"\nseats = 800\n\n\
                    [[zone]]\nid = \"room-b\"\n\n\
                    [[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"/nonexistent\"\nzone = \"hall-a\"\n";
        let (config, _) = crate::config::parse("venuemon.toml", text, "gw-1").expect("valid");
        let lines: Vec<String> = coverage(&config, &[])
            .iter()
            .chain(&thresholds(&config))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            [
                "ok   zone hall-a: covered by a source's zone",
                "warn zone room-b: no source covers it: it will always show 0 clients; fix: give \
                 [[zone]] room-b `interfaces` present on this host or `subnets`, or name it in a \
                 source's `zone`",
                "warn zone room-b thresholds: no seats: occupancy (occupancy_warn, \
                 occupancy_critical) is not judged; fix: set `seats` in [[zone]] room-b",
                "warn dhcp hall-a thresholds: pool size unknown: pool use (dhcp_pool_warn, \
                 dhcp_pool_critical) is not judged; fix: set `pool` (the server's ranges) in \
                 [[source.dhcp]] hall-a, or its Kea `control_socket`",
            ]
        );
    }

    /// A config of `body` whose state folder is `dir`.
    fn config_in(dir: &Path, body: &str) -> Config {
        let text = format!("[agent]\nstate_dir = \"{}\"\n\n{body}", dir.display());
        crate::config::parse("venuemon.toml", &text, "gw-1")
            .expect("valid")
            .0
    }

    /// The files in `dir`, sorted.
    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn history_off_is_a_warning_saying_what_is_lost() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config_in(dir.path(), "[history]\nenabled = false\n");
        let lines: Vec<String> = history(&config).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "warn history: off ([history] enabled = false): the report and the page's past \
              have nothing from this agent; fix: remove `enabled = false` from [history] (the \
              history is on by default)"
            ]
        );
    }

    #[test]
    fn regression_doctor_checks_the_history_file_a_fifo_a_folder_or_another_file_fail_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config_in(dir.path(), "");
        let path = dir.path().join("history.sqlite");
        let check = |expected: String| {
            let started = std::time::Instant::now();
            let checks = history(&config);
            assert!(started.elapsed() < Duration::from_secs(5), "it blocked");
            assert_eq!(checks[0].to_string(), expected);
            assert_eq!(checks[1].check, "history space");
        };
        check(format!(
            "ok   history {}: not made yet: the agent makes it at start, its folder is writable",
            path.display()
        ));
        crate::files::mkfifo(&path);
        check(format!(
            "FAIL history {}: is a FIFO (named pipe), not a regular file: give the path of the \
             file itself; fix: set `path` in [history] to the file itself",
            path.display()
        ));
        std::fs::remove_file(&path).expect("fifo removed");
        std::fs::create_dir(&path).expect("a folder in its place");
        check(format!(
            "FAIL history {}: is a directory, not a regular file: give the path of the file \
             itself; fix: set `path` in [history] to the file itself",
            path.display()
        ));
        std::fs::remove_dir(&path).expect("folder removed");
        // Regression: an empty file failed as "not a venuemon history", though the agent
        // makes the history in it.
        std::fs::write(&path, "").expect("an empty file");
        check(format!(
            "ok   history {}: empty: the agent will create the history in it, it and its folder \
             are writable",
            path.display()
        ));
        std::fs::remove_file(&path).expect("removed");
        let moved = "; fix: move the file away (keep it for that event's report) or set `path` \
                     in [history] to another file";
        std::fs::write(&path, "leases, not a database\n").expect("a text file");
        check(format!(
            "FAIL history {}: not a venuemon history (file is not a database): the agent would \
             keep no history{moved}",
            path.display()
        ));
        std::fs::remove_file(&path).expect("removed");
        rusqlite::Connection::open(&path)
            .and_then(|db| db.execute_batch("CREATE TABLE leases (ip TEXT);"))
            .expect("another SQLite file");
        check(format!(
            "FAIL history {}: not a venuemon history: the agent would keep no history{moved}",
            path.display()
        ));
        // Regression: a damaged history was "not a venuemon history" too.
        std::fs::remove_file(&path).expect("removed");
        rusqlite::Connection::open(&path)
            .and_then(|db| db.execute_batch("CREATE TABLE meta (key TEXT, value TEXT);"))
            .expect("an SQLite file");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes[100..512].fill(0xff);
        std::fs::write(&path, bytes).expect("damaged");
        check(format!(
            "FAIL history {}: cannot be read (database disk image is malformed): the agent \
             would keep no history; fix: {HISTORY_ELSEWHERE}",
            path.display()
        ));

        // Where the folder is not made yet, the nearest one above it counts.
        let deeper = config_in(&dir.path().join("a/b"), "");
        assert_eq!(
            history(&deeper)[0].to_string(),
            format!(
                "ok   history {}/a/b/history.sqlite: not made yet: the agent makes it and its \
                 folder at start, {} is writable",
                dir.path().display(),
                dir.path().display()
            )
        );
    }

    #[test]
    fn a_history_gives_the_time_it_covers_creating_no_file_and_another_version_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("history.sqlite");
        let options = crate::simulate::Options {
            days: 1,
            zones: 4,
            aps: 4,
            tick: Duration::from_secs(300),
            seed: 1,
        };
        let out = crate::simulate::Outputs {
            history: Some(path.clone()),
            ..crate::simulate::Outputs::default()
        };
        crate::simulate::run(&options, &out).expect("simulated");
        let before = files_in(dir.path());
        let config = config_in(dir.path(), "");
        assert_eq!(
            history(&config)[0].to_string(),
            format!(
                "ok   history {}: history of schema version {}, writable, holds 2026-06-02 \
                 00:00 UTC to 2026-06-02 23:55 UTC",
                path.display(),
                crate::history::SCHEMA_VERSION
            )
        );
        // Run as root, a `-shm` file made here would be root's, and the agent could not
        // open it.
        assert_eq!(files_in(dir.path()), before, "the doctor made a file");

        rusqlite::Connection::open(&path)
            .and_then(|db| {
                db.execute(
                    "UPDATE meta SET value = '0' WHERE key = 'schema_version'",
                    [],
                )
            })
            .expect("an older history");
        assert_eq!(
            history(&config)[0].to_string(),
            format!(
                "FAIL history {}: a history of schema version 0, this venuemon writes version \
                 {}: the agent would keep no history; fix: move the file away (keep it for that \
                 event's report) or set `path` in [history] to another file",
                path.display(),
                crate::history::SCHEMA_VERSION
            )
        );
    }

    #[test]
    fn history_space_warns_under_what_its_tick_rows_need() {
        const DAY: u64 = 86_400;
        // The measured event: 3 days of 50 zones at 5 s made 706 MB, its minute rows included.
        let event = history_need(50, Duration::from_secs(5), Duration::from_secs(3 * DAY));
        assert_eq!(event, 694_500_000);
        // A tick five times as often takes five times the tick rows, the same minute rows.
        let fast = history_need(50, Duration::from_secs(1), Duration::from_secs(3 * DAY));
        assert_eq!(fast, 150 * (5 * 4_100_000 + 530_000));
        // Zero-config: one zone, 5 s, the default 14 days.
        let config = config_in(Path::new("/srv/venuemon"), "");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(
            history_need(1, config.agent.tick, config.history.downsample_after),
            64_820_000
        );
        let why = "the rows need about 57 MB";
        let enough = history_space(Path::new("/srv"), 57_400_000, 57_400_000, why);
        assert_eq!(
            enough.to_string(),
            "ok   history space: 57 MB free on the filesystem of /srv; the rows need about 57 MB"
        );
        let short = history_space(Path::new("/srv"), 20_000_000, 57_400_000, why);
        assert_eq!(
            short.to_string(),
            "warn history space: 20 MB free on the filesystem of /srv; the rows need about 57 \
             MB: the history stops while the disk is full; fix: free space there, set `path` in \
             [history] on a larger filesystem, or shorten `downsample_after` in [history]"
        );
        // The whole line, from the config.
        let dir = tempfile::tempdir().expect("temp dir");
        let checks = history(&config_in(dir.path(), ""));
        assert!(
            checks[1].detail.ends_with(
                "; 1 zone at a 5s tick needs about 65 MB for the 14d they keep tick rows \
                 (`downsample_after`; 4.1 MB per zone and day at 5s, and 530 KB of 1-minute \
                 rows), then 530 KB per zone and day as 1-minute rows until `retention` (400d: \
                 205 MB more for an agent running all that time)"
            ),
            "{}",
            checks[1]
        );
    }

    #[test]
    fn regression_history_space_says_1_zone_not_1_zones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let one = history(&config_in(dir.path(), ""));
        assert!(
            one[1].detail.contains("; 1 zone at a 5s tick needs about"),
            "{}",
            one[1]
        );
        let two = history(&config_in(
            dir.path(),
            "[[zone]]\nid = \"hall-a\"\n\n[[zone]]\nid = \"room-b\"\n",
        ));
        assert!(
            two[1].detail.contains("; 2 zones at a 5s tick need about"),
            "{}",
            two[1]
        );
    }

    #[test]
    fn a_programme_far_from_now_is_a_warning() {
        let session = |starts, ends| crate::model::programme::ZoneSession {
            zone: 0,
            session: crate::model::programme::Session {
                title: "Keynote".into(),
                location: "hall-a".into(),
                starts,
                ends,
            },
        };
        let reports = vec![(
            "schedule:programme.ics".to_string(),
            Report {
                source: "schedule",
                instance: "programme.ics".into(),
                duration: Duration::ZERO,
                outcome: Ok(vec![Observation::Programme(Arc::from(vec![session(
                    1_767_254_400, // 2026-01-01 08:00 UTC
                    1_767_258_000,
                )]))]),
            },
        )];
        let during = programme(&reports, 1_767_250_000).expect("a check");
        assert_eq!(
            during.to_string(),
            "ok   programme dates: sessions from 2026-01-01 to 2026-01-01 (UTC)"
        );
        let a_year_later = programme(&reports, 1_798_790_400).expect("a check");
        assert_eq!(a_year_later.status, Status::Warn);
        assert_eq!(
            a_year_later.detail,
            "sessions from 2026-01-01 to 2026-01-01 (UTC), but today is 2027-01-01"
        );
    }

    #[test]
    fn a_client_with_two_neighbour_entries_is_one_client() {
        // A device with an IPv4 and an IPv6 neighbour entry is two sightings of one id (the
        // agent counted 3000 devices where doctor said 3500 clients); one sighting older
        // than the active window is not counted by the agent either.
        let key = ClientKey::from_bytes([9; 16]);
        let sighting = |mac: u8, age: u64| crate::model::clients::Sighting {
            client: key.client(&[2, 0, 0, 0, 0, mac]),
            zone: 0,
            age: Duration::from_secs(age),
        };
        let report = Report {
            source: "neighbours",
            instance: "netlink".into(),
            duration: Duration::ZERO,
            outcome: Ok(vec![Observation::Clients(vec![
                sighting(1, 0),
                sighting(1, 5),
                sighting(2, 0),
                sighting(3, 7200),
            ])]),
        };
        let check = source("neighbours:netlink", &report, Duration::from_secs(3600));
        assert_eq!(
            check.to_string(),
            "ok   source neighbours netlink: 2 clients"
        );
    }
}
