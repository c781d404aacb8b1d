//! TEMPORARY (uncommitted): replaced by the dhcp-parsers branch.
use super::lease::{Identity, Lease, Parsed};
pub fn parse(data: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    for line in String::from_utf8_lossy(data).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || f[0] == "duid" {
            continue;
        }
        let (Ok(exp), Ok(ip)) = (f[0].parse::<u64>(), f[2].parse()) else {
            out.skipped += 1;
            continue;
        };
        out.leases.push(Lease {
            ip,
            identity: crate::privacy::parse_mac(f[1]).map(Identity::Mac),
            expires: (exp != 0).then_some(exp),
            bound: true,
        });
    }
    out
}
