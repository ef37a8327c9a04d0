//! The recorded traces the core's unit tests replay (`tests/data`, with their licences).

use crate::fix::Fix;

/// A file under the repository's `tests/data`.
pub(crate) fn data(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(rel);
    std::fs::read_to_string(path).expect("bundled trace data")
}

/// The e-mission day, as fixes. CSV columns: ts_unix_s (1), lat (3), lon (4), accuracy (6).
pub(crate) fn emission_day() -> Vec<Fix> {
    data("emission/shankari_2016-independence_day.locations.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let num = |i: usize| c.get(i)?.parse::<f64>().ok();
            Some(Fix::new(
                (num(1)? * 1000.0).round() as i64,
                num(3)?,
                num(4)?,
                num(6)?,
            ))
        })
        .collect()
}
