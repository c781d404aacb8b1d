//! The hostapd source itself: each sample reads `STATUS` and the station list of every BSS
//! socket, and hands out the events counted since the previous sample by one attached
//! connection per socket, kept across samples and attached again when hostapd restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::HostapdSample;
use super::ctrl::{Ctrl, EventStream};
use crate::inventory::{Inventory, LinkKind, ZoneIdx};
use crate::model::access_points::{ApEvents, ApSample, Band};
use crate::privacy::ClientKey;
use crate::sources::{ErrorKind, Observation, Sighting, Source, SourceError};
use tokio_util::task::TaskTracker;

/// How long a command waits for hostapd's reply.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Which control sockets to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sockets {
    /// Every socket in this directory (hostapd's `ctrl_interface`), listed again at each
    /// sample since BSSs come and go.
    Dir(PathBuf),
    /// These sockets, one per BSS.
    Paths(Vec<PathBuf>),
}

impl Sockets {
    /// The sockets to read now, sorted.
    ///
    /// # Errors
    /// The directory is missing or unreadable, or holds no socket.
    pub(crate) fn now(&self) -> Result<Vec<PathBuf>, SourceError> {
        let dir = match self {
            Sockets::Paths(paths) => return Ok(paths.clone()),
            Sockets::Dir(dir) => dir,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SourceError::new(
                ErrorKind::Missing,
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
                ErrorKind::Missing,
                format!(
                    "no hostapd control socket in {}: hostapd is not running there",
                    dir.display()
                ),
            ));
        }
        Ok(paths)
    }
}

/// Stations and events per access point, from hostapd's control sockets.
pub(crate) struct HostapdSource {
    sockets: Sockets,
    zone: Option<ZoneIdx>,
    inventory: Arc<Inventory>,
    key: ClientKey,
    timeout: Duration,
    /// One attached connection per socket that answered it.
    streams: BTreeMap<PathBuf, EventStream>,
    /// The last error kind per socket (`None`: answering), to log state changes once.
    health: BTreeMap<PathBuf, Option<ErrorKind>>,
    /// Where the event streams' readers are registered.
    tasks: TaskTracker,
}

/// What one socket gave in one sample.
struct ApRead {
    ap: ApSample,
    clients: Vec<Sighting>,
}

impl HostapdSource {
    /// A source reading `sockets`, placing every BSS in `zone` when given (else in the zone
    /// the inventory gives its interface), hashing station MACs with `key`; the readers of
    /// its event streams are tasks in `tasks`.
    pub(crate) fn new(
        sockets: Sockets,
        zone: Option<ZoneIdx>,
        inventory: Arc<Inventory>,
        key: ClientKey,
        tasks: TaskTracker,
    ) -> HostapdSource {
        HostapdSource {
            sockets,
            zone,
            inventory,
            key,
            timeout: DEFAULT_TIMEOUT,
            streams: BTreeMap::new(),
            health: BTreeMap::new(),
            tasks,
        }
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
            match EventStream::attach(path, self.timeout, &self.tasks).await {
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
        let counted = status
            .bss
            .iter()
            .filter_map(|b| b.num_sta)
            .reduce(u64::saturating_add);
        let stations = ctrl.stations(counted).await?;
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
                tracing::warn!(socket = %path.display(), kind = %e.kind, error = %e, "hostapd socket failing")
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

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        Ok(self.read_all().await?.observations())
    }
}

impl HostapdSource {
    /// Reads every BSS socket and the events since the previous read: an error only when
    /// none answered.
    async fn read_all(&mut self) -> Result<HostapdSample, SourceError> {
        let paths = match self.sockets.now() {
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
            _ => Ok(sample),
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
    use crate::sources::hostapd::testing::FakeHostapd;

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

    fn hostapd(sample: Result<HostapdSample, SourceError>) -> HostapdSample {
        sample.expect("a hostapd sample")
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
            TaskTracker::new(),
        );
        assert_eq!(source.instance(), dir.path().display().to_string());
        let first = hostapd(source.read_all().await);
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
        let second = hostapd(source.read_all().await);
        let expected = ApEvents {
            connects: 250,
            disconnects: 0,
            auth_failures: 250,
        };
        assert_eq!(second.events, [("wlan0".to_string(), Some(0), expected)]);
        let third = hostapd(source.read_all().await);
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
            TaskTracker::new(),
        );
        source.timeout = Duration::from_millis(300);
        assert_eq!(
            source.instance(),
            format!("{},{}", fake.path.display(), dead.display())
        );
        let partial = hostapd(source.read_all().await);
        assert_eq!(partial.aps.len(), 1);
        // zero_config's host zone claims no interface, so no zone and no sightings.
        assert!(partial.clients.is_empty() || partial.aps[0].zone.is_some());
        drop(fake);
        let err = source.read_all().await.expect_err("nobody answers");
        assert_eq!(err.kind.as_str(), "missing");
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
            TaskTracker::new(),
        );
        hostapd(source.read_all().await);
        drop(fake);
        let err = source.read_all().await.expect_err("hostapd gone");
        assert_eq!(err.kind.as_str(), "missing");
        let fake = FakeHostapd::start(path.clone(), wifi);
        hostapd(source.read_all().await);
        assert_eq!(fake.listeners(), 1, "attached to the new hostapd");
        fake.push("<3>AP-STA-DISCONNECTED 02:00:00:00:02:01").await;
        let sample = hostapd(source.read_all().await);
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
            TaskTracker::new(),
        );
        assert_eq!(
            source.read_all().await.expect_err("no dir").kind.as_str(),
            "missing"
        );
        let mut source = HostapdSource::new(
            Sockets::Dir(dir.path().into()),
            None,
            inventory(),
            key(),
            TaskTracker::new(),
        );
        let err = source.read_all().await.expect_err("empty");
        assert!(err.kind == ErrorKind::Missing && err.message.contains("not running"));
    }
}
