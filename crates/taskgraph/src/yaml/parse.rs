//! yaml-rust2's parser events, in the shape the composer wants.
//!
//! yaml-rust2 does the scanning and parsing; this adapter only renames its
//! events, spells tags out in full (`!!int` is `tag:yaml.org,2002:int`),
//! turns anchor numbers into names, and decides which scalars are open to
//! implicit typing the way libyaml decides it: a plain scalar without a
//! tag, or any scalar carrying the non-specific tag `!`.

use yaml_rust2::parser::{Event as RawEvent, Parser as RawParser, Tag as RawTag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{Mark, yaml_error};
use crate::error::Result;

/// A position in the text, both counts 1-based, columns in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl From<Pos> for Mark {
    fn from(pos: Pos) -> Self {
        Mark {
            line: pos.line,
            column: pos.column,
        }
    }
}

impl From<&Marker> for Pos {
    fn from(marker: &Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum EventKind {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias(String),
    Scalar(Scalar),
    SequenceStart(NodeProperties),
    SequenceEnd,
    MappingStart(NodeProperties),
    MappingEnd,
}

/// The anchor and tag a node carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct NodeProperties {
    pub anchor: Option<String>,
    /// The full tag (handles expanded), or `!` for the non-specific tag.
    pub tag: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Scalar {
    pub properties: NodeProperties,
    pub value: String,
    /// The implicit resolvers apply to this scalar.
    pub plain_implicit: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Event {
    pub kind: EventKind,
    pub start: Pos,
}

pub(super) struct Parser<'a> {
    inner: RawParser<std::str::Chars<'a>>,
    text: &'a str,
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Parser {
            inner: RawParser::new_from_str(text),
            text,
        }
    }

    pub(super) fn next_event(&mut self) -> Result<Event> {
        let (raw, marker) = self
            .inner
            .next_token()
            .map_err(|error| yaml_error(error.info(), Some(Pos::from(error.marker()).into())))?;
        let start = Pos::from(&marker);
        let kind = match raw {
            RawEvent::Nothing => {
                return Err(yaml_error(
                    "the parser produced no event",
                    Some(start.into()),
                ));
            }
            RawEvent::StreamStart => EventKind::StreamStart,
            RawEvent::StreamEnd => EventKind::StreamEnd,
            RawEvent::DocumentStart => EventKind::DocumentStart,
            RawEvent::DocumentEnd => EventKind::DocumentEnd,
            RawEvent::Alias(id) => EventKind::Alias(anchor_name(id)),
            RawEvent::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(full_tag);
                let plain_implicit = match tag.as_deref() {
                    None => style == TScalarStyle::Plain,
                    Some(tag) => tag == "!",
                };
                let value = match style {
                    TScalarStyle::Literal | TScalarStyle::Folded => {
                        libyaml_block_scalar_end(self.text, start, value)
                    }
                    _ => value,
                };
                EventKind::Scalar(Scalar {
                    properties: properties(anchor, tag),
                    value,
                    plain_implicit,
                })
            }
            RawEvent::SequenceStart(anchor, tag) => {
                EventKind::SequenceStart(properties(anchor, tag.map(full_tag)))
            }
            RawEvent::SequenceEnd => EventKind::SequenceEnd,
            RawEvent::MappingStart(anchor, tag) => {
                EventKind::MappingStart(properties(anchor, tag.map(full_tag)))
            }
            RawEvent::MappingEnd => EventKind::MappingEnd,
        };
        Ok(Event { kind, start })
    }
}

/// Corrects a block scalar that runs to the end of the text, where
/// yaml-rust2 and libyaml disagree; `start` is where yaml-rust2 put the
/// scalar.
///
/// - With no content before the end of the text, yaml-rust2 reports the
///   scalar at its `|` or `>` and keeps the header's own line break
///   (except with `-`). libyaml gives an empty string, or with `+` one
///   line break per blank line after the header.
/// - Otherwise yaml-rust2 reports it at its first content line, at the
///   content's indentation. When the text ends without a line break inside
///   the scalar, libyaml's value ends with the last line's content, but
///   yaml-rust2 may add a line break after it.
fn libyaml_block_scalar_end(text: &str, start: Pos, mut value: String) -> String {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let Some(first) = start.line.checked_sub(1).and_then(|i| lines.get(i..)) else {
        return value;
    };
    let Some(line) = first.first() else {
        return value;
    };
    let column = start.column.saturating_sub(1);
    if reported_at_header(&lines, start.line - 1, column) {
        let header: String = line
            .chars()
            .skip(column + 1)
            .take_while(|c| !c.is_whitespace())
            .collect();
        if !header.contains('+') {
            return String::new();
        }
        // The breaks of the blank lines between the header and the end
        // (the last piece of the split has no break of its own).
        return "\n".repeat(first.len().saturating_sub(2));
    }

    if text.ends_with(['\n', '\r']) {
        return value;
    }
    let indentation = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let reaches_end = first
        .iter()
        .all(|line| line.trim().is_empty() || indentation(line) >= column);
    let last = first.last().copied().unwrap_or_default();
    if !reaches_end || column == 0 || indentation(last) < column {
        return value;
    }
    let tail: String = last.chars().skip(column).collect();
    let extra_break = if tail.is_empty() {
        // A last line of exactly the indentation: libyaml reads no content
        // from it, yaml-rust2 still ends the scalar with a break.
        value.ends_with('\n')
    } else {
        value.strip_suffix('\n').is_some_and(|v| v.ends_with(&tail))
    };
    if extra_break {
        value.pop();
    }
    value
}

/// Whether yaml-rust2 reported a block scalar at its `|` or `>` header,
/// which it does when the scalar has no content before the end of the
/// text, rather than at its first content line, which may itself start
/// with `|` or `>` (`key: |` then `  | x`).
fn reported_at_header(lines: &[&str], index: usize, column: usize) -> bool {
    let line = lines[index];
    let before: String = line.chars().take(column).collect();
    let rest: String = line.chars().skip(column).collect();
    if !is_block_header(&rest) || !lines[index + 1..].iter().all(|l| l.trim().is_empty()) {
        return false;
    }
    // After a key or `-` on its line it is a header. Alone on its line it
    // is content when the line before it ends with a header.
    if !before.trim().is_empty() {
        return true;
    }
    let previous = lines[..index]
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    !previous.is_some_and(|line| {
        let without_comment = line.split(" #").next().unwrap_or(line);
        without_comment
            .split_whitespace()
            .last()
            .is_some_and(is_block_header)
    })
}

/// Whether `text` is a block scalar header: `|` or `>`, its chomping and
/// indentation indicators, then at most spaces and a comment.
fn is_block_header(text: &str) -> bool {
    let Some(after) = text.strip_prefix(['|', '>']) else {
        return false;
    };
    let indicators = after.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
    let rest = indicators.trim_start_matches([' ', '\t']);
    rest.is_empty() || (rest.starts_with('#') && rest.len() < indicators.len())
}

/// yaml-rust2 numbers anchors from 1 and uses 0 for "no anchor"; a
/// redefined anchor gets a fresh number, so numbers are unique names.
fn anchor_name(id: usize) -> String {
    format!("anchor-{id}")
}

fn properties(anchor: usize, tag: Option<String>) -> NodeProperties {
    NodeProperties {
        anchor: (anchor != 0).then(|| anchor_name(anchor)),
        tag,
    }
}

/// yaml-rust2 has already replaced a declared handle by its prefix (and
/// `!!` by the core prefix), so the full tag is the two parts joined.
fn full_tag(tag: RawTag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}
