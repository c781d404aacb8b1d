//! dnsmasq's lease file: one lease per line, `expiry mac ip hostname client-id`, then, after a
//! `duid SERVER-DUID` line, DHCPv6 leases `expiry iaid ip hostname client-duid` (the IAID
//! prefixed with `T` for a temporary address, IA_TA), and at the end `vendorclass ip hex` and
//! `agent-info ip hex` lines (dnsmasq `src/lease.c`, `lease_update_file`). As dnsmasq's own
//! reader (`lease_init`), the address's form tells a v4 lease from a v6 one, wherever the
//! line is. dnsmasq rewrites the file whole on every change, so a reader may catch it half-written.
//!
//! Only the expiry, the address and the client's identity are read. The hostname and the IAID
//! are opaque bytes: a name in any encoding, or an IAID dnsmasq itself reads leniently
//! (`strtoul`), never costs a lease.
//!
//! dnsmasq built with `HAVE_BROKEN_RTC` (routers without a clock) writes each lease's length
//! instead of its expiry time, 0 still meaning infinite. A file is read as lengths when it has
//! a non-zero expiry and every non-zero expiry is below [`LENGTHS_BELOW`] (2001-09-09): no
//! dnsmasq with a set clock writes an expiry before that, and no lease lasts 31 years.

use std::net::IpAddr;

use super::lease::{Expiry, Identity, Lease, Parsed, address, complete_lines, decimal};

/// Expiries below this (Unix seconds, 2001-09-09T01:46:40Z) are lease lengths when a whole
/// file holds nothing else: see the module's documentation.
pub const LENGTHS_BELOW: u64 = 1_000_000_000;

/// Longest line dnsmasq writes, in bytes: an expiry (20 digits), a hardware address (16 bytes
/// in hex with its type, 52), an address (46), a hostname (at most 1025) and a client-id (255
/// bytes in hex, 765), with their spaces. A last line without its newline longer than this is
/// not one being written but garbage.
pub const MAX_LINE_BYTES: usize = 2048;

/// Parses a dnsmasq lease file. A lease line needs its expiry, hardware address or IAID,
/// address, hostname and client-id (whitespace-separated; a hostname with spaces is read
/// whole); a line without them, with an expiry or address that does not parse, or cut short
/// at the end, is skipped and counted.
pub fn parse(data: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let (lines, cut) = complete_lines(data);
    // The last line has no newline yet: dnsmasq is still writing it.
    if let Some(len) = cut {
        parsed.cut(len, MAX_LINE_BYTES);
    }
    for line in lines {
        let mut fields = line
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty());
        let Some(first) = fields.next() else {
            continue;
        };
        let (second, third) = (fields.next(), fields.next());
        // The hostname (one field or more) and the client-id, which is always last.
        let (mut rest, mut last) = (0, None);
        for field in fields {
            rest += 1;
            last = Some(field);
        }
        let record = match (first, second, third, last) {
            // The server's DUID, before the DHCPv6 leases.
            (b"duid", Some(_), None, None) => continue,
            // Vendor class and relay agent information of a lease already read.
            (b"vendorclass" | b"agent-info", Some(_), Some(_), None) => continue,
            (expiry, Some(hw), Some(ip), Some(client_id)) if rest >= 2 => {
                lease(expiry, hw, ip, client_id)
            }
            _ => None,
        };
        match record {
            Some(lease) => parsed.leases.push(lease),
            None => parsed.skipped += 1,
        }
    }
    let mut expiries = parsed.leases.iter().filter_map(|l| l.expires).peekable();
    if expiries.peek().is_some() && expiries.all(|e| e < LENGTHS_BELOW) {
        parsed.expiry = Expiry::Lengths;
    }
    parsed
}

/// One lease line. As dnsmasq's own reader (`lease_init` in `src/lease.c`), the address's
/// form tells a DHCPv4 lease from a DHCPv6 one, not its place before or after `duid`.
fn lease(expiry: &[u8], hw: &[u8], ip: &[u8], client_id: &[u8]) -> Option<Lease> {
    let expiry = decimal(expiry)?;
    let ip: IpAddr = address(ip)?;
    let v6 = ip.is_ipv6();
    // Decoded only when needed; one that is not hex costs the identity, not the lease.
    let client_id = || std::str::from_utf8(client_id).ok().and_then(hex_bytes);
    let identity = if v6 {
        // `hw` is the IAID, opaque; the client is its DUID.
        client_id().and_then(|duid| identity_of_duid(&duid))
    } else {
        match crate::privacy::parse_mac_bytes(hw) {
            Some(mac) => Some(Identity::Mac(mac)),
            // Non-Ethernet hardware (`TYPE-aa:bb:...`) or none: fall back to the client-id.
            None => client_id()
                .filter(|b| !b.is_empty())
                .map(|id| Identity::Opaque(id.into())),
        }
    };
    Some(Lease {
        ip,
        identity,
        expires: (expiry != 0).then_some(expiry),
        bound: true,
    })
}

/// Colon-separated hex bytes (`01:02:ab`); `*` is no bytes.
pub(crate) fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if text == "*" {
        return Some(Vec::new());
    }
    text.split(':')
        .map(|b| {
            (1..=2)
                .contains(&b.len())
                .then(|| u8::from_str_radix(b, 16).ok())
                .flatten()
        })
        .collect()
}

/// The client behind a DUID: its MAC when the DUID embeds an Ethernet address (DUID-LLT,
/// type 1, and DUID-LL, type 3, with hardware type 1), else the DUID itself.
pub(crate) fn identity_of_duid(duid: &[u8]) -> Option<Identity> {
    let mac = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] | [0, 3, 0, 1, rest @ ..] => {
            <[u8; 6]>::try_from(rest).ok()
        }
        _ => None,
    };
    match mac {
        Some(mac) => Some(Identity::Mac(mac)),
        None if duid.is_empty() => None,
        None => Some(Identity::Opaque(duid.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: &str = "\
1795921757 00:16:3e:5d:00:08 10.77.0.17 c8 01:00:16:3e:5d:00:08
0 06:16:3e:5d:00:06 10.77.0.12 * *
1795921761 1-00:16:3e:5d:00:07 10.77.0.13 \"><script> ff:00:01
duid 00:01:00:01:2c:5b:11:aa:52:54:00:12:34:56
1795921800 12345 2001:db8::10 host 00:01:00:01:2c:5b:11:bb:0a:00:27:00:00:01
1795921800 99 2001:db8::11 * 00:02:00:00:ab:11:01:02
";

    #[test]
    fn parses_v4_and_v6_leases() {
        let parsed = parse(FILE.as_bytes());
        assert_eq!(parsed.skipped, 0);
        let l = &parsed.leases;
        assert_eq!(l.len(), 5);
        assert_eq!(
            l[0].identity,
            Some(Identity::Mac([0, 0x16, 0x3e, 0x5d, 0, 8]))
        );
        assert_eq!(l[0].expires, Some(1_795_921_757));
        assert_eq!(l[1].expires, None, "expiry 0 is infinite");
        assert_eq!(
            l[2].identity,
            Some(Identity::Opaque(vec![0xff, 0, 1].into())),
            "non-Ethernet hw uses the client-id"
        );
        assert_eq!(
            l[3].identity,
            Some(Identity::Mac([0x0a, 0, 0x27, 0, 0, 1])),
            "DUID-LLT embeds the MAC"
        );
        assert_eq!(
            l[4].identity,
            Some(Identity::Opaque(vec![0, 2, 0, 0, 0xab, 0x11, 1, 2].into()))
        );
        assert!(l.iter().all(|l| l.bound));
    }

    #[test]
    fn a_half_written_last_line_is_skipped() {
        let mut data = FILE.as_bytes().to_vec();
        data.extend_from_slice(b"1795921800 00:16:3e:5d:00:09 10.77.0.1");
        let parsed = parse(&data);
        assert_eq!((parsed.leases.len(), parsed.skipped), (5, 1));
    }

    #[test]
    fn hostile_lines_are_skipped() {
        let mut data = Vec::new();
        data.extend_from_slice(b"\xff\xfe garbage\n");
        data.extend_from_slice(b"\0\0\0\n");
        data.extend_from_slice(
            format!("1 00:11:22:33:44:55 10.0.0.1 {} *\n", "x".repeat(10_000)).as_bytes(),
        );
        data.extend_from_slice(b"notanumber 00:11:22:33:44:55 10.0.0.2 h *\n");
        data.extend_from_slice(b"1 00:11:22:33:44:55 not-an-address h *\n");
        let parsed = parse(&data);
        assert_eq!((parsed.leases.len(), parsed.skipped), (1, 4));
        assert!(parse(b"").leases.is_empty());
    }

    #[test]
    fn regression_v4_lease_after_duid_and_v6_lease_before_it_count() {
        // dnsmasq's `lease_init` tells them apart by the address, and so loads both.
        let parsed = parse(
            b"1 02:00:5e:60:00:01 2001:db8::1 h 00:03:00:01:02:00:5e:60:00:01\n\
              duid 00:01:00:01:2c:5b:11:aa:52:54:00:12:34:56\n\
              1795921800 02:00:5e:60:00:02 10.0.0.2 h *\n",
        );
        assert_eq!((parsed.leases.len(), parsed.skipped), (2, 0));
        assert_eq!(parsed.leases[0].ip.to_string(), "2001:db8::1");
        assert_eq!(
            parsed.leases[0].identity,
            Some(Identity::Mac([2, 0, 0x5e, 0x60, 0, 1])),
            "v6: the client's DUID"
        );
        assert_eq!(parsed.leases[1].ip.to_string(), "10.0.0.2");
        assert_eq!(
            parsed.leases[1].identity,
            Some(Identity::Mac([2, 0, 0x5e, 0x60, 0, 2])),
            "v4: the hardware address"
        );
    }

    #[test]
    fn a_blob_without_newline_is_garbage_a_short_cut_line_is_half_written() {
        let cut = parse(b"1795921800 00:16:3e:5d:00:09 10.77.0.1");
        assert_eq!((cut.skipped, cut.half_written), (1, true));
        let line = parse(&[0x41; MAX_LINE_BYTES]);
        assert_eq!(
            (line.skipped, line.half_written),
            (1, true),
            "the longest line"
        );
        let blob = parse(&[0x41; 3000]);
        assert_eq!((blob.skipped, blob.half_written), (1, false), "3 000 bytes");
    }

    use super::super::lease::fixture;

    #[test]
    fn case_dnsmasq_temporary_address_iaid_with_t_prefix_counts() {
        let parsed = parse(&fixture("cases/dnsmasq-temporary-address/dnsmasq.leases"));
        assert_eq!((parsed.leases.len(), parsed.skipped), (1, 0));
        let lease = &parsed.leases[0];
        assert!(lease.is_active(1_800_000_000));
        assert_eq!(
            lease.identity,
            Some(Identity::Mac([2, 0x11, 0x22, 0x33, 0x44, 2])),
            "DUID-LLT of the client"
        );
        assert_eq!(parsed.expiry, Expiry::UnixTime);
    }

    #[test]
    fn case_dnsmasq_relative_expiry_is_read_as_lease_lengths() {
        let parsed = parse(&fixture("cases/dnsmasq-relative-expiry/dnsmasq.leases"));
        assert_eq!((parsed.leases.len(), parsed.skipped), (1, 0));
        assert_eq!(parsed.expiry, Expiry::Lengths);
        assert_eq!(
            parsed.leases[0].expires,
            Some(43_200),
            "the length, as written"
        );
        let written = 1_795_900_000;
        assert_eq!(parsed.active(written + 3_600, Some(written)).count(), 1);
        assert_eq!(parsed.active(written + 43_200, Some(written)).count(), 0);
    }

    #[test]
    fn lengths_only_when_every_expiry_is_one() {
        let lengths =
            parse(b"0 02:00:5e:60:00:01 10.0.0.1 a *\n86400 02:00:5e:60:00:02 10.0.0.2 b *\n");
        assert_eq!(lengths.expiry, Expiry::Lengths, "0 is infinite either way");
        let times = parse(
            b"3600 02:00:5e:60:00:01 10.0.0.1 a *\n1795921757 02:00:5e:60:00:02 10.0.0.2 b *\n",
        );
        assert_eq!(
            times.expiry,
            Expiry::UnixTime,
            "a file mixing both is not lengths"
        );
        let infinite = parse(b"0 02:00:5e:60:00:01 10.0.0.1 a *\n");
        assert_eq!(infinite.expiry, Expiry::UnixTime);
        assert_eq!(parse(b"").expiry, Expiry::UnixTime);
    }

    #[test]
    fn regression_odd_bytes_in_unused_fields_never_cost_a_lease() {
        let mut data = Vec::new();
        // v4: a Latin-1 hostname, a UTF-8 one, a hostname with a space, a control byte, no
        // hardware address (`00-`), a client-id that is not hex.
        data.extend_from_slice(b"1795921757 02:00:5e:60:00:01 10.0.0.1 caf\xe9 *\n");
        data.extend_from_slice(
            "1795921757 02:00:5e:60:00:02 10.0.0.2 Été-portable 01:02\n".as_bytes(),
        );
        data.extend_from_slice(b"1795921757 02:00:5e:60:00:03 10.0.0.3 two words *\n");
        data.extend_from_slice(b"1795921757 02:00:5e:60:00:04 10.0.0.4 a\x01\x7f\xff *\r\n");
        data.extend_from_slice(b"1795921757 00- 10.0.0.5 * 01:aa:bb\n");
        data.extend_from_slice(b"1795921757 02:00:5e:60:00:06 10.0.0.6 h not-hex\n");
        // The extras dnsmasq appends after the leases.
        data.extend_from_slice(b"vendorclass 10.0.0.1 4d:53:46:54:20:35:2e:30\n");
        data.extend_from_slice(b"agent-info 10.0.0.2 01:04:00:00:00:01\n");
        // v6: IAIDs with `T`, out of range, or not numbers; a Latin-1 hostname.
        data.extend_from_slice(b"duid 00:01:00:01:2e:4f:12:34:02:aa:bb:cc:dd:01\n");
        data.extend_from_slice(
            b"1795921757 T1 2001:db8::1 caf\xe9 00:03:00:01:02:00:5e:60:00:07\n",
        );
        data.extend_from_slice(
            b"1795921757 99999999999 2001:db8::2 * 00:03:00:01:02:00:5e:60:00:08\n",
        );
        data.extend_from_slice(b"1795921757 \xe9x 2001:db8::3 h *\n");
        data.extend_from_slice(b"vendorclass 2001:db8::1 4d:53\n");
        let parsed = parse(&data);
        assert_eq!(parsed.skipped, 0, "no record skipped");
        assert_eq!(parsed.leases.len(), 9);
        let identity = |i: usize| parsed.leases[i].identity.clone();
        assert_eq!(identity(0), Some(Identity::Mac([2, 0, 0x5e, 0x60, 0, 1])));
        assert_eq!(
            identity(4),
            Some(Identity::Opaque(vec![1, 0xaa, 0xbb].into()))
        );
        assert_eq!(identity(5), Some(Identity::Mac([2, 0, 0x5e, 0x60, 0, 6])));
        assert_eq!(identity(6), Some(Identity::Mac([2, 0, 0x5e, 0x60, 0, 7])));
        assert_eq!(identity(8), None, "no client-id: counted, without a client");
        assert!(parsed.leases.iter().all(|l| l.is_active(1_795_900_000)));
    }

    fn mac_text(mac: [u8; 6]) -> String {
        mac.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// A field dnsmasq writes as one word: any bytes but whitespace.
    fn opaque() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("not whitespace", |b| !b.is_ascii_whitespace()),
            1..24,
        )
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&data);
        }

        /// Leases as dnsmasq writes them, with arbitrary bytes (but not whitespace, which
        /// separates fields) in the hostname and the IAID.
        #[test]
        fn generated_files_parse_back(
            leases in proptest::collection::vec((any::<u32>(), any::<[u8; 6]>(), any::<u32>(), opaque()), 0..50),
            v6 in proptest::collection::vec((any::<u32>(), any::<u128>(), opaque(), opaque(), any::<[u8; 6]>()), 0..20),
        ) {
            let mut data = Vec::new();
            for (expiry, mac, ip, hostname) in &leases {
                let ip = std::net::Ipv4Addr::from(*ip);
                data.extend_from_slice(format!("{expiry} {} {ip} ", mac_text(*mac)).as_bytes());
                data.extend_from_slice(hostname);
                data.extend_from_slice(b" *\n");
            }
            data.extend_from_slice(b"duid 00:01:00:01:2e:4f:12:34:02:aa:bb:cc:dd:01\n");
            for (expiry, ip, iaid, hostname, mac) in &v6 {
                let ip = std::net::Ipv6Addr::from(*ip);
                data.extend_from_slice(format!("{expiry} ").as_bytes());
                data.extend_from_slice(iaid);
                data.extend_from_slice(format!(" {ip} ").as_bytes());
                data.extend_from_slice(hostname);
                data.extend_from_slice(format!(" 00:03:00:01:{}\n", mac_text(*mac)).as_bytes());
            }
            let parsed = parse(&data);
            prop_assert_eq!(parsed.skipped, 0);
            prop_assert_eq!(parsed.leases.len(), leases.len() + v6.len());
            let expected = leases
                .iter()
                .map(|(expiry, mac, ip, _)| (*expiry, *mac, IpAddr::V4((*ip).into())))
                .chain(v6.iter().map(|(expiry, ip, _, _, mac)| (*expiry, *mac, IpAddr::V6((*ip).into()))));
            for (lease, (expiry, mac, ip)) in parsed.leases.iter().zip(expected) {
                prop_assert_eq!(lease.ip, ip);
                prop_assert_eq!(&lease.identity, &Some(Identity::Mac(mac)));
                prop_assert_eq!(lease.expires, (expiry != 0).then_some(u64::from(expiry)));
            }
        }
    }
}
