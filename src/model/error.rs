//! Why a source's sample failed: a bounded kind (the `kind` label of
//! `venuemon_source_errors_total`) and a message for people.

use serde::Serialize;

/// The bounded cause of a failed sample. Variants are in the alphabetical order of their
/// labels, so that maps keyed by kind list them as the labels sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A lease file whose records are mostly unreadable.
    Degraded,
    /// Any other I/O error (or the agent stopping under a sample).
    Io,
    /// A file, socket or interface that does not exist.
    Missing,
    /// A netlink request that failed.
    Netlink,
    /// A FIFO, device, socket or directory where a regular file was expected.
    NotRegular,
    /// Input that does not parse.
    Parse,
    /// Permission denied: the message names the fix.
    Permission,
    /// A sample still running past its deadline.
    Timeout,
    /// A file over the size the source reads at most.
    TooLarge,
}

impl ErrorKind {
    /// The label value, as in `/metrics` and `/api/status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Degraded => "degraded",
            ErrorKind::Io => "io",
            ErrorKind::Missing => "missing",
            ErrorKind::Netlink => "netlink",
            ErrorKind::NotRegular => "not_regular",
            ErrorKind::Parse => "parse",
            ErrorKind::Permission => "permission",
            ErrorKind::Timeout => "timeout",
            ErrorKind::TooLarge => "too_large",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a sample failed, in a bounded set of kinds (a metric label) and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    /// Bounded cause.
    pub kind: ErrorKind,
    /// What happened and what to do; never holds a MAC or an IP.
    pub message: String,
}

impl SourceError {
    /// An error of a given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            message: message.into(),
        }
    }

    /// An I/O error on `path`, classified, with the fix named where there is one.
    pub fn io(path: &std::path::Path, error: &std::io::Error) -> SourceError {
        if let Some(not_regular) = crate::files::not_regular(error) {
            return SourceError::new(
                ErrorKind::NotRegular,
                format!("{} {not_regular}", path.display()),
            );
        }
        if let Some(too_large) = crate::files::too_large(error) {
            return SourceError::new(
                ErrorKind::TooLarge,
                format!("{} {too_large}", path.display()),
            );
        }
        match error.kind() {
            std::io::ErrorKind::NotFound => SourceError::new(
                ErrorKind::Missing,
                format!("{} does not exist", path.display()),
            ),
            std::io::ErrorKind::PermissionDenied => SourceError::new(
                ErrorKind::Permission,
                format!(
                    "permission denied reading {}: run venuemon as root or give it read access",
                    path.display()
                ),
            ),
            _ => SourceError::new(
                ErrorKind::Io,
                format!("cannot read {}: {error}", path.display()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_sort_as_their_labels_and_serialize_as_them() {
        let kinds = [
            ErrorKind::Degraded,
            ErrorKind::Io,
            ErrorKind::Missing,
            ErrorKind::Netlink,
            ErrorKind::NotRegular,
            ErrorKind::Parse,
            ErrorKind::Permission,
            ErrorKind::Timeout,
            ErrorKind::TooLarge,
        ];
        let labels: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let mut sorted = labels.clone();
        sorted.sort_unstable();
        assert_eq!(labels, sorted, "JSON maps keyed by kind keep their order");
        for kind in kinds {
            let json = serde_json::to_string(&kind).expect("serializes");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
