//! YAML 1.1 typing: which tag a plain scalar gets, and how the text of a
//! scalar becomes an int, float, bool or timestamp.
//!
//! The patterns mirror the implicit resolvers PyYAML registers, tried in
//! the same order and chosen by the first character of the text. Python's
//! `re.match(r'^...$')` also accepts one trailing newline before the end;
//! plain scalars never end with one, but a quoted scalar under the
//! non-specific `!` tag can, so [`resolve_plain`] honours that too.

use std::sync::LazyLock;

use regex::Regex;

use crate::value::{TimeOfDay, Timestamp};

/// The tags this loader knows how to construct, plus any other tag by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Tag {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Timestamp,
    /// `<<`: merges mappings into the mapping it is a key of.
    Merge,
    /// `=`: only meaningful as a mapping key; a value with it is an error.
    Value,
    Seq,
    Map,
    /// Any other tag, spelled out in full (`!foo`, `tag:yaml.org,2002:binary`).
    Other(String),
}

/// The prefix `!!` expands to.
pub(super) const CORE_PREFIX: &str = "tag:yaml.org,2002:";

impl Tag {
    /// Maps a fully spelled-out tag to the ones we construct.
    pub(super) fn from_full(full: &str) -> Tag {
        let Some(short) = full.strip_prefix(CORE_PREFIX) else {
            return Tag::Other(full.to_owned());
        };
        match short {
            "null" => Tag::Null,
            "bool" => Tag::Bool,
            "int" => Tag::Int,
            "float" => Tag::Float,
            "str" => Tag::Str,
            "timestamp" => Tag::Timestamp,
            "merge" => Tag::Merge,
            "value" => Tag::Value,
            "seq" => Tag::Seq,
            "map" => Tag::Map,
            _ => Tag::Other(full.to_owned()),
        }
    }

    /// The full tag name, for error messages.
    pub(super) fn full_name(&self) -> String {
        let short = match self {
            Tag::Null => "null",
            Tag::Bool => "bool",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Str => "str",
            Tag::Timestamp => "timestamp",
            Tag::Merge => "merge",
            Tag::Value => "value",
            Tag::Seq => "seq",
            Tag::Map => "map",
            Tag::Other(full) => return full.clone(),
        };
        format!("{CORE_PREFIX}{short}")
    }
}

struct Patterns {
    float: Regex,
    int: Regex,
    timestamp: Regex,
    /// The constructor's pattern, with a group per field.
    timestamp_parts: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns {
    float: compile(concat!(
        r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?",
        r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
        r"|[-+]?\.(?:inf|Inf|INF)",
        r"|\.(?:nan|NaN|NAN)",
    )),
    int: compile(concat!(
        r"[-+]?0b[01_]+",
        r"|[-+]?0[0-7_]+",
        r"|[-+]?(?:0|[1-9][0-9_]*)",
        r"|[-+]?0x[0-9a-fA-F_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
    )),
    timestamp: compile(concat!(
        r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
        r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
        r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
    )),
    timestamp_parts: compile(concat!(
        r"(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)",
        r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])",
        r"(?:\.(?P<fraction>[0-9]*))?",
        r"(?:[ \t]*(?P<tz>Z|(?P<sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?",
    )),
});

/// Anchors a pattern at both ends of the text.
fn compile(alternatives: &str) -> Regex {
    // The patterns are constants, so a failure here is a bug caught by
    // every test that loads YAML.
    Regex::new(&format!(r"\A(?:{alternatives})\z")).expect("built-in YAML pattern is valid")
}

/// Whether `pattern` matches the whole text, Python-`$` style.
fn full_match(pattern: &Regex, text: &str) -> bool {
    pattern.is_match(text) || text.strip_suffix('\n').is_some_and(|t| pattern.is_match(t))
}

/// Like [`full_match`], for the two fixed-string resolvers.
fn is_one_of(text: &str, words: &[&str]) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    words.contains(&text)
}

const BOOL_WORDS: &[&str] = &[
    "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

const NULL_WORDS: &[&str] = &["~", "null", "Null", "NULL"];

/// The tag a plain (untagged, unquoted) scalar resolves to.
pub(super) fn resolve_plain(text: &str) -> Tag {
    let Some(first) = text.chars().next() else {
        return Tag::Null;
    };

    let patterns = &*PATTERNS;
    match first {
        'y' | 'Y' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' if is_one_of(text, BOOL_WORDS) => Tag::Bool,
        'n' | 'N' if is_one_of(text, BOOL_WORDS) => Tag::Bool,
        'n' | 'N' | '~' if is_one_of(text, NULL_WORDS) => Tag::Null,
        '-' | '+' | '.' | '0'..='9' if full_match(&patterns.float, text) => Tag::Float,
        '-' | '+' | '0'..='9' if full_match(&patterns.int, text) => Tag::Int,
        '0'..='9' if full_match(&patterns.timestamp, text) => Tag::Timestamp,
        '<' if is_one_of(text, &["<<"]) => Tag::Merge,
        '=' if is_one_of(text, &["="]) => Tag::Value,
        _ => Tag::Str,
    }
}

/// `bool` from its text, as `SafeConstructor` looks it up.
pub(super) fn construct_bool(text: &str) -> Result<bool, String> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err(format!("cannot read {text:?} as a bool")),
    }
}

/// Splits off a leading sign the way the int and float constructors do:
/// only the very first character counts.
fn split_sign(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    }
}

/// `int` from its text: underscores dropped, then binary, hex, octal
/// (leading `0`), base 60 (`1:30`) or decimal.
pub(super) fn construct_int(text: &str) -> Result<i64, String> {
    let cleaned = text.replace('_', "");
    if cleaned.is_empty() {
        return Err("cannot read an empty string as an int".to_owned());
    }

    let (negative, digits) = split_sign(&cleaned);
    let magnitude = if digits == "0" {
        Ok(0)
    } else if let Some(bits) = digits.strip_prefix("0b") {
        py_int(bits, 2)
    } else if let Some(hex) = digits.strip_prefix("0x") {
        py_int(hex, 16)
    } else if digits.starts_with('0') {
        py_int(digits, 8)
    } else if digits.contains(':') {
        sexagesimal_int(digits)
    } else {
        py_int(digits, 10)
    };

    let magnitude = magnitude.map_err(|e| e.message(text))?;
    let signed = if negative {
        magnitude.checked_neg()
    } else {
        Some(magnitude)
    };
    signed
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| IntError::TooBig.message(text))
}

enum IntError {
    Invalid,
    TooBig,
}

impl IntError {
    fn message(&self, text: &str) -> String {
        match self {
            IntError::Invalid => format!("cannot read {text:?} as an int"),
            IntError::TooBig => {
                format!("the integer {text:?} does not fit in 64 bits, which this loader requires")
            }
        }
    }
}

/// Python's `int(text, base)` for ASCII digits: surrounding whitespace,
/// one sign and (for bases 2, 8 and 16) the matching `0b`/`0o`/`0x` prefix
/// are allowed.
fn py_int(text: &str, base: u32) -> Result<i128, IntError> {
    let trimmed = text.trim_matches(is_py_space);
    let (negative, rest) = split_sign(trimmed);
    let prefix = match base {
        2 => Some("0b"),
        8 => Some("0o"),
        16 => Some("0x"),
        _ => None,
    };
    let digits = prefix
        .and_then(|p| {
            rest.get(..2)
                .filter(|head| head.eq_ignore_ascii_case(p))
                .map(|_| &rest[2..])
        })
        .unwrap_or(rest);
    if digits.is_empty() {
        return Err(IntError::Invalid);
    }

    let mut value: i128 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(base).ok_or(IntError::Invalid)?;
        value = value
            .checked_mul(i128::from(base))
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or(IntError::TooBig)?;
    }
    Ok(if negative { -value } else { value })
}

/// `1:30:00` style integers: each part is a decimal `int()`.
fn sexagesimal_int(text: &str) -> Result<i128, IntError> {
    let mut value: i128 = 0;
    let mut base: i128 = 1;
    for part in text.rsplit(':') {
        let digit = py_int(part, 10)?;
        value = digit
            .checked_mul(base)
            .and_then(|d| value.checked_add(d))
            .ok_or(IntError::TooBig)?;
        base = base.checked_mul(60).ok_or(IntError::TooBig)?;
    }
    Ok(value)
}

/// `float` from its text: underscores dropped, lower-cased, then `.inf`,
/// `.nan`, base 60 (`1:30.5`) or Python's `float()`.
pub(super) fn construct_float(text: &str) -> Result<f64, String> {
    let cleaned = text.replace('_', "").to_lowercase();
    if cleaned.is_empty() {
        return Err("cannot read an empty string as a float".to_owned());
    }

    let (negative, rest) = split_sign(&cleaned);
    let sign = if negative { -1.0 } else { 1.0 };
    let invalid = || format!("cannot read {text:?} as a float");
    if rest == ".inf" {
        Ok(sign * f64::INFINITY)
    } else if rest == ".nan" {
        Ok(f64::NAN)
    } else if rest.contains(':') {
        // Summed from the last part up, like the reference, so rounding
        // matches.
        let mut value = 0.0;
        let mut base = 1.0;
        for part in rest.rsplit(':') {
            value += py_float(part).ok_or_else(invalid)? * base;
            base *= 60.0;
        }
        Ok(sign * value)
    } else {
        py_float(rest).map(|v| sign * v).ok_or_else(invalid)
    }
}

/// Python's `float(text)` for ASCII text. Rust's grammar for decimal,
/// `inf`, `infinity` and `nan` is the same once whitespace is trimmed, and
/// both round correctly.
fn py_float(text: &str) -> Option<f64> {
    let trimmed = text.trim_matches(is_py_space);
    let plausible = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !plausible {
        return None;
    }
    trimmed.parse().ok()
}

/// `str.isspace()` for the characters `str.strip()` removes.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A date or datetime from its text, validated like Python's `datetime`.
pub(super) fn construct_timestamp(text: &str) -> Result<Timestamp, String> {
    let parts = &PATTERNS.timestamp_parts;
    let caps = parts
        .captures(text)
        .or_else(|| text.strip_suffix('\n').and_then(|t| parts.captures(t)))
        .ok_or_else(|| format!("cannot read {text:?} as a timestamp"))?;
    let number = |name: &str| -> u32 {
        // The pattern only lets ASCII digits into these groups, at most
        // four of them.
        caps.name(name)
            .and_then(|m| m.as_str().parse().ok())
            .unwrap_or(0)
    };

    let year = number("year");
    let month = number("month");
    let day = number("day");
    check_date(year, month, day)?;
    let date = |time| Timestamp {
        year: year as i32,
        month,
        day,
        time,
    };
    if caps.name("hour").is_none() {
        return Ok(date(None));
    }

    let utc_offset_minutes = match caps.name("tz").map(|m| m.as_str()) {
        None => None,
        Some("Z") => Some(0),
        Some(_) => Some(utc_offset(number("tz_hour"), number("tz_minute"), &caps)?),
    };
    let time = TimeOfDay {
        hour: number("hour"),
        minute: number("minute"),
        second: number("second"),
        microsecond: microseconds(caps.name("fraction").map_or("", |m| m.as_str())),
        utc_offset_minutes,
    };
    check_time(&time)?;
    Ok(date(Some(time)))
}

/// Fraction digits as microseconds: cut or zero-padded to six digits.
fn microseconds(fraction: &str) -> u32 {
    let six: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    six.parse().unwrap_or(0)
}

fn utc_offset(hours: u32, minutes: u32, caps: &regex::Captures<'_>) -> Result<i32, String> {
    let total = i32::try_from(hours * 60 + minutes).unwrap_or(i32::MAX);
    if total >= 24 * 60 {
        return Err(
            "the UTC offset must be strictly between -24 and 24 hours in a timestamp".to_owned(),
        );
    }
    let negative = caps.name("sign").is_some_and(|m| m.as_str() == "-");
    Ok(if negative { -total } else { total })
}

fn check_date(year: u32, month: u32, day: u32) -> Result<(), String> {
    if !(1..=9999).contains(&year) {
        return Err(format!("year {year} is out of range"));
    }
    if !(1..=12).contains(&month) {
        return Err("month must be in 1..12".to_owned());
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err("day is out of range for month".to_owned());
    }
    Ok(())
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn check_time(time: &TimeOfDay) -> Result<(), String> {
    if time.hour > 23 {
        return Err("hour must be in 0..23".to_owned());
    }
    if time.minute > 59 {
        return Err("minute must be in 0..59".to_owned());
    }
    if time.second > 59 {
        return Err("second must be in 0..59".to_owned());
    }
    Ok(())
}
