//! The status page in a real browser (Debian's chromium, headless) against a running agent:
//! phone and wall-screen sizes, live colour change over server-sent events when a real DHCP
//! pool fills, hostile names, the no-script fallback and reconnection. Screenshots are saved
//! under `target/screenshots/`. Needs root (the lab), dnsmasq, DHCP clients and chromium.

use std::path::Path;
use std::time::Duration;

use crate::browser::{Browser, Options, Page, screenshot_dir};
use crate::common::{self, Agent, mac};
use crate::dhcp_lab::{Processes, client, dnsmasq, require_dhcp_tools, script};
use crate::venue::{Hall, veth};

const VENUE: &str = "Centre <script>alert('venue')</script> & \"Co\"";
const ZONE: &str = "<img src=x onerror=alert('zone')>Salle B";
const HOSTNAME: &str = "<script>alert('host')</script>";
const SESSION: &str = "<script>alert('session')</script>Keynote: \"IA\" & la ville";
const NEXT: &str = "<img src=x onerror=alert('next')>Atelier";

/// The programme: a session on now in the hall (room by zone id, any case) and one starting
/// in half an hour in the annex, both with hostile titles.
fn programme(dir: &Path) -> std::path::PathBuf {
    let now = jiff::Timestamp::now().as_second();
    let stamp = |offset: i64| {
        jiff::Timestamp::from_second(now + offset)
            .expect("time")
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string()
    };
    let event = |title: &str, room: &str, starts: i64, ends: i64| {
        let title = title
            .replace('\\', "\\\\")
            .replace(';', "\\;")
            .replace(',', "\\,");
        format!(
            "BEGIN:VEVENT\r\nSUMMARY:{title}\r\nLOCATION:{room}\r\nDTSTART:{}\r\nDTEND:{}\r\nEND:VEVENT\r\n",
            stamp(starts),
            stamp(ends)
        )
    };
    let path = dir.join("programme.ics");
    let text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{}{}END:VCALENDAR\r\n",
        event(SESSION, "HALL", -600, 3_000),
        event(NEXT, "annex", 1_800, 5_400)
    );
    std::fs::write(&path, text).expect("write programme");
    path
}

/// The agent's config: zone `hall` (seats 10, the hall's dnsmasq pool of 10) and a second
/// zone with a hostile name.
fn config(dir: &Path, leases: &Path, port: u16) -> String {
    format!(
        r#"
[venue]
name = "{venue}"
event = "lab"
language = "en"

[http]
listen = "0.0.0.0:{port}"

[agent]
tick = "1s"
active_window = "1m"
state_dir = "{state}"

[interfaces]
include = ["vh*", "hall0"]

[[zone]]
id = "hall"
name = "Salle A"
seats = 100
interfaces = ["hall0"]

[[zone]]
id = "annex"
name = "{zone}"

[thresholds]
dhcp_pool_warn = 50
dhcp_pool_critical = 90

[[source.dhcp]]
kind = "dnsmasq"
name = "hall-pool"
leases = "{leases}"
pool = "10.77.0.10-10.77.0.19"
zone = "hall"

[schedule]
file = "{programme}"
"#,
        venue = VENUE.replace('\\', "\\\\").replace('"', "\\\""),
        zone = ZONE.replace('"', "\\\""),
        state = dir.join("state").display(),
        leases = leases.display(),
        programme = programme(dir).display(),
    )
}

/// A link from the test's namespace into the hall, so the browser here reaches the agent
/// there: `10.78.0.1` here, `10.78.0.2` in the hall.
fn uplink(hall: &Hall) -> String {
    let here = format!("vmup{}", std::process::id() % 100_000);
    veth(&here, None, "up0", Some(&hall.hall));
    common::run("ip", &["addr", "add", "10.78.0.1/30", "dev", &here]);
    common::run("ip", &["link", "set", &here, "up"]);
    hall.hall.ip(&["addr", "add", "10.78.0.2/30", "dev", "up0"]);
    hall.hall.ip(&["link", "set", "up0", "up"]);
    "10.78.0.2".to_string()
}

/// What every page load must hold: no console error, nothing fetched from anywhere but the
/// agent, no dialog opened by injected script, the hostile names shown as text.
fn assert_clean(page: &mut Page, origin: &str) {
    page.eval("1"); // collect the events that arrived meanwhile
    assert_eq!(
        page.console_errors(),
        Vec::<String>::new(),
        "console errors"
    );
    let foreign: Vec<String> = page
        .requests()
        .into_iter()
        .filter(|url| !url.starts_with(origin))
        .collect();
    assert_eq!(foreign, Vec::<String>::new(), "requests outside the agent");
    assert_eq!(page.dialogs(), Vec::<String>::new(), "injected script ran");
    assert_eq!(page.eval("document.querySelectorAll('script').length"), 1);
    assert_eq!(page.eval("document.querySelectorAll('img').length"), 0);
    assert_eq!(page.eval("document.querySelector('h1').textContent"), VENUE);
}

fn tile_state(page: &mut Page) -> (String, String) {
    let state = page.eval(
        "(() => { const t = document.getElementById('z-hall'); \
         return [t.className, getComputedStyle(t).borderLeftColor]; })()",
    );
    (
        state[0].as_str().unwrap_or_default().to_string(),
        state[1].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn lab_root_page_in_chromium_turns_a_tile_critical_live_when_the_pool_fills() {
    require_dhcp_tools();
    let macs: Vec<String> = (0..12).map(mac).collect();
    let mac_refs: Vec<&str> = macs.iter().map(String::as_str).collect();
    let hall = Hall::build("page", &mac_refs, false);
    let address = uplink(&hall);
    let dir = tempfile::tempdir().expect("temp dir");
    let leases = dir.path().join("dnsmasq.leases");
    let script = script(dir.path());
    let mut processes = Processes(vec![dnsmasq(&hall, dir.path(), "10.77.0.10,10.77.0.19")]);
    // Three clients first: 30 % of the pool, the zone is ok.
    for n in 0..3 {
        let name = if n == 1 { HOSTNAME } else { "guest" };
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, name));
    }
    let port = 9842;
    let config = config(dir.path(), &leases, port);
    let _agent = Agent::with_config(Some(&hall.hall.0), dir.path(), &config, "agent.log");
    let origin = format!("http://{address}:{port}/");
    common::wait_for("three leases", Duration::from_secs(60), || {
        let status = hall.hall.get(port, "/api/status")?;
        let json: serde_json::Value = serde_json::from_str(&status).ok()?;
        (json["pools"][0]["leases_active"] == 3).then_some(())
    });

    let mut browser = Browser::launch();
    let shots = screenshot_dir();
    let mut phone = browser.open(&origin, 390, 844);
    let mut wall = browser.open(&origin, 1920, 1080);
    for page in [&mut phone, &mut wall] {
        assert_clean(page, &origin);
        assert_eq!(page.eval("document.documentElement.lang"), "en");
        assert!(
            page.eval("document.documentElement.scrollWidth <= window.innerWidth")
                .as_bool()
                .unwrap_or(false),
            "no horizontal scrolling"
        );
        assert_eq!(
            page.eval("document.getElementById('z-annex').querySelector('h2').textContent"),
            ZONE
        );
        // The programme's titles are text on the tiles, not markup (no dialog opened above).
        for (zone, title) in [("hall", SESSION), ("annex", NEXT)] {
            let shown = format!(
                "[...document.querySelectorAll('#z-{zone} dd b')].some(b => b.textContent === {})",
                serde_json::Value::from(title)
            );
            assert_eq!(page.eval(&shown), true, "{zone}: {title}");
        }
    }
    let (class, ok_colour) = tile_state(&mut phone);
    assert_eq!(class, "tile ok");
    phone.screenshot(&shots.join("page-phone-ok.png"));
    wall.screenshot(&shots.join("page-wall-ok.png"));

    // Nine more clients fill the pool of ten: the tile turns critical without a reload.
    for n in 3..12 {
        processes
            .0
            .push(client(&hall, n, dir.path(), &script, "guest"));
    }
    for page in [&mut phone, &mut wall] {
        page.wait_until(
            "the hall tile turns critical",
            Duration::from_secs(90),
            "document.getElementById('z-hall').className === 'tile crit'",
        );
        assert_eq!(page.navigations(), 1, "updated without a reload");
        assert_clean(page, &origin);
        let reason = page.eval("document.querySelector('#z-hall .why').textContent");
        assert_eq!(reason, "DHCP pool hall-pool 100\u{202f}% used");
        let word = page.eval("document.querySelector('#z-hall .st').textContent.trim()");
        assert_eq!(word, "Critical");
        assert_eq!(
            page.eval("document.querySelector('#tiles').firstElementChild.id"),
            "z-hall",
            "worst first"
        );
        assert_eq!(
            page.eval("document.querySelector('#venue .top').className"),
            "top crit"
        );
    }
    let (_, critical_colour) = tile_state(&mut phone);
    assert_ne!(ok_colour, critical_colour, "the colour changed too");
    phone.screenshot(&shots.join("page-phone-critical.png"));
    wall.screenshot(&shots.join("page-wall-critical.png"));

    // The zone page: detail and sparklines, same rules.
    let mut zone = browser.open(&format!("{origin}zone/hall"), 390, 844);
    assert_clean(&mut zone, &origin);
    // A fresh agent has less than five minutes of history: each sparkline says it is still
    // collecting rather than drawing a dash (drawn lines are the page unit tests').
    assert!(
        zone.eval("document.querySelectorAll('p.collecting').length")
            .as_u64()
            .unwrap_or(0)
            >= 2,
        "clients and pool sparklines still collecting"
    );
    assert_eq!(
        zone.eval("document.querySelectorAll('svg.spark path').length")
            .as_u64(),
        Some(0),
        "no dash drawn from a few seconds of data"
    );
    zone.screenshot(&shots.join("page-zone-phone.png"));
}

/// A plain agent on loopback with the default sources, for the tests below.
fn plain_agent(dir: &Path, port: u16, log: &str) -> Agent {
    let config = format!(
        "[venue]\nname = \"{VENUE_TOML}\"\nlanguage = \"fr\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
         [agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n[[zone]]\nid = \"hall\"\nname = \"Salle A\"\n",
        dir.join("state").display()
    );
    let agent = Agent::with_config(None, dir, &config, log);
    common::wait_for("the agent", Duration::from_secs(20), || {
        common::http_get(port, "/api/status")
            .filter(|(code, body)| *code == 200 && !body.contains("\"generated_at\":0"))
    });
    agent
}

const VENUE_TOML: &str = "Centre <script>alert('venue')</script> & \\\"Co\\\"";

#[test]
fn root_page_without_script_refreshes_itself_and_with_script_reconnects_after_a_restart() {
    common::require_root("the browser tests");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let origin = format!("http://127.0.0.1:{port}/");
    let mut agent = plain_agent(dir.path(), port, "first.log");
    let mut browser = Browser::launch();

    // No script: the tiles are there, in the configured language (the browser asks for one
    // the agent does not speak), and the page reloads
    // itself (the <noscript> refresh) to stay current.
    let options = Options {
        javascript_disabled: true,
        accept_language: Some("de-DE,de".into()),
        ..Options::default()
    };
    let mut still = browser.open_with(&origin, 390, 844, &options);
    assert_eq!(still.eval("document.documentElement.lang"), "fr");
    assert_eq!(
        still.eval("document.querySelectorAll('article.tile').length"),
        1
    );
    common::wait_for("a refresh without script", Duration::from_secs(15), || {
        still.eval("1");
        (still.navigations() >= 2).then_some(())
    });
    still.screenshot(&screenshot_dir().join("page-no-script.png"));

    // Dark mode follows the system setting; English follows the browser.
    let options = Options {
        dark: true,
        accept_language: Some("en-GB,en".into()),
        ..Options::default()
    };
    let mut page = browser.open_with(&origin, 1920, 1080, &options);
    assert_clean(&mut page, &origin);
    assert_eq!(page.eval("document.documentElement.lang"), "en");
    let background = page.eval("getComputedStyle(document.body).backgroundColor");
    assert_eq!(background, "rgb(17, 20, 24)", "dark background");
    page.wait_until(
        "the data age counted by the script",
        Duration::from_secs(10),
        "/s ago/.test(document.getElementById('age').textContent)",
    );
    page.screenshot(&screenshot_dir().join("page-dark.png"));

    // The agent goes away: the page says so, then reconnects by itself when it is back.
    agent.stop();
    page.wait_until(
        "the lost-connection notice",
        Duration::from_secs(20),
        "!document.getElementById('live').hidden",
    );
    let notice = page.eval("document.getElementById('live').textContent");
    assert_eq!(notice, "Connection lost, reconnecting…");
    let before = page.eval("document.getElementById('venue').textContent");
    let _agent = plain_agent(dir.path(), port, "second.log");
    page.wait_until(
        "reconnected",
        Duration::from_secs(30),
        "document.getElementById('live').hidden",
    );
    let header = format!("document.getElementById('venue').textContent !== {before}",);
    page.wait_until(
        "fresh data after reconnecting",
        Duration::from_secs(10),
        &header,
    );
    assert_eq!(page.navigations(), 1, "reconnected without a reload");
}

#[test]
fn root_page_behind_basic_auth_loads_and_stays_live_in_chromium() {
    common::require_root("the browser tests");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{port}\"\n[http.auth]\nusername = \"crew\"\npassword = \"s3cret\"\n\
         [agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n[[zone]]\nid = \"hall\"\nname = \"Salle A\"\n",
        dir.path().join("state").display()
    );
    let _agent = Agent::with_config(None, dir.path(), &config, "agent.log");
    common::wait_for("the agent", Duration::from_secs(20), || {
        common::http_get(port, "/healthz").filter(|(code, _)| *code == 200)
    });
    let origin = format!("http://127.0.0.1:{port}/");
    let mut browser = Browser::launch();

    // (Without credentials, headless Chromium has no one to ask for them and fails the
    // navigation; the 401 itself is checked in tests/it/access.rs and the handler tests.)
    // "crew:s3cret" in base64.
    let options = Options {
        headers: vec![("Authorization".into(), "Basic Y3JldzpzM2NyZXQ=".into())],
        ..Options::default()
    };
    let mut page = browser.open_with(&origin, 390, 844, &options);
    assert_eq!(
        page.eval("document.querySelectorAll('article.tile').length"),
        1
    );
    let before = page.eval("document.getElementById('venue').textContent");
    let changed = format!("document.getElementById('venue').textContent !== {before}");
    page.wait_until(
        "a live update through the auth",
        Duration::from_secs(10),
        &changed,
    );
    assert_eq!(page.eval("document.getElementById('live').hidden"), true);
    page.eval("1");
    assert_eq!(page.console_errors(), Vec::<String>::new());
    assert_eq!(page.navigations(), 1);
}

/// Elements sticking out of the viewport sideways (their tag and class), for an assertion
/// that nothing makes the page scroll sideways.
const WIDER_THAN_VIEWPORT: &str = "[...document.querySelectorAll('body *')]\
    .filter(e => { const r = e.getBoundingClientRect(); \
                   return r.width > 0 && (r.left < -0.5 || r.right > innerWidth + 0.5); })\
    .map(e => e.tagName + '.' + e.className)";

/// Tiles not wholly on screen (their ids).
const TILES_OFF_SCREEN: &str = "[...document.querySelectorAll('.tile')]\
    .filter(t => { const r = t.getBoundingClientRect(); \
                   return r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 \
                          || r.right > innerWidth + 0.5; })\
    .map(t => t.id)";

/// A venue of 40 zones, each with its own DHCP pool of 20 filled from 0 to 19 leases (some
/// zones critical, some warn, most ok), the first zone also holding `lo`.
fn forty_zones(dir: &Path, port: u16) -> String {
    let expiry = jiff::Timestamp::now().as_second() + 3_600;
    let mut config = format!(
        "[venue]\nname = \"Palais des congrès\"\nevent = \"sdn-2026\"\nlanguage = \"fr\"\n\
         [http]\nlisten = \"127.0.0.1:{port}\"\n[agent]\ntick = \"1s\"\nstate_dir = \"{}\"\n\
         [interfaces]\ninclude = [\"lo\"]\n",
        dir.join("state").display()
    );
    for i in 0..40 {
        let lo = if i == 0 {
            "interfaces = [\"lo\"]\n"
        } else {
            ""
        };
        config += &format!(
            "[[zone]]\nid = \"salle-{i:02}\"\nname = \"Salle de conférence {i}\"\nseats = 200\n{lo}"
        );
    }
    for i in 0..40 {
        let leases: String = (0..[19, 17, 12, 5, 1, 0][i % 6])
            .map(|k| {
                format!(
                    "{expiry} 02:00:00:00:{i:02x}:{k:02x} 10.0.{i}.{} guest *\n",
                    10 + k
                )
            })
            .collect();
        let file = dir.join(format!("pool-{i:02}.leases"));
        std::fs::write(&file, leases).expect("write leases");
        config += &format!(
            "[[source.dhcp]]\nkind = \"dnsmasq\"\nname = \"pool-{i:02}\"\nleases = \"{}\"\n\
             pool = \"10.0.{i}.10-10.0.{i}.29\"\nzone = \"salle-{i:02}\"\n",
            file.display()
        );
    }
    config
}

#[test]
fn wall_of_forty_zones_fits_1920x1080_fills_3840x2160_and_the_zone_page_fits_390px() {
    common::require_root("the browser tests");
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_port();
    let _agent = Agent::with_config(
        None,
        dir.path(),
        &forty_zones(dir.path(), port),
        "agent.log",
    );
    common::wait_for("forty pools read", Duration::from_secs(30), || {
        common::http_get(port, "/api/status").filter(|(_, body)| {
            let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            json["pools"].as_array().is_some_and(|pools| {
                pools.len() == 40 && pools.iter().all(|p| p["leases_active"].is_number())
            })
        })
    });
    let origin = format!("http://127.0.0.1:{port}/");
    let mut browser = Browser::launch();
    let shots = screenshot_dir();
    let area = "[...document.querySelectorAll('.tile')].reduce((sum, t) => \
                { const r = t.getBoundingClientRect(); return sum + r.width * r.height; }, 0) \
                / (innerWidth * innerHeight)";
    let columns = "getComputedStyle(document.getElementById('tiles'))\
                   .gridTemplateColumns.split(' ').length";

    // A wall screen picks the wall layout by itself: 8 × 5 tiles, worst first, no scrolling,
    // the zone name and its device count large enough to read from across the room.
    for (width, height) in [(1920, 1080), (3840, 2160)] {
        let mut wall = browser.open(&origin, width, height);
        assert_eq!(wall.eval("document.querySelectorAll('.tile').length"), 40);
        assert_eq!(wall.eval(columns), 8, "{width}x{height}");
        assert_eq!(
            wall.eval(TILES_OFF_SCREEN),
            serde_json::json!([]),
            "{width}"
        );
        assert_eq!(
            wall.eval(WIDER_THAN_VIEWPORT),
            serde_json::json!([]),
            "{width}"
        );
        assert_eq!(
            wall.eval("document.documentElement.scrollHeight <= innerHeight"),
            true,
            "no scrolling at {width}x{height}"
        );
        assert_eq!(
            wall.eval("document.getElementById('tiles').firstElementChild.className"),
            "tile crit",
            "worst first"
        );
        let px = |page: &mut Page, selector: &str| {
            let js = format!(
                "parseFloat(getComputedStyle(document.querySelector('{selector}')).fontSize)"
            );
            page.eval(&js).as_f64().unwrap_or_default()
        };
        let scale = f64::from(width) / 1920.0;
        let name = px(&mut wall, ".tile h2");
        let figure = px(&mut wall, ".tile dd b");
        assert!(name >= 20.0 * scale, "zone name {name} px at {width}");
        assert!(
            figure >= 36.0 * scale,
            "device count {figure} px at {width}"
        );
        let covered = wall.eval(area).as_f64().unwrap_or_default();
        assert!(
            covered > 0.75,
            "tiles cover {covered:.2} of {width}x{height}"
        );
        wall.eval("1");
        assert_eq!(wall.console_errors(), Vec::<String>::new());
        wall.screenshot(&shots.join(format!("page-wall-40-{width}x{height}.png")));
    }

    // A smaller screen keeps the flowing layout unless the wall is asked for.
    let mut laptop = browser.open(&origin, 1280, 800);
    assert_ne!(laptop.eval(columns), 8);
    let mut forced = browser.open(&format!("{origin}?view=wall"), 1280, 800);
    assert_eq!(forced.eval(columns), 8);
    assert_eq!(forced.eval(TILES_OFF_SCREEN), serde_json::json!([]));

    // A phone: the tiles in one column, the zone page's tables stacked, nothing wider than
    // the screen.
    let mut phone = browser.open(&origin, 390, 844);
    assert_eq!(phone.eval(WIDER_THAN_VIEWPORT), serde_json::json!([]));
    phone.screenshot(&shots.join("page-phone-40-390x844.png"));
    let mut zone = browser.open(&format!("{origin}zone/salle-00"), 390, 844);
    assert_eq!(
        zone.eval("document.querySelectorAll('#detail table').length"),
        2,
        "interfaces and pool tables"
    );
    assert_eq!(zone.eval(WIDER_THAN_VIEWPORT), serde_json::json!([]));
    assert_eq!(
        zone.eval("document.documentElement.scrollWidth <= innerWidth"),
        true
    );
    zone.eval("1");
    assert_eq!(zone.console_errors(), Vec::<String>::new());
    zone.screenshot(&shots.join("page-zone-390x844.png"));
}
