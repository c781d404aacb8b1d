//! The venue's inventory: which interfaces are monitored and which zone an interface or a
//! client address belongs to. Built once from the config and shared by sources and the hub.

use std::net::IpAddr;

use serde::Serialize;

use crate::config::{Config, Pattern};

/// Index of a zone in [`Inventory::zones`] (and in every snapshot).
pub(crate) type ZoneIdx = usize;

/// What kind of network device an interface is, as far as choosing defaults goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// The loopback device.
    Loopback,
    /// A NIC backed by hardware (has a `device` in sysfs, or no virtual kind in netlink).
    Physical,
    /// A wireless NIC.
    Wireless,
    /// A software bridge.
    Bridge,
    /// A bonding master.
    Bond,
    /// An 802.1Q VLAN.
    Vlan,
    /// One end of a virtual Ethernet pair (containers, namespaces).
    Veth,
    /// Anything else (tun, dummy, vxlan, ...) or unknown.
    Other,
}

/// Names that container runtimes and hypervisors give their own devices.
const CONTAINER_NAMES: &[&str] = &[
    "docker*", "br-*", "veth*", "virbr*", "vnet*", "cni*", "flannel*", "cali*", "lxcbr*", "lxdbr*",
    "podman*", "kube-*", "cilium_*", "weave*",
];

/// A zone as the inventory sees it.
#[derive(Debug, Clone)]
pub struct ZoneDef {
    /// Stable id, used in labels and URLs.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Seat capacity, when known.
    pub seats: Option<u32>,
    /// Limits for the zone's status.
    pub thresholds: crate::config::Thresholds,
    interfaces: Vec<Pattern>,
    subnets: Vec<ipnet::IpNet>,
}

/// Interface selection and zone mapping.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The zones, in config order.
    pub zones: Vec<ZoneDef>,
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
    container_names: Vec<Pattern>,
    default_zone: Option<ZoneIdx>,
}

impl Inventory {
    /// The inventory a (validated) config describes.
    pub fn new(config: &Config) -> Inventory {
        let zones: Vec<ZoneDef> = config
            .zones
            .iter()
            .map(|z| ZoneDef {
                id: z.id.clone(),
                name: z.name.clone(),
                seats: z.seats,
                thresholds: z.thresholds.clone(),
                interfaces: z.interfaces.clone(),
                subnets: z.subnets.clone(),
            })
            .collect();
        let default_zone = config
            .interfaces
            .zone
            .as_ref()
            .and_then(|id| zones.iter().position(|z| &z.id == id));
        Inventory {
            zones,
            include: config.interfaces.include.clone(),
            exclude: config.interfaces.exclude.clone(),
            container_names: CONTAINER_NAMES
                .iter()
                .filter_map(|p| Pattern::new(p).ok())
                .collect(),
            default_zone,
        }
    }

    /// The zone whose `interfaces` patterns name this interface.
    fn claimed_by(&self, name: &str) -> Option<ZoneIdx> {
        self.zones
            .iter()
            .position(|z| z.interfaces.iter().any(|p| p.matches(name)))
    }

    /// Whether an interface is monitored: named by a zone or by `include` (or, with no
    /// `include`, a physical, wireless, bond, VLAN or bridge device that is not a container's),
    /// and not named by `exclude`.
    pub fn monitors(&self, name: &str, kind: LinkKind) -> bool {
        if self.exclude.iter().any(|p| p.matches(name)) {
            return false;
        }
        if self.claimed_by(name).is_some() {
            return true;
        }
        if !self.include.is_empty() {
            return self.include.iter().any(|p| p.matches(name));
        }
        let default_kind = matches!(
            kind,
            LinkKind::Physical
                | LinkKind::Wireless
                | LinkKind::Bridge
                | LinkKind::Bond
                | LinkKind::Vlan
        );
        default_kind && !self.container_names.iter().any(|p| p.matches(name))
    }

    /// The zone of a monitored interface: the zone naming it, else the default zone.
    /// `None` when the interface is not monitored or no zone applies.
    pub fn zone_of_interface(&self, name: &str, kind: LinkKind) -> Option<ZoneIdx> {
        self.claimed_by(name).or_else(|| {
            self.monitors(name, kind)
                .then_some(self.default_zone)
                .flatten()
        })
    }

    /// The zone of a client seen on `interface` with address `ip`: the zone naming the
    /// interface, else the zone whose subnet holds the address, else the default zone when
    /// the interface is monitored.
    pub fn zone_of_client(&self, interface: &str, kind: LinkKind, ip: IpAddr) -> Option<ZoneIdx> {
        self.claimed_by(interface)
            .or_else(|| self.zone_of_address(ip))
            .or_else(|| self.zone_of_interface(interface, kind))
    }

    /// The zone whose subnets hold `ip`.
    pub fn zone_of_address(&self, ip: IpAddr) -> Option<ZoneIdx> {
        self.zones
            .iter()
            .position(|z| z.subnets.iter().any(|net| net.contains(&ip)))
    }

    /// The index of the zone with id `id`.
    pub fn zone_index(&self, id: &str) -> Option<ZoneIdx> {
        self.zones.iter().position(|z| z.id == id)
    }

    /// The zone and `include` patterns that match none of `present` (the host's interfaces
    /// now), as `(where, pattern)` pairs for warnings. `exclude` patterns may match nothing.
    pub fn unmatched_patterns(&self, present: &[String]) -> Vec<(String, String)> {
        let zone_patterns = self.zones.iter().flat_map(|z| {
            z.interfaces
                .iter()
                .map(move |p| (format!("zone \"{}\" interfaces", z.id), p))
        });
        let include = self
            .include
            .iter()
            .map(|p| ("[interfaces] include".to_string(), p));
        zone_patterns
            .chain(include)
            .filter(|(_, p)| !present.iter().any(|name| p.matches(name)))
            .map(|(place, p)| (place, p.as_str().to_string()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn pattern(p: &str) -> Pattern {
        Pattern::new(p).expect("valid pattern")
    }

    fn venue() -> Inventory {
        let mut config = Config::zero_config("gw");
        let mut hall = config.zones[0].clone();
        hall.id = "hall-a".into();
        hall.interfaces = vec![pattern("wlan*")];
        hall.subnets = vec!["10.10.0.0/22".parse().expect("cidr")];
        let mut room = hall.clone();
        room.id = "room-b".into();
        room.interfaces = vec![pattern("veth-b")];
        room.subnets = vec!["10.20.0.0/24".parse().expect("cidr")];
        config.zones = vec![hall, room];
        config.interfaces.zone = None;
        config.interfaces.exclude = vec![pattern("eth9")];
        Inventory::new(&config)
    }

    #[test]
    fn default_selection_skips_loopback_containers_and_veths() {
        let inv = Inventory::new(&Config::zero_config("gw"));
        assert!(inv.monitors("eth0", LinkKind::Physical));
        assert!(inv.monitors("br0", LinkKind::Bridge));
        assert!(!inv.monitors("lo", LinkKind::Loopback));
        assert!(!inv.monitors("docker0", LinkKind::Bridge));
        assert!(!inv.monitors("br-1a2b3c", LinkKind::Bridge));
        assert!(!inv.monitors("vethab12", LinkKind::Veth));
        assert!(!inv.monitors("tun0", LinkKind::Other));
        assert_eq!(inv.zone_of_interface("eth0", LinkKind::Physical), Some(0));
    }

    #[test]
    fn zones_claim_interfaces_even_when_their_kind_is_not_default() {
        let inv = venue();
        assert!(inv.monitors("veth-b", LinkKind::Veth));
        assert_eq!(inv.zone_of_interface("veth-b", LinkKind::Veth), Some(1));
        assert_eq!(inv.zone_of_interface("wlan1", LinkKind::Wireless), Some(0));
        assert_eq!(inv.zone_of_interface("eth0", LinkKind::Physical), None);
        assert!(!inv.monitors("eth9", LinkKind::Physical), "exclude wins");
    }

    #[test]
    fn clients_map_by_interface_then_subnet() {
        let inv = venue();
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(
            inv.zone_of_client("wlan0", LinkKind::Wireless, ip("10.20.0.5")),
            Some(0)
        );
        assert_eq!(
            inv.zone_of_client("eth0", LinkKind::Physical, ip("10.20.0.5")),
            Some(1)
        );
        assert_eq!(
            inv.zone_of_client("eth0", LinkKind::Physical, ip("192.0.2.1")),
            None
        );
    }

    #[test]
    fn reports_patterns_matching_nothing() {
        let inv = venue();
        let present = vec!["wlan0".to_string(), "eth0".to_string()];
        let unmatched = inv.unmatched_patterns(&present);
        let patterns: Vec<&str> = unmatched.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(patterns, ["veth-b"]);
    }
}
