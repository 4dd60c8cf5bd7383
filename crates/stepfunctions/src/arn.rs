//! ARNs of state machines, executions and activities, and AWS's naming rules.

use crate::error::SfnError;

/// Where resources live: the region and account every ARN names.
#[derive(Debug, Clone)]
pub struct Scope {
    pub region: String,
    pub account: String,
}

impl Scope {
    fn prefix(&self) -> String {
        format!("arn:aws:states:{}:{}", self.region, self.account)
    }

    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("{}:stateMachine:{name}", self.prefix())
    }

    pub fn activity_arn(&self, name: &str) -> String {
        format!("{}:activity:{name}", self.prefix())
    }

    pub fn execution_arn(&self, machine: &str, name: &str) -> String {
        format!("{}:execution:{machine}:{name}", self.prefix())
    }

    /// Express executions carry an id after their name, as AWS's do.
    pub fn express_execution_arn(&self, machine: &str, name: &str, id: &str) -> String {
        format!("{}:express:{machine}:{name}:{id}", self.prefix())
    }
}

/// The kinds of Step Functions ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnKind {
    StateMachine,
    Execution,
    ExpressExecution,
    Activity,
}

impl ArnKind {
    fn segment(self) -> &'static str {
        match self {
            ArnKind::StateMachine => "stateMachine",
            ArnKind::Execution => "execution",
            ArnKind::ExpressExecution => "express",
            ArnKind::Activity => "activity",
        }
    }
}

/// A parsed Step Functions ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArn<'a> {
    pub kind: ArnKind,
    pub region: &'a str,
    pub account: &'a str,
    /// The state machine or activity name; for executions, the machine's name.
    pub name: &'a str,
    /// An execution's own name.
    pub execution: Option<&'a str>,
}

/// Parses `arn`, requiring one of `allowed` kinds; errors are AWS's `InvalidArn`.
pub fn parse<'a>(arn: &'a str, allowed: &[ArnKind]) -> Result<ParsedArn<'a>, SfnError> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" || parts[1].is_empty() {
        return Err(SfnError::invalid_arn(
            arn,
            &format!("Invalid ARN prefix: {arn}"),
        ));
    }
    let kind = match parts[5] {
        "stateMachine" => ArnKind::StateMachine,
        "execution" => ArnKind::Execution,
        "express" => ArnKind::ExpressExecution,
        "activity" => ArnKind::Activity,
        other => {
            return Err(SfnError::invalid_arn(
                arn,
                &format!("Resource type not valid in this context: {other}"),
            ));
        }
    };
    if !allowed.contains(&kind) {
        return Err(SfnError::invalid_arn(
            arn,
            &format!(
                "Resource type not valid in this context: {}",
                kind.segment()
            ),
        ));
    }
    let expected_parts = match kind {
        ArnKind::StateMachine | ArnKind::Activity => 7,
        ArnKind::Execution => 8,
        ArnKind::ExpressExecution => 9,
    };
    // A qualified state machine ARN (version or alias) has one more part.
    if parts.len() != expected_parts || parts[6].is_empty() {
        return Err(SfnError::invalid_arn(arn, &format!("Invalid ARN: {arn}")));
    }
    Ok(ParsedArn {
        kind,
        region: parts[3],
        account: parts[4],
        name: parts[6],
        execution: match kind {
            ArnKind::Execution | ArnKind::ExpressExecution => Some(parts[7]),
            _ => None,
        },
    })
}

/// AWS's rule for state machine, execution and activity names: 1 to 80 characters, no
/// whitespace, brackets, wildcards, the characters ``"#%\^|~`$&,;:/`` or control
/// characters.
pub fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=80).contains(&len)
        && name.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '<' | '>'
                        | '{'
                        | '}'
                        | '['
                        | ']'
                        | '?'
                        | '*'
                        | '"'
                        | '#'
                        | '%'
                        | '\\'
                        | '^'
                        | '|'
                        | '~'
                        | '`'
                        | '$'
                        | '&'
                        | ','
                        | ';'
                        | ':'
                        | '/'
                )
                && !('\u{7f}'..='\u{9f}').contains(&c)
        })
}

pub fn check_name(name: &str) -> Result<(), SfnError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(SfnError::invalid_name(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_refuses_the_wrong_one() {
        let a = "arn:aws:states:us-east-1:123456789012:execution:m:e1";
        let p = parse(a, &[ArnKind::Execution]).map_err(|e| e.message);
        assert_eq!(
            p,
            Ok(ParsedArn {
                kind: ArnKind::Execution,
                region: "us-east-1",
                account: "123456789012",
                name: "m",
                execution: Some("e1"),
            })
        );
        let e = parse(a, &[ArnKind::StateMachine]).map_err(|e| (e.code, e.message));
        assert_eq!(
            e,
            Err((
                "InvalidArn",
                "Invalid Arn: 'Resource type not valid in this context: execution'".into()
            ))
        );
        let e = parse("nope", &[ArnKind::StateMachine]).map_err(|e| e.message);
        assert_eq!(e, Err("Invalid Arn: 'Invalid ARN prefix: nope'".into()));
        assert!(
            parse(
                "arn:aws:states:r:a:stateMachine:m:v1",
                &[ArnKind::StateMachine]
            )
            .is_err()
        );
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(valid_name("order-flow_1.v2"));
        assert!(valid_name("ünïcode"));
        for bad in ["", "a b", "a/b", "a:b", "a*", "x\u{1}", &"n".repeat(81)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
