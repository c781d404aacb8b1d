//! Fuzzes the DHCP snooping path as the capture source runs it: a frame (Ethernet, then the
//! same bytes as Linux cooked SLL and SLL2) → `classify` → `dhcp::parse` → the tracker.
//! Seeds: `fuzz/seeds/dhcp/`, written from the fixtures by the `fuzz_seeds` unit test.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use venuemon::sources::capture::dhcp::{self, MessageType, Transactions};
use venuemon::sources::capture::ethernet::{
    Ethernet, Payload, classify, parse_ethernet, parse_linux_cooked, parse_linux_cooked_v2,
};

/// The DHCP message a link-layer view carries, if any.
fn dhcp_message(eth: &Ethernet<'_>) -> Option<dhcp::Message> {
    let (src_port, dst_port, payload) = match classify(eth) {
        Payload::Ipv4Udp {
            src_port,
            dst_port,
            payload,
            ..
        }
        | Payload::Ipv6Udp {
            src_port,
            dst_port,
            payload,
            ..
        } => (src_port, dst_port, payload),
        _ => return None,
    };
    // Parse every UDP payload, DHCP ports or not, to reach the parser more often.
    let message = dhcp::parse(payload).ok()?;
    dhcp::is_dhcp_port(src_port, dst_port).then_some(message)
}

fuzz_target!(|data: &[u8]| {
    let views = [
        parse_ethernet(data),
        parse_linux_cooked(data),
        parse_linux_cooked_v2(data),
    ];
    // A small tracker, so eviction and expiry run too. The decoded message is replayed as
    // every message type, half of them under another xid, a second apart.
    let mut tracker = Transactions::new(Duration::from_secs(10), 4);
    for message in views.iter().flatten().filter_map(dhcp_message) {
        tracker.observe(&message, Duration::ZERO);
        for code in 0..=13u8 {
            let mut variant = message;
            variant.message_type = Some(MessageType::from_code(code));
            variant.xid = message.xid.wrapping_add(u32::from(code % 2));
            tracker.observe(&variant, Duration::from_secs(code.into()));
        }
        tracker.expire(Duration::from_secs(12));
    }
    tracker.expire(Duration::from_secs(3600));
    let _ = tracker.drain_completed().count();
    assert_eq!(tracker.pending(), 0);
});
