//! `venuemon report` end to end: load the config and programme, read the source, compute,
//! write the files asked for.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::tz::TimeZone;

use super::prometheus::{Limits, Prometheus};
use super::{Words, compare_with, html, json, print_pdf, programme, reports, write_csv};
use crate::config::{Config, Language};

/// How far back the whole event is looked for when `--from` is not given.
const LOOKBACK_DAYS: u32 = 90;

/// What `venuemon report` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Start (RFC 3339, or a local date and time in the venue's time zone).
    pub from: Option<String>,
    /// End, the same forms.
    pub to: Option<String>,
    /// The HTML file to write.
    pub out: PathBuf,
    /// Language; else the config's `[venue] language`; else English.
    pub language: Option<Language>,
    /// The programme (iCalendar); else the config's `[schedule] file`.
    pub programme: Option<PathBuf>,
    /// The agent's config: zone names, limits, time zone, language, programme.
    pub config: Option<PathBuf>,
    /// Attendance, for traffic per attendee.
    pub attendees: Option<u64>,
    /// Also print the HTML to a PDF beside it.
    pub pdf: bool,
    /// Write every table as CSV in this directory.
    pub csv: Option<PathBuf>,
    /// Write every figure as JSON to this file.
    pub json: Option<PathBuf>,
    /// A previous `--json` export to compare with.
    pub compare: Option<PathBuf>,
    /// Prometheus' HTTP API.
    pub prometheus_url: Option<String>,
}

/// Parses a `--from`/`--to` time: RFC 3339 (`2026-06-03T08:00:00Z`), or a date and time
/// without offset (`2026-06-03 08:00`, `2026-06-03`) in the venue's time zone.
fn parse_time(text: &str, zone: &TimeZone, flag: &str) -> anyhow::Result<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    let civil = text.parse::<jiff::civil::DateTime>().or_else(|_| {
        text.parse::<jiff::civil::Date>()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    });
    match civil
        .ok()
        .and_then(|c| c.to_zoned_datetime(zone.clone()).ok())
    {
        Some(z) => Ok(z.timestamp().as_second()),
        None => bail!(
            "{flag} {text:?} is not a time: write 2026-06-03T08:00:00Z, 2026-06-03 08:00 (venue time) or 2026-06-03"
        ),
    }
}

/// Writes the report; returns the files written.
///
/// # Errors
/// Anything that stops the report, worded for the person running the command.
pub fn run(options: &Options) -> anyhow::Result<Vec<PathBuf>> {
    let config = match &options.config {
        Some(path) => {
            let (config, _) = crate::config::load_file(path, &crate::commands::host_name())
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("the configuration {} has errors", path.display()))?;
            Some(config)
        }
        None => None,
    };
    let zone = config
        .as_ref()
        .map_or(TimeZone::UTC, |c| c.venue.time_zone());
    let language = options
        .language
        .or(config.as_ref().map(|c| c.venue.language))
        .unwrap_or(Language::En);
    let words = Words::new(language, zone.clone());
    let programme_path = options.programme.clone().or_else(|| {
        config
            .as_ref()
            .and_then(|c| c.sources.schedule.as_ref())
            .map(|s| s.file.clone())
    });
    let sessions = match &programme_path {
        Some(path) => programme(path, &zone)?,
        None => Vec::new(),
    };
    let Some(url) = &options.prometheus_url else {
        bail!(
            "the report reads Prometheus for now: give --prometheus-url http://HOST:9090 (a Prometheus that scrapes the agents); reading venuemon's own history comes with the history store"
        );
    };
    let prometheus = Prometheus::new(url)?;
    let limits = limits(config.as_ref());
    let venue_name = config
        .as_ref()
        .map_or_else(|| "venue".to_string(), |c| c.venue.name.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let venues = runtime.block_on(async {
        let now = jiff::Timestamp::now().as_second();
        let (first, last) = match (&options.from, &options.to) {
            (Some(from), Some(to)) => (
                parse_time(from, &zone, "--from")?,
                parse_time(to, &zone, "--to")?,
            ),
            _ => {
                let (first, last) = prometheus.span(now, LOOKBACK_DAYS).await?;
                (
                    options
                        .from
                        .as_deref()
                        .map_or(Ok(first), |f| parse_time(f, &zone, "--from"))?,
                    options
                        .to
                        .as_deref()
                        .map_or(Ok(last), |t| parse_time(t, &zone, "--to"))?,
                )
            }
        };
        if last <= first {
            bail!("the period is empty: --to must be after --from");
        }
        prometheus
            .event_data(first, last, &limits, &venue_name)
            .await
    })?;
    if venues.iter().all(|v| v.zones.is_empty()) {
        bail!(
            "Prometheus at {url} holds no venuemon_zone_clients in that period: check the period, and that Prometheus scrapes the agents"
        );
    }
    let mut reports = reports(
        venues,
        &sessions,
        options.attendees,
        words.pick("Tous les lieux", "All venues"),
    );
    if let Some(previous) = &options.compare {
        compare_with(&mut reports, previous)?;
    }
    let mut written = Vec::new();
    write(&options.out, html(&reports, &words))?;
    written.push(options.out.clone());
    if let Some(path) = &options.json {
        write(path, json(&reports))?;
        written.push(path.clone());
    }
    if let Some(dir) = &options.csv {
        written.extend(write_csv(&reports, dir)?);
    }
    if options.pdf {
        let pdf = options.out.with_extension("pdf");
        print_pdf(&options.out, &pdf)?;
        written.push(pdf);
    }
    Ok(written)
}

fn write(path: &Path, text: String) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The config's limits, or the defaults.
fn limits(config: Option<&Config>) -> Limits {
    let base = config.map_or_else(crate::config::Thresholds::default, |c| c.thresholds.clone());
    Limits {
        uplink_critical: config
            .map(|c| {
                c.zones
                    .iter()
                    .map(|z| (z.id.clone(), z.thresholds.uplink_critical))
                    .collect()
            })
            .unwrap_or_default(),
        default_uplink_critical: base.uplink_critical,
        time_to_lease_warn: base.time_to_lease_warn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_venue_local() {
        let utc = TimeZone::UTC;
        assert_eq!(
            parse_time("2026-06-03T08:00:00Z", &utc, "--from").ok(),
            Some(1_780_473_600)
        );
        assert_eq!(
            parse_time("2026-06-03 08:00", &utc, "--from").ok(),
            Some(1_780_473_600)
        );
        assert_eq!(
            parse_time("2026-06-03", &utc, "--from").ok(),
            Some(1_780_444_800)
        );
        let paris = TimeZone::get("Europe/Paris").expect("tzdb");
        assert_eq!(
            parse_time("2026-06-03 10:00", &paris, "--from").ok(),
            Some(1_780_473_600)
        );
        let e = parse_time("yesterday", &utc, "--to").expect_err("refused");
        assert!(e.to_string().contains("--to \"yesterday\" is not a time"));
    }

    #[test]
    fn no_prometheus_url_is_a_clear_error() {
        let e = run(&Options::default()).expect_err("refused");
        assert!(e.to_string().contains("--prometheus-url"), "{e}");
    }
}
