//! The recording path: validate, filter, store in one transaction, then tell the app; and the
//! decisions time alone makes (the policy's stop timeout, geofence dwell).

use super::{BatchRecord, Event, RecordOutcome, Shared, Tracker, current_position, lock};
use crate::decisions::Refusal;
use crate::error::TrackerError;
use crate::filter::{RejectReason, Smoothed};
use crate::fix::Fix;
use crate::geofencing::{Observed, Position};
use crate::steady::Now;
use crate::store::{Append, EvictionReason, MetaWriter};

impl Tracker {
    /// Validates, filters and durably stores one fix. An invalid fix is a typed error; a valid
    /// one the filter does not keep is a [`RecordOutcome::Filtered`], counted and reported.
    pub fn record(&self, fix: Fix) -> Result<RecordOutcome, TrackerError> {
        let mut result = self.record_batch(vec![fix])?;
        if let Some(seq) = result.accepted.pop() {
            return Ok(RecordOutcome::Stored { seq });
        }
        if let Some((_, reason)) = result.filtered.pop() {
            return Ok(RecordOutcome::Filtered { reason });
        }
        match result.rejected.pop() {
            Some((_, error)) => Err(error),
            // Tracking is off: the fix only answered a position request.
            None if !lock(&self.shared.state).status.tracking => Err(TrackerError::NotTracking),
            None => Err(TrackerError::Storage("fix was not stored".into())),
        }
    }

    /// Judges each fix and stores the kept ones in one transaction, as the OS hands over
    /// batched locations. Refused fixes are reported per index and do not affect the others.
    ///
    /// When the write fails (a full disk), the filter, the policy and the geofences are put
    /// back as they were, so that the same fixes recorded again are judged afresh.
    pub fn record_batch(&self, fixes: Vec<Fix>) -> Result<BatchRecord, TrackerError> {
        let _log = self.shared.log_scope();
        if !lock(&self.shared.state).status.tracking {
            if self.shared.positions_waiting() {
                return self.record_for_position(fixes);
            }
            return Err(TrackerError::NotTracking);
        }
        // A waiting position request may take a fix the policy does not store.
        let inputs = if self.shared.positions_waiting() {
            fixes.clone()
        } else {
            Vec::new()
        };
        let now = self.shared.steady.now();
        self.shared.notice_clock(now);
        // The decider stays locked through the append, so the filter's order is the queue's.
        let (verdicts, outcome, checkpoint_hint, policy_outputs, observed, prepared) = {
            let mut decider = lock(&self.shared.decider);
            let before = decider.clone();
            let mut verdicts = decider.judge(fixes, now);
            // The policy sees every kept fix, inside a privacy zone or not (a stop at home is a
            // stop); each location reports the state after its fix.
            let mut policy_outputs = std::mem::take(&mut verdicts.policy_outputs);
            let mut motion = Vec::with_capacity(verdicts.keep.len());
            for fix in &verdicts.keep {
                policy_outputs.extend(decider.observe(std::slice::from_ref(fix), now));
                motion.push(decider.motion_state());
            }
            let (outcome, checkpoint_hint, observed, prepared) = if verdicts.keep.is_empty() {
                (Default::default(), false, Observed::default(), None)
            } else {
                let mut geofencing = lock(&self.shared.geofencing);
                let positions = positions(
                    &verdicts.keep,
                    &verdicts.smoothed,
                    now,
                    self.shared.config.policy.max_batch_delay_ms,
                );
                let observed = geofencing.observe(&positions, now.wall_ms);
                let annotation = lock(&self.shared.annotations).for_fix();
                let prepared = self.shared.prepare(
                    &verdicts.keep,
                    &verdicts.kept,
                    &verdicts.smoothed,
                    &motion,
                    annotation.trip_id.clone(),
                );
                let mut store = lock(&self.shared.store);
                // Smoothed positions are stored only to be uploaded.
                let smoothed: &[Option<Smoothed>] = if self.shared.config.upload.include_smoothed {
                    &prepared.smoothed
                } else {
                    &[]
                };
                let meta = |seqs: &[u64]| prepared.meta(seqs);
                let append = Append {
                    fixes: &prepared.fixes,
                    smoothed,
                    annotation: Some(&annotation),
                    events: &observed.events,
                    fence_states: &observed.states,
                    meta: Some(MetaWriter(&meta)),
                };
                let written = store.append_with(append, now);
                let hint = store.take_checkpoint_hint();
                drop(store);
                match written {
                    // Adopted while the decider is still locked, so that the next batch
                    // counts on from this one's odometer.
                    Ok(outcome) => {
                        let batch = Batch {
                            dropped: prepared.dropped.clone(),
                            coarsened: prepared.coarsened,
                            smoothed: prepared.smoothed.clone(),
                            locations: self.shared.adopt(prepared, &outcome.seqs),
                        };
                        (outcome, hint, observed, Some(batch))
                    }
                    Err(e) => {
                        // Nothing was stored: put every judge back as it was (the odometer's
                        // new state was only a copy).
                        *decider = before;
                        if let Ok((stored, _)) = lock(&self.shared.store).load_geofences() {
                            geofencing.load(stored);
                        }
                        let error = TrackerError::from(e);
                        log::error!("fixes not stored: {error}");
                        return Err(error);
                    }
                }
            };
            (
                verdicts,
                outcome,
                checkpoint_hint,
                policy_outputs,
                observed,
                prepared,
            )
        };
        let Batch {
            dropped,
            coarsened,
            smoothed: stored_smoothed,
            locations,
        } = prepared.unwrap_or_default();
        let mut record = BatchRecord {
            accepted: outcome.seqs.clone(),
            ..BatchRecord::default()
        };
        {
            let mut state = lock(&self.shared.state);
            state.status.accepted_total += outcome.seqs.len() as u64;
            state.status.rejected_total += (verdicts.refused.len() + dropped.len()) as u64;
            state.status.evicted_total += outcome.evicted.iter().map(|(_, n)| n).sum::<u64>();
            state.status.privacy_dropped_total += dropped.len() as u64;
            state.status.privacy_coarsened_total += coarsened;
            for (_, refusal) in &verdicts.refused {
                *state.rejected_by_reason.entry(refusal.name()).or_default() += 1;
            }
            if !dropped.is_empty() {
                *state
                    .rejected_by_reason
                    .entry(RejectReason::PrivacyZone.name())
                    .or_default() += dropped.len() as u64;
            }
        }
        let still = current_position::stationary_refusals(&verdicts.refused);
        let refusals = verdicts.refused.into_iter().chain(
            dropped
                .into_iter()
                .map(|index| (index, Refusal::Filtered(RejectReason::PrivacyZone))),
        );
        for (index, refusal) in refusals {
            self.shared.emit(Event::FixRejected {
                reason: refusal.name().into(),
            });
            match refusal {
                Refusal::Invalid(error) => {
                    record
                        .rejected
                        .push((index, TrackerError::InvalidFix(error)));
                }
                Refusal::Filtered(reason) => record.filtered.push((index, reason)),
            }
        }
        record.filtered.sort_by_key(|(index, _)| *index);
        // The fix path's own line: suppressed at the default level, where it costs an atomic
        // load and a compare (tracelet-bench "log cost").
        log::debug!(
            "recorded fixes: {} stored, {} filtered, {} invalid",
            outcome.seqs.len(),
            record.filtered.len(),
            record.rejected.len()
        );
        for &(reason, count) in &outcome.evicted {
            log::warn!(
                "queue limit ({}) reached: {count} oldest fixes evicted",
                eviction_name(reason)
            );
            self.shared.emit(Event::FixesEvicted {
                count,
                reason: eviction_name(reason).into(),
            });
        }
        for (&seq, smoothed) in outcome.seqs.iter().zip(&stored_smoothed) {
            self.shared.emit(Event::FixAccepted { seq });
            if let Some(smoothed) = *smoothed {
                self.shared.emit(Event::FixSmoothed { seq, smoothed });
            }
        }
        if !inputs.is_empty() {
            self.shared.offer_batch(&locations, &inputs, &still);
        }
        self.shared.deliver(locations);
        let motion_changed = self.shared.apply_policy(policy_outputs);
        let transitions = self.shared.emit_observed(&observed);
        if motion_changed || transitions {
            self.upload_now(false);
        } else if checkpoint_hint || !outcome.seqs.is_empty() {
            // New fixes may bring an upload or a stop timeout forward: let the uploader look
            // again (it sleeps until the earliest of them, so this costs no extra wake-up
            // unless one moved).
            self.shared.wake_if_sooner();
        }
        Ok(record)
    }

    /// Lets time-based decisions happen (a still phone sends no fixes). The uploader thread
    /// runs them when they fall due; a replay calls this for every simulated second.
    pub fn tick(&self) {
        let _log = self.shared.log_scope();
        if self.shared.tick() {
            self.upload_now(false);
        }
    }
}

impl Shared {
    /// The time-based steps (a schedule transition, the policy's stop timeout, geofence dwell);
    /// true if they call for an upload now (the phone stopped, a geofence fired).
    pub(super) fn tick(&self) -> bool {
        // A storage failure leaves the schedule to the next tick; it does not stop the others.
        let _ = self.apply_schedule();
        let now = self.steady.now();
        self.notice_clock(now);
        self.expire_positions();
        let output = lock(&self.decider).tick(now.steady_ms);
        let stopped = self.apply_policy(vec![output]);
        let observed = {
            let mut geofencing = lock(&self.geofencing);
            let observed = geofencing.tick(now.steady_ms, now.wall_ms);
            if !observed.events.is_empty() {
                let append = Append {
                    events: &observed.events,
                    fence_states: &observed.states,
                    ..Append::default()
                };
                if lock(&self.store).append_with(append, now).is_err() {
                    // Not stored, so not told: the state goes back and the dwell fires later.
                    if let Ok((stored, _)) = lock(&self.store).load_geofences() {
                        geofencing.load(stored);
                    }
                    return stopped;
                }
            }
            observed
        };
        let fired = self.emit_observed(&observed);
        stopped || fired
    }
}

/// What a stored batch leaves for the app: the fixes a privacy zone dropped (input indices),
/// how many it coarsened, the smoothed positions stored, the locations to deliver.
#[derive(Default)]
struct Batch {
    dropped: Vec<usize>,
    coarsened: u64,
    smoothed: Vec<Option<Smoothed>>,
    locations: Vec<crate::location::Location>,
}

/// The positions the geofences judge (the filter's smoothed one where there is one), each with
/// the steady time it was taken at: its age by the wall clock, credited no further back than
/// the OS's batching explains (as the motion policy does).
fn positions(
    fixes: &[Fix],
    smoothed: &[Option<Smoothed>],
    now: Now,
    max_batch_delay_ms: i64,
) -> Vec<Position> {
    fixes
        .iter()
        .enumerate()
        .map(|(i, fix)| {
            let age = now
                .wall_ms
                .saturating_sub(fix.time_ms)
                .clamp(0, max_batch_delay_ms.saturating_add(5_000));
            let (lat, lon, accuracy_m) = match smoothed.get(i).copied().flatten() {
                Some(s) => (s.latitude_deg, s.longitude_deg, s.accuracy_m),
                None => (
                    fix.latitude_deg,
                    fix.longitude_deg,
                    fix.horizontal_accuracy_m,
                ),
            };
            Position {
                time_ms: fix.time_ms,
                steady_ms: now.steady_ms - age,
                lat,
                lon,
                accuracy_m,
            }
        })
        .collect()
}

fn eviction_name(reason: EvictionReason) -> &'static str {
    match reason {
        EvictionReason::Count => "count",
        EvictionReason::Age => "age",
        EvictionReason::Bytes => "bytes",
    }
}
