//! Relative datestamps: `{relative-datestamp: "1 year"}` in task
//! definitions, resolved to absolute times when a task is created.
//!
//! The reference reads only the first number and unit of the text (`"2 days
//! 3 hours"` is two days), takes the number as an integer (so `"1.5 days"`
//! is an error), and knows seconds, minutes, hours, days, months of 30
//! days and years of 365 days, each with a few spellings.

use std::sync::LazyLock;

use chrono::{DateTime, Duration, Utc};
use regex::Regex;

use crate::error::{Error, Result};

static PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"((?:\d+)?\.?\d+) *([a-z]+)").expect("a valid pattern"));

/// The length of time a relative datestamp names.
pub fn parse_relative(text: &str) -> Result<Duration> {
    let Some(captures) = PATTERN.captures(text) else {
        return Err(Error::transform(format!(
            "`{text}` is not a relative time such as `1 day` or `6 hours`"
        )));
    };
    let (number, unit) = (&captures[1], &captures[2]);
    let count: i64 = number.parse().map_err(|_| {
        Error::transform(format!(
            "`{text}`: the count of a relative time must be a whole number, not `{number}`"
        ))
    })?;
    let seconds_per_unit: i64 = match unit {
        "seconds" | "second" | "s" => 1,
        "minutes" | "minute" | "min" => 60,
        "hours" | "hour" | "h" => 3600,
        "days" | "day" | "d" => 86_400,
        "months" | "month" | "mo" => 30 * 86_400,
        "years" | "year" | "y" => 365 * 86_400,
        other => {
            return Err(Error::transform(format!(
                "`{text}`: `{other}` is not a unit of time; use seconds, minutes, hours, days, \
                 months or years (or s, min, h, d, mo, y)"
            )));
        }
    };
    count
        .checked_mul(seconds_per_unit)
        .and_then(Duration::try_seconds)
        .ok_or_else(|| Error::transform(format!("`{text}` is too far away")))
}

/// `now` plus the relative time `text`.
pub fn time_from_now(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let duration = parse_relative(text)?;
    now.checked_add_signed(duration)
        .ok_or_else(|| Error::transform(format!("`{text}` is too far away")))
}

/// A time as Taskcluster writes it: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn json_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `json_time(time_from_now(text, now))`, the reference's
/// `json_time_from_now`.
pub fn json_time_from_now(text: &str, now: DateTime<Utc>) -> Result<String> {
    time_from_now(text, now).map(json_time)
}

/// Reads a time Taskcluster wrote (`2026-12-04T01:02:03.456Z`).
pub fn parse_json_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::transform(format!("`{text}` is not a time: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_json_time(text).unwrap()
    }

    #[test]
    fn units_and_their_spellings() {
        let now = at("2026-01-01T00:00:00.000Z");
        assert_eq!(
            json_time_from_now("1 year", now).unwrap(),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            json_time_from_now("2mo", now).unwrap(),
            "2026-03-02T00:00:00.000Z"
        );
        assert_eq!(
            json_time_from_now("36 h", now).unwrap(),
            "2026-01-02T12:00:00.000Z"
        );
        assert_eq!(
            json_time_from_now("0 seconds", now).unwrap(),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(
            json_time_from_now("90 min", now).unwrap(),
            "2026-01-01T01:30:00.000Z"
        );
    }

    #[test]
    fn only_the_first_number_and_unit_count() {
        let now = at("2026-01-01T00:00:00.000Z");
        assert_eq!(
            json_time_from_now("2 days 3 hours", now).unwrap(),
            "2026-01-03T00:00:00.000Z"
        );
    }

    #[test]
    fn bad_relative_times_are_errors() {
        assert!(parse_relative("1.5 days").is_err(), "a count must be whole");
        assert!(parse_relative("3 fortnights").is_err());
        assert!(parse_relative("soon").is_err());
    }

    #[test]
    fn milliseconds_are_kept() {
        let time = at("2026-05-06T07:08:09.123Z");
        assert_eq!(json_time(time), "2026-05-06T07:08:09.123Z");
    }
}
