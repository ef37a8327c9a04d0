//! The upload thread. It sleeps until something can change what it would do (a fix past a
//! trigger, a stop timeout, a dwell, a retry time, the network, the app), then runs one round:
//! the time-based decisions, a WAL checkpoint when the log has grown, and an upload when one is
//! due. While nothing can be uploaded (no usable network) no timer wakes it for uploads.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::schedule::{self, UploadDecision, UploadState};
use super::{Event, FlushReport, Shared, UploadOutcome, lock};
use crate::error::TrackerError;
use crate::jitter::backoff_ms;
use crate::steady::Now;
use crate::store::{Checkpointer, SentBefore, Store};
use crate::upload::{
    EncodedBatch, ResponseClass, TransportError, UploadRequest, UploadResponse, classify,
    encode_batch,
};

/// The uploader checkpoints the WAL once it has grown past this.
const CHECKPOINT_WAL_BYTES: u64 = 4 * 1024 * 1024;
/// Most events riding in one batch beside the fixes.
const MAX_BATCH_EVENTS: u32 = 100;
/// After a round that did nothing, the uploader waits at least this long before the next (flush
/// requests excepted): a guard against any schedule that keeps answering "now".
const QUIET_AFTER_IDLE_ROUND: Duration = Duration::from_secs(1);
/// A transport gets this much beyond the request timeout before it is given up on.
const TRANSPORT_GRACE: Duration = Duration::from_secs(5);
/// Stack of the threads that run foreign code (a platform transport, a token provider): the
/// JVM or the Swift runtime runs there, with an HTTP stack on top (Android gives its own
/// threads about 1 MiB).
const FOREIGN_CALL_STACK_BYTES: usize = 1024 * 1024;
/// Longest bearer token accepted from the app (a JWT with many claims is a few KiB).
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

type FlushReply = oneshot::Sender<Result<FlushReport, TrackerError>>;

/// The upload thread's body.
pub(super) fn run(
    shared: Arc<Shared>,
    flush_requests: mpsc::Receiver<FlushReply>,
    shutdown: watch::Receiver<bool>,
) {
    // Everything this thread logs belongs to this tracker (`crate::logs::router`).
    let _log = shared.log_scope();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_stack_size(FOREIGN_CALL_STACK_BYTES)
        .build();
    // Without a checkpointer the store's automatic backstop still bounds the WAL.
    let checkpointer = Checkpointer::open(lock(&shared.store).path()).ok();
    match runtime {
        Ok(runtime) => {
            runtime.block_on(upload_loop(shared, flush_requests, shutdown, checkpointer));
            // Blocking calls still running (a DNS lookup, a platform call that never returns)
            // are left to finish on their own.
            runtime.shutdown_background();
        }
        Err(e) => {
            log::error!("cannot start the upload runtime: {e}");
            shared.emit(Event::UploadFailed {
                reason: format!("cannot start the upload runtime: {e}"),
                retry_in_ms: -1,
            });
        }
    }
}

async fn upload_loop(
    shared: Arc<Shared>,
    mut flush_requests: mpsc::Receiver<FlushReply>,
    mut shutdown: watch::Receiver<bool>,
    checkpointer: Option<Checkpointer>,
) {
    let mut flush_waiters = Vec::new();
    let mut quiet_until: Option<tokio::time::Instant> = None;
    loop {
        let now_ms = shared.steady.now_ms();
        let wake_at = shared.next_wake_ms();
        lock(&shared.state).planned_wake_ms = wake_at;
        let timer = async {
            match wake_at {
                Some(at) => {
                    let wait = u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let woken = async {
            if let Some(until) = quiet_until {
                tokio::time::sleep_until(until).await;
            }
            tokio::select! {
                () = timer => {}
                () = shared.wake.notified() => {}
            }
        };
        tokio::select! {
            _ = shutdown.changed() => break,
            request = flush_requests.recv() => match request {
                Some(reply) => flush_waiters.push(reply),
                None => break,
            },
            () = woken => {}
        }
        while let Ok(reply) = flush_requests.try_recv() {
            flush_waiters.push(reply);
        }
        lock(&shared.state).planned_wake_ms = None;
        shared.uploader_rounds.fetch_add(1, Ordering::SeqCst);
        let acted = match round(
            &shared,
            checkpointer.as_ref(),
            &mut flush_waiters,
            &mut shutdown,
        )
        .await
        {
            Some(acted) => acted,
            None => break,
        };
        quiet_until = (!acted).then(|| tokio::time::Instant::now() + QUIET_AFTER_IDLE_ROUND);
    }
    for reply in flush_waiters {
        let _ = reply.send(Err(TrackerError::ShutDown));
    }
}

/// One round; whether it did anything, or `None` when shutdown cut it short.
async fn round(
    shared: &Shared,
    checkpointer: Option<&Checkpointer>,
    flush_waiters: &mut Vec<FlushReply>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<bool> {
    let automatic = shared.config.upload.automatic;
    let mut acted = false;
    // Time-based policy decisions while no fixes arrive. Without automatic uploads the caller
    // drives time and calls `tick` itself.
    if automatic && shared.tick() {
        shared.upload_requested.store(true, Ordering::SeqCst);
        acted = true;
    }
    if let Some(checkpointer) = checkpointer {
        // A failed checkpoint loses nothing: the WAL still holds every commit.
        acted |= checkpointer
            .checkpoint_if_larger_than(CHECKPOINT_WAL_BYTES)
            .unwrap_or(false);
    }
    let due = !flush_waiters.is_empty()
        || (automatic && shared.upload_decision() == UploadDecision::UploadNow);
    if !due {
        return Some(acted);
    }
    let result = tokio::select! {
        _ = shutdown.changed() => return None,
        result = Box::pin(shared.upload_pending()) => result,
    };
    if let Err(TrackerError::Storage(reason)) = &result {
        // A storage error sets no retry time of its own: back off like a failed upload.
        shared.failed(format!("storage: {reason}"), None, shared.steady.now());
    } else if let Err(TrackerError::StorageFull) = &result {
        shared.failed("storage is full".into(), None, shared.steady.now());
    }
    for reply in flush_waiters.drain(..) {
        let _ = reply.send(result.clone());
    }
    Some(true)
}

/// A token the app hands over: non-empty visible ASCII, of a bounded length.
pub(crate) fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_BYTES
        && token.bytes().all(|b| b.is_ascii_graphic())
}

fn half(count: u64) -> u32 {
    u32::try_from(count / 2).unwrap_or(u32::MAX).max(1)
}

impl Shared {
    /// Uploads batches until the queue is empty or an attempt fails.
    async fn upload_pending(&self) -> Result<FlushReport, TrackerError> {
        self.upload_requested.store(false, Ordering::SeqCst);
        self.ignore_backoff.store(false, Ordering::SeqCst);
        if !self.network_usable(&lock(&self.state)) {
            return Err(TrackerError::Upload(
                "waiting for a network the upload policy allows".into(),
            ));
        }
        let mut report = FlushReport::default();
        let mut batch_limit = self.config.upload.max_batch_fixes;
        let mut refreshed_token = false;
        loop {
            let outgoing = lock(&self.store).peek_outgoing(batch_limit, MAX_BATCH_EVENTS)?;
            if let (true, Some(&seq)) = (outgoing.fixes.is_empty(), outgoing.unreadable.first()) {
                self.set_aside_unreadable(seq)?;
                continue;
            }
            // Copied out: the state lock is not held while the batch is encoded and gzipped.
            let params = lock(&self.state).request_extras.params().clone();
            let Some(batch) = encode_batch(
                &self.config.device_id,
                &outgoing.stream,
                &outgoing.fixes,
                &outgoing.events,
                &params,
                self.config.upload.encoding,
            ) else {
                report.pending = lock(&self.store).pending_count();
                return Ok(report);
            };
            if batch.body.len() > self.config.upload.max_batch_bytes && batch.fix_count() > 1 {
                batch_limit = half(batch.fix_count());
                log::debug!(
                    "batch of {} bytes over the limit: splitting to {batch_limit} fixes",
                    batch.body.len()
                );
                continue;
            }
            let sent_before =
                lock(&self.store).mark_sending(batch.fix_range(), batch.event_range())?;
            let (bearer_token, app_headers) = {
                let state = lock(&self.state);
                (
                    state.bearer_token.clone(),
                    state.request_extras.headers().to_vec(),
                )
            };
            let request = UploadRequest {
                url: self.endpoint.clone(),
                bearer_token,
                idempotency_key: batch.idempotency_key.clone(),
                content_type: batch.content_type,
                body: batch.body.clone(),
                timeout: Duration::from_millis(self.config.upload.request_timeout_ms),
                app_headers,
            };
            log::info!(
                "upload attempt: {} fixes (seq {}-{}), {} events, {} bytes",
                batch.fix_count(),
                batch.first_seq,
                batch.last_seq,
                outgoing.events.len(),
                batch.body.len()
            );
            let result = self.send(request).await;
            lock(&self.state).status.upload_attempts += 1;
            let now = self.steady.now();
            match classify(&result) {
                ResponseClass::Delivered => {
                    if outgoing.current_stream {
                        self.check_duplicates(&batch, &result, sent_before);
                    }
                    self.delivered(&batch, now.wall_ms)?;
                    report.uploaded += batch.fix_count();
                    report.batches += 1;
                    batch_limit = self.config.upload.max_batch_fixes;
                }
                ResponseClass::TooLarge if batch.fix_count() > 1 => {
                    batch_limit = half(batch.fix_count());
                    log::info!("server answered 413: splitting to {batch_limit} fixes");
                }
                ResponseClass::TooLarge => self.dead_letter(&batch, 413, now.wall_ms)?,
                ResponseClass::Rejected => {
                    let status = result.as_ref().map_or(400, |r| r.status);
                    self.dead_letter(&batch, status, now.wall_ms)?;
                }
                // Ask the app once per round; a second 401 means the new token failed too.
                ResponseClass::Unauthorized if !refreshed_token && self.refresh_token().await => {
                    log::info!("server answered 401: the app's token provider gave a new token");
                    refreshed_token = true;
                }
                ResponseClass::Unauthorized => {
                    return Err(self.failed("server refused the token (401)".into(), None, now));
                }
                ResponseClass::Retry { retry_after_s } => {
                    let reason = match &result {
                        Ok(r) => format!("server answered {}", r.status),
                        Err(e) => e.to_string(),
                    };
                    return Err(self.failed(reason, retry_after_s, now));
                }
            }
        }
    }

    /// A first attempt must find nothing of its batch at the server: fixes numbered in this
    /// installation's own stream were never sent by anyone else. Duplicates beyond what earlier
    /// attempts sent mean the server holds other fixes under these numbers (another install
    /// with this device id and stream, or a server that ignores streams): reported, since
    /// deleting the batch as delivered may lose them.
    fn check_duplicates(
        &self,
        batch: &EncodedBatch,
        result: &Result<UploadResponse, TransportError>,
        sent_before: SentBefore,
    ) {
        let Some(counts) = result.as_ref().ok().and_then(UploadResponse::ingest_counts) else {
            return;
        };
        if counts.duplicates <= sent_before.fixes && counts.events_duplicates <= sent_before.events
        {
            return;
        }
        let (first_seq, last_seq) = batch.fix_range().unwrap_or((0, 0));
        log::warn!(
            "delivery anomaly: the server already had {} of fixes {first_seq}-{last_seq} and {} \
             events, sent for the first time",
            counts.duplicates,
            counts.events_duplicates
        );
        lock(&self.state).status.delivery_anomalies += 1;
        self.emit(Event::DeliveryAnomaly {
            first_seq,
            last_seq,
            duplicates: counts.duplicates,
            event_duplicates: counts.events_duplicates,
        });
    }

    /// Moves a row that cannot be read back out of the way, so the queue never sticks on it.
    fn set_aside_unreadable(&self, seq: u64) -> Result<(), TrackerError> {
        let now_ms = self.steady.now().wall_ms;
        log::warn!("fix {seq} cannot be read back: dead-lettered");
        lock(&self.store).dead_letter(seq, seq, 0, b"unreadable row", now_ms)?;
        lock(&self.state).status.dead_lettered_total += 1;
        self.emit(Event::BatchDeadLettered {
            first_seq: seq,
            last_seq: seq,
            http_status: 0,
        });
        Ok(())
    }

    /// Asks the app's token provider for a new token; true if one was installed. The app's
    /// code runs on a thread of its own, and is given up on after the request timeout.
    async fn refresh_token(&self) -> bool {
        let Some(provider) = lock(&self.token_provider).clone() else {
            return false;
        };
        let call = tokio::task::spawn_blocking(move || provider.fresh_token());
        let timeout = Duration::from_millis(self.config.upload.request_timeout_ms);
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(Some(token))) if is_valid_token(&token) => {
                lock(&self.state).bearer_token = token;
                true
            }
            _ => false,
        }
    }

    /// Sends one request, giving up when the transport has not answered within the request
    /// timeout (and a little more): a platform transport may ignore the timeout it was given.
    async fn send(&self, request: UploadRequest) -> Result<UploadResponse, TransportError> {
        let limit = request.timeout + TRANSPORT_GRACE;
        match tokio::time::timeout(limit, self.transport.send(request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout),
        }
    }

    fn delivered(&self, batch: &EncodedBatch, now_ms: i64) -> Result<(), TrackerError> {
        {
            let mut store = lock(&self.store);
            if batch.fix_count() > 0 {
                store.delete_through(batch.last_seq)?;
            }
            if let Some(last) = batch.last_event_seq {
                store.delete_events_through(last)?;
            }
        }
        {
            let mut state = lock(&self.state);
            state.status.uploaded_total += batch.fix_count();
            state.status.uploaded_bytes += batch.body.len() as u64;
            state.status.last_upload = Some(UploadOutcome::Delivered {
                fixes: batch.fix_count(),
                at_ms: now_ms,
            });
            state.retry_at_ms = None;
            state.consecutive_failures = 0;
        }
        log::info!(
            "upload delivered: {} fixes (seq {}-{}), {} bytes",
            batch.fix_count(),
            batch.first_seq,
            batch.last_seq,
            batch.body.len()
        );
        if batch.fix_count() > 0 {
            self.emit(Event::UploadSucceeded {
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
            });
        }
        Ok(())
    }

    fn dead_letter(
        &self,
        batch: &EncodedBatch,
        http_status: u16,
        now_ms: i64,
    ) -> Result<(), TrackerError> {
        // An events-only batch has no fixes: an empty range (1..=0).
        let (first, last) = if batch.fix_count() > 0 {
            (batch.first_seq, batch.last_seq)
        } else {
            (1, 0)
        };
        lock(&self.store).dead_letter_with_events(
            first,
            last,
            batch.last_event_seq,
            http_status,
            &batch.body,
            now_ms,
        )?;
        {
            let mut state = lock(&self.state);
            state.status.dead_lettered_total += batch.fix_count();
            state.status.last_upload = Some(UploadOutcome::DeadLettered {
                http_status,
                at_ms: now_ms,
            });
        }
        log::warn!(
            "batch dead-lettered: the server refused it with HTTP {http_status}; {} fixes \
             (seq {}-{}) set aside, never retried",
            batch.fix_count(),
            batch.first_seq,
            batch.last_seq
        );
        if batch.fix_count() > 0 {
            self.emit(Event::BatchDeadLettered {
                first_seq: batch.first_seq,
                last_seq: batch.last_seq,
                http_status,
            });
        }
        Ok(())
    }

    /// Records a failed attempt and schedules the retry (steady time) with jittered exponential
    /// backoff.
    fn failed(&self, reason: String, retry_after_s: Option<u64>, now: Now) -> TrackerError {
        let retry_in_ms = {
            let mut state = lock(&self.state);
            state.consecutive_failures += 1;
            let policy = &self.config.upload;
            let failures = state.consecutive_failures;
            let retry_after_ms = retry_after_s.map(|s| {
                i64::try_from(s.saturating_mul(1000))
                    .unwrap_or(i64::MAX)
                    .min(policy.max_retry_after_ms)
            });
            let delay = backoff_ms(
                &mut state.jitter,
                failures,
                policy.min_backoff_ms,
                policy.max_backoff_ms,
                retry_after_ms,
            );
            state.retry_at_ms = Some(now.steady_ms.saturating_add(delay));
            state.status.last_upload = Some(UploadOutcome::Failed {
                reason: reason.clone(),
                at_ms: now.wall_ms,
                retry_at_ms: now.wall_ms.saturating_add(delay),
            });
            log::warn!(
                "upload failed ({reason}): attempt {failures} in a row, retry in {} s",
                delay / 1000
            );
            delay
        };
        self.emit(Event::UploadFailed {
            reason: reason.clone(),
            retry_in_ms,
        });
        TrackerError::Upload(reason)
    }
}

impl Shared {
    /// The upload schedule's inputs as they are now.
    pub(super) fn upload_state(&self, now_ms: i64) -> UploadState {
        let max_delay_ms = self.max_delay_ms();
        let (network_usable, retry_at_ms) = {
            let state = lock(&self.state);
            (self.network_usable(&state), state.retry_at_ms)
        };
        let store = lock(&self.store);
        UploadState {
            now_ms,
            network_usable,
            pending: store.pending_count() + store.pending_event_count(),
            oldest_pending_ms: oldest_pending_ms(&store),
            batch_trigger_count: u64::from(self.config.upload.batch_trigger_count),
            max_delay_ms,
            retry_at_ms,
            requested: self.upload_requested.load(Ordering::SeqCst),
            ignore_backoff: self.ignore_backoff.load(Ordering::SeqCst),
        }
    }

    pub(super) fn upload_decision(&self) -> UploadDecision {
        schedule::decide(&self.upload_state(self.steady.now_ms()))
    }

    /// When time alone will next give the uploader something to do (steady time): a policy
    /// deadline, a dwell, an upload, a position request's timeout, a schedule transition.
    pub(super) fn next_wake_ms(&self) -> Option<i64> {
        let now_ms = self.steady.now_ms();
        let policy = lock(&self.decider).next_deadline_ms();
        let dwell = lock(&self.geofencing).next_deadline_ms();
        let upload = match schedule::decide(&self.upload_state(now_ms)) {
            UploadDecision::UploadNow => Some(now_ms),
            decision => decision.wake_at_ms(),
        };
        let position = self.next_position_deadline_ms();
        let schedule = self.next_schedule_wake_ms();
        [policy, dwell, upload, position, schedule]
            .into_iter()
            .flatten()
            .min()
    }

    /// Wakes the uploader if it should now wake sooner than it planned when it went to sleep.
    pub(super) fn wake_if_sooner(&self) {
        let planned = lock(&self.state).planned_wake_ms.unwrap_or(i64::MAX);
        if self.next_wake_ms().is_some_and(|next| next < planned) {
            self.wake.notify_one();
        }
    }

    /// The upload delay in force: the configured one while moving, the policy's longer one
    /// while stationary (only heartbeat fixes arrive then) or saving power.
    pub(super) fn max_delay_ms(&self) -> i64 {
        let decider = lock(&self.decider);
        if decider.uploads_sparsely() {
            decider
                .upload_interval_ms()
                .max(self.config.upload.max_delay_ms)
        } else {
            self.config.upload.max_delay_ms
        }
    }
}

/// When the oldest pending fix or event was stored (steady time).
fn oldest_pending_ms(store: &Store) -> Option<i64> {
    let fix = store.oldest_stored_ms().ok().flatten();
    let event = store.oldest_event_stored_ms().ok().flatten();
    match (fix, event) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
