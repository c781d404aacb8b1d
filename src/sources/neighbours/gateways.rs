//! The host's own next hops, from a dump of every routing table (IPv4 and IPv6, main and
//! the others): the gateways the host routes through are infrastructure, never clients.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::sources::netlink::{attributes, ip_address, u16_at, u32_at};

/// A next hop: the interface index it is reached through and its address.
pub(super) type NextHop = (u32, IpAddr);

/// Attributes of an `RTM_NEWROUTE` message (`include/uapi/linux/rtnetlink.h`).
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_MULTIPATH: u16 = 9;
const RTA_VIA: u16 = 18;

/// Every next hop of `routes` (payloads of `RTM_NEWROUTE` messages: `struct rtmsg`, 12
/// bytes, then attributes): a route's gateway (`RTA_GATEWAY`, or `RTA_VIA` for an IPv6
/// gateway of an IPv4 route) on its output interface, and each hop of a multipath route
/// (`RTA_MULTIPATH`) on the hop's own interface. Routes without a gateway (on-link, local,
/// blackhole) have none.
pub(super) fn next_hops<'a>(routes: impl Iterator<Item = &'a [u8]>) -> HashSet<NextHop> {
    let mut hops = HashSet::new();
    for route in routes {
        let (mut oif, mut single) = (None, None);
        for (kind, value) in attributes(route, 12) {
            match kind {
                RTA_OIF => oif = u32_at(value, 0),
                RTA_MULTIPATH => hops.extend(multipath(value)),
                _ => single = single.or(gateway(kind, value)),
            }
        }
        if let (Some(oif), Some(address)) = (oif, single) {
            hops.insert((oif, address));
        }
    }
    hops
}

/// The hops of an `RTA_MULTIPATH` value with a gateway: a sequence of `struct rtnexthop`
/// (length of the hop with its attributes, flags, hops, interface index; 8 bytes), each
/// followed by its attributes, 4-byte aligned.
fn multipath(mut value: &[u8]) -> Vec<NextHop> {
    let mut hops = Vec::new();
    while let (Some(length), Some(index)) = (u16_at(value, 0), u32_at(value, 4)) {
        let Some(hop) = value.get(..usize::from(length)).filter(|h| h.len() >= 8) else {
            break;
        };
        if let Some(address) = attributes(hop, 8).find_map(|(kind, v)| gateway(kind, v)) {
            hops.push((index, address));
        }
        value = value
            .get(usize::from(length).next_multiple_of(4)..)
            .unwrap_or_default();
    }
    hops
}

/// The address of a gateway attribute, when it is an IP address. `RTA_VIA` is a
/// `struct rtvia`: a two-byte address family, then the address.
fn gateway(kind: u16, value: &[u8]) -> Option<IpAddr> {
    match kind {
        RTA_GATEWAY => ip_address(value),
        RTA_VIA => ip_address(value.get(2..)?),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use netlink_packet_route::RouteNetlinkMessage;
    use netlink_packet_route::route::{
        RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteVia,
    };
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A route with `attributes`, as the kernel writes it in a dump (encoded by
    /// netlink-packet-route, the decoder's cross-check).
    pub(crate) fn route(attributes: Vec<RouteAttribute>) -> Vec<u8> {
        let mut route = RouteMessage::default();
        route.attributes = attributes;
        crate::sources::netlink::tests::payload(RouteNetlinkMessage::NewRoute(route))
    }

    fn next_hops(routes: &[Vec<u8>]) -> HashSet<NextHop> {
        super::next_hops(routes.iter().map(Vec::as_slice))
    }

    fn hop(interface_index: u32, attributes: Vec<RouteAttribute>) -> RouteNextHop {
        let mut hop = RouteNextHop::default();
        hop.interface_index = interface_index;
        hop.attributes = attributes;
        hop
    }

    const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
    const LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    #[test]
    fn default_routes_give_their_gateway_on_their_interface() {
        let routes = [
            route(vec![
                RouteAttribute::Table(254),
                RouteAttribute::Gateway(RouteAddress::Inet(ROUTER)),
                RouteAttribute::Oif(2),
            ]),
            // An IPv6 default route learned from a router advertisement.
            route(vec![
                RouteAttribute::Oif(2),
                RouteAttribute::Gateway(RouteAddress::Inet6(LINK_LOCAL)),
            ]),
        ];
        let hops = next_hops(&routes);
        assert_eq!(
            hops,
            HashSet::from([(2, IpAddr::V4(ROUTER)), (2, IpAddr::V6(LINK_LOCAL))])
        );
    }

    #[test]
    fn every_hop_of_a_multipath_route_is_a_next_hop() {
        let second = Ipv4Addr::new(10, 0, 0, 1);
        let routes = [route(vec![
            RouteAttribute::Table(100),
            RouteAttribute::MultiPath(vec![
                hop(2, vec![RouteAttribute::Gateway(RouteAddress::Inet(ROUTER))]),
                hop(3, vec![RouteAttribute::Gateway(RouteAddress::Inet(second))]),
                // A hop without a gateway (a device route) has no neighbour to leave out.
                hop(4, vec![]),
            ]),
        ])];
        assert_eq!(
            next_hops(&routes),
            HashSet::from([(2, IpAddr::V4(ROUTER)), (3, IpAddr::V4(second))])
        );
    }

    #[test]
    fn an_ipv6_via_of_an_ipv4_route_is_a_next_hop() {
        let routes = [route(vec![
            RouteAttribute::Via(RouteVia::Inet6(LINK_LOCAL)),
            RouteAttribute::Oif(5),
        ])];
        assert_eq!(
            next_hops(&routes),
            HashSet::from([(5, IpAddr::V6(LINK_LOCAL))])
        );
    }

    #[test]
    fn routes_without_a_gateway_have_no_next_hop() {
        let routes = [
            route(vec![RouteAttribute::Oif(2), RouteAttribute::Table(255)]),
            route(vec![RouteAttribute::Gateway(RouteAddress::Other(vec![
                1, 2,
            ]))]),
            // A gateway without an output interface cannot be matched to a neighbour.
            route(vec![RouteAttribute::Gateway(RouteAddress::Inet(ROUTER))]),
            route(vec![]),
        ];
        assert!(next_hops(&routes).is_empty());
    }

    #[test]
    fn a_cut_route_never_panics_and_keeps_what_is_whole() {
        let route = route(vec![
            RouteAttribute::Oif(2),
            RouteAttribute::MultiPath(vec![
                hop(3, vec![RouteAttribute::Gateway(RouteAddress::Inet(ROUTER))]),
                hop(
                    4,
                    vec![RouteAttribute::Gateway(RouteAddress::Inet6(LINK_LOCAL))],
                ),
            ]),
        ]);
        assert_eq!(next_hops(std::slice::from_ref(&route)).len(), 2);
        for cut in 0..route.len() {
            assert!(next_hops(&[route[..cut].to_vec()]).len() <= 2);
        }
    }
}
