//! Signature Version 4 checks, for servers that are given credentials.
//!
//! By default Baton accepts requests of any signature: local tools sign with whatever
//! keys happen to be configured, and a loopback server has nothing to protect. A server
//! reachable by others is started with credentials (`baton serve --credentials
//! KEY_ID:SECRET`); then every request must carry a valid `AWS4-HMAC-SHA256`
//! `Authorization` header signed with one of them, and is rejected with AWS's error names
//! otherwise. Like AWS, a mismatch names the canonical request and string to sign the
//! server expected, so a hand-rolled client can be debugged.
//!
//! Verification is a pure function of the request and an injected `now`; the middleware
//! at the bottom is the shell that buffers the body and reads the clock.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::protocol::RequestFacts;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's `X-Amz-Date` may be from the server's clock (AWS: 15 minutes).
const MAX_SKEW_MINUTES: i64 = 15;

/// The access keys a server accepts: key id → secret access key.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    keys: HashMap<String, String>,
}

impl Credentials {
    /// Parses `KEY_ID:SECRET` pairs (the `--credentials` flag's values).
    pub fn parse<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Credentials, String> {
        let mut keys = HashMap::new();
        for pair in pairs {
            let (id, secret) = pair
                .split_once(':')
                .filter(|(id, secret)| !id.is_empty() && !secret.is_empty())
                .ok_or_else(|| format!("credentials must be KEY_ID:SECRET, got {pair:?}"))?;
            keys.insert(id.to_owned(), secret.to_owned());
        }
        Ok(Credentials { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// What the signature covers, as it arrived on the wire.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a request was refused: AWS's error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> SignatureError {
    SignatureError {
        code,
        message: message.into(),
    }
}

/// Checks `request`'s SigV4 `Authorization` header against `credentials` at `now`.
pub fn verify(
    credentials: &Credentials,
    request: &SignedRequest<'_>,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let Some(auth) = header(request.headers, "authorization") else {
        return Err(refuse(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let auth = parse_authorization(auth)?;
    let Some(secret) = credentials.keys.get(auth.key_id) else {
        return Err(refuse(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let Some(amz_date) = header(request.headers, "x-amz-date") else {
        return Err(refuse(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Ok(signed_at) = NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ") else {
        return Err(refuse(
            "IncompleteSignatureException",
            format!("Date must be in ISO-8601 'basic format'. Got '{amz_date}'."),
        ));
    };
    let signed_at = signed_at.and_utc();
    check_skew(signed_at, now)?;
    if !amz_date.starts_with(auth.date) {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                amz_date.get(..8).unwrap_or(amz_date)
            ),
        ));
    }

    let canonical = canonical_request(request, &auth.signed_headers);
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    for part in [auth.region, auth.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let expected = hex(&hmac(&key, string_to_sign.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            ),
        ));
    }
    Ok(())
}

fn check_skew(signed_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), SignatureError> {
    let skew = TimeDelta::minutes(MAX_SKEW_MINUTES);
    let fmt = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    if signed_at < now - skew {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Signature expired: {} is now earlier than {} ({} - {MAX_SKEW_MINUTES} min.)",
                fmt(signed_at),
                fmt(now - skew),
                fmt(now)
            ),
        ));
    }
    if signed_at > now + skew {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Signature not yet current: {} is still later than {} ({} + {MAX_SKEW_MINUTES} min.)",
                fmt(signed_at),
                fmt(now + skew),
                fmt(now)
            ),
        ));
    }
    Ok(())
}

struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, SignatureError> {
    let Some(rest) = value.strip_prefix(ALGORITHM) else {
        return Err(refuse(
            "IncompleteSignatureException",
            format!("Unsupported authorization type; only {ALGORITHM} is accepted"),
        ));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (name, field) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed),
    ] {
        if field.is_none() {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(refuse(
            "IncompleteSignatureException",
            format!("{} Authorization={value}", missing.join(" ")),
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(refuse(
            "IncompleteSignatureException",
            format!(
                "Credential should be scoped to a valid region, not '{credential}'. Credential should be of the form KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request."
            ),
        ));
    };
    Ok(Authorization {
        key_id,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let mut out = String::new();
    out.push_str(request.method);
    out.push('\n');
    if request.path.is_empty() {
        out.push('/');
    } else {
        out.push_str(&encode(request.path, true));
    }
    out.push('\n');
    out.push_str(&canonical_query(request.query));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    match header(request.headers, "x-amz-content-sha256") {
        Some(hash) => out.push_str(hash),
        None => out.push_str(&hex(&Sha256::digest(request.body))),
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(&decode(k), false), encode(&decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 encoding of everything but the unreserved characters (and `/` in paths).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: buffers the body (bounded by the router's limit), verifies, and passes
/// the request on unchanged. `/health` stays open for probes.
pub async fn require_signature(
    State(credentials): State<Arc<Credentials>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::server::MAX_REQUEST_BYTES).await else {
        return ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "RequestEntityTooLargeException".into(),
            message: "Request must be smaller than 16777216 bytes".into(),
            query_error: None,
        }
        .into_response();
    };
    let checked = verify(
        &credentials,
        &SignedRequest {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &bytes,
        },
        Utc::now(),
    );
    if let Err(e) = checked {
        // Refused in the protocol the client spoke: JSON-protocol services answer 400,
        // Query and REST ones 403.
        let facts = RequestFacts::of(
            &parts.method,
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
            &bytes,
        );
        let json = facts.protocol == super::protocol::Protocol::Json;
        let error = ApiError {
            status: if json {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::FORBIDDEN
            },
            code: e.code.into(),
            message: e.message,
            query_error: None,
        };
        return if json {
            error.into_response()
        } else {
            error.to_wire().render(facts.protocol)
        };
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    // AWS's published SigV4 example (the IAM ListUsers GET request from the
    // "Create a signed AWS API request" guide): the secret, the request and the
    // signature are documented values, so this checks the derivation end to end.
    const KEY_ID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn example_headers(signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        h.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        h.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
            ))
            .unwrap(),
        );
        h
    }

    fn check(headers: &HeaderMap, now: &str) -> Result<(), SignatureError> {
        let creds = Credentials::parse([format!("{KEY_ID}:{SECRET}").as_str()]).unwrap();
        verify(
            &creds,
            &SignedRequest {
                method: "GET",
                path: "/",
                query: "Action=ListUsers&Version=2010-05-08",
                headers,
                body: b"",
            },
            now.parse().unwrap(),
        )
    }

    const GOOD: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    #[test]
    fn accepts_aws_documented_example() {
        check(&example_headers(GOOD), "2015-08-30T12:40:00Z").unwrap();
    }

    #[test]
    fn refuses_wrong_signature_naming_the_canonical_request() {
        let bad = GOOD.replace('5', "6");
        let e = check(&example_headers(&bad), "2015-08-30T12:40:00Z").unwrap_err();
        assert_eq!(e.code, "InvalidSignatureException");
        assert!(
            e.message
                .contains("GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:"),
            "{}",
            e.message
        );
    }

    #[test]
    fn refuses_unknown_keys_missing_headers_and_stale_dates() {
        let mut h = example_headers(GOOD);
        let stale = check(&h, "2015-08-30T13:00:00Z").unwrap_err();
        assert_eq!(stale.code, "InvalidSignatureException");
        assert!(
            stale
                .message
                .starts_with("Signature expired: 20150830T123600Z")
        );

        h.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=OTHER/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        let e = check(&h, "2015-08-30T12:40:00Z").unwrap_err();
        assert_eq!(e.code, "UnrecognizedClientException");

        h.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
            ),
        );
        let e = check(&h, "2015-08-30T12:40:00Z").unwrap_err();
        assert_eq!(e.code, "IncompleteSignatureException");
        assert!(e.message.contains("requires 'Signature' parameter"));

        h.remove("authorization");
        let e = check(&h, "2015-08-30T12:40:00Z").unwrap_err();
        assert_eq!(e.code, "MissingAuthenticationTokenException");
    }

    #[test]
    fn credentials_flag_values_must_be_pairs() {
        assert!(Credentials::parse(["id:secret"]).is_ok());
        assert!(Credentials::parse(["nocolon"]).is_err());
        assert!(Credentials::parse([":secret"]).is_err());
    }

    #[test]
    fn query_is_decoded_then_encoded_and_sorted() {
        assert_eq!(canonical_query("b=2&a=x%20y&a=1"), "a=1&a=x%20y&b=2");
        assert_eq!(
            encode("/2015-03-31/functions/a%3Ab", true),
            "/2015-03-31/functions/a%253Ab"
        );
    }
}
