//! Tracker configuration and its validation.

use std::net::IpAddr;
use std::path::PathBuf;

use thiserror::Error;
use url::Url;

use crate::filter::FilterConfig;
use crate::geofence::{GeofenceConfig, IOS_MAX_REGIONS, STATIONARY_REGION_SLOTS};
use crate::logs::LogConfig;
use crate::policy::PolicyConfig;
use crate::request_extras::{RequestExtras, RequestExtrasError};
use crate::store::{StoreLimits, StreamIds};
use crate::upload::Encoding;

/// Everything the app tells the tracker once, at `configure` time.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Ingest endpoint (protocol v1). HTTPS is required except for loopback hosts.
    pub endpoint: String,
    /// Stable per-install identifier; the server dedupes on (device id, sequence).
    pub device_id: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: String,
    /// Directory that holds the queue database. Created if missing.
    pub storage_dir: PathBuf,
    /// Directory for the queue's install marker (see `store/streams.rs`): somewhere backups
    /// never reach, so that a queue restored from a backup is recognised as a copy and starts
    /// a new stream. `None` keeps it in `storage_dir`.
    pub marker_dir: Option<PathBuf>,
    pub upload: UploadPolicy,
    /// Bounds of the offline queue.
    pub store_limits: StoreLimits,
    /// The motion policy: when GNSS runs.
    pub policy: PolicyConfig,
    /// The on-device filter; `None` stores every valid fix.
    pub filter: Option<FilterConfig>,
    /// Seed for backoff jitter; `None` seeds from the clock. Tests and replays set it.
    pub jitter_seed: Option<u64>,
    /// Where the queue's stream ids come from: random (the default, and the only safe choice in
    /// an app), or seeded for replays whose output must repeat byte for byte.
    pub stream_ids: StreamIds,
    /// Hysteresis and accuracy cap of the geofence events.
    pub geofence: GeofenceConfig,
    /// How many regions the OS watches for this app ([`IOS_MAX_REGIONS`] by default, the
    /// platform layer sets [`crate::geofence::ANDROID_MAX_REGIONS`] on Android).
    pub os_max_regions: usize,
    /// The app's own headers on every upload request (validated: see
    /// [`crate::request_extras`]); `Tracker::set_headers` replaces them later.
    pub headers: Vec<(String, String)>,
    /// Extra fields at the batch level of every JSON body (`params`); `Tracker::set_params`
    /// replaces them later.
    pub params: Vec<(String, String)>,
    /// The on-device log's level and bounds (`crate::logs`); `Tracker::set_log_config`
    /// changes them later.
    pub logs: LogConfig,
}

/// When and how much to upload. Every limit is named here rather than buried in the uploader.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPolicy {
    /// Upload as soon as this many fixes are pending.
    pub batch_trigger_count: u32,
    /// Most fixes in one request.
    pub max_batch_fixes: u32,
    /// Largest compressed request body; a larger batch is split before it is sent.
    pub max_batch_bytes: usize,
    /// Upload pending fixes once the oldest has waited this long, even below the count trigger.
    pub max_delay_ms: i64,
    /// Per-request timeout.
    pub request_timeout_ms: u64,
    /// First retry delay after a failed upload; doubles up to `max_backoff_ms`.
    pub min_backoff_ms: i64,
    pub max_backoff_ms: i64,
    /// A server's `Retry-After` is honoured up to this long.
    pub max_retry_after_ms: i64,
    /// Upload only on unmetered networks (Wi-Fi); fixes wait in the queue otherwise.
    pub unmetered_only: bool,
    /// Body encoding; the server must accept the compact one before it is chosen.
    pub encoding: Encoding,
    /// Upload the filter's smoothed position beside the raw one (JSON bodies; fields `sla`,
    /// `slo`, `sac`). The raw position is always uploaded.
    pub include_smoothed: bool,
    /// Upload on the tracker's own triggers. Off, only `flush` uploads; `upload_wanted` says
    /// when the triggers would have fired (replays use this for deterministic timing).
    pub automatic: bool,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            batch_trigger_count: 100,
            max_batch_fixes: 500,
            max_batch_bytes: 256 * 1024,
            max_delay_ms: 5 * 60 * 1000,
            request_timeout_ms: 30_000,
            min_backoff_ms: 5_000,
            max_backoff_ms: 15 * 60 * 1000,
            max_retry_after_ms: 60 * 60 * 1000,
            unmetered_only: false,
            encoding: Encoding::Json,
            include_smoothed: false,
            automatic: true,
        }
    }
}

/// A configuration the tracker refuses, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("endpoint is not a valid absolute URL")]
    EndpointNotUrl,
    #[error("endpoint must use https (plain http is allowed only for loopback hosts)")]
    EndpointNotHttps,
    #[error("device id must be 1-128 characters of [A-Za-z0-9._:-]")]
    BadDeviceId,
    #[error("bearer token must be 1 to 8192 bytes of visible ASCII")]
    BadToken,
    #[error("storage directory must be set")]
    NoStorageDir,
    #[error("store limits must allow at least 1 fix, a positive age and 64 KiB")]
    BadStoreLimits,
    #[error("sampling policy parameters are out of range")]
    BadPolicy,
    #[error("filter parameters are out of range")]
    BadFilter,
    #[error("geofence parameters are out of range")]
    BadGeofenceConfig,
    #[error("upload policy: {0}")]
    BadUploadPolicy(&'static str),
    #[error("log bounds must allow at least 16 KiB and a positive age")]
    BadLogConfig,
    #[error("request extras: {0}")]
    BadRequestExtras(#[from] RequestExtrasError),
}

impl TrackerConfig {
    pub fn new(
        endpoint: impl Into<String>,
        device_id: impl Into<String>,
        bearer_token: impl Into<String>,
        storage_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            device_id: device_id.into(),
            bearer_token: bearer_token.into(),
            storage_dir: storage_dir.into(),
            marker_dir: None,
            upload: UploadPolicy::default(),
            store_limits: StoreLimits::default(),
            policy: PolicyConfig::balanced(),
            filter: Some(FilterConfig::balanced()),
            jitter_seed: None,
            stream_ids: StreamIds::Random,
            geofence: GeofenceConfig::default(),
            os_max_regions: IOS_MAX_REGIONS,
            headers: Vec::new(),
            params: Vec::new(),
            logs: LogConfig::default(),
        }
    }

    /// Applies a named preset (`efficient`, `balanced`, `continuous`) to the policy, the
    /// filter and the upload interval while moving. Returns false for an unknown name.
    pub fn apply_preset(&mut self, name: &str) -> bool {
        let (Some(policy), filter) = (
            PolicyConfig::preset(name),
            match name {
                "efficient" => FilterConfig::efficient(),
                "continuous" => FilterConfig::continuous(),
                _ => FilterConfig::balanced(),
            },
        ) else {
            return false;
        };
        self.upload.max_delay_ms = policy.moving_upload_interval_ms;
        self.policy = policy;
        self.filter = Some(filter);
        true
    }

    /// Checks every field and returns the parsed endpoint.
    pub fn validate(&self) -> Result<Url, ConfigError> {
        let url = Url::parse(&self.endpoint).map_err(|_| ConfigError::EndpointNotUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(ConfigError::EndpointNotHttps),
            _ => return Err(ConfigError::EndpointNotUrl),
        }
        if url.host().is_none() {
            return Err(ConfigError::EndpointNotUrl);
        }
        let id_ok = (1..=128).contains(&self.device_id.len())
            && self
                .device_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if !id_ok {
            return Err(ConfigError::BadDeviceId);
        }
        if !crate::tracker::is_valid_token(&self.bearer_token) {
            return Err(ConfigError::BadToken);
        }
        if self.storage_dir.as_os_str().is_empty() {
            return Err(ConfigError::NoStorageDir);
        }
        self.upload.validate()?;
        if !self.policy.is_valid() {
            return Err(ConfigError::BadPolicy);
        }
        if self.filter.as_ref().is_some_and(|f| !f.is_valid()) {
            return Err(ConfigError::BadFilter);
        }
        let g = &self.geofence;
        let geofence_ok = (0.0..=1_000.0).contains(&g.hysteresis_m)
            && g.accuracy_cap_m >= 0.0
            && !g.accuracy_cap_m.is_nan()
            && (1..=100).contains(&g.exit_confirmations)
            && (STATIONARY_REGION_SLOTS + 1..=1_000).contains(&self.os_max_regions);
        if !geofence_ok {
            return Err(ConfigError::BadGeofenceConfig);
        }
        let limits = &self.store_limits;
        if limits.max_fixes == 0 || limits.max_age_ms <= 0 || limits.max_bytes < 64 * 1024 {
            return Err(ConfigError::BadStoreLimits);
        }
        if !self.logs.is_valid() {
            return Err(ConfigError::BadLogConfig);
        }
        self.request_extras()?;
        Ok(url)
    }

    /// The configured headers and params, validated.
    pub fn request_extras(&self) -> Result<RequestExtras, ConfigError> {
        Ok(RequestExtras::new(
            self.headers.clone(),
            self.params.clone(),
        )?)
    }
}

impl UploadPolicy {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_batch_fixes == 0 || self.max_batch_fixes > 10_000 {
            return Err(ConfigError::BadUploadPolicy(
                "max_batch_fixes must be 1-10000",
            ));
        }
        if self.batch_trigger_count == 0 {
            return Err(ConfigError::BadUploadPolicy(
                "batch_trigger_count must be >= 1",
            ));
        }
        if self.max_delay_ms < 0 || self.min_backoff_ms <= 0 {
            return Err(ConfigError::BadUploadPolicy("delays must be positive"));
        }
        if self.max_backoff_ms < self.min_backoff_ms {
            return Err(ConfigError::BadUploadPolicy(
                "max_backoff_ms must be >= min_backoff_ms",
            ));
        }
        if self.max_batch_bytes < 1024 {
            return Err(ConfigError::BadUploadPolicy(
                "max_batch_bytes must be >= 1024",
            ));
        }
        if self.request_timeout_ms == 0 {
            return Err(ConfigError::BadUploadPolicy(
                "request_timeout_ms must be > 0",
            ));
        }
        Ok(())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str) -> TrackerConfig {
        TrackerConfig::new(endpoint, "device-1", "token", "/tmp/x")
    }

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        assert!(
            config("https://ingest.example.com/v1/batches")
                .validate()
                .is_ok()
        );
        assert!(
            config("http://127.0.0.1:8080/v1/batches")
                .validate()
                .is_ok()
        );
        assert!(config("http://[::1]:8080/v1/batches").validate().is_ok());
        assert!(config("http://localhost/v1/batches").validate().is_ok());
        assert_eq!(
            config("http://ingest.example.com/v1/batches").validate(),
            Err(ConfigError::EndpointNotHttps)
        );
        assert_eq!(
            config("not a url").validate(),
            Err(ConfigError::EndpointNotUrl)
        );
        assert_eq!(
            config("ftp://x/").validate(),
            Err(ConfigError::EndpointNotUrl)
        );
    }

    #[test]
    fn device_id_and_token_rules() {
        let mut c = config("https://x.example/");
        c.device_id = String::new();
        assert_eq!(c.validate(), Err(ConfigError::BadDeviceId));
        c.device_id = "a b".into();
        assert_eq!(c.validate(), Err(ConfigError::BadDeviceId));
        c.device_id = "ok-1".into();
        c.bearer_token = "with space".into();
        assert_eq!(c.validate(), Err(ConfigError::BadToken));
    }

    proptest::proptest! {
        /// Configuration parsing is total: any strings give Ok or a typed error, and what is
        /// accepted keeps the rules the rest of the SDK relies on.
        #[test]
        fn validation_is_total_and_sound(
            endpoint in proptest::prop_oneof![
                ".{0,40}",
                "(https?|ftp)://[a-z0-9.:\\[\\]-]{0,20}(/[a-z]{0,5})?",
            ],
            device in ".{0,140}",
            token in ".{0,20}",
            dir in ".{0,10}",
        ) {
            let config = TrackerConfig::new(endpoint, device.clone(), token.clone(), dir);
            if let Ok(url) = config.validate() {
                proptest::prop_assert!(url.scheme() == "https" || is_loopback(&url));
                proptest::prop_assert!(!device.is_empty() && device.len() <= 128);
                proptest::prop_assert!(device.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)));
                proptest::prop_assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
            }
        }
    }

    #[test]
    fn upload_policy_limits() {
        let mut c = config("https://x.example/");
        c.upload.max_batch_fixes = 0;
        assert!(matches!(c.validate(), Err(ConfigError::BadUploadPolicy(_))));
    }
}
