//! `venuemon report --source prometheus` against a real Prometheus (Debian `prometheus`) that
//! scraped a lab agent reading a dnsmasq lease file the test writes; the HTML opened in
//! headless Chromium (Debian `chromium`), the PDF checked with `pdfinfo` and rendered with
//! `pdftoppm` (Debian `poppler-utils`). No root needed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::browser::{Browser, screenshot_dir};
use crate::common::{self, BIN, TestConfig, require_tool, wait_for};
use crate::prometheus::{Listen, Prometheus, samples};

/// Prometheus in `dir` scraping the agent on loopback `target` every second.
fn start_prometheus(dir: &Path, target: u16) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: venuemon\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        ),
    )
    .expect("prometheus.yml");
    Prometheus::start(Listen::Loopback, &config, dir, &[])
}

/// The values of the first series of `query` at a 60 s step over `[from, to]`.
fn range(prometheus: &Prometheus, query: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
    let result = prometheus
        .query_range(query, from, to, 60)
        .expect("prometheus answers");
    samples(&result[0])
        .into_iter()
        .map(|(t, v)| (t as i64, v))
        .collect()
}

/// Waits until `query` holds exactly `want` now.
fn wait_for_value(prometheus: &Prometheus, query: &str, want: f64) {
    wait_for(
        &format!("{query} = {want} in Prometheus"),
        Duration::from_secs(20),
        || (prometheus.value(query, None)? == want).then_some(()),
    );
}

/// Lab client `n`'s lease: MAC, address and host name, each a secret the report must not hold.
fn client(n: usize) -> (String, String, String) {
    (
        common::mac(n),
        format!("10.77.0.{}", 10 + n),
        format!("guest-phone-{n}"),
    )
}

/// Writes a dnsmasq lease file with clients `0..count`, valid for an hour.
fn write_leases(path: &Path, count: usize) {
    let expiry = jiff::Timestamp::now().as_second() + 3600;
    let text: String = (0..count)
        .map(|n| {
            let (mac, ip, host) = client(n);
            format!("{expiry} {mac} {ip} {host} 01:{mac}\n")
        })
        .collect();
    let partial = path.with_extension("new");
    std::fs::write(&partial, text).expect("lease file");
    std::fs::rename(&partial, path).expect("lease file in place");
}

fn report(args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("report")
        .args(args)
        .output()
        .expect("venuemon report runs");
    assert!(
        output.status.success(),
        "venuemon report {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file in `dir`, read as text.
fn texts(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p, text))
        })
        .collect()
}

#[test]
fn report_from_prometheus_matches_prometheus_renders_prints_compares_and_leaks_nothing() {
    require_tool("chromium", "chromium");
    require_tool("pdfinfo", "poppler-utils");
    require_tool("pdftoppm", "poppler-utils");
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    write_leases(&leases, 5);
    let programme = dir.path().join("programme.ics");
    let now = jiff::Timestamp::now().as_second();
    let stamp = |t: i64| {
        jiff::Timestamp::from_second(t)
            .expect("time")
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string()
    };
    std::fs::write(
        &programme,
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Keynote <b>&\r\nLOCATION:Salle A\r\nDTSTART:{}\r\nDTEND:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            stamp(now - 3600),
            stamp(now + 3600)
        ),
    )
    .expect("programme");
    let config = TestConfig::new(dir.path())
        .zone("name = \"Salle A\"\nseats = 10")
        .section(&format!(
            "[[source.dhcp]]\nkind = \"dnsmasq\"\nleases = \"{}\"\npool = \"10.77.0.10-10.77.0.29\"\nzone = \"hall\"\n",
            leases.display()
        ));
    let mut agent = config.start(None);
    let prometheus = start_prometheus(dir.path(), config.port);
    wait_for_value(&prometheus, "venuemon_zone_clients", 5.0);
    std::thread::sleep(Duration::from_secs(4));
    write_leases(&leases, 12);
    wait_for_value(&prometheus, "venuemon_zone_clients", 12.0);
    std::thread::sleep(Duration::from_secs(3));
    agent.stop();

    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    let html = out.join("report.html");
    let json = out.join("report.json");
    let csv = out.join("tables");
    let config_file = dir.path().join("venuemon.toml");
    let url = prometheus.url();
    let written = report(&[
        "--source",
        "prometheus",
        "--prometheus-url",
        &url,
        "--config",
        path(&config_file),
        "--programme",
        path(&programme),
        "--attendees",
        "4",
        "--lang",
        "en",
        "--out",
        path(&html),
        "--json",
        path(&json),
        "--csv",
        path(&csv),
        "--pdf",
    ]);
    assert!(written.contains("report.pdf"), "{written}");

    // The headline, computed here from Prometheus itself over the report's period.
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
    let figures = &export["reports"][0]["figures"];
    let (from, to) = (
        figures["from"].as_i64().expect("from"),
        figures["to"].as_i64().expect("to"),
    );
    // Each minute's value is Prometheus' at the minute's end.
    let devices = range(
        &prometheus,
        "sum(max by (zone) (venuemon_zone_clients))",
        from + 60,
        to,
    );
    let peak = devices.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
    assert_eq!(peak, 12.0, "{devices:?}");
    assert_eq!(figures["headline"]["peak_devices"]["value"], 12.0);
    let first_at = devices.iter().find(|(_, v)| *v == peak).expect("peak").0 - 60;
    assert_eq!(figures["headline"]["peak_devices"]["at"], first_at);
    let free = range(
        &prometheus,
        "min(venuemon_dhcp_pool_size - venuemon_dhcp_leases_active)",
        from + 60,
        to,
    );
    let least = free.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
    assert_eq!(least, 8.0, "20 addresses, 12 leased: {free:?}");
    assert_eq!(figures["headline"]["min_headroom"]["free"], least);
    assert_eq!(figures["zones"][0]["name"], "Salle A");
    assert_eq!(figures["zones"][0]["peak_seat_ratio"], 1.2);
    assert_eq!(figures["sessions"][0]["title"], "Keynote <b>&");
    assert_eq!(figures["sessions"][0]["peak"]["value"], 12.0);

    // The HTML in a browser: no error, no request, the chart there.
    let mut browser = Browser::launch();
    let file_url = format!("file://{}", html.display());
    let mut page = browser.open(&file_url, 1000, 1400);
    let charts = page.eval("document.querySelectorAll('svg.chart').length");
    assert_eq!(charts, 1, "one zone, one chart");
    let drawn =
        page.eval("document.querySelectorAll('svg.chart :is(path.devices, circle.point)').length");
    assert!(drawn.as_u64() > Some(0), "the devices are drawn");
    let sessions = page.eval("document.querySelectorAll('svg.chart rect.session').length");
    assert_eq!(sessions, 1);
    let text = page.eval("document.body.innerText");
    let text = text.as_str().expect("text");
    assert!(
        text.contains("Keynote <b>&"),
        "the title as text, not markup"
    );
    assert!(text.contains("Salle A reached 120"), "{text}");
    page.screenshot(&screenshot_dir().join("report-en.png"));
    assert_eq!(page.console_errors(), Vec::<String>::new());
    let requests: Vec<String> = page
        .requests()
        .into_iter()
        .filter(|r| *r != file_url)
        .collect();
    assert_eq!(
        requests,
        Vec::<String>::new(),
        "the report asks for nothing"
    );

    // The PDF: A4, its pages as PNG for people.
    let pdf = out.join("report.pdf");
    let info = common::run("pdfinfo", &[path(&pdf)]);
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("(A4)"), "{info}");
    let prefix = screenshot_dir().join("report-pdf");
    common::run("pdftoppm", &["-png", "-r", "50", path(&pdf), path(&prefix)]);
    assert!(screenshot_dir().join("report-pdf-1.png").is_file());

    // French, and the comparison with a previous export whose peak was 8.
    let mut previous = export.clone();
    previous["reports"][0]["figures"]["headline"]["peak_devices"]["value"] = 8.0.into();
    let previous_path = out.join("previous.json");
    std::fs::write(&previous_path, previous.to_string()).expect("previous");
    let fr = out.join("rapport.html");
    let fr_json = out.join("rapport.json");
    report(&[
        "--prometheus-url",
        &url,
        "--config",
        path(&config_file),
        "--lang",
        "fr",
        "--out",
        path(&fr),
        "--json",
        path(&fr_json),
        "--compare",
        path(&previous_path),
    ]);
    let compared: Value =
        serde_json::from_str(&std::fs::read_to_string(&fr_json).expect("json")).expect("json");
    let change = &compared["reports"][0]["comparison"][0];
    assert_eq!(change["figure"], "peak_devices");
    assert_eq!(change["previous"], 8.0);
    assert_eq!(change["current"], 12.0);
    assert_eq!(change["change"], (12.0 - 8.0) / 8.0);
    let fr_html = std::fs::read_to_string(&fr).expect("fr");
    assert!(fr_html.contains("L&#39;essentiel") || fr_html.contains("L'essentiel"));
    assert!(
        fr_html.contains("+50\u{202f}%"),
        "the change in French form"
    );
    let mut page = browser.open(&format!("file://{}", fr.display()), 1000, 1400);
    page.eval("document.title");
    page.screenshot(&screenshot_dir().join("report-fr.png"));
    assert_eq!(page.console_errors(), Vec::<String>::new());

    // Privacy: no client's MAC, address or host name in any file written.
    let mut outputs = texts(&out);
    outputs.extend(texts(&csv));
    assert!(
        outputs.len() >= 10,
        "html, json, csv tables: {}",
        outputs.len()
    );
    let named: Vec<(String, &str)> = outputs
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let named: Vec<(&str, &str)> = named.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let secrets = (0..12).flat_map(|n| {
        let (mac, ip, host) = client(n);
        [mac, ip, host]
    });
    common::assert_nothing_leaks(&named, secrets);
}
