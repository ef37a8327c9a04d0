//! `Tracker::current_position`: one position on demand, tracking or not (the policy is in
//! `crate::position_request`).
//!
//! Why a future: a request waits for fixes that the platform hands to `record` on its own
//! thread, and for a deadline the uploader thread keeps (it wakes at the earliest one, as for
//! the stop timeout). A blocking call would hold a platform thread for up to the timeout and
//! could deadlock a platform that delivers fixes on that same thread; a future costs nothing
//! while it waits, and the bindings expose it as they do `flush` (Kotlin `suspend`, Swift
//! `async throws`). Dropping the future (a cancelled coroutine or task) withdraws the request.
//!
//! While any request waits, `sampling_request()` is [`position_request::sampling`] (GNSS once
//! a second) and a `SamplingChanged` says so; when the last is answered, the policy's own
//! request is announced again. The platform applies `SamplingChanged` while tracking, and,
//! with tracking off, while [`Tracker::current_position_pending`] is true.

use tokio::sync::oneshot;

use super::{Event, Shared, Tracker, lock};
use crate::decisions::Refusal;
use crate::filter::RejectReason;
use crate::fix::Fix;
use crate::location::Location;
use crate::platform::RecordingMode;
use crate::policy::SamplingRequest;
use crate::position_request::{self, Answer, CurrentPositionError, PositionRequest};
use crate::privacy::{self, Verdict};
use crate::store::Append;

pub(super) type Reply = oneshot::Sender<Result<Location, CurrentPositionError>>;
/// Where a waiting request's answer arrives.
type Pending = oneshot::Receiver<Result<Location, CurrentPositionError>>;

impl Tracker {
    /// One position: the last known location if younger than `max_age_ms`, else the first fix
    /// that passes the filter and is as accurate as asked, or at the timeout the most accurate
    /// one seen; [`CurrentPositionError::Timeout`] if none came, and
    /// [`CurrentPositionError::PermissionDenied`] at once without location permission. Works
    /// with tracking on or off; with it off, `persist` queues the answering fix for upload.
    pub async fn current_position(
        &self,
        request: PositionRequest,
    ) -> Result<Location, CurrentPositionError> {
        let answer = match self.shared.ask_position(request)? {
            Ok(cached) => return Ok(cached),
            Err(answer) => answer,
        };
        answer.await.map_err(|_| CurrentPositionError::ShutDown)?
    }

    /// True while a position request waits for a fix: the platform keeps sampling as
    /// `sampling_request()` says even with tracking off.
    pub fn current_position_pending(&self) -> bool {
        lock(&self.shared.requests).is_waiting()
    }
}

impl Shared {
    /// Answers from the cache, or registers the request and returns where its answer will come.
    fn ask_position(
        &self,
        request: PositionRequest,
    ) -> Result<Result<Location, Pending>, CurrentPositionError> {
        request.validate()?;
        if lock(&self.access).mode == RecordingMode::Blocked {
            return Err(CurrentPositionError::PermissionDenied);
        }
        let last = lock(&self.locations.last).clone();
        if let Some(cached) = request.cached(last.as_ref(), self.steady.now().wall_ms) {
            return Ok(Ok(cached));
        }
        let (reply, answer) = oneshot::channel();
        let started = {
            let mut requests = lock(&self.requests);
            let was_waiting = requests.is_waiting();
            requests.add(request, self.steady.now_ms(), reply)?;
            !was_waiting
        };
        if started {
            *lock(&self.sampling_overridden) = true;
            self.emit(Event::SamplingChanged {
                request: position_request::sampling(),
            });
        }
        // The deadline may be the uploader's next reason to wake.
        self.wake_if_sooner();
        Ok(Err(answer))
    }

    /// What the platform should apply: the policy's request, or GNSS while a request waits.
    pub(super) fn effective_sampling(&self, policy: SamplingRequest) -> SamplingRequest {
        if lock(&self.requests).is_waiting() {
            position_request::sampling()
        } else {
            policy
        }
    }

    pub(super) fn positions_waiting(&self) -> bool {
        lock(&self.requests).is_waiting()
    }

    /// Offers a recorded batch to the waiting requests: the stored locations, and fixes the
    /// policy refused only because the phone is stationary (they passed the filter), at their
    /// privacy-zone position and with no sequence number.
    pub(super) fn offer_batch(&self, stored: &[Location], inputs: &[Fix], refused: &[usize]) {
        let mut offered: Vec<Location> = stored.to_vec();
        let trip_id = lock(&self.annotations).for_fix().trip_id;
        let zones = lock(&self.locations.zones).clone();
        let reading = lock(&self.locations.odometer).reading();
        for &index in refused {
            let Some(fix) = inputs.get(index) else {
                continue;
            };
            let fix = match privacy::judge(&zones, fix, None) {
                Verdict::Keep => fix.clone(),
                Verdict::Drop => continue,
                Verdict::Coarsen(coarse) => coarse,
            };
            offered.push(unstored_location(
                &fix,
                trip_id.clone(),
                reading.meters,
                reading.uncertainty_m,
                lock(&self.decider).motion_state(),
            ));
        }
        offered.sort_by_key(|l| l.time_ms);
        for location in &offered {
            let answers = lock(&self.requests).offer(location);
            self.answer(answers);
        }
    }

    /// Time passed: answers the requests past their deadline.
    pub(super) fn expire_positions(&self) {
        let answers = {
            let mut requests = lock(&self.requests);
            if !requests.is_waiting() {
                return;
            }
            requests.forget(|reply| reply.is_closed());
            requests.expire(self.steady.now_ms())
        };
        self.answer(answers);
        self.sampling_back_if_idle();
    }

    /// The earliest request deadline (steady time).
    pub(super) fn next_position_deadline_ms(&self) -> Option<i64> {
        lock(&self.requests).next_deadline_ms()
    }

    fn answer(&self, answers: Vec<Answer<Reply>>) {
        if answers.is_empty() {
            return;
        }
        for mut answer in answers {
            if let Ok(location) = &mut answer.result {
                // A stored fix is queued already; `seq` 0 is one that was not stored (tracking
                // off, or a stationary phone's fix the policy did not keep).
                if answer.request.persist && location.seq == 0 {
                    if let Ok(outcome) = lock(&self.store).append_with(
                        Append {
                            fixes: &[location_fix(location)],
                            ..Append::default()
                        },
                        self.steady.now(),
                    ) {
                        location.seq = outcome.seqs.first().copied().unwrap_or(0);
                    }
                }
                self.remember_if_newer(location);
            }
            let _ = answer.reply.send(answer.result);
        }
        self.sampling_back_if_idle();
    }

    /// When the last request is answered, the policy's own request is in force again.
    fn sampling_back_if_idle(&self) {
        let idle = {
            let mut requests = lock(&self.requests);
            requests.forget(|reply| reply.is_closed());
            !requests.is_waiting()
        };
        let mut announced = lock(&self.sampling_overridden);
        if idle && *announced {
            *announced = false;
            drop(announced);
            let request = lock(&self.decider).sampling_request();
            self.emit(Event::SamplingChanged { request });
        }
    }
}

impl Tracker {
    /// Tracking is off but a position request waits: the fixes are judged by the filter and
    /// offered to it, and not stored (but for a `persist` request's answer).
    pub(super) fn record_for_position(
        &self,
        fixes: Vec<Fix>,
    ) -> Result<super::BatchRecord, crate::error::TrackerError> {
        let now = self.shared.steady.now();
        let inputs = fixes.clone();
        let verdicts = lock(&self.shared.decider).judge(fixes, now);
        let mut offer = stationary_refusals(&verdicts.refused);
        offer.extend(verdicts.kept.iter().copied());
        offer.sort_unstable();
        let mut record = super::BatchRecord::default();
        for (index, refusal) in verdicts.refused {
            match refusal {
                Refusal::Invalid(error) => record
                    .rejected
                    .push((index, crate::error::TrackerError::InvalidFix(error))),
                Refusal::Filtered(RejectReason::Stationary) => {}
                Refusal::Filtered(reason) => record.filtered.push((index, reason)),
            }
        }
        self.shared.offer_batch(&[], &inputs, &offer);
        Ok(record)
    }
}

/// Indices of fixes the policy refused only because the phone is stationary.
pub(super) fn stationary_refusals(refused: &[(usize, Refusal)]) -> Vec<usize> {
    refused
        .iter()
        .filter(|(_, r)| *r == Refusal::Filtered(RejectReason::Stationary))
        .map(|(i, _)| *i)
        .collect()
}

/// A location for a fix that was not stored (`seq` 0).
fn unstored_location(
    fix: &Fix,
    trip_id: Option<String>,
    odometer_m: f64,
    odometer_uncertainty_m: f64,
    motion_state: crate::policy::MotionState,
) -> Location {
    Location {
        seq: 0,
        time_ms: fix.time_ms,
        latitude_deg: fix.latitude_deg,
        longitude_deg: fix.longitude_deg,
        accuracy_m: fix.horizontal_accuracy_m,
        smoothed_latitude_deg: None,
        smoothed_longitude_deg: None,
        smoothed_accuracy_m: None,
        speed_mps: fix.speed_mps,
        bearing_deg: fix.bearing_deg,
        altitude_m: fix.altitude_m,
        provider: fix.provider,
        is_mock: fix.is_mock,
        motion_state,
        trip_id,
        odometer_m,
        odometer_uncertainty_m,
    }
}

/// The fix a location was made from, as far as the location keeps it.
fn location_fix(location: &Location) -> Fix {
    Fix {
        speed_mps: location.speed_mps,
        bearing_deg: location.bearing_deg,
        altitude_m: location.altitude_m,
        provider: location.provider,
        is_mock: location.is_mock,
        ..Fix::new(
            location.time_ms,
            location.latitude_deg,
            location.longitude_deg,
            location.accuracy_m,
        )
    }
}
