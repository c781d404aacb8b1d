//! Live capture: a pnet datalink channel on its own blocking thread, decoding into a
//! [`Decoder`] and handing its counts to the async side in batches, with the kernel's own
//! received/dropped counts (`PACKET_STATISTICS`) read from the socket.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use pnet_datalink::{Channel, Config, NetworkInterface};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::frames::{FrameSink, LinkType};
use crate::model::ErrorKind;
use crate::model::capture::KernelStats;

/// A frame sink whose counts can be taken out as a batch.
pub(crate) trait Decoder: FrameSink + Send + 'static {
    /// The counts handed to the async side.
    type Batch: Send + 'static;
    /// Takes the counts so far (leaving the decoder counting afresh) with the kernel's stats;
    /// `now` is the capture clock, so timeouts run on even when no frame comes.
    fn take_batch(&mut self, kernel: KernelStats, now: Duration) -> Self::Batch;
}

/// How often the capture thread hands a batch over (and wakes up when no frame comes).
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Receive buffer asked for: room for bursts (tcpdump's default is 2 MiB).
const RECEIVE_BUFFER: usize = 8 << 20;
/// Largest frame read (jumbo frames and 802.11 A-MSDUs included).
const SNAP_LEN: usize = 65_536;
/// Most frames taken from the socket by one recvmmsg(2) call.
const BATCH: usize = 32;

/// Why a live capture cannot start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LiveError {
    /// The interface does not exist now.
    #[error("interface {0} does not exist")]
    NoInterface(String),
    /// Opening the packet socket was refused.
    #[error(
        "cannot capture on {interface}: {source}; capture needs root or CAP_NET_RAW (setcap cap_net_raw+ep on the binary, or AmbientCapabilities=CAP_NET_RAW in the unit)"
    )]
    Permission {
        /// The interface.
        interface: String,
        /// The OS error.
        source: io::Error,
    },
    /// Any other failure to open the socket.
    #[error("cannot capture on {interface}: {source}")]
    Open {
        /// The interface.
        interface: String,
        /// The OS error.
        source: io::Error,
    },
}

impl LiveError {
    /// The bounded error kind used in metrics.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            LiveError::NoInterface(_) => ErrorKind::Missing,
            LiveError::Permission { .. } => ErrorKind::Permission,
            LiveError::Open { .. } => ErrorKind::Io,
        }
    }
}

fn open_error(interface: &str, source: io::Error) -> LiveError {
    if source.kind() == io::ErrorKind::PermissionDenied {
        LiveError::Permission {
            interface: interface.to_string(),
            source,
        }
    } else {
        LiveError::Open {
            interface: interface.to_string(),
            source,
        }
    }
}

/// Opens an `AF_PACKET` socket for every protocol with a large receive buffer. pnet binds it
/// to the interface and owns (closes) it; we keep its number to read `PACKET_STATISTICS`.
fn packet_socket() -> io::Result<RawFd> {
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(protocol)) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let size = RECEIVE_BUFFER as libc::c_int;
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: `size` outlives the call and its length is passed; failure is tolerated
        // (SO_RCVBUFFORCE needs CAP_NET_ADMIN; SO_RCVBUF is capped by rmem_max).
        let set = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw const size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if set == 0 {
            break;
        }
    }
    Ok(fd)
}

/// Reads (and thereby resets) the socket's received/dropped counters.
fn kernel_stats(fd: RawFd) -> KernelStats {
    let mut stats = libc::tpacket_stats {
        tp_packets: 0,
        tp_drops: 0,
    };
    let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: `stats` and `len` are valid for writes of the sizes given.
    let got = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut stats).cast(),
            &raw mut len,
        )
    };
    if got != 0 {
        return KernelStats::default();
    }
    KernelStats {
        received: u64::from(stats.tp_packets),
        dropped: u64::from(stats.tp_drops),
    }
}

/// Reads queued frames in batches straight from the (non-blocking) packet socket: one
/// recvmmsg(2) call for up to [`BATCH`] frames, where pnet's receiver makes a poll(2) and a
/// recvfrom(2) call per frame; at a few hundred thousand frames a second those syscalls were
/// the capture thread's main cost and the kernel dropped frames (`benches/live_capture_vs_tcpdump.sh`).
struct BatchReader {
    /// [`BATCH`] slots of [`SNAP_LEN`] bytes (allocated zeroed: only touched pages are resident).
    buffer: Vec<u8>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl BatchReader {
    fn new() -> BatchReader {
        BatchReader {
            buffer: vec![0; BATCH * SNAP_LEN],
            iovecs: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: SNAP_LEN,
                };
                BATCH
            ],
            // SAFETY: mmsghdr is plain data (pointers, lengths, flags) for which zero is valid.
            headers: vec![unsafe { std::mem::zeroed() }; BATCH],
        }
    }

    /// Takes up to [`BATCH`] queued frames without waiting: how many (0 when none is queued).
    fn read(&mut self, fd: RawFd) -> io::Result<usize> {
        // The pointers are set afresh before every call, from the buffers as they are now.
        let base = self.buffer.as_mut_ptr();
        for (i, (iovec, header)) in self.iovecs.iter_mut().zip(&mut self.headers).enumerate() {
            // SAFETY: slot `i` lies inside `buffer` (BATCH * SNAP_LEN bytes).
            iovec.iov_base = unsafe { base.add(i * SNAP_LEN) }.cast();
            iovec.iov_len = SNAP_LEN;
            // SAFETY: zero is a valid msghdr (no name, no control data).
            header.msg_hdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
            header.msg_len = 0;
        }
        // SAFETY: `headers` holds BATCH valid headers, each pointing at one iovec of SNAP_LEN
        // writable bytes of `buffer`; all outlive the call. No timeout pointer.
        let got = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if got >= 0 {
            return Ok(got as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            Ok(0)
        } else {
            Err(error)
        }
    }

    /// Frame `i` of the last read.
    fn frame(&self, i: usize) -> &[u8] {
        let len = (self.headers[i].msg_len as usize).min(SNAP_LEN);
        &self.buffer[i * SNAP_LEN..i * SNAP_LEN + len]
    }
}

/// Waits until the socket has a frame (or an error) queued, or `timeout` passes.
fn wait_readable(fd: RawFd, timeout: Duration) {
    let mut pollfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, FLUSH_EVERY.as_millis()) as libc::c_int;
    // SAFETY: one valid pollfd. The outcome is not needed: the next read tells.
    unsafe { libc::poll(&raw mut pollfd, 1, ms) };
}

/// The interface's link type, from its ARPHRD type in sysfs (Ethernet when unknown).
fn link_type(sys_root: &std::path::Path, interface: &str) -> LinkType {
    std::fs::read_to_string(sys_root.join("class/net").join(interface).join("type"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .map_or(LinkType::Ethernet, LinkType::from_arphrd)
}

/// Starts capturing on `interface` on a dedicated thread, decoding with `decoder` and sending a
/// batch every quarter second to the returned receiver, until `cancel` fires, the receiver is
/// dropped or the interface goes away (then the receiver closes). The thread counts as a task
/// of `tasks` until it ends; it sees `cancel` within a quarter second (its `poll(2)` timeout),
/// and a dropped receiver at its next batch.
///
/// # Errors
/// The interface does not exist, or the packet socket cannot be opened (permission).
pub(crate) fn spawn<D: Decoder>(
    interface: &str,
    sys_root: &std::path::Path,
    promiscuous: bool,
    mut decoder: D,
    cancel: CancellationToken,
    tasks: &TaskTracker,
) -> Result<mpsc::Receiver<D::Batch>, LiveError> {
    let nic: NetworkInterface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == interface)
        .ok_or_else(|| LiveError::NoInterface(interface.to_string()))?;
    let link = link_type(sys_root, interface);
    let fd = packet_socket().map_err(|e| open_error(interface, e))?;
    let config = Config {
        read_buffer_size: SNAP_LEN,
        read_timeout: Some(FLUSH_EVERY),
        promiscuous,
        socket_fd: Some(fd),
        ..Config::default()
    };
    // pnet binds the socket, sets promiscuous mode and non-blocking; frames are read from the
    // socket itself in batches ([`BatchReader`]), `rx` only keeps it open.
    let rx = match pnet_datalink::channel(&nic, config) {
        Ok(Channel::Ethernet(_tx, rx)) => rx,
        Ok(_) => {
            return Err(open_error(
                interface,
                io::Error::other("unsupported channel type"),
            ));
        }
        Err(e) => return Err(open_error(interface, e)),
    };
    let (batches, receiver) = mpsc::channel(16);
    let name = interface.to_string();
    let thread = std::thread::Builder::new().name(format!("capture-{name}"));
    let task = tasks.token();
    let spawned = thread.spawn(move || {
        // Dropped last, when the thread is done with the socket: the agent waits for it.
        let _task = task;
        let _socket = rx;
        let mut reader = BatchReader::new();
        let start = Instant::now();
        let mut last_flush = start;
        while !cancel.is_cancelled() {
            match reader.read(fd) {
                Ok(0) => wait_readable(fd, FLUSH_EVERY.saturating_sub(last_flush.elapsed())),
                Ok(n) => {
                    for i in 0..n {
                        decoder.frame(link, start.elapsed(), reader.frame(i));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(interface = %name, error = %e, "capture stopped");
                    break;
                }
            }
            if last_flush.elapsed() >= FLUSH_EVERY {
                last_flush = Instant::now();
                let batch = decoder.take_batch(kernel_stats(fd), start.elapsed());
                // Blocks only when the async side is 16 batches behind; the kernel then drops
                // frames and says so in the next statistics, so nothing is lost silently.
                if batches.blocking_send(batch).is_err() {
                    break;
                }
            }
        }
        // `_socket` (and with it the socket) is dropped here, after the last statistics read.
    });
    spawned.map_err(|e| open_error(interface, e))?;
    Ok(receiver)
}
