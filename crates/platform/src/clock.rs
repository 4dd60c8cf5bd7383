//! Where "now" comes from. Every service takes an `Arc<dyn Clock>` so tests can move
//! time; `baton serve` passes [`SystemClock`].

use chrono::{DateTime, Utc};

/// Milliseconds since the Unix epoch: the unit every store and runtime keeps time in.
pub type Millis = i64;

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    fn now_millis(&self) -> Millis;

    /// The same instant as a timestamp (millisecond precision).
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.now_millis()).unwrap_or_default()
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> Millis {
        Utc::now().timestamp_millis()
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Millis);

    impl Clock for Fixed {
        fn now_millis(&self) -> Millis {
            self.0
        }
    }

    #[test]
    fn now_is_now_millis_as_a_timestamp() {
        let c = Fixed(1_700_000_000_123);
        assert_eq!(c.now().timestamp_millis(), 1_700_000_000_123);
    }
}
