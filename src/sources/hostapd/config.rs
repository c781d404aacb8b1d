//! `[[source.hostapd]]`: hostapd's control sockets, and how their section of the
//! configuration file is read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::toml::{Section, Spanned};
use crate::config::{Coverage, SourceConfig, SourceTables, Zone, ZoneRef};

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

impl SourceConfig for Vec<HostapdConfig> {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        let mut zones = Vec::new();
        *self = tables.source.array("hostapd").each(|entry| {
            let (config, zone) = read(&entry);
            zones.extend(zone.map(|z| (entry.label().to_string(), z)));
            Some(config)
        });
        zones
    }

    fn measures(&self) -> bool {
        !self.is_empty()
    }

    fn covers(&self, zone: &Zone, interfaces_present: bool) -> Vec<Coverage> {
        self.iter()
            .filter_map(|source| {
                Coverage::by_name_or_interfaces(source.zone.as_deref(), zone, interfaces_present)
            })
            .collect()
    }

    fn describe(&self) -> Vec<String> {
        self.iter()
            .map(|h| {
                let sockets = if h.sockets.is_empty() {
                    format!("every control socket in {}", h.ctrl_dir.display())
                } else {
                    let paths: Vec<String> =
                        h.sockets.iter().map(|p| p.display().to_string()).collect();
                    format!("control sockets {}", paths.join(", "))
                };
                let zone = h
                    .zone
                    .as_deref()
                    .map_or("the zone of their interface".to_string(), |z| {
                        format!("zone {z}")
                    });
                format!("hostapd: {sockets}; access points in {zone}")
            })
            .collect()
    }

    /// hostapd's control folder at its usual Debian path, when it is there. Its access
    /// points take the zone of their interface, as with a file.
    fn discover(&mut self, _zone: Option<&str>) {
        let ctrl_dir = Path::new(DEFAULT_CTRL_DIR);
        if ctrl_dir.is_dir() {
            self.push(HostapdConfig {
                ctrl_dir: ctrl_dir.to_path_buf(),
                sockets: Vec::new(),
                zone: None,
                interval: None,
            });
        }
    }
}
