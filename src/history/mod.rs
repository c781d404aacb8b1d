//! The agent's own history: each tick's snapshot kept in an SQLite file (per zone, access
//! point, interface, pool, capture and source), with hourly unique-device sketches per zone,
//! so that the report can be written after the event, with no client identity stored.
//!
//! - [`config`]: the `[history]` section.
//! - `schema`: the tables, described once; the SQL is made from the descriptions.
//! - [`store`]: the file: opening it, writing ticks, rolling each minute up into a minute
//!   row, retention and downsampling, reading unique devices back.
//! - [`read`]: the snapshot at a past tick, for the status page's past.
//! - [`writer`]: the thread that owns the file, fed by a bounded channel, and its metrics.

pub mod config;
pub(crate) mod read;
mod schema;
pub mod store;
#[cfg(test)]
pub(crate) mod testing;
pub mod writer;

pub use schema::{ROLLED_UP_UNTIL, UPGRADES_FROM, VERSION as SCHEMA_VERSION};
pub use store::{HistoryError, Store};
pub use writer::{Batching, Metrics, Writer};
