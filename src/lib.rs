//! venuemon: a Wi-Fi load monitoring agent for event venues.
//!
//! Data flows one way: sources sample the host and send observations to the hub; the hub
//! folds them into the venue state and publishes an immutable snapshot each tick; every
//! consumer is a view of that snapshot. Imports point down: views and the agent over the
//! hub and the sources, which both stand on `model`; neither imports the other. See
//! `docs/ARCHITECTURE.md`.
//!
//! - [`config`]: the TOML configuration, validated whole, and the zero-config defaults.
//! - `inventory`: which interfaces are monitored, and which zone an interface or client is in.
//! - `files`: reading files other programs write, regular files only, never blocking.
//! - [`privacy`]: MAC addresses become keyed-hash client ids at once.
//! - `model`: the value types sources and hub share: observations, histograms, sketches,
//!   interface counters, access points, pools, sessions, capture counts, source errors.
//! - [`sources`]: one folder (or file) per kind of source, each a tokio task per instance,
//!   all started from one list.
//! - [`hub`]: venue state, the client registry, source health, status rules, the snapshot.
//! - [`history`]: the agent's own history (SQLite), written from each snapshot.
//! - `web`: `/metrics`, `/healthz`, `/api/status`.
//! - [`agent`]: `venuemon run`, wiring it all with one cancellation token.
//! - [`commands`]: the other command-line commands and their shared helpers.
//! - `doctor`: `venuemon doctor`, the build-day self-test: each source sampled once, and the
//!   clock, state folder, listen address, zone coverage and thresholds checked.
//! - [`terminal`]: text bound for a terminal, control characters escaped.
//! - [`simulate`]: `venuemon simulate` and `run --simulate`, a deterministic event fed
//!   through the real hub and history writer.
//! - [`replay`]: `venuemon replay`, the capture pipeline over pcap/pcapng files.
//! - [`report`]: `venuemon report`, the organizers' post-event report (HTML, PDF, CSV, JSON).
//! - `tls`: the `tls_cert`/`tls_key` files, checked at load time and served by `web`.

#![warn(missing_docs, unreachable_pub)]

pub mod agent;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod doctor;
pub(crate) mod files;
pub mod history;
pub mod hub;
pub(crate) mod inventory;
pub(crate) mod memory;
pub(crate) mod model;
pub mod privacy;
pub mod replay;
pub mod report;
pub mod simulate;
pub mod sources;
pub mod terminal;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod tls;
pub(crate) mod web;
