//! `[venue]`: what the event is called, where its clocks are, which language it speaks.

use super::toml::Section;
use super::warnings;

/// The event id when the config names none (zero-config, or a file without `event`): pages
/// leave it out, as it says nothing about the venue.
pub const DEFAULT_EVENT: &str = "default";

/// `[venue]`: what the event is called.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// Human name of the venue and event, shown on the status page.
    pub name: String,
    /// Short event id (letters, digits, `-`, `_`), naming the event key file.
    pub event: String,
    /// IANA time zone name used for local times in pages and reports.
    pub timezone: String,
    /// Language of the status page and report.
    pub language: Language,
}

impl Venue {
    /// The venue's time zone; UTC when the system does not know `timezone` (loading the
    /// config warns of that).
    pub fn time_zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

/// A language the agent speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// French.
    Fr,
    /// English.
    En,
}

/// Reads `[venue]` over `venue` (the defaults).
pub(super) fn read(section: &Section<'_>, venue: &mut Venue) {
    if let Some(name) = section.string("name", "a non-empty string", |s| !s.trim().is_empty()) {
        venue.name = name;
    }
    let event_form = "1 to 64 letters, digits, `-` or `_`, like \"sdn-2026\"";
    if let Some(event) = section.string("event", event_form, |s| {
        (1..=64).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }) {
        venue.event = event;
    }
    let tz_form = "a time zone name without spaces, like \"America/Toronto\" or \"UTC\"";
    if let Some(tz) = section.string("timezone", tz_form, |s| {
        !s.is_empty() && !s.chars().any(char::is_whitespace)
    }) {
        if let Some(warning) = warnings::unknown_time_zone(&tz) {
            section.warn(section.span_of("timezone"), warning);
        }
        venue.timezone = tz;
    }
    if let Some(language) =
        section.choice("language", &[("fr", Language::Fr), ("en", Language::En)])
    {
        venue.language = language;
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ok, one_error};

    #[test]
    fn an_unknown_time_zone_is_a_warning() {
        let (config, warnings) = ok("[venue]\ntimezone = \"Mars/Olympus\"\n");
        assert_eq!(config.venue.time_zone(), jiff::tz::TimeZone::UTC);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0]
                .message
                .starts_with("venuemon.toml:2:12: [venue]: timezone \"Mars/Olympus\""),
            "{warnings:?}"
        );
        assert!(ok("[venue]\ntimezone = \"Europe/Paris\"\n").1.is_empty());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        let message = one_error(&format!("[venue]\nevent = \"{long}\"\n"));
        assert!(
            message.ends_with(&format!("got \"{}…", "x".repeat(39))),
            "{message}"
        );
        assert!(message.len() < 250, "{message}");
    }
}
