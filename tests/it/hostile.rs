//! Broken and hostile input reaching a running agent: lease files with garbage, NUL bytes,
//! invalid UTF-8 and 10 KB lines, files truncated, removed and restored. The agent keeps
//! serving, says what is wrong in its metrics and log, echoes none of the input, and recovers.

use std::path::Path;
use std::time::Duration;

use crate::common::{self, TestConfig};
use crate::venue::value as series;

const LEASES: &str = "venuemon_dhcp_leases_active{pool=\"hall\",zone=\"hall\"}";
const UP: &str = "venuemon_source_up{instance=\"hall\",source=\"dhcp\"}";

fn metrics_when(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    common::metrics_when(port, what, Duration::from_secs(15), ok)
}

/// A dnsmasq lease file with two good leases among hostile records.
fn hostile_file(path: &Path) {
    let far = 4_000_000_000u64;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(format!("{far} 00:16:3e:00:00:01 10.9.0.11 good-one *\n").as_bytes());
    bytes.extend_from_slice(b"\xff\xfe\xfd not utf-8 SECRET-BYTES 10.9.0.99\n");
    bytes.extend_from_slice(
        format!(
            "{far} 00:16:3e:00:00:02 10.9.0.12 {} *\n",
            "H".repeat(10_000)
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(b"\0\0\0SECRET-NUL\0 10.9.0.98\n");
    bytes.extend_from_slice(format!("{far} 00:16:3e:00:00:03 10.9.0.1").as_bytes()); // half-written
    std::fs::write(path, bytes).expect("write lease file");
}

#[test]
fn hostile_lease_files_are_survived_reported_and_never_echoed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    hostile_file(&leases);
    let config = TestConfig::new(dir.path())
        .zone("subnets = [\"10.9.0.0/24\"]")
        .section(&format!(
            "[[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"{}\"\n\
             pool = \"10.9.0.10-10.9.0.59\"\nzone = \"hall\"",
            leases.display()
        ));
    let (mut agent, port) = (config.start(None), config.port);

    let first = metrics_when(port, "the two good leases", |m| {
        series(m, LEASES) == Some(2.0)
    });
    let skipped = series(
        &first,
        "venuemon_dhcp_lease_records_skipped{pool=\"hall\",zone=\"hall\"}",
    );
    assert!(
        skipped.is_some_and(|n| n >= 2.0),
        "malformed records are counted: {skipped:?}"
    );
    assert_eq!(
        series(&first, "venuemon_zone_clients{zone=\"hall\"}"),
        Some(2.0)
    );
    common::promtool_check(&first);

    // Truncated to nothing: no leases, the source still up (an empty file is valid).
    std::fs::write(&leases, b"").expect("truncate");
    metrics_when(port, "an empty pool", |m| series(m, LEASES) == Some(0.0));

    // Removed: the source goes down with a clear reason; the scrape keeps working.
    std::fs::remove_file(&leases).expect("remove");
    let down = metrics_when(port, "the dhcp source down", |m| series(m, UP) == Some(0.0));
    let netdev = "venuemon_source_up{instance=\"netlink\",source=\"netdev\"}";
    assert_eq!(
        series(&down, netdev),
        Some(1.0),
        "the other sources keep reporting"
    );
    let (_, status) = common::http_get(port, "/api/status").expect("/api/status");
    let json: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    let dhcp = json["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["source"] == "dhcp"))
        .expect("dhcp source in /api/status");
    let reason = dhcp["last_error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("does not exist") && reason.contains("leases"),
        "{reason}"
    );

    // Restored (a rotation: a new inode): recovery with the new content.
    hostile_file(&leases);
    let recovered = metrics_when(port, "recovery", |m| {
        series(m, UP) == Some(1.0) && series(m, LEASES) == Some(2.0)
    });
    let errors = series(
        &recovered,
        "venuemon_source_errors_total{instance=\"hall\",kind=\"missing\",source=\"dhcp\"}",
    );
    assert!(
        errors.is_some_and(|n| n >= 1.0),
        "the outage is counted: {errors:?}"
    );

    assert!(agent.stop().success());
    let log = agent.log();
    common::assert_nothing_leaks(
        &[
            ("/metrics", &recovered),
            ("/api/status", &status),
            ("the log", &log),
        ],
        ["SECRET", "HHHHHHHH", "good-one", "00:16:3e", "10.9.0.1"],
    );
    assert_eq!(
        log.matches("source failed").count(),
        1,
        "logged once per change of state:\n{log}"
    );
}
