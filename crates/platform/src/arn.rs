//! What every service's ARNs share. Each service builds and parses its own resource
//! ARNs (their validation messages differ per service); the region and account every
//! service defaults to are one pair, so that resources of a default server refer to each
//! other.

/// The region of every ARN unless `baton serve --region` says otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The account id of every ARN unless `baton serve --account` says otherwise.
pub const DEFAULT_ACCOUNT: &str = "123456789012";
