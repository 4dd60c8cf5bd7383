//! Connections (how to authorize against an HTTP endpoint) and API destinations (the
//! endpoint, method and rate limit). Basic and API-key connections are authorized at
//! once; an OAuth client-credentials connection starts `AUTHORIZING` and becomes
//! `AUTHORIZED` (or `DEAUTHORIZED`, with the reason) once Baton has asked the
//! authorization endpoint for a token.
//!
//! Secrets stay in the store and never leave through the API (AWS keeps them in Secrets
//! Manager and shows a secret ARN, which Baton also shows).

use crate::store::{
    ApiDestinationRecord, ConnectionAuth, ConnectionHttpParameters, ConnectionRecord,
};
use baton_platform::store::StoreError;

use super::control::{Page, paginate};
use super::error::BusError;
use super::{EventBuses, random_uuid};

pub struct CreateConnectionInput {
    pub name: String,
    pub description: Option<String>,
    pub auth: ConnectionAuth,
    pub invocation_http_parameters: Option<ConnectionHttpParameters>,
}

/// UpdateConnection's optional fields; an auth block merges into the stored one.
#[derive(Default)]
pub struct UpdateConnectionInput {
    pub name: String,
    pub description: Option<String>,
    pub authorization_type: Option<String>,
    pub basic: Option<(Option<String>, Option<String>)>,
    pub api_key: Option<(Option<String>, Option<String>)>,
    pub oauth: Option<OAuthUpdate>,
    pub invocation_http_parameters: Option<ConnectionHttpParameters>,
}

#[derive(Default)]
pub struct OAuthUpdate {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub http_method: Option<String>,
    pub oauth_http_parameters: Option<ConnectionHttpParameters>,
}

/// A connection as the API shows it.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub arn: String,
    pub secret_arn: String,
    pub record: ConnectionRecord,
}

pub struct ApiDestinationInput {
    pub name: String,
    pub description: Option<String>,
    pub connection_arn: Option<String>,
    pub invocation_endpoint: Option<String>,
    pub http_method: Option<String>,
    pub invocation_rate_limit_per_second: Option<u32>,
}

/// An API destination as the API shows it.
#[derive(Debug, Clone)]
pub struct ApiDestinationView {
    pub arn: String,
    pub record: ApiDestinationRecord,
}

fn connection_not_found(name: &str) -> BusError {
    BusError::not_found(format!(
        "Failed to describe the connection(s). Connection '{name}' does not exist."
    ))
}

fn destination_not_found(name: &str) -> BusError {
    BusError::not_found(format!(
        "Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
    ))
}

fn initial_state(auth: &ConnectionAuth) -> &'static str {
    match auth {
        ConnectionAuth::OAuthClientCredentials { .. } => "AUTHORIZING",
        _ => "AUTHORIZED",
    }
}

impl EventBuses {
    fn connection_view(&self, record: ConnectionRecord) -> ConnectionView {
        ConnectionView {
            arn: self.arns().connection(&record.name, &record.uuid),
            secret_arn: self.arns().connection_secret(&record.name, &record.uuid),
            record,
        }
    }

    fn destination_view(&self, mut record: ApiDestinationRecord) -> ApiDestinationView {
        // An API destination is usable while its connection is authorized.
        let authorized = self
            .arns()
            .connection_name(&record.connection_arn)
            .and_then(|n| self.catalog().connections.get(n).map(|c| c.state.clone()))
            .is_some_and(|s| s == "AUTHORIZED");
        record.state = if authorized { "ACTIVE" } else { "INACTIVE" }.to_owned();
        ApiDestinationView {
            arn: self.arns().api_destination(&record.name, &record.uuid),
            record,
        }
    }

    async fn store_connection(
        &self,
        record: ConnectionRecord,
        create: bool,
    ) -> Result<(), BusError> {
        let result = if create {
            self.inner.store.create_connection(record.clone()).await
        } else {
            self.inner.store.update_connection(record.clone()).await
        };
        match result {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(BusError::already_exists(format!(
                    "Connection {} already exists.",
                    record.name
                )));
            }
            Err(StoreError::NotFound(_)) => return Err(connection_not_found(&record.name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.connections.insert(record.name.clone(), record);
        self.publish(next);
        Ok(())
    }

    pub async fn create_connection(
        &self,
        input: CreateConnectionInput,
    ) -> Result<ConnectionView, BusError> {
        let now = self.now_ms();
        let record = ConnectionRecord {
            name: input.name,
            uuid: random_uuid(),
            description: input.description,
            state: initial_state(&input.auth).to_owned(),
            auth: input.auth,
            invocation_http_parameters: input.invocation_http_parameters,
            state_reason: None,
            created_ms: now,
            modified_ms: now,
            last_authorized_ms: None,
        };
        {
            let _guard = self.inner.control.lock().await;
            self.store_connection(record.clone(), true).await?;
        }
        self.authorize_later(&record);
        Ok(self.connection_view(record))
    }

    /// OAuth connections get their first token in the background, as in AWS.
    fn authorize_later(&self, record: &ConnectionRecord) {
        if let ConnectionAuth::OAuthClientCredentials { .. } = record.auth {
            let bus = self.clone();
            let name = record.name.clone();
            tokio::spawn(async move {
                if let Err(e) = bus.authorize_connection(&name).await {
                    tracing::warn!(connection = %name, error = %e, "authorizing failed");
                }
            });
        }
    }

    /// Asks an OAuth connection's endpoint for a token and records the outcome.
    pub async fn authorize_connection(&self, name: &str) -> Result<(), BusError> {
        let Some(record) = self.catalog().connections.get(name).cloned() else {
            return Ok(());
        };
        let outcome = self.oauth_token(&record, true).await;
        let _guard = self.inner.control.lock().await;
        let Some(mut current) = self.catalog().connections.get(name).cloned() else {
            return Ok(());
        };
        if current.uuid != record.uuid || current.auth != record.auth {
            return Ok(()); // changed meanwhile; the change starts its own attempt
        }
        let now = self.now_ms();
        match outcome {
            Ok(_) => {
                current.state = "AUTHORIZED".into();
                current.state_reason = None;
                current.last_authorized_ms = Some(now);
            }
            Err(reason) => {
                current.state = "DEAUTHORIZED".into();
                current.state_reason = Some(reason.message);
            }
        }
        current.modified_ms = now;
        self.store_connection(current, false).await
    }

    pub fn describe_connection(&self, name: &str) -> Result<ConnectionView, BusError> {
        let record = self
            .catalog()
            .connections
            .get(name)
            .cloned()
            .ok_or_else(|| connection_not_found(name))?;
        Ok(self.connection_view(record))
    }

    pub fn list_connections(
        &self,
        prefix: Option<&str>,
        state: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<ConnectionView>, BusError> {
        let items = self
            .catalog()
            .connections
            .values()
            .filter(|c| prefix.is_none_or(|p| c.name.starts_with(p)))
            .filter(|c| state.is_none_or(|s| c.state == s))
            .cloned()
            .collect();
        let page = paginate(items, limit, token)?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| self.connection_view(r))
                .collect(),
            next_token: page.next_token,
        })
    }

    pub async fn update_connection(
        &self,
        input: UpdateConnectionInput,
    ) -> Result<ConnectionView, BusError> {
        let record = {
            let _guard = self.inner.control.lock().await;
            let mut record = self
                .catalog()
                .connections
                .get(&input.name)
                .cloned()
                .ok_or_else(|| connection_not_found(&input.name))?;
            let auth = merge_auth(&record.auth, &input)?;
            let auth_changed = auth != record.auth;
            record.auth = auth;
            if input.description.is_some() {
                record.description = input.description;
            }
            if input.invocation_http_parameters.is_some() {
                record.invocation_http_parameters = input.invocation_http_parameters;
            }
            if auth_changed || record.state == "DEAUTHORIZED" {
                record.state = initial_state(&record.auth).to_owned();
                record.state_reason = None;
                self.forget_token(&record.name);
            }
            record.modified_ms = self.now_ms();
            self.store_connection(record.clone(), false).await?;
            record
        };
        self.authorize_later(&record);
        Ok(self.connection_view(record))
    }

    /// DeleteConnection answers with the connection in state `DELETING`.
    pub async fn delete_connection(&self, name: &str) -> Result<ConnectionView, BusError> {
        let _guard = self.inner.control.lock().await;
        let mut record = self
            .catalog()
            .connections
            .get(name)
            .cloned()
            .ok_or_else(|| connection_not_found(name))?;
        self.inner.store.delete_connection(name).await?;
        let mut next = (*self.catalog()).clone();
        next.connections.remove(name);
        self.publish(next);
        self.forget_token(name);
        record.state = "DELETING".into();
        Ok(self.connection_view(record))
    }

    pub async fn deauthorize_connection(&self, name: &str) -> Result<ConnectionView, BusError> {
        let _guard = self.inner.control.lock().await;
        let mut record = self
            .catalog()
            .connections
            .get(name)
            .cloned()
            .ok_or_else(|| connection_not_found(name))?;
        record.state = "DEAUTHORIZED".into();
        record.modified_ms = self.now_ms();
        self.store_connection(record.clone(), false).await?;
        self.forget_token(name);
        record.state = "DEAUTHORIZING".into();
        Ok(self.connection_view(record))
    }

    fn check_connection_arn(&self, arn: &str) -> Result<(), BusError> {
        let known = self
            .arns()
            .connection_name(arn)
            .and_then(|n| self.catalog().connections.get(n).cloned())
            .is_some_and(|c| self.arns().connection(&c.name, &c.uuid) == arn);
        if known {
            Ok(())
        } else {
            let name = self.arns().connection_name(arn).unwrap_or(arn);
            Err(BusError::not_found(format!(
                "Connection '{name}' does not exist."
            )))
        }
    }

    pub async fn create_api_destination(
        &self,
        input: ApiDestinationInput,
    ) -> Result<ApiDestinationView, BusError> {
        let _guard = self.inner.control.lock().await;
        let (Some(connection_arn), Some(endpoint), Some(method)) = (
            input.connection_arn,
            input.invocation_endpoint,
            input.http_method,
        ) else {
            return Err(BusError::validation(
                "ConnectionArn, InvocationEndpoint and HttpMethod are required.",
            ));
        };
        self.check_connection_arn(&connection_arn)?;
        let now = self.now_ms();
        let record = ApiDestinationRecord {
            name: input.name.clone(),
            uuid: random_uuid(),
            description: input.description,
            connection_arn,
            invocation_endpoint: endpoint,
            http_method: method,
            invocation_rate_limit_per_second: Some(
                input.invocation_rate_limit_per_second.unwrap_or(300),
            ),
            state: "ACTIVE".into(),
            created_ms: now,
            modified_ms: now,
        };
        match self
            .inner
            .store
            .create_api_destination(record.clone())
            .await
        {
            Ok(()) => {}
            Err(StoreError::AlreadyExists(_)) => {
                return Err(BusError::already_exists(format!(
                    "An api-destination '{}' already exists.",
                    input.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.api_destinations
            .insert(record.name.clone(), record.clone());
        self.publish(next);
        Ok(self.destination_view(record))
    }

    pub async fn update_api_destination(
        &self,
        input: ApiDestinationInput,
    ) -> Result<ApiDestinationView, BusError> {
        let _guard = self.inner.control.lock().await;
        let mut record = self
            .catalog()
            .api_destinations
            .get(&input.name)
            .cloned()
            .ok_or_else(|| destination_not_found(&input.name))?;
        if let Some(arn) = input.connection_arn {
            self.check_connection_arn(&arn)?;
            record.connection_arn = arn;
        }
        if input.description.is_some() {
            record.description = input.description;
        }
        if let Some(e) = input.invocation_endpoint {
            record.invocation_endpoint = e;
        }
        if let Some(m) = input.http_method {
            record.http_method = m;
        }
        if input.invocation_rate_limit_per_second.is_some() {
            record.invocation_rate_limit_per_second = input.invocation_rate_limit_per_second;
        }
        record.modified_ms = self.now_ms();
        match self
            .inner
            .store
            .update_api_destination(record.clone())
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => return Err(destination_not_found(&input.name)),
            Err(e) => return Err(e.into()),
        }
        let mut next = (*self.catalog()).clone();
        next.api_destinations
            .insert(record.name.clone(), record.clone());
        self.publish(next);
        Ok(self.destination_view(record))
    }

    pub async fn delete_api_destination(&self, name: &str) -> Result<(), BusError> {
        let _guard = self.inner.control.lock().await;
        if !self.catalog().api_destinations.contains_key(name) {
            return Err(destination_not_found(name));
        }
        self.inner.store.delete_api_destination(name).await?;
        let mut next = (*self.catalog()).clone();
        next.api_destinations.remove(name);
        self.publish(next);
        Ok(())
    }

    pub fn describe_api_destination(&self, name: &str) -> Result<ApiDestinationView, BusError> {
        let record = self
            .catalog()
            .api_destinations
            .get(name)
            .cloned()
            .ok_or_else(|| destination_not_found(name))?;
        Ok(self.destination_view(record))
    }

    pub fn list_api_destinations(
        &self,
        prefix: Option<&str>,
        connection_arn: Option<&str>,
        limit: Option<usize>,
        token: Option<&str>,
    ) -> Result<Page<ApiDestinationView>, BusError> {
        let items = self
            .catalog()
            .api_destinations
            .values()
            .filter(|d| prefix.is_none_or(|p| d.name.starts_with(p)))
            .filter(|d| connection_arn.is_none_or(|c| d.connection_arn == c))
            .cloned()
            .collect();
        let page = paginate(items, limit, token)?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|r| self.destination_view(r))
                .collect(),
            next_token: page.next_token,
        })
    }
}

/// Applies UpdateConnection's auth fields. Switching to another authorization type
/// needs that type's required fields.
fn merge_auth(
    current: &ConnectionAuth,
    input: &UpdateConnectionInput,
) -> Result<ConnectionAuth, BusError> {
    let wanted = input
        .authorization_type
        .as_deref()
        .or(if input.basic.is_some() {
            Some("BASIC")
        } else if input.api_key.is_some() {
            Some("API_KEY")
        } else if input.oauth.is_some() {
            Some("OAUTH_CLIENT_CREDENTIALS")
        } else {
            None
        })
        .unwrap_or(current.type_name());
    let missing = |field: &str| {
        BusError::validation(format!(
            "Parameter {field} is required when AuthorizationType is {wanted}."
        ))
    };
    Ok(match wanted {
        "BASIC" => {
            let (old_user, old_pass) = match current {
                ConnectionAuth::Basic { username, password } => {
                    (Some(username.clone()), Some(password.clone()))
                }
                _ => (None, None),
            };
            let (user, pass) = input.basic.clone().unwrap_or((None, None));
            ConnectionAuth::Basic {
                username: user
                    .or(old_user)
                    .ok_or_else(|| missing("AuthParameters.BasicAuthParameters.Username"))?,
                password: pass
                    .or(old_pass)
                    .ok_or_else(|| missing("AuthParameters.BasicAuthParameters.Password"))?,
            }
        }
        "API_KEY" => {
            let (old_name, old_value) = match current {
                ConnectionAuth::ApiKey { name, value } => (Some(name.clone()), Some(value.clone())),
                _ => (None, None),
            };
            let (name, value) = input.api_key.clone().unwrap_or((None, None));
            ConnectionAuth::ApiKey {
                name: name
                    .or(old_name)
                    .ok_or_else(|| missing("AuthParameters.ApiKeyAuthParameters.ApiKeyName"))?,
                value: value
                    .or(old_value)
                    .ok_or_else(|| missing("AuthParameters.ApiKeyAuthParameters.ApiKeyValue"))?,
            }
        }
        _ => {
            let old = match current {
                ConnectionAuth::OAuthClientCredentials {
                    client_id,
                    client_secret,
                    authorization_endpoint,
                    http_method,
                    oauth_http_parameters,
                } => Some((
                    client_id.clone(),
                    client_secret.clone(),
                    authorization_endpoint.clone(),
                    http_method.clone(),
                    oauth_http_parameters.clone(),
                )),
                _ => None,
            };
            let upd = input.oauth.as_ref();
            let pick = |new: Option<&String>, old: Option<&String>, field: &str| {
                new.or(old).cloned().ok_or_else(|| missing(field))
            };
            let o = old.as_ref();
            ConnectionAuth::OAuthClientCredentials {
                client_id: pick(
                    upd.and_then(|u| u.client_id.as_ref()),
                    o.map(|o| &o.0),
                    "AuthParameters.OAuthParameters.ClientParameters.ClientID",
                )?,
                client_secret: pick(
                    upd.and_then(|u| u.client_secret.as_ref()),
                    o.map(|o| &o.1),
                    "AuthParameters.OAuthParameters.ClientParameters.ClientSecret",
                )?,
                authorization_endpoint: pick(
                    upd.and_then(|u| u.authorization_endpoint.as_ref()),
                    o.map(|o| &o.2),
                    "AuthParameters.OAuthParameters.AuthorizationEndpoint",
                )?,
                http_method: pick(
                    upd.and_then(|u| u.http_method.as_ref()),
                    o.map(|o| &o.3),
                    "AuthParameters.OAuthParameters.HttpMethod",
                )?,
                oauth_http_parameters: upd
                    .and_then(|u| u.oauth_http_parameters.clone())
                    .or_else(|| o.and_then(|o| o.4.clone())),
            }
        }
    })
}
