//! Passive capture: frames from a live interface (pnet) or a pcap/pcapng file, decoded
//! without allocating per frame, counted into plain structs and published once per tick.
//!
//! - [`frames`]: frame sources: pcap/pcapng files and live interfaces, one sink.
//! - [`radiotap`]: the radiotap header of monitor-mode captures (our own, bounds-checked).
//! - [`ieee80211`]: 802.11 MAC headers: type/subtype, flags, addresses.
//! - [`ethernet`]: Ethernet (and VLAN, Linux cooked) down to ARP and IPv4/IPv6 UDP.
//! - [`dhcp`]: DHCP messages and the DISCOVER-to-ACK transaction tracker.
//! - `decode`: all of the above per frame, counted into plain structs.
//! - `live`: live capture on its own thread, batches to the async side.

pub(crate) mod config;
pub(crate) mod decode;
pub mod dhcp;
pub mod ethernet;
pub mod frames;
pub mod ieee80211;
pub(crate) mod live;
pub mod radiotap;
mod source;
#[cfg(test)]
mod testing;

pub use source::CaptureSource;

use super::Starter;

/// Starts a live capture for each `[[source.capture]]`.
///
/// # Errors
/// None today: the capture opens at the first sample, and again after a failure.
pub fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    for c in &config.sources.capture {
        let source = CaptureSource::new(
            c.clone(),
            ctx.inventory,
            config.sources.netdev.sys_root.clone(),
            ctx.key.clone(),
            ctx.cancel.clone(),
            ctx.tasks.clone(),
        );
        ctx.spawn(source, c.interval);
    }
    Ok(())
}
