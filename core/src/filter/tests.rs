use super::*;
use crate::fix::Provider;
use crate::geodesy::{LocalPlane, distance_m};
use crate::test_traces::{data, emission_day};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
/// Degrees of latitude per metre (spherical Earth).
const DEG_PER_M: f64 = 1.0 / 111_195.0;

fn at(second: i64, north_m: f64, acc: f64) -> Fix {
    Fix::new(T0 + second * 1000, 37.0 + north_m * DEG_PER_M, -122.0, acc)
}

fn run(filter: &mut Filter, fixes: &[Fix]) -> Vec<FilterDecision> {
    let ctx = FilterContext::default();
    fixes
        .iter()
        .map(|f| filter.process(f, f.time_ms, &ctx))
        .collect()
}

fn reasons(decisions: &[FilterDecision]) -> Vec<Option<RejectReason>> {
    decisions
        .iter()
        .map(|d| match d {
            FilterDecision::Accept { .. } => None,
            FilterDecision::Reject(r) => Some(*r),
        })
        .collect()
}

/// A straight walk north at 1.5 m/s, 1 Hz.
fn walk(from_s: i64, n: i64, acc: f64) -> Vec<Fix> {
    (from_s..from_s + n)
        .map(|s| at(s, s as f64 * 1.5, acc))
        .collect()
}

#[test]
fn reason_names_are_stable_and_unique() {
    let names: Vec<_> = RejectReason::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        [
            "invalid_value",
            "bad_accuracy",
            "time_too_old",
            "time_in_future",
            "duplicate",
            "out_of_order",
            "mock",
            "accuracy_too_low",
            "superseded",
            "implied_speed",
            "stationary",
            "privacy_zone"
        ]
    );
    for r in RejectReason::ALL {
        assert_eq!(RejectReason::from_name(r.name()), Some(r));
    }
}

#[test]
fn presets_are_valid_and_ordered_by_strictness() {
    let (e, b, c) = (
        FilterConfig::efficient(),
        FilterConfig::balanced(),
        FilterConfig::continuous(),
    );
    assert!(e.is_valid() && b.is_valid() && c.is_valid());
    assert!(e.max_accuracy_m > b.max_accuracy_m && b.max_accuracy_m > c.max_accuracy_m);
    let broken = FilterConfig {
        max_accuracy_m: f64::NAN,
        ..b
    };
    assert!(!broken.is_valid());
}

#[test]
fn a_clean_walk_is_all_accepted_and_smoothed() {
    let mut f = Filter::new(FilterConfig::balanced());
    let d = run(&mut f, &walk(0, 30, 5.0));
    assert!(d.iter().all(FilterDecision::is_accept));
    assert_eq!(f.counters().accepted, 30);
    assert_eq!(f.counters().smoothed, 30);
}

#[test]
fn validation_failures_are_counted_not_panicked() {
    let mut f = Filter::new(FilterConfig::balanced());
    let nan = Fix {
        latitude_deg: f64::NAN,
        ..at(0, 0.0, 5.0)
    };
    let bad_acc = at(1, 0.0, 0.0);
    let old = Fix {
        time_ms: 0,
        ..at(2, 0.0, 5.0)
    };
    let future = at(3, 0.0, 5.0);
    let ctx = FilterContext::default();
    assert_eq!(
        f.process(&nan, T0, &ctx),
        FilterDecision::Reject(RejectReason::InvalidValue)
    );
    assert_eq!(
        f.process(&bad_acc, T0, &ctx),
        FilterDecision::Reject(RejectReason::BadAccuracy)
    );
    assert_eq!(
        f.process(&old, T0, &ctx),
        FilterDecision::Reject(RejectReason::TimeTooOld)
    );
    assert_eq!(
        f.process(&future, T0 - 3_600_000, &ctx),
        FilterDecision::Reject(RejectReason::TimeInFuture)
    );
    assert_eq!(f.counters().rejected_total(), 4);
}

#[test]
fn duplicates_and_out_of_order_fixes_are_refused() {
    let mut f = Filter::new(FilterConfig::balanced());
    let fixes = [
        at(0, 0.0, 5.0),
        at(1, 1.0, 5.0),
        at(1, 1.0, 5.0),
        at(0, 0.0, 5.0),
        at(2, 2.0, 5.0),
    ];
    assert_eq!(
        reasons(&run(&mut f, &fixes)),
        [
            None,
            None,
            Some(RejectReason::Duplicate),
            Some(RejectReason::OutOfOrder),
            None
        ]
    );
}

#[test]
fn the_monotonic_clock_wins_over_a_stepped_wall_clock() {
    let mut f = Filter::new(FilterConfig::balanced());
    let with_ert = |s: i64, wall_s: i64| Fix {
        elapsed_realtime_ns: Some(1_000_000_000 * (100 + s)),
        ..at(wall_s, s as f64, 5.0)
    };
    // The wall clock steps back 30 s between the second and third fix; elapsed time does not.
    let fixes = [with_ert(0, 100), with_ert(1, 101), with_ert(2, 72)];
    assert!(run(&mut f, &fixes).iter().all(FilterDecision::is_accept));
    // And a real reordering is caught by the monotonic clock even if wall times look fine.
    let late = Fix {
        elapsed_realtime_ns: Some(1_000_000_000 * 101),
        ..at(200, 2.0, 5.0)
    };
    assert_eq!(
        f.process(&late, late.time_ms, &FilterContext::default()),
        FilterDecision::Reject(RejectReason::OutOfOrder)
    );
}

#[test]
fn mock_fixes_are_refused_only_when_configured() {
    let mock = Fix {
        is_mock: true,
        ..at(0, 0.0, 5.0)
    };
    let mut keep = Filter::new(FilterConfig::balanced());
    assert!(run(&mut keep, std::slice::from_ref(&mock))[0].is_accept());
    let mut refuse = Filter::new(FilterConfig {
        reject_mock: true,
        ..FilterConfig::balanced()
    });
    assert_eq!(
        run(&mut refuse, &[mock]),
        [FilterDecision::Reject(RejectReason::Mock)]
    );
}

#[test]
fn the_accuracy_gate_follows_the_preset() {
    let fix = at(0, 0.0, 200.0);
    let mut balanced = Filter::new(FilterConfig::balanced());
    let mut efficient = Filter::new(FilterConfig::efficient());
    assert_eq!(
        run(&mut balanced, std::slice::from_ref(&fix)),
        [FilterDecision::Reject(RejectReason::AccuracyTooLow)]
    );
    assert!(run(&mut efficient, &[fix])[0].is_accept());
}

#[test]
fn a_single_jump_is_refused_and_the_track_continues() {
    let mut f = Filter::new(FilterConfig::balanced());
    let mut fixes = walk(0, 10, 5.0);
    fixes[5] = at(5, 5.0 * 1.5 + 300.0, 5.0);
    let r = reasons(&run(&mut f, &fixes));
    assert_eq!(r[5], Some(RejectReason::ImpliedSpeed));
    assert_eq!(r.iter().flatten().count(), 1);
}

#[test]
fn the_speed_limit_depends_on_the_activity() {
    // 40 m/s: fine for a vehicle, not for someone on foot.
    let fixes = [at(0, 0.0, 3.0), at(1, 40.0, 3.0)];
    let mut foot = Filter::new(FilterConfig::balanced());
    let mut car = Filter::new(FilterConfig::balanced());
    let ctx = |activity| FilterContext {
        activity,
        motion: Motion::Moving,
    };
    for f in &fixes {
        foot.process(f, f.time_ms, &ctx(Activity::OnFoot));
        car.process(f, f.time_ms, &ctx(Activity::Vehicle));
    }
    assert_eq!(foot.counters().rejected(RejectReason::ImpliedSpeed), 1);
    assert_eq!(car.counters().accepted, 2);
}

#[test]
fn after_a_real_relocation_fixes_are_accepted_again_within_two_seconds() {
    let mut f = Filter::new(FilterConfig::balanced());
    let mut fixes = walk(0, 10, 5.0);
    // Cold start 5 km away, walking on.
    fixes.extend((10..20).map(|s| at(s, 5_000.0 + s as f64 * 1.5, 5.0)));
    let d = run(&mut f, &fixes);
    let r = reasons(&d);
    assert_eq!(r[10], Some(RejectReason::ImpliedSpeed));
    assert_eq!(r[11], Some(RejectReason::ImpliedSpeed));
    assert!(matches!(
        d[12],
        FilterDecision::Accept {
            reanchored: true,
            ..
        }
    ));
    assert!(r[13..].iter().all(Option::is_none));
    assert_eq!(f.counters().reanchored, 1);
}

#[test]
fn a_wrong_first_fix_does_not_hold_the_track_hostage() {
    let mut f = Filter::new(FilterConfig::balanced());
    let mut fixes = vec![at(0, 3_000.0, 5.0)];
    fixes.extend(walk(1, 10, 5.0));
    let r = reasons(&run(&mut f, &fixes));
    assert_eq!(r.iter().flatten().count(), 2);
    assert!(r[3..].iter().all(Option::is_none));
}

#[test]
fn fast_travel_is_followed_after_one_recovery() {
    // A train at 80 m/s under an Unknown hint (limit 50 m/s).
    let mut f = Filter::new(FilterConfig::balanced());
    let fixes: Vec<Fix> = (0..30).map(|s| at(s, s as f64 * 80.0, 5.0)).collect();
    let r = reasons(&run(&mut f, &fixes));
    assert_eq!(r.iter().flatten().count(), 2, "{r:?}");
}

#[test]
fn alternating_outliers_never_form_a_chain() {
    let mut f = Filter::new(FilterConfig::balanced());
    let mut fixes = walk(0, 40, 5.0);
    for (i, fix) in fixes.iter_mut().enumerate().skip(5).step_by(3) {
        let side = if i % 2 == 0 { 1.0 } else { -1.0 };
        *fix = at(i as i64, i as f64 * 1.5 + side * 800.0, 5.0);
    }
    run(&mut f, &fixes);
    assert_eq!(f.counters().reanchored, 0);
    assert_eq!(f.counters().rejected(RejectReason::ImpliedSpeed), 12);
}

#[test]
fn stale_network_fixes_amid_gnss_are_superseded() {
    let mut f = Filter::new(FilterConfig::balanced());
    let mut fixes = walk(0, 20, 4.0);
    fixes[7] = Fix {
        provider: Provider::Network,
        ..at(7, 0.0, 60.0)
    };
    let r = reasons(&run(&mut f, &fixes));
    assert_eq!(r[7], Some(RejectReason::Superseded));
    assert_eq!(r.iter().flatten().count(), 1);
}

#[test]
fn network_fixes_after_gnss_loss_are_accepted_and_gnss_resumes() {
    let mut f = Filter::new(FilterConfig::efficient());
    let mut fixes = walk(0, 10, 4.0);
    // GNSS lost: a network fix every 10 s, 200 m off, claiming 400 m.
    fixes.extend((2..8).map(|k| Fix {
        provider: Provider::Network,
        ..at(k * 10, k as f64 * 15.0 + 200.0, 400.0)
    }));
    fixes.extend(walk(80, 10, 4.0));
    let r = reasons(&run(&mut f, &fixes));
    // Superseded only while the last GNSS fix (t = 9 s) is under 30 s old.
    assert_eq!(r[10..12], [Some(RejectReason::Superseded); 2]);
    assert!(r[12..].iter().all(Option::is_none), "{r:?}");
}

#[test]
fn network_fixes_neither_pull_the_track_nor_block_it() {
    // Superseding off, so that the gates and the Kalman weighting alone are tested.
    let mut f = Filter::new(FilterConfig {
        supersede_accuracy_ratio: f64::INFINITY,
        ..FilterConfig::efficient()
    });
    let mut fixes = walk(0, 20, 4.0);
    for s in [5_i64, 10, 15] {
        // A network fix 300 m off, honestly claiming 400 m accuracy.
        fixes[s as usize] = Fix {
            provider: Provider::Network,
            ..at(s, s as f64 * 1.5 + 300.0, 400.0)
        };
    }
    let d = run(&mut f, &fixes);
    assert!(d.iter().all(FilterDecision::is_accept));
    for (i, decision) in d.iter().enumerate().skip(1) {
        let FilterDecision::Accept {
            smoothed: Some(s), ..
        } = decision
        else {
            panic!("no smoothed estimate");
        };
        let north = (s.latitude_deg - 37.0) / DEG_PER_M;
        assert!((north - i as f64 * 1.5).abs() < 15.0, "fix {i}: {north}");
    }
}

#[test]
fn smoothing_can_be_switched_off_and_raw_is_untouched() {
    let mut f = Filter::new(FilterConfig {
        kalman: None,
        ..FilterConfig::balanced()
    });
    let d = run(&mut f, &walk(0, 5, 5.0));
    assert!(
        d.iter()
            .all(|d| matches!(d, FilterDecision::Accept { smoothed: None, .. }))
    );
    assert_eq!(f.counters().smoothed, 0);
}

#[test]
fn smoothing_reduces_noise_on_a_straight_line() {
    let mut f = Filter::new(FilterConfig::balanced());
    // Deterministic +-8 m zig-zag east of a straight walk north.
    let fixes: Vec<Fix> = (0..120)
        .map(|s| {
            let east = if s % 2 == 0 { 8.0 } else { -8.0 };
            Fix::new(
                T0 + s * 1000,
                37.0 + s as f64 * 1.5 * DEG_PER_M,
                -122.0 + east * DEG_PER_M / 37f64.to_radians().cos(),
                12.0,
            )
        })
        .collect();
    let d = run(&mut f, &fixes);
    let plane = LocalPlane::new(37.0, -122.0);
    let mean_err: f64 = d[20..]
        .iter()
        .map(|d| match d {
            FilterDecision::Accept {
                smoothed: Some(s), ..
            } => plane.to_local(s.latitude_deg, s.longitude_deg).0.abs(),
            _ => f64::INFINITY,
        })
        .sum::<f64>()
        / 100.0;
    assert!(mean_err < 4.0, "{mean_err}");
}

#[test]
fn reset_track_keeps_counters() {
    let mut f = Filter::new(FilterConfig::balanced());
    run(&mut f, &walk(0, 3, 5.0));
    f.reset_track();
    // Would be out of order without the reset.
    assert!(run(&mut f, &walk(0, 1, 5.0))[0].is_accept());
    assert_eq!(f.counters().accepted, 4);
}

// ---- Regression tests on real traces --------------------------------------------------------

#[test]
fn emission_day_keeps_no_jump_faster_than_50_mps() {
    let fixes = emission_day();
    assert_eq!(fixes.len(), 801);
    let mut f = Filter::new(FilterConfig::balanced());
    let d = run(&mut f, &fixes);
    let accepted: Vec<&Fix> = fixes
        .iter()
        .zip(&d)
        .filter(|(_, d)| d.is_accept())
        .map(|(f, _)| f)
        .collect();
    let fast = accepted
        .windows(2)
        .filter(|w| {
            let dt = (w[1].time_ms - w[0].time_ms) as f64 / 1000.0;
            let dist = distance_m(
                w[0].latitude_deg,
                w[0].longitude_deg,
                w[1].latitude_deg,
                w[1].longitude_deg,
            );
            dist > 50.0 * dt
        })
        .count();
    assert_eq!(fast, 0);
    let c = f.counters();
    assert!(c.rejected(RejectReason::Duplicate) > 0);
    assert_eq!(c.processed(), 801);
    // Real bad fixes are refused (vague ones by accuracy, stale network fixes amid GNSS as
    // superseded), the speed gate itself fires rarely, and most of the day survives.
    assert!(c.rejected(RejectReason::ImpliedSpeed) <= 5, "{c:?}");
    assert!(c.accepted > 500, "{c:?}");
}

#[test]
fn gsdc_ground_truth_excerpt_is_accepted_whole() {
    // The SPAN ground truth is a perfect 1 Hz drive: nothing in it may be refused.
    let text = data("gsdc2020_mtv1/span_groundtruth_1hz.csv");
    let fixes: Vec<Fix> = text
        .lines()
        .skip(1)
        .take(900)
        .filter_map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            Some(Fix::new(
                c.first()?.parse().ok()?,
                c.get(1)?.parse().ok()?,
                c.get(2)?.parse().ok()?,
                5.0,
            ))
        })
        .collect();
    let mut f = Filter::new(FilterConfig::continuous());
    let d = run(&mut f, &fixes);
    let r = reasons(&d);
    // The truth file repeats positions at stops but never times.
    assert!(r.iter().all(Option::is_none), "{:?}", f.counters());
}

/// The bundled Pixel 4 chipset NMEA (RMC: time, position, speed, course), with the 5 m
/// placeholder accuracy the replay tool gives traces without one.
fn gsdc_chipset_fixes() -> Vec<Fix> {
    let field = |v: &str, hemi: &str| -> Option<f64> {
        let v: f64 = v.parse().ok()?;
        let deg = (v / 100.0).trunc();
        let x = deg + (v - deg * 100.0) / 60.0;
        Some(if hemi == "S" || hemi == "W" { -x } else { x })
    };
    data("gsdc2020_mtv1/Pixel4_chipset.nmea")
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('*').next()?.split(',').collect();
            if !f.first()?.ends_with("RMC") || f.len() < 10 || f[2] != "A" {
                return None;
            }
            let (t, d) = (f[1], f[9]);
            let num = |s: &str| s.parse::<i64>().ok();
            let (day, month, year) = (num(&d[0..2])?, num(&d[2..4])?, 2000 + num(&d[4..6])?);
            // Days from 1970-01-01 to the date (civil calendar).
            let (y, m) = if month <= 2 {
                (year - 1, month + 9)
            } else {
                (year, month - 3)
            };
            let era = y.div_euclid(400);
            let yoe = y - era * 400;
            let doy = (153 * m + 2) / 5 + day - 1;
            let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
            let secs: f64 = t[4..].parse().ok()?;
            let time_ms = (days * 86_400 + num(&t[0..2])? * 3600 + num(&t[2..4])? * 60) * 1000
                + (secs * 1000.0).round() as i64;
            Some(Fix {
                speed_mps: f[7].parse::<f64>().ok().map(|k| k * 1852.0 / 3600.0),
                bearing_deg: f[8]
                    .parse::<f64>()
                    .ok()
                    .filter(|b| (0.0..360.0).contains(b)),
                ..Fix::new(time_ms, field(f[3], f[4])?, field(f[5], f[6])?, 5.0)
            })
        })
        .collect()
}

#[test]
fn smoothing_a_chipset_filtered_drive_is_no_worse_than_raw() {
    // The chipset already filters and the 5 m accuracy is a placeholder for an error of about
    // a metre: the filter must learn that from its innovations instead of lagging the fixes.
    let truth: Vec<(i64, f64, f64)> = data("gsdc2020_mtv1/span_groundtruth_1hz.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            Some((
                c.first()?.parse().ok()?,
                c.get(1)?.parse().ok()?,
                c.get(2)?.parse().ok()?,
            ))
        })
        .collect();
    let truth_at = |t: i64| -> Option<(f64, f64)> {
        let i = truth.partition_point(|s| s.0 < t);
        let after = truth.get(i)?;
        if after.0 == t {
            return Some((after.1, after.2));
        }
        let before = truth.get(i.checked_sub(1)?)?;
        let w = (t - before.0) as f64 / (after.0 - before.0) as f64;
        Some((
            before.1 + w * (after.1 - before.1),
            before.2 + w * (after.2 - before.2),
        ))
    };
    let fixes = gsdc_chipset_fixes();
    assert!(fixes.len() > 1700, "{}", fixes.len());
    let mut f = Filter::new(FilterConfig::balanced());
    let d = run(&mut f, &fixes);
    let (mut raw, mut filtered) = (Vec::new(), Vec::new());
    for (fix, d) in fixes.iter().zip(&d) {
        let FilterDecision::Accept {
            smoothed: Some(s), ..
        } = d
        else {
            panic!("a clean drive fix was refused or not smoothed: {d:?}");
        };
        let Some(t) = truth_at(fix.time_ms) else {
            continue;
        };
        raw.push(distance_m(t.0, t.1, fix.latitude_deg, fix.longitude_deg));
        filtered.push(distance_m(t.0, t.1, s.latitude_deg, s.longitude_deg));
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
    };
    let (raw50, raw95) = (pct(&mut raw, 50.0), pct(&mut raw, 95.0));
    let (f50, f95) = (pct(&mut filtered, 50.0), pct(&mut filtered, 95.0));
    assert!(
        f50 <= raw50 && f95 <= raw95,
        "filtered {f50}/{f95} vs raw {raw50}/{raw95}"
    );
}

// ---- Properties ------------------------------------------------------------------------------

fn arb_fix() -> impl Strategy<Value = Fix> {
    (
        (
            prop_oneof![
                Just(0i64),
                -5_000i64..5_000,
                Just(-1),
                Just(i64::MIN),
                Just(i64::MAX)
            ],
            prop_oneof![
                3 => -0.01f64..0.01,
                1 => -90.0f64..90.0,
                1 => proptest::num::f64::ANY
            ],
            prop_oneof![3 => -0.01f64..0.01, 1 => proptest::num::f64::ANY],
            prop_oneof![3 => 1.0f64..50.0, 1 => proptest::num::f64::ANY],
        ),
        (
            any::<bool>(),
            proptest::option::of(0i64..10_000),
            prop_oneof![
                Just(Activity::Unknown),
                Just(Activity::Still),
                Just(Activity::OnFoot),
                Just(Activity::Bicycle),
                Just(Activity::Vehicle)
            ],
        ),
    )
        .prop_map(|((dt, lat, lon, acc), (mock, ert, _))| Fix {
            is_mock: mock,
            elapsed_realtime_ns: ert.map(|e| e * 1_000_000),
            ..Fix::new(T0.saturating_add(dt), 37.0 + lat, -122.0 + lon, acc)
        })
}

fn arb_config() -> impl Strategy<Value = FilterConfig> {
    (
        prop_oneof![
            Just(FilterConfig::efficient()),
            Just(FilterConfig::balanced()),
            Just(FilterConfig::continuous())
        ],
        any::<bool>(),
        any::<bool>(),
        0u32..5,
    )
        .prop_map(|(base, mock, kalman, recovery)| FilterConfig {
            reject_mock: mock,
            kalman: if kalman { base.kalman } else { None },
            recovery_fixes: recovery,
            ..base
        })
}

proptest! {
    /// Any sequence: no panic, every accepted output valid, the counters add up.
    #[test]
    fn any_sequence_is_handled(
        config in arb_config(),
        steps in proptest::collection::vec((arb_fix(), 0i64..3_000), 0..60),
    ) {
        let mut f = Filter::new(config);
        let mut clock = T0;
        let mut accepted = 0u64;
        for (i, (fix, tick)) in steps.iter().enumerate() {
            clock += tick;
            // Fixes advance with the clock so that the gates, not just ordering, get exercised.
            let fix = Fix { time_ms: fix.time_ms.saturating_add(i as i64 * 1000), ..fix.clone() };
            let ctx = FilterContext { activity: Activity::Unknown, motion: Motion::Moving };
            match f.process(&fix, clock.max(fix.time_ms), &ctx) {
                FilterDecision::Accept { smoothed, .. } => {
                    accepted += 1;
                    prop_assert!(validate(&fix, clock.max(fix.time_ms)).is_ok());
                    prop_assert!(fix.horizontal_accuracy_m <= config.max_accuracy_m);
                    prop_assert!(!(config.reject_mock && fix.is_mock));
                    prop_assert_eq!(smoothed.is_some(), config.kalman.is_some());
                    if let Some(s) = smoothed {
                        prop_assert!(s.latitude_deg.abs() <= 90.0 && s.longitude_deg.abs() <= 180.0);
                        prop_assert!(s.accuracy_m.is_finite() && s.accuracy_m >= 0.0);
                    }
                }
                FilterDecision::Reject(r) => prop_assert!(RejectReason::ALL.contains(&r)),
            }
        }
        let c = f.counters();
        prop_assert_eq!(c.processed(), steps.len() as u64);
        prop_assert_eq!(c.accepted, accepted);
        prop_assert!(c.smoothed <= c.accepted && c.reanchored <= c.accepted);
        prop_assert_eq!(c.rejected_by_reason().map(|(_, n)| n).sum::<u64>(), c.rejected_total());
    }

    /// Never stuck: after any history, a steady 1 Hz walk somewhere else is accepted again
    /// within `recovery_fixes` fixes.
    #[test]
    fn never_stuck_after_any_history(
        history in proptest::collection::vec(arb_fix(), 0..30),
        lat in -60.0f64..60.0,
        lon in -179.0f64..179.0,
    ) {
        let config = FilterConfig::balanced();
        let mut f = Filter::new(config);
        let ctx = FilterContext::default();
        for fix in &history {
            f.process(fix, T0 + 10_000, &ctx);
        }
        // Far enough after the history for ordering, on both clocks.
        let start = T0 + 100_000;
        let mut last_rejected = None;
        for s in 0..10i64 {
            let fix = Fix {
                elapsed_realtime_ns: Some((20_000 + s * 1000) * 1_000_000),
                ..Fix::new(start + s * 1000, lat + s as f64 * 1e-5, lon, 5.0)
            };
            if !f.process(&fix, fix.time_ms, &ctx).is_accept() {
                last_rejected = Some(s);
            }
        }
        prop_assert!(last_rejected.is_none_or(|s| s < i64::from(config.recovery_fixes) - 1),
            "rejected up to fix {:?}", last_rejected);
    }
}
