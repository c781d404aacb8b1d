//! The programme (`[schedule] file`): an iCalendar file of sessions, read when it changes,
//! each session placed in the zone its room (`LOCATION`) names, by the zone's id or name.
//! The status page shows each zone's session now and next; the report will say which
//! sessions drove the peaks.

pub mod ics;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::inventory::{Inventory, ZoneIdx};
use crate::sources::{FileStamp, Payload, Source, SourceError};

/// A session in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSession {
    /// The zone its room is.
    pub zone: ZoneIdx,
    /// Title, start and end.
    pub session: ics::Session,
}

/// The programme as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleSample {
    /// Sessions whose room is a zone.
    pub sessions: Vec<ZoneSession>,
    /// Rooms no zone is called, with their number of sessions.
    pub unplaced: BTreeMap<String, usize>,
    /// Events that could not be read.
    pub skipped: usize,
}

impl ScheduleSample {
    /// Places the programme's sessions in `inventory`'s zones.
    pub fn place(programme: ics::Programme, inventory: &Inventory) -> ScheduleSample {
        let mut sample = ScheduleSample {
            skipped: programme.skipped,
            ..ScheduleSample::default()
        };
        for session in programme.sessions {
            let room = session.location.trim();
            let zone = inventory.zones.iter().position(|z| {
                z.id.eq_ignore_ascii_case(room) || z.name.trim().eq_ignore_ascii_case(room)
            });
            match zone {
                Some(zone) => sample.sessions.push(ZoneSession { zone, session }),
                None => *sample.unplaced.entry(room.to_string()).or_default() += 1,
            }
        }
        sample
    }
}

/// Reads the programme file when it changes.
pub struct ScheduleSource {
    path: PathBuf,
    timezone: TimeZone,
    inventory: Arc<Inventory>,
    cached: Option<(FileStamp, Arc<ScheduleSample>)>,
}

impl ScheduleSource {
    /// A source for the file at `path`; floating times in it are in `timezone`.
    pub fn new(path: PathBuf, timezone: TimeZone, inventory: Arc<Inventory>) -> ScheduleSource {
        ScheduleSource {
            path,
            timezone,
            inventory,
            cached: None,
        }
    }
}

impl Source for ScheduleSource {
    const NAME: &'static str = "schedule";

    fn instance(&self) -> String {
        self.path.display().to_string()
    }

    async fn sample(&mut self) -> Result<Payload, SourceError> {
        let error = |e: &std::io::Error| {
            let mut error = SourceError::io(&self.path, e);
            error.message.push_str(
                ": [schedule] file should be the programme as an iCalendar (.ics) file; \
                 the sessions last read stay shown",
            );
            error
        };
        let stamp = FileStamp::of(&std::fs::metadata(&self.path).map_err(|e| error(&e))?);
        if let Some((cached, sample)) = &self.cached
            && *cached == stamp
        {
            return Ok(Payload::Schedule(Arc::clone(sample)));
        }
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| error(&e))?;
        let programme = ics::parse(&bytes, &self.timezone);
        let sample = Arc::new(ScheduleSample::place(programme, &self.inventory));
        tracing::info!(file = %self.path.display(), sessions = sample.sessions.len(),
            skipped = sample.skipped, "programme read");
        if !sample.unplaced.is_empty() {
            let rooms: Vec<String> = sample
                .unplaced
                .iter()
                .map(|(room, n)| format!("{room:?} ({n})"))
                .collect();
            tracing::warn!(file = %self.path.display(), rooms = %rooms.join(", "),
                "sessions in rooms that no zone is called: give a [[zone]] that id or name \
                 to show them");
        }
        self.cached = Some((stamp, Arc::clone(&sample)));
        Ok(Payload::Schedule(sample))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_zones_by_id_or_name_in_any_case() {
        let (config, _) = crate::config::parse(
            "test.toml",
            "[[zone]]\nid = \"hall-a\"\nname = \"Salle A\"\n[[zone]]\nid = \"hall-b\"\n",
            "host",
        )
        .expect("config");
        let inventory = Inventory::new(&config);
        let session = |room: &str| ics::Session {
            title: "t".into(),
            location: room.into(),
            starts: 0,
            ends: 60,
        };
        let programme = ics::Programme {
            sessions: ["salle a", " HALL-B ", "Salle A", "Foyer", "Foyer"]
                .map(session)
                .to_vec(),
            skipped: 2,
        };
        let sample = ScheduleSample::place(programme, &inventory);
        let zones: Vec<ZoneIdx> = sample.sessions.iter().map(|s| s.zone).collect();
        assert_eq!(zones, [0, 1, 0]);
        assert_eq!(sample.unplaced, BTreeMap::from([("Foyer".to_string(), 2)]));
        assert_eq!(sample.skipped, 2);
    }
}
