//! `[[source.capture]]`: passive capture on one interface, and how its section of the
//! configuration file is read.

use std::time::Duration;

use toml_edit::Key;

use crate::config::pattern::Pattern;
use crate::config::toml::{Section, Spanned, valid_id};
use crate::config::{Coverage, SourceConfig, SourceTables, Zone, ZoneRef};

/// `[[source.capture]]`: passive capture on one interface (Ethernet, or 802.11 monitor mode).
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureConfig {
    /// Interface to capture on (a monitor-mode interface for 802.11).
    pub interface: String,
    /// Put the interface in promiscuous mode.
    pub promiscuous: bool,
    /// Zone of the Ethernet clients seen; unset, the zone that claims the interface.
    pub zone: Option<String>,
    /// The venue's own access points, `ap` label → BSSID: their data frames are counted, and
    /// beacons of any other BSSID count as other networks.
    pub bssids: Vec<(String, [u8; 6])>,
    /// How often counts are published; defaults to the agent tick.
    pub interval: Option<Duration>,
}

/// Reads one `[[source.capture]]`, with the zone it names.
pub(crate) fn read(section: &Section<'_>) -> Option<(CaptureConfig, Option<Spanned<String>>)> {
    let interface = section.string("interface", "an interface name like \"wlan0mon\"", |s| {
        Pattern::new(s).is_ok_and(|p| p.is_literal())
    });
    section.require("interface", "the interface to capture on");
    let promiscuous = section.bool("promiscuous");
    let zone = section.zone_ref();
    let mut bssids = Vec::new();
    if let Some((key, item)) = section.get("bssids") {
        match item.as_table_like() {
            Some(table) => {
                for (name, value) in table.iter() {
                    let span = value.span().or_else(|| table.key(name).and_then(Key::span));
                    let mac = value.as_str().and_then(crate::privacy::parse_mac);
                    match mac {
                        Some(mac) if valid_id(name) => bssids.push((name.to_string(), mac)),
                        _ => section.error(span, format!(
                            "{}: bssids must map access point names (like hall-a-1) to BSSIDs like \"02:00:00:00:01:00\", got {name} = {}",
                            section.label(),
                            section.got(value)
                        )),
                    }
                }
            }
            None => section.error(item.span().or_else(|| key.span()), format!(
                "{}: bssids must be a table like {{ hall-a-1 = \"02:00:00:00:01:00\" }}, got {}",
                section.label(),
                section.got(item)
            )),
        }
    }
    let interval = section.interval();
    let config = CaptureConfig {
        interface: interface?,
        promiscuous: promiscuous.unwrap_or(true),
        zone: zone.as_ref().map(|z| z.value.clone()),
        bssids,
        interval,
    };
    Some((config, zone))
}

impl SourceConfig for Vec<CaptureConfig> {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        let mut zones = Vec::new();
        *self = tables.source.array("capture").each(|entry| {
            let (config, zone) = read(&entry)?;
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
            .map(|c| {
                let zone = c
                    .zone
                    .as_deref()
                    .map_or("the zone of the interface".to_string(), |z| {
                        format!("zone {z}")
                    });
                format!(
                    "capture on {}: counted in {zone}; {} of the venue's own BSSIDs listed",
                    c.interface,
                    c.bssids.len()
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{errors, ok};

    #[test]
    fn capture_sources_read_interface_and_bssids() {
        let (config, _) = ok(
            "[[source.capture]]\ninterface = \"wlan0mon\"\nbssids = { hall-a-1 = \"02:00:00:00:01:00\" }\n",
        );
        let capture = &config.sources.capture[0];
        assert_eq!(capture.interface, "wlan0mon");
        assert!(capture.promiscuous);
        assert_eq!(
            capture.bssids,
            [("hall-a-1".to_string(), [2, 0, 0, 0, 1, 0])]
        );
        let all = errors(
            "[[source.capture]]\npromiscuous = \"yes\"\n[[source.capture]]\ninterface = \"eth*\"\nbssids = { \"Hall A\" = \"nope\" }\n",
        );
        let joined = all.join("\n");
        for needle in [
            ":1:1: [[source.capture]] #1: missing required key `interface`",
            ":2:15: [[source.capture]] #1: promiscuous must be true or false",
            ":4:13: [[source.capture]] #2: interface must be an interface name",
            "[[source.capture]] #2: bssids must map access point names",
        ] {
            assert!(joined.contains(needle), "{needle:?} not in:\n{joined}");
        }
    }
}
