//! IEEE 802.11 MAC headers: frame type and subtype, frame-control flags and the addresses
//! each kind of frame carries (receiver, transmitter, BSSID), decoded bounds-checked and
//! without allocating.
//!
//! Input is the frame after the radiotap header, with the 4-byte FCS already removed when
//! the radiotap flags say it is present. The addresses are raw MACs: personal data that must
//! not leave the capture source un-hashed (see the design's privacy rules).

use crate::model::capture::SUBTYPES;

/// Length of the frame control and duration fields.
const FC_DURATION_LEN: usize = 4;
/// Length of the smallest frame (CTS, ACK): frame control, duration, receiver address.
const MIN_FRAME_LEN: usize = 10;
/// Length of a management or three-address data header (up to the sequence control).
const THREE_ADDRESS_LEN: usize = 24;
/// Length of the HT Control field that the order flag announces in QoS data and
/// management frames.
const HT_CONTROL_LEN: usize = 4;

/// The frame type: bits 2-3 of the frame control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    /// Management frames: beacons, probes, authentication, association, actions.
    Management,
    /// Control frames: RTS/CTS, acknowledgements, block acks, PS-Poll, triggers.
    Control,
    /// Data frames, with or without payload (null frames), QoS or not.
    Data,
    /// Extension frames (DMG and S1G beacons).
    Extension,
}

impl FrameKind {
    /// A bounded metric label for this kind: `management`, `control`, `data`, `extension`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            FrameKind::Management => "management",
            FrameKind::Control => "control",
            FrameKind::Data => "data",
            FrameKind::Extension => "extension",
        }
    }
}

/// The flags of the frame control field (its second byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameFlags {
    /// Frame goes to the distribution system (station to AP).
    pub to_ds: bool,
    /// Frame comes from the distribution system (AP to station).
    pub from_ds: bool,
    /// More fragments of this MSDU/MMPDU follow.
    pub more_fragments: bool,
    /// Retransmission of an earlier frame: the retry rate measures a congested channel.
    pub retry: bool,
    /// The transmitter will be in power-save mode after this exchange.
    pub power_management: bool,
    /// The AP has more buffered frames for a power-saving station.
    pub more_data: bool,
    /// The body is encrypted (WEP, TKIP, CCMP, GCMP).
    pub protected: bool,
    /// +HTC/order: an HT Control field follows in QoS data and management frames.
    pub order: bool,
}

impl FrameFlags {
    /// Decodes the flags byte of the frame control field.
    #[must_use]
    pub fn from_byte(b: u8) -> Self {
        FrameFlags {
            to_ds: b & 0x01 != 0,
            from_ds: b & 0x02 != 0,
            more_fragments: b & 0x04 != 0,
            retry: b & 0x08 != 0,
            power_management: b & 0x10 != 0,
            more_data: b & 0x20 != 0,
            protected: b & 0x40 != 0,
            order: b & 0x80 != 0,
        }
    }
}

/// A decoded 802.11 MAC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Frame type.
    pub kind: FrameKind,
    /// Frame subtype, 0-15; [`subtype_name`] gives its label.
    pub subtype: u8,
    /// Frame control flags.
    pub flags: FrameFlags,
    /// Duration/ID field (NAV in microseconds, or the association ID in PS-Poll).
    pub duration: u16,
    /// Length of the MAC header: where the frame body starts.
    pub header_len: usize,
    /// Receiver address (RA): the station that receives the frame over the air.
    pub receiver: Option<[u8; 6]>,
    /// Transmitter address (TA), for frames that carry one (not CTS or ACK).
    pub transmitter: Option<[u8; 6]>,
    /// BSSID, for frames that name their BSS (not 4-address WDS/mesh data frames).
    pub bssid: Option<[u8; 6]>,
}

/// Why an 802.11 frame could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Fewer bytes than the smallest 802.11 frame (10: frame control, duration, one address).
    #[error("802.11 frame shorter than 10 bytes")]
    TooShort,
    /// The protocol version is not 0 (often a sign of a corrupt frame or wrong link type).
    #[error("unsupported 802.11 protocol version")]
    BadVersion,
    /// The frame is shorter than the header its type and subtype carry.
    #[error("802.11 frame truncated inside its MAC header")]
    Truncated,
}

/// Reads the 6-byte address at `pos`, if the frame holds it.
fn address(frame: &[u8], pos: usize) -> Option<[u8; 6]> {
    let end = pos.checked_add(6)?;
    frame.get(pos..end)?.try_into().ok()
}

/// Header length and which of addresses 1 and 2 are RA, TA and BSSID, by kind.
struct Layout {
    header_len: usize,
    receiver: Option<usize>,
    transmitter: Option<usize>,
    bssid: Option<usize>,
}

/// Where a frame of this kind, subtype and flags keeps its addresses.
fn layout(kind: FrameKind, subtype: u8, flags: FrameFlags) -> Layout {
    const A1: usize = FC_DURATION_LEN;
    const A2: usize = A1 + 6;
    const A3: usize = A2 + 6;
    let ra_only = Layout {
        header_len: MIN_FRAME_LEN,
        receiver: Some(A1),
        transmitter: None,
        bssid: None,
    };
    let ra_ta = Layout {
        header_len: A3,
        receiver: Some(A1),
        transmitter: Some(A2),
        bssid: None,
    };
    match kind {
        FrameKind::Management => Layout {
            header_len: THREE_ADDRESS_LEN + if flags.order { HT_CONTROL_LEN } else { 0 },
            receiver: Some(A1),
            transmitter: Some(A2),
            bssid: Some(A3),
        },
        FrameKind::Control => match subtype {
            // Trigger, beamforming report poll, NDP announcement, BAR, BA, RTS.
            2 | 4 | 5 | 8 | 9 | 11 => ra_ta,
            // Control wrapper: RA, carried frame control, HT Control, then the carried frame.
            7 => Layout {
                header_len: A2 + 2 + HT_CONTROL_LEN,
                ..ra_only
            },
            // PS-Poll: BSSID (the receiving AP), TA.
            10 => Layout {
                bssid: Some(A1),
                ..ra_ta
            },
            // CF-End, CF-End+CF-Ack: RA, BSSID (the transmitting AP).
            14 | 15 => Layout {
                bssid: Some(A2),
                ..ra_ta
            },
            // CTS, ACK, control frame extension, TACK, reserved.
            _ => ra_only,
        },
        FrameKind::Data => {
            let four_address = flags.to_ds && flags.from_ds;
            let qos = subtype & 0x08 != 0;
            let header_len = THREE_ADDRESS_LEN
                // Address 4 (the source address): not returned, but it must be there.
                + if four_address { 6 } else { 0 }
                + if qos { 2 } else { 0 }
                + if qos && flags.order { HT_CONTROL_LEN } else { 0 };
            let bssid = match (flags.to_ds, flags.from_ds) {
                (false, false) => Some(A3),
                (false, true) => Some(A2),
                (true, false) => Some(A1),
                (true, true) => None,
            };
            Layout {
                header_len,
                receiver: Some(A1),
                transmitter: Some(A2),
                bssid,
            }
        }
        FrameKind::Extension => match subtype {
            // DMG beacon: BSSID; S1G beacon: SA. Either way the transmitting AP.
            0 => Layout {
                header_len: MIN_FRAME_LEN,
                receiver: None,
                transmitter: Some(A1),
                bssid: Some(A1),
            },
            1 => Layout {
                header_len: MIN_FRAME_LEN,
                receiver: None,
                transmitter: Some(A1),
                bssid: None,
            },
            _ => Layout {
                header_len: MIN_FRAME_LEN,
                receiver: None,
                transmitter: None,
                bssid: None,
            },
        },
    }
}

/// Decodes the MAC header of an 802.11 frame (after radiotap, FCS removed).
///
/// # Errors
///
/// [`Error::TooShort`] under 10 bytes, [`Error::BadVersion`] when the protocol version is
/// not 0, and [`Error::Truncated`] when the frame ends inside the header its type and
/// subtype carry (addresses, QoS control, HT Control).
pub fn parse(frame: &[u8]) -> Result<Header, Error> {
    let fixed: &[u8; MIN_FRAME_LEN] = frame.first_chunk().ok_or(Error::TooShort)?;
    let [fc0, fc1, d0, d1, ..] = *fixed;
    if fc0 & 0x03 != 0 {
        return Err(Error::BadVersion);
    }
    let kind = match (fc0 >> 2) & 0x03 {
        0 => FrameKind::Management,
        1 => FrameKind::Control,
        2 => FrameKind::Data,
        _ => FrameKind::Extension,
    };
    let subtype = fc0 >> 4;
    let flags = FrameFlags::from_byte(fc1);
    let layout = layout(kind, subtype, flags);
    if frame.len() < layout.header_len {
        return Err(Error::Truncated);
    }
    let at = |pos: Option<usize>| pos.and_then(|p| address(frame, p));
    Ok(Header {
        kind,
        subtype,
        flags,
        duration: u16::from_le_bytes([d0, d1]),
        header_len: layout.header_len,
        receiver: at(layout.receiver),
        transmitter: at(layout.transmitter),
        bssid: at(layout.bssid),
    })
}

/// A bounded metric label for a frame subtype, `"other"` for reserved subtypes.
#[must_use]
pub fn subtype_name(kind: FrameKind, subtype: u8) -> &'static str {
    SUBTYPES[kind as usize * 16 + usize::from(subtype & 0x0f)]
}

#[cfg(test)]
mod tests {
    use super::super::radiotap;
    use super::*;
    use crate::sources::capture::testing::{fixture_frames, fixture_names, tcpdump_fixture_dir};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    const AP: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
    const STA: [u8; 6] = [0x02, 0, 0, 0, 0, 0x11];
    const OTHER: [u8; 6] = [0x02, 0, 0, 0, 0, 0x22];
    const FAR: [u8; 6] = [0x02, 0, 0, 0, 0, 0x33];

    /// Builds a frame: frame control, duration 0x002c, then the given addresses and tail.
    fn frame(fc0: u8, fc1: u8, addrs: &[[u8; 6]], tail: &[u8]) -> Vec<u8> {
        let mut f = vec![fc0, fc1, 0x2c, 0x00];
        for a in addrs {
            f.extend_from_slice(a);
        }
        f.extend_from_slice(tail);
        f
    }

    #[test]
    fn control_frames_carry_their_addresses() {
        let ack = parse(&frame(0xd4, 0, &[STA], &[])).unwrap();
        assert_eq!((ack.kind, ack.subtype), (FrameKind::Control, 13));
        assert_eq!(subtype_name(ack.kind, ack.subtype), "ack");
        assert_eq!(
            (ack.receiver, ack.transmitter, ack.bssid),
            (Some(STA), None, None)
        );
        assert_eq!(ack.duration, 0x2c);

        let cts = parse(&frame(0xc4, 0, &[STA], &[])).unwrap();
        assert_eq!(subtype_name(cts.kind, cts.subtype), "cts");
        assert_eq!(cts.transmitter, None);

        let rts = parse(&frame(0xb4, 0, &[AP, STA], &[])).unwrap();
        assert_eq!(subtype_name(rts.kind, rts.subtype), "rts");
        assert_eq!((rts.receiver, rts.transmitter), (Some(AP), Some(STA)));
        assert_eq!(
            parse(&frame(0xb4, 0, &[AP], &[1, 2])),
            Err(Error::Truncated)
        );

        let ba = parse(&frame(0x94, 0, &[STA, AP], &[0; 4])).unwrap();
        assert_eq!(subtype_name(ba.kind, ba.subtype), "block_ack");
        assert_eq!(ba.transmitter, Some(AP));

        let ps_poll = parse(&frame(0xa4, 0x10, &[AP, STA], &[])).unwrap();
        assert_eq!(subtype_name(ps_poll.kind, ps_poll.subtype), "ps_poll");
        assert_eq!((ps_poll.bssid, ps_poll.transmitter), (Some(AP), Some(STA)));
        assert!(ps_poll.flags.power_management);

        let cf_end = parse(&frame(0xe4, 0, &[OTHER, AP], &[])).unwrap();
        assert_eq!((cf_end.receiver, cf_end.bssid), (Some(OTHER), Some(AP)));

        let wrapper = parse(&frame(0x74, 0, &[STA], &[0; 6])).unwrap();
        assert_eq!(
            subtype_name(wrapper.kind, wrapper.subtype),
            "control_wrapper"
        );
        assert_eq!((wrapper.header_len, wrapper.transmitter), (16, None));
        assert_eq!(
            parse(&frame(0x74, 0, &[STA], &[0; 5])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn data_addresses_follow_to_ds_and_from_ds() {
        let seq = [0, 0];
        // IBSS: DA, SA, BSSID.
        let h = parse(&frame(0x08, 0x00, &[OTHER, STA, AP], &seq)).unwrap();
        assert_eq!(
            (h.receiver, h.transmitter, h.bssid),
            (Some(OTHER), Some(STA), Some(AP))
        );
        // From the AP: DA, BSSID, SA.
        let h = parse(&frame(0x08, 0x02, &[STA, AP, FAR], &seq)).unwrap();
        assert_eq!(
            (h.receiver, h.transmitter, h.bssid),
            (Some(STA), Some(AP), Some(AP))
        );
        // To the AP: BSSID, SA, DA.
        let h = parse(&frame(0x08, 0x01, &[AP, STA, FAR], &seq)).unwrap();
        assert_eq!(
            (h.receiver, h.transmitter, h.bssid),
            (Some(AP), Some(STA), Some(AP))
        );
        assert!(h.flags.to_ds && !h.flags.from_ds);
        // WDS/mesh: RA, TA, DA, SA; no BSSID; address 4 is required.
        let h = parse(&frame(0x08, 0x03, &[AP, OTHER, FAR, STA], &seq)).unwrap();
        assert_eq!(
            (h.receiver, h.transmitter, h.bssid),
            (Some(AP), Some(OTHER), None)
        );
        assert_eq!(h.header_len, 30);
        assert_eq!(
            parse(&frame(0x08, 0x03, &[AP, OTHER, FAR], &seq)),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn qos_and_ht_control_lengthen_the_header() {
        // QoS data with +HTC, protected, retry: 24 + 2 + 4.
        let f = frame(0x88, 0xca, &[STA, AP, AP], &[0; 8]);
        let h = parse(&f).unwrap();
        assert_eq!(subtype_name(h.kind, h.subtype), "qos_data");
        assert_eq!(h.header_len, 30);
        assert!(h.flags.protected && h.flags.retry && h.flags.order && h.flags.from_ds);
        assert_eq!(parse(&f[..29]), Err(Error::Truncated));
        // Non-QoS data: the order bit adds nothing.
        assert_eq!(
            parse(&frame(0x48, 0x80, &[AP, STA, AP], &[0, 0]))
                .unwrap()
                .header_len,
            24
        );
        // Management with +HTC: 24 + 4.
        let beacon = frame(0x80, 0x80, &[[0xff; 6], AP, AP], &[0; 6]);
        assert_eq!(parse(&beacon).unwrap().header_len, 28);
        assert_eq!(parse(&beacon[..27]), Err(Error::Truncated));
    }

    #[test]
    fn rejects_short_and_bad_version() {
        assert_eq!(parse(&[]), Err(Error::TooShort));
        assert_eq!(parse(&[0xd4, 0, 0, 0, 1, 2, 3, 4, 5]), Err(Error::TooShort));
        assert_eq!(parse(&frame(0xd5, 0, &[STA], &[])), Err(Error::BadVersion));
        assert_eq!(
            parse(&frame(0x80, 0, &[AP, AP], &[])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn names_are_a_bounded_set() {
        let kinds = [
            FrameKind::Management,
            FrameKind::Control,
            FrameKind::Data,
            FrameKind::Extension,
        ];
        let mut names = BTreeSet::new();
        for kind in kinds {
            for subtype in 0..=255 {
                names.insert(subtype_name(kind, subtype));
            }
        }
        assert!(names.len() <= 48, "{names:?}");
        assert!(names.contains("other") && names.contains("beacon") && names.contains("rts"));
        assert!(names.iter().all(|n| {
            n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }));
    }

    /// Link types of 802.11 captures: without and with a radiotap header.
    const LINKTYPE_IEEE802_11: u32 = 105;
    const LINKTYPE_RADIOTAP: u32 = 127;

    /// The 802.11 frames of capture `name`: radiotap header and FCS stripped, as the pipeline
    /// does. Frames whose radiotap header does not decode are left out.
    fn wifi_frames(name: &str) -> Vec<Vec<u8>> {
        fixture_frames(name)
            .into_iter()
            .filter_map(|(link, data)| match link {
                LINKTYPE_IEEE802_11 => Some(data),
                LINKTYPE_RADIOTAP => {
                    let rt = radiotap::parse(&data).ok()?;
                    let mut frame = data.get(rt.header_len..)?.to_vec();
                    if rt.fcs_at_end() {
                        frame.truncate(frame.len().saturating_sub(4));
                    }
                    Some(frame)
                }
                _ => None,
            })
            .collect()
    }

    /// tcpdump's words for each subtype (its `print-802_11.c`), where it prints one.
    /// Data frames without payload print nothing; protected data prints `Data IV`.
    fn tcpdump_word(h: &Header) -> &'static str {
        match (h.kind, h.subtype) {
            (FrameKind::Management, 0) => "Assoc Request",
            (FrameKind::Management, 1) => "Assoc Response",
            (FrameKind::Management, 2) => "ReAssoc Request",
            (FrameKind::Management, 3) => "ReAssoc Response",
            (FrameKind::Management, 4) => "Probe Request",
            (FrameKind::Management, 5) => "Probe Response",
            (FrameKind::Management, 8) => "Beacon",
            (FrameKind::Management, 10) => "Disassociation",
            (FrameKind::Management, 11) => "Authentication",
            (FrameKind::Management, 12) => "DeAuthentication",
            (FrameKind::Control, 10) => "Power Save-Poll",
            (FrameKind::Control, 11) => "Request-To-Send",
            (FrameKind::Control, 12) => "Clear-To-Send",
            (FrameKind::Control, 13) => "Acknowledgment",
            (FrameKind::Data, _) if h.flags.protected => "Data IV",
            (FrameKind::Data, 4..=7 | 12..=15) => "",
            _ => "unmapped",
        }
    }

    /// The first of tcpdump's frame words found in one line of its output, `""` if none.
    fn word_in_tcpdump_line(line: &str) -> &'static str {
        // Longer words first: "ReAssoc Request" contains "Assoc Request".
        const WORDS: [&str; 14] = [
            "ReAssoc Request",
            "ReAssoc Response",
            "Assoc Request",
            "Assoc Response",
            "Probe Request",
            "Probe Response",
            "Beacon",
            "Disassociation",
            "DeAuthentication",
            "Authentication",
            "Power Save-Poll",
            "Request-To-Send",
            "Clear-To-Send",
            "Acknowledgment",
        ];
        if line.contains("Data IV") {
            return "Data IV";
        }
        WORDS.into_iter().find(|w| line.contains(w)).unwrap_or("")
    }

    fn kind_of_word(word: &str) -> &'static str {
        match word {
            "Power Save-Poll" | "Request-To-Send" | "Clear-To-Send" | "Acknowledgment" => "control",
            "Data IV" | "" => "data",
            _ => "management",
        }
    }

    fn count<'a>(words: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
        let mut counts = BTreeMap::new();
        for w in words {
            *counts.entry(w).or_default() += 1;
        }
        counts
    }

    #[test]
    fn exthdr_kinds_agree_with_tcpdump_out() {
        let out = std::fs::read_to_string(tcpdump_fixture_dir().join("ieee802.11_exthdr.out"))
            .expect("ieee802.11_exthdr.out");
        let theirs: Vec<&str> = out.lines().map(word_in_tcpdump_line).collect();
        let headers: Vec<Header> = wifi_frames("ieee802.11_exthdr.pcap")
            .iter()
            .map(|f| parse(f).expect("exthdr frames decode"))
            .collect();
        let ours: Vec<&str> = headers.iter().map(tcpdump_word).collect();
        assert_eq!(ours, theirs, "frame by frame");
        let expected = BTreeMap::from([
            ("", 2),
            ("Acknowledgment", 8),
            ("Assoc Request", 1),
            ("Assoc Response", 1),
            ("Authentication", 2),
            ("Probe Request", 6),
            ("Probe Response", 6),
        ]);
        assert_eq!(count(theirs.iter().copied()), expected);
        assert_eq!(count(ours.iter().copied()), expected);
        assert_eq!(
            count(headers.iter().map(|h| h.kind.label())),
            count(theirs.iter().map(|w| kind_of_word(w)))
        );
        // tcpdump prints nothing for the two frames without payload: null data frames.
        let silent: Vec<_> = headers
            .iter()
            .filter(|h| tcpdump_word(h).is_empty())
            .collect();
        assert!(
            silent
                .iter()
                .all(|h| subtype_name(h.kind, h.subtype) == "null")
        );
    }

    /// Runs Debian's tcpdump; fails with an install hint when it is missing.
    fn tcpdump_e(name: &str) -> String {
        crate::testing::tcpdump(&["-e", "-nn"], &tcpdump_fixture_dir().join(name))
    }

    /// The values following `tag` (e.g. `SA:`) in a line of tcpdump output.
    fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
        line.split_whitespace().find_map(|w| w.strip_prefix(tag))
    }

    #[test]
    fn tcpdump_debian_package_agrees_on_kinds_and_transmitters() {
        for name in [
            "ieee802.11_exthdr.pcap",
            "ieee802.11_meshid.pcap",
            "ieee802.11_rx-stbc.pcap",
            "reason_code-3.pcap",
            "status_code-0.pcap",
        ] {
            let text = tcpdump_e(name);
            let lines: Vec<&str> = text.lines().collect();
            let headers: Vec<Header> = wifi_frames(name)
                .iter()
                .map(|f| parse(f).expect("well-formed fixture frames decode"))
                .collect();
            assert_eq!(headers.len(), lines.len(), "{name}: frame count");
            let theirs = count(lines.iter().map(|l| word_in_tcpdump_line(l)));
            let ours = count(headers.iter().map(tcpdump_word));
            assert_eq!(ours, theirs, "{name}: frames per subtype");
            let their_kinds = count(lines.iter().map(|l| kind_of_word(word_in_tcpdump_line(l))));
            assert_eq!(
                count(headers.iter().map(|h| h.kind.label())),
                their_kinds,
                "{name}"
            );

            // tcpdump names the transmitter SA: (management, data from a station or AP whose
            // BSSID is its own address) or TA: (control frames that carry one).
            let their_tx: BTreeSet<&str> = lines
                .iter()
                .filter_map(|l| tagged(l, "TA:").or_else(|| tagged(l, "SA:")))
                .collect();
            let our_tx: BTreeSet<String> = headers
                .iter()
                .filter_map(|h| h.transmitter)
                .map(|a| a.map(|b| format!("{b:02x}")).join(":"))
                .collect();
            assert_eq!(
                our_tx.len(),
                their_tx.len(),
                "{name}: distinct transmitters"
            );
            assert!(
                our_tx.iter().all(|a| their_tx.contains(a.as_str())),
                "{name}"
            );
        }
    }

    #[test]
    fn every_fixture_frame_decodes_or_errors() {
        let mut decoded = 0;
        for name in fixture_names() {
            for frame in wifi_frames(&name) {
                if parse(&frame).is_ok() {
                    decoded += 1;
                }
                for cut in 0..frame.len() {
                    let _ = parse(&frame[..cut]);
                }
            }
        }
        assert!(decoded >= 38, "decoded {decoded}");
    }

    #[test]
    fn element_walk_oobr_reproducers_do_not_panic() {
        for name in [
            "ieee802.11_parse_elements_oobr.pcap",
            "ieee802.11_tim_ie_oobr.pcap",
            "ieee802.11_rates_oobr.pcap",
            "ieee802.11_meshhdr-oobr.pcap",
        ] {
            for (_, data) in fixture_frames(name) {
                // Both with and without the radiotap/FCS handling, at every offset.
                for start in 0..data.len() {
                    let tail = &data[start..];
                    let _ = parse(tail);
                }
            }
        }
    }

    /// The fuzz seed corpora come from the fixtures: `fuzz/seeds/radiotap` (whole radiotap
    /// frames) and `fuzz/seeds/ieee80211` (802.11 frames, radiotap and FCS removed).
    /// Regenerated with `VENUEMON_WRITE_SEEDS=1 cargo test --lib fuzz_seeds`; otherwise checked
    /// to be current.
    #[test]
    fn fuzz_seeds_match_the_fixtures_80211() {
        let seeds = crate::testing::project().join("fuzz/seeds");
        let radiotap_dir = seeds.join("radiotap");
        let wifi_dir = seeds.join("ieee80211");
        let write = std::env::var_os("VENUEMON_WRITE_SEEDS").is_some();
        let check = |path: std::path::PathBuf, data: &[u8]| {
            if write {
                std::fs::create_dir_all(path.parent().expect("seed folder")).expect("seed folder");
                std::fs::write(&path, data).expect("write seed");
            } else {
                let on_disk = std::fs::read(&path).unwrap_or_default();
                assert!(
                    on_disk == data,
                    "{} is missing or stale: VENUEMON_WRITE_SEEDS=1 cargo test --lib fuzz_seeds",
                    path.display()
                );
            }
        };
        for name in fixture_names() {
            let stem = name.trim_end_matches(".pcap");
            for (i, (link, data)) in fixture_frames(&name).into_iter().enumerate() {
                if link == LINKTYPE_RADIOTAP {
                    check(radiotap_dir.join(format!("{stem}-{i}")), &data);
                }
            }
            for (i, frame) in wifi_frames(&name).into_iter().enumerate() {
                check(wifi_dir.join(format!("{stem}-{i}")), &frame);
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            if let Ok(h) = parse(&data) {
                prop_assert!(h.header_len <= data.len());
            }
        }
    }
}
