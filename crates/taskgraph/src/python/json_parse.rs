//! Parsing JSON the way Python's `json.loads` does: keys keep their order
//! (a repeated key keeps its first position and its last value), `7.0`
//! stays a float, and `NaN`, `Infinity` and `-Infinity` are accepted.
//! Error messages read like Python's.
//!
//! Two things Python accepts cannot be represented here and are errors:
//! integers outside the 64-bit range and lone UTF-16 surrogates.

use crate::error::{Error, ErrorKind, Result};
use crate::value::{Map, Value};

/// Deeper documents are refused: Python's decoder stops near its recursion
/// limit of 1000 too, and values this deep are dropped and written
/// recursively elsewhere.
const MAX_DEPTH: usize = 1000;

/// Parses a JSON document into a [`Value`].
pub fn json_parse(text: &str) -> Result<Value> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    if text.starts_with('\u{feff}') {
        return Err(parser.error_at("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }

    parser.skip_whitespace();
    let value = parser.document()?;
    parser.skip_whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(parser.error_at("Extra data", parser.pos));
    }
    Ok(value)
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

/// A container still being filled.
enum Frame {
    List(Vec<Value>),
    /// The map so far and the key whose value is being parsed.
    Map(Map, String),
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Python's `msg: line L column C (char N)`, counting characters.
    fn error_at(&self, message: &str, byte_pos: usize) -> Error {
        let before = &self.text[..byte_pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let char_pos = before.chars().count();
        Error::new(ErrorKind::Json(format!(
            "{message}: line {line} column {column} (char {char_pos})"
        )))
    }

    /// The whole document. Containers are tracked on an explicit stack
    /// rather than by recursion, so nesting cannot exhaust the call stack.
    fn document(&mut self) -> Result<Value> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let Some(mut value) = self.value_or_open(&mut stack)? else {
                continue;
            };

            // Hand the finished value to the containers it completes.
            loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(value);
                };
                self.skip_whitespace();
                let close = match frame {
                    Frame::List(items) => {
                        items.push(value);
                        b']'
                    }
                    Frame::Map(map, key) => {
                        // Like a Python dict: a repeated key keeps its first position.
                        map.insert(std::mem::take(key), value);
                        b'}'
                    }
                };

                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_whitespace();
                        if let Some(Frame::Map(_, key)) = stack.last_mut() {
                            *key = self.key()?;
                        }
                        break;
                    }
                    Some(b) if b == close => {
                        self.pos += 1;
                        value = match stack.pop() {
                            Some(Frame::List(items)) => Value::List(items),
                            Some(Frame::Map(map, _)) => Value::Map(map),
                            None => Value::Null,
                        };
                    }
                    _ => return Err(self.error_at("Expecting ',' delimiter", self.pos)),
                }
            }
        }
    }

    /// A scalar or an empty container, or `None` after opening a non-empty
    /// container (pushed on `stack`, its first key read).
    fn value_or_open(&mut self, stack: &mut Vec<Frame>) -> Result<Option<Value>> {
        let open = self.peek();
        if !matches!(open, Some(b'[' | b'{')) {
            return self.scalar().map(Some);
        }
        if stack.len() >= MAX_DEPTH {
            return Err(self.error_at("Document nested too deeply", self.pos));
        }

        self.pos += 1;
        self.skip_whitespace();
        if open == Some(b'[') {
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Some(Value::List(Vec::new())));
            }
            stack.push(Frame::List(Vec::new()));
        } else {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Some(Value::Map(Map::default())));
            }
            let key = self.key()?;
            stack.push(Frame::Map(Map::default(), key));
        }
        Ok(None)
    }

    /// `"key" :` and the whitespace after it.
    fn key(&mut self) -> Result<String> {
        if self.peek() != Some(b'"') {
            return Err(self.error_at(
                "Expecting property name enclosed in double quotes",
                self.pos,
            ));
        }
        let key = self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error_at("Expecting ':' delimiter", self.pos));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(key)
    }

    fn scalar(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'n') if self.eat_word("null") => Ok(Value::Null),
            Some(b't') if self.eat_word("true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat_word("false") => Ok(Value::Bool(false)),
            Some(b'N') if self.eat_word("NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat_word("Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.eat_word("-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error_at("Expecting value", self.pos)),
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.bytes[self.pos..].starts_with(word.as_bytes());
        if found {
            self.pos += word.len();
        }
        found
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; whatever follows a
    /// malformed fraction or exponent is left for the caller to reject.
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error_at("Expecting value", start)),
        }

        let mut is_float = false;
        if self.peek() == Some(b'.') && self.digit_at(self.pos + 1) {
            self.pos += 1;
            self.skip_digits();
            is_float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.bytes.get(self.pos + 1), Some(b'+' | b'-')));
            if self.digit_at(self.pos + 1 + sign) {
                self.pos += 1 + sign;
                self.skip_digits();
                is_float = true;
            }
        }

        let literal = &self.text[start..self.pos];
        if is_float {
            // Rust's parser rounds correctly, as Python's does; overflow
            // gives an infinity in both.
            return literal
                .parse()
                .map(Value::Float)
                .map_err(|_| self.error_at("Invalid number", start));
        }
        literal.parse().map(Value::Int).map_err(|_| {
            self.error_at(
                &format!("Integer {literal} does not fit in 64 bits (unsupported)"),
                start,
            )
        })
    }

    fn digit_at(&self, pos: usize) -> bool {
        self.bytes.get(pos).is_some_and(u8::is_ascii_digit)
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// A string literal starting at the current `"`.
    fn string(&mut self) -> Result<String> {
        let quote = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next byte that needs attention.
            let run = self.bytes[self.pos..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let Some(run) = run else {
                return Err(self.error_at("Unterminated string starting at", quote));
            };
            out.push_str(&self.text[self.pos..self.pos + run]);
            self.pos += run;

            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => self.escape(&mut out, quote)?,
                _ => return Err(self.error_at("Invalid control character at", self.pos)),
            }
        }
    }

    /// One backslash escape, the current byte being the backslash.
    fn escape(&mut self, out: &mut String, quote: usize) -> Result<()> {
        let backslash = self.pos;
        let Some(&kind) = self.bytes.get(backslash + 1) else {
            return Err(self.error_at("Unterminated string starting at", quote));
        };
        self.pos += 2;
        let simple = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(out),
            _ => return Err(self.error_at("Invalid \\escape", backslash)),
        };
        out.push(simple);
        Ok(())
    }

    /// `\uXXXX`, the current position being just after the `u`; a high
    /// surrogate must be followed by an escaped low one.
    fn unicode_escape(&mut self, out: &mut String) -> Result<()> {
        let first = self.hex4()?;
        let code =
            if (0xd800..0xdc00).contains(&first) && self.bytes[self.pos..].starts_with(b"\\u") {
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xdc00..0xe000).contains(&second) {
                    return Err(self.error_at(
                        "Lone surrogate in \\uXXXX escape (unsupported)",
                        self.pos - 10,
                    ));
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            } else {
                first
            };

        match char::from_u32(code) {
            Some(c) => {
                out.push(c);
                Ok(())
            }
            None => Err(self.error_at(
                "Lone surrogate in \\uXXXX escape (unsupported)",
                self.pos - 6,
            )),
        }
    }

    /// Four hex digits at the current position.
    fn hex4(&mut self) -> Result<u32> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        let Some(digits) = digits else {
            return Err(self.error_at("Invalid \\uXXXX escape", self.pos - 1));
        };
        let value = digits.iter().fold(0u32, |acc, &d| {
            acc * 16 + char::from(d).to_digit(16).unwrap_or(0)
        });
        self.pos += 4;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::python::{json_compact, py_repr};

    fn parsed(text: &str) -> String {
        match json_parse(text) {
            Ok(value) => py_repr(&value),
            Err(err) => format!("ERR {err}"),
        }
    }

    #[test]
    fn values_match_python() {
        // repr(json.loads(text)) in Python 3.11.
        let cases = [
            ("-Infinity", "-inf"),
            ("NaN", "nan"),
            ("Infinity", "inf"),
            ("1e400", "inf"),
            ("-0", "0"),
            ("-0.0", "-0.0"),
            ("7.0", "7.0"),
            ("1E5", "100000.0"),
            ("1e-2", "0.01"),
            ("[]", "[]"),
            ("{}", "{}"),
            (
                "  {\"k\": [1, 2.0, \"s\", null, true, false]}  ",
                "{'k': [1, 2.0, 's', None, True, False]}",
            ),
            (r#""\/\b\f\n\r\t\"\\""#, r#"'/\x08\x0c\n\r\t"\\'"#),
            (r#""\ud83d\ude00 \u00e9 \u00E9""#, "'😀 é é'"),
            ("\"é😀\"", "'é😀'"),
            ("9223372036854775807", "9223372036854775807"),
            ("-9223372036854775808", "-9223372036854775808"),
        ];
        for (text, expected) in cases {
            assert_eq!(parsed(text), expected, "{text:?}");
        }
    }

    #[test]
    fn repeated_keys_keep_first_position_and_last_value() {
        let value = json_parse(r#"{"a":1,"b":2,"a":3}"#).expect("json");
        assert_eq!(
            json_compact(&value, false).ok().as_deref(),
            Some(r#"{"a":3,"b":2}"#)
        );
        assert_eq!(value, Value::Map(map! {"a" => 3, "b" => 2}));
    }

    #[test]
    fn floats_stay_floats() {
        assert!(matches!(json_parse("7.0"), Ok(Value::Float(f)) if f == 7.0));
        assert!(matches!(json_parse("7"), Ok(Value::Int(7))));
    }

    #[test]
    fn errors_match_python() {
        // json.loads(text) in Python 3.11.
        let cases = [
            ("", "Expecting value: line 1 column 1 (char 0)"),
            (" ", "Expecting value: line 1 column 2 (char 1)"),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            (
                "{\"a\":1,}",
                "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
            ),
            (
                "{\"a\" 1}",
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            (
                "{1:2}",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "\"a\u{1}\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            (r#""\x""#, "Invalid \\escape: line 1 column 2 (char 1)"),
            (
                r#""\u12""#,
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                r#""\u12zz""#,
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            ("1.", "Extra data: line 1 column 2 (char 1)"),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            ("[1]x", "Extra data: line 1 column 4 (char 3)"),
            ("nul", "Expecting value: line 1 column 1 (char 0)"),
            (
                "\u{feff}1",
                "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
            (
                "\n\n  [1,\n  x]",
                "Expecting value: line 4 column 3 (char 10)",
            ),
            ("\"é\" x", "Extra data: line 1 column 5 (char 4)"),
            (
                "{\"a\"",
                "Expecting ':' delimiter: line 1 column 5 (char 4)",
            ),
            ("[", "Expecting value: line 1 column 2 (char 1)"),
            (
                "{",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            ("{\"a\":", "Expecting value: line 1 column 6 (char 5)"),
            (
                "\"\\",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            ("\"\\u", "Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
        ];
        for (text, expected) in cases {
            let message = json_parse(text).expect_err(text).to_string();
            assert_eq!(message, format!("invalid JSON: {expected}"), "{text:?}");
        }
    }

    #[test]
    fn nesting_is_limited_to_a_thousand_levels() {
        let depth_ok = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(json_parse(&depth_ok).is_ok());
        let too_deep = format!("{}{}", "[".repeat(1001), "]".repeat(1001));
        let message = json_parse(&too_deep).expect_err("too deep").to_string();
        assert!(message.contains("nested too deeply"), "{message}");
    }

    #[test]
    fn unrepresentable_input_is_an_error_not_a_panic() {
        for text in [
            "123456789012345678901234567890",
            "9223372036854775808",
            r#""\ud83d""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
            &"[".repeat(5000),
            &"{\"a\":".repeat(5000),
        ] {
            assert!(json_parse(text).is_err(), "{text:?}");
        }
    }
}
