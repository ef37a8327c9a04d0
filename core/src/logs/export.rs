//! The support file: the on-device log as gzip-compressed text, one record a line
//! (`2026-12-02T15:22:13.123Z INFO tracelet_core::tracker: tracking started`).
//!
//! The file is written beside the destination under a temporary name and renamed into place,
//! so a failed export leaves neither a partial file nor a changed log.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::{LogError, LogRecord};

/// Refuses a destination whose directory is missing or which is itself a directory.
pub(crate) fn check_destination(destination: &Path) -> Result<(), LogError> {
    if destination.is_dir() {
        return Err(LogError::DestinationIsDirectory(destination.to_owned()));
    }
    let parent = match destination.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(LogError::DestinationMissing(parent));
    }
    Ok(())
}

/// Writes `records` to `destination`; returns how many.
pub(crate) fn write_gzip(destination: &Path, records: &[LogRecord]) -> Result<u64, LogError> {
    check_destination(destination)?;
    let mut partial = destination.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = write_file(&partial, records).and_then(|()| {
        std::fs::rename(&partial, destination).map_err(|e| LogError::Io(e.to_string()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written.map(|()| records.len() as u64)
}

fn write_file(path: &Path, records: &[LogRecord]) -> Result<(), LogError> {
    let io = |e: std::io::Error| LogError::Io(e.to_string());
    let file = std::fs::File::create(path).map_err(io)?;
    let mut gz = GzEncoder::new(std::io::BufWriter::new(file), Compression::default());
    writeln!(
        gz,
        "# Tracelet {} log, {} records, times in UTC",
        env!("CARGO_PKG_VERSION"),
        records.len()
    )
    .map_err(io)?;
    for record in records {
        writeln!(gz, "{}", line(record)).map_err(io)?;
    }
    let file = gz
        .finish()
        .map_err(io)?
        .into_inner()
        .map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

/// One record as a line of text; line breaks inside a message are escaped.
pub fn line(record: &LogRecord) -> String {
    format!(
        "{} {} {}: {}",
        utc_timestamp(record.time_ms),
        record.level.name(),
        record.target,
        record.message.replace('\n', "\\n")
    )
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for UTC milliseconds since the epoch.
pub fn utc_timestamp(time_ms: i64) -> String {
    let days = time_ms.div_euclid(86_400_000);
    let in_day = time_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, by 400-year eras.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // from 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
