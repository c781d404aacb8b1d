//! `[[source.hostapd]]`: hostapd's control sockets, and how their section of the
//! configuration file is read.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::toml::{Section, Spanned};

/// Where hostapd keeps its control sockets on Debian (its `ctrl_interface`).
pub(crate) const DEFAULT_CTRL_DIR: &str = "/var/run/hostapd";

/// `[[source.hostapd]]`: hostapd's control sockets.
#[derive(Debug, Clone, PartialEq)]
pub struct HostapdConfig {
    /// Directory holding one socket per BSS (hostapd's `ctrl_interface`), when `sockets` is
    /// empty.
    pub ctrl_dir: PathBuf,
    /// Explicit socket paths, instead of every socket in `ctrl_dir`.
    pub sockets: Vec<PathBuf>,
    /// Zone of every BSS of this source; unset, a BSS's zone comes from its interface name.
    pub zone: Option<String>,
    /// Sampling interval; defaults to the agent tick.
    pub interval: Option<Duration>,
}

/// Reads one `[[source.hostapd]]`, with the zone it names.
pub(crate) fn read(section: &Section<'_>) -> (HostapdConfig, Option<Spanned<String>>) {
    let ctrl_dir = section.path("ctrl_dir", DEFAULT_CTRL_DIR);
    let sockets = section
        .list(
            "sockets",
            "a list of socket paths like [\"/var/run/hostapd/wlan0\"]",
            |s| {
                if s.trim().is_empty() {
                    Err("sockets must not hold an empty path".to_string())
                } else {
                    Ok(PathBuf::from(s))
                }
            },
        )
        .unwrap_or_default();
    let zone = section.zone_ref();
    let config = HostapdConfig {
        ctrl_dir: ctrl_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_CTRL_DIR)),
        sockets: sockets.into_iter().map(|s| s.value).collect(),
        zone: zone.as_ref().map(|z| z.value.clone()),
        interval: section.interval(),
    };
    (config, zone)
}
