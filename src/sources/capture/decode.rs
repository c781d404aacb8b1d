//! The capture decoder: one pass per frame through the layer decoders, counting into plain
//! fixed-size structs. No allocation per frame; counts leave once per batch.

use std::time::Duration;

use super::frames::{FrameSink, LinkType};
use super::live;
use super::{dhcp, ethernet, ieee80211, radiotap};
use crate::model::capture::{ChannelCounts, Counts, KernelStats, MAX_TIMINGS, SIGNAL_BUCKETS};
use crate::privacy::ClientKey;

/// Indices in [`KINDS`].
const ETHERNET: usize = 0;
const ARP: usize = 1;
const IPV4: usize = 2;
const IPV6: usize = 3;
const DHCP: usize = 4;
const WIFI: usize = 5; // + FrameKind index
const MALFORMED: usize = 9;
const UNSUPPORTED: usize = 10;

/// Most distinct clients kept per batch for the registry.
const MAX_CLIENTS: usize = 65_536;
/// Most channels tracked (802.11 has well under a hundred).
const MAX_CHANNELS: usize = 128;

/// Index of a DHCP message type in `DHCP_TYPES`.
fn type_index(t: dhcp::MessageType) -> usize {
    use dhcp::MessageType::*;
    match t {
        Discover => 1,
        Offer => 2,
        Request => 3,
        Decline => 4,
        Ack => 5,
        Nak => 6,
        Release => 7,
        Inform => 8,
        Other(_) => 0,
    }
}

/// Keys seen lately (a MAC, with a channel where it matters), so a busy talker is hashed once
/// per batch rather than per frame. Direct-mapped: a collision only costs a hash.
#[derive(Clone)]
struct Recent([[u8; 8]; 64]);

impl Recent {
    fn new() -> Recent {
        Recent([[0xff; 8]; 64])
    }

    /// Whether `key` was the last key in its slot; records it either way.
    fn seen(&mut self, mac: [u8; 6], extra: u16) -> bool {
        let [e0, e1] = extra.to_le_bytes();
        let key = [mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], e0, e1];
        let slot = &mut self.0[usize::from(mac[5] ^ mac[3] ^ e0) % 64];
        let seen = *slot == key;
        *slot = key;
        seen
    }
}

/// Decodes frames of any supported link type into [`Counts`].
pub(crate) struct Decoder {
    key: ClientKey,
    own_bssids: Vec<[u8; 6]>,
    transactions: dhcp::Transactions,
    /// Unanswered DISCOVERs the tracker had counted when counts were last taken.
    unanswered_before: u64,
    counts: Counts,
    /// Capture time of the latest frame, for expiring DHCP transactions.
    now: Duration,
    /// Ethernet sources, 802.11 transmitters, probing devices and foreign BSSIDs seen lately
    /// (reset with each batch, so every batch lists its clients).
    recent_clients: Recent,
    recent_transmitters: Recent,
    recent_probers: Recent,
    recent_bssids: Recent,
}

impl Decoder {
    /// A decoder hashing addresses with `key`; `own_bssids` are the venue's access points.
    pub(crate) fn new(key: ClientKey, own_bssids: Vec<[u8; 6]>) -> Decoder {
        let counts = Counts {
            own_bss_data: vec![0; own_bssids.len()],
            ..Counts::default()
        };
        Decoder {
            key,
            own_bssids,
            transactions: dhcp::Transactions::default(),
            unanswered_before: 0,
            counts,
            now: Duration::ZERO,
            recent_clients: Recent::new(),
            recent_transmitters: Recent::new(),
            recent_probers: Recent::new(),
            recent_bssids: Recent::new(),
        }
    }

    /// Takes the counts so far, leaving the decoder counting afresh.
    pub(crate) fn take(&mut self) -> Counts {
        self.flush_dhcp(false);
        for recent in [
            &mut self.recent_clients,
            &mut self.recent_transmitters,
            &mut self.recent_probers,
            &mut self.recent_bssids,
        ] {
            *recent = Recent::new();
        }
        let fresh = Counts {
            own_bss_data: vec![0; self.own_bssids.len()],
            ..Counts::default()
        };
        std::mem::replace(&mut self.counts, fresh)
    }

    /// The counts at the end of a file: every pending DHCP transaction is settled.
    pub(crate) fn finish(mut self) -> Counts {
        self.flush_dhcp(true);
        self.counts
    }

    fn flush_dhcp(&mut self, at_end: bool) {
        let now = if at_end { Duration::MAX } else { self.now };
        self.transactions.expire(now);
        let unanswered = self.transactions.stats().unanswered_discovers;
        self.counts.dhcp_unanswered += unanswered - self.unanswered_before;
        self.unanswered_before = unanswered;
        let room = MAX_TIMINGS.saturating_sub(self.counts.dhcp_times_to_lease.len());
        self.counts
            .dhcp_times_to_lease
            .extend(self.transactions.drain_completed().take(room));
    }

    fn client(&mut self, mac: [u8; 6]) {
        if self.recent_clients.seen(mac, 0) {
            return;
        }
        let client = self.key.client(&mac);
        self.counts.devices.insert(client.id);
        if self.counts.clients.len() < MAX_CLIENTS {
            self.counts.clients.push(client);
        }
    }

    fn ethernet(&mut self, frame: &ethernet::Ethernet<'_>, timestamp: Duration) {
        self.counts.kinds[ETHERNET] += 1;
        if let Some(source) = frame.source.and_then(|s| crate::privacy::client_mac(&s)) {
            self.client(source);
        }
        match ethernet::classify(frame) {
            ethernet::Payload::Arp { .. } => self.counts.kinds[ARP] += 1,
            ethernet::Payload::Ipv4Udp {
                src_port,
                dst_port,
                payload,
                ..
            } => {
                self.counts.kinds[IPV4] += 1;
                self.udp(src_port, dst_port, payload, timestamp);
            }
            ethernet::Payload::Ipv6Udp { .. } | ethernet::Payload::Ipv6Other => {
                self.counts.kinds[IPV6] += 1
            }
            ethernet::Payload::Ipv4Other => self.counts.kinds[IPV4] += 1,
            ethernet::Payload::Other => {}
        }
    }

    fn udp(&mut self, src_port: u16, dst_port: u16, payload: &[u8], timestamp: Duration) {
        if !dhcp::is_dhcp_port(src_port, dst_port) {
            return;
        }
        match dhcp::parse(payload) {
            Ok(message) => {
                self.counts.kinds[DHCP] += 1;
                self.counts.dhcp_messages[message.message_type.map_or(0, type_index)] += 1;
                self.transactions.observe(&message, timestamp);
            }
            Err(_) => self.counts.kinds[MALFORMED] += 1,
        }
    }

    fn channel(&mut self, mhz: u16) -> Option<&mut ChannelCounts> {
        let channels = &mut self.counts.channels;
        match channels.iter().position(|c| c.mhz == mhz) {
            Some(i) => channels.get_mut(i),
            None if channels.len() < MAX_CHANNELS => {
                channels.push(ChannelCounts::new(mhz));
                channels.last_mut()
            }
            None => None,
        }
    }

    fn wifi(&mut self, frame: &[u8], mhz: u16, signal: Option<i8>) {
        let Ok(header) = ieee80211::parse(frame) else {
            self.counts.kinds[MALFORMED] += 1;
            return;
        };
        let kind = header.kind as usize;
        self.counts.kinds[WIFI + kind] += 1;
        let probe = header.kind == ieee80211::FrameKind::Management && header.subtype == 4;
        let beacon = header.kind == ieee80211::FrameKind::Management && header.subtype == 8;
        let own = header
            .bssid
            .and_then(|b| self.own_bssids.iter().position(|o| *o == b));
        if header.kind == ieee80211::FrameKind::Data
            && let Some(i) = own
        {
            self.counts.own_bss_data[i] += 1;
        }
        if let Some(t) = header
            .transmitter
            .filter(|_| header.kind != ieee80211::FrameKind::Control)
        {
            let recent = if probe {
                &mut self.recent_probers
            } else {
                &mut self.recent_transmitters
            };
            if !recent.seen(t, 0) {
                let id = self.key.client(&t).id;
                self.counts.devices.insert(id);
                if probe {
                    self.counts.probing_devices.insert(id);
                }
            }
        }
        let foreign = beacon && own.is_none();
        // A network new in this batch on this channel, hashed for the distinct-network count.
        let new_network = header
            .bssid
            .filter(|b| foreign && !self.recent_bssids.seen(*b, mhz))
            .map(|b| self.key.client(&b).id);
        let Some(channel) = self.channel(mhz) else {
            return;
        };
        channel.subtypes[(kind * 16 + usize::from(header.subtype)).min(63)] += 1;
        channel.retries += u64::from(header.flags.retry);
        channel.probe_requests += u64::from(probe);
        channel.foreign_beacons += u64::from(foreign);
        if let Some(id) = new_network {
            channel.foreign_networks.insert(id);
        }
        if let Some(dbm) = signal {
            let bucket = SIGNAL_BUCKETS.iter().position(|b| f64::from(dbm) <= *b);
            channel.signal_buckets[bucket.unwrap_or(SIGNAL_BUCKETS.len())] += 1;
            channel.signal_sum_dbm += i64::from(dbm);
        }
    }

    fn radiotap(&mut self, data: &[u8]) {
        let Ok(rt) = radiotap::parse(data) else {
            self.counts.kinds[MALFORMED] += 1;
            return;
        };
        let Some(mut frame) = data.get(rt.header_len..) else {
            self.counts.kinds[MALFORMED] += 1;
            return;
        };
        if rt.fcs_at_end() {
            frame = frame
                .get(..frame.len().saturating_sub(4))
                .unwrap_or_default();
        }
        self.wifi(frame, rt.channel_mhz.unwrap_or(0), rt.signal_dbm);
    }
}

impl FrameSink for Decoder {
    fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]) {
        self.counts.frames += 1;
        self.counts.bytes += data.len() as u64;
        self.now = self.now.max(timestamp);
        match link {
            LinkType::Ethernet => match ethernet::parse_ethernet(data) {
                Ok(frame) => self.ethernet(&frame, timestamp),
                Err(_) => self.counts.kinds[MALFORMED] += 1,
            },
            LinkType::LinuxSll | LinkType::LinuxSll2 => {
                let parsed = if link == LinkType::LinuxSll {
                    ethernet::parse_linux_cooked(data)
                } else {
                    ethernet::parse_linux_cooked_v2(data)
                };
                match parsed {
                    Ok(frame) => self.ethernet(&frame, timestamp),
                    Err(_) => self.counts.kinds[MALFORMED] += 1,
                }
            }
            LinkType::Radiotap => self.radiotap(data),
            LinkType::Ieee80211 => self.wifi(data, 0, None),
            LinkType::Unsupported(_) => self.counts.kinds[UNSUPPORTED] += 1,
        }
    }
}

impl live::Decoder for Decoder {
    type Batch = Counts;

    fn take_batch(&mut self, kernel: KernelStats, now: Duration) -> Counts {
        self.now = self.now.max(now);
        let mut counts = self.take();
        counts.kernel = kernel;
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::capture::frames::read_capture;
    use crate::sources::capture::testing::fixture_bytes;

    #[test]
    fn regression_merging_batches_keeps_dhcp_timings() {
        let mut decoder = Decoder::new(ClientKey::from_bytes([1; 16]), Vec::new());
        read_capture(&fixture_bytes("dhcp-rfc3004.pcap")[..], &mut decoder).expect("pcap");
        let batch = decoder.finish();
        assert_eq!(batch.dhcp_times_to_lease.len(), 1);
        let mut total = Counts::default();
        total.merge(&batch);
        total.merge(&batch);
        assert_eq!(total.dhcp_times_to_lease.len(), 2);
        assert_eq!(total.dhcp_messages[1], 2, "two DISCOVERs");
    }

    #[test]
    fn every_batch_lists_its_clients_again() {
        // The per-batch cache of recent talkers must not hide a client from the next batch,
        // or the registry would let an active client expire.
        let mut decoder = Decoder::new(ClientKey::from_bytes([1; 16]), Vec::new());
        let bytes = fixture_bytes("dhcp-rfc3004.pcap");
        read_capture(&bytes[..], &mut decoder).expect("pcap");
        let first = decoder.take();
        read_capture(&bytes[..], &mut decoder).expect("pcap");
        let second = decoder.take();
        assert!(!first.clients.is_empty());
        assert_eq!(first.clients.len(), second.clients.len());
        assert!(
            first
                .clients
                .iter()
                .zip(&second.clients)
                .all(|(a, b)| a.id == b.id)
        );
    }

    #[test]
    fn radiotap_frames_are_counted_per_channel_with_probes() {
        let mut decoder = Decoder::new(ClientKey::from_bytes([1; 16]), Vec::new());
        read_capture(&fixture_bytes("ieee802.11_exthdr.pcap")[..], &mut decoder).expect("pcap");
        let counts = decoder.finish();
        // tcpdump: 26 frames, 18 with a 2412 MHz channel (8 transmitted ones carry none),
        // 6 probe requests, all from one station.
        assert_eq!(counts.frames, 26);
        let channel = counts
            .channels
            .iter()
            .find(|c| c.mhz == 2412)
            .expect("2412 MHz");
        assert_eq!(channel.frames(), 18);
        assert_eq!(channel.probe_requests, 6);
        assert_eq!(counts.probing_devices.estimate().round(), 1.0);
        assert_eq!(counts.kinds[MALFORMED], 0);
    }

    #[test]
    fn malformed_reproducers_are_counted_never_panic() {
        for name in [
            "ieee802.11_meshhdr-oobr.pcap",
            "ieee802.11_parse_elements_oobr.pcap",
            "ieee802.11_rates_oobr.pcap",
            "ieee802.11_tim_ie_oobr.pcap",
            "radiotap-heapoverflow.pcap",
            "bootp_asan.pcap",
        ] {
            let mut decoder = Decoder::new(ClientKey::from_bytes([1; 16]), Vec::new());
            let _ = read_capture(&fixture_bytes(name)[..], &mut decoder);
            let counts = decoder.finish();
            let kinds: u64 = counts.kinds.iter().sum();
            assert!(
                kinds >= counts.frames,
                "{name}: every frame lands in a kind"
            );
        }
    }
}
