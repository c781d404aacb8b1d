//! `venuemon doctor` against real setups: a hall with a real dnsmasq handing leases to real
//! clients and a live capture (needs root, dnsmasq, udhcpc), and broken ones: a missing lease
//! file, a FIFO for one, capture without the capability (as `nobody` through `setpriv`), the
//! listen port taken. Exit status and the exact lines are asserted.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{self, BIN, mac};
use crate::dhcp_lab::{self, Processes};
use crate::venue::Hall;

/// `venuemon doctor --config FILE` through `prefix` (`ip netns exec NS`, `setpriv ...`).
fn doctor(prefix: &[&str], bin: &str, config: &Path, extra: &[&str]) -> Output {
    let mut command = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    command
        .args(["doctor", "--config"])
        .arg(config)
        .args(extra)
        .output()
        .expect("venuemon doctor runs")
}

/// Its lines, with the clock's (which says the time) checked and taken out.
fn lines(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("ok   clock: 20")),
        "no clock line: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    lines
        .into_iter()
        .filter(|l| !l.starts_with("ok   clock: "))
        .collect()
}

/// The history space line (which says how much is free here), and the other lines.
fn history_space(lines: Vec<String>) -> (String, Vec<String>) {
    let (space, others): (Vec<String>, Vec<String>) = lines
        .into_iter()
        .partition(|l| l.contains(" history space: "));
    assert_eq!(space.len(), 1, "one history space line: {space:#?}");
    (space.into_iter().next().unwrap_or_default(), others)
}

/// A config of `body` in `dir`, with the listen address and a state folder that exists.
fn config(dir: &Path, listen: &str, body: &str) -> std::path::PathBuf {
    let state = dir.join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let path = dir.join("venuemon.toml");
    let text = format!(
        "[http]\nlisten = \"{listen}\"\n\n[agent]\nstate_dir = \"{}\"\n\n{body}",
        state.display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

const NO_HOST_SOURCES: &str = "[source.netdev]\nenabled = false\n\n\
                               [source.neighbours]\nenabled = false\n\n";

fn dnsmasq_config(dir: &Path, listen: &str, leases: &Path) -> std::path::PathBuf {
    let body = format!(
        "{NO_HOST_SOURCES}[[zone]]\nid = \"hall\"\nseats = 100\nsubnets = [\"10.77.0.0/24\"]\n\n\
         [[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"hall\"\nleases = \"{}\"\n\
         pool = \"10.77.0.10-10.77.0.200\"\nzone = \"hall\"\n",
        leases.display()
    );
    config(dir, listen, &body)
}

#[test]
fn lab_root_doctor_passes_a_hall_with_real_leases_and_a_capture() {
    dhcp_lab::require_dhcp_tools();
    let macs = [mac(1), mac(2)];
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("doctor", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dhcp_lab::script(dir.path());
    let mut processes = Processes(vec![dhcp_lab::dnsmasq(
        &hall,
        dir.path(),
        "10.77.0.10,10.77.0.200",
    )]);
    for n in 0..2 {
        let name = format!("doctor-{n}");
        let client = dhcp_lab::client(&hall, n, dir.path(), &script, &name);
        processes.0.push(client);
    }
    let leases = dir.path().join("dnsmasq.leases");
    common::wait_for("two leases", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&leases).ok()?;
        (text.lines().count() == 2).then_some(())
    });
    let body = format!(
        "[source.neighbours]\nenabled = false\n\n\
         [[zone]]\nid = \"hall\"\nseats = 100\ninterfaces = [\"hall0\"]\n\
         subnets = [\"10.77.0.0/24\"]\n\n\
         [[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"hall\"\nleases = \"{}\"\n\
         pool = \"10.77.0.10-10.77.0.200\"\nzone = \"hall\"\n\n\
         [[source.capture]]\ninterface = \"hall0\"\n",
        leases.display()
    );
    let path = config(dir.path(), "127.0.0.1:9842", &body);
    let output = doctor(&["ip", "netns", "exec", &hall.hall.0], BIN, &path, &[]);
    let state = dir.path().join("state");
    let (space, found) = history_space(lines(&output));
    assert!(space.starts_with("ok   history space: "), "{space}");
    assert_eq!(
        found,
        [
            format!("ok   config: {} loaded: 1 zone", path.display()),
            format!(
                "ok   state dir {}: writable; the event key is made at start",
                state.display()
            ),
            format!(
                "ok   history {}/history.sqlite: not made yet: the agent makes it at start, its \
                 folder is writable",
                state.display()
            ),
            "ok   listen 127.0.0.1:9842: free".to_string(),
            "ok   source netdev netlink: 1 interfaces (hall0)".to_string(),
            "ok   source dhcp hall: 2 leases active of 191, 2 clients".to_string(),
            "ok   source capture hall0: capturing on hall0, 0 clients".to_string(),
            "ok   zone hall: covered by a source's zone, interfaces hall0".to_string(),
        ],
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0));
    assert!(
        !state.join("default.key").exists(),
        "the doctor made the event key"
    );

    // The same, as JSON.
    let output = doctor(
        &["ip", "netns", "exec", &hall.hall.0],
        BIN,
        &path,
        &["--json"],
    );
    assert_eq!(output.status.code(), Some(0));
    let checks: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let dhcp = checks
        .as_array()
        .and_then(|a| a.iter().find(|c| c["check"] == "source dhcp hall"))
        .expect("the DHCP check");
    assert_eq!(
        *dhcp,
        serde_json::json!({
            "status": "ok",
            "check": "source dhcp hall",
            "detail": "2 leases active of 191, 2 clients",
            "fix": null,
        })
    );
}

#[test]
fn doctor_fails_a_missing_lease_file_and_a_fifo_naming_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    let listen = format!("127.0.0.1:{}", common::free_port());
    let path = dnsmasq_config(dir.path(), &listen, &leases);
    let fix = "; fix: check `leases` in [[source.dhcp]], and that the program behind it runs";
    let output = doctor(&[], BIN, &path, &[]);
    let found = lines(&output);
    let expected = format!(
        "FAIL source dhcp hall: {} does not exist: is the DHCP server running, and is `leases` \
         of this [[source.dhcp]] its lease file?{fix}",
        leases.display()
    );
    assert!(found.contains(&expected), "{found:#?}");
    assert_eq!(output.status.code(), Some(1));

    common::run("mkfifo", &[leases.to_str().expect("utf-8 path")]);
    let output = doctor(&[], BIN, &path, &[]);
    let found = lines(&output);
    let expected = format!(
        "FAIL source dhcp hall: {} is a FIFO (named pipe), not a regular file: give the path of \
         the file itself; fix: set `leases` in [[source.dhcp]] to the file itself",
        leases.display()
    );
    assert!(found.contains(&expected), "{found:#?}");
    assert_eq!(output.status.code(), Some(1));
    // Every other check still ran, and passed.
    assert!(
        found.contains(&format!("ok   listen {listen}: free")),
        "{found:#?}"
    );
}

/// The doctor checks the history file the config names: a FIFO there fails at once (never
/// read), a history written by `venuemon simulate` gives the time it covers.
#[test]
fn regression_doctor_checks_the_history_a_fifo_fails_and_a_history_gives_its_range() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    std::fs::write(&leases, "").expect("empty lease file");
    let history = dir.path().join("event.sqlite");
    let body = format!(
        "[history]\npath = \"{}\"\n\n{NO_HOST_SOURCES}[[zone]]\nid = \"hall\"\nseats = 100\n\n\
         [[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"hall\"\nleases = \"{}\"\n\
         pool = \"10.77.0.10-10.77.0.200\"\nzone = \"hall\"\n",
        history.display(),
        leases.display()
    );
    let listen = format!("127.0.0.1:{}", common::free_port());
    let path = config(dir.path(), &listen, &body);

    common::run("mkfifo", &[history.to_str().expect("utf-8 path")]);
    let started = std::time::Instant::now();
    let output = doctor(&[], BIN, &path, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the doctor blocked"
    );
    let (_, found) = history_space(lines(&output));
    let expected = format!(
        "FAIL history {}: is a FIFO (named pipe), not a regular file: give the path of the file \
         itself; fix: set `path` in [history] to the file itself",
        history.display()
    );
    assert!(found.contains(&expected), "{found:#?}");
    assert_eq!(output.status.code(), Some(1));

    std::fs::remove_file(&history).expect("fifo removed");
    let simulated = Command::new(BIN)
        .args([
            "simulate", "--days", "1", "--zones", "4", "--aps", "4", "--tick", "5m",
        ])
        .arg("--history")
        .arg(&history)
        .output()
        .expect("venuemon simulate runs");
    assert!(simulated.status.success(), "{simulated:?}");
    let output = doctor(&[], BIN, &path, &[]);
    let (space, found) = history_space(lines(&output));
    let expected = format!(
        "ok   history {}: history of schema version {}, writable, holds 2026-06-02 00:00 UTC to \
         2026-06-02 23:55 UTC",
        history.display(),
        venuemon::history::SCHEMA_VERSION
    );
    assert!(found.contains(&expected), "{found:#?}");
    assert!(
        space.starts_with("ok   history space: ") && space.contains("; 1 zone at a 5s tick"),
        "{space}"
    );
    assert_eq!(output.status.code(), Some(0), "{found:#?}");

    // Regression: a history of an older schema the agent upgrades was "ok", and the report
    // then refused it.
    for older in venuemon::history::UPGRADES_FROM {
        let db = rusqlite::Connection::open(&history).expect("opens");
        db.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [older],
        )
        .expect("an older history");
        drop(db);
        let output = doctor(&[], BIN, &path, &[]);
        let (_, found) = history_space(lines(&output));
        let expected = format!(
            "warn history {}: history of schema version {older}, writable, holds 2026-06-02 \
             00:00 UTC to 2026-06-02 23:55 UTC; the agent upgrades it to version {} when it \
             starts on it, and `venuemon report` reads it only after that; fix: start this \
             version's agent on it once (`venuemon run` with this config: it upgrades the file \
             as it opens it, a minute is enough), then write the report",
            history.display(),
            venuemon::history::SCHEMA_VERSION
        );
        assert!(found.contains(&expected), "{found:#?}");
    }
}

/// On a disk remounted read-only, the history fails (the agent could not write it); on a
/// disk smaller than its tick rows need, the space line warns and says what to do.
#[test]
fn root_doctor_fails_a_read_only_history_and_warns_of_a_disk_too_small() {
    common::require_root("a tmpfs remounted read-only");
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = crate::history::Tmpfs::mount(&dir.path().join("disk"), "4m");
    let history = disk.0.join("history.sqlite");
    let simulated = Command::new(BIN)
        .args([
            "simulate", "--days", "1", "--zones", "4", "--aps", "4", "--tick", "5m",
        ])
        .arg("--history")
        .arg(&history)
        .output()
        .expect("venuemon simulate runs");
    assert!(simulated.status.success(), "{simulated:?}");
    let body = format!(
        "[history]\npath = \"{}\"\n\n{NO_HOST_SOURCES}[[zone]]\nid = \"hall\"\nseats = 100\n",
        history.display()
    );
    let listen = format!("127.0.0.1:{}", common::free_port());
    let path = config(dir.path(), &listen, &body);
    let (space, found) = history_space(lines(&doctor(&[], BIN, &path, &[])));
    let ok = format!(
        "ok   history {}: history of schema version {}, writable",
        history.display(),
        venuemon::history::SCHEMA_VERSION
    );
    assert!(found.iter().any(|l| l.starts_with(&ok)), "{found:#?}");
    // 4 MB free, where one zone at 5 s needs 65 MB for its 14 days of tick rows (and the
    // minute rows written beside them).
    assert!(
        space.starts_with("warn history space: ")
            && space.contains(&format!("free on the filesystem of {}; ", disk.0.display()))
            && space.contains("; 1 zone at a 5s tick needs about 65 MB for the 14d")
            && space.ends_with(
                ": the history stops while the disk is full; fix: free space there, set `path` \
                 in [history] on a larger filesystem, or shorten `downsample_after` in [history]"
            ),
        "{space}"
    );

    disk.read_only();
    let output = doctor(&[], BIN, &path, &[]);
    let (_, found) = history_space(lines(&output));
    let expected = format!(
        "FAIL history {}: not writable with its folder (Read-only file system (os error 30)): \
         the agent would keep no history; fix: let the agent's user write the file and its \
         folder (`ls -l` shows their owner and mode), or set `path` in [history] to another \
         file",
        history.display()
    );
    assert!(found.contains(&expected), "{found:#?}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn doctor_fails_a_taken_port_naming_the_program() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    std::fs::write(&leases, "").expect("empty lease file");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let path = dnsmasq_config(dir.path(), &format!("127.0.0.1:{port}"), &leases);
    let output = doctor(&[], BIN, &path, &[]);
    let comm = std::fs::read_to_string("/proc/self/comm").expect("comm");
    let expected = format!(
        "FAIL listen 127.0.0.1:{port}: in use by {} (pid {}); fix: stop it (`ss -ltnp 'sport = \
         :{port}'` shows it), or choose another port with `listen` in [http] or `--listen`",
        comm.trim(),
        std::process::id()
    );
    let found = lines(&output);
    assert!(found.contains(&expected), "{found:#?}");
    assert!(
        found.contains(&"ok   source dhcp hall: 0 leases active of 191, 0 clients".to_string()),
        "{found:#?}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn doctor_as_nobody_fails_capture_without_cap_net_raw() {
    common::require_root("doctor_as_nobody_fails_capture_without_cap_net_raw");
    common::require_tool("setpriv", "util-linux");
    // The binary and config where `nobody` can read them (the checkout may be under /root).
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = dir.path().join("venuemon");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    let listen = format!("127.0.0.1:{}", common::free_port());
    let body = format!(
        "{NO_HOST_SOURCES}[[zone]]\nid = \"hall\"\nseats = 100\n\n\
         [[source.capture]]\ninterface = \"lo\"\nzone = \"hall\"\n"
    );
    let path = config(dir.path(), &listen, &body);
    common::run(
        "chown",
        &[
            "nobody:nogroup",
            dir.path().join("state").to_str().expect("utf-8"),
        ],
    );
    let nobody = [
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ];
    let output = doctor(&nobody, bin.to_str().expect("utf-8"), &path, &[]);
    let found = lines(&output);
    let expected = "FAIL source capture lo: cannot capture on lo: Operation not permitted (os \
                    error 1); capture needs root or CAP_NET_RAW (setcap cap_net_raw+ep on the \
                    binary, or AmbientCapabilities=CAP_NET_RAW in the unit); fix: give the \
                    agent CAP_NET_RAW: deploy/systemd/venuemon.service.d/capture.conf (README, \
                    Installing)";
    assert!(found.contains(&expected.to_string()), "{found:#?}");
    assert_eq!(output.status.code(), Some(1));

    // As root, the same config passes.
    let output = doctor(&[], BIN, &path, &[]);
    let found = lines(&output);
    assert!(
        found.contains(&"ok   source capture lo: capturing on lo, 0 clients".to_string()),
        "{found:#?}"
    );
    assert_eq!(output.status.code(), Some(0), "{found:#?}");
}

#[test]
fn doctor_exits_2_on_a_config_error_as_check_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("venuemon.toml");
    std::fs::write(&path, "[[zone]]\nid = \"hall\"\nseats = 0\n").expect("write config");
    let output = doctor(&[], BIN, &path, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("seats must be a positive integer"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

/// hostapd (wired driver) on one veth port of namespace `ns`, its control socket in `ctrl`
/// open to group `netdev` (`ctrl_interface_group`), as the unit's hostapd.conf drop-in expects.
pub fn hostapd(ns: &crate::venue::Netns, dir: &Path, ctrl: &Path) -> std::process::Child {
    common::require_tool("hostapd", "hostapd");
    ns.ip(&["link", "add", "ap1", "type", "veth", "peer", "name", "ap1p"]);
    ns.ip(&["link", "set", "ap1", "up"]);
    ns.ip(&["link", "set", "ap1p", "up"]);
    let conf = dir.join("hostapd.conf");
    std::fs::write(
        &conf,
        format!(
            "interface=ap1\ndriver=wired\nctrl_interface={}\nctrl_interface_group=netdev\n\
             use_pae_group_addr=0\n",
            ctrl.display()
        ),
    )
    .expect("hostapd.conf");
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0, "hostapd"])
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("hostapd starts");
    common::wait_for("hostapd's socket", Duration::from_secs(10), || {
        std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.connect(ctrl.join("ap1")))
            .ok()
    });
    child
}

#[test]
fn lab_root_doctor_as_nobody_needs_hostapds_control_group() {
    common::require_root("lab_root_doctor_as_nobody_needs_hostapds_control_group");
    common::require_tool("setpriv", "util-linux");
    let ns = crate::venue::Netns::new(format!("vm-dochap-{}", std::process::id()));
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ctrl = dir.path().join("ctrl");
    let _hostapd = Processes(vec![hostapd(&ns, dir.path(), &ctrl)]);
    let bin = dir.path().join("venuemon");
    std::fs::copy(BIN, &bin).expect("copy the binary");
    let body = format!(
        "{NO_HOST_SOURCES}[[zone]]\nid = \"hall\"\nseats = 100\n\n\
         [[source.hostapd]]\nctrl_dir = \"{}\"\nzone = \"hall\"\n",
        ctrl.display()
    );
    let path = config(dir.path(), "127.0.0.1:9842", &body);
    common::run(
        "chown",
        &[
            "nobody:nogroup",
            dir.path().join("state").to_str().expect("utf-8"),
        ],
    );
    let bin = bin.to_str().expect("utf-8");
    let nobody = |groups: &str| {
        let mut prefix = vec!["ip", "netns", "exec", ns.0.as_str(), "setpriv"];
        prefix.extend(["--reuid=nobody", "--regid=nogroup", groups]);
        prefix.extend(["--inh-caps=-all", "--bounding-set=-all"]);
        lines(&doctor(&prefix, bin, &path, &[]))
    };
    let source = format!("source hostapd {}", ctrl.display());
    let denied = nobody("--clear-groups");
    assert!(
        denied
            .iter()
            .any(|l| l.starts_with(&format!("FAIL {source}: "))
                && l.contains("permission")
                && l.ends_with(
                    "; fix: let the agent's user open what `ctrl_dir` or `sockets` in \
                 [[source.hostapd]] names: add it to the file's or socket's group with \
                 SupplementaryGroups= in a drop-in (as \
                 deploy/systemd/venuemon.service.d/hostapd.conf does), or change its group or \
                 mode (`ls -l` shows them)"
                )),
        "{denied:#?}"
    );
    let in_group = nobody("--groups=netdev");
    let ok = format!("ok   {source}: 1 access points, 0 clients");
    assert!(in_group.contains(&ok), "{in_group:#?}");
}
