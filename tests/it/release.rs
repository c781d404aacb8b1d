//! The binary users run: the release build (whole-program LTO, glibc linked in statically;
//! Cargo.toml and .cargo/config.toml). Every other test runs the debug build, which links
//! differently: a fault of the release link alone (a call to a function the static link left
//! out, which crashed the agent at its first tick) shows only here. `tests/run.sh` builds it
//! (`cargo build --release --locked`) before the tests.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, Agent, BIN};

/// The two programs: the agent, and `venuemon-tools` with the offline commands.
const PROGRAMS: [&str; 2] = ["venuemon", "venuemon-tools"];

/// The release build of `program` beside the debug build the other tests run, of the same
/// revision.
fn release_binary(program: &str) -> PathBuf {
    let debug = PathBuf::from(BIN);
    let profile_dir = debug
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<tuple>/debug");
    let release = profile_dir.join("release").join(program);
    assert!(
        release.is_file(),
        "no release build at {}: build it with `cargo build --release --locked` (tests/run.sh \
         does, before the tests)",
        release.display()
    );
    let version = |bin: &std::path::Path| {
        let out = Command::new(bin)
            .arg("--version")
            .output()
            .expect("venuemon runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(
        version(&release),
        version(&debug),
        "the release build at {} is of another revision: rebuild it with `cargo build \
         --release --locked`",
        release.display()
    );
    release
}

/// The static release binaries need no shared library (libc, libm and ld.so would be about
/// 2 MB of the agent's resident memory, docs/PERFORMANCE.md).
#[test]
fn the_release_binaries_need_no_shared_library() {
    for program in PROGRAMS {
        let out = common::run(
            "readelf",
            &[
                "--dynamic",
                "--program-headers",
                release_binary(program).to_str().expect("utf-8 path"),
            ],
        );
        let elf = String::from_utf8_lossy(&out.stdout);
        assert!(
            !elf.contains("(NEEDED)") && !elf.contains("INTERP"),
            "{program} is dynamically linked (is .cargo/config.toml's crt-static \
             applied?):\n{elf}"
        );
    }
}

/// The agent's stripped release binary stays within issue 10's 6 MB (5.87 MB when it was met;
/// every byte of it is resident in a running agent, docs/PERFORMANCE.md, "Issue 10, fifth
/// pass").
#[test]
fn the_agent_binary_is_at_most_6_mb() {
    let bytes = std::fs::metadata(release_binary("venuemon"))
        .expect("the release agent")
        .len();
    assert!(
        bytes <= 6_000_000,
        "the stripped release agent is {bytes} bytes, over 6 MB: find what grew with \
         `CARGO_PROFILE_RELEASE_STRIP=none cargo bloat --release --bin venuemon --crates` \
         (docs/PERFORMANCE.md)"
    );
}

/// The agent's binary holds none of the offline commands' code (it would be resident in
/// every running agent, docs/PERFORMANCE.md, "Issue 10, fourth pass"): the report's page
/// style is in `venuemon-tools` alone.
#[test]
fn the_agent_binary_holds_no_report() {
    let report_style = "@page { size: A4";
    let holds = |program| {
        let image = std::fs::read(release_binary(program)).expect("read the binary");
        image
            .windows(report_style.len())
            .any(|w| w == report_style.as_bytes())
    };
    assert!(
        holds("venuemon-tools"),
        "the marker is the report's: {report_style}"
    );
    assert!(
        !holds("venuemon"),
        "the agent's binary holds the report: something the agent runs calls into \
         src/report (or another offline command)"
    );
}

/// No call in the release binary goes through an empty GOT slot without first checking it:
/// in a static link, a function that some crate (the standard library) declares weak is left
/// out unless a strong reference pulls it in, and the slot stays 0. The standard library
/// checks its own weak functions before calling them; a plain call to one (glibc's `gettid`
/// did this) jumps to address 0. x86-64 disassembly, read from `objdump`.
#[test]
#[cfg(target_arch = "x86_64")]
fn the_release_binaries_call_no_function_the_static_link_left_out() {
    for program in PROGRAMS {
        calls_no_function_the_static_link_left_out(&release_binary(program));
    }
}

fn calls_no_function_the_static_link_left_out(bin: &std::path::Path) {
    let bin = bin.to_str().expect("utf-8 path");
    let sections =
        String::from_utf8_lossy(&common::run("readelf", &["-S", "-W", bin]).stdout).into_owned();
    let image = std::fs::read(bin).expect("read the binary");
    // GOT slots: (address, file offset, size) of .got and .got.plt.
    let got: Vec<(u64, u64, u64)> = sections
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(']').nth(1)?.split_whitespace().collect();
            let hex = |i: usize| u64::from_str_radix(fields.get(i)?, 16).ok();
            fields[0]
                .starts_with(".got")
                .then(|| Some((hex(2)?, hex(3)?, hex(4)?)))?
        })
        .collect();
    assert!(!got.is_empty(), "no .got section in:\n{sections}");
    let empty = |addr: u64| {
        got.iter().any(|&(start, offset, size)| {
            (start..start + size).contains(&addr) && {
                let at = (offset + addr - start) as usize;
                image[at..at + 8].iter().all(|b| *b == 0)
            }
        })
    };
    // Slots a dynamic relocation fills at start (TLS offsets, ifuncs) are not empty then.
    let relocations =
        String::from_utf8_lossy(&common::run("readelf", &["-r", "-W", bin]).stdout).into_owned();
    let filled: std::collections::HashSet<u64> = relocations
        .lines()
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .collect();
    let disassembly = common::run("objdump", &["-d", "--no-show-raw-insn", bin]);
    let lines: Vec<&str> = std::str::from_utf8(&disassembly.stdout)
        .expect("objdump writes text")
        .lines()
        .collect();
    let slot = |line: &str| {
        let (_, target) = line.split_once("(%rip)")?.1.split_once("# 0x")?;
        u64::from_str_radix(target.split_whitespace().next()?, 16).ok()
    };
    let mut unchecked = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !(line.contains("call   *") || line.contains("jmp    *")) {
            continue;
        }
        let Some(target) = slot(line) else { continue };
        if !empty(target) || filled.contains(&target) {
            continue;
        }
        // A weak function the code checks first: `cmpq $0x0,<slot>(%rip)` shortly before.
        let checked = lines[i.saturating_sub(64)..i]
            .iter()
            .any(|l| l.contains("cmpq   $0x0,") && slot(l) == Some(target));
        if !checked {
            unchecked.push(line.trim().to_string());
        }
    }
    assert!(
        unchecked.is_empty(),
        "calls through empty GOT slots, unchecked (a function the static link left out: \
         call it through a strong reference, e.g. `libc::syscall`):\n{}",
        unchecked.join("\n")
    );
}

/// The release binaries run: the agent samples this host (on the background threads, where
/// the call to address 0 was), serves the metrics and the page, writes its history, and
/// stops cleanly; then it hands `simulate` and `report` to `venuemon-tools` (SQLite, the
/// report), which run on a small event.
#[test]
fn the_release_binaries_sample_serve_write_history_and_report() {
    let bin = release_binary("venuemon");
    release_binary("venuemon-tools");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let mut command = Command::new(&bin);
    command
        .args(["run", "--listen", &format!("127.0.0.1:{port}")])
        .env("STATE_DIRECTORY", dir.path());
    let mut agent = Agent::spawn(command, dir.path().join("agent.log"));
    common::metrics_when(port, "a few ticks", Duration::from_secs(30), |m| {
        m.contains("venuemon_build_info") && m.contains("venuemon_history_up 1")
    });
    let page = common::http_get(port, "/").expect("the page answers");
    assert_eq!(page.0, 200, "{}", agent.log());
    std::thread::sleep(Duration::from_secs(2));
    assert!(agent.stop().success(), "{}", agent.log());

    let programme = dir.path().join("programme.ics");
    let simulated = dir.path().join("simulated.sqlite");
    let out = Command::new(&bin)
        .args([
            "simulate", "--days", "1", "--zones", "4", "--aps", "4", "--tick", "60s",
        ])
        .arg("--history")
        .arg(&simulated)
        .arg("--programme")
        .arg(&programme)
        .arg("--quiet")
        .output()
        .expect("simulate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = dir.path().join("report.html");
    let out = Command::new(&bin)
        .args(["report", "--history"])
        .arg(&simulated)
        .arg("--programme")
        .arg(&programme)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("report runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&report).expect("the report is written");
    assert!(html.contains("<svg"), "the report has charts");
}
