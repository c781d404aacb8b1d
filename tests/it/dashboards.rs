//! The Grafana dashboards (`dashboards/`): regenerating them changes nothing, the dashboard
//! lint (`dashboards/lint.py`: Debian's `python3`, and `promtool` from `prometheus`) passes with
//! no exclusion and fails on planted mistakes, and every metric name the dashboards query is
//! one that live lab agents export or the recording rules record (needs root for the lab:
//! Kea, hostapd, a capture, a programme, and `venuemon replay --serve` on an 802.11 capture).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::{self, BIN};
use crate::dhcp_lab::{self, Processes};
use crate::hostapd_lab::Lab;
use crate::venue::Hall;

/// The generated dashboards, by file name.
const DASHBOARDS: [&str; 5] = [
    "venue-overview.json",
    "zone-detail.json",
    "dhcp-uplink.json",
    "multi-venue.json",
    "agent-health.json",
];

fn python() -> &'static str {
    common::require_tool("python3", "python3");
    "/usr/bin/python3"
}

fn dashboards() -> Vec<PathBuf> {
    DASHBOARDS
        .iter()
        .map(|d| common::project(&format!("dashboards/{d}")))
        .collect()
}

/// Runs the lint on `files` with `extra` arguments first.
fn lint(extra: &[String], files: &[PathBuf]) -> Output {
    common::require_tool("promtool", "prometheus");
    Command::new(python())
        .arg(common::project("dashboards/lint.py"))
        .args(extra)
        .args(files)
        .output()
        .expect("the lint runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn dashboards_regenerating_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(python())
        .arg(common::project("dashboards/src/generate.py"))
        .arg(dir.path())
        .output()
        .expect("the generator runs");
    assert!(out.status.success(), "{}", text(&out));
    let mut generated: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    generated.sort();
    let mut expected = DASHBOARDS.map(String::from).to_vec();
    expected.sort();
    assert_eq!(generated, expected, "the generator writes exactly these");
    let mut committed: Vec<String> = std::fs::read_dir(common::project("dashboards"))
        .expect("read dashboards/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    committed.sort();
    assert_eq!(
        committed, expected,
        "no JSON in dashboards/ the generator does not write"
    );
    for name in DASHBOARDS {
        let fresh = std::fs::read(dir.path().join(name)).expect("generated");
        let kept =
            std::fs::read(common::project(&format!("dashboards/{name}"))).expect("committed");
        assert!(
            fresh == kept,
            "dashboards/{name} differs from what dashboards/src/generate.py writes: edit the \
             generator and run `python3 dashboards/src/generate.py`, never the JSON"
        );
    }
}

/// The titles of `panels` and of the panels inside their rows.
fn titles(panels: &serde_json::Value, out: &mut Vec<String>) {
    for panel in panels.as_array().into_iter().flatten() {
        if let Some(title) = panel["title"].as_str() {
            out.push(title.to_string());
        }
        titles(&panel["panels"], out);
    }
}

#[test]
fn dashboards_docs_list_every_dashboard_and_panel() {
    let docs = std::fs::read_to_string(common::project("docs/dashboards.md")).expect("docs");
    for path in dashboards() {
        let dashboard: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("dashboard")).expect("JSON");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            docs.contains(&format!("`dashboards/{name}`")),
            "{name} in docs/dashboards.md"
        );
        let mut all = Vec::new();
        titles(&dashboard["panels"], &mut all);
        for title in all {
            assert!(
                docs.contains(&format!("| {title} |"))
                    || docs.contains(&format!("| **{title}** (row)")),
                "panel {title:?} of {name} in docs/dashboards.md"
            );
        }
    }
}

#[test]
fn dashboards_pass_the_lint_and_promtool() {
    let out = lint(&[], &dashboards());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("5 dashboards, "), "{}", text(&out));
}

/// Sets `pointer` (a JSON pointer) in `dashboard` to `value`.
fn plant(dashboard: &mut serde_json::Value, pointer: &str, value: serde_json::Value) {
    *dashboard
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} in the dashboard")) = value;
}

#[test]
fn dashboards_lint_fails_on_each_planted_mistake() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good =
        std::fs::read_to_string(common::project("dashboards/dhcp-uplink.json")).expect("dashboard");
    let mut bad: serde_json::Value = serde_json::from_str(&good).expect("JSON");
    bad["__inputs"] = serde_json::json!([{"name": "DS_PROMETHEUS", "type": "datasource"}]);
    // Panel 1 is the DHCP row; 2.. are panels with targets.
    plant(&mut bad, "/panels/1/fieldConfig/defaults/unit", "".into());
    plant(&mut bad, "/panels/2/title", "".into());
    plant(
        &mut bad,
        "/panels/2/targets/0/expr",
        "rate(venuemon_dhcp_allocation_failures_total[5m])".into(),
    );
    plant(
        &mut bad,
        "/panels/3/targets/0/expr",
        "sum by (pool) (venuemon_dhcp_allocation_failures_total)".into(),
    );
    plant(
        &mut bad,
        "/panels/4/targets/0/expr",
        "sum by (type) (rate(venuemon_dhcp_messages_total{job=\"venuemon\"}[$__rate_interval])"
            .into(),
    );
    plant(
        &mut bad,
        "/panels/5/targets/0/datasource",
        serde_json::json!({"type": "prometheus", "uid": "PBFA97CFB590B2093"}),
    );
    plant(&mut bad, "/templating/list/2/includeAll", false.into());
    plant(
        &mut bad,
        "/templating/list/1/current",
        serde_json::json!({"value": []}),
    );
    let path = dir.path().join("bad.json");
    std::fs::write(&path, serde_json::to_string_pretty(&bad).expect("JSON")).expect("write");
    let overview = std::fs::read_to_string(common::project("dashboards/venue-overview.json"))
        .expect("dashboard");
    let mut link: serde_json::Value = serde_json::from_str(&overview).expect("JSON");
    plant(
        &mut link,
        "/panels/0/fieldConfig/defaults/links/0/url",
        "/d/venuemon-zone-detail?var-zone=${__field.labels.zone}".into(),
    );
    let link_path = dir.path().join("link.json");
    std::fs::write(&link_path, link.to_string()).expect("write");
    let out = lint(&[], &[path, link_path]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    for expected in [
        "bad.json: has __inputs",
        "bad.json: panel \"DHCP pool usage\" (id 2): no unit",
        "(id 3): no title",
        "range [5m] in 'rate(venuemon_dhcp_allocation_failures_total[5m])': use [$__rate_interval]",
        "venuemon_dhcp_allocation_failures_total in 'sum by (pool) (venuemon_dhcp_allocation_failures_total)' is not under rate()",
        "job=\"venuemon\" in ",
        "is not valid PromQL",
        "(id 6): target A uses datasource {\"type\": \"prometheus\", \"uid\": \"PBFA97CFB590B2093\"}, not ${datasource}",
        "variable zone: has no All option (includeAll)",
        "variable venue: has an empty default",
        "link.json: panel \"Zone status\" (id 1): data link '/d/venuemon-zone-detail?var-zone=${__field.labels.zone}' drops the datasource or venue variable",
    ] {
        assert!(said.contains(expected), "{expected:?} in:\n{said}");
    }

    // A metric no agent exports: the check against a live exposition catches it.
    let exposition = dir.path().join("metrics.txt");
    std::fs::write(&exposition, "venuemon_build_info{version=\"1\"} 1\n").expect("write");
    let out = lint(
        &[
            "--exposition".into(),
            exposition.display().to_string(),
            "--rules".into(),
            common::project("deploy/prometheus/rules/venuemon-recording.yml")
                .display()
                .to_string(),
        ],
        &[common::project("dashboards/agent-health.json")],
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("venuemon_source_up is in no live /metrics given"),
        "{said}"
    );
    assert!(
        !said.contains("scrape_duration_seconds is in no"),
        "Prometheus adds it to every scrape: {said}"
    );
}

/// `/metrics` of `port` in `hall`'s namespace once `names` are all in it.
fn metrics_with(what: &str, names: &[&str], get: impl Fn() -> Option<String>) -> String {
    let mut last = String::new();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        common::wait_for(what, Duration::from_secs(60), || {
            let metrics = get()?;
            last.clone_from(&metrics);
            names
                .iter()
                .all(|n| metrics.lines().any(|l| l.starts_with(n)))
                .then_some(metrics)
        })
    }));
    found.unwrap_or_else(|_| {
        let missing: Vec<&&str> = names
            .iter()
            .filter(|n| !last.lines().any(|l| l.starts_with(**n)))
            .collect();
        panic!("{what}: still missing {missing:?}")
    })
}

/// Every rule file of `deploy/prometheus/rules/`.
fn rule_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::project("deploy/prometheus/rules"))
        .expect("deploy/prometheus/rules")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The DHCP hall: Kea (leases, pool, its statistics) handing a lease to a real client under a
/// live capture, a programme with a session running now, and a lease file that is missing
/// (so the source error counter has a series).
fn dhcp_hall_metrics(dir: &Path) -> String {
    dhcp_lab::require_dhcp_tools();
    common::require_tool("kea-dhcp4", "kea-dhcp4-server");
    let mac = common::mac(0);
    let hall = Hall::build("dash", &[mac.as_str()], false);
    let script = dhcp_lab::script(dir);
    let programme = dir.join("programme.ics");
    std::fs::write(
        &programme,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Keynote\r\nLOCATION:hall\r\n\
         DTSTART:20000101T000000Z\r\nDTEND:20991231T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .expect("write programme");
    let extra = format!(
        r#"
[[source.capture]]
interface = "hall0"
zone = "hall"

[[source.dhcp]]
kind = "kea"
name = "kea-hall"
leases = "{dir}/kea-leases4.csv"
pool = "10.77.0.10-10.77.0.59"
zone = "hall"
control_socket = "{dir}/kea4.sock"

[[source.dhcp]]
kind = "dnsmasq"
name = "absent"
leases = "{dir}/absent.leases"
pool = "10.77.1.10-10.77.1.20"
zone = "hall"

[schedule]
file = "{programme}"
"#,
        dir = dir.display(),
        programme = programme.display()
    );
    let mut processes = Processes(vec![dhcp_lab::kea(&hall, dir, 600, 0)]);
    let _agent = hall.start_agent_with(dir, 9842, "1m", &extra);
    processes
        .0
        .push(dhcp_lab::client(&hall, 0, dir, &script, "dash0"));
    metrics_with(
        "the DHCP hall's metrics",
        &[
            "venuemon_dhcp_leases_active{",
            "venuemon_dhcp_allocation_failures_total{",
            "venuemon_dhcp_time_to_lease_seconds_bucket{",
            "venuemon_dhcp_unanswered_discovers_total{",
            "venuemon_source_errors_total{",
            "venuemon_zone_session_info{title=\"Keynote\",zone=\"hall\"} 1",
            "venuemon_interface_receive_bytes_total{",
        ],
        || hall.hall.get(9842, "/metrics"),
    )
}

/// The hostapd lab's agent (hostapd `driver=wired`, its BSSs answering): the access point
/// series.
fn hostapd_metrics() -> String {
    let mut lab = Lab::build();
    lab.start_hostapd();
    let _agent = lab.start_agent();
    let names = [
        "venuemon_ap_clients{",
        "venuemon_ap_clients_by_signal{",
        "venuemon_client_connects_total{",
        "venuemon_client_auth_failures_total{",
    ];
    let (metrics, _) =
        lab.metrics_when("the access points' metrics", Duration::from_secs(30), |m| {
            names.iter().all(|n| m.contains(n))
        });
    metrics
}

/// `venuemon replay --serve` on a real 802.11 radiotap capture: the `venuemon_wifi_*` series.
fn replay_metrics() -> String {
    let port = common::free_port();
    let capture = common::fixtures().join("tcpdump/ieee802.11_exthdr.pcap");
    let mut child = Command::new(BIN)
        .args(["replay", "--serve", &format!("127.0.0.1:{port}")])
        .arg(&capture)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("replay --serve runs");
    let metrics = std::panic::catch_unwind(|| {
        metrics_with(
            "the replay's 802.11 metrics",
            &[
                "venuemon_wifi_frames_total{",
                "venuemon_wifi_probing_devices_estimate{",
                "venuemon_wifi_signal_dbm_bucket{",
            ],
            || common::http_get(port, "/metrics").map(|(_, body)| body),
        )
    });
    let _ = child.kill();
    let _ = child.wait();
    metrics.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

#[test]
fn lab_root_dashboards_query_only_series_live_agents_export_or_rules_record() {
    common::require_root("the dashboards' live metric names");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut expositions = vec![
        ("dhcp-hall", dhcp_hall_metrics(dir.path())),
        ("hostapd", hostapd_metrics()),
        ("replay", replay_metrics()),
    ];
    let mut args = Vec::new();
    for (name, metrics) in &mut expositions {
        common::promtool_check(metrics);
        let path = dir.path().join(format!("{name}.txt"));
        std::fs::write(&path, metrics.as_bytes()).expect("write exposition");
        args.extend(["--exposition".to_string(), path.display().to_string()]);
    }
    for rules in rule_files() {
        args.extend(["--rules".to_string(), rules.display().to_string()]);
    }
    let out = lint(&args, &dashboards());
    assert!(out.status.success(), "{}", text(&out));
}
