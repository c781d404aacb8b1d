//! The neighbour source: clients the kernel has recently talked to, from the ARP (IPv4) and
//! NDP (IPv6) table. Entries that are REACHABLE, STALE, DELAY or PROBE count; FAILED,
//! INCOMPLETE, PERMANENT and NOARP do not. The host's own gateways (next hops of its routes)
//! are infrastructure and never count. MACs are hashed here and go no further.

pub(crate) mod config;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;

use super::links::LinkReader;
use super::netlink::{self, Dump, Table, attributes, ip_address, u16_at, u32_at};
use super::{ErrorKind, Observation, Sighting, Source, SourceError, Starter};
use crate::files;
use crate::inventory::{Inventory, LinkKind};
use crate::privacy::{ClientKey, client_mac, parse_mac};

mod gateways;

/// One row of `/proc/net/arp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArpEntry {
    /// The neighbour's IPv4 address.
    pub ip: Ipv4Addr,
    /// `ATF_*` flags (0x2 complete, 0x4 permanent).
    pub flags: u32,
    /// Hardware address, when it parses as a MAC.
    pub mac: Option<[u8; 6]>,
    /// Interface name.
    pub device: String,
}

const ATF_COM: u32 = 0x02;
const ATF_PERM: u32 = 0x04;

/// Parses `/proc/net/arp`. Rows that do not parse are skipped (the table is rewritten while
/// read); the count of skipped rows is returned beside the entries.
///
/// # Errors
/// The header is missing: this is not an ARP table.
pub(crate) fn parse_proc_net_arp(text: &str) -> Result<(Vec<ArpEntry>, usize), SourceError> {
    let mut lines = text.lines();
    if !lines.next().is_some_and(|h| h.starts_with("IP address")) {
        return Err(SourceError::new(
            ErrorKind::Parse,
            "not a /proc/net/arp table (header missing)",
        ));
    }
    let mut entries = Vec::new();
    let mut skipped = 0;
    for line in lines {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let entry = match fields.as_slice() {
            [ip, _hw_type, flags, mac, _mask, device] => (|| {
                Some(ArpEntry {
                    ip: ip.parse().ok()?,
                    flags: u32::from_str_radix(flags.strip_prefix("0x")?, 16).ok()?,
                    mac: parse_mac(mac),
                    device: (*device).to_string(),
                })
            })(),
            _ => None,
        };
        match entry {
            Some(e) => entries.push(e),
            None => skipped += 1,
        }
    }
    Ok((entries, skipped))
}

/// Whether a neighbour state (`NUD_*`, `include/uapi/linux/neighbour.h`) means the client
/// was recently there.
pub(crate) fn is_active(state: u16) -> bool {
    state & (libc::NUD_REACHABLE | libc::NUD_STALE | libc::NUD_DELAY | libc::NUD_PROBE) != 0
}

/// Samples the neighbour table through the same seam as the interface source.
pub(crate) struct NeighboursSource {
    reader: LinkReader,
    inventory: Arc<Inventory>,
    key: ClientKey,
    /// The hardware address each gateway last had in the table, kept while it stays a next
    /// hop ([`clients`]).
    gateways: Arc<Mutex<Gateways>>,
}

/// A gateway's hardware address by its next hop.
type Gateways = HashMap<gateways::NextHop, Vec<u8>>;

impl NeighboursSource {
    /// A source hashing MACs with `key` and mapping clients to zones with `inventory`.
    pub(crate) fn new(
        reader: LinkReader,
        inventory: Arc<Inventory>,
        key: ClientKey,
    ) -> NeighboursSource {
        NeighboursSource {
            reader,
            inventory,
            key,
            gateways: Arc::default(),
        }
    }

    async fn read_netlink(&self) -> Result<Vec<Sighting>, SourceError> {
        let links = self.reader.links().await?;
        let (inventory, key) = (Arc::clone(&self.inventory), self.key.clone());
        let gateways = Arc::clone(&self.gateways);
        // A venue's table holds tens of thousands of entries: read and hashed off the runtime.
        super::blocking(move || {
            let messages = netlink::dump(Table::Neighbours)?;
            let routes = netlink::dump(Table::Routes)?;
            let by_index: HashMap<u32, (String, LinkKind)> = links
                .into_iter()
                .map(|l| (l.index, (l.name, l.kind)))
                .collect();
            let mut gateways = gateways.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(clients(&messages, &routes, &mut gateways)
                .filter_map(|n| {
                    let (device, kind) = by_index.get(&n.ifindex)?;
                    sighting(&inventory, &key, n.mac, device, *kind, n.ip, n.age)
                })
                .collect())
        })
        .await
    }

    async fn read_proc(&self) -> Result<Vec<Sighting>, SourceError> {
        let LinkReader::Proc { proc_root, .. } = &self.reader else {
            return Ok(Vec::new());
        };
        let path = proc_root.join("net/arp");
        let kinds: HashMap<String, LinkKind> = self
            .reader
            .links()
            .await
            .map(|links| links.into_iter().map(|l| (l.name, l.kind)).collect())
            .unwrap_or_default();
        let (inventory, key) = (Arc::clone(&self.inventory), self.key.clone());
        super::blocking(move || {
            let text =
                files::read_regular_to_string(&path).map_err(|e| SourceError::io(&path, &e))?;
            let (entries, skipped) = parse_proc_net_arp(&text)?;
            if skipped > 0 {
                tracing::debug!(skipped, "unparsable rows in the ARP table skipped");
            }
            Ok(entries
                .iter()
                .filter(|e| e.flags & ATF_COM != 0 && e.flags & ATF_PERM == 0)
                .filter_map(|e| {
                    let kind = kinds.get(&e.device).copied().unwrap_or(LinkKind::Other);
                    let ip = IpAddr::V4(e.ip);
                    sighting(
                        &inventory,
                        &key,
                        &e.mac?,
                        &e.device,
                        kind,
                        ip,
                        Duration::ZERO,
                    )
                })
                .collect())
        })
        .await
    }
}

/// One entry of the neighbour table, with the fields the source uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Neighbour<'a> {
    /// The interface it was seen on.
    ifindex: u32,
    /// Its IPv4 or IPv6 address.
    ip: IpAddr,
    /// Its hardware address.
    mac: &'a [u8],
    /// How long ago it last answered.
    age: Duration,
    /// Whether its state means it was recently there ([`is_active`]).
    active: bool,
    /// Whether it is an IPv6 router (`NTF_ROUTER`: it said so in its neighbour
    /// advertisements, RFC 4861 section 4.4).
    router: bool,
}

/// Attributes of an `RTM_NEWNEIGH` message (`include/uapi/linux/neighbour.h`).
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;
const NDA_CACHEINFO: u16 = 3;

/// The entry of the payload of one `RTM_NEWNEIGH` message (`struct ndmsg`, 12 bytes, then
/// attributes); `None` without an IP or a hardware address.
fn neighbour(message: &[u8]) -> Option<Neighbour<'_>> {
    let ifindex = u32_at(message, 4)?;
    let state = u16_at(message, 8)?;
    let flags = *message.get(10)?;
    let mut ip = None;
    let mut mac = None;
    let mut age = Duration::ZERO;
    for (kind, value) in attributes(message, 12) {
        match kind {
            NDA_DST => ip = ip_address(value),
            NDA_LLADDR => mac = Some(value),
            // `struct nda_cacheinfo`, whose first field is the time since the neighbour last
            // answered, in USER_HZ (1/100 s).
            NDA_CACHEINFO => {
                age = Duration::from_millis(u64::from(u32_at(value, 0).unwrap_or(0)) * 10)
            }
            _ => {}
        }
    }
    Some(Neighbour {
        ifindex,
        ip: ip?,
        mac: mac?,
        age,
        active: is_active(state),
        router: flags & libc::NTF_ROUTER != 0,
    })
}

/// The neighbours that may be clients: active entries that are not routers. A router is a
/// gateway of the host, a next hop of `routes` (interface and address, any table, IPv4 or
/// IPv6), or an IPv6 router by its own word ([`Neighbour::router`]); every entry with a
/// router's hardware address on its interface is that router too (its other IPv4 and IPv6
/// addresses) and is left out with it. `gateways` remembers each next hop's hardware address
/// from one sample to the next, as long as it stays a next hop: the kernel drops an idle
/// entry (the router's IPv6 one, say) while keeping its others, which would then count.
fn clients<'a>(
    messages: &'a Dump,
    routes: &Dump,
    gateways: &mut Gateways,
) -> impl Iterator<Item = Neighbour<'a>> + use<'a> {
    let hops = gateways::next_hops(routes.messages());
    gateways.retain(|hop, _| hops.contains(hop));
    // Routers' hardware addresses by interface: a handful, owned, so that the pass below
    // looks each entry up without a copy. Two passes over the table rather than a copy of
    // it: it may hold 100 000 entries.
    let mut routers: HashMap<u32, HashSet<Vec<u8>>> = HashMap::new();
    for n in messages.messages().filter_map(neighbour) {
        if hops.contains(&(n.ifindex, n.ip)) {
            gateways.insert((n.ifindex, n.ip), n.mac.to_vec());
        }
        if n.router {
            routers.entry(n.ifindex).or_default().insert(n.mac.to_vec());
        }
    }
    for ((ifindex, _), mac) in gateways.iter() {
        routers.entry(*ifindex).or_default().insert(mac.clone());
    }
    let router =
        move |n: &Neighbour<'_>| routers.get(&n.ifindex).is_some_and(|m| m.contains(n.mac));
    messages
        .messages()
        .filter_map(neighbour)
        .filter(move |n| n.active && !router(n))
}

/// A neighbour as a client in its zone: the MAC hashed with `key`; `None` when the MAC is
/// not a client's or the neighbour is in no zone.
fn sighting(
    inventory: &Inventory,
    key: &ClientKey,
    mac: &[u8],
    device: &str,
    kind: LinkKind,
    ip: IpAddr,
    age: Duration,
) -> Option<Sighting> {
    let mac = client_mac(mac)?;
    let zone = inventory.zone_of_client(device, kind, ip)?;
    Some(Sighting {
        client: key.client(&mac),
        zone,
        age,
    })
}

impl Source for NeighboursSource {
    const NAME: &'static str = "neighbours";

    fn instance(&self) -> String {
        self.reader.instance().to_string()
    }

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        let sightings = match self.reader {
            LinkReader::Netlink { .. } => self.read_netlink().await?,
            LinkReader::Proc { .. } => self.read_proc().await?,
        };
        Ok(vec![Observation::Clients(sightings)])
    }
}

/// Starts the neighbour source, unless `[source.neighbours]` disables it.
///
/// # Errors
/// The backend cannot be opened.
pub(crate) fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    let n = &config.sources.neighbours;
    if !n.enabled {
        return Ok(());
    }
    let reader = LinkReader::open(n.backend, &n.proc_root, &config.sources.netdev.sys_root)
        .context("neighbour source")?;
    let source = NeighboursSource::new(reader, Arc::clone(ctx.inventory), ctx.key.clone());
    ctx.spawn(source, n.interval);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_route::neighbour::{
        NeighbourAddress, NeighbourAttribute, NeighbourCacheInfo, NeighbourFlags, NeighbourMessage,
        NeighbourState,
    };
    use std::fs;

    #[test]
    fn a_dumped_entry_decodes_to_its_interface_address_hardware_age_and_state() {
        let message = entry(7, ip("2001:db8::20"), LAPTOP_MAC, NeighbourState::Delay);
        let decoded = neighbour(&message).expect("an entry");
        assert_eq!(
            decoded,
            Neighbour {
                ifindex: 7,
                ip: ip("2001:db8::20"),
                mac: &LAPTOP_MAC,
                age: Duration::from_millis(2500),
                active: true,
                router: false,
            }
        );
        // Cut anywhere, an entry decodes to what is whole or to nothing: it never panics.
        for cut in 0..message.len() {
            let _ = neighbour(&message[..cut]);
        }
        assert_eq!(neighbour(&message[..12]), None, "no address");
    }

    #[test]
    fn parses_node_exporter_arp_fixture() {
        let text = testing::read_text(&testing::shared_fixture("node_exporter/proc-net-arp"));
        let (entries, skipped) = parse_proc_net_arp(&text).expect("parses");
        assert_eq!((entries.len(), skipped), (7, 0));
        assert_eq!(entries[0].ip, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(entries[0].flags, ATF_COM);
        assert_eq!(entries[0].mac, Some([0xcc, 0xaa, 0xdd, 0xee, 0xaa, 0xbb]));
        assert_eq!(entries[6].device, "nope");
        let per_device = |d: &str| entries.iter().filter(|e| e.device == d).count();
        assert_eq!((per_device("eth0"), per_device("eth1")), (3, 3));
    }

    #[test]
    fn bad_rows_are_skipped_and_garbage_is_an_error() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device\n\
                    10.0.0.1 0x1 0x2 00:11:22:33:44:55 * eth0\n\
                    10.0.0.2 0x1 0x2 00:11:22\n\
                    not-an-ip 0x1 0x2 00:11:22:33:44:55 * eth0\n\
                    10.0.0.3 0x1 zz 00:11:22:33:44:55 * eth0\n\
                    10.0.0.4 0x1 0x0 00:00:00:00:00:00 * eth0\n";
        let (entries, skipped) = parse_proc_net_arp(text).expect("parses");
        assert_eq!((entries.len(), skipped), (2, 3));
        assert!(parse_proc_net_arp("").is_err());
        assert!(parse_proc_net_arp("\u{fffd}\u{0}").is_err());
    }

    #[test]
    fn only_live_states_count() {
        use NeighbourState::*;
        let live: Vec<bool> = [
            Reachable, Stale, Delay, Probe, Failed, Incomplete, Permanent, Noarp, None,
        ]
        .into_iter()
        .map(|state| is_active(state.into()))
        .collect();
        assert_eq!(
            live,
            [true, true, true, true, false, false, false, false, false]
        );
    }

    /// A neighbour entry on interface `ifindex`, as the kernel writes it in a dump (encoded
    /// by netlink-packet-route, the decoders' cross-check).
    fn entry(ifindex: u32, ip: IpAddr, mac: [u8; 6], state: NeighbourState) -> Vec<u8> {
        encode(message(ifindex, ip, mac, state))
    }

    fn encode(message: NeighbourMessage) -> Vec<u8> {
        netlink::tests::payload(RouteNetlinkMessage::NewNeighbour(message))
    }

    fn message(ifindex: u32, ip: IpAddr, mac: [u8; 6], state: NeighbourState) -> NeighbourMessage {
        let mut message = NeighbourMessage::default();
        message.header.ifindex = ifindex;
        message.header.state = state;
        message.attributes = vec![
            NeighbourAttribute::Destination(match ip {
                IpAddr::V4(a) => NeighbourAddress::Inet(a),
                IpAddr::V6(a) => NeighbourAddress::Inet6(a),
            }),
            NeighbourAttribute::LinkLayerAddress(mac.to_vec()),
            // Confirmed 2.5 s ago (250 USER_HZ), used, updated, refcnt.
            NeighbourAttribute::CacheInfo(
                NeighbourCacheInfo::parse(&[250u32, 1, 2, 1].map(u32::to_ne_bytes).concat())
                    .expect("16 bytes"),
            ),
        ];
        message
    }

    fn default_route(oif: u32, via: IpAddr) -> Vec<u8> {
        use netlink_packet_route::route::{RouteAddress, RouteAttribute};
        gateways::tests::route(vec![
            RouteAttribute::Oif(oif),
            RouteAttribute::Gateway(match via {
                IpAddr::V4(a) => RouteAddress::Inet(a),
                IpAddr::V6(a) => RouteAddress::Inet6(a),
            }),
        ])
    }

    const ROUTER_MAC: [u8; 6] = [0x00, 0x16, 0x3e, 0x00, 0x00, 0xfe];
    const LAPTOP_MAC: [u8; 6] = [0x00, 0x16, 0x3e, 0x00, 0x00, 0x11];

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_home_network_router_is_not_a_client_by_any_of_its_addresses() {
        use NeighbourState::*;
        let table = [
            entry(2, ip("192.168.1.1"), ROUTER_MAC, Reachable),
            entry(2, ip("fe80::1"), ROUTER_MAC, Stale),
            // The router's global address (its DNS server, say): the same device.
            entry(2, ip("2001:db8::1"), ROUTER_MAC, Reachable),
            entry(2, ip("192.168.1.20"), LAPTOP_MAC, Reachable),
        ];
        let routes = [
            default_route(2, ip("192.168.1.1")),
            default_route(2, ip("fe80::1")),
        ];
        let (table, routes) = (Dump::of(&table), Dump::of(&routes));
        let counted: Vec<_> = clients(&table, &routes, &mut Gateways::new()).collect();
        assert_eq!(counted.len(), 1, "{counted:?}");
        assert_eq!(
            (counted[0].ip, counted[0].mac),
            (ip("192.168.1.20"), &LAPTOP_MAC[..])
        );
        // Without routes, the router is a neighbour like any other.
        let none = Dump::default();
        assert_eq!(clients(&table, &none, &mut Gateways::new()).count(), 4);
    }

    #[test]
    fn a_gateway_is_matched_on_its_own_interface_only() {
        use NeighbourState::*;
        let table = [
            entry(2, ip("10.0.0.1"), ROUTER_MAC, Reachable),
            // The same address and hardware behind another interface is another device.
            entry(3, ip("10.0.0.1"), ROUTER_MAC, Reachable),
        ];
        let (table, routes) = (
            Dump::of(&table),
            Dump::of(&[default_route(2, ip("10.0.0.1"))]),
        );
        let counted = clients(&table, &routes, &mut Gateways::new());
        assert_eq!(counted.map(|n| n.ifindex).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn a_failed_gateway_entry_still_marks_its_hardware_and_inactive_entries_never_count() {
        use NeighbourState::*;
        let table = [
            entry(2, ip("10.0.0.1"), ROUTER_MAC, Failed),
            entry(2, ip("10.0.0.2"), ROUTER_MAC, Reachable),
            entry(2, ip("10.0.0.20"), LAPTOP_MAC, Incomplete),
        ];
        let (table, routes) = (
            Dump::of(&table),
            Dump::of(&[default_route(2, ip("10.0.0.1"))]),
        );
        assert_eq!(clients(&table, &routes, &mut Gateways::new()).count(), 0);
    }

    /// Regression: the kernel dropped the idle neighbour entry of an IPv6 default route's
    /// router (as it does past 128 entries) and kept its IPv4 one, no next hop of any route:
    /// the router counted as a client until its IPv6 entry came back.
    #[test]
    fn a_gateway_stays_a_router_after_its_own_entry_is_gone_while_it_is_a_next_hop() {
        use NeighbourState::*;
        let v4 = entry(2, ip("10.79.0.2"), ROUTER_MAC, Reachable);
        let v6 = entry(2, ip("fd79::2"), ROUTER_MAC, Stale);
        let laptop = entry(2, ip("10.79.0.20"), LAPTOP_MAC, Reachable);
        let routes = Dump::of(&[default_route(2, ip("fd79::2"))]);
        let mut gateways = Gateways::new();
        let mut count = |table: &[Vec<u8>], routes: &Dump| {
            clients(&Dump::of(table), routes, &mut gateways).count()
        };
        let whole = [v4.clone(), v6, laptop.clone()];
        assert_eq!(count(&whole, &routes), 1, "the laptop");
        let without_v6 = [v4, laptop];
        assert_eq!(count(&without_v6, &routes), 1, "still the laptop alone");
        // The route gone, the device is a neighbour like any other.
        assert_eq!(count(&without_v6, &Dump::default()), 2);
        assert_eq!(count(&without_v6, &routes), 2, "forgotten with its route");
    }

    /// An IPv6 router on a client network the host has no route through (the venue's router
    /// on each VLAN) is infrastructure by its own advertisements, on that interface.
    #[test]
    fn an_ipv6_router_by_its_own_word_is_not_a_client_by_any_of_its_addresses() {
        use NeighbourState::*;
        let mut advertised = message(3, ip("fe80::1"), ROUTER_MAC, Stale);
        advertised.header.flags = NeighbourFlags::Router;
        let table = [
            encode(advertised),
            entry(3, ip("10.3.0.1"), ROUTER_MAC, Reachable),
            // Another interface: the router's flag is about this one.
            entry(4, ip("10.4.0.1"), ROUTER_MAC, Reachable),
            entry(3, ip("10.3.0.20"), LAPTOP_MAC, Reachable),
        ];
        let table = Dump::of(&table);
        let none = Dump::default();
        let counted: Vec<_> = clients(&table, &none, &mut Gateways::new())
            .map(|n| (n.ifindex, n.mac))
            .collect();
        assert_eq!(counted, [(4, &ROUTER_MAC[..]), (3, &LAPTOP_MAC[..])]);
    }

    #[tokio::test]
    async fn a_fifo_at_proc_net_arp_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let proc_root = dir.path().join("proc");
        fs::create_dir_all(proc_root.join("net")).expect("mkdir");
        let fifo = proc_root.join("net/arp");
        crate::files::mkfifo(&fifo);
        let reader = LinkReader::open(crate::sources::links::Backend::Proc, &proc_root, dir.path())
            .expect("proc backend");
        let config = crate::config::Config::zero_config("lab");
        let inventory = Arc::new(Inventory::new(&config));
        let mut source = NeighboursSource::new(reader, inventory, ClientKey::from_bytes([1; 16]));
        let refused = source
            .sample()
            .await
            .expect_err("a FIFO is not an ARP table");
        assert_eq!(refused.kind, ErrorKind::NotRegular);
        assert!(refused.message.contains("net/arp is a FIFO"), "{refused}");
    }
}
