//! This event against a previous one (`--compare`): per headline figure, the change.

use serde::{Deserialize, Serialize};

use super::figures::{Figures, Headline};
use super::words::Words;

/// The headline figures that compare, by key, in the report's order.
pub const KEYS: [&str; 9] = [
    "peak_devices",
    "unique_devices",
    "randomized_share",
    "traffic_bytes",
    "traffic_per_attendee_bytes",
    "uplink_peak",
    "uplink_p95",
    "uplink_saturated_minutes",
    "min_headroom_free",
];

/// A headline figure's value by key (see [`KEYS`]).
pub fn value(h: &Headline, key: &str) -> Option<f64> {
    match key {
        "peak_devices" => h.peak_devices.map(|p| p.value),
        "unique_devices" => h.unique.map(|u| u.devices),
        "randomized_share" => h.unique.and_then(|u| u.randomized_share),
        "traffic_bytes" => Some(h.traffic_bytes),
        "traffic_per_attendee_bytes" => h.traffic_per_attendee_bytes,
        "uplink_peak" => h.uplink_peak.map(|p| p.value),
        "uplink_p95" => h.uplink_p95,
        "uplink_saturated_minutes" => Some(h.uplink_saturated_minutes as f64),
        "min_headroom_free" => h.min_headroom.as_ref().map(|m| m.free),
        _ => None,
    }
}

/// One headline figure then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The figure's key (see [`KEYS`]).
    pub figure: String,
    /// Its value in the previous report.
    pub previous: Option<f64>,
    /// Its value now.
    pub current: Option<f64>,
    /// `(current - previous) / previous`, when both are known and `previous` is not zero.
    pub change: Option<f64>,
}

/// Every headline figure of `current` beside `previous`'s.
pub fn compare(current: &Figures, previous: &Figures) -> Vec<Change> {
    KEYS.iter()
        .map(|key| {
            let (now, then) = (
                value(&current.headline, key),
                value(&previous.headline, key),
            );
            Change {
                figure: (*key).to_string(),
                previous: then,
                current: now,
                change: now
                    .zip(then)
                    .filter(|(_, t)| *t != 0.0)
                    .map(|(n, t)| (n - t) / t),
            }
        })
        .collect()
}

/// The period the compared figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compared {
    /// Start, Unix seconds.
    pub from: i64,
    /// End (excluded), Unix seconds.
    pub to: i64,
}

impl Compared {
    /// The period `previous` covers.
    pub fn of(previous: &Figures) -> Compared {
        Compared {
            from: previous.from,
            to: previous.to,
        }
    }
}

/// Why the compared figures are likely not a previous edition of this event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// They start after this report's period starts.
    Later,
    /// They cover less than half as long as this report's period.
    Shorter,
}

/// Whether the figures of `compared` can be a previous edition of the period `current`
/// covers (`from`, `to`): `None` when they can.
pub fn doubt(current: (i64, i64), compared: Compared) -> Option<Doubt> {
    if compared.from > current.0 {
        Some(Doubt::Later)
    } else if (compared.to - compared.from).saturating_mul(2) < current.1 - current.0 {
        Some(Doubt::Shorter)
    } else {
        None
    }
}

/// The comparison's note: the period the compared figures cover and, when they are likely
/// not a previous edition, why and what to give instead.
pub fn note(current: (i64, i64), compared: Compared, w: &Words) -> String {
    let period = w.period(compared.from, compared.to);
    // "From Tuesday…" within a sentence: "from Tuesday…".
    let period = period.get(..1).map_or_else(String::new, str::to_lowercase)
        + period.get(1..).unwrap_or_default();
    let mut note = format!(
        "{} {period}.",
        w.pick(
            "Les chiffres d'avant couvrent la période",
            "The figures before cover the period"
        )
    );
    let why = match doubt(current, compared) {
        None => return note,
        Some(Doubt::Later) => w
            .pick(
                "Ils commencent après la période de ce rapport : ce n'est pas une édition précédente.",
                "They start after this report's period: they are not a previous edition.",
            )
            .to_string(),
        Some(Doubt::Shorter) => format!(
            "{} {} {} {} {}",
            w.pick("Ils couvrent", "They cover"),
            w.duration(compared.to - compared.from),
            w.pick("contre", "against"),
            w.duration(current.1 - current.0),
            w.pick(
                "pour ce rapport : la comparaison ne porte pas sur deux éditions entières.",
                "for this report: the comparison is not between two whole editions."
            ),
        ),
    };
    note.push_str(&format!(
        " {why} {}",
        w.pick(
            "Donnez l'historique ou l'export --json de l'édition précédente.",
            "Give the history or the --json export of the previous edition."
        )
    ));
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::EventData;
    use crate::report::figures::{Peak, figures};

    #[test]
    fn changes_are_relative_to_the_previous_value() {
        let mut before = figures(&EventData::default(), None);
        before.headline.peak_devices = Some(Peak {
            value: 200.0,
            at: 0,
        });
        before.headline.traffic_bytes = 0.0;
        let mut now = before.clone();
        now.headline.peak_devices = Some(Peak {
            value: 250.0,
            at: 9,
        });
        now.headline.traffic_bytes = 5.0;
        let changes = compare(&now, &before);
        assert_eq!(changes.len(), KEYS.len());
        assert_eq!(changes[0].change, Some(0.25));
        let traffic = changes
            .iter()
            .find(|c| c.figure == "traffic_bytes")
            .expect("traffic");
        assert_eq!(
            (traffic.previous, traffic.current, traffic.change),
            (Some(0.0), Some(5.0), None)
        );
        let unique = changes
            .iter()
            .find(|c| c.figure == "unique_devices")
            .expect("unique");
        assert_eq!(unique.change, None);
    }

    /// Regression: a history whose last run was a 2-minute run after this event was compared
    /// as last year's edition (+44,670 % traffic), and the compared period was never shown.
    #[test]
    fn regression_a_later_or_much_shorter_compared_period_is_shown_and_doubted() {
        use crate::config::Language;
        let utc = jiff::tz::TimeZone::UTC;
        // 2 June 2026 09:00 to 4 June 2026 18:00 UTC.
        let june = (1_780_390_800, 1_780_390_800 + 2 * 86_400 + 9 * 3600);
        let november = Compared {
            from: 1_795_942_800,
            to: 1_795_942_800 + 120,
        };
        assert_eq!(doubt(june, november), Some(Doubt::Later));
        let short = Compared {
            from: june.0 - 365 * 86_400,
            to: june.0 - 365 * 86_400 + 86_400,
        };
        assert_eq!(doubt(june, short), Some(Doubt::Shorter));
        let last_year = Compared {
            from: june.0 - 364 * 86_400,
            to: june.1 - 364 * 86_400,
        };
        assert_eq!(doubt(june, last_year), None);

        let en = Words::new(Language::En, utc.clone());
        let fr = Words::new(Language::Fr, utc);
        assert_eq!(
            note(june, november, &en),
            "The figures before cover the period from Sunday 29 November at 09:00 to \
             Sunday 29 November 2026 at 09:02. They start after this report's period: they are \
             not a previous edition. Give the history or the --json export of the previous \
             edition."
        );
        assert!(
            note(june, short, &fr).contains(
                "pour ce rapport : la comparaison ne porte pas sur deux éditions entières"
            ),
            "{}",
            note(june, short, &fr)
        );
        assert!(
            note(june, last_year, &fr)
                .starts_with("Les chiffres d'avant couvrent la période du mardi 3 juin à 09:00 au jeudi 5 juin 2025 à 18:00."),
            "{}",
            note(june, last_year, &fr)
        );
        assert!(!note(june, last_year, &en).contains("Give"));
    }
}
