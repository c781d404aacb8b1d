//! Access control and TLS for real: the agent serving HTTPS with `[http.auth]` and
//! `[http.metrics_auth]`, talked to with `curl` (Debian package `curl`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{self, Agent, BIN};

/// Status and body of `curl` fetching `url` with `args`; status 0 when curl failed to
/// connect or to complete the handshake.
fn curl(cert: &Path, url: &str, args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["--silent", "--max-time", "5", "--cacert"])
        .arg(cert)
        .args(args)
        .args(["--write-out", "\n%{http_code}", url])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn https_agent_asks_pages_and_metrics_for_their_own_credentials() {
    common::require_tool("curl", "curl");
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let (cert, key) = common::self_signed(root);
    let password_file = root.join("password");
    std::fs::write(&password_file, "pages-pw-51d7\n").expect("write password");
    let port = common::free_port();
    let config = format!(
        r#"
[http]
listen = "127.0.0.1:{port}"
tls_cert = "{cert}"
tls_key = "{key}"

[http.auth]
username = "crew"
password_file = "{password}"
token = "page-token-8c2e"

[http.metrics_auth]
token = "scrape-token-3f9a"

[agent]
tick = "1s"
state_dir = "{root}/state"

[[zone]]
id = "hall-a"
subnets = ["10.10.0.0/22"]

[source.netdev]
enabled = false
"#,
        cert = cert.display(),
        key = key.display(),
        password = password_file.display(),
        root = root.display(),
    );
    let mut agent = Agent::with_config(None, root, &config, "agent.log");
    let base = format!("https://127.0.0.1:{port}");
    let url = |path: &str| format!("{base}{path}");

    // /healthz is open, over HTTPS.
    let (status, body) = common::wait_for("the agent over HTTPS", Duration::from_secs(15), || {
        let answer = curl(&cert, &url("/healthz"), &[]);
        (answer.0 == 200).then_some(answer)
    });
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    // Pages and API: nothing without the right credentials, and no data in the refusal.
    let (status, body) = curl(&cert, &url("/api/status"), &[]);
    assert_eq!((status, body.as_str()), (401, "authentication required\n"));
    let (status, body) = curl(&cert, &url("/api/status"), &["--user", "crew:wrong"]);
    assert_eq!(status, 401);
    assert!(!body.contains("hall-a"), "{body}");
    let bearer = |token: &str| format!("Authorization: Bearer {token}");
    let wrong_token = bearer("page-token-8c2f");
    assert_eq!(curl(&cert, &url("/"), &["--header", &wrong_token]).0, 401);
    let (status, body) = curl(
        &cert,
        &url("/api/status"),
        &["--user", "crew:pages-pw-51d7"],
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"hall-a\""), "{body}");
    let page_token = bearer("page-token-8c2e");
    let (status, body) = curl(&cert, &url("/api/status"), &["--header", &page_token]);
    assert_eq!(status, 200, "{body}");

    // /metrics has its own token; the page credentials do not open it.
    assert_eq!(curl(&cert, &url("/metrics"), &[]).0, 401);
    let page_basic = ["--user", "crew:pages-pw-51d7"];
    assert_eq!(curl(&cert, &url("/metrics"), &page_basic).0, 401);
    let scrape = bearer("scrape-token-3f9a");
    let (status, metrics) = curl(&cert, &url("/metrics"), &["--header", &scrape]);
    assert_eq!(status, 200, "{metrics}");
    assert!(
        metrics.contains("venuemon_http_auth_failures_total{route_group=\"page\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("venuemon_http_auth_failures_total{route_group=\"metrics\"} 1"),
        "{metrics}"
    );

    // Plain HTTP to the TLS port gets no HTTP answer, and the server goes on.
    let plain = common::http_get(port, "/healthz");
    assert!(
        !matches!(plain, Some((200, _))),
        "plain HTTP answered: {plain:?}"
    );
    let (status, _) = curl(&cert, &url("/api/status"), &["--header", &page_token]);
    assert_eq!(status, 200, "HTTPS still works after a failed handshake");

    // A client that does not trust the certificate does not get through.
    let untrusting = Command::new("curl")
        .args(["--silent", "--max-time", "5", &url("/healthz")])
        .output()
        .expect("curl runs");
    assert!(!untrusting.status.success());

    let status = agent.stop();
    assert!(status.success(), "{status:?}; log:\n{}", agent.log());
    let log = agent.log();
    assert!(log.contains("tls handshake failed"), "{log}");
    common::assert_nothing_leaks(
        &[("the log", &log)],
        ["pages-pw-51d7", "page-token-8c2", "scrape-token-3f9a"],
    );
}

#[test]
fn check_config_names_a_tls_file_that_cannot_serve_and_hides_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, _) = common::self_signed(dir.path());
    let config = dir.path().join("venuemon.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\nlisten = \"127.0.0.1:9842\"\ntls_cert = \"{cert}\"\ntls_key = \"{cert}\"\n\n\
             [http.auth]\nusername = \"crew\"\npassword = \"pw-0c4b\"\n",
            cert = cert.display()
        ),
    )
    .expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let out = Command::new(BIN)
        .args(["check-config", config])
        .output()
        .expect("venuemon runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{config}:4:11: [http]: tls_key {:?} holds no private key",
            cert.display().to_string()
        )),
        "{stderr}"
    );

    // Without TLS, on every address: described, with a warning, and the password unseen.
    std::fs::write(
        config,
        "[http]\nlisten = \"0.0.0.0:9842\"\n\n[http.auth]\nusername = \"crew\"\npassword = \"pw-0c4b\"\n",
    )
    .expect("write config");
    let out = Command::new(BIN)
        .args(["check-config", config])
        .output()
        .expect("venuemon runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("access: pages and API basic auth for user crew; /metrics open"),
        "{stdout}"
    );
    assert!(
        stderr.contains("credentials travel in clear text"),
        "{stderr}"
    );
    common::assert_nothing_leaks(&[("stdout", &stdout), ("stderr", &stderr)], ["pw-0c4b"]);
}
