//! The live map: one HTML page and its script, compiled into the binary. It draws tracks on
//! SVG with no tile server and no external resources, reading the read API and `/v1/stream`.

use axum::http::header;
use axum::response::IntoResponse;

const MAP_HTML: &str = include_str!("web/map.html");
const MAP_JS: &str = include_str!("web/map.js");

pub async fn map_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        MAP_HTML,
    )
}

pub async fn map_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        MAP_JS,
    )
}
