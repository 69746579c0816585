//! YAML loading and dumping with the exact typing rules of the reference.
//!
//! Python taskgraph reads every YAML file (`config.yml`, `kind.yml`,
//! parameters) with PyYAML's `CSafeLoader`: the libyaml parser, YAML 1.1
//! implicit typing and the safe constructor. It writes `parameters.yml`
//! with `yaml.safe_dump`. This module reproduces both.
//!
//! # Why not serde_yaml
//!
//! YAML 1.1 types a scalar by its text *and* by how it was written: plain
//! `500_000_000` is an int, `'500_000_000'` stays a string, plain `yes` is
//! `True` and `0755` is the octal int 493. A loader therefore needs each
//! scalar's style. `serde_yaml` hands out already-typed values that do not
//! say whether a scalar was quoted, and it types by YAML 1.2 rules. We use
//! the low-level event parser of `yaml-rust2` instead, which reports every
//! scalar's raw text, style, tag, anchor and position (`parse` adapts its
//! events), and do the typing ourselves: `resolve` (which resolvers exist
//! and in what order), `compose` (events to a node graph) and `construct`
//! (nodes to [`Value`]s, merge keys included). `emit` writes YAML back the
//! way PyYAML's emitter does, which no Rust emitter reproduces.
//!
//! Most files keep to a plain block style, which `fast` reads line by line
//! straight to values, several times faster; it leaves everything else,
//! errors included, to the loader above, and its tests check that it
//! gives what that loader gives.
//!
//! # Where the result differs from PyYAML
//!
//! [`Value`] maps have string keys, and a few things Python can hold have
//! no [`Value`]; these are the deliberate differences:
//!
//! * Non-string mapping keys become strings with Python's `str()`: `3` is
//!   `"3"`, `1.5` is `"1.5"`, `true` is `"True"`, `null` is `"None"`, a
//!   date is `"2001-12-14"`. Keys Python treats as one (`1`, `1.0`, `true`)
//!   still collapse into one entry named after the first, but a string key
//!   and a non-string key with the same text (`"1"` and `1`), which are two
//!   entries in Python, become one entry here, the later value winning.
//! * Integers outside the `i64` range are an error; Python would keep them.
//! * A node that contains itself through an alias (`&a [*a]`) is an error;
//!   Python builds a recursive list.
//! * `!!binary`, `!!omap`, `!!pairs` and `!!set` are errors: there is no
//!   bytes, pair list or set [`Value`].
//! * Nesting deeper than 1000 levels is an error, and so is a document
//!   whose aliases would expand it beyond ten times its own node count plus
//!   a million nodes.
//! * libyaml (YAML 1.1) treats U+0085, U+2028 and U+2029 as line breaks and
//!   accepts only alphanumerics, `-` and `_` in anchor names; yaml-rust2
//!   follows YAML 1.2, where those three characters are ordinary content and
//!   anchor names may hold any non-space, non-flow-indicator character.
//!   Files written for the reference do not rely on either.
//! * An anchor defined twice is an error in libyaml; here the second
//!   definition replaces the first for the aliases after it.
//! * Parse errors carry yaml-rust2's wording, not libyaml's; both give the
//!   line and column.
//! * A tab indenting a line is accepted; libyaml rejects it. (A tab after a
//!   mapping's `:`, which libyaml accepts and yaml-rust2 does not, is
//!   accepted: see `with_space_after_colon`.)
//! * A block scalar whose first lines are blank but longer than its
//!   indentation, followed by a less indented comment, is an error here
//!   and an empty scalar in libyaml. (Where yaml-rust2 ends a block scalar
//!   differently from libyaml at the end of the text, `parse` corrects it.)
//!
//! Everything else, including the odd corners (`! "3"` is the int 3, `=` as
//! a value is an error, merged keys shadow each other as PyYAML 6.0.4 lets
//! them), is meant to match. The tests at the bottom of this module check
//! the typing rules kinds rely on, with values PyYAML gave for the same
//! text; the `loader` golden fixture checks them end to end.

use foldhash::HashMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::util::words;
use crate::value::Value;

mod compose;
mod construct;
mod emit;
mod fast;
mod parse;
mod pystr;
mod resolve;

/// A loaded document, with the position of every mapping key near the top.
#[derive(Clone, Debug)]
pub struct Document {
    pub value: Value,
    positions: PositionTree,
}

impl Document {
    /// The 1-based line and column of the mapping key at `path` (for
    /// example `["tasks", "build-linux"]`). Only key paths of up to three
    /// keys are recorded. When a key occurs more than once, or is merged in
    /// and then overridden, this is the occurrence whose value was kept.
    pub fn position(&self, path: &[&str]) -> Option<(usize, usize)> {
        let mut tree = &self.positions;
        for key in path {
            tree = tree.children.get(*key)?;
        }
        tree.mark.map(|mark| (mark.line, mark.column))
    }

    /// The first mapping whose keys Python cannot sort together (a string
    /// key beside a number, `None` beside a number, a date beside a
    /// datetime), where sorting it is a `TypeError`.
    pub fn unsortable_keys(&self) -> Option<UnsortableKeys<'_>> {
        self.positions.mixed_keys.as_ref().map(|m| UnsortableKeys {
            line: m.line,
            column: m.column,
            reprs: [m.keys[0].0.as_str(), m.keys[1].0.as_str()],
            names: [m.keys[0].1.as_str(), m.keys[1].1.as_str()],
        })
    }
}

/// A mapping of a [`Document`] whose keys Python cannot sort together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsortableKeys<'d> {
    /// Where the mapping starts (1-based).
    pub line: usize,
    pub column: usize,
    /// Two of its keys of different kinds, as Python writes them (`'a'`,
    /// `7`)...
    pub reprs: [&'d str; 2],
    /// ...and the strings they are in the loaded mapping (`a`, `7`).
    pub names: [&'d str; 2],
}

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mark {
    line: usize,
    column: usize,
}

/// Key positions: the mark of the key that leads here, and the keys below.
#[derive(Clone, Debug, Default)]
struct PositionTree {
    mark: Option<Mark>,
    children: HashMap<String, PositionTree>,
    /// At the root only: the first mapping with unsortable keys.
    mixed_keys: Option<construct::MixedKeys>,
}

fn yaml_error(message: &str, mark: Option<Mark>) -> Error {
    let error = Error::new(ErrorKind::Yaml(message.to_owned()));
    match mark {
        Some(mark) => error.with_position(mark.line, mark.column),
        None => error,
    }
}

/// Loads the single document of `text` like PyYAML's `get_single_data`:
/// an empty stream is `Null` and a second document is an error. `file`
/// only names the source in errors.
pub fn load_str(text: &str, file: Option<&Path>) -> Result<Value> {
    load(text, None).map_err(|e| with_file(e, file))
}

/// Like [`load_str`], also recording where the mapping keys are.
pub fn load_document(text: &str, file: Option<&Path>) -> Result<Document> {
    let mut positions = PositionTree::default();
    let value = load(text, Some(&mut positions)).map_err(|e| with_file(e, file))?;
    Ok(Document { value, positions })
}

/// Reads and loads a YAML file. The bytes are UTF-8, or UTF-16 when they
/// start with a UTF-16 byte order mark, as libyaml decides.
pub fn load_file(path: &Path) -> Result<Value> {
    load_str(&read_text(path)?, Some(path))
}

/// Like [`load_file`], also recording where the mapping keys are.
pub fn load_document_file(path: &Path) -> Result<Document> {
    load_document(&read_text(path)?, Some(path))
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes).map_err(|e| e.with_file(path))
}

/// What `yaml.safe_dump(value, allow_unicode=True,
/// default_flow_style=False)` returns: keys sorted, block style, long
/// scalars folded at 80 columns, strings quoted when they would otherwise
/// read back as another type.
pub fn safe_dump(value: &Value) -> Result<String> {
    emit::safe_dump(value)
}

fn with_file(error: Error, file: Option<&Path>) -> Error {
    match file {
        Some(file) => error.with_file(file),
        None => error,
    }
}

fn load(text: &str, positions: Option<&mut PositionTree>) -> Result<Value> {
    // libyaml skips a byte order mark at the start; yaml-rust2 does not.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_characters(text)?;
    // Most files are in the plain block style the fast reader knows; it
    // leaves everything else, errors included, to the full loader below.
    if let Some((value, tree)) = fast::load(text, positions.is_some()) {
        if let Some(positions) = positions {
            *positions = tree;
        }
        return Ok(value);
    }
    full_load(text, positions)
}

/// The full loader: yaml-rust2's events, composed into a node graph and
/// constructed, retried with the two corrections below where yaml-rust2
/// refuses what libyaml accepts.
fn full_load(text: &str, positions: Option<&mut PositionTree>) -> Result<Value> {
    let mut text = std::borrow::Cow::Borrowed(text);
    loop {
        match compose::compose(&text) {
            Ok(None) => return Ok(Value::Null),
            Ok(Some(graph)) => return construct::construct(&graph, positions),
            Err(error) => {
                let fixed = with_space_after_colon(&text, &error)
                    .or_else(|| with_indented_closing_bracket(&text, &error));
                match fixed {
                    Some(fixed) => text = std::borrow::Cow::Owned(fixed),
                    None => return Err(error),
                }
            }
        }
    }
}

/// libyaml accepts a tab as the space after a mapping's `:` (`key:\tvalue`);
/// yaml-rust2 refuses it when a letter or `-` follows. For that error, the
/// text with the tab after that `:` turned into a space, which means the
/// same to libyaml and has the same line and column numbers; None for any
/// other error. Each retry replaces one tab, so retrying ends.
fn with_space_after_colon(text: &str, error: &Error) -> Option<String> {
    let ErrorKind::Yaml(message) = error.kind() else {
        return None;
    };
    if !message.contains("':' must be followed by a valid YAML whitespace") {
        return None;
    }
    let (line, column) = (error.location().line?, error.location().column?);
    // Byte offset of the error's line, then of the character it points at.
    let line_start = if line == 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let line_text = &text[line_start..];
    let at = line_text
        .char_indices()
        .nth(column.checked_sub(1)?)
        .map(|(offset, _)| line_start + offset)?;
    // Before it: one or more tabs, then the `:`.
    let before = &text[..at];
    let tabs = before.len() - before.trim_end_matches('\t').len();
    if tabs == 0 || !before[..at - tabs].ends_with(':') {
        return None;
    }
    let mut fixed = String::with_capacity(text.len());
    fixed.push_str(&text[..at - tabs]);
    fixed.push(' ');
    fixed.push_str(&text[at - tabs + 1..]);
    Some(fixed)
}

/// libyaml accepts a flow collection whose closing `}` or `]` starts a
/// line no more indented than the block mapping holding the collection
/// (`key: {` ... `}` at the left margin); yaml-rust2 follows the YAML spec
/// and refuses it ("invalid indentation"). For that error, when it points
/// at a line holding only spaces before the bracket, the text with that
/// line indented one column past the content line above it: inside a flow
/// collection indentation means nothing else, and line numbers stay. Each
/// retry indents one line further, so retrying ends.
fn with_indented_closing_bracket(text: &str, error: &Error) -> Option<String> {
    let ErrorKind::Yaml(message) = error.kind() else {
        return None;
    };
    if !message.ends_with("invalid indentation") {
        return None;
    }
    let line = error.location().line?;
    let lines: Vec<&str> = text.split('\n').collect();
    let bad = *lines.get(line.checked_sub(1)?)?;
    let indent = bad.len() - bad.trim_start_matches(' ').len();
    if !bad[indent..].starts_with(['}', ']']) {
        return None;
    }
    let above = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let wanted = above.len() - above.trim_start_matches(' ').len() + 1;
    let pad = wanted.max(indent + 1) - indent;

    let mut fixed = String::with_capacity(text.len() + pad);
    for (number, text_line) in lines.iter().enumerate() {
        if number > 0 {
            fixed.push('\n');
        }
        if number == line - 1 {
            fixed.extend(std::iter::repeat_n(' ', pad));
        }
        fixed.push_str(text_line);
    }
    Some(fixed)
}

/// libyaml refuses control characters (other than tab and line breaks),
/// DEL, C1 controls other than NEL, and U+FFFE/U+FFFF anywhere in the
/// stream, even in comments.
fn check_characters(text: &str) -> Result<()> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}')
            || matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    };
    // Kind files are nearly all ASCII: those bytes are checked one by one
    // without decoding, and only a non-ASCII byte starts a character.
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let next = words::skip_plain_words(bytes, at, printable_ascii);
        if next > at {
            at = next;
            continue;
        }
        let byte = bytes[at];
        if byte.is_ascii() {
            if !matches!(byte, b'\t' | b'\n' | b'\r' | 0x20..=0x7e) {
                return Err(unacceptable(text, at, char::from(byte)));
            }
            at += 1;
            continue;
        }
        // `at` follows whole characters, so a character starts here.
        let c = text[at..].chars().next().unwrap_or('\u{fffd}');
        if !allowed(c) {
            return Err(unacceptable(text, at, c));
        }
        at += c.len_utf8();
    }
    Ok(())
}

/// Whether all eight bytes of `word` are printable ASCII (0x20 to 0x7e).
fn printable_ascii(word: u64) -> bool {
    (words::bytes_below(word, 0x20) | words::bytes_equal(word, 0x7f) | words::non_ascii(word)) == 0
}

fn unacceptable(text: &str, at: usize, bad: char) -> Error {
    let message = format!(
        "unacceptable character #x{:04x}: control characters are not allowed",
        u32::from(bad)
    );
    yaml_error(&message, Some(mark_at(text, at)))
}

/// The line and column of a byte offset, counting characters.
fn mark_at(text: &str, at: usize) -> Mark {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Mark {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Decodes file bytes the way libyaml picks an encoding: by byte order
/// mark, UTF-8 when there is none.
fn decode(bytes: &[u8]) -> Result<String> {
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            // The prefix is valid UTF-8, so this cannot fail.
            let mark = std::str::from_utf8(valid).map(|t| mark_at(t, t.len())).ok();
            Err(yaml_error("the file is not valid UTF-8", mark))
        }
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(yaml_error(
            "the UTF-16 file ends in the middle of a character",
            None,
        ));
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| yaml_error("the file is not valid UTF-16", None))
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_words_agree_with_a_byte_by_byte_check() {
        crate::util::words::for_each_word_with_one_byte(|word, bytes| {
            let expected = bytes.iter().all(|b| (0x20..=0x7e).contains(b));
            assert_eq!(super::printable_ascii(word), expected, "{bytes:?}");
        });
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        // Allowed: tabs, line breaks, printable ASCII and most of Unicode.
        assert!(
            super::check_characters("a:\tb\r\nc: \u{e9}t\u{e9} \u{1f600} \u{85}\u{a0}").is_ok()
        );
        for (text, code, line, column) in [
            ("a: 1\nb: x\u{1}y\n", "#x0001", 2, 5),
            ("a: \u{7f}", "#x007f", 1, 4),
            ("\u{e9}\u{e9}: \u{80}", "#x0080", 1, 5),
            ("k: \u{e9}\n\u{1f600}\u{fffe}", "#xfffe", 2, 2),
        ] {
            let error = super::check_characters(text).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(code), "{text:?}: {message}");
            assert_eq!(error.location().line, Some(line), "{text:?}");
            assert_eq!(error.location().column, Some(column), "{text:?}");
        }
    }

    #[test]
    fn a_flow_mapping_may_close_at_the_left_margin() {
        // As the translations training configs write `existing_tasks`.
        let text = "a:\n  b: 1\nc: {\n    \"x\": \"1\",\n    \"y\": \"2\"\n#    \"z\": \"3\",\n}\n\
                    d: [\n  \"e\"\n]\nf: 3\n";
        let value = super::load_str(text, None).unwrap();
        assert_eq!(value.get_path("c.y"), Some(&crate::Value::from("2")));
        assert_eq!(value.get("d"), Some(&crate::Value::List(vec!["e".into()])));
        assert_eq!(value.get("f"), Some(&crate::Value::Int(3)));

        // Other indentation errors stay errors, with their line.
        let err = super::load_str("a:\n  b: 1\n c: 2\n", None).unwrap_err();
        assert_eq!(err.location().line, Some(3), "{err}");
    }

    use super::*;
    use crate::map;
    use crate::value::Map;

    fn load(text: &str) -> Map {
        match load_str(text, None).unwrap() {
            Value::Map(map) => map,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn booleans_follow_yaml_1_1() {
        let loaded = load("a: yes\nb: No\nc: ON\nd: off\ne: y\nf: n\ng: 'yes'\n");
        let expected = map! {
            "a" => true, "b" => false, "c" => true, "d" => false,
            "e" => "y", "f" => "n", "g" => "yes",
        };
        assert_eq!(loaded, expected);
    }

    #[test]
    fn integers_follow_yaml_1_1() {
        let loaded = load(
            "a: 0755\nb: 0x1F\nc: 0b101\nd: +12\ne: 1_000\nf: 1:30\ng: 190:20:30\nh: '0755'\ni: 0o17\nj: 08\n",
        );
        let expected = map! {
            "a" => 493, "b" => 31, "c" => 5, "d" => 12, "e" => 1000, "f" => 90,
            "g" => 685230, "h" => "0755", "i" => "0o17", "j" => "08",
        };
        assert_eq!(loaded, expected);
    }

    #[test]
    fn floats_need_a_dot_and_exponents_a_sign() {
        let loaded = load(
            "a: 1e3\nb: 1.0e3\nc: 1.0e+3\nd: .5\ne: -.5\nf: 1_0.5\ng: .inf\nh: 3.\ni: 1:30.5\n",
        );
        let expected = map! {
            "a" => "1e3", "b" => "1.0e3", "c" => Value::Float(1000.0), "d" => Value::Float(0.5),
            "e" => "-.5", "f" => Value::Float(10.5), "g" => Value::Float(f64::INFINITY),
            "h" => Value::Float(3.0), "i" => Value::Float(90.5),
        };
        assert_eq!(loaded, expected);
    }

    #[test]
    fn merge_keys_let_the_first_listed_mapping_win() {
        let loaded =
            load("base: &b {x: 1, y: 2}\nother: &o {x: 10, z: 3}\nm:\n  <<: [*o, *b]\n  y: 20\n");
        assert_eq!(
            loaded["m"],
            Value::Map(map! {"x" => 10, "z" => 3, "y" => 20})
        );
        let keys: Vec<&str> = loaded["m"].as_map().unwrap().keys().collect();
        assert_eq!(keys, ["x", "z", "y"]);
    }

    #[test]
    fn block_scalars_fold_and_chomp() {
        let loaded = load(
            "a: >\n  one\n  two\n\n    more\n  three\nb: |-\n  keep\n  lines\nc: >+\n  kept\n\n\nd: x\n",
        );
        let expected = map! {
            "a" => "one two\n\n  more\nthree\n", "b" => "keep\nlines", "c" => "kept\n\n\n", "d" => "x",
        };
        assert_eq!(loaded, expected);
    }

    #[test]
    fn block_scalars_at_the_end_of_a_text_without_a_final_break() {
        // PyYAML's values for each text (none ends in a line break, or the
        // scalar has no content).
        let cases: &[(&str, &str)] = &[
            ("k: |\n    x", "x"),
            ("k: >+\n  x", "x"),
            ("k: |2\n    x", "  x"),
            ("k: |\n\n  x", "\nx"),
            ("k: |\n  x\n  y", "x\ny"),
            ("a:\n  b: |\n    x", "x"),
            ("k: |\n  x\n  ", "x\n"),
            ("k: |+\n  x\n\n  ", "x\n\n"),
            ("k: >\n  x\n   ", "x\n "),
            ("k: |\n", ""),
            ("k: |\n\n\n", ""),
            ("k: |+\n", ""),
            ("k: >+\n\n\n", "\n\n"),
            ("k: |+\n   \n\n", "\n\n"),
        ];
        for (text, expected) in cases {
            let loaded = load(text);
            let value = match loaded.get("k") {
                Some(value) => value,
                None => loaded["a"].get("b").expect("a.b"),
            };
            assert_eq!(value, &Value::from(*expected), "{text:?}");
        }
        // Content that starts with `|` or `>` is not a header (PyYAML's
        // values), in the full loader as in the fast reader.
        let cases: &[(&str, Value)] = &[
            ("k: |\n > /README.md\nj: x\n", Value::from("> /README.md\n")),
            (
                "k:\n  - >-\n    |-  ./x.sh\n\n  - b\n",
                Value::List(vec![Value::from("|-  ./x.sh"), Value::from("b")]),
            ),
            ("k: |\n  |\n", Value::from("|\n")),
            ("k: |\n  |-\n\n", Value::from("|-\n")),
            ("k:\n  |\n", Value::from("")),
            ("k:\n  b: |\n    >\n", Value::Map(map! {"b" => ">\n"})),
        ];
        for (text, expected) in cases {
            let full = full_load(text, None).unwrap();
            assert_eq!(full.get("k"), Some(expected), "{text:?}");
            assert_eq!(load(text).get("k"), Some(expected), "{text:?}");
        }
        // Not at the end, or followed by a line break: yaml-rust2 already
        // agrees.
        assert_eq!(
            load("a:\n  - |\n    x\n  - y")["a"],
            Value::List(vec![Value::from("x\n"), Value::from("y")])
        );
        assert_eq!(load("k: |\n  x\nj: |\n  y")["k"], Value::from("x\n"));
        assert_eq!(load("k: |\n  x\n# c")["k"], Value::from("x\n"));
    }

    #[test]
    fn a_tab_may_follow_a_colon() {
        let loaded = load("a:\tb\nc:\t\t-d\ne: {f:\tg}\nh: 'i:\tj'\n");
        let expected = map! {
            "a" => "b", "c" => "-d", "e" => map! {"f" => "g"}, "h" => "i:\tj",
        };
        assert_eq!(loaded, expected);
        let document = load_document("x: 1\nkey:\tvalue\n", None).unwrap();
        assert_eq!(document.position(&["key"]), Some((2, 1)));
    }

    #[test]
    fn equal_keys_collapse_and_the_last_value_wins() {
        // Python: {1: 'c', None: 'd'}, since 1 == True == 1.0.
        let loaded = load("1: a\ntrue: b\n1.0: c\n~: d\n");
        assert_eq!(loaded, map! {"1" => "c", "None" => "d"});
        assert_eq!(load("a: 1\na: 2\n"), map! {"a" => 2});
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = load_str(
            "a:\n  b: [1, 2\n  c: 3\n",
            Some(Path::new("kinds/x/kind.yml")),
        )
        .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Yaml(_)), "{err}");
        assert_eq!(
            err.location().file.as_deref(),
            Some(Path::new("kinds/x/kind.yml"))
        );
        assert!(err.location().line.is_some(), "{err}");
    }

    #[test]
    fn files_may_be_utf16_with_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kind.yml");
        let mut bytes = vec![0xff, 0xfe];
        for unit in "name: caf\u{e9}\n".encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        std::fs::write(&path, bytes).unwrap();
        let document = load_document_file(&path).unwrap();
        assert_eq!(document.value, Value::Map(map! {"name" => "caf\u{e9}"}));
        assert_eq!(document.position(&["name"]), Some((1, 1)));
    }
}
