//! DHCP pools: how many of their addresses are leased, and what the server itself says.

use crate::inventory::ZoneIdx;

/// Kea's own view of a pool, from `statistic-get-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PoolStatistics {
    /// Addresses the server can hand out (summed over its subnets).
    pub total: u64,
    /// Addresses assigned now.
    pub assigned: u64,
    /// Allocation failures since the server started.
    pub allocation_failures: u64,
}

/// One pool's leases, from its server's lease files, at one sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolLeases {
    /// Pool name (the `pool` label).
    pub pool: String,
    /// Zone of the pool, if any.
    pub zone: Option<ZoneIdx>,
    /// Active leases in the pool's ranges (all active leases when no range is configured).
    pub leases_active: u64,
    /// Addresses in the configured ranges, when configured.
    pub pool_size: Option<u64>,
    /// Records of the file that did not parse (a half-written line is normal).
    pub skipped: u64,
}
