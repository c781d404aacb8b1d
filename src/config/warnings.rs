//! Every warning loading a configuration can give: settings that are valid but probably not
//! what was meant. The section parsers and the commands place them (with the file and line
//! when there is one); their rules and wording are here.

use std::fmt::Display;
use std::time::Duration;

use super::Config;
use super::toml::format_duration;

/// A `[venue] timezone` this system does not know.
pub(super) fn unknown_time_zone(tz: &str) -> Option<String> {
    jiff::tz::TimeZone::get(tz).is_err().then(|| {
        format!(
            "[venue]: timezone \"{tz}\" is not in this system's time zone database: local times \
             will be UTC; use an IANA name such as \"Europe/Paris\" and install tzdata"
        )
    })
}

/// An `[agent] active_window` so short that clients flicker.
pub(super) fn short_active_window(window: Duration, tick: Duration) -> Option<String> {
    (window < tick * 3).then(|| {
        format!(
            "[agent]: active_window ({}) is shorter than 3 ticks ({}): clients may flicker \
             between active and gone; 10 ticks or more is usual",
            format_duration(window),
            format_duration(tick * 3)
        )
    })
}

/// Warnings about the configuration as a whole, once every section is read.
pub(super) fn whole(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    for zone in &config.zones {
        let catch_all = config.interfaces.zone.as_deref() == Some(zone.id.as_str());
        if zone.interfaces.is_empty() && zone.subnets.is_empty() && !catch_all {
            warnings.push(format!(
                "zone \"{}\" has no interfaces or subnets and is not [interfaces] zone: it will \
                 count no clients",
                zone.id
            ));
        }
    }
    if !config.sources.measures() {
        warnings.push(
            "every source is disabled or absent: nothing will be measured; enable a \
             [source.*] table or add one"
                .to_string(),
        );
    }
    warnings
}

/// Credentials that would cross the network unencrypted (decided once `--listen` applies).
pub(crate) fn clear_text_credentials(config: &Config) -> Option<String> {
    config.http.credentials_in_clear_text().then(|| {
        format!(
            "[http]: credentials travel in clear text to {}: set tls_cert and tls_key, or \
             listen on loopback behind a TLS proxy",
            config.http.listen
        )
    })
}

/// An interface pattern of `place` that matches no interface on this host now.
pub(crate) fn unmatched_pattern(place: impl Display, pattern: impl Display) -> String {
    format!(
        "{place}: \"{pattern}\" matches no interface on this host now; it will be monitored \
         when one appears"
    )
}
