//! One position on demand: the policy behind `Tracker::current_position`, pure and driven by
//! the tracker's clocks so that it is tested with the virtual clock.
//!
//! A request is answered at once from the last known location when that is younger than
//! `max_age_ms`. Otherwise it waits: while any request waits the platform samples at high
//! accuracy once a second (`sampling`), every fix that passes the filter is offered, the most
//! accurate one is kept, and the request is answered as soon as one is as accurate as
//! `desired_accuracy_m`. When `timeout_ms` passes first, the request is answered with the best
//! fix it saw if any (its accuracy tells the app how good it is), else with
//! [`CurrentPositionError::Timeout`]. Deadlines run on steady time (`crate::steady`): a wall
//! clock set back by the user neither shortens nor lengthens a wait.

use thiserror::Error;

use crate::location::Location;
use crate::policy::{Priority, SamplingRequest};

/// Largest timeout, and largest `max_age_ms`: one day.
pub const MAX_WAIT_MS: i64 = 24 * 3600 * 1000;
/// Most requests waiting at once (a bug in an app must not grow memory without bound).
pub const MAX_PENDING: usize = 64;

/// What the app asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionRequest {
    /// Answer as soon as a fix is at least this accurate (68 % radius, metres).
    pub desired_accuracy_m: f64,
    /// Give up after this long (steady time), milliseconds.
    pub timeout_ms: i64,
    /// A location this young (by its fix time) is answered at once, milliseconds; 0 never.
    pub max_age_ms: i64,
    /// Queue the answering fix for upload even when tracking is off.
    pub persist: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CurrentPositionError {
    #[error(
        "invalid position request: accuracy must be > 0 m, timeout 1 ms to 1 day, max age 0 to 1 day"
    )]
    InvalidRequest,
    #[error("no fix arrived before the timeout")]
    Timeout,
    #[error("the app has no location permission")]
    PermissionDenied,
    #[error("too many position requests are waiting")]
    TooManyRequests,
    #[error("the tracker has shut down")]
    ShutDown,
    #[error("storage failure: {0}")]
    Storage(String),
}

impl PositionRequest {
    pub fn validate(&self) -> Result<(), CurrentPositionError> {
        let accuracy_ok = self.desired_accuracy_m.is_finite() && self.desired_accuracy_m > 0.0;
        let timeout_ok = (1..=MAX_WAIT_MS).contains(&self.timeout_ms);
        let age_ok = (0..=MAX_WAIT_MS).contains(&self.max_age_ms);
        if accuracy_ok && timeout_ok && age_ok {
            Ok(())
        } else {
            Err(CurrentPositionError::InvalidRequest)
        }
    }

    /// The cached location, when it is young enough to answer with.
    pub fn cached(&self, last: Option<&Location>, wall_now_ms: i64) -> Option<Location> {
        let last = last?;
        let age_ms = wall_now_ms.saturating_sub(last.time_ms).max(0);
        (self.max_age_ms > 0 && age_ms <= self.max_age_ms).then(|| last.clone())
    }
}

/// The sampling the platform applies while a request waits: GNSS, once a second, no distance
/// filter, no batching.
pub fn sampling() -> SamplingRequest {
    SamplingRequest {
        priority: Priority::HighAccuracy,
        interval_ms: 1_000,
        fastest_interval_ms: 1_000,
        min_distance_m: 0.0,
        max_batch_delay_ms: 0,
        stationary_geofence: None,
    }
}

struct Waiting<T> {
    request: PositionRequest,
    deadline_ms: i64,
    best: Option<Location>,
    reply: T,
}

/// A request that is answered, with what it carried (`T`: how to reach the caller).
pub struct Answer<T> {
    pub reply: T,
    pub request: PositionRequest,
    pub result: Result<Location, CurrentPositionError>,
}

/// The requests waiting for a fix.
pub struct Requests<T> {
    waiting: Vec<Waiting<T>>,
}

impl<T> Default for Requests<T> {
    fn default() -> Self {
        Requests {
            waiting: Vec::new(),
        }
    }
}

impl<T> Requests<T> {
    /// Starts waiting for a valid request (`steady_now_ms`: when it was made).
    pub fn add(
        &mut self,
        request: PositionRequest,
        steady_now_ms: i64,
        reply: T,
    ) -> Result<(), CurrentPositionError> {
        request.validate()?;
        if self.waiting.len() >= MAX_PENDING {
            return Err(CurrentPositionError::TooManyRequests);
        }
        self.waiting.push(Waiting {
            request,
            deadline_ms: steady_now_ms.saturating_add(request.timeout_ms),
            best: None,
            reply,
        });
        Ok(())
    }

    pub fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether a waiting request wants its fix queued for upload.
    pub fn wants_persist(&self) -> bool {
        self.waiting.iter().any(|w| w.request.persist)
    }

    /// The earliest deadline (steady time).
    pub fn next_deadline_ms(&self) -> Option<i64> {
        self.waiting.iter().map(|w| w.deadline_ms).min()
    }

    /// A fix that passed the filter: kept where it is the best so far; the requests it is
    /// accurate enough for are answered.
    pub fn offer(&mut self, location: &Location) -> Vec<Answer<T>> {
        for w in &mut self.waiting {
            if w.best
                .as_ref()
                .is_none_or(|b| location.accuracy_m < b.accuracy_m)
            {
                w.best = Some(location.clone());
            }
        }
        self.take(|w| {
            w.best
                .as_ref()
                .is_some_and(|b| b.accuracy_m <= w.request.desired_accuracy_m)
        })
    }

    /// Time passed: requests past their deadline are answered with their best fix, or fail
    /// with [`CurrentPositionError::Timeout`].
    pub fn expire(&mut self, steady_now_ms: i64) -> Vec<Answer<T>> {
        self.take(|w| steady_now_ms >= w.deadline_ms)
    }

    /// Every waiting request, answered with `error` (the tracker shuts down, the permission
    /// was revoked).
    pub fn fail_all(&mut self, error: &CurrentPositionError) -> Vec<Answer<T>> {
        self.waiting
            .drain(..)
            .map(|w| Answer {
                reply: w.reply,
                request: w.request,
                result: Err(error.clone()),
            })
            .collect()
    }

    /// Drops the requests whose caller went away (`gone`), without answering them.
    pub fn forget(&mut self, gone: impl Fn(&T) -> bool) {
        self.waiting.retain(|w| !gone(&w.reply));
    }

    /// Removes the requests that are `done`, answered with their best fix.
    fn take(&mut self, done: impl Fn(&Waiting<T>) -> bool) -> Vec<Answer<T>> {
        let (finished, waiting): (Vec<_>, Vec<_>) = self.waiting.drain(..).partition(|w| done(w));
        self.waiting = waiting;
        finished
            .into_iter()
            .map(|w| Answer {
                reply: w.reply,
                request: w.request,
                result: w.best.ok_or(CurrentPositionError::Timeout),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
