//! Turning queued fixes into HTTP requests, and HTTP answers into decisions.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use thiserror::Error;
use url::Url;

use crate::compact;
use crate::protocol::{
    BatchV1, CONTENT_TYPE_JSON, IDEMPOTENCY_HEADER, IngestResponse, PROTOCOL_VERSION, WireFix,
    batch_id, wire_event, wire_fix_of_stored,
};
use crate::store::{StoredEvent, StoredFix};

/// A batch ready to send: the gzip JSON body and what identifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedBatch {
    /// The run of fix sequence numbers; meaningful only when `fix_count() > 0`.
    pub first_seq: u64,
    pub last_seq: u64,
    fix_count: u64,
    /// The oldest and newest event riding in the batch, and how many ride.
    pub first_event_seq: Option<u64>,
    pub last_event_seq: Option<u64>,
    pub event_count: u64,
    /// Stable across retries and restarts, so the server can recognise a repeat.
    pub idempotency_key: String,
    pub body: Vec<u8>,
    pub uncompressed_len: usize,
    pub content_type: &'static str,
}

impl EncodedBatch {
    pub fn fix_count(&self) -> u64 {
        self.fix_count
    }

    /// The first and last fix sequence numbers, when the batch has fixes.
    pub fn fix_range(&self) -> Option<(u64, u64)> {
        (self.fix_count > 0).then_some((self.first_seq, self.last_seq))
    }

    /// The first and last event `s`, when the batch has events.
    pub fn event_range(&self) -> Option<(u64, u64)> {
        self.first_event_seq.zip(self.last_event_seq)
    }
}

/// How batch bodies are encoded; both are gzip-compressed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// JSON with short field names: readable, what every server can take.
    #[default]
    Json,
    /// The compact binary encoding (`crate::compact`): a few bytes per fix.
    Compact,
}

impl Encoding {
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Json => CONTENT_TYPE_JSON,
            Encoding::Compact => compact::CONTENT_TYPE_COMPACT,
        }
    }
}

/// Encodes a run of queued fixes and events as a protocol v1 body, gzip-compressed; `None`
/// when both are empty. The compact encoding carries plain fixes only: a batch with events or
/// with trip ids or extras on its fixes goes as JSON whatever the configured encoding.
pub fn encode_batch(
    device_id: &str,
    stream: &str,
    fixes: &[StoredFix],
    events: &[StoredEvent],
    encoding: Encoding,
) -> Option<EncodedBatch> {
    let fix_range = fixes.first().zip(fixes.last()).map(|(a, b)| (a.seq, b.seq));
    let event_range = events
        .first()
        .zip(events.last())
        .map(|(a, b)| (a.seq, b.seq));
    if fix_range.is_none() && event_range.is_none() {
        return None;
    }
    let idempotency_key = batch_id(stream, fix_range, event_range);
    let first_seq = fix_range.map_or(0, |r| r.0);
    let wire: Vec<WireFix> = fixes.iter().map(wire_fix_of_stored).collect();
    let annotated = fixes.iter().any(|f| !f.annotation.is_empty());
    let encoding = if events.is_empty() && !annotated {
        encoding
    } else {
        Encoding::Json
    };
    let raw = match encoding {
        Encoding::Json => {
            let batch = BatchV1 {
                v: PROTOCOL_VERSION,
                device: device_id.to_owned(),
                stream: stream.to_owned(),
                batch: idempotency_key.clone(),
                first_seq,
                fixes: wire,
                events: events.iter().map(wire_event).collect(),
            };
            // Serialising plain data into a Vec cannot fail.
            serde_json::to_vec(&batch).ok()?
        }
        Encoding::Compact => compact::encode(device_id, stream, first_seq, &wire),
    };
    Some(EncodedBatch {
        first_seq,
        last_seq: fix_range.map_or(0, |r| r.1),
        fix_count: fixes.len() as u64,
        first_event_seq: event_range.map(|r| r.0),
        last_event_seq: event_range.map(|r| r.1),
        event_count: events.len() as u64,
        idempotency_key,
        body: gzip(&raw),
        uncompressed_len: raw.len(),
        content_type: encoding.content_type(),
    })
}

/// Gzip at the best level: a batch is compressed once and may be sent over a slow radio.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// One HTTP request as the uploader wants it sent.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub url: Url,
    pub bearer_token: String,
    pub idempotency_key: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

impl UploadRequest {
    /// Every header the request carries, in one place for every transport.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Authorization", format!("Bearer {}", self.bearer_token)),
            ("Content-Type", self.content_type.to_owned()),
            ("Content-Encoding", "gzip".to_owned()),
            (IDEMPOTENCY_HEADER, self.idempotency_key.clone()),
        ]
    }
}

/// What came back, reduced to what the uploader decides on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UploadResponse {
    pub status: u16,
    /// `Retry-After` in seconds, when the server sent one.
    pub retry_after_s: Option<u64>,
    /// The start of the answer's body (at most [`MAX_RESPONSE_BODY`] bytes): a 2xx from a
    /// protocol v1 server says how many fixes it already had.
    pub body: Vec<u8>,
}

/// Most bytes of an answer's body that a transport keeps; a v1 answer is a few dozen.
pub const MAX_RESPONSE_BODY: usize = 4096;

impl UploadResponse {
    /// The server's counts, when the body is a protocol v1 answer.
    pub fn ingest_counts(&self) -> Option<IngestResponse> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransportError {
    #[error("request timed out")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
}

pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<UploadResponse, TransportError>> + Send + 'a>>;

/// Sends one request. The default is reqwest with rustls; a platform may supply its own.
pub trait Transport: Send + Sync {
    fn send(&self, request: UploadRequest) -> TransportFuture<'_>;
}

/// The default transport: reqwest over rustls with the webpki root store.
#[cfg(feature = "reqwest-transport")]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

#[cfg(feature = "reqwest-transport")]
impl ReqwestTransport {
    pub fn new() -> Result<ReqwestTransport, TransportError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("tracelet/", env!("CARGO_PKG_VERSION")))
            .https_only(false) // loopback http is allowed; config validation enforces https
            // A followed 301/302/303 would turn the POST into a bodiless GET whose 2xx would
            // delete a batch the server never stored.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Network(e.to_string()))?;
        Ok(ReqwestTransport { client })
    }
}

#[cfg(feature = "reqwest-transport")]
impl Transport for ReqwestTransport {
    fn send(&self, request: UploadRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let mut builder = self
                .client
                .post(request.url.clone())
                .timeout(request.timeout);
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let network_error = |e: reqwest::Error| {
                if e.is_timeout() {
                    TransportError::Timeout
                } else {
                    // reqwest's message names the URL, never the body.
                    TransportError::Network(e.without_url().to_string())
                }
            };
            let mut response = builder
                .body(request.body)
                .send()
                .await
                .map_err(network_error)?;
            let retry_after_s = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let status = response.status().as_u16();
            // Read at most MAX_RESPONSE_BODY bytes: a hostile server cannot make us buffer more.
            let mut body = Vec::new();
            while body.len() < MAX_RESPONSE_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    // The status decided the outcome; a body cut short only loses the counts.
                    Ok(None) | Err(_) => break,
                }
            }
            body.truncate(MAX_RESPONSE_BODY);
            Ok(UploadResponse {
                status,
                retry_after_s,
                body,
            })
        })
    }
}

/// What the uploader does with an answer (the delivery contract in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseClass {
    /// 2xx: the server stored the batch; delete it.
    Delivered,
    /// 408, 429, 5xx, network errors: keep it and retry later.
    Retry { retry_after_s: Option<u64> },
    /// 401: the token was refused; ask the app for a new one, then retry.
    Unauthorized,
    /// 413: split the batch.
    TooLarge,
    /// Any other 4xx: the server will never take this batch; dead-letter it.
    Rejected,
}

pub fn classify(result: &Result<UploadResponse, TransportError>) -> ResponseClass {
    let response = match result {
        Ok(response) => response,
        Err(_) => {
            return ResponseClass::Retry {
                retry_after_s: None,
            };
        }
    };
    match response.status {
        200..=299 => ResponseClass::Delivered,
        401 => ResponseClass::Unauthorized,
        413 => ResponseClass::TooLarge,
        408 | 429 | 500..=599 => ResponseClass::Retry {
            retry_after_s: response.retry_after_s,
        },
        400..=499 => ResponseClass::Rejected,
        // 1xx/3xx should never reach us (redirects are followed): treat as transient.
        _ => ResponseClass::Retry {
            retry_after_s: response.retry_after_s,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::Fix;
    use flate2::read::GzDecoder;
    use std::io::Read;

    fn stored(seq: u64) -> StoredFix {
        StoredFix {
            seq,
            fix: Fix::new(1_700_000_000_000 + seq as i64, 1.0, 2.0, 3.0),
            smoothed: None,
            annotation: Default::default(),
        }
    }

    #[test]
    fn batch_body_is_gzip_json_with_a_stable_key() {
        let fixes: Vec<StoredFix> = (7..=9).map(stored).collect();
        let batch = encode_batch("dev-1", "s1", &fixes, &[], Encoding::Json).unwrap();
        assert_eq!(batch.idempotency_key, "s1:7-9");
        assert_eq!(batch.fix_count(), 3);
        let mut json = String::new();
        GzDecoder::new(&batch.body[..])
            .read_to_string(&mut json)
            .unwrap();
        let decoded: BatchV1 = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded.first_seq, 7);
        assert_eq!(decoded.batch, "s1:7-9");
        assert_eq!(decoded.stream, "s1");
        assert_eq!(decoded.fixes.len(), 3);
        assert_eq!(
            encode_batch("dev-1", "s1", &fixes, &[], Encoding::Json),
            Some(batch)
        );
    }

    #[test]
    fn compact_bodies_decode_to_the_same_fixes() {
        let fixes: Vec<StoredFix> = (7..=9).map(stored).collect();
        let json = encode_batch("dev-1", "s1", &fixes, &[], Encoding::Json).unwrap();
        let compact = encode_batch("dev-1", "s1", &fixes, &[], Encoding::Compact).unwrap();
        assert_eq!(compact.idempotency_key, json.idempotency_key);
        let mut raw = Vec::new();
        GzDecoder::new(&compact.body[..])
            .read_to_end(&mut raw)
            .unwrap();
        let decoded = compact::decode(&raw).unwrap();
        assert_eq!(decoded.batch, "s1:7-9");
        assert_eq!(decoded.fixes.len(), 3);
    }

    #[test]
    fn empty_batches_are_not_encoded() {
        assert_eq!(encode_batch("dev-1", "s1", &[], &[], Encoding::Json), None);
    }

    #[test]
    fn response_classes_follow_the_contract() {
        let status = |s| {
            classify(&Ok(UploadResponse {
                status: s,
                retry_after_s: Some(7),
                body: Vec::new(),
            }))
        };
        assert_eq!(status(200), ResponseClass::Delivered);
        assert_eq!(status(204), ResponseClass::Delivered);
        assert_eq!(status(401), ResponseClass::Unauthorized);
        assert_eq!(status(413), ResponseClass::TooLarge);
        for s in [408, 429, 500, 503] {
            assert_eq!(
                status(s),
                ResponseClass::Retry {
                    retry_after_s: Some(7)
                }
            );
        }
        for s in [400, 403, 404, 422] {
            assert_eq!(status(s), ResponseClass::Rejected);
        }
        assert_eq!(
            classify(&Err(TransportError::Timeout)),
            ResponseClass::Retry {
                retry_after_s: None
            }
        );
    }
}
