//! hostapd's control interface, spoken directly: UNIX datagrams from a socket of our own
//! (hostapd replies to the sender's address) to the BSS socket, e.g. `/var/run/hostapd/wlan0`.
//!
//! [`Ctrl`] sends commands and reads their replies. [`EventStream`] is a separate `ATTACH`ed
//! connection whose unsolicited events a background task counts as they arrive, so a burst is
//! drained at once instead of overflowing the socket's short queue (hostapd drops events, then
//! detaches a listener that cannot keep up).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::UnixDatagram;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use super::ApEvents;
use super::parse::{self, Event, ParseError, Station};
use crate::sources::{ErrorKind, SourceError};

/// The most stations one walk reads, whatever `STATUS` says, so a list that does not end
/// cannot loop forever.
pub(crate) const MAX_STATIONS: usize = 10_000;

/// How many more stations than `STATUS` counted a walk may read (stations joining meanwhile).
pub(crate) const STATION_MARGIN: usize = 256;

/// The largest reply hostapd sends (its own buffers are 4 KiB; leave room).
const MAX_DATAGRAM: usize = 64 * 1024;

/// Our own socket's file, removed when dropped.
#[derive(Debug)]
struct LocalPath(PathBuf);

impl LocalPath {
    /// A path no other connection (of this process or another) uses.
    fn unique() -> LocalPath {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("venuemon-hostapd-{}-{n}", std::process::id());
        LocalPath(std::env::temp_dir().join(name))
    }
}

impl Drop for LocalPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The error for a failure to reach hostapd's socket at `path`, with the fix named.
pub(crate) fn connect_error(path: &Path, error: &std::io::Error) -> SourceError {
    match error.kind() {
        std::io::ErrorKind::PermissionDenied => SourceError::new(
            ErrorKind::Permission,
            format!(
                "permission denied on hostapd control socket {}: run venuemon as root, or add \
                 its user to the socket's group (hostapd's ctrl_interface_group)",
                path.display()
            ),
        ),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => SourceError::new(
            ErrorKind::Missing,
            format!(
                "hostapd is not running at {} (no control socket answers there)",
                path.display()
            ),
        ),
        _ => SourceError::new(
            ErrorKind::Io,
            format!("hostapd control socket {}: {error}", path.display()),
        ),
    }
}

/// Binds a socket of our own and connects it to hostapd's socket at `path`.
fn open(path: &Path) -> Result<(UnixDatagram, LocalPath), SourceError> {
    let local = LocalPath::unique();
    let _ = std::fs::remove_file(&local.0); // a leftover of a crashed run with our pid
    let socket = UnixDatagram::bind(&local.0).map_err(|e| {
        SourceError::new(
            ErrorKind::Io,
            format!(
                "cannot create a client socket at {} for hostapd: {e}",
                local.0.display()
            ),
        )
    })?;
    socket.connect(path).map_err(|e| connect_error(path, &e))?;
    Ok((socket, local))
}

/// The error for a command without a reply in time.
fn timeout_error(path: &Path, command: &str, timeout: Duration) -> SourceError {
    SourceError::new(
        ErrorKind::Timeout,
        format!(
            "hostapd at {} did not answer {command} within {} ms",
            path.display(),
            timeout.as_millis()
        ),
    )
}

/// A command connection to one hostapd BSS socket.
#[derive(Debug)]
pub(crate) struct Ctrl {
    socket: UnixDatagram,
    path: PathBuf,
    timeout: Duration,
    _local: LocalPath,
}

impl Ctrl {
    /// Connects to the BSS socket at `path`; each reply is awaited at most `timeout`.
    ///
    /// # Errors
    /// `permission` when the socket is not ours to use, `missing` when hostapd is not
    /// running there, `io` when our own socket cannot be created.
    pub(crate) fn connect(path: &Path, timeout: Duration) -> Result<Ctrl, SourceError> {
        let (socket, local) = open(path)?;
        Ok(Ctrl {
            socket,
            path: path.to_path_buf(),
            timeout,
            _local: local,
        })
    }

    /// Sends `command` and returns hostapd's reply. Unsolicited events (which only an
    /// attached connection receives) are skipped.
    ///
    /// # Errors
    /// Sending fails (hostapd gone: `missing`) or no reply comes in time (`timeout`). After a
    /// timeout, drop the connection: a late reply would be read as the next one's.
    pub(crate) async fn request(&self, command: &str) -> Result<String, SourceError> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        // Sending waits too when hostapd's queue is full (it stopped reading): under the
        // same timeout as its reply.
        let exchange = async {
            self.socket.send(command.as_bytes()).await?;
            loop {
                let n = self.socket.recv(&mut buf).await?;
                let reply = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                if !parse::is_event(&reply) {
                    return Ok::<String, std::io::Error>(reply.into_owned());
                }
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(connect_error(&self.path, &e)),
            Err(_) => Err(timeout_error(&self.path, command, self.timeout)),
        }
    }

    /// `STATUS`, parsed.
    ///
    /// # Errors
    /// As [`Ctrl::request`], or `parse` when the reply is not a status.
    pub(crate) async fn status(&self) -> Result<parse::Status, SourceError> {
        let reply = self.request("STATUS").await?;
        parse::parse_status(&reply).map_err(|e| {
            SourceError::new(
                ErrorKind::Parse,
                format!("STATUS from hostapd at {}: {e}", self.path.display()),
            )
        })
    }

    /// Every station, walking `STA-FIRST` and `STA-NEXT` until the end of the list or a
    /// reply that is not a station (the list changed under the walk: normal, the next sample
    /// sees the rest). `num_sta` is what `STATUS` counted: the walk reads at most
    /// [`station_limit`] of it.
    ///
    /// # Errors
    /// As [`Ctrl::request`]: the connection failed during the walk. `parse` when a station
    /// comes back in the same walk (hostapd adds stations at the head of its list, so a
    /// repeat is a loop, not a change) or the walk passes its limit: a list that does not
    /// end, whose stations would be counted again and again.
    pub(crate) async fn stations(&self, num_sta: Option<u64>) -> Result<Vec<Station>, SourceError> {
        let limit = station_limit(num_sta);
        let mut stations: Vec<Station> = Vec::new();
        let mut seen: HashSet<[u8; 6]> = HashSet::new();
        let mut command = "STA-FIRST".to_string();
        loop {
            let reply = self.request(&command).await?;
            match parse::parse_sta(&reply) {
                Ok(station) => {
                    if !seen.insert(station.mac) {
                        return Err(SourceError::new(
                            ErrorKind::Parse,
                            format!(
                                "hostapd's station list loops at STA-NEXT on control socket {} (a \
                                 station came back after {} stations): restart hostapd",
                                self.path.display(),
                                stations.len()
                            ),
                        ));
                    }
                    if stations.len() == limit {
                        return Err(SourceError::new(
                            ErrorKind::Parse,
                            format!(
                                "hostapd's station list on control socket {} does not end: more than \
                                 {limit} stations (STATUS counted {}; a walk reads at most num_sta + \
                                 {STATION_MARGIN}, never more than {MAX_STATIONS}): restart hostapd",
                                self.path.display(),
                                num_sta.map_or_else(|| "none".to_string(), |n| n.to_string())
                            ),
                        ));
                    }
                    command = format!("STA-NEXT {}", format_mac(&station.mac));
                    stations.push(station);
                }
                Err(ParseError::Empty) => break,
                Err(e) => {
                    tracing::debug!(socket = %self.path.display(), error = %e, "station walk ended early");
                    break;
                }
            }
        }
        Ok(stations)
    }
}

/// The most stations a walk reads when `STATUS` counted `num_sta` (summed over its BSSs):
/// that count plus [`STATION_MARGIN`] for stations joining during the walk, at most
/// [`MAX_STATIONS`]; [`MAX_STATIONS`] when `STATUS` gave no count.
pub(crate) fn station_limit(num_sta: Option<u64>) -> usize {
    num_sta.map_or(MAX_STATIONS, |n| {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .saturating_add(STATION_MARGIN)
            .min(MAX_STATIONS)
    })
}

/// `aa:bb:cc:dd:ee:ff`, for `STA-NEXT` only (never logged).
fn format_mac(mac: &[u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

/// Adds one event to the counts.
fn count(events: &mut ApEvents, event: Event) {
    match event {
        Event::Connected => events.connects += 1,
        Event::Disconnected => events.disconnects += 1,
        Event::AuthFailure => events.auth_failures += 1,
        Event::Terminating => {}
    }
}

/// An `ATTACH`ed connection to one BSS socket, its events counted by a background task.
/// Dropping it stops the task, sends `DETACH` and removes our socket file.
#[derive(Debug)]
pub(crate) struct EventStream {
    socket: Arc<UnixDatagram>,
    path: PathBuf,
    counts: Arc<Mutex<ApEvents>>,
    pongs: watch::Receiver<u64>,
    task: JoinHandle<()>,
    _local: LocalPath,
}

impl EventStream {
    /// Connects to the BSS socket at `path` and attaches to its events. Must be called
    /// inside a tokio runtime: the reader is a task registered in `tasks`, aborted when the
    /// stream is dropped.
    ///
    /// # Errors
    /// As [`Ctrl::connect`], or `timeout` when hostapd does not acknowledge `ATTACH` in time.
    pub(crate) async fn attach(
        path: &Path,
        timeout: Duration,
        tasks: &TaskTracker,
    ) -> Result<EventStream, SourceError> {
        let ctrl = Ctrl::connect(path, timeout)?;
        let reply = ctrl.request("ATTACH").await?;
        if reply.trim() != "OK" {
            return Err(SourceError::new(
                ErrorKind::Io,
                format!("hostapd at {} refused ATTACH", path.display()),
            ));
        }
        let Ctrl { socket, _local, .. } = ctrl;
        let socket = Arc::new(socket);
        let counts = Arc::new(Mutex::new(ApEvents::default()));
        let (pong_tx, pongs) = watch::channel(0u64);
        let task = tasks.spawn(read_events(socket.clone(), counts.clone(), pong_tx));
        Ok(EventStream {
            socket,
            path: path.to_path_buf(),
            counts,
            pongs,
            task,
            _local,
        })
    }

    /// Makes sure every event hostapd sent so far is counted, and that the connection is
    /// alive: sends `PING` on it and waits for the `PONG` (datagrams arrive in order).
    ///
    /// # Errors
    /// hostapd is gone, restarted or detached us (the reader stopped, sending fails, or no
    /// `PONG` in `timeout`): drop this stream and attach again.
    pub(crate) async fn sync(&mut self, timeout: Duration) -> Result<(), SourceError> {
        self.pongs.borrow_and_update();
        let ping = async {
            self.socket
                .send(b"PING")
                .await
                .map_err(|e| connect_error(&self.path, &e))?;
            Ok(self.pongs.changed().await)
        };
        match tokio::time::timeout(timeout, ping).await {
            Ok(Err(e)) => Err(e),
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(_))) => Err(SourceError::new(
                ErrorKind::Missing,
                format!(
                    "hostapd at {} closed its event stream (terminating?)",
                    self.path.display()
                ),
            )),
            Err(_) => Err(timeout_error(&self.path, "PING", timeout)),
        }
    }

    /// The events counted since the previous call.
    pub(crate) fn take(&self) -> ApEvents {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
        let _ = self.socket.try_send(b"DETACH");
    }
}

/// The reader task: counts events, signals each `PONG`, ends when the socket fails or
/// hostapd says it is terminating.
async fn read_events(
    socket: Arc<UnixDatagram>,
    counts: Arc<Mutex<ApEvents>>,
    pongs: watch::Sender<u64>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while let Ok(n) = socket.recv(&mut buf).await {
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
        if text.trim() == "PONG" {
            pongs.send_modify(|n| *n += 1);
            continue;
        }
        // Replies (`OK`, `FAIL`) parse as no event; events may lack their `<N>` prefix.
        match parse::parse_event(&text) {
            Some(Event::Terminating) => return,
            Some(event) => count(
                &mut counts.lock().unwrap_or_else(PoisonError::into_inner),
                event,
            ),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::hostapd::testing::FakeHostapd;

    const STA: &str = "02:00:00:00:02:0";

    fn three_stations(command: &str) -> Option<String> {
        let station = |n: u8| Some(format!("{STA}{n}\nflags=[AUTH][ASSOC]\nsignal=-6{n}\n"));
        match command {
            "STA-FIRST" => station(1),
            c if c == format!("STA-NEXT {STA}1") => station(2),
            c if c == format!("STA-NEXT {STA}2") => station(3),
            c if c.starts_with("STA-NEXT") => Some(String::new()),
            "STATUS" => Some("state=ENABLED\nfreq=2412\nchannel=1\n".into()),
            _ => Some("UNKNOWN COMMAND\n".into()),
        }
    }

    #[tokio::test]
    async fn walks_stations_and_skips_interleaved_events() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), three_stations);
        let ctrl = Ctrl::connect(&fake.path, Duration::from_secs(2)).expect("connect");
        assert_eq!(ctrl.request("PING").await.expect("ping").trim(), "PONG");
        assert_eq!(ctrl.status().await.expect("status").freq_mhz, Some(2412));
        let stations = ctrl.stations(None).await.expect("walk");
        let signals: Vec<Option<i32>> = stations.iter().map(|s| s.signal_dbm).collect();
        assert_eq!(signals, [Some(-61), Some(-62), Some(-63)]);
        // An event datagram queued before a reply is not taken for the reply.
        let local = ctrl._local.0.clone();
        fake.socket
            .send_to(b"<3>AP-STA-CONNECTED 02:00:00:00:02:09", &local)
            .await
            .expect("inject");
        assert_eq!(ctrl.request("PING").await.expect("ping"), "PONG\n");
        drop(ctrl);
        assert!(!local.exists(), "our socket file is removed on drop");
    }

    /// The error of a walk over `answer`'s station list, checked to name no MAC.
    async fn failed_walk(
        answer: impl Fn(&str) -> Option<String> + Send + 'static,
        num_sta: Option<u64>,
    ) -> SourceError {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), answer);
        let ctrl = Ctrl::connect(&fake.path, Duration::from_secs(2)).expect("connect");
        let err = ctrl.stations(num_sta).await.expect_err("walk fails");
        assert_eq!(err.kind, ErrorKind::Parse, "{err}");
        assert!(err.message.contains("wlan0"), "names the socket: {err}");
        assert!(!err.message.contains("02:00"), "no MAC: {err}");
        err
    }

    #[tokio::test]
    async fn regression_a_station_list_that_repeats_a_station_fails_as_a_loop() {
        // STATUS says num_sta[0]=1; every STA-NEXT answers the same station again.
        let err = failed_walk(
            |c| {
                c.starts_with("STA-")
                    .then(|| "02:00:00:00:02:01\nflags=[AUTH][ASSOC]\n".to_string())
            },
            Some(1),
        )
        .await;
        assert!(
            err.message.contains("station list loops at STA-NEXT"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn regression_a_station_list_that_never_ends_fails_at_its_limit() {
        // Every STA-NEXT answers a new station: the walk stops at num_sta + the margin.
        let next = AtomicU64::new(0);
        let endless = move |c: &str| {
            c.starts_with("STA-").then(|| {
                let n = next.fetch_add(1, Ordering::Relaxed).to_be_bytes();
                let [.., a, b, c] = n;
                format!("02:00:00:{a:02x}:{b:02x}:{c:02x}\nflags=[AUTH][ASSOC]\n")
            })
        };
        let err = failed_walk(endless, Some(1)).await;
        let limit = 1 + STATION_MARGIN;
        assert!(
            err.message.contains(&format!("more than {limit} stations")),
            "{err}"
        );
    }

    #[test]
    fn the_walk_limit_follows_status_within_the_cap() {
        assert_eq!(station_limit(Some(1)), 1 + STATION_MARGIN);
        assert_eq!(station_limit(Some(u64::MAX)), MAX_STATIONS);
        assert_eq!(station_limit(None), MAX_STATIONS);
    }

    #[tokio::test]
    async fn silence_is_a_timeout_and_fail_ends_the_walk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), |c| match c {
            "STA-FIRST" => Some("FAIL\n".into()),
            _ => None,
        });
        let ctrl = Ctrl::connect(&fake.path, Duration::from_millis(100)).expect("connect");
        assert!(ctrl.stations(None).await.expect("walk").is_empty());
        let err = ctrl.status().await.expect_err("silent");
        assert_eq!(err.kind.as_str(), "timeout");
        assert!(err.message.contains("did not answer STATUS"), "{err}");
    }

    #[tokio::test]
    async fn a_socket_that_never_reads_times_out_instead_of_blocking_the_send() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wlan0");
        // Bound, never read: its queue fills (net.unix.max_dgram_qlen, 10 by default), then
        // sending waits.
        let _deaf = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        let ctrl = Ctrl::connect(&path, Duration::from_millis(50)).expect("connect");
        let start = std::time::Instant::now();
        for _ in 0..20 {
            let err = ctrl.status().await.expect_err("no answer");
            assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn missing_and_forbidden_sockets_name_the_cause() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wlan9");
        let err = Ctrl::connect(&path, Duration::from_secs(1)).expect_err("absent");
        assert_eq!(err.kind.as_str(), "missing");
        assert!(err.message.contains("wlan9") && err.message.contains("not running"));
        // A socket file nobody listens on (hostapd killed): refused, also missing.
        drop(std::os::unix::net::UnixDatagram::bind(&path).expect("bind"));
        let err = Ctrl::connect(&path, Duration::from_secs(1)).expect_err("stale");
        assert_eq!(err.kind.as_str(), "missing");
        let denied = connect_error(&path, &std::io::ErrorKind::PermissionDenied.into());
        assert_eq!(denied.kind.as_str(), "permission");
        assert!(denied.message.contains("ctrl_interface_group") && denied.message.contains("root"));
        assert!(denied.message.contains("wlan9"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_events_is_counted_exactly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeHostapd::start(dir.path().join("wlan0"), three_stations);
        let mut events =
            EventStream::attach(&fake.path, Duration::from_secs(2), &TaskTracker::new())
                .await
                .expect("attach");
        assert_eq!(fake.listeners(), 1);
        for i in 0..600 {
            let message = match i % 3 {
                0 => "<3>AP-STA-CONNECTED 02:00:00:00:02:01",
                1 => "<3>AP-STA-DISCONNECTED 02:00:00:00:02:01 reason=3",
                _ => "<3>CTRL-EVENT-EAP-FAILURE 02:00:00:00:02:01",
            };
            fake.push(message).await;
        }
        events.sync(Duration::from_secs(2)).await.expect("sync");
        let counts = events.take();
        assert_eq!(
            (counts.connects, counts.disconnects, counts.auth_failures),
            (200, 200, 200)
        );
        assert_eq!(events.take(), ApEvents::default(), "taking resets");
        fake.push("<3>CTRL-EVENT-TERMINATING ").await;
        assert!(events.sync(Duration::from_millis(200)).await.is_err());
    }
}
