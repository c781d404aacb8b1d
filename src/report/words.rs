//! Every word of the report in French and English, for readers who are not network people,
//! and the formatting of numbers, bytes, times and durations per language.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::figures::{IncidentKind, Recommendation};
use crate::config::Language;
use crate::web::page::i18n::{self, Text};

/// The report's words in one language, with the venue's time zone for times of day.
pub struct Words {
    language: Language,
    text: &'static Text,
    zone: TimeZone,
}

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Words {
    /// Words in `language`, times shown in `zone`.
    pub fn new(language: Language, zone: TimeZone) -> Words {
        Words {
            language,
            text: i18n::text(language),
            zone,
        }
    }

    fn fr(&self) -> bool {
        self.language == Language::Fr
    }

    /// French or English, as given.
    pub(crate) fn pick(&self, fr: &'static str, en: &'static str) -> &'static str {
        if self.fr() { fr } else { en }
    }

    /// BCP 47 tag for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.text.lang
    }

    /// A count, thousands grouped (`1 234` / `1,234`).
    pub fn count(&self, value: f64) -> String {
        self.number(value, 0)
    }

    /// A decimal number (`1 234,5` / `1,234.5`), `-` before a negative one.
    pub fn number(&self, value: f64, digits: usize) -> String {
        let text = format!("{:.digits$}", value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let whole = self.text.count(whole.parse().unwrap_or(0));
        let sign = if value < 0.0 && text.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            "-"
        } else {
            ""
        };
        if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}{}{fraction}", self.pick(",", "."))
        }
    }

    /// A ratio as a percentage (`104 %`).
    pub fn percent(&self, ratio: f64) -> String {
        format!("{}\u{202f}%", self.number(ratio * 100.0, 0))
    }

    /// Bytes in the unit people read (`1,2 Go` / `1.2 GB`).
    pub fn bytes(&self, bytes: f64) -> String {
        let units: [(&str, &str); 5] = [
            ("o", "B"),
            ("ko", "kB"),
            ("Mo", "MB"),
            ("Go", "GB"),
            ("To", "TB"),
        ];
        let mut value = bytes.max(0.0);
        let mut unit = 0;
        while value >= 1000.0 && unit < units.len() - 1 {
            value /= 1000.0;
            unit += 1;
        }
        let digits = usize::from(unit > 0 && value < 100.0);
        let (fr, en) = units[unit];
        format!("{}\u{a0}{}", self.number(value, digits), self.pick(fr, en))
    }

    /// A moment: day, month and time of day in the venue's time zone (`3 juin à 10:42`).
    pub fn time(&self, unix: i64) -> String {
        let Ok(at) = Timestamp::from_second(unix) else {
            return "?".into();
        };
        let local = at.to_zoned_datetime(self.zone.clone());
        let month = usize::try_from(local.month() - 1).unwrap_or(0).min(11);
        let name = if self.fr() {
            MONTHS_FR[month]
        } else {
            MONTHS_EN[month]
        };
        format!(
            "{} {name} {} {:02}:{:02}",
            local.day(),
            self.pick("à", "at"),
            local.hour(),
            local.minute()
        )
    }

    /// A time of day (`10:42`).
    pub fn clock(&self, unix: i64) -> String {
        Timestamp::from_second(unix).map_or_else(
            |_| "?".into(),
            |at| {
                let local = at.to_zoned_datetime(self.zone.clone());
                format!("{:02}:{:02}", local.hour(), local.minute())
            },
        )
    }

    /// A duration in minutes or hours and minutes (`1 h 05 min`).
    pub fn duration(&self, seconds: i64) -> String {
        let minutes = (seconds.max(0) + 30) / 60;
        if minutes < 60 {
            format!("{minutes}\u{a0}min")
        } else {
            format!("{}\u{a0}h\u{a0}{:02}\u{a0}min", minutes / 60, minutes % 60)
        }
    }

    /// A count of minutes as a duration.
    pub fn minutes(&self, minutes: u64) -> String {
        self.duration(i64::try_from(minutes).unwrap_or(i64::MAX / 120) * 60)
    }

    /// Words of the status page for warn and critical.
    pub fn warn(&self) -> &'static str {
        self.text.warn
    }

    /// See [`Words::warn`].
    pub fn critical(&self) -> &'static str {
        self.text.critical
    }

    /// "a of b" for counts.
    pub fn of(&self, a: f64, b: f64) -> String {
        format!(
            "{} {} {}",
            self.count(a),
            self.pick("sur", "of"),
            self.count(b)
        )
    }

    /// A band's name (`2,4 GHz`).
    pub fn band(&self, band: &str) -> String {
        let band = if self.fr() {
            band.replace('.', ",")
        } else {
            band.to_string()
        };
        format!("{band}\u{a0}GHz")
    }

    /// A quoted title, as each language quotes.
    pub fn quoted(&self, title: &str) -> String {
        if self.fr() {
            format!("«\u{a0}{title}\u{a0}»")
        } else {
            format!("“{title}”")
        }
    }

    /// What an incident was, in a few words.
    pub fn incident(&self, kind: &IncidentKind) -> String {
        match (kind, self.fr()) {
            (IncidentKind::SourceDown { source, instance }, true) => {
                format!("La source {source} ne répondait plus ({instance})")
            }
            (IncidentKind::SourceDown { source, instance }, false) => {
                format!("The {source} source stopped answering ({instance})")
            }
            (IncidentKind::InterfaceDown { interface }, true) => {
                format!("Le lien {interface} était coupé")
            }
            (IncidentKind::InterfaceDown { interface }, false) => {
                format!("Link {interface} was down")
            }
            (IncidentKind::PoolFull { pool }, true) => {
                format!("Plus aucune adresse libre dans le pool {pool}")
            }
            (IncidentKind::PoolFull { pool }, false) => {
                format!("No free address left in pool {pool}")
            }
            (IncidentKind::TimeToLeaseSlow { interface }, true) => {
                format!("Obtenir une adresse prenait trop longtemps (vu sur {interface})")
            }
            (IncidentKind::TimeToLeaseSlow { interface }, false) => {
                format!("Getting an address took too long (seen on {interface})")
            }
        }
    }

    /// A recommendation as a sentence; `zone_name` turns a zone id into its name.
    pub fn recommendation(&self, r: &Recommendation, zone_name: &dyn Fn(&str) -> String) -> String {
        match r {
            Recommendation::MoreAccessPoints {
                zone,
                ratio,
                session,
            } => {
                let during = session
                    .as_ref()
                    .map(|s| format!(" {} {}", self.pick("pendant", "during"), self.quoted(s)))
                    .unwrap_or_default();
                if self.fr() {
                    format!(
                        "{} a compté jusqu'à {} de ses places en appareils{during}\u{a0}: ajoutez un point d'accès dans cette salle.",
                        zone_name(zone),
                        self.percent(*ratio)
                    )
                } else {
                    format!(
                        "{} reached {} of its seats in devices{during}: add an access point in this room.",
                        zone_name(zone),
                        self.percent(*ratio)
                    )
                }
            }
            Recommendation::WidenPool { pool, free } => {
                if self.fr() {
                    let noun = if *free < 2.0 {
                        "adresse libre"
                    } else {
                        "adresses libres"
                    };
                    format!(
                        "Le pool d'adresses {pool} est descendu à {} {noun}\u{a0}: élargissez-le pour que les nouveaux arrivants puissent se connecter.",
                        self.count(*free)
                    )
                } else {
                    let noun = if *free == 1.0 {
                        "free address"
                    } else {
                        "free addresses"
                    };
                    format!(
                        "Address pool {pool} fell to {} {noun}: widen it so that newcomers can still connect.",
                        self.count(*free)
                    )
                }
            }
            Recommendation::MoreUplink { zone, minutes } => {
                if self.fr() {
                    format!(
                        "Le lien de {} a été saturé pendant {}\u{a0}: prévoyez plus de débit, ou une limite par appareil.",
                        zone_name(zone),
                        self.minutes(*minutes)
                    )
                } else {
                    format!(
                        "The link serving {} was saturated for {}: plan more capacity, or a per-device limit.",
                        zone_name(zone),
                        self.minutes(*minutes)
                    )
                }
            }
            Recommendation::SeparateSessions {
                first,
                second,
                zone,
            } => {
                if self.fr() {
                    format!(
                        "{} et {} ont eu lieu en même temps dans {}\u{a0}: programmez-les à des heures différentes.",
                        self.quoted(first),
                        self.quoted(second),
                        zone_name(zone)
                    )
                } else {
                    format!(
                        "{} and {} overlapped in {}: schedule them at different times.",
                        self.quoted(first),
                        self.quoted(second),
                        zone_name(zone)
                    )
                }
            }
            Recommendation::FixSource { source, minutes } => {
                if self.fr() {
                    format!(
                        "La source {source} a manqué {} au total\u{a0}: ces minutes manquent au rapport\u{a0}; vérifiez-la avant l'ouverture des portes.",
                        self.minutes(*minutes)
                    )
                } else {
                    format!(
                        "The {source} source was missing for {} in total, and so are those minutes in this report: check it before doors open.",
                        self.minutes(*minutes)
                    )
                }
            }
        }
    }

    /// Where a recommendation's figure is shown, for the "from" note beside it.
    pub fn figure(&self, r: &Recommendation) -> &'static str {
        match r {
            Recommendation::MoreAccessPoints { .. } => self.pick(
                "Salle par salle\u{a0}: pic d'appareils et places",
                "Room by room: peak devices and seats",
            ),
            Recommendation::WidenPool { .. } => self.pick(
                "Salle par salle\u{a0}: adresses libres au plus bas",
                "Room by room: fewest free addresses",
            ),
            Recommendation::MoreUplink { .. } => self.pick(
                "Salle par salle\u{a0}: minutes de lien saturé",
                "Room by room: minutes with a saturated link",
            ),
            Recommendation::SeparateSessions { .. } => {
                self.pick("Sessions\u{a0}: chevauchements", "Sessions: overlaps")
            }
            Recommendation::FixSource { .. } => self.pick("Incidents", "Incidents"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr() -> Words {
        Words::new(Language::Fr, TimeZone::UTC)
    }

    fn en() -> Words {
        Words::new(Language::En, TimeZone::UTC)
    }

    #[test]
    fn numbers_are_formatted_per_language() {
        assert_eq!(fr().number(1234.5, 1), "1\u{202f}234,5");
        assert_eq!(en().number(1234.5, 1), "1,234.5");
        assert_eq!(fr().number(9.96, 1), "10,0");
        assert_eq!(en().number(-0.04, 1), "0.0");
        assert_eq!(en().number(-12.0, 0), "-12");
        assert_eq!(fr().percent(1.04), "104\u{202f}%");
        assert_eq!(en().percent(0.5), "50\u{202f}%");
        assert_eq!(fr().bytes(1.234e9), "1,2\u{a0}Go");
        assert_eq!(en().bytes(1.234e9), "1.2\u{a0}GB");
        assert_eq!(en().bytes(512.0), "512\u{a0}B");
        assert_eq!(fr().band("2.4"), "2,4\u{a0}GHz");
    }

    #[test]
    fn times_and_durations_read_naturally() {
        // 2026-06-03 10:42 UTC.
        let t = 1_780_483_320;
        assert_eq!(fr().time(t), "3 juin à 10:42");
        assert_eq!(en().time(t), "3 June at 10:42");
        assert_eq!(fr().duration(65 * 60), "1\u{a0}h\u{a0}05\u{a0}min");
        assert_eq!(en().duration(20 * 60), "20\u{a0}min");
    }

    #[test]
    fn recommendations_are_sentences_in_both_languages() {
        let r = Recommendation::MoreAccessPoints {
            zone: "hall-a".into(),
            ratio: 1.04,
            session: Some("Keynote".into()),
        };
        let name = |_: &str| "Salle A".to_string();
        assert_eq!(
            fr().recommendation(&r, &name),
            "Salle A a compté jusqu'à 104\u{202f}% de ses places en appareils pendant «\u{a0}Keynote\u{a0}»\u{a0}: ajoutez un point d'accès dans cette salle."
        );
        assert_eq!(
            en().recommendation(&r, &name),
            "Salle A reached 104\u{202f}% of its seats in devices during “Keynote”: add an access point in this room."
        );
        let one = Recommendation::WidenPool {
            pool: "p".into(),
            free: 1.0,
        };
        assert!(
            fr().recommendation(&one, &name)
                .contains("1 adresse libre\u{a0}:")
        );
        assert!(en().recommendation(&one, &name).contains("1 free address:"));
        let zero = Recommendation::WidenPool {
            pool: "p".into(),
            free: 0.0,
        };
        assert!(
            fr().recommendation(&zero, &name)
                .contains("0 adresse libre")
        );
        assert!(
            en().recommendation(&zero, &name)
                .contains("0 free addresses")
        );
    }
}
