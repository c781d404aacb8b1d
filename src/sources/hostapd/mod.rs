//! The hostapd source: stations per access point (BSS), their signal and traffic, and the
//! connect/disconnect/authentication events between samples, from hostapd's control sockets.

pub(crate) mod config;
pub(crate) mod ctrl;
pub(crate) mod parse;
mod source;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) use source::{HostapdSource, Sockets};

use std::sync::Arc;

use crate::inventory::ZoneIdx;
use crate::model::access_points::{ApEvents, ApSample};
use crate::sources::{Observation, Sighting, Starter};

/// Starts a source for each `[[source.hostapd]]`: its socket folder, or its sockets.
///
/// # Errors
/// None today: the sockets are found at each sample.
pub(crate) fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    for h in &config.sources.hostapd {
        let sockets = if h.sockets.is_empty() {
            Sockets::Dir(h.ctrl_dir.clone())
        } else {
            Sockets::Paths(h.sockets.clone())
        };
        // Found now, for the start-up line: each is named after its BSS interface.
        let found = sockets.now().unwrap_or_default().into_iter();
        let names = found
            .filter(|p| p.exists())
            .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_string));
        ctx.found("hostapd_sockets", names);
        let zone = h.zone.as_deref().and_then(|z| ctx.inventory.zone_index(z));
        let source = HostapdSource::new(
            sockets,
            zone,
            Arc::clone(ctx.inventory),
            ctx.key.clone(),
            ctx.tasks.clone(),
        );
        ctx.spawn(source, h.interval);
    }
    Ok(())
}

/// What one hostapd source instance saw in one sample.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostapdSample {
    /// Every BSS that answered.
    pub aps: Vec<ApSample>,
    /// Events per BSS since the previous sample: `(ap, zone, counts)`.
    pub events: Vec<(String, Option<ZoneIdx>, ApEvents)>,
    /// The stations, hashed, with their zone.
    pub clients: Vec<Sighting>,
}

impl HostapdSample {
    /// The sample in the venue's terms: access points, their events, and clients.
    pub(crate) fn observations(self) -> Vec<Observation> {
        vec![
            Observation::AccessPoints(self.aps),
            Observation::ApEvents(self.events),
            Observation::Clients(self.clients),
        ]
    }
}
