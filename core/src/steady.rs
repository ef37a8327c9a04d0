//! The timeline of every deadline and age in the core.
//!
//! Steady time reads like wall-clock time (milliseconds since the epoch, so it can be stored
//! and compared across restarts) but moves only as the monotonic clock does: a user setting the
//! phone's clock back three hours, or a network correcting it by a week, does not move it. It
//! starts from the wall clock the first time a queue is opened, and each later start carries it
//! on from a mark the queue keeps: within one boot the monotonic clock says exactly how much
//! time passed while the app was not running; after a reboot the wall clock is the best guess
//! there is, and steady time still never goes back.

use std::sync::Arc;

use crate::clock::Clock;

/// One instant on both timelines: the wall clock (what fixes are compared with) and steady time
/// (what durations are measured on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub wall_ms: i64,
    pub steady_ms: i64,
}

impl Now {
    /// An instant at which both clocks read `ms` (no clock was ever stepped): tests, replays.
    pub fn at(ms: i64) -> Now {
        Now {
            wall_ms: ms,
            steady_ms: ms,
        }
    }
}

/// A (steady, monotonic) pair recorded at some instant, from which steady time resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SteadyMark {
    pub steady_ms: i64,
    pub monotonic_ms: i64,
}

impl SteadyMark {
    pub fn parse(text: &str) -> Option<SteadyMark> {
        let (steady, monotonic) = text.split_once(':')?;
        Some(SteadyMark {
            steady_ms: steady.parse().ok()?,
            monotonic_ms: monotonic.parse().ok()?,
        })
    }

    pub fn render(self) -> String {
        format!("{}:{}", self.steady_ms, self.monotonic_ms)
    }
}

pub struct SteadyClock {
    clock: Arc<dyn Clock>,
    origin: SteadyMark,
}

impl SteadyClock {
    /// Resumes steady time from the queue's last mark (`None` for a new queue).
    pub fn resume(clock: Arc<dyn Clock>, last: Option<SteadyMark>) -> SteadyClock {
        let wall = clock.now_ms();
        let monotonic = clock.monotonic_ms();
        let steady = match last {
            // The same boot: exactly the time that passed, whatever the wall clock did.
            Some(mark) if monotonic >= mark.monotonic_ms => {
                mark.steady_ms.saturating_add(monotonic - mark.monotonic_ms)
            }
            // A reboot reset the monotonic clock: the wall clock, but never back.
            Some(mark) => wall.max(mark.steady_ms),
            None => wall,
        };
        SteadyClock {
            clock,
            origin: SteadyMark {
                steady_ms: steady,
                monotonic_ms: monotonic,
            },
        }
    }

    pub fn now_ms(&self) -> i64 {
        let elapsed = self.clock.monotonic_ms() - self.origin.monotonic_ms;
        self.origin.steady_ms.saturating_add(elapsed.max(0))
    }

    /// The mark to keep so that a later start resumes from here.
    pub fn mark(&self) -> SteadyMark {
        self.origin
    }

    /// Both timelines, read together.
    pub fn now(&self) -> Now {
        Now {
            wall_ms: self.clock.now_ms(),
            steady_ms: self.now_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const DAY_MS: i64 = 24 * 3600 * 1000;

    #[test]
    fn steady_time_ignores_wall_clock_steps() {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let steady = SteadyClock::resume(clock.clone(), None);
        clock.advance_ms(60_000);
        clock.step_ms(-3 * 3600 * 1000);
        assert_eq!(steady.now_ms(), 1_700_000_060_000);
        clock.step_ms(7 * DAY_MS);
        clock.advance_ms(1_000);
        assert_eq!(steady.now_ms(), 1_700_000_061_000);
    }

    #[test]
    fn a_restart_in_the_same_boot_carries_on_exactly() {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        clock.advance_ms(5_000);
        let mark = SteadyClock::resume(clock.clone(), None).mark();
        // The app is not running for an hour, during which the clock is set a week ahead.
        clock.advance_ms(3_600_000);
        clock.step_ms(7 * DAY_MS);
        let resumed = SteadyClock::resume(clock.clone(), SteadyMark::parse(&mark.render()));
        assert_eq!(resumed.now_ms(), 1_700_003_605_000);
    }

    #[test]
    fn after_a_reboot_it_takes_the_wall_clock_but_never_goes_back() {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        clock.advance_ms(10 * 3_600_000);
        let mark = SteadyClock::resume(clock.clone(), None).mark();
        // A fresh boot: the monotonic clock starts again near zero, the wall clock is behind.
        let rebooted = Arc::new(ManualClock::new(1_699_000_000_000));
        let resumed = SteadyClock::resume(rebooted.clone(), Some(mark));
        assert_eq!(resumed.now_ms(), mark.steady_ms);
        let ahead = Arc::new(ManualClock::new(1_800_000_000_000));
        assert_eq!(
            SteadyClock::resume(ahead, Some(mark)).now_ms(),
            1_800_000_000_000
        );
    }

    #[test]
    fn a_garbled_mark_is_no_mark() {
        assert_eq!(SteadyMark::parse("12"), None);
        assert_eq!(SteadyMark::parse("a:b"), None);
        let mark = SteadyMark {
            steady_ms: -5,
            monotonic_ms: 7,
        };
        assert_eq!(SteadyMark::parse(&mark.render()), Some(mark));
    }
}
