//! The wall-clock grid that sources sample on and the hub takes its snapshots on.

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
}
