//! HTTPS: the `tls_cert`/`tls_key` files turned into a rustls server config (ring provider),
//! and a listener that completes each TLS handshake in its own task, so that a slow or failing
//! client holds up no other and never stops the server.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsFiles;

/// Longest time a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    /// `tls_cert`.
    Cert,
    /// `tls_key`.
    Key,
}

/// Why the TLS files cannot serve: the file, its path and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path:?} {problem}")]
pub struct TlsFileError {
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
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsFileError> {
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

/// A listener handing out TLS connections whose handshake succeeded; failed or slow handshakes
/// are logged at debug and dropped.
pub struct TlsListener {
    /// Connections past their handshake, from the accepting task.
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The address listened on.
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` with `config`; the accepting task ends when this is dropped.
    ///
    /// # Errors
    /// The listener has no local address.
    pub fn new(listener: TcpListener, config: ServerConfig) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (send, ready) = mpsc::channel(32);
        tokio::spawn(accept(listener, TlsAcceptor::from(Arc::new(config)), send));
        Ok(TlsListener { ready, local_addr })
    }
}

/// Accepts TCP connections until `ready` is closed, each handshake in its own task.
async fn accept(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        // axum's accept logs and retries on errors such as too many open files.
        let (tcp, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = ready.closed() => return,
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    // Fails only when the server is shutting down.
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                Err(_) => tracing::debug!("tls handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task holds a sender for as long as this listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1 and its key, written to
/// `dir/NAME.crt` and `dir/NAME.key` by the `openssl` command.
#[cfg(test)]
pub(crate) fn self_signed(dir: &Path, name: &str) -> TlsFiles {
    let files = TlsFiles {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    let output = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        // An end-entity certificate, as rustls clients insist.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&files.key)
        .arg("-out")
        .arg(&files.cert)
        .output()
        .expect("the `openssl` command is needed: apt-get install openssl");
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    files
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::TlsConnector;

    use super::*;

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

    /// An HTTPS client trusting `cert` only.
    fn connector(cert: &Path) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(cert).expect("cert").flatten() {
            roots.add(c).expect("a root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }

    #[tokio::test]
    async fn a_failed_handshake_does_not_stop_the_listener() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = self_signed(dir.path(), "server");
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut listener =
            TlsListener::new(tcp, server_config(&files).expect("config")).expect("listener");
        let addr = listener.local_addr().expect("address");

        // Plain HTTP to the TLS port: the handshake fails, the connection is dropped.
        let mut plain = TcpStream::connect(addr).await.expect("connect");
        plain
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut answer = Vec::new();
        let _ = plain.read_to_end(&mut answer).await;
        assert!(
            !answer.starts_with(b"HTTP/"),
            "no HTTP answer over plain TCP"
        );

        // The next client completes its handshake and comes out of the listener.
        let client = tokio::spawn(async move {
            let tcp = TcpStream::connect(addr).await.expect("connect");
            let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
            let mut tls = connector(&files.cert)
                .connect(name, tcp)
                .await
                .expect("handshake");
            tls.write_all(b"ping").await.expect("write");
            tls.shutdown().await.expect("close");
        });
        let served = async {
            let (mut server_side, _) = Listener::accept(&mut listener).await;
            let mut received = Vec::new();
            server_side
                .read_to_end(&mut received)
                .await
                .map(|_| received)
        };
        let received = tokio::time::timeout(Duration::from_secs(10), served)
            .await
            .expect("a connection within 10 s");
        client.await.expect("the client's handshake succeeds");
        assert_eq!(received.expect("read"), b"ping");
    }
}
