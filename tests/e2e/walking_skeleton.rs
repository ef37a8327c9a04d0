//! The walking skeleton's Rust acceptance test: fixes travel through the real `Tracker`, its
//! SQLite queue and reqwest, to the real collector on loopback, exactly once and in order.

use tracelet_core::protocol::wire_fix;
use tracelet_core::{Fix, TrackerError};
use tracelet_tests::{now_ms, start_collector, tracker_for, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_fixes_arrive_once_each_in_order() {
    let collector = start_collector().await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker_for(&collector, "rust-e2e", dir.path());
    let fixes = walk(now_ms() - 2_000_000, 1000);

    for fix in &fixes {
        tracker.record(fix.clone()).unwrap();
    }
    let report = tracker.flush().await.unwrap();
    assert_eq!(report.pending, 0);

    let stored = collector.fixes("rust-e2e").unwrap();
    assert_eq!(stored.len(), 1000);
    let seqs: Vec<u64> = stored.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    for (row, sent) in stored.iter().zip(&fixes) {
        assert_eq!(row.fix, wire_fix(sent));
    }
    let stats = collector.stats();
    assert_eq!(stats.fixes_accepted, 1000);
    assert_eq!(stats.duplicates, 0);
    let status = tracker.status();
    assert_eq!((status.accepted_total, status.uploaded_total), (1000, 1000));
    assert_eq!(status.pending_count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_fix_is_a_typed_error_and_loses_nothing_accepted() {
    let collector = start_collector().await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker_for(&collector, "rust-bad-input", dir.path());
    let good = walk(now_ms() - 10_000, 2);
    tracker.record(good[0].clone()).unwrap();
    let bad = Fix {
        latitude_deg: f64::NAN,
        ..good[1].clone()
    };
    let err = tracker.record(bad).unwrap_err();
    assert!(matches!(err, TrackerError::InvalidFix(_)), "{err:?}");
    tracker.record(good[1].clone()).unwrap();
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("rust-bad-input").unwrap().len(), 2);
    assert_eq!(tracker.status().rejected_total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_queued_while_the_server_is_down_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fixes = walk(now_ms() - 100_000, 50);
    let down = start_collector().await;
    let dead_url = down.ingest_url();
    down.stop().await;
    {
        let config = tracelet_core::TrackerConfig::new(
            dead_url,
            "rust-offline",
            tracelet_tests::TOKEN,
            dir.path(),
        );
        let tracker =
            tracelet_core::Tracker::new(config, std::sync::Arc::new(tracelet_core::SystemClock))
                .unwrap();
        tracker.start().unwrap();
        for fix in &fixes {
            tracker.record(fix.clone()).unwrap();
        }
        assert!(matches!(
            tracker.flush().await,
            Err(TrackerError::Upload(_))
        ));
        assert_eq!(tracker.status().pending_count, 50);
    }
    let collector = start_collector().await;
    let tracker = tracker_for(&collector, "rust-offline", dir.path());
    assert_eq!(tracker.status().pending_count, 50);
    tracker.flush().await.unwrap();
    let stored = collector.fixes("rust-offline").unwrap();
    assert_eq!(stored.len(), 50);
    assert_eq!(stored.first().map(|r| r.seq), Some(1));
}
