//! What the tracker reports about its work: its [`Status`], upload outcomes and what a record
//! or a flush achieved.

use crate::error::TrackerError;
use crate::filter::RejectReason;
use crate::policy::MotionState;

/// The network as the platform layer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NetworkState {
    pub connected: bool,
    /// Wi-Fi or Ethernet rather than cellular.
    pub unmetered: bool,
}

/// The result of the most recent upload attempt.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum UploadOutcome {
    Delivered {
        fixes: u64,
        at_ms: i64,
    },
    Failed {
        reason: String,
        at_ms: i64,
        retry_at_ms: i64,
    },
    DeadLettered {
        http_status: u16,
        at_ms: i64,
    },
}

/// A snapshot of the tracker's state and counters since it was configured.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "TraceletStatus"))]
pub struct Status {
    pub tracking: bool,
    pub pending_count: u64,
    pub accepted_total: u64,
    pub rejected_total: u64,
    pub uploaded_total: u64,
    /// Request bodies of delivered batches, as sent (gzip).
    pub uploaded_bytes: u64,
    pub dead_lettered_total: u64,
    pub evicted_total: u64,
    pub upload_attempts: u64,
    /// Batches whose first attempt the server answered with duplicates ([`crate::Event::DeliveryAnomaly`]).
    pub delivery_anomalies: u64,
    /// The queue database was found corrupt at open and replaced.
    pub storage_recovered: bool,
    pub motion_state: Option<MotionState>,
    /// Refused fixes by reason name, in name order.
    pub rejected_by_reason: Vec<ReasonCount>,
    pub last_upload: Option<UploadOutcome>,
    /// Fixes a privacy zone dropped, or stored at its centre, since the tracker was opened.
    pub privacy_dropped_total: u64,
    pub privacy_coarsened_total: u64,
    /// What the tracking schedule says now; `None` without a schedule.
    pub schedule: Option<crate::tracking_schedule::ScheduleState>,
}

/// How many fixes were refused for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReasonCount {
    /// The stable short name ([`crate::RejectReason::name`], or a validation rule's).
    pub reason: String,
    pub count: u64,
}

/// What a completed flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "FlushResult"))]
pub struct FlushReport {
    pub uploaded: u64,
    pub batches: u64,
    pub pending: u64,
}

/// Result of recording several fixes at once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchRecord {
    /// Sequence numbers of the fixes stored, in input order.
    pub accepted: Vec<u64>,
    /// Index in the input and error, for each invalid fix.
    pub rejected: Vec<(usize, TrackerError)>,
    /// Index in the input and reason, for each valid fix the filter did not keep.
    pub filtered: Vec<(usize, RejectReason)>,
}

/// What happened to one recorded fix that was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RecordOutcome {
    Stored {
        seq: u64,
    },
    /// Valid, but the filter judged it a bad fix (a jump, a duplicate, too vague…).
    Filtered {
        reason: RejectReason,
    },
}
