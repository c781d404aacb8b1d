//! The deployment kit as its tools see it: `systemd-analyze verify` passes the unit alone and
//! with each drop-in without a word, `systemd-analyze security` gives the exposure the README
//! records, and `docker-compose config` (Debian `docker-compose`) accepts compose.yaml. The
//! image itself is not built here: no registry to pull its base images from.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, BIN};

/// The unit in a folder of its own with the drop-ins named, `ExecStart=`'s binary swapped
/// for the one under test (verify checks that it is executable), for `systemd-analyze`.
fn unit_with(dropins: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let unit = std::fs::read_to_string(common::project("deploy/systemd/venuemon.service"))
        .expect("deploy/systemd/venuemon.service");
    assert!(unit.contains("/usr/local/bin/venuemon "), "{unit}");
    let unit = unit.replace("/usr/local/bin/venuemon", BIN);
    std::fs::write(dir.path().join("venuemon.service"), unit).expect("write unit");
    let d = dir.path().join("venuemon.service.d");
    std::fs::create_dir(&d).expect("drop-in dir");
    for name in dropins {
        let from = common::project("deploy/systemd/venuemon.service.d").join(name);
        std::fs::copy(&from, d.join(name)).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    dir
}

fn analyze(dir: &Path, args: &[&str]) -> (bool, String) {
    common::require_tool("systemd-analyze", "systemd");
    let unit = dir.join("venuemon.service");
    // The folder first in the unit path: its drop-ins are read as installed ones would be.
    let output = Command::new("systemd-analyze")
        .args(args)
        .arg(&unit)
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .output()
        .expect("systemd-analyze runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn the_unit_and_each_drop_in_verify_clean() {
    for dropins in [&[][..], &["capture.conf"], &["hostapd.conf"]] {
        let dir = unit_with(dropins);
        let (ok, text) = analyze(dir.path(), &["verify"]);
        assert!(
            ok && text.trim().is_empty(),
            "systemd-analyze verify with {dropins:?}:\n{text}"
        );
    }
}

#[test]
fn the_units_exposure_is_the_one_the_readme_records() {
    let readme = std::fs::read_to_string(common::project("README.md")).expect("README.md");
    for (dropins, what) in [
        (&[][..], "alone"),
        (&["capture.conf", "hostapd.conf"][..], "with both drop-ins"),
    ] {
        let dir = unit_with(dropins);
        let (_, text) = analyze(dir.path(), &["security", "--offline=true", "--no-pager"]);
        let exposure = text
            .lines()
            .find_map(|l| {
                l.split("Overall exposure level for venuemon.service: ")
                    .nth(1)
            })
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no exposure level:\n{text}"));
        let recorded = format!("{exposure} {what}");
        assert!(
            readme.contains(&recorded),
            "README does not record the exposure `{recorded}` (systemd-analyze security)"
        );
    }
}

#[test]
fn docker_compose_accepts_compose_yaml() {
    common::require_tool("docker-compose", "docker-compose");
    let output = Command::new("docker-compose")
        .arg("--file")
        .arg(common::project("compose.yaml"))
        .args(["config"])
        .output()
        .expect("docker-compose runs");
    let config = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for service in ["venuemon:", "prometheus:", "alertmanager:", "grafana:"] {
        assert!(config.contains(&format!("\n  {service}\n")), "{config}");
    }
    // Mounted where the images read them: the other parts of the kit.
    for mount in [
        "/deploy/prometheus:/etc/prometheus:ro",
        "/deploy/alertmanager:/etc/alertmanager:ro",
        "/dashboards/provisioning:/etc/grafana/provisioning:ro",
    ] {
        assert!(config.contains(mount), "{mount} not mounted:\n{config}");
    }
}

/// The values of every `KEY=` line of the unit, in order (`KEY=` alone resets: kept as "").
fn unit_values(key: &str) -> Vec<String> {
    let unit = std::fs::read_to_string(common::project("deploy/systemd/venuemon.service"))
        .expect("deploy/systemd/venuemon.service");
    let prefix = format!("{key}=");
    unit.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

/// Every system call of a `systemd-analyze syscall-filter` group, its nested groups expanded.
fn syscall_group(groups: &str, name: &str) -> std::collections::BTreeSet<String> {
    let mut members = Vec::new();
    let mut inside = false;
    for line in groups.lines() {
        if line.starts_with('@') {
            inside = line.split_whitespace().next() == Some(name);
        } else if inside {
            members.extend(line.split_whitespace().next().map(str::to_string));
        }
    }
    assert!(
        !members.is_empty(),
        "no group {name} in systemd-analyze syscall-filter"
    );
    members
        .into_iter()
        .filter(|m| !m.starts_with('#'))
        .flat_map(|m| {
            if m.starts_with('@') {
                syscall_group(groups, &m)
            } else {
                [m].into()
            }
        })
        .collect()
}

#[test]
fn lab_root_the_agents_system_calls_and_sockets_stay_within_the_units_filters() {
    common::require_root(
        "lab_root_the_agents_system_calls_and_sockets_stay_within_the_units_filters",
    );
    common::require_tool("strace", "strace");
    common::require_tool("systemd-analyze", "systemd");
    // Interfaces and neighbours on netlink, a lease file, a capture, a programme (missing:
    // the error path), hostapd (in a namespace of its own: its socket is a path), and HTTP.
    let dir = tempfile::tempdir().expect("temp dir");
    let ns = crate::venue::Netns::new(format!("vm-strace-{}", std::process::id()));
    let ctrl = dir.path().join("ctrl");
    let _hostapd = crate::dhcp_lab::Processes(vec![crate::doctor::hostapd(&ns, dir.path(), &ctrl)]);
    let leases = dir.path().join("dnsmasq.leases");
    std::fs::write(&leases, "1767225600 02:00:5e:10:00:07 10.10.0.7 laptop *\n").expect("leases");
    let port = common::free_port();
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n\n[agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n\n\
         [[zone]]\nid = \"hall\"\nseats = 10\ninterfaces = [\"lo\"]\n\n\
         [[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"{}\"\npool = \"10.10.0.10-10.10.0.250\"\n\
         zone = \"hall\"\n\n[[source.capture]]\ninterface = \"lo\"\n\n\
         [[source.hostapd]]\nctrl_dir = \"{}\"\nzone = \"hall\"\n\n\
         [schedule]\nfile = \"{}\"\n",
        dir.path().join("state").display(),
        leases.display(),
        ctrl.display(),
        dir.path().join("programme.ics").display(),
    );
    let path = dir.path().join("venuemon.toml");
    std::fs::write(&path, config).expect("config");
    let trace = dir.path().join("trace");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(BIN)
        .args(["run", "--config"])
        .arg(&path);
    let mut agent = common::Agent::spawn(command, dir.path().join("log"));
    common::wait_for(
        "the capture and the lease file",
        Duration::from_secs(30),
        || {
            let (_, metrics) = common::http_get(port, "/metrics")?;
            let up = |source: &str| {
                metrics.lines().any(|l| {
                    l.starts_with("venuemon_source_up{")
                        && l.contains(&format!("source=\"{source}\""))
                        && l.ends_with(" 1")
                })
            };
            let all = ["capture", "dhcp", "hostapd", "netdev", "neighbours"];
            all.iter().all(|s| up(s)).then_some(())
        },
    );
    for route in ["/", "/api/status", "/metrics", "/healthz"] {
        assert!(common::http_get(port, route).is_some(), "{route}");
    }
    // SIGTERM to the agent itself (strace's first line names its pid); strace ends with it.
    let trace_path = trace;
    let traced = std::fs::read_to_string(&trace_path).expect("strace output");
    let pid = traced
        .split_whitespace()
        .next()
        .expect("the agent's pid")
        .to_string();
    common::run("kill", &["-TERM", &pid]);
    assert!(agent.stop().success(), "log:\n{}", agent.log());
    let trace = std::fs::read_to_string(&trace_path).expect("strace output");

    let mut calls = std::collections::BTreeSet::new();
    let mut families = std::collections::BTreeSet::new();
    for line in trace.lines() {
        // `PID name(args) = result`, or `PID <... name resumed>`.
        let Some(call) = line.split_whitespace().nth(1) else {
            continue;
        };
        if let Some((name, args)) = call.split_once('(') {
            calls.insert(name.to_string());
            if name == "socket" {
                families.insert(args.trim_end_matches(',').to_string());
            }
        }
    }
    assert!(calls.contains("recvmmsg"), "the capture ran: {calls:?}");

    let groups = String::from_utf8_lossy(
        &Command::new("systemd-analyze")
            .args(["syscall-filter", "--no-pager"])
            .output()
            .expect("systemd-analyze runs")
            .stdout,
    )
    .into_owned();
    // `execve` and what the loader does before it happen before the filter is in place.
    let mut allowed = std::collections::BTreeSet::from(["execve".to_string()]);
    let mut denied = std::collections::BTreeSet::new();
    for filter in unit_values("SystemCallFilter") {
        let (set, names) = match filter.strip_prefix('~') {
            Some(names) => (&mut denied, names),
            None => (&mut allowed, filter.as_str()),
        };
        for name in names.split_whitespace() {
            set.extend(syscall_group(&groups, name));
        }
    }
    // This test runs the agent as root; the unit never does (DynamicUser=). SQLite's WAL
    // files are chowned to the database's owner only when the process runs as root
    // (`robustFchown` in sqlite3.c returns at once otherwise), so that call is root's alone.
    let root_only = ["fchown"];
    let outside: Vec<&String> = calls
        .iter()
        .filter(|c| !root_only.contains(&c.as_str()))
        .filter(|c| !allowed.contains(*c) || denied.contains(*c))
        .collect();
    assert!(
        outside.is_empty(),
        "system calls the unit's SystemCallFilter= refuses: {outside:?} (of {calls:?})"
    );

    let families_allowed: Vec<String> = unit_values("RestrictAddressFamilies")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    let refused: Vec<&String> = families
        .iter()
        .filter(|f| !families_allowed.contains(f))
        .collect();
    assert!(
        refused.is_empty(),
        "sockets the unit's RestrictAddressFamilies= refuses: {refused:?}"
    );
}
