//! What a capture counts, as plain fixed-size structs: frames by kind, DHCP messages and
//! times-to-lease, 802.11 channels, distinct devices. The capture source counts into them
//! per frame; the hub adds them up into totals and `venuemon replay` over whole files.

use std::sync::Arc;
use std::time::Duration;

use super::unique::UniqueEstimate;
use crate::inventory::ZoneIdx;
use crate::privacy::Client;

/// Frame kinds every capture counts (the `kind` label).
pub(crate) const KINDS: [&str; 11] = [
    "ethernet",
    "arp",
    "ipv4",
    "ipv6",
    "dhcp",
    "wifi_management",
    "wifi_control",
    "wifi_data",
    "wifi_extension",
    "malformed",
    "unsupported",
];

/// DHCP message types counted (the `type` label); index 0 gathers the rest.
pub(crate) const DHCP_TYPES: [&str; 9] = [
    "other", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform",
];

/// Upper bounds of the signal buckets in dBm: the one set for the capture's signal histogram
/// and the signal bands of the stations associated with each access point.
pub(crate) const SIGNAL_BUCKETS: [f64; 9] = [
    -90.0, -80.0, -70.0, -67.0, -60.0, -50.0, -40.0, -30.0, -20.0,
];

/// 802.11 frame subtypes by (type × 16 + subtype), type 0 management, 1 control, 2 data,
/// 3 extension: the `subtype` label, `"other"` for reserved subtypes.
pub(crate) const SUBTYPES: [&str; 64] = [
    // management
    "assoc_request",
    "assoc_response",
    "reassoc_request",
    "reassoc_response",
    "probe_request",
    "probe_response",
    "timing_advertisement",
    "other",
    "beacon",
    "atim",
    "disassoc",
    "auth",
    "deauth",
    "action",
    "action_no_ack",
    "other",
    // control
    "other",
    "other",
    "trigger",
    "tack",
    "beamforming_report_poll",
    "ndp_announcement",
    "control_extension",
    "control_wrapper",
    "block_ack_req",
    "block_ack",
    "ps_poll",
    "rts",
    "cts",
    "ack",
    "cf_end",
    "cf_end_cf_ack",
    // data
    "data",
    "data_cf_ack",
    "data_cf_poll",
    "data_cf_ack_cf_poll",
    "null",
    "cf_ack",
    "cf_poll",
    "cf_ack_cf_poll",
    "qos_data",
    "qos_data_cf_ack",
    "qos_data_cf_poll",
    "qos_data_cf_ack_cf_poll",
    "qos_null",
    "other",
    "qos_cf_poll",
    "qos_cf_ack_cf_poll",
    // extension
    "dmg_beacon",
    "s1g_beacon",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
    "other",
];

/// Most completed DHCP transactions kept per batch (their durations feed a histogram).
pub(crate) const MAX_TIMINGS: usize = 4096;

/// What the kernel says about a live capture socket since the previous read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the socket received (including those it then dropped).
    pub received: u64,
    /// Frames the kernel dropped because the socket's buffer was full.
    pub dropped: u64,
}

/// Counts of one radio channel.
#[derive(Clone)]
pub struct ChannelCounts {
    /// Centre frequency in MHz (0 when the capture does not say).
    pub mhz: u16,
    /// Frames by (type × 16 + subtype), named by [`SUBTYPES`].
    pub subtypes: [u64; SUBTYPES.len()],
    /// Frames with the retry flag set.
    pub retries: u64,
    /// Probe requests (passive headcount: devices looking for networks).
    pub probe_requests: u64,
    /// Beacons of networks that are not ours.
    pub foreign_beacons: u64,
    /// Distinct networks (BSSIDs) not ours beaconing here.
    pub foreign_networks: UniqueEstimate,
    /// Frames per signal bucket (`SIGNAL_BUCKETS`, then one for above the last).
    pub signal_buckets: [u64; SIGNAL_BUCKETS.len() + 1],
    /// Sum of the signals counted, for the histogram's sum.
    pub signal_sum_dbm: i64,
}

impl ChannelCounts {
    /// A channel with nothing counted yet.
    pub fn new(mhz: u16) -> ChannelCounts {
        ChannelCounts {
            mhz,
            subtypes: [0; SUBTYPES.len()],
            retries: 0,
            probe_requests: 0,
            foreign_beacons: 0,
            foreign_networks: UniqueEstimate::default(),
            signal_buckets: [0; SIGNAL_BUCKETS.len() + 1],
            signal_sum_dbm: 0,
        }
    }

    /// Frames on this channel.
    pub fn frames(&self) -> u64 {
        self.subtypes.iter().sum()
    }
}

/// Everything a decoder counted since its counts were last taken.
#[derive(Clone, Default)]
pub struct Counts {
    /// Frames seen.
    pub frames: u64,
    /// Bytes of those frames as captured.
    pub bytes: u64,
    /// Frames by kind (`KINDS`).
    pub kinds: [u64; KINDS.len()],
    /// DHCP messages by type (`DHCP_TYPES`).
    pub dhcp_messages: [u64; DHCP_TYPES.len()],
    /// DISCOVER-to-ACK durations of the transactions completed.
    pub dhcp_times_to_lease: Vec<Duration>,
    /// DISCOVERs that got no answer in time.
    pub dhcp_unanswered: u64,
    /// Per radio channel (monitor-mode captures).
    pub channels: Vec<ChannelCounts>,
    /// Distinct devices sending probe requests.
    pub probing_devices: UniqueEstimate,
    /// Distinct source devices (Ethernet sources, 802.11 transmitters of data/management).
    pub devices: UniqueEstimate,
    /// Distinct Ethernet clients seen (for the client registry).
    pub clients: Vec<Client>,
    /// Data frames to or from each of our own BSSIDs (same order as the config).
    pub own_bss_data: Vec<u64>,
    /// What the kernel said about the live socket.
    pub kernel: KernelStats,
}

impl Counts {
    /// Adds `other` into these counts (batches into totals, files into one summary).
    pub fn merge(&mut self, other: &Counts) {
        self.frames += other.frames;
        self.bytes += other.bytes;
        add(&mut self.kinds, &other.kinds);
        add(&mut self.dhcp_messages, &other.dhcp_messages);
        let room = MAX_TIMINGS.saturating_sub(self.dhcp_times_to_lease.len());
        self.dhcp_times_to_lease
            .extend(other.dhcp_times_to_lease.iter().take(room));
        self.dhcp_unanswered += other.dhcp_unanswered;
        self.probing_devices.merge(&other.probing_devices);
        self.devices.merge(&other.devices);
        self.kernel.received += other.kernel.received;
        self.kernel.dropped += other.kernel.dropped;
        if self.own_bss_data.len() < other.own_bss_data.len() {
            self.own_bss_data.resize(other.own_bss_data.len(), 0);
        }
        add(&mut self.own_bss_data, &other.own_bss_data);
        for theirs in &other.channels {
            match self.channels.iter_mut().find(|c| c.mhz == theirs.mhz) {
                Some(mine) => {
                    add(&mut mine.subtypes, &theirs.subtypes);
                    add(&mut mine.signal_buckets, &theirs.signal_buckets);
                    mine.retries += theirs.retries;
                    mine.probe_requests += theirs.probe_requests;
                    mine.foreign_beacons += theirs.foreign_beacons;
                    mine.foreign_networks.merge(&theirs.foreign_networks);
                    mine.signal_sum_dbm += theirs.signal_sum_dbm;
                }
                None => self.channels.push(theirs.clone()),
            }
        }
        self.channels.sort_by_key(|c| c.mhz);
    }
}

fn add(into: &mut [u64], from: &[u64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// What a capture counted since the previous sample.
#[derive(Clone)]
pub struct CaptureSample {
    /// The interface.
    pub interface: String,
    /// Zone of its clients.
    pub zone: Option<ZoneIdx>,
    /// Names of the own access points, in the order of `counts.own_bss_data`.
    pub ap_names: Arc<[String]>,
    /// The counts (its clients go to the registry as sightings, not in here).
    pub counts: Counts,
}

impl std::fmt::Debug for CaptureSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSample")
            .field("interface", &self.interface)
            .field("frames", &self.counts.frames)
            .finish_non_exhaustive()
    }
}
