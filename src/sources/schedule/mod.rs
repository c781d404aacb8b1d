//! The programme (`[schedule] file`): an iCalendar file of sessions, read when it changes,
//! each session placed in the zone its room (`LOCATION`) names, by the zone's id or name.
//! The status page shows each zone's session now and next; the report will say which
//! sessions drove the peaks.

pub(crate) mod config;
pub(crate) mod ics;
mod vtimezone;
mod windows_zones;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::inventory::Inventory;
use crate::model::programme::ZoneSession;
use crate::sources::{ErrorKind, FileStamp, Observation, Source, SourceError, Starter};

/// The programme as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ScheduleSample {
    /// Sessions whose room is a zone (shared with the hub, which keeps them).
    pub sessions: Arc<[ZoneSession]>,
    /// Rooms no zone is called, with their number of sessions.
    pub unplaced: BTreeMap<String, usize>,
    /// Events that could not be read.
    pub skipped: usize,
    /// `TZID`s that could not be known (see [`ics::Programme::unknown_zones`]).
    pub unknown_zones: BTreeSet<String>,
}

impl ScheduleSample {
    /// Places the programme's sessions in `inventory`'s zones.
    pub(crate) fn place(programme: ics::Programme, inventory: &Inventory) -> ScheduleSample {
        let mut sessions = Vec::new();
        let mut unplaced = BTreeMap::new();
        for session in programme.sessions {
            let room = session.location.trim();
            let zone = room_zone(
                room,
                inventory
                    .zones
                    .iter()
                    .map(|z| (z.id.as_str(), z.name.as_str())),
            );
            match zone {
                Some(zone) => sessions.push(ZoneSession { zone, session }),
                None => *unplaced.entry(room.to_string()).or_default() += 1,
            }
        }
        ScheduleSample {
            sessions: sessions.into(),
            unplaced,
            skipped: programme.skipped,
            unknown_zones: programme.unknown_zones,
        }
    }
}

/// The index of the zone (of `(id, name)`s) a session's room names: its id or its name,
/// case-insensitively.
pub(crate) fn room_zone<'a>(
    room: &str,
    zones: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<usize> {
    let room = room.trim();
    zones.into_iter().position(|(id, name)| {
        id.eq_ignore_ascii_case(room) || name.trim().eq_ignore_ascii_case(room)
    })
}

/// Reads the programme file when it changes.
pub(crate) struct ScheduleSource {
    path: PathBuf,
    timezone: TimeZone,
    inventory: Arc<Inventory>,
    cached: Option<(FileStamp, Arc<ScheduleSample>)>,
}

impl ScheduleSource {
    /// A source for the file at `path`; floating times in it are in `timezone`.
    pub(crate) fn new(
        path: PathBuf,
        timezone: TimeZone,
        inventory: Arc<Inventory>,
    ) -> ScheduleSource {
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

    async fn sample(&mut self) -> Result<Vec<Observation>, SourceError> {
        let path = self.path.clone();
        let timezone = self.timezone.clone();
        let inventory = Arc::clone(&self.inventory);
        let cached = self.cached.clone();
        // A programme of thousands of events takes a while to parse, and the file is only
        // opened if it is a regular one (a FIFO would block): all off the async thread.
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let stamp = FileStamp::of(&std::fs::metadata(&path)?);
            if let Some((cached, sample)) = cached
                && cached == stamp
            {
                return Ok((stamp, sample, false));
            }
            let bytes = crate::files::read_regular(&path)?;
            let programme = ics::parse(&bytes, &timezone);
            Ok((
                stamp,
                Arc::new(ScheduleSample::place(programme, &inventory)),
                true,
            ))
        })
        .await
        .map_err(|e| SourceError::new(ErrorKind::Io, format!("programme reader stopped: {e}")))?;
        let (stamp, sample, changed) = read.map_err(|e| {
            let mut error = SourceError::io(&self.path, &e);
            error.message.push_str(
                ": [schedule] file should be the programme as an iCalendar (.ics) file; \
                 the sessions last read stay shown",
            );
            error
        })?;
        if changed {
            self.log(&sample);
            self.cached = Some((stamp, Arc::clone(&sample)));
        }
        Ok(vec![Observation::Programme(Arc::clone(&sample.sessions))])
    }
}

impl ScheduleSource {
    /// Says what a newly read programme holds, and what in it could not be used.
    fn log(&self, sample: &ScheduleSample) {
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
        if !sample.unknown_zones.is_empty() {
            let zones: Vec<String> = sample
                .unknown_zones
                .iter()
                .map(|z| format!("{z:?}"))
                .collect();
            tracing::warn!(file = %self.path.display(), zones = %zones.join(", "),
                "events in time zones neither defined in the file in a way venuemon can follow \
                 nor known as IANA or Windows zone names were skipped: export the programme \
                 with its VTIMEZONEs or in UTC");
        }
    }
}

/// Starts the programme source when there is a `[schedule]`.
///
/// # Errors
/// None today: the file is read at each sample.
pub(crate) fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    if let Some(schedule) = &config.sources.schedule {
        let source = ScheduleSource::new(
            schedule.file.clone(),
            config.venue.time_zone(),
            Arc::clone(ctx.inventory),
        );
        ctx.spawn(source, schedule.interval);
    }
    Ok(())
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
        let session = |room: &str| crate::model::programme::Session {
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
            ..ics::Programme::default()
        };
        let sample = ScheduleSample::place(programme, &inventory);
        let zones: Vec<crate::inventory::ZoneIdx> =
            sample.sessions.iter().map(|s| s.zone).collect();
        assert_eq!(zones, [0, 1, 0]);
        assert_eq!(sample.unplaced, BTreeMap::from([("Foyer".to_string(), 2)]));
        assert_eq!(sample.skipped, 2);
    }

    #[tokio::test]
    async fn a_fifo_as_the_programme_is_refused_without_blocking_then_the_file_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("programme.ics");
        crate::files::mkfifo(&path);
        let (config, _) =
            crate::config::parse("t.toml", "[[zone]]\nid = \"hall-a\"\n", "host").expect("config");
        let inventory = Arc::new(Inventory::new(&config));
        let mut source = ScheduleSource::new(path.clone(), TimeZone::UTC, inventory);
        let error = source.sample().await.expect_err("a FIFO is no programme");
        assert_eq!(error.kind, ErrorKind::NotRegular);
        std::fs::remove_file(&path).expect("remove");
        std::fs::write(
            &path,
            "BEGIN:VEVENT\nLOCATION:hall-a\nDTSTART:20270603T130000Z\nDURATION:PT1H\nEND:VEVENT\n",
        )
        .expect("write");
        let observations = source.sample().await;
        let Ok([Observation::Programme(sessions)]) = observations.as_deref() else {
            panic!("the programme is read");
        };
        assert_eq!(sessions.len(), 1);
    }
}
