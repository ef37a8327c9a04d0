//! Injectable time, so that tests and the replay tool run a day of data in seconds.
//!
//! Two clocks, for two jobs. Wall-clock time ([`Clock::now_ms`]) is what is stored and sent: it
//! stamps what the app does and is what fix times are compared with. Users set it, networks
//! correct it, so it can jump either way. The monotonic clock ([`Clock::monotonic_ms`]) only
//! moves forward at the rate time passes, sleep included; every deadline and duration in the
//! core is measured on it (through the crate's `steady::SteadyClock`, which also carries it
//! across restarts).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Wall-clock time in milliseconds since the Unix epoch (UTC).
    fn now_ms(&self) -> i64;

    /// Milliseconds on a clock that never steps and keeps counting while the device sleeps,
    /// from an arbitrary origin (the last boot, for the real clock).
    fn monotonic_ms(&self) -> i64;
}

/// The real clocks: the system's wall clock, and time since boot including suspend
/// (`CLOCK_BOOTTIME` on Linux and Android, `CLOCK_MONOTONIC` on Apple platforms, which counts
/// sleep there).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn monotonic_ms(&self) -> i64 {
        boot_time_ms()
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const BOOT_CLOCK: rustix::time::ClockId = rustix::time::ClockId::Boottime;
#[cfg(any(target_os = "ios", target_os = "macos"))]
const BOOT_CLOCK: rustix::time::ClockId = rustix::time::ClockId::Monotonic;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "ios",
    target_os = "macos"
))]
fn boot_time_ms() -> i64 {
    let t = rustix::time::clock_gettime(BOOT_CLOCK);
    t.tv_sec
        .saturating_mul(1000)
        .saturating_add(t.tv_nsec / 1_000_000)
}

/// Elsewhere: the process's monotonic clock, which may pause while the machine sleeps.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "ios",
    target_os = "macos"
)))]
fn boot_time_ms() -> i64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Clocks that only move when told to: tests and replays drive them. [`ManualClock::advance_ms`]
/// and [`ManualClock::set_ms`] let time pass (both clocks move); [`ManualClock::step_ms`] moves
/// the wall clock alone, as a user or a network correcting the phone's clock does.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicI64,
    monotonic_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self {
            now_ms: AtomicI64::new(start_ms),
            monotonic_ms: AtomicI64::new(0),
        }
    }

    /// Lets time pass until the wall clock reads `now_ms`. A time in the past is a step of the
    /// wall clock back, which leaves the monotonic clock where it is.
    pub fn set_ms(&self, now_ms: i64) {
        let previous = self.now_ms.swap(now_ms, Ordering::SeqCst);
        let passed = now_ms.saturating_sub(previous).max(0);
        self.monotonic_ms.fetch_add(passed, Ordering::SeqCst);
    }

    /// Steps the wall clock by `delta_ms` (negative: back); the monotonic clock does not move.
    pub fn step_ms(&self, delta_ms: i64) {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }

    /// Lets `delta_ms` pass on both clocks.
    pub fn advance_ms(&self, delta_ms: i64) {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
        self.monotonic_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn monotonic_ms(&self) -> i64 {
        self.monotonic_ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_monotonic_clock_never_goes_back() {
        let clock = SystemClock;
        let mut last = clock.monotonic_ms();
        for _ in 0..1_000 {
            let now = clock.monotonic_ms();
            assert!(now >= last);
            last = now;
        }
        assert!(last > 0, "time since boot");
    }

    #[test]
    fn a_wall_step_leaves_the_monotonic_clock_alone() {
        let clock = ManualClock::new(100_000_000);
        clock.advance_ms(500);
        clock.step_ms(-10_800_000);
        assert_eq!(
            (clock.now_ms(), clock.monotonic_ms()),
            (100_000_500 - 10_800_000, 500)
        );
        // Setting the clock forward lets time pass; setting it back is a step.
        clock.set_ms(clock.now_ms() + 1_000);
        assert_eq!(clock.monotonic_ms(), 1_500);
        clock.set_ms(5);
        assert_eq!((clock.now_ms(), clock.monotonic_ms()), (5, 1_500));
    }
}
