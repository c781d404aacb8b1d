//! `/metrics`: the snapshot as Prometheus text, plus the live metrics (process, server, build
//! info). Descriptors are built once; values are filled from each snapshot when it is
//! rendered, so a vanished interface's series vanish with it.

use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc, Describer};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use super::cached::PerSnapshot;
use super::capture_metrics::CaptureFamilies;
use crate::hub::Snapshot;
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

/// A metric vector that can be emptied before each scrape.
trait Family: Collector {
    fn reset(&self);
}

impl<P: prometheus::core::MetricVecBuilder> Family for prometheus::core::MetricVec<P> {
    fn reset(&self) {
        prometheus::core::MetricVec::reset(self);
    }
}

/// The metric vectors, reset and refilled on each scrape.
struct Families {
    source_up: IntGaugeVec,
    source_errors: IntCounterVec,
    source_duration: GaugeVec,
    interface_counters: Vec<(IntCounterVec, Field)>,
    interface_up: IntGaugeVec,
    interface_speed: IntGaugeVec,
    interface_mtu: IntGaugeVec,
    zone_info: IntGaugeVec,
    zone_clients: IntGaugeVec,
    zone_clients_randomized: IntGaugeVec,
    zone_clients_by_source: IntGaugeVec,
    zone_seats: IntGaugeVec,
    zone_status: IntGaugeVec,
    zone_unique: IntGaugeVec,
    venue_unique: IntGaugeVec,
    clients_evicted: IntCounterVec,
    dhcp_leases: IntGaugeVec,
    dhcp_pool_size: IntGaugeVec,
    dhcp_skipped: IntGaugeVec,
    dhcp_server_assigned: IntGaugeVec,
    dhcp_allocation_failures: IntCounterVec,
    ap_clients: IntGaugeVec,
    ap_frequency: IntGaugeVec,
    ap_rx_bytes: IntGaugeVec,
    ap_tx_bytes: IntGaugeVec,
    ap_utilization: GaugeVec,
    ap_signal: HistogramVec,
    ap_connects: IntCounterVec,
    ap_disconnects: IntCounterVec,
    ap_auth_failures: IntCounterVec,
    snapshot_time: GaugeVec,
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels)
        .expect("metric names and labels are static and valid")
}

fn float_gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels)
        .expect("metric names and labels are static and valid")
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .expect("metric names and labels are static and valid")
}

const IFACE: &[&str] = &["interface", "zone"];
const POOL: &[&str] = &["pool", "zone"];
const AP: &[&str] = &["zone", "ap"];

/// Signal buckets in dBm, from unusable to excellent.
const SIGNAL_BUCKETS: [f64; 7] = [-90.0, -80.0, -70.0, -67.0, -60.0, -50.0, -30.0];
const SOURCE: &[&str] = &["source", "instance"];

impl Families {
    fn new() -> Families {
        Families {
            source_up: gauge(
                "venuemon_source_up",
                "Whether the source's last sample succeeded (1) or failed (0).",
                SOURCE,
            ),
            source_errors: counter(
                "venuemon_source_errors_total",
                "Failed samples by kind (permission, missing, io, parse, netlink).",
                &["source", "instance", "kind"],
            ),
            source_duration: float_gauge(
                "venuemon_source_duration_seconds",
                "Duration of the source's last sample.",
                SOURCE,
            ),
            interface_counters: INTERFACE_COUNTERS
                .iter()
                .map(|(name, help, field)| (counter(name, help, IFACE), *field))
                .collect(),
            interface_up: gauge(
                "venuemon_interface_up",
                "Whether the interface is operationally up.",
                IFACE,
            ),
            interface_speed: gauge(
                "venuemon_interface_speed_bytes_per_second",
                "Negotiated link speed in bytes per second (bits / 8), where the driver reports one.",
                IFACE,
            ),
            interface_mtu: gauge("venuemon_interface_mtu_bytes", "Interface MTU.", IFACE),
            zone_info: gauge(
                "venuemon_zone_info",
                "Zone id and display name (always 1).",
                &["zone", "name"],
            ),
            zone_clients: gauge(
                "venuemon_zone_clients",
                "Unique clients active in the zone within the active window.",
                &["zone"],
            ),
            zone_clients_randomized: gauge(
                "venuemon_zone_clients_randomized",
                "Active clients of the zone using a randomized (locally administered) MAC address.",
                &["zone"],
            ),
            zone_clients_by_source: gauge(
                "venuemon_zone_clients_by_source",
                "Unique active clients of the zone seen by each source.",
                &["zone", "source"],
            ),
            zone_seats: gauge(
                "venuemon_zone_capacity_seats",
                "Seat capacity of the zone, from the config.",
                &["zone"],
            ),
            zone_status: gauge(
                "venuemon_zone_status",
                "Zone status against the thresholds: 0 ok, 1 warn, 2 critical (reasons in /api/status).",
                &["zone"],
            ),
            zone_unique: gauge(
                "venuemon_unique_clients_estimate",
                "Estimated unique devices seen in the zone since the agent started (HyperLogLog).",
                &["zone"],
            ),
            venue_unique: gauge(
                "venuemon_venue_unique_clients_estimate",
                "Estimated unique devices seen venue-wide since the agent started (HyperLogLog).",
                &[],
            ),
            clients_evicted: counter(
                "venuemon_clients_evicted_total",
                "Clients dropped before their active window ended because the registry held [agent] max_clients.",
                &[],
            ),
            dhcp_leases: gauge(
                "venuemon_dhcp_leases_active",
                "Active, unexpired leases in the pool.",
                POOL,
            ),
            dhcp_pool_size: gauge(
                "venuemon_dhcp_pool_size",
                "Addresses in the pool (from the config, else from the server's statistics).",
                POOL,
            ),
            dhcp_skipped: gauge(
                "venuemon_dhcp_lease_records_skipped",
                "Records of the lease file that did not parse (half-written or corrupt).",
                POOL,
            ),
            dhcp_server_assigned: gauge(
                "venuemon_dhcp_server_assigned_addresses",
                "Addresses the DHCP server itself reports assigned (Kea statistics).",
                POOL,
            ),
            dhcp_allocation_failures: counter(
                "venuemon_dhcp_allocation_failures_total",
                "Address allocation failures the DHCP server reports (Kea statistics).",
                POOL,
            ),
            ap_clients: gauge(
                "venuemon_ap_clients",
                "Stations associated with the access point.",
                &["zone", "ap", "band"],
            ),
            ap_frequency: gauge(
                "venuemon_ap_frequency_mhz",
                "Operating frequency of the access point.",
                AP,
            ),
            ap_rx_bytes: gauge(
                "venuemon_ap_station_receive_bytes",
                "Bytes received from the stations associated now (sum of their counters).",
                AP,
            ),
            ap_tx_bytes: gauge(
                "venuemon_ap_station_transmit_bytes",
                "Bytes sent to the stations associated now (sum of their counters).",
                AP,
            ),
            ap_utilization: float_gauge(
                "venuemon_ap_channel_utilization_ratio",
                "Channel utilization hostapd measures (chan_util_avg / 255).",
                AP,
            ),
            ap_signal: HistogramVec::new(
                HistogramOpts::new(
                    "venuemon_station_signal_dbm",
                    "Signal of the associated stations, per access point.",
                )
                .buckets(SIGNAL_BUCKETS.to_vec()),
                AP,
            )
            .expect("metric names and labels are static and valid"),
            ap_connects: counter(
                "venuemon_client_connects_total",
                "Stations that connected (AP-STA-CONNECTED).",
                AP,
            ),
            ap_disconnects: counter(
                "venuemon_client_disconnects_total",
                "Stations that disconnected (AP-STA-DISCONNECTED).",
                AP,
            ),
            ap_auth_failures: counter(
                "venuemon_client_auth_failures_total",
                "Failed authentications (EAP failures, likely wrong passphrases).",
                AP,
            ),
            snapshot_time: float_gauge(
                "venuemon_snapshot_timestamp_seconds",
                "When the snapshot these metrics come from was made (Unix time).",
                &[],
            ),
        }
    }

    fn all(&self) -> Vec<&dyn Family> {
        let mut all: Vec<&dyn Family> =
            vec![&self.source_up, &self.source_errors, &self.source_duration];
        all.extend(
            self.interface_counters
                .iter()
                .map(|(c, _)| c as &dyn Family),
        );
        all.extend([
            &self.interface_up as &dyn Family,
            &self.interface_speed,
            &self.interface_mtu,
            &self.zone_info,
            &self.zone_clients,
            &self.zone_clients_randomized,
            &self.zone_clients_by_source,
            &self.zone_seats,
            &self.zone_status,
            &self.zone_unique,
            &self.venue_unique,
            &self.clients_evicted,
            &self.dhcp_leases,
            &self.dhcp_pool_size,
            &self.dhcp_skipped,
            &self.dhcp_server_assigned,
            &self.dhcp_allocation_failures,
            &self.ap_clients,
            &self.ap_frequency,
            &self.ap_rx_bytes,
            &self.ap_tx_bytes,
            &self.ap_utilization,
            &self.ap_signal,
            &self.ap_connects,
            &self.ap_disconnects,
            &self.ap_auth_failures,
            &self.snapshot_time,
        ]);
        all
    }

    /// Empties every family: `fill` sets gauges and adds the snapshot's running totals to
    /// counters and histograms, so anything kept from the last scrape would be counted twice
    /// (or show an AP, pool or zone that is gone). One list, `all`, so none can be forgotten.
    fn reset(&self) {
        for family in self.all() {
            family.reset();
        }
    }

    fn fill(&self, snap: &Snapshot) {
        for s in &snap.sources {
            let labels = [s.source, s.instance.as_str()];
            self.source_up
                .with_label_values(&labels)
                .set(i64::from(s.up));
            self.source_duration
                .with_label_values(&labels)
                .set(s.duration_seconds);
            for (kind, n) in &s.errors {
                self.source_errors
                    .with_label_values(&[s.source, &s.instance, kind.as_str()])
                    .inc_by(*n);
            }
        }
        for i in &snap.interfaces {
            let labels = [i.name.as_str(), i.zone.as_deref().unwrap_or("")];
            for (c, field) in &self.interface_counters {
                c.with_label_values(&labels).inc_by(field(&i.counters));
            }
            self.interface_up
                .with_label_values(&labels)
                .set(i64::from(i.up));
            if let Some(speed) = i.speed_bps {
                self.interface_speed
                    .with_label_values(&labels)
                    .set(i64::try_from(speed / 8).unwrap_or(i64::MAX));
            }
            if let Some(mtu) = i.mtu {
                self.interface_mtu
                    .with_label_values(&labels)
                    .set(i64::from(mtu));
            }
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        for z in &snap.zones {
            let zone = [z.id.as_str()];
            self.zone_info
                .with_label_values(&[z.id.as_str(), z.name.as_str()])
                .set(1);
            self.zone_clients
                .with_label_values(&zone)
                .set(count(z.clients));
            self.zone_clients_randomized
                .with_label_values(&zone)
                .set(count(z.clients_randomized));
            for (source, n) in &z.clients_by_source {
                self.zone_clients_by_source
                    .with_label_values(&[z.id.as_str(), source])
                    .set(count(*n));
            }
            if let Some(seats) = z.seats {
                self.zone_seats
                    .with_label_values(&zone)
                    .set(i64::from(seats));
            }
        }
        for z in &snap.zones {
            self.zone_status
                .with_label_values(&[z.id.as_str()])
                .set(z.status.value());
            self.zone_unique
                .with_label_values(&[z.id.as_str()])
                .set(z.unique_clients_estimate as i64);
        }
        self.venue_unique
            .with_label_values(&[] as &[&str])
            .set(snap.unique_clients_estimate as i64);
        self.clients_evicted
            .with_label_values(&[] as &[&str])
            .inc_by(snap.clients_evicted_total);
        for p in &snap.pools {
            let labels = [p.name.as_str(), p.zone.as_deref().unwrap_or("")];
            if let Some(n) = p.leases_active {
                self.dhcp_leases.with_label_values(&labels).set(count(n));
                self.dhcp_skipped
                    .with_label_values(&labels)
                    .set(count(p.records_skipped));
            }
            if let Some(n) = p.size {
                self.dhcp_pool_size.with_label_values(&labels).set(count(n));
            }
            if let Some(stats) = p.statistics {
                self.dhcp_server_assigned
                    .with_label_values(&labels)
                    .set(count(stats.assigned));
                self.dhcp_allocation_failures
                    .with_label_values(&labels)
                    .inc_by(stats.allocation_failures);
            }
        }
        for a in &snap.aps {
            let zone = a.zone.as_deref().unwrap_or("");
            let labels = [zone, a.ap.as_str()];
            if a.present {
                self.ap_clients
                    .with_label_values(&[zone, a.ap.as_str(), a.band.label()])
                    .set(count(a.stations));
                self.ap_rx_bytes
                    .with_label_values(&labels)
                    .set(count(a.rx_bytes));
                self.ap_tx_bytes
                    .with_label_values(&labels)
                    .set(count(a.tx_bytes));
            }
            if let Some(mhz) = a.frequency_mhz {
                self.ap_frequency
                    .with_label_values(&labels)
                    .set(i64::from(mhz));
            }
            if let Some(u) = a.channel_utilization {
                self.ap_utilization.with_label_values(&labels).set(u);
            }
            let histogram = self.ap_signal.with_label_values(&labels);
            for signal in &a.signals_dbm {
                histogram.observe(f64::from(*signal));
            }
            self.ap_connects
                .with_label_values(&labels)
                .inc_by(a.events.connects);
            self.ap_disconnects
                .with_label_values(&labels)
                .inc_by(a.events.disconnects);
            self.ap_auth_failures
                .with_label_values(&labels)
                .inc_by(a.events.auth_failures);
        }
        self.snapshot_time
            .with_label_values(&[] as &[&str])
            .set(snap.generated_at as f64);
    }
}

/// The snapshot's metric families. Descriptors are built once; values are filled from a
/// snapshot when it is rendered.
struct SnapshotFamilies {
    families: Mutex<(Families, CaptureFamilies)>,
}

impl SnapshotFamilies {
    /// `snap`'s families as a registry gathers them: empty ones left out, sorted by name,
    /// each one's series sorted by label values.
    fn gather(&self, snap: &Snapshot) -> Vec<MetricFamily> {
        // A panic while filling cannot leave state that matters: everything is reset first.
        let guard = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let (families, capture) = &*guard;
        families.reset();
        families.fill(snap);
        let mut all: Vec<MetricFamily> = families.all().iter().flat_map(|c| c.collect()).collect();
        all.extend(capture.collect(snap));
        all.retain(|f| !f.get_metric().is_empty());
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
}

impl Default for SnapshotFamilies {
    fn default() -> Self {
        SnapshotFamilies {
            families: Mutex::new((Families::new(), CaptureFamilies::default())),
        }
    }
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
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
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
pub struct Exposition {
    snapshot: SnapshotFamilies,
    rendered: PerSnapshot<prometheus::Result<Rendered>>,
}

impl Exposition {
    /// The exposition of `snapshot` and of `live`'s families now, every family in name
    /// order, as one registry holding them all would give it.
    ///
    /// # Errors
    /// A family the text encoder refuses (one with no name).
    pub fn encode(&self, snapshot: &Arc<Snapshot>, live: &Registry) -> prometheus::Result<Vec<u8>> {
        let rendered = self
            .rendered
            .get(snapshot, || Rendered::new(&self.snapshot.gather(snapshot)));
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
pub fn registry() -> Registry {
    let registry = Registry::new();
    let build = gauge(
        "venuemon_build_info",
        "Version, git revision and compiler of the running agent (always 1).",
        &["version", "revision", "rustc_version"],
    );
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
    fn counters_and_histograms_are_the_snapshot_totals_at_every_scrape() {
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
            ("venuemon_station_signal_dbm_count{", "2"),
            ("venuemon_ap_clients{", "2"),
            ("venuemon_clients_evicted_total ", "7"),
        ] {
            let found = line(&first, series).unwrap_or_else(|| panic!("{series} in\n{first}"));
            assert!(found.ends_with(&format!(" {value}")), "{found}");
        }
        // An AP gone from the snapshot is gone from /metrics.
        let empty = scrape(&metrics, &Arc::new(Snapshot::default()));
        assert!(!empty.contains("wlan0"), "{empty}");
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
