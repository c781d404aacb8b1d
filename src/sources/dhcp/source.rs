//! The DHCP sources: a lease file read when it changes, counted per pool and turned into
//! client sightings; and, for Kea, its statistics over the control socket.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, SystemTime};

use super::config::{AddressRange, DhcpConfig, DhcpKind};
use super::file_set::{self, LeaseFiles};
use super::lease::{Expiry, Parsed};
use super::table::{LeaseTable, Selection};
use super::{dnsmasq, isc, kea};
use crate::inventory::{Inventory, ZoneIdx};
use crate::model::grid::unix_seconds;
use crate::model::pools::{PoolLeases, PoolStatistics};
use crate::privacy::ClientKey;
use crate::sources::{ErrorKind, Observation, Source, SourceError};

/// Reads one server's lease files when they change and counts its pool.
pub struct DhcpSource {
    config: DhcpConfig,
    /// The pool's configured zone, resolved.
    zone: Option<ZoneIdx>,
    /// What a read of the files needs, shared with the blocking thread that reads them.
    leases: Arc<Mutex<Leases>>,
    /// Most sightings one sample sends (`[agent] max_clients`).
    max_clients: usize,
    /// Whether the file held lease lengths at the last sample (logged once when it starts).
    lengths: bool,
}

/// The server's lease files, and the table derived from them when they last changed.
struct Leases {
    files: LeaseFiles,
    /// Derived from the files when they last changed; `None` after an error.
    table: Option<Arc<LeaseTable>>,
    /// The pool's zone, else each address's.
    zone: Option<ZoneIdx>,
    inventory: Arc<Inventory>,
    pool: Vec<AddressRange>,
    key: ClientKey,
}

impl Leases {
    /// The table of the files, derived again only when they changed. After an error nothing
    /// is kept.
    fn table(&mut self) -> Result<Arc<LeaseTable>, SourceError> {
        if self.table.is_none() {
            // Nothing derived yet, or the last derivation never finished: read every file.
            self.files.forget();
        }
        let parsed = match self.files.read() {
            Ok(Some(parsed)) => parsed,
            // Not after `forget`: a table is there.
            Ok(None) => {
                return self.table.clone().ok_or_else(|| {
                    self.files.forget();
                    SourceError::new(
                        ErrorKind::Io,
                        "the lease files were read but no table was kept; the next sample reads \
                         them again",
                    )
                });
            }
            Err(e) => {
                self.table = None;
                return Err(e);
            }
        };
        // The previous table goes first: two are never held at once.
        self.table = None;
        let (zone, inventory, pool) = (self.zone, &self.inventory, &self.pool);
        let table = Arc::new(LeaseTable::new(
            &parsed,
            &self.key,
            |ip| zone.or_else(|| inventory.zone_of_address(ip)),
            |ip| in_pool(pool, ip),
        ));
        self.table = Some(Arc::clone(&table));
        Ok(table)
    }
}

impl DhcpSource {
    /// A source for the pool `config` describes, sending at most `max_clients` sightings a
    /// sample.
    pub fn new(
        config: DhcpConfig,
        inventory: Arc<Inventory>,
        key: ClientKey,
        max_clients: usize,
    ) -> DhcpSource {
        let zone = config.zone.as_deref().and_then(|z| inventory.zone_index(z));
        let leases = Leases {
            files: LeaseFiles::new(
                config.kind,
                config.leases.clone(),
                file_set::file_limit(max_clients),
            ),
            table: None,
            zone,
            inventory,
            pool: config.pool.clone(),
            key,
        };
        DhcpSource {
            config,
            zone,
            leases: Arc::new(Mutex::new(leases)),
            max_clients,
            lengths: false,
        }
    }

    /// What the leases of the server's files show at Unix time `now`, re-reading only the
    /// files that changed, with what their expiries count in.
    async fn select(&mut self, now: u64) -> Result<(Selection, Arc<LeaseTable>), SourceError> {
        let leases = Arc::clone(&self.leases);
        let max_clients = self.max_clients;
        // Parsing 100 000 leases takes tens of milliseconds: keep it off the async thread.
        tokio::task::spawn_blocking(move || {
            let mut leases = match leases.try_lock() {
                Ok(leases) => leases,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                // A read that never returned (a hung file system) holds the files: do not
                // queue another thread behind it.
                Err(TryLockError::WouldBlock) => {
                    return Err(SourceError::new(
                        ErrorKind::Io,
                        "the previous read of the lease files has not finished: is their file \
                         system hanging?",
                    ));
                }
            };
            let table = leases.table()?;
            let selection = table.select(now, leases.files.modified(), max_clients);
            Ok((selection, table))
        })
        .await
        .map_err(|e| SourceError::new(ErrorKind::Io, format!("lease parser stopped: {e}")))?
    }
}

/// Parses a lease file of `kind`.
pub fn parse(kind: DhcpKind, bytes: &[u8]) -> Parsed {
    let mut parsed = match kind {
        DhcpKind::Dnsmasq => dnsmasq::parse(bytes),
        DhcpKind::Isc => isc::parse(bytes),
        DhcpKind::Kea => kea::parse_csv(bytes),
    };
    if parsed.leases.is_empty() && parsed.skipped > 0 {
        parsed.looks_like = looks_like(bytes).filter(|k| *k != kind);
    }
    parsed
}

/// The kind of server whose lease file `bytes` looks like, from its first line of content
/// (not blank, not a comment): Kea's CSV header (`address,hwaddr,...` or `address,duid,...`),
/// dhcpd's top-level statements (`lease ADDRESS {`, `ia-na`, `authoring-byte-order`,
/// `server-duid`), or a dnsmasq line (five fields or more, the first a number, or `duid`).
fn looks_like(bytes: &[u8]) -> Option<DhcpKind> {
    let line = bytes
        .split(|c| *c == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty() && !l.starts_with(b"#"))?;
    let mut fields = line
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    let first = fields.next()?;
    if first.starts_with(b"address,") {
        return Some(DhcpKind::Kea);
    }
    if matches!(
        first,
        b"lease" | b"ia-na" | b"ia-ta" | b"ia-pd" | b"authoring-byte-order" | b"server-duid"
    ) {
        return Some(DhcpKind::Isc);
    }
    let number = first.iter().all(u8::is_ascii_digit);
    (first == b"duid" || number && fields.count() >= 4).then_some(DhcpKind::Dnsmasq)
}

fn in_pool(pool: &[AddressRange], ip: std::net::IpAddr) -> bool {
    pool.is_empty() || pool.iter().any(|r| r.contains(ip))
}

impl Source for DhcpSource {
    const NAME: &'static str = "dhcp";

    fn instance(&self) -> String {
        self.config.name.clone()
    }

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        let (selection, table) = self.select(unix_seconds(SystemTime::now())).await?;
        let lengths = table.expiry == Expiry::Lengths;
        if lengths && !self.lengths {
            tracing::info!(
                path = %self.config.leases.display(),
                "lease file holds lease lengths, not expiry times (dnsmasq built without a clock, HAVE_BROKEN_RTC): counting them from the file's modification time"
            );
        }
        self.lengths = lengths;
        let pool = &self.config.pool;
        let leases = PoolLeases {
            pool: self.config.name.clone(),
            zone: self.zone,
            leases_active: selection.leases_active,
            pool_size: (!pool.is_empty()).then(|| pool.iter().map(AddressRange::size).sum()),
            skipped: table.skipped as u64,
        };
        Ok(vec![
            Observation::PoolLeases(leases),
            Observation::Clients(selection.clients),
        ])
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

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
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
                ErrorKind::Parse,
                format!(
                    "{}: unexpected statistics reply: {e}",
                    self.socket.display()
                ),
            )
        })?;
        Ok(vec![Observation::PoolStatistics {
            pool: self.pool.clone(),
            statistics: PoolStatistics {
                total: stats.subnets.values().map(|s| s.total).sum(),
                assigned: stats.subnets.values().map(|s| s.assigned).sum(),
                allocation_failures: stats.allocation_failures,
            },
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    /// Log output, captured.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn dnsmasq_source(leases: PathBuf) -> DhcpSource {
        let config = DhcpConfig {
            kind: DhcpKind::Dnsmasq,
            name: "hall".into(),
            leases,
            pool: Vec::new(),
            zone: None,
            control_socket: None,
            interval: None,
        };
        let inventory = Arc::new(Inventory::new(&crate::config::Config::zero_config("gw")));
        DhcpSource::new(config, inventory, ClientKey::from_bytes([7; 16]), 250_000)
    }

    async fn active(source: &mut DhcpSource) -> u64 {
        match source.sample().await.as_deref() {
            Ok([Observation::PoolLeases(leases), Observation::Clients(_)]) => leases.leases_active,
            other => panic!("not a DHCP sample: {other:?}"),
        }
    }

    /// The table the source derived from its files last.
    fn table(source: &DhcpSource) -> Arc<LeaseTable> {
        let leases = source.leases.lock().expect("leases");
        Arc::clone(leases.table.as_ref().expect("a table"))
    }

    /// A tick filters the table derived when the files last changed; it derives it again (and
    /// hashes every client again) only when they change.
    #[tokio::test]
    async fn the_lease_table_is_derived_again_only_when_the_files_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dnsmasq.leases");
        let expiry = unix_seconds(SystemTime::now()) + 600;
        let leases = |hosts: std::ops::Range<u8>| -> String {
            hosts
                .map(|h| format!("{expiry} 02:00:5e:20:00:{h:02x} 10.77.2.{h} * *\n"))
                .collect()
        };
        std::fs::write(&path, leases(10..12)).expect("lease file written");
        let mut source = dnsmasq_source(path.clone());
        assert_eq!(active(&mut source).await, 2);
        let first = table(&source);
        assert_eq!(active(&mut source).await, 2);
        assert!(Arc::ptr_eq(&first, &table(&source)), "files unchanged");

        // dnsmasq writes its file aside and renames it into place.
        let aside = dir.path().join("dnsmasq.leases.new");
        std::fs::write(&aside, leases(10..13)).expect("lease file written");
        std::fs::rename(&aside, &path).expect("renamed");
        assert_eq!(active(&mut source).await, 3);
        let second = table(&source);
        assert!(!Arc::ptr_eq(&first, &second), "the file changed");
        assert_eq!(active(&mut source).await, 3);
        assert!(Arc::ptr_eq(&second, &table(&source)), "files unchanged");

        // A failed read keeps nothing; the file back is derived again.
        std::fs::rename(&path, &aside).expect("moved away");
        assert!(source.sample().await.is_err(), "no lease file");
        assert!(source.leases.lock().expect("leases").table.is_none());
        std::fs::rename(&aside, &path).expect("moved back");
        assert_eq!(active(&mut source).await, 3);
    }

    /// The field case `dnsmasq-relative-expiry`: a dnsmasq without a clock writes a lease's
    /// length (12 h); it counts from the file's modification time, and the log says so once.
    #[tokio::test]
    async fn case_dnsmasq_relative_expiry_counts_from_the_modification_time() {
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dnsmasq.leases");
        std::fs::write(
            &path,
            super::super::lease::fixture("cases/dnsmasq-relative-expiry/dnsmasq.leases"),
        )
        .expect("lease file written");
        let mut source = dnsmasq_source(path.clone());
        assert_eq!(active(&mut source).await, 1, "written just now: 12 h to go");
        assert_eq!(active(&mut source).await, 1);
        let file = std::fs::File::options()
            .write(true)
            .open(&path)
            .expect("lease file");
        file.set_modified(SystemTime::now() - Duration::from_secs(43_201))
            .expect("mtime set");
        assert_eq!(active(&mut source).await, 0, "written 12 h ago: expired");

        let text = String::from_utf8(log.0.lock().expect("log buffer").clone()).expect("UTF-8");
        let said: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("lease lengths"))
            .collect();
        assert_eq!(said.len(), 1, "one line, not one per sample: {text}");
        assert!(said[0].contains("modification time"), "{}", said[0]);
        assert!(said[0].contains(&*path.to_string_lossy()), "{}", said[0]);
        assert!(
            !text.contains("10.77.0.41") && !text.contains("02:00:5e"),
            "{text}"
        );
    }
}
