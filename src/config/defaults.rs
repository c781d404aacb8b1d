//! Zero-config: what the agent does with no file at all, and the defaults a file starts
//! from. One zone named after the host takes every interface; the interface and neighbour
//! sources run; what each source kind finds at its usual Debian paths (`discover` of
//! `config::SourceConfig`: the DHCP lease files, the hostapd control folder) is read too
//! (only when there is no file: a file says what it wants).

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use super::{Agent, Config, Http, InterfaceFilter, Language, Sources, Thresholds, Venue, Zone};

/// `[agent] max_clients` by default: a large event's clients, a registry of 33 MiB (47 MiB
/// at its peak; docs/RELIABILITY.md, "Memory under floods").
pub(crate) const DEFAULT_MAX_CLIENTS: usize = 250_000;

/// The port the agent listens on by default, on every IPv4 address.
const DEFAULT_PORT: u16 = 9842;

impl Config {
    /// The configuration an empty file gives: every default, and one zone named after the
    /// host, which also takes every interface no zone claims.
    pub fn zero_config(host: &str) -> Config {
        let zone = host_zone(host);
        Config {
            venue: Venue {
                name: zone.name.clone(),
                event: super::DEFAULT_EVENT.to_string(),
                timezone: "UTC".to_string(),
                language: Language::En,
            },
            http: Http {
                listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, DEFAULT_PORT)),
                request_timeout: Duration::from_secs(10),
                header_timeout: Duration::from_secs(10),
                keep_alive_timeout: Duration::from_secs(20),
                send_timeout: Duration::from_secs(30),
                max_connections: 512,
                max_event_streams: 128,
                auth_failures_per_second: 5,
                auth: None,
                metrics_auth: None,
                tls: None,
            },
            agent: Agent {
                tick: Duration::from_secs(5),
                active_window: Duration::from_secs(5 * 60),
                state_dir: default_state_dir(),
                max_clients: DEFAULT_MAX_CLIENTS,
            },
            interfaces: InterfaceFilter {
                include: Vec::new(),
                exclude: Vec::new(),
                zone: Some(zone.id.clone()),
            },
            zones: vec![zone],
            sources: Sources::default(),
            thresholds: Thresholds::default(),
            history: crate::history::config::HistoryConfig::default(),
        }
    }

    /// The configuration used when there is no file at all: [`Config::zero_config`], plus the
    /// DHCP lease files and the hostapd control folder found at their usual Debian paths, all
    /// counted in the host zone.
    pub fn discovered(host: &str) -> Config {
        let mut config = Config::zero_config(host);
        let zone = config.interfaces.zone.clone();
        config.sources.discover(zone.as_deref());
        config
    }
}

/// The zone added when the file defines none: named after the host.
fn host_zone(host: &str) -> Zone {
    let host = host.trim();
    let name = if host.is_empty() { "host" } else { host };
    let mapped: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // A zone id starts with a letter or digit.
    let id: String = mapped
        .trim_start_matches(['-', '_'])
        .chars()
        .take(64)
        .collect();
    Zone {
        id: if id.is_empty() {
            "host".to_string()
        } else {
            id
        },
        name: name.to_string(),
        seats: None,
        interfaces: Vec::new(),
        subnets: Vec::new(),
        thresholds: Thresholds::default(),
    }
}

/// Where the event secret and history live when the file does not say.
fn default_state_dir() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    state_dir_from(
        env("STATE_DIRECTORY"),
        running_as_root(),
        env("XDG_STATE_HOME"),
        env("HOME"),
    )
}

/// Whether the process runs as root: `/proc/self` belongs to the effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The default state folder: systemd's `StateDirectory=` first, then the system path for
/// root, then the XDG state home, then `~/.local/state`.
fn state_dir_from(
    state_directory: Option<OsString>,
    root: bool,
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    // systemd passes a colon-separated list when a unit names several folders.
    if let Some(first) = state_directory.and_then(|v| std::env::split_paths(&v).next())
        && !first.as_os_str().is_empty()
    {
        return first;
    }
    if root {
        return PathBuf::from("/var/lib/venuemon");
    }
    if let Some(xdg) = xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return xdg.join("venuemon");
    }
    match home {
        Some(home) => PathBuf::from(home).join(".local/state/venuemon"),
        None => std::env::temp_dir().join("venuemon"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::config::toml::valid_id;

    #[test]
    fn host_zone_ids() {
        assert_eq!(host_zone("").id, "host");
        assert_eq!(host_zone("").name, "host");
        assert_eq!(host_zone("📶").id, "host");
        assert_eq!(host_zone("GW_1").id, "gw_1");
        assert_eq!(host_zone("-edge").id, "edge");
        assert_eq!(host_zone(&"a".repeat(100)).id.len(), 64);
        assert!(valid_id(&host_zone("Borne Wi-Fi n°3").id));
    }

    #[test]
    fn state_dir_defaults() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            state_dir_from(os("/var/lib/venuemon:/var/lib/other"), false, None, None),
            PathBuf::from("/var/lib/venuemon")
        );
        assert_eq!(
            state_dir_from(None, true, os("/x"), os("/root")),
            PathBuf::from("/var/lib/venuemon")
        );
        assert_eq!(
            state_dir_from(None, false, os("/home/ana/.state"), os("/home/ana")),
            PathBuf::from("/home/ana/.state/venuemon")
        );
        assert_eq!(
            state_dir_from(None, false, os("relative"), os("/home/ana")),
            PathBuf::from("/home/ana/.local/state/venuemon")
        );
    }

    #[test]
    fn zero_config_is_the_empty_file() {
        for host in ["gw-1", "Salle-A.local", "", "📶 Wi-Fi"] {
            let (config, warnings) = parse("", "", host).expect("the empty file is valid");
            assert_eq!(config, Config::zero_config(host));
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        let config = Config::zero_config("Salle-A.local");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(config.zones[0].id, "salle-a-local");
        assert_eq!(config.zones[0].name, "Salle-A.local");
        assert_eq!(config.interfaces.zone.as_deref(), Some("salle-a-local"));
        assert_eq!(config.venue.name, "Salle-A.local");
        assert_eq!(config.venue.event, "default");
        assert_eq!(config.venue.timezone, "UTC");
        assert_eq!(config.venue.language, Language::En);
        assert_eq!(config.http.listen.to_string(), "0.0.0.0:9842");
        assert_eq!(config.agent.tick, Duration::from_secs(5));
        assert_eq!(config.agent.active_window, Duration::from_secs(300));
        assert_eq!(config.sources.netdev.proc_root, PathBuf::from("/proc"));
    }
}
