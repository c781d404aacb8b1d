//! `venuemon replay FILE...`: the capture pipeline over pcap/pcapng files, printed as a summary
//! (text or JSON) or kept on `/metrics` for inspection.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::hub::Snapshot;
use crate::hub::capture::{CaptureSummary, Totals};
use crate::privacy::ClientKey;
use crate::sources::capture::decode::Decoder;
use crate::sources::capture::frames::{FileSummary, read_capture};
use crate::web::{self, AppState};

/// The result of replaying files.
pub struct Replay {
    /// The decoded counts, as the agent would publish them.
    pub summary: CaptureSummary,
    /// Per file: its name and what reading it found, or why it could not be read.
    pub files: Vec<(String, Result<FileSummary, String>)>,
}

/// Decodes every file in turn through one decoder (so DHCP transactions spanning two files
/// still pair). `bssids` are the venue's own access points.
pub fn run(files: &[PathBuf], bssids: &[(String, [u8; 6])]) -> Replay {
    // Ids only live for this run: a fresh key, nothing kept.
    let mut decoder = Decoder::new(
        ClientKey::ephemeral(),
        bssids.iter().map(|(_, b)| *b).collect(),
    );
    let mut results = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let result = crate::files::open_regular(path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|file| read_capture(file, &mut decoder).map_err(|e| e.to_string()));
        results.push((name, result));
    }
    let mut totals = Totals::default();
    totals.add(&decoder.finish());
    let names: Vec<String> = bssids.iter().map(|(n, _)| n.clone()).collect();
    Replay {
        summary: CaptureSummary::new("replay", None, &totals, &names),
        files: results,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A size in decimal SI units for people: "512 B", "4 KB", "1.2 MB", "3.4 GB". One decimal
/// below ten of a unit (dropped when it is zero), whole units above; rounding never shows
/// "1000 KB", it moves to the next unit.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    // Rounded as it will be printed, so 999 999 B is "1 MB", not "1000 KB".
    let shown = |v: f64| {
        if v < 9.95 {
            (v * 10.0).round() / 10.0
        } else {
            v.round()
        }
    };
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while shown(value) >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let v = shown(value);
    let decimals = usize::from(v.fract() != 0.0);
    format!("{v:.decimals$} {}", UNITS[unit])
}

/// A quantile estimated from histogram buckets, or "-" when nothing was observed.
fn estimate(value: Option<f64>, decimals: usize, unit: &str) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$} {unit}"))
}

fn mean_seconds(sum: f64, count: u64) -> String {
    if count == 0 {
        "-".to_string()
    } else {
        format!("{:.3} s", sum / count as f64)
    }
}

/// The summary as text for people, every control character but the line break escaped
/// ([`crate::terminal::inert`]).
pub fn text(replay: &Replay) -> String {
    let mut out = String::new();
    for (name, result) in &replay.files {
        let _ = match result {
            Ok(f) => {
                let malformed = match f.malformed {
                    0 => String::new(),
                    n => format!(", {n} malformed packet records skipped"),
                };
                let cut = if f.truncated {
                    " (the file is cut short or damaged; frames before that point counted)"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{name}: {} frames ({}){malformed}{cut}",
                    f.frames,
                    human_size(f.bytes)
                )
            }
            Err(e) => writeln!(out, "{name}: {e}"),
        };
    }
    let s = &replay.summary;
    let _ = writeln!(out, "\nframes: {} ({})", s.frames, human_size(s.bytes));
    for (kind, n) in &s.kinds {
        let _ = writeln!(out, "  {kind}: {n}");
    }
    let _ = writeln!(
        out,
        "devices (estimate): {}; devices sending probe requests (estimate): {}",
        s.devices_estimate, s.probing_devices_estimate
    );
    if !s.dhcp_messages.is_empty() {
        let messages: Vec<String> = s
            .dhcp_messages
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        let ttl = &s.dhcp_time_to_lease_seconds;
        let _ = writeln!(out, "DHCP: {}", messages.join(", "));
        let _ = writeln!(
            out,
            "  transactions completed: {}; time to lease: mean {}, median {}, 95th percentile {} (estimated within buckets); unanswered DISCOVERs: {}",
            ttl.count,
            mean_seconds(ttl.sum, ttl.count),
            estimate(ttl.quantile(0.5), 3, "s"),
            estimate(ttl.quantile(0.95), 3, "s"),
            s.dhcp_unanswered_discovers
        );
    }
    if !s.channels.is_empty() {
        let _ = writeln!(out, "channels:");
    }
    for ch in &s.channels {
        let mhz = ch
            .frequency_mhz
            .map_or_else(|| "channel unknown".to_string(), |f| format!("{f} MHz"));
        let _ = writeln!(
            out,
            "  {mhz}: {} frames, retries {:.1} %, probe requests {}, other networks ~{} ({} beacons), signal median {}",
            ch.frames,
            percent(ch.retries, ch.frames),
            ch.probe_requests,
            ch.foreign_networks_estimate,
            ch.foreign_beacons,
            estimate(ch.signal_dbm.quantile(0.5), 0, "dBm"),
        );
    }
    for (ap, n) in &s.own_ap_data_frames {
        let _ = writeln!(out, "  access point {ap}: {n} data frames");
    }
    // File names, errors and access point names come from the user's disk and config.
    crate::terminal::inert(&out).into_owned()
}

/// The summary as JSON: the files and the same summary the agent publishes.
pub fn json(replay: &Replay) -> String {
    let files: Vec<serde_json::Value> = replay
        .files
        .iter()
        .map(|(name, r)| match r {
            Ok(f) => serde_json::json!({"file": name, "frames": f.frames, "bytes": f.bytes, "truncated": f.truncated, "malformed": f.malformed}),
            Err(e) => serde_json::json!({"file": name, "error": e}),
        })
        .collect();
    serde_json::json!({"files": files, "summary": replay.summary}).to_string()
}

/// Serves the replay's counts on `/metrics` and `/api/status` at `listen` until SIGINT/SIGTERM.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(replay: Replay, listen: SocketAddr) -> anyhow::Result<()> {
    use anyhow::Context;
    let snapshot = Snapshot {
        venue: "replay".into(),
        captures: vec![replay.summary],
        generated_at: crate::model::grid::unix_seconds(std::time::SystemTime::now()),
        ..Snapshot::default()
    };
    let (_keep, snapshots) = watch::channel(Arc::new(snapshot));
    let listener = web::server::bind(listen).with_context(|| {
        format!("cannot listen on {listen}; choose another address with --serve")
    })?;
    // Before saying it serves: from then on, a signal is a clean stop.
    let shutdown = crate::agent::stop_on_signal();
    // The address bound: `--serve 127.0.0.1:0` gets a port from the kernel.
    let listen = listener.local_addr().unwrap_or(listen);
    eprintln!("serving the replay on http://{listen}/metrics (Ctrl-C to stop)");
    let cancel = CancellationToken::new();
    let stopping = async {
        shutdown.await;
        cancel.cancel();
    };
    let config = crate::config::Config::zero_config("replay");
    let state = AppState::new(snapshots, &config.venue).with_http(&config.http);
    let metrics = state.server.clone();
    let app = web::app(state, config.http.request_timeout);
    let serving = web::serve(listener, None, app, metrics, &config.http, cancel.clone());
    tokio::join!(serving, stopping);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_in_decimal_si_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1 KB");
        assert_eq!(human_size(4000), "4 KB");
        assert_eq!(human_size(4096), "4.1 KB");
        assert_eq!(human_size(12_345), "12 KB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(3_400_000_000), "3.4 GB");
    }

    #[test]
    fn rounding_moves_to_the_next_unit() {
        assert_eq!(human_size(9_960), "10 KB");
        assert_eq!(human_size(999_499), "999 KB");
        assert_eq!(human_size(999_999), "1 MB");
        assert_eq!(human_size(u64::MAX), "18 EB");
    }

    #[test]
    fn regression_file_names_with_escape_sequences_are_shown_not_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bad\u{1b}[31mname.pcap");
        let replay = run(&[path], &[]);
        let out = text(&replay);
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(
            out.contains("bad\\u{1b}[31mname.pcap: cannot read"),
            "{out}"
        );
    }

    #[test]
    fn regression_a_small_capture_is_not_0_0_mb() {
        let mut replay = Replay {
            summary: CaptureSummary::new("replay", None, &Totals::default(), &[]),
            files: Vec::new(),
        };
        replay.summary.frames = 30;
        replay.summary.bytes = 4_200;
        let out = text(&replay);
        assert!(out.contains("frames: 30 (4.2 KB)"), "{out}");
        assert!(!out.contains("MB"), "{out}");
    }

    #[test]
    fn regression_quantiles_are_estimated_inside_the_bucket_not_its_bound() {
        let mut totals = Totals::default();
        // Ten in (2 s, 5 s], spread from 2.5 s to 4.9 s so that the observed range (which
        // bounds every estimate) leaves the interpolation visible.
        for _ in 0..9 {
            totals.time_to_lease.observe(2.5);
        }
        totals.time_to_lease.observe(4.9);
        let mut replay = Replay {
            summary: CaptureSummary::new("replay", None, &totals, &[]),
            files: Vec::new(),
        };
        replay.summary.dhcp_messages.insert("ack", 10);
        let out = text(&replay);
        assert!(
            out.contains("median 3.500 s, 95th percentile 4.850 s (estimated within buckets)"),
            "{out}"
        );
        assert!(!out.contains('≤'), "{out}");
    }
}
