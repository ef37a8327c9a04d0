//! Just enough HTTP/1.1 on a fresh loopback connection per request, so that the tests see
//! exactly what a client sees (no client library between them and the server).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tracelet_protocol::wire::{INGEST_PATH, batch_id};

pub const TOKEN: &str = "storage-test-token";
pub const READ_TOKEN: &str = "storage-test-read-token";
/// 2024-06-01T12:00:00Z; fix times are offsets from it.
pub const T0: i64 = 1_717_243_200_000;
/// A guard against hanging forever, not a timing assertion.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// One request; returns (status, body). Errors are connection failures (a killed server).
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut socket = TcpStream::connect(addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body.as_bytes()).await?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// GET with the read token; panics unless 200 and JSON.
pub async fn get_json(addr: SocketAddr, path: &str) -> Value {
    let auth = format!("Bearer {READ_TOKEN}");
    let (status, body) = send(addr, "GET", path, &[("Authorization", &auth)], "")
        .await
        .expect("GET");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

/// GET with the read token; (status, body).
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let auth = format!("Bearer {READ_TOKEN}");
    send(addr, "GET", path, &[("Authorization", &auth)], "")
        .await
        .expect("GET")
}

/// A fix at `t0 + offset` seconds, at (la, lo).
pub fn fix(offset_s: i64, la: f64, lo: f64) -> Value {
    json!({"t": T0 + offset_s * 1000, "la": la, "lo": lo, "ac": 5.0})
}

/// A batch body and its idempotency key.
pub fn batch(
    device: &str,
    stream: &str,
    first_seq: u64,
    fixes: Vec<Value>,
    events: Vec<Value>,
) -> (String, String) {
    let fix_range = (!fixes.is_empty()).then(|| (first_seq, first_seq + fixes.len() as u64 - 1));
    let s = |e: &Value| e["s"].as_u64().expect("s");
    let event_range = events.first().zip(events.last()).map(|(a, b)| (s(a), s(b)));
    let id = batch_id(stream, fix_range, event_range);
    let first_seq = if fixes.is_empty() { 0 } else { first_seq };
    let body = json!({
        "v": 1, "device": device, "stream": stream, "batch": id,
        "first_seq": first_seq, "fixes": fixes, "events": events,
    });
    (body.to_string(), id)
}

/// Posts a batch; returns (status, body) or the connection error.
pub async fn post_batch(addr: SocketAddr, body: &str, key: &str) -> std::io::Result<(u16, String)> {
    let auth = format!("Bearer {TOKEN}");
    send(
        addr,
        "POST",
        INGEST_PATH,
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", key),
        ],
        body,
    )
    .await
}

/// Posts a batch and expects 200; returns the ingest answer.
pub async fn post_ok(addr: SocketAddr, body: &str, key: &str) -> Value {
    let (status, answer) = post_batch(addr, body, key).await.expect("POST");
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str(&answer).expect("JSON answer")
}

/// An open `/v1/stream`, read event by event.
pub struct Sse {
    reader: BufReader<TcpStream>,
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub name: String,
    pub id: Option<String>,
    pub data: Value,
}

impl Sse {
    pub async fn open(addr: SocketAddr, last_event_id: Option<&str>) -> Sse {
        let mut socket = TcpStream::connect(addr).await.expect("connect");
        let resume = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "GET /v1/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {READ_TOKEN}\r\n\
             Accept: text/event-stream\r\n{resume}\r\n"
        );
        socket.write_all(head.as_bytes()).await.expect("write");
        let mut reader = BufReader::new(socket);
        // The status line and headers.
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut sse = Sse { reader };
        let ready = sse.next().await;
        assert_eq!(ready.name, "ready");
        sse
    }

    /// The next event (keep-alive comments skipped); chunked framing lines are ignored.
    pub async fn next(&mut self) -> SseEvent {
        tokio::time::timeout(DEADLINE, self.read_event())
            .await
            .expect("an event before the deadline")
    }

    async fn read_event(&mut self) -> SseEvent {
        let (mut name, mut id, mut data) = (String::from("message"), None, String::new());
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).await.expect("read");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            } else if line.is_empty() && !data.is_empty() {
                return SseEvent {
                    name,
                    id,
                    data: serde_json::from_str(&data).expect("JSON data"),
                };
            }
            // Anything else: chunk sizes, comments (keep-alive), blank lines between chunks.
        }
    }
}
