//! The event queue beside the fix queue: geofence, trip and device events wait here until
//! uploaded in the same batches as fixes, numbered by their own sequence.

use rusqlite::{Connection, Transaction, params};

use super::{Store, StoreError, seq_param};

/// Most events kept; past it the oldest are dropped. Events are rare (a few per stop), so this
/// is weeks offline.
pub const MAX_EVENTS: u64 = 10_000;

/// What happened, with its wire name (`protocol::EVENT_KINDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Enter,
    Exit,
    Dwell,
    TripStart,
    TripEnd,
    /// The app set the device's metadata.
    Device,
}

impl EventKind {
    pub fn wire_name(self) -> &'static str {
        match self {
            EventKind::Enter => "enter",
            EventKind::Exit => "exit",
            EventKind::Dwell => "dwell",
            EventKind::TripStart => "trip_start",
            EventKind::TripEnd => "trip_end",
            EventKind::Device => "device",
        }
    }

    pub fn from_wire_name(name: &str) -> Option<EventKind> {
        Some(match name {
            "enter" => EventKind::Enter,
            "exit" => EventKind::Exit,
            "dwell" => EventKind::Dwell,
            "trip_start" => EventKind::TripStart,
            "trip_end" => EventKind::TripEnd,
            "device" => EventKind::Device,
            _ => return None,
        })
    }
}

/// An event for the server.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    pub time_ms: i64,
    pub kind: EventKind,
    /// The geofence id or the trip id.
    pub subject: Option<String>,
    /// `(lat, lon)` of the fix that decided a geofence event.
    pub position: Option<(f64, f64)>,
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub event: QueuedEvent,
}

impl Store {
    /// Appends events in one transaction.
    pub fn append_events(&mut self, events: &[QueuedEvent], now_ms: i64) -> Result<(), StoreError> {
        self.append_events_and_meta(events, &[], now_ms)
    }

    /// Appends events and sets (or, with `None`, deletes) meta keys in one transaction: a
    /// trip's state and its start event are stored together or not at all.
    pub fn append_events_and_meta(
        &mut self,
        events: &[QueuedEvent],
        meta: &[(&str, Option<&str>)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        insert_events(&tx, events, now_ms)?;
        for (key, value) in meta {
            match value {
                Some(value) => tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )?,
                None => tx.execute("DELETE FROM meta WHERE key = ?1", [key])?,
            };
        }
        // Counted inside the transaction: after the commit nothing may fail (a caller told
        // "failed" would retry, and a trip would start twice).
        let pending = if events.is_empty() {
            self.pending_events
        } else {
            count(&tx)?
        };
        tx.commit()?;
        self.pending_events = pending;
        Ok(())
    }

    /// Events not yet uploaded.
    pub fn pending_event_count(&self) -> u64 {
        self.pending_events
    }

    /// When the oldest pending event was stored (by the tracker's clock).
    pub fn oldest_event_stored_ms(&self) -> Result<Option<i64>, StoreError> {
        use rusqlite::OptionalExtension;
        if self.pending_events == 0 {
            return Ok(None);
        }
        Ok(self
            .conn
            .prepare_cached("SELECT stored_ms FROM events ORDER BY seq LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    /// The oldest pending events, at most `max`. A row that cannot be decoded is returned with
    /// its metadata dropped rather than blocking the queue.
    pub fn peek_events(&self, max: u32) -> Result<Vec<StoredEvent>, StoreError> {
        self.peek_events_through(max, None)
    }

    /// As [`Store::peek_events`], stopping after `last_seq` (the end of a stream).
    pub fn peek_events_through(
        &self,
        max: u32,
        last_seq: Option<u64>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, time_ms, kind, subject, lat, lon, meta FROM events WHERE seq <= ?2
             ORDER BY seq LIMIT ?1",
        )?;
        let last = seq_param(last_seq.unwrap_or(u64::MAX));
        let rows = stmt.query_map(params![max, last], |row| {
            let seq: i64 = row.get(0)?;
            let kind: String = row.get(2)?;
            let meta: Option<String> = row.get(6)?;
            let position = match (row.get::<_, Option<f64>>(4)?, row.get::<_, Option<f64>>(5)?) {
                (Some(lat), Some(lon)) => Some((lat, lon)),
                _ => None,
            };
            Ok((
                u64::try_from(seq).unwrap_or(0),
                row.get::<_, i64>(1)?,
                kind,
                row.get::<_, Option<String>>(3)?,
                position,
                meta,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, time_ms, kind, subject, position, meta) = row?;
            // An unknown kind can only come from a newer SDK's rows; send it as `device`-less
            // noise would be wrong, so skip it (it is deleted with the batch it rode in).
            let Some(kind) = EventKind::from_wire_name(&kind) else {
                continue;
            };
            events.push(StoredEvent {
                seq,
                event: QueuedEvent {
                    time_ms,
                    kind,
                    subject,
                    position,
                    metadata: meta.as_deref().map(decode_pairs).unwrap_or_default(),
                },
            });
        }
        Ok(events)
    }

    /// Removes every pending event up to and including `last_seq`.
    pub fn delete_events_through(&mut self, last_seq: u64) -> Result<u64, StoreError> {
        let removed = delete_through(&self.conn, last_seq)?;
        self.pending_events = self.pending_events.saturating_sub(removed);
        Ok(removed)
    }
}

pub(super) fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM events")?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Deletes every event up to and including `last_seq`; returns how many.
pub(super) fn delete_through(conn: &Connection, last_seq: u64) -> Result<u64, StoreError> {
    Ok(conn.execute("DELETE FROM events WHERE seq <= ?1", [seq_param(last_seq)])? as u64)
}

pub(super) fn insert_events(
    tx: &Transaction<'_>,
    events: &[QueuedEvent],
    now_ms: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (time_ms, kind, subject, lat, lon, meta, stored_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for event in events {
        stmt.execute(params![
            event.time_ms,
            event.kind.wire_name(),
            event.subject,
            event.position.map(|p| p.0),
            event.position.map(|p| p.1),
            encode_pairs(&event.metadata),
            now_ms,
        ])?;
    }
    tx.execute(
        "DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?1",
        [seq_param(MAX_EVENTS)],
    )?;
    Ok(())
}

/// Key-value pairs as a JSON array of pairs (keeps order); `None` when empty.
pub(super) fn encode_pairs(pairs: &[(String, String)]) -> Option<String> {
    if pairs.is_empty() {
        None
    } else {
        serde_json::to_string(pairs).ok()
    }
}

pub(super) fn decode_pairs(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Append, StoreLimits};

    fn event(time_ms: i64, kind: EventKind) -> QueuedEvent {
        QueuedEvent {
            time_ms,
            kind,
            subject: Some("depot".into()),
            position: Some((48.85, 2.35)),
            metadata: vec![("customer".into(), "42".into())],
        }
    }

    fn open(dir: &std::path::Path) -> Store {
        Store::open(dir, StoreLimits::default()).unwrap().store
    }

    #[test]
    fn events_survive_reopen_in_order_and_leave_with_their_upload() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store
                .append_events(&[event(1, EventKind::Enter), event(2, EventKind::Exit)], 10)
                .unwrap();
            store
                .append_events(&[event(3, EventKind::Dwell)], 11)
                .unwrap();
        }
        let mut store = open(dir.path());
        let peeked = store.peek_events(10).unwrap();
        let seqs: Vec<u64> = peeked.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(peeked[0].event, event(1, EventKind::Enter));
        assert_eq!(store.oldest_event_stored_ms().unwrap(), Some(10));
        assert_eq!(store.delete_events_through(2).unwrap(), 2);
        assert_eq!(store.pending_event_count(), 1);
        // Numbers are never reused, like the fixes'.
        store
            .append_events(&[event(4, EventKind::Enter)], 12)
            .unwrap();
        let seqs: Vec<u64> = store
            .peek_events(10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![3, 4]);
    }

    #[test]
    fn dead_lettering_an_events_only_batch_takes_its_events_out_of_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store
            .append_events(&[event(1, EventKind::Enter), event(2, EventKind::Exit)], 10)
            .unwrap();
        store
            .dead_letter_with_events(1, 0, Some(1), 400, b"body", 11)
            .unwrap();
        assert_eq!(store.pending_event_count(), 1);
        assert_eq!(store.peek_events(10).unwrap()[0].seq, 2);
        assert_eq!(store.dead_batch_count().unwrap(), 1);
    }

    #[test]
    fn the_event_queue_is_bounded_dropping_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let many: Vec<QueuedEvent> = (0..MAX_EVENTS as i64 + 5)
            .map(|t| event(t, EventKind::Enter))
            .collect();
        store.append_events(&many, 1).unwrap();
        assert_eq!(store.pending_event_count(), MAX_EVENTS);
        assert_eq!(store.peek_events(1).unwrap()[0].event.time_ms, 5);
    }

    #[test]
    fn a_failed_append_stores_neither_fixes_nor_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        // An invalid fix row cannot fail SQLite, but a full database does: make it full.
        store.set_max_page_count(1).unwrap_or(());
        let fixes = vec![crate::fix::Fix::new(1_700_000_000_000, 1.0, 2.0, 3.0); 200];
        let result = store.append_with(
            Append {
                fixes: &fixes,
                events: &[event(1, EventKind::Enter)],
                ..Append::default()
            },
            crate::steady::Now::at(1),
        );
        assert!(result.is_err());
        assert_eq!(store.pending_count(), 0);
        assert_eq!(store.pending_event_count(), 0);
    }

    #[test]
    fn a_version_2_queue_migrates_and_keeps_its_fixes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(crate::store::DATABASE_FILE);
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &crate::store::MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute(
                "INSERT INTO fixes (time_ms, lat, lon, acc, provider, mock, stored_ms)
                 VALUES (1700000000000, 1.0, 2.0, 3.0, 0, 0, 5)",
                [],
            )
            .unwrap();
        }
        let mut store = open(dir.path());
        let fixes = store.peek_batch(10).unwrap().fixes;
        assert_eq!(fixes.len(), 1);
        assert!(fixes[0].annotation.is_empty());
        store
            .append_events(&[event(1, EventKind::Enter)], 6)
            .unwrap();
        assert_eq!(store.pending_event_count(), 1);
    }
}
