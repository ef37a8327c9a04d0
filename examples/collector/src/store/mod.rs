//! Storage behind one trait, [`Store`], with two backends: SQLite ([`sqlite::SqliteStore`],
//! the default: one process, one file) and PostgreSQL ([`postgres::PgStore`]: any number of
//! collector replicas on one database). Handlers only ever see the trait.
//!
//! Both keep the same promises: a fix is stored once per (device, stream, seq) and an event
//! once per (device, stream, s), a batch is stored whole or not at all, every row gets a
//! cursor in storage order, and a device's summary row (counts, last fix time, metadata,
//! latest position) is kept by ingest.

pub mod area;
pub mod postgres;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracelet_protocol::wire::BatchV1;

use crate::db::{DbError, DeviceSummary, EventRow, StoredBatch, StoredRow};
pub use area::{Area, DevicePosition};

/// What every storage call returns: a boxed future, so that the trait stays object safe.
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

/// A place in the (time, cursor) order of a device's track or events; reads continue after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCursor {
    pub t: i64,
    pub cursor: i64,
}

impl TimeCursor {
    /// The cursor before every row with `t >= from_ms`.
    pub fn from_time(from_ms: i64) -> TimeCursor {
        TimeCursor {
            t: from_ms,
            cursor: -1,
        }
    }

    /// `"{t}:{cursor}"`, as the read API hands it out.
    pub fn parse(text: &str) -> Option<TimeCursor> {
        let (t, cursor) = text.split_once(':')?;
        Some(TimeCursor {
            t: t.parse().ok()?,
            cursor: cursor.parse().ok()?,
        })
    }

    pub fn encode(&self) -> String {
        format!("{}:{}", self.t, self.cursor)
    }

    /// This cursor, or the start of `from_ms` when that lies later.
    pub fn max_with(self, from_ms: i64) -> TimeCursor {
        if self.t < from_ms {
            TimeCursor::from_time(from_ms)
        } else {
            self
        }
    }
}

/// Which backend a store is, for the few places that differ (the live stream's source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Everything the collector stores and reads. Implementations must be safe to call from many
/// tasks at once.
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Stores a validated batch, its fixes, its events and the device's summary, in one
    /// transaction. Returns what was new and the numbers of duplicates.
    fn store_batch(&self, batch: Arc<BatchV1>, now_ms: i64) -> DbFuture<'_, StoredBatch>;

    /// Fixes of one device stored after cursor `after`, in storage order.
    fn fixes<'a>(&'a self, device: &'a str, after: u64, limit: u32)
    -> DbFuture<'a, Vec<StoredRow>>;

    /// The device's fix with the largest `t` (the last stored among equal times).
    fn latest<'a>(&'a self, device: &'a str) -> DbFuture<'a, Option<StoredRow>>;

    /// Fixes of one device after `start` in (t, cursor) order with `t <= to_ms`.
    fn track<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        to_ms: i64,
        limit: u32,
    ) -> DbFuture<'a, Vec<StoredRow>>;

    /// Events of one device after `start` in (t, cursor) order with `t <= until_ms`, of the
    /// given kinds (all when `None`).
    fn events<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        until_ms: i64,
        kinds: Option<Vec<String>>,
        limit: u32,
    ) -> DbFuture<'a, Vec<EventRow>>;

    /// Every event of one device, in storage order.
    fn all_events<'a>(&'a self, device: &'a str) -> DbFuture<'a, Vec<EventRow>>;

    /// Devices whose id sorts after `after`, in id order.
    fn devices<'a>(&'a self, after: &'a str, limit: u32) -> DbFuture<'a, Vec<DeviceSummary>>;

    /// The latest position of every device inside `area` whose id sorts after `after`, in id
    /// order.
    fn positions<'a>(
        &'a self,
        area: Area,
        after: &'a str,
        limit: u32,
    ) -> DbFuture<'a, Vec<DevicePosition>>;

    /// Deletes fixes and events received before `cutoff_ms`; returns how many rows went.
    fn delete_received_before(&self, cutoff_ms: i64) -> DbFuture<'_, u64>;
}
