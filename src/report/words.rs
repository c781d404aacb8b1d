//! Every word of the report in French and English, for readers who are not network people,
//! and the formatting of numbers, bytes, times and durations per language.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::figures::{IncidentKind, Recommendation};
use super::{ProgrammeNote, Report};
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

const WEEKDAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The names people know the zones, pools and links of one report by: a zone's configured
/// name, a pool or a link with the room it serves.
pub(crate) struct Names {
    /// (id, name) of each zone.
    zones: Vec<(String, String)>,
    /// (name, zone id) of each pool.
    pools: Vec<(String, Option<String>)>,
    /// (name, zone id) of each monitored interface.
    links: Vec<(String, Option<String>)>,
}

impl Names {
    /// The names `report` mentions.
    pub(crate) fn of(report: &Report) -> Names {
        Names {
            zones: report
                .figures
                .zones
                .iter()
                .map(|z| (z.id.clone(), z.name.clone()))
                .collect(),
            pools: report
                .data
                .pools
                .iter()
                .map(|p| (p.name.clone(), p.zone.clone()))
                .collect(),
            links: report
                .data
                .interfaces
                .iter()
                .map(|i| (i.name.clone(), i.zone.clone()))
                .collect(),
        }
    }

    /// A zone's name for people, by id (the id when the report knows no zone by it).
    pub(crate) fn zone(&self, id: &str) -> String {
        self.zones
            .iter()
            .find(|(z, _)| z == id)
            .map_or_else(|| id.to_string(), |(_, name)| name.clone())
    }

    /// A source instance: the zone's name when it is a zone's id (DHCP pools and access
    /// points are named after their zone by default), else as configured.
    fn instance(&self, instance: &str) -> String {
        self.zone(instance)
    }

    /// The zone (id) a pool serves.
    fn pool_zone(&self, pool: &str) -> Option<&str> {
        self.pools
            .iter()
            .find(|(p, _)| p == pool)
            .and_then(|(_, z)| z.as_deref())
    }

    /// A link by its name, with the name of the room it serves (`wlan0 (Salle A)`).
    pub(crate) fn link(&self, interface: &str) -> String {
        match self
            .links
            .iter()
            .find(|(i, _)| i == interface)
            .and_then(|(_, z)| z.as_deref())
        {
            Some(zone) => format!("{interface} ({})", self.zone(zone)),
            None => interface.to_string(),
        }
    }
}

/// Upper-cases the first letter, to open a sentence with a phrase.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

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

    /// A change of a share, in percentage points (`+12 points`, `-0,5 point`): a share's
    /// change is never said in percent of itself.
    pub fn points(&self, change: f64) -> String {
        let points = change * 100.0;
        // Tenths under 10 points when they are not zero (`+1,5 point`, `+1 point`).
        let tenths = (points * 10.0).round();
        let digits = usize::from(points.abs() < 10.0 && tenths % 10.0 != 0.0);
        let size = if digits == 0 {
            points.abs().round()
        } else {
            tenths.abs() / 10.0
        };
        let sign = if points > 0.0 && size > 0.0 { "+" } else { "" };
        let one = if self.fr() { size < 2.0 } else { size == 1.0 };
        format!(
            "{sign}{}\u{a0}{}",
            self.number(points, digits),
            if one { "point" } else { "points" }
        )
    }

    /// Devices per seat (`1,47 par place` / `1.5 per seat`): up to two decimals, none when
    /// they are zero.
    pub fn per_seat(&self, ratio: f64) -> String {
        format!(
            "{} {}",
            self.ratio(ratio),
            self.pick("par place", "per seat")
        )
    }

    /// A ratio with up to two decimals, none when they are zero (`1,47`, `1.5`, `2`).
    pub(crate) fn ratio(&self, ratio: f64) -> String {
        let text = self.number(ratio, 2);
        let decimal = self.pick(",", ".");
        if text.contains(decimal) {
            text.trim_end_matches('0')
                .trim_end_matches(decimal)
                .to_string()
        } else {
            text
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

    fn local(&self, unix: i64) -> Option<jiff::ZonedDateTime> {
        Timestamp::from_second(unix)
            .ok()
            .map(|at| at.to_zoned_datetime(self.zone.clone()))
    }

    /// Day and month (`1er juin`, `3 juin` / `3 June`), with the year when `year` says.
    fn day(&self, local: &jiff::ZonedDateTime, year: bool) -> String {
        let month = usize::try_from(local.month() - 1).unwrap_or(0).min(11);
        let (name, day) = if self.fr() {
            let day = if local.day() == 1 {
                "1er".to_string()
            } else {
                local.day().to_string()
            };
            (MONTHS_FR[month], day)
        } else {
            (MONTHS_EN[month], local.day().to_string())
        };
        if year {
            format!("{day} {name} {}", local.year())
        } else {
            format!("{day} {name}")
        }
    }

    fn hour(local: &jiff::ZonedDateTime) -> String {
        format!("{:02}:{:02}", local.hour(), local.minute())
    }

    /// A moment: day, month and time of day in the venue's time zone (`3 juin à 10:42`);
    /// the year is said once, in [`Words::period`].
    pub fn time(&self, unix: i64) -> String {
        self.local(unix).map_or_else(
            || "?".into(),
            |local| {
                format!(
                    "{} {} {}",
                    self.day(&local, false),
                    self.pick("à", "at"),
                    Words::hour(&local)
                )
            },
        )
    }

    /// A day without its time (`2 juin` / `2 June`), for the charts' midnights.
    pub(crate) fn date(&self, unix: i64) -> String {
        self.local(unix)
            .map_or_else(|| "?".into(), |local| self.day(&local, false))
    }

    /// A day with its year (`2 juin 2026` / `2 June 2026`).
    pub(crate) fn full_date(&self, unix: i64) -> String {
        self.local(unix)
            .map_or_else(|| "?".into(), |local| self.day(&local, true))
    }

    /// The report's period: weekday, day and time of its start and end, the year once
    /// (on both ends when they are in different years).
    pub fn period(&self, from: i64, to: i64) -> String {
        let (Some(start), Some(end)) = (self.local(from), self.local(to)) else {
            return "?".into();
        };
        let both_years = start.year() != end.year();
        let moment = |local: &jiff::ZonedDateTime, year: bool| {
            let weekday = usize::try_from(local.weekday().to_monday_zero_offset())
                .unwrap_or(0)
                .min(6);
            format!(
                "{} {} {} {}",
                if self.fr() {
                    WEEKDAYS_FR[weekday]
                } else {
                    WEEKDAYS_EN[weekday]
                },
                self.day(local, year),
                self.pick("à", "at"),
                Words::hour(local)
            )
        };
        format!(
            "{} {} {} {}",
            self.pick("Du", "From"),
            moment(&start, both_years),
            self.pick("au", "to"),
            moment(&end, true)
        )
    }

    /// The venue's time zone at `at`: its city, when its name has one, and its offset from
    /// UTC (`UTC+2`, `UTC` when none).
    fn zone_words(&self, at: i64) -> (Option<String>, String) {
        let offset = Timestamp::from_second(at).map_or(0, |t| self.zone.to_offset(t).seconds());
        let utc = if offset == 0 {
            "UTC".to_string()
        } else {
            let sign = if offset < 0 { '\u{2212}' } else { '+' };
            let (hours, minutes) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
            if minutes == 0 {
                format!("UTC{sign}{hours}")
            } else {
                format!("UTC{sign}{hours}:{minutes:02}")
            }
        };
        let city = self
            .zone
            .iana_name()
            .filter(|name| name.contains('/') && !name.starts_with("Etc/"))
            .and_then(|name| name.rsplit('/').next())
            .map(|city| city.replace('_', " "));
        (city, utc)
    }

    /// A moment for organizers: its date, time and the venue's time zone (`30 novembre 2026 à
    /// 09:23 (heure de Paris, UTC+1)`).
    pub fn moment(&self, at: i64) -> String {
        let (city, utc) = self.zone_words(at);
        let zone = match (city, self.fr()) {
            (Some(city), true) => format!("heure {}, {utc}", of_fr(&city)),
            (Some(city), false) => format!("{city} time, {utc}"),
            (None, _) => utc,
        };
        format!(
            "{} {} {} ({zone})",
            self.full_date(at),
            self.pick("à", "at"),
            self.clock(at)
        )
    }

    /// The venue's time zone, said once near the top: its city and its offset from UTC at
    /// `at` (`Toutes les heures sont à l'heure de Toronto (UTC−4).`).
    pub fn time_zone(&self, at: i64) -> String {
        let (city, utc) = self.zone_words(at);
        match (city, self.fr()) {
            (Some(city), true) => {
                format!("Toutes les heures sont à l'heure {} ({utc}).", of_fr(&city))
            }
            (Some(city), false) => format!("All times are {city} time ({utc})."),
            (None, true) if utc == "UTC" => {
                "Toutes les heures sont en temps universel (UTC).".into()
            }
            (None, true) => format!("Toutes les heures sont en {utc}."),
            (None, false) => format!("All times are {utc}."),
        }
    }

    /// A stretch of time on one day (`3 juin, 10:15 – 11:00`), or across days
    /// (`3 juin à 23:00 – 4 juin à 01:00`).
    pub fn span(&self, starts: i64, ends: i64) -> String {
        let (Some(start), Some(end)) = (self.local(starts), self.local(ends)) else {
            return "?".into();
        };
        if start.date() == end.date() {
            format!(
                "{}, {} – {}",
                self.day(&start, false),
                Words::hour(&start),
                Words::hour(&end)
            )
        } else {
            format!("{} – {}", self.time(starts), self.time(ends))
        }
    }

    /// A time of day (`10:42`).
    pub fn clock(&self, unix: i64) -> String {
        self.local(unix)
            .map_or_else(|| "?".into(), |local| Words::hour(&local))
    }

    /// Seconds the venue's clock is ahead of UTC at `unix` (for the charts' hours).
    pub(crate) fn offset(&self, unix: i64) -> i64 {
        Timestamp::from_second(unix).map_or(0, |t| i64::from(self.zone.to_offset(t).seconds()))
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

    /// An address pool, with the room it serves (`le pool d'adresses de Salle A`).
    pub(crate) fn pool(&self, pool: &str, names: &Names) -> String {
        match (names.pool_zone(pool), self.fr()) {
            (Some(zone), true) if zone == pool => {
                format!("le pool d'adresses {}", of_fr(&names.zone(zone)))
            }
            (Some(zone), false) if zone == pool => {
                format!("the address pool of {}", names.zone(zone))
            }
            (Some(zone), true) => format!("le pool d'adresses {pool} ({})", names.zone(zone)),
            (Some(zone), false) => format!("the address pool {pool} ({})", names.zone(zone)),
            (None, true) => format!("le pool d'adresses {pool}"),
            (None, false) => format!("the address pool {pool}"),
        }
    }

    /// A source instance in plain words, and the figures a gap in it leaves a gap in:
    /// (`the DHCP lease file of Room 1`, `Room 1's address-pool figures`).
    fn source(&self, source: &str, instance: &str, names: &Names) -> (String, String) {
        // A DHCP source is named after its pool, by default its zone's id.
        let room = names
            .pool_zone(instance)
            .map_or_else(|| names.instance(instance), |zone| names.zone(zone));
        let fr = self.fr();
        let (what, gap) = match (source, fr) {
            ("dhcp", true) => (
                format!("le fichier des baux DHCP {}", of_fr(&room)),
                format!("les chiffres du pool d'adresses {}", of_fr(&room)),
            ),
            ("dhcp", false) => (
                format!("the DHCP lease file of {room}"),
                format!("{room}'s address-pool figures"),
            ),
            ("kea_statistics", true) => (
                format!("les statistiques de Kea pour {room}"),
                format!("les chiffres du pool d'adresses {}", of_fr(&room)),
            ),
            ("kea_statistics", false) => (
                format!("Kea's statistics for {room}"),
                format!("{room}'s address-pool figures"),
            ),
            ("netdev", true) => (
                "les compteurs des interfaces réseau".into(),
                "les chiffres de trafic des liens".into(),
            ),
            ("netdev", false) => (
                "the network interfaces' counters".into(),
                "the links' traffic figures".into(),
            ),
            ("hostapd", true) => (
                format!("hostapd ({room})"),
                "les chiffres de ses points d'accès".into(),
            ),
            ("hostapd", false) => (
                format!("hostapd ({room})"),
                "its access points' figures".into(),
            ),
            ("neighbours", true) => (
                "la table des voisins du réseau (ARP/NDP)".into(),
                "les comptes d'appareils qui en viennent".into(),
            ),
            ("neighbours", false) => (
                "the network's neighbour table (ARP/NDP)".into(),
                "the device counts taken from it".into(),
            ),
            ("capture", true) => (
                format!("la capture de paquets sur {}", names.link(instance)),
                "les temps d'obtention d'une adresse".into(),
            ),
            ("capture", false) => (
                format!("the packet capture on {}", names.link(instance)),
                "the time-to-lease figures".into(),
            ),
            ("schedule", true) => (
                "le fichier du programme".into(),
                "les sessions de la page d'état".into(),
            ),
            ("schedule", false) => (
                "the programme file".into(),
                "the status page's sessions".into(),
            ),
            (other, true) => (format!("la source {other} ({room})"), "ses chiffres".into()),
            (other, false) => (format!("the {other} source ({room})"), "its figures".into()),
        };
        (what, gap)
    }

    /// What an incident was, in a few words.
    pub(crate) fn incident(&self, kind: &IncidentKind, names: &Names) -> String {
        match (kind, self.fr()) {
            (IncidentKind::SourceDown { source, instance }, true) => {
                format!(
                    "Impossible de lire {}",
                    self.source(source, instance, names).0
                )
            }
            (IncidentKind::SourceDown { source, instance }, false) => capitalized(&format!(
                "{} could not be read",
                self.source(source, instance, names).0
            )),
            (IncidentKind::InterfaceDown { interface }, true) => {
                format!("Le lien {} était coupé", names.link(interface))
            }
            (IncidentKind::InterfaceDown { interface }, false) => {
                format!("Link {} was down", names.link(interface))
            }
            (IncidentKind::PoolFull { pool }, _) => format!(
                "{} {}",
                self.pick("Plus aucune adresse libre dans", "No free address left in"),
                self.pool(pool, names)
            ),
            (IncidentKind::TimeToLeaseSlow { interface }, true) => {
                format!(
                    "Obtenir une adresse prenait trop longtemps (vu sur {})",
                    names.link(interface)
                )
            }
            (IncidentKind::TimeToLeaseSlow { interface }, false) => {
                format!(
                    "Getting an address took too long (seen on {})",
                    names.link(interface)
                )
            }
        }
    }

    /// A recommendation as a sentence, zones, pools and links by their names for people.
    pub(crate) fn recommendation(&self, r: &Recommendation, names: &Names) -> String {
        match r {
            Recommendation::MoreAccessPoints {
                zone,
                ratio,
                threshold,
                session,
            } => {
                let during = session
                    .as_ref()
                    .map(|s| format!(" {} {}", self.pick("pendant", "during"), self.quoted(s)))
                    .unwrap_or_default();
                let (devices, threshold) = (self.ratio(*ratio), self.per_seat(*threshold));
                if self.fr() {
                    let noun = if *ratio < 2.0 {
                        "appareil"
                    } else {
                        "appareils"
                    };
                    format!(
                        "{} a atteint {devices} {noun} par place{during}, pour un seuil d'alerte de {threshold}\u{a0}: ajoutez un point d'accès dans cette salle.",
                        names.zone(zone),
                    )
                } else {
                    let noun = if *ratio == 1.0 { "device" } else { "devices" };
                    format!(
                        "{} reached {devices} {noun} per seat{during}, against an alert threshold of {threshold}: add an access point in this room.",
                        names.zone(zone),
                    )
                }
            }
            Recommendation::WidenPool { pool, free } => {
                let pool = capitalized(&self.pool(pool, names));
                if self.fr() {
                    let noun = if *free < 2.0 {
                        "adresse libre"
                    } else {
                        "adresses libres"
                    };
                    format!(
                        "{pool} est descendu à {} {noun}\u{a0}: élargissez-le pour que les nouveaux arrivants puissent se connecter.",
                        self.count(*free)
                    )
                } else {
                    let noun = if *free == 1.0 {
                        "free address"
                    } else {
                        "free addresses"
                    };
                    format!(
                        "{pool} fell to {} {noun}: widen it so that newcomers can still connect.",
                        self.count(*free)
                    )
                }
            }
            Recommendation::MoreUplink {
                zone,
                minutes,
                interfaces,
            } => {
                let which = if interfaces.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", interfaces.join(", "))
                };
                if self.fr() {
                    format!(
                        "Le lien {}{which} a été saturé pendant {}\u{a0}: prévoyez plus de débit, ou une limite par appareil.",
                        of_fr(&names.zone(zone)),
                        self.minutes(*minutes)
                    )
                } else {
                    format!(
                        "The link serving {}{which} was saturated for {}: plan more capacity, or a per-device limit.",
                        names.zone(zone),
                        self.minutes(*minutes)
                    )
                }
            }
            Recommendation::MoreSharedUplink { interface, minutes } => {
                if self.fr() {
                    format!(
                        "Le lien {}, commun à tout le site, a été saturé pendant {}\u{a0}: prévoyez plus de débit sur ce lien, ou une limite par appareil.",
                        names.link(interface),
                        self.minutes(*minutes)
                    )
                } else {
                    format!(
                        "Link {}, shared by the whole venue, was saturated for {}: plan more capacity on it, or a per-device limit.",
                        names.link(interface),
                        self.minutes(*minutes)
                    )
                }
            }
            Recommendation::SeparateSessions {
                first,
                second,
                zone,
                minutes,
                same_times,
            } => {
                let (first, second, room) =
                    (self.quoted(first), self.quoted(second), names.zone(zone));
                match (self.fr(), same_times) {
                    (true, true) => format!(
                        "{first} et {second} ont eu lieu en même temps dans {room}\u{a0}: programmez-les à des heures différentes."
                    ),
                    (false, true) => format!(
                        "{first} and {second} ran at the same time in {room}: schedule them at different times."
                    ),
                    (true, false) => format!(
                        "{first} et {second} se sont chevauchées pendant {} dans {room}\u{a0}: décalez-les pour que l'une commence après la fin de l'autre.",
                        self.minutes(*minutes)
                    ),
                    (false, false) => format!(
                        "{first} and {second} overlapped by {} in {room}: move one so that it starts after the other ends.",
                        self.minutes(*minutes)
                    ),
                }
            }
            Recommendation::FixSource {
                source,
                instance,
                minutes,
                periods,
            } => {
                let (what, gap) = self.source(source, instance, names);
                // Up to three stretches by their times, more as their count and overall span.
                let when = match (periods.first(), periods.last()) {
                    (Some(first), Some(last)) if periods.len() > 3 => format!(
                        " ({} {}, {})",
                        periods.len(),
                        self.pick("fois", "times"),
                        self.span(first.0, last.1)
                    ),
                    (Some(_), _) => format!(
                        " ({})",
                        periods
                            .iter()
                            .map(|(starts, ends)| self.span(*starts, *ends))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => String::new(),
                };
                if self.fr() {
                    format!(
                        "Impossible de lire {what} pendant {}{when}\u{a0}: {gap} manquent à ces moments-là\u{a0}; vérifiez cette source avant l'ouverture des portes.",
                        self.minutes(*minutes)
                    )
                } else {
                    format!(
                        "{} could not be read for {}{when}: {gap} are missing then; check it before doors open.",
                        capitalized(&what),
                        self.minutes(*minutes)
                    )
                }
            }
        }
    }

    /// What became of the programme, when the report cannot simply list its sessions: none
    /// given, not read, or sessions in rooms the data does not hold (empty when every session
    /// was placed).
    pub(crate) fn programme(&self, note: &ProgrammeNote) -> String {
        let fr = self.fr();
        match note {
            ProgrammeNote::NotGiven => self
                .pick(
                    "Aucun programme n'a été donné pour ce rapport.",
                    "No programme was given for this report.",
                )
                .into(),
            ProgrammeNote::Missing(path) if fr => format!(
                "Le programme n'a pas pu être lu\u{a0}: {} n'existe pas.",
                path.display()
            ),
            ProgrammeNote::Missing(path) => format!(
                "The programme could not be read: {} does not exist.",
                path.display()
            ),
            ProgrammeNote::NoSession(path) if fr => format!(
                "Le programme n'a pas pu être lu\u{a0}: {} ne contient aucune session lisible (des événements iCalendar avec un début et une fin).",
                path.display()
            ),
            ProgrammeNote::NoSession(path) => format!(
                "The programme could not be read: {} holds no session venuemon can read (iCalendar events with a start and an end).",
                path.display()
            ),
            ProgrammeNote::Read { unplaced } if unplaced.is_empty() => String::new(),
            ProgrammeNote::Read { unplaced } => {
                let sessions: usize = unplaced.values().sum();
                let rooms = unplaced
                    .iter()
                    .map(|(room, n)| format!("{room} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ");
                match (fr, sessions == 1) {
                    (true, true) => format!(
                        "1 session dans une salle que les données ne connaissent pas\u{a0}: {rooms}\u{a0}; nommez les salles du programme comme les zones (leur nom ou leur identifiant)."
                    ),
                    (true, false) => format!(
                        "{sessions} sessions dans des salles que les données ne connaissent pas\u{a0}: {rooms}\u{a0}; nommez les salles du programme comme les zones (leur nom ou leur identifiant)."
                    ),
                    (false, true) => format!(
                        "1 session in a room the data does not hold: {rooms}; name the programme's rooms as the zones' names or ids."
                    ),
                    (false, false) => format!(
                        "{sessions} sessions in rooms the data does not hold: {rooms}; name the programme's rooms as the zones' names or ids."
                    ),
                }
            }
        }
    }

    /// How two sessions of one room overlapped, for the sessions table: `15 min avec « B »`,
    /// or `en même temps que « B »` when they ran over the same times.
    pub(crate) fn overlap(&self, other: &str, seconds: i64, same_times: bool) -> String {
        if same_times {
            format!(
                "{} {}",
                self.pick("en même temps que", "at the same time as"),
                self.quoted(other)
            )
        } else {
            format!(
                "{} {} {}",
                self.duration(seconds),
                self.pick("avec", "with"),
                self.quoted(other)
            )
        }
    }

    /// Where a recommendation's figure is shown, for the "from" note beside it.
    pub fn figure(&self, r: &Recommendation) -> &'static str {
        match r {
            Recommendation::MoreAccessPoints { .. } => self.pick(
                "Salle par salle\u{a0}: appareils par place",
                "Room by room: devices per seat",
            ),
            Recommendation::WidenPool { .. } => self.pick(
                "Salle par salle\u{a0}: adresses libres au plus bas",
                "Room by room: fewest free addresses",
            ),
            Recommendation::MoreUplink { .. } => self.pick(
                "Salle par salle\u{a0}: minutes de lien saturé",
                "Room by room: minutes with a saturated link",
            ),
            Recommendation::MoreSharedUplink { .. } => self.pick(
                "L'essentiel\u{a0}: temps avec un lien saturé",
                "At a glance: time with a saturated link",
            ),
            Recommendation::SeparateSessions { .. } => {
                self.pick("Sessions\u{a0}: chevauchements", "Sessions: overlaps")
            }
            Recommendation::FixSource { .. } => self.pick("Incidents", "Incidents"),
        }
    }
}

/// `de Salle A`, `d'Atelier 2`: French "of" before a name.
fn of_fr(name: &str) -> String {
    if name.starts_with([
        'A', 'E', 'I', 'O', 'U', 'Y', 'É', 'È', 'Ê', 'Î', 'Ô', 'a', 'e', 'i', 'o', 'u', 'é',
    ]) {
        format!("d'{name}")
    } else {
        format!("de {name}")
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

    fn names() -> Names {
        Names {
            zones: vec![
                ("hall-a".into(), "Salle A".into()),
                ("atelier".into(), "Atelier 2".into()),
            ],
            pools: vec![
                ("hall-a".into(), Some("hall-a".into())),
                ("invites".into(), Some("hall-a".into())),
                ("lab".into(), None),
            ],
            links: vec![
                ("wlan0".into(), Some("hall-a".into())),
                ("uplink0".into(), None),
            ],
        }
    }

    fn toronto(language: Language) -> Words {
        Words::new(
            language,
            TimeZone::get("America/Toronto").expect("the system's time zone database"),
        )
    }

    /// Regression: no date said its year, and nothing said which clock the times were on.
    #[test]
    fn the_period_says_the_year_once_and_the_time_zone_is_named() {
        // 2026-06-02 04:00 UTC to 2026-06-03 04:00 UTC: midnight to midnight in Toronto.
        let (from, to) = (1_780_372_800, 1_780_459_200);
        assert_eq!(
            toronto(Language::Fr).period(from, to),
            "Du mardi 2 juin à 00:00 au mercredi 3 juin 2026 à 00:00"
        );
        assert_eq!(
            toronto(Language::En).period(from, to),
            "From Tuesday 2 June at 00:00 to Wednesday 3 June 2026 at 00:00"
        );
        assert_eq!(
            toronto(Language::Fr).time_zone(from),
            "Toutes les heures sont à l'heure de Toronto (UTC\u{2212}4)."
        );
        assert_eq!(
            toronto(Language::En).time_zone(from),
            "All times are Toronto time (UTC\u{2212}4)."
        );
        // Across New Year, both ends say their year; the first of the month is « 1er ».
        let (eve, day) = (1_798_740_000, 1_798_761_600);
        assert_eq!(
            fr().period(eve, day),
            "Du jeudi 31 décembre 2026 à 18:00 au vendredi 1er janvier 2027 à 00:00"
        );
        assert_eq!(
            fr().time_zone(eve),
            "Toutes les heures sont en temps universel (UTC)."
        );
        assert_eq!(en().time_zone(eve), "All times are UTC.");
        let amsterdam = Words::new(
            Language::Fr,
            TimeZone::get("Europe/Amsterdam").expect("time zone"),
        );
        assert_eq!(
            amsterdam.time_zone(from),
            "Toutes les heures sont à l'heure d'Amsterdam (UTC+2)."
        );
        let india = jiff::tz::Offset::from_seconds(5 * 3600 + 1800).expect("offset");
        assert_eq!(
            Words::new(Language::En, TimeZone::fixed(india)).time_zone(from),
            "All times are UTC+5:30."
        );
    }

    #[test]
    fn times_in_tables_are_on_the_venues_clock() {
        // 2026-06-03 14:42 UTC is 10:42 in Toronto.
        let t = 1_780_497_720;
        assert_eq!(toronto(Language::Fr).time(t), "3 juin à 10:42");
        assert_eq!(toronto(Language::En).clock(t), "10:42");
        assert_eq!(
            toronto(Language::Fr).span(t, t + 1080),
            "3 juin, 10:42 – 11:00"
        );
        // Past midnight, each end says its day.
        assert_eq!(
            toronto(Language::En).span(t + 12 * 3600, t + 15 * 3600),
            "3 June at 22:42 – 4 June at 01:42"
        );
        assert_eq!(toronto(Language::En).offset(t), -4 * 3600);
    }

    /// Regression: a share's change read "+22 %" (relative) where it had gone from 50 % to
    /// 61 %; a share moves by percentage points.
    #[test]
    fn a_shares_change_is_in_points() {
        assert_eq!(fr().points(0.61 - 0.5), "+11\u{a0}points");
        assert_eq!(en().points(0.12), "+12\u{a0}points");
        assert_eq!(en().points(0.01), "+1\u{a0}point");
        assert_eq!(fr().points(-0.015), "-1,5\u{a0}point");
        assert_eq!(fr().points(-0.005), "-0,5\u{a0}point");
        assert_eq!(en().points(-0.005), "-0.5\u{a0}points");
        assert_eq!(en().points(0.0), "0\u{a0}points");
        assert_eq!(fr().points(0.0), "0\u{a0}point");
        assert_eq!(en().points(-0.3), "-30\u{a0}points");
    }

    /// Regression: pools, links and source instances were shown by id where the zone they
    /// serve has a name.
    #[test]
    fn pools_links_and_sources_are_named_after_their_room() {
        let names = names();
        assert_eq!(fr().pool("hall-a", &names), "le pool d'adresses de Salle A");
        assert_eq!(en().pool("hall-a", &names), "the address pool of Salle A");
        assert_eq!(
            fr().pool("invites", &names),
            "le pool d'adresses invites (Salle A)"
        );
        assert_eq!(en().pool("lab", &names), "the address pool lab");
        assert_eq!(names.link("wlan0"), "wlan0 (Salle A)");
        assert_eq!(names.link("uplink0"), "uplink0");
        assert_eq!(names.zone("atelier"), "Atelier 2");
        assert_eq!(names.zone("unknown"), "unknown");
        let down = IncidentKind::SourceDown {
            source: "dhcp".into(),
            instance: "hall-a".into(),
        };
        assert_eq!(
            fr().incident(&down, &names),
            "Impossible de lire le fichier des baux DHCP de Salle A"
        );
        assert_eq!(
            en().incident(&down, &names),
            "The DHCP lease file of Salle A could not be read"
        );
        let full = IncidentKind::PoolFull {
            pool: "hall-a".into(),
        };
        assert_eq!(
            en().incident(&full, &names),
            "No free address left in the address pool of Salle A"
        );
        let link = IncidentKind::InterfaceDown {
            interface: "wlan0".into(),
        };
        assert_eq!(
            fr().incident(&link, &names),
            "Le lien wlan0 (Salle A) était coupé"
        );
    }

    /// Regression: "The dhcp source was missing for 20 min in total, and so are those minutes
    /// in this report" overstated the gap (only the room's pool figures) and named no room.
    #[test]
    fn a_source_down_is_named_in_plain_words_with_its_room_and_the_figures_it_left_out() {
        let names = names();
        // 2026-06-02 15:00 UTC, for 20 minutes.
        let starts = 1_780_412_400;
        let r = Recommendation::FixSource {
            source: "dhcp".into(),
            instance: "hall-a".into(),
            minutes: 20,
            periods: vec![(starts, starts + 1200)],
        };
        assert_eq!(
            en().recommendation(&r, &names),
            "The DHCP lease file of Salle A could not be read for 20\u{a0}min (2 June, 15:00 – 15:20): Salle A's address-pool figures are missing then; check it before doors open."
        );
        assert_eq!(
            fr().recommendation(&r, &names),
            "Impossible de lire le fichier des baux DHCP de Salle A pendant 20\u{a0}min (2 juin, 15:00 – 15:20)\u{a0}: les chiffres du pool d'adresses de Salle A manquent à ces moments-là\u{a0}; vérifiez cette source avant l'ouverture des portes."
        );
        // Many stretches (a source failing again and again): their count and overall span.
        let r = Recommendation::FixSource {
            source: "netdev".into(),
            instance: String::new(),
            minutes: 4,
            periods: (0..4)
                .map(|k| (starts + k * 300, starts + k * 300 + 60))
                .collect(),
        };
        assert_eq!(
            en().recommendation(&r, &names),
            "The network interfaces' counters could not be read for 4\u{a0}min (4 times, 2 June, 15:00 – 15:16): the links' traffic figures are missing then; check it before doors open."
        );
    }

    #[test]
    fn recommendations_are_sentences_in_both_languages() {
        // Regression: "147 % of its seats" counted devices as people; the threshold is named.
        let r = Recommendation::MoreAccessPoints {
            zone: "hall-a".into(),
            ratio: 1.6,
            threshold: 1.5,
            session: Some("Keynote".into()),
        };
        let names = names();
        assert_eq!(
            fr().recommendation(&r, &names),
            "Salle A a atteint 1,6 appareil par place pendant «\u{a0}Keynote\u{a0}», pour un seuil d'alerte de 1,5 par place\u{a0}: ajoutez un point d'accès dans cette salle."
        );
        assert_eq!(
            en().recommendation(&r, &names),
            "Salle A reached 1.6 devices per seat during “Keynote”, against an alert threshold of 1.5 per seat: add an access point in this room."
        );
        assert_eq!(en().per_seat(1.47), "1.47 per seat");
        assert_eq!(fr().per_seat(2.0), "2 par place");
        let one = Recommendation::WidenPool {
            pool: "hall-a".into(),
            free: 1.0,
        };
        assert_eq!(
            fr().recommendation(&one, &names),
            "Le pool d'adresses de Salle A est descendu à 1 adresse libre\u{a0}: élargissez-le pour que les nouveaux arrivants puissent se connecter."
        );
        assert_eq!(
            en().recommendation(&one, &names),
            "The address pool of Salle A fell to 1 free address: widen it so that newcomers can still connect."
        );
        let zero = Recommendation::WidenPool {
            pool: "p".into(),
            free: 0.0,
        };
        assert!(
            fr().recommendation(&zero, &names)
                .contains("0 adresse libre")
        );
        assert!(
            en().recommendation(&zero, &names)
                .contains("0 free addresses")
        );
        // The room's link is named.
        let room = Recommendation::MoreUplink {
            zone: "atelier".into(),
            minutes: 12,
            interfaces: vec!["wlan3".into()],
        };
        assert!(
            fr().recommendation(&room, &names)
                .starts_with("Le lien d'Atelier 2 (wlan3) a été saturé pendant 12\u{a0}min")
        );
        assert!(
            en().recommendation(&room, &names)
                .starts_with("The link serving Atelier 2 (wlan3) was saturated for 12\u{a0}min")
        );
    }

    /// Regression: a saturated link that serves no room (the venue's uplink) got no
    /// recommendation; it is named, with its minutes.
    #[test]
    fn a_saturated_shared_link_is_named_in_a_recommendation() {
        let r = Recommendation::MoreSharedUplink {
            interface: "uplink0".into(),
            minutes: 60,
        };
        assert_eq!(
            fr().recommendation(&r, &names()),
            "Le lien uplink0, commun à tout le site, a été saturé pendant 1\u{a0}h\u{a0}00\u{a0}min\u{a0}: prévoyez plus de débit sur ce lien, ou une limite par appareil."
        );
        assert_eq!(
            en().recommendation(&r, &names()),
            "Link uplink0, shared by the whole venue, was saturated for 1\u{a0}h\u{a0}00\u{a0}min: plan more capacity on it, or a per-device limit."
        );
        assert_eq!(en().figure(&r), "At a glance: time with a saturated link");
    }

    /// Regression: two sessions overlapping by a few minutes "took place at the same time".
    #[test]
    fn overlapping_sessions_say_for_how_long() {
        let overlap = |same_times| Recommendation::SeparateSessions {
            first: "A".into(),
            second: "B".into(),
            zone: "hall-a".into(),
            minutes: if same_times { 60 } else { 10 },
            same_times,
        };
        assert_eq!(
            fr().recommendation(&overlap(false), &names()),
            "«\u{a0}A\u{a0}» et «\u{a0}B\u{a0}» se sont chevauchées pendant 10\u{a0}min dans Salle A\u{a0}: décalez-les pour que l'une commence après la fin de l'autre."
        );
        assert_eq!(
            en().recommendation(&overlap(false), &names()),
            "“A” and “B” overlapped by 10\u{a0}min in Salle A: move one so that it starts after the other ends."
        );
        assert!(
            fr().recommendation(&overlap(true), &names())
                .contains("ont eu lieu en même temps dans Salle A")
        );
        assert!(
            en().recommendation(&overlap(true), &names())
                .contains("ran at the same time in Salle A")
        );
        assert_eq!(
            fr().overlap("B", 600, false),
            "10\u{a0}min avec «\u{a0}B\u{a0}»"
        );
        assert_eq!(en().overlap("B", 3600, true), "at the same time as “B”");
    }

    /// Regression: the past page's banner said "Tel que c'était le 2026-11-30 09:23:00 UTC".
    #[test]
    fn a_moment_is_a_date_a_time_and_the_venues_time_zone_in_words() {
        let paris = TimeZone::get("Europe/Paris").expect("tzdb");
        // 30 November 2026 08:23 UTC, 09:23 in Paris.
        let at = 1_796_026_980;
        assert_eq!(
            Words::new(Language::Fr, paris.clone()).moment(at),
            "30 novembre 2026 à 09:23 (heure de Paris, UTC+1)"
        );
        assert_eq!(
            Words::new(Language::En, paris).moment(at),
            "30 November 2026 at 09:23 (Paris time, UTC+1)"
        );
        assert_eq!(
            Words::new(Language::En, TimeZone::UTC).moment(at),
            "30 November 2026 at 08:23 (UTC)"
        );
    }
}
