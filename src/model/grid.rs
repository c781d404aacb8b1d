//! Wall-clock time: the grid that sources sample on and the hub takes its snapshots on, and
//! Unix seconds.

use std::time::{Duration, SystemTime};

/// Time from `now` to the next multiple of `every` since the Unix epoch (a whole `every`
/// when `now` is one). Sources sample and the hub takes its snapshots on this one grid, so a
/// snapshot holds the samples taken just before it, and snapshots carry round times (:00,
/// :10, … for a 10 s tick), never two in one whole second.
pub(crate) fn until_round(now: SystemTime, every: Duration) -> Duration {
    let since = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let every_ms = every.as_millis().max(1);
    let since_ms = since.as_millis();
    let next = (since_ms / every_ms + 1) * every_ms;
    Duration::from_millis(u64::try_from(next - since_ms).unwrap_or(u64::MAX))
}

/// Whole seconds from the Unix epoch to `at`; 0 for a time before it (a clock set wrong).
pub(crate) fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_snapshots_fall_on_round_wall_clock_times() {
        let at = |ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        let second = Duration::from_secs(1);
        assert_eq!(
            until_round(at(1_000_990), second),
            Duration::from_millis(10)
        );
        assert_eq!(until_round(at(1_000_000), second), second);
        let ten = Duration::from_secs(10);
        assert_eq!(until_round(at(1_003_000), ten), Duration::from_secs(7));
    }

    #[test]
    fn unix_seconds_are_whole_and_never_before_the_epoch() {
        let at = |ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(unix_seconds(at(1_700_000_000_999)), 1_700_000_000);
        assert_eq!(unix_seconds(SystemTime::UNIX_EPOCH), 0);
        assert_eq!(
            unix_seconds(SystemTime::UNIX_EPOCH - Duration::from_secs(5)),
            0
        );
    }
}
