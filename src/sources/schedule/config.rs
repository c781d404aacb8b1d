//! `[schedule]`: the event's programme, and how its section of the configuration file is
//! read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ScheduleSample, ics};
use crate::config::toml::Section;
use crate::config::{Config, SourceConfig, SourceTables, ZoneRef};
use crate::inventory::Inventory;
use crate::terminal::inert;

/// `[schedule]`: the event's programme.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleConfig {
    /// An iCalendar (.ics) file of the sessions, each with its room as `LOCATION`.
    pub file: PathBuf,
    /// How often the file is checked for changes; defaults to the agent tick.
    pub interval: Option<Duration>,
}

/// Reads `[schedule]`; `None` when the file has no such table (or it is wrong).
pub(crate) fn read(section: &Section<'_>) -> Option<ScheduleConfig> {
    let file = section.path("file", "/etc/venuemon/programme.ics");
    let interval = section.interval();
    if !section.is_present() {
        return None;
    }
    section.require("file", "the programme as an iCalendar .ics file");
    Some(ScheduleConfig {
        file: file?,
        interval,
    })
}

impl SourceConfig for Option<ScheduleConfig> {
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef> {
        *self = read(&tables.root.table("schedule"));
        Vec::new()
    }

    /// The programme places sessions; it measures nothing.
    fn measures(&self) -> bool {
        false
    }

    fn describe(&self) -> Vec<String> {
        self.iter()
            .map(|s| format!("schedule: {}", s.file.display()))
            .collect()
    }

    fn check(&self, config: &Config) {
        if let Some(schedule) = self {
            check_programme(config, &schedule.file);
        }
    }
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::config::testing::{errors, ok};

    #[test]
    fn schedule_needs_its_file() {
        let (config, _) = ok("[schedule]\nfile = \"programme.ics\"\ninterval = \"30s\"\n");
        let schedule = config.sources.schedule.expect("schedule");
        assert_eq!(schedule.file, PathBuf::from("programme.ics"));
        assert_eq!(schedule.interval, Some(Duration::from_secs(30)));
        assert_eq!(ok("").0.sources.schedule, None);
        assert_eq!(
            errors("[schedule]\ninterval = \"30s\"\n"),
            [
                "venuemon.toml:1:1: [schedule]: missing required key `file` (the programme as an iCalendar .ics file)"
            ]
        );
    }
}
