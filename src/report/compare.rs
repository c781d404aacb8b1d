//! This event against a previous one (`--compare`): per headline figure, the change.

use serde::{Deserialize, Serialize};

use super::figures::{Figures, Headline};

/// The headline figures that compare, by key, in the report's order.
pub const KEYS: [&str; 9] = [
    "peak_devices",
    "unique_devices",
    "randomized_share",
    "traffic_bytes",
    "traffic_per_attendee_bytes",
    "uplink_peak",
    "uplink_p95",
    "uplink_saturated_minutes",
    "min_headroom_free",
];

/// A headline figure's value by key (see [`KEYS`]).
pub fn value(h: &Headline, key: &str) -> Option<f64> {
    match key {
        "peak_devices" => h.peak_devices.map(|p| p.value),
        "unique_devices" => h.unique.map(|u| u.devices),
        "randomized_share" => h.unique.and_then(|u| u.randomized_share),
        "traffic_bytes" => Some(h.traffic_bytes),
        "traffic_per_attendee_bytes" => h.traffic_per_attendee_bytes,
        "uplink_peak" => h.uplink_peak.map(|p| p.value),
        "uplink_p95" => h.uplink_p95,
        "uplink_saturated_minutes" => Some(h.uplink_saturated_minutes as f64),
        "min_headroom_free" => h.min_headroom.as_ref().map(|m| m.free),
        _ => None,
    }
}

/// One headline figure then and now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The figure's key (see [`KEYS`]).
    pub figure: String,
    /// Its value in the previous report.
    pub previous: Option<f64>,
    /// Its value now.
    pub current: Option<f64>,
    /// `(current - previous) / previous`, when both are known and `previous` is not zero.
    pub change: Option<f64>,
}

/// Every headline figure of `current` beside `previous`'s.
pub fn compare(current: &Figures, previous: &Figures) -> Vec<Change> {
    KEYS.iter()
        .map(|key| {
            let (now, then) = (
                value(&current.headline, key),
                value(&previous.headline, key),
            );
            Change {
                figure: (*key).to_string(),
                previous: then,
                current: now,
                change: now
                    .zip(then)
                    .filter(|(_, t)| *t != 0.0)
                    .map(|(n, t)| (n - t) / t),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::data::EventData;
    use crate::report::figures::{Peak, figures};

    #[test]
    fn changes_are_relative_to_the_previous_value() {
        let mut before = figures(&EventData::default(), None);
        before.headline.peak_devices = Some(Peak {
            value: 200.0,
            at: 0,
        });
        before.headline.traffic_bytes = 0.0;
        let mut now = before.clone();
        now.headline.peak_devices = Some(Peak {
            value: 250.0,
            at: 9,
        });
        now.headline.traffic_bytes = 5.0;
        let changes = compare(&now, &before);
        assert_eq!(changes.len(), KEYS.len());
        assert_eq!(changes[0].change, Some(0.25));
        let traffic = changes
            .iter()
            .find(|c| c.figure == "traffic_bytes")
            .expect("traffic");
        assert_eq!(
            (traffic.previous, traffic.current, traffic.change),
            (Some(0.0), Some(5.0), None)
        );
        let unique = changes
            .iter()
            .find(|c| c.figure == "unique_devices")
            .expect("unique");
        assert_eq!(unique.change, None);
    }
}
