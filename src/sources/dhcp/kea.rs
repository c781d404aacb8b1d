//! TEMPORARY (uncommitted): replaced by the dhcp-parsers branch.
use super::lease::Parsed;
use std::collections::BTreeMap;
pub fn parse_csv(_data: &[u8]) -> Parsed {
    Parsed::default()
}
pub struct SubnetStatistics {
    pub total: u64,
    pub assigned: u64,
}
pub struct KeaStatistics {
    pub subnets: BTreeMap<u32, SubnetStatistics>,
    pub allocation_failures: u64,
}
pub fn parse_statistics(_json: &[u8]) -> Result<KeaStatistics, String> {
    Err("x".into())
}
pub async fn statistic_get_all(
    _socket: &std::path::Path,
    _timeout: std::time::Duration,
) -> std::io::Result<Vec<u8>> {
    Err(std::io::ErrorKind::NotFound.into())
}
