//! Value types that both the sources and the hub use, below both so that imports only point
//! down: sources produce them, the hub keeps and folds them, the snapshot carries some of
//! them to the views.
//!
//! - [`observation`]: what a source hands the hub: [`Observation`]s in a [`Report`].
//! - [`error`]: why a sample failed, [`SourceError`] of a bounded [`ErrorKind`].
//! - [`grid`]: the wall-clock grid sources sample on and the hub snapshots on; Unix seconds.
//! - [`clients`]: a client sighting (keyed-hash id, zone, age).
//! - [`interfaces`]: kernel interface counters and state.
//! - [`access_points`]: access points, their band, stations and events.
//! - [`pools`]: a DHCP pool's leases and its server's statistics.
//! - [`programme`]: sessions of the programme, placed in zones.
//! - [`capture`]: what a capture counts, in plain fixed-size structs.
//! - [`histogram`]: fixed-bucket histograms.
//! - [`unique`]: the HyperLogLog sketch behind every unique-device estimate.

pub(crate) mod access_points;
pub(crate) mod capture;
pub(crate) mod clients;
pub(crate) mod error;
pub(crate) mod grid;
pub(crate) mod histogram;
pub(crate) mod interfaces;
pub(crate) mod observation;
pub(crate) mod pools;
pub(crate) mod programme;
pub(crate) mod unique;

pub use error::{ErrorKind, SourceError};
pub use observation::{Observation, Report};
