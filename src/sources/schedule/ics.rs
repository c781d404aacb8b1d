//! iCalendar (RFC 5545) programmes, as conference tools and calendars export them (pretalx,
//! frab, Indico, Outlook/Exchange, any calendar): the `VEVENT`s with a title (`SUMMARY`), a
//! room (`LOCATION`), a start and an end, and the time zones their times are in. Only what the
//! status page and the report need is read; the rest is skipped.

use std::collections::{BTreeSet, HashMap};

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use super::vtimezone::{self, VTimeZone};
use super::windows_zones;
use crate::model::programme::Session;

/// A parsed programme: its sessions, and how many events were left out as unusable (no room,
/// no start or end, an end before the start, a date that does not parse, a time zone that
/// cannot be known). All-day and cancelled events are not sessions and are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Programme {
    /// The sessions, in file order.
    pub sessions: Vec<Session>,
    /// Events that could not be read.
    pub skipped: usize,
    /// `TZID`s that events name but that are neither defined in the file in a way this reader
    /// can follow nor IANA or Windows zone names: their events are among the skipped.
    pub unknown_zones: BTreeSet<String>,
}

impl Programme {
    /// The first start and the last end of its sessions (Unix seconds), if it has any.
    pub(crate) fn span(&self) -> Option<(i64, i64)> {
        let first = self.sessions.iter().map(|s| s.starts).min()?;
        let last = self.sessions.iter().map(|s| s.ends).max()?;
        Some((first, last))
    }
}

/// A DATE-TIME as written: a wall-clock time and what it is relative to.
struct Stamp {
    civil: DateTime,
    zone: StampZone,
}

/// What a DATE-TIME's wall-clock time is relative to.
enum StampZone {
    /// `…Z`.
    Utc,
    /// No `Z` and no `TZID`: the venue's time zone.
    Floating,
    /// A `TZID` parameter, quotes removed.
    Named(String),
}

/// What one `VEVENT` says, as read so far.
#[derive(Default)]
struct Event {
    title: Option<String>,
    location: Option<String>,
    starts: Option<Option<Stamp>>,
    ends: Option<Option<Stamp>>,
    duration: Option<Option<i64>>,
    all_day: bool,
    cancelled: bool,
    /// Depth inside components nested in the event.
    nested: usize,
}

impl Event {
    /// Reads one property of the event.
    fn property(&mut self, line: &ContentLine<'_>) {
        let (params, value) = (&line.params[..], line.value);
        match line.name.as_str() {
            "SUMMARY" => self.title = Some(unescape(value)),
            "LOCATION" => self.location = Some(unescape(value)),
            "STATUS" => self.cancelled = value.trim().eq_ignore_ascii_case("CANCELLED"),
            "DTSTART" => {
                self.all_day |= is_date(params, value);
                self.starts = Some(stamp(params, value));
            }
            "DTEND" => self.ends = Some(stamp(params, value)),
            "DURATION" => self.duration = Some(duration(value)),
            _ => {}
        }
    }

    /// The session, `Ok(None)` for an event that is not one (all-day, cancelled), `Err(())`
    /// for one that cannot be read.
    fn session(self, zones: &mut Zones<'_>) -> Result<Option<Session>, ()> {
        if self.all_day || self.cancelled {
            return Ok(None);
        }
        let starts = self.starts.flatten().ok_or(())?;
        let starts = zones.instant(&starts).ok_or(())?;
        let ends = match (self.ends, self.duration) {
            (Some(ends), _) => zones.instant(&ends.ok_or(())?).ok_or(())?,
            (None, Some(duration)) => starts + duration.ok_or(())?,
            (None, None) => return Err(()),
        };
        let location = self.location.filter(|l| !l.trim().is_empty()).ok_or(())?;
        if ends <= starts {
            return Err(());
        }
        Ok(Some(Session {
            title: self.title.unwrap_or_default(),
            location,
            starts,
            ends,
        }))
    }
}

/// The time zones of one file: those it defines, and those its `TZID`s name, each looked up
/// once.
struct Zones<'a> {
    /// The venue's, for floating times.
    local: &'a TimeZone,
    /// `VTIMEZONE`s this reader follows, by `TZID` in lower case.
    defined: HashMap<String, VTimeZone>,
    /// Other `TZID`s, as IANA zones (`None`: unknown).
    named: HashMap<String, Option<TimeZone>>,
    /// `TZID`s that could not be known.
    unknown: BTreeSet<String>,
}

impl Zones<'_> {
    /// Unix seconds of a DATE-TIME; `None` when its zone cannot be known.
    fn instant(&mut self, stamp: &Stamp) -> Option<i64> {
        let tzid = match &stamp.zone {
            StampZone::Utc => return Some(Offset::UTC.to_timestamp(stamp.civil).ok()?.as_second()),
            StampZone::Floating => {
                return Some(self.local.to_timestamp(stamp.civil).ok()?.as_second());
            }
            StampZone::Named(tzid) => tzid,
        };
        // The file's own definition first (RFC 5545 §3.2.19), in any case.
        if let Some(zone) = self.defined.get(&tzid.to_lowercase()) {
            let utc = zone.to_timestamp(stamp.civil);
            if utc.is_none() {
                self.unknown.insert(tzid.clone()); // too much work to follow
            }
            return utc;
        }
        let zone = self
            .named
            .entry(tzid.clone())
            .or_insert_with(|| known_zone(tzid));
        match zone {
            Some(zone) => Some(zone.to_timestamp(stamp.civil).ok()?.as_second()),
            None => {
                self.unknown.insert(tzid.clone());
                None
            }
        }
    }
}

/// The zone a `TZID` names without a definition in the file: a Windows zone name (through
/// CLDR's table), an IANA name, or an IANA name at the end of a globally unique TZID
/// (`/mozilla.org/20050126_1/Europe/Paris`, `/freeassociation.sourceforge.net/Europe/Paris`).
fn known_zone(tzid: &str) -> Option<TimeZone> {
    let tzid = tzid.trim();
    if let Some(iana) = windows_zones::iana_name(tzid) {
        return TimeZone::get(iana).ok();
    }
    let mut name = tzid.trim_start_matches('/');
    loop {
        // Only names made like IANA's reach the zone database.
        let plausible = !name.is_empty()
            && name
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b));
        if plausible && let Ok(zone) = TimeZone::get(name) {
            return Some(zone);
        }
        name = name.split_once('/')?.1;
    }
}

/// Parses an iCalendar file. Times without a zone (floating) are read in `local`, the venue's
/// time zone; a `TZID` is read from the file's own `VTIMEZONE` of that name, else as a Windows
/// or IANA zone name. Never fails: what cannot be read is counted.
pub(crate) fn parse(data: &[u8], local: &TimeZone) -> Programme {
    let lines = unfold(data);
    let mut events = Vec::new();
    let mut defined = HashMap::new();
    let mut event: Option<Event> = None;
    let mut timezone: Option<Vec<ContentLine<'_>>> = None;
    for line in lines.iter().filter_map(|line| content_line(line)) {
        let ends = |kind: &str| line.name == "END" && line.value.trim().eq_ignore_ascii_case(kind);
        if let Some(definition) = timezone.as_mut() {
            if ends("VTIMEZONE") {
                let definition = vtimezone::parse(definition);
                if let (Some(tzid), Some(zone)) = (definition.tzid, definition.zone) {
                    defined.insert(tzid.to_lowercase(), zone);
                }
                timezone = None;
            } else {
                definition.push(line);
            }
            continue;
        }
        let begins =
            |kind: &str| line.name == "BEGIN" && line.value.trim().eq_ignore_ascii_case(kind);
        match event.as_mut() {
            None if begins("VEVENT") => event = Some(Event::default()),
            None if begins("VTIMEZONE") => timezone = Some(Vec::new()),
            None => {}
            // A component inside the event (VALARM): its SUMMARY and DURATION are not the event's.
            Some(e) if line.name == "BEGIN" => e.nested += 1,
            Some(e) if line.name == "END" && e.nested > 0 => e.nested -= 1,
            Some(_) if ends("VEVENT") => events.extend(event.take()),
            Some(e) if e.nested == 0 => e.property(&line),
            Some(_) => {}
        }
    }
    let cut_short = event.is_some(); // the file ends inside an event
    // Events are placed in time once the whole file is read: a VTIMEZONE may follow them.
    let mut zones = Zones {
        local,
        defined,
        named: HashMap::new(),
        unknown: BTreeSet::new(),
    };
    let mut programme = Programme::default();
    for event in events {
        match event.session(&mut zones) {
            Ok(Some(session)) => programme.sessions.push(session),
            Ok(None) => {}
            Err(()) => programme.skipped += 1,
        }
    }
    programme.skipped += usize::from(cut_short);
    programme.unknown_zones = zones.unknown;
    programme
}

/// The logical lines of the file, unfolded on bytes before they are decoded (RFC 5545 §3.1: a
/// line break followed by a space or a tab is removed, and a fold may fall inside a UTF-8
/// character). CRLF and bare LF line ends are both accepted; bytes that are not UTF-8 become
/// U+FFFD.
fn unfold(data: &[u8]) -> Vec<String> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for raw in data.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        match (raw.split_first(), lines.last_mut()) {
            (Some((b' ' | b'\t', rest)), Some(last)) => last.extend_from_slice(rest),
            _ => lines.push(raw.to_vec()),
        }
    }
    lines
        .into_iter()
        .map(|line| match String::from_utf8(line) {
            Ok(line) => line,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
        .collect()
}

/// A content line, `NAME;PARAM=VALUE;...:value`.
pub(super) struct ContentLine<'a> {
    /// Upper-cased.
    pub(super) name: String,
    /// Names upper-cased, quotes removed from values.
    pub(super) params: Vec<(String, String)>,
    pub(super) value: &'a str,
}

/// Splits a content line; `None` for a line without a `:`.
pub(super) fn content_line(line: &str) -> Option<ContentLine<'_>> {
    // The value starts at the first `:` outside a quoted parameter value; parameters are
    // separated by `;` outside quotes.
    let mut quoted = false;
    let mut separators = Vec::new();
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => separators.push(i),
            ':' if !quoted => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let (head, value) = (line.get(..colon)?, line.get(colon + 1..)?);
    let mut bounds = std::iter::once(0)
        .chain(separators.iter().map(|&i| i + 1))
        .zip(separators.iter().copied().chain(std::iter::once(colon)));
    let (start, end) = bounds.next()?;
    let name = head.get(start..end)?.trim().to_ascii_uppercase();
    let params = bounds
        .filter_map(|(start, end)| head.get(start..end)?.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_uppercase(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect();
    Some(ContentLine {
        name,
        params,
        value,
    })
}

/// The longest title or room kept, in characters: a session's title goes on every phone's
/// status page and event stream, so a calendar cannot make them heavy. Longer ones end in `…`.
const MAX_TEXT: usize = 200;

/// Undoes TEXT escapes: `\\`, `\;`, `\,`, and `\n` / `\N` (a new line, kept as a space: a
/// title is shown on one line); keeps at most [`MAX_TEXT`] characters.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(4 * MAX_TEXT));
    let mut chars = value.chars();
    let mut kept = 0;
    while let Some(c) = chars.next() {
        if kept == MAX_TEXT {
            let rest = out.trim_end().len();
            out.truncate(rest);
            out.push('…');
            break;
        }
        kept += 1;
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Whether a `DTSTART` is a whole day (`VALUE=DATE`, or eight digits).
fn is_date(params: &[(String, String)], value: &str) -> bool {
    params
        .iter()
        .any(|(k, v)| k == "VALUE" && v.eq_ignore_ascii_case("DATE"))
        || value.trim().len() == 8
}

/// A DATE-TIME value (`19970714T133000`, `Z` at the end for UTC) as a wall-clock time, and
/// whether it is UTC; `None` when it does not parse. A leap second (60) is read as the last
/// second of its minute.
pub(super) fn date_time(value: &str) -> Option<(DateTime, bool)> {
    let value = value.trim();
    let (digits, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(digits) => (digits, true),
        None => (value, false),
    };
    let (date, clock) = digits.split_once(['T', 't'])?;
    let number = |s: &str| -> Option<i32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if date.len() != 8 || clock.len() != 6 {
        return None;
    }
    let year = i16::try_from(number(date.get(0..4)?)?).ok()?;
    let [month, day] =
        [date.get(4..6)?, date.get(6..8)?].map(|s| number(s).and_then(|n| i8::try_from(n).ok()));
    let [hour, minute, second] = [clock.get(0..2)?, clock.get(2..4)?, clock.get(4..6)?]
        .map(|s| number(s).and_then(|n| i8::try_from(n).ok()));
    let civil = DateTime::new(year, month?, day?, hour?, minute?, second?.min(59), 0).ok()?;
    Some((civil, utc))
}

/// A `DTSTART`/`DTEND` value with its `TZID` parameter; `None` when the value does not parse.
fn stamp(params: &[(String, String)], value: &str) -> Option<Stamp> {
    let (civil, utc) = date_time(value)?;
    let tzid = params.iter().find(|(k, _)| k == "TZID").map(|(_, v)| v);
    let zone = match (utc, tzid) {
        (true, _) => StampZone::Utc,
        (false, Some(tzid)) => StampZone::Named(tzid.clone()),
        (false, None) => StampZone::Floating,
    };
    Some(Stamp { civil, zone })
}

/// A DURATION value (`PT1H30M`, `P1DT2H`, `PT45M`, `P1W`) in seconds; `None` when it does not
/// parse or is negative.
fn duration(value: &str) -> Option<i64> {
    let rest = value.trim().strip_prefix(['P', 'p'])?;
    let (mut seconds, mut number, mut in_time, mut any) = (0i64, None::<i64>, false, false);
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' if number.is_none() => in_time = true,
            d if d.is_ascii_digit() => {
                let digit = i64::from(d.to_digit(10)?);
                number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            }
            unit => {
                let scale = match (unit, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                seconds = seconds.checked_add(number.take()?.checked_mul(scale)?)?;
                any = true;
            }
        }
    }
    (any && number.is_none()).then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").expect("tzdata installed (tests/run.sh installs tzdata)")
    }

    const PROGRAMME: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//pretalx//sdn-2026//EN\r
BEGIN:VTIMEZONE\r
TZID:Europe/Paris\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:1@sdn\r
SUMMARY:Keynote: l'IA\\, la ville\\; et nous\r
LOCATION:Salle A\r
DTSTART;TZID=Europe/Paris:20261129T100000\r
DTEND;TZID=Europe/Paris:20261129T110000\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:A very long title folded over\r
  two lines\r
LOCATION:hall-b\r
DTSTART:20261129T103000Z\r
DURATION:PT1H30M\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Floating time\\nsecond line\r
LOCATION:Salle A\r
DTSTART:20261129T140000\r
DTEND:20261129T143000\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Day one\r
DTSTART;VALUE=DATE:20261129\r
DTEND;VALUE=DATE:20261130\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Cancelled talk\r
LOCATION:Salle A\r
STATUS:CANCELLED\r
DTSTART:20261129T150000Z\r
DTEND:20261129T160000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:No room\r
DTSTART:20261129T150000Z\r
DTEND:20261129T160000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Ends before it starts\r
LOCATION:Salle A\r
DTSTART:20261129T160000Z\r
DTEND:20261129T150000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:Unknown zone\r
LOCATION:Salle A\r
DTSTART;TZID=Mars/Olympus:20261129T160000\r
DTEND:20261129T170000Z\r
END:VEVENT\r
END:VCALENDAR\r
";

    #[test]
    fn sessions_with_zones_folding_escapes_and_durations() {
        let programme = parse(PROGRAMME.as_bytes(), &paris());
        let at = |s: &str| s.parse::<jiff::Timestamp>().expect("timestamp").as_second();
        assert_eq!(
            programme.sessions,
            [
                Session {
                    title: "Keynote: l'IA, la ville; et nous".into(),
                    location: "Salle A".into(),
                    starts: at("2026-11-29T09:00:00Z"),
                    ends: at("2026-11-29T10:00:00Z"),
                },
                Session {
                    title: "A very long title folded over two lines".into(),
                    location: "hall-b".into(),
                    starts: at("2026-11-29T10:30:00Z"),
                    ends: at("2026-11-29T12:00:00Z"),
                },
                Session {
                    title: "Floating time second line".into(),
                    location: "Salle A".into(),
                    starts: at("2026-11-29T13:00:00Z"),
                    ends: at("2026-11-29T13:30:00Z"),
                },
            ]
        );
        // No room, an end before the start, an unknown time zone; the all-day and the
        // cancelled events are not sessions.
        assert_eq!(programme.skipped, 3);
        assert_eq!(
            programme.unknown_zones,
            BTreeSet::from(["Mars/Olympus".to_string()])
        );
    }

    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
    }

    /// (title, room, start, end) of each session, times in RFC 3339 UTC.
    fn sessions(programme: &Programme) -> Vec<(String, String, String, String)> {
        let utc = |t: i64| {
            jiff::Timestamp::from_second(t)
                .expect("in range")
                .to_string()
        };
        programme
            .sessions
            .iter()
            .map(|s| {
                (
                    s.title.clone(),
                    s.location.clone(),
                    utc(s.starts),
                    utc(s.ends),
                )
            })
            .collect()
    }

    fn session(
        title: &str,
        room: &str,
        starts: &str,
        ends: &str,
    ) -> (String, String, String, String) {
        (title.into(), room.into(), starts.into(), ends.into())
    }

    #[test]
    fn a_fold_inside_a_utf8_character_is_undone_before_decoding() {
        let data = include_bytes!("../../../tests/fixtures/schedule/fold-inside-character.ics");
        let programme = parse(data, &paris());
        assert_eq!(
            sessions(&programme),
            [
                session(
                    "Atelier café",
                    "Salle Été",
                    "2027-06-03T13:00:00Z",
                    "2027-06-03T14:30:00Z"
                ),
                session(
                    "Clôture",
                    "Salle Été",
                    "2027-06-03T15:00:00Z",
                    "2027-06-03T16:00:00Z"
                ),
            ]
        );
        assert_eq!(programme.skipped, 0);
    }

    #[test]
    fn a_windows_time_zone_defined_in_the_file_is_followed() {
        let data = include_bytes!("../../../tests/fixtures/schedule/windows-time-zone.ics");
        let programme = parse(data, &paris());
        assert_eq!(
            sessions(&programme),
            [
                session(
                    "Table ronde",
                    "Salle A",
                    "2027-06-03T13:00:00Z",
                    "2027-06-03T14:30:00Z"
                ),
                session(
                    "Atelier d'hiver",
                    "Salle A",
                    "2027-01-15T19:00:00Z",
                    "2027-01-15T20:00:00Z"
                ),
            ]
        );
        assert_eq!(programme.skipped, 0);
        assert!(programme.unknown_zones.is_empty());
    }

    /// A programme of one event per `(TZID parameter, start, end)`, in room "R".
    fn events(zones: &str, events: &[(&str, &str, &str)]) -> String {
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for (tzid, starts, ends) in events {
            text.push_str(&format!(
                "BEGIN:VEVENT\r\nSUMMARY:T\r\nLOCATION:R\r\nDTSTART;TZID={tzid}:{starts}\r\n\
                 DTEND;TZID={tzid}:{ends}\r\nEND:VEVENT\r\n"
            ));
        }
        text.push_str(zones);
        text.push_str("END:VCALENDAR\r\n");
        text
    }

    fn times(programme: &Programme) -> Vec<(i64, i64)> {
        programme
            .sessions
            .iter()
            .map(|s| (s.starts, s.ends))
            .collect()
    }

    #[test]
    fn windows_names_without_a_definition_are_mapped_through_cldr() {
        let text = events(
            "",
            &[
                (
                    "Romance Standard Time",
                    "20270603T100000",
                    "20270603T110000",
                ),
                (
                    "\"Eastern Standard Time\"",
                    "20270115T140000",
                    "20270115T150000",
                ),
                ("tokyo standard time", "20270603T100000", "20270603T110000"),
            ],
        );
        let programme = parse(text.as_bytes(), &TimeZone::UTC);
        assert_eq!(
            times(&programme),
            [
                (at("2027-06-03T08:00:00Z"), at("2027-06-03T09:00:00Z")),
                (at("2027-01-15T19:00:00Z"), at("2027-01-15T20:00:00Z")),
                (at("2027-06-03T01:00:00Z"), at("2027-06-03T02:00:00Z")),
            ]
        );
        assert_eq!(programme.skipped, 0);
    }

    #[test]
    fn iana_and_globally_unique_tzids() {
        let text = events(
            "",
            &[
                ("America/Toronto", "20270603T090000", "20270603T103000"),
                (
                    "\"/mozilla.org/20070129_1/Europe/Paris\"",
                    "20270115T140000",
                    "20270115T150000",
                ),
                ("/Europe/Paris", "20270603T100000", "20270603T110000"),
                (
                    "/softwarestudio.org/Olson_20011030_5/America/New_York",
                    "20270115T140000",
                    "20270115T150000",
                ),
            ],
        );
        let programme = parse(text.as_bytes(), &TimeZone::UTC);
        assert_eq!(
            times(&programme),
            [
                (at("2027-06-03T13:00:00Z"), at("2027-06-03T14:30:00Z")),
                (at("2027-01-15T13:00:00Z"), at("2027-01-15T14:00:00Z")),
                (at("2027-06-03T08:00:00Z"), at("2027-06-03T09:00:00Z")),
                (at("2027-01-15T19:00:00Z"), at("2027-01-15T20:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_custom_tzid_defined_after_its_events_with_southern_rules() {
        // Last Sunday of October to first Sunday of April, +11:00 in between; the definition
        // comes after the events, and a definition wins over the IANA zone of the same name.
        let zones = "BEGIN:VTIMEZONE\r\nTZID:Hall time\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:20081026T020000\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:20090405T030000\r\nTZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
             BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n\
             TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
        let text = events(
            zones,
            &[
                ("Hall time", "20270115T100000", "20270115T110000"),
                ("\"Hall time\"", "20270603T100000", "20270603T110000"),
                ("Europe/Paris", "20270603T100000", "20270603T110000"),
            ],
        );
        let programme = parse(text.as_bytes(), &TimeZone::UTC);
        assert_eq!(
            times(&programme),
            [
                (at("2027-01-14T23:00:00Z"), at("2027-01-15T00:00:00Z")),
                (at("2027-06-03T00:00:00Z"), at("2027-06-03T01:00:00Z")),
                (at("2027-06-03T07:00:00Z"), at("2027-06-03T08:00:00Z")),
            ]
        );
    }

    #[test]
    fn folds_with_a_tab_inside_a_four_byte_character_in_an_lf_only_file() {
        // 🎤 is F0 9F 8E A4: folded after its second byte, with LF line ends and a tab.
        let mut data = b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Karaok\xC3\xA9 \xF0\x9F".to_vec();
        data.extend_from_slice(b"\n\t\x8E\xA4 night\nLOCATION:Salle\n  \xC3\x89t\xC3\n \xA9\n");
        data.extend_from_slice(
            b"DTSTART:20270603T130000Z\nDTEND:20270603T143000Z\nEND:VEVENT\nEND:VCALENDAR\n",
        );
        let programme = parse(&data, &TimeZone::UTC);
        assert_eq!(
            sessions(&programme),
            [session(
                "Karaoké 🎤 night",
                "Salle Été",
                "2027-06-03T13:00:00Z",
                "2027-06-03T14:30:00Z"
            )]
        );
    }

    #[test]
    fn an_unknown_tzid_costs_only_its_events() {
        let text = events(
            "",
            &[
                ("Mars Standard Time", "20270603T100000", "20270603T110000"),
                ("Europe/Paris", "20270603T100000", "20270603T110000"),
                ("../../etc/passwd", "20270603T100000", "20270603T110000"),
            ],
        );
        let programme = parse(text.as_bytes(), &TimeZone::UTC);
        assert_eq!(programme.sessions.len(), 1);
        assert_eq!(programme.skipped, 2);
        assert_eq!(
            programme.unknown_zones,
            BTreeSet::from([
                "../../etc/passwd".to_string(),
                "Mars Standard Time".to_string()
            ])
        );
    }

    #[test]
    fn span_is_first_start_to_last_end() {
        let programme = parse(PROGRAMME.as_bytes(), &paris());
        assert_eq!(
            programme.span(),
            Some((at("2026-11-29T09:00:00Z"), at("2026-11-29T13:30:00Z")))
        );
        assert_eq!(Programme::default().span(), None);
    }

    #[test]
    fn a_file_cut_inside_an_event_counts_it_as_skipped() {
        let cut = &PROGRAMME[..PROGRAMME.find("LOCATION:hall-b").expect("in file")];
        let programme = parse(cut.as_bytes(), &paris());
        assert_eq!((programme.sessions.len(), programme.skipped), (1, 1));
    }

    #[test]
    fn durations() {
        assert_eq!(duration("PT1H30M"), Some(5_400));
        assert_eq!(duration("P1DT2H"), Some(93_600));
        assert_eq!(duration("P1W"), Some(604_800));
        assert_eq!(duration("PT45S"), Some(45));
        assert_eq!(duration("PT"), None);
        assert_eq!(duration("-PT1H"), None);
        assert_eq!(duration("P1H"), None, "hours belong after T");
        assert_eq!(duration("PT99999999999999999999H"), None);
    }

    #[test]
    fn quoted_parameters_may_hold_colons_and_semicolons() {
        let line = "DTSTART;X-NOTE=\"a:b;c\";TZID=\"Europe/Paris\":20261129T100000";
        let line = content_line(line).expect("line");
        assert_eq!(
            (line.name.as_str(), line.value),
            ("DTSTART", "20261129T100000")
        );
        assert_eq!(
            line.params[1],
            ("TZID".to_string(), "Europe/Paris".to_string())
        );
    }

    proptest! {
        #[test]
        fn folding_anywhere_changes_nothing(
            titles in proptest::collection::vec("[^\\\\;,\\x00-\\x1f]{0,40}", 1..6),
            width in 1usize..80,
            tab in any::<bool>(),
            lf_only in any::<bool>(),
        ) {
            let end = if lf_only { "\n" } else { "\r\n" };
            let lines: Vec<String> = titles
                .iter()
                .flat_map(|title| {
                    [
                        "BEGIN:VEVENT".to_string(),
                        format!("SUMMARY:{title}"),
                        "LOCATION:Salle Été".to_string(),
                        "DTSTART;TZID=Eastern Standard Time:20270603T090000".to_string(),
                        "DURATION:PT1H".to_string(),
                        "END:VEVENT".to_string(),
                    ]
                })
                .collect();
            let plain = lines.iter().map(|l| format!("{l}{end}")).collect::<String>();
            // Fold every line every `width` bytes, wherever that falls.
            let mut folded = Vec::new();
            for line in &lines {
                for (i, chunk) in line.as_bytes().chunks(width).enumerate() {
                    if i > 0 {
                        folded.push(if tab { b'\t' } else { b' ' });
                    }
                    folded.extend_from_slice(chunk);
                    folded.extend_from_slice(end.as_bytes());
                }
            }
            let expected = parse(plain.as_bytes(), &TimeZone::UTC);
            prop_assert_eq!(expected.sessions.len(), titles.len());
            prop_assert_eq!(parse(&folded, &TimeZone::UTC), expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&data, &TimeZone::UTC);
        }

        #[test]
        fn generated_programmes_parse_back(sessions in proptest::collection::vec(("[ -~]{0,40}", "[A-Za-z][ -~]{0,20}", 0i64..4_000_000_000, 1i64..86_400), 0..20)) {
            let escape = |s: &str| s.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,");
            let stamp = |t: i64| jiff::Timestamp::from_second(t).expect("in range").strftime("%Y%m%dT%H%M%SZ").to_string();
            let mut text = String::from("BEGIN:VCALENDAR\r\n");
            for (title, location, starts, length) in &sessions {
                text.push_str(&format!("BEGIN:VEVENT\r\nSUMMARY:{}\r\nLOCATION:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nEND:VEVENT\r\n", escape(title), escape(location), stamp(*starts), stamp(starts + length)));
            }
            text.push_str("END:VCALENDAR\r\n");
            let programme = parse(text.as_bytes(), &TimeZone::UTC);
            prop_assert_eq!(programme.skipped, 0);
            let expected: Vec<Session> = sessions
                .iter()
                .filter(|(_, location, ..)| !location.trim().is_empty())
                .map(|(title, location, starts, length)| Session {
                    title: title.trim().to_string(),
                    location: location.trim().to_string(),
                    starts: *starts,
                    ends: starts + length,
                })
                .collect();
            prop_assert_eq!(programme.sessions, expected);
        }
    }

    #[test]
    fn a_huge_title_is_cut_to_a_page_s_worth() {
        let title = "Keynote ".repeat(300_000);
        let file = format!(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:{title}\r\nLOCATION:Salle A\r\n\
             DTSTART:20270603T130000Z\r\nDTEND:20270603T140000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let programme = parse(file.as_bytes(), &TimeZone::UTC);
        let shown = &programme.sessions[0].title;
        assert!(shown.chars().count() <= MAX_TEXT, "{shown}");
        assert!(
            shown.starts_with("Keynote Keynote") && shown.ends_with("Keynote…"),
            "{shown}"
        );
        assert_eq!(
            unescape("Atelier café"),
            "Atelier café",
            "short texts are whole"
        );
    }
}
