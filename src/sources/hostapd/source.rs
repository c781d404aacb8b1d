//! The hostapd source itself: each sample reads `STATUS` and the station list of every BSS
//! socket, and hands out the events counted since the previous sample by one attached
//! connection per socket, kept across samples and attached again when hostapd restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::ctrl::{Ctrl, EventStream};
use super::{ApEvents, ApSample, Band, HostapdSample};
use crate::inventory::{Inventory, LinkKind, ZoneIdx};
use crate::privacy::ClientKey;
use crate::sources::{Payload, Sighting, Source, SourceError};

/// How long a command waits for hostapd's reply, unless set with
/// [`HostapdSource::with_timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Which control sockets to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sockets {
    /// Every socket in this directory (hostapd's `ctrl_interface`), listed again at each
    /// sample since BSSs come and go.
    Dir(PathBuf),
    /// These sockets, one per BSS.
    Paths(Vec<PathBuf>),
}

/// Stations and events per access point, from hostapd's control sockets.
pub struct HostapdSource {
    sockets: Sockets,
    zone: Option<ZoneIdx>,
    inventory: Arc<Inventory>,
    key: ClientKey,
    timeout: Duration,
    /// One attached connection per socket that answered it.
    streams: BTreeMap<PathBuf, EventStream>,
    /// The last error kind per socket (`None`: answering), to log state changes once.
    health: BTreeMap<PathBuf, Option<&'static str>>,
}

/// What one socket gave in one sample.
struct ApRead {
    ap: ApSample,
    clients: Vec<Sighting>,
}

impl HostapdSource {
    /// A source reading `sockets`, placing every BSS in `zone` when given (else in the zone
    /// the inventory gives its interface), hashing station MACs with `key`.
    pub fn new(
        sockets: Sockets,
        zone: Option<ZoneIdx>,
        inventory: Arc<Inventory>,
        key: ClientKey,
    ) -> HostapdSource {
        HostapdSource {
            sockets,
            zone,
            inventory,
            key,
            timeout: DEFAULT_TIMEOUT,
            streams: BTreeMap::new(),
            health: BTreeMap::new(),
        }
    }

    /// Sets how long each command waits for a reply.
    pub fn with_timeout(mut self, timeout: Duration) -> HostapdSource {
        self.timeout = timeout;
        self
    }

    /// The sockets to read now, sorted.
    fn socket_paths(&self) -> Result<Vec<PathBuf>, SourceError> {
        let dir = match &self.sockets {
            Sockets::Paths(paths) => return Ok(paths.clone()),
            Sockets::Dir(dir) => dir,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::new(
                "missing",
                format!(
                    "hostapd control directory {} does not exist: hostapd is not running, or \
                     its ctrl_interface is elsewhere",
                    dir.display()
                ),
            ),
            _ => SourceError::io(dir, &e),
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_socket()))
            .map(|e| e.path())
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(SourceError::new(
                "missing",
                format!(
                    "no hostapd control socket in {}: hostapd is not running there",
                    dir.display()
                ),
            ));
        }
        Ok(paths)
    }

    fn zone_of(&self, ap: &str) -> Option<ZoneIdx> {
        self.zone
            .or_else(|| self.inventory.zone_of_interface(ap, LinkKind::Wireless))
    }

    /// Syncs the socket's event stream (attaching when there is none, or again when it
    /// died) and returns the events counted since the last sample.
    async fn events(&mut self, path: &Path) -> ApEvents {
        let mut counted = ApEvents::default();
        if let Some(stream) = self.streams.get_mut(path) {
            let alive = stream.sync(self.timeout).await;
            counted = stream.take();
            if let Err(e) = alive {
                tracing::info!(socket = %path.display(), error = %e, "hostapd event stream lost, attaching again");
                self.streams.remove(path);
            }
        }
        if !self.streams.contains_key(path) {
            match EventStream::attach(path, self.timeout).await {
                Ok(stream) => {
                    self.streams.insert(path.to_path_buf(), stream);
                }
                Err(e) => {
                    tracing::debug!(socket = %path.display(), error = %e, "cannot attach to hostapd events")
                }
            }
        }
        counted
    }

    /// STATUS and the station walk of one socket.
    async fn read(
        &self,
        path: &Path,
        ap: &str,
        zone: Option<ZoneIdx>,
    ) -> Result<ApRead, SourceError> {
        let ctrl = Ctrl::connect(path, self.timeout)?;
        let status = ctrl.status().await?;
        let stations = ctrl.stations().await?;
        let associated: Vec<_> = stations.iter().filter(|s| s.is_associated()).collect();
        let frequency_mhz = status.freq_mhz.filter(|&f| f > 0);
        let ap_sample = ApSample {
            ap: ap.to_string(),
            zone,
            band: frequency_mhz.map_or(Band::Unknown, Band::from_mhz),
            frequency_mhz,
            channel: status.channel.filter(|&c| c > 0),
            stations: associated.len() as u64,
            signals_dbm: associated.iter().filter_map(|s| s.signal_dbm).collect(),
            rx_bytes: associated.iter().filter_map(|s| s.rx_bytes).sum(),
            tx_bytes: associated.iter().filter_map(|s| s.tx_bytes).sum(),
            channel_utilization: status.chan_util_avg.map(|u| f64::from(u) / 255.0),
        };
        let clients = match zone {
            Some(zone) => associated
                .iter()
                .map(|s| Sighting {
                    client: self.key.client(&s.mac),
                    zone,
                    age: s.inactive.unwrap_or_default(),
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(ApRead {
            ap: ap_sample,
            clients,
        })
    }

    /// Logs a socket's change of state once.
    fn note(&mut self, path: &Path, outcome: Result<(), &SourceError>) {
        let now = outcome.err().map(|e| e.kind);
        let before = self.health.insert(path.to_path_buf(), now);
        if before == Some(now) {
            return;
        }
        match outcome {
            Ok(()) => tracing::info!(socket = %path.display(), "hostapd socket answering"),
            Err(e) => {
                tracing::warn!(socket = %path.display(), kind = e.kind, error = %e, "hostapd socket failing")
            }
        }
    }
}

impl Source for HostapdSource {
    const NAME: &'static str = "hostapd";

    fn instance(&self) -> String {
        match &self.sockets {
            Sockets::Dir(dir) => dir.display().to_string(),
            Sockets::Paths(paths) => paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    async fn sample(&mut self) -> Result<Payload, SourceError> {
        let paths = match self.socket_paths() {
            Ok(paths) => paths,
            Err(e) => {
                self.streams.clear();
                return Err(e);
            }
        };
        let current: BTreeSet<&PathBuf> = paths.iter().collect();
        let mut sample = HostapdSample::default();
        // BSSs gone from the directory: hand out their last events, then forget them.
        let gone: Vec<PathBuf> = self
            .streams
            .keys()
            .filter(|p| !current.contains(p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(stream) = self.streams.remove(&path) {
                let ap = ap_name(&path);
                let zone = self.zone_of(&ap);
                push_events(&mut sample, ap, zone, stream.take());
            }
        }
        self.health.retain(|p, _| current.contains(p));

        let mut first_error = None;
        for path in &paths {
            let ap = ap_name(path);
            let zone = self.zone_of(&ap);
            let events = self.events(path).await;
            push_events(&mut sample, ap.clone(), zone, events);
            match self.read(path, &ap, zone).await {
                Ok(read) => {
                    self.note(path, Ok(()));
                    sample.aps.push(read.ap);
                    sample.clients.extend(read.clients);
                }
                Err(e) => {
                    self.note(path, Err(&e));
                    self.streams.remove(path);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if sample.aps.is_empty() => Err(if paths.len() == 1 {
                e
            } else {
                SourceError::new(
                    e.kind,
                    format!(
                        "none of the {} hostapd control sockets answered; first: {e}",
                        paths.len()
                    ),
                )
            }),
            _ => Ok(Payload::Hostapd(sample)),
        }
    }
}

/// The BSS interface name: the socket's file name.
fn ap_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Adds an AP's events to the sample, unless there were none.
fn push_events(sample: &mut HostapdSample, ap: String, zone: Option<ZoneIdx>, events: ApEvents) {
    if events != ApEvents::default() {
        sample.events.push((ap, zone, events));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sources::hostapd::ctrl::tests::FakeHostapd;

    fn inventory() -> Arc<Inventory> {
        Arc::new(Inventory::new(&Config::zero_config("lab")))
    }

    fn key() -> ClientKey {
        ClientKey::from_bytes([9; 16])
    }

    fn wifi(command: &str) -> Option<String> {
        let station = |n: u8, flags: &str| {
            Some(format!(
                "02:00:00:00:02:0{n}\nflags={flags}\nsignal=-5{n}\ninactive_msec={n}000\n\
                 rx_bytes=100\ntx_bytes=200\n"
            ))
        };
        match command {
            "STATUS" => Some(
                "state=ENABLED\nfreq=5180\nchannel=36\nchan_util_avg=51\nbss[0]=wlan0\n".into(),
            ),
            "STA-FIRST" => station(1, "[AUTH][ASSOC][AUTHORIZED]"),
            "STA-NEXT 02:00:00:00:02:01" => station(2, "[AUTH]"),
            "STA-NEXT 02:00:00:00:02:02" => station(3, "[AUTH][ASSOC]"),
            _ => Some(String::new()),
        }
    }

    fn hostapd(sample: Result<Payload, SourceError>) -> HostapdSample {
        match sample {
            Ok(Payload::Hostapd(s)) => s,
            other => panic!("not a hostapd sample: {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn samples_stations_and_events_per_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), wifi);
        let mut source = HostapdSource::new(
            Sockets::Dir(dir.path().to_path_buf()),
            Some(0),
            inventory(),
            key(),
        );
        assert_eq!(source.instance(), dir.path().display().to_string());
        let first = hostapd(source.sample().await);
        assert_eq!(first.aps.len(), 1);
        let ap = &first.aps[0];
        assert_eq!(
            (ap.ap.as_str(), ap.zone, ap.band),
            ("wlan0", Some(0), Band::Ghz5)
        );
        assert_eq!((ap.frequency_mhz, ap.channel), (Some(5180), Some(36)));
        assert_eq!(
            ap.stations, 2,
            "the station only authenticated does not count"
        );
        assert_eq!(ap.signals_dbm, [-51, -53]);
        assert_eq!((ap.rx_bytes, ap.tx_bytes), (200, 400));
        assert_eq!(ap.channel_utilization, Some(51.0 / 255.0));
        assert_eq!(first.clients.len(), 2);
        assert_eq!(first.clients[1].age, Duration::from_secs(3));
        assert!(first.events.is_empty());

        assert_eq!(fake.listeners(), 1, "attached once");
        for _ in 0..250 {
            fake.push("<3>AP-STA-CONNECTED 02:00:00:00:02:07").await;
            fake.push("AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:02:07")
                .await;
        }
        let second = hostapd(source.sample().await);
        let expected = ApEvents {
            connects: 250,
            disconnects: 0,
            auth_failures: 250,
        };
        assert_eq!(second.events, [("wlan0".to_string(), Some(0), expected)]);
        let third = hostapd(source.sample().await);
        assert!(third.events.is_empty(), "events are handed out once");
        assert_eq!(fake.listeners(), 1, "the attached connection is kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_failing_socket_makes_the_sample_partial_all_failing_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), wifi);
        let dead = dir.path().join("wlan1");
        let mut source = HostapdSource::new(
            Sockets::Paths(vec![fake.path.clone(), dead.clone()]),
            None,
            inventory(),
            key(),
        )
        .with_timeout(Duration::from_millis(300));
        assert_eq!(
            source.instance(),
            format!("{},{}", fake.path.display(), dead.display())
        );
        let partial = hostapd(source.sample().await);
        assert_eq!(partial.aps.len(), 1);
        // zero_config's host zone claims no interface, so no zone and no sightings.
        assert!(partial.clients.is_empty() || partial.aps[0].zone.is_some());
        drop(fake);
        let err = source.sample().await.expect_err("nobody answers");
        assert_eq!(err.kind, "missing");
        assert!(err.message.contains("none of the 2"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restarted_hostapd_is_attached_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wlan0");
        let fake = FakeHostapd::start(path.clone(), wifi);
        let mut source = HostapdSource::new(
            Sockets::Paths(vec![path.clone()]),
            Some(0),
            inventory(),
            key(),
        );
        hostapd(source.sample().await);
        drop(fake);
        let err = source.sample().await.expect_err("hostapd gone");
        assert_eq!(err.kind, "missing");
        let fake = FakeHostapd::start(path.clone(), wifi);
        hostapd(source.sample().await);
        assert_eq!(fake.listeners(), 1, "attached to the new hostapd");
        fake.push("<3>AP-STA-DISCONNECTED 02:00:00:00:02:01").await;
        let sample = hostapd(source.sample().await);
        assert_eq!(sample.events.len(), 1);
        assert_eq!(sample.events[0].2.disconnects, 1);
    }

    #[tokio::test]
    async fn missing_directory_or_empty_directory_is_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut source = HostapdSource::new(
            Sockets::Dir(dir.path().join("nope")),
            None,
            inventory(),
            key(),
        );
        assert_eq!(source.sample().await.expect_err("no dir").kind, "missing");
        let mut source =
            HostapdSource::new(Sockets::Dir(dir.path().into()), None, inventory(), key());
        let err = source.sample().await.expect_err("empty");
        assert!(err.kind == "missing" && err.message.contains("not running"));
    }
}

/// The venue lab with the real programs (needs root, network namespaces, Debian's `hostapd`,
/// `wpasupplicant` and `iproute2`): one hostapd (`driver=wired`, 802.1X with EAP-MD5) serving
/// three veth ports `ap1..ap3` in one namespace, one `wpa_supplicant -D wired` station per
/// port in its own namespace.
#[cfg(test)]
mod lab_root {
    use std::process::{Child, Command, Stdio};
    use std::time::Instant;

    use super::*;
    use crate::config::Config;

    const STATIONS: usize = 3;

    /// Runs a command, failing loudly with its stderr.
    fn run(program: &str, args: &[&str]) {
        let output = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn require(tool: &str, package: &str) {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(found, "`{tool}` is missing: apt-get install {package}");
    }

    fn signal(child: &Child, name: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status();
    }

    struct Lab {
        dir: tempfile::TempDir,
        ap_ns: String,
        station_ns: Vec<String>,
        hostapd: Option<Child>,
        supplicants: Vec<Option<Child>>,
    }

    impl Lab {
        fn build() -> Lab {
            let uid =
                std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
            assert_eq!(
                uid.ok(),
                Some(0),
                "the hostapd lab needs root (network namespaces)"
            );
            require("ip", "iproute2");
            require("hostapd", "hostapd");
            require("wpa_supplicant", "wpasupplicant");
            require("wpa_cli", "wpasupplicant");
            let id = std::process::id();
            let dir = tempfile::tempdir().expect("temp dir");
            let lab = Lab {
                dir,
                ap_ns: format!("vm-hap-{id}"),
                station_ns: (1..=STATIONS)
                    .map(|n| format!("vm-hap-s{n}-{id}"))
                    .collect(),
                hostapd: None,
                supplicants: (0..STATIONS).map(|_| None).collect(),
            };
            for ns in std::iter::once(&lab.ap_ns).chain(&lab.station_ns) {
                let _ = Command::new("ip")
                    .args(["netns", "del", ns])
                    .stderr(Stdio::null())
                    .status();
                run("ip", &["netns", "add", ns]);
                run("ip", &["-n", ns, "link", "set", "lo", "up"]);
            }
            let d = lab.dir.path().to_path_buf();
            std::fs::write(d.join("eap_users"), "\"user\" MD5 \"password\"\n").expect("write");
            std::fs::create_dir(d.join("ctrl")).expect("ctrl dir");
            for (i, ns) in lab.station_ns.iter().enumerate() {
                let n = i + 1;
                let port = format!("ap{n}");
                run(
                    "ip",
                    &[
                        "link", "add", &port, "netns", &lab.ap_ns, "type", "veth", "peer", "name",
                        "eth0", "netns", ns,
                    ],
                );
                run(
                    "ip",
                    &[
                        "-n",
                        ns,
                        "link",
                        "set",
                        "eth0",
                        "address",
                        &format!("02:00:00:00:01:0{n}"),
                    ],
                );
                run("ip", &["-n", ns, "link", "set", "eth0", "up"]);
                run("ip", &["-n", &lab.ap_ns, "link", "set", &port, "up"]);
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
            }
            lab
        }

        fn ctrl_dir(&self) -> PathBuf {
            self.dir.path().join("ctrl")
        }

        fn start_hostapd(&mut self) {
            let d = self.dir.path();
            let mut args = vec![
                "netns".to_string(),
                "exec".into(),
                self.ap_ns.clone(),
                "hostapd".into(),
            ];
            args.extend(
                (1..=STATIONS).map(|n| d.join(format!("hostapd{n}.conf")).display().to_string()),
            );
            let log = std::fs::File::create(d.join("hostapd.log")).expect("log");
            let child = Command::new("ip")
                .args(&args)
                .stdout(log)
                .stderr(Stdio::null())
                .spawn()
                .expect("start hostapd");
            self.hostapd = Some(child);
            // Ready when every BSS socket answers PING.
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let ready = (1..=STATIONS).all(|n| {
                    std::os::unix::net::UnixDatagram::unbound()
                        .and_then(|s| s.connect(self.ctrl_dir().join(format!("ap{n}"))))
                        .is_ok()
                });
                if ready {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!(
                "hostapd did not create its sockets; see {}/hostapd.log",
                d.display()
            );
        }

        fn kill_hostapd(&mut self) {
            if let Some(mut child) = self.hostapd.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }

        fn start_station(&mut self, i: usize) {
            let d = self.dir.path();
            let n = i + 1;
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.station_ns[i],
                    "wpa_supplicant",
                    "-D",
                    "wired",
                    "-i",
                    "eth0",
                ])
                .arg("-c")
                .arg(d.join(format!("sta{n}.conf")))
                .arg("-f")
                .arg(d.join(format!("sta{n}.log")))
                .stdout(Stdio::null())
                .spawn()
                .expect("start wpa_supplicant");
            self.supplicants[i] = Some(child);
        }

        /// Logs the station off (EAPOL-Logoff: hostapd ends its session), then stops it.
        /// SIGTERM alone sends no Logoff with `-D wired`: hostapd would keep the station.
        fn stop_station(&mut self, i: usize) {
            let Some(mut child) = self.supplicants[i].take() else {
                return;
            };
            let ctrl = self.dir.path().join(format!("sta{}", i + 1));
            let _ = Command::new("wpa_cli")
                .arg("-p")
                .arg(&ctrl)
                .args(["-i", "eth0", "logoff"])
                .stdout(Stdio::null())
                .status();
            signal(&child, "TERM");
            let _ = child.wait();
        }
    }

    impl Drop for Lab {
        fn drop(&mut self) {
            for child in self.supplicants.iter_mut().flatten() {
                let _ = child.kill();
                let _ = child.wait();
            }
            self.kill_hostapd();
            for ns in std::iter::once(&self.ap_ns).chain(&self.station_ns) {
                let _ = Command::new("ip").args(["netns", "del", ns]).status();
            }
        }
    }

    /// Samples every 250 ms until `done` holds (adding up events), or panics after `limit`.
    async fn until(
        source: &mut HostapdSource,
        totals: &mut ApEvents,
        what: &str,
        limit: Duration,
        done: impl Fn(&Result<HostapdSample, SourceError>) -> bool,
    ) -> (Result<HostapdSample, SourceError>, Duration, u32) {
        let start = Instant::now();
        let mut samples = 0;
        loop {
            samples += 1;
            let outcome = source.sample().await.map(|p| match p {
                Payload::Hostapd(s) => s,
                other => panic!("not a hostapd payload: {other:?}"),
            });
            if let Ok(sample) = &outcome {
                for (_, _, e) in &sample.events {
                    totals.connects += e.connects;
                    totals.disconnects += e.disconnects;
                    totals.auth_failures += e.auth_failures;
                }
            }
            if done(&outcome) {
                return (outcome, start.elapsed(), samples);
            }
            assert!(
                start.elapsed() < limit,
                "{what} not within {limit:?}: last {outcome:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn stations(outcome: &Result<HostapdSample, SourceError>) -> Option<u64> {
        outcome
            .as_ref()
            .ok()
            .map(|s| s.aps.iter().map(|a| a.stations).sum())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hostapd_root_lab_counts_stations_events_and_reattaches() {
        let mut lab = Lab::build();
        lab.start_hostapd();
        let inventory = Arc::new(Inventory::new(&Config::zero_config("lab")));
        let mut source = HostapdSource::new(
            Sockets::Dir(lab.ctrl_dir()),
            Some(0),
            inventory,
            ClientKey::from_bytes([3; 16]),
        )
        .with_timeout(Duration::from_secs(1));
        let mut totals = ApEvents::default();
        let (first, _, _) = until(
            &mut source,
            &mut totals,
            "first sample",
            Duration::ZERO,
            |_| true,
        )
        .await;
        let first = first.expect("hostapd answers");
        let mut aps: Vec<&str> = first.aps.iter().map(|a| a.ap.as_str()).collect();
        aps.sort_unstable();
        assert_eq!(aps, ["ap1", "ap2", "ap3"]);
        assert!(
            first
                .aps
                .iter()
                .all(|a| a.band == Band::Unknown && a.stations == 0)
        );

        for i in 0..STATIONS {
            lab.start_station(i);
        }
        let (three, took, _) = until(
            &mut source,
            &mut totals,
            "3 stations",
            Duration::from_secs(15),
            |o| stations(o) == Some(3),
        )
        .await;
        let three = three.expect("sample");
        assert_eq!(three.clients.len(), 3);
        assert!(
            three
                .clients
                .iter()
                .all(|c| c.client.randomized && c.zone == 0)
        );
        eprintln!("3 stations after {took:?}");
        let (_, _, _) = until(
            &mut source,
            &mut totals,
            "3 connects",
            Duration::from_secs(5),
            |_| true,
        )
        .await;
        assert_eq!(totals.connects, 3, "{totals:?}");

        lab.stop_station(0);
        let (_, took, _) = until(
            &mut source,
            &mut totals,
            "2 stations",
            Duration::from_secs(10),
            |o| stations(o) == Some(2),
        )
        .await;
        eprintln!("2 stations {took:?} after a logoff");
        assert_eq!(totals.disconnects, 1, "{totals:?}");

        lab.kill_hostapd();
        let err = source.sample().await.expect_err("hostapd killed");
        assert_eq!(err.kind, "missing", "{err}");
        assert!(!err.message.contains("02:00"), "no MAC in errors: {err}");

        lab.start_hostapd();
        let (_, took, samples) = until(
            &mut source,
            &mut totals,
            "hostapd back",
            Duration::from_secs(5),
            |o| o.is_ok(),
        )
        .await;
        eprintln!("hostapd back after {samples} sample(s), {took:?}");
        assert!(samples <= 2, "picked up again within two samples");
        // The stations still hold their old sessions; restarted, they authenticate again and
        // the connects reach us through the new ATTACH.
        let before = totals.connects;
        for i in 1..STATIONS {
            lab.stop_station(i);
            lab.start_station(i);
        }
        let (_, took, _) = until(
            &mut source,
            &mut totals,
            "2 stations again",
            Duration::from_secs(15),
            |o| stations(o) == Some(2),
        )
        .await;
        let (_, _, _) = until(
            &mut source,
            &mut totals,
            "last events",
            Duration::ZERO,
            |_| true,
        )
        .await;
        eprintln!("2 stations again after {took:?}; events {totals:?}");
        assert_eq!(
            totals.connects - before,
            2,
            "connects after re-attach: {totals:?}"
        );
    }
}
