//! The interface source: counters, state, MTU and speed of every monitored interface, one
//! dump per sample. An interface that vanished is simply absent from the next sample.

pub(crate) mod config;

use std::sync::Arc;

use anyhow::Context;

use super::links::LinkReader;
use super::{Observation, Source, SourceError, Starter};
use crate::inventory::Inventory;
use crate::model::interfaces::InterfaceSample;

/// Samples interface counters through a [`LinkReader`].
pub(crate) struct NetdevSource {
    reader: LinkReader,
    inventory: Arc<Inventory>,
}

impl NetdevSource {
    /// A source reading `reader`, keeping the interfaces `inventory` monitors.
    pub(crate) fn new(reader: LinkReader, inventory: Arc<Inventory>) -> NetdevSource {
        NetdevSource { reader, inventory }
    }
}

impl Source for NetdevSource {
    const NAME: &'static str = "netdev";

    fn instance(&self) -> String {
        self.reader.instance().to_string()
    }

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        let links = self.reader.links().await?;
        let samples = links
            .into_iter()
            .filter(|l| self.inventory.monitors(&l.name, l.kind))
            .map(|link| InterfaceSample {
                zone: self.inventory.zone_of_interface(&link.name, link.kind),
                link,
            })
            .collect();
        Ok(vec![Observation::Interfaces(samples)])
    }
}

/// Starts the interface source, unless `[source.netdev]` disables it.
///
/// # Errors
/// The backend cannot be opened.
pub(crate) fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    let n = &config.sources.netdev;
    if !n.enabled {
        return Ok(());
    }
    let reader =
        LinkReader::open(n.backend, &n.proc_root, &n.sys_root).context("interface source")?;
    let source = NetdevSource::new(reader, Arc::clone(ctx.inventory));
    ctx.spawn(source, n.interval);
    Ok(())
}
