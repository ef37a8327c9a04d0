//! HTTP as the app controls it: the platform's own HTTP stack behind [`HttpTransport`]
//! (proxies, custom CAs, pinning), and the app's headers and batch params.

use std::collections::HashMap;
use std::sync::Arc;

use tracelet_core as core;

use crate::{Tracelet, TraceletError, places::pairs};

/// One HTTP request, as the SDK wants a platform transport to send it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<HttpHeader>,
    /// The gzip-compressed body.
    pub body: Vec<u8>,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    /// `Retry-After` in whole seconds, when the server sent one.
    pub retry_after_s: Option<u64>,
    /// The answer's body, or its first 4 KiB: a 2xx body's duplicate count is how the SDK
    /// notices a delivery anomaly. Empty is allowed and turns that check off.
    pub body: Vec<u8>,
}

/// Why a platform transport could not get an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportFailure {
    #[error("request timed out")]
    Timeout,
    #[error("network error: {reason}")]
    Network { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TransportFailure::Network { reason: e.reason }
    }
}

/// A platform's own HTTP stack (OkHttp, URLSession). Called on the SDK's upload thread, one
/// request at a time, so a blocking implementation is right. Must not follow redirects.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}

/// Runs a platform transport. Its call blocks, so it runs on a thread of its own (tokio's
/// blocking pool): the uploader can then give up on it at the request timeout or at shutdown,
/// even if the platform's code never returns.
pub(crate) struct ForeignTransport(pub(crate) Arc<dyn HttpTransport>);

impl core::upload::Transport for ForeignTransport {
    fn send(&self, request: core::upload::UploadRequest) -> core::upload::TransportFuture<'_> {
        let foreign = HttpRequest {
            url: request.url.to_string(),
            headers: request
                .headers()
                .into_iter()
                .map(|(name, value)| HttpHeader {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
            timeout_ms: u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
            body: request.body,
        };
        let transport = Arc::clone(&self.0);
        Box::pin(async move {
            let call = tokio::task::spawn_blocking(move || transport.send(foreign));
            match call.await {
                Ok(Ok(mut r)) => Ok(core::upload::UploadResponse {
                    status: r.status,
                    retry_after_s: r.retry_after_s,
                    body: {
                        r.body.truncate(core::upload::MAX_RESPONSE_BODY);
                        r.body
                    },
                }),
                Ok(Err(TransportFailure::Timeout)) => Err(core::upload::TransportError::Timeout),
                Ok(Err(TransportFailure::Network { reason })) => {
                    Err(core::upload::TransportError::Network(reason))
                }
                Err(_) => Err(core::upload::TransportError::Network(
                    "the platform transport did not complete".into(),
                )),
            }
        })
    }
}

/// Header records as the core's name/value pairs.
pub(crate) fn header_pairs(headers: Vec<HttpHeader>) -> Vec<(String, String)> {
    headers.into_iter().map(|h| (h.name, h.value)).collect()
}

#[uniffi::export]
impl Tracelet {
    /// Replaces the app's headers from the next request on (empty removes them). A refused
    /// list is `InvalidHeader` and the headers in force are kept. Values are never logged.
    pub fn set_headers(&self, headers: Vec<HttpHeader>) -> Result<(), TraceletError> {
        Ok(self.tracker.set_headers(header_pairs(headers))?)
    }

    pub fn headers(&self) -> Vec<HttpHeader> {
        self.tracker
            .headers()
            .into_iter()
            .map(|(name, value)| HttpHeader { name, value })
            .collect()
    }

    /// Replaces the batch params from the next request on (empty removes them). Past the
    /// metadata caps it is `InvalidMetadata` and the params in force are kept.
    pub fn set_params(&self, params: HashMap<String, String>) -> Result<(), TraceletError> {
        Ok(self.tracker.set_params(pairs(params))?)
    }

    pub fn params(&self) -> HashMap<String, String> {
        self.tracker.params().into_iter().collect()
    }
}
