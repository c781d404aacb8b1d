//! The writer: one thread owning the history file, fed by a bounded channel with the hub's
//! snapshot each tick. A full channel drops the tick (counted); a failing file turns history
//! off (`venuemon_history_up` 0, one log line) and is tried again a minute later. Neither
//! the hub nor a scrape ever waits for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::watch;
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
    /// Where the person running the agent sets the file's path, for the fixes it is told.
    setting: &'static str,
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
            setting: SETTING,
        }
    }

    /// The writer, telling `setting` (like `--history FILE`) as where the file's path is set.
    #[must_use]
    pub fn path_set_by(self, setting: &'static str) -> Writer {
        Writer { setting, ..self }
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
        if let Some(store) = self.store.take()
            && let Err(e) = store.close()
        {
            self.fail(e);
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
        let kind = kind_at(&e, &self.path);
        self.metrics.errors.with_label_values(&[kind]).inc();
        if self.retry_at.is_none() {
            tracing::warn!(
                path = %self.path.display(),
                kind,
                error = %e,
                retry_seconds = RETRY.as_secs(),
                "history off: cannot write the file; the agent goes on without it and tries \
                 again every minute; {}",
                what_to_do(kind, self.setting)
            );
        }
        self.retry_at = Some(Instant::now() + RETRY);
        self.first_error.get_or_insert(e);
    }
}

/// The `kind` of `e`, met writing the history at `path`, told more precisely than SQLite
/// says it: a full disk met while writing the WAL is an I/O error to SQLite, and a read-only
/// folder, where the WAL's files cannot be made, "unable to open".
fn kind_at(e: &HistoryError, path: &Path) -> &'static str {
    match e.kind() {
        "io" if nearly_full(path) => "disk_full",
        "io" | "cannot_open" if read_only(path) => "read_only",
        kind => kind,
    }
}

/// Where the agent's config sets the history's path.
pub const SETTING: &str = "[history] path";

/// What the person running the agent can do about a history error of `kind`, the file's
/// path being set by `setting`.
fn what_to_do(kind: &str, setting: &str) -> String {
    match kind {
        "disk_full" => format!(
            "free space on its file system, shorten [history] retention, or set {setting} to a \
             file on another file system"
        ),
        "read_only" => format!(
            "make the file and its folder writable by the agent's user (or the file system \
             read-write), or set {setting} to a file in a writable folder"
        ),
        "version" | "corrupt" => {
            format!("move the file away (keep it for its report) or set {setting} to another file")
        }
        "locked" => {
            format!("stop the other program that holds the file, or set {setting} to another file")
        }
        _ => format!("check the file and its folder, or set {setting} to another file"),
    }
}

/// The folder the history at `path` (and its WAL files) is in.
fn folder(path: &Path) -> &Path {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    folder.unwrap_or(Path::new("."))
}

/// `path` as a C string, for a system call.
fn c_path(path: &Path) -> Option<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).ok()
}

/// Whether the file system holding `path` has less than 64 KiB left for it.
fn nearly_full(path: &Path) -> bool {
    let Some(name) = c_path(folder(path)) else {
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

/// Whether the agent may not write the history at `path`: the file, or the folder its WAL
/// files are made in, is on a read-only file system or not writable by the agent's user.
fn read_only(path: &Path) -> bool {
    [path, folder(path)].into_iter().any(|p| {
        let Some(name) = c_path(p) else { return false };
        // SAFETY: `name` is a valid C string; access only reads it.
        let refused = unsafe { libc::access(name.as_ptr(), libc::W_OK) } != 0;
        refused
            && matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EROFS | libc::EACCES | libc::EPERM)
            )
    })
}

/// Starts the agent's `writer`: a thread in `tasks` writing its history, and a task
/// handing it each snapshot `snapshots` publishes, until the hub stops and drops its sender
/// (at the agent's stop): the last snapshot published is handed over too, then what is
/// queued is written and the file closed, so a normal stop loses no tick.
pub fn start(writer: Writer, mut snapshots: watch::Receiver<Arc<Snapshot>>, tasks: &TaskTracker) {
    let (send, ticks): (SyncSender<Arc<Snapshot>>, _) = sync_channel(QUEUE);
    let dropped = writer.metrics.dropped.clone();
    tasks.spawn_blocking(move || writer.run(ticks, Batching::Queued));
    tasks.spawn(async move {
        // Ends once the sender is gone and its last snapshot seen.
        while snapshots.changed().await.is_ok() {
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
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hub stops (its sender dropped) just after publishing: that last snapshot is
    /// written, then the file closed with the sketches of the last tick.
    #[tokio::test]
    async fn at_the_stop_the_last_snapshot_published_is_written_and_the_file_closed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.sqlite");
        let (publish, snapshots) = watch::channel(Arc::new(Snapshot::default()));
        let tasks = TaskTracker::new();
        let metrics = Metrics::new(&Registry::new());
        start(
            Writer::new(path.clone(), HistoryConfig::default(), metrics),
            snapshots,
            &tasks,
        );
        for at in [600, 601, 602] {
            publish.send_replace(Arc::new(Snapshot {
                generated_at: at,
                ..Snapshot::default()
            }));
            tokio::task::yield_now().await;
        }
        publish.send_replace(Arc::new(Snapshot {
            generated_at: 603,
            ..Snapshot::default()
        }));
        drop(publish);
        tasks.close();
        tasks.wait().await;
        assert!(
            !dir.path().join("h.sqlite-wal").exists(),
            "closed: the WAL checkpointed and removed"
        );
        let db = rusqlite::Connection::open(&path).expect("opens");
        let last: i64 = db
            .query_row("SELECT max(at) FROM venue_ticks", [], |r| r.get(0))
            .expect("ticks");
        assert_eq!(last, 603);
    }

    /// Regression: a FIFO at the history's path was logged as "disk I/O error" and a
    /// directory as "unable to open"; under `run --simulate` the fix named [history] path,
    /// which that command has not.
    #[test]
    fn a_fifo_or_a_directory_at_the_path_is_named_and_the_fix_names_the_setting() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.sqlite");
        let open = |path: &Path| {
            Store::open(path, &HistoryConfig::default(), &Snapshot::default())
                .err()
                .expect("refused")
        };
        crate::files::mkfifo(&path);
        let e = open(&path);
        assert_eq!(
            e.to_string(),
            "is a FIFO (named pipe), not a regular file: give the path of the file itself"
        );
        assert_eq!(kind_at(&e, &path), "cannot_open");
        let e = open(dir.path());
        assert_eq!(
            e.to_string(),
            "is a directory, not a regular file: give the path of the file itself"
        );
        assert_eq!(
            what_to_do("cannot_open", "--history FILE"),
            "check the file and its folder, or set --history FILE to another file"
        );
        let writer = Writer::new(
            path,
            HistoryConfig::default(),
            Metrics::new(&Registry::new()),
        );
        assert_eq!(writer.setting, "[history] path");
        assert_eq!(
            writer.path_set_by("--history FILE").setting,
            "--history FILE"
        );
    }

    #[test]
    fn a_folder_the_history_cannot_be_made_in_for_lack_of_rights_is_read_only() {
        for (error, kind) in [
            (std::io::ErrorKind::ReadOnlyFilesystem, "read_only"),
            (std::io::ErrorKind::PermissionDenied, "read_only"),
            (std::io::ErrorKind::NotADirectory, "cannot_open"),
        ] {
            let e = HistoryError::Folder(error.into());
            assert_eq!(
                kind_at(&e, Path::new("/nowhere/h.sqlite")),
                kind,
                "{error:?}"
            );
        }
    }
}
