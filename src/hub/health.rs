//! Source health: whether each source's last sample succeeded, its failures by kind since
//! start, the last error and how long the last sample took. A change of state is logged
//! once, not at every sample.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ingest::Owner;
use super::snapshot::SourceSnapshot;
use crate::model::SourceError;

/// The health of every source that reported, by source and instance.
#[derive(Default)]
pub(super) struct Health {
    sources: BTreeMap<Owner, SourceSnapshot>,
}

impl Health {
    /// Records the outcome of one of `owner`'s samples, which took `duration`.
    pub(super) fn record(
        &mut self,
        owner: &Owner,
        duration: Duration,
        outcome: Result<(), &SourceError>,
    ) {
        let health = self
            .sources
            .entry(owner.clone())
            .or_insert_with(|| SourceSnapshot {
                source: owner.source,
                instance: owner.instance.clone(),
                up: false,
                errors: BTreeMap::new(),
                last_error: None,
                duration_seconds: 0.0,
            });
        health.duration_seconds = duration.as_secs_f64();
        match outcome {
            Ok(()) => {
                if health.last_error.is_some() {
                    tracing::info!(source = owner.source, instance = %owner.instance, "source recovered");
                }
                health.up = true;
                health.last_error = None;
            }
            Err(error) => {
                if health.last_error.as_deref() != Some(error.message.as_str()) {
                    tracing::warn!(
                        source = owner.source,
                        instance = %owner.instance,
                        kind = %error.kind,
                        error = %error.message,
                        "source failed"
                    );
                }
                health.up = false;
                *health.errors.entry(error.kind).or_default() += 1;
                health.last_error = Some(error.message.clone());
            }
        }
    }

    /// Whether `owner`'s last sample succeeded (`false` before its first).
    pub(super) fn is_up(&self, owner: &Owner) -> bool {
        self.sources.get(owner).is_some_and(|h| h.up)
    }

    /// The owners whose last sample failed.
    pub(super) fn down(&self) -> impl Iterator<Item = &Owner> {
        self.sources
            .iter()
            .filter(|(_, h)| !h.up)
            .map(|(owner, _)| owner)
    }

    /// Every source's health now, by source and instance.
    pub(super) fn snapshots(&self) -> Vec<SourceSnapshot> {
        self.sources.values().cloned().collect()
    }
}
