//! Lease file parsing at event scale: 100 000 leases per format, parsed and counted the way
//! the DHCP source does when the file changed; then, for dnsmasq, the lease table derived
//! from the parse (once per change) and what each tick selects from it. Target: ≤ 50 ms per format on one
//! core. `wc -l` on the same file (page cache) is printed as the I/O floor.
//!
//!   cargo bench --bench lease_parse

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use venuemon::privacy::ClientKey;
use venuemon::sources::dhcp::DhcpKind;
use venuemon::sources::dhcp::lease::Parsed;
use venuemon::sources::dhcp::source::parse;
use venuemon::sources::dhcp::table::LeaseTable;

const LEASES: u32 = 100_000;
const EXPIRY: u64 = 4_000_000_000;

fn mac(i: u32) -> String {
    let b = i.to_be_bytes();
    format!("02:16:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3])
}

fn ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 + i)
}

fn dnsmasq() -> String {
    (0..LEASES)
        .map(|i| format!("{EXPIRY} {} {} host-{i} 01:{}\n", mac(i), ip(i), mac(i)))
        .collect()
}

fn isc() -> String {
    let mut text = String::from("authoring-byte-order little-endian;\n");
    for i in 0..LEASES {
        text.push_str(&format!(
            "lease {} {{\n  starts 0 2026/11/29 03:00:00;\n  ends 6 2036/11/29 03:00:00;\n  cltt 0 2026/11/29 03:00:00;\n  binding state active;\n  next binding state free;\n  rewind binding state free;\n  hardware ethernet {};\n  client-hostname \"host-{i}\";\n}}\n",
            ip(i),
            mac(i)
        ));
    }
    text
}

fn kea() -> String {
    let mut text = String::from(
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n",
    );
    for i in 0..LEASES {
        text.push_str(&format!(
            "{},{},01:{},600,{EXPIRY},1,0,0,host-{i},0,,0\n",
            ip(i),
            mac(i),
            mac(i)
        ));
    }
    text
}

/// Median wall time of `wc -l FILE` over a few runs: reading the bytes once, no parsing.
fn wc_floor(path: &std::path::Path) -> Duration {
    let mut times: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new("wc")
                .arg("-l")
                .arg(path)
                .output()
                .expect("wc runs");
            assert!(out.status.success());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (kind, text) in [
        (DhcpKind::Dnsmasq, dnsmasq()),
        (DhcpKind::Isc, isc()),
        (DhcpKind::Kea, kea()),
    ] {
        let path = dir.path().join(kind.name());
        std::fs::write(&path, &text).expect("write lease file");
        let parsed = parse(kind, text.as_bytes());
        assert_eq!(parsed.leases.len(), LEASES as usize, "{}", kind.name());
        println!(
            "{}: {} leases, {:.1} MB; wc -l (I/O floor, median of 7): {:.2} ms",
            kind.name(),
            LEASES,
            text.len() as f64 / 1e6,
            wc_floor(&path).as_secs_f64() * 1e3
        );
        c.bench_function(&format!("parse {} 100k leases", kind.name()), |b| {
            b.iter(|| {
                let bytes = std::fs::read(&path).expect("read");
                let parsed = parse(kind, black_box(&bytes));
                black_box(parsed.active(1_795_922_400, None).count())
            })
        });
    }
    // What the DHCP source does with a parse: derive its lease table once per file change
    // (every client hashed), then on each tick select the active leases and the sightings.
    let parsed = parse(DhcpKind::Dnsmasq, dnsmasq().as_bytes());
    let key = ClientKey::from_bytes([7; 16]);
    let table = |parsed: &Parsed| LeaseTable::new(parsed, &key, |_| Some(0), |_| true);
    c.bench_function("derive the lease table of 100k leases", |b| {
        b.iter(|| black_box(table(black_box(&parsed))))
    });
    let table = table(&parsed);
    c.bench_function("select 100k active leases, 250k max clients", |b| {
        b.iter(|| black_box(table.select(1_795_922_400, None, 250_000)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
