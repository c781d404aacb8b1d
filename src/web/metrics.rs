//! `/metrics`: the snapshot as Prometheus text. Descriptors are built once; values are filled
//! from the latest snapshot at scrape time, so a vanished interface's series vanish with it.

use std::sync::{Arc, Mutex, PoisonError};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use tokio::sync::watch;

use crate::hub::Snapshot;
use crate::sources::links::Counters;

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
            snapshot_time: float_gauge(
                "venuemon_snapshot_timestamp_seconds",
                "When the snapshot these metrics come from was made (Unix time).",
                &[],
            ),
        }
    }

    fn all(&self) -> Vec<&dyn Collector> {
        let mut all: Vec<&dyn Collector> =
            vec![&self.source_up, &self.source_errors, &self.source_duration];
        all.extend(
            self.interface_counters
                .iter()
                .map(|(c, _)| c as &dyn Collector),
        );
        all.extend([
            &self.interface_up as &dyn Collector,
            &self.interface_speed,
            &self.interface_mtu,
            &self.zone_info,
            &self.zone_clients,
            &self.zone_clients_randomized,
            &self.zone_clients_by_source,
            &self.zone_seats,
            &self.snapshot_time,
        ]);
        all
    }

    fn reset(&self) {
        self.source_up.reset();
        self.source_errors.reset();
        self.source_duration.reset();
        for (c, _) in &self.interface_counters {
            c.reset();
        }
        for g in [
            &self.interface_up,
            &self.interface_speed,
            &self.interface_mtu,
            &self.zone_info,
        ] {
            g.reset();
        }
        for g in [
            &self.zone_clients,
            &self.zone_clients_randomized,
            &self.zone_clients_by_source,
            &self.zone_seats,
        ] {
            g.reset();
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
                    .with_label_values(&[s.source, &s.instance, kind])
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
        self.snapshot_time
            .with_label_values(&[] as &[&str])
            .set(snap.generated_at as f64);
    }
}

/// A Prometheus collector reading the latest snapshot.
pub struct SnapshotCollector {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    families: Mutex<Families>,
    descs: Vec<Desc>,
}

impl SnapshotCollector {
    /// A collector publishing whatever snapshot `snapshots` holds at scrape time.
    pub fn new(snapshots: watch::Receiver<Arc<Snapshot>>) -> SnapshotCollector {
        let families = Families::new();
        let descs = families
            .all()
            .iter()
            .flat_map(|c| c.desc())
            .cloned()
            .collect();
        SnapshotCollector {
            snapshots,
            families: Mutex::new(families),
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
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        families.reset();
        families.fill(&snapshot);
        families.all().iter().flat_map(|c| c.collect()).collect()
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
