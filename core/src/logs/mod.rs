//! What support can ask a user for: the core's own log.
//!
//! The core writes through the `log` facade (`log::info!` and friends). Every record of a
//! `tracelet*` target reaches the tracker it belongs to ([`router`]), which keeps those at or
//! above its level in a bounded table beside the queue and hands those at or above the sink's
//! level to the app's [`LogSink`] ([`writer`]). [`export`] writes the table as a gzip file the
//! app can attach to a support email.
//!
//! Privacy: location history is personal data. No record at [`LogLevel::Info`] or above, and no
//! error message, ever holds a coordinate (a test drives real traces through a tracker and
//! searches every record for them); debug and trace lines hold none either, by the same rule.

use std::path::PathBuf;

use thiserror::Error;

pub(crate) mod export;
pub(crate) mod router;
pub(crate) mod writer;

/// The longest message kept; a longer one is cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 2048;

/// How important a record is, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl LogLevel {
    pub fn from_log(level: log::Level) -> LogLevel {
        match level {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }

    pub fn to_filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }

    /// The number stored in the table (1 = error … 5 = trace).
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: i64) -> Option<LogLevel> {
        Some(match code {
            1 => LogLevel::Error,
            2 => LogLevel::Warn,
            3 => LogLevel::Info,
            4 => LogLevel::Debug,
            5 => LogLevel::Trace,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }
}

/// Bounds and level of the on-device log. Past a bound the oldest records go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// Records below this level are not kept (they may still reach the app's sink).
    pub min_level: LogLevel,
    /// Bytes of messages and targets kept (plus a small per-record overhead).
    pub max_bytes: u64,
    /// Records older than this (steady time, so a clock change evicts nothing) are dropped.
    pub max_age_ms: i64,
}

impl Default for LogConfig {
    /// Info and above, for 7 days, in at most 1 MiB: some 10,000 records, far more than a week
    /// of tracking writes at info (a few dozen lines a day), and small beside the queue.
    fn default() -> Self {
        LogConfig {
            min_level: LogLevel::Info,
            max_bytes: 1024 * 1024,
            max_age_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// The smallest `max_bytes` accepted: room for a few long records.
pub const MIN_LOG_BYTES: u64 = 16 * 1024;

impl LogConfig {
    pub fn is_valid(&self) -> bool {
        self.max_bytes >= MIN_LOG_BYTES && self.max_age_ms > 0
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Wall-clock UTC milliseconds when it was logged.
    pub time_ms: i64,
    pub level: LogLevel,
    /// The module that logged it (`tracelet_core::tracker::uploader`…).
    pub target: String,
    pub message: String,
}

/// Where the app wants records as they happen (the platform's log, its own crash reporter).
/// Called on the log's own thread, never on the thread that logged, so it may be slow or call
/// back into the tracker without stalling tracking.
pub trait LogSink: Send + Sync {
    fn on_log(&self, record: LogRecord);
}

/// Why the log could not be exported. Nothing was written and the log is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LogError {
    /// The destination's directory does not exist.
    #[error("the directory of the export destination does not exist: {0}")]
    DestinationMissing(PathBuf),
    /// The destination names a directory, not a file.
    #[error("the export destination is a directory: {0}")]
    DestinationIsDirectory(PathBuf),
    #[error("cannot write the export: {0}")]
    Io(String),
    #[error("cannot read the log: {0}")]
    Storage(String),
    #[error("the log has shut down")]
    ShutDown,
    /// Bounds too small (under 16 KiB) or an age that is not positive; nothing changed.
    #[error("log bounds must allow at least 16 KiB and a positive age")]
    InvalidConfig,
}

#[cfg(test)]
mod tests;
