//! `[source.netdev]`: interface counters, and how their section of the configuration file is
//! read.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::toml::Section;
use crate::config::{Coverage, SourceConfig, SourceTables, Zone, ZoneRef};
use crate::sources::links::{self, Backend};

/// `[source.netdev]`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetdevConfig {
    /// Whether the source runs.
    pub enabled: bool,
    /// Sampling interval; defaults to the agent tick.
    pub interval: Option<Duration>,
    /// Kernel access path.
    pub backend: Backend,
    /// Root of the proc file system for the `proc` backend.
    pub proc_root: PathBuf,
    /// Root of the sys file system for the `proc` backend.
    pub sys_root: PathBuf,
}

impl Default for NetdevConfig {
    /// On, at the agent tick, through netlink with the host's /proc and /sys to fall back on.
    fn default() -> NetdevConfig {
        NetdevConfig {
            enabled: true,
            interval: None,
            backend: Backend::Auto,
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
        }
    }
}

/// Reads `[source.netdev]` over `netdev` (the defaults).
pub(crate) fn read(section: &Section<'_>, netdev: &mut NetdevConfig) {
    if let Some(enabled) = section.bool("enabled") {
        netdev.enabled = enabled;
    }
    netdev.interval = section.interval();
    if let Some(backend) = links::read_backend(section) {
        netdev.backend = backend;
    }
    if let Some(root) = section.path("proc_root", "/proc") {
        netdev.proc_root = root;
    }
    if let Some(root) = section.path("sys_root", "/sys") {
        netdev.sys_root = root;
    }
}

impl SourceConfig for NetdevConfig {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        read(&tables.source.table("netdev"), self);
        Vec::new()
    }

    fn measures(&self) -> bool {
        self.enabled
    }

    fn covers(&self, _zone: &Zone, interfaces_present: bool) -> Vec<Coverage> {
        (self.enabled && interfaces_present)
            .then_some(Coverage::Interfaces)
            .into_iter()
            .collect()
    }

    fn describe(&self) -> Vec<String> {
        let files = format!(
            "{} and {}",
            self.proc_root.join("net/dev").display(),
            self.sys_root.join("class/net").display()
        );
        vec![format!(
            "netdev (interface counters): {}",
            links::describe_backend(self.enabled, self.backend, &files)
        )]
    }
}
