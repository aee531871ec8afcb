//! The pages and their scripts, embedded in the binary (no front-end server, no build
//! step): the libraries under assets/vendor/ are npm's own files, copied unchanged by
//! tests/browser/vendor.mjs, which also checks they still match. Every answer carries a
//! strict Content-Security-Policy: scripts and styles only from these files.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// (path under /assets/, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("desk.html", HTML, include_bytes!("assets/desk.html")),
    (
        "wallboard.html",
        HTML,
        include_bytes!("assets/wallboard.html"),
    ),
    ("style.css", CSS, include_bytes!("assets/style.css")),
    ("common.js", JS, include_bytes!("assets/common.js")),
    ("desk.js", JS, include_bytes!("assets/desk.js")),
    ("wallboard.js", JS, include_bytes!("assets/wallboard.js")),
    (
        "vendor/preact-htm.mjs",
        JS,
        include_bytes!("assets/vendor/preact-htm.mjs"),
    ),
    (
        "vendor/uplot.mjs",
        JS,
        include_bytes!("assets/vendor/uplot.mjs"),
    ),
    (
        "vendor/uplot.css",
        CSS,
        include_bytes!("assets/vendor/uplot.css"),
    ),
];

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// What pages may load and where they may connect: this server only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk") }))
        .route("/desk", get(|| async { asset("desk.html") }))
        .route("/wallboard", get(|| async { asset("wallboard.html") }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move { asset(&path) }),
        )
}

fn asset(path: &str) -> Response {
    let Some((_, kind, bytes)) = ASSETS.iter().find(|(name, _, _)| *name == path) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let mut response = (*bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    secure_headers(headers);
    response
}

/// The headers every desktop answer carries.
pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_script_is_embedded_and_nothing_else_is_served() {
        for (name, _, bytes) in ASSETS {
            assert!(!bytes.is_empty(), "{name} is empty");
        }
        assert_eq!(asset("desk.js").status(), StatusCode::OK);
        assert_eq!(asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        let page = asset("desk.html");
        assert_eq!(
            page.headers().get(header::CONTENT_SECURITY_POLICY),
            Some(&HeaderValue::from_static(CONTENT_SECURITY_POLICY))
        );
    }
}
