//! Schedule expressions: `rate(…)`, `cron(…)` (AWS's six fields) and
//! Scheduler's one-time `at(…)`, with IANA time zones.
//!
//! Validation is Baton's own, to AWS's grammar (the message is always
//! `Parameter ScheduleExpression is not valid.`); the calendar search for the
//! next cron time is croner's, in Quartz weekday mode (1 = Sunday).
//! Pure: the instant to compute from is an argument.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
pub use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// A parsed schedule expression.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every `value` `unit`s.
    Rate {
        value: u32,
        unit: RateUnit,
    },
    Cron(Box<CronSchedule>),
    /// Once, at this wall-clock time in the schedule's time zone.
    At(NaiveDateTime),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// The six AWS fields.
    fields: [String; 6],
    cron: Cron,
}

impl CronSchedule {
    pub fn fields(&self) -> &[String; 6] {
        &self.fields
    }
}

/// `ValidationException` for a schedule expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ValidationException: {message}")]
pub struct ScheduleError {
    pub message: String,
}

impl ScheduleError {
    pub fn name(&self) -> &'static str {
        "ValidationException"
    }
    fn invalid() -> ScheduleError {
        ScheduleError {
            message: "Parameter ScheduleExpression is not valid.".to_owned(),
        }
    }
}

impl Schedule {
    /// Parses and validates an expression.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        if let Some(body) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
            return parse_rate(body).ok_or_else(ScheduleError::invalid);
        }
        if let Some(body) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
            return parse_cron(body)
                .map(|c| Schedule::Cron(Box::new(c)))
                .ok_or_else(ScheduleError::invalid);
        }
        if let Some(body) = expr.strip_prefix("at(").and_then(|s| s.strip_suffix(')')) {
            return NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S")
                .map(Schedule::At)
                .map_err(|_| ScheduleError::invalid());
        }
        Err(ScheduleError::invalid())
    }

    /// PutRule's check: schedules only run on the default bus.
    pub fn parse_for_rule(expr: &str, on_default_bus: bool) -> Result<Schedule, ScheduleError> {
        if !on_default_bus {
            return Err(ScheduleError {
                message: "ScheduleExpression is supported only on the default event bus."
                    .to_owned(),
            });
        }
        Schedule::parse(expr)
    }

    /// The first fire time strictly after `after`. For `rate` that is one
    /// period after `after` (pass the previous fire time, or the start).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate { value, unit } => {
                let minutes = i64::from(*value)
                    * match unit {
                        RateUnit::Minute => 1,
                        RateUnit::Hour => 60,
                        RateUnit::Day => 1440,
                    };
                after.checked_add_signed(Duration::try_minutes(minutes)?)
            }
            Schedule::Cron(c) => c
                .cron
                .find_next_occurrence(&after.with_timezone(&tz), false)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            Schedule::At(local) => {
                let when = match tz.from_local_datetime(local).earliest() {
                    Some(t) => t,
                    // In a daylight-saving gap: the wall clock jumps past it.
                    None => tz
                        .from_local_datetime(&local.checked_add_signed(Duration::hours(1))?)
                        .earliest()?,
                };
                let when = when.with_timezone(&Utc);
                (when > after).then_some(when)
            }
        }
    }

    /// Up to `count` successive fire times after `after`.
    pub fn next_times(&self, after: DateTime<Utc>, tz: Tz, count: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut t = after;
        while out.len() < count {
            match self.next_after(t, tz) {
                Some(n) if n > t => {
                    out.push(n);
                    t = n;
                }
                _ => break,
            }
        }
        out
    }
}

/// `10 minutes`: a positive integer, one space, and a unit that is singular
/// exactly when the value is 1.
fn parse_rate(body: &str) -> Option<Schedule> {
    let (num, unit) = body.split_once(' ')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u32 = num.parse().ok()?;
    if value == 0 {
        return None;
    }
    let (unit, plural) = match unit {
        "minute" => (RateUnit::Minute, false),
        "minutes" => (RateUnit::Minute, true),
        "hour" => (RateUnit::Hour, false),
        "hours" => (RateUnit::Hour, true),
        "day" => (RateUnit::Day, false),
        "days" => (RateUnit::Day, true),
        _ => return None,
    };
    if plural == (value == 1) {
        return None;
    }
    Some(Schedule::Rate { value, unit })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Field {
    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (1970, 2199),
        }
    }

    fn value(self, text: &str) -> Option<u32> {
        const MONTHS: [&str; 12] = [
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ];
        const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        let upper = text.to_ascii_uppercase();
        let named = match self {
            Field::Month => MONTHS.iter().position(|m| *m == upper),
            Field::DayOfWeek => DAYS.iter().position(|d| *d == upper),
            _ => None,
        };
        let v = match named {
            Some(i) => u32::try_from(i).ok()? + 1,
            None => {
                if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse().ok()?
            }
        };
        let (lo, hi) = self.bounds();
        (lo..=hi).contains(&v).then_some(v)
    }

    /// One comma-separated item: `*`, `v`, `a-b`, each optionally `/step`.
    fn item(self, item: &str) -> bool {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        if let Some(s) = step {
            let (lo, hi) = self.bounds();
            let ok = !s.is_empty()
                && s.len() <= 4
                && s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<u32>().is_ok_and(|n| n >= 1 && n <= hi - lo + 1);
            if !ok {
                return false;
            }
        }
        if base == "*" {
            return true;
        }
        match base.split_once('-') {
            Some((a, b)) => match (self.value(a), self.value(b)) {
                (Some(a), Some(b)) => a <= b,
                _ => false,
            },
            None => self.value(base).is_some(),
        }
    }

    fn check(self, text: &str) -> bool {
        if text == "?" {
            return matches!(self, Field::DayOfMonth | Field::DayOfWeek);
        }
        match self {
            Field::DayOfMonth => {
                if text == "L" || text == "LW" {
                    return true;
                }
                if let Some(day) = text.strip_suffix('W') {
                    return self.value(day).is_some();
                }
            }
            Field::DayOfWeek => {
                if text == "L" {
                    return true;
                }
                if let Some(day) = text.strip_suffix('L') {
                    return self.value(day).is_some();
                }
                if let Some((day, nth)) = text.split_once('#') {
                    return self.value(day).is_some() && matches!(nth, "1" | "2" | "3" | "4" | "5");
                }
            }
            _ => {}
        }
        !text.is_empty() && text.split(',').all(|item| self.item(item))
    }
}

fn parse_cron(body: &str) -> Option<CronSchedule> {
    let parts: Vec<&str> = body.split(' ').collect();
    if parts.len() != 6 {
        return None;
    }
    let kinds = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
        Field::Year,
    ];
    if !kinds.iter().zip(&parts).all(|(k, p)| k.check(p)) {
        return None;
    }
    // Exactly one of day-of-month and day-of-week is `?`.
    if (parts[2] == "?") == (parts[4] == "?") {
        return None;
    }
    let croner_text = format!("0 {}", parts.join(" "));
    let cron = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
        .parse(&croner_text)
        .ok()?;
    let fields = [0, 1, 2, 3, 4, 5].map(|i| parts[i].to_owned());
    Some(CronSchedule { fields, cron })
}

impl FromStr for Schedule {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str, tz: Tz, n: usize) -> Vec<String> {
        Schedule::parse(expr)
            .unwrap()
            .next_times(utc(after), tz, n)
            .iter()
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn rates() {
        assert_eq!(
            next("rate(5 minutes)", "2024-01-01T00:00:00Z", Tz::UTC, 2),
            ["2024-01-01T00:05:00+00:00", "2024-01-01T00:10:00+00:00"]
        );
        assert!(Schedule::parse("rate(1 minutes)").is_err());
        assert!(Schedule::parse("rate(10 day)").is_err());
    }

    #[test]
    fn cron_weekdays_last_and_nth() {
        // 18:00 Monday to Friday; 2024-01-05 is a Friday.
        assert_eq!(
            next(
                "cron(0 18 ? * MON-FRI *)",
                "2024-01-05T18:00:00Z",
                Tz::UTC,
                2
            ),
            ["2024-01-08T18:00:00+00:00", "2024-01-09T18:00:00+00:00"]
        );
        // Third Saturday of the month: January 2024 → the 20th.
        assert_eq!(
            next("cron(0 2 ? * SAT#3 *)", "2024-01-01T00:00:00Z", Tz::UTC, 1),
            ["2024-01-20T02:00:00+00:00"]
        );
        // Last Friday (6L) of each month, 2024: 26 January, 23 February.
        assert_eq!(
            next(
                "cron(15 10 ? * 6L 2024)",
                "2024-01-01T00:00:00Z",
                Tz::UTC,
                2
            ),
            ["2024-01-26T10:15:00+00:00", "2024-02-23T10:15:00+00:00"]
        );
        // Last day of the month.
        assert_eq!(
            next("cron(0 0 L * ? *)", "2024-02-01T00:00:00Z", Tz::UTC, 1),
            ["2024-02-29T00:00:00+00:00"]
        );
        // Nearest weekday to the 15th: 2024-06-15 is a Saturday → Friday the 14th.
        assert_eq!(
            next("cron(0 9 15W * ? *)", "2024-06-01T00:00:00Z", Tz::UTC, 1),
            ["2024-06-14T09:00:00+00:00"]
        );
        // A past year never fires.
        assert!(
            next(
                "cron(15 10 ? * 6L 2002-2005)",
                "2024-01-01T00:00:00Z",
                Tz::UTC,
                1
            )
            .is_empty()
        );
    }

    #[test]
    fn time_zones() {
        // 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            next("cron(0 9 * * ? *)", "2024-03-09T00:00:00Z", ny, 2),
            ["2024-03-09T14:00:00+00:00", "2024-03-10T13:00:00+00:00"]
        );
        assert_eq!(
            next("at(2024-07-01T09:00:00)", "2024-01-01T00:00:00Z", ny, 3),
            ["2024-07-01T13:00:00+00:00"]
        );
    }

    #[test]
    fn grammar() {
        for ok in [
            "cron(0/15 * * * ? *)",
            "cron(5,35 14 * * ? *)",
            "cron(0 8 1 * ? *)",
            "cron(* * ? * SAT#3 *)",
        ] {
            assert!(Schedule::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cron(0 1 * * * *)",
            "cron(0 1 ? * ? *)",
            "cron(71 8 1 * ? *)",
            "cron(0 8 1 * ? 1969)",
            "cron(0 8 32 * ? *)",
            "cron(0 8 ? * 8 *)",
            "cron(0 8 ? * MON#6 *)",
            "cron(0 8 1 * ?)",
            "cron(0  8 1 * ? *)",
            "at(2024-13-01T00:00:00)",
            "rate(10 MINUTES)",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
