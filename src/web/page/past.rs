//! The page as it was: `/?at=TIME` and `/zone/{id}?at=TIME` rendered by the live page's
//! renderers from the snapshot the history rebuilds (`history::read`), with a banner and no
//! live updates; `/api/status?at=TIME`, that snapshot as JSON; and the zone page's time
//! slider over what the history covers.
//!
//! The file is read on the blocking pool, never on a runtime worker: a slow disk holds up
//! that one page, not the scrapes.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::view::local;
use super::{Missing, PageQuery, PageState, Rendered, Text, html, index_html, render, zone_html};
use crate::history::read::{self, Covered, Past};
use crate::hub::Snapshot;

/// The banner of a page of the past.
pub(super) struct Banner {
    /// "As it was on …".
    pub when: String,
    /// The same page, live.
    pub live: String,
}

/// The zone page's time slider: Unix seconds, and the ends worded for people.
pub(super) struct Slider {
    pub min: u64,
    pub max: u64,
    pub step: u64,
    pub value: u64,
    pub from: String,
    pub to: String,
}

/// A date and time as the page words it: `2026-06-03 10:42:00 CEST`.
const WHEN: &str = "%Y-%m-%d %H:%M:%S %Z";
/// The ends of a range: `2026-06-03 10:42`.
const SHORT: &str = "%Y-%m-%d %H:%M";

/// `?at=`: RFC 3339 (`2026-06-03T10:42:00+02:00`), Unix seconds, or the venue's local
/// `2026-06-03T10:42` (`:SS` allowed); `None` for anything else or a time before 1970. A
/// `+` typed in an address bar reaches the query as a space (`+` encodes one): an offset
/// written `+02:00` arrives as ` 02:00` and is read as `+02:00`.
pub(super) fn parse_at(value: &str, timezone: &jiff::tz::TimeZone) -> Option<u64> {
    let value = value.trim();
    let restored;
    let value = match value.rsplit_once(' ') {
        Some((time, offset))
            if time.contains('T') && offset.len() == 5 && offset.as_bytes()[2] == b':' =>
        {
            restored = format!("{time}+{offset}");
            restored.as_str()
        }
        _ => value,
    };
    let seconds = if let Ok(unix) = value.parse::<i64>() {
        unix
    } else if let Ok(instant) = value.parse::<jiff::Timestamp>() {
        instant.as_second()
    } else {
        let civil: jiff::civil::DateTime = value.parse().ok()?;
        timezone.to_timestamp(civil).ok()?.as_second()
    };
    u64::try_from(seconds).ok()
}

/// What reading the history gave.
enum Read {
    /// The snapshot of the moment, and the range for the slider.
    At(Box<Snapshot>, Option<Covered>),
    Outside(Option<Covered>),
    /// The file could not be read (logged).
    Failed,
}

/// Reads the history on the blocking pool: the snapshot at `at` rebuilt against `live`.
async fn read_at(path: Arc<std::path::Path>, at: u64, live: Arc<Snapshot>) -> Read {
    let read = tokio::task::spawn_blocking(move || {
        let db = read::open(&path)?;
        Ok::<_, rusqlite::Error>(match read::snapshot_at(&db, at, &live)? {
            Past::At(snapshot) => Read::At(snapshot, read::covered(&db)?),
            Past::Outside(covered) => Read::Outside(covered),
        })
    })
    .await;
    match read {
        Ok(Ok(read)) => read,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "history cannot be read for the page's past");
            Read::Failed
        }
        Err(e) => {
            tracing::warn!(error = %e, "history read for the page's past failed");
            Read::Failed
        }
    }
}

/// The live zone page's slider over what the history covers, at its end; `None` when the
/// history is off, empty or unreadable.
pub(super) async fn slider(state: &PageState) -> Option<Slider> {
    let tick = state.snapshots.borrow().tick_seconds;
    let path = Arc::clone(state.history.as_ref()?);
    let covered = tokio::task::spawn_blocking(move || read::covered(&read::open(&path)?))
        .await
        .ok()?;
    let covered = match covered {
        Ok(covered) => covered?,
        Err(e) => {
            tracing::debug!(error = %e, "no slider: the history cannot be read");
            return None;
        }
    };
    Some(slider_over(covered, None, tick, &state.pages.timezone))
}

/// A slider over `covered` at `at` (its end when `None`), in steps of a tick.
fn slider_over(
    covered: Covered,
    at: Option<u64>,
    tick: f64,
    timezone: &jiff::tz::TimeZone,
) -> Slider {
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Slider {
        min: covered.from,
        max: covered.to,
        // Browsers round the value to a step from `min`: a tick keeps every tick reachable.
        step: (tick.ceil() as u64).max(1),
        value: at.unwrap_or(covered.to).clamp(covered.from, covered.to),
        from: local(to_i64(covered.from), timezone, SHORT),
        to: local(to_i64(covered.to), timezone, SHORT),
    }
}

/// `/?at=` (`zone` `None`) or `/zone/{id}?at=`: the page as it was at `at`, or a page
/// saying why it cannot be shown.
pub(super) async fn page(
    state: &PageState,
    text: &'static Text,
    query: &PageQuery,
    zone: Option<&str>,
    at: &str,
) -> Response {
    let live = Arc::clone(&state.snapshots.borrow());
    let timezone = &state.pages.timezone;
    let root = if zone.is_some() { "../" } else { "" };
    let live_rendered = state.pages.rendered(&live, text);
    let refuse = |status: StatusCode, message: &str| {
        let page = Missing {
            f: state.frame(text, root, &live_rendered),
            status: status.as_u16(),
            message,
        };
        html((status, Html(render(&page))).into_response(), text, query)
    };
    let Some(at) = parse_at(at, timezone) else {
        return refuse(StatusCode::BAD_REQUEST, text.bad_time);
    };
    let Some(path) = state.history.clone() else {
        return refuse(StatusCode::NOT_FOUND, state.pages.history_off(text));
    };
    let (snapshot, covered) = match read_at(path, at, Arc::clone(&live)).await {
        Read::At(snapshot, covered) => (Arc::new(*snapshot), covered),
        Read::Outside(Some(covered)) => {
            let range = format!(
                "{} – {}",
                local(i64::try_from(covered.from).unwrap_or(0), timezone, WHEN),
                local(i64::try_from(covered.to).unwrap_or(0), timezone, WHEN)
            );
            return refuse(
                StatusCode::NOT_FOUND,
                &text.no_history_at.replace("{}", &range),
            );
        }
        Read::Outside(None) => return refuse(StatusCode::NOT_FOUND, text.history_empty),
        Read::Failed => return refuse(StatusCode::SERVICE_UNAVAILABLE, text.history_unreadable),
    };
    let tick = snapshot.generated_at;
    let r = Rendered::new(&snapshot, text, timezone, &format!("?at={tick}"));
    let mut frame = state.frame(text, root, &r);
    // Organizers read the banner: the date as the report words it, in the page's language.
    let language = if text.lang == "fr" {
        crate::config::Language::Fr
    } else {
        crate::config::Language::En
    };
    let when = crate::report::Words::new(language, timezone.clone())
        .moment(i64::try_from(tick).unwrap_or(0));
    frame.past = Some(Banner {
        when: text.as_it_was.replace("{}", &when),
        live: match zone {
            Some(id) => format!("../zone/{id}"),
            None => "./".to_string(),
        },
    });
    let response = match zone {
        Some(id) => {
            let slider =
                covered.map(|c| slider_over(c, Some(tick), snapshot.tick_seconds, timezone));
            zone_html(frame, &r, id, slider)
        }
        None => Html(index_html(frame, &r, query.view.as_deref() == Some("wall"))).into_response(),
    };
    html(response, text, query)
}

/// `/api/status?at=`: the snapshot the history rebuilds for that moment, as `/api/status`
/// gives the live one (fields the history does not keep are empty: see `history::read`);
/// otherwise an error as JSON, `{"error": …}` (with `"covered": {"from", "to"}` in Unix
/// seconds when the moment is outside the history), status 400, 404 or 503 as the page.
pub(crate) async fn status(
    history: Option<Arc<std::path::Path>>,
    pages: &super::Pages,
    live: Arc<Snapshot>,
    at: &str,
) -> Response {
    let text = super::text(crate::config::Language::En);
    let error = |status: StatusCode, error: &str, covered: Option<Covered>| {
        let mut body = serde_json::json!({ "error": error });
        if let Some(c) = covered {
            body["covered"] = serde_json::json!({ "from": c.from, "to": c.to });
        }
        (status, axum::Json(body)).into_response()
    };
    let Some(at) = parse_at(at, &pages.timezone) else {
        return error(StatusCode::BAD_REQUEST, text.bad_time, None);
    };
    let Some(path) = history else {
        return error(StatusCode::NOT_FOUND, pages.history_off(text), None);
    };
    match read_at(path, at, live).await {
        Read::At(snapshot, _) => axum::Json(*snapshot).into_response(),
        Read::Outside(Some(c)) => {
            let range = format!("{} – {}", c.from, c.to);
            let message = text.no_history_at.replace("{}", &range);
            error(StatusCode::NOT_FOUND, &message, Some(c))
        }
        Read::Outside(None) => error(StatusCode::NOT_FOUND, text.history_empty, None),
        Read::Failed => error(
            StatusCode::SERVICE_UNAVAILABLE,
            text.history_unreadable,
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_reads_rfc_3339_unix_seconds_and_the_venues_local_time() {
        let paris = paris();
        assert_eq!(
            parse_at("2026-06-03T10:42:00+02:00", &paris),
            Some(1_780_476_120)
        );
        assert_eq!(parse_at("1780476120", &paris), Some(1_780_476_120));
        // Regression: `?at=2026-06-03T10:42:00+02:00` typed in a browser.
        assert_eq!(
            parse_at("2026-06-03T10:42:00 02:00", &paris),
            Some(1_780_476_120)
        );
        assert_eq!(parse_at("2026-06-03T10:42", &paris), Some(1_780_476_120));
        assert_eq!(parse_at("2026-06-03T10:42:00", &paris), Some(1_780_476_120));
        for bad in ["", "yesterday", "-5", "2026-13-03T10:42"] {
            assert_eq!(parse_at(bad, &paris), None, "{bad}");
        }
    }

    /// The agent's router over a simulated day's history (or none), its live snapshot
    /// naming the main hall.
    fn app_with(history: Option<&std::path::Path>) -> axum::Router {
        let live = Snapshot {
            tick_seconds: 60.0,
            zones: vec![crate::hub::ZoneSnapshot {
                id: "main-hall".into(),
                name: "Main hall".into(),
                ..Default::default()
            }],
            ..Snapshot::default()
        };
        app_of(live, history)
    }

    /// The agent's router with `live` as its latest snapshot, over `history` (or none).
    fn app_of(live: Snapshot, history: Option<&std::path::Path>) -> axum::Router {
        let (_, rx) = tokio::sync::watch::channel(Arc::new(live));
        let mut venue = crate::config::Config::zero_config("test").venue;
        venue.language = crate::config::Language::En;
        venue.timezone = "Europe/Paris".into();
        let mut state = crate::web::AppState::new(rx, &venue);
        if let Some(path) = history {
            state = state.with_history(path);
        }
        crate::web::app(state, std::time::Duration::from_secs(5))
    }

    /// The simulated day's history, its main hall's busiest tick and devices then.
    fn simulated(dir: &std::path::Path) -> (std::path::PathBuf, u64, u64) {
        let path = crate::history::testing::simulated(dir);
        let db = read::open(&path).expect("opens");
        let (at, clients) = db
            .query_row(
                "SELECT at, clients FROM zone_ticks z JOIN names n ON n.id = z.zone \
                 WHERE n.name = 'main-hall' ORDER BY clients DESC, at LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .expect("peak");
        let n = |v: i64| u64::try_from(v).expect("positive");
        (path, n(at), n(clients))
    }

    #[tokio::test]
    async fn a_past_moment_renders_the_live_pages_with_a_banner_and_no_live_updates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, peak_at, peak) = simulated(dir.path());
        let app = app_with(Some(&path));
        let when = crate::report::Words::new(crate::config::Language::En, paris())
            .moment(i64::try_from(peak_at).expect("time"));
        assert!(when.ends_with("(Paris time, UTC+2)"), "{when}");
        let reply = crate::web::testing::get(&app, &format!("/?at={}", peak_at + 20), &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
        let page = reply.text();
        for needle in [
            format!("As it was on {when}"),
            "href=\"./\">Back to live</a>".to_string(),
            format!("href=\"zone/main-hall?at={peak_at}\">Main hall</a>"),
            format!("{peak}</b>"),
            "Critical".to_string(),
        ] {
            assert!(page.contains(&needle), "{needle}: {page}");
        }
        for absent in ["data-events", "<script", "http-equiv=\"refresh\""] {
            assert!(!page.contains(absent), "{absent}: {page}");
        }
        let reply =
            crate::web::testing::get(&app, &format!("/zone/main-hall?at={peak_at}&lang=fr"), &[])
                .await;
        assert_eq!(reply.status, StatusCode::OK);
        let page = reply.text();
        for needle in [
            "Tel que c’était le".to_string(),
            "href=\"../zone/main-hall\">Revenir au direct</a>".to_string(),
            "<input type=\"range\" id=\"at\" name=\"at\"".to_string(),
            format!("value=\"{peak_at}\""),
            "<path d=\"M".to_string(),
        ] {
            assert!(page.contains(&needle), "{needle}: {page}");
        }
        assert!(!page.contains("data-events"), "{page}");
        // The live zone page has the slider too, at the history's end.
        let reply = crate::web::testing::get(&app, "/zone/main-hall", &[]).await;
        assert!(reply.text().contains("<form id=\"slider\""));
    }

    #[tokio::test]
    async fn a_past_moment_shows_its_sessions_reason_subjects_and_clients_per_source() {
        use crate::history::testing::{live_simulated, truth, truth_event, truth_sessions};
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, peak_at, peak) = simulated(dir.path());
        let truth = truth(dir.path());
        let app = app_of(live_simulated(), Some(&path));
        let (keynote, _) = truth_event(&truth, "keynote");
        assert!(peak_at >= keynote);
        let t = i64::try_from(peak_at).expect("time");
        let (now, next) = truth_sessions(&truth, "main-hall", t);
        let (now, _, ends) = now.expect("the keynote is on at its peak");
        let page = crate::web::testing::get(&app, &format!("/zone/main-hall?at={peak_at}"), &[])
            .await
            .text();
        for needle in [
            format!("<dt>Now</dt><dd><b>{now}</b>"),
            format!("until {}", local(ends, &paris(), "%H:%M")),
            "DHCP pool main-hall ".to_string(),
        ] {
            assert!(page.contains(&needle), "{needle}: {page}");
        }
        let reply = crate::web::testing::get(&app, &format!("/api/status?at={peak_at}"), &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.header(axum::http::header::CONTENT_TYPE),
            "application/json"
        );
        let json: serde_json::Value = serde_json::from_str(&reply.text()).expect("json");
        assert_eq!(json["generated_at"], peak_at);
        let hall = &json["zones"][0];
        assert_eq!(hall["id"], "main-hall");
        assert_eq!(hall["clients"], peak);
        assert_eq!(hall["clients_by_source"]["hostapd"], peak, "{hall}");
        assert_eq!(hall["session_now"]["title"], now.as_str());
        assert_eq!(
            hall["session_next"]["title"].as_str(),
            next.as_ref().map(|n| n.0.as_str())
        );
        assert_eq!(hall["reasons"][0]["kind"], "dhcp_pool");
        assert_eq!(hall["reasons"][0]["subject"], "main-hall");
        // The first room's DHCP source was down: the tile says which source.
        let (down, rooms) = truth_event(&truth, "source_down");
        let page = crate::web::testing::get(&app, &format!("/?at={}", down + 60), &[])
            .await
            .text();
        let tile = page
            .split(&format!("id=\"z-{}\"", rooms[0]))
            .nth(1)
            .and_then(|t| t.split("</article>").next())
            .expect("the room's tile");
        assert!(tile.contains("Source dhcp not answering"), "{tile}");
        // Outside the history: where it is, in Unix seconds.
        let reply =
            crate::web::testing::get(&app, "/api/status?at=2020-01-01T00:00:00Z", &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let json: serde_json::Value = serde_json::from_str(&reply.text()).expect("json");
        assert!(
            json["covered"]["from"]
                .as_u64()
                .is_some_and(|f| f <= peak_at),
            "{json}"
        );
        let reply = crate::web::testing::get(&app, "/api/status?at=soon", &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_past_zone_page_shows_its_captures_counted_up_to_that_moment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("captures.sqlite");
        let snapshots: Vec<Snapshot> = [
            (1_780_470_000, 10_000),
            (1_780_470_005, 13_000),
            (1_780_470_010, 17_000),
        ]
        .into_iter()
        .map(|(at, frames)| Snapshot {
            generated_at: at,
            tick_seconds: 5.0,
            zones: vec![crate::hub::ZoneSnapshot {
                id: "hall".into(),
                ..Default::default()
            }],
            captures: vec![crate::history::testing::capture(frames, 7)],
            ..Snapshot::default()
        })
        .collect();
        crate::history::testing::write(&path, &snapshots);
        let live = Snapshot {
            tick_seconds: 5.0,
            zones: vec![crate::hub::ZoneSnapshot {
                id: "hall".into(),
                name: "Hall".into(),
                ..Default::default()
            }],
            ..Snapshot::default()
        };
        let app = app_of(live, Some(&path));
        let page = crate::web::testing::get(&app, "/zone/hall?at=1780470010", &[])
            .await
            .text();
        let en = super::super::text(crate::config::Language::En);
        // Counted from the second tick (the first has no previous totals): 7 000 frames,
        // 700 dropped, no DISCOVER left unanswered since.
        let row = format!(
            "<td data-h=\"Interface\">mon0</td><td data-h=\"{}\">{}</td><td data-h=\"{}\">{}</td>",
            en.frames,
            en.count(7_000),
            en.dropped,
            en.count(700)
        );
        assert!(page.contains(&row), "{row}: {page}");
        let json: serde_json::Value = serde_json::from_str(
            &crate::web::testing::get(&app, "/api/status?at=1780470010", &[])
                .await
                .text(),
        )
        .expect("json");
        let capture = &json["captures"][0];
        assert_eq!(
            (
                &capture["frames"],
                &capture["bytes"],
                &capture["kernel_dropped"]
            ),
            (&7_000.into(), &700_000.into(), &700.into()),
            "{capture}"
        );
    }

    /// Regression: a second before the first tick, the minute's row (at the minute's start)
    /// answered 200 with a moment before the agent started, where `covered.from` said 404.
    #[tokio::test]
    async fn before_the_first_tick_is_outside_the_history_on_every_page() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("late.sqlite");
        let first = 1_780_470_030;
        let snapshots: Vec<Snapshot> = (0..3)
            .map(|i| Snapshot {
                generated_at: first + 5 * i,
                tick_seconds: 5.0,
                zones: vec![crate::hub::ZoneSnapshot {
                    id: "hall".into(),
                    ..Default::default()
                }],
                ..Snapshot::default()
            })
            .collect();
        crate::history::testing::write(&path, &snapshots);
        let live = Snapshot {
            tick_seconds: 5.0,
            zones: vec![crate::hub::ZoneSnapshot {
                id: "hall".into(),
                name: "Hall".into(),
                ..Default::default()
            }],
            ..Snapshot::default()
        };
        let app = app_of(live, Some(&path));
        let before = first - 1;
        for url in [
            format!("/?at={before}"),
            format!("/zone/hall?at={before}"),
            format!("/api/status?at={before}"),
        ] {
            let reply = crate::web::testing::get(&app, &url, &[]).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{url}");
            assert!(reply.text().contains("No history at that time"), "{url}");
        }
        let reply = crate::web::testing::get(&app, &format!("/api/status?at={before}"), &[]).await;
        let json: serde_json::Value = serde_json::from_str(&reply.text()).expect("json");
        assert_eq!(json["covered"]["from"], first);
        let reply = crate::web::testing::get(&app, &format!("/?at={first}"), &[]).await;
        assert_eq!(reply.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn no_history_at_that_time_off_or_unreadable_time_say_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (path, _, _) = simulated(dir.path());
        let app = app_with(Some(&path));
        let reply = crate::web::testing::get(&app, "/?at=2020-01-01T00:00:00Z", &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        let page = reply.text();
        assert!(
            page.contains("No history at that time: the history covers 20"),
            "{page}"
        );
        let reply = crate::web::testing::get(&app, "/zone/main-hall?at=soon", &[]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        // Regression: the 400 page was titled 404.
        assert!(reply.text().contains("<title>400 · "), "{}", reply.text());
        assert!(reply.text().contains("Cannot read the time"));
        let off = app_with(None);
        let reply = crate::web::testing::get(&off, "/?at=1780476120", &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(
            reply
                .text()
                .contains("enabled = true in the [history] section")
        );
        let reply = crate::web::testing::get(&off, "/zone/main-hall", &[]).await;
        assert!(!reply.text().contains("slider"));
        // Regression: `venuemon run --simulate` without --history named a config key.
        let (_, rx) = tokio::sync::watch::channel(Arc::new(Snapshot::default()));
        let venue = crate::config::Config::zero_config("test").venue;
        let simulated = crate::web::app(
            crate::web::AppState::new(rx, &venue).simulated(&venue),
            std::time::Duration::from_secs(5),
        );
        for url in ["/?at=1780476120", "/api/status?at=1780476120"] {
            let reply = crate::web::testing::get(&simulated, url, &[]).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND);
            let text = reply.text();
            assert!(
                text.contains("venuemon run --simulate again with --history FILE")
                    && !text.contains("[history]"),
                "{text}"
            );
        }
        let gone = app_with(Some(&dir.path().join("absent.sqlite")));
        let reply = crate::web::testing::get(&gone, "/?at=1780476120", &[]).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    fn paris() -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get("Europe/Paris").expect("tz")
    }
}
