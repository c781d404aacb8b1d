//! Starting sources: what a source kind gets to start the instances its config section
//! enables, and the one call that runs each of them on its own task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::sampling::once;
use super::{Report, Source, deadline, run};
use crate::config::Config;
use crate::inventory::Inventory;
use crate::privacy::ClientKey;

/// What a source kind's `start` reads (the config, the inventory, the event's client key,
/// the agent's cancellation token) and where it starts its sources and their tasks.
pub struct Starter<'a> {
    /// The whole configuration: each kind reads its own section.
    pub config: &'a Config,
    /// Which interfaces are monitored and which zone everything is in.
    pub inventory: &'a Arc<Inventory>,
    /// The event's key for client ids.
    pub key: &'a ClientKey,
    /// Fires when the agent stops (for sources with threads of their own).
    pub cancel: &'a CancellationToken,
    /// The agent's tasks: every task or thread a source starts besides its sampling loop
    /// (a netlink connection, an event reader, a capture thread) is registered here, and
    /// ends when the source is dropped or `cancel` fires; the agent waits for them all.
    pub tasks: &'a TaskTracker,
    hub: &'a mpsc::Sender<Report>,
    /// Every source started, as `kind:instance`.
    started: Vec<String>,
    found: Found,
    /// Each source is sampled once instead of every interval (`venuemon doctor`).
    once: bool,
}

/// What the sources found at start, by what it is (`lease_files`, `hostapd_sockets`), for
/// the start-up log line.
#[derive(Debug, Default)]
pub struct Found(BTreeMap<&'static str, Vec<String>>);

impl Found {
    /// The names found of `what`, joined by commas, or "none".
    pub fn list(&self, what: &str) -> String {
        match self.0.get(what) {
            Some(names) if !names.is_empty() => names.join(","),
            _ => "none".to_string(),
        }
    }
}

impl<'a> Starter<'a> {
    /// A starter whose sources report to `hub` and run in `tasks` until `cancel` fires.
    pub fn new(
        config: &'a Config,
        inventory: &'a Arc<Inventory>,
        key: &'a ClientKey,
        cancel: &'a CancellationToken,
        tasks: &'a TaskTracker,
        hub: &'a mpsc::Sender<Report>,
    ) -> Starter<'a> {
        Starter {
            config,
            inventory,
            key,
            cancel,
            tasks,
            hub,
            started: Vec::new(),
            found: Found::default(),
            once: false,
        }
    }

    /// The same starter, but each source it spawns takes one sample, reports it and ends:
    /// `venuemon doctor` checks every source the config enables this way.
    pub(crate) fn sampling_once(mut self) -> Starter<'a> {
        self.once = true;
        self
    }

    /// Every source started so far, as `kind:instance`, in the order they started.
    pub(crate) fn started(&self) -> &[String] {
        &self.started
    }

    /// Notes `names` of `what` a kind found at start (files, sockets), for the start-up line.
    pub fn found(&mut self, what: &'static str, names: impl IntoIterator<Item = String>) {
        self.found.0.entry(what).or_default().extend(names);
    }

    /// The sources started (`kind:instance`, comma-separated, or "none") and what they found.
    pub fn into_summary(self) -> (String, Found) {
        let started = if self.started.is_empty() {
            "none".to_string()
        } else {
            self.started.join(",")
        };
        (started, self.found)
    }

    /// Runs `source` on a task of its own, sampled every `interval` (its section's, else
    /// `[agent] tick`), each sample with the deadline [`deadline`] gives.
    pub fn spawn<S: Source>(&mut self, source: S, interval: Option<Duration>) {
        let interval = interval.unwrap_or(self.config.agent.tick);
        let instance = source.instance();
        tracing::debug!(source = S::NAME, instance = %instance, interval_seconds = interval.as_secs_f64(), "source started");
        self.started.push(format!("{}:{instance}", S::NAME));
        let (hub, cancel) = (self.hub.clone(), self.cancel.clone());
        if self.once {
            self.tasks
                .spawn(once(source, deadline(interval), hub, cancel));
        } else {
            self.tasks
                .spawn(run(source, interval, deadline(interval), hub, cancel));
        }
    }
}
