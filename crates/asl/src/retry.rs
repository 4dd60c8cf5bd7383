//! Retry delay maths (`IntervalSeconds`, `BackoffRate`, `MaxDelaySeconds`, `JitterStrategy`).

use crate::model::{JitterStrategy, Retrier};

/// The delay before retry number `attempt` (1-based: the first retry is attempt 1), in
/// milliseconds. `jitter_draw` is a uniform draw in `[0, 1)` supplied by the caller; it
/// is only used with `JitterStrategy: FULL`, which picks a delay uniformly in
/// `[0, computed delay)`.
pub fn delay_millis(retrier: &Retrier, attempt: u64, jitter_draw: f64) -> u64 {
    let exponent = attempt.saturating_sub(1).min(i32::MAX as u64) as i32;
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    // AWS caps every delay at its 1-year state limit; keeps the maths finite.
    seconds = seconds.min(31_536_000.0);
    if retrier.jitter == JitterStrategy::Full {
        seconds *= jitter_draw.clamp(0.0, 1.0);
    }
    (seconds * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_name::ErrorMatcher;

    fn retrier(interval: u64, rate: f64, max: Option<u64>, jitter: JitterStrategy) -> Retrier {
        Retrier {
            error_equals: ErrorMatcher { names: vec![] },
            interval_seconds: interval,
            max_attempts: 3,
            backoff_rate: rate,
            max_delay_seconds: max,
            jitter,
            comment: None,
        }
    }

    #[test]
    fn exponential_backoff_and_cap() {
        let r = retrier(1, 2.0, Some(3), JitterStrategy::None);
        assert_eq!(delay_millis(&r, 1, 0.0), 1000);
        assert_eq!(delay_millis(&r, 2, 0.0), 2000);
        assert_eq!(delay_millis(&r, 3, 0.0), 3000);
        assert_eq!(delay_millis(&r, 60, 0.0), 3000);
    }

    #[test]
    fn full_jitter_scales_by_draw() {
        let r = retrier(10, 1.0, None, JitterStrategy::Full);
        assert_eq!(delay_millis(&r, 1, 0.5), 5000);
        assert_eq!(delay_millis(&r, 1, 0.0), 0);
    }
}
