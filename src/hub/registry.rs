//! The client registry: one entry per client id, fed by every source that sees clients, so a
//! device seen by several sources, or roaming between access points of a zone, counts once.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use super::unique::UniqueEstimate;
use crate::inventory::ZoneIdx;
use crate::privacy::ClientId;
use crate::sources::Sighting;

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

struct Entry {
    zone: ZoneIdx,
    randomized: bool,
    last_seen: Instant,
    by_source: Vec<(&'static str, Instant)>,
}

/// Clients seen recently, by keyed id; nothing here can be turned back into a MAC.
pub struct Registry {
    window: Duration,
    clients: HashMap<ClientId, Entry>,
    /// Unique devices since start, per zone (by index) and venue-wide.
    unique_by_zone: HashMap<ZoneIdx, UniqueEstimate>,
    unique_venue: UniqueEstimate,
}

impl Registry {
    /// An empty registry counting clients seen within `window`.
    pub fn new(window: Duration) -> Registry {
        Registry {
            window,
            clients: HashMap::new(),
            unique_by_zone: HashMap::new(),
            unique_venue: UniqueEstimate::default(),
        }
    }

    /// Records what `source` saw at `now`. A client's zone is that of its latest sighting.
    pub fn observe(&mut self, source: &'static str, sightings: &[Sighting], now: Instant) {
        for s in sightings {
            let Some(seen) = now.checked_sub(s.age) else {
                continue;
            };
            if now.duration_since(seen) > self.window {
                continue;
            }
            self.unique_venue.insert(s.client.id);
            self.unique_by_zone
                .entry(s.zone)
                .or_default()
                .insert(s.client.id);
            let entry = self.clients.entry(s.client.id).or_insert(Entry {
                zone: s.zone,
                randomized: s.client.randomized,
                last_seen: seen,
                by_source: Vec::new(),
            });
            if seen >= entry.last_seen {
                entry.last_seen = seen;
                entry.zone = s.zone;
            }
            match entry.by_source.iter_mut().find(|(name, _)| *name == source) {
                Some((_, at)) => *at = (*at).max(seen),
                None => entry.by_source.push((source, seen)),
            }
        }
    }

    /// Forgets clients not seen within the window.
    pub fn expire(&mut self, now: Instant) {
        let window = self.window;
        self.clients
            .retain(|_, e| now.duration_since(e.last_seen) <= window);
    }

    /// Estimated unique devices since start in zone `zone`.
    pub fn unique_in_zone(&self, zone: ZoneIdx) -> f64 {
        self.unique_by_zone
            .get(&zone)
            .map_or(0.0, UniqueEstimate::estimate)
    }

    /// Estimated unique devices since start, venue-wide.
    pub fn unique_in_venue(&self) -> f64 {
        self.unique_venue.estimate()
    }

    /// Counts per zone (indexed like the inventory's zones) at `now`.
    pub fn counts(&self, zones: usize, now: Instant) -> Vec<ZoneCounts> {
        let mut counts = vec![ZoneCounts::default(); zones];
        let active = |at: Instant| now.duration_since(at) <= self.window;
        for entry in self.clients.values().filter(|e| active(e.last_seen)) {
            let Some(zone) = counts.get_mut(entry.zone) else {
                continue;
            };
            zone.clients += 1;
            zone.randomized += u64::from(entry.randomized);
            for (source, at) in &entry.by_source {
                if active(*at) {
                    *zone.by_source.entry(source).or_default() += 1;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::ClientKey;

    fn sighting(key: &ClientKey, last_byte: u8, zone: ZoneIdx) -> Sighting {
        Sighting {
            client: key.client(&[0x02 * u8::from(last_byte % 2 == 0), 0, 0, 0, 0, last_byte]),
            zone,
            age: Duration::ZERO,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_device_seen_twice_and_by_two_sources_counts_once() {
        let key = ClientKey::from_bytes([9; 16]);
        let mut reg = Registry::new(Duration::from_secs(300));
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
        let mut reg = Registry::new(Duration::from_secs(60));
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
        let mut reg = Registry::new(Duration::from_secs(60));
        tokio::time::advance(Duration::from_secs(1000)).await;
        let mut old = sighting(&key, 1, 0);
        old.age = Duration::from_secs(61);
        let mut recent = sighting(&key, 3, 0);
        recent.age = Duration::from_secs(59);
        reg.observe("neighbours", &[old, recent], Instant::now());
        assert_eq!(reg.counts(1, Instant::now())[0].clients, 1);
    }
}
