//! The DHCP lease source: leases in use per pool, and the clients holding them.
//!
//! - [`lease`]: the lease type every parser produces.
//! - [`dnsmasq`], [`isc`], [`kea`]: the lease file formats (and Kea's control socket).
//! - [`source`]: the sources reading them.

pub mod dnsmasq;
pub mod isc;
pub mod kea;
pub mod lease;
pub mod source;

pub use source::{DhcpSample, DhcpSource, KeaStatisticsSource, PoolStatistics};
