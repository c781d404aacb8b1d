//! Radiotap header, then the 802.11 frame after it (FCS stripped when flagged), as the
//! capture pipeline decodes a monitor-mode frame.
//!
//! `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run radiotap /tmp/corpus-radiotap seeds/radiotap`

#![no_main]

use libfuzzer_sys::fuzz_target;
use venuemon::sources::capture::{ieee80211, radiotap};

fuzz_target!(|data: &[u8]| {
    let Ok(rt) = radiotap::parse(data) else {
        return;
    };
    assert!(rt.header_len >= 8 && rt.header_len <= data.len());
    let Some(mut frame) = data.get(rt.header_len..) else {
        return;
    };
    if rt.fcs_at_end() {
        frame = frame.get(..frame.len().saturating_sub(4)).unwrap_or_default();
    }
    if let Ok(header) = ieee80211::parse(frame) {
        assert!(header.header_len <= frame.len());
        let _ = ieee80211::subtype_name(header.kind, header.subtype);
    }
});
