//! Where frames come from: a capture file (pcap or pcapng, read in place without copying
//! frames) or a live interface. Both hand each frame to a [`FrameSink`] with its link type and
//! timestamp, so live traffic and yesterday's capture go through the same decoder.

use std::io::Read;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

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

/// Reads a pcap or pcapng capture from `reader` (a file, or bytes in memory), handing every
/// frame to `sink`. Frames are decoded in place from an 8 MB buffer that is reused, so a large
/// file costs no more memory than a small one. A damaged record ends the file with
/// `truncated` set: the frames before it still count.
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

fn read_pcap(reader: impl Read, sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let mut pcap = PcapReader::new(reader).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let link = LinkType::from_datalink(pcap.header().datalink);
    let mut summary = FileSummary::default();
    while let Some(packet) = pcap.next_packet() {
        let Ok(packet) = packet else {
            summary.truncated = true;
            break;
        };
        sink.frame(link, packet.timestamp, &packet.data);
        summary.frames += 1;
        summary.bytes += packet.data.len() as u64;
    }
    Ok(summary)
}

fn read_pcapng(reader: impl Read, sink: &mut impl FrameSink) -> Result<FileSummary, FileError> {
    let mut pcapng = PcapNgReader::new(reader).map_err(|e| FileError::BadHeader(e.to_string()))?;
    let mut summary = FileSummary::default();
    // Link types of the interfaces described so far in the current section, by interface id.
    let mut links: Vec<LinkType> = Vec::new();
    while let Some(block) = pcapng.next_block() {
        let Ok(block) = block else {
            summary.truncated = true;
            break;
        };
        let (link, timestamp, data) = match &block {
            Block::SectionHeader(_) => {
                links.clear();
                continue;
            }
            Block::InterfaceDescription(i) => {
                links.push(LinkType::from_datalink(i.linktype));
                continue;
            }
            Block::EnhancedPacket(p) => {
                let link = usize::try_from(p.interface_id)
                    .ok()
                    .and_then(|i| links.get(i));
                (link.copied(), p.timestamp, &p.data)
            }
            Block::SimplePacket(p) => (links.first().copied(), Duration::ZERO, &p.data),
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
        let summary =
            read_capture(&fixture("ieee802.11_exthdr.pcap")[..], &mut sink).expect("pcap");
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
            read_capture(&fixture("dhcp-option-108.pcapng")[..], &mut sink).expect("pcapng");
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
    fn every_fixture_reads_without_panicking() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tcpdump");
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
