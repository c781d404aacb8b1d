//! DHCPv4 snooping: [`parse`] decodes the BOOTP header and the few options the agent needs
//! from a UDP payload, without allocating; [`Transactions`] pairs each client's DISCOVER
//! with the ACK that completes it and counts what went wrong (NAKs, DECLINEs, DISCOVERs and
//! REQUESTs nobody answered), on capture time, so a pcap replay gives the same figures as the
//! live interface. Client MACs stay in this module's memory; nothing per client is exposed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// UDP port of DHCP servers (and relays).
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;

/// The DHCP magic cookie that starts the options (RFC 2131 §3).
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Offset of the magic cookie: the BOOTP fixed header is 236 bytes.
const COOKIE_AT: usize = 236;
/// Where the `sname` field starts and ends (64 bytes), usable for options under overload.
const SNAME: std::ops::Range<usize> = 44..108;
/// Where the `file` field starts and ends (128 bytes), usable for options under overload.
const FILE: std::ops::Range<usize> = 108..236;

/// Option codes read by [`parse`].
const OPT_PAD: u8 = 0;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_OVERLOAD: u8 = 52;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_END: u8 = 255;

/// Whether a UDP datagram between these ports is DHCP (client 68, server/relay 67).
#[must_use]
pub fn is_dhcp_port(src: u16, dst: u16) -> bool {
    matches!(src, SERVER_PORT | CLIENT_PORT) && matches!(dst, SERVER_PORT | CLIENT_PORT)
}

/// Why a UDP payload is not a DHCP message this module can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Shorter than the 236-byte BOOTP header plus the 4-byte magic cookie.
    #[error("DHCP message truncated: {0} bytes, at least 240 needed")]
    Truncated(usize),
    /// A BOOTP message without the DHCP magic cookie (plain BOOTP, or not BOOTP at all).
    #[error("BOOTP message without the DHCP magic cookie")]
    NoMagicCookie,
}

/// The BOOTP `op` field: who sent the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// BOOTREQUEST (1): client to server, possibly through a relay.
    Request,
    /// BOOTREPLY (2): server to client, possibly through a relay.
    Reply,
    /// Any other value (malformed).
    Other(u8),
}

/// The DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// DHCPDISCOVER (1): a client looks for servers.
    Discover,
    /// DHCPOFFER (2): a server offers an address.
    Offer,
    /// DHCPREQUEST (3): a client asks for (or renews) an address.
    Request,
    /// DHCPDECLINE (4): a client found the address already in use.
    Decline,
    /// DHCPACK (5): a server commits the lease.
    Ack,
    /// DHCPNAK (6): a server refuses the request.
    Nak,
    /// DHCPRELEASE (7): a client gives its lease back.
    Release,
    /// DHCPINFORM (8): a client with an address asks for configuration only.
    Inform,
    /// Anything else, e.g. the leasequery types 10 to 13 (RFC 4388).
    Other(u8),
}

impl MessageType {
    /// The type for an option 53 value.
    #[must_use]
    pub const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            other => Self::Other(other),
        }
    }

    /// The option 53 value of this type.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Discover => 1,
            Self::Offer => 2,
            Self::Request => 3,
            Self::Decline => 4,
            Self::Ack => 5,
            Self::Nak => 6,
            Self::Release => 7,
            Self::Inform => 8,
            Self::Other(code) => code,
        }
    }

    /// A lower-case name, usable as a bounded metric label value (`other` for the rest).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Discover => "discover",
            Self::Offer => "offer",
            Self::Request => "request",
            Self::Decline => "decline",
            Self::Ack => "ack",
            Self::Nak => "nak",
            Self::Release => "release",
            Self::Inform => "inform",
            Self::Other(_) => "other",
        }
    }
}

/// One decoded DHCP message: the fixed header fields and the options the agent uses.
/// `Debug` leaves the client MAC out, so a stray log line cannot leak it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Message {
    /// Client-to-server or server-to-client.
    pub op: Op,
    /// Hardware address type (1 is Ethernet).
    pub htype: u8,
    /// Hardware address length (6 for Ethernet).
    pub hlen: u8,
    /// Transaction id, chosen by the client and echoed by the server.
    pub xid: u32,
    /// Seconds since the client began acquiring or renewing.
    pub secs: u16,
    /// BOOTP flags (0x8000: the client wants broadcast replies).
    pub flags: u16,
    /// The client's current address, when it has one.
    pub ciaddr: Ipv4Addr,
    /// The address the server offers or assigns.
    pub yiaddr: Ipv4Addr,
    /// The relay agent's address (0.0.0.0 when not relayed): it names the client's subnet.
    pub giaddr: Ipv4Addr,
    /// The client's MAC (`chaddr`), when `htype` is 1 and `hlen` is 6. Personal data: it
    /// keys the transaction tracker in memory and goes nowhere else.
    pub client_mac: Option<[u8; 6]>,
    /// Option 53; `None` when absent or empty.
    pub message_type: Option<MessageType>,
    /// Option 54: the server that offered or is asked for the lease.
    pub server_id: Option<Ipv4Addr>,
    /// Option 50: the address the client asks for.
    pub requested_ip: Option<Ipv4Addr>,
    /// An option ran past the end of the packet (or of an overloaded field); the fields
    /// found before it are kept.
    pub truncated: bool,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("op", &self.op)
            .field("xid", &format_args!("{:#x}", self.xid))
            .field("message_type", &self.message_type)
            .field("client_mac", &self.client_mac.map(|_| "<redacted>"))
            .field("truncated", &self.truncated)
            .finish_non_exhaustive()
    }
}

/// Reads `N` bytes at `at`, if they are there.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The options found while walking one or more option areas.
#[derive(Default)]
struct Options {
    message_type: Option<u8>,
    server_id: Option<[u8; 4]>,
    requested_ip: Option<[u8; 4]>,
    overload: u8,
    truncated: bool,
}

impl Options {
    /// Walks one option area: code, length, value; pad (0) has no length, end (255) stops.
    /// The first occurrence of an option wins. Every step consumes at least one byte, so the
    /// walk ends. Option overload (52) is only honoured in the main options area.
    fn walk(&mut self, mut area: &[u8], main_area: bool) {
        while let Some((&code, rest)) = area.split_first() {
            match code {
                OPT_PAD => {
                    area = rest;
                    continue;
                }
                OPT_END => return,
                _ => {}
            }
            let Some((value, rest)) = rest
                .split_first()
                .and_then(|(&len, rest)| rest.split_at_checked(usize::from(len)))
            else {
                self.truncated = true;
                return;
            };
            match code {
                OPT_MESSAGE_TYPE if self.message_type.is_none() => {
                    self.message_type = value.first().copied();
                }
                OPT_SERVER_ID if self.server_id.is_none() => self.server_id = array(value, 0),
                OPT_REQUESTED_IP if self.requested_ip.is_none() => {
                    self.requested_ip = array(value, 0);
                }
                OPT_OVERLOAD if main_area => self.overload = value.first().copied().unwrap_or(0),
                _ => {}
            }
            area = rest;
        }
    }
}

/// Decodes a DHCP message from a UDP payload: the BOOTP header, the magic cookie, then the
/// options, bounds-checked, including the `file` and `sname` fields when option 52 says they
/// hold options. An option that overruns the packet stops the walk and sets `truncated`.
///
/// # Errors
/// [`Error::Truncated`] below 240 bytes; [`Error::NoMagicCookie`] for plain BOOTP.
pub fn parse(udp_payload: &[u8]) -> Result<Message, Error> {
    let truncated = Error::Truncated(udp_payload.len());
    let (fixed, options) = udp_payload.split_at_checked(COOKIE_AT).ok_or(truncated)?;
    let (cookie, options) = options.split_at_checked(4).ok_or(truncated)?;
    if cookie != MAGIC_COOKIE {
        return Err(Error::NoMagicCookie);
    }
    let byte = |at: usize| fixed.get(at).copied().ok_or(truncated);
    let ip = |at: usize| array::<4>(fixed, at).map(Ipv4Addr::from).ok_or(truncated);
    let op = match byte(0)? {
        1 => Op::Request,
        2 => Op::Reply,
        other => Op::Other(other),
    };
    let (htype, hlen) = (byte(1)?, byte(2)?);
    let xid = u32::from_be_bytes(array(fixed, 4).ok_or(truncated)?);
    let secs = u16::from_be_bytes(array(fixed, 8).ok_or(truncated)?);
    let flags = u16::from_be_bytes(array(fixed, 10).ok_or(truncated)?);
    let client_mac = if htype == 1 && hlen == 6 {
        array(fixed, 28)
    } else {
        None
    };

    let mut found = Options::default();
    found.walk(options, true);
    // RFC 2131 §4.1: with overload, `file` is read after the options, then `sname`.
    if found.overload & 1 != 0 {
        found.walk(fixed.get(FILE).unwrap_or_default(), false);
    }
    if found.overload & 2 != 0 {
        found.walk(fixed.get(SNAME).unwrap_or_default(), false);
    }

    Ok(Message {
        op,
        htype,
        hlen,
        xid,
        secs,
        flags,
        ciaddr: ip(12)?,
        yiaddr: ip(16)?,
        giaddr: ip(24)?,
        client_mac,
        message_type: found.message_type.map(MessageType::from_code),
        server_id: found.server_id.map(Ipv4Addr::from),
        requested_ip: found.requested_ip.map(Ipv4Addr::from),
        truncated: found.truncated,
    })
}

/// How long, in capture time, a DISCOVER waits for an OFFER (or a REQUEST for its ACK)
/// before it counts as unanswered.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How many exchanges are tracked at once by default; past it the oldest is evicted.
pub const DEFAULT_MAX_PENDING: usize = 65_536;

/// Tracker totals since it was created; counters only ever rise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// DHCP messages fed to the tracker, with or without a message type.
    pub messages: u64,
    /// Messages without option 53.
    pub untyped: u64,
    /// DISCOVER→ACK exchanges completed.
    pub completed: u64,
    /// NAKs seen.
    pub naks: u64,
    /// DECLINEs seen (a client found its address already in use).
    pub declines: u64,
    /// DISCOVERs that got no OFFER or ACK within the timeout, each counted once.
    pub unanswered_discovers: u64,
    /// REQUESTs that got no ACK or NAK within the timeout, each counted once.
    pub unanswered_requests: u64,
    /// Exchanges dropped unfinished because the tracker was full.
    pub evicted: u64,
    /// Completed durations dropped because nobody drained them (the buffer was full).
    pub completions_dropped: u64,
}

/// One tracked exchange's key: the transaction id and the client's MAC (memory only).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    xid: u32,
    mac: [u8; 6],
}

/// What the exchange waits for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// DISCOVER sent, waiting for an OFFER.
    Discovering,
    /// OFFER seen, waiting for the client's REQUEST.
    Offered,
    /// REQUEST sent, waiting for an ACK or NAK.
    Requesting,
}

/// One exchange in flight.
#[derive(Clone, Copy)]
struct Pending {
    /// When the first DISCOVER was seen; `None` for a REQUEST without one (renewal, reboot).
    discover_at: Option<Duration>,
    stage: Stage,
    /// When the current stage began: the timeout runs from here.
    since: Duration,
    /// Insertion number, matching this entry to its place in the eviction queue.
    seq: u64,
}

/// The DHCP snooping tracker. Feed it every decoded message with its capture timestamp
/// ([`observe`](Self::observe)); once per tick call [`expire`](Self::expire) with the
/// latest capture time, then read [`stats`](Self::stats), the per-type counts and
/// [`drain_completed`](Self::drain_completed). Memory is bounded: at most `max_pending`
/// exchanges and `max_pending` undrained durations.
pub struct Transactions {
    timeout: Duration,
    max_pending: usize,
    pending: HashMap<Key, Pending>,
    /// Insertion order for eviction; entries whose exchange ended are skipped and purged.
    order: VecDeque<(Key, u64)>,
    next_seq: u64,
    completed: Vec<Duration>,
    by_type: [u64; 256],
    stats: Stats,
}

impl fmt::Debug for Transactions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transactions")
            .field("timeout", &self.timeout)
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for Transactions {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT, DEFAULT_MAX_PENDING)
    }
}

impl Transactions {
    /// A tracker that counts an exchange as unanswered after `timeout` of capture time and
    /// tracks at most `max_pending` exchanges (at least 1).
    #[must_use]
    pub fn new(timeout: Duration, max_pending: usize) -> Self {
        Self {
            timeout,
            max_pending: max_pending.max(1),
            pending: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            completed: Vec::new(),
            by_type: [0; 256],
            stats: Stats::default(),
        }
    }

    /// Feeds one message seen at capture time `at`.
    pub fn observe(&mut self, message: &Message, at: Duration) {
        self.stats.messages += 1;
        let Some(kind) = message.message_type else {
            self.stats.untyped += 1;
            return;
        };
        if let Some(count) = self.by_type.get_mut(usize::from(kind.code())) {
            *count += 1;
        }
        match kind {
            MessageType::Nak => self.stats.naks += 1,
            MessageType::Decline => self.stats.declines += 1,
            _ => {}
        }
        let Some(mac) = message.client_mac else {
            return;
        };
        let key = Key {
            xid: message.xid,
            mac,
        };
        match kind {
            // Retransmitted DISCOVERs keep the first one's time.
            MessageType::Discover if !self.pending.contains_key(&key) => {
                self.insert(key, Some(at), Stage::Discovering, at);
            }
            MessageType::Offer => {
                if let Some(p) = self.pending.get_mut(&key)
                    && p.stage == Stage::Discovering
                {
                    p.stage = Stage::Offered;
                    p.since = at;
                }
            }
            MessageType::Request => match self.pending.get_mut(&key) {
                Some(p) if p.stage != Stage::Requesting => {
                    p.stage = Stage::Requesting;
                    p.since = at;
                }
                Some(_) => {}
                None => self.insert(key, None, Stage::Requesting, at),
            },
            MessageType::Ack => {
                if let Some(Pending {
                    discover_at: Some(start),
                    ..
                }) = self.pending.remove(&key)
                {
                    self.stats.completed += 1;
                    if self.completed.len() < self.max_pending {
                        self.completed.push(at.saturating_sub(start));
                    } else {
                        self.stats.completions_dropped += 1;
                    }
                }
            }
            MessageType::Nak => {
                self.pending.remove(&key);
            }
            _ => {}
        }
    }

    /// Tracks a new exchange, evicting the oldest one first when full.
    fn insert(&mut self, key: Key, discover_at: Option<Duration>, stage: Stage, at: Duration) {
        if self.pending.len() >= self.max_pending {
            while let Some((old, seq)) = self.order.pop_front() {
                if self.pending.get(&old).is_some_and(|p| p.seq == seq) {
                    self.pending.remove(&old);
                    self.stats.evicted += 1;
                    break;
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.insert(
            key,
            Pending {
                discover_at,
                stage,
                since: at,
                seq,
            },
        );
        self.order.push_back((key, seq));
        // Finished exchanges leave stale queue entries: purge them now and then so the
        // queue stays within twice the cap (amortized O(1) per insert).
        if self.order.len() > self.max_pending.saturating_mul(2) {
            self.purge_order();
        }
    }

    /// Drops queue entries whose exchange is no longer tracked.
    fn purge_order(&mut self) {
        let pending = &self.pending;
        self.order
            .retain(|(key, seq)| pending.get(key).is_some_and(|p| p.seq == *seq));
    }

    /// Ends every exchange that waited longer than the timeout as of capture time `now`:
    /// a DISCOVER without OFFER counts as an unanswered DISCOVER, a REQUEST without ACK or
    /// NAK as an unanswered REQUEST (each once); an OFFER the client never took up is
    /// dropped silently. Call once per tick, not per frame: it visits every exchange.
    pub fn expire(&mut self, now: Duration) {
        let timeout = self.timeout;
        let stats = &mut self.stats;
        self.pending.retain(|_, p| {
            if now.saturating_sub(p.since) < timeout {
                return true;
            }
            match p.stage {
                Stage::Discovering => stats.unanswered_discovers += 1,
                Stage::Requesting => stats.unanswered_requests += 1,
                Stage::Offered => {}
            }
            false
        });
        self.purge_order();
    }

    /// The DISCOVER→ACK durations completed since the last call, oldest first.
    pub fn drain_completed(&mut self) -> impl Iterator<Item = Duration> + '_ {
        self.completed.drain(..)
    }

    /// How many messages of this type were fed.
    #[must_use]
    pub fn message_count(&self, kind: MessageType) -> u64 {
        self.by_type
            .get(usize::from(kind.code()))
            .copied()
            .unwrap_or(0)
    }

    /// The totals so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How many exchanges are in flight.
    #[must_use]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::capture::ethernet::{Payload, classify, parse_ethernet};
    use crate::sources::capture::frames::{FrameSink, LinkType, read_capture};
    use crate::sources::capture::testing::tcpdump_fixture_dir;
    use proptest::prelude::*;
    use std::fs::File;

    /// Every frame of a pcap or pcapng fixture (all are Ethernet), with its timestamp, read
    /// as the agent reads captures.
    fn frames(name: &str) -> Vec<(Duration, Vec<u8>)> {
        struct Collect(Vec<(Duration, Vec<u8>)>);
        impl FrameSink for Collect {
            fn frame(&mut self, link: LinkType, timestamp: Duration, data: &[u8]) {
                assert_eq!(link, LinkType::Ethernet);
                self.0.push((timestamp, data.to_vec()));
            }
        }
        let path = tcpdump_fixture_dir().join(name);
        let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut sink = Collect(Vec::new());
        read_capture(file, &mut sink).unwrap_or_else(|e| panic!("{name}: {e}"));
        sink.0
    }

    /// The UDP payload of a frame, with its source and destination ports.
    fn udp_payload(frame: &[u8]) -> Option<(u16, u16, &[u8])> {
        match classify(&parse_ethernet(frame).ok()?) {
            Payload::Ipv4Udp {
                src_port,
                dst_port,
                payload,
                ..
            } => Some((src_port, dst_port, payload)),
            _ => None,
        }
    }

    /// The DHCP payload of a frame, when it is UDP between ports 67/68.
    fn dhcp_payload(frame: &[u8]) -> Option<&[u8]> {
        udp_payload(frame)
            .filter(|&(src, dst, _)| is_dhcp_port(src, dst))
            .map(|(_, _, payload)| payload)
    }

    /// The DHCP fixtures, and how many DHCP frames each holds (from `tcpdump -nn -r`).
    const DHCP_FIXTURES: [(&str, usize); 6] = [
        ("dhcp-mud.pcap", 2),
        ("dhcp-option-108.pcapng", 2),
        ("dhcp-option-33.pcap", 5),
        ("dhcp-rfc3004.pcap", 4),
        ("dhcp-rfc4388.pcap", 36),
        ("dhcp-rfc5859.pcap", 4),
    ];

    /// tcpdump's name for a message type (print-bootp.c).
    fn tcpdump_name(kind: MessageType) -> String {
        match kind.code() {
            1 => "Discover".into(),
            2 => "Offer".into(),
            3 => "Request".into(),
            4 => "Decline".into(),
            5 => "ACK".into(),
            6 => "NACK".into(),
            7 => "Release".into(),
            8 => "Inform".into(),
            10 => "LeaseQuery".into(),
            11 => "LeaseUnassigned".into(),
            12 => "LeaseUnknown".into(),
            13 => "LeaseActive".into(),
            other => format!("Unknown ({other})"),
        }
    }

    /// From tcpdump `-v` text, per BOOTP frame: the xid and the DHCP-Message name, if any.
    /// A frame starts at a line that does not begin with whitespace, or (in tcpdump's test
    /// `.out` files) with the right-aligned frame number.
    fn tcpdump_dhcp_frames(text: &str) -> Vec<(u32, Option<String>)> {
        let mut frames: Vec<(u32, Option<String>)> = Vec::new();
        let mut in_bootp = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            let numbered = trimmed
                .split_once("  ")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if numbered || !line.starts_with(char::is_whitespace) {
                in_bootp = false;
            }
            if let Some((_, after)) = line.split_once("BOOTP/DHCP") {
                let xid = after
                    .split(", ")
                    .find_map(|field| field.strip_prefix("xid 0x"))
                    .map(|hex| u32::from_str_radix(hex, 16).expect("xid is hex"))
                    .expect("BOOTP line has an xid");
                frames.push((xid, None));
                in_bootp = true;
            } else if in_bootp
                && let Some((_, name)) = trimmed.split_once("DHCP-Message (53), length 1: ")
                && let Some(last) = frames.last_mut()
            {
                last.1 = Some(name.to_string());
            }
        }
        frames
    }

    /// Our decoding of a fixture in the same shape as [`tcpdump_dhcp_frames`]; frames
    /// without the magic cookie have no type, as in tcpdump.
    fn our_dhcp_frames(name: &str) -> Vec<(u32, Option<String>)> {
        frames(name)
            .iter()
            .filter_map(|(_, frame)| dhcp_payload(frame))
            .map(|payload| match parse(payload) {
                Ok(m) => (m.xid, m.message_type.map(tcpdump_name)),
                Err(Error::NoMagicCookie) => {
                    let xid = array::<4>(payload, 4).expect("header is there");
                    (u32::from_be_bytes(xid), None)
                }
                Err(e) => panic!("{name}: {e}"),
            })
            .collect()
    }

    #[test]
    fn every_dhcp_frame_of_every_fixture_decodes() {
        for (name, expected) in DHCP_FIXTURES {
            let mut decoded = 0;
            let mut typed = 0;
            for (_, frame) in frames(name) {
                let Some(payload) = dhcp_payload(&frame) else {
                    continue;
                };
                match parse(payload) {
                    Ok(m) => {
                        decoded += 1;
                        typed += usize::from(m.message_type.is_some());
                        assert!(!m.truncated, "{name}: {m:?}");
                    }
                    // dhcp-rfc4388.pcap has two BOOTP requests with a broken cookie.
                    Err(Error::NoMagicCookie) if name == "dhcp-rfc4388.pcap" => decoded += 1,
                    Err(e) => panic!("{name}: {e}"),
                }
            }
            assert_eq!(decoded, expected, "{name}");
            assert!(typed + 2 >= expected, "{name}: only {typed} typed");
        }
    }

    #[test]
    fn rfc3004_agrees_with_tcpdump_out_file() {
        let out =
            std::fs::read_to_string(tcpdump_fixture_dir().join("dhcp-rfc3004-v.out")).unwrap();
        let theirs = tcpdump_dhcp_frames(&out);
        assert_eq!(theirs.len(), 4);
        assert_eq!(our_dhcp_frames("dhcp-rfc3004.pcap"), theirs);
        let types: Vec<_> = theirs.iter().map(|(_, t)| t.as_deref().unwrap()).collect();
        assert_eq!(types, ["Discover", "Offer", "Request", "ACK"]);
    }

    #[test]
    fn rfc3004_details() {
        let messages: Vec<Message> = frames("dhcp-rfc3004.pcap")
            .iter()
            .filter_map(|(_, f)| parse(dhcp_payload(f)?).ok())
            .collect();
        let client = Some([0x00, 0x0c, 0x29, 0x1f, 0x74, 0x06]);
        let server = Some(Ipv4Addr::new(192, 168, 1, 1));
        let wanted = Some(Ipv4Addr::new(192, 168, 1, 4));
        assert!(
            messages
                .iter()
                .all(|m| m.client_mac == client && m.xid == 0x06e3_2864)
        );
        assert_eq!(messages[0].op, Op::Request);
        assert_eq!(messages[0].requested_ip, wanted);
        assert_eq!(messages[1].op, Op::Reply);
        assert_eq!(messages[1].yiaddr, Ipv4Addr::new(192, 168, 1, 4));
        assert_eq!(messages[1].server_id, server);
        assert_eq!(
            (messages[2].server_id, messages[2].requested_ip),
            (server, wanted)
        );
    }

    /// Needs Debian's `tcpdump` (`apt-get install -y tcpdump`); the suite installs it.
    #[test]
    fn all_dhcp_fixtures_agree_with_debian_tcpdump() {
        for (name, expected) in DHCP_FIXTURES {
            let path = tcpdump_fixture_dir().join(name);
            let theirs = tcpdump_dhcp_frames(&crate::testing::tcpdump(&["-nn", "-v"], &path));
            assert_eq!(theirs.len(), expected, "{name}");
            assert_eq!(our_dhcp_frames(name), theirs, "{name}");
        }
    }

    #[test]
    fn bootp_asan_reproducer_errors_without_panicking() {
        let frames = frames("bootp_asan.pcap");
        assert_eq!(frames.len(), 1);
        // UDP from port 16896 to 68 (not DHCP by our ports, BOOTP by tcpdump's), MF set.
        let (_, dst_port, payload) = udp_payload(&frames[0].1).expect("UDP, first fragment");
        assert_eq!(dst_port, CLIENT_PORT);
        assert_eq!(parse(payload), Err(Error::Truncated(payload.len())));
        // Every prefix and the frame itself as a UDP payload: no panic.
        for end in 0..=frames[0].1.len() {
            let _ = parse(&frames[0].1[..end]);
            let _ = parse_ethernet(&frames[0].1[..end]).map(|e| classify(&e));
        }
    }

    /// The fuzz seed corpus, `fuzz/seeds/dhcp/`: every DHCP frame of the fixtures, one file
    /// each, named after its fixture and frame index. Regenerated on purpose only:
    /// `VENUEMON_WRITE_SEEDS=1 cargo test --lib fuzz_seeds`; otherwise checked to be current.
    #[test]
    fn fuzz_seeds_match_the_fixtures() {
        let dir = crate::testing::project().join("fuzz/seeds/dhcp");
        let write = std::env::var_os("VENUEMON_WRITE_SEEDS").is_some();
        if write {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let mut seeds = 0;
        for name in DHCP_FIXTURES
            .map(|(name, _)| name)
            .iter()
            .chain(&["bootp_asan.pcap"])
        {
            let stem = name.split('.').next().unwrap_or(name);
            for (index, (_, frame)) in frames(name).iter().enumerate() {
                if dhcp_payload(frame).is_none() && *name != "bootp_asan.pcap" {
                    continue;
                }
                let path = dir.join(format!("{stem}-{index}"));
                seeds += 1;
                if write {
                    std::fs::write(&path, frame).unwrap();
                } else {
                    let on_disk = std::fs::read(&path).unwrap_or_default();
                    assert!(
                        on_disk == *frame,
                        "{} is missing or stale: VENUEMON_WRITE_SEEDS=1 cargo test --lib fuzz_seeds",
                        path.display()
                    );
                }
            }
        }
        assert_eq!(
            seeds,
            DHCP_FIXTURES.iter().map(|(_, n)| n).sum::<usize>() + 1
        );
    }

    /// A minimal DHCP message: BOOTP header, cookie, then `options` as given.
    fn message_bytes(op: u8, xid: u32, mac: [u8; 6], options: &[u8]) -> Vec<u8> {
        let mut m = vec![0; 236];
        m[0] = op;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&xid.to_be_bytes());
        m[28..34].copy_from_slice(&mac);
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(options);
        m
    }

    #[test]
    fn option_walk_edge_cases() {
        let mac = [2, 0, 0, 0, 0, 1];
        // Pads before the type, no end option: fine.
        let m = parse(&message_bytes(1, 7, mac, &[0, 0, 53, 1, 1])).unwrap();
        assert_eq!(m.message_type, Some(MessageType::Discover));
        assert!(!m.truncated);
        // A length running past the end: truncated, earlier options kept.
        let m = parse(&message_bytes(1, 7, mac, &[53, 1, 3, 54, 9, 1, 2])).unwrap();
        assert_eq!(
            (m.message_type, m.truncated),
            (Some(MessageType::Request), true)
        );
        // A code without its length byte.
        assert!(parse(&message_bytes(1, 7, mac, &[53])).unwrap().truncated);
        // Empty option 53, short server id: ignored.
        let m = parse(&message_bytes(1, 7, mac, &[53, 0, 54, 2, 1, 1, 255])).unwrap();
        assert_eq!((m.message_type, m.server_id), (None, None));
        // Options after the end are not read.
        let m = parse(&message_bytes(1, 7, mac, &[255, 53, 1, 5])).unwrap();
        assert_eq!(m.message_type, None);
        // Not Ethernet: no client MAC.
        let mut bytes = message_bytes(1, 7, mac, &[53, 1, 1]);
        bytes[1] = 6;
        assert_eq!(parse(&bytes).unwrap().client_mac, None);
        // Too short, wrong cookie.
        assert_eq!(parse(&bytes[..239]), Err(Error::Truncated(239)));
        bytes[236] = 0;
        assert_eq!(parse(&bytes), Err(Error::NoMagicCookie));
        // Leasequery types are Other.
        let m = parse(&message_bytes(1, 7, mac, &[53, 1, 13])).unwrap();
        assert_eq!(m.message_type, Some(MessageType::Other(13)));
    }

    #[test]
    fn message_type_codes_round_trip() {
        for code in 0..=u8::MAX {
            assert_eq!(MessageType::from_code(code).code(), code);
        }
        assert_eq!(MessageType::from_code(5), MessageType::Ack);
        assert_eq!(MessageType::from_code(11).name(), "other");
        assert!(is_dhcp_port(68, 67) && is_dhcp_port(67, 67) && !is_dhcp_port(16896, 68));
    }

    #[test]
    fn option_overload_reads_file_then_sname() {
        let mac = [2, 0, 0, 0, 0, 1];
        let mut bytes = message_bytes(2, 9, mac, &[52, 1, 3, 255]);
        bytes[FILE.start..FILE.start + 4].copy_from_slice(&[53, 1, 5, 255]);
        bytes[SNAME.start..SNAME.start + 7].copy_from_slice(&[54, 4, 10, 0, 0, 1, 255]);
        let m = parse(&bytes).unwrap();
        assert_eq!(m.message_type, Some(MessageType::Ack));
        assert_eq!(m.server_id, Some(Ipv4Addr::new(10, 0, 0, 1)));
        // An overloaded field that runs off its end, and overload inside it, are harmless.
        bytes[FILE.start + 3] = OPT_PAD;
        bytes[FILE.end - 2..FILE.end].copy_from_slice(&[52, 200]);
        assert!(parse(&bytes).unwrap().truncated);
    }

    #[test]
    fn debug_never_shows_the_mac() {
        let m = parse(&message_bytes(1, 7, [0xab; 6], &[53, 1, 1])).unwrap();
        let text = format!("{m:?}");
        assert!(!text.contains("171") && !text.contains("ab, "), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    fn message(kind: u8, xid: u32, mac: [u8; 6]) -> Message {
        let op = if matches!(kind, 2 | 5 | 6) { 2 } else { 1 };
        parse(&message_bytes(op, xid, mac, &[53, 1, kind, 255])).unwrap()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn tracker_times_discover_to_ack_and_counts_failures() {
        let (a, b, c) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 3]);
        let mut t = Transactions::default();
        // Client a: DISCOVER twice (the first counts), OFFER, REQUEST, ACK.
        t.observe(&message(1, 0x11, a), ms(0));
        t.observe(&message(1, 0x11, a), ms(50));
        t.observe(&message(2, 0x11, a), ms(100));
        t.observe(&message(3, 0x11, a), ms(200));
        t.observe(&message(5, 0x11, a), ms(350));
        // Client b: a DISCOVER nobody answers. Client c: REQUEST then NAK.
        t.observe(&message(1, 0x22, b), ms(400));
        t.observe(&message(3, 0x33, c), ms(500));
        t.observe(&message(6, 0x33, c), ms(510));
        assert_eq!(t.drain_completed().collect::<Vec<_>>(), [ms(350)]);
        assert_eq!(t.drain_completed().count(), 0);
        assert_eq!(t.pending(), 1);

        t.expire(ms(5_000));
        assert_eq!(t.stats().unanswered_discovers, 0, "not yet timed out");
        t.expire(ms(10_400));
        t.expire(ms(20_000));
        let stats = t.stats();
        assert_eq!(stats.unanswered_discovers, 1, "counted once");
        assert_eq!((stats.completed, stats.naks, stats.messages), (1, 1, 8));
        assert_eq!(t.message_count(MessageType::Discover), 3);
        assert_eq!(t.message_count(MessageType::Nak), 1);
        assert_eq!(t.pending(), 0);
    }

    #[test]
    fn tracker_counts_requests_without_ack_and_declines() {
        let mac = [2, 0, 0, 0, 0, 9];
        let mut t = Transactions::new(Duration::from_secs(10), 16);
        t.observe(&message(3, 1, mac), ms(0)); // renewal nobody ACKs
        t.observe(&message(3, 2, mac), ms(0)); // renewal ACKed: not a DISCOVER exchange
        t.observe(&message(5, 2, mac), ms(10));
        t.observe(&message(4, 3, mac), ms(20));
        t.observe(&message(1, 4, mac), ms(0)); // offered, never requested: dropped silently
        t.observe(&message(2, 4, mac), ms(30));
        t.expire(ms(60_000));
        let stats = t.stats();
        assert_eq!(stats.unanswered_requests, 1);
        assert_eq!(
            (stats.declines, stats.completed, stats.unanswered_discovers),
            (1, 0, 0)
        );
        assert_eq!(t.drain_completed().count(), 0);
    }

    #[test]
    fn tracker_replays_a_fixture_on_capture_time() {
        let mut t = Transactions::default();
        for (at, frame) in frames("dhcp-rfc3004.pcap") {
            if let Some(Ok(m)) = dhcp_payload(&frame).map(parse) {
                t.observe(&m, at);
            }
        }
        // 09:38:18.352570 DISCOVER → 09:38:18.464577 ACK.
        assert_eq!(
            t.drain_completed().collect::<Vec<_>>(),
            [Duration::from_micros(112_007)]
        );
    }

    #[test]
    fn a_discover_flood_stays_within_the_cap() {
        let mut t = Transactions::new(Duration::from_secs(10), 64);
        for i in 0..10_000u32 {
            let mac = [2, 0, 0, 0, 0, u8::try_from(i % 7).unwrap()];
            t.observe(&message(1, i, mac), ms(u64::from(i)));
            assert!(t.pending() <= 64);
            assert!(t.order.len() <= 2 * 64 + 1);
        }
        assert_eq!(t.stats().evicted, 10_000 - 64);
        // The newest survive: the last client's exchange still completes.
        t.observe(&message(5, 9_999, [2, 0, 0, 0, 0, 3]), ms(10_000)); // 9 999 % 7 = 3
        assert_eq!(t.stats().completed, 1);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn parse_never_panics_past_the_cookie(
            header in proptest::collection::vec(any::<u8>(), 236),
            options in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = header;
            bytes.extend_from_slice(&MAGIC_COOKIE);
            bytes.extend_from_slice(&options);
            let _ = parse(&bytes);
        }

        #[test]
        fn tracker_stays_bounded(
            events in proptest::collection::vec((1u8..=8, 0u32..4, 0u8..4, 0u64..5_000), 0..300),
        ) {
            let mut t = Transactions::new(Duration::from_secs(1), 8);
            let mut now = Duration::ZERO;
            for (kind, xid, mac, step) in events {
                now += ms(step);
                t.observe(&message(kind, xid, [2, 0, 0, 0, 0, mac]), now);
                prop_assert!(t.pending() <= 8);
                if step > 4_000 {
                    t.expire(now);
                }
            }
            t.expire(now + Duration::from_secs(2));
            prop_assert_eq!(t.pending(), 0);
            prop_assert!(t.drain_completed().all(|d| d <= now));
        }
    }
}
