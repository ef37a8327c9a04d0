//! What the database holds after a run, counted by querying it (never from the answers).

use std::path::Path;

use tokio_postgres::NoTls;

/// Rows of the run's devices, and how many of them repeat a (device, stream, seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub stored: u64,
    pub duplicates: u64,
}

const COUNT_SQL: &str = "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT (device, stream, seq)) \
     FROM fixes WHERE device LIKE $1";

pub async fn postgres(url: &str, device_prefix: &str) -> Result<Counted, String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot reach the database to count: {e}"))?;
    let driver = tokio::spawn(connection);
    let pattern = format!("{device_prefix}%");
    let row = client
        .query_one(COUNT_SQL, &[&pattern])
        .await
        .map_err(|e| format!("count: {e}"))?;
    driver.abort();
    Ok(Counted {
        stored: row.get::<_, i64>(0) as u64,
        duplicates: row.get::<_, i64>(1) as u64,
    })
}

pub fn sqlite(path: &Path, device_prefix: &str) -> Result<Counted, String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    // SQLite has no COUNT(DISTINCT a, b, c): count the distinct keys in a subquery.
    let pattern = format!("{device_prefix}%");
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM fixes WHERE device LIKE ?1),
                (SELECT COUNT(*) FROM fixes WHERE device LIKE ?1)
              - (SELECT COUNT(*) FROM (SELECT DISTINCT device, stream, seq FROM fixes
                                       WHERE device LIKE ?1))",
        [&pattern],
        |r| {
            Ok(Counted {
                stored: r.get::<_, i64>(0)? as u64,
                duplicates: r.get::<_, i64>(1)? as u64,
            })
        },
    )
    .map_err(|e| format!("count: {e}"))
}
