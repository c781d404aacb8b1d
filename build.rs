//! Build facts for `venuemon_build_info` and `--version`: the git revision the agent is built
//! from (`VENUEMON_REVISION`, "unknown" outside a git checkout of venuemon, e.g. when built
//! from a source tarball) and the compiler that built it (`VENUEMON_RUSTC_VERSION`); and
//! packed relative relocations for the binary where glibc reads them (see [`packed_relocs`]).

use std::path::Path;
use std::process::Command;

/// What a label says when a fact cannot be found.
const UNKNOWN: &str = "unknown";

/// The trimmed standard output of a command that succeeded with some output.
fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    output(Command::new("git").current_dir(dir).args(args))
}

/// The short commit of HEAD, when this crate's own files are tracked by the repository
/// around it (not, say, a home folder kept in git that a tarball was unpacked into).
fn revision(dir: &Path) -> Option<String> {
    git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    // Rebuild when HEAD moves: a checkout changes HEAD, a commit changes the branch it names
    // (a loose ref, or packed-refs once git has packed it). Worktrees keep HEAD apart.
    let mut watched = vec!["HEAD".to_string()];
    watched.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    watched.push("packed-refs".into());
    for name in watched {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            // A missing path would make cargo rerun this script at every build.
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    git(dir, &["rev-parse", "--short=12", "HEAD"])
}

/// Whether the binary can carry its relative relocations packed (`DT_RELR`,
/// `-z pack-relative-relocs`): a Linux glibc build for the machine that builds it, whose glibc
/// is 2.36 or later (older ones ignore `DT_RELR` and the binary would not start). Packed, the
/// ≈ 8 000 relative relocations of the position-independent agent take 2 KiB instead of
/// ≈ 200 KiB, all of which glibc reads, and so keeps resident, at every start
/// (docs/PERFORMANCE.md).
fn packed_relocs() -> bool {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu"
        && var("HOST") == var("TARGET")
        && host_glibc().is_some_and(|(major, minor)| (major, minor) >= (2, 36))
}

/// The version of the glibc this build script runs on, if it runs on glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn host_glibc() -> Option<(u32, u32)> {
    unsafe extern "C" {
        fn gnu_get_libc_version() -> *const std::ffi::c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated string, such as "2.36".
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let mut parts = version.to_str().ok()?.split('.').map(str::parse::<u32>);
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn host_glibc() -> Option<(u32, u32)> {
    None
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if packed_relocs() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let revision = revision(Path::new(&dir)).unwrap_or_else(|| UNKNOWN.into());
    // `rustc 1.85.0 (4d91de4e4 2025-02-17)`: the version and the compiler's own commit.
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc_version = output(Command::new(rustc).arg("--version"))
        .map(|v| v.strip_prefix("rustc ").unwrap_or(&v).to_string())
        .unwrap_or_else(|| UNKNOWN.into());
    println!("cargo:rustc-env=VENUEMON_REVISION={revision}");
    println!("cargo:rustc-env=VENUEMON_RUSTC_VERSION={rustc_version}");
}
