//! Every read the API serves, each on an index (see the test that explains their plans).

use rusqlite::{Connection, params};

use crate::store::{Area, DevicePosition, TimeCursor};

use super::{
    DbError, DeviceSummary, EVENT_COLUMNS, EventRow, ROW_COLUMNS, StoredRow, map_from_sql,
    read_event, read_row, seq_to_sql, u64_from_sql,
};

const TRACK_SQL: &str = "SELECT id, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, \
     received_ms, sla, slo, sac, tr, x FROM fixes WHERE device = ?1 AND (t, id) > (?2, ?3) \
     AND t <= ?4 ORDER BY t, id LIMIT ?5";

const EVENTS_SQL: &str = "SELECT id, stream, s, t, k, subject, la, lo, m, received_ms FROM events \
     WHERE device = ?1 AND (t, id) > (?2, ?3) AND t <= ?4 \
     AND (?5 IS NULL OR instr(?5, ',' || k || ',') > 0) ORDER BY t, id LIMIT ?6";

const POSITIONS_SQL: &str = "SELECT device, last_t, la, lo FROM devices \
     WHERE device > ?1 AND la BETWEEN ?2 AND ?3 AND lo BETWEEN ?4 AND ?5 \
     ORDER BY device LIMIT ?6";

/// Read queries on one connection.
pub struct Queries<'c> {
    conn: &'c Connection,
}

impl<'c> Queries<'c> {
    pub fn new(conn: &'c Connection) -> Queries<'c> {
        Queries { conn }
    }

    /// Fixes of one device stored after the row with id `after`, in storage order.
    pub fn fixes(&self, device: &str, after: u64, limit: u32) -> Result<Vec<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![device, seq_to_sql(after), limit], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The fix of a device with the largest time `t` (the last stored among equal times),
    /// or `None` for an unknown device.
    pub fn latest(&self, device: &str) -> Result<Option<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 ORDER BY t DESC, id DESC LIMIT 1"
        ))?;
        let mut rows = stmt.query_map(params![device], read_row)?;
        Ok(rows.next().transpose()?)
    }

    /// Fixes of one device after `start` in (t, id) order with `t <= to_ms`, at most `limit`.
    pub fn track(
        &self,
        device: &str,
        start: TimeCursor,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<StoredRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(TRACK_SQL)?;
        let rows = stmt.query_map(
            params![device, start.t, start.cursor, to_ms, limit],
            read_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Events of one device after `start` in (t, id) order with `t <= until_ms`, of the given
    /// kinds (all when `None`), at most `limit` of them.
    pub fn events(
        &self,
        device: &str,
        start: TimeCursor,
        until_ms: i64,
        kinds: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<EventRow>, DbError> {
        // The kinds travel as one parameter, ",enter,exit,", so that the statement is fixed.
        let kinds = kinds.map(|k| format!(",{},", k.join(",")));
        let mut stmt = self.conn.prepare_cached(EVENTS_SQL)?;
        let rows = stmt.query_map(
            params![device, start.t, start.cursor, until_ms, kinds, limit],
            read_event,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The latest position of devices inside `area` whose id sorts after `after`, in id order,
    /// at most `limit`. The statement walks devices in id order through the box that holds
    /// the area; a circle's exact test runs here, so candidates are read page by page until
    /// `limit` match.
    pub fn positions(
        &self,
        area: Area,
        after: &str,
        limit: u32,
    ) -> Result<Vec<DevicePosition>, DbError> {
        let (min_la, min_lo, max_la, max_lo) = area.bounds();
        let mut stmt = self.conn.prepare_cached(POSITIONS_SQL)?;
        let mut found = Vec::new();
        let mut from = after.to_owned();
        loop {
            let page: Vec<DevicePosition> = stmt
                .query_map(params![from, min_la, max_la, min_lo, max_lo, limit], |r| {
                    Ok(DevicePosition {
                        device: r.get(0)?,
                        t: r.get(1)?,
                        la: r.get(2)?,
                        lo: r.get(3)?,
                        distance_m: None,
                    })
                })?
                .collect::<Result<_, _>>()?;
            let full = page.len() == limit as usize;
            if let Some(last) = page.last() {
                from = last.device.clone();
            }
            for mut p in page {
                if area.contains(p.la, p.lo) && found.len() < limit as usize {
                    p.distance_m = area.distance_from_centre(p.la, p.lo);
                    found.push(p);
                }
            }
            if !full || found.len() >= limit as usize {
                return Ok(found);
            }
        }
    }

    /// Every event of one device, in storage order.
    pub fn all_events(&self, device: &str) -> Result<Vec<EventRow>, DbError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE device = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map(params![device], read_event)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Devices with fixes or events whose id sorts after `after`, ordered by id, at most
    /// `limit` of them.
    pub fn devices(&self, after: &str, limit: u32) -> Result<Vec<DeviceSummary>, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device, fixes, last_t, events, metadata FROM devices
             WHERE device > ?1 ORDER BY device LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok(DeviceSummary {
                device: r.get(0)?,
                fixes: u64_from_sql(r, 1)?,
                last_t: r.get(2)?,
                events: u64_from_sql(r, 3)?,
                metadata: map_from_sql(r, 4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every read statement uses an index: no plan step scans a whole table.
    #[test]
    fn every_read_uses_an_index() {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::db::CollectorDb::open(&dir.path().join("c.sqlite3")).expect("open");
        let conn = &db.conn;
        let statements = [
            format!("SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 AND id > ?2 ORDER BY id LIMIT ?3"),
            format!("SELECT {ROW_COLUMNS} FROM fixes WHERE device = ?1 ORDER BY t DESC, id DESC LIMIT 1"),
            TRACK_SQL.to_owned(),
            EVENTS_SQL.to_owned(),
            POSITIONS_SQL.to_owned(),
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE device = ?1 ORDER BY id"),
            "SELECT device, fixes, last_t, events, metadata FROM devices WHERE device > ?1 ORDER BY device LIMIT ?2".to_owned(),
        ];
        for sql in statements {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("plan");
            // Unbound parameters are NULL, which is enough for a plan.
            let mut rows = stmt.raw_query();
            let mut steps: Vec<String> = Vec::new();
            while let Some(row) = rows.next().expect("plan step") {
                steps.push(row.get(3).expect("detail"));
            }
            assert!(
                steps
                    .iter()
                    .all(|s| !s.starts_with("SCAN") && !s.contains("TEMP B-TREE")),
                "{sql}: {steps:?}"
            );
        }
    }
}
