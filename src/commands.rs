//! The command-line commands, called by `main` once arguments are parsed.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::toml::format_duration;
use crate::config::{self, Config, ConfigErrors, Credentials, Thresholds, Warning};
use crate::inventory::Inventory;
use crate::terminal::inert;

/// Exit status for a configuration that does not validate.
pub const EXIT_CONFIG: u8 = 2;

/// This machine's host name, naming the zero-config zone.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "venue".to_string())
}

/// Loads the config (or the zero-config defaults), applies `listen`, and adds warnings for
/// interface patterns that match nothing on this host now.
///
/// # Errors
/// Every problem found in the file, with file, line and column.
pub fn load(
    path: Option<&Path>,
    listen: Option<SocketAddr>,
) -> Result<(Config, Vec<Warning>), ConfigErrors> {
    let host = host_name();
    let (mut config, mut warnings) = match path {
        Some(path) => config::load_file(path, &host)?,
        None => (Config::discovered(&host), Vec::new()),
    };
    if let Some(listen) = listen {
        config.http.listen = listen;
    }
    // After --listen: whether the address is loopback decides.
    if let Some(message) = config::warnings::clear_text_credentials(&config) {
        warnings.push(Warning { message });
    }
    let present = crate::sources::links::present_names(&config);
    for (place, pattern) in Inventory::new(&config).unmatched_patterns(&present) {
        warnings.push(Warning {
            message: config::warnings::unmatched_pattern(place, pattern),
        });
    }
    Ok((config, warnings))
}

/// `venuemon report`: writes the files and names them, or says what stopped it.
pub fn report(options: &crate::report::run::Options) -> ExitCode {
    match crate::report::run::run(options) {
        Ok(written) => {
            for path in written {
                println!("{}", inert(&path.display().to_string()));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("venuemon: {}", inert(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// What a config means, in a few lines for people.
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    let c = config;
    if c.venue.name == host_name() {
        let _ = writeln!(
            out,
            "venue: {} (the host name: [venue] name is not set)",
            c.venue.name
        );
    } else {
        let _ = writeln!(out, "venue: {}", c.venue.name);
    }
    let key = c.agent.state_dir.join(format!("{}.key", c.venue.event));
    let unset = if c.venue.event == config::DEFAULT_EVENT {
        "; [venue] event is not set, so the built-in id is used"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "event id: {}{unset} (the key that turns MAC addresses into client ids is kept in {})",
        c.venue.event,
        key.display()
    );
    let _ = writeln!(out, "listen: {}", c.http.listen);
    if let Some(tls) = &c.http.tls {
        let _ = writeln!(
            out,
            "https: certificate {}, key {}",
            tls.cert.display(),
            tls.key.display()
        );
    }
    let _ = writeln!(
        out,
        "access: pages and API {}; /metrics {}; /healthz open",
        access(c.http.auth.as_ref()),
        access(c.http.metrics_auth.as_ref())
    );
    let _ = writeln!(
        out,
        "sampling: every {} (tick); a device counts as present until {} after it was last \
         seen (active window); state kept in {}",
        format_duration(c.agent.tick),
        format_duration(c.agent.active_window),
        c.agent.state_dir.display()
    );
    let h = &c.history;
    let _ = writeln!(
        out,
        "history: {}",
        if h.enabled {
            format!(
                "{}, kept {}, tick resolution for {} then 1-minute rows",
                h.file(&c.agent.state_dir).display(),
                format_duration(h.retention),
                format_duration(h.downsample_after)
            )
        } else {
            "off".to_string()
        }
    );
    let join = |items: Vec<String>, none: &str| {
        if items.is_empty() {
            none.to_string()
        } else {
            items.join(", ")
        }
    };
    let patterns = |p: &[config::Pattern]| p.iter().map(ToString::to_string).collect();
    let _ = writeln!(
        out,
        "interfaces monitored: {}; left out: {}; those no zone claims count in {}",
        join(
            patterns(&c.interfaces.include),
            "every physical, wireless, bond, VLAN or bridge interface not a container's (no include list)"
        ),
        join(patterns(&c.interfaces.exclude), "none"),
        c.interfaces
            .zone
            .as_deref()
            .map_or("no zone (their clients are not counted)".to_string(), |z| {
                format!("zone {z}")
            }),
    );
    let _ = writeln!(out, "zones:");
    for z in &c.zones {
        let seats = z
            .seats
            .map_or("no seat count (occupancy not judged)".to_string(), |s| {
                format!("{s} seats")
            });
        let _ = writeln!(
            out,
            "  {} \"{}\": {seats}; interfaces {}; subnets {}",
            z.id,
            z.name,
            join(patterns(&z.interfaces), "none"),
            join(z.subnets.iter().map(ToString::to_string).collect(), "none"),
        );
    }
    let _ = writeln!(out, "sources:");
    for line in c.sources.describe() {
        let _ = writeln!(out, "  {line}");
    }
    let global = limits(&c.thresholds);
    let _ = writeln!(out, "thresholds: {}", global.join("; "));
    for z in &c.zones {
        let own: Vec<String> = limits(&z.thresholds)
            .into_iter()
            .zip(&global)
            .filter(|(zone, global)| zone != *global)
            .map(|(zone, _)| zone)
            .collect();
        if !own.is_empty() {
            let _ = writeln!(out, "  zone {}: {}", z.id, own.join("; "));
        }
    }
    out
}

/// What a route group asks for, without its secrets.
fn access(credentials: Option<&Credentials>) -> String {
    let Some(c) = credentials else {
        return "open".to_string();
    };
    let mut ways = Vec::new();
    if let Some((user, _)) = &c.basic {
        ways.push(format!("basic auth for user {user}"));
    }
    if c.bearer.is_some() {
        ways.push("bearer token set".to_string());
    }
    ways.join(" or ")
}

/// Each warn/critical pair of `t`, as people read it.
fn limits(t: &Thresholds) -> [String; 4] {
    let percent = |ratio: f64| (ratio * 1000.0).round() / 10.0;
    let time = |seconds: f64| Duration::from_secs_f64(seconds);
    [
        format!(
            "DHCP pool warn {} %, critical {} %",
            percent(t.dhcp_pool_warn),
            percent(t.dhcp_pool_critical)
        ),
        format!(
            "uplink warn {} %, critical {} %",
            percent(t.uplink_warn),
            percent(t.uplink_critical)
        ),
        format!(
            "occupancy warn {} %, critical {} % of seats",
            percent(t.occupancy_warn),
            percent(t.occupancy_critical)
        ),
        format!(
            "time to lease warn {:?}, critical {:?}",
            time(t.time_to_lease_warn),
            time(t.time_to_lease_critical)
        ),
    ]
}

/// `venuemon check-config FILE`: prints what the file means, or every error in it.
pub fn check_config(path: &Path) -> ExitCode {
    match load(Some(path), None) {
        Ok((config, warnings)) => {
            print!("{}", inert(&describe(&config)));
            for w in &warnings {
                eprintln!("warning: {}", inert(&w.to_string()));
            }
            config.sources.check(&config);
            println!("{}: OK", inert(&path.display().to_string()));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{}", inert(&errors.to_string()));
            let n = errors.0.len();
            eprintln!(
                "{}: {n} {}; fix {} and check again",
                inert(&path.display().to_string()),
                if n == 1 { "error" } else { "errors" },
                if n == 1 { "it" } else { "them" },
            );
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

/// `venuemon doctor [--config FILE] [--json]`: one line per check (or a JSON array); exit 0
/// when nothing failed, 1 when a check failed, 2 when the config does not load.
pub fn doctor(path: Option<&Path>, json: bool) -> ExitCode {
    let (config, warnings) = match load(path, None) {
        Ok(loaded) => loaded,
        Err(errors) => {
            eprintln!("{}", inert(&errors.to_string()));
            eprintln!(
                "venuemon doctor: the configuration has {} error(s); nothing was checked",
                errors.0.len()
            );
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("venuemon: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checks = runtime.block_on(crate::doctor::run(&config, path, &warnings));
    runtime.shutdown_timeout(Duration::from_millis(100));
    if json {
        match serde_json::to_string_pretty(&checks) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("venuemon: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        for check in &checks {
            println!("{}", inert(&check.to_string()));
        }
    }
    if crate::doctor::failed(&checks) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The configuration and simulation of `venuemon run --simulate`: the simulated venue's
/// zones, `listen` over its `[http] listen`, and a history only when `history` names one.
///
/// # Errors
/// The options are out of range.
pub fn simulated(
    options: &crate::simulate::Options,
    listen: Option<SocketAddr>,
    history: Option<std::path::PathBuf>,
) -> anyhow::Result<(Config, crate::simulate::Simulation)> {
    let simulation = crate::simulate::live(options)?;
    let mut config = simulation.config()?;
    if let Some(listen) = listen {
        config.http.listen = listen;
    }
    if let Some(path) = history {
        config.history.enabled = true;
        config.history.path = Some(path);
    }
    Ok((config, simulation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shows_thresholds_and_only_the_zone_overrides() {
        let text = "[thresholds]\ntime_to_lease_warn = \"500ms\"\n\n\
                    [[zone]]\nid = \"hall-a\"\nthresholds = { dhcp_pool_warn = 70 }\n\n\
                    [[zone]]\nid = \"room-b\"\n";
        let (config, _) = config::parse("venuemon.toml", text, "gw-1").expect("valid");
        let out = describe(&config);
        assert!(
            out.contains(
                "thresholds: DHCP pool warn 80 %, critical 95 %; uplink warn 70 %, critical 90 %; \
                 occupancy warn 150 %, critical 200 % of seats; time to lease warn 500ms, critical 5s\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("  zone hall-a: DHCP pool warn 70 %, critical 95 %\n"),
            "{out}"
        );
        assert!(!out.contains("zone room-b:"), "{out}");
    }

    /// Issue 10: "(event default)" and "tick: 5s, active window: 300s" meant nothing to a
    /// newcomer; each line says what the value is and where it comes from.
    #[test]
    fn regression_describe_says_what_each_value_means_and_where_it_comes_from() {
        let (config, _) = config::parse("venuemon.toml", "", "gw-1").expect("valid");
        let out = describe(&config);
        assert!(!out.contains("(event default)"), "{out}");
        assert!(
            out.contains(
                "event id: default; [venue] event is not set, so the built-in id is used (the \
                 key that turns MAC addresses into client ids is kept in "
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "sampling: every 5s (tick); a device counts as present until 5m after it was \
                 last seen (active window); state kept in "
            ),
            "{out}"
        );
        assert!(
            out.contains(": no seat count (occupancy not judged); "),
            "{out}"
        );
        let text =
            "[venue]\nname = \"Expo\"\nevent = \"sdn-2026\"\n\n[agent]\nstate_dir = \"/srv/vm\"\n";
        let (config, _) = config::parse("venuemon.toml", text, "gw-1").expect("valid");
        let out = describe(&config);
        assert!(out.starts_with("venue: Expo\n"), "{out}");
        assert!(
            out.contains(
                "event id: sdn-2026 (the key that turns MAC addresses into client ids is kept \
                 in /srv/vm/sdn-2026.key)\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn describe_names_the_access_rules_but_no_secret() {
        let text = "[http.auth]\nusername = \"crew\"\npassword = \"pw-9f3a\"\ntoken = \"tok-77c1\"\n\n\
                    [http.metrics_auth]\ntoken = \"tok-5e2d\"\n";
        let (config, _) = config::parse("venuemon.toml", text, "gw-1").expect("valid");
        let out = describe(&config);
        assert!(
            out.contains(
                "access: pages and API basic auth for user crew or bearer token set; \
                 /metrics bearer token set; /healthz open\n"
            ),
            "{out}"
        );
        for secret in ["pw-9f3a", "tok-77c1", "tok-5e2d"] {
            assert!(!out.contains(secret), "{out}");
        }
        let (open, _) = config::parse("venuemon.toml", "", "gw-1").expect("valid");
        assert!(
            describe(&open).contains("access: pages and API open; /metrics open; /healthz open\n")
        );
    }

    #[test]
    fn credentials_without_tls_off_loopback_are_a_warning_after_listen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("venuemon.toml");
        let text = "[http]\nlisten = \"127.0.0.1:9842\"\n[http.auth]\ntoken = \"t\"\n\n\
                    [source.netdev]\nenabled = false\n";
        std::fs::write(&path, text).expect("write");
        let clear = |w: &Vec<Warning>| w.iter().any(|w| w.message.contains("clear text"));
        let (_, warnings) = load(Some(&path), None).expect("valid");
        assert!(!clear(&warnings), "{warnings:?}");
        let everywhere = "0.0.0.0:9842".parse().ok();
        let (_, warnings) = load(Some(&path), everywhere).expect("valid");
        assert!(clear(&warnings), "{warnings:?}");
        assert!(
            warnings.iter().any(|w| w.message
                == "[http]: credentials travel in clear text to 0.0.0.0:9842: set tls_cert and \
                    tls_key, or listen on loopback behind a TLS proxy"),
            "{warnings:?}"
        );
    }
}
