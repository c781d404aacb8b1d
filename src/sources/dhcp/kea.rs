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
use super::lease::{Identity, LastWins, Lease, Parsed};

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
    fn from_header(line: &str) -> Option<Columns> {
        let names: Vec<&str> = line.split(',').map(str::trim).collect();
        let find = |name: &str| names.iter().position(|n| *n == name);
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
pub fn parse_csv(data: &[u8]) -> Parsed {
    let mut leases = LastWins::default();
    let mut columns: Option<Columns> = None;
    let complete = match data.iter().rposition(|b| *b == b'\n') {
        Some(end) => &data[..=end],
        None => &data[..0],
    };
    if complete.len() < data.len() && !data[complete.len()..].iter().all(u8::is_ascii_whitespace) {
        leases.skip();
    }
    for line in complete.split(|b| *b == b'\n') {
        let Ok(line) = std::str::from_utf8(line) else {
            leases.skip();
            continue;
        };
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if line.starts_with("address,") {
            columns = Columns::from_header(line);
            continue;
        }
        leases.record(columns.and_then(|c| row(&c, line)));
    }
    leases.finish()
}

/// Most columns a row may have (Kea 2.x writes at most 18).
const MAX_COLUMNS: usize = 32;

fn row(columns: &Columns, line: &str) -> Option<Lease> {
    let mut fields = [""; MAX_COLUMNS];
    let mut count = 0;
    for field in line.split(',') {
        *fields.get_mut(count)? = field.trim();
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
    let ip: IpAddr = field(Some(columns.address))?.parse().ok()?;
    let lifetime: u64 = field(Some(columns.valid_lifetime))?.parse().ok()?;
    let expire: u64 = field(Some(columns.expire))?.parse().ok()?;
    let state: u32 = match field(columns.state) {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    let identity = match field(columns.hwaddr).and_then(crate::privacy::parse_mac) {
        Some(mac) => Some(Identity::Mac(mac)),
        None => field(columns.duid)
            .and_then(hex_bytes)
            .and_then(|d| identity_of_duid(&d))
            .or_else(|| {
                field(columns.client_id)
                    .and_then(hex_bytes)
                    .filter(|b| !b.is_empty())
                    .map(Identity::Opaque)
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
pub struct SubnetStatistics {
    /// Addresses the subnet's pools hold (`total-addresses`, or `total-nas` for v6).
    pub total: u64,
    /// Addresses assigned now (`assigned-addresses`, or `assigned-nas`).
    pub assigned: u64,
}

/// What `statistic-get-all` says about pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeaStatistics {
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
pub fn parse_statistics(json: &[u8]) -> Result<KeaStatistics, String> {
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
pub async fn statistic_get_all(socket: &Path, timeout: Duration) -> std::io::Result<Vec<u8>> {
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
        assert_eq!(l[3].identity, Some(Identity::Opaque(vec![1, 0xaa, 0xbb])));
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
            Some(Identity::Opaque(vec![0, 2, 0, 0, 0xab, 0x11, 1]))
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

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_csv(&data);
            let _ = parse_statistics(&data);
        }

        #[test]
        fn generated_v4_files_parse_back(rows in proptest::collection::vec((any::<[u8; 6]>(), any::<u32>(), 1u32..100_000, any::<bool>()), 0..40)) {
            let mut text = String::from("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n");
            let mut expected = HashMap::new();
            for (mac, ip, lifetime, declined) in &rows {
                let ip = std::net::Ipv4Addr::from(*ip);
                let mac_text = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
                text.push_str(&format!("{ip},{mac_text},,{lifetime},1795922000,1,0,0,h,{},\n", u8::from(*declined)));
                expected.insert(IpAddr::V4(ip), (*mac, !declined));
            }
            let parsed = parse_csv(text.as_bytes());
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
