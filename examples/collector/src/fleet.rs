//! `GET /v1/fleet`: the latest position of every device, paged by device id, so that the live
//! map's fleet view gets its first picture in a few requests instead of one per device.
//! Afterwards the page follows `/v1/stream`. It reads through the same queries as
//! `/v1/devices` and `/v1/devices/{device}/latest`, behind the same read token and limit.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::db::DbError;
use crate::errors::error;
use crate::read::TrackPoint;
use crate::store::Store;

const DEFAULT_FLEET_PAGE: u32 = 1_000;
const MAX_FLEET_PAGE: u32 = 10_000;

#[derive(Debug, Deserialize)]
pub struct FleetQuery {
    /// The `next` of the previous page; empty starts from the first device.
    #[serde(default)]
    after: String,
    limit: Option<u32>,
}

#[derive(Debug, Serialize)]
struct FleetPosition {
    device: String,
    #[serde(flatten)]
    point: TrackPoint,
}

#[derive(Debug, Serialize)]
struct FleetPage {
    /// Devices with at least one fix, each with the fix `/latest` would answer.
    devices: Vec<FleetPosition>,
    /// Pass as `after` for the next page; absent when this page was the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Up to `limit` devices after `after`, in device order, with their latest fixes. A device
/// with events but no fixes takes a place in the page but has no position to show.
async fn fleet_page(store: &dyn Store, after: &str, limit: u32) -> Result<FleetPage, DbError> {
    let mut devices = store.devices(after, limit + 1).await?;
    let more = devices.len() > limit as usize;
    devices.truncate(limit as usize);
    let next = more
        .then(|| devices.last().map(|d| d.device.clone()))
        .flatten();
    let mut positions = Vec::with_capacity(devices.len());
    for summary in devices {
        if let Some(row) = store.latest(&summary.device).await? {
            positions.push(FleetPosition {
                device: summary.device,
                point: row.into(),
            });
        }
    }
    Ok(FleetPage {
        devices: positions,
        next,
    })
}

pub async fn fleet(State(state): State<AppState>, Query(query): Query<FleetQuery>) -> Response {
    let limit = query
        .limit
        .unwrap_or(DEFAULT_FLEET_PAGE)
        .clamp(1, MAX_FLEET_PAGE);
    let Ok(_permit) = state.read_permits.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let page = match fleet_page(state.store.as_ref(), &query.after, limit).await {
        Ok(page) => page,
        Err(e) => return error(e.status(), e),
    };
    // Serialize on a blocking thread: a full page is about a megabyte of JSON.
    match tokio::task::spawn_blocking(move || serde_json::to_vec(&page)).await {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "read task failed"),
    }
}
