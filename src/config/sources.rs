//! The seam between the configuration and the sources: what a source kind's folder
//! implements for its part of the file ([`SourceConfig`]), and [`source_registry!`], which
//! turns the one list of kinds in `src/sources/mod.rs` into the `Sources` struct, its
//! reading, its `check-config` lines and `KINDS`, the list every source is started from.
//! Nothing here names a source.

use super::toml::{Section, Spanned};
use super::{Config, Zone};

/// A zone named by a source's table (`[[source.dhcp]] #1`), checked once zones are known.
pub(crate) type ZoneRef = (String, Spanned<String>);

/// The tables a source kind reads its section from.
pub(crate) struct SourceTables<'s, 'a> {
    /// `[source]`: a kind's `[source.NAME]` or `[[source.NAME]]` is in it.
    pub source: &'s Section<'a>,
    /// The whole file, for a kind whose section is a top-level table (`[schedule]`).
    pub root: &'s Section<'a>,
}

/// What a source kind keeps of the configuration file, implemented in its folder's
/// `config.rs` on the type its field in `Sources` has (its config struct, a `Vec` of them
/// for `[[source.NAME]]`, an `Option` for an optional table).
pub(crate) trait SourceConfig: Default {
    /// Reads the kind's section from `tables` into `self` (the defaults), reporting its
    /// mistakes through the section; returns the zones it names, checked once zones are
    /// known.
    fn read(&mut self, tables: &SourceTables<'_, '_>) -> Vec<ZoneRef>;

    /// Whether it will start a source that measures the venue (the programme does not):
    /// when none does, loading warns that nothing will be measured.
    fn measures(&self) -> bool;

    /// Its lines under "sources:" in `venuemon check-config`, one per instance, each saying
    /// what it reads and where its clients count (none when the kind is not configured).
    fn describe(&self) -> Vec<String>;

    /// What `venuemon check-config` does beyond describing it, after the configuration's
    /// warnings: reading a file the way the source will (the programme), printing what it
    /// found. Nothing by default.
    fn check(&self, _config: &Config) {}

    /// Zero-config (no file at all): adds the instances found at their usual places (lease
    /// files, hostapd's socket folder), counted in `zone`. Nothing by default.
    fn discover(&mut self, _zone: Option<&str>) {}

    /// How its sources can place clients or readings in `zone` (for `venuemon doctor`);
    /// `interfaces_present` says whether some of the zone's interfaces are on this host.
    /// None by default (the programme places sessions, not readings).
    fn covers(&self, _zone: &Zone, _interfaces_present: bool) -> Vec<Coverage> {
        Vec::new()
    }
}

/// A way a source can place what it measures in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Coverage {
    /// A source instance names the zone in its `zone` key.
    Named,
    /// The zone's `subnets` place the clients the source sees.
    Subnets,
    /// The zone's interfaces, present on this host.
    Interfaces,
}

impl Coverage {
    /// How an instance whose `zone` key is `named` covers `zone`: by that name, or, with no
    /// `zone` key, through the zone's interfaces on this host.
    pub(crate) fn by_name_or_interfaces(
        named: Option<&str>,
        zone: &Zone,
        interfaces_present: bool,
    ) -> Option<Coverage> {
        match named {
            Some(id) => (id == zone.id).then_some(Coverage::Named),
            None => interfaces_present.then_some(Coverage::Interfaces),
        }
    }
}

/// Declares every source kind, one line each, `name: ConfigType,` (the type the kind
/// implements [`SourceConfig`] on, and the kind's module, `name`, with its `start`). It
/// defines `Sources` (one field per kind, in the configuration as `config.sources.name`),
/// and `KINDS`, the start function of each kind in the order listed.
macro_rules! source_registry {
    ($($name:ident: $config:ty,)+) => {
        /// Every source kind's settings, one field per kind in [`KINDS`]' order.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Sources {
            $(
                #[doc = concat!("The `", stringify!($name), "` source's settings.")]
                pub $name: $config,
            )+
        }

        impl Sources {
            /// Reads every kind's section; returns the zones they name.
            pub(crate) fn read(
                &mut self,
                tables: &$crate::config::SourceTables<'_, '_>,
            ) -> Vec<$crate::config::ZoneRef> {
                let mut zones = Vec::new();
                $(zones.extend($crate::config::SourceConfig::read(&mut self.$name, tables));)+
                zones
            }

            /// Whether any kind will start a source that measures the venue.
            pub(crate) fn measures(&self) -> bool {
                false $(|| $crate::config::SourceConfig::measures(&self.$name))+
            }

            /// Every kind's `check-config` lines, in order.
            pub(crate) fn describe(&self) -> Vec<String> {
                let mut lines = Vec::new();
                $(lines.extend($crate::config::SourceConfig::describe(&self.$name));)+
                lines
            }

            /// Every kind's `check-config` checks, in order.
            pub(crate) fn check(&self, config: &$crate::config::Config) {
                $($crate::config::SourceConfig::check(&self.$name, config);)+
            }

            /// Every way the enabled kinds cover `zone`, each once, in [`Coverage`] order.
            pub(crate) fn covers(
                &self,
                zone: &$crate::config::Zone,
                interfaces_present: bool,
            ) -> Vec<$crate::config::Coverage> {
                let mut ways = Vec::new();
                $(ways.extend($crate::config::SourceConfig::covers(
                    &self.$name,
                    zone,
                    interfaces_present,
                ));)+
                ways.sort();
                ways.dedup();
                ways
            }

            /// Every kind's zero-config discovery, counted in `zone`.
            pub(crate) fn discover(&mut self, zone: Option<&str>) {
                $($crate::config::SourceConfig::discover(&mut self.$name, zone);)+
            }
        }

        /// Every kind of source, in the order they start: each kind's `start` reads its
        /// settings and spawns the sources they enable.
        pub const KINDS: &[Start] = &[$($name::start,)+];
    };
}

pub(crate) use source_registry;

#[cfg(test)]
mod tests {
    use super::super::testing::{ok, one_error};

    #[test]
    fn an_unknown_source_table_lists_the_registered_kinds_with_a_suggestion() {
        let message = one_error("[source.hostpad]\nctrl_dir = \"/run/hostapd\"\n");
        assert!(
            message.contains("unknown table `source.hostpad`; did you mean `hostapd`?"),
            "{message}"
        );
        for kind in [
            "[source.netdev]",
            "[source.neighbours]",
            "[[source.dhcp]]",
            "[[source.hostapd]]",
            "[[source.capture]]",
            "[schedule]",
        ] {
            assert!(message.contains(kind), "{kind} in {message}");
        }
    }

    #[test]
    fn each_kind_says_how_it_covers_a_zone_and_the_ways_are_listed_once() {
        use super::Coverage::{Interfaces, Named, Subnets};
        let zones = "[[zone]]\nid = \"hall\"\nsubnets = [\"10.0.0.0/24\"]\n\n\
             [[zone]]\nid = \"foyer\"\n\n";
        let only_named = format!(
            "{zones}[source.netdev]\nenabled = false\n\n[source.neighbours]\nenabled = false\n\n\
             [[source.dhcp]]\nkind = \"dnsmasq\"\nzone = \"hall\"\n\n\
             [[source.capture]]\ninterface = \"eth1\"\nzone = \"hall\"\n"
        );
        let (config, _) = ok(&only_named);
        let [hall, foyer] = [&config.zones[0], &config.zones[1]];
        assert_eq!(config.sources.covers(hall, true), [Named]);
        assert_eq!(config.sources.covers(foyer, true), []);
        let (config, _) = ok(&format!("{zones}[[source.dhcp]]\nkind = \"dnsmasq\"\n"));
        let [hall, foyer] = [&config.zones[0], &config.zones[1]];
        assert_eq!(config.sources.covers(hall, true), [Subnets, Interfaces]);
        assert_eq!(config.sources.covers(foyer, false), []);
    }

    #[test]
    fn every_registered_kind_describes_its_instances_in_order() {
        let (config, _) = ok("[[source.dhcp]]\nkind = \"dnsmasq\"\n\n\
             [[source.hostapd]]\n\n[[source.capture]]\ninterface = \"wlan0mon\"\n\n\
             [schedule]\nfile = \"programme.ics\"\n");
        let kinds: Vec<String> = config
            .sources
            .describe()
            .iter()
            .map(|line| {
                line.split([' ', ':'])
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "netdev",
                "neighbours",
                "dhcp",
                "hostapd",
                "capture",
                "schedule"
            ]
        );
    }

    #[test]
    fn nothing_measured_is_a_warning_and_one_measuring_kind_is_enough() {
        let off = "[source.netdev]\nenabled = false\n[source.neighbours]\nenabled = false\n";
        let warned = |text: &str| {
            ok(text)
                .1
                .iter()
                .any(|w| w.message.contains("nothing will be measured"))
        };
        assert!(warned(off));
        assert!(warned(&format!("{off}[schedule]\nfile = \"p.ics\"\n")));
        assert!(!warned(&format!("{off}[[source.dhcp]]\nkind = \"isc\"\n")));
        assert!(!warned(""));
    }
}
