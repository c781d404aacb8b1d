//! Reading and validating the TOML file.
//!
//! The document is parsed with `toml_edit` (which keeps every value's position) and then
//! walked by hand, so that one pass reports every mistake of the file, each with its line,
//! column, context, key and expected form.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

use super::{
    AddressRange, Agent, Backend, CaptureConfig, Config, Credentials, DhcpConfig, DhcpKind,
    HostapdConfig, Http, InterfaceFilter, Language, NeighboursConfig, NetdevConfig, Pattern,
    ScheduleConfig, Sources, Thresholds, TlsFiles, Venue, Zone,
};
use crate::terminal::disruptive;
use crate::web::tls::{self, TlsFile};

/// Every dotted key path the file may set; `zone.*` keys belong to each `[[zone]]`.
pub const KNOWN_KEYS: &[&str] = &[
    "venue.name",
    "venue.event",
    "venue.timezone",
    "venue.language",
    "http.listen",
    "http.request_timeout",
    "http.header_timeout",
    "http.keep_alive_timeout",
    "http.send_timeout",
    "http.max_connections",
    "http.max_event_streams",
    "http.auth_failures_per_second",
    "http.tls_cert",
    "http.tls_key",
    "http.auth.username",
    "http.auth.password",
    "http.auth.password_file",
    "http.auth.token",
    "http.auth.token_file",
    "http.metrics_auth.username",
    "http.metrics_auth.password",
    "http.metrics_auth.password_file",
    "http.metrics_auth.token",
    "http.metrics_auth.token_file",
    "agent.tick",
    "agent.active_window",
    "agent.state_dir",
    "agent.max_clients",
    "interfaces.include",
    "interfaces.exclude",
    "interfaces.zone",
    "zone.id",
    "zone.name",
    "zone.seats",
    "zone.interfaces",
    "zone.subnets",
    "source.netdev.enabled",
    "source.netdev.interval",
    "source.netdev.backend",
    "source.netdev.proc_root",
    "source.netdev.sys_root",
    "source.neighbours.enabled",
    "source.neighbours.interval",
    "source.neighbours.backend",
    "source.neighbours.proc_root",
    "source.dhcp.kind",
    "source.dhcp.name",
    "source.dhcp.leases",
    "source.dhcp.pool",
    "source.dhcp.zone",
    "source.dhcp.control_socket",
    "source.dhcp.interval",
    "source.hostapd.ctrl_dir",
    "source.hostapd.sockets",
    "source.hostapd.zone",
    "source.hostapd.interval",
    "source.capture.interface",
    "source.capture.promiscuous",
    "source.capture.zone",
    "source.capture.bssids",
    "source.capture.interval",
    "thresholds.dhcp_pool_warn",
    "thresholds.dhcp_pool_critical",
    "thresholds.uplink_warn",
    "thresholds.uplink_critical",
    "thresholds.occupancy_warn",
    "thresholds.occupancy_critical",
    "thresholds.time_to_lease_warn",
    "thresholds.time_to_lease_critical",
    "zone.thresholds.dhcp_pool_warn",
    "zone.thresholds.dhcp_pool_critical",
    "zone.thresholds.uplink_warn",
    "zone.thresholds.uplink_critical",
    "zone.thresholds.occupancy_warn",
    "zone.thresholds.occupancy_critical",
    "zone.thresholds.time_to_lease_warn",
    "zone.thresholds.time_to_lease_critical",
    "schedule.file",
    "schedule.interval",
];

/// The tables this version knows, quoted in "unknown table" errors.
const KNOWN_TABLES: &str = "[venue], [http], [http.auth], [http.metrics_auth], [agent], \
                            [interfaces], [[zone]], [zone.thresholds], [source.netdev], \
                            [source.neighbours], [[source.dhcp]], [[source.hostapd]], \
                            [[source.capture]], [thresholds], [schedule]";

/// Longest excerpt of a bad value echoed back in a message, in characters.
const MAX_ECHO: usize = 40;

/// `[agent] max_clients` by default: a large event's clients, a registry of 33 MiB (47 MiB
/// at its peak; docs/RELIABILITY.md, "Memory under floods").
const DEFAULT_MAX_CLIENTS: usize = 250_000;

/// Highest `[agent] max_clients` accepted.
const MAX_CLIENTS_LIMIT: i64 = 10_000_000;

/// The form of a duration, quoted in errors.
const DURATION_FORM: &str = "a duration like \"5s\" (an integer and a unit: ms, s, m, h or d)";

/// One mistake in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line of the offending text; 0 when the error is about the whole file.
    pub line: usize,
    /// 1-based column (in characters) of the offending text; 0 with `line`.
    pub column: usize,
    /// What is wrong and what was expected, starting with the context (e.g. `[venue]`).
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every mistake found in one configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Something in the file that is valid but probably not what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What looks wrong, with its location, and what to do about it.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Config {
    /// The configuration used when there is no file at all: every default, and one zone
    /// named after the host, which also takes every interface no zone claims.
    pub fn zero_config(host: &str) -> Config {
        let zone = host_zone(host);
        Config {
            venue: Venue {
                name: zone.name.clone(),
                event: super::DEFAULT_EVENT.to_string(),
                timezone: "UTC".to_string(),
                language: Language::En,
            },
            http: Http {
                listen: SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 9842)),
                request_timeout: Duration::from_secs(10),
                header_timeout: Duration::from_secs(10),
                keep_alive_timeout: Duration::from_secs(20),
                send_timeout: Duration::from_secs(30),
                max_connections: 512,
                max_event_streams: 128,
                auth_failures_per_second: 5,
                auth: None,
                metrics_auth: None,
                tls: None,
            },
            agent: Agent {
                tick: Duration::from_secs(5),
                active_window: Duration::from_secs(5 * 60),
                state_dir: default_state_dir(),
                max_clients: DEFAULT_MAX_CLIENTS,
            },
            interfaces: InterfaceFilter {
                include: Vec::new(),
                exclude: Vec::new(),
                zone: Some(zone.id.clone()),
            },
            zones: vec![zone],
            sources: Sources {
                netdev: NetdevConfig {
                    enabled: true,
                    interval: None,
                    backend: Backend::Auto,
                    proc_root: PathBuf::from("/proc"),
                    sys_root: PathBuf::from("/sys"),
                },
                neighbours: NeighboursConfig {
                    enabled: true,
                    interval: None,
                    backend: Backend::Auto,
                    proc_root: PathBuf::from("/proc"),
                },
                dhcp: Vec::new(),
                hostapd: Vec::new(),
                capture: Vec::new(),
            },
            thresholds: Thresholds::default(),
            schedule: None,
        }
    }
}

/// Reads and validates the configuration file at `path`; `host` is the machine's host name,
/// used for the defaults.
///
/// # Errors
///
/// One error naming the path when the file cannot be read; otherwise every mistake of the
/// file, as [`parse`] reports them.
pub fn load_file(path: &Path, host: &str) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let file = path.display().to_string();
    let fail = |message: String| {
        Err(ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message,
        }]))
    };
    let bytes = match crate::files::read_regular(path) {
        Ok(bytes) => bytes,
        Err(e) => return fail(read_error_message(&e)),
    };
    match String::from_utf8(bytes) {
        Ok(text) => parse(&file, &text, host),
        Err(_) => fail("not a text file (not valid UTF-8): pass the path of a TOML file".into()),
    }
}

/// Says why a file could not be read, and what to do.
fn read_error_message(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    if let Some(crate::files::NotRegular(what)) = crate::files::not_regular(e) {
        return format!("is {what}, not a regular file: pass the path of the TOML file");
    }
    let os = e
        .raw_os_error()
        .map(|code| format!(" (os error {code})"))
        .unwrap_or_default();
    match e.kind() {
        // The path came from --config, VENUEMON_CONFIG or check-config: it is the path that
        // is wrong, or the file that is still to be written.
        ErrorKind::NotFound => {
            "no such file: check the path, or write the file (deploy/venuemon.example.toml is \
             a commented example)"
                .to_string()
        }
        ErrorKind::PermissionDenied => {
            format!("permission denied{os}: make it readable by the user venuemon runs as")
        }
        _ => format!("cannot read the file: {e}"),
    }
}

/// Parses and validates a whole configuration file; `file_name` names it in errors, `host`
/// is the machine's host name, used for the defaults.
///
/// # Errors
///
/// Every mistake of the file, in file order; a TOML syntax error is reported alone.
pub fn parse(
    file_name: &str,
    text: &str,
    host: &str,
) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let doc = match ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let (line, column) = line_column(text, e.span().map_or(0, |span| span.start));
            return Err(ConfigErrors(vec![ConfigError {
                file: file_name.to_string(),
                line,
                column,
                message: format!("invalid TOML: {}", syntax_message(e.message())),
            }]));
        }
    };
    let mut checker = Checker {
        file: file_name,
        text,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let config = checker.config(doc.as_table(), host);
    if checker.errors.is_empty() {
        Ok((config, checker.warnings))
    } else {
        let mut errors = checker.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }
}

/// Makes `toml_edit`'s (possibly multi-line) message fit on one line.
fn syntax_message(message: &str) -> String {
    let parts: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if parts.is_empty() {
        "syntax error".to_string()
    } else {
        parts.join("; ")
    }
}

/// Parses a duration: an integer followed by a unit, `ms`, `s`, `m`, `h` or `d`
/// (e.g. `"500ms"`, `"5s"`, `"90d"`).
///
/// # Errors
///
/// A message naming the expected form when the text is not such a duration or overflows.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let form = "expected an integer and a unit: ms, s, m, h or d (e.g. \"500ms\", \"5s\", \"90d\")";
    if digits.is_empty() {
        return Err(format!("no number before the unit; {form}"));
    }
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("no unit; {form}")),
        _ => return Err(format!("unknown unit; {form}")),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(millis_per_unit))
        .map(Duration::from_millis)
        .ok_or_else(|| format!("number too large; {form}"))
}

/// Formats a duration in the largest unit that divides it, as the file would write it.
fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms != 0 && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// The zone added when the file defines none: named after the host.
fn host_zone(host: &str) -> Zone {
    let host = host.trim();
    let name = if host.is_empty() { "host" } else { host };
    let mapped: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // A zone id starts with a letter or digit.
    let id: String = mapped
        .trim_start_matches(['-', '_'])
        .chars()
        .take(64)
        .collect();
    Zone {
        id: if id.is_empty() {
            "host".to_string()
        } else {
            id
        },
        name: name.to_string(),
        seats: None,
        interfaces: Vec::new(),
        subnets: Vec::new(),
        thresholds: Thresholds::default(),
    }
}

/// Where the event secret and history live when the file does not say.
fn default_state_dir() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    state_dir_from(
        env("STATE_DIRECTORY"),
        running_as_root(),
        env("XDG_STATE_HOME"),
        env("HOME"),
    )
}

/// Whether the process runs as root: `/proc/self` belongs to the effective user.
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The default state folder: systemd's `StateDirectory=` first, then the system path for
/// root, then the XDG state home, then `~/.local/state`.
fn state_dir_from(
    state_directory: Option<OsString>,
    root: bool,
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    // systemd passes a colon-separated list when a unit names several folders.
    if let Some(first) = state_directory.and_then(|v| std::env::split_paths(&v).next())
        && !first.as_os_str().is_empty()
    {
        return first;
    }
    if root {
        return PathBuf::from("/var/lib/venuemon");
    }
    if let Some(xdg) = xdg_state_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return xdg.join("venuemon");
    }
    match home {
        Some(home) => PathBuf::from(home).join(".local/state/venuemon"),
        None => std::env::temp_dir().join("venuemon"),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Levenshtein distance between two short strings, on characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let insert = current[j] + 1;
            let delete = previous[j + 1] + 1;
            current.push(substitute.min(insert).min(delete));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The known name closest to `name`, if within two edits.
fn suggestion<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The names allowed directly under the table at `path` ("" for the top level).
fn known_children(path: &str) -> Vec<&'static str> {
    let mut names = Vec::new();
    for key in KNOWN_KEYS {
        let rest = if path.is_empty() {
            Some(*key)
        } else {
            key.strip_prefix(path).and_then(|r| r.strip_prefix('.'))
        };
        if let Some(rest) = rest {
            let name = rest.split('.').next().unwrap_or(rest);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// A table of the file being read, with what is needed to report on it.
struct Section<'a> {
    /// How messages name it: `[venue]`, `zone "hall-a"`.
    label: String,
    /// The table, when the file has it.
    table: Option<&'a dyn TableLike>,
    /// Where its header is, for missing keys.
    span: Option<Range<usize>>,
}

impl<'a> Section<'a> {
    /// The entry `key` of the table, with its key.
    fn get(&self, key: &str) -> Option<(&'a Key, &'a Item)> {
        self.table?.get_key_value(key)
    }
}

/// A value read from the file, with where it was.
struct Spanned<T> {
    value: T,
    span: Option<Range<usize>>,
}

/// A warn/critical pair of `[thresholds]`, named by the keys' common prefix.
#[derive(Debug, Clone, Copy)]
enum Limit {
    DhcpPool,
    Uplink,
    Occupancy,
    TimeToLease,
}

impl Limit {
    const ALL: [Limit; 4] = [
        Limit::DhcpPool,
        Limit::Uplink,
        Limit::Occupancy,
        Limit::TimeToLease,
    ];

    /// The warn key and the critical key.
    fn keys(self) -> [String; 2] {
        let prefix = match self {
            Limit::DhcpPool => "dhcp_pool",
            Limit::Uplink => "uplink",
            Limit::Occupancy => "occupancy",
            Limit::TimeToLease => "time_to_lease",
        };
        [format!("{prefix}_warn"), format!("{prefix}_critical")]
    }

    /// For a percentage in the file (a ratio in the config): the largest value and the
    /// expected form; `None` for a duration (seconds in the config).
    fn percent_range(self) -> Option<(f64, &'static str)> {
        match self {
            Limit::DhcpPool | Limit::Uplink => Some((100.0, "a percentage from 1 to 100")),
            Limit::Occupancy => Some((
                1000.0,
                "a percentage of seats from 1 to 1000 (150 means 1.5 clients per seat)",
            )),
            Limit::TimeToLease => None,
        }
    }

    /// The warn and critical values of `thresholds`.
    fn pair(self, t: &mut Thresholds) -> (&mut f64, &mut f64) {
        match self {
            Limit::DhcpPool => (&mut t.dhcp_pool_warn, &mut t.dhcp_pool_critical),
            Limit::Uplink => (&mut t.uplink_warn, &mut t.uplink_critical),
            Limit::Occupancy => (&mut t.occupancy_warn, &mut t.occupancy_critical),
            Limit::TimeToLease => (&mut t.time_to_lease_warn, &mut t.time_to_lease_critical),
        }
    }

    /// A value as the file writes it: `80` (percent) or `"2s"`.
    fn show(self, value: f64) -> String {
        match self.percent_range() {
            Some(_) => format!("{}", (value * 1000.0).round() / 10.0),
            None => format!("\"{}\"", format_duration(Duration::from_secs_f64(value))),
        }
    }
}

/// Walks the document and collects every error and warning.
struct Checker<'t> {
    file: &'t str,
    text: &'t str,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
}

impl Checker<'_> {
    /// Reports every key and string value of `table` (and below) that holds a control
    /// character: names are printed on terminals, pages and logs, where one could carry an
    /// escape sequence, and no setting needs one.
    fn reject_control_characters(&mut self, path: &str, table: &dyn TableLike) {
        for (name, item) in table.iter() {
            let here = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            let key_span = table.key(name).and_then(Key::span);
            if let Some(c) = name.chars().find(|c| disruptive(*c)) {
                self.control_character(key_span.clone(), "a key", c);
            }
            match item {
                Item::Value(value) => self.reject_in_value(&here, value, key_span),
                Item::Table(table) => self.reject_control_characters(&here, table),
                Item::ArrayOfTables(tables) => {
                    for table in tables {
                        self.reject_control_characters(&here, table);
                    }
                }
                Item::None => {}
            }
        }
    }

    fn reject_in_value(&mut self, path: &str, value: &Value, key_span: Option<Range<usize>>) {
        match value {
            Value::String(s) => {
                if let Some(c) = s.value().chars().find(|c| disruptive(*c)) {
                    self.control_character(s.span().or(key_span), &format!("`{path}`"), c);
                }
            }
            Value::Array(values) => {
                for value in values {
                    self.reject_in_value(path, value, key_span.clone());
                }
            }
            Value::InlineTable(table) => self.reject_control_characters(path, table),
            _ => {}
        }
    }

    fn control_character(&mut self, span: Option<Range<usize>>, what: &str, c: char) {
        self.error(
            span,
            format!(
                "{what} holds U+{:04X}, a control or bidirectional-formatting character: \
                 these (U+0000–U+001F, U+007F–U+009F, U+061C, U+200E, U+200F, U+202A–U+202E, \
                 U+2066–U+2069, U+2028, U+2029) are not allowed in names or settings; remove it",
                u32::from(c)
            ),
        );
    }

    fn error(&mut self, span: Option<Range<usize>>, message: String) {
        let (line, column) = match span {
            Some(span) => line_column(self.text, span.start),
            None => (0, 0),
        };
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            column,
            message,
        });
    }

    fn warn(&mut self, span: Option<Range<usize>>, message: String) {
        let location = match span {
            Some(span) => {
                let (line, column) = line_column(self.text, span.start);
                format!("{}:{line}:{column}", self.file)
            }
            None => self.file.to_string(),
        };
        self.warnings.push(Warning {
            message: format!("{location}: {message}"),
        });
    }

    /// The value as written in the file, cut short, for "got ..." in messages.
    fn got(&self, item: &Item) -> String {
        match item {
            Item::Table(_) => "a table".to_string(),
            Item::ArrayOfTables(_) => "an array of tables".to_string(),
            Item::None => "nothing".to_string(),
            Item::Value(value) => self.got_value(value),
        }
    }

    fn got_value(&self, value: &Value) -> String {
        let written = value
            .span()
            .and_then(|span| self.text.get(span))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "));
        match written {
            Some(s) if s.chars().count() > MAX_ECHO => {
                let head: String = s.chars().take(MAX_ECHO).collect();
                format!("{head}…")
            }
            Some(s) => s,
            None => format!("a {}", value.type_name()),
        }
    }

    /// Reports every entry of `table` that this version does not know.
    fn check_entries(&mut self, path: &str, label: &str, table: &dyn TableLike) {
        let known = known_children(path);
        for (name, item) in table.iter() {
            if known.contains(&name) {
                continue;
            }
            let key_span = table.key(name).and_then(Key::span);
            let hint = suggestion(name, &known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            let is_table = item.is_table_like() || item.is_array_of_tables();
            if is_table {
                let full = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                self.error(
                    item.span().or(key_span),
                    format!(
                        "unknown table `{full}`{hint}: this version of venuemon knows {KNOWN_TABLES}"
                    ),
                );
            } else if path.is_empty() {
                self.error(
                    key_span,
                    format!("unknown key `{name}` at the top of the file{hint}: keys go in a table, one of {KNOWN_TABLES}"),
                );
            } else {
                self.error(key_span, format!("{label}: unknown key `{name}`{hint}"));
            }
        }
    }

    /// The table `key` of `parent`, checked for unknown entries.
    fn section<'a>(
        &mut self,
        parent: &'a dyn TableLike,
        key: &str,
        path: &'static str,
    ) -> Section<'a> {
        self.labelled_section(parent, key, path, format!("[{path}]"))
    }

    /// The table `key` of `parent`, checked for unknown entries; `label` names it in messages
    /// (for a table inside an entry of an array of tables).
    fn labelled_section<'a>(
        &mut self,
        parent: &'a dyn TableLike,
        key: &str,
        path: &'static str,
        label: String,
    ) -> Section<'a> {
        let mut section = Section {
            label,
            table: None,
            span: None,
        };
        if let Some((k, item)) = parent.get_key_value(key) {
            match item.as_table_like() {
                Some(table) => {
                    section.span = item.span().or_else(|| k.span());
                    self.check_entries(path, &section.label, table);
                    section.table = Some(table);
                }
                None => {
                    let got = self.got(item);
                    self.error(
                        item.span().or_else(|| k.span()),
                        format!("`{path}` must be a table, written [{path}], got {got}"),
                    );
                }
            }
        }
        section
    }

    /// Reads `key` of `section` with `check`, whose error is the expected form. `None` when
    /// the key is absent or wrong (then an error is recorded).
    fn field<'a, T>(
        &mut self,
        section: &Section<'a>,
        key: &str,
        check: impl FnOnce(&'a Item) -> Result<T, String>,
    ) -> Option<Spanned<T>> {
        let (k, item) = section.get(key)?;
        let span = item.span().or_else(|| k.span());
        match check(item) {
            Ok(value) => Some(Spanned { value, span }),
            Err(expected) => {
                let got = self.got(item);
                self.error(
                    span,
                    format!("{}: {key} must be {expected}, got {got}", section.label),
                );
                None
            }
        }
    }

    fn string<'a>(
        &mut self,
        section: &Section<'a>,
        key: &str,
        expected: &str,
        valid: impl FnOnce(&str) -> bool,
    ) -> Option<String> {
        self.field(section, key, |item| match item.as_str() {
            Some(s) if valid(s) => Ok(s.to_string()),
            _ => Err(expected.to_string()),
        })
        .map(|s| s.value)
    }

    /// Records an error when `section` lacks `key`; `what` says what the key is for.
    fn require(&mut self, section: &Section<'_>, key: &str, what: &str) {
        if section.get(key).is_none() {
            self.error(
                section.span.clone(),
                format!("{}: missing required key `{key}` ({what})", section.label),
            );
        }
    }

    fn path(&mut self, section: &Section<'_>, key: &str, example: &str) -> Option<PathBuf> {
        let expected = format!("a non-empty path like \"{example}\"");
        self.string(section, key, &expected, |s| !s.trim().is_empty())
            .map(PathBuf::from)
    }

    fn bool(&mut self, section: &Section<'_>, key: &str) -> Option<bool> {
        self.field(section, key, |item| {
            item.as_bool().ok_or_else(|| "true or false".to_string())
        })
        .map(|b| b.value)
    }

    fn duration(
        &mut self,
        section: &Section<'_>,
        key: &str,
        min: Duration,
        max: Duration,
    ) -> Option<Spanned<Duration>> {
        self.field(section, key, |item| {
            let d = item
                .as_str()
                .and_then(|s| parse_duration(s).ok())
                .ok_or_else(|| DURATION_FORM.to_string())?;
            if d < min || d > max {
                return Err(format!(
                    "a duration from {} to {}",
                    format_duration(min),
                    format_duration(max)
                ));
            }
            Ok(d)
        })
    }

    fn backend(&mut self, section: &Section<'_>) -> Option<Backend> {
        self.field(section, "backend", |item| match item.as_str() {
            Some("auto") => Ok(Backend::Auto),
            Some("netlink") => Ok(Backend::Netlink),
            Some("proc") => Ok(Backend::Proc),
            _ => Err("\"auto\", \"netlink\" or \"proc\"".to_string()),
        })
        .map(|b| b.value)
    }

    /// A list of strings, each turned into a `T` by `convert` (whose error is the whole
    /// message after the context); bad elements are reported one by one.
    fn list<T>(
        &mut self,
        section: &Section<'_>,
        key: &str,
        expected: &str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<Spanned<T>>> {
        let array = self
            .field(section, key, |item| {
                item.as_array().ok_or_else(|| expected.to_string())
            })?
            .value;
        let mut out = Vec::new();
        for element in array.iter() {
            let span = element.span();
            let converted = match element.as_str() {
                Some(s) => convert(s),
                None => Err(format!(
                    "{key} must be {expected}, got the element {}",
                    self.got_value(element)
                )),
            };
            match converted {
                Ok(value) => out.push(Spanned { value, span }),
                Err(message) => self.error(span, format!("{}: {message}", section.label)),
            }
        }
        Some(out)
    }

    fn patterns(&mut self, section: &Section<'_>, key: &str) -> Option<Vec<Spanned<Pattern>>> {
        self.list(
            section,
            key,
            "a list of interface names or globs like [\"wlan0\", \"wlan*\"]",
            |s| Pattern::new(s).map_err(|e| format!("{key}: {e}")),
        )
    }

    /// Reads the whole document.
    fn config(&mut self, root: &toml_edit::Table, host: &str) -> Config {
        let mut config = Config::zero_config(host);
        self.check_entries("", "", root);
        self.reject_control_characters("", root);

        let venue = self.section(root, "venue", "venue");
        self.venue(&venue, &mut config.venue);

        let http = self.section(root, "http", "http");
        self.http(&http, &mut config.http);

        let agent = self.section(root, "agent", "agent");
        self.agent(&agent, &mut config.agent);

        let interfaces = self.section(root, "interfaces", "interfaces");
        let wanted_zone = self.interfaces(&interfaces, &mut config.interfaces);

        // Zones resolve their thresholds over these, wherever the table is in the file.
        let thresholds = self.section(root, "thresholds", "thresholds");
        config.thresholds = self.thresholds(&thresholds, &config.thresholds, "the default");

        let (zones, every_id_valid) = self.zones(root, &config.thresholds);
        if zones.is_empty() {
            // The host zone has no table of its own: it takes [thresholds] as they are.
            for zone in &mut config.zones {
                zone.thresholds = config.thresholds.clone();
            }
        } else {
            config.zones = zones;
            config.interfaces.zone = None;
        }
        if let Some(wanted) = wanted_zone {
            if config.zones.iter().any(|z| z.id == wanted.value) {
                config.interfaces.zone = Some(wanted.value);
            } else if every_id_valid {
                // (When a zone's id is wrong, the zone named may be that one: already reported.)
                let ids: Vec<&str> = config.zones.iter().map(|z| z.id.as_str()).collect();
                self.error(
                    wanted.span,
                    format!(
                        "[interfaces]: zone \"{}\" does not exist; zones are: {}",
                        wanted.value,
                        ids.join(", ")
                    ),
                );
            }
        }

        let source = self.section(root, "source", "source");
        // Zone names used by sources, checked once every zone is known.
        let mut zone_refs: Vec<(String, Spanned<String>)> = Vec::new();
        if let Some(table) = source.table {
            let netdev = self.section(table, "netdev", "source.netdev");
            self.netdev(&netdev, &mut config.sources.netdev);
            let neighbours = self.section(table, "neighbours", "source.neighbours");
            self.neighbours(&neighbours, &mut config.sources.neighbours);
            let dhcp = self.array_of_tables(table, "dhcp", "source.dhcp");
            for (n, (t, span)) in dhcp.into_iter().enumerate() {
                let label = format!("[[source.dhcp]] #{}", n + 1);
                let section = self.entry_section("source.dhcp", label, t, span);
                if let Some((dhcp, zone)) = self.dhcp(&section) {
                    zone_refs.extend(zone.map(|z| (section.label.clone(), z)));
                    config.sources.dhcp.push(dhcp);
                }
            }
            let hostapd = self.array_of_tables(table, "hostapd", "source.hostapd");
            for (n, (t, span)) in hostapd.into_iter().enumerate() {
                let label = format!("[[source.hostapd]] #{}", n + 1);
                let section = self.entry_section("source.hostapd", label, t, span);
                let (hostapd, zone) = self.hostapd(&section);
                zone_refs.extend(zone.map(|z| (section.label.clone(), z)));
                config.sources.hostapd.push(hostapd);
            }
            let capture = self.array_of_tables(table, "capture", "source.capture");
            for (n, (t, span)) in capture.into_iter().enumerate() {
                let label = format!("[[source.capture]] #{}", n + 1);
                let section = self.entry_section("source.capture", label, t, span);
                if let Some((capture, zone)) = self.capture(&section) {
                    zone_refs.extend(zone.map(|z| (section.label.clone(), z)));
                    config.sources.capture.push(capture);
                }
            }
        }
        if every_id_valid {
            for (label, zone) in zone_refs {
                if !config.zones.iter().any(|z| z.id == zone.value) {
                    let ids: Vec<&str> = config.zones.iter().map(|z| z.id.as_str()).collect();
                    self.error(
                        zone.span,
                        format!(
                            "{label}: zone \"{}\" does not exist; zones are: {}",
                            zone.value,
                            ids.join(", ")
                        ),
                    );
                }
            }
        }
        self.default_pool_names(&mut config.sources.dhcp);

        let schedule = self.section(root, "schedule", "schedule");
        config.schedule = self.schedule(&schedule);

        self.general_warnings(&config);
        config
    }

    fn venue(&mut self, section: &Section<'_>, venue: &mut Venue) {
        if let Some(name) = self.string(section, "name", "a non-empty string", |s| {
            !s.trim().is_empty()
        }) {
            venue.name = name;
        }
        let event_form = "1 to 64 letters, digits, `-` or `_`, like \"sdn-2026\"";
        if let Some(event) = self.string(section, "event", event_form, |s| {
            (1..=64).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            venue.event = event;
        }
        let tz_form = "a time zone name without spaces, like \"America/Toronto\" or \"UTC\"";
        if let Some(tz) = self.string(section, "timezone", tz_form, |s| {
            !s.is_empty() && !s.chars().any(char::is_whitespace)
        }) {
            if jiff::tz::TimeZone::get(&tz).is_err() {
                let span = section
                    .get("timezone")
                    .and_then(|(k, item)| item.span().or_else(|| k.span()));
                self.warn(
                    span,
                    format!(
                        "[venue]: timezone \"{tz}\" is not in this system's time zone database: \
                         local times will be UTC; use an IANA name such as \"Europe/Paris\" and \
                         install tzdata"
                    ),
                );
            }
            venue.timezone = tz;
        }
        if let Some(language) = self.field(section, "language", |item| match item.as_str() {
            Some("fr") => Ok(Language::Fr),
            Some("en") => Ok(Language::En),
            _ => Err("\"fr\" or \"en\"".to_string()),
        }) {
            venue.language = language.value;
        }
    }

    fn http(&mut self, section: &Section<'_>, http: &mut Http) {
        if let Some(listen) = self.field(section, "listen", |item| {
            item.as_str().and_then(parse_listen).ok_or_else(|| {
                "an address and port like \"0.0.0.0:9842\", \"[::]:9842\" or \":9842\"".to_string()
            })
        }) {
            http.listen = listen.value;
        }
        if let Some(timeout) = self.duration(
            section,
            "request_timeout",
            Duration::from_millis(1),
            Duration::from_secs(3600),
        ) {
            http.request_timeout = timeout.value;
        }
        for (key, value) in [
            ("header_timeout", &mut http.header_timeout),
            ("keep_alive_timeout", &mut http.keep_alive_timeout),
            ("send_timeout", &mut http.send_timeout),
        ] {
            if let Some(timeout) = self.duration(
                section,
                key,
                Duration::from_millis(100),
                Duration::from_secs(3600),
            ) {
                *value = timeout.value;
            }
        }
        let count = |max: i64| {
            move |item: &Item| {
                item.as_integer()
                    .filter(|n| (1..=max).contains(n))
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| format!("an integer from 1 to {max}"))
            }
        };
        if let Some(n) = self.field(section, "max_connections", count(1_000_000)) {
            http.max_connections = n.value;
        }
        if let Some(n) = self.field(section, "max_event_streams", count(1_000_000)) {
            http.max_event_streams = n.value;
        }
        if let Some(n) = self.field(section, "auth_failures_per_second", count(1000)) {
            http.auth_failures_per_second = u32::try_from(n.value).unwrap_or(1000);
        }
        if http.max_event_streams > http.max_connections {
            let span = section
                .get("max_event_streams")
                .or_else(|| section.get("max_connections"))
                .and_then(|(k, item)| item.span().or_else(|| k.span()));
            self.error(
                span,
                format!(
                    "[http]: max_event_streams ({}) must not exceed max_connections ({}): each \
                     stream holds a connection",
                    http.max_event_streams, http.max_connections
                ),
            );
        }
        if let Some(table) = section.table {
            let auth = self.section(table, "auth", "http.auth");
            http.auth = self.credentials(&auth);
            let metrics_auth = self.section(table, "metrics_auth", "http.metrics_auth");
            http.metrics_auth = self.credentials(&metrics_auth);
        }
        http.tls = self.tls(section);
    }

    /// Reads `[http.auth]` or `[http.metrics_auth]`; `None` when the table is absent (its
    /// routes are open) or wrong.
    fn credentials(&mut self, section: &Section<'_>) -> Option<Credentials> {
        section.table?;
        let username = self.string(
            section,
            "username",
            "a user name without `:` or control characters, like \"crew\"",
            |s| !s.is_empty() && !s.contains(':') && !s.chars().any(disruptive),
        );
        let password = self.secret(section, "password", "password_file");
        let token = self.secret(section, "token", "token_file");
        let key_span = |key: &str| section.get(key).and_then(|(k, _)| k.span());
        let mut basic = None;
        match (username, password) {
            (Some(username), Some(password)) => basic = Some((username, password.value)),
            (Some(_), None) if !self.set(section, &["password", "password_file"]) => self.error(
                key_span("username"),
                format!(
                    "{}: username needs a password (or password_file)",
                    section.label
                ),
            ),
            (None, Some(password)) if !self.set(section, &["username"]) => self.error(
                password.span,
                format!("{}: a password needs a username", section.label),
            ),
            _ => {}
        }
        let mut bearer = None;
        if let Some(token) = token {
            // What a client can send after `Bearer `.
            if token.value.chars().all(|c| c.is_ascii_graphic()) {
                bearer = Some(token.value);
            } else {
                self.error(
                    token.span,
                    format!(
                        "{}: the token must be printable ASCII without spaces (it is not shown)",
                        section.label
                    ),
                );
            }
        }
        // (A table holding only unknown keys has its errors already.)
        if section.table.is_some_and(|t| t.is_empty()) {
            self.error(
                section.span.clone(),
                format!(
                    "{}: set username and password (or password_file), or token (or \
                     token_file); remove the table to leave its routes open",
                    section.label
                ),
            );
        }
        (basic.is_some() || bearer.is_some()).then_some(Credentials { basic, bearer })
    }

    /// Whether any of `keys` is in `section`.
    fn set(&self, section: &Section<'_>, keys: &[&str]) -> bool {
        keys.iter().any(|key| section.get(key).is_some())
    }

    /// A secret given as `key` or as the first line of the file `file_key` names; never
    /// echoed in messages.
    fn secret(
        &mut self,
        section: &Section<'_>,
        key: &str,
        file_key: &str,
    ) -> Option<Spanned<String>> {
        let span = |key: &str| {
            section
                .get(key)
                .and_then(|(k, item)| item.span().or_else(|| k.span()))
        };
        let inline = section.get(key).and_then(|(_, item)| match item.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                let message = format!(
                    "{}: {key} must be a non-empty string (the value is not shown)",
                    section.label
                );
                self.error(span(key), message);
                None
            }
        });
        if section.get(key).is_some() && section.get(file_key).is_some() {
            self.error(
                span(file_key),
                format!("{}: set {key} or {file_key}, not both", section.label),
            );
            return None;
        }
        let example = format!("/etc/venuemon/{key}");
        let from_file =
            self.path(section, file_key, &example)
                .and_then(|path| match read_secret(&path) {
                    Ok(secret) => Some(secret),
                    Err(problem) => {
                        let message = format!("{}: {file_key} {problem}", section.label);
                        self.error(span(file_key), message);
                        None
                    }
                });
        match (inline, from_file) {
            (Some(value), _) => Some(Spanned {
                value,
                span: span(key),
            }),
            (None, Some(value)) => Some(Spanned {
                value,
                span: span(file_key),
            }),
            (None, None) => None,
        }
    }

    /// Reads `tls_cert` and `tls_key` of `[http]`: both or neither, and files that serve.
    fn tls(&mut self, section: &Section<'_>) -> Option<TlsFiles> {
        let cert = self.path(section, "tls_cert", "/etc/venuemon/cert.pem");
        let key = self.path(section, "tls_key", "/etc/venuemon/key.pem");
        let span = |key: &str| {
            section
                .get(key)
                .and_then(|(k, item)| item.span().or_else(|| k.span()))
        };
        let needs = "set both (a PEM certificate chain and its private key) or neither";
        match (cert, key) {
            (Some(cert), Some(key)) => {
                let files = TlsFiles { cert, key };
                match tls::server_config(&files) {
                    Ok(_) => Some(files),
                    Err(e) => {
                        let key = match e.file {
                            TlsFile::Cert => "tls_cert",
                            TlsFile::Key => "tls_key",
                        };
                        self.error(span(key), format!("[http]: {key} {e}"));
                        None
                    }
                }
            }
            (Some(_), None) if section.get("tls_key").is_none() => {
                self.error(
                    span("tls_cert"),
                    format!("[http]: tls_cert needs tls_key; {needs}"),
                );
                None
            }
            (None, Some(_)) if section.get("tls_cert").is_none() => {
                self.error(
                    span("tls_key"),
                    format!("[http]: tls_key needs tls_cert; {needs}"),
                );
                None
            }
            _ => None,
        }
    }

    fn agent(&mut self, section: &Section<'_>, agent: &mut Agent) {
        let tick = self.duration(
            section,
            "tick",
            Duration::from_secs(1),
            Duration::from_secs(300),
        );
        if let Some(tick) = &tick {
            agent.tick = tick.value;
        }
        let window = self.duration(
            section,
            "active_window",
            agent.tick,
            Duration::from_secs(86_400),
        );
        if let Some(window) = &window {
            agent.active_window = window.value;
            if window.value < agent.tick * 3 {
                self.warn(
                    window.span.clone(),
                    format!(
                        "[agent]: active_window ({}) is shorter than 3 ticks ({}): clients may \
                         flicker between active and gone; 10 ticks or more is usual",
                        format_duration(window.value),
                        format_duration(agent.tick * 3)
                    ),
                );
            }
        }
        if let Some(dir) = self.path(section, "state_dir", "/var/lib/venuemon") {
            agent.state_dir = dir;
        }
        let max_clients = self.field(section, "max_clients", |item| {
            item.as_integer()
                .filter(|n| (1..=MAX_CLIENTS_LIMIT).contains(n))
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| format!("a positive integer up to {MAX_CLIENTS_LIMIT}"))
        });
        if let Some(max_clients) = max_clients {
            agent.max_clients = max_clients.value;
        }
    }

    /// Reads `[interfaces]`; returns the zone it names, checked once zones are known.
    fn interfaces(
        &mut self,
        section: &Section<'_>,
        filter: &mut InterfaceFilter,
    ) -> Option<Spanned<String>> {
        if let Some(include) = self.patterns(section, "include") {
            filter.include = include.into_iter().map(|p| p.value).collect();
        }
        if let Some(exclude) = self.patterns(section, "exclude") {
            filter.exclude = exclude.into_iter().map(|p| p.value).collect();
        }
        self.field(section, "zone", |item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| "the id of a [[zone]], like \"hall-a\"".to_string())
        })
    }

    /// The tables of the array of tables `key` of `parent` (written `[[path]]`), each with its
    /// span; anything else under that key is reported.
    fn array_of_tables<'a>(
        &mut self,
        parent: &'a dyn TableLike,
        key: &str,
        path: &str,
    ) -> Vec<(&'a dyn TableLike, Option<Range<usize>>)> {
        let Some((k, item)) = parent.get_key_value(key) else {
            return Vec::new();
        };
        let mut tables: Vec<(&dyn TableLike, Option<Range<usize>>)> = Vec::new();
        match item {
            Item::ArrayOfTables(array) => {
                for table in array.iter() {
                    tables.push((table, table.span()));
                }
            }
            Item::Value(Value::Array(array)) => {
                for value in array.iter() {
                    match value.as_inline_table() {
                        Some(table) => tables.push((table, table.span())),
                        None => {
                            let got = self.got_value(value);
                            self.error(
                                value.span(),
                                format!("`{path}` must be a list of tables, each written [[{path}]], got the element {got}"),
                            );
                        }
                    }
                }
            }
            _ => {
                let got = self.got(item);
                self.error(
                    item.span().or_else(|| k.span()),
                    format!("`{path}` must be an array of tables, each written [[{path}]] (two brackets), got {got}"),
                );
            }
        }
        tables
    }

    /// Reads every `[[zone]]` (none when the file defines none), and whether every zone had a
    /// valid id.
    fn zones(&mut self, root: &toml_edit::Table, thresholds: &Thresholds) -> (Vec<Zone>, bool) {
        let tables = self.array_of_tables(root, "zone", "zone");
        let mut zones = Vec::new();
        // First line of each id, and first zone of each literal interface name.
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut claimed: HashMap<String, String> = HashMap::new();
        let mut every_id_valid = true;
        for (index, (table, span)) in tables.into_iter().enumerate() {
            match self.zone(index + 1, table, span, thresholds, &mut ids, &mut claimed) {
                Some(zone) => zones.push(zone),
                None => every_id_valid = false,
            }
        }
        (zones, every_id_valid)
    }

    /// Reads one `[[zone]]` (the `number`th), its thresholds resolved over `thresholds`.
    fn zone(
        &mut self,
        number: usize,
        table: &dyn TableLike,
        span: Option<Range<usize>>,
        thresholds: &Thresholds,
        ids: &mut HashMap<String, usize>,
        claimed: &mut HashMap<String, String>,
    ) -> Option<Zone> {
        let id_text = table.get("id").and_then(Item::as_str);
        let label = match id_text {
            Some(id) if valid_zone_id(id) => format!("zone \"{id}\""),
            _ => format!("[[zone]] #{number}"),
        };
        self.check_entries("zone", &label, table);
        let section = Section {
            label,
            table: Some(table),
            span,
        };

        let id = self.field(&section, "id", |item| {
            item.as_str()
                .filter(|s| valid_zone_id(s))
                .map(str::to_string)
                .ok_or_else(|| {
                    "1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter or \
                     digit, like \"hall-a\""
                        .to_string()
                })
        });
        self.require(&section, "id", "the zone's id, like \"hall-a\"");
        if let Some(id) = &id {
            let line = id
                .span
                .as_ref()
                .map_or(0, |s| line_column(self.text, s.start).0);
            if let Some(first) = ids.get(&id.value) {
                self.error(
                    id.span.clone(),
                    format!(
                        "{}: duplicate zone id \"{}\", first defined at line {first}; zone ids must be unique",
                        section.label, id.value
                    ),
                );
            } else {
                ids.insert(id.value.clone(), line);
            }
        }

        let name = self.string(&section, "name", "a non-empty string", |s| {
            !s.trim().is_empty()
        });
        let seats = self.field(&section, "seats", |item| {
            let n = item
                .as_integer()
                .filter(|n| *n > 0)
                .ok_or_else(|| "a positive integer".to_string())?;
            u32::try_from(n)
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| "a positive integer up to 1000000".to_string())
        });
        let interfaces = self.patterns(&section, "interfaces").unwrap_or_default();
        let subnets = self
            .list(
                &section,
                "subnets",
                "a list of networks like [\"10.10.0.0/22\", \"2001:db8::/48\"]",
                |s| {
                    s.parse::<IpNet>().map_err(|_| {
                        format!(
                            "subnets must be networks like \"10.10.0.0/22\" or \"2001:db8::/48\", got {}",
                            shorten_quoted(s)
                        )
                    })
                },
            )
            .unwrap_or_default();
        let label = format!("{} thresholds", section.label);
        let overrides = self.labelled_section(table, "thresholds", "zone.thresholds", label);
        let thresholds = self.thresholds(&overrides, thresholds, "from [thresholds]");

        let id = id?;
        for pattern in interfaces.iter().filter(|p| p.value.is_literal()) {
            let name = pattern.value.as_str();
            match claimed.get(name) {
                Some(owner) if *owner != id.value => {
                    let message = format!(
                        "{}: interface \"{name}\" is already in zone \"{owner}\"; an interface belongs to one zone",
                        section.label
                    );
                    self.error(pattern.span.clone(), message);
                }
                Some(_) => {}
                None => {
                    claimed.insert(name.to_string(), id.value.clone());
                }
            }
        }
        Some(Zone {
            name: name.unwrap_or_else(|| id.value.clone()),
            id: id.value,
            seats: seats.map(|s| s.value),
            interfaces: interfaces.into_iter().map(|p| p.value).collect(),
            subnets: subnets.into_iter().map(|s| s.value).collect(),
            thresholds,
        })
    }

    fn schedule(&mut self, section: &Section<'_>) -> Option<ScheduleConfig> {
        section.table?;
        let file = self.path(section, "file", "/etc/venuemon/programme.ics");
        self.require(section, "file", "the programme as an iCalendar .ics file");
        let interval = self.source_interval(section);
        Some(ScheduleConfig {
            file: file?,
            interval,
        })
    }

    fn source_interval(&mut self, section: &Section<'_>) -> Option<Duration> {
        self.duration(
            section,
            "interval",
            Duration::from_secs(1),
            Duration::from_secs(300),
        )
        .map(|d| d.value)
    }

    fn netdev(&mut self, section: &Section<'_>, netdev: &mut NetdevConfig) {
        if let Some(enabled) = self.bool(section, "enabled") {
            netdev.enabled = enabled;
        }
        netdev.interval = self.source_interval(section);
        if let Some(backend) = self.backend(section) {
            netdev.backend = backend;
        }
        if let Some(root) = self.path(section, "proc_root", "/proc") {
            netdev.proc_root = root;
        }
        if let Some(root) = self.path(section, "sys_root", "/sys") {
            netdev.sys_root = root;
        }
    }

    fn neighbours(&mut self, section: &Section<'_>, neighbours: &mut NeighboursConfig) {
        if let Some(enabled) = self.bool(section, "enabled") {
            neighbours.enabled = enabled;
        }
        neighbours.interval = self.source_interval(section);
        if let Some(backend) = self.backend(section) {
            neighbours.backend = backend;
        }
        if let Some(root) = self.path(section, "proc_root", "/proc") {
            neighbours.proc_root = root;
        }
    }

    /// One table of an array of tables, checked for unknown entries.
    fn entry_section<'a>(
        &mut self,
        path: &str,
        label: String,
        table: &'a dyn TableLike,
        span: Option<Range<usize>>,
    ) -> Section<'a> {
        self.check_entries(path, &label, table);
        Section {
            label,
            table: Some(table),
            span,
        }
    }

    /// A zone id used by a source (its existence is checked once zones are known).
    fn zone_ref(&mut self, section: &Section<'_>) -> Option<Spanned<String>> {
        self.field(section, "zone", |item| {
            item.as_str()
                .map(str::to_string)
                .ok_or_else(|| "the id of a [[zone]], like \"hall-a\"".to_string())
        })
    }

    /// Reads one `[[source.dhcp]]`, with the zone it names.
    fn dhcp(&mut self, section: &Section<'_>) -> Option<(DhcpConfig, Option<Spanned<String>>)> {
        let kind = self.field(section, "kind", |item| match item.as_str() {
            Some("dnsmasq") => Ok(DhcpKind::Dnsmasq),
            Some("isc") => Ok(DhcpKind::Isc),
            Some("kea") => Ok(DhcpKind::Kea),
            _ => Err("\"dnsmasq\", \"isc\" or \"kea\"".to_string()),
        });
        self.require(section, "kind", "\"dnsmasq\", \"isc\" or \"kea\"");
        let name = self.string(
            section,
            "name",
            "1 to 64 letters, digits, `-`, `_` or `.`",
            |s| {
                (1..=64).contains(&s.len())
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            },
        );
        let leases = self.path(section, "leases", "/var/lib/misc/dnsmasq.leases");
        let pool = match section.get("pool").map(|(_, item)| item.is_str()) {
            Some(true) => self
                .field(section, "pool", |item| {
                    item.as_str().ok_or_else(String::new).and_then(parse_pool)
                })
                .map(|r| vec![r.value]),
            Some(false) => self
                .list(
                    section,
                    "pool",
                    "a range or network, or a list of them",
                    |s| parse_pool(s).map_err(|e| format!("pool must be {e}")),
                )
                .map(|v| v.into_iter().map(|r| r.value).collect()),
            None => None,
        };
        let zone = self.zone_ref(section);
        let control_socket = self.path(section, "control_socket", "/run/kea/kea4-ctrl-socket");
        let interval = self.source_interval(section);
        let kind = kind?.value;
        if control_socket.is_some() && kind != DhcpKind::Kea {
            let span = section.get("control_socket").and_then(|(k, _)| k.span());
            self.error(
                span,
                format!(
                    "{}: control_socket is only for kind = \"kea\"",
                    section.label
                ),
            );
        }
        let config = DhcpConfig {
            kind,
            name: name.unwrap_or_default(),
            leases: leases.unwrap_or_else(|| PathBuf::from(kind.default_leases())),
            pool: pool.unwrap_or_default(),
            zone: zone.as_ref().map(|z| z.value.clone()),
            control_socket,
            interval,
        };
        Some((config, zone))
    }

    /// Names the pools the file left unnamed (after their zone, else their kind) and reports
    /// names used twice.
    fn default_pool_names(&mut self, sources: &mut [DhcpConfig]) {
        for d in sources.iter_mut().filter(|d| d.name.is_empty()) {
            d.name = d.zone.clone().unwrap_or_else(|| d.kind.name().to_string());
        }
        let mut seen: Vec<&str> = Vec::new();
        let mut duplicates = Vec::new();
        for d in sources.iter() {
            if seen.contains(&d.name.as_str()) {
                duplicates.push(d.name.clone());
            }
            seen.push(&d.name);
        }
        for name in duplicates {
            self.error(
                None,
                format!(
                    "[[source.dhcp]]: two pools are named \"{name}\"; give each a distinct `name`"
                ),
            );
        }
    }

    /// Reads one `[[source.hostapd]]`, with the zone it names.
    fn hostapd(&mut self, section: &Section<'_>) -> (HostapdConfig, Option<Spanned<String>>) {
        let ctrl_dir = self.path(section, "ctrl_dir", "/var/run/hostapd");
        let sockets = self
            .list(
                section,
                "sockets",
                "a list of socket paths like [\"/var/run/hostapd/wlan0\"]",
                |s| {
                    if s.trim().is_empty() {
                        Err("sockets must not hold an empty path".to_string())
                    } else {
                        Ok(PathBuf::from(s))
                    }
                },
            )
            .unwrap_or_default();
        let zone = self.zone_ref(section);
        let config = HostapdConfig {
            ctrl_dir: ctrl_dir.unwrap_or_else(|| PathBuf::from("/var/run/hostapd")),
            sockets: sockets.into_iter().map(|s| s.value).collect(),
            zone: zone.as_ref().map(|z| z.value.clone()),
            interval: self.source_interval(section),
        };
        (config, zone)
    }

    /// Reads one `[[source.capture]]`, with the zone it names.
    fn capture(
        &mut self,
        section: &Section<'_>,
    ) -> Option<(CaptureConfig, Option<Spanned<String>>)> {
        let interface = self.string(
            section,
            "interface",
            "an interface name like \"wlan0mon\"",
            |s| Pattern::new(s).is_ok_and(|p| p.is_literal()),
        );
        self.require(section, "interface", "the interface to capture on");
        let promiscuous = self.bool(section, "promiscuous");
        let zone = self.zone_ref(section);
        let mut bssids = Vec::new();
        if let Some((key, item)) = section.get("bssids") {
            match item.as_table_like() {
                Some(table) => {
                    for (name, value) in table.iter() {
                        let span = value.span().or_else(|| table.key(name).and_then(Key::span));
                        let mac = value.as_str().and_then(crate::privacy::parse_mac);
                        let valid_name = valid_zone_id(name);
                        match mac {
                            Some(mac) if valid_name => bssids.push((name.to_string(), mac)),
                            _ => {
                                let got = self.got(value);
                                self.error(span, format!(
                                    "{}: bssids must map access point names (like hall-a-1) to BSSIDs like \"02:00:00:00:01:00\", got {name} = {got}",
                                    section.label
                                ));
                            }
                        }
                    }
                }
                None => {
                    let got = self.got(item);
                    self.error(item.span().or_else(|| key.span()), format!(
                        "{}: bssids must be a table like {{ hall-a-1 = \"02:00:00:00:01:00\" }}, got {got}",
                        section.label
                    ));
                }
            }
        }
        let interval = self.source_interval(section);
        let config = CaptureConfig {
            interface: interface?,
            promiscuous: promiscuous.unwrap_or(true),
            zone: zone.as_ref().map(|z| z.value.clone()),
            bssids,
            interval,
        };
        Some((config, zone))
    }

    /// Reads the thresholds of `section` (`[thresholds]`, or a zone's `[zone.thresholds]`)
    /// over `base`, then checks that each warn is not above its critical once resolved;
    /// `inherited` says where the values the section does not set come from.
    fn thresholds(
        &mut self,
        section: &Section<'_>,
        base: &Thresholds,
        inherited: &str,
    ) -> Thresholds {
        let mut resolved = base.clone();
        for limit in Limit::ALL {
            let [warn_key, critical_key] = limit.keys();
            let warn = self.threshold(section, &warn_key, limit);
            let critical = self.threshold(section, &critical_key, limit);
            let (w, c) = limit.pair(&mut resolved);
            if let Some(v) = &warn {
                *w = v.value;
            }
            if let Some(v) = &critical {
                *c = v.value;
            }
            // A key set to a bad value is reported already; a pair this section does not
            // touch is the base's concern.
            let bad = |key: &str, read: &Option<Spanned<f64>>| {
                section.get(key).is_some() && read.is_none()
            };
            if *w <= *c || bad(&warn_key, &warn) || bad(&critical_key, &critical) {
                continue;
            }
            let (w, c) = (*w, *c);
            let Some(span) = warn.map(|v| v.span).or(critical.map(|v| v.span)) else {
                continue;
            };
            let show = |value: f64, key: &str| {
                let value = limit.show(value);
                if section.get(key).is_some() {
                    value
                } else {
                    format!("{value}, {inherited}")
                }
            };
            self.error(
                span,
                format!(
                    "{}: {warn_key} ({}) must not be above {critical_key} ({})",
                    section.label,
                    show(w, &warn_key),
                    show(c, &critical_key)
                ),
            );
        }
        resolved
    }

    /// One threshold of `section`, as the config keeps it (a ratio or seconds).
    fn threshold(
        &mut self,
        section: &Section<'_>,
        key: &str,
        limit: Limit,
    ) -> Option<Spanned<f64>> {
        match limit.percent_range() {
            Some((max, expected)) => self.field(section, key, |item| {
                item.as_integer()
                    .map(|i| i as f64)
                    .or_else(|| item.as_float())
                    .filter(|v| (1.0..=max).contains(v))
                    .map(|v| v / 100.0)
                    .ok_or_else(|| expected.to_string())
            }),
            None => self
                .duration(
                    section,
                    key,
                    Duration::from_millis(1),
                    Duration::from_secs(60),
                )
                .map(|d| Spanned {
                    value: d.value.as_secs_f64(),
                    span: d.span,
                }),
        }
    }

    /// Warnings about the configuration as a whole.
    fn general_warnings(&mut self, config: &Config) {
        for zone in &config.zones {
            let catch_all = config.interfaces.zone.as_deref() == Some(zone.id.as_str());
            if zone.interfaces.is_empty() && zone.subnets.is_empty() && !catch_all {
                self.warn(
                    None,
                    format!(
                        "zone \"{}\" has no interfaces or subnets and is not [interfaces] zone: \
                         it will count no clients",
                        zone.id
                    ),
                );
            }
        }
        if !config.sources.netdev.enabled && !config.sources.neighbours.enabled {
            self.warn(
                None,
                "[source.netdev] and [source.neighbours] are both disabled: nothing will be \
                 measured"
                    .to_string(),
            );
        }
    }
}

/// The first line of a secret file, trimmed; the error says what is wrong with the file and
/// never shows its content.
fn read_secret(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    crate::files::open_regular(path)
        .and_then(|file| file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| match e.kind() {
            _ if crate::files::not_regular(&e).is_some() => format!("{path:?} {e}"),
            std::io::ErrorKind::PermissionDenied => format!(
                "{path:?} cannot be read ({e}): make it readable by the user venuemon runs as"
            ),
            _ => format!("{path:?} cannot be read: {e}"),
        })?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{path:?} is larger than {} KiB: a secret file holds the secret on its first line",
            MAX_SECRET_FILE / 1024
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{path:?} is not UTF-8 text"))?;
    let first = text.lines().next().unwrap_or_default().trim();
    if first.is_empty() {
        return Err(format!(
            "{path:?}: the first line is empty; put the secret on it"
        ));
    }
    if first.chars().any(disruptive) {
        return Err(format!(
            "{path:?}: the first line holds a control or bidirectional-formatting character; \
             a secret is printable text"
        ));
    }
    Ok(first.to_string())
}

/// The largest secret file read: a password or token fits many times over.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Parses a DHCP pool: a range `FIRST-LAST` or a network `ADDRESS/PREFIX` (for IPv4 networks
/// of 4 addresses or more, without the network and broadcast addresses). The error is the
/// expected form.
fn parse_pool(text: &str) -> Result<AddressRange, String> {
    let form = || {
        format!(
            "a range like \"10.10.0.10-10.10.3.250\" or a network like \"10.10.0.0/22\", got {}",
            shorten_quoted(text)
        )
    };
    if let Some((first, last)) = text.split_once('-') {
        let first: std::net::IpAddr = first.trim().parse().map_err(|_| form())?;
        let last: std::net::IpAddr = last.trim().parse().map_err(|_| form())?;
        if first.is_ipv4() != last.is_ipv4() || last < first {
            return Err(format!(
                "{}: the range must go up within one address family",
                form()
            ));
        }
        return Ok(AddressRange { first, last });
    }
    let net: IpNet = text.trim().parse().map_err(|_| form())?;
    let (first, last) = match net {
        IpNet::V4(v4) if v4.prefix_len() <= 30 => {
            let first = u32::from(v4.network()) + 1;
            let last = u32::from(v4.broadcast()) - 1;
            (Ipv4Addr::from(first).into(), Ipv4Addr::from(last).into())
        }
        _ => (net.network(), net.broadcast()),
    };
    Ok(AddressRange { first, last })
}

/// Whether `id` is a valid zone id: `[a-z0-9][a-z0-9_-]{0,63}`.
fn valid_zone_id(id: &str) -> bool {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Parses a listen address (`[http] listen`, `--listen`): a socket address, or `:PORT` for
/// every IPv4 address.
pub fn parse_listen(text: &str) -> Option<SocketAddr> {
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().ok()?;
        return Some(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            port,
        )));
    }
    text.parse().ok()
}

/// `text` quoted, cut to 40 characters.
fn shorten_quoted(text: &str) -> String {
    if text.chars().count() > MAX_ECHO {
        let head: String = text.chars().take(MAX_ECHO).collect();
        format!("{head:?}…")
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "venuemon.toml";
    const EXAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/venuemon.example.toml"
    ));

    /// The errors of `text`, as printed.
    fn errors(text: &str) -> Vec<String> {
        match parse(FILE, text, "gw-1") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    /// The one error of `text`, as printed.
    fn one_error(text: &str) -> String {
        let mut all = errors(text);
        assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
        all.remove(0)
    }

    fn ok(text: &str) -> (Config, Vec<Warning>) {
        match parse(FILE, text, "gw-1") {
            Ok(result) => result,
            Err(errors) => panic!("unexpected errors:\n{errors}"),
        }
    }

    #[test]
    fn control_characters_in_names_are_rejected_where_they_are() {
        // An escape sequence in a venue name would reach terminals through check-config.
        let error = one_error("[venue]\nname = \"Hall \\u001b[31mA\"\n");
        assert_eq!(
            error,
            "venuemon.toml:2:8: `venue.name` holds U+001B, a control or bidirectional-formatting \
             character: these (U+0000–U+001F, U+007F–U+009F, U+061C, U+200E, U+200F, \
             U+202A–U+202E, U+2066–U+2069, U+2028, U+2029) are not allowed in names or settings; \
             remove it"
        );
        let all = errors(
            "[[zone]]\nid = \"hall-a\"\nname = \"Salle\\tA\"\n\n\
             [[zone]]\nid = \"hall-b\"\nname = \"B\\u007f\"\n\n\
             [[source.capture]]\ninterface = \"wlan0mon\"\n\
             bssids = { \"ap\\u0007\" = \"02:00:00:00:01:00\" }\n\n\
             [venue]\nname = \"\"\"\nmulti\nline\"\"\"\nevent = \"e\\u0085\"\n",
        );
        let located = |prefix: &str| all.iter().any(|e| e.starts_with(prefix));
        assert!(
            located("venuemon.toml:3:8: `zone.name` holds U+0009"),
            "{all:#?}"
        );
        assert!(
            located("venuemon.toml:7:8: `zone.name` holds U+007F"),
            "{all:#?}"
        );
        assert!(
            located("venuemon.toml:11:12: a key holds U+0007"),
            "{all:#?}"
        );
        assert!(
            located("venuemon.toml:14:8: `venue.name` holds U+000A"),
            "{all:#?}"
        );
        assert!(
            located("venuemon.toml:17:9: `venue.event` holds U+0085"),
            "{all:#?}"
        );
        let error = one_error("[venue]\nname = \"Salle \\u202eA\"\n");
        assert!(
            error.starts_with("venuemon.toml:2:8: `venue.name` holds U+202E"),
            "{error}"
        );
        // Printable text in any script stays allowed.
        ok("[venue]\nname = \"Salle Été — 会場 🎤\"\n");
    }

    #[test]
    fn http_limits_have_defaults_bounds_and_fit_together() {
        let (config, _) = ok("");
        let http = &config.http;
        assert_eq!(http.header_timeout, Duration::from_secs(10));
        assert_eq!(http.keep_alive_timeout, Duration::from_secs(20));
        assert_eq!(http.send_timeout, Duration::from_secs(30));
        assert_eq!((http.max_connections, http.max_event_streams), (512, 128));
        assert_eq!(http.auth_failures_per_second, 5);
        let (config, _) = ok(
            "[http]\nheader_timeout = \"2s\"\nsend_timeout = \"500ms\"\n\
             keep_alive_timeout = \"1m\"\nmax_connections = 40\nmax_event_streams = 40\n\
             auth_failures_per_second = 1\n",
        );
        let http = &config.http;
        assert_eq!(http.header_timeout, Duration::from_secs(2));
        assert_eq!(http.send_timeout, Duration::from_millis(500));
        assert_eq!(http.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!((http.max_connections, http.max_event_streams), (40, 40));
        assert_eq!(http.auth_failures_per_second, 1);
        assert_eq!(
            one_error("[http]\nmax_connections = 0\n"),
            "venuemon.toml:2:19: [http]: max_connections must be an integer from 1 to 1000000, got 0"
        );
        assert_eq!(
            one_error("[http]\nauth_failures_per_second = 5000\n"),
            "venuemon.toml:2:28: [http]: auth_failures_per_second must be an integer from 1 to \
             1000, got 5000"
        );
        assert_eq!(
            one_error("[http]\nheader_timeout = \"10ms\"\n"),
            "venuemon.toml:2:18: [http]: header_timeout must be a duration from 100ms to 1h, \
             got \"10ms\""
        );
        assert_eq!(
            one_error("[http]\nmax_connections = 10\n"),
            "venuemon.toml:2:19: [http]: max_event_streams (128) must not exceed \
             max_connections (10): each stream holds a connection"
        );
    }

    #[test]
    fn dhcp_sources_read_pools_zones_and_defaults() {
        let (config, _) = ok(r#"
[[zone]]
id = "hall-a"
subnets = ["10.10.0.0/22"]

[[source.dhcp]]
kind = "dnsmasq"
pool = "10.10.0.10-10.10.3.250"
zone = "hall-a"

[[source.dhcp]]
kind = "kea"
name = "hall-a-v6"
leases = "/var/lib/kea/kea-leases6.csv"
pool = ["10.20.0.0/24", "2001:db8::100-2001:db8::1ff"]
control_socket = "/run/kea/kea4-ctrl-socket"
"#);
        let [dnsmasq, kea] = config.sources.dhcp.as_slice() else {
            panic!("two dhcp sources")
        };
        assert_eq!(dnsmasq.name, "hall-a", "named after its zone");
        assert_eq!(
            dnsmasq.leases,
            PathBuf::from("/var/lib/misc/dnsmasq.leases")
        );
        assert_eq!(dnsmasq.pool[0].size(), 3 * 256 + 250 - 10 + 1);
        assert_eq!(kea.pool[0].size(), 254, "network and broadcast left out");
        assert_eq!(kea.pool[1].size(), 256);
        assert!(kea.pool[0].contains("10.20.0.1".parse().expect("ip")));
        assert!(!kea.pool[0].contains("10.20.0.0".parse().expect("ip")));
    }

    #[test]
    fn a_source_naming_a_missing_zone_is_an_error() {
        let error = one_error(
            "[[zone]]\nid = \"hall-a\"\n\n[[source.dhcp]]\nkind = \"isc\"\nzone = \"hall-b\"\n",
        );
        assert_eq!(
            error,
            "venuemon.toml:6:8: [[source.dhcp]] #1: zone \"hall-b\" does not exist; zones are: hall-a"
        );
        let error = one_error("[[source.hostapd]]\nzone = \"nowhere\"\n");
        assert!(
            error.starts_with(
                "venuemon.toml:2:8: [[source.hostapd]] #1: zone \"nowhere\" does not exist"
            ),
            "{error}"
        );
    }

    #[test]
    fn dhcp_mistakes_each_have_a_message() {
        let all = errors(
            r#"
[[source.dhcp]]
pool = "10.0.0.9-10.0.0.1"
control_socket = "/run/x"

[[source.dhcp]]
kind = "dhcpd"
pool = ["10.0.0.0/24", "nope"]

[[source.dhcp]]
kind = "isc"
control_socket = "/run/x"

[[source.dhcp]]
kind = "dnsmasq"
[[source.dhcp]]
kind = "dnsmasq"
"#,
        );
        let joined = all.join("\n");
        for needle in [
            ":2:1: [[source.dhcp]] #1: missing required key `kind`",
            ":3:8: [[source.dhcp]] #1: pool must be a range like",
            ":7:8: [[source.dhcp]] #2: kind must be \"dnsmasq\", \"isc\" or \"kea\", got \"dhcpd\"",
            ":8:24: [[source.dhcp]] #2: pool must be a range like",
            ":12:1: [[source.dhcp]] #3: control_socket is only for kind = \"kea\"",
            "two pools are named \"dnsmasq\"",
        ] {
            assert!(joined.contains(needle), "{needle:?} not in:\n{joined}");
        }
    }

    #[test]
    fn capture_sources_read_interface_and_bssids() {
        let (config, _) = ok(
            "[[source.capture]]\ninterface = \"wlan0mon\"\nbssids = { hall-a-1 = \"02:00:00:00:01:00\" }\n",
        );
        let capture = &config.sources.capture[0];
        assert_eq!(capture.interface, "wlan0mon");
        assert!(capture.promiscuous);
        assert_eq!(
            capture.bssids,
            [("hall-a-1".to_string(), [2, 0, 0, 0, 1, 0])]
        );
        let all = errors(
            "[[source.capture]]\npromiscuous = \"yes\"\n[[source.capture]]\ninterface = \"eth*\"\nbssids = { \"Hall A\" = \"nope\" }\n",
        );
        let joined = all.join("\n");
        for needle in [
            ":1:1: [[source.capture]] #1: missing required key `interface`",
            ":2:15: [[source.capture]] #1: promiscuous must be true or false",
            ":4:13: [[source.capture]] #2: interface must be an interface name",
            "[[source.capture]] #2: bssids must map access point names",
        ] {
            assert!(joined.contains(needle), "{needle:?} not in:\n{joined}");
        }
    }

    /// Whether two thresholds are equal up to rounding.
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn every_threshold_is_read_in_its_unit() {
        let (config, _) = ok("[thresholds]
dhcp_pool_warn = 70
dhcp_pool_critical = 90.5
uplink_warn = 60
uplink_critical = 85
occupancy_warn = 120
occupancy_critical = 250
time_to_lease_warn = \"500ms\"
time_to_lease_critical = \"3s\"
");
        let t = &config.thresholds;
        for (got, want) in [
            (t.dhcp_pool_warn, 0.70),
            (t.dhcp_pool_critical, 0.905),
            (t.uplink_warn, 0.60),
            (t.uplink_critical, 0.85),
            (t.occupancy_warn, 1.2),
            (t.occupancy_critical, 2.5),
            (t.time_to_lease_warn, 0.5),
            (t.time_to_lease_critical, 3.0),
        ] {
            assert!(close(got, want), "{got} != {want}");
        }
        // The host zone takes them too.
        assert_eq!(config.zones[0].thresholds, config.thresholds);
        let (config, _) = ok("");
        assert_eq!(config.thresholds, Thresholds::default());
    }

    #[test]
    fn bad_threshold_values_name_the_form() {
        let percent = "must be a percentage from 1 to 100";
        let seats = "must be a percentage of seats from 1 to 1000 (150 means 1.5 clients per seat)";
        let duration = "must be a duration like \"5s\"";
        for (line, expected) in [
            ("dhcp_pool_warn = 0", percent),
            ("dhcp_pool_critical = 101", percent),
            ("uplink_warn = \"70%\"", percent),
            ("uplink_critical = -5", percent),
            ("occupancy_warn = 0.5", seats),
            ("occupancy_critical = 1001", seats),
            ("time_to_lease_warn = 2", duration),
            ("time_to_lease_critical = \"fast\"", duration),
        ] {
            let (key, value) = line.split_once(" = ").expect("key = value");
            let error = one_error(&format!("[thresholds]\n{line}\n"));
            let column = key.len() + 4;
            assert!(
                error.starts_with(&format!(
                    "venuemon.toml:2:{column}: [thresholds]: {key} {expected}"
                )),
                "{error}"
            );
            assert!(error.ends_with(&format!("got {value}")), "{error}");
        }
        assert_eq!(
            one_error("[thresholds]\ntime_to_lease_critical = \"5m\"\n"),
            "venuemon.toml:2:26: [thresholds]: time_to_lease_critical must be a duration \
             from 1ms to 1m, got \"5m\""
        );
    }

    #[test]
    fn each_warn_must_not_be_above_its_critical() {
        assert_eq!(
            one_error("[thresholds]\ndhcp_pool_warn = 99\n"),
            "venuemon.toml:2:18: [thresholds]: dhcp_pool_warn (99) must not be above \
             dhcp_pool_critical (95, the default)"
        );
        assert_eq!(
            one_error("[thresholds]\nuplink_warn = 90\nuplink_critical = 80.5\n"),
            "venuemon.toml:2:15: [thresholds]: uplink_warn (90) must not be above \
             uplink_critical (80.5)"
        );
        assert_eq!(
            one_error("[thresholds]\noccupancy_critical = 120\n"),
            "venuemon.toml:2:22: [thresholds]: occupancy_warn (150, the default) must not be \
             above occupancy_critical (120)"
        );
        assert_eq!(
            one_error("[thresholds]\ntime_to_lease_warn = \"6s\"\n"),
            "venuemon.toml:2:22: [thresholds]: time_to_lease_warn (\"6s\") must not be above \
             time_to_lease_critical (\"5s\", the default)"
        );
        // Equal is fine; a bad value is reported once, not compared.
        ok("[thresholds]\nuplink_warn = 80\nuplink_critical = 80\n");
        let error = one_error("[thresholds]\ndhcp_pool_warn = \"x\"\ndhcp_pool_critical = 10\n");
        assert!(
            error.contains("dhcp_pool_warn must be a percentage"),
            "{error}"
        );
    }

    #[test]
    fn zone_thresholds_override_the_global_ones() {
        let text = "[thresholds]
dhcp_pool_warn = 75
occupancy_warn = 130

[[zone]]
id = \"hall-a\"
[zone.thresholds]
dhcp_pool_warn = 60
time_to_lease_critical = \"8s\"

[[zone]]
id = \"room-b\"
thresholds = { uplink_warn = 50, occupancy_critical = 300 }

[[zone]]
id = \"lobby\"
";
        let (config, _) = ok(text);
        let [hall, room, lobby] = config.zones.as_slice() else {
            panic!("three zones");
        };
        let global = &config.thresholds;
        assert!(close(global.dhcp_pool_warn, 0.75));
        assert!(close(hall.thresholds.dhcp_pool_warn, 0.60));
        assert!(close(hall.thresholds.time_to_lease_critical, 8.0));
        assert!(close(hall.thresholds.occupancy_warn, 1.3), "global kept");
        assert!(close(room.thresholds.uplink_warn, 0.5));
        assert!(close(room.thresholds.occupancy_critical, 3.0));
        assert!(close(room.thresholds.dhcp_pool_warn, 0.75), "global kept");
        assert_eq!(&lobby.thresholds, global);
    }

    #[test]
    fn zone_thresholds_do_not_depend_on_where_the_global_table_is() {
        let zone = "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_critical = 90\n";
        let global = "[thresholds]\ndhcp_pool_warn = 70\nuplink_warn = 50\n";
        let (before, _) = ok(&format!("{global}\n{zone}"));
        let (after, _) = ok(&format!("{zone}\n{global}"));
        assert_eq!(before, after);
        let t = &after.zones[0].thresholds;
        assert!(close(t.dhcp_pool_warn, 0.70));
        assert!(close(t.dhcp_pool_critical, 0.90));
        assert!(close(t.uplink_warn, 0.50));
    }

    #[test]
    fn zone_warn_above_critical_points_at_the_zone_key() {
        // The global critical is inherited; the zone's warn goes past it.
        let text = "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_warn = 96\n\n\
                    [thresholds]\ndhcp_pool_critical = 95\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:4:18: zone \"hall-a\" thresholds: dhcp_pool_warn (96) must not be \
             above dhcp_pool_critical (95, from [thresholds])"
        );
        // The global warn is inherited; the zone's critical goes below it.
        let text = "[thresholds]\nuplink_warn = 80\n\n\
                    [[zone]]\nid = \"hall-a\"\nthresholds = { uplink_critical = 75 }\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:6:34: zone \"hall-a\" thresholds: uplink_warn (80, from [thresholds]) \
             must not be above uplink_critical (75)"
        );
        // A global mistake is reported once, at the global table, not again for each zone.
        let text =
            "[thresholds]\ndhcp_pool_warn = 99\n[[zone]]\nid = \"a\"\n[[zone]]\nid = \"b\"\n";
        assert!(one_error(text).starts_with("venuemon.toml:2:18: [thresholds]:"));
        // A zone may fix the pair the global table would break.
        ok("[thresholds]\ndhcp_pool_critical = 85\n\n\
            [[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_warn = 60\n");
    }

    #[test]
    fn zone_thresholds_are_checked_like_the_global_ones() {
        let all = errors(
            "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_wrn = 70\nuplink_warn = 0\n\n\
             [[zone]]\nid = \"room-b\"\nthresholds = 5\n",
        );
        assert_eq!(
            all,
            [
                "venuemon.toml:4:1: zone \"hall-a\" thresholds: unknown key `dhcp_pool_wrn`; \
                 did you mean `dhcp_pool_warn`?",
                "venuemon.toml:5:15: zone \"hall-a\" thresholds: uplink_warn must be a percentage \
                 from 1 to 100, got 0",
                "venuemon.toml:9:14: `zone.thresholds` must be a table, written \
                 [zone.thresholds], got 5",
            ]
        );
    }

    #[test]
    fn auth_reads_basic_and_bearer_inline_or_from_files() {
        let (config, _) = ok("[http]\nlisten = \"127.0.0.1:9842\"\n\
                              [http.auth]\nusername = \"crew\"\npassword = \"pw 1\"\ntoken = \"tok-1\"\n");
        let auth = config.http.auth.expect("auth");
        assert_eq!(auth.basic, Some(("crew".into(), "pw 1".into())));
        assert_eq!(auth.bearer.as_deref(), Some("tok-1"));
        assert_eq!(config.http.metrics_auth, None, "metrics stay open");

        let dir = tempfile::tempdir().expect("temp dir");
        let password = dir.path().join("password");
        let token = dir.path().join("token");
        std::fs::write(&password, "  pw from file \nsecond line\n").expect("write");
        std::fs::write(&token, "tok-2\n").expect("write");
        let text = format!(
            "[http.metrics_auth]\nusername = \"prometheus\"\npassword_file = {:?}\n\
             token_file = {:?}\n",
            password.display().to_string(),
            token.display().to_string()
        );
        let (config, _) = ok(&text);
        let metrics = config.http.metrics_auth.expect("metrics auth");
        assert_eq!(
            metrics.basic,
            Some(("prometheus".into(), "pw from file".into()))
        );
        assert_eq!(metrics.bearer.as_deref(), Some("tok-2"));
        assert_eq!(config.http.auth, None);
        // Inline tables work as anywhere else.
        let (config, _) = ok("[http]\nauth = { token = \"t\" }\n");
        assert_eq!(
            config.http.auth.and_then(|a| a.bearer).as_deref(),
            Some("t")
        );
    }

    #[test]
    fn auth_mistakes_each_have_a_message() {
        let all = errors(
            "[http.auth]\nusername = \"crew\"\n\n\
             [http.metrics_auth]\npassword = \"pw\"\ntoken = \"has space\"\n",
        );
        assert_eq!(
            all,
            [
                "venuemon.toml:2:1: [http.auth]: username needs a password (or password_file)",
                "venuemon.toml:5:12: [http.metrics_auth]: a password needs a username",
                "venuemon.toml:6:9: [http.metrics_auth]: the token must be printable ASCII \
                 without spaces (it is not shown)",
            ]
        );
        assert_eq!(
            one_error("[http.auth]\nusername = \"cr:ew\"\npassword = \"x\"\n"),
            "venuemon.toml:2:12: [http.auth]: username must be a user name without `:` or \
             control characters, like \"crew\", got \"cr:ew\""
        );
        assert_eq!(
            one_error("[http.auth]\ntoken = \"a\"\ntoken_file = \"/etc/venuemon/token\"\n"),
            "venuemon.toml:3:14: [http.auth]: set token or token_file, not both"
        );
        assert_eq!(
            one_error("[http.auth]\n"),
            "venuemon.toml:1:1: [http.auth]: set username and password (or password_file), or \
             token (or token_file); remove the table to leave its routes open"
        );
        assert_eq!(
            one_error("[http.auth]\ntokn = \"x\"\n"),
            "venuemon.toml:2:1: [http.auth]: unknown key `tokn`; did you mean `token`?"
        );
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        for text in [
            "[http.auth]\nusername = \"crew\"\npassword = 987654\n",
            "[http.auth]\nusername = \"crew\"\npassword = \"\"\n",
            "[http.auth]\ntoken = [\"987654\"]\n",
            "[http.auth]\ntoken = \"98 7654\"\n",
        ] {
            let error = one_error(text);
            assert!(
                !error.contains("987654") && !error.contains("98 7654"),
                "{error}"
            );
            assert!(error.contains("not shown"), "{error}");
        }
        let (config, _) = ok("[http.auth]\nusername = \"crew\"\npassword = \"987654\"\n");
        let shown = format!("{config:?}");
        assert!(!shown.contains("987654"), "{shown}");
        assert!(shown.contains("crew"), "{shown}");
    }

    #[test]
    fn secret_files_must_be_readable_and_not_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \nsecret on line 3\n").expect("write");
        let error = one_error(&format!(
            "[http.auth]\nusername = \"crew\"\npassword_file = {:?}\n",
            missing.display().to_string()
        ));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:3:17: [http.auth]: password_file {missing:?} cannot be read: \
                 No such file"
            )),
            "{error}"
        );
        let error = one_error(&format!(
            "[http.auth]\ntoken_file = {:?}\n",
            empty.display().to_string()
        ));
        assert_eq!(
            error,
            format!(
                "venuemon.toml:2:14: [http.auth]: token_file {empty:?}: the first line is \
                 empty; put the secret on it"
            )
        );
        assert!(!error.contains("line 3"));
        let escaped = dir.path().join("escaped");
        std::fs::write(&escaped, "pw\u{1b}[2J\n").expect("write");
        let error = one_error(&format!(
            "[http.auth]\nusername = \"crew\"\npassword_file = {:?}\n",
            escaped.display().to_string()
        ));
        assert!(error.ends_with("the first line holds a control or bidirectional-formatting character; a secret is printable text"), "{error}");
        assert!(!error.contains("pw"), "the secret is never shown: {error}");
        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 64 * 1024 + 1]).expect("write");
        let error = one_error(&format!(
            "[http.metrics_auth]\ntoken_file = {:?}\n",
            huge.display().to_string()
        ));
        assert!(
            error.ends_with(
                "is larger than 64 KiB: a secret file holds the secret on its first line"
            ),
            "{error}"
        );
    }

    #[test]
    fn credentials_in_clear_text_depend_on_listen_and_tls() {
        let auth = "[http.auth]\ntoken = \"t\"\n";
        let (config, _) = ok(&format!("[http]\nlisten = \"0.0.0.0:9842\"\n{auth}"));
        assert!(config.http.credentials_in_clear_text());
        let (config, _) = ok(&format!("[http]\nlisten = \"127.0.0.1:9842\"\n{auth}"));
        assert!(!config.http.credentials_in_clear_text());
        let (config, _) = ok(&format!("[http]\nlisten = \"[::1]:9842\"\n{auth}"));
        assert!(!config.http.credentials_in_clear_text());
        let (config, _) = ok("[http]\nlisten = \"0.0.0.0:9842\"\n");
        assert!(!config.http.credentials_in_clear_text(), "nothing to leak");
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::web::tls::self_signed(dir.path(), "server");
        let (config, _) = ok(&format!(
            "[http]\nlisten = \"0.0.0.0:9842\"\ntls_cert = {:?}\ntls_key = {:?}\n\
             [http.metrics_auth]\ntoken = \"t\"\n",
            files.cert.display().to_string(),
            files.key.display().to_string()
        ));
        assert_eq!(config.http.tls, Some(files));
        assert!(!config.http.credentials_in_clear_text());
    }

    #[test]
    fn tls_files_come_in_pairs_and_must_serve() {
        assert_eq!(
            one_error("[http]\ntls_cert = \"/etc/venuemon/cert.pem\"\n"),
            "venuemon.toml:2:12: [http]: tls_cert needs tls_key; set both (a PEM certificate \
             chain and its private key) or neither"
        );
        assert_eq!(
            one_error("[http]\ntls_key = \"/etc/venuemon/key.pem\"\n"),
            "venuemon.toml:2:11: [http]: tls_key needs tls_cert; set both (a PEM certificate \
             chain and its private key) or neither"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::web::tls::self_signed(dir.path(), "server");
        let text = |cert: &Path, key: &Path| {
            format!(
                "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
                cert.display().to_string(),
                key.display().to_string()
            )
        };
        let missing = dir.path().join("missing.pem");
        let error = one_error(&text(&missing, &files.key));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:2:12: [http]: tls_cert {missing:?} cannot be read"
            )),
            "{error}"
        );
        assert_eq!(
            one_error(&text(&files.key, &files.key)),
            format!(
                "venuemon.toml:2:12: [http]: tls_cert {:?} holds no certificate: expected a \
                 PEM certificate chain (-----BEGIN CERTIFICATE-----)",
                files.key
            )
        );
        let error = one_error(&text(&files.cert, &files.cert));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:3:11: [http]: tls_key {:?} holds no private key",
                files.cert
            )),
            "{error}"
        );
    }

    #[test]
    fn unknown_key_suggests_the_close_one() {
        assert_eq!(
            one_error("[venue]\nnmae = \"Salle\"\n"),
            "venuemon.toml:2:1: [venue]: unknown key `nmae`; did you mean `name`?"
        );
        assert_eq!(
            one_error("[[zone]]\nid = \"hall-a\"\n  seat = 3\n"),
            "venuemon.toml:3:3: zone \"hall-a\": unknown key `seat`; did you mean `seats`?"
        );
        assert_eq!(
            one_error("[agent]\ncolour = \"red\"\n"),
            "venuemon.toml:2:1: [agent]: unknown key `colour`"
        );
    }

    #[test]
    fn an_unknown_time_zone_is_a_warning() {
        let (config, warnings) = ok("[venue]\ntimezone = \"Mars/Olympus\"\n");
        assert_eq!(config.venue.time_zone(), jiff::tz::TimeZone::UTC);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .message
                .starts_with("venuemon.toml:2:12: [venue]: timezone \"Mars/Olympus\""),
            "{warnings:?}"
        );
        assert!(ok("[venue]\ntimezone = \"Europe/Paris\"\n").1.is_empty());
    }

    #[test]
    fn schedule_needs_its_file() {
        let (config, _) = ok("[schedule]\nfile = \"programme.ics\"\ninterval = \"30s\"\n");
        let schedule = config.schedule.expect("schedule");
        assert_eq!(schedule.file, PathBuf::from("programme.ics"));
        assert_eq!(schedule.interval, Some(Duration::from_secs(30)));
        assert_eq!(ok("").0.schedule, None);
        assert_eq!(
            errors("[schedule]\ninterval = \"30s\"\n"),
            [
                "venuemon.toml:1:1: [schedule]: missing required key `file` (the programme as an iCalendar .ics file)"
            ]
        );
    }

    #[test]
    fn unknown_table_lists_the_known_ones() {
        let text = "[venue]\nname = \"x\"\n\n[[source.probes]]\nkind = \"icmp\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:4:1: unknown table `source.probes`: this version of venuemon knows \
             [venue], [http], [http.auth], [http.metrics_auth], [agent], [interfaces], [[zone]], \
             [zone.thresholds], [source.netdev], [source.neighbours], [[source.dhcp]], \
             [[source.hostapd]], [[source.capture]], [thresholds], [schedule]"
        );
        let history = one_error("[history]\nretention = \"90d\"\n");
        assert!(
            history.starts_with("venuemon.toml:1:1: unknown table `history`: this version"),
            "{history}"
        );
        let typo = one_error("[venu]\nname = \"x\"\n");
        assert!(
            typo.starts_with("venuemon.toml:1:1: unknown table `venu`; did you mean `venue`?"),
            "{typo}"
        );
        let top = one_error("name = \"x\"\n");
        assert!(
            top.starts_with("venuemon.toml:1:1: unknown key `name` at the top of the file"),
            "{top}"
        );
    }

    #[test]
    fn wrong_type_names_the_expected_type_and_the_value() {
        assert_eq!(
            one_error("[source.netdev]\nenabled = \"yes\"\n"),
            "venuemon.toml:2:11: [source.netdev]: enabled must be true or false, got \"yes\""
        );
        assert_eq!(
            one_error("[venue]\nlanguage = \"de\"\n"),
            "venuemon.toml:2:12: [venue]: language must be \"fr\" or \"en\", got \"de\""
        );
        assert_eq!(
            one_error("venue = \"Salle\"\n"),
            "venuemon.toml:1:9: `venue` must be a table, written [venue], got \"Salle\""
        );
        assert_eq!(
            one_error("[source.neighbours]\nbackend = 2\n"),
            "venuemon.toml:2:11: [source.neighbours]: backend must be \"auto\", \"netlink\" or \"proc\", got 2"
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        let message = one_error(&format!("[venue]\nevent = \"{long}\"\n"));
        assert!(
            message.ends_with(&format!("got \"{}…", "x".repeat(39))),
            "{message}"
        );
        assert!(message.len() < 250, "{message}");
    }

    #[test]
    fn bad_listen_address_names_the_form() {
        assert_eq!(
            one_error("[http]\nlisten = \"localhost:80\"\n"),
            "venuemon.toml:2:10: [http]: listen must be an address and port like \
             \"0.0.0.0:9842\", \"[::]:9842\" or \":9842\", got \"localhost:80\""
        );
        let (config, _) = ok("[http]\nlisten = \":9000\"\n");
        assert_eq!(config.http.listen.to_string(), "0.0.0.0:9000");
        let (config, _) = ok("[http]\nlisten = \"[::]:9842\"\n");
        assert_eq!(config.http.listen.to_string(), "[::]:9842");
    }

    #[test]
    fn bad_duration_names_the_form() {
        assert_eq!(
            one_error("[http]\nrequest_timeout = \"10 seconds\"\n"),
            "venuemon.toml:2:19: [http]: request_timeout must be a duration like \"5s\" \
             (an integer and a unit: ms, s, m, h or d), got \"10 seconds\""
        );
        assert_eq!(
            one_error("[source.netdev]\ninterval = 5\n"),
            "venuemon.toml:2:12: [source.netdev]: interval must be a duration like \"5s\" \
             (an integer and a unit: ms, s, m, h or d), got 5"
        );
    }

    #[test]
    fn tick_out_of_range() {
        assert_eq!(
            one_error("[agent]\ntick = \"10m\"\n"),
            "venuemon.toml:2:8: [agent]: tick must be a duration from 1s to 5m, got \"10m\""
        );
        assert_eq!(
            one_error("[agent]\ntick = \"500ms\"\n"),
            "venuemon.toml:2:8: [agent]: tick must be a duration from 1s to 5m, got \"500ms\""
        );
        assert_eq!(
            one_error("[agent]\ntick = \"10s\"\nactive_window = \"5s\"\n"),
            "venuemon.toml:3:17: [agent]: active_window must be a duration from 10s to 1d, got \"5s\""
        );
    }

    #[test]
    fn max_clients_is_read_and_checked() {
        assert_eq!(ok("").0.agent.max_clients, DEFAULT_MAX_CLIENTS);
        assert_eq!(
            ok("[agent]\nmax_clients = 100000\n").0.agent.max_clients,
            100_000
        );
        for value in ["0", "-1", "\"many\"", "20000000"] {
            assert_eq!(
                one_error(&format!("[agent]\nmax_clients = {value}\n")),
                format!(
                    "venuemon.toml:2:15: [agent]: max_clients must be a positive integer up to \
                     10000000, got {value}"
                )
            );
        }
    }

    #[test]
    fn short_active_window_warns() {
        let (config, warnings) = ok("[agent]\ntick = \"10s\"\nactive_window = \"20s\"\n");
        assert_eq!(config.agent.active_window, Duration::from_secs(20));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .to_string()
                .starts_with("venuemon.toml:3:17: [agent]: active_window (20s) is shorter than 3 ticks (30s): clients may flicker"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn duplicate_zone_id_points_at_the_second() {
        let text =
            "[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\"]\n\n[[zone]]\nid = \"hall-a\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:6:6: zone \"hall-a\": duplicate zone id \"hall-a\", first defined at \
             line 2; zone ids must be unique"
        );
    }

    #[test]
    fn interface_in_two_zones() {
        let text = "[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\", \"wlan*\"]\n\n\
                    [[zone]]\nid = \"room-b\"\ninterfaces = [\"wlan*\", \"wlan0\"]\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:7:24: zone \"room-b\": interface \"wlan0\" is already in zone \
             \"hall-a\"; an interface belongs to one zone"
        );
    }

    #[test]
    fn zone_id_required_and_checked() {
        assert_eq!(
            one_error("[[zone]]\nname = \"Salle A\"\n"),
            "venuemon.toml:1:1: [[zone]] #1: missing required key `id` (the zone's id, like \"hall-a\")"
        );
        let bad = one_error("[[zone]]\nid = \"Hall A\"\n");
        assert!(
            bad.starts_with("venuemon.toml:2:6: [[zone]] #1: id must be 1 to 64 lower-case"),
            "{bad}"
        );
        let single = one_error("[zone]\nid = \"hall-a\"\n");
        assert!(
            single.starts_with("venuemon.toml:1:1: `zone` must be an array of tables"),
            "{single}"
        );
    }

    #[test]
    fn interfaces_zone_must_exist() {
        let text = "[interfaces]\nzone = \"hall-c\"\n\n[[zone]]\nid = \"hall-a\"\n\n[[zone]]\nid = \"room-b\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:2:8: [interfaces]: zone \"hall-c\" does not exist; zones are: hall-a, room-b"
        );
        // Without [[zone]], the host zone is the only one.
        assert_eq!(
            one_error("[interfaces]\nzone = \"hall-a\"\n"),
            "venuemon.toml:2:8: [interfaces]: zone \"hall-a\" does not exist; zones are: gw-1"
        );
        let (config, _) = ok("[interfaces]\nzone = \"gw-1\"\n");
        assert_eq!(config.interfaces.zone.as_deref(), Some("gw-1"));
    }

    #[test]
    fn seats_must_be_a_positive_integer() {
        for (value, column) in [("\"lots\"", 9), ("0", 9), ("-3", 9), ("12.5", 9)] {
            let text = format!("[[zone]]\nid = \"hall-a\"\nseats = {value}\n");
            assert_eq!(
                one_error(&text),
                format!(
                    "venuemon.toml:3:{column}: zone \"hall-a\": seats must be a positive integer, got {value}"
                )
            );
        }
        assert_eq!(
            one_error("[[zone]]\nid = \"hall-a\"\nseats = 2000000\n"),
            "venuemon.toml:3:9: zone \"hall-a\": seats must be a positive integer up to 1000000, got 2000000"
        );
    }

    #[test]
    fn bad_cidr() {
        assert_eq!(
            one_error(
                "[[zone]]\nid = \"hall-a\"\nsubnets = [\"10.10.0.0/22\", \"10.10.0.0/33\"]\n"
            ),
            "venuemon.toml:3:28: zone \"hall-a\": subnets must be networks like \"10.10.0.0/22\" \
             or \"2001:db8::/48\", got \"10.10.0.0/33\""
        );
        assert_eq!(
            one_error("[[zone]]\nid = \"hall-a\"\nsubnets = \"10.10.0.0/22\"\n"),
            "venuemon.toml:3:11: zone \"hall-a\": subnets must be a list of networks like \
             [\"10.10.0.0/22\", \"2001:db8::/48\"], got \"10.10.0.0/22\""
        );
    }

    #[test]
    fn bad_pattern() {
        let message =
            one_error("[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\", \"wl an1\"]\n");
        assert!(
            message.starts_with(
                "venuemon.toml:3:24: zone \"hall-a\": interfaces: \"wl an1\" is not a valid \
                 interface pattern (it contains whitespace): expected an interface name"
            ),
            "{message}"
        );
        let message = one_error("[interfaces]\nexclude = [\"docker*\", 7]\n");
        assert!(
            message.starts_with(
                "venuemon.toml:2:23: [interfaces]: exclude must be a list of interface names \
                 or globs like [\"wlan0\", \"wlan*\"], got the element 7"
            ),
            "{message}"
        );
    }

    #[test]
    fn syntax_error_is_one_error_with_its_position() {
        let message = one_error("[venue]\nname = \"unterminated\nevent = \"x\"\n");
        assert!(
            message.starts_with("venuemon.toml:2:21: invalid TOML: "),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        let message = one_error("[venue]\nname = \"a\"\nname = \"b\"\n");
        assert!(
            message.starts_with("venuemon.toml:3:1: invalid TOML: "),
            "{message}"
        );
    }

    #[test]
    fn every_mistake_is_reported_in_file_order() {
        let text = "\
[venue]
language = \"de\"

[agent]
tick = \"fast\"

[[zone]]
id = \"hall-a\"
seats = \"lots\"

[http]
listn = \":9842\"

[history]
path = \"history.db\"
";
        assert_eq!(
            errors(text),
            [
                "venuemon.toml:2:12: [venue]: language must be \"fr\" or \"en\", got \"de\"",
                "venuemon.toml:5:8: [agent]: tick must be a duration like \"5s\" (an integer and a unit: ms, s, m, h or d), got \"fast\"",
                "venuemon.toml:9:9: zone \"hall-a\": seats must be a positive integer, got \"lots\"",
                "venuemon.toml:12:1: [http]: unknown key `listn`; did you mean `listen`?",
                "venuemon.toml:14:1: unknown table `history`: this version of venuemon knows [venue], [http], [http.auth], [http.metrics_auth], [agent], [interfaces], [[zone]], [zone.thresholds], [source.netdev], [source.neighbours], [[source.dhcp]], [[source.hostapd]], [[source.capture]], [thresholds], [schedule]",
            ]
        );
    }

    #[test]
    fn errors_display_one_per_line() {
        let Err(errors) = parse(FILE, "[venue]\nx = 1\ny = 2\n", "gw") else {
            panic!("expected errors");
        };
        assert_eq!(errors.to_string().lines().count(), 2);
        let whole_file = ConfigError {
            file: "/etc/venuemon.toml".into(),
            line: 0,
            column: 0,
            message: "no such file".into(),
        };
        assert_eq!(whole_file.to_string(), "/etc/venuemon.toml: no such file");
    }

    #[test]
    fn zero_config_is_the_empty_file() {
        for host in ["gw-1", "Salle-A.local", "", "📶 Wi-Fi"] {
            let (config, warnings) = parse("", "", host).expect("the empty file is valid");
            assert_eq!(config, Config::zero_config(host));
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        let config = Config::zero_config("Salle-A.local");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(config.zones[0].id, "salle-a-local");
        assert_eq!(config.zones[0].name, "Salle-A.local");
        assert_eq!(config.interfaces.zone.as_deref(), Some("salle-a-local"));
        assert_eq!(config.venue.name, "Salle-A.local");
        assert_eq!(config.venue.event, "default");
        assert_eq!(config.venue.timezone, "UTC");
        assert_eq!(config.venue.language, Language::En);
        assert_eq!(config.http.listen.to_string(), "0.0.0.0:9842");
        assert_eq!(config.agent.tick, Duration::from_secs(5));
        assert_eq!(config.agent.active_window, Duration::from_secs(300));
        assert_eq!(config.sources.netdev.proc_root, PathBuf::from("/proc"));
    }

    #[test]
    fn host_zone_ids() {
        assert_eq!(host_zone("").id, "host");
        assert_eq!(host_zone("").name, "host");
        assert_eq!(host_zone("📶").id, "host");
        assert_eq!(host_zone("GW_1").id, "gw_1");
        assert_eq!(host_zone("-edge").id, "edge");
        assert_eq!(host_zone(&"a".repeat(100)).id.len(), 64);
        assert!(valid_zone_id(&host_zone("Borne Wi-Fi n°3").id));
    }

    #[test]
    fn dotted_keys_and_inline_tables_are_checked_too() {
        assert_eq!(
            one_error("venue.language = \"de\"\n"),
            "venuemon.toml:1:18: [venue]: language must be \"fr\" or \"en\", got \"de\""
        );
        assert_eq!(
            one_error("[source]\nnetdev = { enabled = true, intervl = \"5s\" }\n"),
            "venuemon.toml:2:28: [source.netdev]: unknown key `intervl`; did you mean `interval`?"
        );
    }

    #[test]
    fn a_bad_zone_id_is_reported_once() {
        let text = "[interfaces]\nzone = \"Hall\"\n\n[[zone]]\nid = \"Hall\"\n";
        let message = one_error(text);
        assert!(
            message.starts_with("venuemon.toml:5:6: [[zone]] #1: id must be"),
            "{message}"
        );
    }

    #[test]
    fn zones_replace_the_host_zone() {
        let (config, _) = ok("[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\"]\n");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(config.zones[0].name, "hall-a");
        assert_eq!(config.interfaces.zone, None);
        // Inline tables are zones too.
        let (config, _) = ok("zone = [{ id = \"a\", subnets = [\"10.0.0.0/8\"] }]\n");
        assert_eq!(config.zones[0].id, "a");
    }

    #[test]
    fn example_file_parses_and_documents_every_key() {
        let (config, warnings) = match parse("venuemon.example.toml", EXAMPLE, "gw-1") {
            Ok(result) => result,
            Err(errors) => panic!("the example has errors:\n{errors}"),
        };
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.zones.len(), 2);
        assert_eq!(config.zones[0].seats, Some(800));
        assert_eq!(config.interfaces.exclude[0].as_str(), "docker*");

        // Split the file into sections by header, then look for `key =` in each. A table
        // shown commented out (`# [http.auth]`, alone on its line) is a section too.
        let mut sections: HashMap<String, String> = HashMap::new();
        let mut current = String::new();
        for line in EXAMPLE.lines() {
            let trimmed = line.trim();
            let uncommented = trimmed.trim_start_matches(['#', ' ']);
            let commented_header = uncommented.starts_with('[')
                && uncommented.ends_with(']')
                && !uncommented.contains(' ');
            if trimmed.starts_with('[') || commented_header {
                current = uncommented.trim_matches(['[', ']']).to_string();
            } else {
                let body = sections.entry(current.clone()).or_default();
                body.push_str(trimmed.trim_start_matches(['#', ' ']));
                body.push('\n');
            }
        }
        for key in KNOWN_KEYS {
            let (table, leaf) = key.rsplit_once('.').expect("keys are dotted");
            let body = sections.get(table).map(String::as_str).unwrap_or_default();
            assert!(
                body.lines().any(|l| l.starts_with(&format!("{leaf} ="))),
                "the example does not set or show `{key}`"
            );
        }
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut cut = 0;
        while cut <= EXAMPLE.len() {
            if let Some(prefix) = EXAMPLE.get(..cut) {
                let _ = parse(FILE, prefix, "gw-1");
            }
            cut += 7;
        }
        // Deep nesting stays within the TOML parser's recursion limit.
        let deep = format!("[venue]\nname = {}", "[".repeat(100_000));
        assert_eq!(errors(&deep).len(), 1);
        let deep_tables = format!("x = {}", "{a = ".repeat(100_000));
        assert_eq!(errors(&deep_tables).len(), 1);
        // A small deterministic generator: no dependency needed.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"[]{}=\"'.,#\n abcz019_-:/*?\\\t";
        for _ in 0..2000 {
            let len = (state % 80) as usize;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(FILE, &text, "gw-1");
            let raw: Vec<u8> = bytes.iter().map(|b| b.wrapping_mul(31)).collect();
            let _ = parse(FILE, &String::from_utf8_lossy(&raw), "");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90d"), Ok(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "5",
            "s",
            "5 s",
            "5sec",
            "-5s",
            "1.5s",
            "5S",
            "99999999999999999999d",
        ] {
            let err = parse_duration(bad).expect_err(bad);
            assert!(
                err.contains("expected an integer and a unit"),
                "{bad}: {err}"
            );
        }
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
    }

    #[test]
    fn state_dir_defaults() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            state_dir_from(os("/var/lib/venuemon:/var/lib/other"), false, None, None),
            PathBuf::from("/var/lib/venuemon")
        );
        assert_eq!(
            state_dir_from(None, true, os("/x"), os("/root")),
            PathBuf::from("/var/lib/venuemon")
        );
        assert_eq!(
            state_dir_from(None, false, os("/home/ana/.state"), os("/home/ana")),
            PathBuf::from("/home/ana/.state/venuemon")
        );
        assert_eq!(
            state_dir_from(None, false, os("relative"), os("/home/ana")),
            PathBuf::from("/home/ana/.local/state/venuemon")
        );
    }

    #[test]
    fn load_file_reads_or_names_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("absent.toml");
        let Err(errors) = load_file(&missing, "gw-1") else {
            panic!("a missing file is an error");
        };
        assert_eq!(errors.0.len(), 1);
        let message = errors.to_string();
        assert!(
            message.starts_with(&format!("{}: no such file", missing.display())),
            "{message}"
        );
        // The path was given: telling to "pass --config" would be wrong.
        assert!(!message.contains("--config"), "{message}");
        assert!(message.contains("check the path"), "{message}");

        let path = dir.path().join("venuemon.toml");
        std::fs::write(&path, "[venue]\nlanguage = \"fr\"\n").expect("write");
        let (config, _) = load_file(&path, "gw-1").expect("valid file");
        assert_eq!(config.venue.language, Language::Fr);

        std::fs::write(&path, "[venue]\nlanguage = 1\n").expect("write");
        let Err(errors) = load_file(&path, "gw-1") else {
            panic!("invalid file");
        };
        assert!(
            errors
                .to_string()
                .starts_with(&format!("{}:2:12: ", path.display())),
            "{errors}"
        );
    }

    #[test]
    fn suggestions_need_two_edits_or_fewer() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert_eq!(
            suggestion("intervl", &["interval", "enabled"]),
            Some("interval")
        );
        assert_eq!(suggestion("colour", &["name", "event"]), None);
    }
}
