//! The command line: `check-config` and `run` on good and bad files, environment variables.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{self, BIN};

fn venuemon(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .expect("venuemon runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 path").to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The version and the git revision the binary was built from: HEAD of this checkout when
/// built from git (as CI is), "unknown" otherwise (a source tarball).
#[test]
fn version_is_printed_with_the_git_revision() {
    let out = venuemon(&["--version"], &[]);
    assert!(out.status.success());
    let git = Command::new("git")
        .current_dir(common::project("."))
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "venuemon {} (revision {})",
            env!("CARGO_PKG_VERSION"),
            git.as_deref().unwrap_or("unknown")
        )
    );
}

/// `venuemon` hands the offline commands to `venuemon-tools` beside it, under its own name
/// (their usage reads `venuemon report`); copied alone, it runs the agent's commands and
/// says how to install the other program instead of failing obscurely.
#[test]
fn the_offline_commands_run_in_venuemon_tools_and_their_absence_is_explained() {
    let help = venuemon(&["--help"], &[]);
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for command in [
        "run",
        "check-config",
        "doctor",
        "simulate",
        "replay",
        "report",
    ] {
        assert!(help.contains(&format!("  {command} ")), "{command}: {help}");
    }
    let mistake = venuemon(&["report", "--no-such-option"], &[]);
    assert_eq!(mistake.status.code(), Some(2), "{}", stderr(&mistake));
    assert!(
        stderr(&mistake).contains("Usage: venuemon report"),
        "{}",
        stderr(&mistake)
    );
    let handed = venuemon(&["report", "--history", "/nonexistent/history.sqlite"], &[]);
    assert!(
        !handed.status.success() && stderr(&handed).contains("/nonexistent/history.sqlite"),
        "venuemon-tools ran the report: {}",
        stderr(&handed)
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let alone = dir.path().join("venuemon");
    std::fs::copy(BIN, &alone).expect("copy the agent");
    let config = write(dir.path(), "venuemon.toml", "");
    let checked = Command::new(&alone)
        .args(["check-config", &config])
        .output()
        .expect("venuemon runs");
    assert!(checked.status.success(), "{}", stderr(&checked));
    for command in [
        &["report"][..],
        &["simulate", "--history", "x.sqlite"],
        &["run", "--simulate"],
    ] {
        let out = Command::new(&alone)
            .args(command)
            .env("PATH", dir.path())
            .output()
            .expect("venuemon runs");
        assert_eq!(out.status.code(), Some(1), "{command:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "venuemon-tools, which is neither in {} beside this venuemon nor on PATH",
                dir.path().display()
            )) && stderr(&out).contains("cargo install --locked --path ."),
            "{command:?}: {}",
            stderr(&out)
        );
    }
}

/// Regression: with the agent installed as `venuemon-tools` too, `venuemon report` handed
/// the command back and forth for ever, silently; and a `venuemon-tools` of another build
/// (an old one on PATH) ran what the new `venuemon` handed it.
#[test]
fn regression_the_hand_over_neither_loops_nor_mixes_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["venuemon", "venuemon-tools"] {
        std::fs::copy(BIN, dir.path().join(name)).expect("copy the agent");
    }
    let out = Command::new(dir.path().join("venuemon"))
        .args(["report", "--history", "x.sqlite"])
        .output()
        .expect("venuemon runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is the agent itself"),
        "{}",
        stderr(&out)
    );

    let tools = env!("CARGO_BIN_EXE_venuemon-tools");
    let out = Command::new(tools)
        .args(["report", "--history", "x.sqlite"])
        .env("VENUEMON_HANDED_OVER_BY", "0.0.1 (revision 0123456789ab)")
        .output()
        .expect("venuemon-tools runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("venuemon 0.0.1 (revision 0123456789ab) started venuemon-tools")
            && stderr(&out).contains("from the same build"),
        "{}",
        stderr(&out)
    );
}

/// The binary carries its relative relocations packed (`DT_RELR`, build.rs) where the glibc
/// it is built on reads them (2.36 and later), and unpacked on an older one, which would not
/// start a binary with packed relocations. Packed, the ≈ 200 KiB of relocations glibc reads
/// at every start, and keeps resident, take a few KiB (docs/PERFORMANCE.md).
#[test]
fn relative_relocations_are_packed_where_glibc_reads_them() {
    // SAFETY: glibc returns a pointer to a static NUL-terminated string, such as "2.36".
    let glibc = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let glibc = glibc.to_str().expect("glibc's version is ASCII");
    let mut parts = glibc
        .split('.')
        .map(|n| n.parse::<u32>().expect("a number"));
    let reads_relr = (parts.next(), parts.next()) >= (Some(2), Some(36));
    let out = Command::new("readelf")
        .args(["--dynamic", BIN])
        .output()
        .expect("readelf runs (binutils, which the Rust linker needs anyway)");
    assert!(out.status.success(), "readelf: {}", stderr(&out));
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        dynamic.contains("(RELR)"),
        reads_relr,
        "glibc {glibc}, dynamic section:\n{dynamic}"
    );
}

#[test]
fn check_config_reports_every_mistake_of_a_file_with_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "venuemon.toml",
        r#"[venue]
name = "Expo"
colour = "blue"

[http]
listen = "not-an-address"

[agent]
tick = 5

[[zone]]
id = "hall-a"
seats = "lots"

[[zone]]
id = "hall-a"

[interfaces]
zone = "nowhere"
"#,
    );
    let out = venuemon(&["check-config", &file], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with(&file)).collect();
    let expect = [
        (3, "colour"),
        (6, "listen"),
        (9, "tick"),
        (13, "seats"),
        (16, "hall-a"),
        (19, "nowhere"),
    ];
    for (line, word) in expect {
        let prefix = format!("{file}:{line}:");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&prefix) && l.contains(word)),
            "no error at line {line} mentioning {word:?} in:\n{err}"
        );
    }
    assert!(err.contains("seats must be a positive integer"), "{err}");
    assert!(out.stdout.is_empty(), "nothing printed as understood");
}

#[test]
fn each_kind_of_mistake_has_its_own_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "unknown key",
            "[venue]\nnmae = \"x\"\n",
            "did you mean `name`",
        ),
        (
            "unknown table",
            "[source.probes]\nkind = \"icmp\"\n",
            "unknown table",
        ),
        ("wrong type", "[agent]\ntick = true\n", "tick"),
        (
            "bad address",
            "[http]\nlisten = \"300.1.1.1:80\"\n",
            "listen",
        ),
        (
            "duplicate zone",
            "[[zone]]\nid = \"a\"\n[[zone]]\nid = \"a\"\n",
            "duplicate",
        ),
        (
            "missing zone",
            "[[zone]]\nid = \"a\"\n[interfaces]\nzone = \"b\"\n",
            "does not exist",
        ),
        ("syntax", "[venue\nname = 1\n", "venuemon.toml:1:"),
    ];
    for (what, text, needle) in cases {
        let file = write(dir.path(), "venuemon.toml", text);
        let out = venuemon(&["check-config", &file], &[]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{what}: expected {needle:?} in:\n{}",
            stderr(&out)
        );
        let run = venuemon(&["run", "--config", &file], &[]);
        assert_eq!(
            run.status.code(),
            Some(2),
            "run refuses a bad config ({what})"
        );
    }
}

#[test]
fn a_good_file_is_described_and_absent_interfaces_are_only_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "venuemon.toml",
        "[[zone]]\nid = \"hall-a\"\nname = \"Salle A\"\nseats = 800\ninterfaces = [\"wlan-nowhere9\"]\nsubnets = [\"10.10.0.0/22\"]\n",
    );
    let out = venuemon(&["check-config", &file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("hall-a \"Salle A\": 800 seats"), "{stdout}");
    assert!(stdout.contains("10.10.0.0/22"), "{stdout}");
    assert!(stdout.contains("listen: 0.0.0.0:9842"), "{stdout}");
    assert!(
        stderr(&out).contains(
            "warning: zone \"hall-a\" interfaces: \"wlan-nowhere9\" matches no interface"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn environment_supplies_config_and_listen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "bad.toml", "[agent]\ntick = \"0s\"\n");
    let out = venuemon(&["run"], &[("VENUEMON_CONFIG", &file)]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "VENUEMON_CONFIG was read: {}",
        stderr(&out)
    );
    let out = venuemon(&["run"], &[("VENUEMON_LISTEN", "not-an-address")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("VENUEMON_LISTEN") || stderr(&out).contains("--listen"),
        "{}",
        stderr(&out)
    );
}

/// Regression: with `VENUEMON_CONFIG` set (as for a daemon), `run --simulate` failed with
/// "'--simulate' cannot be used with '--config'", an option nobody typed; typed, it still is.
#[test]
fn regression_venuemon_config_in_the_environment_does_not_conflict_with_simulate() {
    // --zones 3 is refused by the simulation itself: reaching that refusal shows the
    // options were accepted, without starting a venue.
    let out = venuemon(
        &["run", "--simulate", "--zones", "3"],
        &[("VENUEMON_CONFIG", "/etc/venuemon/venuemon.toml")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--zones must be from 4"),
        "{}",
        stderr(&out)
    );
    let typed = venuemon(&["run", "--simulate", "--config", "x.toml"], &[]);
    assert_eq!(typed.status.code(), Some(2), "{}", stderr(&typed));
}

/// `--config`, `VENUEMON_CONFIG` and `check-config` name the file that is missing (or not a
/// file) and exit 2, never telling to "pass --config" when it was passed; a FIFO is refused
/// without blocking.
#[test]
fn regression_a_missing_config_file_is_named_not_pass_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent").join("venuemon.toml");
    let missing = missing.to_str().expect("utf-8 path");
    let fifo = dir.path().join("fifo.toml");
    crate::common::mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8 path");
    let folder = dir.path().to_str().expect("utf-8 path");
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 6] = [
        (
            &["run", "--config", missing],
            &[],
            missing,
            "no such file: check the path",
        ),
        (
            &["run"],
            &[("VENUEMON_CONFIG", missing)],
            missing,
            "no such file: check the path",
        ),
        (
            &["check-config", missing],
            &[],
            missing,
            "no such file: check the path",
        ),
        (
            &["run", "--config", folder],
            &[],
            folder,
            "is a directory, not a regular file",
        ),
        (
            &["check-config", folder],
            &[],
            folder,
            "is a directory, not a regular file",
        ),
        (
            &["run", "--config", fifo],
            &[],
            fifo,
            "is a FIFO (named pipe), not a regular file",
        ),
    ];
    for (args, envs, path, what) in cases {
        let out = venuemon(args, envs);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&format!("{path}: {what}")), "{args:?}: {err}");
        assert!(!err.contains("--config"), "{args:?}: {err}");
    }
}

#[test]
fn the_example_config_checks_clean() {
    let example = common::project("deploy/venuemon.example.toml");
    let out = venuemon(&["check-config", example.to_str().expect("utf-8")], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn check_config_reads_the_programme_and_names_rooms_no_zone_is_called() {
    let dir = tempfile::tempdir().expect("temp dir");
    let event = |room: &str| {
        format!(
            "BEGIN:VEVENT\r\nSUMMARY:Talk\r\nLOCATION:{room}\r\nDTSTART:20261129T100000Z\r\nDTEND:20261129T110000Z\r\nEND:VEVENT\r\n"
        )
    };
    let programme = write(
        dir.path(),
        "programme.ics",
        &format!(
            "BEGIN:VCALENDAR\r\n{}{}{}BEGIN:VEVENT\r\nSUMMARY:No time\r\nLOCATION:hall-a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            event("Salle A"),
            event("hall-a"),
            event("Foyer")
        ),
    );
    let config = format!(
        "[[zone]]\nid = \"hall-a\"\nname = \"Salle A\"\n\n[schedule]\nfile = \"{programme}\"\n"
    );
    let file = write(dir.path(), "venuemon.toml", &config);
    let out = venuemon(&["check-config", &file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("  schedule: {programme}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("programme {programme}: 2 sessions in zones")),
        "{stdout}"
    );
    let err = stderr(&out);
    assert!(err.contains("1 event(s) cannot be read"), "{err}");
    assert!(
        err.contains("1 session(s) in room \"Foyer\", which no zone is called"),
        "{err}"
    );

    // A programme that cannot be read is a warning: the agent runs without it.
    std::fs::remove_file(&programme).expect("remove");
    let out = venuemon(&["check-config", &file], &[]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "warning: [schedule] file {programme}: No such file"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_config_never_prints_a_raw_escape_sequence() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A file name can hold any byte but `/`: its escape sequence must be shown, not run.
    let named = write(
        dir.path(),
        "venue\u{1b}[2J.toml",
        "[venue]\nname = \"Hall \\u001b]0;pwned\\u0007\"\n",
    );
    let out = venuemon(&["check-config", &named], &[]);
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(
        shown.contains("venue\\u{1b}[2J.toml:2:8: `venue.name` holds U+001B"),
        "{shown}"
    );
    let missing = dir.path().join("gone\u{1b}[31m.toml");
    let out = venuemon(&["run", "--config", missing.to_str().expect("utf-8")], &[]);
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
}

/// The field cases `ics-fold-inside-character` and `ics-windows-time-zone`: check-config reads
/// each programme as the agent will, places every session and shows when the programme runs.
#[test]
fn check_config_places_every_session_of_folded_and_windows_zone_programmes() {
    let fixtures = common::project_fixture("schedule");
    let dir = tempfile::tempdir().expect("temp dir");
    for (programme, zone, span) in [
        (
            "fold-inside-character.ics",
            "Salle Été",
            "programme span: 2027-06-03 09:00 -04:00 to 2027-06-03 12:00 -04:00 in \
             America/Toronto (2027-06-03 13:00 to 2027-06-03 16:00 UTC)",
        ),
        (
            "windows-time-zone.ics",
            "Salle A",
            "programme span: 2027-01-15 14:00 -05:00 to 2027-06-03 10:30 -04:00 in \
             America/Toronto (2027-01-15 19:00 to 2027-06-03 14:30 UTC)",
        ),
    ] {
        let programme = fixtures.join(programme);
        let programme = programme.to_str().expect("utf-8 path");
        let config = format!(
            "[venue]\ntimezone = \"America/Toronto\"\n\n[[zone]]\nid = \"hall\"\n\
             name = \"{zone}\"\nsubnets = [\"10.10.0.0/22\"]\n\n[schedule]\nfile = \"{programme}\"\n"
        );
        let file = write(dir.path(), "venuemon.toml", &config);
        let out = venuemon(&["check-config", &file], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!(
                "programme {programme}: 2 sessions in zones, every session placed\n"
            )),
            "{stdout}"
        );
        assert!(stdout.contains(span), "{stdout}");
        assert_eq!(stderr(&out), "", "no warning");
    }
}

#[test]
fn check_config_names_an_unknown_time_zone_and_keeps_the_rest_of_the_programme() {
    let dir = tempfile::tempdir().expect("temp dir");
    let event = |tzid: &str| {
        format!(
            "BEGIN:VEVENT\r\nSUMMARY:Talk\r\nLOCATION:Salle A\r\nDTSTART;TZID={tzid}:20270603T100000\r\n\
             DTEND;TZID={tzid}:20270603T110000\r\nEND:VEVENT\r\n"
        )
    };
    let programme = write(
        dir.path(),
        "programme.ics",
        &format!(
            "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
            event("Mars Standard Time"),
            event("W. Europe Standard Time")
        ),
    );
    let config = format!(
        "[[zone]]\nid = \"hall-a\"\nname = \"Salle A\"\n\n[schedule]\nfile = \"{programme}\"\n"
    );
    let file = write(dir.path(), "venuemon.toml", &config);
    let out = venuemon(&["check-config", &file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("programme {programme}: 1 sessions in zones\n")),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "programme span: 2027-06-03 08:00 +00:00 to 2027-06-03 09:00 +00:00 in UTC \
             (2027-06-03 08:00 to 2027-06-03 09:00 UTC)"
        ),
        "{stdout}"
    );
    let err = stderr(&out);
    assert!(err.contains("1 event(s) cannot be read"), "{err}");
    assert!(err.contains("unknown TZID \"Mars Standard Time\""), "{err}");
}

#[test]
fn check_config_refuses_a_fifo_as_the_programme_without_blocking() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("programme.ics");
    crate::common::mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8 path");
    let config = format!("[schedule]\nfile = \"{fifo}\"\n");
    let file = write(dir.path(), "venuemon.toml", &config);
    let out = venuemon(&["check-config", &file], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: [schedule] file {fifo}: is a FIFO (named pipe), not a regular file"
        )),
        "{}",
        stderr(&out)
    );
}

/// Logs written to a file, a pipe or the journal hold no colour codes; at a terminal they
/// are coloured unless `NO_COLOR` is set. `script` (util-linux) gives the agent a terminal.
#[test]
fn logs_are_coloured_only_at_a_terminal_without_no_color() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(
        dir.path(),
        "venuemon.toml",
        &format!(
            "[http]\nlisten = \"127.0.0.1:{}\"\n[agent]\nstate_dir = {:?}\n\
             [source.netdev]\nenabled = false\n[source.neighbours]\nenabled = false\n",
            crate::common::free_port(),
            dir.path().join("state").display().to_string()
        ),
    );
    let started = |log: &str| log.contains("venuemon started");
    let mut agent =
        crate::common::Agent::start(None, &["--config", &config], &[], dir.path().join("log"));
    crate::common::wait_for(
        "the agent's first log lines",
        std::time::Duration::from_secs(20),
        || started(&agent.log()).then_some(()),
    );
    agent.stop();
    assert!(
        !agent.log().contains('\u{1b}'),
        "colour in a log file: {:?}",
        agent.log()
    );

    let at_terminal = |no_color: &str| {
        let command = format!(
            "timeout -s TERM 3 {} run --config {config}",
            crate::common::BIN
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("NO_COLOR", no_color)
            .env_remove("JOURNAL_STREAM")
            .output()
            .expect("script (util-linux) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = at_terminal("");
    assert!(
        started(&coloured) && coloured.contains('\u{1b}'),
        "{coloured:?}"
    );
    let plain = at_terminal("1");
    assert!(started(&plain) && !plain.contains('\u{1b}'), "{plain:?}");
}

/// Needs root (a network namespace). Zero-config logs one line at start naming what it picked:
/// here, in a namespace holding two bridges, a container's bridge and a veth pair, the two
/// bridges; and logs to a pipe hold no escape sequence. A SIGTERM as soon as the line is out
/// stops the agent cleanly (the line once came before the signal handlers, and such a SIGTERM
/// killed the process).
#[test]
fn root_zero_config_start_line_lists_the_picked_interfaces_and_piped_logs_have_no_escape() {
    use std::io::BufRead;
    use std::process::Stdio;
    use std::time::Duration;

    crate::common::require_root("the zero-config start-up line");
    let ns = crate::venue::Netns::new(format!("vm-start-{}", std::process::id()));
    ns.ip(&["link", "add", "hall0", "type", "bridge"]);
    ns.ip(&["link", "add", "docker0", "type", "bridge"]);
    crate::venue::veth("vs0", Some(&ns), "vs1", Some(&ns));
    ns.ip(&["link", "add", "stage0", "type", "bridge"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");

    /// The agent, stopped when the test ends however it ends.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut agent = Running(
        Command::new("ip")
            .args(["netns", "exec", &ns.0, BIN, "run"])
            .env("STATE_DIRECTORY", &state)
            .env_remove("VENUEMON_CONFIG")
            .env_remove("VENUEMON_LOG")
            .env_remove("NO_COLOR")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("venuemon starts"),
    );
    let pipe = agent.0.stderr.take().expect("piped stderr");
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).split(b'\n') {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let start_line = loop {
        let line = received
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "no start-up line within 20 s:\n{}",
                    String::from_utf8_lossy(&log)
                )
            });
        log.extend_from_slice(&line);
        log.push(b'\n');
        let text = String::from_utf8_lossy(&line).into_owned();
        if text.contains("venuemon started") {
            break text;
        }
    };
    // SIGTERM, then the rest of the log up to exit.
    let pid = agent.0.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    log.extend(received.iter().flat_map(|mut line| {
        line.push(b'\n');
        line
    }));
    reader.join().expect("reader thread");
    let status = agent.0.wait().expect("exit status");
    let log_text = String::from_utf8_lossy(&log).into_owned();
    assert!(status.success(), "{status}:\n{log_text}");

    for field in [
        "config=\"zero-config\"",
        "zones=1",
        "interfaces=\"hall0,stage0\"",
        // Zero-config starts the interface and neighbour sources, then one per lease file
        // found; never a capture or a programme.
        "sources=\"netdev:netlink,neighbours:netlink",
    ] {
        assert!(start_line.contains(field), "{field} in {start_line}");
    }
    for kind in ["capture:", "schedule:"] {
        assert!(!start_line.contains(kind), "no {kind} in {start_line}");
    }
    // The lease files found at their usual Debian paths (none on a bare test machine).
    let found: Vec<&str> = [
        "/var/lib/misc/dnsmasq.leases",
        "/var/lib/dhcp/dhcpd.leases",
        "/var/lib/kea/kea-leases4.csv",
    ]
    .into_iter()
    .filter(|p| Path::new(p).is_file())
    .collect();
    let lease_files = if found.is_empty() {
        "none".to_string()
    } else {
        found.join(",")
    };
    let field = format!("lease_files=\"{lease_files}\"");
    assert!(start_line.contains(&field), "{field} in {start_line}");
    assert_eq!(
        log_text.matches("venuemon started").count(),
        1,
        "one start-up line:\n{log_text}"
    );
    assert!(
        !log.contains(&0x1b),
        "escape byte in piped logs:\n{log_text:?}"
    );
}

/// Regression: `replay --json … | head -c 100` and `check-config … | head -1` panicked with
/// "failed printing to stdout: Broken pipe" once the reader had gone.
#[test]
fn printing_into_a_pipe_whose_reader_is_gone_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let capture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/capture/cases/dhcp-classic.pcap"
    );
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/venuemon.example.toml");
    for args in [
        vec!["replay", "--json", capture],
        vec!["check-config", example],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("venuemon");
        // The reader goes away before the first line is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("exit");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {}",
            out.status
        );
    }
}

/// Issue 10: with `--log-format json` the configuration's errors were printed as text before
/// logging started. Every line the agent writes to stderr is one JSON object, each error
/// with its file, line, column and key.
#[test]
fn regression_json_logs_cover_config_errors_one_object_per_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "venuemon.toml",
        "[venue]\nname = \"Expo\"\ncolour = \"blue\"\n\n[agent]\ntick = 5\n",
    );
    let out = venuemon(
        &[
            "--log-format",
            "json",
            "--log",
            "info,bad=loud",
            "run",
            "--config",
            &file,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?} in\n{err}")))
        .collect();
    let error_at = |key: &str| {
        events
            .iter()
            .find(|e| e["key"] == key)
            .unwrap_or_else(|| panic!("no event with key {key} in\n{err}"))
    };
    let colour = error_at("venue.colour");
    assert_eq!(colour["level"], "ERROR");
    assert_eq!(colour["file"], file.as_str());
    assert_eq!(
        (colour["line"].as_u64(), colour["column"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(
        colour["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown key `colour`")),
        "{colour}"
    );
    let tick = error_at("agent.tick");
    assert_eq!(tick["line"].as_u64(), Some(6));
    // The bad log filter and the closing line are events too.
    assert!(
        events
            .iter()
            .any(|e| e["level"] == "WARN" && e["filter"] == "info,bad=loud"),
        "{err}"
    );
    assert!(
        events.iter().any(|e| e["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing was started"))),
        "{err}"
    );
}

/// Issue 10: `--listen :0` logged port 0. The start-up line gives the port the kernel chose,
/// and the agent answers there.
#[test]
fn regression_listen_on_port_0_logs_the_port_bound() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = write(
        dir.path(),
        "venuemon.toml",
        &format!(
            "[agent]\nstate_dir = {:?}\n[source.netdev]\nenabled = false\n\
             [source.neighbours]\nenabled = false\n",
            dir.path().join("state").display().to_string()
        ),
    );
    let mut agent = crate::common::Agent::start(
        None,
        &["--config", &config, "--listen", "127.0.0.1:0"],
        &[],
        dir.path().join("log"),
    );
    let line = crate::common::wait_for(
        "the start-up line",
        std::time::Duration::from_secs(20),
        || {
            agent
                .log()
                .lines()
                .find(|l| l.contains("venuemon started"))
                .map(str::to_string)
        },
    );
    let port: u16 = line
        .split("listen=127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no listen address in {line}"));
    assert_ne!(port, 0, "{line}");
    assert_eq!(
        crate::common::http_get(port, "/healthz").map(|(status, _)| status),
        Some(200)
    );
    assert!(agent.stop().success(), "{}", agent.log());
}

/// `venuemon report --config FILE` whose `[schedule] file` is missing (the programme was not
/// copied to the machine writing the report) warns in one line naming the file and writes
/// the report without sessions; `--programme MISSING`, asked for, stays an error.
#[test]
fn regression_report_with_a_configured_programme_missing_warns_and_writes_the_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("event.sqlite");
    let simulated = venuemon(
        &[
            "simulate",
            "--days",
            "1",
            "--zones",
            "4",
            "--aps",
            "4",
            "--tick",
            "5m",
            "--quiet",
            "--history",
            history.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(simulated.status.success(), "{}", stderr(&simulated));
    let missing = dir.path().join("programme.ics");
    let config = write(
        dir.path(),
        "venuemon.toml",
        &format!("[schedule]\nfile = \"{}\"\n", missing.display()),
    );
    let out = dir.path().join("report.html");
    let out = out.to_str().expect("utf-8");
    let history = history.to_str().expect("utf-8");
    let args = [
        "report",
        "--config",
        &config,
        "--history",
        history,
        "--out",
        out,
    ];
    let report = venuemon(&args, &[]);
    assert!(report.status.success(), "{}", stderr(&report));
    let warned: Vec<String> = stderr(&report)
        .lines()
        .filter(|l| l.contains("WARN"))
        .map(str::to_string)
        .collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(
        warned[0].contains("the report leaves the sessions out")
            && warned[0].contains(&format!("programme={}", missing.display())),
        "{warned:#?}"
    );
    assert_eq!(String::from_utf8_lossy(&report.stdout).trim(), out);
    assert!(std::fs::read_to_string(out).is_ok_and(|html| html.contains("<svg")));
    // The period chosen, and why, on the command line too.
    assert!(
        stderr(&report)
            .lines()
            .any(|l| l.contains("the report's period")
                && l.contains("from=2026-06-02T00:00:00Z")
                && l.contains("the last continuous recording, on 2 June 2026")),
        "{}",
        stderr(&report)
    );

    let missing = missing.to_str().expect("utf-8");
    let asked = venuemon(&[&args[..], &["--programme", missing]].concat(), &[]);
    assert_eq!(asked.status.code(), Some(1));
    assert!(
        stderr(&asked).contains(&format!("cannot read the programme {missing}")),
        "{}",
        stderr(&asked)
    );
}
