//! What sources hand the hub: observations in the venue's own terms (interfaces, clients,
//! access points, pools, captures, the programme), none naming a source, and the report of
//! one sample that carries them. A new source of an existing kind of thing (stations from
//! nl80211, clients from probes) maps its sample to these and needs no change in the hub.

use std::sync::Arc;
use std::time::Duration;

use super::access_points::{ApEvents, ApSample};
use super::capture::CaptureSample;
use super::clients::Sighting;
use super::error::SourceError;
use super::interfaces::InterfaceSample;
use super::pools::{PoolLeases, PoolStatistics};
use super::programme::ZoneSession;
use crate::inventory::ZoneIdx;

/// One thing a source saw, as the hub folds it into the venue.
#[derive(Debug, Clone)]
pub enum Observation {
    /// Every monitored interface the source sees now; one missing here has vanished.
    Interfaces(Vec<InterfaceSample>),
    /// Clients seen, each with its zone.
    Clients(Vec<Sighting>),
    /// Every access point the source's instance serves that answered now.
    AccessPoints(Vec<ApSample>),
    /// Events per access point since the previous sample: `(ap, zone, counts)`.
    ApEvents(Vec<(String, Option<ZoneIdx>, ApEvents)>),
    /// One DHCP pool's leases now.
    PoolLeases(PoolLeases),
    /// A DHCP server's own statistics for a pool.
    PoolStatistics {
        /// The pool's name.
        pool: String,
        /// What the server says.
        statistics: PoolStatistics,
    },
    /// What a capture counted since the previous sample.
    Capture(Box<CaptureSample>),
    /// The programme's sessions placed in zones, as last read.
    Programme(Arc<[ZoneSession]>),
}

/// One sample's result, as the hub receives it.
#[derive(Debug)]
pub struct Report {
    /// Source name (a bounded label: `netdev`, `neighbours`, ...).
    pub source: &'static str,
    /// Which instance of the source (a backend or a path from the config).
    pub instance: String,
    /// How long the sample took.
    pub duration: Duration,
    /// What it saw, or why it could not.
    pub outcome: Result<Vec<Observation>, SourceError>,
}
