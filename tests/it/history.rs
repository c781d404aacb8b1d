//! The history store under faults, and `venuemon run --simulate`. Killing the agent needs
//! nothing special; the full-disk and read-only tests mount a small tmpfs (root).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, Agent, TestConfig};
use crate::venue::value as series;

/// Ticks in the history at `path` (0 while it cannot be read).
fn ticks(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .and_then(|db| db.query_row("SELECT count(*) FROM venue_ticks", [], |r| r.get(0)))
        .unwrap_or(0)
}

fn sigkill(agent: &mut Agent) {
    let pid = agent.pid().to_string();
    let killed = Command::new("kill").args(["-KILL", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "kill -KILL {pid}");
    agent.wait();
}

/// SIGKILL loses at most the tick being written: WAL, one transaction per tick, and a commit
/// in the kernel's page cache once `write` returns (synchronous=NORMAL).
#[test]
fn history_survives_sigkill_five_times_holding_every_tick_before_the_last() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = TestConfig::new(dir.path());
    let history = dir.path().join("state/history.sqlite");
    let mut before = 0;
    for round in 0..5 {
        let mut agent = config.start(None);
        // Two more ticks than the history held: this run is writing.
        let seen = common::wait_for("ticks written", Duration::from_secs(20), || {
            let n = ticks(&history);
            (n >= before + 2).then_some(n)
        });
        sigkill(&mut agent);
        let db = rusqlite::Connection::open(&history).expect("the history opens");
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok", "round {round}");
        let after = ticks(&history);
        assert!(
            after >= seen,
            "round {round}: {seen} ticks were read before the kill, {after} after"
        );
        before = after;
    }
}

/// Mounts a tmpfs of `size` at `at`; unmounted by the returned guard.
pub struct Tmpfs(pub std::path::PathBuf);

impl Tmpfs {
    pub fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).expect("mount point");
        let out = common::run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                at.to_str().expect("utf-8"),
            ],
        );
        assert!(out.status.success(), "mount: {out:?}");
        Tmpfs(at.to_path_buf())
    }

    pub fn read_only(&self) {
        let at = self.0.to_str().expect("utf-8");
        let out = common::run("mount", &["-o", "remount,ro", at]);
        assert!(out.status.success(), "remount: {out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Waits until `/metrics` shows history off for one of `kinds`, then checks the page still
/// answers and the agent said so once.
fn history_turns_off(agent: &Agent, port: u16, kinds: &[&str]) {
    let errors: Vec<String> = kinds
        .iter()
        .map(|kind| format!("venuemon_history_write_errors_total{{kind=\"{kind}\"}}"))
        .collect();
    let metrics = common::metrics_when(port, "history off", Duration::from_secs(20), |m| {
        series(m, "venuemon_history_up") == Some(0.0)
            && errors.iter().any(|e| series(m, e) >= Some(1.0))
    });
    assert_eq!(
        series(&metrics, "venuemon_zone_clients{zone=\"hall\"}"),
        Some(0.0)
    );
    let (status, _) = common::http_get(port, "/").expect("the page answers");
    assert_eq!(status, 200);
    // Several ticks later: still one line.
    std::thread::sleep(Duration::from_secs(3));
    assert!(common::http_get(port, "/metrics").is_some());
    let log = agent.log();
    assert_eq!(log.matches("history off").count(), 1, "{log}");
}

#[test]
fn root_history_on_a_full_disk_turns_off_with_a_metric_and_one_line_while_the_agent_serves() {
    common::require_root("a small tmpfs");
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = Tmpfs::mount(&dir.path().join("disk"), "256k");
    // Leave less room than the history's tables take.
    std::fs::write(disk.0.join("filler"), vec![0u8; 240 * 1024]).expect("filler");
    let config = TestConfig::new(dir.path()).section(&format!(
        "[history]\npath = \"{}\"\n",
        disk.0.join("history.sqlite").display()
    ));
    let agent = config.start(None);
    history_turns_off(&agent, config.port, &["disk_full"]);
}

#[test]
fn root_history_on_a_read_only_file_turns_off_with_a_metric_and_one_line_while_the_agent_serves() {
    common::require_root("a tmpfs remounted read-only");
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = Tmpfs::mount(&dir.path().join("disk"), "8m");
    let history = disk.0.join("history.sqlite");
    let config = TestConfig::new(dir.path())
        .section(&format!("[history]\npath = \"{}\"\n", history.display()));
    let mut agent = config.start(None);
    common::metrics_when(config.port, "history up", Duration::from_secs(20), |m| {
        series(m, "venuemon_history_up") == Some(1.0)
    });
    agent.stop();
    disk.read_only();
    let agent = config.start(None);
    // SQLite cannot make the WAL's shared-memory file in a read-only folder and says
    // "unable to open": the agent tells it is read-only, and what to do.
    history_turns_off(&agent, config.port, &["read_only"]);
    let metrics = common::http_get(config.port, "/metrics")
        .expect("metrics")
        .1;
    assert_eq!(
        series(
            &metrics,
            "venuemon_history_write_errors_total{kind=\"cannot_open\"}"
        ),
        Some(0.0)
    );
    let log = agent.log();
    let line = log
        .lines()
        .find(|l| l.contains("history off"))
        .expect("the line");
    assert!(
        line.contains("make the file and its folder writable by the agent's user")
            && line.contains("or set [history] path to a file in a writable folder"),
        "{line}"
    );
}

/// `venuemon run --simulate` serves a lively venue: the foyer fills as the doors open.
#[test]
fn run_simulate_serves_the_simulated_venue_on_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let _agent = common::simulated_agent(dir.path(), port, &[]);
    let metrics = common::metrics_when(port, "simulated clients", Duration::from_secs(20), |m| {
        series(m, "venuemon_zone_clients{zone=\"foyer\"}").is_some_and(|n| n > 0.0)
    });
    assert!(series(&metrics, "venuemon_zone_capacity_seats{zone=\"main-hall\"}").is_some());
    assert_eq!(
        series(
            &metrics,
            "venuemon_source_up{instance=\"room-01\",source=\"dhcp\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    let (status, page) = common::http_get(port, "/").expect("the page answers");
    assert_eq!(status, 200);
    assert!(page.contains("Main hall"), "{page}");
}

/// Regression: a run stopped by SIGTERM within its first minute wrote a quarter of the
/// unique devices `/api/status` gave (the foyer's 410 became about 100): the sightings made
/// before the first snapshot were dropped from the hour's sketch, and a simulated device is
/// seen again only once a minute. A normal stop writes every tick published before it, the
/// last included, and each zone's sketch as the last tick had it: the file's unique devices
/// per zone are the page's, exactly (the same sketch).
#[test]
fn regression_sigterm_in_the_first_minute_keeps_every_tick_and_the_pages_unique_devices() {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("history.sqlite");
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "--simulate",
        "--zones",
        "5",
        "--aps",
        "10",
        "--tick",
        "5s",
        "--listen",
        &listen,
        "--history",
        history.to_str().expect("utf-8"),
    ];
    let mut agent = Agent::start(None, &args, &[], dir.path().join("agent.log"));
    let status = || -> Option<serde_json::Value> {
        let (code, body) = common::http_get(port, "/api/status")?;
        (code == 200).then(|| serde_json::from_str(&body).ok())?
    };
    let at = |s: &serde_json::Value| s["generated_at"].as_u64().unwrap_or(0);
    // Three ticks (the agent's first ten seconds or so), then just after a fresh one, with
    // five seconds before the next.
    let first = common::wait_for("a first tick", Duration::from_secs(20), || {
        status().filter(|s| at(s) > 0)
    });
    let later = common::wait_for("two ticks more", Duration::from_secs(30), || {
        status().filter(|s| at(s) >= at(&first) + 10)
    });
    let last = common::wait_for("a fresh tick", Duration::from_secs(10), || {
        status().filter(|s| at(s) > at(&later))
    });
    agent.stop();

    let db = rusqlite::Connection::open(&history).expect("the history opens");
    let written: Vec<u64> = db
        .prepare("SELECT at FROM venue_ticks ORDER BY at")
        .and_then(|mut s| s.query_map([], |r| r.get::<_, i64>(0))?.collect())
        .map(|ticks: Vec<i64>| ticks.into_iter().map(|t| t.unsigned_abs()).collect())
        .expect("ticks");
    for seen in [&first, &later, &last] {
        assert!(written.contains(&at(seen)), "{} in {written:?}", at(seen));
    }
    let (from, to) = (written[0], at(&last));
    assert_eq!(written.last(), Some(&to), "the last tick before the stop");
    let zones = last["zones"].as_array().expect("zones");
    let foyer = zones
        .iter()
        .find(|z| z["id"] == "foyer")
        .expect("the foyer");
    assert!(
        foyer["unique_clients_estimate"].as_f64() > Some(50.0),
        "{foyer}"
    );
    for zone in zones {
        let id = zone["id"].as_str().expect("id");
        let written = venuemon::history::store::unique_devices(&db, &[id], from, to)
            .expect("the zone's sketches");
        assert_eq!(
            Some(written.round()),
            zone["unique_clients_estimate"].as_f64(),
            "zone {id}"
        );
    }
}

/// `venuemon run --simulate` says at start what it serves: the simulated venue, its
/// interfaces and sources, not this host's interfaces, which it does not watch.
#[test]
fn regression_run_simulate_start_line_lists_the_simulated_venue_not_the_hosts_interfaces() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let agent = common::simulated_agent(dir.path(), port, &["--log-format", "json"]);
    let line = common::wait_for("the start line", Duration::from_secs(20), || {
        agent
            .log()
            .lines()
            .find(|l| l.contains("\"venuemon started\""))
            .map(str::to_string)
    });
    let fields: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(fields["config"], "simulated", "{line}");
    assert_eq!(fields["zones"], 5, "{line}");
    assert_eq!(
        fields["interfaces"], "uplink0,br001,br002,br003,br004,br005",
        "{line}"
    );
    let venue = fields["venue"].as_str().expect("venue");
    assert!(
        venue.starts_with("5 zones, 10 access points, ") && venue.ends_with(", a 1s tick, seed 1"),
        "{line}"
    );
    let sources = fields["sources"].as_str().expect("sources");
    assert!(
        sources.starts_with("schedule:programme.ics,netdev:sim,hostapd:main-hall,dhcp:main-hall,"),
        "{line}"
    );
    assert!(fields.get("lease_files").is_none(), "{line}");
}

/// `venuemon simulate` shows its progress on stderr at each tenth of the event (not with
/// `--quiet`), and what the hub logs of the simulated event (the first room's DHCP source
/// failing at 15:00 and recovering at 15:20 on day 1) carries the simulated time, not only
/// the wall clock's.
#[test]
fn regression_simulate_shows_progress_and_logs_the_simulated_time() {
    // A simulation with nothing to write is refused: the truth is the smallest output.
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = dir.path().join("truth.json");
    let simulate = |extra: &[&str]| {
        let output = Command::new(common::BIN)
            .args([
                "simulate", "--days", "1", "--zones", "4", "--aps", "4", "--tick", "1m",
            ])
            .arg("--truth")
            .arg(&truth)
            .args(extra)
            .output()
            .expect("venuemon simulate runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).expect("UTF-8")
    };
    let stderr = simulate(&[]);
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("simulated 2026-"))
        .collect();
    assert_eq!(progress.len(), 9, "{stderr}");
    assert!(
        progress[0].starts_with("simulated 2026-06-02T02:23:00Z (10 %, 144 of 1440 ticks) in "),
        "{stderr}"
    );
    assert!(
        progress[8].starts_with("simulated 2026-06-02T21:35:00Z (90 %, 1296 of 1440 ticks) in "),
        "{stderr}"
    );
    let line = |what: &str| {
        stderr
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in {stderr}"))
            .to_string()
    };
    assert!(
        line("source failed").contains("simulated{simulated_time=2026-06-02T15:00:00Z}"),
        "{stderr}"
    );
    assert!(
        line("source recovered").contains("simulated{simulated_time=2026-06-02T15:20:00Z}"),
        "{stderr}"
    );

    let json = simulate(&["--log-format", "json"]);
    let events: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .filter(|e: &serde_json::Value| e["message"] == "simulating")
        .collect();
    assert_eq!(events.len(), 9, "{json}");
    assert_eq!(
        events[0]["simulated_time"], "2026-06-02T02:23:00Z",
        "{json}"
    );
    assert_eq!(events[0]["percent"], 10, "{json}");

    let quiet = simulate(&["--quiet", "--log-format", "json"]);
    assert!(!quiet.contains("simulated 2026-"), "{quiet}");
    let failed: serde_json::Value = serde_json::from_str(
        quiet
            .lines()
            .find(|l| l.contains("source failed"))
            .unwrap_or_else(|| panic!("no failure logged: {quiet}")),
    )
    .expect("a JSON log line");
    assert_eq!(
        failed["span"]["simulated_time"], "2026-06-02T15:00:00Z",
        "{failed}"
    );
}

/// Regression: a history on a read-only filesystem (a backup stick, a read-only mount) was
/// "not a venuemon history" to the report: SQLite could not make the `-shm` file beside it.
#[test]
fn lab_root_a_history_on_a_read_only_filesystem_gives_its_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stick = Tmpfs::mount(&dir.path().join("stick"), "16m");
    let history = stick.0.join("event.sqlite");
    let simulated = Command::new(common::BIN)
        .args([
            "simulate", "--quiet", "--days", "1", "--zones", "4", "--aps", "4",
        ])
        .args([
            "--tick",
            "5m",
            "--history",
            history.to_str().expect("utf-8"),
        ])
        .output()
        .expect("venuemon simulate runs");
    assert!(simulated.status.success(), "{simulated:?}");
    stick.read_only();
    let out = dir.path().join("report.html");
    let report = Command::new(common::BIN)
        .args(["report", "--history", history.to_str().expect("utf-8")])
        .args(["--out", out.to_str().expect("utf-8")])
        .output()
        .expect("venuemon report runs");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(&out).expect("the report");
    assert!(html.contains("<svg"), "a report with its charts");
}
