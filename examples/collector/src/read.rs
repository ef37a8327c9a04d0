//! The read API used by tests, the demo and front ends.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tracelet_core::protocol::ErrorResponse;

use crate::db::{DeviceSummary, StoredRow};
use crate::{AppState, lock};

const DEFAULT_PAGE: u32 = 1_000;
const MAX_PAGE: u32 = 10_000;

#[derive(Debug, Deserialize)]
pub struct FixesQuery {
    #[serde(default)]
    after_seq: u64,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct FixesPage {
    device: String,
    fixes: Vec<StoredRow>,
}

#[derive(Debug, Serialize)]
struct DevicesPage {
    devices: Vec<DeviceSummary>,
}

pub async fn fixes(
    State(state): State<AppState>,
    Path(device): Path<String>,
    Query(query): Query<FixesQuery>,
) -> Response {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    match lock(&state.db).fixes(&device, query.after_seq, limit) {
        Ok(fixes) => Json(FixesPage { device, fixes }).into_response(),
        Err(e) => internal(e),
    }
}

pub async fn devices(State(state): State<AppState>) -> Response {
    match lock(&state.db).devices() {
        Ok(devices) => Json(DevicesPage { devices }).into_response(),
        Err(e) => internal(e),
    }
}

pub async fn stats(State(state): State<AppState>) -> Response {
    Json(lock(&state.db).stats()).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(ErrorResponse {
            error: e.to_string(),
        }),
    )
        .into_response()
}
