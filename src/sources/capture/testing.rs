//! Reading tcpdump's test captures (`../shared/fixtures/tcpdump`, never copied into the
//! project) for the tests of the capture decoders.

use std::path::PathBuf;

/// Directory of tcpdump's test captures and their expected decodings.
pub(crate) fn tcpdump_fixture_dir() -> PathBuf {
    crate::testing::shared_fixture("tcpdump")
}

/// The bytes of capture `name`.
pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    crate::testing::read(&tcpdump_fixture_dir().join(name))
}

/// File names of every classic pcap capture in the fixture directory, sorted.
pub(crate) fn fixture_names() -> Vec<String> {
    let dir = tcpdump_fixture_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} unreadable: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".pcap"))
        .collect();
    names.sort();
    names
}

/// Every frame of capture `name` with the file's link type (FCS-length bits masked off).
/// Reads raw records, so malformed captures (record longer than the snap length) still
/// yield their bytes; stops at the first unreadable record.
pub(crate) fn fixture_frames(name: &str) -> Vec<(u32, Vec<u8>)> {
    let path = tcpdump_fixture_dir().join(name);
    let file =
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()));
    let mut reader = pcap_file::pcap::PcapReader::new(file)
        .unwrap_or_else(|e| panic!("{} is not a pcap file: {e}", path.display()));
    let link = u32::from(reader.header().datalink) & 0x03FF_FFFF;
    let mut frames = Vec::new();
    while let Some(Ok(packet)) = reader.next_raw_packet() {
        frames.push((link, packet.data.into_owned()));
    }
    frames
}
