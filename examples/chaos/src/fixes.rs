//! The deterministic fix stream both scenarios record: fix `i` is identified by its time.

use tracelet_core::Fix;
use tracelet_core::fix::Provider;

/// 2024-01-01T00:00:00Z: fixed, so runs compare across days.
pub const BASE_TIME_MS: i64 = 1_704_067_200_000;

/// Fix number `i` of the stream: one per second along a slow diagonal walk.
pub fn fix(i: u64) -> Fix {
    let step = i as f64;
    Fix {
        speed_mps: Some(1.3),
        provider: Provider::Gps,
        ..Fix::new(time_of(i), 47.37 + step * 1e-5, 8.54 + step * 1e-5, 5.0)
    }
}

pub fn time_of(i: u64) -> i64 {
    BASE_TIME_MS + i as i64 * 1000
}

/// Inverse of [`time_of`]; `None` for times not on the stream.
pub fn index_of(time_ms: i64) -> Option<u64> {
    let offset = time_ms - BASE_TIME_MS;
    (offset >= 0 && offset % 1000 == 0).then_some((offset / 1000) as u64)
}
