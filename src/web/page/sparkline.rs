//! Sparklines drawn on the server: an SVG path over the last hour, so the page needs no
//! script or library to show a trend.

use crate::hub::recent::{BUCKET_SECONDS, BUCKETS};

/// Drawing area of every sparkline, in SVG user units (the CSS scales it).
pub const WIDTH: f64 = 240.0;
/// Height of the drawing area.
pub const HEIGHT: f64 = 40.0;

/// The `d` attribute of a path through `values` (one per bucket, `(unix seconds, value)`),
/// placed on an hour ending at `now`, scaled so that `top` (at least) reaches the top. A
/// missing value or a missing bucket breaks the line. None while the hour holds fewer than
/// two points: too little to show a trend (the page says it is still collecting).
pub fn path(values: &[(u64, Option<f64>)], now: u64, top: f64) -> Option<String> {
    let span = (BUCKET_SECONDS * BUCKETS as u64) as f64;
    let start = now.saturating_sub(span as u64);
    let top = values
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(top, f64::max)
        .max(f64::MIN_POSITIVE);
    // Runs of consecutive buckets, each drawn as one line.
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut previous: Option<u64> = None;
    for (at, value) in values {
        let Some(value) = value.filter(|v| v.is_finite()).filter(|_| *at >= start) else {
            previous = None;
            continue;
        };
        let x = (*at - start) as f64 / span * WIDTH;
        let y = HEIGHT - (value / top).clamp(0.0, 1.0) * (HEIGHT - 2.0) - 1.0;
        match runs.last_mut() {
            Some(run) if previous.is_some_and(|p| at.saturating_sub(p) <= BUCKET_SECONDS) => {
                run.push((x, y));
            }
            _ => runs.push(vec![(x, y)]),
        }
        previous = Some(*at);
    }
    if runs.iter().map(Vec::len).sum::<usize>() < 2 {
        return None;
    }
    let mut d = Vec::new();
    for run in runs {
        for (i, (x, y)) in run.iter().enumerate() {
            d.push(format!("{}{x:.1} {y:.1}", if i == 0 { 'M' } else { 'L' }));
        }
        if run.len() == 1 {
            // A lone point still shows: a short horizontal stroke.
            d.push("h0.5".to_string());
        }
    }
    Some(d.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_at_gaps_and_scale_to_the_top() {
        let now = 10_000;
        let values = [
            (now - 120, Some(0.5)),
            (now - 90, Some(1.0)),
            (now - 60, None),
            (now - 30, Some(0.0)),
        ];
        let d = path(&values, now, 1.0).expect("three points");
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
        assert!(d.contains("L234.0 1.0"), "1.0 is at the top: {d}");
        assert!(d.ends_with("M238.0 39.0 h0.5"), "0 at the bottom: {d}");
        // Counts scale to their own maximum.
        let d = path(&[(now - 30, Some(50.0)), (now, Some(25.0))], now, 1.0).expect("two");
        assert!(d.starts_with("M238.0 1.0"), "{d}");
        // Points older than an hour are left out.
        assert_eq!(
            path(&[(now - 7200, Some(1.0)), (now, Some(1.0))], now, 1.0),
            None
        );
    }

    #[test]
    fn fewer_than_two_points_draw_nothing_not_a_dash() {
        let now = 10_000;
        assert_eq!(path(&[], now, 1.0), None);
        assert_eq!(path(&[(now, Some(0.5))], now, 1.0), None);
        assert_eq!(
            path(&[(now - 30, Some(f64::NAN)), (now, Some(0.5))], now, 1.0),
            None
        );
        assert_eq!(path(&[(now - 30, None), (now, Some(0.5))], now, 1.0), None);
        assert!(path(&[(now - 30, Some(0.4)), (now, Some(0.5))], now, 1.0).is_some());
    }
}
