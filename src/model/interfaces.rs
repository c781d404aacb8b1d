//! Network interfaces as the sources read them and the hub keeps them: kernel counters and
//! state, and the zone an interface serves.

use serde::Serialize;

use crate::inventory::{LinkKind, ZoneIdx};

/// An interface's traffic counters since it was created (raw kernel counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Received packets dropped.
    pub rx_drops: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Packets dropped on transmit.
    pub tx_drops: u64,
}

/// One interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Kernel interface index (0 when unknown).
    pub index: u32,
    /// Kernel interface name.
    pub name: String,
    /// What kind of device it is.
    pub kind: LinkKind,
    /// Traffic counters.
    pub counters: Counters,
    /// Operationally up (or state unknown with a carrier, as virtual devices report).
    pub up: bool,
    /// Carrier present, when the kernel says.
    pub carrier: Option<bool>,
    /// MTU in bytes, when known.
    pub mtu: Option<u32>,
    /// Negotiated speed in bits per second, when known.
    pub speed_bps: Option<u64>,
}

/// A monitored interface with its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSample {
    /// What the kernel reports.
    pub link: Link,
    /// The zone it serves, if any.
    pub zone: Option<ZoneIdx>,
}
