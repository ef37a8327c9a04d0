//! The live stream across replicas. Every transaction that stores rows sends
//! `NOTIFY tracelet_feed, '<row id>'` (a wake-up, never the rows); each replica LISTENs, then
//! reads the new rows from the tables in (tx, id) order and publishes them to its own SSE
//! clients. An SSE message's id is the (tx, id) of its last row, so `Last-Event-ID` resumes on
//! any replica.
//!
//! Why (tx, id) and a horizon: ids are drawn before commit, so a row with a smaller id can
//! commit after one with a larger id. Reads stop below the oldest transaction still running
//! (`pg_snapshot_xmin`): every row below that point is committed or will never exist, so a
//! position handed out is never overtaken by a late commit. No gaps, no repeats.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::poll_fn;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{EVENT_COLUMNS, FEED_CHANNEL, PgStore, ROW_COLUMNS, pg_error, read_event, read_row};
use crate::db::{DbError, EventRow, StoredRow};
use crate::live::{LiveFeed, Message};

/// Rows read per query while catching up.
const PAGE: i64 = 1_000;
/// How often the feed looks without a notification: rows held back by a transaction that
/// was still running, or notifications lost while the listening connection was down.
const POLL: Duration = Duration::from_millis(250);

/// A place in the feed: after every row with a smaller (tx, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    pub tx: i64,
    pub id: i64,
}

impl FeedPosition {
    /// `"{tx}.{id}"`, the SSE event id.
    pub fn parse(text: &str) -> Option<FeedPosition> {
        let (tx, id) = text.trim().split_once('.')?;
        Some(FeedPosition {
            tx: tx.parse().ok()?,
            id: id.parse().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.tx, self.id)
    }
}

/// New messages after a position, and where the next read starts.
pub struct FeedPage {
    pub messages: Vec<Message>,
    pub next: FeedPosition,
    /// A page limit cut the read short: read again from `next`.
    pub more: bool,
}

enum Item {
    Fix(String, StoredRow),
    Event(String, EventRow),
}

impl PgStore {
    /// Where a feed that wants only what is stored from now on starts.
    pub async fn feed_now(&self) -> Result<FeedPosition, DbError> {
        let client = self.client().await?;
        let horizon = horizon(&client).await?;
        Ok(before(horizon))
    }

    /// Rows committed after `after`, as stream messages: one per batch and kind, fixes first,
    /// each with the position of its last row.
    pub async fn feed_after(&self, after: FeedPosition) -> Result<FeedPage, DbError> {
        let client = self.client().await?;
        let horizon = horizon(&client).await?;
        let fixes_sql = format!(
            "SELECT tx, device, {ROW_COLUMNS} FROM fixes
             WHERE (tx, id) > ($1, $2) AND tx < $3 ORDER BY tx, id LIMIT $4"
        );
        let events_sql = format!(
            "SELECT tx, device, {EVENT_COLUMNS} FROM events
             WHERE (tx, id) > ($1, $2) AND tx < $3 ORDER BY tx, id LIMIT $4"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&after.tx, &after.id, &horizon, &PAGE];
        let fixes_stmt = client.prepare_cached(&fixes_sql).await.map_err(pg_error)?;
        let events_stmt = client.prepare_cached(&events_sql).await.map_err(pg_error)?;
        let fixes = client.query(&fixes_stmt, &params).await.map_err(pg_error)?;
        let events = client
            .query(&events_stmt, &params)
            .await
            .map_err(pg_error)?;
        let cut = fixes.len() as i64 == PAGE || events.len() as i64 == PAGE;
        let mut items: Vec<(FeedPosition, Item)> = Vec::with_capacity(fixes.len() + events.len());
        for r in &fixes {
            let row = read_row(r, 2)?;
            let pos = FeedPosition {
                tx: r.get(0),
                id: row.cursor as i64,
            };
            items.push((pos, Item::Fix(r.get(1), row)));
        }
        for r in &events {
            let event = read_event(r, 2)?;
            let pos = FeedPosition {
                tx: r.get(0),
                id: event.cursor as i64,
            };
            items.push((pos, Item::Event(r.get(1), event)));
        }
        items.sort_unstable_by_key(|(pos, _)| *pos);
        if cut {
            // Only rows below the first page's end in both tables are known to be complete.
            let end = |rows: &[tokio_postgres::Row]| {
                rows.last().map(|r| FeedPosition {
                    tx: r.get(0),
                    id: r.get(2),
                })
            };
            let limit = [
                (fixes.len() as i64 == PAGE).then(|| end(&fixes)).flatten(),
                (events.len() as i64 == PAGE)
                    .then(|| end(&events))
                    .flatten(),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(limit) = limit {
                items.retain(|(pos, _)| *pos <= limit);
            }
        }
        let next = match (cut, items.last()) {
            (true, Some((pos, _))) => *pos,
            _ => before(horizon).max(after),
        };
        Ok(FeedPage {
            messages: group(items),
            next,
            more: cut,
        })
    }
}

/// The oldest transaction id still running: every row with a smaller `tx` is committed or
/// will never exist.
async fn horizon(client: &tokio_postgres::Client) -> Result<i64, DbError> {
    let row = client
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

fn before(horizon: i64) -> FeedPosition {
    FeedPosition {
        tx: horizon - 1,
        id: i64::MAX,
    }
}

/// Consecutive rows of one transaction, device and kind become one message, whose position
/// is its last row's.
fn group(items: Vec<(FeedPosition, Item)>) -> Vec<Message> {
    enum Run {
        Fixes(Vec<StoredRow>),
        Events(Vec<EventRow>),
    }
    let mut runs: Vec<(i64, String, FeedPosition, Run)> = Vec::new();
    for (pos, item) in items {
        let last = runs.last_mut();
        match (item, last) {
            (Item::Fix(device, row), Some((tx, d, at, Run::Fixes(rows))))
                if *tx == pos.tx && *d == device =>
            {
                rows.push(row);
                *at = pos;
            }
            (Item::Event(device, event), Some((tx, d, at, Run::Events(events))))
                if *tx == pos.tx && *d == device =>
            {
                events.push(event);
                *at = pos;
            }
            (Item::Fix(device, row), _) => runs.push((pos.tx, device, pos, Run::Fixes(vec![row]))),
            (Item::Event(device, event), _) => {
                runs.push((pos.tx, device, pos, Run::Events(vec![event])));
            }
        }
    }
    runs.into_iter()
        .map(|(_, device, pos, run)| match run {
            Run::Fixes(rows) => crate::live::fixes_message(&device, rows, Some(pos)),
            Run::Events(events) => crate::live::events_message(&device, events, Some(pos)),
        })
        .collect()
}

/// Follows the feed for this replica's SSE clients until `stopping`, from `start` (taken
/// before the collector serves, so that no client can subscribe before it).
pub fn spawn(
    store: Arc<PgStore>,
    live: LiveFeed,
    start: FeedPosition,
    stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let wake = Arc::new(Notify::new());
    let listener = tokio::spawn(listen(store.config().clone(), Arc::clone(&wake)));
    tokio::spawn(async move {
        follow(&store, &live, &wake, start, stopping).await;
        listener.abort();
    })
}

async fn follow(
    store: &PgStore,
    live: &LiveFeed,
    wake: &Notify,
    start: FeedPosition,
    mut stopping: watch::Receiver<bool>,
) {
    let mut position = start;
    // An interval, not a sleep per turn: a steady flow of notifications must not postpone
    // the tick forever.
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let woken = tokio::select! {
            _ = wake.notified() => true,
            _ = tick.tick() => false,
            _ = stopping.wait_for(|stop| *stop) => return,
        };
        // Without subscribers nothing is read: the position moves on the tick only (a new
        // subscriber then gets at most one tick of rows from before it came, never a gap),
        // so that a busy fleet costs no query per notification.
        let result = if live.has_subscribers() {
            publish_from(store, live, position).await
        } else if woken {
            continue;
        } else {
            store.feed_now().await
        };
        match result {
            Ok(next) => position = next,
            // The database is away: keep the position and try again on the next tick.
            Err(e) => eprintln!("tracelet-collector: live feed: {e}"),
        }
    }
}

async fn publish_from(
    store: &PgStore,
    live: &LiveFeed,
    mut from: FeedPosition,
) -> Result<FeedPosition, DbError> {
    loop {
        let page = store.feed_after(from).await?;
        for message in page.messages {
            live.publish_message(message);
        }
        from = page.next;
        if !page.more {
            return Ok(from);
        }
    }
}

/// Holds a connection that LISTENs on the feed's channel and wakes the follower on every
/// notification; reconnects after a second when the connection drops.
async fn listen(config: tokio_postgres::Config, wake: Arc<Notify>) {
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let waker = Arc::clone(&wake);
            let messages = tokio::spawn(async move {
                while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
                    match message {
                        Ok(AsyncMessage::Notification(_)) => waker.notify_one(),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {FEED_CHANNEL}"))
                .await
                .is_ok()
            {
                // Anything committed while this connection was down: look now.
                wake.notify_one();
                let _ = messages.await;
            } else {
                messages.abort();
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
