//! The agent's configuration: typed values, loaded from one TOML file (or built from the
//! zero-config defaults) and validated whole, so every mistake of a file is reported at once.

mod load;
mod pattern;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

pub use load::{
    ConfigError, ConfigErrors, KNOWN_KEYS, Warning, load_file, parse, parse_duration, parse_listen,
};
pub use pattern::Pattern;

/// Everything the agent was told to do, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where and what: names shown on the status page and in reports.
    pub venue: Venue,
    /// The HTTP server (metrics, status, API).
    pub http: Http,
    /// The agent's own rhythm and state.
    pub agent: Agent,
    /// Which network interfaces are monitored.
    pub interfaces: InterfaceFilter,
    /// The places people are in; never empty after loading (zero-config adds the host zone).
    pub zones: Vec<Zone>,
    /// Per-source settings.
    pub sources: Sources,
}

/// `[venue]`: what the event is called.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// Human name of the venue and event, shown on pages and reports.
    pub name: String,
    /// Short event id (letters, digits, `-`, `_`), naming history and reports.
    pub event: String,
    /// IANA time zone name used for local times in pages and reports.
    pub timezone: String,
    /// Language of the status page and report.
    pub language: Language,
}

/// A language the agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// French.
    Fr,
    /// English.
    En,
}

/// `[http]`: the listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Longest time a request may take before it is answered 408.
    pub request_timeout: Duration,
}

/// `[agent]`: tick, active window, state.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// How often the hub publishes a snapshot (1 s to 5 min).
    pub tick: Duration,
    /// How long after its last sighting a client still counts as active.
    pub active_window: Duration,
    /// Folder holding the event secret (and later the history).
    pub state_dir: PathBuf,
}

/// `[interfaces]`: which interfaces are monitored.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceFilter {
    /// Name patterns to monitor; empty means every physical, wireless, bond, VLAN or bridge
    /// interface that is not a container's.
    pub include: Vec<Pattern>,
    /// Name patterns never monitored, applied after `include`.
    pub exclude: Vec<Pattern>,
    /// Zone of monitored interfaces (and the clients seen on them) that no `[[zone]]` claims;
    /// unset, their counters carry an empty zone label and their clients are not counted.
    pub zone: Option<String>,
}

/// `[[zone]]`: a hall, a room, a floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Stable id used in metric labels and URLs.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Seat capacity, when known.
    pub seats: Option<u32>,
    /// Interface name patterns whose clients and traffic belong to this zone.
    pub interfaces: Vec<Pattern>,
    /// Client subnets belonging to this zone (for clients seen on shared interfaces).
    pub subnets: Vec<IpNet>,
}

/// `[source.*]`: per-source settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// `[source.netdev]`: interface counters.
    pub netdev: NetdevConfig,
    /// `[source.neighbours]`: the ARP/NDP neighbour table.
    pub neighbours: NeighboursConfig,
}

/// How a source reads the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// rtnetlink, falling back to /proc and /sys when netlink is unavailable.
    Auto,
    /// rtnetlink only.
    Netlink,
    /// /proc and /sys files only (also what fixture tests use).
    Proc,
}

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
