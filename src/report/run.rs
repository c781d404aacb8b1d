//! `venuemon report` end to end: load the config and programme, read the source, compute,
//! write the files asked for.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jiff::tz::TimeZone;

use super::data::EventData;
use super::figures::{Figures, figures};
use super::history::{History, is_sqlite};
use super::period::{Period, Why, choose, programme_days};
use super::prometheus::{Limits, Prometheus};
use super::{
    Programme, ProgrammeNote, Words, compare_with, html, json, previous_export, print_pdf,
    programme, reports, write_csv,
};
use crate::config::{Config, Language};

/// How far back the whole event is looked for when `--from` is not given.
const LOOKBACK_DAYS: u32 = 90;

/// Where the report's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// venuemon's own history file.
    History,
    /// A Prometheus HTTP API that scrapes the agents.
    Prometheus,
}

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
    /// A previous history file or `--json` export to compare with.
    pub compare: Option<PathBuf>,
    /// Where the data comes from; else the history when `--prometheus-url` is not given.
    pub source: Option<Source>,
    /// The history file; else the configured one.
    pub history: Option<PathBuf>,
    /// Prometheus' HTTP API.
    pub prometheus_url: Option<String>,
}

/// Parses a `--from`/`--to` time: RFC 3339 (`2026-06-03T08:00:00Z`), or a date and time
/// without offset (`2026-06-03 08:00`) in the venue's time zone, or a date (`2026-06-03`):
/// that day's start in the venue's time zone, or its end (the next day's start) when `end`
/// (for `--to`, so that `--to 2026-06-03` takes that day in).
fn parse_time(text: &str, zone: &TimeZone, flag: &str, end: bool) -> anyhow::Result<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    let date_only = !text.contains(['T', 't', ' ']);
    let civil = text.parse::<jiff::civil::DateTime>().and_then(|c| {
        if date_only && end {
            c.date().tomorrow().map(|d| d.to_datetime(c.time()))
        } else {
            Ok(c)
        }
    });
    let Ok(civil) = civil else {
        bail!(
            "{flag} {text:?} is not a time: write 2026-06-03T08:00:00Z, 2026-06-03 08:00 (venue time) or 2026-06-03"
        );
    };
    let local = zone.to_ambiguous_zoned_datetime(civil);
    if let jiff::tz::AmbiguousOffset::Gap { after, .. } = local.offset() {
        // The clocks jumped over it: the next valid time is where they jumped to.
        let next = after
            .to_timestamp(civil)
            .ok()
            .and_then(|t| zone.following(t).next())
            .map(|jump| {
                zone.to_datetime(jump.timestamp())
                    .strftime("%Y-%m-%d %H:%M")
            });
        let next = next.map_or_else(String::new, |n| format!(": give {n}, the next valid time"));
        bail!(
            "{flag} {text:?} does not exist in the venue's time zone{}: the clocks skip it \
             (a daylight saving time change){next}",
            zone.iana_name()
                .map_or_else(String::new, |n| format!(" ({n})"))
        );
    }
    // A time that happens twice (the clocks going back) is its first occurrence.
    match local.earlier() {
        Ok(z) => Ok(z.timestamp().as_second()),
        Err(_) => bail!("{flag} {text:?} is out of range: give a time between 1970 and 9999"),
    }
}

/// Writes the report; returns the files written.
///
/// # Errors
/// Anything that stops the report, worded for the person running the command.
pub fn run(options: &Options) -> anyhow::Result<Vec<PathBuf>> {
    if options.attendees == Some(0) {
        bail!(
            "--attendees 0: the attendance must be at least 1 (the people who came); leave \
             --attendees out when it is not known"
        );
    }
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
        .map_or_else(|| history_time_zone(options), |c| c.venue.time_zone());
    let language = options
        .language
        .or(config.as_ref().map(|c| c.venue.language))
        .unwrap_or(Language::En);
    let words = Words::new(language, zone.clone());
    let programme = sessions(options.programme.as_deref(), config.as_ref(), &zone)?;
    let limits = limits(config.as_ref());
    // A history file given on the command line is read, even with a Prometheus URL in the
    // environment; else a Prometheus URL is.
    let source = options.source.unwrap_or(
        if options.prometheus_url.is_some() && options.history.is_none() {
            Source::Prometheus
        } else {
            Source::History
        },
    );
    let (from, to) = asked(options, &zone)?;
    let days = programme_days(programme.sessions(), &zone);
    let (venues, period) = match source {
        Source::History => {
            let path = history_file(options, config.as_ref())?;
            let history = History::open(&path)?;
            let span = history.span()?.ok_or_else(|| {
                anyhow::anyhow!(
                    "the history {} holds no tick yet: run the agent (or venuemon simulate) first",
                    path.display()
                )
            })?;
            let period = ordered(choose(from, to, days, &history, &zone)?, options)?;
            // A report of a period with no data would read as "all clear".
            if period.last <= span.0 || period.first >= span.1 {
                let time = |t: i64| {
                    jiff::Timestamp::from_second(t).map_or(t.to_string(), |t| {
                        t.to_zoned_datetime(zone.clone())
                            .strftime("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                };
                bail!(
                    "the history {} holds nothing from {} to {}: it covers {} to {}; give \
                     --from and --to inside that",
                    path.display(),
                    time(period.first),
                    time(period.last),
                    time(span.0),
                    time(span.1)
                );
            }
            let data = from_history(
                &history,
                period.first,
                period.last,
                &limits,
                config.as_ref(),
            )?;
            (vec![data], period)
        }
        Source::Prometheus => from_prometheus(options, config.as_ref(), (from, to, days), &limits)?,
    };
    tracing::info!(
        from = %super::rfc3339(period.first),
        to = %super::rfc3339(period.last),
        why = %period.note(&Words::new(Language::En, zone.clone()), &zone),
        "the report's period"
    );
    let mut reports = reports(
        venues,
        &programme,
        options.attendees,
        words.pick("Tous les lieux", "All venues"),
    );
    for report in &reports {
        if let ProgrammeNote::Read { unplaced } = &report.programme
            && !unplaced.is_empty()
        {
            tracing::warn!(
                venue = %report.figures.venue,
                sessions = unplaced.values().sum::<usize>(),
                rooms = %unplaced.keys().cloned().collect::<Vec<_>>().join(", "),
                "sessions of the programme are in rooms the data does not hold: the report \
                 leaves them out; name the rooms (LOCATION) as the zones' names or ids"
            );
        }
    }
    let note = period.note(&words, &zone);
    for report in &mut reports {
        report.period_note.clone_from(&note);
    }
    if let Some(previous) = &options.compare {
        let figures = previous_figures(previous, &limits, config.as_ref(), &zone)?;
        compare_with(&mut reports, &figures);
        warn_compared(&reports, previous);
    }
    let mut written = Vec::new();
    write(&options.out, html(&reports, &words))?;
    written.push(options.out.clone());
    if let Some(path) = &options.json {
        write(path, json(&reports))?;
        written.push(path.clone());
    }
    if let Some(dir) = &options.csv {
        written.extend(write_csv(&reports, &words, dir)?);
    }
    if options.pdf {
        let pdf = options.out.with_extension("pdf");
        print_pdf(&options.out, &pdf)?;
        written.push(pdf);
    }
    Ok(written)
}

/// One warning per report whose compared figures are likely not a previous edition: they
/// start after its period, or cover less than half as long.
fn warn_compared(reports: &[super::Report], path: &Path) {
    for report in reports {
        let f = &report.figures;
        let Some(compared) = report.compared else {
            continue;
        };
        let Some(doubt) = super::compare::doubt((f.from, f.to), compared) else {
            continue;
        };
        tracing::warn!(
            compared = %path.display(),
            venue = %f.venue,
            compared_from = %super::rfc3339(compared.from),
            compared_to = %super::rfc3339(compared.to),
            from = %super::rfc3339(f.from),
            to = %super::rfc3339(f.to),
            "the compared data covers {}: give a history or --json export of the previous \
             edition",
            match doubt {
                super::compare::Doubt::Later => "a period starting after this report's",
                super::compare::Doubt::Shorter => "less than half as long as this report's period",
            }
        );
    }
}

/// The programme's sessions: from `--programme`, which must be read (it was asked for), else
/// from the configured `[schedule] file`: when that file does not exist (the programme of a
/// past event moved away, or never copied to this machine), one warning and no sessions.
fn sessions(
    asked: Option<&Path>,
    config: Option<&Config>,
    zone: &TimeZone,
) -> anyhow::Result<Programme> {
    if let Some(path) = asked {
        return programme(path, zone);
    }
    let Some(schedule) = config.and_then(|c| c.sources.schedule.as_ref()) else {
        return Ok(Programme::NotGiven);
    };
    if matches!(schedule.file.try_exists(), Ok(false)) {
        tracing::warn!(
            programme = %schedule.file.display(),
            "{}",
            missing_programme(&schedule.file)
        );
        return Ok(Programme::Missing(schedule.file.clone()));
    }
    programme(&schedule.file, zone)
}

/// The warning for a configured programme `file` that does not exist.
fn missing_programme(file: &Path) -> String {
    format!(
        "the programme file named by [schedule] file ({}) does not exist: the report leaves \
         the sessions out (give --programme FILE to put them in)",
        file.display()
    )
}

/// `--history`, else the configured history file.
fn history_file(options: &Options, config: Option<&Config>) -> anyhow::Result<PathBuf> {
    options
        .history
        .clone()
        .or_else(|| config.map(|c| c.history.file(&c.agent.state_dir)))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "give the history to read: --history FILE (the agent's history.sqlite), --config \
                 FILE (its configured [history]), or --prometheus-url URL to read Prometheus"
            )
        })
}

/// Without a config, the venue's time zone as the agent that wrote the `--history` file knew
/// it; UTC when there is none (or the report reads Prometheus).
fn history_time_zone(options: &Options) -> TimeZone {
    options
        .history
        .as_deref()
        .filter(|_| options.source != Some(Source::Prometheus))
        .and_then(|path| History::open(path).ok())
        .and_then(|history| history.time_zone())
        .unwrap_or(TimeZone::UTC)
}

/// `--from` and `--to` as given, in Unix seconds (`--to` a date is the end of that day).
fn asked(options: &Options, zone: &TimeZone) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    Ok((
        options
            .from
            .as_deref()
            .map(|f| parse_time(f, zone, "--from", false))
            .transpose()?,
        options
            .to
            .as_deref()
            .map(|t| parse_time(t, zone, "--to", true))
            .transpose()?,
    ))
}

/// `period`, if it is not empty.
fn ordered(period: Period, options: &Options) -> anyhow::Result<Period> {
    if period.last <= period.first {
        if options.to.is_none() {
            bail!(
                "the period is empty: --from is at or after the end of the data, where --to \
                 defaults to: give an earlier --from, or a --to"
            );
        }
        if options.from.is_none() {
            bail!(
                "the period is empty: --to is at or before the start of the event, where \
                 --from defaults to: give a later --to, or a --from"
            );
        }
        bail!("the period is empty: --to must be after --from");
    }
    Ok(period)
}

/// The event's data from a history over `[first, last)`, zones named as `config` names them,
/// else (zones the config does not hold, or no config) as the agent that wrote the history did.
fn from_history(
    history: &History,
    first: i64,
    last: i64,
    limits: &Limits,
    config: Option<&Config>,
) -> anyhow::Result<EventData> {
    let mut names = history.zone_names();
    if let Some(c) = config {
        names.extend(c.zones.iter().map(|z| (z.id.clone(), z.name.clone())));
    }
    let venue = config
        .map(|c| c.venue.name.clone())
        .or_else(|| history.venue())
        .unwrap_or_else(|| "venue".to_string());
    history.event_data(first, last, limits, &names, &venue)
}

/// The event's data from Prometheus, one per venue, and its period: `asked` (`--from`,
/// `--to`, the programme's days) as for the history, else the first to the last data of the
/// last [`LOOKBACK_DAYS`] days (Prometheus is not asked for the gaps between its samples).
fn from_prometheus(
    options: &Options,
    config: Option<&Config>,
    (from, to, days): (Option<i64>, Option<i64>, Option<(i64, i64)>),
    limits: &Limits,
) -> anyhow::Result<(Vec<EventData>, Period)> {
    let Some(url) = &options.prometheus_url else {
        bail!(
            "--source prometheus needs --prometheus-url http://HOST:9090 (a Prometheus that scrapes the agents)"
        );
    };
    let prometheus = Prometheus::new(url)?;
    let venue_name = config.map_or_else(|| "venue".to_string(), |c| c.venue.name.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (venues, period) = runtime.block_on(async {
        let period = match (from, to, days) {
            (Some(first), Some(last), _) => Period {
                first,
                last,
                why: Why::Asked,
                held: None,
                cut: true,
            },
            (None, to, Some(days)) => {
                // Cut to the agents' first and last snapshots in them, when Prometheus holds
                // some of the last LOOKBACK_DAYS days (an older programme is taken whole).
                let now = jiff::Timestamp::now().as_second();
                let (first, last) = prometheus
                    .span(now, LOOKBACK_DAYS)
                    .await
                    .ok()
                    .filter(|span| span.0 < days.1 && span.1 > days.0)
                    .map_or(days, |span| (span.0.max(days.0), span.1.min(days.1)));
                Period {
                    first,
                    last: to.unwrap_or(last),
                    why: Why::Programme { days, other: None },
                    held: None,
                    cut: to.is_some(),
                }
            }
            (from, to, _) => {
                let now = jiff::Timestamp::now().as_second();
                let span = prometheus.span(now, LOOKBACK_DAYS).await?;
                Period {
                    first: from.unwrap_or(span.0),
                    last: to.unwrap_or(span.1),
                    why: if from.is_some() {
                        Why::Asked
                    } else {
                        Why::Lookback {
                            days: LOOKBACK_DAYS,
                        }
                    },
                    held: None,
                    cut: to.is_some(),
                }
            }
        };
        let period = ordered(period, options)?;
        let venues = prometheus
            .event_data(period.first, period.last, limits, &venue_name)
            .await?;
        anyhow::Ok((venues, period))
    })?;
    if venues.iter().all(|v| v.zones.is_empty()) {
        bail!(
            "Prometheus at {url} holds no venuemon_zone_clients in that period: check the period, and that Prometheus scrapes the agents"
        );
    }
    Ok((venues, period))
}

/// The headline figures of the previous event at `path`: a history file (its last run, as
/// for this report without a programme) or a `--json` export.
fn previous_figures(
    path: &Path,
    limits: &Limits,
    config: Option<&Config>,
    zone: &TimeZone,
) -> anyhow::Result<Vec<Figures>> {
    let mut start = Vec::new();
    crate::files::open_regular(path)
        .and_then(|file| std::io::Read::read_to_end(&mut std::io::Read::take(file, 16), &mut start))
        .with_context(|| format!("cannot read the previous report {}", path.display()))?;
    if !is_sqlite(&start) {
        return previous_export(path);
    }
    let history = History::open(path)?;
    if history.span()?.is_none() {
        bail!(
            "the previous history {} holds no tick: give last year's history or --json export",
            path.display()
        );
    }
    let period = choose(None, None, None, &history, zone)?;
    let data = from_history(&history, period.first, period.last, limits, config)?;
    Ok(vec![figures(&data, None)])
}

fn write(path: &Path, text: String) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The config's limits, or the defaults.
pub(crate) fn limits(config: Option<&Config>) -> Limits {
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
        occupancy_warn: config
            .map(|c| {
                c.zones
                    .iter()
                    .map(|z| (z.id.clone(), z.thresholds.occupancy_warn))
                    .collect()
            })
            .unwrap_or_default(),
        default_occupancy_warn: base.occupancy_warn,
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
            parse_time("2026-06-03T08:00:00Z", &utc, "--from", false).ok(),
            Some(1_780_473_600)
        );
        assert_eq!(
            parse_time("2026-06-03 08:00", &utc, "--from", false).ok(),
            Some(1_780_473_600)
        );
        assert_eq!(
            parse_time("2026-06-03", &utc, "--from", false).ok(),
            Some(1_780_444_800)
        );
        let paris = TimeZone::get("Europe/Paris").expect("tzdb");
        assert_eq!(
            parse_time("2026-06-03 10:00", &paris, "--from", false).ok(),
            Some(1_780_473_600)
        );
        // A date alone is its whole day for --to.
        assert_eq!(
            parse_time("2026-06-03", &utc, "--to", true).ok(),
            Some(1_780_444_800 + 86_400)
        );
        assert_eq!(
            parse_time("2026-06-03", &paris, "--to", true).ok(),
            Some(1_780_444_800 + 86_400 - 7_200)
        );
        assert_eq!(
            parse_time("2026-06-03 08:00", &utc, "--to", true).ok(),
            Some(1_780_473_600)
        );
        let e = parse_time("yesterday", &utc, "--to", true).expect_err("refused");
        assert!(e.to_string().contains("--to \"yesterday\" is not a time"));
    }

    /// Regression: a local time in a DST gap became an hour later, and with --to inside the
    /// gap too the report said "--to must be after --from".
    #[test]
    fn a_local_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_first() {
        let toronto = TimeZone::get("America/Toronto").expect("tzdb");
        let e = parse_time("2026-03-08 02:30", &toronto, "--from", false).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "--from \"2026-03-08 02:30\" does not exist in the venue's time zone \
             (America/Toronto): the clocks skip it (a daylight saving time change): give \
             2026-03-08 03:00, the next valid time"
        );
        // 01:30 happens twice on 1 November 2026: at -04:00 first, then at -05:00.
        assert_eq!(
            parse_time("2026-11-01 01:30", &toronto, "--from", false).ok(),
            Some(
                "2026-11-01T01:30:00-04:00"
                    .parse::<jiff::Timestamp>()
                    .expect("time")
                    .as_second()
            )
        );
    }

    #[test]
    fn regression_attendees_0_is_refused_not_ignored() {
        let e = run(&Options {
            attendees: Some(0),
            ..Options::default()
        })
        .expect_err("refused");
        assert!(
            e.to_string()
                .starts_with("--attendees 0: the attendance must be at least 1"),
            "{e}"
        );
    }

    #[test]
    fn regression_a_missing_configured_programme_leaves_sessions_out_and_a_missing_asked_one_stops()
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = crate::history::testing::quick_event(dir.path());
        let (history, programme) = (out.history.expect("history"), out.programme.expect("ics"));
        let config = dir.path().join("venuemon.toml");
        std::fs::write(
            &config,
            format!("[schedule]\nfile = \"{}\"\n", programme.display()),
        )
        .expect("config");
        let report = |programme: Option<&Path>| {
            run(&Options {
                out: dir.path().join("report.html"),
                config: Some(config.clone()),
                history: Some(history.clone()),
                programme: programme.map(Path::to_path_buf),
                ..Options::default()
            })
        };
        let html = || std::fs::read_to_string(dir.path().join("report.html")).expect("html");
        report(None).expect("a report with its programme");
        assert!(html().contains("Keynote"), "the sessions are in");

        let gone = dir.path().join("gone.ics");
        std::fs::rename(&programme, &gone).expect("programme moved away");
        report(None).expect("a report without the programme");
        assert!(!html().contains("Keynote"), "no session");

        // Regression: the warning read "the programme `file` in [schedule] names does not
        // exist", naming neither the key plainly nor the file.
        assert_eq!(
            missing_programme(&programme),
            format!(
                "the programme file named by [schedule] file ({}) does not exist: the report \
                 leaves the sessions out (give --programme FILE to put them in)",
                programme.display()
            )
        );
        let e = report(Some(&programme)).expect_err("--programme was asked for");
        assert!(
            format!("{e:#}").contains(&format!(
                "cannot read the programme {}",
                programme.display()
            )),
            "{e:#}"
        );
    }

    /// Regression: zones missing from `--config` showed as their ids (`restaurant`) though
    /// the history holds their names.
    #[test]
    fn zones_the_config_does_not_hold_take_their_names_from_the_history() {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = crate::history::testing::quick_event(dir.path())
            .history
            .expect("history");
        let config = dir.path().join("venuemon.toml");
        std::fs::write(
            &config,
            "[[zone]]\nid = \"main-hall\"\nname = \"Grande salle\"\n",
        )
        .expect("config");
        run(&Options {
            out: dir.path().join("report.html"),
            config: Some(config),
            history: Some(history),
            csv: Some(dir.path().join("csv")),
            ..Options::default()
        })
        .expect("report");
        let zones = std::fs::read_to_string(dir.path().join("csv/zones.csv")).expect("zones.csv");
        assert!(zones.contains(",main-hall,Grande salle,"), "{zones}");
        assert!(zones.contains(",restaurant,Restaurant,"), "{zones}");
        assert!(zones.contains(",room-01,Room 1,"), "{zones}");
    }

    /// Regression: headline.csv lacked the busiest link's interface and the lowest pool that
    /// the JSON names.
    #[test]
    fn headline_csv_names_the_busiest_link_and_the_lowest_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = crate::history::testing::quick_event(dir.path())
            .history
            .expect("history");
        let json = dir.path().join("report.json");
        run(&Options {
            out: dir.path().join("report.html"),
            history: Some(history),
            csv: Some(dir.path().join("csv")),
            json: Some(json.clone()),
            ..Options::default()
        })
        .expect("report");
        let export: super::super::Export =
            serde_json::from_str(&std::fs::read_to_string(json).expect("json")).expect("export");
        let h = &export.reports[0].figures.headline;
        let (link, pool) = (
            h.uplink_peak_interface.clone().expect("a busiest link"),
            h.min_headroom.as_ref().expect("a lowest pool").pool.clone(),
        );
        let csv = std::fs::read_to_string(dir.path().join("csv/headline.csv")).expect("csv");
        let row = |figure: &str| {
            csv.lines()
                .find(|l| l.split(',').nth(1) == Some(figure))
                .map(|l| l.rsplit(',').next().unwrap_or_default().to_string())
        };
        assert!(csv.starts_with("venue,figure,value,at,of\n"), "{csv}");
        assert_eq!(row("uplink_peak"), Some(link), "{csv}");
        assert_eq!(row("min_headroom_free"), Some(pool), "{csv}");
    }

    /// Regression: a programme whose rooms no zone of the history is, or that holds no
    /// readable session, gave a report saying "No programme was given for this report".
    #[test]
    fn a_programme_in_rooms_the_data_does_not_hold_or_unreadable_is_said_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = crate::history::testing::quick_event(dir.path());
        let (history, programme) = (out.history.expect("history"), out.programme.expect("ics"));
        let ics = std::fs::read_to_string(&programme).expect("ics");
        let sessions = ics.matches("BEGIN:VEVENT").count();
        let ghost: String = ics
            .lines()
            .map(|l| {
                if l.starts_with("LOCATION:") {
                    "LOCATION:Nowhere room\r\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let (ghost_file, garbage) = (dir.path().join("ghost.ics"), dir.path().join("garbage.ics"));
        std::fs::write(&ghost_file, ghost).expect("ghost.ics");
        std::fs::write(&garbage, "not a calendar\n").expect("garbage.ics");
        let report = |programme: &Path, language: Language| {
            run(&Options {
                out: dir.path().join("report.html"),
                history: Some(history.clone()),
                programme: Some(programme.to_path_buf()),
                language: Some(language),
                ..Options::default()
            })
            .expect("report");
            std::fs::read_to_string(dir.path().join("report.html")).expect("html")
        };
        let html = report(&ghost_file, Language::En);
        assert!(
            html.contains(&format!(
                "{sessions} sessions in rooms the data does not hold: Nowhere room ({sessions}); \
                 name the programme&#39;s rooms as the zones&#39; names or ids."
            )),
            "{html}"
        );
        assert!(!html.contains("No programme was given"));
        let html = report(&ghost_file, Language::Fr);
        assert!(
            html.contains(&format!(
                "{sessions} sessions dans des salles que les données ne connaissent pas"
            )),
            "{html}"
        );
        let html = report(&garbage, Language::En);
        assert!(
            html.contains(&format!(
                "The programme could not be read: {} holds no session venuemon can read",
                garbage.display()
            )),
            "{html}"
        );
        assert!(!html.contains("No programme was given"));
        let html = run(&Options {
            out: dir.path().join("report.html"),
            history: Some(history.clone()),
            ..Options::default()
        })
        .map(|_| std::fs::read_to_string(dir.path().join("report.html")).expect("html"))
        .expect("report");
        assert!(html.contains("No programme was given for this report."));
    }

    /// Regression: a period outside the history gave an "all clear" report.
    #[test]
    fn a_period_the_history_does_not_cover_is_refused_and_a_given_history_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let history = crate::history::testing::quick_event(dir.path())
            .history
            .expect("history");
        let report = |from: &str, to: Option<&str>| {
            run(&Options {
                out: dir.path().join("report.html"),
                history: Some(history.clone()),
                from: Some(from.to_string()),
                to: to.map(str::to_string),
                ..Options::default()
            })
        };
        // --to a date is the end of that day.
        let e = report("2025-01-01", Some("2025-01-01")).expect_err("refused");
        assert!(
            format!("{e:#}")
                .contains("holds nothing from 2025-01-01 00:00 to 2025-01-02 00:00: it covers"),
            "{e:#}"
        );
        // A history given is read even with a Prometheus URL (from the environment, say).
        run(&Options {
            out: dir.path().join("report.html"),
            history: Some(history.clone()),
            prometheus_url: Some("http://127.0.0.1:1".into()),
            csv: Some(dir.path().join("csv")),
            ..Options::default()
        })
        .expect("the history is read, Prometheus is not asked");
        std::fs::remove_file(dir.path().join("report.html")).expect("report written");
        // Regression: recommendations.csv held each recommendation as JSON.
        let advice = std::fs::read_to_string(dir.path().join("csv/recommendations.csv"))
            .expect("recommendations.csv");
        assert!(advice.lines().count() > 1, "{advice}");
        assert!(
            !advice.contains('{') && advice.contains("check it before doors open"),
            "{advice}"
        );
        let e = report("2030-01-01", None).expect_err("refused");
        assert!(
            format!("{e:#}").contains("--from is at or after the end of the data"),
            "{e:#}"
        );
        assert!(
            !dir.path().join("report.html").exists(),
            "no report written"
        );
    }

    /// Regression: the default period was the whole history, so a history kept from one
    /// edition to the next (the default retention is 400 days) reported both at once.
    #[test]
    fn regression_the_default_period_is_the_event_not_the_whole_history() {
        use crate::simulate::START;
        const DAY: i64 = 86_400;
        let dir = tempfile::tempdir().expect("temp dir");
        let history = dir.path().join("history.sqlite");
        let last_year = START - 120 * DAY;
        let earlier = dir.path().join("earlier.ics");
        std::fs::write(
            &earlier,
            crate::history::testing::edition(&history, last_year),
        )
        .expect("programme");
        crate::history::testing::edition(&history, START);
        let report = |programme: Option<&Path>, from: Option<&str>, to: Option<&str>| {
            run(&Options {
                out: dir.path().join("report.html"),
                json: Some(dir.path().join("report.json")),
                history: Some(history.clone()),
                programme: programme.map(Path::to_path_buf),
                from: from.map(str::to_string),
                to: to.map(str::to_string),
                ..Options::default()
            })
            .expect("a report");
            let json: serde_json::Value = serde_json::from_slice(
                &std::fs::read(dir.path().join("report.json")).expect("json"),
            )
            .expect("json");
            let figures = &json["reports"][0]["figures"];
            let at = |k: &str| figures[k].as_i64().expect("time");
            let html = std::fs::read_to_string(dir.path().join("report.html")).expect("html");
            (at("from"), at("to"), html)
        };
        // This year's edition only, saying why and how to take last year's in.
        let (from, to, html) = report(None, None, None);
        assert_eq!(from, START);
        assert!(START + DAY - 600 < to && to <= START + DAY, "{to}");
        assert!(
            html.contains("The event: the last continuous recording, on 2 June 2026")
                && html.contains(
                    "The data also holds earlier days, on 2 February 2026: give --from 2026-02-02 \
                     to include them."
                ),
            "{html}"
        );
        // Last year's programme: its days.
        let (from, to, html) = report(Some(&earlier), None, None);
        assert_eq!(from, last_year);
        assert!(last_year + DAY - 600 < to && to <= last_year + DAY, "{to}");
        assert!(
            html.contains(
                "days, on 2 February 2026. The data covers the days from 2 February 2026 to 2 June \
                 2026"
            ),
            "{html}"
        );
        // A date alone: --to is the end of that day; --to alone ends the event before it.
        let (from, to, _) = report(None, Some("2026-06-02"), Some("2026-06-02"));
        assert_eq!((from, to), (START, START + DAY));
        let (from, to, _) = report(None, None, Some("2026-02-02"));
        assert_eq!((from, to), (last_year, last_year + DAY));
        // --from: both editions.
        let (from, to, html) = report(None, Some("2026-02-02"), None);
        assert_eq!(from, last_year);
        assert!(to > START, "{to}");
        assert!(
            !html.contains("<p class=\"period-note\">"),
            "asked for, no note"
        );
    }

    #[test]
    fn no_prometheus_url_is_a_clear_error() {
        let e = run(&Options::default()).expect_err("refused");
        assert!(e.to_string().contains("--prometheus-url"), "{e}");
    }
}
