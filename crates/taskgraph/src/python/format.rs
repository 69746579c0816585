//! Python's `str.format(**kwargs)` and the `format_map` of a dict that
//! leaves unknown placeholders alone.
//!
//! Parsing, lookups and errors happen in the order Python's own
//! implementation does them, so a template with several problems reports
//! the same one Python would.

use std::borrow::Cow;

use super::PyError;
use super::repr::{py_ascii, py_repr, py_str, write_str_repr};
use super::spec::{format_value, object_type_name, parse_index};
use crate::error::{Error, ErrorKind, Result};
use crate::value::{Map, Value};

/// Python's `template.format(**kwargs)`, where `lookup` finds a keyword
/// argument by name.
///
/// Supports `{name}`, `{{` / `}}`, `{name[key]}`, `{name[0]}`, numeric
/// attributes (`{n.real}`, `{d.year}`), conversions `!s` `!r` `!a`, format
/// specs (with nested `{fields}`) for str, int, bool and float, and
/// strftime specs for dates. A missing name is a `KeyError`; positional
/// fields (`{}`, `{0}`) are an `IndexError`, as there are no positional
/// arguments.
pub fn format<'v>(template: &str, lookup: &dyn Fn(&str) -> Option<&'v Value>) -> Result<String> {
    run(template, lookup, Missing::Fail)
}

/// [`format`](fn@format) with the keyword arguments in a map.
pub fn format_with(template: &str, kwargs: &Map) -> Result<String> {
    format(template, &|name| kwargs.get(name))
}

/// `template.format_map(d)` where `d`'s `__missing__` returns
/// `"{" + key + "}"`: unknown names stay as placeholders for a later pass.
///
/// Only the name reaches `__missing__`; the rest of the field still
/// applies to the string `"{key}"`, so `{key:>8}` pads it, `{key!r}`
/// quotes it and `{key[0]}` is `{`. Positional fields are a `ValueError`.
pub fn format_partial<'v>(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<&'v Value>,
) -> Result<String> {
    run(template, lookup, Missing::Placeholder)
}

/// What a name without a value becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Missing {
    /// `str.format`: `KeyError`.
    Fail,
    /// The partial `format_map`: the text `{name}`.
    Placeholder,
}

struct Context<'a, 'v> {
    lookup: &'a dyn Fn(&str) -> Option<&'v Value>,
    missing: Missing,
}

/// Python allows one level of fields nested in a spec, `{x:{width}}`.
const MAX_DEPTH: u8 = 2;

fn run<'v>(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<&'v Value>,
    missing: Missing,
) -> Result<String> {
    // Most strings in a task description have no braces at all.
    if !template.bytes().any(|b| b == b'{' || b == b'}') {
        return Ok(template.to_owned());
    }

    let context = Context { lookup, missing };
    let mut out = String::with_capacity(template.len() + 16);
    render(&context, template, MAX_DEPTH, &mut out).map_err(|err| {
        let mut shown = String::new();
        write_str_repr(&mut shown, template, false);
        Error::new(ErrorKind::Format(format!("cannot format {shown}: {err}")))
    })?;
    Ok(out)
}

/// Appends the rendering of `template` to `out`.
fn render(
    context: &Context<'_, '_>,
    template: &str,
    depth: u8,
    out: &mut String,
) -> Result<(), PyError> {
    if depth == 0 {
        return Err(PyError::value("Max string recursion exceeded"));
    }

    let bytes = template.as_bytes();
    let mut pos = 0;
    while let Some(offset) = bytes[pos..].iter().position(|&b| b == b'{' || b == b'}') {
        let at = pos + offset;
        out.push_str(&template[pos..at]);

        let brace = bytes[at];
        let next = bytes.get(at + 1).copied();
        if next == Some(brace) {
            out.push(char::from(brace));
            pos = at + 2;
            continue;
        }
        if brace == b'}' {
            return Err(PyError::value("Single '}' encountered in format string"));
        }
        if next.is_none() {
            return Err(PyError::value("Single '{' encountered in format string"));
        }

        let field = parse_field(template, at + 1)?;
        render_field(context, &field, depth, out)?;
        pos = field.end;
    }
    out.push_str(&template[pos..]);
    Ok(())
}

/// One replacement field, `{name!conversion:spec}`.
#[derive(Debug)]
struct Field<'t> {
    name: &'t str,
    conversion: Option<char>,
    spec: &'t str,
    /// The spec holds fields of its own to substitute first.
    spec_has_fields: bool,
    /// Byte offset just past the closing brace.
    end: usize,
}

/// Parses the field starting at byte `start` (just after its `{`).
fn parse_field(template: &str, start: usize) -> Result<Field<'_>, PyError> {
    let bytes = template.as_bytes();
    let mut field = Field {
        name: "",
        conversion: None,
        spec: "",
        spec_has_fields: false,
        end: 0,
    };

    // The name runs to `}`, `:` or `!`, except inside `[...]`, which may
    // hold any of those.
    let mut pos = start;
    let terminator = loop {
        let Some(&b) = bytes.get(pos) else {
            return Err(PyError::value("expected '}' before end of string"));
        };
        pos += 1;
        match b {
            b'{' => return Err(PyError::value("unexpected '{' in field name")),
            b'[' => {
                pos += bytes[pos..]
                    .iter()
                    .position(|&b| b == b']')
                    .unwrap_or(bytes.len() - pos)
            }
            b'}' | b':' | b'!' => break b,
            _ => {}
        }
    };
    field.name = &template[start..pos - 1];

    if terminator == b'}' {
        field.end = pos;
        return Ok(field);
    }
    if terminator == b'!' {
        let Some(conversion) = template[pos..].chars().next() else {
            return Err(PyError::value(
                "end of string while looking for conversion specifier",
            ));
        };
        field.conversion = Some(conversion);
        pos += conversion.len_utf8();
        match bytes.get(pos) {
            Some(b'}') => {
                field.end = pos + 1;
                return Ok(field);
            }
            Some(b':') => pos += 1,
            Some(_) => return Err(PyError::value("expected ':' after conversion specifier")),
            // Python goes on to look for the spec and fails there.
            None => {}
        }
    }

    parse_spec_text(template, pos, &mut field)?;
    Ok(field)
}

/// Finds the spec that starts at `start`: it ends at the `}` that balances
/// the field's `{`, counting nested fields.
fn parse_spec_text<'t>(
    template: &'t str,
    start: usize,
    field: &mut Field<'t>,
) -> Result<(), PyError> {
    let mut open = 1usize;
    for (offset, &b) in template.as_bytes()[start..].iter().enumerate() {
        match b {
            b'{' => {
                field.spec_has_fields = true;
                open += 1;
            }
            b'}' => {
                open -= 1;
                if open == 0 {
                    field.spec = &template[start..start + offset];
                    field.end = start + offset + 1;
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err(PyError::value("unmatched '{' in format spec"))
}

/// Looks the field up, converts it and formats it with its spec.
fn render_field(
    context: &Context<'_, '_>,
    field: &Field<'_>,
    depth: u8,
    out: &mut String,
) -> Result<(), PyError> {
    let mut value = resolve(context, field.name)?;

    if let Some(conversion) = field.conversion {
        let converted = match conversion {
            's' => py_str(&value),
            'r' => py_repr(&value),
            'a' => py_ascii(&value),
            other => return Err(unknown_conversion(other)),
        };
        value = Cow::Owned(Value::Str(converted));
    }

    if field.spec_has_fields {
        let mut spec = String::new();
        render(context, field.spec, depth - 1, &mut spec)?;
        format_value(out, &value, &spec)
    } else {
        format_value(out, &value, field.spec)
    }
}

fn unknown_conversion(c: char) -> PyError {
    let code = u32::from(c);
    if code > 32 && code < 127 {
        PyError::value(format!("Unknown conversion specifier {c}"))
    } else {
        PyError::value(format!("Unknown conversion specifier \\x{code:x}"))
    }
}

/// Finds the value a field name designates: the argument, then each
/// `.attribute` and `[key]` in turn.
fn resolve<'v>(context: &Context<'_, 'v>, name: &str) -> Result<Cow<'v, Value>, PyError> {
    let first_len = name.find(['.', '[']).unwrap_or(name.len());
    let (first, mut rest) = name.split_at(first_len);
    let mut value = argument(context, first)?;

    while !rest.is_empty() {
        let (accessor, tail) = next_accessor(rest)?;
        rest = tail;
        value = match accessor {
            Accessor::Attribute(attribute) => get_attribute(&value, attribute)?,
            Accessor::Index(index) => get_index(value, index)?,
            Accessor::Key(key) => get_key(value, key)?,
        };
    }
    Ok(value)
}

/// The keyword argument `first` names; empty or all-digit names would be
/// positional arguments, which we never have.
fn argument<'v>(context: &Context<'_, 'v>, first: &str) -> Result<Cow<'v, Value>, PyError> {
    let positional = first.is_empty() || first.bytes().all(|b| b.is_ascii_digit());
    if positional {
        let index = if first.is_empty() {
            0
        } else {
            parse_index(first)?
        };
        return Err(match context.missing {
            Missing::Placeholder => PyError::value("Format string contains positional fields"),
            Missing::Fail => PyError::index(format!(
                "Replacement index {index} out of range for positional args tuple"
            )),
        });
    }

    match ((context.lookup)(first), context.missing) {
        (Some(value), _) => Ok(Cow::Borrowed(value)),
        (None, Missing::Placeholder) => Ok(Cow::Owned(Value::Str(format!("{{{first}}}")))),
        (None, Missing::Fail) => Err(PyError::key_str(first)),
    }
}

/// One step after the argument name.
#[derive(Debug)]
enum Accessor<'t> {
    Attribute(&'t str),
    /// `[digits]`: an int subscript.
    Index(usize),
    /// `[anything else]`: a str subscript.
    Key(&'t str),
}

/// Splits the next `.attribute` or `[key]` off `rest` (non-empty).
fn next_accessor(rest: &str) -> Result<(Accessor<'_>, &str), PyError> {
    let (accessor, tail) = if let Some(after) = rest.strip_prefix('.') {
        let end = after.find(['.', '[']).unwrap_or(after.len());
        (Accessor::Attribute(&after[..end]), &after[end..])
    } else if let Some(after) = rest.strip_prefix('[') {
        let end = after
            .find(']')
            .ok_or_else(|| PyError::value("Missing ']' in format string"))?;
        let key = &after[..end];
        let accessor = if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            Accessor::Index(parse_index(key)?)
        } else {
            Accessor::Key(key)
        };
        (accessor, &after[end + 1..])
    } else {
        return Err(PyError::value(
            "Only '.' or '[' may follow ']' in format field specifier",
        ));
    };

    if matches!(accessor, Accessor::Attribute("") | Accessor::Key("")) {
        return Err(PyError::value("Empty attribute in format string"));
    }
    Ok((accessor, tail))
}

/// The data attributes our values have in Python. Methods (`str.upper`)
/// would print as `<built-in method ...>` with an address, which nothing
/// can reproduce, so they are reported as missing.
fn get_attribute<'v>(value: &Value, attribute: &str) -> Result<Cow<'v, Value>, PyError> {
    let found = match (value, attribute) {
        (Value::Int(i), "real" | "numerator") => Some(Value::Int(*i)),
        (Value::Bool(b), "real" | "numerator") => Some(Value::Int(i64::from(*b))),
        (Value::Int(_) | Value::Bool(_), "imag") => Some(Value::Int(0)),
        (Value::Int(_) | Value::Bool(_), "denominator") => Some(Value::Int(1)),
        (Value::Float(f), "real") => Some(Value::Float(*f)),
        (Value::Float(_), "imag") => Some(Value::Float(0.0)),
        (Value::Timestamp(t), _) => timestamp_attribute(t, attribute).map(Value::Int),
        _ => None,
    };
    found.map(Cow::Owned).ok_or_else(|| {
        PyError::attribute(format!(
            "'{}' object has no attribute '{attribute}'",
            object_type_name(value)
        ))
    })
}

fn timestamp_attribute(t: &crate::value::Timestamp, attribute: &str) -> Option<i64> {
    let time = t.time.as_ref();
    let number = match attribute {
        "year" => i64::from(t.year),
        "month" => i64::from(t.month),
        "day" => i64::from(t.day),
        "hour" => i64::from(time?.hour),
        "minute" => i64::from(time?.minute),
        "second" => i64::from(time?.second),
        "microsecond" => i64::from(time?.microsecond),
        _ => return None,
    };
    Some(number)
}

/// `value[index]` with an int index.
fn get_index(value: Cow<'_, Value>, index: usize) -> Result<Cow<'_, Value>, PyError> {
    if let Cow::Borrowed(Value::List(items)) = value {
        return items
            .get(index)
            .map(Cow::Borrowed)
            .ok_or_else(|| PyError::index("list index out of range"));
    }

    // Values we made ourselves (placeholders, attributes) are never large.
    match &*value {
        Value::List(items) => items
            .get(index)
            .cloned()
            .map(Cow::Owned)
            .ok_or_else(|| PyError::index("list index out of range")),
        Value::Str(s) => s
            .chars()
            .nth(index)
            .map(|c| Cow::Owned(Value::Str(c.to_string())))
            .ok_or_else(|| PyError::index("string index out of range")),
        // Our maps only have str keys, so an int never matches.
        Value::Map(_) => Err(PyError::key(index.to_string())),
        other => Err(not_subscriptable(other)),
    }
}

/// `value[key]` with a str key.
fn get_key<'v>(value: Cow<'v, Value>, key: &str) -> Result<Cow<'v, Value>, PyError> {
    if let Cow::Borrowed(Value::Map(map)) = value {
        return map
            .get(key)
            .map(Cow::Borrowed)
            .ok_or_else(|| PyError::key_str(key));
    }

    match &*value {
        Value::Map(map) => map
            .get(key)
            .cloned()
            .map(Cow::Owned)
            .ok_or_else(|| PyError::key_str(key)),
        Value::List(_) => Err(PyError::type_error(
            "list indices must be integers or slices, not str",
        )),
        Value::Str(_) => Err(PyError::type_error(
            "string indices must be integers, not 'str'",
        )),
        other => Err(not_subscriptable(other)),
    }
}

fn not_subscriptable(value: &Value) -> PyError {
    PyError::type_error(format!(
        "'{}' object is not subscriptable",
        object_type_name(value)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::value::{TimeOfDay, Timestamp};

    fn kwargs() -> Map {
        let date = Timestamp {
            year: 2020,
            month: 1,
            day: 2,
            time: None,
        };
        let time = TimeOfDay {
            hour: 21,
            minute: 59,
            second: 43,
            microsecond: 100_000,
            utc_offset_minutes: Some(-300),
        };
        let datetime = Timestamp {
            year: 2001,
            month: 12,
            day: 14,
            time: Some(time),
        };
        map! {
            "s" => "abc",
            "q" => "a'b",
            "n" => 42,
            "neg" => -42,
            "big" => 1_234_567,
            "f" => Value::Float(1.23456),
            "whole" => Value::Float(7.0),
            "t" => true,
            "none" => Value::Null,
            "m" => map! {"a" => 1, "0" => "zero", "k" => map! {"x" => "deep"}, "!" => 2},
            "l" => Value::List(vec![Value::Int(5), Value::List(vec![Value::Int(1), Value::Int(2)])]),
            "w" => 5,
            "p" => ".2f",
            "d" => Value::from(date),
            "dt" => Value::from(datetime),
            " a " => 1,
            "a b" => 2,
            "é" => "accent",
        }
    }

    fn fmt(template: &str) -> String {
        format_with(template, &kwargs()).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn substitutes_like_python() {
        // Expected results of Python 3.11's template.format(**kwargs).
        let cases = [
            ("plain text", "plain text"),
            ("{s}-{n}", "abc-42"),
            ("{{}} {{{n}}} }}{{", "{} {42} }{"),
            ("{s:>5}", "  abc"),
            ("{neg:05d}", "-0042"),
            ("{f:.2f}", "1.23"),
            ("{big:,}", "1,234,567"),
            ("{q!r}", "\"a'b\""),
            ("{s!r:>7}", "  'abc'"),
            ("{n!s:>5}", "   42"),
            ("{é!a}", "'accent'"),
            ("{m[a]}", "1"),
            ("{m[k][x]}", "deep"),
            ("{m[!]}", "2"),
            ("{l[0]}", "5"),
            ("{l[1][1]}", "2"),
            ("{l[01]}", "[1, 2]"),
            ("{s[1]}", "b"),
            ("{n.real}", "42"),
            ("{t.real}", "1"),
            ("{t.imag}", "0"),
            ("{f.real}", "1.23456"),
            ("{d.year}/{d.month}", "2020/1"),
            ("{whole}", "7.0"),
            ("{t}", "True"),
            ("{t:>5}", "    1"),
            ("{none}", "None"),
            ("{m}", "{'a': 1, '0': 'zero', 'k': {'x': 'deep'}, '!': 2}"),
            ("{l}", "[5, [1, 2]]"),
            ("{n:{w}}", "   42"),
            ("{f:{w}{p}}", " 1.23"),
            ("{n!r:{w}}", "42   "),
            ("{ a }", "1"),
            ("{a b}", "2"),
            ("{n:}", "42"),
            ("{s!s:}", "abc"),
            ("{n:}}}", "42}"),
            ("{d}", "2020-01-02"),
            ("{d:%Y/%m}", "2020/01"),
            ("{d:20}", "20"),
            ("{dt}", "2001-12-14 21:59:43.100000-05:00"),
            (
                "{dt!r}",
                "datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, \
                 tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))",
            ),
            ("{d!r}", "datetime.date(2020, 1, 2)"),
        ];
        for (template, expected) in cases {
            assert_eq!(fmt(template), expected, "{template:?}");
        }
    }

    #[test]
    fn errors_match_python() {
        // Python 3.11's exception for template.format(**kwargs).
        let cases = [
            ("{missing}", "KeyError: 'missing'"),
            ("{m[zz]}", "KeyError: 'zz'"),
            ("{m[0]}", "KeyError: 0"),
            (
                "{}",
                "IndexError: Replacement index 0 out of range for positional args tuple",
            ),
            (
                "{0}",
                "IndexError: Replacement index 0 out of range for positional args tuple",
            ),
            (
                "{5}",
                "IndexError: Replacement index 5 out of range for positional args tuple",
            ),
            (
                "{s}{}",
                "IndexError: Replacement index 0 out of range for positional args tuple",
            ),
            (
                "{0[0]}",
                "IndexError: Replacement index 0 out of range for positional args tuple",
            ),
            (
                "{99999999999999999999}",
                "ValueError: Too many decimal digits in format string",
            ),
            (
                "{l[99999999999999999999]}",
                "ValueError: Too many decimal digits in format string",
            ),
            ("{", "ValueError: Single '{' encountered in format string"),
            ("}", "ValueError: Single '}' encountered in format string"),
            ("a}b", "ValueError: Single '}' encountered in format string"),
            (
                "{s}}",
                "ValueError: Single '}' encountered in format string",
            ),
            (
                "{}}",
                "IndexError: Replacement index 0 out of range for positional args tuple",
            ),
            ("{s", "ValueError: expected '}' before end of string"),
            ("{s[}", "ValueError: expected '}' before end of string"),
            ("{s{n}", "ValueError: unexpected '{' in field name"),
            ("{n!}", "ValueError: unmatched '{' in format spec"),
            ("{n!r", "ValueError: unmatched '{' in format spec"),
            ("{n:", "ValueError: unmatched '{' in format spec"),
            (
                "{n!",
                "ValueError: end of string while looking for conversion specifier",
            ),
            ("{n!x}", "ValueError: Unknown conversion specifier x"),
            ("{n!ü}", "ValueError: Unknown conversion specifier \\xfc"),
            ("{missing!x}", "KeyError: 'missing'"),
            (
                "{n!rr}",
                "ValueError: expected ':' after conversion specifier",
            ),
            ("{l[]}", "ValueError: Empty attribute in format string"),
            ("{n.}", "ValueError: Empty attribute in format string"),
            ("{missing.}", "KeyError: 'missing'"),
            (
                "{l[0]x}",
                "ValueError: Only '.' or '[' may follow ']' in format field specifier",
            ),
            ("{n.b}", "AttributeError: 'int' object has no attribute 'b'"),
            (
                "{m.a}",
                "AttributeError: 'dict' object has no attribute 'a'",
            ),
            (
                "{d.x}",
                "AttributeError: 'datetime.date' object has no attribute 'x'",
            ),
            (
                "{d.hour}",
                "AttributeError: 'datetime.date' object has no attribute 'hour'",
            ),
            (
                "{none.x}",
                "AttributeError: 'NoneType' object has no attribute 'x'",
            ),
            (
                "{l[x]}",
                "TypeError: list indices must be integers or slices, not str",
            ),
            (
                "{l[-1]}",
                "TypeError: list indices must be integers or slices, not str",
            ),
            (
                "{s[x]}",
                "TypeError: string indices must be integers, not 'str'",
            ),
            ("{n[0]}", "TypeError: 'int' object is not subscriptable"),
            ("{t[0]}", "TypeError: 'bool' object is not subscriptable"),
            ("{f[0]}", "TypeError: 'float' object is not subscriptable"),
            (
                "{none[0]}",
                "TypeError: 'NoneType' object is not subscriptable",
            ),
            (
                "{d[0]}",
                "TypeError: 'datetime.date' object is not subscriptable",
            ),
            ("{n[:]}", "TypeError: 'int' object is not subscriptable"),
            ("{l[5]}", "IndexError: list index out of range"),
            ("{s[5]}", "IndexError: string index out of range"),
            ("{n:{w:{n}}}", "ValueError: Max string recursion exceeded"),
            ("{n:{missing}}", "KeyError: 'missing'"),
            (
                "{n:{{}}}",
                "ValueError: Invalid format specifier '{}' for object of type 'int'",
            ),
            (
                "{none:>5}",
                "TypeError: unsupported format string passed to NoneType.__format__",
            ),
        ];
        for (template, expected) in cases {
            let message = format_with(template, &kwargs())
                .expect_err(template)
                .to_string();
            assert!(message.ends_with(expected), "{template:?}: {message}");
        }
    }

    #[test]
    fn error_names_the_template() {
        let err = format_with("{x}-y", &Map::default()).expect_err("missing key");
        assert!(matches!(err.kind(), ErrorKind::Format(_)));
        assert_eq!(err.to_string(), "cannot format '{x}-y': KeyError: 'x'");
    }

    #[test]
    fn closure_lookups_need_no_map() {
        let value = Value::from("v");
        let got = format("<{key}>", &|name| (name == "key").then_some(&value));
        assert_eq!(got.ok().as_deref(), Some("<v>"));
    }

    #[test]
    fn partial_keeps_unknown_placeholders() {
        // Python 3.11: template.format_map(D(a=1)) where D.__missing__
        // returns "{" + key + "}".
        let known = map! {"a" => 1, "w" => 9};
        let cases = [
            ("{a}{b}", "1{b}"),
            ("{b:>8}", "     {b}"),
            ("{b!r}", "'{b}'"),
            ("{b[0]}", "{"),
            ("{{b}}", "{b}"),
            ("{{{b}}}", "{{b}}"),
            ("{ b }", "{ b }"),
            ("{b:{w}}", "{b}      "),
            ("no fields", "no fields"),
        ];
        for (template, expected) in cases {
            let got = format_partial(template, &|name| known.get(name));
            assert_eq!(got.ok().as_deref(), Some(expected), "{template:?}");
        }

        let errors = [
            ("{}", "ValueError: Format string contains positional fields"),
            (
                "{0}",
                "ValueError: Format string contains positional fields",
            ),
            ("{b.x}", "AttributeError: 'str' object has no attribute 'x'"),
            (
                "{b[x]}",
                "TypeError: string indices must be integers, not 'str'",
            ),
            (
                "{b:{c}}",
                "ValueError: Invalid format specifier '{c}' for object of type 'str'",
            ),
            (
                "{a:{c}}",
                "ValueError: Invalid format specifier '{c}' for object of type 'int'",
            ),
            (
                "{b:d}",
                "ValueError: Unknown format code 'd' for object of type 'str'",
            ),
            ("{b", "ValueError: expected '}' before end of string"),
        ];
        for (template, expected) in errors {
            let message = format_partial(template, &|name| known.get(name))
                .expect_err(template)
                .to_string();
            assert!(message.ends_with(expected), "{template:?}: {message}");
        }
    }
}
