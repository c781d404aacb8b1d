//! Shared helpers: the agent as a child process and its config, HTTP, fixtures, Debian tools
//! (tcpdump), root checks, client MACs, self-signed certificates, the leak check. Lab
//! namespaces, veth pairs and halls are in `venue`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_venuemon");

/// `rel` in the project's own directory (where `Cargo.toml` is).
pub fn project(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `../shared/fixtures`, where third-party fixtures live (never copied into the project).
pub fn fixtures() -> PathBuf {
    project("../shared/fixtures")
}

/// `rel` under `tests/fixtures`, the project's own recordings.
pub fn project_fixture(rel: &str) -> PathBuf {
    project("tests/fixtures").join(rel)
}

/// Fails loudly (never skips) when a test needs root and does not have it.
pub fn require_root(test: &str) {
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    assert_eq!(
        uid.ok(),
        Some(0),
        "{test} needs root (network namespaces): run the suite as root, as tests/run.sh does"
    );
}

/// Fails loudly when a Debian tool the test needs is missing.
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is missing: apt-get install {package} (tests/run.sh installs it)"
    );
}

/// Runs a command and returns its output, panicking with its whole output on failure.
pub fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What Debian's `tcpdump` prints for `tcpdump ARGS -r FILE`.
pub fn tcpdump(args: &[&str], file: &Path) -> String {
    require_tool("tcpdump", "tcpdump");
    let file = file.to_str().expect("utf-8 path");
    let args: Vec<&str> = args.iter().copied().chain(["-r", file]).collect();
    String::from_utf8_lossy(&run("tcpdump", &args).stdout).into_owned()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A plain HTTP/1.1 GET on loopback, returning status and body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Some((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `/metrics` on loopback `port` until `ok` accepts it, for up to `limit`.
pub fn metrics_when(port: u16, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
    wait_for(what, limit, || {
        http_get(port, "/metrics")
            .map(|(_, body)| body)
            .filter(|m| ok(m))
    })
}

/// A running agent; stopped with SIGTERM when dropped. Its log goes to a file.
pub struct Agent {
    child: Child,
    /// Where its stderr (the log) is written.
    pub log: PathBuf,
}

impl Agent {
    /// Starts `venuemon run` with `args`, optionally inside network namespace `netns`.
    pub fn start(netns: Option<&str>, args: &[&str], envs: &[(&str, &str)], log: PathBuf) -> Agent {
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, BIN]);
                c
            }
            None => Command::new(BIN),
        };
        command.arg("run").args(args).envs(envs.iter().copied());
        Agent::spawn(command, log)
    }

    /// Starts `command`, which runs the agent (e.g. through `setpriv`, which execs it), with
    /// debug logs to `log`.
    pub fn spawn(mut command: Command, log: PathBuf) -> Agent {
        let log_file = std::fs::File::create(&log).expect("log file");
        command
            .env("VENUEMON_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(log_file);
        Agent {
            child: command.spawn().expect("venuemon starts"),
            log,
        }
    }

    /// Writes `config` to `dir/venuemon.toml` and starts `venuemon run --config` on it
    /// (inside `netns` when given), logging to `dir/log`.
    pub fn with_config(netns: Option<&str>, dir: &Path, config: &str, log: &str) -> Agent {
        let path = dir.join("venuemon.toml");
        std::fs::write(&path, config).expect("write config");
        let path = path.to_str().expect("utf-8 path");
        Agent::start(netns, &["--config", path], &[], dir.join(log))
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The agent's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the agent to end (after a signal the test sent it).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait for the agent")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        // `ip netns exec` execs the agent, so the pid is the agent's own.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "venuemon did not stop within 10 s of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The config most agent tests start from: `[http] listen` on a free loopback port, a 1 s
/// tick, state under the test's directory, one zone `hall`, and the neighbour table off
/// (the host's would count); each test adds what it is about.
pub struct TestConfig {
    /// The port `[http] listen` is on.
    pub port: u16,
    dir: PathBuf,
    http: String,
    zone: String,
    neighbours: bool,
    sections: String,
}

impl TestConfig {
    /// The config of an agent whose files (config, state, log) are in `dir`.
    pub fn new(dir: &Path) -> TestConfig {
        TestConfig {
            port: free_port(),
            dir: dir.to_path_buf(),
            http: String::new(),
            zone: String::new(),
            neighbours: false,
            sections: String::new(),
        }
    }

    /// Adds TOML lines to the `[http]` table.
    pub fn http(mut self, lines: &str) -> TestConfig {
        self.http.push_str(lines);
        self.http.push('\n');
        self
    }

    /// Adds TOML lines to zone `hall`.
    pub fn zone(mut self, lines: &str) -> TestConfig {
        self.zone.push_str(lines);
        self.zone.push('\n');
        self
    }

    /// Leaves the neighbour source on.
    pub fn neighbours(mut self) -> TestConfig {
        self.neighbours = true;
        self
    }

    /// Adds TOML tables (sources, `[http.auth]` …) after the rest.
    pub fn section(mut self, toml: &str) -> TestConfig {
        self.sections.push('\n');
        self.sections.push_str(toml);
        self.sections.push('\n');
        self
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        let neighbours = if self.neighbours {
            ""
        } else {
            "\n[source.neighbours]\nenabled = false\n"
        };
        format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\n{http}\n\
             [agent]\ntick = \"1s\"\nstate_dir = \"{state}\"\n\n\
             [[zone]]\nid = \"hall\"\n{zone}{neighbours}{sections}",
            port = self.port,
            http = self.http,
            state = self.dir.join("state").display(),
            zone = self.zone,
            sections = self.sections,
        )
    }

    /// Writes the config and starts the agent on it (inside `netns` when given), logging to
    /// `agent.log`.
    pub fn start(&self, netns: Option<&str>) -> Agent {
        Agent::with_config(netns, &self.dir, &self.text(), "agent.log")
    }
}

/// MAC of lab client `n`: every third one locally administered (randomized).
pub fn mac(n: usize) -> String {
    let first = if n.is_multiple_of(3) { "06" } else { "00" };
    format!("{first}:16:3e:5d:{:02x}:{:02x}", n / 256, n % 256)
}

/// MAC of lab station `n` (1-based): locally administered (so counted as randomized), with
/// letters so that the lower- and upper-case forms differ.
pub fn station_mac(n: usize) -> String {
    format!("0a:bc:de:f0:1a:{n:02x}")
}

/// A self-signed certificate for `localhost` and 127.0.0.1 (P-256, end-entity) and its key,
/// written to `dir/cert.pem` and `dir/key.pem`.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let mut params = rcgen::CertificateParams::new(["localhost".to_string(), "127.0.0.1".into()])
        .expect("valid subject names");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let key = rcgen::KeyPair::generate().expect("a P-256 key");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write the certificate");
    std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
    (cert_path, key_path)
}

/// Runs `promtool check metrics` on an exposition and panics with its complaints.
pub fn promtool_check(exposition: &str) {
    require_tool("promtool", "prometheus");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(exposition.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool output");
    assert!(
        output.status.success(),
        "promtool check metrics rejected the exposition:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Extracts a ttar archive (node_exporter's text archive format) under `dest`.
pub fn untar_ttar(archive: &Path, dest: &Path) {
    let data = std::fs::read(archive).expect("ttar archive readable");
    let mut lines = data.split(|b| *b == b'\n').peekable();
    let text = |l: &[u8]| String::from_utf8_lossy(l).into_owned();
    while let Some(line) = lines.next() {
        let line = text(line);
        if let Some(dir) = line.strip_prefix("Directory: ") {
            std::fs::create_dir_all(dest.join(dir)).expect("mkdir");
        } else if let Some(path) = line.strip_prefix("Path: ") {
            let target = dest.join(path);
            let next = text(lines.next().expect("ttar: Path without body"));
            if let Some(link) = next.strip_prefix("SymlinkTo: ") {
                std::os::unix::fs::symlink(link, &target).expect("symlink");
                continue;
            }
            let count: usize = next
                .strip_prefix("Lines: ")
                .and_then(|n| n.parse().ok())
                .expect("ttar: Lines: N");
            let mut content = Vec::new();
            for _ in 0..count {
                content.extend_from_slice(lines.next().expect("ttar: short file"));
                content.push(b'\n');
            }
            if content.ends_with(b"EOF\n") {
                content.truncate(content.len() - 4);
            }
            let content = replace(&content, b"NULLBYTE", b"\0");
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&target, content).expect("write");
        }
    }
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Fails when any of `outputs` (name, text) holds any of `secrets` (client MACs, addresses,
/// hostnames), written in lower or upper case or, for MACs, without colons.
pub fn assert_nothing_leaks<S: AsRef<str>>(
    outputs: &[(&str, &str)],
    secrets: impl IntoIterator<Item = S>,
) {
    for secret in secrets {
        let secret = secret.as_ref();
        let bare = secret.replace(':', "");
        for form in [
            secret.to_lowercase(),
            secret.to_uppercase(),
            bare.to_lowercase(),
            bare.to_uppercase(),
        ] {
            for (what, text) in outputs {
                assert!(!text.contains(&form), "{what} contains {form:?}");
            }
        }
    }
}

/// Makes a FIFO at `path` (coreutils' `mkfifo`): what the agent must refuse without blocking.
pub fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
}

/// `venuemon run --simulate` with 5 zones, 10 APs and a 1 s tick on `port`, logging into
/// `dir`, with `extra` arguments (e.g. `--history FILE`).
pub fn simulated_agent(dir: &std::path::Path, port: u16, extra: &[&str]) -> Agent {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--simulate",
        "--zones",
        "5",
        "--aps",
        "10",
        "--tick",
        "1s",
        "--listen",
        &listen,
    ];
    args.extend_from_slice(extra);
    Agent::start(None, &args, &[], dir.join("agent.log"))
}
