//! Sparklines drawn on the server: an SVG path over the last hour, so the page needs no
//! script or library to show a trend.

use crate::hub::recent::{BUCKET_SECONDS, BUCKETS};

/// Drawing area of every sparkline, in SVG user units (the CSS scales it).
pub(super) const WIDTH: f64 = 240.0;
/// Height of the drawing area.
pub(super) const HEIGHT: f64 = 40.0;
/// Points (buckets with a value) a sparkline needs before it is drawn: five minutes' worth,
/// a twelfth of the width.
pub(super) const MIN_POINTS: usize = (300 / BUCKET_SECONDS) as usize;

/// The `d` attribute of a path through `values` (one per bucket, `(unix seconds, value)`),
/// placed on an hour ending at `now`, scaled so that `top` (at least) reaches the top. A
/// missing value or a missing bucket breaks the line. None while the hour holds fewer than
/// [`MIN_POINTS`]: too little to show a trend, only a dash at the right edge (the page says
/// it is still collecting).
pub(super) fn path(values: &[(u64, Option<f64>)], now: u64, top: f64) -> Option<String> {
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
    if runs.iter().map(Vec::len).sum::<usize>() < MIN_POINTS {
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

    /// Five minutes of points ending at `now`, each `value`, before `extra`.
    fn minutes(now: u64, value: f64, extra: &[(u64, Option<f64>)]) -> Vec<(u64, Option<f64>)> {
        let mut points: Vec<(u64, Option<f64>)> = (0..MIN_POINTS as u64)
            .map(|i| (now - 600 + i * BUCKET_SECONDS, Some(value)))
            .collect();
        points.extend_from_slice(extra);
        points
    }

    #[test]
    fn lines_break_at_gaps_and_scale_to_the_top() {
        let now = 10_000;
        let values = minutes(
            now,
            0.5,
            &[
                (now - 120, Some(0.5)),
                (now - 90, Some(1.0)),
                (now - 60, None),
                (now - 30, Some(0.0)),
            ],
        );
        let d = path(&values, now, 1.0).expect("enough points");
        assert_eq!(d.matches('M').count(), 3, "{d}");
        assert!(d.contains("L234.0 1.0"), "1.0 is at the top: {d}");
        assert!(d.ends_with("M238.0 39.0 h0.5"), "0 at the bottom: {d}");
        // Counts scale to their own maximum.
        let d = path(&minutes(now, 25.0, &[(now, Some(50.0))]), now, 1.0).expect("points");
        assert!(d.starts_with("M200.0 20.0 L202.0 20.0"), "half way up: {d}");
        assert!(
            d.ends_with("M240.0 1.0 h0.5"),
            "the maximum at the top: {d}"
        );
        // Points older than an hour are left out.
        let old: Vec<_> = minutes(now, 1.0, &[])
            .into_iter()
            .map(|(at, v)| (at - 7200, v))
            .collect();
        assert_eq!(path(&old, now, 1.0), None);
    }

    /// Regression: two points drew a 2-unit dash at the right edge of an hour-wide chart.
    #[test]
    fn fewer_than_five_minutes_of_points_draw_nothing_not_a_dash() {
        let now = 10_000;
        assert_eq!(path(&[], now, 1.0), None);
        assert_eq!(path(&[(now, Some(0.5))], now, 1.0), None);
        assert_eq!(
            path(&[(now - 30, Some(0.4)), (now, Some(0.5))], now, 1.0),
            None
        );
        let mut almost = minutes(now, 0.5, &[]);
        almost.pop();
        assert_eq!(path(&almost, now, 1.0), None);
        almost.push((now, Some(f64::NAN)));
        assert_eq!(path(&almost, now, 1.0), None);
        assert!(path(&minutes(now, 0.5, &[]), now, 1.0).is_some());
    }
}
