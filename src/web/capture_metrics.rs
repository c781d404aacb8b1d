//! `/metrics` for live captures: frames by kind, kernel drops, DHCP snooping, and 802.11
//! per channel, built from the snapshot's capture summaries.

use prometheus::proto::MetricFamily;

use super::family::{Family, count};
use crate::hub::Snapshot;

/// The `channel_frequency_mhz` of frames whose capture did not say their channel: they stay in the
/// per-channel families, so that these sum per interface to the interface's 802.11 frames.
const UNKNOWN_FREQUENCY: &str = "unknown";

const IFACE: &[&str] = &["interface"];
/// A channel is named by its centre frequency in MHz, as radiotap, iw and hostapd name it: a
/// label value names, it is not a sample, and a channel number alone is ambiguous (channel 1
/// is in both the 2.4 and 6 GHz bands).
const CHANNEL: &[&str] = &["interface", "channel_frequency_mhz"];

/// The capture families of `snap`, those with no series left out.
pub(super) fn families(snap: &Snapshot) -> Vec<MetricFamily> {
    let mut frames = Family::counter(
        "venuemon_capture_frames_total",
        "Captured frames by kind, per capture interface and its zone.",
        &["interface", "zone", "kind"],
    );
    let mut bytes = Family::counter(
        "venuemon_capture_bytes_total",
        "Bytes of the captured frames, per capture interface and its zone.",
        &["interface", "zone"],
    );
    let mut kernel_received = Family::counter(
        "venuemon_capture_kernel_received_total",
        "Frames the kernel delivered to the capture socket.",
        IFACE,
    );
    let mut kernel_dropped = Family::counter(
        "venuemon_capture_dropped_total",
        "Frames the kernel dropped because the capture fell behind.",
        IFACE,
    );
    let mut devices = Family::gauge(
        "venuemon_capture_devices_estimate",
        "Estimated distinct devices seen by the capture (Ethernet sources, 802.11 transmitters).",
        IFACE,
    );
    let mut dhcp_messages = Family::counter(
        "venuemon_dhcp_messages_total",
        "DHCP messages seen on the wire, by type.",
        &["interface", "type"],
    );
    let mut dhcp_unanswered = Family::counter(
        "venuemon_dhcp_unanswered_discovers_total",
        "DHCP DISCOVERs that got no OFFER or ACK within 10 s: pool or server trouble.",
        IFACE,
    );
    let mut wifi_frames = Family::counter(
        "venuemon_wifi_frames_total",
        "802.11 frames by subtype and channel.",
        &["interface", "channel_frequency_mhz", "subtype"],
    );
    let mut wifi_retries = Family::counter(
        "venuemon_wifi_retries_total",
        "802.11 frames with the retry flag: the air is busy.",
        CHANNEL,
    );
    let mut wifi_probes = Family::counter(
        "venuemon_wifi_probe_requests_total",
        "802.11 probe requests.",
        CHANNEL,
    );
    let mut wifi_probing_devices = Family::gauge(
        "venuemon_wifi_probing_devices_estimate",
        "Estimated distinct devices sending probe requests (passive headcount).",
        IFACE,
    );
    let mut wifi_foreign_beacons = Family::counter(
        "venuemon_wifi_foreign_beacons_total",
        "Beacons of networks that are not the venue's, per channel.",
        CHANNEL,
    );
    let mut wifi_foreign_networks = Family::gauge(
        "venuemon_wifi_foreign_networks_estimate",
        "Estimated distinct networks (BSSIDs) not the venue's beaconing on the channel.",
        CHANNEL,
    );
    let mut wifi_ap_data = Family::counter(
        "venuemon_wifi_ap_data_frames_total",
        "802.11 data frames of each of the venue's own access points.",
        &["interface", "ap"],
    );
    let mut time_to_lease = Family::histogram(
        "venuemon_dhcp_time_to_lease_seconds",
        "Time from a client's first DISCOVER to its ACK, seen on the wire.",
        IFACE,
    );
    let mut signal = Family::histogram(
        "venuemon_wifi_signal_dbm",
        "Signal of the captured 802.11 frames, per channel.",
        CHANNEL,
    );
    for c in &snap.captures {
        let i = c.interface.as_str();
        // Empty only outside every zone: the builder then leaves the label out.
        let zone = c.zone.as_deref().unwrap_or("");
        for (kind, n) in &c.kinds {
            frames.add(&[i, zone, kind], count(*n));
        }
        bytes.add(&[i, zone], count(c.bytes));
        kernel_received.add(&[i], count(c.kernel_received));
        kernel_dropped.add(&[i], count(c.kernel_dropped));
        devices.add(&[i], c.devices_estimate.trunc());
        for (kind, n) in &c.dhcp_messages {
            dhcp_messages.add(&[i, kind], count(*n));
        }
        dhcp_unanswered.add(&[i], count(c.dhcp_unanswered_discovers));
        if c.dhcp_time_to_lease_seconds.count > 0 || c.dhcp_messages.contains_key("discover") {
            time_to_lease.add_histogram(&[i], &c.dhcp_time_to_lease_seconds);
        }
        wifi_probing_devices.add(&[i], c.probing_devices_estimate.trunc());
        for ch in &c.channels {
            let mhz = ch
                .frequency_mhz
                .map_or_else(|| UNKNOWN_FREQUENCY.to_string(), |f| f.to_string());
            for (subtype, n) in &ch.subtypes {
                wifi_frames.add(&[i, &mhz, subtype], count(*n));
            }
            wifi_retries.add(&[i, &mhz], count(ch.retries));
            wifi_probes.add(&[i, &mhz], count(ch.probe_requests));
            wifi_foreign_beacons.add(&[i, &mhz], count(ch.foreign_beacons));
            wifi_foreign_networks.add(&[i, &mhz], ch.foreign_networks_estimate.trunc());
            if ch.signal_dbm.count > 0 {
                signal.add_histogram(&[i, &mhz], &ch.signal_dbm);
            }
        }
        for (ap, n) in &c.own_ap_data_frames {
            wifi_ap_data.add(&[i, ap], count(*n));
        }
    }
    [
        frames,
        bytes,
        kernel_received,
        kernel_dropped,
        devices,
        dhcp_messages,
        dhcp_unanswered,
        wifi_frames,
        wifi_retries,
        wifi_probes,
        wifi_probing_devices,
        wifi_foreign_beacons,
        wifi_foreign_networks,
        wifi_ap_data,
        time_to_lease,
        signal,
    ]
    .into_iter()
    .filter_map(Family::finish)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::capture::{CaptureSummary, ChannelSummary, Totals};
    use crate::model::capture::SIGNAL_BUCKETS;
    use crate::model::histogram;

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
        let families = families(&snap);
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
        assert!(!text.contains("channel_frequency_mhz=\"0\""), "{text}");
        assert!(!text.contains("=\"\""), "no empty label value:\n{text}");
        assert!(
            text.contains(
                "venuemon_wifi_frames_total{channel_frequency_mhz=\"unknown\",interface=\"replay\",subtype=\"beacon\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "venuemon_wifi_signal_dbm_count{channel_frequency_mhz=\"unknown\",interface=\"replay\"} 1"
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
