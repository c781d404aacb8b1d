//! What every lease parser produces: leases with the client's identity, address and expiry.
//! The identity is raw (a MAC or DUID) and never leaves the DHCP source: it is hashed there.

use std::net::IpAddr;

/// Who holds a lease, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// An Ethernet/Wi-Fi MAC address (hardware address, or the one inside a DUID-LL/LLT).
    Mac([u8; 6]),
    /// Another stable client identifier (a DUID or client-id without a MAC in it).
    Opaque(Box<[u8]>),
}

/// One lease as the server's file states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The leased address (IPv4, or IPv6 for DHCPv6 leases).
    pub ip: IpAddr,
    /// Who holds it, when the file says.
    pub identity: Option<Identity>,
    /// Expiry in Unix seconds; `None` for an infinite lease.
    pub expires: Option<u64>,
    /// The server considers it bound (dnsmasq: always; ISC: `binding state active`;
    /// Kea: state 0 and a non-zero lifetime).
    pub bound: bool,
}

impl Lease {
    /// Whether the lease is in use at `now` (Unix seconds): bound and not expired.
    pub fn is_active(&self, now: u64) -> bool {
        self.bound && self.expires.is_none_or(|e| e > now)
    }
}

/// What the leases' [`Lease::expires`] count in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Expiry {
    /// Unix times: what every server writes when it has a clock.
    #[default]
    UnixTime,
    /// Lease lengths in seconds, counted from when the file was written: dnsmasq built with
    /// `HAVE_BROKEN_RTC` (routers without a clock) writes these, and reads them back as "now
    /// plus length" when it loads the file.
    Lengths,
}

impl Expiry {
    /// The time to compare expiries with at Unix time `now`, for a file last modified at
    /// `modified` (Unix seconds): `now` itself for Unix times; for lease lengths, the time
    /// since the file was written (dnsmasq counts them from when it loads the file), or zero
    /// without a modification time.
    pub fn clock(self, now: u64, modified: Option<u64>) -> u64 {
        match self {
            Expiry::UnixTime => now,
            Expiry::Lengths => now.saturating_sub(modified.unwrap_or(now)),
        }
    }
}

/// The result of parsing a lease file: the leases, and how many records were skipped as
/// malformed (a half-written last line, garbage). Skipped records are counted, never echoed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Leases, one per address (for formats with history, the last record wins).
    pub leases: Vec<Lease>,
    /// Records that did not parse.
    pub skipped: usize,
    /// One of the skipped records is the file's last, cut short where its writer is still at
    /// it and no longer than any record of its format: normal in a file being rewritten, not a
    /// sign of garbage. Said of one file's parse (a merged set says false).
    pub half_written: bool,
    /// What the leases' expiries count in.
    pub expiry: Expiry,
    /// The kind of server whose lease file this looks like, when no lease was read and some
    /// records were skipped and it is not the kind it was read as (see
    /// [`super::source::parse`]).
    pub looks_like: Option<super::config::DhcpKind>,
}

/// Longest record of a Kea or ISC lease file, in bytes: a Kea row or an ISC lease block is a
/// few hundred bytes, a few KiB with a large user context or many options. An unterminated
/// last record longer than its format's longest (see also dnsmasq's `MAX_LINE_BYTES`) is not
/// one being written but garbage (a blob, a file of zero bytes).
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

impl Parsed {
    /// Counts the last record, cut short after `len` bytes, as skipped: half-written if it
    /// is no longer than `longest`, the longest record its format holds, else garbage.
    pub(crate) fn cut(&mut self, len: usize, longest: usize) {
        self.skipped += 1;
        self.half_written = len <= longest;
    }

    /// The leases in use at Unix time `now`, for a file last modified at `modified` (Unix
    /// seconds). Lease lengths ([`Expiry::Lengths`]) count from the modification time, as
    /// dnsmasq counts them from the time it loads the file; without one, from `now`.
    pub fn active(&self, now: u64, modified: Option<u64>) -> impl Iterator<Item = &Lease> {
        let clock = self.expiry.clock(now, modified);
        self.leases.iter().filter(move |l| l.is_active(clock))
    }
}

/// The complete lines of a file being rewritten, and the length of a last line without its
/// newline (the writer is still at it) if it holds more than whitespace: that one is a
/// skipped record (see [`Parsed::cut`]).
pub(crate) fn complete_lines(data: &[u8]) -> (impl Iterator<Item = &[u8]>, Option<usize>) {
    let complete = match memchr::memrchr(b'\n', data) {
        Some(end) => data.get(..=end).unwrap_or_default(),
        None => &[],
    };
    let tail = data.get(complete.len()..).unwrap_or_default();
    let cut = (!tail.iter().all(u8::is_ascii_whitespace)).then_some(tail.len());
    (complete.split(|b| *b == b'\n'), cut)
}

/// A decimal number of ASCII digits only (no sign, no spaces), as the lease files write them.
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            .flatten()
    })
}

/// An IPv4 or IPv6 address written as text.
pub(crate) fn address(text: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Leases of an append-only file: a later record for an address replaces the earlier one,
/// keeping the address's first position.
#[derive(Default)]
pub(crate) struct LastWins {
    parsed: Parsed,
    /// FNV-1a: addresses from a lease file need no protection against chosen collisions (the
    /// file is the DHCP server's own), and SipHash was a tenth of the ISC parse.
    index: fnv::FnvHashMap<IpAddr, usize>,
}

impl LastWins {
    /// Records a lease, or a record that did not parse (`None`).
    pub(crate) fn record(&mut self, lease: Option<Lease>) {
        let Some(lease) = lease else {
            self.parsed.skipped += 1;
            return;
        };
        match self.index.get(&lease.ip) {
            Some(&i) => self.parsed.leases[i] = lease,
            None => {
                self.index.insert(lease.ip, self.parsed.leases.len());
                self.parsed.leases.push(lease);
            }
        }
    }

    /// Counts `records` that did not parse.
    pub(crate) fn skip(&mut self, records: usize) {
        self.parsed.skipped += records;
    }

    /// Counts the last record, cut short after `len` bytes (see [`Parsed::cut`]).
    pub(crate) fn cut(&mut self, len: usize, longest: usize) {
        self.parsed.cut(len, longest);
    }

    /// The leases, one per address.
    pub(crate) fn finish(self) -> Parsed {
        self.parsed
    }
}

/// A recorded lease file of `tests/fixtures/dhcp`, for the parsers' tests.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    crate::testing::read(&crate::testing::project_fixture(&format!("dhcp/{name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_means_bound_and_unexpired() {
        let lease = |bound, expires| Lease {
            ip: "10.0.0.1".parse().expect("ip"),
            identity: None,
            expires,
            bound,
        };
        assert!(lease(true, None).is_active(100));
        assert!(lease(true, Some(101)).is_active(100));
        assert!(!lease(true, Some(100)).is_active(100));
        assert!(!lease(false, None).is_active(100));
    }

    #[test]
    fn lease_lengths_count_from_the_modification_time() {
        let lease = |expires| Lease {
            ip: "10.0.0.1".parse().expect("ip"),
            identity: None,
            expires,
            bound: true,
        };
        let mut parsed = Parsed {
            leases: vec![lease(Some(600)), lease(None), lease(Some(1_000_000_600))],
            ..Parsed::default()
        };
        let active = |p: &Parsed, now, modified| p.active(now, modified).count();
        assert_eq!(active(&parsed, 1_000_000_000, None), 2, "Unix times");
        parsed.expiry = Expiry::Lengths;
        assert_eq!(active(&parsed, 1_000_000_000, Some(999_999_500)), 3);
        assert_eq!(
            active(&parsed, 1_000_000_000, Some(999_999_400)),
            2,
            "600 s after the file was written"
        );
        assert_eq!(
            active(&parsed, 1_000, Some(2_000)),
            3,
            "a file from the future"
        );
        assert_eq!(active(&parsed, 1_000, None), 3, "no modification time");
    }

    #[test]
    fn numbers_and_lines_from_bytes() {
        assert_eq!(decimal(b"1893456000"), Some(1_893_456_000));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 ",
            b"99999999999999999999",
            b"\xe9",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        let (lines, cut) = complete_lines(b"a\nb\xff\nc");
        assert_eq!(lines.collect::<Vec<_>>(), [&b"a"[..], b"b\xff", b""]);
        assert_eq!(cut, Some(1));
        assert_eq!(complete_lines(b"a\n \r\n").1, None);
    }

    #[test]
    fn a_cut_last_record_longer_than_any_record_is_garbage() {
        let mut parsed = Parsed::default();
        parsed.cut(MAX_RECORD_BYTES, MAX_RECORD_BYTES);
        assert_eq!((parsed.skipped, parsed.half_written), (1, true));
        let mut parsed = Parsed::default();
        parsed.cut(MAX_RECORD_BYTES + 1, MAX_RECORD_BYTES);
        assert_eq!((parsed.skipped, parsed.half_written), (1, false));
    }
}
