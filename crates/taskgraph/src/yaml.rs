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
//!
//! Everything else, including the odd corners (`! "3"` is the int 3, `=` as
//! a value is an error, merged keys shadow each other as PyYAML 6.0.4 lets
//! them), is matched and covered by the tests at the bottom of this module.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;

mod compose;
mod construct;
mod emit;
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
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = decode(&bytes).map_err(|e| e.with_file(path))?;
    load_str(&text, Some(path))
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
    match compose::compose(text)? {
        None => Ok(Value::Null),
        Some(graph) => construct::construct(&graph, positions),
    }
}

/// libyaml refuses control characters (other than tab and line breaks),
/// DEL, C1 controls other than NEL, and U+FFFE/U+FFFF anywhere in the
/// stream, even in comments.
fn check_characters(text: &str) -> Result<()> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}')
            || matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    };
    let Some((at, bad)) = text.char_indices().find(|&(_, c)| !allowed(c)) else {
        return Ok(());
    };
    let message = format!(
        "unacceptable character #x{:04x}: control characters are not allowed",
        u32::from(bad)
    );
    Err(yaml_error(&message, Some(mark_at(text, at))))
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
