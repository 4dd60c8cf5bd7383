//! What each intrinsic function computes, with AWS's limits.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::java;
use super::{Arg, Call, Failure, Function, Piece};
use crate::eval::{Bindings, Entropy, EvalError, to_json_text};

/// Longest input (in characters) `States.Base64Encode`, `States.Base64Decode` and
/// `States.Hash` accept.
const MAX_INPUT_CHARS: usize = 10_000;
/// Longest array `States.ArrayRange` may produce.
const MAX_RANGE_ITEMS: i128 = 1_000;

pub(super) fn eval_call(
    call: &Call,
    bindings: &Bindings<'_>,
    entropy: &mut dyn Entropy,
) -> Result<Value, Failure> {
    let mut args: Vec<Cow<'_, Value>> = Vec::with_capacity(call.args.len());
    for arg in &call.args {
        args.push(match arg {
            Arg::Literal(v) | Arg::Text { value: v, .. } => Cow::Borrowed(v),
            Arg::Path(p) => match p.find(bindings) {
                Ok(v) => v,
                Err(miss) => return Err(Failure::PathNotFound(p.clone(), miss)),
            },
            Arg::Call(inner) => Cow::Owned(eval_call(inner, bindings, entropy)?),
        });
    }
    let f = call.function;
    let a = Args { f, values: &args };
    Ok(match f {
        Function::Format => format(&a, call.args.first())?,
        Function::StringToJson => string_to_json(&a)?,
        Function::JsonToString => Value::String(to_json_text(a.get(0))),
        Function::Array => Value::Array(args.iter().map(|v| v.as_ref().clone()).collect()),
        Function::ArrayPartition => array_partition(&a)?,
        Function::ArrayContains => Value::Bool(a.array(0)?.contains(a.get(1))),
        Function::ArrayRange => array_range(&a)?,
        Function::ArrayGetItem => array_get_item(&a)?,
        Function::ArrayLength => Value::from(a.array(0)?.len()),
        Function::ArrayUnique => Value::Array(unique(a.array(0)?)),
        Function::Base64Encode => {
            let s = a.limited_string(0)?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(s))
        }
        Function::Base64Decode => base64_decode(&a)?,
        Function::Hash => hash(&a)?,
        Function::JsonMerge => json_merge(&a)?,
        Function::MathRandom => math_random(&a, entropy)?,
        Function::MathAdd => {
            let sum = a.rounded(0)?.checked_add(a.rounded(1)?).ok_or_else(|| {
                a.fail("the sum is outside the range of a 64-bit integer".to_owned())
            })?;
            Value::from(sum)
        }
        Function::StringSplit => string_split(&a)?,
        Function::Uuid => Value::String(uuid_v4(entropy)),
    })
}

/// Evaluated arguments with typed accessors whose errors name the function.
struct Args<'v, 'w> {
    f: Function,
    values: &'w [Cow<'v, Value>],
}

const ORDINALS: [&str; 4] = ["first", "second", "third", "fourth"];

impl Args<'_, '_> {
    fn get(&self, i: usize) -> &Value {
        self.values.get(i).map_or(&Value::Null, |v| v.as_ref())
    }

    fn fail(&self, why: String) -> Failure {
        Failure::Error(EvalError {
            error: crate::error_name::STATES_INTRINSIC_FAILURE.to_owned(),
            cause: format!("Invalid arguments in {}: {why}", self.f.name()),
            location: None,
        })
    }

    fn wrong(&self, i: usize, what: &str) -> Failure {
        self.fail(format!(
            "the {} argument must be {what}, but was {}",
            ORDINALS.get(i).copied().unwrap_or("next"),
            to_json_text(self.get(i))
        ))
    }

    fn array(&self, i: usize) -> Result<&Vec<Value>, Failure> {
        self.get(i)
            .as_array()
            .ok_or_else(|| self.wrong(i, "an array"))
    }

    fn string(&self, i: usize) -> Result<&str, Failure> {
        self.get(i)
            .as_str()
            .ok_or_else(|| self.wrong(i, "a string"))
    }

    fn limited_string(&self, i: usize) -> Result<&str, Failure> {
        let s = self.string(i)?;
        if s.chars().count() > MAX_INPUT_CHARS {
            return Err(self.fail(format!(
                "the input string is longer than {MAX_INPUT_CHARS} characters"
            )));
        }
        Ok(s)
    }

    /// An integer; a float is accepted when it has no fractional part.
    fn integer(&self, i: usize) -> Result<i64, Failure> {
        let v = self.get(i);
        if let Some(n) = v.as_i64() {
            return Ok(n);
        }
        match v.as_f64() {
            Some(f) if v.is_f64() && f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
            _ => Err(self.wrong(i, "an integer")),
        }
    }

    /// A number rounded the way Java's `Math.round` does (how AWS treats fractional
    /// operands of `States.MathAdd` and `States.MathRandom`).
    fn rounded(&self, i: usize) -> Result<i64, Failure> {
        let v = self.get(i);
        if let Some(n) = v.as_i64() {
            return Ok(n);
        }
        match v {
            Value::Number(n) if n.is_f64() => Ok(java::math_round(n.as_f64().unwrap_or(0.0))),
            _ => Err(self.wrong(i, "a number")),
        }
    }
}

fn format(a: &Args<'_, '_>, template_arg: Option<&Arg>) -> Result<Value, Failure> {
    let template = a.string(0)?;
    let split;
    let pieces: &[Piece] = match template_arg {
        Some(Arg::Text { pieces, .. }) => pieces,
        _ => {
            split = split_template(template);
            &split
        }
    };
    let values = a.values.get(1..).unwrap_or(&[]);
    let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
    if holes != values.len() {
        return Err(a.fail(format!(
            "the template has {holes} placeholder{} but {} value{} were given",
            if holes == 1 { "" } else { "s" },
            values.len(),
            if values.len() == 1 { "" } else { "s" }
        )));
    }
    let mut out = String::with_capacity(template.len() + 16 * holes);
    let mut next = values.iter();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Hole => {
                if let Some(v) = next.next() {
                    java::format_value(v, &mut out);
                }
            }
        }
    }
    Ok(Value::String(out))
}

/// A template read from data: every `{}` is a placeholder.
fn split_template(template: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut parts = template.split("{}").peekable();
    while let Some(part) = parts.next() {
        pieces.push(Piece::Text(part.to_owned()));
        if parts.peek().is_some() {
            pieces.push(Piece::Hole);
        }
    }
    pieces
}

fn string_to_json(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let s = a.string(0)?;
    // Like Jackson's readTree: blank text is null, and only the first value counts.
    match serde_json::Deserializer::from_str(s)
        .into_iter::<Value>()
        .next()
    {
        None => Ok(Value::Null),
        Some(Ok(mut v)) => {
            // serde_json reads the integer `-0` as the float -0.0; Jackson reads it as 0.
            if !s.contains("-0.") && !s.contains("-0e") && !s.contains("-0E") {
                integer_negative_zeros(&mut v);
            }
            Ok(v)
        }
        Some(Err(e)) => Err(a.fail(format!("the string is not valid JSON: {e}"))),
    }
}

fn integer_negative_zeros(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => {
            *value = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(integer_negative_zeros),
        Value::Object(map) => map.values_mut().for_each(integer_negative_zeros),
        _ => {}
    }
}

fn array_partition(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let items = a.array(0)?;
    let size = a.integer(1)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| a.wrong(1, "a positive integer"))?;
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

fn array_range(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let first = i128::from(a.integer(0)?);
    let last = i128::from(a.integer(1)?);
    let step = i128::from(a.integer(2)?);
    if step == 0 {
        return Err(a.wrong(2, "a non-zero integer"));
    }
    let count = if (step > 0 && first <= last) || (step < 0 && first >= last) {
        (last - first) / step + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS {
        return Err(a.fail(format!(
            "the range would contain {count} elements, more than the limit of {MAX_RANGE_ITEMS}"
        )));
    }
    let items = (0..count)
        .map(|i| Value::from(i64::try_from(first + i * step).unwrap_or_default()))
        .collect();
    Ok(Value::Array(items))
}

fn array_get_item(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let items = a.array(0)?;
    let index = a.integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            a.fail(format!(
                "the index {index} is out of bounds for an array of length {}",
                items.len()
            ))
        })
}

/// First occurrences, in order. JSON equality ignores object key order, so the hash
/// does too.
fn unique(items: &[Value]) -> Vec<Value> {
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        let h = value_hash(item);
        let bucket = seen.entry(h).or_default();
        if bucket.iter().any(|&i| out[i] == *item) {
            continue;
        }
        bucket.push(out.len());
        out.push(item.clone());
    }
    out
}

fn value_hash(value: &Value) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hash_into(value, &mut hasher);
    hasher.finish()
}

fn hash_into(value: &Value, hasher: &mut impl Hasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => (2u8, n.to_string()).hash(hasher),
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            for item in items {
                hash_into(item, hasher);
            }
        }
        Value::Object(map) => {
            // Order-independent: combine the entries' hashes commutatively.
            let combined = map.iter().fold(0u64, |acc, (k, v)| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                k.hash(&mut h);
                hash_into(v, &mut h);
                acc.wrapping_add(h.finish())
            });
            (5u8, map.len(), combined).hash(hasher);
        }
    }
}

fn base64_decode(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let s = a.limited_string(0)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let bytes = engine
        .decode(s)
        .map_err(|e| a.fail(format!("the string is not valid Base64: {e}")))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

fn hash(a: &Args<'_, '_>) -> Result<Value, Failure> {
    use sha2::Digest as _;
    let data = a.limited_string(0)?.as_bytes();
    let algorithm = a.string(1)?;
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(a.fail(format!(
                "the hash algorithm '{other}' is not supported; use one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            )));
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(Value::String(hex))
}

/// Shallow merge; the second object's values win. The key order is that of the
/// `java.util.HashMap` AWS merges into.
fn json_merge(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let first = a
        .get(0)
        .as_object()
        .ok_or_else(|| a.wrong(0, "a JSON object"))?;
    let second = a
        .get(1)
        .as_object()
        .ok_or_else(|| a.wrong(1, "a JSON object"))?;
    match a.get(2) {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(a.fail(
                "deep merging is not supported; the third argument must be false".to_owned(),
            ));
        }
        _ => return Err(a.wrong(2, "a boolean")),
    }
    let first_keys: Vec<&str> = first.keys().map(String::as_str).collect();
    let second_keys: Vec<&str> = second.keys().map(String::as_str).collect();
    let mut merged = Map::with_capacity(first.len() + second.len());
    for key in java::merged_hashmap_order(&first_keys, &second_keys) {
        if let Some(v) = second.get(key).or_else(|| first.get(key)) {
            merged.insert(key.to_owned(), v.clone());
        }
    }
    Ok(Value::Object(merged))
}

fn math_random(a: &Args<'_, '_>, entropy: &mut dyn Entropy) -> Result<Value, Failure> {
    let start = a.rounded(0)?;
    let end = a.rounded(1)?;
    let bound = end
        .checked_sub(start)
        .filter(|b| *b > 0)
        .ok_or_else(|| a.fail(format!("the start {start} must be less than the end {end}")))?;
    let offset = if a.values.len() > 2 {
        let mut random = java::JavaRandom::new(a.rounded(2)?);
        match i32::try_from(bound) {
            Ok(b) => i64::from(random.next_int(b)),
            Err(_) => random.next_long().rem_euclid(bound),
        }
    } else {
        // Unbiased enough: the multiply-shift maps a 64-bit draw onto [0, bound).
        ((u128::from(entropy.next_u64()) * bound as u128) >> 64) as i64
    };
    Ok(Value::from(start + offset))
}

/// `java.util.StringTokenizer`: every character of the delimiter string separates,
/// and empty tokens are dropped.
fn string_split(a: &Args<'_, '_>) -> Result<Value, Failure> {
    let s = a.string(0)?;
    let delimiters: Vec<char> = a.string(1)?.chars().collect();
    Ok(Value::Array(
        s.split(|c: char| delimiters.contains(&c))
            .filter(|t| !t.is_empty())
            .map(|t| Value::String(t.to_owned()))
            .collect(),
    ))
}

/// A version 4 UUID from two draws.
pub(crate) fn uuid_v4(entropy: &mut dyn Entropy) -> String {
    let hi = entropy.next_u64();
    let lo = entropy.next_u64();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}
