//! HTTP targets: invoking an API destination with its connection's authorization
//! (API key header, HTTP basic, OAuth client-credentials bearer token), the target's
//! `HttpParameters`, a 5-second timeout and the destination's rate limit.
//!
//! Which failures are retried follows EventBridge: 401, 407, 409, 429, 5xx, timeouts
//! and network errors are; any other status is not (the event goes to the dead-letter
//! destination at once).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::store::{ConnectionAuth, ConnectionRecord, DeliveryRecord};
use base64::Engine;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::EventBuses;
use super::delivery::Failure;

/// EventBridge gives an endpoint 5 seconds to answer.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(5);

/// OAuth access tokens by connection, with when they stop being used.
#[derive(Default)]
pub struct TokenCache {
    tokens: HashMap<String, (String, Instant)>,
}

/// The next free send slot per API destination.
#[derive(Default)]
pub struct RateLimits {
    next: HashMap<String, Instant>,
}

/// Whether EventBridge retries a response with this status.
pub fn retriable_status(status: u16) -> bool {
    matches!(status, 401 | 407 | 409 | 429) || (500..600).contains(&status)
}

fn header(map: &mut HeaderMap, key: &str, value: &str) {
    if let (Ok(k), Ok(v)) = (
        HeaderName::from_bytes(key.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        map.insert(k, v);
    }
}

fn method(name: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(name.as_bytes()).unwrap_or(reqwest::Method::POST)
}

impl EventBuses {
    pub(crate) fn forget_token(&self, connection: &str) {
        if let Ok(mut cache) = self.inner.tokens.lock() {
            cache
                .tokens
                .retain(|k, _| !k.starts_with(&format!("{connection}/")));
        }
    }

    /// An access token for an OAuth connection: cached, or fetched from its
    /// authorization endpoint (`refresh` skips the cache).
    pub(crate) async fn oauth_token(
        &self,
        connection: &ConnectionRecord,
        refresh: bool,
    ) -> Result<String, Failure> {
        let ConnectionAuth::OAuthClientCredentials {
            client_id,
            client_secret,
            authorization_endpoint,
            http_method,
            oauth_http_parameters,
        } = &connection.auth
        else {
            return Err(Failure::permanent(
                "InvalidConnection",
                "the connection does not use OAuth",
            ));
        };
        let key = format!("{}/{}", connection.name, connection.uuid);
        if !refresh
            && let Ok(cache) = self.inner.tokens.lock()
            && let Some((token, until)) = cache.tokens.get(&key)
            && *until > Instant::now()
        {
            return Ok(token.clone());
        }
        let mut url = reqwest::Url::parse(authorization_endpoint).map_err(|e| {
            Failure::permanent(
                "InvalidAuthorizationEndpoint",
                format!("{authorization_endpoint}: {e}"),
            )
        })?;
        let mut headers = HeaderMap::new();
        let mut form: Vec<(String, String)> = Vec::new();
        if let Some(p) = oauth_http_parameters {
            for q in &p.query_string_parameters {
                url.query_pairs_mut().append_pair(&q.key, &q.value);
            }
            for h in &p.header_parameters {
                header(&mut headers, &h.key, &h.value);
            }
            for b in &p.body_parameters {
                form.push((b.key.clone(), b.value.clone()));
            }
        }
        if !form.iter().any(|(k, _)| k == "grant_type") {
            form.insert(0, ("grant_type".into(), "client_credentials".into()));
        }
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{client_id}:{client_secret}"));
        header(&mut headers, "authorization", &format!("Basic {basic}"));
        header(
            &mut headers,
            "content-type",
            "application/x-www-form-urlencoded",
        );
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .inner
            .http
            .request(method(http_method), url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::retriable("AuthorizationEndpointUnreachable", e.to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(Failure {
                retriable: retriable_status(status),
                code: "AuthorizationFailed".into(),
                message: format!("the authorization endpoint answered HTTP {status}"),
            });
        }
        let answer: Value = response.json().await.map_err(|e| {
            Failure::retriable(
                "AuthorizationFailed",
                format!("unreadable token response: {e}"),
            )
        })?;
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Failure::retriable(
                    "AuthorizationFailed",
                    "the token response has no access_token",
                )
            })?
            .to_owned();
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(3_600)
            .max(1);
        let until =
            Instant::now() + Duration::from_secs(lifetime.saturating_sub(lifetime / 10).max(1));
        if let Ok(mut cache) = self.inner.tokens.lock() {
            cache.tokens.insert(key, (token.clone(), until));
        }
        Ok(token)
    }

    /// Waits for this destination's next send slot (`InvocationRateLimitPerSecond`).
    async fn rate_limit(&self, destination: &str, per_second: u32) {
        let per_second = per_second.max(1);
        let spacing = Duration::from_secs(1) / per_second;
        let wait = match self.inner.rate_limits.lock() {
            Ok(mut limits) => {
                let now = Instant::now();
                let slot = limits
                    .next
                    .get(destination)
                    .copied()
                    .filter(|s| *s > now)
                    .unwrap_or(now);
                limits.next.insert(destination.to_owned(), slot + spacing);
                slot.saturating_duration_since(now)
            }
            Err(_) => Duration::ZERO,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends one delivery to an API destination.
    pub(crate) async fn invoke_api_destination(
        &self,
        name: &str,
        delivery: &DeliveryRecord,
    ) -> Result<(), Failure> {
        let catalog = self.catalog();
        let destination = catalog.api_destinations.get(name).ok_or_else(|| {
            Failure::permanent(
                "ResourceNotFoundException",
                format!("API destination {name} does not exist."),
            )
        })?;
        let connection = self
            .arns()
            .connection_name(&destination.connection_arn)
            .and_then(|n| catalog.connections.get(n))
            .ok_or_else(|| {
                Failure::permanent(
                    "ResourceNotFoundException",
                    format!("the connection of API destination {name} does not exist"),
                )
            })?;

        let mut endpoint = destination.invocation_endpoint.clone();
        if let Some(http) = &delivery.http_parameters {
            for value in &http.path_parameter_values {
                if let Some(at) = endpoint.find('*') {
                    endpoint.replace_range(at..at + 1, value);
                }
            }
        }
        let mut url = reqwest::Url::parse(&endpoint)
            .map_err(|e| Failure::permanent("InvalidEndpoint", format!("{endpoint}: {e}")))?;
        let mut headers = HeaderMap::new();
        header(
            &mut headers,
            "content-type",
            "application/json; charset=utf-8",
        );
        header(
            &mut headers,
            "user-agent",
            "Amazon/EventBridge/ApiDestinations",
        );
        let mut body_extra: Vec<(String, String)> = Vec::new();
        if let Some(p) = &connection.invocation_http_parameters {
            for q in &p.query_string_parameters {
                url.query_pairs_mut().append_pair(&q.key, &q.value);
            }
            for h in &p.header_parameters {
                header(&mut headers, &h.key, &h.value);
            }
            for b in &p.body_parameters {
                body_extra.push((b.key.clone(), b.value.clone()));
            }
        }
        if let Some(http) = &delivery.http_parameters {
            for (k, v) in &http.query_string_parameters {
                url.query_pairs_mut().append_pair(k, v);
            }
            for (k, v) in &http.header_parameters {
                header(&mut headers, k, v);
            }
        }
        let oauth = matches!(
            connection.auth,
            ConnectionAuth::OAuthClientCredentials { .. }
        );
        match &connection.auth {
            ConnectionAuth::ApiKey { name, value } => header(&mut headers, name, value),
            ConnectionAuth::Basic { username, password } => {
                let basic = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                header(&mut headers, "authorization", &format!("Basic {basic}"));
            }
            ConnectionAuth::OAuthClientCredentials { .. } => {
                let token = self.oauth_token(connection, false).await?;
                header(&mut headers, "authorization", &format!("Bearer {token}"));
            }
        }
        let body = merge_body(&delivery.body, &body_extra);
        let http_method = method(&destination.http_method);
        self.rate_limit(
            name,
            destination.invocation_rate_limit_per_second.unwrap_or(300),
        )
        .await;
        let mut request = self
            .inner
            .http
            .request(http_method.clone(), url)
            .headers(headers);
        if http_method != reqwest::Method::GET && http_method != reqwest::Method::HEAD {
            request = request.body(body);
        }
        let response = request.send().await.map_err(|e| {
            let code = if e.is_timeout() {
                "Timeout"
            } else {
                "ConnectionError"
            };
            Failure::retriable(code, e.to_string())
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        if status == 401 && oauth {
            self.forget_token(&connection.name);
        }
        Err(Failure {
            retriable: retriable_status(status),
            code: "HttpStatusCodeError".into(),
            message: format!("the endpoint answered HTTP {status}"),
        })
    }
}

/// Adds a connection's body parameters to a JSON-object body.
fn merge_body(body: &str, extra: &[(String, String)]) -> String {
    if extra.is_empty() {
        return body.to_owned();
    }
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            for (k, v) in extra {
                map.insert(k.clone(), Value::String(v.clone()));
            }
            Value::Object(map).to_string()
        }
        _ => body.to_owned(),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_statuses_follow_eventbridge() {
        for s in [401, 407, 409, 429, 500, 503, 599] {
            assert!(retriable_status(s), "{s}");
        }
        for s in [200, 301, 400, 403, 404, 413] {
            assert!(!retriable_status(s), "{s}");
        }
    }

    #[test]
    fn body_parameters_join_json_objects_only() {
        let extra = vec![("k".to_owned(), "v".to_owned())];
        assert_eq!(merge_body(r#"{"a":1}"#, &extra), r#"{"a":1,"k":"v"}"#);
        assert_eq!(merge_body(r#""text""#, &extra), r#""text""#);
        assert_eq!(percent_encode("a b&c"), "a%20b%26c");
    }
}
