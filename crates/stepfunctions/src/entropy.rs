//! Time and randomness for the interpreter: a settable clock and a seeded generator.

use baton_exec::Entropy;

/// A clock the driver sets (virtual time, or the wall clock read by the driver) and a
/// SplitMix64 generator: small, fast, and reproducible from its seed.
#[derive(Debug, Clone)]
pub struct DriverEntropy {
    pub now_millis: i64,
    state: u64,
}

impl DriverEntropy {
    pub fn new(now_millis: i64, seed: u64) -> Self {
        DriverEntropy {
            now_millis,
            state: seed,
        }
    }
}

impl Entropy for DriverEntropy {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn now_millis(&self) -> i64 {
        self.now_millis
    }
}
