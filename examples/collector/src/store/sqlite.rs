//! The SQLite backend: one writing connection behind the ingest lock, reads on read-only
//! connections of their own (`crate::db`), every call on a blocking thread.

use std::sync::{Arc, Mutex};

use tracelet_protocol::wire::BatchV1;

use super::{Area, Backend, DbFuture, DevicePosition, Store, TimeCursor};
use crate::db::{
    CollectorDb, DbError, DeviceSummary, EventRow, Queries, ReadPool, StoredBatch, StoredRow,
};

pub struct SqliteStore {
    /// The ingest lock: the one writing connection.
    writer: Arc<Mutex<CollectorDb>>,
    reads: Arc<ReadPool>,
}

impl SqliteStore {
    pub fn new(writer: CollectorDb, reads: ReadPool) -> SqliteStore {
        SqliteStore {
            writer: Arc::new(Mutex::new(writer)),
            reads: Arc::new(reads),
        }
    }

    /// The ingest lock, for tests that prove reads never wait for it.
    #[cfg(test)]
    pub fn writer(&self) -> &Mutex<CollectorDb> {
        &self.writer
    }

    /// Runs a read on a read-only connection, blocking the calling thread.
    pub fn read_now<T>(
        &self,
        read: impl FnOnce(&Queries<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.reads.read(read)
    }

    fn read<'a, T: Send + 'static>(
        &'a self,
        read: impl FnOnce(&Queries<'_>) -> Result<T, DbError> + Send + 'static,
    ) -> DbFuture<'a, T> {
        let pool = Arc::clone(&self.reads);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || pool.read(read))
                .await
                .map_err(|_| DbError::TaskFailed)?
        })
    }

    fn write<'a, T: Send + 'static>(
        &'a self,
        write: impl FnOnce(&mut CollectorDb) -> Result<T, DbError> + Send + 'static,
    ) -> DbFuture<'a, T> {
        let writer = Arc::clone(&self.writer);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write(&mut crate::lock(&writer)))
                .await
                .map_err(|_| DbError::TaskFailed)?
        })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn store_batch(&self, batch: Arc<BatchV1>, now_ms: i64) -> DbFuture<'_, StoredBatch> {
        self.write(move |db| db.store_batch_rows(&batch, now_ms))
    }

    fn fixes<'a>(
        &'a self,
        device: &'a str,
        after: u64,
        limit: u32,
    ) -> DbFuture<'a, Vec<StoredRow>> {
        let device = device.to_owned();
        self.read(move |q| q.fixes(&device, after, limit))
    }

    fn latest<'a>(&'a self, device: &'a str) -> DbFuture<'a, Option<StoredRow>> {
        let device = device.to_owned();
        self.read(move |q| q.latest(&device))
    }

    fn track<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        to_ms: i64,
        limit: u32,
    ) -> DbFuture<'a, Vec<StoredRow>> {
        let device = device.to_owned();
        self.read(move |q| q.track(&device, start, to_ms, limit))
    }

    fn events<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        until_ms: i64,
        kinds: Option<Vec<String>>,
        limit: u32,
    ) -> DbFuture<'a, Vec<EventRow>> {
        let device = device.to_owned();
        self.read(move |q| q.events(&device, start, until_ms, kinds.as_deref(), limit))
    }

    fn all_events<'a>(&'a self, device: &'a str) -> DbFuture<'a, Vec<EventRow>> {
        let device = device.to_owned();
        self.read(move |q| q.all_events(&device))
    }

    fn devices<'a>(&'a self, after: &'a str, limit: u32) -> DbFuture<'a, Vec<DeviceSummary>> {
        let after = after.to_owned();
        self.read(move |q| q.devices(&after, limit))
    }

    fn positions<'a>(
        &'a self,
        area: Area,
        after: &'a str,
        limit: u32,
    ) -> DbFuture<'a, Vec<DevicePosition>> {
        let after = after.to_owned();
        self.read(move |q| q.positions(area, &after, limit))
    }

    fn delete_received_before(&self, cutoff_ms: i64) -> DbFuture<'_, u64> {
        self.write(move |db| db.delete_received_before(cutoff_ms))
    }
}
