//! A deterministic set of geofences for benchmarks: a large fleet's customer sites.

use super::model::Geofence;

/// `n` geofences spread over a square of about 100 km around `(lat, lon)`: circles of 50 to
/// 500 m, and every fifth a small four-sided polygon. The same `n` always gives the same set.
pub fn fleet_sites(n: usize, lat: f64, lon: f64) -> Vec<Geofence> {
    // A fixed linear congruential sequence: deterministic without a rand dependency.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let la = lat + (next() - 0.5) * 0.9;
            let lo = lon + (next() - 0.5) * 1.35;
            if i % 5 == 0 {
                let d = 0.001 + next() * 0.002;
                Geofence::polygon(
                    format!("p{i}"),
                    vec![(la, lo), (la + d, lo), (la + d, lo + d), (la, lo + 2.0 * d)],
                )
            } else {
                Geofence::circle(format!("c{i}"), la, lo, 50.0 + next() * 450.0)
            }
        })
        .collect()
}
