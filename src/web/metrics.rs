//! `/metrics`: the snapshot as Prometheus text, plus the live metrics (process, server, build
//! info). Descriptors are built once; values are filled from each snapshot when it is
//! rendered, so a vanished interface's series vanish with it.

use std::ops::Range;
use std::sync::Arc;

use prometheus::core::{Collector, Desc, Describer};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};

use super::cached::PerSnapshot;
use super::capture_metrics;
use super::family::{Family, count};
use crate::hub::Snapshot;
use crate::model::capture::SIGNAL_BUCKETS;
use crate::model::interfaces::Counters;

/// Picks one counter out of an interface's counters.
type Field = fn(&Counters) -> u64;

/// The interface counters, as (metric name, help, field).
const INTERFACE_COUNTERS: [(&str, &str, Field); 8] = [
    (
        "venuemon_interface_receive_bytes_total",
        "Bytes received.",
        |c| c.rx_bytes,
    ),
    (
        "venuemon_interface_receive_packets_total",
        "Packets received.",
        |c| c.rx_packets,
    ),
    (
        "venuemon_interface_receive_errors_total",
        "Receive errors.",
        |c| c.rx_errors,
    ),
    (
        "venuemon_interface_receive_drops_total",
        "Received packets dropped.",
        |c| c.rx_drops,
    ),
    (
        "venuemon_interface_transmit_bytes_total",
        "Bytes sent.",
        |c| c.tx_bytes,
    ),
    (
        "venuemon_interface_transmit_packets_total",
        "Packets sent.",
        |c| c.tx_packets,
    ),
    (
        "venuemon_interface_transmit_errors_total",
        "Transmit errors.",
        |c| c.tx_errors,
    ),
    (
        "venuemon_interface_transmit_drops_total",
        "Packets dropped on transmit.",
        |c| c.tx_drops,
    ),
];

const IFACE: &[&str] = &["interface", "zone"];
const POOL: &[&str] = &["pool", "zone"];
const AP: &[&str] = &["zone", "ap"];
const ZONE: &[&str] = &["zone"];
const SOURCE: &[&str] = &["source", "instance"];

/// The `signal_dbm` label of each signal band: `"-67..-60"` holds signals above -67 dBm and
/// at most -60 dBm (as a histogram bucket's `le` would), `"..-90"` those at most -90 dBm and
/// `"-20.."` those above -20 dBm. The bands are the capture histogram's buckets: one set.
fn signal_bands() -> Vec<String> {
    let bound = |b: f64| format!("{b}");
    std::iter::once(format!("..{}", bound(SIGNAL_BUCKETS[0])))
        .chain(
            SIGNAL_BUCKETS
                .windows(2)
                .map(|w| format!("{}..{}", bound(w[0]), bound(w[1]))),
        )
        .chain(std::iter::once(format!(
            "{}..",
            bound(SIGNAL_BUCKETS[SIGNAL_BUCKETS.len() - 1])
        )))
        .collect()
}

/// The signal band (an index into [`signal_bands`]) of a signal in dBm.
fn signal_band(dbm: i32) -> usize {
    SIGNAL_BUCKETS
        .iter()
        .position(|b| f64::from(dbm) <= *b)
        .unwrap_or(SIGNAL_BUCKETS.len())
}

/// The longest `title` label of `venuemon_zone_session_info`, in characters: a series per
/// session is stored for as long as Prometheus keeps it, and a Grafana annotation shows one line.
const MAX_SESSION_TITLE: usize = 100;

/// A session's title as a label value: control and bidirectional-formatting characters
/// dropped (a label reaches terminals and Grafana tooltips), at most [`MAX_SESSION_TITLE`]
/// characters, trimmed.
fn session_title(title: &str) -> String {
    let kept: String = title
        .chars()
        .filter(|c| !crate::terminal::disruptive(*c))
        .take(MAX_SESSION_TITLE)
        .collect();
    kept.trim().to_string()
}

/// The sources' health.
fn source_families(snap: &Snapshot) -> [Family; 3] {
    let mut up = Family::gauge(
        "venuemon_source_up",
        "Whether the source's last sample succeeded (1) or failed (0).",
        SOURCE,
    );
    let mut errors = Family::counter(
        "venuemon_source_errors_total",
        "Failed samples by kind (permission, missing, io, parse, netlink).",
        &["source", "instance", "kind"],
    );
    let mut duration = Family::gauge(
        "venuemon_source_duration_seconds",
        "Duration of the source's last sample.",
        SOURCE,
    );
    for s in &snap.sources {
        let labels = [s.source, s.instance.as_str()];
        up.add(&labels, f64::from(u8::from(s.up)));
        duration.add(&labels, s.duration_seconds);
        for (kind, n) in &s.errors {
            errors.add(&[s.source, &s.instance, kind.as_str()], count(*n));
        }
    }
    [up, errors, duration]
}

/// The monitored interfaces.
fn interface_families(snap: &Snapshot) -> Vec<Family> {
    let mut families: Vec<Family> = INTERFACE_COUNTERS
        .iter()
        .map(|(name, help, field)| {
            let mut family = Family::counter(name, help, IFACE);
            for i in &snap.interfaces {
                let labels = [i.name.as_str(), i.zone.as_deref().unwrap_or("")];
                family.add(&labels, count(field(&i.counters)));
            }
            family
        })
        .collect();
    let mut up = Family::gauge(
        "venuemon_interface_up",
        "Whether the interface is operationally up.",
        IFACE,
    );
    let mut speed = Family::gauge(
        "venuemon_interface_speed_bytes_per_second",
        "Negotiated link speed in bytes per second (bits / 8), where the driver reports one.",
        IFACE,
    );
    let mut mtu = Family::gauge("venuemon_interface_mtu_bytes", "Interface MTU.", IFACE);
    for i in &snap.interfaces {
        let labels = [i.name.as_str(), i.zone.as_deref().unwrap_or("")];
        up.add(&labels, f64::from(u8::from(i.up)));
        if let Some(bps) = i.speed_bps {
            speed.add(&labels, count(bps / 8));
        }
        if let Some(bytes) = i.mtu {
            mtu.add(&labels, f64::from(bytes));
        }
    }
    families.extend([up, speed, mtu]);
    families
}

/// The zones and the venue's clients.
fn zone_families(snap: &Snapshot) -> [Family; 11] {
    let mut info = Family::gauge(
        "venuemon_zone_info",
        "Zone id and display name (always 1).",
        &["zone", "name"],
    );
    let mut clients = Family::gauge(
        "venuemon_zone_clients",
        "Unique clients active in the zone within the active window.",
        ZONE,
    );
    let mut randomized = Family::gauge(
        "venuemon_zone_clients_randomized",
        "Active clients of the zone using a randomized (locally administered) MAC address.",
        ZONE,
    );
    let mut by_source = Family::gauge(
        "venuemon_zone_clients_by_source",
        "Unique active clients of the zone seen by each source.",
        &["zone", "source"],
    );
    let mut seats = Family::gauge(
        "venuemon_zone_capacity_seats",
        "Seat capacity of the zone, from the config.",
        ZONE,
    );
    let mut status = Family::gauge(
        "venuemon_zone_status",
        "Zone status against the thresholds: -1 unknown (no source that covers the zone answered), 0 ok, 1 warn, 2 critical (reasons in /api/status).",
        ZONE,
    );
    let mut unique = Family::gauge(
        "venuemon_zone_unique_clients_estimate",
        "Estimated unique devices seen in the zone since the agent started (HyperLogLog).",
        ZONE,
    );
    let mut session = Family::gauge(
        "venuemon_zone_session_info",
        "The programme's session running in the zone now, by title (always 1; absent between sessions).",
        &["zone", "title"],
    );
    for z in &snap.zones {
        let zone = [z.id.as_str()];
        info.add(&[z.id.as_str(), z.name.as_str()], 1.0);
        if let Some(now) = &z.session_now {
            session.add(&[z.id.as_str(), &session_title(&now.title)], 1.0);
        }
        clients.add(&zone, count(z.clients));
        randomized.add(&zone, count(z.clients_randomized));
        for (source, n) in &z.clients_by_source {
            by_source.add(&[z.id.as_str(), source], count(*n));
        }
        if let Some(n) = z.seats {
            seats.add(&zone, f64::from(n));
        }
        status.add(&zone, z.status.value() as f64);
        unique.add(&zone, z.unique_clients_estimate.trunc());
    }
    let mut venue_unique = Family::gauge(
        "venuemon_venue_unique_clients_estimate",
        "Estimated unique devices seen venue-wide since the agent started (HyperLogLog).",
        &[],
    );
    venue_unique.add(&[], snap.unique_clients_estimate.trunc());
    let mut evicted = Family::counter(
        "venuemon_clients_evicted_total",
        "Clients dropped before their active window ended because the registry held [agent] max_clients.",
        &[],
    );
    evicted.add(&[], count(snap.clients_evicted_total));
    let mut snapshot_time = Family::gauge(
        "venuemon_snapshot_timestamp_seconds",
        "When the snapshot these metrics come from was made (Unix time).",
        &[],
    );
    // None before the first tick: a 0 would read as a snapshot from 1970 (a stale-snapshot
    // alert, a report spanning fifty years).
    if snap.generated_at > 0 {
        snapshot_time.add(&[], snap.generated_at as f64);
    }
    [
        info,
        clients,
        randomized,
        by_source,
        seats,
        status,
        session,
        unique,
        venue_unique,
        evicted,
        snapshot_time,
    ]
}

/// The DHCP pools.
fn pool_families(snap: &Snapshot) -> [Family; 5] {
    let mut leases = Family::gauge(
        "venuemon_dhcp_leases_active",
        "Active, unexpired leases in the pool.",
        POOL,
    );
    let mut size = Family::gauge(
        "venuemon_dhcp_pool_size",
        "Addresses in the pool (from the config, else from the server's statistics).",
        POOL,
    );
    let mut skipped = Family::gauge(
        "venuemon_dhcp_lease_records_skipped",
        "Records of the lease file that did not parse (half-written or corrupt).",
        POOL,
    );
    let mut assigned = Family::gauge(
        "venuemon_dhcp_server_assigned_addresses",
        "Addresses the DHCP server itself reports assigned (Kea statistics).",
        POOL,
    );
    let mut failures = Family::counter(
        "venuemon_dhcp_allocation_failures_total",
        "Address allocation failures the DHCP server reports (Kea statistics).",
        POOL,
    );
    for p in &snap.pools {
        let labels = [p.name.as_str(), p.zone.as_deref().unwrap_or("")];
        if let Some(n) = p.leases_active {
            leases.add(&labels, count(n));
            skipped.add(&labels, count(p.records_skipped));
        }
        if let Some(n) = p.size {
            size.add(&labels, count(n));
        }
        if let Some(stats) = p.statistics {
            assigned.add(&labels, count(stats.assigned));
            failures.add(&labels, count(stats.allocation_failures));
        }
    }
    [leases, size, skipped, assigned, failures]
}

/// The access points.
fn ap_families(snap: &Snapshot) -> [Family; 9] {
    let mut clients = Family::gauge(
        "venuemon_ap_clients",
        "Stations associated with the access point.",
        &["zone", "ap", "band"],
    );
    let mut frequency = Family::gauge(
        "venuemon_ap_frequency_hertz",
        "Operating frequency of the access point.",
        AP,
    );
    let mut rx_bytes = Family::gauge(
        "venuemon_ap_station_receive_bytes",
        "Bytes received from the stations associated now (sum of their counters).",
        AP,
    );
    let mut tx_bytes = Family::gauge(
        "venuemon_ap_station_transmit_bytes",
        "Bytes sent to the stations associated now (sum of their counters).",
        AP,
    );
    let mut utilization = Family::gauge(
        "venuemon_ap_channel_utilization_ratio",
        "Channel utilization hostapd measures (chan_util_avg / 255).",
        AP,
    );
    let mut by_signal = Family::gauge(
        "venuemon_ap_clients_by_signal",
        "Stations associated with the access point now, per signal band in dBm (those whose signal hostapd reports).",
        &["zone", "ap", "signal_dbm"],
    );
    let bands = signal_bands();
    let mut connects = Family::counter(
        "venuemon_client_connects_total",
        "Stations that connected (AP-STA-CONNECTED).",
        AP,
    );
    let mut disconnects = Family::counter(
        "venuemon_client_disconnects_total",
        "Stations that disconnected (AP-STA-DISCONNECTED).",
        AP,
    );
    let mut auth_failures = Family::counter(
        "venuemon_client_auth_failures_total",
        "Failed authentications (EAP failures, likely wrong passphrases).",
        AP,
    );
    for a in &snap.aps {
        let zone = a.zone.as_deref().unwrap_or("");
        let labels = [zone, a.ap.as_str()];
        if a.present {
            clients.add(&[zone, a.ap.as_str(), a.band.label()], count(a.stations));
            rx_bytes.add(&labels, count(a.rx_bytes));
            tx_bytes.add(&labels, count(a.tx_bytes));
            let mut stations = vec![0_u64; bands.len()];
            for dbm in &a.signals_dbm {
                if let Some(n) = stations.get_mut(signal_band(*dbm)) {
                    *n += 1;
                }
            }
            for (band, n) in bands.iter().zip(stations) {
                by_signal.add(&[zone, a.ap.as_str(), band], count(n));
            }
        }
        if let Some(mhz) = a.frequency_mhz {
            frequency.add(&labels, f64::from(mhz) * 1e6);
        }
        if let Some(u) = a.channel_utilization {
            utilization.add(&labels, u);
        }
        connects.add(&labels, count(a.events.connects));
        disconnects.add(&labels, count(a.events.disconnects));
        auth_failures.add(&labels, count(a.events.auth_failures));
    }
    [
        clients,
        frequency,
        rx_bytes,
        tx_bytes,
        utilization,
        by_signal,
        connects,
        disconnects,
        auth_failures,
    ]
}

/// `snap`'s families as a registry gathers them: empty ones left out, sorted by name, each
/// one's series sorted by label values.
fn gather(snap: &Snapshot) -> Vec<MetricFamily> {
    let mut all: Vec<MetricFamily> = source_families(snap)
        .into_iter()
        .chain(interface_families(snap))
        .chain(zone_families(snap))
        .chain(pool_families(snap))
        .chain(ap_families(snap))
        .filter_map(Family::finish)
        .chain(capture_metrics::families(snap))
        .collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    for family in &mut all {
        family.mut_metric().sort_by(|a, b| {
            let (a, b) = (a.get_label(), b.get_label());
            a.len()
                .cmp(&b.len())
                .then_with(|| a.iter().map(|l| l.value()).cmp(b.iter().map(|l| l.value())))
        });
    }
    all
}

/// The process metrics of the client crate, but with CPU time from `getrusage` (in
/// microseconds): the crate divides whole clock ticks into whole seconds, so its
/// `process_cpu_seconds_total` stands still for up to a second at a time.
struct ProcessCollector {
    crate_collector: prometheus::process_collector::ProcessCollector,
    descs: Vec<Desc>,
}

/// The CPU counter's name and help, as the client crate (and every Prometheus client) has them.
const CPU_SECONDS: &str = "process_cpu_seconds_total";
const CPU_SECONDS_HELP: &str = "Total user and system CPU time spent in seconds.";

impl ProcessCollector {
    fn new() -> ProcessCollector {
        let crate_collector = prometheus::process_collector::ProcessCollector::for_self();
        let mut descs: Vec<Desc> = crate_collector
            .desc()
            .into_iter()
            .filter(|d| d.fq_name != CPU_SECONDS)
            .cloned()
            .collect();
        descs.push(
            Opts::new(CPU_SECONDS, CPU_SECONDS_HELP)
                .describe()
                .expect("the metric name is static and valid"),
        );
        ProcessCollector {
            crate_collector,
            descs,
        }
    }
}

/// User plus system CPU time of the whole process (every thread, living or ended), in
/// seconds with microsecond resolution.
fn cpu_seconds() -> Option<f64> {
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into the valid, exclusive pointer it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    Some(cpu_seconds_of(usage.ru_utime, usage.ru_stime))
}

/// User plus system time in seconds, summed in whole microseconds and divided once, so that
/// the counter prints as `getrusage` gave it (`0.566116`, not `0.5661160000000001`).
fn cpu_seconds_of(user: libc::timeval, system: libc::timeval) -> f64 {
    // `time_t` and `suseconds_t` are `i32` on some 32-bit targets, `i64` here.
    #[allow(clippy::useless_conversion)]
    let micros = |t: libc::timeval| {
        i64::from(t.tv_sec)
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(t.tv_usec))
    };
    micros(user).saturating_add(micros(system)) as f64 / 1e6
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.crate_collector.collect();
        families.retain(|f| f.name() != CPU_SECONDS);
        if let Some(seconds) = cpu_seconds() {
            let mut counter = prometheus::proto::Counter::default();
            counter.set_value(seconds);
            let mut metric = prometheus::proto::Metric::default();
            metric.set_counter(counter);
            let mut family = MetricFamily::default();
            family.set_name(CPU_SECONDS.into());
            family.set_help(CPU_SECONDS_HELP.into());
            family.set_field_type(prometheus::proto::MetricType::COUNTER);
            family.set_metric(vec![metric]);
            families.push(family);
        }
        families
    }
}

/// The text of one snapshot's families, and each family's name and place in it.
struct Rendered {
    text: Vec<u8>,
    families: Vec<(String, Range<usize>)>,
}

impl Rendered {
    fn new(families: &[MetricFamily]) -> prometheus::Result<Rendered> {
        let mut rendered = Rendered {
            text: Vec::with_capacity(8 * 1024),
            families: Vec::with_capacity(families.len()),
        };
        for family in families {
            let start = rendered.text.len();
            TextEncoder::new().encode(std::slice::from_ref(family), &mut rendered.text)?;
            let place = start..rendered.text.len();
            rendered.families.push((family.name().to_owned(), place));
        }
        Ok(rendered)
    }
}

/// `/metrics`: the snapshot's families, rendered to text once per snapshot, merged at each
/// scrape with the live families of the agent's registry (process, server, build info),
/// rendered then. A scrape between two snapshots renders only the few live families.
#[derive(Default)]
pub(crate) struct Exposition {
    rendered: PerSnapshot<prometheus::Result<Rendered>>,
}

impl Exposition {
    /// The exposition of `snapshot` and of `live`'s families now, every family in name
    /// order, as one registry holding them all would give it.
    ///
    /// # Errors
    /// A family the text encoder refuses (one with no name).
    pub(crate) fn encode(
        &self,
        snapshot: &Arc<Snapshot>,
        live: &Registry,
    ) -> prometheus::Result<Vec<u8>> {
        let rendered = self
            .rendered
            .get(snapshot, || Rendered::new(&gather(snapshot)));
        let rendered = rendered.as_ref().as_ref().map_err(|e| {
            prometheus::Error::Msg(format!("cannot render the snapshot's metrics: {e}"))
        })?;
        let live = live.gather();
        let mut out = Vec::with_capacity(rendered.text.len() + 4 * 1024);
        let mut cached = rendered.families.iter().peekable();
        for family in &live {
            while let Some((_, place)) = cached.next_if(|(name, _)| name.as_str() < family.name()) {
                out.extend_from_slice(&rendered.text[place.clone()]);
            }
            TextEncoder::new().encode(std::slice::from_ref(family), &mut out)?;
        }
        for (_, place) in cached {
            out.extend_from_slice(&rendered.text[place.clone()]);
        }
        Ok(out)
    }
}

/// The agent's registry of live metrics, gathered at every scrape: process metrics and build
/// info here, the server's counters registered by their owners. The snapshot's metrics are
/// [`Exposition`]'s.
pub(crate) fn registry() -> Registry {
    let registry = Registry::new();
    let build = IntGaugeVec::new(
        Opts::new(
            "venuemon_build_info",
            "Version, git revision and compiler of the running agent (always 1).",
        ),
        &["version", "revision", "rustc_version"],
    )
    .expect("the metric name and labels are static and valid");
    build
        .with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            env!("VENUEMON_REVISION"),
            env!("VENUEMON_RUSTC_VERSION"),
        ])
        .set(1);
    let collectors: [Box<dyn Collector>; 2] = [Box::new(build), Box::new(ProcessCollector::new())];
    for c in collectors {
        registry
            .register(c)
            .expect("collectors have distinct, valid metric names");
    }
    registry
}

#[cfg(test)]
mod tests {
    use prometheus::IntCounter;

    use super::*;
    use crate::hub::snapshot::ApSnapshot;
    use crate::model::access_points::{ApEvents, Band};

    fn exposition(metrics: &Exposition, snapshot: &Arc<Snapshot>, live: &Registry) -> String {
        String::from_utf8(metrics.encode(snapshot, live).expect("encode")).expect("utf-8")
    }

    /// The agent's own samples (not the process metrics, which change between scrapes).
    fn scrape(metrics: &Exposition, snapshot: &Arc<Snapshot>) -> String {
        exposition(metrics, snapshot, &registry())
            .lines()
            .filter(|l| l.starts_with("venuemon_"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn line<'a>(metrics: &'a str, series: &str) -> Option<&'a str> {
        metrics.lines().find(|l| l.starts_with(series))
    }

    fn live_exposition(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out).expect("utf-8")
    }

    /// Regression: the client crate's collector divided whole clock ticks into whole
    /// seconds, so the counter stood still for up to a second and a light load's rate read 0.
    #[test]
    fn process_cpu_seconds_have_a_fractional_part_and_never_decrease() {
        let registry = registry();
        let scrape_cpu = || -> f64 {
            let text = live_exposition(&registry);
            let value = line(&text, "process_cpu_seconds_total ")
                .and_then(|l| l.rsplit(' ').next())
                .unwrap_or_else(|| panic!("process_cpu_seconds_total in\n{text}"));
            value.parse().expect("a number")
        };
        let mut values = vec![scrape_cpu()];
        for _ in 0..4 {
            // About 20 ms of CPU: measurable, and a fraction of a second.
            let start = cpu_seconds().expect("getrusage");
            let mut x = 0_u64;
            while cpu_seconds().expect("getrusage") < start + 0.02 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            values.push(scrape_cpu());
        }
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
        assert!(values.iter().any(|v| v.fract() != 0.0), "{values:?}");
    }

    /// Regression: seconds and microseconds were turned into floats apart and added, and
    /// the counter printed `0.5661160000000001` (floating-point noise) for 0.566116 s.
    #[test]
    fn process_cpu_seconds_carry_no_floating_point_noise() {
        let time = |tv_sec, tv_usec| libc::timeval { tv_sec, tv_usec };
        assert_eq!(
            cpu_seconds_of(time(0, 997), time(0, 66_116)).to_string(),
            "0.067113"
        );
        assert_eq!(
            cpu_seconds_of(time(0, 500_000), time(0, 66_116)).to_string(),
            "0.566116"
        );
        assert_eq!(
            cpu_seconds_of(time(12, 999_999), time(3, 1)).to_string(),
            "16"
        );
        assert_eq!(cpu_seconds_of(time(0, 0), time(0, 0)).to_string(), "0");
    }

    #[test]
    fn process_metrics_keep_the_client_crate_names_help_and_types() {
        let text = live_exposition(&registry());
        for (name, kind) in [
            ("process_cpu_seconds_total", "counter"),
            ("process_open_fds", "gauge"),
            ("process_max_fds", "gauge"),
            ("process_virtual_memory_bytes", "gauge"),
            ("process_resident_memory_bytes", "gauge"),
            ("process_start_time_seconds", "gauge"),
            ("process_threads", "gauge"),
        ] {
            let mut crate_text = Vec::new();
            let crate_collector = prometheus::process_collector::ProcessCollector::for_self();
            let help = crate_collector
                .desc()
                .into_iter()
                .find(|d| d.fq_name == name)
                .map(|d| d.help.clone())
                .unwrap_or_else(|| panic!("the client crate has {name}"));
            TextEncoder::new()
                .encode(&crate_collector.collect(), &mut crate_text)
                .expect("encode");
            let crate_text = String::from_utf8(crate_text).expect("utf-8");
            for header in [
                format!("# HELP {name} {help}\n"),
                format!("# TYPE {name} {kind}\n"),
            ] {
                assert!(crate_text.contains(&header), "{crate_text}");
                assert!(text.contains(&header), "{header} in\n{text}");
            }
            assert_eq!(
                text.matches(&format!("\n{name} ")).count(),
                1,
                "one {name} sample in\n{text}"
            );
        }
    }

    #[test]
    fn build_info_names_version_git_revision_and_compiler() {
        let text = live_exposition(&registry());
        let found = line(&text, "venuemon_build_info{").unwrap_or_else(|| panic!("{text}"));
        assert!(found.ends_with("} 1"), "{found}");
        let labels = &found["venuemon_build_info{".len()..found.len() - "} 1".len()];
        let label = |name: &str| {
            labels
                .split("\",")
                .find_map(|pair| pair.strip_prefix(&format!("{name}=\"")))
                .map(|value| value.trim_end_matches('"').to_string())
                .unwrap_or_else(|| panic!("{name} in {found}"))
        };
        assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
        let rustc = label("rustc_version");
        assert!(
            rustc.starts_with(|c: char| c.is_ascii_digit()) && rustc.contains('.'),
            "{found}"
        );
        // Built from a git checkout (as CI is), the revision is the checkout's HEAD.
        let git = std::process::Command::new("git")
            .current_dir(crate::testing::project())
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        assert_eq!(label("revision"), git.as_deref().unwrap_or("unknown"));
    }

    #[test]
    fn counters_and_gauges_are_the_snapshot_values_at_every_scrape() {
        let ap = ApSnapshot {
            ap: "wlan0".into(),
            zone: Some("hall".into()),
            band: Band::Ghz5,
            frequency_mhz: Some(5180),
            channel: Some(36),
            present: true,
            stations: 2,
            signals_dbm: vec![-55, -65],
            rx_bytes: 10,
            tx_bytes: 20,
            channel_utilization: Some(0.2),
            events: ApEvents {
                connects: 3,
                disconnects: 1,
                auth_failures: 2,
            },
        };
        let snapshot = Snapshot {
            aps: vec![ap],
            clients_evicted_total: 7,
            ..Snapshot::default()
        };
        let metrics = Exposition::default();
        let first = scrape(&metrics, &Arc::new(snapshot.clone()));
        for _ in 0..3 {
            // Each a snapshot of its own, so rendered again.
            let again = scrape(&metrics, &Arc::new(snapshot.clone()));
            assert_eq!(again, first, "a rendering changes nothing");
        }
        for (series, value) in [
            ("venuemon_client_connects_total{", "3"),
            ("venuemon_client_disconnects_total{", "1"),
            ("venuemon_client_auth_failures_total{", "2"),
            (
                "venuemon_ap_clients_by_signal{ap=\"wlan0\",signal_dbm=\"-60..-50\"",
                "1",
            ),
            (
                "venuemon_ap_clients_by_signal{ap=\"wlan0\",signal_dbm=\"-67..-60\"",
                "1",
            ),
            (
                "venuemon_ap_clients_by_signal{ap=\"wlan0\",signal_dbm=\"-70..-67\"",
                "0",
            ),
            ("venuemon_ap_clients{", "2"),
            ("venuemon_ap_frequency_hertz{", "5180000000"),
            ("venuemon_clients_evicted_total ", "7"),
        ] {
            let found = line(&first, series).unwrap_or_else(|| panic!("{series} in\n{first}"));
            assert!(found.ends_with(&format!(" {value}")), "{found}");
        }
        // An AP gone from the snapshot is gone from /metrics.
        let empty = scrape(&metrics, &Arc::new(Snapshot::default()));
        assert!(!empty.contains("wlan0"), "{empty}");
    }

    /// Regression: before the first tick the agent published
    /// `venuemon_snapshot_timestamp_seconds 0`; Prometheus kept that sample, and a report
    /// over "the whole event" then started in 1970 and ran out of memory.
    #[test]
    fn regression_no_snapshot_timestamp_before_the_first_snapshot() {
        let metrics = Exposition::default();
        let before = scrape(&metrics, &Arc::new(Snapshot::default()));
        assert!(
            line(&before, "venuemon_snapshot_timestamp_seconds ").is_none(),
            "{before}"
        );
        let made = Snapshot {
            generated_at: 1_780_000_000,
            ..Snapshot::default()
        };
        let after = scrape(&metrics, &Arc::new(made));
        assert_eq!(
            line(&after, "venuemon_snapshot_timestamp_seconds "),
            Some("venuemon_snapshot_timestamp_seconds 1780000000")
        );
    }

    /// Regression: `venuemon_station_signal_dbm` was a histogram rebuilt from the stations
    /// associated at each scrape, so its `_count` fell when stations left and `rate()` over it
    /// was meaningless. Stations per signal band are gauges: they fall with the stations.
    #[test]
    fn regression_station_signals_are_gauges_per_band_not_a_histogram_rebuilt_each_scrape() {
        let ap = |signals_dbm: Vec<i32>| ApSnapshot {
            stations: signals_dbm.len() as u64,
            signals_dbm,
            ..ApSnapshot::silent("wlan0".into(), Some("hall".into()), ApEvents::default())
        };
        let present = |signals_dbm| ApSnapshot {
            present: true,
            ..ap(signals_dbm)
        };
        let metrics = Exposition::default();
        let band = |text: &str, band: &str| -> f64 {
            let series = format!(
                "venuemon_ap_clients_by_signal{{ap=\"wlan0\",signal_dbm=\"{band}\",zone=\"hall\"}} "
            );
            line(text, &series)
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or_else(|| panic!("{series} in\n{text}"))
        };
        let snapshot = |aps| {
            Arc::new(Snapshot {
                aps,
                ..Snapshot::default()
            })
        };
        let full = scrape(
            &metrics,
            &snapshot(vec![present(vec![-95, -90, -89, -45, -10])]),
        );
        assert!(!full.contains("_bucket"), "no histogram:\n{full}");
        assert_eq!(band(&full, "..-90"), 2.0, "-90 is at most -90");
        assert_eq!(band(&full, "-90..-80"), 1.0);
        assert_eq!(band(&full, "-50..-40"), 1.0);
        assert_eq!(band(&full, "-20.."), 1.0);
        assert_eq!(
            full.matches("venuemon_ap_clients_by_signal{").count(),
            SIGNAL_BUCKETS.len() + 1,
            "every band, empty ones at 0:\n{full}"
        );
        let fewer = scrape(&metrics, &snapshot(vec![present(vec![-45])]));
        assert_eq!(band(&fewer, "..-90"), 0.0);
        assert_eq!(band(&fewer, "-50..-40"), 1.0);
        // An AP that does not answer has no stations to place.
        let silent = scrape(&metrics, &snapshot(vec![ap(vec![])]));
        assert!(
            !silent.contains("venuemon_ap_clients_by_signal"),
            "{silent}"
        );
    }

    #[test]
    fn a_zone_in_session_has_its_session_info_with_a_clean_capped_title() {
        use crate::hub::{SessionSnapshot, ZoneSnapshot};
        let zone = |id: &str, title: Option<String>| ZoneSnapshot {
            id: id.into(),
            name: id.into(),
            session_now: title.map(|title| SessionSnapshot {
                title,
                starts: 0,
                ends: 3_600,
            }),
            ..ZoneSnapshot::default()
        };
        let long = format!("Keynote {}", "é".repeat(300));
        let snapshot = Arc::new(Snapshot {
            zones: vec![
                zone("hall-a", Some("Ouverture\u{1b}[2J \u{202e}«IA»\r\n".into())),
                zone("hall-b", Some(long)),
                zone("hall-c", None),
            ],
            ..Snapshot::default()
        });
        let text = scrape(&Exposition::default(), &snapshot);
        let sessions: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("venuemon_zone_session_info{"))
            .collect();
        let capped = format!(
            "Keynote {}",
            "é".repeat(MAX_SESSION_TITLE - "Keynote ".len())
        );
        assert_eq!(
            sessions,
            [
                format!("venuemon_zone_session_info{{title=\"{capped}\",zone=\"hall-b\"}} 1"),
                "venuemon_zone_session_info{title=\"Ouverture[2J «IA»\",zone=\"hall-a\"} 1"
                    .to_string(),
            ],
            "in label order, none for a zone between sessions:\n{text}"
        );
        let whole = exposition(&Exposition::default(), &snapshot, &registry());
        assert!(
            whole.contains("# TYPE venuemon_zone_session_info gauge\n"),
            "{whole}"
        );
        // The session over, its series is gone.
        let over = scrape(
            &Exposition::default(),
            &Arc::new(Snapshot {
                zones: vec![zone("hall-a", None)],
                ..Snapshot::default()
            }),
        );
        assert!(!over.contains("venuemon_zone_session_info"), "{over}");
    }

    #[test]
    fn live_metrics_are_current_at_every_scrape_of_one_snapshot() {
        let live = registry();
        let requests = IntCounter::new("venuemon_test_requests_total", "Test.").expect("metric");
        live.register(Box::new(requests.clone())).expect("register");
        let metrics = Exposition::default();
        let snapshot = Arc::new(Snapshot {
            clients_evicted_total: 7,
            ..Snapshot::default()
        });
        for n in 1..=3 {
            requests.inc();
            let text = exposition(&metrics, &snapshot, &live);
            assert!(
                text.contains(&format!("\nvenuemon_test_requests_total {n}\n")),
                "{text}"
            );
            assert!(
                text.contains("\nvenuemon_clients_evicted_total 7\n"),
                "{text}"
            );
        }
    }

    #[test]
    fn families_come_in_name_order_as_one_registry_gives_them() {
        let snapshot = Arc::new(Snapshot {
            aps: vec![ApSnapshot {
                ap: "wlan0".into(),
                zone: Some("hall".into()),
                band: Band::Ghz5,
                frequency_mhz: Some(5180),
                channel: Some(36),
                present: true,
                stations: 1,
                signals_dbm: vec![-55],
                rx_bytes: 1,
                tx_bytes: 2,
                channel_utilization: None,
                events: ApEvents::default(),
            }],
            ..Snapshot::default()
        });
        let text = exposition(&Exposition::default(), &snapshot, &registry());
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# HELP "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "each family once, in name order");
        // Live (process, build info) and snapshot families interleave by name.
        assert!(
            names.contains(&"process_resident_memory_bytes"),
            "{names:?}"
        );
        assert!(names.contains(&"venuemon_build_info"), "{names:?}");
        assert!(names.contains(&"venuemon_ap_clients"), "{names:?}");
    }
}
