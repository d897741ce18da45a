//! N8: how long to wait before trying a message again.

/// The first retry waits about this long.
const FIRST_DELAY_MS: i64 = 5_000;
/// No retry waits longer than this, so a mail server that was down for a
/// night is used again within the hour after it returns.
const MAX_DELAY_MS: i64 = 3_600_000;

/// The wait after the `attempt`-th failed attempt (1-based): 5 s · 2^(attempt−1),
/// capped at one hour, of which the upper half is scaled by `jitter`
/// (0.0..1.0). The jitter spreads the retries of a bulk send (N3) that all
/// failed at the same moment, so a recovering server is not hit by all of
/// them at once.
pub(crate) fn retry_delay_ms(attempt: i64, jitter: f64) -> i64 {
    let exponent = attempt.clamp(1, 63) - 1;
    let base = if exponent >= 20 {
        MAX_DELAY_MS
    } else {
        (FIRST_DELAY_MS << exponent).min(MAX_DELAY_MS)
    };
    let half = base / 2;
    half + (half as f64 * jitter.clamp(0.0, 1.0)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_five_seconds_and_caps_at_an_hour() {
        assert_eq!(retry_delay_ms(1, 1.0), 5_000);
        assert_eq!(retry_delay_ms(2, 1.0), 10_000);
        assert_eq!(retry_delay_ms(3, 1.0), 20_000);
        assert_eq!(retry_delay_ms(10, 1.0), 2_560_000);
        assert_eq!(retry_delay_ms(11, 1.0), MAX_DELAY_MS);
        assert_eq!(retry_delay_ms(1_000, 1.0), MAX_DELAY_MS);
    }

    #[test]
    fn jitter_moves_within_the_upper_half() {
        assert_eq!(retry_delay_ms(1, 0.0), 2_500);
        assert_eq!(retry_delay_ms(3, 0.5), 15_000);
        assert_eq!(retry_delay_ms(30, 0.0), MAX_DELAY_MS / 2);
        for attempt in 1..40 {
            let low = retry_delay_ms(attempt, 0.0);
            let high = retry_delay_ms(attempt, 1.0);
            assert!(low > 0 && low <= high && high <= MAX_DELAY_MS, "attempt {attempt}: {low}..{high}");
            assert!(retry_delay_ms(attempt + 1, 1.0) >= high);
        }
    }

    #[test]
    fn odd_inputs_stay_in_range() {
        assert_eq!(retry_delay_ms(0, 1.0), 5_000);
        assert_eq!(retry_delay_ms(-3, 2.0), 5_000);
        assert_eq!(retry_delay_ms(1, -1.0), 2_500);
        assert_eq!(retry_delay_ms(1, f64::NAN), 2_500);
    }
}
