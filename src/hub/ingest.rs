//! Ingest: the venue state, made of domain parts (interfaces, clients, access points, DHCP
//! pools, captures, the programme), and how observations fold into it. What a source
//! contributes is kept under its owner (the source and its instance), so that when it fails
//! its picture of the present is dropped without naming it: access points and pool figures
//! go (an AP that is down serves nobody, a pool whose file is gone has unknown leases).
//! Totals stay (AP events, capture counts, the client registry's sightings age out on
//! their own), so counters never go backwards; interfaces and the programme stay as last
//! read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::capture::Totals;
use super::recent::{LinkRate, Window};
use super::registry::Registry;
use crate::inventory::ZoneIdx;
use crate::model::Observation;
use crate::model::access_points::{ApEvents, ApSample};
use crate::model::interfaces::InterfaceSample;
use crate::model::pools::{PoolLeases, PoolStatistics};
use crate::model::programme::ZoneSession;

/// Who contributed an observation: a source and its instance.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Owner {
    /// The source's name.
    pub source: &'static str,
    /// Its instance.
    pub instance: String,
}

/// A monitored interface as last sampled, with its bit rates from the last two samples.
pub(super) struct KnownInterface {
    pub sample: InterfaceSample,
    pub rate: LinkRate,
}

/// What the venue knows of one DHCP pool, each part with the owner that said it.
#[derive(Default)]
pub(super) struct PoolState {
    /// The pool's leases, while its lease files can be read.
    pub leases: Option<(Owner, PoolLeases)>,
    /// The server's own statistics, while it answers.
    pub statistics: Option<(Owner, PoolStatistics)>,
}

/// What the venue knows of one capture: counts since start.
pub(super) struct CaptureState {
    pub zone: Option<ZoneIdx>,
    pub ap_names: Arc<[String]>,
    pub totals: Totals,
    /// Time-to-lease over the last few minutes, from the running totals.
    pub recent_leases: Window,
}

/// The venue between ticks.
pub(super) struct Venue {
    /// Monitored interfaces, by owner.
    pub interfaces: BTreeMap<Owner, Vec<KnownInterface>>,
    /// Clients seen, by zone and source, within the active window.
    pub registry: Registry,
    /// Access points answering now, by owner.
    pub aps: BTreeMap<Owner, Vec<ApSample>>,
    /// Event totals since start, by access point and zone.
    pub ap_events: BTreeMap<(String, Option<ZoneIdx>), ApEvents>,
    /// DHCP pools by name.
    pub pools: BTreeMap<String, PoolState>,
    /// Captures by interface.
    pub captures: BTreeMap<String, CaptureState>,
    /// The programme's sessions as last read.
    pub programme: Option<Arc<[ZoneSession]>>,
    /// The zones each owner covers: those it has placed something in since start (an
    /// interface, a client, an access point or its events, a pool's leases, a capture),
    /// remembered through its failures so that a zone whose sources all fail is known to be
    /// blind rather than empty.
    pub coverage: BTreeMap<Owner, BTreeSet<ZoneIdx>>,
}

impl Venue {
    /// An empty venue whose registry counts clients for `active_window`, at most
    /// `max_clients` of them.
    pub(super) fn new(active_window: Duration, max_clients: usize) -> Venue {
        Venue {
            interfaces: BTreeMap::new(),
            registry: Registry::new(active_window, max_clients),
            aps: BTreeMap::new(),
            ap_events: BTreeMap::new(),
            pools: BTreeMap::new(),
            captures: BTreeMap::new(),
            programme: None,
            coverage: BTreeMap::new(),
        }
    }

    /// Folds what `owner` observed at `now` into the venue.
    pub(super) fn fold(&mut self, observation: Observation, owner: &Owner, now: Instant) {
        let zones = zones_of(&observation);
        if !zones.is_empty() {
            self.coverage
                .entry(owner.clone())
                .or_default()
                .extend(zones);
        }
        match observation {
            Observation::Interfaces(samples) => {
                let before = self.interfaces.remove(owner).unwrap_or_default();
                let rates: BTreeMap<&str, &LinkRate> = before
                    .iter()
                    .map(|k| (k.sample.link.name.as_str(), &k.rate))
                    .collect();
                let known = samples
                    .into_iter()
                    .map(|sample| {
                        let counters = sample.link.counters;
                        let rate = match rates.get(sample.link.name.as_str()) {
                            Some(before) => before.next(counters, now),
                            None => LinkRate::first(counters, now),
                        };
                        KnownInterface { sample, rate }
                    })
                    .collect();
                self.interfaces.insert(owner.clone(), known);
            }
            Observation::Clients(sightings) => {
                self.registry.observe(owner.source, &sightings, now);
            }
            Observation::AccessPoints(aps) => {
                self.aps.insert(owner.clone(), aps);
            }
            Observation::ApEvents(events) => {
                for (ap, zone, events) in events {
                    let total = self.ap_events.entry((ap, zone)).or_default();
                    total.connects += events.connects;
                    total.disconnects += events.disconnects;
                    total.auth_failures += events.auth_failures;
                }
            }
            Observation::PoolLeases(leases) => {
                let pool = self.pools.entry(leases.pool.clone()).or_default();
                pool.leases = Some((owner.clone(), leases));
            }
            Observation::PoolStatistics { pool, statistics } => {
                self.pools.entry(pool).or_default().statistics = Some((owner.clone(), statistics));
            }
            Observation::Capture(sample) => {
                let state = self
                    .captures
                    .entry(sample.interface.clone())
                    .or_insert_with(|| CaptureState {
                        zone: sample.zone,
                        ap_names: Arc::clone(&sample.ap_names),
                        totals: Totals::default(),
                        recent_leases: Window::default(),
                    });
                state.totals.add(&sample.counts);
                state.recent_leases.note(
                    sample
                        .counts
                        .dhcp_times_to_lease
                        .iter()
                        .map(Duration::as_secs_f64),
                );
            }
            Observation::Programme(sessions) => self.programme = Some(sessions),
        }
    }

    /// The owners that cover `zone` (see [`Venue::coverage`]).
    pub(super) fn covering(&self, zone: ZoneIdx) -> impl Iterator<Item = &Owner> {
        self.coverage
            .iter()
            .filter(move |(_, zones)| zones.contains(&zone))
            .map(|(owner, _)| owner)
    }

    /// Drops what `owner` said of the present, now that its sample failed.
    pub(super) fn forget(&mut self, owner: &Owner) {
        self.aps.remove(owner);
        let said = |o: &Owner| o == owner;
        for pool in self.pools.values_mut() {
            if pool.leases.as_ref().is_some_and(|(o, _)| said(o)) {
                pool.leases = None;
            }
            if pool.statistics.as_ref().is_some_and(|(o, _)| said(o)) {
                pool.statistics = None;
            }
        }
    }
}

/// The zones an observation places something in. The programme places sessions, not
/// measures: it covers no zone.
fn zones_of(observation: &Observation) -> BTreeSet<ZoneIdx> {
    match observation {
        Observation::Interfaces(samples) => samples.iter().filter_map(|s| s.zone).collect(),
        Observation::Clients(sightings) => sightings.iter().map(|s| s.zone).collect(),
        Observation::AccessPoints(aps) => aps.iter().filter_map(|a| a.zone).collect(),
        Observation::ApEvents(events) => events.iter().filter_map(|(_, zone, _)| *zone).collect(),
        Observation::PoolLeases(leases) => leases.zone.into_iter().collect(),
        Observation::Capture(sample) => sample.zone.into_iter().collect(),
        Observation::PoolStatistics { .. } | Observation::Programme(_) => BTreeSet::new(),
    }
}
