//! The collector's storage: one row per (device, sequence), so retries never duplicate.

use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;
use tracelet_core::protocol::{BatchV1, WireFix};

#[derive(Debug, thiserror::Error)]
#[error("collector database: {0}")]
pub struct DbError(#[from] rusqlite::Error);

pub struct CollectorDb {
    conn: Connection,
    stats: Stats,
}

/// Counters since the collector started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub batches: u64,
    pub fixes_accepted: u64,
    pub duplicates: u64,
    pub rejected_requests: u64,
}

/// A stored fix with its sequence number, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRow {
    pub seq: u64,
    #[serde(flatten)]
    pub fix: WireFix,
    pub received_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSummary {
    pub device: String,
    pub fixes: u64,
    pub last_seq: u64,
    pub last_t: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS fixes (
    device TEXT NOT NULL,
    seq INTEGER NOT NULL,
    t INTEGER NOT NULL,
    la REAL NOT NULL,
    lo REAL NOT NULL,
    ac REAL NOT NULL,
    al REAL, va REAL, sp REAL, sa REAL, be REAL, ba REAL,
    pr TEXT,
    mk INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    sla REAL, slo REAL, sac REAL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS fixes_by_time ON fixes (device, t);
";

/// The columns [`read_row`] expects, in its order.
const ROW_COLUMNS: &str =
    "seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, received_ms, sla, slo, sac";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
    let seq: i64 = r.get(0)?;
    Ok(StoredRow {
        seq: u64::try_from(seq).unwrap_or(0),
        fix: WireFix {
            t: r.get(1)?,
            la: r.get(2)?,
            lo: r.get(3)?,
            ac: r.get(4)?,
            al: r.get(5)?,
            va: r.get(6)?,
            sp: r.get(7)?,
            sa: r.get(8)?,
            be: r.get(9)?,
            ba: r.get(10)?,
            pr: r.get(11)?,
            mk: r.get(12)?,
            sla: r.get(14)?,
            slo: r.get(15)?,
            sac: r.get(16)?,
        },
        received_ms: r.get(13)?,
    })
}

impl CollectorDb {
    pub fn open(path: &Path) -> Result<CollectorDb, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    pub fn in_memory() -> Result<CollectorDb, DbError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<CollectorDb, DbError> {
        conn.execute_batch(SCHEMA)?;
        // Files written before smoothed positions existed lack their columns.
        let has_smoothed: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('fixes') WHERE name = 'sla'",
            [],
            |r| r.get(0),
        )?;
        if !has_smoothed {
            conn.execute_batch(
                "ALTER TABLE fixes ADD COLUMN sla REAL;
                 ALTER TABLE fixes ADD COLUMN slo REAL;
                 ALTER TABLE fixes ADD COLUMN sac REAL;",
            )?;
        }
        Ok(CollectorDb {
            conn,
            stats: Stats::default(),
        })
    }

    /// Stores a validated batch in one transaction; returns (new, duplicates).
    pub fn store_batch(&mut self, batch: &BatchV1, now_ms: i64) -> Result<(u64, u64), DbError> {
        let (stored, duplicates) = self.store_batch_rows(batch, now_ms)?;
        Ok((stored.len() as u64, duplicates))
    }

    /// As [`CollectorDb::store_batch`], returning the rows that were new (the live stream
    /// publishes them) and the number of duplicates.
    pub fn store_batch_rows(
        &mut self,
        batch: &BatchV1,
        now_ms: i64,
    ) -> Result<(Vec<StoredRow>, u64), DbError> {
        let tx = self.conn.transaction()?;
        let mut stored = Vec::new();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO fixes
                 (device, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, received_ms,
                  sla, slo, sac)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                         ?16, ?17, ?18)",
            )?;
            for (offset, f) in batch.fixes.iter().enumerate() {
                let seq = i64::try_from(batch.first_seq + offset as u64).unwrap_or(i64::MAX);
                let inserted = stmt.execute(params![
                    batch.device,
                    seq,
                    f.t,
                    f.la,
                    f.lo,
                    f.ac,
                    f.al,
                    f.va,
                    f.sp,
                    f.sa,
                    f.be,
                    f.ba,
                    f.pr,
                    f.mk,
                    now_ms,
                    f.sla,
                    f.slo,
                    f.sac
                ])?;
                if inserted > 0 {
                    stored.push(StoredRow {
                        seq: u64::try_from(seq).unwrap_or(0),
                        fix: f.clone(),
                        received_ms: now_ms,
                    });
                }
            }
        }
        tx.commit()?;
        let duplicates = (batch.fixes.len() - stored.len()) as u64;
        self.stats.batches += 1;
        self.stats.fixes_accepted += stored.len() as u64;
        self.stats.duplicates += duplicates;
        Ok((stored, duplicates))
    }

    pub fn count_rejected_request(&mut self) {
        self.stats.rejected_requests += 1;
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Fixes of one device with `seq > after_seq`, in sequence order.
    pub fn fixes(
        &self,
        device: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![device, i64::try_from(after_seq).unwrap_or(i64::MAX), limit],
            read_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The fix of a device with the largest time `t` (the largest `seq` among equal times),
    /// or `None` for an unknown device.
    pub fn latest(&self, device: &str) -> Result<Option<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 ORDER BY t DESC, seq DESC LIMIT 1"
        ))?;
        let mut rows = stmt.query_map(params![device], read_row)?;
        Ok(rows.next().transpose()?)
    }

    /// Fixes of one device with `from_ms <= t <= to_ms`, ordered by time then sequence, at
    /// most `limit` of them.
    pub fn track(
        &self,
        device: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 AND t >= ?2 AND t <= ?3
             ORDER BY t, seq LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![device, from_ms, to_ms, limit], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn devices(&self) -> Result<Vec<DeviceSummary>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device, COUNT(*), MAX(seq), MAX(t) FROM fixes GROUP BY device ORDER BY device",
        )?;
        let rows = stmt.query_map([], |r| {
            let last_seq: i64 = r.get(2)?;
            let count: i64 = r.get(1)?;
            Ok(DeviceSummary {
                device: r.get(0)?,
                fixes: u64::try_from(count).unwrap_or(0),
                last_seq: u64::try_from(last_seq).unwrap_or(0),
                last_t: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
