//! Python's `str()`, `repr()` and `ascii()` of values.

use std::fmt::Write as _;

use super::float::write_float_repr;
use super::printable::is_printable;
use crate::value::{Timestamp, Value};

/// Formats a value like Python's `str()`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        _ => {
            let mut out = String::new();
            write_str(&mut out, value);
            out
        }
    }
}

/// Formats a value like Python's `repr()`.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value, false);
    out
}

/// Formats a value like Python's `ascii()`: `repr()` with every non-ASCII
/// character escaped.
pub fn py_ascii(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value, true);
    out
}

/// Appends `str(value)` to `out`.
pub(super) fn write_str(out: &mut String, value: &Value) {
    match value {
        Value::Str(s) => out.push_str(s),
        // A top-level date prints in ISO form; only inside a container (or
        // through repr) does it show its constructor.
        Value::Timestamp(t) => write_timestamp_str(out, t),
        _ => write_repr(out, value, false),
    }
}

/// Appends `repr(value)`, or `ascii(value)` when `ascii_only` is set.
fn write_repr(out: &mut String, value: &Value, ascii_only: bool) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => write_float_repr(out, *f),
        Value::Str(s) => write_str_repr(out, s, ascii_only),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item, ascii_only);
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, key, ascii_only);
                out.push_str(": ");
                write_repr(out, item, ascii_only);
            }
            out.push('}');
        }
        Value::Timestamp(t) => write_timestamp_repr(out, t),
    }
}

/// Appends the quoted, escaped form Python's `repr()` gives a string.
pub(super) fn write_str_repr(out: &mut String, s: &str, ascii_only: bool) {
    // Python prefers single quotes, and switches to double quotes only
    // when that avoids escaping a single quote.
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.reserve(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ if is_printable(c) && (c.is_ascii() || !ascii_only) => out.push(c),
            _ => write_char_escape(out, c),
        }
    }
    out.push(quote);
}

/// `\xNN`, `\uNNNN` or `\UNNNNNNNN`, the shortest form that fits.
fn write_char_escape(out: &mut String, c: char) {
    let code = u32::from(c);
    let _ = if code < 0x100 {
        write!(out, "\\x{code:02x}")
    } else if code < 0x1_0000 {
        write!(out, "\\u{code:04x}")
    } else {
        write!(out, "\\U{code:08x}")
    };
}

/// `str()` of a date (`2001-12-14`) or datetime
/// (`2001-12-14 21:59:43.100000-05:00`).
pub(super) fn write_timestamp_str(out: &mut String, t: &Timestamp) {
    let _ = write!(out, "{:04}-{:02}-{:02}", t.year, t.month, t.day);
    let Some(time) = &t.time else {
        return;
    };

    let _ = write!(
        out,
        " {:02}:{:02}:{:02}",
        time.hour, time.minute, time.second
    );
    if time.microsecond != 0 {
        let _ = write!(out, ".{:06}", time.microsecond);
    }
    if let Some(offset) = time.utc_offset_minutes {
        write_utc_offset(out, offset, ":");
    }
}

/// `+HH:MM` (or `+HHMM` with an empty separator) for an offset in minutes.
pub(super) fn write_utc_offset(out: &mut String, minutes: i32, separator: &str) {
    let sign = if minutes < 0 { '-' } else { '+' };
    let magnitude = minutes.unsigned_abs();
    let _ = write!(
        out,
        "{sign}{:02}{separator}{:02}",
        magnitude / 60,
        magnitude % 60
    );
}

/// `repr()` of a date or datetime: `datetime.date(2001, 12, 14)` or
/// `datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=...)`.
fn write_timestamp_repr(out: &mut String, t: &Timestamp) {
    let Some(time) = &t.time else {
        let _ = write!(out, "datetime.date({}, {}, {})", t.year, t.month, t.day);
        return;
    };

    let _ = write!(
        out,
        "datetime.datetime({}, {}, {}, {}, {}",
        t.year, t.month, t.day, time.hour, time.minute
    );
    // Trailing zero fields are left out, but hour and minute always stay.
    if time.second != 0 || time.microsecond != 0 {
        let _ = write!(out, ", {}", time.second);
    }
    if time.microsecond != 0 {
        let _ = write!(out, ", {}", time.microsecond);
    }
    if let Some(offset) = time.utc_offset_minutes {
        out.push_str(", tzinfo=");
        write_timezone_repr(out, offset);
    }
    out.push(')');
}

/// `datetime.timezone.utc`, or a timezone built from a timedelta, which
/// Python normalises to whole days plus non-negative seconds.
fn write_timezone_repr(out: &mut String, minutes: i32) {
    if minutes == 0 {
        out.push_str("datetime.timezone.utc");
        return;
    }

    let seconds = i64::from(minutes) * 60;
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    out.push_str("datetime.timezone(datetime.timedelta(");
    if days != 0 {
        let _ = write!(out, "days={days}");
        if rest != 0 {
            out.push_str(", ");
        }
    }
    if rest != 0 {
        let _ = write!(out, "seconds={rest}");
    }
    out.push_str("))");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::value::TimeOfDay;

    fn date(year: i32, month: u32, day: u32) -> Value {
        Value::from(Timestamp {
            year,
            month,
            day,
            time: None,
        })
    }

    fn datetime(hms: (u32, u32, u32), microsecond: u32, offset: Option<i32>) -> Value {
        let time = TimeOfDay {
            hour: hms.0,
            minute: hms.1,
            second: hms.2,
            microsecond,
            utc_offset_minutes: offset,
        };
        Value::from(Timestamp {
            year: 2001,
            month: 12,
            day: 14,
            time: Some(time),
        })
    }

    #[test]
    fn str_of_scalars() {
        let cases = [
            (Value::Null, "None"),
            (Value::Bool(true), "True"),
            (Value::Bool(false), "False"),
            (Value::Int(-42), "-42"),
            (Value::Int(i64::MIN), "-9223372036854775808"),
            (Value::Float(7.0), "7.0"),
            (Value::Float(1e16), "1e+16"),
            (Value::from("it's"), "it's"),
        ];
        for (value, expected) in cases {
            assert_eq!(py_str(&value), expected);
        }
    }

    #[test]
    fn str_of_containers_uses_repr_inside() {
        // Expected strings from Python 3.11's str().
        let list = Value::List(vec![
            Value::from("a"),
            Value::Int(1),
            Value::Null,
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::from("it's"),
        ]);
        assert_eq!(py_str(&list), "['a', 1, None, -0.0, nan, \"it's\"]");

        let map = Value::Map(
            map! {"k" => "v", "n" => Value::Null, "e" => map! {}, "l" => Value::List(vec![])},
        );
        assert_eq!(py_str(&map), "{'k': 'v', 'n': None, 'e': {}, 'l': []}");
        assert_eq!(py_str(&Value::List(vec![])), "[]");
        assert_eq!(py_str(&Value::Map(map! {})), "{}");
    }

    #[test]
    fn repr_of_strings() {
        // Expected strings from Python 3.11's repr() and ascii().
        let cases = [
            ("abc", "'abc'", "'abc'"),
            ("a'b", "\"a'b\"", "\"a'b\""),
            ("both'\"", "'both\\'\"'", "'both\\'\"'"),
            ("\"", "'\"'", "'\"'"),
            ("\\\n\t\r", "'\\\\\\n\\t\\r'", "'\\\\\\n\\t\\r'"),
            (
                "\x00\x07\x1f\x7f",
                "'\\x00\\x07\\x1f\\x7f'",
                "'\\x00\\x07\\x1f\\x7f'",
            ),
            ("é😀", "'é😀'", "'\\xe9\\U0001f600'"),
            (
                "\u{80}\u{a0}\u{ad}",
                "'\\x80\\xa0\\xad'",
                "'\\x80\\xa0\\xad'",
            ),
            (
                "\u{2028}\u{200b}\u{378}",
                "'\\u2028\\u200b\\u0378'",
                "'\\u2028\\u200b\\u0378'",
            ),
            (
                "\u{e000}\u{e0001}",
                "'\\ue000\\U000e0001'",
                "'\\ue000\\U000e0001'",
            ),
            ("中", "'中'", "'\\u4e2d'"),
        ];
        for (s, repr, ascii) in cases {
            assert_eq!(py_repr(&Value::from(s)), repr, "{s:?}");
            assert_eq!(py_ascii(&Value::from(s)), ascii, "{s:?}");
        }
    }

    #[test]
    fn ascii_escapes_keys_too() {
        let map = Value::Map(map! {"é" => "\u{10ffff}\u{80}"});
        assert_eq!(py_ascii(&map), "{'\\xe9': '\\U0010ffff\\x80'}");
    }

    #[test]
    fn dates_and_datetimes() {
        // Expected strings from Python 3.11's str() and repr() of
        // datetime.date / datetime.datetime.
        let cases = [
            (
                date(2001, 12, 14),
                "2001-12-14",
                "datetime.date(2001, 12, 14)",
            ),
            (date(1, 1, 1), "0001-01-01", "datetime.date(1, 1, 1)"),
            (
                datetime((21, 59, 43), 100_000, Some(-300)),
                "2001-12-14 21:59:43.100000-05:00",
                "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, \
                 tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))",
            ),
            (
                datetime((21, 0, 0), 0, Some(0)),
                "2001-12-14 21:00:00+00:00",
                "datetime.datetime(2001, 12, 14, 21, 0, tzinfo=datetime.timezone.utc)",
            ),
            (
                datetime((21, 0, 5), 0, None),
                "2001-12-14 21:00:05",
                "datetime.datetime(2001, 12, 14, 21, 0, 5)",
            ),
            (
                datetime((0, 0, 0), 5, None),
                "2001-12-14 00:00:00.000005",
                "datetime.datetime(2001, 12, 14, 0, 0, 0, 5)",
            ),
            (
                datetime((21, 0, 5), 0, Some(330)),
                "2001-12-14 21:00:05+05:30",
                "datetime.datetime(2001, 12, 14, 21, 0, 5, \
                 tzinfo=datetime.timezone(datetime.timedelta(seconds=19800)))",
            ),
            (
                datetime((0, 0, 0), 0, Some(-30)),
                "2001-12-14 00:00:00-00:30",
                "datetime.datetime(2001, 12, 14, 0, 0, \
                 tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=84600)))",
            ),
        ];
        for (value, str_form, repr_form) in cases {
            assert_eq!(py_str(&value), str_form);
            assert_eq!(py_repr(&value), repr_form);
        }
    }

    #[test]
    fn dates_inside_containers_use_repr() {
        let list = Value::List(vec![date(2020, 1, 2)]);
        assert_eq!(py_str(&list), "[datetime.date(2020, 1, 2)]");
    }
}
