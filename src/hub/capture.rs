//! The hub's part of a capture: the counts of its samples added up since start ([`Totals`]),
//! and summarised in the form consumers read ([`CaptureSummary`]): the agent's snapshot,
//! `/metrics`, and `venuemon replay`'s summary.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::capture::{Counts, DHCP_TYPES, KINDS, SIGNAL_BUCKETS, SUBTYPES};
use crate::model::histogram::Histogram;

/// Upper bounds of the DHCP time-to-lease buckets, in seconds. The last is the longest
/// `time_to_lease_*` threshold allowed (1 min): a 95th percentile above every bound is
/// estimated at that bound, which still reaches any threshold.
pub(crate) const TIME_TO_LEASE_BUCKETS: [f64; 11] =
    [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

/// Counts accumulated since a capture started.
#[derive(Clone)]
pub struct Totals {
    /// Everything counted (`dhcp_times_to_lease` is folded into the histogram).
    pub counts: Counts,
    /// DISCOVER-to-ACK times.
    pub time_to_lease: Histogram,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            counts: Counts::default(),
            time_to_lease: Histogram::new(&TIME_TO_LEASE_BUCKETS),
        }
    }
}

impl Totals {
    /// Adds a batch (or a whole file's counts).
    pub fn add(&mut self, batch: &Counts) {
        self.counts.merge(batch);
        for d in &batch.dhcp_times_to_lease {
            self.time_to_lease.observe(d.as_secs_f64());
        }
    }
}

/// One radio channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelSummary {
    /// Centre frequency in MHz; `None` when the capture did not say (no radiotap channel
    /// field, or 802.11 frames without radiotap). `frequency_hertz` in the JSON.
    #[serde(
        rename = "frequency_hertz",
        serialize_with = "super::snapshot::mhz_as_hertz"
    )]
    pub frequency_mhz: Option<u16>,
    /// Frames on the channel.
    pub frames: u64,
    /// Frames by 802.11 subtype name.
    pub subtypes: BTreeMap<&'static str, u64>,
    /// Frames with the retry flag.
    pub retries: u64,
    /// Probe requests.
    pub probe_requests: u64,
    /// Beacons of networks that are not the venue's.
    pub foreign_beacons: u64,
    /// Estimated distinct networks (BSSIDs) not the venue's.
    pub foreign_networks_estimate: f64,
    /// Signal of the frames, in dBm.
    pub signal_dbm: Histogram,
}

/// One capture (a live interface, or the files of a replay).
#[derive(Debug, Clone, Serialize)]
pub struct CaptureSummary {
    /// Interface name, or `replay`.
    pub interface: String,
    /// Zone id of the interface's clients, if any.
    pub zone: Option<String>,
    /// Frames seen.
    pub frames: u64,
    /// Bytes of those frames as captured.
    pub bytes: u64,
    /// Frames by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Frames the kernel delivered to the socket (live only).
    pub kernel_received: u64,
    /// Frames the kernel dropped because venuemon fell behind (live only).
    pub kernel_dropped: u64,
    /// DHCP messages by type.
    pub dhcp_messages: BTreeMap<&'static str, u64>,
    /// DISCOVERs that got no OFFER or ACK in time.
    pub dhcp_unanswered_discovers: u64,
    /// DISCOVER-to-ACK times, in seconds.
    pub dhcp_time_to_lease_seconds: Histogram,
    /// Estimated distinct devices (Ethernet sources, 802.11 transmitters).
    pub devices_estimate: f64,
    /// Estimated distinct devices sending probe requests (passive headcount).
    pub probing_devices_estimate: f64,
    /// Per radio channel, by frequency.
    pub channels: Vec<ChannelSummary>,
    /// Data frames of each of the venue's own access points, by name.
    pub own_ap_data_frames: BTreeMap<String, u64>,
}

impl CaptureSummary {
    /// The summary of `totals`; `ap_names` name the own BSSIDs in the decoder's order.
    pub fn new(
        interface: &str,
        zone: Option<String>,
        totals: &Totals,
        ap_names: &[String],
    ) -> CaptureSummary {
        let c = &totals.counts;
        let nonzero = |names: &[&'static str], values: &[u64]| -> BTreeMap<&'static str, u64> {
            names
                .iter()
                .zip(values)
                .filter(|(_, v)| **v > 0)
                .map(|(n, v)| (*n, *v))
                .collect()
        };
        let channels = c
            .channels
            .iter()
            .map(|ch| {
                let mut subtypes: BTreeMap<&'static str, u64> = BTreeMap::new();
                for (name, n) in SUBTYPES.iter().zip(&ch.subtypes).filter(|(_, n)| **n > 0) {
                    *subtypes.entry(*name).or_default() += n;
                }
                let signal_count: u64 = ch.signal_buckets.iter().sum();
                ChannelSummary {
                    frequency_mhz: (ch.mhz != 0).then_some(ch.mhz),
                    frames: ch.frames(),
                    subtypes,
                    retries: ch.retries,
                    probe_requests: ch.probe_requests,
                    foreign_beacons: ch.foreign_beacons,
                    foreign_networks_estimate: ch.foreign_networks.estimate().round(),
                    signal_dbm: Histogram {
                        bounds: &SIGNAL_BUCKETS,
                        counts: ch.signal_buckets.to_vec(),
                        sum: ch.signal_sum_dbm as f64,
                        count: signal_count,
                        // Counted into buckets by the decoder, without their range.
                        range: None,
                    },
                }
            })
            .collect();
        CaptureSummary {
            interface: interface.to_string(),
            zone,
            frames: c.frames,
            bytes: c.bytes,
            kinds: nonzero(&KINDS, &c.kinds),
            kernel_received: c.kernel.received,
            kernel_dropped: c.kernel.dropped,
            dhcp_messages: nonzero(&DHCP_TYPES, &c.dhcp_messages),
            dhcp_unanswered_discovers: c.dhcp_unanswered,
            dhcp_time_to_lease_seconds: totals.time_to_lease.clone(),
            devices_estimate: c.devices.estimate().round(),
            probing_devices_estimate: c.probing_devices.estimate().round(),
            channels,
            own_ap_data_frames: ap_names
                .iter()
                .cloned()
                .zip(c.own_bss_data.iter().copied())
                .collect(),
        }
    }
}
