//! Helpers for the unit tests of every module: where fixtures are, reading them, Debian's
//! `tcpdump` as a second opinion, and self-signed certificates. Helpers that belong to one
//! area stay beside it: `config::testing` (parsing a config text), `web::testing` (a request
//! through the router), `sources::hostapd::testing` (a fake hostapd),
//! `sources::capture::testing` (tcpdump's test captures). Production code never
//! imports any of them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tls::TlsFiles;

/// The project's own directory (where `Cargo.toml` is).
pub(crate) fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `rel` under `../shared/fixtures`, where third-party fixtures live (read in place, never
/// copied into the project).
pub(crate) fn shared_fixture(rel: &str) -> PathBuf {
    project().join("../shared/fixtures").join(rel)
}

/// `rel` under `tests/fixtures`, the project's own recordings.
pub(crate) fn project_fixture(rel: &str) -> PathBuf {
    project().join("tests/fixtures").join(rel)
}

/// The bytes of fixture `path`, panicking with its name when it cannot be read.
pub(crate) fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()))
}

/// The text of fixture `path`, panicking with its name when it cannot be read.
pub(crate) fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()))
}

/// What Debian's `tcpdump` prints for `tcpdump ARGS -r FILE`; fails with an install hint when
/// it is missing (the suite installs it) and with its output when it fails.
pub(crate) fn tcpdump(args: &[&str], file: &Path) -> String {
    let output = Command::new("tcpdump")
        .args(args)
        .arg("-r")
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run tcpdump ({e}): install it with `apt-get install -y tcpdump`")
        });
    assert!(
        output.status.success(),
        "tcpdump failed on {}: {output:?}",
        file.display()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A self-signed certificate for `localhost` and 127.0.0.1 (P-256, end-entity) and its key,
/// written to `dir/NAME.crt` and `dir/NAME.key`.
pub(crate) fn self_signed(dir: &Path, name: &str) -> TlsFiles {
    let mut params = rcgen::CertificateParams::new(["localhost".to_string(), "127.0.0.1".into()])
        .expect("valid subject names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    // An end-entity certificate, as rustls clients insist.
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let key = rcgen::KeyPair::generate().expect("a P-256 key");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let files = TlsFiles {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    std::fs::write(&files.cert, cert.pem()).expect("write the certificate");
    std::fs::write(&files.key, key.serialize_pem()).expect("write the key");
    files
}
