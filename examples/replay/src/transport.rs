//! Upload transports for the replay: a counting sink (`--no-upload`) that answers 200, or the
//! real HTTP transport to an in-process collector. Both log each request at simulated time,
//! which is what the radio model needs.

use std::io::Read;
use std::sync::{Arc, Mutex};

use flate2::read::GzDecoder;
use tracelet_core::compact;
use tracelet_core::protocol::{BatchV1, CONTENT_TYPE_JSON};

use tracelet_core::upload::{
    ReqwestTransport, Transport, TransportFuture, UploadRequest, UploadResponse,
};
use tracelet_core::{Clock, ManualClock};

use crate::geo::Point;
use crate::subject::Upload;

pub struct CountingTransport {
    clock: Arc<ManualClock>,
    /// Trace time at the monotonic clock's zero: uploads are logged on the trace's own
    /// timeline, which a step of the phone's clock (`--clock-step`) does not move.
    origin_ms: i64,
    /// `None`: answer 200 without sending anything.
    inner: Option<ReqwestTransport>,
    log: Mutex<Vec<Upload>>,
    /// Positions of delivered fixes, decoded from the bodies: exactly what the server got.
    delivered: Mutex<Vec<Point>>,
}

impl CountingTransport {
    pub fn new(clock: Arc<ManualClock>, inner: Option<ReqwestTransport>) -> CountingTransport {
        CountingTransport {
            origin_ms: clock.now_ms() - clock.monotonic_ms(),
            clock,
            inner,
            log: Mutex::new(Vec::new()),
            delivered: Mutex::new(Vec::new()),
        }
    }

    /// Every request sent so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        lock(&self.log).clone()
    }

    /// Every fix the server acknowledged, in upload order.
    pub fn delivered_track(&self) -> Vec<Point> {
        lock(&self.delivered).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The fixes of a gzip'd JSON or compact body; empty if it cannot be read.
fn decode(body: &[u8], content_type: &str) -> Vec<Point> {
    let mut raw = Vec::new();
    if GzDecoder::new(body).read_to_end(&mut raw).is_err() {
        return Vec::new();
    }
    let batch = if content_type == CONTENT_TYPE_JSON {
        serde_json::from_slice::<BatchV1>(&raw).ok()
    } else {
        compact::decode(&raw).ok()
    };
    batch
        .map(|b| {
            b.fixes
                .iter()
                .map(|w| Point {
                    time_ms: w.t,
                    lat: w.la,
                    lon: w.lo,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Transport for CountingTransport {
    fn send(&self, request: UploadRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let points = decode(&request.body, request.content_type);
            let upload = Upload {
                time_ms: self.origin_ms + self.clock.monotonic_ms(),
                bytes: request.body.len() as u64,
                fixes: points.len() as u64,
            };
            let result = match &self.inner {
                Some(inner) => inner.send(request).await,
                None => Ok(UploadResponse {
                    status: 200,
                    ..UploadResponse::default()
                }),
            };
            if result
                .as_ref()
                .is_ok_and(|r| (200..300).contains(&r.status))
            {
                lock(&self.delivered).extend(points);
            }
            // Failed attempts used the radio too.
            lock(&self.log).push(upload);
            result
        })
    }
}
