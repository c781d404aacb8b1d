//! Ethernet II (with up to two 802.1Q/802.1ad VLAN tags) and Linux cooked captures (SLL,
//! SLL2), classified down to ARP and IPv4/IPv6 UDP. Pure functions over the frame's bytes:
//! no allocation, no panics, every read bounds-checked; the views borrow the frame.

use std::net::{Ipv4Addr, Ipv6Addr};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// EtherType of the pre-standard QinQ tag some switches still send.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// How many VLAN tags are skipped before the EtherType is taken as final.
const MAX_VLAN_TAGS: usize = 2;
/// How many IPv6 extension headers are skipped before giving up on finding UDP.
const MAX_IPV6_EXTENSIONS: usize = 8;

/// IP protocol number of UDP.
const IPPROTO_UDP: u8 = 17;

/// Why a frame could not be decoded down to its link-layer payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The frame ends inside a header; the name says which.
    #[error("frame truncated inside its {0} header")]
    Truncated(&'static str),
}

/// The link-layer view of a frame: who sent it, to whom, and what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ethernet<'a> {
    /// Destination MAC address; `None` for Linux cooked captures, which do not record it.
    pub destination: Option<[u8; 6]>,
    /// Source MAC address; `None` for a cooked capture whose link address is not 6 bytes.
    pub source: Option<[u8; 6]>,
    /// The frame was sent to the broadcast address (ff:ff:ff:ff:ff:ff, or a cooked capture's
    /// "broadcast" packet type).
    pub broadcast: bool,
    /// VLAN id of the outermost 802.1Q/802.1ad tag, if the frame was tagged.
    pub vlan: Option<u16>,
    /// EtherType of the payload, after the VLAN tags (below 0x0600 it is an 802.3 length).
    pub ethertype: u16,
    /// Everything after the link-layer header and the VLAN tags (may include padding).
    pub payload: &'a [u8],
}

/// What a frame carries, as far as the capture source cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// An ARP packet.
    Arp {
        /// 1 request, 2 reply.
        operation: u16,
        /// The sender's hardware address, when it is 6 bytes long.
        sender_mac: Option<[u8; 6]>,
    },
    /// A UDP datagram over IPv4 (unfragmented, or the first fragment).
    Ipv4Udp {
        /// IPv4 source address.
        src: Ipv4Addr,
        /// IPv4 destination address.
        dst: Ipv4Addr,
        /// UDP source port.
        src_port: u16,
        /// UDP destination port.
        dst_port: u16,
        /// The UDP payload, clamped to the UDP and IP lengths and to the captured bytes.
        payload: &'a [u8],
    },
    /// A UDP datagram over IPv6 (after any hop-by-hop, routing, destination-options or
    /// first-fragment extension headers).
    Ipv6Udp {
        /// IPv6 source address.
        src: Ipv6Addr,
        /// IPv6 destination address.
        dst: Ipv6Addr,
        /// UDP source port.
        src_port: u16,
        /// UDP destination port.
        dst_port: u16,
        /// The UDP payload, clamped to the UDP and IP lengths and to the captured bytes.
        payload: &'a [u8],
    },
    /// IPv4 that is not UDP, a non-first fragment, or malformed.
    Ipv4Other,
    /// IPv6 that is not UDP, a non-first fragment, or malformed.
    Ipv6Other,
    /// Any other EtherType, or ARP too short to read.
    Other,
}

/// Reads a big-endian `u16` at `at`, if the bytes are there.
fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Copies `N` bytes starting at `at`, if they are there.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Skips up to [`MAX_VLAN_TAGS`] VLAN tags that follow `ethertype`, returning the outer VLAN
/// id, the final EtherType and the payload after the tags.
fn skip_vlan_tags(mut ethertype: u16, mut rest: &[u8]) -> Result<(Option<u16>, u16, &[u8]), Error> {
    let mut vlan = None;
    for _ in 0..MAX_VLAN_TAGS {
        if !matches!(
            ethertype,
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
        ) {
            break;
        }
        let (tag, after) = rest.split_at_checked(4).ok_or(Error::Truncated("VLAN"))?;
        let tci = be16(tag, 0).ok_or(Error::Truncated("VLAN"))?;
        vlan = vlan.or(Some(tci & 0x0fff));
        ethertype = be16(tag, 2).ok_or(Error::Truncated("VLAN"))?;
        rest = after;
    }
    Ok((vlan, ethertype, rest))
}

/// Decodes an Ethernet II frame (link type 1): addresses, up to two VLAN tags (the outer id
/// is kept), the EtherType and the payload.
///
/// # Errors
/// [`Error::Truncated`] when the frame ends inside the Ethernet header or a VLAN tag.
pub fn parse_ethernet(frame: &[u8]) -> Result<Ethernet<'_>, Error> {
    let (header, rest) = frame
        .split_at_checked(14)
        .ok_or(Error::Truncated("Ethernet"))?;
    let destination: [u8; 6] = array(header, 0).ok_or(Error::Truncated("Ethernet"))?;
    let source: [u8; 6] = array(header, 6).ok_or(Error::Truncated("Ethernet"))?;
    let ethertype = be16(header, 12).ok_or(Error::Truncated("Ethernet"))?;
    let (vlan, ethertype, payload) = skip_vlan_tags(ethertype, rest)?;
    Ok(Ethernet {
        destination: Some(destination),
        source: Some(source),
        broadcast: destination == [0xff; 6],
        vlan,
        ethertype,
        payload,
    })
}

/// Linux cooked packet type: sent to us by somebody else as a broadcast.
const SLL_BROADCAST: u16 = 1;

/// Decodes a Linux cooked capture, version 1 (SLL, link type 113: a 16-byte header), as
/// captured on the `any` interface or on interfaces without an Ethernet header. The view has
/// no destination address; the source is the recorded link address when it is 6 bytes long.
/// VLAN tags that libpcap re-inserted after the header are skipped as for Ethernet.
///
/// # Errors
/// [`Error::Truncated`] when the frame ends inside the cooked header or a VLAN tag.
pub fn parse_linux_cooked(frame: &[u8]) -> Result<Ethernet<'_>, Error> {
    let (header, rest) = frame.split_at_checked(16).ok_or(Error::Truncated("SLL"))?;
    let packet_type = be16(header, 0).ok_or(Error::Truncated("SLL"))?;
    let address_len = be16(header, 4).ok_or(Error::Truncated("SLL"))?;
    let address: [u8; 8] = array(header, 6).ok_or(Error::Truncated("SLL"))?;
    let protocol = be16(header, 14).ok_or(Error::Truncated("SLL"))?;
    cooked(packet_type, address_len, address, protocol, rest)
}

/// Decodes a Linux cooked capture, version 2 (SLL2, link type 276: a 20-byte header that
/// also records the interface index), giving the same view as [`parse_linux_cooked`].
///
/// # Errors
/// [`Error::Truncated`] when the frame ends inside the cooked header or a VLAN tag.
pub fn parse_linux_cooked_v2(frame: &[u8]) -> Result<Ethernet<'_>, Error> {
    let (header, rest) = frame.split_at_checked(20).ok_or(Error::Truncated("SLL2"))?;
    let protocol = be16(header, 0).ok_or(Error::Truncated("SLL2"))?;
    let packet_type = header.get(10).copied().ok_or(Error::Truncated("SLL2"))?;
    let address_len = header.get(11).copied().ok_or(Error::Truncated("SLL2"))?;
    let address: [u8; 8] = array(header, 12).ok_or(Error::Truncated("SLL2"))?;
    cooked(
        u16::from(packet_type),
        u16::from(address_len),
        address,
        protocol,
        rest,
    )
}

/// The common part of SLL and SLL2, once their headers are read.
fn cooked(
    packet_type: u16,
    address_len: u16,
    address: [u8; 8],
    protocol: u16,
    rest: &[u8],
) -> Result<Ethernet<'_>, Error> {
    let source = if address_len == 6 {
        array(&address, 0)
    } else {
        None
    };
    let (vlan, ethertype, payload) = skip_vlan_tags(protocol, rest)?;
    Ok(Ethernet {
        destination: None,
        source,
        broadcast: packet_type == SLL_BROADCAST,
        vlan,
        ethertype,
        payload,
    })
}

/// Classifies a frame's payload: ARP, UDP over IPv4 or IPv6 (with its ports and payload), or
/// other. Never fails: anything malformed is `Ipv4Other`, `Ipv6Other` or `Other` by EtherType.
#[must_use]
pub fn classify<'a>(eth: &Ethernet<'a>) -> Payload<'a> {
    match eth.ethertype {
        ETHERTYPE_ARP => classify_arp(eth.payload),
        ETHERTYPE_IPV4 => classify_ipv4(eth.payload).unwrap_or(Payload::Ipv4Other),
        ETHERTYPE_IPV6 => classify_ipv6(eth.payload).unwrap_or(Payload::Ipv6Other),
        _ => Payload::Other,
    }
}

/// ARP: hardware type, protocol type, hardware length, protocol length, operation, then the
/// sender's hardware address.
fn classify_arp(packet: &[u8]) -> Payload<'_> {
    let Some(operation) = be16(packet, 6) else {
        return Payload::Other;
    };
    let sender_mac = match packet.get(4) {
        Some(6) => array(packet, 8),
        _ => None,
    };
    Payload::Arp {
        operation,
        sender_mac,
    }
}

/// The UDP header and payload; the payload ends at the UDP length when it is sane, else at
/// the end of the (already clamped) IP payload.
fn udp(segment: &[u8]) -> Option<(u16, u16, &[u8])> {
    let (header, rest) = segment.split_at_checked(8)?;
    let src_port = be16(header, 0)?;
    let dst_port = be16(header, 2)?;
    let length = usize::from(be16(header, 4)?);
    let payload = rest.get(..length.saturating_sub(8)).unwrap_or(rest);
    Some((src_port, dst_port, payload))
}

/// IPv4: `None` (→ `Ipv4Other`) when malformed, not UDP, or a non-first fragment.
fn classify_ipv4(packet: &[u8]) -> Option<Payload<'_>> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < 20 {
        return None;
    }
    let total_len = usize::from(be16(packet, 2)?);
    if total_len < header_len {
        return None;
    }
    // Ethernet pads short frames and a capture may be cut short: clamp to both.
    let packet = packet.get(..total_len).unwrap_or(packet);
    let (header, body) = packet.split_at_checked(header_len)?;
    let fragment_offset = be16(header, 6)? & 0x1fff;
    if fragment_offset != 0 || *header.get(9)? != IPPROTO_UDP {
        return None;
    }
    let src = Ipv4Addr::from(array::<4>(header, 12)?);
    let dst = Ipv4Addr::from(array::<4>(header, 16)?);
    let (src_port, dst_port, payload) = udp(body)?;
    Some(Payload::Ipv4Udp {
        src,
        dst,
        src_port,
        dst_port,
        payload,
    })
}

/// IPv6: `None` (→ `Ipv6Other`) when malformed, not UDP, or a non-first fragment.
fn classify_ipv6(packet: &[u8]) -> Option<Payload<'_>> {
    let (header, body) = packet.split_at_checked(40)?;
    if header.first()? >> 4 != 6 {
        return None;
    }
    let payload_len = usize::from(be16(header, 4)?);
    // A payload length of 0 is a jumbogram (or a lie): take what was captured.
    let mut rest = match payload_len {
        0 => body,
        n => body.get(..n).unwrap_or(body),
    };
    let mut next_header = *header.get(6)?;
    let src = Ipv6Addr::from(array::<16>(header, 8)?);
    let dst = Ipv6Addr::from(array::<16>(header, 24)?);
    for _ in 0..MAX_IPV6_EXTENSIONS {
        match next_header {
            IPPROTO_UDP => {
                let (src_port, dst_port, payload) = udp(rest)?;
                return Some(Payload::Ipv6Udp {
                    src,
                    dst,
                    src_port,
                    dst_port,
                    payload,
                });
            }
            // Hop-by-hop options, routing, destination options: length in 8-octet units,
            // not counting the first 8.
            0 | 43 | 60 => {
                let len = (usize::from(*rest.get(1)?) + 1) * 8;
                next_header = *rest.first()?;
                rest = rest.get(len..)?;
            }
            // Fragment header: only the first fragment carries the UDP header.
            44 => {
                if be16(rest, 2)? & 0xfff8 != 0 {
                    return None;
                }
                next_header = *rest.first()?;
                rest = rest.get(8..)?;
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC_A: [u8; 6] = [0x00, 0x0c, 0x29, 0x1f, 0x74, 0x06];
    const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    fn ipv4_udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p[2..4].copy_from_slice(&u16::try_from(total).unwrap().to_be_bytes());
        p.extend_from_slice(&src_port.to_be_bytes());
        p.extend_from_slice(&dst_port.to_be_bytes());
        p.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&MAC_A);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn plain_ethernet_ipv4_udp() {
        let frame = ethernet(ETHERTYPE_IPV4, &ipv4_udp(68, 67, b"hello"));
        let eth = parse_ethernet(&frame).unwrap();
        assert_eq!(eth.source, Some(MAC_A));
        assert_eq!(eth.destination, Some([0xff; 6]));
        assert!(eth.broadcast);
        assert_eq!(eth.vlan, None);
        assert_eq!(
            classify(&eth),
            Payload::Ipv4Udp {
                src: Ipv4Addr::new(10, 0, 0, 1),
                dst: Ipv4Addr::new(10, 0, 0, 2),
                src_port: 68,
                dst_port: 67,
                payload: b"hello",
            }
        );
    }

    #[test]
    fn ethernet_padding_is_cut_at_the_ip_total_length() {
        let mut ip = ipv4_udp(68, 67, b"hi");
        ip.extend_from_slice(&[0; 20]);
        let frame = ethernet(ETHERTYPE_IPV4, &ip);
        let eth = parse_ethernet(&frame).unwrap();
        assert!(matches!(
            classify(&eth),
            Payload::Ipv4Udp { payload: b"hi", .. }
        ));
    }

    #[test]
    fn two_vlan_tags_keep_the_outer_id() {
        let mut tags = vec![];
        tags.extend_from_slice(&[0x20, 0x64]); // PCP 1, VLAN 100
        tags.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        tags.extend_from_slice(&[0x00, 0xc8]); // VLAN 200
        tags.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        tags.extend_from_slice(&ipv4_udp(1, 2, b"x"));
        let frame = ethernet(ETHERTYPE_QINQ, &tags);
        let eth = parse_ethernet(&frame).unwrap();
        assert_eq!(eth.vlan, Some(100));
        assert_eq!(eth.ethertype, ETHERTYPE_IPV4);
        assert!(matches!(
            classify(&eth),
            Payload::Ipv4Udp { dst_port: 2, .. }
        ));
    }

    #[test]
    fn truncated_headers_are_errors() {
        assert_eq!(parse_ethernet(&[0; 13]), Err(Error::Truncated("Ethernet")));
        let frame = ethernet(ETHERTYPE_VLAN, &[0, 1]);
        assert_eq!(parse_ethernet(&frame), Err(Error::Truncated("VLAN")));
        assert_eq!(parse_linux_cooked(&[0; 15]), Err(Error::Truncated("SLL")));
        assert_eq!(
            parse_linux_cooked_v2(&[0; 19]),
            Err(Error::Truncated("SLL2"))
        );
    }

    #[test]
    fn linux_cooked_v1_and_v2() {
        let ip = ipv4_udp(67, 68, b"ok");
        // SLL: broadcast from MAC_B, ARPHRD_ETHER, 6-byte address.
        let mut sll = vec![0, 1, 0, 1, 0, 6];
        sll.extend_from_slice(&MAC_B);
        sll.extend_from_slice(&[0, 0]);
        sll.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll.extend_from_slice(&ip);
        let eth = parse_linux_cooked(&sll).unwrap();
        assert_eq!(eth.source, Some(MAC_B));
        assert_eq!(eth.destination, None);
        assert!(eth.broadcast);
        assert!(matches!(
            classify(&eth),
            Payload::Ipv4Udp { src_port: 67, .. }
        ));

        // SLL2: protocol, reserved, ifindex 3, ARPHRD_ETHER, packet type 0 (to us).
        let mut sll2 = vec![];
        sll2.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6]);
        sll2.extend_from_slice(&MAC_B);
        sll2.extend_from_slice(&[0, 0]);
        sll2.extend_from_slice(&ip);
        let eth = parse_linux_cooked_v2(&sll2).unwrap();
        assert_eq!(eth.source, Some(MAC_B));
        assert!(!eth.broadcast);
        assert!(matches!(
            classify(&eth),
            Payload::Ipv4Udp { dst_port: 68, .. }
        ));

        // An address that is not 6 bytes long (e.g. a tunnel) gives no source.
        let mut tun = sll.clone();
        tun[5] = 0;
        assert_eq!(parse_linux_cooked(&tun).unwrap().source, None);
    }

    #[test]
    fn arp_request() {
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&MAC_B);
        arp.extend_from_slice(&[10, 0, 0, 9, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        let frame = ethernet(ETHERTYPE_ARP, &arp);
        assert_eq!(
            classify(&parse_ethernet(&frame).unwrap()),
            Payload::Arp {
                operation: 1,
                sender_mac: Some(MAC_B)
            }
        );
        let frame = ethernet(ETHERTYPE_ARP, &arp[..7]);
        assert_eq!(classify(&parse_ethernet(&frame).unwrap()), Payload::Other);
    }

    /// Classifies `ip` inside an Ethernet frame of `ethertype`. The UDP payload is copied out
    /// (and left empty in the returned view) so the frame can be dropped.
    fn classify_ip(ethertype: u16, ip: &[u8]) -> (Payload<'static>, Vec<u8>) {
        let frame = ethernet(ethertype, ip);
        match classify(&parse_ethernet(&frame).unwrap()) {
            Payload::Ipv4Udp {
                src,
                dst,
                src_port,
                dst_port,
                payload,
            } => (
                Payload::Ipv4Udp {
                    src,
                    dst,
                    src_port,
                    dst_port,
                    payload: &[],
                },
                payload.to_vec(),
            ),
            Payload::Ipv6Udp {
                src,
                dst,
                src_port,
                dst_port,
                payload,
            } => (
                Payload::Ipv6Udp {
                    src,
                    dst,
                    src_port,
                    dst_port,
                    payload: &[],
                },
                payload.to_vec(),
            ),
            Payload::Arp {
                operation,
                sender_mac,
            } => (
                Payload::Arp {
                    operation,
                    sender_mac,
                },
                Vec::new(),
            ),
            Payload::Ipv4Other => (Payload::Ipv4Other, Vec::new()),
            Payload::Ipv6Other => (Payload::Ipv6Other, Vec::new()),
            Payload::Other => (Payload::Other, Vec::new()),
        }
    }

    #[test]
    fn ipv4_fragments_options_and_bad_headers() {
        let base = ipv4_udp(68, 67, b"data");
        let v4 = |ip: &[u8]| classify_ip(ETHERTYPE_IPV4, ip);

        // First fragment (MF set, offset 0) carries the UDP header.
        let mut first = base.clone();
        first[6] = 0x20;
        assert!(matches!(v4(&first).0, Payload::Ipv4Udp { .. }));
        // Non-first fragment.
        let mut later = base.clone();
        later[7] = 0x10;
        assert_eq!(v4(&later).0, Payload::Ipv4Other);
        // Version 5; IHL 4; IHL 15 (60 bytes) past a 40-byte packet; total length 10.
        let mut bad = base.clone();
        bad[0] = 0x55;
        assert_eq!(v4(&bad).0, Payload::Ipv4Other);
        bad[0] = 0x44;
        assert_eq!(v4(&bad).0, Payload::Ipv4Other);
        bad[0] = 0x4f;
        assert_eq!(v4(&bad).0, Payload::Ipv4Other);
        let mut bad = base.clone();
        bad[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(v4(&bad).0, Payload::Ipv4Other);
        // Not UDP.
        let mut tcp = base.clone();
        tcp[9] = 6;
        assert_eq!(v4(&tcp).0, Payload::Ipv4Other);
        // IHL 6: one word of options is skipped.
        let mut opts = base[..20].to_vec();
        opts[0] = 0x46;
        opts.extend_from_slice(&[1, 1, 1, 0]);
        opts.extend_from_slice(&base[20..]);
        let total = u16::try_from(opts.len()).unwrap().to_be_bytes();
        opts[2..4].copy_from_slice(&total);
        let (kind, payload) = v4(&opts);
        assert!(matches!(kind, Payload::Ipv4Udp { src_port: 68, .. }));
        assert_eq!(payload, b"data");
    }

    fn ipv6(next_header: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        p.extend_from_slice(&[next_header, 64]);
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
        p.extend_from_slice(body);
        p
    }

    #[test]
    fn ipv6_udp_after_extension_headers() {
        let udp_seg = [0x02, 0x22, 0x02, 0x23, 0, 10, 0, 0, b'o', b'k'];
        let v6 = |ip: &[u8]| classify_ip(ETHERTYPE_IPV6, ip);

        assert_eq!(
            v6(&ipv6(17, &udp_seg)),
            (
                Payload::Ipv6Udp {
                    src: Ipv6Addr::LOCALHOST,
                    dst: Ipv6Addr::UNSPECIFIED,
                    src_port: 546,
                    dst_port: 547,
                    payload: &[],
                },
                b"ok".to_vec()
            )
        );
        // Hop-by-hop (8 bytes) then destination options (16 bytes) then UDP.
        let mut body = vec![60, 0, 0, 0, 0, 0, 0, 0, 17, 1];
        body.extend_from_slice(&[0; 14]);
        body.extend_from_slice(&udp_seg);
        let (kind, payload) = v6(&ipv6(0, &body));
        assert!(matches!(kind, Payload::Ipv6Udp { dst_port: 547, .. }));
        assert_eq!(payload, b"ok");
        // First fragment then UDP; a later fragment is Ipv6Other.
        let mut frag = vec![17, 0, 0, 1, 0, 0, 0, 42];
        frag.extend_from_slice(&udp_seg);
        assert!(matches!(v6(&ipv6(44, &frag)).0, Payload::Ipv6Udp { .. }));
        frag[2] = 1;
        assert_eq!(v6(&ipv6(44, &frag)).0, Payload::Ipv6Other);
        // An extension header running past the end, ICMPv6, a loop of headers.
        assert_eq!(v6(&ipv6(0, &[17, 9, 0, 0])).0, Payload::Ipv6Other);
        assert_eq!(v6(&ipv6(58, &[0; 8])).0, Payload::Ipv6Other);
        assert_eq!(
            v6(&ipv6(60, &[60, 0, 0, 0, 0, 0, 0, 0].repeat(20))).0,
            Payload::Ipv6Other
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(eth) = parse_ethernet(&bytes) {
                let _ = classify(&eth);
            }
            for parse in [parse_linux_cooked, parse_linux_cooked_v2] {
                if let Ok(eth) = parse(&bytes) {
                    let _ = classify(&eth);
                }
            }
        }

        #[test]
        fn arbitrary_ip_payloads_never_panic(
            ethertype in prop::sample::select(vec![ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_ARP]),
            version in 0u8..16,
            bytes in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut payload = bytes;
            if let Some(first) = payload.first_mut() {
                *first = (version << 4) | (*first & 0x0f);
            }
            let frame = ethernet(ethertype, &payload);
            let eth = parse_ethernet(&frame).unwrap();
            let _ = classify(&eth);
        }
    }
}
