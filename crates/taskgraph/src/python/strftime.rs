//! `date.strftime` / `datetime.strftime`, which Python's `format()` uses
//! for a date with a non-empty spec (`'{d:%Y-%m}'.format(d=...)`).
//!
//! Python handles `%f`, `%z` and `%Z` itself and hands the rest to the C
//! library; this follows glibc in the C locale, which is what the
//! reference runs on. Directives glibc does not know are copied as they
//! are, as glibc does.

use std::fmt::Write as _;

use super::repr::write_utc_offset;
use crate::value::Timestamp;

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The calendar fields of a timestamp, derived once.
struct Fields<'a> {
    t: &'a Timestamp,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Monday.
    weekday: u32,
    /// 1-based day of the year.
    yday: u32,
}

/// Appends `t.strftime(pattern)` to `out`.
pub(super) fn strftime(out: &mut String, t: &Timestamp, pattern: &str) {
    let (hour, minute, second) = t
        .time
        .as_ref()
        .map_or((0, 0, 0), |time| (time.hour, time.minute, time.second));
    let fields = Fields {
        t,
        hour,
        minute,
        second,
        weekday: weekday(t),
        yday: day_of_year(t),
    };

    let mut rest = pattern;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        rest = write_directive(out, &fields, &rest[start..]);
    }
    out.push_str(rest);
}

/// Writes the directive at the start of `text` (which begins with `%`) and
/// returns what follows it.
fn write_directive<'p>(out: &mut String, f: &Fields<'_>, text: &'p str) -> &'p str {
    let after_percent = &text[1..];
    let flag = after_percent
        .chars()
        .next()
        .filter(|c| matches!(c, '-' | '_' | '0'));
    let body = &after_percent[flag.map_or(0, char::len_utf8)..];
    let width_len = body.bytes().take_while(u8::is_ascii_digit).count();
    let width = body[..width_len].parse::<usize>().ok();
    let Some(conversion) = body[width_len..].chars().next() else {
        // A lone `%` (or `%-` ...) at the end is kept as is.
        out.push_str(text);
        return "";
    };
    let consumed = 1 + flag.map_or(0, char::len_utf8) + width_len + conversion.len_utf8();
    let directive = &text[..consumed];

    let plain = flag.is_none() && width.is_none();
    if !write_conversion(out, f, conversion, flag, width, plain) {
        out.push_str(directive);
    }
    &text[consumed..]
}

/// Writes one conversion; false when it is not one glibc knows.
fn write_conversion(
    out: &mut String,
    f: &Fields<'_>,
    conversion: char,
    flag: Option<char>,
    width: Option<usize>,
    plain: bool,
) -> bool {
    let t = f.t;
    let number = |out: &mut String, value: i64, default_width: usize, default_pad: char| {
        let (width, pad) = match (flag, width) {
            // glibc: `-` drops the default padding, but an explicit width
            // still pads, with spaces.
            (Some('-'), Some(width)) => (width, ' '),
            (Some('-'), None) => (0, default_pad),
            (Some('_'), width) => (width.unwrap_or(default_width), ' '),
            (Some(_), width) => (width.unwrap_or(default_width), '0'),
            (None, width) => (width.unwrap_or(default_width), default_pad),
        };
        write_number(out, value, width, pad);
    };
    match conversion {
        'Y' => number(out, i64::from(t.year), 1, '0'),
        'C' => number(out, i64::from(t.year.div_euclid(100)), 1, '0'),
        'y' => number(out, i64::from(t.year.rem_euclid(100)), 2, '0'),
        'G' => number(out, i64::from(iso_week(f).0), 1, '0'),
        'g' => number(out, i64::from(iso_week(f).0.rem_euclid(100)), 2, '0'),
        'V' => number(out, i64::from(iso_week(f).1), 2, '0'),
        'U' => number(
            out,
            i64::from((f.yday + 6 - (f.weekday + 1) % 7) / 7),
            2,
            '0',
        ),
        'W' => number(out, i64::from((f.yday + 6 - f.weekday) / 7), 2, '0'),
        'm' => number(out, i64::from(t.month), 2, '0'),
        'd' => number(out, i64::from(t.day), 2, '0'),
        'e' => number(out, i64::from(t.day), 2, ' '),
        'j' => number(out, i64::from(f.yday), 3, '0'),
        'H' => number(out, i64::from(f.hour), 2, '0'),
        'k' => number(out, i64::from(f.hour), 2, ' '),
        'I' => number(out, i64::from(twelve_hour(f.hour)), 2, '0'),
        'l' => number(out, i64::from(twelve_hour(f.hour)), 2, ' '),
        'M' => number(out, i64::from(f.minute), 2, '0'),
        'S' => number(out, i64::from(f.second), 2, '0'),
        'u' => number(out, i64::from(f.weekday + 1), 1, '0'),
        'w' => number(out, i64::from((f.weekday + 1) % 7), 1, '0'),
        _ if !plain => return false,
        _ => return write_text_conversion(out, f, conversion),
    }
    true
}

/// Conversions that take no flags: names, composites and Python's own.
fn write_text_conversion(out: &mut String, f: &Fields<'_>, conversion: char) -> bool {
    let t = f.t;
    let month_name = MONTHS
        .get(t.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?");
    let day_name = DAYS[f.weekday as usize % 7];
    match conversion {
        'a' => out.push_str(&day_name[..3]),
        'A' => out.push_str(day_name),
        'b' | 'h' => out.push_str(month_name.get(..3).unwrap_or(month_name)),
        'B' => out.push_str(month_name),
        'p' => out.push_str(if f.hour < 12 { "AM" } else { "PM" }),
        'P' => out.push_str(if f.hour < 12 { "am" } else { "pm" }),
        'c' => strftime(out, t, "%a %b %e %H:%M:%S %Y"),
        'D' | 'x' => strftime(out, t, "%m/%d/%y"),
        'F' => strftime(out, t, "%Y-%m-%d"),
        'T' | 'X' => strftime(out, t, "%H:%M:%S"),
        'R' => strftime(out, t, "%H:%M"),
        'n' => out.push('\n'),
        't' => out.push('\t'),
        '%' => out.push('%'),
        'f' => {
            let microsecond = t.time.as_ref().map_or(0, |time| time.microsecond);
            let _ = write!(out, "{microsecond:06}");
        }
        'z' => {
            if let Some(offset) = t.time.as_ref().and_then(|time| time.utc_offset_minutes) {
                write_utc_offset(out, offset, "");
            }
        }
        'Z' => write_zone_name(out, t),
        _ => return false,
    }
    true
}

/// `tzname()` of the fixed-offset zones PyYAML creates: `UTC`, `UTC-05:00`.
fn write_zone_name(out: &mut String, t: &Timestamp) {
    let Some(offset) = t.time.as_ref().and_then(|time| time.utc_offset_minutes) else {
        return;
    };
    out.push_str("UTC");
    if offset != 0 {
        write_utc_offset(out, offset, ":");
    }
}

/// A number padded with `pad` to `width` characters.
fn write_number(out: &mut String, value: i64, width: usize, pad: char) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        out.push('-');
    }
    let len = digits.len() + usize::from(value < 0);
    out.extend(std::iter::repeat_n(pad, width.saturating_sub(len)));
    out.push_str(&digits);
}

fn twelve_hour(hour: u32) -> u32 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count from March so that the leap day ends each 400-year cycle's years.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// 0 = Monday; 1970-01-01 was a Thursday.
fn weekday(t: &Timestamp) -> u32 {
    let days = days_from_civil(i64::from(t.year), t.month, t.day);
    u32::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
}

fn day_of_year(t: &Timestamp) -> u32 {
    let year = i64::from(t.year);
    let days = days_from_civil(year, t.month, t.day) - days_from_civil(year, 1, 1);
    u32::try_from(days + 1).unwrap_or(1)
}

/// ISO 8601 year and week number: weeks start on Monday and week 1 holds
/// the year's first Thursday.
fn iso_week(f: &Fields<'_>) -> (i32, u32) {
    let year = f.t.year;
    // The Thursday of this week decides which year the week belongs to.
    let thursday = i64::from(f.yday) - i64::from(f.weekday) + 3;
    let length = |y: i32| if is_leap(y) { 366 } else { 365 };
    if thursday < 1 {
        let previous = year - 1;
        let yday = thursday + i64::from(length(previous));
        return (previous, week_of(yday));
    }
    if thursday > i64::from(length(year)) {
        return (year + 1, 1);
    }
    (year, week_of(thursday))
}

fn week_of(thursday_yday: i64) -> u32 {
    u32::try_from((thursday_yday - 1) / 7 + 1).unwrap_or(1)
}

fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::TimeOfDay;

    fn stamp(
        date: (i32, u32, u32),
        hms: (u32, u32, u32),
        microsecond: u32,
        offset: Option<i32>,
    ) -> Timestamp {
        let time = TimeOfDay {
            hour: hms.0,
            minute: hms.1,
            second: hms.2,
            microsecond,
            utc_offset_minutes: offset,
        };
        Timestamp {
            year: date.0,
            month: date.1,
            day: date.2,
            time: Some(time),
        }
    }

    fn run(t: &Timestamp, pattern: &str) -> String {
        let mut out = String::new();
        strftime(&mut out, t, pattern);
        out
    }

    #[test]
    fn matches_python_on_linux() {
        // Expected strings from Python 3.11's strftime on glibc.
        let t = stamp((2020, 1, 2), (3, 4, 5), 6, None);
        let cases = [
            (
                "%d %H %M %S %f %z %Z %y %j %a %A %b %B %p %I %% %Q %e",
                "02 03 04 05 000006   20 002 Thu Thursday Jan January AM 03 % %Q  2",
            ),
            ("%Y/%m", "2020/01"),
            ("%-d", "2"),
            ("%", "%"),
            (
                "%-Y %_Y %_5d %-5d %05e %_m %a%",
                "2020 2020     2     2 00002  1 Thu%",
            ),
        ];
        for (pattern, expected) in cases {
            assert_eq!(run(&t, pattern), expected, "{pattern:?}");
        }
    }

    #[test]
    fn glibc_quirks_for_small_years() {
        // Python 3.11 on glibc, datetime(5, 3, 7, 13, 4, 5, 60, tzinfo=+05:30).
        let t = stamp((5, 3, 7), (13, 4, 5), 60, Some(330));
        let cases = [
            ("%Y", "5"),
            ("%y", "05"),
            ("%C", "0"),
            ("%c", "Mon Mar  7 13:04:05 5"),
            ("%x", "03/07/05"),
            ("%X", "13:04:05"),
            ("%F", "5-03-07"),
            ("%R", "13:04"),
            ("%k", "13"),
            ("%l", " 1"),
            ("%P", "pm"),
            ("%u", "1"),
            ("%w", "1"),
            ("%-H", "13"),
            ("%_H", "13"),
            ("%0e", "07"),
            ("%-j", "66"),
            ("%E", "%E"),
            ("%5Y", "00005"),
            ("%z", "+0530"),
            ("%:z", "%:z"),
            ("%Z", "UTC+05:30"),
            ("%f", "000060"),
            ("%-f", "%-f"),
            ("%G", "5"),
            ("%h", "Mar"),
            ("%n%t", "\n\t"),
        ];
        for (pattern, expected) in cases {
            assert_eq!(run(&t, pattern), expected, "{pattern:?}");
        }
    }

    #[test]
    fn zones_and_dates() {
        let utc = stamp((2020, 1, 2), (0, 0, 0), 0, Some(0));
        assert_eq!(run(&utc, "%z %Z"), "+0000 UTC");
        let west = stamp((2020, 1, 2), (0, 0, 0), 0, Some(-300));
        assert_eq!(run(&west, "%z %Z"), "-0500 UTC-05:00");

        // A date has no time and no zone: Python gives '||000000|00'.
        let date = Timestamp {
            year: 2020,
            month: 1,
            day: 2,
            time: None,
        };
        assert_eq!(run(&date, "%z|%Z|%f|%H"), "||000000|00");
    }

    #[test]
    fn week_numbers() {
        // Python 3.11: date(y, m, d).strftime('%G-%V %U %W').
        let cases = [
            ((2021, 1, 1), "2020-53 00 00"),
            ((2020, 12, 31), "2020-53 52 52"),
            ((2019, 12, 30), "2020-01 52 52"),
            ((2024, 6, 15), "2024-24 23 24"),
        ];
        for (date, expected) in cases {
            let t = Timestamp {
                year: date.0,
                month: date.1,
                day: date.2,
                time: None,
            };
            assert_eq!(run(&t, "%G-%V %U %W"), expected, "{date:?}");
        }
    }
}
