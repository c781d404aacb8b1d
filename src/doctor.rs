//! `venuemon doctor`: the build-day self-test with the real configuration. Every source the
//! config enables takes one sample exactly as the agent takes it (the sources' own checks:
//! files of the right type, sockets that answer, capabilities), and the rest of what the
//! agent needs is checked beside them: the clock, the state folder, the listen address, zones
//! no source covers, thresholds that cannot be judged. One [`Check`] per line, with the fix.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Coverage, Warning};
use crate::inventory::Inventory;
use crate::model::interfaces::Link;
use crate::model::{ErrorKind, Observation, Report};
use crate::privacy::ClientKey;
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
        format!("{loaded}: {} zones", config.zones.len()),
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
    checks.push(listen(config.http.listen));
    let reports = sample_sources(config, &mut checks).await;
    for (started, report) in &reports {
        checks.push(source(started, report));
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

/// The check line of one source's sample.
fn source(started: &str, report: &Report) -> Check {
    let check = format!("source {}", started.replacen(':', " ", 1));
    match &report.outcome {
        Ok(observations) => Check::ok(check, seen(observations)),
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

/// What a successful sample saw, in a few words.
fn seen(observations: &[Observation]) -> String {
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
            Observation::Clients(clients) => parts.push(format!("{} clients", clients.len())),
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
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a NUL-terminated path that outlives the call.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
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
    let tasks = TaskTracker::new();
    let links = match LinkReader::open(n.backend, &n.proc_root, &n.sys_root, &tasks) {
        Ok(reader) => tokio::time::timeout(Duration::from_secs(1), reader.links())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    tasks.close();
    let _ = tokio::time::timeout(STOP_GRACE, tasks.wait()).await;
    links
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
}
