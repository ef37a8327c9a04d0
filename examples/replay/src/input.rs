//! Replay input: a trace's fixes and activity transitions, from any supported format, plus
//! whatever ground truth sits beside it.
//!
//! Formats: NMEA, the CSV layouts of `trace.rs`, GPX, and e-mission JSON. A flattened
//! e-mission `X.locations.csv` picks up activity transitions from `X.events.csv` beside it.

use std::path::{Path, PathBuf};

use tracelet_core::Fix;

use crate::emission::{self, ActivityEvent};
use crate::gpx;
use crate::trace::{self, TraceError};

/// What the simulated phone experienced.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Sorted by time.
    pub fixes: Vec<Fix>,
    /// Sorted by time; empty when the trace records none.
    pub activities: Vec<ActivityEvent>,
}

pub fn load(path: &Path) -> Result<Trace, TraceError> {
    let text = std::fs::read_to_string(path)?;
    let head = text.trim_start();
    let (mut fixes, activities) = if has_extension(path, "gpx") || head.starts_with("<") {
        (gpx::parse_gpx(&text)?, Vec::new())
    } else if head.starts_with('[') {
        emission::parse_json(&text)?
    } else {
        let fixes = trace::load(path)?;
        let activities = match sibling(path, ".locations.csv", ".events.csv") {
            Some(events) => std::fs::read_to_string(events)
                .map(|t| emission::parse_events_csv(&t))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        (fixes, activities)
    };
    fixes.sort_by_key(|f| f.time_ms);
    Ok(Trace { fixes, activities })
}

/// The e-mission ground truth (`X.ground_truth.json`) beside a trace, if there is one.
pub fn ground_truth_beside(path: &Path) -> Option<PathBuf> {
    sibling(path, ".locations.csv", ".ground_truth.json")
        .or_else(|| sibling(path, ".json", ".ground_truth.json"))
        .filter(|p| p.as_path() != path)
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// `dir/X<from>` to `dir/X<to>`, when the file name ends with `from` and the result exists.
fn sibling(path: &Path, from: &str, to: &str) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(from)?;
    if stem.ends_with(".ground_truth") {
        return None;
    }
    let candidate = path.with_file_name(format!("{stem}{to}"));
    candidate.exists().then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emission_csv_finds_its_events_and_truth() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/emission/shankari_2016-independence_day.locations.csv");
        let trace = load(&path).unwrap();
        assert_eq!(trace.fixes.len(), 801);
        assert!(trace.activities.len() > 20);
        assert!(ground_truth_beside(&path).is_some());
    }
}
