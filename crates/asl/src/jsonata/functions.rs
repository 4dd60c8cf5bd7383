//! The functions Step Functions adds to JSONata (`$partition`, `$range`, `$hash`,
//! `$random`, `$uuid`, `$parse`), and the built-ins it must answer from
//! [`crate::eval::Entropy`] instead of the machine (`$now`, `$millis`, `$random`,
//! `$shuffle`), so that a recorded run replays exactly.
//!
//! Semantics, where AWS's documentation is silent, follow what was measured against AWS
//! and published (jsonata-js conventions otherwise): an undefined argument gives an
//! undefined result, a wrongly typed one is `T0410`, and the numbers `$partition` and
//! `$range` take are truncated toward zero.
//!
//! Surplus arguments are ignored rather than refused: the engine hands a host function
//! every argument of a higher-order callback (`$map(xs, $parse)` passes value, index and
//! array), where the reference implementation passes only as many as the function
//! declares. Refusing them would break those calls, which AWS accepts.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::{JMap, JValue};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::random::{JavaRandom, SplitMix64, uuid_v4};

/// What the functions of one evaluation share: the instant it runs at and its random
/// stream. Host functions must be `'static`, so they hold this rather than the borrowed
/// `Entropy`.
pub(crate) struct Session {
    pub(crate) now_millis: i64,
    pub(crate) rng: SplitMix64,
}

pub(crate) type SharedSession = Rc<RefCell<Session>>;

/// The largest sequence `$range` builds, the limit the reference puts on the `..` operator.
const MAX_RANGE_LENGTH: i128 = 10_000_000;

/// Registers, on `evaluator`, the function called `name` if it is one of ours. Returns
/// whether it was.
pub(crate) fn register(
    evaluator: &mut Evaluator,
    name: &str,
    session: &SharedSession,
) -> Result<bool, EvaluatorError> {
    match name {
        "partition" => evaluator.register_fn("partition", partition)?,
        "range" => evaluator.register_fn("range", range)?,
        "hash" => evaluator.register_fn("hash", hash)?,
        "parse" => evaluator.register_fn("parse", parse)?,
        "uuid" => {
            let session = Rc::clone(session);
            evaluator.register_fn("uuid", move |_: &[JValue]| {
                with_session(&session, |s| Ok(JValue::string(uuid_v4(&mut s.rng))))
            })?;
        }
        "random" => {
            let session = Rc::clone(session);
            evaluator
                .register_fn_override("random", move |args: &[JValue]| random(args, &session))?;
        }
        "now" => {
            let session = Rc::clone(session);
            evaluator.register_fn_override("now", move |args: &[JValue]| now(args, &session))?;
        }
        "millis" => {
            let session = Rc::clone(session);
            evaluator.register_fn_override("millis", move |_: &[JValue]| {
                with_session(&session, |s| Ok(JValue::Number(s.now_millis as f64)))
            })?;
        }
        "shuffle" => {
            let session = Rc::clone(session);
            evaluator
                .register_fn_override("shuffle", move |args: &[JValue]| shuffle(args, &session))?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Whether evaluating a call of `name` reads the clock.
pub(crate) fn reads_clock(name: &str) -> bool {
    matches!(name, "now" | "millis")
}

/// Whether evaluating a call of `name` draws random numbers.
pub(crate) fn draws_random(name: &str) -> bool {
    matches!(name, "random" | "uuid" | "shuffle")
}

fn with_session(
    session: &SharedSession,
    f: impl FnOnce(&mut Session) -> Result<JValue, EvaluatorError>,
) -> Result<JValue, EvaluatorError> {
    // Our functions never re-enter one another, so the session is always free; a
    // refusal would still be an error, not a panic.
    match session.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => Err(EvaluatorError::EvaluationError(
            "the evaluation's random and clock state is in use".to_owned(),
        )),
    }
}

/// The reference's wording for an argument of the wrong type (`{{token}}` is quoted).
fn signature_error(function: &str, index: usize) -> EvaluatorError {
    EvaluatorError::TypeError(format!(
        "T0410: Argument {index} of function \"{function}\" does not match function signature"
    ))
}

/// `D3137` is the code of an error raised deliberately by a function (`$error`), which
/// is how AWS reports a bad argument value to its own functions.
fn raised(message: &str) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("D3137: {message}"))
}

fn arg(args: &[JValue], index: usize) -> &JValue {
    args.get(index).unwrap_or(&JValue::Undefined)
}

/// A number argument truncated toward zero, as AWS reads counts and bounds; `None` when
/// undefined.
fn integer_arg(
    args: &[JValue],
    index: usize,
    function: &str,
) -> Result<Option<i128>, EvaluatorError> {
    match arg(args, index) {
        JValue::Undefined => Ok(None),
        // Saturating conversion: values past i64 (and NaN, which cannot arrive from
        // JSON) land on the bounds; ranges that large are refused by length anyway.
        JValue::Number(n) => Ok(Some(i128::from(n.trunc() as i64))),
        _ => Err(signature_error(function, index + 1)),
    }
}

/// `$partition(array, size)`: the array cut into consecutive chunks of `size` items,
/// the last one possibly shorter.
fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let items: Vec<JValue> = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        JValue::Null => {
            return Err(EvaluatorError::TypeError(
                "T0412: Argument 1 of function \"partition\" must be an array of \"values\""
                    .to_owned(),
            ));
        }
        JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => {
            return Err(signature_error("partition", 1));
        }
        // JSONata's array parameters take a single value as an array of one.
        other => vec![other.clone()],
    };
    let size = match integer_arg(args, 1, "partition")? {
        None => items.len().max(1),
        Some(size) if size < 0 => return Err(raised("Second argument must be zero or greater")),
        Some(0) => return Ok(JValue::Undefined),
        Some(size) => usize::try_from(size).unwrap_or(usize::MAX),
    };
    if items.is_empty() {
        return Ok(JValue::Undefined);
    }
    let chunks = items
        .chunks(size)
        .map(|chunk| JValue::array(chunk.to_vec()))
        .collect();
    Ok(JValue::array(chunks))
}

/// `$range(start, end, step)`: `start`, `start + step`, … up to and including `end`.
/// A sequence, so one item comes back as that item (AWS: `$range(1, 9, 9)` is `1`).
fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    if args.len() < 2 {
        return Err(signature_error("range", args.len() + 1));
    }
    let start = integer_arg(args, 0, "range")?;
    let end = integer_arg(args, 1, "range")?;
    let step = integer_arg(args, 2, "range")?;
    let (Some(start), Some(end), Some(step)) = (start, end, step) else {
        return Ok(JValue::Undefined);
    };
    if step == 0 {
        return Ok(JValue::Undefined);
    }
    // i128 holds every difference of two i64 values, so none of this can overflow.
    let span = end - start;
    if span != 0 && (span < 0) != (step < 0) {
        return Ok(JValue::Undefined);
    }
    let count = span / step + 1;
    if count > MAX_RANGE_LENGTH {
        return Err(EvaluatorError::EvaluationError(format!(
            "D2014: The size of the sequence allocated by the range operator (..) must not exceed 1e7.  Attempted to allocate {count}."
        )));
    }
    let values = (0..count)
        .map(|i| JValue::Number((start + i * step) as f64))
        .collect();
    Ok(JValue::sequence(values))
}

/// `$hash(value, algorithm)`: the lower-case hex digest of the string's UTF-8 bytes.
fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => Rc::clone(s),
        _ => return Err(signature_error("hash", 1)),
    };
    let algorithm = match arg(args, 1) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => Rc::clone(s),
        _ => return Err(signature_error("hash", 2)),
    };
    let bytes = value.as_bytes();
    let digest: Vec<u8> = match &*algorithm {
        "MD5" => Md5::digest(bytes).to_vec(),
        "SHA-1" => Sha1::digest(bytes).to_vec(),
        "SHA-256" => Sha256::digest(bytes).to_vec(),
        "SHA-384" => Sha384::digest(bytes).to_vec(),
        "SHA-512" => Sha512::digest(bytes).to_vec(),
        other => {
            return Err(raised(&format!(
                "Unsupported hash algorithm '{other}'. Supported algorithms are MD5, SHA-1, SHA-256, SHA-384 and SHA-512"
            )));
        }
    };
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    Ok(JValue::string(hex))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `$random()` / `$random(seed)`: in `[0, 1)`; a seed makes it Java's
/// `new Random(seed).nextDouble()`, which is what AWS returns.
fn random(args: &[JValue], session: &SharedSession) -> Result<JValue, EvaluatorError> {
    match arg(args, 0) {
        JValue::Undefined => with_session(session, |s| Ok(JValue::Number(s.rng.next_f64()))),
        JValue::Number(seed) => Ok(JValue::Number(
            JavaRandom::new(seed.trunc() as i64).next_double(),
        )),
        _ => Err(signature_error("random", 1)),
    }
}

/// `$parse(text)`: the JSON value the text holds. Strict, as AWS is: one document, no
/// repeated keys, numbers within `f64`.
fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let text = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => Rc::clone(s),
        _ => return Err(signature_error("parse", 1)),
    };
    let mut de = serde_json::Deserializer::from_str(&text);
    let value = serde::de::DeserializeSeed::deserialize(StrictJson, &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| raised(&format!("Invalid JSON: {e}")))?;
    Ok(value)
}

/// Builds a `JValue` straight from JSON text, refusing repeated keys.
struct StrictJson;

impl<'de> serde::de::DeserializeSeed<'de> for StrictJson {
    type Value = JValue;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<JValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictJson {
    type Value = JValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<JValue, E> {
        Ok(JValue::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<JValue, E> {
        Ok(JValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<JValue, E> {
        Ok(JValue::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<JValue, E> {
        Ok(JValue::Number(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<JValue, E> {
        Ok(JValue::Number(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<JValue, E> {
        Ok(JValue::string(v))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictJson)? {
            items.push(item);
        }
        Ok(JValue::array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JValue, A::Error> {
        let mut out = JMap::default();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key \"{key}\""
                )));
            }
            let value = map.next_value_seed(StrictJson)?;
            out.insert(key, value);
        }
        Ok(JValue::Object(Rc::new(out)))
    }
}

/// `$now(picture?, timezone?)`: the evaluation's instant, as ISO 8601 or formatted like
/// `$fromMillis` formats it.
fn now(args: &[JValue], session: &SharedSession) -> Result<JValue, EvaluatorError> {
    let millis = with_session(session, |s| Ok(JValue::Number(s.now_millis as f64)))?;
    let picture = arg(args, 0);
    let timezone = arg(args, 1);
    if picture.is_undefined() && timezone.is_undefined() {
        let ms = millis.as_f64().map_or(0, |m| m as i64);
        return Ok(JValue::string(iso_millis(ms)));
    }
    // The picture language is the engine's; run its `$fromMillis` on our instant.
    static FROM_MILLIS: OnceLock<Option<AstNode>> = OnceLock::new();
    let Some(ast) =
        FROM_MILLIS.get_or_init(|| jsonata_core::parser::parse("$fromMillis($m, $p, $z)").ok())
    else {
        return Err(EvaluatorError::EvaluationError(
            "the $now formatter could not be built".to_owned(),
        ));
    };
    let mut context = Context::new();
    context.bind("m".to_owned(), millis);
    context.bind("p".to_owned(), picture.clone());
    context.bind("z".to_owned(), timezone.clone());
    Evaluator::with_context(context).evaluate(ast, &JValue::Undefined)
}

/// `2024-01-02T03:04:05.678Z`, the form the reference's `$now()` returns.
fn iso_millis(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => String::new(),
    }
}

/// `$shuffle(array)`: the items in a random order drawn from the evaluation's stream.
fn shuffle(args: &[JValue], session: &SharedSession) -> Result<JValue, EvaluatorError> {
    let mut items: Vec<JValue> = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        other => vec![other.clone()],
    };
    if items.len() > 1 {
        with_session(session, |s| {
            // Fisher–Yates.
            for i in (1..items.len()).rev() {
                let j = s.rng.below(i + 1);
                items.swap(i, j);
            }
            Ok(JValue::Null)
        })?;
    }
    Ok(JValue::array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_millis_matches_the_reference_format() {
        assert_eq!(iso_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_millis(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
