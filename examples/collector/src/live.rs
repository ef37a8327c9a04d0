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
//!
//! With PostgreSQL, the messages come from the database's feed (`store::postgres::feed`), so a
//! client on any replica sees what every replica stored, each message with an SSE `id`; a
//! client that reconnects, to this replica or another, with `Last-Event-ID` first receives
//! every message after that id, then the live ones, without gaps or repeats.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};

use crate::AppState;
use crate::db::{EventRow, StoredRow};
use crate::read::TrackPoint;
use crate::store::postgres::feed::FeedPosition;

/// Events buffered per slow client before it is told to resync.
pub const CHANNEL_CAPACITY: usize = 256;

/// One message for the subscribers: the SSE event name, its JSON data and, when it comes
/// from the database's feed, its position there (the SSE id).
#[derive(Debug, Clone)]
pub struct Message {
    pub name: &'static str,
    pub json: Arc<str>,
    pub position: Option<FeedPosition>,
}

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

/// The `fixes` message of rows of one device.
pub fn fixes_message(
    device: &str,
    rows: Vec<StoredRow>,
    position: Option<FeedPosition>,
) -> Message {
    message(
        "fixes",
        &FixesEvent {
            device,
            points: rows.into_iter().map(TrackPoint::from).collect(),
        },
        position,
    )
}

/// The `events` message of events of one device.
pub fn events_message(
    device: &str,
    events: Vec<EventRow>,
    position: Option<FeedPosition>,
) -> Message {
    message("events", &EventsEvent { device, events }, position)
}

fn message(name: &'static str, data: &impl Serialize, position: Option<FeedPosition>) -> Message {
    // Serializing maps of strings and numbers does not fail.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    Message {
        name,
        json: json.into(),
        position,
    }
}

impl LiveFeed {
    pub fn new(stopping: watch::Receiver<bool>) -> LiveFeed {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        LiveFeed { sender, stopping }
    }

    /// Publishes newly stored rows of one device; a no-op without subscribers.
    pub fn publish(&self, device: &str, rows: Vec<StoredRow>) {
        if rows.is_empty() || !self.has_subscribers() {
            return;
        }
        self.publish_message(fixes_message(device, rows, None));
    }

    /// Publishes newly stored events of one device; a no-op without subscribers.
    pub fn publish_events(&self, device: &str, events: Vec<EventRow>) {
        if events.is_empty() || !self.has_subscribers() {
            return;
        }
        self.publish_message(events_message(device, events, None));
    }

    pub fn publish_message(&self, message: Message) {
        // Err only means every subscriber left in the meantime.
        let _ = self.sender.send(message);
    }

    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Message> {
        self.sender.subscribe()
    }
}

/// Messages to replay, more than this many and the client is told to resync instead.
const MAX_REPLAY_PAGES: usize = 100;

fn sse(message: &Message) -> Event {
    let event = Event::default().event(message.name).data(&*message.json);
    match message.position {
        Some(position) => event.id(position.encode()),
        None => event,
    }
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Subscribe before replaying: whatever the replay misses arrives live, and what both
    // carry is dropped by position below.
    let receiver = state.live.subscribe();
    let stopping = state.live.stopping.clone();
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(FeedPosition::parse);
    let mut replay = Vec::new();
    let mut last = resume;
    if let (Some(pg), Some(mut from)) = (state.pg.clone(), resume) {
        let mut pages = 0;
        loop {
            match pg.feed_after(from).await {
                Ok(page) if pages < MAX_REPLAY_PAGES => {
                    replay.extend(page.messages.iter().map(sse));
                    from = page.next;
                    pages += 1;
                    if !page.more {
                        break;
                    }
                }
                _ => {
                    replay.push(Event::default().event("resync").data("{\"missed\":0}"));
                    break;
                }
            }
        }
        last = Some(from);
    }
    let ready = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let replayed = stream::iter(replay.into_iter().map(Ok));
    let updates = stream::unfold(
        (receiver, stopping, last),
        |(mut receiver, mut stopping, mut last)| async move {
            loop {
                let event = tokio::select! {
                    received = receiver.recv() => match received {
                        Ok(message) => {
                            if let Some(position) = message.position {
                                if last.is_some_and(|l| position <= l) {
                                    continue;
                                }
                                last = Some(position);
                            }
                            sse(&message)
                        }
                        Err(RecvError::Lagged(missed)) => Event::default()
                            .event("resync")
                            .data(format!("{{\"missed\":{missed}}}")),
                        Err(RecvError::Closed) => return None,
                    },
                    _ = stopping.wait_for(|stop| *stop) => return None,
                };
                return Some((Ok(event), (receiver, stopping, last)));
            }
        },
    );
    Sse::new(ready.chain(replayed).chain(updates)).keep_alive(KeepAlive::default())
}
