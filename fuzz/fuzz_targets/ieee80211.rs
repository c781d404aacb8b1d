//! 802.11 MAC header decoding and subtype names.
//!
//! `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ieee80211 /tmp/corpus-ieee80211 seeds/ieee80211`

#![no_main]

use libfuzzer_sys::fuzz_target;
use venuemon::sources::capture::ieee80211;

fuzz_target!(|frame: &[u8]| {
    if let Ok(header) = ieee80211::parse(frame) {
        assert!(header.header_len <= frame.len());
        let _ = ieee80211::subtype_name(header.kind, header.subtype);
    }
});
