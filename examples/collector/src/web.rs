//! The live map: one HTML page and its script, compiled into the binary. It draws tracks on
//! SVG with no tile server and no external resources, reading the read API and `/v1/stream`.
//! The page needs the read token; the script is static code and carries no data.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_TTL};

const MAP_HTML: &str = include_str!("web/map.html");
const MAP_JS: &str = include_str!("web/map.js");

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
        MAP_HTML,
    )
        .into_response()
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
