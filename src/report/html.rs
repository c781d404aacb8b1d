//! The report as one self-contained HTML file: inline CSS and SVG, no script, no request,
//! printable on A4. Values are worded here (see `words`); the template lays them out.

use askama::Template;

use super::Report;
use super::chart;
use super::compare::Change;
use super::figures::overlap_seconds;
use super::figures::{HELD, Peak, Plateau, Recommendation};
use super::words::{Names, Words};

/// A label, a value and an optional note under it.
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) note: String,
}

/// A zone's part.
pub(crate) struct ZoneView {
    pub(crate) anchor: String,
    pub(crate) name: String,
    pub(crate) chart: String,
    /// The sessions numbered on the chart, when their titles did not fit on it.
    pub(crate) key: String,
    pub(crate) rows: Vec<Row>,
}

/// A recommendation and where its figure is.
pub(crate) struct Advice {
    pub(crate) text: String,
    pub(crate) figure: String,
    pub(crate) anchor: String,
}

/// One venue's report (or the one across venues).
pub(crate) struct Section {
    pub(crate) anchor: String,
    pub(crate) venue: String,
    pub(crate) period: String,
    pub(crate) time_zone: String,
    pub(crate) period_note: String,
    pub(crate) headline: Vec<Row>,
    pub(crate) status: Vec<[String; 3]>,
    pub(crate) zones: Vec<ZoneView>,
    pub(crate) drivers: String,
    /// What became of the programme (none given, not read, rooms not held), if anything.
    pub(crate) programme: String,
    pub(crate) sessions: Vec<[String; 6]>,
    pub(crate) incidents: Vec<[String; 4]>,
    pub(crate) advice: Vec<Advice>,
    pub(crate) comparison: Vec<[String; 4]>,
    pub(crate) compared_note: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    w: &'a Words,
    title: String,
    sections: Vec<Section>,
}

/// The HTML file for `reports` (one per venue), in `words`' language.
pub(crate) fn render(reports: &[Report], words: &Words) -> String {
    let title = match reports {
        [one] => format!(
            "{} — {}",
            words.pick("Bilan du réseau", "Network report"),
            one.figures.venue
        ),
        _ => words.pick("Bilan du réseau", "Network report").to_string(),
    };
    let page = Page {
        w: words,
        title,
        sections: reports
            .iter()
            .enumerate()
            .map(|(n, r)| section(n, r, words))
            .collect(),
    };
    page.render()
        .unwrap_or_else(|e| format!("<p>template error: {}</p>", chart::escape(&e.to_string())))
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn section(n: usize, report: &Report, w: &Words) -> Section {
    let f = &report.figures;
    let data = &report.data;
    let anchor = format!("v{n}");
    let names = Names::of(report);
    let at = |p: i64| w.time(p);
    let dash = || "—".to_string();
    let h = &f.headline;
    let mut headline = vec![Row {
        label: w
            .pick(
                "Appareils connectés en même temps, au plus",
                "Most devices connected at once",
            )
            .into(),
        value: h.peak_devices.map_or_else(dash, |p| w.count(p.value)),
        note: h
            .peak_devices
            .map_or_else(String::new, |p| peak_held(p, h.peak_devices_held, w)),
    }];
    if let Some(u) = h.unique {
        headline.push(Row {
            label: w.pick("Appareils différents sur tout l'événement (estimation)", "Different devices over the whole event (estimate)").into(),
            value: w.count(u.devices),
            note: match u.randomized_share {
                Some(share) => format!(
                    "{} {}",
                    w.percent(share),
                    w.pick(
                        "avec une adresse aléatoire\u{a0}: les téléphones récents en changent d'un réseau ou d'un jour à l'autre, une personne peut donc compter pour plusieurs appareils.",
                        "with a random address: recent phones change it between networks or days, so one person can count as several devices."
                    )
                ),
                None => w.pick(
                    "Les téléphones récents changent d'adresse d'un réseau ou d'un jour à l'autre\u{a0}: une personne peut compter pour plusieurs appareils.",
                    "Recent phones change their address between networks or days: one person can count as several devices.",
                ).into(),
            },
        });
    }
    headline.push(Row {
        label: w
            .pick(
                "Données échangées par les participants",
                "Data exchanged by attendees",
            )
            .into(),
        value: w.bytes(h.traffic_bytes),
        note: h.traffic_per_attendee_bytes.map_or_else(String::new, |b| {
            format!(
                "{} {}",
                w.bytes(b),
                w.pick("par participant", "per attendee")
            )
        }),
    });
    headline.push(Row {
        label: w
            .pick(
                "Lien le plus chargé, au plus fort",
                "Busiest link at its busiest",
            )
            .into(),
        value: h.uplink_peak.map_or_else(dash, |p| w.percent(p.value)),
        note: h
            .uplink_peak
            .map_or_else(String::new, |p| match &h.uplink_peak_interface {
                Some(link) => format!(
                    "{} {}, {} {}",
                    w.pick("de la capacité du lien", "of the capacity of link"),
                    names.link(link),
                    w.pick("le", "on"),
                    at(p.at)
                ),
                None => format!(
                    "{} {}",
                    w.pick("de sa capacité, le", "of its capacity, on"),
                    at(p.at)
                ),
            }),
    });
    headline.push(Row {
        label: w
            .pick(
                "Charge du lien le plus chargé, dépassée seulement 5\u{202f}% du temps",
                "Load of the busiest link, exceeded only 5\u{202f}% of the time",
            )
            .into(),
        value: h.uplink_p95.map_or_else(dash, |v| w.percent(v)),
        note: w
            .pick(
                "(95e centile, minute par minute)",
                "(95th percentile, minute by minute)",
            )
            .into(),
    });
    headline.push(Row {
        label: w
            .pick("Temps avec un lien saturé", "Time with a saturated link")
            .into(),
        value: w.minutes(h.uplink_saturated_minutes),
        note: String::new(),
    });
    headline.push(Row {
        label: w
            .pick(
                "Adresses encore libres, au plus bas",
                "Addresses still free, at the lowest",
            )
            .into(),
        value: h
            .min_headroom
            .as_ref()
            .map_or_else(dash, |m| w.of(m.free, m.size)),
        note: h.min_headroom.as_ref().map_or_else(String::new, |m| {
            format!(
                "{} {}, {} {}",
                w.pick("dans", "in"),
                w.pool(&m.pool, &names),
                w.pick("le", "on"),
                at(m.at)
            )
        }),
    });
    let status = h
        .status_share
        .iter()
        .map(|s| {
            [
                names.zone(&s.zone),
                w.percent(s.warn),
                w.percent(s.critical),
            ]
        })
        .collect();
    let zones = f
        .zones
        .iter()
        .zip(&data.zones)
        .map(|(z, zd)| {
            let mut rows = vec![Row {
                label: w.pick("Appareils au plus", "Most devices").into(),
                value: z.peak.map_or_else(dash, |p| w.count(p.value)),
                note: z.peak.map_or_else(String::new, |p| {
                    format!("{} {}", w.pick("le", "on"), at(p.at))
                }),
            }];
            if let (Some(seats), Some(ratio)) = (z.seats, z.peak_seat_ratio) {
                rows.push(Row {
                    label: w
                        .pick("Appareils par place, au plus", "Devices per seat, at most")
                        .into(),
                    value: w.ratio(ratio),
                    // The threshold the access-point advice follows, as on the status page.
                    note: format!(
                        "{} {}{} {}",
                        w.count(f64::from(seats)),
                        w.pick("places", "seats"),
                        w.pick("\u{a0}; alerte à partir de", "; alert from"),
                        w.per_seat(zd.occupancy_warn)
                    ),
                });
            }
            if !z.bands.is_empty() {
                rows.push(Row {
                    label: w
                        .pick("Répartition par bande radio", "Split by radio band")
                        .into(),
                    value: z
                        .bands
                        .iter()
                        .map(|(b, s)| format!("{} {}", w.band(b), w.percent(*s)))
                        .collect::<Vec<_>>()
                        .join(" · "),
                    note: String::new(),
                });
            }
            rows.push(Row {
                label: w
                    .pick("Temps avec un lien saturé", "Time with a saturated link")
                    .into(),
                value: w.minutes(z.saturated_minutes),
                note: String::new(),
            });
            if let Some(m) = &z.min_headroom {
                rows.push(Row {
                    label: w
                        .pick(
                            "Adresses encore libres, au plus bas",
                            "Addresses still free, at the lowest",
                        )
                        .into(),
                    value: w.of(m.free, m.size),
                    note: format!("{} {}", w.pick("le", "on"), at(m.at)),
                });
            }
            let chart = chart::zone_chart(data, zd, w);
            ZoneView {
                anchor: format!("{anchor}-zone-{}", slug(&z.id)),
                name: z.name.clone(),
                chart: chart.svg,
                key: chart
                    .key
                    .iter()
                    .map(|(n, title)| format!("{n}\u{a0}{}", w.quoted(title)))
                    .collect::<Vec<_>>()
                    .join(" · "),
                rows,
            }
        })
        .collect();
    let drivers: Vec<String> = f
        .sessions
        .iter()
        .filter(|s| s.drove_event_peak)
        .map(|s| format!("{} ({})", w.quoted(&s.title), names.zone(&s.zone)))
        .collect();
    let drivers = match (h.peak_devices, drivers.is_empty()) {
        (Some(p), false) => format!(
            "{} {} ({} {}){} {}",
            w.pick("Au moment du pic, le", "At the peak, on"),
            at(p.at),
            w.count(p.value),
            w.pick("appareils", "devices"),
            w.pick("\u{a0}:", ":"),
            drivers.join(", ")
        ),
        _ => String::new(),
    };
    let sessions = f
        .sessions
        .iter()
        .map(|s| {
            [
                s.title.clone(),
                names.zone(&s.zone),
                w.span(s.starts, s.ends),
                s.peak.map_or_else(dash, |p| w.count(p.value)),
                s.seats_filled.map_or_else(dash, |r| w.ratio(r)),
                f.sessions
                    .iter()
                    .filter(|o| {
                        o.zone == s.zone
                            && s.overlaps.contains(&o.title)
                            && overlap_seconds((s.starts, s.ends), (o.starts, o.ends)) > 0
                    })
                    .map(|o| {
                        w.overlap(
                            &o.title,
                            overlap_seconds((s.starts, s.ends), (o.starts, o.ends)),
                            (s.starts, s.ends) == (o.starts, o.ends),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let incidents = f
        .incidents
        .iter()
        .map(|i| {
            [
                w.incident(&i.kind, &names),
                at(i.starts),
                at(i.ends),
                w.duration(i.seconds()),
            ]
        })
        .collect();
    let advice = f
        .recommendations
        .iter()
        .map(|r| Advice {
            text: w.recommendation(r, &names),
            figure: w.figure(r).into(),
            anchor: match r {
                Recommendation::MoreAccessPoints { zone, .. }
                | Recommendation::MoreUplink { zone, .. } => {
                    format!("{anchor}-zone-{}", slug(zone))
                }
                Recommendation::WidenPool { pool, .. } => data
                    .pools
                    .iter()
                    .find(|p| &p.name == pool)
                    .and_then(|p| p.zone.as_ref())
                    .map_or_else(
                        || format!("{anchor}-headline"),
                        |z| format!("{anchor}-zone-{}", slug(z)),
                    ),
                Recommendation::MoreSharedUplink { .. } => format!("{anchor}-headline"),
                Recommendation::SeparateSessions { .. } => format!("{anchor}-sessions"),
                Recommendation::FixSource { .. } => format!("{anchor}-incidents"),
            },
        })
        .collect();
    Section {
        period: w.period(f.from, f.to),
        time_zone: w.time_zone(f.from),
        period_note: report.period_note.clone(),
        anchor,
        venue: f.venue.clone(),
        headline,
        status,
        zones,
        drivers,
        programme: w.programme(&report.programme),
        sessions,
        incidents,
        advice,
        comparison: comparison(&report.comparison, w),
        compared_note: report
            .compared
            .map_or_else(String::new, |c| super::compare::note((f.from, f.to), c, w)),
    }
}

/// When the most devices at once were there: the minute, or when it was first reached and
/// until when it was held, and how many times it was reached.
fn peak_held(peak: Peak, held: Option<Plateau>, w: &Words) -> String {
    let Some(held) = held else {
        return format!("{} {}", w.pick("le", "on"), w.time(peak.at));
    };
    let mut note = if held.times_reached > 1 {
        format!(
            "{} {} {}, {} {}",
            w.pick("atteint", "reached"),
            held.times_reached,
            w.pick("fois", "times"),
            w.pick("la première le", "first on"),
            w.time(peak.at)
        )
    } else {
        format!(
            "{} {}",
            w.pick("atteint pour la première fois le", "first reached on"),
            w.time(peak.at)
        )
    };
    if held.held_until - peak.at >= HELD {
        let (until, time) = if w.date(held.held_until - 1) == w.date(peak.at) {
            (
                w.pick("et maintenu jusqu'à", "and held until"),
                w.clock(held.held_until),
            )
        } else {
            (
                w.pick("et maintenu jusqu'au", "and held until"),
                w.time(held.held_until),
            )
        };
        note.push_str(&format!(" {until} {time}"));
    }
    note
}

fn comparison(changes: &[Change], w: &Words) -> Vec<[String; 4]> {
    changes
        .iter()
        .map(|c| {
            let show = |v: Option<f64>| match v {
                None => "—".to_string(),
                Some(v) => match c.figure.as_str() {
                    "traffic_bytes" | "traffic_per_attendee_bytes" => w.bytes(v),
                    key if is_share(key) => w.percent(v),
                    "uplink_saturated_minutes" => w.minutes(v.max(0.0) as u64),
                    _ => w.count(v),
                },
            };
            let change = if is_share(&c.figure) {
                c.current
                    .zip(c.previous)
                    .map(|(now, then)| w.points(now - then))
            } else {
                c.change.map(|r| {
                    let sign = if r > 0.0 { "+" } else { "" };
                    format!("{sign}{}", w.percent(r))
                })
            };
            [
                figure_name(&c.figure, w).to_string(),
                show(c.previous),
                show(c.current),
                change.unwrap_or_else(|| "—".into()),
            ]
        })
        .collect()
}

/// A headline figure that is a share (0..=1): its change is in percentage points.
fn is_share(key: &str) -> bool {
    matches!(key, "randomized_share" | "uplink_peak" | "uplink_p95")
}

/// A headline figure's name by its comparison key.
fn figure_name(key: &str, w: &Words) -> &'static str {
    match key {
        "peak_devices" => w.pick("Appareils en même temps, au plus", "Most devices at once"),
        "unique_devices" => w.pick("Appareils différents", "Different devices"),
        "randomized_share" => w.pick("Part d'adresses aléatoires", "Share of random addresses"),
        "traffic_bytes" => w.pick("Données échangées", "Data exchanged"),
        "traffic_per_attendee_bytes" => w.pick("Données par participant", "Data per attendee"),
        "uplink_peak" => w.pick("Lien le plus chargé", "Busiest link"),
        "uplink_p95" => w.pick(
            "Charge des liens (95e centile)",
            "Link load (95th percentile)",
        ),
        "uplink_saturated_minutes" => w.pick("Temps de lien saturé", "Time with a saturated link"),
        "min_headroom_free" => w.pick("Adresses libres au plus bas", "Fewest free addresses"),
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;

    /// Regression: the share of random addresses going from 50 % to 61 % read "+22 %", a
    /// change relative to itself; a share moves by points, a count by percent.
    #[test]
    fn share_changes_are_in_points_and_count_changes_in_percent() {
        let change = |figure: &str, previous: f64, current: f64| Change {
            figure: figure.into(),
            previous: Some(previous),
            current: Some(current),
            change: Some((current - previous) / previous),
        };
        let changes = [
            change("randomized_share", 0.5, 0.61),
            change("uplink_peak", 0.9, 0.85),
            change("peak_devices", 200.0, 250.0),
        ];
        let en = comparison(&changes, &Words::new(Language::En, jiff::tz::TimeZone::UTC));
        assert_eq!(
            en[0][1..],
            ["50\u{202f}%", "61\u{202f}%", "+11\u{a0}points"]
        );
        assert_eq!(en[1][3], "-5\u{a0}points");
        assert_eq!(en[2][3], "+25\u{202f}%");
        let fr = comparison(&changes, &Words::new(Language::Fr, jiff::tz::TimeZone::UTC));
        assert_eq!(fr[0][3], "+11\u{a0}points");
    }

    /// Regression: the peak said "on 2 June at 09:00" while it held until 17:00.
    #[test]
    fn regression_a_held_peak_says_when_it_was_first_reached_and_until_when() {
        let utc = jiff::tz::TimeZone::UTC;
        let en = Words::new(Language::En, utc.clone());
        let fr = Words::new(Language::Fr, utc);
        // 2 June 2026 09:00 UTC.
        let at = 1_780_390_800;
        let peak = Peak { value: 360.0, at };
        let held = |until: i64, times: usize| {
            Some(Plateau {
                held_until: until,
                times_reached: times,
            })
        };
        assert_eq!(peak_held(peak, None, &en), "on 2 June at 09:00");
        let day = held(at + 8 * 3600, 1);
        assert_eq!(
            peak_held(peak, day, &en),
            "first reached on 2 June at 09:00 and held until 17:00"
        );
        assert_eq!(
            peak_held(peak, day, &fr),
            "atteint pour la première fois le 2 juin à 09:00 et maintenu jusqu'à 17:00"
        );
        assert_eq!(
            peak_held(peak, held(at + 60, 3), &en),
            "reached 3 times, first on 2 June at 09:00"
        );
        assert_eq!(
            peak_held(peak, held(at + 20 * 3600, 2), &fr),
            "atteint 2 fois, la première le 2 juin à 09:00 et maintenu jusqu'au 3 juin à 05:00"
        );
    }
}
