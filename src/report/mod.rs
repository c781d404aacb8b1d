//! `venuemon report`: the organizers' post-event report. The figures are computed from a
//! source-neutral [`data::EventData`] (filled from venuemon's own history by [`history`], or from
//! Prometheus' HTTP API by [`prometheus`]), worded in French or English, and written as one
//! self-contained HTML file, optionally a PDF, CSV tables and JSON.

mod chart;
pub mod compare;
pub mod data;
pub mod figures;
pub mod history;
mod html;
pub mod period;
pub mod prometheus;
pub mod run;
mod words;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use self::compare::{Change, Compared};
use self::data::{EventData, SessionData};
use self::figures::Figures;
pub use self::words::Words;
use crate::sources::schedule::{ics, room_zone};

/// One venue's (or all venues') report: its data, figures and comparison.
pub struct Report {
    /// What the figures were computed from.
    pub data: EventData,
    /// The figures.
    pub figures: Figures,
    /// Headline figures beside the previous report's (`--compare`), else empty.
    pub comparison: Vec<Change>,
    /// The period the compared figures cover (`--compare`), else `None`.
    pub compared: Option<Compared>,
    /// Which period the report covers and why, in its language (empty when `--from` and
    /// `--to` were given).
    pub period_note: String,
    /// What became of the programme: not given, not read, or read with sessions in rooms
    /// the data does not hold.
    pub programme: ProgrammeNote,
}

/// The programme the report was given, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Programme {
    /// No `--programme` and no `[schedule] file`.
    #[default]
    NotGiven,
    /// The configured `[schedule] file` does not exist.
    Missing(PathBuf),
    /// The file holds no session venuemon can read.
    NoSession(PathBuf),
    /// Its sessions.
    Read(Vec<crate::model::programme::Session>),
}

impl Programme {
    /// The sessions read (none unless [`Programme::Read`]).
    pub fn sessions(&self) -> &[crate::model::programme::Session] {
        match self {
            Programme::Read(sessions) => sessions,
            _ => &[],
        }
    }
}

/// What a report says of its programme, besides its sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ProgrammeNote {
    /// No programme was given.
    #[default]
    NotGiven,
    /// The configured file does not exist.
    Missing(PathBuf),
    /// The file holds no session venuemon can read.
    NoSession(PathBuf),
    /// Read; the rooms no zone of the data is (by id or name) with their number of sessions.
    Read {
        /// Room (the sessions' `LOCATION`) → sessions there.
        unplaced: std::collections::BTreeMap<String, usize>,
    },
}

/// The `--json` export, and what `--compare` reads back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    /// Format version of this file.
    pub venuemon_report: u32,
    /// One entry per report (per venue, then across venues).
    pub reports: Vec<Exported>,
}

/// One report in the export.
#[derive(Debug, Serialize, Deserialize)]
pub struct Exported {
    /// Every figure.
    pub figures: Figures,
    /// The comparison with the previous report, if one was given.
    #[serde(default)]
    pub comparison: Vec<Change>,
    /// The period the compared figures cover, if a comparison was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_period: Option<Compared>,
}

/// The reports for `venues`: one per venue, and one across them all when there are several.
/// The `programme`'s sessions are placed in each venue's zones whose id or name their room
/// is; each report notes the rooms its zones do not hold.
pub fn reports(
    mut venues: Vec<EventData>,
    programme: &Programme,
    attendees: Option<u64>,
    all_venues: &str,
) -> Vec<Report> {
    let mut notes = Vec::new();
    for venue in &mut venues {
        let mut unplaced = std::collections::BTreeMap::new();
        venue.sessions = programme
            .sessions()
            .iter()
            .filter_map(|s| {
                let Some(zone) = room_zone(
                    &s.location,
                    venue.zones.iter().map(|z| (z.id.as_str(), z.name.as_str())),
                ) else {
                    *unplaced.entry(s.location.trim().to_string()).or_default() += 1;
                    return None;
                };
                Some(SessionData {
                    title: s.title.clone(),
                    zone: venue.zones[zone].id.clone(),
                    starts: s.starts,
                    ends: s.ends,
                })
            })
            .collect();
        venue.sessions.sort_by_key(|s| s.starts);
        notes.push(unplaced);
    }
    if venues.len() > 1 {
        let all = prometheus::across(&venues, all_venues);
        venues.push(all);
        // Across venues, the rooms no venue holds.
        let mut nowhere = notes.first().cloned().unwrap_or_default();
        nowhere.retain(|room, _| notes.iter().all(|n| n.contains_key(room)));
        notes.push(nowhere);
    }
    venues
        .into_iter()
        .zip(notes)
        .map(|(data, unplaced)| Report {
            figures: figures::figures(&data, attendees),
            data,
            comparison: Vec::new(),
            compared: None,
            period_note: String::new(),
            programme: match programme {
                Programme::NotGiven => ProgrammeNote::NotGiven,
                Programme::Missing(path) => ProgrammeNote::Missing(path.clone()),
                Programme::NoSession(path) => ProgrammeNote::NoSession(path.clone()),
                Programme::Read(_) => ProgrammeNote::Read { unplaced },
            },
        })
        .collect()
}

/// Reads a programme file (iCalendar); floating times are in `zone`.
///
/// # Errors
/// The file is not a readable regular file.
pub fn programme(path: &Path, zone: &jiff::tz::TimeZone) -> anyhow::Result<Programme> {
    let bytes = crate::files::read_regular(path).with_context(|| {
        format!(
            "cannot read the programme {}: give an iCalendar (.ics) file",
            path.display()
        )
    })?;
    let programme = ics::parse(&bytes, zone);
    if programme.sessions.is_empty() {
        tracing::warn!(
            programme = %path.display(),
            "the programme holds no session venuemon can read (iCalendar VEVENTs with a start \
             and an end): the report has no sessions; check the file is the programme's .ics export"
        );
        return Ok(Programme::NoSession(path.to_path_buf()));
    } else if programme.skipped > 0 {
        tracing::warn!(
            programme = %path.display(),
            skipped = programme.skipped,
            unknown_time_zones = ?programme.unknown_zones,
            "events of the programme could not be read (see the time zones named, if any): \
             they are not in the report"
        );
    }
    Ok(Programme::Read(programme.sessions))
}

/// The figures of a previous `--json` export, one per report it holds.
///
/// # Errors
/// The file is unreadable or not a `--json` export.
pub fn previous_export(path: &Path) -> anyhow::Result<Vec<Figures>> {
    let bytes = crate::files::read_regular(path)
        .with_context(|| format!("cannot read the previous report {}", path.display()))?;
    let previous: Export = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is neither a history file nor a report written by `venuemon report --json`",
            path.display()
        )
    })?;
    Ok(previous.reports.into_iter().map(|r| r.figures).collect())
}

/// Adds to each report the comparison with the previous event's figures (the entry of the
/// same venue, or the only one).
pub fn compare_with(reports: &mut [Report], previous: &[Figures]) {
    for report in reports.iter_mut() {
        let before = previous
            .iter()
            .find(|p| p.venue == report.figures.venue)
            .or(match previous {
                [only] => Some(only),
                _ => None,
            });
        if let Some(before) = before {
            report.comparison = compare::compare(&report.figures, before);
            report.compared = Some(Compared::of(before));
        }
    }
}

/// Every figure as JSON.
pub fn json(reports: &[Report]) -> String {
    let export = Export {
        venuemon_report: 1,
        reports: reports
            .iter()
            .map(|r| Exported {
                figures: r.figures.clone(),
                comparison: r.comparison.clone(),
                compared_period: r.compared,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&export).unwrap_or_default()
}

/// The HTML file.
pub fn html(reports: &[Report], words: &Words) -> String {
    html::render(reports, words)
}

fn rfc3339(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| unix.to_string(), |t| t.to_string())
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// Writes every table as CSV in `dir` (created if missing): `headline.csv`, `zones.csv`,
/// `sessions.csv`, `incidents.csv`, `recommendations.csv`, `comparison.csv`. Times are
/// RFC 3339 UTC, ratios 0..=1, traffic in bytes; every row names its venue; recommendations
/// are the report's sentences, in `words`' language.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_csv(reports: &[Report], words: &Words, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}: give --csv a folder", dir.display()))?;
    let mut written = Vec::new();
    let mut table = |name: &str, header: &[&str], rows: Vec<Vec<String>>| -> anyhow::Result<()> {
        let path = dir.join(name);
        let mut w = csv::Writer::from_path(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record(header)?;
        for row in rows {
            w.write_record(row)?;
        }
        w.flush()?;
        written.push(path);
        Ok(())
    };
    let each = |f: &dyn Fn(&Report) -> Vec<Vec<String>>| -> Vec<Vec<String>> {
        reports.iter().flat_map(f).collect()
    };
    table(
        "headline.csv",
        &["venue", "figure", "value", "at", "of"],
        each(&|r| {
            let h = &r.figures.headline;
            let venue = &r.figures.venue;
            let mut rows: Vec<Vec<String>> = compare::KEYS
                .iter()
                .map(|key| {
                    // When and what: the busiest link's interface, the lowest pool's name.
                    let (at, of) = match *key {
                        "peak_devices" => (h.peak_devices.map(|p| rfc3339(p.at)), None),
                        "uplink_peak" => (
                            h.uplink_peak.map(|p| rfc3339(p.at)),
                            h.uplink_peak_interface.clone(),
                        ),
                        "min_headroom_free" => (
                            h.min_headroom.as_ref().map(|m| rfc3339(m.at)),
                            h.min_headroom.as_ref().map(|m| m.pool.clone()),
                        ),
                        _ => (None, None),
                    };
                    vec![
                        venue.clone(),
                        (*key).to_string(),
                        opt(compare::value(h, key)),
                        at.unwrap_or_default(),
                        of.unwrap_or_default(),
                    ]
                })
                .collect();
            for s in &h.status_share {
                rows.push(vec![
                    venue.clone(),
                    format!("warn_share:{}", s.zone),
                    s.warn.to_string(),
                    String::new(),
                    s.zone.clone(),
                ]);
                rows.push(vec![
                    venue.clone(),
                    format!("critical_share:{}", s.zone),
                    s.critical.to_string(),
                    String::new(),
                    s.zone.clone(),
                ]);
            }
            rows
        }),
    )?;
    table(
        "zones.csv",
        &[
            "venue",
            "zone",
            "name",
            "seats",
            "peak_devices",
            "peak_at",
            "peak_seat_ratio",
            "bands",
            "saturated_minutes",
            "min_free_addresses",
            "min_free_at",
        ],
        each(&|r| {
            r.figures
                .zones
                .iter()
                .map(|z| {
                    vec![
                        r.figures.venue.clone(),
                        z.id.clone(),
                        z.name.clone(),
                        z.seats.map_or_else(String::new, |s| s.to_string()),
                        opt(z.peak.map(|p| p.value)),
                        z.peak.map_or_else(String::new, |p| rfc3339(p.at)),
                        opt(z.peak_seat_ratio),
                        z.bands
                            .iter()
                            .map(|(b, s)| format!("{b}:{s}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        z.saturated_minutes.to_string(),
                        opt(z.min_headroom.as_ref().map(|m| m.free)),
                        z.min_headroom
                            .as_ref()
                            .map_or_else(String::new, |m| rfc3339(m.at)),
                    ]
                })
                .collect()
        }),
    )?;
    table(
        "sessions.csv",
        &[
            "venue",
            "title",
            "zone",
            "starts",
            "ends",
            "peak_devices",
            "peak_at",
            "seats_filled",
            "overlaps",
            "drove_event_peak",
            "drove_zone_peak",
        ],
        each(&|r| {
            r.figures
                .sessions
                .iter()
                .map(|s| {
                    vec![
                        r.figures.venue.clone(),
                        s.title.clone(),
                        s.zone.clone(),
                        rfc3339(s.starts),
                        rfc3339(s.ends),
                        opt(s.peak.map(|p| p.value)),
                        s.peak.map_or_else(String::new, |p| rfc3339(p.at)),
                        opt(s.seats_filled),
                        s.overlaps.join(" | "),
                        s.drove_event_peak.to_string(),
                        s.drove_zone_peak.to_string(),
                    ]
                })
                .collect()
        }),
    )?;
    table(
        "incidents.csv",
        &["venue", "incident", "subject", "starts", "ends", "seconds"],
        each(&|r| {
            r.figures
                .incidents
                .iter()
                .map(|i| {
                    use figures::IncidentKind as K;
                    let (kind, subject) = match &i.kind {
                        K::SourceDown { source, instance } => {
                            ("source_down", format!("{source} {instance}"))
                        }
                        K::InterfaceDown { interface } => ("interface_down", interface.clone()),
                        K::PoolFull { pool } => ("pool_full", pool.clone()),
                        K::TimeToLeaseSlow { interface } => {
                            ("time_to_lease_slow", interface.clone())
                        }
                    };
                    vec![
                        r.figures.venue.clone(),
                        kind.to_string(),
                        subject,
                        rfc3339(i.starts),
                        rfc3339(i.ends),
                        i.seconds().to_string(),
                    ]
                })
                .collect()
        }),
    )?;
    table(
        "recommendations.csv",
        &["venue", "recommendation", "figure"],
        each(&|r| {
            let names = words::Names::of(r);
            r.figures
                .recommendations
                .iter()
                .map(|rec| {
                    vec![
                        r.figures.venue.clone(),
                        words.recommendation(rec, &names),
                        rec.figure().to_string(),
                    ]
                })
                .collect()
        }),
    )?;
    table(
        "comparison.csv",
        &["venue", "figure", "previous", "current", "change"],
        each(&|r| {
            r.comparison
                .iter()
                .map(|c| {
                    vec![
                        r.figures.venue.clone(),
                        c.figure.clone(),
                        opt(c.previous),
                        opt(c.current),
                        opt(c.change),
                    ]
                })
                .collect()
        }),
    )?;
    Ok(written)
}

/// Prints `html` to an A4 PDF at `pdf` with headless Chromium.
///
/// # Errors
/// No Chromium installed (the message names the package), or Chromium failing.
pub fn print_pdf(html: &Path, pdf: &Path) -> anyhow::Result<()> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::env::var_os("PATH")
                .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(b).is_file()))
        });
    let Some(browser) = browser else {
        bail!(
            "--pdf needs Chromium to print the report: install it (Debian: `apt-get install chromium`), or open {} in a browser and print it to PDF",
            html.display()
        );
    };
    print_with(Path::new(browser), html, pdf, PDF_TIMEOUT)
}

/// How long Chromium may take to print the report.
const PDF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// [`print_pdf`] with `browser`, stopped after `timeout`.
fn print_with(
    browser: &Path,
    html: &Path,
    pdf: &Path,
    timeout: std::time::Duration,
) -> anyhow::Result<()> {
    let html =
        std::fs::canonicalize(html).with_context(|| format!("cannot find {}", html.display()))?;
    let profile =
        std::env::temp_dir().join(format!("venuemon-report-chromium-{}", std::process::id()));
    let mut command = std::process::Command::new(browser);
    command.args([
        "--headless",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--no-pdf-header-footer",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    // Chromium refuses to run as root without it.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        command.arg("--no-sandbox");
    }
    command.arg(format!("--print-to-pdf={}", pdf.display()));
    command.arg(format!("file://{}", html.display()));
    let browser = browser.display();
    // Its messages go to a file, read once it ends: a pipe nobody reads could stop it.
    let printed = std::fs::create_dir_all(&profile)
        .and_then(|()| std::fs::File::create(profile.join("stderr")))
        .with_context(|| format!("cannot make {}", profile.display()))
        .and_then(|stderr| {
            let mut child = command
                .stdout(std::process::Stdio::null())
                .stderr(stderr)
                .spawn()
                .with_context(|| format!("cannot start {browser}"))?;
            let began = std::time::Instant::now();
            loop {
                if let Some(status) = child.try_wait()? {
                    break Ok(status);
                }
                if began.elapsed() > timeout {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!(
                        "{browser} did not print {} within {} s: it was stopped; open the \
                         report in a browser and print it to PDF",
                        html.display(),
                        timeout.as_secs()
                    );
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
    let stderr = std::fs::read_to_string(profile.join("stderr")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    let status = printed?;
    if !status.success() || !pdf.is_file() {
        bail!(
            "{browser} could not print {} to PDF ({status}): {}",
            html.display(),
            stderr.lines().last().unwrap_or("")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a Chromium that never finished held `--pdf` for good.
    #[test]
    fn a_browser_that_never_prints_is_stopped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let browser = dir.path().join("chromium");
        std::fs::write(&browser, "#!/bin/sh\nexec sleep 30\n").expect("script");
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755))
            .expect("executable");
        let html = dir.path().join("report.html");
        std::fs::write(&html, "<p>report</p>").expect("html");
        let began = std::time::Instant::now();
        let e = print_with(
            &browser,
            &html,
            &dir.path().join("report.pdf"),
            std::time::Duration::from_secs(1),
        )
        .expect_err("stopped");
        assert!(began.elapsed() < std::time::Duration::from_secs(10));
        assert!(e.to_string().contains("did not print"), "{e}");
    }
}
