//! The writer: one thread owning the history file, fed by a bounded channel with the hub's
//! snapshot each tick. A full channel drops the tick (counted); a failing file turns history
//! off (`venuemon_history_up` 0, one log line) and is tried again a minute later. Neither
//! the hub nor a scrape ever waits for it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::HistoryConfig;
use super::store::{ERROR_KINDS, HistoryError, Store};
use crate::hub::Snapshot;

/// Ticks the writer may be behind before ticks are dropped.
pub const QUEUE: usize = 16;

/// How long history stays off after a failure before the file is opened again.
pub const RETRY: Duration = Duration::from_secs(60);

/// What the writer reports on `/metrics`.
#[derive(Clone)]
pub struct Metrics {
    /// `venuemon_history_up`.
    up: IntGauge,
    /// `venuemon_history_write_errors_total{kind}`.
    errors: IntCounterVec,
    /// `venuemon_history_ticks_dropped_total`.
    dropped: IntCounter,
}

impl Metrics {
    /// The writer's metrics, registered in `registry`.
    pub fn new(registry: &Registry) -> Metrics {
        let metrics = Metrics {
            up: IntGauge::new(
                "venuemon_history_up",
                "1 while the history file is written each tick, 0 while it cannot be \
                 (see venuemon_history_write_errors_total; retried every minute).",
            )
            .expect("the metric name is static and valid"),
            errors: IntCounterVec::new(
                Opts::new(
                    "venuemon_history_write_errors_total",
                    "Failed opens or writes of the history file, by cause: disk_full, \
                     read_only, cannot_open, corrupt, locked, io, version, other.",
                ),
                &["kind"],
            )
            .expect("the metric name and label are static and valid"),
            dropped: IntCounter::new(
                "venuemon_history_ticks_dropped_total",
                "Ticks not written because the history writer was behind by a full queue.",
            )
            .expect("the metric name is static and valid"),
        };
        for kind in ERROR_KINDS {
            metrics.errors.with_label_values(&[kind]);
        }
        for metric in [
            Box::new(metrics.up.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.errors.clone()),
            Box::new(metrics.dropped.clone()),
        ] {
            registry
                .register(metric)
                .expect("the history's metrics are registered once");
        }
        metrics
    }
}

/// How the writer groups ticks into transactions.
#[derive(Debug, Clone, Copy)]
pub enum Batching {
    /// Whatever is queued when it gets to write (the live agent: usually one tick).
    Queued,
    /// Exactly this many ticks (the last batch fewer), whatever the timing, so that a
    /// simulation writes the same file each run.
    Exactly(usize),
}

/// The writer's thread: the file, and whether it is failing.
pub struct Writer {
    path: PathBuf,
    config: HistoryConfig,
    metrics: Metrics,
    store: Option<Store>,
    /// While off: when to open the file again.
    retry_at: Option<Instant>,
    /// The first error, for a caller that must fail on it (`venuemon simulate`).
    first_error: Option<HistoryError>,
}

impl Writer {
    /// A writer of the history at `path`; nothing is opened before the first tick.
    pub fn new(path: PathBuf, config: HistoryConfig, metrics: Metrics) -> Writer {
        Writer {
            path,
            config,
            metrics,
            store: None,
            retry_at: None,
            first_error: None,
        }
    }

    /// Writes what `ticks` sends, grouped by `batching`, until every sender is gone; then
    /// closes the file. Returns the first error met, if any (the writer went on after it).
    pub fn run(
        mut self,
        ticks: Receiver<Arc<Snapshot>>,
        batching: Batching,
    ) -> Option<HistoryError> {
        while let Ok(first) = ticks.recv() {
            self.transaction(&first, &ticks, batching);
        }
        if let Some(store) = self.store.take() {
            if let Err(e) = store.close() {
                self.fail(e);
            }
        }
        self.first_error
    }

    /// Writes `first` and the ticks `batching` adds to it in one transaction, each snapshot
    /// let go once written; while history is off they are not written.
    fn transaction(
        &mut self,
        first: &Snapshot,
        ticks: &Receiver<Arc<Snapshot>>,
        batching: Batching,
    ) {
        if self.store.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return;
            }
            match Store::open(&self.path, &self.config, first) {
                Ok(store) => self.store = Some(store),
                Err(e) => return self.fail(e),
            }
        }
        let Some(store) = &mut self.store else { return };
        let mut written = || -> Result<(), HistoryError> {
            store.begin()?;
            store.add(first)?;
            let mut n = 1;
            loop {
                let next = match batching {
                    Batching::Queued => ticks.try_recv().ok(),
                    Batching::Exactly(limit) if n < limit => ticks.recv().ok(),
                    Batching::Exactly(_) => None,
                };
                let Some(next) = next else { break };
                store.add(&next)?;
                n += 1;
            }
            store.commit()
        };
        match written() {
            Ok(()) => {
                if self.retry_at.take().is_some() {
                    tracing::info!(path = %self.path.display(), "history written again");
                }
                self.metrics.up.set(1);
            }
            Err(e) => {
                store.rollback();
                self.fail(e);
            }
        }
    }

    /// Turns history off until [`RETRY`] has passed: counted each time, logged once.
    fn fail(&mut self, e: HistoryError) {
        self.store = None;
        self.metrics.up.set(0);
        // SQLite reports a full disk met while writing its WAL as an I/O error.
        let kind = match e.kind() {
            "io" if nearly_full(&self.path) => "disk_full",
            kind => kind,
        };
        self.metrics.errors.with_label_values(&[kind]).inc();
        if self.retry_at.is_none() {
            tracing::warn!(
                path = %self.path.display(),
                kind,
                error = %e,
                retry_seconds = RETRY.as_secs(),
                "history off: cannot write the file; the agent goes on without it and tries \
                 again every minute (free space, or make the file writable)"
            );
        }
        self.retry_at = Some(Instant::now() + RETRY);
        self.first_error.get_or_insert(e);
    }
}

/// Whether the file system holding `path` has less than 64 KiB left for it.
fn nearly_full(path: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let folder = folder.unwrap_or(std::path::Path::new("."));
    let Ok(name) = std::ffi::CString::new(folder.as_os_str().as_bytes()) else {
        return false;
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `name` is a valid C string and `stat` is written by statvfs before it is read.
    let stat = unsafe {
        if libc::statvfs(name.as_ptr(), stat.as_mut_ptr()) != 0 {
            return false;
        }
        stat.assume_init()
    };
    stat.f_bavail.saturating_mul(stat.f_frsize) < 64 * 1024
}

/// Starts the agent's writer: a thread in `tasks` writing the history at `path`, and a task
/// handing it each snapshot `snapshots` publishes, until `cancel` (then what is queued is
/// written and the file closed).
pub fn start(
    path: PathBuf,
    config: HistoryConfig,
    metrics: Metrics,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    tasks: &TaskTracker,
    cancel: CancellationToken,
) {
    let (send, ticks): (SyncSender<Arc<Snapshot>>, _) = sync_channel(QUEUE);
    let dropped = metrics.dropped.clone();
    let writer = Writer::new(path, config, metrics);
    tasks.spawn_blocking(move || writer.run(ticks, Batching::Queued));
    tasks.spawn(async move {
        loop {
            tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let snapshot = Arc::clone(&snapshots.borrow_and_update());
                    if snapshot.generated_at == 0 {
                        continue;
                    }
                    match send.try_send(snapshot) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => dropped.inc(),
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
            }
        }
    });
}
