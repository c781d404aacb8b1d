//! The host's network interfaces with their counters and state, read through one seam:
//! rtnetlink (one link dump per call, decoded here), or `/proc/net/dev` plus `/sys/class/net`
//! under configurable roots, for hosts without netlink and for fixture tests.

use std::path::{Path, PathBuf};
use std::sync::Once;

use super::netlink::{self, Table, attributes, u16_at, u32_at, u64_at};
use super::{ErrorKind, SourceError};
use crate::config::Config;
use crate::config::toml::Section;
use crate::files;
use crate::inventory::{Inventory, LinkKind};
use crate::model::interfaces::{Counters, Link};

/// How a source reads the kernel: `backend` of `[source.netdev]` and `[source.neighbours]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// rtnetlink, falling back to /proc and /sys when netlink is unavailable.
    Auto,
    /// rtnetlink only.
    Netlink,
    /// /proc and /sys files only (also what fixture tests use).
    Proc,
}

impl Backend {
    /// The name used in the config and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Netlink => "netlink",
            Backend::Proc => "proc",
        }
    }
}

/// How `venuemon check-config` says a netlink-or-proc source reads the kernel: `files` are
/// what the `proc` backend reads (and `auto` falls back on).
pub(crate) fn describe_backend(enabled: bool, backend: Backend, files: &str) -> String {
    if !enabled {
        return "off (enabled = false)".to_string();
    }
    match backend {
        Backend::Auto => format!("on, through netlink ({files} if it is unavailable)"),
        Backend::Netlink => "on, through netlink".to_string(),
        Backend::Proc => format!("on, from {files}"),
    }
}

/// The names of the interfaces present now, from `class/net` under `[source.netdev]
/// sys_root`: what `venuemon` checks the configuration's interface patterns against.
pub(crate) fn present_names(config: &Config) -> Vec<String> {
    std::fs::read_dir(config.sources.netdev.sys_root.join("class/net"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a section's `backend`.
pub(crate) fn read_backend(section: &Section<'_>) -> Option<Backend> {
    let all = [Backend::Auto, Backend::Netlink, Backend::Proc];
    section.choice("backend", &all.map(|b| (b.name(), b)))
}

/// Where links are read from.
pub(crate) enum LinkReader {
    /// rtnetlink, with `/sys` for speed and wireless detection.
    Netlink {
        /// Root of the sys file system.
        sys_root: PathBuf,
    },
    /// `/proc/net/dev` and `/sys/class/net`.
    Proc {
        /// Root of the proc file system.
        proc_root: PathBuf,
        /// Root of the sys file system.
        sys_root: PathBuf,
    },
}

impl LinkReader {
    /// Opens the backend the config asks for; `auto` falls back to /proc and /sys when a
    /// netlink socket cannot be opened.
    ///
    /// # Errors
    /// `netlink` was asked for and the socket cannot be opened.
    pub(crate) fn open(
        backend: Backend,
        proc_root: &Path,
        sys_root: &Path,
    ) -> Result<LinkReader, SourceError> {
        let proc = || LinkReader::Proc {
            proc_root: proc_root.to_path_buf(),
            sys_root: sys_root.to_path_buf(),
        };
        if backend == Backend::Proc {
            return Ok(proc());
        }
        match netlink::available() {
            Ok(()) => Ok(LinkReader::Netlink {
                sys_root: sys_root.to_path_buf(),
            }),
            Err(e) if backend == Backend::Auto => {
                // Every caller (netdev, neighbours, the start-up line) opens a reader; the
                // host is the same for all, so say it once per process.
                static FALLBACK_LOGGED: Once = Once::new();
                FALLBACK_LOGGED.call_once(|| {
                    tracing::warn!(error = %e, "netlink unavailable, reading /proc and /sys instead");
                });
                Ok(proc())
            }
            Err(e) => Err(SourceError::new(
                ErrorKind::Netlink,
                format!(
                    "cannot open a netlink socket ({e}); set backend = \"proc\" to read /proc instead"
                ),
            )),
        }
    }

    /// The backend in use, as an instance label.
    pub(crate) fn instance(&self) -> &'static str {
        match self {
            LinkReader::Netlink { .. } => "netlink",
            LinkReader::Proc { .. } => "proc",
        }
    }

    /// Every interface present now.
    ///
    /// # Errors
    /// The netlink dump failed, or /proc/net/dev is missing, unreadable or malformed.
    pub(crate) async fn links(&self) -> Result<Vec<Link>, SourceError> {
        match self {
            LinkReader::Netlink { sys_root } => {
                let sys_root = sys_root.clone();
                super::blocking(move || {
                    Ok(netlink::dump(Table::Links)?
                        .messages()
                        .filter_map(|m| link_from_netlink(m, &sys_root))
                        .collect())
                })
                .await
            }
            LinkReader::Proc {
                proc_root,
                sys_root,
            } => {
                let (proc_root, sys_root) = (proc_root.clone(), sys_root.clone());
                super::blocking(move || proc_links(&proc_root, &sys_root)).await
            }
        }
    }
}

/// Every interface in `/proc/net/dev`, with what `/sys/class/net` says of each.
fn proc_links(proc_root: &Path, sys_root: &Path) -> Result<Vec<Link>, SourceError> {
    let path = proc_root.join("net/dev");
    let text = files::read_regular_to_string(&path).map_err(|e| SourceError::io(&path, &e))?;
    let counters = parse_proc_net_dev(&text)
        .map_err(|e| SourceError::new(ErrorKind::Parse, format!("{}: {e}", path.display())))?;
    Ok(counters
        .into_iter()
        .map(|(name, counters)| link_from_sysfs(name, counters, sys_root))
        .collect())
}

/// A malformed `/proc/net/dev`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// No header, or not the header of /proc/net/dev.
    #[error("not a /proc/net/dev table (header missing)")]
    Header,
    /// A line that does not hold a name and 16 counters.
    #[error("line {line}: expected `name: 16 counters`")]
    Line {
        /// 1-based line number.
        line: usize,
    },
}

/// Parses `/proc/net/dev`: two header lines, then `name: rx×8 tx×8` per interface.
/// Names may hold colons (`ibr10:30`) or any UTF-8; there may be no space after the colon.
///
/// # Errors
/// A missing header, or any line without a name and 16 numeric counters.
pub(crate) fn parse_proc_net_dev(text: &str) -> Result<Vec<(String, Counters)>, ParseError> {
    let mut lines = text.lines();
    let header_ok = lines.next().is_some_and(|l| l.starts_with("Inter-|"))
        && lines.next().is_some_and(|l| l.contains("face |"));
    if !header_ok {
        return Err(ParseError::Header);
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let bad = ParseError::Line { line: i + 3 };
        let (name, values) = line.rsplit_once(':').ok_or(bad.clone())?;
        let name = name.trim();
        let mut numbers = [0u64; 16];
        let mut fields = values.split_ascii_whitespace();
        for n in &mut numbers {
            *n = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or(bad.clone())?;
        }
        if name.is_empty() || fields.next().is_some() {
            return Err(bad);
        }
        out.push((
            name.to_string(),
            Counters {
                rx_bytes: numbers[0],
                rx_packets: numbers[1],
                rx_errors: numbers[2],
                rx_drops: numbers[3],
                tx_bytes: numbers[8],
                tx_packets: numbers[9],
                tx_errors: numbers[10],
                tx_drops: numbers[11],
            },
        ));
    }
    Ok(out)
}

/// Reads one small sysfs attribute of an interface, trimmed.
fn sys_attr(sys_root: &Path, name: &str, attr: &str) -> Option<String> {
    let path = sys_root.join("class/net").join(name).join(attr);
    let text = files::read_regular_to_string(&path).ok()?;
    Some(text.trim().to_string())
}

fn sys_has(sys_root: &Path, name: &str, entry: &str) -> bool {
    sys_root.join("class/net").join(name).join(entry).exists()
}

/// Negotiated speed from sysfs (Mb/s there; absent or -1 when unknown).
fn sys_speed_bps(sys_root: &Path, name: &str) -> Option<u64> {
    let mbps: u64 = sys_attr(sys_root, name, "speed")?.parse().ok()?;
    Some(mbps * 1_000_000)
}

/// Up, by the rule both backends share: operstate `up`, or `unknown` with a carrier.
fn is_up(operstate: &str, carrier: Option<bool>) -> bool {
    operstate == "up" || (operstate == "unknown" && carrier == Some(true))
}

/// A link from `/proc/net/dev` counters and whatever `/sys/class/net/NAME` says.
fn link_from_sysfs(name: String, counters: Counters, sys_root: &Path) -> Link {
    let carrier = sys_attr(sys_root, &name, "carrier").map(|c| c == "1");
    let operstate = sys_attr(sys_root, &name, "operstate").unwrap_or_default();
    let uevent = sys_attr(sys_root, &name, "uevent").unwrap_or_default();
    let kind = if sys_attr(sys_root, &name, "type").as_deref() == Some("772") {
        LinkKind::Loopback
    } else if sys_has(sys_root, &name, "wireless") || sys_has(sys_root, &name, "phy80211") {
        LinkKind::Wireless
    } else if sys_has(sys_root, &name, "bridge") {
        LinkKind::Bridge
    } else if sys_has(sys_root, &name, "bonding") {
        LinkKind::Bond
    } else if uevent.lines().any(|l| l == "DEVTYPE=vlan") {
        LinkKind::Vlan
    } else if sys_has(sys_root, &name, "device") {
        LinkKind::Physical
    } else {
        LinkKind::Other
    };
    Link {
        index: sys_attr(sys_root, &name, "ifindex")
            .and_then(|i| i.parse().ok())
            .unwrap_or(0),
        kind,
        counters,
        up: is_up(&operstate, carrier),
        carrier,
        mtu: sys_attr(sys_root, &name, "mtu").and_then(|m| m.parse().ok()),
        speed_bps: sys_speed_bps(sys_root, &name),
        name,
    }
}

/// Attributes of an `RTM_NEWLINK` message (`include/uapi/linux/if_link.h`).
const IFLA_MTU: u16 = 4;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_STATS64: u16 = 23;
const IFLA_CARRIER: u16 = 33;
/// In `IFLA_LINKINFO`: the driver's kind ("bridge", "vlan", ...), NUL-terminated.
const IFLA_INFO_KIND: u16 = 1;

/// A link from the payload of one `RTM_NEWLINK` message (`struct ifinfomsg`, 16 bytes, then
/// attributes); `None` without a name or a header.
fn link_from_netlink(message: &[u8], sys_root: &Path) -> Option<Link> {
    let link_type = u16_at(message, 2)?;
    let index = u32_at(message, 4)?;
    let mut name = None;
    let mut counters = Counters::default();
    let mut operstate = None;
    let mut carrier = None;
    let mut mtu = None;
    let mut info_kind = None;
    for (kind, value) in attributes(message, 16) {
        match kind {
            // Linux allows any bytes but '/', ':' and white space in a name.
            IFLA_IFNAME => name = Some(String::from_utf8_lossy(value)),
            // `struct rtnl_link_stats64`: rx/tx packets, bytes, errors, drops, in that order.
            IFLA_STATS64 => {
                let stat = |i: usize| u64_at(value, 8 * i).unwrap_or(0);
                counters = Counters {
                    rx_packets: stat(0),
                    tx_packets: stat(1),
                    rx_bytes: stat(2),
                    tx_bytes: stat(3),
                    rx_errors: stat(4),
                    tx_errors: stat(5),
                    rx_drops: stat(6),
                    tx_drops: stat(7),
                }
            }
            IFLA_OPERSTATE => operstate = value.first().copied(),
            IFLA_CARRIER => carrier = value.first().map(|c| *c != 0),
            IFLA_MTU => mtu = u32_at(value, 0),
            IFLA_LINKINFO => {
                info_kind = attributes(value, 0)
                    .find(|(kind, _)| *kind == IFLA_INFO_KIND)
                    .map(|(_, kind)| kind.strip_suffix(b"\0").unwrap_or(kind));
            }
            _ => {}
        }
    }
    let name = name?.trim_end_matches('\0').to_string();
    let kind = match info_kind {
        Some(b"bridge") => LinkKind::Bridge,
        Some(b"bond") => LinkKind::Bond,
        Some(b"vlan") => LinkKind::Vlan,
        Some(b"veth") => LinkKind::Veth,
        Some(_) => LinkKind::Other,
        None if link_type == libc::ARPHRD_LOOPBACK => LinkKind::Loopback,
        None if sys_has(sys_root, &name, "wireless") || sys_has(sys_root, &name, "phy80211") => {
            LinkKind::Wireless
        }
        None => LinkKind::Physical,
    };
    // RFC 2863 operational states, as `IF_OPER_*`; a link without one is "unknown".
    let operstate = match operstate.map(libc::c_int::from) {
        Some(libc::IF_OPER_UP) => "up",
        None | Some(libc::IF_OPER_UNKNOWN) => "unknown",
        Some(_) => "down",
    };
    Some(Link {
        index,
        kind,
        counters,
        up: is_up(operstate, carrier),
        carrier,
        mtu,
        speed_bps: sys_speed_bps(sys_root, &name),
        name,
    })
}

/// How many interface names the start-up line gives before it only counts the rest.
const STARTUP_NAMES: usize = 20;

/// The interfaces `inventory` monitors now, by name, comma-separated, the first
/// [`STARTUP_NAMES`] of them and then how many more ("none" when there is none; "unknown"
/// when they cannot be listed within a second: the interface source says why at its first
/// sample). Read through `[source.netdev]`'s backend, for the start-up line.
pub(crate) async fn monitored_now(config: &Config, inventory: &Inventory) -> String {
    let n = &config.sources.netdev;
    let Ok(reader) = LinkReader::open(n.backend, &n.proc_root, &n.sys_root) else {
        return "unknown".to_string();
    };
    match tokio::time::timeout(std::time::Duration::from_secs(1), reader.links()).await {
        Ok(Ok(links)) => {
            let names: Vec<&str> = links
                .iter()
                .filter(|l| inventory.monitors(&l.name, l.kind))
                .map(|l| l.name.as_str())
                .collect();
            capped_names(&names)
        }
        Ok(Err(_)) | Err(_) => "unknown".to_string(),
    }
}

/// `names` comma-separated, the first [`STARTUP_NAMES`] of them then `... and N more`, so
/// that a host with thousands of links keeps a start-up line of a few hundred bytes;
/// "none" when there are none. The simulated venue's start-up line uses it too.
pub(crate) fn capped_names(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    let shown = names.len().min(STARTUP_NAMES);
    let list = names[..shown].join(",");
    match names.len() - shown {
        0 => list,
        more => format!("{list} ... and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use std::fs;

    fn fixture() -> String {
        testing::read_text(&testing::shared_fixture("node_exporter/proc-net-dev"))
    }

    /// Regression: the start-up line named every interface, 19 KB on a host with 3000 links.
    #[test]
    fn startup_interface_list_is_capped_at_twenty_names() {
        let names: Vec<String> = (0..3000).map(|i| format!("veth{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let first: Vec<&str> = names[..20].to_vec();
        assert_eq!(
            capped_names(&names),
            format!("{} ... and 2980 more", first.join(","))
        );
        assert_eq!(capped_names(&names[..20]), first.join(","));
        assert_eq!(
            capped_names(&names[..21]),
            format!("{} ... and 1 more", first.join(","))
        );
        assert_eq!(capped_names(&["wlan0", "eth0"]), "wlan0,eth0");
        assert_eq!(capped_names(&[]), "none");
    }

    #[test]
    fn parses_node_exporter_fixture_with_odd_names() {
        let links = parse_proc_net_dev(&fixture()).expect("fixture parses");
        let names: Vec<&str> = links.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "tun0",
                "veth4B09XN",
                "lo",
                "eth0",
                "lxcbr0",
                "wlan0",
                "docker0",
                "ibr10:30",
                "flannel.1",
                "💩0"
            ]
        );
        let eth0 = &links[3].1;
        assert_eq!(eth0.rx_bytes, 68_210_035_552, "no space after `eth0:`");
        assert_eq!(eth0.rx_packets, 520_993_275);
        assert_eq!(eth0.tx_bytes, 9_315_587_528);
        assert_eq!(eth0.tx_packets, 43_451_486);
        let flannel = &links[8].1;
        assert_eq!(flannel.tx_drops, 64);
        let emoji = &links[9].1;
        assert_eq!((emoji.rx_bytes, emoji.tx_bytes), (57_750_104, 404_570_255));
    }

    #[test]
    fn empty_garbage_and_half_written_input_are_errors() {
        assert_eq!(parse_proc_net_dev(""), Err(ParseError::Header));
        assert_eq!(
            parse_proc_net_dev("\u{0}\u{1}garbage\n"),
            Err(ParseError::Header)
        );
        let text = fixture();
        // Cut the file in the middle of every line: a clean prefix parses, a cut line errors.
        for cut in 0..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let prefix = &text[..cut];
            let result = parse_proc_net_dev(prefix);
            if prefix.ends_with('\n') && prefix.lines().count() >= 2 {
                assert!(result.is_ok(), "clean prefix of {cut} bytes");
            }
        }
        let half = "Inter-|\n face |\n  eth0: 1 2 3\n";
        assert_eq!(parse_proc_net_dev(half), Err(ParseError::Line { line: 3 }));
        let extra = "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n";
        assert_eq!(parse_proc_net_dev(extra), Err(ParseError::Line { line: 3 }));
        let negative = "Inter-|\n face |\n  eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
        assert_eq!(
            parse_proc_net_dev(negative),
            Err(ParseError::Line { line: 3 })
        );
    }

    /// A link as the kernel writes it in a dump (encoded by netlink-packet-route, the
    /// decoder's cross-check): a bridge, up, with counters 1 to 8 in `rtnl_link_stats64`'s
    /// order.
    fn bridge_message() -> Vec<u8> {
        use netlink_packet_route::RouteNetlinkMessage;
        use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, State};
        let mut message = LinkMessage::default();
        message.header.index = 7;
        let stats = netlink_packet_route::link::Stats64::parse(
            &(1u64..=8)
                .map(u64::to_ne_bytes)
                .collect::<Vec<_>>()
                .concat(),
        );
        message.attributes = vec![
            LinkAttribute::IfName("br-hall".into()),
            LinkAttribute::Mtu(1500),
            LinkAttribute::OperState(State::Up),
            LinkAttribute::Carrier(1),
            LinkAttribute::Stats64(stats.expect("8 counters")),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]),
        ];
        crate::sources::netlink::tests::payload(RouteNetlinkMessage::NewLink(message))
    }

    #[test]
    fn a_dumped_link_decodes_to_its_name_kind_state_and_counters() {
        let dir = tempfile::tempdir().expect("temp dir");
        let message = bridge_message();
        let link = link_from_netlink(&message, dir.path()).expect("a link");
        assert_eq!(
            (
                link.index,
                link.name.as_str(),
                link.kind,
                link.up,
                link.carrier,
                link.mtu
            ),
            (7, "br-hall", LinkKind::Bridge, true, Some(true), Some(1500))
        );
        let c = link.counters;
        assert_eq!(
            [c.rx_packets, c.tx_packets, c.rx_bytes, c.tx_bytes],
            [1, 2, 3, 4]
        );
        assert_eq!(
            [c.rx_errors, c.tx_errors, c.rx_drops, c.tx_drops],
            [5, 6, 7, 8]
        );
        // Cut anywhere, a link decodes to what is whole or to nothing: it never panics.
        for cut in 0..message.len() {
            let _ = link_from_netlink(&message[..cut], dir.path());
        }
        assert!(
            link_from_netlink(&message[..16], dir.path()).is_none(),
            "no name"
        );
    }

    /// A name that is not UTF-8 (Linux allows it) costs the link nothing but its spelling.
    #[test]
    fn a_link_whose_name_is_not_utf8_is_still_a_link() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut message = bridge_message();
        let at = message
            .windows(7)
            .position(|w| w == b"br-hall")
            .expect("the name");
        message[at + 2] = 0xff;
        let link = link_from_netlink(&message, dir.path()).expect("a link");
        assert_eq!(
            (link.name.as_str(), link.counters.rx_bytes),
            ("br\u{fffd}hall", 3)
        );
    }

    #[test]
    fn sysfs_fills_state_kind_and_speed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let net = dir.path().join("class/net/eth0");
        fs::create_dir_all(net.join("device")).expect("mkdir");
        for (attr, value) in [
            ("operstate", "up\n"),
            ("carrier", "1\n"),
            ("mtu", "1500\n"),
            ("speed", "1000\n"),
            ("type", "1\n"),
        ] {
            fs::write(net.join(attr), value).expect("write");
        }
        let link = link_from_sysfs("eth0".into(), Counters::default(), dir.path());
        assert_eq!(link.kind, LinkKind::Physical);
        assert!(link.up);
        assert_eq!(link.mtu, Some(1500));
        assert_eq!(link.speed_bps, Some(1_000_000_000));
        let gone = link_from_sysfs("nope0".into(), Counters::default(), dir.path());
        assert_eq!(
            (gone.kind, gone.up, gone.mtu, gone.speed_bps),
            (LinkKind::Other, false, None, None)
        );
    }

    #[tokio::test]
    async fn a_fifo_at_proc_net_dev_or_in_sysfs_never_blocks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (proc_root, sys_root) = (dir.path().join("proc"), dir.path().join("sys"));
        let eth0 = sys_root.join("class/net/eth0");
        fs::create_dir_all(proc_root.join("net")).expect("mkdir");
        fs::create_dir_all(&eth0).expect("mkdir");
        files::mkfifo(&proc_root.join("net/dev"));
        files::mkfifo(&eth0.join("operstate"));
        let reader = LinkReader::open(Backend::Proc, &proc_root, &sys_root).expect("proc");
        let refused = reader
            .links()
            .await
            .expect_err("a FIFO is not /proc/net/dev");
        assert_eq!(refused.kind, ErrorKind::NotRegular);
        assert!(refused.message.contains("net/dev is a FIFO"), "{refused}");
        // An attribute that is a FIFO reads as absent.
        fs::remove_file(proc_root.join("net/dev")).expect("rm");
        fs::write(
            proc_root.join("net/dev"),
            "Inter-|\n face |\n  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
        )
        .expect("write");
        let links = reader.links().await.expect("regular again");
        assert_eq!((links.len(), links[0].up), (1, false));
    }
}
