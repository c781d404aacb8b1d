//! The interface source: counters, state, MTU and speed of every monitored interface, one
//! dump per sample. An interface that vanished is simply absent from the next sample.

pub mod config;

use std::sync::Arc;

use super::links::{Link, LinkReader};
use super::{Payload, Source, SourceError};
use crate::inventory::{Inventory, ZoneIdx};

/// A monitored interface with its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSample {
    /// What the kernel reports.
    pub link: Link,
    /// The zone it serves, if any.
    pub zone: Option<ZoneIdx>,
}

/// Samples interface counters through a [`LinkReader`].
pub struct NetdevSource {
    reader: LinkReader,
    inventory: Arc<Inventory>,
}

impl NetdevSource {
    /// A source reading `reader`, keeping the interfaces `inventory` monitors.
    pub fn new(reader: LinkReader, inventory: Arc<Inventory>) -> NetdevSource {
        NetdevSource { reader, inventory }
    }
}

impl Source for NetdevSource {
    const NAME: &'static str = "netdev";

    fn instance(&self) -> String {
        self.reader.instance().to_string()
    }

    async fn sample(&mut self) -> Result<Payload, SourceError> {
        let links = self.reader.links().await?;
        let samples = links
            .into_iter()
            .filter(|l| self.inventory.monitors(&l.name, l.kind))
            .map(|link| InterfaceSample {
                zone: self.inventory.zone_of_interface(&link.name, link.kind),
                link,
            })
            .collect();
        Ok(Payload::Interfaces(samples))
    }
}
