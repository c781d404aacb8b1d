//! Starting sources: what a source kind gets to start the instances its config section
//! enables, and the one call that runs each of them on its own task.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Report, Source, deadline, run};
use crate::config::Config;
use crate::inventory::Inventory;
use crate::privacy::ClientKey;

/// What a source kind's `start` reads (the config, the inventory, the event's client key,
/// the agent's cancellation token) and where it starts its sources.
pub struct Starter<'a> {
    /// The whole configuration: each kind reads its own section.
    pub config: &'a Config,
    /// Which interfaces are monitored and which zone everything is in.
    pub inventory: &'a Arc<Inventory>,
    /// The event's key for client ids.
    pub key: &'a ClientKey,
    /// Fires when the agent stops (for sources with threads of their own).
    pub cancel: &'a CancellationToken,
    hub: &'a mpsc::Sender<Report>,
    tasks: &'a mut JoinSet<()>,
}

impl<'a> Starter<'a> {
    /// A starter whose sources report to `hub` and run in `tasks` until `cancel` fires.
    pub fn new(
        config: &'a Config,
        inventory: &'a Arc<Inventory>,
        key: &'a ClientKey,
        cancel: &'a CancellationToken,
        hub: &'a mpsc::Sender<Report>,
        tasks: &'a mut JoinSet<()>,
    ) -> Starter<'a> {
        Starter {
            config,
            inventory,
            key,
            cancel,
            hub,
            tasks,
        }
    }

    /// Runs `source` on a task of its own, sampled every `interval` (its section's, else
    /// `[agent] tick`), each sample with the deadline [`deadline`] gives.
    pub fn spawn<S: Source>(&mut self, source: S, interval: Option<Duration>) {
        let interval = interval.unwrap_or(self.config.agent.tick);
        tracing::info!(source = S::NAME, instance = %source.instance(), interval_seconds = interval.as_secs_f64(), "source started");
        self.tasks.spawn(run(
            source,
            interval,
            deadline(interval),
            self.hub.clone(),
            self.cancel.clone(),
        ));
    }
}
