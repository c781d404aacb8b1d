//! The monitoring stack of `deploy/`: `promtool` on the Prometheus config, rules and rule
//! tests, the rule lint (`deploy/prometheus/lint.py`, Debian's python3 and python3-yaml),
//! `amtool` on the Alertmanager config (Debian's prometheus-alertmanager), and the stack test:
//! a real Prometheus (Debian's prometheus) started with `deploy/prometheus/`, scraping a
//! dnsmasq lab agent, a hostapd lab agent and a `replay --serve` of an 802.11 capture, where
//! every dashboard panel query must return data and filling the DHCP pool fires the pool
//! alert, which a real Alertmanager started with `deploy/alertmanager/` delivers to the
//! critical receiver while muting its warning twin. The stack test needs root (network
//! namespaces) and the DHCP and hostapd lab tools.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Agent, BIN};
use crate::dhcp_lab::{self, Processes};
use crate::hostapd_lab::{self, Lab};
use crate::prometheus::{Daemon, Listen, Prometheus};
use crate::venue::{Hall, Netns, veth};

/// Panels of `dashboards/*.json` that get no data in the stack test, as (dashboard title,
/// panel title, why): each for a source the lab does not run. A listed panel that gets data
/// fails the test, so the list stays honest.
const PANELS_WITHOUT_LAB_DATA: &[(&str, &str, &str)] = &[(
    "venuemon / DHCP and uplink",
    "DHCP allocation failures",
    "Kea's own statistics (its control socket): the stack's DHCP server is dnsmasq",
)];

/// `deploy/prometheus/<rel>`.
fn deploy(rel: &str) -> PathBuf {
    common::project("deploy/prometheus").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Runs `program args` and fails with its whole output unless it succeeds; returns that
/// output (stdout, then stderr).
fn checked(program: &str, args: &[&str]) -> String {
    let out = common::run(program, args);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `text` with each `(from, to)` replaced, each `from` found exactly once: an override of the
/// shipped file that fails loudly when the file no longer has what it overrides.
fn overridden(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .fold(text.to_string(), |text, (from, to)| {
            assert_eq!(
                text.matches(from).count(),
                1,
                "the override expects `{from}` once in the shipped file"
            );
            text.replacen(from, to, 1)
        })
}

/// The alert rules with every `for:` in minutes turned into as many seconds: the test's own
/// rule file, so that an alert goes pending then fires within seconds.
fn alerts_in_seconds() -> String {
    let text = read(&deploy("alerts/venuemon.yml"));
    let mut out = String::new();
    let mut scaled = 0;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match trimmed
            .strip_prefix("for: ")
            .and_then(|d| d.strip_suffix('m'))
        {
            Some(minutes) if minutes.parse::<u32>().is_ok() => {
                let indent = &line[..line.len() - trimmed.len()];
                out.push_str(&format!("{indent}for: {minutes}s\n"));
                scaled += 1;
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(scaled > 0, "no `for: Nm` in the alert rules");
    out
}

/// Lays out a Prometheus folder in `dir` as `deploy/prometheus/` is: `prometheus.yml` (the
/// given text), `rules` (the shipped folder, linked), `alerts/venuemon.yml` (the given
/// text) and `targets/<name>` files.
fn layout(dir: &Path, config: &str, alerts: &str, targets: &[(&str, &str)]) -> PathBuf {
    std::fs::write(dir.join("prometheus.yml"), config).expect("write prometheus.yml");
    std::os::unix::fs::symlink(deploy("rules"), dir.join("rules")).expect("link rules");
    std::fs::create_dir(dir.join("alerts")).expect("alerts dir");
    std::fs::write(dir.join("alerts/venuemon.yml"), alerts).expect("write alerts");
    std::fs::create_dir(dir.join("targets")).expect("targets dir");
    for (name, text) in targets {
        std::fs::write(dir.join("targets").join(name), text).expect("write targets");
    }
    dir.join("prometheus.yml")
}

#[test]
fn prometheus_config_rules_and_example_targets_pass_promtool() {
    common::require_tool("promtool", "prometheus");
    let shipped = deploy("prometheus.yml");
    checked(
        "promtool",
        &["check", "config", shipped.to_str().expect("utf-8")],
    );
    // The example discovery file, where the config looks for discovery files: promtool reads
    // and checks each file the glob matches.
    let dir = tempfile::tempdir().expect("temp dir");
    let example = read(&deploy("targets/venue.yml.example"));
    let config = layout(
        dir.path(),
        &read(&shipped),
        &read(&deploy("alerts/venuemon.yml")),
        &[("venue.yml", &example)],
    );
    let out = checked(
        "promtool",
        &["check", "config", config.to_str().expect("utf-8")],
    );
    assert!(!out.contains("WARNING"), "{out}");
}

#[test]
fn every_alert_passes_its_promtool_rule_tests() {
    common::require_tool("promtool", "prometheus");
    let tests: Vec<String> = std::fs::read_dir(deploy("tests"))
        .expect("deploy/prometheus/tests")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(!tests.is_empty(), "no rule test in deploy/prometheus/tests");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    checked("promtool", &args);
}

#[test]
fn rule_lint_passes_the_shipped_rules_and_reports_planted_faults() {
    common::require_tool("promtool", "prometheus");
    common::require_tool("python3", "python3-yaml");
    let lint = deploy("lint.py");
    let out = checked("python3", &[lint.to_str().expect("utf-8")]);
    assert!(out.contains("clean"), "{out}");
    let tests = deploy("lint_test.py");
    checked(
        "python3",
        &["-m", "unittest", tests.to_str().expect("utf-8")],
    );
}

#[test]
fn alertmanager_config_passes_amtool_and_routes_by_severity() {
    common::require_tool("amtool", "prometheus-alertmanager");
    let config = common::project("deploy/alertmanager/alertmanager.yml");
    let config = config.to_str().expect("utf-8");
    checked("amtool", &["check-config", config]);
    let file = format!("--config.file={config}");
    for (severity, receiver) in [("critical", "crew-critical"), ("warning", "crew-warning")] {
        let label = format!("severity={severity}");
        let out = checked(
            "amtool",
            &[
                "config",
                "routes",
                "test",
                &file,
                "alertname=DhcpPoolFilling",
                &label,
            ],
        );
        assert_eq!(out.lines().next(), Some(receiver), "{out}");
    }
}

/// Alertmanager with `deploy/alertmanager/alertmanager.yml` overridden to send to a webhook
/// of the test at `hook_port` without waiting, its state in `dir`.
fn alertmanager(dir: &Path, hook_port: u16) -> Daemon {
    let shipped = common::project("deploy/alertmanager/alertmanager.yml");
    let critical = format!("http://127.0.0.1:{hook_port}/alerts/critical");
    let warning = format!("http://127.0.0.1:{hook_port}/alerts/warning");
    let config = overridden(
        &read(&shipped),
        &[
            ("group_wait: 30s", "group_wait: 1s"),
            ("group_wait: 10s", "group_wait: 1s"),
            ("http://127.0.0.1:9099/alerts/critical", &critical),
            ("http://127.0.0.1:9099/alerts/warning", &warning),
        ],
    );
    let path = dir.join("alertmanager.yml");
    std::fs::write(&path, config).expect("write alertmanager.yml");
    Daemon::start(
        "prometheus-alertmanager",
        "prometheus-alertmanager",
        Listen::Loopback,
        dir,
        |address| {
            vec![
                format!("--config.file={}", path.display()),
                format!("--storage.path={}", dir.join("data").display()),
                format!("--web.listen-address={address}"),
                // No cluster: a single Alertmanager, and no port 9094 taken.
                "--cluster.listen-address=".to_string(),
            ]
        },
    )
}

/// A webhook receiver on a free loopback port: each request's path and JSON body, in order
/// of arrival. Its thread ends with the test binary.
fn webhook() -> (u16, mpsc::Receiver<(String, Value)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("webhook binds");
    let port = listener.local_addr().expect("address").port();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let mut length = 0;
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if send.send((path, json)).is_err() {
                return;
            }
        }
    });
    (port, receive)
}

/// Whether a webhook body holds a firing alert with all of `labels`.
fn notifies(body: &Value, labels: &[(&str, &str)]) -> bool {
    body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["status"] == "firing" && labels.iter().all(|(k, v)| a["labels"][*k] == *v))
}

/// Template variables of a dashboard, each with the values Grafana offers for it.
type Variables = Vec<(String, Vec<String>)>;

/// A panel's PromQL queries.
struct Panel {
    dashboard: String,
    title: String,
    exprs: Vec<String>,
}

/// Every panel with queries, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<Panel> {
    fn walk(title: &str, panels: &Value, out: &mut Vec<Panel>) {
        for panel in panels.as_array().into_iter().flatten() {
            let exprs: Vec<String> = panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["expr"].as_str())
                .filter(|e| !e.trim().is_empty())
                .map(str::to_string)
                .collect();
            if !exprs.is_empty() {
                out.push(Panel {
                    dashboard: title.to_string(),
                    title: panel["title"].as_str().unwrap_or("").to_string(),
                    exprs,
                });
            }
            walk(title, &panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    let title = dashboard["title"].as_str().unwrap_or("(untitled)");
    walk(title, &dashboard["panels"], &mut out);
    out
}

/// The values Grafana would offer for each template variable of `dashboard`, read from
/// Prometheus as Grafana does (`label_values(metric, label)`), for every variable a query
/// can name (datasource and ad hoc variables name none).
fn variables(dashboard: &Value, prometheus: &Prometheus) -> Variables {
    let mut out = Vec::new();
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = var["name"].as_str().unwrap_or("").to_string();
        // A string, or Grafana 10's object whose `query` (else the variable's `definition`)
        // holds the same text.
        let query = match &var["query"] {
            Value::Object(q) => q.get("query").and_then(Value::as_str),
            q => q.as_str(),
        }
        .filter(|q| !q.is_empty())
        .or_else(|| var["definition"].as_str())
        .unwrap_or("")
        .to_string();
        let mut values = match var["type"].as_str().unwrap_or("") {
            "datasource" | "adhoc" => continue,
            "query" => label_values(&query, prometheus)
                .unwrap_or_else(|e| panic!("variable ${name}: {e} (query {query:?})")),
            "custom" | "interval" => query.split(',').map(|v| v.trim().to_string()).collect(),
            _ => vec![query],
        };
        if var["includeAll"].as_bool() == Some(true) {
            match var["allValue"].as_str() {
                Some(all) if !all.is_empty() => values.push(all.to_string()),
                _ => values.push(values.join("|")),
            }
        }
        out.push((name, values));
    }
    out
}

/// `label_values(metric{…}, label)` or `label_values(label)`: the label's values among the
/// metric's series (their matchers dropped: chained variables are covered by trying every
/// combination).
fn label_values(query: &str, prometheus: &Prometheus) -> Result<Vec<String>, String> {
    let args = query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .ok_or("only label_values(...) variable queries are supported")?;
    let (metric, label) = match args.rsplit_once(',') {
        Some((metric, label)) => (Some(metric.split('{').next().unwrap_or("").trim()), label),
        None => (None, args),
    };
    let path = format!("/api/v1/label/{}/values", label.trim());
    let matches: Vec<(&str, &str)> = metric
        .filter(|m| !m.is_empty())
        .map(|m| ("match[]", m))
        .into_iter()
        .collect();
    let data = prometheus.api(&path, &matches)?;
    Ok(data
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// Grafana's built-in variables at a 1 s scrape interval.
const BUILT_INS: &[(&str, &str)] = &[
    ("__rate_interval", "10s"),
    ("__interval", "2s"),
    ("__interval_ms", "2000"),
    ("__range", "5m"),
    ("__range_s", "300"),
    ("__range_ms", "300000"),
];

/// `expr` with `$name`, `${name}`, `${name:format}` and `[[name]]` replaced by `value(name)`;
/// `Err(name)` for a variable `value` does not know.
fn substitute(expr: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = expr;
    let word = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (name, len) = if let Some(braced) = tail.strip_prefix("${") {
            let end = braced.find('}').ok_or("unclosed ${")?;
            let name = braced[..end].split(':').next().unwrap_or("");
            (name, end + 3)
        } else if let Some(bracketed) = tail.strip_prefix("[[") {
            let end = bracketed.find("]]").ok_or("unclosed [[")?;
            let name = bracketed[..end].split(':').next().unwrap_or("");
            (name, end + 4)
        } else if let Some(plain) = tail.strip_prefix('$') {
            let n = word(plain);
            (&plain[..n], n + 1)
        } else {
            ("", 0)
        };
        if name.is_empty() {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        }
        out.push_str(&value(name).ok_or_else(|| name.to_string())?);
        rest = &tail[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every way of filling `expr`'s variables with the values Grafana offers.
fn expansions(expr: &str, vars: &Variables) -> Vec<String> {
    let used: Vec<&(String, Vec<String>)> = vars
        .iter()
        .filter(|(name, _)| {
            [
                format!("${name}"),
                format!("${{{name}"),
                format!("[[{name}"),
            ]
            .iter()
            .any(|form| expr.contains(form.as_str()))
        })
        .collect();
    let combinations: usize = used.iter().map(|(_, v)| v.len().max(1)).product();
    assert!(
        combinations <= 512,
        "{combinations} variable combinations for {expr:?}"
    );
    (0..combinations)
        .map(|mut k| {
            let chosen: Vec<(&str, &str)> = used
                .iter()
                .map(|(name, values)| {
                    let v = values
                        .get(k % values.len().max(1))
                        .map_or("", String::as_str);
                    k /= values.len().max(1);
                    (name.as_str(), v)
                })
                .collect();
            let value = |name: &str| {
                BUILT_INS
                    .iter()
                    .chain(chosen.iter())
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            };
            substitute(expr, &value).unwrap_or_else(|name| {
                panic!("{expr:?} names ${name}, no variable of its dashboard")
            })
        })
        .collect()
}

/// Series the range query `expr` returns over the last `seconds`.
fn series(prometheus: &Prometheus, expr: &str, seconds: u64) -> Result<usize, String> {
    let now = jiff::Timestamp::now().as_second();
    let result = prometheus.query_range(expr, now - seconds as i64, now, 1)?;
    Ok(result.as_array().map_or(0, Vec::len))
}

/// Whether any query of the panel, with any choice of its variables, returns a series over
/// the last `seconds`. A query Prometheus refuses fails the test.
fn has_data(panel: &Panel, vars: &Variables, prometheus: &Prometheus, seconds: u64) -> bool {
    panel.exprs.iter().any(|expr| {
        expansions(expr, vars).iter().any(|q| {
            series(prometheus, q, seconds).unwrap_or_else(|e| {
                panic!(
                    "{} / {}: Prometheus refuses {q:?}: {e}",
                    panel.dashboard, panel.title
                )
            }) > 0
        })
    })
}

/// Checks every panel of `dashboards` against `prometheus`, retrying the panels without data
/// until `deadline` (counters need two samples in a rate window): each panel must return
/// data unless `exempt` lists it, and each listed panel must exist and return none.
fn check_panels(
    dashboards: &[Value],
    exempt: &[(&str, &str, &str)],
    prometheus: &Prometheus,
    seconds: u64,
    deadline: Instant,
) {
    let mut missing: Vec<(Panel, Variables)> = Vec::new();
    let mut exempt_with_data = Vec::new();
    let mut exempt_seen = vec![false; exempt.len()];
    for dashboard in dashboards {
        let vars = variables(dashboard, prometheus);
        for panel in panels(dashboard) {
            let listed = exempt
                .iter()
                .position(|(d, t, _)| *d == panel.dashboard && *t == panel.title);
            if let Some(i) = listed {
                exempt_seen[i] = true;
                if has_data(&panel, &vars, prometheus, seconds) {
                    exempt_with_data.push(format!("{} / {}", panel.dashboard, panel.title));
                }
            } else {
                missing.push((panel, vars.clone()));
            }
        }
    }
    loop {
        missing.retain(|(panel, vars)| !has_data(panel, vars, prometheus, seconds));
        if missing.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let stale: Vec<String> = exempt
        .iter()
        .zip(&exempt_seen)
        .filter(|(_, seen)| !**seen)
        .map(|((d, t, _), _)| format!("{d} / {t}"))
        .collect();
    let missing: Vec<String> = missing
        .iter()
        .map(|(p, _)| format!("{} / {}: {}", p.dashboard, p.title, p.exprs.join(" ; ")))
        .collect();
    assert!(
        missing.is_empty() && exempt_with_data.is_empty() && stale.is_empty(),
        "panels without data (list them, with why, only for a source the lab does not run):\n  \
         {}\nlisted as without data but returning data:\n  {}\nlisted but no such panel:\n  {}\n\
         Prometheus log (end):\n{}",
        listing(&missing),
        listing(&exempt_with_data),
        listing(&stale),
        prometheus.0.log_tail()
    );
}

/// Lines of a failure message, or "(none)".
fn listing(lines: &[String]) -> String {
    if lines.is_empty() {
        "(none)".to_string()
    } else {
        lines.join("\n  ")
    }
}

/// Every Grafana dashboard (a JSON file with `panels`) under `dashboards/`.
fn project_dashboards() -> Vec<Value> {
    let root = common::project("dashboards");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let dashboards: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_str(&read(f)).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .filter(|d: &Value| d["panels"].is_array())
        .collect();
    assert!(
        !root.exists() || !dashboards.is_empty(),
        "dashboards/ holds no Grafana dashboard"
    );
    dashboards
}

/// The checker's own dashboard: a row with nested panels, variables in every form Grafana
/// writes, `$__rate_interval`, and one panel for a source the lab does not run.
const SELF_TEST_DASHBOARD: &str = r#"{
  "title": "stack self-test",
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "venue", "type": "query", "query": {"query": "label_values(venuemon_build_info, venue)"}},
    {"name": "zone", "type": "query", "includeAll": true, "query": {"qryType": 1, "refId": "z"},
     "definition": "label_values(venuemon_zone_info{venue=~\"$venue\"}, zone)"}
  ]},
  "panels": [
    {"title": "Pool use", "targets": [{"expr": "pool:venuemon_dhcp_pool_usage:ratio{venue=\"$venue\", zone=~\"${zone}\"}"}]},
    {"title": "Stations", "targets": [{"expr": "sum by (ap) (venuemon_ap_clients{venue=\"[[venue]]\", zone=~\"$zone\"})"}]},
    {"type": "row", "title": "Capture", "panels": [
      {"title": "Time to lease p95", "targets": [{"expr": "histogram_quantile(0.95, sum by (le) (rate(venuemon_dhcp_time_to_lease_seconds_bucket{venue=\"$venue\"}[$__rate_interval])))"}]},
      {"title": "Wi-Fi frames", "targets": [{"expr": "sum by (subtype) (rate(venuemon_wifi_frames_total{venue=~\"${venue:regex}\"}[$__rate_interval]))"}]}
    ]},
    {"title": "Kea allocation failures", "targets": [{"expr": "increase(venuemon_dhcp_allocation_failures_total{venue=\"$venue\"}[$__range])"}]}
  ]
}"#;

/// The self-test dashboard's panel without lab data.
const SELF_TEST_WITHOUT_LAB_DATA: &[(&str, &str, &str)] = &[(
    "stack self-test",
    "Kea allocation failures",
    "only Kea reports allocation failures; the lab runs dnsmasq",
)];

#[test]
fn grafana_variables_are_substituted_in_every_form() {
    let vars = vec![
        ("venue".to_string(), vec!["a".to_string(), "b".to_string()]),
        ("zone".to_string(), vec!["z".to_string()]),
    ];
    let got = expansions(
        "x{venue=\"$venue\",zone=~\"${zone:regex}\"}[$__rate_interval] + y{v=\"[[venue]]\"} $ [1m]",
        &vars,
    );
    assert_eq!(
        got,
        [
            "x{venue=\"a\",zone=~\"z\"}[10s] + y{v=\"a\"} $ [1m]",
            "x{venue=\"b\",zone=~\"z\"}[10s] + y{v=\"b\"} $ [1m]",
        ]
    );
    let unknown = substitute("x[$nope]", &|_| None);
    assert_eq!(unknown, Err("nope".to_string()));
}

/// Links namespace `ns` to the host with a veth pair in `10.79.<net>.0/30`; returns the
/// namespace's address (the host has `.1`). The pair goes with the namespace.
fn link_to_host(ns: &Netns, net: u8) -> String {
    let host_end = format!("vmst{net}-{}", std::process::id() % 100_000);
    veth(&host_end, None, "up0", Some(ns));
    common::run(
        "ip",
        &[
            "addr",
            "add",
            &format!("10.79.{net}.1/30"),
            "dev",
            &host_end,
        ],
    );
    common::run("ip", &["link", "set", &host_end, "up"]);
    ns.ip(&["addr", "add", &format!("10.79.{net}.2/30"), "dev", "up0"]);
    ns.ip(&["link", "set", "up0", "up"]);
    format!("10.79.{net}.2")
}

/// A programme with one session in `room` from an hour ago to two hours from now.
fn programme(room: &str) -> String {
    let now = jiff::Timestamp::now();
    let at = |hours: i64| {
        (now + jiff::SignedDuration::from_hours(hours))
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string()
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//venuemon//stack test//EN\r\n\
         BEGIN:VEVENT\r\nUID:keynote@stack.test\r\nSUMMARY:Keynote\r\nLOCATION:{room}\r\n\
         DTSTART:{}\r\nDTEND:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        at(-1),
        at(2)
    )
}

/// Venue "centre": a hall whose dnsmasq pool (5 addresses) is smaller than its crowd
/// (8 clients), and its agent with the DHCP source, the capture on the hall's bridge and a
/// programme, reachable from the host. Stopped in field order: agent, clients and server,
/// namespaces.
struct DhcpVenue {
    _agent: Agent,
    _processes: Processes,
    _hall: Hall,
    /// The agent's `address:port`.
    target: String,
}

impl DhcpVenue {
    fn start(d: &Path) -> DhcpVenue {
        let clients = 8;
        let macs: Vec<String> = (0..clients).map(common::mac).collect();
        let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
        let hall = Hall::build("stack", &mac_refs, false);
        let dhcp_address = link_to_host(&hall.hall, 1);
        let dhcp_dir = d.join("dhcp");
        std::fs::create_dir(&dhcp_dir).expect("mkdir");
        let script = dhcp_lab::script(&dhcp_dir);
        let mut processes = Processes(vec![dhcp_lab::dnsmasq(
            &hall,
            &dhcp_dir,
            "10.77.0.10,10.77.0.14",
        )]);
        for n in 0..clients {
            let name = format!("client-{n}");
            processes
                .0
                .push(dhcp_lab::client(&hall, n, &dhcp_dir, &script, &name));
        }
        std::fs::write(dhcp_dir.join("programme.ics"), programme("hall")).expect("write ics");
        let dhcp_port = common::free_port();
        let agent = Agent::with_config(
            Some(&hall.hall.0),
            &dhcp_dir,
            &format!(
                r#"
[venue]
name = "Centre"
event = "stack"

[http]
listen = "{dhcp_address}:{dhcp_port}"

[agent]
tick = "1s"
state_dir = "{dir}/state"

[interfaces]
include = ["hall0", "vh*"]

[[zone]]
id = "hall"
name = "Hall"
seats = 4
interfaces = ["hall0"]

[[source.dhcp]]
kind = "dnsmasq"
leases = "{dir}/dnsmasq.leases"
pool = "10.77.0.10-10.77.0.14"
zone = "hall"

# A server whose lease file was never written: this source fails every sample, as one does
# on build day, so the agent-health panels about source errors have data.
[[source.dhcp]]
kind = "isc"
name = "foyer"
leases = "{dir}/dhcpd-not-written.leases"

[[source.capture]]
interface = "hall0"
zone = "hall"

[schedule]
file = "{dir}/programme.ics"
"#,
                dir = dhcp_dir.display()
            ),
            "agent.log",
        );

        DhcpVenue {
            _agent: agent,
            _processes: processes,
            _hall: hall,
            target: format!("{dhcp_address}:{dhcp_port}"),
        }
    }
}

/// Venue "annex": hostapd (driver=wired) with a station behind each port, and its agent
/// reading hostapd's sockets, reachable from the host.
struct HostapdVenue {
    _agent: Agent,
    _lab: Lab,
    /// The agent's `address:port`.
    target: String,
}

impl HostapdVenue {
    fn start(d: &Path) -> HostapdVenue {
        let mut lab = Lab::build();
        let hostapd_address = link_to_host(&lab.ap, 2);
        lab.start_hostapd();
        for i in 0..hostapd_lab::STATIONS {
            lab.start_station(i);
        }
        let hostapd_dir = d.join("hostapd");
        std::fs::create_dir(&hostapd_dir).expect("mkdir");
        let hostapd_port = common::free_port();
        let agent = Agent::with_config(
            Some(&lab.ap.0),
            &hostapd_dir,
            &format!(
                r#"
[venue]
name = "Annex"
event = "stack"

[http]
listen = "{hostapd_address}:{hostapd_port}"

[agent]
tick = "1s"
state_dir = "{dir}/state"

[interfaces]
include = ["ap*"]

[[zone]]
id = "stage"
name = "Stage"
seats = 10
interfaces = ["ap1", "ap2", "ap3"]

[source.neighbours]
enabled = false

[[source.hostapd]]
ctrl_dir = "{ctrl}"
zone = "stage"
"#,
                dir = hostapd_dir.display(),
                ctrl = lab.ctrl_dir().display()
            ),
            "agent.log",
        );

        HostapdVenue {
            _agent: agent,
            _lab: lab,
            target: format!("{hostapd_address}:{hostapd_port}"),
        }
    }
}

/// Alertmanager routes the critical pool alert of pool `hall` to the critical receiver, and
/// mutes its warning twin (the pool is over 80 % too) while the critical one fires.
fn assert_pool_alert_delivered(
    notifications: &mpsc::Receiver<(String, Value)>,
    alertmanager: &Daemon,
) {
    let pool = [
        ("alertname", "DhcpPoolFilling"),
        ("pool", "hall"),
        ("venue", "centre"),
    ];
    let mut delivered = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !delivered
        .iter()
        .any(|(path, body): &(String, Value)| path == "/alerts/critical" && notifies(body, &pool))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match notifications.recv_timeout(left) {
            Ok(notification) => delivered.push(notification),
            Err(_) => panic!(
                "no critical DhcpPoolFilling notification; got {delivered:?}\nAlertmanager log:\n{}",
                alertmanager.log_tail()
            ),
        }
    }
    let muted = common::wait_for(
        "the warning DhcpPoolFilling inhibited in Alertmanager",
        Duration::from_secs(30),
        || {
            let alerts = alertmanager.get_json("/api/v2/alerts").ok()?;
            alerts
                .as_array()?
                .iter()
                .find_map(|a| {
                    (pool.iter().all(|(k, v)| a["labels"][*k] == *v)
                        && a["labels"]["severity"] == "warning")
                        .then(|| a["status"].clone())
                })
                .filter(|status| status["state"] == "suppressed")
        },
    );
    assert!(
        !muted["inhibitedBy"].as_array().is_none_or(Vec::is_empty),
        "{muted}"
    );
    // The pool fills over a few seconds, so the warning may be pending first and reach the
    // crew before the critical twin exists (as at a venue, where a pool fills gradually);
    // once the critical fires, no further warning for the pool may be sent.
    let after_critical: Vec<_> = notifications.try_iter().collect();
    assert!(
        !after_critical
            .iter()
            .any(|(path, body)| path == "/alerts/warning"
                && notifies(body, &[pool[0], pool[1], ("severity", "warning")])),
        "the warning reached the crew after its critical twin fired: {after_critical:?}"
    );
}

/// Every rule evaluates without error against the agents' real series, and every recording
/// rule records something from the lab.
fn assert_rules_healthy_and_recording(prometheus: &Prometheus) {
    let groups = prometheus.api("/api/v1/rules", &[]).expect("rules");
    let rules: Vec<&Value> = groups["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    assert!(rules.len() > 20, "rules loaded: {groups}");
    let failing: Vec<String> = rules
        .iter()
        .filter(|r| r["health"] != "ok")
        .map(|r| format!("{}: {}", r["name"], r["lastError"]))
        .collect();
    assert!(failing.is_empty(), "rules failing: {failing:?}");
    let mut records: Vec<&str> = rules
        .iter()
        .filter(|r| r["type"] == "recording")
        .filter_map(|r| r["name"].as_str())
        .collect();
    records.dedup();
    let without_data = || -> Vec<&str> {
        records
            .iter()
            .copied()
            .filter(|r| series(prometheus, r, 10).unwrap_or(0) == 0)
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut empty = without_data();
    while !empty.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_secs(1));
        empty = without_data();
    }
    assert!(
        empty.is_empty(),
        "recording rules without data in the lab: {empty:?}"
    );
}

#[test]
fn stack_root_prometheus_scrapes_lab_agents_dashboards_get_data_and_the_pool_alert_fires() {
    dhcp_lab::require_dhcp_tools();
    common::require_tool("prometheus", "prometheus");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();

    let centre = DhcpVenue::start(d);
    let annex = HostapdVenue::start(d);

    // The static target (venue "main"): an 802.11 radiotap capture replayed and served, so
    // that the Wi-Fi families have data.
    let replay_port = common::free_port();
    let capture = common::fixtures().join("tcpdump/ieee802.11_exthdr.pcap");
    let mut replay = Command::new(BIN);
    replay
        .args(["replay", "--serve", &format!("127.0.0.1:{replay_port}")])
        .arg(&capture);
    let _replay = Agent::spawn(replay, d.join("replay.log"));

    // Alertmanager from deploy/alertmanager/, sending to the test's webhook; Prometheus from
    // deploy/prometheus/: 1 s intervals, the static target pointed at the replay, the agents
    // through file-based discovery, alerts to that Alertmanager, `for:` in seconds.
    let prom_dir = d.join("prometheus");
    std::fs::create_dir(&prom_dir).expect("mkdir");
    let replay_target = format!("127.0.0.1:{replay_port}");
    let am_dir = d.join("alertmanager");
    std::fs::create_dir(&am_dir).expect("mkdir");
    let (hook_port, notifications) = webhook();
    let alertmanager = alertmanager(&am_dir, hook_port);
    let am_target = format!("127.0.0.1:{}", alertmanager.port);
    let config = overridden(
        &read(&deploy("prometheus.yml")),
        &[
            ("scrape_interval: 15s", "scrape_interval: 1s"),
            ("scrape_timeout: 10s", "scrape_timeout: 1s"),
            ("evaluation_interval: 15s", "evaluation_interval: 1s"),
            ("localhost:9842", &replay_target),
            ("localhost:9093", &am_target),
        ],
    );
    let targets = format!(
        "- targets: [\"{}\"]\n  labels: {{venue: centre}}\n\
         - targets: [\"{}\"]\n  labels: {{venue: annex}}\n",
        centre.target, annex.target
    );
    let config = layout(
        &prom_dir,
        &config,
        &alerts_in_seconds(),
        &[("lab.yml", &targets)],
    );
    let prometheus = Prometheus::start(Listen::Loopback, &config, &prom_dir, &[]);

    common::wait_for(
        "Prometheus scraping the three targets",
        Duration::from_secs(30),
        || {
            let result = prometheus.query("up==1", None).ok()?;
            (result.as_array()?.len() == 3).then_some(())
        },
    );

    // The pool (5 addresses, 8 clients) fills: DhcpPoolFilling fires, critical, in
    // Prometheus itself, with its description rendered.
    let alert = common::wait_for(
        "DhcpPoolFilling firing for pool hall",
        Duration::from_secs(45),
        || {
            let data = prometheus.api("/api/v1/alerts", &[]).ok()?;
            data["alerts"].as_array()?.iter().find_map(|a| {
                (a["labels"]["alertname"] == "DhcpPoolFilling"
                    && a["labels"]["severity"] == "critical"
                    && a["state"] == "firing")
                    .then(|| a.clone())
            })
        },
    );
    let labels = &alert["labels"];
    assert_eq!(labels["venue"], "centre", "{alert}");
    assert_eq!(labels["pool"], "hall", "{alert}");
    assert_eq!(labels["zone"], "hall", "{alert}");
    assert_eq!(
        alert["annotations"]["description"],
        "Pool hall (zone hall) at centre is 100% leased (critical from 95%). New devices \
         will get no address: widen the pool or shorten the lease time now.",
        "{alert}"
    );
    let alerts = prometheus.api("/api/v1/alerts", &[]).expect("alerts");
    assert!(
        !alerts.to_string().contains("VenuemonAgentDown"),
        "every target is up, yet: {alerts}"
    );

    assert_pool_alert_delivered(&notifications, &alertmanager);
    assert_rules_healthy_and_recording(&prometheus);

    // Every panel of every dashboard returns data (the project's, and the checker's own).
    let since_start = started.elapsed().as_secs() + 5;
    let deadline = Instant::now() + Duration::from_secs(20);
    let self_test: Value = serde_json::from_str(SELF_TEST_DASHBOARD).expect("JSON");
    check_panels(
        &[self_test],
        SELF_TEST_WITHOUT_LAB_DATA,
        &prometheus,
        since_start,
        deadline,
    );
    check_panels(
        &project_dashboards(),
        PANELS_WITHOUT_LAB_DATA,
        &prometheus,
        since_start,
        deadline,
    );
}
