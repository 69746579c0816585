//! Python behaviour that leaks into outputs.
//!
//! The reference implementation is Python, and some of Python's own
//! behaviour ends up in the graphs it writes: how `str()` prints a list,
//! how `repr()` prints a float, what `str.format` does with a spec, how
//! `json.dumps` escapes a string. Everything of that kind lives here, so
//! that the rest of the crate can say "like Python" by calling it.
//!
//! - `str()`, `repr()`, `ascii()` and float `repr()` are [`py_str`],
//!   [`py_repr`], [`py_ascii`] and [`float_repr`].
//! - `str.format(**kw)` is [`format`](fn@format) (or [`format_with`] for a map), and
//!   a `format_map` that keeps unknown placeholders is [`format_partial`].
//! - `json.dumps` in the layouts taskgraph uses is [`json_pretty`],
//!   [`json_compact`], [`json_stdlib`], or [`write_json`] to stream;
//!   `json.loads` is [`json_parse`].
//! - `taskgraph.util.shell.quote` is [`shell_quote`].
//! - `type(value).__name__` as Python's messages spell it is
//!   [`object_type_name`].

// `crate::Error` is large (its location travels with it); boxing it is a
// crate-wide decision, so the lint is silenced here rather than worked
// around function by function.
#![allow(clippy::result_large_err)]

mod float;
mod format;
mod json;
mod json_parse;
mod printable;
mod repr;
mod shell;
mod spec;
mod strftime;

use std::fmt;

pub use self::float::float_repr;
pub use self::format::{format, format_partial, format_with};
pub use self::json::{
    JsonLayout, JsonNode, JsonStyle, json_compact, json_node_to_string, json_pretty, json_stdlib,
    json_to_string, to_serde_json, write_json, write_json_into, write_json_node,
};
pub use self::json_parse::json_parse;
pub use self::repr::{py_ascii, py_repr, py_str};
pub use self::shell::shell_quote;
pub use self::spec::object_type_name;

/// A Python exception raised while formatting: its class and message, as
/// Python would print them (`KeyError: 'name'`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PyError {
    class: &'static str,
    message: String,
}

impl PyError {
    fn new(class: &'static str, message: impl Into<String>) -> Self {
        PyError {
            class,
            message: message.into(),
        }
    }

    fn value(message: impl Into<String>) -> Self {
        PyError::new("ValueError", message)
    }

    fn type_error(message: impl Into<String>) -> Self {
        PyError::new("TypeError", message)
    }

    fn index(message: impl Into<String>) -> Self {
        PyError::new("IndexError", message)
    }

    fn attribute(message: impl Into<String>) -> Self {
        PyError::new("AttributeError", message)
    }

    fn overflow(message: impl Into<String>) -> Self {
        PyError::new("OverflowError", message)
    }

    /// A `KeyError` whose key is already in its `repr()` form.
    fn key(key_repr: impl Into<String>) -> Self {
        PyError::new("KeyError", key_repr)
    }

    /// A `KeyError` for a str key, quoted as Python quotes it.
    fn key_str(key: &str) -> Self {
        let mut quoted = String::new();
        repr::write_str_repr(&mut quoted, key, false);
        PyError::key(quoted)
    }
}

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}
