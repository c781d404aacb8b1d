//! The HTTP side: `/metrics`, `/healthz`, `/api/status`, all views of the same snapshot,
//! behind optional credentials (`auth`) and optionally over TLS (`tls`).

mod accept;
pub(crate) mod auth;
mod cached;
mod capture_metrics;
mod family;
mod idle;
pub(crate) mod metrics;
pub(crate) mod page;
pub(crate) mod server;
#[cfg(test)]
mod testing;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::Http;
use crate::hub::Snapshot;
use auth::{Access, RouteGroup};

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The latest snapshot.
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Metrics registry rendered by `/metrics`.
    pub registry: Arc<prometheus::Registry>,
    /// The status page's settings and render cache.
    pub pages: Arc<page::Pages>,
    /// `/api/status` of the latest snapshot, serialized once.
    status_json: Arc<cached::PerSnapshot<cached::Body>>,
    /// `/metrics`: the snapshot's part rendered once per snapshot.
    metrics: Arc<metrics::Exposition>,
    /// Who may read which routes (open unless `with_http` says otherwise).
    pub access: Access,
    /// Pages following `/events` now, and their cap.
    event_streams: page::EventStreams,
    /// What the server counts (connections refused and dropped), for `server::serve`.
    pub server: server::ServerMetrics,
    /// The history file the status page reads its past from (`None`: `[history]` is off).
    history: Option<Arc<std::path::Path>>,
}

impl AppState {
    /// State reading snapshots from `snapshots`, with the agent's metrics registry and the
    /// status page of `venue`; every route open and no cap on event streams.
    pub(crate) fn new(
        snapshots: watch::Receiver<Arc<Snapshot>>,
        venue: &crate::config::Venue,
    ) -> AppState {
        let registry = metrics::registry();
        AppState {
            event_streams: page::EventStreams::new(&registry),
            server: server::ServerMetrics::new(&registry),
            access: Access::open(&registry),
            registry: Arc::new(registry),
            pages: Arc::new(page::Pages::new(venue)),
            status_json: Arc::default(),
            metrics: Arc::default(),
            snapshots,
            history: None,
        }
    }

    /// This state with the settings of `[http]`: `[http.auth]` required on the pages and
    /// API, `[http.metrics_auth]` on `/metrics`, and at most `max_event_streams` streams.
    pub(crate) fn with_http(mut self, http: &Http) -> AppState {
        self.access = self
            .access
            .with_credentials(http.auth.as_ref(), http.metrics_auth.as_ref());
        self.event_streams = self.event_streams.with_max(http.max_event_streams);
        self
    }

    /// This state for `venuemon run --simulate`'s `venue`: its page's messages name the
    /// command's options, not the config's.
    pub(crate) fn simulated(mut self, venue: &crate::config::Venue) -> AppState {
        self.pages = Arc::new(page::Pages::simulated(venue));
        self
    }

    /// This state with the status page's past read from the history file at `path`.
    pub(crate) fn with_history(mut self, path: &std::path::Path) -> AppState {
        self.history = Some(Arc::from(path));
        self
    }
}

/// The largest request body accepted (no route takes a body yet).
const BODY_LIMIT: usize = 16 * 1024;

/// The router, with the state's access control, timeouts, a body limit and gzip on every
/// route.
pub(crate) fn app(state: AppState, request_timeout: Duration) -> Router {
    let access = state.access.clone();
    let pages = page::routes(page::PageState {
        snapshots: state.snapshots.clone(),
        pages: Arc::clone(&state.pages),
        event_streams: state.event_streams.clone(),
        history: state.history.clone(),
    });
    limits(
        Router::new()
            .merge(access.protect(RouteGroup::Page, api_routes()))
            .merge(access.protect(RouteGroup::Metrics, metrics_routes()))
            .merge(open_routes())
            .with_state(state)
            .merge(access.protect(RouteGroup::Page, pages)),
        request_timeout,
    )
}

/// `router` with gzip, the body limit, and the request timeout: a request the agent does not
/// answer within `request_timeout` gets 503 (the server's fault, not the client's: not 408).
fn limits(router: Router, request_timeout: Duration) -> Router {
    router
        .layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
}

/// The API, behind `[http.auth]` like the status page (`page::routes`).
fn api_routes() -> Router<AppState> {
    Router::new().route("/api/status", get(status))
}

/// `/metrics`, behind `[http.metrics_auth]`.
fn metrics_routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Routes open to anyone: they tell nothing about the venue.
fn open_routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

pub(crate) use server::serve;

async fn metrics(State(state): State<AppState>) -> Response {
    let snapshot = Arc::clone(&state.snapshots.borrow());
    match state.metrics.encode(&snapshot, &state.registry) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(prometheus::TEXT_FORMAT),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics encoding failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "metrics encoding failed\n",
            )
                .into_response()
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// `?at=` on `/api/status`: a past moment, as on the page.
#[derive(serde::Deserialize)]
struct StatusQuery {
    at: Option<String>,
}

async fn status(
    State(state): State<AppState>,
    Query(query): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let snapshot = Arc::clone(&state.snapshots.borrow());
    if let Some(at) = &query.at {
        return page::past::status(state.history.clone(), &state.pages, snapshot, at).await;
    }
    let body = state.status_json.get(&snapshot, || {
        cached::Body::new(serde_json::to_vec(&*snapshot).unwrap_or_else(|e| {
            tracing::error!(error = %e, "snapshot serialization failed");
            b"{}".to_vec()
        }))
    });
    body.response(&headers, "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_app() -> (watch::Sender<Arc<Snapshot>>, Router) {
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        (
            tx,
            app(
                AppState::new(rx, &crate::config::Config::zero_config("test").venue),
                Duration::from_secs(5),
            ),
        )
    }

    async fn get_text(app: Router, uri: &str) -> (StatusCode, String, String) {
        let reply = testing::get(&app, uri, &[]).await;
        (
            reply.status,
            reply.header(header::CONTENT_TYPE),
            reply.text(),
        )
    }

    #[tokio::test]
    async fn metrics_follow_the_latest_snapshot() {
        let (tx, app) = test_app();
        let (status, content_type, body) = get_text(app.clone(), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        assert!(body.contains("venuemon_build_info{"), "{body}");
        assert!(!body.contains("venuemon_zone_clients{"));
        let mut snapshot = Snapshot::default();
        snapshot.zones.push(crate::hub::ZoneSnapshot {
            id: "hall-a".into(),
            name: "Salle \"A\"".into(),
            seats: Some(800),
            clients: 42,
            clients_randomized: 7,
            clients_by_source: [("neighbours", 42)].into_iter().collect(),
            unique_clients_estimate: 57.0,
            status: crate::hub::Status::Critical,
            ..Default::default()
        });
        tx.send_replace(Arc::new(snapshot));
        let (_, _, body) = get_text(app, "/metrics").await;
        assert!(
            body.contains("venuemon_zone_clients{zone=\"hall-a\"} 42"),
            "{body}"
        );
        assert!(body.contains("venuemon_zone_clients_randomized{zone=\"hall-a\"} 7"));
        assert!(body.contains("venuemon_zone_capacity_seats{zone=\"hall-a\"} 800"));
        assert!(body.contains("venuemon_zone_status{zone=\"hall-a\"} 2"));
        assert!(body.contains("venuemon_zone_unique_clients_estimate{zone=\"hall-a\"} 57"));
        assert!(
            body.contains("venuemon_zone_info{name=\"Salle \\\"A\\\"\",zone=\"hall-a\"} 1"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn a_server_side_timeout_is_answered_503_not_408() {
        let slow = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let reply = testing::get(&limits(slow, Duration::from_millis(50)), "/slow", &[]).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn status_and_health_answer() {
        let (_tx, app) = test_app();
        let (status, content_type, body) = get_text(app.clone(), "/api/status").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert!(json["zones"].is_array());
        assert_eq!(get_text(app.clone(), "/healthz").await.2, "ok\n");
        assert_eq!(get_text(app, "/nope").await.0, StatusCode::NOT_FOUND);
    }
}
