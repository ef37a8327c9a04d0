//! The live map: one HTML page, its script and the map libraries it runs on (Leaflet and
//! Leaflet.markercluster, copied from their pinned npm packages into `web/vendor/`), all
//! compiled into the binary: the page loads nothing from elsewhere except the tiles of
//! `--map-style`, and without them it draws on a blank background. It reads the read API and
//! `/v1/stream`. The page needs the read token; the scripts are static code and carry no data.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_TTL};
use crate::map_style::MapStyle;

const MAP_HTML: &str = include_str!("web/map.html");

/// The page's own scripts (ES modules): (path, source).
pub const SCRIPTS: &[(&str, &str)] = &[
    ("/map.js", include_str!("web/map.js")),
    ("/map-tracks.js", include_str!("web/map-tracks.js")),
    ("/map-fleet.js", include_str!("web/map-fleet.js")),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The vendored libraries, served under `/map/vendor/`: (path there, content type, bytes).
/// Their licences are in the same directories.
const VENDOR: &[(&str, &str, &[u8])] = &[
    (
        "leaflet/leaflet.js",
        JS,
        include_bytes!("web/vendor/leaflet/leaflet.js"),
    ),
    (
        "leaflet/leaflet.css",
        CSS,
        include_bytes!("web/vendor/leaflet/leaflet.css"),
    ),
    (
        "leaflet.markercluster/leaflet.markercluster.js",
        JS,
        include_bytes!("web/vendor/leaflet.markercluster/leaflet.markercluster.js"),
    ),
    (
        "leaflet.markercluster/MarkerCluster.css",
        CSS,
        include_bytes!("web/vendor/leaflet.markercluster/MarkerCluster.css"),
    ),
    (
        "leaflet.markercluster/MarkerCluster.Default.css",
        CSS,
        include_bytes!("web/vendor/leaflet.markercluster/MarkerCluster.Default.css"),
    ),
];

/// The map page with the tile settings filled in (empty without `--map-style`).
pub fn render_map_page(style: Option<&MapStyle>) -> String {
    MAP_HTML
        .replace(
            "{{MAP_STYLE}}",
            &attribute_text(style.map(MapStyle::url).unwrap_or_default()),
        )
        .replace(
            "{{MAP_ATTRIBUTION}}",
            &attribute_text(style.map(MapStyle::attribution).unwrap_or_default()),
        )
}

/// Text safe inside a double-quoted HTML attribute.
fn attribute_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Deserialize)]
pub struct MapQuery {
    access_token: Option<String>,
}

/// `GET /map?access_token=T` trades the read token for a session cookie and redirects to
/// `/map`; `GET /map` with the cookie (or the bearer token) serves the page.
pub async fn map_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<MapQuery>,
) -> Response {
    if let Some(token) = query.access_token {
        if !state.auth.is_read_token(&token) {
            return crate::read::unauthorized();
        }
        let cookie = format!(
            "{SESSION_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict",
            state.auth.open_session(),
            SESSION_TTL.as_secs()
        );
        let mut response = (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/map"),
                (header::CACHE_CONTROL, "no-store"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
        )
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
    }
    if !state.auth.may_read(&headers) {
        return crate::read::unauthorized();
    }
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        state.map_page.to_string(),
    )
        .into_response()
}

/// One of [`SCRIPTS`]: static code, served without the read token.
pub fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, JS),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        source,
    )
        .into_response()
}

/// `GET /map/vendor/{package}/{file}`: one of the embedded libraries; 404 for anything else.
pub async fn vendor_file(Path((package, file)): Path<(String, String)>) -> Response {
    let wanted = format!("{package}/{file}");
    match VENDOR.iter().find(|(path, _, _)| *path == wanted) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => crate::errors::error(StatusCode::NOT_FOUND, "no such map library file"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_the_tile_settings_as_escaped_attributes() {
        let style = MapStyle::parse("https://tiles.example/{z}/{x}/{y}.png?a=1&b=2")
            .expect("valid")
            .with_attribution("<b>\"Tiles\"</b> & co");
        let page = render_map_page(Some(&style));
        assert!(page.contains(
            r#"<meta name="tracelet-map-style" content="https://tiles.example/{z}/{x}/{y}.png?a=1&amp;b=2">"#
        ));
        assert!(page.contains(
            r#"<meta name="tracelet-map-attribution" content="&lt;b&gt;&quot;Tiles&quot;&lt;/b&gt; &amp; co">"#
        ));
        assert!(!page.contains("{{"), "every placeholder is filled");
    }

    #[test]
    fn without_a_style_the_page_asks_for_no_tiles() {
        let page = render_map_page(None);
        assert!(page.contains(r#"<meta name="tracelet-map-style" content="">"#));
    }

    #[test]
    fn the_page_loads_only_embedded_files() {
        // Every script and stylesheet the page names is served by the collector itself.
        let page = render_map_page(None);
        let mut named = 0;
        for attr in ["src=\"", "href=\""] {
            for part in page.split(attr).skip(1) {
                let target = part.split('"').next().unwrap_or_default();
                named += 1;
                let embedded = target == "/map.js"
                    || target
                        .strip_prefix("/map/vendor/")
                        .is_some_and(|path| VENDOR.iter().any(|(p, _, _)| *p == path));
                assert!(embedded, "{target} is not embedded");
            }
        }
        assert_eq!(named, VENDOR.len() + 1, "the page uses every embedded file");
    }

    #[test]
    fn scripts_import_only_each_other() {
        for (path, source) in SCRIPTS {
            for line in source.lines().filter(|l| l.starts_with("import ")) {
                let target = line.split('"').nth(1).unwrap_or_default();
                let served = target
                    .strip_prefix('.')
                    .is_some_and(|t| SCRIPTS.iter().any(|(p, _)| *p == t));
                assert!(served, "{path} imports {target}, which is not served");
            }
        }
    }
}
