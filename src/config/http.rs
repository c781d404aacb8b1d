//! `[http]`, `[http.auth]` and `[http.metrics_auth]`: the listener, its limits, its
//! credentials and its TLS files (checked at load time by [`crate::tls`], as the server will
//! use them).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

use super::toml::{Section, Spanned};
use crate::terminal::disruptive;
use crate::tls::{self, TlsFile, TlsFiles};

/// The largest secret file read: a password or token fits many times over.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// `[http]`: the listener.
#[derive(Debug, Clone, PartialEq)]
pub struct Http {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Longest time a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Longest wait for a TLS handshake, for a connection's first request head from the
    /// moment it opened, and for a later head from its first bytes: closes idle new
    /// connections and clients sending headers slowly.
    pub header_timeout: Duration,
    /// Longest a kept-alive connection may wait for its next request's first bytes.
    pub keep_alive_timeout: Duration,
    /// Longest time a response or event stream may wait for the client to take its bytes;
    /// a client that stops reading is disconnected.
    pub send_timeout: Duration,
    /// Open connections served at once; the excess is answered 503 and closed.
    pub max_connections: usize,
    /// `/events` streams served at once; the excess is answered 503.
    pub max_event_streams: usize,
    /// Wrong credentials answered per second and client address (a /64 for IPv6); further
    /// wrong guesses wait their turn. Right credentials never wait.
    pub auth_failures_per_second: u32,
    /// `[http.auth]`: what the status page, `/zone/*`, `/events` and `/api/*` ask for;
    /// `None` leaves them open.
    pub auth: Option<Credentials>,
    /// `[http.metrics_auth]`: what `/metrics` asks for; `None` leaves it open.
    pub metrics_auth: Option<Credentials>,
    /// `tls_cert` and `tls_key`: serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
}

impl Http {
    /// Whether credentials would cross the network unencrypted: some auth is set, TLS is not,
    /// and the listen address is not loopback.
    pub fn credentials_in_clear_text(&self) -> bool {
        (self.auth.is_some() || self.metrics_auth.is_some())
            && self.tls.is_none()
            && !self.listen.ip().is_loopback()
    }
}

/// What a request must carry to be let through; either is accepted when both are set.
/// Secrets are read at load time (from the file or a `*_file`) and never printed: `Debug`
/// shows only the user name.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// HTTP basic authentication: user name (without `:`) and password.
    pub basic: Option<(String, String)>,
    /// A bearer token (`Authorization: Bearer TOKEN`).
    pub bearer: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("basic_user", &self.basic.as_ref().map(|(user, _)| user))
            .field("bearer", &self.bearer.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// Parses a listen address (`[http] listen`, `--listen`): a socket address, or `:PORT` for
/// every IPv4 address.
pub fn parse_listen(text: &str) -> Option<SocketAddr> {
    if let Some(port) = text.strip_prefix(':') {
        let port = port.parse::<u16>().ok()?;
        return Some(SocketAddr::V4(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            port,
        )));
    }
    text.parse().ok()
}

/// Reads `[http]` over `http` (the defaults).
pub(super) fn read(section: &Section<'_>, http: &mut Http) {
    if let Some(listen) = section.field("listen", |item| {
        item.as_str().and_then(parse_listen).ok_or_else(|| {
            "an address and port like \"0.0.0.0:9842\", \"[::]:9842\" or \":9842\"".to_string()
        })
    }) {
        http.listen = listen.value;
    }
    if let Some(timeout) = section.duration(
        "request_timeout",
        Duration::from_millis(1),
        Duration::from_secs(3600),
    ) {
        http.request_timeout = timeout.value;
    }
    for (key, value) in [
        ("header_timeout", &mut http.header_timeout),
        ("keep_alive_timeout", &mut http.keep_alive_timeout),
        ("send_timeout", &mut http.send_timeout),
    ] {
        if let Some(timeout) =
            section.duration(key, Duration::from_millis(100), Duration::from_secs(3600))
        {
            *value = timeout.value;
        }
    }
    if let Some(n) = section.count("max_connections", 1_000_000) {
        http.max_connections = n;
    }
    if let Some(n) = section.count("max_event_streams", 1_000_000) {
        http.max_event_streams = n;
    }
    if let Some(n) = section.count("auth_failures_per_second", 1000) {
        http.auth_failures_per_second = u32::try_from(n).unwrap_or(1000);
    }
    if http.max_event_streams > http.max_connections {
        let span = section
            .span_of("max_event_streams")
            .or_else(|| section.span_of("max_connections"));
        section.error(
            span,
            format!(
                "[http]: max_event_streams ({}) must not exceed max_connections ({}): each \
                 stream holds a connection",
                http.max_event_streams, http.max_connections
            ),
        );
    }
    http.auth = credentials(&section.table("auth"));
    http.metrics_auth = credentials(&section.table("metrics_auth"));
    http.tls = tls_files(section);
}

/// Reads `[http.auth]` or `[http.metrics_auth]`; `None` when the table is absent (its
/// routes are open) or wrong.
fn credentials(section: &Section<'_>) -> Option<Credentials> {
    let username = section.string(
        "username",
        "a user name without `:` or control characters, like \"crew\"",
        |s| !s.is_empty() && !s.contains(':') && !s.chars().any(disruptive),
    );
    let password = secret(section, "password", "password_file");
    let token = secret(section, "token", "token_file");
    let mut basic = None;
    match (username, password) {
        (Some(username), Some(password)) => basic = Some((username, password.value)),
        (Some(_), None) if !section.has("password") && !section.has("password_file") => section
            .error(
                section.key_span("username"),
                format!(
                    "{}: username needs a password (or password_file)",
                    section.label()
                ),
            ),
        (None, Some(password)) if !section.has("username") => section.error(
            password.span,
            format!("{}: a password needs a username", section.label()),
        ),
        _ => {}
    }
    let mut bearer = None;
    if let Some(token) = token {
        // What a client can send after `Bearer `.
        if token.value.chars().all(|c| c.is_ascii_graphic()) {
            bearer = Some(token.value);
        } else {
            section.error(
                token.span,
                format!(
                    "{}: the token must be printable ASCII without spaces (it is not shown)",
                    section.label()
                ),
            );
        }
    }
    // (A table holding only unknown keys has its errors already.)
    if section.is_empty() {
        section.error(
            section.span(),
            format!(
                "{}: set username and password (or password_file), or token (or \
                 token_file); remove the table to leave its routes open",
                section.label()
            ),
        );
    }
    (basic.is_some() || bearer.is_some()).then_some(Credentials { basic, bearer })
}

/// A secret given as `key` or as the first line of the file `file_key` names; never
/// echoed in messages.
fn secret(section: &Section<'_>, key: &str, file_key: &str) -> Option<Spanned<String>> {
    let inline = section.get(key).and_then(|(_, item)| match item.as_str() {
        Some(s) if !s.is_empty() => Some(s.to_string()),
        _ => {
            let message = format!(
                "{}: {key} must be a non-empty string (the value is not shown)",
                section.label()
            );
            section.error(section.span_of(key), message);
            None
        }
    });
    let example = format!("/etc/venuemon/{key}");
    if section.has(key) && section.has(file_key) {
        section.error(
            section.span_of(file_key),
            format!("{}: set {key} or {file_key}, not both", section.label()),
        );
        return None;
    }
    let from_file = section
        .path(file_key, &example)
        .and_then(|path| match read_secret(&path) {
            Ok(secret) => Some(secret),
            Err(problem) => {
                let message = format!("{}: {file_key} {problem}", section.label());
                section.error(section.span_of(file_key), message);
                None
            }
        });
    match (inline, from_file) {
        (Some(value), _) => Some(Spanned {
            value,
            span: section.span_of(key),
        }),
        (None, Some(value)) => Some(Spanned {
            value,
            span: section.span_of(file_key),
        }),
        (None, None) => None,
    }
}

/// The first line of a secret file, trimmed; the error says what is wrong with the file and
/// never shows its content.
fn read_secret(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    crate::files::open_regular(path)
        .and_then(|file| file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| match e.kind() {
            _ if crate::files::not_regular(&e).is_some() => format!("{path:?} {e}"),
            std::io::ErrorKind::PermissionDenied => format!(
                "{path:?} cannot be read ({e}): make it readable by the user venuemon runs as"
            ),
            _ => format!("{path:?} cannot be read: {e}"),
        })?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(format!(
            "{path:?} is larger than {} KiB: a secret file holds the secret on its first line",
            MAX_SECRET_FILE / 1024
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{path:?} is not UTF-8 text"))?;
    let first = text.lines().next().unwrap_or_default().trim();
    if first.is_empty() {
        return Err(format!(
            "{path:?}: the first line is empty; put the secret on it"
        ));
    }
    if first.chars().any(disruptive) {
        return Err(format!(
            "{path:?}: the first line holds a control or bidirectional-formatting character; \
             a secret is printable text"
        ));
    }
    Ok(first.to_string())
}

/// Reads `tls_cert` and `tls_key` of `[http]`: both or neither, and files that serve.
fn tls_files(section: &Section<'_>) -> Option<TlsFiles> {
    let cert = section.path("tls_cert", "/etc/venuemon/cert.pem");
    let key = section.path("tls_key", "/etc/venuemon/key.pem");
    let needs = "set both (a PEM certificate chain and its private key) or neither";
    match (cert, key) {
        (Some(cert), Some(key)) => {
            let files = TlsFiles { cert, key };
            match tls::server_config(&files) {
                Ok(_) => Some(files),
                Err(e) => {
                    let key = match e.file {
                        TlsFile::Cert => "tls_cert",
                        TlsFile::Key => "tls_key",
                    };
                    section.error(section.span_of(key), format!("[http]: {key} {e}"));
                    None
                }
            }
        }
        (Some(_), None) if !section.has("tls_key") => {
            section.error(
                section.span_of("tls_cert"),
                format!("[http]: tls_cert needs tls_key; {needs}"),
            );
            None
        }
        (None, Some(_)) if !section.has("tls_cert") => {
            section.error(
                section.span_of("tls_key"),
                format!("[http]: tls_key needs tls_cert; {needs}"),
            );
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::testing::{errors, ok, one_error};

    #[test]
    fn http_limits_have_defaults_bounds_and_fit_together() {
        let (config, _) = ok("");
        let http = &config.http;
        assert_eq!(http.header_timeout, Duration::from_secs(10));
        assert_eq!(http.keep_alive_timeout, Duration::from_secs(20));
        assert_eq!(http.send_timeout, Duration::from_secs(30));
        assert_eq!((http.max_connections, http.max_event_streams), (512, 128));
        assert_eq!(http.auth_failures_per_second, 5);
        let (config, _) = ok(
            "[http]\nheader_timeout = \"2s\"\nsend_timeout = \"500ms\"\n\
             keep_alive_timeout = \"1m\"\nmax_connections = 40\nmax_event_streams = 40\n\
             auth_failures_per_second = 1\n",
        );
        let http = &config.http;
        assert_eq!(http.header_timeout, Duration::from_secs(2));
        assert_eq!(http.send_timeout, Duration::from_millis(500));
        assert_eq!(http.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!((http.max_connections, http.max_event_streams), (40, 40));
        assert_eq!(http.auth_failures_per_second, 1);
        assert_eq!(
            one_error("[http]\nmax_connections = 0\n"),
            "venuemon.toml:2:19: [http]: max_connections must be an integer from 1 to 1000000, got 0"
        );
        assert_eq!(
            one_error("[http]\nauth_failures_per_second = 5000\n"),
            "venuemon.toml:2:28: [http]: auth_failures_per_second must be an integer from 1 to \
             1000, got 5000"
        );
        assert_eq!(
            one_error("[http]\nheader_timeout = \"10ms\"\n"),
            "venuemon.toml:2:18: [http]: header_timeout must be a duration from 100ms to 1h, \
             got \"10ms\""
        );
        assert_eq!(
            one_error("[http]\nmax_connections = 10\n"),
            "venuemon.toml:2:19: [http]: max_event_streams (128) must not exceed \
             max_connections (10): each stream holds a connection"
        );
    }

    #[test]
    fn auth_reads_basic_and_bearer_inline_or_from_files() {
        let (config, _) = ok("[http]\nlisten = \"127.0.0.1:9842\"\n\
                              [http.auth]\nusername = \"crew\"\npassword = \"pw 1\"\ntoken = \"tok-1\"\n");
        let auth = config.http.auth.expect("auth");
        assert_eq!(auth.basic, Some(("crew".into(), "pw 1".into())));
        assert_eq!(auth.bearer.as_deref(), Some("tok-1"));
        assert_eq!(config.http.metrics_auth, None, "metrics stay open");

        let dir = tempfile::tempdir().expect("temp dir");
        let password = dir.path().join("password");
        let token = dir.path().join("token");
        std::fs::write(&password, "  pw from file \nsecond line\n").expect("write");
        std::fs::write(&token, "tok-2\n").expect("write");
        let text = format!(
            "[http.metrics_auth]\nusername = \"prometheus\"\npassword_file = {:?}\n\
             token_file = {:?}\n",
            password.display().to_string(),
            token.display().to_string()
        );
        let (config, _) = ok(&text);
        let metrics = config.http.metrics_auth.expect("metrics auth");
        assert_eq!(
            metrics.basic,
            Some(("prometheus".into(), "pw from file".into()))
        );
        assert_eq!(metrics.bearer.as_deref(), Some("tok-2"));
        assert_eq!(config.http.auth, None);
        // Inline tables work as anywhere else.
        let (config, _) = ok("[http]\nauth = { token = \"t\" }\n");
        assert_eq!(
            config.http.auth.and_then(|a| a.bearer).as_deref(),
            Some("t")
        );
    }

    #[test]
    fn auth_mistakes_each_have_a_message() {
        let all = errors(
            "[http.auth]\nusername = \"crew\"\n\n\
             [http.metrics_auth]\npassword = \"pw\"\ntoken = \"has space\"\n",
        );
        assert_eq!(
            all,
            [
                "venuemon.toml:2:1: [http.auth]: username needs a password (or password_file)",
                "venuemon.toml:5:12: [http.metrics_auth]: a password needs a username",
                "venuemon.toml:6:9: [http.metrics_auth]: the token must be printable ASCII \
                 without spaces (it is not shown)",
            ]
        );
        assert_eq!(
            one_error("[http.auth]\nusername = \"cr:ew\"\npassword = \"x\"\n"),
            "venuemon.toml:2:12: [http.auth]: username must be a user name without `:` or \
             control characters, like \"crew\", got \"cr:ew\""
        );
        assert_eq!(
            one_error("[http.auth]\ntoken = \"a\"\ntoken_file = \"/etc/venuemon/token\"\n"),
            "venuemon.toml:3:14: [http.auth]: set token or token_file, not both"
        );
        assert_eq!(
            one_error("[http.auth]\n"),
            "venuemon.toml:1:1: [http.auth]: set username and password (or password_file), or \
             token (or token_file); remove the table to leave its routes open"
        );
        assert_eq!(
            one_error("[http.auth]\ntokn = \"x\"\n"),
            "venuemon.toml:2:1: [http.auth]: unknown key `tokn`; did you mean `token`?"
        );
    }

    #[test]
    fn secrets_never_appear_in_messages() {
        for text in [
            "[http.auth]\nusername = \"crew\"\npassword = 987654\n",
            "[http.auth]\nusername = \"crew\"\npassword = \"\"\n",
            "[http.auth]\ntoken = [\"987654\"]\n",
            "[http.auth]\ntoken = \"98 7654\"\n",
        ] {
            let error = one_error(text);
            assert!(
                !error.contains("987654") && !error.contains("98 7654"),
                "{error}"
            );
            assert!(error.contains("not shown"), "{error}");
        }
        let (config, _) = ok("[http.auth]\nusername = \"crew\"\npassword = \"987654\"\n");
        let shown = format!("{config:?}");
        assert!(!shown.contains("987654"), "{shown}");
        assert!(shown.contains("crew"), "{shown}");
    }

    #[test]
    fn secret_files_must_be_readable_and_not_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n  \nsecret on line 3\n").expect("write");
        let error = one_error(&format!(
            "[http.auth]\nusername = \"crew\"\npassword_file = {:?}\n",
            missing.display().to_string()
        ));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:3:17: [http.auth]: password_file {missing:?} cannot be read: \
                 No such file"
            )),
            "{error}"
        );
        let error = one_error(&format!(
            "[http.auth]\ntoken_file = {:?}\n",
            empty.display().to_string()
        ));
        assert_eq!(
            error,
            format!(
                "venuemon.toml:2:14: [http.auth]: token_file {empty:?}: the first line is \
                 empty; put the secret on it"
            )
        );
        assert!(!error.contains("line 3"));
        let escaped = dir.path().join("escaped");
        // A secret no temporary path can contain (tempfile names are `.tmp` and letters/digits).
        std::fs::write(&escaped, "pass-word\u{1b}[2J\n").expect("write");
        let error = one_error(&format!(
            "[http.auth]\nusername = \"crew\"\npassword_file = {:?}\n",
            escaped.display().to_string()
        ));
        assert!(error.ends_with("the first line holds a control or bidirectional-formatting character; a secret is printable text"), "{error}");
        assert!(
            !error.contains("pass-word"),
            "the secret is never shown: {error}"
        );
        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 64 * 1024 + 1]).expect("write");
        let error = one_error(&format!(
            "[http.metrics_auth]\ntoken_file = {:?}\n",
            huge.display().to_string()
        ));
        assert!(
            error.ends_with(
                "is larger than 64 KiB: a secret file holds the secret on its first line"
            ),
            "{error}"
        );
    }

    #[test]
    fn credentials_in_clear_text_depend_on_listen_and_tls() {
        let auth = "[http.auth]\ntoken = \"t\"\n";
        let (config, _) = ok(&format!("[http]\nlisten = \"0.0.0.0:9842\"\n{auth}"));
        assert!(config.http.credentials_in_clear_text());
        let (config, _) = ok(&format!("[http]\nlisten = \"127.0.0.1:9842\"\n{auth}"));
        assert!(!config.http.credentials_in_clear_text());
        let (config, _) = ok(&format!("[http]\nlisten = \"[::1]:9842\"\n{auth}"));
        assert!(!config.http.credentials_in_clear_text());
        let (config, _) = ok("[http]\nlisten = \"0.0.0.0:9842\"\n");
        assert!(!config.http.credentials_in_clear_text(), "nothing to leak");
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::testing::self_signed(dir.path(), "server");
        let (config, _) = ok(&format!(
            "[http]\nlisten = \"0.0.0.0:9842\"\ntls_cert = {:?}\ntls_key = {:?}\n\
             [http.metrics_auth]\ntoken = \"t\"\n",
            files.cert.display().to_string(),
            files.key.display().to_string()
        ));
        assert_eq!(config.http.tls, Some(files));
        assert!(!config.http.credentials_in_clear_text());
    }

    #[test]
    fn tls_files_come_in_pairs_and_must_serve() {
        assert_eq!(
            one_error("[http]\ntls_cert = \"/etc/venuemon/cert.pem\"\n"),
            "venuemon.toml:2:12: [http]: tls_cert needs tls_key; set both (a PEM certificate \
             chain and its private key) or neither"
        );
        assert_eq!(
            one_error("[http]\ntls_key = \"/etc/venuemon/key.pem\"\n"),
            "venuemon.toml:2:11: [http]: tls_key needs tls_cert; set both (a PEM certificate \
             chain and its private key) or neither"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::testing::self_signed(dir.path(), "server");
        let text = |cert: &Path, key: &Path| {
            format!(
                "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
                cert.display().to_string(),
                key.display().to_string()
            )
        };
        let missing = dir.path().join("missing.pem");
        let error = one_error(&text(&missing, &files.key));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:2:12: [http]: tls_cert {missing:?} cannot be read"
            )),
            "{error}"
        );
        assert_eq!(
            one_error(&text(&files.key, &files.key)),
            format!(
                "venuemon.toml:2:12: [http]: tls_cert {:?} holds no certificate: expected a \
                 PEM certificate chain (-----BEGIN CERTIFICATE-----)",
                files.key
            )
        );
        let error = one_error(&text(&files.cert, &files.cert));
        assert!(
            error.starts_with(&format!(
                "venuemon.toml:3:11: [http]: tls_key {:?} holds no private key",
                files.cert
            )),
            "{error}"
        );
    }

    #[test]
    fn bad_listen_address_names_the_form() {
        assert_eq!(
            one_error("[http]\nlisten = \"localhost:80\"\n"),
            "venuemon.toml:2:10: [http]: listen must be an address and port like \
             \"0.0.0.0:9842\", \"[::]:9842\" or \":9842\", got \"localhost:80\""
        );
        let (config, _) = ok("[http]\nlisten = \":9000\"\n");
        assert_eq!(config.http.listen.to_string(), "0.0.0.0:9000");
        let (config, _) = ok("[http]\nlisten = \"[::]:9842\"\n");
        assert_eq!(config.http.listen.to_string(), "[::]:9842");
    }
}
