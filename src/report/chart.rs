//! The report's charts: inline SVG drawn on the server (devices against seats over the event,
//! with the room's programme on the timeline), so the file needs no script and no request.

use std::fmt::Write;

use super::data::{EventData, SessionData, ZoneData};
use super::words::Words;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Left margin for the value labels, bottom for the times, top for the session titles.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 30.0;
/// Characters of a session title written on the chart (the table has them whole).
const TITLE_CHARS: usize = 28;

/// Escapes text for SVG (XML) content and attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Devices in `zone` over the event, its seats as a dashed line, its sessions as bands.
pub(crate) fn zone_chart(data: &EventData, zone: &ZoneData, words: &Words) -> String {
    let max = zone
        .devices
        .iter()
        .flatten()
        .copied()
        .chain(zone.seats.map(f64::from))
        .fold(1.0_f64, f64::max)
        * 1.1;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let span = (data.step * data.steps as i64).max(1) as f64;
    let x = |t: i64| LEFT + ((t - data.from) as f64 / span).clamp(0.0, 1.0) * plot_w;
    let y = |v: f64| TOP + plot_h - (v / max).clamp(0.0, 1.0) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(&format!(
            "{} — {}",
            zone.name,
            words.pick("appareils connectés", "devices connected")
        ))
    );
    let sessions: Vec<&SessionData> = data.sessions.iter().filter(|s| s.zone == zone.id).collect();
    for (n, s) in sessions.iter().enumerate() {
        let (x0, x1) = (x(s.starts), x(s.ends));
        let _ = write!(
            svg,
            r#"<rect class="session" x="{x0:.1}" y="{TOP}" width="{:.1}" height="{plot_h}"><title>{}</title></rect>"#,
            (x1 - x0).max(1.0),
            escape(&s.title)
        );
        let title: String = s.title.chars().take(TITLE_CHARS).collect();
        let ellipsis = if s.title.chars().count() > TITLE_CHARS {
            "…"
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<text class="session-title" x="{:.1}" y="{}">{}{ellipsis}</text>"#,
            x0 + 2.0,
            if n % 2 == 0 { TOP - 16.0 } else { TOP - 4.0 },
            escape(&title)
        );
    }
    // Axes: zero and the top value, and up to eight times of day.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/><text class="label" x="{2}" y="{0:.1}" text-anchor="end">0</text><text class="label" x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"#,
        TOP + plot_h,
        LEFT + plot_w,
        LEFT - 4.0,
        TOP + 8.0,
        words.count(max)
    );
    let hours = (span / 3600.0).ceil().max(1.0) as i64;
    let every = (hours / 8 + 1) * 3600;
    let mut tick = data.from - data.from.rem_euclid(3600) + 3600;
    while tick < data.to() {
        let _ = write!(
            svg,
            r#"<text class="label" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(tick),
            HEIGHT - 6.0,
            words.clock(tick)
        );
        tick += every;
    }
    if let Some(seats) = zone.seats {
        let yy = y(f64::from(seats));
        let _ = write!(
            svg,
            r#"<line class="seats" x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}"/><text class="label seats-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT + plot_w,
            LEFT + plot_w,
            yy - 3.0,
            escape(&format!(
                "{} {}",
                words.count(f64::from(seats)),
                words.pick("places", "seats")
            ))
        );
    }
    // Runs of consecutive minutes with a value: a line each, a dot for a lone minute.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, v) in zone.devices.iter().enumerate() {
        match v.filter(|v| v.is_finite()) {
            Some(v) => runs
                .last_mut()
                .expect("runs starts with one")
                .push((x(data.time(i)), y(v))),
            None if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(Vec::new()),
            None => {}
        }
    }
    let mut d = String::new();
    for run in &runs {
        match run.as_slice() {
            [] => {}
            [(px, py)] => {
                let _ = write!(
                    svg,
                    r#"<circle class="point" cx="{px:.1}" cy="{py:.1}" r="3"/>"#
                );
            }
            [(x0, y0), rest @ ..] => {
                let _ = write!(d, "M{x0:.1} {y0:.1}");
                for (px, py) in rest {
                    let _ = write!(d, "L{px:.1} {py:.1}");
                }
            }
        }
    }
    if !d.is_empty() {
        let _ = write!(svg, r#"<path class="devices" d="{d}"/>"#);
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;

    #[test]
    fn titles_are_escaped_and_gaps_break_the_line() {
        let data = EventData {
            from: 0,
            step: 60,
            steps: 7,
            zones: vec![ZoneData {
                id: "a".into(),
                name: "A".into(),
                seats: Some(10),
                devices: vec![Some(1.0), None, Some(3.0), Some(4.0), None, None, Some(2.0)],
                ..ZoneData::default()
            }],
            sessions: vec![SessionData {
                title: "<script>x</script> & \"more\"".into(),
                zone: "a".into(),
                starts: 60,
                ends: 120,
            }],
            ..EventData::default()
        };
        let words = Words::new(Language::En, jiff::tz::TimeZone::UTC);
        let svg = zone_chart(&data, &data.zones[0], &words);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;more&quot;"));
        assert_eq!(svg.matches('M').count(), 1, "one line: {svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "two lone minutes: {svg}");
        assert!(svg.contains("10 seats"));
    }
}
