//! Bodies that change once per snapshot (the status page, `/api/status`, the snapshot's part
//! of `/metrics`) are built and compressed once, then served to every request of that tick:
//! under load, compressing and serializing per request would cost far more than the request
//! itself, and its allocations would stay behind in the allocator of each thread serving it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::hub::Snapshot;

/// A body and, once a client asked for it, its gzip form.
pub(super) struct Body {
    plain: Bytes,
    gzip: OnceLock<Bytes>,
}

impl Body {
    /// A body not compressed yet.
    pub(super) fn new(plain: impl Into<Bytes>) -> Body {
        Body {
            plain: plain.into(),
            gzip: OnceLock::new(),
        }
    }

    fn gzip(&self) -> &Bytes {
        self.gzip.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.plain.len() / 4),
                flate2::Compression::default(),
            );
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(&self.plain);
            Bytes::from(encoder.finish().unwrap_or_default())
        })
    }

    /// The response for a request with `headers`: gzip when the client accepts it. The
    /// response carries `Content-Encoding`, so the router's compression layer leaves it as is.
    pub(super) fn response(&self, request: &HeaderMap, content_type: &'static str) -> Response {
        let mut response = if accepts_gzip(request) {
            (
                [
                    (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
                    (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                ],
                self.gzip().clone(),
            )
                .into_response()
        } else {
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
                self.plain.clone(),
            )
                .into_response()
        };
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        response
    }
}

/// Whether `Accept-Encoding` allows gzip (`gzip` or `*`, with a non-zero `q`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(super::accept::weighted)
        .any(|(coding, q)| (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0)
}

/// One value (a body, a rendering) per snapshot, rebuilt when a newer snapshot is asked for.
pub(super) struct PerSnapshot<T> {
    latest: Mutex<Option<(Arc<Snapshot>, Arc<T>)>>,
}

impl<T> Default for PerSnapshot<T> {
    fn default() -> Self {
        PerSnapshot {
            latest: Mutex::new(None),
        }
    }
}

impl<T> PerSnapshot<T> {
    /// The value for `snapshot`, built by `build` the first time it is asked for (requests
    /// asking meanwhile wait for it rather than build it again).
    pub(super) fn get(&self, snapshot: &Arc<Snapshot>, build: impl FnOnce() -> T) -> Arc<T> {
        let mut latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, value)) = latest.as_ref().filter(|(s, _)| Arc::ptr_eq(s, snapshot)) {
            return Arc::clone(value);
        }
        let value = Arc::new(build());
        *latest = Some((Arc::clone(snapshot), Arc::clone(&value)));
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).expect("header"),
        );
        h
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(accepts_gzip(&headers("gzip, deflate, br")));
        assert!(accepts_gzip(&headers("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&headers("*")));
        assert!(!accepts_gzip(&headers("gzip;q=0")));
        assert!(!accepts_gzip(&headers("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn bodies_are_built_once_per_snapshot() {
        let cache = PerSnapshot::default();
        let (a, b) = (Arc::new(Snapshot::default()), Arc::new(Snapshot::default()));
        let first = cache.get(&a, || Body::new(b"a".to_vec()));
        let again = cache.get(&a, || panic!("built twice"));
        assert!(Arc::ptr_eq(&first, &again));
        let next = cache.get(&b, || Body::new(b"b".to_vec()));
        assert_eq!(&next.plain[..], b"b");
        let response = next.response(&headers("gzip"), "text/plain");
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
    }
}
