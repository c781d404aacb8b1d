//! Headless Chromium for tests that load a page in a real browser (needs Debian's `chromium`).
//! A small synchronous Chrome DevTools Protocol client: one websocket to the browser to open
//! tabs, one per tab ([`Page`]) to drive it and to record what it logged and requested.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use crate::common::{require_tool, wait_for};

/// How long chromium may take to start, to answer a command or to load a page.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Flags for a quiet, throwaway browser. Tests run as root, where chromium needs `--no-sandbox`;
/// `/dev/shm` is small in containers.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--remote-debugging-port=0",
];

/// Where tests save screenshots: `screenshots/` in the cargo target directory.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::common::project("target"));
    let dir = target.join("screenshots");
    fs::create_dir_all(&dir).expect("screenshot directory can be created");
    dir
}

/// How a page is opened, besides its URL and viewport.
#[derive(Default)]
pub struct Options {
    /// HTTP headers added to every request the page makes (e.g. `Authorization`).
    pub headers: Vec<(String, String)>,
    /// Opens the page with its scripts disabled.
    pub javascript_disabled: bool,
    /// Emulates `prefers-color-scheme: dark`.
    pub dark: bool,
    /// Languages for `navigator.languages` and the `Accept-Language` header, e.g. `"de-CH,de"`
    /// (chromium adds the q-weights: `de-CH,de;q=0.9`).
    pub accept_language: Option<String>,
}

/// A headless chromium, killed (with its profile removed) when dropped.
pub struct Browser {
    /// The DevTools connection to the browser itself, used to open tabs.
    cdp: Cdp,
    /// `host:port` of chromium's DevTools server.
    address: String,
    /// The chromium process, killed before its profile directory is removed.
    _process: Process,
    /// A fresh `--user-data-dir` and chromium's stderr.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromium; panics with its stderr when it does not start.
    pub fn launch() -> Browser {
        require_tool("chromium", "chromium");
        let profile = tempfile::tempdir().expect("temporary chromium profile");
        let log = profile.path().join("stderr.log");
        let child = Command::new("chromium")
            .args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.path().join("profile").display()
            ))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("chromium log file"))
            .spawn()
            .expect("chromium starts");
        let mut process = Process(child);
        let url = process.devtools_url(&log);
        let address = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .expect("DevTools URL is ws://host:port/...")
            .to_owned();
        Browser {
            cdp: Cdp::connect(&url),
            address,
            _process: process,
            _profile: profile,
        }
    }

    /// Opens `url` in a new tab with a `width` x `height` viewport and waits for its load event.
    pub fn open(&mut self, url: &str, width: u32, height: u32) -> Page {
        self.open_with(url, width, height, &Options::default())
    }

    /// Like [`Browser::open`], with `options` applied before the page loads. Widths below
    /// 600 are emulated as a mobile device (meta viewport honoured).
    pub fn open_with(&mut self, url: &str, width: u32, height: u32, options: &Options) -> Page {
        let target = self
            .cdp
            .call("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"]
            .as_str()
            .expect("Target.createTarget returns a targetId");
        let mut cdp = Cdp::connect(&format!("ws://{}/devtools/page/{id}", self.address));
        for domain in ["Page", "Runtime", "Network", "Log"] {
            cdp.call(&format!("{domain}.enable"), json!({}));
        }
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
        if !options.headers.is_empty() {
            let headers: serde_json::Map<String, Value> = options
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), json!(value)))
                .collect();
            cdp.call("Network.setExtraHTTPHeaders", json!({"headers": headers}));
        }
        if options.javascript_disabled {
            cdp.call(
                "Emulation.setScriptExecutionDisabled",
                json!({"value": true}),
            );
        }
        if options.dark {
            cdp.call(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
            );
        }
        if let Some(language) = &options.accept_language {
            let version = cdp.call("Browser.getVersion", json!({}));
            cdp.call(
                "Network.setUserAgentOverride",
                json!({"userAgent": version["userAgent"], "acceptLanguage": language}),
            );
        }
        let before = cdp.events.len();
        let navigation = cdp.call("Page.navigate", json!({"url": url}));
        if let Some(error) = navigation.get("errorText") {
            panic!("chromium cannot open {url}: {error}");
        }
        cdp.wait_for_event("Page.loadEventFired", before);
        Page { cdp }
    }
}

/// One tab. Its logs hold the events received so far: they are read whenever the tab talks
/// to chromium (`eval`, `wait_until`, `screenshot`), so check them after one of those.
pub struct Page {
    cdp: Cdp,
}

impl Page {
    /// Evaluates `js` (awaiting a promise) and returns its value; panics on a JS exception.
    pub fn eval(&mut self, js: &str) -> Value {
        let mut result = self.cdp.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(details) = result.get("exceptionDetails") {
            panic!("{js} threw: {}", exception_text(details));
        }
        result["result"]["value"].take()
    }

    /// Evaluates `js` every 100 ms until it is truthy and returns that value, or panics after
    /// `limit` naming `what` it waited for.
    pub fn wait_until(&mut self, what: &str, limit: Duration, js: &str) -> Value {
        wait_for(what, limit, || Some(self.eval(js)).filter(truthy))
    }

    /// Saves a PNG of the viewport at `path`, creating its directory.
    pub fn screenshot(&mut self, path: &Path) {
        let result = self
            .cdp
            .call("Page.captureScreenshot", json!({"format": "png"}));
        let data = result["data"]
            .as_str()
            .expect("Page.captureScreenshot returns data");
        let png = BASE64
            .decode(data.as_bytes())
            .expect("screenshot data is base64");
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).expect("screenshot directory can be created");
        }
        fs::write(path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// `console.error` calls, uncaught exceptions and errors the browser logged (failed
    /// resource loads, CSP violations), in order.
    pub fn console_errors(&self) -> Vec<String> {
        self.events()
            .filter_map(|(method, params)| match method {
                "Runtime.consoleAPICalled" if params["type"] == "error" => Some(
                    params["args"]
                        .as_array()?
                        .iter()
                        .map(remote_object_text)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                "Runtime.exceptionThrown" => Some(exception_text(&params["exceptionDetails"])),
                "Log.entryAdded" if params["entry"]["level"] == "error" => {
                    let entry = &params["entry"];
                    let text = entry["text"].as_str().unwrap_or_default();
                    Some(match entry["url"].as_str() {
                        Some(url) => format!("{text} ({url})"),
                        None => text.to_owned(),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Every URL the page requested, including requests that failed or were blocked.
    pub fn requests(&self) -> Vec<String> {
        self.events()
            .filter(|(method, _)| *method == "Network.requestWillBeSent")
            .filter_map(|(_, params)| params["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// The `alert`, `confirm` and `prompt` dialogs the page opened, as `"alert: message"`.
    /// They are dismissed at once, so the page never blocks on them.
    pub fn dialogs(&self) -> Vec<String> {
        self.events()
            .filter(|(method, _)| *method == "Page.javascriptDialogOpening")
            .map(|(_, params)| {
                let kind = params["type"].as_str().unwrap_or_default();
                let message = params["message"].as_str().unwrap_or_default();
                format!("{kind}: {message}")
            })
            .collect()
    }

    /// How many times the top frame navigated: 1 after `open`, more after a reload.
    pub fn navigations(&self) -> usize {
        self.events()
            .filter(|(method, params)| {
                *method == "Page.frameNavigated" && params["frame"].get("parentId").is_none()
            })
            .count()
    }

    fn events(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.cdp
            .events
            .iter()
            .filter_map(|event| Some((event["method"].as_str()?, &event["params"])))
    }
}

/// The chromium process, killed when dropped.
struct Process(Child);

impl Process {
    /// Waits for the "DevTools listening on ws://..." line chromium prints on stderr.
    fn devtools_url(&mut self, log: &Path) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let stderr = fs::read_to_string(log).unwrap_or_default();
            if let Some(url) = stderr
                .lines()
                .find_map(|line| line.strip_prefix("DevTools listening on "))
            {
                return url.trim().to_owned();
            }
            if let Ok(Some(status)) = self.0.try_wait() {
                panic!("chromium exited ({status}) before listening; its stderr:\n{stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "chromium did not listen within {TIMEOUT:?}; its stderr:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A DevTools websocket: commands and their answers, with the events in between recorded.
struct Cdp {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    /// Every event received, in order (`{"method": ..., "params": ...}`).
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let address = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("not a ws:// URL: {url}"));
        let stream = TcpStream::connect(address)
            .unwrap_or_else(|e| panic!("cannot connect to chromium at {address}: {e}"));
        let (socket, _) = tungstenite::client(url, stream)
            .unwrap_or_else(|e| panic!("websocket handshake with {url} failed: {e}"));
        Cdp {
            socket,
            next_id: 0,
            events: Vec::new(),
        }
    }

    /// Sends a command and returns its result; panics on an error or after [`TIMEOUT`].
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.send(method, params);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let mut message = self.receive(deadline, method);
            if message["id"] == id {
                if let Some(error) = message.get("error") {
                    panic!("chromium refused {method}: {error}");
                }
                return message["result"].take();
            }
        }
    }

    /// Reads until an event `method` is among the events recorded from index `since` on.
    fn wait_for_event(&mut self, method: &str, since: usize) {
        let deadline = Instant::now() + TIMEOUT;
        while !self.events[since..].iter().any(|e| e["method"] == method) {
            self.receive(deadline, method);
        }
    }

    fn send(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let message = json!({"id": self.next_id, "method": method, "params": params});
        self.socket
            .send(Message::text(message.to_string()))
            .unwrap_or_else(|e| panic!("cannot send {method} to chromium: {e}"));
        self.next_id
    }

    /// Reads one message. Events are recorded, and dialogs dismissed: an open `alert` would
    /// block the page and every command after it.
    fn receive(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "chromium did not answer {waiting_for} within {TIMEOUT:?}"
        );
        self.socket
            .get_mut()
            .set_read_timeout(Some(left))
            .expect("socket read timeout can be set");
        let text = match self.socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(_) => return Value::Null,
            // A signal (another test's child exiting) interrupted the read: read again.
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                return Value::Null;
            }
            Err(e) => panic!("no answer from chromium to {waiting_for} within {TIMEOUT:?}: {e}"),
        };
        let message: Value = serde_json::from_str(text.as_str())
            .unwrap_or_else(|e| panic!("chromium sent invalid JSON ({e}): {text}"));
        if message.get("method").is_some() {
            if message["method"] == "Page.javascriptDialogOpening" {
                self.send("Page.handleJavaScriptDialog", json!({"accept": false}));
            }
            self.events.push(message.clone());
        }
        message
    }
}

/// An exception as the console shows it: its description (with stack), else its message.
fn exception_text(details: &Value) -> String {
    details["exception"]["description"]
        .as_str()
        .or(details["text"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// A `console` argument as text: strings bare, other values as JSON, objects by description.
fn remote_object_text(object: &Value) -> String {
    match &object["value"] {
        Value::String(text) => text.clone(),
        Value::Null => object["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        value => value.to_string(),
    }
}

/// JavaScript truthiness of a value returned by value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// Serves `html` at `/` on loopback with `img-src 'self'` as its CSP; every other path is a
/// 404. `{header-name}` in the page is replaced by that request header. Returns the page's URL.
fn serve(html: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("test server binds");
    let url = format!("http://{}/", listener.local_addr().expect("local address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream, html));
        }
    });
    url
}

fn answer(mut stream: TcpStream, html: &str) {
    let mut lines = BufReader::new(&stream).lines().map_while(Result::ok);
    let request = lines.next().unwrap_or_default();
    let mut page = html.to_owned();
    for line in lines.take_while(|line| !line.is_empty()) {
        if let Some((name, value)) = line.split_once(':') {
            let placeholder = format!("{{{}}}", name.to_ascii_lowercase());
            page = page.replace(&placeholder, value.trim());
        }
    }
    let (status, body) = match request.split(' ').nth(1) {
        Some("/") => ("200 OK", page),
        _ => ("404 Not Found", "not found".to_owned()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Security-Policy: img-src 'self'\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn chromium_records_console_errors_and_failed_requests() {
    let url = serve(
        "<img src=/nope.png><img src=http://127.0.0.1:9/blocked.png>\
         <script>console.error('x'); throw new Error('boom')</script>",
    );
    let mut browser = Browser::launch();
    let mut page = browser.open(&url, 800, 600);
    page.eval("1"); // reads the events that came after the load event
    let errors = page.console_errors();
    assert!(errors.contains(&"x".to_owned()), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("boom")), "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.contains("/nope.png")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("Content Security Policy")),
        "{errors:#?}"
    );
    let requests = page.requests();
    assert!(
        requests.contains(&format!("{url}nope.png")),
        "{requests:#?}"
    );
    assert!(
        requests.contains(&"http://127.0.0.1:9/blocked.png".to_owned()),
        "{requests:#?}"
    );
}

#[test]
fn chromium_sees_a_script_change_without_a_reload() {
    let url = serve(
        "<p id=s>old</p>\
         <script>setTimeout(() => document.getElementById('s').textContent = 'new', 300)</script>",
    );
    let mut browser = Browser::launch();
    let mut page = browser.open(&url, 800, 600);
    let text = page.wait_until(
        "the script to change the paragraph",
        Duration::from_secs(5),
        "document.getElementById('s').textContent === 'new'",
    );
    assert_eq!(text, json!(true));
    assert_eq!(page.navigations(), 1);
}

#[test]
fn chromium_dismisses_and_records_dialogs() {
    let url = serve("<script>alert(1)</script><p id=after>loaded</p>");
    let mut browser = Browser::launch();
    let mut page = browser.open(&url, 800, 600);
    assert_eq!(
        page.eval("document.getElementById('after').textContent"),
        "loaded"
    );
    assert_eq!(page.eval("confirm('sure?')"), false);
    assert_eq!(page.dialogs(), ["alert: 1", "confirm: sure?"]);
}

#[test]
fn chromium_applies_options_before_the_page_loads() {
    let url = serve(
        "<p id=js>off</p><script>document.getElementById('js').textContent = 'on'</script>\
         <p id=language>{accept-language}</p><p id=auth>{authorization}</p>",
    );
    let mut browser = Browser::launch();
    let text = |id: &str| format!("document.getElementById('{id}').textContent");

    let scriptless = Options {
        javascript_disabled: true,
        ..Options::default()
    };
    let mut page = browser.open_with(&url, 800, 600, &scriptless);
    assert_eq!(page.eval(&text("js")), "off");

    let options = Options {
        headers: vec![("Authorization".into(), "Bearer t0ken".into())],
        dark: true,
        accept_language: Some("de-CH,de".into()),
        ..Options::default()
    };
    let mut page = browser.open_with(&url, 800, 600, &options);
    assert_eq!(page.eval(&text("js")), "on");
    assert_eq!(
        page.eval("matchMedia('(prefers-color-scheme: dark)').matches"),
        true
    );
    assert_eq!(page.eval(&text("language")), "de-CH,de;q=0.9");
    assert_eq!(page.eval("navigator.language"), "de-CH");
    assert_eq!(page.eval(&text("auth")), "Bearer t0ken");
}

#[test]
fn chromium_takes_a_png_screenshot_of_a_mobile_viewport() {
    let url = serve(
        "<meta name=viewport content='width=device-width'>\
         <body style='background: teal'><h1>venuemon</h1>",
    );
    let mut browser = Browser::launch();
    let mut page = browser.open(&url, 390, 844);
    assert_eq!(page.eval("innerWidth"), 390);
    let path = screenshot_dir().join("browser-driver.png");
    let _ = fs::remove_file(&path);
    page.screenshot(&path);
    let png = fs::read(&path).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {path:?}");
}
