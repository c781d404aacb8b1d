//! The neighbour source: clients the kernel has recently talked to, from the ARP (IPv4) and
//! NDP (IPv6) table. Entries that are REACHABLE, STALE, DELAY or PROBE count; FAILED,
//! INCOMPLETE, PERMANENT and NOARP do not. The host's own gateways (next hops of its routes)
//! are infrastructure and never count. MACs are hashed here and go no further.

pub(crate) mod config;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::TryStreamExt;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteMessage;

use super::links::LinkReader;
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

/// Whether a neighbour state means the client was recently there.
pub(crate) fn is_active(state: NeighbourState) -> bool {
    matches!(
        state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
    )
}

/// Samples the neighbour table through the same seam as the interface source.
pub(crate) struct NeighboursSource {
    reader: LinkReader,
    inventory: Arc<Inventory>,
    key: ClientKey,
}

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
        }
    }

    async fn read_netlink(&self) -> Result<Vec<Sighting>, SourceError> {
        let links = self.reader.links().await?;
        let (messages, routes) = dump_tables().await?;
        let (inventory, key) = (Arc::clone(&self.inventory), self.key.clone());
        // A venue's table holds tens of thousands of entries: hashed off the runtime.
        super::blocking(move || {
            let by_index: HashMap<u32, (String, LinkKind)> = links
                .into_iter()
                .map(|l| (l.index, (l.name, l.kind)))
                .collect();
            Ok(clients(&messages, &routes)
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
}

/// The entry of `message`; `None` without an IP or a hardware address.
fn neighbour(message: &NeighbourMessage) -> Option<Neighbour<'_>> {
    let mut ip = None;
    let mut mac = None;
    let mut age = Duration::ZERO;
    for attr in &message.attributes {
        match attr {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => ip = Some(IpAddr::V4(*a)),
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                ip = Some(IpAddr::V6(*a))
            }
            NeighbourAttribute::LinkLayerAddress(l) => mac = Some(l.as_slice()),
            // Ages are in USER_HZ (1/100 s) since the neighbour last answered.
            NeighbourAttribute::CacheInfo(c) => {
                age = Duration::from_millis(u64::from(c.confirmed) * 10)
            }
            _ => {}
        }
    }
    Some(Neighbour {
        ifindex: message.header.ifindex,
        ip: ip?,
        mac: mac?,
        age,
        active: is_active(message.header.state),
    })
}

/// The neighbours that may be clients: active entries that are not the host's gateways. A
/// gateway is a next hop of `routes` (interface and address, any table, IPv4 or IPv6); every
/// entry with a gateway's hardware address on its interface is that router too (its other
/// IPv4 and IPv6 addresses) and is left out with it.
fn clients<'a>(
    messages: &'a [NeighbourMessage],
    routes: &[RouteMessage],
) -> impl Iterator<Item = Neighbour<'a>> + use<'a> {
    let hops = gateways::next_hops(routes);
    // Two passes over the table rather than a copy of it: it may hold 100 000 entries.
    let routers: HashSet<(u32, &[u8])> = messages
        .iter()
        .filter_map(neighbour)
        .filter(|n| hops.contains(&(n.ifindex, n.ip)))
        .map(|n| (n.ifindex, n.mac))
        .collect();
    messages
        .iter()
        .filter_map(neighbour)
        .filter(move |n| n.active && !routers.contains(&(n.ifindex, n.mac)))
}

/// The whole neighbour table and every routing table, over a netlink connection of its own
/// that this future drives itself (not a task of the runtime's): decoding a venue's table,
/// 100 000 entries and more, happens on the thread that polls the sample, never on a worker.
async fn dump_tables() -> Result<(Vec<NeighbourMessage>, Vec<RouteMessage>), SourceError> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(|e| {
        SourceError::new(
            ErrorKind::Netlink,
            format!("cannot open a netlink socket: {e}"),
        )
    })?;
    let neighbours = async {
        handle
            .neighbours()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(|e| {
                SourceError::new(ErrorKind::Netlink, format!("neighbour dump failed: {e}"))
            })
    };
    let dumps = async { tokio::try_join!(neighbours, gateways::dump_routes(&handle)) };
    tokio::select! {
        tables = dumps => tables,
        () = connection => Err(SourceError::new(
            ErrorKind::Netlink,
            "the netlink connection closed during the neighbour dump",
        )),
    }
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
    let reader = LinkReader::open(
        n.backend,
        &n.proc_root,
        &config.sources.netdev.sys_root,
        ctx.tasks,
    )
    .context("neighbour source")?;
    let source = NeighboursSource::new(reader, Arc::clone(ctx.inventory), ctx.key.clone());
    ctx.spawn(source, n.interval);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use std::fs;

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
        .map(is_active)
        .collect();
        assert_eq!(
            live,
            [true, true, true, true, false, false, false, false, false]
        );
    }

    /// A neighbour entry on interface `ifindex`, as a dump decodes it.
    fn entry(ifindex: u32, ip: IpAddr, mac: [u8; 6], state: NeighbourState) -> NeighbourMessage {
        let mut message = NeighbourMessage::default();
        message.header.ifindex = ifindex;
        message.header.state = state;
        message.attributes = vec![
            NeighbourAttribute::Destination(match ip {
                IpAddr::V4(a) => NeighbourAddress::Inet(a),
                IpAddr::V6(a) => NeighbourAddress::Inet6(a),
            }),
            NeighbourAttribute::LinkLayerAddress(mac.to_vec()),
        ];
        message
    }

    fn default_route(oif: u32, via: IpAddr) -> RouteMessage {
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
        let counted: Vec<_> = clients(&table, &routes).collect();
        assert_eq!(counted.len(), 1, "{counted:?}");
        assert_eq!(
            (counted[0].ip, counted[0].mac),
            (ip("192.168.1.20"), &LAPTOP_MAC[..])
        );
        // Without routes, the router is a neighbour like any other.
        assert_eq!(clients(&table, &[]).count(), 4);
    }

    #[test]
    fn a_gateway_is_matched_on_its_own_interface_only() {
        use NeighbourState::*;
        let table = [
            entry(2, ip("10.0.0.1"), ROUTER_MAC, Reachable),
            // The same address and hardware behind another interface is another device.
            entry(3, ip("10.0.0.1"), ROUTER_MAC, Reachable),
        ];
        let counted = clients(&table, &[default_route(2, ip("10.0.0.1"))]);
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
        assert_eq!(
            clients(&table, &[default_route(2, ip("10.0.0.1"))]).count(),
            0
        );
    }

    #[tokio::test]
    async fn a_fifo_at_proc_net_arp_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let proc_root = dir.path().join("proc");
        fs::create_dir_all(proc_root.join("net")).expect("mkdir");
        let fifo = proc_root.join("net/arp");
        crate::files::mkfifo(&fifo);
        let reader = LinkReader::open(
            crate::sources::links::Backend::Proc,
            &proc_root,
            dir.path(),
            &tokio_util::task::TaskTracker::new(),
        )
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
