//! The on-device log against real SQLite files, real trackers and the bundled real traces.
//! Uploads go to transports written here (the end-to-end tests use the real collector).

use std::io::Read;
use std::sync::{Arc, Mutex};

use super::export::{line, utc_timestamp};
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::config::{ConfigError, TrackerConfig};
use crate::error::TrackerError;
use crate::fix::Fix;
use crate::geofence::Geofence;
use crate::privacy::{PrivacyAction, PrivacyZone};
use crate::store::logs::{LogTable, StoredLog};
use crate::store::{DATABASE_FILE, Store, StoreLimits};
use crate::test_traces::emission_day;
use crate::tracker::{NetworkState, Tracker};
use crate::upload::{Transport, TransportFuture, UploadRequest, UploadResponse};

const T0: i64 = 1_700_000_000_000;

/// Answers every upload with one status.
struct Answering(u16);

impl Transport for Answering {
    fn send(&self, _request: UploadRequest) -> TransportFuture<'_> {
        let status = self.0;
        Box::pin(async move {
            Ok(UploadResponse {
                status,
                ..UploadResponse::default()
            })
        })
    }
}

/// An app sink that keeps what it receives.
#[derive(Default)]
struct Collecting(Mutex<Vec<LogRecord>>);

impl LogSink for Collecting {
    fn on_log(&self, record: LogRecord) {
        self.0.lock().unwrap().push(record);
    }
}

impl Collecting {
    fn messages(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.message.clone())
            .collect()
    }
}

fn tracker_with(
    dir: &std::path::Path,
    clock: &Arc<ManualClock>,
    status: u16,
    edit: impl FnOnce(&mut TrackerConfig),
) -> Tracker {
    let mut config = TrackerConfig::new(
        "http://127.0.0.1:9/v1/batches",
        "dev-1",
        "tok",
        dir.to_owned(),
    );
    config.jitter_seed = Some(1);
    edit(&mut config);
    Tracker::with_transport(config, clock.clone(), Arc::new(Answering(status))).unwrap()
}

fn messages(tracker: &Tracker) -> Vec<String> {
    tracker
        .log_records()
        .unwrap()
        .into_iter()
        .map(|r| r.message)
        .collect()
}

fn has(messages: &[String], needle: &str) -> bool {
    messages.iter().any(|m| m.contains(needle))
}

fn record(time_ms: i64, steady_ms: i64, level: LogLevel, message: &str) -> StoredLog {
    StoredLog {
        record: LogRecord {
            time_ms,
            level,
            target: "tracelet_core::test".into(),
            message: message.into(),
        },
        steady_ms,
    }
}

fn table(dir: &std::path::Path) -> LogTable {
    Store::open(dir, StoreLimits::default()).unwrap();
    LogTable::open(&dir.join(DATABASE_FILE)).unwrap()
}

#[test]
fn past_the_size_bound_the_oldest_records_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table(dir.path());
    let limits = LogConfig {
        max_bytes: MIN_LOG_BYTES,
        ..LogConfig::default()
    };
    // 1,000 records of some 100 bytes each: about 6 times the bound.
    let body = "x".repeat(48);
    for i in 0..1_000 {
        let r = record(T0 + i, T0 + i, LogLevel::Info, &format!("{i:05} {body}"));
        table.append(&[r], &limits, T0 + i).unwrap();
    }
    assert!(table.bytes() <= limits.max_bytes, "{}", table.bytes());
    let kept = table.all().unwrap();
    assert!(kept.len() > 100 && kept.len() < 1_000, "{}", kept.len());
    // What is left is the newest run, unbroken, ending with the last record.
    assert!(kept.last().unwrap().message.starts_with("00999 "));
    let first: usize = kept[0].message[..5].parse().unwrap();
    assert_eq!(first + kept.len(), 1_000);
    // The running byte count matches what a fresh open counts.
    let reopened = LogTable::open(&dir.path().join(DATABASE_FILE)).unwrap();
    assert_eq!(reopened.bytes(), table.bytes());
}

#[test]
fn records_older_than_the_age_bound_go_by_steady_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = table(dir.path());
    let limits = LogConfig {
        max_age_ms: 3_600_000,
        ..LogConfig::default()
    };
    let old = record(T0, T0, LogLevel::Warn, "old");
    // Its wall time is far in the past (a clock set back): age is by steady time only.
    let recent = record(T0 - 86_400_000, T0 + 3_000_000, LogLevel::Warn, "recent");
    table
        .append(&[old, recent], &limits, T0 + 3_000_000)
        .unwrap();
    assert_eq!(table.all().unwrap().len(), 2);
    table.evict(&limits, T0 + 3_600_001).unwrap();
    let kept: Vec<String> = table
        .all()
        .unwrap()
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert_eq!(kept, ["recent"]);
}

#[test]
fn the_device_log_keeps_its_level_and_the_sink_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker_with(dir.path(), &clock, 200, |c| {
        c.logs.min_level = LogLevel::Warn;
    });
    let sink = Arc::new(Collecting::default());
    tracker.set_log_sink(Some(sink.clone()), LogLevel::Debug);
    tracker.start().unwrap();
    clock.advance_ms(1_000);
    tracker
        .record(Fix::new(clock.now_ms(), 48.85, 2.35, 5.0))
        .unwrap();
    let stored = tracker.log_records().unwrap();
    // Info lines (tracking started) reach the sink but not the device log, which keeps
    // warnings and errors only.
    assert!(
        stored.iter().all(|r| r.level <= LogLevel::Warn),
        "{stored:?}"
    );
    let seen = sink.messages();
    assert!(has(&seen, "tracking started"), "{seen:?}");
    assert!(has(&seen, "recorded fixes: 1 stored"), "{seen:?}");
    // Lowering the device log's level takes effect at once; detaching the sink stops it.
    tracker
        .set_log_config(LogConfig {
            min_level: LogLevel::Info,
            ..LogConfig::default()
        })
        .unwrap();
    tracker.set_log_sink(None, LogLevel::Trace);
    let before = sink.messages().len();
    tracker.stop().unwrap();
    assert!(has(&messages(&tracker), "tracking stopped"));
    assert_eq!(sink.messages().len(), before);
}

#[test]
fn records_reach_the_log_of_the_tracker_that_made_them() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let clock = Arc::new(ManualClock::new(T0));
    let a = tracker_with(dir_a.path(), &clock, 200, |_| {});
    let b = tracker_with(dir_b.path(), &clock, 200, |_| {});
    a.start().unwrap();
    b.set_network(NetworkState {
        connected: false,
        unmetered: false,
    });
    let (in_a, in_b) = (messages(&a), messages(&b));
    assert!(has(&in_a, "tracking started"), "{in_a:?}");
    assert!(!has(&in_a, "network: none"), "{in_a:?}");
    assert!(has(&in_b, "network: none"), "{in_b:?}");
    assert!(!has(&in_b, "tracking started"), "{in_b:?}");
}

#[test]
fn the_log_outlives_a_restart_and_tells_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker_with(dir.path(), &clock, 200, |_| {});
    tracker.start().unwrap();
    drop(tracker);
    clock.advance_ms(60_000);
    let reopened = tracker_with(dir.path(), &clock, 200, |_| {});
    let log = messages(&reopened);
    let opened: Vec<&String> = log
        .iter()
        .filter(|m| m.starts_with("tracker opened"))
        .collect();
    assert_eq!(opened.len(), 2, "{log:?}");
    assert!(opened[1].contains("resumed after a restart"), "{log:?}");
    assert!(has(&log, "tracker closing"), "{log:?}");
    assert!(has(
        &log,
        "steady time resumed 60 s after the last mark (same boot)"
    ));
}

#[test]
fn a_changed_wall_clock_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker_with(dir.path(), &clock, 200, |_| {});
    tracker.start().unwrap();
    clock.step_ms(-3 * 3_600_000);
    tracker.tick();
    assert!(has(&messages(&tracker), "wall clock changed by -10800 s"));
}

#[test]
fn uploads_failures_backoff_and_dead_letters_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let failing = tracker_with(dir.path(), &clock, 503, |_| {});
    failing.start().unwrap();
    clock.advance_ms(1_000);
    failing
        .record(Fix::new(clock.now_ms(), 48.85, 2.35, 5.0))
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(rt.block_on(failing.flush()).is_err());
    let log = messages(&failing);
    assert!(has(&log, "upload attempt: 1 fixes (seq 1-1)"), "{log:?}");
    assert!(
        has(
            &log,
            "upload failed (server answered 503): attempt 1 in a row, retry in"
        ),
        "{log:?}"
    );
    drop(failing);
    let refusing = tracker_with(dir.path(), &clock, 400, |_| {});
    rt.block_on(refusing.flush()).unwrap();
    let log = messages(&refusing);
    assert!(has(
        &log,
        "batch dead-lettered: the server refused it with HTTP 400"
    ));
}

#[test]
fn export_writes_a_readable_gzip_of_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker_with(dir.path(), &clock, 200, |_| {});
    tracker.start().unwrap();
    let out = tempfile::tempdir().unwrap();
    let destination = out.path().join("support.log.gz");
    let stored = tracker.log_records().unwrap();
    let written = tracker.export_logs(&destination).unwrap();
    assert_eq!(written, stored.len() as u64);
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&destination).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# Tracelet "), "{text}");
    assert!(lines[0].contains(&format!("{} records", stored.len())));
    assert_eq!(&lines[1..], stored.iter().map(line).collect::<Vec<_>>());
    assert!(
        text.contains("2023-11-14T22:13:20.000Z INFO tracelet_core::tracker: tracking started"),
        "{text}"
    );
    // Only the file itself: the temporary one was renamed into place.
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
}

#[test]
fn export_into_a_missing_directory_is_a_typed_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker_with(dir.path(), &clock, 200, |_| {});
    tracker.start().unwrap();
    let before = tracker.log_records().unwrap();
    let missing = dir.path().join("no-such-dir");
    assert_eq!(
        tracker.export_logs(&missing.join("support.log.gz")),
        Err(LogError::DestinationMissing(missing.clone()))
    );
    assert!(!missing.exists());
    assert_eq!(
        tracker.export_logs(dir.path()),
        Err(LogError::DestinationIsDirectory(dir.path().to_owned()))
    );
    assert_eq!(tracker.log_records().unwrap(), before);
}

#[test]
fn bounds_too_small_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1", "dev-1", "tok", dir.path());
    config.logs.max_bytes = 100;
    assert!(matches!(
        Tracker::with_transport(config, clock.clone(), Arc::new(Answering(200))),
        Err(TrackerError::InvalidConfig(ConfigError::BadLogConfig))
    ));
    let tracker = tracker_with(dir.path(), &clock, 200, |_| {});
    let bad_age = LogConfig {
        max_age_ms: 0,
        ..LogConfig::default()
    };
    assert_eq!(
        tracker.set_log_config(bad_age),
        Err(LogError::InvalidConfig)
    );
    tracker.start().unwrap();
    assert!(has(&messages(&tracker), "tracking started"));
}

#[test]
fn timestamps_are_utc_calendar_dates() {
    assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(utc_timestamp(T0), "2023-11-14T22:13:20.000Z");
    assert_eq!(utc_timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(utc_timestamp(-1), "1969-12-31T23:59:59.999Z");
}

// ---- No coordinates in the log ---------------------------------------------------------------

/// Ways a coordinate could be written: as Rust prints it, to 3-7 decimals (with a point or a
/// comma), in the wire format's 1e7 and 1e6 integers.
fn renderings(value: f64) -> Vec<String> {
    let mut out = vec![format!("{value}")];
    for decimals in 3..=7 {
        let fixed = format!("{value:.decimals$}");
        out.push(fixed.replace('.', ","));
        out.push(fixed);
    }
    out.push(format!("{}", (value * 1e7).round() as i64));
    out.push(format!("{}", (value * 1e6).round() as i64));
    out
}

#[test]
fn a_real_day_of_tracking_logs_no_coordinate_at_any_level() {
    let dir = tempfile::tempdir().unwrap();
    let fixes = emission_day();
    let clock = Arc::new(ManualClock::new(fixes[0].time_ms));
    // Uploads fail at first (backoff lines), then succeed.
    let tracker = tracker_with(dir.path(), &clock, 503, |c| {
        c.logs.min_level = LogLevel::Trace;
        c.upload.batch_trigger_count = 50;
    });
    let sink = Arc::new(Collecting::default());
    tracker.set_log_sink(Some(sink.clone()), LogLevel::Trace);
    let home = &fixes[fixes.len() / 2];
    tracker
        .set_privacy_zones(vec![PrivacyZone {
            id: "home".into(),
            latitude_deg: home.latitude_deg,
            longitude_deg: home.longitude_deg,
            radius_m: 150.0,
            action: PrivacyAction::Coarsen,
        }])
        .unwrap();
    tracker
        .add_geofences(vec![Geofence::circle(
            "work",
            fixes[0].latitude_deg,
            fixes[0].longitude_deg,
            200.0,
        )])
        .unwrap();
    tracker.start().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (i, fix) in fixes.iter().enumerate() {
        clock.set_ms(fix.time_ms.max(clock.now_ms()) + 1_000);
        tracker.tick();
        let _ = tracker.record(fix.clone());
        if i % 200 == 199 {
            let _ = rt.block_on(tracker.flush());
        }
    }
    clock.advance_ms(30 * 60_000);
    tracker.tick();
    let records = tracker.log_records().unwrap();
    let sunk = sink.0.lock().unwrap().clone();
    assert!(records.len() > 50, "{}", records.len());
    assert!(
        has(&messages(&tracker), "motion: Stationary"),
        "the day must reach a stop"
    );
    let mut needles: Vec<String> = fixes
        .iter()
        .flat_map(|f| {
            renderings(f.latitude_deg)
                .into_iter()
                .chain(renderings(f.longitude_deg))
        })
        .collect();
    needles.sort();
    needles.dedup();
    for record in records.iter().chain(&sunk) {
        let text = format!("{} {}", record.target, record.message);
        for needle in &needles {
            assert!(!text.contains(needle.as_str()), "{needle} in {record:?}");
        }
    }
}
