//! The report's charts: inline SVG drawn on the server (devices against seats over the event,
//! with the room's programme on the timeline), so the file needs no script and no request.

use std::fmt::Write;

use super::data::{EventData, SessionData, ZoneData};
use super::words::Words;

const WIDTH: f64 = 720.0;
/// Height of the plot itself: the chart is this, the bottom margin and one row per line of
/// session titles above.
const PLOT_HEIGHT: f64 = 168.0;
/// Left margin for the value labels, bottom for the times.
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 22.0;
/// The top margin holds at least this, and a row of session titles per `ROW` pixels.
const TOP: f64 = 30.0;
const ROW: f64 = 12.0;
/// Characters of a session title written on the chart (the table has them whole).
const TITLE_CHARS: usize = 28;
/// Width of a character of the 10 px chart font, rounded up (wide letters included), and
/// the space left between two labels of a row, to lay labels out without a browser.
pub(crate) const CHAR_WIDTH: f64 = 6.0;
pub(crate) const LABEL_GAP: f64 = 6.0;
/// Rows of session titles above a chart; past this, sessions are numbered on the chart and
/// named in a key under it.
const MAX_ROWS: usize = 3;

/// A zone's chart and, when its sessions were too close to be titled on it, the key to
/// their numbers (number, title).
pub(crate) struct Chart {
    pub(crate) svg: String,
    pub(crate) key: Vec<(usize, String)>,
}

/// A label above the chart: its text, left edge and row.
struct Label {
    text: String,
    x: f64,
    row: usize,
}

/// Lays `texts` (each wanted at its left edge `x`) out in rows, each label in the first row
/// where it clears the previous one, none past `right`.
fn rows(texts: Vec<(String, f64)>, right: f64) -> Vec<Label> {
    let mut ends: Vec<f64> = Vec::new();
    texts
        .into_iter()
        .map(|(text, x)| {
            let width = text.chars().count() as f64 * CHAR_WIDTH;
            let x = x.min(right - width).max(0.0);
            let row = ends
                .iter()
                .position(|end| end + LABEL_GAP <= x)
                .unwrap_or(ends.len());
            if row == ends.len() {
                ends.push(x + width);
            } else {
                ends[row] = x + width;
            }
            Label { text, x, row }
        })
        .collect()
}

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

/// The value axis' top for counts up to `value`: the first multiple of a round step (1, 2, 2.5 or
/// 5 × 10^n, whole numbers only) at or above `value`, with the step about a fifth of it, so the
/// label reads 400 rather than 356.
fn axis_max(value: f64) -> f64 {
    let target = (value / 5.0).max(1.0);
    let mut scale = 1.0_f64;
    loop {
        for step in [1.0, 2.0, 2.5, 5.0] {
            let step = step * scale;
            if step.fract() == 0.0 && step >= target {
                return (value / step).ceil().max(1.0) * step;
            }
        }
        scale *= 10.0;
    }
}

/// Devices in `zone` over the event, its seats as a dashed line, its sessions as bands
/// titled above the chart (numbered, with a key, when titles would take too many rows).
pub(crate) fn zone_chart(data: &EventData, zone: &ZoneData, words: &Words) -> Chart {
    let max = zone
        .devices
        .iter()
        .flatten()
        .copied()
        .chain(zone.seats.map(f64::from))
        .fold(1.0_f64, f64::max);
    let max = axis_max(max * 1.1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = PLOT_HEIGHT;
    let span = (data.step * data.steps as i64).max(1) as f64;
    let x = |t: i64| LEFT + ((t - data.from) as f64 / span).clamp(0.0, 1.0) * plot_w;
    let sessions: Vec<&SessionData> = data.sessions.iter().filter(|s| s.zone == zone.id).collect();
    let titled = rows(
        sessions
            .iter()
            .map(|s| {
                let title: String = s.title.chars().take(TITLE_CHARS).collect();
                let ellipsis = if s.title.chars().count() > TITLE_CHARS {
                    "…"
                } else {
                    ""
                };
                (format!("{title}{ellipsis}"), x(s.starts) + 2.0)
            })
            .collect(),
        WIDTH,
    );
    let numbered = titled.iter().any(|l| l.row >= MAX_ROWS);
    let labels = if numbered {
        rows(
            sessions
                .iter()
                .enumerate()
                .map(|(n, s)| ((n + 1).to_string(), x(s.starts) + 2.0))
                .collect(),
            WIDTH,
        )
    } else {
        titled
    };
    let key = if numbered {
        sessions
            .iter()
            .enumerate()
            .map(|(n, s)| (n + 1, s.title.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let top = labels
        .iter()
        .map(|l| (l.row + 1) as f64 * ROW + 6.0)
        .fold(TOP, f64::max);
    let height = top + plot_h + BOTTOM;
    let y = |v: f64| top + plot_h - (v / max).clamp(0.0, 1.0) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(&format!(
            "{} — {}",
            zone.name,
            words.pick("appareils connectés", "devices connected")
        ))
    );
    for s in &sessions {
        let (x0, x1) = (x(s.starts), x(s.ends));
        let _ = write!(
            svg,
            r#"<rect class="session" x="{x0:.1}" y="{top}" width="{:.1}" height="{plot_h}"><title>{}</title></rect>"#,
            (x1 - x0).max(1.0),
            escape(&s.title)
        );
    }
    for label in &labels {
        let _ = write!(
            svg,
            r#"<text class="session-title" x="{:.1}" y="{}">{}</text>"#,
            label.x,
            top - 4.0 - label.row as f64 * ROW,
            escape(&label.text)
        );
    }
    // Axes: zero and the top value, and up to eight times of day.
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}"/><text class="label" x="{2}" y="{0:.1}" text-anchor="end">0</text><text class="label" x="{2}" y="{3:.1}" text-anchor="end">{4}</text>"#,
        top + plot_h,
        LEFT + plot_w,
        LEFT - 4.0,
        top + 8.0,
        words.count(max)
    );
    // Whole hours of the venue's clock, a divisor of a day apart so that each day shows the
    // same hours, at most eight; midnight is written as the day it starts.
    let hours = (span / 3600.0).ceil().max(1.0) as i64;
    let every = [1, 2, 3, 4, 6, 12, 24]
        .into_iter()
        .find(|h| hours / h <= 8)
        .unwrap_or(24 * (hours / (24 * 8) + 1))
        * 3600;
    let local = data.from + words.offset(data.from);
    let mut tick = data.from + every - local.rem_euclid(every);
    while tick < data.to() {
        let label = if (tick + words.offset(tick)).rem_euclid(86_400) == 0 {
            words.date(tick)
        } else {
            words.clock(tick)
        };
        let _ = write!(
            svg,
            r#"<text class="label" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(tick),
            height - 6.0,
            label
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
    Chart { svg, key }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Language;

    /// The box of each session label of `svg`: left, baseline, right (from its x and its
    /// text's length, as [`rows`] lays them out).
    fn label_boxes(svg: &str) -> Vec<(f64, f64, f64, String)> {
        svg.split(r#"<text class="session-title" x=""#)
            .skip(1)
            .map(|rest| {
                let (x, rest) = rest.split_once(r#"" y=""#).expect("y");
                let (y, rest) = rest.split_once(r#"">"#).expect("text");
                let (text, _) = rest.split_once("</text>").expect("end");
                let text = text
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'");
                let x: f64 = x.parse().expect("x");
                let right = x + text.chars().count() as f64 * CHAR_WIDTH;
                (x, y.parse().expect("y"), right, text)
            })
            .collect()
    }

    fn assert_apart(boxes: &[(f64, f64, f64, String)]) {
        for (i, a) in boxes.iter().enumerate() {
            assert!(a.0 >= 0.0 && a.2 <= WIDTH + 0.05, "{a:?} off the chart");
            for b in &boxes[i + 1..] {
                // 10 px text: boxes of two rows (12 px apart) never meet.
                let same_row = (a.1 - b.1).abs() < 10.0;
                let apart = a.2 <= b.0 || b.2 <= a.0;
                assert!(!same_row || apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    fn room(hours: usize, sessions: Vec<SessionData>) -> EventData {
        EventData {
            from: 0,
            step: 60,
            steps: hours * 60,
            zones: vec![ZoneData {
                id: "a".into(),
                name: "A".into(),
                devices: vec![Some(5.0); hours * 60],
                ..ZoneData::default()
            }],
            sessions,
            ..EventData::default()
        }
    }

    fn session(title: &str, starts: i64, minutes: i64) -> SessionData {
        SessionData {
            title: title.into(),
            zone: "a".into(),
            starts,
            ends: starts + minutes * 60,
        }
    }

    /// Regression: the titles of sessions starting close together were drawn over each
    /// other in the room's chart.
    #[test]
    fn session_titles_starting_close_together_never_overlap() {
        let titles = [
            "Keynote: the state of the network",
            "Q&A",
            "Lightning talks",
            "Break",
            "Workshop <A>",
            "Closing the day at the very end of the chart",
        ];
        // Four hours: a quarter of an hour is 42 px, a 28-character title 168.
        let sessions = titles[..5]
            .iter()
            .enumerate()
            .map(|(n, t)| session(t, n as i64 * 900, 30))
            .chain([session(titles[5], 14_000, 5), session("Last", 14_300, 1)])
            .collect();
        let data = room(4, sessions);
        let words = Words::new(Language::Fr, jiff::tz::TimeZone::UTC);
        let chart = zone_chart(&data, &data.zones[0], &words);
        let boxes = label_boxes(&chart.svg);
        assert_eq!(boxes.len(), titles.len() + 1, "{}", chart.svg);
        assert!(chart.key.is_empty(), "three rows hold them: {boxes:?}");
        assert!(boxes.iter().any(|b| b.3 == "Workshop <A>"));
        assert_apart(&boxes);
        // The chart grew to hold its rows of titles above the plot.
        let rows = boxes
            .iter()
            .map(|b| b.1 as i64)
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(rows.len(), 3, "{boxes:?}");
        assert!(
            chart.svg.contains(r#"viewBox="0 0 720 232""#),
            "{}",
            chart.svg
        );
    }

    #[test]
    fn sessions_too_close_for_their_titles_are_numbered_with_a_key() {
        // Three days, a session every hour: 72 titles would not fit in three rows.
        let sessions = (0..72)
            .map(|n| session(&format!("Session {n}"), n * 3600, 50))
            .collect();
        let data = room(72, sessions);
        let words = Words::new(Language::En, jiff::tz::TimeZone::UTC);
        let chart = zone_chart(&data, &data.zones[0], &words);
        let boxes = label_boxes(&chart.svg);
        assert_eq!(chart.key.len(), 72);
        assert_eq!(chart.key[9], (10, "Session 9".to_string()));
        assert_eq!(boxes.len(), 72);
        assert_eq!(boxes[9].3, "10");
        assert_apart(&boxes);
    }

    #[test]
    fn the_hours_are_the_venues_own() {
        let data = room(3, Vec::new());
        let kolkata = jiff::tz::TimeZone::fixed(
            jiff::tz::Offset::from_seconds(5 * 3600 + 1800).expect("offset"),
        );
        let chart = zone_chart(&data, &data.zones[0], &Words::new(Language::En, kolkata));
        // From 05:30 local: whole local hours, not whole UTC hours.
        assert!(chart.svg.contains(">06:00<"), "{}", chart.svg);
        assert!(!chart.svg.contains(">06:30<"), "{}", chart.svg);
        // Three days: every twelve hours, each midnight as its day.
        let data = room(72, Vec::new());
        let fr = Words::new(Language::Fr, jiff::tz::TimeZone::UTC);
        let svg = zone_chart(&data, &data.zones[0], &fr).svg;
        let labels: Vec<&str> = svg
            .split(r#"text-anchor="middle">"#)
            .skip(1)
            .filter_map(|t| t.split_once('<').map(|(label, _)| label))
            .collect();
        assert_eq!(
            labels,
            ["12:00", "2 janvier", "12:00", "3 janvier", "12:00"]
        );
    }

    #[test]
    fn axis_top_is_a_round_number_not_the_peak_plus_a_tenth() {
        // A peak of 324 devices was labelled 356.
        assert_eq!(axis_max(324.0 * 1.1), 400.0);
        assert_eq!(axis_max(1.1), 2.0);
        assert_eq!(axis_max(11.0), 15.0);
        assert_eq!(axis_max(104.5), 125.0);
        assert_eq!(axis_max(1_320.0), 1_500.0);
        let mut data = room(3, Vec::new());
        data.zones[0].devices = vec![Some(324.0); data.steps];
        data.zones[0].seats = None;
        let svg = zone_chart(
            &data,
            &data.zones[0],
            &Words::new(Language::En, jiff::tz::TimeZone::UTC),
        )
        .svg;
        assert!(svg.contains(r#"text-anchor="end">400<"#), "{svg}");
        assert!(!svg.contains(">356<"), "{svg}");
    }

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
        let svg = zone_chart(&data, &data.zones[0], &words).svg;
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt; &amp; &quot;more&quot;"));
        assert_eq!(svg.matches('M').count(), 1, "one line: {svg}");
        assert_eq!(svg.matches("<circle").count(), 2, "two lone minutes: {svg}");
        assert!(svg.contains("10 seats"));
    }
}
