//! The host's own next hops, from a dump of every routing table (IPv4 and IPv6, main and
//! the others): the gateways the host routes through are infrastructure, never clients.

use std::collections::HashSet;
use std::net::IpAddr;

use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteVia};

use crate::sources::{ErrorKind, SourceError};

/// A next hop: the interface index it is reached through and its address.
pub(super) type NextHop = (u32, IpAddr);

/// Every next hop of `routes`: a route's gateway (`RTA_GATEWAY`, or `RTA_VIA` for an IPv6
/// gateway of an IPv4 route) on its output interface, and each hop of a multipath route
/// (`RTA_MULTIPATH`) on the hop's own interface. Routes without a gateway (on-link, local,
/// blackhole) have none.
pub(super) fn next_hops(routes: &[RouteMessage]) -> HashSet<NextHop> {
    let mut hops = HashSet::new();
    for route in routes {
        let (mut oif, mut single) = (None, None);
        for attr in &route.attributes {
            match attr {
                RouteAttribute::Oif(index) => oif = Some(*index),
                RouteAttribute::MultiPath(paths) => hops.extend(paths.iter().filter_map(|p| {
                    Some((p.interface_index, p.attributes.iter().find_map(gateway)?))
                })),
                other => single = single.or(gateway(other)),
            }
        }
        if let (Some(oif), Some(address)) = (oif, single) {
            hops.insert((oif, address));
        }
    }
    hops
}

/// The address of a gateway attribute, when it is an IP address.
fn gateway(attr: &RouteAttribute) -> Option<IpAddr> {
    match attr {
        RouteAttribute::Gateway(RouteAddress::Inet(v4))
        | RouteAttribute::Via(RouteVia::Inet(v4)) => Some(IpAddr::V4(*v4)),
        RouteAttribute::Gateway(RouteAddress::Inet6(v6))
        | RouteAttribute::Via(RouteVia::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// Every route of every table and family, over the netlink connection `handle` belongs to.
/// A dump the kernel answers with EBUSY (the routes changed while it was being dumped, as
/// when a DHCP client adds its address) is asked again, up to [`DUMP_ATTEMPTS`] times.
///
/// # Errors
/// The kernel refused the dump.
pub(super) async fn dump_routes(
    handle: &rtnetlink::Handle,
) -> Result<Vec<RouteMessage>, SourceError> {
    use futures_util::TryStreamExt;
    let mut attempt = 1;
    loop {
        // An unspecified family and table without strict checking: the kernel dumps them all.
        let dumped: Result<Vec<RouteMessage>, rtnetlink::Error> = handle
            .route()
            .get(RouteMessage::default())
            .execute()
            .try_collect()
            .await;
        match dumped {
            Err(e) if busy(&e) && attempt < DUMP_ATTEMPTS => attempt += 1,
            dumped => {
                return dumped.map_err(|e| {
                    SourceError::new(ErrorKind::Netlink, format!("route dump failed: {e}"))
                });
            }
        }
    }
}

/// Route dumps tried before EBUSY is an error.
const DUMP_ATTEMPTS: usize = 3;

/// Whether the kernel refused a dump because what it dumps changed meanwhile (EBUSY).
fn busy(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -libc::EBUSY)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use netlink_packet_route::route::RouteNextHop;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Regression: with DHCP clients adding addresses, the kernel answered a route dump with
    /// EBUSY now and then, and the neighbour source went down for a tick.
    #[test]
    fn regression_a_route_dump_refused_with_ebusy_is_asked_again_other_errors_are_not() {
        let error = |code: i32| {
            let mut message = rtnetlink::packet_core::ErrorMessage::default();
            message.code = std::num::NonZeroI32::new(code);
            rtnetlink::Error::NetlinkError(message)
        };
        assert!(busy(&error(-libc::EBUSY)));
        assert!(!busy(&error(-libc::EPERM)));
        assert!(!busy(&rtnetlink::Error::RequestFailed));
    }

    /// A route with `attributes`, as a dump decodes it.
    pub(crate) fn route(attributes: Vec<RouteAttribute>) -> RouteMessage {
        let mut route = RouteMessage::default();
        route.attributes = attributes;
        route
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
}
