//! The agent's configuration: typed values, loaded from one TOML file (or built from the
//! zero-config defaults) and validated whole, so every mistake of a file is reported at once.

mod load;
mod pattern;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
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
    /// `[thresholds]`: when a zone turns warn or critical.
    pub thresholds: Thresholds,
    /// `[schedule]`: the programme, when there is one.
    pub schedule: Option<ScheduleConfig>,
}

/// `[schedule]`: the event's programme.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// An iCalendar (.ics) file of the sessions, each with its room as `LOCATION`.
    pub file: PathBuf,
    /// How often the file is checked for changes; defaults to the agent tick.
    pub interval: Option<Duration>,
}

/// `[thresholds]` (and a zone's `[zone.thresholds]` overrides): the limits behind every
/// warn/critical status. Ratios are 0..=1 here and percentages in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// DHCP pool use from which a pool, and its zone, is at warn.
    pub dhcp_pool_warn: f64,
    /// DHCP pool use from which a pool, and its zone, is critical.
    pub dhcp_pool_critical: f64,
    /// Utilisation of a zone's busiest interface (bits/s over link speed) for warn.
    pub uplink_warn: f64,
    /// Utilisation of a zone's busiest interface for critical.
    pub uplink_critical: f64,
    /// Clients per seat (a zone with `seats`) for warn; above 1 since people carry
    /// several devices.
    pub occupancy_warn: f64,
    /// Clients per seat for critical.
    pub occupancy_critical: f64,
    /// 95th percentile of DHCP DISCOVER→ACK time seen by a zone's capture, in seconds, for warn.
    pub time_to_lease_warn: f64,
    /// The same, for critical.
    pub time_to_lease_critical: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            dhcp_pool_warn: 0.80,
            dhcp_pool_critical: 0.95,
            uplink_warn: 0.70,
            uplink_critical: 0.90,
            occupancy_warn: 1.5,
            occupancy_critical: 2.0,
            time_to_lease_warn: 2.0,
            time_to_lease_critical: 5.0,
        }
    }
}

/// The event id when the config names none (zero-config, or a file without `event`): pages
/// leave it out, as it says nothing about the venue.
pub const DEFAULT_EVENT: &str = "default";

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

impl Venue {
    /// The venue's time zone; UTC when the system does not know `timezone` (loading the
    /// config warns of that).
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
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
    /// Longest time a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Longest wait for a TLS handshake, for a connection's first request head from the
    /// moment it opened, and for a later head from its first bytes: closes idle new
    /// connections and clients sending headers slowly.
    pub header_timeout: Duration,
    /// Longest a kept-alive connection may wait for its next request's first bytes.
    pub keep_alive_timeout: Duration,
    /// Longest time a response or event stream may wait for the client to take its bytes;
    /// a client that stops reading is disconnected.
    pub send_timeout: Duration,
    /// Open connections served at once; the excess is answered 503 and closed.
    pub max_connections: usize,
    /// `/events` streams served at once; the excess is answered 503.
    pub max_event_streams: usize,
    /// Wrong credentials answered per second and client address (a /64 for IPv6); further
    /// wrong guesses wait their turn. Right credentials never wait.
    pub auth_failures_per_second: u32,
    /// `[http.auth]`: what the status page, `/zone/*`, `/events` and `/api/*` ask for;
    /// `None` leaves them open.
    pub auth: Option<Credentials>,
    /// `[http.metrics_auth]`: what `/metrics` asks for; `None` leaves it open.
    pub metrics_auth: Option<Credentials>,
    /// `tls_cert` and `tls_key`: serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
}

impl Http {
    /// Whether credentials would cross the network unencrypted: some auth is set, TLS is not,
    /// and the listen address is not loopback.
    pub fn credentials_in_clear_text(&self) -> bool {
        (self.auth.is_some() || self.metrics_auth.is_some())
            && self.tls.is_none()
            && !self.listen.ip().is_loopback()
    }
}

/// What a request must carry to be let through; either is accepted when both are set.
/// Secrets are read at load time (from the file or a `*_file`) and never printed: `Debug`
/// shows only the user name.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// HTTP basic authentication: user name (without `:`) and password.
    pub basic: Option<(String, String)>,
    /// A bearer token (`Authorization: Bearer TOKEN`).
    pub bearer: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("basic_user", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// `tls_cert` and `tls_key`: the server's certificate chain and private key, PEM files that
/// were read and found to match at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key of the first certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
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
    /// Most clients the registry holds; past it the least recently seen are evicted early
    /// (and counted), so memory stays bounded whatever clients or lease files do.
    pub max_clients: usize,
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
    /// `[thresholds]` with this zone's overrides applied.
    pub thresholds: Thresholds,
}

/// `[source.*]`: per-source settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    /// `[source.netdev]`: interface counters.
    pub netdev: NetdevConfig,
    /// `[source.neighbours]`: the ARP/NDP neighbour table.
    pub neighbours: NeighboursConfig,
    /// `[[source.dhcp]]`: DHCP servers' lease files (one pool each).
    pub dhcp: Vec<DhcpConfig>,
    /// `[[source.hostapd]]`: hostapd control sockets.
    pub hostapd: Vec<HostapdConfig>,
    /// `[[source.capture]]`: live passive capture on interfaces.
    pub capture: Vec<CaptureConfig>,
}

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

/// Which DHCP server writes a lease file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpKind {
    /// dnsmasq's lease file.
    Dnsmasq,
    /// ISC dhcpd's `dhcpd.leases`.
    Isc,
    /// Kea's memfile CSV (v4 or v6).
    Kea,
}

impl DhcpKind {
    /// The name used in the config and in messages.
    pub fn name(self) -> &'static str {
        match self {
            DhcpKind::Dnsmasq => "dnsmasq",
            DhcpKind::Isc => "isc",
            DhcpKind::Kea => "kea",
        }
    }

    /// Where this server keeps its leases on Debian.
    pub fn default_leases(self) -> &'static str {
        match self {
            DhcpKind::Dnsmasq => "/var/lib/misc/dnsmasq.leases",
            DhcpKind::Isc => "/var/lib/dhcp/dhcpd.leases",
            DhcpKind::Kea => "/var/lib/kea/kea-leases4.csv",
        }
    }
}

/// An inclusive range of addresses handed out by a DHCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    /// First address of the range.
    pub first: IpAddr,
    /// Last address of the range (same family, not before `first`).
    pub last: IpAddr,
}

impl AddressRange {
    /// Number of addresses in the range (saturating for huge IPv6 ranges).
    pub fn size(&self) -> u64 {
        let span = match (self.first, self.last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => u128::from(u32::from(b).saturating_sub(u32::from(a))),
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b).saturating_sub(u128::from(a)),
            _ => 0,
        };
        u64::try_from(span.saturating_add(1)).unwrap_or(u64::MAX)
    }

    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.first, self.last, ip) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => a <= x && x <= b,
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => a <= x && x <= b,
            _ => false,
        }
    }
}

/// `[[source.dhcp]]`: one DHCP server's leases, counted as one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct DhcpConfig {
    /// The server.
    pub kind: DhcpKind,
    /// Pool name (the `pool` label); defaults to the zone id, else the kind.
    pub name: String,
    /// Lease file path.
    pub leases: PathBuf,
    /// Address ranges of the pool; empty means the size is unknown (or from Kea's statistics).
    pub pool: Vec<AddressRange>,
    /// Zone of the clients holding leases; unset, clients go by subnet.
    pub zone: Option<String>,
    /// Kea's control socket, for pool sizes and allocation failures from its statistics.
    pub control_socket: Option<PathBuf>,
    /// Sampling interval; defaults to the agent tick.
    pub interval: Option<Duration>,
}

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
