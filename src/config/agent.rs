//! `[agent]`: the agent's rhythm, its memory bound and where it keeps its state.

use std::path::PathBuf;
use std::time::Duration;

use super::toml::Section;
use super::warnings;

/// Highest `[agent] max_clients` accepted.
const MAX_CLIENTS_LIMIT: i64 = 10_000_000;

/// `[agent]`: tick, active window, state.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// How often the hub publishes a snapshot (1 s to 5 min).
    pub tick: Duration,
    /// How long after its last sighting a client still counts as active.
    pub active_window: Duration,
    /// Folder holding the event secret (and later the history).
    pub state_dir: PathBuf,
    /// Most clients the registry holds; past it the least recently seen are evicted early
    /// (and counted), so memory stays bounded whatever clients or lease files do.
    pub max_clients: usize,
}

/// Reads `[agent]` over `agent` (the defaults).
pub(super) fn read(section: &Section<'_>, agent: &mut Agent) {
    let tick = section.duration("tick", Duration::from_secs(1), Duration::from_secs(300));
    if let Some(tick) = &tick {
        agent.tick = tick.value;
    }
    let window = section.duration("active_window", agent.tick, Duration::from_secs(86_400));
    if let Some(window) = &window {
        agent.active_window = window.value;
        if let Some(warning) = warnings::short_active_window(window.value, agent.tick) {
            section.warn(window.span.clone(), warning);
        }
    }
    if let Some(dir) = section.path("state_dir", "/var/lib/venuemon") {
        agent.state_dir = dir;
    }
    let max_clients = section.field("max_clients", |item| {
        item.as_integer()
            .filter(|n| (1..=MAX_CLIENTS_LIMIT).contains(n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("a positive integer up to {MAX_CLIENTS_LIMIT}"))
    });
    if let Some(max_clients) = max_clients {
        agent.max_clients = max_clients.value;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::defaults::DEFAULT_MAX_CLIENTS;
    use crate::config::testing::{ok, one_error};

    #[test]
    fn tick_out_of_range() {
        assert_eq!(
            one_error("[agent]\ntick = \"10m\"\n"),
            "venuemon.toml:2:8: [agent]: tick must be a duration from 1s to 5m, got \"10m\""
        );
        assert_eq!(
            one_error("[agent]\ntick = \"500ms\"\n"),
            "venuemon.toml:2:8: [agent]: tick must be a duration from 1s to 5m, got \"500ms\""
        );
        assert_eq!(
            one_error("[agent]\ntick = \"10s\"\nactive_window = \"5s\"\n"),
            "venuemon.toml:3:17: [agent]: active_window must be a duration from 10s to 1d, got \"5s\""
        );
    }

    #[test]
    fn max_clients_is_read_and_checked() {
        assert_eq!(ok("").0.agent.max_clients, DEFAULT_MAX_CLIENTS);
        assert_eq!(
            ok("[agent]\nmax_clients = 100000\n").0.agent.max_clients,
            100_000
        );
        for value in ["0", "-1", "\"many\"", "20000000"] {
            assert_eq!(
                one_error(&format!("[agent]\nmax_clients = {value}\n")),
                format!(
                    "venuemon.toml:2:15: [agent]: max_clients must be a positive integer up to \
                     10000000, got {value}"
                )
            );
        }
    }

    #[test]
    fn short_active_window_warns() {
        let (config, warnings) = ok("[agent]\ntick = \"10s\"\nactive_window = \"20s\"\n");
        assert_eq!(config.agent.active_window, Duration::from_secs(20));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .to_string()
                .starts_with("venuemon.toml:3:17: [agent]: active_window (20s) is shorter than 3 ticks (30s): clients may flicker"),
            "{}",
            warnings[0]
        );
    }
}
