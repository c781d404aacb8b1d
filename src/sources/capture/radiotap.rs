//! Radiotap headers (<https://www.radiotap.org>): the per-frame radio metadata that a
//! monitor-mode interface puts in front of each 802.11 frame.
//!
//! [`parse`] walks the presence bitmaps (extended bitmaps, radiotap and vendor namespaces)
//! and the aligned fields after them, bounds-checked and without allocating. Like the
//! kernel's iterator, it stops at the first field of the radiotap namespace whose size it
//! does not know, keeping what it decoded so far; vendor namespaces are skipped whole using
//! their `skip_length`.

/// Presence bit that chains one more 32-bit presence bitmap.
const BIT_EXT: u32 = 31;
/// Presence bit that (re)enters the radiotap namespace in the next bitmap.
const BIT_RADIOTAP_NS: u32 = 29;
/// Presence bit that enters a vendor namespace in the next bitmap.
const BIT_VENDOR_NS: u32 = 30;

/// `Flags` bit: the frame ends with its 4-byte FCS.
const FLAG_FCS_AT_END: u8 = 0x10;

/// What [`parse`] found in one radiotap header. Fields the header does not carry are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Radiotap {
    /// Length of the whole radiotap header (`it_len`): the 802.11 frame starts at this offset.
    pub header_len: usize,
    /// MAC timestamp in microseconds (TSFT field).
    pub tsft_us: Option<u64>,
    /// Radiotap `Flags` field (FCS at end, bad FCS, short preamble, ...).
    pub flags: Option<u8>,
    /// Legacy data rate, in units of 500 kb/s.
    pub rate_500kbps: Option<u8>,
    /// Channel centre frequency in MHz.
    pub channel_mhz: Option<u16>,
    /// Signal power at the antenna, in dBm.
    pub signal_dbm: Option<i8>,
    /// Noise power at the antenna, in dBm.
    pub noise_dbm: Option<i8>,
}

impl Radiotap {
    /// Whether the 802.11 frame after the header ends with its 4-byte FCS, which the caller
    /// must strip before decoding the frame.
    #[must_use]
    pub fn fcs_at_end(&self) -> bool {
        self.flags.is_some_and(|f| f & FLAG_FCS_AT_END != 0)
    }
}

/// Why a radiotap header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RadiotapError {
    /// Fewer than the 8 bytes of the fixed radiotap header.
    #[error("radiotap header shorter than its 8 fixed bytes")]
    TooShort,
    /// The version byte is not 0, the only version defined.
    #[error("unsupported radiotap header version")]
    BadVersion,
    /// The header length (`it_len`) is below the 8-byte minimum.
    #[error("radiotap header length below 8 bytes")]
    BadLength,
    /// The header length runs past the captured bytes, or the presence bitmaps or a field
    /// run past the header length.
    #[error("radiotap header truncated: fields run past its length or the captured bytes")]
    Truncated,
}

/// Natural alignment and size of the radiotap-namespace field at presence bit `bit`, or
/// `None` for fields whose size is unknown or variable (TLVs, reserved bits).
fn field_layout(bit: u32) -> Option<(usize, usize)> {
    Some(match bit {
        0 => (8, 8),        // TSFT
        1 | 2 => (1, 1),    // Flags, Rate
        3 => (2, 4),        // Channel: frequency, flags
        4 => (2, 2),        // FHSS: hop set, hop pattern
        5 | 6 => (1, 1),    // dBm antenna signal, noise
        7..=9 => (2, 2),    // lock quality, TX attenuation, dB TX attenuation
        10..=13 => (1, 1),  // dBm TX power, antenna, dB antenna signal, noise
        14 | 15 => (2, 2),  // RX flags, TX flags
        16 | 17 => (1, 1),  // RTS retries, data retries
        18 => (4, 8),       // XChannel
        19 => (1, 3),       // MCS
        20 => (4, 8),       // A-MPDU status
        21 => (2, 12),      // VHT
        22 => (8, 12),      // timestamp
        23 | 24 => (2, 12), // HE, HE-MU
        25 => (2, 6),       // HE-MU-other-user
        26 => (1, 1),       // 0-length PSDU
        27 => (2, 4),       // L-SIG
        _ => return None,   // 28 TLVs (variable), reserved bits
    })
}

/// Reads a little-endian `u16` at `pos`, if present.
fn le_u16(bytes: &[u8], pos: usize) -> Option<u16> {
    let end = pos.checked_add(2)?;
    let b = bytes.get(pos..end)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

/// Reads a little-endian `u32` at `pos`, if present.
fn le_u32(bytes: &[u8], pos: usize) -> Option<u32> {
    let end = pos.checked_add(4)?;
    let b: [u8; 4] = bytes.get(pos..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Rounds `pos` up to a multiple of `align` (a power of two), relative to the header start.
fn align_up(pos: usize, align: usize) -> usize {
    pos.next_multiple_of(align)
}

/// Stores the value of the known field `bit` found in `field` (exactly its size).
fn store(out: &mut Radiotap, bit: u32, field: &[u8]) {
    // A header with several radiotap namespaces (per-chain values) keeps the first value.
    let byte = field.first().copied();
    match bit {
        0 => {
            if let Ok(b) = <[u8; 8]>::try_from(field) {
                out.tsft_us = out.tsft_us.or(Some(u64::from_le_bytes(b)));
            }
        }
        1 => out.flags = out.flags.or(byte),
        2 => out.rate_500kbps = out.rate_500kbps.or(byte),
        3 => out.channel_mhz = out.channel_mhz.or(le_u16(field, 0)),
        5 => out.signal_dbm = out.signal_dbm.or(byte.map(|b| b as i8)),
        6 => out.noise_dbm = out.noise_dbm.or(byte.map(|b| b as i8)),
        _ => {}
    }
}

/// Decodes the radiotap header at the start of `data` (a monitor-mode frame as captured).
///
/// The 802.11 frame starts at [`Radiotap::header_len`]. Decoding stops, successfully, at
/// the first radiotap-namespace field of unknown size; fields before it are returned.
///
/// # Errors
///
/// [`RadiotapError::TooShort`] under 8 bytes, [`RadiotapError::BadVersion`] for a version
/// other than 0, [`RadiotapError::BadLength`] for a header length under 8, and
/// [`RadiotapError::Truncated`] when the header length exceeds `data` or the presence
/// bitmaps, a vendor namespace or a known field run past the header length.
pub fn parse(data: &[u8]) -> Result<Radiotap, RadiotapError> {
    let fixed: &[u8; 8] = data.first_chunk().ok_or(RadiotapError::TooShort)?;
    let [version, _pad, len_lo, len_hi, ..] = *fixed;
    if version != 0 {
        return Err(RadiotapError::BadVersion);
    }
    let header_len = usize::from(u16::from_le_bytes([len_lo, len_hi]));
    if header_len < 8 {
        return Err(RadiotapError::BadLength);
    }
    let header = data.get(..header_len).ok_or(RadiotapError::Truncated)?;

    // The presence bitmaps come first, chained by bit 31; the fields follow them.
    let mut fields_start = 4;
    loop {
        let word = le_u32(header, fields_start).ok_or(RadiotapError::Truncated)?;
        fields_start += 4;
        if word & (1 << BIT_EXT) == 0 {
            break;
        }
    }

    let mut out = Radiotap {
        header_len,
        ..Radiotap::default()
    };
    let mut pos = fields_start;
    let mut bitmap_pos = 4;
    // Number of the first bit of the current bitmap word in its namespace.
    let mut bit_base: u32 = 0;
    let mut in_vendor_ns = false;
    while bitmap_pos < fields_start {
        let word = le_u32(header, bitmap_pos).ok_or(RadiotapError::Truncated)?;
        bitmap_pos += 4;
        if !in_vendor_ns {
            // Only the set bits, lowest first (fields are laid out in bit order).
            let mut bits = word & ((1 << BIT_RADIOTAP_NS) - 1);
            while bits != 0 {
                let bit = bits.trailing_zeros();
                bits &= bits - 1;
                let number = bit_base.saturating_add(bit);
                let Some((align, size)) = field_layout(number) else {
                    // Unknown size: nothing after it can be located.
                    return Ok(out);
                };
                pos = align_up(pos, align);
                let end = pos.checked_add(size).ok_or(RadiotapError::Truncated)?;
                let field = header.get(pos..end).ok_or(RadiotapError::Truncated)?;
                store(&mut out, number, field);
                pos = end;
            }
        }
        // Both bits set: the kernel's iterator handles bit 29 then bit 30; the vendor wins.
        if word & (1 << BIT_VENDOR_NS) != 0 {
            // Vendor namespace header: OUI (3), sub-namespace (1), skip_length (2), then
            // skip_length bytes of vendor data, which we skip whole.
            pos = align_up(pos, 2);
            let skip = le_u16(header, pos + 4).ok_or(RadiotapError::Truncated)?;
            let end = pos
                .checked_add(6 + usize::from(skip))
                .ok_or(RadiotapError::Truncated)?;
            if end > header.len() {
                return Err(RadiotapError::Truncated);
            }
            pos = end;
            in_vendor_ns = true;
            bit_base = 0;
        } else if word & (1 << BIT_RADIOTAP_NS) != 0 {
            in_vendor_ns = false;
            bit_base = 0;
        } else {
            bit_base = bit_base.saturating_add(32);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::capture::testing::{fixture_frames, fixture_names, tcpdump_fixture_dir};
    use proptest::prelude::*;

    /// Link type of 802.11 frames behind a radiotap header.
    const LINKTYPE_RADIOTAP: u32 = 127;

    /// A header with TSFT, Flags, Rate, Channel, signal and noise, as a Linux driver writes it.
    fn sample() -> Vec<u8> {
        let mut h = vec![0, 0, 0, 0];
        h.extend_from_slice(&0x0000_006f_u32.to_le_bytes()); // bits 0,1,2,3,5,6
        h.extend_from_slice(&[0; 8]); // TSFT at 8 (aligned)
        h[8..16].copy_from_slice(&1234_u64.to_le_bytes());
        h.push(0x10); // flags: FCS at end
        h.push(2); // rate 1 Mb/s
        h.extend_from_slice(&2437_u16.to_le_bytes());
        h.extend_from_slice(&0x00a0_u16.to_le_bytes());
        h.push((-40_i8) as u8);
        h.push((-95_i8) as u8);
        let len = h.len() as u16;
        h[2..4].copy_from_slice(&len.to_le_bytes());
        h
    }

    #[test]
    fn decodes_common_fields() {
        let r = parse(&sample()).unwrap();
        assert_eq!(r.header_len, 24);
        assert_eq!(r.tsft_us, Some(1234));
        assert_eq!(r.rate_500kbps, Some(2));
        assert_eq!(r.channel_mhz, Some(2437));
        assert_eq!(r.signal_dbm, Some(-40));
        assert_eq!(r.noise_dbm, Some(-95));
        assert!(r.fcs_at_end());
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(parse(&[0, 0, 8]), Err(RadiotapError::TooShort));
        assert_eq!(
            parse(&[1, 0, 8, 0, 0, 0, 0, 0]),
            Err(RadiotapError::BadVersion)
        );
        assert_eq!(
            parse(&[0, 0, 7, 0, 0, 0, 0, 0]),
            Err(RadiotapError::BadLength)
        );
        assert_eq!(
            parse(&[0, 0, 9, 0, 0, 0, 0, 0]),
            Err(RadiotapError::Truncated)
        );
        // Bit 31 promises another bitmap that the header length does not hold.
        assert_eq!(
            parse(&[0, 0, 8, 0, 0, 0, 0, 0x80]),
            Err(RadiotapError::Truncated)
        );
        // TSFT present but the header ends before it.
        assert_eq!(
            parse(&[0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
            Err(RadiotapError::Truncated)
        );
    }

    #[test]
    fn stops_at_unknown_field_keeping_earlier_ones() {
        // Flags (bit 1) then TLV (bit 28, variable size) then Rate would follow.
        let h = [0, 0, 10, 0, 0x02, 0, 0, 0x10, 0x40, 0xff];
        let r = parse(&h).unwrap();
        assert_eq!(r.flags, Some(0x40));
    }

    #[test]
    fn skips_vendor_namespace_and_resumes() {
        // Word 0: Flags + vendor namespace + ext. Word 1 (vendor): bit 0 + radiotap ns + ext.
        // Word 2 (radiotap again, numbering from 0): Channel.
        let mut h = vec![0, 0, 0, 0];
        h.extend_from_slice(&(1u32 << 1 | 1 << 30 | 1 << 31).to_le_bytes());
        h.extend_from_slice(&(1u32 | 1 << 29 | 1 << 31).to_le_bytes());
        h.extend_from_slice(&(1u32 << 3).to_le_bytes());
        h.push(0x10); // Flags at 16
        h.push(0); // pad to 2 for the vendor header
        h.extend_from_slice(&[0x00, 0x11, 0x22, 1, 3, 0]); // OUI, sub-ns, skip_length 3
        h.extend_from_slice(&[0xaa, 0xbb, 0xcc]); // vendor data (ends at 27)
        h.push(0); // pad to 28 for Channel
        h.extend_from_slice(&5180_u16.to_le_bytes());
        h.extend_from_slice(&0x0140_u16.to_le_bytes());
        let len = h.len() as u16;
        h[2..4].copy_from_slice(&len.to_le_bytes());
        let r = parse(&h).unwrap();
        assert_eq!(r.flags, Some(0x10));
        assert_eq!(r.channel_mhz, Some(5180));

        // A vendor skip_length past the header is an error, not a read past it.
        let mut bad = h.clone();
        bad[22] = 200;
        assert_eq!(parse(&bad), Err(RadiotapError::Truncated));
    }

    #[test]
    fn reaches_fields_after_mcs_ampdu_vht_he() {
        // Namespace 1: MCS (19) to L-SIG (27); namespace 2 (bit 29): Channel. The channel is
        // found only if every size and alignment before it is right.
        let fields = (19..=27).fold(0u32, |w, b| w | 1 << b);
        let mut h = vec![0xee; 92];
        h[..4].copy_from_slice(&[0, 0, 92, 0]);
        h[4..8].copy_from_slice(&(fields | 1 << 29 | 1 << 31).to_le_bytes());
        h[8..12].copy_from_slice(&(1u32 << 3).to_le_bytes());
        // MCS 12..15, A-MPDU 16..24, VHT 24..36, timestamp 40..52, HE 52..64, HE-MU 64..76,
        // HE-MU-other-user 76..82, 0-length PSDU 82, L-SIG 84..88, Channel 88..92.
        h[88..90].copy_from_slice(&5745_u16.to_le_bytes());
        assert_eq!(parse(&h).unwrap().channel_mhz, Some(5745));
        // One byte short: the channel is truncated.
        h[2] = 91;
        assert_eq!(parse(&h[..91]), Err(RadiotapError::Truncated));
    }

    /// tcpdump's `-v` decoding (`ieee802.11_exthdr.out`): per frame, `(MHz, signal dBm)`.
    fn tcpdump_channel_and_signal() -> Vec<(Option<u16>, Option<i8>)> {
        let out = std::fs::read_to_string(tcpdump_fixture_dir().join("ieee802.11_exthdr.out"))
            .expect("ieee802.11_exthdr.out");
        out.lines()
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let mhz = words
                    .windows(2)
                    .find(|w| w[1] == "MHz" && !w[0].contains('.'))
                    .and_then(|w| w[0].parse().ok());
                let signal = words
                    .windows(2)
                    .find(|w| w[1] == "signal" && w[0].ends_with("dBm"))
                    .and_then(|w| w[0].trim_end_matches("dBm").parse().ok());
                (mhz, signal)
            })
            .collect()
    }

    #[test]
    fn exthdr_agrees_with_tcpdump_and_radiotap_crate() {
        let frames = fixture_frames("ieee802.11_exthdr.pcap");
        let expected = tcpdump_channel_and_signal();
        assert_eq!(frames.len(), 26);
        assert_eq!(expected.len(), frames.len());
        let mut compared_with_oracle = 0;
        for (i, ((link, frame), (mhz, signal))) in frames.iter().zip(&expected).enumerate() {
            assert_eq!(*link, LINKTYPE_RADIOTAP);
            let ours = parse(frame).unwrap_or_else(|e| panic!("frame {}: {e}", i + 1));
            assert_eq!(ours.channel_mhz, *mhz, "frame {} channel", i + 1);
            assert_eq!(ours.signal_dbm, *signal, "frame {} signal", i + 1);
            assert_eq!(ours.noise_dbm, Some(-86), "frame {} noise", i + 1);
            if let Ok(oracle) = radiotap::Radiotap::from_bytes(frame) {
                compared_with_oracle += 1;
                assert_eq!(ours.header_len, oracle.header.length);
                assert_eq!(ours.channel_mhz, oracle.channel.map(|c| c.freq));
                assert_eq!(ours.signal_dbm, oracle.antenna_signal.map(|s| s.value));
                assert_eq!(ours.noise_dbm, oracle.antenna_noise.map(|s| s.value));
                assert_eq!(ours.tsft_us, oracle.tsft.map(|t| t.value));
                assert_eq!(
                    ours.rate_500kbps.map(|r| f32::from(r) / 2.0),
                    oracle.rate.map(|r| r.value)
                );
            }
        }
        assert_eq!(compared_with_oracle, frames.len());
    }

    #[test]
    fn every_radiotap_fixture_frame_parses_or_errors() {
        let mut parsed = 0;
        let mut errors = 0;
        for name in fixture_names() {
            for (link, frame) in fixture_frames(&name) {
                if link != LINKTYPE_RADIOTAP {
                    continue;
                }
                match parse(&frame) {
                    Ok(r) => {
                        assert!(r.header_len <= frame.len());
                        parsed += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
        }
        // exthdr (26), htc (1), meshid (3), rx-stbc (3), reason/status (2) at least.
        assert!(parsed >= 35, "parsed {parsed}, errors {errors}");
    }

    #[test]
    fn malformed_reproducers_do_not_panic() {
        for name in [
            "radiotap-heapoverflow.pcap",
            "ieee802.11_rates_oobr.pcap",
            "ieee802.11_meshhdr-oobr.pcap",
        ] {
            for (_, frame) in fixture_frames(name) {
                let _ = parse(&frame);
                for cut in 0..frame.len() {
                    let _ = parse(&frame[..cut]);
                }
            }
        }
        // tcpdump reports `[|802.11_radio]` for the 8-byte heap-overflow capture.
        let frames = fixture_frames("radiotap-heapoverflow.pcap");
        assert!(frames.iter().all(|(_, f)| parse(f).is_err()));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(r) = parse(&data) {
                prop_assert!(r.header_len >= 8 && r.header_len <= data.len());
            }
        }

        #[test]
        fn valid_prefix_with_arbitrary_bitmaps_never_panics(
            words in proptest::collection::vec(any::<u32>(), 1..6),
            tail in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let mut h = vec![0, 0, 0, 0];
            for w in &words {
                h.extend_from_slice(&w.to_le_bytes());
            }
            h.extend_from_slice(&tail);
            let len = u16::try_from(h.len()).unwrap_or(u16::MAX);
            h[2..4].copy_from_slice(&len.to_le_bytes());
            let _ = parse(&h);
        }
    }
}
