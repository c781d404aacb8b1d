//! The report's period. `--from` and `--to` when given; else the event:
//! - with a programme, the programme's days (from the start of its first session's day to the
//!   end of its last session's day, in the venue's time zone), cut to the data they hold;
//! - else the last run of the data: ticks with no gap longer than [`GAP`] between two of them,
//!   so that an event's nights (and a weekend the agent was stopped) do not split it, and
//!   last year's edition, kept by the history's retention, is not reported with this year's.
//!
//! A `--to` alone ends the period there and the event is looked for before it; a `--from`
//! alone starts it there and the period runs to the end of the data. The report says which
//! period it covers and why ([`Period::note`]).

use anyhow::bail;
use jiff::tz::TimeZone;

use super::words::Words;

/// The longest the agent may stop inside one event: 3 days. An event's nights (12 to 16 h)
/// and a weekend between two event days (Friday evening to Monday morning, about 62 h) stay
/// inside it; two editions of an event, or two events at one venue, are at least a week apart.
pub const GAP: i64 = 3 * 86_400;

/// Seconds in a minute, the report's step: periods are rounded out to whole minutes.
const MINUTE: i64 = 60;

/// Where the data is: the first and the last time holding data in a range.
pub trait Held {
    /// The first and the last time (Unix seconds) holding data in `[from, to)`, if any.
    ///
    /// # Errors
    /// The store cannot be read.
    fn within(&self, from: i64, to: i64) -> anyhow::Result<Option<(i64, i64)>>;
}

/// The period a report covers and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Start, Unix seconds.
    pub first: i64,
    /// End (excluded), Unix seconds.
    pub last: i64,
    /// Why this period.
    pub why: Why,
    /// The first and the last minute holding data in the period (the last one's end), `None`
    /// when it holds none or when the source cannot tell (Prometheus).
    pub held: Option<(i64, i64)>,
    /// The period ends at `--to` rather than at the end of the event.
    pub cut: bool,
}

/// Why the report covers its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// `--from` (and `--to`, or the end of the data) as given.
    Asked,
    /// The programme's days.
    Programme {
        /// The first programme day's start and the last's end (Unix seconds).
        days: (i64, i64),
        /// The data outside those days, first and last time, if any.
        other: Option<(i64, i64)>,
    },
    /// The last run of the data, no gap longer than [`GAP`] in it.
    LastRun {
        /// Earlier data, first and last time, if any.
        earlier: Option<(i64, i64)>,
    },
    /// From Prometheus without a programme: the first to the last data the agents published
    /// in the last `days` days.
    Lookback {
        /// The days looked back.
        days: u32,
    },
}

/// The programme's days: the start of the day of its first session to the end of the day of
/// its last, in `zone`; `None` without sessions.
pub fn programme_days(
    sessions: &[crate::model::programme::Session],
    zone: &TimeZone,
) -> Option<(i64, i64)> {
    let starts = sessions.iter().map(|s| s.starts).min()?;
    let ends = sessions.iter().map(|s| s.ends).max()?;
    let day = |t: i64, next: bool| {
        let local = jiff::Timestamp::from_second(t)
            .ok()?
            .to_zoned_datetime(zone.clone())
            .date();
        let date = if next { local.tomorrow().ok()? } else { local };
        date.to_zoned_datetime(zone.clone())
            .ok()
            .map(|z| z.timestamp().as_second())
    };
    // A session ending at midnight ends its day, not the next.
    Some((day(starts, false)?, day(ends - 1, true)?))
}

/// The period for `from` and `to` (each `None` when not given) over `data`, with the
/// programme's days when there is a programme; dates in messages are in `zone`.
///
/// # Errors
/// The data holds nothing (`None` from [`Held::within`] over all time is the caller's to
/// report first), the programme's days hold no data, or the store cannot be read.
pub fn choose(
    from: Option<i64>,
    to: Option<i64>,
    programme: Option<(i64, i64)>,
    data: &dyn Held,
    zone: &TimeZone,
) -> anyhow::Result<Period> {
    let span = data
        .within(i64::MIN, i64::MAX)?
        .map(|(a, b)| (floor(a), floor(b) + MINUTE));
    let Some(span) = span else {
        bail!("the data holds no tick")
    };
    let outside = |first: i64, last: i64| (span.0 < first || span.1 > last).then_some(span);
    let held = |first: i64, last: i64| {
        Ok::<_, anyhow::Error>(
            data.within(first, last)?
                .map(|(a, b)| (floor(a), (floor(b) + MINUTE).min(last))),
        )
    };
    let cut = to.is_some();
    match (from, to) {
        (Some(first), Some(last)) => Ok(Period {
            first,
            last,
            why: Why::Asked,
            held: held(first, last)?,
            cut,
        }),
        (Some(first), None) => Ok(Period {
            first,
            last: span.1,
            why: Why::Asked,
            held: held(first, span.1)?,
            cut,
        }),
        (None, to) => {
            let until = to.unwrap_or(span.1);
            if let Some(days) = programme {
                let Some((a, b)) = data.within(days.0, days.1.min(until))? else {
                    bail!(
                        "the programme's days, {} to {}, hold no data{}: give the programme \
                         of the event the data holds (--programme FILE), or --from and --to",
                        date(days.0, zone),
                        date(days.1 - 1, zone),
                        to.map_or_else(String::new, |_| " before --to".to_string()),
                    );
                };
                let (first, last) = (floor(a), to.unwrap_or(floor(b) + MINUTE));
                return Ok(Period {
                    first,
                    last,
                    why: Why::Programme {
                        days,
                        // Cut at --to, the data after it is left out as asked.
                        other: if cut {
                            outside(days.0, days.1)
                        } else {
                            outside(first, last)
                        },
                    },
                    held: held(first, last)?,
                    cut,
                });
            }
            let Some((_, end)) = data.within(i64::MIN, until)? else {
                bail!("the data holds nothing before --to: give a later --to")
            };
            let mut start = end;
            while let Some((earlier, _)) = data.within(start.saturating_sub(GAP), start)? {
                start = earlier;
            }
            let earlier = data
                .within(i64::MIN, start)?
                .map(|(a, b)| (floor(a), floor(b) + MINUTE));
            let first = floor(start);
            let last = to.unwrap_or(floor(end) + MINUTE);
            Ok(Period {
                first,
                last,
                why: Why::LastRun { earlier },
                held: held(first, last)?,
                cut,
            })
        }
    }
}

/// The start of the minute of `t`.
fn floor(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE)
}

/// The date of `t` in `zone`, as `--from` and `--to` take it (`2026-06-02`).
fn date(t: i64, zone: &TimeZone) -> String {
    jiff::Timestamp::from_second(t).map_or_else(
        |_| t.to_string(),
        |t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d")
                .to_string()
        },
    )
}

impl Period {
    /// What the report says of its period: which event it is and why, where `--to` cut it
    /// and the days in it holding data, and the data it leaves out with the option that takes
    /// it in. When the period was asked for, only the days holding data if it holds fewer.
    /// Days are dates in `zone`, the venue's time zone.
    pub fn note(&self, w: &Words, zone: &TimeZone) -> String {
        // As `--from` takes it (`2026-06-02`), for the option the note suggests.
        let day = |t: i64| date(t, zone);
        // The days from `a` to `b` (excluded), as the reader says them: "from 2 June 2026
        // to 4 June 2026", or "on 2 June 2026".
        let days = |a: i64, b: i64| {
            let (a, b) = (w.full_date(a), w.full_date(b - 1));
            if a == b {
                format!("{} {a}", w.pick("le", "on"))
            } else {
                format!("{} {a} {} {b}", w.pick("du", "from"), w.pick("au", "to"))
            }
        };
        // Where the period stops at --to, and the days in it holding data.
        let stops = || {
            format!(
                "{} {}{}",
                w.pick(
                    "La période s'arrête à --to, le",
                    "The period stops at --to, on"
                ),
                w.full_date(self.last - 1),
                self.held.map_or_else(
                    || ".".to_string(),
                    |(a, b)| format!(
                        "{} {}.",
                        w.pick(" ; elle contient des données", "; it holds data"),
                        days(a, b)
                    ),
                ),
            )
        };
        match &self.why {
            Why::Asked => match self.held {
                // The data does not fill the period asked for (kept as the title): its days.
                Some((a, b))
                    if w.full_date(a) != w.full_date(self.first)
                        || w.full_date(b - 1) != w.full_date(self.last - 1) =>
                {
                    format!(
                        "{} {}.",
                        w.pick(
                            "La période ne contient des données que",
                            "The period holds data only"
                        ),
                        days(a, b)
                    )
                }
                _ => String::new(),
            },
            Why::Programme {
                days: (a, b),
                other,
            } => {
                let mut note = format!(
                    "{} {}.",
                    w.pick(
                        "L'événement : les journées du programme,",
                        "The event: the programme's days,"
                    ),
                    days(*a, *b),
                );
                if self.cut {
                    note.push(' ');
                    note.push_str(&stops());
                }
                if let Some((a, b)) = other {
                    note.push_str(&format!(
                        " {} {}{}",
                        w.pick("Les données couvrent", "The data covers the days"),
                        days(*a, *b),
                        w.pick(
                            " : donnez --from et --to pour inclure d'autres jours.",
                            ": give --from and --to to include other days."
                        ),
                    ));
                }
                note
            }
            Why::LastRun { earlier } => {
                let (first, last) = self.held.unwrap_or((self.first, self.last));
                let mut note = format!(
                    "{} {} {}",
                    w.pick(
                        "L'événement : la dernière période d'enregistrement continu,",
                        "The event: the last continuous recording,"
                    ),
                    days(first, last),
                    w.pick(
                        "(l'agent ne s'y est jamais arrêté plus de 3 jours).",
                        "(the agent never stopped for more than 3 days in it)."
                    ),
                );
                if self.cut {
                    note.push_str(&format!(
                        " {} {}.",
                        w.pick(
                            "La période s'arrête à --to, le",
                            "The period stops at --to, on"
                        ),
                        w.full_date(self.last - 1),
                    ));
                }
                if let Some((a, b)) = earlier {
                    note.push_str(&format!(
                        " {} {}{} --from {} {}",
                        w.pick(
                            "Les données contiennent aussi des jours plus anciens,",
                            "The data also holds earlier days,"
                        ),
                        days(*a, *b),
                        w.pick(" : donnez", ": give"),
                        day(*a),
                        w.pick("pour les inclure.", "to include them."),
                    ));
                }
                note
            }
            Why::Lookback { days } => format!(
                "{} {days} {}",
                w.pick(
                    "Toutes les données que les agents ont envoyées à Prometheus pendant les",
                    "All the data the agents sent to Prometheus in the last"
                ),
                w.pick(
                    "derniers jours : donnez --from et --to, ou le programme, pour un événement.",
                    "days: give --from and --to, or the programme, for one event."
                ),
            ),
        }
    }
}

impl Held for super::history::History {
    fn within(&self, from: i64, to: i64) -> anyhow::Result<Option<(i64, i64)>> {
        super::history::History::within(self, from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2 June 2026, 00:00 UTC.
    const JUNE_2: i64 = 1_780_358_400;

    /// Data at each of these times.
    struct Ticks(Vec<i64>);

    impl Held for Ticks {
        fn within(&self, from: i64, to: i64) -> anyhow::Result<Option<(i64, i64)>> {
            let inside = || self.0.iter().copied().filter(|t| (from..to).contains(t));
            Ok(inside().min().zip(inside().max()))
        }
    }

    /// Ticks every 10 minutes from 08:00 to 18:00 on each of `days` days from `first`.
    fn days(first: i64, days: i64) -> Vec<i64> {
        (0..days)
            .flat_map(|d| (0..=60).map(move |m| first + d * DAY + 8 * 3600 + m * 600))
            .collect()
    }

    fn session(starts: i64, ends: i64) -> crate::model::programme::Session {
        crate::model::programme::Session {
            title: "Keynote".into(),
            location: "hall".into(),
            starts,
            ends,
        }
    }

    #[test]
    fn the_default_is_the_last_run_and_last_years_edition_is_named_not_reported() {
        let last_year = JUNE_2 - 365 * DAY;
        let data = Ticks([days(last_year, 3), days(JUNE_2, 3)].concat());
        let utc = TimeZone::UTC;
        let period = choose(None, None, None, &data, &utc).expect("a period");
        assert_eq!(period.first, JUNE_2 + 8 * 3600);
        assert_eq!(period.last, JUNE_2 + 2 * DAY + 18 * 3600 + 60);
        assert_eq!(
            period.why,
            Why::LastRun {
                earlier: Some((last_year + 8 * 3600, last_year + 2 * DAY + 18 * 3600 + 60))
            }
        );
        let en = period.note(&Words::new(crate::config::Language::En, utc.clone()), &utc);
        assert_eq!(
            en,
            "The event: the last continuous recording, from 2 June 2026 to 4 June 2026 (the agent \
             never stopped for more than 3 days in it). The data also holds earlier days, from \
             2 June 2025 to 4 June 2025: give --from 2025-06-02 to include them."
        );
        let fr = period.note(&Words::new(crate::config::Language::Fr, utc.clone()), &utc);
        assert!(
            fr.contains("donnez --from 2025-06-02 pour les inclure"),
            "{fr}"
        );

        // --to alone: the run before it, to the end of the day given.
        let to = JUNE_2 - 300 * DAY;
        let period = choose(None, Some(to), None, &data, &utc).expect("a period");
        assert_eq!((period.first, period.last), (last_year + 8 * 3600, to));
        assert_eq!(period.why, Why::LastRun { earlier: None });
        // --from alone: to the end of the data; both: as given.
        let period = choose(Some(last_year), None, None, &data, &utc).expect("a period");
        assert_eq!((period.first, period.why), (last_year, Why::Asked));
        assert_eq!(period.last, JUNE_2 + 2 * DAY + 18 * 3600 + 60);
        let asked = choose(Some(1), Some(2), None, &data, &utc).expect("a period");
        assert_eq!((asked.first, asked.last, &asked.why), (1, 2, &Why::Asked));
        assert_eq!(
            asked.note(&Words::new(crate::config::Language::En, utc.clone()), &utc),
            ""
        );
    }

    #[test]
    fn nights_and_a_weekend_stopped_keep_one_event_and_a_longer_stop_splits() {
        let utc = TimeZone::UTC;
        // Thursday and Friday, then Monday: the agent stopped from Friday 18:00 to Monday 08:00.
        let weekend = Ticks([days(JUNE_2, 2), days(JUNE_2 + 4 * DAY, 1)].concat());
        let period = choose(None, None, None, &weekend, &utc).expect("a period");
        assert_eq!(period.first, JUNE_2 + 8 * 3600);
        assert_eq!(period.why, Why::LastRun { earlier: None });
        // Stopped from 18:00 to 18:00 three days later (an instant over 3 days): two events.
        let mut apart = days(JUNE_2, 1);
        apart.push(JUNE_2 + 4 * DAY + 18 * 3600 + 1);
        let period = choose(None, None, None, &Ticks(apart), &utc).expect("a period");
        assert_eq!(period.first, JUNE_2 + 4 * DAY + 18 * 3600);
    }

    #[test]
    fn with_a_programme_the_event_is_its_days_cut_to_the_data() {
        let paris = TimeZone::get("Europe/Paris").expect("tzdb");
        let last_year = JUNE_2 - 365 * DAY;
        // Set-up the day before, then the two programme days; last year's edition before.
        let data = Ticks([days(last_year, 2), days(JUNE_2, 3)].concat());
        // 3 June 09:00 to 4 June 24:00 Paris (UTC+2): the session ends at midnight.
        let sessions = [
            session(JUNE_2 + DAY + 7 * 3600, JUNE_2 + DAY + 8 * 3600),
            session(JUNE_2 + 2 * DAY + 12 * 3600, JUNE_2 + 2 * DAY + 22 * 3600),
        ];
        let days = programme_days(&sessions, &paris).expect("days");
        assert_eq!(days, (JUNE_2 + DAY - 2 * 3600, JUNE_2 + 3 * DAY - 2 * 3600));
        let period = choose(None, None, Some(days), &data, &paris).expect("a period");
        assert_eq!(
            period.first,
            JUNE_2 + DAY + 8 * 3600,
            "the first tick of its first day"
        );
        assert_eq!(period.last, JUNE_2 + 2 * DAY + 18 * 3600 + 60);
        let note = period.note(
            &Words::new(crate::config::Language::En, paris.clone()),
            &paris,
        );
        assert_eq!(
            note,
            "The event: the programme's days, from 3 June 2026 to 4 June 2026. The data covers \
             the days from 2 June 2025 to 4 June 2026: give --from and --to to include other \
             days."
        );
        // A programme of days the data does not hold is refused, naming them.
        let e = choose(None, None, Some((1, DAY)), &data, &paris).expect_err("refused");
        assert!(
            e.to_string()
                .contains("the programme's days, 1970-01-01 to 1970-01-02, hold no data"),
            "{e}"
        );
        assert_eq!(programme_days(&[], &paris), None);
    }

    /// Regression: `--to` alone said "the last continuous recording, from … to 1 September"
    /// with data ending 3 June, and cutting a programme's days at --to listed all of them and
    /// asked for --from and --to to include the days cut.
    #[test]
    fn regression_a_period_cut_at_to_says_so_and_shows_the_days_holding_data() {
        let utc = TimeZone::UTC;
        let en = Words::new(crate::config::Language::En, utc.clone());
        let fr = Words::new(crate::config::Language::Fr, utc.clone());
        let data = Ticks(days(JUNE_2, 2));
        let september = JUNE_2 + 92 * DAY;
        let period = choose(None, Some(september), None, &data, &utc).expect("a period");
        assert_eq!((period.first, period.last), (JUNE_2 + 8 * 3600, september));
        assert_eq!(
            period.note(&en, &utc),
            "The event: the last continuous recording, from 2 June 2026 to 3 June 2026 (the agent \
             never stopped for more than 3 days in it). The period stops at --to, on 1 September \
             2026."
        );
        assert!(
            period
                .note(&fr, &utc)
                .ends_with("La période s'arrête à --to, le 1er septembre 2026."),
            "{}",
            period.note(&fr, &utc)
        );

        // A 3-day programme cut at the end of its second day.
        let data = Ticks(days(JUNE_2, 3));
        let sessions = [
            session(JUNE_2 + 9 * 3600, JUNE_2 + 10 * 3600),
            session(JUNE_2 + 2 * DAY + 9 * 3600, JUNE_2 + 2 * DAY + 10 * 3600),
        ];
        let programme = programme_days(&sessions, &utc);
        let period =
            choose(None, Some(JUNE_2 + 2 * DAY), programme, &data, &utc).expect("a period");
        assert_eq!(
            period.note(&en, &utc),
            "The event: the programme's days, from 2 June 2026 to 4 June 2026. The period stops \
             at --to, on 3 June 2026; it holds data from 2 June 2026 to 3 June 2026."
        );
        assert_eq!(
            period.note(&fr, &utc),
            "L'événement : les journées du programme, du 2 juin 2026 au 4 juin 2026. La période \
             s'arrête à --to, le 3 juin 2026 ; elle contient des données du 2 juin 2026 au 3 juin \
             2026."
        );
    }

    /// Regression: a period asked for beyond the data ("From Friday 1 May … to 3 June" with
    /// data on 2 June only) had no note.
    #[test]
    fn regression_a_period_asked_beyond_the_data_names_the_days_holding_data() {
        let utc = TimeZone::UTC;
        let data = Ticks(days(JUNE_2, 1));
        let may = JUNE_2 - 32 * DAY;
        let period = choose(Some(may), Some(JUNE_2 + DAY), None, &data, &utc).expect("a period");
        assert_eq!((period.first, period.last), (may, JUNE_2 + DAY), "kept");
        let en = Words::new(crate::config::Language::En, utc.clone());
        let fr = Words::new(crate::config::Language::Fr, utc.clone());
        assert_eq!(
            period.note(&en, &utc),
            "The period holds data only on 2 June 2026."
        );
        assert_eq!(
            period.note(&fr, &utc),
            "La période ne contient des données que le 2 juin 2026."
        );
        // The data filling the days asked for: no note.
        let period = choose(Some(JUNE_2), Some(JUNE_2 + DAY), None, &data, &utc).expect("a period");
        assert_eq!(period.note(&en, &utc), "");
    }
}
