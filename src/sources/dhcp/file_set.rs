//! Reading a server's lease files the way the server itself reads them back: Kea's file set
//! after a lease file cleanup in Kea's own order, each file re-read only when it changed, only
//! regular files (never anything that can block), and a file whose records are mostly
//! unreadable reported as degraded rather than counted as an empty pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::DhcpKind;
use super::lease::{LastWins, Parsed};
use super::source::parse;
use crate::model::grid::unix_seconds;
use crate::sources::{ErrorKind, FileStamp, SourceError};

/// Unreadable records in one file from which that file is degraded, when they also outnumber
/// the leases read from it; a file with no lease read is degraded from one. A last record
/// cut short where its writer is still at it ([`Parsed::half_written`]) is normal and never
/// counts. A file where most records cannot be read is not a healthy empty pool.
pub(crate) const DEGRADED_MIN_SKIPPED: usize = 3;

/// Least size limit of a lease file, in bytes (256 MiB): Kea's and ISC's files keep every
/// record written since their last cleanup, several per client.
pub(crate) const MIN_FILE_LIMIT: u64 = 256 << 20;

/// Bytes of lease file allowed per client of `[agent] max_clients` (1 KiB): a record is at
/// most a few hundred bytes, so this leaves room for a few records per client.
pub(crate) const FILE_BYTES_PER_CLIENT: u64 = 1 << 10;

/// The largest lease file read for an agent holding at most `max_clients` clients:
/// [`MIN_FILE_LIMIT`], or [`FILE_BYTES_PER_CLIENT`] per client when that is more. A file is
/// read whole, so this bounds the memory a read takes by configuration.
pub(crate) fn file_limit(max_clients: usize) -> u64 {
    let clients = u64::try_from(max_clients).unwrap_or(u64::MAX);
    MIN_FILE_LIMIT.max(clients.saturating_mul(FILE_BYTES_PER_CLIENT))
}

/// How many times a Kea file set that changed while it was read (a cleanup moving files) is
/// read again before the sample fails.
const ATTEMPTS: usize = 4;

/// Kea's suffixes, in the order its `loadLeasesFromFiles` tries them (isc-projects/kea,
/// `src/lib/dhcpsrv/memfile_lease_mgr.cc`): `.completed` (a cleanup's output not yet renamed)
/// replaces `.2` (the last cleanup's output) and `.1` (the file being cleaned up); the live
/// file comes last. A later record for an address supersedes earlier ones.
const KEA_COMPLETED: usize = 0;
const KEA_SUFFIXES: [&str; 3] = [".completed", ".2", ".1"];

/// One server's lease files and what was parsed from them.
pub(crate) struct LeaseFiles {
    kind: DhcpKind,
    /// The configured, live lease file.
    path: PathBuf,
    /// Every file the server may keep leases in, in load order (the live file last).
    candidates: Vec<PathBuf>,
    /// Parses of the files of the last read, by stamp, kept only for a set of several files
    /// (Kea's): a rename keeps a file's stamp, so Kea's live file becoming `.1`, or
    /// `.completed` becoming `.2`, is not parsed again. A single file's parse is handed over.
    parsed: Vec<(FileStamp, Arc<Parsed>)>,
    /// The stamps of the files of the last read, in order; their merged leases are handed
    /// over, not kept.
    merged: Option<Vec<FileStamp>>,
    /// Most bytes read of one file (see [`file_limit`]).
    limit: u64,
}

/// A file of the set as found before reading it.
struct Found<'a> {
    path: &'a Path,
    meta: std::fs::Metadata,
}

impl LeaseFiles {
    /// The lease files of a `kind` server whose live file is `path`, reading at most `limit`
    /// bytes of each (see [`file_limit`]).
    pub(crate) fn new(kind: DhcpKind, path: PathBuf, limit: u64) -> LeaseFiles {
        let mut candidates = Vec::new();
        if kind == DhcpKind::Kea {
            for suffix in KEA_SUFFIXES {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                candidates.push(PathBuf::from(name));
            }
        }
        candidates.push(path.clone());
        LeaseFiles {
            kind,
            path,
            candidates,
            parsed: Vec::new(),
            merged: None,
            limit,
        }
    }

    /// The leases of the whole set if it changed since the last successful read (`None`: it
    /// did not), reading only the files that changed. Blocking: call it off the async
    /// runtime. After any error nothing is kept, so the next read returns the leases again,
    /// and no lease of a file that went away or turned into something else is served again.
    ///
    /// # Errors
    /// A file is missing (the live file, when no other file of the set exists), not a regular
    /// file (`not_regular`), unreadable, larger than the limit (`too_large`), or mostly
    /// garbage (`degraded`).
    pub(crate) fn read(&mut self) -> Result<Option<Arc<Parsed>>, SourceError> {
        let result = self.read_set();
        if result.is_err() {
            self.forget();
        }
        result
    }

    /// Forgets what was read: the next read parses every file again and returns its leases.
    pub(crate) fn forget(&mut self) {
        self.parsed.clear();
        self.merged = None;
    }

    /// The modification time (Unix seconds) of the live file of the set as last read: where
    /// lease lengths count from (dnsmasq without a clock).
    pub(crate) fn modified(&self) -> Option<u64> {
        let stamps = self.merged.as_ref()?;
        stamps.last()?.modified().map(unix_seconds)
    }

    fn read_set(&mut self) -> Result<Option<Arc<Parsed>>, SourceError> {
        for _ in 0..ATTEMPTS {
            let before = self.survey()?;
            let set = self.select(&before)?;
            let stamps: Vec<FileStamp> = set.iter().map(|f| FileStamp::of(&f.meta)).collect();
            if self.merged.as_ref() == Some(&stamps) && set.iter().all(|f| f.meta.is_file()) {
                return Ok(None);
            }
            let mut files = Vec::with_capacity(set.len());
            for found in &set {
                match self.read_file(found)? {
                    Some(file) => files.push((found.path, file)),
                    None => break,
                }
            }
            // A cleanup renames and deletes files: read the set again unless it stood still.
            if files.len() < set.len()
                || self.candidates.len() > 1 && !same_set(&before, &self.survey()?)
            {
                continue;
            }
            for (path, (_, parsed)) in &files {
                degraded(path, parsed)?;
            }
            let merged = match files.as_slice() {
                [(_, (_, only))] => Arc::clone(only),
                _ => Arc::new(merge(files.iter().map(|(_, (_, p))| p.as_ref()))),
            };
            let stamps = files.iter().map(|(_, (s, _))| *s).collect();
            let parsed = if self.candidates.len() > 1 {
                files.into_iter().map(|(_, file)| file).collect()
            } else {
                Vec::new()
            };
            self.merged = Some(stamps);
            self.parsed = parsed;
            return Ok(Some(merged));
        }
        Err(SourceError::new(
            ErrorKind::Io,
            format!(
                "{}: the lease files kept changing while being read (Kea's lease file cleanup \
                 running?); the next sample reads them again",
                self.path.display()
            ),
        ))
    }

    /// What exists at each candidate path now (`None`: nothing).
    fn survey(&self) -> Result<Vec<Option<std::fs::Metadata>>, SourceError> {
        self.candidates
            .iter()
            .map(|path| match std::fs::metadata(path) {
                Ok(meta) => Ok(Some(meta)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(lease_error(path, &e)),
            })
            .collect()
    }

    /// The files to load, in order, from what the survey found.
    fn select<'a>(
        &'a self,
        found: &[Option<std::fs::Metadata>],
    ) -> Result<Vec<Found<'a>>, SourceError> {
        let present = |i: usize| {
            found[i].clone().map(|meta| Found {
                path: &self.candidates[i],
                meta,
            })
        };
        let live = self.candidates.len() - 1;
        let mut set: Vec<Found> = if self.kind != DhcpKind::Kea {
            Vec::new()
        } else if let Some(completed) = present(KEA_COMPLETED) {
            vec![completed]
        } else {
            (KEA_COMPLETED + 1..live).filter_map(present).collect()
        };
        match present(live) {
            Some(file) => set.push(file),
            // Kea creates its live file when it opens it: between a cleanup's rename and
            // that, the leases are all in the other files.
            None if !set.is_empty() => {}
            None => {
                let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
                return Err(lease_error(&self.path, &missing));
            }
        }
        Ok(set)
    }

    /// One file's parse: the cached one if its stamp is unchanged, else read (only a regular
    /// file, opened so that nothing blocks) and parsed; `None` if it went away since found.
    fn read_file(&self, found: &Found) -> Result<Option<(FileStamp, Arc<Parsed>)>, SourceError> {
        let cached = |stamp: FileStamp| {
            self.parsed
                .iter()
                .find(|(s, _)| *s == stamp)
                .map(|(_, p)| (stamp, Arc::clone(p)))
        };
        if found.meta.is_file()
            && let Some(hit) = cached(FileStamp::of(&found.meta))
        {
            return Ok(Some(hit));
        }
        let error = |e: std::io::Error| lease_error(found.path, &e);
        let mut file = match crate::files::open_regular(found.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(e)),
        };
        // The stamp before reading: a write after it changes the stamp and is read next time.
        let stamp = FileStamp::of(&file.metadata().map_err(error)?);
        if let Some(hit) = cached(stamp) {
            return Ok(Some(hit));
        }
        let bytes = crate::files::read_limited(&mut file, self.limit).map_err(error)?;
        Ok(Some((stamp, Arc::new(parse(self.kind, &bytes)))))
    }
}

/// Whether two surveys found the same files: the live file may grow (the server appends to
/// it), but no file of the set appeared, went, or was replaced.
fn same_set(before: &[Option<std::fs::Metadata>], after: &[Option<std::fs::Metadata>]) -> bool {
    let live = before.len().saturating_sub(1);
    before.len() == after.len()
        && before
            .iter()
            .zip(after)
            .enumerate()
            .all(|(i, pair)| match pair {
                (None, None) => true,
                (Some(a), Some(b)) if i == live => FileStamp::of(a).same_file(&FileStamp::of(b)),
                (Some(a), Some(b)) => FileStamp::of(a) == FileStamp::of(b),
                _ => false,
            })
}

/// The leases of files loaded in order: a later file's record for an address supersedes an
/// earlier one, as when Kea loads its file set.
fn merge<'a>(files: impl Iterator<Item = &'a Parsed>) -> Parsed {
    let mut leases = LastWins::default();
    let mut skipped = 0;
    for parsed in files {
        skipped += parsed.skipped;
        for lease in &parsed.leases {
            leases.record(Some(lease.clone()));
        }
    }
    let mut merged = leases.finish();
    merged.skipped = skipped;
    merged
}

/// Fails with kind `degraded` when a file's records could not be read: any, beyond a
/// half-written last one, when no lease was read; else most of them (see
/// [`DEGRADED_MIN_SKIPPED`]).
fn degraded(path: &Path, parsed: &Parsed) -> Result<(), SourceError> {
    let unreadable = parsed
        .skipped
        .saturating_sub(usize::from(parsed.half_written));
    let leases = parsed.leases.len();
    if unreadable > 0 && leases == 0 || unreadable >= DEGRADED_MIN_SKIPPED && unreadable > leases {
        let hint = match parsed.looks_like {
            Some(kind) => format!(
                " it looks like {}'s: set `kind = \"{}\"` if that server writes it",
                kind.name(),
                kind.name()
            ),
            None => String::new(),
        };
        return Err(SourceError::new(
            ErrorKind::Degraded,
            format!(
                "{}: most records cannot be read ({} skipped, {} leases read): is `kind` of \
                 this [[source.dhcp]] the server that writes it, and is it the lease file?{hint}",
                path.display(),
                parsed.skipped,
                parsed.leases.len()
            ),
        ));
    }
    Ok(())
}

/// An I/O error on a lease file, with what to check when it is missing.
fn lease_error(path: &Path, e: &std::io::Error) -> SourceError {
    let mut error = SourceError::io(path, e);
    match error.kind {
        ErrorKind::Missing => error.message.push_str(
            ": is the DHCP server running, and is `leases` of this [[source.dhcp]] its lease file?",
        ),
        ErrorKind::TooLarge => error.message.push_str(
            ": is `leases` of this [[source.dhcp]] the lease file, and does the server clean it \
             up (Kea's lfc-interval)? The limit is 1 KiB per client of [agent] max_clients, \
             at least 256 MiB",
        ),
        _ => {}
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time when every lease below but the expired ones is active.
    const NOW: u64 = 1_800_000_000;
    const V4: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n";
    const V6: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n";

    fn v4(host: u8, lifetime: u32, expire: u64) -> String {
        format!("10.77.2.{host},02:00:5e:20:00:{host:02x},,{lifetime},{expire},1,0,0,,0,\n")
    }

    fn v6(host: u8, lifetime: u32, expire: u64) -> String {
        format!(
            "2001:db8::{host:x},00:03:00:01:02:00:5e:20:00:{host:02x},{lifetime},{expire},1,1800,0,{host},128,0,0,,,0,,1,0\n"
        )
    }

    /// A temporary folder holding a lease file set.
    struct Set {
        dir: tempfile::TempDir,
        live: PathBuf,
    }

    impl Set {
        fn new(name: &str) -> Set {
            let dir = tempfile::tempdir().expect("tempdir");
            let live = dir.path().join(name);
            Set { dir, live }
        }

        fn path(&self, suffix: &str) -> PathBuf {
            PathBuf::from(format!("{}{suffix}", self.live.display()))
        }

        fn write(&self, suffix: &str, text: &str) {
            std::fs::write(self.path(suffix), text).expect("write");
        }

        fn files(&self, kind: DhcpKind) -> LeaseFiles {
            LeaseFiles::new(kind, self.live.clone(), file_limit(1))
        }
    }

    /// The leases of a read that found the set changed.
    fn read(files: &mut LeaseFiles) -> Arc<Parsed> {
        let parsed = files.read().expect("lease files read");
        parsed.expect("the set changed since the last read")
    }

    fn active(files: &mut LeaseFiles) -> usize {
        let parsed = read(files);
        parsed.leases.iter().filter(|l| l.is_active(NOW)).count()
    }

    fn error_kind(files: &mut LeaseFiles) -> &'static str {
        files.read().expect_err("the read fails").kind.as_str()
    }

    #[test]
    fn kea_after_cleanup_case_counts_the_lease_in_dot_2() {
        let case = crate::testing::project_fixture("dhcp/cases/kea-after-cleanup/kea-leases4.csv");
        let mut files = LeaseFiles::new(DhcpKind::Kea, case, file_limit(1));
        assert_eq!(active(&mut files), 1);
    }

    #[test]
    fn kea_dot_1_and_the_live_file_both_count() {
        let set = Set::new("kea-leases4.csv");
        set.write(".1", &format!("{V4}{}", v4(10, 4000, NOW + 600)));
        set.write("", &format!("{V4}{}", v4(11, 4000, NOW + 600)));
        assert_eq!(active(&mut set.files(DhcpKind::Kea)), 2);
    }

    #[test]
    fn kea_dot_2_then_dot_1_then_live_later_rows_win() {
        let set = Set::new("kea-leases4.csv");
        let rows = [10, 11, 12, 13].map(|h| v4(h, 4000, NOW + 600)).concat();
        set.write(".2", &format!("{V4}{rows}"));
        // .1: .10 released; .11 renewed but expired since (an older row would say active).
        set.write(
            ".1",
            &format!("{V4}{}{}", v4(10, 0, NOW), v4(11, 4000, NOW - 1)),
        );
        // live: .12 released, .14 new.
        set.write(
            "",
            &format!("{V4}{}{}", v4(12, 0, NOW), v4(14, 4000, NOW + 600)),
        );
        let parsed = read(&mut set.files(DhcpKind::Kea));
        let active: Vec<String> = parsed
            .leases
            .iter()
            .filter(|l| l.is_active(NOW))
            .map(|l| l.ip.to_string())
            .collect();
        assert_eq!(active, ["10.77.2.13", "10.77.2.14"]);
    }

    #[test]
    fn kea_completed_replaces_dot_2_and_dot_1() {
        let set = Set::new("kea-leases4.csv");
        // The cleanup merged .2 and .1 (where .10 was released) into .completed, and has not
        // yet deleted them: Kea reads .completed alone, then the live file.
        set.write(
            ".2",
            &format!("{V4}{}{}", v4(10, 4000, NOW + 600), v4(11, 4000, NOW + 600)),
        );
        set.write(".1", &format!("{V4}{}", v4(10, 4000, NOW + 900)));
        set.write(".completed", &format!("{V4}{}", v4(11, 4000, NOW + 600)));
        set.write("", V4);
        assert_eq!(active(&mut set.files(DhcpKind::Kea)), 1);
    }

    #[test]
    fn kea_lease_in_dot_2_superseded_or_released_in_the_live_file() {
        let set = Set::new("kea-leases4.csv");
        set.write(
            ".2",
            &format!("{V4}{}{}", v4(10, 4000, NOW + 600), v4(11, 4000, NOW + 600)),
        );
        set.write(
            "",
            &format!("{V4}{}{}", v4(10, 0, NOW), v4(11, 4000, NOW + 7200)),
        );
        let parsed = read(&mut set.files(DhcpKind::Kea));
        assert_eq!(parsed.leases.len(), 2, "one lease per address");
        assert!(
            !parsed.leases[0].is_active(NOW),
            "released in the live file"
        );
        assert_eq!(
            parsed.leases[1].expires,
            Some(NOW + 7200),
            "the live file's renewal"
        );
    }

    #[test]
    fn kea_v6_file_set() {
        let set = Set::new("kea-leases6.csv");
        set.write(
            ".2",
            &format!("{V6}{}{}", v6(10, 3600, NOW + 600), v6(11, 3600, NOW + 600)),
        );
        set.write(".1", &format!("{V6}{}", v6(12, 3600, NOW + 600)));
        set.write("", &format!("{V6}{}", v6(11, 0, NOW)));
        assert_eq!(active(&mut set.files(DhcpKind::Kea)), 2);
    }

    #[test]
    fn kea_live_file_missing_between_rename_and_reopen_is_empty() {
        let set = Set::new("kea-leases4.csv");
        let mut files = set.files(DhcpKind::Kea);
        assert_eq!(error_kind(&mut files), "missing", "nothing at all");
        set.write(".1", &format!("{V4}{}", v4(10, 4000, NOW + 600)));
        assert_eq!(active(&mut files), 1);
    }

    #[test]
    fn other_servers_read_only_their_file() {
        let set = Set::new("dnsmasq.leases");
        set.write(".2", &format!("{NOW} 02:00:5e:20:00:10 10.77.2.10 * *\n"));
        let mut files = set.files(DhcpKind::Dnsmasq);
        assert_eq!(error_kind(&mut files), "missing");
        set.write(
            "",
            &format!("{} 02:00:5e:20:00:11 10.77.2.11 * *\n", NOW + 600),
        );
        assert_eq!(active(&mut files), 1);
    }

    #[test]
    fn each_file_is_parsed_again_only_when_it_changed_even_when_renamed() {
        let set = Set::new("kea-leases4.csv");
        set.write(".2", &format!("{V4}{}", v4(10, 4000, NOW + 600)));
        set.write("", &format!("{V4}{}", v4(11, 4000, NOW + 600)));
        let mut files = set.files(DhcpKind::Kea);
        assert_eq!(active(&mut files), 2);
        let dot2 = Arc::clone(&files.parsed[0].1);
        let live = Arc::clone(&files.parsed[1].1);
        assert!(files.read().expect("read").is_none(), "nothing changed");

        // Kea appends to the live file: only it is parsed again.
        let mut more = std::fs::OpenOptions::new()
            .append(true)
            .open(&set.live)
            .expect("open");
        std::io::Write::write_all(&mut more, v4(12, 4000, NOW + 600).as_bytes()).expect("append");
        drop(more);
        assert_eq!(active(&mut files), 3);
        assert!(Arc::ptr_eq(&dot2, &files.parsed[0].1), ".2 unchanged");
        assert!(
            !Arc::ptr_eq(&live, &files.parsed[1].1),
            "the live file grew"
        );

        // A cleanup starts: the live file becomes .1 (same inode) and a new one begins.
        let live = Arc::clone(&files.parsed[1].1);
        std::fs::rename(&set.live, set.path(".1")).expect("rename");
        set.write("", V4);
        assert_eq!(active(&mut files), 3);
        assert!(
            Arc::ptr_eq(&live, &files.parsed[1].1),
            ".1 is the former live file"
        );
    }

    #[test]
    fn a_set_that_moved_while_read_is_noticed() {
        let set = Set::new("kea-leases4.csv");
        set.write(".completed", V4);
        set.write("", V4);
        let files = set.files(DhcpKind::Kea);
        let before = files.survey().expect("survey");
        std::fs::rename(set.path(".completed"), set.path(".2")).expect("rename");
        let after = files.survey().expect("survey");
        assert!(!same_set(&before, &after));
        let mut grown = std::fs::OpenOptions::new()
            .append(true)
            .open(&set.live)
            .expect("open");
        std::io::Write::write_all(&mut grown, v4(10, 4000, NOW).as_bytes()).expect("append");
        assert!(
            same_set(&after, &files.survey().expect("survey")),
            "appends are fine"
        );
    }

    /// One lease file cleanup as Kea and kea-lfc do it, with the same leases before and after.
    fn cleanup(set: &Set, all: &str, renewed: &str) {
        std::fs::rename(&set.live, set.path(".1")).expect("live to .1");
        set.write("", V4);
        set.write(".output", all);
        std::fs::rename(set.path(".output"), set.path(".completed")).expect("to .completed");
        std::fs::remove_file(set.path(".2")).expect("rm .2");
        std::fs::remove_file(set.path(".1")).expect("rm .1");
        std::fs::rename(set.path(".completed"), set.path(".2")).expect("to .2");
        let mut live = std::fs::OpenOptions::new()
            .append(true)
            .open(&set.live)
            .expect("open live");
        std::io::Write::write_all(&mut live, renewed.as_bytes()).expect("append");
    }

    #[test]
    fn cleanups_moving_files_while_they_are_read_never_lose_a_lease() {
        let set = Set::new("kea-leases4.csv");
        let rows = |hosts: &[u8]| hosts.iter().map(|h| v4(*h, 4000, NOW + 600)).collect();
        let all = format!("{V4}{}", rows(&[10, 11, 12, 13, 14]) as String);
        let renewed: String = rows(&[13, 14]);
        set.write(".2", &all);
        set.write("", &format!("{V4}{renewed}"));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cleaner = {
            let stop = Arc::clone(&stop);
            let (live, all, renewed) = (set.live.clone(), all.clone(), renewed.clone());
            std::thread::spawn(move || {
                let set = Set {
                    dir: tempfile::tempdir().expect("unused"),
                    live,
                };
                let mut runs = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    cleanup(&set, &all, &renewed);
                    runs += 1;
                }
                runs
            })
        };
        let mut files = set.files(DhcpKind::Kea);
        let (mut reads, mut busy) = (0, 0);
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(500) {
            match files.read() {
                Ok(None) => reads += 1,
                Ok(Some(parsed)) => {
                    let active = parsed.leases.iter().filter(|l| l.is_active(NOW)).count();
                    assert_eq!(active, 5, "read {reads}");
                    reads += 1;
                }
                Err(e) => {
                    assert!(e.message.contains("kept changing"), "{}", e.message);
                    busy += 1;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let runs = cleaner.join().expect("cleaner");
        assert!(
            runs > 100 && reads > 100,
            "{runs} cleanups, {reads} reads, {busy} busy"
        );
        eprintln!("{runs} cleanups, {reads} reads right, {busy} gave up after {ATTEMPTS} tries");
    }

    #[test]
    fn fifo_and_directory_are_refused_at_once_and_nothing_stale_is_served() {
        let set = Set::new("dnsmasq.leases");
        let lease = format!("{} 02:00:5e:20:00:10 10.77.2.10 * *\n", NOW + 600);
        set.write("", &lease);
        let mut files = set.files(DhcpKind::Dnsmasq);
        assert_eq!(active(&mut files), 1);
        let saved = set.dir.path().join("saved");
        std::fs::rename(&set.live, &saved).expect("move away");

        crate::files::mkfifo(&set.live);
        let started = std::time::Instant::now();
        let error = files.read().expect_err("a FIFO");
        assert_eq!(error.kind.as_str(), "not_regular");
        assert!(error.message.contains("FIFO"), "{}", error.message);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "never blocks"
        );
        std::fs::remove_file(&set.live).expect("rm fifo");

        std::fs::create_dir(&set.live).expect("mkdir");
        assert_eq!(error_kind(&mut files), "not_regular");
        std::fs::remove_dir(&set.live).expect("rmdir");

        // The same file back (same inode, size and time): read again, and right.
        std::fs::rename(&saved, &set.live).expect("move back");
        assert_eq!(active(&mut files), 1);
    }

    #[test]
    fn kea_rotated_file_that_is_not_a_file_is_named() {
        let set = Set::new("kea-leases4.csv");
        set.write("", V4);
        std::fs::create_dir(set.path(".2")).expect("mkdir");
        let error = set.files(DhcpKind::Kea).read().expect_err("a directory");
        assert_eq!(error.kind.as_str(), "not_regular");
        assert!(
            error.message.contains("kea-leases4.csv.2"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_file_of_garbage_is_degraded_not_an_empty_pool() {
        let set = Set::new("dnsmasq.leases");
        set.write(
            "",
            "garbage\n\u{1}\u{2}\u{3} x\nnot a lease at all\nmore noise here\n",
        );
        let error = set.files(DhcpKind::Dnsmasq).read().expect_err("degraded");
        assert_eq!(error.kind.as_str(), "degraded");
        assert!(
            error.message.contains("dnsmasq.leases"),
            "{}",
            error.message
        );

        // Kea: garbage in .2 degrades the set even though the live file is fine.
        let kea = Set::new("kea-leases4.csv");
        kea.write(".2", &format!("{V4}w\nx\ny\nz\n"));
        kea.write("", &format!("{V4}{}", v4(10, 4000, NOW + 600)));
        let error = kea.files(DhcpKind::Kea).read().expect_err("degraded");
        assert_eq!(error.kind.as_str(), "degraded");
        assert!(
            error.message.contains("kea-leases4.csv.2"),
            "{}",
            error.message
        );
    }

    #[test]
    fn regression_garbage_with_no_lease_read_is_degraded() {
        let set = Set::new("dnsmasq.leases");
        let mut files = set.files(DhcpKind::Dnsmasq);
        // Was up with 0 active, 3 skipped: below the old minimum.
        set.write("", "garbage\nmore garbage\nstill garbage\n");
        assert_eq!(error_kind(&mut files), "degraded");
        // Was up with 0 active, 1 skipped: read as a half-written line.
        let blob: String = (0..3000u32)
            .map(|i| char::from(b'!' + (i * 7919 % 94) as u8))
            .collect();
        set.write("", &blob);
        assert_eq!(error_kind(&mut files), "degraded", "a 3 000-byte blob");
        let zeros = std::fs::File::create(&set.live).expect("create");
        zeros.set_len(1 << 20).expect("1 MiB of zero bytes");
        assert_eq!(error_kind(&mut files), "degraded", "zero bytes");
        // Was up with 0 active, 2 skipped: a dnsmasq file read as Kea's.
        let dnsmasq = format!(
            "{} 02:00:5e:20:00:10 10.77.2.10 * *\n{} 02:00:5e:20:00:11 10.77.2.11 * *\n",
            NOW + 600,
            NOW + 600
        );
        set.write("", &dnsmasq);
        let error = set.files(DhcpKind::Kea).read().expect_err("degraded");
        assert_eq!(error.kind.as_str(), "degraded");
        assert!(error.message.contains("`kind`"), "{}", error.message);
        assert_eq!(active(&mut files), 2, "read as dnsmasq's, it is fine");
    }

    #[test]
    fn regression_a_lease_file_of_another_kind_is_degraded_and_named() {
        let dnsmasq = format!(
            "{} 02:00:5e:20:00:10 10.77.2.10 * *\n{} 02:00:5e:20:00:11 10.77.2.11 * *\n",
            NOW + 600,
            NOW + 600
        );
        let isc = "# written by isc-dhcp-4.4.3\nauthoring-byte-order little-endian;\n\n\
                   lease 10.77.2.10 {\n  binding state active;\n}\n";
        let kea = format!("{V4}{}", v4(10, 4000, NOW + 600));
        let files = [
            (DhcpKind::Dnsmasq, dnsmasq.as_str()),
            (DhcpKind::Isc, isc),
            (DhcpKind::Kea, kea.as_str()),
        ];
        for (written, text) in files {
            for read_as in DhcpKind::ALL.into_iter().filter(|k| *k != written) {
                let set = Set::new("leases");
                set.write("", text);
                let error = set.files(read_as).read().expect_err("degraded");
                assert_eq!(
                    error.kind.as_str(),
                    "degraded",
                    "{written:?} as {read_as:?}"
                );
                let hint = format!("set `kind = \"{}\"`", written.name());
                assert!(error.message.contains(&hint), "{}", error.message);
            }
            let set = Set::new("leases");
            set.write("", text);
            assert!(set.files(written).read().is_ok(), "{written:?} as itself");
        }
    }

    #[test]
    fn an_empty_file_a_header_or_a_first_line_being_written_is_an_empty_pool() {
        let set = Set::new("kea-leases4.csv");
        let mut files = set.files(DhcpKind::Kea);
        for (content, what) in [
            ("", "empty"),
            (V4, "a header"),
            (
                &format!("{V4}{}", &v4(10, 4000, NOW + 600)[..30]),
                "a row being written",
            ),
        ] {
            set.write("", content);
            assert_eq!(active(&mut files), 0, "{what}");
        }
        let isc = Set::new("dhcpd.leases");
        let mut files = isc.files(DhcpKind::Isc);
        for content in [
            "",
            "# comment\n",
            "lease 10.77.2.10 {\n  starts 4 2027/01/0",
        ] {
            isc.write("", content);
            assert_eq!(active(&mut files), 0, "{content:?}");
        }
    }

    #[test]
    fn regression_a_huge_lease_file_is_refused_before_it_is_read() {
        let set = Set::new("dnsmasq.leases");
        // 600 MB of zero bytes (sparse): was read whole, RSS 22 MB to 636 MB.
        let huge = std::fs::File::create(&set.live).expect("create");
        huge.set_len(600_000_000).expect("sparse file");
        let mut files = LeaseFiles::new(DhcpKind::Dnsmasq, set.live.clone(), file_limit(250_000));
        let error = files.read().expect_err("too large");
        assert_eq!(error.kind.as_str(), "too_large");
        for part in [
            "dnsmasq.leases",
            "600000000 bytes",
            "268435456 bytes",
            "max_clients",
        ] {
            assert!(error.message.contains(part), "{part}: {}", error.message);
        }
        // The limit follows [agent] max_clients past its floor.
        assert_eq!(file_limit(1), MIN_FILE_LIMIT);
        assert_eq!(file_limit(1_000_000), 1_024_000_000);
        // Within the limit, a file is read.
        let lease = format!("{} 02:00:5e:20:00:10 10.77.2.10 * *\n", NOW + 600);
        set.write("", &lease);
        let mut files = LeaseFiles::new(DhcpKind::Dnsmasq, set.live.clone(), lease.len() as u64);
        assert_eq!(active(&mut files), 1);
        set.write("", &format!("{lease}{lease}"));
        assert_eq!(error_kind(&mut files), "too_large");
    }

    #[test]
    fn a_half_written_last_line_or_a_few_bad_lines_stay_normal() {
        let set = Set::new("dnsmasq.leases");
        let lease = format!("{} 02:00:5e:20:00:10 10.77.2.10 * *\n", NOW + 600);
        set.write("", &format!("{lease}{}", &lease[..20]));
        let mut files = set.files(DhcpKind::Dnsmasq);
        assert_eq!(active(&mut files), 1);
        set.write("", &lease[..20]);
        assert_eq!(active(&mut files), 0, "a first line being written");
        // Two leases among two bad records and a half-written last line (tests/it/hostile.rs).
        set.write(
            "",
            &format!(
                "{lease}x\n{}y\n{}",
                lease.replace(".10", ".11"),
                &lease[..20]
            ),
        );
        assert_eq!(active(&mut files), 2);
        // Many skipped records among more leases are counted, not degraded.
        let leases: String = (10..20)
            .map(|h| format!("{} 02:00:5e:20:00:{h:02x} 10.77.2.{h} * *\n", NOW + 600))
            .collect();
        set.write("", &format!("{leases}x\ny\nz\n"));
        let parsed = read(&mut files);
        assert_eq!(
            parsed.leases.iter().filter(|l| l.is_active(NOW)).count(),
            10
        );
        assert_eq!(parsed.skipped, 3);
    }
}
