//! The live capture source: starts the capture thread, collects its batches each sample,
//! restarts it when the interface comes back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::CaptureConfig;
use super::decode::Decoder;
use super::live;
use crate::inventory::{Inventory, LinkKind, ZoneIdx};
use crate::model::capture::{CaptureSample, Counts};
use crate::privacy::ClientKey;
use crate::sources::{ErrorKind, Observation, Sighting, Source, SourceError};

/// Captures live on one interface.
pub struct CaptureSource {
    config: CaptureConfig,
    zone: Option<ZoneIdx>,
    sys_root: PathBuf,
    key: ClientKey,
    ap_names: Arc<[String]>,
    batches: Option<mpsc::Receiver<Counts>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl CaptureSource {
    /// A source for `config`, reading link types under `sys_root`; the capture thread is
    /// registered in `tasks` and stops when `cancel` fires or the source is dropped.
    pub fn new(
        config: CaptureConfig,
        inventory: &Inventory,
        sys_root: PathBuf,
        key: ClientKey,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> CaptureSource {
        let zone = match &config.zone {
            Some(id) => inventory.zone_index(id),
            None => inventory.zone_of_interface(&config.interface, LinkKind::Physical),
        };
        let ap_names = config.bssids.iter().map(|(name, _)| name.clone()).collect();
        CaptureSource {
            config,
            zone,
            sys_root,
            key,
            ap_names,
            batches: None,
            cancel,
            tasks,
        }
    }

    fn start(&mut self) -> Result<mpsc::Receiver<Counts>, SourceError> {
        let bssids = self.config.bssids.iter().map(|(_, mac)| *mac).collect();
        let decoder = Decoder::new(self.key.clone(), bssids);
        live::spawn(
            &self.config.interface,
            &self.sys_root,
            self.config.promiscuous,
            decoder,
            self.cancel.child_token(),
            &self.tasks,
        )
        .map_err(|e| SourceError::new(e.kind(), e.to_string()))
    }
}

impl Source for CaptureSource {
    const NAME: &'static str = "capture";

    fn instance(&self) -> String {
        self.config.interface.clone()
    }

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        let mut batches = match self.batches.take() {
            Some(b) => b,
            None => self.start()?,
        };
        let mut counts = Counts::default();
        let stopped = loop {
            match batches.try_recv() {
                Ok(batch) => counts.merge(&batch),
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        if stopped {
            // The thread ended (the interface went away): start again next sample.
            return Err(SourceError::new(
                ErrorKind::Missing,
                format!(
                    "capture on {} stopped: the interface went away; retrying",
                    self.config.interface
                ),
            ));
        }
        self.batches = Some(batches);
        let clients = match self.zone {
            Some(zone) => counts
                .clients
                .drain(..)
                .map(|client| Sighting {
                    client,
                    zone,
                    age: Duration::ZERO,
                })
                .collect(),
            None => Vec::new(),
        };
        counts.clients.clear();
        Ok(vec![
            Observation::Capture(Box::new(CaptureSample {
                interface: self.config.interface.clone(),
                zone: self.zone,
                ap_names: Arc::clone(&self.ap_names),
                counts,
            })),
            Observation::Clients(clients),
        ])
    }
}
