//! Handler tests: every page route, every status, both languages, through the agent's whole
//! router (compression and all).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use futures_util::StreamExt;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::{Config, Language};
use crate::hub::recent::Point;
use crate::hub::snapshot::{ApSnapshot, InterfaceSnapshot, PoolSnapshot, SourceSnapshot};
use crate::hub::{Reason, ReasonKind, SessionSnapshot, Snapshot, Status, ZoneSnapshot};
use crate::web::testing::get;
use crate::web::{AppState, app};

const HOSTILE: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";

fn zone(id: &str, name: &str, status: Status) -> ZoneSnapshot {
    let reasons = match status {
        Status::Ok => Vec::new(),
        Status::Unknown => vec![Reason {
            kind: ReasonKind::SourceDown,
            subject: "dhcp".into(),
            value: 1.0,
            status,
        }],
        level => vec![Reason {
            kind: ReasonKind::DhcpPool,
            subject: format!("{id}-pool"),
            value: if level == Status::Critical {
                0.97
            } else {
                0.85
            },
            status: level,
        }],
    };
    ZoneSnapshot {
        id: id.into(),
        name: name.into(),
        seats: Some(800),
        clients: 1234,
        clients_randomized: 500,
        status,
        reasons,
        rx_bps: Some(12_500_000.0),
        tx_bps: Some(2_000_000.0),
        uplink_utilization: Some(0.42),
        pool_leases: Some(97),
        pool_size: Some(100),
        stations: Some(40),
        aps: 2,
        time_to_lease_p95: Some(0.25),
        session_now: Some(SessionSnapshot {
            title: format!("Talk {HOSTILE}"),
            starts: 1_795_000_000 - 600,
            ends: 1_795_000_000 + 1_200,
        }),
        session_next: Some(SessionSnapshot {
            title: format!("Next {HOSTILE}"),
            starts: 1_795_000_000 + 1_800,
            ends: 1_795_000_000 + 3_600,
        }),
        history: (0..120)
            .map(|i| Point {
                at: 1_795_000_000 - 3600 + i * 30,
                clients: i,
                uplink: Some(0.3),
                pool: (i % 10 != 0).then_some(0.5),
            })
            .collect(),
        ..Default::default()
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        generated_at: 1_795_000_000,
        venue: format!("Centre {HOSTILE}"),
        event: "sdn-2026".into(),
        tick_seconds: 1.0,
        status: Status::Critical,
        zones: vec![
            zone("hall-a", "Salle A", Status::Ok),
            zone("hall-b", HOSTILE, Status::Warn),
            zone("hall-c", "Salle C", Status::Critical),
        ],
        interfaces: vec![InterfaceSnapshot {
            name: "wlan0".into(),
            zone: Some("hall-c".into()),
            kind: crate::inventory::LinkKind::Wireless,
            up: true,
            carrier: Some(true),
            mtu: Some(1500),
            speed_bps: Some(100_000_000),
            counters: Default::default(),
            rx_bps: Some(42_000_000.0),
            tx_bps: Some(1_000_000.0),
            utilization: Some(0.42),
        }],
        aps: vec![ApSnapshot {
            stations: 40,
            present: true,
            ..ApSnapshot::silent("wlan0".into(), Some("hall-c".into()), Default::default())
        }],
        pools: vec![PoolSnapshot {
            name: "hall-c-pool".into(),
            zone: Some("hall-c".into()),
            leases_active: Some(97),
            size: Some(100),
            usage: Some(0.97),
            status: Status::Critical,
            records_skipped: 0,
            statistics: None,
        }],
        sources: vec![
            SourceSnapshot {
                source: "netdev",
                instance: "netlink".into(),
                up: true,
                errors: Default::default(),
                last_error: None,
                duration_seconds: 0.0,
            },
            SourceSnapshot {
                source: "hostapd",
                instance: "/var/run/hostapd".into(),
                up: false,
                errors: Default::default(),
                last_error: Some(format!("cannot open {HOSTILE}")),
                duration_seconds: 0.0,
            },
        ],
        ..Default::default()
    }
}

fn test_app(language: Language) -> (watch::Sender<Arc<Snapshot>>, Router) {
    let (tx, rx) = watch::channel(Arc::new(snapshot()));
    let mut venue = Config::zero_config("test").venue;
    venue.language = language;
    venue.timezone = "America/Toronto".into();
    (tx, app(AppState::new(rx, &venue), Duration::from_secs(5)))
}

#[tokio::test]
async fn index_puts_the_worst_zone_first_with_word_icon_and_reason() {
    let (_tx, app) = test_app(Language::En);
    let reply = get(&app, "/", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = reply.text();
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {page}"))
    };
    assert!(at("id=\"z-hall-c\"") < at("id=\"z-hall-b\""));
    assert!(at("id=\"z-hall-b\"") < at("id=\"z-hall-a\""));
    for needle in [
        "<article class=\"tile crit\" id=\"z-hall-c\">",
        "#i-crit",
        "Critical",
        "Warning",
        "DHCP pool hall-c-pool 97\u{202f}% used",
        "<b>1,234</b> <span class=\"u\">devices / 800 seats</span> <small>including 500 \
         with a random MAC</small>",
        "3 free of 100",
        "↓ 12\u{a0}Mbit/s · ↑ 2.0\u{a0}Mbit/s",
        "250\u{a0}ms",
        "Data from 06:06:40 EST",
        "Sources up: <span class=\"up-src\">netdev</span>",
        "hostapd (/var/run/hostapd)",
        "<html lang=\"en\">",
        "href=\"zone/hall-c\"",
        "<meta http-equiv=\"refresh\" content=\"5\">",
    ] {
        at(needle);
    }
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-cache");
    let vary = reply.header(header::VARY);
    assert!(
        vary.contains("Accept-Language") && vary.contains("Accept-Encoding"),
        "{vary}"
    );
    assert!(
        reply
            .header(header::CONTENT_SECURITY_POLICY)
            .contains("script-src 'self'")
    );
}

#[tokio::test]
async fn every_string_follows_the_language() {
    let (_tx, app) = test_app(Language::Fr);
    let fr = get(&app, "/", &[]).await.text();
    for needle in [
        "<html lang=\"fr\">",
        "Critique",
        "Attention",
        "Pool DHCP hall-c-pool utilisé à 97\u{202f}%",
        "<b>1\u{202f}234</b> <span class=\"u\">appareils / 800 places</span>",
        "dont 500 avec une adresse MAC aléatoire",
        "3 libres sur 100",
        "Données de",
        "Sources actives :",
        "Sources en panne :",
        "En ce moment",
        "jusqu’à 06:26",
        "Ensuite",
        "à 06:36",
    ] {
        assert!(fr.contains(needle), "{needle}: {fr}");
    }
    // The browser's language beats the config; `?lang=` beats both and is remembered.
    let en = get(&app, "/", &[(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")]).await;
    assert!(en.text().contains("<html lang=\"en\">"));
    let picked = get(&app, "/?lang=fr", &[(header::ACCEPT_LANGUAGE, "en")]).await;
    assert!(picked.text().contains("<html lang=\"fr\">"));
    let cookie = picked.header(header::SET_COOKIE);
    assert!(cookie.starts_with("venuemon_lang=fr;"), "{cookie}");
    let later = get(
        &app,
        "/zone/hall-a",
        &[
            (header::ACCEPT_LANGUAGE, "en"),
            (header::COOKIE, "a=b; venuemon_lang=fr"),
        ],
    )
    .await;
    assert!(later.text().contains("Dernière heure"), "{}", later.text());
    assert!(later.header(header::SET_COOKIE).is_empty());
    // No English word left in the French page's own strings.
    for english in [
        "Devices",
        "Warning",
        "Critical",
        "Sources up",
        "free of",
        "Last hour",
        "until",
    ] {
        assert!(!fr.contains(english), "{english} in the French page");
        assert!(
            !later.text().contains(english),
            "{english} in the French zone page"
        );
    }
}

#[tokio::test]
async fn hostile_names_are_escaped_everywhere() {
    let (_tx, app) = test_app(Language::En);
    for uri in ["/", "/zone/hall-b", "/zone/hall-c"] {
        let page = get(&app, uri, &[]).await.text();
        assert!(!page.contains("<script>alert"), "{uri}: {page}");
        assert!(!page.contains("<img src=x"), "{uri}");
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{uri}: {page}"
        );
        assert!(
            page.contains("Talk &#60;script&#62;") && page.contains("Next &#60;script&#62;"),
            "{uri}: the sessions' titles, escaped"
        );
    }
    let mut events = sse(&app, "/events?lang=en").await;
    let first = events.next_event().await;
    assert!(!first.contains("<script>alert"), "{first}");
    assert!(first.contains("&#60;script&#62;"), "{first}");
}

#[tokio::test]
async fn zone_page_has_detail_and_sparklines_and_unknown_zones_are_404() {
    let (_tx, app) = test_app(Language::En);
    let reply = get(&app, "/zone/hall-c", &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let page = reply.text();
    for needle in [
        "Last hour",
        "<svg class=\"spark\"",
        "<path d=\"M",
        "<th>Access point</th>",
        // Each cell carries its column's header, shown beside it on a phone.
        "<td data-h=\"Access point\">wlan0</td>",
        "<td data-h=\"Received\">42\u{a0}Mbit/s</td>",
        "<td data-h=\"Pool\">hall-c-pool</td>",
        "href=\"../zone/hall-c\"",
        "href=\"../static/app.",
        "data-events=\"../events?lang=en&amp;zone=hall-c\"",
    ] {
        assert!(page.contains(needle), "{needle}: {page}");
    }
    // The pool sparkline breaks where the pool was unknown.
    let pool_path = page
        .split("DHCP pool <b>")
        .nth(1)
        .and_then(|rest| rest.split("d=\"").nth(1))
        .expect("pool sparkline");
    assert!(
        pool_path
            .split('"')
            .next()
            .unwrap_or_default()
            .matches('M')
            .count()
            > 5
    );
    let missing = get(&app, "/zone/%3Cscript%3Ex", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("There is no such zone."));
    assert!(!missing.text().contains("<script>x"));
    let (_tx, app) = test_app(Language::Fr);
    let missing = get(&app, "/zone/nope", &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Cette zone n’existe pas."));
}

#[tokio::test]
async fn every_status_has_its_class_word_and_icon() {
    let (tx, app) = test_app(Language::En);
    for (status, class, word) in [
        (Status::Ok, "ok", "OK"),
        (Status::Unknown, "unknown", "Unknown"),
        (Status::Warn, "warn", "Warning"),
        (Status::Critical, "crit", "Critical"),
    ] {
        let mut s = snapshot();
        s.status = status;
        s.zones = vec![zone("hall-a", "Salle A", status)];
        tx.send_replace(Arc::new(s));
        let page = get(&app, "/", &[]).await.text();
        let tile = format!(
            "<article class=\"tile {class}\" id=\"z-hall-a\">\n<h2><a href=\"zone/hall-a\">Salle A</a></h2>\n\
             <p class=\"st\"><svg class=\"ic\" aria-hidden=\"true\"><use href=\"#i-{class}\"></use></svg> {word}</p>"
        );
        assert!(page.contains(&tile), "{tile}\n{page}");
        assert!(page.contains(&format!("<div class=\"top {class}\">")));
        assert_eq!(page.contains("<ul class=\"why\">"), status != Status::Ok);
    }
}

/// Issue 10: a zone no answering source covers showed "OK". It is unknown, in grey with its
/// own icon, listed after the zones past a threshold and before those that are fine, with
/// the source that did not answer.
#[tokio::test]
async fn regression_an_unknown_zone_is_worded_in_both_languages_and_sorted_before_ok() {
    for (language, word, reason) in [
        (Language::En, "Unknown", "Source dhcp not answering"),
        (Language::Fr, "Inconnu", "Source dhcp sans réponse"),
    ] {
        let (tx, app) = test_app(language);
        let mut s = snapshot();
        s.zones = vec![
            zone("fine", "Fine", Status::Ok),
            zone("blind", "Blind", Status::Unknown),
            zone("busy", "Busy", Status::Warn),
        ];
        tx.send_replace(Arc::new(s));
        let page = get(&app, "/", &[]).await.text();
        let at = |needle: &str| {
            page.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {page}"))
        };
        assert!(at("id=\"z-busy\"") < at("id=\"z-blind\""));
        assert!(at("id=\"z-blind\"") < at("id=\"z-fine\""));
        assert!(page.contains("<article class=\"tile unknown\" id=\"z-blind\">"));
        assert!(
            page.contains("<symbol id=\"i-unknown\""),
            "the icon is defined"
        );
        assert!(page.contains(&format!("</svg> {word}</p>")), "{page}");
        assert!(page.contains(reason), "{reason}: {page}");
        let zone_page = get(&app, "/zone/blind", &[]).await.text();
        assert!(
            zone_page.contains(word) && zone_page.contains(reason),
            "{zone_page}"
        );
    }
}

#[tokio::test]
async fn a_zone_shows_only_what_the_snapshot_has() {
    let (tx, app) = test_app(Language::En);
    let mut s = Snapshot::default();
    s.zones.push(ZoneSnapshot {
        id: "bare".into(),
        name: "Bare".into(),
        ..Default::default()
    });
    tx.send_replace(Arc::new(s));
    let page = get(&app, "/", &[]).await.text();
    let tile = page.split("id=\"z-bare\"").nth(1).expect("tile");
    assert_eq!(
        tile.matches("<dt>").count(),
        1,
        "only the device count: {tile}"
    );
    assert!(page.contains("Data from –"), "before the first tick");
    let zone = get(&app, "/zone/bare", &[]).await.text();
    assert!(!zone.contains("<table>"), "no empty tables");
}

#[tokio::test]
async fn static_files_are_cached_forever_and_named_by_content() {
    let (_tx, app) = test_app(Language::En);
    let page = get(&app, "/", &[]).await.text();
    let names: Vec<&str> = page
        .split("static/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    for name in names {
        let reply = get(&app, &format!("/static/{name}"), &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(
            reply.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert!(!reply.body.is_empty());
    }
    assert_eq!(
        get(&app, "/static/app.0.css", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

/// "1 1 with a random MAC" read as two numbers: a count carries its noun, in the singular or
/// plural of the language, and the random-MAC count reads as part of it.
#[tokio::test]
async fn one_device_with_a_random_mac_reads_as_a_sentence_in_both_languages() {
    for (language, one, two) in [
        (
            Language::En,
            "<b>1</b> <span class=\"u\">device / 1 seat</span> <small>including 1 with a random MAC</small>",
            "<b>2</b> <span class=\"u\">devices / 1 seat</span> <small>including 1 with a random MAC</small>",
        ),
        (
            Language::Fr,
            "<b>1</b> <span class=\"u\">appareil / 1 place</span> <small>dont 1 avec une adresse MAC aléatoire</small>",
            "<b>2</b> <span class=\"u\">appareils / 1 place</span> <small>dont 1 avec une adresse MAC aléatoire</small>",
        ),
    ] {
        let (tx, app) = test_app(language);
        for (clients, wanted) in [(1, one), (2, two)] {
            let mut s = snapshot();
            s.zones = vec![ZoneSnapshot {
                seats: Some(1),
                clients,
                clients_randomized: 1,
                ..zone("hall-a", "Salle A", Status::Ok)
            }];
            tx.send_replace(Arc::new(s));
            let page = get(&app, "/", &[]).await.text();
            assert!(page.contains(wanted), "{wanted}\n{page}");
        }
    }
}

/// Zero-config's event id is a placeholder: the header shows the venue and leaves it out.
#[tokio::test]
async fn the_header_shows_the_event_only_when_the_config_names_one() {
    let (tx, app) = test_app(Language::En);
    assert!(
        get(&app, "/", &[])
            .await
            .text()
            .contains("<span>sdn-2026</span> · ")
    );
    let mut s = snapshot();
    s.venue = "gw-1".into();
    s.event = crate::config::DEFAULT_EVENT.into();
    tx.send_replace(Arc::new(s));
    let page = get(&app, "/", &[]).await.text();
    assert!(page.contains("<h1>gw-1</h1>"), "{page}");
    assert!(!page.contains("default"), "{page}");
}

#[tokio::test]
async fn a_sparkline_with_less_than_five_minutes_of_points_says_it_is_collecting() {
    for (language, word) in [(Language::En, "collecting…"), (Language::Fr, "collecte…")] {
        let (tx, app) = test_app(language);
        let mut s = snapshot();
        s.zones[0]
            .history
            .truncate(crate::web::page::sparkline::MIN_POINTS - 1);
        tx.send_replace(Arc::new(s));
        let page = get(&app, "/zone/hall-a", &[]).await.text();
        assert!(
            page.contains(&format!("<p class=\"collecting\">{word}</p>")),
            "{page}"
        );
        assert!(!page.contains("<svg class=\"spark\""), "no dash: {page}");
    }
}

/// The wall layout: its stylesheet applies to wide landscape screens, or to every screen
/// with `?view=wall`, and is served like the others.
#[tokio::test]
async fn the_wall_layout_follows_the_screen_or_view_wall() {
    let (_tx, app) = test_app(Language::En);
    let wall_link = |page: &str| {
        page.split("<link rel=\"stylesheet\" href=\"static/wall.")
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no wall stylesheet: {page}"))
    };
    let auto = get(&app, "/", &[]).await.text();
    assert!(
        wall_link(&auto).ends_with("media=\"(min-width:1600px) and (orientation:landscape)\""),
        "{auto}"
    );
    let forced = get(&app, "/?view=wall", &[]).await.text();
    assert!(wall_link(&forced).ends_with("media=\"all\""), "{forced}");
    // Each variant is cached on its own.
    assert!(
        get(&app, "/", &[])
            .await
            .text()
            .contains("orientation:landscape")
    );
    let name = format!(
        "wall.{}",
        wall_link(&forced).split('"').next().unwrap_or_default()
    );
    let css = get(&app, &format!("/static/{name}"), &[]).await;
    assert_eq!(css.status, StatusCode::OK, "{name}");
    assert!(css.text().contains("--cols"));
    // The zone page keeps its own layout.
    let zone = get(&app, "/zone/hall-a?view=wall", &[]).await.text();
    assert!(!zone.contains("static/wall."), "{zone}");
}

/// The whole first page (HTML, CSS, script) of a 50-zone venue, as a phone downloads it.
#[tokio::test]
async fn the_first_page_of_fifty_zones_is_under_30_kb_compressed() {
    let (tx, app) = test_app(Language::Fr);
    let mut s = snapshot();
    s.zones = (0..50)
        .map(|i| {
            let status = [Status::Ok, Status::Warn, Status::Critical][i % 3];
            zone(
                &format!("salle-{i:02}"),
                &format!("Salle de conférence {i}"),
                status,
            )
        })
        .collect();
    tx.send_replace(Arc::new(s));
    let gzip = [(header::ACCEPT_ENCODING, "gzip")];
    let page = get(&app, "/", &gzip).await;
    assert_eq!(page.header(header::CONTENT_ENCODING), "gzip");
    let mut html = String::new();
    flate2::read::GzDecoder::new(&page.body[..])
        .read_to_string(&mut html)
        .expect("gzip");
    let mut total = page.body.len();
    for name in html
        .split("static/")
        .skip(1)
        .filter_map(|r| r.split('"').next())
    {
        let reply = get(&app, &format!("/static/{name}"), &gzip).await;
        assert_eq!(reply.header(header::CONTENT_ENCODING), "gzip", "{name}");
        total += reply.body.len();
    }
    assert_eq!(html.matches("<article").count(), 50);
    assert!(total < 30 * 1024, "{total} bytes compressed");
}

/// A server-sent event stream read one event at a time.
struct Events {
    body: axum::body::BodyDataStream,
    buffer: String,
}

async fn sse(app: &Router, uri: &str) -> Events {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    Events {
        body: response.into_body().into_data_stream(),
        buffer: String::new(),
    }
}

impl Events {
    /// The data of the next `update` event.
    async fn next_event(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    assert!(event.contains("event: update"), "{event}");
                    return data.to_string();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(5), self.body.next())
                .await
                .expect("an event within 5 s")
                .expect("stream open")
                .expect("chunk");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn events_push_only_the_tiles_that_changed() {
    let (tx, app) = test_app(Language::En);
    let mut events = sse(&app, "/events?lang=en").await;
    let first: serde_json::Value = serde_json::from_str(&events.next_event().await).expect("json");
    assert_eq!(first["tiles"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        first["order"],
        serde_json::json!(["hall-c", "hall-b", "hall-a"])
    );
    assert!(
        first["header"]
            .as_str()
            .unwrap_or_default()
            .contains("top crit")
    );
    assert!(first.get("detail").is_none());

    // hall-a's pool fills: only its tile is sent, and it moves up.
    let mut s = snapshot();
    s.generated_at += 1;
    s.zones[0] = zone("hall-a", "Salle A", Status::Critical);
    tx.send_replace(Arc::new(s));
    let second: serde_json::Value = serde_json::from_str(&events.next_event().await).expect("json");
    let tiles = second["tiles"].as_array().expect("tiles");
    assert_eq!(tiles.len(), 1, "{second}");
    assert_eq!(tiles[0]["id"], "hall-a");
    assert!(
        tiles[0]["html"]
            .as_str()
            .unwrap_or_default()
            .contains("tile crit")
    );
    assert_eq!(
        second["order"],
        serde_json::json!(["hall-a", "hall-c", "hall-b"])
    );

    // A zone page's stream carries its tile and detail only, in its language.
    let mut zone = sse(&app, "/events?lang=fr&zone=hall-c").await;
    let update: serde_json::Value = serde_json::from_str(&zone.next_event().await).expect("json");
    assert_eq!(update["tiles"].as_array().map(Vec::len), Some(1));
    assert_eq!(update["tiles"][0]["id"], "hall-c");
    assert!(
        update["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Dernière heure")
    );
}

#[tokio::test]
async fn open_event_streams_are_counted_until_they_close() {
    let (_tx, app) = test_app(Language::En);
    let streams = |metrics: String| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("venuemon_http_event_streams "))
            .map(str::to_string)
    };
    assert_eq!(
        streams(get(&app, "/metrics", &[]).await.text()).as_deref(),
        Some("0")
    );
    let mut one = sse(&app, "/events?lang=en").await;
    let two = sse(&app, "/events?lang=fr").await;
    one.next_event().await;
    assert_eq!(
        streams(get(&app, "/metrics", &[]).await.text()).as_deref(),
        Some("2")
    );
    drop((one, two));
    assert_eq!(
        streams(get(&app, "/metrics", &[]).await.text()).as_deref(),
        Some("0")
    );
}

/// A static file's name changes with its content (FNV-1a 64 of the bytes, as the `fnv` crate
/// computes it).
#[test]
fn static_file_names_follow_their_content() {
    use super::content_name;
    assert_eq!(content_name("app", "", "css"), "app.cbf29ce484222325.css");
    assert_eq!(content_name("app", "a", "js"), "app.af63dc4c8601ec8c.js");
    assert_ne!(
        content_name("app", "b", "js"),
        content_name("app", "a", "js")
    );
}
