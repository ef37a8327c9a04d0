//! Readers for recorded GPS traces: NMEA (RMC + GGA) and the CSV layouts of the shared trace
//! collection (GSDC ground truth, GnssLogger Fix records, e-mission locations, comma2k19).
//!
//! CSV columns are found by name, so one reader serves every layout that names its columns.

use std::path::Path;

use thiserror::Error;
use tracelet_core::Fix;
use tracelet_core::fix::Provider;

/// Horizontal accuracy assumed when a trace records none. NMEA's HDOP in the GSDC file is a
/// placeholder, and a phone chipset fix in open sky is typically good to a few metres.
pub const ASSUMED_ACCURACY_M: f64 = 5.0;

#[derive(Debug, Error)]
pub enum TraceError {
    #[error("cannot read trace: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "unrecognised trace format (expected .nmea or a CSV with a header naming time, lat_deg and lon_deg)"
    )]
    UnknownFormat,
    #[error("line {line}: {reason}")]
    Parse { line: usize, reason: String },
}

/// Loads a trace and returns its fixes sorted by time (stable, so duplicates keep their order).
pub fn load(path: &Path) -> Result<Vec<Fix>, TraceError> {
    let text = std::fs::read_to_string(path)?;
    let mut fixes = if text.trim_start().starts_with('$') {
        parse_nmea(&text)?
    } else {
        parse_csv(&text, None)?
    };
    fixes.sort_by_key(|f| f.time_ms);
    Ok(fixes)
}

/// Parses NMEA 0183: RMC gives date, time, position, speed and course; the GGA of the same
/// second adds altitude. Sentences without a valid fix are skipped.
pub fn parse_nmea(text: &str) -> Result<Vec<Fix>, TraceError> {
    let mut fixes: Vec<Fix> = Vec::new();
    let mut altitude_by_time: Option<(String, f64)> = None;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let body = line.trim().split('*').next().unwrap_or("");
        let fields: Vec<&str> = body.split(',').collect();
        let parse_err = |reason: &str| TraceError::Parse {
            line: line_no,
            reason: reason.to_owned(),
        };
        match fields.first().map(|s| s.get(3..).unwrap_or("")) {
            Some("GGA") if fields.len() > 9 => {
                if let Ok(alt) = fields[9].parse::<f64>() {
                    altitude_by_time = Some((fields[1].to_owned(), alt));
                }
            }
            Some("RMC") if fields.len() > 9 => {
                if fields[2] != "A" {
                    continue;
                }
                let time_ms = nmea_time_ms(fields[1], fields[9])
                    .ok_or_else(|| parse_err("bad RMC date or time"))?;
                let lat = nmea_degrees(fields[3], fields[4])
                    .ok_or_else(|| parse_err("bad RMC latitude"))?;
                let lon = nmea_degrees(fields[5], fields[6])
                    .ok_or_else(|| parse_err("bad RMC longitude"))?;
                let knots_to_mps = 1852.0 / 3600.0;
                let altitude_m = altitude_by_time
                    .as_ref()
                    .filter(|(t, _)| t == fields[1])
                    .map(|(_, a)| *a);
                fixes.push(Fix {
                    altitude_m,
                    speed_mps: fields[7].parse::<f64>().ok().map(|k| k * knots_to_mps),
                    bearing_deg: fields[8]
                        .parse::<f64>()
                        .ok()
                        .filter(|b| (0.0..360.0).contains(b)),
                    provider: Provider::Gps,
                    ..Fix::new(time_ms, lat, lon, ASSUMED_ACCURACY_M)
                });
            }
            _ => {}
        }
    }
    Ok(fixes)
}

/// `ddmm.mmmm` + hemisphere to signed decimal degrees.
fn nmea_degrees(value: &str, hemisphere: &str) -> Option<f64> {
    let v: f64 = value.parse().ok()?;
    let degrees = (v / 100.0).trunc();
    let decimal = degrees + (v - degrees * 100.0) / 60.0;
    match hemisphere {
        "N" | "E" => Some(decimal),
        "S" | "W" => Some(-decimal),
        _ => None,
    }
}

/// `hhmmss.ss` and `ddmmyy` to UTC milliseconds.
fn nmea_time_ms(time: &str, date: &str) -> Option<i64> {
    let num = |s: &str, a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (day, month, year) = (num(date, 0, 2)?, num(date, 2, 4)?, 2000 + num(date, 4, 6)?);
    let (h, m) = (num(time, 0, 2)?, num(time, 2, 4)?);
    let seconds: f64 = time.get(4..)?.parse().ok()?;
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + h) * 60 + m) * 60_000 + (seconds * 1000.0).round() as i64)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses a headed CSV. `source` keeps only rows whose `source` column equals it (comma2k19
/// mixes receivers in one file).
pub fn parse_csv(text: &str, source: Option<&str>) -> Result<Vec<Fix>, TraceError> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, h)| h.split(',').map(str::trim).collect())
        .ok_or(TraceError::UnknownFormat)?;
    let col = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| header.iter().position(|h| h == n))
    };
    let time_ms_col = col(&["utc_ms", "unix_ms"]);
    let time_s_col = col(&["ts_unix_s"]);
    let (Some(lat_col), Some(lon_col)) = (col(&["lat_deg"]), col(&["lon_deg"])) else {
        return Err(TraceError::UnknownFormat);
    };
    if time_ms_col.is_none() && time_s_col.is_none() {
        return Err(TraceError::UnknownFormat);
    }
    let acc_col = col(&["accuracy_m"]);
    let alt_col = col(&["alt_m", "alt_msl_m"]);
    let vacc_col = col(&["vert_acc_m", "vaccuracy_m"]);
    let speed_col = col(&["speed_mps", "sensed_speed_mps"]);
    let sacc_col = col(&["speed_acc_mps"]);
    let bearing_col = col(&["bearing_deg", "heading_deg", "course_deg"]);
    let bacc_col = col(&["bearing_acc_deg"]);
    let provider_col = col(&["provider"]);
    let ert_col = col(&["elapsed_realtime_ns"]);
    let mock_col = col(&["mock"]);
    let source_col = col(&["source"]);

    let mut fixes = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |c: Option<usize>| {
            c.and_then(|i| cells.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let float = |c: Option<usize>| cell(c).and_then(|s| s.parse::<f64>().ok());
        if let (Some(wanted), Some(found)) = (source, cell(source_col)) {
            if wanted != found {
                continue;
            }
        }
        let parse_err = |reason: &str| TraceError::Parse {
            line: index + 1,
            reason: reason.to_owned(),
        };
        let time_ms = match (cell(time_ms_col), float(time_s_col)) {
            (Some(ms), _) => ms.parse::<i64>().map_err(|_| parse_err("bad time"))?,
            (None, Some(s)) => (s * 1000.0).round() as i64,
            (None, None) => return Err(parse_err("missing time")),
        };
        let lat = float(Some(lat_col)).ok_or_else(|| parse_err("bad latitude"))?;
        let lon = float(Some(lon_col)).ok_or_else(|| parse_err("bad longitude"))?;
        fixes.push(Fix {
            altitude_m: float(alt_col),
            vertical_accuracy_m: float(vacc_col),
            // iOS writes -1 for "unknown" speed and heading.
            speed_mps: float(speed_col).filter(|s| *s >= 0.0),
            speed_accuracy_mps: float(sacc_col),
            bearing_deg: float(bearing_col).filter(|b| (0.0..360.0).contains(b)),
            bearing_accuracy_deg: float(bacc_col),
            provider: cell(provider_col).map_or(Provider::Unknown, provider_from_name),
            is_mock: cell(mock_col).is_some_and(|m| m == "1" || m.eq_ignore_ascii_case("true")),
            elapsed_realtime_ns: cell(ert_col).and_then(|s| s.parse().ok()),
            ..Fix::new(
                time_ms,
                lat,
                lon,
                float(acc_col).unwrap_or(ASSUMED_ACCURACY_M),
            )
        });
    }
    Ok(fixes)
}

fn provider_from_name(name: &str) -> Provider {
    match name.to_ascii_lowercase().as_str() {
        "gps" => Provider::Gps,
        "flp" | "fused" => Provider::Fused,
        "nlp" | "network" => Provider::Network,
        "passive" => Provider::Passive,
        _ => Provider::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nmea_rmc_and_gga_become_one_fix() {
        let text = "$GPGGA,221046.00,3725.415069,N,12205.647326,W,7,,0.38,-32.83,M,0.0,M,0.0,0000*73\n\
                    $GPRMC,221046.00,A,3725.415069,N,12205.647326,W,010.0,090.0,140520,,,A*47\n";
        let fixes = parse_nmea(text).unwrap();
        assert_eq!(fixes.len(), 1);
        let f = &fixes[0];
        assert_eq!(f.time_ms, 1_589_494_246_000); // 2020-05-14T22:10:46Z
        assert!((f.latitude_deg - 37.423_584_5).abs() < 1e-6);
        assert!((f.longitude_deg + 122.094_122_1).abs() < 1e-6);
        assert_eq!(f.altitude_m, Some(-32.83));
        assert!((f.speed_mps.unwrap() - 5.144).abs() < 1e-3);
        assert_eq!(f.bearing_deg, Some(90.0));
    }

    #[test]
    fn csv_columns_are_found_by_name() {
        let text = "provider,lat_deg,lon_deg,alt_m,speed_mps,accuracy_m,bearing_deg,unix_ms,speed_acc_mps,bearing_acc_deg,elapsed_realtime_ns,vert_acc_m,mock\n\
                    FLP,37.4,-122.1,1.5,0.03,4.1,,1699400584473,0.19,,16126559152000,1.39,1\n";
        let f = &parse_csv(text, None).unwrap()[0];
        assert_eq!(f.time_ms, 1_699_400_584_473);
        assert_eq!(f.provider, Provider::Fused);
        assert_eq!(f.horizontal_accuracy_m, 4.1);
        assert_eq!(f.bearing_deg, None);
        assert_eq!(f.elapsed_realtime_ns, Some(16_126_559_152_000));
        assert!(f.is_mock);
    }

    #[test]
    fn emission_seconds_and_comma_sources_are_understood() {
        let emission = "platform,ts_unix_s,fmt_time,lat_deg,lon_deg,alt_m,accuracy_m,vaccuracy_m,sensed_speed_mps,heading_deg,filter\n\
                        android,1471269572.418,x,37.39,-122.08,0,32.376,,0,0,time\n";
        assert_eq!(
            parse_csv(emission, None).unwrap()[0].time_ms,
            1_471_269_572_418
        );
        let comma = "source,utc_ms,lat_deg,lon_deg\nphone_qcom,1,1.0,2.0\nublox,2,1.0,2.0\n";
        assert_eq!(parse_csv(comma, Some("ublox")).unwrap()[0].time_ms, 2);
    }

    #[test]
    fn the_bundled_gsdc_drive_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/gsdc2020_mtv1/Pixel4_chipset.nmea");
        let fixes = load(&path).unwrap();
        assert_eq!(fixes.len(), 1737);
        assert!(fixes.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_csv("a,b\n1,2\n", None),
            Err(TraceError::UnknownFormat)
        ));
        assert!(parse_nmea("$GPRMC,xx,A,bad,N,bad,W,,,140520\n").is_err());
    }
}
