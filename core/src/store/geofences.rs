//! The app's geofences, persisted with their presence so that a restart neither loses them nor
//! fires Enter again for a geofence the device was already in.

use rusqlite::{Transaction, params};

use super::{Store, StoreError};
use crate::geofence::{FenceState, Geofence, Presence};

/// A geofence as loaded, with the state it had.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGeofence {
    pub fence: Geofence,
    pub state: FenceState,
}

impl Store {
    /// Inserts or replaces geofences in one transaction; their state starts over (`Unknown`).
    pub fn save_geofences(&mut self, fences: &[Geofence]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO geofences (id, definition, presence, since_ms, dwell_fired)
                 VALUES (?1, ?2, 0, NULL, 0)
                 ON CONFLICT(id) DO UPDATE SET definition = excluded.definition, presence = 0,
                    since_ms = NULL, dwell_fired = 0",
            )?;
            for fence in fences {
                let definition = fence
                    .to_json()
                    .map_err(|e| StoreError::Encoding(e.to_string()))?;
                stmt.execute(params![fence.id, definition])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn delete_geofence(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM geofences WHERE id = ?1", [id])?
            > 0)
    }

    pub fn delete_all_geofences(&mut self) -> Result<u64, StoreError> {
        Ok(self.conn.execute("DELETE FROM geofences", [])? as u64)
    }

    /// Every geofence in the order it was first added. A definition that no longer parses
    /// (which only a tampered file can hold) is skipped and counted.
    pub fn load_geofences(&self) -> Result<(Vec<StoredGeofence>, u64), StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT definition, presence, since_ms, dwell_fired FROM geofences ORDER BY rowid",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Option<i64>>(2)?,
                row.get::<_, bool>(3)?,
            ))
        })?;
        let mut fences = Vec::new();
        let mut unreadable = 0;
        for row in rows {
            let (definition, presence, since_ms, dwell_fired) = row?;
            match Geofence::from_json(&definition) {
                Ok(fence) => fences.push(StoredGeofence {
                    fence,
                    state: FenceState {
                        presence: presence_from_code(presence),
                        since_ms,
                        dwell_fired,
                    },
                }),
                Err(_) => unreadable += 1,
            }
        }
        Ok((fences, unreadable))
    }
}

/// Writes geofence states inside a caller's transaction (with the events they caused).
pub(super) fn update_states(
    tx: &Transaction<'_>,
    states: &[(String, FenceState)],
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE geofences SET presence = ?2, since_ms = ?3, dwell_fired = ?4 WHERE id = ?1",
    )?;
    for (id, state) in states {
        stmt.execute(params![
            id,
            presence_code(state.presence),
            state.since_ms,
            state.dwell_fired
        ])?;
    }
    Ok(())
}

/// Stable on-disk codes; never renumber.
fn presence_code(presence: Presence) -> i64 {
    match presence {
        Presence::Unknown => 0,
        Presence::Inside => 1,
        Presence::Outside => 2,
    }
}

fn presence_from_code(code: i64) -> Presence {
    match code {
        1 => Presence::Inside,
        2 => Presence::Outside,
        _ => Presence::Unknown,
    }
}
