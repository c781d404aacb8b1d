//! `[source.*]`: each source's section, read by the source's own `config` module.

use super::toml::{Section, Spanned};
use crate::sources::capture::config::{self as capture, CaptureConfig};
use crate::sources::dhcp::config::{self as dhcp, DhcpConfig};
use crate::sources::hostapd::config::{self as hostapd, HostapdConfig};
use crate::sources::neighbours::config::{self as neighbours, NeighboursConfig};
use crate::sources::netdev::config::{self as netdev, NetdevConfig};

/// `[source.*]`: per-source settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// `[source.netdev]`: interface counters.
    pub netdev: NetdevConfig,
    /// `[source.neighbours]`: the ARP/NDP neighbour table.
    pub neighbours: NeighboursConfig,
    /// `[[source.dhcp]]`: DHCP servers' lease files (one pool each).
    pub dhcp: Vec<DhcpConfig>,
    /// `[[source.hostapd]]`: hostapd control sockets.
    pub hostapd: Vec<HostapdConfig>,
    /// `[[source.capture]]`: live passive capture on interfaces.
    pub capture: Vec<CaptureConfig>,
}

/// A zone named by a source's table (`[[source.dhcp]] #1`), checked once zones are known.
pub(super) type ZoneRef = (String, Spanned<String>);

/// Reads `[source]` over `sources` (the defaults); returns the zones the sources name.
pub(super) fn read(section: &Section<'_>, sources: &mut Sources) -> Vec<ZoneRef> {
    netdev::read(&section.table("netdev"), &mut sources.netdev);
    neighbours::read(&section.table("neighbours"), &mut sources.neighbours);
    let mut zones: Vec<ZoneRef> = Vec::new();
    let mut named = |entry: &Section<'_>, zone: Option<Spanned<String>>| {
        zones.extend(zone.map(|z| (entry.label().to_string(), z)));
    };
    sources.dhcp = section.array("dhcp").each(|entry| {
        let (config, zone) = dhcp::read(&entry)?;
        named(&entry, zone);
        Some(config)
    });
    sources.hostapd = section.array("hostapd").each(|entry| {
        let (config, zone) = hostapd::read(&entry);
        named(&entry, zone);
        Some(config)
    });
    sources.capture = section.array("capture").each(|entry| {
        let (config, zone) = capture::read(&entry)?;
        named(&entry, zone);
        Some(config)
    });
    dhcp::name_pools(section, &mut sources.dhcp);
    zones
}
