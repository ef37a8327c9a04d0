//! The on-device log's table, in the queue's database file (migration v5). It has a connection
//! of its own, owned by the log's writer thread: log writes never wait for the queue's lock,
//! and the queue's writes wait for a log write only as long as SQLite's one-writer rule needs.

use std::path::Path;

use rusqlite::{Connection, params};

use super::StoreError;
use crate::logs::{LogConfig, LogLevel, LogRecord};

/// Bytes counted per row beyond its text (ids, times, level, SQLite's row header).
pub const ROW_OVERHEAD_BYTES: u64 = 32;

/// A record as stored, with the steady time its age is measured on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLog {
    pub record: LogRecord,
    pub steady_ms: i64,
}

pub struct LogTable {
    conn: Connection,
    /// Bytes the rows count for, kept in step with every insert and delete.
    bytes: u64,
}

fn row_bytes(record: &LogRecord) -> u64 {
    (record.message.len() + record.target.len()) as u64 + ROW_OVERHEAD_BYTES
}

const ROW_BYTES_SQL: &str = "length(CAST(message AS BLOB)) + length(CAST(target AS BLOB)) + 32";

impl LogTable {
    /// Opens the table in the queue's database, which the queue has already created and
    /// migrated.
    pub fn open(database: &Path) -> Result<LogTable, StoreError> {
        let conn = Connection::open(database)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let bytes: i64 = conn.query_row(
            &format!("SELECT COALESCE(SUM({ROW_BYTES_SQL}), 0) FROM logs"),
            [],
            |r| r.get(0),
        )?;
        Ok(LogTable {
            conn,
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
    }

    /// Appends records in one transaction, then evicts the oldest past the bounds.
    pub fn append(
        &mut self,
        records: &[StoredLog],
        limits: &LogConfig,
        now_steady_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO logs (time_ms, steady_ms, level, target, message)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for stored in records {
                let r = &stored.record;
                insert.execute(params![
                    r.time_ms,
                    stored.steady_ms,
                    r.level.code(),
                    r.target,
                    r.message
                ])?;
            }
        }
        tx.commit()?;
        self.bytes += records.iter().map(|s| row_bytes(&s.record)).sum::<u64>();
        self.evict(limits, now_steady_ms)
    }

    /// Drops records older than the age bound, then the oldest until within the size bound.
    pub fn evict(&mut self, limits: &LogConfig, now_steady_ms: i64) -> Result<(), StoreError> {
        let cutoff = now_steady_ms.saturating_sub(limits.max_age_ms);
        let aged: i64 = self.conn.query_row(
            &format!("SELECT COALESCE(SUM({ROW_BYTES_SQL}), 0) FROM logs WHERE steady_ms < ?1"),
            [cutoff],
            |r| r.get(0),
        )?;
        if aged > 0 {
            self.conn
                .execute("DELETE FROM logs WHERE steady_ms < ?1", [cutoff])?;
            self.bytes = self.bytes.saturating_sub(u64::try_from(aged).unwrap_or(0));
        }
        if self.bytes <= limits.max_bytes {
            return Ok(());
        }
        // Walk from the oldest until enough bytes are freed, then delete through that row.
        let excess = self.bytes - limits.max_bytes;
        let mut freed = 0u64;
        let mut last_id = None;
        {
            let mut rows = self
                .conn
                .prepare_cached(&format!("SELECT id, {ROW_BYTES_SQL} FROM logs ORDER BY id"))?;
            let mut rows = rows.query([])?;
            while let Some(row) = rows.next()? {
                let bytes: i64 = row.get(1)?;
                freed += u64::try_from(bytes).unwrap_or(0);
                last_id = Some(row.get::<_, i64>(0)?);
                if freed >= excess {
                    break;
                }
            }
        }
        if let Some(id) = last_id {
            self.conn.execute("DELETE FROM logs WHERE id <= ?1", [id])?;
            self.bytes = self.bytes.saturating_sub(freed);
        }
        Ok(())
    }

    /// Every record, oldest first.
    pub fn all(&self) -> Result<Vec<LogRecord>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT time_ms, level, target, message FROM logs ORDER BY id")?;
        let rows = statement.query_map([], |row| {
            Ok(LogRecord {
                time_ms: row.get(0)?,
                level: LogLevel::from_code(row.get(1)?).unwrap_or(LogLevel::Error),
                target: row.get(2)?,
                message: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Bytes the rows count for against `LogConfig::max_bytes`.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}
