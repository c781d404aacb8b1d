//! `venuemon replay`: the capture pipeline over tcpdump's test captures, checked against
//! tcpdump's own decoding (Debian `tcpdump`), and the malformed reproducers; the field case of
//! pcapng timestamps, replayed and (as root) sent onto a live interface at their own times.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use venuemon::sources::capture::frames::{FrameSink, LinkType, read_capture};

use crate::common::{self, Agent, BIN};
use crate::venue::{Netns, value, veth};

fn fixture_path(name: &str) -> PathBuf {
    common::fixtures().join("tcpdump").join(name)
}

fn fixture(name: &str) -> String {
    fixture_path(name).display().to_string()
}

fn replay_json(files: &[&str]) -> serde_json::Value {
    let paths: Vec<String> = files.iter().map(|f| fixture(f)).collect();
    replay_json_paths(&paths)
}

fn replay_json_paths(paths: &[String]) -> serde_json::Value {
    let out = Command::new(BIN)
        .arg("replay")
        .arg("--json")
        .args(paths)
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
    let text = common::tcpdump(&["-e", "-nn"], &fixture_path("ieee802.11_exthdr.pcap"));
    let json = replay_json(&["ieee802.11_exthdr.pcap"]);
    let s = &json["summary"];
    let lines = text.lines().count() as u64;
    assert_eq!(s["frames"], lines, "one frame per tcpdump line");
    let channel = s["channels"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["frequency_hertz"] == 2_412_000_000_u64))
        .expect("2412 MHz channel");
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
    let text = common::tcpdump(&["-nn", "-v"], &fixture_path("dhcp-rfc3004.pcap"));
    let json = replay_json(&["dhcp-rfc3004.pcap"]);
    let s = &json["summary"];
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
            "venuemon_wifi_probe_requests_total{channel_frequency_mhz=\"2412\",interface=\"replay\"} 6"
        ),
        "{metrics}"
    );
    // 8 of its frames have no radiotap channel field: counted on an unknown channel, not on
    // 0 MHz; a replay has no zone, so no `zone` label rather than an empty one.
    assert!(
        metrics.contains(
            "venuemon_wifi_retries_total{channel_frequency_mhz=\"unknown\",interface=\"replay\"} 0"
        ),
        "{metrics}"
    );
    assert!(!metrics.contains("frequency_mhz=\"0\""), "{metrics}");
    assert!(!metrics.contains("zone=\"\""), "{metrics}");
    common::promtool_check(&metrics);
}

/// Issue 10: `--serve 127.0.0.1:0` printed port 0; it prints the port the kernel chose.
#[test]
fn regression_serve_on_port_0_prints_the_port_bound() {
    use std::io::BufRead;
    let mut child = Command::new(BIN)
        .args([
            "replay",
            "--serve",
            "127.0.0.1:0",
            &fixture("ieee802.11_exthdr.pcap"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("replay --serve runs");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut line = String::new();
    let read = std::io::BufReader::new(stderr).read_line(&mut line);
    let port: Option<u16> = line
        .strip_prefix("serving the replay on http://127.0.0.1:")
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok());
    let answered = port
        .filter(|p| *p != 0)
        .and_then(|p| common::http_get(p, "/metrics"));
    let _ = child.kill();
    let _ = child.wait();
    assert!(read.is_ok() && port.is_some_and(|p| p != 0), "{line:?}");
    assert!(
        answered.is_some_and(
            |(status, body)| status == 200 && body.contains("venuemon_capture_frames_total")
        ),
        "{line:?}"
    );
}

/// The three files of `../shared/cases/pcapng-microseconds` (one DHCP exchange each: DISCOVER
/// at t, ACK at t + 2.5 s, as tcpdump prints them all), copied into the project.
fn microsecond_case_files() -> Vec<PathBuf> {
    let dir = common::project_fixture("capture/cases");
    [
        "dhcp-classic.pcap",
        "dhcp-default-resolution.pcapng",
        "dhcp-tsresol-6.pcapng",
    ]
    .iter()
    .map(|name| dir.join(name))
    .collect()
}

#[test]
fn regression_pcapng_microsecond_timestamps_time_the_lease_at_2_5_s() {
    for path in microsecond_case_files() {
        let path = path.display().to_string();
        let json = replay_json_paths(std::slice::from_ref(&path));
        let ttl = &json["summary"]["dhcp_time_to_lease_seconds"];
        assert_eq!(ttl["count"], 1, "{path}");
        let seconds = ttl["sum"].as_f64().expect("sum");
        assert!((seconds - 2.5).abs() < 1e-6, "{path}: {seconds} s");
        let out = Command::new(BIN)
            .args(["replay", &path])
            .output()
            .expect("replay runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{path}: {text}");
        assert!(
            text.contains("time to lease: mean 2.500 s"),
            "{path}: {text}"
        );
    }
}

/// Frames of a capture file with their timestamps, as the agent reads them.
#[derive(Default)]
struct Frames(Vec<(Duration, Vec<u8>)>);

impl FrameSink for Frames {
    fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]) {
        assert_eq!(link, LinkType::Ethernet);
        self.0.push((timestamp, data.to_vec()));
    }
}

/// Needs root (a namespace, a veth pair) and Debian's `curl`. The case's frames are sent onto
/// a live interface at the times the files give them, so the live capture sees each DHCP
/// exchange take 2.5 s only if the files were read in their own resolution.
#[test]
fn lab_root_live_capture_times_the_case_exchanges_at_2_5_s() {
    common::require_root("the live capture lab");
    common::require_tool("curl", "curl");
    let id = std::process::id();
    let ns = Netns::new(format!("vm-pcapng-{id}"));
    let sender = format!("vmpng{}", id % 100_000);
    veth(&sender, None, "cap0", Some(&ns));
    common::run("ip", &["link", "set", &sender, "up"]);
    ns.ip(&["link", "set", "cap0", "up"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = 9842;
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n[agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n\
         [[source.capture]]\ninterface = \"cap0\"\ninterval = \"1s\"\n",
        dir.path().join("state").display()
    );
    let _agent = Agent::with_config(Some(&ns.0), dir.path(), &config, "agent.log");
    let metrics = |what: &str, ok: &dyn Fn(&str) -> bool| {
        common::wait_for(what, Duration::from_secs(20), || {
            ns.get(port, "/metrics").filter(|m| ok(m))
        })
    };
    metrics("the capture running", &|m| {
        value(
            m,
            "venuemon_source_up{instance=\"cap0\",source=\"capture\"}",
        ) == Some(1.0)
    });

    let interface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == sender)
        .expect("sender interface");
    let Ok(pnet_datalink::Channel::Ethernet(mut tx, _rx)) =
        pnet_datalink::channel(&interface, pnet_datalink::Config::default())
    else {
        panic!("cannot open a packet socket on {sender}");
    };
    for path in microsecond_case_files() {
        let mut frames = Frames::default();
        let file = std::fs::File::open(&path).expect("case file");
        read_capture(file, &mut frames).expect("case file reads");
        let first = frames.0.first().map(|f| f.0).expect("frames");
        let start = Instant::now();
        for (at, frame) in &frames.0 {
            let due = start + at.saturating_sub(first);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            tx.send_to(frame, None)
                .expect("one send")
                .expect("frame sent");
        }
    }
    let series = "venuemon_dhcp_time_to_lease_seconds";
    let labels = "{interface=\"cap0\"}";
    let metrics = metrics("three DHCP exchanges timed", &|m| {
        value(m, &format!("{series}_count{labels}")).is_some_and(|n| n >= 3.0)
    });
    let sum = value(&metrics, &format!("{series}_sum{labels}")).expect("sum");
    assert!((sum - 7.5).abs() < 0.3, "three exchanges of 2.5 s: {sum} s");
    let bucket = |le: &str| {
        value(
            &metrics,
            &format!("{series}_bucket{{interface=\"cap0\",le=\"{le}\"}}"),
        )
    };
    assert_eq!(
        (bucket("2"), bucket("5")),
        (Some(0.0), Some(3.0)),
        "{metrics}"
    );
}
