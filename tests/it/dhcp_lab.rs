//! DHCP lab tests (need root, dnsmasq, udhcpc, dhclient): real servers hand out real leases
//! to real clients in network namespaces; the agent in the hall counts them exactly.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{self, mac};
use crate::venue::{Hall, value};

/// Configures (or removes) the leased address; works as udhcpc's `-s` and dhclient's `-sf`.
const CLIENT_SCRIPT: &str = r#"#!/bin/sh
case "$1$reason" in
  bound|renew|BOUND|RENEW|REBIND|REBOOT)
    ip addr flush dev "$interface"
    ip addr add "${ip:-$new_ip_address}/24" dev "$interface" ;;
  deconfig|RELEASE|EXPIRE|STOP)
    ip addr flush dev "$interface" ;;
esac
exit 0
"#;

/// Children killed when dropped (servers and clients).
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {args:?}: {e}"))
}

pub fn script(dir: &Path) -> String {
    let path = dir.join("client-script");
    std::fs::write(&path, CLIENT_SCRIPT).expect("write script");
    common::run("chmod", &["+x", path.to_str().expect("utf-8")]);
    path.to_str().expect("utf-8").to_string()
}

/// dnsmasq in the hall, DHCP only (`--port=0`), leases in `dir`.
pub fn dnsmasq(hall: &Hall, dir: &Path, range: &str) -> Child {
    dnsmasq_with(hall, dir, range, &[])
}

/// [`dnsmasq`] with extra `flags` (`--no-ping`: offers without its 3 s ping check of the
/// address, during which it answers nobody else).
pub fn dnsmasq_with(hall: &Hall, dir: &Path, range: &str, flags: &[&str]) -> Child {
    let leases = format!("--dhcp-leasefile={}", dir.join("dnsmasq.leases").display());
    let range = format!("--dhcp-range={range},255.255.255.0,10m");
    let mut args = vec![
        "netns",
        "exec",
        &hall.hall.0,
        "dnsmasq",
        "--no-daemon",
        "--port=0",
        "--conf-file=/dev/null",
        "--interface=hall0",
        "--bind-interfaces",
        "--dhcp-authoritative",
        &range,
        &leases,
    ];
    args.extend_from_slice(flags);
    spawn(&args)
}

/// dhclient's own files for client `n`: config (sending `hostname`), leases, pid.
fn dhclient_files(dir: &Path, n: usize) -> [String; 6] {
    let file = |ext: &str| {
        dir.join(format!("dhclient-{n}.{ext}"))
            .display()
            .to_string()
    };
    [
        "-cf".into(),
        file("conf"),
        "-lf".into(),
        file("leases"),
        "-pf".into(),
        file("pid"),
    ]
}

/// A DHCP client in client namespace `n`: udhcpc for even `n`, dhclient for odd.
pub fn client(hall: &Hall, n: usize, dir: &Path, script: &str, hostname: &str) -> Child {
    let ns = &hall.clients[n].0;
    if n.is_multiple_of(2) {
        let host = format!("hostname:{hostname}");
        spawn(&[
            "netns", "exec", ns, "udhcpc", "-f", "-R", "-i", "eth0", "-s", script, "-x", &host,
            "-t", "20", "-T", "1", "-A", "1",
        ])
    } else {
        let files = dhclient_files(dir, n);
        std::fs::write(&files[1], format!("send host-name \"{hostname}\";\n")).expect("write conf");
        let mut args = vec!["netns", "exec", ns, "dhclient", "-d", "-sf", script];
        args.extend(files.iter().map(String::as_str));
        args.push("eth0");
        spawn(&args)
    }
}

/// Releases the lease of client `n` (udhcpc: SIGTERM with -R; dhclient: `dhclient -r`).
pub fn release(hall: &Hall, n: usize, child: &mut Child, dir: &Path, script: &str) {
    if n.is_multiple_of(2) {
        common::run("kill", &["-TERM", &child.id().to_string()]);
    } else {
        let files = dhclient_files(dir, n);
        let mut args = vec![
            "netns",
            "exec",
            &hall.clients[n].0,
            "dhclient",
            "-r",
            "-sf",
            script,
        ];
        args.extend(files.iter().map(String::as_str));
        args.push("eth0");
        common::run("ip", &args);
        let _ = child.kill();
    }
    let _ = child.wait();
}

pub fn require_dhcp_tools() {
    common::require_root("the DHCP lab");
    common::require_tool("dnsmasq", "dnsmasq");
    common::require_tool("udhcpc", "udhcpc");
    common::require_tool("dhclient", "isc-dhcp-client");
}

const HOSTILE: &str = "\"><script>alert(1)</script>";

#[test]
fn lab_root_dnsmasq_thirty_clients_then_five_releases() {
    require_dhcp_tools();
    let macs: Vec<String> = (0..30).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("dnsmasq", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let mut processes = Processes(vec![dnsmasq(&hall, dir.path(), "10.77.0.10,10.77.0.200")]);
    let long_name: String = "a\"b\\c'".repeat(42).chars().take(250).collect();
    for n in 0..30 {
        let hostname = match n {
            // udhcpc clients (even) send these as they are.
            0 => HOSTILE.to_string(),
            2 => long_name.clone(),
            _ => format!("client-{n}"),
        };
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &hostname));
    }
    let leases = dir.path().join("dnsmasq.leases");
    let port = 9842;
    let extra = format!(
        r#"
[[source.dhcp]]
kind = "dnsmasq"
leases = "{}"
pool = "10.77.0.10-10.77.0.200"
zone = "hall"
"#,
        leases.display()
    );
    let mut agent = hall.start_agent_with(dir.path(), port, "3s", &extra);
    let randomized = macs.iter().filter(|m| m.starts_with("06")).count() as f64;
    let metrics = hall.metrics_when(
        port,
        "30 leases and 30 clients",
        Duration::from_secs(60),
        |m| {
            value(
                m,
                "venuemon_dhcp_leases_active{pool=\"hall\",zone=\"hall\"}",
            ) == Some(30.0)
                && value(m, "venuemon_zone_clients{zone=\"hall\"}") == Some(30.0)
        },
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_dhcp_pool_size{pool=\"hall\",zone=\"hall\"}"
        ),
        Some(191.0)
    );
    assert_eq!(
        value(&metrics, "venuemon_zone_clients_randomized{zone=\"hall\"}"),
        Some(randomized)
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_zone_clients_by_source{source=\"dhcp\",zone=\"hall\"}"
        ),
        Some(30.0)
    );
    assert_eq!(
        value(&metrics, "venuemon_zone_status{zone=\"hall\"}"),
        Some(0.0)
    );
    common::promtool_check(&metrics);

    // Five clients release: three udhcpc, two dhclient.
    for n in [2, 4, 6, 3, 5] {
        let mut child = std::mem::replace(&mut processes.0[n + 1], spawn(&["netns", "list"]));
        release(&hall, n, &mut child, dir.path(), &script);
    }
    let metrics = hall.metrics_when(
        port,
        "25 leases and 25 clients",
        Duration::from_secs(30),
        |m| {
            value(
                m,
                "venuemon_dhcp_leases_active{pool=\"hall\",zone=\"hall\"}",
            ) == Some(25.0)
                && value(m, "venuemon_zone_clients{zone=\"hall\"}") == Some(25.0)
        },
    );
    let status = hall.hall.get(port, "/api/status").expect("/api/status");
    assert!(agent.stop().success());
    let log = agent.log();
    // The history the agent wrote (in its state folder), as text, whatever its bytes.
    let history = std::fs::read(dir.path().join("state/history.sqlite")).expect("the history");
    let history = String::from_utf8_lossy(&history);
    common::assert_nothing_leaks(
        &[
            ("/metrics", &metrics),
            ("/api/status", &status),
            ("the log", &log),
            ("the history file", &history),
        ],
        macs.iter()
            .map(String::as_str)
            .chain(["<script>", "alert(1)", "client-3", "a\"b"]),
    );
}

#[test]
fn lab_root_dnsmasq_pool_smaller_than_the_crowd_fills_and_turns_the_zone_critical() {
    require_dhcp_tools();
    let macs: Vec<String> = (0..12).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("dhcpfull", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let mut processes = Processes(vec![dnsmasq(&hall, dir.path(), "10.77.0.10,10.77.0.19")]);
    for n in 0..12 {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &format!("c{n}")));
    }
    let extra = format!(
        "[[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"small\"\nleases = \"{}\"\npool = \"10.77.0.10-10.77.0.19\"\nzone = \"hall\"\n",
        dir.path().join("dnsmasq.leases").display()
    );
    let _agent = hall.start_agent_with(dir.path(), 9842, "1m", &extra);
    let metrics = hall.metrics_when(9842, "a full pool", Duration::from_secs(60), |m| {
        value(
            m,
            "venuemon_dhcp_leases_active{pool=\"small\",zone=\"hall\"}",
        ) == Some(10.0)
    });
    assert_eq!(
        value(
            &metrics,
            "venuemon_dhcp_pool_size{pool=\"small\",zone=\"hall\"}"
        ),
        Some(10.0)
    );
    assert_eq!(
        value(&metrics, "venuemon_zone_status{zone=\"hall\"}"),
        Some(2.0),
        "critical"
    );
    let status = hall.hall.get(9842, "/api/status").expect("/api/status");
    let json: serde_json::Value = serde_json::from_str(&status).expect("JSON");
    assert_eq!(json["zones"][0]["status"], "critical");
    assert_eq!(json["zones"][0]["reasons"][0]["kind"], "dhcp_pool");
    assert_eq!(json["zones"][0]["reasons"][0]["subject"], "small");
    assert_eq!(json["status"], "critical");
}

/// kea-dhcp4 in the hall: memfile leases and a control socket in `dir`, pool .10 to .59,
/// leases of `lifetime` seconds, a lease file cleanup every `lfc_interval` seconds (0: none).
pub fn kea(hall: &Hall, dir: &Path, lifetime: u32, lfc_interval: u32) -> Child {
    let config = format!(
        r#"{{"Dhcp4": {{
  "interfaces-config": {{"interfaces": ["hall0"], "dhcp-socket-type": "raw"}},
  "control-socket": {{"socket-type": "unix", "socket-name": "{dir}/kea4.sock"}},
  "lease-database": {{"type": "memfile", "persist": true, "name": "{dir}/kea-leases4.csv", "lfc-interval": {lfc_interval}}},
  "valid-lifetime": {lifetime},
  "subnet4": [{{"id": 1, "subnet": "10.77.0.0/24", "pools": [{{"pool": "10.77.0.10 - 10.77.0.59"}}]}}],
  "loggers": [{{"name": "kea-dhcp4", "output_options": [{{"output": "stderr"}}], "severity": "WARN"}}]
}}}}"#,
        dir = dir.display()
    );
    let path = dir.join("kea-dhcp4.conf");
    std::fs::write(&path, config).expect("write kea config");
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &hall.hall.0,
            "kea-dhcp4",
            "-c",
            path.to_str().expect("utf-8"),
        ])
        .env("KEA_PIDFILE_DIR", dir)
        .env("KEA_LOCKFILE_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("kea-dhcp4 starts")
}

#[test]
fn lab_root_kea_leases_and_statistics_count_real_clients() {
    require_dhcp_tools();
    common::require_tool("kea-dhcp4", "kea-dhcp4-server");
    let macs: Vec<String> = (0..10).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("kea", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let mut processes = Processes(vec![kea(&hall, dir.path(), 600, 0)]);
    for n in 0..10 {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &format!("k{n}")));
    }
    let extra = format!(
        r#"
[[source.dhcp]]
kind = "kea"
name = "kea-hall"
leases = "{dir}/kea-leases4.csv"
pool = "10.77.0.10-10.77.0.59"
zone = "hall"
control_socket = "{dir}/kea4.sock"
"#,
        dir = dir.path().display()
    );
    let _agent = hall.start_agent_with(dir.path(), 9842, "1m", &extra);
    let metrics = hall.metrics_when(9842, "10 Kea leases", Duration::from_secs(60), |m| {
        value(
            m,
            "venuemon_dhcp_leases_active{pool=\"kea-hall\",zone=\"hall\"}",
        ) == Some(10.0)
            && value(
                m,
                "venuemon_dhcp_server_assigned_addresses{pool=\"kea-hall\",zone=\"hall\"}",
            ) == Some(10.0)
    });
    assert_eq!(
        value(
            &metrics,
            "venuemon_dhcp_pool_size{pool=\"kea-hall\",zone=\"hall\"}"
        ),
        Some(50.0)
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_zone_clients_by_source{source=\"dhcp\",zone=\"hall\"}"
        ),
        Some(10.0)
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_source_up{instance=\"kea-hall\",source=\"kea_statistics\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_dhcp_allocation_failures_total{pool=\"kea-hall\",zone=\"hall\"}"
        ),
        Some(0.0)
    );
    common::promtool_check(&metrics);
}

#[test]
fn lab_root_live_capture_sees_dhcp_exchanges_and_unanswered_discovers() {
    require_dhcp_tools();
    let macs: Vec<String> = (0..6).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("capture", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let extra = "[[source.capture]]\ninterface = \"hall0\"\nzone = \"hall\"\n";
    let _agent = hall.start_agent_with(dir.path(), 9842, "1m", extra);
    let up = "venuemon_source_up{instance=\"hall0\",source=\"capture\"}";
    hall.metrics_when(9842, "the capture running", Duration::from_secs(15), |m| {
        value(m, up) == Some(1.0)
    });

    // Five clients get leases from a real dnsmasq while venuemon watches the wire.
    let mut processes = Processes(vec![dnsmasq(&hall, dir.path(), "10.77.0.10,10.77.0.200")]);
    for n in [0, 2, 4, 1, 3] {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &format!("cap{n}")));
    }
    let ttl_count = "venuemon_dhcp_time_to_lease_seconds_count{interface=\"hall0\"}";
    let metrics = hall.metrics_when(
        9842,
        "five completed DHCP transactions",
        Duration::from_secs(60),
        |m| value(m, ttl_count).is_some_and(|n| n >= 5.0),
    );
    let discovers = value(
        &metrics,
        "venuemon_dhcp_messages_total{interface=\"hall0\",type=\"discover\"}",
    );
    let acks = value(
        &metrics,
        "venuemon_dhcp_messages_total{interface=\"hall0\",type=\"ack\"}",
    );
    assert!(
        discovers.is_some_and(|n| n >= 5.0) && acks.is_some_and(|n| n >= 5.0),
        "{discovers:?} {acks:?}"
    );
    let sum = value(
        &metrics,
        "venuemon_dhcp_time_to_lease_seconds_sum{interface=\"hall0\"}",
    )
    .expect("sum");
    assert!(
        sum > 0.0 && sum < 5.0 * 30.0,
        "time to lease is measured: {sum}"
    );
    let unanswered = "venuemon_dhcp_unanswered_discovers_total{interface=\"hall0\"}";
    // DISCOVERs sent before dnsmasq was listening are rightly unanswered: count from here.
    let before = value(&metrics, unanswered).expect("unanswered DISCOVERs exported");
    common::promtool_check(&metrics);

    // The server stops; a sixth client's DISCOVERs go unanswered.
    let mut server = std::mem::replace(&mut processes.0[0], spawn(&["netns", "list"]));
    let _ = server.kill();
    let _ = server.wait();
    processes
        .0
        .push(client(&hall, 5, dir.path(), &script, "cap5"));
    hall.metrics_when(
        9842,
        "an unanswered DISCOVER",
        Duration::from_secs(40),
        |m| value(m, unanswered).is_some_and(|n| n > before),
    );
}

/// Kea's own count of assigned addresses in subnet 1, asked on its control socket.
fn kea_assigned(socket: &Path) -> Option<u64> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream
        .write_all(br#"{"command": "statistic-get-all", "arguments": {}}"#)
        .ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        reply.extend_from_slice(&chunk[..n]);
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&reply) {
            return json["arguments"]["subnet[1].assigned-addresses"][0][0].as_u64();
        }
        if n == 0 {
            return None;
        }
    }
}

/// The inode at `path`, if anything is there.
fn inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

#[test]
fn lab_root_kea_count_matches_kea_before_during_and_after_lease_file_cleanups() {
    require_dhcp_tools();
    common::require_tool("kea-dhcp4", "kea-dhcp4-server");
    common::require_tool("kea-lfc", "kea-dhcp4-server");
    let clients = 6;
    let macs: Vec<String> = (0..clients).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("kealfc", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    // 20 s leases: clients renew every 10 s, so the live file keeps getting rows that each
    // cleanup (every 3 s) folds into `.2`.
    let mut processes = Processes(vec![kea(&hall, dir.path(), 20, 3)]);
    for n in 0..clients {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &format!("lfc{n}")));
    }
    let extra = format!(
        "[[source.dhcp]]\nkind = \"kea\"\nname = \"kea-lfc\"\nleases = \"{}/kea-leases4.csv\"\nzone = \"hall\"\n",
        dir.path().display()
    );
    let mut agent = hall.start_agent_with(dir.path(), 9842, "1m", &extra);
    let active = "venuemon_dhcp_leases_active{pool=\"kea-lfc\",zone=\"hall\"}";
    let socket = dir.path().join("kea4.sock");
    let expected = clients as f64;
    hall.metrics_when(9842, "every client's lease", Duration::from_secs(60), |m| {
        value(m, active) == Some(expected) && kea_assigned(&socket) == Some(clients as u64)
    });

    let live = dir.path().join("kea-leases4.csv");
    let dot2 = dir.path().join("kea-leases4.csv.2");
    let mut cleanups = std::collections::BTreeSet::new();
    let mut polls = 0;
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(15) || cleanups.len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "fewer than two lease file cleanups in 40 s: is kea-lfc installed?"
        );
        cleanups.extend(inode(&dot2));
        let metrics = hall.hall.get(9842, "/metrics").expect("/metrics");
        let venuemon = value(&metrics, active);
        let kea = kea_assigned(&socket);
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("kea-leases4"))
            .collect();
        assert_eq!(
            (venuemon, kea),
            (Some(expected), Some(clients as u64)),
            "venuemon and Kea disagree after {:?} (files: {files:?}; cleanups so far: {})",
            start.elapsed(),
            cleanups.len()
        );
        polls += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    // The cleanups really moved the leases: the live file holds only what came after.
    let live_rows = std::fs::read_to_string(&live)
        .expect("live file")
        .lines()
        .count();
    assert!(
        polls > 20 && cleanups.len() >= 2,
        "{polls} polls, {cleanups:?}"
    );
    assert!(agent.stop().success());
    eprintln!(
        "kea lfc lab: {polls} polls over {:?}, {} cleanups, {live_rows} lines in the live file at the end",
        start.elapsed(),
        cleanups.len()
    );
}

/// Time `/healthz` takes, as curl measures it inside the hall.
fn healthz_seconds(hall: &Hall, port: u16) -> f64 {
    let url = format!("http://127.0.0.1:{port}/healthz");
    let out = hall.hall.exec(&[
        "curl",
        "-sf",
        "-o",
        "/dev/null",
        "--max-time",
        "5",
        "-w",
        "%{time_total}",
        &url,
    ]);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("curl's time_total")
}

#[test]
fn lab_root_dnsmasq_lease_file_swapped_for_fifo_directory_garbage_then_back() {
    require_dhcp_tools();
    common::require_tool("mkfifo", "coreutils");
    let macs: Vec<String> = (0..2).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("swap", &mac_refs, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let mut processes = Processes(vec![dnsmasq(&hall, dir.path(), "10.77.0.10,10.77.0.200")]);
    for n in 0..2 {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, &format!("swap{n}")));
    }
    let leases = dir.path().join("dnsmasq.leases");
    let extra = format!(
        "[[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"{}\"\nzone = \"hall\"\n",
        leases.display()
    );
    let mut agent = hall.start_agent_with(dir.path(), 9842, "1m", &extra);
    let active = "venuemon_dhcp_leases_active{pool=\"hall\",zone=\"hall\"}";
    let up = "venuemon_source_up{instance=\"hall\",source=\"dhcp\"}";
    let errors = |kind: &str| {
        format!("venuemon_source_errors_total{{instance=\"hall\",kind=\"{kind}\",source=\"dhcp\"}}")
    };
    hall.metrics_when(9842, "both leases", Duration::from_secs(60), |m| {
        value(m, active) == Some(2.0) && value(m, up) == Some(1.0)
    });

    let mut slowest: f64 = 0.0;
    let mut phases = Vec::new();
    // The source is down with `kind`, its message saying `what`, and no pool count is served.
    let mut down_with = |kind: &str, what: &str| {
        let swapped = std::time::Instant::now();
        let message = common::wait_for(
            &format!("the source down: {kind}, {what}"),
            Duration::from_secs(30),
            || {
                slowest = slowest.max(healthz_seconds(&hall, 9842));
                let metrics = hall.hall.get(9842, "/metrics")?;
                let status = hall.hall.get(9842, "/api/status")?;
                let json: serde_json::Value = serde_json::from_str(&status).ok()?;
                let dhcp = json["sources"]
                    .as_array()?
                    .iter()
                    .find(|s| s["source"] == "dhcp")?
                    .clone();
                let message = dhcp["last_error"].as_str()?.to_string();
                (value(&metrics, up) == Some(0.0)
                    && value(&metrics, &errors(kind)).is_some_and(|n| n >= 1.0)
                    && value(&metrics, active).is_none()
                    && message.contains(what))
                .then_some(message)
            },
        );
        phases.push((what.to_string(), swapped.elapsed()));
        message
    };

    // dnsmasq keeps writing the file it opened, wherever it is moved.
    let saved = dir.path().join("saved.leases");
    std::fs::rename(&leases, &saved).expect("move the lease file away");
    common::run("mkfifo", &[leases.to_str().expect("utf-8")]);
    let message = down_with("not_regular", "FIFO");
    assert!(message.contains("dnsmasq.leases"), "{message}");
    std::fs::remove_file(&leases).expect("rm fifo");
    std::fs::create_dir(&leases).expect("mkdir");
    down_with("not_regular", "directory");
    std::fs::remove_dir(&leases).expect("rmdir");
    let garbage: String = (0..20).map(|i| format!("garbage line {i}\n")).collect();
    std::fs::write(&leases, garbage).expect("write garbage");
    down_with("degraded", "most records cannot be read");
    std::fs::rename(&saved, &leases).expect("the real file back");
    let back = std::time::Instant::now();
    common::wait_for("the source back up", Duration::from_secs(30), || {
        slowest = slowest.max(healthz_seconds(&hall, 9842));
        let metrics = hall.hall.get(9842, "/metrics")?;
        (value(&metrics, up) == Some(1.0) && value(&metrics, active) == Some(2.0)).then_some(())
    });
    phases.push(("back up".into(), back.elapsed()));
    assert!(slowest < 0.05, "/healthz took {slowest} s");

    let stopping = std::time::Instant::now();
    assert!(agent.stop().success());
    let stopped = stopping.elapsed();
    assert!(stopped < Duration::from_secs(3), "SIGTERM took {stopped:?}");
    let log = agent.log();
    assert!(
        log.contains("degraded"),
        "the log names the degraded file:\n{log}"
    );
    common::assert_nothing_leaks(&[("the log", &log)], macs.iter().map(String::as_str));
    eprintln!(
        "lease file swap lab: seen after {phases:?}; slowest /healthz {slowest} s, SIGTERM to exit {stopped:?}"
    );
}

/// The field case `dnsmasq-temporary-address` with the real programs: dnsmasq writes a DHCPv6
/// temporary address (IA_TA, `dhclient -6 -T`) with its IAID prefixed by `T`, beside an
/// ordinary IA_NA lease; the parser counts both.
#[test]
fn lab_root_dnsmasq_dhcpv6_temporary_address_counts() {
    require_dhcp_tools();
    let hall = Hall::build("dnsmasq6", &[&mac(1), &mac(2)], false);
    hall.hall
        .ip(&["addr", "add", "fd77::1/64", "dev", "hall0", "nodad"]);
    // dhclient -6 needs its link-local address, which is tentative until DAD ends (~1 s).
    for client in &hall.clients {
        common::wait_for(
            "the client's link-local address",
            Duration::from_secs(10),
            || {
                let out = client.exec(&["ip", "-6", "addr", "show", "dev", "eth0", "tentative"]);
                out.stdout.is_empty().then_some(())
            },
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = script(dir.path());
    let leases = dir.path().join("dnsmasq.leases");
    let lease_file = format!("--dhcp-leasefile={}", leases.display());
    let mut processes = Processes(vec![spawn(&[
        "netns",
        "exec",
        &hall.hall.0,
        "dnsmasq",
        "--no-daemon",
        "--port=0",
        "--conf-file=/dev/null",
        "--interface=hall0",
        "--bind-interfaces",
        "--dhcp-range=fd77::10,fd77::ff,64,10m",
        &lease_file,
    ])]);
    for (n, ia) in [(0, "-T"), (1, "-N")] {
        let files = dhclient_files(dir.path(), n + 1);
        std::fs::write(&files[1], "").expect("write conf");
        let mut args = vec![
            "netns",
            "exec",
            &hall.clients[n].0,
            "dhclient",
            "-6",
            ia,
            "-d",
            "-sf",
            &script,
        ];
        args.extend(files.iter().map(String::as_str));
        args.push("eth0");
        processes.0.push(spawn(&args));
    }
    let (text, parsed) = common::wait_for(
        "both DHCPv6 leases in dnsmasq's lease file",
        Duration::from_secs(30),
        || {
            let bytes = std::fs::read(&leases).ok()?;
            let parsed = venuemon::sources::dhcp::dnsmasq::parse(&bytes);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            (text.lines().filter(|l| l.contains("fd77:")).count() == 2).then_some((text, parsed))
        },
    );
    assert!(
        text.lines().any(|l| l
            .split(' ')
            .nth(1)
            .is_some_and(|iaid| iaid.starts_with('T'))),
        "dnsmasq wrote an IA_TA lease: {text}"
    );
    assert_eq!(parsed.skipped, 0, "{text}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    assert_eq!(parsed.active(now, None).count(), 2, "{text}");
    drop(processes);
}

/// Issue 10: a zone whose sources were all down showed "ok" with 0 devices. Here the hall's
/// only source is a lease file: missing from the start (nothing covers the hall: unknown,
/// naming `dhcp`), then written (judged: ok), then gone (unknown again). Needs no root.
#[test]
fn regression_a_zone_whose_only_lease_file_is_missing_is_unknown_not_ok() {
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    let config = common::TestConfig::new(dir.path()).section(&format!(
        "[[source.dhcp]]\nkind = \"dnsmasq\"\nleases = {:?}\nzone = \"hall\"\n",
        leases.display().to_string()
    ));
    let _agent = config.start(None);
    let hall_when = |what: &str, status: &str| -> (serde_json::Value, String) {
        common::wait_for(what, Duration::from_secs(15), || {
            let (_, body) = common::http_get(config.port, "/api/status")?;
            let json: serde_json::Value = serde_json::from_str(&body).ok()?;
            let hall = json["zones"][0].clone();
            (hall["status"] == status).then_some(hall)?;
            let (_, metrics) = common::http_get(config.port, "/metrics")?;
            Some((json["zones"][0].clone(), metrics))
        })
    };
    let series = "venuemon_zone_status{zone=\"hall\"}";

    let (hall, metrics) = hall_when("the hall unknown while the file is missing", "unknown");
    assert_eq!(hall["reasons"][0]["kind"], "source_down", "{hall}");
    assert_eq!(hall["reasons"][0]["subject"], "dhcp", "{hall}");
    assert_eq!(value(&metrics, series), Some(-1.0));

    // An infinite lease (expiry 0), read at the next tick.
    std::fs::write(&leases, "0 02:00:5e:10:00:07 10.10.0.7 laptop *\n").expect("write");
    let (hall, metrics) = hall_when("the hall judged once the file is read", "ok");
    assert_eq!(hall["reasons"], serde_json::json!([]), "{hall}");
    assert_eq!(value(&metrics, series), Some(0.0));

    std::fs::remove_file(&leases).expect("remove");
    let (hall, metrics) = hall_when("the hall unknown once the file is gone", "unknown");
    assert_eq!(hall["reasons"][0]["subject"], "dhcp", "{hall}");
    assert_eq!(value(&metrics, series), Some(-1.0));
}
