//! The four AWS wire protocols as the edge tells them apart, and an error rendered in
//! each: what an SDK or the `aws` CLI can parse depends on the protocol it spoke, so an
//! error for a request nothing here serves (or one refused before any service saw it)
//! must be in that protocol, not in the JSON the edge happens to prefer.
//!
//! - AWS JSON 1.0/1.1: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`; errors are
//!   `{"__type", "message"}` with `x-amzn-errortype`.
//! - AWS Query (CloudFormation, SNS, IAM, STS, …): a form-encoded `Action=<Operation>`,
//!   usually `POST /`; errors are `<ErrorResponse><Error><Type/><Code/><Message/>`.
//! - REST-JSON (Lambda, API Gateway, Scheduler, …): the operation is the method and path;
//!   errors are a JSON body with `x-amzn-errortype`.
//! - REST-XML (S3, CloudFront, Route 53): the operation is the method and path; errors
//!   are `<Error><Code/><Message/>`.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The wire protocol a request was made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
    RestJson,
    RestXml,
}

/// Services whose SDK clients speak REST-XML, by SigV4 signing name. A REST request is
/// REST-JSON unless signed for one of these (no other signal tells the two apart).
const REST_XML_SIGNING_NAMES: &[&str] = &["s3", "s3-outposts", "cloudfront", "route53"];

/// What the edge can tell of a request before any service has looked at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub protocol: Protocol,
    /// The service the client meant: the SigV4 signing name when the request is signed,
    /// else the `X-Amz-Target` prefix or the host's first label.
    pub service: String,
    /// The operation: the target's or `Action`'s name, or `METHOD /path` for REST.
    pub operation: String,
}

impl RequestFacts {
    /// Reads the facts off a request; `body` is the buffered request body.
    pub fn of(method: &Method, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Self {
        let signing = signing_name(headers).or_else(|| presigned_signing_name(query));
        if let Some(target) = header_str(headers, "x-amz-target") {
            let (prefix, operation) = target.rsplit_once('.').unwrap_or((target, ""));
            return RequestFacts {
                protocol: Protocol::Json,
                service: signing.unwrap_or_else(|| prefix.to_owned()),
                operation: operation.to_owned(),
            };
        }
        let form = header_str(headers, header::CONTENT_TYPE.as_str())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let action = form
            .then(|| form_value(body, "Action"))
            .flatten()
            .or_else(|| form_value(query.as_bytes(), "Action"));
        if let Some(action) = action {
            return RequestFacts {
                protocol: Protocol::Query,
                service: signing.unwrap_or_else(|| host_label(headers)),
                operation: action,
            };
        }
        let service = signing.unwrap_or_else(|| host_label(headers));
        let protocol = if REST_XML_SIGNING_NAMES.contains(&service.as_str()) {
            Protocol::RestXml
        } else {
            Protocol::RestJson
        };
        RequestFacts {
            protocol,
            service,
            operation: format!("{method} {path}"),
        }
    }
}

/// One error, ready to render in any protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// `true` when the caller is at fault (the Query protocol's `Sender` type).
    pub sender_fault: bool,
}

impl WireError {
    /// The error in `protocol`'s shape, under a new request id (in the body where the
    /// protocol carries one, and in `x-amzn-requestid`).
    pub fn render(&self, protocol: Protocol) -> Response {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (content_type, body) = match protocol {
            Protocol::Json => (
                "application/x-amz-json-1.0",
                json!({"__type": self.code, "message": self.message}).to_string(),
            ),
            Protocol::RestJson => (
                "application/json",
                json!({
                    "Type": if self.sender_fault { "User" } else { "Service" },
                    "message": self.message,
                })
                .to_string(),
            ),
            Protocol::Query => (
                "text/xml",
                format!(
                    "<ErrorResponse><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                    if self.sender_fault {
                        "Sender"
                    } else {
                        "Receiver"
                    },
                    xml_escape(&self.code),
                    xml_escape(&self.message),
                    xml_escape(&request_id),
                ),
            ),
            Protocol::RestXml => (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
                    xml_escape(&self.code),
                    xml_escape(&self.message),
                    xml_escape(&request_id),
                ),
            ),
        };
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        if matches!(protocol, Protocol::Json | Protocol::RestJson)
            && let Ok(v) = HeaderValue::from_str(&self.code)
        {
            headers.insert("x-amzn-errortype", v);
        }
        response
    }
}

/// Escapes text for an XML element's content.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The value of `key` in form-encoded text (`a=1&Action=ListStacks`), decoded.
pub fn form_value(form: &[u8], key: &str) -> Option<String> {
    let text = std::str::from_utf8(form).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(k) == key).then(|| form_decode(v))
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, then percent escapes.
fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The service in a SigV4 `Authorization` header's credential scope
/// (`Credential=AKID/20240101/us-east-1/<service>/aws4_request`).
fn signing_name(headers: &HeaderMap) -> Option<String> {
    let auth = header_str(headers, header::AUTHORIZATION.as_str())?;
    let credential = auth.split("Credential=").nth(1)?;
    scope_service(credential.split([',', ' ']).next()?)
}

/// The same for a presigned URL's `X-Amz-Credential` query parameter.
fn presigned_signing_name(query: &str) -> Option<String> {
    scope_service(&form_value(query.as_bytes(), "X-Amz-Credential")?)
}

fn scope_service(credential: &str) -> Option<String> {
    let service = credential.split('/').nth(3)?;
    (!service.is_empty()).then(|| service.to_owned())
}

/// `sqs` of `sqs.us-east-1.amazonaws.com`; the whole host for an IP address or a name
/// without dots, which say nothing about a service.
fn host_label(headers: &HeaderMap) -> String {
    let host = header_str(headers, header::HOST.as_str()).unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    match host.split_once('.') {
        Some((first, _)) if !first.chars().all(|c| c.is_ascii_digit()) => first.to_owned(),
        _ => "an unknown service".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const SIGNED_CFN: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/cloudformation/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";

    #[test]
    fn a_form_with_an_action_is_the_query_protocol_and_names_the_signing_service() {
        let h = headers(&[
            ("authorization", SIGNED_CFN),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ]);
        let facts = RequestFacts::of(
            &Method::POST,
            "/",
            "",
            &h,
            b"Action=ListStacks&Version=2010-05-15",
        );
        assert_eq!(facts.protocol, Protocol::Query);
        assert_eq!(facts.service, "cloudformation");
        assert_eq!(facts.operation, "ListStacks");
    }

    #[test]
    fn targets_are_json_and_rest_is_told_apart_by_the_signing_name() {
        let h = headers(&[("x-amz-target", "DynamoDB_20120810.CreateTable")]);
        let facts = RequestFacts::of(&Method::POST, "/", "", &h, b"{}");
        assert_eq!(
            (
                facts.protocol,
                facts.service.as_str(),
                facts.operation.as_str()
            ),
            (Protocol::Json, "DynamoDB_20120810", "CreateTable")
        );
        let s3 = SIGNED_CFN.replace("cloudformation", "s3");
        let h = headers(&[("authorization", &s3)]);
        let facts = RequestFacts::of(&Method::PUT, "/bucket", "", &h, b"");
        assert_eq!(facts.protocol, Protocol::RestXml);
        assert_eq!(facts.operation, "PUT /bucket");
        let apigw = SIGNED_CFN.replace("cloudformation", "apigateway");
        let h = headers(&[("authorization", &apigw)]);
        let facts = RequestFacts::of(&Method::GET, "/restapis", "", &h, b"");
        assert_eq!(facts.protocol, Protocol::RestJson);
        assert_eq!(facts.service, "apigateway");
        let h = headers(&[("host", "127.0.0.1:4587")]);
        let facts = RequestFacts::of(&Method::GET, "/x", "", &h, b"");
        assert_eq!(facts.service, "an unknown service");
        let facts = RequestFacts::of(&Method::GET, "/x", "", &HeaderMap::new(), b"");
        assert_eq!(facts.protocol, Protocol::RestJson);
    }

    #[test]
    fn errors_render_in_each_protocol_with_escaped_text() {
        let e = WireError {
            status: StatusCode::BAD_REQUEST,
            code: "InvalidAction".into(),
            message: "a < b & c".into(),
            sender_fault: true,
        };
        let r = e.render(Protocol::Query);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/xml");
        let r = e.render(Protocol::Json);
        assert_eq!(r.headers()["x-amzn-errortype"], "InvalidAction");
        assert_eq!(xml_escape("a < b & 'c'"), "a &lt; b &amp; &apos;c&apos;");
        assert_eq!(
            form_value(b"Version=1&Action=Describe%20It+Now", "Action").as_deref(),
            Some("Describe It Now")
        );
    }
}
