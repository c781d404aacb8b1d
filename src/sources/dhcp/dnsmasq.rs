//! dnsmasq's lease file: one lease per line, `expiry mac ip hostname client-id`, then, after a
//! `duid SERVER-DUID` line, DHCPv6 leases `expiry iaid ip hostname client-duid`.
//! dnsmasq rewrites the file whole on every change, so a reader may catch it half-written.

use std::net::IpAddr;

use super::lease::{Identity, Lease, Parsed};

/// Parses a dnsmasq lease file. A line without its five fields, or with a field that does not
/// parse (including a last line cut short), is skipped and counted.
pub fn parse(data: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut v6 = false;
    let complete = match data.iter().rposition(|b| *b == b'\n') {
        Some(end) => &data[..=end],
        None => &data[..0],
    };
    if complete.len() < data.len() && !data[complete.len()..].iter().all(u8::is_ascii_whitespace) {
        parsed.skipped += 1; // the last line has no newline yet: dnsmasq is still writing it
    }
    for line in complete.split(|b| *b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            parsed.skipped += 1;
            continue;
        };
        let mut fields = line.split_ascii_whitespace();
        let first = [
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ];
        let extra = fields.next().is_some();
        match first {
            [None, ..] => {}
            [Some("duid"), Some(_), None, ..] => v6 = true,
            [
                Some(expiry),
                Some(hw),
                Some(ip),
                Some(_hostname),
                Some(client_id),
            ] if !extra => match lease(expiry, hw, ip, client_id, v6) {
                Some(lease) => parsed.leases.push(lease),
                None => parsed.skipped += 1,
            },
            _ => parsed.skipped += 1,
        }
    }
    parsed
}

fn lease(expiry: &str, hw: &str, ip: &str, client_id: &str, v6: bool) -> Option<Lease> {
    let expiry: u64 = expiry.parse().ok()?;
    let ip: IpAddr = ip.parse().ok()?;
    if ip.is_ipv6() != v6 {
        return None;
    }
    let identity = if v6 {
        // `hw` is the IAID; the client is its DUID.
        hw.parse::<u32>().ok()?;
        identity_of_duid(&hex_bytes(client_id)?)
    } else {
        match crate::privacy::parse_mac(hw) {
            Some(mac) => Some(Identity::Mac(mac)),
            // Non-Ethernet hardware (`TYPE-aa:bb:...`) or none: fall back to the client-id.
            None => hex_bytes(client_id)
                .filter(|b| !b.is_empty())
                .map(Identity::Opaque),
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
        None => Some(Identity::Opaque(duid.to_vec())),
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
            Some(Identity::Opaque(vec![0xff, 0, 1])),
            "non-Ethernet hw uses the client-id"
        );
        assert_eq!(
            l[3].identity,
            Some(Identity::Mac([0x0a, 0, 0x27, 0, 0, 1])),
            "DUID-LLT embeds the MAC"
        );
        assert_eq!(
            l[4].identity,
            Some(Identity::Opaque(vec![0, 2, 0, 0, 0xab, 0x11, 1, 2]))
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
        data.extend_from_slice(b"1 00:11:22:33:44:55 2001:db8::1 h *\n"); // v6 address before `duid`
        let parsed = parse(&data);
        assert_eq!((parsed.leases.len(), parsed.skipped), (1, 4));
        assert!(parse(b"").leases.is_empty());
    }

    fn mac_text(mac: [u8; 6]) -> String {
        mac.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&data);
        }

        #[test]
        fn generated_files_parse_back(leases in proptest::collection::vec((any::<u32>(), any::<[u8; 6]>(), any::<u32>()), 0..50)) {
            let mut text = String::new();
            for (expiry, mac, ip) in &leases {
                let ip = std::net::Ipv4Addr::from(*ip);
                text.push_str(&format!("{expiry} {} {ip} host-{expiry} *\n", mac_text(*mac)));
            }
            let parsed = parse(text.as_bytes());
            prop_assert_eq!(parsed.skipped, 0);
            prop_assert_eq!(parsed.leases.len(), leases.len());
            for (lease, (expiry, mac, ip)) in parsed.leases.iter().zip(&leases) {
                prop_assert_eq!(lease.ip, IpAddr::V4((*ip).into()));
                prop_assert_eq!(&lease.identity, &Some(Identity::Mac(*mac)));
                prop_assert_eq!(lease.expires, (*expiry != 0).then_some(u64::from(*expiry)));
            }
        }
    }
}
