//! Kea: the memfile lease CSV (v4 and v6), and the server's statistics over its control
//! socket (`statistic-get-all`).
//!
//! The CSV is append-only between cleanups: a later row for an address supersedes earlier
//! ones, and the header can appear again after a cleanup (LFC). Columns are found by header
//! name, since they differ across Kea versions.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::dnsmasq::{hex_bytes, identity_of_duid};
use super::lease::{
    Identity, LastWins, Lease, MAX_RECORD_BYTES, Parsed, address, complete_lines, decimal,
};

/// Kea's "infinite" lifetime.
const INFINITE: u64 = 0xffff_ffff;

/// Column positions of the fields we read, from a header line.
#[derive(Clone, Copy)]
struct Columns {
    count: usize,
    address: usize,
    valid_lifetime: usize,
    expire: usize,
    state: Option<usize>,
    hwaddr: Option<usize>,
    duid: Option<usize>,
    client_id: Option<usize>,
}

impl Columns {
    fn from_header(line: &[u8]) -> Option<Columns> {
        let names: Vec<&[u8]> = line.split(|b| *b == b',').map(<[u8]>::trim_ascii).collect();
        let find = |name: &str| names.iter().position(|n| *n == name.as_bytes());
        Some(Columns {
            count: names.len(),
            address: find("address")?,
            valid_lifetime: find("valid_lifetime")?,
            expire: find("expire")?,
            state: find("state"),
            hwaddr: find("hwaddr"),
            duid: find("duid"),
            client_id: find("client_id"),
        })
    }
}

/// Parses a Kea memfile lease file (v4 or v6). Rows before any header, with the wrong number
/// of columns, or with fields that do not parse (including a last row cut short) are skipped.
///
/// Only the address, lifetime, expiry, state and identity columns are read; the others
/// (hostname, user context, IAID, lease type, ...) are opaque bytes in any encoding, with
/// their commas escaped as Kea writes them (`&#x2c`), and never cost a row.
pub(crate) fn parse_csv(data: &[u8]) -> Parsed {
    let mut leases = LastWins::default();
    let mut columns: Option<Columns> = None;
    let (lines, cut) = complete_lines(data);
    if let Some(len) = cut {
        leases.cut(len, MAX_RECORD_BYTES);
    }
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"address,") {
            columns = Columns::from_header(line);
            continue;
        }
        leases.record(columns.and_then(|c| row(&c, line)));
    }
    leases.finish()
}

/// Most columns a row may have (Kea 2.x writes at most 18).
const MAX_COLUMNS: usize = 32;

fn row(columns: &Columns, line: &[u8]) -> Option<Lease> {
    let mut fields: [&[u8]; MAX_COLUMNS] = [&[]; MAX_COLUMNS];
    let mut count = 0;
    for field in line.split(|b| *b == b',') {
        *fields.get_mut(count)? = field.trim_ascii();
        count += 1;
    }
    if count != columns.count {
        return None;
    }
    let field = |i: Option<usize>| {
        i.and_then(|i| fields.get(i))
            .copied()
            .filter(|f| !f.is_empty())
    };
    let text = |i: Option<usize>| field(i).and_then(|f| std::str::from_utf8(f).ok());
    let ip: IpAddr = address(field(Some(columns.address))?)?;
    let lifetime = decimal(field(Some(columns.valid_lifetime))?)?;
    let expire = decimal(field(Some(columns.expire))?)?;
    let state = match field(columns.state) {
        Some(s) => decimal(s)?,
        None => 0,
    };
    let identity = match field(columns.hwaddr).and_then(crate::privacy::parse_mac_bytes) {
        Some(mac) => Some(Identity::Mac(mac)),
        None => text(columns.duid)
            .and_then(hex_bytes)
            .and_then(|d| identity_of_duid(&d))
            .or_else(|| {
                text(columns.client_id)
                    .and_then(hex_bytes)
                    .filter(|b| !b.is_empty())
                    .map(|id| Identity::Opaque(id.into()))
            }),
    };
    Some(Lease {
        ip,
        identity,
        expires: (lifetime != INFINITE).then_some(expire),
        bound: state == 0 && lifetime != 0,
    })
}

/// Addresses of one subnet, as Kea counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubnetStatistics {
    /// Addresses the subnet's pools hold (`total-addresses`, or `total-nas` for v6).
    pub total: u64,
    /// Addresses assigned now (`assigned-addresses`, or `assigned-nas`).
    pub assigned: u64,
}

/// What `statistic-get-all` says about pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeaStatistics {
    /// Per subnet id.
    pub subnets: BTreeMap<u32, SubnetStatistics>,
    /// Allocation failures since the server started (`v4-allocation-fail`/`v6-allocation-fail`).
    pub allocation_failures: u64,
}

/// Parses Kea's reply to `statistic-get-all` (an object, or a one-element array as the control
/// agent sends it). Each statistic is a list of `[value, timestamp]`, newest first.
///
/// # Errors
/// Not JSON, a non-zero `result` (Kea's `text` is returned), or no `arguments`.
pub(crate) fn parse_statistics(json: &[u8]) -> Result<KeaStatistics, String> {
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
    let reply = match &value {
        serde_json::Value::Array(items) => items.first().ok_or("empty reply")?,
        other => other,
    };
    let result = reply
        .get("result")
        .and_then(serde_json::Value::as_i64)
        .ok_or("no `result`")?;
    if result != 0 {
        let text = reply
            .get("text")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no text");
        return Err(format!(
            "Kea answered result {result}: {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    let arguments = reply
        .get("arguments")
        .and_then(serde_json::Value::as_object)
        .ok_or("no `arguments`")?;
    let mut stats = KeaStatistics::default();
    for (name, samples) in arguments {
        let newest = samples.get(0).and_then(|s| s.get(0));
        // v6 totals can exceed 2^64 and arrive as floats: saturate.
        let value = newest
            .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
            .unwrap_or(0);
        if name == "v4-allocation-fail" || name == "v6-allocation-fail" {
            stats.allocation_failures += value;
            continue;
        }
        let Some((subnet, stat)) = name
            .strip_prefix("subnet[")
            .and_then(|r| r.split_once("]."))
        else {
            continue;
        };
        let Ok(subnet) = subnet.parse::<u32>() else {
            continue;
        };
        let entry = stats.subnets.entry(subnet);
        match stat {
            "total-addresses" | "total-nas" => entry.or_default().total = value,
            "assigned-addresses" | "assigned-nas" => entry.or_default().assigned = value,
            _ => {}
        }
    }
    Ok(stats)
}

/// Largest statistics reply read.
const MAX_REPLY: usize = 4 << 20;

/// Asks the Kea server behind `socket` for `statistic-get-all` and returns the raw reply.
///
/// # Errors
/// The socket cannot be reached, the reply takes longer than `timeout`, or exceeds 4 MiB.
pub(crate) async fn statistic_get_all(
    socket: &Path,
    timeout: Duration,
) -> std::io::Result<Vec<u8>> {
    let exchange = async {
        let mut stream = tokio::net::UnixStream::connect(socket).await?;
        stream
            .write_all(br#"{"command": "statistic-get-all", "arguments": {}}"#)
            .await?;
        let mut reply = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&chunk[..n]);
            if reply.len() > MAX_REPLY {
                return Err(std::io::Error::other(
                    "Kea's statistics reply exceeds 4 MiB",
                ));
            }
            // Kea may keep the connection open: stop once the reply is a whole document.
            if reply.ends_with(b"}") && serde_json::from_slice::<serde_json::Value>(&reply).is_ok()
            {
                break;
            }
        }
        Ok(reply)
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "Kea did not answer in time")
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const V4: &str = "\
address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
10.77.0.10,06:16:3e:5d:00:00,01:06:16:3e:5d:00:00,600,1795922000,1,0,0,k0,0,
10.77.0.11,00:16:3e:5d:00:01,,600,1795922001,1,0,0,k&#x2c1,0,
10.77.0.10,06:16:3e:5d:00:00,01:06:16:3e:5d:00:00,0,1795921500,1,0,0,k0,0,
10.77.0.12,00:16:3e:5d:00:02,,600,1795922002,1,0,0,,1,
10.77.0.13,,01:aa:bb,4294967295,1795922003,1,0,0,,0,
";

    #[test]
    fn later_rows_supersede_and_state_and_lifetime_decide() {
        let parsed = parse_csv(V4.as_bytes());
        assert_eq!(parsed.skipped, 0);
        let l = &parsed.leases;
        assert_eq!(l.len(), 4);
        assert!(!l[0].bound, "released: lifetime 0 in the later row");
        assert!(l[1].bound);
        assert_eq!(
            l[1].identity,
            Some(Identity::Mac([0, 0x16, 0x3e, 0x5d, 0, 1]))
        );
        assert!(!l[2].bound, "state 1 (declined) is gone");
        assert_eq!(l[3].expires, None, "infinite lifetime");
        assert_eq!(
            l[3].identity,
            Some(Identity::Opaque(vec![1, 0xaa, 0xbb].into()))
        );
    }

    #[test]
    fn v6_columns_by_name_and_headers_again_after_cleanup() {
        let text = "\
address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8::10,00:03:00:01:0a:00:27:00:00:01,3600,1795925000,1,1800,0,7,128,0,0,,,0,,1,0
address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id
2001:db8::11,00:02:00:00:ab:11:01,3600,1795925001,1,1800,0,8,128,0,0,,,0,,1,0,0
";
        let parsed = parse_csv(text.as_bytes());
        assert_eq!(parsed.skipped, 0);
        assert_eq!(
            parsed.leases[0].identity,
            Some(Identity::Mac([0x0a, 0, 0x27, 0, 0, 1]))
        );
        assert_eq!(
            parsed.leases[1].identity,
            Some(Identity::Opaque(vec![0, 2, 0, 0, 0xab, 0x11, 1].into()))
        );
    }

    use super::super::lease::fixture;

    #[test]
    fn recorded_kea_csv_and_statistics() {
        let parsed = parse_csv(&fixture("kea-leases4.csv"));
        assert_eq!(parsed.skipped, 0);
        let bound: Vec<String> = parsed
            .leases
            .iter()
            .filter(|l| l.bound)
            .map(|l| l.ip.to_string())
            .collect();
        assert_eq!(
            bound,
            ["10.78.0.10", "10.78.0.11"],
            "the released lease is gone"
        );
        let stats = parse_statistics(&fixture("kea-statistic-get-all.json")).expect("statistics");
        assert_eq!(
            stats.subnets[&1],
            SubnetStatistics {
                total: 10,
                assigned: 2
            }
        );
        assert_eq!(stats.allocation_failures, 0);
    }

    #[test]
    fn case_kea_hostname_latin1_counts() {
        let parsed = parse_csv(&fixture("cases/kea-hostname-latin1/kea-leases4.csv"));
        assert_eq!((parsed.leases.len(), parsed.skipped), (1, 0));
        assert!(parsed.leases[0].is_active(1_800_000_000));
        assert_eq!(
            parsed.leases[0].identity,
            Some(Identity::Mac([2, 0, 0x5e, 0x20, 0, 0x21]))
        );
    }

    #[test]
    fn regression_odd_bytes_in_unused_columns_never_cost_a_row() {
        let mut v4 = b"address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n".to_vec();
        // Latin-1 and UTF-8 hostnames, escaped commas, a user context (JSON, commas escaped)
        // holding non-UTF-8 bytes, control bytes, an empty hwaddr with a client id.
        v4.extend_from_slice(b"10.0.0.1,02:00:5e:20:00:01,,4000,1893456000,1,0,0,caf\xe9,0,,0\n");
        v4.extend_from_slice(
            "10.0.0.2,02:00:5e:20:00:02,,4000,1893456000,1,0,0,Été,0,,0\n".as_bytes(),
        );
        v4.extend_from_slice(b"10.0.0.3,02:00:5e:20:00:03,,4000,1893456000,1,0,0,a&#x2cb,0,{ \"x\": 1&#x2c \"y\": \"\xff\xfe\" },0\n");
        v4.extend_from_slice(b"10.0.0.4,,01:aa:bb,4000,1893456000,1,0,0,\x01\x7f\"q\",0,,0\r\n");
        let parsed = parse_csv(&v4);
        assert_eq!((parsed.leases.len(), parsed.skipped), (4, 0));
        assert_eq!(
            parsed.leases[3].identity,
            Some(Identity::Opaque(vec![1, 0xaa, 0xbb].into()))
        );
        // v6: a temporary address and a prefix, a Latin-1 hostname, no hwaddr.
        let mut v6 = b"address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id\n".to_vec();
        v6.extend_from_slice(b"2001:db8::1,00:03:00:01:02:00:5e:20:00:05,4000,1893456000,1,3000,1,305419896,128,0,0,caf\xe9,,0,,1,0,0\n");
        v6.extend_from_slice(b"2001:db8:1::,00:02:00:00:ab:11:01,4000,1893456000,1,3000,2,7,56,0,0,,,0,{ \"a\": \"\xe9\" },1,0,0\n");
        let parsed = parse_csv(&v6);
        assert_eq!((parsed.leases.len(), parsed.skipped), (2, 0));
        assert_eq!(
            parsed.leases[0].identity,
            Some(Identity::Mac([2, 0, 0x5e, 0x20, 0, 5]))
        );
        assert!(parsed.leases.iter().all(|l| l.is_active(1_800_000_000)));
    }

    #[test]
    fn broken_rows_are_skipped() {
        let mut text = V4.to_string();
        text.push_str("10.77.0.14,too,few\n");
        text.push_str("not-an-ip,00:16:3e:5d:00:02,,600,1795922002,1,0,0,,0,\n");
        text.push_str("10.77.0.15,00:16:3e:5d:00:05,,600,17959"); // cut short
        let parsed = parse_csv(text.as_bytes());
        assert_eq!((parsed.leases.len(), parsed.skipped), (4, 3));
        let orphan = parse_csv(b"10.0.0.1,00:11:22:33:44:55,,600,1,1,0,0,,0,\n");
        assert_eq!(
            (orphan.leases.len(), orphan.skipped),
            (0, 1),
            "rows before a header"
        );
    }

    #[test]
    fn statistics_per_subnet_and_failures() {
        let reply = br#"{"result": 0, "arguments": {
            "subnet[1].total-addresses": [[50, "2026-11-29 03:00:00.1"]],
            "subnet[1].assigned-addresses": [[10, "2026-11-29 03:00:01.0"], [9, "2026-11-29 03:00:00.0"]],
            "subnet[1].pool[0].total-addresses": [[50, "x"]],
            "subnet[2].total-nas": [[1.8446744073709552e19, "x"]],
            "v4-allocation-fail": [[3, "x"]],
            "pkt4-received": [[100, "x"]]}}"#;
        let stats = parse_statistics(reply).expect("parses");
        assert_eq!(
            stats.subnets[&1],
            SubnetStatistics {
                total: 50,
                assigned: 10
            }
        );
        assert_eq!(stats.subnets[&2].total, u64::MAX);
        assert_eq!(stats.allocation_failures, 3);
        let wrapped = parse_statistics(br#"[{"result": 0, "arguments": {}}]"#).expect("array form");
        assert!(wrapped.subnets.is_empty());
        let refused =
            parse_statistics(br#"{"result": 1, "text": "unknown command"}"#).expect_err("refused");
        assert!(refused.contains("unknown command"), "{refused}");
        assert!(parse_statistics(b"{\"result\": 0").is_err());
    }

    /// A text column as Kea writes it: any bytes but line ends, commas escaped as `&#x2c`.
    fn opaque() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            any::<u8>().prop_filter("no line end", |b| *b != b'\n'),
            0..24,
        )
        .prop_map(|bytes| {
            bytes.iter().fold(Vec::new(), |mut out, b| {
                match b {
                    b',' => out.extend_from_slice(b"&#x2c"),
                    b => out.push(*b),
                }
                out
            })
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_csv(&data);
            let _ = parse_statistics(&data);
        }

        /// Rows as Kea writes them, with arbitrary bytes (commas escaped, no line ends) in the
        /// hostname and the user context.
        #[test]
        fn generated_v4_files_parse_back(rows in proptest::collection::vec((any::<[u8; 6]>(), any::<u32>(), 1u32..100_000, any::<bool>(), opaque(), opaque()), 0..40)) {
            let mut data = b"address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n".to_vec();
            let mut expected = HashMap::new();
            for (mac, ip, lifetime, declined, hostname, context) in &rows {
                let ip = std::net::Ipv4Addr::from(*ip);
                let mac_text = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
                data.extend_from_slice(format!("{ip},{mac_text},,{lifetime},1795922000,1,0,0,").as_bytes());
                data.extend_from_slice(hostname);
                data.extend_from_slice(format!(",{},", u8::from(*declined)).as_bytes());
                data.extend_from_slice(context);
                data.push(b'\n');
                expected.insert(IpAddr::V4(ip), (*mac, !declined));
            }
            let parsed = parse_csv(&data);
            prop_assert_eq!(parsed.skipped, 0);
            prop_assert_eq!(parsed.leases.len(), expected.len());
            for lease in &parsed.leases {
                let (mac, bound) = expected[&lease.ip];
                prop_assert_eq!(&lease.identity, &Some(Identity::Mac(mac)));
                prop_assert_eq!(lease.bound, bound);
            }
        }
    }
}
