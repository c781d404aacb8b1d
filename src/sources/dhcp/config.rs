//! `[[source.dhcp]]`: one DHCP server's lease file, counted as one pool, and how its section
//! of the configuration file is read.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

use crate::config::toml::{Section, Spanned, shorten_quoted};
use crate::config::{Coverage, SourceConfig, SourceTables, Zone, ZoneRef};

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
    /// Every kind, in the order the config lists them.
    pub const ALL: [DhcpKind; 3] = [DhcpKind::Dnsmasq, DhcpKind::Isc, DhcpKind::Kea];

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

/// Reads one `[[source.dhcp]]`, with the zone it names.
pub(crate) fn read(section: &Section<'_>) -> Option<(DhcpConfig, Option<Spanned<String>>)> {
    let kinds = DhcpKind::ALL.map(|kind| (kind.name(), kind));
    let kind = section.choice("kind", &kinds);
    section.require("kind", "\"dnsmasq\", \"isc\" or \"kea\"");
    let name = section.string("name", "1 to 64 letters, digits, `-`, `_` or `.`", |s| {
        (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    });
    let leases = section.path("leases", "/var/lib/misc/dnsmasq.leases");
    let pool = match section.get("pool").map(|(_, item)| item.is_str()) {
        Some(true) => section
            .field("pool", |item| {
                item.as_str().ok_or_else(String::new).and_then(parse_pool)
            })
            .map(|r| vec![r.value]),
        Some(false) => section
            .list("pool", "a range or network, or a list of them", |s| {
                parse_pool(s).map_err(|e| format!("pool must be {e}"))
            })
            .map(|v| v.into_iter().map(|r| r.value).collect()),
        None => None,
    };
    let zone = section.zone_ref();
    let control_socket = section.path("control_socket", "/run/kea/kea4-ctrl-socket");
    let interval = section.interval();
    let kind = kind?;
    if control_socket.is_some() && kind != DhcpKind::Kea {
        section.error(
            section.key_span("control_socket"),
            format!(
                "{}: control_socket is only for kind = \"kea\"",
                section.label()
            ),
        );
    }
    let config = DhcpConfig {
        kind,
        name: name.unwrap_or_default(),
        leases: leases.unwrap_or_else(|| PathBuf::from(kind.default_leases())),
        pool: pool.unwrap_or_default(),
        zone: zone.as_ref().map(|z| z.value.clone()),
        control_socket,
        interval,
    };
    Some((config, zone))
}

/// Names the pools the file left unnamed (after their zone, else their kind) and reports,
/// through `section` (`[source]`), names used twice.
pub(crate) fn name_pools(section: &Section<'_>, pools: &mut [DhcpConfig]) {
    for d in pools.iter_mut().filter(|d| d.name.is_empty()) {
        d.name = d.zone.clone().unwrap_or_else(|| d.kind.name().to_string());
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut duplicates = Vec::new();
    for d in pools.iter() {
        if seen.contains(&d.name.as_str()) {
            duplicates.push(d.name.clone());
        }
        seen.push(&d.name);
    }
    for name in duplicates {
        section.error(
            None,
            format!("[[source.dhcp]]: two pools are named \"{name}\"; give each a distinct `name`"),
        );
    }
}

/// Parses a DHCP pool: a range `FIRST-LAST` or a network `ADDRESS/PREFIX` (for IPv4 networks
/// of 4 addresses or more, without the network and broadcast addresses). The error is the
/// expected form.
fn parse_pool(text: &str) -> Result<AddressRange, String> {
    let form = || {
        format!(
            "a range like \"10.10.0.10-10.10.3.250\" or a network like \"10.10.0.0/22\", got {}",
            shorten_quoted(text)
        )
    };
    if let Some((first, last)) = text.split_once('-') {
        let first: IpAddr = first.trim().parse().map_err(|_| form())?;
        let last: IpAddr = last.trim().parse().map_err(|_| form())?;
        if first.is_ipv4() != last.is_ipv4() || last < first {
            return Err(format!(
                "{}: the range must go up within one address family",
                form()
            ));
        }
        return Ok(AddressRange { first, last });
    }
    let net: IpNet = text.trim().parse().map_err(|_| form())?;
    let (first, last) = match net {
        IpNet::V4(v4) if v4.prefix_len() <= 30 => {
            let first = u32::from(v4.network()) + 1;
            let last = u32::from(v4.broadcast()) - 1;
            (Ipv4Addr::from(first).into(), Ipv4Addr::from(last).into())
        }
        _ => (net.network(), net.broadcast()),
    };
    Ok(AddressRange { first, last })
}

impl SourceConfig for Vec<DhcpConfig> {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        let mut zones = Vec::new();
        *self = tables.source.array("dhcp").each(|entry| {
            let (config, zone) = read(&entry)?;
            zones.extend(zone.map(|z| (entry.label().to_string(), z)));
            Some(config)
        });
        name_pools(tables.source, self);
        zones
    }

    fn measures(&self) -> bool {
        !self.is_empty()
    }

    fn covers(&self, zone: &Zone, _interfaces_present: bool) -> Vec<Coverage> {
        self.iter()
            .filter_map(|d| match &d.zone {
                Some(id) => (*id == zone.id).then_some(Coverage::Named),
                None => (!zone.subnets.is_empty()).then_some(Coverage::Subnets),
            })
            .collect()
    }

    fn describe(&self) -> Vec<String> {
        self.iter()
            .map(|d| {
                let pool = if d.pool.is_empty() {
                    "pool size unknown (no pool set)".to_string()
                } else {
                    let size: u64 = d.pool.iter().map(AddressRange::size).sum();
                    format!("pool of {size} addresses")
                };
                let statistics = d
                    .control_socket
                    .as_ref()
                    .map(|p| format!("; server statistics from {}", p.display()))
                    .unwrap_or_default();
                let zone = d
                    .zone
                    .as_deref()
                    .map_or("the zone of their subnet".to_string(), |z| {
                        format!("zone {z}")
                    });
                format!(
                    "dhcp pool {}: {} lease file {}; {pool}; clients in {zone}{statistics}",
                    d.name,
                    d.kind.name(),
                    d.leases.display(),
                )
            })
            .collect()
    }

    /// The lease file of each server at its usual Debian path, when it is there.
    fn discover(&mut self, zone: Option<&str>) {
        for kind in DhcpKind::ALL {
            let leases = Path::new(kind.default_leases());
            if leases.is_file() {
                self.push(DhcpConfig {
                    kind,
                    name: kind.name().to_string(),
                    leases: leases.to_path_buf(),
                    pool: Vec::new(),
                    zone: zone.map(str::to_string),
                    control_socket: None,
                    interval: None,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::testing::{errors, ok};

    #[test]
    fn dhcp_sources_read_pools_zones_and_defaults() {
        let (config, _) = ok(r#"
[[zone]]
id = "hall-a"
subnets = ["10.10.0.0/22"]

[[source.dhcp]]
kind = "dnsmasq"
pool = "10.10.0.10-10.10.3.250"
zone = "hall-a"

[[source.dhcp]]
kind = "kea"
name = "hall-a-v6"
leases = "/var/lib/kea/kea-leases6.csv"
pool = ["10.20.0.0/24", "2001:db8::100-2001:db8::1ff"]
control_socket = "/run/kea/kea4-ctrl-socket"
"#);
        let [dnsmasq, kea] = config.sources.dhcp.as_slice() else {
            panic!("two dhcp sources")
        };
        assert_eq!(dnsmasq.name, "hall-a", "named after its zone");
        assert_eq!(
            dnsmasq.leases,
            PathBuf::from("/var/lib/misc/dnsmasq.leases")
        );
        assert_eq!(dnsmasq.pool[0].size(), 3 * 256 + 250 - 10 + 1);
        assert_eq!(kea.pool[0].size(), 254, "network and broadcast left out");
        assert_eq!(kea.pool[1].size(), 256);
        assert!(kea.pool[0].contains("10.20.0.1".parse().expect("ip")));
        assert!(!kea.pool[0].contains("10.20.0.0".parse().expect("ip")));
    }

    #[test]
    fn dhcp_mistakes_each_have_a_message() {
        let all = errors(
            r#"
[[source.dhcp]]
pool = "10.0.0.9-10.0.0.1"
control_socket = "/run/x"

[[source.dhcp]]
kind = "dhcpd"
pool = ["10.0.0.0/24", "nope"]

[[source.dhcp]]
kind = "isc"
control_socket = "/run/x"

[[source.dhcp]]
kind = "dnsmasq"
[[source.dhcp]]
kind = "dnsmasq"
"#,
        );
        let joined = all.join("\n");
        for needle in [
            ":2:1: [[source.dhcp]] #1: missing required key `kind`",
            ":3:8: [[source.dhcp]] #1: pool must be a range like",
            ":7:8: [[source.dhcp]] #2: kind must be \"dnsmasq\", \"isc\" or \"kea\", got \"dhcpd\"",
            ":8:24: [[source.dhcp]] #2: pool must be a range like",
            ":12:1: [[source.dhcp]] #3: control_socket is only for kind = \"kea\"",
            "two pools are named \"dnsmasq\"",
        ] {
            assert!(joined.contains(needle), "{needle:?} not in:\n{joined}");
        }
    }
}
