//! Time zones a programme defines itself (`VTIMEZONE`, RFC 5545 §3.6.5), as Outlook and
//! Exchange do for Windows zone names and any exporter may for a TZID of its own. A zone is a
//! set of observances (`STANDARD`, `DAYLIGHT`); each starts at onsets (its `DTSTART`, wall-clock
//! time in `TZOFFSETFROM`, repeated by a yearly `RRULE` and listed in `RDATE`s), from which on
//! the offset is its `TZOFFSETTO`, until another observance's onset.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::Offset;

use super::ics::{ContentLine, date_time};

/// Years of a rule (one in `INTERVAL`) looked at to find an onset. The Gregorian calendar
/// repeats every 400 years, so a rule that picks no day in 400 of its years picks none ever;
/// real rules pick one every year, so a search stops after a year or two.
const CYCLE: i32 = 400;

/// Observances and `RDATE`s a zone may have: real ones have at most a few hundred (a zone's
/// whole history); a zone with more is not followed, which bounds the work per time a file can
/// ask for.
const MAX_LISTED: usize = 1000;

/// Years of rules a zone may look at (each a cached lookup or a computation) while a file is
/// read. A time costs about seven lookups per yearly rule started before it: a programme of
/// 10 000 events in a zone of 10 yearly rules (a whole history) needs about 1.5 million. A
/// file that asks for more has that zone's remaining events counted as unreadable, rather than
/// keep the agent busy (a crafted file of 5000 events reached it after 4 s of a debug build).
const MAX_WORK: u32 = 4_000_000;

/// A time zone defined in the file.
#[derive(Debug)]
pub(crate) struct VTimeZone {
    /// At least one.
    observances: Vec<Observance>,
    /// What is left of [`MAX_WORK`].
    work: Work,
}

/// A budget of years looked at; once spent, the zone places no more times.
#[derive(Debug)]
struct Work(Cell<u32>);

impl Work {
    /// Spends one; `false` when none is left.
    fn spend(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left > 0
    }

    fn spent(&self) -> bool {
        self.0.get() == 0
    }
}

/// A `STANDARD` or `DAYLIGHT` sub-component.
#[derive(Debug)]
struct Observance {
    /// First onset, wall-clock time in `from`.
    start: DateTime,
    /// Offset before an onset, seconds east of UTC.
    from: i32,
    /// Offset from an onset on.
    to: i32,
    /// Further onsets, every year or every few years.
    rule: Option<Yearly>,
    /// Further onsets, listed.
    dates: Vec<DateTime>,
}

/// A `RRULE` with `FREQ=YEARLY`, the only kind time zones use.
#[derive(Debug)]
struct Yearly {
    /// Every how many years.
    interval: i16,
    /// `BYMONTH`; empty for the month of the start.
    months: Vec<i8>,
    /// `BYDAY`: (which one in the month, 0 for every one; the weekday).
    weekdays: Vec<(i8, Weekday)>,
    /// `BYMONTHDAY`, negative from the end of the month.
    month_days: Vec<i8>,
    /// Last onset allowed.
    until: Option<Until>,
    /// Number of onsets, the start included.
    count: Option<u32>,
    /// Worked out on first use (a file may define zones it never uses).
    reach: OnceCell<Reach>,
    /// The onsets of each year looked at so far: times in one year share them.
    onsets: RefCell<HashMap<i16, Rc<[i64]>>>,
}

/// Where a rule's onsets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reach {
    /// Whether it picks any day at all (`BYMONTH=2;BYMONTHDAY=30` picks none).
    any: bool,
    /// With a `COUNT`, its last onset (Unix seconds), when reached before year 9999.
    last: Option<i64>,
}

/// A rule's `UNTIL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// In UTC (`…Z`, as RFC 5545 asks), Unix seconds.
    Utc(i64),
    /// Wall-clock time, as some exporters write it.
    Local(DateTime),
}

/// A `VTIMEZONE`, as read: its `TZID`, and the zone when this reader can follow every one of
/// its observances.
pub(crate) struct Definition {
    /// The `TZID` property.
    pub(crate) tzid: Option<String>,
    /// `None` when an observance lacks its start or offset, or has a rule other than a yearly
    /// one by month, weekday and day of month.
    pub(crate) zone: Option<VTimeZone>,
}

/// Reads the content lines between `BEGIN:VTIMEZONE` and `END:VTIMEZONE`.
pub(crate) fn parse(lines: &[ContentLine<'_>]) -> Definition {
    let mut tzid = None;
    let mut observances = Vec::new();
    let mut usable = true;
    let mut current: Option<Builder> = None;
    let mut nested = 0usize;
    for line in lines {
        let observance = ["STANDARD", "DAYLIGHT"]
            .iter()
            .any(|kind| line.value.trim().eq_ignore_ascii_case(kind));
        match (line.name.as_str(), current.as_mut()) {
            ("BEGIN", None) if nested == 0 && observance => current = Some(Builder::default()),
            ("BEGIN", _) => nested += 1,
            ("END", _) if nested > 0 => nested -= 1,
            ("END", Some(_)) => match current.take().and_then(Builder::build) {
                Some(o) => observances.push(o),
                None => usable = false,
            },
            ("TZID", None) if nested == 0 => tzid = Some(line.value.trim().to_string()),
            (_, Some(builder)) if nested == 0 => builder.property(line),
            _ => {}
        }
    }
    let usable = usable
        && current.is_none()
        && !observances.is_empty()
        && observances.iter().map(|o| 1 + o.dates.len()).sum::<usize>() <= MAX_LISTED;
    Definition {
        tzid,
        zone: usable.then_some(VTimeZone {
            observances,
            work: Work(Cell::new(MAX_WORK)),
        }),
    }
}

/// An observance, as read so far.
#[derive(Default)]
struct Builder {
    start: Option<DateTime>,
    from: Option<i32>,
    to: Option<i32>,
    rule: Option<Option<Yearly>>,
    dates: Vec<DateTime>,
    /// A property that cannot be read, which would make times wrong if ignored.
    unreadable: bool,
}

impl Builder {
    fn property(&mut self, line: &ContentLine<'_>) {
        let value = line.value.trim();
        match line.name.as_str() {
            // Wall-clock time by definition, even if an exporter writes a `Z`.
            "DTSTART" => self.start = date_time(value).map(|(dt, _)| dt),
            "TZOFFSETFROM" => self.from = offset(value),
            "TZOFFSETTO" => self.to = offset(value),
            "RRULE" => self.rule = Some(Yearly::parse(value)),
            "RDATE" => {
                for item in value.split(',') {
                    match date_time(item) {
                        Some((dt, _)) => self.dates.push(dt),
                        None => self.unreadable = true,
                    }
                }
            }
            _ => {}
        }
    }

    fn build(self) -> Option<Observance> {
        let to = self.to?;
        (!self.unreadable).then_some(())?;
        Some(Observance {
            start: self.start?,
            from: self.from.unwrap_or(to),
            to,
            rule: self.rule.map_or(Some(None), |rule| rule.map(Some))?,
            dates: self.dates,
        })
    }
}

/// A UTC offset (`-0500`, `+0530`, `+013045`) in seconds east of UTC.
fn offset(value: &str) -> Option<i32> {
    let (sign, digits) = match value.trim().as_bytes().split_first()? {
        (b'-', rest) => (-1, rest),
        (b'+', rest) => (1, rest),
        _ => (1, value.trim().as_bytes()),
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let field = |i: usize| -> i32 {
        digits
            .get(i..i + 2)
            .map_or(0, |d| d.iter().fold(0, |n, b| n * 10 + i32::from(b - b'0')))
    };
    let (hours, minutes, seconds) = (field(0), field(2), field(4));
    (hours < 24 && minutes < 60 && seconds < 60)
        .then_some(sign * (hours * 3_600 + minutes * 60 + seconds))
}

/// Unix seconds of a wall-clock time read as UTC.
fn civil_seconds(dt: DateTime) -> Option<i64> {
    Some(Offset::UTC.to_timestamp(dt).ok()?.as_second())
}

/// The year (in UTC) of Unix seconds.
fn year_of(seconds: i64) -> Option<i16> {
    Some(
        Offset::UTC
            .to_datetime(Timestamp::from_second(seconds).ok()?)
            .year(),
    )
}

impl Yearly {
    /// Reads a `RRULE` value; `None` for any other rule than a yearly one this reader follows.
    fn parse(value: &str) -> Option<Yearly> {
        let mut rule = Yearly {
            interval: 1,
            months: Vec::new(),
            weekdays: Vec::new(),
            month_days: Vec::new(),
            until: None,
            count: None,
            reach: OnceCell::new(),
            onsets: RefCell::default(),
        };
        let mut yearly = false;
        fn list<T>(value: &str, item: impl Fn(&str) -> Option<T>) -> Option<Vec<T>> {
            value.split(',').map(|s| item(s.trim())).collect()
        }
        for part in value.split(';').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part.split_once('=')?;
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => yearly = value.trim().eq_ignore_ascii_case("YEARLY"),
                "INTERVAL" => rule.interval = value.trim().parse().ok().filter(|&n| n >= 1)?,
                "BYMONTH" => {
                    rule.months = list(value, |s| s.parse().ok().filter(|m| (1..=12).contains(m)))?;
                }
                "BYDAY" => rule.weekdays = list(value, by_day)?,
                "BYMONTHDAY" => {
                    rule.month_days = list(value, |s| {
                        s.parse()
                            .ok()
                            .filter(|d: &i8| *d != 0 && (-31..=31).contains(d))
                    })?;
                }
                "UNTIL" => rule.until = Some(until(value.trim())?),
                "COUNT" => rule.count = Some(value.trim().parse().ok()?),
                "WKST" => {}
                _ => return None,
            }
        }
        // Weekdays across a whole year (no month) are no time zone's rule.
        let whole_year = rule.months.is_empty() && !rule.weekdays.is_empty();
        (yearly && !whole_year).then_some(rule)
    }

    /// The days of `year` the rule picks, in order; `start` gives the month and day where the
    /// rule names none.
    fn days(&self, year: i16, start: Date) -> Vec<Date> {
        let start_month = [start.month()];
        let months = if self.months.is_empty() {
            &start_month[..]
        } else {
            &self.months[..]
        };
        let mut days = Vec::new();
        for &month in months {
            let Ok(first) = Date::new(year, month, 1) else {
                continue;
            };
            let last = first.days_in_month();
            let day = |d: i8| Date::new(year, month, if d < 0 { last + d + 1 } else { d }).ok();
            if self.weekdays.is_empty() {
                if self.month_days.is_empty() {
                    days.extend(day(start.day()));
                } else {
                    days.extend(self.month_days.iter().filter_map(|&d| day(d)));
                }
                continue;
            }
            for &(nth, weekday) in &self.weekdays {
                let picked: Vec<Date> = if nth == 0 {
                    (1..=5)
                        .filter_map(|n| first.nth_weekday_of_month(n, weekday).ok())
                        .collect()
                } else {
                    first
                        .nth_weekday_of_month(nth, weekday)
                        .ok()
                        .into_iter()
                        .collect()
                };
                days.extend(picked.into_iter().filter(|d| {
                    self.month_days.is_empty()
                        || self.month_days.iter().any(|&md| day(md) == Some(*d))
                }));
            }
        }
        days.sort_unstable();
        days.dedup();
        days
    }

    /// The onsets of `year` (Unix seconds), in order, that `o`'s start and this rule's `UNTIL`
    /// allow.
    fn onsets(&self, o: &Observance, year: i16, work: &Work) -> Rc<[i64]> {
        if !work.spend() {
            return Rc::from([]);
        }
        if let Some(onsets) = self.onsets.borrow().get(&year) {
            return Rc::clone(onsets);
        }
        let onsets: Rc<[i64]> = self
            .days(year, o.start.date())
            .into_iter()
            .filter_map(|day| {
                let local = day.to_datetime(o.start.time());
                let onset = civil_seconds(local)? - i64::from(o.from);
                let allowed = local >= o.start
                    && match self.until {
                        None => true,
                        Some(Until::Utc(until)) => onset <= until,
                        Some(Until::Local(until)) => local <= until,
                    };
                allowed.then_some(onset)
            })
            .collect();
        self.onsets.borrow_mut().insert(year, Rc::clone(&onsets));
        onsets
    }

    /// The rule's `k`th year (every `INTERVAL` from the start's), if a year jiff handles.
    fn year(&self, o: &Observance, k: i32) -> Option<i16> {
        let year =
            i32::from(o.start.year()).checked_add(k.checked_mul(i32::from(self.interval))?)?;
        i16::try_from(year)
            .ok()
            .filter(|y| (-9999..=9999).contains(y))
    }

    /// Where the rule's onsets are (see [`Reach`]).
    fn reach(&self, o: &Observance, work: &Work) -> Reach {
        *self.reach.get_or_init(|| {
            let start = o.start.date();
            let any = self.count != Some(0)
                && (0..CYCLE)
                    .map_while(|k| self.year(o, k))
                    .any(|year| !self.days(year, start).is_empty());
            let last = match (any, self.count) {
                (true, Some(count)) => (0..)
                    .map_while(|k| self.year(o, k))
                    .flat_map(|year| self.onsets(o, year, work).to_vec())
                    .nth(usize::try_from(count.saturating_sub(1)).unwrap_or(usize::MAX)),
                _ => None,
            };
            Reach { any, last }
        })
    }

    /// The last onset at or before `utc`.
    fn last_onset(&self, o: &Observance, utc: i64, work: &Work) -> Option<i64> {
        let reach = self.reach(o, work);
        if !reach.any || work.spent() {
            return None;
        }
        // A counted rule ends at its last onset, as a rule with UNTIL does.
        let utc = reach.last.map_or(utc, |last| utc.min(last));
        let mut last_year = year_of(utc)?.saturating_add(1);
        match self.until {
            Some(Until::Utc(until)) => last_year = last_year.min(year_of(until)?),
            Some(Until::Local(until)) => last_year = last_year.min(until.year()),
            None => {}
        }
        // The rule's years from `last_year` back: a hit within a calendar cycle, or none.
        let top = (i32::from(last_year) - i32::from(o.start.year()))
            .checked_div(i32::from(self.interval))?;
        (0..=top)
            .rev()
            .take(usize::try_from(CYCLE).ok()?)
            .filter_map(|k| self.year(o, k))
            .find_map(|year| {
                self.onsets(o, year, work)
                    .iter()
                    .rev()
                    .find(|&&t| t <= utc)
                    .copied()
            })
    }
}

/// A `BYDAY` item: `SU`, `1SU`, `-1SU`, `+2SU`.
fn by_day(item: &str) -> Option<(i8, Weekday)> {
    let split = item.len().checked_sub(2)?;
    let (nth, day) = (item.get(..split)?, item.get(split..)?);
    let weekday = match day.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    };
    let nth = match nth {
        "" => 0,
        n => n
            .trim_start_matches('+')
            .parse::<i8>()
            .ok()
            .filter(|n| *n != 0 && (-5..=5).contains(n))?,
    };
    Some((nth, weekday))
}

/// A rule's `UNTIL`: a UTC or wall-clock time, or a date (its whole day).
fn until(value: &str) -> Option<Until> {
    if let Some((dt, utc)) = date_time(value) {
        return Some(if utc {
            Until::Utc(civil_seconds(dt)?)
        } else {
            Until::Local(dt)
        });
    }
    let digits = |range: std::ops::Range<usize>| value.get(range)?.parse::<i16>().ok();
    (value.len() == 8).then_some(())?;
    let date = Date::new(
        digits(0..4)?,
        i8::try_from(digits(4..6)?).ok()?,
        i8::try_from(digits(6..8)?).ok()?,
    )
    .ok()?;
    Some(Until::Local(date.at(23, 59, 59, 0)))
}

impl Observance {
    /// The last onset at or before `utc` (Unix seconds).
    fn last_onset(&self, utc: i64, work: &Work) -> Option<i64> {
        let onset = |local: DateTime| {
            civil_seconds(local)
                .map(|t| t - i64::from(self.from))
                .filter(|&t| t <= utc)
        };
        let listed = std::iter::once(self.start)
            .chain(self.dates.iter().copied())
            .filter_map(onset)
            .max();
        let ruled = self
            .rule
            .as_ref()
            .and_then(|r| r.last_onset(self, utc, work));
        listed.max(ruled)
    }
}

impl VTimeZone {
    /// The offset in force at `utc` (Unix seconds): that of the last onset before it, or,
    /// before every onset, the offset the first observance starts from.
    fn offset_at(&self, utc: i64) -> i32 {
        let current = self
            .observances
            .iter()
            .filter_map(|o| Some((o.last_onset(utc, &self.work)?, o.to)))
            .max_by_key(|&(onset, _)| onset);
        match current {
            Some((_, to)) => to,
            None => self
                .observances
                .iter()
                .min_by_key(|o| o.start)
                .map_or(0, |o| o.from),
        }
    }

    /// Unix seconds of a wall-clock time in this zone. A time the clocks pass twice is the
    /// first; a time they skip is read as if they had not yet moved (as jiff's "compatible"
    /// disambiguation does for IANA zones). `None` once the zone has used up its work.
    pub(crate) fn to_timestamp(&self, local: DateTime) -> Option<i64> {
        let utc = self.place(local)?;
        (!self.work.spent()).then_some(utc)
    }

    /// [`VTimeZone::to_timestamp`], whatever work is left.
    fn place(&self, local: DateTime) -> Option<i64> {
        let wall = civil_seconds(local)?;
        // The instant is within a day of the wall-clock time read as UTC: the offsets in force
        // then are those a day either side and in between (clocks change at most once a day).
        const DAY: i64 = 86_400;
        let mut offsets = [
            self.offset_at(wall - DAY),
            self.offset_at(wall),
            self.offset_at(wall + DAY),
        ];
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        for offset in offsets {
            let utc = wall - i64::from(offset);
            if self.offset_at(utc) == offset {
                return Some(utc);
            }
        }
        // Skipped: the offset just before the jump.
        let before = self.offset_at(wall - i64::from(offsets[0]));
        Some(wall - i64::from(before))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::schedule::ics::content_line;

    fn zone(text: &str) -> VTimeZone {
        let lines: Vec<ContentLine<'_>> = text.lines().filter_map(content_line).collect();
        parse(&lines).zone.expect("usable zone")
    }

    fn utc(zone: &VTimeZone, local: &str) -> String {
        let local: DateTime = local.parse().expect("civil time");
        let seconds = zone.to_timestamp(local).expect("resolves");
        Timestamp::from_second(seconds)
            .expect("in range")
            .to_string()
    }

    const EASTERN: &str = "TZID:Eastern Standard Time
BEGIN:STANDARD
DTSTART:16010101T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3
END:DAYLIGHT";

    #[test]
    fn outlook_rules_around_each_change() {
        let eastern = zone(EASTERN);
        assert_eq!(utc(&eastern, "2027-06-03T09:00"), "2027-06-03T13:00:00Z");
        assert_eq!(utc(&eastern, "2027-01-15T14:00"), "2027-01-15T19:00:00Z");
        // 2027-03-14 (second Sunday of March) 02:00 jumps to 03:00: 02:30 is skipped.
        assert_eq!(utc(&eastern, "2027-03-14T01:59"), "2027-03-14T06:59:00Z");
        assert_eq!(utc(&eastern, "2027-03-14T02:30"), "2027-03-14T07:30:00Z");
        assert_eq!(utc(&eastern, "2027-03-14T03:00"), "2027-03-14T07:00:00Z");
        // 2027-11-07 (first Sunday of November) 02:00 back to 01:00: 01:30 twice, the first.
        assert_eq!(utc(&eastern, "2027-11-07T01:30"), "2027-11-07T05:30:00Z");
        assert_eq!(utc(&eastern, "2027-11-07T02:00"), "2027-11-07T07:00:00Z");
    }

    #[test]
    fn observances_that_change_over_the_years_with_until_and_rdate() {
        // The US before and after 2007, as tzurl-style exports write America/New_York.
        let new_york = zone(
            "TZID:America/New_York
BEGIN:DAYLIGHT
DTSTART:19870405T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:19671029T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20070311T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20071104T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
BEGIN:STANDARD
DTSTART:20300101T000000
TZOFFSETFROM:-0500
TZOFFSETTO:-0300
RDATE:20300101T000000
END:STANDARD",
        );
        // 2006: daylight from the first Sunday of April to the last Sunday of October.
        assert_eq!(utc(&new_york, "2006-03-20T12:00"), "2006-03-20T17:00:00Z");
        assert_eq!(utc(&new_york, "2006-04-10T12:00"), "2006-04-10T16:00:00Z");
        assert_eq!(utc(&new_york, "2006-10-30T12:00"), "2006-10-30T17:00:00Z");
        // 2027: from the second Sunday of March to the first of November.
        assert_eq!(utc(&new_york, "2027-03-20T12:00"), "2027-03-20T16:00:00Z");
        assert_eq!(utc(&new_york, "2027-11-05T12:00"), "2027-11-05T16:00:00Z");
        assert_eq!(utc(&new_york, "2027-11-08T12:00"), "2027-11-08T17:00:00Z");
        // A listed onset (RDATE) of an invented change.
        assert_eq!(utc(&new_york, "2030-02-01T12:00"), "2030-02-01T15:00:00Z");
    }

    #[test]
    fn southern_rules_with_last_sunday_and_a_fixed_offset() {
        // An exporter's own TZID: daylight from the last Sunday of October to the first Sunday
        // of April, over the new year.
        let south = zone(
            "TZID:Custom/Southern
BEGIN:STANDARD
DTSTART:20080406T030000
TZOFFSETFROM:+1100
TZOFFSETTO:+1000
RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20081026T020000
TZOFFSETFROM:+1000
TZOFFSETTO:+1100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:DAYLIGHT",
        );
        assert_eq!(utc(&south, "2027-01-15T10:00"), "2027-01-14T23:00:00Z");
        assert_eq!(utc(&south, "2027-06-03T10:00"), "2027-06-03T00:00:00Z");
        // Last Sunday of October 2027 is the 31st.
        assert_eq!(utc(&south, "2027-10-30T10:00"), "2027-10-30T00:00:00Z");
        assert_eq!(utc(&south, "2027-10-31T10:00"), "2027-10-30T23:00:00Z");
        let fixed = zone(
            "TZID:India\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0530\nTZOFFSETTO:+0530\nEND:STANDARD",
        );
        assert_eq!(utc(&fixed, "2027-06-03T10:00"), "2027-06-03T04:30:00Z");
        assert_eq!(utc(&fixed, "1500-06-03T10:00"), "1500-06-03T04:30:00Z");
    }

    #[test]
    fn counted_and_every_other_year_rules() {
        let counted = zone(
            "TZID:X
BEGIN:STANDARD
DTSTART:20200101T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20200601T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;COUNT=2;BYMONTHDAY=1;BYMONTH=6
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20200701T000000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=2
END:STANDARD",
        );
        assert_eq!(utc(&counted, "2021-06-15T12:00"), "2021-06-15T10:00:00Z");
        // Third June: beyond the count; the July onset of 2021 is skipped (every other year),
        // so 2021 stays in daylight time until 2022-07-01.
        assert_eq!(utc(&counted, "2022-06-15T12:00"), "2022-06-15T10:00:00Z");
        assert_eq!(utc(&counted, "2022-07-15T12:00"), "2022-07-15T11:00:00Z");
        assert_eq!(utc(&counted, "2023-06-15T12:00"), "2023-06-15T11:00:00Z");
    }

    #[test]
    fn rules_that_pick_no_day_add_no_onset() {
        // February 30th never comes, and a COUNT of 0 gives nothing: only the starts count.
        let never = zone(
            "TZID:X
BEGIN:STANDARD
DTSTART:20200101T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20220601T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=1;BYDAY=SU;COUNT=0
END:DAYLIGHT",
        );
        assert_eq!(utc(&never, "2021-06-15T12:00"), "2021-06-15T11:00:00Z");
        assert_eq!(utc(&never, "2027-01-15T12:00"), "2027-01-15T10:00:00Z");
    }

    #[test]
    fn a_zone_that_has_used_up_its_work_places_no_more_times() {
        let eastern = zone(EASTERN);
        let local: DateTime = "2027-06-03T09:00".parse().expect("civil time");
        assert!(eastern.to_timestamp(local).is_some());
        eastern.work.0.set(3);
        assert_eq!(eastern.to_timestamp(local), None);
        assert_eq!(eastern.to_timestamp(local), None, "and stays so");
    }

    #[test]
    fn unreadable_definitions_are_not_zones() {
        let unusable = |text: &str| {
            let lines: Vec<ContentLine<'_>> = text.lines().filter_map(content_line).collect();
            parse(&lines).zone.is_none()
        };
        assert!(unusable("TZID:Europe/Paris"), "no observance");
        assert!(unusable(
            "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETFROM:+0100\nEND:STANDARD"
        ));
        assert!(unusable(
            "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETTO:+0100\nRRULE:FREQ=MONTHLY\nEND:STANDARD"
        ));
        assert!(unusable(
            "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETTO:+0100\nRRULE:FREQ=YEARLY;BYWEEKNO=3\nEND:STANDARD"
        ));
        assert!(unusable(
            "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETTO:+2500\nEND:STANDARD"
        ));
        assert!(unusable(
            "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETTO:+0100"
        ));
        let listed = |n: usize| {
            let dates = vec!["20200101T000000"; n].join(",");
            format!(
                "TZID:X\nBEGIN:STANDARD\nDTSTART:16010101T000000\nTZOFFSETTO:+0100\nRDATE:{dates}\nEND:STANDARD"
            )
        };
        assert!(!unusable(&listed(MAX_LISTED - 1)));
        assert!(
            unusable(&listed(MAX_LISTED)),
            "more onsets listed than any real zone has"
        );
    }

    #[test]
    fn offsets_and_weekdays() {
        assert_eq!(offset("-0500"), Some(-18_000));
        assert_eq!(offset("+0530"), Some(19_800));
        assert_eq!(offset("+013045"), Some(5_445));
        assert_eq!(offset("0100"), Some(3_600));
        assert_eq!(offset("-05"), None);
        assert_eq!(offset("+0560"), None);
        assert_eq!(by_day("-1SU"), Some((-1, Weekday::Sunday)));
        assert_eq!(by_day("+2mo"), Some((2, Weekday::Monday)));
        assert_eq!(by_day("SA"), Some((0, Weekday::Saturday)));
        assert_eq!(by_day("0SU"), None);
        assert_eq!(by_day("é"), None);
    }
}
