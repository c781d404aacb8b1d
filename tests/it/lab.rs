//! Venue lab tests (need root: network namespaces, veth pairs, a bridge, the real kernel).
//! A hall namespace holds a bridge `hall0` and the agent; client namespaces hang off it.

use std::time::{Duration, Instant};

use crate::common::{self, Agent};
use crate::venue::{Hall, Netns, value, veth};

const MACS: [&str; 3] = [
    "00:16:3e:4c:00:01",
    "00:16:3e:4c:00:02",
    "06:1b:2c:3d:4e:5f",
];

#[test]
fn lab_root_three_clients_counted_one_randomized_and_nothing_personal_leaks() {
    let hall = Hall::build("clients", &MACS, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = 9842;
    let mut agent = hall.start_agent(dir.path(), port, "");
    hall.ping_gateway();
    let metrics = hall.metrics_when(
        port,
        "3 clients in the hall",
        Duration::from_secs(15),
        |m| value(m, "venuemon_zone_clients{zone=\"hall\"}") == Some(3.0),
    );
    assert_eq!(
        value(&metrics, "venuemon_zone_clients_randomized{zone=\"hall\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_zone_clients_by_source{source=\"neighbours\",zone=\"hall\"}"
        ),
        Some(3.0)
    );
    common::promtool_check(&metrics);
    let status = hall.hall.get(port, "/api/status").expect("/api/status");
    let json: serde_json::Value = serde_json::from_str(&status).expect("status is JSON");
    assert_eq!(json["zones"][0]["clients"], 3);
    assert!(agent.stop().success());
    let log = agent.log();
    common::assert_nothing_leaks(
        &[
            ("/metrics", &metrics),
            ("/api/status", &status),
            ("the log", &log),
        ],
        hall.macs.iter().chain(&hall.ips),
    );
}

#[test]
fn lab_root_traffic_through_a_veth_shows_in_byte_counters() {
    let hall = Hall::build("traffic", &MACS[..1], true);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = 9842;
    let _agent = hall.start_agent(dir.path(), port, "");
    let series = "venuemon_interface_receive_bytes_total{interface=\"vh1\"}";
    let before = hall.metrics_when(port, "vh1 counters", Duration::from_secs(15), |m| {
        value(m, series).is_some()
    });
    let before = value(&before, series).expect("vh1 rx bytes");
    // 400 echo requests of 1400 bytes of payload: at least 560 000 bytes cross vh1.
    hall.clients[0].exec(&["ping", "-q", "-f", "-c", "400", "-s", "1400", "10.77.0.1"]);
    let sent = 400.0 * 1400.0;
    let after = hall.metrics_when(port, "vh1 counters to grow", Duration::from_secs(10), |m| {
        value(m, series).is_some_and(|v| v >= before + sent)
    });
    let hall_rx = value(
        &after,
        "venuemon_interface_receive_bytes_total{interface=\"hall0\",zone=\"hall\"}",
    );
    assert!(
        hall_rx.is_some_and(|v| v >= sent),
        "bridge counted the traffic too: {hall_rx:?}"
    );
}

#[test]
fn lab_root_deleted_veth_disappears_within_a_tick_without_scrape_errors() {
    let hall = Hall::build("vanish", &MACS[..2], true);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = 9842;
    let mut agent = hall.start_agent(dir.path(), port, "");
    hall.metrics_when(port, "vh2 in /metrics", Duration::from_secs(15), |m| {
        m.contains("interface=\"vh2\"")
    });
    hall.hall.ip(&["link", "del", "vh2"]);
    let deleted = Instant::now();
    let metrics = hall.metrics_when(port, "vh2 gone", Duration::from_secs(5), |m| {
        !m.contains("interface=\"vh2\"")
    });
    let took = deleted.elapsed();
    assert!(
        took <= Duration::from_millis(1600),
        "vh2 vanished after {took:?}, tick is 1 s"
    );
    assert!(
        metrics.contains("interface=\"vh1\""),
        "the other port stays"
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_source_up{instance=\"netlink\",source=\"netdev\"}"
        ),
        Some(1.0)
    );
    assert!(agent.stop().success());
    assert!(
        !agent.log().contains("ERROR"),
        "no error logged:\n{}",
        agent.log()
    );
}

#[test]
fn lab_root_zero_config_monitors_bridges_not_veths_in_a_host_zone() {
    common::require_root("the zero-config lab");
    let ns = Netns::new(format!("vm-zero-{}", std::process::id()));
    ns.ip(&["link", "add", "lan0", "type", "bridge"]);
    ns.ip(&["link", "set", "lan0", "up"]);
    veth("vz0", Some(&ns), "vz1", Some(&ns));
    ns.ip(&["link", "add", "docker0", "type", "bridge"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let _agent = Agent::start(
        Some(&ns.0),
        &["--listen", "127.0.0.1:9842"],
        &[("STATE_DIRECTORY", state.to_str().expect("utf-8"))],
        dir.path().join("agent.log"),
    );
    let metrics = common::wait_for("zero-config metrics", Duration::from_secs(15), || {
        ns.get(9842, "/metrics")
            .filter(|m| m.contains("venuemon_interface_up{interface=\"lan0\""))
    });
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let zone_line = metrics
        .lines()
        .find(|l| l.starts_with("venuemon_zone_info{"))
        .expect("one zone");
    assert!(
        zone_line.contains(&format!("name=\"{}\"", host.trim())),
        "{zone_line}"
    );
    for absent in ["\"vz0\"", "\"vz1\"", "\"lo\"", "\"docker0\""] {
        assert!(
            !metrics.contains(&format!("interface={absent}")),
            "{absent} is not monitored by default"
        );
    }
}

/// The hall's own router (its default routes' next hop, IPv4 and IPv6 link-local, reachable in
/// the neighbour table by three addresses) is infrastructure: only the client on the bridge counts.
#[test]
fn lab_root_the_hosts_gateway_is_not_counted_as_a_client() {
    let hall = Hall::build("gateway", &MACS[..1], true);
    let router = Netns::new(format!("vm-gateway-r-{}", std::process::id()));
    veth("vh9", Some(&hall.hall), "eth0", Some(&router));
    hall.hall
        .ip(&["link", "set", "vh9", "master", "hall0", "up"]);
    router.ip(&["link", "set", "eth0", "address", "00:16:3e:4c:00:fe"]);
    router.ip(&["addr", "add", "10.77.0.254/24", "dev", "eth0"]);
    router.ip(&["addr", "add", "fe80::1/64", "dev", "eth0", "nodad"]);
    router.ip(&["addr", "add", "2001:db8:77::1/64", "dev", "eth0", "nodad"]);
    router.ip(&["link", "set", "eth0", "up"]);
    hall.hall
        .ip(&["addr", "add", "fe80::2/64", "dev", "hall0", "nodad"]);
    hall.hall
        .ip(&["addr", "add", "2001:db8:77::2/64", "dev", "hall0", "nodad"]);
    hall.hall
        .ip(&["route", "add", "default", "via", "10.77.0.254"]);
    hall.hall.ip(&[
        "-6", "route", "add", "default", "via", "fe80::1", "dev", "hall0",
    ]);
    let ping = |to: &str| hall.hall.exec(&["ping", "-c", "1", "-W", "2", to]);
    ping("10.77.0.254");
    ping("fe80::1%hall0");
    // The router's global address is not a next hop: its MAC, a gateway's, leaves it out.
    ping("2001:db8:77::1");
    hall.ping_gateway();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = 9842;
    let _agent = hall.start_agent(dir.path(), port, "");
    let clients = "venuemon_zone_clients{zone=\"hall\"}";
    hall.metrics_when(port, "the client counted", Duration::from_secs(15), |m| {
        value(m, clients).is_some_and(|n| n >= 1.0)
    });
    // Three more ticks: the router, in the table all along, never joins the count.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(1));
        let metrics = hall.hall.get(port, "/metrics").expect("/metrics");
        assert_eq!(
            value(&metrics, clients),
            Some(1.0),
            "only the client counts"
        );
    }
}
