//! Task tokens: opaque to clients, but they carry the execution and task they answer so
//! the shell can route `SendTaskSuccess`/`SendTaskFailure` without a lookup table.

use std::fmt::Write;

/// Encodes `execution_arn` and `task_id` as a token (hex, URL- and JSON-safe). The
/// random `nonce` makes tokens unguessable; the shell checks the whole token against the
/// one it handed out.
pub fn encode(execution_arn: &str, task_id: u64, nonce: u64) -> String {
    let mut s = String::with_capacity(execution_arn.len() * 2 + 40);
    for b in execution_arn.bytes() {
        let _ = write!(s, "{b:02x}");
    }
    let _ = write!(s, "-{task_id}-{nonce:016x}");
    s
}

/// The execution ARN and task id a token names, or `None` for a malformed token.
pub fn decode(token: &str) -> Option<(String, u64)> {
    let (rest, nonce) = token.rsplit_once('-')?;
    if nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let (hex, id) = rest.rsplit_once('-')?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    let arn = String::from_utf8(bytes?).ok()?;
    Some((arn, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = encode("arn:aws:states:us-east-1:1:execution:m:e", 42, 7);
        assert_eq!(
            decode(&t),
            Some(("arn:aws:states:us-east-1:1:execution:m:e".to_owned(), 42))
        );
        assert_eq!(decode("zz-1-0000000000000001"), None);
        assert_eq!(decode("nohyphen"), None);
    }
}
