//! The same storage suite on every backend: SQLite, PostgreSQL with PostGIS, and PostgreSQL on
//! plain columns. Each runs a real collector on loopback and checks it over HTTP: stored once
//! per (device, stream, seq), read back exactly, cursor pagination everywhere, the fleet
//! queries (bounding box, radius) and retention.

mod common;

use std::net::SocketAddr;
use std::process::Command;

use common::cluster::{bin_dir, fresh_database};
use common::http::{READ_TOKEN, T0, TOKEN, batch, fix, get, get_json, post_ok};
use serde_json::{Value, json};
use tracelet_collector::{CollectorConfig, Postgis, RunningCollector, start};

async fn collector(database_url: Option<String>, postgis: Postgis) -> RunningCollector {
    start(CollectorConfig {
        read_token: Some(READ_TOKEN.into()),
        database_url,
        postgis,
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .expect("collector starts")
}

#[tokio::test]
async fn sqlite_passes_the_storage_suite() {
    let c = collector(None, Postgis::IfAvailable).await;
    suite(&c).await;
    c.stop().await;
}

#[tokio::test]
async fn postgres_with_postgis_passes_the_storage_suite() {
    let url = fresh_database();
    let c = collector(Some(url.clone()), Postgis::IfAvailable).await;
    assert!(
        c.uses_postgis(),
        "PostGIS is installed here (postgresql-15-postgis-3): the spatial path must be used"
    );
    suite(&c).await;
    c.stop().await;
    // The fleet queries' statement can run on the GiST index (a table this small would be
    // scanned, so scans are switched off to ask whether the index fits the query).
    let out = Command::new(bin_dir().join("psql"))
        .arg(&url)
        .args(["-tA", "-c", "SET enable_seqscan = off; EXPLAIN SELECT device FROM devices WHERE device > '' AND geom && ST_MakeEnvelope(13.0, 52.3, 13.6, 52.6, 4326) ORDER BY device LIMIT 10"])
        .output()
        .expect("psql");
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(plan.contains("devices_by_geom"), "{plan}");
}

#[tokio::test]
async fn postgres_on_plain_columns_passes_the_storage_suite() {
    let c = collector(Some(fresh_database()), Postgis::Never).await;
    assert!(!c.uses_postgis());
    suite(&c).await;
    c.stop().await;
}

/// The partitioning of `docs/deploy.md`, run as the document gives it, on a database the
/// collector created; then the whole suite on the partitioned tables.
#[tokio::test]
async fn postgres_partitioned_by_time_passes_the_storage_suite() {
    let url = fresh_database();
    collector(Some(url.clone()), Postgis::IfAvailable)
        .await
        .stop()
        .await;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/deploy.md"))
        .expect("docs/deploy.md");
    let block = doc
        .split("<!-- partitioning-sql -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /partitioning-sql -->").next())
        .expect("the partitioning block");
    let sql = block
        .trim()
        .trim_start_matches("```sql")
        .trim_end_matches("```");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), sql).expect("write");
    let psql = |args: &[&str]| {
        let out = Command::new(bin_dir().join("psql"))
            .arg(&url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-tA"])
            .args(args)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    psql(&["-f", &file.path().display().to_string()]);
    let kinds = psql(&[
        "-c",
        "SELECT string_agg(relkind::text, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('fixes', 'events')",
    ]);
    assert_eq!(kinds, "p,p", "both tables are partitioned");
    let c = collector(Some(url.clone()), Postgis::IfAvailable).await;
    suite(&c).await;
    // The suite ends with retention: one more fix, which must land in its month.
    let (body, key) = batch("june", "j1", 1, vec![fix(0, 1.0, 1.0)], vec![]);
    post_ok(c.addr, &body, &key).await;
    c.stop().await;
    let counts = psql(&[
        "-c",
        "SELECT (SELECT count(*) FROM fixes_2024_06) || ',' || (SELECT count(*) FROM fixes_default)",
    ]);
    assert_eq!(counts, "1,0", "rows go to their month's partition");
}

#[tokio::test]
async fn a_wrong_database_url_is_a_clear_error_without_the_password() {
    let refused = start(CollectorConfig {
        database_url: Some("postgres://tracelet:s3cret@127.0.0.1:1/none".into()),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await;
    let message = refused.err().expect("refused").to_string();
    assert!(message.contains("database unavailable"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
    let garbage = start(CollectorConfig {
        database_url: Some("postgres://a:b@host:notaport/db".into()),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await;
    let message = garbage.err().expect("refused").to_string();
    assert!(message.starts_with("--database-url"), "{message}");
    assert!(!message.contains("a:b"), "{message}");
}

async fn suite(c: &RunningCollector) {
    let addr = c.addr;
    stores_once_and_reads_back_exactly(addr).await;
    pages_every_list_by_cursor(addr).await;
    answers_the_fleet_queries(addr).await;
    keeps_the_latest_position_by_time(addr).await;
    retention_deletes_old_rows(c).await;
}

async fn stores_once_and_reads_back_exactly(addr: SocketAddr) {
    let mut annotated = fix(2, 52.5, 13.4);
    annotated["tr"] = json!("trip-1");
    annotated["x"] = json!({"driver": "ada"});
    annotated["al"] = json!(35.5);
    annotated["pr"] = json!("gps");
    annotated["mk"] = json!(true);
    let fixes = vec![
        fix(0, 52.5, 13.4),
        fix(1, 52.5001, 13.4001),
        annotated.clone(),
    ];
    let events = vec![json!({"s": 1, "t": T0, "k": "enter", "id": "home", "la": 52.5, "lo": 13.4})];
    let (body, key) = batch("once", "a1", 1, fixes, events);
    let first = post_ok(addr, &body, &key).await;
    assert_eq!(
        (
            first["accepted"].as_u64(),
            first["events_accepted"].as_u64()
        ),
        (Some(3), Some(1))
    );
    let again = post_ok(addr, &body, &key).await;
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(again["events_duplicates"].as_u64(), Some(1));
    // Overlapping: 2 and 3 are repeats, 4 is new. Another stream with seq 1 is a new fix.
    let (body, key) = batch(
        "once",
        "a1",
        2,
        vec![
            fix(1, 52.5001, 13.4001),
            annotated.clone(),
            fix(3, 52.6, 13.5),
        ],
        vec![],
    );
    let overlap = post_ok(addr, &body, &key).await;
    assert_eq!(
        (overlap["accepted"].as_u64(), overlap["duplicates"].as_u64()),
        (Some(1), Some(2))
    );
    let (body, key) = batch("once", "b2", 1, vec![fix(4, 52.7, 13.6)], vec![]);
    assert_eq!(
        post_ok(addr, &body, &key).await["accepted"].as_u64(),
        Some(1)
    );

    let page = get_json(addr, "/v1/devices/once/fixes").await;
    let stored = page["fixes"].as_array().expect("fixes");
    let keys: Vec<(String, u64)> = stored
        .iter()
        .map(|f| {
            (
                f["stream"].as_str().unwrap_or("?").to_owned(),
                f["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [("a1", 1), ("a1", 2), ("a1", 3), ("a1", 4), ("b2", 1)]
        .iter()
        .map(|(s, n)| ((*s).to_owned(), *n))
        .collect();
    assert_eq!(keys, expected);
    let third = &stored[2];
    for field in ["t", "la", "lo", "ac", "al", "pr", "mk", "tr", "x"] {
        assert_eq!(third[field], annotated[field], "{field}");
    }
    let cursors: Vec<u64> = stored
        .iter()
        .map(|f| f["cursor"].as_u64().unwrap_or(0))
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let events = get_json(addr, "/v1/devices/once/events").await;
    assert_eq!(events["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(events["events"][0]["id"], "home");
    let devices = get_json(addr, "/v1/devices").await;
    let once = &devices["devices"].as_array().expect("devices")[0];
    assert_eq!(
        (
            once["device"].as_str(),
            once["fixes"].as_u64(),
            once["events"].as_u64()
        ),
        (Some("once"), Some(5), Some(1))
    );
}

/// Follows `next` from `first_path` (which ends with a query string) until the last page.
async fn all_pages(addr: SocketAddr, first_path: &str, list: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut path = first_path.to_owned();
    loop {
        let page = get_json(addr, &path).await;
        pages += 1;
        items.extend(page[list].as_array().expect("list").iter().cloned());
        match page["next"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| page["next"].as_u64().map(|n| n.to_string()))
        {
            Some(next) => path = format!("{first_path}&after={next}"),
            None => return (items, pages),
        }
        assert!(pages < 100, "pagination does not end");
    }
}

async fn pages_every_list_by_cursor(addr: SocketAddr) {
    // Equal times on purpose: the (t, cursor) order must still page without repeats.
    let fixes: Vec<Value> = (0..7).map(|i| fix(i / 2, 40.0, 10.0)).collect();
    let events: Vec<Value> = (1..=5)
        .map(|s| json!({"s": s, "t": T0 + (s as i64 / 2) * 1000, "k": "exit", "id": format!("zone-{s}")}))
        .collect();
    let (body, key) = batch("paged", "p1", 1, fixes, events);
    post_ok(addr, &body, &key).await;
    for d in ["paged-a", "paged-b", "paged-c"] {
        let (body, key) = batch(d, "p1", 1, vec![fix(0, 1.0, 1.0)], vec![]);
        post_ok(addr, &body, &key).await;
    }
    let (fixes, pages) = all_pages(addr, "/v1/devices/paged/fixes?limit=3", "fixes").await;
    assert_eq!((fixes.len(), pages), (7, 3));
    let (track, pages) = all_pages(addr, "/v1/devices/paged/track?limit=2", "points").await;
    assert_eq!((track.len(), pages), (7, 4));
    let seqs: Vec<u64> = track
        .iter()
        .map(|p| p["seq"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    let (in_range, _) = all_pages(
        addr,
        &format!(
            "/v1/devices/paged/track?limit=1&from_ms={}&to_ms={}",
            T0 + 1000,
            T0 + 2000
        ),
        "points",
    )
    .await;
    assert_eq!(in_range.len(), 4);
    let (events, pages) =
        all_pages(addr, "/v1/devices/paged/events?limit=2&kind=exit", "events").await;
    assert_eq!((events.len(), pages), (5, 3));
    let (devices, _) = all_pages(addr, "/v1/devices?limit=1", "devices").await;
    let names: Vec<&str> = devices
        .iter()
        .filter_map(|d| d["device"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "devices come in id order");
    assert!(names.contains(&"paged-b"));
    let (status, _) = get(addr, "/v1/devices/paged/track?after=nonsense").await;
    assert_eq!(status, 400);
}

async fn answers_the_fleet_queries(addr: SocketAddr) {
    // Berlin Mitte, Potsdam (about 27 km away), Paris, and one in the Pacific.
    let places = [
        ("fleet-berlin", 52.5200, 13.4050),
        ("fleet-potsdam", 52.3906, 13.0645),
        ("fleet-paris", 48.8566, 2.3522),
        ("fleet-pacific", -10.0, -170.0),
    ];
    for (device, la, lo) in places {
        let (body, key) = batch(device, "f1", 1, vec![fix(0, la, lo)], vec![]);
        post_ok(addr, &body, &key).await;
    }
    let names = |items: &[Value]| {
        items
            .iter()
            .filter_map(|p| p["device"].as_str().map(str::to_owned))
            .filter(|d| d.starts_with("fleet-"))
            .collect::<Vec<_>>()
    };
    let (in_box, pages) = all_pages(
        addr,
        "/v1/positions?bbox=12.9,52.3,13.6,52.6&limit=1",
        "positions",
    )
    .await;
    assert_eq!(names(&in_box), ["fleet-berlin", "fleet-potsdam"]);
    assert_eq!(pages, 2);
    let (near, _) = all_pages(
        addr,
        "/v1/positions?near=52.52,13.405&radius_m=20000",
        "positions",
    )
    .await;
    assert_eq!(names(&near), ["fleet-berlin"]);
    assert!(near[0]["distance_m"].as_f64().is_some_and(|d| d < 1.0));
    let (near, _) = all_pages(
        addr,
        "/v1/positions?near=52.52,13.405&radius_m=30000&limit=1",
        "positions",
    )
    .await;
    assert_eq!(names(&near), ["fleet-berlin", "fleet-potsdam"]);
    let potsdam = near[1]["distance_m"].as_f64().expect("distance");
    assert!((25_000.0..29_000.0).contains(&potsdam), "{potsdam}");
    let (far, _) = all_pages(
        addr,
        "/v1/positions?near=48.0,2.0&radius_m=1000000",
        "positions",
    )
    .await;
    assert_eq!(
        names(&far),
        ["fleet-berlin", "fleet-paris", "fleet-potsdam"]
    );
    let (everywhere, _) = all_pages(
        addr,
        "/v1/positions?bbox=-180,-90,180,90&limit=500",
        "positions",
    )
    .await;
    assert!(names(&everywhere).contains(&"fleet-pacific".to_owned()));
    for bad in [
        "/v1/positions",
        "/v1/positions?bbox=1,2,3",
        "/v1/positions?near=52,13&radius_m=-1",
        "/v1/positions?near=100,13&radius_m=5",
    ] {
        assert_eq!(get(addr, bad).await.0, 400, "{bad}");
    }
}

async fn keeps_the_latest_position_by_time(addr: SocketAddr) {
    let (body, key) = batch("latest", "l1", 1, vec![fix(100, 10.0, 10.0)], vec![]);
    post_ok(addr, &body, &key).await;
    // Arrives later but was recorded earlier: not the latest position.
    let (body, key) = batch("latest", "l1", 2, vec![fix(50, 20.0, 20.0)], vec![]);
    post_ok(addr, &body, &key).await;
    let (near, _) = all_pages(addr, "/v1/positions?near=10,10&radius_m=1000", "positions").await;
    assert!(
        near.iter()
            .any(|p| p["device"] == "latest" && p["t"] == T0 + 100_000)
    );
    let (old, _) = all_pages(addr, "/v1/positions?near=20,20&radius_m=1000", "positions").await;
    assert!(old.iter().all(|p| p["device"] != "latest"));
    let latest = get_json(addr, "/v1/devices/latest/latest").await;
    assert_eq!(latest["la"], 10.0);
}

async fn retention_deletes_old_rows(c: &RunningCollector) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert_eq!(
        c.delete_received_before(now_ms - 3_600_000)
            .await
            .expect("retention"),
        0
    );
    assert!(!c.stored_fixes("once").await.expect("fixes").is_empty());
    let deleted = c
        .delete_received_before(now_ms + 60_000)
        .await
        .expect("retention");
    assert!(deleted >= 20, "{deleted}");
    assert!(c.stored_fixes("once").await.expect("fixes").is_empty());
    assert!(c.stored_events("once").await.expect("events").is_empty());
    let (everywhere, _) = all_pages(
        c.addr,
        "/v1/positions?bbox=-180,-90,180,90&limit=500",
        "positions",
    )
    .await;
    assert!(everywhere.is_empty(), "{everywhere:?}");
}
