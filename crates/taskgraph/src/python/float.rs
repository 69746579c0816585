//! Python's float-to-text conversions: `repr()` and the float presentation
//! types of the format-spec mini-language.
//!
//! Rust's `{:e}` already finds the shortest digits that round-trip, and
//! `{:.N}` / `{:.Ne}` round correctly (half to even on the exact binary
//! value), exactly like the `dtoa` Python uses. So the digits come from
//! Rust, and this module only lays them out the way Python does.

use std::fmt::Write as _;

/// Formats a float like Python's `repr()`: `0.1`, `7.0`, `1e+16`, `1.5e-05`,
/// `inf`, `nan`.
pub fn float_repr(value: f64) -> String {
    let mut out = String::with_capacity(24);
    write_float_repr(&mut out, value);
    out
}

/// Appends `repr(value)` to `out` without allocating.
pub(super) fn write_float_repr(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str(non_finite(value));
        return;
    }

    let shortest = Shortest::new(value);
    if value.is_sign_negative() {
        out.push('-');
    }
    let exp = shortest.exp;
    let shape = Shape {
        scientific: !(-4..16).contains(&exp),
        dot_zero: true,
        ..Shape::default()
    };
    write_digits(out, shortest.digits(), exp, shape);
}

/// Python's spelling of infinities and NaN (a NaN never shows a sign).
fn non_finite(value: f64) -> &'static str {
    if value.is_nan() {
        "nan"
    } else if value > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

/// The float presentation types of the format-spec mini-language, after
/// `n` has become `g` and `%` has been folded into `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FloatStyle {
    /// `e` / `E`: scientific with `precision` fraction digits.
    Exponent,
    /// `f` / `F`: positional with `precision` fraction digits.
    Fixed,
    /// `g` / `G`: `precision` significant digits, whichever notation fits.
    General,
    /// No type: `repr()` without precision, else `g` that keeps a `.0`.
    Repr,
}

/// How to format one float for a format spec.
#[derive(Clone, Copy, Debug)]
pub(super) struct FloatRequest {
    pub style: FloatStyle,
    pub precision: Option<usize>,
    /// `#`: keep the decimal point and trailing zeros.
    pub alternate: bool,
    /// `z`: a value that rounds to zero loses its minus sign.
    pub no_negative_zero: bool,
    /// `E`, `F`, `G`: upper-case letters (`1E+16`, `INF`).
    pub upper: bool,
}

/// Formats a float for a format spec, sign included but without padding
/// or grouping: what the mini-language then aligns.
pub(super) fn format_float(value: f64, request: FloatRequest) -> String {
    let mut out = String::new();
    if !value.is_finite() {
        out.push_str(non_finite(value));
    } else if request.style == FloatStyle::Fixed {
        write_fixed(&mut out, value, request);
    } else {
        write_significant(&mut out, value, request);
    }

    if request.upper {
        out.make_ascii_uppercase();
    }
    out
}

/// `f`: Rust's fixed notation is already Python's, up to the sign and `#`.
fn write_fixed(out: &mut String, value: f64, request: FloatRequest) {
    let precision = request.precision.unwrap_or(6);
    let body = format!("{:.*}", precision, value.abs());
    let all_zero = body.bytes().all(|b| b == b'0' || b == b'.');
    if value.is_sign_negative() && !(request.no_negative_zero && all_zero) {
        out.push('-');
    }
    out.push_str(&body);
    if precision == 0 && request.alternate {
        out.push('.');
    }
}

/// `e`, `g` and the untyped form, which all count significant digits.
fn write_significant(out: &mut String, value: f64, request: FloatRequest) {
    let (digits, exp) = match (request.style, request.precision) {
        (FloatStyle::Repr, None) => {
            let shortest = Shortest::new(value);
            (shortest.digits().to_vec(), shortest.exp)
        }
        (FloatStyle::Exponent, precision) => rounded_digits(value, precision.unwrap_or(6) + 1),
        (_, precision) => rounded_digits(value, precision.unwrap_or(6).max(1)),
    };

    let is_zero = digits.iter().all(|&d| d == b'0');
    if value.is_sign_negative() && !(request.no_negative_zero && is_zero) {
        out.push('-');
    }
    write_digits(out, &digits, exp, shape_for(request, exp));
}

/// Chooses notation and padding the way Python's `format_float_short` does.
fn shape_for(request: FloatRequest, exp: i32) -> Shape {
    let precision = request.precision.unwrap_or(6);
    let significant = i64::try_from(precision.max(1)).unwrap_or(i64::MAX);
    let exp = i64::from(exp);
    let keep_point = request.alternate;
    match (request.style, request.precision) {
        (FloatStyle::Exponent, _) => Shape {
            scientific: true,
            pad_to: precision + 1,
            keep_point,
            ..Shape::default()
        },
        (FloatStyle::General, _) => Shape {
            scientific: exp < -4 || exp >= significant,
            pad_to: if keep_point { precision.max(1) } else { 0 },
            keep_point,
            ..Shape::default()
        },
        // Untyped with a precision: like `g`, but switching to scientific
        // one digit earlier so that positional output can end in `.0`.
        (_, Some(_)) => Shape {
            scientific: exp < -4 || exp >= significant - 1,
            pad_to: if keep_point { precision.max(1) } else { 0 },
            keep_point,
            dot_zero: true,
        },
        (_, None) => Shape {
            scientific: !(-4..16).contains(&exp),
            keep_point,
            dot_zero: true,
            pad_to: 0,
        },
    }
}

/// `count` significant digits, correctly rounded, trailing zeros removed,
/// and the decimal exponent of the first digit.
fn rounded_digits(value: f64, count: usize) -> (Vec<u8>, i32) {
    let text = format!("{:.*e}", count.saturating_sub(1), value.abs());
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    trim_trailing_zeros(&mut digits);
    (digits, exp.parse().unwrap_or(0))
}

fn trim_trailing_zeros(digits: &mut Vec<u8>) {
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
}

/// The shortest round-trip digits of a finite float, kept on the stack.
struct Shortest {
    buf: [u8; 24],
    len: usize,
    exp: i32,
}

impl Shortest {
    fn new(value: f64) -> Self {
        let mut text = StackText::default();
        // `{:e}` of an f64 is at most 24 bytes, so this cannot overflow.
        let _ = write!(text, "{:e}", value.abs());
        let written = &text.buf[..text.len];

        let mut shortest = Shortest {
            buf: [0; 24],
            len: 0,
            exp: 0,
        };
        let mut exp_text: &[u8] = b"0";
        for (i, &byte) in written.iter().enumerate() {
            match byte {
                b'0'..=b'9' => {
                    shortest.buf[shortest.len] = byte;
                    shortest.len += 1;
                }
                b'e' => {
                    exp_text = &written[i + 1..];
                    break;
                }
                _ => {}
            }
        }
        shortest.exp = parse_exponent(exp_text);
        shortest.prefer_even_on_tie(value);
        shortest
    }

    /// When the exact value lies exactly halfway between two shortest
    /// candidates, Python's dtoa picks the one ending in an even digit,
    /// while Rust picks the upper one: `2213855766982668.25` is `...668.2`
    /// in Python. Only values whose exact decimal expansion is one digit
    /// longer than the shortest form, ending in 5, can be such a tie.
    fn prefer_even_on_tie(&mut self, value: f64) {
        let count = self.len;
        let mut longer = StackText::default();
        // At most 18 digits, a point and a 4-character exponent: it fits.
        let _ = write!(longer, "{:.*e}", count, value.abs());
        let text = &longer.buf[..longer.len];
        let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
        if text[..e_at].last() != Some(&b'5') || !is_exact(value, e_at) {
            return;
        }

        // A real tie: rare enough that allocating is fine from here on.
        let digits: Vec<u8> = text[..e_at]
            .iter()
            .copied()
            .filter(u8::is_ascii_digit)
            .collect();
        let exp_text = text.get(e_at + 1..).unwrap_or(b"0");

        // The candidates are the first `count` digits and that plus one.
        let mut chosen = digits[..count].to_vec();
        let mut exp = parse_exponent(exp_text);
        let lower_is_even = chosen.last().is_some_and(|d| d % 2 == 0);
        if !lower_is_even && !increment(&mut chosen) {
            // 99..9 + 1 carried into a new leading digit.
            chosen = vec![b'1'];
            exp += 1;
        }
        trim_trailing_zeros(&mut chosen);

        // Keep Rust's answer unless the even candidate reads back exactly.
        let candidate = format!("{}e{}", digits_as_decimal(&chosen), exp);
        if candidate.parse::<f64>().ok() == Some(value.abs()) && chosen.len() <= self.buf.len() {
            self.buf[..chosen.len()].copy_from_slice(&chosen);
            self.len = chosen.len();
            self.exp = exp;
        }
    }

    fn digits(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Whether the first `shown` characters of `value`'s `{:e}` mantissa
/// (`d.ddd`) are its exact value: the full expansion (never more than 767
/// significant digits) has only zeros after them.
fn is_exact(value: f64, shown: usize) -> bool {
    let full = format!("{:.770e}", value.abs());
    let (mantissa, _) = full.split_once('e').unwrap_or((&full, ""));
    mantissa
        .get(shown..)
        .is_some_and(|rest| rest.bytes().all(|b| b == b'0'))
}

/// Adds one to the last digit, carrying; false when every digit was 9.
fn increment(digits: &mut [u8]) -> bool {
    for digit in digits.iter_mut().rev() {
        if *digit == b'9' {
            *digit = b'0';
        } else {
            *digit += 1;
            return true;
        }
    }
    false
}

/// `d.ddd` for parsing back.
fn digits_as_decimal(digits: &[u8]) -> String {
    let mut text = String::with_capacity(digits.len() + 1);
    for (i, &d) in digits.iter().enumerate() {
        if i == 1 {
            text.push('.');
        }
        text.push(char::from(d));
    }
    text
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    if negative { -magnitude } else { magnitude }
}

/// A fixed-size `fmt::Write` target, so `repr()` needs no heap buffer.
#[derive(Default)]
struct StackText {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// How significant digits are laid out.
#[derive(Clone, Copy, Debug, Default)]
struct Shape {
    /// `d.ddde+XX` rather than positional.
    scientific: bool,
    /// Pad with trailing zeros up to this many significant digits.
    pad_to: usize,
    /// Keep a decimal point even with nothing after it (`#`).
    keep_point: bool,
    /// A positional value with no fraction gets `.0`.
    dot_zero: bool,
}

/// Writes `digits` (at least one) whose first digit has decimal exponent
/// `exp`, without a sign.
fn write_digits(out: &mut String, digits: &[u8], exp: i32, shape: Shape) {
    let zeros = shape.pad_to.saturating_sub(digits.len());
    if shape.scientific {
        write_scientific(out, digits, exp, zeros, shape.keep_point);
    } else if exp >= 0 {
        write_positional(out, digits, exp.unsigned_abs() as usize + 1, shape);
    } else {
        // 0.000ddd: the digits all go after the point.
        out.push_str("0.");
        push_zeros(out, exp.unsigned_abs() as usize - 1);
        push_ascii(out, digits);
        push_zeros(out, zeros);
    }
}

fn write_scientific(out: &mut String, digits: &[u8], exp: i32, zeros: usize, keep_point: bool) {
    let (first, rest) = digits.split_first().unwrap_or((&b'0', &[]));
    out.push(char::from(*first));
    if !rest.is_empty() || zeros > 0 || keep_point {
        out.push('.');
    }
    push_ascii(out, rest);
    push_zeros(out, zeros);
    let sign = if exp < 0 { '-' } else { '+' };
    let _ = write!(out, "e{sign}{:02}", exp.unsigned_abs());
}

/// A value of at least 1 whose integer part has `int_len` digits.
fn write_positional(out: &mut String, digits: &[u8], int_len: usize, shape: Shape) {
    let (int_part, fraction) = digits.split_at(int_len.min(digits.len()));
    push_ascii(out, int_part);
    push_zeros(out, int_len - int_part.len());

    let shown = digits.len().max(int_len);
    let zeros = shape.pad_to.saturating_sub(shown);
    if fraction.is_empty() && zeros == 0 {
        if shape.dot_zero {
            out.push_str(".0");
        } else if shape.keep_point {
            out.push('.');
        }
        return;
    }
    out.push('.');
    push_ascii(out, fraction);
    push_zeros(out, zeros);
}

fn push_ascii(out: &mut String, digits: &[u8]) {
    out.extend(digits.iter().map(|&d| char::from(d)));
}

fn push_zeros(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n('0', count));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_matches_python() {
        // Expected strings from Python 3.11's repr().
        let cases = [
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9_999_999_999_999_998.0, "9999999999999998.0"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (0.000_012_34, "1.234e-05"),
            (1e-4, "0.0001"),
            (0.001, "0.001"),
            (123_456_789_012_345_678.0, "1.2345678901234568e+17"),
            (5e-324, "5e-324"),
            (1.797_693_134_862_315_7e308, "1.7976931348623157e+308"),
            (-1.5e300, "-1.5e+300"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (7.0, "7.0"),
            (2.5, "2.5"),
            (123.456, "123.456"),
            // Exactly halfway between two 17-digit candidates: Python keeps
            // the even one, Rust's own shortest form would end in 3.
            (2_213_855_766_982_668.2, "2213855766982668.2"),
            (0.3, "0.3"),
            (2.5e-5, "2.5e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:e}");
        }
    }

    fn request(style: FloatStyle, precision: Option<usize>) -> FloatRequest {
        FloatRequest {
            style,
            precision,
            alternate: false,
            no_negative_zero: false,
            upper: false,
        }
    }

    #[test]
    fn fixed_and_exponent_round_like_python() {
        // Expected strings from Python 3.11's format(value, spec).
        let cases = [
            (2.5, FloatStyle::Fixed, 0, "2"),      // '.0f'
            (0.5, FloatStyle::Fixed, 0, "0"),      // '.0f'
            (1.5, FloatStyle::Fixed, 0, "2"),      // '.0f'
            (0.125, FloatStyle::Fixed, 2, "0.12"), // '.2f'
            (2.675, FloatStyle::Fixed, 2, "2.67"), // '.2f'
            (0.25, FloatStyle::Fixed, 1, "0.2"),   // '.1f'
            (-0.001, FloatStyle::Fixed, 2, "-0.00"),
            (
                0.1,
                FloatStyle::Fixed,
                30,
                "0.100000000000000005551115123126",
            ),
            (2.5, FloatStyle::Exponent, 0, "2e+00"),
            (0.5, FloatStyle::Exponent, 0, "5e-01"),
            (9.96, FloatStyle::Exponent, 1, "1.0e+01"),
            (0.0, FloatStyle::Exponent, 6, "0.000000e+00"),
            (1e-300, FloatStyle::Exponent, 3, "1.000e-300"),
        ];
        for (value, style, precision, expected) in cases {
            assert_eq!(
                format_float(value, request(style, Some(precision))),
                expected,
                "{value} {style:?}"
            );
        }
    }

    #[test]
    fn general_and_untyped_match_python() {
        // (value, style, precision, alternate, expected from Python 3.11)
        let cases = [
            (1e-5, FloatStyle::General, None, false, "1e-05"),
            (
                123_456_789.0,
                FloatStyle::General,
                None,
                false,
                "1.23457e+08",
            ),
            (1.0, FloatStyle::General, None, true, "1.00000"),
            (100.0, FloatStyle::General, None, true, "100.000"),
            (1e-5, FloatStyle::General, None, true, "1.00000e-05"),
            (1e100, FloatStyle::General, Some(3), true, "1.00e+100"),
            (0.0, FloatStyle::General, Some(0), true, "0."),
            (0.0, FloatStyle::General, Some(0), false, "0"),
            (-0.0, FloatStyle::General, None, false, "-0"),
            (100.0, FloatStyle::General, Some(2), false, "1e+02"),
            (
                0.1,
                FloatStyle::General,
                Some(17),
                false,
                "0.10000000000000001",
            ),
            (5e-324, FloatStyle::General, None, false, "4.94066e-324"),
            (1e16, FloatStyle::General, None, false, "1e+16"),
            (123.0, FloatStyle::Repr, Some(3), false, "1.23e+02"),
            (1234.0, FloatStyle::Repr, Some(3), false, "1.23e+03"),
            (1.0, FloatStyle::Repr, Some(3), false, "1.0"),
            (0.0, FloatStyle::Repr, Some(3), false, "0.0"),
            (1e16, FloatStyle::Repr, Some(3), false, "1e+16"),
            (1e-5, FloatStyle::Repr, Some(3), false, "1e-05"),
            (0.0001, FloatStyle::Repr, Some(3), false, "0.0001"),
            (9.99, FloatStyle::Repr, Some(1), false, "1e+01"),
            (99999.0, FloatStyle::Repr, Some(5), false, "9.9999e+04"),
            (15.0, FloatStyle::Repr, Some(1), false, "2e+01"),
            (1.5, FloatStyle::Repr, Some(0), false, "2e+00"),
            (0.1, FloatStyle::Repr, Some(16), false, "0.1"),
            (1e16, FloatStyle::Repr, Some(17), false, "1e+16"),
            (0.0, FloatStyle::Repr, Some(3), true, "0.00"),
            (5.0, FloatStyle::Repr, None, true, "5.0"),
            (5.0, FloatStyle::Repr, Some(0), true, "5.e+00"),
            (1e16, FloatStyle::Repr, None, true, "1.e+16"),
            (123.0, FloatStyle::Repr, Some(3), true, "1.23e+02"),
        ];
        for (value, style, precision, alternate, expected) in cases {
            let req = FloatRequest {
                alternate,
                ..request(style, precision)
            };
            assert_eq!(
                format_float(value, req),
                expected,
                "{value} {style:?} {precision:?} {alternate}"
            );
        }
    }

    #[test]
    fn alternate_fixed_and_negative_zero() {
        let alt = FloatRequest {
            alternate: true,
            ..request(FloatStyle::Fixed, Some(0))
        };
        assert_eq!(format_float(1.0, alt), "1.");

        // Python 3.11: format(-0.001, 'z.2f') == '0.00', format(-0.6, 'z.0f') == '-1',
        // format(-0.0, 'z') == '0.0', format(-0.0001, 'z.2e') == '-1.00e-04'.
        let z = |style, precision| FloatRequest {
            no_negative_zero: true,
            ..request(style, precision)
        };
        assert_eq!(format_float(-0.001, z(FloatStyle::Fixed, Some(2))), "0.00");
        assert_eq!(format_float(-0.5, z(FloatStyle::Fixed, Some(0))), "0");
        assert_eq!(format_float(-0.6, z(FloatStyle::Fixed, Some(0))), "-1");
        assert_eq!(format_float(-0.0, z(FloatStyle::Repr, None)), "0.0");
        assert_eq!(
            format_float(-0.0001, z(FloatStyle::Exponent, Some(2))),
            "-1.00e-04"
        );
        assert_eq!(format_float(-1e-300, z(FloatStyle::Repr, None)), "-1e-300");
    }

    #[test]
    fn upper_case_and_non_finite() {
        let upper = |style| FloatRequest {
            upper: true,
            ..request(style, None)
        };
        assert_eq!(
            format_float(f64::INFINITY, upper(FloatStyle::Exponent)),
            "INF"
        );
        assert_eq!(format_float(f64::NAN, upper(FloatStyle::Exponent)), "NAN");
        assert_eq!(format_float(1e-10, upper(FloatStyle::General)), "1E-10");
        assert_eq!(
            format_float(-f64::NAN, request(FloatStyle::Fixed, None)),
            "nan"
        );
        assert_eq!(
            format_float(f64::NEG_INFINITY, request(FloatStyle::Repr, Some(3))),
            "-inf"
        );
    }
}
