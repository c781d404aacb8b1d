//! The client registry: one entry per client id, fed by every source that sees clients, so a
//! device seen by several sources, or roaming between access points of a zone, counts once.
//!
//! Its memory is bounded by configuration (`[agent] max_clients`), not by what clients do:
//! past the cap the least recently seen client is evicted early, and counted. Eviction and
//! expiry take the oldest entries from a min-heap of last-seen times (a client seen again
//! pushes its new time; the stale one is skipped when it surfaces, and the heap is rebuilt
//! once stale times outnumber clients), so both cost amortised O(log n) per sighting, never
//! a scan of the registry.

use std::cmp::Reverse;
use std::collections::hash_map::Entry as Slot;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::inventory::ZoneIdx;
use crate::model::clients::Sighting;
use crate::model::unique::UniqueEstimate;
use crate::privacy::ClientId;

/// Active-client counts of one zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneCounts {
    /// Unique clients seen within the active window.
    pub clients: u64,
    /// Of those, clients with a randomized (locally administered) MAC.
    pub randomized: u64,
    /// Unique clients per source that saw them within the window.
    pub by_source: BTreeMap<&'static str, u64>,
}

/// A time as nanoseconds from the registry's epoch (negative before it): 8 bytes where an
/// `Instant` takes 16, exact, and good for ±292 years.
type Stamp = i64;

/// How many sources' sightings an entry tells apart (neighbours, DHCP, hostapd, capture).
const SOURCE_SLOTS: usize = 4;

/// In `Entry::by_source`: that source never saw the client.
const NEVER: Stamp = Stamp::MIN;

/// One client: 48 bytes, 56 with its key in the map.
struct Entry {
    last_seen: Stamp,
    /// Latest sighting by each source, by the registry's source slot.
    by_source: [Stamp; SOURCE_SLOTS],
    zone: u32,
    randomized: bool,
}

/// Clients seen recently, by keyed id; nothing here can be turned back into a MAC.
pub struct Registry {
    window: Stamp,
    max_clients: usize,
    epoch: Instant,
    clients: HashMap<ClientId, Entry>,
    /// Every client's last-seen time, oldest on top, among older (stale) times of clients seen
    /// again since; a time is current when its client's entry still holds it.
    by_age: BinaryHeap<Reverse<(Stamp, ClientId)>>,
    /// Source names by slot, in the order they first reported.
    sources: Vec<&'static str>,
    /// A source found every slot taken (logged once).
    slots_full: bool,
    /// Clients dropped before their window ended because the registry was full.
    evicted: u64,
    /// Unique devices since start, per zone (by index) and venue-wide.
    unique_by_zone: HashMap<ZoneIdx, UniqueEstimate>,
    unique_venue: UniqueEstimate,
    /// Unique devices per zone since `hour` began (for the history's hourly sketches);
    /// shared with the snapshots, copied on the first write after one took it.
    unique_this_hour: HashMap<ZoneIdx, Arc<UniqueEstimate>>,
    /// The Unix hour (seconds / 3600) `unique_this_hour` counts; `None` before the first
    /// snapshot, whose hour the sightings before it count in.
    hour: Option<u64>,
}

/// Duration in nanoseconds, saturating (past 292 years).
fn nanos(d: Duration) -> Stamp {
    Stamp::try_from(d.as_nanos()).unwrap_or(Stamp::MAX)
}

/// Smallest table the registry shrinks to, so a quiet venue does not reallocate each tick.
const MIN_CAPACITY: usize = 1024;

impl Registry {
    /// An empty registry counting clients seen within `window`, holding at most `max_clients`
    /// (at least one).
    pub fn new(window: Duration, max_clients: usize) -> Registry {
        Registry {
            window: nanos(window),
            max_clients: max_clients.max(1),
            epoch: Instant::now(),
            clients: HashMap::new(),
            by_age: BinaryHeap::new(),
            sources: Vec::new(),
            slots_full: false,
            evicted: 0,
            unique_by_zone: HashMap::new(),
            unique_venue: UniqueEstimate::default(),
            unique_this_hour: HashMap::new(),
            hour: None,
        }
    }

    fn stamp(&self, at: Instant) -> Stamp {
        match at.checked_duration_since(self.epoch) {
            Some(after) => nanos(after),
            None => -nanos(self.epoch.duration_since(at)),
        }
    }

    /// The slot of `source`, given on its first report; `None` once every slot is taken (its
    /// clients still count, but not in `by_source`).
    fn slot(&mut self, source: &'static str) -> Option<usize> {
        if let Some(slot) = self.sources.iter().position(|s| *s == source) {
            return Some(slot);
        }
        if self.sources.len() == SOURCE_SLOTS {
            if !self.slots_full {
                self.slots_full = true;
                tracing::warn!(
                    source,
                    slots = SOURCE_SLOTS,
                    "client registry has no slot left for this source: its clients count in \
                     totals only, not per source"
                );
            }
            return None;
        }
        self.sources.push(source);
        Some(self.sources.len() - 1)
    }

    /// Records what `source` saw at `now`. A client's zone is that of its latest sighting.
    /// A new client past the cap evicts the least recently seen one (which may be itself).
    pub fn observe(&mut self, source: &'static str, sightings: &[Sighting], now: Instant) {
        let slot = self.slot(source);
        let now = self.stamp(now);
        for s in sightings {
            let age = nanos(s.age);
            if age > self.window {
                continue;
            }
            let seen = now.saturating_sub(age);
            let id = s.client.id;
            self.unique_venue.insert(id);
            self.unique_by_zone.entry(s.zone).or_default().insert(id);
            Arc::make_mut(self.unique_this_hour.entry(s.zone).or_default()).insert(id);
            let zone = u32::try_from(s.zone).unwrap_or(u32::MAX);
            let entry = match self.clients.entry(id) {
                Slot::Occupied(occupied) => {
                    let entry = occupied.into_mut();
                    if seen > entry.last_seen {
                        self.by_age.push(Reverse((seen, id)));
                    }
                    if seen >= entry.last_seen {
                        entry.last_seen = seen;
                        entry.zone = zone;
                    }
                    entry
                }
                Slot::Vacant(vacant) => {
                    self.by_age.push(Reverse((seen, id)));
                    vacant.insert(Entry {
                        last_seen: seen,
                        by_source: [NEVER; SOURCE_SLOTS],
                        zone,
                        randomized: s.client.randomized,
                    })
                }
            };
            if let Some(at) = slot.and_then(|slot| entry.by_source.get_mut(slot)) {
                *at = (*at).max(seen);
            }
            if self.clients.len() > self.max_clients {
                self.evict_oldest();
            }
        }
        if self.by_age.len() > 2 * self.clients.len() + MIN_CAPACITY {
            self.rebuild_by_age();
        }
    }

    /// Drops the least recently seen client, counting it as evicted.
    fn evict_oldest(&mut self) {
        while let Some(Reverse((seen, id))) = self.by_age.pop() {
            if self.remove_if_current(seen, id) {
                self.evicted += 1;
                return;
            }
        }
    }

    /// Removes client `id` if `seen` is its current last-seen time (not a stale one).
    fn remove_if_current(&mut self, seen: Stamp, id: ClientId) -> bool {
        let current = self.clients.get(&id).is_some_and(|e| e.last_seen == seen);
        if current {
            self.clients.remove(&id);
        }
        current
    }

    /// The heap again from the current times only.
    fn rebuild_by_age(&mut self) {
        self.by_age = self
            .clients
            .iter()
            .map(|(id, e)| Reverse((e.last_seen, *id)))
            .collect();
    }

    /// Forgets clients not seen within the window; after a large drop (a flood over), gives
    /// the freed memory back to the system.
    ///
    /// Each expired time is popped from the heap, O(log n); when more than a sixteenth of the
    /// heap has expired (the end of a flood, or stale times piling up), one pass over the
    /// table and a rebuild, O(n), is cheaper than popping the rest, so a tick never costs more.
    pub fn expire(&mut self, now: Instant) {
        let oldest = self.stamp(now).saturating_sub(self.window);
        let mut budget = self.by_age.len() / 16;
        while let Some(Reverse((seen, id))) = self.by_age.peek().copied() {
            if seen >= oldest {
                break;
            }
            if budget == 0 {
                self.clients.retain(|_, e| e.last_seen >= oldest);
                self.rebuild_by_age();
                break;
            }
            budget -= 1;
            self.by_age.pop();
            self.remove_if_current(seen, id);
        }
        let room = 4 * self.clients.len().max(MIN_CAPACITY);
        if self.clients.capacity() > room || self.by_age.capacity() > 2 * room {
            self.clients.shrink_to(2 * self.clients.len());
            self.rebuild_by_age();
            release_free_memory();
        }
    }

    /// Clients evicted early since start because the registry was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Estimated unique devices since start in zone `zone`.
    pub fn unique_in_zone(&self, zone: ZoneIdx) -> f64 {
        self.unique_by_zone
            .get(&zone)
            .map_or(0.0, UniqueEstimate::estimate)
    }

    /// Counts the sightings from now on in Unix hour `hour` (seconds / 3600), afresh when it
    /// is not the hour counted so far. The hub calls it at each snapshot with the snapshot's
    /// hour, and after it with the hour of the next tick, so that the sightings sampled for
    /// the next tick count in that tick's hour, never in none. The first call takes the
    /// sightings made before it into its hour: a device seen once before the first snapshot
    /// (a simulated device is seen again only once a minute) is not lost.
    pub fn start_hour(&mut self, hour: u64) {
        if self.hour != Some(hour) {
            if self.hour.is_some() {
                self.unique_this_hour.clear();
            }
            self.hour = Some(hour);
        }
    }

    /// The devices seen in zone `zone` since the hour began, when any were.
    pub fn unique_this_hour(&self, zone: ZoneIdx) -> Option<Arc<UniqueEstimate>> {
        self.unique_this_hour.get(&zone).cloned()
    }

    /// Estimated unique devices since start, venue-wide.
    pub fn unique_in_venue(&self) -> f64 {
        self.unique_venue.estimate()
    }

    /// Counts per zone (indexed like the inventory's zones) at `now`.
    pub fn counts(&self, zones: usize, now: Instant) -> Vec<ZoneCounts> {
        let mut counts = vec![ZoneCounts::default(); zones];
        let oldest = self.stamp(now).saturating_sub(self.window);
        for entry in self.clients.values().filter(|e| e.last_seen >= oldest) {
            let Some(zone) = usize::try_from(entry.zone)
                .ok()
                .and_then(|z| counts.get_mut(z))
            else {
                continue;
            };
            zone.clients += 1;
            zone.randomized += u64::from(entry.randomized);
            for (source, at) in self.sources.iter().zip(entry.by_source) {
                if at >= oldest {
                    *zone.by_source.entry(source).or_default() += 1;
                }
            }
        }
        counts
    }
}

/// Hands memory freed by a flood back to the system. glibc's malloc keeps freed blocks in its
/// arenas (one per thread that allocated), so without this the agent's resident size would
/// stay at its peak after a flood is over.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only returns the allocator's own free pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::ClientKey;

    fn sighting(key: &ClientKey, last_byte: u8, zone: ZoneIdx) -> Sighting {
        Sighting {
            client: key.client(&[
                0x02 * u8::from(last_byte.is_multiple_of(2)),
                0,
                0,
                0,
                0,
                last_byte,
            ]),
            zone,
            age: Duration::ZERO,
        }
    }

    /// Client number `n` (a distinct MAC per `n`), randomized when `n` is odd.
    fn nth(key: &ClientKey, n: u32, zone: ZoneIdx, age: Duration) -> Sighting {
        let [a, b, c, d] = n.to_be_bytes();
        Sighting {
            client: key.client(&[0x02 * u8::from(n % 2 == 1), 0, a, b, c, d]),
            zone,
            age,
        }
    }

    fn holds(reg: &Registry, key: &ClientKey, n: u32) -> bool {
        let id = nth(key, n, 0, Duration::ZERO).client.id;
        reg.clients.contains_key(&id)
    }

    #[tokio::test(start_paused = true)]
    async fn one_device_seen_twice_and_by_two_sources_counts_once() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 100);
        let now = Instant::now();
        let seen = [
            sighting(&key, 1, 0),
            sighting(&key, 1, 0),
            sighting(&key, 2, 0),
            sighting(&key, 3, 1),
        ];
        reg.observe("neighbours", &seen, now);
        reg.observe("dhcp", &seen[..1], now);
        let counts = reg.counts(2, now);
        assert_eq!(counts[0].clients, 2);
        assert_eq!(counts[0].randomized, 1);
        assert_eq!(counts[0].by_source.get("neighbours"), Some(&2));
        assert_eq!(counts[0].by_source.get("dhcp"), Some(&1));
        assert_eq!(counts[1].clients, 1);
        assert_eq!(reg.unique_in_zone(0).round(), 2.0);
        assert_eq!(reg.unique_in_venue().round(), 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn clients_leave_after_the_window_and_follow_their_latest_zone() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(60), 100);
        let start = Instant::now();
        reg.observe(
            "neighbours",
            &[sighting(&key, 1, 0), sighting(&key, 3, 0)],
            start,
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        reg.observe("neighbours", &[sighting(&key, 1, 1)], Instant::now());
        let counts = reg.counts(2, Instant::now());
        assert_eq!(
            (counts[0].clients, counts[1].clients),
            (1, 1),
            "roamed to zone 1"
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        reg.expire(Instant::now());
        let counts = reg.counts(2, Instant::now());
        assert_eq!((counts[0].clients, counts[1].clients), (0, 1));
        assert_eq!(reg.clients.len(), 1, "expired entries are dropped");
    }

    #[tokio::test(start_paused = true)]
    async fn sightings_older_than_the_window_are_ignored() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(60), 100);
        tokio::time::advance(Duration::from_secs(1000)).await;
        let mut old = sighting(&key, 1, 0);
        old.age = Duration::from_secs(61);
        let mut recent = sighting(&key, 3, 0);
        recent.age = Duration::from_secs(59);
        reg.observe("neighbours", &[old, recent], Instant::now());
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_cap_is_honoured_exactly_and_the_least_recently_seen_go_first() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 3);
        for n in 0..3 {
            reg.observe("dhcp", &[nth(&key, n, 0, Duration::ZERO)], Instant::now());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // Client 0 seen again: client 1 is now the least recently seen.
        reg.observe("dhcp", &[nth(&key, 0, 0, Duration::ZERO)], Instant::now());
        tokio::time::advance(Duration::from_secs(1)).await;
        for n in 3..5 {
            reg.observe("dhcp", &[nth(&key, n, 0, Duration::ZERO)], Instant::now());
            assert_eq!(reg.clients.len(), 3, "never above the cap");
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(reg.evicted(), 2);
        let held: Vec<u32> = (0..5).filter(|n| holds(&reg, &key, *n)).collect();
        assert_eq!(held, [0, 3, 4]);
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_client_older_than_every_held_one_is_the_one_evicted() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 2);
        let now = Instant::now();
        let fresh = [
            nth(&key, 0, 0, Duration::ZERO),
            nth(&key, 1, 0, Duration::ZERO),
        ];
        reg.observe("neighbours", &fresh, now);
        reg.observe(
            "neighbours",
            &[nth(&key, 2, 0, Duration::from_secs(30))],
            now,
        );
        assert_eq!(reg.evicted(), 1);
        assert!(holds(&reg, &key, 0) && holds(&reg, &key, 1));
        assert!(!holds(&reg, &key, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn counts_per_zone_and_source_stay_right_for_clients_not_evicted() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 4);
        // Two old clients in zone 0 (one also seen by hostapd), evicted by four newer ones.
        reg.observe(
            "dhcp",
            &[
                nth(&key, 0, 0, Duration::ZERO),
                nth(&key, 1, 0, Duration::ZERO),
            ],
            Instant::now(),
        );
        reg.observe(
            "hostapd",
            &[nth(&key, 0, 0, Duration::ZERO)],
            Instant::now(),
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        let newer: Vec<Sighting> = (2..6)
            .map(|n| nth(&key, n, (n % 2) as usize, Duration::ZERO))
            .collect();
        reg.observe("dhcp", &newer, Instant::now());
        reg.observe("hostapd", &newer[..1], Instant::now());
        assert_eq!(reg.evicted(), 2);
        let counts = reg.counts(2, Instant::now());
        // Even numbers are zone 0 and global MACs, odd ones zone 1 and randomized.
        assert_eq!((counts[0].clients, counts[0].randomized), (2, 0));
        assert_eq!((counts[1].clients, counts[1].randomized), (2, 2));
        assert_eq!(counts[0].by_source.get("dhcp"), Some(&2));
        assert_eq!(counts[0].by_source.get("hostapd"), Some(&1));
        assert_eq!(counts[1].by_source.get("hostapd"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn unique_estimates_count_evicted_clients_too() {
        let key = ClientKey::from_bytes([9; 16]);
        let flood: Vec<Sighting> = (0..20_000)
            .map(|n| nth(&key, n, 0, Duration::ZERO))
            .collect();
        let mut capped = Registry::new(Duration::from_secs(300), 100);
        let mut whole = Registry::new(Duration::from_secs(300), 1_000_000);
        capped.observe("dhcp", &flood, Instant::now());
        whole.observe("dhcp", &flood, Instant::now());
        assert_eq!(capped.evicted(), 19_900);
        assert_eq!(capped.counts(1, Instant::now())[0].clients, 100);
        assert_eq!(capped.unique_in_venue(), whole.unique_in_venue());
        assert_eq!(capped.unique_in_zone(0), whole.unique_in_zone(0));
        let estimate = capped.unique_in_venue();
        assert!((19_000.0..21_000.0).contains(&estimate), "{estimate}");
    }

    #[tokio::test(start_paused = true)]
    async fn clients_seen_every_tick_keep_the_age_heap_small() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 100);
        let clients: Vec<Sighting> = (0..50).map(|n| nth(&key, n, 0, Duration::ZERO)).collect();
        for _ in 0..1_000 {
            reg.observe("neighbours", &clients, Instant::now());
            tokio::time::advance(Duration::from_secs(1)).await;
            assert!(reg.by_age.len() <= 2 * 50 + MIN_CAPACITY + 50);
        }
        assert_eq!(reg.evicted(), 0);
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn tables_shrink_once_a_flood_has_expired() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(60), 50_000);
        let flood: Vec<Sighting> = (0..80_000)
            .map(|n| nth(&key, n, 0, Duration::ZERO))
            .collect();
        reg.observe("dhcp", &flood, Instant::now());
        assert_eq!(reg.clients.len(), 50_000);
        assert!(reg.clients.capacity() >= 50_000);
        tokio::time::advance(Duration::from_secs(30)).await;
        let few: Vec<Sighting> = (0..10)
            .map(|n| nth(&key, 1_000_000 + n, 0, Duration::ZERO))
            .collect();
        reg.observe("dhcp", &few, Instant::now());
        tokio::time::advance(Duration::from_secs(31)).await;
        reg.expire(Instant::now());
        assert_eq!(reg.clients.len(), 10);
        assert!(
            reg.clients.capacity() < 4 * MIN_CAPACITY,
            "{}",
            reg.clients.capacity()
        );
        assert!(
            reg.by_age.capacity() < 4 * MIN_CAPACITY,
            "{}",
            reg.by_age.capacity()
        );
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_mass_expiry_keeps_exactly_the_clients_still_active() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(60), 100_000);
        let old: Vec<Sighting> = (0..20_000)
            .map(|n| nth(&key, n, 0, Duration::ZERO))
            .collect();
        reg.observe("dhcp", &old, Instant::now());
        tokio::time::advance(Duration::from_secs(30)).await;
        // Half of them seen again, and a few newcomers: stale times pile up in the heap.
        let again: Vec<Sighting> = (10_000..20_005)
            .map(|n| nth(&key, n, 0, Duration::ZERO))
            .collect();
        reg.observe("dhcp", &again, Instant::now());
        tokio::time::advance(Duration::from_secs(31)).await;
        reg.expire(Instant::now());
        assert_eq!(reg.clients.len(), 10_005);
        assert_eq!(reg.by_age.len(), 10_005, "stale and expired times are gone");
        assert!(!holds(&reg, &key, 9_999) && holds(&reg, &key, 10_000));
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 10_005);
        assert_eq!(reg.evicted(), 0, "expiry is not eviction");
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_past_the_slots_counts_in_totals_only() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300), 100);
        let now = Instant::now();
        for (n, source) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
            reg.observe(source, &[nth(&key, n as u32, 0, Duration::ZERO)], now);
        }
        let counts = reg.counts(1, now);
        assert_eq!(counts[0].clients, 5);
        assert_eq!(counts[0].by_source.len(), SOURCE_SLOTS);
        assert_eq!(counts[0].by_source.get("e"), None);
    }
}
