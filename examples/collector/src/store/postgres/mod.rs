//! The PostgreSQL backend: a connection pool (deadpool-postgres over tokio-postgres), one
//! transaction per batch with one multi-row insert per table (`UNNEST` of column arrays,
//! `ON CONFLICT DO NOTHING` on the unique keys), and a notification on commit for the live
//! stream of every replica. The conflict target is left out on purpose: the same statements
//! then also work on tables partitioned by time, whose unique keys must include the
//! partition column (`docs/deploy.md`).
//!
//! Replicas share nothing but the database: a batch sent to two replicas at once is written
//! by one transaction and found already stored by the other, because the unique keys decide.

pub mod feed;
mod schema;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::Row;
use tracelet_protocol::wire::{BatchV1, WireEvent, WireFix};

pub use schema::Postgis;

use super::{Area, Backend, DbFuture, DevicePosition, Store, TimeCursor};
use crate::db::{DbError, DeviceSummary, EventRow, StoredBatch, StoredRow};

/// The channel of the notifications sent on commit (`feed.rs`).
pub const FEED_CHANNEL: &str = "tracelet_feed";

const ROW_COLUMNS: &str = "id, stream, seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, \
     received_ms, sla, slo, sac, tr, x";
const EVENT_COLUMNS: &str = "id, stream, s, t, k, subject, la, lo, m, received_ms";

const INSERT_FIXES: &str = "INSERT INTO fixes (device, stream, seq, t, la, lo, ac, al, va, sp, \
     sa, be, ba, pr, mk, received_ms, sla, slo, sac, tr, x)
     SELECT $1, $2, u.seq, u.t, u.la, u.lo, u.ac, u.al, u.va, u.sp, u.sa, u.be, u.ba, u.pr, u.mk,
            $3, u.sla, u.slo, u.sac, u.tr, u.x
     FROM UNNEST($4::bigint[], $5::bigint[], $6::float8[], $7::float8[], $8::float8[],
                 $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[],
                 $14::float8[], $15::text[], $16::bool[], $17::float8[], $18::float8[],
                 $19::float8[], $20::text[], $21::text[])
          AS u(seq, t, la, lo, ac, al, va, sp, sa, be, ba, pr, mk, sla, slo, sac, tr, x)
     ORDER BY u.seq
     ON CONFLICT DO NOTHING
     RETURNING id, seq";

const INSERT_EVENTS: &str = "INSERT INTO events (device, stream, s, t, k, subject, la, lo, m, \
     received_ms)
     SELECT $1, $2, u.s, u.t, u.k, u.subject, u.la, u.lo, u.m, $3
     FROM UNNEST($4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::float8[],
                 $9::float8[], $10::text[])
          AS u(s, t, k, subject, la, lo, m)
     ORDER BY u.s
     ON CONFLICT DO NOTHING
     RETURNING id, s";

const LOCK_DEVICE: &str = "SELECT pg_advisory_xact_lock(hashtext($1))";

/// The device's summary row; `{geom}` is the PostGIS column's part, or nothing. It also sends
/// the live stream's notification, delivered on commit.
const UPSERT_DEVICE: &str = "INSERT INTO devices AS d (device, fixes, last_t, events, metadata, \
     la, lo{geom_column})
     VALUES ($1, $2, $3::bigint, $4, $5::text, $7::float8, $8::float8{geom_value})
     ON CONFLICT (device) DO UPDATE SET
        fixes = d.fixes + EXCLUDED.fixes,
        last_t = GREATEST(d.last_t, EXCLUDED.last_t),
        events = d.events + EXCLUDED.events,
        metadata = CASE WHEN $6 THEN EXCLUDED.metadata ELSE d.metadata END,
        la = CASE WHEN {newer} THEN EXCLUDED.la ELSE d.la END,
        lo = CASE WHEN {newer} THEN EXCLUDED.lo ELSE d.lo END{geom_update}";

/// Appended to the upsert when this transaction sends the notification.
const NOTIFY_ON_COMMIT: &str = "\n     RETURNING pg_notify($9, $10)";

/// Notifications from one replica are at most this close together: a commit within this
/// time of the previous notification leaves it to [`flush_notifications`], which sends one
/// for all of them. At a few commits per second every commit notifies; at thousands, the
/// notification queue's commit-time lock (one at a time, cluster-wide) is taken about 100
/// times a second per replica instead of once per commit.
const NOTIFY_EVERY: Duration = Duration::from_millis(10);

/// The batch's latest fix is at least as late as every fix stored before.
const NEWER: &str =
    "EXCLUDED.last_t IS NOT NULL AND (d.last_t IS NULL OR EXCLUDED.last_t >= d.last_t)";

pub struct PgStore {
    pool: Pool,
    config: tokio_postgres::Config,
    has_geom: bool,
    upsert_device: String,
    upsert_device_quiet: String,
    notifications: std::sync::Mutex<Notifications>,
}

/// When this replica last notified, and whether commits since then wait for a notification.
#[derive(Default)]
struct Notifications {
    last: Option<std::time::Instant>,
    pending: bool,
}

/// A tokio-postgres error as a [`DbError`]: a lost connection is `Unavailable` (503, retry);
/// otherwise the SQLSTATE and, unless it is about data, PostgreSQL's message (data
/// exceptions may quote values, which may be positions).
pub(crate) fn pg_error(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            if code.starts_with("22") || code.starts_with("23") {
                DbError::Postgres(format!("SQLSTATE {code}"))
            } else if code.starts_with("08") || code.starts_with("57") || code.starts_with("53") {
                DbError::Unavailable(format!("SQLSTATE {code}: {}", db.message()))
            } else {
                DbError::Postgres(format!("SQLSTATE {code}: {}", db.message()))
            }
        }
        None => DbError::Unavailable(e.to_string()),
    }
}

/// A Unix socket or a loopback address: nothing on the way to read.
fn is_local(host: &tokio_postgres::config::Host) -> bool {
    match host {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        tokio_postgres::config::Host::Unix(_) => true,
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> DbError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        other => DbError::Unavailable(other.to_string()),
    }
}

impl PgStore {
    /// Connects, migrates and returns the store; `max_connections` bounds the pool.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        postgis: Postgis,
    ) -> Result<PgStore, DbError> {
        // The parser's messages never repeat the URL, which may hold a password.
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| DbError::BadUrl(format!("not a PostgreSQL URL ({e})")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("tracelet-collector");
        }
        if config.get_hosts().iter().any(|h| !is_local(h)) {
            eprintln!(
                "warning: the connection to PostgreSQL is not encrypted (no TLS in this build); \
                 keep it on a private network or behind the provider's TLS proxy"
            );
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| DbError::BadUrl(e.to_string()))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let has_geom = schema::migrate(&mut client, postgis).await?;
        drop(client);
        let (geom_column, geom_value, geom_update) = if has_geom {
            (
                ", geom",
                ", CASE WHEN $7::float8 IS NULL THEN NULL \
                 ELSE ST_SetSRID(ST_MakePoint($8::float8, $7::float8), 4326) END",
                format!(",\n        geom = CASE WHEN {NEWER} THEN EXCLUDED.geom ELSE d.geom END"),
            )
        } else {
            ("", "", String::new())
        };
        let upsert_device = UPSERT_DEVICE
            .replace("{geom_column}", geom_column)
            .replace("{geom_value}", geom_value)
            .replace("{geom_update}", &geom_update)
            .replace("{newer}", NEWER);
        Ok(PgStore {
            pool,
            config,
            has_geom,
            upsert_device: format!("{upsert_device}{NOTIFY_ON_COMMIT}"),
            upsert_device_quiet: upsert_device,
            notifications: std::sync::Mutex::new(Notifications::default()),
        })
    }

    /// Whether the fleet queries run on PostGIS (otherwise on plain columns).
    pub fn uses_postgis(&self) -> bool {
        self.has_geom
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Stores a batch in two round trips: `BEGIN`, the device lock and the inserts go out
    /// together (tokio-postgres pipelines requests polled together; the server runs them in
    /// order), then the summary upsert (which sends the notification) and `COMMIT`. A failed
    /// statement aborts the transaction; the `COMMIT` after it then rolls back, and the
    /// connection goes back to the pool clean.
    async fn store(&self, batch: &BatchV1, now_ms: i64) -> Result<StoredBatch, DbError> {
        let client = self.client().await?;
        let lock = client.prepare_cached(LOCK_DEVICE).await.map_err(pg_error)?;
        let insert_fixes = client
            .prepare_cached(INSERT_FIXES)
            .await
            .map_err(pg_error)?;
        let insert_events = client
            .prepare_cached(INSERT_EVENTS)
            .await
            .map_err(pg_error)?;
        let notify = self.notify_now();
        let upsert = client
            .prepare_cached(if notify {
                &self.upsert_device
            } else {
                &self.upsert_device_quiet
            })
            .await
            .map_err(pg_error)?;
        let c = FixColumns::new(batch);
        let e = EventColumns::new(batch);
        let fix_params: [&(dyn tokio_postgres::types::ToSql + Sync); 21] = [
            &batch.device,
            &batch.stream,
            &now_ms,
            &c.seq,
            &c.t,
            &c.la,
            &c.lo,
            &c.ac,
            &c.al,
            &c.va,
            &c.sp,
            &c.sa,
            &c.be,
            &c.ba,
            &c.pr,
            &c.mk,
            &c.sla,
            &c.slo,
            &c.sac,
            &c.tr,
            &c.x,
        ];
        let event_params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
            &batch.device,
            &batch.stream,
            &now_ms,
            &e.s,
            &e.t,
            &e.k,
            &e.subject,
            &e.la,
            &e.lo,
            &e.m,
        ];
        let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&batch.device];
        let inserts = async {
            // Batches of one device commit one after the other, and each gets its
            // transaction id (at its first insert) only once it holds the lock: per device,
            // (tx, id) order is commit order.
            let (_, _, fixes, events) = tokio::try_join!(
                client.batch_execute("BEGIN"),
                client.execute(&lock, &lock_params),
                async {
                    if batch.fixes.is_empty() {
                        Ok(Vec::new())
                    } else {
                        client.query(&insert_fixes, &fix_params).await
                    }
                },
                async {
                    if batch.events.is_empty() {
                        Ok(Vec::new())
                    } else {
                        client.query(&insert_events, &event_params).await
                    }
                },
            )?;
            Ok::<_, tokio_postgres::Error>((fixes, events))
        };
        let (fix_rows, event_rows) = match inserts.await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(pg_error(e));
            }
        };
        let mut stored = StoredBatch::default();
        let mut new: Vec<(i64, i64)> = fix_rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        new.sort_unstable_by_key(|(_, seq)| *seq);
        for (id, seq) in new {
            let seq = seq as u64;
            stored.rows.push(StoredRow {
                cursor: id as u64,
                stream: batch.stream.clone(),
                seq,
                fix: batch.fixes[(seq - batch.first_seq) as usize].clone(),
                received_ms: now_ms,
            });
        }
        let mut new: Vec<(i64, i64)> = event_rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        new.sort_unstable_by_key(|(_, s)| *s);
        let by_s: BTreeMap<u64, &WireEvent> = batch.events.iter().map(|e| (e.s, e)).collect();
        for (id, s) in new {
            if let Some(event) = by_s.get(&(s as u64)) {
                stored.events.push(EventRow {
                    cursor: id as u64,
                    stream: batch.stream.clone(),
                    event: (*event).clone(),
                    received_ms: now_ms,
                });
            }
        }
        let committed = if stored.rows.is_empty() && stored.events.is_empty() {
            client.batch_execute("COMMIT").await
        } else {
            let latest = stored.latest_row();
            let metadata = stored.events.iter().rev().find(|e| e.event.k == "device");
            // A wake-up for every replica's live stream, delivered on commit; it carries a
            // row id, never the rows.
            let last_id = stored
                .rows
                .iter()
                .map(|r| r.cursor)
                .chain(stored.events.iter().map(|e| e.cursor))
                .max()
                .unwrap_or(0)
                .to_string();
            let rows = stored.rows.len() as i64;
            let events = stored.events.len() as i64;
            let metadata_text = metadata.and_then(|e| map_to_text(&e.event.m));
            let (t, la, lo) = (
                latest.map(|r| r.fix.t),
                latest.map(|r| r.fix.la),
                latest.map(|r| r.fix.lo),
            );
            let has_metadata = metadata.is_some();
            let upsert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] = [
                &batch.device,
                &rows,
                &t,
                &events,
                &metadata_text,
                &has_metadata,
                &la,
                &lo,
                &FEED_CHANNEL,
                &last_id,
            ];
            let params = if notify {
                &upsert_params[..]
            } else {
                &upsert_params[..8]
            };
            tokio::try_join!(
                client.execute(&upsert, params),
                client.batch_execute("COMMIT"),
            )
            .map(|_| ())
        };
        // A COMMIT after a failed statement answers ROLLBACK without an error: the upsert's
        // error is the one reported, and nothing of the batch is stored.
        committed.map_err(pg_error)?;
        let stored_any = !stored.rows.is_empty() || !stored.events.is_empty();
        if stored_any && !notify {
            crate::lock(&self.notifications).pending = true;
        }
        stored.duplicates = (batch.fixes.len() - stored.rows.len()) as u64;
        stored.event_duplicates = (batch.events.len() - stored.events.len()) as u64;
        Ok(stored)
    }

    /// Whether this commit sends the notification itself (see [`NOTIFY_EVERY`]).
    fn notify_now(&self) -> bool {
        let mut n = crate::lock(&self.notifications);
        let now = std::time::Instant::now();
        if n.last
            .is_some_and(|last| now.duration_since(last) < NOTIFY_EVERY)
        {
            return false;
        }
        n.last = Some(now);
        true
    }

    async fn query_rows<T>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        read: impl Fn(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_error)?;
        let rows = client.query(&stmt, params).await.map_err(pg_error)?;
        rows.iter().map(read).collect()
    }

    async fn positions_in(
        &self,
        area: Area,
        after: &str,
        limit: u32,
    ) -> Result<Vec<DevicePosition>, DbError> {
        let (min_la, min_lo, max_la, max_lo) = area.bounds();
        let sql = match (self.has_geom, area) {
            (true, Area::Box { .. }) => {
                "SELECT device, last_t, la, lo FROM devices WHERE device > $1
                 AND geom && ST_MakeEnvelope($4, $2, $5, $3, 4326)
                 ORDER BY device LIMIT $6"
            }
            (true, Area::Circle { .. }) => {
                "SELECT device, last_t, la, lo FROM devices WHERE device > $1
                 AND geom && ST_MakeEnvelope($4, $2, $5, $3, 4326)
                 AND ST_DWithin(geom::geography,
                                ST_SetSRID(ST_MakePoint($8, $7), 4326)::geography, $9, false)
                 ORDER BY device LIMIT $6"
            }
            (false, _) => {
                "SELECT device, last_t, la, lo FROM devices WHERE device > $1
                 AND la BETWEEN $2 AND $3 AND lo BETWEEN $4 AND $5
                 ORDER BY device LIMIT $6"
            }
        };
        let (cla, clo, radius) = match area {
            Area::Circle { la, lo, radius_m } => (la, lo, radius_m),
            Area::Box { .. } => (0.0, 0.0, 0.0),
        };
        let with_circle = self.has_geom && matches!(area, Area::Circle { .. });
        let mut found = Vec::new();
        let mut from = after.to_owned();
        let page = i64::from(limit);
        loop {
            let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                vec![&from, &min_la, &max_la, &min_lo, &max_lo, &page];
            if with_circle {
                params.extend_from_slice(&[&cla, &clo, &radius]);
            }
            let rows = self
                .query_rows(sql, &params, |r| {
                    Ok(DevicePosition {
                        device: r.get(0),
                        t: r.get::<_, Option<i64>>(1).unwrap_or(0),
                        la: r.get(2),
                        lo: r.get(3),
                        distance_m: None,
                    })
                })
                .await?;
            let full = rows.len() == limit as usize;
            if let Some(last) = rows.last() {
                from = last.device.clone();
            }
            // The plain columns' box holds a circle; the exact test decides (PostGIS
            // already applied it, on the same sphere).
            for mut p in rows {
                if found.len() < limit as usize && (with_circle || area.contains(p.la, p.lo)) {
                    p.distance_m = area.distance_from_centre(p.la, p.lo);
                    found.push(p);
                }
            }
            if !full || found.len() >= limit as usize {
                return Ok(found);
            }
        }
    }

    async fn delete_before(&self, cutoff_ms: i64) -> Result<u64, DbError> {
        let client = self.client().await?;
        let mut total = 0;
        for table in ["fixes", "events"] {
            // Small statements: a long one would hold back the live stream (feed.rs).
            let sql = format!(
                "DELETE FROM {table} WHERE id IN
                 (SELECT id FROM {table} WHERE received_ms < $1 LIMIT 10000)"
            );
            loop {
                let n = client
                    .execute(&sql, &[&cutoff_ms])
                    .await
                    .map_err(pg_error)?;
                total += n;
                if n == 0 {
                    break;
                }
            }
        }
        if total > 0 {
            let clear_geom = if self.has_geom { ", geom = NULL" } else { "" };
            client
                .execute(
                    &format!(
                        "UPDATE devices SET la = NULL, lo = NULL{clear_geom} WHERE la IS NOT NULL
                         AND NOT EXISTS (SELECT 1 FROM fixes WHERE fixes.device = devices.device)"
                    ),
                    &[],
                )
                .await
                .map_err(pg_error)?;
        }
        Ok(total)
    }
}

/// Sends one notification for the commits that left theirs to it, every [`NOTIFY_EVERY`],
/// until `stopping`.
pub async fn flush_notifications(
    store: Arc<PgStore>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(NOTIFY_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        let due = {
            let mut n = crate::lock(&store.notifications);
            let due = n.pending;
            if due {
                n.pending = false;
                n.last = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            let sent = async {
                let client = store.client().await?;
                client
                    .execute("SELECT pg_notify($1, '')", &[&FEED_CHANNEL])
                    .await
                    .map_err(pg_error)
            };
            // Lost, the followers' own tick still finds the rows a moment later.
            if let Err(e) = sent.await {
                eprintln!("tracelet-collector: live feed notification: {e}");
            }
        }
    }
}

/// A batch's fixes as one array per column, for `UNNEST`.
struct FixColumns<'b> {
    seq: Vec<i64>,
    t: Vec<i64>,
    la: Vec<f64>,
    lo: Vec<f64>,
    ac: Vec<f64>,
    al: Vec<Option<f64>>,
    va: Vec<Option<f64>>,
    sp: Vec<Option<f64>>,
    sa: Vec<Option<f64>>,
    be: Vec<Option<f64>>,
    ba: Vec<Option<f64>>,
    pr: Vec<Option<&'b str>>,
    mk: Vec<bool>,
    sla: Vec<Option<f64>>,
    slo: Vec<Option<f64>>,
    sac: Vec<Option<f64>>,
    tr: Vec<Option<&'b str>>,
    x: Vec<Option<String>>,
}

impl<'b> FixColumns<'b> {
    fn new(batch: &'b BatchV1) -> FixColumns<'b> {
        let f = &batch.fixes;
        let col = |get: fn(&WireFix) -> Option<f64>| f.iter().map(get).collect::<Vec<_>>();
        FixColumns {
            seq: (0..f.len())
                .map(|i| (batch.first_seq + i as u64) as i64)
                .collect(),
            t: f.iter().map(|f| f.t).collect(),
            la: f.iter().map(|f| f.la).collect(),
            lo: f.iter().map(|f| f.lo).collect(),
            ac: f.iter().map(|f| f.ac).collect(),
            al: col(|f| f.al),
            va: col(|f| f.va),
            sp: col(|f| f.sp),
            sa: col(|f| f.sa),
            be: col(|f| f.be),
            ba: col(|f| f.ba),
            pr: f.iter().map(|f| f.pr.as_deref()).collect(),
            mk: f.iter().map(|f| f.mk).collect(),
            sla: col(|f| f.sla),
            slo: col(|f| f.slo),
            sac: col(|f| f.sac),
            tr: f.iter().map(|f| f.tr.as_deref()).collect(),
            x: f.iter().map(|f| map_to_text(&f.x)).collect(),
        }
    }
}

/// A batch's events as one array per column, for `UNNEST`.
struct EventColumns<'b> {
    s: Vec<i64>,
    t: Vec<i64>,
    k: Vec<&'b str>,
    subject: Vec<Option<&'b str>>,
    la: Vec<Option<f64>>,
    lo: Vec<Option<f64>>,
    m: Vec<Option<String>>,
}

impl<'b> EventColumns<'b> {
    fn new(batch: &'b BatchV1) -> EventColumns<'b> {
        let e = &batch.events;
        EventColumns {
            s: e.iter().map(|e| seq_param(e.s)).collect(),
            t: e.iter().map(|e| e.t).collect(),
            k: e.iter().map(|e| e.k.as_str()).collect(),
            subject: e.iter().map(|e| e.id.as_deref()).collect(),
            la: e.iter().map(|e| e.la).collect(),
            lo: e.iter().map(|e| e.lo).collect(),
            m: e.iter().map(|e| map_to_text(&e.m)).collect(),
        }
    }
}

/// A string map as stored: JSON text, NULL when empty (as in SQLite).
fn map_to_text(map: &BTreeMap<String, String>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    serde_json::to_string(map).ok()
}

fn map_from_text(text: Option<String>) -> Result<BTreeMap<String, String>, DbError> {
    match text {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|_| DbError::Postgres("a stored map is not JSON".into())),
    }
}

/// A row of [`ROW_COLUMNS`] starting at column `at`.
pub(crate) fn read_row(r: &Row, at: usize) -> Result<StoredRow, DbError> {
    Ok(StoredRow {
        cursor: r.get::<_, i64>(at) as u64,
        stream: r.get(at + 1),
        seq: r.get::<_, i64>(at + 2) as u64,
        fix: WireFix {
            t: r.get(at + 3),
            la: r.get(at + 4),
            lo: r.get(at + 5),
            ac: r.get(at + 6),
            al: r.get(at + 7),
            va: r.get(at + 8),
            sp: r.get(at + 9),
            sa: r.get(at + 10),
            be: r.get(at + 11),
            ba: r.get(at + 12),
            pr: r.get(at + 13),
            mk: r.get(at + 14),
            sla: r.get(at + 16),
            slo: r.get(at + 17),
            sac: r.get(at + 18),
            tr: r.get(at + 19),
            x: map_from_text(r.get(at + 20))?,
        },
        received_ms: r.get(at + 15),
    })
}

/// A row of [`EVENT_COLUMNS`] starting at column `at`.
pub(crate) fn read_event(r: &Row, at: usize) -> Result<EventRow, DbError> {
    Ok(EventRow {
        cursor: r.get::<_, i64>(at) as u64,
        stream: r.get(at + 1),
        event: WireEvent {
            s: r.get::<_, i64>(at + 2) as u64,
            t: r.get(at + 3),
            k: r.get(at + 4),
            id: r.get(at + 5),
            la: r.get(at + 6),
            lo: r.get(at + 7),
            m: map_from_text(r.get(at + 8))?,
        },
        received_ms: r.get(at + 9),
    })
}

fn seq_param(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn store_batch(&self, batch: Arc<BatchV1>, now_ms: i64) -> DbFuture<'_, StoredBatch> {
        Box::pin(async move { self.store(&batch, now_ms).await })
    }

    fn fixes<'a>(
        &'a self,
        device: &'a str,
        after: u64,
        limit: u32,
    ) -> DbFuture<'a, Vec<StoredRow>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM fixes WHERE device = $1 AND id > $2 ORDER BY id LIMIT $3"
            );
            let (after, limit) = (seq_param(after), i64::from(limit));
            self.query_rows(&sql, &[&device, &after, &limit], |r| read_row(r, 0))
                .await
        })
    }

    fn latest<'a>(&'a self, device: &'a str) -> DbFuture<'a, Option<StoredRow>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM fixes WHERE device = $1 ORDER BY t DESC, id DESC LIMIT 1"
            );
            let mut rows = self
                .query_rows(&sql, &[&device], |r| read_row(r, 0))
                .await?;
            Ok(rows.pop())
        })
    }

    fn track<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        to_ms: i64,
        limit: u32,
    ) -> DbFuture<'a, Vec<StoredRow>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {ROW_COLUMNS} FROM fixes WHERE device = $1 AND (t, id) > ($2, $3)
                 AND t <= $4 ORDER BY t, id LIMIT $5"
            );
            let limit = i64::from(limit);
            self.query_rows(
                &sql,
                &[&device, &start.t, &start.cursor, &to_ms, &limit],
                |r| read_row(r, 0),
            )
            .await
        })
    }

    fn events<'a>(
        &'a self,
        device: &'a str,
        start: TimeCursor,
        until_ms: i64,
        kinds: Option<Vec<String>>,
        limit: u32,
    ) -> DbFuture<'a, Vec<EventRow>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE device = $1 AND (t, id) > ($2, $3)
                 AND t <= $4 AND ($5::text[] IS NULL OR k = ANY($5::text[]))
                 ORDER BY t, id LIMIT $6"
            );
            let limit = i64::from(limit);
            self.query_rows(
                &sql,
                &[&device, &start.t, &start.cursor, &until_ms, &kinds, &limit],
                |r| read_event(r, 0),
            )
            .await
        })
    }

    fn all_events<'a>(&'a self, device: &'a str) -> DbFuture<'a, Vec<EventRow>> {
        Box::pin(async move {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE device = $1 ORDER BY id");
            self.query_rows(&sql, &[&device], |r| read_event(r, 0))
                .await
        })
    }

    fn devices<'a>(&'a self, after: &'a str, limit: u32) -> DbFuture<'a, Vec<DeviceSummary>> {
        Box::pin(async move {
            let limit = i64::from(limit);
            self.query_rows(
                "SELECT device, fixes, last_t, events, metadata FROM devices
                 WHERE device > $1 ORDER BY device LIMIT $2",
                &[&after, &limit],
                |r| {
                    Ok(DeviceSummary {
                        device: r.get(0),
                        fixes: r.get::<_, i64>(1) as u64,
                        last_t: r.get(2),
                        events: r.get::<_, i64>(3) as u64,
                        metadata: map_from_text(r.get(4))?,
                    })
                },
            )
            .await
        })
    }

    fn positions<'a>(
        &'a self,
        area: Area,
        after: &'a str,
        limit: u32,
    ) -> DbFuture<'a, Vec<DevicePosition>> {
        Box::pin(self.positions_in(area, after, limit))
    }

    fn delete_received_before(&self, cutoff_ms: i64) -> DbFuture<'_, u64> {
        Box::pin(self.delete_before(cutoff_ms))
    }
}
