//! Read-only connections for the read API. WAL lets each read from its own snapshot while the
//! writer commits, so a read never waits for the ingest lock and ingest never waits for a read.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::{DbError, Queries};

pub struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Idle connections kept for reuse; more may be open while reads run.
    keep: usize,
}

impl ReadPool {
    pub fn new(path: &Path, keep: usize) -> ReadPool {
        ReadPool {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
            keep,
        }
    }

    /// Runs `read` on a read-only connection (blocking: call it off the async workers).
    pub fn read<T>(
        &self,
        read: impl FnOnce(&Queries<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let idle = crate::lock(&self.idle).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&Queries::new(&conn));
        let mut idle = crate::lock(&self.idle);
        if idle.len() < self.keep {
            idle.push(conn);
        }
        result
    }

    fn open(&self) -> Result<Connection, DbError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }
}
