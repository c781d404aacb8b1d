//! Dumps of the kernel's link, neighbour and routing tables over rtnetlink (RFC 3549; the
//! kernel's `include/uapi/linux/rtnetlink.h`), each on a netlink socket of its own, and the
//! attribute walk the decoders beside their sources share (`links`, `neighbours`,
//! `neighbours::gateways`). The socket is netlink-sys', message and attribute framing
//! netlink-packet-core's; venuemon decodes only the attributes it uses, which keeps the
//! agent small (a full typed model of rtnetlink was 0.7 MB of the binary, docs/PERFORMANCE.md).
//!
//! [`dump`] blocks (for as long as the kernel takes to write the table out, at most
//! [`RECEIVE_TIMEOUT`] a read): run it inside [`super::blocking`].

use std::io;
use std::ops::Range;
use std::time::Duration;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN,
    NetlinkBuffer, NlasIterator,
};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use super::{ErrorKind, SourceError};

/// A table the kernel dumps: what [`dump`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    /// Interfaces (`RTM_GETLINK`; each answer an `ifinfomsg` and `IFLA_*` attributes).
    Links,
    /// The ARP and NDP tables (`RTM_GETNEIGH`; an `ndmsg` and `NDA_*` attributes).
    Neighbours,
    /// Every routing table of every family (`RTM_GETROUTE`; an `rtmsg` and `RTA_*`).
    Routes,
}

impl Table {
    /// The request's message type and the size of the family header that follows it (all
    /// zero: every family, every interface).
    fn request(self) -> (u16, usize) {
        match self {
            Table::Links => (libc::RTM_GETLINK, 16),
            Table::Neighbours => (libc::RTM_GETNEIGH, 12),
            Table::Routes => (libc::RTM_GETROUTE, 12),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Links => "link",
            Table::Neighbours => "neighbour",
            Table::Routes => "route",
        }
    }
}

/// Bytes of `struct nlmsghdr`, before each message's payload.
const HEADER: usize = 16;

/// How long one read of a dump may wait for the kernel before the dump is an error.
pub(crate) const RECEIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Dumps asked for before a refusal with EBUSY (the table changed while the kernel wrote it
/// out, as when a DHCP client adds its address) is an error. A dump the kernel marks
/// interrupted (`NLM_F_DUMP_INTR`, same cause) is asked again too, and the last one is kept.
const DUMP_ATTEMPTS: usize = 3;

/// The kernel's answers to one dump: each message's payload (family header and
/// attributes), in the order the kernel wrote them.
#[derive(Debug, Default)]
pub(crate) struct Dump {
    bytes: Vec<u8>,
    messages: Vec<Range<usize>>,
}

impl Dump {
    /// Each entry's payload: its family header, then its attributes.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &[u8]> {
        self.messages.iter().map(|r| &self.bytes[r.clone()])
    }
}

/// Whether a netlink socket can be opened here (the `auto` backends fall back to /proc
/// without one).
///
/// # Errors
/// The socket cannot be opened (no netlink in this kernel or sandbox).
pub(crate) fn available() -> io::Result<()> {
    Socket::new(NETLINK_ROUTE).map(drop)
}

/// Dumps `table`, blocking until the kernel has written all of it.
///
/// # Errors
/// The socket cannot be opened, the kernel refused the dump or did not finish it within
/// [`RECEIVE_TIMEOUT`] a read, or it answered with a malformed message.
pub(crate) fn dump(table: Table) -> Result<Dump, SourceError> {
    let error = |what: String| {
        SourceError::new(
            ErrorKind::Netlink,
            format!(
                "{} dump failed: {what}; if it persists, set the source's backend = \"proc\" \
                 to read /proc instead",
                table.name()
            ),
        )
    };
    let socket = Socket::new(NETLINK_ROUTE)
        .map_err(|e| error(format!("cannot open a netlink socket ({e})")))?;
    socket2::SockRef::from(&socket)
        .set_read_timeout(Some(RECEIVE_TIMEOUT))
        .map_err(|e| error(e.to_string()))?;
    // A signal handled on this thread interrupts a read with a timeout (signal(7)): read again.
    let receive = || loop {
        match socket.recv_from_full() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            received => return received.map(|(datagram, _)| datagram),
        }
    };
    retrying(|sequence| {
        ask(&socket, table, sequence)?;
        read_dump(receive, sequence)
    })
    .map_err(|e| error(e.to_string()))
}

/// Runs `attempt` (given its sequence number, from 1) until it gives a dump that is neither
/// refused with EBUSY nor interrupted, at most [`DUMP_ATTEMPTS`] times; the last interrupted
/// dump is kept.
fn retrying(
    mut attempt: impl FnMut(u32) -> Result<(Dump, bool), DumpError>,
) -> Result<Dump, DumpError> {
    let mut sequence = 1;
    loop {
        let last = sequence as usize >= DUMP_ATTEMPTS;
        match attempt(sequence) {
            Ok((_, true)) if !last => {}
            Err(DumpError::Refused(libc::EBUSY)) if !last => {}
            answer => return answer.map(|(dump, _)| dump),
        }
        sequence += 1;
    }
}

/// Sends the request for a dump of `table`.
fn ask(socket: &Socket, table: Table, sequence: u32) -> Result<(), DumpError> {
    let (message_type, family_header) = table.request();
    let length = HEADER + family_header;
    let mut request = vec![0; length];
    let mut header = NetlinkBuffer::new(&mut request);
    header.set_length(length as u32);
    header.set_message_type(message_type);
    header.set_flags(NLM_F_REQUEST | NLM_F_DUMP);
    header.set_sequence_number(sequence);
    socket
        .send_to(&request, &SocketAddr::new(0, 0), 0)
        .map(drop)
        .map_err(DumpError::Io)
}

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
enum DumpError {
    /// Reading or writing the socket failed (a read timed out, say).
    #[error("{}", io_message(.0))]
    Io(io::Error),
    /// The kernel answered the request with this errno.
    #[error("the kernel refused it ({})", io::Error::from_raw_os_error(*.0))]
    Refused(i32),
    /// A message that does not frame.
    #[error("malformed answer from the kernel ({0})")]
    Malformed(String),
}

fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
            "the kernel sent nothing for {} s",
            RECEIVE_TIMEOUT.as_secs()
        ),
        _ => e.to_string(),
    }
}

/// Reads a dump's answers with `receive` (one datagram a call) until `NLMSG_DONE`: the
/// entries, and whether the kernel marked the dump interrupted. Messages of another request
/// (another `sequence`) are skipped.
fn read_dump(
    mut receive: impl FnMut() -> io::Result<Vec<u8>>,
    sequence: u32,
) -> Result<(Dump, bool), DumpError> {
    let mut dump = Dump::default();
    let mut interrupted = false;
    loop {
        let datagram = receive().map_err(DumpError::Io)?;
        let base = dump.bytes.len();
        dump.bytes.extend_from_slice(&datagram);
        let mut offset = 0;
        while offset < datagram.len() {
            let message = NetlinkBuffer::new_checked(&datagram[offset..])
                .map_err(|e| DumpError::Malformed(e.to_string()))?;
            let length = message.length() as usize;
            let payload = offset + HEADER..offset + length;
            // Messages are 4-byte aligned within a datagram.
            offset += length.next_multiple_of(4);
            if message.sequence_number() != sequence {
                continue;
            }
            interrupted |= message.flags() & NLM_F_DUMP_INTR != 0;
            let code = || {
                let bytes = datagram.get(payload.start..payload.start + 4)?;
                Some(i32::from_ne_bytes(bytes.try_into().ok()?))
            };
            match message.message_type() {
                NLMSG_NOOP => {}
                // A dump ends with DONE, which carries an error when the dump failed late.
                NLMSG_DONE => {
                    return match code() {
                        Some(code) if code < 0 => Err(DumpError::Refused(-code)),
                        _ => Ok((dump, interrupted)),
                    };
                }
                NLMSG_ERROR => match code() {
                    Some(0) => {}
                    Some(code) => return Err(DumpError::Refused(-code)),
                    None => return Err(DumpError::Malformed("short error message".into())),
                },
                NLMSG_OVERRUN => return Err(DumpError::Malformed("overrun".into())),
                _ => dump.messages.push(base + payload.start..base + payload.end),
            }
        }
    }
}

/// The attributes (type, value) after the `header` bytes of `payload`, in order; the walk
/// stops at the first attribute that does not frame (the ones before it stand). The nested
/// and byte-order flags are masked off the type.
pub(crate) fn attributes(payload: &[u8], header: usize) -> impl Iterator<Item = (u16, &[u8])> {
    NlasIterator::new(payload.get(header..).unwrap_or_default())
        .map_while(Result::ok)
        .map(|a| {
            let (kind, length) = (a.kind(), usize::from(a.length()));
            (kind, a.into_inner().get(4..length).unwrap_or_default())
        })
}

/// The native-endian `u16` at `at` in `bytes`.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The native-endian `u32` at `at` in `bytes`.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The native-endian `u64` at `at` in `bytes`.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// An IPv4 or IPv6 address from its 4 or 16 bytes (`NDA_DST`, `RTA_GATEWAY`).
pub(crate) fn ip_address(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => Some(<[u8; 4]>::try_from(bytes).ok()?.into()),
        16 => Some(<[u8; 16]>::try_from(bytes).ok()?.into()),
        _ => None,
    }
}

#[cfg(test)]
impl Dump {
    /// A dump of these payloads, as [`dump`] reads them.
    pub(crate) fn of(payloads: &[Vec<u8>]) -> Dump {
        let mut dump = Dump::default();
        for payload in payloads {
            let start = dump.bytes.len();
            dump.bytes.extend_from_slice(payload);
            dump.messages.push(start..dump.bytes.len());
        }
        dump
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::RouteNetlinkMessage;

    /// `message` as the kernel writes it: a netlink header, then the payload.
    pub(crate) fn frame(message: RouteNetlinkMessage, sequence: u32, flags: u16) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.sequence_number = sequence;
        header.flags = flags;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::from(message));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        bytes
    }

    /// The payload of `message`, as [`Dump::messages`] gives it.
    pub(crate) fn payload(message: RouteNetlinkMessage) -> Vec<u8> {
        frame(message, 1, 0)[HEADER..].to_vec()
    }

    /// A control message (`NLMSG_DONE` or `NLMSG_ERROR`) carrying `code`.
    fn control(message_type: u16, code: i32, sequence: u32, flags: u16) -> Vec<u8> {
        let mut bytes = vec![0; HEADER + 4];
        let mut header = NetlinkBuffer::new(&mut bytes);
        header.set_length(HEADER as u32 + 4);
        header.set_message_type(message_type);
        header.set_sequence_number(sequence);
        header.set_flags(flags);
        bytes[HEADER..].copy_from_slice(&code.to_ne_bytes());
        bytes
    }

    fn link(index: u32) -> RouteNetlinkMessage {
        let mut message = netlink_packet_route::link::LinkMessage::default();
        message.header.index = index;
        RouteNetlinkMessage::NewLink(message)
    }

    /// Reads datagrams from `datagrams` in turn; past the end, a read times out.
    fn replay(datagrams: Vec<Vec<u8>>) -> impl FnMut() -> io::Result<Vec<u8>> {
        let mut datagrams = datagrams.into_iter();
        move || datagrams.next().ok_or(io::ErrorKind::WouldBlock.into())
    }

    #[test]
    fn a_dump_over_several_datagrams_ends_at_done_and_skips_other_requests() {
        let first = [
            frame(link(1), 7, 2),
            frame(link(9), 6, 2),
            frame(link(2), 7, 2),
        ]
        .concat();
        let second = [frame(link(3), 7, 2), control(NLMSG_DONE, 0, 7, 2)].concat();
        let (dump, interrupted) = read_dump(replay(vec![first, second]), 7).expect("a dump");
        let indexes: Vec<u32> = dump.messages().filter_map(|m| u32_at(m, 4)).collect();
        assert_eq!((indexes, interrupted), (vec![1, 2, 3], false));
    }

    #[test]
    fn refusals_interruptions_and_bad_framing_are_told_apart() {
        let refused = read_dump(replay(vec![control(NLMSG_ERROR, -libc::EBUSY, 1, 0)]), 1);
        assert!(matches!(refused, Err(DumpError::Refused(libc::EBUSY))));
        let late = [
            frame(link(1), 1, 2),
            control(NLMSG_DONE, -libc::EINTR, 1, 2),
        ]
        .concat();
        assert!(matches!(
            read_dump(replay(vec![late]), 1),
            Err(DumpError::Refused(libc::EINTR))
        ));
        let intr = [
            frame(link(1), 1, 2 | NLM_F_DUMP_INTR),
            control(NLMSG_DONE, 0, 1, 2),
        ]
        .concat();
        let (dump, interrupted) = read_dump(replay(vec![intr]), 1).expect("a dump");
        assert_eq!((dump.messages().count(), interrupted), (1, true));
        // A message cut short, and a kernel that stops answering.
        let mut cut = frame(link(1), 1, 2);
        cut.truncate(20);
        assert!(matches!(
            read_dump(replay(vec![cut]), 1),
            Err(DumpError::Malformed(_))
        ));
        let silent = read_dump(replay(vec![frame(link(1), 1, 2)]), 1).expect_err("no DONE");
        assert_eq!(silent.to_string(), "the kernel sent nothing for 5 s");
    }

    /// Regression: with DHCP clients adding addresses, the kernel answered a route dump with
    /// EBUSY now and then, and the neighbour source went down for a tick.
    #[test]
    fn a_dump_refused_with_ebusy_or_interrupted_is_asked_again_other_errors_are_not() {
        let answers = |mut answers: Vec<Result<(Dump, bool), DumpError>>| {
            answers.reverse();
            let mut asked = Vec::new();
            let result = retrying(|sequence| {
                asked.push(sequence);
                answers.pop().expect("asked too often")
            });
            (result, asked)
        };
        let one = || Dump::of(&[vec![1]]);
        let (result, asked) = answers(vec![
            Err(DumpError::Refused(libc::EBUSY)),
            Ok((one(), false)),
        ]);
        assert_eq!(
            (result.expect("second").messages().count(), asked),
            (1, vec![1, 2])
        );
        let (result, asked) = answers(vec![Err(DumpError::Refused(libc::EPERM))]);
        assert!(matches!(result, Err(DumpError::Refused(libc::EPERM))) && asked == [1]);
        let busy = || Err(DumpError::Refused(libc::EBUSY));
        let (result, asked) = answers(vec![busy(), busy(), busy()]);
        assert!(result.is_err() && asked == [1, 2, 3]);
        let (result, asked) = answers(vec![Ok((Dump::default(), true)), Ok((one(), false))]);
        assert_eq!(
            (result.expect("clean").messages().count(), asked),
            (1, vec![1, 2])
        );
        let interrupted = || Ok((one(), true));
        let (result, asked) = answers(vec![interrupted(), interrupted(), interrupted()]);
        assert!(
            result.is_ok() && asked == [1, 2, 3],
            "the last interrupted dump is kept"
        );
    }

    #[test]
    fn attributes_stop_at_the_first_that_does_not_frame() {
        // IFLA_MTU = 1500, then an attribute claiming 64 bytes in 8.
        let mut bytes = vec![0; 4];
        bytes.extend_from_slice(&[8, 0, 4, 0]);
        bytes.extend_from_slice(&1500u32.to_ne_bytes());
        bytes.extend_from_slice(&[64, 0, 3, 0, b'e', b't', b'h', b'0']);
        let walked: Vec<(u16, &[u8])> = attributes(&bytes, 4).collect();
        assert_eq!(walked, [(4, &1500u32.to_ne_bytes()[..])]);
        assert_eq!(
            attributes(&bytes, 99).count(),
            0,
            "a header longer than the payload"
        );
    }

    /// The kernel of the machine the tests run on answers a link dump: its loopback, at
    /// least, is in it.
    #[test]
    fn this_hosts_kernel_dumps_its_links() {
        let dump = dump(Table::Links).expect("a netlink socket and a link dump");
        let loopback = dump
            .messages()
            .any(|m| u16_at(m, 2) == Some(libc::ARPHRD_LOOPBACK));
        assert!(
            loopback,
            "no loopback among {} links",
            dump.messages().count()
        );
    }
}
