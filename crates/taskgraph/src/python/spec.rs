//! The format-spec mini-language: what follows the `:` in `{name:>8}`,
//! applied to one value the way Python's `format(value, spec)` does.

use super::PyError;
use super::float::{FloatRequest, FloatStyle, format_float};
use super::repr::write_str;
use super::strftime::strftime;
use crate::value::Value;

/// Widths and precisions beyond this are refused rather than allocated;
/// Python would build the (absurd) string.
const MAX_WIDTH: usize = 1 << 20;

/// Appends `format(value, spec)` to `out`.
pub(super) fn format_value(out: &mut String, value: &Value, spec: &str) -> Result<(), PyError> {
    // An empty spec means `str(value)` for every type we have.
    if spec.is_empty() {
        write_str(out, value);
        return Ok(());
    }

    match value {
        Value::Str(s) => format_str(out, s, spec),
        Value::Bool(b) => format_int(out, i64::from(*b), "bool", spec),
        Value::Int(i) => format_int(out, *i, "int", spec),
        Value::Float(f) => format_float_value(out, *f, "float", spec),
        Value::Timestamp(t) => {
            strftime(out, t, spec);
            Ok(())
        }
        Value::Null | Value::List(_) | Value::Map(_) => Err(PyError::type_error(format!(
            "unsupported format string passed to {}.__format__",
            object_type_name(value)
        ))),
    }
}

/// The name Python's error messages give the type of `value`.
pub fn object_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Timestamp(t) if t.time.is_none() => "datetime.date",
        Value::Timestamp(_) => "datetime.datetime",
        _ => value.type_name(),
    }
}

/// Thousands separators requested by `,` or `_`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grouping {
    None,
    Comma,
    Underscore,
    /// `_` with `b`, `o`, `x` or `X`: every four digits.
    UnderscoreFour,
}

/// A parsed spec: `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
#[derive(Clone, Debug)]
struct Spec {
    fill: char,
    align: char,
    sign: Option<char>,
    no_negative_zero: bool,
    alternate: bool,
    width: Option<usize>,
    grouping: Grouping,
    precision: Option<usize>,
    kind: Option<char>,
}

fn is_align(c: char) -> bool {
    matches!(c, '<' | '>' | '=' | '^')
}

/// Parses `spec` for a value of type `type_name`, whose default alignment
/// and presentation type are given.
fn parse_spec(
    spec: &str,
    type_name: &str,
    default_align: char,
    default_kind: Option<char>,
) -> Result<Spec, PyError> {
    let mut rest = spec;
    let (fill, align) = eat_fill_align(&mut rest);
    let sign = rest.chars().next().filter(|c| matches!(c, '+' | '-' | ' '));
    if sign.is_some() {
        rest = &rest[1..];
    }
    let no_negative_zero = eat(&mut rest, 'z');
    let alternate = eat(&mut rest, '#');

    let mut parsed = Spec {
        fill: fill.unwrap_or(' '),
        align: align.unwrap_or(default_align),
        sign,
        no_negative_zero,
        alternate,
        width: None,
        grouping: Grouping::None,
        precision: None,
        kind: default_kind,
    };

    // A leading zero means "pad with zeros after the sign", unless a fill
    // was given explicitly.
    if fill.is_none() && eat(&mut rest, '0') {
        parsed.fill = '0';
        if align.is_none() && default_align == '>' {
            parsed.align = '=';
        }
    }

    parsed.width = eat_integer(&mut rest)?;
    parsed.grouping = parse_grouping(&mut rest)?;
    if eat(&mut rest, '.') {
        let precision = eat_integer(&mut rest)?;
        parsed.precision =
            Some(precision.ok_or_else(|| PyError::value("Format specifier missing precision"))?);
    }

    // At most one character, the presentation type, may remain.
    let mut remaining = rest.chars();
    match (remaining.next(), remaining.next()) {
        (_, Some(_)) => {
            return Err(PyError::value(format!(
                "Invalid format specifier '{spec}' for object of type '{type_name}'"
            )));
        }
        (Some(kind), None) => parsed.kind = Some(kind),
        (None, None) => {}
    }

    check_grouping(&mut parsed)?;
    Ok(parsed)
}

/// `[[fill]align]`: a fill character is only one when an alignment
/// follows it.
fn eat_fill_align(rest: &mut &str) -> (Option<char>, Option<char>) {
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some(fill), Some(align)) if is_align(align) => {
            *rest = &rest[fill.len_utf8() + 1..];
            (Some(fill), Some(align))
        }
        (Some(align), _) if is_align(align) => {
            *rest = &rest[1..];
            (None, Some(align))
        }
        _ => (None, None),
    }
}

/// Consumes `c` if `rest` starts with it.
fn eat(rest: &mut &str, c: char) -> bool {
    match rest.strip_prefix(c) {
        Some(stripped) => {
            *rest = stripped;
            true
        }
        None => false,
    }
}

/// Consumes a run of ASCII digits; `None` when there is none.
fn eat_integer(rest: &mut &str) -> Result<Option<usize>, PyError> {
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Ok(None);
    }

    let (number, tail) = rest.split_at(digits);
    *rest = tail;
    let value = parse_index(number)?;
    if value > MAX_WIDTH {
        return Err(PyError::value(format!(
            "Width or precision {value} is too large"
        )));
    }
    Ok(Some(value))
}

/// Parses decimal digits the way Python's format machinery does: anything
/// beyond a 64-bit signed size is "too many digits".
pub(super) fn parse_index(digits: &str) -> Result<usize, PyError> {
    digits
        .parse::<i64>()
        .ok()
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| PyError::value("Too many decimal digits in format string"))
}

fn parse_grouping(rest: &mut &str) -> Result<Grouping, PyError> {
    let mut grouping = Grouping::None;
    if eat(rest, ',') {
        grouping = Grouping::Comma;
    }
    if eat(rest, '_') {
        if grouping != Grouping::None {
            return Err(both_separators());
        }
        grouping = Grouping::Underscore;
    }
    if grouping == Grouping::Underscore && rest.starts_with(',') {
        return Err(both_separators());
    }
    Ok(grouping)
}

fn both_separators() -> PyError {
    PyError::value("Cannot specify both ',' and '_'.")
}

/// Separators only go with decimal and float types, and `_` also with
/// binary, octal and hex, where it groups by four.
fn check_grouping(spec: &mut Spec) -> Result<(), PyError> {
    let separator = match spec.grouping {
        Grouping::None => return Ok(()),
        Grouping::Comma => ',',
        Grouping::Underscore | Grouping::UnderscoreFour => '_',
    };
    match spec.kind {
        None | Some('d' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F') => Ok(()),
        Some('b' | 'o' | 'x' | 'X') if separator == '_' => {
            spec.grouping = Grouping::UnderscoreFour;
            Ok(())
        }
        Some(kind) => Err(PyError::value(format!(
            "Cannot specify '{separator}' with {}.",
            quoted_code(kind)
        ))),
    }
}

/// A presentation type as Python quotes it in errors: `'x'`, or `'\xfc'`
/// when it is not printable ASCII.
fn quoted_code(c: char) -> String {
    let code = u32::from(c);
    if code > 32 && code < 128 {
        format!("'{c}'")
    } else {
        format!("'\\x{code:x}'")
    }
}

fn unknown_code(kind: char, type_name: &str) -> PyError {
    PyError::value(format!(
        "Unknown format code {} for object of type '{type_name}'",
        quoted_code(kind)
    ))
}

/// `format(s, spec)` for a string.
fn format_str(out: &mut String, s: &str, spec: &str) -> Result<(), PyError> {
    let spec = parse_spec(spec, "str", '<', Some('s'))?;
    match spec.kind {
        Some('s') => {}
        Some(kind) => return Err(unknown_code(kind, "str")),
        None => {}
    }

    let refusal = if spec.sign == Some(' ') {
        Some("Space not allowed in string format specifier")
    } else if spec.sign.is_some() {
        Some("Sign not allowed in string format specifier")
    } else if spec.no_negative_zero {
        Some("Negative zero coercion (z) not allowed in string format specifier")
    } else if spec.alternate {
        Some("Alternate form (#) not allowed in string format specifier")
    } else if spec.align == '=' {
        Some("'=' alignment not allowed in string format specifier")
    } else {
        None
    };
    if let Some(message) = refusal {
        return Err(PyError::value(message));
    }

    // Precision truncates; both it and the width count code points.
    let text = match spec.precision {
        Some(limit) => s.char_indices().nth(limit).map_or(s, |(end, _)| &s[..end]),
        None => s,
    };
    let (left, right) = padding(text.chars().count(), spec.width, spec.align);
    push_fill(out, spec.fill, left);
    out.push_str(text);
    push_fill(out, spec.fill, right);
    Ok(())
}

/// Left and right padding for `len` characters in `width`.
fn padding(len: usize, width: Option<usize>, align: char) -> (usize, usize) {
    let total = width.unwrap_or(0).saturating_sub(len);
    match align {
        '>' => (total, 0),
        '^' => (total / 2, total - total / 2),
        _ => (0, total),
    }
}

fn push_fill(out: &mut String, fill: char, count: usize) {
    out.extend(std::iter::repeat_n(fill, count));
}

/// `format(i, spec)` for an int or a bool.
fn format_int(
    out: &mut String,
    value: i64,
    type_name: &str,
    spec_text: &str,
) -> Result<(), PyError> {
    let spec = parse_spec(spec_text, type_name, '>', Some('d'))?;
    match spec.kind {
        Some('b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n') => {}
        // Float types convert the int, as Python's `float(i)` would.
        Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => {
            #[allow(clippy::cast_precision_loss)]
            let as_float = value as f64;
            return render_float(out, as_float, &spec);
        }
        Some(kind) => return Err(unknown_code(kind, type_name)),
        None => {}
    }

    if spec.precision.is_some() {
        return Err(PyError::value(
            "Precision not allowed in integer format specifier",
        ));
    }
    if spec.no_negative_zero {
        return Err(PyError::value(
            "Negative zero coercion (z) not allowed in integer format specifier",
        ));
    }
    if spec.kind == Some('c') {
        return format_char(out, value, &spec);
    }

    let magnitude = value.unsigned_abs();
    let (digits, prefix) = match spec.kind {
        Some('b') => (format!("{magnitude:b}"), "0b"),
        Some('o') => (format!("{magnitude:o}"), "0o"),
        Some('x') => (format!("{magnitude:x}"), "0x"),
        Some('X') => (format!("{magnitude:X}"), "0X"),
        _ => (magnitude.to_string(), ""),
    };
    let number = Number {
        negative: value < 0,
        prefix: if spec.alternate { prefix } else { "" },
        digits: &digits,
        decimal: false,
        remainder: "",
    };
    render_number(out, &number, &spec);
    Ok(())
}

/// `c`: the int is a code point, laid out like a number without digits.
fn format_char(out: &mut String, value: i64, spec: &Spec) -> Result<(), PyError> {
    if spec.sign.is_some() {
        return Err(PyError::value(
            "Sign not allowed with integer format specifier 'c'",
        ));
    }
    if spec.alternate {
        return Err(PyError::value(
            "Alternate form (#) not allowed with integer format specifier 'c'",
        ));
    }

    let c = u32::try_from(value)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| PyError::overflow("%c arg not in range(0x110000)"))?;
    let mut text = [0u8; 4];
    let number = Number {
        negative: false,
        prefix: "",
        digits: "",
        decimal: false,
        remainder: c.encode_utf8(&mut text),
    };
    render_number(out, &number, spec);
    Ok(())
}

/// `format(f, spec)` for a float.
fn format_float_value(
    out: &mut String,
    value: f64,
    type_name: &str,
    spec_text: &str,
) -> Result<(), PyError> {
    let spec = parse_spec(spec_text, type_name, '>', None)?;
    match spec.kind {
        None | Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%') => {
            render_float(out, value, &spec)
        }
        Some(kind) => Err(unknown_code(kind, type_name)),
    }
}

/// Formats a float (or a converted int) with an already checked spec.
fn render_float(out: &mut String, value: f64, spec: &Spec) -> Result<(), PyError> {
    let (style, upper, percent) = match spec.kind {
        Some('e') => (FloatStyle::Exponent, false, false),
        Some('E') => (FloatStyle::Exponent, true, false),
        Some('f') => (FloatStyle::Fixed, false, false),
        Some('F') => (FloatStyle::Fixed, true, false),
        Some('%') => (FloatStyle::Fixed, false, true),
        Some('G') => (FloatStyle::General, true, false),
        // `n` is `g` in the C locale Python runs under by default.
        Some('g' | 'n') => (FloatStyle::General, false, false),
        _ => (FloatStyle::Repr, false, false),
    };
    let request = FloatRequest {
        style,
        precision: spec.precision,
        alternate: spec.alternate,
        no_negative_zero: spec.no_negative_zero,
        upper,
    };

    let mut text = format_float(if percent { value * 100.0 } else { value }, request);
    if percent {
        text.push('%');
    }
    render_number(out, &split_number(&text), spec);
    Ok(())
}

/// A number cut into the parts that padding and grouping treat apart.
#[derive(Debug)]
struct Number<'a> {
    negative: bool,
    /// `0x`, `0o`, `0b` (or `0X`) with `#`.
    prefix: &'a str,
    /// The integer digits, which get grouped and zero-padded.
    digits: &'a str,
    /// Whether a decimal point follows the digits.
    decimal: bool,
    /// Everything after the point, or after the digits when there is no
    /// point (`e+16`, `inf`, `%`).
    remainder: &'a str,
}

/// Splits `-1234.5e+06` into sign, integer digits, point and the rest.
fn split_number(text: &str) -> Number<'_> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let digit_count = body.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, after) = body.split_at(digit_count);
    let (decimal, remainder) = match after.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, after),
    };
    Number {
        negative,
        prefix: "",
        digits,
        decimal,
        remainder,
    }
}

/// Lays a number out: `<pad><sign><prefix><pad><digits><.><remainder><pad>`,
/// with only one of the three paddings used.
fn render_number(out: &mut String, number: &Number<'_>, spec: &Spec) {
    let sign = match (number.negative, spec.sign) {
        (true, _) => Some('-'),
        (false, Some('+')) => Some('+'),
        (false, Some(' ')) => Some(' '),
        _ => None,
    };
    let fixed_len = usize::from(sign.is_some())
        + number.prefix.len()
        + usize::from(number.decimal)
        + number.remainder.chars().count();
    let width = spec.width.unwrap_or(0);

    // Zero padding with `=` is done by the grouping itself, so that the
    // added zeros get separators too (`0,001,234`).
    let zero_fill_to = if spec.fill == '0' && spec.align == '=' {
        width.saturating_sub(fixed_len)
    } else {
        0
    };
    let separator = match spec.grouping {
        Grouping::None => None,
        Grouping::Comma => Some((3, b',')),
        Grouping::Underscore => Some((3, b'_')),
        Grouping::UnderscoreFour => Some((4, b'_')),
    };
    let grouped = if number.digits.is_empty() {
        String::new()
    } else {
        group_digits(number.digits, zero_fill_to, separator)
    };

    let padding = width.saturating_sub(fixed_len + grouped.len());
    let (left, middle, right) = match spec.align {
        '<' => (0, 0, padding),
        '^' => (padding / 2, 0, padding - padding / 2),
        '=' => (0, padding, 0),
        _ => (padding, 0, 0),
    };

    push_fill(out, spec.fill, left);
    if let Some(sign) = sign {
        out.push(sign);
    }
    out.push_str(number.prefix);
    push_fill(out, spec.fill, middle);
    out.push_str(&grouped);
    if number.decimal {
        out.push('.');
    }
    out.push_str(number.remainder);
    push_fill(out, spec.fill, right);
}

/// Inserts separators every `size` digits from the right and pads with
/// zeros until the result is at least `min_width` long. Like Python, a
/// group of padding zeros is never cut by a separator, so the result can
/// overshoot by one character.
fn group_digits(digits: &str, min_width: usize, separator: Option<(usize, u8)>) -> String {
    let Some((size, separator)) = separator else {
        let mut out = "0".repeat(min_width.saturating_sub(digits.len()));
        out.push_str(digits);
        return out;
    };

    // Built right to left, then reversed; digits are ASCII.
    let mut reversed: Vec<u8> = Vec::with_capacity(digits.len() * 2 + min_width);
    let mut left = digits.as_bytes();
    let mut min_width = min_width;
    loop {
        if !reversed.is_empty() {
            reversed.push(separator);
        }
        let len = size.min(left.len().max(min_width).max(1));
        let (rest, group) = left.split_at(left.len() - len.min(left.len()));
        reversed.extend(group.iter().rev());
        reversed.extend(std::iter::repeat_n(b'0', len - group.len()));
        left = rest;
        min_width = min_width.saturating_sub(len);
        if left.is_empty() && min_width == 0 {
            break;
        }
        min_width = min_width.saturating_sub(1);
    }
    reversed.iter().rev().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;

    fn fmt(value: Value, spec: &str) -> Result<String, String> {
        let mut out = String::new();
        format_value(&mut out, &value, spec)
            .map(|()| out)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn strings() {
        // Expected results of Python 3.11's format(value, spec).
        let cases = [
            (">5", "ab", "   ab"),
            ("05", "ab", "ab000"),
            ("*^9", "mid", "***mid***"),
            ("*^8", "mid", "**mid***"),
            (".3s", "abcdef", "abc"),
            (".0", "abc", ""),
            ("=^5s", "a", "==a=="),
            ("\u{0}<3", "x", "x\u{0}\u{0}"),
            ("é^5", "x", "ééxéé"),
            (">5", "é😀", "   é😀"),
            ("0", "x", "x"),
            ("<<", "x", "x"),
        ];
        for (spec, value, expected) in cases {
            assert_eq!(
                fmt(Value::from(value), spec).as_deref(),
                Ok(expected),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn string_errors() {
        let cases = [
            (
                "=5",
                "ValueError: '=' alignment not allowed in string format specifier",
            ),
            (
                "+",
                "ValueError: Sign not allowed in string format specifier",
            ),
            (
                "-",
                "ValueError: Sign not allowed in string format specifier",
            ),
            (
                " ",
                "ValueError: Space not allowed in string format specifier",
            ),
            (
                "#",
                "ValueError: Alternate form (#) not allowed in string format specifier",
            ),
            (
                "z",
                "ValueError: Negative zero coercion (z) not allowed in string format specifier",
            ),
            (",", "ValueError: Cannot specify ',' with 's'."),
            (
                "q",
                "ValueError: Unknown format code 'q' for object of type 'str'",
            ),
            (
                "d",
                "ValueError: Unknown format code 'd' for object of type 'str'",
            ),
            (
                "%Y",
                "ValueError: Invalid format specifier '%Y' for object of type 'str'",
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                fmt(Value::from("a"), spec).as_ref().map_err(String::as_str),
                Err(expected),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn ints() {
        // Expected results of Python 3.11's format(value, spec).
        let cases = [
            ("05d", -42, "-0042"),
            (",", 1_234_567, "1,234,567"),
            ("_d", -1_234_567, "-1_234_567"),
            ("_x", 255, "ff"),
            ("_b", 255, "1111_1111"),
            ("#_b", 255, "0b1111_1111"),
            ("#012_b", 255, "0b0_1111_1111"),
            ("#012_x", -255, "-0x0000_00ff"),
            ("#012,d", -255, "-000,000,255"),
            ("012,", 1234, "0,000,001,234"),
            ("#010x", 255, "0x000000ff"),
            ("#o", -8, "-0o10"),
            ("_o", 255, "377"),
            ("#X", 1_234_567, "0X12D687"),
            ("#x", 0, "0x0"),
            ("b", -5, "-101"),
            ("X", i64::MIN, "-8000000000000000"),
            (",", i64::MIN, "-9,223,372,036,854,775,808"),
            ("n", 1_234_567, "1234567"),
            ("x<4", 5, "5xxx"),
            ("0=+6", 5, "+00005"),
            ("+05", 3, "+0003"),
            (" ", 5, " 5"),
            (" ", -5, "-5"),
            ("^=5", -3, "-^^^3"),
            ("0>5", -3, "000-3"),
            ("<05", -3, "-3000"),
            ("-^05", 3, "--3--"),
            ("00", 3, "3"),
            (">5", 1, "    1"),
            ("c", 65, "A"),
            ("05c", 65, "0000A"),
            ("<5c", 65, "A    "),
            ("^5c", 65, "  A  "),
            ("c", 0x1F600, "😀"),
            ("%", 5, "500.000000%"),
            (".3%", 1, "100.000%"),
            ("F", 1, "1.000000"),
            ("G", 10, "10"),
            (".2f", 10, "10.00"),
            (".1f", 9_007_199_254_740_993, "9007199254740992.0"),
            ("e", i64::MIN, "-9.223372e+18"),
        ];
        for (spec, value, expected) in cases {
            assert_eq!(
                fmt(Value::Int(value), spec).as_deref(),
                Ok(expected),
                "{spec:?} {value}"
            );
        }
    }

    #[test]
    fn int_errors() {
        let cases = [
            (
                ".2",
                "ValueError: Precision not allowed in integer format specifier",
            ),
            (
                "z",
                "ValueError: Negative zero coercion (z) not allowed in integer format specifier",
            ),
            (
                "+c",
                "ValueError: Sign not allowed with integer format specifier 'c'",
            ),
            (
                "#c",
                "ValueError: Alternate form (#) not allowed with integer format specifier 'c'",
            ),
            (",x", "ValueError: Cannot specify ',' with 'x'."),
            (",n", "ValueError: Cannot specify ',' with 'n'."),
            ("_n", "ValueError: Cannot specify '_' with 'n'."),
            (",c", "ValueError: Cannot specify ',' with 'c'."),
            (",_", "ValueError: Cannot specify both ',' and '_'."),
            ("_,", "ValueError: Cannot specify both ',' and '_'."),
            (",,", "ValueError: Cannot specify ',' with ','."),
            (
                "s",
                "ValueError: Unknown format code 's' for object of type 'int'",
            ),
            (
                "ü",
                "ValueError: Unknown format code '\\xfc' for object of type 'int'",
            ),
            (
                "\u{1f}",
                "ValueError: Unknown format code '\\x1f' for object of type 'int'",
            ),
            (",ü", "ValueError: Cannot specify ',' with '\\xfc'."),
            (
                "%Y",
                "ValueError: Invalid format specifier '%Y' for object of type 'int'",
            ),
            (
                "99999999999999999999",
                "ValueError: Too many decimal digits in format string",
            ),
            (".", "ValueError: Format specifier missing precision"),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                fmt(Value::Int(1), spec).as_ref().map_err(String::as_str),
                Err(expected),
                "{spec:?}"
            );
        }
        assert_eq!(
            fmt(Value::Int(-1), "c").as_ref().map_err(String::as_str),
            Err("OverflowError: %c arg not in range(0x110000)")
        );
    }

    #[test]
    fn bools_format_as_ints_once_a_spec_is_given() {
        // Python 3.11: format(True, '') == 'True', format(True, '>5') == '    1'.
        assert_eq!(fmt(Value::Bool(true), "").as_deref(), Ok("True"));
        assert_eq!(fmt(Value::Bool(true), ">5").as_deref(), Ok("    1"));
        assert_eq!(fmt(Value::Bool(true), "d").as_deref(), Ok("1"));
        assert_eq!(fmt(Value::Bool(false), "#x").as_deref(), Ok("0x0"));
        assert_eq!(fmt(Value::Bool(true), "%").as_deref(), Ok("100.000000%"));
        assert_eq!(fmt(Value::Bool(true), "c").as_deref(), Ok("\u{1}"));
        assert_eq!(
            fmt(Value::Bool(true), "q").as_ref().map_err(String::as_str),
            Err("ValueError: Unknown format code 'q' for object of type 'bool'")
        );
    }

    #[test]
    fn floats() {
        // Expected results of Python 3.11's format(value, spec).
        let cases = [
            (".2f", 1.23456, "1.23"),
            (",.2f", 1_234_567.891, "1,234,567.89"),
            ("_", 1_234_567.5, "1_234_567.5"),
            ("012,.1f", -1234.5, "-0,001,234.5"),
            ("010,", 1234.5, "0,001,234.5"),
            ("010_", 1234.5, "0_001_234.5"),
            (",", 123_456_789.0, "123,456,789.0"),
            (",", 1.2345e-5, "1.2345e-05"),
            (",", 1e22, "1e+22"),
            (",e", 12345.0, "1.234500e+04"),
            (",.1f", 1e16, "10,000,000,000,000,000.0"),
            ("_.3f", 12345.6789, "12_345.679"),
            ("_", 0.0001, "0.0001"),
            ("05", -3.5, "-03.5"),
            ("=10", -1.5, "-      1.5"),
            ("^+9.2f", 1.0, "  +1.00  "),
            ("x^+9.2f", -1.0, "xx-1.00xx"),
            ("+", 1.0, "+1.0"),
            (" ", 1.0, " 1.0"),
            (".0%", 0.5, "50%"),
            ("#.0%", 0.5, "50.%"),
            ("#%", 0.5, "50.000000%"),
            (".3%", 12345.678, "1234567.800%"),
            ("z%", -1e-300, "0.000000%"),
            ("g", 1e16, "1e+16"),
            ("n", 1.5, "1.5"),
            ("n", 1e20, "1e+20"),
            (".3n", 1234.5, "1.23e+03"),
            ("e", 0.0, "0.000000e+00"),
            ("E", f64::INFINITY, "INF"),
            ("f", f64::NAN, "nan"),
            ("010", f64::NEG_INFINITY, "-000000inf"),
            ("010", f64::NAN, "0000000nan"),
            ("+", f64::NAN, "+nan"),
            ("%", f64::INFINITY, "inf%"),
            (".1e", 9.96, "1.0e+01"),
            ("z.1f", -0.0, "0.0"),
            ("z", -0.0, "0.0"),
        ];
        for (spec, value, expected) in cases {
            assert_eq!(
                fmt(Value::Float(value), spec).as_deref(),
                Ok(expected),
                "{spec:?} {value}"
            );
        }
    }

    #[test]
    fn float_errors() {
        let cases = [
            (
                "d",
                "ValueError: Unknown format code 'd' for object of type 'float'",
            ),
            (
                "x",
                "ValueError: Unknown format code 'x' for object of type 'float'",
            ),
            (".f", "ValueError: Format specifier missing precision"),
            ("5.", "ValueError: Format specifier missing precision"),
            (
                ".99999999999999999999",
                "ValueError: Too many decimal digits in format string",
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(
                fmt(Value::Float(1.0), spec)
                    .as_ref()
                    .map_err(String::as_str),
                Err(expected),
                "{spec:?}"
            );
        }
    }

    #[test]
    fn other_types_accept_only_an_empty_spec() {
        assert_eq!(fmt(Value::Null, "").as_deref(), Ok("None"));
        assert_eq!(
            fmt(Value::List(vec![Value::Int(1)]), "").as_deref(),
            Ok("[1]")
        );
        let cases = [
            (
                Value::Null,
                "TypeError: unsupported format string passed to NoneType.__format__",
            ),
            (
                Value::List(vec![]),
                "TypeError: unsupported format string passed to list.__format__",
            ),
            (
                Value::Map(map! {}),
                "TypeError: unsupported format string passed to dict.__format__",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                fmt(value, ">5").as_ref().map_err(String::as_str),
                Err(expected)
            );
        }
    }

    #[test]
    fn grouping_pads_like_python() {
        assert_eq!(group_digits("1234", 12, Some((3, b','))), "0,000,001,234");
        assert_eq!(group_digits("1234", 0, Some((3, b','))), "1,234");
        assert_eq!(group_digits("123", 0, Some((3, b','))), "123");
        assert_eq!(group_digits("5", 4, None), "0005");
    }

    #[test]
    fn huge_widths_are_refused_not_allocated() {
        assert!(fmt(Value::Int(1), "999999999").is_err());
        assert!(fmt(Value::Float(1.0), ".999999999f").is_err());
    }
}
