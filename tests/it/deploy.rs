//! The deployment kit as its tools see it: `systemd-analyze verify` passes the unit alone and
//! with each drop-in without a word, `systemd-analyze security` gives the exposure the README
//! records, and `docker-compose config` (Debian `docker-compose`) accepts compose.yaml. The
//! image itself is not built here: no registry to pull its base images from.

use std::path::Path;
use std::process::Command;

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
