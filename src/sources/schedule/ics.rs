//! iCalendar (RFC 5545) programmes, as conference tools export them (pretalx, frab, Indico,
//! any calendar): the `VEVENT`s with a title (`SUMMARY`), a room (`LOCATION`), a start and an
//! end. Only what the status page and the report need is read; the rest is skipped.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// One session of the programme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its title, unescaped (may hold anything: it is text for people, escaped where shown).
    pub title: String,
    /// Its room, as the programme names it.
    pub location: String,
    /// Start, Unix seconds.
    pub starts: i64,
    /// End, Unix seconds (after `starts`).
    pub ends: i64,
}

/// A parsed programme: its sessions, and how many events were left out as unusable (no room,
/// no start or end, an end before the start, a date that does not parse). All-day and
/// cancelled events are not sessions and are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Programme {
    /// The sessions, in file order.
    pub sessions: Vec<Session>,
    /// Events that could not be read.
    pub skipped: usize,
}

/// What one `VEVENT` says, as read so far.
#[derive(Default)]
struct Event {
    title: Option<String>,
    location: Option<String>,
    starts: Option<Option<i64>>,
    ends: Option<Option<i64>>,
    duration: Option<Option<i64>>,
    all_day: bool,
    cancelled: bool,
    /// Depth inside components nested in the event.
    nested: usize,
}

impl Event {
    /// Reads one property of the event.
    fn property(&mut self, name: &str, params: &[(String, String)], value: &str, local: &TimeZone) {
        match name {
            "SUMMARY" => self.title = Some(unescape(value)),
            "LOCATION" => self.location = Some(unescape(value)),
            "STATUS" => self.cancelled = value.eq_ignore_ascii_case("CANCELLED"),
            "DTSTART" => {
                self.all_day |= is_date(params, value);
                self.starts = Some(time(params, value, local));
            }
            "DTEND" => self.ends = Some(time(params, value, local)),
            "DURATION" => self.duration = Some(duration(value)),
            _ => {}
        }
    }

    /// The session, `Ok(None)` for an event that is not one (all-day, cancelled), `Err(())`
    /// for one that cannot be read.
    fn session(self) -> Result<Option<Session>, ()> {
        if self.all_day || self.cancelled {
            return Ok(None);
        }
        let starts = self.starts.flatten().ok_or(())?;
        let ends = match (self.ends, self.duration) {
            (Some(ends), _) => ends.ok_or(())?,
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

/// Parses an iCalendar file. Times without a zone (floating) are read in `local`, the venue's
/// time zone; `TZID` parameters name IANA zones. Never fails: what cannot be read is counted.
pub fn parse(data: &[u8], local: &TimeZone) -> Programme {
    let text = String::from_utf8_lossy(data);
    let mut programme = Programme::default();
    let mut event: Option<Event> = None;
    for line in unfold(&text) {
        let Some(ContentLine {
            name,
            params,
            value,
        }) = content_line(&line)
        else {
            continue;
        };
        match (name.as_str(), event.as_mut()) {
            ("BEGIN", None) if value.eq_ignore_ascii_case("VEVENT") => {
                event = Some(Event::default());
            }
            // A component inside the event (VALARM): its SUMMARY and DURATION are not the event's.
            ("BEGIN", Some(e)) => e.nested += 1,
            ("END", Some(e)) if e.nested > 0 => e.nested -= 1,
            ("END", Some(_)) if value.eq_ignore_ascii_case("VEVENT") => {
                match event.take().map(Event::session) {
                    Some(Ok(Some(session))) => programme.sessions.push(session),
                    Some(Err(())) => programme.skipped += 1,
                    _ => {}
                }
            }
            (_, Some(e)) if e.nested == 0 => e.property(&name, &params, value, local),
            _ => {}
        }
    }
    if event.is_some() {
        programme.skipped += 1; // the file ends inside an event: cut short
    }
    programme
}

/// The logical lines of the file: a line starting with a space or a tab continues the one
/// before (RFC 5545 §3.1 folding). CRLF and LF line ends are both accepted.
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(raw.to_string()),
        }
    }
    lines
}

/// A content line, `NAME;PARAM=VALUE;...:value`.
struct ContentLine<'a> {
    /// Upper-cased.
    name: String,
    /// Names upper-cased, quotes removed from values.
    params: Vec<(String, String)>,
    value: &'a str,
}

/// Splits a content line; `None` for a line without a `:`.
fn content_line(line: &str) -> Option<ContentLine<'_>> {
    // The value starts at the first `:` outside a quoted parameter value.
    let mut quoted = false;
    let colon = line.char_indices().find_map(|(i, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        ':' if !quoted => Some(i),
        _ => None,
    })?;
    let (head, value) = (line.get(..colon)?, line.get(colon + 1..)?);
    let mut parts = head.split(';');
    let name = parts.next()?.trim().to_ascii_uppercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_uppercase(),
                v.trim_matches('"').to_string(),
            )
        })
        .collect();
    Some(ContentLine {
        name,
        params,
        value,
    })
}

/// Undoes TEXT escapes: `\\`, `\;`, `\,`, and `\n` / `\N` (a new line, kept as a space: a
/// title is shown on one line).
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
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

/// A DATE-TIME value (`19970714T133000`, with `Z` for UTC, or a `TZID` parameter, else in
/// `local`) as Unix seconds; `None` when it does not parse or names an unknown zone.
fn time(params: &[(String, String)], value: &str, local: &TimeZone) -> Option<i64> {
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
    // A leap second (60) is read as the last second of its minute.
    let civil = DateTime::new(year, month?, day?, hour?, minute?, second?.min(59), 0).ok()?;
    let zone = if utc {
        TimeZone::UTC
    } else {
        match params.iter().find(|(k, _)| k == "TZID") {
            // Outlook writes `TZID=/Europe/Paris` style prefixes; IANA names are what we read.
            Some((_, tzid)) => TimeZone::get(tzid.trim_start_matches('/')).ok()?,
            None => local.clone(),
        }
    };
    Some(zone.to_timestamp(civil).ok()?.as_second())
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
    fn quoted_parameters_may_hold_colons() {
        let line = "DTSTART;X-NOTE=\"a:b\";TZID=\"Europe/Paris\":20261129T100000";
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
}
