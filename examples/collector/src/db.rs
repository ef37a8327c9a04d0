//! The collector's storage: one row per (device, stream, sequence) for fixes and one per
//! (device, stream, `s`) for events, so retries never duplicate. Rows also get an id in the
//! order they were stored, which the read API pages by.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::Type;
use rusqlite::{Connection, params};
use serde::Serialize;
use tracelet_protocol::wire::{BatchV1, WireEvent, WireFix};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("collector database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "collector database schema version {found} is newer than this collector supports \
         ({supported}); run a newer collector"
    )]
    NewerSchema { found: i64, supported: i64 },
}

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
const ROW_COLUMNS: &str = "id, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, \
     received_ms, sla, slo, sac, tr, x";

/// The columns [`read_event`] expects, in its order.
const EVENT_COLUMNS: &str = "id, stream, s, t, k, subject, la, lo, m, received_ms";

/// A string map as stored: JSON text, NULL when empty.
fn map_to_sql(map: &BTreeMap<String, String>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    serde_json::to_string(map).ok()
}

fn map_from_sql(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<BTreeMap<String, String>> {
    let text: Option<String> = r.get(index)?;
    match text {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e))),
    }
}

fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn u64_from_sql(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(index)?).unwrap_or(0))
}

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
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

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
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
    pub fn open(path: &Path) -> Result<CollectorDb, DbError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    pub fn in_memory() -> Result<CollectorDb, DbError> {
        Self::init(Connection::open_in_memory()?)
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
        Ok(CollectorDb {
            conn,
            stats: Stats::default(),
        })
    }

    /// Stores a validated batch in one transaction; returns (new, duplicates) of its fixes.
    pub fn store_batch(&mut self, batch: &BatchV1, now_ms: i64) -> Result<(u64, u64), DbError> {
        let stored = self.store_batch_rows(batch, now_ms)?;
        Ok((stored.rows.len() as u64, stored.duplicates))
    }

    /// Stores a validated batch, its fixes and its events, in one transaction: either all of
    /// it is stored or none. Returns what was new (the live stream publishes it) and the
    /// numbers of duplicates.
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
        }
        tx.commit()?;
        stored.duplicates = (batch.fixes.len() - stored.rows.len()) as u64;
        stored.event_duplicates = (batch.events.len() - stored.events.len()) as u64;
        self.stats.batches += 1;
        self.stats.fixes_accepted += stored.rows.len() as u64;
        self.stats.duplicates += stored.duplicates;
        self.stats.events_accepted += stored.events.len() as u64;
        self.stats.events_duplicates += stored.event_duplicates;
        Ok(stored)
    }

    pub fn count_rejected_request(&mut self) {
        self.stats.rejected_requests += 1;
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Fixes of one device stored after the row with id `after`, in storage order.
    pub fn fixes(&self, device: &str, after: u64, limit: u32) -> Result<Vec<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![device, seq_to_sql(after), limit], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The fix of a device with the largest time `t` (the last stored among equal times),
    /// or `None` for an unknown device.
    pub fn latest(&self, device: &str) -> Result<Option<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 ORDER BY t DESC, id DESC LIMIT 1"
        ))?;
        let mut rows = stmt.query_map(params![device], read_row)?;
        Ok(rows.next().transpose()?)
    }

    /// Fixes of one device with `from_ms <= t <= to_ms`, ordered by time then storage, at
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
             ORDER BY t, id LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![device, from_ms, to_ms, limit], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events of one device with `since_ms <= t <= until_ms`, of the given kinds (all when
    /// `None`), ordered by time then storage order, at most `limit` of them.
    pub fn events(
        &self,
        device: &str,
        since_ms: i64,
        until_ms: i64,
        kinds: Option<&[&str]>,
        limit: u32,
    ) -> Result<Vec<EventRow>, DbError> {
        // The kinds travel as one parameter, ",enter,exit,", so that the statement is fixed.
        let kinds = kinds.map(|k| format!(",{},", k.join(",")));
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE device = ?1 AND t >= ?2 AND t <= ?3
             AND (?4 IS NULL OR instr(?4, ',' || k || ',') > 0)
             ORDER BY t, id LIMIT ?5"
        ))?;
        let rows = stmt.query_map(
            params![device, since_ms, until_ms, kinds, limit],
            read_event,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every event of one device, in storage order.
    pub fn all_events(&self, device: &str) -> Result<Vec<EventRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE device = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![device], read_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every device with fixes or events, ordered by id.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "WITH f AS (SELECT device, COUNT(*) AS n, MAX(t) AS last_t
                        FROM fixes GROUP BY device),
                  e AS (SELECT device, COUNT(*) AS n FROM events GROUP BY device),
                  ids AS (SELECT device FROM f UNION SELECT device FROM e)
             SELECT ids.device, COALESCE(f.n, 0), f.last_t, COALESCE(e.n, 0),
                    (SELECT m FROM events WHERE events.device = ids.device AND k = 'device'
                     ORDER BY id DESC LIMIT 1)
             FROM ids LEFT JOIN f ON f.device = ids.device LEFT JOIN e ON e.device = ids.device
             ORDER BY ids.device",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DeviceSummary {
                device: r.get(0)?,
                fixes: u64_from_sql(r, 1)?,
                last_t: r.get(2)?,
                events: u64_from_sql(r, 3)?,
                metadata: map_from_sql(r, 4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
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
        }
    }

    #[test]
    fn an_older_database_migrates_into_the_legacy_stream() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch(FIRST_SCHEMA).expect("old schema");
        let mut db = CollectorDb::init(conn).expect("migrates");
        let old = db.fixes("old", 0, 10).expect("old rows");
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
        let new_rows = db.fixes("old", after_old, 10).expect("new row");
        assert_eq!(new_rows.len(), 1);
        assert_eq!(
            (new_rows[0].stream.as_str(), &new_rows[0].fix),
            ("a1", &annotated)
        );
        let events = db.all_events("old").expect("events");
        assert_eq!(
            (events[0].stream.as_str(), &events[0].event),
            ("a1", &trip_start)
        );

        // Opening it again (every start does) changes nothing.
        let conn = std::mem::replace(&mut db.conn, Connection::open_in_memory().expect("open"));
        let db = CollectorDb::init(conn).expect("reopens");
        assert_eq!(db.fixes("old", 0, 10).expect("rows").len(), 2);
        let devices = db.devices().expect("devices");
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
