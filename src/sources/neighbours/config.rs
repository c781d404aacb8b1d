//! `[source.neighbours]`: the ARP/NDP neighbour table, and how its section of the
//! configuration file is read.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::toml::Section;
use crate::config::{Coverage, SourceConfig, SourceTables, Zone, ZoneRef};
use crate::sources::links::{self, Backend};

/// `[source.neighbours]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighboursConfig {
    /// Whether the source runs.
    pub enabled: bool,
    /// Sampling interval; defaults to the agent tick.
    pub interval: Option<Duration>,
    /// Kernel access path.
    pub backend: Backend,
    /// Root of the proc file system for the `proc` backend (reads `net/arp`).
    pub proc_root: PathBuf,
}

impl Default for NeighboursConfig {
    /// On, at the agent tick, through netlink with the host's /proc to fall back on.
    fn default() -> NeighboursConfig {
        NeighboursConfig {
            enabled: true,
            interval: None,
            backend: Backend::Auto,
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// Reads `[source.neighbours]` over `neighbours` (the defaults).
pub(crate) fn read(section: &Section<'_>, neighbours: &mut NeighboursConfig) {
    if let Some(enabled) = section.bool("enabled") {
        neighbours.enabled = enabled;
    }
    neighbours.interval = section.interval();
    if let Some(backend) = links::read_backend(section) {
        neighbours.backend = backend;
    }
    if let Some(root) = section.path("proc_root", "/proc") {
        neighbours.proc_root = root;
    }
}

impl SourceConfig for NeighboursConfig {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        read(&tables.source.table("neighbours"), self);
        Vec::new()
    }

    fn measures(&self) -> bool {
        self.enabled
    }

    fn covers(&self, zone: &Zone, interfaces_present: bool) -> Vec<Coverage> {
        let ways = [
            (!zone.subnets.is_empty(), Coverage::Subnets),
            (interfaces_present, Coverage::Interfaces),
        ];
        ways.into_iter()
            .filter(|&(holds, _)| self.enabled && holds)
            .map(|(_, way)| way)
            .collect()
    }

    fn describe(&self) -> Vec<String> {
        let files = self.proc_root.join("net/arp").display().to_string();
        vec![format!(
            "neighbours (clients in the ARP/NDP table): {}",
            links::describe_backend(self.enabled, self.backend, &files)
        )]
    }
}
