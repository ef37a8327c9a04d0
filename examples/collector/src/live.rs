//! `GET /v1/stream`: server-sent events for live maps. Every batch that stores new fixes or
//! events is published once, to every connected client, as it is committed.
//!
//! Events:
//! - `ready` (data `{}`): sent first, once the client is subscribed; anything stored after it
//!   arrives as a `fixes` or `events` event.
//! - `fixes`: `{"device": "…", "points": [TrackPoint…]}`, the fixes a batch added, in sequence
//!   order (retried duplicates are not repeated).
//! - `events`: `{"device": "…", "events": [EventRow…]}`, the events a batch added, in `s`
//!   order, published right after the batch's `fixes` (if any).
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
use crate::db::{EventRow, StoredRow};
use crate::read::TrackPoint;

/// Events buffered per slow client before it is told to resync.
pub const CHANNEL_CAPACITY: usize = 256;

/// One message for the subscribers: the SSE event name and its JSON data.
type Message = (&'static str, Arc<str>);

/// Publishes stored batches to the stream's subscribers.
#[derive(Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<Message>,
    /// Flips to true when the collector stops, ending every open stream.
    stopping: watch::Receiver<bool>,
}

#[derive(Serialize)]
struct FixesEvent<'a> {
    device: &'a str,
    points: Vec<TrackPoint>,
}

#[derive(Serialize)]
struct EventsEvent<'a> {
    device: &'a str,
    events: Vec<EventRow>,
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
        self.send(
            "fixes",
            &FixesEvent {
                device,
                points: rows.into_iter().map(TrackPoint::from).collect(),
            },
        );
    }

    /// Publishes newly stored events of one device; a no-op without subscribers.
    pub fn publish_events(&self, device: &str, events: Vec<EventRow>) {
        if events.is_empty() || self.sender.receiver_count() == 0 {
            return;
        }
        self.send("events", &EventsEvent { device, events });
    }

    fn send(&self, name: &'static str, data: &impl Serialize) {
        if let Ok(json) = serde_json::to_string(data) {
            // Err only means every subscriber left in the meantime.
            let _ = self.sender.send((name, json.into()));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
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
                    Ok((name, json)) => Event::default().event(name).data(&*json),
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
