//! Where frames come from: a capture file (pcap or pcapng, read in place without copying
//! frames) or a live interface. Both hand each frame to a [`FrameSink`] with its link type and
//! timestamp, so live traffic and yesterday's capture go through the same decoder.

use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::{Block, PcapNgParser};

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
    /// The file ended in the middle of a record (a capture still being written, or cut).
    pub truncated: bool,
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

/// Reads a whole pcap or pcapng capture held in memory, handing every frame to `sink`.
/// A damaged record ends the file with `truncated` set: the frames before it still count.
///
/// # Errors
/// The bytes are not a capture, or its header is damaged.
pub fn read_capture(bytes: &[u8], sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    match bytes.get(..4) {
        Some(m) if PCAP_MAGICS.iter().any(|p| p == m) => read_pcap(bytes, sink),
        Some(m) if m == PCAPNG_MAGIC => read_pcapng(bytes, sink),
        _ => Err(FileError::UnknownFormat),
    }
}

fn read_pcap(bytes: &[u8], sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let (mut rest, parser) =
        PcapParser::new(bytes).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let link = LinkType::from_datalink(parser.header().datalink);
    let mut summary = FileSummary::default();
    while !rest.is_empty() {
        match parser.next_packet(rest) {
            Ok((next, packet)) => {
                sink.frame(link, packet.timestamp, &packet.data);
                summary.frames += 1;
                summary.bytes += packet.data.len() as u64;
                rest = next;
            }
            Err(_) => {
                summary.truncated = true;
                break;
            }
        }
    }
    Ok(summary)
}

fn read_pcapng(bytes: &[u8], sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let (mut rest, mut parser) =
        PcapNgParser::new(bytes).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let mut summary = FileSummary::default();
    while !rest.is_empty() {
        let (next, block) = match parser.next_block(rest) {
            Ok(parsed) => parsed,
            Err(_) => {
                summary.truncated = true;
                break;
            }
        };
        rest = next;
        let (link, timestamp, data) = match &block {
            Block::EnhancedPacket(p) => {
                let link = parser
                    .packet_interface(p)
                    .map(|i| LinkType::from_datalink(i.linktype));
                (link, p.timestamp, &p.data)
            }
            Block::SimplePacket(p) => {
                let link = parser
                    .interfaces()
                    .first()
                    .map(|i| LinkType::from_datalink(i.linktype));
                (link, Duration::ZERO, &p.data)
            }
            _ => continue,
        };
        // A packet naming no interface described before it is malformed: count it as cut.
        let Some(link) = link else {
            summary.truncated = true;
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
    use std::path::PathBuf;

    #[derive(Default)]
    struct Collect(Vec<(LinkType, Duration, usize)>);

    impl FrameSink for Collect {
        fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]) {
            self.0.push((link, timestamp, data.len()));
        }
    }

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/tcpdump")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{} readable: {e}", path.display()))
    }

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
        let summary = read_capture(&fixture("ieee802.11_exthdr.pcap"), &mut sink).expect("pcap");
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
        let summary = read_capture(&fixture("dhcp-option-108.pcapng"), &mut sink).expect("pcapng");
        assert!(summary.frames > 0, "{summary:?}");
        assert!(
            sink.0
                .iter()
                .all(|(link, _, _)| *link == LinkType::Ethernet)
        );
    }

    #[test]
    fn cut_files_keep_their_frames_and_garbage_is_refused() {
        let whole = fixture("ieee802.11_exthdr.pcap");
        let mut full = Collect::default();
        read_capture(&whole, &mut full).expect("whole file");
        for cut in [whole.len() - 1, whole.len() / 2, 30] {
            let mut sink = Collect::default();
            let summary = read_capture(&whole[..cut], &mut sink).expect("header intact");
            assert!(summary.truncated, "cut at {cut}");
            assert!(sink.0.len() < full.0.len());
        }
        assert_eq!(
            read_capture(b"hello world", &mut Collect::default()),
            Err(FileError::UnknownFormat)
        );
        assert_eq!(
            read_capture(b"", &mut Collect::default()),
            Err(FileError::UnknownFormat)
        );
        assert!(read_capture(&whole[..10], &mut Collect::default()).is_err());
    }

    #[test]
    fn every_fixture_reads_without_panicking() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tcpdump");
        for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
            let path = entry.expect("entry").path();
            if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            ) {
                let bytes = std::fs::read(&path).expect("readable");
                let _ = read_capture(&bytes, &mut Collect::default());
            }
        }
    }
}
