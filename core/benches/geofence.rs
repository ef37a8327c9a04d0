//! Cost of choosing the OS regions among 10,000 geofences: target <= 50 us.
//!
//! 10,000 geofences (one in five a polygon) spread over a 100 km square, as a large fleet's
//! customer sites would be; the device sits in the middle. Also measures one fix through the
//! whole engine, for reference.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracelet_core::geofence::{ANDROID_MAX_REGIONS, Geofence, GeofenceEngine, IOS_MAX_REGIONS};

const LAT0: f64 = 48.85;
const LON0: f64 = 2.35;

fn engine(n: usize) -> GeofenceEngine {
    let mut engine = GeofenceEngine::default();
    // A fixed linear congruential sequence: deterministic without a rand dependency.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..n {
        let lat = LAT0 + (next() - 0.5) * 0.9;
        let lon = LON0 + (next() - 0.5) * 1.35;
        let fence = if i % 5 == 0 {
            let d = 0.001 + next() * 0.002;
            Geofence::polygon(
                format!("p{i}"),
                vec![
                    (lat, lon),
                    (lat + d, lon),
                    (lat + d, lon + d),
                    (lat, lon + 2.0 * d),
                ],
            )
        } else {
            Geofence::circle(format!("c{i}"), lat, lon, 50.0 + next() * 450.0)
        };
        engine.add(fence).expect("valid bench geofence");
    }
    engine
}

fn regions(c: &mut Criterion) {
    let engine = engine(10_000);
    for (name, limit) in [
        ("geofence_regions/10k/ios_20", IOS_MAX_REGIONS),
        ("geofence_regions/10k/android_100", ANDROID_MAX_REGIONS),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| engine.region_request(black_box(LAT0), black_box(LON0), limit))
        });
    }
    let mut moving = engine.clone();
    let mut t = 1_700_000_000_000_i64;
    c.bench_function("geofence_process/10k/per_fix", |b| {
        b.iter(|| {
            t += 1000;
            moving.process(black_box(LAT0), black_box(LON0), 10.0, t)
        })
    });
}

criterion_group!(benches, regions);
criterion_main!(benches);
