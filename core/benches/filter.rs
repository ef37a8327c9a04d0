//! Cost per fix of validation + gates + Kalman smoothing (no storage): target <= 1 us.
//!
//! Drives the filter with a 1 Hz drive (10 m/s, gentle zig-zag, speed and bearing reported)
//! so that every stage runs on the accepted path, which is the most expensive one.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracelet_core::Fix;
use tracelet_core::filter::{Filter, FilterConfig, FilterContext};

const T0: i64 = 1_700_000_000_000;

fn drive(n: i64) -> Vec<Fix> {
    (0..n)
        .map(|s| {
            let north = s as f64 * 10.0;
            let east = if s % 2 == 0 { 2.0 } else { -2.0 };
            Fix {
                speed_mps: Some(10.0),
                bearing_deg: Some(0.0),
                ..Fix::new(
                    T0 + s * 1000,
                    37.0 + north / 111_195.0,
                    -122.0 + east / 88_800.0,
                    5.0,
                )
            }
        })
        .collect()
}

fn per_fix(c: &mut Criterion) {
    let fixes = drive(1000);
    let ctx = FilterContext::default();
    for (name, config) in [
        ("filter_per_fix/balanced_kalman", FilterConfig::balanced()),
        (
            "filter_per_fix/balanced_no_kalman",
            FilterConfig {
                kalman: None,
                ..FilterConfig::balanced()
            },
        ),
    ] {
        c.bench_function(name, |b| {
            let mut filter = Filter::new(config);
            let mut i = 0usize;
            b.iter(|| {
                // Loop over the drive; a new track each lap keeps the fixes in order.
                if i == fixes.len() {
                    i = 0;
                    filter.reset_track();
                }
                let fix = &fixes[i];
                i += 1;
                black_box(filter.process(black_box(fix), fix.time_ms, &ctx))
            });
        });
    }
}

criterion_group!(benches, per_fix);
criterion_main!(benches);
