//! The random draws behind `$random`, `$uuid` and `$shuffle`.
//!
//! Two generators, for two different promises:
//! * `$random(seed)` must give AWS's number for the same seed. AWS draws it from Java's
//!   `java.util.Random` (seed 42 gives 0.7275636800328681), whose 48-bit linear
//!   congruential generator is specified in the Java API documentation, so
//!   [`JavaRandom`] follows that specification.
//! * The unseeded functions only need to be random and replayable. The host functions the
//!   engine calls must be `'static`, so they cannot hold the evaluation's borrowed
//!   [`crate::eval::Entropy`]; instead one 64-bit draw from it seeds a [`SplitMix64`]
//!   stream for the whole evaluation. Replaying that one draw replays every value.

/// Sebastiano Vigna's SplitMix64: tiny, fast, and good enough for non-cryptographic draws.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with the 53 bits an `f64` holds.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * TWO_POW_MINUS_53
    }

    /// Uniform in `[0, bound)`; `bound` must be non-zero.
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        // Lemire's multiply-shift; the bias for bounds far below 2^64 is negligible here.
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

const TWO_POW_MINUS_53: f64 = 1.0 / 9_007_199_254_740_992.0;

/// `java.util.Random`: the generator, its seed scrambling, and `nextDouble`.
#[derive(Debug, Clone)]
pub(crate) struct JavaRandom {
    seed: u64,
}

const JAVA_MULTIPLIER: u64 = 0x5_DEEC_E66D;
const JAVA_ADDEND: u64 = 0xB;
const JAVA_MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    pub(crate) fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ JAVA_MULTIPLIER) & JAVA_MASK,
        }
    }

    fn next_bits(&mut self, bits: u32) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(JAVA_MULTIPLIER)
            .wrapping_add(JAVA_ADDEND)
            & JAVA_MASK;
        self.seed >> (48 - bits)
    }

    pub(crate) fn next_double(&mut self) -> f64 {
        let high = self.next_bits(26);
        let low = self.next_bits(27);
        ((high << 27) + low) as f64 * TWO_POW_MINUS_53
    }
}

/// A version 4 UUID in its canonical lower-case text form, from 128 random bits.
pub(crate) fn uuid_v4(rng: &mut SplitMix64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_random_matches_the_java_reference_values() {
        // `new java.util.Random(seed).nextDouble()`, the values AWS returns for `$random(seed)`.
        assert_eq!(JavaRandom::new(42).next_double(), 0.7275636800328681);
        assert_eq!(JavaRandom::new(0).next_double(), 0.730967787376657);
        assert_eq!(JavaRandom::new(7).next_double(), 0.7306990420600421);
    }

    #[test]
    fn splitmix_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(1);
        let mut b = SplitMix64::new(1);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
            assert!(a.below(7) < 7);
            b.below(7);
        }
    }

    #[test]
    fn uuid_has_the_v4_shape() {
        let mut rng = SplitMix64::new(99);
        let u = uuid_v4(&mut rng);
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(u, uuid_v4(&mut rng));
    }
}
