//! The DHCP sources: a lease file read when it changes, counted per pool and turned into
//! client sightings; and, for Kea, its statistics over the control socket.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, SystemTime};

use super::file_set::LeaseFiles;
use super::lease::{Identity, Parsed};
use super::{dnsmasq, isc, kea};
use crate::config::{AddressRange, DhcpConfig, DhcpKind};
use crate::inventory::{Inventory, ZoneIdx};
use crate::privacy::ClientKey;
use crate::sources::{Payload, Sighting, Source, SourceError};

/// One lease file's pool at one sample.
#[derive(Debug, Clone)]
pub struct DhcpSample {
    /// Pool name (the `pool` label).
    pub pool: String,
    /// Zone of the pool, if any.
    pub zone: Option<ZoneIdx>,
    /// Active leases in the pool's ranges (all active leases when no range is configured).
    pub leases_active: u64,
    /// Addresses in the configured ranges, when configured.
    pub pool_size: Option<u64>,
    /// Records of the file that did not parse (a half-written line is normal).
    pub skipped: u64,
    /// Clients holding active leases, with their zone.
    pub clients: Vec<Sighting>,
}

/// Kea's own view of a pool, from `statistic-get-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PoolStatistics {
    /// Addresses the server can hand out (summed over its subnets).
    pub total: u64,
    /// Addresses assigned now.
    pub assigned: u64,
    /// Allocation failures since the server started.
    pub allocation_failures: u64,
}

/// Reads one server's lease files when they change and counts its pool.
pub struct DhcpSource {
    config: DhcpConfig,
    zone: Option<ZoneIdx>,
    inventory: Arc<Inventory>,
    key: ClientKey,
    /// The server's lease files and their last parses.
    files: Arc<Mutex<LeaseFiles>>,
}

impl DhcpSource {
    /// A source for the pool `config` describes; `zone` is its configured zone, resolved.
    pub fn new(config: DhcpConfig, inventory: Arc<Inventory>, key: ClientKey) -> DhcpSource {
        let zone = config.zone.as_deref().and_then(|z| inventory.zone_index(z));
        let files = Arc::new(Mutex::new(LeaseFiles::new(
            config.kind,
            config.leases.clone(),
        )));
        DhcpSource {
            config,
            zone,
            inventory,
            key,
            files,
        }
    }

    /// The parsed leases of the server's files, re-reading only the files that changed.
    async fn leases(&mut self) -> Result<Arc<Parsed>, SourceError> {
        let files = Arc::clone(&self.files);
        // Parsing 100 000 leases takes tens of milliseconds: keep it off the async thread.
        tokio::task::spawn_blocking(move || match files.try_lock() {
            Ok(mut files) => files.read(),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().read(),
            // A read that never returned (a hung file system) holds the files: do not queue
            // another thread behind it.
            Err(TryLockError::WouldBlock) => Err(SourceError::new(
                "io",
                "the previous read of the lease files has not finished: is their file system \
                 hanging?",
            )),
        })
        .await
        .map_err(|e| SourceError::new("io", format!("lease parser stopped: {e}")))?
    }
}

/// Parses a lease file of `kind`.
pub fn parse(kind: DhcpKind, bytes: &[u8]) -> Parsed {
    match kind {
        DhcpKind::Dnsmasq => dnsmasq::parse(bytes),
        DhcpKind::Isc => isc::parse(bytes),
        DhcpKind::Kea => kea::parse_csv(bytes),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn in_pool(pool: &[AddressRange], ip: std::net::IpAddr) -> bool {
    pool.is_empty() || pool.iter().any(|r| r.contains(ip))
}

impl Source for DhcpSource {
    const NAME: &'static str = "dhcp";

    fn instance(&self) -> String {
        self.config.name.clone()
    }

    async fn sample(&mut self) -> Result<Payload, SourceError> {
        let parsed = self.leases().await?;
        let now = unix_now();
        let pool = &self.config.pool;
        let mut leases_active = 0;
        let mut clients = Vec::new();
        for lease in parsed.leases.iter().filter(|l| l.is_active(now)) {
            leases_active += u64::from(in_pool(pool, lease.ip));
            let zone = self
                .zone
                .or_else(|| self.inventory.zone_of_address(lease.ip));
            let client = match &lease.identity {
                Some(Identity::Mac(mac)) => self.key.client(mac),
                Some(Identity::Opaque(id)) => self.key.client_of_id(id),
                None => continue,
            };
            if let Some(zone) = zone {
                clients.push(Sighting {
                    client,
                    zone,
                    age: Duration::ZERO,
                });
            }
        }
        Ok(Payload::Dhcp(DhcpSample {
            pool: self.config.name.clone(),
            zone: self.zone,
            leases_active,
            pool_size: (!pool.is_empty()).then(|| pool.iter().map(AddressRange::size).sum()),
            skipped: parsed.skipped as u64,
            clients,
        }))
    }
}

/// Kea's statistics for one pool, over its control socket.
pub struct KeaStatisticsSource {
    pool: String,
    socket: PathBuf,
}

/// How long Kea may take to answer.
const KEA_TIMEOUT: Duration = Duration::from_secs(3);

impl KeaStatisticsSource {
    /// A source asking the Kea server at `socket` for the statistics of pool `pool`.
    pub fn new(pool: String, socket: PathBuf) -> KeaStatisticsSource {
        KeaStatisticsSource { pool, socket }
    }
}

impl Source for KeaStatisticsSource {
    const NAME: &'static str = "kea_statistics";

    fn instance(&self) -> String {
        self.pool.clone()
    }

    async fn sample(&mut self) -> Result<Payload, SourceError> {
        let reply = kea::statistic_get_all(&self.socket, KEA_TIMEOUT)
            .await
            .map_err(|e| {
                let mut error = SourceError::io(&self.socket, &e);
                error.message.push_str(
                    ": is kea-dhcp4 running with this \"control-socket\", and may venuemon use it?",
                );
                error
            })?;
        let stats = kea::parse_statistics(&reply).map_err(|e| {
            SourceError::new(
                "parse",
                format!(
                    "{}: unexpected statistics reply: {e}",
                    self.socket.display()
                ),
            )
        })?;
        Ok(Payload::DhcpStatistics(
            self.pool.clone(),
            PoolStatistics {
                total: stats.subnets.values().map(|s| s.total).sum(),
                assigned: stats.subnets.values().map(|s| s.assigned).sum(),
                allocation_failures: stats.allocation_failures,
            },
        ))
    }
}
