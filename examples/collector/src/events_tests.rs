//! Events, trip ids and extras (the extension of protocol v1 for geofences, trips and
//! metadata), over real HTTP on loopback with the collector's real SQLite.

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use tracelet_protocol::wire::IngestResponse;

use crate::RunningCollector;
use crate::live_tests::{DEADLINE, T0, TOKEN, collector, json, request, subscribe};

/// Posts `body` as JSON with its own `batch` as the Idempotency-Key; returns (status, answer).
async fn post(collector: &RunningCollector, body: &Value) -> (u16, Value) {
    let key = body["batch"].as_str().unwrap_or("none").to_owned();
    post_with_key(collector, body, &key).await
}

async fn post_with_key(collector: &RunningCollector, body: &Value, key: &str) -> (u16, Value) {
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {key}"
    );
    let (status, answer) = request(collector, &head, &body.to_string()).await;
    (status, json(&answer))
}

async fn get(collector: &RunningCollector, path: &str) -> (u16, Value) {
    let (status, body) = request(collector, &format!("GET {path} HTTP/1.1"), "").await;
    (status, json(&body))
}

fn fix(dt: i64) -> Value {
    json!({"t": T0 + dt, "la": 52.52, "lo": 13.405, "ac": 5.0})
}

/// A geofence event at a position.
fn geofence(s: u64, kind: &str, id: &str, dt: i64) -> Value {
    json!({"s": s, "t": T0 + dt, "k": kind, "id": id, "la": 52.5201, "lo": 13.4049})
}

fn batch(device: &str, id: &str, first_seq: u64, fixes: Vec<Value>, events: Vec<Value>) -> Value {
    json!({"v": 1, "device": device, "batch": id, "first_seq": first_seq,
           "fixes": fixes, "events": events})
}

fn kinds(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["k"].as_str().expect("k").to_owned())
        .collect()
}

#[tokio::test]
async fn an_events_only_batch_is_accepted_and_stored() {
    let collector = collector().await;
    let body = batch(
        "ev-only",
        "e1-3",
        0,
        vec![],
        vec![
            geofence(1, "enter", "home", 1_000),
            json!({"s": 2, "t": T0 + 2_000, "k": "dwell", "id": "home", "la": 52.5202,
                   "lo": 13.405, "m": {"name": "Home"}}),
            geofence(3, "exit", "home", 3_000),
        ],
    );
    let (status, answer) = post(&collector, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"accepted": 0, "duplicates": 0, "events_accepted": 3})
    );

    let stored = collector.events("ev-only").expect("events");
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1].event.k, "dwell");
    assert_eq!(
        stored[1].event.m.get("name").map(String::as_str),
        Some("Home")
    );
    assert!(collector.fixes("ev-only").expect("fixes").is_empty());

    let (status, page) = get(&collector, "/v1/devices/ev-only/events").await;
    assert_eq!(status, 200);
    assert_eq!(page["device"], "ev-only");
    assert_eq!(page["truncated"], false);
    assert_eq!(kinds(&page), ["enter", "dwell", "exit"]);
    let enter = &page["events"][0];
    assert_eq!(enter["s"], 1);
    assert_eq!(enter["t"], T0 + 1_000);
    assert_eq!(enter["id"], "home");
    assert_eq!(enter["la"], 52.5201);
    assert_eq!(enter["lo"], 13.4049);
    assert!(enter["received_ms"].is_i64());
    assert!(enter.get("m").is_none(), "empty metadata is omitted");
    assert_eq!(page["events"][1]["m"], json!({"name": "Home"}));

    // A device with events but no fixes is listed, without a last fix time.
    let (_, devices) = get(&collector, "/v1/devices").await;
    assert_eq!(
        devices["devices"],
        json!([{"device": "ev-only", "fixes": 0, "events": 3, "metadata": {}}])
    );
    let (status, _) = get(&collector, "/v1/devices/ev-only/latest").await;
    assert_eq!(status, 404);
    assert_eq!(collector.stats().events_accepted, 3);
    collector.stop().await;
}

#[tokio::test]
async fn a_repeated_batch_counts_duplicates_and_stores_nothing_twice() {
    let collector = collector().await;
    let body = batch(
        "ev-repeat",
        "1-2.e4-7",
        1,
        vec![fix(1_000), fix(2_000)],
        vec![
            geofence(4, "enter", "office", 1_000),
            // Event numbers in one batch increase but need not be contiguous.
            geofence(7, "exit", "office", 2_000),
        ],
    );
    let (status, first) = post(&collector, &body).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first,
        json!({"accepted": 2, "duplicates": 0, "events_accepted": 2})
    );
    let (status, again) = post(&collector, &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again,
        json!({"accepted": 0, "duplicates": 2, "events_duplicates": 2})
    );

    // An overlapping batch: one old event, one new, the first write wins.
    let overlap = batch(
        "ev-repeat",
        "e7-8",
        0,
        vec![],
        vec![
            json!({"s": 7, "t": T0 + 9_000, "k": "enter", "id": "elsewhere"}),
            json!({"s": 8, "t": T0 + 10_000, "k": "device", "m": {"fleet": "north"}}),
        ],
    );
    let (status, answer) = post(&collector, &overlap).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["events_accepted"], 1);
    assert_eq!(answer["events_duplicates"], 1);

    assert_eq!(collector.fixes("ev-repeat").expect("fixes").len(), 2);
    let events = collector.events("ev-repeat").expect("events");
    let seqs: Vec<u64> = events.iter().map(|e| e.event.s).collect();
    assert_eq!(seqs, [4, 7, 8]);
    assert_eq!(events[1].event.k, "exit");
    assert_eq!(events[1].event.id.as_deref(), Some("office"));
    let stats = collector.stats();
    assert_eq!(
        (stats.batches, stats.fixes_accepted, stats.duplicates),
        (3, 2, 2)
    );
    assert_eq!((stats.events_accepted, stats.events_duplicates), (3, 3));
    collector.stop().await;
}

#[tokio::test]
async fn trip_ids_extras_and_device_metadata_round_trip_through_the_read_api() {
    let collector = collector().await;
    let mut tripped = fix(2_000);
    tripped["tr"] = json!("trip-42");
    tripped["x"] = json!({"driver": "ada", "load": "7"});
    let body = batch(
        "ev-trip",
        "1-2.e1-3",
        1,
        vec![fix(1_000), tripped],
        vec![
            json!({"s": 1, "t": T0 + 500, "k": "device", "m": {"fleet": "north", "model": "x1"}}),
            json!({"s": 2, "t": T0 + 1_500, "k": "trip_start", "id": "trip-42",
                   "m": {"purpose": "delivery"}}),
            json!({"s": 3, "t": T0 + 2_500, "k": "trip_end", "id": "trip-42"}),
        ],
    );
    let (status, answer) = post(&collector, &body).await;
    assert_eq!(status, 200, "{answer}");

    let (_, page) = get(&collector, "/v1/devices/ev-trip/fixes").await;
    let fixes = page["fixes"].as_array().expect("fixes");
    assert!(fixes[0].get("tr").is_none() && fixes[0].get("x").is_none());
    assert_eq!(fixes[1]["tr"], "trip-42");
    assert_eq!(fixes[1]["x"], json!({"driver": "ada", "load": "7"}));
    let (_, track) = get(&collector, "/v1/devices/ev-trip/track").await;
    assert_eq!(track["points"][1]["tr"], "trip-42");
    let (_, latest) = get(&collector, "/v1/devices/ev-trip/latest").await;
    assert_eq!(latest["seq"], 2);
    assert_eq!(latest["x"]["driver"], "ada");
    let stored = collector.fixes("ev-trip").expect("fixes");
    assert_eq!(stored[1].fix.tr.as_deref(), Some("trip-42"));

    let (_, events) = get(&collector, "/v1/devices/ev-trip/events").await;
    assert_eq!(kinds(&events), ["device", "trip_start", "trip_end"]);
    let trip_start = &events["events"][1];
    assert_eq!(trip_start["id"], "trip-42");
    assert!(trip_start.get("la").is_none() && trip_start.get("lo").is_none());
    assert_eq!(trip_start["m"]["purpose"], "delivery");

    let (_, devices) = get(&collector, "/v1/devices").await;
    let summary = &devices["devices"][0];
    assert_eq!(summary["fixes"], 2);
    assert_eq!(summary["last_t"], T0 + 2_000);
    assert_eq!(summary["events"], 3);
    assert_eq!(
        summary["metadata"],
        json!({"fleet": "north", "model": "x1"})
    );

    // The most recently stored device event wins; a later one with no metadata clears it.
    let update = batch(
        "ev-trip",
        "e4-4",
        0,
        vec![],
        vec![json!({"s": 4, "t": T0 + 100, "k": "device", "m": {"fleet": "south"}})],
    );
    assert_eq!(post(&collector, &update).await.0, 200);
    let (_, devices) = get(&collector, "/v1/devices").await;
    assert_eq!(devices["devices"][0]["metadata"], json!({"fleet": "south"}));
    let clear = batch(
        "ev-trip",
        "e5-5",
        0,
        vec![],
        vec![json!({"s": 5, "t": T0 + 200, "k": "device"})],
    );
    assert_eq!(post(&collector, &clear).await.0, 200);
    let (_, devices) = get(&collector, "/v1/devices").await;
    assert_eq!(devices["devices"][0]["metadata"], json!({}));
    collector.stop().await;
}

/// Each case: what is wrong, the body, and the Idempotency-Key (the body's own when `None`).
fn invalid_batches() -> Vec<(&'static str, Value, Option<&'static str>)> {
    let ev = |e: Value| batch("ev-bad", "e1-1", 0, vec![], vec![e]);
    let many = |n: usize, value: &str| -> Value {
        (0..n)
            .map(|i| (format!("key{i}"), Value::from(value)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut big_extras = fix(0);
    big_extras["x"] = many(2, &"v".repeat(600));
    let mut empty_trip = fix(0);
    empty_trip["tr"] = json!("");
    let mut many_params = ev(json!({"s": 1, "t": T0, "k": "device"}));
    many_params["params"] = many(17, "v");
    vec![
        ("17 batch params", many_params, None),
        (
            "unknown kind",
            ev(json!({"s": 1, "t": T0, "k": "teleport", "id": "a"})),
            None,
        ),
        (
            "17 metadata entries",
            ev(json!({"s": 1, "t": T0, "k": "device", "m": many(17, "v")})),
            None,
        ),
        (
            "metadata over 1024 bytes",
            ev(json!({"s": 1, "t": T0, "k": "device", "m": many(2, &"v".repeat(600))})),
            None,
        ),
        (
            "metadata key over 64 characters",
            ev(json!({"s": 1, "t": T0, "k": "device", "m": {"k".repeat(65): "v"}})),
            None,
        ),
        (
            "id over 128 characters",
            ev(json!({"s": 1, "t": T0, "k": "enter", "id": "g".repeat(129)})),
            None,
        ),
        (
            "geofence event without id",
            ev(json!({"s": 1, "t": T0, "k": "exit"})),
            None,
        ),
        (
            "device event with an id",
            ev(json!({"s": 1, "t": T0, "k": "device", "id": "a"})),
            None,
        ),
        (
            "latitude without longitude",
            ev(json!({"s": 1, "t": T0, "k": "enter", "id": "a", "la": 52.5})),
            None,
        ),
        (
            "latitude out of range",
            ev(json!({"s": 1, "t": T0, "k": "enter", "id": "a", "la": 91.5, "lo": 13.0})),
            None,
        ),
        (
            "s of 0",
            batch(
                "ev-bad",
                "e0-0",
                0,
                vec![],
                vec![json!({"s": 0, "t": T0, "k": "device"})],
            ),
            None,
        ),
        (
            "s not increasing",
            batch(
                "ev-bad",
                "e2-1",
                0,
                vec![],
                vec![
                    json!({"s": 2, "t": T0, "k": "device"}),
                    json!({"s": 1, "t": T0, "k": "device"}),
                ],
            ),
            None,
        ),
        (
            "batch id without the events' range",
            batch(
                "ev-bad",
                "1-1",
                1,
                vec![fix(0)],
                vec![json!({"s": 1, "t": T0, "k": "device"})],
            ),
            None,
        ),
        (
            "batch id with a wrong event range",
            batch(
                "ev-bad",
                "e1-2",
                0,
                vec![],
                vec![json!({"s": 1, "t": T0, "k": "device"})],
            ),
            None,
        ),
        (
            "batch id that does not match the fixes",
            batch("ev-bad", "1-3", 1, vec![fix(0), fix(1)], vec![]),
            None,
        ),
        (
            "header and body disagree",
            batch(
                "ev-bad",
                "e1-1",
                0,
                vec![],
                vec![json!({"s": 1, "t": T0, "k": "device"})],
            ),
            Some("1-1"),
        ),
        (
            "first_seq without fixes",
            batch(
                "ev-bad",
                "e1-1",
                5,
                vec![],
                vec![json!({"s": 1, "t": T0, "k": "device"})],
            ),
            None,
        ),
        (
            "neither fixes nor events",
            batch("ev-bad", "", 0, vec![], vec![]),
            Some("none"),
        ),
        (
            "1001 events",
            batch(
                "ev-bad",
                "e1-1001",
                0,
                vec![],
                (1..=1001)
                    .map(|s| json!({"s": s, "t": T0, "k": "device"}))
                    .collect(),
            ),
            None,
        ),
        (
            "extras over 1024 bytes",
            batch("ev-bad", "1-1", 1, vec![big_extras], vec![]),
            None,
        ),
        (
            "empty trip id",
            batch("ev-bad", "1-1", 1, vec![empty_trip], vec![]),
            None,
        ),
    ]
}

#[tokio::test]
async fn invalid_events_and_annotations_are_refused_with_a_json_error() {
    let collector = collector().await;
    for (what, body, key) in invalid_batches() {
        let key = key.map_or_else(
            || body["batch"].as_str().expect("batch").to_owned(),
            str::to_owned,
        );
        let (status, answer) = post_with_key(&collector, &body, &key).await;
        // Over a count limit is 413 (the SDK halves the batch); anything else is 400.
        let expected = if what.starts_with("1001 events") {
            413
        } else {
            400
        };
        assert_eq!(status, expected, "{what}: {answer}");
        let message = answer["error"].as_str().expect("a JSON error");
        // Errors name a field and a rule, never a value.
        assert!(
            !message.contains("91.5") && !message.contains("teleport"),
            "{what}: {message}"
        );
    }
    assert!(collector.events("ev-bad").expect("events").is_empty());
    assert!(collector.fixes("ev-bad").expect("fixes").is_empty());
    let (_, devices) = get(&collector, "/v1/devices").await;
    assert_eq!(devices["devices"], json!([]));

    // The limits themselves are accepted: 16 entries, 1024 bytes, 128-character ids.
    let at_limit = batch(
        "ev-limit",
        "e1-2",
        0,
        vec![],
        vec![
            json!({"s": 1, "t": T0, "k": "enter", "id": "g".repeat(128), "la": -90.0,
                   "lo": 180.0}),
            json!({"s": 2, "t": T0, "k": "device", "m": {"k": "v".repeat(1023)}}),
        ],
    );
    let (status, answer) = post(&collector, &at_limit).await;
    assert_eq!(status, 200, "{answer}");
    collector.stop().await;
}

#[tokio::test]
async fn the_events_endpoint_filters_by_time_and_kind() {
    let collector = collector().await;
    // Time order and s order differ: the endpoint orders by time.
    let body = batch(
        "ev-filter",
        "e1-5",
        0,
        vec![],
        vec![
            geofence(1, "enter", "a", 10_000),
            geofence(2, "exit", "a", 30_000),
            geofence(3, "enter", "b", 20_000),
            json!({"s": 4, "t": T0 + 40_000, "k": "trip_start", "id": "t1"}),
            geofence(5, "dwell", "b", 50_000),
        ],
    );
    assert_eq!(post(&collector, &body).await.0, 200);

    let path = |query: String| format!("/v1/devices/ev-filter/events?{query}");
    let (_, all) = get(&collector, &path(String::new())).await;
    let seqs: Vec<u64> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["s"].as_u64().expect("s"))
        .collect();
    assert_eq!(seqs, [1, 3, 2, 4, 5]);

    // `since` and `until` are inclusive.
    let (status, range) = get(
        &collector,
        &path(format!("since={}&until={}", T0 + 20_000, T0 + 40_000)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(kinds(&range), ["enter", "exit", "trip_start"]);
    let (_, since) = get(&collector, &path(format!("since={}", T0 + 45_000))).await;
    assert_eq!(kinds(&since), ["dwell"]);

    let (_, enters) = get(&collector, &path("kind=enter".into())).await;
    assert_eq!(kinds(&enters), ["enter", "enter"]);
    let (_, several) = get(
        &collector,
        &path(format!("kind=exit,dwell&until={}", T0 + 60_000)),
    )
    .await;
    assert_eq!(kinds(&several), ["exit", "dwell"]);

    let (_, page) = get(&collector, &path("limit=2".into())).await;
    assert_eq!(page["events"].as_array().expect("events").len(), 2);
    assert_eq!(page["truncated"], true);

    let (_, unknown) = get(&collector, "/v1/devices/nobody/events").await;
    assert_eq!(unknown["events"], json!([]));

    for bad in ["kind=teleport".to_owned(), "since=5&until=4".to_owned()] {
        let (status, answer) = get(&collector, &path(bad.clone())).await;
        assert_eq!(status, 400, "{bad}");
        assert!(answer["error"].is_string(), "{bad}");
    }
    collector.stop().await;
}

#[tokio::test]
async fn new_events_are_streamed_as_their_own_sse_event() {
    let collector = collector().await;
    let mut stream = subscribe(&collector).await;
    let body = batch(
        "ev-live",
        "1-1.e1-1",
        1,
        vec![fix(1_000)],
        vec![geofence(1, "enter", "home", 1_000)],
    );
    let mut seen: Vec<(String, Value)> = Vec::new();
    let mut name = String::new();
    let read = async {
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.expect("read") == 0 {
                break;
            }
            let line = line.trim_end();
            if let Some(event) = line.strip_prefix("event: ") {
                name = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                if name == "ready" {
                    assert_eq!(post(&collector, &body).await.0, 200);
                    // A retry publishes nothing.
                    assert_eq!(post(&collector, &body).await.0, 200);
                    let event_only = batch(
                        "ev-live",
                        "e2-2",
                        0,
                        vec![],
                        vec![geofence(2, "exit", "home", 2_000)],
                    );
                    assert_eq!(post(&collector, &event_only).await.0, 200);
                } else {
                    seen.push((name.clone(), json(data)));
                }
                if seen.len() == 3 {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("events arrive");
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["fixes", "events", "events"]);
    assert_eq!(seen[1].1["device"], "ev-live");
    assert_eq!(seen[1].1["events"][0]["k"], "enter");
    assert_eq!(seen[1].1["events"][0]["la"], 52.5201);
    assert!(seen[1].1["events"][0]["received_ms"].is_i64());
    assert_eq!(seen[2].1["events"][0]["s"], 2);
    tokio::time::timeout(DEADLINE, collector.stop())
        .await
        .expect("stop ends the open stream");
}

/// The bodies of `docs/ingest-protocol.md` section 3.4, in order.
fn documented_bodies() -> Vec<Value> {
    let doc = include_str!("../../../docs/ingest-protocol.md");
    let start = doc.find("### 3.4 ").expect("section 3.4");
    let end = start + doc[start..].find("\n## 4. ").expect("section 4");
    doc[start..end]
        .split("```json\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .map(|block| serde_json::from_str::<Value>(block).expect("the doc's JSON parses"))
        .filter(|body| body.get("v").is_some())
        .collect()
}

#[tokio::test]
async fn the_documented_examples_are_accepted_as_documented() {
    let collector = collector().await;
    let bodies = documented_bodies();
    assert_eq!(bodies.len(), 2);
    let (status, first) = post(&collector, &bodies[0]).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first,
        json!({"accepted": 2, "duplicates": 0, "events_accepted": 2})
    );
    let (_, again) = post(&collector, &bodies[0]).await;
    assert_eq!(
        again,
        json!({"accepted": 0, "duplicates": 2, "events_duplicates": 2})
    );
    let (status, answer) = post(&collector, &bodies[1]).await;
    assert_eq!(status, 200, "{answer}");
    let (_, devices) = get(&collector, "/v1/devices").await;
    assert_eq!(
        devices["devices"][0]["metadata"],
        json!({"app": "2.4.1", "model": "Pixel 8"})
    );
    collector.stop().await;
}

#[test]
fn ingest_responses_stay_compatible() {
    // An answer from a collector that predates events still parses.
    let old: IngestResponse =
        serde_json::from_str(r#"{"accepted":3,"duplicates":1}"#).expect("old answer");
    assert_eq!((old.events_accepted, old.events_duplicates), (0, 0));
    // A batch without events gets the answer it always got.
    let fixes_only = IngestResponse {
        accepted: 3,
        duplicates: 0,
        events_accepted: 0,
        events_duplicates: 0,
    };
    assert_eq!(
        serde_json::to_string(&fixes_only).expect("json"),
        r#"{"accepted":3,"duplicates":0}"#
    );
}
