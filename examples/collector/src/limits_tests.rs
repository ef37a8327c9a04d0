//! The collector's limits, timeouts and read access over real sockets on loopback, with the
//! real SQLite files. Timeouts are asserted by the server closing the connection; the
//! deadlines here only stop a broken build from hanging.

use std::io::Write;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::live_tests::{DEADLINE, READ_TOKEN, T0, TOKEN, collector, raw_request, request};
use crate::{CollectorConfig, DEV_TOKEN, DbError, Limits, RunningCollector, StartError, start};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Posts raw body bytes with the ingest token; returns (status, content type, body).
async fn post_bytes(
    collector: &RunningCollector,
    body: &[u8],
    extra_headers: &str,
) -> (u16, String, Value) {
    let mut socket = TcpStream::connect(collector.addr).await.expect("connect");
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Encoding: gzip\r\nIdempotency-Key: 1-1\r\n{extra_headers}\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.expect("head");
    // The server may answer (and close) before the whole body is written.
    let _ = socket.write_all(body).await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    parse_answer(&answer)
}

fn parse_answer(answer: &str) -> (u16, String, Value) {
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let json = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, content_type, json)
}

fn assert_json_error(answer: &(u16, String, Value), status: u16, containing: &str) {
    let (got, content_type, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let message = body["error"].as_str().expect("an error message");
    assert!(message.contains(containing), "{message}");
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(socket: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let read = socket.read_to_end(&mut seen);
    match tokio::time::timeout(DEADLINE, read).await {
        Ok(_) => seen,
        Err(_) => panic!("the server kept the connection open"),
    }
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_with_413_before_it_is_inflated() {
    let collector = collector().await;
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(br#"{"v":1,"device":"bomb","batch":"1-1","first_seq":1,"fixes":["#)
        .expect("gzip");
    let chunk = r#"{"t":1,"la":0,"lo":0,"ac":1},"#.repeat(10_000);
    for _ in 0..300 {
        encoder.write_all(chunk.as_bytes()).expect("gzip");
    }
    let body = encoder.finish().expect("gzip");
    let answer = post_bytes(&collector, &body, "").await;
    assert_json_error(&answer, 413, "at most 10000 fixes");
    assert!(collector.fixes("bomb").expect("read").is_empty());
    assert_eq!(collector.stats().rejected_requests, 1);
    collector.stop().await;
}

#[tokio::test]
async fn a_long_field_trailing_bytes_and_too_many_fixes_are_refused() {
    let collector = collector().await;
    let mut long = br#"{"v":1,"device":"d","batch":"1-1","first_seq":1,"fixes":[{"t":1,"la":0,"lo":0,"ac":1,"tr":""#.to_vec();
    long.extend(std::iter::repeat_n(b'a', 4 * 1024 * 1024));
    long.extend_from_slice(br#""}]}"#);
    assert_json_error(
        &post_bytes(&collector, &gzip(&long), "").await,
        400,
        "longer than",
    );

    let fix = json!({"t": T0, "la": 52.5, "lo": 13.4, "ac": 5.0});
    let one = json!({"v": 1, "device": "d", "batch": "1-1", "first_seq": 1, "fixes": [fix]});
    let mut trailing = gzip(one.to_string().as_bytes());
    trailing.extend_from_slice(b"junk");
    assert_json_error(
        &post_bytes(&collector, &trailing, "").await,
        400,
        "after the gzip member",
    );
    let doubled = format!("{one}{one}");
    assert_json_error(
        &post_bytes(&collector, &gzip(doubled.as_bytes()), "").await,
        400,
        "after the JSON value",
    );

    let many = json!({"v": 1, "device": "d", "batch": "1-10001", "first_seq": 1,
                      "fixes": vec![fix.clone(); 10_001]});
    assert_json_error(
        &post_bytes(&collector, &gzip(many.to_string().as_bytes()), "").await,
        413,
        "at most 10000 fixes",
    );
    assert!(collector.fixes("d").expect("read").is_empty());
    // The same body, valid, is stored: nothing above was refused for another reason.
    let (status, _, _) = post_bytes(&collector, &gzip(one.to_string().as_bytes()), "").await;
    assert_eq!(status, 200);
    collector.stop().await;
}

#[tokio::test]
async fn framework_errors_are_json_too() {
    let collector = start(CollectorConfig {
        max_body_bytes: 1_000,
        read_token: Some(READ_TOKEN.into()),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .expect("starts");
    let not_found = raw_request(&collector, "GET /nowhere HTTP/1.1", "").await;
    let wrong_method = raw_request(&collector, "GET /v1/batches HTTP/1.1", "").await;
    let bad_query = request(&collector, "GET /v1/devices/d/fixes?limit=x HTTP/1.1", "").await;
    for ((status, body), expected) in [(not_found, 404), (wrong_method, 405), (bad_query, 400)] {
        assert_eq!(status, expected, "{body}");
        let json: Value = serde_json::from_str(&body).expect("JSON body");
        assert!(json["error"].is_string(), "{body}");
    }
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: text/plain"
    );
    let (status, body) = raw_request(&collector, &head, "x").await;
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert_json_error(
        &post_bytes(&collector, &vec![0u8; 5_000], "").await,
        413,
        "larger than 1000 bytes",
    );
    collector.stop().await;
}

async fn with_limits(edit: impl FnOnce(&mut Limits)) -> RunningCollector {
    let mut config = CollectorConfig::loopback(vec![TOKEN.into()]);
    config.read_token = Some(READ_TOKEN.into());
    edit(&mut config.limits);
    start(config).await.expect("starts")
}

#[tokio::test]
async fn the_server_closes_slow_header_idle_and_slow_body_connections() {
    let collector = with_limits(|l| {
        l.header_timeout = Duration::from_millis(300);
        l.body_timeout = Duration::from_millis(300);
    })
    .await;
    // Half a request line, then nothing.
    let mut slow_header = TcpStream::connect(collector.addr).await.expect("connect");
    slow_header.write_all(b"POST /v1/ba").await.expect("write");
    until_closed(&mut slow_header).await;

    // A whole request on a keep-alive connection, then silence.
    let mut idle = TcpStream::connect(collector.addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answered = until_closed(&mut idle).await;
    assert!(answered.starts_with(b"HTTP/1.1 200"), "answered first");

    // Headers promising 100 bytes of body, ten of them, then nothing.
    let mut slow_body = TcpStream::connect(collector.addr).await.expect("connect");
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789"
    );
    slow_body.write_all(head.as_bytes()).await.expect("write");
    let answer = String::from_utf8_lossy(&until_closed(&mut slow_body).await).into_owned();
    assert_json_error(&parse_answer(&answer), 408, "stopped arriving");
    assert_eq!(collector.stats().rejected_requests, 1);
    collector.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_wait_for_a_free_one() {
    let collector = with_limits(|l| {
        l.max_connections = 1;
        l.header_timeout = Duration::from_secs(60);
    })
    .await;
    let mut holder = TcpStream::connect(collector.addr).await.expect("connect");
    holder.write_all(b"GET /heal").await.expect("write");
    let waiting = tokio::spawn({
        let addr = collector.addr;
        async move {
            let mut socket = TcpStream::connect(addr).await.expect("connect");
            socket
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .expect("write");
            let mut answer = Vec::new();
            socket.read_to_end(&mut answer).await.expect("read");
            answer
        }
    });
    // While the one allowed connection is held, the second is not served. (A short wait can
    // only miss a broken limit, never fail a working one.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond the connection limit");
    drop(holder);
    let answer = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("served once a connection is free")
        .expect("task");
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    collector.stop().await;
}

#[tokio::test]
async fn reads_need_the_read_token_and_the_ingest_token_cannot_read() {
    let collector = collector().await;
    let paths = [
        "/v1/devices",
        "/v1/devices/d/fixes",
        "/v1/devices/d/latest",
        "/v1/devices/d/track",
        "/v1/devices/d/events",
        "/v1/stats",
        "/v1/stream",
        "/map",
    ];
    let ingest_auth = format!("\r\nAuthorization: Bearer {TOKEN}");
    for path in paths {
        for auth in ["", ingest_auth.as_str()] {
            let (status, body) =
                raw_request(&collector, &format!("GET {path} HTTP/1.1{auth}"), "").await;
            assert_eq!(status, 401, "{path} {auth:?}: {body}");
            let json: Value = serde_json::from_str(&body).expect("JSON");
            assert!(
                json["error"]
                    .as_str()
                    .expect("error")
                    .contains("read token")
            );
        }
    }
    let (status, _) = request(&collector, "GET /v1/devices HTTP/1.1", "").await;
    assert_eq!(status, 200);
    // The read token cannot post batches.
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {READ_TOKEN}\r\nContent-Type: application/json"
    );
    let (status, _) = raw_request(&collector, &head, "{}").await;
    assert_eq!(status, 401);
    collector.stop().await;
}

#[tokio::test]
async fn the_map_trades_its_token_for_a_session_cookie() {
    let collector = collector().await;
    let mut socket = TcpStream::connect(collector.addr).await.expect("connect");
    let opening = format!(
        "GET /map?access_token={READ_TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(opening.as_bytes()).await.expect("write");
    let answer = String::from_utf8_lossy(&until_closed(&mut socket).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("location: /map\r\n"),
        "{answer}"
    );
    let cookie = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let session = cookie.split(';').next().expect("name=value");
    for path in ["/map", "/v1/devices", "/v1/stats"] {
        let (status, body) = raw_request(
            &collector,
            &format!("GET {path} HTTP/1.1\r\nCookie: {session}"),
            "",
        )
        .await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, _) = raw_request(&collector, "GET /map?access_token=wrong HTTP/1.1", "").await;
    assert_eq!(status, 401);
    assert!(
        collector
            .map_url()
            .ends_with(&format!("/map?access_token={READ_TOKEN}"))
    );
    collector.stop().await;
}

async fn post_fixes(collector: &RunningCollector, device: &str, first_seq: u64, count: u64) -> u16 {
    let fixes: Vec<Value> = (0..count)
        .map(|i| json!({"t": T0 + ((first_seq + i) as i64) * 1000, "la": 52.5, "lo": 13.4, "ac": 5.0}))
        .collect();
    let batch = format!("{first_seq}-{}", first_seq + count - 1);
    let body =
        json!({"v": 1, "device": device, "batch": batch, "first_seq": first_seq, "fixes": fixes});
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {batch}"
    );
    raw_request(collector, &head, &body.to_string()).await.0
}

/// Holds the ingest lock across the reads on purpose: they must not need it.
#[tokio::test]
#[allow(clippy::await_holding_lock)]
async fn reads_are_answered_while_the_ingest_lock_is_held() {
    let collector = collector().await;
    assert_eq!(post_fixes(&collector, "held", 1, 10).await, 200);
    let guard = crate::lock(collector.ingest_lock());
    for path in [
        "/v1/devices",
        "/v1/devices/held/track",
        "/v1/devices/held/fixes",
        "/v1/stats",
    ] {
        let head = format!("GET {path} HTTP/1.1");
        let read = request(&collector, &head, "");
        let (status, body) = tokio::time::timeout(DEADLINE, read)
            .await
            .unwrap_or_else(|_| panic!("{path} waited for the ingest lock"));
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, body) = request(&collector, "GET /v1/devices/held/track HTTP/1.1", "").await;
    let page: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(page["points"].as_array().expect("points").len(), 10);
    drop(guard);
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_during_ingest_see_whole_batches() {
    let collector = std::sync::Arc::new(collector().await);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let collector = collector.clone();
            tokio::spawn(async move {
                for b in 0..25u64 {
                    let status = post_fixes(&collector, &format!("w{w}"), 1 + b * 20, 20).await;
                    assert_eq!(status, 200);
                }
            })
        })
        .collect();
    let mut reads = 0;
    while !writers.iter().all(|w| w.is_finished()) {
        let (status, body) = request(&collector, "GET /v1/devices HTTP/1.1", "").await;
        assert_eq!(status, 200);
        let page: Value = serde_json::from_str(&body).expect("JSON");
        for device in page["devices"].as_array().expect("devices") {
            // A batch is stored whole or not at all.
            assert_eq!(device["fixes"].as_u64().expect("count") % 20, 0, "{device}");
        }
        reads += 1;
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    assert!(reads > 0);
    let (_, body) = request(&collector, "GET /v1/devices?limit=3 HTTP/1.1", "").await;
    let page: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(page["devices"].as_array().expect("devices").len(), 3);
    assert_eq!(page["next"], "w2");
    let (_, body) = request(&collector, "GET /v1/devices?after=w2 HTTP/1.1", "").await;
    let page: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(page["devices"][0]["device"], "w3");
    assert_eq!(page["devices"][0]["fixes"], 500);
    assert!(page.get("next").is_none());
    match std::sync::Arc::try_unwrap(collector) {
        Ok(collector) => collector.stop().await,
        Err(_) => panic!("collector still shared"),
    }
}

#[tokio::test]
async fn unsafe_configurations_and_foreign_databases_are_refused_clearly() {
    let public = CollectorConfig {
        listen: "0.0.0.0:0".parse().expect("address"),
        ..CollectorConfig::loopback(vec![DEV_TOKEN.into()])
    };
    assert!(matches!(
        start(public).await,
        Err(StartError::DevTokenOnPublicAddress(_))
    ));
    let shared = CollectorConfig {
        read_token: Some(TOKEN.into()),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    };
    assert!(matches!(
        start(shared).await,
        Err(StartError::ReadTokenIsIngestToken)
    ));

    let dir = tempfile::tempdir().expect("dir");
    let at = |path: std::path::PathBuf| CollectorConfig {
        db_path: Some(path),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    };
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database, just some text that is long enough").expect("write");
    let other_app = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other_app)
        .and_then(|c| c.execute_batch("CREATE TABLE contacts (name TEXT);"))
        .expect("other app's db");
    let newer = dir.path().join("newer.sqlite3");
    rusqlite::Connection::open(&newer)
        .and_then(|c| c.pragma_update(None, "user_version", 99))
        .expect("newer db");
    let cases = [
        (dir.path().to_owned(), "is a directory"),
        (text, "is not an SQLite database"),
        (other_app, "another application"),
        (newer, "newer than this collector supports"),
    ];
    for (path, message) in cases {
        match start(at(path.clone())).await {
            Err(e @ StartError::Db(_)) => assert!(e.to_string().contains(message), "{e}"),
            Err(e) => panic!("{}: unexpected {e}", path.display()),
            Ok(_) => panic!("{}: started", path.display()),
        }
    }
    assert!(matches!(
        start(at(dir.path().join("newer.sqlite3"))).await,
        Err(StartError::Db(DbError::NewerSchema { found: 99, .. }))
    ));
}
