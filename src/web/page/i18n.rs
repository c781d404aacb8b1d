//! Every word of the status page in French and English, number formatting per language, and
//! the choice of language for a request (`?lang=`, then `Accept-Language`, then the config).

use crate::config::Language;
use crate::hub::{Reason, ReasonKind, Status};

/// A noun in the singular and the plural.
pub(super) type Noun = (&'static str, &'static str);

/// The page's fixed strings in one language.
pub(crate) struct Text {
    /// BCP 47 tag for `<html lang>`.
    pub lang: &'static str,
    /// The other language: its tag and its name in itself, for the switch link.
    pub other: (&'static str, &'static str),
    pub ok: &'static str,
    /// No source that covers the zone answered.
    pub unknown: &'static str,
    pub warn: &'static str,
    pub critical: &'static str,
    pub clients: &'static str,
    /// Label of a tile's device count.
    pub connected: &'static str,
    /// A count of devices, seats and access points: the noun for one and for many.
    pub devices: Noun,
    pub seats: Noun,
    pub ap_count: Noun,
    /// "including {} with a random MAC", with `{}` a count, after the device count.
    pub randomized: &'static str,
    pub uplink: &'static str,
    pub traffic: &'static str,
    pub dhcp_pool: &'static str,
    /// "free", after a count of addresses.
    pub free: Noun,
    pub of: &'static str,
    pub stations: &'static str,
    pub aps: &'static str,
    pub time_to_lease: &'static str,
    pub probing: &'static str,
    pub since_start: &'static str,
    pub session_now: &'static str,
    pub session_next: &'static str,
    /// "until {}", with `{}` a time of day.
    pub until: &'static str,
    /// "at {}", with `{}` a time of day.
    pub at: &'static str,
    pub updated: &'static str,
    /// "{} s ago", with `{}` replaced by the page's script.
    pub age: &'static str,
    pub stale: &'static str,
    pub lost: &'static str,
    pub sees: &'static str,
    pub blind: &'static str,
    pub no_source: &'static str,
    pub back: &'static str,
    pub last_hour: &'static str,
    /// In place of a sparkline with less than five minutes of points.
    pub collecting: &'static str,
    pub interfaces: &'static str,
    pub interface: &'static str,
    pub state: &'static str,
    pub up: &'static str,
    pub down: &'static str,
    pub received: &'static str,
    pub sent: &'static str,
    pub speed: &'static str,
    pub ap: &'static str,
    pub band: &'static str,
    pub channel: &'static str,
    pub utilization: &'static str,
    pub pools: &'static str,
    pub pool: &'static str,
    pub leases: &'static str,
    pub size: &'static str,
    pub captures: &'static str,
    pub frames: &'static str,
    pub dropped: &'static str,
    pub unanswered: &'static str,
    pub not_found: &'static str,
    pub venue_status: &'static str,
    /// The banner of a past page: "as it was at {}", with `{}` a date and time.
    pub as_it_was: &'static str,
    /// The banner's link to the live page.
    pub back_to_live: &'static str,
    /// "no history at that time: the history covers {}", with `{}` a range of times.
    pub no_history_at: &'static str,
    pub history_empty: &'static str,
    /// The history is off in the config: which key turns it on.
    pub history_off: &'static str,
    /// `history_off` for `venuemon run --simulate`, naming its option.
    pub history_off_simulated: &'static str,
    pub history_unreadable: &'static str,
    /// `?at=` that is not a time: the forms that are.
    pub bad_time: &'static str,
    /// The zone page's time slider: its label and its button.
    pub moment: &'static str,
    pub show: &'static str,
}

const FR: Text = Text {
    lang: "fr",
    other: ("en", "English"),
    ok: "OK",
    unknown: "Inconnu",
    warn: "Attention",
    critical: "Critique",
    clients: "Appareils",
    connected: "Connectés",
    devices: ("appareil", "appareils"),
    seats: ("place", "places"),
    ap_count: ("borne", "bornes"),
    randomized: "dont {} avec une adresse MAC aléatoire",
    uplink: "Liaison",
    traffic: "Trafic",
    dhcp_pool: "Pool DHCP",
    free: ("libre", "libres"),
    of: "sur",
    stations: "Stations Wi-Fi",
    aps: "Bornes",
    time_to_lease: "Délai d’obtention d’adresse (95 %)",
    probing: "Appareils qui cherchent un réseau",
    since_start: "depuis le début",
    session_now: "En ce moment",
    session_next: "Ensuite",
    until: "jusqu’à {}",
    at: "à {}",
    updated: "Données de",
    age: "il y a {} s",
    stale: "données anciennes",
    lost: "Connexion perdue, reconnexion…",
    sees: "Sources actives :",
    blind: "Sources en panne :",
    no_source: "aucune",
    back: "Toutes les zones",
    last_hour: "Dernière heure",
    collecting: "collecte…",
    interfaces: "Interfaces",
    interface: "Interface",
    state: "État",
    up: "active",
    down: "inactive",
    received: "Reçu",
    sent: "Envoyé",
    speed: "Débit max.",
    ap: "Borne",
    band: "Bande",
    channel: "Canal",
    utilization: "Occupation",
    pools: "Pools DHCP",
    pool: "Pool",
    leases: "Baux actifs",
    size: "Taille",
    captures: "Captures",
    frames: "Trames",
    dropped: "perdues",
    unanswered: "DISCOVER sans réponse",
    not_found: "Cette zone n’existe pas.",
    venue_status: "État du site",
    as_it_was: "Tel que c’était le {}",
    back_to_live: "Revenir au direct",
    no_history_at: "Pas d’historique à ce moment : l’historique couvre {}.",
    history_empty: "L’historique ne contient encore aucun relevé.",
    history_off: "L’historique est désactivé : mettez enabled = true dans la section [history] \
                  de la configuration pour le conserver.",
    history_off_simulated: "L’historique est désactivé : relancez venuemon run --simulate avec \
                            --history FICHIER pour le conserver et revoir le passé.",
    history_unreadable: "Le fichier d’historique ne peut pas être lu (le journal de l’agent \
                         dit pourquoi).",
    bad_time: "Heure illisible : écrivez 2026-06-03T10:42:00+02:00, 2026-06-03T10:42 (heure \
               du site) ou des secondes Unix.",
    moment: "Moment",
    show: "Afficher",
};

const EN: Text = Text {
    lang: "en",
    other: ("fr", "Français"),
    ok: "OK",
    unknown: "Unknown",
    warn: "Warning",
    critical: "Critical",
    clients: "Devices",
    connected: "Connected",
    devices: ("device", "devices"),
    seats: ("seat", "seats"),
    ap_count: ("access point", "access points"),
    randomized: "including {} with a random MAC",
    uplink: "Uplink",
    traffic: "Traffic",
    dhcp_pool: "DHCP pool",
    free: ("free", "free"),
    of: "of",
    stations: "Wi-Fi stations",
    aps: "Access points",
    time_to_lease: "Time to get an address (95 %)",
    probing: "Devices looking for a network",
    since_start: "since start",
    session_now: "Now",
    session_next: "Next",
    until: "until {}",
    at: "at {}",
    updated: "Data from",
    age: "{} s ago",
    stale: "stale data",
    lost: "Connection lost, reconnecting…",
    sees: "Sources up:",
    blind: "Sources down:",
    no_source: "none",
    back: "All zones",
    last_hour: "Last hour",
    collecting: "collecting…",
    interfaces: "Interfaces",
    interface: "Interface",
    state: "State",
    up: "up",
    down: "down",
    received: "Received",
    sent: "Sent",
    speed: "Speed",
    ap: "Access point",
    band: "Band",
    channel: "Channel",
    utilization: "Utilization",
    pools: "DHCP pools",
    pool: "Pool",
    leases: "Active leases",
    size: "Size",
    captures: "Captures",
    frames: "Frames",
    dropped: "dropped",
    unanswered: "Unanswered DISCOVERs",
    not_found: "There is no such zone.",
    venue_status: "Venue status",
    as_it_was: "As it was on {}",
    back_to_live: "Back to live",
    no_history_at: "No history at that time: the history covers {}.",
    history_empty: "The history holds no tick yet.",
    history_off: "The history is off: set enabled = true in the [history] section of the \
                  config to keep it.",
    history_off_simulated: "The history is off: start venuemon run --simulate again with \
                            --history FILE to keep it and see the past.",
    history_unreadable: "The history file cannot be read (the agent's log says why).",
    bad_time: "Cannot read the time: write 2026-06-03T10:42:00+02:00, 2026-06-03T10:42 (the \
               venue's time) or Unix seconds.",
    moment: "Moment",
    show: "Show",
};

/// The strings of `language`.
pub(crate) fn text(language: Language) -> &'static Text {
    match language {
        Language::Fr => &FR,
        Language::En => &EN,
    }
}

impl Text {
    /// The word for a status (always shown beside its colour and icon).
    pub(crate) fn status(&self, status: Status) -> &'static str {
        match status {
            Status::Ok => self.ok,
            Status::Unknown => self.unknown,
            Status::Warn => self.warn,
            Status::Critical => self.critical,
        }
    }

    fn fr(&self) -> bool {
        self.lang == "fr"
    }

    /// A decimal number with `digits` after the separator.
    pub(crate) fn number(&self, value: f64, digits: usize) -> String {
        let text = format!("{value:.digits$}");
        if self.fr() {
            text.replace('.', ",")
        } else {
            text
        }
    }

    /// A ratio as a whole percentage: "97 %" (a narrow no-break space, as French and SI
    /// typography both write it).
    pub(crate) fn percent(&self, ratio: f64) -> String {
        format!("{}\u{202f}%", self.number(ratio * 100.0, 0))
    }

    /// A count with thousands grouped.
    pub(crate) fn count(&self, value: u64) -> String {
        let digits = value.to_string();
        let separator = if self.fr() { "\u{202f}" } else { "," };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(c);
        }
        out
    }

    /// A count and its noun, singular or plural as the language has it: French takes the
    /// singular for 0 and 1 ("0 appareil", "1 appareil"), English for 1 only ("0 devices").
    pub(crate) fn counted(&self, value: u64, noun: Noun) -> String {
        format!("{} {}", self.count(value), self.noun(value, noun))
    }

    /// The noun for `value` things, singular or plural (see [`Text::counted`]).
    pub(crate) fn noun(&self, value: u64, (one, many): Noun) -> &'static str {
        let singular = if self.fr() { value < 2 } else { value == 1 };
        if singular { one } else { many }
    }

    /// Bits per second with a unit people read.
    pub(crate) fn rate(&self, bps: f64) -> String {
        let (value, unit) = [(1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")]
            .into_iter()
            .find(|(scale, _)| bps >= *scale)
            .map_or((bps, "bit/s"), |(scale, unit)| (bps / scale, unit));
        let digits = if value < 10.0 && unit != "bit/s" {
            1
        } else {
            0
        };
        format!("{}\u{a0}{unit}", self.number(value, digits))
    }

    /// Seconds, with milliseconds below one second.
    pub(crate) fn seconds(&self, seconds: f64) -> String {
        if seconds < 1.0 {
            format!("{}\u{a0}ms", self.number(seconds * 1000.0, 0))
        } else {
            format!("{}\u{a0}s", self.number(seconds, 1))
        }
    }

    /// Why a zone is not ok, in plain words.
    pub(crate) fn reason(&self, reason: &Reason) -> String {
        let subject = &reason.subject;
        let value = reason.value;
        match (reason.kind, self.fr()) {
            (ReasonKind::DhcpPool, true) => {
                format!("Pool DHCP {subject} utilisé à {}", self.percent(value))
            }
            (ReasonKind::DhcpPool, false) => {
                format!("DHCP pool {subject} {} used", self.percent(value))
            }
            (ReasonKind::Uplink, true) => {
                format!("Liaison {subject} chargée à {}", self.percent(value))
            }
            (ReasonKind::Uplink, false) => format!("Uplink {subject} at {}", self.percent(value)),
            (ReasonKind::Occupancy, true) => {
                format!("{} appareils par place", self.number(value, 1))
            }
            (ReasonKind::Occupancy, false) => format!("{} devices per seat", self.number(value, 1)),
            (ReasonKind::TimeToLease, true) => format!(
                "DHCP lent : 95\u{202f}% des adresses obtenues en {} ou plus",
                self.seconds(value)
            ),
            (ReasonKind::TimeToLease, false) => format!(
                "DHCP slow: 95\u{202f}% of addresses take up to {}",
                self.seconds(value)
            ),
            (ReasonKind::SourceDown, true) => format!("Source {subject} sans réponse"),
            (ReasonKind::SourceDown, false) => format!("Source {subject} not answering"),
            (ReasonKind::NoSource, true) => {
                "Aucune source ne couvre cette zone : rien à juger".to_string()
            }
            (ReasonKind::NoSource, false) => {
                "No source covers this zone: nothing to judge".to_string()
            }
        }
    }
}

/// The language of a request: `?lang=` if it names one, else the first of `fr`/`en` the
/// browser prefers (by `q`), else the configured default.
pub(crate) fn negotiate(
    query: Option<&str>,
    accept_language: Option<&str>,
    default: Language,
) -> Language {
    let known = |tag: &str| {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("fr") {
            Some(Language::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    };
    if let Some(language) = query.and_then(known) {
        return language;
    }
    let mut best: Option<(f64, Language)> = None;
    for (tag, q) in crate::web::accept::weighted(accept_language.unwrap_or_default()) {
        let Some(language) = known(tag) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, language));
        }
    }
    best.map_or(default, |(_, language)| language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_query_then_browser_then_config() {
        use Language::{En, Fr};
        assert_eq!(negotiate(Some("en"), Some("fr-CA"), Fr), En);
        assert_eq!(negotiate(Some("de"), Some("fr-CA,fr;q=0.9"), En), Fr);
        assert_eq!(negotiate(None, Some("de-DE,en;q=0.5,fr;q=0.7"), En), Fr);
        assert_eq!(negotiate(None, Some("en-GB;q=0.8, fr;q=0"), Fr), En);
        assert_eq!(negotiate(None, Some("de, *;q=0.1"), Fr), Fr);
        assert_eq!(negotiate(None, Some(";;,q=,;q=x"), En), En);
        assert_eq!(negotiate(None, None, Fr), Fr);
    }

    #[test]
    fn numbers_follow_the_language() {
        let (fr, en) = (text(Language::Fr), text(Language::En));
        assert_eq!(fr.percent(0.974), "97\u{202f}%");
        assert_eq!(en.number(1.25, 1), "1.2");
        assert_eq!(fr.number(1.25, 1), "1,2");
        assert_eq!(fr.count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(en.count(1_234), "1,234");
        assert_eq!(en.count(12), "12");
        assert_eq!(en.rate(12_345_678.0), "12\u{a0}Mbit/s");
        assert_eq!(fr.rate(1_500.0), "1,5\u{a0}kbit/s");
        assert_eq!(en.rate(0.0), "0\u{a0}bit/s");
        assert_eq!(en.seconds(0.25), "250\u{a0}ms");
        assert_eq!(fr.seconds(2.0), "2,0\u{a0}s");
    }

    #[test]
    fn counts_take_the_singular_or_plural_of_their_language() {
        let (fr, en) = (text(Language::Fr), text(Language::En));
        assert_eq!(fr.counted(0, fr.devices), "0 appareil");
        assert_eq!(fr.counted(1, fr.devices), "1 appareil");
        assert_eq!(fr.counted(2, fr.devices), "2 appareils");
        assert_eq!(fr.counted(1_500, fr.seats), "1\u{202f}500 places");
        assert_eq!(en.counted(0, en.devices), "0 devices");
        assert_eq!(en.counted(1, en.devices), "1 device");
        assert_eq!(en.counted(2, en.ap_count), "2 access points");
        assert_eq!(en.counted(1, en.seats), "1 seat");
        assert_eq!(fr.counted(1, fr.free), "1 libre");
        assert_eq!(en.counted(1, en.free), "1 free");
    }

    #[test]
    fn every_reason_is_worded_in_both_languages() {
        for kind in ReasonKind::ALL {
            let reason = Reason {
                kind,
                subject: "hall-a".into(),
                value: 0.97,
                status: Status::Critical,
            };
            let (fr, en) = (
                text(Language::Fr).reason(&reason),
                text(Language::En).reason(&reason),
            );
            // The value `/api/status` shows, which the page words instead.
            let json = serde_json::to_string(&kind).expect("serializes");
            let label = json.trim_matches('"');
            assert_ne!(fr, en, "{label}");
            assert!(!fr.contains(label) && !en.contains(label), "{fr} / {en}");
        }
        let pool = Reason {
            kind: ReasonKind::DhcpPool,
            subject: "hall-a".into(),
            value: 0.97,
            status: Status::Critical,
        };
        assert_eq!(
            text(Language::En).reason(&pool),
            "DHCP pool hall-a 97\u{202f}% used"
        );
    }
}
