//! The queue's identity: which stream its sequence numbers belong to.
//!
//! A server stores each (device, stream, sequence) once. Sequence numbers restart whenever the
//! queue database is new, and a database restored from a backup repeats numbers that its
//! original already sent, so the numbers alone cannot tell a retry from a new fix. Each queue
//! therefore draws a random stream id when it is created, and draws a new one whenever it finds
//! that it is not the database this installation last wrote:
//!
//! - The install marker, a small file kept outside the database (and, on the platforms, outside
//!   backups), names the current stream and the highest sequence numbers ever handed to the
//!   network. A database whose current stream differs from the marker's (a copy restored from a
//!   backup, a file carried over from another phone), or whose numbering is behind what was
//!   already sent (an older snapshot, a power cut that lost the WAL's tail), starts a new stream.
//! - Rows stored before the switch keep their stream: sent again, they are recognised by the
//!   server as the same fixes, whichever phone sends them.
//!
//! A new stream is always safe; a missed one loses fixes silently. So every doubt (no marker,
//! an unreadable marker) starts a new stream.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::jitter::Jitter;

/// The marker's file name inside the marker directory.
pub const MARKER_FILE: &str = "tracelet-queue.marker";

/// One stream: the sequence numbers from `first_fix_seq` and `first_event_seq` on, up to the
/// next stream's, belong to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpan {
    /// Empty for the legacy stream of rows stored before stream ids existed.
    pub id: String,
    pub first_fix_seq: u64,
    pub first_event_seq: u64,
}

/// Why the queue began a new stream when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStart {
    /// The database is the one this installation last wrote: the stream goes on.
    Continued,
    /// A new database (first run, cleared data, a quarantined file), or one from before stream
    /// ids.
    NewQueue,
    /// The database's stream is not the one the install marker names: a copy from a backup or
    /// another device (or the marker was lost).
    CopyDetected,
    /// The database numbers below what was already sent from this stream: an older snapshot, or
    /// power loss that dropped its latest commits.
    RollbackDetected,
}

/// The streams of one queue, oldest first, with the newest as the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streams {
    spans: Vec<StreamSpan>,
}

impl Streams {
    /// The stream new rows are stored in.
    pub fn current(&self) -> &StreamSpan {
        // `open_streams` always leaves at least one span.
        &self.spans[self.spans.len() - 1]
    }

    /// Whether the stream at `index` is the current one.
    pub fn is_current(&self, index: usize) -> bool {
        index + 1 == self.spans.len()
    }

    pub fn span(&self, index: usize) -> &StreamSpan {
        &self.spans[index.min(self.spans.len() - 1)]
    }

    /// The index of the stream a fix belongs to, and the last sequence number it can hold.
    pub fn of_fix(&self, seq: u64) -> (usize, Option<u64>) {
        self.locate(seq, |s| s.first_fix_seq)
    }

    /// The index of the stream an event belongs to, and the last `s` it can hold.
    pub fn of_event(&self, seq: u64) -> (usize, Option<u64>) {
        self.locate(seq, |s| s.first_event_seq)
    }

    fn locate(&self, seq: u64, first: impl Fn(&StreamSpan) -> u64) -> (usize, Option<u64>) {
        let index = self
            .spans
            .iter()
            .rposition(|s| first(s) <= seq)
            .unwrap_or(0);
        let end = self
            .spans
            .get(index + 1)
            .map(|next| first(next).saturating_sub(1));
        (index, end)
    }
}

/// What the install marker records: the current stream and how far it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marker {
    pub stream: String,
    pub sent_fix_seq: u64,
    pub sent_event_seq: u64,
}

impl Marker {
    fn parse(text: &str) -> Option<Marker> {
        let mut lines = text.lines();
        let stream = lines.next()?.trim().to_owned();
        let sent_fix_seq = lines.next()?.trim().parse().ok()?;
        let sent_event_seq = lines.next()?.trim().parse().ok()?;
        Some(Marker {
            stream,
            sent_fix_seq,
            sent_event_seq,
        })
    }

    fn render(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.stream, self.sent_fix_seq, self.sent_event_seq
        )
    }
}

/// The install marker file.
#[derive(Debug, Clone)]
pub struct MarkerFile {
    path: PathBuf,
}

impl MarkerFile {
    pub fn in_dir(dir: &Path) -> MarkerFile {
        MarkerFile {
            path: dir.join(MARKER_FILE),
        }
    }

    /// `None` when missing or unreadable: either way the database cannot be vouched for.
    pub fn read(&self) -> Option<Marker> {
        Marker::parse(&std::fs::read_to_string(&self.path).ok()?)
    }

    /// Replaces the marker atomically and durably (a sent batch must not be forgotten by a power
    /// cut): written to a temporary file, synced, renamed over the old one.
    pub fn write(&self, marker: &Marker) -> Result<(), StoreError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = self.path.with_extension("marker.tmp");
        {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(marker.render().as_bytes())?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, &self.path)?;
        // The rename itself reaches storage with the directory; not every platform can open a
        // directory to sync it, and the marker erring on the old side only starts a new stream.
        if let Some(Ok(dir)) = self.path.parent().map(std::fs::File::open) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Where new stream ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamIds {
    /// 128 bits from the operating system's entropy source (through SQLite's generator).
    #[default]
    Random,
    /// Derived from a seed and the number of streams the queue already has: for replays and
    /// tests that must give the same bytes twice. Never in production: two queues with the same
    /// seed draw the same ids, which is exactly the collision streams exist to prevent.
    Seeded(u64),
}

/// Loads the queue's streams and decides, against the install marker, whether the database
/// can go on with its current stream; starts a new one (and rewrites the marker) if not.
pub fn open_streams(
    conn: &Connection,
    marker_file: &MarkerFile,
    ids: StreamIds,
) -> Result<(Streams, StreamStart), StoreError> {
    let mut spans = load(conn)?;
    let marker = marker_file.read();
    let start = match (spans.last(), &marker) {
        (None, _) => StreamStart::NewQueue,
        (Some(last), _) if last.id.is_empty() => StreamStart::NewQueue,
        (Some(last), Some(m)) if m.stream == last.id => {
            let (next_fix, next_event) = next_seqs(conn)?;
            if next_fix <= m.sent_fix_seq || next_event <= m.sent_event_seq {
                StreamStart::RollbackDetected
            } else {
                StreamStart::Continued
            }
        }
        (Some(_), _) => StreamStart::CopyDetected,
    };
    if start != StreamStart::Continued {
        let id = match ids {
            StreamIds::Random => {
                conn.query_row("SELECT lower(hex(randomblob(16)))", [], |r| r.get(0))?
            }
            StreamIds::Seeded(seed) => {
                let mut jitter = Jitter::new(seed ^ (spans.len() as u64).rotate_left(32));
                format!("{:016x}{:016x}", jitter.next_u64(), jitter.next_u64())
            }
        };
        spans.push(begin(conn, id)?);
    }
    let current = spans[spans.len() - 1].id.clone();
    // Rewrite a marker that is missing or names another stream; a failed write only means the
    // next open starts yet another stream, which is safe.
    if marker.as_ref().map(|m| &m.stream) != Some(&current) {
        let _ = marker_file.write(&Marker {
            stream: current,
            sent_fix_seq: 0,
            sent_event_seq: 0,
        });
    }
    Ok((Streams { spans }, start))
}

/// The stream table, oldest first. Rows stored before stream ids existed (a queue migrated
/// from schema 3) are in a legacy stream with an empty id, which the migration inserts.
fn load(conn: &Connection) -> Result<Vec<StreamSpan>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT stream, first_fix_seq, first_event_seq FROM streams ORDER BY first_fix_seq, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StreamSpan {
            id: r.get(0)?,
            first_fix_seq: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            first_event_seq: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Starts stream `id` at the next unused sequence numbers.
fn begin(conn: &Connection, id: String) -> Result<StreamSpan, StoreError> {
    let (first_fix_seq, first_event_seq) = next_seqs(conn)?;
    conn.execute(
        "INSERT INTO streams (stream, first_fix_seq, first_event_seq) VALUES (?1, ?2, ?3)",
        params![id, seq_sql(first_fix_seq), seq_sql(first_event_seq)],
    )?;
    Ok(StreamSpan {
        id,
        first_fix_seq,
        first_event_seq,
    })
}

/// The sequence numbers the next fix and the next event will get (`AUTOINCREMENT` never
/// reuses a number, even once its row is gone).
fn next_seqs(conn: &Connection) -> Result<(u64, u64), StoreError> {
    let last = |table: &str| -> Result<u64, StoreError> {
        let seq: Option<i64> = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    };
    Ok((last("fixes")? + 1, last("events")? + 1))
}

fn seq_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans() -> Streams {
        Streams {
            spans: vec![
                StreamSpan {
                    id: String::new(),
                    first_fix_seq: 1,
                    first_event_seq: 1,
                },
                StreamSpan {
                    id: "a".into(),
                    first_fix_seq: 10,
                    first_event_seq: 3,
                },
                StreamSpan {
                    id: "b".into(),
                    first_fix_seq: 25,
                    first_event_seq: 3,
                },
            ],
        }
    }

    #[test]
    fn a_sequence_number_belongs_to_the_last_stream_that_began_before_it() {
        let streams = spans();
        assert_eq!(streams.of_fix(1), (0, Some(9)));
        assert_eq!(streams.of_fix(10), (1, Some(24)));
        assert_eq!(streams.of_fix(1_000), (2, None));
        assert!(streams.is_current(2));
        assert_eq!(streams.span(2), streams.current());
        // Stream "a" stored no events: the next event is "b"'s.
        assert_eq!(streams.of_event(3), (2, None));
        assert_eq!(streams.of_event(2), (0, Some(2)));
    }

    #[test]
    fn the_marker_survives_a_round_trip_and_refuses_garbage() {
        let marker = Marker {
            stream: "00ff".into(),
            sent_fix_seq: 41,
            sent_event_seq: 7,
        };
        assert_eq!(Marker::parse(&marker.render()), Some(marker));
        assert_eq!(Marker::parse("00ff\nforty\n7\n"), None);
        assert_eq!(Marker::parse(""), None);
    }

    mod queue {
        use super::super::super::{
            DATABASE_FILE, MARKER_FILE, QueuedEvent, Store, StoreLimits, StoreOptions, StreamIds,
            StreamStart,
        };
        use crate::fix::Fix;
        use crate::store::EventKind;
        use std::path::Path;

        fn open(dir: &Path, marker_dir: &Path) -> Store {
            let options = StoreOptions {
                limits: StoreLimits::default(),
                marker_dir: Some(marker_dir.to_owned()),
                stream_ids: StreamIds::Random,
            };
            Store::open_with(dir, &options).unwrap().store
        }

        fn fixes(n: i64) -> Vec<Fix> {
            (0..n)
                .map(|i| Fix::new(1_700_000_000_000 + i * 1000, 1.0, 2.0, 3.0))
                .collect()
        }

        fn event() -> QueuedEvent {
            QueuedEvent {
                time_ms: 1,
                kind: EventKind::TripStart,
                subject: Some("t".into()),
                position: None,
                metadata: Vec::new(),
            }
        }

        #[test]
        fn a_new_queue_draws_a_random_128_bit_stream_and_keeps_it_on_reopen() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let first = open(dir.path(), markers.path());
            assert_eq!(first.stream_start(), StreamStart::NewQueue);
            let stream = first.stream_id().to_owned();
            assert_eq!(stream.len(), 32);
            assert!(stream.bytes().all(|b| b.is_ascii_hexdigit()));
            drop(first);
            let again = open(dir.path(), markers.path());
            assert_eq!(again.stream_start(), StreamStart::Continued);
            assert_eq!(again.stream_id(), stream);
            // Another queue never draws the same id.
            let other = tempfile::tempdir().unwrap();
            assert_ne!(open(other.path(), other.path()).stream_id(), stream);
        }

        #[test]
        fn a_deleted_queue_starts_over_at_1_in_a_new_stream() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let mut store = open(dir.path(), markers.path());
            store.append(&fixes(3), 1).unwrap();
            let old = store.stream_id().to_owned();
            drop(store);
            std::fs::remove_dir_all(dir.path()).unwrap();
            let mut store = open(dir.path(), markers.path());
            assert_eq!(store.stream_start(), StreamStart::NewQueue);
            assert_ne!(store.stream_id(), old);
            assert_eq!(store.append(&fixes(1), 1).unwrap().seqs, vec![1]);
        }

        #[test]
        fn a_restored_copy_starts_a_new_stream_and_its_old_rows_keep_theirs() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let mut store = open(dir.path(), markers.path());
            store.append(&fixes(4), 1).unwrap();
            store.append_events(&[event()], 1).unwrap();
            let original = store.stream_id().to_owned();
            drop(store);
            // A backup carries the queue to a new phone, whose no-backup marker is absent.
            let (phone, phone_markers) =
                (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            std::fs::copy(
                dir.path().join(DATABASE_FILE),
                phone.path().join(DATABASE_FILE),
            )
            .unwrap();
            let mut copy = open(phone.path(), phone_markers.path());
            assert_eq!(copy.stream_start(), StreamStart::CopyDetected);
            assert_ne!(copy.stream_id(), original);
            copy.append(&fixes(2), 1).unwrap();
            copy.append_events(&[event()], 1).unwrap();

            // The copied rows go first, under the original's stream, where the server knows them
            // if the original sent them; the new rows follow in the new stream.
            let first = copy.peek_outgoing(100, 100).unwrap();
            assert_eq!(
                (first.stream.as_str(), first.current_stream),
                (original.as_str(), false)
            );
            assert_eq!(
                first.fixes.iter().map(|f| f.seq).collect::<Vec<_>>(),
                [1, 2, 3, 4]
            );
            assert_eq!(first.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1]);
            copy.delete_through(4).unwrap();
            copy.delete_events_through(1).unwrap();
            let second = copy.peek_outgoing(100, 100).unwrap();
            assert_eq!(
                (second.stream.as_str(), second.current_stream),
                (copy.stream_id(), true)
            );
            assert_eq!(
                second.fixes.iter().map(|f| f.seq).collect::<Vec<_>>(),
                [5, 6]
            );
            assert_eq!(second.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);

            // The original, with its marker, carries on undisturbed.
            let original_again = open(dir.path(), markers.path());
            assert_eq!(original_again.stream_start(), StreamStart::Continued);
            assert_eq!(original_again.stream_id(), original);
        }

        #[test]
        fn a_queue_rolled_back_behind_what_was_sent_starts_a_new_stream() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let snapshot = tempfile::tempdir().unwrap();
            let mut store = open(dir.path(), markers.path());
            store.append(&fixes(3), 1).unwrap();
            store
                .conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap();
            std::fs::copy(
                dir.path().join(DATABASE_FILE),
                snapshot.path().join(DATABASE_FILE),
            )
            .unwrap();
            store.append(&fixes(3), 1).unwrap();
            let before = store.mark_sending(Some((1, 6)), None).unwrap();
            assert_eq!(before.fixes, 0, "a first attempt");
            assert_eq!(store.mark_sending(Some((4, 7)), None).unwrap().fixes, 3);
            let stream = store.stream_id().to_owned();
            drop(store);
            // The older snapshot comes back (a restore, or power loss that dropped the tail).
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.path().join(format!("{DATABASE_FILE}{suffix}")));
            }
            std::fs::copy(
                snapshot.path().join(DATABASE_FILE),
                dir.path().join(DATABASE_FILE),
            )
            .unwrap();
            let mut store = open(dir.path(), markers.path());
            assert_eq!(store.stream_start(), StreamStart::RollbackDetected);
            assert_ne!(store.stream_id(), stream);
            // Numbers 4.. are handed out again, in a stream the server has never seen.
            assert_eq!(store.append(&fixes(1), 1).unwrap().seqs, vec![4]);
            let outgoing = store.peek_outgoing(100, 100).unwrap();
            assert_eq!(outgoing.stream, stream, "fixes 1-3 keep their stream");
        }

        #[test]
        fn a_missing_or_garbled_marker_is_no_proof_and_starts_a_new_stream() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let old = open(dir.path(), markers.path()).stream_id().to_owned();
            std::fs::write(markers.path().join(MARKER_FILE), "garbage").unwrap();
            let store = open(dir.path(), markers.path());
            assert_eq!(store.stream_start(), StreamStart::CopyDetected);
            assert_ne!(store.stream_id(), old);
        }

        #[test]
        fn a_queue_from_before_streams_keeps_its_rows_in_the_legacy_stream() {
            let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            {
                let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
                for sql in &crate::store::MIGRATIONS[..3] {
                    conn.execute_batch(sql).unwrap();
                }
                conn.pragma_update(None, "user_version", 3).unwrap();
                conn.execute(
                    "INSERT INTO fixes (time_ms, lat, lon, acc, provider, mock, stored_ms)
                     VALUES (1700000000000, 1.0, 2.0, 3.0, 0, 0, 5)",
                    [],
                )
                .unwrap();
            }
            let mut store = open(dir.path(), markers.path());
            assert_eq!(store.stream_start(), StreamStart::NewQueue);
            store.append(&fixes(1), 1).unwrap();
            let legacy = store.peek_outgoing(100, 100).unwrap();
            assert_eq!((legacy.stream.as_str(), legacy.fixes.len()), ("", 1));
            store.delete_through(1).unwrap();
            let current = store.peek_outgoing(100, 100).unwrap();
            assert_eq!(current.stream, store.stream_id());
            assert_eq!(current.fixes[0].seq, 2);
        }

        #[test]
        fn seeded_stream_ids_repeat_for_replays() {
            let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let seeded = |dir: &Path| {
                let options = StoreOptions {
                    stream_ids: StreamIds::Seeded(7),
                    ..StoreOptions::default()
                };
                Store::open_with(dir, &options)
                    .unwrap()
                    .store
                    .stream_id()
                    .to_owned()
            };
            assert_eq!(seeded(a.path()), seeded(b.path()));
        }
    }
}
