//! `yaml.safe_dump(value, allow_unicode=True, default_flow_style=False)`.
//!
//! This follows PyYAML's pure-Python emitter step by step for the subset of
//! events a [`Value`] produces: block collections, `[]`/`{}` for empty ones,
//! and scalars in plain, single-quoted or double-quoted style. Column
//! bookkeeping decides where long scalars fold at width 80, so it is kept
//! exactly as PyYAML keeps it, counting characters (not bytes).

use super::pystr::{float_repr, timestamp_str};
use super::resolve::{Tag, resolve_plain};
use crate::error::Result;
use crate::value::Value;

const BEST_INDENT: usize = 2;
const BEST_WIDTH: usize = 80;

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 1000;

pub(super) fn safe_dump(value: &Value) -> Result<String> {
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        indent: None,
        indents: Vec::new(),
        open_ended: false,
    };
    emitter.node(
        value,
        Context {
            root: true,
            ..Context::default()
        },
        0,
    )?;

    // Document end, then stream end.
    emitter.write_indent();
    if emitter.open_ended {
        emitter.write_indicator("...", true, false, false);
        emitter.write_indent();
    }
    Ok(emitter.out)
}

/// Where a node sits, as the emitter's context flags record it.
#[derive(Clone, Copy, Default)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

struct Emitter {
    out: String,
    column: usize,
    /// The last character written was whitespace.
    whitespace: bool,
    /// Only indentation (and `-`, `?`, `:` indicators) so far on this line.
    indention: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    /// A plain scalar at the root needs an explicit `...` end marker.
    open_ended: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Characters after which a `:` or `#` no longer starts an indicator.
fn is_blank_or_end(c: Option<char>) -> bool {
    c.is_none_or(|c| matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c))
}

impl Emitter {
    fn node(&mut self, value: &Value, context: Context, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            let message = format!("cannot dump a value nested deeper than {MAX_DEPTH} levels");
            return Err(super::yaml_error(&message, None));
        }
        match value {
            Value::Str(s) => self.scalar(s, true, context),
            Value::Null => self.scalar("null", false, context),
            Value::Bool(b) => self.scalar(if *b { "true" } else { "false" }, false, context),
            Value::Int(i) => self.scalar(&i.to_string(), false, context),
            Value::Float(f) => self.scalar(&represent_float(*f), false, context),
            Value::Timestamp(t) => self.scalar(&timestamp_str(t), false, context),
            Value::List(items) if items.is_empty() => self.empty_collection("[", "]"),
            Value::Map(map) if map.is_empty() => self.empty_collection("{", "}"),
            Value::List(items) => return self.block_sequence(items, context, depth),
            Value::Map(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                // Python sorts str keys by code point, as UTF-8 bytes sort.
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                return self.block_mapping(&entries, depth);
            }
        }
        Ok(())
    }

    fn empty_collection(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(BEST_INDENT),
            None => Some(0),
            Some(indent) if !indentless => Some(indent + BEST_INDENT),
            Some(indent) => Some(indent),
        };
    }

    fn restore_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn block_sequence(&mut self, items: &[Value], context: Context, depth: usize) -> Result<()> {
        // A list under a mapping key starts at the key's own column.
        let indentless = context.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default(), depth + 1)?;
        }
        self.restore_indent();
        Ok(())
    }

    fn block_mapping(&mut self, entries: &[(&str, &Value)], depth: usize) -> Result<()> {
        let in_mapping = Context {
            mapping: true,
            ..Context::default()
        };
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            if is_simple_key(key) {
                self.scalar(
                    key,
                    true,
                    Context {
                        simple_key: true,
                        ..in_mapping
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                // Empty, multi-line and long keys need the explicit form.
                self.write_indicator("?", true, false, true);
                self.scalar(key, true, in_mapping);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, in_mapping, depth + 1)?;
        }
        self.restore_indent();
        Ok(())
    }

    /// Writes a scalar; `is_str` says it was a string, which must be
    /// quoted when its plain form would read back as something else.
    fn scalar(&mut self, text: &str, is_str: bool, context: Context) {
        let chars: Vec<char> = text.chars().collect();
        let analysis = analyze(&chars);
        let plain_keeps_type = !is_str || resolve_plain(text) == Tag::Str;
        let key_unfit = context.simple_key && (analysis.empty || analysis.multiline);
        let style = if plain_keeps_type && !key_unfit && analysis.allow_block_plain {
            Style::Plain
        } else if analysis.allow_single_quoted && !(context.simple_key && analysis.multiline) {
            Style::SingleQuoted
        } else {
            Style::DoubleQuoted
        };

        self.increase_indent(true, false);
        let split = !context.simple_key;
        match style {
            Style::Plain => self.write_plain(&chars, split, context.root),
            Style::SingleQuoted => self.write_single_quoted(&chars, split),
            Style::DoubleQuoted => self.write_double_quoted(&chars, split),
        }
        self.restore_indent();
    }

    fn write(&mut self, text: &str) {
        self.column += text.chars().count();
        self.out.push_str(text);
    }

    fn write_chars(&mut self, chars: &[char]) {
        self.column += chars.len();
        self.out.extend(chars);
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break('\n');
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = indent - self.column;
            self.write(&" ".repeat(pad));
        }
    }

    fn write_line_break(&mut self, c: char) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(c);
    }

    /// Writes the line breaks in `breaks`; in the quoted and plain styles
    /// a leading `\n` is doubled, since one break folds into a space.
    fn write_breaks(&mut self, breaks: &[char], double_first: bool) {
        if double_first && breaks.first() == Some(&'\n') {
            self.write_line_break('\n');
        }
        for &c in breaks {
            self.write_line_break(c);
        }
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;

        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end], true);
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    let fold = start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != text.len();
                    if fold {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end], true);
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if ch.is_none_or(needs_escape) {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write(&escape(c));
                    start = end + 1;
                }
            }

            // Fold before a space (or right after an escape) once past the
            // width; a space that starts the next line is escaped so that
            // it survives.
            // After an escape `start` is one past `end`, which the width
            // test counts as minus one, as Python's arithmetic does.
            let inside = 0 < end && end + 1 < text.len();
            let reach = (self.column + end) as isize - start as isize;
            if inside && (ch == Some(' ') || start >= end) && reach > BEST_WIDTH as isize && split {
                let head: String = text.get(start..end).unwrap_or(&[]).iter().collect();
                self.write(&format!("{head}\\"));
                start = start.max(end);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.write("\\");
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

/// Characters the double-quoted style writes as escapes (with
/// `allow_unicode`, only non-printable ones and a few specials).
fn needs_escape(c: char) -> bool {
    let printable =
        matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}');
    !printable
        || matches!(
            c,
            '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        )
}

fn escape(c: char) -> String {
    let short = match c {
        '\0' => '0',
        '\u{07}' => 'a',
        '\u{08}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{0b}' => 'v',
        '\u{0c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        _ => {
            let code = u32::from(c);
            return match code {
                0..=0xff => format!("\\x{code:02X}"),
                0x100..=0xffff => format!("\\u{code:04X}"),
                _ => format!("\\U{code:08X}"),
            };
        }
    };
    format!("\\{short}")
}

/// PyYAML's float text: `repr()` lower-cased, `.0` added before an
/// exponent that has no dot (`1e+16` becomes `1.0e+16`), and `.inf`,
/// `-.inf`, `.nan` for the special values.
fn represent_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let repr = float_repr(f).to_lowercase();
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

/// A key can be written as `key: value` when it is short and on one line.
fn is_simple_key(key: &str) -> bool {
    let chars: Vec<char> = key.chars().collect();
    let analysis = analyze(&chars);
    chars.len() < 128 && !analysis.empty && !analysis.multiline
}

/// What PyYAML's `analyze_scalar` finds out about a scalar, reduced to
/// what block context needs.
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }

    let flags = scan_characters(text);
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if flags.leading_space || flags.leading_break || flags.trailing_space || flags.trailing_break {
        allow_block_plain = false;
    }
    if flags.break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if flags.space_break || flags.special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if flags.line_breaks || flags.block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: flags.line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

#[derive(Default)]
struct Flags {
    block_indicators: bool,
    line_breaks: bool,
    special_characters: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_space: bool,
    space_break: bool,
}

fn scan_characters(text: &[char]) -> Flags {
    let mut flags = Flags::default();
    let starts_with = |prefix: &str| text.iter().copied().take(3).eq(prefix.chars());
    if starts_with("---") || starts_with("...") {
        flags.block_indicators = true;
    }

    let last = text.len() - 1;
    let mut preceded_by_whitespace = true;
    let (mut previous_space, mut previous_break) = (false, false);
    for (index, &ch) in text.iter().enumerate() {
        let followed_by_whitespace = is_blank_or_end(text.get(index + 1).copied());
        if index == 0 {
            // Characters that mean something at the start of a scalar.
            let indicator = "#,[]{}&*!|>'\"%@`".contains(ch)
                || (matches!(ch, '?' | ':' | '-') && followed_by_whitespace);
            flags.block_indicators |= indicator;
        } else {
            let indicator =
                (ch == ':' && followed_by_whitespace) || (ch == '#' && preceded_by_whitespace);
            flags.block_indicators |= indicator;
        }

        if is_break(ch) {
            flags.line_breaks = true;
        }
        if ch != '\n' && !('\u{20}'..='\u{7e}').contains(&ch) && !is_printable_unicode(ch) {
            flags.special_characters = true;
        }

        if ch == ' ' {
            flags.leading_space |= index == 0;
            flags.trailing_space |= index == last;
            flags.break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(ch) {
            flags.leading_break |= index == 0;
            flags.trailing_break |= index == last;
            flags.space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_whitespace = is_blank_or_end(Some(ch));
    }
    flags
}

/// Non-ASCII characters that `allow_unicode` lets through unescaped.
fn is_printable_unicode(ch: char) -> bool {
    let printable = matches!(
        ch,
        '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10fffe}'
    );
    printable && ch != '\u{feff}'
}
