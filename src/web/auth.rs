//! Access control: HTTP basic authentication or a bearer token in front of a group of routes
//! (`[http.auth]` for the pages and API, `[http.metrics_auth]` for `/metrics`).
//!
//! Offered credentials are compared in constant time over their whole length. A refused
//! request gets a 401 with a `WWW-Authenticate` challenge and a fixed body, never data;
//! refusals of wrong credentials are counted per route group and answered at a pace per client
//! address (`Guesses`, applied by the server), and neither the credentials offered nor the
//! client's address are logged.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prometheus::{IntCounter, IntCounterVec, Opts, Registry};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use crate::config::Credentials;

/// The routes one set of credentials guards; the `route_group` label of refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteGroup {
    /// The status page, zone pages, events and the JSON API (`[http.auth]`).
    Page,
    /// `/metrics` (`[http.metrics_auth]`).
    Metrics,
}

impl RouteGroup {
    fn label(self) -> &'static str {
        match self {
            RouteGroup::Page => "page",
            RouteGroup::Metrics => "metrics",
        }
    }
}

/// Who may read which routes, and the count of requests refused for wrong credentials.
#[derive(Clone)]
pub(crate) struct Access {
    page: Option<Arc<Secrets>>,
    metrics: Option<Arc<Secrets>>,
    failures: IntCounterVec,
}

impl Access {
    /// Every route open. Refusals, once credentials are set, are counted in `registry` as
    /// `venuemon_http_auth_failures_total{route_group}` (absent while nothing is protected).
    pub(crate) fn open(registry: &Registry) -> Access {
        let failures = IntCounterVec::new(
            Opts::new(
                "venuemon_http_auth_failures_total",
                "Requests refused because the credentials they offered were wrong \
                 (requests offering none are answered 401 but not counted).",
            ),
            &["route_group"],
        )
        .expect("the metric name and label are static and valid");
        registry
            .register(Box::new(failures.clone()))
            .expect("the registry is the agent's own and has no metric of this name");
        Access {
            page: None,
            metrics: None,
            failures,
        }
    }

    /// This access with `page` required on the page routes and `metrics` on `/metrics`
    /// (`None` leaves the group open).
    pub(crate) fn with_credentials(
        self,
        page: Option<&Credentials>,
        metrics: Option<&Credentials>,
    ) -> Access {
        Access {
            page: page.map(|c| Arc::new(Secrets::new(c))),
            metrics: metrics.map(|c| Arc::new(Secrets::new(c))),
            failures: self.failures,
        }
    }

    /// `router` with the credentials of `group` required on each of its routes; unchanged
    /// when the group is open. (It guards routes, as `Router::route_layer` does: a fallback
    /// is not guarded.)
    pub(crate) fn protect<S>(&self, group: RouteGroup, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let secrets = match group {
            RouteGroup::Page => &self.page,
            RouteGroup::Metrics => &self.metrics,
        };
        let Some(secrets) = secrets.clone() else {
            return router;
        };
        let guard = Guard {
            secrets,
            // Created now, so that the series is 0 until the first refusal.
            failures: self.failures.with_label_values(&[group.label()]),
        };
        router.route_layer(middleware::from_fn_with_state(guard, check))
    }
}

/// What a request may present, as the bytes compared.
struct Secrets {
    /// `user:password`, as it is base64-encoded in `Authorization: Basic`.
    basic: Option<Vec<u8>>,
    /// The token of `Authorization: Bearer`.
    bearer: Option<Vec<u8>>,
}

impl Secrets {
    fn new(credentials: &Credentials) -> Secrets {
        Secrets {
            basic: credentials
                .basic
                .as_ref()
                .map(|(user, password)| format!("{user}:{password}").into_bytes()),
            bearer: credentials.bearer.as_ref().map(|t| t.as_bytes().to_vec()),
        }
    }
}

/// The state of one group's middleware.
#[derive(Clone)]
struct Guard {
    secrets: Arc<Secrets>,
    failures: IntCounter,
}

/// What a request's `Authorization` header is worth.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Accepted,
    /// No `Authorization` header: a browser's first request, or a client not configured.
    Missing,
    Wrong,
}

async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match verdict(&guard.secrets, request.headers().get(header::AUTHORIZATION)) {
        Verdict::Accepted => next.run(request).await,
        Verdict::Missing => challenge(&guard.secrets),
        Verdict::Wrong => {
            guard.failures.inc();
            let mut response = challenge(&guard.secrets);
            response.extensions_mut().insert(WrongCredentials);
            response
        }
    }
}

/// Marks a response refusing wrong credentials: the server holds it back until the client
/// address's turn (`Guesses`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrongCredentials;

/// Client addresses remembered at most; past them, new addresses share one more pace.
const MAX_GUESSERS: usize = 4096;

/// Paces the answers to wrong credentials per client address (per /64 for IPv6, where one
/// client holds a whole prefix), whatever the number of connections: a burst of one second's
/// worth, then one every `1 / rate` seconds; each later one waits its turn. Failures are
/// summed up in the log (`log_summary`), never logged one by one or with the address.
pub(crate) struct Guesses {
    /// Time between two answers to one address.
    interval: Duration,
    /// How far ahead of its pace an address may be answered at once.
    burst: Duration,
    state: Mutex<GuessState>,
}

struct GuessState {
    /// Per address: when its next wrong guess would be answered at the steady pace.
    next: HashMap<IpAddr, Instant>,
    /// Wrong guesses since the last summary line.
    refused: u64,
    /// When the last summary line was written.
    since: Instant,
}

impl Guesses {
    /// `rate` answers a second per address (at least one).
    pub(crate) fn new(rate: u32) -> Guesses {
        let rate = rate.max(1);
        let interval = Duration::from_secs(1) / rate;
        Guesses {
            interval,
            burst: interval * (rate - 1),
            state: Mutex::new(GuessState {
                next: HashMap::new(),
                refused: 0,
                since: Instant::now(),
            }),
        }
    }

    /// When the answer to a wrong guess from `client`, made at `now`, may go.
    pub(crate) fn turn(&self, client: IpAddr, now: Instant) -> Instant {
        let key = guesser(client);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.refused += 1;
        let next = &mut state.next;
        if !next.contains_key(&key) && next.len() >= MAX_GUESSERS {
            next.retain(|_, at| *at > now);
        }
        let key = if next.contains_key(&key) || next.len() < MAX_GUESSERS {
            key
        } else {
            // Every slot is busy: new addresses share one pace.
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        let paced = next.get(&key).map_or(now, |at| (*at).max(now));
        next.insert(key, paced + self.interval);
        paced
            .checked_sub(self.burst)
            .map_or(now, |early| early.max(now))
    }

    /// Logs how many wrong credentials were refused since the last line, if any.
    pub(crate) fn log_summary(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let seconds = now.duration_since(state.since).as_secs();
        state.since = now;
        let refused = std::mem::take(&mut state.refused);
        if refused > 0 {
            tracing::warn!(
                refused,
                seconds,
                "requests with wrong credentials refused (venuemon_http_auth_failures_total)"
            );
        }
    }
}

/// The key of a client address: itself for IPv4, its /64 for IPv6.
fn guesser(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !(u128::from(u64::MAX));
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Checks `Basic base64(user:password)` or `Bearer TOKEN` (scheme names in any case)
/// against `secrets`.
fn verdict(secrets: &Secrets, authorization: Option<&HeaderValue>) -> Verdict {
    let Some(value) = authorization else {
        return Verdict::Missing;
    };
    let Some((scheme, param)) = value.to_str().ok().and_then(|v| v.split_once(' ')) else {
        return Verdict::Wrong;
    };
    let param = param.trim();
    let expected = if scheme.eq_ignore_ascii_case("basic") {
        secrets
            .basic
            .as_ref()
            .zip(STANDARD.decode(param).ok())
            .map(|(expected, offered)| same(&offered, expected))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        secrets
            .bearer
            .as_ref()
            .map(|expected| same(param.as_bytes(), expected))
    } else {
        None
    };
    if expected == Some(true) {
        Verdict::Accepted
    } else {
        Verdict::Wrong
    }
}

/// Whether `offered` is `expected`, in a time that depends on their lengths only.
fn same(offered: &[u8], expected: &[u8]) -> bool {
    offered.ct_eq(expected).into()
}

/// The 401 answer: a challenge per accepted scheme and a fixed body.
fn challenge(secrets: &Secrets) -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "authentication required\n",
    )
        .into_response();
    let headers = response.headers_mut();
    if secrets.basic.is_some() {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"venuemon\", charset=\"UTF-8\""),
        );
    }
    if secrets.bearer.is_some() {
        headers.append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"venuemon\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
    use tokio::sync::watch;

    use super::*;
    use crate::hub::{Snapshot, ZoneSnapshot};
    use crate::web::{AppState, app, testing};

    fn basic(user: &str, password: &str) -> Credentials {
        Credentials {
            basic: Some((user.into(), password.into())),
            bearer: None,
        }
    }

    fn bearer(token: &str) -> Credentials {
        Credentials {
            basic: None,
            bearer: Some(token.into()),
        }
    }

    fn both() -> Credentials {
        Credentials {
            basic: Some(("crew".into(), "s3cret pass".into())),
            bearer: Some("tok-123".into()),
        }
    }

    /// The app with `page` and `metrics` credentials, serving a snapshot with one zone.
    fn guarded(page: Option<Credentials>, metrics: Option<Credentials>) -> Router {
        let mut snapshot = Snapshot::default();
        snapshot.zones.push(ZoneSnapshot {
            id: "hall-a".into(),
            name: "Salle A".into(),
            seats: Some(800),
            clients: 42,
            clients_randomized: 7,
            clients_by_source: Default::default(),
            unique_clients_estimate: 57.0,
            status: crate::hub::Status::Ok,
            ..Default::default()
        });
        // A receiver keeps the last snapshot when the sender is gone.
        let (_, rx) = watch::channel(Arc::new(snapshot));
        let mut state = AppState::new(rx, &crate::config::Config::zero_config("test").venue);
        state.access = state
            .access
            .with_credentials(page.as_ref(), metrics.as_ref());
        app(state, Duration::from_secs(5))
    }

    /// Status, `WWW-Authenticate` values and body of a GET of `uri` with `authorization`.
    async fn get(
        app: &Router,
        uri: &str,
        authorization: Option<&str>,
    ) -> (StatusCode, Vec<String>, String) {
        let headers: Vec<_> = authorization
            .map(|v| (AUTHORIZATION, v))
            .into_iter()
            .collect();
        let reply = testing::get(app, uri, &headers).await;
        (reply.status, reply.values(WWW_AUTHENTICATE), reply.text())
    }

    fn basic_header(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[tokio::test]
    async fn missing_credentials_get_a_challenge_and_no_data() {
        let app = guarded(Some(both()), None);
        for uri in [
            "/",
            "/api/status",
            "/zone/hall-a",
            "/events",
            "/static/app.0.css",
        ] {
            let (status, challenges, body) = get(&app, uri, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
            assert_eq!(
                challenges,
                [
                    "Basic realm=\"venuemon\", charset=\"UTF-8\"",
                    "Bearer realm=\"venuemon\""
                ]
            );
            assert_eq!(body, "authentication required\n");
            assert!(!body.contains("hall-a"));
        }
        // Only the configured scheme is offered.
        let app = guarded(Some(bearer("tok")), None);
        let (_, challenges, _) = get(&app, "/", None).await;
        assert_eq!(challenges, ["Bearer realm=\"venuemon\""]);
    }

    #[tokio::test]
    async fn wrong_credentials_are_refused_and_counted() {
        let app = guarded(Some(both()), None);
        let wrong = [
            basic_header("crew", "s3cret pas"),
            basic_header("crew", "s3cret pass "),
            basic_header("Crew", "s3cret pass"),
            basic_header("", "crew:s3cret pass"),
            "Bearer tok-124".to_string(),
            "Bearer tok-1234".to_string(),
            "Bearer ".to_string(),
            "Basic not-base64!".to_string(),
            "Digest tok-123".to_string(),
            "tok-123".to_string(),
        ];
        for value in &wrong {
            let (status, challenges, body) = get(&app, "/api/status", Some(value)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
            assert_eq!(challenges.len(), 2);
            assert_eq!(body, "authentication required\n");
        }
        // Requests without credentials are not failures; wrong ones are, per group.
        get(&app, "/", None).await;
        let (_, _, metrics) = get(&app, "/metrics", None).await;
        assert!(
            metrics.contains(&format!(
                "venuemon_http_auth_failures_total{{route_group=\"page\"}} {}",
                wrong.len()
            )),
            "{metrics}"
        );
        assert!(!metrics.contains("route_group=\"metrics\""), "{metrics}");
    }

    #[tokio::test]
    async fn right_basic_or_bearer_credentials_get_the_data() {
        let app = guarded(Some(both()), None);
        for value in [
            basic_header("crew", "s3cret pass"),
            format!("basic {}", STANDARD.encode("crew:s3cret pass")),
            "Bearer tok-123".to_string(),
            "BEARER  tok-123".to_string(),
        ] {
            let (status, _, body) = get(&app, "/api/status", Some(&value)).await;
            assert_eq!(status, StatusCode::OK, "{value}");
            assert!(body.contains("hall-a"), "{body}");
        }
        let (status, _, body) = get(&app, "/", Some(&basic_header("crew", "s3cret pass"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("venuemon"));
        // Unicode passwords travel as UTF-8 (charset="UTF-8").
        let app = guarded(Some(basic("équipe", "mot de passe é")), None);
        let header = basic_header("équipe", "mot de passe é");
        assert_eq!(get(&app, "/", Some(&header)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_have_their_own_setting() {
        // Pages protected, metrics open.
        let app = guarded(Some(basic("crew", "pw")), None);
        let (status, _, body) = get(&app, "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("venuemon_zone_clients{zone=\"hall-a\"} 42"));
        assert_eq!(
            get(&app, "/api/status", None).await.0,
            StatusCode::UNAUTHORIZED
        );

        // Metrics protected, pages open.
        let app = guarded(None, Some(bearer("scrape-token")));
        let (status, challenges, body) = get(&app, "/metrics", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenges, ["Bearer realm=\"venuemon\""]);
        assert!(!body.contains("venuemon_"), "{body}");
        assert_eq!(get(&app, "/api/status", None).await.0, StatusCode::OK);
        let (status, _, body) = get(&app, "/metrics", Some("Bearer scrape-token")).await;
        assert_eq!(status, StatusCode::OK);
        // The metrics group's series exists from the start.
        assert!(
            body.contains("venuemon_http_auth_failures_total{route_group=\"metrics\"} 0"),
            "{body}"
        );

        // Both protected, with different credentials: one does not open the other.
        let app = guarded(Some(basic("crew", "pw")), Some(bearer("scrape-token")));
        let crew = basic_header("crew", "pw");
        assert_eq!(
            get(&app, "/metrics", Some(&crew)).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            get(&app, "/", Some("Bearer scrape-token")).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(get(&app, "/", Some(&crew)).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn healthz_is_always_open_and_unknown_paths_stay_404() {
        for app in [guarded(None, None), guarded(Some(both()), Some(both()))] {
            let (status, _, body) = get(&app, "/healthz", None).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, "ok\n");
            let (status, _, _) = get(&app, "/healthz", Some("Bearer wrong")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(get(&app, "/nope", None).await.0, StatusCode::NOT_FOUND);
        }
        // No credentials set: no failure series at all.
        let (_, _, metrics) = get(&guarded(None, None), "/metrics", None).await;
        assert!(
            !metrics.contains("venuemon_http_auth_failures_total{"),
            "{metrics}"
        );
    }

    #[test]
    fn headers_that_are_not_ascii_are_wrong_not_a_panic() {
        let secrets = Secrets::new(&both());
        let value = HeaderValue::from_bytes(b"Bearer tok-\xff").expect("opaque bytes");
        assert_eq!(verdict(&secrets, Some(&value)), Verdict::Wrong);
        assert_eq!(verdict(&secrets, None), Verdict::Missing);
        let empty = HeaderValue::from_static("");
        assert_eq!(verdict(&secrets, Some(&empty)), Verdict::Wrong);
    }

    #[test]
    fn wrong_guesses_are_paced_per_address_after_a_burst() {
        let guesses = Guesses::new(5);
        let start = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().expect("address");
        let b: IpAddr = "192.0.2.2".parse().expect("address");
        // Twenty at once from one address: five now, then one every 200 ms.
        let turns: Vec<_> = (0..20).map(|_| guesses.turn(a, start) - start).collect();
        assert_eq!(turns[..5], [Duration::ZERO; 5]);
        for (i, turn) in turns.iter().enumerate().skip(5) {
            assert_eq!(*turn, Duration::from_millis(200) * (i as u32 - 4));
        }
        // Another address has its own pace.
        assert_eq!(guesses.turn(b, start), start);
        // After a quiet spell the burst is back.
        let later = start + Duration::from_secs(10);
        assert_eq!(guesses.turn(a, later), later);
    }

    #[test]
    fn an_ipv6_client_is_paced_per_64_and_memory_stays_bounded() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("address");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("address");
        assert_eq!(guesser(a), guesser(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
        assert_eq!(
            guesser(mapped),
            "192.0.2.7".parse::<IpAddr>().expect("address")
        );

        let guesses = Guesses::new(1);
        let now = Instant::now();
        for i in 0..(MAX_GUESSERS as u32 + 100) {
            guesses.turn(IpAddr::V4(i.into()), now);
        }
        let state = guesses.state.lock().expect("lock");
        // (And the pace new addresses share once every slot is busy.)
        assert_eq!(state.next.len(), MAX_GUESSERS + 1);
        assert_eq!(state.refused, MAX_GUESSERS as u64 + 100);
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(same(b"tok-123", b"tok-123"));
        assert!(!same(b"tok-12", b"tok-123"));
        assert!(!same(b"tok-124", b"tok-123"));
        assert!(!same(b"", b"x"));
    }
}
