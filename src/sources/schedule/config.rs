//! `[schedule]`: the event's programme, and how its section of the configuration file is
//! read.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::toml::Section;

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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use crate::config::testing::{errors, ok};

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
}
