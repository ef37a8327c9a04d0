//! The collector's storage: one row per (device, stream, sequence) for fixes and one per
//! (device, stream, `s`) for events, so retries never duplicate. Rows also get an id in the
//! order they were stored, which the read API pages by.
//!
//! One connection writes ([`CollectorDb`], behind the ingest lock); reads go through
//! read-only connections of their own ([`ReadPool`]), which WAL lets read while a batch is
//! being written.

mod pool;
mod queries;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Type;
use rusqlite::{Connection, ErrorCode, params};
use serde::Serialize;
use tracelet_protocol::wire::{BatchV1, WireEvent, WireFix};

pub use pool::ReadPool;
pub use queries::Queries;

/// Written into every collector database, so that another application's file is recognised.
const APPLICATION_ID: i64 = 0x544c_4331; // "TLC1"

/// Tables a collector database may hold; a file with other tables belongs to someone else.
const OWN_TABLES: [&str; 3] = ["fixes", "events", "devices"];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("collector database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "collector database schema version {found} is newer than this collector supports \
         ({supported}); run a newer collector"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("{}: is a directory; --db takes the path of a database file", .0.display())]
    IsDirectory(PathBuf),
    #[error("{}: is not an SQLite database; --db takes a collector database or a new path", .0.display())]
    NotADatabase(PathBuf),
    #[error("{}: is an SQLite database of another application ({reason}); not touching it", .path.display())]
    Foreign { path: PathBuf, reason: String },
    /// Messages carry the SQLSTATE and PostgreSQL's message, never row values.
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    /// The database cannot be reached right now; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("--database-url: {0}")]
    BadUrl(String),
    #[error("this read runs only on SQLite; use the async read on PostgreSQL")]
    NotSqlite,
    #[error("storage task failed")]
    TaskFailed,
}

impl DbError {
    /// 503 for a database that is away (clients retry), 500 for anything else.
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            DbError::Unavailable(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
            _ => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The writing connection. Every write goes through it, one batch at a time.
pub struct CollectorDb {
    conn: Connection,
}

/// Counters since the collector started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub batches: u64,
    pub fixes_accepted: u64,
    pub duplicates: u64,
    pub rejected_requests: u64,
    pub events_accepted: u64,
    pub events_duplicates: u64,
}

/// A stored fix with its stream and sequence number, as the read API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRow {
    /// Position in the collector's storage order: the read API's paging cursor.
    pub cursor: u64,
    /// The device queue's stream (empty for senders older than stream ids).
    pub stream: String,
    pub seq: u64,
    #[serde(flatten)]
    pub fix: WireFix,
    pub received_ms: i64,
}

/// A stored event, as the read API and the live stream return it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// Position in the collector's storage order.
    pub cursor: u64,
    pub stream: String,
    #[serde(flatten)]
    pub event: WireEvent,
    pub received_ms: i64,
}

/// What storing one batch changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredBatch {
    /// Fixes stored for the first time, in sequence order.
    pub rows: Vec<StoredRow>,
    pub duplicates: u64,
    /// Events stored for the first time, in `s` order.
    pub events: Vec<EventRow>,
    pub event_duplicates: u64,
}

impl StoredBatch {
    /// The new fix with the largest `t`, the last of them among equal times: the one that
    /// becomes the device's latest position if nothing stored before is later.
    pub fn latest_row(&self) -> Option<&StoredRow> {
        // `max_by_key` returns the last of equal maxima.
        self.rows.iter().max_by_key(|r| r.fix.t)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSummary {
    pub device: String,
    pub fixes: u64,
    /// Largest fix time; absent when the device has events but no fixes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_t: Option<i64>,
    pub events: u64,
    /// The metadata of the device's most recently stored `device` event; empty when none.
    pub metadata: BTreeMap<String, String>,
}

/// Each entry moves the schema from version `index` to `index + 1`; `user_version` records
/// how many have run. Append only.
const MIGRATIONS: &[&str] = &[
    // v1: the tables as the first releases left them (files from before versioning already
    // have them; `init` adds the columns they may lack before recording version 1).
    "CREATE TABLE IF NOT EXISTS fixes (
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
        tr TEXT, x TEXT,
        PRIMARY KEY (device, seq)
     ) WITHOUT ROWID;
     CREATE TABLE IF NOT EXISTS events (
        device TEXT NOT NULL,
        s INTEGER NOT NULL,
        t INTEGER NOT NULL,
        k TEXT NOT NULL,
        id TEXT,
        la REAL, lo REAL,
        m TEXT,
        received_ms INTEGER NOT NULL,
        PRIMARY KEY (device, s)
     ) WITHOUT ROWID;",
    // v2: rows are unique per (device, stream, sequence); rows stored before streams existed
    // keep the empty (legacy) stream. An integer key gives each row its place in storage order.
    "CREATE TABLE fixes_v2 (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        stream TEXT NOT NULL,
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
        tr TEXT, x TEXT,
        UNIQUE (device, stream, seq)
     );
     INSERT INTO fixes_v2 (device, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk,
                           received_ms, sla, slo, sac, tr, x)
        SELECT device, '', seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, received_ms,
               sla, slo, sac, tr, x
        FROM fixes ORDER BY received_ms, device, seq;
     DROP TABLE fixes;
     ALTER TABLE fixes_v2 RENAME TO fixes;
     CREATE INDEX fixes_by_time ON fixes (device, t);
     CREATE INDEX fixes_by_device ON fixes (device, id);
     CREATE TABLE events_v2 (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        stream TEXT NOT NULL,
        s INTEGER NOT NULL,
        t INTEGER NOT NULL,
        k TEXT NOT NULL,
        subject TEXT,
        la REAL, lo REAL,
        m TEXT,
        received_ms INTEGER NOT NULL,
        UNIQUE (device, stream, s)
     );
     INSERT INTO events_v2 (device, stream, s, t, k, subject, la, lo, m, received_ms)
        SELECT device, '', s, t, k, id, la, lo, m, received_ms
        FROM events ORDER BY received_ms, device, s;
     DROP TABLE events;
     ALTER TABLE events_v2 RENAME TO events;
     CREATE INDEX events_by_time ON events (device, t);
     CREATE INDEX events_by_kind ON events (device, k, id);
     CREATE INDEX events_by_device ON events (device, id);",
    // v3: one row per device with its counts, last fix time and metadata, kept by ingest, so
    // that listing devices reads one row per device instead of counting every fix.
    "CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        fixes INTEGER NOT NULL,
        last_t INTEGER,
        events INTEGER NOT NULL,
        metadata TEXT
     ) WITHOUT ROWID;
     INSERT INTO devices (device, fixes, last_t, events, metadata)
     WITH f AS (SELECT device, COUNT(*) AS n, MAX(t) AS last_t FROM fixes GROUP BY device),
          e AS (SELECT device, COUNT(*) AS n FROM events GROUP BY device),
          ids AS (SELECT device FROM f UNION SELECT device FROM e)
     SELECT ids.device, COALESCE(f.n, 0), f.last_t, COALESCE(e.n, 0),
            (SELECT m FROM events WHERE events.device = ids.device AND k = 'device'
             ORDER BY id DESC LIMIT 1)
     FROM ids LEFT JOIN f ON f.device = ids.device LEFT JOIN e ON e.device = ids.device;",
    // v4: each device's latest position (its fix with the largest t) for the fleet queries,
    // and indexes on the time of arrival for retention.
    "ALTER TABLE devices ADD COLUMN la REAL;
     ALTER TABLE devices ADD COLUMN lo REAL;
     UPDATE devices SET
        la = (SELECT la FROM fixes WHERE fixes.device = devices.device
              ORDER BY t DESC, id DESC LIMIT 1),
        lo = (SELECT lo FROM fixes WHERE fixes.device = devices.device
              ORDER BY t DESC, id DESC LIMIT 1);
     CREATE INDEX fixes_by_arrival ON fixes (received_ms);
     CREATE INDEX events_by_arrival ON events (received_ms);",
];

/// Columns added to `fixes` before the schema had versions: files from then may lack them.
/// (name, SQL type), added in this order by [`CollectorDb::init`].
const ADDED_FIX_COLUMNS: [(&str, &str); 5] = [
    ("sla", "REAL"),
    ("slo", "REAL"),
    ("sac", "REAL"),
    ("tr", "TEXT"),
    ("x", "TEXT"),
];

/// The columns [`read_row`] expects, in its order.
pub(crate) const ROW_COLUMNS: &str = "id, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, \
     received_ms, sla, slo, sac, tr, x";

/// The columns [`read_event`] expects, in its order.
pub(crate) const EVENT_COLUMNS: &str = "id, stream, s, t, k, subject, la, lo, m, received_ms";

/// A string map as stored: JSON text, NULL when empty.
fn map_to_sql(map: &BTreeMap<String, String>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    serde_json::to_string(map).ok()
}

pub(crate) fn map_from_sql(
    r: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<BTreeMap<String, String>> {
    let text: Option<String> = r.get(index)?;
    match text {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e))),
    }
}

pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn u64_from_sql(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(index)?).unwrap_or(0))
}

pub(crate) fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        cursor: u64_from_sql(r, 0)?,
        stream: r.get(1)?,
        event: WireEvent {
            s: u64_from_sql(r, 2)?,
            t: r.get(3)?,
            k: r.get(4)?,
            id: r.get(5)?,
            la: r.get(6)?,
            lo: r.get(7)?,
            m: map_from_sql(r, 8)?,
        },
        received_ms: r.get(9)?,
    })
}

pub(crate) fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok(StoredRow {
        cursor: u64_from_sql(r, 0)?,
        stream: r.get(1)?,
        seq: u64_from_sql(r, 2)?,
        fix: WireFix {
            t: r.get(3)?,
            la: r.get(4)?,
            lo: r.get(5)?,
            ac: r.get(6)?,
            al: r.get(7)?,
            va: r.get(8)?,
            sp: r.get(9)?,
            sa: r.get(10)?,
            be: r.get(11)?,
            ba: r.get(12)?,
            pr: r.get(13)?,
            mk: r.get(14)?,
            sla: r.get(16)?,
            slo: r.get(17)?,
            sac: r.get(18)?,
            tr: r.get(19)?,
            x: map_from_sql(r, 20)?,
        },
        received_ms: r.get(15)?,
    })
}

impl CollectorDb {
    /// Opens (creating if needed) the database at `path`, in WAL mode so that readers on other
    /// connections never wait for a write. Refuses directories, files that are not SQLite,
    /// other applications' databases and databases from a newer collector.
    pub fn open(path: &Path) -> Result<CollectorDb, DbError> {
        if path.is_dir() {
            return Err(DbError::IsDirectory(path.to_owned()));
        }
        let conn = Connection::open(path)?;
        let not_a_db = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => DbError::NotADatabase(path.to_owned()),
            _ => DbError::Sqlite(e),
        };
        let app_id: i64 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(not_a_db)?;
        if app_id != 0 && app_id != APPLICATION_ID {
            return Err(DbError::Foreign {
                path: path.to_owned(),
                reason: format!("application id {app_id:#x}"),
            });
        }
        let mut tables = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")?;
        let foreign: Vec<String> = tables
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(Result::ok)
            .filter(|name| !OWN_TABLES.contains(&name.as_str()) && !name.starts_with("sqlite_"))
            .collect();
        drop(tables);
        if !foreign.is_empty() {
            return Err(DbError::Foreign {
                path: path.to_owned(),
                reason: format!("it has tables such as {:?}", foreign[0]),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<CollectorDb, DbError> {
        let supported = MIGRATIONS.len() as i64;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > supported {
            return Err(DbError::NewerSchema { found, supported });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            if index == 0 {
                add_missing_fix_columns(&tx)?;
            }
            tx.pragma_update(None, "user_version", index as i64 + 1)?;
            tx.commit()?;
        }
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        Ok(CollectorDb { conn })
    }

    /// Read queries on the writing connection (tests; the server reads through [`ReadPool`]).
    pub fn queries(&self) -> Queries<'_> {
        Queries::new(&self.conn)
    }

    /// Stores a validated batch in one transaction; returns (new, duplicates) of its fixes.
    pub fn store_batch(&mut self, batch: &BatchV1, now_ms: i64) -> Result<(u64, u64), DbError> {
        let stored = self.store_batch_rows(batch, now_ms)?;
        Ok((stored.rows.len() as u64, stored.duplicates))
    }

    /// Stores a validated batch, its fixes and its events, and updates the device's summary,
    /// in one transaction: either all of it is stored or none. Returns what was new (the live
    /// stream publishes it) and the numbers of duplicates.
    pub fn store_batch_rows(
        &mut self,
        batch: &BatchV1,
        now_ms: i64,
    ) -> Result<StoredBatch, DbError> {
        let tx = self.conn.transaction()?;
        let mut stored = StoredBatch::default();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO fixes
                 (device, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, received_ms,
                  sla, slo, sac, tr, x)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                         ?17, ?18, ?19, ?20, ?21)",
            )?;
            for (offset, f) in batch.fixes.iter().enumerate() {
                let seq = batch.first_seq + offset as u64;
                let inserted = stmt.execute(params![
                    batch.device,
                    batch.stream,
                    seq_to_sql(seq),
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
                    f.sac,
                    f.tr,
                    map_to_sql(&f.x),
                ])?;
                if inserted > 0 {
                    stored.rows.push(StoredRow {
                        cursor: u64::try_from(tx.last_insert_rowid()).unwrap_or(0),
                        stream: batch.stream.clone(),
                        seq,
                        fix: f.clone(),
                        received_ms: now_ms,
                    });
                }
            }
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (device, stream, s, t, k, subject, la, lo, m, received_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for e in &batch.events {
                let inserted = stmt.execute(params![
                    batch.device,
                    batch.stream,
                    seq_to_sql(e.s),
                    e.t,
                    e.k,
                    e.id,
                    e.la,
                    e.lo,
                    map_to_sql(&e.m),
                    now_ms,
                ])?;
                if inserted > 0 {
                    stored.events.push(EventRow {
                        cursor: u64::try_from(tx.last_insert_rowid()).unwrap_or(0),
                        stream: batch.stream.clone(),
                        event: e.clone(),
                        received_ms: now_ms,
                    });
                }
            }
            if !stored.rows.is_empty() || !stored.events.is_empty() {
                update_summary(&tx, &batch.device, &stored)?;
            }
        }
        tx.commit()?;
        stored.duplicates = (batch.fixes.len() - stored.rows.len()) as u64;
        stored.event_duplicates = (batch.events.len() - stored.events.len()) as u64;
        Ok(stored)
    }
}

/// Rows deleted per statement by retention, so that the writer is never held for long.
const RETENTION_CHUNK: i64 = 10_000;

impl CollectorDb {
    /// Deletes up to [`RETENTION_CHUNK`] fixes and events received before `cutoff_ms`, and
    /// clears the latest position of devices left without fixes. Returns the rows deleted:
    /// call again until it returns 0.
    pub fn delete_received_before(&mut self, cutoff_ms: i64) -> Result<u64, DbError> {
        let tx = self.conn.transaction()?;
        let fixes = tx.execute(
            "DELETE FROM fixes WHERE id IN
             (SELECT id FROM fixes WHERE received_ms < ?1 LIMIT ?2)",
            params![cutoff_ms, RETENTION_CHUNK],
        )?;
        let events = tx.execute(
            "DELETE FROM events WHERE id IN
             (SELECT id FROM events WHERE received_ms < ?1 LIMIT ?2)",
            params![cutoff_ms, RETENTION_CHUNK],
        )?;
        if fixes > 0 {
            tx.execute(
                "UPDATE devices SET la = NULL, lo = NULL WHERE la IS NOT NULL
                 AND NOT EXISTS (SELECT 1 FROM fixes WHERE fixes.device = devices.device)",
                [],
            )?;
        }
        tx.commit()?;
        Ok((fixes + events) as u64)
    }
}

/// Adds what a batch stored to its device's row of `devices`.
fn update_summary(
    tx: &rusqlite::Transaction<'_>,
    device: &str,
    stored: &StoredBatch,
) -> Result<(), DbError> {
    let latest = stored.latest_row();
    // The latest new `device` event sets the metadata; none leaves it as it was.
    let metadata = stored.events.iter().rev().find(|e| e.event.k == "device");
    // Every expression on the right reads the row as it was before this update.
    let mut stmt = tx.prepare_cached(
        "INSERT INTO devices (device, fixes, last_t, events, metadata, la, lo)
         VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?8)
         ON CONFLICT (device) DO UPDATE SET
            fixes = fixes + excluded.fixes,
            last_t = CASE WHEN excluded.last_t IS NULL THEN last_t
                          WHEN last_t IS NULL THEN excluded.last_t
                          ELSE max(last_t, excluded.last_t) END,
            events = events + excluded.events,
            metadata = CASE WHEN ?6 THEN excluded.metadata ELSE metadata END,
            la = CASE WHEN excluded.last_t IS NOT NULL
                       AND (last_t IS NULL OR excluded.last_t >= last_t)
                      THEN excluded.la ELSE la END,
            lo = CASE WHEN excluded.last_t IS NOT NULL
                       AND (last_t IS NULL OR excluded.last_t >= last_t)
                      THEN excluded.lo ELSE lo END",
    )?;
    stmt.execute(params![
        device,
        stored.rows.len() as i64,
        latest.map(|r| r.fix.t),
        stored.events.len() as i64,
        metadata.and_then(|e| map_to_sql(&e.event.m)),
        metadata.is_some(),
        latest.map(|r| r.fix.la),
        latest.map(|r| r.fix.lo),
    ])?;
    Ok(())
}

/// Files from before schema versions may lack columns that `fixes` gained meanwhile.
fn add_missing_fix_columns(conn: &Connection) -> Result<(), DbError> {
    for (column, sql_type) in ADDED_FIX_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('fixes') WHERE name = ?1",
            params![column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!(
                "ALTER TABLE fixes ADD COLUMN {column} {sql_type};"
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `fixes` table as the first collector release created it.
    const FIRST_SCHEMA: &str = "
        CREATE TABLE fixes (
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
            PRIMARY KEY (device, seq)
        ) WITHOUT ROWID;
        CREATE INDEX fixes_by_time ON fixes (device, t);
        INSERT INTO fixes (device, seq, t, la, lo, ac, mk, received_ms)
        VALUES ('old', 1, 1717243200000, 52.52, 13.405, 5.0, 0, 1717243201000);";

    fn fix(t: i64) -> WireFix {
        serde_json::from_value(serde_json::json!({"t": t, "la": 52.52, "lo": 13.405, "ac": 5.0}))
            .unwrap()
    }

    fn batch(stream: &str, first_seq: u64, fixes: Vec<WireFix>, events: Vec<WireEvent>) -> BatchV1 {
        BatchV1 {
            v: 1,
            device: "old".into(),
            stream: stream.into(),
            batch: String::new(),
            first_seq,
            fixes,
            events,
            params: Default::default(),
        }
    }

    #[test]
    fn an_older_database_migrates_into_the_legacy_stream() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(FIRST_SCHEMA).expect("old schema");
        let mut db = CollectorDb::init(conn).expect("migrates");
        let old = db.queries().fixes("old", 0, 10).expect("old rows");
        assert_eq!(old.len(), 1);
        assert_eq!((old[0].stream.as_str(), old[0].seq), ("", 1));
        assert_eq!((old[0].fix.tr.as_ref(), old[0].fix.x.len()), (None, 0));

        let mut annotated = fix(1_717_243_202_000);
        annotated.tr = Some("trip-1".into());
        annotated.x.insert("driver".into(), "ada".into());
        let trip_start = WireEvent {
            s: 1,
            t: 1_717_243_202_000,
            k: "trip_start".into(),
            id: Some("trip-1".into()),
            la: None,
            lo: None,
            m: BTreeMap::new(),
        };
        // The same sequence number in a new stream is a new fix; in the legacy one, a repeat.
        let new_stream = batch("a1", 1, vec![annotated.clone()], vec![trip_start.clone()]);
        let stored = db.store_batch_rows(&new_stream, 1).expect("store");
        assert_eq!((stored.rows.len(), stored.events.len()), (1, 1));
        let repeat = batch("", 1, vec![fix(1_717_243_200_000)], vec![]);
        assert_eq!(db.store_batch(&repeat, 2).expect("store"), (0, 1));
        let after_old = old[0].cursor;
        let new_rows = db.queries().fixes("old", after_old, 10).expect("new row");
        assert_eq!(new_rows.len(), 1);
        assert_eq!(
            (new_rows[0].stream.as_str(), &new_rows[0].fix),
            ("a1", &annotated)
        );
        let events = db.queries().all_events("old").expect("events");
        assert_eq!(
            (events[0].stream.as_str(), &events[0].event),
            ("a1", &trip_start)
        );

        // Opening it again (every start does) changes nothing.
        let conn = std::mem::replace(&mut db.conn, Connection::open_in_memory().expect("open"));
        let db = CollectorDb::init(conn).expect("reopens");
        assert_eq!(db.queries().fixes("old", 0, 10).expect("rows").len(), 2);
        let devices = db.queries().devices("", u32::MAX).expect("devices");
        assert_eq!((devices[0].fixes, devices[0].events), (2, 1));
    }

    #[test]
    fn a_database_from_a_newer_collector_is_a_typed_error() {
        let conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", 99)
            .expect("version");
        match CollectorDb::init(conn) {
            Err(DbError::NewerSchema { found: 99, .. }) => {}
            other => panic!("expected NewerSchema, got {:?}", other.map(|_| ())),
        }
    }
}
