//! ISO-8601 extended offset date-times, exactly as strict as AWS's parser (Java's
//! `ISO_OFFSET_DATE_TIME`): `2016-03-14T01:59:00Z`, `2016-03-14T01:59Z`,
//! `2016-03-14T01:59:00.123456789+01:00`. A missing offset, a space instead of `T`, or an
//! out-of-range field is rejected — the Wait and Choice causes in the corpus depend on it.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone as _};

/// Parses `text`; `None` when it is not an ISO-8601 extended offset date-time.
pub fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    let mut cur = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let year = cur.digits(4)?;
    cur.expect(b'-')?;
    let month = cur.digits(2)?;
    cur.expect(b'-')?;
    let day = cur.digits(2)?;
    if !matches!(cur.next()?, b'T' | b't') {
        return None;
    }
    let hour = cur.digits(2)?;
    cur.expect(b':')?;
    let minute = cur.digits(2)?;
    let mut second = 0;
    let mut nanos = 0;
    if cur.peek() == Some(b':') {
        cur.pos += 1;
        second = cur.digits(2)?;
        if cur.peek() == Some(b'.') {
            cur.pos += 1;
            let start = cur.pos;
            while cur.peek().is_some_and(|b| b.is_ascii_digit()) {
                cur.pos += 1;
            }
            let len = cur.pos - start;
            if len == 0 || len > 9 {
                return None;
            }
            let fraction: u32 = text.get(start..cur.pos)?.parse().ok()?;
            nanos = fraction * 10u32.pow(9 - len as u32);
        }
    }
    let offset_seconds = match cur.next()? {
        b'Z' | b'z' => 0,
        sign @ (b'+' | b'-') => {
            let hours = cur.digits(2)?;
            cur.expect(b':')?;
            let minutes = cur.digits(2)?;
            let seconds = if cur.peek() == Some(b':') {
                cur.pos += 1;
                cur.digits(2)?
            } else {
                0
            };
            if hours > 18 || minutes > 59 || seconds > 59 {
                return None;
            }
            let total = (hours * 3600 + minutes * 60 + seconds) as i32;
            if total > 18 * 3600 {
                return None;
            }
            if sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    if cur.pos != cur.bytes.len() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let offset = FixedOffset::east_opt(offset_seconds)?;
    offset.from_local_datetime(&date.and_time(time)).single()
}

struct Cursor<'t> {
    bytes: &'t [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(
            slice
                .iter()
                .fold(0, |acc, b| acc * 10 + u32::from(b - b'0')),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_aws_forms() {
        for ok in [
            "2016-03-14T01:59:00Z",
            "2016-03-05T21:29:29.243167252Z",
            "2026-11-21T23:55:51.000000Z",
            "2026-11-21T23:55:51.00Z",
            "2012-10-09T19:00:55+01:00",
            "2012-10-09T19:00Z",
            "2012-10-09t19:00:55z",
        ] {
            assert!(parse(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_aws_rejects() {
        for bad in [
            "05-12-2016T21:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2016-12-05T25:29:29Z",
            "2016-13-05T21:29:29Z",
            "2026-11-21T23:55:51.000000",
            "2023-02-24",
            "2016-02-30T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "2016-12-05T21:29:29.1234567890Z",
            "2016-12-05T21:29:29+1:00",
            "2016-12-05T21:29:29+19:00",
            "",
            "2016-12-05T21:29:29Zx",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn compares_instants() {
        assert_eq!(
            parse("2012-10-09T19:00:55Z"),
            parse("2012-10-09T20:00:55+01:00")
        );
        assert!(parse("2012-10-09T19:00:56Z") > parse("2012-10-09T19:00:55Z"));
    }
}
