//! Status rules: a zone's measures against its thresholds give the reasons it is not ok,
//! worst first, and the worst of them is its status, unless no source that covers the zone
//! answered: then it is unknown. The page, `/api/status`, the `venuemon_zone_status`
//! metric and the alert rules all read the result.

use std::collections::BTreeMap;

use super::snapshot::{Reason, ReasonKind, Status};
use crate::config::Thresholds;

impl Status {
    /// Where `value` stands against a warn and a critical limit.
    pub fn of(value: f64, warn: f64, critical: f64) -> Status {
        if value >= critical {
            Status::Critical
        } else if value >= warn {
            Status::Warn
        } else {
            Status::Ok
        }
    }
}

/// What a zone's status is judged on.
pub(super) struct Measures<'a> {
    /// The zone's DHCP pools that are past a threshold: `(name, usage)`.
    pub pools_past: Vec<(&'a str, f64)>,
    /// Its busiest interface with a known utilization: `(name, utilization)`.
    pub busiest_uplink: Option<(&'a str, f64)>,
    /// Clients per seat, when the zone has seats.
    pub per_seat: Option<f64>,
    /// Recent DHCP time-to-lease p95 of each of its captures: `(interface, seconds)`.
    pub time_to_lease: Vec<(&'a str, f64)>,
}

/// A pool's status from its usage.
pub(super) fn pool_status(usage: Option<f64>, t: &Thresholds) -> Status {
    usage.map_or(Status::Ok, |u| {
        Status::of(u, t.dhcp_pool_warn, t.dhcp_pool_critical)
    })
}

/// The reasons a zone with `measures` is not ok under `t`, worst first.
pub(super) fn reasons(measures: &Measures<'_>, t: &Thresholds) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = Vec::new();
    let mut reason = |kind, subject: &str, value: f64, warn, critical| {
        let status = Status::of(value, warn, critical);
        if status != Status::Ok {
            reasons.push(Reason {
                kind,
                subject: subject.to_string(),
                value,
                status,
            });
        }
    };
    for (pool, usage) in &measures.pools_past {
        reason(
            ReasonKind::DhcpPool,
            pool,
            *usage,
            t.dhcp_pool_warn,
            t.dhcp_pool_critical,
        );
    }
    if let Some((interface, u)) = measures.busiest_uplink {
        reason(
            ReasonKind::Uplink,
            interface,
            u,
            t.uplink_warn,
            t.uplink_critical,
        );
    }
    if let Some(per_seat) = measures.per_seat {
        reason(
            ReasonKind::Occupancy,
            "",
            per_seat,
            t.occupancy_warn,
            t.occupancy_critical,
        );
    }
    for (interface, p95) in &measures.time_to_lease {
        reason(
            ReasonKind::TimeToLease,
            interface,
            *p95,
            t.time_to_lease_warn,
            t.time_to_lease_critical,
        );
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.status));
    reasons
}

/// The status of something with these reasons: the worst of them.
pub(super) fn status(reasons: &[Reason]) -> Status {
    reasons.first().map_or(Status::Ok, |r| r.status)
}

/// Whether a zone's sources answered: the sources that cover it (that have placed something
/// in it since start), by kind.
#[derive(Debug, Default)]
pub(super) struct Coverage<'a> {
    /// Instances covering the zone whose last sample succeeded.
    pub up: usize,
    /// Instances covering the zone whose last sample failed, by kind.
    pub down: BTreeMap<&'a str, usize>,
    /// Failing instances that have never placed anything in any zone, by kind: they may be
    /// what would cover a zone nothing covers.
    pub never_answered: BTreeMap<&'a str, usize>,
}

/// A zone's status and reasons from its threshold `reasons` (see [`reasons`]) and its
/// `coverage`. With a source covering it up, the status is the thresholds' and every
/// covering source that failed is listed after their reasons. With none, the status is
/// unknown and the reasons are the covering sources that failed; for a zone nothing covers,
/// the sources that have never answered, else [`ReasonKind::NoSource`]. Threshold reasons
/// are dropped then: they would be judged on figures no source stands behind.
pub(super) fn judge(reasons: Vec<Reason>, coverage: &Coverage<'_>) -> (Status, Vec<Reason>) {
    let down = |kinds: &BTreeMap<&str, usize>| -> Vec<Reason> {
        kinds
            .iter()
            .map(|(kind, n)| Reason {
                kind: ReasonKind::SourceDown,
                subject: (*kind).to_string(),
                value: *n as f64,
                status: Status::Unknown,
            })
            .collect()
    };
    if coverage.up > 0 {
        let status = status(&reasons);
        let mut reasons = reasons;
        reasons.extend(down(&coverage.down));
        return (status, reasons);
    }
    let mut blind = down(&coverage.down);
    if blind.is_empty() {
        blind = down(&coverage.never_answered);
    }
    if blind.is_empty() {
        blind.push(Reason {
            kind: ReasonKind::NoSource,
            subject: String::new(),
            value: 0.0,
            status: Status::Unknown,
        });
    }
    (Status::Unknown, blind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uplink(status: Status) -> Reason {
        Reason {
            kind: ReasonKind::Uplink,
            subject: "eth0".into(),
            value: 0.95,
            status,
        }
    }

    fn coverage<'a>(
        up: usize,
        down: &[(&'a str, usize)],
        never: &[(&'a str, usize)],
    ) -> Coverage<'a> {
        Coverage {
            up,
            down: down.iter().copied().collect(),
            never_answered: never.iter().copied().collect(),
        }
    }

    fn kinds(reasons: &[Reason]) -> Vec<(ReasonKind, &str, Status)> {
        reasons
            .iter()
            .map(|r| (r.kind, r.subject.as_str(), r.status))
            .collect()
    }

    #[test]
    fn regression_a_zone_whose_sources_are_all_down_is_unknown_not_ok() {
        let (status, reasons) = judge(Vec::new(), &coverage(0, &[("dhcp", 1)], &[]));
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            kinds(&reasons),
            [(ReasonKind::SourceDown, "dhcp", Status::Unknown)]
        );
        assert_eq!(reasons[0].value, 1.0);
        // Stale figures judge nothing once every source is down.
        let (status, reasons) = judge(
            vec![uplink(Status::Critical)],
            &coverage(0, &[("netdev", 1), ("dhcp", 2)], &[]),
        );
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            kinds(&reasons),
            [
                (ReasonKind::SourceDown, "dhcp", Status::Unknown),
                (ReasonKind::SourceDown, "netdev", Status::Unknown)
            ]
        );
    }

    #[test]
    fn regression_a_zone_no_source_covers_is_unknown_naming_the_sources_that_never_answered() {
        let (status, reasons) = judge(Vec::new(), &coverage(0, &[], &[("hostapd", 1)]));
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            kinds(&reasons),
            [(ReasonKind::SourceDown, "hostapd", Status::Unknown)]
        );
        let (status, reasons) = judge(Vec::new(), &coverage(0, &[], &[]));
        assert_eq!(status, Status::Unknown);
        assert_eq!(
            kinds(&reasons),
            [(ReasonKind::NoSource, "", Status::Unknown)]
        );
    }

    #[test]
    fn a_zone_with_one_source_down_and_another_up_keeps_its_status_and_lists_the_down_one() {
        let (status, reasons) = judge(Vec::new(), &coverage(1, &[("dhcp", 1)], &[]));
        assert_eq!(status, Status::Ok);
        assert_eq!(
            kinds(&reasons),
            [(ReasonKind::SourceDown, "dhcp", Status::Unknown)]
        );
        let (status, reasons) = judge(
            vec![uplink(Status::Warn)],
            &coverage(1, &[("dhcp", 1)], &[("hostapd", 1)]),
        );
        assert_eq!(status, Status::Warn);
        assert_eq!(
            kinds(&reasons),
            [
                (ReasonKind::Uplink, "eth0", Status::Warn),
                (ReasonKind::SourceDown, "dhcp", Status::Unknown)
            ]
        );
    }

    #[test]
    fn unknown_sorts_between_ok_and_warn_and_is_minus_one_on_the_metric() {
        let mut statuses = [Status::Warn, Status::Ok, Status::Critical, Status::Unknown];
        statuses.sort_by_key(|s| std::cmp::Reverse(*s));
        assert_eq!(
            statuses,
            [Status::Critical, Status::Warn, Status::Unknown, Status::Ok]
        );
        let values: Vec<i64> = statuses.iter().map(|s| s.value()).collect();
        assert_eq!(values, [2, 1, -1, 0]);
    }
}
