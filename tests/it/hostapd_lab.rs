//! hostapd lab (needs root, network namespaces, Debian's `hostapd`, `wpasupplicant`,
//! `iproute2` and `curl`): the real programs, and the agent reading hostapd's control sockets.
//!
//! One hostapd (`driver=wired`, IEEE 802.1X with its internal EAP-MD5 server) serves three
//! veth ports `ap1..ap3` in the AP namespace, one config file (one BSS, one control socket)
//! per port; a `wpa_supplicant -D wired` station sits behind each port in its own namespace.
//! What the lab taught:
//! - a bridge does not work with `driver=wired`: hostapd has to serve each port itself, so
//!   one hostapd is given one config per port;
//! - `use_pae_group_addr=0`, or the EAPOL frames to the PAE group address go nowhere on veth;
//! - a station stopped with SIGTERM alone sends no EAPOL-Logoff with `-D wired`, so hostapd
//!   keeps it: stations are logged off with `wpa_cli logoff` first;
//! - after a restart of hostapd the agent must attach to the new sockets again; the stations
//!   still hold their old sessions and have to be restarted to authenticate again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Agent, station_mac};
use crate::venue::{Netns, value, veth};

pub const STATIONS: usize = 3;
const PORT: u16 = 9842;

/// The AP namespace with hostapd, the station namespaces with their supplicants (the stack
/// test runs one too).
pub struct Lab {
    dir: tempfile::TempDir,
    /// The AP namespace: hostapd and, in these tests, the agent.
    pub ap: Netns,
    stations: Vec<Netns>,
    hostapd: Option<Child>,
    supplicants: Vec<Option<Child>>,
}

impl Lab {
    pub fn build() -> Lab {
        common::require_root("the hostapd lab");
        common::require_tool("ip", "iproute2");
        common::require_tool("curl", "curl");
        common::require_tool("hostapd", "hostapd");
        common::require_tool("wpa_supplicant", "wpasupplicant");
        common::require_tool("wpa_cli", "wpasupplicant");
        let id = std::process::id();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::write(d.join("eap_users"), "\"user\" MD5 \"password\"\n").expect("write");
        std::fs::create_dir(d.join("ctrl")).expect("ctrl dir");
        let ap = Netns::new(format!("vm-hap-{id}"));
        let mut stations = Vec::new();
        for n in 1..=STATIONS {
            let station = Netns::new(format!("vm-hap-s{n}-{id}"));
            let port = format!("ap{n}");
            veth(&port, Some(&ap), "eth0", Some(&station));
            station.ip(&["link", "set", "eth0", "address", &station_mac(n)]);
            station.ip(&["link", "set", "eth0", "up"]);
            ap.ip(&["link", "set", &port, "up"]);
            let conf = format!(
                "interface={port}\ndriver=wired\nctrl_interface={ctrl}\nieee8021x=1\n\
                 eap_server=1\neap_user_file={users}\nuse_pae_group_addr=0\n\
                 logger_stdout=-1\nlogger_stdout_level=2\n",
                ctrl = d.join("ctrl").display(),
                users = d.join("eap_users").display()
            );
            std::fs::write(d.join(format!("hostapd{n}.conf")), conf).expect("write");
            let sta = format!(
                "ctrl_interface={ctrl}\nap_scan=0\nnetwork={{\n key_mgmt=IEEE8021X\n eap=MD5\n \
                 identity=\"user\"\n password=\"password\"\n eapol_flags=0\n}}\n",
                ctrl = d.join(format!("sta{n}")).display()
            );
            std::fs::write(d.join(format!("sta{n}.conf")), sta).expect("write");
            stations.push(station);
        }
        Lab {
            dir,
            ap,
            stations,
            hostapd: None,
            supplicants: (0..STATIONS).map(|_| None).collect(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn ctrl_dir(&self) -> PathBuf {
        self.path().join("ctrl")
    }

    /// Whether every BSS socket accepts a connection (a stale socket of a killed hostapd
    /// refuses it).
    fn sockets_answer(&self) -> bool {
        (1..=STATIONS).all(|n| {
            std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.connect(self.ctrl_dir().join(format!("ap{n}"))))
                .is_ok()
        })
    }

    /// Starts hostapd with one config per port; returns once every socket answers, at the
    /// instant it first did.
    pub fn start_hostapd(&mut self) -> Instant {
        let d = self.path().to_path_buf();
        let mut args = vec!["netns", "exec", &self.ap.0, "hostapd"];
        let confs: Vec<String> = (1..=STATIONS)
            .map(|n| d.join(format!("hostapd{n}.conf")).display().to_string())
            .collect();
        args.extend(confs.iter().map(String::as_str));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("hostapd.log"))
            .expect("hostapd log");
        let child = Command::new("ip")
            .args(&args)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start hostapd");
        self.hostapd = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.sockets_answer() {
                return Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "hostapd did not create its sockets; see {}",
                d.join("hostapd.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill_hostapd(&mut self) {
        if let Some(mut child) = self.hostapd.take() {
            // `ip netns exec` execs hostapd: this is SIGKILL to hostapd itself.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn start_station(&mut self, i: usize) {
        let n = i + 1;
        let conf = self.path().join(format!("sta{n}.conf"));
        let log = self.path().join(format!("sta{n}.log"));
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.stations[i].0,
                "wpa_supplicant",
                "-D",
                "wired",
                "-i",
                "eth0",
            ])
            .arg("-c")
            .arg(conf)
            .arg("-f")
            .arg(log)
            .stdout(Stdio::null())
            .spawn()
            .expect("start wpa_supplicant");
        self.supplicants[i] = Some(child);
    }

    /// Logs the station off (EAPOL-Logoff: hostapd ends its session), then stops it with
    /// SIGTERM. SIGTERM alone sends no Logoff with `-D wired`: hostapd would keep the station.
    fn stop_station(&mut self, i: usize) {
        let Some(mut child) = self.supplicants[i].take() else {
            return;
        };
        let ctrl = self.path().join(format!("sta{}", i + 1));
        let _ = Command::new("wpa_cli")
            .arg("-p")
            .arg(&ctrl)
            .args(["-i", "eth0", "logoff"])
            .stdout(Stdio::null())
            .status();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    /// Starts the agent in the AP namespace: 1 s tick, zone `hall`, only the hostapd source
    /// (no interface or neighbour source, so every client counted comes from hostapd).
    pub fn start_agent(&self) -> Agent {
        let d = self.path();
        let config = format!(
            r#"
[venue]
name = "Lab"
event = "lab"

[http]
listen = "127.0.0.1:{PORT}"

[agent]
tick = "1s"
state_dir = "{state}"

[[zone]]
id = "hall"
name = "Hall"
seats = 10

[source.netdev]
enabled = false

[source.neighbours]
enabled = false

[[source.hostapd]]
ctrl_dir = "{ctrl}"
zone = "hall"
"#,
            state = d.join("state").display(),
            ctrl = self.ctrl_dir().display()
        );
        Agent::with_config(Some(&self.ap.0), d, &config, "agent.log")
    }

    /// Polls `/metrics` (every 100 ms) until `ok` accepts it; returns it and how long it took.
    /// On timeout, fails with the hostapd lines of the last scrape.
    pub fn metrics_when(
        &self,
        what: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> (String, Duration) {
        let start = Instant::now();
        let mut last = None;
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            common::wait_for(what, limit, || {
                let metrics = self.ap.get(PORT, "/metrics");
                last.clone_from(&metrics);
                metrics.filter(|m| ok(m))
            })
        }));
        match polled {
            Ok(metrics) => (metrics, start.elapsed()),
            Err(_) => {
                let lines: Vec<&str> = last
                    .as_deref()
                    .unwrap_or("(no answer)")
                    .lines()
                    .filter(|l| {
                        !l.starts_with('#')
                            && (l.contains("hostapd") || l.contains("ap=") || l.contains("zone_"))
                    })
                    .collect();
                panic!(
                    "timed out after {limit:?} waiting for {what}; last /metrics:\n{}",
                    lines.join("\n")
                );
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Keep the logs and configs of a failed run (the temp dir goes).
            let keep =
                std::env::temp_dir().join(format!("venuemon-hostapd-lab-{}", std::process::id()));
            if std::fs::create_dir_all(&keep).is_ok() {
                for entry in std::fs::read_dir(self.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        let _ = std::fs::copy(entry.path(), keep.join(entry.file_name()));
                    }
                }
                eprintln!("hostapd lab files kept in {}", keep.display());
            }
        }
        for child in self.supplicants.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.kill_hostapd();
        // The namespaces (and the veths) go when `ap` and `stations` are dropped.
    }
}

/// The sum of every sample of `name` (any labels), `None` when there is none.
fn sum(metrics: &str, name: &str) -> Option<f64> {
    let values: Vec<f64> = metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

fn ap_clients(metrics: &str) -> Option<f64> {
    sum(metrics, "venuemon_ap_clients")
}

fn source_up(metrics: &str, ctrl: &Path) -> Option<f64> {
    value(
        metrics,
        &format!(
            "venuemon_source_up{{instance=\"{}\",source=\"hostapd\"}}",
            ctrl.display()
        ),
    )
}

#[test]
fn lab_root_hostapd_stations_counted_per_ap_and_recovered_after_restart() {
    let test_start = Instant::now();
    let mut lab = Lab::build();
    lab.start_hostapd();
    for i in 0..STATIONS {
        lab.start_station(i);
    }
    let mut agent = lab.start_agent();
    let ctrl = lab.ctrl_dir();

    // 1. Three stations, one per AP, all in the hall.
    let (metrics, took) = lab.metrics_when(
        "3 stations on the APs, 3 connects, 3 clients in the hall",
        Duration::from_secs(15),
        |m| {
            ap_clients(m) == Some(3.0)
                && sum(m, "venuemon_client_connects_total") == Some(3.0)
                && value(m, "venuemon_zone_clients{zone=\"hall\"}") == Some(3.0)
        },
    );
    eprintln!("3 stations counted {took:?} after the agent started");
    for n in 1..=STATIONS {
        assert_eq!(
            value(
                &metrics,
                &format!("venuemon_ap_clients{{ap=\"ap{n}\",band=\"unknown\",zone=\"hall\"}}")
            ),
            Some(1.0),
            "one station on ap{n}:\n{metrics}"
        );
    }
    assert_eq!(source_up(&metrics, &ctrl), Some(1.0), "{metrics}");
    assert_eq!(
        value(
            &metrics,
            "venuemon_zone_clients_by_source{source=\"hostapd\",zone=\"hall\"}"
        ),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        value(&metrics, "venuemon_zone_clients_randomized{zone=\"hall\"}"),
        Some(3.0),
        "locally administered MACs: {metrics}"
    );
    assert_eq!(
        sum(&metrics, "venuemon_client_disconnects_total").unwrap_or(0.0),
        0.0
    );

    // 2. One station logs off and stops.
    lab.stop_station(0);
    let stopped = Instant::now();
    let (metrics, _) =
        lab.metrics_when("2 stations and 1 disconnect", Duration::from_secs(5), |m| {
            ap_clients(m) == Some(2.0) && sum(m, "venuemon_client_disconnects_total") == Some(1.0)
        });
    eprintln!("station 1 gone {:?} after its logoff", stopped.elapsed());
    assert_eq!(
        value(
            &metrics,
            "venuemon_client_disconnects_total{ap=\"ap1\",zone=\"hall\"}"
        ),
        Some(1.0),
        "{metrics}"
    );

    // 3. hostapd killed: the source is down, the agent keeps serving.
    lab.kill_hostapd();
    let killed = Instant::now();
    let (metrics, _) = lab.metrics_when("source_up 0", Duration::from_secs(5), |m| {
        source_up(m, &ctrl) == Some(0.0)
    });
    eprintln!("source down {:?} after SIGKILL", killed.elapsed());
    assert!(metrics.contains("venuemon_zone_clients{zone=\"hall\"}"));
    std::thread::sleep(Duration::from_millis(1500));
    let still = lab
        .ap
        .get(PORT, "/metrics")
        .expect("/metrics still served with hostapd gone");
    assert_eq!(source_up(&still, &ctrl), Some(0.0));

    // hostapd back: attached again within two ticks of its sockets answering.
    let back = lab.start_hostapd();
    let (_, _) = lab.metrics_when("source_up 1", Duration::from_secs(5), |m| {
        source_up(m, &ctrl) == Some(1.0)
    });
    let up_after = back.elapsed();
    eprintln!("source up {up_after:?} after hostapd's sockets answered again");
    assert!(
        up_after <= Duration::from_millis(2500),
        "source_up back after {up_after:?}, tick is 1 s"
    );

    // The remaining stations still hold their old sessions; restarted, they authenticate
    // again, and the connects reach the agent through the new ATTACH.
    let restarted = Instant::now();
    for i in 1..STATIONS {
        lab.stop_station(i);
        lab.start_station(i);
    }
    let (metrics, _) = lab.metrics_when(
        "2 stations again and 5 connects",
        Duration::from_secs(15),
        |m| ap_clients(m) == Some(2.0) && sum(m, "venuemon_client_connects_total") == Some(5.0),
    );
    eprintln!(
        "2 stations again {:?} after restarting them",
        restarted.elapsed()
    );
    assert_eq!(
        value(
            &metrics,
            "venuemon_ap_clients{ap=\"ap1\",band=\"unknown\",zone=\"hall\"}"
        ),
        Some(0.0),
        "{metrics}"
    );
    assert_eq!(source_up(&metrics, &ctrl), Some(1.0));
    eprintln!(
        "events: {:?} connects, {:?} disconnects",
        sum(&metrics, "venuemon_client_connects_total"),
        sum(&metrics, "venuemon_client_disconnects_total")
    );
    common::promtool_check(&metrics);

    // 4. No station MAC anywhere.
    let status = lab.ap.get(PORT, "/api/status").expect("/api/status");
    let json: serde_json::Value = serde_json::from_str(&status).expect("status is JSON");
    assert_eq!(json["zones"][0]["id"], "hall", "{status}");
    assert!(agent.stop().success(), "agent exits cleanly");
    let log = agent.log();
    common::assert_nothing_leaks(
        &[
            ("/metrics", &metrics),
            ("/api/status", &status),
            ("the agent log", &log),
        ],
        (1..=STATIONS).map(station_mac),
    );
    eprintln!("hostapd lab took {:?}", test_start.elapsed());
}
