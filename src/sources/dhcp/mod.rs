//! The DHCP lease source: leases in use per pool, and the clients holding them.
//!
//! - [`lease`]: the lease type every parser produces.
//! - [`dnsmasq`], [`isc`], [`kea`]: the lease file formats (and Kea's control socket).
//! - [`file_set`]: a server's lease files read as the server reads them (Kea's file set after
//!   cleanup), only regular files, re-read when changed, mostly-garbage files reported.
//! - [`table`]: what the source keeps of the leases between changes of the files.
//! - [`source`]: the sources reading them.

pub mod config;
pub mod dnsmasq;
pub mod file_set;
pub mod isc;
pub mod kea;
pub mod lease;
pub mod source;
pub mod table;

pub use source::{DhcpSample, DhcpSource, KeaStatisticsSource, PoolStatistics};
