//! A platform-supplied HTTP stack through the FFI surface: here a minimal HTTP/1.1 client on
//! std's TcpStream stands in for OkHttp or URLSession, against the real collector.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::{
    Fix, HttpHeader, HttpRequest, HttpResponse, HttpTransport, Provider, RecordOutcome, Tracelet,
    TraceletConfig, TraceletError, TransportFailure,
};
use tracelet_collector::CollectorConfig;

struct PlainHttp {
    requests: AtomicU32,
    /// Every request's headers and its body's `params`, as the app's stack saw them.
    seen: std::sync::Mutex<Vec<(Vec<HttpHeader>, serde_json::Value)>>,
}

impl HttpTransport for PlainHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(request.body.as_slice())
            .read_to_end(&mut json)
            .map_err(|e| TransportFailure::Network {
                reason: e.to_string(),
            })?;
        let params = serde_json::from_slice::<serde_json::Value>(&json)
            .map(|batch| batch["params"].clone())
            .unwrap_or_default();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((request.headers.clone(), params));
        }
        let network = |e: std::io::Error| TransportFailure::Network {
            reason: e.to_string(),
        };
        let rest = request
            .url
            .strip_prefix("http://")
            .ok_or(TransportFailure::Network {
                reason: "only plain http in this test".into(),
            })?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = TcpStream::connect(host).map_err(network)?;
        stream
            .set_read_timeout(Some(Duration::from_millis(request.timeout_ms)))
            .map_err(network)?;
        let mut head = format!(
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
            request.body.len()
        );
        for h in &request.headers {
            head.push_str(&format!("{}: {}\r\n", h.name, h.value));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).map_err(network)?;
        stream.write_all(&request.body).map_err(network)?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).map_err(network)?;
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(TransportFailure::Network {
                reason: "no status line".into(),
            })?;
        // The body follows the blank line after the head (chunked encoding is not used here).
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.as_bytes().to_vec())
            .unwrap_or_default();
        Ok(HttpResponse {
            status,
            retry_after_s: None,
            body,
        })
    }
}

/// A 5 m GPS fix on a meridian through Berlin.
fn gps_fix(time_ms: i64, latitude: f64, speed_mps: Option<f64>) -> Fix {
    Fix {
        time_ms,
        latitude_deg: latitude,
        longitude_deg: 13.405,
        horizontal_accuracy_m: 5.0,
        altitude_m: None,
        vertical_accuracy_m: None,
        speed_mps,
        speed_accuracy_mps: None,
        bearing_deg: None,
        bearing_accuracy_deg: None,
        provider: Provider::Gps,
        is_mock: false,
        elapsed_realtime_ns: None,
    }
}

fn config(endpoint: String, dir: &std::path::Path) -> TraceletConfig {
    TraceletConfig {
        endpoint,
        device_id: "platform-transport".into(),
        bearer_token: "t".into(),
        storage_dir: dir.display().to_string(),
        marker_dir: None,
        batch_trigger_count: 100,
        max_batch_fixes: 500,
        max_upload_delay_ms: 0,
        upload_only_unmetered: false,
        preset: "balanced".into(),
        filter_enabled: true,
        upload_smoothed: true,
        smoothing_enabled: true,
        reject_mock: false,
        os_max_regions: 20,
        headers: vec![HttpHeader {
            name: "X-Api-Key".into(),
            value: "k1".into(),
        }],
        params: [("app_version".to_owned(), "2.1.0".to_owned())].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixes_travel_through_a_platform_http_stack() {
    let collector = tracelet_collector::start(CollectorConfig::loopback(vec!["t".into()]))
        .await
        .expect("collector");
    let dir = tempfile::tempdir().expect("dir");
    let transport = Arc::new(PlainHttp {
        requests: AtomicU32::new(0),
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let tracelet = Tracelet::with_transport(
        config(collector.ingest_url(), dir.path()),
        transport.clone(),
    )
    .expect("configured");
    tracelet.start().expect("started");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    for i in 0..30 {
        let outcome = tracelet
            .record(gps_fix(
                now - 60_000 + i * 1000,
                52.52 + i as f64 * 1e-5,
                Some(1.1),
            ))
            .expect("recorded");
        assert!(
            matches!(outcome, RecordOutcome::Stored { .. }),
            "{outcome:?}"
        );
    }
    let flushed = tracelet.flush().await.expect("flushed");
    assert_eq!(flushed.pending, 0);
    assert_eq!(
        collector.fixes("platform-transport").expect("read").len(),
        30
    );
    assert!(transport.requests.load(Ordering::SeqCst) >= 1);
    // Every request went through the app's stack with the app's header and params.
    let seen = transport.seen.lock().expect("seen").clone();
    assert_eq!(seen.len() as u32, transport.requests.load(Ordering::SeqCst));
    for (headers, params) in &seen {
        assert!(
            headers
                .iter()
                .any(|h| h.name == "X-Api-Key" && h.value == "k1"),
            "{headers:?}"
        );
        assert_eq!(params["app_version"], "2.1.0");
    }

    // Replaced at run time: a bad header changes nothing, a good one applies to the next batch.
    let injected = vec![HttpHeader {
        name: "X-Api-Key".into(),
        value: "k2\r\nX-Evil: 1".into(),
    }];
    assert!(matches!(
        tracelet.set_headers(injected),
        Err(TraceletError::InvalidHeader { .. })
    ));
    assert_eq!(tracelet.headers()[0].value, "k1");
    tracelet
        .set_headers(vec![HttpHeader {
            name: "X-Api-Key".into(),
            value: "k2".into(),
        }])
        .expect("header replaced");
    tracelet
        .set_params(Default::default())
        .expect("params cleared");
    let outcome = tracelet
        .record(gps_fix(now - 1_000, 52.53, Some(1.1)))
        .expect("recorded");
    assert!(
        matches!(outcome, RecordOutcome::Stored { .. }),
        "{outcome:?}"
    );
    assert_eq!(tracelet.flush().await.expect("flushed").pending, 0);
    let seen = transport.seen.lock().expect("seen").clone();
    let (headers, params) = seen.last().expect("a last request");
    assert!(
        headers
            .iter()
            .any(|h| h.name == "X-Api-Key" && h.value == "k2")
    );
    assert!(params.is_null(), "params were cleared: {params}");
}

/// A platform HTTP stack stuck inside its call for good (a hung socket, a deadlock in the
/// app's own code): it blocks its thread and never returns. Says when it was entered.
struct Stuck {
    entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
}

impl HttpTransport for Stuck {
    fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let _ = self.entered.lock().map(|tx| tx.send(()));
        loop {
            std::thread::park();
        }
    }
}

#[test]
fn close_returns_while_a_platform_transport_never_does() {
    let dir = tempfile::tempdir().expect("dir");
    let (entered, calls) = std::sync::mpsc::channel();
    let tracelet = Tracelet::with_transport(
        config("http://127.0.0.1:9/v1/batches".into(), dir.path()),
        Arc::new(Stuck {
            entered: std::sync::Mutex::new(entered),
        }),
    )
    .expect("configured");
    tracelet.start().expect("started");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    tracelet
        .record(gps_fix(now - 1_000, 52.52, None))
        .expect("recorded");
    tracelet.on_app_background();
    // Generous deadlines that fail the test instead of hanging it; nothing here is timed.
    calls
        .recv_timeout(Duration::from_secs(60))
        .expect("the uploader called the platform transport");
    let (closed, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(tracelet);
        let _ = closed.send(());
    });
    done.recv_timeout(Duration::from_secs(60))
        .expect("dropping the SDK returned while the platform call was stuck");
}
