//! Python's text for the scalars YAML produces: `repr(float)`, `str()` of
//! dates and datetimes, and `str()` of a non-string mapping key.

use crate::value::{Timestamp, Value};

/// `repr(x)` for a Python float: the shortest digits that read back as
/// `x`, in positional notation when the decimal exponent is in -4..16 and
/// in scientific notation (`1e+16`, `1.5e-05`) otherwise.
pub(super) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }

    // Rust's `{:e}` prints the same shortest round-trip digits as Python's
    // repr, as `d.ddde<exp>`; only the layout differs.
    let scientific = format!("{:e}", x.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if x < 0.0 { "-" } else { "" };

    // Python's threshold is on the position of the decimal point.
    let point = exponent + 1;
    if (-3..=16).contains(&point) {
        format!("{sign}{}", positional(&digits, point))
    } else {
        format!("{sign}{}", exponential(&digits, exponent))
    }
}

fn positional(digits: &str, point: i32) -> String {
    let len = digits.len() as i32;
    if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= len {
        format!("{digits}{}.0", "0".repeat((point - len) as usize))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    }
}

fn exponential(digits: &str, exponent: i32) -> String {
    let (first, rest) = digits.split_at(1.min(digits.len()));
    let dot = if rest.is_empty() { "" } else { "." };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{first}{dot}{rest}e{sign}{:02}", exponent.unsigned_abs())
}

/// `str()` of a `date` or `datetime` (the same as `isoformat(' ')`).
pub(super) fn timestamp_str(t: &Timestamp) -> String {
    let date = format!("{:04}-{:02}-{:02}", t.year, t.month, t.day);
    let Some(time) = &t.time else {
        return date;
    };

    let mut text = format!(
        "{date} {:02}:{:02}:{:02}",
        time.hour, time.minute, time.second
    );
    if time.microsecond != 0 {
        text.push_str(&format!(".{:06}", time.microsecond));
    }
    if let Some(offset) = time.utc_offset_minutes {
        let sign = if offset < 0 { '-' } else { '+' };
        let offset = offset.unsigned_abs();
        text.push_str(&format!("{sign}{:02}:{:02}", offset / 60, offset % 60));
    }
    text
}

/// The string a scalar mapping key becomes: the key itself for a string,
/// Python's `str()` for anything else. `None` for a collection, which
/// cannot be a key.
pub(super) fn key_str(key: &Value) -> Option<String> {
    Some(match key {
        Value::Str(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_repr(*f),
        Value::Timestamp(t) => timestamp_str(t),
        Value::List(_) | Value::Map(_) => return None,
    })
}
