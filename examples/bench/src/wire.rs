//! Bytes on the wire per fix, for each encoding, on the bundled GSDC drive in batches of 100,
//! with every field that recording provides.

use std::path::PathBuf;

use serde::Serialize;
use tracelet_core::store::StoredFix;
use tracelet_core::upload::{Encoding, encode_batch};

/// A stream id of the SDK's length (32 hex digits): every real batch carries one.
const BENCH_STREAM: &str = "0123456789abcdef0123456789abcdef";

#[derive(Debug, Serialize)]
pub struct WireReport {
    pub trace: String,
    pub fixes: usize,
    pub batch_size: usize,
    pub json_gzip_bytes_per_fix: f64,
    pub compact_gzip_bytes_per_fix: f64,
    pub json_raw_bytes_per_fix: f64,
    pub compact_raw_bytes_per_fix: f64,
}

const BATCH: usize = 100;

pub fn measure() -> Result<WireReport, Box<dyn std::error::Error>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea");
    let fixes = tracelet_replay::trace::load(&path)?;
    let stored: Vec<StoredFix> = fixes
        .into_iter()
        .enumerate()
        .map(|(i, fix)| StoredFix {
            seq: i as u64 + 1,
            fix,
            smoothed: None,
            annotation: Default::default(),
        })
        .collect();
    let mut totals = [0usize; 4];
    for chunk in stored.chunks(BATCH) {
        for (k, encoding) in [Encoding::Json, Encoding::Compact].into_iter().enumerate() {
            let batch = encode_batch(
                "pixel4-gsdc",
                BENCH_STREAM,
                chunk,
                &[],
                &Default::default(),
                encoding,
            )
            .ok_or("empty batch")?;
            totals[k] += batch.body.len();
            totals[k + 2] += batch.uncompressed_len;
        }
    }
    let n = stored.len() as f64;
    Ok(WireReport {
        trace: "tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea".into(),
        fixes: stored.len(),
        batch_size: BATCH,
        json_gzip_bytes_per_fix: totals[0] as f64 / n,
        compact_gzip_bytes_per_fix: totals[1] as f64 / n,
        json_raw_bytes_per_fix: totals[2] as f64 / n,
        compact_raw_bytes_per_fix: totals[3] as f64 / n,
    })
}
