//! HTTPS: the `tls_cert`/`tls_key` files turned into a rustls server config (ring provider).
//! Loading the configuration checks them with [`server_config`], as the web server
//! (`crate::web::server`) uses them; the server completes each handshake in the connection's
//! own task, within `[http] header_timeout`, so that a slow or failing client holds up no
//! other.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// `tls_cert` and `tls_key`: the server's certificate chain and private key, PEM files that
/// were read and found to match at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// The private key of the first certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsFile {
    /// `tls_cert`.
    Cert,
    /// `tls_key`.
    Key,
}

/// Why the TLS files cannot serve: the file, its path and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} {problem}")]
pub(crate) struct TlsFileError {
    /// The file at fault.
    pub file: TlsFile,
    /// Its path, as configured.
    pub path: PathBuf,
    /// What is wrong, and the expected form.
    pub problem: String,
}

const CERT_FORM: &str = "expected a PEM certificate chain (-----BEGIN CERTIFICATE-----)";
const KEY_FORM: &str = "expected a PEM private key (-----BEGIN PRIVATE KEY-----, \
                        or an RSA or EC private key)";

/// Reads the certificate chain and key of `files` into a server config speaking HTTP/1.1.
///
/// # Errors
/// A file cannot be read, holds no PEM certificate (or key), or the key is not the
/// certificate's.
pub(crate) fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsFileError> {
    let fail = |file, path: &Path, problem: String| TlsFileError {
        file,
        path: path.to_path_buf(),
        problem,
    };
    let cert_pem = read(&files.cert).map_err(|p| fail(TlsFile::Cert, &files.cert, p))?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            fail(
                TlsFile::Cert,
                &files.cert,
                pem_problem(&e, "certificate", CERT_FORM),
            )
        })?;
    if certs.is_empty() {
        let problem = format!("holds no certificate: {CERT_FORM}");
        return Err(fail(TlsFile::Cert, &files.cert, problem));
    }
    let key_pem = read(&files.key).map_err(|p| fail(TlsFile::Key, &files.key, p))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        fail(
            TlsFile::Key,
            &files.key,
            pem_problem(&e, "private key", KEY_FORM),
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| {
            let problem = match e {
                rustls::Error::InconsistentKeys(_) => format!(
                    "is not the private key of the certificate in {:?}",
                    files.cert
                ),
                e => format!("cannot be used with its certificate: {e}"),
            };
            fail(TlsFile::Key, &files.key, problem)
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The bytes of a file, or why it cannot be read.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    crate::files::read_regular(path).map_err(|e| match e.kind() {
        _ if crate::files::not_regular(&e).is_some() => e.to_string(),
        io::ErrorKind::PermissionDenied => {
            format!("cannot be read ({e}): make it readable by the user venuemon runs as")
        }
        _ => format!("cannot be read: {e}"),
    })
}

/// Says why PEM text did not give the `what` wanted.
fn pem_problem(e: &pem::Error, what: &str, form: &str) -> String {
    match e {
        pem::Error::NoItemsFound => format!("holds no {what}: {form}"),
        e => format!("is not valid PEM ({e}): {form}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::self_signed;

    #[test]
    fn a_matching_pair_serves_http_1_1() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = self_signed(dir.path(), "server");
        let config = server_config(&files).expect("a valid pair");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn each_bad_file_names_itself_and_the_expected_form() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = self_signed(dir.path(), "good");
        let other = self_signed(dir.path(), "other");
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").expect("write");
        let cases = [
            (
                &missing,
                &good.key,
                TlsFile::Cert,
                "cannot be read: No such file",
            ),
            (
                &good.key,
                &good.key,
                TlsFile::Cert,
                "holds no certificate: expected a PEM certificate chain",
            ),
            (&garbage, &good.key, TlsFile::Cert, "is not valid PEM"),
            (
                &good.cert,
                &missing,
                TlsFile::Key,
                "cannot be read: No such file",
            ),
            (
                &good.cert,
                &good.cert,
                TlsFile::Key,
                "holds no private key: expected a PEM private key",
            ),
            (
                &good.cert,
                &other.key,
                TlsFile::Key,
                "is not the private key of the certificate in",
            ),
        ];
        for (cert, key, file, problem) in cases {
            let files = TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let e = server_config(&files).expect_err(problem);
            assert_eq!(e.file, file, "{e}");
            let path = if file == TlsFile::Cert { cert } else { key };
            assert!(e.to_string().starts_with(&format!("{path:?} ")), "{e}");
            assert!(e.problem.contains(problem), "{e}");
        }
    }
}
