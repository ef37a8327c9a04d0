//! The durable queue: fixes wait here, numbered by a per-device sequence, until uploaded.
//!
//! SQLite in WAL mode with `synchronous = NORMAL`: a committed fix survives the process being
//! killed at any instant (the WAL is written before `append` returns); on power loss the last
//! commits since the most recent WAL sync may be lost (see the README's delivery contract).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction, params};
use thiserror::Error;

use crate::filter::Smoothed;
use crate::fix::{Fix, Provider, validate};
use crate::geofence::FenceState;
use crate::steady::Now;

mod events;
mod geofences;
pub mod logs;
mod streams;

pub use events::{EventKind, MAX_EVENTS, QueuedEvent, StoredEvent};
pub use geofences::StoredGeofence;
pub use streams::{MARKER_FILE, StreamIds, StreamStart};
use streams::{Marker, MarkerFile, Streams};

pub const DATABASE_FILE: &str = "tracelet-queue.sqlite3";
/// Meta key: the newest fix time ever stored, kept across uploads and restarts.
const META_LAST_FIX_TIME: &str = "last_fix_time_ms";
/// Meta keys: the highest fix and event sequence numbers ever handed to the network.
const META_SENT_FIX_SEQ: &str = "sent_fix_seq";
const META_SENT_EVENT_SEQ: &str = "sent_event_seq";

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
    // v2: the filter's smoothed position, kept beside the raw one when the app uploads it.
    "ALTER TABLE fixes ADD COLUMN smooth_lat REAL;
     ALTER TABLE fixes ADD COLUMN smooth_lon REAL;
     ALTER TABLE fixes ADD COLUMN smooth_acc REAL;",
    // v3: trips and extras on fixes, the event queue, and the app's geofences with the state
    // that keeps a restart from firing Enter again.
    "ALTER TABLE fixes ADD COLUMN trip_id TEXT;
     ALTER TABLE fixes ADD COLUMN extras TEXT;
     CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT,
        lat REAL,
        lon REAL,
        meta TEXT,
        stored_ms INTEGER NOT NULL
     );
     CREATE TABLE geofences (
        id TEXT PRIMARY KEY,
        definition TEXT NOT NULL,
        presence INTEGER NOT NULL DEFAULT 0,
        since_ms INTEGER,
        dwell_fired INTEGER NOT NULL DEFAULT 0
     );",
    // v4: the queue's streams (`streams.rs`). Numbers already handed out before stream ids
    // existed stay in a legacy stream with an empty id; opening the queue starts a real one.
    "CREATE TABLE streams (
        id INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        first_fix_seq INTEGER NOT NULL,
        first_event_seq INTEGER NOT NULL
     );
     INSERT INTO streams (stream, first_fix_seq, first_event_seq)
        SELECT '', 1, 1 WHERE EXISTS (SELECT 1 FROM sqlite_sequence);",
    // v5: the on-device log (`logs.rs`), bounded by size and age, oldest rows evicted first.
    "CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time_ms INTEGER NOT NULL,
        steady_ms INTEGER NOT NULL,
        level INTEGER NOT NULL,
        target TEXT NOT NULL,
        message TEXT NOT NULL
     );",
];

/// How much the queue may hold. Past any bound the oldest fixes are evicted (and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_fixes: u64,
    /// Fixes older than this (by the time they were stored) are evicted.
    pub max_age_ms: i64,
    /// Bytes of database pages in use.
    pub max_bytes: u64,
}

impl Default for StoreLimits {
    /// About a week of 1 Hz driving, held for up to 7 days, in at most 32 MiB.
    fn default() -> Self {
        StoreLimits {
            max_fixes: 500_000,
            max_age_ms: 7 * 24 * 3600 * 1000,
            max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Why fixes were evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionReason {
    Count,
    Age,
    Bytes,
}

/// What an append did besides storing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendOutcome {
    pub seqs: Vec<u64>,
    /// Oldest fixes removed to stay within the limits, by reason.
    pub evicted: Vec<(EvictionReason, u64)>,
}

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the storage directory: {0}")]
    Directory(#[from] std::io::Error),
    #[error("storage is full; the fix was not stored and nothing stored was lost")]
    Full,
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("database schema version {found} is newer than this SDK supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("cannot encode a record for storage: {0}")]
    Encoding(String),
}

/// Everything one `record` call stores, in one transaction: the kept fixes, what the app
/// attached to them, the geofence events they caused with the states those left behind, and
/// the meta values that must agree with them (the odometer, the last known location).
#[derive(Debug, Clone, Copy, Default)]
pub struct Append<'a> {
    pub fixes: &'a [Fix],
    /// Matched by index; a shorter slice means none for the rest.
    pub smoothed: &'a [Option<Smoothed>],
    /// Applies to every fix of the call.
    pub annotation: Option<&'a FixAnnotation>,
    pub events: &'a [QueuedEvent],
    pub fence_states: &'a [(String, FenceState)],
    pub meta: Option<MetaWriter<'a>>,
}

/// Meta values written in the append's transaction, made from the sequence numbers the fixes
/// were given (known only inside it).
#[derive(Clone, Copy)]
pub struct MetaWriter<'a>(pub &'a dyn Fn(&[u64]) -> MetaValues);

/// Meta keys and their values.
pub type MetaValues = Vec<(&'static str, String)>;

impl std::fmt::Debug for MetaWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetaWriter")
    }
}

/// The head of the queue: a run of readable fixes of one stream, and the row that ended it if
/// unreadable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Peeked {
    pub fixes: Vec<StoredFix>,
    pub unreadable: Vec<u64>,
}

/// What goes in the next upload: the oldest pending fixes and events of the oldest stream that
/// has any (a batch never mixes streams).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outgoing {
    pub stream: String,
    /// True when `stream` is the one new fixes are stored in, started by this installation.
    /// Rows of older streams (a restored copy's, or from before stream ids) may already be at
    /// the server, sent by the phone that made them.
    pub current_stream: bool,
    pub fixes: Vec<StoredFix>,
    /// The unreadable row that ended the run of fixes, if any.
    pub unreadable: Vec<u64>,
    pub events: Vec<StoredEvent>,
}

/// How many of a batch's sequence numbers were handed to the network before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SentBefore {
    pub fixes: u64,
    pub events: u64,
}

/// A fix as held in the queue, with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFix {
    pub seq: u64,
    pub fix: Fix,
    /// The filter's smoothed position, when it was kept for upload.
    pub smoothed: Option<Smoothed>,
    pub annotation: FixAnnotation,
}

/// What the app attached to a fix: the running trip and its per-fix extras.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixAnnotation {
    pub trip_id: Option<String>,
    /// Key-value pairs, order kept (validated by the tracker).
    pub extras: Vec<(String, String)>,
}

impl FixAnnotation {
    pub fn is_empty(&self) -> bool {
        self.trip_id.is_none() && self.extras.is_empty()
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full,
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    fn is_corruption(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(e) if matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
            )
        )
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    limits: StoreLimits,
    /// Kept in memory so that the hot path never runs `COUNT(*)`.
    pending: u64,
    /// Events waiting for upload, likewise kept in memory (`upload_due` asks on every record).
    pending_events: u64,
    fixes_since_size_check: u64,
    commits_since_hint: u32,
    streams: Streams,
    stream_start: StreamStart,
    marker: MarkerFile,
    /// The highest numbers handed to the network (meta keys, mirrored in the marker).
    sent: Marker,
    /// The write-ahead log, which `mark_sending` syncs before numbers leave the device.
    wal_path: PathBuf,
    /// Fix and event numbers up to these were durable on storage when last synced.
    synced: (u64, u64),
    /// The WAL's length at the last sync: what survives a power cut (tests simulate one).
    synced_wal_len: u64,
}

/// Runs WAL checkpoints on its own connection, on the uploader thread: a checkpoint syncs the
/// database to storage, which can take tens of milliseconds, and must never stall `record`.
pub struct Checkpointer {
    conn: Connection,
    wal_path: PathBuf,
}

impl Checkpointer {
    pub fn open(database: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(database)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let mut wal = database.as_os_str().to_owned();
        wal.push("-wal");
        Ok(Checkpointer {
            conn,
            wal_path: PathBuf::from(wal),
        })
    }

    /// Copies the WAL into the database (and syncs it) once the WAL exceeds `threshold_bytes`.
    /// Passive: never waits for, or blocks, the recording connection.
    pub fn checkpoint_if_larger_than(&self, threshold_bytes: u64) -> Result<bool, StoreError> {
        let size = std::fs::metadata(&self.wal_path).map_or(0, |m| m.len());
        if size < threshold_bytes {
            return Ok(false);
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(true)
    }
}

/// The WAL file is cut back to this size whenever a checkpoint lets it start over.
pub const WAL_SIZE_LIMIT_BYTES: i64 = 1024 * 1024;

/// WAL pages after which a commit checkpoints by itself (about 64 MiB); normally the
/// [`Checkpointer`] has run long before.
const BACKSTOP_CHECKPOINT_PAGES: i64 = 16_384;
/// Commits after which the recording side asks the uploader thread to consider a checkpoint.
const CHECKPOINT_HINT_EVERY_COMMITS: u32 = 512;

/// The byte bound is checked after this many appended fixes, so it may be exceeded by about
/// this many rows (some 30 KB) between checks.
const SIZE_CHECK_EVERY_FIXES: u64 = 256;

/// How to open a queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreOptions {
    pub limits: StoreLimits,
    /// Where the install marker lives (`streams.rs`): a directory that backups never copy, so
    /// that a restored database cannot pass for the original. `None`: the queue's directory.
    pub marker_dir: Option<PathBuf>,
    pub stream_ids: StreamIds,
}

/// A store just opened, and the path the corrupt file was moved to if it had to be replaced.
pub struct Opened {
    pub store: Store,
    pub quarantined: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the queue in `dir`, applying any pending migrations, with
    /// its install marker in the same directory and random stream ids.
    pub fn open(dir: &Path, limits: StoreLimits) -> Result<Opened, StoreError> {
        Self::open_with(
            dir,
            &StoreOptions {
                limits,
                marker_dir: None,
                stream_ids: StreamIds::Random,
            },
        )
    }

    /// As [`Store::open`], with every option.
    ///
    /// A corrupt database is moved aside (never deleted: it may still hold fixes worth
    /// rescuing by hand) and a fresh one is started, with a new stream, so the app keeps
    /// tracking.
    pub fn open_with(dir: &Path, options: &StoreOptions) -> Result<Opened, StoreError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DATABASE_FILE);
        let marker = MarkerFile::in_dir(options.marker_dir.as_deref().unwrap_or(dir));
        match Self::open_file(&path, options, marker.clone()) {
            Ok(store) => Ok(Opened {
                store,
                quarantined: None,
            }),
            Err(e) if e.is_corruption() => {
                let quarantined = quarantine(&path)?;
                Ok(Opened {
                    store: Self::open_file(&path, options, marker)?,
                    quarantined: Some(quarantined),
                })
            }
            Err(e) => Err(e),
        }
    }

    fn open_file(
        path: &Path,
        options: &StoreOptions,
        marker: MarkerFile,
    ) -> Result<Store, StoreError> {
        let limits = options.limits;
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Durability trade-off (README, delivery contract): a commit survives a process kill;
        // power loss may drop the commits since the last checkpoint.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoints (which sync to storage) run on the uploader's own connection, off the
        // recording thread; this automatic one is only a backstop should that thread stall.
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES)?;
        // Once checkpointed, the WAL restarts from its beginning and is cut back to this size,
        // so the uploader's size gate closes again after every checkpoint.
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some("quick_check failed".into()),
            )));
        }
        migrate(&mut conn)?;
        let (streams, stream_start) = streams::open_streams(&conn, &marker, options.stream_ids)?;
        let pending: i64 = conn.query_row("SELECT COUNT(*) FROM fixes", [], |r| r.get(0))?;
        let pending_events = events::count(&conn)?;
        let mut wal_path = path.as_os_str().to_owned();
        wal_path.push("-wal");
        let mut store = Store {
            conn,
            wal_path: PathBuf::from(wal_path),
            synced: (0, 0),
            synced_wal_len: 0,
            path: path.to_owned(),
            limits,
            pending: u64::try_from(pending).unwrap_or(0),
            pending_events,
            fixes_since_size_check: SIZE_CHECK_EVERY_FIXES,
            commits_since_hint: 0,
            sent: Marker::default(),
            streams,
            stream_start,
            marker,
        };
        let meta_seq = |store: &Store, key| -> Result<u64, StoreError> {
            Ok(store.meta(key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        // The marker is synced before each send and the meta keys are not: after a power cut
        // the marker may know of later sends.
        let marked = (stream_start == StreamStart::Continued)
            .then(|| store.marker.read())
            .flatten()
            .unwrap_or_default();
        store.sent = Marker {
            stream: store.streams.current().id.clone(),
            sent_fix_seq: meta_seq(&store, META_SENT_FIX_SEQ)?.max(marked.sent_fix_seq),
            sent_event_seq: meta_seq(&store, META_SENT_EVENT_SEQ)?.max(marked.sent_event_seq),
        };
        Ok(store)
    }

    /// The stream new fixes are stored in (32 hex digits).
    pub fn stream_id(&self) -> &str {
        &self.streams.current().id
    }

    /// Whether opening continued the database's stream or had to start a new one, and why.
    pub fn stream_start(&self) -> StreamStart {
        self.stream_start
    }

    /// Test hook: caps the database size so that "disk full" can be produced on demand.
    #[doc(hidden)]
    pub fn set_max_page_count(&mut self, pages: u64) -> Result<(), StoreError> {
        self.conn.pragma_update(
            None,
            "max_page_count",
            i64::try_from(pages).unwrap_or(i64::MAX),
        )?;
        Ok(())
    }

    /// Test hook: the database's size in pages.
    #[doc(hidden)]
    pub fn page_count(&self) -> Result<u64, StoreError> {
        let pages: i64 = self
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))?;
        Ok(u64::try_from(pages).unwrap_or(0))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends fixes in one transaction, evicting the oldest fixes first where a limit would
    /// be exceeded. On failure nothing is stored and nothing already stored is lost. `now_ms`
    /// stands for both clocks (tests).
    pub fn append(&mut self, fixes: &[Fix], now_ms: i64) -> Result<AppendOutcome, StoreError> {
        self.append_with(
            Append {
                fixes,
                ..Append::default()
            },
            Now::at(now_ms),
        )
    }

    /// As [`Store::append`], with everything else a recorded batch carries (see [`Append`]).
    /// Rows are stamped with steady time (`crate::steady`), which ages and delays are measured
    /// on.
    pub fn append_with(
        &mut self,
        append: Append<'_>,
        now: Now,
    ) -> Result<AppendOutcome, StoreError> {
        let now_ms = now.steady_ms;
        let fixes = append.fixes;
        let tx = self.conn.transaction()?;
        let seqs = insert_all(&tx, fixes, append.smoothed, append.annotation, now_ms)?;
        events::insert_events(&tx, append.events, now_ms)?;
        geofences::update_states(&tx, append.fence_states)?;
        if let Some(MetaWriter(values)) = append.meta {
            for (key, value) in values(&seqs) {
                tx.prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![key, value])?;
            }
        }
        if let Some(newest) = fixes.iter().map(|f| f.time_ms).max() {
            // In the same transaction, so that after a crash it agrees with the queue.
            tx.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), excluded.value)",
            )?
            .execute(params![META_LAST_FIX_TIME, newest])?;
        }
        // Measuring the file costs three pragma reads: do it every so many fixes, not per fix.
        self.fixes_since_size_check += seqs.len() as u64;
        let check_bytes = self.fixes_since_size_check >= SIZE_CHECK_EVERY_FIXES;
        if check_bytes {
            self.fixes_since_size_check = 0;
        }
        let pending = self.pending + seqs.len() as u64;
        let evicted = enforce_limits(&tx, &self.limits, pending, now, check_bytes)?;
        // Counted before the commit: once it succeeds, nothing may fail and tell the caller
        // the write did not happen.
        let pending_events = if append.events.is_empty() {
            self.pending_events
        } else {
            events::count(&tx)?
        };
        tx.commit()?;
        self.pending_events = pending_events;
        self.commits_since_hint += 1;
        let evicted_total: u64 = evicted.iter().map(|(_, n)| n).sum();
        self.pending = (self.pending + seqs.len() as u64).saturating_sub(evicted_total);
        Ok(AppendOutcome { seqs, evicted })
    }

    /// True about every few hundred commits: time for the uploader to look at the WAL.
    pub fn take_checkpoint_hint(&mut self) -> bool {
        let due = self.commits_since_hint >= CHECKPOINT_HINT_EVERY_COMMITS;
        if due {
            self.commits_since_hint = 0;
        }
        due
    }

    pub fn pending_count(&self) -> u64 {
        self.pending
    }

    /// When the oldest pending fix was stored (by the tracker's clock).
    pub fn oldest_stored_ms(&self) -> Result<Option<i64>, StoreError> {
        oldest_stored_ms(&self.conn)
    }

    /// The oldest pending fixes, at most `max`, stopping at the first gap in the sequence so
    /// that a batch is always a run `first_seq ..= first_seq + len - 1`.
    ///
    /// A row that cannot be read back as a valid fix (a damaged page, a tampered file) ends
    /// the batch and is reported in `unreadable`, so that the caller can set it aside instead
    /// of the whole queue sticking on it.
    /// The run also stops at the end of the first fix's stream.
    pub fn peek_batch(&self, max: u32) -> Result<Peeked, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, time_ms, lat, lon, acc, alt, vacc, speed, sacc, bearing, bacc,
                    provider, mock, ert_ns, smooth_lat, smooth_lon, smooth_acc, trip_id, extras
             FROM fixes ORDER BY seq LIMIT ?1",
        )?;
        let mut rows = stmt.query([max])?;
        let mut peeked = Peeked::default();
        let mut stream_end = None;
        while let Some(row) = rows.next()? {
            let seq = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0);
            if peeked.fixes.last().is_some_and(|prev| prev.seq + 1 != seq)
                || stream_end.is_some_and(|end| seq > end)
            {
                break;
            }
            if peeked.fixes.is_empty() {
                stream_end = self.streams.of_fix(seq).1;
            }
            match row_to_stored_fix(row) {
                // Range checks only: a stored fix's age is not a reason to refuse it.
                Ok(stored) if validate(&stored.fix, i64::MAX / 2).is_ok() => {
                    peeked.fixes.push(stored);
                }
                _ => {
                    peeked.unreadable.push(seq);
                    break;
                }
            }
        }
        Ok(peeked)
    }

    /// The next upload's contents: at most `max_fixes` fixes and `max_events` events, all of
    /// the oldest stream that has anything pending.
    pub fn peek_outgoing(&self, max_fixes: u32, max_events: u32) -> Result<Outgoing, StoreError> {
        let oldest = |table: &str| -> Result<Option<u64>, StoreError> {
            let seq: Option<i64> = self
                .conn
                .prepare_cached(&format!("SELECT MIN(seq) FROM {table}"))?
                .query_row([], |r| r.get(0))?;
            Ok(seq.and_then(|s| u64::try_from(s).ok()))
        };
        let fix_stream = oldest("fixes")?.map(|seq| self.streams.of_fix(seq).0);
        let event_stream = oldest("events")?.map(|seq| self.streams.of_event(seq));
        // Streams are numbered oldest first: the older of the two goes first.
        let Some(stream) = fix_stream
            .into_iter()
            .chain(event_stream.map(|e| e.0))
            .min()
        else {
            return Ok(Outgoing::default());
        };
        let mut outgoing = Outgoing {
            stream: self.streams.span(stream).id.clone(),
            current_stream: self.streams.is_current(stream),
            ..Outgoing::default()
        };
        if fix_stream == Some(stream) {
            let peeked = self.peek_batch(max_fixes)?;
            outgoing.fixes = peeked.fixes;
            outgoing.unreadable = peeked.unreadable;
        }
        if let Some((_, end)) = event_stream.filter(|(index, _)| *index == stream) {
            outgoing.events = self.peek_events_through(max_events, end)?;
        }
        Ok(outgoing)
    }

    /// Records that a batch reaching up to these sequence numbers is about to be sent, and
    /// says how many of its numbers were sent before (a retry may find those at the server
    /// already; a first attempt must not).
    ///
    /// Numbers about to leave the device for the first time are made durable first: the WAL
    /// is synced (one fsync, covering every commit so far), so a power cut can no longer roll
    /// back the rows, the deletes or the sequence counter behind what the server has. Then the
    /// marker outside the database learns the new high-water mark, so that a database rolled
    /// back behind it anyway (an old backup) starts a new stream.
    pub fn mark_sending(
        &mut self,
        fixes: Option<(u64, u64)>,
        events: Option<(u64, u64)>,
    ) -> Result<SentBefore, StoreError> {
        let seen = |range: Option<(u64, u64)>, sent: u64| {
            range.map_or(0, |(first, last)| {
                sent.min(last).saturating_sub(first.saturating_sub(1))
            })
        };
        let before = SentBefore {
            fixes: seen(fixes, self.sent.sent_fix_seq),
            events: seen(events, self.sent.sent_event_seq),
        };
        let mut sent = self.sent.clone();
        sent.sent_fix_seq = sent.sent_fix_seq.max(fixes.map_or(0, |r| r.1));
        sent.sent_event_seq = sent.sent_event_seq.max(events.map_or(0, |r| r.1));
        if sent != self.sent {
            let tx = self.conn.transaction()?;
            for (key, value) in [
                (META_SENT_FIX_SEQ, sent.sent_fix_seq),
                (META_SENT_EVENT_SEQ, sent.sent_event_seq),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    params![key, value.to_string()],
                )?;
            }
            tx.commit()?;
            self.sync_wal(sent.sent_fix_seq, sent.sent_event_seq)?;
            // Best effort: a marker that cannot be written only weakens the detection of old
            // backups, and refusing to upload would be worse.
            let _ = self.marker.write(&sent);
            self.sent = sent;
        }
        Ok(before)
    }

    /// Syncs the WAL to storage unless everything up to these numbers already is.
    fn sync_wal(&mut self, fix_seq: u64, event_seq: u64) -> Result<(), StoreError> {
        if fix_seq <= self.synced.0 && event_seq <= self.synced.1 {
            return Ok(());
        }
        // The WAL holds every commit since the last checkpoint, which synced the rest; with no
        // WAL file there is nothing unsynced.
        if let Ok(wal) = std::fs::File::open(&self.wal_path) {
            wal.sync_data()?;
            self.synced_wal_len = wal.metadata()?.len();
        }
        self.synced = (fix_seq, event_seq);
        Ok(())
    }

    /// How long the WAL was when last synced: a simulated power cut keeps only this much.
    #[doc(hidden)]
    pub fn synced_wal_len(&self) -> u64 {
        self.synced_wal_len
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
        self.dead_letter_with_events(first_seq, last_seq, None, http_status, body, now_ms)
    }

    /// As [`Store::dead_letter`], also removing the events through `last_event_seq` that rode in
    /// the batch. An events-only batch passes `first_seq > last_seq` (no fixes).
    pub fn dead_letter_with_events(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        last_event_seq: Option<u64>,
        http_status: u16,
        body: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let events_removed = match last_event_seq {
            Some(last) => events::delete_through(&tx, last)?,
            None => 0,
        };
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
        self.pending_events = self.pending_events.saturating_sub(events_removed);
        Ok(())
    }

    /// The newest fix time ever stored here, even if that fix was since uploaded.
    pub fn last_fix_time_ms(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.meta(META_LAST_FIX_TIME)?.and_then(|v| v.parse().ok()))
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

/// Deletes the oldest fixes until the queue is within `limits`; returns what it removed.
///
/// A fix is too old only when both clocks say so: its steady stamp (immune to clock changes
/// while the app runs) and its own time against the wall clock (immune to the steady estimate
/// after a reboot). A clock step alone never empties the queue.
fn enforce_limits(
    tx: &Transaction<'_>,
    limits: &StoreLimits,
    pending: u64,
    now: Now,
    check_bytes: bool,
) -> Result<Vec<(EvictionReason, u64)>, StoreError> {
    let mut evicted = Vec::new();
    let mut pending = pending;
    if pending > limits.max_fixes {
        let n = delete_oldest(tx, pending - limits.max_fixes)?;
        pending -= n;
        evicted.push((EvictionReason::Count, n));
    }
    let steady_cutoff = now.steady_ms.saturating_sub(limits.max_age_ms);
    let oldest = oldest_stored_ms(tx)?;
    if oldest.is_some_and(|t| t < steady_cutoff) {
        let wall_cutoff = now.wall_ms.saturating_sub(limits.max_age_ms);
        let n = tx.execute(
            "DELETE FROM fixes WHERE stored_ms < ?1 AND time_ms < ?2",
            [steady_cutoff, wall_cutoff],
        )? as u64;
        pending = pending.saturating_sub(n);
        if n > 0 {
            evicted.push((EvictionReason::Age, n));
        }
    }
    let mut bytes_evicted = 0;
    while check_bytes && pending > 1 && used_bytes(tx)? > limits.max_bytes {
        // Free a tenth at a time: pages are only reusable once whole pages empty out.
        let n = delete_oldest(tx, (pending / 10).max(1))?;
        if n == 0 {
            break;
        }
        pending -= n;
        bytes_evicted += n;
    }
    if bytes_evicted > 0 {
        evicted.push((EvictionReason::Bytes, bytes_evicted));
    }
    Ok(evicted)
}

fn oldest_stored_ms(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT stored_ms FROM fixes ORDER BY seq LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?)
}

fn delete_oldest(tx: &Transaction<'_>, count: u64) -> Result<u64, StoreError> {
    Ok(tx.execute(
        "DELETE FROM fixes WHERE seq IN (SELECT seq FROM fixes ORDER BY seq LIMIT ?1)",
        [i64::try_from(count).unwrap_or(i64::MAX)],
    )? as u64)
}

/// Bytes of database pages holding data (free pages are reused before the file grows).
fn used_bytes(conn: &Connection) -> Result<u64, StoreError> {
    let bytes: i64 = conn
        .prepare_cached(
            "SELECT (p.page_count - f.freelist_count) * s.page_size
             FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// Moves a corrupt database and its WAL and shared-memory files aside.
fn quarantine(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let target = path.with_extension(format!("corrupt-{stamp}.sqlite3"));
    std::fs::rename(path, &target)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = PathBuf::from(side);
        if side.exists() {
            let mut moved = target.as_os_str().to_owned();
            moved.push(suffix);
            std::fs::rename(&side, PathBuf::from(moved))?;
        }
    }
    Ok(target)
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

fn insert_all(
    tx: &Transaction<'_>,
    fixes: &[Fix],
    smoothed: &[Option<Smoothed>],
    annotation: Option<&FixAnnotation>,
    now_ms: i64,
) -> Result<Vec<u64>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO fixes (time_ms, lat, lon, acc, alt, vacc, speed, sacc, bearing, bacc,
                            provider, mock, ert_ns, stored_ms, smooth_lat, smooth_lon, smooth_acc,
                            trip_id, extras)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19)",
    )?;
    let trip_id = annotation.and_then(|a| a.trip_id.as_deref());
    let extras = annotation.and_then(|a| events::encode_pairs(&a.extras));
    let mut seqs = Vec::with_capacity(fixes.len());
    for (index, fix) in fixes.iter().enumerate() {
        let smooth = smoothed.get(index).copied().flatten();
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
            smooth.map(|p| p.latitude_deg),
            smooth.map(|p| p.longitude_deg),
            smooth.map(|p| p.accuracy_m),
            trip_id,
            extras,
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
        smoothed: match (row.get(14)?, row.get(15)?, row.get(16)?) {
            (Some(latitude_deg), Some(longitude_deg), Some(accuracy_m)) => Some(Smoothed {
                latitude_deg,
                longitude_deg,
                accuracy_m,
            }),
            _ => None,
        },
        annotation: FixAnnotation {
            trip_id: row.get(17)?,
            extras: row
                .get::<_, Option<String>>(18)?
                .as_deref()
                .map(events::decode_pairs)
                .unwrap_or_default(),
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
    use proptest::prelude::*;

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
            let mut store = open(dir.path());
            assert_eq!(
                store.append(&fixes, 1).unwrap().seqs,
                (1..=10).collect::<Vec<_>>()
            );
        }
        let store = open(dir.path());
        let batch = store.peek_batch(100).unwrap().fixes;
        assert_eq!(batch.len(), 10);
        assert_eq!(
            batch.iter().map(|s| s.fix.clone()).collect::<Vec<_>>(),
            fixes
        );
    }

    #[test]
    fn the_newest_fix_time_survives_upload_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.append(&[fix(5), fix(3)], 1).unwrap();
        store.delete_through(2).unwrap();
        drop(store);
        let store = open(dir.path());
        assert_eq!(store.last_fix_time_ms().unwrap(), Some(fix(5).time_ms));
    }

    #[test]
    fn the_checkpointer_folds_the_wal_back_into_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        for i in 0..600 {
            store.append(&[fix(i)], 1).unwrap();
        }
        assert!(store.take_checkpoint_hint());
        let checkpointer = Checkpointer::open(store.path()).unwrap();
        assert!(!checkpointer.checkpoint_if_larger_than(u64::MAX).unwrap());
        assert!(checkpointer.checkpoint_if_larger_than(1).unwrap());
        let (log, checkpointed): (i64, i64) = store
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(log, checkpointed, "everything was already checkpointed");
        assert_eq!(store.peek_batch(1_000).unwrap().fixes.len(), 600);
    }

    #[test]
    fn the_checkpoint_gate_closes_again_once_the_wal_is_checkpointed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let checkpointer = Checkpointer::open(store.path()).unwrap();
        let four_mib = 4 * 1024 * 1024;
        // One fix per commit, as `record` does: every commit appends its pages to the WAL.
        while std::fs::metadata(&store.wal_path).map_or(0, |m| m.len()) <= four_mib {
            let i = store.pending_count() as i64;
            store.append(&[fix(i)], 1).unwrap();
        }
        assert!(checkpointer.checkpoint_if_larger_than(four_mib).unwrap());
        // The next commit starts the WAL over and cuts the file back: the gate is closed.
        store.append(&[fix(1_000_000)], 1).unwrap();
        assert!(!checkpointer.checkpoint_if_larger_than(four_mib).unwrap());
        let wal_len = std::fs::metadata(&store.wal_path).unwrap().len();
        assert!(wal_len <= WAL_SIZE_LIMIT_BYTES as u64, "{wal_len} bytes");
    }

    #[test]
    fn a_power_cut_after_a_send_reuses_no_number_that_was_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store
            .append(&(0..10).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        let before = store.mark_sending(Some((1, 10)), None).unwrap();
        assert_eq!(before.fixes, 0);
        let synced = store.synced_wal_len();
        // Acknowledged and deleted, then more fixes: none of it synced yet.
        store.delete_through(10).unwrap();
        store
            .append(&(10..15).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        let stream = store.stream_id().to_owned();
        // The power goes: storage keeps the WAL only as far as it was synced (and the marker,
        // synced before the send). Copied while open: closing would checkpoint the WAL away.
        let cut = tempfile::tempdir().unwrap();
        for file in [DATABASE_FILE, MARKER_FILE] {
            std::fs::copy(dir.path().join(file), cut.path().join(file)).unwrap();
        }
        let wal = std::fs::read(&store.wal_path).unwrap();
        let kept = usize::try_from(synced).unwrap();
        std::fs::write(
            cut.path().join(format!("{DATABASE_FILE}-wal")),
            &wal[..kept.min(wal.len())],
        )
        .unwrap();
        drop(store);
        let mut store = open(cut.path());
        assert_eq!(store.stream_start(), StreamStart::Continued);
        assert_eq!(store.stream_id(), stream);
        // The sent fixes are back (their delete was lost) and go again, as repeats...
        assert_eq!(store.pending_count(), 10);
        // ...and the next fix gets a number that was never sent.
        assert_eq!(store.append(&[fix(20)], 1).unwrap().seqs, vec![11]);
        let again = store.mark_sending(Some((1, 11)), None).unwrap();
        assert_eq!(
            again.fixes, 10,
            "1-10 were sent before: repeats are expected"
        );
    }

    #[test]
    fn an_unreadable_row_ends_the_batch_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store
            .append(&(0..5).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        store
            .conn
            .execute("UPDATE fixes SET lat = 'damaged' WHERE seq = 3", [])
            .unwrap();
        store
            .conn
            .execute("UPDATE fixes SET lon = 720.0 WHERE seq = 4", [])
            .unwrap();
        let first = store.peek_batch(10).unwrap();
        assert_eq!(first.fixes.len(), 2);
        assert_eq!(first.unreadable, vec![3]);
        store.delete_through(2).unwrap();
        store.dead_letter(3, 3, 0, b"unreadable row", 1).unwrap();
        assert_eq!(store.peek_batch(10).unwrap().unreadable, vec![4]);
    }

    proptest! {
        /// Whatever a damaged or tampered file holds in a row, reading it never panics and
        /// never yields an invalid fix.
        #[test]
        fn decoding_arbitrary_stored_values_is_total(
            lat in proptest::prop_oneof![
                proptest::num::f64::ANY.prop_map(rusqlite::types::Value::Real),
                proptest::num::i64::ANY.prop_map(rusqlite::types::Value::Integer),
                ".{0,8}".prop_map(rusqlite::types::Value::Text),
                proptest::collection::vec(proptest::num::u8::ANY, 0..8).prop_map(rusqlite::types::Value::Blob),
            ],
            provider in proptest::num::i64::ANY,
            mock in proptest::num::i64::ANY,
            time in proptest::num::i64::ANY,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = open(dir.path());
            store.append(&[fix(0)], 1).unwrap();
            // SQLite stores NaN as NULL, which the NOT NULL constraint refuses: nothing to read.
            let updated = store.conn.execute(
                "UPDATE fixes SET lat = ?1, provider = ?2, mock = ?3, time_ms = ?4",
                rusqlite::params![lat, provider, mock, time],
            );
            prop_assume!(updated.is_ok());
            let peeked = store.peek_batch(10).unwrap();
            for stored in &peeked.fixes {
                prop_assert!(validate(&stored.fix, i64::MAX / 2).is_ok());
            }
            prop_assert_eq!(peeked.fixes.len() + peeked.unreadable.len(), 1);
        }
    }

    #[test]
    fn sequence_numbers_are_never_reused_after_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.append(&[fix(0), fix(1)], 1).unwrap();
        store.delete_through(2).unwrap();
        assert_eq!(store.pending_count(), 0);
        drop(store);
        let mut store = open(dir.path());
        assert_eq!(store.append(&[fix(2)], 1).unwrap().seqs, vec![3]);
    }

    #[test]
    fn dead_letter_moves_the_batch_out_of_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store
            .append(&(0..5).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        store.dead_letter(1, 3, 400, b"body", 2).unwrap();
        assert_eq!(store.pending_count(), 2);
        assert_eq!(store.dead_batch_count().unwrap(), 1);
        assert_eq!(store.peek_batch(10).unwrap().fixes[0].seq, 4);
    }

    #[test]
    fn uses_wal_and_records_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
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
        drop(open(dir.path()));
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open(dir.path(), StoreLimits::default()),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }

    fn open(dir: &Path) -> Store {
        Store::open(dir, StoreLimits::default()).unwrap().store
    }

    fn open_with(dir: &Path, limits: StoreLimits) -> Store {
        Store::open(dir, limits).unwrap().store
    }

    #[test]
    fn count_limit_evicts_the_oldest_and_says_how_many() {
        let dir = tempfile::tempdir().unwrap();
        let limits = StoreLimits {
            max_fixes: 5,
            ..StoreLimits::default()
        };
        let mut store = open_with(dir.path(), limits);
        store
            .append(&(0..4).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        let outcome = store
            .append(&(4..7).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        assert_eq!(outcome.evicted, vec![(EvictionReason::Count, 2)]);
        assert_eq!(store.pending_count(), 5);
        assert_eq!(store.peek_batch(10).unwrap().fixes[0].seq, 3);
    }

    #[test]
    fn age_limit_evicts_fixes_stored_too_long_ago() {
        let dir = tempfile::tempdir().unwrap();
        let limits = StoreLimits {
            max_age_ms: 1_000,
            ..StoreLimits::default()
        };
        let mut store = open_with(dir.path(), limits);
        let t0 = fix(0).time_ms;
        store.append(&[fix(0), fix(1)], t0).unwrap();
        let outcome = store.append(&[fix(2)], t0 + 5_000).unwrap();
        assert_eq!(outcome.evicted, vec![(EvictionReason::Age, 2)]);
        assert_eq!(store.pending_count(), 1);
    }

    #[test]
    fn a_clock_step_alone_never_empties_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let t0 = fix(0).time_ms;
        let week = 7 * 24 * 3600 * 1000;
        store.append(&[fix(0), fix(1)], t0 + 1_000).unwrap();
        // The wall clock jumps eight days ahead; steady time moved two seconds.
        let stepped = Now {
            wall_ms: t0 + 2_000 + week + 86_400_000,
            steady_ms: t0 + 2_000,
        };
        let outcome = store
            .append_with(
                Append {
                    fixes: &[fix(2)],
                    ..Append::default()
                },
                stepped,
            )
            .unwrap();
        assert!(outcome.evicted.is_empty());
        // And steady time far ahead (a reboot after a step) with fresh fixes evicts nothing.
        let rebooted = Now {
            wall_ms: t0 + 3_000,
            steady_ms: t0 + 3_000 + week + 86_400_000,
        };
        let outcome = store
            .append_with(
                Append {
                    fixes: &[fix(3)],
                    ..Append::default()
                },
                rebooted,
            )
            .unwrap();
        assert!(outcome.evicted.is_empty());
        assert_eq!(store.pending_count(), 4);
    }

    #[test]
    fn byte_limit_keeps_the_database_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let limits = StoreLimits {
            max_bytes: 256 * 1024,
            ..StoreLimits::default()
        };
        let mut store = open_with(dir.path(), limits);
        let mut evicted = 0;
        for round in 0..100 {
            let fixes: Vec<Fix> = (0..100).map(|i| fix(round * 100 + i)).collect();
            let outcome = store.append(&fixes, 1).unwrap();
            evicted += outcome.evicted.iter().map(|(_, n)| n).sum::<u64>();
        }
        assert!(evicted > 0);
        assert!(used_bytes(&store.conn).unwrap() <= 256 * 1024);
        assert_eq!(store.pending_count() + evicted, 10_000);
        let newest = store
            .peek_batch(u32::MAX)
            .unwrap()
            .fixes
            .last()
            .unwrap()
            .seq;
        assert_eq!(
            newest, 10_000,
            "eviction removes the oldest, never the newest"
        );
    }

    #[test]
    fn a_full_disk_is_a_typed_error_and_keeps_what_was_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store
            .append(&(0..10).map(fix).collect::<Vec<_>>(), 1)
            .unwrap();
        let pages: i64 = store
            .conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        store.set_max_page_count(pages as u64).unwrap();
        let big: Vec<Fix> = (10..5_000).map(fix).collect();
        assert!(matches!(store.append(&big, 1), Err(StoreError::Full)));
        assert_eq!(store.pending_count(), 10);
        drop(store);
        let store = open(dir.path());
        assert_eq!(store.peek_batch(100).unwrap().fixes.len(), 10);
    }

    #[test]
    fn a_corrupt_file_is_quarantined_and_a_fresh_queue_starts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DATABASE_FILE),
            b"this is not a database, just noise".repeat(200),
        )
        .unwrap();
        let opened = Store::open(dir.path(), StoreLimits::default()).unwrap();
        let quarantined = opened.quarantined.expect("corruption is reported");
        assert!(quarantined.exists());
        let mut store = opened.store;
        assert_eq!(store.append(&[fix(0)], 1).unwrap().seqs, vec![1]);
    }

    #[test]
    fn a_damaged_page_is_detected_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store
                .append(&(0..2_000).map(fix).collect::<Vec<_>>(), 1)
                .unwrap();
            store
                .conn
                .pragma_update(None, "wal_checkpoint", "TRUNCATE")
                .unwrap();
        }
        let path = dir.path().join(DATABASE_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        // Overwrite the middle of the file (table pages), keeping the header intact.
        let mid = bytes.len() / 2;
        bytes[mid..mid + 8192].fill(0xA5);
        std::fs::write(&path, bytes).unwrap();
        let opened = Store::open(dir.path(), StoreLimits::default()).unwrap();
        assert!(opened.quarantined.is_some());
        assert_eq!(opened.store.pending_count(), 0);
    }
}
