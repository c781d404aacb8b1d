//! The status page staff read on a phone or a NOC wall screen: `/` (one tile per zone, worst
//! first; the wall layout on wide landscape screens or with `?view=wall`), `/zone/{id}`
//! (one zone with its APs, interfaces, pools and last hour, and a time slider over the
//! history), both as they were at a past moment with `?at=` (from the history: `past`),
//! `/events` (server-sent events pushing the tiles that changed each tick) and the page's two
//! static files.
//!
//! Everything is rendered on the server from the snapshot. Tiles are rendered once per
//! snapshot and language and shared by every request and event stream.

pub(crate) mod i18n;
pub(crate) mod past;
mod sparkline;
#[cfg(test)]
mod tests;
mod view;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::stream;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::cached;
use super::server::Link;
use crate::config::{Language, Venue};
use crate::hub::Snapshot;
pub(crate) use i18n::{Text, negotiate, text};
use view::{Detail, Header, Tile};

const CSS: &str = include_str!("static/app.css");
const WALL_CSS: &str = include_str!("static/wall.css");
const JS: &str = include_str!("static/app.js");
const ICON: &str = include_str!("static/icon.svg");

/// The name of a static file after its content (`app.<FNV-1a hash>.css`), so it can be cached
/// forever and a new build is fetched at once.
fn content_name(stem: &str, content: &str, extension: &str) -> String {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(content.as_bytes());
    format!("{stem}.{:016x}.{extension}", hasher.finish())
}

/// File names of the page's static files.
pub(crate) struct Assets {
    pub css: String,
    /// The wall layout of `/`, applied on wide landscape screens or with `?view=wall`.
    pub wall: String,
    pub js: String,
    pub icon: String,
}

/// What the page needs besides the snapshot: the default language, the venue's time zone,
/// and the tiles rendered for the latest snapshot.
pub(crate) struct Pages {
    language: Language,
    timezone: jiff::tz::TimeZone,
    assets: Assets,
    rendered: Mutex<HashMap<&'static str, Arc<Rendered>>>,
    /// The venue is `venuemon run --simulate`'s: messages name its options, not the config's.
    simulated: bool,
}

impl Pages {
    /// Pages in `venue`'s language and time zone (UTC when the system does not know the zone:
    /// loading the config warns of it).
    pub(crate) fn new(venue: &Venue) -> Pages {
        Pages {
            language: venue.language,
            timezone: venue.time_zone(),
            assets: Assets {
                css: content_name("app", CSS, "css"),
                wall: content_name("wall", WALL_CSS, "css"),
                js: content_name("app", JS, "js"),
                icon: content_name("icon", ICON, "svg"),
            },
            rendered: Mutex::new(HashMap::new()),
            simulated: false,
        }
    }

    /// These pages for `venuemon run --simulate`'s venue.
    pub(crate) fn simulated(venue: &Venue) -> Pages {
        Pages {
            simulated: true,
            ..Pages::new(venue)
        }
    }

    /// What the page's past says when the history is off: how to turn it on.
    fn history_off(&self, text: &'static Text) -> &'static str {
        if self.simulated {
            text.history_off_simulated
        } else {
            text.history_off
        }
    }

    /// The tiles and header of `snapshot` in `text`'s language, rendered once.
    fn rendered(&self, snapshot: &Arc<Snapshot>, text: &'static Text) -> Arc<Rendered> {
        let mut cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cache
            .get(text.lang)
            .filter(|r| Arc::ptr_eq(&r.snapshot, snapshot))
        {
            return Arc::clone(r);
        }
        let rendered = Arc::new(Rendered::new(snapshot, text, &self.timezone, ""));
        cache.insert(text.lang, Arc::clone(&rendered));
        rendered
    }
}

/// One snapshot's tiles (worst first) and header, as HTML.
struct Rendered {
    snapshot: Arc<Snapshot>,
    header: String,
    /// `(zone id, tile html)`, worst status first, then in config order.
    tiles: Vec<(String, Arc<str>)>,
    /// The whole `/` page, built at its first request: as chosen by the screen's size, and
    /// with the wall layout forced (`?view=wall`).
    index: [OnceLock<cached::Body>; 2],
}

impl Rendered {
    /// The tiles of `snapshot`, their links to zone pages followed by `query`.
    fn new(
        snapshot: &Arc<Snapshot>,
        text: &'static Text,
        timezone: &jiff::tz::TimeZone,
        query: &str,
    ) -> Rendered {
        let mut zones: Vec<_> = snapshot.zones.iter().collect();
        zones.sort_by_key(|z| std::cmp::Reverse(z.status));
        Rendered {
            snapshot: Arc::clone(snapshot),
            header: render(&Header::new(text, snapshot, timezone)),
            tiles: zones
                .into_iter()
                .map(|z| {
                    (
                        z.id.clone(),
                        Arc::from(render(&Tile::new(text, "", query, z, timezone))),
                    )
                })
                .collect(),
            index: [OnceLock::new(), OnceLock::new()],
        }
    }
}

/// Renders a template; the templates only format values, so this cannot fail in practice,
/// and if it ever did the page shows the error instead of a blank.
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "page template failed");
        format!("<p>template error: {e}</p>")
    })
}

/// What every page shares (askama's `base.html` reads it as `f`).
struct Frame<'a> {
    text: &'static Text,
    root: &'static str,
    assets: &'a Assets,
    refresh: u64,
    tick: f64,
    generated_at: u64,
    header: &'a str,
    version: &'static str,
    venue: &'a str,
    word: &'static str,
    /// On a page of the past: its banner, and no live updates.
    past: Option<past::Banner>,
}

#[derive(Template)]
#[template(path = "index.html")]
struct Index<'a> {
    f: Frame<'a>,
    /// The media query of the wall stylesheet: wide landscape screens, or all with `?view=wall`.
    wall_media: &'static str,
    tiles: Vec<&'a str>,
}

#[derive(Template)]
#[template(path = "zone.html")]
struct ZonePage<'a> {
    f: Frame<'a>,
    id: &'a str,
    name: &'a str,
    tile: &'a str,
    detail: String,
    /// The time slider, when there is a history to move in.
    slider: Option<past::Slider>,
}

#[derive(Template)]
#[template(path = "missing.html")]
struct Missing<'a> {
    f: Frame<'a>,
    /// The HTTP status, the page's title.
    status: u16,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "detail.html")]
struct DetailHtml<'a> {
    text: &'a Text,
    sparks: Vec<view::Spark>,
    tables: Vec<view::Table>,
}

fn detail_html(
    text: &'static Text,
    snapshot: &Snapshot,
    zone: &crate::hub::ZoneSnapshot,
) -> String {
    let Detail { sparks, tables } = Detail::new(text, snapshot, zone);
    render(&DetailHtml {
        text,
        sparks,
        tables,
    })
}

/// What the page routes share.
#[derive(Clone)]
pub(crate) struct PageState {
    /// The latest snapshot.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Settings and the render cache.
    pub pages: Arc<Pages>,
    /// Open `/events` streams, their cap and counts.
    pub event_streams: EventStreams,
    /// The history file, read for `?at=` and the slider; `None` when `[history]` is off.
    pub history: Option<Arc<std::path::Path>>,
}

/// The `/events` streams: how many are open, the cap on them, and the streams refused or
/// dropped.
#[derive(Clone)]
pub(crate) struct EventStreams {
    /// `venuemon_http_event_streams`.
    open: prometheus::IntGauge,
    /// `venuemon_http_event_streams_rejected_total`.
    rejected: prometheus::IntCounter,
    /// `venuemon_http_event_streams_dropped_total`.
    dropped: prometheus::IntCounter,
    /// One permit per stream allowed at once.
    slots: Arc<Semaphore>,
}

impl EventStreams {
    /// Streams counted in `registry`, as many at once as asked for until `with_max`.
    pub(crate) fn new(registry: &prometheus::Registry) -> EventStreams {
        let streams = EventStreams {
            open: prometheus::IntGauge::new(
                "venuemon_http_event_streams",
                "Open /events connections: status pages following the live updates.",
            )
            .expect("the metric name is static and valid"),
            rejected: prometheus::IntCounter::new(
                "venuemon_http_event_streams_rejected_total",
                "/events requests over [http] max_event_streams, answered 503.",
            )
            .expect("the metric name is static and valid"),
            dropped: prometheus::IntCounter::new(
                "venuemon_http_event_streams_dropped_total",
                "/events streams closed because their client stopped reading \
                 ([http] send_timeout).",
            )
            .expect("the metric name is static and valid"),
            slots: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        };
        for metric in [
            Box::new(streams.open.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(streams.rejected.clone()),
            Box::new(streams.dropped.clone()),
        ] {
            registry
                .register(metric)
                .expect("the registry is the agent's own and has no metric of these names");
        }
        streams
    }

    /// These streams with at most `max` open at once.
    pub(crate) fn with_max(self, max: usize) -> EventStreams {
        EventStreams {
            slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
            ..self
        }
    }
}

/// `?lang=`, for `/` `?view=wall`, for `/events` `?zone=`, and for pages of the past `?at=`.
#[derive(Deserialize)]
struct PageQuery {
    lang: Option<String>,
    view: Option<String>,
    zone: Option<String>,
    at: Option<String>,
}

/// Where the wall layout applies without `?view=wall`: screens wide enough for a NOC wall.
const WALL_SCREENS: &str = "(min-width:1600px) and (orientation:landscape)";

impl PageState {
    /// The language of a request: `?lang=`, else the language chosen earlier (a cookie set
    /// by `?lang=`), else the browser's, else the config's.
    fn text(&self, query: &PageQuery, headers: &HeaderMap) -> &'static Text {
        let value = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let chosen = query.lang.as_deref().or_else(|| {
            value(header::COOKIE)?
                .split(';')
                .find_map(|c| c.trim().strip_prefix(LANGUAGE_COOKIE)?.strip_prefix('='))
        });
        text(negotiate(
            chosen,
            value(header::ACCEPT_LANGUAGE),
            self.pages.language,
        ))
    }

    fn frame<'a>(&'a self, text: &'static Text, root: &'static str, r: &'a Rendered) -> Frame<'a> {
        let snapshot = &r.snapshot;
        Frame {
            text,
            root,
            assets: &self.pages.assets,
            // Without script: reload about every tick, never faster than every 5 s.
            refresh: (snapshot.tick_seconds.ceil() as u64).max(5),
            tick: snapshot.tick_seconds,
            generated_at: snapshot.generated_at,
            header: &r.header,
            version: env!("CARGO_PKG_VERSION"),
            venue: &snapshot.venue,
            word: text.status(snapshot.status),
            past: None,
        }
    }
}

/// The page's routes, to be merged into the agent's router.
pub(crate) fn routes(state: PageState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/zone/{id}", get(zone))
        .route("/events", get(events))
        .route("/static/{file}", get(asset))
        .with_state(state)
}

/// The cookie remembering a language picked with `?lang=`.
const LANGUAGE_COOKIE: &str = "venuemon_lang";

/// Headers of every HTML page: never cached stale, one per language, and no script or
/// resource from anywhere but the agent (a hostile name that slipped through escaping still
/// could not run). A language picked with `?lang=` is remembered for the next pages.
fn html(mut response: Response, text: &Text, query: &PageQuery) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-cache"),
        (header::VARY, "Accept-Language, Cookie"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.append(name, HeaderValue::from_static(value));
    }
    if query.lang.as_deref() == Some(text.lang) {
        let cookie = format!(
            "{LANGUAGE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            text.lang
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

async fn index(
    State(state): State<PageState>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = state.text(&query, &headers);
    if let Some(at) = &query.at {
        return past::page(&state, text, &query, None, at).await;
    }
    let snapshot = Arc::clone(&state.snapshots.borrow());
    let r = state.pages.rendered(&snapshot, text);
    let wall = query.view.as_deref() == Some("wall");
    let body = r.index[usize::from(wall)]
        .get_or_init(|| cached::Body::new(index_html(state.frame(text, "", &r), &r, wall)));
    html(
        body.response(&headers, "text/html; charset=utf-8"),
        text,
        &query,
    )
}

/// The whole `/` page of `r`, in the wall layout if `wall`.
fn index_html(f: Frame<'_>, r: &Rendered, wall: bool) -> String {
    render(&Index {
        f,
        wall_media: if wall { "all" } else { WALL_SCREENS },
        tiles: r.tiles.iter().map(|(_, html)| &**html).collect(),
    })
}

async fn zone(
    State(state): State<PageState>,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = state.text(&query, &headers);
    if let Some(at) = &query.at {
        return past::page(&state, text, &query, Some(&id), at).await;
    }
    let snapshot = Arc::clone(&state.snapshots.borrow());
    let slider = past::slider(&state).await;
    let r = state.pages.rendered(&snapshot, text);
    let response = zone_html(state.frame(text, "../", &r), &r, &id, slider);
    html(response, text, &query)
}

/// The page of zone `id` in `r` (404 when `r` has no such zone).
fn zone_html(frame: Frame<'_>, r: &Rendered, id: &str, slider: Option<past::Slider>) -> Response {
    let text = frame.text;
    let snapshot = &r.snapshot;
    let found = snapshot.zones.iter().find(|z| z.id == id);
    let Some((zone, (_, tile))) = found.zip(r.tiles.iter().find(|(z, _)| *z == id)) else {
        let page = Missing {
            f: frame,
            status: StatusCode::NOT_FOUND.as_u16(),
            message: text.not_found,
        };
        return (StatusCode::NOT_FOUND, Html(render(&page))).into_response();
    };
    // Tiles are rendered for `/`; on this page their links go up one level.
    let tile = tile.replacen("href=\"zone/", "href=\"../zone/", 1);
    let page = ZonePage {
        f: frame,
        id: &zone.id,
        name: &zone.name,
        tile: &tile,
        detail: detail_html(text, snapshot, zone),
        slider,
    };
    Html(render(&page)).into_response()
}

async fn asset(Path(file): Path<String>, State(state): State<PageState>) -> Response {
    let assets = &state.pages.assets;
    let (content_type, body) = if file == assets.css {
        ("text/css; charset=utf-8", CSS)
    } else if file == assets.wall {
        ("text/css; charset=utf-8", WALL_CSS)
    } else if file == assets.js {
        ("text/javascript; charset=utf-8", JS)
    } else if file == assets.icon {
        ("image/svg+xml", ICON)
    } else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

/// One event of `/events`: the header, the tiles that changed since the last event of this
/// stream, the order of all tiles, and for a zone page its detail.
#[derive(Serialize)]
struct Update<'a> {
    generated_at: u64,
    header: &'a str,
    tiles: Vec<TileUpdate<'a>>,
    order: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Serialize)]
struct TileUpdate<'a> {
    id: &'a str,
    html: &'a str,
}

/// What one event stream remembers between ticks.
struct EventStream {
    state: PageState,
    text: &'static Text,
    zone: Option<String>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    sent: HashMap<String, Arc<str>>,
    first: bool,
    open: OpenStream,
}

/// One open `/events` stream: counted, and holding its slot, for as long as it lives (it is
/// dropped when the client goes, or when the server drops a client that stopped reading).
struct OpenStream {
    streams: EventStreams,
    /// The connection it is served on (absent when a test calls the router directly).
    link: Option<Link>,
    _slot: OwnedSemaphorePermit,
}

impl OpenStream {
    /// A stream on `link`, or `None` when `streams` are all taken.
    fn new(streams: &EventStreams, link: Option<Link>) -> Option<OpenStream> {
        let slot = Arc::clone(&streams.slots).try_acquire_owned().ok()?;
        streams.open.inc();
        Some(OpenStream {
            streams: streams.clone(),
            link,
            _slot: slot,
        })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.streams.open.dec();
        if self.link.as_ref().is_some_and(|l| l.progress.dropped()) {
            self.streams.dropped.inc();
        }
    }
}

impl EventStream {
    /// Waits for the next snapshot (none for the first event) and words the update; `None`
    /// when the snapshots end or the server shuts down.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, EventStream)> {
        if !std::mem::take(&mut self.first) {
            let stopping = self.open.link.as_ref().map(|l| l.stopping.clone());
            let stopped = async {
                match stopping {
                    Some(stopping) => stopping.cancelled_owned().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = self.snapshots.changed() => changed.ok()?,
                () = stopped => return None,
            }
        }
        let snapshot = Arc::clone(&self.snapshots.borrow_and_update());
        let r = self.state.pages.rendered(&snapshot, self.text);
        let only = self.zone.as_deref();
        let mut tiles = Vec::new();
        for (id, html) in &r.tiles {
            if only.is_some_and(|z| z != id) {
                continue;
            }
            let changed = self
                .sent
                .get(id)
                .is_none_or(|sent| !Arc::ptr_eq(sent, html) && sent != html);
            if changed {
                self.sent.insert(id.clone(), Arc::clone(html));
                tiles.push(TileUpdate { id, html });
            }
        }
        let detail = only.and_then(|id| {
            let zone = snapshot.zones.iter().find(|z| z.id == id)?;
            Some(detail_html(self.text, &snapshot, zone))
        });
        let update = Update {
            generated_at: snapshot.generated_at,
            header: &r.header,
            tiles,
            order: r.tiles.iter().map(|(id, _)| id.as_str()).collect(),
            detail,
        };
        let data = serde_json::to_string(&update).unwrap_or_default();
        let event = Event::default()
            .event("update")
            .retry(Duration::from_secs(3))
            .data(data);
        Some((Ok(event), self))
    }
}

async fn events(
    State(state): State<PageState>,
    Query(query): Query<PageQuery>,
    link: Option<Extension<Link>>,
    headers: HeaderMap,
) -> Response {
    let Some(open) = OpenStream::new(&state.event_streams, link.map(|Extension(l)| l)) else {
        state.event_streams.rejected.inc();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            "too many event streams\n",
        )
            .into_response();
    };
    let text = state.text(&query, &headers);
    let start = EventStream {
        snapshots: state.snapshots.clone(),
        open,
        state,
        text,
        zone: query.zone,
        sent: HashMap::new(),
        first: true,
    };
    Sse::new(stream::unfold(start, EventStream::next))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
