//! Nothing hangs the agent: paths that are FIFOs are refused at once, a source stuck past its
//! deadline is reported down and never delays SIGTERM, and `/healthz` and `/metrics` stay
//! fast while a source reads a huge lease file or neighbour table. The neighbour-table test
//! needs root (a network namespace) and iproute2.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Agent, BIN, TestConfig, mkfifo};
use crate::venue::value as series;

/// Runs `venuemon check-config FILE`, which must end within 5 s; returns its exit code and
/// stderr.
fn check_config_in_time(file: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .arg("check-config")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("venuemon runs");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("check-config {} hung", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    (status.code(), stderr)
}

#[test]
fn check_config_answers_at_once_on_a_fifo_config_password_file_or_tls_cert() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let (code, stderr) = check_config_in_time(&fifo);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: is a FIFO (named pipe), not a regular file",
            fifo.display()
        )),
        "{stderr}"
    );

    let key = dir.path().join("key.pem");
    std::fs::write(&key, "not used").expect("write");
    for (what, config) in [
        (
            "password_file",
            format!(
                "[http.auth]\nusername = \"crew\"\npassword_file = \"{}\"\n",
                fifo.display()
            ),
        ),
        (
            "tls_cert",
            format!(
                "[http]\nlisten = \"127.0.0.1:9842\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
                fifo.display(),
                key.display()
            ),
        ),
    ] {
        let file = dir.path().join("venuemon.toml");
        std::fs::write(&file, config).expect("write config");
        let (code, stderr) = check_config_in_time(&file);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{:?} is a FIFO (named pipe)",
                fifo.display().to_string()
            )),
            "{what}: {stderr}"
        );
    }
}

/// Waits for a `/metrics` answer for which `ok` holds (a debug build on a busy machine may
/// take tens of seconds to read a huge input the first time).
fn metrics_when(port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    common::metrics_when(port, what, Duration::from_secs(60), ok)
}

/// The agent's grace period after SIGTERM, plus a second for the process to exit.
const STOP_LIMIT: Duration = Duration::from_secs(5 + 1);

/// Sends SIGTERM and asserts the agent exits within [`STOP_LIMIT`], whatever it is doing.
fn assert_stops_in_time(agent: &mut Agent) {
    let start = Instant::now();
    assert!(agent.stop().success(), "{}", agent.log());
    let took = start.elapsed();
    eprintln!("stopped {took:?} after SIGTERM");
    assert!(took < STOP_LIMIT, "stopped in {took:?}");
}

/// Held by the latency measurements, so that they never share the machine with each other.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn an_agent_with_a_hostapd_socket_that_never_answers_reports_it_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A BSS socket that is there but never reads nor answers: a hung hostapd.
    let socket = dir.path().join("wlan0");
    let _hung = std::os::unix::net::UnixDatagram::bind(&socket).expect("bind");
    let config = TestConfig::new(dir.path()).neighbours().section(&format!(
        "[[source.hostapd]]\nsockets = [\"{}\"]\nzone = \"hall\"",
        socket.display()
    ));
    let (mut agent, port) = (config.start(None), config.port);
    let timeout = "venuemon_source_errors_total{instance=\"".to_string()
        + &socket.display().to_string()
        + "\",kind=\"timeout\",source=\"hostapd\"}";
    let up = format!(
        "venuemon_source_up{{instance=\"{}\",source=\"hostapd\"}}",
        socket.display()
    );
    let down = metrics_when(port, "the hostapd source down with a timeout", |m| {
        series(m, &up) == Some(0.0) && series(m, &timeout).is_some_and(|n| n >= 2.0)
    });
    let netdev = "venuemon_source_up{instance=\"netlink\",source=\"netdev\"}";
    assert_eq!(
        series(&down, netdev),
        Some(1.0),
        "the others keep reporting"
    );
    assert_stops_in_time(&mut agent);
}

/// Polls `/healthz` and `/metrics` in turn for `span`, returning each request's time, sorted.
fn poll_latencies(port: u16, span: Duration) -> Vec<Duration> {
    let start = Instant::now();
    let mut times = Vec::new();
    for path in ["/healthz", "/metrics"].iter().cycle() {
        if start.elapsed() > span {
            break;
        }
        let asked = Instant::now();
        let (status, _) = common::http_get(port, path).expect("an answer");
        times.push(asked.elapsed());
        assert_eq!(status, 200, "{path}");
        std::thread::sleep(Duration::from_millis(20));
    }
    times.sort();
    times
}

/// The `q` quantile of sorted `times`.
fn quantile(times: &[Duration], q: f64) -> Duration {
    let at = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
    times[at]
}

/// Asserts p99 < 50 ms, printing p50/p99/max and the source's sample duration.
fn assert_fast(what: &str, times: &[Duration], metrics: &str, duration_series: &str) {
    let (p50, p99, max) = (
        quantile(times, 0.5),
        quantile(times, 0.99),
        quantile(times, 1.0),
    );
    let sample = series(metrics, duration_series);
    eprintln!(
        "{what}: {} requests, p50 {p50:?}, p99 {p99:?}, max {max:?}; last sample took {sample:?} s",
        times.len()
    );
    assert!(p99 < Duration::from_millis(50), "{what}: p99 {p99:?}");
}

/// A dnsmasq lease file of `count` leases in 10.0.0.0/8.
fn write_leases(path: &Path, count: u32) {
    let mut text = String::with_capacity(count as usize * 64);
    for i in 0..count {
        let [_, a, b, c] = i.to_be_bytes();
        text.push_str(&format!(
            "4000000000 02:00:00:{a:02x}:{b:02x}:{c:02x} 10.{a}.{b}.{c} guest-{i} *\n"
        ));
    }
    std::fs::write(path, text).expect("write lease file");
}

#[test]
fn healthz_and_metrics_stay_fast_while_600000_leases_are_parsed_every_tick() {
    let _alone = MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    write_leases(&leases, 600_000);
    let config = TestConfig::new(dir.path()).section(&format!(
        "[[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"hall\"\nleases = \"{}\"\nzone = \"hall\"",
        leases.display()
    ));
    let (mut agent, port) = (config.start(None), config.port);
    let leases_series = "venuemon_dhcp_leases_active{pool=\"hall\",zone=\"hall\"}";
    metrics_when(port, "600 000 leases counted", |m| {
        series(m, leases_series) == Some(600_000.0)
    });
    // The file changes every tick (a new modification time), so every sample reads it all.
    let touching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let toucher = {
        let (touching, leases) = (touching.clone(), leases.clone());
        std::thread::spawn(move || {
            while touching.load(std::sync::atomic::Ordering::Relaxed) {
                let file = std::fs::File::options().write(true).open(&leases);
                let _ = file.and_then(|f| f.set_modified(std::time::SystemTime::now()));
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    };
    let times = poll_latencies(port, Duration::from_secs(10));
    touching.store(false, std::sync::atomic::Ordering::Relaxed);
    toucher.join().expect("toucher");
    let (_, metrics) = common::http_get(port, "/metrics").expect("/metrics");
    assert_fast(
        "600 000 leases",
        &times,
        &metrics,
        "venuemon_source_duration_seconds{instance=\"hall\",source=\"dhcp\"}",
    );
    assert_stops_in_time(&mut agent);
}

/// The host's neighbour-table limits (the kernel keeps them for the initial namespace only),
/// raised for a test and put back when dropped.
struct NeighbourLimits(Vec<(String, String)>);

impl NeighbourLimits {
    fn raise_to(entries: u32) -> NeighbourLimits {
        let mut saved = Vec::new();
        for n in 1..=3 {
            let path = format!("/proc/sys/net/ipv4/neigh/default/gc_thresh{n}");
            let before = std::fs::read_to_string(&path).expect("gc_thresh readable");
            std::fs::write(&path, entries.to_string()).expect("gc_thresh writable (root)");
            saved.push((path, before));
        }
        NeighbourLimits(saved)
    }
}

impl Drop for NeighbourLimits {
    fn drop(&mut self) {
        for (path, before) in &self.0 {
            let _ = std::fs::write(path, before.trim());
        }
    }
}

/// Runs `work` on a thread that has entered network namespace `netns`.
fn in_netns<T: Send + 'static>(netns: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("namespace file");
        // SAFETY: setns on an open namespace file; it changes only this thread's namespace.
        let entered =
            unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
        assert_eq!(entered, 0, "setns into {path}");
        work()
    })
    .join()
    .expect("namespace thread")
}

#[test]
fn lab_root_healthz_and_metrics_stay_fast_with_100000_neighbours() {
    common::require_root("a neighbour table of 100 000 entries");
    common::require_tool("ip", "iproute2");
    let _alone = MEASURING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entries = 100_000u32;
    let _limits = NeighbourLimits::raise_to(2 * entries);
    let ns = crate::venue::Netns::new(format!("vm-neigh-{}", std::process::id()));
    crate::venue::veth("vn0", Some(&ns), "vn1", Some(&ns));
    ns.ip(&["addr", "add", "10.64.0.1/10", "dev", "vn0"]);
    ns.ip(&["link", "set", "vn0", "up"]);
    ns.ip(&["link", "set", "vn1", "up"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let batch = dir.path().join("neighbours");
    let mut lines = String::new();
    for i in 0..entries {
        let ip = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(10, 64, 1, 0)) + i);
        let [_, a, b, c] = i.to_be_bytes();
        lines.push_str(&format!(
            "neigh add {ip} lladdr 02:00:{a:02x}:{b:02x}:{c:02x}:01 dev vn0 nud reachable\n"
        ));
    }
    std::fs::write(&batch, lines).expect("write batch");
    ns.ip(&["-batch", batch.to_str().expect("utf-8 path")]);

    let config = TestConfig::new(dir.path())
        .neighbours()
        .zone("subnets = [\"10.64.0.0/10\"]");
    let (mut agent, port) = (config.start(Some(&ns.0)), config.port);
    let (times, metrics) = in_netns(&ns.0, move || {
        let clients = "venuemon_zone_clients{zone=\"hall\"}";
        metrics_when(port, "100 000 neighbours counted", |m| {
            series(m, clients) == Some(f64::from(entries))
        });
        let times = poll_latencies(port, Duration::from_secs(10));
        let (_, metrics) = common::http_get(port, "/metrics").expect("/metrics");
        (times, metrics)
    });
    assert_fast(
        "100 000 neighbours",
        &times,
        &metrics,
        "venuemon_source_duration_seconds{instance=\"netlink\",source=\"neighbours\"}",
    );
    assert_stops_in_time(&mut agent);
}
