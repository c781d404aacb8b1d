//! Where frames come from: a capture file (pcap or pcapng, read in place without copying
//! frames) or a live interface. Both hand each frame to a [`FrameSink`] with its link type and
//! timestamp, so live traffic and yesterday's capture go through the same decoder.

use std::io::Read;
use std::time::Duration;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::PcapNgReader;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::{
    ENHANCED_PACKET_BLOCK, INTERFACE_DESCRIPTION_BLOCK, PACKET_BLOCK, SECTION_HEADER_BLOCK,
    SIMPLE_PACKET_BLOCK,
};
use pcap_file::{DataLink, Endianness};

/// The link-layer framing of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (LINKTYPE_ETHERNET, 1).
    Ethernet,
    /// Raw 802.11 frames (LINKTYPE_IEEE802_11, 105).
    Ieee80211,
    /// 802.11 frames behind a radiotap header (LINKTYPE_IEEE802_11_RADIOTAP, 127).
    Radiotap,
    /// Linux "cooked" capture v1 (LINKTYPE_LINUX_SLL, 113).
    LinuxSll,
    /// Linux "cooked" capture v2 (LINKTYPE_LINUX_SLL2, 276).
    LinuxSll2,
    /// Anything else: counted, not decoded.
    Unsupported(u32),
}

/// Bits of a pcap link-type field that hold the link type (the rest can carry the FCS length,
/// as in several of tcpdump's test captures: 0x3000007F is radiotap with a 4-byte FCS).
const LINKTYPE_MASK: u32 = 0x03FF_FFFF;

impl LinkType {
    /// The link type of a raw pcap/pcapng link-type field.
    pub fn from_raw(raw: u32) -> LinkType {
        match raw & LINKTYPE_MASK {
            1 => LinkType::Ethernet,
            105 => LinkType::Ieee80211,
            127 => LinkType::Radiotap,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            other => LinkType::Unsupported(other),
        }
    }

    /// The link type of a live interface, from its ARPHRD type (`/sys/class/net/X/type`).
    pub fn from_arphrd(arphrd: u16) -> LinkType {
        match arphrd {
            1 => LinkType::Ethernet,
            801 => LinkType::Ieee80211,
            803 => LinkType::Radiotap,
            other => LinkType::Unsupported(u32::from(other)),
        }
    }

    fn from_datalink(link: DataLink) -> LinkType {
        LinkType::from_raw(u32::from(link))
    }
}

/// Receives frames, one call per frame; implementations count, they do not keep frames.
pub trait FrameSink {
    /// One frame: its link type, capture timestamp (since the Unix epoch for files, since
    /// capture start for live interfaces) and bytes as captured.
    fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]);
}

/// What reading a capture file found, besides the frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// Frames handed to the sink.
    pub frames: u64,
    /// Bytes of those frames as captured.
    pub bytes: u64,
    /// Reading stopped before the end: the file ends in the middle of a record (a capture
    /// still being written, or cut) or a record's framing is damaged (an absurd length). The
    /// frames before that point still count.
    pub truncated: bool,
    /// Packet records skipped because they cannot be read: a pcapng packet naming an
    /// interface no Interface Description Block of its section describes, a packet longer
    /// than its block, or an interface whose timestamp resolution is unsupported.
    pub malformed: u64,
}

/// A capture file that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng capture (unknown magic number)")]
    UnknownFormat,
    /// The file header is damaged.
    #[error("damaged capture header: {0}")]
    BadHeader(String),
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads a pcap or pcapng capture from `reader` (a file, or bytes in memory), handing every
/// frame to `sink` with the time it was captured, in the resolution the file declares (classic
/// pcap: micro- or nanoseconds by its magic number; pcapng: each interface's `if_tsresol`,
/// microseconds when absent, plus its `if_tsoffset`). Frames are decoded in place from an
/// 8 MB buffer that is reused, so a large file costs no more memory than a small one. A
/// damaged record ends the file with `truncated` set, a packet record that cannot be read is
/// counted in `malformed`: the other frames still count.
///
/// # Errors
/// The bytes are not a capture, or its header is damaged.
pub fn read_capture(
    mut reader: impl Read,
    sink: &mut impl FrameSink,
) -> Result<FileSummary, FileError> {
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .map_err(|_| FileError::UnknownFormat)?;
    // Put the magic back in front for the format's own reader.
    let reader = std::io::Cursor::new(magic).chain(reader);
    if PCAP_MAGICS.contains(&magic) {
        read_pcap(reader, sink)
    } else if magic == PCAPNG_MAGIC {
        read_pcapng(reader, sink)
    } else {
        Err(FileError::UnknownFormat)
    }
}

/// Records are read raw: pcap-file's checked packets refuse a record whose original length
/// exceeds the snap length, which is every long frame of a `tcpdump -s N` capture.
fn read_pcap(reader: impl Read, sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let mut pcap = PcapReader::new(reader).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let link = LinkType::from_datalink(pcap.header().datalink);
    let nanos = pcap.header().ts_resolution == pcap_file::TsResolution::NanoSecond;
    let mut summary = FileSummary::default();
    while let Some(packet) = pcap.next_raw_packet() {
        let Ok(packet) = packet else {
            summary.truncated = true;
            break;
        };
        let fraction = u64::from(packet.ts_frac) * if nanos { 1 } else { 1_000 };
        let timestamp = Duration::from_secs(packet.ts_sec.into()) + Duration::from_nanos(fraction);
        sink.frame(link, timestamp, &packet.data);
        summary.frames += 1;
        summary.bytes += packet.data.len() as u64;
    }
    Ok(summary)
}

/// How a pcapng interface counts time: ticks per second, from its `if_tsresol` option (high
/// bit clear: 10^-n s; set: 2^-n s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resolution {
    ticks_per_second: u64,
}

impl Resolution {
    /// pcapng's default when an interface declares none.
    const MICROSECONDS: Resolution = Resolution {
        ticks_per_second: 1_000_000,
    };

    /// The resolution an `if_tsresol` value declares, or `None` when a second does not fit
    /// the 64-bit tick count (10^-20 s or finer, 2^-64 s or finer), which libpcap refuses too.
    fn from_tsresol(tsresol: u8) -> Option<Resolution> {
        let exponent = u32::from(tsresol & 0x7f);
        let ticks_per_second = if tsresol & 0x80 == 0 {
            10u64.checked_pow(exponent)?
        } else {
            1u64.checked_shl(exponent)?
        };
        Some(Resolution { ticks_per_second })
    }

    /// The time `ticks` stand for, `offset_seconds` (`if_tsoffset`) added, truncated to
    /// whole nanoseconds.
    fn timestamp(self, ticks: u64, offset_seconds: i64) -> Duration {
        let per_second = self.ticks_per_second;
        let seconds = (ticks / per_second).saturating_add_signed(offset_seconds);
        let nanos = u128::from(ticks % per_second) * 1_000_000_000 / u128::from(per_second);
        // Below 10^9: the remainder is less than one second.
        Duration::new(seconds, u32::try_from(nanos).unwrap_or(0))
    }
}

/// What an Interface Description Block says about the packets that name it.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// `None`: an `if_tsresol` too fine to read; the interface's packets are malformed.
    resolution: Option<Resolution>,
    /// `if_tsoffset`: seconds added to every timestamp.
    offset_seconds: i64,
    /// Bytes kept of each packet (0: no limit); bounds a Simple Packet Block's data.
    snaplen: u32,
}

impl Interface {
    fn new(idb: &InterfaceDescriptionBlock) -> Interface {
        let mut resolution = Some(Resolution::MICROSECONDS);
        let mut offset_seconds = 0;
        for option in &idb.options {
            match option {
                InterfaceDescriptionOption::IfTsResol(v) => {
                    resolution = Resolution::from_tsresol(*v);
                }
                // A signed count of seconds, which pcap-file hands over unsigned.
                InterfaceDescriptionOption::IfTsOffset(v) => {
                    offset_seconds = i64::from_ne_bytes(v.to_ne_bytes());
                }
                _ => {}
            }
        }
        Interface {
            link: LinkType::from_datalink(idb.linktype),
            resolution,
            offset_seconds,
            snaplen: idb.snaplen,
        }
    }
}

/// One packet record of a pcapng block, its fields read in the section's byte order.
#[derive(Debug, PartialEq, Eq)]
struct PacketRecord<'a> {
    interface: u32,
    /// Timestamp ticks; `None` for a Simple Packet Block, which has none.
    ticks: Option<u64>,
    /// The captured bytes, without padding.
    data: &'a [u8],
}

/// Reads the packet record of an Enhanced, obsolete Packet or Simple Packet Block body.
/// `None`: the body is too short for its own lengths (or not a packet block).
fn packet_record(kind: u32, body: &[u8], big_endian: bool) -> Option<PacketRecord<'_>> {
    let u32_at = |at: usize| {
        let bytes: [u8; 4] = body.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    };
    let timed = |interface: u32| {
        let ticks = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
        let captured = usize::try_from(u32_at(12)?).ok()?;
        let data = body.get(20..20usize.checked_add(captured)?)?;
        Some(PacketRecord {
            interface,
            ticks: Some(ticks),
            data,
        })
    };
    match kind {
        ENHANCED_PACKET_BLOCK => timed(u32_at(0)?),
        // The obsolete Packet Block: a 16-bit interface id, then a 16-bit drop count.
        PACKET_BLOCK => {
            let id = u32_at(0)?;
            timed(if big_endian { id >> 16 } else { id & 0xffff })
        }
        // No captured length: the original length, bounded by the body (whose tail is padding).
        SIMPLE_PACKET_BLOCK => {
            let original = usize::try_from(u32_at(0)?).ok()?;
            let data = body.get(4..)?;
            Some(PacketRecord {
                interface: 0,
                ticks: None,
                data: data.get(..original).unwrap_or(data),
            })
        }
        _ => None,
    }
}

/// Blocks are read raw and packet records by [`packet_record`]: pcap-file 2.0 reads every
/// Enhanced Packet Block's timestamp as nanoseconds whatever the interface declares, keeps a
/// Simple Packet Block's padding, and ends the file on an unreadable packet option.
fn read_pcapng(reader: impl Read, sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let mut pcapng = PcapNgReader::new(reader).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let mut summary = FileSummary::default();
    let mut big_endian = pcapng.section().endianness == Endianness::Big;
    // The interfaces described so far in the current section, by interface id.
    let mut interfaces: Vec<Interface> = Vec::new();
    loop {
        let block = match pcapng.next_raw_block() {
            None => break,
            Some(Ok(block)) => block,
            Some(Err(_)) => {
                summary.truncated = true;
                break;
            }
        };
        let record = match block.type_ {
            ENHANCED_PACKET_BLOCK | PACKET_BLOCK | SIMPLE_PACKET_BLOCK => {
                packet_record(block.type_, &block.body, big_endian)
            }
            // pcap-file has read these blocks into its own state: a new section's byte order
            // and no interfaces, or one interface more.
            SECTION_HEADER_BLOCK => {
                big_endian = pcapng.section().endianness == Endianness::Big;
                interfaces.clear();
                continue;
            }
            INTERFACE_DESCRIPTION_BLOCK => {
                interfaces.extend(pcapng.interfaces().last().map(Interface::new));
                continue;
            }
            _ => continue,
        };
        let frame = record.and_then(|record| {
            let interface = interfaces.get(usize::try_from(record.interface).ok()?)?;
            let timestamp = match record.ticks {
                Some(ticks) => interface
                    .resolution?
                    .timestamp(ticks, interface.offset_seconds),
                None => Duration::ZERO,
            };
            let data = match (record.ticks, usize::try_from(interface.snaplen)) {
                (None, Ok(snaplen)) if snaplen > 0 => {
                    record.data.get(..snaplen).unwrap_or(record.data)
                }
                _ => record.data,
            };
            Some((interface.link, timestamp, data))
        });
        let Some((link, timestamp, data)) = frame else {
            summary.malformed += 1;
            continue;
        };
        sink.frame(link, timestamp, data);
        summary.frames += 1;
        summary.bytes += data.len() as u64;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::capture::testing::{fixture_bytes, tcpdump_fixture_dir};
    use crate::testing;

    #[derive(Default)]
    struct Collect(Vec<(LinkType, Duration, usize)>);

    impl FrameSink for Collect {
        fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]) {
            self.0.push((link, timestamp, data.len()));
        }
    }

    /// Builds pcapng files block by block, in either byte order, as the format describes
    /// them (pcapng draft, sections 4.1 to 4.4 and appendix A for the Packet Block).
    struct Pcapng {
        bytes: Vec<u8>,
        big_endian: bool,
    }

    /// `if_tsresol`, option 9.
    const TSRESOL: u16 = 9;
    /// `if_tsoffset`, option 14.
    const TSOFFSET: u16 = 14;

    impl Pcapng {
        fn new(big_endian: bool) -> Pcapng {
            let mut file = Pcapng {
                bytes: Vec::new(),
                big_endian,
            };
            file.section(big_endian);
            file
        }

        fn u16(&self, v: u16) -> [u8; 2] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        fn u32(&self, v: u32) -> [u8; 4] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        fn u64(&self, v: u64) -> [u8; 8] {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        }

        /// A block: its type, total length, body padded to 32 bits, total length again.
        fn block(&mut self, kind: u32, mut body: Vec<u8>) -> &mut Pcapng {
            body.resize(body.len().next_multiple_of(4), 0);
            let length = u32::try_from(body.len() + 12).expect("small block");
            let (kind, length) = (self.u32(kind), self.u32(length));
            self.bytes.extend(kind);
            self.bytes.extend(length);
            self.bytes.extend(body);
            self.bytes.extend(length);
            self
        }

        /// A Section Header Block, starting a section in the given byte order.
        fn section(&mut self, big_endian: bool) -> &mut Pcapng {
            self.big_endian = big_endian;
            let mut body = self.u32(0x1A2B_3C4D).to_vec();
            body.extend(self.u16(1));
            body.extend(self.u16(0));
            body.extend(self.u64(u64::MAX)); // section length: unspecified
            self.block(0x0A0D_0D0A, body)
        }

        /// An Interface Description Block with options (code, value).
        fn interface(&mut self, link: u16, snaplen: u32, options: &[(u16, &[u8])]) -> &mut Pcapng {
            let mut body = self.u16(link).to_vec();
            body.extend([0, 0]);
            body.extend(self.u32(snaplen));
            for (code, value) in options {
                body.extend(self.u16(*code));
                body.extend(self.u16(u16::try_from(value.len()).expect("short option")));
                body.extend(*value);
                body.resize(body.len().next_multiple_of(4), 0);
            }
            if !options.is_empty() {
                body.extend([0; 4]); // opt_endofopt
            }
            self.block(1, body)
        }

        fn enhanced(&mut self, interface: u32, ticks: u64, data: &[u8]) -> &mut Pcapng {
            let length = u32::try_from(data.len()).expect("small packet");
            self.enhanced_claiming(interface, ticks, data, length)
        }

        /// An Enhanced Packet Block whose captured length says `captured`.
        fn enhanced_claiming(
            &mut self,
            interface: u32,
            ticks: u64,
            data: &[u8],
            captured: u32,
        ) -> &mut Pcapng {
            let mut body = self.u32(interface).to_vec();
            body.extend(self.u32((ticks >> 32) as u32));
            body.extend(self.u32(ticks as u32));
            body.extend(self.u32(captured));
            body.extend(self.u32(captured));
            body.extend(data);
            self.block(6, body)
        }

        fn packet(&mut self, interface: u16, ticks: u64, data: &[u8]) -> &mut Pcapng {
            let mut body = self.u16(interface).to_vec();
            body.extend(self.u16(0));
            body.extend(self.u32((ticks >> 32) as u32));
            body.extend(self.u32(ticks as u32));
            let length = u32::try_from(data.len()).expect("small packet");
            body.extend(self.u32(length));
            body.extend(self.u32(length));
            body.extend(data);
            self.block(2, body)
        }

        fn simple(&mut self, original_len: u32, data: &[u8]) -> &mut Pcapng {
            let mut body = self.u32(original_len).to_vec();
            body.extend(data);
            self.block(3, body)
        }

        fn read(&self) -> (FileSummary, Vec<(LinkType, Duration, usize)>) {
            let mut sink = Collect::default();
            let summary = read_capture(&self.bytes[..], &mut sink).expect("pcapng header");
            (summary, sink.0)
        }
    }

    /// A classic pcap file: `magic` as the writer wrote it (in its own byte order), Ethernet,
    /// snap length 64, records of (seconds, fraction, captured bytes, original length).
    fn classic(magic: u32, big_endian: bool, records: &[(u32, u32, usize, u32)]) -> Vec<u8> {
        let u32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut bytes = u32(magic).to_vec();
        bytes.extend(if big_endian {
            [0, 2, 0, 4]
        } else {
            [2, 0, 4, 0]
        });
        bytes.extend([0; 8]);
        bytes.extend(u32(64));
        bytes.extend(u32(1));
        for &(seconds, fraction, captured, original) in records {
            bytes.extend(u32(seconds));
            bytes.extend(u32(fraction));
            bytes.extend(u32(u32::try_from(captured).expect("small")));
            bytes.extend(u32(original));
            bytes.extend(vec![0xab; captured]);
        }
        bytes
    }

    const FRAME: &[u8] = &[0xff; 60];
    /// 2026-11-28T18:13:20Z, the case files' DISCOVER.
    const T: u64 = 1_795_900_000;

    #[test]
    fn fcs_bits_are_masked_from_the_link_type() {
        assert_eq!(LinkType::from_raw(0x3000_007F), LinkType::Radiotap);
        assert_eq!(LinkType::from_raw(1), LinkType::Ethernet);
        assert_eq!(LinkType::from_raw(276), LinkType::LinuxSll2);
        assert_eq!(LinkType::from_raw(228), LinkType::Unsupported(228));
        assert_eq!(LinkType::from_arphrd(803), LinkType::Radiotap);
    }

    #[test]
    fn reads_pcap_with_link_type_and_timestamps() {
        let mut sink = Collect::default();
        let summary =
            read_capture(&fixture_bytes("ieee802.11_exthdr.pcap")[..], &mut sink).expect("pcap");
        assert!(summary.frames > 0 && !summary.truncated);
        assert_eq!(summary.frames as usize, sink.0.len());
        assert!(
            sink.0
                .iter()
                .all(|(link, ts, _)| *link == LinkType::Radiotap && ts.as_secs() > 1_000_000_000)
        );
    }

    #[test]
    fn reads_pcapng() {
        let mut sink = Collect::default();
        let summary =
            read_capture(&fixture_bytes("dhcp-option-108.pcapng")[..], &mut sink).expect("pcapng");
        assert!(summary.frames > 0, "{summary:?}");
        assert!(
            sink.0
                .iter()
                .all(|(link, _, _)| *link == LinkType::Ethernet)
        );
    }

    #[test]
    fn cut_files_keep_their_frames_and_garbage_is_refused() {
        let whole = fixture_bytes("ieee802.11_exthdr.pcap");
        let mut full = Collect::default();
        read_capture(&whole[..], &mut full).expect("whole file");
        for cut in [whole.len() - 1, whole.len() / 2, 30] {
            let mut sink = Collect::default();
            let summary = read_capture(&whole[..cut], &mut sink).expect("header intact");
            assert!(summary.truncated, "cut at {cut}");
            assert!(sink.0.len() < full.0.len());
        }
        assert_eq!(
            read_capture(&b"hello world"[..], &mut Collect::default()),
            Err(FileError::UnknownFormat)
        );
        assert_eq!(
            read_capture(&b""[..], &mut Collect::default()),
            Err(FileError::UnknownFormat)
        );
        assert!(read_capture(&whole[..10], &mut Collect::default()).is_err());
    }

    #[test]
    fn pcapng_timestamps_follow_each_interface_resolution() {
        // (if_tsresol option, ticks for T + 2.5 s)
        let cases: [(Option<u8>, u64); 7] = [
            (None, (T * 1_000_000) + 2_500_000),
            (Some(6), (T * 1_000_000) + 2_500_000),
            (Some(9), (T * 1_000_000_000) + 2_500_000_000),
            (Some(3), (T * 1_000) + 2_500),
            (Some(0x80 | 10), (T << 10) + (5 << 9)),
            (Some(0x80 | 20), (T << 20) + (5 << 19)),
            (Some(0), T + 2), // whole seconds: the half is not representable
        ];
        for big_endian in [false, true] {
            for (tsresol, ticks) in cases {
                let option;
                let options: &[(u16, &[u8])] = match tsresol {
                    Some(v) => {
                        option = [v];
                        &[(TSRESOL, &option)]
                    }
                    None => &[],
                };
                let (summary, frames) = Pcapng::new(big_endian)
                    .interface(1, 0, options)
                    .enhanced(0, ticks, FRAME)
                    .read();
                assert_eq!((summary.frames, summary.malformed), (1, 0));
                let expected = if tsresol == Some(0) {
                    Duration::from_secs(T + 2)
                } else {
                    Duration::from_millis(T * 1000 + 2500)
                };
                assert_eq!(
                    frames,
                    [(LinkType::Ethernet, expected, FRAME.len())],
                    "if_tsresol {tsresol:?}, big endian {big_endian}"
                );
            }
        }
    }

    #[test]
    fn binary_resolutions_keep_their_fraction_to_the_nanosecond() {
        // 2^-10 s ticks: 1 tick is 976 562.5 ns, truncated like libpcap does.
        let (_, frames) = Pcapng::new(false)
            .interface(1, 0, &[(TSRESOL, &[0x80 | 10])])
            .enhanced(0, (T << 10) + 1, FRAME)
            .enhanced(0, (T << 10) + 1023, FRAME)
            .read();
        assert_eq!(frames[0].1, Duration::new(T, 976_562));
        assert_eq!(frames[1].1, Duration::new(T, 999_023_437));
    }

    #[test]
    fn two_interfaces_keep_their_own_link_type_and_resolution() {
        let (summary, frames) = Pcapng::new(false)
            .interface(1, 0, &[])
            .interface(127, 0, &[(TSRESOL, &[9])])
            .enhanced(1, T * 1_000_000_000 + 1, FRAME)
            .enhanced(0, T * 1_000_000 + 1, FRAME)
            .packet(1, T * 1_000_000_000 + 2, FRAME)
            .read();
        assert_eq!((summary.frames, summary.malformed), (3, 0));
        assert_eq!(
            frames,
            [
                (LinkType::Radiotap, Duration::new(T, 1), FRAME.len()),
                (LinkType::Ethernet, Duration::new(T, 1_000), FRAME.len()),
                (LinkType::Radiotap, Duration::new(T, 2), FRAME.len()),
            ]
        );
    }

    #[test]
    fn a_new_section_resets_the_interfaces_and_may_change_byte_order() {
        let mut file = Pcapng::new(false);
        file.interface(1, 0, &[(TSRESOL, &[9])])
            .interface(127, 0, &[])
            .enhanced(1, T * 1_000_000, FRAME)
            .section(true)
            .interface(105, 0, &[(TSRESOL, &[3])])
            .enhanced(0, T * 1_000 + 1, FRAME)
            .packet(0, T * 1_000 + 2, FRAME)
            // Interface 1 belonged to the first section only.
            .enhanced(1, T * 1_000, FRAME);
        let (summary, frames) = file.read();
        assert_eq!((summary.frames, summary.malformed), (3, 1));
        assert!(!summary.truncated);
        assert_eq!(
            frames,
            [
                (LinkType::Radiotap, Duration::new(T, 0), FRAME.len()),
                (
                    LinkType::Ieee80211,
                    Duration::new(T, 1_000_000),
                    FRAME.len()
                ),
                (
                    LinkType::Ieee80211,
                    Duration::new(T, 2_000_000),
                    FRAME.len()
                ),
            ]
        );
    }

    #[test]
    fn if_tsoffset_is_added_in_seconds() {
        let offset = T.to_le_bytes();
        let (_, frames) = Pcapng::new(false)
            .interface(1, 0, &[(TSOFFSET, &offset), (TSRESOL, &[3])])
            .enhanced(0, 2_500, FRAME)
            .read();
        assert_eq!(frames[0].1, Duration::from_millis(T * 1000 + 2500));
        let mut big = Pcapng::new(true);
        let offset = big.u64(T);
        let (_, frames) = big
            .interface(1, 0, &[(TSOFFSET, &offset)])
            .enhanced(0, 2_500_000, FRAME)
            .read();
        assert_eq!(frames[0].1, Duration::from_millis(T * 1000 + 2500));
    }

    #[test]
    fn simple_packets_use_the_first_interface_without_padding_or_past_its_snaplen() {
        let (summary, frames) = Pcapng::new(true)
            .interface(127, 0, &[])
            .interface(1, 0, &[])
            .simple(5, &[1, 2, 3, 4, 5]) // 3 bytes of padding follow
            .read();
        assert_eq!((summary.frames, summary.bytes), (1, 5));
        assert_eq!(frames, [(LinkType::Radiotap, Duration::ZERO, 5)]);
        let (_, frames) = Pcapng::new(false)
            .interface(1, 7, &[])
            .simple(1500, &[0; 7]) // 7 of 1500 bytes captured
            .simple(5, &[0; 5])
            .read();
        assert_eq!(
            frames,
            [
                (LinkType::Ethernet, Duration::ZERO, 7),
                (LinkType::Ethernet, Duration::ZERO, 5)
            ]
        );
    }

    #[test]
    fn unreadable_packet_records_are_counted_and_the_rest_still_read() {
        let mut file = Pcapng::new(false);
        file.enhanced(0, 1, FRAME) // before any interface
            .interface(1, 0, &[])
            .enhanced(7, 1, FRAME) // no such interface
            .interface(1, 0, &[(TSRESOL, &[20])]) // 10^-20 s: refused, as by libpcap
            .interface(1, 0, &[(TSRESOL, &[0x80 | 64])])
            .enhanced(1, 1, FRAME)
            .enhanced(2, 1, FRAME)
            .simple(3, &[1, 2, 3]) // no timestamp, so any resolution will do
            .enhanced_claiming(0, 1, &[0; 8], 9) // past the end of its block
            .enhanced_claiming(0, 1, &[0; 8], u32::MAX)
            .enhanced(0, 2_000_000, FRAME);
        let (summary, frames) = file.read();
        assert_eq!(
            (summary.frames, summary.malformed, summary.truncated),
            (2, 6, false)
        );
        assert_eq!(frames[0], (LinkType::Ethernet, Duration::ZERO, 3));
        assert_eq!(frames[1], (LinkType::Ethernet, Duration::from_secs(2), 60));
    }

    #[test]
    fn absurd_block_lengths_stop_the_file_without_panicking() {
        let mut good = Pcapng::new(false);
        good.interface(1, 0, &[]).enhanced(0, 1, FRAME);
        let before = good.bytes.len();
        good.enhanced(0, 2, FRAME);
        for length in [0u32, 8, 13, 0x7fff_fff0, u32::MAX, 12 + 64] {
            let mut bytes = good.bytes.clone();
            // The second packet's total length; 76 is right, but the trailer says otherwise
            // for every value but the real one, which becomes a lie by 64 bytes.
            bytes[before + 4..before + 8].copy_from_slice(&length.to_le_bytes());
            let mut sink = Collect::default();
            let summary = read_capture(&bytes[..], &mut sink).expect("header intact");
            assert_eq!(summary.frames, 1, "length {length}");
            assert!(summary.truncated, "length {length}");
        }
        // Cut anywhere: never a panic, never more frames than whole.
        for cut in 0..good.bytes.len() {
            let _ = read_capture(&good.bytes[..cut], &mut Collect::default());
        }
    }

    #[test]
    fn classic_pcap_micro_and_nanosecond_magics_in_both_byte_orders() {
        for big_endian in [false, true] {
            for (magic, fraction) in [(0xa1b2_c3d4, 500_000), (0xa1b2_3c4d, 500_000_000)] {
                let bytes = classic(magic, big_endian, &[(1_795_900_002, fraction, 60, 60)]);
                let mut sink = Collect::default();
                let summary = read_capture(&bytes[..], &mut sink).expect("pcap");
                assert_eq!(summary.frames, 1);
                assert_eq!(
                    sink.0,
                    [(
                        LinkType::Ethernet,
                        Duration::from_millis(1_795_900_002_500),
                        60
                    )],
                    "magic {magic:#x}, big endian {big_endian}"
                );
            }
        }
    }

    #[test]
    fn regression_pcap_frames_longer_than_the_snap_length_are_all_read() {
        // `tcpdump -s 64`: long frames are kept to 64 bytes, their original length recorded.
        let bytes = classic(
            0xa1b2_c3d4,
            false,
            &[(1, 0, 64, 1514), (2, 0, 60, 60), (3, 0, 64, 590)],
        );
        let mut sink = Collect::default();
        let summary = read_capture(&bytes[..], &mut sink).expect("pcap");
        assert_eq!((summary.frames, summary.truncated), (3, false));
    }

    #[test]
    fn regression_pcapng_microsecond_case_reads_like_classic_pcap() {
        // ../shared/cases/pcapng-microseconds: tcpdump prints the same times for all three.
        let dir = testing::project_fixture("capture/cases");
        let mut times = Vec::new();
        for name in [
            "dhcp-classic.pcap",
            "dhcp-default-resolution.pcapng",
            "dhcp-tsresol-6.pcapng",
        ] {
            let bytes = std::fs::read(dir.join(name)).expect("case file");
            let mut sink = Collect::default();
            read_capture(&bytes[..], &mut sink).expect(name);
            times.push(sink.0.iter().map(|f| f.1).collect::<Vec<_>>());
        }
        let first = Duration::from_secs(T);
        assert_eq!(times[0].first(), Some(&first));
        assert_eq!(
            times[0].last(),
            Some(&(first + Duration::from_millis(2500)))
        );
        assert_eq!(times[0], times[1]);
        assert_eq!(times[0], times[2]);
    }

    /// Needs Debian's `tcpdump` (`apt-get install -y tcpdump`); the suite installs it.
    #[test]
    fn built_pcapng_timestamps_agree_with_debian_tcpdump() {
        let dir = tempfile::tempdir().expect("temp dir");
        // libpcap reads one link type per file, any resolution per interface.
        let mut file = Pcapng::new(false);
        file.interface(1, 0, &[])
            .interface(1, 0, &[(TSRESOL, &[9])])
            .interface(1, 0, &[(TSRESOL, &[3])])
            .interface(1, 0, &[(TSRESOL, &[0x80 | 10])])
            .interface(
                1,
                0,
                &[(TSRESOL, &[0x80 | 20]), (TSOFFSET, &100u64.to_le_bytes())],
            )
            .enhanced(0, T * 1_000_000 + 123_456, FRAME)
            .enhanced(1, T * 1_000_000_000 + 123_456_789, FRAME)
            .enhanced(2, T * 1_000 + 999, FRAME)
            .enhanced(3, (T << 10) + 777, FRAME)
            .enhanced(4, (T << 20) + 654_321, FRAME)
            .packet(1, T * 1_000_000_000 + 5, FRAME)
            // libpcap 1.10 cannot follow a section in the other byte order.
            .section(false)
            .interface(1, 0, &[(TSRESOL, &[0x80 | 10])])
            .enhanced(0, (T << 10) + 3, FRAME);
        let path = dir.path().join("resolutions.pcapng");
        std::fs::write(&path, &file.bytes).expect("write");
        let theirs: Vec<String> =
            testing::tcpdump(&["-tt", "-n", "--time-stamp-precision=nano"], &path)
                .lines()
                .filter(|line| line.starts_with(|c: char| c.is_ascii_digit()))
                .filter_map(|line| line.split(' ').next().map(str::to_string))
                .collect();
        let (_, frames) = file.read();
        let ours: Vec<String> = frames
            .iter()
            .map(|(_, t, _)| format!("{}.{:09}", t.as_secs(), t.subsec_nanos()))
            .collect();
        assert_eq!(ours.len(), 7);
        assert_eq!(ours, theirs);
    }

    /// A pcapng file with every kind of block this reader handles, in `big_endian` order.
    fn every_block(big_endian: bool) -> Vec<u8> {
        let mut file = Pcapng::new(big_endian);
        let offset = file.u64(T);
        file.interface(1, 0, &[(TSRESOL, &[9]), (TSOFFSET, &offset)])
            .interface(127, 16, &[(TSRESOL, &[0x80 | 20])])
            .enhanced(0, 5, FRAME)
            .enhanced(1, 1 << 20, FRAME)
            .packet(1, 7, FRAME)
            .simple(60, FRAME)
            .block(4, vec![0; 8]) // a Name Resolution Block: skipped
            .section(!big_endian)
            .interface(105, 0, &[])
            .enhanced(0, 9, FRAME);
        file.bytes
    }

    proptest::proptest! {
        #[test]
        fn damaged_pcapng_never_panics(
            big_endian in proptest::bool::ANY,
            flips in proptest::collection::vec((0usize..1024, proptest::num::u8::ANY), 1..8),
            cut in 0usize..1024,
        ) {
            let mut bytes = every_block(big_endian);
            for (at, value) in flips {
                let at = at % bytes.len();
                bytes[at] = value;
            }
            bytes.truncate(cut.max(4));
            let mut sink = Collect::default();
            if let Ok(summary) = read_capture(&bytes[..], &mut sink) {
                proptest::prop_assert_eq!(summary.frames as usize, sink.0.len());
            }
        }
    }

    #[test]
    fn every_block_kind_reads_in_both_byte_orders() {
        for big_endian in [false, true] {
            let mut sink = Collect::default();
            let summary = read_capture(&every_block(big_endian)[..], &mut sink).expect("pcapng");
            assert_eq!((summary.frames, summary.malformed), (5, 0));
            assert!(!summary.truncated);
            let links: Vec<LinkType> = sink.0.iter().map(|f| f.0).collect();
            assert_eq!(
                links,
                [
                    LinkType::Ethernet,
                    LinkType::Radiotap,
                    LinkType::Radiotap,
                    LinkType::Ethernet,
                    LinkType::Ieee80211
                ]
            );
            assert_eq!(sink.0[0].1, Duration::new(T, 5));
            assert_eq!(sink.0[1].1, Duration::from_secs(1));
            assert_eq!(sink.0[3].2, 60, "the first interface has no snap length");
        }
    }

    #[test]
    fn every_fixture_reads_without_panicking() {
        let dir = tcpdump_fixture_dir();
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                let bytes = std::fs::read(&path).expect("readable");
                let _ = read_capture(&bytes[..], &mut Collect::default());
            }
        }
    }
}
