//! Status rules: a zone's measures against its thresholds give the reasons it is not ok,
//! worst first, and the worst of them is its status. The page, `/api/status`, the
//! `venuemon_zone_status` metric and the alert rules all read the result.

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
