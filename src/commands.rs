//! The command-line commands, called by `main` once arguments are parsed.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{self, Config, ConfigErrors, Credentials, Thresholds, Warning};
use crate::inventory::Inventory;
use crate::sources::schedule::{ScheduleSample, ics};
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

/// Names of the interfaces present now, from `/sys/class/net`.
pub fn present_interfaces(sys_root: &Path) -> Vec<String> {
    std::fs::read_dir(sys_root.join("class/net"))
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default()
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
    let present = present_interfaces(&config.sources.netdev.sys_root);
    for (place, pattern) in Inventory::new(&config).unmatched_patterns(&present) {
        warnings.push(Warning {
            message: config::warnings::unmatched_pattern(place, pattern),
        });
    }
    Ok((config, warnings))
}

/// What a config means, in a few lines for people.
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    let c = config;
    let _ = writeln!(out, "venue: {} (event {})", c.venue.name, c.venue.event);
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
        "tick: {:?}, active window: {:?}, state: {}",
        c.agent.tick,
        c.agent.active_window,
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
                config::toml::format_duration(h.retention),
                config::toml::format_duration(h.downsample_after)
            )
        } else {
            "off".to_string()
        }
    );
    let join = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let _ = writeln!(
        out,
        "interfaces: include {}, exclude {}, unclaimed go to zone {}",
        join(
            c.interfaces
                .include
                .iter()
                .map(ToString::to_string)
                .collect()
        ),
        join(
            c.interfaces
                .exclude
                .iter()
                .map(ToString::to_string)
                .collect()
        ),
        c.interfaces.zone.as_deref().unwrap_or("-"),
    );
    let _ = writeln!(out, "zones:");
    for z in &c.zones {
        let seats = z
            .seats
            .map_or("seats unknown".to_string(), |s| format!("{s} seats"));
        let _ = writeln!(
            out,
            "  {} \"{}\": {seats}; interfaces {}; subnets {}",
            z.id,
            z.name,
            join(z.interfaces.iter().map(ToString::to_string).collect()),
            join(z.subnets.iter().map(ToString::to_string).collect()),
        );
    }
    let _ = writeln!(out, "sources:");
    let state = |enabled: bool| if enabled { "on" } else { "off" };
    let n = &c.sources.netdev;
    let _ = writeln!(
        out,
        "  netdev: {}, backend {}",
        state(n.enabled),
        n.backend.name()
    );
    let n = &c.sources.neighbours;
    let _ = writeln!(
        out,
        "  neighbours: {}, backend {}",
        state(n.enabled),
        n.backend.name()
    );
    for d in &c.sources.dhcp {
        let pool = if d.pool.is_empty() {
            "size unknown".to_string()
        } else {
            format!("{} addresses", d.pool.iter().map(|r| r.size()).sum::<u64>())
        };
        let statistics = d
            .control_socket
            .as_ref()
            .map(|p| format!(", statistics {}", p.display()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  dhcp {}: {} leases {}, pool {pool}, zone {}{statistics}",
            d.name,
            d.kind.name(),
            d.leases.display(),
            d.zone.as_deref().unwrap_or("by subnet"),
        );
    }
    for h in &c.sources.hostapd {
        let sockets = if h.sockets.is_empty() {
            format!("every socket in {}", h.ctrl_dir.display())
        } else {
            let paths: Vec<String> = h.sockets.iter().map(|p| p.display().to_string()).collect();
            paths.join(", ")
        };
        let zone = h.zone.as_deref().unwrap_or("by interface");
        let _ = writeln!(out, "  hostapd: {sockets}, zone {zone}");
    }
    for capture in &c.sources.capture {
        let zone = capture.zone.as_deref().unwrap_or("by interface");
        let aps = capture.bssids.len();
        let _ = writeln!(
            out,
            "  capture: {}, zone {zone}, {aps} own BSSIDs",
            capture.interface
        );
    }
    if let Some(schedule) = &c.schedule {
        let _ = writeln!(out, "  schedule: {}", schedule.file.display());
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

/// Reads the programme as the agent will, and says how many sessions land in zones and when
/// the programme starts and ends (in the venue's time zone and UTC, so a user sees the times
/// were understood); rooms no zone is called, unreadable events, unknown time zones and an
/// unreadable file are warnings (the agent runs without them).
fn check_programme(config: &Config, file: &Path) {
    let shown = inert(&file.display().to_string()).into_owned();
    let bytes = match crate::files::read_regular(file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!(
                "warning: [schedule] file {shown}: {e}; the page shows no sessions until it can be read"
            );
            return;
        }
    };
    let time_zone = config.venue.time_zone();
    let programme = ics::parse(&bytes, &time_zone);
    let span = programme.span();
    let sample = ScheduleSample::place(programme, &Inventory::new(config));
    let all = if sample.skipped == 0 && sample.unplaced.is_empty() {
        ", every session placed"
    } else {
        ""
    };
    println!(
        "programme {shown}: {} sessions in zones{all}",
        sample.sessions.len()
    );
    if let Some((first, last)) = span {
        let at = |seconds: i64, zone: &jiff::tz::TimeZone| {
            jiff::Timestamp::from_second(seconds).map_or_else(
                |_| seconds.to_string(),
                |t| {
                    t.to_zoned_datetime(zone.clone())
                        .strftime("%Y-%m-%d %H:%M %:z")
                        .to_string()
                },
            )
        };
        let utc = jiff::tz::TimeZone::UTC;
        println!(
            "programme span: {} to {} in {} ({} to {} UTC)",
            at(first, &time_zone),
            at(last, &time_zone),
            time_zone.iana_name().unwrap_or("UTC"),
            at(first, &utc).trim_end_matches(" +00:00"),
            at(last, &utc).trim_end_matches(" +00:00"),
        );
    }
    if sample.skipped > 0 {
        eprintln!(
            "warning: {shown}: {} event(s) cannot be read (no LOCATION, no start or end, \
             an end before the start, or an unknown TZID)",
            sample.skipped
        );
    }
    if !sample.unknown_zones.is_empty() {
        let zones: Vec<String> = sample
            .unknown_zones
            .iter()
            .map(|z| format!("{z:?}"))
            .collect();
        eprintln!(
            "warning: {shown}: unknown TZID {}: neither defined by a VTIMEZONE this reader \
             can follow nor an IANA or Windows zone name; export the programme with its \
             VTIMEZONEs or in UTC",
            zones.join(", ")
        );
    }
    for (room, n) in &sample.unplaced {
        eprintln!(
            "warning: {shown}: {n} session(s) in room {room:?}, which no zone is called \
             (a [[zone]]'s id or name must equal the LOCATION)"
        );
    }
}

/// `venuemon check-config FILE`: prints what the file means, or every error in it.
pub fn check_config(path: &Path) -> ExitCode {
    match load(Some(path), None) {
        Ok((config, warnings)) => {
            print!("{}", inert(&describe(&config)));
            for w in &warnings {
                eprintln!("warning: {}", inert(&w.to_string()));
            }
            if let Some(schedule) = &config.schedule {
                check_programme(&config, &schedule.file);
            }
            println!("{}: OK", inert(&path.display().to_string()));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{}", inert(&errors.to_string()));
            eprintln!(
                "{}: {} error(s); nothing was started",
                inert(&path.display().to_string()),
                errors.0.len()
            );
            ExitCode::from(EXIT_CONFIG)
        }
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
