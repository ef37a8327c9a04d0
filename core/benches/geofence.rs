//! Cost of choosing the OS regions among 10,000 geofences: target <= 50 us.
//!
//! 10,000 geofences (one in five a polygon) spread over a 100 km square, as a large fleet's
//! customer sites would be; the device sits in the middle. Also measures one fix through the
//! whole engine, for reference.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracelet_core::geofence::synthetic::fleet_sites;
use tracelet_core::geofence::{ANDROID_MAX_REGIONS, GeofenceEngine, IOS_MAX_REGIONS};

const LAT0: f64 = 48.85;
const LON0: f64 = 2.35;

fn engine(n: usize) -> GeofenceEngine {
    let mut engine = GeofenceEngine::default();
    for fence in fleet_sites(n, LAT0, LON0) {
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
