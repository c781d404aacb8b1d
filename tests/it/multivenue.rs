//! Several venues (needs root: network namespaces; Debian `prometheus` and `python3-yaml`).
//! Each venue is a namespace with an agent and a Prometheus in agent mode started from the
//! shipped `deploy/prometheus/agent-mode.yml` (loaded and overridden, never copied); both
//! remote-write over a veth to a central Prometheus (its own namespace, the receiver on, the
//! shipped rules loaded). One venue's uplink is cut for a minute and restored.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{self, TestConfig};
use crate::prometheus::{self, Listen, Prometheus};
use crate::venue::{Netns, value, veth};

/// The lab's scrape interval (the shipped file says 15 s).
const SCRAPE_SECONDS: f64 = 1.0;
/// How long venue B's uplink is down, unless `VENUEMON_MULTIVENUE_CUT_SECONDS` says
/// otherwise (docs/RELIABILITY.md gives a 10-minute run).
const CUT_SECONDS: u64 = 60;
/// PromQL's lookback: how long a series' last sample still answers an instant query.
const LOOKBACK_SECONDS: f64 = 300.0;
/// Where every Prometheus listens, each in its own namespace.
const PROMETHEUS_PORT: u16 = 9090;

#[test]
fn agent_mode_config_passes_promtool() {
    common::require_tool("promtool", "prometheus");
    let file = common::project("deploy/prometheus/agent-mode.yml");
    common::run(
        "promtool",
        &["check", "config", "--agent", file.to_str().expect("utf-8")],
    );
    let shipped = shipped_agent_mode();
    assert!(
        shipped["global"]["external_labels"]["venue"].is_string(),
        "agent-mode.yml labels every series with its venue"
    );
    assert!(
        shipped["remote_write"][0]["url"].is_string(),
        "agent-mode.yml remote-writes"
    );
}

#[test]
fn lab_root_two_venues_reach_the_central_store_and_a_cut_minute_arrives_after_restore() {
    common::require_root("the multi-venue lab");
    common::require_tool("prometheus", "prometheus");
    common::require_tool("promtool", "prometheus");
    common::require_tool("curl", "curl");
    let dir = tempfile::tempdir().expect("temp dir");
    let id = std::process::id();
    let central = Netns::new(format!("vm-mvc-{id}"));
    let store = start_prometheus(
        &central,
        &dir.path().join("central"),
        &central_config(),
        &["--web.enable-remote-write-receiver"],
    );
    let _a = Venue::start(&central, dir.path(), "a", 1, 3);
    let b = Venue::start(&central, dir.path(), "b", 2, 5);

    // Per-venue and cross-venue answers, from the shipped recording rules and raw series.
    let both = || {
        let a = store.value("venue:venuemon_zone_clients:sum{venue=\"venue-a\"}", None)?;
        let b = store.value("venue:venuemon_zone_clients:sum{venue=\"venue-b\"}", None)?;
        let all = store.value("sum(venuemon_zone_clients)", None)?;
        let recorded = store.value(":venuemon_zone_clients:sum", None)?;
        (a == 3.0 && b == 5.0 && all == 8.0 && recorded == 8.0).then_some(())
    };
    common::wait_for(
        "both venues in the central store",
        Duration::from_secs(40),
        both,
    );
    std::thread::sleep(Duration::from_secs(3));

    // The cut: the central end of venue B's uplink goes down; packets vanish, as when a
    // venue's uplink drops somewhere upstream.
    let cut_length = std::env::var("VENUEMON_MULTIVENUE_CUT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(CUT_SECONDS), Duration::from_secs);
    let cut_start = unix_now();
    central.ip(&["link", "set", "up-b", "down"]);
    let cut = Instant::now();
    let mut answered = 0;
    while cut.elapsed() < cut_length {
        let metrics =
            b.ns.get(b.port, "/metrics")
                .expect("venue B's agent answers");
        assert_eq!(
            value(&metrics, "venuemon_zone_clients{zone=\"hall\"}"),
            Some(5.0)
        );
        let page = b.ns.get(b.port, "/").expect("venue B's page answers");
        assert!(page.contains("<html"), "the status page renders");
        answered += 1;
        std::thread::sleep(Duration::from_secs(5));
    }
    let zone_b = "venuemon_zone_clients{venue=\"venue-b\",zone=\"hall\"}";
    let span = cut_length.as_secs() + 60;
    let last_arrived = timestamps(&store, &format!("{zone_b}[{span}s]"), unix_now())
        .last()
        .copied()
        .expect("venue B's last sample before the cut");
    assert!(
        last_arrived < cut_start + SCRAPE_SECONDS,
        "nothing scraped after the cut reached the central store ({last_arrived} vs {cut_start})"
    );
    // Within PromQL's lookback the central store still answers with venue B's last values;
    // past it, venue B drops out of the cross-venue total.
    let long_cut = unix_now() - cut_start > LOOKBACK_SECONDS;
    assert_eq!(
        store.value("sum(venuemon_zone_clients)", None),
        Some(if long_cut { 3.0 } else { 8.0 }),
        "the cross-venue total during the cut"
    );
    central.ip(&["link", "set", "up-b", "up"]);
    let restored = Instant::now();
    let restore_time = unix_now();

    // Catch-up: a sample scraped after the restore has arrived.
    common::wait_for("venue B to catch up", Duration::from_secs(180), || {
        store
            .value("timestamp(venuemon_zone_clients{venue=\"venue-b\"})", None)
            .filter(|t| *t >= restore_time)
    });
    let catch_up = restored.elapsed();

    // Every scrape of the cut minute is there: no gap larger than the scrape interval.
    let window = restore_time - cut_start + 4.0;
    let at = restore_time + 2.0;
    let samples = |venue: &str| {
        let query =
            format!("venuemon_zone_clients{{venue=\"{venue}\",zone=\"hall\"}}[{window:.0}s]");
        timestamps(&store, &query, at)
            .into_iter()
            .filter(|t| *t >= cut_start - 1.0 && *t <= restore_time + 1.0)
            .collect::<Vec<_>>()
    };
    let (in_b, in_a) = (samples("venue-b"), samples("venue-a"));
    let cut_seconds = restore_time - cut_start;
    // Every series each venue sent, raw samples over the cut; the central store's own
    // recording rules (names with a colon) are evaluated there and left out. A gap counts
    // from the cut's start and up to the restore too, so a series that stopped early or
    // started late shows.
    let every = |venue: &str| {
        let selector = format!("{{venue=\"{venue}\",__name__!~\".*:.*\"}}[{window:.0}s]");
        let series = store.query(&selector, Some(at)).unwrap_or_default();
        let series = series.as_array().cloned().unwrap_or_default();
        let times: Vec<Vec<f64>> = series
            .iter()
            .map(|s| {
                prometheus::samples(s)
                    .into_iter()
                    .map(|(t, _)| t)
                    .filter(|t| *t >= cut_start - 1.0 && *t <= restore_time + 1.0)
                    .collect()
            })
            .collect();
        let samples: usize = times.iter().map(Vec::len).sum();
        let gap = times
            .iter()
            .flat_map(|t| {
                let bounded: Vec<f64> = std::iter::once(cut_start)
                    .chain(t.iter().copied())
                    .chain(std::iter::once(restore_time))
                    .collect();
                bounded.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
            })
            .fold(0.0, f64::max);
        (times.len(), samples, gap)
    };
    let ((series_b, all_b, largest_gap), (series_a, all_a, gap_a)) =
        (every("venue-b"), every("venue-a"));
    // What venue B's Prometheus took in, and gave up on (non-recoverable failures, drops).
    let own = b.prometheus.0.get("/metrics").unwrap_or_default().1;
    let taken_in = total(&own, "prometheus_remote_storage_samples_in_total");
    let given_up = total(&own, "prometheus_remote_storage_samples_failed_total")
        + total(&own, "prometheus_remote_storage_samples_dropped_total");
    let retried = total(&own, "prometheus_remote_storage_samples_retried_total");
    eprintln!(
        "multivenue: cut {cut_seconds:.1} s; venue B: {series_b} series, {all_b} samples over \
         the cut (venue A: {series_a} series, {all_a} samples), its zone series {} samples \
         (venue A {}); largest gap in any series, venue B {largest_gap:.3} s, venue A \
         {gap_a:.3} s; catch-up {:.1} s after restore; agent and page answered {answered} \
         times during the cut; venue B's Prometheus: samples_in_total {taken_in}, retried \
         {retried}, gave up on {given_up}; its WAL {} bytes",
        in_b.len(),
        in_a.len(),
        catch_up.as_secs_f64(),
        dir_size(&b.data.join("data")),
    );
    assert_eq!(given_up, 0.0, "venue B's Prometheus gave up on samples");
    assert!(
        largest_gap <= SCRAPE_SECONDS * 1.5,
        "a gap of {largest_gap} s in venue B's samples over the cut (scrape every {SCRAPE_SECONDS} s)"
    );
    assert!(
        in_b.len() + 1 >= in_a.len() && in_b.len() as f64 >= cut_seconds / SCRAPE_SECONDS,
        "venue B has a sample per scrape over the cut: {} (venue A {})",
        in_b.len(),
        in_a.len()
    );
    assert!(
        series_b == series_a && all_b + series_b >= all_a,
        "venue B's series all arrived: {series_b} series, {all_b} samples against venue A's \
         {series_a} and {all_a}"
    );
    if long_cut {
        // The raw series are whole, but a recording rule evaluated after the lookback ran
        // out is not recomputed: it still misses venue B (docs/multi-venue.md).
        let late = cut_start + LOOKBACK_SECONDS + 30.0;
        assert_eq!(
            store.value("sum(venuemon_zone_clients)", Some(late)),
            Some(8.0)
        );
        assert_eq!(
            store.value(":venuemon_zone_clients:sum", Some(late)),
            Some(3.0)
        );
    }
    assert!(
        both().is_some(),
        "per-venue and cross-venue answers after the restore"
    );
}

/// One venue: a namespace linked to the central one by veth `up-<tag>`, an agent reading a
/// dnsmasq lease file of `clients` leases, and a Prometheus in agent mode. Dropped in field
/// order: the processes, then the namespace.
struct Venue {
    prometheus: Prometheus,
    _agent: common::Agent,
    ns: Netns,
    port: u16,
    data: PathBuf,
}

impl Venue {
    fn start(central: &Netns, dir: &Path, tag: &str, n: u8, clients: usize) -> Venue {
        let ns = Netns::new(format!("vm-mv{tag}-{}", std::process::id()));
        let uplink = format!("up-{tag}");
        veth(&uplink, Some(central), "eth0", Some(&ns));
        central.ip(&["addr", "add", &format!("10.79.{n}.1/24"), "dev", &uplink]);
        central.ip(&["link", "set", &uplink, "up"]);
        ns.ip(&["addr", "add", &format!("10.79.{n}.2/24"), "dev", "eth0"]);
        ns.ip(&["link", "set", "eth0", "up"]);

        let dir = dir.join(format!("venue-{tag}"));
        std::fs::create_dir_all(&dir).expect("venue dir");
        let expiry = jiff::Timestamp::now().as_second() + 3600;
        let leases: String = (0..clients)
            .map(|k| {
                format!(
                    "{expiry} {} 10.80.0.{} guest *\n",
                    common::mac(k + 1),
                    10 + k
                )
            })
            .collect();
        let lease_file = dir.join("dnsmasq.leases");
        std::fs::write(&lease_file, leases).expect("write leases");
        let config = TestConfig::new(&dir)
            .zone("seats = 100\nsubnets = [\"10.80.0.0/24\"]")
            .section(&format!(
                "[[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"{}\"\n\
                 pool = \"10.80.0.10-10.80.0.250\"\nzone = \"hall\"",
                lease_file.display()
            ));
        let agent = config.start(Some(&ns.0));
        common::wait_for("the venue's agent", Duration::from_secs(20), || {
            ns.get(config.port, "/metrics").filter(|m| {
                value(m, "venuemon_zone_clients{zone=\"hall\"}") == Some(clients as f64)
            })
        });

        let data = dir.join("prometheus");
        let prometheus = start_prometheus(
            &ns,
            &data,
            &venue_config(tag, n, config.port),
            &["--enable-feature=agent"],
        );
        Venue {
            prometheus,
            _agent: agent,
            ns,
            port: config.port,
            data,
        }
    }
}

/// `deploy/prometheus/agent-mode.yml` as JSON (YAML's subset, which Prometheus also reads).
fn shipped_agent_mode() -> Value {
    common::require_tool("python3", "python3-yaml");
    let file = common::project("deploy/prometheus/agent-mode.yml");
    let output = common::run(
        "python3",
        &[
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
            file.to_str().expect("utf-8 path"),
        ],
    );
    serde_json::from_slice(&output.stdout).expect("agent-mode.yml as JSON")
}

/// The shipped venue config with the lab's venue id, scrape interval, agent and central URL;
/// everything else (remote_write's timeout and queue) as shipped.
fn venue_config(tag: &str, n: u8, agent_port: u16) -> Value {
    let mut config = shipped_agent_mode();
    let interval = format!("{SCRAPE_SECONDS}s");
    config["global"]["scrape_interval"] = json!(interval);
    config["global"]["scrape_timeout"] = json!(interval);
    config["global"]["external_labels"]["venue"] = json!(format!("venue-{tag}"));
    config["scrape_configs"][0]["static_configs"] =
        json!([{ "targets": [format!("127.0.0.1:{agent_port}")] }]);
    config["remote_write"][0]["url"] =
        json!(format!("http://10.79.{n}.1:{PROMETHEUS_PORT}/api/v1/write"));
    config
}

/// The central store: no scraping of its own, the shipped recording rules and alerts,
/// evaluated every second; out-of-order samples accepted for 4 h (docs/multi-venue.md).
fn central_config() -> Value {
    let rules = common::project("deploy/prometheus");
    json!({
        "global": { "evaluation_interval": "1s" },
        "rule_files": [
            format!("{}/rules/*.yml", rules.display()),
            format!("{}/alerts/*.yml", rules.display()),
        ],
        "storage": { "tsdb": { "out_of_order_time_window": "4h" } },
    })
}

/// A Prometheus in namespace `ns` on [`PROMETHEUS_PORT`], its files in `dir`, with `config`
/// (checked with promtool first) and extra `flags`.
fn start_prometheus(ns: &Netns, dir: &Path, config: &Value, flags: &[&str]) -> Prometheus {
    std::fs::create_dir_all(dir).expect("prometheus dir");
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, config.to_string()).expect("write prometheus config");
    let mut check = vec!["check", "config"];
    if flags.contains(&"--enable-feature=agent") {
        check.push("--agent");
    }
    check.push(file.to_str().expect("utf-8 path"));
    common::run("promtool", &check);
    Prometheus::start(Listen::Netns(ns, PROMETHEUS_PORT), &file, dir, flags)
}

/// The sum of every sample of family `name` in an exposition.
fn total(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The timestamps of a range-vector query's one series at `time`, in order.
fn timestamps(store: &Prometheus, promql: &str, time: f64) -> Vec<f64> {
    let result = store.query(promql, Some(time)).unwrap_or_default();
    prometheus::samples(&result[0])
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

fn unix_now() -> f64 {
    jiff::Timestamp::now().as_microsecond() as f64 / 1e6
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
