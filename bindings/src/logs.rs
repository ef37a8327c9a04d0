//! The on-device log as Kotlin and Swift see it: the app's sink, the log's level and bounds,
//! the records, and the gzip export for a support email (`tracelet_core::logs`).

use std::path::PathBuf;
use std::sync::Arc;

use tracelet_core as core;

use crate::{CallbackError, Tracelet};

/// How important a record is, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One line of the log. Never holds a coordinate.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Wall-clock UTC milliseconds when it was logged.
    pub time_ms: i64,
    pub level: LogLevel,
    /// The part of the SDK that logged it (`tracelet_core::tracker::uploader`…).
    pub target: String,
    pub message: String,
}

/// The on-device log's level and bounds; past a bound the oldest records go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LogSettings {
    /// Records below this level are not kept (the sink has its own level).
    pub min_level: LogLevel,
    /// Bytes of messages kept (at least 16 KiB).
    #[uniffi(default = 1048576)]
    pub max_bytes: u64,
    /// Records older than this are dropped.
    #[uniffi(default = 604800000)]
    pub max_age_ms: i64,
}

/// Why a log call did nothing (an export wrote no file). The log is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum LogError {
    /// The directory of the destination does not exist.
    #[error("the directory of the export destination does not exist: {path}")]
    DestinationMissing { path: String },
    #[error("the export destination is a directory: {path}")]
    DestinationIsDirectory { path: String },
    /// Bounds too small (under 16 KiB) or an age that is not positive.
    #[error("invalid log settings: {reason}")]
    InvalidSettings { reason: String },
    /// Writing failed (a full disk), or the tracker has shut down.
    #[error("log export failed: {reason}")]
    Failed { reason: String },
}

/// Receives records as they are logged, on the log's own thread (never the thread that
/// logged). The platform layers attach the system log (`android.util.Log`, `os.Logger`).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    fn on_log(&self, record: LogRecord) -> Result<(), CallbackError>;
}

#[uniffi::export]
impl Tracelet {
    /// Hands every record at `min_level` or above to `sink`; `None` detaches it.
    pub fn set_log_sink(&self, sink: Option<Arc<dyn LogSink>>, min_level: LogLevel) {
        self.tracker.set_log_sink(
            sink.map(|s| Arc::new(SinkBridge(s)) as Arc<dyn core::LogSink>),
            min_level.into(),
        );
    }

    /// Changes the on-device log's level and bounds; a tighter bound evicts at once.
    pub fn set_log_settings(&self, settings: LogSettings) -> Result<(), LogError> {
        Ok(self.tracker.set_log_config(settings.into())?)
    }

    /// The on-device log, oldest first.
    pub fn log_records(&self) -> Result<Vec<LogRecord>, LogError> {
        Ok(self
            .tracker
            .log_records()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Writes the on-device log to `destination` (a file path whose directory exists) as
    /// gzip text; returns the number of records. On error nothing is written.
    pub fn export_logs(&self, destination: String) -> Result<u64, LogError> {
        Ok(self.tracker.export_logs(&PathBuf::from(destination))?)
    }
}

struct SinkBridge(Arc<dyn LogSink>);

impl core::LogSink for SinkBridge {
    fn on_log(&self, record: core::LogRecord) {
        // A sink that throws loses that record only; the log carries on.
        let _ = self.0.on_log(record.into());
    }
}

impl From<LogLevel> for core::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => core::LogLevel::Error,
            LogLevel::Warn => core::LogLevel::Warn,
            LogLevel::Info => core::LogLevel::Info,
            LogLevel::Debug => core::LogLevel::Debug,
            LogLevel::Trace => core::LogLevel::Trace,
        }
    }
}

impl From<core::LogLevel> for LogLevel {
    fn from(level: core::LogLevel) -> Self {
        match level {
            core::LogLevel::Error => LogLevel::Error,
            core::LogLevel::Warn => LogLevel::Warn,
            core::LogLevel::Info => LogLevel::Info,
            core::LogLevel::Debug => LogLevel::Debug,
            core::LogLevel::Trace => LogLevel::Trace,
        }
    }
}

impl From<core::LogRecord> for LogRecord {
    fn from(r: core::LogRecord) -> Self {
        LogRecord {
            time_ms: r.time_ms,
            level: r.level.into(),
            target: r.target,
            message: r.message,
        }
    }
}

impl From<LogSettings> for core::LogConfig {
    fn from(s: LogSettings) -> Self {
        core::LogConfig {
            min_level: s.min_level.into(),
            max_bytes: s.max_bytes,
            max_age_ms: s.max_age_ms,
        }
    }
}

impl From<core::LogError> for LogError {
    fn from(e: core::LogError) -> Self {
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        match e {
            core::LogError::DestinationMissing(p) => LogError::DestinationMissing { path: path(p) },
            core::LogError::DestinationIsDirectory(p) => {
                LogError::DestinationIsDirectory { path: path(p) }
            }
            e @ core::LogError::InvalidConfig => LogError::InvalidSettings {
                reason: e.to_string(),
            },
            e => LogError::Failed {
                reason: e.to_string(),
            },
        }
    }
}
