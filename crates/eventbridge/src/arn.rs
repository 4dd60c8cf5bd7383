//! EventBridge ARNs: built from the configured region and account, and read back from
//! requests (which may name a bus by name or by ARN).

/// ARN builder for one region and account.
#[derive(Debug, Clone)]
pub struct Arns {
    region: String,
    account: String,
}

/// What kind of resource a target ARN names. New target kinds join here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    StateMachine,
    /// An event bus of this region and account, by name.
    EventBus(String),
    /// An API destination of this region and account, by name.
    ApiDestination(String),
    /// An SQS queue (the target ARN names it).
    Queue,
    /// A service Baton does not invoke (yet): its ARN service part.
    Unsupported(String),
}

impl Arns {
    pub fn new(region: &str, account: &str) -> Arns {
        Arns {
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    fn prefix(&self) -> String {
        format!("arn:aws:events:{}:{}:", self.region, self.account)
    }

    pub fn bus(&self, name: &str) -> String {
        format!("{}event-bus/{name}", self.prefix())
    }

    /// Rules on the default bus have no bus segment.
    pub fn rule(&self, bus: &str, name: &str) -> String {
        if bus == "default" {
            format!("{}rule/{name}", self.prefix())
        } else {
            format!("{}rule/{bus}/{name}", self.prefix())
        }
    }

    pub fn archive(&self, name: &str) -> String {
        format!("{}archive/{name}", self.prefix())
    }

    pub fn replay(&self, name: &str) -> String {
        format!("{}replay/{name}", self.prefix())
    }

    pub fn connection(&self, name: &str, uuid: &str) -> String {
        format!("{}connection/{name}/{uuid}", self.prefix())
    }

    pub fn api_destination(&self, name: &str, uuid: &str) -> String {
        format!("{}api-destination/{name}/{uuid}", self.prefix())
    }

    pub fn connection_secret(&self, name: &str, uuid: &str) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:events!connection/{name}/{uuid}",
            self.region, self.account
        )
    }

    /// The resource part (`event-bus/x`) of an EventBridge ARN of this region and
    /// account; `None` for any other ARN.
    fn own_resource<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let rest = arn.strip_prefix("arn:")?;
        let (_partition, rest) = rest.split_once(':')?;
        let rest = rest.strip_prefix("events:")?;
        let (region, rest) = rest.split_once(':')?;
        let (account, resource) = rest.split_once(':')?;
        (region == self.region && account == self.account).then_some(resource)
    }

    /// A bus given by name or ARN → its name. An ARN of another account or region, or
    /// not a bus ARN, gives `Err` with the text to name in a not-found message.
    pub fn bus_name<'a>(&self, name_or_arn: &'a str) -> Result<&'a str, &'a str> {
        if !name_or_arn.starts_with("arn:") {
            return Ok(name_or_arn);
        }
        match self
            .own_resource(name_or_arn)
            .and_then(|r| r.strip_prefix("event-bus/"))
        {
            Some(name) if !name.is_empty() => Ok(name),
            _ => Err(name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)),
        }
    }

    /// An archive ARN of this account → the archive name.
    pub fn archive_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        self.own_resource(arn)?
            .strip_prefix("archive/")
            .filter(|n| !n.is_empty())
    }

    /// A connection ARN of this account → the connection name.
    pub fn connection_name<'a>(&self, arn: &'a str) -> Option<&'a str> {
        let rest = self.own_resource(arn)?.strip_prefix("connection/")?;
        rest.split('/').next().filter(|n| !n.is_empty())
    }

    /// What a target ARN names.
    pub fn target_kind(&self, arn: &str) -> TargetKind {
        let service = arn.split(':').nth(2).unwrap_or("").to_owned();
        if service == "states" && arn.split(':').nth(5) == Some("stateMachine") {
            return TargetKind::StateMachine;
        }
        if service == "sqs" {
            return TargetKind::Queue;
        }
        if let Some(resource) = self.own_resource(arn) {
            if let Some(bus) = resource.strip_prefix("event-bus/") {
                return TargetKind::EventBus(bus.to_owned());
            }
            if let Some(rest) = resource.strip_prefix("api-destination/")
                && let Some(name) = rest.split('/').next()
            {
                return TargetKind::ApiDestination(name.to_owned());
            }
        }
        TargetKind::Unsupported(service)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_round_trip() {
        let a = Arns::new("us-east-1", "123456789012");
        assert_eq!(
            a.rule("default", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/r"
        );
        assert_eq!(
            a.rule("b", "r"),
            "arn:aws:events:us-east-1:123456789012:rule/b/r"
        );
        assert_eq!(a.bus_name(&a.bus("x")), Ok("x"));
        assert_eq!(a.bus_name("x"), Ok("x"));
        assert_eq!(
            a.bus_name("arn:aws:events:eu-west-1:123456789012:event-bus/x"),
            Err("x")
        );
        assert_eq!(a.archive_name(&a.archive("ar")), Some("ar"));
        assert_eq!(a.connection_name(&a.connection("c", "u")), Some("c"));
        assert_eq!(
            a.target_kind("arn:aws:states:us-east-1:123456789012:stateMachine:m"),
            TargetKind::StateMachine
        );
        assert_eq!(
            a.target_kind(&a.api_destination("d", "u")),
            TargetKind::ApiDestination("d".into())
        );
        assert_eq!(
            a.target_kind("arn:aws:sqs:us-east-1:123456789012:q"),
            TargetKind::Queue
        );
    }
}
