//! The PostgreSQL schema: versioned migrations embedded in the binary, applied at start under
//! an advisory lock so that replicas starting together migrate once.
//!
//! Rows of `fixes` and `events` take their ids from one sequence and record the id of the
//! transaction that wrote them (`tx`): (tx, id) orders every row of both tables, and the live
//! stream reads in that order only below the oldest running transaction, so that no row can
//! appear behind a position already handed out (see `feed.rs`).

use tokio_postgres::Transaction;

use super::pg_error;
use crate::db::DbError;

/// A key of `pg_advisory_xact_lock` held while migrating ("TLC1").
const MIGRATION_LOCK: i64 = 0x544c_4331;

/// Each entry moves the schema from version `index` to `index + 1`. Append only.
const MIGRATIONS: &[Migration] = &[
    Migration::Sql(
        r#"CREATE SEQUENCE row_ids;
         CREATE TABLE fixes (
            id bigint PRIMARY KEY DEFAULT nextval('row_ids'),
            tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
            device text COLLATE "C" NOT NULL,
            stream text NOT NULL,
            seq bigint NOT NULL,
            t bigint NOT NULL,
            la double precision NOT NULL,
            lo double precision NOT NULL,
            ac double precision NOT NULL,
            al double precision, va double precision, sp double precision,
            sa double precision, be double precision, ba double precision,
            pr text,
            mk boolean NOT NULL,
            received_ms bigint NOT NULL,
            sla double precision, slo double precision, sac double precision,
            tr text, x text,
            UNIQUE (device, stream, seq)
         );
         CREATE INDEX fixes_by_time ON fixes (device, t, id);
         CREATE INDEX fixes_by_device ON fixes (device, id);
         CREATE INDEX fixes_in_feed_order ON fixes (tx, id);
         CREATE INDEX fixes_by_arrival ON fixes (received_ms);
         CREATE TABLE events (
            id bigint PRIMARY KEY DEFAULT nextval('row_ids'),
            tx bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
            device text COLLATE "C" NOT NULL,
            stream text NOT NULL,
            s bigint NOT NULL,
            t bigint NOT NULL,
            k text NOT NULL,
            subject text,
            la double precision, lo double precision,
            m text,
            received_ms bigint NOT NULL,
            UNIQUE (device, stream, s)
         );
         CREATE INDEX events_by_time ON events (device, t, id);
         CREATE INDEX events_by_device ON events (device, id);
         CREATE INDEX events_in_feed_order ON events (tx, id);
         CREATE INDEX events_by_arrival ON events (received_ms);
         CREATE TABLE devices (
            device text COLLATE "C" PRIMARY KEY,
            fixes bigint NOT NULL,
            last_t bigint,
            events bigint NOT NULL,
            metadata text,
            la double precision,
            lo double precision
         );"#,
    ),
    Migration::Spatial,
];

enum Migration {
    Sql(&'static str),
    /// A PostGIS point with a GiST index on `devices` when the extension can be created,
    /// otherwise a B-tree on the plain columns.
    Spatial,
}

/// Whether to use PostGIS when the server has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Postgis {
    IfAvailable,
    Never,
}

/// Brings the schema up to date; returns whether `devices` has the PostGIS column.
pub async fn migrate(
    client: &mut tokio_postgres::Client,
    postgis: Postgis,
) -> Result<bool, DbError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tracelet_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg_error)?;
    let found: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM tracelet_migrations",
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    let supported = MIGRATIONS.len() as i64;
    if i64::from(found) > supported {
        return Err(DbError::NewerSchema {
            found: i64::from(found),
            supported,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        match migration {
            Migration::Sql(sql) => tx.batch_execute(sql).await.map_err(pg_error)?,
            Migration::Spatial => spatial(&tx, postgis).await?,
        }
        let version = index as i32 + 1;
        tx.execute(
            "INSERT INTO tracelet_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(pg_error)?;
    }
    let has_geom: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'devices'
             AND column_name = 'geom')",
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    tx.commit().await.map_err(pg_error)?;
    Ok(has_geom)
}

async fn spatial(tx: &Transaction<'_>, postgis: Postgis) -> Result<(), DbError> {
    let available: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')",
            &[],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    if available && postgis == Postgis::IfAvailable {
        // Creating the extension needs privileges a managed database may withhold: then
        // the plain columns serve.
        tx.batch_execute("SAVEPOINT postgis")
            .await
            .map_err(pg_error)?;
        let created = tx
            .batch_execute(
                "CREATE EXTENSION IF NOT EXISTS postgis;
                 ALTER TABLE devices ADD COLUMN geom geometry(Point, 4326);
                 CREATE INDEX devices_by_geom ON devices USING gist (geom);",
            )
            .await;
        match created {
            Ok(()) => {
                tx.batch_execute("RELEASE SAVEPOINT postgis")
                    .await
                    .map_err(pg_error)?;
                return Ok(());
            }
            Err(_) => tx
                .batch_execute("ROLLBACK TO SAVEPOINT postgis")
                .await
                .map_err(pg_error)?,
        }
    }
    tx.batch_execute("CREATE INDEX devices_by_position ON devices (la, lo)")
        .await
        .map_err(pg_error)
}
