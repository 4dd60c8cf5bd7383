//! The HTTP metadata AWS's optimised integrations add to a service's response
//! (`SdkHttpMetadata`, `SdkResponseMetadata`), as the Java SDK inside Step Functions
//! reports it: the response's headers, its length and the request id.

use serde_json::{Map, Value, json};

/// Adds the metadata of a JSON-protocol response whose body is `body` to `out`.
pub(crate) fn add(out: &mut Map<String, Value>, body: &str, request_id: &str, now_ms: i64) {
    let length = body.len().to_string();
    let date = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    out.insert(
        "SdkHttpMetadata".into(),
        json!({
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "connection": ["keep-alive"],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/x-amz-json-1.0",
                "Date": date,
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        }),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({"RequestId": request_id}),
    );
}
