//! The live stream and the read endpoints added for front ends, over real HTTP.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{CollectorConfig, RunningCollector, start};

pub(crate) const TOKEN: &str = "live-test-token";
pub(crate) const READ_TOKEN: &str = "live-test-read-token";
/// 2024-06-01T12:00:00Z; fix times in the tests are offsets from it.
pub(crate) const T0: i64 = 1_717_243_200_000;
/// A guard against hanging forever, not a timing assertion.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

pub(crate) async fn collector() -> RunningCollector {
    start(CollectorConfig {
        read_token: Some(READ_TOKEN.into()),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .expect("collector starts")
}

/// One request on its own connection; returns (status, body). A GET without an
/// `Authorization` header gets the read token.
pub(crate) async fn request(collector: &RunningCollector, head: &str, body: &str) -> (u16, String) {
    if head.starts_with("GET ") && !head.contains("Authorization:") {
        let head = format!("{head}\r\nAuthorization: Bearer {READ_TOKEN}");
        return raw_request(collector, &head, body).await;
    }
    raw_request(collector, head, body).await
}

/// One request exactly as given, on its own connection; returns (status, body).
pub(crate) async fn raw_request(
    collector: &RunningCollector,
    head: &str,
    body: &str,
) -> (u16, String) {
    let mut socket = TcpStream::connect(collector.addr).await.expect("connect");
    let request = format!(
        "{head}\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        collector.addr,
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("read");
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn post_batch(collector: &RunningCollector, device: &str, first_seq: u64, ts: &[i64]) {
    let fixes: Vec<(i64, f64, f64)> = ts
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, 52.5 + i as f64 * 1e-3, 13.4))
        .collect();
    post_fixes(collector, device, first_seq, &fixes).await;
}

/// Posts one JSON batch of fixes `(t offset from T0, lat, lon)` with sequence numbers from
/// `first_seq`, and expects 200.
pub(crate) async fn post_fixes(
    collector: &RunningCollector,
    device: &str,
    first_seq: u64,
    fixes: &[(i64, f64, f64)],
) {
    let body_fixes: Vec<String> = fixes
        .iter()
        .map(|(t, la, lo)| format!(r#"{{"t":{},"la":{la},"lo":{lo},"ac":5.0}}"#, T0 + t))
        .collect();
    let batch = format!("{first_seq}-{}", first_seq + fixes.len() as u64 - 1);
    let body = format!(
        r#"{{"v":1,"device":"{device}","batch":"{batch}","first_seq":{first_seq},"fixes":[{}]}}"#,
        body_fixes.join(",")
    );
    let head = format!(
        "POST /v1/batches HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: {batch}"
    );
    let (status, answer) = request(collector, &head, &body).await;
    assert_eq!(status, 200, "{answer}");
}

/// Opens `GET /v1/stream` on a raw socket, to read the server-sent events line by line.
pub(crate) async fn subscribe(collector: &RunningCollector) -> BufReader<TcpStream> {
    let socket = TcpStream::connect(collector.addr).await.expect("connect");
    let mut stream = BufReader::new(socket);
    stream
        .get_mut()
        .write_all(
            format!(
                "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READ_TOKEN}\r\n\
                 Accept: text/event-stream\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("subscribe");
    stream
}

pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("JSON body")
}

#[tokio::test]
async fn stored_batches_are_streamed_once_and_stop_ends_the_stream() {
    let collector = collector().await;
    let mut stream = subscribe(&collector).await;
    let mut events: Vec<(String, String)> = Vec::new();
    let mut event = String::new();
    let mut posted = false;
    let read_events = async {
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.expect("read") == 0 {
                break;
            }
            let line = line.trim_end();
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                events.push((event.clone(), data.to_owned()));
                if event == "ready" && !posted {
                    posted = true;
                    post_batch(&collector, "dev-a", 1, &[1_000, 2_000]).await;
                    // A retry of the same batch adds nothing and is not streamed again.
                    post_batch(&collector, "dev-a", 1, &[1_000, 2_000]).await;
                    post_batch(&collector, "dev-a", 3, &[3_000]).await;
                }
                if events.iter().filter(|(e, _)| e == "fixes").count() == 2 {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(DEADLINE, read_events)
        .await
        .expect("events arrive");
    let fixes: Vec<serde_json::Value> = events
        .iter()
        .filter(|(e, _)| e == "fixes")
        .map(|(_, d)| json(d))
        .collect();
    assert_eq!(fixes[0]["device"], "dev-a");
    let seqs = |v: &serde_json::Value| -> Vec<u64> {
        v["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| p["seq"].as_u64().expect("seq"))
            .collect()
    };
    assert_eq!(seqs(&fixes[0]), vec![1, 2]);
    assert_eq!(seqs(&fixes[1]), vec![3]);
    assert_eq!(fixes[1]["points"][0]["kept"], true);
    assert_eq!(fixes[1]["points"][0]["t"], T0 + 3_000);

    // The open stream must not hold the shutdown.
    tokio::time::timeout(DEADLINE, collector.stop())
        .await
        .expect("stop ends the open stream");
}

#[tokio::test]
async fn latest_and_track_by_time_range() {
    let collector = collector().await;
    let (status, _) = request(&collector, "GET /v1/devices/dev-b/latest HTTP/1.1", "").await;
    assert_eq!(status, 404);
    // Sequence order and time order differ: latest is by time.
    post_batch(&collector, "dev-b", 1, &[10_000, 30_000, 20_000, 40_000]).await;

    let (status, body) = request(&collector, "GET /v1/devices/dev-b/latest HTTP/1.1", "").await;
    assert_eq!(status, 200);
    let latest = json(&body);
    assert_eq!(latest["device"], "dev-b");
    assert_eq!(latest["seq"], 4);
    assert_eq!(latest["t"], T0 + 40_000);
    assert_eq!(latest["kept"], true);

    let (status, body) = request(
        &collector,
        &format!(
            "GET /v1/devices/dev-b/track?from_ms={}&to_ms={} HTTP/1.1",
            T0 + 15_000,
            T0 + 30_000
        ),
        "",
    )
    .await;
    assert_eq!(status, 200);
    let page = json(&body);
    let ts: Vec<i64> = page["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["t"].as_i64().expect("t") - T0)
        .collect();
    assert_eq!(ts, vec![20_000, 30_000]);
    assert_eq!(page["truncated"], false);

    let (_, body) = request(
        &collector,
        "GET /v1/devices/dev-b/track?limit=3 HTTP/1.1",
        "",
    )
    .await;
    let page = json(&body);
    assert_eq!(page["points"].as_array().expect("points").len(), 3);
    assert_eq!(page["truncated"], true);

    let (status, body) = request(
        &collector,
        "GET /v1/devices/dev-b/track?from_ms=5&to_ms=4 HTTP/1.1",
        "",
    )
    .await;
    assert_eq!(status, 400);
    assert!(json(&body)["error"].is_string());

    let (status, body) = request(&collector, "GET /map HTTP/1.1", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("/map.js"));
    let (status, body) = request(&collector, "GET /map.js HTTP/1.1", "").await;
    assert_eq!(status, 200);
    assert!(body.contains("/v1/stream"));
    collector.stop().await;
}
