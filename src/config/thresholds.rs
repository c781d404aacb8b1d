//! `[thresholds]` and each zone's `[zone.thresholds]`: when a zone turns warn or critical.

use std::time::Duration;

use super::toml::{Section, Spanned, format_duration};

/// `[thresholds]` (and a zone's `[zone.thresholds]` overrides): the limits behind every
/// warn/critical status. Ratios are 0..=1 here and percentages in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// DHCP pool use from which a pool, and its zone, is at warn.
    pub dhcp_pool_warn: f64,
    /// DHCP pool use from which a pool, and its zone, is critical.
    pub dhcp_pool_critical: f64,
    /// Utilization of a zone's busiest interface (bits/s over link speed) for warn.
    pub uplink_warn: f64,
    /// Utilization of a zone's busiest interface for critical.
    pub uplink_critical: f64,
    /// Clients per seat (a zone with `seats`) for warn; above 1 since people carry
    /// several devices.
    pub occupancy_warn: f64,
    /// Clients per seat for critical.
    pub occupancy_critical: f64,
    /// 95th percentile of DHCP DISCOVER→ACK time seen by a zone's capture, in seconds, for warn.
    pub time_to_lease_warn: f64,
    /// The same, for critical.
    pub time_to_lease_critical: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            dhcp_pool_warn: 0.80,
            dhcp_pool_critical: 0.95,
            uplink_warn: 0.70,
            uplink_critical: 0.90,
            occupancy_warn: 1.5,
            occupancy_critical: 2.0,
            time_to_lease_warn: 2.0,
            time_to_lease_critical: 5.0,
        }
    }
}

/// A warn/critical pair of `[thresholds]`, named by the keys' common prefix.
#[derive(Debug, Clone, Copy)]
enum Limit {
    DhcpPool,
    Uplink,
    Occupancy,
    TimeToLease,
}

impl Limit {
    const ALL: [Limit; 4] = [
        Limit::DhcpPool,
        Limit::Uplink,
        Limit::Occupancy,
        Limit::TimeToLease,
    ];

    /// The warn key and the critical key.
    fn keys(self) -> [String; 2] {
        let prefix = match self {
            Limit::DhcpPool => "dhcp_pool",
            Limit::Uplink => "uplink",
            Limit::Occupancy => "occupancy",
            Limit::TimeToLease => "time_to_lease",
        };
        [format!("{prefix}_warn"), format!("{prefix}_critical")]
    }

    /// For a percentage in the file (a ratio in the config): the largest value and the
    /// expected form; `None` for a duration (seconds in the config).
    fn percent_range(self) -> Option<(f64, &'static str)> {
        match self {
            Limit::DhcpPool | Limit::Uplink => Some((100.0, "a percentage from 1 to 100")),
            Limit::Occupancy => Some((
                1000.0,
                "a percentage of seats from 1 to 1000 (150 means 1.5 clients per seat)",
            )),
            Limit::TimeToLease => None,
        }
    }

    /// The warn and critical values of `thresholds`.
    fn pair(self, t: &mut Thresholds) -> (&mut f64, &mut f64) {
        match self {
            Limit::DhcpPool => (&mut t.dhcp_pool_warn, &mut t.dhcp_pool_critical),
            Limit::Uplink => (&mut t.uplink_warn, &mut t.uplink_critical),
            Limit::Occupancy => (&mut t.occupancy_warn, &mut t.occupancy_critical),
            Limit::TimeToLease => (&mut t.time_to_lease_warn, &mut t.time_to_lease_critical),
        }
    }

    /// A value as the file writes it: `80` (percent) or `"2s"`.
    fn show(self, value: f64) -> String {
        match self.percent_range() {
            Some(_) => format!("{}", (value * 1000.0).round() / 10.0),
            None => format!("\"{}\"", format_duration(Duration::from_secs_f64(value))),
        }
    }
}

/// Reads the thresholds of `section` (`[thresholds]`, or a zone's `[zone.thresholds]`) over
/// `base`, then checks that each warn is not above its critical once resolved; `inherited`
/// says where the values the section does not set come from.
pub(super) fn read(section: &Section<'_>, base: &Thresholds, inherited: &str) -> Thresholds {
    let mut resolved = base.clone();
    for limit in Limit::ALL {
        let [warn_key, critical_key] = limit.keys();
        let warn = threshold(section, &warn_key, limit);
        let critical = threshold(section, &critical_key, limit);
        let (w, c) = limit.pair(&mut resolved);
        if let Some(v) = &warn {
            *w = v.value;
        }
        if let Some(v) = &critical {
            *c = v.value;
        }
        // A key set to a bad value is reported already; a pair this section does not
        // touch is the base's concern.
        let bad = |key: &str, read: &Option<Spanned<f64>>| section.has(key) && read.is_none();
        if *w <= *c || bad(&warn_key, &warn) || bad(&critical_key, &critical) {
            continue;
        }
        let (w, c) = (*w, *c);
        let Some(span) = warn.map(|v| v.span).or(critical.map(|v| v.span)) else {
            continue;
        };
        let show = |value: f64, key: &str| {
            let value = limit.show(value);
            if section.has(key) {
                value
            } else {
                format!("{value}, {inherited}")
            }
        };
        section.error(
            span,
            format!(
                "{}: {warn_key} ({}) must not be above {critical_key} ({})",
                section.label(),
                show(w, &warn_key),
                show(c, &critical_key)
            ),
        );
    }
    resolved
}

/// One threshold of `section`, as the config keeps it (a ratio or seconds).
fn threshold(section: &Section<'_>, key: &str, limit: Limit) -> Option<Spanned<f64>> {
    match limit.percent_range() {
        Some((max, expected)) => section.field(key, |item| {
            item.as_integer()
                .map(|i| i as f64)
                .or_else(|| item.as_float())
                .filter(|v| (1.0..=max).contains(v))
                .map(|v| v / 100.0)
                .ok_or_else(|| expected.to_string())
        }),
        None => section
            .duration(key, Duration::from_millis(1), Duration::from_secs(60))
            .map(|d| Spanned {
                value: d.value.as_secs_f64(),
                span: d.span,
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::Thresholds;
    use crate::config::testing::{close, ok, one_error};

    #[test]
    fn every_threshold_is_read_in_its_unit() {
        let (config, _) = ok("[thresholds]
dhcp_pool_warn = 70
dhcp_pool_critical = 90.5
uplink_warn = 60
uplink_critical = 85
occupancy_warn = 120
occupancy_critical = 250
time_to_lease_warn = \"500ms\"
time_to_lease_critical = \"3s\"
");
        let t = &config.thresholds;
        for (got, want) in [
            (t.dhcp_pool_warn, 0.70),
            (t.dhcp_pool_critical, 0.905),
            (t.uplink_warn, 0.60),
            (t.uplink_critical, 0.85),
            (t.occupancy_warn, 1.2),
            (t.occupancy_critical, 2.5),
            (t.time_to_lease_warn, 0.5),
            (t.time_to_lease_critical, 3.0),
        ] {
            assert!(close(got, want), "{got} != {want}");
        }
        // The host zone takes them too.
        assert_eq!(config.zones[0].thresholds, config.thresholds);
        let (config, _) = ok("");
        assert_eq!(config.thresholds, Thresholds::default());
    }

    #[test]
    fn bad_threshold_values_name_the_form() {
        let percent = "must be a percentage from 1 to 100";
        let seats = "must be a percentage of seats from 1 to 1000 (150 means 1.5 clients per seat)";
        let duration = "must be a duration like \"5s\"";
        for (line, expected) in [
            ("dhcp_pool_warn = 0", percent),
            ("dhcp_pool_critical = 101", percent),
            ("uplink_warn = \"70%\"", percent),
            ("uplink_critical = -5", percent),
            ("occupancy_warn = 0.5", seats),
            ("occupancy_critical = 1001", seats),
            ("time_to_lease_warn = 2", duration),
            ("time_to_lease_critical = \"fast\"", duration),
        ] {
            let (key, value) = line.split_once(" = ").expect("key = value");
            let error = one_error(&format!("[thresholds]\n{line}\n"));
            let column = key.len() + 4;
            assert!(
                error.starts_with(&format!(
                    "venuemon.toml:2:{column}: [thresholds]: {key} {expected}"
                )),
                "{error}"
            );
            assert!(error.ends_with(&format!("got {value}")), "{error}");
        }
        assert_eq!(
            one_error("[thresholds]\ntime_to_lease_critical = \"5m\"\n"),
            "venuemon.toml:2:26: [thresholds]: time_to_lease_critical must be a duration \
             from 1ms to 1m, got \"5m\""
        );
    }

    #[test]
    fn each_warn_must_not_be_above_its_critical() {
        assert_eq!(
            one_error("[thresholds]\ndhcp_pool_warn = 99\n"),
            "venuemon.toml:2:18: [thresholds]: dhcp_pool_warn (99) must not be above \
             dhcp_pool_critical (95, the default)"
        );
        assert_eq!(
            one_error("[thresholds]\nuplink_warn = 90\nuplink_critical = 80.5\n"),
            "venuemon.toml:2:15: [thresholds]: uplink_warn (90) must not be above \
             uplink_critical (80.5)"
        );
        assert_eq!(
            one_error("[thresholds]\noccupancy_critical = 120\n"),
            "venuemon.toml:2:22: [thresholds]: occupancy_warn (150, the default) must not be \
             above occupancy_critical (120)"
        );
        assert_eq!(
            one_error("[thresholds]\ntime_to_lease_warn = \"6s\"\n"),
            "venuemon.toml:2:22: [thresholds]: time_to_lease_warn (\"6s\") must not be above \
             time_to_lease_critical (\"5s\", the default)"
        );
        // Equal is fine; a bad value is reported once, not compared.
        ok("[thresholds]\nuplink_warn = 80\nuplink_critical = 80\n");
        let error = one_error("[thresholds]\ndhcp_pool_warn = \"x\"\ndhcp_pool_critical = 10\n");
        assert!(
            error.contains("dhcp_pool_warn must be a percentage"),
            "{error}"
        );
    }
}
