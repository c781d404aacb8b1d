//! The servers tests start (a real Prometheus from Debian `prometheus`, Alertmanager from
//! `prometheus-alertmanager`): on a free loopback port or inside a network namespace, waited
//! for until ready, killed when dropped; Prometheus' HTTP API as JSON.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::venue::{self, Netns};

/// How long a server may take to answer `/-/ready`.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// Where a server listens.
pub enum Listen<'a> {
    /// A free port on 127.0.0.1 of the host.
    Loopback,
    /// Every address of the namespace, on the given port.
    Netns(&'a Netns, u16),
}

/// A server the test started, its log in `<dir>/<program>.log`; killed when dropped.
pub struct Daemon {
    child: Child,
    /// The port it listens on (in its namespace, if any).
    pub port: u16,
    netns: Option<String>,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program` (from Debian `package`) with the arguments `args(listen address)`
    /// gives, and waits for `/-/ready`; a server that exits or is not ready in time fails the
    /// test with its log's tail.
    pub fn start(
        program: &str,
        package: &str,
        listen: Listen,
        dir: &Path,
        args: impl FnOnce(&str) -> Vec<String>,
    ) -> Daemon {
        common::require_tool(program, package);
        let (mut command, address, port, netns) = match listen {
            Listen::Loopback => {
                let port = common::free_port();
                (Command::new(program), "127.0.0.1", port, None)
            }
            Listen::Netns(ns, port) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", &ns.0, program]);
                (command, "0.0.0.0", port, Some(ns.0.clone()))
            }
        };
        let log = dir.join(format!("{program}.log"));
        let child = command
            .args(args(&format!("{address}:{port}")))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        let mut daemon = Daemon {
            child,
            port,
            netns,
            log,
        };
        let deadline = Instant::now() + READY_LIMIT;
        while daemon
            .get("/-/ready")
            .is_none_or(|(status, _)| status != 200)
        {
            let exited = daemon.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "{program} not ready within {READY_LIMIT:?} (exit: {exited:?}); its log ends:\n{}",
                daemon.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    /// GET of `path`: status and body. Inside a namespace (through curl) only a 2xx answer
    /// comes back, as 200.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        match &self.netns {
            Some(ns) => venue::get_in(ns, self.port, path).map(|body| (200, body)),
            None => common::http_get(self.port, path),
        }
    }

    /// GET of `path`, as JSON whatever the status.
    pub fn get_json(&self, path: &str) -> Result<Value, String> {
        let (_, body) = self.get(path).ok_or("no answer")?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Prometheus with its config file, its data in `<dir>/data` (the agent's WAL with
/// `--enable-feature=agent`) and its log in `<dir>/prometheus.log`.
pub struct Prometheus(pub Daemon);

impl Prometheus {
    /// Starts Prometheus on `config` with extra `flags` (agent mode, remote-write receiver).
    pub fn start(listen: Listen, config: &Path, dir: &Path, flags: &[&str]) -> Prometheus {
        let storage = if flags.contains(&"--enable-feature=agent") {
            "--storage.agent.path"
        } else {
            "--storage.tsdb.path"
        };
        Prometheus(Daemon::start(
            "prometheus",
            "prometheus",
            listen,
            dir,
            |address| {
                let mut args = vec![
                    format!("--config.file={}", config.display()),
                    format!("{storage}={}", dir.join("data").display()),
                    format!("--web.listen-address={address}"),
                ];
                args.extend(flags.iter().map(|f| f.to_string()));
                args
            },
        ))
    }

    /// Its base URL (from its namespace, if any).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    /// GET of API `path` with `params` (values percent-encoded); the JSON's `data`, or the
    /// error Prometheus gave.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let params: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let json = self.0.get_json(&format!("{path}?{}", params.join("&")))?;
        if json["status"] == "success" {
            Ok(json["data"].clone())
        } else {
            Err(format!("{}: {}", json["errorType"], json["error"]))
        }
    }

    /// The `result` of instant query `promql` at `time` (Unix seconds), or now.
    pub fn query(&self, promql: &str, time: Option<f64>) -> Result<Value, String> {
        let time = time.map(|t| format!("{t:.3}"));
        let mut params = vec![("query", promql)];
        params.extend(time.as_deref().map(|t| ("time", t)));
        Ok(self.api("/api/v1/query", &params)?["result"].take())
    }

    /// The single value of instant query `promql` at `time` (or now); None unless exactly one
    /// series answers.
    pub fn value(&self, promql: &str, time: Option<f64>) -> Option<f64> {
        let result = self.query(promql, time).ok()?;
        let [sample] = result.as_array()?.as_slice() else {
            return None;
        };
        sample["value"][1].as_str()?.parse().ok()
    }

    /// The `result` of range query `promql` over `[start, end]` (Unix seconds) every `step`
    /// seconds.
    pub fn query_range(
        &self,
        promql: &str,
        start: i64,
        end: i64,
        step: u64,
    ) -> Result<Value, String> {
        let (start, end, step) = (start.to_string(), end.to_string(), step.to_string());
        let params = [
            ("query", promql),
            ("start", &start),
            ("end", &end),
            ("step", &step),
        ];
        Ok(self.api("/api/v1/query_range", &params)?["result"].take())
    }
}

/// A series' samples in a range answer (`values`): (time, value) in order.
pub fn samples(series: &Value) -> Vec<(f64, f64)> {
    series["values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v[0].as_f64()?, v[1].as_str()?.parse().ok()?)))
        .collect()
}

/// Percent-encoding of a query parameter (RFC 3986 unreserved characters kept).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_that_cannot_start_fails_the_test_with_its_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, "scrape_configs: [nonsense").expect("write config");
    let failure =
        std::panic::catch_unwind(|| Prometheus::start(Listen::Loopback, &config, dir.path(), &[]))
            .err()
            .expect("a Prometheus on a broken config is never ready");
    let message = failure.downcast_ref::<String>().expect("a panic message");
    assert!(
        message.contains("prometheus not ready") && message.contains("prometheus.yml"),
        "{message}"
    );
}
