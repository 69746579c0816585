//! JSON output identical to Python's `json.dumps` with `ensure_ascii=True`.
//!
//! The full task graph can be ~90 MB of JSON, so the writer appends to one
//! buffer, copies runs of plain ASCII in bulk and allocates nothing per
//! node (the scratch vectors for sorting keys are reused across maps).

use std::io;

use rayon::prelude::*;

use super::float::write_float_repr;
use crate::error::{Error, ErrorKind, Result};
use crate::util::words;
use crate::value::{Map, Value};

/// Separators and indentation, named after the Python call producing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonLayout {
    /// `indent=2, separators=(",", ": ")`.
    Pretty,
    /// `separators=(",", ":")`, no newlines (taskgraph's `util.json.dumps`).
    Compact,
    /// Python's default: `separators=(", ", ": ")`, no newlines.
    Spaced,
}

/// How to write a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonStyle {
    pub layout: JsonLayout,
    /// `sort_keys=True`: keys in code point order, which is UTF-8 byte
    /// order. Otherwise maps keep their insertion order.
    pub sort_keys: bool,
}

impl JsonStyle {
    /// `json.dumps(v, sort_keys=True, indent=2, separators=(",", ": "))`.
    pub const PRETTY: JsonStyle = JsonStyle {
        layout: JsonLayout::Pretty,
        sort_keys: true,
    };
}

/// `json.dumps(v, sort_keys=True, indent=2, separators=(",", ": "))`, the
/// form of every graph artifact.
pub fn json_pretty(value: &Value) -> Result<String> {
    json_to_string(value, JsonStyle::PRETTY)
}

/// `json.dumps(v, separators=(",", ":"), sort_keys=...)`.
pub fn json_compact(value: &Value, sort_keys: bool) -> Result<String> {
    json_to_string(
        value,
        JsonStyle {
            layout: JsonLayout::Compact,
            sort_keys,
        },
    )
}

/// The value as a `serde_json` value, for code that speaks serde (schema
/// validators, HTTP clients). Maps keep their order, or are sorted by key
/// in code point order when `sort_keys`. What has no JSON form is refused:
/// dates, as by `json.dumps`, and non-finite floats, which `json.dumps`
/// would write as `NaN` or `Infinity`.
pub fn to_serde_json(value: &Value, sort_keys: bool) -> Result<serde_json::Value> {
    use serde_json::Value as Json;
    let refuse = |what: String| Err(Error::new(ErrorKind::Json(what)));
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(number) => Json::Number(number),
            None => return refuse(format!("{f} has no JSON form")),
        },
        Value::Str(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|item| to_serde_json(item, sort_keys))
                .collect::<Result<_>>()?,
        ),
        Value::Map(map) => {
            let mut entries: Vec<(&str, &Value)> = map.iter().collect();
            if sort_keys {
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            let mut out = serde_json::Map::with_capacity(entries.len());
            for (key, item) in entries {
                out.insert(key.to_owned(), to_serde_json(item, sort_keys)?);
            }
            Json::Object(out)
        }
        Value::Timestamp(_) => {
            return refuse(format!(
                "Object of type {} is not JSON serializable",
                value.type_name()
            ));
        }
    })
}

/// `json.dumps(v)` with Python's default separators, keys unsorted.
pub fn json_stdlib(value: &Value) -> Result<String> {
    json_to_string(
        value,
        JsonStyle {
            layout: JsonLayout::Spaced,
            sort_keys: false,
        },
    )
}

/// Writes `value` in `style` to a new string.
pub fn json_to_string(value: &Value, style: JsonStyle) -> Result<String> {
    let mut out = String::new();
    write_json_into(&mut out, value, style)?;
    Ok(out)
}

/// Appends `value` in `style` to `out`.
pub fn write_json_into(out: &mut String, value: &Value, style: JsonStyle) -> Result<()> {
    let mut emitter = Emitter::new(StringSink(out), style);
    emitter.value(value)
}

/// A JSON document assembled from borrowed parts, so that a large output
/// (a task graph) is written straight from the data it shows, without
/// first copying that data into one [`Value`] tree.
#[derive(Debug)]
pub enum JsonNode<'v> {
    Value(&'v Value),
    Map(&'v Map),
    Str(&'v str),
    StrList(&'v [String]),
    /// An object; its entries are sorted by key when the style sorts keys.
    Object(Vec<(&'v str, JsonNode<'v>)>),
}

/// Streams `node` in `style` to `writer`, as [`write_json`] does.
pub fn write_json_node<W: io::Write>(
    writer: W,
    node: &JsonNode<'_>,
    style: JsonStyle,
) -> Result<()> {
    let sink = WriterSink {
        writer,
        buf: String::with_capacity(FLUSH_AT + 4096),
    };
    let mut emitter = Emitter::new(sink, style);
    emitter.node(node)?;
    emitter.sink.flush()
}

/// `node` in `style`, as a string.
pub fn json_node_to_string(node: &JsonNode<'_>, style: JsonStyle) -> Result<String> {
    let mut out = String::new();
    let mut emitter = Emitter::new(StringSink(&mut out), style);
    emitter.node(node)?;
    Ok(out)
}

/// Streams `value` in `style` to `writer` through a 64 KiB buffer. A write
/// failure is reported as a JSON error carrying the I/O error's text; the
/// caller knows which file it was writing and can say so.
pub fn write_json<W: io::Write>(writer: W, value: &Value, style: JsonStyle) -> Result<()> {
    let sink = WriterSink {
        writer,
        buf: String::with_capacity(FLUSH_AT + 4096),
    };
    let mut emitter = Emitter::new(sink, style);
    emitter.value(value)?;
    emitter.sink.flush()
}

/// Where the emitter's text goes.
trait Sink {
    fn buf(&mut self) -> &mut String;

    /// Called between values, where it is safe to hand text on.
    fn checkpoint(&mut self) -> Result<()>;
}

struct StringSink<'a>(&'a mut String);

impl Sink for StringSink<'_> {
    fn buf(&mut self) -> &mut String {
        self.0
    }

    fn checkpoint(&mut self) -> Result<()> {
        Ok(())
    }
}

const FLUSH_AT: usize = 64 * 1024;

/// `node` as text, indented as if `depth` levels deep. `scratch` holds
/// the sorting vectors of an earlier call, to be used again.
fn render_at<'v>(
    node: &JsonNode<'v>,
    style: JsonStyle,
    depth: usize,
    capacity: usize,
    scratch: &mut Scratch<'v>,
) -> Result<String> {
    let mut text = String::with_capacity(capacity);
    let mut emitter = Emitter::new(StringSink(&mut text), style);
    emitter.depth = depth;
    emitter.scratch = std::mem::take(scratch);
    let result = emitter.node(node);
    *scratch = std::mem::take(&mut emitter.scratch);
    result.map(|()| text)
}

/// One reusable vector per nesting level for sorting a map's entries.
type Scratch<'v> = Vec<Vec<(&'v str, &'v Value)>>;

/// Entries of one object rendered together in parallel.
const PARALLEL_ENTRIES: usize = 64;

/// The most an entry's text reserves before it is written.
const MAX_CAPACITY_HINT: usize = 64 * 1024;

struct WriterSink<W> {
    writer: W,
    buf: String,
}

impl<W: io::Write> WriterSink<W> {
    fn flush(&mut self) -> Result<()> {
        self.writer
            .write_all(self.buf.as_bytes())
            .and_then(|()| self.writer.flush())
            .map_err(write_error)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W: io::Write> Sink for WriterSink<W> {
    fn buf(&mut self) -> &mut String {
        &mut self.buf
    }

    fn checkpoint(&mut self) -> Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.writer
                .write_all(self.buf.as_bytes())
                .map_err(write_error)?;
            self.buf.clear();
        }
        Ok(())
    }
}

fn write_error(err: io::Error) -> Error {
    Error::new(ErrorKind::Json(format!("cannot write JSON: {err}")))
}

/// Walks a value tree and writes it.
struct Emitter<'v, S> {
    sink: S,
    style: JsonStyle,
    depth: usize,
    /// One reusable vector per nesting level for sorting a map's entries.
    scratch: Scratch<'v>,
}

impl<'v, S: Sink> Emitter<'v, S> {
    fn new(sink: S, style: JsonStyle) -> Self {
        Emitter {
            sink,
            style,
            depth: 0,
            scratch: Vec::new(),
        }
    }

    fn value(&mut self, value: &'v Value) -> Result<()> {
        let out = self.sink.buf();
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Int(i) => write_int(out, *i),
            Value::Float(f) => write_float(out, *f),
            Value::Str(s) => write_json_str(out, s),
            Value::List(items) => return self.list(items),
            Value::Map(map) => return self.map(map),
            Value::Timestamp(_) => {
                return Err(Error::new(ErrorKind::Json(format!(
                    "Object of type {} is not JSON serializable",
                    value.type_name()
                ))));
            }
        }
        Ok(())
    }

    fn node(&mut self, node: &JsonNode<'v>) -> Result<()> {
        match node {
            JsonNode::Value(value) => self.value(value),
            JsonNode::Map(map) => self.map(map),
            JsonNode::Str(text) => {
                write_json_str(self.sink.buf(), text);
                Ok(())
            }
            JsonNode::StrList(items) => self.str_list(items),
            JsonNode::Object(entries) => self.object(entries),
        }
    }

    fn str_list(&mut self, items: &[String]) -> Result<()> {
        if items.is_empty() {
            self.sink.buf().push_str("[]");
            return Ok(());
        }
        self.sink.buf().push('[');
        self.depth += 1;
        for (i, item) in items.iter().enumerate() {
            self.separator(i == 0);
            write_json_str(self.sink.buf(), item);
        }
        self.depth -= 1;
        self.newline();
        self.sink.buf().push(']');
        Ok(())
    }

    fn object(&mut self, entries: &[(&'v str, JsonNode<'v>)]) -> Result<()> {
        if entries.is_empty() {
            self.sink.buf().push_str("{}");
            return Ok(());
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        if self.style.sort_keys {
            order.sort_by(|&a, &b| entries[a].0.cmp(entries[b].0));
        }
        let colon = if self.style.layout == JsonLayout::Compact {
            ":"
        } else {
            ": "
        };

        self.sink.buf().push('{');
        self.depth += 1;
        if entries.len() < PARALLEL_ENTRIES {
            // A small object (the fields of one task) is written in place.
            for (offset, &index) in order.iter().enumerate() {
                self.separator(offset == 0);
                let out = self.sink.buf();
                write_json_str(out, entries[index].0);
                out.push_str(colon);
                self.node(&entries[index].1)?;
                self.sink.checkpoint()?;
            }
            self.depth -= 1;
            self.newline();
            self.sink.buf().push('}');
            return Ok(());
        }

        // A big object (the tasks of a graph) is rendered a batch of
        // entries at a time, each entry on whichever core is free, and the
        // texts are written in order.
        // Each text starts with room for a little more than the average of
        // the batch before, so that most never grow (and reallocate) while
        // they are written.
        let mut capacity = 0;
        for (batch_number, batch) in order.chunks(PARALLEL_ENTRIES).enumerate() {
            let (style, depth) = (self.style, self.depth);
            let render = |scratch: &mut Scratch<'v>, &i: &usize| {
                render_at(&entries[i].1, style, depth, capacity, scratch)
            };
            let rendered: Vec<Result<String>> = if batch.len() < PARALLEL_ENTRIES {
                let mut scratch = std::mem::take(&mut self.scratch);
                let rendered = batch.iter().map(|i| render(&mut scratch, i)).collect();
                self.scratch = scratch;
                rendered
            } else {
                batch.par_iter().map_init(Scratch::new, render).collect()
            };
            let mut batch_bytes = 0;
            for (offset, (&index, text)) in batch.iter().zip(rendered).enumerate() {
                let text = text?;
                batch_bytes += text.len();
                self.separator(batch_number == 0 && offset == 0);
                let out = self.sink.buf();
                write_json_str(out, entries[index].0);
                out.push_str(colon);
                out.push_str(&text);
                self.sink.checkpoint()?;
            }
            capacity = (batch_bytes / batch.len() * 5 / 4).min(MAX_CAPACITY_HINT);
        }
        self.depth -= 1;
        self.newline();
        self.sink.buf().push('}');
        Ok(())
    }

    fn list(&mut self, items: &'v [Value]) -> Result<()> {
        if items.is_empty() {
            self.sink.buf().push_str("[]");
            return Ok(());
        }

        self.sink.buf().push('[');
        self.depth += 1;
        for (i, item) in items.iter().enumerate() {
            self.separator(i == 0);
            self.value(item)?;
            self.sink.checkpoint()?;
        }
        self.depth -= 1;
        self.newline();
        self.sink.buf().push(']');
        Ok(())
    }

    fn map(&mut self, map: &'v crate::value::Map) -> Result<()> {
        if map.is_empty() {
            self.sink.buf().push_str("{}");
            return Ok(());
        }

        self.sink.buf().push('{');
        self.depth += 1;
        let result = match map.first() {
            // Half the maps of a task graph hold one entry, with nothing
            // to sort.
            Some(only) if map.len() == 1 => self.entries(&[only]),
            _ => {
                let mut entries = self.take_scratch();
                entries.extend(map.iter());
                if self.style.sort_keys {
                    entries.sort_unstable_by(|a, b| key_order(a.0, b.0));
                }
                let result = self.entries(&entries);
                self.give_back_scratch(entries);
                result
            }
        };
        self.depth -= 1;
        result?;

        self.newline();
        self.sink.buf().push('}');
        Ok(())
    }

    fn entries(&mut self, entries: &[(&'v str, &'v Value)]) -> Result<()> {
        let colon = if self.style.layout == JsonLayout::Compact {
            ":"
        } else {
            ": "
        };
        for (i, (key, item)) in entries.iter().enumerate() {
            self.separator(i == 0);
            let out = self.sink.buf();
            write_json_str(out, key);
            out.push_str(colon);
            self.value(item)?;
            self.sink.checkpoint()?;
        }
        Ok(())
    }

    /// What goes before an element: a comma unless it is the first, then
    /// the line break and indentation of the pretty layout.
    fn separator(&mut self, first: bool) {
        let out = self.sink.buf();
        match (self.style.layout, first) {
            (JsonLayout::Spaced, false) => out.push_str(", "),
            (JsonLayout::Pretty | JsonLayout::Compact, false) => out.push(','),
            (_, true) => {}
        }
        self.newline();
    }

    fn newline(&mut self) {
        if self.style.layout != JsonLayout::Pretty {
            return;
        }
        let out = self.sink.buf();
        let spaces = self.depth * 2;
        if let Some(line_start) = NEWLINE_INDENT.get(..1 + spaces) {
            out.push_str(line_start);
            return;
        }
        out.push_str(NEWLINE_INDENT);
        let mut spaces = spaces + 1 - NEWLINE_INDENT.len();
        while spaces > 0 {
            let chunk = spaces.min(NEWLINE_INDENT.len() - 1);
            out.push_str(&NEWLINE_INDENT[1..=chunk]);
            spaces -= chunk;
        }
    }

    fn take_scratch(&mut self) -> Vec<(&'v str, &'v Value)> {
        self.scratch.pop().unwrap_or_default()
    }

    fn give_back_scratch(&mut self, mut entries: Vec<(&'v str, &'v Value)>) {
        entries.clear();
        self.scratch.push(entries);
    }
}

/// A line break and the indentation of the pretty layout, 32 levels deep.
const NEWLINE_INDENT: &str = "\n                                                                ";

/// Ints in decimal without going through `fmt`.
fn write_int(out: &mut String, value: i64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = value.unsigned_abs();
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push('-');
    }
    out.extend(digits[..len].iter().rev().map(|&d| char::from(d)));
}

/// Floats as `repr()` does, with Python's JSON names for the non-finite.
fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        write_float_repr(out, value);
    }
}

/// Which bytes are copied as they are: printable ASCII except `"` and
/// `\`. Controls, DEL and every byte of a non-ASCII character get escaped.
const fn plain_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        table[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    table
}

const PLAIN: [bool; 256] = plain_bytes();

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The order of `sort_keys`: code points, which for UTF-8 is byte order.
/// Most keys differ within their first eight bytes, so those are compared
/// as one word before the whole keys are.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    let leading = |key: &str| words::leading_word(key.as_bytes());
    leading(a).cmp(&leading(b)).then_with(|| a.cmp(b))
}

/// Writes `s` as a JSON string literal with every non-ASCII character as
/// `\uXXXX` (a surrogate pair above the BMP).
pub(super) fn write_json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Most strings (keys, labels, paths) need no escape at all: they are
    // checked a word at a time and copied whole.
    if all_plain_bytes(s.as_bytes()) {
        out.push_str(s);
    } else {
        write_escaped(out, s);
    }
    out.push('"');
}

/// Whether no byte of `bytes` needs escaping, eight at a time. The tail
/// of a text of eight bytes or more is its last eight bytes (which
/// overlap the word before); a text of four to seven bytes is two
/// overlapping halves, each filled up with spaces, which need no escape.
fn all_plain_bytes(bytes: &[u8]) -> bool {
    const SPACES_ABOVE: u64 = 0x2020_2020 << 32;
    let half = |at: usize| {
        let four: [u8; 4] = bytes[at..at + 4].try_into().unwrap_or_default();
        u64::from(u32::from_le_bytes(four)) | SPACES_ABOVE
    };
    match bytes.len() {
        0..=3 => bytes.iter().all(|&byte| PLAIN[usize::from(byte)]),
        4..=7 => all_plain(half(0)) && all_plain(half(bytes.len() - 4)),
        _ => {
            bytes
                .chunks_exact(8)
                .all(|word| all_plain(u64::from_le_bytes(word.try_into().unwrap_or_default())))
                && all_plain(words::trailing_word(bytes))
        }
    }
}

/// The body of a string literal that holds something to escape.
fn write_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let next = words::skip_plain_words(bytes, i, all_plain);
        if next > i {
            i = next;
            continue;
        }
        if PLAIN[usize::from(bytes[i])] {
            i += 1;
            continue;
        }
        out.push_str(&s[run_start..i]);
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        write_escape(out, c);
        i += c.len_utf8();
        run_start = i;
    }
    out.push_str(&s[run_start..]);
}

/// Whether none of the eight bytes of `word` needs escaping: no control
/// character, quote, backslash, DEL or non-ASCII byte.
fn all_plain(word: u64) -> bool {
    let special = words::bytes_below(word, 0x20)
        | words::bytes_equal(word, b'"')
        | words::bytes_equal(word, b'\\')
        | words::bytes_equal(word, 0x7f)
        | words::non_ascii(word);
    special == 0
}

fn write_escape(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        _ => {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write_unicode_escape(out, *unit);
            }
        }
    }
}

fn write_unicode_escape(out: &mut String, unit: u16) {
    out.push_str("\\u");
    for shift in [12, 8, 4, 0] {
        out.push(char::from(HEX[usize::from((unit >> shift) & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map;
    use crate::value::Timestamp;

    fn sample() -> Value {
        Value::List(vec![
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
            Value::Float(1e16),
            Value::from("é😀\u{2028}\u{0}\u{1f}\u{7f}\"\\/\u{8}\u{c}\n\r\t"),
            Value::Map(
                map! {"b" => map! {}, "a" => Value::List(vec![]), "c" => Value::List(vec![Value::Map(map! {})])},
            ),
        ])
    }

    #[test]
    fn eight_bytes_at_a_time_agree_with_the_table() {
        words::for_each_word_with_one_byte(|word, bytes| {
            let expected = bytes.iter().all(|b| PLAIN[usize::from(*b)]);
            assert_eq!(all_plain(word), expected, "{bytes:?}");
        });
        let mut out = String::new();
        write_json_str(&mut out, "0123456789\"quoted\"\tü 0123456789");
        assert_eq!(out, r#""0123456789\"quoted\"\t\u00fc 0123456789""#);
    }

    #[test]
    fn keys_sort_in_code_point_order() {
        let mut keys = vec![
            "b",
            "a",
            "",
            "ab",
            "a\u{0}",
            "abcdefgh",
            "abcdefgi",
            "abcdefg",
            "abcdefghZ",
            "abcdefgh\u{0}",
            "\u{e9}",
            "z",
            "Z",
            "\u{1f600}",
            "\u{ffff}",
            "task-reference",
            "task",
            "tasks",
        ];
        let mut expected = keys.clone();
        expected.sort();
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, expected);
    }

    #[test]
    fn whole_strings_are_plain_only_when_every_byte_is() {
        // One byte to escape at each position of strings of every length
        // around the word size, the partial last word included.
        for len in 0..=19 {
            let plain = "k".repeat(len);
            assert!(all_plain_bytes(plain.as_bytes()), "{len}");
            for position in 0..len {
                for (special, escaped) in [
                    ('"', "\\\""),
                    ('\\', "\\\\"),
                    ('\n', "\\n"),
                    ('\u{7f}', "\\u007f"),
                    ('\u{e9}', "\\u00e9"),
                ] {
                    let mut text: Vec<char> = plain.chars().collect();
                    text[position] = special;
                    let text: String = text.into_iter().collect();
                    assert!(!all_plain_bytes(text.as_bytes()), "{text:?}");
                    let mut out = String::new();
                    write_json_str(&mut out, &text);
                    let expected = format!(
                        "\"{}{escaped}{}\"",
                        &plain[..position],
                        &plain[position + 1..]
                    );
                    assert_eq!(out, expected);
                }
            }
        }
    }

    #[test]
    fn pretty_matches_python() {
        // json.dumps(sample, sort_keys=True, indent=2, separators=(",", ": "))
        let expected = r#"[
  NaN,
  Infinity,
  -Infinity,
  1e+16,
  "\u00e9\ud83d\ude00\u2028\u0000\u001f\u007f\"\\/\b\f\n\r\t",
  {
    "a": [],
    "b": {},
    "c": [
      {}
    ]
  }
]"#;
        assert_eq!(json_pretty(&sample()).ok().as_deref(), Some(expected));
    }

    #[test]
    fn empty_containers_at_top_level() {
        assert_eq!(
            json_pretty(&Value::Map(map! {})).ok().as_deref(),
            Some("{}")
        );
        assert_eq!(
            json_pretty(&Value::List(vec![])).ok().as_deref(),
            Some("[]")
        );
    }

    #[test]
    fn compact_and_stdlib_separators() {
        let value = Value::Map(map! {
            "b" => 1,
            "a" => Value::List(vec![Value::Int(1), Value::Int(-2), map! {"x" => Value::Null}.into()]),
            "t" => true,
            "f" => Value::Float(0.5),
        });
        // Python 3.11: json.dumps(v), json.dumps(v, separators=(",", ":")),
        // and the same with sort_keys=True.
        assert_eq!(
            json_stdlib(&value).ok().as_deref(),
            Some(r#"{"b": 1, "a": [1, -2, {"x": null}], "t": true, "f": 0.5}"#)
        );
        assert_eq!(
            json_compact(&value, false).ok().as_deref(),
            Some(r#"{"b":1,"a":[1,-2,{"x":null}],"t":true,"f":0.5}"#)
        );
        assert_eq!(
            json_compact(&value, true).ok().as_deref(),
            Some(r#"{"a":[1,-2,{"x":null}],"b":1,"f":0.5,"t":true}"#)
        );
    }

    #[test]
    fn serde_values_keep_or_sort_their_keys_and_refuse_what_json_cannot_hold() {
        let value = crate::yaml::load_str("{b: [1, 2.5, true, null], a: x}", None).unwrap();
        let kept = to_serde_json(&value, false).unwrap();
        assert_eq!(kept.to_string(), r#"{"b":[1,2.5,true,null],"a":"x"}"#);
        let sorted = to_serde_json(&value, true).unwrap();
        assert_eq!(sorted.to_string(), r#"{"a":"x","b":[1,2.5,true,null]}"#);

        assert!(to_serde_json(&Value::Float(f64::NAN), false).is_err());
        let date = crate::yaml::load_str("2001-12-14", None).unwrap();
        let err = to_serde_json(&date, false).unwrap_err().to_string();
        assert!(err.contains("is not JSON serializable"), "{err}");
    }

    #[test]
    fn keys_sort_by_code_point_and_are_escaped() {
        let value = Value::Map(map! {"é" => 1, "z" => 2, "Z" => 3, "😀" => 4, "\u{ffff}" => 5});
        // Python: json.dumps(v, sort_keys=True, separators=(",", ":"))
        assert_eq!(
            json_compact(&value, true).ok().as_deref(),
            Some(r#"{"Z":3,"z":2,"\u00e9":1,"\uffff":5,"\ud83d\ude00":4}"#)
        );
    }

    #[test]
    fn ints_at_the_extremes() {
        let value = Value::List(vec![
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(0),
        ]);
        assert_eq!(
            json_compact(&value, false).ok().as_deref(),
            Some("[-9223372036854775808,9223372036854775807,0]")
        );
    }

    #[test]
    fn dates_are_not_serializable() {
        let date = Value::from(Timestamp {
            year: 2020,
            month: 1,
            day: 2,
            time: None,
        });
        let err = json_pretty(&Value::List(vec![date])).expect_err("date");
        assert!(matches!(err.kind(), ErrorKind::Json(_)));
        assert!(
            err.to_string()
                .contains("Object of type date is not JSON serializable"),
            "{err}"
        );
    }

    #[test]
    fn streaming_equals_the_string_form() {
        let mut big = Vec::new();
        for i in 0..5000 {
            big.push(Value::Map(
                map! {"label" => format!("task-{i}-é"), "n" => i64::from(i)},
            ));
        }
        let value = Value::List(big);
        let mut streamed = Vec::new();
        write_json(&mut streamed, &value, JsonStyle::PRETTY).expect("write");
        assert_eq!(String::from_utf8(streamed).ok(), json_pretty(&value).ok());
    }

    #[test]
    fn deep_nesting_indents_past_the_constant() {
        let mut value = Value::Int(1);
        for _ in 0..40 {
            value = Value::List(vec![value]);
        }
        let text = json_pretty(&value).expect("json");
        assert!(text.contains(&format!("\n{}1\n", " ".repeat(80))));
    }
}
