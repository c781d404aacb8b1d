//! Golden test: the agent run against a fixture /proc and /sys tree (node_exporter's), its
//! `/metrics` compared with `tests/golden/fixture-metrics.txt` and checked by promtool.
//! Regenerate the golden file on purpose with `VENUEMON_BLESS=1 cargo test golden`.

use std::path::Path;
use std::time::Duration;

use crate::common::{self, Agent};

/// Samples whose values change from run to run; their HELP/TYPE lines stay in the golden file.
const VOLATILE: &[&str] = &[
    "process_",
    "venuemon_source_duration_seconds",
    "venuemon_snapshot_timestamp_seconds",
    // Open connections: the scrape's own, and maybe the previous one not yet closed.
    "venuemon_http_connections ",
];

fn stable(exposition: &str) -> String {
    exposition
        .lines()
        .filter(|l| l.starts_with('#') || !VOLATILE.iter().any(|v| l.starts_with(v)))
        .map(|l| match l.strip_prefix("venuemon_build_info{") {
            // The build's own revision and compiler, masked; the label names stay checked.
            Some(labels) => format!(
                "venuemon_build_info{{{}\n",
                labels
                    .replace(env!("VENUEMON_REVISION"), "REVISION")
                    .replace(env!("VENUEMON_RUSTC_VERSION"), "RUSTC")
            ),
            None => format!("{l}\n"),
        })
        .collect()
}

/// Builds `<dir>/proc` (net/dev and net/arp from the fixtures) and `<dir>/sys` (sys.ttar).
fn fixture_tree(dir: &Path) {
    let node = common::fixtures().join("node_exporter");
    std::fs::create_dir_all(dir.join("proc/net")).expect("mkdir");
    std::fs::copy(node.join("proc-net-dev"), dir.join("proc/net/dev")).expect("copy net/dev");
    std::fs::copy(node.join("proc-net-arp"), dir.join("proc/net/arp")).expect("copy net/arp");
    common::untar_ttar(&node.join("sys.ttar"), dir);
}

#[test]
fn fixture_tree_metrics_match_golden_file_and_pass_promtool() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    fixture_tree(root);
    let port = common::free_port();
    let config = format!(
        r#"
[venue]
name = "Golden <venue> \"test\""
event = "golden"

[http]
listen = "127.0.0.1:{port}"

[agent]
tick = "1s"
state_dir = "{root}/state"

[interfaces]
include = ["*"]
exclude = ["lo"]

[[zone]]
id = "hall-a"
name = "Salle A"
seats = 800
interfaces = ["eth0", "wlan0", "ibr10:30"]

[[zone]]
id = "room-b"
name = "Salle B — étage 2"
interfaces = ["eth1"]

[source.netdev]
backend = "proc"
proc_root = "{root}/proc"
sys_root = "{root}/sys"

[source.neighbours]
backend = "proc"
proc_root = "{root}/proc"
"#,
        root = root.display()
    );
    let mut agent = Agent::with_config(None, root, &config, "agent.log");
    let metrics = common::wait_for("the first snapshot", Duration::from_secs(15), || {
        let (status, body) = common::http_get(port, "/metrics")?;
        (status == 200 && body.contains("venuemon_zone_clients{zone=\"room-b\"}")).then_some(body)
    });
    common::promtool_check(&metrics);
    let actual = stable(&metrics);
    let golden = common::project("tests/golden/fixture-metrics.txt");
    if std::env::var_os("VENUEMON_BLESS").is_some() {
        std::fs::write(&golden, &actual).expect("write golden file");
    }
    let expected = std::fs::read_to_string(&golden)
        .expect("tests/golden/fixture-metrics.txt exists (VENUEMON_BLESS=1 regenerates it)");
    assert!(
        actual == expected,
        "/metrics differs from {}; if the change is intended, rerun with VENUEMON_BLESS=1 and review the diff\n--- actual ---\n{actual}",
        golden.display()
    );
    assert!(
        agent.stop().success(),
        "clean exit on SIGTERM; log:\n{}",
        agent.log()
    );
}
