//! What the DHCP source keeps of a lease file set between its changes: one compact entry per
//! lease (the client already hashed, its zone, whether it is in the pool, its expiry), derived
//! once when the files change, so that a tick only filters it by time.

use std::cmp::Reverse;
use std::net::IpAddr;
use std::time::Duration;

use super::lease::{Expiry, Identity, Parsed};
use crate::inventory::ZoneIdx;
use crate::privacy::{Client, ClientId, ClientKey};
use crate::sources::Sighting;

/// The leases of a file set as a tick needs them, the ones that expire last first.
#[derive(Debug)]
pub struct LeaseTable {
    /// Bound leases in the pool or with a client in a zone, by expiry, latest first.
    entries: Vec<Entry>,
    /// Records of the files that did not parse.
    pub skipped: usize,
    /// What the expiries count in.
    pub expiry: Expiry,
}

/// One lease: 32 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Unix seconds or a lease length ([`Expiry`]); `u64::MAX` for an infinite lease.
    expires: u64,
    /// The client holding it, when the file names one and its address has a zone.
    client: Option<Sighted>,
    /// The address is in the pool's ranges.
    in_pool: bool,
}

/// A client and its zone, without padding to spare.
#[derive(Debug, Clone, Copy)]
struct Sighted {
    id: ClientId,
    zone: u32,
    randomized: bool,
}

/// What a tick takes from the table.
#[derive(Debug)]
pub struct Selection {
    /// Active leases in the pool.
    pub leases_active: u64,
    /// Clients holding active leases, at most the cap asked for: those whose leases expire
    /// last (the most recently renewed), exactly allocated.
    pub clients: Vec<Sighting>,
}

impl LeaseTable {
    /// The table of `parsed`: clients hashed with `key`, each address's zone from `zone_of`,
    /// and `in_pool` telling the pool's addresses.
    pub fn new(
        parsed: &Parsed,
        key: &ClientKey,
        zone_of: impl Fn(IpAddr) -> Option<ZoneIdx>,
        in_pool: impl Fn(IpAddr) -> bool,
    ) -> LeaseTable {
        let mut entries: Vec<Entry> = parsed
            .leases
            .iter()
            .filter(|lease| lease.bound)
            .filter_map(|lease| {
                let client = lease.identity.as_ref().and_then(|identity| {
                    let zone = u32::try_from(zone_of(lease.ip)?).ok()?;
                    let Client { id, randomized } = match identity {
                        Identity::Mac(mac) => key.client(mac),
                        Identity::Opaque(id) => key.client_of_id(id),
                    };
                    Some(Sighted {
                        id,
                        zone,
                        randomized,
                    })
                });
                let in_pool = in_pool(lease.ip);
                (in_pool || client.is_some()).then_some(Entry {
                    expires: lease.expires.unwrap_or(u64::MAX),
                    client,
                    in_pool,
                })
            })
            .collect();
        entries.shrink_to_fit();
        // In place (a stable sort would take half the table again); ties in no set order.
        entries.sort_unstable_by_key(|e| Reverse(e.expires));
        LeaseTable {
            entries,
            skipped: parsed.skipped,
            expiry: parsed.expiry,
        }
    }

    /// The leases active at Unix time `now`, for files last modified at `modified` (see
    /// [`Expiry::clock`]), with at most `max_clients` of their clients.
    pub fn select(&self, now: u64, modified: Option<u64>, max_clients: usize) -> Selection {
        let clock = self.expiry.clock(now, modified);
        let active = &self.entries[..self.entries.partition_point(|e| e.expires > clock)];
        let (mut leases_active, mut sighted) = (0, 0);
        for entry in active {
            leases_active += u64::from(entry.in_pool);
            sighted += usize::from(entry.client.is_some());
        }
        let mut clients = Vec::with_capacity(sighted.min(max_clients));
        clients.extend(
            active
                .iter()
                .filter_map(|e| e.client)
                .take(max_clients)
                .filter_map(|c| {
                    Some(Sighting {
                        client: Client {
                            id: c.id,
                            randomized: c.randomized,
                        },
                        zone: ZoneIdx::try_from(c.zone).ok()?,
                        age: Duration::ZERO,
                    })
                }),
        );
        Selection {
            leases_active,
            clients,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lease::Lease;
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn lease(host: u8, expires: Option<u64>, bound: bool) -> Lease {
        Lease {
            ip: IpAddr::from([10, 0, 0, host]),
            identity: Some(Identity::Mac([2, 0, 0x5e, 0, 0, host])),
            expires,
            bound,
        }
    }

    fn key() -> ClientKey {
        ClientKey::from_bytes([7; 16])
    }

    /// Zone 0 for 10.0.0.0/25, none above; the pool is 10.0.0.0/26.
    fn table(parsed: &Parsed) -> LeaseTable {
        LeaseTable::new(
            parsed,
            &key(),
            |ip| (ip < IpAddr::from([10, 0, 0, 128])).then_some(0),
            |ip| ip < IpAddr::from([10, 0, 0, 64]),
        )
    }

    #[test]
    fn an_entry_is_32_bytes_and_a_lease_at_most_64() {
        assert_eq!(std::mem::size_of::<Entry>(), 32);
        assert!(std::mem::size_of::<Lease>() <= 64);
    }

    #[test]
    fn sightings_capped_to_the_leases_that_expire_last_and_counts_stay_exact() {
        // Ten active leases in the pool expiring from NOW + 10 to NOW + 100, one infinite,
        // one expired, one not bound, one out of the pool (still a client), one out of every
        // zone (still in no pool: dropped), one without an identity (counted, not sent).
        let mut leases: Vec<Lease> = (1..=10)
            .map(|h| lease(h, Some(NOW + 10 * u64::from(h)), true))
            .collect();
        leases.push(lease(11, None, true));
        leases.push(lease(12, Some(NOW), true));
        leases.push(lease(13, Some(NOW + 500), false));
        leases.push(lease(100, Some(NOW + 500), true));
        leases.push(lease(200, Some(NOW + 500), true));
        leases.push(Lease {
            identity: None,
            ..lease(14, Some(NOW + 5), true)
        });
        let parsed = Parsed {
            leases,
            ..Parsed::default()
        };
        let table = table(&parsed);
        assert_eq!(table.entries.len(), 14, "bound, and in the pool or a zone");

        let all = table.select(NOW, None, 100);
        assert_eq!(
            all.leases_active, 12,
            "ten, the infinite one, the anonymous one"
        );
        assert_eq!(all.clients.len(), 12, "eleven in the pool, one beside it");
        assert_eq!(all.clients.capacity(), 12, "allocated exactly");

        let capped = table.select(NOW, None, 4);
        assert_eq!(capped.leases_active, 12, "every lease counted");
        assert_eq!(capped.clients.capacity(), 4);
        let id = |host| key().client(&[2, 0, 0x5e, 0, 0, host]);
        let sent: Vec<Client> = capped.clients.iter().map(|s| s.client).collect();
        assert_eq!(
            sent,
            [id(11), id(100), id(10), id(9)],
            "infinite first, then the latest expiries"
        );
        assert!(capped.clients.iter().all(|s| s.zone == 0));

        let later = table.select(NOW + 50, None, 100);
        assert_eq!(later.leases_active, 6, ".6 to .10 and the infinite one");
        assert_eq!(later.clients.len(), 7, "and the one beside the pool");
        assert_eq!(table.select(NOW, None, 0).clients.capacity(), 0);
    }

    #[test]
    fn lease_lengths_count_from_the_modification_time() {
        let parsed = Parsed {
            leases: vec![lease(1, Some(600), true), lease(2, Some(60), true)],
            expiry: Expiry::Lengths,
            ..Parsed::default()
        };
        let table = table(&parsed);
        assert_eq!(table.select(NOW, Some(NOW - 100), 10).leases_active, 1);
        assert_eq!(table.select(NOW, Some(NOW - 30), 10).leases_active, 2);
        assert_eq!(table.select(NOW, Some(NOW - 600), 10).leases_active, 0);
    }
}
