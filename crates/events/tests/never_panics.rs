//! No text a user controls may panic the crate: templates, paths, schedule
//! expressions, PutEvents entries.
#![allow(clippy::unwrap_used)]

use baton_events::envelope::PutEventsEntry;
use baton_events::schedule::Tz;
use baton_events::{DeliveryContext, InputTransform, Schedule, validate_put_events_entry};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use serde_json::json;

fn ctx() -> DeliveryContext {
    DeliveryContext {
        rule_arn: "arn".into(),
        rule_name: "r".into(),
        ingestion_time: "t".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn templates(template in "[<>\"{}\\[\\]a-z.:, \\\\-]{0,60}", path in "[$.\\[\\]'*a-z0-9-]{0,12}") {
        let map = vec![("a".to_owned(), path.clone()), ("b-c".to_owned(), "$.detail".to_owned())];
        let event = json!({"detail": {"a": [1, {"b": "x\"y"}], "s": "t"}, "id": "1"});
        if let Ok(t) = InputTransform::parse("t", None, None, Some((&map, &template))) {
            let _ = t.apply(&event, &ctx());
        }
        if let Ok(t) = InputTransform::parse("t", None, Some(&path), None) {
            let _ = t.apply(&event, &ctx());
        }
        let _ = InputTransform::parse("t", Some(&template), None, None);
    }

    #[test]
    fn schedules(expr in "(rate|cron|at)\\([0-9a-zA-Z*?/,#LW -]{0,30}\\)", secs in 0i64..4_000_000_000) {
        if let Ok(s) = Schedule::parse(&expr) {
            let after = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let _ = s.next_times(after, Tz::UTC, 3);
            let _ = s.next_times(after, Tz::America__New_York, 3);
        }
    }

    #[test]
    fn schedules_any_text(expr in any::<String>()) {
        let _ = Schedule::parse(&expr);
    }

    #[test]
    fn put_events_entries(detail in any::<String>(), source in any::<Option<String>>()) {
        let _ = validate_put_events_entry(&PutEventsEntry {
            source,
            detail_type: Some("t".into()),
            detail: Some(detail),
            ..PutEventsEntry::default()
        });
    }
}
