//! `[history]`: whether the agent keeps its own history, where, and for how long.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::toml::Section;

/// The history file's name in the state folder, unless `path` says otherwise.
pub const FILE_NAME: &str = "history.sqlite";

const DAY: Duration = Duration::from_secs(86_400);

/// `[history]`: the history store (on by default, in the state folder).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryConfig {
    /// Whether the agent writes its history.
    pub enabled: bool,
    /// The SQLite file; `None` is `history.sqlite` in `[agent] state_dir`.
    pub path: Option<PathBuf>,
    /// How long anything is kept (a year and a bit by default, so that an event is compared
    /// with last year's).
    pub retention: Duration,
    /// How long rows keep tick resolution; older ones become 1-minute aggregates.
    pub downsample_after: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            path: None,
            retention: 400 * DAY,
            downsample_after: 14 * DAY,
        }
    }
}

impl HistoryConfig {
    /// The history file: `path`, else `history.sqlite` in `state_dir`.
    pub fn file(&self, state_dir: &Path) -> PathBuf {
        self.path
            .clone()
            .unwrap_or_else(|| state_dir.join(FILE_NAME))
    }
}

/// Reads `[history]` over the defaults.
pub(crate) fn read(section: &Section<'_>) -> HistoryConfig {
    let mut history = HistoryConfig::default();
    if let Some(enabled) = section.bool("enabled") {
        history.enabled = enabled;
    }
    history.path = section.path("path", "/var/lib/venuemon/history.sqlite");
    if let Some(retention) = section.duration("retention", DAY, 3_650 * DAY) {
        history.retention = retention.value;
    }
    if let Some(after) =
        section.duration("downsample_after", Duration::from_secs(3_600), 3_650 * DAY)
    {
        history.downsample_after = after.value;
        if after.value > history.retention {
            section.error(
                after.span,
                format!(
                    "{}: downsample_after ({}) must not be longer than retention ({}): rows \
                     past retention are deleted before they could be downsampled",
                    section.label(),
                    crate::config::toml::format_duration(after.value),
                    crate::config::toml::format_duration(history.retention),
                ),
            );
        }
    }
    history
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::HistoryConfig;
    use crate::config::testing::{errors, ok};

    #[test]
    fn history_is_on_in_the_state_folder_by_default() {
        let history = ok("").0.history;
        assert_eq!(history, HistoryConfig::default());
        assert!(history.enabled);
        assert_eq!(
            history.file(Path::new("/var/lib/venuemon")),
            PathBuf::from("/var/lib/venuemon/history.sqlite")
        );
        assert_eq!(history.retention, Duration::from_secs(400 * 86_400));
    }

    #[test]
    fn history_keys_are_read_and_checked() {
        let (config, _) = ok("[history]\nenabled = false\npath = \"/srv/h.sqlite\"\n\
                              retention = \"30d\"\ndownsample_after = \"2d\"\n");
        let h = config.history;
        assert!(!h.enabled);
        assert_eq!(h.file(Path::new("/x")), PathBuf::from("/srv/h.sqlite"));
        assert_eq!(h.retention, Duration::from_secs(30 * 86_400));
        assert_eq!(h.downsample_after, Duration::from_secs(2 * 86_400));
        assert_eq!(
            errors("[history]\nretention = \"10d\"\ndownsample_after = \"20d\"\n"),
            [
                "venuemon.toml:3:20: [history]: downsample_after (20d) must not be longer than \
                 retention (10d): rows past retention are deleted before they could be \
                 downsampled"
            ]
        );
        assert_eq!(
            errors("[history]\nretention = \"1h\"\n"),
            [
                "venuemon.toml:2:13: [history]: retention must be a duration from 1d to 3650d, got \"1h\""
            ]
        );
    }
}
