//! The status page's past (`/?at=`, `/zone/{id}?at=`, `/api/status?at=`) served by `venuemon
//! run --simulate --history FILE`: the figures of a past tick as the history holds them, the
//! programme's sessions then, clients per source, and a screenshot of the zone page at that
//! moment (Chromium).

use std::time::Duration;

use crate::browser::{Browser, screenshot_dir};
use crate::common;

#[test]
fn a_past_tick_of_the_simulated_venue_is_served_with_its_figures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let history = dir.path().join("history.sqlite");
    let port = common::free_port();
    let path = history.to_str().expect("utf-8 path");
    let _agent = common::simulated_agent(dir.path(), port, &["--history", path]);
    // A tick the history holds with devices in the foyer, once a few more were written and
    // the first minute was rolled up into its minute row (at the minute's start, before the
    // first tick: up to a minute's wait).
    let (at, foyer) = common::wait_for(
        "a few ticks and a minute row in the history",
        Duration::from_secs(90),
        || {
            let db = rusqlite::Connection::open_with_flags(
                &history,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .ok()?;
            let (first, last): (i64, i64) = db
                .query_row("SELECT min(at), max(at) FROM venue_ticks", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .ok()?;
            let minutes: i64 = db
                .query_row("SELECT count(*) FROM venue_minutes", [], |r| r.get(0))
                .ok()?;
            (last - first >= 3 && minutes > 0).then_some(())?;
            db.query_row(
                "SELECT at, clients FROM zone_ticks z JOIN names n ON n.id = z.zone \
             WHERE n.name = 'foyer' AND clients > 0 ORDER BY at LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .ok()
        },
    );
    let (status, page) = common::http_get(port, &format!("/?at={at}")).expect("answers");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("As it was on"), "{page}");
    assert!(!page.contains("data-events"), "no live updates: {page}");
    let tile = page
        .split("id=\"z-foyer\"")
        .nth(1)
        .and_then(|t| t.split("</article>").next())
        .expect("the foyer's tile");
    assert!(tile.contains(&format!("<b>{foyer}</b>")), "{foyer}: {tile}");
    assert!(
        tile.contains(&format!("href=\"zone/foyer?at={at}\"")),
        "{tile}"
    );
    let (status, _) = common::http_get(port, "/?at=2001-01-01T00:00:00Z").expect("answers");
    assert_eq!(status, 404);
    // The programme then (the simulation's keynote starts 10 minutes after the agent), and
    // who saw the foyer's devices (the simulated access points, alone).
    let hall = page
        .split("id=\"z-main-hall\"")
        .nth(1)
        .and_then(|t| t.split("</article>").next())
        .expect("the main hall's tile");
    assert!(
        hall.contains("<dt>Next</dt><dd><b>Keynote, day 1</b>"),
        "{hall}"
    );
    let (status, json) = common::http_get(port, &format!("/api/status?at={at}")).expect("answers");
    assert_eq!(status, 200, "{json}");
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["generated_at"], at);
    let zone = |id: &str| {
        json["zones"]
            .as_array()
            .and_then(|zones| zones.iter().find(|z| z["id"] == id))
            .cloned()
            .expect("the zone")
    };
    assert_eq!(zone("main-hall")["session_next"]["title"], "Keynote, day 1");
    assert_eq!(zone("foyer")["clients"], foyer);
    assert_eq!(zone("foyer")["clients_by_source"]["hostapd"], foyer);
    // Regression: every zone's unique devices read 0 (the venue's came back). A zone's is
    // its devices in the hour holding the moment, from the history's hourly sketch.
    let unique = zone("foyer")["unique_clients_estimate"]
        .as_f64()
        .expect("a number");
    // At least the devices of that moment, within the sketch's error: a HyperLogLog
    // estimate (~1.6 % standard error, the same 5 % the report's test allows) can be below
    // the true count (248 for 251 once, with the event key of that run).
    assert!(
        unique >= foyer as f64 * 0.95 && unique > 0.0,
        "{unique} for {foyer}"
    );

    // Regression: the zone page's slider started at the start of the first tick's minute,
    // a moment before the history's first tick; it goes from the first tick to the last.
    let first: i64 =
        rusqlite::Connection::open_with_flags(&history, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|db| db.query_row("SELECT min(at) FROM venue_ticks", [], |r| r.get(0)))
            .expect("the first tick");
    let (status, live) = common::http_get(port, "/zone/main-hall").expect("answers");
    assert_eq!(status, 200, "{live}");
    let attribute = |name: &str| -> i64 {
        live.split("type=\"range\"")
            .nth(1)
            .and_then(|input| input.split(&format!(" {name}=\"")).nth(1))
            .and_then(|value| value.split('"').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("the slider's {name}: {live}"))
    };
    assert_eq!(
        attribute("min"),
        first,
        "the slider starts at the first tick"
    );
    let (status, json) =
        common::http_get(port, &format!("/api/status?at={first}")).expect("answers");
    assert_eq!(status, 200, "the slider's start is a tick: {json}");
    assert!(attribute("max") >= at, "the slider ends at the last tick");

    let mut browser = Browser::launch();
    let mut zone = browser.open(
        &format!("http://127.0.0.1:{port}/zone/main-hall?at={at}"),
        480,
        900,
    );
    let banner = zone.eval("document.getElementById('past').innerText");
    assert!(
        banner.as_str().is_some_and(|b| b.contains("As it was on")),
        "{banner}"
    );
    let slider = zone.eval("document.querySelector('#slider input[type=range]').value");
    assert_eq!(slider.as_str(), Some(at.to_string().as_str()));
    zone.screenshot(&screenshot_dir().join("past-zone.png"));
    assert_eq!(zone.console_errors(), Vec::<String>::new());
}
