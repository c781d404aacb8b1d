//! `venuemon replay`: the capture pipeline over tcpdump's test captures, checked against
//! tcpdump's own decoding (Debian `tcpdump`), and the malformed reproducers.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{self, BIN};

fn fixture(name: &str) -> String {
    common::fixtures()
        .join("tcpdump")
        .join(name)
        .display()
        .to_string()
}

fn replay_json(files: &[&str]) -> serde_json::Value {
    let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
    let out = Command::new(BIN)
        .arg("replay")
        .arg("--json")
        .args(&paths)
        .output()
        .expect("replay runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

#[test]
fn radiotap_capture_agrees_with_tcpdump() {
    common::require_tool("tcpdump", "tcpdump");
    let json = replay_json(&["ieee802.11_exthdr.pcap"]);
    let s = &json["summary"];
    let tcpdump = common::run(
        "tcpdump",
        &["-e", "-nn", "-r", &fixture("ieee802.11_exthdr.pcap")],
    );
    let lines = String::from_utf8_lossy(&tcpdump.stdout).lines().count() as u64;
    assert_eq!(s["frames"], lines, "one frame per tcpdump line");
    let channel = s["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["frequency_mhz"] == 2412))
        .expect("2412 MHz channel");
    let text = String::from_utf8_lossy(&tcpdump.stdout).into_owned();
    let on_2412 = text.lines().filter(|l| l.contains("2412 MHz")).count() as u64;
    assert_eq!(channel["frames"], on_2412);
    assert_eq!(
        channel["probe_requests"],
        text.matches("Probe Request").count() as u64
    );
    assert_eq!(
        channel["subtypes"]["ack"],
        text.matches("Acknowledgment").count() as u64
    );
    assert_eq!(s["probing_devices_estimate"], 1.0);
}

#[test]
fn dhcp_capture_pairs_the_exchange_and_times_it() {
    common::require_tool("tcpdump", "tcpdump");
    let json = replay_json(&["dhcp-rfc3004.pcap"]);
    let s = &json["summary"];
    let tcpdump = common::run(
        "tcpdump",
        &["-nn", "-v", "-r", &fixture("dhcp-rfc3004.pcap")],
    );
    let text = String::from_utf8_lossy(&tcpdump.stdout).into_owned();
    for (ours, theirs) in [
        ("discover", "Discover"),
        ("offer", "Offer"),
        ("request", "Request"),
        ("ack", "ACK"),
    ] {
        let count = text
            .matches(&format!("DHCP-Message (53), length 1: {theirs}"))
            .count() as u64;
        assert_eq!(s["dhcp_messages"][ours], count, "{ours}");
    }
    let ttl = &s["dhcp_time_to_lease_seconds"];
    assert_eq!(ttl["count"], 1);
    let seconds = ttl["sum"].as_f64().expect("sum");
    assert!(
        (seconds - 0.112).abs() < 0.001,
        "DISCOVER to ACK is 112 ms in this capture: {seconds}"
    );
    assert_eq!(s["dhcp_unanswered_discovers"], 0);
}

#[test]
fn every_fixture_replays_without_crashing_and_bad_files_are_named() {
    let dir = common::fixtures().join("tcpdump");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    let not_a_capture = dir.join("SOURCES.md").display().to_string();
    files.push(not_a_capture.clone());
    let out = Command::new(BIN)
        .arg("replay")
        .args(&files)
        .output()
        .expect("replay runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad file is an error, not a crash"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{not_a_capture}: not a pcap or pcapng capture")),
        "{text}"
    );
    assert!(text.contains("radiotap-heapoverflow.pcap: "), "{text}");
    assert!(
        text.contains("malformed") || text.contains("cut short"),
        "malformed input is reported:\n{text}"
    );
}

#[test]
fn serve_keeps_the_counts_on_metrics() {
    let port = common::free_port();
    let mut child = Command::new(BIN)
        .args([
            "replay",
            "--serve",
            &format!("127.0.0.1:{port}"),
            &fixture("ieee802.11_exthdr.pcap"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("replay --serve runs");
    let metrics = common::wait_for("the replay on /metrics", Duration::from_secs(10), || {
        common::http_get(port, "/metrics")
            .map(|(_, b)| b)
            .filter(|b| b.contains("venuemon_capture_frames_total"))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        metrics.contains(
            "venuemon_wifi_probe_requests_total{frequency_mhz=\"2412\",interface=\"replay\"} 6"
        ),
        "{metrics}"
    );
    common::promtool_check(&metrics);
}
