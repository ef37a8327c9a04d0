//! `GET /v1/stream`: server-sent events for live maps. Every batch that stores new fixes is
//! published once, to every connected client, as it is committed.
//!
//! Events:
//! - `ready` (data `{}`): sent first, once the client is subscribed; anything stored after it
//!   arrives as a `fixes` event.
//! - `fixes`: `{"device": "…", "points": [TrackPoint…]}`, the fixes a batch added, in sequence
//!   order (retried duplicates are not repeated).
//! - `resync` (data `{"missed": n}`): the client fell more than [`CHANNEL_CAPACITY`] events
//!   behind and lost some; it should reload what it shows from the read API.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::AppState;
use crate::db::StoredRow;
use crate::read::TrackPoint;

/// Events buffered per slow client before it is told to resync.
pub const CHANNEL_CAPACITY: usize = 256;

/// Publishes stored batches to the stream's subscribers.
#[derive(Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<Arc<str>>,
    /// Flips to true when the collector stops, ending every open stream.
    stopping: watch::Receiver<bool>,
}

#[derive(Serialize)]
struct FixesEvent<'a> {
    device: &'a str,
    points: Vec<TrackPoint>,
}

impl LiveFeed {
    pub fn new(stopping: watch::Receiver<bool>) -> LiveFeed {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        LiveFeed { sender, stopping }
    }

    /// Publishes newly stored rows of one device; a no-op without subscribers.
    pub fn publish(&self, device: &str, rows: Vec<StoredRow>) {
        if rows.is_empty() || self.sender.receiver_count() == 0 {
            return;
        }
        let event = FixesEvent {
            device,
            points: rows.into_iter().map(TrackPoint::from).collect(),
        };
        if let Ok(json) = serde_json::to_string(&event) {
            // Err only means every subscriber left in the meantime.
            let _ = self.sender.send(json.into());
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.sender.subscribe()
    }
}

pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = state.live.subscribe();
    let stopping = state.live.stopping.clone();
    let ready = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let updates = stream::unfold(
        (receiver, stopping),
        |(mut receiver, mut stopping)| async move {
            let event = tokio::select! {
                received = receiver.recv() => match received {
                    Ok(json) => Event::default().event("fixes").data(&*json),
                    Err(RecvError::Lagged(missed)) => Event::default()
                        .event("resync")
                        .data(format!("{{\"missed\":{missed}}}")),
                    Err(RecvError::Closed) => return None,
                },
                _ = stopping.wait_for(|stop| *stop) => return None,
            };
            Some((Ok(event), (receiver, stopping)))
        },
    );
    Sse::new(ready.chain(updates)).keep_alive(KeepAlive::default())
}
