//! When the uploader uploads, and until when it may sleep: state and clock in, decision out.
//! Every limit comes from [`crate::config::UploadPolicy`]; every time is steady time
//! (`crate::steady`), so a clock change moves nothing.

/// What upload timing depends on, read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadState {
    pub now_ms: i64,
    /// Connected, and on a network the policy allows (unmetered when `unmetered_only`).
    pub network_usable: bool,
    /// Fixes and events waiting.
    pub pending: u64,
    /// When the oldest of them was stored.
    pub oldest_pending_ms: Option<i64>,
    /// Upload once this many are pending.
    pub batch_trigger_count: u64,
    /// Upload once the oldest has waited this long.
    pub max_delay_ms: i64,
    /// No automatic attempt before this (backoff after a failure).
    pub retry_at_ms: Option<i64>,
    /// An immediate trigger fired (a stop, a geofence event, the app going to the background).
    pub requested: bool,
    /// The trigger asked to skip the backoff (connectivity regained, the app asked).
    pub ignore_backoff: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadDecision {
    UploadNow,
    /// Something will be due at this time, if nothing else happens first.
    WaitUntil(i64),
    /// Backing off after a failure; the next attempt is at this time.
    BackOffUntil(i64),
    /// Nothing can be uploaded before something changes (a fix arrives, the network returns):
    /// no timer is needed.
    Idle,
}

impl UploadDecision {
    /// The time to wake up for, if any.
    pub fn wake_at_ms(self) -> Option<i64> {
        match self {
            UploadDecision::UploadNow => None,
            UploadDecision::WaitUntil(t) | UploadDecision::BackOffUntil(t) => Some(t),
            UploadDecision::Idle => None,
        }
    }
}

pub fn decide(s: &UploadState) -> UploadDecision {
    if !s.network_usable || s.pending == 0 {
        return UploadDecision::Idle;
    }
    let due_at = if s.requested || s.pending >= s.batch_trigger_count {
        s.now_ms
    } else {
        match s.oldest_pending_ms {
            Some(oldest) => oldest.saturating_add(s.max_delay_ms),
            None => return UploadDecision::Idle,
        }
    };
    let retry_at = if s.ignore_backoff {
        None
    } else {
        s.retry_at_ms
    };
    match retry_at {
        Some(retry) if retry > s.now_ms => UploadDecision::BackOffUntil(retry.max(due_at)),
        _ if due_at <= s.now_ms => UploadDecision::UploadNow,
        _ => UploadDecision::WaitUntil(due_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UploadState {
        UploadState {
            now_ms: 1_000_000,
            network_usable: true,
            pending: 10,
            oldest_pending_ms: Some(1_000_000 - 60_000),
            batch_trigger_count: 100,
            max_delay_ms: 300_000,
            retry_at_ms: None,
            requested: false,
            ignore_backoff: false,
        }
    }

    #[test]
    fn a_few_fixes_wait_for_the_delay_and_a_full_batch_goes_at_once() {
        assert_eq!(decide(&state()), UploadDecision::WaitUntil(1_240_000));
        let full = UploadState {
            pending: 100,
            ..state()
        };
        assert_eq!(decide(&full), UploadDecision::UploadNow);
        let late = UploadState {
            now_ms: 1_240_000,
            ..state()
        };
        assert_eq!(decide(&late), UploadDecision::UploadNow);
    }

    #[test]
    fn without_a_usable_network_or_anything_pending_no_timer_is_set() {
        let offline = UploadState {
            network_usable: false,
            pending: 5_000,
            ..state()
        };
        assert_eq!(decide(&offline), UploadDecision::Idle);
        assert_eq!(offline_wake(&offline), None);
        let empty = UploadState {
            pending: 0,
            oldest_pending_ms: None,
            ..state()
        };
        assert_eq!(decide(&empty), UploadDecision::Idle);
    }

    fn offline_wake(s: &UploadState) -> Option<i64> {
        decide(s).wake_at_ms()
    }

    #[test]
    fn a_backoff_holds_even_a_full_batch_unless_the_trigger_skips_it() {
        let backing_off = UploadState {
            pending: 500,
            retry_at_ms: Some(1_030_000),
            ..state()
        };
        assert_eq!(
            decide(&backing_off),
            UploadDecision::BackOffUntil(1_030_000)
        );
        let regained = UploadState {
            ignore_backoff: true,
            ..backing_off
        };
        assert_eq!(decide(&regained), UploadDecision::UploadNow);
        // A stop asks for an upload but honours the backoff.
        let stopped = UploadState {
            requested: true,
            ..backing_off
        };
        assert_eq!(decide(&stopped), UploadDecision::BackOffUntil(1_030_000));
    }

    #[test]
    fn after_the_backoff_the_delay_still_applies() {
        let s = UploadState {
            retry_at_ms: Some(1_010_000),
            ..state()
        };
        assert_eq!(decide(&s), UploadDecision::BackOffUntil(1_240_000));
    }

    #[test]
    fn huge_delays_saturate_instead_of_overflowing() {
        let s = UploadState {
            max_delay_ms: i64::MAX,
            ..state()
        };
        assert_eq!(decide(&s), UploadDecision::WaitUntil(i64::MAX));
    }
}
