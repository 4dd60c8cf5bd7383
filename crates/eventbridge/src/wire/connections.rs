//! Connections and API destinations on the wire. Secret values are accepted and never
//! returned.

use crate::EventBuses;
use crate::connections::{
    ApiDestinationInput, ApiDestinationView, ConnectionView, CreateConnectionInput, OAuthUpdate,
    UpdateConnectionInput,
};
use crate::store::{ConnectionAuth, ConnectionHttpParameters, ConnectionParameter};
use serde_json::{Map, Value, json};

use super::input::{Obj, Str, Violations};
use super::{DESCRIPTION, object, opt, paging, s, time};
use baton_platform::http::ApiError;

const NAME: Str = Str::new().len(1, 64).pattern(r"[\.\-_A-Za-z0-9]+");
const AUTH_TYPES: &[&str] = &["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
const CONNECTION_STATES: &[&str] = &[
    "CREATING",
    "UPDATING",
    "DELETING",
    "AUTHORIZED",
    "DEAUTHORIZED",
    "AUTHORIZING",
    "DEAUTHORIZING",
    "ACTIVE",
    "FAILED_CONNECTIVITY",
];
const AUTH_HEADER: Str = Str::new()
    .len(1, 512)
    .pattern(r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$");
const ENDPOINT: Str = Str::new()
    .len(1, 2048)
    .pattern(r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$");
const CONNECTION_ARN: Str = Str::new().len(1, 1600).pattern(
    r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$",
);
/// As AWS lists them in its enum message.
const HTTP_METHODS: &[&str] = &["HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"];
const OAUTH_METHODS: &[&str] = &["GET", "POST", "PUT"];

fn parameters(
    o: &Obj<'_>,
    key: &str,
    errs: &mut Violations,
) -> Result<Vec<ConnectionParameter>, ApiError> {
    let Some(items) = o.list(key, false, 0, Some(100), errs)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.into_iter().enumerate() {
        let p = o.element(key, i, v)?;
        out.push(ConnectionParameter {
            key: p
                .string("Key", Str::new().max(512), errs)?
                .unwrap_or_default(),
            value: p
                .string("Value", Str::new().max(512), errs)?
                .unwrap_or_default(),
            is_value_secret: p.bool("IsValueSecret")?.unwrap_or(false),
        });
    }
    Ok(out)
}

fn http_parameters(
    o: &Obj<'_>,
    key: &str,
    errs: &mut Violations,
) -> Result<Option<ConnectionHttpParameters>, ApiError> {
    let Some(h) = o.object(key, false, errs)? else {
        return Ok(None);
    };
    Ok(Some(ConnectionHttpParameters {
        header_parameters: parameters(&h, "HeaderParameters", errs)?,
        query_string_parameters: parameters(&h, "QueryStringParameters", errs)?,
        body_parameters: parameters(&h, "BodyParameters", errs)?,
    }))
}

/// Parameters as DescribeConnection shows them: secret values left out.
fn parameters_json(list: &[ConnectionParameter]) -> Value {
    Value::Array(
        list.iter()
            .map(|p| {
                object(vec![
                    ("Key", s(&p.key)),
                    ("Value", if p.is_value_secret { None } else { s(&p.value) }),
                    ("IsValueSecret", Some(Value::Bool(p.is_value_secret))),
                ])
            })
            .collect(),
    )
}

fn http_parameters_json(p: &ConnectionHttpParameters) -> Value {
    let mut m = Map::new();
    for (k, list) in [
        ("HeaderParameters", &p.header_parameters),
        ("QueryStringParameters", &p.query_string_parameters),
        ("BodyParameters", &p.body_parameters),
    ] {
        if !list.is_empty() {
            m.insert(k.into(), parameters_json(list));
        }
    }
    Value::Object(m)
}

fn connection_summary(v: &ConnectionView) -> Value {
    let r = &v.record;
    object(vec![
        ("ConnectionArn", s(&v.arn)),
        ("Name", s(&r.name)),
        ("ConnectionState", s(&r.state)),
        ("StateReason", opt(&r.state_reason)),
        ("AuthorizationType", s(r.auth.type_name())),
        ("CreationTime", Some(time(r.created_ms))),
        ("LastModifiedTime", Some(time(r.modified_ms))),
        (
            "LastAuthorizedTime",
            Some(time(r.last_authorized_ms.unwrap_or(r.created_ms))),
        ),
    ])
}

fn connection_state(v: &ConnectionView, with_authorized: bool) -> Value {
    let r = &v.record;
    object(vec![
        ("ConnectionArn", s(&v.arn)),
        ("ConnectionState", s(&r.state)),
        ("CreationTime", Some(time(r.created_ms))),
        ("LastModifiedTime", Some(time(r.modified_ms))),
        (
            "LastAuthorizedTime",
            with_authorized.then(|| time(r.last_authorized_ms.unwrap_or(r.created_ms))),
        ),
    ])
}

pub async fn create_connection(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let auth_type = req.string(
        "AuthorizationType",
        Str::new().required().one_of(AUTH_TYPES),
        &mut errs,
    )?;
    let params = req.object("AuthParameters", true, &mut errs)?;
    let mut basic = None;
    let mut api_key = None;
    let mut oauth = None;
    let mut invocation = None;
    if let Some(p) = &params {
        if let Some(b) = p.object("BasicAuthParameters", false, &mut errs)? {
            basic = Some((
                b.string("Username", AUTH_HEADER.required(), &mut errs)?,
                b.string("Password", AUTH_HEADER.required(), &mut errs)?,
            ));
        }
        if let Some(k) = p.object("ApiKeyAuthParameters", false, &mut errs)? {
            api_key = Some((
                k.string("ApiKeyName", AUTH_HEADER.required(), &mut errs)?,
                k.string("ApiKeyValue", AUTH_HEADER.required(), &mut errs)?,
            ));
        }
        if let Some(o) = p.object("OAuthParameters", false, &mut errs)? {
            let client = o.object("ClientParameters", true, &mut errs)?;
            let (id, secret) = match &client {
                Some(c) => (
                    c.string("ClientID", AUTH_HEADER.required(), &mut errs)?,
                    c.string("ClientSecret", AUTH_HEADER.required(), &mut errs)?,
                ),
                None => (None, None),
            };
            oauth = Some((
                id,
                secret,
                o.string("AuthorizationEndpoint", ENDPOINT.required(), &mut errs)?,
                o.string(
                    "HttpMethod",
                    Str::new().required().one_of(OAUTH_METHODS),
                    &mut errs,
                )?,
                http_parameters(&o, "OAuthHttpParameters", &mut errs)?,
            ));
        }
        invocation = http_parameters(p, "InvocationHttpParameters", &mut errs)?;
    }
    errs.finish()?;
    let auth_type = auth_type.unwrap_or_default();
    let missing = |block: &str| {
        ApiError::validation(format!(
            "Parameter AuthParameters.{block} is required when AuthorizationType is {auth_type}."
        ))
    };
    let auth = match auth_type.as_str() {
        "BASIC" => {
            let (u, p) = basic.ok_or_else(|| missing("BasicAuthParameters"))?;
            ConnectionAuth::Basic {
                username: u.unwrap_or_default(),
                password: p.unwrap_or_default(),
            }
        }
        "API_KEY" => {
            let (n, v) = api_key.ok_or_else(|| missing("ApiKeyAuthParameters"))?;
            ConnectionAuth::ApiKey {
                name: n.unwrap_or_default(),
                value: v.unwrap_or_default(),
            }
        }
        _ => {
            let (id, secret, endpoint, method, http) =
                oauth.ok_or_else(|| missing("OAuthParameters"))?;
            ConnectionAuth::OAuthClientCredentials {
                client_id: id.unwrap_or_default(),
                client_secret: secret.unwrap_or_default(),
                authorization_endpoint: endpoint.unwrap_or_default(),
                http_method: method.unwrap_or_default(),
                oauth_http_parameters: http,
            }
        }
    };
    let v = bus
        .create_connection(CreateConnectionInput {
            name: name.unwrap_or_default(),
            description,
            auth,
            invocation_http_parameters: invocation,
        })
        .await?;
    Ok(connection_state(&v, false))
}

pub fn describe_connection(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.describe_connection(&name.unwrap_or_default())?;
    let r = &v.record;
    let mut auth = Map::new();
    match &r.auth {
        ConnectionAuth::Basic { username, .. } => {
            auth.insert(
                "BasicAuthParameters".into(),
                json!({ "Username": username }),
            );
        }
        ConnectionAuth::ApiKey { name, .. } => {
            auth.insert("ApiKeyAuthParameters".into(), json!({ "ApiKeyName": name }));
        }
        ConnectionAuth::OAuthClientCredentials {
            client_id,
            authorization_endpoint,
            http_method,
            oauth_http_parameters,
            ..
        } => {
            auth.insert(
                "OAuthParameters".into(),
                object(vec![
                    ("ClientParameters", Some(json!({ "ClientID": client_id }))),
                    ("AuthorizationEndpoint", s(authorization_endpoint)),
                    ("HttpMethod", s(http_method)),
                    (
                        "OAuthHttpParameters",
                        oauth_http_parameters.as_ref().map(http_parameters_json),
                    ),
                ]),
            );
        }
    }
    if let Some(p) = &r.invocation_http_parameters {
        auth.insert("InvocationHttpParameters".into(), http_parameters_json(p));
    }
    Ok(object(vec![
        ("ConnectionArn", s(&v.arn)),
        ("Name", s(&r.name)),
        ("Description", opt(&r.description)),
        ("ConnectionState", s(&r.state)),
        ("StateReason", opt(&r.state_reason)),
        ("AuthorizationType", s(r.auth.type_name())),
        ("SecretArn", s(&v.secret_arn)),
        ("AuthParameters", Some(Value::Object(auth))),
        ("CreationTime", Some(time(r.created_ms))),
        ("LastModifiedTime", Some(time(r.modified_ms))),
        (
            "LastAuthorizedTime",
            Some(time(r.last_authorized_ms.unwrap_or(r.created_ms))),
        ),
    ]))
}

pub fn list_connections(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", NAME, &mut errs)?;
    let state = req.string(
        "ConnectionState",
        Str::new().one_of(CONNECTION_STATES),
        &mut errs,
    )?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page =
        bus.list_connections(prefix.as_deref(), state.as_deref(), limit, token.as_deref())?;
    Ok(object(vec![
        (
            "Connections",
            Some(Value::Array(
                page.items.iter().map(connection_summary).collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}

pub async fn update_connection(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let auth_type = req.string(
        "AuthorizationType",
        Str::new().one_of(AUTH_TYPES),
        &mut errs,
    )?;
    let mut input = UpdateConnectionInput {
        name: name.unwrap_or_default(),
        description,
        authorization_type: auth_type,
        ..UpdateConnectionInput::default()
    };
    if let Some(p) = req.object("AuthParameters", false, &mut errs)? {
        if let Some(b) = p.object("BasicAuthParameters", false, &mut errs)? {
            input.basic = Some((
                b.string("Username", AUTH_HEADER, &mut errs)?,
                b.string("Password", AUTH_HEADER, &mut errs)?,
            ));
        }
        if let Some(k) = p.object("ApiKeyAuthParameters", false, &mut errs)? {
            input.api_key = Some((
                k.string("ApiKeyName", AUTH_HEADER, &mut errs)?,
                k.string("ApiKeyValue", AUTH_HEADER, &mut errs)?,
            ));
        }
        if let Some(o) = p.object("OAuthParameters", false, &mut errs)? {
            let mut update = OAuthUpdate::default();
            if let Some(c) = o.object("ClientParameters", false, &mut errs)? {
                update.client_id = c.string("ClientID", AUTH_HEADER, &mut errs)?;
                update.client_secret = c.string("ClientSecret", AUTH_HEADER, &mut errs)?;
            }
            update.authorization_endpoint =
                o.string("AuthorizationEndpoint", ENDPOINT, &mut errs)?;
            update.http_method =
                o.string("HttpMethod", Str::new().one_of(OAUTH_METHODS), &mut errs)?;
            update.oauth_http_parameters = http_parameters(&o, "OAuthHttpParameters", &mut errs)?;
            input.oauth = Some(update);
        }
        input.invocation_http_parameters =
            http_parameters(&p, "InvocationHttpParameters", &mut errs)?;
    }
    errs.finish()?;
    let v = bus.update_connection(input).await?;
    Ok(connection_state(&v, true))
}

pub async fn delete_connection(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.delete_connection(&name.unwrap_or_default()).await?;
    Ok(connection_state(&v, true))
}

pub async fn deauthorize_connection(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus
        .deauthorize_connection(&name.unwrap_or_default())
        .await?;
    Ok(connection_state(&v, true))
}

fn destination_json(v: &ApiDestinationView, detailed: bool) -> Value {
    let r = &v.record;
    object(vec![
        ("ApiDestinationArn", s(&v.arn)),
        ("Name", s(&r.name)),
        (
            "Description",
            if detailed { opt(&r.description) } else { None },
        ),
        ("ApiDestinationState", s(&r.state)),
        ("ConnectionArn", s(&r.connection_arn)),
        ("InvocationEndpoint", s(&r.invocation_endpoint)),
        ("HttpMethod", s(&r.http_method)),
        (
            "InvocationRateLimitPerSecond",
            r.invocation_rate_limit_per_second.map(Value::from),
        ),
        ("CreationTime", Some(time(r.created_ms))),
        ("LastModifiedTime", Some(time(r.modified_ms))),
    ])
}

fn destination_state(v: &ApiDestinationView) -> Value {
    json!({
        "ApiDestinationArn": v.arn,
        "ApiDestinationState": v.record.state,
        "CreationTime": time(v.record.created_ms),
        "LastModifiedTime": time(v.record.modified_ms),
    })
}

fn destination_input(req: &Obj<'_>, create: bool) -> Result<ApiDestinationInput, ApiError> {
    let mut errs = Violations::default();
    let req_if = |c: Str| if create { c.required() } else { c };
    let name = req.string("Name", NAME.required(), &mut errs)?;
    let description = req.string("Description", DESCRIPTION, &mut errs)?;
    let connection_arn = req.string("ConnectionArn", req_if(CONNECTION_ARN), &mut errs)?;
    let endpoint = req.string("InvocationEndpoint", req_if(ENDPOINT), &mut errs)?;
    let method = req.string(
        "HttpMethod",
        req_if(Str::new().one_of(HTTP_METHODS)),
        &mut errs,
    )?;
    let rate = req.int("InvocationRateLimitPerSecond", Some(1), None, &mut errs)?;
    errs.finish()?;
    Ok(ApiDestinationInput {
        name: name.unwrap_or_default(),
        description,
        connection_arn,
        invocation_endpoint: endpoint,
        http_method: method,
        invocation_rate_limit_per_second: rate.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
    })
}

pub async fn create_api_destination(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let input = destination_input(req, true)?;
    let v = bus.create_api_destination(input).await?;
    Ok(destination_state(&v))
}

pub async fn update_api_destination(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let input = destination_input(req, false)?;
    let v = bus.update_api_destination(input).await?;
    Ok(destination_state(&v))
}

pub async fn delete_api_destination(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    errs.finish()?;
    bus.delete_api_destination(&name.unwrap_or_default())
        .await?;
    Ok(json!({}))
}

pub fn describe_api_destination(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let name = req.string("Name", NAME.required(), &mut errs)?;
    errs.finish()?;
    let v = bus.describe_api_destination(&name.unwrap_or_default())?;
    Ok(destination_json(&v, true))
}

pub fn list_api_destinations(bus: &EventBuses, req: &Obj<'_>) -> Result<Value, ApiError> {
    let mut errs = Violations::default();
    let prefix = req.string("NamePrefix", NAME, &mut errs)?;
    let connection = req.string("ConnectionArn", CONNECTION_ARN, &mut errs)?;
    let (token, limit) = paging(req, &mut errs)?;
    errs.finish()?;
    let page = bus.list_api_destinations(
        prefix.as_deref(),
        connection.as_deref(),
        limit,
        token.as_deref(),
    )?;
    Ok(object(vec![
        (
            "ApiDestinations",
            Some(Value::Array(
                page.items
                    .iter()
                    .map(|d| destination_json(d, false))
                    .collect(),
            )),
        ),
        ("NextToken", opt(&page.next_token)),
    ]))
}
