//! `--current-position` on the GSDC drive: every request, cold and warm, is answered with a fix
//! within 20 m of the truth before its timeout. The medians are printed
//! (`cargo test -- --nocapture`); the simulated OS has no time-to-first-fix model.

use std::path::PathBuf;

use tracelet_replay::{current_position_eval, input, timeline, truth};

#[test]
fn every_request_along_the_gsdc_drive_is_answered_within_20_m() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/gsdc2020_mtv1");
    let trace = input::load(&data.join("Pixel4_chipset.nmea")).unwrap();
    let points = truth::load_points(&data.join("span_groundtruth_1hz.csv")).unwrap();
    let timeline = timeline::build(&trace.fixes, Some(&points), 0).unwrap();
    let report = current_position_eval::run(&timeline, "balanced", 120, 1).unwrap();
    for mode in ["cold", "warm"] {
        let r = &report[mode];
        println!("{mode}: {r}");
        assert!(r["requests"].as_u64().unwrap() > 10);
        assert_eq!(r["answered_within_20_m"], r["requests"], "{mode}");
        assert_eq!(r["timeouts"], 0);
        let median = r["median_s_to_fix_within_20_m"].as_f64().unwrap();
        assert!(median <= 5.0, "{mode}: {median} s");
    }
}
