//! Behaviour AWS inherits from the JVM it runs intrinsic functions on, reproduced so
//! outputs match byte for byte: `Math.round`, `java.util.Random`, `HashMap` iteration
//! order, `Double.toString` and `Object.toString` of JSON values.

use serde_json::Value;

/// `Math.round(double)`: halves round towards positive infinity (`-0.5` → `0`), NaN is
/// `0`, and results saturate at the `long` range.
pub(crate) fn math_round(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    let floor = x.floor();
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    // `as` saturates, which is what Java does at the long range limits.
    rounded as i64
}

/// `java.util.Random`: a 48-bit linear congruential generator. AWS seeds it for
/// `States.MathRandom(start, end, seed)`, so the same seed gives the same number.
pub(crate) struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const ADDEND: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    pub(crate) fn new(seed: i64) -> Self {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    /// `nextInt(bound)` for `bound > 0`.
    pub(crate) fn next_int(&mut self, bound: i32) -> i32 {
        debug_assert!(bound > 0);
        let bound = bound.max(1);
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }

    /// `nextLong()`.
    pub(crate) fn next_long(&mut self) -> i64 {
        (i64::from(self.next(32)) << 32).wrapping_add(i64::from(self.next(32)))
    }
}

/// `String.hashCode()`: over UTF-16 code units.
fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// `HashMap.hash(key)`: the high bits folded into the low ones.
fn spread(s: &str) -> u32 {
    let h = string_hash(s) as u32;
    h ^ (h >> 16)
}

/// The smallest power of two ≥ `n` (`HashMap.tableSizeFor`).
fn table_size_for(n: u32) -> u32 {
    n.max(1)
        .checked_next_power_of_two()
        .unwrap_or(1 << 30)
        .min(1 << 30)
}

/// Simulates `new HashMap<>(first); map.putAll(second)` over string keys and returns
/// the keys in the map's iteration order. Iteration goes bucket by bucket; within a
/// bucket, entries keep insertion order, which resizes preserve.
pub(crate) fn merged_hashmap_order<'a>(first: &[&'a str], second: &[&'a str]) -> Vec<&'a str> {
    const TREEIFY: usize = 8;
    const MIN_TREEIFY_CAPACITY: u32 = 64;
    let mut keys: Vec<&'a str> = Vec::with_capacity(first.len() + second.len());
    let mut capacity: u32 = 0;
    let mut threshold: u32 = 0;

    // HashMap(Map m): threshold from the size of m, table allocated on the first put.
    if !first.is_empty() {
        let wanted = (first.len() as f32 / 0.75 + 1.0) as u32;
        threshold = table_size_for(wanted);
    }

    let resize = |capacity: &mut u32, threshold: &mut u32| {
        if *capacity == 0 {
            *capacity = if *threshold > 0 { *threshold } else { 16 };
        } else {
            *capacity = capacity.saturating_mul(2).min(1 << 30);
        }
        *threshold = (*capacity as f32 * 0.75) as u32;
    };

    let put = |key: &'a str, keys: &mut Vec<&'a str>, capacity: &mut u32, threshold: &mut u32| {
        if keys.contains(&key) {
            return;
        }
        if *capacity == 0 {
            resize(capacity, threshold);
        }
        let mask = *capacity - 1;
        let bucket = spread(key) & mask;
        let in_bucket = keys.iter().filter(|k| spread(k) & mask == bucket).count();
        keys.push(key);
        if in_bucket >= TREEIFY && *capacity < MIN_TREEIFY_CAPACITY {
            resize(capacity, threshold);
        }
        if keys.len() as u32 > *threshold {
            resize(capacity, threshold);
        }
    };

    for key in first {
        put(key, &mut keys, &mut capacity, &mut threshold);
    }
    // putAll: grow ahead when the incoming map alone exceeds the threshold.
    if capacity > 0 {
        while second.len() as u32 > threshold && capacity < (1 << 30) {
            resize(&mut capacity, &mut threshold);
        }
    } else if !second.is_empty() {
        let wanted = (second.len() as f32 / 0.75 + 1.0) as u32;
        threshold = threshold.max(table_size_for(wanted));
    }
    for key in second {
        put(key, &mut keys, &mut capacity, &mut threshold);
    }

    let mask = capacity.max(1) - 1;
    let mut ordered: Vec<(u32, usize, &'a str)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (spread(k) & mask, i, *k))
        .collect();
    ordered.sort_unstable_by_key(|(bucket, i, _)| (*bucket, *i));
    ordered.into_iter().map(|(_, _, k)| k).collect()
}

/// `Double.toString(double)`: plain notation in `[1e-3, 1e7)`, computerized scientific
/// notation (`1.0E10`) outside it, always with a fractional digit.
pub(crate) fn double_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let abs = x.abs();
    // Shortest round-trip digits, as `d.ddde±N`.
    let sci = format!("{abs:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if (1e-3..1e7).contains(&abs) {
        let point = exponent + 1; // digits before the decimal point
        let mut out = String::from(sign);
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..(-point) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
        out
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exponent}")
    }
}

/// How `States.Format` prints an argument: strings bare, objects and arrays the way
/// Java's `Map.toString()`/`List.toString()` do (`{a=1, b=[x, y]}`).
pub(crate) fn format_value(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(u)) => out.push_str(&u.to_string()),
            _ => out.push_str(&double_to_string(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                format_value(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rounding_matches_java() {
        for (x, want) in [
            (0.5, 1),
            (1.5, 2),
            (2.5, 3),
            (-0.5, 0),
            (-1.5, -1),
            (-2.5, -2),
            (-1.51, -2),
            (1.49, 1),
            (0.499_999_999_999_999_94, 0),
            (f64::NAN, 0),
            (1e300, i64::MAX),
        ] {
            assert_eq!(math_round(x), want, "round({x})");
        }
    }

    #[test]
    fn java_random_sequence() {
        // Values printed by OpenJDK 17.
        let mut r = JavaRandom::new(42);
        assert_eq!(r.next_int(100), 30);
        assert_eq!(r.next_int(100), 63);
        assert_eq!(JavaRandom::new(0).next_int(10), 0);
        assert_eq!(JavaRandom::new(3).next_long(), -4_961_115_986_754_665_064);
        assert_eq!(JavaRandom::new(3).next_int(999), 239);
        assert_eq!(JavaRandom::new(-7).next_int(1 << 20), 282_194);
    }

    #[test]
    fn hashmap_order_matches_recorded_merges() {
        assert_eq!(
            merged_hashmap_order(&["a", "b", "d"], &["a", "c", "d"]),
            vec!["a", "b", "c", "d"]
        );
        assert_eq!(
            merged_hashmap_order(&["constant_in_literal"], &["constant_input_field"]),
            vec!["constant_input_field", "constant_in_literal"]
        );
        assert!(merged_hashmap_order(&[], &[]).is_empty());
        // Orders printed by OpenJDK 17 for `new HashMap<>(first); putAll(second)`.
        let first: Vec<String> = (0..40).map(|i| format!("key{i}")).collect();
        let second: Vec<String> = (0..30).map(|i| format!("other{i}")).collect();
        let first: Vec<&str> = first.iter().map(String::as_str).collect();
        let second: Vec<&str> = second.iter().map(String::as_str).collect();
        assert_eq!(
            merged_hashmap_order(&first, &second).join(","),
            "key1,other10,key2,key0,key5,key6,key3,key4,key9,key7,key8,key37,key36,key35,key34,key39,key38,other19,other18,other17,other16,other15,other14,other13,other12,other11,key11,key10,key22,key21,key20,key15,key14,key13,key12,key19,other9,key18,other8,key17,key16,other5,other4,other7,other6,other1,other0,other3,other2,other21,other20,key33,key32,key31,key30,key26,key25,key24,key23,key29,key28,key27,other29,other28,other27,other26,other25,other24,other23,other22"
        );
        assert_eq!(
            merged_hashmap_order(&[], &second).join(","),
            "other10,other9,other8,other19,other5,other18,other4,other17,other7,other16,other6,other15,other1,other14,other0,other13,other3,other12,other2,other11,other21,other20,other29,other28,other27,other26,other25,other24,other23,other22"
        );
    }

    #[test]
    fn doubles_print_like_java() {
        for (x, want) in [
            (1.1, "1.1"),
            (100.0, "100.0"),
            (1.5e7, "1.5E7"),
            (1e10, "1.0E10"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (-2.5, "-2.5"),
            (1234567.0, "1234567.0"),
            (0.0, "0.0"),
            (1e21, "1.0E21"),
            (123_456_789.123, "1.23456789123E8"),
            (1e-5, "1.0E-5"),
            (9_999_999.0, "9999999.0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(double_to_string(x), want);
        }
    }

    #[test]
    fn values_print_like_java_collections() {
        let mut s = String::new();
        format_value(
            &json!({"Arg1": 1, "Arg2": [], "n": null, "s": "x", "f": 1.5}),
            &mut s,
        );
        assert_eq!(s, "{Arg1=1, Arg2=[], n=null, s=x, f=1.5}");
    }
}
