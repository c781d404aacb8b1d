//! `[[zone]]`: the places people are in, each with its interfaces, subnets, seats and
//! threshold overrides.

use std::collections::HashMap;

use ipnet::IpNet;

use super::pattern::Pattern;
use super::thresholds::{self, Thresholds};
use super::toml::{Section, Tables, shorten_quoted, valid_id};

/// `[[zone]]`: a hall, a room, a floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Stable id used in metric labels and URLs.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Seat capacity, when known.
    pub seats: Option<u32>,
    /// Interface name patterns whose clients and traffic belong to this zone.
    pub interfaces: Vec<Pattern>,
    /// Client subnets belonging to this zone (for clients seen on shared interfaces).
    pub subnets: Vec<IpNet>,
    /// `[thresholds]` with this zone's overrides applied.
    pub thresholds: Thresholds,
}

/// Reads every `[[zone]]` (none when the file defines none), their thresholds resolved over
/// `thresholds`, and whether every zone had a valid id.
pub(super) fn read_all(tables: Tables<'_>, thresholds: &Thresholds) -> (Vec<Zone>, bool) {
    // First line of each id, and first zone of each literal interface name.
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut claimed: HashMap<String, String> = HashMap::new();
    let zones = tables.each(|section| Some(read(section, thresholds, &mut ids, &mut claimed)));
    let every_id_valid = zones.iter().all(Option::is_some);
    (zones.into_iter().flatten().collect(), every_id_valid)
}

/// Reads one `[[zone]]`, its thresholds resolved over `thresholds`.
fn read(
    section: Section<'_>,
    thresholds: &Thresholds,
    ids: &mut HashMap<String, usize>,
    claimed: &mut HashMap<String, String>,
) -> Option<Zone> {
    let section = match section.peek_str("id") {
        Some(id) if valid_id(id) => section.labelled(format!("zone \"{id}\"")),
        _ => section,
    };
    let id = section.field("id", |item| {
        item.as_str()
            .filter(|s| valid_id(s))
            .map(str::to_string)
            .ok_or_else(|| {
                "1 to 64 lower-case letters, digits, `-` or `_`, starting with a letter or \
                 digit, like \"hall-a\""
                    .to_string()
            })
    });
    section.require("id", "the zone's id, like \"hall-a\"");
    if let Some(id) = &id {
        let line = section.line_of(id.span.as_ref());
        if let Some(first) = ids.get(&id.value) {
            section.error(
                id.span.clone(),
                format!(
                    "{}: duplicate zone id \"{}\", first defined at line {first}; zone ids must be unique",
                    section.label(),
                    id.value
                ),
            );
        } else {
            ids.insert(id.value.clone(), line);
        }
    }

    let name = section.string("name", "a non-empty string", |s| !s.trim().is_empty());
    let seats = section.field("seats", |item| {
        let n = item
            .as_integer()
            .filter(|n| *n > 0)
            .ok_or_else(|| "a positive integer".to_string())?;
        u32::try_from(n)
            .ok()
            .filter(|n| *n <= 1_000_000)
            .ok_or_else(|| "a positive integer up to 1000000".to_string())
    });
    let interfaces = section.patterns("interfaces").unwrap_or_default();
    let subnets = section
        .list(
            "subnets",
            "a list of networks like [\"10.10.0.0/22\", \"2001:db8::/48\"]",
            |s| {
                s.parse::<IpNet>().map_err(|_| {
                    format!(
                        "subnets must be networks like \"10.10.0.0/22\" or \"2001:db8::/48\", got {}",
                        shorten_quoted(s)
                    )
                })
            },
        )
        .unwrap_or_default();
    let label = format!("{} thresholds", section.label());
    let thresholds = thresholds::read(
        &section.table_labelled("thresholds", label),
        thresholds,
        "from [thresholds]",
    );

    let id = id?;
    for pattern in interfaces.iter().filter(|p| p.value.is_literal()) {
        let name = pattern.value.as_str();
        match claimed.get(name) {
            Some(owner) if *owner != id.value => {
                let message = format!(
                    "{}: interface \"{name}\" is already in zone \"{owner}\"; an interface belongs to one zone",
                    section.label()
                );
                section.error(pattern.span.clone(), message);
            }
            Some(_) => {}
            None => {
                claimed.insert(name.to_string(), id.value.clone());
            }
        }
    }
    Some(Zone {
        name: name.unwrap_or_else(|| id.value.clone()),
        id: id.value,
        seats: seats.map(|s| s.value),
        interfaces: interfaces.into_iter().map(|p| p.value).collect(),
        subnets: subnets.into_iter().map(|s| s.value).collect(),
        thresholds,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{close, errors, ok, one_error};

    #[test]
    fn zone_thresholds_override_the_global_ones() {
        let text = "[thresholds]
dhcp_pool_warn = 75
occupancy_warn = 130

[[zone]]
id = \"hall-a\"
[zone.thresholds]
dhcp_pool_warn = 60
time_to_lease_critical = \"8s\"

[[zone]]
id = \"room-b\"
thresholds = { uplink_warn = 50, occupancy_critical = 300 }

[[zone]]
id = \"lobby\"
";
        let (config, _) = ok(text);
        let [hall, room, lobby] = config.zones.as_slice() else {
            panic!("three zones");
        };
        let global = &config.thresholds;
        assert!(close(global.dhcp_pool_warn, 0.75));
        assert!(close(hall.thresholds.dhcp_pool_warn, 0.60));
        assert!(close(hall.thresholds.time_to_lease_critical, 8.0));
        assert!(close(hall.thresholds.occupancy_warn, 1.3), "global kept");
        assert!(close(room.thresholds.uplink_warn, 0.5));
        assert!(close(room.thresholds.occupancy_critical, 3.0));
        assert!(close(room.thresholds.dhcp_pool_warn, 0.75), "global kept");
        assert_eq!(&lobby.thresholds, global);
    }

    #[test]
    fn zone_thresholds_do_not_depend_on_where_the_global_table_is() {
        let zone = "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_critical = 90\n";
        let global = "[thresholds]\ndhcp_pool_warn = 70\nuplink_warn = 50\n";
        let (before, _) = ok(&format!("{global}\n{zone}"));
        let (after, _) = ok(&format!("{zone}\n{global}"));
        assert_eq!(before, after);
        let t = &after.zones[0].thresholds;
        assert!(close(t.dhcp_pool_warn, 0.70));
        assert!(close(t.dhcp_pool_critical, 0.90));
        assert!(close(t.uplink_warn, 0.50));
    }

    #[test]
    fn zone_warn_above_critical_points_at_the_zone_key() {
        // The global critical is inherited; the zone's warn goes past it.
        let text = "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_warn = 96\n\n\
                    [thresholds]\ndhcp_pool_critical = 95\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:4:18: zone \"hall-a\" thresholds: dhcp_pool_warn (96) must not be \
             above dhcp_pool_critical (95, from [thresholds])"
        );
        // The global warn is inherited; the zone's critical goes below it.
        let text = "[thresholds]\nuplink_warn = 80\n\n\
                    [[zone]]\nid = \"hall-a\"\nthresholds = { uplink_critical = 75 }\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:6:34: zone \"hall-a\" thresholds: uplink_warn (80, from [thresholds]) \
             must not be above uplink_critical (75)"
        );
        // A global mistake is reported once, at the global table, not again for each zone.
        let text =
            "[thresholds]\ndhcp_pool_warn = 99\n[[zone]]\nid = \"a\"\n[[zone]]\nid = \"b\"\n";
        assert!(one_error(text).starts_with("venuemon.toml:2:18: [thresholds]:"));
        // A zone may fix the pair the global table would break.
        ok("[thresholds]\ndhcp_pool_critical = 85\n\n\
            [[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_warn = 60\n");
    }

    #[test]
    fn zone_thresholds_are_checked_like_the_global_ones() {
        let all = errors(
            "[[zone]]\nid = \"hall-a\"\n[zone.thresholds]\ndhcp_pool_wrn = 70\nuplink_warn = 0\n\n\
             [[zone]]\nid = \"room-b\"\nthresholds = 5\n",
        );
        assert_eq!(
            all,
            [
                "venuemon.toml:4:1: zone \"hall-a\" thresholds: unknown key `dhcp_pool_wrn`; \
                 did you mean `dhcp_pool_warn`?",
                "venuemon.toml:5:15: zone \"hall-a\" thresholds: uplink_warn must be a percentage \
                 from 1 to 100, got 0",
                "venuemon.toml:9:14: `zone.thresholds` must be a table, written \
                 [zone.thresholds], got 5",
            ]
        );
    }

    #[test]
    fn zone_id_required_and_checked() {
        assert_eq!(
            one_error("[[zone]]\nname = \"Salle A\"\n"),
            "venuemon.toml:1:1: [[zone]] #1: missing required key `id` (the zone's id, like \"hall-a\")"
        );
        let bad = one_error("[[zone]]\nid = \"Hall A\"\n");
        assert!(
            bad.starts_with("venuemon.toml:2:6: [[zone]] #1: id must be 1 to 64 lower-case"),
            "{bad}"
        );
        let single = one_error("[zone]\nid = \"hall-a\"\n");
        assert!(
            single.starts_with("venuemon.toml:1:1: `zone` must be an array of tables"),
            "{single}"
        );
    }

    #[test]
    fn seats_must_be_a_positive_integer() {
        for (value, column) in [("\"lots\"", 9), ("0", 9), ("-3", 9), ("12.5", 9)] {
            let text = format!("[[zone]]\nid = \"hall-a\"\nseats = {value}\n");
            assert_eq!(
                one_error(&text),
                format!(
                    "venuemon.toml:3:{column}: zone \"hall-a\": seats must be a positive integer, got {value}"
                )
            );
        }
        assert_eq!(
            one_error("[[zone]]\nid = \"hall-a\"\nseats = 2000000\n"),
            "venuemon.toml:3:9: zone \"hall-a\": seats must be a positive integer up to 1000000, got 2000000"
        );
    }

    #[test]
    fn bad_cidr() {
        assert_eq!(
            one_error(
                "[[zone]]\nid = \"hall-a\"\nsubnets = [\"10.10.0.0/22\", \"10.10.0.0/33\"]\n"
            ),
            "venuemon.toml:3:28: zone \"hall-a\": subnets must be networks like \"10.10.0.0/22\" \
             or \"2001:db8::/48\", got \"10.10.0.0/33\""
        );
        assert_eq!(
            one_error("[[zone]]\nid = \"hall-a\"\nsubnets = \"10.10.0.0/22\"\n"),
            "venuemon.toml:3:11: zone \"hall-a\": subnets must be a list of networks like \
             [\"10.10.0.0/22\", \"2001:db8::/48\"], got \"10.10.0.0/22\""
        );
    }

    #[test]
    fn bad_pattern() {
        let message =
            one_error("[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\", \"wl an1\"]\n");
        assert!(
            message.starts_with(
                "venuemon.toml:3:24: zone \"hall-a\": interfaces: \"wl an1\" is not a valid \
                 interface pattern (it contains whitespace): expected an interface name"
            ),
            "{message}"
        );
        let message = one_error("[interfaces]\nexclude = [\"docker*\", 7]\n");
        assert!(
            message.starts_with(
                "venuemon.toml:2:23: [interfaces]: exclude must be a list of interface names \
                 or globs like [\"wlan0\", \"wlan*\"], got the element 7"
            ),
            "{message}"
        );
    }

    #[test]
    fn duplicate_zone_id_points_at_the_second() {
        let text =
            "[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\"]\n\n[[zone]]\nid = \"hall-a\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:6:6: zone \"hall-a\": duplicate zone id \"hall-a\", first defined at \
             line 2; zone ids must be unique"
        );
    }

    #[test]
    fn interface_in_two_zones() {
        let text = "[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\", \"wlan*\"]\n\n\
                    [[zone]]\nid = \"room-b\"\ninterfaces = [\"wlan*\", \"wlan0\"]\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:7:24: zone \"room-b\": interface \"wlan0\" is already in zone \
             \"hall-a\"; an interface belongs to one zone"
        );
    }

    #[test]
    fn a_bad_zone_id_is_reported_once() {
        let text = "[interfaces]\nzone = \"Hall\"\n\n[[zone]]\nid = \"Hall\"\n";
        let message = one_error(text);
        assert!(
            message.starts_with("venuemon.toml:5:6: [[zone]] #1: id must be"),
            "{message}"
        );
    }

    #[test]
    fn zones_replace_the_host_zone() {
        let (config, _) = ok("[[zone]]\nid = \"hall-a\"\ninterfaces = [\"wlan0\"]\n");
        assert_eq!(config.zones.len(), 1);
        assert_eq!(config.zones[0].name, "hall-a");
        assert_eq!(config.interfaces.zone, None);
        // Inline tables are zones too.
        let (config, _) = ok("zone = [{ id = \"a\", subnets = [\"10.0.0.0/8\"] }]\n");
        assert_eq!(config.zones[0].id, "a");
    }
}
