//! GPX 1.0/1.1 track reader: every `<trkpt lat= lon=>` with its `<time>` and `<ele>`.
//!
//! A deliberately small scanner rather than an XML parser: GPX track points are flat, and
//! optional children (hdop, extensions, ...) are ignored.

use tracelet_core::Fix;
use tracelet_core::fix::Provider;

use crate::trace::{ASSUMED_ACCURACY_M, TraceError, days_from_civil};

/// Parses the track points of a GPX document; points without a time are an error, since the
/// replay needs a timeline.
pub fn parse_gpx(text: &str) -> Result<Vec<Fix>, TraceError> {
    let mut fixes = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<trkpt") {
        let after = &rest[start..];
        let offset = text.len() - after.len();
        // Line numbers are counted only on error, keeping the scan linear.
        let parse_err = |reason: &str| TraceError::Parse {
            line: text[..offset].lines().count().max(1),
            reason: reason.to_owned(),
        };
        let tag_end = after
            .find('>')
            .ok_or_else(|| parse_err("unterminated trkpt"))?;
        let tag = &after[..tag_end];
        // `<trkpt .../>` has no children; otherwise the point runs to `</trkpt>`.
        let body_end = if tag.ends_with('/') {
            tag_end
        } else {
            after
                .find("</trkpt>")
                .ok_or_else(|| parse_err("missing </trkpt>"))?
        };
        let body = &after[tag_end..body_end];
        let lat = attribute(tag, "lat")
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| parse_err("bad lat"))?;
        let lon = attribute(tag, "lon")
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| parse_err("bad lon"))?;
        let time_ms = element(body, "time")
            .and_then(parse_iso8601_ms)
            .ok_or_else(|| parse_err("missing or bad time"))?;
        fixes.push(Fix {
            altitude_m: element(body, "ele").and_then(|v| v.parse().ok()),
            provider: Provider::Gps,
            ..Fix::new(time_ms, lat, lon, ASSUMED_ACCURACY_M)
        });
        rest = &after[body_end.max(1)..];
    }
    Ok(fixes)
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    for quote in ['"', '\''] {
        let key = format!(" {name}={quote}");
        if let Some(i) = tag.find(&key) {
            let value = &tag[i + key.len()..];
            return value.find(quote).map(|end| &value[..end]);
        }
    }
    None
}

fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find("</")?;
    Some(body[start..start + end].trim())
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` to UTC milliseconds.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let num = |a: usize, b: usize| text.get(a..b)?.parse::<i64>().ok();
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let tail = text.get(19..)?;
    let zone_at = tail.find(['Z', '+', '-']).unwrap_or(tail.len());
    let fraction_ms = match tail[..zone_at].strip_prefix('.') {
        Some(digits) if !digits.is_empty() => {
            let padded: String = digits.chars().chain("000".chars()).take(3).collect();
            padded.parse::<i64>().ok()?
        }
        Some(_) => return None,
        None => 0,
    };
    let offset_min = match tail.get(zone_at..zone_at + 1) {
        Some("+" | "-") => {
            let zone = &tail[zone_at..];
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let h: i64 = zone.get(1..3)?.parse().ok()?;
            let m: i64 = zone.get(4..6).unwrap_or("00").parse().ok()?;
            sign * (h * 60 + m)
        }
        _ => 0,
    };
    let days = days_from_civil(year, month, day);
    let local_s = ((days * 24 + hour) * 60 + minute) * 60 + second;
    Some((local_s - offset_min * 60) * 1000 + fraction_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_points_with_time_and_elevation_are_read() {
        let gpx = r#"<?xml version="1.0"?><gpx><trk><trkseg>
            <trkpt lat="48.1" lon="11.5"><ele>520.5</ele><time>2020-05-14T22:10:46Z</time><hdop>1.2</hdop></trkpt>
            <trkpt lon='11.6' lat='48.2'><time>2020-05-14T22:10:47.500+00:00</time><extensions><x/></extensions></trkpt>
        </trkseg></trk></gpx>"#;
        let fixes = parse_gpx(gpx).unwrap();
        assert_eq!(fixes.len(), 2);
        assert_eq!(fixes[0].time_ms, 1_589_494_246_000);
        assert_eq!(fixes[0].altitude_m, Some(520.5));
        assert_eq!(fixes[1].time_ms, 1_589_494_247_500);
        assert_eq!(fixes[1].longitude_deg, 11.6);
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(
            parse_iso8601_ms("2016-08-15T06:59:32.418-07:00"),
            Some(1_471_269_572_418)
        );
    }

    #[test]
    fn a_point_without_time_is_an_error() {
        assert!(parse_gpx(r#"<trkpt lat="1" lon="2"></trkpt>"#).is_err());
        assert!(
            parse_gpx(r#"<trkpt lat="x" lon="2"><time>2020-01-01T00:00:00Z</time></trkpt>"#)
                .is_err()
        );
    }
}
