//! `/metrics` for live captures: frames by kind, kernel drops, DHCP snooping, and 802.11
//! per channel. The two histograms are built from the capture's bucket counts directly.

use std::collections::HashMap;

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Bucket, Histogram, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

use crate::hub::Snapshot;
use crate::model::histogram;

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels)
        .expect("metric names and labels are static and valid")
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels)
        .expect("metric names and labels are static and valid")
}

/// A histogram family filled from bucket counts at scrape time.
struct HistogramFamily {
    desc: Desc,
    labels: &'static [&'static str],
}

impl HistogramFamily {
    fn new(name: &str, help: &str, labels: &'static [&'static str]) -> HistogramFamily {
        let names = labels.iter().map(|l| (*l).to_string()).collect();
        HistogramFamily {
            desc: Desc::new(name.to_string(), help.to_string(), names, HashMap::new())
                .expect("metric names and labels are static and valid"),
            labels,
        }
    }

    /// One family with a series per `(label values, histogram)`.
    fn family(&self, series: Vec<(Vec<String>, &histogram::Histogram)>) -> Option<MetricFamily> {
        if series.is_empty() {
            return None;
        }
        let mut family = MetricFamily::default();
        family.set_name(self.desc.fq_name.clone());
        family.set_help(self.desc.help.clone());
        family.set_field_type(MetricType::HISTOGRAM);
        for (values, h) in series {
            let mut labels: Vec<LabelPair> = self
                .labels
                .iter()
                .zip(values)
                .map(|(name, value)| {
                    let mut pair = LabelPair::default();
                    pair.set_name((*name).to_string());
                    pair.set_value(value);
                    pair
                })
                .collect();
            labels.sort_by(|a, b| a.name().cmp(b.name()));
            let mut cumulative = 0;
            let buckets = h
                .bounds
                .iter()
                .zip(&h.counts)
                .map(|(bound, count)| {
                    cumulative += count;
                    let mut bucket = Bucket::default();
                    bucket.set_upper_bound(*bound);
                    bucket.set_cumulative_count(cumulative);
                    bucket
                })
                .collect();
            let mut histogram = Histogram::default();
            histogram.set_bucket(buckets);
            histogram.set_sample_count(h.count);
            histogram.set_sample_sum(h.sum);
            let mut metric = Metric::default();
            metric.set_label(labels);
            metric.set_histogram(histogram);
            family.mut_metric().push(metric);
        }
        Some(family)
    }
}

/// The capture metric families.
pub struct CaptureFamilies {
    frames: IntCounterVec,
    bytes: IntCounterVec,
    kernel_received: IntCounterVec,
    kernel_dropped: IntCounterVec,
    devices: IntGaugeVec,
    dhcp_messages: IntCounterVec,
    dhcp_unanswered: IntCounterVec,
    wifi_frames: IntCounterVec,
    wifi_retries: IntCounterVec,
    wifi_probes: IntCounterVec,
    wifi_probing_devices: IntGaugeVec,
    wifi_foreign_beacons: IntCounterVec,
    wifi_foreign_networks: IntGaugeVec,
    wifi_ap_data: IntCounterVec,
    time_to_lease: HistogramFamily,
    signal: HistogramFamily,
}

/// The `frequency_mhz` of frames whose capture did not say their channel: they stay in the
/// per-channel families, so that these sum per interface to the interface's 802.11 frames.
const UNKNOWN_FREQUENCY: &str = "unknown";

const IFACE: &[&str] = &["interface"];
const CHANNEL: &[&str] = &["interface", "frequency_mhz"];

impl Default for CaptureFamilies {
    /// The families, descriptors built once.
    fn default() -> CaptureFamilies {
        CaptureFamilies {
            frames: counter(
                "venuemon_capture_frames_total",
                "Captured frames by kind, per capture interface and its zone.",
                &["interface", "zone", "kind"],
            ),
            bytes: counter(
                "venuemon_capture_bytes_total",
                "Bytes of the captured frames, per capture interface and its zone.",
                &["interface", "zone"],
            ),
            kernel_received: counter(
                "venuemon_capture_kernel_received_total",
                "Frames the kernel delivered to the capture socket.",
                IFACE,
            ),
            kernel_dropped: counter(
                "venuemon_capture_dropped_total",
                "Frames the kernel dropped because the capture fell behind.",
                IFACE,
            ),
            devices: gauge(
                "venuemon_capture_devices_estimate",
                "Estimated distinct devices seen by the capture (Ethernet sources, 802.11 transmitters).",
                IFACE,
            ),
            dhcp_messages: counter(
                "venuemon_dhcp_messages_total",
                "DHCP messages seen on the wire, by type.",
                &["interface", "type"],
            ),
            dhcp_unanswered: counter(
                "venuemon_dhcp_unanswered_discovers_total",
                "DHCP DISCOVERs that got no OFFER or ACK within 10 s: pool or server trouble.",
                IFACE,
            ),
            wifi_frames: counter(
                "venuemon_wifi_frames_total",
                "802.11 frames by subtype and channel.",
                &["interface", "frequency_mhz", "subtype"],
            ),
            wifi_retries: counter(
                "venuemon_wifi_retries_total",
                "802.11 frames with the retry flag: the air is busy.",
                CHANNEL,
            ),
            wifi_probes: counter(
                "venuemon_wifi_probe_requests_total",
                "802.11 probe requests.",
                CHANNEL,
            ),
            wifi_probing_devices: gauge(
                "venuemon_wifi_probing_devices_estimate",
                "Estimated distinct devices sending probe requests (passive headcount).",
                IFACE,
            ),
            wifi_foreign_beacons: counter(
                "venuemon_wifi_foreign_beacons_total",
                "Beacons of networks that are not the venue's, per channel.",
                CHANNEL,
            ),
            wifi_foreign_networks: gauge(
                "venuemon_wifi_foreign_networks_estimate",
                "Estimated distinct networks (BSSIDs) not the venue's beaconing on the channel.",
                CHANNEL,
            ),
            wifi_ap_data: counter(
                "venuemon_wifi_ap_data_frames_total",
                "802.11 data frames of each of the venue's own access points.",
                &["interface", "ap"],
            ),
            time_to_lease: HistogramFamily::new(
                "venuemon_dhcp_time_to_lease_seconds",
                "Time from a client's first DISCOVER to its ACK, seen on the wire.",
                &["interface"],
            ),
            signal: HistogramFamily::new(
                "venuemon_wifi_signal_dbm",
                "Signal of the captured 802.11 frames, per channel.",
                &["interface", "frequency_mhz"],
            ),
        }
    }
}

impl CaptureFamilies {
    fn counters(&self) -> [&IntCounterVec; 10] {
        [
            &self.frames,
            &self.bytes,
            &self.kernel_received,
            &self.kernel_dropped,
            &self.dhcp_messages,
            &self.dhcp_unanswered,
            &self.wifi_frames,
            &self.wifi_retries,
            &self.wifi_probes,
            &self.wifi_foreign_beacons,
        ]
    }

    fn gauges(&self) -> [&IntGaugeVec; 3] {
        [
            &self.devices,
            &self.wifi_probing_devices,
            &self.wifi_foreign_networks,
        ]
    }

    /// The families for `snap`'s captures.
    pub fn collect(&self, snap: &Snapshot) -> Vec<MetricFamily> {
        for c in self.counters() {
            c.reset();
        }
        for g in self.gauges() {
            g.reset();
        }
        self.wifi_ap_data.reset();
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut ttl = Vec::new();
        let mut signal = Vec::new();
        for c in &snap.captures {
            let i = c.interface.as_str();
            // Empty only outside every zone: that label is then left out (below).
            let zone = c.zone.as_deref().unwrap_or("");
            for (kind, n) in &c.kinds {
                self.frames.with_label_values(&[i, zone, kind]).inc_by(*n);
            }
            self.bytes.with_label_values(&[i, zone]).inc_by(c.bytes);
            self.kernel_received
                .with_label_values(&[i])
                .inc_by(c.kernel_received);
            self.kernel_dropped
                .with_label_values(&[i])
                .inc_by(c.kernel_dropped);
            self.devices
                .with_label_values(&[i])
                .set(c.devices_estimate as i64);
            for (kind, n) in &c.dhcp_messages {
                self.dhcp_messages.with_label_values(&[i, kind]).inc_by(*n);
            }
            self.dhcp_unanswered
                .with_label_values(&[i])
                .inc_by(c.dhcp_unanswered_discovers);
            if c.dhcp_time_to_lease_seconds.count > 0 || c.dhcp_messages.contains_key("discover") {
                ttl.push((vec![i.to_string()], &c.dhcp_time_to_lease_seconds));
            }
            self.wifi_probing_devices
                .with_label_values(&[i])
                .set(c.probing_devices_estimate as i64);
            for ch in &c.channels {
                let mhz = ch
                    .frequency_mhz
                    .map_or_else(|| UNKNOWN_FREQUENCY.to_string(), |f| f.to_string());
                for (subtype, n) in &ch.subtypes {
                    self.wifi_frames
                        .with_label_values(&[i, &mhz, subtype])
                        .inc_by(*n);
                }
                self.wifi_retries
                    .with_label_values(&[i, &mhz])
                    .inc_by(ch.retries);
                self.wifi_probes
                    .with_label_values(&[i, &mhz])
                    .inc_by(ch.probe_requests);
                self.wifi_foreign_beacons
                    .with_label_values(&[i, &mhz])
                    .inc_by(ch.foreign_beacons);
                self.wifi_foreign_networks
                    .with_label_values(&[i, &mhz])
                    .set(count(ch.foreign_networks_estimate as u64));
                if ch.signal_dbm.count > 0 {
                    signal.push((vec![i.to_string(), mhz], &ch.signal_dbm));
                }
            }
            for (ap, n) in &c.own_ap_data_frames {
                self.wifi_ap_data.with_label_values(&[i, ap]).inc_by(*n);
            }
        }
        let mut families: Vec<MetricFamily> =
            self.counters().iter().flat_map(|c| c.collect()).collect();
        // A capture outside every zone (a replay, an interface no zone claims) has no `zone`
        // label rather than an empty one (which Prometheus stores as no label anyway).
        for metric in families.iter_mut().flat_map(|f| f.mut_metric().iter_mut()) {
            let mut labels = metric.take_label();
            labels.retain(|l| l.name() != "zone" || !l.value().is_empty());
            metric.set_label(labels);
        }
        families.extend(self.gauges().iter().flat_map(|g| g.collect()));
        families.extend(self.wifi_ap_data.collect());
        families.extend(self.time_to_lease.family(ttl));
        families.extend(self.signal.family(signal));
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::capture::{CaptureSummary, ChannelSummary, Totals};
    use crate::model::capture::SIGNAL_BUCKETS;

    fn channel(frequency_mhz: Option<u16>, frames: u64) -> ChannelSummary {
        let mut signal_dbm = histogram::Histogram::new(&SIGNAL_BUCKETS);
        signal_dbm.observe(-60.0);
        ChannelSummary {
            frequency_mhz,
            frames,
            subtypes: [("beacon", frames)].into_iter().collect(),
            retries: 1,
            probe_requests: 0,
            foreign_beacons: 0,
            foreign_networks_estimate: 0.0,
            signal_dbm,
        }
    }

    fn exposition(summary: CaptureSummary) -> String {
        let snap = Snapshot {
            captures: vec![summary],
            ..Snapshot::default()
        };
        let mut families = CaptureFamilies::default().collect(&snap);
        // As `/metrics` does: a family with no series is not written.
        families.retain(|f| !f.get_metric().is_empty());
        prometheus::TextEncoder::new()
            .encode_to_string(&families)
            .expect("text encoding")
    }

    /// Sum of a family's series whose line starts with `prefix`.
    fn sum(text: &str, prefix: &str) -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    #[test]
    fn regression_an_unknown_channel_is_unknown_not_0_mhz_and_no_zone_is_no_label() {
        let mut summary = CaptureSummary::new("replay", None, &Totals::default(), &[]);
        summary.kinds.insert("wifi_management", 5);
        summary.channels = vec![channel(None, 2), channel(Some(2412), 3)];
        let text = exposition(summary);
        assert!(!text.contains("frequency_mhz=\"0\""), "{text}");
        assert!(!text.contains("=\"\""), "no empty label value:\n{text}");
        assert!(
            text.contains(
                "venuemon_wifi_frames_total{frequency_mhz=\"unknown\",interface=\"replay\",subtype=\"beacon\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "venuemon_wifi_signal_dbm_count{frequency_mhz=\"unknown\",interface=\"replay\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "venuemon_capture_frames_total{interface=\"replay\",kind=\"wifi_management\"} 5"
            ),
            "{text}"
        );
        // Per-channel series add up to the interface's 802.11 frames.
        assert_eq!(
            sum(&text, "venuemon_wifi_frames_total{"),
            sum(&text, "venuemon_capture_frames_total{")
        );
    }

    #[test]
    fn a_capture_in_a_zone_keeps_its_zone_label() {
        let summary = CaptureSummary::new("cap0", Some("hall".into()), &Totals::default(), &[]);
        let text = exposition(summary);
        assert!(
            text.contains("venuemon_capture_bytes_total{interface=\"cap0\",zone=\"hall\"} 0"),
            "{text}"
        );
    }
}
