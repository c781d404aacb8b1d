//! Pure parsers for hostapd's control-interface replies (`STATUS`, `STA-FIRST`/`STA-NEXT`)
//! and its unsolicited event messages. They never panic: replies may be empty, `FAIL`,
//! `UNKNOWN COMMAND`, cut off mid-line, or garbage.

use std::time::Duration;

use crate::privacy::parse_mac;

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    /// The reply was empty (for `STA-NEXT`: the end of the station list).
    #[error("empty reply")]
    Empty,
    /// hostapd answered `FAIL`.
    #[error("hostapd answered FAIL")]
    Fail,
    /// hostapd does not know the command (an old or stripped-down build).
    #[error("hostapd does not know this command")]
    UnknownCommand,
    /// The reply is not what the command returns.
    #[error("unexpected reply: {0}")]
    Unexpected(&'static str),
}

/// What `STATUS` says about the radio and its BSSs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Status {
    /// Interface state (`ENABLED`, `DISABLED`, `COUNTRY_UPDATE`, ...).
    pub state: Option<String>,
    /// Operating frequency in MHz (the wired driver reports 0).
    pub freq_mhz: Option<u32>,
    /// Channel number (the wired driver reports 0).
    pub channel: Option<u32>,
    /// Average channel utilization, 0..=255, when hostapd measures it.
    pub chan_util_avg: Option<u8>,
    /// The BSSs of this radio, in hostapd's order.
    pub bss: Vec<Bss>,
}

/// One BSS line group of `STATUS` (`bss[i]`, `num_sta[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bss {
    /// The BSS interface name.
    pub ifname: String,
    /// Stations hostapd holds for this BSS (associated or not), when given.
    pub num_sta: Option<u64>,
}

/// The state flags of a station that decide whether it counts, from `flags=[ASSOC][AUTHORIZED]...`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StaFlags {
    /// Associated.
    pub assoc: bool,
    /// Port authorized (keys in place, or 802.1X success on wired).
    pub authorized: bool,
}

/// One station from `STA-FIRST`/`STA-NEXT`. Its `Debug` hides the MAC address.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Station {
    /// The MAC address, for the caller to hash at once.
    pub mac: [u8; 6],
    /// State flags.
    pub flags: StaFlags,
    /// Signal in dBm (absent with the wired driver).
    pub signal_dbm: Option<i32>,
    /// Time since the station was last heard.
    pub inactive: Option<Duration>,
    /// Bytes received from the station.
    pub rx_bytes: Option<u64>,
    /// Bytes sent to the station.
    pub tx_bytes: Option<u64>,
}

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Station")
            .field("mac", &"..")
            .field("flags", &self.flags)
            .field("signal_dbm", &self.signal_dbm)
            .field("inactive", &self.inactive)
            .field("rx_bytes", &self.rx_bytes)
            .field("tx_bytes", &self.tx_bytes)
            .finish_non_exhaustive()
    }
}

impl Station {
    /// Whether the station counts as associated now: `[ASSOC]`, or `[AUTHORIZED]` (the wired
    /// driver has no association). Entries hostapd keeps after a logoff or before
    /// association do not count.
    pub(crate) fn is_associated(&self) -> bool {
        self.flags.assoc || self.flags.authorized
    }
}

/// An unsolicited hostapd event the source uses: three it counts, one that ends the stream. Station addresses are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// `AP-STA-CONNECTED`: a station is associated and authorized.
    Connected,
    /// `AP-STA-DISCONNECTED`.
    Disconnected,
    /// `CTRL-EVENT-EAP-FAILURE`, `AP-STA-POSSIBLE-PSK-MISMATCH` and similar.
    AuthFailure,
    /// `CTRL-EVENT-TERMINATING`: hostapd is exiting.
    Terminating,
}

/// Checks the common failure replies; returns the reply otherwise.
fn check_reply(reply: &str) -> Result<&str, ParseError> {
    let trimmed = reply.trim();
    if trimmed.is_empty() {
        Err(ParseError::Empty)
    } else if trimmed == "FAIL" || trimmed.starts_with("FAIL-") {
        Err(ParseError::Fail)
    } else if trimmed == "UNKNOWN COMMAND" {
        Err(ParseError::UnknownCommand)
    } else {
        Ok(reply)
    }
}

/// The complete lines of a reply: a last line without its newline may be cut off and is
/// dropped (hostapd ends every line with one).
fn complete_lines(reply: &str) -> impl Iterator<Item = &str> {
    let complete = match reply.rfind('\n') {
        Some(end) => &reply[..end],
        None => "",
    };
    complete.split('\n').map(|l| l.trim_end_matches('\r'))
}

/// The number at the start of a value (`-45`, `65 mcs 7 shortGI`).
fn leading_number<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.split_ascii_whitespace().next()?.parse().ok()
}

/// `name[i]` → `(name, i)`.
fn indexed(key: &str) -> Option<(&str, usize)> {
    let (name, rest) = key.split_once('[')?;
    let index = rest.strip_suffix(']')?.parse().ok()?;
    Some((name, index))
}

/// The most BSSs one radio can have in `STATUS` (hostapd allows far fewer).
const MAX_BSS: usize = 64;

/// Parses a `STATUS` reply.
///
/// # Errors
/// The reply is empty, `FAIL`, `UNKNOWN COMMAND`, or has no `state=` line.
pub(crate) fn parse_status(reply: &str) -> Result<Status, ParseError> {
    let reply = check_reply(reply)?;
    let mut status = Status::default();
    for line in complete_lines(reply) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "state" => status.state = Some(value.to_string()),
            "freq" => status.freq_mhz = leading_number(value),
            "channel" => status.channel = leading_number(value),
            "chan_util_avg" => status.chan_util_avg = leading_number(value),
            _ => {
                let Some((name, i)) = indexed(key) else {
                    continue;
                };
                if !matches!(name, "bss" | "num_sta") || i >= MAX_BSS {
                    continue;
                }
                if status.bss.len() <= i {
                    status.bss.resize_with(i + 1, Bss::default);
                }
                let Some(bss) = status.bss.get_mut(i) else {
                    continue;
                };
                match name {
                    "bss" => bss.ifname = value.to_string(),
                    _ => bss.num_sta = leading_number(value),
                }
            }
        }
    }
    status.bss.retain(|b| !b.ifname.is_empty());
    if status.state.is_none() {
        return Err(ParseError::Unexpected("no state= line in STATUS"));
    }
    Ok(status)
}

/// Parses one station (`STA-FIRST`, `STA-NEXT <mac>` or `STA <mac>` reply).
///
/// Values hostapd copies from the station (its 802.1X identity, printed raw, any bytes) are
/// never read: a non-UTF-8 byte (the caller decodes lossily) costs nothing, and lines a
/// newline in the identity forges are outweighed by hostapd's own: its `flags=` line comes
/// before the identity and the first one counts; its counters come after and the last count.
///
/// # Errors
/// The reply is empty (no more stations), `FAIL`, `UNKNOWN COMMAND`, or does not start with
/// a MAC address.
pub(crate) fn parse_sta(reply: &str) -> Result<Station, ParseError> {
    let reply = check_reply(reply)?;
    let first = reply.split('\n').next().unwrap_or_default().trim();
    let mac = parse_mac(first).ok_or(ParseError::Unexpected("no MAC address on the first line"))?;
    let mut sta = Station {
        mac,
        ..Station::default()
    };
    let millis = |v: &str| leading_number::<u64>(v).map(Duration::from_millis);
    let mut flags_read = false;
    for line in complete_lines(reply).skip(1) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "flags" if !flags_read => {
                flags_read = true;
                sta.flags = StaFlags {
                    assoc: value.contains("[ASSOC]"),
                    authorized: value.contains("[AUTHORIZED]"),
                }
            }
            "signal" => sta.signal_dbm = leading_number(value),
            "inactive_msec" => sta.inactive = millis(value),
            "rx_bytes" => sta.rx_bytes = leading_number(value),
            "tx_bytes" => sta.tx_bytes = leading_number(value),
            _ => {}
        }
    }
    Ok(sta)
}

/// Whether a datagram is an unsolicited event (`<N>...`) rather than a command reply.
pub(crate) fn is_event(datagram: &str) -> bool {
    let Some(rest) = datagram.strip_prefix('<') else {
        return false;
    };
    rest.split_once('>')
        .is_some_and(|(level, _)| !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses an unsolicited event message, with or without its `<N>` priority prefix.
/// Events the source does not use (`AP-ENABLED`, `CTRL-EVENT-EAP-SUCCESS`, …) give `None`.
pub(crate) fn parse_event(message: &str) -> Option<Event> {
    let body = if is_event(message) {
        message.split_once('>').map_or(message, |(_, rest)| rest)
    } else {
        message
    };
    let name = body.split_ascii_whitespace().next()?;
    Some(match name {
        "AP-STA-CONNECTED" => Event::Connected,
        "AP-STA-DISCONNECTED" => Event::Disconnected,
        "CTRL-EVENT-EAP-FAILURE"
        | "CTRL-EVENT-EAP-FAILURE2"
        | "AP-STA-POSSIBLE-PSK-MISMATCH"
        | "CTRL-EVENT-SAE-UNKNOWN-PASSWORD-IDENTIFIER" => Event::AuthFailure,
        "CTRL-EVENT-TERMINATING" => Event::Terminating,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        crate::testing::read_text(&crate::testing::project_fixture(&format!("hostapd/{name}")))
    }

    /// A Wi-Fi station as hostapd 2.10's nl80211 driver prints it (`STA` output format).
    const WIFI_STA: &str = "02:00:00:00:02:01\n\
        flags=[AUTH][ASSOC][AUTHORIZED][WMM][HT]\n\
        aid=1\ncapability=0x431\nlisten_interval=10\nsupported_rates=82 84 8b 96 0c 12 18 24\n\
        timeout_next=NULLFUNC POLL\n\
        rx_packets=1520\ntx_packets=980\nrx_bytes=183492\ntx_bytes=402211\n\
        inactive_msec=1200\nsignal=-57\nrx_rate_info=650 mcs 7 shortGI\n\
        tx_rate_info=722 mcs 7 shortGI\nconnected_time=312\n";

    #[test]
    fn parses_real_wired_status() {
        let status = parse_status(&fixture("status-wired.txt")).expect("parses");
        assert_eq!(status.state.as_deref(), Some("ENABLED"));
        assert_eq!((status.freq_mhz, status.channel), (Some(0), Some(0)));
        assert_eq!(status.chan_util_avg, None);
        assert_eq!(
            status.bss,
            [Bss {
                ifname: "ap1".into(),
                num_sta: Some(1)
            }]
        );
        let other = parse_status(&fixture("status-wired-ap2.txt")).expect("parses");
        assert_eq!(other.bss[0].ifname, "ap2");
    }

    #[test]
    fn parses_wifi_status_with_several_bss_and_utilization() {
        let text = "state=ENABLED\nphy=phy0\nfreq=5180\nchannel=36\nchan_util_avg=51\n\
                    bss[0]=wlan0\nbssid[0]=02:00:00:00:00:10\nssid[0]=Salle A\nnum_sta[0]=12\n\
                    bss[1]=wlan0-1\nssid[1]=Invités\nnum_sta[1]=3\n";
        let status = parse_status(text).expect("parses");
        assert_eq!(status.freq_mhz, Some(5180));
        assert_eq!(status.channel, Some(36));
        assert_eq!(status.chan_util_avg, Some(51));
        assert_eq!(status.bss.len(), 2);
        assert_eq!(status.bss[1].ifname, "wlan0-1");
        assert_eq!(status.bss[1].num_sta, Some(3));
    }

    #[test]
    fn parses_real_wired_stations() {
        let sta = parse_sta(&fixture("sta-first-wired.txt")).expect("parses");
        assert_eq!(sta.mac, [0x02, 0, 0, 0, 0x01, 0x01]);
        assert_eq!(
            sta.flags,
            StaFlags {
                assoc: false,
                authorized: true
            }
        );
        assert!(sta.is_associated());
        assert_eq!(
            (sta.signal_dbm, sta.rx_bytes, sta.inactive),
            (None, None, None)
        );

        let off = parse_sta(&fixture("sta-logged-off-wired.txt")).expect("parses");
        assert_eq!(off.flags, StaFlags::default());
        assert!(
            !off.is_associated(),
            "a logged-off wired station is not counted"
        );
    }

    #[test]
    fn parses_wifi_station_counters() {
        let sta = parse_sta(WIFI_STA).expect("parses");
        assert!(sta.flags.assoc && sta.flags.authorized);
        assert_eq!(sta.signal_dbm, Some(-57));
        assert_eq!(sta.inactive, Some(Duration::from_millis(1200)));
        assert_eq!((sta.rx_bytes, sta.tx_bytes), (Some(183_492), Some(402_211)));
        assert!(!format!("{sta:?}").contains("02:00"), "Debug hides the MAC");
    }

    #[test]
    fn failure_replies_are_errors() {
        for (reply, error) in [
            ("", ParseError::Empty),
            ("\n", ParseError::Empty),
            ("FAIL\n", ParseError::Fail),
            ("UNKNOWN COMMAND\n", ParseError::UnknownCommand),
        ] {
            assert_eq!(parse_status(reply), Err(error.clone()), "{reply:?}");
            assert_eq!(parse_sta(reply), Err(error), "{reply:?}");
        }
        assert!(parse_status("garbage\n\u{0}=\n").is_err());
        assert!(parse_sta("02:00:00:00\nflags=[AUTH]\n").is_err());
        assert!(parse_sta("PONG\n").is_err());
    }

    /// The reply as [`super::super::ctrl::Ctrl::request`] decodes a datagram: lossily.
    fn decoded(datagram: &[u8]) -> String {
        String::from_utf8_lossy(datagram).into_owned()
    }

    /// A recorded station reply with its 802.1X identity (`dot1xAuthSessionUserName`, printed
    /// raw by hostapd) replaced by `identity`.
    fn with_identity(name: &str, identity: &[u8]) -> Vec<u8> {
        let text = fixture(name);
        let (before, after) = text
            .split_once("dot1xAuthSessionUserName=")
            .expect("identity line");
        let rest = after.split_once('\n').map_or("", |(_, rest)| rest);
        let mut reply = format!("{before}dot1xAuthSessionUserName=").into_bytes();
        reply.extend_from_slice(identity);
        reply.push(b'\n');
        reply.extend_from_slice(rest.as_bytes());
        reply
    }

    #[test]
    fn regression_non_utf8_identity_keeps_the_station() {
        for identity in [
            &b"caf\xe9"[..],
            b"\xff\xfe\x80=[ASSOC]",
            b"\xc3",
            b"a\rb\x7f",
        ] {
            let reply = decoded(&with_identity("sta-first-wired.txt", identity));
            let sta = parse_sta(&reply).expect("the station");
            assert_eq!(sta.mac, [0x02, 0, 0, 0, 0x01, 0x01]);
            assert!(sta.is_associated(), "{identity:?}");
        }
    }

    #[test]
    fn regression_identity_with_newlines_cannot_forge_the_flags() {
        let forged = b"x\nflags=[AUTH][ASSOC][AUTHORIZED]\n02:00:00:00:09:09";
        let off = parse_sta(&decoded(&with_identity("sta-logged-off-wired.txt", forged)))
            .expect("the station");
        assert!(!off.is_associated(), "still logged off");
        assert_eq!(off.mac, [0x02, 0, 0, 0, 0x01, 0x01]);
        // hostapd's order: flags, the 802.1X lines with the identity, then the counters.
        let wifi = "02:00:00:00:02:01\nflags=[AUTH][ASSOC][AUTHORIZED]\n\
                    dot1xAuthSessionUserName=x\nflags=\nsignal=-20\n\
                    rx_bytes=1\nsignal=-57\n";
        let sta = parse_sta(wifi).expect("the station");
        assert!(sta.is_associated());
        assert_eq!(
            sta.signal_dbm,
            Some(-57),
            "hostapd's own counters come last"
        );
    }

    #[test]
    fn regression_odd_bytes_in_ssid_keep_the_bss() {
        let mut reply = b"state=ENABLED\nfreq=2412\nchannel=1\nbss[0]=wlan0\nssid[0]=Salle \xc9t\xe9\nnum_sta[0]=4\n".to_vec();
        reply.extend_from_slice(b"bss[1]=wlan0-1\nssid[1]=caf\\xe9 \\\\ \\\"\nnum_sta[1]=2\n");
        let status = parse_status(&decoded(&reply)).expect("the status");
        let stations: Vec<(&str, Option<u64>)> = status
            .bss
            .iter()
            .map(|b| (b.ifname.as_str(), b.num_sta))
            .collect();
        assert_eq!(stations, [("wlan0", Some(4)), ("wlan0-1", Some(2))]);
    }

    #[test]
    fn cut_off_lines_are_dropped_not_misread() {
        let sta = parse_sta("02:00:00:00:02:01\nrx_bytes=1834\nsignal=-5").expect("parses");
        assert_eq!(sta.rx_bytes, Some(1834));
        assert_eq!(sta.signal_dbm, None, "the cut-off -5x is not read as -5");
        let status = parse_status("state=ENABLED\nfreq=518").expect("parses");
        assert_eq!(status.freq_mhz, None);
        // A MAC alone without a newline is complete enough to identify the station.
        assert!(parse_sta("02:00:00:00:02:01").is_ok());
    }

    #[test]
    fn hostile_status_lines_are_skipped() {
        let text = "state=ENABLED\nfreq=-1\nchannel=abc\nchan_util_avg=999\nbss[99999999999999999999]=x\n\
                    bss[100000]=x\nnum_sta[0]=7\nbss[=y\nssid[]=z\nbss[2]=wlan2\n";
        let status = parse_status(text).expect("parses");
        assert_eq!(
            (status.freq_mhz, status.channel, status.chan_util_avg),
            (None, None, None)
        );
        assert_eq!(
            status.bss.len(),
            1,
            "only the named BSS stays: {:?}",
            status.bss
        );
        assert_eq!(status.bss[0].ifname, "wlan2");
    }

    #[test]
    fn recognizes_real_and_other_events() {
        let events: Vec<Option<Event>> = fixture("events-wired.txt")
            .lines()
            .map(parse_event)
            .collect();
        assert_eq!(
            events,
            [
                None,
                None,
                None,
                None,
                Some(Event::Connected),
                Some(Event::Disconnected)
            ]
        );
        assert_eq!(
            parse_event("AP-STA-POSSIBLE-PSK-MISMATCH 02:00:00:00:02:01"),
            Some(Event::AuthFailure)
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-EAP-FAILURE 02:00:00:00:02:01"),
            Some(Event::AuthFailure)
        );
        assert_eq!(parse_event("<3>AP-ENABLED "), None);
        assert_eq!(
            parse_event("<3>CTRL-EVENT-EAP-SUCCESS 02:00:00:00:02:01"),
            None
        );
        assert_eq!(
            parse_event("<2>CTRL-EVENT-TERMINATING "),
            Some(Event::Terminating)
        );
        for junk in [
            "",
            "<",
            "<>",
            "<3>",
            "OK\n",
            "PONG\n",
            "<3",
            "AP-STA-CONNECTEDX",
        ] {
            assert_eq!(parse_event(junk), None, "{junk:?}");
        }
        assert!(is_event("<3>AP-STA-CONNECTED 02:00:00:00:02:01"));
        assert!(!is_event("PONG\n") && !is_event("<x>AP") && !is_event("<>AP"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_replies_never_panic(text in "\\PC*") {
            let _ = parse_status(&text);
            let _ = parse_sta(&text);
            let _ = parse_event(&text);
        }

        #[test]
        fn plausible_replies_never_panic(
            lines in proptest::collection::vec(
                "(state|freq|channel|chan_util_avg|bss\\[[0-9]{1,3}\\]|num_sta\\[[0-9]\\]|signal|flags|rx_bytes|02:00:00:00:0[0-9]:0[0-9])=?[-0-9A-Z\\[\\] ]{0,12}",
                0..20,
            )
        ) {
            let text = lines.join("\n");
            let _ = parse_status(&text);
            let _ = parse_sta(&text);
            let _ = parse_event(&text);
        }
    }
}
