//! The tracker's side of the on-device log (`crate::logs`): the app's sink, the bounds, the
//! export; and the wall-clock watch that tells support when the phone's clock was changed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Shared, Tracker};
use crate::logs::router::{self, Scope};
use crate::logs::{LogConfig, LogError, LogLevel, LogRecord, LogSink};
use crate::steady::Now;

/// A wall clock that moved this much against steady time was changed (by the user, the
/// network); smaller drift is ordinary clock discipline.
const CLOCK_STEP_MS: i64 = 60_000;

impl Tracker {
    /// Hands every record at `level` or above to `sink` as it is logged (on the log's own
    /// thread); `None` detaches it. The platform layers attach the system log by default.
    pub fn set_log_sink(&self, sink: Option<Arc<dyn LogSink>>, level: LogLevel) {
        self.shared.logs.set_sink(sink, level);
    }

    /// Changes the on-device log's level and bounds; a tighter bound evicts at once.
    pub fn set_log_config(&self, config: LogConfig) -> Result<(), LogError> {
        if !config.is_valid() {
            return Err(LogError::InvalidConfig);
        }
        self.shared.logs.set_config(config);
        Ok(())
    }

    /// The on-device log, oldest first, including what was logged just before the call.
    pub fn log_records(&self) -> Result<Vec<LogRecord>, LogError> {
        self.shared.logs.records()
    }

    /// Writes the on-device log to `destination` as a gzip file (the directory must exist);
    /// returns the number of records. On error nothing is written and the log is unchanged.
    pub fn export_logs(&self, destination: &Path) -> Result<u64, LogError> {
        let _log = self.shared.log_scope();
        let written = self.shared.logs.export(destination)?;
        log::info!("log exported: {written} records");
        Ok(written)
    }

    /// Log records lost to a burst faster than the writer (counted, not stored).
    pub fn logs_dropped(&self) -> u64 {
        self.shared.logs.dropped()
    }
}

impl Shared {
    /// Records logged on this thread belong to this tracker until the scope ends.
    pub(super) fn log_scope(&self) -> Scope {
        router::enter(&self.logs)
    }

    /// Logs a change of the wall clock against steady time (what a support engineer needs to
    /// read the times of a log or a queue).
    pub(super) fn notice_clock(&self, now: Now) {
        let offset = now.wall_ms.saturating_sub(now.steady_ms);
        let before = self.wall_offset_ms.swap(offset, Ordering::Relaxed);
        let step = offset.saturating_sub(before);
        if step.abs() >= CLOCK_STEP_MS {
            log::info!("wall clock changed by {} s", step / 1000);
        }
    }
}
