//! Passive capture: frames from a live interface (pnet) or a pcap/pcapng file, decoded
//! without allocating per frame, counted into plain structs and published once per tick.
//!
//! - [`frames`]: frame sources: pcap/pcapng files and live interfaces, one sink.
//! - [`radiotap`]: the radiotap header of monitor-mode captures (our own, bounds-checked).
//! - [`ieee80211`]: 802.11 MAC headers: type/subtype, flags, addresses.
//! - [`ethernet`]: Ethernet (and VLAN, Linux cooked) down to ARP and IPv4/IPv6 UDP.
//! - [`dhcp`]: DHCP messages and the DISCOVER-to-ACK transaction tracker.
//! - [`decode`]: all of the above per frame, counted into plain structs.
//! - [`live`]: live capture on its own thread, batches to the async side.

pub mod config;
pub mod decode;
pub mod dhcp;
pub mod ethernet;
pub mod frames;
pub mod ieee80211;
pub mod live;
pub mod radiotap;
mod source;
pub mod summary;

pub use source::{CaptureSample, CaptureSource};
