//! One tracker's log: the levels it keeps, and the thread that writes its table and feeds the
//! app's sink.
//!
//! Buffering: the thread that logs only formats the record and hands it over a bounded channel
//! (no SQLite, no foreign code on the fix path). The writer thread wakes at once, takes every
//! record waiting and stores them in one transaction, so a crash loses only what was still in
//! the channel: the records of the last millisecond or so, not a batch held back on purpose.
//! A full channel (a burst of thousands of records) drops the newest and counts them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use super::{LogConfig, LogError, LogLevel, LogRecord, LogSink, MAX_MESSAGE_BYTES, export};
use crate::clock::Clock;
use crate::steady::SteadyClock;
use crate::store::logs::{LogTable, StoredLog};

/// Records waiting for the writer; past this a burst loses its newest records.
const CHANNEL_RECORDS: usize = 1024;
/// Most records stored in one transaction.
const MAX_BATCH: usize = 256;
/// How long dropping a log waits for its writer to store what is left.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(2);
/// Stack of the writer, which runs the app's sink (the JVM or Swift runtime on top).
const WRITER_STACK_BYTES: usize = 1024 * 1024;
/// Level code meaning "nothing" (no sink attached).
const OFF: u8 = 0;

enum Message {
    Record(StoredLog),
    SetSink(Option<Arc<dyn LogSink>>, LogLevel),
    SetConfig(LogConfig),
    Read(SyncSender<Result<Vec<LogRecord>, LogError>>),
    Export(PathBuf, SyncSender<Result<u64, LogError>>),
}

/// A tracker's log, as the router sees it.
pub(crate) struct LogHub {
    clock: Arc<dyn Clock>,
    steady: Arc<SteadyClock>,
    /// The on-device log's level code; records below it are not stored.
    store_level: AtomicU8,
    /// The sink's level code, or `OFF` without a sink.
    sink_level: AtomicU8,
    sender: Mutex<Option<SyncSender<Message>>>,
    finished: Mutex<Receiver<()>>,
    writer: ThreadId,
    dropped: AtomicU64,
}

impl LogHub {
    /// Starts the writer on the table in `database`.
    pub(crate) fn start(
        database: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        steady: Arc<SteadyClock>,
    ) -> Result<Arc<LogHub>, LogError> {
        let table = LogTable::open(database).map_err(|e| LogError::Storage(e.to_string()))?;
        let (sender, receiver) = sync_channel(CHANNEL_RECORDS);
        let (finished_tx, finished) = std::sync::mpsc::channel();
        let writer_steady = Arc::clone(&steady);
        let writer = std::thread::Builder::new()
            .name("tracelet-log".into())
            .stack_size(WRITER_STACK_BYTES)
            .spawn(move || {
                Writer {
                    table,
                    config,
                    sink: None,
                    sink_level: LogLevel::Info,
                    steady: writer_steady,
                }
                .run(&receiver);
                let _ = finished_tx.send(());
            })
            .map_err(|e| LogError::Io(format!("cannot start the log thread: {e}")))?;
        let hub = Arc::new(LogHub {
            clock,
            steady,
            store_level: AtomicU8::new(config.min_level.code()),
            sink_level: AtomicU8::new(OFF),
            sender: Mutex::new(Some(sender)),
            finished: Mutex::new(finished),
            writer: writer.thread().id(),
            dropped: AtomicU64::new(0),
        });
        super::router::register(&hub);
        Ok(hub)
    }

    /// The most detailed level this log wants, for the process-wide filter.
    pub(crate) fn threshold(&self) -> u8 {
        self.store_level
            .load(Ordering::Relaxed)
            .max(self.sink_level.load(Ordering::Relaxed))
    }

    /// Takes a record the router sent here (already known to be of a `tracelet*` target).
    pub(crate) fn accept(&self, record: &log::Record<'_>) {
        let level = LogLevel::from_log(record.level());
        if level.code() > self.threshold() {
            return;
        }
        let mut message = record.args().to_string();
        truncate(&mut message, MAX_MESSAGE_BYTES);
        let stored = StoredLog {
            record: LogRecord {
                time_ms: self.clock.now_ms(),
                level,
                target: record.target().to_owned(),
                message,
            },
            steady_ms: self.steady.now_ms(),
        };
        if self.try_send(Message::Record(stored)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records lost to a full channel since the tracker started.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(crate) fn set_sink(&self, sink: Option<Arc<dyn LogSink>>, level: LogLevel) {
        let code = if sink.is_some() { level.code() } else { OFF };
        let _ = self.send(Message::SetSink(sink, level));
        self.sink_level.store(code, Ordering::Relaxed);
        super::router::refresh_max_level();
    }

    pub(crate) fn set_config(&self, config: LogConfig) {
        self.store_level
            .store(config.min_level.code(), Ordering::Relaxed);
        let _ = self.send(Message::SetConfig(config));
        super::router::refresh_max_level();
    }

    /// Every stored record, oldest first, including those logged just before (the writer
    /// stores, and hands to the sink, everything sent before it answers).
    pub(crate) fn records(&self) -> Result<Vec<LogRecord>, LogError> {
        let (reply, answer) = sync_channel(1);
        self.send(Message::Read(reply))?;
        answer.recv().map_err(|_| LogError::ShutDown)?
    }

    /// Writes the log to `destination` as gzip; returns the number of records written.
    pub(crate) fn export(&self, destination: &Path) -> Result<u64, LogError> {
        export::check_destination(destination)?;
        let (reply, answer) = sync_channel(1);
        self.send(Message::Export(destination.to_owned(), reply))?;
        answer.recv().map_err(|_| LogError::ShutDown)?
    }

    fn try_send(&self, message: Message) -> Result<(), TrySendError<Message>> {
        let sender = lock(&self.sender).clone();
        match sender {
            Some(sender) => sender.try_send(message),
            None => Err(TrySendError::Disconnected(message)),
        }
    }

    /// Sends a control message, waiting for room (they are rare and must not be lost).
    fn send(&self, message: Message) -> Result<(), LogError> {
        let sender = lock(&self.sender).clone().ok_or(LogError::ShutDown)?;
        sender.send(message).map_err(|_| LogError::ShutDown)
    }
}

impl Drop for LogHub {
    /// Lets the writer store what is left, waiting a bounded time (a sink may hang).
    fn drop(&mut self) {
        super::router::refresh_max_level();
        lock(&self.sender).take();
        // Never wait for itself: an app sink holding the last reference to its tracker drops
        // it on the writer. Past the deadline the writer ends on its own once its sink returns.
        if std::thread::current().id() != self.writer {
            let _ = lock(&self.finished).recv_timeout(SHUTDOWN_DEADLINE);
        }
    }
}

struct Writer {
    table: LogTable,
    config: LogConfig,
    sink: Option<Arc<dyn LogSink>>,
    sink_level: LogLevel,
    steady: Arc<SteadyClock>,
}

impl Writer {
    fn run(mut self, receiver: &Receiver<Message>) {
        let mut batch = Vec::new();
        while let Ok(first) = receiver.recv() {
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Record(record) => batch.push(record),
                    other => {
                        self.store(&mut batch);
                        self.handle(other);
                    }
                }
                if batch.len() < MAX_BATCH {
                    next = receiver.try_recv().ok();
                }
            }
            self.store(&mut batch);
        }
        self.store(&mut batch);
    }

    fn store(&mut self, batch: &mut Vec<StoredLog>) {
        if batch.is_empty() {
            return;
        }
        let kept: Vec<StoredLog> = batch
            .iter()
            .filter(|s| s.record.level <= self.config.min_level)
            .cloned()
            .collect();
        if !kept.is_empty() {
            // A failed write (a full disk) loses these records, never a fix: the log yields.
            let _ = self.table.append(&kept, &self.config, self.steady.now_ms());
        }
        if let Some(sink) = &self.sink {
            for stored in batch.drain(..) {
                if stored.record.level <= self.sink_level {
                    sink.on_log(stored.record);
                }
            }
        }
        batch.clear();
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Record(_) => {}
            Message::SetSink(sink, level) => {
                self.sink = sink;
                self.sink_level = level;
            }
            Message::SetConfig(config) => {
                self.config = config;
                let _ = self.table.evict(&self.config, self.steady.now_ms());
            }
            Message::Read(reply) => {
                let _ = reply.send(
                    self.table
                        .all()
                        .map_err(|e| LogError::Storage(e.to_string())),
                );
            }
            Message::Export(destination, reply) => {
                let result = self
                    .table
                    .all()
                    .map_err(|e| LogError::Storage(e.to_string()))
                    .and_then(|records| export::write_gzip(&destination, &records));
                let _ = reply.send(result);
            }
        }
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary.
fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
