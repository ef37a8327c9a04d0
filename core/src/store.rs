//! The durable queue: fixes wait here, numbered by a per-device sequence, until uploaded.
//!
//! SQLite in WAL mode with `synchronous = NORMAL`: a committed fix survives the process being
//! killed at any instant (the WAL is written before `append` returns); on power loss the last
//! commits since the most recent WAL sync may be lost (see the README's delivery contract).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use thiserror::Error;

use crate::fix::{Fix, Provider};

pub const DATABASE_FILE: &str = "tracelet-queue.sqlite3";

/// Each entry moves the schema from version `index` to `index + 1`; `user_version` records
/// how many have run. Append only: never edit a migration that has shipped.
const MIGRATIONS: &[&str] = &[
    // v1: the fix queue, the dead-letter table and a key-value table for tracker state.
    "CREATE TABLE fixes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        lat REAL NOT NULL,
        lon REAL NOT NULL,
        acc REAL NOT NULL,
        alt REAL, vacc REAL, speed REAL, sacc REAL, bearing REAL, bacc REAL,
        provider INTEGER NOT NULL,
        mock INTEGER NOT NULL,
        ert_ns INTEGER,
        stored_ms INTEGER NOT NULL
     );
     CREATE TABLE dead_batches (
        id INTEGER PRIMARY KEY,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        http_status INTEGER NOT NULL,
        body BLOB NOT NULL,
        moved_ms INTEGER NOT NULL
     );
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
];

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the storage directory: {0}")]
    Directory(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema version {found} is newer than this SDK supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

/// A fix as held in the queue, with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFix {
    pub seq: u64,
    pub fix: Fix,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Kept in memory so that the hot path never runs `COUNT(*)`.
    pending: u64,
}

impl Store {
    /// Opens (creating if needed) the queue in `dir`, applying any pending migrations.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DATABASE_FILE);
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn)?;
        let pending: i64 = conn.query_row("SELECT COUNT(*) FROM fixes", [], |r| r.get(0))?;
        Ok(Store {
            conn,
            path,
            pending: u64::try_from(pending).unwrap_or(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends fixes in one transaction and returns the sequence numbers given to them.
    pub fn append(&mut self, fixes: &[Fix], now_ms: i64) -> Result<Vec<u64>, StoreError> {
        let tx = self.conn.transaction()?;
        let seqs = insert_all(&tx, fixes, now_ms)?;
        tx.commit()?;
        self.pending += seqs.len() as u64;
        Ok(seqs)
    }

    pub fn pending_count(&self) -> u64 {
        self.pending
    }

    /// When the oldest pending fix was stored (by the tracker's clock).
    pub fn oldest_stored_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT stored_ms FROM fixes ORDER BY seq LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The oldest pending fixes, at most `max`, stopping at the first gap in the sequence so
    /// that a batch is always a run `first_seq ..= first_seq + len - 1`.
    pub fn peek_batch(&self, max: u32) -> Result<Vec<StoredFix>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, time_ms, lat, lon, acc, alt, vacc, speed, sacc, bearing, bacc,
                    provider, mock, ert_ns
             FROM fixes ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([max], row_to_stored_fix)?;
        let mut batch: Vec<StoredFix> = Vec::new();
        for row in rows {
            let stored = row?;
            if batch.last().is_some_and(|prev| prev.seq + 1 != stored.seq) {
                break;
            }
            batch.push(stored);
        }
        Ok(batch)
    }

    /// Removes every pending fix with a sequence number up to and including `last_seq`.
    pub fn delete_through(&mut self, last_seq: u64) -> Result<u64, StoreError> {
        let n = self
            .conn
            .execute("DELETE FROM fixes WHERE seq <= ?1", [seq_param(last_seq)])?
            as u64;
        self.pending = self.pending.saturating_sub(n);
        Ok(n)
    }

    /// Moves a batch the server refused for good out of the queue, keeping its body for
    /// inspection, in one transaction.
    pub fn dead_letter(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        http_status: u16,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO dead_batches (first_seq, last_seq, http_status, body, moved_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                seq_param(first_seq),
                seq_param(last_seq),
                http_status,
                body,
                now_ms
            ],
        )?;
        let removed = tx.execute(
            "DELETE FROM fixes WHERE seq BETWEEN ?1 AND ?2",
            [seq_param(first_seq), seq_param(last_seq)],
        )? as u64;
        tx.commit()?;
        self.pending = self.pending.saturating_sub(removed);
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }

    pub fn dead_batch_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM dead_batches", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let supported = MIGRATIONS.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn insert_all(tx: &Transaction<'_>, fixes: &[Fix], now_ms: i64) -> Result<Vec<u64>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO fixes (time_ms, lat, lon, acc, alt, vacc, speed, sacc, bearing, bacc,
                            provider, mock, ert_ns, stored_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    let mut seqs = Vec::with_capacity(fixes.len());
    for fix in fixes {
        stmt.execute(params![
            fix.time_ms,
            fix.latitude_deg,
            fix.longitude_deg,
            fix.horizontal_accuracy_m,
            fix.altitude_m,
            fix.vertical_accuracy_m,
            fix.speed_mps,
            fix.speed_accuracy_mps,
            fix.bearing_deg,
            fix.bearing_accuracy_deg,
            provider_code(fix.provider),
            fix.is_mock,
            fix.elapsed_realtime_ns,
            now_ms,
        ])?;
        seqs.push(u64::try_from(tx.last_insert_rowid()).unwrap_or(0));
    }
    Ok(seqs)
}

fn row_to_stored_fix(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFix> {
    let seq: i64 = row.get(0)?;
    Ok(StoredFix {
        seq: u64::try_from(seq).unwrap_or(0),
        fix: Fix {
            time_ms: row.get(1)?,
            latitude_deg: row.get(2)?,
            longitude_deg: row.get(3)?,
            horizontal_accuracy_m: row.get(4)?,
            altitude_m: row.get(5)?,
            vertical_accuracy_m: row.get(6)?,
            speed_mps: row.get(7)?,
            speed_accuracy_mps: row.get(8)?,
            bearing_deg: row.get(9)?,
            bearing_accuracy_deg: row.get(10)?,
            provider: provider_from_code(row.get(11)?),
            is_mock: row.get(12)?,
            elapsed_realtime_ns: row.get(13)?,
        },
    })
}

/// Stable on-disk codes; never renumber.
fn provider_code(provider: Provider) -> i64 {
    match provider {
        Provider::Unknown => 0,
        Provider::Gps => 1,
        Provider::Fused => 2,
        Provider::Network => 3,
        Provider::Passive => 4,
    }
}

fn provider_from_code(code: i64) -> Provider {
    match code {
        1 => Provider::Gps,
        2 => Provider::Fused,
        3 => Provider::Network,
        4 => Provider::Passive,
        _ => Provider::Unknown,
    }
}

/// SQLite integers are signed; sequence numbers never approach 2^63.
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(i: i64) -> Fix {
        Fix {
            provider: Provider::Gps,
            speed_mps: Some(1.5),
            elapsed_realtime_ns: Some(i * 1_000_000_000),
            ..Fix::new(
                1_700_000_000_000 + i * 1000,
                10.0 + i as f64 * 1e-5,
                20.0,
                5.0,
            )
        }
    }

    #[test]
    fn fixes_survive_reopen_in_order_with_all_fields() {
        let dir = tempfile::tempdir().unwrap();
        let fixes: Vec<Fix> = (0..10).map(fix).collect();
        {
            let mut store = Store::open(dir.path()).unwrap();
            assert_eq!(
                store.append(&fixes, 1).unwrap(),
                (1..=10).collect::<Vec<_>>()
            );
        }
        let store = Store::open(dir.path()).unwrap();
        let batch = store.peek_batch(100).unwrap();
        assert_eq!(batch.len(), 10);
        assert_eq!(
            batch.iter().map(|s| s.fix.clone()).collect::<Vec<_>>(),
            fixes
        );
    }

    #[test]
    fn sequence_numbers_are_never_reused_after_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.append(&[fix(0), fix(1)], 1).unwrap();
        store.delete_through(2).unwrap();
        assert_eq!(store.pending_count(), 0);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        assert_eq!(store.append(&[fix(2)], 1).unwrap(), vec![3]);
    }

    #[test]
    fn dead_letter_moves_the_batch_out_of_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .append(&(0..5).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        store.dead_letter(1, 3, 400, b"body", 2).unwrap();
        assert_eq!(store.pending_count(), 2);
        assert_eq!(store.dead_batch_count().unwrap(), 1);
        assert_eq!(store.peek_batch(10).unwrap()[0].seq, 4);
    }

    #[test]
    fn uses_wal_and_records_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }

    #[test]
    fn refuses_a_database_from_a_newer_sdk() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }
}
