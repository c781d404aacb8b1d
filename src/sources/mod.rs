//! Sources turn the outside world into typed [`Observation`]s, in the venue's terms. Each
//! runs as its own tokio task on its own interval and sends [`Report`]s to the hub; none
//! knows about the hub, Prometheus or HTML. Every kind is registered by one line below
//! (`source_registry!`), which gives its settings a field in [`Sources`] and its `start` a
//! place in [`KINDS`]: a kind's `start` reads its settings and spawns the sources they
//! enable.
//!
//! - `netdev`: interface counters and state (rtnetlink, or /proc/net/dev + /sys/class/net).
//! - `neighbours`: active clients from the ARP/NDP neighbour table.
//! - `links`: the interface list both of them read, through one seam.
//! - [`dhcp`]: leases in use per pool and their clients (dnsmasq, ISC dhcpd, Kea).
//! - `hostapd`: stations and events per access point from hostapd's control sockets.
//! - [`capture`]: passive capture, live or from pcap files: Ethernet, DHCP snooping, 802.11.
//! - `schedule`: the programme, sessions placed in zones.
//! - `sampling`: the loop each source runs in: interval, deadline, backoff ([`run`]).
//! - `start`: what a kind's `start` gets, and the call that runs a source.

pub mod capture;
pub mod dhcp;
pub(crate) mod hostapd;
pub(crate) mod links;
pub(crate) mod neighbours;
pub(crate) mod netdev;
pub(crate) mod netlink;
mod sampling;
pub(crate) mod schedule;
pub(crate) mod start;

use std::future::Future;
use std::time::SystemTime;

pub use crate::model::clients::Sighting;
pub use crate::model::{ErrorKind, Observation, Report, SourceError};
pub use sampling::{deadline, run};
pub use start::Starter;

/// Starts the sources of one kind that the config enables.
pub type Start = fn(&mut Starter<'_>) -> anyhow::Result<()>;

// Every kind of source, one line each, in the order they start: `name: its settings' type,`
// (the type its folder's `config.rs` implements `config::SourceConfig` on). This defines
// `Sources` (`config.sources.name`) and `KINDS`; nothing else names a kind.
crate::config::source_registry! {
    netdev: netdev::config::NetdevConfig,
    neighbours: neighbours::config::NeighboursConfig,
    dhcp: Vec<dhcp::config::DhcpConfig>,
    hostapd: Vec<hostapd::config::HostapdConfig>,
    capture: Vec<capture::config::CaptureConfig>,
    schedule: Option<schedule::config::ScheduleConfig>,
}

/// Starts every source the config enables.
///
/// # Errors
/// A source's backend cannot be opened (the error names which).
pub fn start_all(starter: &mut Starter<'_>) -> anyhow::Result<()> {
    KINDS.iter().try_for_each(|start| start(starter))
}

/// Runs blocking `work` (file reads, parses, a large table's processing) on tokio's blocking
/// threads, so that it never holds up the runtime's workers: other sources and HTTP.
///
/// # Errors
/// `work`'s own, or `io` when the runtime shuts down before it ran.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SourceError> + Send + 'static,
) -> Result<T, SourceError> {
    let work = || {
        background_thread();
        work()
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(SourceError::new(ErrorKind::Io, "the agent is stopping")),
    }
}

/// Lowers the calling thread's scheduling priority (nice 5): the threads that sample and
/// fold samples in give way to the ones answering HTTP when the CPU is short. Only ever
/// called on blocking-pool threads, which run nothing but this background work.
pub fn background_thread() {
    // SAFETY: plain system calls on the calling thread's own id; nothing is shared. The id
    // comes from the system call, not glibc's `gettid()`: in the static binary the standard
    // library's weak reference to that function leaves it unlinked (a call to address 0).
    let lowered = unsafe {
        let thread = libc::syscall(libc::SYS_gettid);
        libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, BACKGROUND_NICE)
    };
    if lowered != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower a sampling thread's priority");
    }
}

/// The nice value of the sampling and hub threads.
const BACKGROUND_NICE: libc::c_int = 5;

/// Identifies a version of a file: a rewrite, truncation or rotation changes one of these.
/// Sources that read files re-read them only when their stamp changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }

    /// Whether both stamps are of the same file (device and inode), whatever was written to
    /// it in between: a rename keeps it, a replacement does not.
    pub fn same_file(&self, other: &FileStamp) -> bool {
        (self.device, self.inode) == (other.device, other.inode)
    }

    /// The file's modification time, when the file system keeps one.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
}

/// A source of observations, sampled on an interval.
pub trait Source: Send + 'static {
    /// The source's name, used as a metric label.
    const NAME: &'static str;

    /// The instance label (for example the backend in use).
    fn instance(&self) -> String;

    /// Takes one sample: what the source saw, in the venue's terms.
    fn sample(&mut self) -> impl Future<Output = Result<Vec<Observation>, SourceError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use tokio::sync::mpsc;
    use tokio_util::sync::CancellationToken;
    use tokio_util::task::TaskTracker;

    use crate::inventory::Inventory;
    use crate::privacy::ClientKey;

    #[test]
    fn a_file_stamp_changes_with_a_write_and_follows_a_rename() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, moved) = (dir.path().join("leases"), dir.path().join("leases.1"));
        let stamp = |p: &std::path::Path| FileStamp::of(&std::fs::metadata(p).expect("stat"));
        std::fs::write(&path, "a").expect("write");
        let first = stamp(&path);
        assert_eq!(stamp(&path), first, "unchanged file, same stamp");
        std::fs::write(&path, "ab").expect("append");
        let grown = stamp(&path);
        assert_ne!(grown, first, "a write changes the stamp");
        assert!(grown.same_file(&first));
        std::fs::rename(&path, &moved).expect("rename");
        assert_eq!(stamp(&moved), grown, "a rename keeps the stamp");
        std::fs::write(&path, "ab").expect("new file");
        assert!(
            !stamp(&path).same_file(&grown),
            "a new file is another file"
        );
    }

    #[tokio::test]
    async fn every_kind_starts_the_sources_its_section_enables_from_the_one_list() {
        let dir = tempfile::tempdir().expect("temp dir");
        let at = |name: &str| dir.path().join(name).display().to_string();
        let toml = format!(
            "[[zone]]\nid = \"hall-a\"\n\n\
             [source.netdev]\nbackend = \"proc\"\n\n\
             [source.neighbours]\nbackend = \"proc\"\n\n\
             [[source.dhcp]]\nkind = \"kea\"\nname = \"hall-a\"\nleases = \"{}\"\n\
             control_socket = \"{}\"\n\n\
             [[source.hostapd]]\nctrl_dir = \"{}\"\n\n\
             [[source.capture]]\ninterface = \"absent0\"\n\n\
             [schedule]\nfile = \"{}\"\n",
            at("kea-leases4.csv"),
            at("kea4-ctrl-socket"),
            at("hostapd"),
            at("programme.ics"),
        );
        let (config, _) = crate::config::parse("t.toml", &toml, "host").expect("config");
        let inventory = Arc::new(Inventory::new(&config));
        let key = ClientKey::ephemeral();
        let cancel = CancellationToken::new();
        let (hub, _inbox) = mpsc::channel(64);
        let tasks = TaskTracker::new();
        let mut starter = Starter::new(&config, &inventory, &key, &cancel, &tasks, &hub);
        start_all(&mut starter).expect("every kind starts");
        // netdev, neighbours, Kea's leases and its statistics, hostapd, capture, programme.
        assert_eq!(tasks.len(), 7);
        cancel.cancel();
        tasks.close();
        tasks.wait().await;
    }
}
