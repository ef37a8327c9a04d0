//! Seeded randomness for backoff jitter, so that retries are spread out in production and
//! reproducible in tests.

/// SplitMix64: tiny, fast and good enough to spread retries; not for cryptography.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            self.next_u64()
        } else {
            self.next_u64() % (max + 1)
        }
    }
}

/// Full-jitter exponential backoff: uniform in `[0, min(cap, base * 2^(failures-1))]`, but never
/// sooner than the server's `Retry-After`.
pub fn backoff_ms(
    jitter: &mut Jitter,
    failures: u32,
    base_ms: i64,
    cap_ms: i64,
    retry_after_ms: Option<i64>,
) -> i64 {
    let exponent = failures.saturating_sub(1).min(30);
    let ceiling = base_ms.saturating_mul(1_i64 << exponent).min(cap_ms).max(0);
    let drawn = jitter.up_to(ceiling as u64) as i64;
    drawn.max(retry_after_ms.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Jitter::new(42);
        let mut b = Jitter::new(42);
        assert_eq!(
            (0..5).map(|_| a.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| b.next_u64()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn backoff_stays_under_the_growing_ceiling_and_the_cap() {
        let mut jitter = Jitter::new(1);
        for failures in 1..40 {
            let ceiling = (1000_i64 << (failures - 1).min(30)).min(60_000);
            for _ in 0..50 {
                let d = backoff_ms(&mut jitter, failures, 1000, 60_000, None);
                assert!((0..=ceiling).contains(&d), "{failures}: {d}");
            }
        }
    }

    #[test]
    fn backoff_honours_retry_after() {
        let mut jitter = Jitter::new(1);
        for _ in 0..50 {
            assert!(backoff_ms(&mut jitter, 1, 1000, 60_000, Some(30_000)) >= 30_000);
        }
    }
}
