//! `/metrics`: the snapshot as Prometheus text. Descriptors are built once; values are filled
//! from the latest snapshot at scrape time, so a vanished interface's series vanish with it.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use tokio::sync::watch;

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

/// A Prometheus collector reading the latest snapshot.
pub struct SnapshotCollector {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    families: Mutex<(Families, CaptureFamilies)>,
    descs: Vec<Desc>,
}

impl SnapshotCollector {
    /// A collector publishing whatever snapshot `snapshots` holds at scrape time.
    pub fn new(snapshots: watch::Receiver<Arc<Snapshot>>) -> SnapshotCollector {
        let families = Families::new();
        let capture = CaptureFamilies::default();
        let mut descs: Vec<Desc> = families
            .all()
            .iter()
            .flat_map(|c| c.desc())
            .cloned()
            .collect();
        descs.extend(capture.descs().into_iter().cloned());
        SnapshotCollector {
            snapshots,
            families: Mutex::new((families, capture)),
            descs,
        }
    }
}

impl Collector for SnapshotCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let snapshot = Arc::clone(&self.snapshots.borrow());
        // A panic while filling cannot leave state that matters: everything is reset first.
        let guard = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let (families, capture) = &*guard;
        families.reset();
        families.fill(&snapshot);
        let mut all: Vec<MetricFamily> = families.all().iter().flat_map(|c| c.collect()).collect();
        all.extend(capture.collect(&snapshot));
        all
    }
}

/// The agent's registry: snapshot metrics, process metrics and build info.
pub fn registry(snapshots: watch::Receiver<Arc<Snapshot>>) -> Registry {
    let registry = Registry::new();
    let build = gauge(
        "venuemon_build_info",
        "Version of the running agent (always 1).",
        &["version"],
    );
    build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    let collectors: [Box<dyn Collector>; 3] = [
        Box::new(build),
        Box::new(SnapshotCollector::new(snapshots)),
        Box::new(prometheus::process_collector::ProcessCollector::for_self()),
    ];
    for c in collectors {
        registry
            .register(c)
            .expect("collectors have distinct, valid metric names");
    }
    registry
}

#[cfg(test)]
mod tests {
    use prometheus::{Encoder, TextEncoder};

    use super::*;
    use crate::hub::snapshot::ApSnapshot;
    use crate::model::access_points::{ApEvents, Band};

    /// The agent's own samples (not the process metrics, which change between scrapes).
    fn scrape(registry: &Registry) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&registry.gather(), &mut out)
            .expect("encode");
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .filter(|l| l.starts_with("venuemon_"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn line<'a>(metrics: &'a str, series: &str) -> Option<&'a str> {
        metrics.lines().find(|l| l.starts_with(series))
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
        let (publish, snapshots) = watch::channel(Arc::new(snapshot));
        let registry = registry(snapshots);
        let first = scrape(&registry);
        for _ in 0..3 {
            assert_eq!(scrape(&registry), first, "a scrape changes nothing");
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
        publish.send_replace(Arc::new(Snapshot::default()));
        let empty = scrape(&registry);
        assert!(!empty.contains("wlan0"), "{empty}");
    }
}
