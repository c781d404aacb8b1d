//! The agent's configuration: typed values, loaded from one TOML file (or built from the
//! zero-config defaults) and validated whole, so every mistake of a file is reported at once.
//!
//! `toml` is the plumbing every section is read through; each section's struct and parser
//! sit together: the agent's own sections here (one file each), each source's in the
//! source's folder (`crate::sources::dhcp::config`, ...), importing only `toml` (and
//! `pattern`). `defaults` holds zero-config and `warnings` every load-time warning. This
//! module assembles the sections.
//!
//! A key is known because its section's parser reads it: adding one is reading it there
//! (through `toml::Section`), then showing it in `deploy/venuemon.example.toml` (a test
//! checks the example shows every key read) and describing it in `docs/configuration.md`.

mod agent;
pub(crate) mod defaults;
mod http;
mod interfaces;
pub(crate) mod pattern;
mod sources;
mod thresholds;
pub(crate) mod toml;
mod venue;
pub(crate) mod warnings;
mod zone;

use std::path::Path;

pub use self::agent::Agent;
pub use self::http::{Credentials, Http, parse_listen};
pub use self::interfaces::InterfaceFilter;
pub use self::pattern::Pattern;
pub(crate) use self::sources::{Coverage, SourceConfig, SourceTables, ZoneRef, source_registry};
pub use self::thresholds::Thresholds;
pub use self::toml::{ConfigError, ConfigErrors, Warning};
pub use self::venue::{DEFAULT_EVENT, Language, Venue};
pub use self::zone::Zone;
pub use crate::sources::Sources;

use self::toml::Section;

/// Everything the agent was told to do, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where and what: names shown on the status page and in reports.
    pub venue: Venue,
    /// The HTTP server (metrics, status, API).
    pub http: Http,
    /// The agent's own rhythm and state.
    pub agent: Agent,
    /// Which network interfaces are monitored.
    pub interfaces: InterfaceFilter,
    /// The places people are in; never empty after loading (zero-config adds the host zone).
    pub zones: Vec<Zone>,
    /// Per-source settings: each kind's, from its section (`[source.*]`, `[schedule]`).
    pub sources: Sources,
    /// `[thresholds]`: when a zone turns warn or critical.
    pub thresholds: Thresholds,
    /// `[history]`: the agent's own history store.
    pub history: crate::history::config::HistoryConfig,
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
            key: None,
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
    toml::read(file_name, text, |root| assemble(root, host))
}

/// Every dotted key path a file may set (`zone.*` keys belong to each `[[zone]]`): the keys
/// the section parsers read. Tests hold the example file and the docs to it.
#[cfg(test)]
pub(crate) fn known_keys() -> Vec<String> {
    toml::keys_read(|root| assemble(root, "host"))
}

/// Reads every section of the file over the zero-config defaults.
fn assemble(root: &Section<'_>, host: &str) -> Config {
    let mut config = Config::zero_config(host);
    // Asked for in the order the example file shows them, which messages listing the tables
    // follow.
    let venue = root.table("venue");
    let http = root.table("http");
    let agent = root.table("agent");
    let interfaces = root.table("interfaces");
    let zones = root.array("zone");
    let source = root.table("source");
    let thresholds = root.table("thresholds");

    venue::read(&venue, &mut config.venue);
    http::read(&http, &mut config.http);
    agent::read(&agent, &mut config.agent);
    let wanted_zone = interfaces::read(&interfaces, &mut config.interfaces);

    // Zones resolve their thresholds over these, wherever the table is in the file.
    config.thresholds = thresholds::read(&thresholds, &config.thresholds, "the default");
    let (zones, every_id_valid) = zone::read_all(zones, &config.thresholds);
    if zones.is_empty() {
        // The host zone has no table of its own: it takes [thresholds] as they are.
        for zone in &mut config.zones {
            zone.thresholds = config.thresholds.clone();
        }
    } else {
        config.zones = zones;
        config.interfaces.zone = None;
    }
    let mut zone_refs = Vec::new();
    if let Some(wanted) = wanted_zone {
        if config.zones.iter().any(|z| z.id == wanted.value) {
            config.interfaces.zone = Some(wanted.value);
        } else {
            zone_refs.push(("[interfaces]".to_string(), wanted));
        }
    }
    // Each kind reads its own section (`[schedule]` is asked for here, after [thresholds]).
    zone_refs.extend(config.sources.read(&SourceTables {
        source: &source,
        root,
    }));
    // (When a zone's id is wrong, the zone named may be that one: already reported.)
    if every_id_valid {
        let ids: Vec<&str> = config.zones.iter().map(|z| z.id.as_str()).collect();
        for (label, zone) in zone_refs {
            if !ids.contains(&zone.value.as_str()) {
                root.error(
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
    config.history = crate::history::config::read(&root.table("history"));
    for warning in warnings::whole(&config) {
        root.warn(None, warning);
    }
    config
}

/// Helpers for the configuration tests of every module.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Config, Warning, parse};

    /// The file name errors carry.
    pub(crate) const FILE: &str = "venuemon.toml";

    /// The errors of `text`, as printed.
    pub(crate) fn errors(text: &str) -> Vec<String> {
        match parse(FILE, text, "gw-1") {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    /// The one error of `text`, as printed.
    pub(crate) fn one_error(text: &str) -> String {
        let mut all = errors(text);
        assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
        all.remove(0)
    }

    /// The config and warnings of a valid `text`.
    pub(crate) fn ok(text: &str) -> (Config, Vec<Warning>) {
        match parse(FILE, text, "gw-1") {
            Ok(result) => result,
            Err(errors) => panic!("unexpected errors:\n{errors}"),
        }
    }

    /// Whether two thresholds are equal up to rounding.
    pub(crate) fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::testing::{FILE, errors, ok, one_error};
    use super::*;

    const EXAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/venuemon.example.toml"
    ));

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

[report]
path = \"report.html\"
";
        assert_eq!(
            errors(text),
            [
                "venuemon.toml:2:12: [venue]: language must be \"fr\" or \"en\", got \"de\"",
                "venuemon.toml:5:8: [agent]: tick must be a duration like \"5s\" (an integer and a unit: ms, s, m, h or d), got \"fast\"",
                "venuemon.toml:9:9: zone \"hall-a\": seats must be a positive integer, got \"lots\"",
                "venuemon.toml:12:1: [http]: unknown key `listn`; did you mean `listen`?",
                "venuemon.toml:14:1: unknown table `report`: this version of venuemon knows [venue], [http], [http.auth], [http.metrics_auth], [agent], [interfaces], [[zone]], [zone.thresholds], [source.netdev], [source.neighbours], [[source.dhcp]], [[source.hostapd]], [[source.capture]], [thresholds], [schedule], [history]",
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
            key: None,
        };
        assert_eq!(whole_file.to_string(), "/etc/venuemon.toml: no such file");
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
        for key in known_keys() {
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
    fn unknown_table_lists_the_known_ones() {
        let text = "[venue]\nname = \"x\"\n\n[[source.probes]]\nkind = \"icmp\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:4:1: unknown table `source.probes`: this version of venuemon knows \
             [venue], [http], [http.auth], [http.metrics_auth], [agent], [interfaces], [[zone]], \
             [zone.thresholds], [source.netdev], [source.neighbours], [[source.dhcp]], \
             [[source.hostapd]], [[source.capture]], [thresholds], [schedule], [history]"
        );
        let report = one_error("[report]\nlanguage = \"fr\"\n");
        assert!(
            report.starts_with("venuemon.toml:1:1: unknown table `report`: this version"),
            "{report}"
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
}
