//! `[interfaces]`: which network interfaces are monitored, and the zone of those no
//! `[[zone]]` claims.

use super::pattern::Pattern;
use super::toml::{Section, Spanned};

/// `[interfaces]`: which interfaces are monitored.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceFilter {
    /// Name patterns to monitor; empty means every physical, wireless, bond, VLAN or bridge
    /// interface that is not a container's.
    pub include: Vec<Pattern>,
    /// Name patterns never monitored, applied after `include`.
    pub exclude: Vec<Pattern>,
    /// Zone of monitored interfaces (and the clients seen on them) that no `[[zone]]` claims;
    /// unset, their counters carry an empty zone label and their clients are not counted.
    pub zone: Option<String>,
}

/// Reads `[interfaces]` over `filter`; returns the zone it names, checked once zones are
/// known.
pub(super) fn read(section: &Section<'_>, filter: &mut InterfaceFilter) -> Option<Spanned<String>> {
    if let Some(include) = section.patterns("include") {
        filter.include = include.into_iter().map(|p| p.value).collect();
    }
    if let Some(exclude) = section.patterns("exclude") {
        filter.exclude = exclude.into_iter().map(|p| p.value).collect();
    }
    section.zone_ref()
}

#[cfg(test)]
mod tests {
    use crate::config::testing::{ok, one_error};

    #[test]
    fn interfaces_zone_must_exist() {
        let text = "[interfaces]\nzone = \"hall-c\"\n\n[[zone]]\nid = \"hall-a\"\n\n[[zone]]\nid = \"room-b\"\n";
        assert_eq!(
            one_error(text),
            "venuemon.toml:2:8: [interfaces]: zone \"hall-c\" does not exist; zones are: hall-a, room-b"
        );
        // Without [[zone]], the host zone is the only one.
        assert_eq!(
            one_error("[interfaces]\nzone = \"hall-a\"\n"),
            "venuemon.toml:2:8: [interfaces]: zone \"hall-a\" does not exist; zones are: gw-1"
        );
        let (config, _) = ok("[interfaces]\nzone = \"gw-1\"\n");
        assert_eq!(config.interfaces.zone.as_deref(), Some("gw-1"));
    }
}
