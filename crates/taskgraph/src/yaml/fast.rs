//! A fast reader for the plain block style that kind files are written in.
//!
//! yaml-rust2 reads a character at a time through a queue of tokens, and
//! our composer then builds a node graph before the values: reading the
//! kind files of a large project that way took longer than every transform
//! of some kinds. This reader handles the subset nearly every taskgraph
//! project writes, line by line and straight to [`Value`]s:
//!
//! - block mappings with plain or quoted one-line keys, and block
//!   sequences (also the "indentless" ones at their key's indentation);
//! - plain scalars, folded over the lines after them; single- and
//!   double-quoted scalars without escapes, on one line;
//! - flow sequences and mappings, over lines indented past their block;
//! - literal and folded block scalars with a chomping indicator;
//! - comments, blank lines and one leading `---`.
//!
//! It gives up (returns `None`) at anything else: anchors, aliases, tags,
//! merge keys, keys that are not strings (`1:`, `on:`), escapes, quoted
//! scalars or flow keys running over several lines, tabs, carriage
//! returns, directives, a second document, and every syntax error. The caller then reads the text with the full loader, which also
//! words the errors. So this reader needs no messages of its own, and its
//! one rule is: whenever it answers, it answers what the full loader does,
//! value and key positions alike. The tests at the bottom check that rule
//! on every YAML file of the repository and on thousands of mutations of
//! them.

use std::borrow::Cow;

use super::resolve::{self, Tag};
use super::{Mark, PositionTree};
use crate::value::{Key, Map, Value};

/// Nesting deeper than this is left to the full loader.
const MAX_DEPTH: usize = 64;

/// Key paths deeper than this get no recorded position (as `construct`).
const POSITION_DEPTH: usize = 3;

/// Plain keys longer than this are not simple keys to libyaml.
const MAX_KEY_LENGTH: usize = 1024;

/// The reader met something it leaves to the full loader.
struct GiveUp;

type Step<T> = Result<T, GiveUp>;

/// The value of the single document of `text`, and the positions of its
/// keys when `want_positions` is set; `None` when the text needs the full
/// loader. `text` has had its byte order mark and control characters
/// checked already.
pub(super) fn load(text: &str, want_positions: bool) -> Option<(Value, PositionTree)> {
    if !text.ends_with('\n') || has_unsupported_characters(text) {
        return None;
    }
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        lines: split_lines(text),
        line: 0,
        pos: 0,
        entries: Vec::new(),
        items: Vec::new(),
    };
    let mut positions = PositionTree::default();
    let value = reader
        .document(want_positions.then_some(&mut positions))
        .ok()?;
    Some((value, positions))
}

/// Tabs (whose rules around indentation differ between parsers), carriage
/// returns, the three Unicode characters libyaml reads as line breaks, and
/// byte order marks past the start.
fn has_unsupported_characters(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2(b'\t', b'\r', bytes).is_some()
        || ["\u{85}", "\u{2028}", "\u{2029}", "\u{feff}"]
            .iter()
            .any(|c| memchr::memmem::find(bytes, c.as_bytes()).is_some())
}

/// One line of the text, without its line break.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    /// Where its `\n` is.
    end: usize,
    /// How many spaces it starts with.
    indent: usize,
    kind: LineKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    /// Spaces only.
    Blank,
    /// A comment after the indentation.
    Comment,
    Content,
    /// `---`, `...` or `%` at the left margin: a document marker or a
    /// directive anywhere outside a scalar.
    Marker,
}

fn split_lines(text: &str) -> Vec<Line> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(bytes.len() / 24);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let line = &bytes[start..end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let kind = match line.get(indent) {
            None => LineKind::Blank,
            Some(b'#') => LineKind::Comment,
            Some(_) if line.starts_with(b"---") || line.starts_with(b"...") => LineKind::Marker,
            Some(b'%') if indent == 0 => LineKind::Marker,
            Some(_) => LineKind::Content,
        };
        lines.push(Line {
            start,
            end,
            indent,
            kind,
        });
        start = end + 1;
    }
    lines
}

struct Reader<'t> {
    text: &'t str,
    bytes: &'t [u8],
    lines: Vec<Line>,
    /// The line being read.
    line: usize,
    /// Where reading is, as a byte offset into the text.
    pos: usize,
    /// The entries of the mappings being read, innermost last: a mapping
    /// is built at its final size once its last entry is read (a mapping
    /// that grew entry by entry would keep room for eight).
    entries: Vec<(Key, Value)>,
    /// The same for the items of sequences.
    items: Vec<Value>,
}

impl<'t> Reader<'t> {
    fn document(&mut self, positions: Option<&mut PositionTree>) -> Step<Value> {
        // Comments and blank lines, then at most one `---` alone on its line.
        self.skip_to_content(true);
        if let Some(line) = self.lines.get(self.line)
            && line.kind == LineKind::Marker
        {
            if &self.bytes[line.start..line.end] != b"---" {
                return Err(GiveUp);
            }
            self.line += 1;
        }
        let indent = self.peek_content()?.ok_or(GiveUp)?;
        let value = self.block_collection(indent, 0, positions)?;
        match self.peek_content()? {
            None => Ok(value),
            Some(_) => Err(GiveUp),
        }
    }

    /// Moves to the next line that is neither blank nor a comment (or to
    /// the end), without checking it.
    fn skip_to_content(&mut self, markers_too: bool) {
        while let Some(line) = self.lines.get(self.line) {
            let skip = match line.kind {
                LineKind::Blank | LineKind::Comment => true,
                LineKind::Marker => !markers_too,
                LineKind::Content => false,
            };
            if !skip {
                break;
            }
            self.line += 1;
        }
    }

    /// The indentation of the next content line, with reading moved to its
    /// first character; `None` at the end of the text. Calling it again
    /// without reading anything stays on the same line.
    fn peek_content(&mut self) -> Step<Option<usize>> {
        self.skip_to_content(true);
        match self.lines.get(self.line) {
            None => {
                self.pos = self.bytes.len();
                Ok(None)
            }
            Some(line) if line.kind == LineKind::Marker => Err(GiveUp),
            Some(line) => {
                self.pos = line.start + line.indent;
                Ok(Some(line.indent))
            }
        }
    }

    fn current(&self) -> Line {
        self.lines[self.line]
    }

    fn byte(&self) -> u8 {
        self.bytes[self.pos]
    }

    fn at_line_end(&self) -> bool {
        self.pos >= self.current().end
    }

    /// The byte after the current one, or `\n` at the end of the line.
    fn next_byte(&self) -> u8 {
        let at = self.pos + 1;
        if at < self.current().end {
            self.bytes[at]
        } else {
            b'\n'
        }
    }

    fn skip_spaces(&mut self) {
        let end = self.current().end;
        while self.pos < end && self.bytes[self.pos] == b' ' {
            self.pos += 1;
        }
    }

    /// Whether reading is at a block sequence's `-`.
    fn at_sequence_entry(&self) -> bool {
        self.byte() == b'-' && matches!(self.next_byte(), b' ' | b'\n')
    }

    /// Ends the current line: only spaces and a comment may be left.
    fn finish_line(&mut self) -> Step<()> {
        self.skip_spaces();
        let comment = || self.byte() == b'#' && self.bytes[self.pos - 1] == b' ';
        if !self.at_line_end() && !comment() {
            return Err(GiveUp);
        }
        self.line += 1;
        Ok(())
    }

    /// Where reading is, as the full loader marks a node there.
    fn mark(&self) -> Mark {
        let line = self.current();
        let before = &self.text[line.start..self.pos];
        let column = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        Mark {
            line: self.line + 1,
            column: column + 1,
        }
    }

    /// Adds `key: value` to the mapping being read, and the key's
    /// positions to the mapping's.
    fn add_entry(
        &mut self,
        positions: Option<&mut PositionTree>,
        key: Key,
        value: Value,
        key_positions: Option<PositionTree>,
    ) {
        if let (Some(tree), Some(child)) = (positions, key_positions) {
            tree.children.insert(key.to_string(), child);
        }
        self.entries.push((key, value));
    }

    /// The mapping whose entries were added from `start` on. A repeated
    /// key keeps its first place and takes its last value.
    fn finish_mapping(&mut self, start: usize) -> Value {
        Value::Map(self.entries.drain(start..).collect())
    }

    /// The sequence whose items were added from `start` on.
    fn finish_sequence(&mut self, start: usize) -> Value {
        Value::List(self.items.drain(start..).collect())
    }

    /// A block mapping or sequence whose first line is the current one,
    /// indented by `indent`.
    fn block_collection(
        &mut self,
        indent: usize,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        if depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        if self.at_sequence_entry() {
            self.block_sequence(indent, depth)
        } else {
            self.block_mapping(indent, depth, positions)
        }
    }

    /// A block mapping whose keys start at column `indent`, the first one
    /// where reading is (which may be after a sequence's `- `).
    fn block_mapping(
        &mut self,
        indent: usize,
        depth: usize,
        mut positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        let start = self.entries.len();
        loop {
            let mark = self.mark();
            let key = self.block_key()?;
            let mut child = key_positions(&positions, depth, mark);
            let value = self.mapping_value(indent, depth + 1, child.as_mut())?;
            self.add_entry(positions.as_deref_mut(), key, value, child);

            match self.peek_content()? {
                Some(next) if next == indent && !self.at_sequence_entry() => {}
                Some(next) if next >= indent => return Err(GiveUp),
                _ => return Ok(self.finish_mapping(start)),
            }
        }
    }

    /// A block mapping's key and its `:`.
    fn block_key(&mut self) -> Step<Key> {
        let key = match self.byte() {
            b'"' | b'\'' => Key::from(self.quoted()?),
            _ => self.plain_key()?,
        };
        self.skip_spaces();
        if self.at_line_end() || self.byte() != b':' || !matches!(self.next_byte(), b' ' | b'\n') {
            return Err(GiveUp);
        }
        self.pos += 1;
        Ok(key)
    }

    /// A plain key: up to the first `:` followed by a space or the end of
    /// the line.
    fn plain_key(&mut self) -> Step<Key> {
        if starts_like_an_indicator(self.byte(), self.next_byte()) {
            return Err(GiveUp);
        }
        let start = self.pos;
        let (at, stop) = self.block_plain_stop(start, self.current().end);
        let text = self.text[start..at].trim_end_matches(' ');
        if stop != PlainStop::KeyIndicator
            || text.len() > MAX_KEY_LENGTH
            || resolve::resolve_plain(text) != Tag::Str
        {
            return Err(GiveUp);
        }
        self.pos = start + text.len();
        Ok(Key::from(text))
    }

    /// What follows a block mapping's `key:`.
    fn mapping_value(
        &mut self,
        indent: usize,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        self.skip_spaces();
        if self.at_line_end() || self.byte() == b'#' {
            self.finish_line()?;
            return self.block_value(indent, true, depth, positions);
        }
        self.inline_value(indent, depth, positions)
    }

    /// A value on the lines after its key or `-`: a collection indented
    /// more than the `parent` collection (or a sequence at the same
    /// indentation, after a key), else an empty value.
    fn block_value(
        &mut self,
        parent: usize,
        indentless_sequence: bool,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        match self.peek_content()? {
            Some(next) if next > parent => {
                if self.at_sequence_entry() || self.line_holds_a_key() {
                    self.block_collection(next, depth, positions)
                } else if matches!(self.byte(), b'|' | b'>') {
                    // A block scalar's header on a line of its own.
                    Err(GiveUp)
                } else {
                    // A scalar or flow collection on the lines after its key.
                    self.inline_value(parent, depth, positions)
                }
            }
            Some(next) if next == parent && indentless_sequence && self.at_sequence_entry() => {
                self.block_sequence(next, depth)
            }
            _ => Ok(Value::Null),
        }
    }

    /// A value that starts on the current line, inside a block collection
    /// indented by `indent`.
    fn inline_value(
        &mut self,
        indent: usize,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        if depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        let value = match self.byte() {
            b'|' | b'>' => return self.block_scalar(indent),
            b'[' | b'{' => self.flow_node(indent, depth, positions)?,
            b'"' | b'\'' => Value::Str(self.quoted()?.to_owned()),
            _ => {
                let text = self.block_plain(indent)?;
                plain_value(&text)?
            }
        };
        self.finish_line()?;
        Ok(value)
    }

    /// A plain scalar in block context, inside a block collection
    /// indented by `parent`: to the end of its line (or a comment), and
    /// over the lines after it that are indented more than `parent`, which
    /// it folds into one line (a blank line folds into a line break). A
    /// `: ` inside would start a mapping where none can be.
    fn block_plain(&mut self, parent: usize) -> Step<Cow<'t, str>> {
        if starts_like_an_indicator(self.byte(), self.next_byte()) {
            return Err(GiveUp);
        }
        let (first, commented) = self.plain_line_from(self.pos)?;
        if commented {
            return Ok(Cow::Borrowed(first));
        }

        let mut text = Cow::Borrowed(first);
        let mut next = self.line + 1;
        loop {
            let mut breaks = 0;
            while self
                .lines
                .get(next)
                .is_some_and(|l| l.kind == LineKind::Blank)
            {
                breaks += 1;
                next += 1;
            }
            let Some(line) = self.lines.get(next).copied() else {
                break;
            };
            if line.kind != LineKind::Content || line.indent <= parent {
                // A comment or a less indented line ends the scalar; a
                // marker is left to the full loader either way.
                if line.kind == LineKind::Marker {
                    return Err(GiveUp);
                }
                break;
            }
            let (more, commented) = self.plain_line_from(line.start + line.indent)?;
            if commented {
                return Err(GiveUp);
            }
            let joined = text.to_mut();
            if breaks == 0 {
                joined.push(' ');
            }
            joined.extend(std::iter::repeat_n('\n', breaks));
            joined.push_str(more);
            self.line = next;
            self.pos = line.start + line.indent + more.len();
            next += 1;
        }
        Ok(text)
    }

    /// The plain text of the current line from `start` (which must be on
    /// it) without trailing spaces, with reading moved after it, and
    /// whether a comment follows it.
    fn plain_line_from(&mut self, start: usize) -> Step<(&'t str, bool)> {
        let end = self.lines[self.line..]
            .iter()
            .find(|l| l.end >= start)
            .map_or(self.bytes.len(), |l| l.end);
        let (at, stop) = self.block_plain_stop(start, end);
        if stop == PlainStop::KeyIndicator {
            return Err(GiveUp);
        }
        let text = self.text[start..at].trim_end_matches(' ');
        self.pos = start + text.len();
        Ok((text, stop == PlainStop::Comment))
    }

    /// Where plain text in block context from `start` stops on its line
    /// (which ends at `end`), and at what.
    fn block_plain_stop(&self, start: usize, end: usize) -> (usize, PlainStop) {
        let bytes = self.bytes;
        let mut at = start;
        while at < end {
            match bytes[at] {
                b':' if at + 1 == end || bytes[at + 1] == b' ' => {
                    return (at, PlainStop::KeyIndicator);
                }
                b'#' if at > start && bytes[at - 1] == b' ' => return (at, PlainStop::Comment),
                _ => at += 1,
            }
        }
        (end, PlainStop::LineEnd)
    }

    /// A block sequence whose `-` entries sit at column `indent`.
    fn block_sequence(&mut self, indent: usize, depth: usize) -> Step<Value> {
        let start = self.items.len();
        loop {
            self.pos += 1;
            let item = self.sequence_item(indent, depth + 1)?;
            self.items.push(item);
            match self.peek_content()? {
                Some(next) if next == indent && self.at_sequence_entry() => {}
                Some(next) if next > indent => return Err(GiveUp),
                _ => return Ok(self.finish_sequence(start)),
            }
        }
    }

    /// What follows a sequence's `-`.
    fn sequence_item(&mut self, indent: usize, depth: usize) -> Step<Value> {
        self.skip_spaces();
        if self.at_line_end() || self.byte() == b'#' {
            self.finish_line()?;
            return self.block_value(indent, false, depth, None);
        }
        if self.byte() == b'-' && matches!(self.next_byte(), b' ' | b'\n') {
            // A sequence nested on the same line (`- - a`).
            return Err(GiveUp);
        }
        if self.line_holds_a_key() {
            let column = self.pos - self.current().start;
            return self.block_mapping(column, depth, None);
        }
        self.inline_value(indent, depth, None)
    }

    /// Whether the rest of the line is a mapping key followed by `:` (a
    /// mapping inside a sequence entry, `- name: value`).
    fn line_holds_a_key(&self) -> bool {
        let end = self.current().end;
        let mut at = self.pos;
        match self.byte() {
            quote @ (b'"' | b'\'') => {
                // After the closing quote (or an escaped one: the line then
                // holds no key as far as we can tell, and reading it as a
                // value gives up where it must).
                let Some(close) = memchr::memchr(quote, &self.bytes[at + 1..end]) else {
                    return false;
                };
                at += close + 2;
                while at < end && self.bytes[at] == b' ' {
                    at += 1;
                }
                at < end && self.bytes[at] == b':'
            }
            b'[' | b'{' => false,
            _ => self.block_plain_stop(at, end).1 == PlainStop::KeyIndicator,
        }
    }

    /// A literal (`|`) or folded (`>`) scalar whose header is where reading
    /// is, inside a block collection indented by `parent`. Follows
    /// libyaml's rules for the indentation, the line breaks and chomping.
    fn block_scalar(&mut self, parent: usize) -> Step<Value> {
        let literal = self.byte() == b'|';
        self.pos += 1;
        let chomping = match self.at_line_end() {
            true => Chomping::Clip,
            false => match self.byte() {
                b'-' => Chomping::Strip,
                b'+' => Chomping::Keep,
                _ => Chomping::Clip,
            },
        };
        if chomping != Chomping::Clip {
            self.pos += 1;
        }
        if !self.at_line_end() && self.byte() != b' ' {
            // An indentation indicator, or anything else glued to the header.
            return Err(GiveUp);
        }
        self.finish_line()?;

        // Blank lines before the first content line, and the content's
        // indentation.
        let mut breaks = 0;
        let mut widest_blank = 0;
        let first = loop {
            let line = self.lines.get(self.line).ok_or(GiveUp)?;
            if line.kind != LineKind::Blank {
                break *line;
            }
            widest_blank = widest_blank.max(line.end - line.start);
            breaks += 1;
            self.line += 1;
        };
        let indent = first.indent.max(parent + 1);
        if first.indent < indent || widest_blank > indent || first.kind == LineKind::Marker {
            // No content at all: libyaml and yaml-rust2 disagree on some of
            // these.
            return Err(GiveUp);
        }

        let mut text = String::new();
        // The line break after the last content line, not yet written:
        // folding may turn it into a space or drop it.
        let mut pending_break = false;
        // Whether the last content line was more indented than the rest.
        let mut last_more_indented = false;
        while let Some(line) = self.lines.get(self.line).copied() {
            if line.kind == LineKind::Blank {
                if line.end - line.start > indent {
                    // Spaces beyond the indentation are content.
                    return Err(GiveUp);
                }
                breaks += 1;
                self.line += 1;
                continue;
            }
            if line.indent < indent {
                break;
            }
            if line.kind == LineKind::Marker {
                return Err(GiveUp);
            }
            let content = &self.text[line.start + indent..line.end];
            // Folding joins two lines with a space, or drops the break
            // before blank lines, unless either line is more indented.
            let more_indented = content.starts_with(' ');
            if !literal && pending_break && !last_more_indented && !more_indented {
                if breaks == 0 {
                    text.push(' ');
                }
            } else if pending_break {
                text.push('\n');
            }
            text.extend(std::iter::repeat_n('\n', breaks));
            breaks = 0;
            text.push_str(content);
            pending_break = true;
            last_more_indented = more_indented;
            self.line += 1;
        }

        match chomping {
            Chomping::Strip => {}
            Chomping::Clip => text.push('\n'),
            Chomping::Keep => text.extend(std::iter::repeat_n('\n', breaks + 1)),
        }
        Ok(Value::Str(text))
    }

    /// A flow collection or scalar, inside a block collection indented by
    /// `parent`. A collection may go on over lines indented more than
    /// `parent`; its scalars and keys each stay on one line.
    fn flow_node(
        &mut self,
        parent: usize,
        depth: usize,
        positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        if depth > MAX_DEPTH || self.at_line_end() {
            return Err(GiveUp);
        }
        match self.byte() {
            b'[' => self.flow_sequence(parent, depth),
            b'{' => self.flow_mapping(parent, depth, positions),
            b'"' | b'\'' => Ok(Value::Str(self.quoted()?.to_owned())),
            _ => {
                let text = self.flow_plain()?;
                plain_value(text)
            }
        }
    }

    /// Skips spaces, and inside a flow collection also comments and line
    /// breaks, onto the next line indented more than `parent` (or closing
    /// a collection).
    fn skip_flow_space(&mut self, parent: usize) -> Step<()> {
        loop {
            self.skip_spaces();
            let comment =
                !self.at_line_end() && self.byte() == b'#' && self.bytes[self.pos - 1] == b' ';
            if !self.at_line_end() && !comment {
                return Ok(());
            }
            self.line += 1;
            match self.peek_content()? {
                Some(indent) if indent > parent => {}
                // libyaml also takes a closing bracket at any indentation
                // (`with_indented_closing_bracket` makes yaml-rust2 agree).
                Some(_) if matches!(self.byte(), b']' | b'}') => {}
                _ => return Err(GiveUp),
            }
        }
    }

    /// The flow indicator reading is at, after spaces and line breaks.
    fn flow_indicator(&mut self, parent: usize) -> Step<u8> {
        self.skip_flow_space(parent)?;
        Ok(self.byte())
    }

    fn flow_sequence(&mut self, parent: usize, depth: usize) -> Step<Value> {
        self.pos += 1;
        if self.flow_indicator(parent)? == b']' {
            self.pos += 1;
            return Ok(Value::List(Vec::new()));
        }
        let start = self.items.len();
        loop {
            self.skip_flow_space(parent)?;
            let item = self.flow_node(parent, depth + 1, None)?;
            self.items.push(item);
            match self.flow_indicator(parent)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(self.finish_sequence(start));
                }
                _ => return Err(GiveUp),
            }
        }
    }

    fn flow_mapping(
        &mut self,
        parent: usize,
        depth: usize,
        mut positions: Option<&mut PositionTree>,
    ) -> Step<Value> {
        self.pos += 1;
        if self.flow_indicator(parent)? == b'}' {
            self.pos += 1;
            return Ok(Value::Map(Map::new()));
        }
        let start = self.entries.len();
        loop {
            self.skip_flow_space(parent)?;
            let mark = self.mark();
            let key = match self.byte() {
                b'"' | b'\'' => Key::from(self.quoted()?),
                _ => {
                    let text = self.flow_plain()?;
                    if resolve::resolve_plain(text) != Tag::Str {
                        return Err(GiveUp);
                    }
                    Key::from(text)
                }
            };
            // The `:` on the key's line, and the value after a space there.
            self.skip_spaces();
            if self.at_line_end() || self.byte() != b':' || self.next_byte() != b' ' {
                return Err(GiveUp);
            }
            self.pos += 1;
            self.skip_spaces();
            let mut child = key_positions(&positions, depth, mark);
            let value = self.flow_node(parent, depth + 1, child.as_mut())?;
            self.add_entry(positions.as_deref_mut(), key, value, child);
            match self.flow_indicator(parent)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(self.finish_mapping(start));
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// A plain scalar inside a flow collection: up to a flow indicator, a
    /// `: ` or the end of the line. Any other `:`, and a comment, are left
    /// to the full loader; so is a scalar going on over the next line,
    /// since what follows it there must be a flow indicator.
    fn flow_plain(&mut self) -> Step<&str> {
        if self.at_line_end()
            || starts_like_an_indicator(self.byte(), self.next_byte())
            || matches!(self.byte(), b'-' | b'?' | b':')
                && matches!(self.next_byte(), b',' | b'[' | b']' | b'{' | b'}')
        {
            return Err(GiveUp);
        }
        let start = self.pos;
        let end = self.current().end;
        let mut at = start;
        while at < end {
            match self.bytes[at] {
                b',' | b'[' | b']' | b'{' | b'}' => break,
                b':' if at + 1 < end && self.bytes[at + 1] == b' ' => break,
                b':' => return Err(GiveUp),
                b'#' if self.bytes[at - 1] == b' ' => return Err(GiveUp),
                _ => at += 1,
            }
        }
        let text = self.text[start..at].trim_end_matches(' ');
        self.pos = start + text.len();
        Ok(text)
    }

    /// A single- or double-quoted scalar that ends on its line.
    fn quoted(&mut self) -> Step<&str> {
        let quote = self.byte();
        let start = self.pos + 1;
        let end = self.current().end;
        let rest = &self.bytes[start..end];
        let close = memchr::memchr(quote, rest).ok_or(GiveUp)?;
        let special = if quote == b'"' { b'\\' } else { b'\'' };
        let simple = if quote == b'"' {
            memchr::memchr(b'\\', &rest[..close]).is_none()
        } else {
            rest.get(close + 1) != Some(&special)
        };
        if !simple {
            // Escapes; rare enough in kind files to leave to the full loader.
            return Err(GiveUp);
        }
        self.pos = start + close + 1;
        Ok(&self.text[start..start + close])
    }
}

/// What ends plain text in block context on its line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PlainStop {
    /// A `:` followed by a space or the line's end: the text is a key.
    KeyIndicator,
    /// A `#` after a space.
    Comment,
    LineEnd,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// Where the positions of the keys below a key at `mark` go, in a mapping
/// at `depth`: nowhere when that mapping's keys are not recorded, or its
/// key paths would be too long.
fn key_positions(
    positions: &Option<&mut PositionTree>,
    depth: usize,
    mark: Mark,
) -> Option<PositionTree> {
    (positions.is_some() && depth + 1 < POSITION_DEPTH).then(|| PositionTree {
        mark: Some(mark),
        ..PositionTree::default()
    })
}

/// Whether a plain scalar cannot start with `first` (then `second`): an
/// indicator, or `-`, `?` and `:` before a space.
fn starts_like_an_indicator(first: u8, second: u8) -> bool {
    match first {
        b'-' | b'?' | b':' => matches!(second, b' ' | b'\n'),
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => true,
        _ => false,
    }
}

/// A plain scalar's value, typed by YAML 1.1's implicit resolvers.
fn plain_value(text: &str) -> Step<Value> {
    let value = match resolve::resolve_plain(text) {
        Tag::Str => Value::Str(text.to_owned()),
        Tag::Null => Value::Null,
        Tag::Bool => Value::Bool(resolve::construct_bool(text).map_err(|_| GiveUp)?),
        Tag::Int => Value::Int(resolve::construct_int(text).map_err(|_| GiveUp)?),
        Tag::Float => Value::Float(resolve::construct_float(text).map_err(|_| GiveUp)?),
        Tag::Timestamp => Value::from(resolve::construct_timestamp(text).map_err(|_| GiveUp)?),
        _ => return Err(GiveUp),
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::map;

    /// The fast reader's value for `text`, when it answers; checks that the
    /// full loader then gives the very same value (types and key order
    /// included) and the same key positions.
    fn read(text: &str) -> Option<Value> {
        let fast = load(text, true);
        let mut full_positions = PositionTree::default();
        let full = super::super::full_load(text, Some(&mut full_positions));
        let (value, positions) = fast?;
        let full = full.unwrap_or_else(|error| {
            panic!("the fast reader accepts what the full loader refuses ({error}):\n{text}")
        });
        assert_eq!(
            format!("{value:?}"),
            format!("{full:?}"),
            "values of:\n{text}"
        );
        assert_eq!(
            key_marks(&positions),
            key_marks(&full_positions),
            "key positions of:\n{text}"
        );
        Some(value)
    }

    fn key_marks(tree: &PositionTree) -> Vec<(String, Option<(usize, usize)>)> {
        fn walk(tree: &PositionTree, path: &str, out: &mut Vec<(String, Option<(usize, usize)>)>) {
            for (key, child) in &tree.children {
                let path = format!("{path}/{key}");
                out.push((path.clone(), child.mark.map(|m| (m.line, m.column))));
                walk(child, &path, out);
            }
        }
        let mut out = Vec::new();
        walk(tree, "", &mut out);
        out.sort();
        out
    }

    #[test]
    fn reads_the_block_style_of_kind_files() {
        let text = "\
# A comment before the document marker.
---

loader: taskgraph.loader.transform:loader
transforms:
    - taskgraph.transforms.run:transforms
kind-dependencies:
- fetch   # indentless, after its key
- toolchain
task-defaults:
    worker:
        max-run-time: 1800
        retry-exit-status: [17, 75, 128]
        docker-image: {\"in-tree\": 'train'}
        env: {}
tasks:
    \"{src}-{trg}\":
        description: >
            Two lines
            folded into one.

            And a paragraph.
        run:
            command:
                - bash
                - -cx
                - |-
                    echo one
                      echo two indented

                    echo three
            keep: |+
                kept

        enabled: yes
        ratio: 0.5
        count: 0755
        empty:
        nothing: ~
        day: 2001-12-14
        url: https://example.com/a:b
        summary: a plain scalar
            over two lines

            and a paragraph
    fetches:
        - artifact: model.npz
          extract: false
        -
          artifact: vocab.spm
        - plain item
";
        let value = read(text).expect("the fast reader reads it");
        let task = |field: &str| {
            value
                .get("tasks")
                .and_then(|tasks| tasks.get("{src}-{trg}"))
                .and_then(|task| task.get_path(field))
                .cloned()
        };
        assert_eq!(
            task("description"),
            Some(Value::from(
                "Two lines folded into one.\nAnd a paragraph.\n"
            ))
        );
        let command = task("run.command").expect("a command");
        assert_eq!(
            command.as_list().map(|c| &c[2]),
            Some(&Value::from("echo one\n  echo two indented\n\necho three"))
        );
        assert_eq!(task("run.keep"), Some(Value::from("kept\n\n")));
        assert_eq!(
            task("summary"),
            Some(Value::from(
                "a plain scalar over two lines\nand a paragraph"
            ))
        );
        assert_eq!(task("enabled"), Some(Value::Bool(true)));
        assert_eq!(task("count"), Some(Value::Int(493)));
        assert_eq!(task("empty"), Some(Value::Null));
        assert_eq!(
            value.get_path("task-defaults.worker.docker-image"),
            Some(&Value::Map(map! {"in-tree" => "train"}))
        );
        assert_eq!(
            value.get("kind-dependencies"),
            Some(&Value::str_list(["fetch", "toolchain"]))
        );
        let fetches = value.get_path("tasks.fetches").and_then(Value::as_list);
        assert_eq!(
            fetches.map(|f| &f[1]),
            Some(&Value::Map(map! {"artifact" => "vocab.spm"}))
        );
    }

    #[test]
    fn keys_keep_their_first_place_and_last_value() {
        let value = read("a: 1\nb: 2\na: 3\n").expect("read");
        assert_eq!(format!("{value:?}"), r#"Map({"a": Int(3), "b": Int(2)})"#);
    }

    #[test]
    fn gives_up_on_what_it_leaves_to_the_full_loader() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "1: one\n",
            "on: true\n",
            "a: two # comment\n  lines\n",
            "a: two\n  more: lines\n",
            "a: 'two\n  lines'\n",
            "a: \"esc\\n\"\n",
            "a: 'it''s'\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: b",
            "a: [1,\n2]\n",
            "a: [x\n  y]\n",
            "a: {b:\n  c}\n",
            "a: [1, 2,]\n",
            "a: {b}\n",
            "a: |2\n   x\n",
            "a: |\n",
            "--- a\n",
            "a: 1\n---\nb: 2\n",
            "%YAML 1.1\n---\na: 1\n",
            "- - a\n",
            "plain\n",
            "[a, b]\n",
            "a: b: c\n",
            "a: 1\n  b: 2\n",
            "? a\n: b\n",
            "",
            "# nothing\n",
        ] {
            assert!(load(text, true).is_none(), "{text:?}");
        }
    }

    fn repository() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every YAML file of the repository (the fixtures, our pipeline and
    /// its parameters), and of the directory GRAPHGEN_YAML_CORPUS names,
    /// for runs by hand on other projects.
    fn repository_yaml_files() -> Vec<PathBuf> {
        let root = repository();
        let mut files = Vec::new();
        let mut dirs = vec![root.join("taskcluster"), root.join("tests")];
        dirs.extend(std::env::var_os("GRAPHGEN_YAML_CORPUS").map(PathBuf::from));
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    #[test]
    fn agrees_with_the_full_loader_on_the_repository_files() {
        let files = repository_yaml_files();
        assert!(files.len() > 50, "only {} YAML files found", files.len());
        let our_kinds = repository().join("taskcluster/kinds");
        let mut kinds_read = 0;
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let answered = read(&text).is_some();
            if path.starts_with(&our_kinds) {
                assert!(
                    answered,
                    "the fast reader gives up on {} (by line {})",
                    path.display(),
                    first_refused_line(&text)
                );
                kinds_read += 1;
            }
        }
        assert!(kinds_read >= 15, "{kinds_read} kinds of our pipeline read");
    }

    /// The line after the longest start of `text` that the fast reader
    /// reads: where to look when it gives up on a file.
    fn first_refused_line(text: &str) -> usize {
        let lines: Vec<&str> = text.lines().collect();
        let read_up_to = (1..=lines.len())
            .rev()
            .find(|&n| load(&format!("{}\n", lines[..n].join("\n")), false).is_some())
            .unwrap_or(0);
        read_up_to + 1
    }

    /// Bytes that change what YAML means, for the mutations.
    const SIGNIFICANT: &[&str] = &[
        " ", "  ", "\n", ":", ": ", "-", "- ", "#", " #", "'", "\"", "[", "]", "{", "}", ",", "|",
        ">", "|-", ">+", "&a ", "*a", "!", "?", "~", "1", "0x1", "yes", "\\", "---", "...", "é",
        "<<", "=", "%",
    ];

    /// A piece of `text` of a few lines, changed in a few random places.
    fn mutant(text: &str, random: &mut fastrand::Rng) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let start = random.usize(..lines.len());
        let length = 1 + random.usize(..25);
        let mut piece: Vec<String> = lines[start..(start + length).min(lines.len())]
            .iter()
            .map(|l| l.to_string())
            .collect();
        for _ in 0..1 + random.usize(..3) {
            let line = random.usize(..piece.len());
            let chars: Vec<char> = piece[line].chars().collect();
            let at = random.usize(..chars.len() + 1);
            let (before, after): (String, String) =
                (chars[..at].iter().collect(), chars[at..].iter().collect());
            piece[line] = match random.usize(..6) {
                // Insert something meaningful.
                0 | 1 => format!(
                    "{before}{}{after}",
                    SIGNIFICANT[random.usize(..SIGNIFICANT.len())]
                ),
                // Delete a few characters.
                2 => {
                    let cut = (at + 1 + random.usize(..3)).min(chars.len());
                    format!("{before}{}", chars[cut..].iter().collect::<String>())
                }
                // Indent or dedent the line.
                3 => format!("  {}", piece[line]),
                4 => piece[line]
                    .strip_prefix("  ")
                    .unwrap_or(&piece[line])
                    .to_owned(),
                // Repeat the line.
                _ => format!("{}\n{}", piece[line], piece[line]),
            };
        }
        let mut out = piece.join("\n");
        out.push('\n');
        out
    }

    #[test]
    fn agrees_with_the_full_loader_on_mutated_files() {
        // GRAPHGEN_YAML_MUTANTS raises the number of cases for a run by hand.
        let per_file: usize = std::env::var("GRAPHGEN_YAML_MUTANTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(40);
        // Seeded, so that a run can be repeated.
        let mut random = fastrand::Rng::with_seed(7);
        let mut answered = 0;
        let mut cases = 0;
        for path in repository_yaml_files() {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            for _ in 0..per_file {
                let case = mutant(&text, &mut random);
                cases += 1;
                if read(&case).is_some() {
                    answered += 1;
                }
            }
        }
        // The mutants must reach the fast reader's code, not only its
        // first refusals.
        assert!(answered * 4 > cases, "{answered} of {cases} mutants read");
    }
}
